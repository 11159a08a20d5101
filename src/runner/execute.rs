//! Runs one scenario from start to end: starts its pair, creates its `[[accounts]]`, then runs
//! its steps in order through named browsers (created on first use), each step's action followed
//! by what is observed of it, until a step does not pass (the rest are skipped). [`Ctx`] is the
//! state of the running scenario that the steps share.

use std::collections::{BTreeMap, HashMap};

use super::observe;
use super::stage::Stage;
use super::summary::summary;
use super::wire::{posted_messages, redirect_messages};
use super::{
    Actual, BrowserCapture, DriverKind, SamlMessage, ScenarioResult, StepResult, StepStatus,
};
use crate::driver::browser::{BrowserDriver, BrowserOptions};
use crate::driver::{Driver, PostForm};
use crate::scenario::{Scenario, SpTarget, Step};
use crate::sut::AuditEvent;

/// The state of one running scenario.
pub(super) struct Ctx {
    pub(super) stage: Stage,
    /// Browsers by name: HTTP ones made on first use, real ones all started up front.
    pub(super) drivers: HashMap<String, Driver>,
    /// How many posted forms of each browser were already looked at.
    forms_seen: HashMap<String, usize>,
    redirects_seen: HashMap<String, usize>,
    /// `[[accounts]]` handle → user ID.
    pub(super) accounts: BTreeMap<String, i64>,
    /// `[[accounts]]` handle → invitation token.
    pub(super) invitations: HashMap<String, String>,
    /// User (as the step names them) → the path of their password-setup link.
    pub(super) password_setups: HashMap<String, String>,
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
            password_setups: HashMap::new(),
            last_response: None,
            last_response_of: HashMap::new(),
            last_logout: None,
        }
    }

    pub(super) fn driver(&mut self, name: &str) -> Result<&Driver, String> {
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

    /// The reference SP's pair, or why a step needs it.
    pub(super) fn pair(&self) -> Result<&crate::harness::Pair, String> {
        self.stage.pair().ok_or_else(|| {
            crate::sut::not_offered(
                "a second node or workspace, or a real browser",
                self.stage.sp.name(),
            )
        })
    }

    /// Starts a real browser for every name the steps use.
    async fn start_browsers(
        &mut self,
        scenario: &Scenario,
        chromedriver: &crate::driver::browser::Chromedriver,
    ) -> Result<(), String> {
        let options = BrowserOptions {
            block_popups: scenario.browser.block_popups,
        };
        for step in &scenario.steps {
            let mut names: Vec<&str> = step.action.browser().into_iter().collect();
            if let crate::scenario::Action::SignIn(a) = &step.action {
                names.push(a.browser.as_deref().unwrap_or(crate::scenario::MAIN));
            }
            for name in names {
                if !self.drivers.contains_key(name) {
                    let base_url = self.pair()?.endpoints.sp_base_url.clone();
                    let mut browser = BrowserDriver::start(chromedriver, &base_url, options)
                        .await
                        .map_err(|e| format!("browser {name:?}: {e}"))?;
                    if let Some(node2) = &self.pair()?.node2 {
                        browser.also_sp(&node2.base_url);
                    }
                    self.drivers
                        .insert(name.to_owned(), Driver::Browser(Box::new(browser)));
                }
            }
            // The second workspace is another site: the step's browser there is a Chromium of
            // its own (no cookie of one site is sent to the other either way), so that a
            // visit or a post there is a real browser's too.
            if step.action.sp() == SpTarget::Workspace2
                && let Some(name) = step.action.browser()
            {
                let key = Self::key_at(name, SpTarget::Workspace2);
                if !self.drivers.contains_key(&key) {
                    let base_url = self.base_url(SpTarget::Workspace2)?;
                    let browser = BrowserDriver::start(chromedriver, &base_url, options)
                        .await
                        .map_err(|e| format!("browser {name:?} at the second workspace: {e}"))?;
                    self.drivers.insert(key, Driver::Browser(Box::new(browser)));
                }
            }
        }
        Ok(())
    }

    /// A failed step's browser page: screenshot and HTML.
    async fn capture(&self, step: &Step) -> Option<BrowserCapture> {
        use base64::Engine as _;
        let (png, html) = self.drivers.get(step.action.browser()?)?.capture().await?;
        Some(BrowserCapture {
            screenshot: format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(png)
            ),
            html,
        })
    }

    /// Ends the real browsers' sessions (dropped, each is closed in the background).
    fn close(&mut self) {
        self.drivers.clear();
    }

    /// Browser `name` at `target`. The two nodes share one host name, so a browser talks to both
    /// with one cookie jar (its own driver); the second workspace is another site, where the same
    /// browser has a jar of its own: an HTTP driver made here, or in a browser run the Chromium
    /// that `start_browsers` made for it.
    pub(super) fn driver_at(&mut self, name: &str, target: SpTarget) -> Result<&Driver, String> {
        if target != SpTarget::Workspace2 {
            return self.driver(name);
        }
        let base_url = self.base_url(target)?;
        let key = Self::key_at(name, target);
        if !self.drivers.contains_key(&key) {
            let driver = crate::driver::HttpDriver::new(&base_url)
                .map_err(|e| format!("browser {name:?}: {e}"))?;
            self.drivers.insert(key.clone(), Driver::Http(driver));
        }
        Ok(&self.drivers[&key])
    }

    /// Browser `name` at `target` as [`driver_at`](Self::driver_at) made it, if it did.
    pub(super) fn existing_at(&self, name: &str, target: SpTarget) -> Option<&Driver> {
        self.drivers.get(&Self::key_at(name, target))
    }

    fn key_at(name: &str, target: SpTarget) -> String {
        match target {
            SpTarget::Workspace2 => format!("{name}@{}", target.as_str()),
            _ => name.to_owned(),
        }
    }

    /// The base URL of `target`.
    pub(super) fn base_url(&self, target: SpTarget) -> Result<String, String> {
        let pair = self.pair()?;
        match target {
            SpTarget::Node1 => Some(pair.endpoints.sp_base_url.clone()),
            SpTarget::Node2 => pair.node2.as_ref().map(|n| n.base_url.clone()),
            SpTarget::Workspace2 => pair.workspace2.as_ref().map(|n| n.base_url.clone()),
        }
        .ok_or_else(|| format!("the pair has no {}", target.as_str()))
    }

    /// The audit log of the SP `target` writes to (the nodes share one), oldest first; empty
    /// when the SP under test keeps none the harness can read.
    pub(super) async fn audit_events(&self, target: SpTarget) -> Result<Vec<AuditEvent>, String> {
        if target == SpTarget::Workspace2
            && let Some(workspace) = self.stage.pair().and_then(|p| p.workspace2.as_ref())
        {
            return workspace
                .sp
                .store()
                .audit_events()
                .await
                .map_err(|e| format!("audit log: {e}"));
        }
        match self.stage.sp.admin() {
            Some(admin) => admin
                .audit_events()
                .await
                .map_err(|e| format!("audit log: {e}")),
            None => Ok(Vec::new()),
        }
    }

    /// `form` (posted to the pair's SP) re-addressed to the same path at `target`.
    pub(super) fn retarget(&self, form: &PostForm, target: SpTarget) -> Result<PostForm, String> {
        let mut form = form.clone();
        if target != SpTarget::Node1 {
            let base = &self.pair()?.endpoints.sp_base_url;
            let path = form
                .action
                .strip_prefix(base.as_str())
                .ok_or_else(|| format!("the form goes to {}, not to {base}", form.action))?;
            form.action = format!("{}{path}", self.base_url(target)?);
        }
        Ok(form)
    }

    /// Forms posted since the last call, as decoded messages; remembers the last SAMLResponse.
    async fn new_forms(&mut self) -> Vec<SamlMessage> {
        for driver in self.drivers.values() {
            // A browser whose log cannot be read shows fewer messages; the step is judged alike.
            let _ = driver.read_wire().await;
        }
        let mut messages = Vec::new();
        // By path: the ACS of node 2 or of the second workspace is the same path elsewhere.
        let acs_path = path_of(&self.stage.sp.acs_url());
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
                if form.field("SAMLResponse").is_some() && path_of(&form.action) == acs_path {
                    self.last_response = Some(form.clone());
                    self.last_response_of.insert(name.clone(), form.clone());
                }
            }
            self.forms_seen.insert(name.clone(), forms.len());
        }
        messages
    }
}

/// What a scenario runs against.
#[derive(Clone, Copy)]
pub(super) enum On<'a> {
    /// The reference SP, weakened for tests (`sp::weakness`) or not, its browsers played by
    /// `driver`.
    Reference {
        driver: &'a DriverKind,
        weaknesses: &'a sp::weakness::Weaknesses,
    },
    /// An SP we do not control (the scenario applies to it).
    Target(&'a crate::target::Target),
}

/// Runs `scenario`'s steps into `result`; an error is the harness's own failure.
pub(super) async fn execute(
    scenario: &Scenario,
    on: On<'_>,
    result: &mut ScenarioResult,
) -> Result<(), String> {
    let (driver, weaknesses) = match on {
        On::Reference { driver, weaknesses } => (driver, weaknesses),
        On::Target(target) => {
            let stage = Stage::target(target, scenario).await?;
            let mut ctx = Ctx::new(stage);
            return run_steps(
                scenario,
                crate::scenario::DriverName::Http,
                &mut ctx,
                result,
            )
            .await;
        }
    };
    let this_driver = driver.as_scenario_driver();
    if let Some(drivers) = &scenario.drivers
        && !drivers.contains(&this_driver)
    {
        let names: Vec<&str> = drivers.iter().map(|d| d.as_str()).collect();
        result.verdict = super::Verdict::Skipped;
        result.reason = Some(format!(
            "only the {} driver can judge this scenario (`drivers` in its file)",
            names.join(" or ")
        ));
        return Ok(());
    }
    let started = Stage::reference(scenario, driver, weaknesses).await;
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
    let mut ctx = Ctx::new(stage);
    if let DriverKind::Browser { chromedriver, .. } = driver
        && let Err(e) = ctx.start_browsers(scenario, chromedriver).await
    {
        ctx.close();
        return Err(e);
    }
    let outcome = run_steps(scenario, this_driver, &mut ctx, result).await;
    ctx.close();
    outcome
}

/// Creates the accounts, runs the steps and reads the audit log into `result`.
async fn run_steps(
    scenario: &Scenario,
    this_driver: crate::scenario::DriverName,
    ctx: &mut Ctx,
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
            skip_reason: None,
            browser_capture: None,
        };
        let cannot = match &step.drivers {
            Some(drivers) if !drivers.contains(&this_driver) => Some(format!(
                "only the {} driver can judge this step{}",
                drivers
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
                step.note
                    .as_deref()
                    .map(|n| format!(" ({})", n.trim()))
                    .unwrap_or_default()
            )),
            _ => None,
        };
        if !failed && let Some(reason) = cannot {
            step_result.skip_reason = Some(reason);
            // A step the driver had to leave out changes what later steps start from, unless
            // the file marked it (`drivers`) as one the others can do without.
            failed = step.drivers.is_none();
        } else if !failed {
            let before = observe::Before::take(ctx, step).await;
            match run_and_observe(ctx, step, &before).await {
                Ok((mut actual, mut messages)) => {
                    observe::audit(ctx, step, before, &mut actual).await?;
                    observe::accounts(ctx, step, &mut actual).await?;
                    let mut posted = ctx.new_forms().await;
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
                    step_result.messages = ctx.new_forms().await;
                    step_result.status = StepStatus::Error;
                    step_result.error = Some(error);
                }
            }
            failed = step_result.status != StepStatus::Pass;
            if failed {
                step_result.browser_capture = ctx.capture(step).await;
            }
        }
        result.steps.push(step_result);
    }
    result.audit = ctx.audit_events(SpTarget::Node1).await?;
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

/// The path of a URL (all of it when it is none).
fn path_of(url: &str) -> String {
    url::Url::parse(url).map_or_else(|_| url.to_owned(), |u| u.path().to_owned())
}
