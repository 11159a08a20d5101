//! `samlconf run --target`: the catalogue against an SP the harness does not control. The SP here
//! is our reference SP, started alone on loopback with the system clock and described only by a
//! target file (its metadata URL, its `/login`, its `/me` as the whoami, an error map for its
//! failure page), so that the harness knows it only as any third-party SP: by what its pages and
//! its whoami show. A weakened one (one check turned off, `sp::weakness`) shows must-failures.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use samlconf::runner::Verdict;
use samlconf::runner::targets::{self, TargetRun};
use samlconf::scenario::{self, Scenario};
use samlconf::target::Target;
use sp::weakness::{Weakness, Weaknesses};

/// A free loopback port for the mock IdP (the target is configured with it before it listens).
fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Starts the reference SP alone, trusting the mock IdP at `idp_listen` (its fixed test key).
async fn start_sp(idp_listen: SocketAddr, weaknesses: Weaknesses) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sp_base_url = format!("http://{}", listener.local_addr().unwrap());
    let sp = reference_sp(&sp_base_url, idp_listen, weaknesses).await;
    let app = sp::web::router(sp).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    sp_base_url
}

/// The reference SP at `sp_base_url` with the system clock, trusting the mock IdP at
/// `idp_listen` (its fixed test key).
async fn reference_sp(
    sp_base_url: &str,
    idp_listen: SocketAddr,
    weaknesses: Weaknesses,
) -> sp::web::Sp {
    let endpoints = samlconf::demo::Endpoints {
        idp_base_url: format!("http://{idp_listen}"),
        sp_base_url: sp_base_url.to_owned(),
    };
    let idp_cert = mock_idp::keys::IdpKeys::fixed_for_tests().idp.cert_pem;
    let config = samlconf::demo::sp_config(&endpoints, &idp_cert, ":memory:");
    let store = sp::store::Store::open(":memory:").await.unwrap();
    sp::web::Sp::new_weakened(
        config,
        store,
        Arc::new(plumbing::clock::SystemClock),
        sp::keys::SpKeys::fixed_for_tests(),
        weaknesses,
    )
    .unwrap()
}

/// The target file of an SP started by [`start_sp`].
fn target_file(
    dir: &Path,
    name: &str,
    sp: &str,
    idp: SocketAddr,
    known: &[(&str, &str)],
) -> PathBuf {
    let known: String = known
        .iter()
        .map(|(id, why)| format!("{id:?} = {why:?}\n"))
        .collect();
    let text = format!(
        r#"name = "{name}"
metadata = "{sp}/saml/metadata"
idp_listen = "{idp}"

[start]
login_url = "{sp}/login"

[whoami]
url = "{sp}/me"
json_pointer = "/name_id"
roles_pointer = "/roles"

[known_failures]
{known}
[error_map]
'id="reason-code">audience.mismatch<' = "audience.mismatch"
'id="reason-code">signature.invalid<' = "signature.invalid"
"#
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn catalogue(ids: &[&str]) -> Vec<Scenario> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut scenarios: Vec<Scenario> = scenario::load_dir(&dir)
        .unwrap()
        .into_iter()
        .filter(|s| ids.contains(&s.id.as_str()))
        .collect();
    scenarios.sort_by_key(|s| ids.iter().position(|id| *id == s.id));
    assert_eq!(scenarios.len(), ids.len());
    scenarios
}

fn verdict(run: &TargetRun, id: &str) -> (Verdict, String) {
    let result = run.results.iter().find(|r| r.id == id).unwrap();
    (result.verdict, result.reason.clone().unwrap_or_default())
}

/// Sign-in, replay, signature, audience and attack cases that apply to any SP, and cases that
/// need control of the SP (linking, renewal, configuration, admin actions, the clock).
const SUBSET: &[&str] = &[
    "1.1", "1.3", "1.9", "2.1", "2.9", "2.13", "2.19", "7.1", "6.3", "4.1", "5.2", "3.1", "2.56",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_sp_as_a_target_passes_what_applies_and_says_why_the_rest_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let idp = free_port();
    let sp = start_sp(idp, Weaknesses::none()).await;
    let target = Target::load(&target_file(dir.path(), "reference", &sp, idp, &[]))
        .await
        .unwrap();
    // Filled in from the metadata.
    assert_eq!(target.acs_url, format!("{sp}/saml/acs"));
    assert!(target.slo_url.is_some() && target.signing_cert_pem.is_some());
    let run = targets::run_target(&catalogue(SUBSET), &target, |_| {}).await;
    let table: Vec<String> = run
        .results
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r.id,
                r.verdict.as_str(),
                r.reason.as_deref().unwrap_or_default()
            )
        })
        .collect();
    let table = table.join("\n");
    for id in [
        "1.1", "1.3", "1.9", "2.1", "2.9", "2.13", "2.19", "7.1", "6.3",
    ] {
        assert_eq!(verdict(&run, id).0, Verdict::Pass, "{id}:\n{table}");
    }
    for (id, why) in [
        ("4.1", "configures the SP"),
        ("3.1", "configures the SP"),
        ("5.2", "passive renewal"),
        ("2.56", "moving the SP's clock"),
    ] {
        let (verdict, reason) = verdict(&run, id);
        assert_eq!(verdict, Verdict::NotApplicable, "{id}:\n{table}");
        assert!(reason.contains(why), "{id}: {reason}");
    }
    let totals = samlconf::report::Totals::of(&run.results);
    assert_eq!(
        (totals.passed, totals.failed, totals.errors),
        (9, 0, 0),
        "{table}"
    );
    assert_eq!(totals.not_applicable, 4, "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_without_the_audience_check_shows_must_failures_and_known_ones_apart() {
    let dir = tempfile::tempdir().unwrap();
    let idp = free_port();
    let sp = start_sp(idp, Weaknesses::of([Weakness::Audience])).await;
    let ids = ["1.1", "2.13", "2.14"];
    let file = target_file(
        dir.path(),
        "weak",
        &sp,
        idp,
        &[("2.14", "audience not checked")],
    );
    let target = Target::load(&file).await.unwrap();
    let run = targets::run_target(&catalogue(&ids), &target, |_| {}).await;
    assert_eq!(verdict(&run, "1.1").0, Verdict::Pass);
    let (must, reason) = verdict(&run, "2.13");
    assert_eq!(must, Verdict::Fail, "{reason}");
    assert!(
        reason.contains("expected \"refused\", got \"signed_in\""),
        "{reason}"
    );
    assert!(targets::fails_the_run(must));
    let (known, reason) = verdict(&run, "2.14");
    assert_eq!(known, Verdict::KnownFailure, "{reason}");
    assert!(!targets::fails_the_run(known));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_targets_give_one_matrix_and_a_known_failure_that_passes_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let (idp_a, idp_b) = (free_port(), free_port());
    let sp_a = start_sp(idp_a, Weaknesses::none()).await;
    let sp_b = start_sp(idp_b, Weaknesses::of([Weakness::Audience])).await;
    let a = target_file(
        dir.path(),
        "strict",
        &sp_a,
        idp_a,
        &[("2.13", "thought broken")],
    );
    let b = target_file(dir.path(), "lax", &sp_b, idp_b, &[]);
    let json = dir.path().join("matrix.json");
    let html = dir.path().join("matrix.html");
    let args: Vec<String> = [
        "run",
        "--filter",
        "1.1,2.13,4.1",
        "--target",
        a.to_str().unwrap(),
        "--target",
        b.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_samlconf"))
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("== strict") && stdout.contains("== lax"),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        report["matrix"]["targets"],
        serde_json::json!(["strict", "lax"])
    );
    let case = |id: &str| {
        report["matrix"]["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(
        case("1.1")["verdicts"],
        serde_json::json!({"strict": "pass", "lax": "pass"})
    );
    assert_eq!(
        case("2.13")["verdicts"],
        serde_json::json!({"strict": "now_passing", "lax": "fail"})
    );
    assert_eq!(case("2.13")["grade"], "must");
    assert_eq!(
        case("4.1")["verdicts"],
        serde_json::json!({"strict": "not_applicable", "lax": "not_applicable"})
    );
    assert_eq!(report["targets"][0]["totals"]["now_passing"], 1);
    assert_eq!(report["targets"][1]["totals"]["failed"], 1);
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(
        html.contains("Cases × targets") && html.contains("now_passing"),
        "{html}"
    );
}

/// Starts the reference SP alone over HTTPS, its certificate issued by the run's CA (whose PEM is
/// returned too), trusting the mock IdP at `idp_listen`.
async fn start_https_sp(idp_listen: SocketAddr) -> (String, String) {
    use axum::serve::ListenerExt as _;
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = tcp.local_addr().unwrap();
    let sp_base_url = format!("https://localhost:{}", local.port());
    let sp = reference_sp(&sp_base_url, idp_listen, Weaknesses::none()).await;
    let ca = samlconf::tls::run_ca().unwrap();
    let acceptor = samlconf::tls::acceptor(&ca).unwrap();
    let listener = samlconf::tls::TlsListener::new(tcp, local, acceptor);
    let app = sp::web::router(sp).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener.tap_io(|_| {}), app).await.unwrap() });
    (sp_base_url, ca.ca_cert_pem.clone())
}

/// An HTTPS target: its metadata, login, ACS and whoami reached over TLS, trusting only the
/// target file's `tls.ca_file`; without it the target's certificate is not trusted (the system's
/// roots do not know the run's CA), and the file cannot even be loaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_target_is_reached_through_its_ca_file_and_only_so() {
    let dir = tempfile::tempdir().unwrap();
    let idp = free_port();
    let (sp, ca_pem) = start_https_sp(idp).await;
    let untrusted = target_file(dir.path(), "untrusted", &sp, idp, &[]);
    let refused = Target::load(&untrusted)
        .await
        .expect_err("an untrusted certificate");
    assert!(
        refused.contains("metadata") && refused.contains("certificate verify failed"),
        "{refused}"
    );

    std::fs::write(dir.path().join("ca.pem"), ca_pem).unwrap();
    let trusted = target_file(dir.path(), "https", &sp, idp, &[]);
    let text = std::fs::read_to_string(&trusted).unwrap();
    let text = text.replacen("[start]", "[tls]\nca_file = \"ca.pem\"\n\n[start]", 1);
    std::fs::write(&trusted, text).unwrap();
    let target = Target::load(&trusted).await.unwrap();
    assert_eq!(target.acs_url, format!("{sp}/saml/acs"));
    let run = targets::run_target(&catalogue(&["1.1", "2.13"]), &target, |_| {}).await;
    for id in ["1.1", "2.13"] {
        let (verdict, reason) = verdict(&run, id);
        assert_eq!(verdict, Verdict::Pass, "{id}: {reason}");
    }
}
