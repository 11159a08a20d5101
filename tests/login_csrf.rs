//! Login CSRF (issue 8): an attacker starts `/login` in their own browser, signs in at the IdP as
//! themself and makes a victim's browser post the response to the ACS. Each request is bound to
//! the browser that started it, so the victim is refused (`request.browser_mismatch`) and stays
//! signed out, while the attacker's own request is left intact. And a solicited response must
//! carry its InResponseTo under the IdP's signature, so an unsolicited assertion cannot be moved
//! onto a request.

use mock_idp::server::NextResponses;
use samlconf::driver::{HttpDriver, PostForm, SignInOutcome};
use samlconf::harness::{Pair, PairOptions};
use serde_json::json;
use time::macros::datetime;

async fn pair_with(overrides: Option<toml::Table>) -> Pair {
    Pair::start(PairOptions {
        virtual_start: Some(datetime!(2026-06-01 12:00 UTC)),
        sp_overrides: overrides,
        ..Default::default()
    })
    .await
    .expect("start mock IdP and reference SP")
}

fn overrides(sp: toml::Table) -> Option<toml::Table> {
    let mut root = toml::Table::new();
    root.insert("sp".into(), toml::Value::Table(sp));
    Some(root)
}

fn browser(pair: &Pair) -> HttpDriver {
    HttpDriver::new(&pair.endpoints.sp_base_url).expect("driver")
}

/// The attacker's browser goes through `/login` and the IdP as `user`, keeping the response.
async fn attackers_response(attacker: &HttpDriver, user: &str) -> PostForm {
    attacker
        .fetch_idp_form(user, None)
        .await
        .expect("driver")
        .expect("the IdP answers with a form")
}

fn assert_refused(outcome: &SignInOutcome, code: &str) {
    match outcome {
        SignInOutcome::Refused { code: got, .. } => assert_eq!(got, code, "{outcome:?}"),
        other => panic!("expected refusal {code}, got {other:?}"),
    }
}

#[tokio::test]
async fn victim_posting_the_attackers_solicited_response_is_refused_and_stays_signed_out() {
    let pair = pair_with(None).await;
    let attacker = browser(&pair);
    let victim = browser(&pair);
    let form = attackers_response(&attacker, "bob@example.com").await;

    let outcome = victim.submit(&form).await.expect("driver");
    assert_refused(&outcome, "request.browser_mismatch");
    assert_eq!(victim.me().await.unwrap(), None, "the victim is signed in");
    // Not usable by the victim on a second try either.
    assert_refused(
        &victim.submit(&form).await.expect("driver"),
        "request.browser_mismatch",
    );
    assert_eq!(victim.me().await.unwrap(), None);
    let refusals = pair.sp.store().audit_events().await.unwrap();
    assert!(
        refusals
            .iter()
            .any(|e| e.code.as_deref() == Some("request.browser_mismatch")),
        "{refusals:?}"
    );

    // The victim's refused posts burnt nothing: the request still answers the browser that
    // started it.
    match attacker.submit(&form).await.expect("driver") {
        SignInOutcome::SignedIn { me, .. } => assert_eq!(me["email"], "bob@example.com"),
        other => panic!("the attacker's own request was consumed: {other:?}"),
    }
}

#[tokio::test]
async fn a_victim_with_its_own_binding_is_refused_too() {
    let pair = pair_with(None).await;
    let attacker = browser(&pair);
    let victim = browser(&pair);
    // The victim started a sign-in of its own earlier (so it has a binding cookie).
    let _ = attackers_response(&victim, "alice@example.com").await;
    let form = attackers_response(&attacker, "bob@example.com").await;
    assert_refused(
        &victim.submit(&form).await.expect("driver"),
        "request.browser_mismatch",
    );
    assert_eq!(victim.me().await.unwrap(), None);
}

#[tokio::test]
async fn two_tabs_of_one_browser_share_its_binding() {
    let pair = pair_with(None).await;
    let tabs = browser(&pair);
    let first = attackers_response(&tabs, "alice@example.com").await;
    let second = attackers_response(&tabs, "alice@example.com").await;
    for form in [&second, &first] {
        match tabs.submit(form).await.expect("driver") {
            SignInOutcome::SignedIn { me, .. } => assert_eq!(me["email"], "alice@example.com"),
            other => panic!("a tab's sign-in was refused: {other:?}"),
        }
    }
}

#[tokio::test]
async fn off_switch_restores_the_unbound_behaviour() {
    let mut sp = toml::Table::new();
    sp.insert("bind_requests_to_browser".into(), false.into());
    let pair = pair_with(overrides(sp)).await;
    let form = attackers_response(&browser(&pair), "bob@example.com").await;
    match browser(&pair).submit(&form).await.expect("driver") {
        SignInOutcome::SignedIn { me, .. } => assert_eq!(me["email"], "bob@example.com"),
        other => panic!("expected the unbound behaviour, got {other:?}"),
    }
}

/// A client that keeps no cookie jar, carrying cookies by hand: the legacy companion cookie alone
/// (what Python's http.cookiejar sends over plain http) and the main cookie alone both bind.
#[tokio::test]
async fn either_binding_cookie_alone_is_accepted() {
    let pair = pair_with(None).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for keep in ["samlconf_sp_binding", "samlconf_sp_binding_legacy"] {
        let login = client
            .get(format!("{}/login", pair.endpoints.sp_base_url))
            .send()
            .await
            .unwrap();
        let set_cookies: Vec<String> = login
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let main = set_cookies
            .iter()
            .find(|c| c.starts_with("samlconf_sp_binding="))
            .expect("main binding cookie");
        assert!(
            main.contains("SameSite=None") && main.contains("Secure") && main.contains("HttpOnly"),
            "{main}"
        );
        let legacy = set_cookies
            .iter()
            .find(|c| c.starts_with("samlconf_sp_binding_legacy="))
            .expect("legacy binding cookie");
        assert!(
            legacy.contains("SameSite=Lax") && !legacy.contains("Secure"),
            "{legacy}"
        );
        let pair_of = |cookie: &str| cookie.split(';').next().unwrap().to_owned();
        assert_eq!(
            pair_of(main).split_once('=').unwrap().1,
            pair_of(legacy).split_once('=').unwrap().1,
            "one value"
        );
        let cookie = [main, legacy]
            .into_iter()
            .map(|c| pair_of(c))
            .find(|c| c.starts_with(&format!("{keep}=")))
            .unwrap();

        let location = login.headers()["location"].to_str().unwrap().to_owned();
        let page = client
            .get(format!("{location}&login_hint=alice%40example.com"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let form = samlconf::driver::parse_post_form(&page).expect("form");
        let response = client
            .post(&form.action)
            .header("cookie", &cookie)
            .form(&form.fields)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            303,
            "{keep}: {:?}",
            response.text().await
        );
        let session = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("samlconf_sp_session="));
        assert!(session, "{keep}: no session");
    }
}

#[tokio::test]
async fn an_unsolicited_assertion_moved_onto_a_request_is_refused() {
    let mut sp = toml::Table::new();
    sp.insert("allow_unsolicited".into(), false.into());
    let pair = pair_with(overrides(sp)).await;
    pair.idp
        .set_next(NextResponses {
            profile: None,
            knobs: json!({ "omit_subject_in_response_to": true }),
            count: 1,
            user: None,
        })
        .unwrap();
    let driver = browser(&pair);
    let outcome = driver
        .sign_in("bob@example.com", None)
        .await
        .expect("driver");
    assert_refused(&outcome, "subject.in_response_to_missing");
    assert_eq!(driver.me().await.unwrap(), None);
}

/// Renewals are bound the same way: another browser posting the renewal's answer neither
/// renews nor, for a failed answer, ends the session; the browser that started it still can.
#[tokio::test]
async fn a_renewal_answer_posted_from_another_browser_neither_renews_nor_ends_the_session() {
    let pair = pair_with(None).await;
    let owner = browser(&pair);
    let other = browser(&pair);
    match owner
        .sign_in("bob@example.com", None)
        .await
        .expect("driver")
    {
        SignInOutcome::SignedIn { .. } => {}
        outcome => panic!("sign-in: {outcome:?}"),
    }
    let renewal = owner
        .login_redirect("/renew")
        .await
        .expect("passive request");
    let answer = owner.idp_form(&renewal, "").await.expect("passive answer");
    assert_refused(
        &other.submit(&answer).await.expect("driver"),
        "request.browser_mismatch",
    );
    assert_eq!(other.me().await.unwrap(), None);

    // A failed renewal (NoPassive) ends the session only when its own browser posts it.
    pair.idp.end_all_sessions();
    let renewal = owner
        .login_redirect("/renew")
        .await
        .expect("passive request");
    let no_passive = owner
        .idp_form(&renewal, "")
        .await
        .expect("NoPassive answer");
    assert_refused(
        &other.submit(&no_passive).await.expect("driver"),
        "status.not_success",
    );
    assert!(
        owner.me().await.unwrap().is_some(),
        "another browser's post ended the session"
    );
    let _ = owner.submit(&no_passive).await.expect("driver");
    assert_eq!(
        owner.me().await.unwrap(),
        None,
        "the renewal's own answer ends it"
    );
}
