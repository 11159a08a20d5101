//! The `samlconf` command line.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// samlconf — a SAML 2.0 conformance test harness: a programmable mock IdP, a reference SP,
/// and a scenario runner.
#[derive(Debug, Parser)]
#[command(name = "samlconf", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the mock IdP and the reference SP on loopback, configured for each other.
    Serve(cli::serve::ServeArgs),
    /// Mint a SAMLResponse with the mock IdP (a profile plus knobs) and write it out.
    Mint(cli::mint::MintArgs),
    /// Verify a SAMLResponse with the reference SP's verifier; prints a JSON verdict.
    Verify(cli::verify::VerifyArgs),
    /// Run scenario files against the reference SP and report (summary, JUnit, JSON, HTML).
    Run(cli::run::RunArgs),
    /// Drive many full sign-ins at a concurrency against `samlconf serve` and report throughput,
    /// latency percentiles, peak memory and errors by reason code.
    Load(cli::load::LoadArgs),
    /// Work with reports: `report merge` joins the JSON or JUnit reports of `run --shard` runs.
    Report(cli::report::ReportArgs),
    /// List the mock IdP's profiles and knobs (what mint, scenarios and the control API accept).
    Profiles(cli::profiles::ProfilesArgs),
    /// Check an IdP setup (metadata, and a captured SAMLResponse) and print a pass/warn/fail
    /// checklist; exit code 1 on any fail.
    Certify(cli::certify::CertifyArgs),
    /// Export the single-response scenarios as Wycheproof-style JSON test vectors.
    Vectors(cli::vectors::VectorsArgs),
    /// Write the fuzz targets' seed corpora (fuzz/corpus/<target>/) from the mock IdP.
    FuzzCorpus(cli::fuzz_corpus::FuzzCorpusArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` is watched by a person, who wants to see requests; the other commands print their
    // result and stay quiet unless something is wrong. `RUST_LOG` overrides both.
    init_logs(match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    });
    match cli.command {
        Command::Serve(args) => cli::serve::run(args),
        Command::Mint(args) => cli::mint::run(args),
        Command::Verify(args) => cli::verify::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::Profiles(args) => cli::profiles::run(args),
        Command::Report(args) => cli::report::run(args),
        Command::Load(args) => cli::load::run(args),
        Command::Vectors(args) => cli::vectors::run(args),
        Command::Certify(args) => cli::certify::run(args),
        Command::FuzzCorpus(args) => cli::fuzz_corpus::run(args),
    }
}

/// Logs go to standard error, so that what a command prints on standard output (`verify`'s JSON,
/// `mint`'s response, `run`'s summary) stays clean.
fn init_logs(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
