//! One module per subcommand.

pub mod certify;
pub mod fuzz_corpus;
pub mod load;
pub mod mint;
pub mod password_setup;
pub mod profiles;
pub mod report;
pub mod run;
mod run_targets;
pub mod serve;
pub mod vectors;
pub mod verify;

/// Exit code for usage and I/O errors (clap uses 2 for usage errors too).
pub const EXIT_USAGE: u8 = 2;
