//! SAML metadata: the SP's own (what an integrator gives their IdP), and reading the signing
//! certificates out of an IdP's metadata file.

use crate::config::SpConfig;
use crate::keys::SpKeys;
use crate::xml::escape;

/// The SP's EntityDescriptor: its signing certificate (for the logout messages it signs), its
/// encryption certificate with the algorithms it decrypts (when it has an encryption pair), the
/// ACS (HTTP-POST) and the SLS (HTTP-Redirect and HTTP-POST).
pub fn sp_metadata(config: &SpConfig, keys: &SpKeys) -> String {
    let cert = keys.cert_der_base64();
    let encryption = keys
        .encryption
        .as_ref()
        .map(|pair| {
            encryption_key_descriptor(
                &pair.cert_der_base64(),
                config.sp.allow_rsa15,
                config.sp.allow_cbc,
            )
        })
        .unwrap_or_default();
    let entity_id = escape(&config.entity_id());
    let acs = escape(&config.acs_url());
    let sls = escape(&config.sls_url());
    let authn_requests_signed = config.sp.sign_authn_requests;
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}">
  <md:SPSSODescriptor AuthnRequestsSigned="{authn_requests_signed}" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
{encryption}    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sls}"/>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{sls}"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"#
    )
}

/// `KeyDescriptor use="encryption"`: the certificate, then the accepted data and key transport
/// algorithms, best first (SAML metadata §2.4.1.1), each on its own line.
/// AES-CBC is advertised only when `allow_cbc` (the verifier refuses it otherwise).
fn encryption_key_descriptor(cert_b64: &str, allow_rsa15: bool, allow_cbc: bool) -> String {
    use crate::verify::decrypt::{
        DATA_ALGORITHMS, GCM_ALGORITHMS, KEY_TRANSPORT_ALGORITHMS, RSA_1_5,
    };
    let rsa15 = allow_rsa15.then_some(RSA_1_5);
    let data = if allow_cbc {
        DATA_ALGORITHMS
    } else {
        GCM_ALGORITHMS
    };
    let methods: String = data
        .iter()
        .chain(KEY_TRANSPORT_ALGORITHMS)
        .chain(rsa15.iter())
        .map(|alg| format!("      <md:EncryptionMethod Algorithm=\"{alg}\"/>\n"))
        .collect();
    format!(
        r#"    <md:KeyDescriptor use="encryption">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
{methods}    </md:KeyDescriptor>
"#
    )
}

/// The signing certificates (as PEM) of the first IDPSSODescriptor in an IdP metadata document:
/// KeyDescriptors with `use="signing"` or without `use`.
pub fn signing_certificates_from_idp_metadata(xml: &str) -> Result<Vec<String>, String> {
    let certs = IdpMetadata::parse(xml)?.signing_certificates();
    if certs.is_empty() {
        return Err("no signing certificate in the IdP metadata's IDPSSODescriptor".into());
    }
    Ok(certs)
}

/// SAML 2.0 metadata namespace (`md:`).
pub const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// The HTTP-Redirect binding.
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// The HTTP-POST binding.
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// What an IdP's metadata says, as written (nothing here is verified: metadata signatures are
/// reported, not checked). Read from the first EntityDescriptor that has an IDPSSODescriptor
/// (the root, or a child of an EntitiesDescriptor).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IdpMetadata {
    /// `EntityDescriptor/@entityID`.
    pub entity_id: String,
    /// The EntityDescriptor (or the enclosing EntitiesDescriptor) carries a `ds:Signature`.
    pub signed: bool,
    /// `validUntil` of the EntityDescriptor, else of the enclosing EntitiesDescriptor, as written.
    pub valid_until: Option<String>,
    /// `cacheDuration` likewise, as written (an `xs:duration`).
    pub cache_duration: Option<String>,
    /// `IDPSSODescriptor/@WantAuthnRequestsSigned` is `true` or `1`.
    pub want_authn_requests_signed: bool,
    /// Every KeyDescriptor's certificates.
    pub keys: Vec<MetadataKey>,
    pub single_sign_on: Vec<Endpoint>,
    pub single_logout: Vec<Endpoint>,
    /// `NameIDFormat` values, trimmed.
    pub name_id_formats: Vec<String>,
}

/// One certificate of a KeyDescriptor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MetadataKey {
    /// `use`: `signing`, `encryption`, or `None` (both).
    #[serde(rename = "use")]
    pub usage: Option<String>,
    /// The certificate as PEM.
    pub certificate_pem: String,
}

impl MetadataKey {
    /// Signs (a KeyDescriptor without `use` is for both).
    pub fn for_signing(&self) -> bool {
        self.usage.as_deref().is_none_or(|u| u == "signing")
    }
}

/// A service endpoint: binding URI and Location.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Endpoint {
    pub binding: String,
    pub location: String,
}

impl IdpMetadata {
    /// Parses with the verifier's parser (no DTD, no entities, no network).
    pub fn parse(xml: &str) -> Result<Self, String> {
        use crate::verify::tree::{DS, attr, children, element_children, is};
        let (_doc, root) = crate::verify::parse_document(xml.as_bytes())
            .map_err(|r| format!("IdP metadata: {}", r.message.replace("the response", "it")))?;
        let has_idp =
            |e: &libxml::readonly::RoNode| children(*e, MD, "IDPSSODescriptor").next().is_some();
        let (entity, parent) = if is(root, MD, "EntityDescriptor") {
            (root, None)
        } else if is(root, MD, "EntitiesDescriptor") {
            let entity = crate::verify::tree::descendants(root)
                .into_iter()
                .find(|e| is(*e, MD, "EntityDescriptor") && has_idp(e))
                .ok_or("IdP metadata: no EntityDescriptor with an IDPSSODescriptor")?;
            (entity, Some(root))
        } else {
            return Err(format!(
                "IdP metadata: the root element is <{}>, not md:EntityDescriptor",
                root.get_name()
            ));
        };
        let idp = children(entity, MD, "IDPSSODescriptor")
            .next()
            .ok_or("IdP metadata: the EntityDescriptor has no IDPSSODescriptor")?;
        let signed_el = |e: libxml::readonly::RoNode| children(e, DS, "Signature").next().is_some();
        let inherited =
            |name: &str| attr(entity, name).or_else(|| parent.and_then(|p| attr(p, name)));
        let endpoints = |local: &'static str| {
            children(idp, MD, local)
                .map(|e| Endpoint {
                    binding: attr(e, "Binding").unwrap_or_default(),
                    location: attr(e, "Location").unwrap_or_default(),
                })
                .collect()
        };
        let keys = children(idp, MD, "KeyDescriptor")
            .flat_map(|kd| {
                let usage = attr(kd, "use");
                children(kd, DS, "KeyInfo")
                    .flat_map(|ki| children(ki, DS, "X509Data"))
                    .flat_map(|data| children(data, DS, "X509Certificate"))
                    .map(move |c| {
                        let text = c.get_content();
                        // The text goes into a PEM block as it is: anything but base64 (a PEM
                        // boundary, say) would change what openssl reads out of it.
                        let base64 =
                            |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
                        if text.trim().is_empty()
                            || !text.chars().filter(|c| !c.is_whitespace()).all(base64)
                        {
                            return Err(
                                "IdP metadata: an X509Certificate is not base64".to_string()
                            );
                        }
                        Ok(MetadataKey {
                            usage: usage.clone(),
                            certificate_pem: pem_from_base64(&text),
                        })
                    })
                    .collect::<Vec<_>>()
            })
            .collect::<Result<Vec<_>, String>>()?;
        let want = attr(idp, "WantAuthnRequestsSigned");
        Ok(IdpMetadata {
            entity_id: attr(entity, "entityID").unwrap_or_default(),
            signed: signed_el(entity) || parent.is_some_and(signed_el),
            valid_until: inherited("validUntil"),
            cache_duration: inherited("cacheDuration"),
            want_authn_requests_signed: matches!(
                want.as_deref().map(str::trim),
                Some("true" | "1")
            ),
            keys,
            single_sign_on: endpoints("SingleSignOnService"),
            single_logout: endpoints("SingleLogoutService"),
            name_id_formats: element_children(idp)
                .filter(|e| is(*e, MD, "NameIDFormat"))
                .map(|e| crate::verify::tree::trim_xml_whitespace(&e.get_content()).to_owned())
                .collect(),
        })
    }

    /// The signing certificates (PEM), in document order.
    pub fn signing_certificates(&self) -> Vec<String> {
        self.keys
            .iter()
            .filter(|k| k.for_signing())
            .map(|k| k.certificate_pem.clone())
            .collect()
    }

    /// The Location of the first SingleSignOnService with `binding`.
    pub fn sso_location(&self, binding: &str) -> Option<&str> {
        first_location(&self.single_sign_on, binding)
    }

    /// The Location of the first SingleLogoutService with `binding`.
    pub fn slo_location(&self, binding: &str) -> Option<&str> {
        first_location(&self.single_logout, binding)
    }
}

fn first_location<'a>(endpoints: &'a [Endpoint], binding: &str) -> Option<&'a str> {
    endpoints
        .iter()
        .find(|e| e.binding == binding)
        .map(|e| e.location.as_str())
}

/// Wraps the base64 DER of an X509Certificate element as PEM, 64 characters a line.
pub fn pem_from_base64(b64: &str) -> String {
    let clean: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in clean.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_certificate_is_read_from_idp_metadata_and_encryption_key_is_not() {
        let xml = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="urn:idp">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>RU5D</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
      U0lHTg==
    </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#;
        let certs = signing_certificates_from_idp_metadata(xml).unwrap();
        assert_eq!(
            certs,
            vec!["-----BEGIN CERTIFICATE-----\nU0lHTg==\n-----END CERTIFICATE-----\n"]
        );
    }

    #[test]
    fn idp_metadata_is_described_as_written() {
        let xml = r#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" validUntil="2030-01-01T00:00:00Z">
  <ds:Signature/>
  <md:EntityDescriptor entityID="urn:sp"><md:SPSSODescriptor protocolSupportEnumeration="x"/></md:EntityDescriptor>
  <md:EntityDescriptor entityID="https://idp.example.com/saml" cacheDuration="PT6H">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="1" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>RU5D</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>T0xE</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>TkVX</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/slo"/>
    <md:NameIDFormat> urn:oasis:names:tc:SAML:2.0:nameid-format:persistent
    </md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/sso/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
  </md:EntityDescriptor>
</md:EntitiesDescriptor>"#;
        let md = IdpMetadata::parse(xml).unwrap();
        assert_eq!(md.entity_id, "https://idp.example.com/saml");
        assert!(md.signed, "the enclosing EntitiesDescriptor is signed");
        assert_eq!(md.valid_until.as_deref(), Some("2030-01-01T00:00:00Z"));
        assert_eq!(md.cache_duration.as_deref(), Some("PT6H"));
        assert!(md.want_authn_requests_signed);
        assert_eq!(md.keys.len(), 3);
        assert_eq!(
            md.signing_certificates(),
            vec![pem_from_base64("T0xE"), pem_from_base64("TkVX")]
        );
        assert_eq!(
            md.sso_location(BINDING_REDIRECT),
            Some("https://idp.example.com/sso")
        );
        assert_eq!(md.slo_location(BINDING_REDIRECT), None);
        assert_eq!(
            md.slo_location(BINDING_POST),
            Some("https://idp.example.com/slo")
        );
        assert_eq!(
            md.name_id_formats,
            vec!["urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"]
        );
        let unsigned = IdpMetadata::parse(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><md:IDPSSODescriptor protocolSupportEnumeration="p"/></md:EntityDescriptor>"#,
        )
        .unwrap();
        assert!(!unsigned.signed && !unsigned.want_authn_requests_signed);
        assert!(IdpMetadata::parse("<x/>").is_err());
        assert!(IdpMetadata::parse(r#"<!DOCTYPE x [<!ENTITY e "e">]><x/>"#).is_err());
    }

    #[test]
    fn sp_metadata_snapshot() {
        let config = SpConfig::from_toml(
            r#"
[sp]
base_url = "https://acme.app.example.com"
[idp]
entity_id = "urn:example:idp"
sso_url = "https://idp.example.com/sso"
certificate_pem = "unused"
"#,
        )
        .unwrap();
        insta::assert_snapshot!(
            "sp_metadata",
            sp_metadata(&config, &crate::keys::SpKeys::fixed_for_tests())
        );
    }

    #[test]
    fn authn_requests_signed_follows_sign_authn_requests() {
        let toml = |sign: bool| {
            format!(
                "[sp]\nbase_url = \"https://acme.app.example.com\"\nsign_authn_requests = {sign}\n[idp]\nentity_id = \"urn:example:idp\"\nsso_url = \"https://idp.example.com/sso\"\ncertificate_pem = \"unused\"\n"
            )
        };
        let keys = crate::keys::SpKeys::fixed_for_tests();
        for sign in [true, false] {
            let xml = sp_metadata(&SpConfig::from_toml(&toml(sign)).unwrap(), &keys);
            assert!(
                xml.contains(&format!(r#"AuthnRequestsSigned="{sign}""#)),
                "{xml}"
            );
        }
    }

    #[test]
    fn sp_metadata_without_encryption_pair_has_only_the_signing_key() {
        let config = SpConfig::from_toml(
            r#"
[sp]
base_url = "https://acme.app.example.com"
[idp]
entity_id = "urn:example:idp"
sso_url = "https://idp.example.com/sso"
certificate_pem = "unused"
"#,
        )
        .unwrap();
        let mut keys = crate::keys::SpKeys::fixed_for_tests();
        keys.encryption = None;
        let xml = sp_metadata(&config, &keys);
        assert!(!xml.contains("use=\"encryption\""), "{xml}");
        let with_rsa15 = SpConfig::from_toml(
            r#"
[sp]
base_url = "https://acme.app.example.com"
allow_rsa15 = true
[idp]
entity_id = "urn:example:idp"
sso_url = "https://idp.example.com/sso"
certificate_pem = "unused"
"#,
        )
        .unwrap();
        let xml = sp_metadata(&with_rsa15, &crate::keys::SpKeys::fixed_for_tests());
        assert!(xml.contains("xmlenc#rsa-1_5"), "{xml}");
        assert!(!xml.contains("-cbc"), "AES-CBC only with allow_cbc: {xml}");
        let mut with_cbc = with_rsa15.clone();
        with_cbc.sp.allow_cbc = true;
        let xml = sp_metadata(&with_cbc, &crate::keys::SpKeys::fixed_for_tests());
        assert!(
            xml.contains("xmlenc#aes128-cbc") && xml.contains("xmlenc#aes256-cbc"),
            "{xml}"
        );
    }

    #[test]
    fn metadata_without_signing_key_is_an_error() {
        let xml = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>"#;
        assert!(signing_certificates_from_idp_metadata(xml).is_err());
        assert!(signing_certificates_from_idp_metadata("<!DOCTYPE x><x/>").is_err());
    }

    /// The DOCTYPE check must hold whatever encoding libxml2 detects: UTF-16 text with ASCII
    /// content is valid UTF-8 (every other byte NUL) and contains no `<!DOCTYPE` byte string.
    /// The same input is the `idp_metadata` fuzz target's regression (fuzz/regressions/idp_metadata/).
    #[test]
    fn metadata_in_utf16_with_a_doctype_is_an_error() {
        let doc = r#"<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE md [<!ENTITY cert "AAAA">]><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><md:IDPSSODescriptor><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>&cert;</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor></md:IDPSSODescriptor></md:EntityDescriptor>"#;
        let utf16le: String = doc.chars().flat_map(|c| [c, '\0']).collect();
        assert!(!utf16le.contains("<!DOCTYPE"));
        let result = signing_certificates_from_idp_metadata(&utf16le);
        assert!(result.is_err(), "{result:?}");
    }

    /// An X509Certificate's text goes into a PEM block as it is: text that is not base64 (here a
    /// PEM boundary) must be refused, not wrapped. Found by the `idp_metadata` fuzz target
    /// (fuzz/regressions/idp_metadata/pem-boundary-in-certificate-text.xml).
    #[test]
    fn a_certificate_that_is_not_base64_is_an_error() {
        let metadata = |cert: &str| {
            format!(
                r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><md:IDPSSODescriptor><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor></md:IDPSSODescriptor></md:EntityDescriptor>"#
            )
        };
        assert!(signing_certificates_from_idp_metadata(&metadata("AAAA\n BBBB=")).is_ok());
        for bad in [
            "AAAA-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----BBBB",
            "AAAA BB*B",
            "",
        ] {
            let result = signing_certificates_from_idp_metadata(&metadata(bad));
            assert!(result.is_err(), "{bad:?}: {result:?}");
        }
    }
}
