//! Mints every signature-wrapping attack `N` times (first argument, default 3), for a leak check:
//! `valgrind --leak-check=full target/debug/examples/mint_attacks 5` must report no growth with `N`.

use mock_idp::keys::IdpKeys;
use mock_idp::mint::{CounterIds, MintParams, mint_response};
use time::macros::datetime;

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let keys = IdpKeys::fixed_for_tests();
    let user = mock_idp::users::demo_users().remove(0);
    let mut minted = 0usize;
    for _ in 0..rounds {
        // Every profile that applies a wrapping attack (each variant has one).
        for (name, _) in mock_idp::profiles::ALL {
            let Some(knobs) = mock_idp::profiles::get(name) else {
                continue;
            };
            let Some(attack) = knobs.signature_wrapping else {
                continue;
            };
            let ids = CounterIds::new();
            let result = mint_response(&MintParams {
                idp_entity_id: "http://127.0.0.1:8081/metadata".to_owned(),
                sp_entity_id: "http://127.0.0.1:8080/saml/metadata".to_owned(),
                acs_url: "http://127.0.0.1:8080/saml/acs".to_owned(),
                user: &user,
                in_response_to: Some("_request".to_owned()),
                now: datetime!(2026-01-01 0:00 UTC),
                knobs: &knobs,
                keys: &keys,
                ids: &ids,
                session_index: None,
                sp_encryption_cert_pem: None,
            });
            match result {
                Ok(_) => minted += 1,
                Err(e) => eprintln!("{attack:?}: {e}"),
            }
        }
    }
    println!("minted {minted} attack responses");
}
