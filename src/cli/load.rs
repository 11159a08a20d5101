//! `samlconf load`: many full sign-ins at a given concurrency against `samlconf serve` (started
//! here as a child process, or already running at --sp-url); prints throughput, latency
//! percentiles, the serving process's peak memory and every error by reason code. Exit code 1
//! when any sign-in was not accepted.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use samlconf::load::{self, LoadPlan, ServeProcess};

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// How many sign-ins, each by a fresh browser.
    #[arg(long, default_value_t = 1000)]
    sign_ins: usize,
    /// How many at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Drive an SP that is already running (`samlconf serve`) instead of starting one.
    #[arg(long, value_name = "URL")]
    sp_url: Option<String>,
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
    if args.concurrency == 0 || args.sign_ins == 0 {
        eprintln!("samlconf load: --sign-ins and --concurrency must be at least 1");
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
        let (server, sp) = match &args.sp_url {
            Some(url) => (None, url.trim_end_matches('/').to_owned()),
            None => {
                let binary = match std::env::current_exe() {
                    Ok(binary) => binary,
                    Err(e) => {
                        eprintln!("samlconf load: cannot find my own binary: {e}");
                        return ExitCode::from(super::EXIT_USAGE);
                    }
                };
                let state = args.state_dir.clone().unwrap_or_else(|| temp.path().into());
                match ServeProcess::start(&binary, &state).await {
                    Ok(server) => {
                        let url = server.sp_base_url();
                        (Some(server), url)
                    }
                    Err(e) => {
                        eprintln!("samlconf load: {e}");
                        return ExitCode::from(super::EXIT_USAGE);
                    }
                }
            }
        };
        let plan = LoadPlan::new(args.sign_ins, args.concurrency, args.users.clone());
        println!(
            "samlconf load: {} sign-ins at concurrency {} against {sp}{}",
            plan.sign_ins,
            plan.concurrency,
            server
                .as_ref()
                .map(|s| format!(" (samlconf serve, pid {})", s.pid()))
                .unwrap_or_default()
        );
        let bar = progress_bar(plan.sign_ins);
        let on_done = bar.clone();
        let report = load::drive(&sp, &plan, move |_| on_done.inc(1)).await;
        bar.finish_and_clear();
        print!(
            "{}",
            render(
                &report,
                server.as_ref().and_then(ServeProcess::peak_memory_kib)
            )
        );
        if report.accepted() == plan.sign_ins {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    })
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

fn render(report: &load::LoadReport, peak_kib: Option<u64>) -> String {
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
    match peak_kib {
        Some(kib) => out.push_str(&format!(
            "  peak memory  {:.1} MiB (the serving process: mock IdP and reference SP)\n",
            kib as f64 / 1024.0
        )),
        None => out.push_str("  peak memory  not measured (an SP given by --sp-url)\n"),
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
