//! The `samlconf` binary as a user runs it: `mint` writes responses that `verify` judges, with the
//! documented exit codes; `verify` also accepts a real IdP's response.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const SP: &str = "https://sp.example/saml/metadata";
const ACS: &str = "https://sp.example/saml/acs";
const IDP: &str = "https://idp.example/metadata";
const MINTED_AT: &str = "2026-01-01T00:00:00Z";
const VERIFIED_AT: &str = "2026-01-01T00:01:00Z";

fn samlconf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_samlconf"))
        .args(args)
        .output()
        .expect("run samlconf")
}

fn mint(dir: &Path, profile: &str, extra: &[&str]) -> (String, String) {
    let out = dir.join(format!("{profile}.xml"));
    let cert = dir.join("idp.crt");
    let (out_s, cert_s) = (out.to_str().unwrap(), cert.to_str().unwrap());
    let mut args = vec![
        "mint",
        "--profile",
        profile,
        "--sp-entity-id",
        SP,
        "--acs-url",
        ACS,
        "--idp-entity-id",
        IDP,
        "--now",
        MINTED_AT,
        "--state-dir",
        dir.to_str().unwrap(),
        "--out",
        out_s,
        "--cert-out",
        cert_s,
    ];
    args.extend_from_slice(extra);
    let output = samlconf(&args);
    assert!(
        output.status.success(),
        "mint {profile}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (out_s.to_owned(), cert_s.to_owned())
}

fn verify(file: &str, cert: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "verify",
        "--idp-cert",
        cert,
        "--sp-entity-id",
        SP,
        "--acs-url",
        ACS,
        "--idp-entity-id",
        IDP,
        "--now",
        VERIFIED_AT,
    ];
    args.extend_from_slice(extra);
    args.push(file);
    let output = samlconf(&args);
    let verdict = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "verify printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), verdict)
}

#[test]
fn minted_valid_response_verifies_with_the_written_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (file, cert) = mint(
        dir.path(),
        "valid",
        &["--user", "carol@example.com", "--in-response-to", "_req1"],
    );
    let (code, verdict) = verify(&file, &cert, &["--in-response-to", "_req1"]);
    assert_eq!(code, 0, "{verdict}");
    assert_eq!(verdict["accepted"], true);
    assert_eq!(verdict["subject"], "carol@example.com");
    let names: Vec<&str> = verdict["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert!(
        names.contains(&"mail") && names.contains(&"groups"),
        "{names:?}"
    );

    let (code, verdict) = verify(&file, &cert, &["--in-response-to", "_another"]);
    assert_eq!(
        (code, verdict["reason"].as_str()),
        (1, Some("request.unknown_in_response_to"))
    );
}

#[test]
fn each_faulty_profile_is_rejected_with_its_code_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    for (profile, reason) in [
        ("sha1", "signature.weak_algorithm"),
        ("wrong-audience", "audience.mismatch"),
        ("skewed-clock", "time.not_yet_valid"),
        ("unsigned", "signature.missing"),
        ("wrong-key", "signature.invalid"),
        ("expired", "time.expired"),
        ("wrong-destination", "destination.mismatch"),
        ("wrong-recipient", "recipient.mismatch"),
    ] {
        let (file, cert) = mint(dir.path(), profile, &[]);
        let (code, verdict) = verify(&file, &cert, &["--allow-unsolicited"]);
        assert_eq!(
            (code, verdict["reason"].as_str()),
            (1, Some(reason)),
            "{profile}: {verdict}"
        );
        assert_eq!(verdict["accepted"], false);
        assert!(
            !verdict["message"].as_str().unwrap_or_default().is_empty(),
            "{profile}: a message explains it"
        );
    }
}

#[test]
fn knobs_on_the_command_line_change_the_response_and_base64_output_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (file, cert) = mint(
        dir.path(),
        "valid",
        &[
            "--knob",
            "audience_override=https://elsewhere.example/",
            "--base64",
        ],
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.trim_start().starts_with('<'), "base64, not XML");
    let (code, verdict) = verify(&file, &cert, &["--allow-unsolicited"]);
    assert_eq!(
        (code, verdict["reason"].as_str()),
        (1, Some("audience.mismatch"))
    );
}

#[test]
fn unsolicited_response_needs_allow_unsolicited() {
    let dir = tempfile::tempdir().unwrap();
    let (file, cert) = mint(dir.path(), "valid", &[]);
    let (code, verdict) = verify(&file, &cert, &[]);
    assert_eq!(
        (code, verdict["reason"].as_str()),
        (1, Some("request.unsolicited"))
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    let missing = samlconf(&[
        "verify",
        "--idp-cert",
        "/nonexistent.crt",
        "--sp-entity-id",
        SP,
        "--acs-url",
        ACS,
        "/nonexistent.xml",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent.crt"));
    let bad_flag = samlconf(&["verify", "--no-such-flag"]);
    assert_eq!(bad_flag.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let unknown_knob = samlconf(&[
        "mint",
        "--profile",
        "valid",
        "--knob",
        "no_such_knob=1",
        "--sp-entity-id",
        SP,
        "--acs-url",
        ACS,
        "--state-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(unknown_knob.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown_knob.stderr).contains("no_such_knob"));
}

#[test]
fn run_says_plainly_that_the_browser_driver_is_not_there_yet() {
    let output = samlconf(&["run", "--driver", "browser"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not there yet"));
}

#[test]
fn a_real_okta_response_is_accepted_by_the_verify_command() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/sp/tests/fixtures/real");
    let output = samlconf(&[
        "verify",
        "--idp-cert",
        &format!("{fixtures}/okta2016.crt"),
        "--sp-entity-id",
        "http://saml-test.apphb.com/",
        "--acs-url",
        "http://localhost:63268/auth/callback",
        "--idp-entity-id",
        "http://www.okta.com/exk6jz4u9aSppsFut0h7",
        "--now",
        "2016-08-20T20:32:00Z",
        "--in-response-to",
        "_3d27795e-250c-42f3-915b-915549c630b6",
        &format!("{fixtures}/okta2016_response.xml"),
    ]);
    let verdict: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{verdict}");
    assert_eq!(verdict["accepted"], true);
    assert_eq!(verdict["signature"]["signed_element"], "both", "{verdict}");
}
