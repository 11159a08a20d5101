//! Correctness under load, at a modest size (the `load` command shows the same at a large one):
//! every sign-in accepted exactly once and audited exactly once, one assertion posted by many
//! clients at once accepted once, concurrent first sign-ins of one identity all succeed, and a
//! SIGKILLed SP restarts on its database having lost nothing it committed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use samlconf::driver::{HttpDriver, SignInOutcome, parse_post_form};
use samlconf::harness::{Pair, PairOptions};
use samlconf::load::{self, AttemptResult, LoadPlan, ServeProcess};

const USERS: [&str; 3] = ["alice@example.com", "bob@example.com", "dave@example.com"];

fn users() -> Vec<String> {
    USERS.iter().map(|u| u.to_string()).collect()
}

fn binary() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_BIN_EXE_samlconf"))
}

async fn audit_kinds(database: &std::path::Path) -> Vec<(String, Option<String>)> {
    let store = sp::store::Store::open(database.to_str().unwrap())
        .await
        .unwrap();
    let events = store.audit_events().await.unwrap();
    events.into_iter().map(|e| (e.kind, e.code)).collect()
}

fn count(kinds: &[(String, Option<String>)], kind: &str) -> usize {
    kinds.iter().filter(|(k, _)| k == kind).count()
}

/// An unsolicited (IdP-initiated) response for `user`, as the IdP's auto-submit form: the only
/// thing that refuses it a second time is the SP's replay cache.
async fn unsolicited_form(
    idp_base_url: &str,
    sp_entity_id: &str,
    user: &str,
) -> samlconf::driver::PostForm {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let page = HttpDriver::new(idp_base_url)
        .unwrap()
        .visit(&format!(
            "{idp_base_url}/idp-initiated?user={}&sp={}",
            encode(user),
            encode(sp_entity_id)
        ))
        .await
        .unwrap();
    parse_post_form(&page.body).expect("an unsolicited response")
}

/// Pair on a SQLite file (several connections, as in production; `:memory:` has one).
async fn pair_on_file(dir: &std::path::Path) -> Pair {
    Pair::start(PairOptions {
        database: dir.join("sp.sqlite").to_string_lossy().into_owned(),
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Regression: two first sign-ins of one identity at once both found it unlinked, and the
/// second's insert failed on the unique index: a 500 without a reason code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sign_ins_of_one_identity_at_once_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let pair = pair_on_file(dir.path()).await;
    let plan = LoadPlan::new(48, 24, users());
    let report = load::drive(&pair.endpoints.sp_base_url, &plan, |_| {}).await;
    assert_eq!(
        report.errors(),
        Default::default(),
        "every first sign-in succeeds"
    );
    assert_eq!(report.accepted(), 48);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_each_sign_in_is_accepted_once_and_audited_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServeProcess::start(binary(), dir.path()).await.unwrap();
    let plan = LoadPlan::new(150, 12, users());
    let report = load::drive(&server.sp_base_url(), &plan, |_| {}).await;
    assert_eq!(report.errors(), Default::default());
    assert_eq!(report.accepted(), 150);
    let mut indexes: Vec<usize> = report.attempts.iter().map(|a| a.index).collect();
    indexes.sort();
    assert_eq!(
        indexes,
        (0..150).collect::<Vec<_>>(),
        "each sign-in ran once"
    );
    let kinds = audit_kinds(&server.database()).await;
    assert_eq!(count(&kinds, "sign_in.accepted"), 150);
    assert_eq!(count(&kinds, "sign_in.rejected"), 0);
    assert!(peak_is_plausible(server.peak_memory_kib()));
}

fn peak_is_plausible(kib: Option<u64>) -> bool {
    kib.is_some_and(|kib| kib > 1024 && kib < 4 * 1024 * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_assertion_posted_by_50_clients_at_once_is_accepted_once() {
    let dir = tempfile::tempdir().unwrap();
    let pair = pair_on_file(dir.path()).await;
    let sp = pair.endpoints.sp_base_url.clone();
    let entity_id = pair.sp.config().entity_id();
    let form = unsolicited_form(&pair.endpoints.idp_base_url, &entity_id, USERS[0]).await;
    let form = Arc::new(form);
    let posts: Vec<_> = (0..50)
        .map(|_| {
            let (sp, form) = (sp.clone(), form.clone());
            tokio::spawn(async move { HttpDriver::new(&sp).unwrap().submit(&form).await.unwrap() })
        })
        .collect();
    let mut accepted = 0;
    let mut codes = Vec::new();
    for post in posts {
        match post.await.unwrap() {
            SignInOutcome::SignedIn { .. } => accepted += 1,
            SignInOutcome::Refused { code, .. } => codes.push(code),
            other => panic!("neither accepted nor refused: {other:?}"),
        }
    }
    assert_eq!(accepted, 1, "the assertion is accepted exactly once");
    assert_eq!(codes.len(), 49);
    assert!(
        codes.iter().all(|c| c == "replay.assertion_reused"),
        "{codes:?}"
    );
    let kinds = audit_kinds(&dir.path().join("sp.sqlite")).await;
    assert_eq!(count(&kinds, "sign_in.accepted"), 1);
    let replays = kinds
        .iter()
        .filter(|(k, c)| k == "sign_in.rejected" && c.as_deref() == Some("replay.assertion_reused"))
        .count();
    assert_eq!(replays, 49, "each refused post has its audit row");
}

/// SIGKILL in the middle of a load run: after a restart on the same database, every sign-in the
/// clients saw accepted still has its session, its assertion is still refused as a replay, and
/// its audit row is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sp_loses_nothing_it_committed() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServeProcess::start(binary(), dir.path()).await.unwrap();
    let idp = format!("http://127.0.0.1:{}", server.idp_port);
    let entity_id = format!("{}/saml/metadata", server.sp_base_url());
    let mut unsolicited = Vec::new();
    for user in USERS {
        let form = unsolicited_form(&idp, &entity_id, user).await;
        let outcome = HttpDriver::new(&server.sp_base_url())
            .unwrap()
            .submit(&form)
            .await;
        assert!(
            matches!(outcome, Ok(SignInOutcome::SignedIn { .. })),
            "{outcome:?}"
        );
        unsolicited.push(form);
    }
    let mut plan = LoadPlan::new(10_000, 8, users());
    plan.keep_browsers = true;
    let accepted_so_far = Arc::new(AtomicUsize::new(0));
    let (counter, stop) = (accepted_so_far.clone(), plan.stop.clone());
    let sp = server.sp_base_url();
    let run = tokio::spawn(async move {
        load::drive(&sp, &plan, move |attempt| {
            if attempt.result == AttemptResult::Accepted {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        })
        .await
    });
    // Kill it while sign-ins are in flight: as soon as 60 have been seen accepted.
    while accepted_so_far.load(Ordering::Relaxed) < 60 && !run.is_finished() {
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.kill();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let report = run.await.unwrap();
    let survivors: Vec<_> = report
        .attempts
        .iter()
        .filter(|a| a.result == AttemptResult::Accepted)
        .collect();
    assert!(survivors.len() >= 60, "{} accepted", survivors.len());
    assert!(
        report.attempts.len() < 10_000,
        "the kill interrupted the run"
    );

    server.restart().await.unwrap();
    let kinds = audit_kinds(&server.database()).await;
    assert!(count(&kinds, "sign_in.accepted") >= survivors.len());
    for form in &unsolicited {
        let replayed = HttpDriver::new(&server.sp_base_url())
            .unwrap()
            .submit(form)
            .await;
        assert!(
            matches!(&replayed, Ok(SignInOutcome::Refused { code, .. }) if code == "replay.assertion_reused"),
            "the replay cache kept its entry across the crash: {replayed:?}"
        );
    }
    for attempt in &survivors {
        let browser = attempt.browser.as_ref().unwrap();
        let me = browser.me().await.unwrap();
        assert_eq!(
            me.as_ref().and_then(|me| me["email"].as_str()),
            Some(attempt.user.as_str()),
            "sign-in {} kept its session",
            attempt.index
        );
        let response = browser.posted_forms().into_iter().last().unwrap();
        let replayed = HttpDriver::new(&server.sp_base_url())
            .unwrap()
            .submit(&response)
            .await
            .unwrap();
        assert!(
            matches!(&replayed, SignInOutcome::Refused { .. }),
            "sign-in {}'s response is not accepted again: {replayed:?}",
            attempt.index
        );
    }
}
