//! The SP's password layer under attack, through its router: the recovery login answers every
//! failed attempt alike (no account enumeration, no right-password oracle), and guessing on the
//! recovery login and the linking page is limited per account and per client address — also when
//! the guesses arrive in parallel, and across fresh IdP sign-ins.

mod support;

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sp::accounts::{NewLocalAccount, PendingIdentity};
use sp::config::{AccountLinking, SpConfig};
use sp::identity::Identity;
use sp::store::AuditEvent;
use support::{IDP, NOW, Reply, TestSp, send};
use time::Duration;

/// The test SP, asking unlinked identities to link (`account_linking = "prompt"`).
async fn test_sp(tweak: impl FnOnce(&mut SpConfig)) -> TestSp {
    TestSp::start(|config| {
        config.sp.account_linking = AccountLinking::Prompt;
        tweak(config);
    })
    .await
}

fn form(uri: &str, body: String, cookie: Option<&str>) -> Request<Body> {
    let mut request =
        Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::from(body)).expect("request")
}

fn recovery(username: &str, password: &str) -> Request<Body> {
    form(
        "/login/password",
        format!("username={username}&password={password}"),
        None,
    )
}

fn link(token: &str, password: &str) -> Request<Body> {
    form(
        "/link",
        format!("action=link&password={password}"),
        Some(&format!("samlconf_sp_link={token}")),
    )
}

fn reason_code(page: &str) -> Option<&str> {
    page.split("<code id=\"reason-code\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
}

impl TestSp {
    async fn account(&self, login: &str, password: Option<&str>, roles: &[&str]) -> i64 {
        self.sp
            .store()
            .create_local_account(
                &NewLocalAccount {
                    login: Some(login.into()),
                    email: format!("{login}@example.com"),
                    password: password.map(String::from),
                    roles: roles.iter().map(|r| r.to_string()).collect(),
                    sso_allowed: true,
                    ..NewLocalAccount::default()
                },
                NOW,
            )
            .await
            .expect("account")
            .id
    }

    /// What the ACS leaves behind for an unlinked identity that matched `user_id`: a fresh
    /// pending link, as after a fresh IdP sign-in.
    async fn pending_link(&self, user_id: i64) -> String {
        let now = plumbing::clock::Clock::now(&self.clock);
        let identity = PendingIdentity {
            identity: Identity {
                subject: "bob@idp.test".into(),
                login: Some("bob".into()),
                email: "bob@example.com".into(),
                first_name: None,
                last_name: None,
                groups: vec![],
            },
            groups_present: false,
            groups_overage: false,
            name_id: Some("bob@idp.test".into()),
            name_id_format: None,
            session_index: None,
            session_expires_at: now + Duration::hours(8),
        };
        self.sp
            .store()
            .create_pending_link(
                IDP,
                &identity,
                Some(user_id),
                None,
                now,
                now + Duration::minutes(10),
            )
            .await
            .expect("pending link")
    }

    async fn audit(&self) -> Vec<AuditEvent> {
        self.sp.store().audit_events().await.expect("audit")
    }

    async fn audited_code(&self, code: &str) -> usize {
        self.audit()
            .await
            .iter()
            .filter(|e| e.code.as_deref() == Some(code))
            .count()
    }

    async fn audited_kind(&self, kind: &str) -> usize {
        self.audit().await.iter().filter(|e| e.kind == kind).count()
    }

    /// Fires `requests` at once, each on its own task of the multi-threaded runtime.
    async fn in_parallel(&self, requests: Vec<Request<Body>>) -> Vec<Reply> {
        let tasks: Vec<_> = requests
            .into_iter()
            .map(|request| tokio::spawn(send(self.app.clone(), request)))
            .collect();
        let mut replies = Vec::new();
        for task in tasks {
            replies.push(task.await.expect("task"));
        }
        replies
    }
}

#[tokio::test]
async fn every_failed_recovery_attempt_gets_the_same_answer() {
    let sp = test_sp(|_| {}).await;
    sp.account("root", Some("recover-me"), &["admin"]).await;
    sp.account("eve", Some("eves-pw"), &["member"]).await;
    sp.account("sso-only", None, &["admin"]).await;

    let attempts = [
        ("root", "guess", "wrong password"),
        ("nobody", "guess", "unknown user"),
        ("eve", "eves-pw", "right password, no admin role"),
        ("sso-only", "anything", "account without a password"),
    ];
    let mut replies = Vec::new();
    for (username, password, _) in attempts {
        replies.push(send(sp.app.clone(), recovery(username, password)).await);
    }
    for (reply, (_, _, case)) in replies.iter().zip(attempts) {
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{case}");
        assert_eq!(
            reason_code(&reply.body),
            Some("recovery.bad_credentials"),
            "{case}"
        );
        assert_eq!(
            reply, &replies[0],
            "{case} is told apart from a wrong password"
        );
    }
    // The precise cause is for the audit log only.
    let details: Vec<String> = sp
        .audit()
        .await
        .into_iter()
        .filter(|e| e.kind == "recovery.rejected")
        .map(|e| e.detail)
        .collect();
    assert_eq!(details.len(), 4, "{details:?}");
    assert!(details[2].contains("admin"), "{details:?}");
    assert!(details[3].contains("no password"), "{details:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_recovery_guesses_are_evaluated_at_most_the_allowed_number_of_times() {
    let sp = test_sp(|_| {}).await;
    sp.account("root", Some("recover-me"), &["admin"]).await;
    let requests = (0..50)
        .map(|i| recovery("root", &format!("guess{i}")))
        .collect();
    let replies = sp.in_parallel(requests).await;

    let evaluated = sp.audited_code("recovery.bad_credentials").await;
    let throttled = sp.audited_code("auth.throttled").await;
    assert!(
        evaluated <= 5,
        "{evaluated} of 50 parallel guesses were evaluated (limit 5)"
    );
    assert_eq!(evaluated + throttled, 50, "every attempt is audited");
    assert!(replies.iter().all(|r| r.location.is_none()), "no sign-in");
    // Locked now, even for the right password.
    let reply = send(sp.app.clone(), recovery("root", "recover-me")).await;
    assert_eq!(reason_code(&reply.body), Some("auth.throttled"));
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_link_guesses_are_evaluated_at_most_the_allowed_number_of_times() {
    let sp = test_sp(|_| {}).await;
    let bob = sp.account("bob", Some("hunter2"), &["member"]).await;
    let token = sp.pending_link(bob).await;
    let requests = (0..50)
        .map(|i| link(&token, &format!("guess{i}")))
        .collect();
    let replies = sp.in_parallel(requests).await;

    let evaluated = sp.audited_kind("link.password_failed").await;
    assert!(
        evaluated <= 5,
        "{evaluated} of 50 parallel guesses were evaluated (limit 5)"
    );
    assert!(replies.iter().all(|r| r.location.is_none()), "no sign-in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fresh_sign_ins_do_not_buy_fresh_link_guesses() {
    let sp = test_sp(|_| {}).await;
    let bob = sp.account("bob", Some("hunter2"), &["member"]).await;
    // Ten sign-ins in a row, each guessing five times in parallel.
    for _ in 0..10 {
        let token = sp.pending_link(bob).await;
        let requests = (0..5).map(|i| link(&token, &format!("guess{i}"))).collect();
        sp.in_parallel(requests).await;
    }
    let evaluated = sp.audited_kind("link.password_failed").await;
    assert!(
        evaluated <= 5,
        "{evaluated} guesses were evaluated over ten sign-ins (limit 5 per account)"
    );
    // The right password on a fresh sign-in is refused too while the account is locked …
    let token = sp.pending_link(bob).await;
    let reply = send(sp.app.clone(), link(&token, "hunter2")).await;
    assert_eq!(
        reason_code(&reply.body),
        Some("auth.throttled"),
        "{reply:?}"
    );
    assert!(sp.sp.store().user_by_id(bob).await.unwrap().is_some());
    // … and accepted once the lock-out has passed.
    sp.clock.advance(Duration::seconds(901));
    let token = sp.pending_link(bob).await;
    let reply = send(sp.app.clone(), link(&token, "hunter2")).await;
    assert_eq!(reply.location.as_deref(), Some("/"), "{reply:?}");
}

#[tokio::test]
async fn the_recovery_login_recovers_after_the_lock_out() {
    let sp = test_sp(|c| {
        c.sp.password_max_failures = 3;
        c.sp.password_lockout_secs = 600;
    })
    .await;
    sp.account("root", Some("recover-me"), &["admin"]).await;
    for _ in 0..3 {
        let reply = send(sp.app.clone(), recovery("root", "guess")).await;
        assert_eq!(reason_code(&reply.body), Some("recovery.bad_credentials"));
    }
    let reply = send(sp.app.clone(), recovery("root", "recover-me")).await;
    assert_eq!(reason_code(&reply.body), Some("auth.throttled"));
    sp.clock.advance(Duration::seconds(599));
    let reply = send(sp.app.clone(), recovery("root", "recover-me")).await;
    assert_eq!(reason_code(&reply.body), Some("auth.throttled"));
    sp.clock.advance(Duration::seconds(1));
    let reply = send(sp.app.clone(), recovery("root", "recover-me")).await;
    assert_eq!(reply.location.as_deref(), Some("/"), "{reply:?}");
    // A success starts the count afresh.
    for _ in 0..2 {
        send(sp.app.clone(), recovery("root", "guess")).await;
    }
    let reply = send(sp.app.clone(), recovery("root", "recover-me")).await;
    assert_eq!(reply.location.as_deref(), Some("/"), "{reply:?}");
}

#[tokio::test]
async fn unknown_usernames_are_throttled_like_real_ones() {
    let sp = test_sp(|c| c.sp.password_max_failures = 2).await;
    sp.account("root", Some("recover-me"), &["admin"]).await;
    let mut answers = Vec::new();
    for username in ["root", "ghost"] {
        for _ in 0..3 {
            answers.push(send(sp.app.clone(), recovery(username, "guess")).await);
        }
    }
    assert_eq!(
        answers[0..3],
        answers[3..6],
        "lock-out tells accounts apart"
    );
    assert_eq!(reason_code(&answers[2].body), Some("auth.throttled"));
}

/// Over a real socket, served as the SP's `serve` command does: the client address is known, and
/// guesses spread over many usernames from one address are limited too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_from_one_address_are_limited_across_usernames() {
    let sp = test_sp(|c| {
        c.sp.password_max_failures_per_address = 4;
        c.sp.account_linking = AccountLinking::Email;
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = sp.app.clone();
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut codes = Vec::new();
    for i in 0..6 {
        let page = client
            .post(format!("http://{address}/login/password"))
            .form(&[
                ("username", format!("user{i}")),
                ("password", "guess".into()),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        codes.push(reason_code(&page).unwrap_or("(none)").to_owned());
    }
    server.abort();
    assert_eq!(
        codes,
        [
            "recovery.bad_credentials",
            "recovery.bad_credentials",
            "recovery.bad_credentials",
            "recovery.bad_credentials",
            "auth.throttled",
            "auth.throttled"
        ]
    );
    let throttled = sp.audit().await;
    assert!(
        throttled
            .iter()
            .any(|e| e.code.as_deref() == Some("auth.throttled") && e.detail.contains("127.0.0.1")),
        "the audit names the address: {throttled:?}"
    );
}

/// The administrator who used the bypass because SSO is broken must keep the session: no IdP
/// signed it in, so the home page schedules no renewal and `/renew` sends it to no IdP.
#[tokio::test]
async fn a_recovery_session_is_never_renewed_at_an_idp() {
    let sp = test_sp(|c| c.sp.renewal_interval_secs = 270).await;
    sp.account("root", Some("recover-me"), &["admin"]).await;
    let reply = send(sp.app.clone(), recovery("root", "recover-me")).await;
    assert_eq!(reply.location.as_deref(), Some("/"), "{reply:?}");
    let cookie = reply.set_cookie.expect("a session cookie");
    let cookie = cookie.split(';').next().expect("name=value");
    let get = |uri: &str| {
        Request::get(uri)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .expect("request")
    };
    let home = send(sp.app.clone(), get("/")).await;
    assert!(home.body.contains("Sign out"), "{home:?}");
    assert!(!home.body.contains("keep-alive.js"), "{}", home.body);
    sp.clock.advance(Duration::seconds(280));
    let renewal = send(sp.app.clone(), get("/renew?mode=iframe")).await;
    assert_eq!(renewal.status, StatusCode::OK, "{renewal:?}");
    assert_eq!(renewal.location, None, "sent to an IdP: {renewal:?}");
    assert!(
        renewal.body.contains("renewal-not-needed"),
        "{}",
        renewal.body
    );
    let me = send(sp.app.clone(), get("/me")).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    assert!(me.body.contains("root@example.com"), "{}", me.body);
}

/// Flow Production Tracking: an administrator created under SSO has no password; another
/// administrator issues a password-setup link (the SP sends no mail), with which the first sets a
/// password for the recovery login. Only an admin's session may issue links, and only with a JSON
/// body (another site's form cannot send one).
#[tokio::test]
async fn an_admin_issues_a_password_setup_link_that_sets_a_password_once() {
    let sp = test_sp(|_| {}).await;
    sp.account("root", Some("recover-me"), &["admin"]).await;
    sp.account("ops", None, &["admin"]).await;
    let session = |reply: Reply| {
        let cookie = reply.set_cookie.expect("a session cookie");
        cookie.split(';').next().expect("name=value").to_owned()
    };
    let issue = |cookie: &str, content_type: &str, body: &str| {
        Request::post("/admin/password-setup")
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_owned()))
            .expect("request")
    };
    let root = session(send(sp.app.clone(), recovery("root", "recover-me")).await);
    // A member's session (signed in under `password_accounts`) may not issue links.
    let members =
        test_sp(|c| c.sp.recovery_login = sp::config::RecoveryLogin::PasswordAccounts).await;
    members
        .account("eve", Some("eve-password"), &["member"])
        .await;
    let eve = session(send(members.app.clone(), recovery("eve", "eve-password")).await);
    let refused = send(
        members.app.clone(),
        issue(&eve, "application/json", r#"{"user":"eve"}"#),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{refused:?}");
    // A form post (what another site can make a browser send) is not read.
    let form_post = send(
        sp.app.clone(),
        issue(&root, "application/x-www-form-urlencoded", "user=ops"),
    )
    .await;
    assert_eq!(
        form_post.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{form_post:?}"
    );
    let issued = send(
        sp.app.clone(),
        issue(&root, "application/json", r#"{"user":"ops@example.com"}"#),
    )
    .await;
    assert_eq!(issued.status, StatusCode::OK, "{issued:?}");
    let issued: serde_json::Value = serde_json::from_str(&issued.body).expect("JSON");
    let path = issued["path"].as_str().expect("a path").to_owned();
    let token = path.rsplit('/').next().expect("token").to_owned();
    let page = send(
        sp.app.clone(),
        Request::get(&path).body(Body::empty()).expect("request"),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(page.body.contains("password-setup-form"), "{}", page.body);
    let set = |password: &str| {
        form(
            "/password/setup",
            format!("token={token}&password={password}"),
            None,
        )
    };
    let done = send(sp.app.clone(), set("a-long-new-password")).await;
    assert_eq!(
        done.location.as_deref(),
        Some("/login?sso=false&password_set=1"),
        "{done:?}"
    );
    let again = send(sp.app.clone(), set("another-long-password")).await;
    assert_eq!(
        reason_code(&again.body),
        Some("password_setup.used"),
        "{again:?}"
    );
    let signed_in = send(sp.app.clone(), recovery("ops", "a-long-new-password")).await;
    assert_eq!(signed_in.location.as_deref(), Some("/"), "{signed_in:?}");
    let kinds: Vec<String> = sp
        .sp
        .store()
        .audit_events()
        .await
        .expect("audit")
        .into_iter()
        .map(|e: AuditEvent| e.kind)
        .collect();
    for kind in [
        "password_setup.issued",
        "password_setup.completed",
        "password_setup.rejected",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} not in {kinds:?}");
    }
}
