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
    /// Headless Chromium through chromedriver (Debian's `chromium` and `chromium-driver`), one
    /// fresh profile per scenario browser; the SP and the IdP on different sites.
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
    /// Run only shard K of N (e.g. `2/4`): a stable, disjoint share of the selected scenarios,
    /// for splitting a long suite across CI machines; `samlconf report merge` joins the reports.
    #[arg(long, value_name = "K/N")]
    shard: Option<scenario::Shard>,
    /// The browser driver.
    #[arg(long, value_enum, default_value_t = DriverKind::Http)]
    driver: DriverKind,
    /// `--driver browser`: the SP at http://localhost:PORT and the IdP at http://127.0.0.1:PORT,
    /// different sites for the browser's cookie rules (default: both on 127.0.0.1, one site).
    /// Over plain http the IdP's session cookie is `SameSite=Lax`, so silent renewal in the
    /// SP's iframe cannot reach it cross-site.
    #[arg(long)]
    cross_site: bool,
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
    let scenarios = match args.shard {
        Some(shard) => {
            let share = shard.take(scenarios, |s| s.id.as_str());
            eprintln!("shard {shard}: {} scenarios", share.len());
            share
        }
        None => scenarios,
    };
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
        if args.driver != DriverKind::Http {
            eprintln!("samlconf run: --target runs with the HTTP driver (--driver http)");
            return ExitCode::from(super::EXIT_USAGE);
        }
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
    let driver = match args.driver {
        DriverKind::Http => runner::DriverKind::Http,
        DriverKind::Browser => {
            match runtime.block_on(samlconf::driver::browser::Chromedriver::start()) {
                Ok(chromedriver) => runner::DriverKind::Browser {
                    chromedriver: std::sync::Arc::new(chromedriver),
                    cross_site: args.cross_site,
                },
                Err(e) => {
                    eprintln!("samlconf run: {e}");
                    return ExitCode::from(super::EXIT_USAGE);
                }
            }
        }
    };
    if let runner::DriverKind::Browser { chromedriver, .. } = &driver {
        // Ctrl-C: stop chromedriver (and its browsers) before leaving.
        let chromedriver = chromedriver.clone();
        runtime.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                chromedriver.stop();
                std::process::exit(130);
            }
        });
    }
    let run_info = runner::RunInfo::of(&driver);
    let started = Instant::now();
    let bar = progress.clone();
    let results = runtime.block_on(runner::run_all_with(
        scenarios,
        jobs,
        driver.clone(),
        move |result| {
            bar.inc(1);
            if result.verdict != runner::Verdict::Pass {
                bar.set_message(format!("{} {}", result.id, result.verdict.as_str()));
            }
        },
    ));
    if let runner::DriverKind::Browser { chromedriver, .. } = &driver {
        runtime.block_on(chromedriver.shutdown());
    }
    let wall = started.elapsed().as_secs_f64();
    progress.finish_and_clear();
    print!("{}", report::summary(&results, wall));

    let mut status = if report::Totals::of(&results).all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
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
