//! `samlconf run` as a user and a CI run it: the built binary on a fixture directory with one
//! passing and one deliberately failing scenario, its exit code, summary and reports; and the
//! loader's errors on malformed files.

use std::path::Path;
use std::process::{Command, Output};

const FIXTURES: &str = "tests/fixtures/scenarios";

fn samlconf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_samlconf"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run samlconf")
}

/// Run times (`0.03s`, `time="0.031"`, the rate before "scenarios/s") change from run to run.
const TIME_FILTERS: [(&str, &str); 3] = [
    (r#"time="[0-9.]+""#, r#"time="[t]""#),
    (r"\b[0-9]+\.[0-9]+s\b", "[t]s"),
    (r"\([0-9]+\.[0-9]+ scenarios/s\)", "([t] scenarios/s)"),
];

#[test]
fn a_failing_scenario_gives_exit_1_a_summary_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    let html = dir.path().join("report.html");
    let output = samlconf(&[
        "run",
        &format!("{FIXTURES}/run"),
        "--jobs",
        "2",
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let junit = std::fs::read_to_string(&junit).unwrap();
    insta::with_settings!({ filters => TIME_FILTERS.to_vec() }, {
        insta::assert_snapshot!("summary", stdout);
        insta::assert_snapshot!("junit", junit);
    });

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["driver"], "http");
    assert_eq!(report["totals"]["passed"], 1);
    assert_eq!(report["totals"]["failed"], 1);
    let failing = &report["scenarios"][1];
    assert_eq!(failing["verdict"], "fail");
    let step = &failing["steps"][0];
    assert_eq!(step["expected"]["outcome"], "refused");
    assert_eq!(step["actual"]["outcome"], "signed_in");
    assert_eq!(
        failing["steps"][1]["status"], "skipped",
        "steps after a failure are not run"
    );
    // The AuthnRequest the browser carried to the IdP, then the IdP's answer.
    let request = &step["messages"][0];
    assert_eq!(request["parameter"], "SAMLRequest");
    assert_eq!(request["binding"], "HTTP-Redirect");
    assert!(
        request["xml"].as_str().unwrap().contains("AuthnRequest"),
        "{request}"
    );
    let response = &step["messages"][1];
    assert_eq!(response["parameter"], "SAMLResponse");
    assert!(
        response["xml"]
            .as_str()
            .unwrap()
            .contains("\n  <saml:Issuer"),
        "decoded and pretty-printed: {response}"
    );
    assert!(!failing["audit"].as_array().unwrap().is_empty());

    let html = std::fs::read_to_string(&html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script>"), "scenario text is escaped");
    // askama writes the numeric character references.
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; co."));
    assert!(
        html.contains("&#60;samlp:Response"),
        "the SAML message is shown, escaped"
    );
    assert!(
        html.contains("sign_in.accepted"),
        "the audit events are shown"
    );
    assert!(html.contains("What differed"));
    assert!(
        html.contains("Driver: http. Virtual clocks start at 2026-06-01T12:00:00Z."),
        "the run's driver and start"
    );
}

#[test]
fn a_passing_run_exits_0() {
    let output = samlconf(&["run", &format!("{FIXTURES}/run"), "--filter", "1.1"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let by_tag = samlconf(&["run", &format!("{FIXTURES}/run"), "--tag", "no-such-tag"]);
    assert_eq!(
        by_tag.status.code(),
        Some(2),
        "nothing selected is a usage error"
    );
}

#[test]
fn malformed_files_are_refused_naming_file_line_and_field() {
    let output = samlconf(&["run", &format!("{FIXTURES}/malformed")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let typo = Path::new(FIXTURES).join("malformed/1.1-typo.toml");
    assert!(
        stderr.contains(&format!("{}:9:13:", typo.display())),
        "file and line: {stderr}"
    );
    assert!(stderr.contains("unknown field `usr`"), "{stderr}");
    assert!(stderr.contains("`user`"), "what was expected: {stderr}");
    assert!(
        stderr.contains("1.2-unknown-code.toml:8:")
            && stderr.contains("unknown reason code \"audience.wrong\""),
        "the consistency check names the code: {stderr}"
    );
    assert!(stderr.contains("nothing was run"), "{stderr}");
}

#[test]
fn the_browser_driver_says_what_to_install_when_chromium_is_missing() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_samlconf"))
        .args(["run", "--driver", "browser", "--filter", "1.1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(".ci/install-deps chromium chromium-driver")
            && stderr.contains("apt-get install chromium chromium-driver"),
        "{stderr}"
    );
}

#[test]
fn load_errors_in_process_name_the_missing_field() {
    let text = "id = \"1.1\"\ntitle = \"t\"\nsection = \"1 x\"\ndescription = \"d\"\nexpectation = \"e\"\nsource = \"s\"\n\n[[step]]\nsign_in = { via = \"idp\" }\n";
    let errors =
        samlconf::scenario::parse(Path::new("scenarios/1-x/1.1-t.toml"), text).unwrap_err();
    let message = errors[0].to_string();
    assert!(
        message.starts_with("scenarios/1-x/1.1-t.toml:9:"),
        "{message}"
    );
    assert!(message.contains("missing field `user`"), "{message}");
}

#[test]
fn extra_idps_are_checked_at_load_time() {
    let head = "id = \"7.1\"\ntitle = \"t\"\nsection = \"7 x\"\ndescription = \"d\"\nexpectation = \"e\"\nsource = \"s\"\n";
    let errors = |body: &str| -> String {
        let text = format!("{head}{body}");
        match samlconf::scenario::parse(Path::new("scenarios/7-x/7.1-t.toml"), &text) {
            Ok(_) => String::new(),
            Err(errors) => errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        }
    };
    let fine = "[[extra_idp]]\nname = \"partner\"\n[[extra_idp.users]]\nlogin = \"pat\"\nemail = \"pat@partner.example\"\nfirst_name = \"P\"\nlast_name = \"P\"\n[[step]]\nsign_in = { user = \"pat\", idp = \"partner\" }\n";
    assert_eq!(errors(fine), "");
    for (body, expected) in [
        (
            "[[step]]\nsign_in = { user = \"bob\", idp = \"nobody\" }\n",
            "names no [[extra_idp]]",
        ),
        (
            "[[extra_idp]]\nname = \"partner\"\n[[step]]\nsign_in = { user = \"pat\", idp = \"partner\" }\n",
            "not in the directory of IdP \"partner\"",
        ),
        (
            "[[extra_idp]]\nname = \"partner\"\n[[extra_idp]]\nname = \"partner\"\n[[step]]\ncheck = {}\n",
            "two [[extra_idp]] are named",
        ),
        (
            "[[extra_idp]]\nname = \"partner\"\n[extra_idp.sp]\ncertificate_pem = \"x\"\n[[step]]\ncheck = {}\n",
            "set by the harness",
        ),
        (
            "[[extra_idp]]\nname = \"partner\"\n[extra_idp.sp]\ndefault_role = \"admin\"\n[[step]]\ncheck = {}\n",
            "default_role",
        ),
        (
            "[[extra_idp]]\nname = \"partner\"\n[extra_idp.sp]\nallowed_domain = [\"x\"]\n[[step]]\ncheck = {}\n",
            "allowed_domain",
        ),
        (
            "[[extra_idp]]\nname = \"a\"\nentity_id = \"urn:same\"\n[[extra_idp]]\nname = \"b\"\nentity_id = \"urn:same\"\n[[step]]\ncheck = {}\n",
            "configured twice",
        ),
    ] {
        let message = errors(body);
        assert!(message.contains(expected), "{body}\n→ {message}");
        assert!(
            message.starts_with("scenarios/7-x/7.1-t.toml:"),
            "{message}"
        );
    }
}

#[test]
fn post_from_must_name_another_browser() {
    let head = "id = \"7.1\"\ntitle = \"t\"\nsection = \"7 x\"\ndescription = \"d\"\nexpectation = \"e\"\nsource = \"s\"\n\n[[step]]\n";
    let path = Path::new("scenarios/7-x/7.1-t.toml");
    let own = format!(
        "{head}sign_in = {{ user = \"bob@example.com\", browser = \"attacker\", post_from = \"attacker\" }}\n"
    );
    let message = samlconf::scenario::parse(path, &own).unwrap_err()[0].to_string();
    assert!(
        message.contains("`post_from = \"attacker\"` names the step's own browser"),
        "{message}"
    );
    let default_browser =
        format!("{head}sign_in = {{ user = \"bob@example.com\", post_from = \"main\" }}\n");
    assert!(samlconf::scenario::parse(path, &default_browser).is_err());
    let other = format!(
        "{head}sign_in = {{ user = \"bob@example.com\", browser = \"attacker\", post_from = \"victim\" }}\n"
    );
    samlconf::scenario::parse(path, &other).expect("another browser posts");
}

#[test]
fn the_old_step_key_driver_still_names_the_browser_with_one_warning_per_file() {
    let head = "id = \"1.1\"\ntitle = \"t\"\nsection = \"1 x\"\ndescription = \"d\"\nexpectation = \"e\"\nsource = \"s\"\n";
    let path = Path::new("scenarios/1-x/1.1-t.toml");
    let old = format!(
        "{head}\n[[step]]\nsign_in = {{ user = \"bob@example.com\", driver = \"two\" }}\n\n[[step]]\ncheck = {{ driver = \"two\" }}\n"
    );
    let scenario = samlconf::scenario::parse(path, &old).expect("the old name is accepted");
    let browsers: Vec<_> = scenario.steps.iter().map(|s| s.action.browser()).collect();
    assert_eq!(browsers, [Some("two"), Some("two")]);
    assert_eq!(scenario.warnings.len(), 1, "{:?}", scenario.warnings);
    assert!(
        scenario.warnings[0].starts_with("scenarios/1-x/1.1-t.toml:8: `driver = \"NAME\"`")
            && scenario.warnings[0].contains("`browser = \"NAME\"` (2 step(s)"),
        "{}",
        scenario.warnings[0]
    );

    let new = old.replace("driver", "browser");
    let scenario = samlconf::scenario::parse(path, &new).expect("the new name");
    assert_eq!(scenario.steps[1].action.browser(), Some("two"));
    assert!(scenario.warnings.is_empty(), "{:?}", scenario.warnings);

    let both = format!("{head}\n[[step]]\ncheck = {{ driver = \"two\", browser = \"two\" }}\n");
    assert!(
        samlconf::scenario::parse(path, &both).is_err(),
        "one name at a time"
    );

    // The CLI prints the warning once for the file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("1.1-t.toml");
    std::fs::write(&file, &old).unwrap();
    let output = samlconf(&["run", "--check", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.matches("is now `browser").count(), 1, "{stderr}");
}

/// CI splits a long suite with `--shard K/N` and joins the reports with `report merge`: the merged
/// reports hold each scenario of the unsharded run exactly once, with the same verdicts.
#[test]
fn sharded_runs_merge_into_the_reports_of_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let section = "scenarios/1-sign-in";
    let mut shard_reports = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let n = &shard[..1];
        let (json, junit) = (path(&format!("s{n}.json")), path(&format!("s{n}.xml")));
        let output = samlconf(&[
            "run", section, "--shard", shard, "--jobs", "2", "--json", &json, "--junit", &junit,
        ]);
        assert!(output.status.success(), "shard {shard}: {output:?}");
        shard_reports.extend([json, junit]);
    }
    let (merged_json, merged_junit) = (path("merged.json"), path("merged.xml"));
    let mut merge_args = vec![
        "report",
        "merge",
        "--json",
        &merged_json,
        "--junit",
        &merged_junit,
    ];
    merge_args.extend(shard_reports.iter().map(String::as_str));
    let output = samlconf(&merge_args);
    assert!(output.status.success(), "{output:?}");

    let whole = path("whole.json");
    assert!(
        samlconf(&["run", section, "--json", &whole])
            .status
            .success()
    );
    let read = |file: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
    };
    let verdicts = |report: &serde_json::Value| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["id"].as_str().unwrap().into(),
                    s["verdict"].as_str().unwrap().into(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let (merged, whole) = (read(&merged_json), read(&whole));
    assert!(verdicts(&whole).len() > 10);
    assert_eq!(verdicts(&merged), verdicts(&whole));
    assert_eq!(merged["totals"], whole["totals"]);
    let junit = std::fs::read_to_string(&merged_junit).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), verdicts(&whole).len());

    // Merging a shard twice is refused, not counted twice.
    let twice = samlconf(&[
        "report",
        "merge",
        "--json",
        &path("bad.json"),
        &shard_reports[0],
        &shard_reports[0],
    ]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("more than one report"));
}
