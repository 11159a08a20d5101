//! The store's behaviour, written once and run on both backends: by the unit tests on SQLite
//! files (`store::tests`) and by `tests/postgres.rs` on PostgreSQL. Each case takes the URL of a
//! fresh, empty database (it may open it more than once, as a second SP process would).
//!
//! Only the store's public API is used (through `sp::`, which names this crate in both places),
//! so the file compiles both inside the crate and in the integration test that includes it.

use std::future::Future;
use std::pin::Pin;

use sp::config::Limits;
use sp::store::{AuditEvent, RequestPurpose, Session, Store, StoredTable};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// One case of the suite: runs against the database at the URL, panicking on a failure.
pub type Case = fn(String) -> Pin<Box<dyn Future<Output = ()> + Send>>;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        /// Every case, by name.
        pub const CASES: &[(&str, Case)] = &[$((stringify!($name), |url| Box::pin($name(url)))),*];
    };
}

cases!(
    a_request_is_answered_once_and_not_after_it_expires,
    replay_cache_refuses_a_second_use_until_expiry,
    replay_cache_keeps_a_fractional_expiry_until_it_has_passed,
    replay_cache_is_keyed_by_issuer_and_id,
    replay_cache_takes_extreme_expiries,
    the_database_persists_across_opens,
    users_are_found_by_email_and_login_whatever_the_case,
    sessions_live_until_they_expire_and_logout_ends_the_named_ones,
    audit_rows_keep_their_verified_flag_and_page_newest_first,
    unverified_audit_rows_are_trimmed_to_their_cap,
    a_pending_link_locks_after_its_attempts,
    password_throttle_locks_after_max_failures,
    the_sweep_deletes_what_has_expired,
    sizes_are_measured,
    one_assertion_consumed_by_two_processes_at_once_is_accepted_once,
    one_request_taken_by_two_processes_at_once_is_answered_once,
    two_processes_filling_the_requests_table_at_once_keep_it_under_its_cap,
);

const NOW: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

async fn open(url: &str) -> Store {
    Store::open(url)
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"))
}

async fn a_request_is_answered_once_and_not_after_it_expires(url: String) {
    let store = open(&url).await;
    store
        .remember_request("_a", Some("/x"), NOW, NOW + Duration::minutes(10))
        .await
        .unwrap();
    store
        .remember_request("_b", None, NOW, NOW + Duration::minutes(10))
        .await
        .unwrap();
    let peeked = store.peek_request("_a", NOW).await.unwrap();
    assert_eq!(peeked.map(|r| r.purpose), Some(RequestPurpose::SignIn));
    let taken = store
        .take_request("_a", NOW)
        .await
        .unwrap()
        .expect("outstanding");
    assert_eq!(taken.relay_state.as_deref(), Some("/x"));
    assert!(
        store.take_request("_a", NOW).await.unwrap().is_none(),
        "answered twice"
    );
    assert!(
        store
            .take_request("_b", NOW + Duration::minutes(11))
            .await
            .unwrap()
            .is_none()
    );
    let renewal = RequestPurpose::Renewal {
        session_token: "s".into(),
    };
    store
        .remember_request_for(
            "_c",
            None,
            &renewal,
            Some("idp"),
            Some("binding"),
            NOW,
            NOW + Duration::minutes(10),
        )
        .await
        .unwrap();
    let taken = store.take_request("_c", NOW).await.unwrap().expect("kept");
    assert_eq!(taken.purpose, renewal);
    assert_eq!(taken.idp_entity_id.as_deref(), Some("idp"));
    assert_eq!(taken.browser_binding.as_deref(), Some("binding"));
}

async fn replay_cache_refuses_a_second_use_until_expiry(url: String) {
    let store = open(&url).await;
    let until = NOW + Duration::minutes(5);
    let consume = |id: &'static str, at| store.consume_assertion_id("idp", id, until, at);
    assert!(consume("_as1", NOW).await.unwrap());
    assert!(!consume("_as1", NOW + Duration::minutes(1)).await.unwrap());
    assert!(consume("_as1", NOW + Duration::minutes(6)).await.unwrap());
}

async fn replay_cache_keeps_a_fractional_expiry_until_it_has_passed(url: String) {
    // Virtual time: the entry is kept until 12:07:00.5; at 12:07:00 and 12:07:00.4 the
    // assertion is still acceptable, so the entry must still be there.
    use plumbing::clock::Clock;
    let store = open(&url).await;
    let clock = plumbing::clock::ManualClock::new(datetime!(2026-06-01 12:00 UTC));
    let until = datetime!(2026-06-01 12:07:00.5 UTC);
    let consume = |at| store.consume_assertion_id("idp", "_a", until, at);
    assert!(consume(clock.now()).await.unwrap());
    clock.set(datetime!(2026-06-01 12:07 UTC));
    assert!(!consume(clock.now()).await.unwrap(), "replayed at 12:07:00");
    clock.advance(Duration::milliseconds(400));
    assert!(
        !consume(clock.now()).await.unwrap(),
        "replayed at 12:07:00.4"
    );
    clock.set(datetime!(2026-06-01 12:07:01 UTC));
    assert!(consume(clock.now()).await.unwrap(), "kept past its window");
}

async fn replay_cache_is_keyed_by_issuer_and_id(url: String) {
    let store = open(&url).await;
    let until = NOW + Duration::minutes(5);
    for (issuer, first) in [
        ("idp-a", true),
        ("idp-b", true),
        ("idp-a", false),
        ("idp-b", false),
    ] {
        let consumed = store
            .consume_assertion_id(issuer, "_x", until, NOW)
            .await
            .unwrap();
        assert_eq!(consumed, first, "{issuer}");
    }
}

async fn replay_cache_takes_extreme_expiries(url: String) {
    let store = open(&url).await;
    for (i, until) in [sp::clock::LATEST, sp::clock::EARLIEST]
        .into_iter()
        .enumerate()
    {
        let id = format!("_e{i}");
        assert!(
            store
                .consume_assertion_id("idp", &id, until, NOW)
                .await
                .unwrap()
        );
    }
    assert!(
        !store
            .consume_assertion_id("idp", "_e0", NOW, NOW)
            .await
            .unwrap()
    );
}

async fn the_database_persists_across_opens(url: String) {
    {
        let store = open(&url).await;
        let user = store
            .create_user(None, "a@example.com", None, None, "jit", NOW)
            .await
            .unwrap();
        store
            .set_roles(user.id, &["admin".into(), "member".into(), "admin".into()])
            .await
            .unwrap();
        store
            .link_identity("idp", "subject", user.id, NOW)
            .await
            .unwrap();
        let again = store.link_identity("idp", "subject", user.id, NOW).await;
        assert!(again.unwrap_err().is_conflict(), "a second link conflicts");
    }
    let store = open(&url).await;
    let user = store
        .user_by_email("A@example.com")
        .await
        .unwrap()
        .expect("persisted");
    assert_eq!(store.roles(user.id).await.unwrap(), vec!["admin", "member"]);
    assert_eq!(
        store.user_by_identity("idp", "subject").await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(store.identity_idps(user.id).await.unwrap(), vec!["idp"]);
}

async fn users_are_found_by_email_and_login_whatever_the_case(url: String) {
    let store = open(&url).await;
    let first = store
        .create_user(
            Some("Alice"),
            "alice@example.com",
            Some("A"),
            None,
            "local",
            NOW,
        )
        .await
        .unwrap();
    let second = store
        .create_user(None, "ALICE@example.com", None, None, "jit", NOW)
        .await
        .unwrap();
    assert!(second.id > first.id);
    let ids = |users: Vec<sp::store::User>| users.into_iter().map(|u| u.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.users_with_email("Alice@Example.com").await.unwrap()),
        [first.id, second.id]
    );
    assert_eq!(
        ids(store
            .users_matching(Some("ALICE"), "nobody@example.com")
            .await
            .unwrap()),
        [first.id]
    );
    assert_eq!(
        ids(store
            .users_matching(None, "nobody@example.com")
            .await
            .unwrap()),
        Vec::<i64>::new()
    );
    let found = store.user_by_login_or_email("alice").await.unwrap();
    assert_eq!(found.map(|u| u.id), Some(first.id));
    store
        .update_profile(first.id, None, "alice@example.org", None, Some("Z"))
        .await
        .unwrap();
    let updated = store.user_by_id(first.id).await.unwrap().expect("user");
    assert_eq!(
        (
            updated.login.as_deref(),
            updated.email.as_str(),
            updated.last_name.as_deref()
        ),
        (Some("Alice"), "alice@example.org", Some("Z"))
    );
    assert!(store.sso_allowed(first.id).await.unwrap());
    let token = store.invite(first.id).await.unwrap();
    assert_eq!(
        store
            .user_by_invitation(&token)
            .await
            .unwrap()
            .map(|u| u.id),
        Some(first.id)
    );
    store.clear_invitation(first.id).await.unwrap();
    assert!(store.user_by_invitation(&token).await.unwrap().is_none());
}

async fn sessions_live_until_they_expire_and_logout_ends_the_named_ones(url: String) {
    let store = open(&url).await;
    let user = store
        .create_user(None, "s@example.com", None, None, "jit", NOW)
        .await
        .unwrap();
    let session = |token: &str, index: &str| Session {
        token: token.into(),
        user_id: user.id,
        idp_entity_id: "idp".into(),
        name_id: Some("n".into()),
        session_index: Some(index.into()),
        created_at: NOW,
        expires_at: NOW + Duration::hours(1),
    };
    for (token, index) in [("t1", "i1"), ("t2", "i2")] {
        store.create_session(&session(token, index)).await.unwrap();
    }
    assert_eq!(
        store.live_session("t1", NOW).await.unwrap(),
        Some(session("t1", "i1"))
    );
    assert!(store.logout_csrf_token("t1", NOW).await.unwrap().is_some());
    assert!(
        store
            .live_session("t1", NOW + Duration::hours(1))
            .await
            .unwrap()
            .is_none()
    );
    store
        .renew_session("t1", NOW + Duration::hours(2), None, Some("i3"))
        .await
        .unwrap();
    let renewed = store
        .live_session("t1", NOW + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(renewed.and_then(|s| s.session_index).as_deref(), Some("i3"));
    for format in ["f1", "f2"] {
        store
            .remember_name_id_format("t2", Some(format))
            .await
            .unwrap();
    }
    assert_eq!(
        store.name_id_format("t2").await.unwrap().as_deref(),
        Some("f2")
    );
    let ended = store
        .end_sessions_for_logout("idp", "n", &["i2".into()])
        .await
        .unwrap();
    assert_eq!(ended, ["t2"]);
    assert!(
        store.name_id_format("t2").await.unwrap().is_none(),
        "cascaded"
    );
    store.delete_session("t1").await.unwrap();
    assert_eq!(store.row_count(StoredTable::Sessions).await.unwrap(), 0);
}

fn event(kind: &str, detail: &str) -> AuditEvent {
    AuditEvent {
        at: NOW,
        kind: kind.into(),
        code: None,
        idp: Some("idp".into()),
        subject: None,
        user_email: None,
        groups: vec!["g".into()],
        detail: detail.into(),
    }
}

async fn audit_rows_keep_their_verified_flag_and_page_newest_first(url: String) {
    let store = open(&url).await;
    store.audit(&event("sign_in.accepted", "1")).await.unwrap();
    store
        .audit_unverified(&event("sign_in.rejected", "2"))
        .await
        .unwrap();
    store.audit(&event("user.provisioned", "3")).await.unwrap();
    let all = store.audit_events().await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.detail.as_str()).collect::<Vec<_>>(),
        ["1", "2", "3"]
    );
    assert_eq!(all[0].groups, ["g"]);
    let page = store.audit_page(None, 2).await.unwrap();
    let seen: Vec<_> = page
        .events
        .iter()
        .map(|r| (r.event.detail.as_str(), r.verified))
        .collect();
    assert_eq!(seen, [("3", true), ("2", false)]);
    let rest = store.audit_page(page.next, 2).await.unwrap();
    assert_eq!(rest.events.len(), 1);
    assert!(rest.events[0].verified);
    assert_eq!(rest.next, None);
}

async fn unverified_audit_rows_are_trimmed_to_their_cap(url: String) {
    let limits = Limits {
        max_unverified_audit_rows: 5,
        ..Limits::default()
    };
    let store = open(&url).await.with_limits(limits);
    store
        .audit(&event("sign_in.accepted", "kept"))
        .await
        .unwrap();
    for i in 0..40 {
        store
            .audit_unverified(&event("sign_in.rejected", &i.to_string()))
            .await
            .unwrap();
    }
    store.sweep(NOW).await.unwrap();
    let all = store.audit_events().await.unwrap();
    let details: Vec<_> = all.iter().map(|e| e.detail.as_str()).collect();
    assert_eq!(details, ["kept", "35", "36", "37", "38", "39"]);
}

async fn a_pending_link_locks_after_its_attempts(url: String) {
    let store = open(&url).await;
    let identity = sp::accounts::PendingIdentity {
        identity: sp::identity::Identity {
            subject: "s".into(),
            login: None,
            email: "p@example.com".into(),
            first_name: None,
            last_name: None,
            groups: vec![],
        },
        groups_present: false,
        groups_overage: false,
        name_id: None,
        name_id_format: None,
        session_index: None,
        session_expires_at: NOW + Duration::hours(1),
    };
    let token = store
        .create_pending_link(
            "idp",
            &identity,
            None,
            None,
            NOW,
            NOW + Duration::minutes(10),
        )
        .await
        .unwrap();
    let mut left = vec![];
    for _ in 0..4 {
        left.push(store.reserve_link_attempt(&token, 3).await.unwrap());
    }
    assert_eq!(left, [Some(2), Some(1), Some(0), None]);
    let link = store
        .pending_link(&token, NOW)
        .await
        .unwrap()
        .expect("link");
    assert!(link.locked);
    assert_eq!(link.failed_attempts, 4);
    store.delete_pending_link(&token).await.unwrap();
    assert!(store.pending_link(&token, NOW).await.unwrap().is_none());
}

async fn password_throttle_locks_after_max_failures(url: String) {
    use sp::throttle::{AttemptKeys, Limit, Limits, Reservation};
    let store = open(&url).await;
    let limit = Limit {
        max_failures: 3,
        window_secs: 600,
        lockout_secs: 300,
    };
    let limits = Limits {
        per_account: limit,
        per_address: Limit {
            max_failures: 8,
            ..limit
        },
    };
    let keys = AttemptKeys {
        address: "address:a".into(),
        account: "account:1".into(),
    };
    let mut outcomes = vec![];
    for _ in 0..4 {
        outcomes.push(
            store
                .reserve_password_attempt(&keys, &limits, NOW)
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        outcomes,
        [
            Reservation::Granted { remaining: 2 },
            Reservation::Granted { remaining: 1 },
            Reservation::Granted { remaining: 0 },
            Reservation::Refused {
                key: "account:1".into(),
                until: NOW + Duration::seconds(300)
            }
        ]
    );
    store
        .password_attempt_succeeded(&keys, &limits)
        .await
        .unwrap();
    assert_eq!(
        store
            .reserve_password_attempt(&keys, &limits, NOW)
            .await
            .unwrap(),
        Reservation::Granted { remaining: 2 }
    );
}

async fn the_sweep_deletes_what_has_expired(url: String) {
    let store = open(&url).await;
    store
        .remember_request("_old", None, NOW, NOW + Duration::minutes(10))
        .await
        .unwrap();
    store
        .remember_request("_new", None, NOW, NOW + Duration::minutes(30))
        .await
        .unwrap();
    store
        .consume_assertion_id("idp", "_as", NOW + Duration::minutes(5), NOW)
        .await
        .unwrap();
    store
        .remember_logout_request("_lo", "idp", None, NOW, NOW + Duration::minutes(5))
        .await
        .unwrap();
    let report = store.sweep(NOW + Duration::minutes(20)).await.unwrap();
    assert_eq!(
        (
            report.outstanding_requests,
            report.replay_cache,
            report.outstanding_logout_requests
        ),
        (1, 1, 1)
    );
    assert!(store.peek_request("_new", NOW).await.unwrap().is_some());
}

async fn sizes_are_measured(url: String) {
    let store = open(&url).await;
    store
        .remember_request(
            "_0123456789",
            Some("/relay"),
            NOW,
            NOW + Duration::minutes(10),
        )
        .await
        .unwrap();
    let bytes = store
        .stored_bytes(StoredTable::OutstandingRequests)
        .await
        .unwrap();
    // The ID, the RelayState and the purpose ('sign_in').
    assert_eq!(bytes, 11 + 6 + 7);
    assert!(store.database_bytes().await.unwrap() > 0);
}

/// Many clients of two store instances (two SP processes) post one assertion at once.
async fn one_assertion_consumed_by_two_processes_at_once_is_accepted_once(url: String) {
    let nodes = [open(&url).await, open(&url).await];
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = nodes[i % 2].clone();
            tokio::spawn(async move {
                store
                    .consume_assertion_id("idp", "_once", NOW + Duration::minutes(5), NOW)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        accepted += usize::from(task.await.expect("task"));
    }
    assert_eq!(accepted, 1);
}

async fn one_request_taken_by_two_processes_at_once_is_answered_once(url: String) {
    let nodes = [open(&url).await, open(&url).await];
    nodes[0]
        .remember_request("_req", None, NOW, NOW + Duration::minutes(10))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = nodes[i % 2].clone();
            tokio::spawn(async move { store.take_request("_req", NOW).await.unwrap().is_some() })
        })
        .collect();
    let mut answered = 0;
    for task in tasks {
        answered += usize::from(task.await.expect("task"));
    }
    assert_eq!(answered, 1);
}

async fn two_processes_filling_the_requests_table_at_once_keep_it_under_its_cap(url: String) {
    const CAP: u32 = 5;
    let limits = Limits {
        max_outstanding_requests: CAP,
        ..Limits::default()
    };
    let nodes = [
        open(&url).await.with_limits(limits),
        open(&url).await.with_limits(limits),
    ];
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let store = nodes[i % 2].clone();
            tokio::spawn(async move {
                store
                    .remember_request(&format!("_r{i}"), None, NOW, NOW + Duration::minutes(10))
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let rows = nodes[0]
        .row_count(StoredTable::OutstandingRequests)
        .await
        .unwrap();
    assert_eq!(rows, u64::from(CAP));
}
