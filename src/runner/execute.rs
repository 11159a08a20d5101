//! Runs one scenario from start to end: starts its pair, creates its `[[accounts]]`, then runs
//! its steps in order through named browsers (created on first use), each step's action followed
//! by what is observed of it, until a step does not pass (the rest are skipped). [`Ctx`] is the
//! state of the running scenario that the steps share.

use std::collections::{BTreeMap, HashMap};

use sp::accounts::NewLocalAccount;

use super::observe;
use super::summary::summary;
use super::wire::{posted_messages, redirect_messages};
use super::{Actual, START, SamlMessage, ScenarioResult, StepResult, StepStatus};
use crate::driver::{HttpDriver, PostForm};
use crate::harness::{Pair, PairOptions};
use crate::scenario::{Scenario, Step};

/// The state of one running scenario.
pub(super) struct Ctx {
    pub(super) pair: Pair,
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
    pub(super) fn driver(&mut self, name: &str) -> Result<&HttpDriver, String> {
        if !self.drivers.contains_key(name) {
            let driver = HttpDriver::new(&self.pair.endpoints.sp_base_url)
                .map_err(|e| format!("browser {name:?}: {e}"))?;
            self.drivers.insert(name.to_owned(), driver);
        }
        Ok(&self.drivers[name])
    }

    /// Forms posted since the last call, as decoded messages; remembers the last SAMLResponse.
    fn new_forms(&mut self) -> Vec<SamlMessage> {
        let mut messages = Vec::new();
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
                if form.field("SAMLResponse").is_some() && form.action.ends_with("/saml/acs") {
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
pub(super) async fn execute(
    scenario: &Scenario,
    weaknesses: &sp::weakness::Weaknesses,
    result: &mut ScenarioResult,
) -> Result<(), String> {
    let started = Pair::start(PairOptions {
        sp_weaknesses: weaknesses.clone(),
        virtual_start: Some(START),
        sp_overrides: scenario.sp_overrides_root(),
        extra_idp_users: scenario.idp_users.clone(),
        extra_idps: scenario.extra_idps.iter().map(|e| e.options()).collect(),
        ..Default::default()
    })
    .await;
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
    let pair = started.map_err(|e| format!("cannot start the pair: {e}"))?;
    let mut ctx = Ctx {
        pair,
        drivers: HashMap::new(),
        forms_seen: HashMap::new(),
        redirects_seen: HashMap::new(),
        accounts: BTreeMap::new(),
        invitations: HashMap::new(),
        last_response: None,
        last_response_of: HashMap::new(),
        last_logout: None,
    };
    for account in &scenario.accounts {
        let new = NewLocalAccount {
            login: account.login.clone(),
            email: account.email.clone(),
            first_name: account.first_name.clone(),
            last_name: account.last_name.clone(),
            password: account.password.clone(),
            roles: account.roles.clone(),
            sso_allowed: account.sso_allowed,
        };
        let user = ctx
            .pair
            .sp
            .store()
            // Throw-away fixtures: hashed with the cheapest Argon2 parameters (the SP's own
            // hashing and the dummy hash of unknown accounts keep the standard ones).
            .create_local_account_with(
                &new,
                START - time::Duration::days(31),
                sp::accounts::PasswordHashing::FastForTestFixtures,
            )
            .await
            .map_err(|e| format!("cannot create account {:?}: {e}", account.handle()))?;
        ctx.accounts.insert(account.handle().to_owned(), user.id);
    }

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
            let before = observe::Before::take(&ctx).await;
            match run_and_observe(&mut ctx, step).await {
                Ok((mut actual, mut messages)) => {
                    observe::audit(&ctx, step, before, &mut actual).await?;
                    observe::accounts(&ctx, step, &mut actual).await?;
                    let mut posted = ctx.new_forms();
                    posted.append(&mut messages);
                    step_result.messages = posted;
                    step_result.differences = super::compare::differences(&step.expect, &actual);
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
    result.audit = ctx
        .pair
        .sp
        .store()
        .audit_events()
        .await
        .map_err(|e| format!("audit log: {e}"))?;
    Ok(())
}

/// Runs the step's action, then reads what its browser's session is afterwards.
async fn run_and_observe(ctx: &mut Ctx, step: &Step) -> Result<(Actual, Vec<SamlMessage>), String> {
    let (mut actual, messages) = super::step::run(ctx, step).await?;
    observe::session(ctx, step, &mut actual).await?;
    observe::page(&mut actual);
    Ok((actual, messages))
}
