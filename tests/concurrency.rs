//! Minting and verifying on many threads at once, as the servers do under load.
//!
//! Regression: libxml2 2.9 intermittently lost elements when documents were parsed concurrently
//! with an explicit `encoding` (about 1 parse in 2,000 on this machine); both crates now parse
//! without one. A failure here is a thread-safety bug, never a flaky test.

use mock_idp::mint::{self, MintParams};
use time::macros::datetime;

#[test]
fn concurrent_mint_and_verify_never_fails() {
    let keys = mock_idp::keys::IdpKeys::fixed_for_tests();
    let threads: Vec<_> = (0..8)
        .map(|thread| {
            let keys = keys.clone();
            std::thread::spawn(move || {
                let users = mock_idp::users::demo_users();
                let policy = sp::verify::VerifyPolicy::new(
                    "https://sp.example/saml/metadata",
                    "https://sp.example/saml/acs",
                    vec![keys.idp.cert_pem.clone()],
                );
                let now = datetime!(2026-01-01 0:00 UTC);
                let mut failures = vec![];
                for i in 0..150 {
                    let profile = if (i + thread) % 2 == 0 {
                        "valid"
                    } else {
                        "entra-guid-groups"
                    };
                    let knobs = mock_idp::profiles::get(profile).expect("profile");
                    let minted = mint::mint_response(&MintParams {
                        idp_entity_id: "https://idp.example/metadata".into(),
                        sp_entity_id: "https://sp.example/saml/metadata".into(),
                        acs_url: "https://sp.example/saml/acs".into(),
                        user: &users[i % 4],
                        in_response_to: None,
                        now,
                        knobs: &knobs,
                        keys: &keys,
                        ids: &mint::RandomIds,
                        session_index: None,
                        sp_encryption_cert_pem: None,
                    });
                    match minted {
                        Err(e) => failures.push(format!("mint {profile}: {e}")),
                        Ok(m) => {
                            if let Err(e) =
                                sp::verify::verify_response(m.xml.as_bytes(), &policy, now)
                            {
                                failures.push(format!("verify {profile}: {e}"));
                            }
                        }
                    }
                }
                failures
            })
        })
        .collect();
    let failures: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("thread"))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of 1200 failed, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
}
