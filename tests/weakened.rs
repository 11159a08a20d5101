//! Proof that the scenario catalogue catches a broken SP: for each test-only weakness of the
//! reference SP (`sp::weakness`, one check turned off), the whole catalogue runs against an SP
//! with that weakness, and at least one scenario must fail — among them the ones named in
//! [`MUST_CATCH`], so that the proof cannot rot silently. The results are printed as a table
//! (`cargo test --test weakened -- --nocapture`); `scenarios/WEAKENED.md` records them.
//!
//! Mutation testing aimed at the catalogue: a scenario that passes against every weakened SP
//! although it expects a refusal tests a check that no weakness turns off (listed at the end of
//! the output and in WEAKENED.md).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use samlconf::runner::{self, ScenarioResult, StepStatus, Verdict};
use samlconf::scenario::{self, Outcome, Scenario};
use sp::weakness::{Weakness, Weaknesses};

/// For each weakness, scenarios that must fail against an SP with it (each one does today; more
/// may). Every weakness is listed.
const MUST_CATCH: &[(Weakness, &[&str])] = &[
    (Weakness::Audience, &["2.13", "2.14", "5.9"]),
    (Weakness::Destination, &["2.15", "2.16"]),
    (Weakness::Recipient, &["2.17"]),
    (Weakness::TimeWindow, &["2.19", "2.20", "2.22", "2.23"]),
    (Weakness::BearerExpiry, &["2.62"]),
    (Weakness::ReplayCache, &["1.8", "1.9", "7.41", "7.42"]),
    (
        Weakness::SignatureRequired,
        &["2.8", "2.10", "2.30", "7.34"],
    ),
    (Weakness::SignatureVerification, &["2.9", "2.31"]),
    (
        Weakness::AlgorithmAllowList,
        &["2.1", "2.2", "2.3", "2.5", "2.29"],
    ),
    (Weakness::KeySize, &["7.71"]),
    (Weakness::CertificateExpiry, &["2.55"]),
    (Weakness::Issuer, &["2.18"]),
    (Weakness::BrowserBinding, &["7.25", "7.27"]),
    (Weakness::InResponseTo, &["2.24"]),
    (Weakness::Unsolicited, &["1.4", "2.25"]),
    (Weakness::BearerInResponseTo, &["7.26"]),
    (
        Weakness::AssertionCount,
        &["7.1", "7.2", "7.3", "7.4", "7.5"],
    ),
    (Weakness::ConditionKinds, &["7.33"]),
    (Weakness::DuplicateAttributes, &["7.32"]),
    (Weakness::EmptyNameId, &["7.30"]),
    (Weakness::CbcEncryption, &["7.70"]),
    (Weakness::OneTimeUse, &["7.181"]),
    (Weakness::LogoutSignatureRequired, &["6.5", "6.6"]),
    (
        Weakness::LogoutSignatureVerification,
        &["6.7", "7.50", "7.176"],
    ),
    (Weakness::LogoutIssuer, &["6.8", "6.27"]),
    (Weakness::LogoutDestination, &["6.11"]),
    (Weakness::LogoutTime, &["6.10", "6.19"]),
    (Weakness::LogoutReplay, &["7.180"]),
    (Weakness::LogoutSessionIndex, &["6.25", "6.26"]),
];

/// Weaknesses that no scenario catches yet: gaps in the catalogue (scenarios/WEAKENED.md says
/// which scenario would close each). The test requires that they stay uncaught, so that the
/// scenario that closes one also moves it to [`MUST_CATCH`].
/// (None today: `OneTimeUse` was the last, closed by 7.181 with `advance_clock`'s `backwards`.)
const KNOWN_GAPS: &[Weakness] = &[];

/// How many scenarios run at once, over all passes (the passes share one pool).
const JOBS: usize = 8;

fn catalogue() -> Vec<Scenario> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    scenario::load_dir(&dir).unwrap_or_else(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("the catalogue does not load:\n{}", lines.join("\n"))
    })
}

/// A scenario that noticed the weakness: its id, and the first step that did not pass.
struct Catch {
    id: String,
    step: String,
    /// Whether that step changed who is signed in (caught by effect): it expected a refusal and
    /// someone was signed in, or it expected a session to survive (a refused logout) and it had
    /// ended; rather than only a different code or page.
    by_effect: bool,
}

fn catch_of(result: &ScenarioResult) -> Option<Catch> {
    if result.verdict == Verdict::Pass {
        return None;
    }
    let step = result
        .steps
        .iter()
        .find(|s| matches!(s.status, StepStatus::Fail | StepStatus::Error))?;
    let signed_in = step.actual.as_ref().and_then(|a| a.signed_in);
    let signed_in_wrongly = signed_in == Some(true)
        && step.expected.signed_in != Some(true)
        && step.expected.outcome != Some(Outcome::SignedIn);
    let signed_out_wrongly = signed_in == Some(false)
        && (step.expected.signed_in == Some(true)
            || step.expected.outcome == Some(Outcome::StillSignedIn));
    let by_effect = signed_in_wrongly || signed_out_wrongly;
    Some(Catch {
        id: result.id.clone(),
        step: format!(
            "step {} ({}): {}",
            step.index,
            step.action,
            result.reason.as_deref().unwrap_or_default()
        ),
        by_effect,
    })
}

/// A refused sign-in, or a refused logout (the session survives, with a reason code).
fn expects_refusal(scenario: &Scenario) -> bool {
    scenario.steps.iter().any(|s| {
        s.expect.outcome == Some(Outcome::Refused)
            || (s.expect.outcome == Some(Outcome::StillSignedIn) && s.expect.code.is_some())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_weakness_is_caught_by_the_catalogue() {
    let scenarios = Arc::new(catalogue());
    let semaphore = Arc::new(tokio::sync::Semaphore::new(JOBS));
    let mut handles = Vec::new();
    for &weakness in Weakness::ALL {
        for index in 0..scenarios.len() {
            let (scenarios, semaphore) = (scenarios.clone(), semaphore.clone());
            handles.push(tokio::spawn(async move {
                let _permit = semaphore.acquire_owned().await;
                let weaknesses = Weaknesses::of([weakness]);
                let result = runner::run_scenario_weakened(&scenarios[index], &weaknesses).await;
                (weakness, result)
            }));
        }
    }
    let mut caught: BTreeMap<Weakness, Vec<Catch>> = BTreeMap::new();
    let mut errors = Vec::new();
    for handle in handles {
        let (weakness, result) = handle.await.expect("a scenario task panicked");
        if result.verdict == Verdict::Error {
            errors.push(format!(
                "{weakness} {}: {}",
                result.id,
                result.reason.as_deref().unwrap_or_default()
            ));
        }
        if let Some(catch) = catch_of(&result) {
            caught.entry(weakness).or_default().push(catch);
        }
    }

    println!("| weakness | caught by | changed who is signed in |");
    println!("|---|---|---|");
    for &weakness in Weakness::ALL {
        let catches = caught.get(&weakness).map(Vec::as_slice).unwrap_or_default();
        let ids: Vec<&str> = catches.iter().map(|c| c.id.as_str()).collect();
        let effect: Vec<&str> = catches
            .iter()
            .filter(|c| c.by_effect)
            .map(|c| c.id.as_str())
            .collect();
        println!(
            "| `{weakness}` | {} | {} |",
            ids.join(", "),
            effect.join(", ")
        );
    }
    println!();
    for (weakness, catches) in &caught {
        for c in catches {
            println!("{weakness}: {} {}", c.id, c.step);
        }
    }
    let never: Vec<&str> = scenarios
        .iter()
        .filter(|s| expects_refusal(s))
        .filter(|s| !caught.values().flatten().any(|c| c.id == s.id))
        .map(|s| s.id.as_str())
        .collect();
    println!(
        "\nscenarios expecting a refusal that no weakened SP fails ({}): {}",
        never.len(),
        never.join(", ")
    );

    assert!(
        errors.is_empty(),
        "the harness broke against a weakened SP:\n{}",
        errors.join("\n")
    );
    for &weakness in Weakness::ALL {
        let catches = caught.get(&weakness).map(Vec::as_slice).unwrap_or_default();
        if KNOWN_GAPS.contains(&weakness) {
            let ids: Vec<&str> = catches.iter().map(|c| c.id.as_str()).collect();
            assert!(
                catches.is_empty(),
                "`{weakness}` is now caught by {ids:?}: move it from KNOWN_GAPS to MUST_CATCH (and update scenarios/WEAKENED.md)"
            );
            continue;
        }
        assert!(
            !catches.is_empty(),
            "no scenario catches an SP without the check `{weakness}`"
        );
        let (_, must) = MUST_CATCH
            .iter()
            .find(|(w, _)| *w == weakness)
            .unwrap_or_else(|| panic!("MUST_CATCH does not list `{weakness}`"));
        for id in *must {
            assert!(
                catches.iter().any(|c| c.id == *id),
                "scenario {id} no longer catches an SP without the check `{weakness}`"
            );
        }
    }
}
