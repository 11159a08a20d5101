//! Every profile mints, and each one's distinguishing fault is in the XML.

mod common;

use common::{ACS_URL, REQUEST_ID, SP_ENTITY_ID, mint, mint_for, profile};
use mock_idp::profiles;
use mock_idp::users;

/// `(profile, what must appear, what must not)`: the fault, and the conformant value it replaces.
const FAULTS: &[(&str, &[&str], &[&str])] = &[
    (
        "valid",
        &[
            r#"IssueInstant="2026-01-01T00:00:00Z""#,
            "<saml:Audience>http://127.0.0.1:8080/saml/metadata</saml:Audience>",
        ],
        &[],
    ),
    (
        "sha1",
        &[
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "http://www.w3.org/2000/09/xmldsig#sha1",
        ],
        &["rsa-sha256", "xmlenc#sha256"],
    ),
    (
        "wrong-audience",
        &["<saml:Audience>https://evil.example/saml/metadata</saml:Audience>"],
        &["<saml:Audience>http://127.0.0.1"],
    ),
    (
        "skewed-clock",
        &[
            r#"IssueInstant="2026-01-01T00:10:00Z""#,
            r#"NotBefore="2026-01-01T00:10:00Z""#,
            r#"AuthnInstant="2026-01-01T00:10:00Z""#,
        ],
        &["2026-01-01T00:00:00Z"],
    ),
    (
        "skewed-clock-within-tolerance",
        &[
            r#"IssueInstant="2026-01-01T00:01:00Z""#,
            r#"NotOnOrAfter="2026-01-01T00:06:00Z""#,
        ],
        &["2026-01-01T00:00:00Z"],
    ),
    (
        "missing-groups",
        &["Name=\"mail\""],
        &["Name=\"groups\"", ">admins<"],
    ),
    (
        "entra-guid-groups",
        &[
            r#"Name="http://schemas.microsoft.com/ws/2008/06/identity/claims/groups""#,
            "<saml:AttributeValue>5f2c8e4a-1d3b-4c6e-9a7f-0b1d2e3f4a5b</saml:AttributeValue>",
            r#"Name="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress""#,
        ],
        &[">admins<", "Name=\"mail\""],
    ),
    (
        "entra-group-overage",
        &[
            r#"Name="http://schemas.microsoft.com/claims/groups.link""#,
            "<saml:AttributeValue>https://graph.windows.net/8c1a6f3e-2b4d-4e5f-9a0b-1c2d3e4f5a6b/users/",
            "/getMemberObjects</saml:AttributeValue>",
        ],
        &[
            "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
            ">admins<",
            "5f2c8e4a-1d3b-4c6e-9a7f-0b1d2e3f4a5b",
        ],
    ),
    (
        "unsigned",
        &["<saml:Assertion"],
        &["ds:Signature", "SignatureValue"],
    ),
    ("wrong-key", &["ds:SignatureValue"], &[]),
    (
        "expired",
        &[
            r#"IssueInstant="2025-12-31T23:40:00Z""#,
            r#"NotOnOrAfter="2025-12-31T23:45:00Z""#,
        ],
        &["2026-01-01T00:05:00Z"],
    ),
    (
        "wrong-destination",
        &[
            r#"Destination="https://evil.example/saml/acs""#,
            r#"Recipient="http://127.0.0.1:8080/saml/acs""#,
        ],
        &[],
    ),
    (
        "wrong-recipient",
        &[
            r#"Recipient="https://evil.example/saml/acs""#,
            r#"Destination="http://127.0.0.1:8080/saml/acs""#,
        ],
        &[],
    ),
    (
        "sign-response",
        &["<ds:Reference URI=\"#_0000000000000000000000000000000000000001\">"],
        &["URI=\"#_0000000000000000000000000000000000000002\""],
    ),
    (
        "sign-both",
        &[
            "URI=\"#_0000000000000000000000000000000000000001\"",
            "URI=\"#_0000000000000000000000000000000000000002\"",
        ],
        &[],
    ),
    (
        "wrong-issuer",
        &["https://evil.example/idp</saml:Issuer>"],
        &["http://127.0.0.1:8081/metadata</saml:Issuer>"],
    ),
    (
        "no-audience-restriction",
        &["<saml:Conditions NotBefore"],
        &["AudienceRestriction", "<saml:Audience>"],
    ),
    ("unsolicited", &["<saml:Assertion"], &["InResponseTo"]),
    (
        "wrong-in-response-to",
        &[r#"InResponseTo="_0000000000000000000000000000000000000bad""#],
        &[REQUEST_ID],
    ),
    (
        "authn-failed",
        &[
            "status:Responder\">",
            "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed",
        ],
        &["<saml:Assertion", "status:Success"],
    ),
    (
        "no-session-expiry",
        &["SessionIndex="],
        &["SessionNotOnOrAfter"],
    ),
    (
        "shotgun-attributes",
        &["Name=\"login_id\"", ">alice<", "Name=\"access\"", ">true<"],
        &["Name=\"mail\""],
    ),
    // Encrypted output is randomised, so only its shape is checked here; tests/encryption.rs
    // decrypts each one with xmlsec1 and shows the fault (wrong key, corruption, no signature).
    (
        "encrypted",
        &[
            "<saml:EncryptedAssertion>",
            "http://www.w3.org/2009/xmlenc11#aes256-gcm",
            "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
        ],
        &["<saml:Assertion", "alice@example.com", "rsa-sha1"],
    ),
    (
        "encrypted-sha1",
        &["<saml:EncryptedAssertion>"],
        &["<saml:Assertion", "alice@example.com"],
    ),
    (
        "encrypted-unsigned",
        &["<saml:EncryptedAssertion>"],
        &["<saml:Assertion", "ds:Signature"],
    ),
    (
        "encrypted-attacker-signed",
        &["<saml:EncryptedAssertion>"],
        &["<saml:Assertion", "alice@example.com"],
    ),
    (
        "encrypted-wrong-key",
        &["<saml:EncryptedAssertion>"],
        &["<saml:Assertion", "alice@example.com"],
    ),
    (
        "encrypted-corrupt",
        &["<saml:EncryptedAssertion>"],
        &["<saml:Assertion", "alice@example.com"],
    ),
    // Signature wrapping: the signed assertion stays; tests/attacks.rs checks each structure and
    // that the IdP's signature still verifies.
    (
        "xsw-evil-before",
        &[
            ">attacker@evil.example</saml:NameID>",
            ">alice@example.com</saml:NameID>",
        ],
        &["<samlp:Extensions>"],
    ),
    (
        "xsw-evil-after",
        &[
            ">attacker@evil.example</saml:NameID>",
            ">alice@example.com</saml:NameID>",
        ],
        &["<samlp:Extensions>"],
    ),
    (
        "xsw-extensions",
        &["<samlp:Extensions>", ">attacker@evil.example</saml:NameID>"],
        &[],
    ),
    (
        "xsw-signature-object",
        &["<ds:Object>", ">attacker@evil.example</saml:NameID>"],
        &["<samlp:Extensions>"],
    ),
    (
        "xsw-evil-wraps-signed",
        &[
            ">attacker@evil.example</saml:NameID>",
            ">alice@example.com</saml:NameID>",
        ],
        &["<samlp:Extensions>", "<ds:Object>"],
    ),
    (
        "xsw-duplicate-id",
        &[
            ">attacker@evil.example</saml:NameID>",
            r#"ID="_0000000000000000000000000000000000000002""#,
        ],
        &["_evil"],
    ),
    (
        "xsw-signed-in-advice",
        &["<saml:Advice>", ">attacker@evil.example</saml:NameID>"],
        &[],
    ),
    (
        "comment-truncation",
        &[">alice@example.com<!---->.evil.example</saml:NameID>"],
        &["attacker@evil.example"],
    ),
    (
        "xsw1-response-copy-in-signature",
        &[
            r#"ID="_evil0000000000000000000000000000000000000001""#,
            "</samlp:Response></ds:Signature>",
        ],
        &[],
    ),
    (
        "xsw2-response-copy-before-signature",
        &[
            r#"ID="_evil0000000000000000000000000000000000000001""#,
            "</samlp:Response><ds:Signature",
        ],
        &[],
    ),
    (
        "xsw5-original-copy-at-end",
        &[
            "</saml:Assertion></samlp:Response>",
            ">attacker@evil.example</saml:NameID>",
        ],
        &[],
    ),
    (
        "xsw6-original-copy-in-signature",
        &["</saml:Assertion></ds:Signature>"],
        &[],
    ),
    (
        "xsw7-evil-in-unqualified-extensions",
        &["<Extensions><saml:Assertion"],
        &["samlp:Extensions"],
    ),
    (
        "xsw8-original-copy-in-unqualified-object",
        &["<Object><saml:Assertion"],
        &["ds:Object", "_evil"],
    ),
    (
        "signature-removed",
        &[">attacker@evil.example</saml:NameID>"],
        &["ds:Signature"],
    ),
    ("empty-signature-value", &["<ds:SignatureValue/>"], &[]),
    (
        "response-signature-moved-into-assertion",
        &[r##"URI="#_0000000000000000000000000000000000000001""##],
        &[],
    ),
    (
        "xml-id-on-response",
        &[r#"xml:id="_0000000000000000000000000000000000000002""#],
        &[],
    ),
    (
        "nested-response-in-extensions",
        &[r#"<samlp:Extensions><samlp:Response ID="_0000000000000000000000000000000000000002""#],
        &[],
    ),
    (
        "nested-response-in-key-info",
        &[r#"<samlp:Response ID="_0000000000000000000000000000000000000002""#],
        &["samlp:Extensions"],
    ),
    (
        "id-via-entity",
        &[
            "<!DOCTYPE response [",
            r#"ID="&idViaEntity;""#,
            r#"ID="&BypassIDUniqueness;_0"#,
        ],
        &[],
    ),
    (
        "second-signed-info",
        &["</ds:SignedInfo><ds:SignedInfo"],
        &[],
    ),
    ("digest-value-comment", &["<ds:DigestValue><!--"], &[]),
    (
        "samlify-signed-response-inside-evil",
        &[
            r#"ID="_evil0000000000000000000000000000000000000001""#,
            r#"<samlp:Response xmlns:samlp"#,
        ],
        &[],
    ),
    (
        "duplicate-namespace-declaration",
        &[
            r#"xmlns:saml="urn:samlconf:attack:not-saml" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion""#,
        ],
        &[],
    ),
    (
        "evil-assertion-namespace-trailing-slash",
        &[r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion/""#],
        &[],
    ),
    (
        "evil-assertion-namespace-upper-case",
        &[r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:Assertion""#],
        &[],
    ),
    (
        "evil-assertion-namespace-homoglyph",
        &["xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:\u{430}ssertion\""],
        &[],
    ),
    (
        "evil-assertion-foreign-namespace",
        &[r#"<saml:Assertion xmlns:saml="urn:samlconf:attack:not-saml""#],
        &[],
    ),
    (
        "prefixed-id-on-evil-assertion",
        &[r#"samlp:ID="_0000000000000000000000000000000000000002""#],
        &[],
    ),
    (
        "prefixed-id-on-response",
        &[r#"saml:ID="_0000000000000000000000000000000000000002""#],
        &[],
    ),
    (
        "samlify-signed-assertion-in-logout-request",
        &["<samlp:LogoutRequest ", "</samlp:LogoutRequest>"],
        &["<samlp:Response", "<samlp:Status"],
    ),
    (
        "samlify-signed-assertion-in-authn-request",
        &["<samlp:AuthnRequest ", "</samlp:AuthnRequest>"],
        &["<samlp:Response", "<samlp:Status"],
    ),
];

#[test]
fn every_profile_shows_its_fault() {
    for (name, _) in profiles::ALL {
        let (_, present, absent) = FAULTS
            .iter()
            .find(|(fault, _, _)| fault == name)
            .unwrap_or_else(|| panic!("profile {name} has no entry in FAULTS"));
        let xml = mint(&profile(name)).xml;
        for needle in *present {
            assert!(
                xml.contains(needle),
                "profile {name}: missing {needle}\n{xml}"
            );
        }
        for needle in *absent {
            assert!(
                !xml.contains(needle),
                "profile {name}: unexpected {needle}\n{xml}"
            );
        }
    }
    assert_eq!(
        FAULTS.len(),
        profiles::ALL.len(),
        "FAULTS lists a profile that does not exist"
    );
}

#[test]
fn wrong_key_carries_a_different_certificate_than_valid() {
    let cert = |xml: &str| {
        let start = xml.find("<ds:X509Certificate>").expect("certificate");
        xml[start..start + 200].to_owned()
    };
    assert_ne!(
        cert(&mint(&profile("wrong-key")).xml),
        cert(&mint(&profile("valid")).xml)
    );
}

#[test]
fn valid_answers_the_request_for_the_right_sp() {
    let minted = mint(&profile("valid"));
    assert!(
        minted
            .xml
            .contains(&format!(r#"InResponseTo="{REQUEST_ID}""#))
    );
    assert!(minted.xml.contains(&format!(r#"Destination="{ACS_URL}""#)));
    assert!(
        minted
            .xml
            .contains(&format!("<saml:Audience>{SP_ENTITY_ID}</saml:Audience>"))
    );
    assert_eq!(
        minted.assertion_id.as_deref(),
        Some("_0000000000000000000000000000000000000002")
    );
}

#[test]
fn group_knobs_and_user_flags() {
    let erin = users::demo_users()
        .into_iter()
        .find(|u| u.login == "erin")
        .expect("erin");
    let shotgun = mint_for(&profile("shotgun-attributes"), &erin).xml;
    assert!(shotgun.contains(">false<"), "erin's access flag is false");
    assert!(
        !shotgun.contains("Name=\"groups\""),
        "a user with no groups gets no groups attribute"
    );

    let mut knobs = profile("valid");
    knobs.set("empty_groups", "true").expect("knob");
    let xml = mint(&knobs).xml;
    assert!(xml.contains(r#"<saml:Attribute Name="groups" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"/>"#), "{xml}");
}

#[test]
fn override_knobs_reach_the_xml() {
    let mut knobs = profile("valid");
    knobs
        .set("assertion_id_override", "_replayed")
        .expect("knob");
    knobs.set("name_id_value", "<b>&\"").expect("knob");
    knobs.set("not_before_offset_secs", "120").expect("knob");
    knobs.set("compact_xml", "true").expect("knob");
    let minted = mint(&knobs);
    assert_eq!(minted.assertion_id.as_deref(), Some("_replayed"));
    assert!(minted.xml.contains(r##"URI="#_replayed""##));
    assert!(
        // As the minter escapes it (the signed text is the minter's, not libxml2's re-serialisation).
        minted.xml.contains(">&lt;b&gt;&amp;&quot;</saml:NameID>"),
        "{}",
        minted.xml
    );
    assert!(minted.xml.contains(r#"NotBefore="2026-01-01T00:02:00Z""#));
    // Past the XML declaration's line break, no line break sits next to a tag.
    let (_, body) = minted.xml.split_once('\n').expect("declaration line");
    let body = body.trim_end();
    assert!(
        !body.contains("\n<") && !body.contains(">\n"),
        "compact_xml left whitespace between elements"
    );
}

#[test]
fn out_of_range_clock_is_an_error_not_a_panic() {
    let mut knobs = profile("valid");
    knobs
        .set("clock_offset_secs", &i64::MAX.to_string())
        .expect("knob");
    let keys = mock_idp::keys::IdpKeys::fixed_for_tests();
    let user = common::alice();
    let ids = mock_idp::mint::CounterIds::new();
    let err = mock_idp::mint::mint_response(&mock_idp::mint::MintParams {
        idp_entity_id: "idp".into(),
        sp_entity_id: "sp".into(),
        acs_url: "acs".into(),
        user: &user,
        in_response_to: None,
        now: common::NOW,
        knobs: &knobs,
        keys: &keys,
        ids: &ids,
        session_index: None,
        sp_encryption_cert_pem: None,
    })
    .expect_err("out of range");
    assert!(err.to_string().contains("clock_offset_secs"), "{err}");
}
