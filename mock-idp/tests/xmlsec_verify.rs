//! Signatures checked by an independent implementation: the `xmlsec1` command-line tool.
//!
//! KeyInfo is never trusted: `--enabled-key-data rsa,ecdsa,dsa,key-name` leaves out `x509`, so the
//! certificate inside the message (the attacker's, for `wrong-key`) cannot be used to verify it.

mod common;

use std::path::{Path, PathBuf};

use common::{mint, profile};
use mock_idp::knobs::{DigestAlgorithm, Knobs, SignTarget, SignatureAlgorithm};

const ASSERTION_SIGNATURE: &str = "//*[local-name()='Assertion']/*[local-name()='Signature']";

fn testdata(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(file)
}

/// Runs `xmlsec1 --verify` on `xml` with the public key of `cert`; `Err` holds xmlsec1's output.
fn xmlsec1_verify(xml: &str, cert: &str, node_xpath: Option<&str>) -> Result<(), String> {
    plumbing::xmlsec1::verify(
        xml,
        &testdata(cert),
        &[
            "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
            "urn:oasis:names:tc:SAML:2.0:protocol:Response",
        ],
        node_xpath,
    )
}

const ALGORITHMS: [(SignatureAlgorithm, DigestAlgorithm, &str); 4] = [
    (
        SignatureAlgorithm::RsaSha256,
        DigestAlgorithm::Sha256,
        "rsa-sha256",
    ),
    (
        SignatureAlgorithm::RsaSha384,
        DigestAlgorithm::Sha384,
        "rsa-sha384",
    ),
    (
        SignatureAlgorithm::RsaSha512,
        DigestAlgorithm::Sha512,
        "rsa-sha512",
    ),
    (
        SignatureAlgorithm::RsaSha1,
        DigestAlgorithm::Sha1,
        "rsa-sha1",
    ),
];

#[test]
fn every_sign_target_and_algorithm_verifies_with_the_idp_key_only() {
    for sign in [
        SignTarget::Assertion,
        SignTarget::Response,
        SignTarget::Both,
    ] {
        for (signature_algorithm, digest_algorithm, name) in ALGORITHMS {
            let knobs = Knobs {
                sign,
                signature_algorithm,
                digest_algorithm,
                ..Knobs::default()
            };
            let xml = mint(&knobs).xml;
            assert!(
                xml.contains(signature_algorithm.uri()),
                "{sign:?}/{name}: SignatureMethod missing"
            );
            // The first signature in document order: the Response's when present, else the Assertion's.
            xmlsec1_verify(&xml, "idp.crt", None)
                .unwrap_or_else(|out| panic!("{sign:?}/{name} fails with the IdP key:\n{out}"));
            assert!(
                xmlsec1_verify(&xml, "attacker.crt", None).is_err(),
                "{sign:?}/{name} verifies with the attacker's key"
            );
            if sign == SignTarget::Both {
                xmlsec1_verify(&xml, "idp.crt", Some(ASSERTION_SIGNATURE)).unwrap_or_else(|out| {
                    panic!("{name}: the assertion's own signature fails:\n{out}")
                });
            }
        }
    }
}

#[test]
fn wrong_key_verifies_only_with_the_attacker_key() {
    let minted = mint(&profile("wrong-key"));
    let attacker_cert = std::fs::read_to_string(testdata("attacker.crt")).expect("attacker cert");
    let attacker_der: String = attacker_cert
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    assert!(
        minted.xml.contains(&attacker_der),
        "KeyInfo must carry the attacker's certificate"
    );
    assert!(
        xmlsec1_verify(&minted.xml, "idp.crt", None).is_err(),
        "wrong-key verifies with the IdP key"
    );
    xmlsec1_verify(&minted.xml, "attacker.crt", None).expect("the attacker's own key verifies it");
}

#[test]
fn tampering_after_signing_breaks_verification() {
    let xml = mint(&Knobs::default()).xml;
    let tampered = xml.replace(
        ">alice@example.com</saml:NameID>",
        ">mallory@example.com</saml:NameID>",
    );
    assert_ne!(tampered, xml);
    assert!(
        xmlsec1_verify(&tampered, "idp.crt", None).is_err(),
        "a tampered NameID still verifies"
    );
}

#[test]
fn unsigned_has_no_signature_to_verify() {
    let xml = mint(&profile("unsigned")).xml;
    assert!(!xml.contains("ds:Signature"));
    assert!(xmlsec1_verify(&xml, "idp.crt", None).is_err());
}

#[test]
fn protocol_corner_knobs_still_verify() {
    use mock_idp::knobs::ExtraCondition;
    for knobs in [
        Knobs {
            extra_condition: Some(ExtraCondition::DelegationRestriction),
            ..Knobs::default()
        },
        Knobs {
            extra_condition: Some(ExtraCondition::ForeignElement),
            proxy_restriction: Some(1),
            ..Knobs::default()
        },
        Knobs {
            duplicate_groups_attribute: Some("admins".into()),
            ..Knobs::default()
        },
        Knobs {
            advice_assertion: true,
            sign: SignTarget::Both,
            ..Knobs::default()
        },
        Knobs {
            name_id_value: Some(" \u{a0}".into()),
            not_before_offset_secs: -300,
            ..Knobs::default()
        },
    ] {
        let xml = mint(&knobs).xml;
        xmlsec1_verify(&xml, "idp.crt", None)
            .unwrap_or_else(|out| panic!("{knobs:?} does not verify:\n{out}\n{xml}"));
        xmlsec1_verify(&xml, "idp.crt", Some(ASSERTION_SIGNATURE))
            .unwrap_or_else(|out| panic!("{knobs:?}: the assertion's signature fails:\n{out}"));
    }
    let advice = mint(&Knobs {
        advice_assertion: true,
        ..Knobs::default()
    })
    .xml;
    let nested = advice.find("<saml:Advice>").expect("Advice");
    assert!(advice[nested..].contains(mock_idp::mint::ADVICE_NAME_ID));
    assert!(
        advice.find("ds:Signature").expect("signed") < nested,
        "inside the signed assertion"
    );
    let duplicated = mint(&Knobs {
        duplicate_groups_attribute: Some("admins".into()),
        ..Knobs::default()
    })
    .xml;
    assert_eq!(
        duplicated.matches(r#"Name="groups""#).count(),
        2,
        "{duplicated}"
    );
}
