//! The scenario catalogue in a real browser (Debian's Chromium through chromedriver): a
//! representative set of the scenarios that involve a page — the IdP's login page, the SP's link
//! prompt, failure pages, the recovery login, the logout confirmation, renewal in the iframe and
//! in the renewal window — runs with `--driver browser` semantics, two at once, and must pass;
//! what only the HTTP driver can do must be reported skipped with its reason, never passed.
//!
//! The whole catalogue is too slow for CI on a 2-core machine (about 3 s a scenario there); it is
//! `samlconf run --driver browser scenarios`, and `every_page_scenario_passes_in_the_browser`
//! below (ignored by default) runs sections 1–6.

use std::path::Path;
use std::sync::Arc;

use samlconf::driver::browser::Chromedriver;
use samlconf::runner::{self, DriverKind, ScenarioResult, Verdict};
use samlconf::scenario::{self, Scenario};

/// One of each kind of page the browser drives, and every browser-only scenario.
const REPRESENTATIVE: &[&str] = &[
    "1.1", "1.3", "1.5", "1.10", "1.17", "2.8", "3.5", "4.1", "4.2", "4.3", "4.5", "5.1", "5.2",
    "5.10", "5.11", "5.40", "5.41", "5.42", "6.1", "6.3", "8.9",
];

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

fn not_passed(results: &[ScenarioResult]) -> Vec<String> {
    results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
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
expect = { outcome = "session_ended", signed_in = false }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn representative_page_scenarios_pass_in_the_browser() {
    let mut scenarios: Vec<Scenario> = catalogue()
        .into_iter()
        .filter(|s| REPRESENTATIVE.contains(&s.id.as_str()))
        .collect();
    assert_eq!(scenarios.len(), REPRESENTATIVE.len());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_only_the_http_driver_can_do_is_skipped_with_its_reason() {
    let scenarios: Vec<Scenario> = catalogue()
        .into_iter()
        .filter(|s| ["1.8", "1.19", "6.4"].contains(&s.id.as_str()))
        .collect();
    let results = run_in_browser(scenarios).await;
    assert_eq!(results.len(), 3);
    for result in &results {
        assert_eq!(result.verdict, Verdict::Skipped, "{}", result.id);
        let reason = result.reason.as_deref().unwrap_or_default();
        assert!(
            reason.contains("needs the HTTP driver"),
            "{}: {reason}",
            result.id
        );
        let json = samlconf::report::json(&results, &runner::RunInfo::of_this_runner());
        assert!(json.contains("\"skip_reason\""));
        let junit = samlconf::report::junit::junit(&results);
        assert!(junit.contains("<skipped"), "{junit}");
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes on a 2-core machine: run with --ignored, or `samlconf run --driver browser`"]
async fn every_page_scenario_passes_in_the_browser() {
    let scenarios: Vec<Scenario> = catalogue()
        .into_iter()
        .filter(|s| {
            matches!(
                s.id.split('.').next(),
                Some("1" | "2" | "3" | "4" | "5" | "6")
            )
        })
        .collect();
    let results = run_in_browser(scenarios).await;
    let failures: Vec<String> = not_passed(&results)
        .into_iter()
        .filter(|line| !line.contains("[skipped]"))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
