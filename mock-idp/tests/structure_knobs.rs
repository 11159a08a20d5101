//! The knobs that leave out or bend one required piece of a response (issuer, subject, bearer
//! confirmation, document element) or damage it in transit: each minted message has exactly that
//! fault, and where the IdP signs after the fault, the signature still verifies with `xmlsec1`.

mod common;

use std::path::Path;

use common::{REQUEST_ID, mint};
use mock_idp::knobs::Knobs;

fn knobs(json: serde_json::Value) -> Knobs {
    let mut knobs = Knobs::default();
    knobs.apply_overrides(&json).expect("knobs apply");
    knobs.validate().expect("knobs validate");
    knobs
}

/// The assertion's signature verifies with the IdP's certificate (KeyInfo ignored).
fn assertion_signature_verifies(xml: &str) {
    let cert = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/idp.crt");
    plumbing::xmlsec1::verify(
        xml,
        &cert,
        &["urn:oasis:names:tc:SAML:2.0:assertion:Assertion"],
        Some("//*[local-name()='Assertion']/*[local-name()='Signature']"),
    )
    .unwrap_or_else(|e| panic!("the IdP's signature does not verify: {e}"));
}

fn assertion(xml: &str) -> &str {
    let start = xml.find("<saml:Assertion").expect("an assertion");
    &xml[start..]
}

#[test]
fn omit_assertion_issuer_leaves_only_the_responses_issuer() {
    let xml = mint(&knobs(serde_json::json!({ "omit_assertion_issuer": true }))).xml;
    assert_eq!(xml.matches("<saml:Issuer").count(), 1);
    assert!(!assertion(&xml).contains("<saml:Issuer"));
    assertion_signature_verifies(&xml);
}

#[test]
fn omit_subject_leaves_no_subject_and_keeps_the_rest() {
    let xml = mint(&knobs(serde_json::json!({ "omit_subject": true }))).xml;
    assert!(!xml.contains("<saml:Subject"));
    assert!(xml.contains("<saml:AuthnStatement"));
    assert!(xml.contains("<saml:AudienceRestriction"));
    assertion_signature_verifies(&xml);
}

#[test]
fn omit_subject_confirmation_data_keeps_a_bare_bearer_confirmation() {
    let xml = mint(&knobs(
        serde_json::json!({ "omit_subject_confirmation_data": true }),
    ))
    .xml;
    assert!(xml.contains("cm:bearer"));
    assert!(!xml.contains("SubjectConfirmationData"));
    assert!(xml.contains("<saml:NameID"));
    assertion_signature_verifies(&xml);
}

#[test]
fn subject_confirmation_method_replaces_bearer() {
    let hok = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key";
    let xml = mint(&knobs(
        serde_json::json!({ "subject_confirmation_method": hok }),
    ))
    .xml;
    assert!(xml.contains(&format!(r#"Method="{hok}""#)));
    assert!(!xml.contains("cm:bearer"));
    assertion_signature_verifies(&xml);
}

#[test]
fn subject_confirmation_validity_moves_only_the_confirmations_window() {
    let xml = mint(&knobs(
        serde_json::json!({ "subject_confirmation_validity_secs": -600 }),
    ))
    .xml;
    // The fixed instant is 2026-01-01T00:00:00Z; Conditions keep the default 300 s.
    assert!(xml.contains(
        r#"<saml:Conditions NotBefore="2026-01-01T00:00:00Z" NotOnOrAfter="2026-01-01T00:05:00Z""#
    ));
    let data = &xml[xml.find("<saml:SubjectConfirmationData").expect("data")..];
    assert!(data.contains(r#"NotOnOrAfter="2025-12-31T23:50:00Z""#));
    assertion_signature_verifies(&xml);
}

#[test]
fn subject_in_response_to_override_differs_from_the_responses() {
    let other = "_0000000000000000000000000000000000000bad";
    let xml = mint(&knobs(
        serde_json::json!({ "subject_in_response_to_override": other }),
    ))
    .xml;
    let data = &xml[xml.find("<saml:SubjectConfirmationData").expect("data")..];
    assert!(data.contains(&format!(r#"InResponseTo="{other}""#)));
    let root = &xml[..xml.find("<saml:Issuer").expect("issuer")];
    assert!(root.contains(&format!(r#"InResponseTo="{REQUEST_ID}""#)));
    assertion_signature_verifies(&xml);
}

#[test]
fn document_element_override_renames_the_root() {
    let xml = mint(&knobs(
        serde_json::json!({ "document_element_override": "LogoutResponse" }),
    ))
    .xml;
    assert!(xml.contains("<samlp:LogoutResponse "));
    assert!(xml.trim_end().ends_with("</samlp:LogoutResponse>"));
    assert!(!xml.contains("samlp:Response"));
    assertion_signature_verifies(&xml);
}

#[test]
fn truncate_to_bytes_cuts_the_signed_document() {
    let whole = mint(&Knobs::default()).xml;
    let cut = mint(&knobs(serde_json::json!({ "truncate_to_bytes": 1000 }))).xml;
    assert_eq!(cut.len(), 1000);
    assert_eq!(cut, whole[..1000]);
}

#[test]
fn form_value_not_base64_damages_only_the_form_value() {
    let damaged = knobs(serde_json::json!({ "form_value_not_base64": true }));
    let minted = mint(&damaged);
    assert_eq!(minted.xml, mint(&Knobs::default()).xml);
    let value = minted.form_value(&damaged);
    assert_eq!(value.matches('*').count(), 1);
    assert_eq!(value.replace('*', ""), minted.saml_response_param());
    assert_eq!(
        minted.form_value(&Knobs::default()),
        minted.saml_response_param()
    );
}
