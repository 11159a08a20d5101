//! `samlconf run`: load scenario files, run them in parallel against fresh mock-IdP/SP pairs,
//! print a summary table and write the reports asked for. Exit code 0 only if every scenario
//! passed, 1 if any failed or broke, 2 for usage errors and unusable scenario files.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use samlconf::report;
use samlconf::runner;
use samlconf::scenario::{self, Scenario};

/// Which browser plays the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DriverKind {
    /// reqwest with a cookie jar, following every redirect and form by hand.
    Http,
    /// A real headless browser (not there yet).
    Browser,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario files or directories (searched recursively for *.toml).
    #[arg(default_value = "scenarios")]
    paths: Vec<PathBuf>,
    /// Run only the scenarios matching EXPR: comma-separated terms, each an ID (`2.3`), a section
    /// (`2` or `2.`), a tag, or a case-insensitive part of the title or file name.
    #[arg(long, value_name = "EXPR")]
    filter: Option<String>,
    /// Run only the scenarios with this tag (repeatable: any of them).
    #[arg(long = "tag", value_name = "T")]
    tags: Vec<String>,
    /// The browser driver.
    #[arg(long, value_enum, default_value_t = DriverKind::Http)]
    driver: DriverKind,
    /// Scenarios run at once (default: the number of cores).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a JSON report (every step's expected and actual outcome) here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a self-contained HTML report here.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Only load and check the scenario files; run nothing.
    #[arg(long)]
    check: bool,
    /// Run against the SP this target file describes instead of the reference SP (repeatable:
    /// one run per target, and the reports compare them). See docs/targets.md.
    #[arg(long = "target", value_name = "FILE")]
    targets: Vec<PathBuf>,
}

/// Where the reports go.
pub(super) struct Outputs<'a> {
    pub junit: Option<&'a PathBuf>,
    pub json: Option<&'a PathBuf>,
    pub html: Option<&'a PathBuf>,
}

/// Whether `scenario` is selected by `--filter` and `--tag`.
fn selected(scenario: &Scenario, filter: Option<&str>, tags: &[String]) -> bool {
    let by_filter = filter.is_none_or(|expr| {
        expr.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .any(|term| scenario.matches_filter(term))
    });
    let by_tag = tags.is_empty() || tags.iter().any(|t| scenario.tags.contains(t));
    by_filter && by_tag
}

pub fn run(args: RunArgs) -> ExitCode {
    if args.driver == DriverKind::Browser {
        eprintln!(
            "samlconf run: the browser driver is not there yet; only `--driver http` (the default) \
             exists today."
        );
        return ExitCode::from(super::EXIT_USAGE);
    }
    if args.jobs == Some(0) {
        eprintln!("samlconf run: --jobs must be at least 1");
        return ExitCode::from(super::EXIT_USAGE);
    }
    let scenarios = match scenario::load_paths(&args.paths) {
        Ok(scenarios) => scenarios,
        Err(errors) => {
            for error in &errors {
                eprintln!("error: {error}");
            }
            eprintln!(
                "samlconf run: {} problem(s) in the scenario files; nothing was run",
                errors.len()
            );
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    for warning in scenarios.iter().flat_map(|s| &s.warnings) {
        eprintln!("warning: {warning}");
    }
    let scenarios: Vec<Scenario> = scenarios
        .into_iter()
        .filter(|s| selected(s, args.filter.as_deref(), &args.tags))
        .collect();
    if scenarios.is_empty() {
        eprintln!("samlconf run: no scenario matches");
        return ExitCode::from(super::EXIT_USAGE);
    }
    if args.check {
        println!("{} scenarios loaded and checked", scenarios.len());
        return ExitCode::SUCCESS;
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let jobs = args.jobs.unwrap_or(cores);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("samlconf run: cannot start the async runtime: {e}");
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    let progress = indicatif::ProgressBar::with_draw_target(
        Some(scenarios.len() as u64),
        if std::io::stderr().is_terminal() {
            indicatif::ProgressDrawTarget::stderr()
        } else {
            indicatif::ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} scenarios  {elapsed}  {msg}")
    {
        progress.set_style(style);
    }
    if !args.targets.is_empty() {
        return super::run_targets::run(
            &runtime,
            &args.targets,
            &scenarios,
            progress,
            Outputs {
                junit: args.junit.as_ref(),
                json: args.json.as_ref(),
                html: args.html.as_ref(),
            },
        );
    }
    let started = Instant::now();
    let bar = progress.clone();
    let results = runtime.block_on(runner::run_all(scenarios, jobs, move |result| {
        bar.inc(1);
        if result.verdict != runner::Verdict::Pass {
            bar.set_message(format!("{} {}", result.id, result.verdict.as_str()));
        }
    }));
    let wall = started.elapsed().as_secs_f64();
    progress.finish_and_clear();
    print!("{}", report::summary(&results, wall));

    let mut status = if report::Totals::of(&results).all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    let run_info = runner::RunInfo::of_this_runner();
    let outputs: [(&Option<PathBuf>, &dyn Fn() -> String); 3] = [
        (&args.junit, &|| report::junit::junit(&results)),
        (&args.json, &|| report::json(&results, &run_info)),
        (&args.html, &|| report::html::html(&results, &run_info)),
    ];
    for (path, render) in outputs {
        if let Some(path) = path
            && let Err(e) = std::fs::write(path, render())
        {
            eprintln!("samlconf run: cannot write {}: {e}", path.display());
            status = ExitCode::from(super::EXIT_USAGE);
        }
    }
    status
}
