//! Lifecycle details that a scenario file cannot express (the rest of issue 3's behaviour —
//! linking, provisioning policies, group overage, renewal, recovery — is in the catalogue:
//! scenarios/3-…, 4-linking, 5-renewal-and-sessions): the renewal script in the page, a stale
//! session cookie, and the AuthnContextClassRef check.

use mock_idp::server::NextResponses;
use samlconf::driver::{HttpDriver, SignInOutcome};
use samlconf::harness::{Pair, PairOptions};
use serde_json::json;
use sp::config::SpConfig;
use time::macros::datetime;

async fn pair_with(tweak: fn(&mut SpConfig)) -> Pair {
    Pair::start(PairOptions {
        virtual_start: Some(datetime!(2026-06-01 12:00 UTC)),
        sp_tweak: Some(tweak),
        ..Default::default()
    })
    .await
    .expect("start the pair")
}

#[tokio::test]
async fn home_page_carries_the_renewal_script_only_when_signed_in() {
    let pair = pair_with(|c| c.sp.renewal_interval_secs = 123).await;
    let signed_out = reqwest::get(format!("{}/", pair.endpoints.sp_base_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!signed_out.contains("/renew"), "{signed_out}");

    let view = sp::pages::HomeView {
        email: "a@example.com",
        name: None,
        roles: &[],
        idp: "urn:idp",
        expires_at: datetime!(2026-06-01 12:00 UTC),
        renewal_interval_secs: 123,
        logout_csrf_token: "t0ken",
    };
    let page = sp::pages::home(Some(&view));
    // Signing out is the form with the session's token, never a plain link (logout CSRF).
    assert!(
        page.contains(r#"<form method="post" action="/logout""#)
            && page.contains(r#"name="csrf_token" value="t0ken""#)
            && !page.contains(r#"href="/logout""#),
        "{page}"
    );
    assert!(
        page.contains(r#"<script src="/static/keep-alive.js" data-interval-secs="123""#),
        "{page}"
    );
    assert!(
        page.contains("/renew?mode=iframe") && page.contains("allow pop-ups"),
        "{page}"
    );
    let disabled = sp::pages::home(Some(&sp::pages::HomeView {
        renewal_interval_secs: 0,
        ..view
    }));
    assert!(
        !disabled.contains("/renew"),
        "renewal_interval_secs = 0 disables renewal"
    );
}

#[tokio::test]
async fn an_ended_session_sends_the_user_back_to_sign_in() {
    let pair = pair_with(|_| {}).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let home = client
        .get(format!("{}/", pair.endpoints.sp_base_url))
        .header("cookie", "samlconf_sp_session=ended-or-unknown")
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers()["location"], "/login");
    let cleared = home.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.contains("Max-Age=0"),
        "the stale cookie is cleared, so this happens once: {cleared}"
    );
}

#[tokio::test]
async fn authn_context_class_ref_that_is_not_a_uri_is_refused_with_the_reason() {
    let pair = pair_with(|_| {}).await;
    pair.idp
        .set_next(NextResponses {
            profile: Some("valid".into()),
            knobs: json!({"authn_context_class_ref_override": "Password"}),
            count: 1,
            user: None,
        })
        .unwrap();
    let outcome = HttpDriver::new(&pair.endpoints.sp_base_url)
        .unwrap()
        .sign_in("bob@example.com", None)
        .await
        .unwrap();
    match &outcome {
        SignInOutcome::Refused { code, detail, .. } => {
            assert_eq!(code, "structure.malformed");
            assert!(
                detail.contains("must be a URI"),
                "Decisions' troubleshooting message: {detail}"
            );
            assert!(
                !detail.contains("\"Password\""),
                "the browser sees the rule, not the value sent: {detail}"
            );
        }
        other => panic!("{other:?}"),
    }
}
