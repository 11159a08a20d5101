//! `samlconf certify`: a checklist of an IdP setup as the reference SP sees it — the IdP's
//! metadata ([`metadata`]) and, optionally, a response captured from a real sign-in
//! ([`response`]) — each item `pass`, `warn` or `fail` with its reason and fix ([`checklist`]),
//! rendered for the terminal, as JSON and as HTML ([`render`]).
//!
//! The response is judged by the reference SP's own verifier (`sp::verify`) against the
//! metadata's certificates, never by a second reading of the XML: what the checklist says about
//! claims comes from the verified assertion. Live mode ([`live`]) runs the SP against a real IdP
//! and builds the same checklist for the response it last received.

pub mod checklist;
pub mod input;
pub mod live;
pub mod metadata;
pub mod render;
pub mod response;

pub use checklist::{Checklist, Item, Section, Status};

use sp::config::SpConfig;
use sp::metadata::IdpMetadata;
use sp::verify::DecryptionKey;
use time::OffsetDateTime;

/// A captured response and when it was captured.
#[derive(Debug, Clone)]
pub struct CapturedResponse {
    /// As captured: raw XML, base64 (line breaks allowed), URL-encoded base64, or a
    /// `SAMLResponse=…` form body.
    pub bytes: Vec<u8>,
    /// Where it came from (a path, or "the SP's ACS").
    pub source: String,
    pub captured_at: OffsetDateTime,
    /// How `captured_at` was learnt: `--now`, `file mtime`, `received by the SP`.
    pub captured_at_source: String,
}

/// Everything a certification looks at.
pub struct Certification<'a> {
    pub metadata_xml: &'a str,
    /// Where the metadata came from (a path or URL).
    pub metadata_source: String,
    pub response: Option<CapturedResponse>,
    /// The SP configuration whose policy, entity ID, ACS, attribute names and role mappings the
    /// response is judged by; without it they are taken from the response (and say so).
    pub sp_config: Option<&'a SpConfig>,
    /// Keys that decrypt an EncryptedAssertion.
    pub decryption_keys: Vec<DecryptionKey>,
    /// The instant certificates and metadata are judged at.
    pub now: OffsetDateTime,
}

/// Runs every check.
pub fn certify(input: &Certification<'_>) -> Checklist {
    let mut checklist = Checklist::new(input);
    let parsed = IdpMetadata::parse(input.metadata_xml);
    checklist.push(Section::new(
        "metadata",
        "IdP metadata",
        metadata::check(&parsed, input.now),
    ));
    if let Some(response) = &input.response {
        let items = match &parsed {
            Ok(md) => response::check(response, md, input.sp_config, &input.decryption_keys),
            Err(_) => vec![Item::fail(
                "response.not_judged",
                "Response",
                "the response cannot be judged without usable IdP metadata",
                "Fix the metadata first (see above).",
            )],
        };
        checklist.push(Section::new("response", "Captured SAMLResponse", items));
    }
    checklist
}
