//! SPs nobody here wrote, under the mock IdP: each `tests/targets/<name>/` holds a small app on a
//! well-known SAML library from another ecosystem and its target file. For each, this test starts
//! the mock IdP and the app (on free ports, rewriting the target file's), signs in SP-initiated
//! as the HTTP driver does, checks `/whoami`, then checks that a response for another audience
//! leaves nobody signed in and that the target's `[error_map]` names the app's refusal. Then it
//! runs `samlconf run --target` over both apps and checks the matrix's verdicts of cases known
//! for these libraries.
//!
//! The apps need Debian packages (`.ci/install-deps python3-onelogin-saml2 python3-pysaml2`, as
//! `.ci/run` does): a missing package fails the test with the command that installs it.
//!
//! `cargo test --test third_party_sps -- --ignored --nocapture` also runs the probe: every
//! single-sign-in scenario of sections 2 and 7 against every target, printed as a table (what
//! the target files' `known_failures` were written from).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mock_idp::server::{Idp, IdpConfig, KnownSp};
use mock_idp::users::User;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// The targets this test starts, with the Debian packages their apps need.
const TARGETS: &[(&str, &[&str])] = &[
    (
        "python3-saml",
        &["python3-onelogin-saml2", "python3-xmlsec"],
    ),
    ("pysaml2", &["python3-pysaml2", "xmlsec1"]),
];

/// Debian's interpreter, which sees Debian's python3-* packages (not a pyenv one on PATH).
const PYTHON: &str = "/usr/bin/python3";

fn targets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/targets")
}

/// Fails with the command that installs what is missing: a target that cannot start is a broken
/// test setup, not a skipped case.
fn require_packages(name: &str, packages: &[&str]) {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|pkg| {
            let out = Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", pkg])
                .output();
            !out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "target {name} needs Debian packages {missing:?}: run `.ci/install-deps {}`",
        missing.join(" ")
    );
    assert!(
        Path::new(PYTHON).exists(),
        "target {name} needs {PYTHON} (Debian's python3)"
    );
}

/// A child process killed when dropped, so a failing assertion leaves no app running.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A target file with its addresses rewritten to the ports this run got.
struct Target {
    name: String,
    file: toml::Table,
}

impl Target {
    fn load(name: &str, idp_listen: &str, sp_listen: &str) -> Target {
        let path = targets_dir().join(name).join("target.toml");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let original: toml::Table =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let old_idp = original["idp_listen"]
            .as_str()
            .expect("idp_listen")
            .to_owned();
        let old_sp = url::Url::parse(original["acs_url"].as_str().expect("acs_url"))
            .expect("acs_url is a URL");
        let old_sp = format!(
            "{}:{}",
            old_sp.host_str().unwrap_or_default(),
            old_sp.port().unwrap_or(80)
        );
        let rewritten = text
            .replace(&old_idp, idp_listen)
            .replace(&old_sp, sp_listen);
        Target {
            name: name.to_owned(),
            file: toml::from_str(&rewritten).expect("rewritten target file"),
        }
    }

    fn str(&self, key: &str) -> String {
        self.file[key]
            .as_str()
            .unwrap_or_else(|| panic!("{}: `{key}` is missing", self.name))
            .to_owned()
    }

    fn sub(&self, table: &str, key: &str) -> String {
        self.file[table][key]
            .as_str()
            .unwrap_or_else(|| panic!("{}: `{table}.{key}` is missing", self.name))
            .to_owned()
    }

    /// The reason code the target's `[error_map]` gives a refusal page, if one entry matches.
    fn mapped_code(&self, body: &str) -> Option<String> {
        self.file
            .get("error_map")?
            .as_table()?
            .iter()
            .find_map(|(needle, code)| {
                body.contains(needle.as_str())
                    .then(|| code.as_str().unwrap_or_default().to_owned())
            })
    }
}

/// A running mock IdP and target app.
struct Running {
    target: Target,
    /// The IdP the listener serves; the probe replaces it per case (each scenario's directory).
    idp: Arc<Mutex<Idp>>,
    config: IdpConfig,
    idp_base: String,
    _app: ChildGuard,
}

/// Users the probe's scenarios add to the directory (`[[idp_users]]`), beside the demo users.
fn directory(extra: Vec<User>) -> Vec<User> {
    let mut users = mock_idp::users::demo_users();
    for user in extra {
        if !users.iter().any(|u| u.login == user.login) {
            users.push(user);
        }
    }
    users
}

async fn start(name: &str) -> Running {
    let packages = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .unwrap_or_default();
    require_packages(name, packages);

    let idp_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let idp_listen = idp_listener.local_addr().unwrap().to_string();
    let sp_listen = free_loopback_addr();
    let target = Target::load(name, &idp_listen, &sp_listen);
    let dir = targets_dir().join(name);
    let idp_base = format!("http://{idp_listen}");

    let keys = mock_idp::keys::IdpKeys::fixed_for_tests();
    let config = IdpConfig {
        entity_id: format!("{idp_base}/metadata"),
        base_url: idp_base.clone(),
        service_providers: vec![KnownSp {
            entity_id: target.str("entity_id"),
            acs_urls: vec![target.str("acs_url")],
            slo_url: target
                .file
                .get("slo_url")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            // What the app's metadata publishes: it signs AuthnRequests and logout messages.
            signing_cert_pem: std::fs::read_to_string(dir.join("sp.crt")).ok(),
            encryption_cert_pem: None,
        }],
        users: directory(Vec::new()),
        default_profile: "valid".into(),
        deterministic: false,
        forbid_framing: false,
        want_authn_requests_signed: false,
    };
    config.check().expect("mock IdP configuration");
    let idp = Arc::new(Mutex::new(Idp::new(
        config.clone(),
        keys,
        Arc::new(plumbing::clock::SystemClock),
    )));
    let current = idp.clone();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let idp = current.lock().unwrap().clone();
        async move { mock_idp::server::router(idp).oneshot(request).await }
    });
    tokio::spawn(async move {
        let _ = axum::serve(idp_listener, app).await;
    });

    let app = start_app(name, &target, &idp_base, &sp_listen).await;
    Running {
        target,
        idp,
        config,
        idp_base,
        _app: app,
    }
}

/// `127.0.0.1:PORT` with a port free now, released for the app (or the run's mock IdP) to bind:
/// the window for another process to take it is small, and would show as a failed start.
fn free_loopback_addr() -> String {
    format!("127.0.0.1:{}", plumbing::net::free_loopback_port().unwrap())
}

/// Starts `name`'s app on `sp_listen`, trusting the mock IdP at `idp_base` (the fixed test
/// key), and waits until its whoami answers.
async fn start_app(name: &str, target: &Target, idp_base: &str, sp_listen: &str) -> ChildGuard {
    let idp_cert = Path::new(env!("CARGO_MANIFEST_DIR")).join("mock-idp/testdata/idp.crt");
    let child = Command::new(PYTHON)
        .arg(targets_dir().join(name).join("app.py"))
        .arg("--sp-base")
        .arg(format!("http://{sp_listen}"))
        .arg("--idp-base")
        .arg(idp_base)
        .arg("--idp-cert")
        .arg(&idp_cert)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(if std::env::var_os("TARGET_LOGS").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}'s app with {PYTHON}: {e}"));
    let mut app = ChildGuard(child);
    wait_until_up(name, &mut app, &target.sub("whoami", "url")).await;
    app
}

async fn wait_until_up(name: &str, app: &mut ChildGuard, url: &str) {
    // pysaml2 builds its XML schemas at import: seconds on a busy 2-core machine.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = app.0.try_wait() {
            panic!("{name}'s app exited at start ({status}); rerun with TARGET_LOGS=1 to see why");
        }
        if reqwest::get(url).await.is_ok() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name}'s app did not answer {url} within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How one sign-in attempt ended, judged by `/whoami` afterwards.
#[derive(Debug)]
enum Attempt {
    /// Somebody is signed in: the app's `/whoami` JSON.
    SignedIn(Value),
    /// Nobody is signed in; the ACS answered `status` with `body`.
    Refused { status: u16, body: String },
    /// The mock IdP refused to answer (nothing reached the app).
    IdpRefused { status: u16, body: String },
}

impl Running {
    /// A fresh mock IdP (same address, key and SP) whose directory adds `users`.
    fn reset_idp(&self, users: Vec<User>) {
        let config = IdpConfig {
            users: directory(users),
            ..self.config.clone()
        };
        *self.idp.lock().unwrap() = Idp::new(
            config,
            mock_idp::keys::IdpKeys::fixed_for_tests(),
            Arc::new(plumbing::clock::SystemClock),
        );
    }

    /// Queues knobs for the next response through the control API, as a tester would by hand.
    async fn queue(&self, next: Value) {
        let client = reqwest::Client::new();
        let url = format!("{}/_control/next", self.idp_base);
        client.delete(&url).send().await.unwrap();
        let answer = client.post(&url).json(&next).send().await.unwrap();
        let status = answer.status();
        assert!(
            status.is_success(),
            "control API refused {next}: {}",
            answer.text().await.unwrap_or_default()
        );
    }

    /// SP-initiated sign-in in a fresh browser: the login URL, its redirect to the IdP (with
    /// `login_hint`, as the HTTP driver picks the user), the auto-submit form posted to the
    /// ACS, the ACS's redirects followed, then `/whoami`.
    async fn sign_in(&self, user: &str) -> Attempt {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap();
        let login = browser
            .get(self.target.sub("start", "login_url"))
            .send()
            .await
            .unwrap();
        let location = redirect_target(&login)
            .unwrap_or_else(|| panic!("{}: login did not redirect", self.target.name));
        let mut sso = url::Url::parse(&location).unwrap();
        sso.query_pairs_mut().append_pair("login_hint", user);
        let idp_page = browser.get(sso).send().await.unwrap();
        let status = idp_page.status().as_u16();
        let page = idp_page.text().await.unwrap();
        if status != 200 {
            return Attempt::IdpRefused { status, body: page };
        }
        let form = samlconf::driver::parse_post_form(&page)
            .unwrap_or_else(|| panic!("the IdP's page holds no form: {page}"));
        let mut answer = browser
            .post(&form.action)
            .form(&form.fields)
            .send()
            .await
            .unwrap();
        let (status, mut body) = (answer.status().as_u16(), String::new());
        // Follow the app's own redirects (to its landing page) as a browser would.
        for _ in 0..5 {
            let Some(next) = redirect_target(&answer) else {
                body = answer.text().await.unwrap_or_default();
                break;
            };
            let next = url::Url::parse(&form.action).unwrap().join(&next).unwrap();
            answer = browser.get(next).send().await.unwrap();
        }
        match self.whoami(&browser).await {
            Some(me) => Attempt::SignedIn(me),
            None => Attempt::Refused { status, body },
        }
    }

    /// The signed-in NameID's `/whoami` JSON, or `None` when nobody is (401, or a null pointer).
    async fn whoami(&self, browser: &reqwest::Client) -> Option<Value> {
        let answer = browser
            .get(self.target.sub("whoami", "url"))
            .send()
            .await
            .unwrap();
        if answer.status().as_u16() == 401 {
            return None;
        }
        let me: Value = answer.json().await.ok()?;
        let pointer = self.target.sub("whoami", "json_pointer");
        me.pointer(&pointer).filter(|v| !v.is_null())?;
        Some(me)
    }
}

fn redirect_target(response: &reqwest::Response) -> Option<String> {
    if !response.status().is_redirection() {
        return None;
    }
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Signs Carol in, then shows a response for another audience leaves nobody signed in, and
/// that the target file maps the app's refusal to `audience.mismatch`.
async fn sign_in_and_refuse(name: &str) {
    let running = start(name).await;
    match running.sign_in("carol@example.com").await {
        Attempt::SignedIn(me) => {
            assert_eq!(me["name_id"], "carol@example.com", "{name}: {me}");
            let mail = &me["attributes"]["mail"];
            assert!(
                mail == &json!(["carol@example.com"]) || mail == &json!("carol@example.com"),
                "{name}: the app should read the mail attribute: {me}"
            );
        }
        other => panic!("{name}: a valid response was not accepted: {other:?}"),
    }

    running.queue(json!({ "profile": "wrong-audience" })).await;
    match running.sign_in("carol@example.com").await {
        Attempt::Refused { status, body } => {
            eprintln!("{name} refuses a wrong audience with {status}: {body}");
            assert_eq!(
                running.target.mapped_code(&body).as_deref(),
                Some("audience.mismatch"),
                "{name}: the target file's [error_map] should name this refusal: {body}"
            );
        }
        other => panic!("{name}: a response for another audience was not refused: {other:?}"),
    }
}

#[tokio::test]
async fn python3_saml_signs_in_and_refuses_another_audience() {
    sign_in_and_refuse("python3-saml").await;
}

#[tokio::test]
async fn pysaml2_signs_in_and_refuses_another_audience() {
    sign_in_and_refuse("pysaml2").await;
}

/// `samlconf load --target FILE` against python3-saml: the command starts the mock IdP at the
/// file's idp_listen and signs in SP-initiated, each sign-in judged by the app's whoami.
#[tokio::test]
async fn load_signs_in_at_python3_saml_from_its_target_file() {
    const SIGN_INS: usize = 12;
    let name = "python3-saml";
    require_packages(name, TARGETS[0].1);
    let (idp_listen, sp_listen) = (free_loopback_addr(), free_loopback_addr());
    let target = Target::load(name, &idp_listen, &sp_listen);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("target.toml");
    std::fs::write(&file, toml::to_string(&target.file).unwrap()).unwrap();
    let _app = start_app(name, &target, &format!("http://{idp_listen}"), &sp_listen).await;
    let run = Command::new(env!("CARGO_BIN_EXE_samlconf"))
        .args([
            "load",
            "--sign-ins",
            &SIGN_INS.to_string(),
            "--concurrency",
            "3",
        ])
        .arg("--target")
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let report = format!("{stdout}{}", String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "{report}");
    assert!(stdout.contains("target python3-saml"), "{report}");
    assert!(
        stdout.contains(&format!("accepted     {SIGN_INS} of {SIGN_INS}")),
        "{report}"
    );
    assert!(stdout.contains("errors       none"), "{report}");
}

/// Starts `name`'s app for `samlconf run --target` (which starts the mock IdP itself, on the
/// target's `idp_listen`): free ports, the target file rewritten to them in `dir`.
async fn start_for_run(name: &str, dir: &Path) -> (ChildGuard, PathBuf) {
    let packages = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .unwrap_or_default();
    require_packages(name, packages);
    let (idp_listen, sp_listen) = (free_loopback_addr(), free_loopback_addr());
    let target = Target::load(name, &idp_listen, &sp_listen);
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, toml::to_string(&target.file).unwrap()).unwrap();
    let app = start_app(name, &target, &format!("http://{idp_listen}"), &sp_listen).await;
    (app, file)
}

/// Cases whose verdicts are known for both libraries: (case, python3-saml's, pysaml2's).
/// `known_failure` means the case failed as its target file says it does (an attack accepted,
/// SHA-1 accepted, …): were the library fixed, it would be `now_passing` and fail the run.
const KNOWN_VERDICTS: &[(&str, &str, &str)] = &[
    ("1.1", "pass", "pass"),
    // A captured response replayed from another browser: python3-saml keeps no replay cache.
    ("1.8", "known_failure", "pass"),
    ("2.1", "known_failure", "known_failure"),
    ("2.14", "known_failure", "known_failure"),
    // Encrypted: the apps publish no encryption certificate.
    ("2.28", "not_applicable", "not_applicable"),
    // The reference SP's renewal window.
    ("5.1", "not_applicable", "not_applicable"),
    // An unsigned LogoutRequest ends the session: a `should` case, so a warning.
    ("6.5", "warning", "warning"),
    ("7.25", "known_failure", "pass"),
    ("7.50", "pass", "known_failure"),
    ("7.109", "known_failure", "known_failure"),
];

/// `samlconf run --target A --target B` over both apps: one cases × targets matrix whose
/// verdicts are the ones known for these libraries, and an exit code of 0 (every failure known).
#[tokio::test]
async fn run_target_judges_both_libraries_as_known() {
    let dir = tempfile::tempdir().unwrap();
    let (python3_saml, pysaml2) = tokio::join!(
        start_for_run("python3-saml", dir.path()),
        start_for_run("pysaml2", dir.path())
    );
    let filter: Vec<&str> = KNOWN_VERDICTS.iter().map(|(id, _, _)| *id).collect();
    let json = dir.path().join("matrix.json");
    let mut command = Command::new(env!("CARGO_BIN_EXE_samlconf"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "--target"])
        .arg(&python3_saml.1)
        .arg("--target")
        .arg(&pysaml2.1)
        .args(["--filter", &filter.join(",")])
        .arg("--json")
        .arg(&json);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        report["matrix"]["targets"],
        json!(["python3-saml", "pysaml2"])
    );
    let cases = report["matrix"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), KNOWN_VERDICTS.len(), "{stdout}");
    for (id, python3_saml, pysaml2) in KNOWN_VERDICTS {
        let case = cases
            .iter()
            .find(|c| c["id"] == *id)
            .unwrap_or_else(|| panic!("no case {id} in the matrix"));
        assert_eq!(
            case["verdicts"],
            json!({ "python3-saml": python3_saml, "pysaml2": pysaml2 }),
            "case {id}:\n{stdout}"
        );
    }
    // Known failures are judged by effect: the XPath-transform attack (7.109) signed somebody in.
    for target in report["targets"].as_array().unwrap() {
        let xpath = target["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "7.109")
            .unwrap();
        let reason = xpath["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("got \"signed_in\""),
            "{}: 7.109 should fail by a sign-in: {reason}",
            target["name"]
        );
    }
}

/// One single-sign-in scenario the probe can replay against a target: no SP configuration, no
/// local accounts, no extra IdPs, one `sign_in` step.
struct ProbeCase {
    id: String,
    user: String,
    next: Value,
    /// The scenario's `[[idp_users]]`.
    users: Vec<User>,
    /// `None`: must be refused; `Some(None)`: must sign somebody in; `Some(Some(u))`: as `u`.
    expect_signed_in: Option<Option<String>>,
}

fn probe_cases() -> Vec<ProbeCase> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut cases = Vec::new();
    for section in ["2-assertion-validity", "7-attacks"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(section))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort_by(|a, b| natord::compare(&a.to_string_lossy(), &b.to_string_lossy()));
        for path in paths {
            let file: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let steps = file.get("step").and_then(|s| s.as_array());
            let [step] = steps.map(Vec::as_slice).unwrap_or_default() else {
                continue;
            };
            if ["sp", "accounts", "extra_idp"]
                .iter()
                .any(|k| file.contains_key(*k))
            {
                continue;
            }
            let Some(sign_in) = step.get("sign_in").and_then(|s| s.as_table()) else {
                continue;
            };
            if sign_in
                .keys()
                .any(|k| !["user", "profile", "knobs"].contains(&k.as_str()))
                || sign_in.get("profile").and_then(|p| p.as_str()) == Some("unsolicited")
            {
                continue;
            }
            let expect = &step["expect"];
            let expect_signed_in = match expect["outcome"].as_str() {
                Some("refused") => None,
                Some("signed_in") => Some(
                    expect
                        .get("user")
                        .and_then(|u| u.as_str())
                        .map(str::to_owned),
                ),
                _ => continue,
            };
            let user = sign_in["user"].as_str().unwrap().to_owned();
            let knobs = sign_in
                .get("knobs")
                .map(|k| serde_json::to_value(k).unwrap())
                .unwrap_or(json!({}));
            let mut next = json!({ "knobs": knobs, "user": user });
            if let Some(profile) = sign_in.get("profile") {
                next["profile"] = json!(profile.as_str());
            }
            let users = file
                .get("idp_users")
                .and_then(|u| u.as_array())
                .into_iter()
                .flatten()
                .map(|u| u.clone().try_into().expect("an [[idp_users]] entry"))
                .collect();
            cases.push(ProbeCase {
                id: file["id"].as_str().unwrap().to_owned(),
                user,
                next,
                users,
                expect_signed_in,
            });
        }
    }
    cases
}

/// Replays the single-sign-in scenarios of sections 2 and 7 against each target and prints
/// what each accepted or refused: `ok` as the reference SP would, `DIFF` otherwise.
#[tokio::test]
#[ignore = "a probe that prints a table; run by hand with --ignored --nocapture"]
async fn probe_single_sign_in_scenarios() {
    let cases = probe_cases();
    for (name, _) in TARGETS {
        let running = start(name).await;
        println!("\n## {name}\n");
        for case in &cases {
            running.reset_idp(case.users.clone());
            let client = reqwest::Client::new();
            let url = format!("{}/_control/next", running.idp_base);
            client.delete(&url).send().await.unwrap();
            let queued = client.post(&url).json(&case.next).send().await.unwrap();
            if !queued.status().is_success() {
                println!(
                    "{:>6}  n/a   control API: {}",
                    case.id,
                    queued.text().await.unwrap()
                );
                continue;
            }
            let attempt = running.sign_in(&case.user).await;
            let (mark, what) = match (&case.expect_signed_in, &attempt) {
                (None, Attempt::Refused { status, body }) => {
                    ("ok", format!("refused {status}: {}", first_line(body)))
                }
                (None, Attempt::IdpRefused { status, body }) => (
                    "n/a",
                    format!("the mock IdP refused ({status}): {}", first_line(body)),
                ),
                (None, Attempt::SignedIn(me)) => ("DIFF", format!("ACCEPTED as {}", me["name_id"])),
                (Some(want), Attempt::SignedIn(me)) => {
                    let got = me["name_id"].as_str().unwrap_or_default();
                    match want {
                        Some(want) if want != got => {
                            ("DIFF", format!("signed in as {got}, not {want}"))
                        }
                        _ => ("ok", format!("signed in as {got}")),
                    }
                }
                (Some(_), Attempt::Refused { status, body }) => {
                    ("DIFF", format!("REFUSED {status}: {}", first_line(body)))
                }
                (Some(_), Attempt::IdpRefused { status, body }) => (
                    "n/a",
                    format!("the mock IdP refused ({status}): {}", first_line(body)),
                ),
            };
            println!("{:>6}  {mark:<4}  {what}", case.id);
        }
    }
}

fn first_line(body: &str) -> String {
    body.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(160)
        .collect()
}
