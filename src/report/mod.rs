//! What a run produced, for people and for CI: the summary table printed at the end of
//! `samlconf run`, JUnit XML ([`junit`]), JSON ([`json`]) and a self-contained HTML page
//! ([`html`]); [`merge`] joins the reports of several shards.

pub mod html;
pub mod junit;
pub mod matrix;
pub mod merge;
pub mod xml;

use crate::runner::{RunInfo, ScenarioResult, Verdict};

/// Counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    /// Only against targets: graded results ([`Verdict`]).
    pub warnings: usize,
    pub informational: usize,
    pub not_applicable: usize,
    pub known_failures: usize,
    pub now_passing: usize,
    /// Not judged by this driver (never counted as passed).
    pub skipped: usize,
}

impl Totals {
    pub fn of(results: &[ScenarioResult]) -> Totals {
        let mut totals = Totals::default();
        for result in results {
            match result.verdict {
                Verdict::Pass => totals.passed += 1,
                Verdict::Fail => totals.failed += 1,
                Verdict::Error => totals.errors += 1,
                Verdict::Warning => totals.warnings += 1,
                Verdict::Informational => totals.informational += 1,
                Verdict::NotApplicable => totals.not_applicable += 1,
                Verdict::KnownFailure => totals.known_failures += 1,
                Verdict::NowPassing => totals.now_passing += 1,
                Verdict::Skipped => totals.skipped += 1,
            }
        }
        totals
    }

    /// Nothing failed and nothing broke (a graded run: no `must` failure, no error, no known
    /// failure passing).
    pub fn all_passed(&self) -> bool {
        self.failed == 0 && self.errors == 0 && self.now_passing == 0
    }

    /// The counts beside passed, failed and errors, e.g. ", 3 skipped" or ", 2 warnings, 40 not
    /// applicable"; empty when there are none.
    pub fn graded_counts(&self) -> String {
        [
            (self.skipped, "skipped"),
            (self.warnings, "warnings"),
            (self.informational, "informational"),
            (self.not_applicable, "not applicable"),
            (self.known_failures, "known failures"),
            (self.now_passing, "known failures now passing"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!(", {n} {what}"))
        .collect()
    }
}

/// The summary table: one row per scenario (id, result, time, title), the reason under each row
/// that did not pass, then the totals and the rate.
pub fn summary(results: &[ScenarioResult], wall_seconds: f64) -> String {
    let id_width = results.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
    let mut out = format!(
        "{:<id_width$}  {:<6} {:>7}  TITLE\n",
        "ID", "RESULT", "TIME"
    );
    for result in results {
        let verdict = match result.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Error => "ERROR",
            Verdict::Warning => "WARN",
            Verdict::Informational => "info",
            Verdict::NotApplicable => "n/a",
            Verdict::KnownFailure => "known",
            Verdict::NowPassing => "NOW-OK",
            Verdict::Skipped => "skip",
        };
        out.push_str(&format!(
            "{:<id_width$}  {:<6} {:>6.2}s  {}\n",
            result.id, verdict, result.seconds, result.title
        ));
        if let Some(reason) = &result.reason {
            out.push_str(&format!("{:id_width$}  └─ {reason}\n", ""));
        }
    }
    let totals = Totals::of(results);
    let rate = if wall_seconds > 0.0 {
        results.len() as f64 / wall_seconds
    } else {
        0.0
    };
    out.push_str(&format!(
        "\n{} scenarios: {} passed, {} failed, {} errors{} in {:.2}s ({:.1} scenarios/s)\n",
        results.len(),
        totals.passed,
        totals.failed,
        totals.errors,
        totals.graded_counts(),
        wall_seconds,
        rate
    ));
    out
}

/// JSON: every scenario with every step's expected and actual outcome.
pub fn json(results: &[ScenarioResult], run: &RunInfo) -> String {
    let totals = Totals::of(results);
    let report = serde_json::json!({
        "tool": "samlconf",
        "version": env!("CARGO_PKG_VERSION"),
        "driver": run.driver,
        "totals": {
            "scenarios": results.len(),
            "passed": totals.passed,
            "failed": totals.failed,
            "errors": totals.errors,
            "skipped": totals.skipped,
        },
        "scenarios": results,
    });
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
