//! `samlconf certify` as an integrator runs it, on material nobody here wrote: the real IdP
//! captures of `sp/tests/fixtures/real/` (with metadata built around their certificates, since
//! none was published with them: `tests/fixtures/certify/mint.sh`), and responses minted by the
//! `xmlsec1` command from hand-written templates (same script). Each expectation below was
//! checked by reading the fixture.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const REAL: &str = "sp/tests/fixtures/real";
const CERTIFY: &str = "tests/fixtures/certify";
/// "Today" for the real captures: every one of them is long expired.
const TODAY: &str = "2026-12-01T00:00:00Z";
/// Thirty seconds after the xmlsec1-minted responses were issued.
const MINTED_SIGN_IN: &str = "2026-12-01T16:00:30Z";

fn path(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// Runs `samlconf certify … --format json`: the exit code and the checklist.
fn certify(args: &[&str]) -> (i32, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_samlconf"))
        .arg("certify")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("run samlconf");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), json)
}

fn item<'a>(checklist: &'a Value, id: &str) -> &'a Value {
    checklist["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["items"].as_array().into_iter().flatten())
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no item {id} in {checklist:#}"))
}

fn status<'a>(checklist: &'a Value, id: &str) -> &'a str {
    item(checklist, id)["status"].as_str().unwrap_or_default()
}

fn reason<'a>(checklist: &'a Value, id: &str) -> &'a str {
    item(checklist, id)["reason"].as_str().unwrap_or_default()
}

/// Asserts each `(id, status)` and returns the checklist for further checks.
fn expect(checklist: &Value, expected: &[(&str, &str)]) {
    for (id, want) in expected {
        assert_eq!(
            status(checklist, id),
            *want,
            "{id}: {}",
            serde_json::to_string_pretty(item(checklist, id)).unwrap_or_default()
        );
    }
}

/// A real capture at `now`, with its bare metadata and, for encrypted ones, the SP key.
fn real(name: &str, response: &str, key: Option<&str>, now: &str) -> (i32, Value) {
    let metadata = path(&format!("{CERTIFY}/real/{name}_metadata.xml"));
    let response = path(&format!("{REAL}/{response}"));
    let mut args = vec![
        "--idp-metadata",
        &metadata,
        "--response",
        &response,
        "--now",
        now,
    ];
    let key = key.map(|k| path(&format!("{REAL}/{k}")));
    if let Some(key) = &key {
        args.extend(["--sp-key", key]);
    }
    certify(&args)
}

/// A real capture: name, response file, SP key, expected `(item, status)`.
type RealCase = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static [(&'static str, &'static str)],
);

#[test]
fn real_captures_certified_today_fail_on_their_expired_windows_and_certificates() {
    // (name, response, SP key, expected items). Every capture verifies with its own certificate
    // (the real IdPs' signatures are sound) but is years past its NotOnOrAfter today.
    let cases: &[RealCase] = &[
        (
            "adfs2022",
            "adfs2022_response.xml",
            None,
            &[
                ("metadata.certificate.0.validity", "fail"), // expired 2024-09-12
                ("metadata.certificate.0.key", "pass"),
                ("response.signature_algorithm", "pass"),
                ("response.signed_parts", "pass"), // the Assertion
                ("response.name_id_format", "warn"), // AD FS sent no NameID
                ("response.attribute.email", "pass"), // the emailaddress claim
                ("response.attribute.groups", "warn"), // sent as role claims
            ],
        ),
        (
            "google2021",
            "google2021_response.xml",
            None,
            &[
                ("metadata.certificate.0.validity", "fail"), // expired 2025-05-20
                ("response.signed_parts", "warn"),           // Google signs the Response only
                ("response.name_id_format", "pass"),         // persistent
                ("response.attribute.email", "fail"),        // no attributes at all
            ],
        ),
        (
            "okta2016",
            "okta2016_response.xml",
            None,
            &[
                ("metadata.certificate.0.validity", "fail"), // expired 2026-06-16
                ("metadata.certificate.0.signature_algorithm", "warn"), // sha1WithRSAEncryption
                ("response.signed_parts", "pass"),           // both
                ("response.attribute.email", "pass"),        // from the emailAddress NameID
                ("response.attribute.first_name", "warn"),   // firstName: a case near miss
            ],
        ),
        (
            "okta2020",
            "okta2020_encrypted_response.xml",
            Some("crewjam2013_sp.key"),
            &[
                ("metadata.certificate.0.validity", "pass"), // until 2028
                ("response.encryption", "warn"),             // AES-256-CBC
                ("response.signed_parts", "warn"),
            ],
        ),
        (
            "onelogin2016",
            "onelogin2016_response.xml",
            None,
            &[
                ("metadata.certificate.0.validity", "fail"), // expired 2018
                ("response.signature_algorithm", "warn"),    // RSA-SHA1
                ("response.digest_algorithm", "warn"),       // SHA-1
                ("response.signed_parts", "warn"),
                ("response.attribute.first_name", "warn"), // User.FirstName
            ],
        ),
        (
            "secureworks2017",
            "secureworks2017_response.xml",
            None,
            &[
                ("metadata.certificate.0.validity", "fail"), // expired 2018
                ("response.signature_algorithm", "warn"),
                ("response.signed_parts", "pass"),
            ],
        ),
        (
            "simplesamlphp2014",
            "simplesamlphp2014_encrypted_response.xml",
            Some("simplesamlphp2014_sp.key"),
            &[
                ("metadata.certificate.0.validity", "pass"), // until 2042
                ("metadata.certificate.0.key", "fail"),      // RSA-1024
                ("response.signature_algorithm", "warn"),
                ("response.encryption", "warn"), // AES-128-CBC
            ],
        ),
        (
            "testshib2015",
            "testshib2015_encrypted_response.xml",
            Some("crewjam2013_sp.key"),
            &[
                ("metadata.certificate.0.validity", "fail"), // expired 2016
                ("response.name_id_format", "warn"),         // transient
                ("response.attribute.first_name", "warn"),   // urn:oid:2.5.4.42
            ],
        ),
    ];
    for (name, response, key, expected) in cases {
        let (code, checklist) = real(name, response, *key, TODAY);
        assert_eq!(code, 1, "{name}: a fail exits 1");
        assert_eq!(checklist["verdict"], "fail", "{name}");
        expect(
            &checklist,
            &[
                ("metadata.parse", "pass"),
                ("metadata.signed", "warn"),
                // Built around a bare certificate: no endpoints, and the checklist says so.
                ("metadata.single_sign_on", "fail"),
                ("response.verified", "pass"),
                ("response.issuer", "pass"),
                ("response.audience", "warn"), // no --sp-config: taken from the response
                ("response.validity_window", "fail"),
            ],
        );
        expect(&checklist, expected);
        assert!(
            reason(&checklist, "response.validity_window").contains("(--now)"),
            "{name}: the capture time's source is named"
        );
    }
}

#[test]
fn a_capture_judged_at_its_sign_in_time_is_inside_its_window_and_skew() {
    let (_, checklist) = real(
        "okta2016",
        "okta2016_response.xml",
        None,
        "2016-08-20T20:32:00Z",
    );
    expect(
        &checklist,
        &[
            ("metadata.certificate.0.validity", "pass"),
            ("response.validity_window", "pass"),
            ("response.clock_skew", "pass"),
        ],
    );
}

#[test]
fn an_encrypted_capture_without_the_sp_key_is_not_judged_beyond_its_envelope() {
    let (code, checklist) = real(
        "testshib2015",
        "testshib2015_encrypted_response.xml",
        None,
        TODAY,
    );
    assert_eq!(code, 1);
    assert!(reason(&checklist, "response.verified").contains("decryption.failed"));
    expect(
        &checklist,
        &[
            ("response.signature", "warn"),
            ("response.validity_window", "warn"),
            ("response.claims", "warn"),
        ],
    );
}

#[test]
fn the_wrong_idp_metadata_fails_signature_and_issuer() {
    let (code, checklist) = certify(&[
        "--idp-metadata",
        &path(&format!("{CERTIFY}/real/okta2016_metadata.xml")),
        "--response",
        &path(&format!("{REAL}/onelogin2016_response.xml")),
        "--now",
        TODAY,
    ]);
    assert_eq!(code, 1);
    assert!(reason(&checklist, "response.verified").contains("signature.invalid"));
    expect(
        &checklist,
        &[("response.issuer", "fail"), ("response.claims", "warn")],
    );
}

fn minted(response: &str, metadata: &str, sp_config: bool, now: &str) -> (i32, Value) {
    let metadata = path(&format!("{CERTIFY}/{metadata}"));
    let response = path(&format!("{CERTIFY}/{response}"));
    let config = path(&format!("{CERTIFY}/sp.toml"));
    let mut args = vec![
        "--idp-metadata",
        &metadata,
        "--response",
        &response,
        "--now",
        now,
    ];
    if sp_config {
        args.extend(["--sp-config", &config]);
    }
    certify(&args)
}

#[test]
fn an_entra_style_response_with_group_object_ids_maps_them_and_warns() {
    let (code, checklist) = minted(
        "entra_sha256_response.xml",
        "entra_metadata.xml",
        true,
        MINTED_SIGN_IN,
    );
    assert_eq!(code, 0, "warnings only: {checklist:#}");
    assert_eq!(checklist["verdict"], "warn");
    assert_eq!(checklist["counts"]["fail"], 0);
    expect(
        &checklist,
        &[
            ("metadata.single_sign_on", "pass"),
            ("metadata.single_logout", "pass"),
            ("metadata.certificate.0.validity", "pass"),
            ("response.verified", "pass"),
            ("response.signed_parts", "pass"),
            ("response.audience", "pass"),
            ("response.destination", "pass"),
            ("response.recipient", "pass"),
            ("response.validity_window", "pass"),
            ("response.clock_skew", "pass"),
            ("response.name_id_format", "pass"),
            ("response.session_length", "pass"),
            ("response.attribute.email", "pass"),
            ("response.attribute.first_name", "pass"),
            ("response.attribute.groups", "pass"),
            ("response.groups.object_ids", "warn"),
            ("response.groups.overage", "pass"),
            ("response.roles", "pass"),
            ("response.identity", "pass"),
        ],
    );
    assert!(reason(&checklist, "response.roles").starts_with("editor"));
    let advice = item(&checklist, "response.groups.object_ids")["fix"]
        .as_str()
        .unwrap_or_default();
    assert!(
        advice.contains("[[role_mapping]]") && advice.contains("name"),
        "{advice}"
    );

    // Without the SP configuration the addressing is taken from the response, and said so.
    let (code, checklist) = minted(
        "entra_sha256_response.xml",
        "entra_metadata.xml",
        false,
        MINTED_SIGN_IN,
    );
    assert_eq!(code, 0);
    expect(
        &checklist,
        &[("response.audience", "warn"), ("response.roles", "warn")],
    );
    assert!(reason(&checklist, "response.audience").contains("taken from the response"));
}

#[test]
fn the_clock_skew_is_judged_against_the_capture_time() {
    // Captured five minutes before the IdP says it issued the response.
    let (code, checklist) = minted(
        "entra_sha256_response.xml",
        "entra_metadata.xml",
        true,
        "2026-12-01T15:55:00Z",
    );
    assert_eq!(code, 1);
    expect(
        &checklist,
        &[
            ("response.clock_skew", "fail"),
            ("response.validity_window", "pass"), // NotBefore is 15:55:00
        ],
    );
    assert!(reason(&checklist, "response.clock_skew").contains("ahead"));
}

#[test]
fn an_sp_configuration_for_another_sp_fails_the_addressing() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.toml");
    std::fs::write(&other, "[sp]\nbase_url = \"https://other.example.org\"\n").unwrap();
    let (code, checklist) = certify(&[
        "--idp-metadata",
        &path(&format!("{CERTIFY}/entra_metadata.xml")),
        "--response",
        &path(&format!("{CERTIFY}/entra_sha256_response.xml")),
        "--sp-config",
        other.to_str().unwrap(),
        "--now",
        MINTED_SIGN_IN,
    ]);
    assert_eq!(code, 1);
    expect(
        &checklist,
        &[
            ("response.verified", "fail"),
            ("response.audience", "fail"),
            ("response.destination", "fail"),
            ("response.recipient", "fail"),
        ],
    );
    let fix = item(&checklist, "response.audience")["fix"]
        .as_str()
        .unwrap_or_default();
    assert!(
        fix.contains("https://other.example.org/saml/metadata"),
        "{fix}"
    );
}

#[test]
fn a_legacy_sha1_response_in_base64_warns_without_configuration_and_fails_with_it() {
    // legacy_sha1_response.b64: base64 with line breaks, as a tracer shows it.
    let (_, checklist) = minted(
        "legacy_sha1_response.b64",
        "entra_metadata.xml",
        false,
        MINTED_SIGN_IN,
    );
    assert!(reason(&checklist, "response.decode").starts_with("base64"));
    expect(
        &checklist,
        &[
            ("response.verified", "pass"),
            ("response.signature_algorithm", "warn"),
            ("response.digest_algorithm", "warn"),
            ("response.signed_parts", "warn"),
            ("response.name_id_format", "warn"), // transient
            ("response.groups.overage", "warn"), // groups.link
        ],
    );
    let fix = item(&checklist, "response.signature_algorithm")["fix"]
        .as_str()
        .unwrap_or_default();
    assert!(fix.contains("RSA-SHA256"), "{fix}");
    // The configured SP refuses SHA-1 and a Response-only signature: those are fails.
    let (code, checklist) = minted(
        "legacy_sha1_response.b64",
        "entra_metadata.xml",
        true,
        MINTED_SIGN_IN,
    );
    assert_eq!(code, 1);
    expect(
        &checklist,
        &[
            ("response.signature_algorithm", "fail"),
            ("response.signed_parts", "fail"),
            ("response.roles", "warn"), // the groups are unknown
        ],
    );
    assert!(reason(&checklist, "response.roles").contains("group overage"));
}

#[test]
fn an_ecdsa_idp_is_told_the_reference_sp_verifies_rsa_only() {
    // ecdsa_response.form: a URL-encoded `SAMLResponse=…&RelayState=…` form body.
    let (code, checklist) = minted(
        "ecdsa_response.form",
        "ec_metadata.xml",
        false,
        MINTED_SIGN_IN,
    );
    assert_eq!(code, 1);
    assert!(reason(&checklist, "response.decode").starts_with("URL-encoded base64"));
    assert!(reason(&checklist, "metadata.certificate.0.key").contains("prime256v1"));
    assert!(reason(&checklist, "response.verified").contains("signature.unsupported_algorithm"));
    expect(
        &checklist,
        &[
            ("metadata.certificate.0.key", "warn"),
            ("response.signature_algorithm", "fail"),
        ],
    );
}

#[test]
fn metadata_with_a_rollover_signed_requests_and_post_only_sso_is_judged_item_by_item() {
    let dir = tempfile::tempdir().unwrap();
    let pem = |file: &str| std::fs::read_to_string(path(file)).unwrap();
    let b64 = |pem: &str| {
        pem.lines()
            .filter(|l| !l.contains("CERTIFICATE"))
            .collect::<String>()
    };
    let entra = pem(&format!("{CERTIFY}/entra.crt"));
    let weak = pem(&format!("{REAL}/simplesamlphp2014.crt"));
    let expires = sp::certificate::inspect(&entra).unwrap().not_after;
    let key = |cert: &str, usage: &str| {
        format!(
            r#"<md:KeyDescriptor{usage}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
            b64(cert)
        )
    };
    let xml = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="idp &lt;script&gt;" validUntil="2020-01-01T00:00:00Z">
<md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
{}{}{}
<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example/sso"/>
</md:IDPSSODescriptor></md:EntityDescriptor>"#,
        key(&entra, ""),
        key(&weak, r#" use="signing""#),
        key(&weak, r#" use="encryption""#),
    );
    let file = dir.path().join("metadata.xml");
    std::fs::write(&file, xml).unwrap();
    // Ten days before the Entra-like certificate expires.
    let now = (expires - time::Duration::days(10))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (code, checklist) = certify(&["--idp-metadata", file.to_str().unwrap(), "--now", &now]);
    assert_eq!(code, 1);
    assert!(reason(&checklist, "metadata.signing_keys").contains("2 signing certificates"));
    assert!(reason(&checklist, "metadata.encryption_keys").starts_with("1 "));
    expect(
        &checklist,
        &[
            ("metadata.entity_id", "warn"), // not an absolute URI
            ("metadata.valid_until", "fail"),
            ("metadata.signing_keys", "pass"),
            ("metadata.certificate.0.validity", "warn"), // 10 days left
            ("metadata.certificate.0.key", "pass"),
            ("metadata.certificate.1.key", "fail"), // RSA-1024
            ("metadata.single_sign_on", "fail"),    // HTTP-POST only
            ("metadata.single_logout", "warn"),
            ("metadata.want_authn_requests_signed", "warn"),
            ("metadata.name_id_formats", "warn"), // transient only
        ],
    );
    assert!(
        checklist["sections"].as_array().unwrap().len() == 1,
        "no response section without --response"
    );

    // The other renderings: text aligned without colour off a TTY, HTML escaped.
    let run = |format: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_samlconf"))
            .args(["certify", "--idp-metadata", file.to_str().unwrap()])
            .args(["--now", &now, "--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run("text");
    assert!(!text.contains('\x1b'), "no colour when not a terminal");
    assert!(text.contains("  FAIL  Metadata validUntil "), "{text}");
    assert!(text.contains("fix: Download current metadata"), "{text}");
    assert!(text.trim_end().ends_with("fail"), "{text}");
    let html = run("html");
    assert!(
        (html.contains("idp &lt;script&gt;") || html.contains("idp &#60;script&#62;"))
            && !html.contains("<script>"),
        "{html}"
    );
    assert!(html.contains(r#"<tr id="metadata.valid_until"><td class="fail">fail</td>"#));
}

#[test]
fn unreadable_input_is_a_usage_error_and_out_writes_the_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_samlconf"))
        .args(["certify", "--idp-metadata", "/nonexistent/metadata.xml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("checklist.json");
    let out = Command::new(env!("CARGO_BIN_EXE_samlconf"))
        .args(["certify", "--idp-metadata"])
        .arg(path(&format!("{CERTIFY}/entra_metadata.xml")))
        .args(["--now", MINTED_SIGN_IN, "--format", "json", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["verdict"], "warn"); // unsigned metadata
    assert_eq!(json["context"]["sp_config"], false);
}

/// Live mode end to end: the mock IdP plays the integrator's real IdP (the SP knows only its
/// metadata URL), a browser signs in over loopback HTTP, and `/certify/last` shows the checklist
/// of the response the SP just received — accepted, then refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_mode_shows_the_checklist_of_the_last_response_received() {
    use samlconf::certify::live;
    let dir = tempfile::tempdir().unwrap();
    let idp_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sp_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let idp_base = format!("http://{}", idp_listener.local_addr().unwrap());
    let sp_base = format!("http://{}", sp_listener.local_addr().unwrap());

    // "The real IdP": it knows the SP as an integrator would register it.
    let idp = mock_idp::server::Idp::new(
        mock_idp::server::IdpConfig {
            entity_id: format!("{idp_base}/metadata"),
            base_url: idp_base.clone(),
            service_providers: vec![mock_idp::server::KnownSp {
                entity_id: format!("{sp_base}/saml/metadata"),
                acs_urls: vec![format!("{sp_base}/saml/acs")],
                slo_url: None,
                signing_cert_pem: None,
                encryption_cert_pem: None,
            }],
            users: mock_idp::users::demo_users(),
            default_profile: "entra-guid-groups".into(),
            deterministic: false,
            forbid_framing: false,
            want_authn_requests_signed: false,
        },
        mock_idp::keys::IdpKeys::fixed_for_tests(),
        std::sync::Arc::new(plumbing::clock::SystemClock),
    );
    let app = mock_idp::server::router(idp.clone());
    tokio::spawn(async move { axum::serve(idp_listener, app).await });

    // The integrator's SP configuration: its [idp] is replaced by the metadata's.
    let config = sp::config::SpConfig::from_toml(&format!(
        r#"
[sp]
base_url = "{sp_base}"
database = "{}"
[idp]
entity_id = "replaced"
sso_url = "https://replaced.example"
certificate_pem = "replaced"
[[role_mapping]]
group = "9d8e7f6a-5b4c-4d3e-8f2a-1b0c9d8e7f6a"
role = "editor"
"#,
        dir.path().join("sp.sqlite").display()
    ))
    .unwrap();
    let metadata_url = format!("{idp_base}/metadata");
    let metadata_xml = samlconf::certify::input::read_metadata(&metadata_url)
        .await
        .unwrap();
    let running = live::start(
        live::LiveOptions {
            metadata_xml,
            metadata_source: metadata_url.clone(),
            sp_config: Some(config),
            state_dir: dir.path().to_owned(),
            database: None,
        },
        sp_listener,
    )
    .await
    .unwrap();
    assert_eq!(running.sp_base_url, sp_base);
    assert_eq!(running.sp.config().idp.sso_url, format!("{idp_base}/sso"));

    let http = reqwest::Client::new();
    let last = |format: &'static str| {
        let http = http.clone();
        let url = format!("{sp_base}/certify/last{format}");
        async move { http.get(url).send().await.unwrap() }
    };
    assert_eq!(last("").await.status(), 404, "nothing received yet");
    let home = http.get(format!("{sp_base}/")).send().await.unwrap();
    assert!(home.text().await.unwrap().contains(r#"id="certify-last""#));

    let browser = samlconf::driver::HttpDriver::new(&sp_base).unwrap();
    let outcome = browser.sign_in("carol", None).await.unwrap();
    assert_eq!(outcome.roles(), vec!["editor".to_owned()], "{outcome:?}");

    let checklist: Value = last("?format=json").await.json().await.unwrap();
    assert_eq!(checklist["context"]["metadata"], metadata_url.as_str());
    assert_eq!(
        checklist["context"]["captured_at_source"],
        "received by the SP"
    );
    assert_eq!(checklist["context"]["sp_config"], true);
    expect(
        &checklist,
        &[
            ("metadata.single_sign_on", "pass"),
            ("response.verified", "pass"),
            ("response.audience", "pass"),
            ("response.destination", "pass"),
            ("response.clock_skew", "pass"),
            ("response.validity_window", "pass"),
            ("response.groups.object_ids", "pass"), // carol's one GUID is mapped
            ("response.roles", "pass"),
            ("response.identity", "pass"),
        ],
    );
    assert!(reason(&checklist, "response.roles").starts_with("editor"));
    let html = last("").await.text().await.unwrap();
    assert!(html.contains("Captured SAMLResponse") && html.contains("response.groups.object_ids"));

    // `certify` reads the same metadata from its URL.
    let url = metadata_url.clone();
    let (code, by_url) = tokio::task::spawn_blocking(move || certify(&["--idp-metadata", &url]))
        .await
        .unwrap();
    assert_eq!(code, 0, "{by_url:#}");
    assert_eq!(by_url["context"]["metadata"], metadata_url.as_str());
    assert_eq!(status(&by_url, "metadata.single_sign_on"), "pass");

    // A refused sign-in is the case an integrator most needs the checklist for.
    idp.set_next(mock_idp::server::NextResponses {
        profile: Some("sha1".into()),
        ..Default::default()
    })
    .unwrap();
    let refused = samlconf::driver::HttpDriver::new(&sp_base).unwrap();
    let outcome = refused.sign_in("bob", None).await.unwrap();
    assert_eq!(
        outcome.code(),
        Some("signature.weak_algorithm"),
        "{outcome:?}"
    );
    let checklist: Value = last("?format=json").await.json().await.unwrap();
    expect(
        &checklist,
        &[
            ("response.verified", "pass"), // the checklist judges SHA-1 as an item of its own
            ("response.signature_algorithm", "fail"), // this SP refuses SHA-1
        ],
    );
}

#[test]
fn the_capture_time_defaults_to_the_files_modification_time() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("response.xml");
    std::fs::copy(path(&format!("{CERTIFY}/entra_sha256_response.xml")), &copy).unwrap();
    let sign_in = time::macros::datetime!(2026-12-01 16:00:10 UTC);
    std::fs::File::options()
        .write(true)
        .open(&copy)
        .unwrap()
        .set_modified(sign_in.into())
        .unwrap();
    let (_, checklist) = certify(&[
        "--idp-metadata",
        &path(&format!("{CERTIFY}/entra_metadata.xml")),
        "--response",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(checklist["context"]["captured_at_source"], "file mtime");
    assert_eq!(checklist["context"]["captured_at"], "2026-12-01T16:00:10Z");
    assert_eq!(status(&checklist, "response.clock_skew"), "pass");
    assert!(reason(&checklist, "response.clock_skew").contains("(file mtime)"));
}

/// The JSON form, whole, for one fixture (reviewed: every field is documented in the README).
#[test]
fn json_checklist_snapshot() {
    let output = Command::new(env!("CARGO_BIN_EXE_samlconf"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["certify", "--format", "json", "--now", MINTED_SIGN_IN])
        .args([
            "--idp-metadata",
            "tests/fixtures/certify/entra_metadata.xml",
        ])
        .args([
            "--response",
            "tests/fixtures/certify/entra_sha256_response.xml",
        ])
        .args(["--sp-config", "tests/fixtures/certify/sp.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    insta::assert_json_snapshot!("certify_entra_sha256", json);
}

/// pysaml2 (Python) as the IdP: its own metadata (signed) and response (both signed). By default
/// it names attributes by OID, which the reference SP's defaults do not look for: certify says
/// which OID to add, and with those names configured the same response signs the user in.
#[test]
fn a_pysaml2_idp_is_told_its_oid_attribute_names_and_passes_once_they_are_configured() {
    const PYSAML2_SIGN_IN: &str = "2026-12-01T15:28:30Z"; // 16 s after its IssueInstant
    let metadata = path(&format!("{CERTIFY}/pysaml2_metadata.xml"));
    let response = path(&format!("{CERTIFY}/pysaml2_response.b64"));
    let run = |config: &str| {
        certify(&[
            "--idp-metadata",
            &metadata,
            "--response",
            &response,
            "--sp-config",
            config,
            "--now",
            PYSAML2_SIGN_IN,
        ])
    };
    let (code, checklist) = run(&path(&format!("{CERTIFY}/sp.toml")));
    assert_eq!(code, 1);
    expect(
        &checklist,
        &[
            ("metadata.signed", "pass"),
            ("metadata.single_sign_on", "pass"),
            ("metadata.single_logout", "pass"),
            ("response.verified", "pass"),
            ("response.signed_parts", "pass"), // Response and Assertion
            ("response.clock_skew", "pass"),
            ("response.attribute.email", "fail"),
            ("response.attribute.first_name", "warn"),
            ("response.attribute.groups", "pass"), // memberOf
            ("response.identity", "fail"),
        ],
    );
    let fix = item(&checklist, "response.attribute.email")["fix"]
        .as_str()
        .unwrap_or_default();
    assert!(
        fix.contains("\"urn:oid:0.9.2342.19200300.100.1.3\""),
        "{fix}"
    );
    assert!(reason(&checklist, "response.identity").contains("attribute.email_missing"));

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sp.toml");
    std::fs::write(
        &config,
        r#"
[sp]
base_url = "https://app.example.com"
[attributes]
email = ["urn:oid:0.9.2342.19200300.100.1.3"]
first_name = ["urn:oid:2.5.4.42"]
last_name = ["urn:oid:2.5.4.4"]
[[role_mapping]]
group = "admins"
role = "admin"
"#,
    )
    .unwrap();
    let (code, checklist) = run(config.to_str().unwrap());
    assert_eq!(code, 0, "{checklist:#}");
    assert_eq!(checklist["verdict"], "pass");
    assert!(reason(&checklist, "response.roles").starts_with("admin"));
    assert!(reason(&checklist, "response.identity").contains("erin@example.org"));
}

/// The `serve --idp-metadata` command itself: it prints where to register and sign in, and serves
/// the SP with its checklist page (nothing received yet).
#[test]
fn serve_with_idp_metadata_runs_the_sp_alone_with_its_checklist_page() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_samlconf"))
        .args(["serve", "--sp-port", "0", "--idp-metadata"])
        .arg(path(&format!("{CERTIFY}/entra_metadata.xml")))
        .arg("--state-dir")
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut printed = Vec::new();
    let mut checklist_url = None;
    let mut lines = std::io::BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push(line.clone());
        if let Some(url) = line
            .split_whitespace()
            .find(|w| w.ends_with("/certify/last"))
        {
            checklist_url = Some(url.to_owned());
            break;
        }
    }
    // Keep reading what it prints next: a closed pipe would make its next line fail and end it.
    std::thread::spawn(move || lines.for_each(drop));
    let checklist_url = checklist_url.unwrap_or_else(|| panic!("{printed:?}"));
    let printed = printed.join("\n");
    assert!(
        printed.contains("sts.windows.net") && printed.contains("/saml/acs"),
        "{printed}"
    );
    let home = checklist_url.replace("/certify/last", "/");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fetched = runtime.block_on(async {
        let status = reqwest::get(&checklist_url).await?.status().as_u16();
        let page = reqwest::get(&home).await?.text().await?;
        Ok::<_, reqwest::Error>((status, page))
    });
    let _ = child.kill();
    let _ = child.wait();
    let (status, page) = fetched.unwrap();
    assert_eq!(status, 404);
    assert!(page.contains(r#"href="/certify/last""#), "{page}");
}

#[test]
fn an_error_status_is_reported_as_itself_and_nothing_else_is_judged() {
    let dir = tempfile::tempdir().unwrap();
    let failed = dir.path().join("failed.xml");
    // What an IdP answers when authentication failed: a signed nothing.
    std::fs::write(
        &failed,
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_f1" Version="2.0" IssueInstant="2026-12-01T16:00:00Z" Destination="https://app.example.com/saml/acs"><saml:Issuer>https://sts.windows.net/0d5f2b36-1c55-4b9e-9a8a-7f3e2c1d0b4a/</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></samlp:StatusCode></samlp:Status></samlp:Response>"#,
    )
    .unwrap();
    let (code, checklist) = certify(&[
        "--idp-metadata",
        &path(&format!("{CERTIFY}/entra_metadata.xml")),
        "--response",
        failed.to_str().unwrap(),
        "--now",
        MINTED_SIGN_IN,
    ]);
    assert_eq!(code, 1);
    assert!(reason(&checklist, "response.verified").contains("status.not_success"));
    let ids: Vec<&str> = checklist["sections"][1]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "response.decode",
            "response.verified",
            "response.issuer",
            "response.assertion",
            "response.clock_skew"
        ]
    );
}
