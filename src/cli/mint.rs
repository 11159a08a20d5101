//! `samlconf mint`: one SAMLResponse from the mock IdP, a profile plus knobs, to a file or stdout.

use std::path::PathBuf;
use std::process::ExitCode;

use mock_idp::keys::IdpKeys;
use mock_idp::mint::{self, MintParams};
use mock_idp::users::{self, User};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, clap::Args)]
pub struct MintArgs {
    /// The profile (a named preset of knobs); see `GET /_control/profiles` on the mock IdP.
    #[arg(long, default_value = "valid")]
    profile: String,
    /// Set a knob on top of the profile: `key=value` (value as JSON if it parses, else a string).
    #[arg(long = "knob", value_name = "KEY=VALUE")]
    knobs: Vec<String>,
    /// The SP entity ID (the Audience).
    #[arg(long)]
    sp_entity_id: String,
    /// The ACS URL (Destination and Recipient).
    #[arg(long)]
    acs_url: String,
    /// The IdP entity ID (the Issuer).
    #[arg(long, default_value = "http://127.0.0.1:9000/metadata")]
    idp_entity_id: String,
    /// A demo user's e-mail or login, or any e-mail address (a user without groups).
    #[arg(long, default_value = "alice@example.com")]
    user: String,
    /// The AuthnRequest ID being answered; omit for an unsolicited response.
    #[arg(long)]
    in_response_to: Option<String>,
    /// Mint as of this instant (RFC 3339) instead of now.
    #[arg(long)]
    now: Option<String>,
    /// Write base64 (the SAMLResponse form value) instead of XML.
    #[arg(long)]
    base64: bool,
    /// Output file; default standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write the IdP's signing certificate (PEM) here: what `verify` should trust.
    #[arg(long)]
    cert_out: Option<PathBuf>,
    /// Where the IdP's generated key lives (shared with `serve`).
    #[arg(long, default_value = ".samlconf/idp")]
    state_dir: PathBuf,
    /// The SP's encryption certificate (PEM), for the encryption knobs (`encrypt_assertion`, …).
    #[arg(long, value_name = "PEM")]
    sp_enc_cert: Option<PathBuf>,
    /// Use the fixed, public test key and counter IDs, for byte-for-byte stable output.
    #[arg(long)]
    deterministic: bool,
}

pub fn run(args: MintArgs) -> ExitCode {
    match mint_to_files(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("samlconf mint: {message}");
            ExitCode::from(super::EXIT_USAGE)
        }
    }
}

fn mint_to_files(args: &MintArgs) -> Result<(), String> {
    let mut knobs = mock_idp::profiles::get(&args.profile).ok_or_else(|| {
        let names: Vec<&str> = mock_idp::profiles::ALL
            .iter()
            .map(|(name, _)| *name)
            .collect();
        format!(
            "unknown profile {:?}; profiles: {}",
            args.profile,
            names.join(", ")
        )
    })?;
    for knob in &args.knobs {
        let (key, value) = knob
            .split_once('=')
            .ok_or_else(|| format!("--knob {knob:?}: expected KEY=VALUE"))?;
        knobs
            .set(key, value)
            .map_err(|e| format!("--knob {knob:?}: {e}"))?;
    }
    let now = match &args.now {
        Some(text) => {
            OffsetDateTime::parse(text, &Rfc3339).map_err(|e| format!("--now {text:?}: {e}"))?
        }
        None => OffsetDateTime::now_utc(),
    };
    let keys = if args.deterministic {
        IdpKeys::fixed_for_tests()
    } else {
        IdpKeys::load_or_create(&args.state_dir)
            .map_err(|e| format!("IdP keys in {}: {e}", args.state_dir.display()))?
    };
    let user = user_for(&args.user)?;
    let random = mint::RandomIds;
    let counter = mint::CounterIds::new();
    let ids: &dyn mint::IdSource = if args.deterministic {
        &counter
    } else {
        &random
    };
    let sp_enc_cert = match &args.sp_enc_cert {
        Some(path) => {
            Some(std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    let minted = mint::mint_response(&MintParams {
        idp_entity_id: args.idp_entity_id.clone(),
        sp_entity_id: args.sp_entity_id.clone(),
        acs_url: args.acs_url.clone(),
        user: &user,
        in_response_to: args.in_response_to.clone(),
        now,
        knobs: &knobs,
        keys: &keys,
        ids,
        session_index: None,
        sp_encryption_cert_pem: sp_enc_cert.as_deref(),
    })
    .map_err(|e| e.to_string())?;
    let output = if args.base64 {
        minted.saml_response_param()
    } else {
        minted.xml
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, output).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => println!("{output}"),
    }
    if let Some(path) = &args.cert_out {
        std::fs::write(path, &keys.idp.cert_pem).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// A demo user by login or e-mail, or a plain user for any other e-mail address.
fn user_for(hint: &str) -> Result<User, String> {
    let demo = users::demo_users();
    if let Some(user) = users::find(&demo, hint) {
        return Ok(user.clone());
    }
    let (local, _) = hint
        .split_once('@')
        .ok_or_else(|| format!("--user {hint:?} is neither a demo user nor an e-mail address"))?;
    Ok(User {
        login: local.to_owned(),
        email: hint.to_owned(),
        first_name: local.to_owned(),
        last_name: String::new(),
        groups: vec![],
        access: true,
    })
}
