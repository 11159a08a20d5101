//! A self-contained HTML report (no scripts, no external resources) that a person reads: an
//! index, then per scenario its description, expectation and source, every step with expected
//! vs. actual, the decoded SAML messages, the SP's audit log, and on failure what differed.
//! Everything that came from a scenario file, a server or a message is escaped.

use serde_json::Value;

use super::xml::escape;
use crate::runner::{ScenarioResult, StepStatus, Verdict};

const STYLE: &str = "
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:78em;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{border:1px solid #ddd;padding:.3em .5em;vertical-align:top;text-align:left}
th{background:#f4f4f4}.pass{color:#17692b;font-weight:600}.fail{color:#b3261e;font-weight:600}.error{color:#8a4b00;font-weight:600}.skipped{color:#777}
pre{background:#f7f7f7;border:1px solid #e2e2e2;padding:.6em;overflow-x:auto;font-size:12px;white-space:pre-wrap;word-break:break-all}
.diff{background:#fdecea;border-left:4px solid #b3261e;padding:.4em .8em;margin:.4em 0}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}dd{margin:0}
details{margin:.3em 0}summary{cursor:pointer}code{font-size:12px}.kv{margin:0;padding-left:1.1em}
";

pub fn html(results: &[ScenarioResult]) -> String {
    let totals = super::Totals::of(results);
    let mut out = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<title>samlconf report</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head><body>\n<h1>samlconf conformance report</h1>\n");
    out.push_str(&format!(
        "<p>{} scenarios: <span class=\"pass\">{} passed</span>, <span class=\"fail\">{} failed</span>, <span class=\"error\">{} errors</span>. Driver: http. Virtual clocks start at {}.</p>\n",
        results.len(),
        totals.passed,
        totals.failed,
        totals.errors,
        "2026-06-01T12:00:00Z"
    ));
    out.push_str(
        "<table><tr><th>ID</th><th>Title</th><th>Result</th><th>Time</th><th>Reason</th></tr>\n",
    );
    for r in results {
        out.push_str(&format!(
            "<tr><td><a href=\"#s-{id}\">{id}</a></td><td>{title}</td><td class=\"{class}\">{verdict}</td><td>{time:.2}s</td><td>{reason}</td></tr>\n",
            id = escape(&r.id),
            title = escape(&r.title),
            class = r.verdict.as_str(),
            verdict = r.verdict.as_str(),
            time = r.seconds,
            reason = escape(r.reason.as_deref().unwrap_or_default()),
        ));
    }
    out.push_str("</table>\n");
    for r in results {
        scenario(&mut out, r);
    }
    out.push_str("</body></html>\n");
    out
}

fn scenario(out: &mut String, r: &ScenarioResult) {
    out.push_str(&format!(
        "<h2 id=\"s-{id}\">{id} {title} — <span class=\"{class}\">{verdict}</span></h2>\n",
        id = escape(&r.id),
        title = escape(&r.title),
        class = r.verdict.as_str(),
        verdict = r.verdict.as_str(),
    ));
    out.push_str("<dl>");
    for (term, value) in [
        ("Section", &r.section),
        ("File", &r.file),
        ("Description", &r.description),
        ("Expectation", &r.expectation),
        ("Source", &r.source),
    ] {
        out.push_str(&format!("<dt>{term}</dt><dd>{}</dd>", escape(value.trim())));
    }
    out.push_str(&format!(
        "<dt>Tags</dt><dd>{}</dd></dl>\n",
        escape(&r.tags.join(", "))
    ));
    if r.verdict != Verdict::Pass
        && let Some(reason) = &r.reason
    {
        out.push_str(&format!(
            "<div class=\"diff\"><b>What differed:</b> {}</div>\n",
            escape(reason)
        ));
    }
    out.push_str(
        "<table><tr><th>#</th><th>Step</th><th>Expected</th><th>Actual</th><th>Result</th></tr>\n",
    );
    for step in &r.steps {
        let class = match step.status {
            StepStatus::Pass => "pass",
            StepStatus::Fail => "fail",
            StepStatus::Error => "error",
            StepStatus::Skipped => "skipped",
        };
        let expected = key_values(
            &serde_json::to_value(&step.expected).unwrap_or(Value::Null),
            &[],
        );
        let actual = match &step.actual {
            Some(actual) => key_values(
                &serde_json::to_value(actual).unwrap_or(Value::Null),
                &["page", "audit", "message"],
            ),
            None => String::new(),
        };
        let mut cell = format!(
            "{}<br><small>line {}</small>",
            escape(&step.summary),
            step.line
        );
        if let Some(note) = &step.note {
            cell.push_str(&format!("<br><i>{}</i>", escape(note)));
        }
        let mut result = format!("<span class=\"{class}\">{class}</span>");
        for difference in &step.differences {
            result.push_str(&format!("<div class=\"diff\">{}</div>", escape(difference)));
        }
        if let Some(error) = &step.error {
            result.push_str(&format!("<div class=\"diff\">{}</div>", escape(error)));
        }
        out.push_str(&format!(
            "<tr><td>{}</td><td>{cell}</td><td>{expected}</td><td>{actual}</td><td>{result}</td></tr>\n",
            step.index
        ));
        let mut extra = String::new();
        if let Some(actual) = &step.actual {
            if !actual.audit.is_empty() {
                extra.push_str("<b>Audit events of this step</b><ul>");
                for event in &actual.audit {
                    extra.push_str(&format!(
                        "<li><code>{}</code> {} — {}</li>",
                        escape(&event.kind),
                        escape(event.code.as_deref().unwrap_or_default()),
                        escape(&event.detail)
                    ));
                }
                extra.push_str("</ul>");
            }
        }
        for message in &step.messages {
            extra.push_str(&format!(
                "<details><summary>{} ({}) → <code>{}</code></summary><pre>{}</pre></details>",
                escape(&message.parameter),
                escape(&message.binding),
                escape(&message.to),
                escape(&message.xml)
            ));
        }
        if let Some(page) = step.actual.as_ref().and_then(|a| a.page.as_ref())
            && step.status != StepStatus::Pass
        {
            extra.push_str(&format!(
                "<details><summary>Last page</summary><pre>{}</pre></details>",
                escape(page)
            ));
        }
        if !extra.is_empty() {
            out.push_str(&format!(
                "<tr><td></td><td colspan=\"4\">{extra}</td></tr>\n"
            ));
        }
    }
    out.push_str("</table>\n");
    if !r.audit.is_empty() {
        out.push_str("<details><summary>The SP's audit log at the end</summary><table><tr><th>At</th><th>Kind</th><th>Code</th><th>Subject</th><th>Groups</th><th>Detail</th></tr>");
        for event in &r.audit {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&event.at.to_string()),
                escape(&event.kind),
                escape(event.code.as_deref().unwrap_or_default()),
                escape(event.subject.as_deref().unwrap_or_default()),
                escape(&event.groups.join(", ")),
                escape(&event.detail)
            ));
        }
        out.push_str("</table></details>\n");
    }
}

/// The non-empty fields of a JSON object as an escaped list.
fn key_values(value: &Value, skip: &[&str]) -> String {
    let Value::Object(map) = value else {
        return String::new();
    };
    let mut out = String::from("<ul class=\"kv\">");
    for (key, value) in map {
        if skip.contains(&key.as_str()) {
            continue;
        }
        let empty = match value {
            Value::Null => true,
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        };
        if empty {
            continue;
        }
        let shown = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.push_str(&format!(
            "<li><b>{}</b>: {}</li>",
            escape(key),
            escape(&shown)
        ));
    }
    out.push_str("</ul>");
    out
}
