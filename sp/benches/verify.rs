//! Cost of `verify_response`, against the bare RSA-2048 verification with the same pinned key.
//!
//! Responses are signed once up front by the `xmlsec1` command (and encrypted by it), never by
//! mock-idp. Criterion times each operation (the thread's CPU time, `plumbing::bench`); then the operations are timed again in interleaved
//! rounds (`plumbing::bench`) and the ratios are printed with their targets:
//!
//! - verifying a typical response (one Assertion, five attributes, three groups) ≤ 4× one RSA
//!   verification;
//! - a structural refusal (an unsigned message, with a wrong audience or without) < 1× one RSA
//!   verification: cheap checks run first.
//!
//! `cargo bench -p sp --bench verify` (append `-- --warm-up-time 1 --measurement-time 3` for a
//! quick run; `SAMLCONF_BENCH_ROUNDS` sets the interleaved rounds).

use std::hint::black_box;
use std::path::Path;

use plumbing::bench::{Clock, Op, Ratio, RsaBaseline, Target, criterion, interleaved, rounds};
use sp::keys::SpEncryptionKeys;
use sp::verify::{DecryptionKey, VerifyPolicy, verify_response};

#[path = "../tests/verifier_support/mod.rs"]
mod verifier_support;
use verifier_support::{Fixture, NOW, policy, read_fixture, slice_element};

const AES256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
const RSA_OAEP: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";

/// An AttributeStatement with `mail`, `others` more single-valued attributes and a `groups`
/// attribute with `groups` values.
fn attribute_statement(others: usize, groups: usize) -> String {
    let one = |name: &str, values: &[String]| {
        let values: String = values
            .iter()
            .map(|v| format!("<saml:AttributeValue>{v}</saml:AttributeValue>"))
            .collect();
        format!(r#"<saml:Attribute Name="{name}">{values}</saml:Attribute>"#)
    };
    let mut out = String::from("<saml:AttributeStatement>");
    out += &one("mail", &["alice@example.com".to_owned()]);
    for i in 0..others {
        out += &one(
            &format!("urn:example:attribute:{i}"),
            &[format!("value {i}")],
        );
    }
    let groups: Vec<String> = (0..groups).map(|g| format!("group-{g}")).collect();
    out += &one("groups", &groups);
    out + "</saml:AttributeStatement>"
}

/// The fixture with its AttributeStatement replaced.
fn with_attributes(statement: &str) -> Fixture {
    let template = read_fixture("response.xml");
    let old = slice_element(
        &template,
        "<saml:AttributeStatement>",
        "</saml:AttributeStatement>",
    )
    .to_owned();
    Fixture::new().edit(&old, statement)
}

/// `response` with its (signed) Assertion encrypted to the SP's key by `xmlsec1 --encrypt`.
fn encrypted(response: &str) -> String {
    let assertion = slice_element(response, "<saml:Assertion ", "</saml:Assertion>");
    let standalone = assertion.replacen(
        "<saml:Assertion",
        r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion""#,
        1,
    );
    let template = read_fixture("encrypted/encrypted-data.xml")
        .replace("{{DATA_ALGORITHM}}", AES256_GCM)
        .replace("{{KEY_ALGORITHM}}", RSA_OAEP);
    let cert = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sp-enc.crt");
    let data = plumbing::xmlsec1::encrypt(&template, &standalone, &cert, "aes-256");
    let data = data.trim_start_matches("<?xml version=\"1.0\"?>").trim();
    response.replace(
        assertion,
        &format!("<saml:EncryptedAssertion>{data}</saml:EncryptedAssertion>"),
    )
}

/// `xml` with one base64 character of its first SignatureValue changed (still valid base64).
fn bad_signature(xml: &str) -> String {
    let start = xml.find("<ds:SignatureValue>").expect("SignatureValue") + 19 + 10;
    let mut bytes = xml.as_bytes().to_vec();
    bytes[start] = if bytes[start] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("utf-8")
}

struct Cases {
    typical: String,
    large: String,
    encrypted: String,
    bad_signature: String,
    unsigned_wrong_audience: String,
    unsigned: String,
}

fn cases() -> Cases {
    let typical = with_attributes(&attribute_statement(3, 3)).build();
    Cases {
        large: with_attributes(&attribute_statement(48, 200)).build(),
        encrypted: encrypted(&typical),
        bad_signature: bad_signature(&typical),
        unsigned_wrong_audience: with_attributes(&attribute_statement(3, 3))
            .assertion_sig(None)
            .edit(
                "<saml:Audience>https://sp.test/metadata</saml:Audience>",
                "<saml:Audience>https://other.test/metadata</saml:Audience>",
            )
            .build(),
        unsigned: with_attributes(&attribute_statement(3, 3))
            .assertion_sig(None)
            .build(),
        typical,
    }
}

fn encryption_policy() -> VerifyPolicy {
    let mut p = policy();
    p.decryption_keys = vec![DecryptionKey::from_pem(
        SpEncryptionKeys::fixed_for_tests().key_pem,
    )];
    p
}

fn main() {
    let cases = cases();
    let policy = policy();
    let enc_policy = encryption_policy();
    let rsa = RsaBaseline::new(&read_fixture("keys/idp.key"), &read_fixture("keys/idp.crt"));
    let accept = |xml: &str, policy: &VerifyPolicy| {
        verify_response(black_box(xml.as_bytes()), policy, NOW).expect("accepted")
    };
    let refuse = |xml: &str, code: &str| {
        let r = verify_response(black_box(xml.as_bytes()), &policy, NOW).expect_err("refused");
        debug_assert_eq!(r.reason.code(), code);
        r
    };
    // Each case is what it claims to be.
    let v = accept(&cases.typical, &policy);
    assert_eq!(
        (v.attributes.len(), v.attribute_values("groups").len()),
        (5, 3)
    );
    let v = accept(&cases.large, &policy);
    assert_eq!(
        (v.attributes.len(), v.attribute_values("groups").len()),
        (50, 200)
    );
    assert!(accept(&cases.encrypted, &enc_policy).encrypted.assertion);
    for (xml, code) in [
        (&cases.bad_signature, "signature.invalid"),
        (&cases.unsigned_wrong_audience, "signature.missing"),
        (&cases.unsigned, "signature.missing"),
    ] {
        let got = verify_response(xml.as_bytes(), &policy, NOW).expect_err("refused");
        assert_eq!(got.reason.code(), code, "{}", got.message);
    }

    let mut c = criterion(Clock::Thread);
    c.bench_function("rsa2048/verify", |b| b.iter(|| assert!(rsa.verify())));
    c.bench_function("verify_response/typical", |b| {
        b.iter(|| accept(&cases.typical, &policy))
    });
    c.bench_function("verify_response/large_200_groups_50_attributes", |b| {
        b.iter(|| accept(&cases.large, &policy))
    });
    c.bench_function("verify_response/encrypted", |b| {
        b.iter(|| accept(&cases.encrypted, &enc_policy))
    });
    c.bench_function("verify_response/refused_bad_signature", |b| {
        b.iter(|| refuse(&cases.bad_signature, "signature.invalid"))
    });
    c.bench_function("verify_response/refused_unsigned_wrong_audience", |b| {
        b.iter(|| refuse(&cases.unsigned_wrong_audience, "signature.missing"))
    });
    c.bench_function("verify_response/refused_unsigned", |b| {
        b.iter(|| refuse(&cases.unsigned, "signature.missing"))
    });
    c.bench_function("rsa2048/sign", |b| b.iter(|| rsa.sign()));
    c.final_summary();

    let mut ops = [
        Op::new("rsa2048 verify", || assert!(rsa.verify())),
        Op::new("rsa2048 sign", || drop(rsa.sign())),
        Op::new("verify typical", || drop(accept(&cases.typical, &policy))),
        Op::new("verify large", || drop(accept(&cases.large, &policy))),
        Op::new("verify encrypted", || {
            drop(accept(&cases.encrypted, &enc_policy))
        }),
        Op::new("refuse bad signature", || {
            drop(refuse(&cases.bad_signature, "signature.invalid"))
        }),
        Op::new("refuse unsigned, wrong audience", || {
            drop(refuse(&cases.unsigned_wrong_audience, "signature.missing"))
        }),
        Op::new("refuse unsigned", || {
            drop(refuse(&cases.unsigned, "signature.missing"))
        }),
    ];
    let timed = interleaved(&mut ops, rounds(), Clock::Thread);
    let v = &["rsa2048 verify"][..];
    timed.report(
        "verify_response against the bare RSA-2048 verification",
        &[
            Ratio {
                numerator: "verify typical",
                denominator: v,
                target: Target::AtMost(4.0),
            },
            Ratio {
                numerator: "verify large",
                denominator: v,
                target: Target::None,
            },
            Ratio {
                // An RSA-OAEP key transport is one private-key operation, as costly as a signature.
                numerator: "verify encrypted",
                denominator: &["rsa2048 verify", "rsa2048 sign"],
                target: Target::None,
            },
            Ratio {
                numerator: "refuse bad signature",
                denominator: v,
                target: Target::None,
            },
            Ratio {
                numerator: "refuse unsigned, wrong audience",
                denominator: v,
                target: Target::Below(1.0),
            },
            Ratio {
                numerator: "refuse unsigned",
                denominator: v,
                target: Target::Below(1.0),
            },
        ],
    );
}
