//! `samlconf verify`: the reference SP's verifier as a tool, for any IdP's responses.
//!
//! The policy is stated, not edited into code: `--policy FILE` reads the `[sp]` policy options in
//! the SP configuration's TOML form (`sp::policy`), and the flags override it. Without either,
//! the defaults are the strict ones (SHA-1 refused, assertion signature required, no RSA 1.5).
//!
//! Exit codes: 0 accepted, 1 rejected, 2 usage or I/O error.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;
use sp::policy::PolicySettings;
use sp::verify::{self, DecryptionKey, MessageFacts, VerifyPolicy};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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
    /// Tolerated clock skew in seconds (default 120, or the policy file's clock_skew_secs).
    #[arg(long, value_name = "SECONDS")]
    skew: Option<u32>,
    /// The AuthnRequest ID the response must answer.
    #[arg(long)]
    in_response_to: Option<String>,
    /// Accept a response that answers no request (IdP-initiated).
    #[arg(long)]
    allow_unsolicited: bool,
    /// The policy options (`[sp]` clock_skew_secs, signature_algorithms, digest_algorithms,
    /// accept_response_signature, require_encrypted_assertions, allow_rsa15, allow_cbc,
    /// min_rsa_bits, idp_cert_expiry, max_response_bytes)
    /// in the SP configuration's TOML form; an SP configuration file works. Flags override it.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Accept RSA-SHA1 signatures and SHA-1 digests.
    #[arg(long)]
    allow_sha1: bool,
    /// A valid Response signature that covers the assertion is enough (assertion unsigned).
    #[arg(long)]
    accept_response_signature: bool,
    /// The SP's private key (PEM) that decrypts EncryptedAssertion/EncryptedID/EncryptedAttribute;
    /// repeat to try several (rotation).
    #[arg(long, value_name = "PEM")]
    sp_key: Vec<PathBuf>,
    /// Refuse an assertion that is not encrypted (`encryption.required`).
    #[arg(long)]
    require_encrypted: bool,
    /// Accept RSA PKCS#1 v1.5 key transport besides RSA-OAEP (padding-oracle prone).
    #[arg(long)]
    allow_rsa15: bool,
    /// Accept AES-CBC data encryption besides AES-GCM (malleable: a GCM ciphertext relabelled as
    /// CBC becomes a decryption oracle, "One Bad Apple").
    #[arg(long)]
    allow_cbc: bool,
    /// Smallest RSA key, in bits, of a pinned IdP certificate (default 2048; shorter:
    /// `signature.weak_key`).
    #[arg(long, value_name = "BITS")]
    min_rsa_bits: Option<u32>,
    /// A pinned IdP certificate outside its validity at --now: `warn` (accepted, reported under
    /// signature.certificate_warning) or `refuse` (`signature.certificate_expired`).
    #[arg(long, value_name = "warn|refuse", value_parser = parse_expiry)]
    idp_cert_expiry: Option<verify::CertificateExpiry>,
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

/// The policy options: the file's (or the defaults), then the flags.
fn policy_settings(args: &VerifyArgs) -> Result<PolicySettings, String> {
    let mut settings = match &args.policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--policy {}: {e}", path.display()))?;
            PolicySettings::from_toml(&text)
                .map_err(|e| format!("--policy {}: {e}", path.display()))?
        }
        None => PolicySettings::default(),
    };
    if let Some(skew) = args.skew {
        settings.clock_skew_secs = skew;
    }
    if args.allow_sha1 {
        settings.allow_sha1();
    }
    settings.accept_response_signature |= args.accept_response_signature;
    settings.require_encrypted_assertions |= args.require_encrypted;
    settings.allow_rsa15 |= args.allow_rsa15;
    settings.allow_cbc |= args.allow_cbc;
    if let Some(bits) = args.min_rsa_bits {
        settings.min_rsa_bits = bits;
    }
    if let Some(expiry) = args.idp_cert_expiry {
        settings.idp_cert_expiry = expiry;
    }
    Ok(settings)
}

fn parse_expiry(text: &str) -> Result<verify::CertificateExpiry, String> {
    match text {
        "warn" => Ok(verify::CertificateExpiry::Warn),
        "refuse" => Ok(verify::CertificateExpiry::Refuse),
        other => Err(format!("{other:?}: expected warn or refuse")),
    }
}

fn read(path: &PathBuf, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{what} {}: {e}", path.display()))
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
    let settings = policy_settings(args)?;
    let mut policy = VerifyPolicy::new(args.sp_entity_id.clone(), args.acs_url.clone(), certs);
    policy.idp_entity_id = args.idp_entity_id.clone();
    settings.apply_to(&mut policy);
    policy.decryption_keys = args
        .sp_key
        .iter()
        .map(|path| read(path, "--sp-key").map(DecryptionKey::from_pem))
        .collect::<Result<_, _>>()?;
    for key in &policy.decryption_keys {
        key.check().map_err(|e| format!("--sp-key: {e}"))?;
    }
    let input = std::fs::read(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
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
    let policy_json = serde_json::to_value(&settings).unwrap_or_default();
    Ok(match outcome {
        Ok(v) => {
            // Everything here was read from the verified Assertion.
            let facts = MessageFacts {
                signature_algorithm: Some(v.signature.signature_algorithm.clone()),
                digest_algorithm: Some(v.signature.digest_algorithm.clone()),
                signed_element: Some(v.signature.signed_element),
                encrypted: v.encrypted,
                not_before: v.not_before,
                not_on_or_after: v.not_on_or_after,
                audiences: v.audiences.clone(),
                attribute_names: v.attributes.iter().map(|a| a.name.clone()).collect(),
            };
            let mut verdict = json!({
                "accepted": true,
                "reason": null,
                "message": "accepted",
                "subject": v.name_id,
                "issuer": v.issuer,
                "assertion_id": v.assertion_id,
                "in_response_to": v.in_response_to,
                "signature": v.signature,
                "attributes": v.attributes,
                "policy": policy_json,
            });
            merge_facts(&mut verdict, &facts);
            (verdict, true)
        }
        Err(rejection) => {
            let mut verdict = json!({
                "accepted": false,
                "reason": rejection.reason.code(),
                "message": rejection.message,
                "subject": rejection.context.subject,
                "issuer": rejection.context.issuer,
                "attributes": rejection.context.groups_or_attributes,
                "policy": policy_json,
            });
            merge_facts(&mut verdict, &rejection.context.facts);
            (verdict, false)
        }
    })
}

/// Adds the facts (`signature_algorithm`, `digest_algorithm`, `signed_element`, `encrypted`,
/// `not_before`, `not_on_or_after`, `audiences`, `attribute_names`) as top-level keys.
fn merge_facts(verdict: &mut serde_json::Value, facts: &MessageFacts) {
    if let (Some(out), Ok(serde_json::Value::Object(facts))) =
        (verdict.as_object_mut(), serde_json::to_value(facts))
    {
        out.extend(facts);
    }
}
