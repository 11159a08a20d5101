//! Cost of minting one signed `valid` response (build + parse + RSA-2048 signature + serialise),
//! against one bare RSA-2048 signature with the same key, measured in the same run.
//!
//! Criterion times both (the thread's CPU time, `plumbing::bench`); then they are timed again
//! in interleaved rounds and the ratio is printed with its target: minting costs at most 1.3×
//! one RSA signature. `cargo bench -p mock-idp --bench mint` (append `-- --warm-up-time 1
//! --measurement-time 3` for a quick run; `SAMLCONF_BENCH_ROUNDS` sets the interleaved rounds).

use mock_idp::keys::IdpKeys;
use mock_idp::mint::{CounterIds, MintParams, mint_response};
use mock_idp::{profiles, users};
use plumbing::bench::{Clock, Op, Ratio, RsaBaseline, Target, criterion, interleaved, rounds};
use time::macros::datetime;

fn main() {
    let keys = IdpKeys::fixed_for_tests();
    let users = users::demo_users();
    let knobs = profiles::get("valid").expect("valid profile");
    let ids = CounterIds::new();
    let rsa = RsaBaseline::new(&keys.idp.key_pem, &keys.idp.cert_pem);
    let mint = || {
        mint_response(&MintParams {
            idp_entity_id: "http://idp.example/metadata".to_owned(),
            sp_entity_id: "http://sp.example/saml/metadata".to_owned(),
            acs_url: "http://sp.example/saml/acs".to_owned(),
            user: &users[0],
            in_response_to: Some("_request".to_owned()),
            now: datetime!(2026-01-01 0:00 UTC),
            knobs: &knobs,
            keys: &keys,
            ids: &ids,
            session_index: None,
            sp_encryption_cert_pem: None,
        })
        .expect("mint")
    };

    let mut c = criterion(Clock::Thread);
    c.bench_function("rsa2048/sign", |b| b.iter(|| rsa.sign()));
    c.bench_function("mint signed valid response", |b| b.iter(mint));
    c.final_summary();

    let mut ops = [
        Op::new("rsa2048 sign", || drop(rsa.sign())),
        Op::new("mint valid", || drop(mint())),
    ];
    interleaved(&mut ops, rounds(), Clock::Thread).report(
        "mint_response against the bare RSA-2048 signature",
        &[Ratio {
            numerator: "mint valid",
            denominator: &["rsa2048 sign"],
            target: Target::AtMost(1.3),
        }],
    );
}
