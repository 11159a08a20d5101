//! Two SP nodes of one cluster (one configuration, one SQLite file, two pools and routers behind
//! two addresses): the replay cache and the outstanding requests are the cluster's, not a
//! node's. The same response posted to both nodes at once is accepted exactly once, because the
//! replay insert is one statement that fails on the primary key (not a check, then an insert).

use samlconf::driver::{HttpDriver, SignInOutcome};
use samlconf::harness::{Pair, PairOptions};
use time::macros::datetime;

async fn cluster() -> Pair {
    Pair::start(PairOptions {
        second_node: true,
        virtual_start: Some(datetime!(2026-06-01 12:00 UTC)),
        ..Default::default()
    })
    .await
    .expect("pair with two nodes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_response_posted_to_both_nodes_at_once_is_accepted_once() {
    let pair = cluster().await;
    let node2 = pair.node2.clone().expect("node 2");
    const ROUNDS: usize = 25;
    for round in 0..ROUNDS {
        // One browser (its binding cookie goes to both nodes: one host), two tabs posting at once.
        let browser = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
        let form = browser
            .fetch_idp_form("bob@example.com", None)
            .await
            .unwrap()
            .expect("the IdP's form");
        let mut to_node2 = form.clone();
        to_node2.action = form
            .action
            .replacen(&pair.endpoints.sp_base_url, &node2.base_url, 1);
        assert_ne!(to_node2.action, form.action);
        let (first, second) = tokio::join!(browser.submit(&form), browser.submit(&to_node2));
        let outcomes = [first.unwrap(), second.unwrap()];
        let accepted = outcomes
            .iter()
            .filter(|o| matches!(o, SignInOutcome::SignedIn { .. }))
            .count();
        assert_eq!(accepted, 1, "round {round}: {outcomes:?}");
        let refused = outcomes.iter().find_map(SignInOutcome::code);
        assert_eq!(
            refused,
            Some("replay.assertion_reused"),
            "round {round}: {outcomes:?}"
        );
    }
    // Every round's refusal is in the one audit log both nodes write.
    let events = pair.sp.store().audit_events().await.unwrap();
    let replays = events
        .iter()
        .filter(|e| e.code.as_deref() == Some("replay.assertion_reused"))
        .count();
    assert_eq!(replays, ROUNDS);
}
