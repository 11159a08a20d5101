//! The checklist for people (the terminal: aligned, coloured only on a TTY; HTML) and for
//! programs (JSON, the [`Checklist`] fields). Everything it shows came from the checks.

use askama::Template;

use super::{Checklist, Status};

/// Output formats of `samlconf certify --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Html,
}

pub fn render(checklist: &Checklist, format: Format, colour: bool) -> String {
    match format {
        Format::Text => text(checklist, colour),
        Format::Json => json(checklist),
        Format::Html => html(checklist),
    }
}

/// Pretty JSON with a trailing newline.
pub fn json(checklist: &Checklist) -> String {
    // A Checklist holds only strings, numbers and enums: it always serializes.
    let mut out = serde_json::to_string_pretty(checklist).unwrap_or_default();
    out.push('\n');
    out
}

/// One line per item (`STATUS  id  reason`), its fix indented below; a summary line last.
pub fn text(checklist: &Checklist, colour: bool) -> String {
    let paint = |status: Status| {
        let label = format!("{:<4}", status.as_str().to_uppercase());
        if !colour {
            return label;
        }
        let code = match status {
            Status::Pass => "32",
            Status::Warn => "33",
            Status::Fail => "31;1",
        };
        format!("\x1b[{code}m{label}\x1b[0m")
    };
    let width = checklist
        .items()
        .map(|i| i.title.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for section in &checklist.sections {
        out.push_str(&format!("{}\n", section.title));
        for item in &section.items {
            out.push_str(&format!(
                "  {}  {:<width$}  {}\n",
                paint(item.status),
                item.title,
                item.reason
            ));
            if let Some(fix) = &item.fix {
                out.push_str(&format!("  {:<4}  {:<width$}  fix: {fix}\n", "", ""));
            }
        }
        out.push('\n');
    }
    let c = checklist.counts;
    out.push_str(&format!(
        "{}: {} pass, {} warn, {} fail\n",
        paint(checklist.verdict),
        c.pass,
        c.warn,
        c.fail
    ));
    out
}

#[derive(Template)]
#[template(path = "certify.html", config = "src/report/askama.toml")]
struct Page<'a> {
    c: &'a Checklist,
    verdict: &'static str,
    checked_at: String,
    captured_at: Option<String>,
}

/// A self-contained page; askama escapes every value (all of it came from the inputs).
pub fn html(checklist: &Checklist) -> String {
    let page = Page {
        c: checklist,
        verdict: checklist.verdict.as_str(),
        checked_at: super::response::ts(checklist.context.checked_at),
        captured_at: checklist.context.captured_at.map(super::response::ts),
    };
    page.render()
        .unwrap_or_else(|e| format!("<!DOCTYPE html>\n<p>cannot render the checklist: {e}</p>\n"))
}
