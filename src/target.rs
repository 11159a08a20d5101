//! Target files: an SP we do not control, described in TOML for `samlconf run --target FILE`
//! (`docs/targets.md` documents every key). Loading checks the file whole: unknown keys, a
//! whoami that names no way to tell who is signed in, an `error_map` code that is not in our
//! table; the SP's metadata (a URL or a file), when given, fills in what the file leaves out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A target, loaded and completed.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub entity_id: String,
    pub acs_url: String,
    pub slo_url: Option<String>,
    /// The address the mock IdP listens on (the target trusts the IdP there).
    pub idp_listen: String,
    pub start: Start,
    pub whoami: WhoamiSpec,
    /// The CA certificates (PEM) an HTTPS target's certificate chains to.
    pub ca_pem: Option<Vec<u8>>,
    /// Case ID → why it is expected to fail.
    pub known_failures: BTreeMap<String, String>,
    /// Text of the target's error pages → our reason code (the longest match wins).
    pub error_map: BTreeMap<String, String>,
    /// The SP's signing and encryption certificates (from its metadata), so that the mock IdP can
    /// verify its logout messages and encrypt to it.
    pub signing_cert_pem: Option<String>,
    pub encryption_cert_pem: Option<String>,
    /// The file it came from.
    pub file: PathBuf,
}

/// `[start]`: how a sign-in (and an SP-initiated logout) starts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Start {
    /// GET it and follow to the IdP; absent: IdP-initiated only.
    pub login_url: Option<String>,
    /// GET it and follow: an SP-initiated logout; absent: the SP's logout is not tested.
    pub logout_url: Option<String>,
}

/// `[whoami]`: how the oracle tells who is signed in.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhoamiSpec {
    /// GET with the browser's cookies.
    pub url: Option<String>,
    /// RFC 6901 pointer to the NameID in the JSON answer; null/absent/401 = nobody.
    pub json_pointer: Option<String>,
    /// A regex whose group 1 is the NameID.
    pub body_pattern: Option<String>,
    /// Signed in iff this cookie is set.
    pub cookie: Option<String>,
    /// The roles or groups the SP granted, in the JSON answer.
    pub roles_pointer: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: String,
    entity_id: Option<String>,
    acs_url: Option<String>,
    slo_url: Option<String>,
    metadata: Option<String>,
    idp_listen: String,
    #[serde(default)]
    start: Start,
    whoami: WhoamiSpec,
    tls: Option<Tls>,
    #[serde(default)]
    known_failures: BTreeMap<String, String>,
    #[serde(default)]
    error_map: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tls {
    ca_file: PathBuf,
}

/// What the SP's metadata says.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SpMetadata {
    pub entity_id: Option<String>,
    pub acs_url: Option<String>,
    pub slo_url: Option<String>,
    pub signing_cert_pem: Option<String>,
    pub encryption_cert_pem: Option<String>,
}

impl Target {
    /// Reads and completes the target file at `path` (fetching its metadata if it names a URL).
    pub async fn load(path: &Path) -> Result<Target, String> {
        let at = |e: String| format!("{}: {e}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| at(e.to_string()))?;
        let raw: RawTarget = toml::from_str(&text).map_err(|e| at(e.message().to_owned()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let ca_pem = match &raw.tls {
            Some(tls) => Some(
                std::fs::read(dir.join(&tls.ca_file))
                    .map_err(|e| at(format!("tls.ca_file {}: {e}", tls.ca_file.display())))?,
            ),
            None => None,
        };
        let metadata = match &raw.metadata {
            Some(source) => {
                let xml = read_metadata(source, dir, ca_pem.as_deref())
                    .await
                    .map_err(at)?;
                parse_sp_metadata(&xml).map_err(at)?
            }
            None => SpMetadata::default(),
        };
        let target = Target {
            name: raw.name,
            entity_id: raw
                .entity_id
                .or(metadata.entity_id)
                .ok_or_else(|| at("no entity_id (nor metadata naming one)".into()))?,
            acs_url: raw
                .acs_url
                .or(metadata.acs_url)
                .ok_or_else(|| at("no acs_url (nor metadata naming one)".into()))?,
            slo_url: raw.slo_url.or(metadata.slo_url),
            idp_listen: raw.idp_listen,
            start: raw.start,
            whoami: raw.whoami,
            ca_pem,
            known_failures: raw.known_failures,
            error_map: raw.error_map,
            signing_cert_pem: metadata.signing_cert_pem,
            encryption_cert_pem: metadata.encryption_cert_pem,
            file: path.to_owned(),
        };
        target.check().map_err(at)?;
        Ok(target)
    }

    fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("`name` must not be empty".into());
        }
        if self.idp_listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(format!(
                "idp_listen {:?} must be an address and port, e.g. \"127.0.0.1:8100\"",
                self.idp_listen
            ));
        }
        let w = &self.whoami;
        if w.url.is_none() && w.cookie.is_none() {
            return Err(
                "[whoami] needs `url` (with `json_pointer` or `body_pattern`) or `cookie`".into(),
            );
        }
        if w.url.is_some()
            && w.json_pointer.is_none()
            && w.body_pattern.is_none()
            && w.cookie.is_none()
        {
            return Err("[whoami] `url` needs `json_pointer` or `body_pattern`".into());
        }
        if let Some(pattern) = &w.body_pattern {
            let regex =
                regex::Regex::new(pattern).map_err(|e| format!("[whoami] body_pattern: {e}"))?;
            if regex.captures_len() < 2 {
                return Err("[whoami] body_pattern needs a group: group 1 is the NameID".into());
            }
        }
        for pointer in [&w.json_pointer, &w.roles_pointer].into_iter().flatten() {
            if !pointer.is_empty() && !pointer.starts_with('/') {
                return Err(format!(
                    "[whoami] {pointer:?} is no JSON pointer (RFC 6901: \"/name_id\")"
                ));
            }
        }
        for (text, code) in &self.error_map {
            if text.is_empty() {
                return Err("[error_map] an empty text would match every page".into());
            }
            if !crate::scenario::known_code(code) {
                return Err(format!(
                    "[error_map] {text:?} maps to {code:?}, which is not a reason code of \
                     sp/docs/reason-codes.md"
                ));
            }
        }
        for url in [
            Some(&self.acs_url),
            self.slo_url.as_ref(),
            self.start.login_url.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            url::Url::parse(url).map_err(|e| format!("{url:?} is no URL: {e}"))?;
        }
        Ok(())
    }

    /// The mock IdP's base URL.
    pub fn idp_base_url(&self) -> String {
        format!("http://{}", self.idp_listen)
    }

    /// The target as the mock IdP knows it.
    pub fn known_sp(&self) -> mock_idp::server::KnownSp {
        mock_idp::server::KnownSp {
            entity_id: self.entity_id.clone(),
            acs_urls: vec![self.acs_url.clone()],
            slo_url: self.slo_url.clone(),
            signing_cert_pem: self.signing_cert_pem.clone(),
            encryption_cert_pem: self.encryption_cert_pem.clone(),
        }
    }

    /// Our reason code for an error page of the target: the longest `error_map` text it contains.
    pub fn code_for(&self, body: &str) -> Option<String> {
        self.error_map
            .iter()
            .filter(|(text, _)| body.contains(text.as_str()))
            .max_by_key(|(text, _)| text.len())
            .map(|(_, code)| code.clone())
    }
}

async fn read_metadata(source: &str, dir: &Path, ca_pem: Option<&[u8]>) -> Result<String, String> {
    if source.starts_with("http://") || source.starts_with("https://") {
        let browser =
            crate::driver::HttpDriver::trusting(source, ca_pem).map_err(|e| e.to_string())?;
        let answer = browser
            .get_answer(source)
            .await
            .map_err(|e| format!("metadata {source}: {e}"))?;
        if answer.status != 200 {
            return Err(format!("metadata {source}: status {}", answer.status));
        }
        Ok(answer.body)
    } else {
        std::fs::read_to_string(dir.join(source)).map_err(|e| format!("metadata {source}: {e}"))
    }
}

/// The entity ID, ACS (HTTP-POST), single logout service and certificates of an SP's metadata.
pub fn parse_sp_metadata(xml: &str) -> Result<SpMetadata, String> {
    let doc = libxml::parser::Parser::default()
        .parse_string(xml)
        .map_err(|e| format!("metadata: not XML: {e:?}"))?;
    let context =
        libxml::xpath::Context::new(&doc).map_err(|()| "metadata: no XPath context".to_owned())?;
    let nodes = |xpath: &str| {
        context
            .evaluate(xpath)
            .map(|o| o.get_nodes_as_vec())
            .unwrap_or_default()
    };
    let md = |local: &str| format!("*[local-name()='{local}']");
    let sp = format!("//{}/{}", md("EntityDescriptor"), md("SPSSODescriptor"));
    if nodes(&sp).is_empty() {
        return Err("metadata: no EntityDescriptor with an SPSSODescriptor".into());
    }
    let entity_id = nodes(&format!("//{}", md("EntityDescriptor")))
        .first()
        .and_then(|e| e.get_attribute("entityID"));
    let location = |service: &str, binding: &str| {
        nodes(&format!(
            "{sp}/{}[@Binding='urn:oasis:names:tc:SAML:2.0:bindings:{binding}']",
            md(service)
        ))
        .first()
        .and_then(|e| e.get_attribute("Location"))
    };
    let certificate = |usage: &str| {
        nodes(&format!(
            "{sp}/{}[not(@use) or @use='{usage}']//{}",
            md("KeyDescriptor"),
            md("X509Certificate")
        ))
        .first()
        .map(|c| pem(&c.get_content()))
    };
    Ok(SpMetadata {
        entity_id,
        acs_url: location("AssertionConsumerService", "HTTP-POST"),
        slo_url: location("SingleLogoutService", "HTTP-Redirect")
            .or_else(|| location("SingleLogoutService", "HTTP-POST")),
        signing_cert_pem: certificate("signing"),
        encryption_cert_pem: certificate("encryption"),
    })
}

fn pem(base64: &str) -> String {
    let body: String = base64.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sp_metadata() {
        let xml = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="http://sp.example/metadata">
<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>QUJD
REVG</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="http://sp.example/sls"/>
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="http://sp.example/art" index="0"/>
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="http://sp.example/acs" index="1"/>
</md:SPSSODescriptor></md:EntityDescriptor>"#;
        let metadata = parse_sp_metadata(xml).unwrap();
        assert_eq!(
            metadata.entity_id.as_deref(),
            Some("http://sp.example/metadata")
        );
        assert_eq!(metadata.acs_url.as_deref(), Some("http://sp.example/acs"));
        assert_eq!(metadata.slo_url.as_deref(), Some("http://sp.example/sls"));
        assert_eq!(
            metadata.signing_cert_pem.as_deref(),
            Some("-----BEGIN CERTIFICATE-----\nQUJDREVG\n-----END CERTIFICATE-----\n")
        );
        assert_eq!(metadata.encryption_cert_pem, None);
        assert!(parse_sp_metadata("<x/>").is_err());
    }

    #[test]
    fn the_longest_error_text_wins() {
        let mut target = Target {
            name: "t".into(),
            entity_id: "e".into(),
            acs_url: "http://sp/acs".into(),
            slo_url: None,
            idp_listen: "127.0.0.1:1".into(),
            start: Start::default(),
            whoami: WhoamiSpec {
                cookie: Some("s".into()),
                ..WhoamiSpec::default()
            },
            ca_pem: None,
            known_failures: BTreeMap::new(),
            error_map: BTreeMap::new(),
            signing_cert_pem: None,
            encryption_cert_pem: None,
            file: PathBuf::new(),
        };
        target
            .error_map
            .insert("Signature".into(), "signature.invalid".into());
        target
            .error_map
            .insert("Signature missing".into(), "signature.missing".into());
        assert_eq!(
            target.code_for("oops: Signature missing").as_deref(),
            Some("signature.missing")
        );
        assert_eq!(
            target.code_for("bad Signature").as_deref(),
            Some("signature.invalid")
        );
        assert_eq!(target.code_for("fine"), None);
        assert!(target.check().is_ok());
        target.error_map.insert("x".into(), "no.such_code".into());
        assert!(target.check().unwrap_err().contains("no.such_code"));
    }
}
