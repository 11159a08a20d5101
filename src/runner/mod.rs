//! Runs scenarios: each in its own [`Pair`] (in-memory store, virtual clocks starting at
//! [`START`], its own ports), many at once, and grades each like Autobahn|Testsuite: **pass**,
//! **fail** (the SP did something else than the scenario expects), or **error** (the harness
//! itself broke, e.g. a server did not start or a page could not be read).

mod compare;
mod execute;
mod observe;
mod stage;
mod step;
mod summary;
pub mod targets;
mod wire;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::scenario::{Expect, Grade, Outcome, Scenario};

/// Where every scenario's virtual clocks start.
pub const START: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

/// What every scenario of a run shares, which reports state beside the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunInfo {
    /// The browser implementation that played the user.
    pub driver: &'static str,
    /// Where every scenario's virtual clocks started.
    pub virtual_start: OffsetDateTime,
}

impl RunInfo {
    /// What [`run_all`] and [`run_scenario`] run with.
    pub const fn of_this_runner() -> RunInfo {
        RunInfo {
            driver: crate::driver::HttpDriver::NAME,
            virtual_start: START,
        }
    }

    /// What [`run_all_with`] runs with under `driver`.
    pub fn of(driver: &DriverKind) -> RunInfo {
        RunInfo {
            driver: driver.name(),
            ..RunInfo::of_this_runner()
        }
    }

    /// [`RunInfo::virtual_start`] as RFC 3339.
    pub fn virtual_start_rfc3339(&self) -> String {
        self.virtual_start
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| self.virtual_start.to_string())
    }
}

/// Which driver plays the scenarios' browsers.
#[derive(Clone, Default)]
pub enum DriverKind {
    /// reqwest with a cookie jar (`crate::driver::HttpDriver`).
    #[default]
    Http,
    /// Headless Chromium, one WebDriver session per scenario browser, all through this
    /// chromedriver (`crate::driver::browser`).
    Browser {
        chromedriver: Arc<crate::driver::browser::Chromedriver>,
        /// The SP at `http://localhost:PORT`, the IdP at `http://127.0.0.1:PORT`: different
        /// sites, so that cross-site cookie rules apply (otherwise both on 127.0.0.1, which a
        /// browser counts as one site).
        cross_site: bool,
    },
}

impl DriverKind {
    pub fn name(&self) -> &'static str {
        match self {
            DriverKind::Http => crate::driver::HttpDriver::NAME,
            DriverKind::Browser { .. } => crate::driver::browser::NAME,
        }
    }

    /// As the scenario format names it (`drivers = [...]`).
    pub fn as_scenario_driver(&self) -> crate::scenario::DriverName {
        match self {
            DriverKind::Http => crate::scenario::DriverName::Http,
            DriverKind::Browser { .. } => crate::scenario::DriverName::Browser,
        }
    }
}

/// How long one scenario may take before it is graded `error`.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

/// A scenario's grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every step ended as expected.
    Pass,
    /// A step ended otherwise than expected: the SP under test is at fault (or the scenario).
    /// Against a target: a `must` case.
    Fail,
    /// Against a target: a `should` case failed.
    Warning,
    /// Against a target: an `informational` case did not end as the reference SP's would.
    Informational,
    /// Against a target: the case cannot apply to it (`ScenarioResult::reason` says why).
    NotApplicable,
    /// Against a target: a failure its target file lists as known.
    KnownFailure,
    /// Against a target: a case its target file lists as a known failure passed.
    NowPassing,
    /// The harness could not run the scenario to a verdict.
    Error,
    /// Nothing failed, but a step (or the whole scenario) needs the other driver to be judged:
    /// never counted as passed (the reason says which step and why).
    Skipped,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Warning => "warning",
            Verdict::Informational => "informational",
            Verdict::NotApplicable => "not_applicable",
            Verdict::KnownFailure => "known_failure",
            Verdict::NowPassing => "now_passing",
            Verdict::Error => "error",
            Verdict::Skipped => "skipped",
        }
    }
}

/// A step's grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Pass,
    Fail,
    Error,
    /// Not run: an earlier step did not pass, or this driver cannot judge it (`skip_reason`).
    Skipped,
}

/// What a scenario did.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub id: String,
    pub title: String,
    pub section: String,
    pub file: String,
    pub description: String,
    pub expectation: String,
    pub source: String,
    pub tags: Vec<String>,
    /// How much a failure weighs (graded only against targets).
    pub grade: Grade,
    pub verdict: Verdict,
    /// Wall-clock time, in seconds.
    pub seconds: f64,
    /// One line: what differed (fail) or what broke (error).
    pub reason: Option<String>,
    pub steps: Vec<StepResult>,
    /// The SP's whole audit log at the end.
    pub audit: Vec<sp::store::AuditEvent>,
}

/// What one step did, beside what it was expected to do.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    /// 1-based.
    pub index: usize,
    /// Line in the scenario file.
    pub line: usize,
    pub action: String,
    /// The action as written, in words.
    pub summary: String,
    pub note: Option<String>,
    pub status: StepStatus,
    pub expected: Expect,
    pub actual: Option<Actual>,
    /// Each expectation that did not hold, as "field: expected X, got Y".
    pub differences: Vec<String>,
    /// What broke, when the harness failed.
    pub error: Option<String>,
    /// The SAML messages the browser carried in this step, decoded.
    pub messages: Vec<SamlMessage>,
    /// Why this driver did not run the step (it needs the other one to be judged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// A failed step in a browser run: the browser's page at that moment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser_capture: Option<BrowserCapture>,
}

/// What a browser showed when its step failed.
#[derive(Debug, Clone, Serialize)]
pub struct BrowserCapture {
    /// A PNG screenshot, as a `data:image/png;base64,…` URI.
    pub screenshot: String,
    /// The page's HTML as the browser holds it (scripts having run).
    pub html: String,
}

/// What was observed after a step.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Actual {
    pub outcome: Option<Outcome>,
    pub code: Option<String>,
    /// HTTP status of a refusal.
    pub status: Option<u16>,
    /// Whether a refusal named its code to the browser (`false`: the code is the audit log's).
    pub code_shown: Option<bool>,
    /// The SP's message and expected-vs-received detail of a refusal.
    pub message: Option<String>,
    pub detail: Option<String>,
    /// Whether the step's browser has a session afterwards; `None` for steps without a browser.
    pub signed_in: Option<bool>,
    /// Whether that session is a new one (none before the step, or another one).
    pub new_session: Option<bool>,
    /// The NameID the SP holds for the session, when it tells (a target's whoami).
    pub name_id: Option<String>,
    /// Expectations of the step that could not be judged on this SP (a target's internals).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_judged: Vec<String>,
    pub email: Option<String>,
    pub login: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub roles: Option<Vec<String>>,
    /// Path and query of the landing page after a sign-in.
    pub landing: Option<String>,
    pub session_expires_at: Option<String>,
    /// The `[[accounts]]` handle the signed-in identity is linked to (or a description of the
    /// user when it is none of them).
    pub linked_account: Option<String>,
    /// Roles of the accounts named in `expect.account_roles`.
    pub account_roles: BTreeMap<String, Vec<String>>,
    /// The audit events this step logged.
    pub audit: Vec<AuditBrief>,
    /// The status of the LogoutResponse the IdP received in this step (last segment).
    pub idp_logout_status: Option<String>,
    /// How the IdP judged that LogoutResponse's signature: `verified`, `missing`, `invalid`,
    /// `weak_algorithm` or `no_certificate`.
    pub idp_logout_signature: Option<String>,
    /// How many windows the step's browser has open afterwards (the browser driver only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows: Option<usize>,
    /// The last page's HTML (first 4 KiB).
    pub page: Option<String>,
    #[serde(skip)]
    pub full_page: Option<String>,
}

/// An audit event, in brief.
#[derive(Debug, Clone, Serialize)]
pub struct AuditBrief {
    pub kind: String,
    pub code: Option<String>,
    pub detail: String,
    /// The group values the event recorded (as the IdP sent them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// A SAML message seen in a step.
#[derive(Debug, Clone, Serialize)]
pub struct SamlMessage {
    /// `SAMLResponse` or `SAMLRequest`.
    pub parameter: String,
    /// `HTTP-POST` or `HTTP-Redirect`.
    pub binding: String,
    /// Where it was sent.
    pub to: String,
    /// The decoded XML, pretty-printed (or what could be read of it).
    pub xml: String,
}

/// Runs `scenarios` with at most `jobs` at once, calling `on_done` as each finishes; results come
/// back in the scenarios' order.
pub async fn run_all(
    scenarios: Vec<Scenario>,
    jobs: usize,
    on_done: impl Fn(&ScenarioResult) + Send + Sync + 'static,
) -> Vec<ScenarioResult> {
    run_all_with(scenarios, jobs, DriverKind::Http, on_done).await
}

/// [`run_all`] with the browsers played by `driver`.
pub async fn run_all_with(
    scenarios: Vec<Scenario>,
    jobs: usize,
    driver: DriverKind,
    on_done: impl Fn(&ScenarioResult) + Send + Sync + 'static,
) -> Vec<ScenarioResult> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let on_done = Arc::new(on_done);
    let mut handles = Vec::new();
    for scenario in scenarios {
        let semaphore = semaphore.clone();
        let on_done = on_done.clone();
        let driver = driver.clone();
        handles.push(tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let result =
                run_scenario_with(&scenario, &driver, &sp::weakness::Weaknesses::none()).await;
            on_done(&result);
            (scenario, result)
        }));
    }
    let mut results = Vec::new();
    for handle in handles {
        match handle.await {
            Ok((_, result)) => results.push(result),
            Err(e) => results.push(ScenarioResult {
                id: "?".into(),
                title: "a scenario task panicked".into(),
                section: String::new(),
                file: String::new(),
                description: String::new(),
                expectation: String::new(),
                source: String::new(),
                tags: vec![],
                grade: Grade::Must,
                verdict: Verdict::Error,
                seconds: 0.0,
                reason: Some(format!("task failed: {e}")),
                steps: vec![],
                audit: vec![],
            }),
        }
    }
    results
}

/// Runs one scenario in a fresh pair and grades it.
pub async fn run_scenario(scenario: &Scenario) -> ScenarioResult {
    run_scenario_weakened(scenario, &sp::weakness::Weaknesses::none()).await
}

/// TEST ONLY: [`run_scenario`] against an SP without the checks in `weaknesses`
/// (`sp::weakness`), to prove the catalogue catches a broken SP (`tests/weakened.rs`).
#[doc(hidden)]
pub async fn run_scenario_weakened(
    scenario: &Scenario,
    weaknesses: &sp::weakness::Weaknesses,
) -> ScenarioResult {
    run_scenario_with(scenario, &DriverKind::Http, weaknesses).await
}

async fn run_scenario_with(
    scenario: &Scenario,
    driver: &DriverKind,
    weaknesses: &sp::weakness::Weaknesses,
) -> ScenarioResult {
    run_scenario_on(scenario, execute::On::Reference { driver, weaknesses }).await
}

/// A result that says only which scenario it is (passed, no steps yet).
fn blank_result(scenario: &Scenario) -> ScenarioResult {
    ScenarioResult {
        id: scenario.id.clone(),
        title: scenario.title.clone(),
        section: scenario.section.clone(),
        file: scenario.file.display().to_string(),
        description: scenario.description.clone(),
        expectation: scenario.expectation.clone(),
        source: scenario.source.clone(),
        tags: scenario.tags.clone(),
        grade: scenario.grade(),
        verdict: Verdict::Pass,
        seconds: 0.0,
        reason: None,
        steps: vec![],
        audit: vec![],
    }
}

/// Runs one scenario on a fresh stage (the reference SP, or a target) and grades it pass, fail
/// or error.
async fn run_scenario_on(scenario: &Scenario, on: execute::On<'_>) -> ScenarioResult {
    let started = Instant::now();
    let mut result = blank_result(scenario);
    match tokio::time::timeout(
        SCENARIO_TIMEOUT,
        execute::execute(scenario, on, &mut result),
    )
    .await
    {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            result.verdict = Verdict::Error;
            result.reason = Some(error);
        }
        Err(_) => {
            result.verdict = Verdict::Error;
            result.reason = Some(format!("timed out after {} s", SCENARIO_TIMEOUT.as_secs()));
        }
    }
    if result.reason.is_none() {
        if let Some(step) = result
            .steps
            .iter()
            .find(|s| matches!(s.status, StepStatus::Fail | StepStatus::Error))
        {
            let what = match step.status {
                StepStatus::Error => step.error.clone().unwrap_or_default(),
                _ => step.differences.join("; "),
            };
            result.verdict = if step.status == StepStatus::Error {
                Verdict::Error
            } else {
                Verdict::Fail
            };
            result.reason = Some(format!("step {} ({}): {what}", step.index, step.action));
        } else if let Some(step) = result.steps.iter().find(|s| s.skip_reason.is_some()) {
            result.verdict = Verdict::Skipped;
            result.reason = Some(format!(
                "step {} ({}) skipped: {}",
                step.index,
                step.action,
                step.skip_reason.as_deref().unwrap_or_default()
            ));
        }
    }
    result.seconds = started.elapsed().as_secs_f64();
    result
}
