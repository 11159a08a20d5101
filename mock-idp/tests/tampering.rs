//! The `tampering` knob: each variant has the published shape of its attack, and where the attack
//! relies on the IdP's signature staying valid, the `xmlsec1` command (an implementation
//! independent of the mock IdP's) still verifies it.

mod common;

use std::path::Path;

use common::{alice, mint, mint_for};
use mock_idp::attacks::{ATTACKER_NAME_ID, TRUNCATED_SUFFIX};
use mock_idp::knobs::{KnobError, Knobs, SignTarget, SignatureWrapping, Tampering};
use mock_idp::tampering::{
    HMAC_SHA256, UNKNOWN_SIGNATURE_METHOD, XPATH_TRANSFORM, XSLT_TRANSFORM, assertion_digest,
};
use mock_idp::users::{Group, User};

const ASSERTION_ID_ATTR: &str = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion";
const ASSERTION_SIGNATURE: &str = "//*[local-name()='Assertion']/*[local-name()='Signature']";

fn idp_cert() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/idp.crt")
}

/// `xmlsec1 --verify` of the assertion's signature with the IdP's public key only.
fn xmlsec1_verify(xml: &str) -> Result<(), String> {
    plumbing::xmlsec1::verify(
        xml,
        &idp_cert(),
        &[ASSERTION_ID_ATTR],
        Some(ASSERTION_SIGNATURE),
    )
}

fn tampered(attack: Tampering) -> Knobs {
    Knobs {
        tampering: Some(attack),
        ..Knobs::default()
    }
}

/// Mallory, whose e-mail and one group end in the suffix the splitting variants split at.
fn mallory() -> User {
    User {
        login: "mallory".into(),
        email: format!("alice@example.com{TRUNCATED_SUFFIX}"),
        first_name: "Mallory".into(),
        last_name: "Attacker".into(),
        groups: vec![Group {
            name: format!("admins{TRUNCATED_SUFFIX}"),
            object_id: "00000000-0000-0000-0000-00000000e711".into(),
        }],
        access: true,
    }
}

fn between<'a>(xml: &'a str, open: &str, close: &str) -> &'a str {
    let start = xml
        .find(open)
        .unwrap_or_else(|| panic!("no {open} in\n{xml}"))
        + open.len();
    let end = xml[start..]
        .find(close)
        .unwrap_or_else(|| panic!("no {close} after {open} in\n{xml}"));
    &xml[start..start + end]
}

fn name_id(xml: &str) -> &str {
    let open = xml.find("<saml:NameID").expect("NameID");
    between(&xml[open..], ">", "</saml:NameID>")
}

#[test]
fn every_variant_applies_to_a_default_response() {
    for attack in Tampering::ALL {
        let xml = mint_for(&tampered(attack), &mallory()).xml;
        let untouched = mint_for(&Knobs::default(), &mallory()).xml;
        assert_ne!(xml, untouched, "{attack:?} changed nothing");
    }
}

#[test]
fn doctype_variants_put_their_entities_in_front_of_the_root() {
    let xxe = mint(&tampered(Tampering::DoctypeExternalEntity)).xml;
    assert!(
        xxe.contains(r#"<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>"#),
        "{xxe}"
    );
    assert_eq!(name_id(&xxe), "&xxe;");
    assert!(xxe.find("<!DOCTYPE") < xxe.find("<samlp:Response"));

    let laughs = mint(&tampered(Tampering::DoctypeEntityExpansion)).xml;
    assert_eq!(laughs.matches("<!ENTITY lol").count(), 10, "{laughs}");
    assert!(laughs.contains(&format!(r#"<!ENTITY lol9 "{}">"#, "&lol8;".repeat(10))));
    assert_eq!(name_id(&laughs), "&lol9;");

    let entity = mint_for(&tampered(Tampering::EntityInSignedText), &mallory()).xml;
    assert!(
        entity.contains(r#"<!ENTITY tail ".evil.example">"#),
        "{entity}"
    );
    assert_eq!(name_id(&entity), "alice@example.com&tail;");
}

#[test]
fn cdata_and_comment_splits_keep_the_idp_signature_valid() {
    let cdata = mint_for(&tampered(Tampering::CdataInSignedText), &mallory()).xml;
    assert_eq!(
        name_id(&cdata),
        "alice@example.com<![CDATA[.evil.example]]>"
    );
    xmlsec1_verify(&cdata).expect("C14N turns CDATA into the same text");

    let comment = mint_for(&tampered(Tampering::CommentInAttributeValue), &mallory()).xml;
    assert!(
        comment.contains("admins<!---->.evil.example</saml:AttributeValue>"),
        "{comment}"
    );
    assert!(comment.contains("alice@example.com<!---->.evil.example</saml:AttributeValue>"));
    xmlsec1_verify(&comment).expect("exclusive C14N drops comments");
}

#[test]
fn the_splitting_variants_need_the_suffix() {
    for attack in [
        Tampering::EntityInSignedText,
        Tampering::CdataInSignedText,
        Tampering::CommentInAttributeValue,
    ] {
        let err = common::try_mint_for(&tampered(attack), &alice())
            .expect_err("alice@example.com has no suffix to split at");
        assert!(
            err.to_string().contains(".evil.example"),
            "{attack:?}: {err}"
        );
    }
}

#[test]
fn the_digest_helper_matches_what_the_idp_signed() {
    let xml = mint(&Knobs::default()).xml;
    let signed = between(&xml, "<ds:DigestValue>", "</ds:DigestValue>");
    assert_eq!(assertion_digest(&xml).expect("digest"), signed);
}

#[test]
fn cve_2024_45409_shape_a_correct_digest_outside_signed_info() {
    let original = mint(&Knobs::default()).xml;
    let xml = mint(&tampered(Tampering::DigestValueOutsideSignedInfo)).xml;
    assert_eq!(name_id(&xml), ATTACKER_NAME_ID);
    // The IdP's SignedInfo and SignatureValue are byte for byte what it signed.
    for (open, close) in [
        ("<ds:SignedInfo>", "</ds:SignedInfo>"),
        ("<ds:SignatureValue>", "</ds:SignatureValue>"),
    ] {
        assert_eq!(between(&xml, open, close), between(&original, open, close));
    }
    let forged = between(&xml, "<samlp:Extensions>", "</samlp:Extensions>");
    let forged = between(forged, ">", "</ds:DigestValue>");
    assert_eq!(
        forged,
        assertion_digest(&xml).expect("digest"),
        "the digest of the edited assertion"
    );
    assert!(xml.find("<samlp:Extensions>") < xml.find("<ds:SignedInfo>"));
    xmlsec1_verify(&xml).expect_err("the real DigestValue no longer matches");
}

#[test]
fn hmac_forgery_verifies_with_the_public_certificate_as_hmac_key() {
    let xml = mint(&tampered(Tampering::HmacKeyedWithIdpCertificate)).xml;
    assert_eq!(name_id(&xml), ATTACKER_NAME_ID);
    assert!(xml.contains(&format!(
        r#"<ds:SignatureMethod Algorithm="{HMAC_SHA256}"/>"#
    )));
    assert!(!xml.contains("<ds:KeyInfo>"), "{xml}");
    // xmlsec1, keyed with the certificate's PEM bytes as an HMAC secret, accepts the forgery:
    // what a verifier that lets the message choose the algorithm would do.
    let key = idp_cert();
    let args: Vec<&std::ffi::OsStr> = vec![
        "--verify".as_ref(),
        "--hmackey".as_ref(),
        key.as_os_str(),
        "--id-attr:ID".as_ref(),
        ASSERTION_ID_ATTR.as_ref(),
    ];
    plumbing::xmlsec1::run(&args, &xml).expect("a valid HMAC keyed with the public certificate");
    xmlsec1_verify(&xml).expect_err("not an RSA signature by the IdP");
}

#[test]
fn algorithm_and_transform_variants_rewrite_signed_info() {
    let unknown = mint(&tampered(Tampering::UnknownSignatureMethod)).xml;
    assert!(unknown.contains(&format!(r#"Algorithm="{UNKNOWN_SIGNATURE_METHOD}""#)));
    let xslt = mint(&tampered(Tampering::XsltTransform)).xml;
    let transforms = between(&xslt, "<ds:Transforms>", "</ds:Transforms>");
    assert!(transforms.starts_with(&format!(r#"<ds:Transform Algorithm="{XSLT_TRANSFORM}">"#)));
    assert!(transforms.contains("document('https://evil.example/xslt-ran')"));
}

#[test]
fn xpath_filter_leaves_the_rewritten_name_id_outside_a_valid_signature() {
    let xml = mint(&tampered(Tampering::XpathFilterExcludesSubject)).xml;
    assert_eq!(name_id(&xml), ATTACKER_NAME_ID);
    let transforms = between(&xml, "<ds:Transforms>", "</ds:Transforms>");
    assert!(transforms.contains(XPATH_TRANSFORM), "{transforms}");
    assert!(transforms.contains("not(ancestor-or-self::saml:Subject)"));
    xmlsec1_verify(&xml).expect("the Subject is outside the digest, so the signature holds");
}

#[test]
fn relative_namespace_uri_breaks_canonicalisation() {
    let xml = mint(&tampered(Tampering::RelativeNamespaceUri)).xml;
    assert!(
        xml.contains(r#"<saml:Assertion xmlns:void="void""#),
        "{xml}"
    );
    assert_eq!(name_id(&xml), ATTACKER_NAME_ID);
    xmlsec1_verify(&xml).expect_err("C14N refuses a relative namespace URI");
}

#[test]
fn tampering_refuses_knobs_it_cannot_work_with() {
    let contradictory = [
        Knobs {
            signature_wrapping: Some(SignatureWrapping::EvilBefore),
            ..tampered(Tampering::CdataInSignedText)
        },
        Knobs {
            sign: SignTarget::Response,
            ..tampered(Tampering::CdataInSignedText)
        },
        Knobs {
            encrypt_assertion: true,
            ..tampered(Tampering::CdataInSignedText)
        },
    ];
    for knobs in contradictory {
        assert!(
            matches!(knobs.validate(), Err(KnobError::Contradictory(_))),
            "{knobs:?}"
        );
    }
}

#[test]
fn look_alike_urls_disguise_exactly_the_named_field() {
    use mock_idp::knobs::{LookAlikeUrl, UrlField, UrlGame};
    let cases = [
        (UrlGame::UpperCase, "HTTP://127.0.0.1:8080/SAML/ACS"),
        (
            UrlGame::XmlWhitespacePadding,
            " \nhttp://127.0.0.1:8080/saml/acs \n",
        ),
        (
            UrlGame::NoBreakSpaceSuffix,
            "http://127.0.0.1:8080/saml/acs\u{A0}",
        ),
        (
            UrlGame::FullwidthSolidus,
            "http://127.0.0.1:8080/saml\u{FF0F}acs",
        ),
    ];
    for (game, expected) in cases {
        assert_eq!(game.disguise(common::ACS_URL), expected);
    }
    let knobs = |field| Knobs {
        look_alike_url: Some(LookAlikeUrl {
            field,
            game: UrlGame::NoBreakSpaceSuffix,
        }),
        ..Knobs::default()
    };
    let nbsp = |v: &str| format!("{v}\u{A0}");
    let audience = mint(&knobs(UrlField::Audience)).xml;
    assert!(audience.contains(&format!(
        "<saml:Audience>{}</saml:Audience>",
        nbsp(common::SP_ENTITY_ID)
    )));
    assert!(audience.contains(&format!(r#"Recipient="{}""#, common::ACS_URL)));
    let recipient = mint(&knobs(UrlField::Recipient)).xml;
    assert!(recipient.contains(&format!(r#"Recipient="{}""#, nbsp(common::ACS_URL))));
    assert!(recipient.contains(&format!(r#"Destination="{}""#, common::ACS_URL)));
    let destination = mint(&knobs(UrlField::Destination)).xml;
    assert!(destination.contains(&format!(r#"Destination="{}""#, nbsp(common::ACS_URL))));
    xmlsec1_verify(&destination).expect("signed as minted");
    let contradictory = Knobs {
        omit_destination: true,
        ..knobs(UrlField::Destination)
    };
    assert!(matches!(
        contradictory.validate(),
        Err(KnobError::Contradictory(_))
    ));
}

#[test]
fn rebinding_a_prefix_used_only_in_content_keeps_the_signature_valid() {
    let xml = mint(&tampered(Tampering::RebindUnsignedPrefix)).xml;
    assert!(
        !xml.contains(r#"xmlns:xs="http://www.w3.org/2001/XMLSchema""#),
        "{xml}"
    );
    assert!(xml.contains(r#"xmlns:xs="urn:samlconf:attack:not-xml-schema" xmlns:xsi"#));
    xmlsec1_verify(&xml).expect("exclusive C14N does not sign a prefix used only in content");
}

#[test]
fn doctype_hiding_markup_puts_an_evil_assertion_in_an_entity_literal() {
    let xml = mint(&tampered(Tampering::DoctypeHidesMarkupInLiteral)).xml;
    let doctype = between(&xml, "<!DOCTYPE samlp:Response [", "\n<samlp:Response");
    assert!(
        doctype.starts_with("<!ENTITY shadow ']><saml:Assertion "),
        "{doctype}"
    );
    assert!(doctype.contains(&format!("<saml:NameID>{ATTACKER_NAME_ID}</saml:NameID>")));
    // The response after the DOCTYPE is the IdP's, untouched: its signature still verifies.
    let body = &xml[xml.find("<samlp:Response").expect("root")..];
    xmlsec1_verify(body).expect("the IdP's signature");
}

/// `inclusive_namespaces = "xs"`: the IdP's signature verifies as minted, still verifies after
/// `xmlns:xs` is declared on the Response when no PrefixList names it, and no longer verifies when
/// one does (exclusive C14N then renders the binding from outside the signed assertion).
#[test]
fn a_prefix_list_makes_the_digest_depend_on_bindings_outside_the_signed_element() {
    let listed = Knobs {
        inclusive_namespaces: Some("xs".into()),
        ..Knobs::default()
    };
    let minted = mint(&listed).xml;
    assert!(
        minted.contains(r#"<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="xs"/>"#),
        "{minted}"
    );
    xmlsec1_verify(&minted).expect("signed with a PrefixList");
    let rebound = |knobs: Knobs, attack| {
        mint(&Knobs {
            tampering: Some(attack),
            ..knobs
        })
        .xml
    };
    let outside = rebound(Knobs::default(), Tampering::RebindPrefixOnResponse);
    assert!(outside.contains(r#"<samlp:Response xmlns:xs="urn:samlconf:attack:not-xml-schema""#));
    xmlsec1_verify(&outside).expect("no PrefixList: the outer binding is not signed");
    for attack in [
        Tampering::RebindPrefixOnResponse,
        Tampering::RebindUnsignedPrefix,
    ] {
        let xml = rebound(listed.clone(), attack);
        assert!(
            xmlsec1_verify(&xml).is_err(),
            "{attack:?}: PrefixList=xs covers the rebinding"
        );
    }
}

#[test]
fn denial_of_service_shapes_are_deep_huge_or_numerous() {
    use mock_idp::tampering::{DEEP_NESTING_LEVELS, HUGE_KEY_INFO_BYTES};
    let deep = mint(&tampered(Tampering::DeepNesting)).xml;
    assert_eq!(deep.matches("<x>").count(), DEEP_NESTING_LEVELS);
    assert!(deep.len() < 512 * 1024, "under the SP's size limit");
    assert!(deep.find("<samlp:Extensions>") < deep.find("<samlp:Status>"));
    let huge = mint(&tampered(Tampering::HugeKeyInfo)).xml;
    assert!(huge.contains(&"A".repeat(HUGE_KEY_INFO_BYTES)));
    let many = mint(&Knobs {
        filler_attributes: 10_000,
        ..Knobs::default()
    })
    .xml;
    assert_eq!(many.matches("urn:samlconf:filler:").count(), 10_000);
    assert!(many.len() > 1024 * 1024, "{} bytes", many.len());
    xmlsec1_verify(&many).expect("signed by the IdP");
}
