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
