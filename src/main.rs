//! The `samlconf` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// samlconf — a SAML 2.0 conformance test harness: a programmable mock IdP, a reference SP,
/// and (soon) a scenario runner.
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
    /// Run scenario files (not available yet).
    Run {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        rest: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => cli::serve::run(args),
        Command::Mint(args) => cli::mint::run(args),
        Command::Verify(args) => cli::verify::run(args),
        Command::Run { .. } => {
            eprintln!(
                "samlconf run: the scenario runner is not there yet (tracked in issue 4). \
                 Today you can `samlconf serve`, `samlconf mint` and `samlconf verify`."
            );
            ExitCode::from(2)
        }
    }
}
