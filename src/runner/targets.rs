//! Running the catalogue against SPs we do not control (`samlconf run --target`): which scenarios
//! apply to a target ([`applies`]; the others are not applicable, with the reason, never passed),
//! running those one after the other (the mock IdP listens on the target's fixed `idp_listen`),
//! and grading each result by its case's grade and the target's known failures ([`graded`]).

use super::{ScenarioResult, Verdict, execute};
use crate::scenario::{Action, Grade, Scenario, Via};
use crate::target::Target;

/// The results of one target.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TargetRun {
    pub name: String,
    pub file: String,
    pub results: Vec<ScenarioResult>,
}

/// Why `scenario` cannot apply to `target`, or `None` when it does: whatever needs control of the
/// SP (its configuration, clock, accounts, admin actions, audit log, pages, flows of the
/// reference SP) or what the target does not offer (SLO, an SP-initiated sign-in or logout).
pub fn applies(scenario: &Scenario, target: &Target) -> Option<String> {
    if scenario.config_refused.is_some() {
        return Some("tests the reference SP's own configuration check".into());
    }
    if let Some(sp) = &scenario.sp {
        let keys: Vec<&str> = sp.keys().map(String::as_str).collect();
        return Some(format!(
            "configures the SP ({}), which the harness cannot do for a target",
            keys.join(", ")
        ));
    }
    if !scenario.accounts.is_empty() {
        return Some("needs local accounts created at the SP (an admin action)".into());
    }
    if !scenario.extra_idps.is_empty() {
        return Some("needs further IdPs the target was not configured to trust".into());
    }
    if scenario.https {
        return Some("serves the reference SP over HTTPS with the run's own CA".into());
    }
    if scenario.second_node || scenario.workspace2.is_some() {
        return Some(
            "needs a second SP node or workspace, which the harness cannot start for a target"
                .into(),
        );
    }
    if let Some(drivers) = &scenario.drivers
        && !drivers.contains(&crate::scenario::DriverName::Http)
    {
        return Some("only a real browser can judge it; a target runs with the HTTP driver".into());
    }
    for (index, step) in scenario.steps.iter().enumerate() {
        let n = index + 1;
        if step.action.sp() != crate::scenario::SpTarget::Node1 {
            return Some(format!(
                "step {n}: acts at the reference SP's {}",
                step.action.sp().as_str()
            ));
        }
        let needs = match &step.action {
            Action::Link(_) | Action::SkipLink(_) => Some("the reference SP's account linking"),
            Action::Invite(_) | Action::AcceptInvitation(_) => {
                Some("invitations (an admin action)")
            }
            Action::SetRoles(_) => Some("changing roles at the SP (an admin action)"),
            Action::RecoveryLogin(_) => Some("the reference SP's recovery password login"),
            Action::Renew(_) => Some("the reference SP's passive renewal window"),
            Action::Visit(_) => Some("pages of the reference SP"),
            Action::AdvanceClock(_) => {
                Some("moving the SP's clock, which only the reference SP reads from the harness")
            }
            Action::IdpRequireSignedRequests(_) => Some(
                "knowing whether the SP signs its AuthnRequests, which the target file does not say",
            ),
            Action::SignIn(a) if a.idp.is_some() => Some("a further IdP"),
            Action::SignIn(a)
                if target.encryption_cert_pem.is_none()
                    && crate::scenario::resolve_knobs(a.profile.as_deref(), a.knobs.as_ref())
                        .is_ok_and(|k| k.encrypts_anything()) =>
            {
                Some("encryption to the SP, whose metadata publishes no encryption certificate")
            }
            Action::SignIn(a) if a.via == Via::Sp && target.start.login_url.is_none() => {
                Some("an SP-initiated sign-in; the target file gives no [start] login_url")
            }
            Action::Logout(a) if a.via == Via::Sp && a.cross_site => {
                Some("the reference SP's logout form (logout CSRF)")
            }
            Action::Logout(a) if a.via == Via::Sp && target.start.logout_url.is_none() => {
                Some("an SP-initiated logout; the target file gives no [start] logout_url")
            }
            Action::Logout(a) if a.via == Via::Idp && target.slo_url.is_none() => {
                Some("single logout; the target has no slo_url")
            }
            Action::ReplayLogout(_) if target.slo_url.is_none() => {
                Some("single logout; the target has no slo_url")
            }
            _ => None,
        };
        if let Some(needs) = needs {
            return Some(format!("step {}: needs {needs}", n));
        }
        let e = &step.expect;
        if e.linked_to.is_some() || e.not_linked_to.is_some() || !e.account_roles.is_empty() {
            return Some(format!(
                "step {n}: judges which SP account the identity is linked to, which only the reference SP's records show"
            ));
        }
    }
    None
}

/// Runs every scenario against `target`, one at a time, calling `on_done` as each finishes.
pub async fn run_target(
    scenarios: &[Scenario],
    target: &Target,
    on_done: impl Fn(&ScenarioResult),
) -> TargetRun {
    let mut results = Vec::new();
    for scenario in scenarios {
        let result = match applies(scenario, target) {
            Some(reason) => {
                let mut result = super::blank_result(scenario);
                result.verdict = Verdict::NotApplicable;
                result.reason = Some(reason);
                result
            }
            None => {
                let result = super::run_scenario_on(scenario, execute::On::Target(target)).await;
                graded(result, target)
            }
        };
        on_done(&result);
        results.push(result);
    }
    TargetRun {
        name: target.name.clone(),
        file: target.file.display().to_string(),
        results,
    }
}

/// A pass/fail/error result graded for a target: a failure weighs as its case's grade says,
/// unless the target lists it as known; a known failure that passes is flagged.
pub fn graded(mut result: ScenarioResult, target: &Target) -> ScenarioResult {
    let known = target.known_failures.get(&result.id);
    result.verdict = match (result.verdict, known) {
        (Verdict::Fail, Some(_)) => Verdict::KnownFailure,
        (Verdict::Pass, Some(_)) => Verdict::NowPassing,
        (Verdict::Fail, None) => match result.grade {
            Grade::Must => Verdict::Fail,
            Grade::Should => Verdict::Warning,
            Grade::Informational => Verdict::Informational,
        },
        (verdict, _) => verdict,
    };
    if let Some(why) = known {
        let what = result.reason.take().unwrap_or_else(|| "it passed".into());
        result.reason = Some(format!("known failure ({why}): {what}"));
    }
    result
}

/// Whether a target run should fail the command: a `must` failure, an error, or a known failure
/// that now passes (the target file must be updated, as BoGo asks of its shim configs).
pub fn fails_the_run(verdict: Verdict) -> bool {
    matches!(
        verdict,
        Verdict::Fail | Verdict::Error | Verdict::NowPassing
    )
}
