//! End to end over real HTTP on loopback: the mock IdP and the reference SP on random ports, the
//! HTTP driver (reqwest with a cookie jar) following the auto-submit form. Each core profile gives
//! its expected outcome, judged by who is signed in and with which roles — not by status alone.

use mock_idp::server::NextResponses;
use samlconf::driver::{HttpDriver, SignInOutcome};
use samlconf::harness::{Pair, PairOptions};
use serde_json::json;
use time::macros::datetime;

async fn pair() -> Pair {
    Pair::start(PairOptions {
        virtual_start: Some(datetime!(2026-06-01 12:00 UTC)),
        ..Default::default()
    })
    .await
    .expect("start mock IdP and reference SP")
}

fn next(profile: &str) -> NextResponses {
    NextResponses {
        profile: Some(profile.into()),
        knobs: json!({}),
        count: 1,
        user: None,
    }
}

async fn sign_in_with(pair: &Pair, profile: &str, user: &str) -> SignInOutcome {
    pair.idp.set_next(next(profile)).expect("queue profile");
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    driver.sign_in(user, None).await.expect("driver")
}

fn assert_signed_in(outcome: &SignInOutcome, email: &str, roles: &[&str]) {
    match outcome {
        SignInOutcome::SignedIn { me, .. } => {
            assert_eq!(me["email"], email, "{me}");
            assert_eq!(outcome.roles(), roles, "{me}");
        }
        other => panic!("expected {email} signed in, got {other:?}"),
    }
}

fn assert_refused(outcome: &SignInOutcome, code: &str) {
    match outcome {
        SignInOutcome::Refused {
            status, code: got, ..
        } => {
            assert_eq!(got, code, "{outcome:?}");
            assert_eq!(*status, if code.starts_with("input.") { 400 } else { 403 });
        }
        other => panic!("expected refusal {code}, got {other:?}"),
    }
}

// Each core profile's outcome, replay, RelayState, IdP-initiated sign-in, the algorithm
// allow-lists and the identity policies are scenarios now (scenarios/1-sign-in, 2-…, 3-…).
// What stays here is what a scenario cannot say: HTML refusal pages, raw undecodable bodies,
// the audit record's fields.

#[tokio::test]
async fn refusal_is_audited_with_code_idp_subject_and_groups() {
    let pair = pair().await;
    assert_refused(
        &sign_in_with(&pair, "wrong-audience", "carol@example.com").await,
        "audience.mismatch",
    );
    let events = pair.sp.store().audit_events().await.unwrap();
    let refusal = events
        .iter()
        .find(|e| e.kind == "sign_in.rejected")
        .expect("audited");
    assert_eq!(refusal.code.as_deref(), Some("audience.mismatch"));
    assert_eq!(
        refusal.idp.as_deref(),
        Some(pair.endpoints.idp_entity_id().as_str())
    );
    assert_eq!(refusal.subject.as_deref(), Some("carol@example.com"));
    assert_eq!(refusal.groups, vec!["engineering"]);
    assert!(
        refusal.detail.contains("audience") || refusal.detail.contains("Audience"),
        "{}",
        refusal.detail
    );
}

/// Posts a wrong-audience response for alice to the ACS, asking for `accept`.
async fn post_wrong_audience(pair: &Pair, accept: &str) -> reqwest::Response {
    pair.idp.set_next(next("wrong-audience")).unwrap();
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    let form = driver
        .fetch_idp_form("alice@example.com", None)
        .await
        .unwrap()
        .expect("form");
    reqwest::Client::new()
        .post(&form.action)
        .header(reqwest::header::ACCEPT, accept)
        .form(&form.fields)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn browser_gets_an_html_failure_page_with_the_code() {
    let pair = pair().await;
    let response = post_wrong_audience(&pair, "text/html").await;
    assert_eq!(response.status(), 403);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(
        page.contains(r#"<code id="reason-code">audience.mismatch</code>"#),
        "{page}"
    );
}

#[tokio::test]
async fn a_json_refusal_carries_the_summary_and_public_detail_but_not_the_logged_message() {
    let pair = pair().await;
    let response = post_wrong_audience(&pair, "application/json").await;
    assert_eq!(response.status(), 403);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "audience.mismatch", "{body}");
    assert_eq!(
        body["message"],
        sp::reason::Reason::AudienceIsNotThisSp.summary(),
        "{body}"
    );
    // The audience this SP expects (its public entity ID) is shown; what the message listed is not.
    let entity_id = pair.sp.config().entity_id();
    assert_eq!(
        body["detail"],
        format!("This service provider expects the audience {entity_id:?}."),
        "{body}"
    );
    let events = pair.sp.store().audit_events().await.unwrap();
    let logged = &events
        .iter()
        .find(|e| e.kind == "sign_in.rejected")
        .expect("audited")
        .detail;
    assert!(logged.contains("AudienceRestriction lists"), "{logged}");
    assert!(!body.to_string().contains("AudienceRestriction"), "{body}");
}

#[tokio::test]
async fn undecodable_input_is_400_with_a_code() {
    let pair = pair().await;
    let acs = pair.sp.config().acs_url();
    let client = reqwest::Client::new();
    for (body, code) in [
        ("SAMLResponse=%%%not-base64%%%", "input.not_base64"),
        (
            "SAMLResponse=PHg%2BPC94Pg%3D%3D",
            "structure.not_a_response",
        ),
        ("SAMLResponse=bm90IHhtbA%3D%3D", "input.not_xml"),
    ] {
        let response = client
            .post(&acs)
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let json: serde_json::Value = response.json().await.unwrap();
        assert_eq!(json["error"], code, "{body}");
        assert_eq!(
            status,
            if code.starts_with("input.") { 400 } else { 403 },
            "{body}"
        );
    }
}

#[tokio::test]
async fn me_is_401_when_signed_out_and_logout_ends_the_session() {
    let pair = pair().await;
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    assert!(driver.me().await.unwrap().is_none());
    assert_signed_in(
        &driver.sign_in("bob@example.com", None).await.unwrap(),
        "bob@example.com",
        &["member"],
    );
    driver.logout().await.unwrap();
    assert!(driver.me().await.unwrap().is_none());
}

#[tokio::test]
async fn session_ends_when_virtual_time_passes_its_end() {
    let pair = pair().await;
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    assert_signed_in(
        &driver.sign_in("bob@example.com", None).await.unwrap(),
        "bob@example.com",
        &["member"],
    );
    let clock = pair.clock.clone().expect("virtual clock");
    clock.advance(time::Duration::hours(7));
    assert!(
        driver.me().await.unwrap().is_some(),
        "the IdP's 8 h SessionNotOnOrAfter has not passed"
    );
    clock.advance(time::Duration::hours(2));
    assert!(
        driver.me().await.unwrap().is_none(),
        "the session ended with SessionNotOnOrAfter"
    );
}

fn assert_signed_in_as(outcome: &SignInOutcome, email: &str) {
    match outcome {
        SignInOutcome::SignedIn { me, .. } => assert_eq!(me["email"], email, "{me}"),
        other => panic!("expected {email} signed in, got {other:?}"),
    }
}

/// SAML core §2.5.1.5: a OneTimeUse assertion "MUST NOT be retained for future use". Once used it
/// is never accepted again — even after its windows have passed (so the replay cache could drop
/// it) and the SP's clock is then stepped back (an NTP correction), which reopens them.
#[tokio::test]
async fn a_one_time_use_assertion_is_refused_even_after_the_clock_steps_back() {
    let pair = pair().await;
    let clock = pair.clock.clone().expect("virtual clock");
    pair.idp
        .set_next(NextResponses {
            knobs: json!({"one_time_use": true}),
            ..next("valid")
        })
        .expect("queue");
    let bob = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    assert_signed_in_as(
        &bob.sign_in("bob@example.com", None).await.unwrap(),
        "bob@example.com",
    );
    let form = bob.posted_forms().last().cloned().expect("the ACS form");
    // Ten minutes on (past NotOnOrAfter + skew), another sign-in: expired entries are dropped.
    clock.advance(time::Duration::minutes(10));
    assert_signed_in_as(
        &sign_in_with(&pair, "valid", "alice@example.com").await,
        "alice@example.com",
    );
    // Nine minutes back: bob's assertion is inside its windows again.
    clock.advance(time::Duration::minutes(-9));
    let attacker = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    assert_refused(
        &attacker.submit(&form).await.unwrap(),
        "replay.assertion_reused",
    );
}
