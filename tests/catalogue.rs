//! The scenario catalogue (`scenarios/`) runs in CI through `cargo test --workspace`: it loads
//! and checks every file, runs every scenario in-process against fresh pairs, and requires every
//! one to pass. It also checks the catalogue's coverage: every mock-IdP profile is exercised.

use std::collections::BTreeSet;
use std::path::Path;

use samlconf::runner::{self, Verdict};
use samlconf::scenario::{self, Action, DriverName};

fn catalogue() -> Vec<samlconf::scenario::Scenario> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    scenario::load_dir(&dir).unwrap_or_else(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("the catalogue does not load:\n{}", lines.join("\n"))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_catalogue_scenario_passes() {
    let scenarios = catalogue();
    assert!(scenarios.len() >= 60, "{} scenarios", scenarios.len());
    // Only a browser can judge some steps (`drivers = ["browser"]`): those scenarios must be
    // reported skipped, with the reason, and no other may be.
    let browser_only: Vec<String> = scenarios
        .iter()
        .filter(|s| {
            let only = |d: &Option<Vec<DriverName>>| {
                d.as_ref().is_some_and(|d| !d.contains(&DriverName::Http))
            };
            only(&s.drivers) || s.steps.iter().any(|step| only(&step.drivers))
        })
        .map(|s| s.id.clone())
        .collect();
    assert!(browser_only.contains(&"5.10".to_owned()));
    let results = runner::run_all(scenarios, 4, |_| {}).await;
    let failures: Vec<String> = results
        .iter()
        .filter(|r| {
            let skipped_for_the_browser = r.verdict == Verdict::Skipped
                && browser_only.contains(&r.id)
                && r.reason
                    .as_deref()
                    .is_some_and(|why| why.contains("only the browser driver"));
            r.verdict != Verdict::Pass && !skipped_for_the_browser
        })
        .map(|r| {
            format!(
                "{} {} [{}]: {}",
                r.id,
                r.title,
                r.verdict.as_str(),
                r.reason.as_deref().unwrap_or_default()
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} scenarios did not pass:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
}

#[test]
fn every_mock_idp_profile_is_exercised() {
    let mut used = BTreeSet::new();
    for scenario in catalogue() {
        for step in &scenario.steps {
            let profile = match &step.action {
                Action::SignIn(a) => a.profile.as_deref(),
                Action::AcceptInvitation(a) => a.profile.as_deref(),
                Action::Renew(a) => a.profile.as_deref(),
                _ => continue,
            };
            used.insert(profile.unwrap_or("valid").to_owned());
        }
    }
    let missing: Vec<&str> = mock_idp::profiles::ALL
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !used.contains(*name))
        .collect();
    assert!(missing.is_empty(), "profiles no scenario uses: {missing:?}");
}

#[test]
fn every_section_has_scenarios_and_every_scenario_names_its_source() {
    let scenarios = catalogue();
    for section in ["1", "2", "3", "4", "5", "6", "7"] {
        assert!(
            scenarios
                .iter()
                .any(|s| s.id.split('.').next() == Some(section)),
            "section {section} is empty"
        );
    }
    for s in &scenarios {
        assert!(s.source.len() > 10, "{} needs a real source", s.id);
    }
}

/// The codes `sp/docs/reason-codes.md` documents (the first column of its tables), and those its
/// section "Codes no scenario reaches" lists (one bullet each).
fn documented_codes() -> (BTreeSet<String>, BTreeSet<String>) {
    let doc = include_str!("../sp/docs/reason-codes.md");
    let code_in = |cell: &str| {
        let code = cell.trim().trim_matches('`');
        (code.contains('.') && !code.contains(' ')).then(|| code.to_owned())
    };
    let mut documented = BTreeSet::new();
    let mut unreached = BTreeSet::new();
    let mut in_unreached = false;
    for line in doc.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            in_unreached = heading.trim() == "Codes no scenario reaches";
        } else if let Some(row) = line.trim().strip_prefix('|') {
            documented.extend(row.split('|').next().and_then(code_in));
        } else if let Some(item) = line.strip_prefix("- ").filter(|_| in_unreached) {
            unreached.extend(item.split_whitespace().next().and_then(code_in));
        }
    }
    (documented, unreached)
}

#[test]
fn every_reason_code_is_reached_by_a_scenario_or_listed_as_unreached() {
    let mut expected = BTreeSet::new();
    for scenario in catalogue() {
        for step in &scenario.steps {
            expected.extend(step.expect.code.clone());
            expected.extend(step.expect.audit.iter().filter_map(|a| a.code.clone()));
        }
    }
    let (documented, unreached) = documented_codes();
    assert!(
        documented.len() >= 50,
        "{} codes documented",
        documented.len()
    );
    let missing: Vec<&String> = documented
        .iter()
        .filter(|code| !expected.contains(*code) && !unreached.contains(*code))
        .collect();
    assert!(
        missing.is_empty(),
        "codes no scenario expects and reason-codes.md does not list under \"Codes no scenario \
         reaches\": {missing:?}"
    );
    let stale: Vec<&String> = unreached.intersection(&expected).collect();
    assert!(
        stale.is_empty(),
        "reason-codes.md lists these codes as reached by no scenario, but a scenario expects \
         them; take them off the list: {stale:?}"
    );
    let unknown: Vec<&String> = unreached.difference(&documented).collect();
    assert!(unknown.is_empty(), "listed but not documented: {unknown:?}");
}
