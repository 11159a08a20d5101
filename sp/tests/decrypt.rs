//! Decryption of `EncryptedAssertion`, `EncryptedID` and `EncryptedAttribute`, with fixtures
//! signed by `xmlsec1 --sign` and encrypted by `xmlsec1 --encrypt` (never by mock-idp), and a real
//! SimpleSAMLphp response (`fixtures/real/README.md`).

mod verifier_support;

use std::path::{Path, PathBuf};

use sp::keys::SpEncryptionKeys;
use sp::reason::Rejection;
use sp::verify::{
    DecryptionKey, SignedElement, VerifiedResponse, VerifyPolicy, check_in_response_to,
    verify_response,
};
use time::macros::datetime;
use verifier_support::*;

const AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
const AES256_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
const AES128_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes128-gcm";
const AES256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
const AES192_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes192-cbc";
const RSA_OAEP: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
const RSA_OAEP_11: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
const RSA_1_5: &str = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";
const SAML_NS: &str = r#" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion""#;

/// The SP's encryption certificate (the public test pair of `sp/testdata/`).
fn sp_enc_cert() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sp-enc.crt")
}

fn attacker_cert() -> PathBuf {
    fixtures().join("keys/attacker.crt")
}

/// The default policy plus the SP's decryption key.
fn enc_policy() -> VerifyPolicy {
    let mut p = policy();
    p.decryption_keys = vec![DecryptionKey::from_pem(
        SpEncryptionKeys::fixed_for_tests().key_pem,
    )];
    p
}

fn verify_with(
    xml: &str,
    f: impl FnOnce(&mut VerifyPolicy),
) -> Result<VerifiedResponse, Rejection> {
    let mut p = enc_policy();
    f(&mut p);
    verify_response(xml.as_bytes(), &p, NOW)
}

fn verify_enc(xml: &str) -> Result<VerifiedResponse, Rejection> {
    verify_with(xml, |_| {})
}

/// How to encrypt one element.
#[derive(Clone, Copy)]
struct Enc<'a> {
    data: &'a str,
    key: &'a str,
    cert: &'a Path,
}

/// Encrypts the standalone element `element` with `xmlsec1 --encrypt`: an `xenc:EncryptedData`.
fn encrypt(element: &str, enc: Enc) -> String {
    let template = read_fixture("encrypted/encrypted-data.xml")
        .replace("{{DATA_ALGORITHM}}", enc.data)
        .replace("{{KEY_ALGORITHM}}", enc.key);
    let session = if enc.data.contains("128") {
        "aes-128"
    } else if enc.data.contains("192") {
        "aes-192"
    } else {
        "aes-256"
    };
    let text = plumbing::xmlsec1::encrypt(&template, element, enc.cert, session);
    text.trim_start_matches("<?xml version=\"1.0\"?>")
        .trim()
        .to_owned()
}

/// `<saml:Assertion …>` of a built response, made standalone (its own `xmlns:saml`).
fn standalone_assertion(response: &str) -> String {
    slice_element(response, "<saml:Assertion ", "</saml:Assertion>").replacen(
        "<saml:Assertion",
        &format!("<saml:Assertion{SAML_NS}"),
        1,
    )
}

/// The response template with its Assertion replaced by `<saml:EncryptedAssertion>` holding the
/// encryption of `inner`'s (signed) Assertion; the Response signed as `response_sig` says.
fn encrypted_response(inner: Fixture, enc: Enc, response_sig: Option<Sig>) -> String {
    let encrypted = encrypt(&standalone_assertion(&inner.build()), enc);
    wrap_encrypted(
        &format!("<saml:EncryptedAssertion>{encrypted}</saml:EncryptedAssertion>"),
        response_sig,
    )
}

fn wrap_encrypted(encrypted_assertion: &str, response_sig: Option<Sig>) -> String {
    let template = read_fixture("response.xml");
    let assertion = slice_element(&template, "<saml:Assertion ", "</saml:Assertion>");
    Fixture {
        xml: template.replace(assertion, encrypted_assertion),
        assertion_sig: None,
        response_sig,
    }
    .build()
}

fn enc(data: &str) -> Enc<'static> {
    let cert: &'static Path = Box::leak(sp_enc_cert().into_boxed_path());
    Enc {
        data: Box::leak(data.to_owned().into_boxed_str()),
        key: RSA_OAEP,
        cert,
    }
}

/// The default encrypted response: signed Assertion, AES-256-GCM, RSA-OAEP, to the SP's key.
fn encrypted_default() -> &'static str {
    static CELL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CELL.get_or_init(|| encrypted_response(Fixture::new(), enc(AES256_GCM), None))
}

#[track_caller]
fn rejected(result: Result<VerifiedResponse, Rejection>, code: &str) -> Rejection {
    assert_rejected_with(result, code)
}

// ---------------------------------------------------------------------------------------------
// Acceptance, for each data algorithm

#[test]
fn encrypted_signed_assertion_is_decrypted_and_verified_for_each_allowed_data_algorithm() {
    for data in [AES128_GCM, AES256_GCM, AES128_CBC, AES256_CBC] {
        let xml = if data == AES256_GCM {
            encrypted_default().to_owned()
        } else {
            encrypted_response(Fixture::new(), enc(data), None)
        };
        let cbc = data.ends_with("-cbc");
        let v = verify_with(&xml, |p| p.allow_cbc = cbc).unwrap_or_else(|r| panic!("{data}: {r}"));
        assert_eq!(v.assertion_id, "_assert-9b2e41", "{data}");
        assert_eq!(v.name_id.as_deref(), Some("alice@example.com"));
        assert_eq!(v.attribute_values("groups"), ["staff", "admins"]);
        assert_eq!(v.signature.signed_element, SignedElement::Assertion);
        assert!(v.encrypted.assertion && !v.encrypted.name_id && !v.encrypted.attributes);
        check_in_response_to(&v, Some("_req-42"), false).expect("InResponseTo");
    }
}

#[test]
fn aes_cbc_is_refused_by_default_with_the_one_decryption_code() {
    // "One Bad Apple" (NDSS 2013): CBC is malleable, so it is refused unless allow_cbc.
    for data in [AES128_CBC, AES256_CBC] {
        let xml = encrypted_response(Fixture::new(), enc(data), None);
        let r = rejected(verify_enc(&xml), "decryption.failed");
        assert!(r.message.contains("allow_cbc"), "{data}: {}", r.message);
        assert!(r.message.contains(data), "{data}: {}", r.message);
    }
}

#[test]
fn aes192_is_not_among_the_allowed_data_algorithms() {
    let xml = encrypted_response(Fixture::new(), enc(AES192_CBC), None);
    let r = rejected(verify_enc(&xml), "decryption.failed");
    assert!(r.message.contains("aes192-cbc"), "{}", r.message);
}

#[test]
fn encrypted_key_beside_the_encrypted_data_is_found() {
    // Some IdPs put the EncryptedKey as a sibling of EncryptedData (with a RetrievalMethod).
    let xml = encrypted_default();
    let key = slice_element(xml, "<xenc:EncryptedKey>", "</xenc:EncryptedKey>");
    let moved = xml
        .replace(
            key,
            r##"<ds:RetrievalMethod URI="#k1" Type="http://www.w3.org/2001/04/xmlenc#EncryptedKey"/>"##,
        )
        .replace(
            "</xenc:EncryptedData>",
            &format!(
                "</xenc:EncryptedData>{}",
                key.replacen(
                    "<xenc:EncryptedKey>",
                    r#"<xenc:EncryptedKey xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Id="k1">"#,
                    1
                )
            ),
        );
    let v = verify_enc(&moved).expect("sibling EncryptedKey");
    assert!(v.encrypted.assertion);
}

#[test]
fn plaintext_and_encrypted_assertions_pass_unless_encryption_is_required() {
    verify_with(signed_default(), |_| {}).expect("plaintext accepted by default");
    let r = rejected(
        verify_with(signed_default(), |p| p.require_encrypted_assertions = true),
        "encryption.required",
    );
    assert_eq!(r.context.subject.as_deref(), Some("alice@example.com"));
    verify_with(encrypted_default(), |p| {
        p.require_encrypted_assertions = true
    })
    .expect("encrypted accepted when required");
}

// ---------------------------------------------------------------------------------------------
// Key transport policy

#[test]
fn rsa15_key_transport_is_refused_by_default_and_accepted_with_allow_rsa15() {
    let xml = encrypted_response(
        Fixture::new(),
        Enc {
            key: RSA_1_5,
            ..enc(AES128_GCM)
        },
        None,
    );
    let r = rejected(verify_enc(&xml), "decryption.failed");
    assert!(r.message.contains("allow_rsa15"), "{}", r.message);
    let v = verify_with(&xml, |p| p.allow_rsa15 = true).expect("RSA 1.5 allowed");
    assert!(v.encrypted.assertion);
}

#[test]
fn xmlenc11_rsa_oaep_is_reported_as_unsupported_by_this_xmlsec() {
    let xml = encrypted_default().replace(RSA_OAEP, RSA_OAEP_11);
    let r = rejected(verify_enc(&xml), "decryption.failed");
    assert!(r.message.contains("not supported"), "{}", r.message);
}

// ---------------------------------------------------------------------------------------------
// Uniform failures

#[test]
fn wrong_key_corrupt_data_corrupt_key_and_no_key_all_give_one_code_and_one_summary() {
    let wrong_key = encrypted_response(
        Fixture::new(),
        Enc {
            cert: &attacker_cert(),
            ..enc(AES256_GCM)
        },
        None,
    );
    let xml = encrypted_default();
    let cipher_values: Vec<&str> = xml
        .match_indices("<xenc:CipherValue>")
        .map(|(i, _)| &xml[i..])
        .collect();
    assert_eq!(cipher_values.len(), 2, "EncryptedKey's and EncryptedData's");
    let flip = |from: &str| {
        // Change one base64 character inside the CipherValue that starts with `from`.
        let at = xml.find(from).unwrap() + "<xenc:CipherValue>".len() + 10;
        let mut bytes = xml.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    let data_start = &cipher_values[1][..40];
    let key_start = &cipher_values[0][..40];
    let cases = [
        ("wrong key", verify_enc(&wrong_key)),
        ("corrupt data", verify_enc(&flip(data_start))),
        ("corrupt key", verify_enc(&flip(key_start))),
        ("corrupt CBC", {
            let cbc = encrypted_response(Fixture::new(), enc(AES128_CBC), None);
            let at = cbc.rfind("</xenc:CipherValue>").unwrap() - 6;
            let mut bytes = cbc.into_bytes();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            verify_enc(&String::from_utf8(bytes).unwrap())
        }),
        ("no key", verify_with(xml, |p| p.decryption_keys.clear())),
    ];
    let mut messages = std::collections::BTreeSet::new();
    for (case, result) in cases {
        let r = rejected(result, "decryption.failed");
        assert_eq!(
            r.reason.summary(),
            "The encrypted part of the SAML response could not be decrypted.",
            "{case}"
        );
        assert!(
            r.message.starts_with("EncryptedAssertion: "),
            "{case}: {}",
            r.message
        );
        assert!(
            r.context.facts.encrypted.assertion,
            "{case}: facts say encrypted"
        );
        messages.insert(r.message);
    }
    assert!(
        messages.len() > 1,
        "the audit messages say which failure it was"
    );
}

#[test]
fn cipher_reference_is_never_fetched() {
    let xml = encrypted_default();
    let data_cipher = xml.rfind("<xenc:CipherData>").unwrap();
    let end = xml.rfind("</xenc:CipherData>").unwrap();
    let xml = format!(
        "{}<xenc:CipherData><xenc:CipherReference URI=\"file:///etc/passwd\"/>{}",
        &xml[..data_cipher],
        &xml[end..]
    );
    let r = rejected(verify_enc(&xml), "decryption.failed");
    assert!(r.message.contains("CipherReference"), "{}", r.message);
}

#[test]
fn encrypted_plaintext_that_is_not_an_assertion_fails_decryption() {
    let name_id = format!("<saml:NameID{SAML_NS}>mallory@example.com</saml:NameID>");
    let xml = wrap_encrypted(
        &format!(
            "<saml:EncryptedAssertion>{}</saml:EncryptedAssertion>",
            encrypt(&name_id, enc(AES256_GCM))
        ),
        None,
    );
    let r = rejected(verify_enc(&xml), "decryption.failed");
    assert!(
        r.message.contains("not exactly one saml:Assertion"),
        "{}",
        r.message
    );
}

#[test]
fn two_encrypted_assertions_or_one_beside_a_plaintext_assertion_are_refused() {
    let xml = encrypted_default();
    let one = slice_element(
        xml,
        "<saml:EncryptedAssertion>",
        "</saml:EncryptedAssertion>",
    );
    let two = xml.replace(one, &format!("{one}{one}"));
    rejected(verify_enc(&two), "structure.assertion_count");
    let plain = standalone_assertion(signed_default());
    let mixed = xml.replace(one, &format!("{one}{plain}"));
    rejected(verify_enc(&mixed), "structure.assertion_count");
}

// ---------------------------------------------------------------------------------------------
// The decrypted assertion still needs the IdP's signature

#[test]
fn encrypted_unsigned_assertion_is_signature_missing() {
    let xml = encrypted_response(Fixture::new().assertion_sig(None), enc(AES256_GCM), None);
    rejected(verify_enc(&xml), "signature.missing");
}

#[test]
fn encrypted_assertion_signed_by_an_attacker_is_signature_invalid() {
    let attacker = Sig {
        key: "attacker".into(),
        ..Sig::default()
    };
    let xml = encrypted_response(
        Fixture::new().assertion_sig(Some(attacker)),
        enc(AES256_GCM),
        None,
    );
    rejected(verify_enc(&xml), "signature.invalid");
}

#[test]
fn response_signature_over_the_ciphertext_is_verified_before_decryption() {
    // Unsigned assertion, Response signed over the EncryptedAssertion.
    let xml = encrypted_response(
        Fixture::new().assertion_sig(None),
        enc(AES128_GCM),
        Some(Sig::default()),
    );
    rejected(verify_enc(&xml), "signature.missing");
    let v = verify_with(&xml, |p| p.accept_response_signature = true).expect("accepted");
    assert_eq!(v.signature.signed_element, SignedElement::Response);
    // Both signed: each verified, the Response's on the ciphertext.
    let both = encrypted_response(Fixture::new(), enc(AES128_GCM), Some(Sig::default()));
    let v = verify_enc(&both).expect("both signatures");
    assert_eq!(v.signature.signed_element, SignedElement::Both);
    // A changed ciphertext breaks the Response signature before anything is decrypted.
    let at = both.rfind("</xenc:CipherValue>").unwrap() - 8;
    let mut bytes = both.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    rejected(
        verify_enc(&String::from_utf8(bytes).unwrap()),
        "signature.invalid",
    );
}

// ---------------------------------------------------------------------------------------------
// EncryptedID and EncryptedAttribute

const NAME_ID: &str = r#"<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@example.com</saml:NameID>"#;

fn groups_attribute(xml: &str) -> &str {
    slice_element(
        xml,
        r#"<saml:Attribute Name="groups">"#,
        "</saml:Attribute>",
    )
}

#[test]
fn encrypted_id_and_encrypted_attribute_are_decrypted_and_read() {
    let template = read_fixture("response.xml");
    let groups = groups_attribute(&template).to_owned();
    let enc_id = encrypt(
        &NAME_ID.replacen("<saml:NameID", &format!("<saml:NameID{SAML_NS}"), 1),
        enc(AES128_GCM),
    );
    let enc_attr = encrypt(
        &groups.replacen("<saml:Attribute", &format!("<saml:Attribute{SAML_NS}"), 1),
        enc(AES256_GCM),
    );
    let fixture = Fixture::new()
        .edit(
            NAME_ID,
            &format!("<saml:EncryptedID>{enc_id}</saml:EncryptedID>"),
        )
        .edit(
            &groups,
            &format!("<saml:EncryptedAttribute>{enc_attr}</saml:EncryptedAttribute>"),
        );
    let plain_assertion = fixture.clone().build();
    let v = verify_enc(&plain_assertion).expect("plaintext assertion with encrypted parts");
    assert_eq!(v.name_id.as_deref(), Some("alice@example.com"));
    assert_eq!(v.attribute_values("groups"), ["staff", "admins"]);
    assert!(!v.encrypted.assertion && v.encrypted.name_id && v.encrypted.attributes);

    let all = encrypted_response(fixture, enc(AES128_GCM), None);
    let v = verify_enc(&all).expect("everything encrypted");
    assert_eq!(v.name_id.as_deref(), Some("alice@example.com"));
    assert_eq!(v.first_attribute_value("groups"), Some("staff"));
    assert!(v.encrypted.assertion && v.encrypted.name_id && v.encrypted.attributes);

    let r = rejected(
        verify_with(&plain_assertion, |p| p.decryption_keys.clear()),
        "decryption.failed",
    );
    assert!(r.message.starts_with("saml:EncryptedID"), "{}", r.message);
}

// ---------------------------------------------------------------------------------------------
// A real IdP: SimpleSAMLphp, encrypted assertion, RSA-SHA1 signatures (fixtures/real/README.md)

fn real_policy() -> VerifyPolicy {
    let mut p = VerifyPolicy::new(
        "http://pytoolkit.com:8000/metadata/",
        "http://pytoolkit.com:8000/?acs",
        vec![read_fixture("real/simplesamlphp2014.crt")],
    );
    p.idp_entity_id = Some("https://idp.example.com/simplesaml/saml2/idp/metadata.php".into());
    p.decryption_keys = vec![DecryptionKey::from_pem(read_fixture(
        "real/simplesamlphp2014_sp.key",
    ))];
    p.allow_sha1 = true;
    // A 2014 SimpleSAMLphp: AES-128-CBC and a 1024-bit signing key.
    p.allow_cbc = true;
    p.min_rsa_bits = 1024;
    p
}

#[test]
fn the_real_simplesamlphp_response_is_refused_without_allow_cbc_or_with_the_default_min_rsa_bits() {
    let xml = read_fixture("real/simplesamlphp2014_encrypted_response.xml");
    let now = datetime!(2014-09-24 00:50:00 UTC);
    let mut no_cbc = real_policy();
    no_cbc.allow_cbc = false;
    let r = rejected(
        verify_response(xml.as_bytes(), &no_cbc, now),
        "decryption.failed",
    );
    assert!(r.message.contains("aes128-cbc"), "{}", r.message);
    let mut strict_key = real_policy();
    strict_key.min_rsa_bits = 2048;
    let r = rejected(
        verify_response(xml.as_bytes(), &strict_key, now),
        "signature.weak_key",
    );
    assert!(r.message.contains("1024-bit"), "{}", r.message);
}

#[test]
fn a_real_simplesamlphp_encrypted_sha1_response_is_accepted_only_with_key_and_sha1() {
    let xml = read_fixture("real/simplesamlphp2014_encrypted_response.xml");
    let now = datetime!(2014-09-24 00:50:00 UTC);
    let v = verify_response(xml.as_bytes(), &real_policy(), now).expect("accepted");
    assert_eq!(v.signature.signed_element, SignedElement::Both);
    assert_eq!(v.signature.signature_algorithm, RSA_SHA1);
    assert!(v.encrypted.assertion);
    assert_eq!(v.first_attribute_value("mail"), Some("smartin@yaco.es"));
    check_in_response_to(
        &v,
        Some("ONELOGIN_fd78d8a622d0010771932870724f3843816d398a"),
        false,
    )
    .expect("answers its request");

    let mut no_key = real_policy();
    no_key.decryption_keys.clear();
    rejected(
        verify_response(xml.as_bytes(), &no_key, now),
        "decryption.failed",
    );
    let mut wrong_key = real_policy();
    wrong_key.decryption_keys = enc_policy().decryption_keys;
    rejected(
        verify_response(xml.as_bytes(), &wrong_key, now),
        "decryption.failed",
    );
    let mut no_sha1 = real_policy();
    no_sha1.allow_sha1 = false;
    rejected(
        verify_response(xml.as_bytes(), &no_sha1, now),
        "signature.weak_algorithm",
    );
}
