//! `samlconf run --target FILE…`: the catalogue against SPs we do not control, one target after
//! the other (each target's mock IdP listens on its fixed `idp_listen`), graded, with a
//! comparison matrix in the JSON and HTML reports. Exit code 1 on a `must` failure, an error, or
//! a known failure that now passes; warnings, informational results and not applicable cases
//! do not fail the run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use samlconf::report;
use samlconf::runner::{self, targets};
use samlconf::scenario::Scenario;
use samlconf::target::Target;

use super::run::Outputs;

pub(super) fn run(
    runtime: &tokio::runtime::Runtime,
    files: &[PathBuf],
    scenarios: &[Scenario],
    progress: indicatif::ProgressBar,
    outputs: Outputs<'_>,
) -> ExitCode {
    let mut loaded = Vec::new();
    for file in files {
        match runtime.block_on(Target::load(file)) {
            Ok(target) => loaded.push(target),
            Err(e) => {
                eprintln!("samlconf run: {e}");
                return ExitCode::from(super::EXIT_USAGE);
            }
        }
    }
    progress.set_length((scenarios.len() * loaded.len()) as u64);
    let mut runs = Vec::new();
    let mut status = ExitCode::SUCCESS;
    for target in &loaded {
        let started = Instant::now();
        let bar = progress.clone();
        let run = runtime.block_on(targets::run_target(scenarios, target, |result| {
            bar.inc(1);
            bar.set_message(format!("{} {}", result.id, result.verdict.as_str()));
        }));
        progress.suspend(|| {
            println!("== {} ({})", run.name, run.file);
            print!(
                "{}",
                report::summary(&run.results, started.elapsed().as_secs_f64())
            );
        });
        if run
            .results
            .iter()
            .any(|r| targets::fails_the_run(r.verdict))
        {
            status = ExitCode::from(1);
        }
        runs.push(run);
    }
    progress.finish_and_clear();
    let run_info = runner::RunInfo::of_this_runner();
    let all: Vec<runner::ScenarioResult> = runs
        .iter()
        .flat_map(|run| {
            run.results.iter().cloned().map(|mut r| {
                r.section = format!("{}.{}", run.name, r.section);
                r
            })
        })
        .collect();
    let renders: [(Option<&PathBuf>, &dyn Fn() -> String); 3] = [
        (outputs.junit, &|| report::junit::junit(&all)),
        (outputs.json, &|| report::matrix::json(&runs, &run_info)),
        (outputs.html, &|| report::matrix::html(&runs, &run_info)),
    ];
    for (path, render) in renders {
        if let Some(path) = path
            && let Err(e) = std::fs::write(path, render())
        {
            eprintln!("samlconf run: cannot write {}: {e}", path.display());
            status = ExitCode::from(super::EXIT_USAGE);
        }
    }
    status
}
