//! Single logout end to end over real HTTP on loopback: the mock IdP and the reference SP, a
//! browser (the HTTP driver's cookie jar) following every redirect. Judged by who is still signed
//! in (`/me`), by what the IdP received, and by the SP's audit log.

use mock_idp::knobs::{Knobs, SigningKey};
use mock_idp::logout::SignatureCheck;
use mock_idp::server::{LogoutBinding, LogoutMessage, StartLogout};
use samlconf::driver::{HttpDriver, SignInOutcome, parse_post_form};
use samlconf::harness::{Pair, PairOptions};
use time::macros::datetime;

async fn pair_with(tweak: Option<fn(&mut sp::config::SpConfig)>) -> Pair {
    Pair::start(PairOptions {
        virtual_start: Some(datetime!(2026-06-01 12:00 UTC)),
        sp_tweak: tweak,
        ..Default::default()
    })
    .await
    .expect("start mock IdP and reference SP")
}

async fn signed_in(pair: &Pair, user: &str) -> HttpDriver {
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    let outcome = driver.sign_in(user, None).await.expect("driver");
    assert!(
        matches!(outcome, SignInOutcome::SignedIn { .. }),
        "{outcome:?}"
    );
    driver
}

async fn last_logout_event(pair: &Pair) -> sp::store::AuditEvent {
    pair.sp
        .store()
        .audit_events()
        .await
        .unwrap()
        .into_iter()
        .rfind(|e| e.kind.starts_with("logout.") || e.kind == "session.logout")
        .expect("a logout event")
}

/// Sends an IdP-initiated LogoutRequest for `user` through `driver`'s browser.
async fn idp_logout(
    pair: &Pair,
    driver: &HttpDriver,
    user: &str,
    binding: LogoutBinding,
    knobs: Knobs,
) -> samlconf::driver::Visited {
    let message = pair
        .idp
        .start_logout(StartLogout {
            user: user.into(),
            binding,
            knobs,
            relay_state: Some("/after".into()),
        })
        .expect("start logout");
    match message {
        LogoutMessage::Redirect { url, .. } => driver.visit(&url).await.expect("follow"),
        LogoutMessage::Post { html, .. } => {
            let form = parse_post_form(&html).expect("auto-submit form");
            driver.post_and_follow(&form).await.expect("follow")
        }
    }
}

fn last_status_at_idp(pair: &Pair) -> String {
    let received = pair.idp.logout_responses();
    let last = received.last().expect("the SP answered the IdP");
    assert!(
        matches!(last.signature, Some(SignatureCheck::Verified { .. })),
        "the SP's LogoutResponse verifies with its certificate: {last:?}"
    );
    last.response
        .as_ref()
        .and_then(|r| r.status_code.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn sp_initiated_logout_with_slo_url_ends_both_sessions() {
    let pair = pair_with(None).await;
    let driver = signed_in(&pair, "bob@example.com").await;
    let page = driver.sign_out().await.expect("logout");
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.url.contains("/saml/sls?SAMLResponse="),
        "{:?}",
        page.hops
    );
    assert!(page.body.contains("You are signed out"));
    assert_eq!(driver.me().await.unwrap(), None, "/me is 401");

    let requests = pair.idp.logout_requests();
    let received = requests.last().expect("the IdP got the LogoutRequest");
    assert!(
        matches!(received.signature, Some(SignatureCheck::Verified { .. })),
        "signed with the SP key the IdP knows: {received:?}"
    );
    assert!(received.sessions_ended >= 1, "{received:?}");
    let event = last_logout_event(&pair).await;
    assert_eq!(event.kind, "logout.accepted", "{event:?}");
}

#[tokio::test]
async fn without_slo_url_logout_is_local_only() {
    let pair = pair_with(Some(|c| c.idp.slo_url = None)).await;
    let driver = signed_in(&pair, "bob@example.com").await;
    let page = driver.sign_out().await.expect("logout");
    assert_eq!(
        page.hops.len(),
        1,
        "no redirect to the IdP: {:?}",
        page.hops
    );
    assert!(page.body.contains("You are signed out"));
    assert_eq!(driver.me().await.unwrap(), None);
    assert!(pair.idp.logout_requests().is_empty());
    assert_eq!(last_logout_event(&pair).await.kind, "session.logout");
}

#[tokio::test]
async fn idp_initiated_logout_over_redirect_and_post_ends_the_session() {
    for binding in [LogoutBinding::Redirect, LogoutBinding::Post] {
        let pair = pair_with(None).await;
        let driver = signed_in(&pair, "bob@example.com").await;
        let other = signed_in(&pair, "alice@example.com").await;
        let page = idp_logout(&pair, &driver, "bob", binding, Knobs::default()).await;
        assert_eq!(page.status, 200, "{binding:?}: {page:?}");
        assert_eq!(driver.me().await.unwrap(), None, "{binding:?}");
        assert!(other.me().await.unwrap().is_some(), "alice stays signed in");
        assert!(last_status_at_idp(&pair).ends_with(":Success"));
        assert_eq!(last_logout_event(&pair).await.kind, "logout.accepted");
    }
}

#[tokio::test]
async fn refused_idp_logout_requests_keep_the_session_and_name_their_code() {
    let cases: Vec<(&str, Knobs)> = vec![
        (
            "logout.unsigned",
            Knobs {
                logout_unsigned: true,
                ..Default::default()
            },
        ),
        (
            "logout.signature_invalid",
            Knobs {
                logout_signing_key: SigningKey::Attacker,
                ..Default::default()
            },
        ),
        (
            "logout.issuer_mismatch",
            Knobs {
                logout_issuer_override: Some("https://evil.example/metadata".into()),
                ..Default::default()
            },
        ),
        (
            "logout.unknown_session",
            Knobs {
                logout_session_index_override: Some("_never_seen".into()),
                ..Default::default()
            },
        ),
    ];
    for (code, knobs) in cases {
        for binding in [LogoutBinding::Redirect, LogoutBinding::Post] {
            // The IdP ends its own session when it starts a logout: a fresh pair each time.
            let pair = pair_with(None).await;
            let driver = signed_in(&pair, "bob@example.com").await;
            idp_logout(&pair, &driver, "bob", binding, knobs.clone()).await;
            assert!(
                driver.me().await.unwrap().is_some(),
                "{code} {binding:?}: the session survives"
            );
            let event = last_logout_event(&pair).await;
            assert_eq!(event.kind, "logout.rejected", "{code}: {event:?}");
            assert_eq!(event.code.as_deref(), Some(code), "{event:?}");
            // A verified request learns of its refusal; an unverified one gets no signed
            // answer (that would sign the sender's ID and RelayState: a signing oracle).
            if matches!(code, "logout.unsigned" | "logout.signature_invalid") {
                assert!(
                    pair.idp.logout_responses().is_empty(),
                    "{code}: the SP signed an answer to an unverified request"
                );
            } else {
                assert!(
                    last_status_at_idp(&pair).ends_with(":Requester"),
                    "{code}: the IdP learns of the refusal"
                );
            }
        }
    }
}

#[tokio::test]
async fn unsigned_idp_logout_is_accepted_when_not_required() {
    let pair = pair_with(Some(|c| c.sp.require_signed_logout_requests = false)).await;
    let driver = signed_in(&pair, "bob@example.com").await;
    let knobs = Knobs {
        logout_unsigned: true,
        ..Default::default()
    };
    idp_logout(&pair, &driver, "bob", LogoutBinding::Redirect, knobs).await;
    assert_eq!(driver.me().await.unwrap(), None);
}
