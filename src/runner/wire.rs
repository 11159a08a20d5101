//! Decodes the SAML messages a step's browsers carried, for the report: the `SAMLResponse` and
//! `SAMLRequest` fields of posted forms (HTTP-POST: base64) and of redirect URLs' query strings
//! (HTTP-Redirect: base64 of raw DEFLATE), pretty-printed. What cannot be decoded is shown as
//! read, with why; nothing here judges a step.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::SamlMessage;
use crate::driver::PostForm;
use crate::report::xml::pretty_xml;

/// SAML messages carried in the fields of a posted `form` (HTTP-POST binding).
pub(super) fn posted_messages(form: &PostForm) -> Vec<SamlMessage> {
    let mut messages = Vec::new();
    for parameter in ["SAMLResponse", "SAMLRequest"] {
        if let Some(value) = form.field(parameter) {
            messages.push(SamlMessage {
                parameter: parameter.into(),
                binding: "HTTP-POST".into(),
                to: form.action.clone(),
                xml: decode_post(value),
            });
        }
    }
    messages
}

fn decode_post(value: &str) -> String {
    match STANDARD.decode(value.trim()) {
        Ok(bytes) => pretty_xml(&String::from_utf8_lossy(&bytes)),
        Err(e) => format!("(not base64: {e}) {value}"),
    }
}

fn decode_redirect(value: &str) -> String {
    use std::io::Read as _;
    let Ok(bytes) = STANDARD.decode(value.trim()) else {
        return format!("(not base64) {value}");
    };
    let mut xml = String::new();
    match flate2::read::DeflateDecoder::new(&bytes[..])
        .take(1 << 20)
        .read_to_string(&mut xml)
    {
        Ok(_) => pretty_xml(&xml),
        Err(e) => format!("(not raw DEFLATE: {e})"),
    }
}

/// SAML messages carried in the query strings of `urls` (HTTP-Redirect binding).
pub(super) fn redirect_messages(urls: &[String]) -> Vec<SamlMessage> {
    let mut messages = Vec::new();
    for url in urls {
        let Ok(parsed) = url::Url::parse(url) else {
            continue;
        };
        for (key, value) in parsed.query_pairs() {
            if key == "SAMLRequest" || key == "SAMLResponse" {
                let mut to = parsed.clone();
                to.set_query(None);
                messages.push(SamlMessage {
                    parameter: key.into_owned(),
                    binding: "HTTP-Redirect".into(),
                    to: to.to_string(),
                    xml: decode_redirect(&value),
                });
            }
        }
    }
    messages
}
