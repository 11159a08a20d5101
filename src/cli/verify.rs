//! `samlconf verify`: the reference SP's verifier as a tool, for any IdP's responses.
//!
//! Exit codes: 0 accepted, 1 rejected, 2 usage or I/O error.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;
use sp::verify::{self, VerifyPolicy};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("solicitation").args(["in_response_to", "allow_unsolicited"])))]
pub struct VerifyArgs {
    /// The IdP signing certificate (PEM) to trust; KeyInfo in the message is never trusted.
    #[arg(long, value_name = "PEM", required = true)]
    idp_cert: Vec<PathBuf>,
    /// The SP entity ID the assertion's Audience must name.
    #[arg(long)]
    sp_entity_id: String,
    /// The ACS URL that Destination and Recipient must name.
    #[arg(long)]
    acs_url: String,
    /// Require this Issuer.
    #[arg(long)]
    idp_entity_id: Option<String>,
    /// Verify as of this instant (RFC 3339) instead of now.
    #[arg(long)]
    now: Option<String>,
    /// Tolerated clock skew in seconds.
    #[arg(long, default_value_t = 120)]
    skew: u32,
    /// The AuthnRequest ID the response must answer.
    #[arg(long)]
    in_response_to: Option<String>,
    /// Accept a response that answers no request (IdP-initiated).
    #[arg(long)]
    allow_unsolicited: bool,
    /// A file holding the SAMLResponse: raw XML or base64.
    file: PathBuf,
}

pub fn run(args: VerifyArgs) -> ExitCode {
    match verify_file(&args) {
        Ok((verdict, accepted)) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&verdict).unwrap_or_default()
            );
            if accepted {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(message) => {
            eprintln!("samlconf verify: {message}");
            ExitCode::from(super::EXIT_USAGE)
        }
    }
}

fn verify_file(args: &VerifyArgs) -> Result<(serde_json::Value, bool), String> {
    let now = match &args.now {
        Some(text) => {
            OffsetDateTime::parse(text, &Rfc3339).map_err(|e| format!("--now {text:?}: {e}"))?
        }
        None => OffsetDateTime::now_utc(),
    };
    let certs = args
        .idp_cert
        .iter()
        .map(|path| std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display())))
        .collect::<Result<Vec<_>, _>>()?;
    let input = std::fs::read(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let mut policy = VerifyPolicy::new(args.sp_entity_id.clone(), args.acs_url.clone(), certs);
    policy.idp_entity_id = args.idp_entity_id.clone();
    policy.clock_skew = Duration::seconds(i64::from(args.skew));
    let outcome = verify::decode_file_input(&input)
        .and_then(|xml| verify::verify_response(&xml, &policy, now))
        .and_then(|verified| {
            verify::check_in_response_to(
                &verified,
                args.in_response_to.as_deref(),
                args.allow_unsolicited,
            )
            .map(|()| verified)
        });
    Ok(match outcome {
        Ok(v) => (
            json!({
                "accepted": true,
                "reason": null,
                "message": "accepted",
                "subject": v.name_id,
                "issuer": v.issuer,
                "assertion_id": v.assertion_id,
                "in_response_to": v.in_response_to,
                "signature": v.signature,
                "attributes": v.attributes,
            }),
            true,
        ),
        Err(rejection) => (
            json!({
                "accepted": false,
                "reason": rejection.reason.code(),
                "message": rejection.message,
                "subject": rejection.context.subject,
                "issuer": rejection.context.issuer,
                "attributes": rejection.context.groups_or_attributes,
            }),
            false,
        ),
    })
}
