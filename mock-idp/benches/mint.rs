//! Cost of minting one signed `valid` response (build + parse + RSA-2048 signature + serialise).

use criterion::{Criterion, criterion_group, criterion_main};
use mock_idp::keys::IdpKeys;
use mock_idp::mint::{CounterIds, MintParams, mint_response};
use mock_idp::{profiles, users};
use time::macros::datetime;

fn mint_valid(c: &mut Criterion) {
    let keys = IdpKeys::fixed_for_tests();
    let users = users::demo_users();
    let knobs = profiles::get("valid").expect("valid profile");
    let ids = CounterIds::new();
    c.bench_function("mint signed valid response", |b| {
        b.iter(|| {
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
        })
    });
}

criterion_group!(benches, mint_valid);
criterion_main!(benches);
