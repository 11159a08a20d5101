//! JUnit XML as CI systems read it (Jenkins, GitLab, GitHub annotations): one `<testsuite>` per
//! section, one `<testcase>` per scenario; `<failure>` when the SP did otherwise than expected,
//! `<error>` when the harness broke. The message says what differed; the body has every step.

use super::xml::escape;
use crate::runner::{ScenarioResult, StepStatus, Verdict};

pub fn junit(results: &[ScenarioResult]) -> String {
    let mut sections: Vec<(&str, Vec<&ScenarioResult>)> = Vec::new();
    for result in results {
        match sections
            .iter_mut()
            .find(|(name, _)| *name == result.section)
        {
            Some((_, members)) => members.push(result),
            None => sections.push((&result.section, vec![result])),
        }
    }
    let totals = super::Totals::of(results);
    let total_time: f64 = results.iter().map(|r| r.seconds).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"samlconf\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">\n",
        results.len(),
        totals.failed,
        totals.errors,
        total_time
    ));
    for (section, members) in sections {
        let t = super::Totals::of(&members.iter().map(|r| (*r).clone()).collect::<Vec<_>>());
        let time: f64 = members.iter().map(|r| r.seconds).sum();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{:.3}\">\n",
            escape(section),
            members.len(),
            t.failed,
            t.errors,
            time
        ));
        for result in members {
            out.push_str(&format!(
                "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" time=\"{:.3}\"",
                escape(&format!("{} {}", result.id, result.title)),
                escape(&format!("samlconf.{section}")),
                escape(&result.file),
                result.seconds
            ));
            if result.verdict == Verdict::Pass {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            let element = match result.verdict {
                Verdict::Error => "error",
                _ => "failure",
            };
            out.push_str(&format!(
                "      <{element} message=\"{}\" type=\"{}\">{}</{element}>\n",
                escape(result.reason.as_deref().unwrap_or_default()),
                result.verdict.as_str(),
                escape(&details(result))
            ));
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
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
    }
    text
}
