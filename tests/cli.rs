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
fn hostile_input_cannot_write_to_stderr_through_libxml2() {
    // Void canonicalisation (scenario 7.110): libxml2's canonicaliser reports the relative
    // namespace URI on stderr unless the verifier silences it; the reason code says it all.
    let dir = tempfile::tempdir().unwrap();
    let (file, cert) = mint(
        dir.path(),
        "valid",
        &["--knob", "tampering=relative-namespace-uri"],
    );
    let output = samlconf(&[
        "verify",
        "--idp-cert",
        &cert,
        "--sp-entity-id",
        SP,
        "--acs-url",
        ACS,
        "--idp-entity-id",
        IDP,
        "--now",
        VERIFIED_AT,
        "--allow-unsolicited",
        &file,
    ]);
    let verdict: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(verdict["reason"].as_str(), Some("signature.invalid"));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
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

// ---------------------------------------------------------------------------------------------
// Encryption and the policy options (issue 5)

const SP_ENC_CERT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sp/testdata/sp-enc.crt");
const SP_ENC_KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sp/testdata/sp-enc.key");

/// Mints `profile` encrypted to the SP's test encryption certificate.
fn mint_encrypted(dir: &Path, profile: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec!["--sp-enc-cert", SP_ENC_CERT];
    args.extend_from_slice(extra);
    mint(dir, profile, &args)
}

#[track_caller]
fn assert_verdict(verdict: (i32, Value), expected: Option<&str>) -> Value {
    let (code, v) = verdict;
    match expected {
        None => assert_eq!((code, &v["accepted"]), (0, &Value::Bool(true)), "{v}"),
        Some(reason) => assert_eq!((code, v["reason"].as_str()), (1, Some(reason)), "{v}"),
    }
    v
}

/// The issue's "Done means": a real IdP's encrypted, SHA-1-signed response (SimpleSAMLphp, see
/// sp/tests/fixtures/real/README.md) is accepted with `--sp-key KEY --allow-sha1` and refused
/// with the right code without either.
#[test]
fn a_real_encrypted_sha1_response_is_accepted_with_sp_key_and_allow_sha1_only() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/sp/tests/fixtures/real");
    let cert = format!("{fixtures}/simplesamlphp2014.crt");
    let key = format!("{fixtures}/simplesamlphp2014_sp.key");
    let file = format!("{fixtures}/simplesamlphp2014_encrypted_response.xml");
    let run_exact = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            "--idp-cert",
            &cert,
            "--sp-entity-id",
            "http://pytoolkit.com:8000/metadata/",
            "--acs-url",
            "http://pytoolkit.com:8000/?acs",
            "--idp-entity-id",
            "https://idp.example.com/simplesaml/saml2/idp/metadata.php",
            "--now",
            "2014-09-24T00:50:00Z",
            "--in-response-to",
            "ONELOGIN_fd78d8a622d0010771932870724f3843816d398a",
        ];
        args.extend_from_slice(extra);
        args.push(&file);
        let output = samlconf(&args);
        let verdict: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!("no JSON ({e}): {}", String::from_utf8_lossy(&output.stderr))
        });
        (output.status.code().unwrap_or(-1), verdict)
    };
    // A 2014 SimpleSAMLphp: AES-128-CBC data encryption and a 1024-bit signing key.
    let legacy = ["--allow-cbc", "--min-rsa-bits", "1024"];
    let run = |extra: &[&str]| run_exact(&[&legacy[..], extra].concat());
    let v = assert_verdict(
        run_exact(&["--sp-key", &key, "--allow-sha1", "--min-rsa-bits", "1024"]),
        Some("decryption.failed"),
    );
    assert!(v["message"].as_str().unwrap().contains("allow_cbc"), "{v}");
    let v = assert_verdict(
        run_exact(&["--sp-key", &key, "--allow-sha1", "--allow-cbc"]),
        Some("signature.weak_key"),
    );
    assert!(v["message"].as_str().unwrap().contains("1024-bit"), "{v}");
    let v = assert_verdict(run(&["--sp-key", &key, "--allow-sha1"]), None);
    assert_eq!(v["subject"], "25ddd7d34a7d79db69167625cda56a320adf2876");
    assert_eq!(v["encrypted"]["assertion"], true);
    assert_eq!(v["signed_element"], "both");
    assert_eq!(
        v["signature_algorithm"],
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    );
    assert_eq!(
        v["digest_algorithm"],
        "http://www.w3.org/2000/09/xmldsig#sha1"
    );
    assert_eq!(v["audiences"][0], "http://pytoolkit.com:8000/metadata/");
    assert_eq!(v["not_on_or_after"], "2024-03-27T06:09:49Z");
    assert!(
        v["attribute_names"]
            .as_array()
            .unwrap()
            .contains(&Value::from("mail"))
    );

    let v = assert_verdict(run(&["--allow-sha1"]), Some("decryption.failed"));
    assert_eq!(
        v["encrypted"]["assertion"], true,
        "facts on refusal too: {v}"
    );
    let v = assert_verdict(run(&["--sp-key", &key]), Some("signature.weak_algorithm"));
    assert_eq!(
        v["signature_algorithm"],
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    );
    assert_verdict(
        run(&["--sp-key", SP_ENC_KEY, "--allow-sha1"]),
        Some("decryption.failed"),
    );
}

#[test]
fn sp_key_decrypts_what_the_mock_idp_encrypts_and_failures_are_uniform() {
    let dir = tempfile::tempdir().unwrap();
    let u = "--allow-unsolicited";
    let (file, cert) = mint_encrypted(dir.path(), "encrypted", &[]);
    assert_verdict(verify(&file, &cert, &[u]), Some("decryption.failed"));
    let v = assert_verdict(verify(&file, &cert, &[u, "--sp-key", SP_ENC_KEY]), None);
    assert_eq!(v["encrypted"]["assertion"], true);
    assert_eq!(v["signed_element"], "assertion");
    for (profile, reason) in [
        ("encrypted-wrong-key", "decryption.failed"),
        ("encrypted-corrupt", "decryption.failed"),
        ("encrypted-unsigned", "signature.missing"),
        ("encrypted-attacker-signed", "signature.invalid"),
    ] {
        let (file, cert) = mint_encrypted(dir.path(), profile, &[]);
        assert_verdict(
            verify(&file, &cert, &[u, "--sp-key", SP_ENC_KEY]),
            Some(reason),
        );
    }
}

#[test]
fn each_policy_flag_changes_the_verdict_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let u = "--allow-unsolicited";
    let key = ["--sp-key", SP_ENC_KEY];

    // --allow-sha1
    let (file, cert) = mint(dir.path(), "sha1", &[]);
    assert_verdict(verify(&file, &cert, &[u]), Some("signature.weak_algorithm"));
    assert_verdict(verify(&file, &cert, &[u, "--allow-sha1"]), None);

    // --accept-response-signature
    let (file, cert) = mint(dir.path(), "valid", &["--knob", "sign=response"]);
    assert_verdict(verify(&file, &cert, &[u]), Some("signature.missing"));
    let v = assert_verdict(
        verify(&file, &cert, &[u, "--accept-response-signature"]),
        None,
    );
    assert_eq!(v["signature"]["signed_element"], "response");

    // --require-encrypted
    let (file, cert) = mint(dir.path(), "valid", &[]);
    let v = assert_verdict(
        verify(&file, &cert, &[u, "--require-encrypted"]),
        Some("encryption.required"),
    );
    assert_eq!(v["encrypted"]["assertion"], false);
    let (file, cert) = mint_encrypted(dir.path(), "encrypted", &[]);
    assert_verdict(
        verify(&file, &cert, &[u, "--require-encrypted", key[0], key[1]]),
        None,
    );

    // --allow-rsa15
    let (file, cert) = mint_encrypted(
        dir.path(),
        "encrypted",
        &["--knob", "key_transport=rsa-1_5"],
    );
    let v = assert_verdict(
        verify(&file, &cert, &[u, key[0], key[1]]),
        Some("decryption.failed"),
    );
    assert!(
        v["message"].as_str().unwrap().contains("allow_rsa15"),
        "{v}"
    );
    assert_verdict(
        verify(&file, &cert, &[u, key[0], key[1], "--allow-rsa15"]),
        None,
    );

    // --skew (overrides the default; the skewed-clock profile is minutes ahead)
    let (file, cert) = mint(dir.path(), "skewed-clock", &[]);
    assert_verdict(verify(&file, &cert, &[u]), Some("time.not_yet_valid"));
    assert_verdict(verify(&file, &cert, &[u, "--skew", "86400"]), None);
}

#[test]
fn a_policy_file_states_the_policy_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let u = "--allow-unsolicited";
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        r#"
[sp]
base_url = "https://ignored.example"   # an SP configuration is a valid policy file
clock_skew_secs = 86400
signature_algorithms = ["rsa-sha256", "rsa-sha1"]
digest_algorithms = ["sha256", "sha1"]
accept_response_signature = true
[idp]
entity_id = "ignored"
"#,
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    let (file, cert) = mint(dir.path(), "sha1", &["--knob", "sign=response"]);
    assert_verdict(verify(&file, &cert, &[u]), Some("signature.missing"));
    assert_verdict(
        verify(&file, &cert, &[u, "--accept-response-signature"]),
        Some("signature.weak_algorithm"),
    );
    let v = assert_verdict(verify(&file, &cert, &[u, "--policy", p]), None);
    assert_eq!(v["policy"]["clock_skew_secs"], 86400);
    let (file, cert) = mint(dir.path(), "skewed-clock", &[]);
    assert_verdict(verify(&file, &cert, &[u, "--policy", p]), None);
    assert_verdict(
        verify(&file, &cert, &[u, "--policy", p, "--skew", "0"]),
        Some("time.not_yet_valid"),
    );

    std::fs::write(&policy, "[sp]\nallow_sha1 = true\n").unwrap();
    let (file, cert) = mint(dir.path(), "valid", &[]);
    let output = samlconf(&[
        "verify",
        "--idp-cert",
        &cert,
        "--sp-entity-id",
        SP,
        "--acs-url",
        ACS,
        "--policy",
        p,
        &file,
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("allow_sha1"));
}

// ---------------------------------------------------------------------------------------------
// More real IdPs (sp/tests/fixtures/real/README.md): the flags a user passes for each.

/// `samlconf verify` on a captured response in sp/tests/fixtures/real with its own SP, ACS, IdP
/// and instant, plus `extra` flags.
fn verify_captured(
    file: &str,
    cert: &str,
    sp_acs_idp: [&str; 3],
    now: &str,
    in_response_to: &str,
    extra: &[&str],
) -> (i32, Value) {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/sp/tests/fixtures/real");
    let (file, cert) = (format!("{fixtures}/{file}"), format!("{fixtures}/{cert}"));
    let [sp, acs, idp] = sp_acs_idp;
    let mut args = vec![
        "verify",
        "--idp-cert",
        &cert,
        "--sp-entity-id",
        sp,
        "--acs-url",
        acs,
        "--idp-entity-id",
        idp,
        "--now",
        now,
        "--in-response-to",
        in_response_to,
    ];
    // `--sp-key=NAME` names a key in the fixtures directory.
    let keys: Vec<String> = extra
        .iter()
        .filter_map(|f| f.strip_prefix("--sp-key="))
        .map(|name| format!("{fixtures}/{name}"))
        .collect();
    for key in &keys {
        args.extend(["--sp-key", key.as_str()]);
    }
    args.extend(extra.iter().filter(|f| !f.starts_with("--sp-key=")));
    args.push(&file);
    let output = samlconf(&args);
    let verdict = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code().unwrap_or(-1), verdict)
}

#[test]
fn a_real_adfs_response_is_accepted_with_the_default_policy() {
    let run = |extra: &[&str]| {
        verify_captured(
            "adfs2022_response.xml",
            "adfs2022.crt",
            [
                "memoio-staging",
                "https://memoio.staging.scireum.com/saml/login",
                "https://sso.hq.scireum.com/adfs/services/trust",
            ],
            "2022-05-12T11:17:30Z",
            "identifier_1652354198578",
            extra,
        )
    };
    let v = assert_verdict(run(&[]), None);
    assert_eq!(v["signed_element"], "assertion", "{v}");
    assert_eq!(v["assertion_id"], "_e1ab2d36-f043-47ea-8a1a-2c2910a5a8e9");
    // The wrong pinned certificate (another real IdP's) is refused.
    let (code, v) = verify_captured(
        "adfs2022_response.xml",
        "google2021.crt",
        [
            "memoio-staging",
            "https://memoio.staging.scireum.com/saml/login",
            "https://sso.hq.scireum.com/adfs/services/trust",
        ],
        "2022-05-12T11:17:30Z",
        "identifier_1652354198578",
        &[],
    );
    assert_verdict((code, v), Some("signature.invalid"));
}

#[test]
fn a_real_google_response_needs_accept_response_signature() {
    let run = |extra: &[&str]| {
        verify_captured(
            "google2021_response.xml",
            "google2021.crt",
            [
                "https://neptune.as207960.net/entity",
                "https://as207960-neptune.eu.ngrok.io/saml2/assertion_consumer",
                "https://accounts.google.com/o/saml2?idpid=C01n8o8t6",
            ],
            "2021-07-29T12:35:00Z",
            "test",
            extra,
        )
    };
    assert_verdict(run(&[]), Some("signature.missing"));
    let v = assert_verdict(run(&["--accept-response-signature"]), None);
    assert_eq!(v["signed_element"], "response", "{v}");
    assert_eq!(v["subject"], "q@as207960.net");
}

#[test]
fn a_real_okta_encrypted_response_needs_sp_key_and_accept_response_signature() {
    let run = |extra: &[&str]| {
        verify_captured(
            "okta2020_encrypted_response.xml",
            "okta2020.crt",
            [
                "http://localhost:8000/saml/metadata",
                "http://localhost:8000/saml/acs",
                "http://www.okta.com/exkppsa1qwuFV4D7z0h7",
            ],
            "2020-03-03T19:24:30Z",
            "id-a7364d1e4432aa9085a7a8bd824ea2fa8fa8f684",
            extra,
        )
    };
    let key = "--sp-key=crewjam2013_sp.key";
    // Okta encrypts with AES-256-CBC: refused unless --allow-cbc.
    let v = assert_verdict(
        run(&[key, "--accept-response-signature"]),
        Some("decryption.failed"),
    );
    assert!(v["message"].as_str().unwrap().contains("aes256-cbc"), "{v}");
    let cbc = "--allow-cbc";
    assert_verdict(
        run(&[cbc, "--accept-response-signature"]),
        Some("decryption.failed"),
    );
    assert_verdict(run(&[cbc, key]), Some("signature.missing"));
    let v = assert_verdict(run(&[cbc, key, "--accept-response-signature"]), None);
    assert_eq!(v["encrypted"]["assertion"], true, "{v}");
    assert_eq!(v["signed_element"], "response", "{v}");
    assert_eq!(v["subject"], "testuser@testrsc.com");
}

#[test]
fn an_expired_pinned_certificate_warns_unless_idp_cert_expiry_refuse() {
    // ADFS's certificate ends 2024-09-12; judge its 2022 response in October 2024, with a skew
    // (2.5 years) that keeps the message's own time checks out of the way.
    let run = |extra: &[&str]| {
        verify_captured(
            "adfs2022_response.xml",
            "adfs2022.crt",
            [
                "memoio-staging",
                "https://memoio.staging.scireum.com/saml/login",
                "https://sso.hq.scireum.com/adfs/services/trust",
            ],
            "2024-10-01T00:00:00Z",
            "identifier_1652354198578",
            &[&["--skew", "80000000"], extra].concat(),
        )
    };
    let v = assert_verdict(run(&[]), None);
    let warning = v["signature"]["certificate_warning"]
        .as_str()
        .unwrap_or_default();
    assert!(warning.contains("expired"), "{v}");
    let v = assert_verdict(
        run(&["--idp-cert-expiry", "refuse"]),
        Some("signature.certificate_expired"),
    );
    assert!(v["message"].as_str().unwrap().contains("notAfter"), "{v}");
    // Inside its validity, `refuse` changes nothing.
    let (code, v) = verify_captured(
        "adfs2022_response.xml",
        "adfs2022.crt",
        [
            "memoio-staging",
            "https://memoio.staging.scireum.com/saml/login",
            "https://sso.hq.scireum.com/adfs/services/trust",
        ],
        "2022-05-12T11:17:30Z",
        "identifier_1652354198578",
        &["--idp-cert-expiry", "refuse"],
    );
    let v = assert_verdict((code, v), None);
    assert!(v["signature"].get("certificate_warning").is_none(), "{v}");
}

#[test]
fn rust_log_works_for_mint_and_logs_stay_off_stdout() {
    let mint_to_stdout = |state: &Path, rust_log: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_samlconf"));
        command.args([
            "mint",
            "--sp-entity-id",
            SP,
            "--acs-url",
            ACS,
            "--state-dir",
            state.to_str().unwrap(),
        ]);
        command.env_remove("RUST_LOG");
        if let Some(filter) = rust_log {
            command.env("RUST_LOG", filter);
        }
        let output = command.output().expect("run samlconf");
        assert!(output.status.success(), "{output:?}");
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let dir = tempfile::tempdir().unwrap();
    // A fresh state directory: the IdP creates its key and says so at `info`.
    let (stdout, stderr) = mint_to_stdout(&dir.path().join("a"), Some("info"));
    assert!(stderr.contains("created a key pair"), "{stderr}");
    assert!(
        stdout.starts_with('<'),
        "only the response on stdout: {stdout}"
    );
    assert!(!stdout.contains("created a key pair"));
    // Quiet by default.
    let (_, stderr) = mint_to_stdout(&dir.path().join("b"), None);
    assert_eq!(stderr, "");
}

#[test]
fn the_readme_synopsis_names_every_option_of_every_command() {
    let readme = include_str!("../README.md");
    let block = readme
        .split("## Command line")
        .nth(1)
        .and_then(|rest| rest.split("```sh\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("README has a synopsis under \"Command line\"");
    for command in [
        "serve", "mint", "verify", "profiles", "run", "certify", "load",
    ] {
        let synopsis = block
            .split("samlconf ")
            .find(|part| part.starts_with(&format!("{command} ")))
            .unwrap_or_else(|| panic!("no `samlconf {command}` in the README synopsis"));
        let help = samlconf(&[command, "--help"]);
        let help = String::from_utf8_lossy(&help.stdout);
        let options: Vec<&str> = help
            .lines()
            .filter_map(|line| line.trim_start().split([' ', ',']).next())
            .filter(|word| word.starts_with("--") && *word != "--help")
            .collect();
        assert!(!options.is_empty(), "{help}");
        for option in options {
            assert!(
                [' ', ']', '\n']
                    .iter()
                    .any(|end| synopsis.contains(&format!("{option}{end}"))),
                "the README synopsis of `{command}` omits {option}"
            );
        }
    }
}

/// `samlconf password-setup` issues a link for a user of the SP's database (for the
/// administrator created under SSO when nobody can sign in to issue one); the token in the link
/// is usable, an unknown user is an error.
#[test]
fn password_setup_prints_a_usable_link_for_a_user_of_the_database() {
    use sp::password_setup::TokenState;
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("sp.sqlite");
    let database = database.to_str().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let user = runtime.block_on(async {
        let store = sp::store::Store::open(database).await.unwrap();
        let now = time::OffsetDateTime::now_utc();
        store
            .create_user(Some("ops"), "ops@example.com", None, None, "jit", now)
            .await
            .unwrap()
    });
    let out = samlconf(&[
        "password-setup",
        "--database",
        database,
        "--user",
        "ops",
        "--base-url",
        "https://sp.example",
    ]);
    assert!(out.status.success(), "{out:?}");
    let link = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let token = link
        .strip_prefix("https://sp.example/password/setup/")
        .unwrap_or_else(|| panic!("{link}"))
        .to_owned();
    let state = runtime.block_on(async {
        let store = sp::store::Store::open(database).await.unwrap();
        store
            .password_setup_state(&token, time::OffsetDateTime::now_utc())
            .await
            .unwrap()
    });
    assert_eq!(state, TokenState::Usable { user_id: user.id });
    let unknown = samlconf(&["password-setup", "--database", database, "--user", "nobody"]);
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user"));
}
