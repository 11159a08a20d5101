//! The browser driver's speed: the whole catalogue (what `tests/catalogue_browser.rs` runs) in
//! headless Chromium at `--jobs` 1 and 4, reporting seconds
//! per scenario (wall clock of the whole run, Chromium's first start included, divided by the
//! scenarios: what a developer waits for) and CPU seconds per scenario (this process, chromedriver
//! and the Chromiums, reaped at the end of each run: steadier than wall time on a shared machine,
//! and on 2 cores half of it is the floor of the wall time at any `--jobs`). A measured command,
//! not a timed test: it fails only if a scenario does not pass.
//!
//! `cargo bench --bench browser` (`SAMLCONF_BENCH_JOBS=1,4` and `SAMLCONF_BENCH_RUNS=1` are the
//! defaults; `SAMLCONF_BENCH_FILTER=1.1,4.` runs fewer scenarios).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use samlconf::driver::browser::Chromedriver;
use samlconf::runner::{self, DriverKind, Verdict};
use samlconf::scenario::{self, Scenario};

fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| default.to_vec())
}

/// CPU time (user + system) of this process, and of its children reaped so far.
fn cpu() -> Duration {
    let of = |who| {
        // SAFETY: `getrusage` only writes the struct it is given.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(who, &mut usage) };
        let time = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        time(usage.ru_utime) + time(usage.ru_stime)
    };
    of(libc::RUSAGE_SELF) + of(libc::RUSAGE_CHILDREN)
}

/// The whole catalogue (as `tests/catalogue_browser.rs` runs it), or the filter's part of it.
fn catalogue() -> Vec<Scenario> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let filter = std::env::var("SAMLCONF_BENCH_FILTER").ok();
    scenario::load_dir(&dir)
        .unwrap_or_else(|errors| panic!("the catalogue does not load: {} error(s)", errors.len()))
        .into_iter()
        .filter(|s| {
            filter.as_deref().is_none_or(|f| {
                f.split(',')
                    .map(str::trim)
                    .any(|term| !term.is_empty() && s.matches_filter(term))
            })
        })
        .collect()
}

/// One run in a fresh chromedriver (so the Chromiums' CPU is reaped by its end).
fn run(runtime: &tokio::runtime::Runtime, scenarios: &[Scenario], jobs: usize) -> (f64, f64) {
    let cpu_before = cpu();
    let started = Instant::now();
    let results = runtime.block_on(async {
        let chromedriver = Arc::new(
            Chromedriver::start()
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let driver = DriverKind::Browser {
            chromedriver: chromedriver.clone(),
            cross_site: false,
        };
        let results = runner::run_all_with(scenarios.to_vec(), jobs, driver, |_| {}).await;
        chromedriver.shutdown().await;
        results
    });
    let wall = started.elapsed().as_secs_f64();
    let cpu = (cpu() - cpu_before).as_secs_f64();
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::Pass | Verdict::Skipped))
        .map(|r| format!("{} ({:?})", r.id, r.reason))
        .collect();
    assert!(failed.is_empty(), "scenarios did not pass: {failed:?}");
    (wall, cpu)
}

fn main() {
    let scenarios = catalogue();
    let runs = env_list("SAMLCONF_BENCH_RUNS", &[1])[0].max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let n = scenarios.len() as f64;
    // The same scenarios through the HTTP driver, for scale.
    let started = Instant::now();
    runtime.block_on(runner::run_all(scenarios.clone(), 2, |_| {}));
    println!(
        "browser: {} scenarios; the HTTP driver runs them in {:.3} s per scenario (--jobs 2)",
        scenarios.len(),
        started.elapsed().as_secs_f64() / n
    );
    for jobs in env_list("SAMLCONF_BENCH_JOBS", &[1, 4]) {
        let (mut best, mut cpu_best) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..runs {
            let (wall, cpu) = run(&runtime, &scenarios, jobs);
            best = best.min(wall);
            cpu_best = cpu_best.min(cpu);
        }
        println!(
            "  --jobs {jobs}: {:.2} s per scenario ({best:.1} s wall, best of {runs}), {:.2} s CPU per scenario (harness, chromedriver, Chromium)",
            best / n,
            cpu_best / n
        );
    }
}
