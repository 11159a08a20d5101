//! The verifier against fixtures signed by the `xmlsec1` command: acceptance, one test per reason
//! code that `verify_response` produces (named after the fault or attack), and signature wrapping.

mod verifier_support;

use sp::verify::{
    SignedElement, VerifyPolicy, check_in_response_to, decode_file_input, decode_post_binding,
    verify_response,
};
use time::Duration;
use verifier_support::*;

const ASSERTION_OPEN: &str = r#"<saml:Assertion ID="_assert-9b2e41""#;

fn with_policy(
    xml: &str,
    f: impl FnOnce(&mut VerifyPolicy),
) -> Result<sp::verify::VerifiedResponse, sp::reason::Rejection> {
    let mut p = policy();
    f(&mut p);
    verify_response(xml.as_bytes(), &p, NOW)
}

fn at(
    xml: &str,
    now: time::OffsetDateTime,
) -> Result<sp::verify::VerifiedResponse, sp::reason::Rejection> {
    verify_response(xml.as_bytes(), &policy(), now)
}

// ---------------------------------------------------------------------------------------------
// Acceptance

#[test]
fn assertion_signed_response_is_accepted_with_all_claims() {
    let v = verify(signed_default()).expect("accepted");
    assert_eq!(v.response_id, "_resp-1f0c6a");
    assert_eq!(v.assertion_id, "_assert-9b2e41");
    assert_eq!(v.in_response_to.as_deref(), Some("_req-42"));
    assert_eq!(v.destination.as_deref(), Some(ACS_URL));
    assert_eq!(v.issuer, IDP_ENTITY_ID);
    assert_eq!(v.name_id.as_deref(), Some("alice@example.com"));
    assert_eq!(
        v.name_id_format.as_deref(),
        Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    );
    assert_eq!(v.session_index.as_deref(), Some("_session-7"));
    assert_eq!(v.audiences, vec![SP_ENTITY_ID.to_owned()]);
    assert_eq!(v.attribute_values("groups"), ["staff", "admins"]);
    assert_eq!(
        v.first_attribute_value("mail"),
        Some("alice@example.com"),
        "lookup by FriendlyName"
    );
    assert_eq!(v.signature.signed_element, SignedElement::Assertion);
    assert_eq!(v.signature.signature_algorithm, RSA_SHA256);
    assert_eq!(v.signature.digest_algorithm, SHA256);
    assert_eq!(v.signature.certificate_index, 0);
    assert!(
        v.not_on_or_after.is_some()
            && v.not_before.is_some()
            && v.session_not_on_or_after.is_some()
    );
    serde_json::to_string(&v).expect("serializable");
}

#[test]
fn response_only_signature_is_accepted_when_policy_allows_it() {
    let xml = Fixture::new()
        .assertion_sig(None)
        .response_sig(Some(Sig::default()))
        .build();
    let v = with_policy(&xml, |p| p.accept_response_signature = true).expect("accepted");
    assert_eq!(v.signature.signed_element, SignedElement::Response);
}

#[test]
fn response_only_signature_is_rejected_without_policy_opt_in() {
    let xml = Fixture::new()
        .assertion_sig(None)
        .response_sig(Some(Sig::default()))
        .build();
    assert_rejected(&xml, "signature.missing");
}

#[test]
fn assertion_only_signature_is_refused_when_a_signed_response_is_required() {
    let refused = with_policy(signed_default(), |p| p.require_signed_response = true)
        .expect_err("the Response element is unsigned");
    assert_eq!(refused.code(), "signature.response_missing");
}

#[test]
fn both_signed_is_accepted_when_a_signed_response_is_required() {
    let xml = Fixture::new().response_sig(Some(Sig::default())).build();
    let v = with_policy(&xml, |p| p.require_signed_response = true).expect("accepted");
    assert_eq!(v.signature.signed_element, SignedElement::Both);
}

#[test]
fn response_only_signature_still_needs_the_opt_in_when_a_signed_response_is_required() {
    let xml = Fixture::new()
        .assertion_sig(None)
        .response_sig(Some(Sig::default()))
        .build();
    let refused = with_policy(&xml, |p| p.require_signed_response = true)
        .expect_err("the assertion is unsigned");
    assert_eq!(refused.code(), "signature.missing");
}

#[test]
fn both_signed_is_accepted() {
    let xml = Fixture::new().response_sig(Some(Sig::default())).build();
    let v = verify(&xml).expect("accepted");
    assert_eq!(v.signature.signed_element, SignedElement::Both);
}

#[test]
fn clock_skew_within_tolerance_is_accepted_at_both_ends() {
    // Conditions/NotOnOrAfter and SubjectConfirmationData/NotOnOrAfter are NOW+300s.
    at(signed_default(), NOW + Duration::seconds(300 + 119)).expect("late within skew");
    // IssueInstant is NOW-10s, NotBefore NOW-60s.
    at(signed_default(), NOW - Duration::seconds(10 + 119)).expect("early within skew");
}

#[test]
fn rotated_idp_certificate_is_tried_after_the_first() {
    let mut p = policy();
    p.idp_certs_pem = vec![cert("rotated"), cert("idp")];
    let v =
        verify_response(signed_default().as_bytes(), &p, NOW).expect("second certificate verifies");
    assert_eq!(v.signature.certificate_index, 1);
}

#[test]
fn sha1_signature_is_accepted_when_policy_allows_it() {
    let sig = Sig {
        method: RSA_SHA1.into(),
        digest: SHA1.into(),
        ..Sig::default()
    };
    let xml = Fixture::new().assertion_sig(Some(sig)).build();
    let v = with_policy(&xml, |p| p.allow_sha1 = true).expect("accepted");
    assert_eq!(v.signature.signature_algorithm, RSA_SHA1);
}

#[test]
fn comment_injected_nameid_is_read_whole_not_truncated() {
    // CVE-2017-11427 class: exc-c14n drops comments, so the signature stays valid; a verifier that
    // reads only the first text node would see "alice@example.com.evil" as "alice@example.com".
    let xml = Fixture::new()
        .edit(
            ">alice@example.com</saml:NameID>",
            ">alice@example.com.evil</saml:NameID>",
        )
        .build();
    let tampered = xml.replacen(
        "alice@example.com.evil<",
        "alice@example.com<!---->.evil<",
        1,
    );
    assert_ne!(xml, tampered);
    let v = verify(&tampered).expect("signature still valid: comments are not signed");
    assert_eq!(v.name_id.as_deref(), Some("alice@example.com.evil"));
}

#[test]
fn base64_post_binding_with_line_breaks_decodes_and_verifies() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(signed_default());
    let wrapped: String = b64
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\r\n", String::from_utf8_lossy(c)))
        .collect();
    let bytes = decode_post_binding(&wrapped).expect("decodes");
    verify_response(&bytes, &policy(), NOW).expect("accepted");
    assert_eq!(
        decode_file_input(b64.as_bytes()).expect("file base64"),
        signed_default().as_bytes()
    );
    assert_eq!(
        decode_file_input(signed_default().as_bytes()).expect("file xml"),
        signed_default().as_bytes()
    );
}

// ---------------------------------------------------------------------------------------------
// input.*

#[test]
fn oversized_response_is_rejected_before_parsing() {
    let r = with_policy(signed_default(), |p| p.max_response_bytes = 1024);
    assert_rejected_with(r, "input.too_large");
}

#[test]
fn oversized_post_binding_is_rejected_before_decoding() {
    let huge = "A".repeat(800 * 1024);
    assert_eq!(
        decode_post_binding(&huge).unwrap_err().code(),
        "input.too_large"
    );
}

#[test]
fn post_binding_with_invalid_base64_is_rejected() {
    assert_eq!(
        decode_post_binding("PHNhbWxw*not-base64*")
            .unwrap_err()
            .code(),
        "input.not_base64"
    );
    assert_eq!(
        decode_post_binding("  \n ").unwrap_err().code(),
        "input.not_base64"
    );
}

#[test]
fn truncated_xml_is_rejected_as_not_xml() {
    let xml = signed_default();
    assert_rejected(&xml[..xml.len() / 2], "input.not_xml");
}

#[test]
fn non_utf8_bytes_are_rejected_as_not_xml() {
    let mut bytes = signed_default().as_bytes().to_vec();
    bytes.insert(60, 0xff);
    assert_rejected_with(verify_response(&bytes, &policy(), NOW), "input.not_xml");
}

#[test]
fn undeclared_namespace_prefix_is_rejected_as_not_xml() {
    // libxml2 treats an undeclared prefix as a recoverable namespace error and keeps the raw name.
    let xml =
        signed_default().replacen("<saml:Subject>", "<saml:Subject undeclared:attr=\"x\">", 1);
    let r = assert_rejected(&xml, "input.not_xml");
    assert!(r.message.contains("undeclared:attr"), "{}", r.message);
    let xml = signed_default().replacen("<samlp:Status>", "<nope:Status/><samlp:Status>", 1);
    assert_rejected(&xml, "input.not_xml");
}

#[test]
fn utf16_encoded_response_is_rejected_as_not_xml() {
    let utf16: Vec<u8> = "\u{feff}<samlp:Response/>"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    assert_rejected_with(verify_response(&utf16, &policy(), NOW), "input.not_xml");
}

#[test]
fn utf7_declared_doctype_is_not_decoded_and_not_accepted() {
    // "+ADw-" is "<" in UTF-7: a DOCTYPE hidden from a byte scan if the declared encoding were honoured.
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-7\"?>+ADw-!DOCTYPE r +AFs-+ADw-!ENTITY x SYSTEM +ACI-file:///etc/passwd+ACI-+AD4-+AF0-+AD4-<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>";
    assert_rejected(xml, "input.not_xml");
}

#[test]
fn billion_laughs_doctype_is_rejected_before_parsing() {
    let xml = signed_default().replacen(
        "<samlp:Response",
        "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>\n<samlp:Response",
        1,
    );
    assert_rejected(&xml, "input.dtd_forbidden");
}

#[test]
fn xxe_external_entity_doctype_is_rejected() {
    let xml = signed_default()
        .replacen(
            "<samlp:Response",
            "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<samlp:Response",
            1,
        )
        .replacen(">alice@example.com</saml:NameID>", ">&x;</saml:NameID>", 1);
    assert_rejected(&xml, "input.dtd_forbidden");
}

// ---------------------------------------------------------------------------------------------
// structure.*

#[test]
fn bare_assertion_is_not_a_response() {
    let xml = signed_default();
    let assertion = slice_element(xml, ASSERTION_OPEN, "</saml:Assertion>").replacen(
        "<saml:Assertion ",
        "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ",
        1,
    );
    assert_rejected(&assertion, "structure.not_a_response");
}

#[test]
fn response_without_assertion_is_rejected() {
    let xml = signed_default();
    let without = xml.replace(slice_element(xml, ASSERTION_OPEN, "</saml:Assertion>"), "");
    assert_rejected(&without, "structure.assertion_count");
}

#[test]
fn xml_id_colliding_with_the_assertion_id_is_rejected() {
    let xml = signed_default().replacen(
        "<samlp:Status>",
        "<samlp:Status xml:id=\"_assert-9b2e41\">",
        1,
    );
    assert_rejected(&xml, "structure.duplicate_id");
}

#[test]
fn assertion_without_issue_instant_is_malformed() {
    let xml = Fixture::new()
        .edit(
            r#"Version="2.0" IssueInstant="2029-12-31T23:59:50Z">
    <saml:Issuer>"#,
            r#"Version="2.0">
    <saml:Issuer>"#,
        )
        .build();
    let r = assert_rejected(&xml, "structure.malformed");
    assert!(r.message.contains("IssueInstant"), "{}", r.message);
}

#[test]
fn conditions_with_a_bad_datetime_are_malformed() {
    let xml = Fixture::new()
        .edit(
            r#"NotBefore="2029-12-31T23:59:00Z""#,
            r#"NotBefore="yesterday""#,
        )
        .build();
    let r = assert_rejected(&xml, "structure.malformed");
    assert!(
        r.message.contains("NotBefore") && r.message.contains("yesterday"),
        "{}",
        r.message
    );
}

#[test]
fn encrypted_assertion_that_cannot_be_decrypted_is_refused() {
    let xml = signed_default();
    let enc = xml.replace(
        slice_element(xml, ASSERTION_OPEN, "</saml:Assertion>"),
        "<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\"/></saml:EncryptedAssertion>",
    );
    // Decryption itself is covered by tests/decrypt.rs; an empty EncryptedData never decrypts.
    assert_rejected(&enc, "decryption.failed");
}

// ---------------------------------------------------------------------------------------------
// status.*

#[test]
fn responder_status_is_rejected_naming_the_second_level_code() {
    let xml = Fixture::new()
        .edit(
            r#"<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>"#,
            r#"<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></samlp:StatusCode><samlp:StatusMessage>bad password</samlp:StatusMessage>"#,
        )
        .build();
    let r = assert_rejected(&xml, "status.not_success");
    assert!(
        r.message.contains("Responder")
            && r.message.contains("AuthnFailed")
            && r.message.contains("bad password"),
        "{}",
        r.message
    );
}

// ---------------------------------------------------------------------------------------------
// signature.*

#[test]
fn unsigned_response_is_rejected() {
    let xml = Fixture::new().assertion_sig(None).build();
    assert_rejected(&xml, "signature.missing");
}

#[test]
fn signature_by_key_in_keyinfo_is_not_trusted() {
    // Signed by an attacker key whose certificate (same CN) travels in KeyInfo.
    let xml = Fixture::new()
        .assertion_sig(Some(Sig {
            key: "attacker".into(),
            ..Sig::default()
        }))
        .build();
    assert!(
        xml.contains("<ds:X509Certificate>MII"),
        "KeyInfo carries the attacker certificate"
    );
    assert_rejected(&xml, "signature.invalid");
}

#[test]
fn tampered_nameid_breaks_the_signature() {
    let xml = signed_default().replacen(
        ">alice@example.com</saml:NameID>",
        ">mallory@example.com</saml:NameID>",
        1,
    );
    let r = assert_rejected(&xml, "signature.invalid");
    assert!(r.message.contains("digest"), "{}", r.message);
    assert_eq!(
        r.context.subject.as_deref(),
        Some("mallory@example.com"),
        "unverified context for the audit log"
    );
}

#[test]
fn tampered_signature_value_is_rejected() {
    let xml = signed_default();
    let sv = slice_element(xml, "<ds:SignatureValue>", "</ds:SignatureValue>");
    let flipped = sv
        .replacen("<ds:SignatureValue>", "<ds:SignatureValue>AAAA", 1)
        .replacen("</ds:SignatureValue>", "", 1);
    let tampered = xml.replacen(
        sv,
        &format!("{}</ds:SignatureValue>", &flipped[..flipped.len() - 4]),
        1,
    );
    assert_rejected(&tampered, "signature.invalid");
}

#[test]
fn sha1_signature_is_rejected_as_weak() {
    let sig = Sig {
        method: RSA_SHA1.into(),
        ..Sig::default()
    };
    assert_rejected(
        &Fixture::new().assertion_sig(Some(sig)).build(),
        "signature.weak_algorithm",
    );
}

#[test]
fn sha1_digest_is_rejected_as_weak() {
    let sig = Sig {
        digest: SHA1.into(),
        ..Sig::default()
    };
    assert_rejected(
        &Fixture::new().assertion_sig(Some(sig)).build(),
        "signature.weak_algorithm",
    );
}

#[test]
fn hmac_signature_method_is_rejected_as_unsupported() {
    // Key-confusion attack: HMAC keyed with the public certificate bytes.
    let xml = signed_default().replacen(
        RSA_SHA256,
        "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
        1,
    );
    assert_rejected(&xml, "signature.unsupported_algorithm");
}

#[test]
fn c14n_with_comments_is_rejected_as_forbidden_transform() {
    let sig = Sig {
        c14n: "http://www.w3.org/2001/10/xml-exc-c14n#WithComments".into(),
        ..Sig::default()
    };
    assert_rejected(
        &Fixture::new().assertion_sig(Some(sig)).build(),
        "signature.forbidden_transform",
    );
}

#[test]
fn xpath_transform_is_rejected_as_forbidden_transform() {
    let sig = Sig {
        transforms: format!(
            r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>not(ancestor-or-self::ds:Signature)</ds:XPath></ds:Transform><ds:Transform Algorithm="{EXC_C14N}"/>"#
        ),
        ..Sig::default()
    };
    assert_rejected(
        &Fixture::new().assertion_sig(Some(sig)).build(),
        "signature.forbidden_transform",
    );
}

#[test]
fn a_transform_after_exc_c14n_or_a_repeated_transform_is_rejected_as_forbidden_transform() {
    // exc-c14n yields octets: a transform after it makes xmlsec re-parse them, a path on which
    // libxmlsec1 leaks its output buffer when the later transform fails (tests/fuzz_memory.rs).
    let enveloped = format!(r#"<ds:Transform Algorithm="{ENVELOPED}"/>"#);
    let c14n = format!(r#"<ds:Transform Algorithm="{EXC_C14N}"/>"#);
    let signed = signed_default();
    let standard = format!("{enveloped}{c14n}");
    assert!(signed.contains(&standard));
    for transforms in [
        format!("{c14n}{enveloped}"),
        format!("{enveloped}{c14n}{c14n}"),
        format!("{enveloped}{enveloped}{c14n}"),
    ] {
        let xml = signed.replacen(&standard, &transforms, 1);
        let rejection = assert_rejected(&xml, "signature.forbidden_transform");
        assert!(
            rejection.message.contains("once"),
            "{transforms}: {}",
            rejection.message
        );
    }
}

#[test]
fn assertion_signature_referencing_the_response_is_rejected() {
    let sig = Sig {
        reference_id: Some("_resp-1f0c6a".into()),
        ..Sig::default()
    };
    assert_rejected(
        &Fixture::new().assertion_sig(Some(sig)).build(),
        "signature.reference_mismatch",
    );
}

#[test]
fn signature_with_two_references_is_rejected() {
    let xml = signed_default();
    let reference = slice_element(xml, "<ds:Reference ", "</ds:Reference>");
    let doubled = xml.replacen(reference, &format!("{reference}{reference}"), 1);
    assert_rejected(&doubled, "signature.reference_mismatch");
}

/// CVE-2025-29774 (xml-crypto): a second SignedInfo, for a verifier that checks the signature
/// value over one and the digests of another. Like a second Reference, it is a signature that
/// does not reference exactly its parent, not a malformed document.
#[test]
fn signature_with_two_signed_infos_is_rejected_as_reference_mismatch() {
    let xml = signed_default();
    let signed_info = slice_element(xml, "<ds:SignedInfo>", "</ds:SignedInfo>");
    let doubled = xml.replacen(signed_info, &format!("{signed_info}{signed_info}"), 1);
    let r = assert_rejected(&doubled, "signature.reference_mismatch");
    assert!(r.message.contains("SignedInfo"), "{}", r.message);
}

// ---------------------------------------------------------------------------------------------
// issuer.* and destination.*

#[test]
fn assertion_without_issuer_is_rejected() {
    let xml = Fixture::new()
        .edit(
            "<saml:Issuer>https://idp.test/metadata</saml:Issuer>\n    <!--ASSERTION_SIGNATURE-->",
            "<!--ASSERTION_SIGNATURE-->",
        )
        .build();
    assert_rejected(&xml, "issuer.missing");
}

#[test]
fn assertion_from_another_idp_is_rejected() {
    let xml = Fixture::new()
        .edit(
            "<saml:Issuer>https://idp.test/metadata</saml:Issuer>\n    <!--ASSERTION",
            "<saml:Issuer>https://evil.test/</saml:Issuer>\n    <!--ASSERTION",
        )
        .build();
    assert_rejected(&xml, "issuer.mismatch");
}

#[test]
fn response_issuer_differing_from_the_idp_is_rejected() {
    let xml = Fixture::new()
        .edit(
            "<saml:Issuer>https://idp.test/metadata</saml:Issuer>",
            "<saml:Issuer>https://evil.test/</saml:Issuer>",
        )
        .build();
    let r = assert_rejected(&xml, "issuer.mismatch");
    assert!(r.message.contains("Response Issuer"), "{}", r.message);
}

#[test]
fn signed_response_without_destination_is_rejected() {
    let xml = Fixture::new()
        .edit(r#" Destination="https://sp.test/saml/acs""#, "")
        .response_sig(Some(Sig::default()))
        .build();
    assert_rejected(&xml, "destination.missing");
}

#[test]
fn unsigned_response_without_destination_is_accepted() {
    let xml = Fixture::new()
        .edit(r#" Destination="https://sp.test/saml/acs""#, "")
        .build();
    verify(&xml).expect("Destination is optional when only the Assertion is signed");
}

#[test]
fn response_destined_for_another_sp_is_rejected() {
    let xml = Fixture::new()
        .edit(
            r#"Destination="https://sp.test/saml/acs""#,
            r#"Destination="https://other.test/acs""#,
        )
        .build();
    assert_rejected(&xml, "destination.mismatch");
}

// ---------------------------------------------------------------------------------------------
// time.*

#[test]
fn assertion_from_the_future_is_rejected() {
    assert_rejected_with(
        at(signed_default(), NOW - Duration::hours(1)),
        "time.not_yet_valid",
    );
}

#[test]
fn issue_instant_just_beyond_skew_is_rejected() {
    // Without a NotBefore there is no backdating to honour (see verifier_corners.rs for it).
    let xml = Fixture::new()
        .edit(r#"NotBefore="2029-12-31T23:59:00Z" "#, "")
        .build();
    let r = assert_rejected_with(
        at(&xml, NOW - Duration::seconds(10 + 121)),
        "time.not_yet_valid",
    );
    assert!(r.message.contains("IssueInstant"), "{}", r.message);
    at(&xml, NOW - Duration::seconds(10 + 119)).expect("within skew");
}

#[test]
fn expired_assertion_is_rejected() {
    assert_rejected_with(
        at(signed_default(), NOW + Duration::seconds(300 + 121)),
        "time.expired",
    );
}

// ---------------------------------------------------------------------------------------------
// audience.*

#[test]
fn assertion_without_audience_restriction_is_rejected() {
    let xml = Fixture::new()
        .edit("<saml:AudienceRestriction>\n        <saml:Audience>https://sp.test/metadata</saml:Audience>\n      </saml:AudienceRestriction>", "")
        .build();
    assert_rejected(&xml, "audience.missing");
}

#[test]
fn assertion_for_another_sp_is_rejected() {
    let xml = Fixture::new()
        .edit(
            "<saml:Audience>https://sp.test/metadata</saml:Audience>",
            "<saml:Audience>https://other.test/</saml:Audience>",
        )
        .build();
    assert_rejected(&xml, "audience.mismatch");
}

// ---------------------------------------------------------------------------------------------
// subject.* and recipient.*

fn without_subject(xml: &str) -> String {
    let s = xml.find("<saml:Subject>").expect("subject");
    let e = xml.find("</saml:Subject>").expect("end") + "</saml:Subject>".len();
    format!("{}{}", &xml[..s], &xml[e..])
}

#[test]
fn assertion_without_subject_is_rejected() {
    let f = Fixture::new();
    let xml = Fixture {
        xml: without_subject(&f.xml),
        ..f
    }
    .build();
    assert_rejected(&xml, "subject.missing");
}

#[test]
fn holder_of_key_only_confirmation_is_rejected() {
    let xml = Fixture::new()
        .edit(
            "urn:oasis:names:tc:SAML:2.0:cm:bearer",
            "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key",
        )
        .build();
    assert_rejected(&xml, "subject.no_bearer_confirmation");
}

#[test]
fn recipient_of_another_sp_is_rejected() {
    let xml = Fixture::new()
        .edit(
            r#"Recipient="https://sp.test/saml/acs""#,
            r#"Recipient="https://other.test/acs""#,
        )
        .build();
    assert_rejected(&xml, "recipient.mismatch");
}

#[test]
fn expired_subject_confirmation_is_rejected() {
    let xml = Fixture::new()
        .edit(
            r#"InResponseTo="_req-42" NotOnOrAfter="2030-01-01T00:05:00Z""#,
            r#"InResponseTo="_req-42" NotOnOrAfter="2029-12-31T23:55:00Z""#,
        )
        .build();
    assert_rejected(&xml, "subject.confirmation_expired");
}

#[test]
fn subject_confirmation_answering_another_request_is_rejected() {
    let xml = Fixture::new()
        .edit(
            r#"SubjectConfirmationData InResponseTo="_req-42""#,
            r#"SubjectConfirmationData InResponseTo="_req-other""#,
        )
        .build();
    assert_rejected(&xml, "subject.in_response_to_mismatch");
}

/// The Response's InResponseTo is unsigned: an unsolicited assertion (no InResponseTo of its own)
/// must not be movable onto a request by writing one there.
#[test]
fn unsigned_in_response_to_without_a_signed_one_is_rejected() {
    let moved = Fixture::new().edit(
        r#"SubjectConfirmationData InResponseTo="_req-42" "#,
        "SubjectConfirmationData ",
    );
    let r = assert_rejected(&moved.clone().build(), "subject.in_response_to_missing");
    assert!(r.message.contains("_req-42"), "{}", r.message);
    // A verified Response signature covers the Response's InResponseTo.
    let xml = moved.response_sig(Some(Sig::default())).build();
    let v = verify(&xml).expect("the signed Response carries InResponseTo");
    assert_eq!(v.in_response_to.as_deref(), Some("_req-42"));
}

// ---------------------------------------------------------------------------------------------
// request.* (check_in_response_to)

#[test]
fn in_response_to_is_checked_against_the_outstanding_request() {
    let v = verify(signed_default()).expect("accepted");
    check_in_response_to(&v, Some("_req-42"), false).expect("matches");
    let r = check_in_response_to(&v, Some("_req-other"), true).unwrap_err();
    assert_eq!(r.code(), "request.unknown_in_response_to");
    assert_eq!(
        check_in_response_to(&v, None, true).unwrap_err().code(),
        "request.unknown_in_response_to"
    );
}

#[test]
fn unsolicited_response_is_rejected_unless_allowed() {
    let xml = Fixture::new()
        .edit(r#" InResponseTo="_req-42">"#, ">")
        .edit(
            r#"SubjectConfirmationData InResponseTo="_req-42" "#,
            "SubjectConfirmationData ",
        )
        .build();
    let v = verify(&xml).expect("accepted by the verifier");
    assert_eq!(
        check_in_response_to(&v, None, false).unwrap_err().code(),
        "request.unsolicited"
    );
    check_in_response_to(&v, None, true).expect("allowed");
}

// ---------------------------------------------------------------------------------------------
// XML signature wrapping (XSW)

/// Where the evil assertion's signature would be (an XML comment, so harmless when left).
const EVIL_SIG_SLOT: &str = "<!--EVIL_SIGNATURE-->";

/// A copy of the signed assertion, unsigned, with ID `_evil-1` and NameID `admin@example.com`.
fn evil_assertion(signed: &str) -> String {
    let original = slice_element(signed, ASSERTION_OPEN, "</saml:Assertion>");
    let unsigned = match original.find("<ds:Signature") {
        Some(_) => original.replacen(
            slice_element(original, "<ds:Signature", "</ds:Signature>"),
            EVIL_SIG_SLOT,
            1,
        ),
        None => original.to_owned(),
    };
    unsigned.replacen("_assert-9b2e41", "_evil-1", 1).replacen(
        ">alice@example.com</saml:NameID>",
        ">admin@example.com</saml:NameID>",
        1,
    )
}

#[test]
fn xsw_evil_assertion_before_the_signed_one_is_rejected() {
    let xml = signed_default();
    let wrapped = xml.replacen(
        ASSERTION_OPEN,
        &format!("{}{ASSERTION_OPEN}", evil_assertion(xml)),
        1,
    );
    assert_rejected(&wrapped, "structure.assertion_count");
}

#[test]
fn xsw_evil_assertion_after_the_signed_one_is_rejected() {
    let xml = signed_default();
    let wrapped = xml.replacen(
        "</saml:Assertion>",
        &format!("</saml:Assertion>{}", evil_assertion(xml)),
        1,
    );
    assert_rejected(&wrapped, "structure.assertion_count");
}

#[test]
fn xsw_signed_assertion_moved_into_extensions_is_rejected() {
    let xml = signed_default();
    let original = slice_element(xml, ASSERTION_OPEN, "</saml:Assertion>");
    let wrapped = xml.replacen(original, &evil_assertion(xml), 1).replacen(
        "<samlp:Status>",
        &format!("<samlp:Extensions>{original}</samlp:Extensions><samlp:Status>"),
        1,
    );
    assert_rejected(&wrapped, "structure.assertion_count");
}

#[test]
fn xsw_signed_assertion_moved_into_signature_object_is_rejected() {
    let xml = signed_default();
    let original = slice_element(xml, ASSERTION_OPEN, "</saml:Assertion>");
    let sig = slice_element(original, "<ds:Signature", "</ds:Signature>");
    let evil_with_sig = evil_assertion(xml).replacen(
        EVIL_SIG_SLOT,
        &sig.replacen(
            "</ds:Signature>",
            &format!(
                "<ds:Object>{}</ds:Object></ds:Signature>",
                original.replacen(sig, "", 1)
            ),
            1,
        ),
        1,
    );
    let wrapped = xml.replacen(original, &evil_with_sig, 1);
    assert_rejected(&wrapped, "structure.assertion_count");
}

#[test]
fn xsw_evil_assertion_reusing_the_signed_id_is_rejected() {
    let xml = signed_default();
    let evil = evil_assertion(xml).replacen("_evil-1", "_assert-9b2e41", 1);
    let wrapped = xml.replacen(ASSERTION_OPEN, &format!("{evil}{ASSERTION_OPEN}"), 1);
    assert_rejected(&wrapped, "structure.duplicate_id");
}

#[test]
fn xsw_signature_transplanted_onto_evil_assertion_is_rejected() {
    let xml = signed_default();
    let original = slice_element(xml, ASSERTION_OPEN, "</saml:Assertion>");
    let sig = slice_element(original, "<ds:Signature", "</ds:Signature>");
    let evil = evil_assertion(xml).replacen(EVIL_SIG_SLOT, sig, 1);
    assert!(evil.contains("<ds:Signature"));
    assert_rejected(
        &xml.replacen(original, &evil, 1),
        "signature.reference_mismatch",
    );
}

#[test]
fn xsw_response_signature_only_with_injected_unsigned_assertion_is_rejected() {
    let xml = Fixture::new()
        .assertion_sig(None)
        .response_sig(Some(Sig::default()))
        .build();
    let injected = xml.replacen(
        ASSERTION_OPEN,
        &format!("{}{ASSERTION_OPEN}", evil_assertion(&xml)),
        1,
    );
    let r = with_policy(&injected, |p| p.accept_response_signature = true);
    assert_rejected_with(r, "structure.assertion_count");
    // Replacing (rather than adding) the assertion breaks the Response digest.
    let original = slice_element(&xml, ASSERTION_OPEN, "</saml:Assertion>");
    let replaced = xml.replacen(
        original,
        &evil_assertion(&xml).replacen("_evil-1", "_assert-9b2e41", 1),
        1,
    );
    assert_rejected_with(
        with_policy(&replaced, |p| p.accept_response_signature = true),
        "signature.invalid",
    );
}

#[test]
fn xsw_signed_response_wrapped_inside_evil_response_is_rejected() {
    // XSW1/2: a new root Response carries the evil assertion; the original signed Response sits
    // inside the copied Signature's Object.
    let xml = Fixture::new()
        .assertion_sig(None)
        .response_sig(Some(Sig::default()))
        .build();
    let body = xml.trim_start_matches(|c| c != '\n').trim_start();
    let sig = slice_element(body, "<ds:Signature", "</ds:Signature>");
    let evil_root = body
        .replacen("_resp-1f0c6a", "_evil-root", 1)
        .replacen("_assert-9b2e41", "_evil-1", 1)
        .replacen(
            ">alice@example.com</saml:NameID>",
            ">admin@example.com</saml:NameID>",
            1,
        )
        .replacen(
            sig,
            &sig.replacen(
                "</ds:Signature>",
                &format!("<ds:Object>{body}</ds:Object></ds:Signature>"),
                1,
            ),
            1,
        );
    assert_rejected_with(
        with_policy(&evil_root, |p| p.accept_response_signature = true),
        "structure.assertion_count",
    );
}
