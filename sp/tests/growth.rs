//! Bounded state (issue 8): floods of refused responses and of sign-in starts keep the store
//! bounded, expired rows are swept by the SP's clock, oversized fields are refused or cut, and the
//! audit log is read a page at a time. Through the router, without a socket (tower `oneshot`).

mod support;
mod verifier_support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use sp::config::{RoleMapping, SpConfig};
use sp::store::{AuditEvent, Session, StoredTable};
use support::{Reply, TestSp};
use time::Duration;
use verifier_support::{Fixture, NOW};

/// The test SP, with its verifier fixtures' entity ID and an `admins` → `admin` role mapping.
async fn test_sp(tweak: impl FnOnce(&mut SpConfig)) -> TestSp {
    TestSp::start(|config| {
        config.sp.entity_id = Some("https://sp.test/metadata".into());
        config.role_mappings.push(RoleMapping {
            group: "admins".into(),
            role: "admin".into(),
        });
        tweak(config);
    })
    .await
}

impl TestSp {
    async fn post_acs(&self, xml: &str) -> Reply {
        self.post_acs_body(acs_body(xml)).await
    }

    async fn post_acs_body(&self, body: String) -> Reply {
        let request = Request::post("/saml/acs")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    async fn get(&self, uri: &str, cookie: Option<&str>, json: bool) -> Reply {
        let mut request = Request::get(uri);
        if let Some(token) = cookie {
            request = request.header(header::COOKIE, format!("samlconf_sp_session={token}"));
        }
        if json {
            request = request.header(header::ACCEPT, "application/json");
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn rows(&self, table: StoredTable) -> u64 {
        self.sp.store().row_count(table).await.unwrap()
    }

    async fn bytes(&self, table: StoredTable) -> u64 {
        self.sp.store().stored_bytes(table).await.unwrap()
    }

    /// A live session of a user with these roles; its cookie token.
    async fn session_with_roles(&self, email: &str, roles: &[&str]) -> String {
        let store = self.sp.store();
        let user = store
            .create_user(None, email, None, None, "jit", NOW)
            .await
            .unwrap();
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        store.set_roles(user.id, &roles).await.unwrap();
        let token = format!("tok-{email}");
        store
            .create_session(&Session {
                token: token.clone(),
                user_id: user.id,
                idp_entity_id: "https://idp.test/metadata".into(),
                name_id: Some(email.into()),
                session_index: None,
                created_at: NOW,
                expires_at: NOW + Duration::hours(1),
            })
            .await
            .unwrap();
        token
    }
}

fn acs_body(xml: &str) -> String {
    format!("SAMLResponse={}", form(&B64.encode(xml)))
}

fn form(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// An unsigned response (refused with `signature.missing`) whose groups attribute carries
/// `size` bytes, and its NameID a tenth of that.
fn refused_response_with_huge_values(size: usize) -> String {
    let huge = "g".repeat(size);
    let name_id = "n".repeat(size / 10);
    Fixture::new()
        .assertion_sig(None)
        .edit(
            ">alice@example.com</saml:NameID>",
            &format!(">{name_id}</saml:NameID>"),
        )
        .edit(
            "<saml:AttributeValue>staff</saml:AttributeValue>",
            &format!("<saml:AttributeValue>{huge}</saml:AttributeValue>"),
        )
        .build()
}

// --- floods --------------------------------------------------------------------------------------

/// The unverified facts of a refused message are cut and their rows capped: 10,000 refused
/// responses with a 100 KB attribute each cost at most `cap` rows of a few KB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_refused_responses_with_100_kb_attributes_keep_the_store_bounded() {
    const CAP: u64 = 1000;
    let t = test_sp(|c| c.limits.max_unverified_audit_rows = CAP as u32).await;
    let body = Arc::new(acs_body(&refused_response_with_huge_values(100 * 1024)));
    let t = Arc::new(t);
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (t, body) = (t.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..2500 {
                let reply = t.post_acs_body(body.as_ref().clone()).await;
                assert_eq!(reply.status, StatusCode::FORBIDDEN);
                assert!(reply.body.contains("signature.missing"), "{}", reply.body);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    t.sp.sweep().await.unwrap();
    let rows = t.rows(StoredTable::AuditEvents).await;
    let bytes = t.bytes(StoredTable::AuditEvents).await;
    // One refused row holds at most: issuer and subject (256 B each), 10 groups of 256 B plus a
    // marker, a 2 KiB detail, all with their truncation markers: under 6 KiB.
    assert!(rows <= CAP, "{rows} audit rows, cap {CAP}");
    assert!(bytes <= CAP * 6 * 1024, "{bytes} bytes of audit text");
    let database = t.sp.store().database_bytes().await.unwrap();
    assert!(
        database <= 16 * 1024 * 1024,
        "the database holds {database} bytes after 1 GB of refused input"
    );
    let page = t.sp.store().audit_page(None, 1).await.unwrap();
    let newest = &page.events[0];
    assert!(
        !newest.verified,
        "a refused message's facts are marked unverified"
    );
    let subject = newest.event.subject.as_deref().unwrap();
    assert!(
        subject.len() < 300 && subject.contains("…[truncated:"),
        "{subject}"
    );
    for table in [
        StoredTable::OutstandingRequests,
        StoredTable::Sessions,
        StoredTable::Users,
        StoredTable::ReplayCache,
    ] {
        assert_eq!(t.rows(table).await, 0, "{table:?}");
    }
}

/// 10,000 sign-in starts with a 64 KB RelayState: the RelayState is not kept (longer than the
/// 80 bytes SAML allows), and the outstanding requests stay under their cap, oldest evicted.
#[tokio::test]
async fn ten_thousand_logins_with_a_64_kb_relay_state_keep_the_requests_table_bounded() {
    const CAP: u64 = 1000;
    let t = test_sp(|c| c.limits.max_outstanding_requests = CAP as u32).await;
    // 64 KB (decimal): an `http::Uri` holds at most 65,534 bytes.
    let relay_state = format!("/{}", "r".repeat(64_000));
    let uri = format!("/login?RelayState={}", form(&relay_state));
    for _ in 0..10_000 {
        let reply = t.get(&uri, None, false).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER);
        let location = reply.location.unwrap();
        assert!(
            !location.contains("RelayState"),
            "the oversized RelayState travels on"
        );
    }
    let rows = t.rows(StoredTable::OutstandingRequests).await;
    let bytes = t.bytes(StoredTable::OutstandingRequests).await;
    assert!(rows <= CAP, "{rows} outstanding requests, cap {CAP}");
    // An ID, the purpose and the IdP's entity ID: well under 200 bytes a row.
    assert!(bytes <= CAP * 200, "{bytes} bytes of outstanding requests");
}

#[tokio::test]
async fn a_relay_state_within_80_bytes_is_kept_and_a_longer_one_lands_on_the_home_page() {
    let t = test_sp(|_| {}).await;
    let kept = format!("/{}", "a".repeat(79));
    let reply = t
        .get(&format!("/login?RelayState={}", form(&kept)), None, false)
        .await;
    assert!(reply.location.unwrap().contains("RelayState="));
    let too_long = format!("/{}", "a".repeat(80));
    let reply = t
        .get(
            &format!("/login?RelayState={}", form(&too_long)),
            None,
            false,
        )
        .await;
    assert!(!reply.location.unwrap().contains("RelayState="));
}

// --- sweeps ----------------------------------------------------------------------------------------

#[tokio::test]
async fn the_sweep_deletes_what_has_expired_by_the_sps_clock_and_nothing_else() {
    let t = test_sp(|_| {}).await;
    let store = t.sp.store();
    store
        .remember_request("_old", None, NOW, NOW + Duration::minutes(10))
        .await
        .unwrap();
    store
        .remember_request("_new", None, NOW, NOW + Duration::minutes(30))
        .await
        .unwrap();
    store
        .consume_assertion_id(
            "https://idp.test/metadata",
            "_as",
            NOW + Duration::minutes(5),
            NOW,
        )
        .await
        .unwrap();
    let token = t.session_with_roles("bob@example.com", &["member"]).await;
    store
        .remember_logout_request(
            "_lo",
            "https://idp.test/metadata",
            None,
            NOW,
            NOW + Duration::minutes(10),
        )
        .await
        .unwrap();

    let report = t.sp.sweep().await.unwrap();
    assert_eq!(report.outstanding_requests, 0, "nothing has expired yet");

    t.clock.advance(Duration::minutes(20));
    let report = t.sp.sweep().await.unwrap();
    assert_eq!(report.outstanding_requests, 1);
    assert_eq!(report.replay_cache, 1);
    assert_eq!(report.outstanding_logout_requests, 1);
    assert_eq!(report.sessions, 0, "the session lasts an hour");
    assert_eq!(t.rows(StoredTable::OutstandingRequests).await, 1);
    assert!(
        store
            .take_request("_new", plumbing::clock::Clock::now(&t.clock))
            .await
            .unwrap()
            .is_some()
    );

    t.clock.advance(Duration::hours(1));
    let report = t.sp.sweep().await.unwrap();
    assert_eq!(report.sessions, 1);
    assert!(store.live_session(&token, NOW).await.unwrap().is_none());
    assert_eq!(t.rows(StoredTable::Sessions).await, 0);
}

/// The SP sweeps on its own, on a timer, judging expiry by its (virtual) clock.
#[tokio::test]
async fn the_background_sweep_runs_with_the_sp() {
    let t = test_sp(|c| c.limits.sweep_interval_secs = 1).await;
    t.sp.store()
        .remember_request("_r", None, NOW, NOW + Duration::minutes(10))
        .await
        .unwrap();
    t.clock.advance(Duration::minutes(11));
    // The one test that waits on a wall-clock timer: it polls (ending as soon as the sweep has
    // run) with a bound generous enough for a loaded CI machine.
    let mut swept = false;
    for _ in 0..300 {
        if t.rows(StoredTable::OutstandingRequests).await == 0 {
            swept = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(swept, "no sweep within 30 s with a 1 s interval");
}

// --- fields ---------------------------------------------------------------------------------------

/// A verified assertion with an oversized NameID is refused, not cut (a cut NameID could name
/// somebody else), and nothing is provisioned.
#[tokio::test]
async fn a_verified_name_id_longer_than_the_limit_is_refused_with_identity_too_large() {
    let t = test_sp(|_| {}).await;
    let long = format!("{}@example.com", "n".repeat(2000));
    let xml = Fixture::new()
        .edit(
            ">alice@example.com</saml:NameID>",
            &format!(">{long}</saml:NameID>"),
        )
        .build();
    t.sp.store()
        .remember_request("_req-42", None, NOW, NOW + Duration::minutes(10))
        .await
        .unwrap();
    let reply = t.post_acs(&xml).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert!(reply.body.contains("identity.too_large"), "{}", reply.body);
    assert_eq!(t.rows(StoredTable::Users).await, 0);
    assert_eq!(t.rows(StoredTable::Sessions).await, 0);
}

#[tokio::test]
async fn audit_details_are_cut_with_a_marker() {
    let t = test_sp(|c| c.limits.max_audit_detail_bytes = 100).await;
    t.sp.store()
        .audit(&AuditEvent {
            at: NOW,
            kind: "test".into(),
            code: None,
            idp: None,
            subject: None,
            user_email: None,
            groups: vec![],
            detail: "d".repeat(10_000),
        })
        .await
        .unwrap();
    let page = t.sp.store().audit_page(None, 10).await.unwrap();
    let detail = &page.events[0].event.detail;
    assert!(detail.starts_with(&"d".repeat(100)));
    assert!(
        detail.ends_with("…[truncated: 10000 bytes in all]"),
        "{detail}"
    );
    assert!(page.events[0].verified);
}

// --- the audit page --------------------------------------------------------------------------------

#[tokio::test]
async fn the_audit_log_is_read_a_page_at_a_time_newest_first() {
    let t = test_sp(|_| {}).await;
    let admin = t.session_with_roles("root@example.com", &["admin"]).await;
    for i in 0..25 {
        t.sp.store()
            .audit(&AuditEvent {
                at: NOW,
                kind: format!("test.{i}"),
                code: None,
                idp: None,
                subject: None,
                user_email: None,
                groups: vec![],
                detail: String::new(),
            })
            .await
            .unwrap();
    }
    let mut kinds = Vec::new();
    let mut uri = "/admin/audit?limit=10".to_owned();
    let mut pages = 0;
    loop {
        let reply = t.get(&uri, Some(&admin), true).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let body: Value = serde_json::from_str(&reply.body).unwrap();
        let events = body["events"].as_array().unwrap();
        assert!(events.len() <= 10);
        kinds.extend(
            events
                .iter()
                .map(|e| e["kind"].as_str().unwrap().to_owned()),
        );
        assert!(events.iter().all(|e| e["verified"] == true));
        pages += 1;
        match body["next"].as_i64() {
            Some(next) => uri = format!("/admin/audit?limit=10&before={next}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..25).rev().map(|i| format!("test.{i}")).collect();
    assert_eq!(kinds, expected, "newest first, each row once");

    // The limit is capped, and the HTML page shows the same rows with a link to the next page.
    let reply = t.get("/admin/audit?limit=100000", Some(&admin), true).await;
    let body: Value = serde_json::from_str(&reply.body).unwrap();
    assert!(body["events"].as_array().unwrap().len() <= 200);
    let reply = t
        .send(
            Request::get("/admin/audit?limit=5")
                .header(header::COOKIE, format!("samlconf_sp_session={admin}"))
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(reply.body.contains("test.24"), "{}", reply.body);
    assert!(reply.body.contains("before="), "{}", reply.body);

    let member = t.session_with_roles("bob@example.com", &["member"]).await;
    let reply = t.get("/admin/audit", Some(&member), true).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

/// A POST body past the router's body limit (here 2 MB of form data for the default 512 KiB
/// `max_response_bytes`) is refused like any oversized response: `input.too_large` with the
/// refusal page's code and an audit row, not a bare 413 from the HTTP layer that names no reason.
#[tokio::test]
async fn a_body_past_the_routers_limit_is_refused_with_input_too_large() {
    let sp = test_sp(|_| {}).await;
    let reply = sp
        .post_acs_body(format!("SAMLResponse={}", "A".repeat(2 * 1024 * 1024)))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let body: Value = serde_json::from_str(&reply.body).expect("the JSON refusal");
    assert_eq!(body["error"], "input.too_large", "{body}");
    assert_eq!(
        reply.connection.as_deref(),
        Some("close"),
        "the unread rest of the body makes the connection unusable"
    );
    let audit = sp.sp.store().audit_events().await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.kind == "sign_in.rejected" && e.code.as_deref() == Some("input.too_large")),
        "{audit:?}"
    );
}
