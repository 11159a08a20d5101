//! A self-contained HTML report (no scripts, no external resources) that a person reads: an
//! index, then per scenario its description, expectation and source, every step with expected
//! vs. actual, the decoded SAML messages, the SP's audit log, and on failure what differed.
//! Rendered by the askama template `templates/report.html`, which escapes everything it is given
//! (what came from a scenario file, a server or a message) and is given no markup.

use askama::Template;
use serde_json::Value;

use super::Totals;
use crate::runner::{AuditBrief, RunInfo, ScenarioResult, StepResult, StepStatus, Verdict};

#[derive(Template)]
#[template(path = "report.html", config = "src/report/askama.toml")]
struct Report<'a> {
    totals: Totals,
    driver: &'a str,
    virtual_start: String,
    scenarios: Vec<Scenario<'a>>,
}

struct Scenario<'a> {
    r: &'a ScenarioResult,
    /// Section, file, description, expectation and source, trimmed.
    about: [(&'static str, &'a str); 5],
    /// What differed, when the scenario did not pass.
    differed: Option<&'a str>,
    steps: Vec<Step<'a>>,
}

struct Step<'a> {
    r: &'a StepResult,
    class: &'static str,
    expected: Vec<(String, String)>,
    /// `None` when the step did not run.
    actual: Option<Vec<(String, String)>>,
    audit: &'a [AuditBrief],
    /// The last page, shown when the step did not pass.
    last_page: Option<&'a str>,
}

impl Step<'_> {
    fn has_extra(&self) -> bool {
        !self.audit.is_empty()
            || !self.r.messages.is_empty()
            || self.last_page.is_some()
            || self.r.browser_capture.is_some()
    }
}

pub fn html(results: &[ScenarioResult], run: &RunInfo) -> String {
    let report = Report {
        totals: Totals::of(results),
        driver: run.driver,
        virtual_start: run.virtual_start_rfc3339(),
        scenarios: results.iter().map(scenario).collect(),
    };
    // Rendering fails only when a value's `Display` does, which none of these does.
    report
        .render()
        .unwrap_or_else(|e| format!("<!DOCTYPE html>\n<p>cannot render the report: {e}</p>\n"))
}

fn scenario(r: &ScenarioResult) -> Scenario<'_> {
    Scenario {
        r,
        about: [
            ("Section", r.section.trim()),
            ("File", r.file.trim()),
            ("Description", r.description.trim()),
            ("Expectation", r.expectation.trim()),
            ("Source", r.source.trim()),
        ],
        differed: r.reason.as_deref().filter(|_| r.verdict != Verdict::Pass),
        steps: r.steps.iter().map(step).collect(),
    }
}

fn step(r: &StepResult) -> Step<'_> {
    let class = match r.status {
        StepStatus::Pass => "pass",
        StepStatus::Fail => "fail",
        StepStatus::Error => "error",
        StepStatus::Skipped => "skipped",
    };
    Step {
        r,
        class,
        expected: key_values(
            &serde_json::to_value(&r.expected).unwrap_or(Value::Null),
            &[],
        ),
        actual: r.actual.as_ref().map(|actual| {
            key_values(
                &serde_json::to_value(actual).unwrap_or(Value::Null),
                &["page", "audit", "message"],
            )
        }),
        audit: r.actual.as_ref().map_or(&[], |a| a.audit.as_slice()),
        last_page: r
            .actual
            .as_ref()
            .and_then(|a| a.page.as_deref())
            .filter(|_| r.status != StepStatus::Pass),
    }
}

/// The non-empty fields of a JSON object, strings as they are and other values as JSON.
fn key_values(value: &Value, skip: &[&str]) -> Vec<(String, String)> {
    let Value::Object(map) = value else {
        return Vec::new();
    };
    map.iter()
        .filter(|(key, _)| !skip.contains(&key.as_str()))
        .filter(|(_, value)| match value {
            Value::Null => false,
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            _ => true,
        })
        .map(|(key, value)| {
            let shown = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (key.clone(), shown)
        })
        .collect()
}
