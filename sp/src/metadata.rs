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
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}">
  <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
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
    if xml.contains("<!DOCTYPE") {
        return Err("IdP metadata must not contain a DOCTYPE".into());
    }
    // UTF-16 with ASCII content is valid UTF-8 with every other byte NUL, and libxml2 detects it
    // from the first bytes: the byte-string check above would not see its DOCTYPE. So: no NUL,
    // the prolog's encoding ignored, and no DTD in the parsed tree (as `verify` parses).
    if xml.contains('\0') {
        return Err("IdP metadata contains a NUL character (it must be UTF-8)".into());
    }
    let parser = libxml::parser::Parser::default();
    let doc = parser
        .parse_string_with_options(
            xml,
            libxml::parser::ParserOptions {
                recover: false,
                no_net: true,
                no_error: true,
                no_warning: true,
                no_def_dtd: true,
                ignore_enc: true,
                ..Default::default()
            },
        )
        .map_err(|e| format!("IdP metadata is not well-formed XML: {e:?}"))?;
    if crate::verify::dsig::has_dtd(&doc) {
        return Err("IdP metadata must not contain a DOCTYPE".into());
    }
    let context = libxml::xpath::Context::new(&doc)
        .map_err(|()| "cannot evaluate XPath on IdP metadata".to_string())?;
    for (prefix, ns) in [
        ("md", "urn:oasis:names:tc:SAML:2.0:metadata"),
        ("ds", "http://www.w3.org/2000/09/xmldsig#"),
    ] {
        context
            .register_namespace(prefix, ns)
            .map_err(|()| "cannot register XPath namespace".to_string())?;
    }
    let nodes = context
        .evaluate(
            "//md:IDPSSODescriptor/md:KeyDescriptor[not(@use) or @use='signing']/ds:KeyInfo/ds:X509Data/ds:X509Certificate",
        )
        .map_err(|()| "XPath evaluation failed on IdP metadata".to_string())?
        .get_nodes_as_vec();
    let mut certs = Vec::new();
    for node in &nodes {
        let text = node.get_content();
        // The text goes into a PEM block as it is: anything but base64 (a PEM boundary, say)
        // would change what openssl reads out of it.
        let base64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
        if !text.chars().filter(|c| !c.is_whitespace()).all(base64) || text.trim().is_empty() {
            return Err("an X509Certificate in the IdP metadata is not base64".into());
        }
        certs.push(pem_from_base64(&text));
    }
    if certs.is_empty() {
        return Err("no signing certificate in the IdP metadata's IDPSSODescriptor".into());
    }
    Ok(certs)
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
