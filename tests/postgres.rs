//! The SP's store on PostgreSQL (a throw-away server on loopback, `plumbing::postgres`): the
//! store's behaviour suite passes there as on SQLite, both migration sets build the same tables,
//! and two SP nodes behind one address share sessions, the replay cache, outstanding requests and
//! the audit log. PostgreSQL comes from Debian's packages (`.ci/install-deps postgresql`); when it
//! cannot be installed or started these tests fail with the reason, they never skip.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use plumbing::postgres::TestPostgres;
use samlconf::demo::{self, Endpoints};
use samlconf::driver::{HttpDriver, PostForm, SignInOutcome, parse_post_form};
use sp::store::{Backend, Store};
use tokio::net::TcpListener;
use tower::ServiceExt;

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

// --- two SP nodes behind one address -----------------------------------------------------------

/// Which node the front address hands the next request to.
const ROUND_ROBIN: usize = usize::MAX;

/// A mock IdP and two reference SP nodes (each its own `Sp` and connection pool) on one
/// PostgreSQL database, behind one address that hands each request to the pinned node or, in
/// turn, to both.
struct Cluster {
    endpoints: Endpoints,
    nodes: Vec<sp::web::Sp>,
    pinned: Arc<AtomicUsize>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Cluster {
    async fn start(database: &str) -> Cluster {
        let idp_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let front_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoints = Endpoints {
            idp_base_url: format!("http://{}", idp_listener.local_addr().unwrap()),
            sp_base_url: format!("http://{}", front_listener.local_addr().unwrap()),
        };
        let idp_keys = mock_idp::keys::IdpKeys::fixed_for_tests();
        let sp_keys = sp::keys::SpKeys::fixed_for_tests();
        let sp_config = demo::sp_config(&endpoints, &idp_keys.idp.cert_pem, database);
        let mut idp_config = demo::idp_config(&endpoints, &sp_config, false);
        for known in &mut idp_config.service_providers {
            known.signing_cert_pem = Some(sp_keys.cert_pem.clone());
        }
        let clock: Arc<dyn plumbing::clock::Clock> = Arc::new(plumbing::clock::SystemClock);
        let idp = mock_idp::server::Idp::new(idp_config, idp_keys, clock.clone());
        let mut nodes = Vec::new();
        for _ in 0..2 {
            let store = Store::open(database).await.unwrap();
            let node = sp::web::Sp::new(sp_config.clone(), store, clock.clone(), sp_keys.clone());
            nodes.push(node.unwrap());
        }
        let routers: Vec<Router> = nodes.iter().map(|n| sp::web::router(n.clone())).collect();
        let pinned = Arc::new(AtomicUsize::new(0));
        let turn = Arc::new(AtomicUsize::new(0));
        let front = {
            let pinned = pinned.clone();
            Router::new().fallback(move |request: axum::extract::Request| {
                let node = match pinned.load(Ordering::SeqCst) {
                    ROUND_ROBIN => turn.fetch_add(1, Ordering::SeqCst) % 2,
                    node => node,
                };
                routers[node].clone().oneshot(request)
            })
        };
        let idp_app = mock_idp::server::router(idp);
        let tasks = vec![
            tokio::spawn(async move {
                let _ = axum::serve(idp_listener, idp_app).await;
            }),
            tokio::spawn(async move {
                let front = front.into_make_service_with_connect_info::<SocketAddr>();
                let _ = axum::serve(front_listener, front).await;
            }),
        ];
        Cluster {
            endpoints,
            nodes,
            pinned,
            tasks,
        }
    }

    /// Sends every following request to node `node` (0 or 1), or `ROUND_ROBIN`.
    fn pin(&self, node: usize) {
        self.pinned.store(node, Ordering::SeqCst);
    }

    fn browser(&self) -> HttpDriver {
        HttpDriver::new(&self.endpoints.sp_base_url).unwrap()
    }

    /// An IdP-initiated response for `user`: only the replay cache refuses it a second time.
    async fn unsolicited_form(&self, user: &str) -> PostForm {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let idp = &self.endpoints.idp_base_url;
        let entity_id = self.nodes[0].config().entity_id();
        let page = HttpDriver::new(idp)
            .unwrap()
            .visit(&format!(
                "{idp}/idp-initiated?user={}&sp={}",
                encode(user),
                encode(&entity_id)
            ))
            .await
            .unwrap();
        parse_post_form(&page.body).expect("an unsolicited response")
    }

    /// The shared audit log as (kind, code), read through node `node`.
    async fn audit(&self, node: usize) -> Vec<(String, Option<String>)> {
        let events = self.nodes[node].store().audit_events().await.unwrap();
        events.into_iter().map(|e| (e.kind, e.code)).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assertion_accepted_by_one_node_is_refused_as_a_replay_by_the_other() {
    let pg = postgres();
    let cluster = Cluster::start(&fresh(&pg)).await;
    let form = cluster.unsolicited_form(USER).await;
    cluster.pin(0);
    let first = cluster.browser().submit(&form).await.unwrap();
    assert!(signed_in(&first), "{first:?}");
    cluster.pin(1);
    let again = cluster.browser().submit(&form).await.unwrap();
    assert_eq!(again.code(), Some("replay.assertion_reused"), "{again:?}");
    // One audit log: node 1 reads node 0's acceptance, node 0 node 1's refusal.
    for node in [0, 1] {
        let audit = cluster.audit(node).await;
        assert_eq!(count(&audit, "sign_in.accepted", None), 1, "{audit:?}");
        let replays = count(&audit, "sign_in.rejected", Some("replay.assertion_reused"));
        assert_eq!(replays, 1, "{audit:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_started_on_one_node_completes_on_the_other_and_its_session_is_valid_on_both() {
    let pg = postgres();
    let cluster = Cluster::start(&fresh(&pg)).await;
    let browser = cluster.browser();
    cluster.pin(0);
    let to_idp = browser.login_redirect("/login").await.unwrap();
    let form = browser.idp_form(&to_idp, USER).await.unwrap();
    assert!(form.field("SAMLResponse").is_some());
    cluster.pin(1);
    let outcome = browser.submit(&form).await.unwrap();
    assert!(
        signed_in(&outcome),
        "node 1 answers node 0's request: {outcome:?}"
    );
    for node in [0, 1] {
        cluster.pin(node);
        let me = browser.me().await.unwrap();
        assert_eq!(
            me.as_ref().and_then(|m| m["email"].as_str()),
            Some(USER),
            "the session on node {node}: {me:?}"
        );
    }
    // The request was answered once, on any node.
    cluster.pin(0);
    let again = HttpDriver::new(&cluster.endpoints.sp_base_url)
        .unwrap()
        .submit(&form)
        .await
        .unwrap();
    assert!(!signed_in(&again), "{again:?}");
    // Signing out on node 0 ends the session on node 1 too.
    browser.logout().await.unwrap();
    cluster.pin(1);
    assert_eq!(browser.me().await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_response_posted_to_both_nodes_at_once_is_accepted_once() {
    const POSTS: usize = 40;
    let pg = postgres();
    let cluster = Cluster::start(&fresh(&pg)).await;
    let form = Arc::new(cluster.unsolicited_form(USER).await);
    cluster.pin(ROUND_ROBIN);
    let front = cluster.endpoints.sp_base_url.clone();
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
    let audit = cluster.audit(1).await;
    assert_eq!(count(&audit, "sign_in.accepted", None), 1);
    let replays = count(&audit, "sign_in.rejected", Some("replay.assertion_reused"));
    assert_eq!(replays, POSTS - 1, "each refused post has its audit row");
}
