//! Cost of `verify_response` on a typical Assertion-signed response (RSA-2048, SHA-256), signed
//! once up front by the `xmlsec1` command.

use criterion::{Criterion, criterion_group, criterion_main};
use sp::verify::{VerifyPolicy, verify_response};
use time::macros::datetime;

#[path = "../tests/verifier_support/mod.rs"]
mod verifier_support;

fn bench(c: &mut Criterion) {
    let xml = verifier_support::Fixture::new().build();
    let policy: VerifyPolicy = verifier_support::policy();
    let now = datetime!(2030-01-01 00:00:00 UTC);
    verify_response(xml.as_bytes(), &policy, now).expect("fixture verifies");
    c.bench_function("verify_response/assertion_signed_rsa2048_sha256", |b| {
        b.iter(|| verify_response(std::hint::black_box(xml.as_bytes()), &policy, now).expect("ok"))
    });
    let both = verifier_support::Fixture::new()
        .response_sig(Some(Default::default()))
        .build();
    c.bench_function("verify_response/both_signed", |b| {
        b.iter(|| verify_response(std::hint::black_box(both.as_bytes()), &policy, now).expect("ok"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
