//! The scenario catalogue's own speed: the whole of `scenarios/` through the HTTP driver, each
//! scenario in its own pair (own store, own servers), at `--jobs` 1, 2 and 4, reporting
//! scenarios per second (wall clock, what a developer waits for) and the CPU time per scenario
//! (the process's, steadier on a shared machine). A measured command, not a timed test: it fails
//! only if a scenario does not pass.
//!
//! `cargo bench --bench catalogue` (`SAMLCONF_BENCH_JOBS=1,2,4` and `SAMLCONF_BENCH_RUNS=2` are
//! the defaults).

use std::path::Path;
use std::time::Instant;

use plumbing::bench::Clock;
use samlconf::runner::{self, Verdict};
use samlconf::scenario;

fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| default.to_vec())
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let scenarios = scenario::load_dir(&dir)
        .unwrap_or_else(|errors| panic!("the catalogue does not load: {} error(s)", errors.len()));
    let runs = env_list("SAMLCONF_BENCH_RUNS", &[2])[0].max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    // Warm-up: one-time costs of the process (keys generated for extra IdPs, the first parse of
    // each pinned certificate) are paid here, as by any run after its first scenarios.
    runtime.block_on(runner::run_all(scenarios.clone(), 4, |_| {}));
    println!(
        "catalogue: {} scenarios, HTTP driver, {} run(s) each",
        scenarios.len(),
        runs
    );
    for jobs in env_list("SAMLCONF_BENCH_JOBS", &[1, 2, 4]) {
        let mut best = f64::INFINITY;
        let mut cpu_best = f64::INFINITY;
        for _ in 0..runs {
            let cpu = Clock::Process.now();
            let started = Instant::now();
            let results = runtime.block_on(runner::run_all(scenarios.clone(), jobs, |_| {}));
            let wall = started.elapsed().as_secs_f64();
            let cpu = (Clock::Process.now() - cpu).as_secs_f64();
            let failed: Vec<&str> = results
                .iter()
                .filter(|r| r.verdict != Verdict::Pass)
                .map(|r| r.id.as_str())
                .collect();
            assert!(failed.is_empty(), "scenarios did not pass: {failed:?}");
            best = best.min(wall);
            cpu_best = cpu_best.min(cpu);
        }
        let n = scenarios.len() as f64;
        println!(
            "  --jobs {jobs}: {:>6.1} scenarios/s ({best:.2} s wall, best of {runs}), {:.2} ms CPU per scenario",
            n / best,
            cpu_best * 1000.0 / n
        );
    }
}
