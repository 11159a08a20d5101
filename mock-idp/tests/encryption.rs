//! Encrypted output checked by an independent implementation: the `xmlsec1` command decrypts it
//! with the SP's test key (`testdata/sp-enc-test.key`), then verifies the decrypted assertion's
//! signature with the IdP's certificate only (never a certificate inside the message).
//!
//! Encrypted output is randomised (session key, IV, OAEP seed), so there is no byte-for-byte
//! snapshot of it; these round trips are its regression tests.

mod common;

use common::http::testdata;
use common::{ACS_URL, IDP_ENTITY_ID, NOW, REQUEST_ID, SP_ENTITY_ID, alice, mint, profile};
use mock_idp::keys::IdpKeys;
use mock_idp::knobs::{DataEncryption, EncryptTo, KeyTransport, Knobs, SignTarget};
use mock_idp::mint::{CounterIds, MintError, MintParams, mint_response};

const ASSERTION_ID_ATTR: &str = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion";
const RESPONSE_ID_ATTR: &str = "urn:oasis:names:tc:SAML:2.0:protocol:Response";
const ASSERTION_SIGNATURE: &str = "//*[local-name()='Assertion']/*[local-name()='Signature']";
const TRANSPORTS: [KeyTransport; 2] = [KeyTransport::RsaOaep, KeyTransport::Rsa15];
const DATA: [DataEncryption; 4] = [
    DataEncryption::Aes256Gcm,
    DataEncryption::Aes128Gcm,
    DataEncryption::Aes256Cbc,
    DataEncryption::Aes128Cbc,
];

/// Decrypts the first `xenc:EncryptedData` in document order with `key_file`.
fn decrypt_first(xml: &str, key_file: &str) -> Result<String, String> {
    plumbing::xmlsec1::decrypt(xml, &testdata(key_file))
}

/// Decrypts every `xenc:EncryptedData`, outermost first, with the SP's key.
fn decrypt_all(xml: &str) -> String {
    let mut xml = xml.to_owned();
    for _ in 0..32 {
        if !xml.contains("EncryptedData") {
            return xml;
        }
        xml = decrypt_first(&xml, "sp-enc-test.key")
            .unwrap_or_else(|out| panic!("xmlsec1 cannot decrypt:\n{out}\n{xml}"));
    }
    panic!("too many layers of encryption:\n{xml}");
}

/// Verifies a signature (the first in document order, or the one `xpath` selects) with the public
/// key of `cert_file` only.
fn verify(xml: &str, cert_file: &str, xpath: Option<&str>) -> Result<(), String> {
    plumbing::xmlsec1::verify(
        xml,
        &testdata(cert_file),
        &[ASSERTION_ID_ATTR, RESPONSE_ID_ATTR],
        xpath,
    )
}

fn encrypted(transport: KeyTransport, data: DataEncryption) -> Knobs {
    Knobs {
        encrypt_assertion: true,
        key_transport: transport,
        data_encryption: data,
        ..Knobs::default()
    }
}

#[test]
fn every_key_transport_and_data_algorithm_decrypts_then_verifies() {
    for transport in TRANSPORTS {
        for data in DATA {
            let case = format!("{transport:?}/{data:?}");
            let xml = mint(&encrypted(transport, data)).xml;
            assert!(
                xml.contains(transport.uri()),
                "{case}: key transport\n{xml}"
            );
            assert!(xml.contains(data.uri()), "{case}: data algorithm\n{xml}");
            assert!(xml.contains("<saml:EncryptedAssertion>"), "{case}\n{xml}");
            for plaintext in ["<saml:Assertion", "alice@example.com", "SignatureValue"] {
                assert!(!xml.contains(plaintext), "{case}: {plaintext} in the clear");
            }
            assert!(
                decrypt_first(&xml, "sp-test.key").is_err(),
                "{case}: decrypts with a key that is not the SP's encryption key"
            );
            let decrypted = decrypt_first(&xml, "sp-enc-test.key")
                .unwrap_or_else(|out| panic!("{case}: xmlsec1 cannot decrypt:\n{out}"));
            assert!(decrypted.contains("<saml:Assertion"), "{case}\n{decrypted}");
            assert!(decrypted.contains(">alice@example.com</saml:NameID>"));
            verify(&decrypted, "idp.crt", None)
                .unwrap_or_else(|out| panic!("{case}: the decrypted assertion fails:\n{out}"));
            assert!(
                verify(&decrypted, "attacker.crt", None).is_err(),
                "{case}: verifies with the attacker's key"
            );
        }
    }
}

#[test]
fn oaep_names_its_sha1_digest_as_entra_and_adfs_do() {
    let xml = mint(&profile("encrypted")).xml;
    assert!(xml.contains(
        r#"<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p">"#
    ));
    assert!(
        xml.contains(r#"<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>"#)
    );
    assert!(xml.contains(r#"Type="http://www.w3.org/2001/04/xmlenc#Element""#));
    let sp_cert: String = common::SP_ENCRYPTION_CERT
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let in_message: String = xml.split_whitespace().collect();
    assert!(
        in_message.contains(&sp_cert),
        "the EncryptedKey names the SP's certificate"
    );
}

#[test]
fn a_response_signature_covers_the_encrypted_assertion() {
    let knobs = Knobs {
        sign: SignTarget::Both,
        ..profile("encrypted")
    };
    let xml = mint(&knobs).xml;
    // Only the Response's signature is visible before decryption.
    verify(&xml, "idp.crt", None).unwrap_or_else(|out| panic!("response signature:\n{out}"));
    let tampered = xml.replacen("<xenc:CipherValue>", "<xenc:CipherValue>AAAA", 1);
    assert!(verify(&tampered, "idp.crt", None).is_err());
    let decrypted = decrypt_first(&xml, "sp-enc-test.key").expect("decrypt");
    verify(&decrypted, "idp.crt", Some(ASSERTION_SIGNATURE))
        .unwrap_or_else(|out| panic!("assertion signature:\n{out}"));
}

#[test]
fn corrupt_ciphertext_fails_to_decrypt_in_every_mode() {
    for data in DATA {
        let knobs = Knobs {
            corrupt_ciphertext: true,
            ..encrypted(KeyTransport::RsaOaep, data)
        };
        let xml = mint(&knobs).xml;
        assert!(
            decrypt_first(&xml, "sp-enc-test.key").is_err(),
            "{data:?}: corrupted ciphertext still decrypts"
        );
    }
    let xml = mint(&profile("encrypted-corrupt")).xml;
    assert!(decrypt_first(&xml, "sp-enc-test.key").is_err());
}

#[test]
fn wrong_key_cannot_be_decrypted_with_the_sp_key() {
    let xml = mint(&profile("encrypted-wrong-key")).xml;
    assert!(xml.contains("<saml:EncryptedAssertion>"));
    let sp_cert_start: String = common::SP_ENCRYPTION_CERT
        .lines()
        .nth(1)
        .expect("pem")
        .into();
    assert!(
        !xml.contains(&sp_cert_start),
        "the EncryptedKey names the SP's certificate although it is wrapped for another key"
    );
    assert!(
        decrypt_first(&xml, "sp-enc-test.key").is_err(),
        "encrypt_to = wrong-key decrypts with the SP's key"
    );
    // The same knobs to the SP's key decrypt: the failure is the key, not the message.
    let to_sp = Knobs {
        encrypt_to: EncryptTo::Sp,
        ..profile("encrypted-wrong-key")
    };
    decrypt_first(&mint(&to_sp).xml, "sp-enc-test.key").expect("decrypts when encrypted to the SP");
}

#[test]
fn unsigned_and_attacker_signed_assertions_decrypt_but_do_not_verify() {
    let unsigned = decrypt_all(&mint(&profile("encrypted-unsigned")).xml);
    assert!(unsigned.contains("<saml:Assertion"));
    assert!(!unsigned.contains("Signature"), "{unsigned}");

    let attacker = decrypt_all(&mint(&profile("encrypted-attacker-signed")).xml);
    assert!(verify(&attacker, "idp.crt", None).is_err());
    verify(&attacker, "attacker.crt", None).expect("the attacker's own key verifies it");

    let sha1 = decrypt_all(&mint(&profile("encrypted-sha1")).xml);
    assert!(sha1.contains("http://www.w3.org/2000/09/xmldsig#rsa-sha1"));
    verify(&sha1, "idp.crt", None).expect("the SHA-1 signature verifies");
}

#[test]
fn encrypted_id_and_attributes_are_signed_encrypted_and_decryptable() {
    let knobs = Knobs {
        encrypt_name_id: true,
        encrypt_attributes: true,
        ..Knobs::default()
    };
    let xml = mint(&knobs).xml;
    assert_eq!(xml.matches("<saml:EncryptedID>").count(), 1, "{xml}");
    // alice: mail, givenName, sn, groups.
    assert_eq!(xml.matches("<saml:EncryptedAttribute>").count(), 4, "{xml}");
    for plaintext in [
        "alice@example.com",
        "Name=\"mail\"",
        ">admins<",
        "<saml:NameID",
    ] {
        assert!(!xml.contains(plaintext), "{plaintext} in the clear\n{xml}");
    }
    // The assertion's signature covers the encrypted forms.
    verify(&xml, "idp.crt", None).unwrap_or_else(|out| panic!("signature:\n{out}"));
    let decrypted = decrypt_all(&xml);
    assert!(
        decrypted.contains(">alice@example.com</saml:NameID>"),
        "{decrypted}"
    );
    for name in ["mail", "givenName", "sn", "groups"] {
        assert!(
            decrypted.contains(&format!("Name=\"{name}\"")),
            "{name}\n{decrypted}"
        );
    }
}

#[test]
fn everything_encrypted_nests_and_unwraps_layer_by_layer() {
    let knobs = Knobs {
        encrypt_assertion: true,
        encrypt_name_id: true,
        encrypt_attributes: true,
        data_encryption: DataEncryption::Aes128Cbc,
        key_transport: KeyTransport::Rsa15,
        ..Knobs::default()
    };
    let xml = mint(&knobs).xml;
    assert_eq!(
        xml.matches("EncryptedData ").count(),
        1,
        "one outer layer\n{xml}"
    );
    let assertion = decrypt_first(&xml, "sp-enc-test.key").expect("outer layer");
    assert!(assertion.contains("<saml:EncryptedID>"));
    verify(&assertion, "idp.crt", None).unwrap_or_else(|out| panic!("signature:\n{out}"));
    assert!(decrypt_all(&assertion).contains(">alice@example.com</saml:NameID>"));
}

#[test]
fn default_knobs_encrypt_nothing() {
    let xml = mint(&Knobs::default()).xml;
    assert!(!xml.contains("Encrypted"));
    assert!(!xml.contains("xenc"));
}

fn mint_without_sp_certificate(knobs: &Knobs) -> Result<String, MintError> {
    let keys = IdpKeys::fixed_for_tests();
    let user = alice();
    mint_response(&MintParams {
        idp_entity_id: IDP_ENTITY_ID.to_owned(),
        sp_entity_id: SP_ENTITY_ID.to_owned(),
        acs_url: ACS_URL.to_owned(),
        user: &user,
        in_response_to: Some(REQUEST_ID.to_owned()),
        now: NOW,
        knobs,
        keys: &keys,
        ids: &CounterIds::new(),
        session_index: None,
        sp_encryption_cert_pem: None,
    })
    .map(|minted| minted.xml)
}

#[test]
fn encrypting_without_an_sp_certificate_is_an_error_naming_the_knob() {
    let knobs = Knobs {
        encrypt_attributes: true,
        ..Knobs::default()
    };
    let err = mint_without_sp_certificate(&knobs).expect_err("no certificate");
    assert!(
        matches!(
            err,
            MintError::NoEncryptionCertificate {
                knob: "encrypt_attributes"
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("encryption certificate"), "{err}");
    // Encrypting to the throwaway key needs no SP certificate.
    mint_without_sp_certificate(&profile("encrypted-wrong-key")).expect("wrong key");
    // A failure status carries no assertion, so there is nothing to encrypt.
    let failed = Knobs {
        encrypt_assertion: true,
        ..profile("authn-failed")
    };
    assert!(
        !mint_without_sp_certificate(&failed)
            .expect("status only")
            .contains("xenc")
    );
}

#[test]
fn an_unusable_sp_certificate_is_an_error_not_a_panic() {
    let keys = IdpKeys::fixed_for_tests();
    let user = alice();
    let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let err = mint_response(&MintParams {
        idp_entity_id: IDP_ENTITY_ID.to_owned(),
        sp_entity_id: SP_ENTITY_ID.to_owned(),
        acs_url: ACS_URL.to_owned(),
        user: &user,
        in_response_to: None,
        now: NOW,
        knobs: &profile("encrypted"),
        keys: &keys,
        ids: &CounterIds::new(),
        session_index: None,
        sp_encryption_cert_pem: Some(garbage),
    })
    .expect_err("garbage certificate");
    assert!(matches!(err, MintError::EncryptionFailed(_)), "{err}");
}

#[tokio::test]
async fn sso_encrypts_to_the_configured_sp_certificate() {
    let idp = common::http::idp();
    idp.set_next(mock_idp::server::NextResponses {
        profile: Some("encrypted".to_owned()),
        ..Default::default()
    })
    .expect("queue");
    let answer = common::http::sso(&idp, "_enc", false, Some("alice"), None).await;
    let xml = common::http::saml_response(&answer.body).expect("SAMLResponse");
    assert!(xml.contains("<saml:EncryptedAssertion>"), "{xml}");
    let decrypted = decrypt_first(&xml, "sp-enc-test.key").expect("decrypt");
    assert!(decrypted.contains(r#"InResponseTo="_enc""#));
    verify(&decrypted, "idp.crt", None).expect("signature");
}

/// `encrypted_assertion_companion`: the real EncryptedAssertion is untouched (it decrypts, and the
/// IdP's signature inside verifies), and beside it sits a forged unsigned assertion, in the clear
/// before it or encrypted to the SP's key after it.
#[test]
fn a_companion_assertion_sits_beside_the_real_encrypted_one() {
    use mock_idp::knobs::EncryptedCompanion;
    for companion in [
        EncryptedCompanion::PlainEvilBefore,
        EncryptedCompanion::EncryptedEvilAfter,
    ] {
        let knobs = Knobs {
            encrypt_assertion: true,
            encrypted_assertion_companion: Some(companion),
            ..Knobs::default()
        };
        let xml = mint(&knobs).xml;
        let plain_evil = xml.find("<saml:Assertion ");
        let encrypted = xml.matches("<saml:EncryptedAssertion").count();
        match companion {
            EncryptedCompanion::PlainEvilBefore => {
                assert_eq!(encrypted, 1, "{xml}");
                let evil = plain_evil.expect("a plaintext assertion");
                assert!(evil < xml.find("<saml:EncryptedAssertion").expect("encrypted"));
                assert!(
                    xml.contains(">attacker@evil.example</saml:NameID>"),
                    "{xml}"
                );
                assert!(
                    !xml[..xml.find("<saml:EncryptedAssertion").unwrap()].contains("<ds:Signature")
                );
            }
            EncryptedCompanion::EncryptedEvilAfter => {
                assert_eq!(encrypted, 2, "{xml}");
                assert!(plain_evil.is_none(), "{xml}");
            }
        }
        let clear = decrypt_all(&xml);
        assert!(
            clear.contains(">attacker@evil.example</saml:NameID>"),
            "{companion:?}"
        );
        verify(
            &clear,
            "idp.crt",
            Some("//*[local-name()='Assertion'][not(starts-with(@ID,'_evil'))]/*[local-name()='Signature']"),
        )
        .unwrap_or_else(|out| panic!("{companion:?}: the IdP's signature:\n{out}"));
    }
    let without = Knobs {
        encrypted_assertion_companion: Some(EncryptedCompanion::PlainEvilBefore),
        ..Knobs::default()
    };
    assert!(without.validate().is_err(), "needs encrypt_assertion");
}
