//! The SP's store on PostgreSQL (a throw-away server on loopback, `plumbing::postgres`): the
//! store's behaviour suite passes there as on SQLite, both migration sets build the same tables,
//! and two `samlconf serve` processes on one database behind one address (`load::Cluster`, what
//! `samlconf load --nodes 2 --database postgres://…` starts) share sessions, the replay cache,
//! outstanding requests and the audit log. PostgreSQL comes from Debian's packages (`.ci/install-deps postgresql`); when it
//! cannot be installed or started these tests fail with the reason, they never skip.

use std::sync::Arc;

use plumbing::postgres::TestPostgres;
use samlconf::driver::{HttpDriver, PostForm, SignInOutcome, parse_post_form};
use samlconf::load::{self, Cluster, LoadPlan};
use sp::store::{Backend, Store};

#[path = "../sp/src/store/suite.rs"]
mod suite;

const USER: &str = "alice@example.com";

fn postgres() -> TestPostgres {
    TestPostgres::start().unwrap_or_else(|e| {
        panic!("these tests need PostgreSQL (`.ci/install-deps postgresql`), and it failed: {e}")
    })
}

fn fresh(pg: &TestPostgres) -> String {
    pg.fresh_database()
        .unwrap_or_else(|e| panic!("cannot create a database: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_suite_passes_on_postgres() {
    let pg = postgres();
    for (name, case) in suite::CASES {
        eprintln!("case {name}");
        case(fresh(&pg)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_migration_sets_build_the_same_tables_and_columns() {
    let pg = postgres();
    let on_postgres = Store::open(&fresh(&pg)).await.unwrap();
    assert_eq!(on_postgres.backend(), Backend::Postgres);
    let on_sqlite = Store::open(":memory:").await.unwrap();
    let schema = on_postgres.schema().await.unwrap();
    assert!(schema.len() >= 12, "{schema:?}");
    assert_eq!(schema, on_sqlite.schema().await.unwrap());
}

// --- two `samlconf serve` processes behind one address ----------------------------------------

/// Two SP processes on one fresh database, the test's own state directory, and that database.
struct Nodes {
    cluster: Cluster,
    database: String,
    _state: tempfile::TempDir,
}

async fn two_nodes(pg: &TestPostgres) -> Nodes {
    let state = tempfile::tempdir().unwrap();
    let database = fresh(pg);
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_samlconf"));
    let cluster = Cluster::start(binary, state.path(), 2, Some(database.clone()))
        .await
        .unwrap_or_else(|e| panic!("two `samlconf serve` nodes: {e}"));
    Nodes {
        cluster,
        database,
        _state: state,
    }
}

impl Nodes {
    /// Node `node`'s own address (the front hands requests to both in turn).
    fn node(&self, node: usize) -> String {
        self.cluster.nodes[node].sp_base_url()
    }

    /// `form` posted straight to node `node` instead of the front its action names.
    fn to_node(&self, form: &PostForm, node: usize) -> PostForm {
        let mut form = form.clone();
        let front = self.cluster.sp_base_url();
        assert!(form.action.starts_with(&front), "{}", form.action);
        form.action = form.action.replacen(&front, &self.node(node), 1);
        form
    }

    /// An IdP-initiated response for `user`: only the replay cache refuses it a second time.
    async fn unsolicited_form(&self, user: &str) -> PostForm {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let idp = self.cluster.idp_base_url();
        let page = HttpDriver::new(&idp)
            .unwrap()
            .visit(&format!(
                "{idp}/idp-initiated?user={}&sp={}",
                encode(user),
                encode(&self.cluster.sp_entity_id())
            ))
            .await
            .unwrap();
        parse_post_form(&page.body).expect("an unsolicited response")
    }

    /// The shared audit log as (kind, code).
    async fn audit(&self) -> Vec<(String, Option<String>)> {
        let store = Store::open(&self.database).await.unwrap();
        let events = store.audit_events().await.unwrap();
        events.into_iter().map(|e| (e.kind, e.code)).collect()
    }
}

fn count(audit: &[(String, Option<String>)], kind: &str, code: Option<&str>) -> usize {
    audit
        .iter()
        .filter(|(k, c)| k == kind && c.as_deref() == code)
        .count()
}

fn signed_in(outcome: &SignInOutcome) -> bool {
    matches!(outcome, SignInOutcome::SignedIn { .. })
}

/// Who `browser` is signed in as at `base_url` (its cookies go to every port of 127.0.0.1).
async fn me_at(browser: &HttpDriver, base_url: &str) -> Option<String> {
    let page = browser.visit(&format!("{base_url}/me")).await.unwrap();
    match page.status {
        200 => serde_json::from_str::<serde_json::Value>(&page.body).unwrap()["email"]
            .as_str()
            .map(str::to_owned),
        401 => None,
        other => panic!("/me at {base_url}: {other} {}", page.body),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assertion_accepted_by_one_node_is_refused_as_a_replay_by_the_other() {
    let pg = postgres();
    let nodes = two_nodes(&pg).await;
    let form = nodes.unsolicited_form(USER).await;
    let first = HttpDriver::new(&nodes.node(0))
        .unwrap()
        .submit(&nodes.to_node(&form, 0))
        .await
        .unwrap();
    assert!(signed_in(&first), "{first:?}");
    let again = HttpDriver::new(&nodes.node(1))
        .unwrap()
        .submit(&nodes.to_node(&form, 1))
        .await
        .unwrap();
    assert_eq!(again.code(), Some("replay.assertion_reused"), "{again:?}");
    let audit = nodes.audit().await;
    assert_eq!(count(&audit, "sign_in.accepted", None), 1, "{audit:?}");
    let replays = count(&audit, "sign_in.rejected", Some("replay.assertion_reused"));
    assert_eq!(replays, 1, "{audit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_started_on_one_node_completes_on_the_other_and_its_session_is_valid_on_both() {
    let pg = postgres();
    let nodes = two_nodes(&pg).await;
    let browser = HttpDriver::new(&nodes.node(0)).unwrap();
    let to_idp = browser.login_redirect("/login").await.unwrap();
    let form = browser.idp_form(&to_idp, USER).await.unwrap();
    let outcome = browser.submit(&nodes.to_node(&form, 1)).await.unwrap();
    assert!(
        signed_in(&outcome),
        "node 1 answers node 0's request: {outcome:?}"
    );
    for node in [0, 1] {
        let me = me_at(&browser, &nodes.node(node)).await;
        assert_eq!(me.as_deref(), Some(USER), "the session on node {node}");
    }
    // The request was answered once, on any node.
    let again = HttpDriver::new(&nodes.node(0))
        .unwrap()
        .submit(&nodes.to_node(&form, 0))
        .await
        .unwrap();
    assert!(!signed_in(&again), "{again:?}");
    // Signing out on node 0 ends the session on node 1 too.
    browser.logout().await.unwrap();
    assert_eq!(me_at(&browser, &nodes.node(1)).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_response_posted_through_the_front_at_once_is_accepted_once() {
    const POSTS: usize = 24;
    let pg = postgres();
    let nodes = two_nodes(&pg).await;
    let form = Arc::new(nodes.unsolicited_form(USER).await);
    let front = nodes.cluster.sp_base_url();
    let posts: Vec<_> = (0..POSTS)
        .map(|_| {
            let (front, form) = (front.clone(), form.clone());
            tokio::spawn(async move { HttpDriver::new(&front).unwrap().submit(&form).await })
        })
        .collect();
    let mut accepted = 0;
    let mut codes = Vec::new();
    for post in posts {
        match post.await.unwrap().unwrap() {
            SignInOutcome::SignedIn { .. } => accepted += 1,
            SignInOutcome::Refused { code, .. } => codes.push(code),
            other => panic!("neither accepted nor refused: {other:?}"),
        }
    }
    assert_eq!(accepted, 1, "accepted {accepted} times; refusals {codes:?}");
    assert!(
        codes.iter().all(|c| c == "replay.assertion_reused"),
        "{codes:?}"
    );
    let served = nodes.cluster.front.served();
    assert!(served.iter().all(|n| *n >= POSTS / 2), "{served:?}");
    let audit = nodes.audit().await;
    assert_eq!(count(&audit, "sign_in.accepted", None), 1);
    let replays = count(&audit, "sign_in.rejected", Some("replay.assertion_reused"));
    assert_eq!(replays, POSTS - 1, "each refused post has its audit row");
}

/// What `samlconf load --nodes 2 --database postgres://…` runs, at a modest size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_run_across_two_nodes_accepts_each_sign_in_once_with_one_audit_row() {
    const SIGN_INS: usize = 30;
    let pg = postgres();
    let nodes = two_nodes(&pg).await;
    let users = ["alice@example.com", "bob@example.com", "dave@example.com"];
    let plan = LoadPlan::new(SIGN_INS, 8, users.map(String::from).to_vec());
    let report = load::drive(&nodes.cluster.sp_base_url(), &plan, |_| {}).await;
    assert_eq!(report.errors(), Default::default());
    assert_eq!(report.accepted(), SIGN_INS);
    let mut indexes: Vec<usize> = report.attempts.iter().map(|a| a.index).collect();
    indexes.sort();
    assert_eq!(indexes, (0..SIGN_INS).collect::<Vec<_>>());
    // Each sign-in is several requests (login, ACS, /me), handed to the nodes in turn.
    let served = nodes.cluster.front.served();
    assert!(served.iter().all(|n| *n >= SIGN_INS), "{served:?}");
    let audit = nodes.audit().await;
    assert_eq!(
        count(&audit, "sign_in.accepted", None),
        SIGN_INS,
        "{audit:?}"
    );
    assert_eq!(count(&audit, "sign_in.rejected", None), 0, "{audit:?}");
    assert_eq!(count(&audit, "user.provisioned", None), users.len());
}
