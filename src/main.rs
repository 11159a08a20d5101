//! The `samlconf` command line.

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
    /// List the mock IdP's profiles and knobs (what mint, scenarios and the control API accept).
    Profiles(cli::profiles::ProfilesArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => cli::serve::run(args),
        Command::Mint(args) => cli::mint::run(args),
        Command::Verify(args) => cli::verify::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::Profiles(args) => cli::profiles::run(args),
    }
}
