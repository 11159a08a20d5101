//! `samlconf load`: many full sign-ins at a given concurrency against `samlconf serve` (started
//! here as a child process, or as a cluster of them behind one address with --nodes, or already
//! running at --sp-url), or against an SP we do not control described by a target file
//! (--target, with the mock IdP in this process at its `idp_listen`); prints throughput, latency percentiles, the serving processes' peak
//! memory and every error by reason code. Exit code 1 when any sign-in was not accepted.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;

use samlconf::load::{
    self, Against, Cluster, LoadPlan, LoadTarget, ServeOptions, ServeProcess, TargetIdp,
};

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// How many sign-ins, each by a fresh browser.
    #[arg(long, default_value_t = 1000)]
    sign_ins: usize,
    /// How many at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Drive an SP that is already running (`samlconf serve`) instead of starting one.
    #[arg(long, value_name = "URL", conflicts_with_all = ["nodes", "database"])]
    sp_url: Option<String>,
    /// Drive an SP we do not control, described by this target file (docs/targets.md, as `run
    /// --target` reads it). The mock IdP runs here at its idp_listen.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["sp_url", "nodes", "database"])]
    target: Option<PathBuf>,
    /// Start this many `samlconf serve` processes on one --database behind one loopback address
    /// that hands each request to the next node in turn (node 0 also serves the mock IdP).
    #[arg(long, default_value_t = 1, value_name = "N")]
    nodes: usize,
    /// The started SP's store: a SQLite file or a `postgres://` URL, shared by all --nodes
    /// (default: sp.sqlite in --state-dir, which the nodes share too).
    #[arg(long, value_name = "PATH|URL")]
    database: Option<String>,
    /// The IdP users to sign in, round-robin (repeatable).
    #[arg(long = "user", value_name = "EMAIL", default_values_t = [
        "alice@example.com".to_owned(), "bob@example.com".to_owned(), "dave@example.com".to_owned(),
    ])]
    users: Vec<String>,
    /// Where the started `samlconf serve` keeps its keys, database and log (default: a
    /// temporary directory, removed afterwards).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

pub fn run(args: LoadArgs) -> ExitCode {
    if args.concurrency == 0 || args.sign_ins == 0 || args.nodes == 0 {
        eprintln!("samlconf load: --sign-ins, --concurrency and --nodes must be at least 1");
        return ExitCode::from(super::EXIT_USAGE);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("samlconf load: cannot start the async runtime: {e}");
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    runtime.block_on(async move {
        let temp = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(e) => {
                eprintln!("samlconf load: cannot make a temporary directory: {e}");
                return ExitCode::from(super::EXIT_USAGE);
            }
        };
        let state = args.state_dir.clone().unwrap_or_else(|| temp.path().into());
        let served = match (&args.sp_url, &args.target) {
            (Some(url), _) => Served::Elsewhere(url.trim_end_matches('/').to_owned()),
            (None, Some(file)) => match start_target(file).await {
                Ok(served) => served,
                Err(e) => {
                    eprintln!("samlconf load: {e}");
                    return ExitCode::from(super::EXIT_USAGE);
                }
            },
            (None, None) => match start(&args, &state).await {
                Ok(served) => served,
                Err(e) => {
                    eprintln!("samlconf load: {e}");
                    return ExitCode::from(super::EXIT_USAGE);
                }
            },
        };
        let sp = served.sp_base_url();
        let against = served.against();
        let plan = LoadPlan::new(args.sign_ins, args.concurrency, args.users.clone());
        println!(
            "samlconf load: {} sign-ins at concurrency {} against {sp}{}",
            plan.sign_ins,
            plan.concurrency,
            served.describe()
        );
        let bar = progress_bar(plan.sign_ins);
        let on_done = bar.clone();
        let report = load::drive_against(against, &plan, move |_| on_done.inc(1)).await;
        bar.finish_and_clear();
        print!("{}", render(&report, &served.peak_memory()));
        if report.accepted() == plan.sign_ins {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    })
}

/// What the load runs against.
enum Served {
    One(ServeProcess),
    Cluster(Cluster),
    /// --sp-url: not ours to measure.
    Elsewhere(String),
    /// --target, with the mock IdP it trusts (serving while this lives).
    Target {
        target: Arc<LoadTarget>,
        _idp: TargetIdp,
    },
}

async fn start_target(file: &std::path::Path) -> Result<Served, String> {
    let target = load::read_target(file).await?;
    let idp = TargetIdp::start(&target).await?;
    Ok(Served::Target {
        target: target.into(),
        _idp: idp,
    })
}

async fn start(args: &LoadArgs, state: &std::path::Path) -> Result<Served, String> {
    let binary = std::env::current_exe().map_err(|e| format!("cannot find my own binary: {e}"))?;
    if args.nodes > 1 {
        let cluster = Cluster::start(&binary, state, args.nodes, args.database.clone());
        return cluster
            .await
            .map(Served::Cluster)
            .map_err(|e| e.to_string());
    }
    let options = ServeOptions {
        database: args.database.clone(),
        ..Default::default()
    };
    let server = ServeProcess::start_with(&binary, state, options).await;
    server.map(Served::One).map_err(|e| e.to_string())
}

impl Served {
    fn sp_base_url(&self) -> String {
        match self {
            Served::One(server) => server.sp_base_url(),
            Served::Cluster(cluster) => cluster.sp_base_url(),
            Served::Elsewhere(url) => url.clone(),
            Served::Target { target, .. } => target.target.acs_url.clone(),
        }
    }

    fn against(&self) -> Against {
        match self {
            Served::Target { target, .. } => Against::Target(target.clone()),
            other => Against::ReferenceSp(other.sp_base_url()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Served::One(server) => format!(" (samlconf serve, pid {})", server.pid()),
            Served::Cluster(cluster) => {
                let pids: Vec<String> = cluster.nodes.iter().map(|n| n.pid().to_string()).collect();
                format!(
                    " (a round-robin front before {} samlconf serve nodes, pids {})",
                    pids.len(),
                    pids.join(", ")
                )
            }
            Served::Elsewhere(_) => String::new(),
            Served::Target { target, .. } => format!(
                " (target {}, the mock IdP at {})",
                target.target.name,
                target.target.idp_base_url()
            ),
        }
    }

    /// Each serving process's peak memory, labelled; empty when none is ours.
    fn peak_memory(&self) -> Vec<(String, Option<u64>)> {
        let label = "the serving process: mock IdP and reference SP".to_owned();
        match self {
            Served::One(server) => vec![(label, server.peak_memory_kib())],
            Served::Cluster(cluster) => {
                let nodes = cluster.nodes.iter().enumerate();
                let label = |i: usize| match i {
                    0 => "node 0: mock IdP and reference SP".to_owned(),
                    i => format!("node {i}: reference SP"),
                };
                nodes
                    .map(|(i, n)| (label(i), n.peak_memory_kib()))
                    .collect()
            }
            Served::Elsewhere(_) | Served::Target { .. } => Vec::new(),
        }
    }
}

fn progress_bar(len: usize) -> indicatif::ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        indicatif::ProgressDrawTarget::stderr()
    } else {
        indicatif::ProgressDrawTarget::hidden()
    };
    let bar = indicatif::ProgressBar::with_draw_target(Some(len as u64), target);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} sign-ins  {per_sec}  {elapsed}",
    ) {
        bar.set_style(style);
    }
    bar
}

fn render(report: &load::LoadReport, peaks: &[(String, Option<u64>)]) -> String {
    let total = report.attempts.len();
    let accepted = report.accepted();
    let ms = |p: f64| report.latency_percentile(p).as_secs_f64() * 1000.0;
    let mut out = format!(
        "  accepted     {accepted} of {total}\n  rate         {:.1} sign-ins/s over {:.2} s\n  \
         latency      p50 {:.1} ms   p95 {:.1} ms   p99 {:.1} ms   max {:.1} ms\n",
        report.per_second(),
        report.wall.as_secs_f64(),
        ms(50.0),
        ms(95.0),
        ms(99.0),
        ms(100.0),
    );
    if peaks.is_empty() {
        out.push_str("  peak memory  not measured (an SP given by --sp-url or --target)\n");
    }
    for (what, kib) in peaks {
        match kib {
            Some(kib) => out.push_str(&format!(
                "  peak memory  {:.1} MiB ({what})\n",
                *kib as f64 / 1024.0
            )),
            None => out.push_str(&format!("  peak memory  not measured ({what})\n")),
        }
    }
    let errors = report.errors();
    if errors.is_empty() {
        out.push_str("  errors       none\n");
    } else {
        out.push_str("  errors by reason code:\n");
        for (code, count) in errors {
            out.push_str(&format!("    {count:>6}  {code}\n"));
        }
    }
    out
}
