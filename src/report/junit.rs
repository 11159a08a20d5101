//! JUnit XML as CI systems read it (Jenkins, GitLab, GitHub annotations), written by
//! `quick-junit` (nextest's own): one `<testsuite>` per section, one `<testcase>` per scenario;
//! `<failure>` when the SP did otherwise than expected, `<error>` when the harness broke. The
//! message says what differed; the body has every step.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::runner::{ScenarioResult, StepStatus, Verdict};

pub fn junit(results: &[ScenarioResult]) -> String {
    let mut suites: Vec<TestSuite> = Vec::new();
    let mut times: Vec<Duration> = Vec::new();
    for result in results {
        let index = match suites.iter().position(|s| s.name == result.section) {
            Some(index) => index,
            None => {
                suites.push(TestSuite::new(&result.section));
                times.push(Duration::ZERO);
                suites.len() - 1
            }
        };
        times[index] += seconds(result.seconds);
        suites[index].add_test_case(test_case(result));
    }
    let mut report = Report::new("samlconf");
    report.set_time(results.iter().map(|r| seconds(r.seconds)).sum());
    for (mut suite, time) in suites.into_iter().zip(times) {
        suite.set_time(time);
        report.add_test_suite(suite);
    }
    // Serializing to memory fails only on I/O, which a `Vec` does not have.
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot write the JUnit report: {e} -->\n"))
}

fn test_case(result: &ScenarioResult) -> TestCase {
    let status = match result.verdict {
        Verdict::Pass | Verdict::Warning | Verdict::Informational | Verdict::KnownFailure => {
            TestCaseStatus::success()
        }
        Verdict::Skipped | Verdict::NotApplicable => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(result.reason.as_deref().unwrap_or_default());
            status
        }
        Verdict::Fail | Verdict::Error | Verdict::NowPassing => {
            let kind = match result.verdict {
                Verdict::Error => NonSuccessKind::Error,
                _ => NonSuccessKind::Failure,
            };
            let mut status = TestCaseStatus::non_success(kind);
            status
                .set_message(result.reason.as_deref().unwrap_or_default())
                .set_type(result.verdict.as_str())
                .set_description(details(result));
            status
        }
    };
    let mut case = TestCase::new(format!("{} {}", result.id, result.title), status);
    case.set_classname(format!("samlconf.{}", result.section))
        .set_time(seconds(result.seconds));
    case.extra
        .insert("file".into(), result.file.as_str().into());
    case
}

fn seconds(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds).unwrap_or_default()
}

/// The failure body: the scenario's expectation and source, then each step and what differed.
fn details(result: &ScenarioResult) -> String {
    let mut text = format!(
        "{}\nExpectation: {}\nSource: {}\n",
        result.file,
        result.expectation.trim(),
        result.source.trim()
    );
    for step in &result.steps {
        let status = match step.status {
            StepStatus::Pass => "pass",
            StepStatus::Fail => "FAIL",
            StepStatus::Error => "ERROR",
            StepStatus::Skipped => "skipped",
        };
        text.push_str(&format!(
            "step {} (line {}) {status}: {}\n",
            step.index, step.line, step.summary
        ));
        for difference in &step.differences {
            text.push_str(&format!("    {difference}\n"));
        }
        if let Some(error) = &step.error {
            text.push_str(&format!("    error: {error}\n"));
        }
        if let Some(reason) = &step.skip_reason {
            text.push_str(&format!("    skipped: {reason}\n"));
        }
    }
    text
}
