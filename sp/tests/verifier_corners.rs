//! Protocol corners (issue 8): unknown conditions, empty NameIDs, repeated attributes, assertions
//! nested in `<Advice>`, and IssueInstant against a backdated Conditions window. Fixtures are
//! signed by the `xmlsec1` command (see `verifier_support`).

mod verifier_support;

use sp::verify::{VerifyPolicy, verify_response};
use time::Duration;
use verifier_support::*;

const ASSERTION_OPEN: &str = r#"<saml:Assertion ID="_assert-9b2e41""#;
const CONDITIONS_END: &str = "</saml:AudienceRestriction>\n    </saml:Conditions>";

fn with_policy(
    xml: &str,
    f: impl FnOnce(&mut VerifyPolicy),
) -> Result<sp::verify::VerifiedResponse, sp::reason::Rejection> {
    let mut p = policy();
    f(&mut p);
    verify_response(xml.as_bytes(), &p, NOW)
}

/// The fixture with `condition` added to Conditions after the AudienceRestriction.
fn with_condition(condition: &str) -> String {
    Fixture::new()
        .edit(
            CONDITIONS_END,
            &format!("</saml:AudienceRestriction>{condition}\n    </saml:Conditions>"),
        )
        .build()
}

// ---------------------------------------------------------------------------------------------
// Conditions (SAML core §2.5.1.5–2.5.1.7)

#[test]
fn xsi_typed_condition_is_refused_as_unsupported() {
    let xml = with_condition(
        r#"<saml:Condition xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:del="urn:oasis:names:tc:SAML:2.0:conditions:delegation" xsi:type="del:DelegationRestrictionType"><del:Delegate><saml:NameID>https://proxy.test/</saml:NameID></del:Delegate></saml:Condition>"#,
    );
    let r = assert_rejected(&xml, "conditions.unsupported");
    assert!(
        r.message.contains("DelegationRestrictionType"),
        "{}",
        r.message
    );
}

#[test]
fn foreign_element_in_conditions_is_refused_as_unsupported() {
    let xml = with_condition(r#"<ext:OnlyOnTuesdays xmlns:ext="urn:example:conditions"/>"#);
    let r = assert_rejected(&xml, "conditions.unsupported");
    assert!(r.message.contains("OnlyOnTuesdays"), "{}", r.message);
}

#[test]
fn one_time_use_is_not_refused_as_unsupported() {
    verify(&with_condition("<saml:OneTimeUse/>")).expect("OneTimeUse is a known condition");
}

#[test]
fn proxy_restriction_is_accepted_since_this_sp_issues_no_assertions() {
    let v = verify(&with_condition(
        r#"<saml:ProxyRestriction Count="0"><saml:Audience>https://proxy.test/</saml:Audience></saml:ProxyRestriction>"#,
    ))
    .expect("accepted");
    assert_eq!(
        v.audiences,
        [SP_ENTITY_ID],
        "a ProxyRestriction's Audience is not an audience of this assertion"
    );
    verify(&with_condition("<saml:ProxyRestriction/>")).expect("Count and Audience are optional");
}

#[test]
fn malformed_proxy_restriction_is_refused() {
    for bad in [
        r#"<saml:ProxyRestriction Count="-1"/>"#,
        r#"<saml:ProxyRestriction Count="many"/>"#,
        r#"<saml:ProxyRestriction><saml:Audience>  </saml:Audience></saml:ProxyRestriction>"#,
    ] {
        assert_rejected(&with_condition(bad), "structure.malformed");
    }
}

// ---------------------------------------------------------------------------------------------
// NameID

const NAME_ID: &str = ">alice@example.com</saml:NameID>";

#[test]
fn empty_name_id_is_refused() {
    for empty in ["></saml:NameID>", "> \t\r\n </saml:NameID>"] {
        let xml = Fixture::new().edit(NAME_ID, empty).build();
        assert_rejected(&xml, "subject.name_id_empty");
    }
}

#[test]
fn nbsp_padded_name_id_is_not_trimmed_into_another_identity() {
    let xml = Fixture::new()
        .edit(NAME_ID, ">admin@example.com\u{00A0}</saml:NameID>")
        .build();
    let v = verify(&xml).expect("accepted: NBSP is content, not XML whitespace");
    assert_eq!(v.name_id.as_deref(), Some("admin@example.com\u{00A0}"));
    // Only NBSP: not XML whitespace, so not empty either (it is some IdP's odd identifier).
    let xml = Fixture::new()
        .edit(NAME_ID, ">\u{00A0}</saml:NameID>")
        .build();
    assert_eq!(
        verify(&xml).expect("accepted").name_id.as_deref(),
        Some("\u{00A0}")
    );
}

#[test]
fn issuer_and_audience_are_trimmed_of_xml_whitespace_only() {
    let xml = Fixture::new()
        .edit(
            "<saml:Audience>https://sp.test/metadata</saml:Audience>",
            "<saml:Audience>\n  https://sp.test/metadata\u{00A0}</saml:Audience>",
        )
        .build();
    assert_rejected(&xml, "audience.mismatch");
}

// ---------------------------------------------------------------------------------------------
// Repeated attributes

const GROUPS_END: &str =
    "<saml:AttributeValue>admins</saml:AttributeValue>\n      </saml:Attribute>";

fn with_second_groups(name_format: &str) -> String {
    Fixture::new()
        .edit(
            GROUPS_END,
            &format!(
                "{GROUPS_END}<saml:Attribute Name=\"groups\"{name_format}><saml:AttributeValue>auditors</saml:AttributeValue></saml:Attribute>"
            ),
        )
        .build()
}

#[test]
fn repeated_attribute_name_is_refused_by_default() {
    let r = assert_rejected(&with_second_groups(""), "attribute.duplicate");
    assert!(r.message.contains("groups"), "{}", r.message);
}

#[test]
fn repeated_attribute_name_with_another_name_format_is_refused_too() {
    assert_rejected(
        &with_second_groups(r#" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic""#),
        "attribute.duplicate",
    );
}

#[test]
fn repeated_attribute_in_a_second_statement_is_refused() {
    let xml = Fixture::new()
        .edit(
            "</saml:AttributeStatement>",
            "</saml:AttributeStatement><saml:AttributeStatement><saml:Attribute Name=\"groups\"><saml:AttributeValue>auditors</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>",
        )
        .build();
    assert_rejected(&xml, "attribute.duplicate");
}

#[test]
fn repeated_attribute_values_are_merged_when_configured() {
    let v = with_policy(&with_second_groups(""), |p| {
        p.merge_duplicate_attributes = true
    })
    .expect("merged");
    assert_eq!(
        v.attribute_values("groups"),
        ["staff", "admins", "auditors"]
    );
    assert_eq!(
        v.attributes.iter().filter(|a| a.name == "groups").count(),
        1,
        "one Attribute per Name after merging"
    );
}

// ---------------------------------------------------------------------------------------------
// Assertions nested in <Advice> (SAML core §2.3.3, §2.6)

/// An unsigned assertion naming `admin@example.com`, to nest in Advice.
fn advice_assertion(id: &str) -> String {
    format!(
        r#"<saml:Assertion ID="{id}" Version="2.0" IssueInstant="2029-12-31T23:59:50Z"><saml:Issuer>https://other-idp.test/</saml:Issuer><saml:Subject><saml:NameID>admin@example.com</saml:NameID></saml:Subject><saml:AttributeStatement><saml:Attribute Name="groups"><saml:AttributeValue>superusers</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>"#
    )
}

fn with_advice(advice: &str) -> String {
    Fixture::new()
        .edit(
            "<saml:AttributeStatement>",
            &format!("<saml:Advice>{advice}</saml:Advice>\n    <saml:AttributeStatement>"),
        )
        .build()
}

#[test]
fn assertion_nested_in_advice_is_accepted_and_never_read() {
    let xml = with_advice(&advice_assertion("_advice-1"));
    let v = verify(&xml).expect("an Advice assertion is allowed");
    assert_eq!(v.assertion_id, "_assert-9b2e41");
    assert_eq!(v.name_id.as_deref(), Some("alice@example.com"));
    assert_eq!(v.attribute_values("groups"), ["staff", "admins"]);
}

#[test]
fn assertions_nested_deeper_in_advice_and_encrypted_advice_are_accepted() {
    let inner = advice_assertion("_advice-2");
    let outer = advice_assertion("_advice-1").replacen(
        "<saml:AttributeStatement>",
        &format!("<saml:Advice>{inner}</saml:Advice><saml:AttributeStatement>"),
        1,
    );
    let encrypted = r#"<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>"#;
    let v = verify(&with_advice(&format!("{outer}{encrypted}"))).expect("accepted");
    assert_eq!(v.name_id.as_deref(), Some("alice@example.com"));
}

#[test]
fn advice_assertion_reusing_the_signed_id_is_refused() {
    // Edited after signing (xmlsec1 refuses to sign a document with a duplicate ID); the duplicate
    // is refused before any digest is computed.
    let xml = with_advice(&advice_assertion("_advice-1")).replacen(
        r#"ID="_advice-1""#,
        r#"ID="_assert-9b2e41""#,
        1,
    );
    assert_rejected(&xml, "structure.duplicate_id");
}

#[test]
fn xsw_signed_assertion_hidden_in_the_advice_of_an_evil_one_is_refused() {
    // The nested assertion's valid signature must not count for the outer one: only the direct
    // child of the Response is a signature target.
    let xml = signed_default();
    let original = slice_element(xml, ASSERTION_OPEN, "</saml:Assertion>");
    let evil = original
        .replacen(
            slice_element(original, "<ds:Signature", "</ds:Signature>"),
            "",
            1,
        )
        .replacen("_assert-9b2e41", "_evil-1", 1)
        .replacen(NAME_ID, ">admin@example.com</saml:NameID>", 1)
        .replacen(
            "<saml:AttributeStatement>",
            &format!("<saml:Advice>{original}</saml:Advice><saml:AttributeStatement>"),
            1,
        );
    assert_rejected(&xml.replacen(original, &evil, 1), "signature.missing");
    // With the IdP's signature copied onto the evil assertion, its Reference names the hidden one.
    let sig = slice_element(original, "<ds:Signature", "</ds:Signature>");
    let evil_signed = evil.replacen(
        "<saml:Issuer>https://idp.test/metadata</saml:Issuer>",
        &format!("<saml:Issuer>https://idp.test/metadata</saml:Issuer>{sig}"),
        1,
    );
    assert_rejected(
        &xml.replacen(original, &evil_signed, 1),
        "signature.reference_mismatch",
    );
}

#[test]
fn second_assertion_outside_the_signed_advice_is_still_refused() {
    let xml = signed_default();
    let extra = advice_assertion("_extra-1");
    // Beside the signed one, in Extensions, in Status, and in an Advice that is not the signed
    // assertion's (inside Extensions).
    for wrapped in [
        xml.replacen(ASSERTION_OPEN, &format!("{extra}{ASSERTION_OPEN}"), 1),
        xml.replacen(
            "<samlp:Status>",
            &format!("<samlp:Extensions>{extra}</samlp:Extensions><samlp:Status>"),
            1,
        ),
        xml.replacen(
            "</samlp:Status>",
            &format!("<samlp:StatusDetail>{extra}</samlp:StatusDetail></samlp:Status>"),
            1,
        ),
        xml.replacen(
            "<samlp:Status>",
            &format!(
                "<samlp:Extensions><saml:Advice>{extra}</saml:Advice></samlp:Extensions><samlp:Status>"
            ),
            1,
        ),
    ] {
        assert_ne!(wrapped, xml);
        assert_rejected(&wrapped, "structure.assertion_count");
    }
}

#[test]
fn advice_outside_the_signed_assertion_subtree_is_refused_even_inside_its_subject() {
    // Advice is only the direct child of the Assertion; an Advice element elsewhere in the
    // assertion (here inside SubjectConfirmationData, which allows any element) does not count.
    let xml = Fixture::new()
        .edit(
            r#"Recipient="https://sp.test/saml/acs"/>"#,
            &format!(
                r#"Recipient="https://sp.test/saml/acs"><saml:Advice>{}</saml:Advice></saml:SubjectConfirmationData>"#,
                advice_assertion("_advice-1")
            ),
        )
        .build();
    assert_rejected(&xml, "structure.assertion_count");
}

// ---------------------------------------------------------------------------------------------
// IssueInstant against a backdated window (Okta, OneLogin)

/// Okta-style: NotBefore five minutes before IssueInstant (23:59:50).
fn backdated() -> String {
    Fixture::new()
        .edit(
            r#"NotBefore="2029-12-31T23:59:00Z""#,
            r#"NotBefore="2029-12-31T23:54:50Z""#,
        )
        .build()
}

#[test]
fn backdated_window_is_accepted_by_an_sp_clock_four_minutes_behind() {
    let issue = NOW - Duration::seconds(10);
    verify_response(
        backdated().as_bytes(),
        &policy(),
        issue - Duration::minutes(4),
    )
    .expect("the window started before now; IssueInstant alone must not refuse");
}

#[test]
fn without_backdating_an_issue_instant_beyond_skew_is_still_refused() {
    let issue = NOW - Duration::seconds(10);
    // NotBefore (23:59:00) is 50 s before IssueInstant: 4 minutes behind is beyond the window.
    assert_rejected_with(
        verify_response(
            signed_default().as_bytes(),
            &policy(),
            issue - Duration::minutes(4),
        ),
        "time.not_yet_valid",
    );
}

#[test]
fn issue_instant_far_in_the_future_is_refused_whatever_the_window() {
    // NotBefore a day back does not license an IssueInstant an hour ahead.
    let xml = Fixture::new()
        .edit(
            r#"NotBefore="2029-12-31T23:59:00Z""#,
            r#"NotBefore="2029-12-31T00:00:00Z""#,
        )
        .edit(
            r#"<saml:Assertion ID="_assert-9b2e41" Version="2.0" IssueInstant="2029-12-31T23:59:50Z""#,
            r#"<saml:Assertion ID="_assert-9b2e41" Version="2.0" IssueInstant="2030-01-01T01:00:00Z""#,
        )
        .edit(
            r#"NotOnOrAfter="2030-01-01T00:05:00Z">"#,
            r#"NotOnOrAfter="2030-01-01T02:00:00Z">"#,
        )
        .build();
    assert_rejected(&xml, "time.not_yet_valid");
}

#[test]
fn issue_instant_after_the_window_ends_is_refused() {
    // Within skew plus backdating of now, but issued after its own NotOnOrAfter.
    let xml = Fixture::new()
        .edit(
            r#"NotBefore="2029-12-31T23:59:00Z""#,
            r#"NotBefore="2029-12-31T23:55:00Z""#,
        )
        .edit(
            r#"<saml:Assertion ID="_assert-9b2e41" Version="2.0" IssueInstant="2029-12-31T23:59:50Z""#,
            r#"<saml:Assertion ID="_assert-9b2e41" Version="2.0" IssueInstant="2030-01-01T00:06:00Z""#,
        )
        .build();
    let r = assert_rejected(&xml, "time.expired");
    assert!(r.message.contains("NotOnOrAfter"), "{}", r.message);
}

#[test]
fn response_issue_instant_gets_the_same_allowance_and_no_more() {
    let issue = NOW - Duration::seconds(10);
    let lagging = issue - Duration::minutes(4);
    // Response IssueInstant equal to the Assertion's: accepted (above). Ten minutes later: refused.
    let xml = Fixture::new()
        .edit(
            r#"NotBefore="2029-12-31T23:59:00Z""#,
            r#"NotBefore="2029-12-31T23:54:50Z""#,
        )
        .edit(
            r#"ID="_resp-1f0c6a" Version="2.0" IssueInstant="2029-12-31T23:59:50Z""#,
            r#"ID="_resp-1f0c6a" Version="2.0" IssueInstant="2030-01-01T00:09:50Z""#,
        )
        .build();
    assert_rejected_with(
        verify_response(xml.as_bytes(), &policy(), lagging),
        "time.not_yet_valid",
    );
}

// ---------------------------------------------------------------------------------------------
// Identity: only XML whitespace is trimmed

const MINIMAL_CONFIG: &str = r#"
[sp]
base_url = "https://sp.test"
[idp]
entity_id = "https://idp.test/metadata"
sso_url = "https://idp.test/sso"
certificate_pem = "-----BEGIN CERTIFICATE-----"
"#;

#[test]
fn identity_values_keep_unicode_spaces_and_lose_xml_whitespace() {
    let xml = Fixture::new()
        .edit(NAME_ID, ">alice@example.com\u{2003}</saml:NameID>")
        .edit(
            "<saml:Attribute Name=\"groups\">",
            "<saml:Attribute Name=\"login_id\"><saml:AttributeValue>\t admin\u{00A0}\r\n</saml:AttributeValue></saml:Attribute><saml:Attribute Name=\"groups\">",
        )
        .build();
    let v = verify(&xml).expect("accepted");
    let config = sp::config::SpConfig::from_toml(MINIMAL_CONFIG).expect("config");
    let identity = sp::identity::resolve(&v, &config).expect("resolved");
    assert_eq!(identity.login.as_deref(), Some("admin\u{00A0}"));
    assert_eq!(identity.subject, "alice@example.com\u{2003}");
    // The e-mail falls back to the emailAddress NameID, untrimmed too.
    assert_eq!(identity.email, "alice@example.com\u{2003}");
}

// ---------------------------------------------------------------------------------------------
// Names that two XML layers read differently (issue 10: "The Fragile Lock", CVE-2025-25292)

/// The signed default response with `element` inserted (after signing, as an attacker would)
/// just before the signed assertion.
fn with_before_assertion(element: &str) -> String {
    signed_default().replacen(ASSERTION_OPEN, &format!("{element}{ASSERTION_OPEN}"), 1)
}

/// An unsigned assertion for `attacker@evil.example` whose `saml` prefix is bound to `href`.
fn evil_assertion_in(href: &str) -> String {
    format!(
        r#"<saml:Assertion xmlns:saml="{href}" ID="_evil-1" Version="2.0" IssueInstant="2029-12-31T23:59:50Z"><saml:Issuer>https://idp.test/metadata</saml:Issuer><saml:Subject><saml:NameID>attacker@evil.example</saml:NameID></saml:Subject></saml:Assertion>"#
    )
}

#[test]
fn an_evil_assertion_in_a_look_alike_or_foreign_namespace_is_refused() {
    for href in [
        "urn:oasis:names:tc:SAML:2.0:assertion/",
        "urn:oasis:names:tc:SAML:2.0:Assertion",
        "urn:samlconf:attack:not-saml",
    ] {
        let r = assert_rejected(
            &with_before_assertion(&evil_assertion_in(href)),
            "structure.malformed",
        );
        assert!(r.message.contains(href), "{href}: {}", r.message);
    }
}

#[test]
fn a_foreign_child_of_the_response_is_refused_but_extensions_may_carry_one() {
    let foreign = r#"<ext:Note xmlns:ext="urn:example:ext">hello</ext:Note>"#;
    assert_rejected(&with_before_assertion(foreign), "structure.malformed");
    let in_extensions = signed_default().replacen(
        "<samlp:Status>",
        &format!("<samlp:Extensions>{foreign}</samlp:Extensions><samlp:Status>"),
        1,
    );
    verify(&in_extensions).expect("samlp:Extensions may carry any foreign element");
}

#[test]
fn an_id_attribute_in_a_namespace_repeating_the_signed_id_is_refused() {
    let on_response = signed_default().replacen(
        r#"ID="_resp-1f0c6a""#,
        r#"ID="_resp-1f0c6a" saml:ID="_assert-9b2e41""#,
        1,
    );
    let r = assert_rejected(&on_response, "structure.duplicate_id");
    assert!(r.message.contains("_assert-9b2e41"), "{}", r.message);
    let on_evil = with_before_assertion(
        &evil_assertion_in("urn:oasis:names:tc:SAML:2.0:assertion").replacen(
            r#"ID="_evil-1""#,
            r#"ID="_evil-1" samlp:ID="_assert-9b2e41""#,
            1,
        ),
    );
    assert_rejected(&on_evil, "structure.duplicate_id");
}
