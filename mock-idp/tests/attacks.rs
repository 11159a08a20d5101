//! The attack catalogue's first slice: each `signature_wrapping` variant builds the structure it
//! is named for, and the IdP's signature in it still verifies with an independent implementation
//! (the `xmlsec1` command) when pointed at: "valid signature, wrong element", never a broken one.

mod common;

use std::path::Path;

use common::{mint, profile};
use mock_idp::attacks::{ATTACKER_NAME_ID, SignatureWrapping};
use mock_idp::knobs::{KnobError, Knobs, SignTarget};

/// `(profile, attack)`: every wrapping profile and the variant it applies.
const PROFILES: &[(&str, SignatureWrapping)] = &[
    ("xsw-evil-before", SignatureWrapping::EvilBefore),
    ("xsw-evil-after", SignatureWrapping::EvilAfter),
    ("xsw-extensions", SignatureWrapping::SignedInExtensions),
    (
        "xsw-signature-object",
        SignatureWrapping::SignedInSignatureObject,
    ),
    ("xsw-evil-wraps-signed", SignatureWrapping::EvilWrapsSigned),
    ("xsw-duplicate-id", SignatureWrapping::DuplicateId),
    (
        "xsw-signed-in-advice",
        SignatureWrapping::SignedInEvilAdvice,
    ),
    ("comment-truncation", SignatureWrapping::CommentTruncation),
    (
        "xsw1-response-copy-in-signature",
        SignatureWrapping::ResponseCopyInSignature,
    ),
    (
        "xsw2-response-copy-before-signature",
        SignatureWrapping::ResponseCopyBeforeSignature,
    ),
    (
        "xsw5-original-copy-at-end",
        SignatureWrapping::EvilKeepsSignatureOriginalAtEnd,
    ),
    (
        "xsw6-original-copy-in-signature",
        SignatureWrapping::EvilKeepsSignatureOriginalInSignature,
    ),
    (
        "xsw7-evil-in-unqualified-extensions",
        SignatureWrapping::EvilInUnqualifiedExtensions,
    ),
    (
        "xsw8-original-copy-in-unqualified-object",
        SignatureWrapping::OriginalInUnqualifiedObject,
    ),
    ("signature-removed", SignatureWrapping::SignatureRemoved),
    (
        "empty-signature-value",
        SignatureWrapping::EmptySignatureValue,
    ),
    (
        "response-signature-moved-into-assertion",
        SignatureWrapping::ResponseSignatureMovedIntoAssertion,
    ),
    ("xml-id-on-response", SignatureWrapping::XmlIdOnResponse),
    (
        "nested-response-in-extensions",
        SignatureWrapping::NestedResponseInExtensions,
    ),
    (
        "nested-response-in-key-info",
        SignatureWrapping::NestedResponseInKeyInfo,
    ),
    ("id-via-entity", SignatureWrapping::IdViaEntity),
    ("second-signed-info", SignatureWrapping::SecondSignedInfo),
    (
        "digest-value-comment",
        SignatureWrapping::DigestValueComment,
    ),
    (
        "samlify-signed-response-inside-evil",
        SignatureWrapping::SignedResponseInsideEvil,
    ),
    (
        "duplicate-namespace-declaration",
        SignatureWrapping::DuplicateNamespaceDeclaration,
    ),
    (
        "evil-assertion-namespace-trailing-slash",
        SignatureWrapping::EvilAssertionNamespaceTrailingSlash,
    ),
    (
        "evil-assertion-namespace-upper-case",
        SignatureWrapping::EvilAssertionNamespaceUpperCase,
    ),
    (
        "evil-assertion-namespace-homoglyph",
        SignatureWrapping::EvilAssertionNamespaceHomoglyph,
    ),
    (
        "evil-assertion-foreign-namespace",
        SignatureWrapping::EvilAssertionForeignNamespace,
    ),
    (
        "prefixed-id-on-evil-assertion",
        SignatureWrapping::PrefixedIdOnEvilAssertion,
    ),
    (
        "prefixed-id-on-response",
        SignatureWrapping::PrefixedIdOnResponse,
    ),
    (
        "samlify-signed-assertion-in-logout-request",
        SignatureWrapping::SignedAssertionInLogoutRequest,
    ),
    (
        "samlify-signed-assertion-in-authn-request",
        SignatureWrapping::SignedAssertionInAuthnRequest,
    ),
];

/// The profiles of the original set, whose IdP signature sits on the signed assertion wherever
/// the attack moved it.
const ORIGINAL: usize = 8;

const SIGNED_ID: &str = "_0000000000000000000000000000000000000002";
const EVIL_ID: &str = "_evil0000000000000000000000000000000000000002";

/// Runs `xmlsec1 --verify` on the signature selected by `node_xpath`, with the IdP's public key
/// only (KeyInfo is not trusted); `Err` holds xmlsec1's output.
fn xmlsec1_verify(xml: &str, node_xpath: &str) -> Result<(), String> {
    let cert = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/idp.crt");
    plumbing::xmlsec1::verify(
        xml,
        &cert,
        &["urn:oasis:names:tc:SAML:2.0:assertion:Assertion"],
        Some(node_xpath),
    )
}

fn count(xml: &str, needle: &str) -> usize {
    xml.matches(needle).count()
}

/// The part of `xml` between the first `open` and the next `close` after it.
fn between<'a>(xml: &'a str, open: &str, close: &str) -> &'a str {
    let start = xml
        .find(open)
        .unwrap_or_else(|| panic!("no {open} in\n{xml}"));
    let end = xml[start..]
        .find(close)
        .unwrap_or_else(|| panic!("no {close} after {open} in\n{xml}"));
    &xml[start..start + end]
}

#[test]
fn every_wrapping_profile_applies_its_attack() {
    for (name, attack) in PROFILES {
        assert_eq!(profile(name).signature_wrapping, Some(*attack), "{name}");
    }
    assert_eq!(PROFILES.len(), SignatureWrapping::ALL.len());
}

#[test]
fn the_idp_signature_still_verifies_in_every_variant() {
    // The signature inside the assertion with the signed ID, wherever the attack moved it.
    let original =
        format!("//*[local-name()='Assertion'][@ID='{SIGNED_ID}']/*[local-name()='Signature']");
    for (name, _) in &PROFILES[..ORIGINAL] {
        let mut xml = mint(&profile(name)).xml;
        assert!(xml.contains(&format!(r##"URI="#{SIGNED_ID}""##)), "{name}");
        if *name == "xsw-duplicate-id" {
            // xmlsec1 refuses a document whose ID is declared twice; the signed assertion alone
            // (the evil copy cut out, nothing else touched) still verifies.
            let err = xmlsec1_verify(&xml, &original).expect_err("duplicate ID");
            assert!(err.contains("duplicate ID"), "{err}");
            let evil = between(&xml, "<saml:Assertion ", "</saml:Assertion>").to_owned();
            xml = xml.replacen(&format!("{evil}</saml:Assertion>"), "", 1);
        }
        xmlsec1_verify(&xml, &original).unwrap_or_else(|out| {
            panic!("{name}: the IdP signature no longer verifies:\n{out}\n{xml}")
        });
    }
}

#[test]
fn xsw_evil_before_puts_an_unsigned_evil_assertion_first() {
    let xml = mint(&profile("xsw-evil-before")).xml;
    assert_eq!(count(&xml, "<saml:Assertion "), 2, "{xml}");
    let evil = xml.find(&format!(r#"ID="{EVIL_ID}""#)).expect("evil ID");
    let signed = xml
        .find(&format!(r#"ID="{SIGNED_ID}""#))
        .expect("signed ID");
    assert!(evil < signed, "{xml}");
    let first = between(&xml, "<saml:Assertion ", "</saml:Assertion>");
    assert!(
        first.contains(&format!(">{ATTACKER_NAME_ID}</saml:NameID>")),
        "{first}"
    );
    assert!(!first.contains("ds:Signature"), "{first}");
    assert!(xml.contains(">alice@example.com</saml:NameID>"));
}

#[test]
fn xsw_evil_after_puts_the_evil_assertion_second() {
    let xml = mint(&profile("xsw-evil-after")).xml;
    assert_eq!(count(&xml, "<saml:Assertion "), 2, "{xml}");
    let evil = xml.find(&format!(r#"ID="{EVIL_ID}""#)).expect("evil ID");
    let signed = xml
        .find(&format!(r#"ID="{SIGNED_ID}""#))
        .expect("signed ID");
    assert!(signed < evil, "{xml}");
    let last = &xml[evil..];
    assert!(
        last.contains(ATTACKER_NAME_ID) && !last.contains("ds:Signature"),
        "{xml}"
    );
}

#[test]
fn xsw_extensions_hides_the_signed_assertion_in_extensions() {
    let xml = mint(&profile("xsw-extensions")).xml;
    assert_eq!(count(&xml, "<saml:Assertion "), 2, "{xml}");
    let extensions = between(&xml, "<samlp:Extensions>", "</samlp:Extensions>");
    assert!(
        extensions.contains(&format!(r#"ID="{SIGNED_ID}""#)),
        "{xml}"
    );
    assert!(extensions.contains("<ds:Signature"), "{xml}");
    assert!(
        xml.find("</samlp:Extensions>") < xml.find("<samlp:Status>"),
        "schema order"
    );
    let after = &xml[xml.find("</samlp:Extensions>").expect("end")..];
    assert!(after.contains(&format!(r#"ID="{EVIL_ID}""#)) && after.contains(ATTACKER_NAME_ID));
}

#[test]
fn xsw_signature_object_moves_the_signed_assertion_into_the_signature() {
    let xml = mint(&profile("xsw-signature-object")).xml;
    assert_eq!(count(&xml, "<saml:Assertion "), 2, "{xml}");
    let outer = between(&xml, "<saml:Assertion ", "<ds:Signature ");
    assert!(
        outer.contains(&format!(r#"ID="{EVIL_ID}""#)),
        "the evil assertion comes first:\n{xml}"
    );
    let object = between(&xml, "<ds:Object>", "</ds:Object>");
    assert!(object.contains(&format!(r#"ID="{SIGNED_ID}""#)), "{xml}");
    assert!(object.contains(">alice@example.com</saml:NameID>"), "{xml}");
    let after_signature = &xml[xml.find("</ds:Signature>").expect("end")..];
    assert!(after_signature.contains(ATTACKER_NAME_ID), "{xml}");
}

#[test]
fn xsw_evil_wraps_signed_nests_the_signed_assertion_in_the_evil_one() {
    let xml = mint(&profile("xsw-evil-wraps-signed")).xml;
    assert_eq!(count(&xml, "<saml:Assertion "), 2, "{xml}");
    let evil = xml.find(&format!(r#"ID="{EVIL_ID}""#)).expect("evil ID");
    let signed = xml
        .find(&format!(r#"ID="{SIGNED_ID}""#))
        .expect("signed ID");
    assert!(evil < signed, "{xml}");
    // The evil assertion is still open when the signed one starts: nested, not a sibling.
    assert_eq!(count(&xml[..signed], "</saml:Assertion>"), 0, "{xml}");
    assert_eq!(count(&xml[signed..], "</saml:Assertion>"), 2, "{xml}");
}

#[test]
fn xsw_signed_in_advice_hides_the_signed_assertion_in_the_evil_ones_advice() {
    let xml = mint(&profile("xsw-signed-in-advice")).xml;
    assert_eq!(count(&xml, "<saml:Assertion "), 2, "{xml}");
    let advice = between(&xml, "<saml:Advice>", "</saml:Advice>");
    assert!(advice.contains(&format!(r#"ID="{SIGNED_ID}""#)), "{xml}");
    assert!(advice.contains("ds:Signature"), "{advice}");
    let evil_start = xml.find(&format!(r#"ID="{EVIL_ID}""#)).expect("evil ID");
    assert!(
        evil_start < xml.find("<saml:Advice>").expect("advice"),
        "{xml}"
    );
    assert!(between(&xml, "<saml:Assertion ", "<saml:Advice>").contains(ATTACKER_NAME_ID));
}

#[test]
fn xsw_duplicate_id_reuses_the_signed_id() {
    let xml = mint(&profile("xsw-duplicate-id")).xml;
    assert_eq!(count(&xml, &format!(r#"ID="{SIGNED_ID}""#)), 2, "{xml}");
    let first = between(&xml, "<saml:Assertion ", "</saml:Assertion>");
    assert!(
        first.contains(ATTACKER_NAME_ID) && !first.contains("ds:Signature"),
        "{first}"
    );
}

#[test]
fn comment_truncation_splits_the_signed_name_id_with_a_comment() {
    let xml = mint(&profile("comment-truncation")).xml;
    assert!(
        xml.contains(">alice@example.com<!---->.evil.example</saml:NameID>"),
        "{xml}"
    );
    assert_eq!(count(&xml, "<saml:Assertion "), 1);
    // Without the comment (what was signed) it verifies too: the comment is not signed.
    let plain = xml.replace("<!---->", "");
    xmlsec1_verify(&plain, "//*[local-name()='Signature']").expect("the signed form verifies");
}

#[test]
fn wrapping_refuses_knobs_it_cannot_attack() {
    for sign in [SignTarget::Response, SignTarget::Neither] {
        let knobs = Knobs {
            sign,
            ..profile("xsw-evil-before")
        };
        assert!(
            matches!(knobs.validate(), Err(KnobError::Contradictory(_))),
            "{sign:?}"
        );
    }
    // Both signed: the assertion's signature is still there to wrap (the Response's breaks).
    let both = Knobs {
        sign: SignTarget::Both,
        ..profile("xsw-evil-before")
    };
    assert_eq!(both.validate(), Ok(()));
    let mut encrypted = profile("xsw-extensions");
    encrypted.set("encrypt_assertion", "true").expect("knob");
    assert!(matches!(
        encrypted.validate(),
        Err(KnobError::Contradictory(_))
    ));
    let mut knobs = Knobs::default();
    knobs
        .set("signature_wrapping", "signed-in-extensions")
        .expect("kebab name");
    assert_eq!(
        knobs.signature_wrapping,
        Some(SignatureWrapping::SignedInExtensions)
    );
    assert!(knobs.set("signature_wrapping", "xsw9").is_err());
}

#[test]
fn response_signature_attacks_need_a_signed_response() {
    let both = Knobs {
        sign: SignTarget::Both,
        ..profile("xsw1-response-copy-in-signature")
    };
    assert_eq!(both.validate(), Ok(()), "the Response is signed");
    for sign in [SignTarget::Assertion, SignTarget::Neither] {
        let knobs = Knobs {
            sign,
            ..profile("xsw1-response-copy-in-signature")
        };
        assert!(
            matches!(knobs.validate(), Err(KnobError::Contradictory(_))),
            "{sign:?}"
        );
    }
    assert_eq!(
        profile("xsw2-response-copy-before-signature").validate(),
        Ok(())
    );
}

const RESPONSE_ID_ATTR: &str = "urn:oasis:names:tc:SAML:2.0:protocol:Response";
const ASSERTION_ID_ATTR: &str = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion";

/// Where the element the IdP's Reference names stays outside the signature (so xmlsec's
/// enveloped transform leaves it whole), the IdP's signature still verifies with `xmlsec1`: these
/// are wrappings of a valid signature, not broken ones. (With the copy inside the signature, as
/// in XSW1, 6 and 8, the enveloped transform removes it along with the signature; with a
/// repeated ID, xmlsec1 refuses the document.)
#[test]
fn the_idp_signature_still_verifies_where_the_signed_copy_is_outside_it() {
    let cert = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/idp.crt");
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "xsw2-response-copy-before-signature",
            &[RESPONSE_ID_ATTR],
            "/*/*[local-name()='Signature']",
        ),
        (
            "xsw5-original-copy-at-end",
            &[ASSERTION_ID_ATTR],
            "//*[local-name()='Assertion'][1]/*[local-name()='Signature']",
        ),
        (
            "response-signature-moved-into-assertion",
            &[RESPONSE_ID_ATTR],
            "//*[local-name()='Assertion']/*[local-name()='Signature']",
        ),
        (
            "nested-response-in-extensions",
            &[ASSERTION_ID_ATTR],
            "//*[local-name()='Assertion']/*[local-name()='Signature']",
        ),
        (
            "nested-response-in-key-info",
            &[ASSERTION_ID_ATTR],
            "//*[local-name()='Assertion']/*[local-name()='Signature']",
        ),
        (
            "samlify-signed-response-inside-evil",
            &[ASSERTION_ID_ATTR],
            "/*/*[local-name()='Response']/*[local-name()='Assertion']/*[local-name()='Signature']",
        ),
    ];
    for (name, id_attrs, xpath) in cases {
        let xml = mint(&profile(name)).xml;
        plumbing::xmlsec1::verify(&xml, &cert, id_attrs, Some(xpath)).unwrap_or_else(|out| {
            panic!("{name}: the IdP signature no longer verifies:\n{out}\n{xml}")
        });
    }
}

#[test]
fn the_evil_parts_carry_the_attackers_name_id() {
    for name in [
        "xsw1-response-copy-in-signature",
        "xsw2-response-copy-before-signature",
        "xsw5-original-copy-at-end",
        "xsw6-original-copy-in-signature",
        "xsw7-evil-in-unqualified-extensions",
        "xsw8-original-copy-in-unqualified-object",
        "signature-removed",
        "second-signed-info",
        "digest-value-comment",
        "samlify-signed-response-inside-evil",
    ] {
        let xml = mint(&profile(name)).xml;
        assert!(
            xml.contains(&format!(">{ATTACKER_NAME_ID}</saml:NameID>")),
            "{name}: {xml}"
        );
    }
    // The original stays beside the evil part wherever the attack needs the signed content.
    for name in [
        "xsw1-response-copy-in-signature",
        "xsw5-original-copy-at-end",
        "xsw8-original-copy-in-unqualified-object",
        "samlify-signed-response-inside-evil",
    ] {
        let xml = mint(&profile(name)).xml;
        assert!(
            xml.contains(">alice@example.com</saml:NameID>"),
            "{name}: {xml}"
        );
    }
}

/// CVE-2025-29774/29775: the forged digest is the edited assertion's true digest (not a random
/// string), differs from the IdP's, and the IdP's DigestValue text is left in place.
#[test]
fn forged_digests_are_the_edited_assertions_and_the_original_stays() {
    let original = between(
        &mint(&Knobs::default()).xml,
        "<ds:DigestValue>",
        "</ds:DigestValue>",
    )["<ds:DigestValue>".len()..]
        .to_owned();
    let comment = mint(&profile("digest-value-comment")).xml;
    let value = between(&comment, "<ds:DigestValue>", "</ds:DigestValue>");
    let forged = between(value, "<!--", "-->")["<!--".len()..].to_owned();
    assert!(value.ends_with(&format!("-->{original}")), "{value}");
    assert_ne!(forged, original);
    let second = mint(&profile("second-signed-info")).xml;
    assert_eq!(count(&second, "<ds:SignedInfo"), 2, "{second}");
    assert!(
        second.contains(&format!("<ds:DigestValue>{forged}</ds:DigestValue>")),
        "{second}"
    );
    assert!(
        second.contains(&format!("<ds:DigestValue>{original}</ds:DigestValue>")),
        "{second}"
    );
}

/// The namespace, attribute-pollution and carrier attacks (CVE-2025-25292, "The Fragile Lock",
/// CVE-2025-47949's carriers) leave the IdP's signature on the signed assertion valid for
/// `xmlsec1`: each is a second reading of a validly signed document, not a broken signature.
/// (The duplicate namespace declaration is not well-formed, so xmlsec1 refuses to parse it; the
/// document with the evil assertion's start tag repaired verifies. The homoglyph namespace is not
/// an ASCII URI, which libxml2's C14N refuses anywhere in the document, as for a relative URI.)
#[test]
fn namespace_and_carrier_attacks_keep_the_idp_signature_valid() {
    let signed =
        format!("//*[local-name()='Assertion'][@ID='{SIGNED_ID}']/*[local-name()='Signature']");
    for name in [
        "evil-assertion-namespace-trailing-slash",
        "evil-assertion-namespace-upper-case",
        "evil-assertion-foreign-namespace",
        "prefixed-id-on-evil-assertion",
        "prefixed-id-on-response",
        "samlify-signed-assertion-in-logout-request",
        "samlify-signed-assertion-in-authn-request",
        "duplicate-namespace-declaration",
    ] {
        let mut xml = mint(&profile(name)).xml;
        if name == "duplicate-namespace-declaration" {
            let err = xmlsec1_verify(&xml, &signed).expect_err("not well-formed");
            assert!(!err.is_empty());
            xml = xml.replacen(
                r#"xmlns:saml="urn:samlconf:attack:not-saml" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion""#,
                "",
                1,
            );
        }
        xmlsec1_verify(&xml, &signed).unwrap_or_else(|out| {
            panic!("{name}: the IdP signature no longer verifies:\n{out}\n{xml}")
        });
    }
    let homoglyph = mint(&profile("evil-assertion-namespace-homoglyph")).xml;
    let err = xmlsec1_verify(&homoglyph, &signed).expect_err("C14N refuses a non-URI namespace");
    assert!(err.contains("is not a valid URI"), "{err}");
}

#[test]
fn look_alike_namespace_attacks_put_a_complete_evil_assertion_first_in_that_namespace() {
    for (name, href) in [
        (
            "evil-assertion-namespace-trailing-slash",
            mock_idp::attacks::TRAILING_SLASH_NAMESPACE,
        ),
        (
            "evil-assertion-namespace-upper-case",
            mock_idp::attacks::UPPER_CASE_NAMESPACE,
        ),
        (
            "evil-assertion-namespace-homoglyph",
            mock_idp::attacks::HOMOGLYPH_NAMESPACE,
        ),
        (
            "evil-assertion-foreign-namespace",
            mock_idp::attacks::FOREIGN_NAMESPACE,
        ),
    ] {
        let xml = mint(&profile(name)).xml;
        let first = between(&xml, "<saml:Assertion ", "</saml:Assertion>");
        assert!(
            first.contains(&format!(r#"xmlns:saml="{href}""#)),
            "{name}: {first}"
        );
        assert!(first.contains(&format!(r#"ID="{EVIL_ID}""#)), "{name}");
        assert!(
            first.contains(&format!(">{ATTACKER_NAME_ID}</saml:NameID>")),
            "{name}"
        );
        assert!(!first.contains("<ds:Signature"), "{name}: unsigned");
        assert_eq!(count(&xml, "<saml:Assertion "), 2, "{name}");
    }
}

#[test]
fn attribute_pollution_repeats_the_signed_id_in_a_namespaced_attribute() {
    let on_evil = mint(&profile("prefixed-id-on-evil-assertion")).xml;
    let first = between(&on_evil, "<saml:Assertion ", ">");
    assert!(first.contains(&format!(r#"ID="{EVIL_ID}""#)), "{first}");
    assert!(
        first.contains(&format!(r#"samlp:ID="{SIGNED_ID}""#)),
        "{first}"
    );
    let on_response = mint(&profile("prefixed-id-on-response")).xml;
    let root = between(&on_response, "<samlp:Response ", ">");
    assert!(
        root.contains(&format!(r#"saml:ID="{SIGNED_ID}""#)),
        "{root}"
    );
    assert_eq!(count(&on_response, "<saml:Assertion "), 1);
}

#[test]
fn carrier_attacks_rename_the_document_and_drop_its_status() {
    for (name, root) in [
        (
            "samlify-signed-assertion-in-logout-request",
            "LogoutRequest",
        ),
        ("samlify-signed-assertion-in-authn-request", "AuthnRequest"),
    ] {
        let xml = mint(&profile(name)).xml;
        assert!(xml.contains(&format!("<samlp:{root} ")), "{name}: {xml}");
        assert!(!xml.contains("<samlp:Status"), "{name}");
        assert_eq!(count(&xml, "<saml:Assertion "), 2, "{name}");
        let first = between(&xml, "<saml:Assertion ", "</saml:Assertion>");
        assert!(first.contains(&format!(r#"ID="{EVIL_ID}""#)), "{name}");
    }
}
