//! Outgoing logout messages: the LogoutRequests and LogoutResponses the SP sends, and the signed
//! HTTP-Redirect URL that carries them (bindings §3.4.4.1).

use std::io::Write;

use base64::Engine;
use flate2::Compression;
use flate2::write::DeflateEncoder;
use time::OffsetDateTime;

use super::{MessageKind, STATUS_REQUESTER, STATUS_SUCCESS};
use crate::keys::{KeyError, SpKeys};
use crate::reason::Reason;
use crate::verify::checks::RSA_SHA256;
use crate::verify::tree::{SAML, SAMLP};
use crate::xml::{escape, saml_instant};

/// A protocol message built by the SP, ready to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Its `ID` (a LogoutResponse to it must name it in `InResponseTo`).
    pub id: String,
    /// The XML, unsigned (the Redirect binding signs the query string, not the XML).
    pub xml: String,
}

/// What the SP's LogoutRequest names: the session's subject at the IdP.
#[derive(Debug, Clone)]
pub struct LogoutSubject<'a> {
    /// `NameID` text, as the IdP sent it at sign-in.
    pub name_id: &'a str,
    /// Its `Format`, when the IdP sent one.
    pub name_id_format: Option<&'a str>,
    /// `SessionIndex` of the session, when the IdP sent one.
    pub session_index: Option<&'a str>,
}

/// A LogoutRequest from the SP (`issuer`) to the IdP's SLO URL (`destination`), valid until
/// `not_on_or_after`.
pub fn build_logout_request(
    issuer: &str,
    destination: &str,
    subject: &LogoutSubject<'_>,
    now: OffsetDateTime,
    not_on_or_after: OffsetDateTime,
) -> Outgoing {
    let id = crate::authn_request::new_request_id();
    let format = subject
        .name_id_format
        .map(|f| format!(r#" Format="{}""#, escape(f)))
        .unwrap_or_default();
    let session_index = subject
        .session_index
        .map(|s| format!("<samlp:SessionIndex>{}</samlp:SessionIndex>", escape(s)))
        .unwrap_or_default();
    let xml = format!(
        r#"<samlp:LogoutRequest xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{id}" Version="2.0" IssueInstant="{instant}" Destination="{destination}" NotOnOrAfter="{until}"><saml:Issuer>{issuer}</saml:Issuer><saml:NameID{format}>{name_id}</saml:NameID>{session_index}</samlp:LogoutRequest>"#,
        instant = saml_instant(now),
        until = saml_instant(not_on_or_after),
        destination = escape(destination),
        issuer = escape(issuer),
        name_id = escape(subject.name_id),
    );
    Outgoing { id, xml }
}

/// The status the SP answers a LogoutRequest with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutStatus {
    /// Top-level `StatusCode/@Value`.
    pub code: &'static str,
    /// Second-level `StatusCode/@Value`, if any.
    pub second_level: Option<&'static str>,
    /// `StatusMessage` (shown to the IdP; never message data).
    pub message: Option<String>,
}

impl LogoutStatus {
    /// Success: the sessions ended.
    pub fn success() -> Self {
        LogoutStatus {
            code: STATUS_SUCCESS,
            second_level: None,
            message: None,
        }
    }

    /// Requester with a second-level code and the reason code as the message.
    pub fn refused(second_level: &'static str, reason: Reason) -> Self {
        LogoutStatus {
            code: STATUS_REQUESTER,
            second_level: Some(second_level),
            message: Some(reason.code().to_owned()),
        }
    }
}

/// A LogoutResponse from the SP (`issuer`) to the IdP's SLO URL, answering `in_response_to`.
pub fn build_logout_response(
    issuer: &str,
    destination: &str,
    in_response_to: Option<&str>,
    status: &LogoutStatus,
    now: OffsetDateTime,
) -> Outgoing {
    let id = crate::authn_request::new_request_id();
    let in_response_to = in_response_to
        .map(|r| format!(r#" InResponseTo="{}""#, escape(r)))
        .unwrap_or_default();
    let inner = status
        .second_level
        .map(|s| format!(r#"<samlp:StatusCode Value="{s}"/>"#))
        .unwrap_or_default();
    let message = status
        .message
        .as_deref()
        .map(|m| format!("<samlp:StatusMessage>{}</samlp:StatusMessage>", escape(m)))
        .unwrap_or_default();
    let xml = format!(
        r#"<samlp:LogoutResponse xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{id}" Version="2.0" IssueInstant="{instant}" Destination="{destination}"{in_response_to}><saml:Issuer>{issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{code}">{inner}</samlp:StatusCode>{message}</samlp:Status></samlp:LogoutResponse>"#,
        instant = saml_instant(now),
        destination = escape(destination),
        issuer = escape(issuer),
        code = status.code,
    );
    Outgoing { id, xml }
}

/// Percent-encodes a query value (`application/x-www-form-urlencoded`). The same bytes are
/// signed and sent, so the choice of encoding does not matter to a verifier that uses the bytes
/// it received.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The HTTP-Redirect URL that carries `xml` to `endpoint`, signed with the SP key (bindings
/// §3.4.4.1): RSA-SHA256 over `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as it appears in the
/// URL, then `&Signature=…`.
pub fn signed_redirect_url(
    endpoint: &str,
    kind: MessageKind,
    xml: &str,
    relay_state: Option<&str>,
    keys: &SpKeys,
) -> Result<String, KeyError> {
    redirect_url(endpoint, kind, xml, relay_state, Some(keys))
}

/// [`signed_redirect_url`] when `signing` is given, else the same URL without `SigAlg` and
/// `Signature` (`sign_logout_requests` / `sign_logout_responses` off).
pub fn redirect_url(
    endpoint: &str,
    kind: MessageKind,
    xml: &str,
    relay_state: Option<&str>,
    signing: Option<&SpKeys>,
) -> Result<String, KeyError> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(xml.as_bytes());
    let deflated = encoder.finish().unwrap_or_default();
    let message = base64::engine::general_purpose::STANDARD.encode(deflated);
    let mut signed = format!("{}={}", kind.parameter(), form_encode(&message));
    if let Some(relay_state) = relay_state {
        signed.push_str(&format!("&RelayState={}", form_encode(relay_state)));
    }
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    let Some(keys) = signing else {
        return Ok(format!("{endpoint}{separator}{signed}"));
    };
    signed.push_str(&format!("&SigAlg={}", form_encode(RSA_SHA256)));
    let signature = keys.sign_rsa_sha256(signed.as_bytes())?;
    let signature = base64::engine::general_purpose::STANDARD.encode(signature);
    Ok(format!(
        "{endpoint}{separator}{signed}&Signature={}",
        form_encode(&signature)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_url_is_signed_only_when_given_a_key() {
        let keys = SpKeys::fixed_for_tests();
        let xml = "<samlp:LogoutRequest/>";
        let signed = redirect_url(
            "https://idp.example/slo",
            MessageKind::Request,
            xml,
            Some("r"),
            Some(&keys),
        )
        .unwrap();
        assert!(signed.contains("&SigAlg=") && signed.contains("&Signature="));
        assert_eq!(
            signed,
            signed_redirect_url(
                "https://idp.example/slo",
                MessageKind::Request,
                xml,
                Some("r"),
                &keys
            )
            .unwrap()
        );
        let unsigned = redirect_url(
            "https://idp.example/slo?a=1",
            MessageKind::Response,
            xml,
            Some("r"),
            None,
        )
        .unwrap();
        assert!(
            unsigned.starts_with("https://idp.example/slo?a=1&SAMLResponse=")
                && unsigned.ends_with("&RelayState=r"),
            "{unsigned}"
        );
        assert!(!unsigned.contains("SigAlg") && !unsigned.contains("Signature"));
    }
}
