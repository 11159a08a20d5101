//! `samlconf certify`: the checklist of an IdP setup (its metadata, and optionally a captured
//! response) as the reference SP judges it. Exit codes: 0 no fail (warnings allowed), 1 at least
//! one fail, 2 usage or I/O error.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use samlconf::certify::render::{self, Format};
use samlconf::certify::{self, CapturedResponse, Certification, Status};
use sp::verify::DecryptionKey;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, clap::Args)]
pub struct CertifyArgs {
    /// The IdP's SAML metadata: a file, or an http(s):// URL.
    #[arg(long, value_name = "FILE|URL")]
    idp_metadata: String,
    /// A SAMLResponse captured from a real sign-in: base64 as SAML tracers show it (line breaks
    /// allowed), URL-encoded, a `SAMLResponse=…` form body, or XML.
    #[arg(long, value_name = "FILE")]
    response: Option<PathBuf>,
    /// The SP configuration (TOML) whose policy, entity ID, ACS, attribute names and role
    /// mappings the response is judged by; its [idp] section may be left out.
    #[arg(long, value_name = "FILE")]
    sp_config: Option<PathBuf>,
    /// The SP private key (PEM) an encrypted assertion is encrypted to; repeat for several.
    #[arg(long, value_name = "PEM")]
    sp_key: Vec<PathBuf>,
    /// Judge at this instant (RFC 3339) instead of now; also the capture time of --response
    /// (else the file's modification time).
    #[arg(long)]
    now: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the checklist here instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(args: CertifyArgs) -> ExitCode {
    match certify_args(&args) {
        Ok((output, verdict)) => {
            let written = match &args.out {
                Some(path) => std::fs::write(path, &output)
                    .map_err(|e| format!("--out {}: {e}", path.display())),
                None => {
                    print!("{output}");
                    Ok(())
                }
            };
            match (written, verdict) {
                (Err(e), _) => {
                    eprintln!("samlconf certify: {e}");
                    ExitCode::from(super::EXIT_USAGE)
                }
                (Ok(()), Status::Fail) => ExitCode::from(1),
                (Ok(()), _) => ExitCode::SUCCESS,
            }
        }
        Err(message) => {
            eprintln!("samlconf certify: {message}");
            ExitCode::from(super::EXIT_USAGE)
        }
    }
}

fn certify_args(args: &CertifyArgs) -> Result<(String, Status), String> {
    let now = match &args.now {
        Some(text) => {
            OffsetDateTime::parse(text, &Rfc3339).map_err(|e| format!("--now {text:?}: {e}"))?
        }
        None => OffsetDateTime::now_utc(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let metadata_xml = runtime.block_on(certify::input::read_metadata(&args.idp_metadata))?;
    let sp_config = match &args.sp_config {
        Some(path) => Some(certify::input::load_sp_config(path, &metadata_xml)?),
        None => None,
    };
    let response = match &args.response {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let (captured_at, source) = match &args.now {
                Some(_) => (now, "--now"),
                None => {
                    let modified = std::fs::metadata(path)
                        .and_then(|m| m.modified())
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    (OffsetDateTime::from(modified), "file mtime")
                }
            };
            Some(CapturedResponse {
                bytes,
                source: path.display().to_string(),
                captured_at,
                captured_at_source: source.to_owned(),
            })
        }
        None => None,
    };
    let decryption_keys = args
        .sp_key
        .iter()
        .map(|path| {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| format!("--sp-key {}: {e}", path.display()))?;
            let key = DecryptionKey::from_pem(pem);
            key.check()
                .map_err(|e| format!("--sp-key {}: {e}", path.display()))?;
            Ok(key)
        })
        .collect::<Result<Vec<_>, String>>()?;
    let checklist = certify::certify(&Certification {
        metadata_xml: &metadata_xml,
        metadata_source: args.idp_metadata.clone(),
        response,
        sp_config: sp_config.as_ref(),
        decryption_keys,
        now,
    });
    // Colours only for a person at a terminal (https://no-color.org opts out).
    let colour = args.out.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    Ok((
        render::render(&checklist, args.format, colour),
        checklist.verdict,
    ))
}
