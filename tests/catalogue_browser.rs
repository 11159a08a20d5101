//! The scenario catalogue in a real browser (Debian's Chromium through chromedriver): every
//! scenario of every section drives the IdP's login page or the SP's pages (the login page, the
//! link prompt, failure pages, the recovery login, the logout confirmation, renewal in the iframe
//! and in the renewal window, the HTTPS and SameSite scenarios across two sites), so all of them
//! run with `--driver browser` semantics, two at once, and must pass; a step the browser cannot
//! judge is reported skipped with its reason, never passed.
//!
//! The whole catalogue takes a few minutes here (`cargo bench --bench browser` measures it);
//! no retry hides a harness error (the one hang seen, a pool reset waiting for the last page's
//! load, is fixed and tested in tests/browser_isolation.rs).

use std::path::Path;
use std::sync::Arc;

use samlconf::driver::browser::Chromedriver;
use samlconf::runner::{self, DriverKind, ScenarioResult, Verdict};
use samlconf::scenario::{self, Scenario};

fn catalogue() -> Vec<Scenario> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    scenario::load_dir(&dir).unwrap_or_else(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("the catalogue does not load:\n{}", lines.join("\n"))
    })
}

async fn run_in_browser(scenarios: Vec<Scenario>) -> Vec<ScenarioResult> {
    let chromedriver = Chromedriver::start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let chromedriver = Arc::new(chromedriver);
    let driver = DriverKind::Browser {
        chromedriver: chromedriver.clone(),
        cross_site: false,
    };
    let results = runner::run_all_with(scenarios, 2, driver, |_| {}).await;
    chromedriver.shutdown().await;
    results
}

/// The scenarios that did not pass; a skipped one counts as passed only when every step it
/// skipped says why (the step the browser cannot judge, reported, not passed).
fn not_passed(results: &[ScenarioResult]) -> Vec<String> {
    let skipped_with_reasons = |r: &ScenarioResult| {
        r.verdict == Verdict::Skipped
            && r.steps.iter().any(|s| s.skip_reason.is_some())
            && r.steps
                .iter()
                .all(|s| s.skip_reason.as_deref().is_none_or(|why| !why.is_empty()))
    };
    results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass && !skipped_with_reasons(r))
        .map(|r| {
            format!(
                "{} {} [{}]: {}",
                r.id,
                r.title,
                r.verdict.as_str(),
                r.reason.as_deref().unwrap_or_default()
            )
        })
        .collect()
}

/// A second renewal in the same page is judged by its own answer, not by the first one's (the
/// browser driver once read the page's earlier renewal message and said "renewed").
const RENEWAL_AFTER_RENEWAL: &str = r#"
id = "5.99"
title = "After a renewal, the IdP ends the session: the next renewal ends the SP's"
section = "5 renewal and sessions"
description = "Bob renews once; the IdP ends his session; his page renews again."
expectation = "The first renewal succeeds, the second ends the session."
source = "tests/catalogue_browser.rs: the browser driver's renewals in one page."
[[step]]
sign_in = { user = "bob@example.com" }
expect = { outcome = "signed_in" }
[[step]]
advance_clock = { seconds = 270 }
[[step]]
renew = {}
expect = { outcome = "renewed" }
[[step]]
idp_end_sessions = {}
[[step]]
advance_clock = { seconds = 270 }
[[step]]
renew = {}
expect = { outcome = "session_ended", code = "status.not_success", signed_in = false }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_passes_in_the_browser() {
    let mut scenarios = catalogue();
    let sections: std::collections::BTreeSet<&str> = scenarios
        .iter()
        .filter_map(|s| s.id.split('.').next())
        .collect();
    assert_eq!(
        sections.into_iter().collect::<Vec<_>>(),
        ["1", "2", "3", "4", "5", "6", "7", "8"]
    );
    // The HTTPS and SameSite scenarios are among them (two sites, the run CA trusted).
    for id in ["1.45", "1.47", "1.48", "1.49"] {
        assert!(scenarios.iter().any(|s| s.id == id), "{id}");
    }
    scenarios.push(
        scenario::parse(
            Path::new("5.99-renewal-after-renewal.toml"),
            RENEWAL_AFTER_RENEWAL,
        )
        .unwrap(),
    );
    let results = run_in_browser(scenarios).await;
    let failures = not_passed(&results);
    assert!(
        failures.is_empty(),
        "{} of {} scenarios did not pass in the browser:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
}

/// A step the file marks for the HTTP driver only is skipped in the browser, with its reason and
/// note, never passed.
const HTTP_ONLY_STEP: &str = r#"
id = "1.98"
title = "a step only the HTTP driver judges"
section = "1 sign-in"
description = "Bob checks /me."
expectation = "The browser driver skips the step."
source = "tests/catalogue_browser.rs: the skip path."
[[step]]
check = {}
expect = { outcome = "signed_out" }
drivers = ["http"]
note = "for the test"
"#;

/// The steps a browser once left to the HTTP driver: a replay from another browser (1.8), a
/// `visit` of a download (1.19) and of a redirect (5.15), the IdP's POST-binding logout (6.4),
/// login CSRF (`post_from`, 7.25) and logout CSRF (`cross_site`, 7.51). Their report shows the
/// SAML messages the browser carried, read from its network log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_once_left_to_the_http_driver_run_in_the_browser() {
    const ONCE_HTTP_ONLY: &[&str] = &["1.8", "1.19", "5.15", "6.4", "7.25", "7.51"];
    let mut scenarios: Vec<Scenario> = catalogue()
        .into_iter()
        .filter(|s| ONCE_HTTP_ONLY.contains(&s.id.as_str()))
        .collect();
    assert_eq!(scenarios.len(), ONCE_HTTP_ONLY.len());
    scenarios.push(scenario::parse(Path::new("1.98-http-only-step.toml"), HTTP_ONLY_STEP).unwrap());
    let results = run_in_browser(scenarios).await;
    let (skipped, results): (Vec<_>, Vec<_>) = results.into_iter().partition(|r| r.id == "1.98");
    let failures = not_passed(&results);
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    assert_eq!(skipped[0].verdict, Verdict::Skipped);
    let reason = skipped[0].steps[0]
        .skip_reason
        .as_deref()
        .unwrap_or_default();
    assert!(
        reason.contains("only the http driver") && reason.contains("for the test"),
        "{reason}"
    );
    let junit = samlconf::report::junit::junit(&skipped);
    assert!(junit.contains("<skipped"), "{junit}");

    // 1.8's first step: the AuthnRequest (HTTP-Redirect) and the IdP's answer (HTTP-POST).
    let replay = results.iter().find(|r| r.id == "1.8").unwrap();
    let carried: Vec<(&str, &str)> = replay.steps[0]
        .messages
        .iter()
        .map(|m| (m.parameter.as_str(), m.binding.as_str()))
        .collect();
    assert!(
        carried.contains(&("SAMLRequest", "HTTP-Redirect"))
            && carried.contains(&("SAMLResponse", "HTTP-POST")),
        "{carried:?}"
    );
    let response = replay.steps[0]
        .messages
        .iter()
        .find(|m| m.parameter == "SAMLResponse")
        .unwrap();
    assert!(response.xml.contains("Assertion"), "{}", response.xml);
    assert!(response.to.ends_with("/saml/acs"), "{}", response.to);
    // The replay posts the same response again: it is on the replaying step's record too.
    assert!(
        replay.steps[1]
            .messages
            .iter()
            .any(|m| m.parameter == "SAMLResponse" && m.xml == response.xml),
        "{:?}",
        replay.steps[1].messages
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_step_in_the_browser_carries_a_screenshot_and_the_page() {
    let text = r#"
id = "1.99"
title = "expects the wrong user on purpose"
section = "1 sign-in"
description = "Bob signs in."
expectation = "The scenario expects Alice, so that the step fails."
source = "tests/catalogue_browser.rs: a failing step, to see what the report keeps of the browser."
[[step]]
sign_in = { user = "bob@example.com" }
expect = { outcome = "signed_in", user = "alice@example.com" }
"#;
    let scenario = scenario::parse(Path::new("1.99-wrong-user.toml"), text).unwrap();
    let results = run_in_browser(vec![scenario]).await;
    assert_eq!(results[0].verdict, Verdict::Fail, "{:?}", results[0].reason);
    let capture = results[0].steps[0]
        .browser_capture
        .as_ref()
        .expect("a failed browser step keeps the page");
    assert!(
        capture
            .screenshot
            .starts_with("data:image/png;base64,iVBOR")
    );
    assert!(capture.html.contains("sign-out"), "the SP's home page");
    let run = runner::RunInfo {
        driver: "browser",
        ..runner::RunInfo::of_this_runner()
    };
    let html = samlconf::report::html::html(&results, &run);
    assert!(html.contains("src=\"data:image/png;base64,iVBOR"));
    assert!(html.contains("Driver: browser"));
    let json = samlconf::report::json(&results, &run);
    assert!(json.contains("\"driver\": \"browser\""));
}
