//! Responses captured from real IdPs (see `fixtures/real/README.md`): accepted inside their
//! validity window with their own audience/ACS/issuer, and rejected when any letter of the signed
//! content changes.

mod verifier_support;

use sp::verify::{SignedElement, VerifyPolicy, check_in_response_to, verify_response};
use time::OffsetDateTime;
use time::macros::datetime;
use verifier_support::{assert_rejected_with, read_fixture};

struct Real {
    file: &'static str,
    cert: &'static str,
    sp_entity_id: &'static str,
    acs_url: &'static str,
    idp: &'static str,
    sha1: bool,
    now: OffsetDateTime,
}

const SECUREWORKS: Real = Real {
    file: "real/secureworks2017_response.xml",
    cert: "real/secureworks2017.crt",
    sp_entity_id: "https://preview.docrocket-ross.test.octolabs.io/saml/metadata",
    acs_url: "https://preview.docrocket-ross.test.octolabs.io/saml/acs",
    idp: "https://idp.secureworks.com/SAML2",
    sha1: true,
    now: datetime!(2017-04-21 13:13:30 UTC),
};

const OKTA: Real = Real {
    file: "real/okta2016_response.xml",
    cert: "real/okta2016.crt",
    sp_entity_id: "http://saml-test.apphb.com/",
    acs_url: "http://localhost:63268/auth/callback",
    idp: "http://www.okta.com/exk6jz4u9aSppsFut0h7",
    sha1: false,
    now: datetime!(2016-08-20 20:32:00 UTC),
};

impl Real {
    fn policy(&self) -> VerifyPolicy {
        let mut p = VerifyPolicy::new(
            self.sp_entity_id,
            self.acs_url,
            vec![read_fixture(self.cert)],
        );
        p.idp_entity_id = Some(self.idp.to_owned());
        p.allow_sha1 = self.sha1;
        p
    }

    fn xml(&self) -> String {
        read_fixture(self.file)
    }

    /// Byte offsets of every ASCII letter/digit of the Assertion outside its ds:Signature and
    /// outside namespace declarations. (Exclusive c14n omits a declaration nothing uses, so
    /// renaming `xmlns:xs` to `xmlns:ys` where an ancestor also declares `xs` legitimately keeps
    /// the canonical form, and the signature, unchanged.)
    fn signed_letters(&self, xml: &str) -> Vec<usize> {
        let ns_decls: Vec<std::ops::Range<usize>> = xml
            .match_indices(" xmlns")
            .filter_map(|(i, _)| {
                let open = xml[i..].find('"')? + i;
                let close = xml[open + 1..].find('"')? + open + 1;
                Some(i..close + 1)
            })
            .collect();
        let start = xml.find(":Assertion ").expect("assertion");
        let end = xml.rfind(":Assertion>").expect("assertion end");
        let sig_start = xml[start..]
            .find("<ds:Signature")
            .map(|i| i + start)
            .expect("signature");
        let sig_end = xml[sig_start..]
            .find("</ds:Signature>")
            .map(|i| i + sig_start + 15)
            .expect("sig end");
        (start..end)
            .filter(|i| !(sig_start..sig_end).contains(i))
            .filter(|i| !ns_decls.iter().any(|r| r.contains(i)))
            .filter(|&i| xml.as_bytes()[i].is_ascii_alphanumeric())
            .collect()
    }
}

#[test]
fn secureworks_assertion_signed_sha1_response_is_accepted_when_sha1_allowed() {
    let r = SECUREWORKS;
    let v = verify_response(r.xml().as_bytes(), &r.policy(), r.now).expect("accepted");
    assert_eq!(v.name_id.as_deref(), Some("rkinder@secureworks.com"));
    assert_eq!(v.signature.signed_element, SignedElement::Assertion);
    check_in_response_to(
        &v,
        Some("id-3992f74e652d89c3cf1efd6c7e472abaac9bc917"),
        false,
    )
    .expect("solicited");
}

#[test]
fn secureworks_sha1_response_is_rejected_as_weak_by_default() {
    let r = SECUREWORKS;
    let mut p = r.policy();
    p.allow_sha1 = false;
    assert_rejected_with(
        verify_response(r.xml().as_bytes(), &p, r.now),
        "signature.weak_algorithm",
    );
}

#[test]
fn okta_response_with_both_signatures_and_inclusive_namespaces_is_accepted() {
    let r = OKTA;
    let v = verify_response(r.xml().as_bytes(), &r.policy(), r.now).expect("accepted");
    assert_eq!(v.name_id.as_deref(), Some("starteleport@yandex.ru"));
    assert_eq!(v.signature.signed_element, SignedElement::Both);
    assert_eq!(v.first_attribute_value("firstName"), Some("Nikolay"));
}

#[test]
fn real_responses_expire() {
    for r in [SECUREWORKS, OKTA] {
        let later = r.now + time::Duration::hours(1);
        assert_rejected_with(
            verify_response(r.xml().as_bytes(), &r.policy(), later),
            "time.expired",
        );
    }
}

#[test]
fn real_responses_are_rejected_when_one_signed_letter_changes() {
    for r in [SECUREWORKS, OKTA] {
        let xml = r.xml();
        let policy = r.policy();
        let positions = r.signed_letters(&xml);
        assert!(positions.len() > 300, "{}: too few positions", r.file);
        for i in positions {
            let mut bytes = xml.clone().into_bytes();
            let b = bytes[i];
            bytes[i] = if b == b'z' {
                b'y'
            } else if b == b'Z' {
                b'Y'
            } else if b == b'9' {
                b'8'
            } else {
                b + 1
            };
            if let Ok(v) = verify_response(&bytes, &policy, r.now) {
                panic!(
                    "{}: changing byte {i} ({:?}) was accepted: {v:?}",
                    r.file, b as char
                );
            }
        }
    }
}

#[test]
fn real_response_nameid_change_breaks_the_signature() {
    let r = SECUREWORKS;
    let xml = r.xml().replacen("rkinder@", "rkindes@", 1);
    assert_rejected_with(
        verify_response(xml.as_bytes(), &r.policy(), r.now),
        "signature.invalid",
    );
}

// ---------------------------------------------------------------------------------------------
// More captured responses (fixtures/real/README.md): ADFS, Google Workspace, Okta with an
// EncryptedAssertion, Shibboleth (TestShib) with an EncryptedAssertion, OneLogin. Each needs the
// policy a real SP would configure for that IdP, and no more.

/// Which bytes the response's signature covers, for the one-letter tamper test.
#[derive(Clone, Copy, Debug)]
enum Covered {
    /// The Assertion element (assertion-signed).
    Assertion,
    /// The whole Response element (Response-signed, the Assertion inside it unsigned).
    Response,
    /// The ciphertext of the EncryptedAssertion, whose plaintext Assertion is signed.
    Ciphertext,
}

struct Captured {
    file: &'static str,
    cert: &'static str,
    sp_key: Option<&'static str>,
    sp_entity_id: &'static str,
    acs_url: &'static str,
    idp: &'static str,
    in_response_to: &'static str,
    now: OffsetDateTime,
    sha1: bool,
    response_signature: bool,
    /// AES-CBC data encryption (needs `allow_cbc`).
    cbc: bool,
    covered: Covered,
    signed_element: SignedElement,
}

const ADFS: Captured = Captured {
    file: "real/adfs2022_response.xml",
    cert: "real/adfs2022.crt",
    sp_key: None,
    sp_entity_id: "memoio-staging",
    acs_url: "https://memoio.staging.scireum.com/saml/login",
    idp: "https://sso.hq.scireum.com/adfs/services/trust",
    in_response_to: "identifier_1652354198578",
    now: datetime!(2022-05-12 11:17:30 UTC),
    sha1: false,
    response_signature: false,
    cbc: false,
    covered: Covered::Assertion,
    signed_element: SignedElement::Assertion,
};

const GOOGLE: Captured = Captured {
    file: "real/google2021_response.xml",
    cert: "real/google2021.crt",
    sp_key: None,
    sp_entity_id: "https://neptune.as207960.net/entity",
    acs_url: "https://as207960-neptune.eu.ngrok.io/saml2/assertion_consumer",
    idp: "https://accounts.google.com/o/saml2?idpid=C01n8o8t6",
    in_response_to: "test",
    now: datetime!(2021-07-29 12:35:00 UTC),
    sha1: false,
    response_signature: true,
    cbc: false,
    covered: Covered::Response,
    signed_element: SignedElement::Response,
};

const OKTA_ENCRYPTED: Captured = Captured {
    file: "real/okta2020_encrypted_response.xml",
    cert: "real/okta2020.crt",
    sp_key: Some("real/crewjam2013_sp.key"),
    sp_entity_id: "http://localhost:8000/saml/metadata",
    acs_url: "http://localhost:8000/saml/acs",
    idp: "http://www.okta.com/exkppsa1qwuFV4D7z0h7",
    in_response_to: "id-a7364d1e4432aa9085a7a8bd824ea2fa8fa8f684",
    now: datetime!(2020-03-03 19:24:30 UTC),
    sha1: false,
    response_signature: true,
    cbc: true,
    covered: Covered::Response,
    signed_element: SignedElement::Response,
};

const TESTSHIB_ENCRYPTED: Captured = Captured {
    file: "real/testshib2015_encrypted_response.xml",
    cert: "real/testshib2015.crt",
    sp_key: Some("real/crewjam2013_sp.key"),
    sp_entity_id: "https://15661444.ngrok.io/saml2/metadata",
    acs_url: "https://15661444.ngrok.io/saml2/acs",
    idp: "https://idp.testshib.org/idp/shibboleth",
    in_response_to: "id-9e61753d64e928af5a7a341a97f420c9",
    now: datetime!(2015-12-01 01:57:00 UTC),
    sha1: false,
    response_signature: false,
    cbc: true,
    covered: Covered::Ciphertext,
    signed_element: SignedElement::Assertion,
};

const ONELOGIN: Captured = Captured {
    file: "real/onelogin2016_response.xml",
    cert: "real/onelogin2016.crt",
    sp_key: None,
    sp_entity_id: "https://29ee6d2e.ngrok.io/saml/metadata",
    acs_url: "https://29ee6d2e.ngrok.io/saml/acs",
    idp: "https://app.onelogin.com/saml/metadata/503983",
    in_response_to: "id-d40c15c104b52691eccf0a2a5c8a15595be75423",
    now: datetime!(2016-01-05 17:53:12 UTC),
    sha1: true,
    response_signature: true,
    cbc: false,
    covered: Covered::Response,
    signed_element: SignedElement::Response,
};

const CAPTURED: [Captured; 5] = [ADFS, GOOGLE, OKTA_ENCRYPTED, TESTSHIB_ENCRYPTED, ONELOGIN];

impl Captured {
    fn policy(&self) -> VerifyPolicy {
        let mut p = VerifyPolicy::new(
            self.sp_entity_id,
            self.acs_url,
            vec![read_fixture(self.cert)],
        );
        p.idp_entity_id = Some(self.idp.to_owned());
        p.allow_sha1 = self.sha1;
        p.accept_response_signature = self.response_signature;
        p.allow_cbc = self.cbc;
        p.decryption_keys = self
            .sp_key
            .map(|k| sp::verify::DecryptionKey::from_pem(read_fixture(k)))
            .into_iter()
            .collect();
        p
    }

    fn xml(&self) -> String {
        read_fixture(self.file)
    }

    fn verify(&self) -> sp::verify::VerifiedResponse {
        let v =
            verify_response(self.xml().as_bytes(), &self.policy(), self.now).unwrap_or_else(|r| {
                panic!("{}: refused: {} {}", self.file, r.reason.code(), r.message)
            });
        check_in_response_to(&v, Some(self.in_response_to), false)
            .unwrap_or_else(|r| panic!("{}: {}", self.file, r.message));
        assert_eq!(
            v.signature.signed_element, self.signed_element,
            "{}",
            self.file
        );
        assert_eq!(v.issuer, self.idp, "{}", self.file);
        v
    }

    /// Byte offsets of the ASCII letters and digits the signature covers (see [`Covered`]),
    /// outside every ds:Signature and every namespace declaration (exclusive c14n may drop an
    /// unused declaration, so renaming one need not break the signature).
    fn covered_letters(&self, xml: &str) -> Vec<usize> {
        let element = |name: &str| {
            let open = xml.find(&format!("{name} ")).expect("start tag");
            let start = xml[..open].rfind('<').expect("<");
            let end = xml.rfind(&format!("{name}>")).expect("end tag");
            start..end
        };
        let region = match self.covered {
            Covered::Assertion => element("Assertion"),
            Covered::Response => element("Response"),
            Covered::Ciphertext => {
                let end = xml.rfind("</xenc:CipherValue>").expect("ciphertext");
                xml[..end].rfind('>').expect(">") + 1..end
            }
        };
        let mut excluded: Vec<std::ops::Range<usize>> = xml
            .match_indices(" xmlns")
            .filter_map(|(i, _)| {
                let open = xml[i..].find('"')? + i;
                let close = xml[open + 1..].find('"')? + open + 1;
                Some(i..close + 1)
            })
            .collect();
        excluded.extend(xml.match_indices("<ds:Signature").map(|(i, _)| {
            let end = xml[i..].find("</ds:Signature>").expect("signature end");
            i..i + end + "</ds:Signature>".len()
        }));
        region
            .filter(|i| !excluded.iter().any(|r| r.contains(i)))
            .filter(|&i| xml.as_bytes()[i].is_ascii_alphanumeric())
            .collect()
    }
}

#[test]
fn adfs_response_with_default_namespace_assertion_and_no_nameid_is_accepted() {
    let v = ADFS.verify();
    assert_eq!(v.assertion_id, "_e1ab2d36-f043-47ea-8a1a-2c2910a5a8e9");
    assert_eq!(v.name_id, None, "ADFS sent no NameID, only attributes");
    assert_eq!(
        v.first_attribute_value(
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
        ),
        Some("jvo@scireum.de")
    );
    assert_eq!(v.audiences, ["memoio-staging"]);
}

#[test]
fn google_response_signed_only_on_the_response_needs_accept_response_signature() {
    let v = GOOGLE.verify();
    assert_eq!(v.name_id.as_deref(), Some("q@as207960.net"));
    assert_eq!(v.destination.as_deref(), Some(GOOGLE.acs_url));
    let mut strict = GOOGLE.policy();
    strict.accept_response_signature = false;
    assert_rejected_with(
        verify_response(GOOGLE.xml().as_bytes(), &strict, GOOGLE.now),
        "signature.missing",
    );
}

#[test]
fn okta_signed_response_with_unsigned_encrypted_assertion_needs_sp_key_and_response_signature() {
    let v = OKTA_ENCRYPTED.verify();
    assert_eq!(v.name_id.as_deref(), Some("testuser@testrsc.com"));
    assert!(v.encrypted.assertion);
    assert_eq!(v.first_attribute_value("Username"), Some("FixedValue"));
    let xml = OKTA_ENCRYPTED.xml();
    let mut no_key = OKTA_ENCRYPTED.policy();
    no_key.decryption_keys.clear();
    assert_rejected_with(
        verify_response(xml.as_bytes(), &no_key, OKTA_ENCRYPTED.now),
        "decryption.failed",
    );
    let mut strict = OKTA_ENCRYPTED.policy();
    strict.accept_response_signature = false;
    assert_rejected_with(
        verify_response(xml.as_bytes(), &strict, OKTA_ENCRYPTED.now),
        "signature.missing",
    );
}

#[test]
fn shibboleth_encrypted_assertion_signed_with_inclusive_namespaces_is_accepted() {
    let v = TESTSHIB_ENCRYPTED.verify();
    assert_eq!(
        v.name_id.as_deref(),
        Some("_41bd295976dadd70e1480f318e772841")
    );
    assert!(v.encrypted.assertion);
    assert_eq!(
        v.first_attribute_value("eduPersonPrincipalName"),
        Some("myself@testshib.org")
    );
    assert_eq!(
        v.attribute_values("eduPersonAffiliation"),
        ["Member", "Staff"]
    );
    let mut no_key = TESTSHIB_ENCRYPTED.policy();
    no_key.decryption_keys.clear();
    assert_rejected_with(
        verify_response(
            TESTSHIB_ENCRYPTED.xml().as_bytes(),
            &no_key,
            TESTSHIB_ENCRYPTED.now,
        ),
        "decryption.failed",
    );
}

#[test]
fn onelogin_sha1_response_signature_needs_both_flags() {
    let v = ONELOGIN.verify();
    assert_eq!(v.name_id.as_deref(), Some("ross@kndr.org"));
    assert_eq!(v.signature.signature_algorithm, RSA_SHA1_URI);
    let xml = ONELOGIN.xml();
    let mut no_sha1 = ONELOGIN.policy();
    no_sha1.allow_sha1 = false;
    assert_rejected_with(
        verify_response(xml.as_bytes(), &no_sha1, ONELOGIN.now),
        "signature.weak_algorithm",
    );
    let mut strict = ONELOGIN.policy();
    strict.accept_response_signature = false;
    assert_rejected_with(
        verify_response(xml.as_bytes(), &strict, ONELOGIN.now),
        "signature.missing",
    );
}

const RSA_SHA1_URI: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";

#[test]
fn captured_responses_expire() {
    for r in CAPTURED {
        let later = r.now + time::Duration::days(1);
        assert_rejected_with(
            verify_response(r.xml().as_bytes(), &r.policy(), later),
            "time.expired",
        );
    }
}

#[test]
fn captured_responses_are_rejected_when_one_covered_letter_changes() {
    for r in CAPTURED {
        let xml = r.xml();
        let policy = r.policy();
        let positions = r.covered_letters(&xml);
        assert!(
            positions.len() > 300,
            "{}: too few positions ({})",
            r.file,
            positions.len()
        );
        for i in positions {
            let mut bytes = xml.clone().into_bytes();
            let b = bytes[i];
            bytes[i] = match b {
                b'z' => b'y',
                b'Z' => b'Y',
                b'9' => b'8',
                _ => b + 1,
            };
            if let Ok(v) = verify_response(&bytes, &policy, r.now) {
                panic!(
                    "{}: changing byte {i} ({:?}) was accepted: {v:?}",
                    r.file, b as char
                );
            }
        }
    }
}

#[test]
fn captured_cbc_responses_are_refused_without_allow_cbc() {
    for r in [OKTA_ENCRYPTED, TESTSHIB_ENCRYPTED] {
        let mut p = r.policy();
        p.allow_cbc = false;
        let err = verify_response(r.xml().as_bytes(), &p, r.now).expect_err(r.file);
        assert_eq!(
            err.reason.code(),
            "decryption.failed",
            "{}: {}",
            r.file,
            err.message
        );
        assert!(err.message.contains("-cbc"), "{}: {}", r.file, err.message);
    }
}

#[test]
fn every_captured_response_is_inside_its_certificate_validity_at_its_own_instant() {
    for r in CAPTURED {
        let mut p = r.policy();
        p.idp_cert_expiry = sp::verify::CertificateExpiry::Refuse;
        let v = verify_response(r.xml().as_bytes(), &p, r.now)
            .unwrap_or_else(|e| panic!("{}: {} {}", r.file, e.reason.code(), e.message));
        assert_eq!(v.signature.certificate_warning, None, "{}", r.file);
    }
    for r in [SECUREWORKS, OKTA] {
        let mut p = r.policy();
        p.idp_cert_expiry = sp::verify::CertificateExpiry::Refuse;
        verify_response(r.xml().as_bytes(), &p, r.now)
            .unwrap_or_else(|e| panic!("{}: {} {}", r.file, e.reason.code(), e.message));
    }
}

#[test]
fn an_expired_pinned_certificate_warns_by_default_and_is_refused_with_refuse() {
    // TestShib's certificate ends 2016-08-27; judge the 2015 response as of 2016-09-01 (the time checks
    // on the message would fail, so clock_skew is made large enough to judge only the certificate).
    let r = TESTSHIB_ENCRYPTED;
    let later = datetime!(2016-09-01 00:00 UTC);
    let mut p = r.policy();
    p.clock_skew = time::Duration::days(400);
    let v = verify_response(r.xml().as_bytes(), &p, later).expect("accepted with a warning");
    let warning = v.signature.certificate_warning.expect("a warning");
    assert!(
        warning.contains("expired") && warning.contains("#0"),
        "{warning}"
    );
    p.idp_cert_expiry = sp::verify::CertificateExpiry::Refuse;
    // The capture is AES-CBC in an unsigned Response (allow_cbc): the certificates are judged
    // before any signature verifies, so telling this code would tell a modified ciphertext that its
    // plaintext parsed (the CBC format oracle). The browser gets decryption.failed; the audit
    // message keeps the code.
    let expired = "refused as signature.certificate_expired";
    let err = verify_response(r.xml().as_bytes(), &p, later).expect_err("refused");
    assert_eq!(err.reason.code(), "decryption.failed", "{}", err.message);
    assert!(err.message.contains(expired), "{}", err.message);
    // Not yet valid counts too: the same certificate before its notBefore (2006-08-30).
    let err = verify_response(r.xml().as_bytes(), &p, datetime!(2006-01-01 00:00 UTC))
        .expect_err("refused");
    assert_eq!(err.reason.code(), "decryption.failed", "{}", err.message);
    assert!(err.message.contains(expired), "{}", err.message);
    assert!(err.message.contains("not yet valid"), "{}", err.message);
}

#[test]
fn a_weak_pinned_key_beside_a_strong_one_blocks_only_what_it_verifies() {
    // Rotation: the weak certificate first, then the IdP's real one; only the real one verifies.
    let r = OKTA_ENCRYPTED;
    let mut p = r.policy();
    p.idp_certs_pem
        .insert(0, read_fixture("real/simplesamlphp2014.crt"));
    let v = verify_response(r.xml().as_bytes(), &p, r.now).expect("the strong key verifies");
    assert_eq!(v.signature.certificate_index, 1);
    // Only the weak one pinned: refused before any signature work, with the key's code.
    p.idp_certs_pem.truncate(1);
    let err = verify_response(r.xml().as_bytes(), &p, r.now).expect_err("weak only");
    assert_eq!(err.reason.code(), "signature.weak_key", "{}", err.message);
}
