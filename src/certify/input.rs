//! Reading what the integrator has: metadata from a file or URL, and a response as SAML tracers
//! show it (base64 with or without line breaks, URL-encoded, a `SAMLResponse=` form body, or XML).

use std::borrow::Cow;
use std::path::Path;

use sp::config::SpConfig;
use sp::metadata::{BINDING_REDIRECT, IdpMetadata};

use sp::reason::Rejection;

/// Largest metadata document read from a URL (a federation aggregate is larger: give a file).
pub const MAX_METADATA_BYTES: usize = 10 * 1024 * 1024;

/// Metadata from `source`: an `http(s)://` URL, else a file path.
pub async fn read_metadata(source: &str) -> Result<String, String> {
    if !(source.starts_with("http://") || source.starts_with("https://")) {
        return std::fs::read_to_string(source).map_err(|e| format!("{source}: {e}"));
    }
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| format!("{source}: {e}"))?;
    let mut response = client
        .get(source)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("{source}: {e}"))?;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("{source}: {e}"))?
    {
        if body.len() + chunk.len() > MAX_METADATA_BYTES {
            return Err(format!(
                "{source}: larger than {MAX_METADATA_BYTES} bytes; download it and pass the file"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| format!("{source}: not UTF-8 text"))
}

/// The SP configuration at `path`. Its `[idp]` section may be left out: certify trusts the
/// metadata, so an `[idp]` naming the metadata's entity ID and first signing certificate stands
/// in for it.
pub fn load_sp_config(path: &Path, metadata_xml: &str) -> Result<SpConfig, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("--sp-config {shown}: {e}"))?;
    let mut table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("--sp-config {shown}: {e}"))?;
    if !table.contains_key("idp") {
        let md = IdpMetadata::parse(metadata_xml)?;
        let mut idp = toml::Table::new();
        idp.insert("entity_id".into(), md.entity_id.clone().into());
        let sso = md
            .sso_location(BINDING_REDIRECT)
            .unwrap_or("https://invalid.example/sso");
        idp.insert("sso_url".into(), sso.into());
        let cert = md
            .signing_certificates()
            .into_iter()
            .next()
            .unwrap_or_default();
        idp.insert("certificate_pem".into(), cert.into());
        table.insert("idp".into(), idp.into());
    }
    // Certify reads no file the configuration names (it trusts the metadata, and signs
    // nothing), so relative paths inside need no resolving.
    SpConfig::from_toml(&table.to_string()).map_err(|e| format!("--sp-config {shown}: {e}"))
}

/// How a captured response was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Xml,
    Base64,
    UrlEncodedBase64,
}

impl Encoding {
    pub fn describe(self) -> &'static str {
        match self {
            Encoding::Xml => "raw XML",
            Encoding::Base64 => "base64",
            Encoding::UrlEncodedBase64 => "URL-encoded base64",
        }
    }
}

/// The response XML from a capture, with the encoding it arrived in. Size limits and the
/// base64/DEFLATE decoding are the verifier's (`sp::verify::decode_file_input`).
pub fn decode_capture(bytes: &[u8]) -> Result<(Vec<u8>, Encoding), Rejection> {
    let trimmed = bytes.trim_ascii();
    if trimmed.first() == Some(&b'<') || bytes.starts_with(b"\xEF\xBB\xBF") {
        return Ok((sp::verify::decode_file_input(bytes)?, Encoding::Xml));
    }
    // A form body or a tracer's "SAMLResponse=…" line: the value only.
    let value = match trimmed.strip_prefix(b"SAMLResponse=") {
        Some(rest) => rest.split(|b| *b == b'&').next().unwrap_or(rest),
        None => trimmed,
    };
    // Base64 never holds `%`, so a `%` means URL encoding; `+` stays `+` (base64's, since a
    // URL-encoded SAMLResponse writes its pluses as %2B and holds no spaces).
    let (value, encoding): (Cow<[u8]>, _) = if value.contains(&b'%') {
        (
            percent_encoding::percent_decode(value)
                .collect::<Vec<u8>>()
                .into(),
            Encoding::UrlEncodedBase64,
        )
    } else {
        (value.into(), Encoding::Base64)
    };
    Ok((sp::verify::decode_file_input(&value)?, encoding))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn tracer_encodings_all_decode_to_the_same_xml() {
        let xml = b"<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">??>>~~</samlp:Response>";
        let b64 = base64::engine::general_purpose::STANDARD.encode(xml);
        assert!(b64.contains('+') && b64.contains('/'), "{b64}");
        let wrapped: String = b64
            .as_bytes()
            .chunks(20)
            .map(|c| format!("{}\r\n", String::from_utf8_lossy(c)))
            .collect();
        let url = b64
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        for (input, encoding) in [
            (String::from_utf8_lossy(xml).into_owned(), Encoding::Xml),
            (b64.clone(), Encoding::Base64),
            (wrapped, Encoding::Base64),
            (url.clone(), Encoding::UrlEncodedBase64),
            (
                format!("SAMLResponse={url}&RelayState=%2F"),
                Encoding::UrlEncodedBase64,
            ),
        ] {
            let (decoded, got) = decode_capture(input.as_bytes()).unwrap();
            assert_eq!(decoded, xml, "{input}");
            assert_eq!(got, encoding, "{input}");
        }
        assert!(decode_capture(b"not base64 !").is_err());
    }
}
