//! Runs one scenario from start to end: starts its pair, creates its `[[accounts]]`, then runs
//! its steps in order through named browsers (created on first use), each step's action followed
//! by what is observed of it, until a step does not pass (the rest are skipped). [`Ctx`] is the
//! state of the running scenario that the steps share.

use std::collections::{BTreeMap, HashMap};

use super::observe;
use super::stage::Stage;
use super::summary::summary;
use super::wire::{posted_messages, redirect_messages};
use super::{Actual, SamlMessage, ScenarioResult, StepResult, StepStatus};
use crate::driver::{HttpDriver, PostForm};
use crate::scenario::{Scenario, Step};

/// The state of one running scenario.
pub(super) struct Ctx {
    pub(super) stage: Stage,
    pub(super) drivers: HashMap<String, HttpDriver>,
    /// How many posted forms of each browser were already looked at.
    forms_seen: HashMap<String, usize>,
    redirects_seen: HashMap<String, usize>,
    /// `[[accounts]]` handle → user ID.
    pub(super) accounts: BTreeMap<String, i64>,
    /// `[[accounts]]` handle → invitation token.
    pub(super) invitations: HashMap<String, String>,
    /// The last SAMLResponse form any browser posted (for `replay`).
    pub(super) last_response: Option<PostForm>,
    /// The last SAMLResponse each browser posted (for `replay`'s `response_of`).
    pub(super) last_response_of: HashMap<String, PostForm>,
    /// The last LogoutRequest the IdP sent (for `replay_logout`).
    pub(super) last_logout: Option<mock_idp::server::LogoutMessage>,
}

impl Ctx {
    pub(super) fn new(stage: Stage) -> Ctx {
        Ctx {
            stage,
            drivers: HashMap::new(),
            forms_seen: HashMap::new(),
            redirects_seen: HashMap::new(),
            accounts: BTreeMap::new(),
            invitations: HashMap::new(),
            last_response: None,
            last_response_of: HashMap::new(),
            last_logout: None,
        }
    }

    pub(super) fn driver(&mut self, name: &str) -> Result<&HttpDriver, String> {
        if !self.drivers.contains_key(name) {
            let driver = self
                .stage
                .sp
                .browser()
                .map_err(|e| format!("browser {name:?}: {e}"))?;
            self.drivers.insert(name.to_owned(), driver);
        }
        Ok(&self.drivers[name])
    }

    /// Forms posted since the last call, as decoded messages; remembers the last SAMLResponse.
    fn new_forms(&mut self) -> Vec<SamlMessage> {
        let mut messages = Vec::new();
        let acs = self.stage.sp.acs_url();
        let mut names: Vec<&String> = self.drivers.keys().collect();
        names.sort();
        for name in names {
            // The AuthnRequests this browser carried to the IdP come before the answers.
            let redirects = self.drivers[name].redirects();
            let seen = self.redirects_seen.get(name).copied().unwrap_or(0);
            messages.extend(redirect_messages(&redirects[seen.min(redirects.len())..]));
            self.redirects_seen.insert(name.clone(), redirects.len());
            let forms = self.drivers[name].posted_forms();
            let seen = self.forms_seen.get(name).copied().unwrap_or(0);
            for form in forms.iter().skip(seen) {
                messages.extend(posted_messages(form));
                if form.field("SAMLResponse").is_some() && form.action.starts_with(&acs) {
                    self.last_response = Some(form.clone());
                    self.last_response_of.insert(name.clone(), form.clone());
                }
            }
            self.forms_seen.insert(name.clone(), forms.len());
        }
        messages
    }
}

/// Runs `scenario`'s steps into `result`; an error is the harness's own failure.
/// What a scenario runs against.
#[derive(Clone, Copy)]
pub(super) enum On<'a> {
    /// The reference SP, weakened for tests (`sp::weakness`) or not.
    Reference(&'a sp::weakness::Weaknesses),
    /// An SP we do not control (the scenario applies to it).
    Target(&'a crate::target::Target),
}

/// Runs `scenario`'s steps into `result`; an error is the harness's own failure.
pub(super) async fn execute(
    scenario: &Scenario,
    on: On<'_>,
    result: &mut ScenarioResult,
) -> Result<(), String> {
    let weaknesses = match on {
        On::Reference(weaknesses) => weaknesses,
        On::Target(target) => {
            let stage = Stage::target(target, scenario).await?;
            return run_steps(Ctx::new(stage), scenario, result).await;
        }
    };
    let started = Stage::reference(scenario, weaknesses).await;
    // `config_refused`: the SP itself must refuse to start, and say why.
    if let Some(wanted) = &scenario.config_refused {
        let failure = match started {
            Ok(_) => Some("the SP started with this configuration".to_owned()),
            Err(e) if e.to_string().contains(wanted.as_str()) => None,
            Err(e) => Some(format!("the SP refused the configuration with: {e}")),
        };
        if let Some(failure) = failure {
            result.verdict = super::Verdict::Fail;
            result.reason = Some(format!(
                "config_refused: expected a refusal naming {wanted:?}; {failure}"
            ));
        }
        return Ok(());
    }
    let stage = started.map_err(|e| format!("cannot start the pair: {e}"))?;
    run_steps(Ctx::new(stage), scenario, result).await
}

async fn run_steps(
    mut ctx: Ctx,
    scenario: &Scenario,
    result: &mut ScenarioResult,
) -> Result<(), String> {
    for account in &scenario.accounts {
        let admin = ctx.stage.sp.admin().ok_or_else(|| {
            crate::sut::not_offered("creating local accounts", ctx.stage.sp.name())
        })?;
        let id = admin
            .create_local_account(account)
            .await
            .map_err(|e| format!("cannot create account {:?}: {e}", account.handle()))?;
        ctx.accounts.insert(account.handle().to_owned(), id);
    }
    let exact = ctx.stage.sp.codes_are_exact();

    let mut failed = false;
    for (index, step) in scenario.steps.iter().enumerate() {
        let mut step_result = StepResult {
            index: index + 1,
            line: step.line,
            action: step.action.name().into(),
            summary: summary(&step.action),
            note: step.note.clone(),
            status: StepStatus::Skipped,
            expected: step.expect.clone(),
            actual: None,
            differences: vec![],
            error: None,
            messages: vec![],
        };
        if !failed {
            let before = observe::Before::take(&ctx, step).await;
            match run_and_observe(&mut ctx, step, &before).await {
                Ok((mut actual, mut messages)) => {
                    observe::audit(&ctx, step, before, &mut actual).await?;
                    observe::accounts(&ctx, step, &mut actual).await?;
                    let mut posted = ctx.new_forms();
                    posted.append(&mut messages);
                    step_result.messages = posted;
                    step_result.differences =
                        super::compare::differences(&step.expect, &mut actual, exact);
                    step_result.status = if step_result.differences.is_empty() {
                        StepStatus::Pass
                    } else {
                        StepStatus::Fail
                    };
                    step_result.actual = Some(actual);
                }
                Err(error) => {
                    step_result.messages = ctx.new_forms();
                    step_result.status = StepStatus::Error;
                    step_result.error = Some(error);
                }
            }
            failed = step_result.status != StepStatus::Pass;
        }
        result.steps.push(step_result);
    }
    if let Some(admin) = ctx.stage.sp.admin() {
        result.audit = admin
            .audit_events()
            .await
            .map_err(|e| format!("audit log: {e}"))?;
    }
    Ok(())
}

/// Runs the step's action, then reads what its browser's session is afterwards.
async fn run_and_observe(
    ctx: &mut Ctx,
    step: &Step,
    before: &observe::Before,
) -> Result<(Actual, Vec<SamlMessage>), String> {
    let (mut actual, messages) = super::step::run(ctx, step).await?;
    observe::session(ctx, step, before, &mut actual).await?;
    observe::page(&mut actual);
    Ok((actual, messages))
}
