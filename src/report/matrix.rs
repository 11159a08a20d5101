//! The comparison of several targets (`samlconf run --target A --target B`): a cases × targets
//! matrix with each target's totals and results, as JSON ([`json`]) and as a self-contained HTML
//! page ([`html`], the askama template `targets.html`, escaping everything).

use askama::Template;

use super::Totals;
use crate::runner::RunInfo;
use crate::runner::targets::TargetRun;

/// One row of the matrix: a case and its verdict at each target (`None`: not run there).
struct Row<'a> {
    id: &'a str,
    title: &'a str,
    grade: &'static str,
    /// (verdict, reason) per target, in the targets' order.
    cells: Vec<(&'static str, &'a str)>,
}

struct TargetView<'a> {
    run: &'a TargetRun,
    totals: Totals,
}

#[derive(Template)]
#[template(path = "targets.html", config = "src/report/askama.toml")]
struct Page<'a> {
    driver: &'a str,
    targets: Vec<TargetView<'a>>,
    rows: Vec<Row<'a>>,
}

fn rows(runs: &[TargetRun]) -> Vec<Row<'_>> {
    let mut rows: Vec<Row<'_>> = Vec::new();
    for (column, run) in runs.iter().enumerate() {
        for result in &run.results {
            let index = match rows.iter().position(|r| r.id == result.id) {
                Some(index) => index,
                None => {
                    rows.push(Row {
                        id: &result.id,
                        title: &result.title,
                        grade: result.grade.as_str(),
                        cells: vec![("not_run", ""); runs.len()],
                    });
                    rows.len() - 1
                }
            };
            rows[index].cells[column] = (
                result.verdict.as_str(),
                result.reason.as_deref().unwrap_or_default(),
            );
        }
    }
    rows
}

/// JSON: the matrix (`cases`: each case's verdict per target) and each target's results.
pub fn json(runs: &[TargetRun], run: &RunInfo) -> String {
    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    let cases: Vec<serde_json::Value> = rows(runs)
        .iter()
        .map(|row| {
            let verdicts: serde_json::Map<String, serde_json::Value> = names
                .iter()
                .zip(&row.cells)
                .map(|(name, (verdict, _))| ((*name).to_owned(), (*verdict).into()))
                .collect();
            serde_json::json!({
                "id": row.id,
                "title": row.title,
                "grade": row.grade,
                "verdicts": verdicts,
            })
        })
        .collect();
    let targets: Vec<serde_json::Value> = runs
        .iter()
        .map(|t| {
            serde_json::json!({
                "name": t.name,
                "file": t.file,
                "totals": Totals::of(&t.results),
                "scenarios": t.results,
            })
        })
        .collect();
    let report = serde_json::json!({
        "tool": "samlconf",
        "version": env!("CARGO_PKG_VERSION"),
        "driver": run.driver,
        "matrix": { "targets": names, "cases": cases },
        "targets": targets,
    });
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

pub fn html(runs: &[TargetRun], run: &RunInfo) -> String {
    let page = Page {
        driver: run.driver,
        targets: runs
            .iter()
            .map(|run| TargetView {
                run,
                totals: Totals::of(&run.results),
            })
            .collect(),
        rows: rows(runs),
    };
    page.render()
        .unwrap_or_else(|e| format!("<!DOCTYPE html>\n<p>cannot render the report: {e}</p>\n"))
}
