//! The SameSite trouble (Decisions' `DefaultSameSiteCookieMode`) in a real browser, across real
//! sites: the mock IdP at https://127.0.0.1 and the SP at https://localhost, both with the run's
//! certificate authority. The IdP's answer is a cross-site POST to the ACS, on which Chromium
//! sends only `SameSite=None` cookies: an SP that keeps its request binding in a `Lax` or `Strict`
//! cookie (`request_cookie_samesite`) loses it and refuses the sign-in with
//! `request.browser_mismatch`; ours (`None; Secure`) signs the user in.

mod browser_support;

use browser_support::Browser;
use fantoccini::Locator;
use samlconf::harness::{Pair, PairOptions};

async fn cross_site_pair(same_site: &str) -> Pair {
    let mut sp = toml::Table::new();
    sp.insert("request_cookie_samesite".into(), same_site.into());
    let overrides = toml::Table::from_iter([("sp".to_owned(), toml::Value::Table(sp))]);
    let pair = Pair::start(PairOptions {
        https: true,
        sp_host: Some("localhost".into()),
        sp_overrides: Some(overrides),
        ..Default::default()
    })
    .await
    .expect("start the pair");
    assert!(
        pair.endpoints
            .idp_base_url
            .starts_with("https://127.0.0.1:")
    );
    assert!(pair.endpoints.sp_base_url.starts_with("https://localhost:"));
    pair
}

/// Bob starts at the SP and picks himself on the IdP's login page, as a person would; the
/// IdP's page then posts the response to the ACS (cross-site). Returns what `/me` says after.
async fn sign_in_across_sites(pair: &Pair, browser: &Browser) -> serde_json::Value {
    browser
        .client
        .goto(&format!("{}/login", pair.endpoints.sp_base_url))
        .await
        .unwrap();
    browser
        .client
        .wait()
        .for_element(Locator::Css("form#sign-in button[name=user][value=bob]"))
        .await
        .expect("the IdP's login page lists bob (over https, the certificate trusted)")
        .click()
        .await
        .unwrap();
    // The ACS answers with the SP's refusal page or a redirect to its home page.
    let landed = browser_support::until(|| async {
        let url = browser.client.current_url().await.ok()?;
        (url.host_str() == Some("localhost") && url.path() != "/login").then_some(())
    })
    .await;
    assert!(landed.is_some(), "the browser never came back to the SP");
    browser.text_of("h1").await;
    browser.me(pair).await
}

async fn refused_for_a_lost_binding(same_site: &str) {
    let pair = cross_site_pair(same_site).await;
    let browser = Browser::for_pair(&pair).await;
    browser
        .client
        .goto(&format!("{}/login", pair.endpoints.sp_base_url))
        .await
        .unwrap();
    browser
        .client
        .wait()
        .for_element(Locator::Css("form#sign-in button[name=user][value=bob]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let code = browser.text_of("#reason-code").await;
    assert_eq!(
        code.as_deref(),
        Some("request.browser_mismatch"),
        "SameSite={same_site}: the refusal page names the lost binding"
    );
    let me = browser.me(&pair).await;
    assert_eq!(me["error"], "not_signed_in", "SameSite={same_site}: {me}");
    let rejected = pair.sp.store().audit_events().await.unwrap();
    let detail = rejected
        .iter()
        .find(|e| e.kind == "sign_in.rejected")
        .map(|e| format!("{e:?}"))
        .unwrap_or_default();
    assert!(
        detail.contains("presents no binding cookie"),
        "the cookie did not arrive at all (not a wrong one): {detail}"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lax_request_cookie_is_lost_on_the_cross_site_post() {
    refused_for_a_lost_binding("lax").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strict_request_cookie_is_lost_on_the_cross_site_post() {
    refused_for_a_lost_binding("strict").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_samesite_none_request_cookie_survives_the_cross_site_post() {
    let pair = cross_site_pair("none").await;
    let browser = Browser::for_pair(&pair).await;
    let me = sign_in_across_sites(&pair, &browser).await;
    assert_eq!(me["email"], "bob@example.com", "{me}");
    browser.close().await;
}
