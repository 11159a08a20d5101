//! The mock IdP as a workbench for people, driven in Chromium as a person would: an SP-initiated
//! sign-in shows the decoded AuthnRequest; the person picks a profile for this one sign-in, asks
//! to stop before posting, reads the signed answer's summary, presses send, and ends signed in
//! at the SP (judged by the SP's `/me`).

mod browser_support;

use browser_support::Browser;
use fantoccini::Locator;
use samlconf::harness::{Pair, PairOptions};

const PROFILE: &str = "skewed-clock-within-tolerance";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_reads_the_request_picks_a_profile_reviews_the_answer_and_sends_it() {
    let pair = Pair::start(PairOptions::default()).await.unwrap();
    let sp = pair.endpoints.sp_base_url.clone();
    let browser = Browser::for_pair(&pair).await;
    browser.client.goto(&format!("{sp}/login")).await.unwrap();

    // The decoded request, and what it asks for.
    let xml = browser.text_of("pre#authn-request").await.unwrap();
    assert!(xml.contains("<samlp:AuthnRequest"), "{xml}");
    assert!(
        xml.contains(&format!("{sp}/saml/metadata</saml:Issuer>")),
        "{xml}"
    );
    assert!(xml.contains('\n'), "pretty-printed: {xml}");
    let summary = browser.text_of("table#request-summary").await.unwrap();
    for wanted in [
        format!("Issuer {sp}/saml/metadata"),
        format!("ACS URL {sp}/saml/acs"),
        "IsPassive false".to_owned(),
        "ForceAuthn false".to_owned(),
        "Signature not signed".to_owned(),
        "NameID policy".to_owned(),
        "RequestedAuthnContext".to_owned(),
    ] {
        assert!(summary.contains(&wanted), "{wanted:?} in {summary}");
    }

    // For this sign-in: a profile, and stop before posting; then pick the user.
    let c = &browser.client;
    c.find(Locator::Css("details#this-sign-in > summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Css("select#profile"))
        .await
        .unwrap()
        .select_by_value(PROFILE)
        .await
        .unwrap();
    c.find(Locator::Css("input#stop"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Css("form#sign-in button[name=user][value=alice]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // The answer, held back: its summary.
    let summary = browser.text_of("table#response-summary").await.unwrap();
    for wanted in [
        "Signature rsa-sha256 (digest sha256), in the Assertion, covers the Assertion with ID"
            .to_owned(),
        format!("Audience {sp}/saml/metadata"),
        format!("Destination {sp}/saml/acs"),
        "Valid (Conditions) from 20".to_owned(),
        "Status urn:oasis:names:tc:SAML:2.0:status:Success".to_owned(),
        "NameID alice@example.com".to_owned(),
    ] {
        assert!(summary.contains(&wanted), "{wanted:?} in {summary}");
    }
    let page = browser.text_of("body").await.unwrap();
    assert!(page.contains(&format!("with profile {PROFILE}")), "{page}");
    let response = browser.text_of("pre#saml-response").await.unwrap();
    assert!(response.contains("<samlp:Response"), "{response}");
    let audit = pair.sp.store().audit_events().await.unwrap();
    assert!(
        !audit.iter().any(|e| e.kind.starts_with("sign_in.")),
        "nothing reached the SP before send: {audit:?}"
    );
    c.wait()
        .for_element(Locator::Css("form#send-response button#send"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let heading = browser_support::until(|| async {
        let h1 = c.find(Locator::Css("h1")).await.ok()?.text().await.ok()?;
        (h1 == "You are signed in").then_some(h1)
    })
    .await;
    assert!(heading.is_some(), "the sent answer signed alice in");
    let me = browser.me(&pair).await;
    assert_eq!(me["email"], "alice@example.com", "{me}");
    // The profile was for this sign-in only: the control API's queue is untouched.
    assert!(pair.idp.requests().len() == 1);
    browser.close().await;
}
