//! SP-initiated sign-in: the AuthnRequest we send over the HTTP-Redirect binding
//! (SAML Bindings §3.4: raw DEFLATE, then base64, then URL-encoding, with RelayState beside it).

use std::io::Write;

use base64::Engine;
use flate2::{Compression, write::DeflateEncoder};
use time::OffsetDateTime;

use crate::xml::escape;

/// An AuthnRequest ready to send.
#[derive(Debug, Clone)]
pub struct AuthnRequest {
    /// The request ID; the Response must name it in InResponseTo.
    pub id: String,
    pub xml: String,
}

/// What the request asks of the IdP.
#[derive(Debug, Clone, Default)]
pub struct AuthnRequestOptions {
    /// Ask the IdP not to show any page (used by session renewal).
    pub is_passive: bool,
    /// Ask the IdP to authenticate again even with a live session.
    pub force_authn: bool,
}

/// A fresh request ID: 160 random bits, prefixed so that it is a valid xs:ID (an NCName).
pub fn new_request_id() -> String {
    format!("_{}", crate::token::random_hex(20))
}

pub fn build(
    sp_entity_id: &str,
    acs_url: &str,
    idp_sso_url: &str,
    now: OffsetDateTime,
    options: &AuthnRequestOptions,
) -> AuthnRequest {
    let id = new_request_id();
    let instant = crate::xml::saml_instant(now);
    let mut flags = String::new();
    if options.is_passive {
        flags.push_str(r#" IsPassive="true""#);
    }
    if options.force_authn {
        flags.push_str(r#" ForceAuthn="true""#);
    }
    let xml = format!(
        r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{instant}" Destination="{dest}" AssertionConsumerServiceURL="{acs}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"{flags}><saml:Issuer>{issuer}</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified" AllowCreate="true"/></samlp:AuthnRequest>"#,
        dest = escape(idp_sso_url),
        acs = escape(acs_url),
        issuer = escape(sp_entity_id),
    );
    AuthnRequest { id, xml }
}

/// The URL that carries `xml` to `sso_url` over HTTP-Redirect.
pub fn redirect_url(
    sso_url: &str,
    xml: &str,
    relay_state: Option<&str>,
) -> Result<String, url::ParseError> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(xml.as_bytes());
    let deflated = encoder.finish().unwrap_or_default();
    let encoded = base64::engine::general_purpose::STANDARD.encode(deflated);
    let mut url = url::Url::parse(sso_url)?;
    url.query_pairs_mut().append_pair("SAMLRequest", &encoded);
    if let Some(relay_state) = relay_state {
        url.query_pairs_mut().append_pair("RelayState", relay_state);
    }
    Ok(url.into())
}

/// The URL that carries `xml` to `sso_url` over HTTP-Redirect, signed with `signing` when given
/// (`sign_authn_requests`): RSA-SHA256 over the query as sent, bindings §3.4.4.1.
pub fn outgoing_url(
    sso_url: &str,
    xml: &str,
    relay_state: Option<&str>,
    signing: Option<&crate::keys::SpKeys>,
) -> Result<String, String> {
    let Some(keys) = signing else {
        return redirect_url(sso_url, xml, relay_state)
            .map_err(|e| format!("idp.sso_url is not a URL: {e}"));
    };
    // Parsed only to refuse a malformed URL as the unsigned path does; the signed query is
    // appended to it as is, so that the signed octets are the ones sent.
    url::Url::parse(sso_url).map_err(|e| format!("idp.sso_url is not a URL: {e}"))?;
    crate::slo::signed_redirect_url(
        sso_url,
        crate::slo::MessageKind::Request,
        xml,
        relay_state,
        keys,
    )
    .map_err(|e| format!("cannot sign the AuthnRequest: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::DeflateDecoder;
    use std::io::Read;
    use time::macros::datetime;

    #[test]
    fn redirect_binding_round_trips_and_keeps_relay_state() {
        let request = build(
            "https://sp.example/saml/metadata",
            "https://sp.example/saml/acs",
            "https://idp.example/sso?tenant=1",
            datetime!(2026-01-01 0:00 UTC),
            &AuthnRequestOptions {
                is_passive: true,
                ..Default::default()
            },
        );
        assert!(request.xml.contains(r#"IsPassive="true""#));
        let url = redirect_url(
            "https://idp.example/sso?tenant=1",
            &request.xml,
            Some("/deep?x=1"),
        )
        .unwrap();
        let url = url::Url::parse(&url).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs[0], ("tenant".into(), "1".into()));
        assert_eq!(pairs[2], ("RelayState".into(), "/deep?x=1".into()));
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&pairs[1].1)
            .unwrap();
        let mut xml = String::new();
        DeflateDecoder::new(&raw[..])
            .read_to_string(&mut xml)
            .unwrap();
        assert_eq!(xml, request.xml);
        assert!(xml.contains(&format!(r#"ID="{}""#, request.id)));
    }

    /// Verifies the Redirect signature the way the binding defines it, with openssl alone: over
    /// the query octets as received, up to `&Signature=`.
    fn verify_redirect_signature(url: &str, cert_pem: &str) -> Result<(), String> {
        use openssl::{hash::MessageDigest, sign::Verifier, x509::X509};
        let query = url.split_once('?').map(|(_, q)| q).ok_or("no query")?;
        // The signed octets are the SAML parameters only, in the binding's order, as sent.
        let raw = |name: &str| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        };
        let signature = raw("Signature").ok_or("no Signature")?;
        let sig_alg = raw("SigAlg").ok_or("no SigAlg")?;
        let mut signed = format!(
            "SAMLRequest={}",
            raw("SAMLRequest").ok_or("no SAMLRequest")?
        );
        if let Some(relay_state) = raw("RelayState") {
            signed.push_str(&format!("&RelayState={relay_state}"));
        }
        signed.push_str(&format!("&SigAlg={sig_alg}"));
        if sig_alg != "http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256" {
            return Err(format!("SigAlg {sig_alg}"));
        }
        let signature: String = url::form_urlencoded::parse(format!("s={signature}").as_bytes())
            .map(|(_, v)| v.into_owned())
            .collect();
        let signature = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .map_err(|e| e.to_string())?;
        let key = X509::from_pem(cert_pem.as_bytes())
            .and_then(|c| c.public_key())
            .map_err(|e| e.to_string())?;
        let mut verifier =
            Verifier::new(MessageDigest::sha256(), &key).map_err(|e| e.to_string())?;
        verifier
            .update(signed.as_bytes())
            .map_err(|e| e.to_string())?;
        match verifier.verify(&signature) {
            Ok(true) => Ok(()),
            _ => Err("the signature does not verify".into()),
        }
    }

    #[test]
    fn signed_request_carries_a_redirect_signature_that_verifies_with_the_sp_certificate() {
        let keys = crate::keys::SpKeys::fixed_for_tests();
        let request = build(
            "https://sp.example/saml/metadata",
            "https://sp.example/saml/acs",
            "https://idp.example/sso?tenant=1",
            datetime!(2026-01-01 0:00 UTC),
            &AuthnRequestOptions::default(),
        );
        let url = outgoing_url(
            "https://idp.example/sso?tenant=1",
            &request.xml,
            Some("/deep?x=1 y"),
            Some(&keys),
        )
        .unwrap();
        verify_redirect_signature(&url, &keys.cert_pem).expect("signed by the SP key");
        let other = crate::keys::SpKeys::generate("other").unwrap();
        assert!(verify_redirect_signature(&url, &other.cert_pem).is_err());
        let pairs: Vec<(String, String)> = url::Url::parse(&url)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        assert_eq!(pairs[0], ("tenant".into(), "1".into()));
        assert_eq!(pairs[2], ("RelayState".into(), "/deep?x=1 y".into()));
        let unsigned = outgoing_url("https://idp.example/sso", &request.xml, None, None).unwrap();
        assert!(!unsigned.contains("Signature=") && !unsigned.contains("SigAlg="));
    }

    #[test]
    fn request_ids_are_unique_ncnames() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a, b);
        assert!(a.starts_with('_') && a.len() == 41);
    }
}
