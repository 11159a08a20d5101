//! `samlconf report merge`: one JSON and one JUnit report from the shards of a run.

use std::path::PathBuf;
use std::process::ExitCode;

use samlconf::report::merge;

/// One merged report to write: where (when asked for), its kind, and how it is made.
type Output<'a> = (
    &'a Option<PathBuf>,
    &'static str,
    &'a dyn Fn() -> Result<String, merge::MergeError>,
);

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    command: ReportCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ReportCommand {
    /// Join the reports of `samlconf run --shard K/N` runs into one, as one run would have
    /// written them. Inputs are told apart by content (JSON or JUnit XML).
    Merge(MergeArgs),
}

#[derive(Debug, clap::Args)]
struct MergeArgs {
    /// The shards' reports (`--json` and/or `--junit` outputs of each shard).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Write the merged JSON report here (needs JSON inputs).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the merged JUnit report here (needs JUnit inputs).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

pub fn run(args: ReportArgs) -> ExitCode {
    match args.command {
        ReportCommand::Merge(args) => merge_reports(args),
    }
}

fn merge_reports(args: MergeArgs) -> ExitCode {
    if args.json.is_none() && args.junit.is_none() {
        eprintln!("samlconf report merge: say where to write: --json FILE and/or --junit FILE");
        return ExitCode::from(super::EXIT_USAGE);
    }
    let mut json_inputs = Vec::new();
    let mut junit_inputs = Vec::new();
    for path in &args.inputs {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("samlconf report merge: cannot read {}: {e}", path.display());
                return ExitCode::from(super::EXIT_USAGE);
            }
        };
        let input = (path.display().to_string(), text);
        if input.1.trim_start().starts_with('{') {
            json_inputs.push(input);
        } else {
            junit_inputs.push(input);
        }
    }
    let outputs: [Output; 2] = [
        (&args.json, "JSON", &|| merge::merge_json(&json_inputs)),
        (&args.junit, "JUnit", &|| merge::merge_junit(&junit_inputs)),
    ];
    for (path, kind, merged) in outputs {
        let Some(path) = path else { continue };
        let text = match merged() {
            Ok(text) => text,
            Err(e) => {
                eprintln!("samlconf report merge: cannot merge the {kind} reports: {e}");
                return ExitCode::from(super::EXIT_USAGE);
            }
        };
        if let Err(e) = std::fs::write(path, text) {
            eprintln!(
                "samlconf report merge: cannot write {}: {e}",
                path.display()
            );
            return ExitCode::from(super::EXIT_USAGE);
        }
    }
    ExitCode::SUCCESS
}
