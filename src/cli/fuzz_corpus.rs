//! `samlconf fuzz-corpus`: the fuzz targets' seed corpora (see `samlconf::fuzz_corpus`).

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct FuzzCorpusArgs {
    /// The corpus root: one directory per target is emptied and rewritten under it.
    #[arg(long, default_value = "fuzz/corpus")]
    out: PathBuf,
    /// The scenario directory the scenario-parser seeds come from.
    #[arg(long, default_value = "scenarios")]
    scenarios: PathBuf,
}

pub fn run(args: FuzzCorpusArgs) -> ExitCode {
    match samlconf::fuzz_corpus::generate(&args.out, &args.scenarios) {
        Ok(summary) => {
            for (target, files) in &summary.files {
                let bytes = summary.bytes.get(target).copied().unwrap_or(0);
                println!(
                    "{target:<26} {files:>4} files {:>8} KiB",
                    bytes.div_ceil(1024)
                );
            }
            if summary.kept > 0 {
                println!(
                    "({} encrypted seeds kept from the previous run)",
                    summary.kept
                );
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("samlconf fuzz-corpus: {message}");
            ExitCode::from(super::EXIT_USAGE)
        }
    }
}
