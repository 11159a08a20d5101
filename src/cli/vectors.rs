//! `samlconf vectors`: the catalogue's single-response scenarios as Wycheproof-style JSON test
//! vectors for other SAML libraries (see `samlconf::vectors` and the README's "Test vectors").

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct VectorsArgs {
    /// The directory to write `saml_response_test.json` into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// The scenario directory to export from.
    #[arg(long, default_value = "scenarios")]
    scenarios: PathBuf,
}

pub fn run(args: VectorsArgs) -> ExitCode {
    let scenarios = match samlconf::scenario::load_dir(&args.scenarios) {
        Ok(scenarios) => scenarios,
        Err(errors) => {
            for error in errors {
                eprintln!("{error}");
            }
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    let written = samlconf::vectors::build(&scenarios)
        .and_then(|file| samlconf::vectors::write(&file, &args.out).map(|path| (file, path)));
    match written {
        Ok((file, path)) => {
            println!("{} vectors → {}", file.number_of_tests, path.display());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("samlconf vectors: {message}");
            ExitCode::from(super::EXIT_USAGE)
        }
    }
}
