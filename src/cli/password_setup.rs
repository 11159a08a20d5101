//! `samlconf password-setup`: issues a one-time password-setup link for a user of the reference
//! SP's database, from the command line — for the administrator created under SSO when SSO is
//! broken and no other administrator can sign in to issue one (Flow Production Tracking's
//! "Forgot login or password?"; the SP sends no mail). Prints the link once; only its hash is kept.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct PasswordSetupArgs {
    /// The user: login or e-mail.
    #[arg(long)]
    user: String,
    /// The SP's database (as `serve --database`): a SQLite file or a `postgres://` URL.
    #[arg(long, value_name = "PATH|URL", default_value = ".samlconf/sp.sqlite")]
    database: String,
    /// The SP's public base URL, to print the whole link.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    base_url: String,
    /// How long the link stays usable, in seconds (the SP's `password_setup_ttl_secs`).
    #[arg(long, default_value_t = 3600)]
    ttl_secs: u32,
}

pub fn run(args: PasswordSetupArgs) -> ExitCode {
    match issue(&args) {
        Ok(url) => {
            println!("{url}");
            eprintln!(
                "A password-setup link for {:?}, usable once within {} s. Hand it over; it is not shown again.",
                args.user, args.ttl_secs
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(super::EXIT_USAGE)
        }
    }
}

fn issue(args: &PasswordSetupArgs) -> Result<String, String> {
    if args.ttl_secs == 0 {
        return Err("--ttl-secs must be at least 1".into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let store = sp::store::Store::open(&args.database)
            .await
            .map_err(|e| format!("cannot open {:?}: {e}", args.database))?;
        let user = store
            .user_by_login_or_email(args.user.trim())
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no user {:?} in {:?}", args.user, args.database))?;
        let now = time::OffsetDateTime::now_utc();
        let path = sp::password_setup::issue(
            &store,
            &user,
            "samlconf password-setup (command line)",
            now,
            args.ttl_secs,
        )
        .await
        .map_err(|e| e.to_string())?;
        Ok(format!("{}{path}", args.base_url.trim_end_matches('/')))
    })
}
