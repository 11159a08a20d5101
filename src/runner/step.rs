//! Executes a scenario's steps against its own pair through named browsers.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mock_idp::server::{LogoutBinding, LogoutMessage, NextResponses, StartLogout};
use serde_json::Value;
use sp::accounts::NewLocalAccount;

use super::{Actual, AuditBrief, START, SamlMessage, ScenarioResult, StepResult, StepStatus};
use crate::driver::{HttpDriver, PostForm, RenewOutcome, SignInOutcome, Visited, parse_post_form};
use crate::harness::{Pair, PairOptions};
use crate::report::xml::pretty_xml;
use crate::scenario::{Action, Binding, Scenario, Step, Via};

/// The state of one running scenario.
struct Ctx {
    pair: Pair,
    drivers: HashMap<String, HttpDriver>,
    /// How many posted forms of each browser were already looked at.
    forms_seen: HashMap<String, usize>,
    redirects_seen: HashMap<String, usize>,
    /// `[[accounts]]` handle → user ID.
    accounts: BTreeMap<String, i64>,
    /// `[[accounts]]` handle → invitation token.
    invitations: HashMap<String, String>,
    /// The last SAMLResponse form any browser posted (for `replay`).
    last_response: Option<PostForm>,
}

impl Ctx {
    fn driver(&mut self, name: &str) -> Result<&HttpDriver, String> {
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
                for parameter in ["SAMLResponse", "SAMLRequest"] {
                    if let Some(value) = form.field(parameter) {
                        messages.push(SamlMessage {
                            parameter: parameter.into(),
                            binding: "HTTP-POST".into(),
                            to: form.action.clone(),
                            xml: decode_post(value),
                        });
                        if parameter == "SAMLResponse" && form.action.ends_with("/saml/acs") {
                            self.last_response = Some(form.clone());
                        }
                    }
                }
            }
            self.forms_seen.insert(name.clone(), forms.len());
        }
        messages
    }
}

fn decode_post(value: &str) -> String {
    match STANDARD.decode(value.trim()) {
        Ok(bytes) => pretty_xml(&String::from_utf8_lossy(&bytes)),
        Err(e) => format!("(not base64: {e}) {value}"),
    }
}

fn decode_redirect(value: &str) -> String {
    use std::io::Read as _;
    let Ok(bytes) = STANDARD.decode(value.trim()) else {
        return format!("(not base64) {value}");
    };
    let mut xml = String::new();
    match flate2::read::DeflateDecoder::new(&bytes[..])
        .take(1 << 20)
        .read_to_string(&mut xml)
    {
        Ok(_) => pretty_xml(&xml),
        Err(e) => format!("(not raw DEFLATE: {e})"),
    }
}

/// SAML messages carried in the query strings of `urls` (HTTP-Redirect binding).
fn redirect_messages(urls: &[String]) -> Vec<SamlMessage> {
    let mut messages = Vec::new();
    for url in urls {
        let Ok(parsed) = url::Url::parse(url) else {
            continue;
        };
        for (key, value) in parsed.query_pairs() {
            if key == "SAMLRequest" || key == "SAMLResponse" {
                let mut to = parsed.clone();
                to.set_query(None);
                messages.push(SamlMessage {
                    parameter: key.into_owned(),
                    binding: "HTTP-Redirect".into(),
                    to: to.to_string(),
                    xml: decode_redirect(&value),
                });
            }
        }
    }
    messages
}

pub(super) async fn execute(
    scenario: &Scenario,
    result: &mut ScenarioResult,
) -> Result<(), String> {
    let pair = Pair::start(PairOptions {
        virtual_start: Some(START),
        sp_overrides: scenario.sp_overrides_root(),
        extra_idp_users: scenario.idp_users.clone(),
        extra_idps: scenario.extra_idps.iter().map(|e| e.options()).collect(),
        ..Default::default()
    })
    .await
    .map_err(|e| format!("cannot start the pair: {e}"))?;
    let mut ctx = Ctx {
        pair,
        drivers: HashMap::new(),
        forms_seen: HashMap::new(),
        redirects_seen: HashMap::new(),
        accounts: BTreeMap::new(),
        invitations: HashMap::new(),
        last_response: None,
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
            .create_local_account(&new, START - time::Duration::days(31))
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
            let audit_before = ctx.pair.sp.store().audit_events().await.map(|e| e.len());
            let logout_responses_before = ctx.pair.idp.logout_responses().len();
            match run_step(&mut ctx, step).await {
                Ok((mut actual, mut messages)) => {
                    let events = ctx
                        .pair
                        .sp
                        .store()
                        .audit_events()
                        .await
                        .map_err(|e| format!("audit log: {e}"))?;
                    let before = audit_before.map_err(|e| format!("audit log: {e}"))?;
                    actual.audit = events
                        .iter()
                        .skip(before)
                        .map(|e| AuditBrief {
                            kind: e.kind.clone(),
                            code: e.code.clone(),
                            detail: e.detail.clone(),
                        })
                        .collect();
                    if matches!(step.action, Action::Logout(_)) {
                        actual.code = actual
                            .audit
                            .iter()
                            .find(|e| e.kind.ends_with(".rejected"))
                            .and_then(|e| e.code.clone());
                        actual.idp_logout_status = ctx
                            .pair
                            .idp
                            .logout_responses()
                            .iter()
                            .skip(logout_responses_before)
                            .last()
                            .and_then(|r| r.response.as_ref())
                            .and_then(|r| r.status_code.as_deref())
                            .map(|s| s.rsplit(':').next().unwrap_or(s).to_owned());
                    }
                    fill_accounts(&ctx, step, &mut actual).await?;
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

/// The accounts an expectation asks about: which one the signed-in identity is linked to, and
/// the roles of those named in `account_roles`.
async fn fill_accounts(ctx: &Ctx, step: &Step, actual: &mut Actual) -> Result<(), String> {
    let store = ctx.pair.sp.store();
    let expect = &step.expect;
    if (expect.linked_to.is_some() || expect.not_linked_to.is_some())
        && actual.signed_in == Some(true)
        && let (Some(driver), Some(_)) = (step.action.browser(), actual.email.as_ref())
        && let Some(me) = ctx.drivers[driver].me().await.map_err(|e| e.to_string())?
    {
        let idp = me["idp"].as_str().unwrap_or_default();
        let subject = me["name_id"].as_str().unwrap_or_default();
        let user = store
            .user_by_identity(idp, subject)
            .await
            .map_err(|e| e.to_string())?;
        actual.linked_account = Some(match user {
            Some(user) => ctx
                .accounts
                .iter()
                .find(|(_, id)| **id == user.id)
                .map(|(handle, _)| handle.clone())
                .unwrap_or_else(|| format!("user #{} ({}, {})", user.id, user.email, user.origin)),
            None => "no linked user".into(),
        });
    }
    for handle in expect.account_roles.keys() {
        let id = ctx
            .accounts
            .get(handle)
            .ok_or_else(|| format!("no account {handle:?}"))?;
        let roles = store.roles(*id).await.map_err(|e| e.to_string())?;
        actual.account_roles.insert(handle.clone(), roles);
    }
    Ok(())
}

fn summary(action: &Action) -> String {
    let with = |profile: &Option<String>, knobs: &Option<toml::Table>| {
        let mut text = String::new();
        if let Some(profile) = profile {
            text.push_str(&format!(", profile {profile}"));
        }
        if let Some(knobs) = knobs {
            let knobs = knobs
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            text.push_str(&format!(", knobs {{ {knobs} }}"));
        }
        text
    };
    let browser = |driver: &Option<String>| match driver {
        Some(d) => format!(" [browser {d}]"),
        None => String::new(),
    };
    match action {
        Action::SignIn(a) => format!(
            "{}{} signs in ({}-initiated{}{}){}",
            a.user,
            a.idp
                .as_ref()
                .map(|idp| format!(" at IdP {idp:?}"))
                .unwrap_or_default(),
            match a.via {
                Via::Sp => "SP",
                Via::Idp => "IdP",
            },
            with(&a.profile, &a.knobs),
            a.relay_state
                .as_ref()
                .map(|r| format!(", RelayState {r:?}"))
                .unwrap_or_default(),
            browser(&a.driver)
                + &a.post_from
                    .as_ref()
                    .map(|p| format!(", the response posted by browser {p}"))
                    .unwrap_or_default()
        ),
        Action::Link(a) => format!(
            "links an account{} with password {:?}{}",
            a.username
                .as_ref()
                .map(|u| format!(" as {u:?}"))
                .unwrap_or_default(),
            a.password,
            browser(&a.driver)
        ),
        Action::SkipLink(a) => format!("skips linking{}", browser(&a.driver)),
        Action::Invite(a) => format!("an admin invites account {:?}", a.account),
        Action::AcceptInvitation(a) => format!(
            "{} accepts the invitation of {:?}{}{}",
            a.user,
            a.account,
            with(&a.profile, &a.knobs),
            browser(&a.driver)
        ),
        Action::AdvanceClock(a) => format!("both clocks advance {} s", a.seconds),
        Action::Renew(a) => format!(
            "passive renewal{}{}",
            with(&a.profile, &a.knobs),
            browser(&a.driver)
        ),
        Action::Logout(a) => format!(
            "{}{}",
            match a.via {
                Via::Sp if a.cross_site => {
                    "another site makes the browser GET /logout, then POST it without the form's token"
                        .to_owned()
                }
                Via::Sp => "the browser signs out at /logout (SP-initiated)".to_owned(),
                Via::Idp => format!(
                    "the IdP logs out {} over HTTP-{}",
                    a.user.as_deref().unwrap_or("?"),
                    match a.binding {
                        Binding::Redirect => "Redirect",
                        Binding::Post => "POST",
                    }
                ),
            },
            match &a.knobs {
                Some(knobs) => format!(
                    ", logout knobs {}",
                    serde_json::to_string(knobs).unwrap_or_default()
                ),
                None => String::new(),
            } + &browser(&a.driver)
        ),
        Action::Replay(a) => format!(
            "the last SAMLResponse is posted again from browser {:?}",
            a.driver.as_deref().unwrap_or(crate::scenario::ATTACKER)
        ),
        Action::RecoveryLogin(a) => format!(
            "recovery password login as {:?}{}",
            a.username,
            browser(&a.driver)
        ),
        Action::Check(a) => format!("the browser asks /me{}", browser(&a.driver)),
        Action::SetRoles(a) => format!("an admin sets the roles of {} to {:?}", a.user, a.roles),
        Action::IdpSetAccess(a) => format!("the IdP sets {}'s access to {}", a.user, a.access),
        Action::IdpRemoveUser(a) => format!("the IdP removes {}", a.user),
        Action::IdpEndSessions(_) => "the IdP ends every session".into(),
        Action::IdpForbidFraming(a) => format!("the IdP forbid_framing = {}", a.forbid),
    }
}

fn queue(ctx: &Ctx, profile: &Option<String>, knobs: &Option<toml::Table>) -> Result<(), String> {
    queue_at(&ctx.pair.idp, profile, knobs)
}

fn queue_at(
    idp: &mock_idp::server::Idp,
    profile: &Option<String>,
    knobs: &Option<toml::Table>,
) -> Result<(), String> {
    if profile.is_none() && knobs.is_none() {
        return Ok(());
    }
    let knobs = match knobs {
        Some(table) => serde_json::to_value(table).map_err(|e| e.to_string())?,
        None => Value::Null,
    };
    idp.set_next(NextResponses {
        profile: profile.clone(),
        knobs,
        count: 1,
        user: None,
    })
    .map_err(|e| format!("the IdP refused the knobs: {e}"))
}

fn from_sign_in(outcome: SignInOutcome, actual: &mut Actual) {
    match outcome {
        SignInOutcome::SignedIn { landing, .. } => {
            actual.outcome = Some("signed_in".into());
            actual.landing = Some(
                url::Url::parse(&landing)
                    .map(|u| match u.query() {
                        Some(q) => format!("{}?{q}", u.path()),
                        None => u.path().to_owned(),
                    })
                    .unwrap_or(landing),
            );
        }
        SignInOutcome::Refused {
            status,
            code,
            message,
            detail,
        } => {
            actual.outcome = Some("refused".into());
            actual.code = Some(code);
            actual.status = Some(status);
            actual.message = Some(message).filter(|m| !m.is_empty());
            actual.detail = Some(detail).filter(|m| !m.is_empty());
        }
        SignInOutcome::IdpRefused { status, body } => {
            actual.outcome = Some("idp_refused".into());
            actual.status = Some(status);
            actual.full_page = Some(body);
        }
        SignInOutcome::LinkPrompt { page } => {
            actual.outcome = Some("link_prompt".into());
            actual.full_page = Some(page);
        }
    }
}

fn from_visit(visited: &Visited, actual: &mut Actual) -> Vec<SamlMessage> {
    actual.full_page = Some(visited.body.clone());
    redirect_messages(&visited.hops)
}

async fn run_step(ctx: &mut Ctx, step: &Step) -> Result<(Actual, Vec<SamlMessage>), String> {
    let mut actual = Actual::default();
    let mut messages = Vec::new();
    let err = |e: crate::driver::DriverError| e.to_string();
    match &step.action {
        Action::SignIn(a) => {
            let (idp, idp_base, idp_entity) = match &a.idp {
                None => (
                    ctx.pair.idp.clone(),
                    ctx.pair.endpoints.idp_base_url.clone(),
                    ctx.pair.endpoints.idp_entity_id(),
                ),
                Some(name) => {
                    let extra = ctx
                        .pair
                        .extra_idp(name)
                        .ok_or_else(|| format!("no extra IdP {name:?}"))?;
                    (
                        extra.idp.clone(),
                        extra.base_url.clone(),
                        extra.entity_id.clone(),
                    )
                }
            };
            queue_at(&idp, &a.profile, &a.knobs)?;
            // With several IdPs `/login` shows a chooser: go straight to the one asked for.
            let chooser = !ctx.pair.extra_idps.is_empty();
            let sp_entity = ctx.pair.sp.config().entity_id();
            let name = a.driver.as_deref().unwrap_or(crate::scenario::MAIN);
            if let Some(poster) = &a.post_from {
                ctx.driver(poster)?;
            }
            ctx.driver(name)?;
            let driver = &ctx.drivers[name];
            // The browser that posts the IdP's answer: another one with `post_from`.
            let poster = &ctx.drivers[a.post_from.as_deref().unwrap_or(name)];
            let outcome = match a.via {
                Via::Sp if chooser => {
                    let query = {
                        let mut login = url::form_urlencoded::Serializer::new(String::new());
                        login.append_pair("idp", &idp_entity);
                        if let Some(relay_state) = &a.relay_state {
                            login.append_pair("RelayState", relay_state);
                        }
                        login.finish()
                    };
                    driver
                        .sign_in_at(&format!("/login?{query}"), &a.user)
                        .await
                        .map_err(err)?
                }
                Via::Sp => driver
                    .sign_in_posted_by(poster, &a.user, a.relay_state.as_deref())
                    .await
                    .map_err(err)?,
                Via::Idp => {
                    let mut url = url::Url::parse(&format!("{idp_base}/idp-initiated"))
                        .map_err(|e| e.to_string())?;
                    url.query_pairs_mut()
                        .append_pair("user", &a.user)
                        .append_pair("sp", &sp_entity);
                    if let Some(relay_state) = &a.relay_state {
                        url.query_pairs_mut().append_pair("RelayState", relay_state);
                    }
                    let page = driver.visit(url.as_str()).await.map_err(err)?;
                    if page.status != 200 {
                        SignInOutcome::IdpRefused {
                            status: page.status,
                            body: page.body,
                        }
                    } else {
                        let form = parse_post_form(&page.body).ok_or_else(|| {
                            "the IdP's IdP-initiated page holds no auto-submit form".to_owned()
                        })?;
                        poster.submit(&form).await.map_err(err)?
                    }
                }
            };
            from_sign_in(outcome, &mut actual);
        }
        Action::Link(a) => {
            let driver = ctx.driver(a.driver.as_deref().unwrap_or(crate::scenario::MAIN))?;
            let outcome = driver
                .link_account(a.username.as_deref(), &a.password)
                .await
                .map_err(err)?;
            from_sign_in(outcome, &mut actual);
        }
        Action::SkipLink(a) => {
            let driver = ctx.driver(a.driver.as_deref().unwrap_or(crate::scenario::MAIN))?;
            from_sign_in(driver.skip_linking().await.map_err(err)?, &mut actual);
        }
        Action::Invite(a) => {
            let id = *ctx
                .accounts
                .get(&a.account)
                .ok_or_else(|| format!("no account {:?}", a.account))?;
            let token = ctx
                .pair
                .sp
                .store()
                .invite(id)
                .await
                .map_err(|e| e.to_string())?;
            ctx.invitations.insert(a.account.clone(), token);
        }
        Action::AcceptInvitation(a) => {
            queue(ctx, &a.profile, &a.knobs)?;
            let token = ctx
                .invitations
                .get(&a.account)
                .cloned()
                .ok_or_else(|| format!("account {:?} was not invited", a.account))?;
            let driver = ctx.driver(a.driver.as_deref().unwrap_or(crate::scenario::MAIN))?;
            let outcome = driver
                .accept_invitation(&format!("/invite/{token}"), &a.user)
                .await
                .map_err(err)?;
            from_sign_in(outcome, &mut actual);
        }
        Action::AdvanceClock(a) => {
            let clocks = ctx
                .pair
                .clocks
                .clone()
                .ok_or_else(|| "the pair has no virtual clocks".to_owned())?;
            clocks.advance(time::Duration::seconds(a.seconds));
        }
        Action::Renew(a) => {
            queue(ctx, &a.profile, &a.knobs)?;
            let driver = ctx.driver(a.driver.as_deref().unwrap_or(crate::scenario::MAIN))?;
            match driver.renew().await.map_err(err)? {
                RenewOutcome::Renewed { .. } => actual.outcome = Some("renewed".into()),
                RenewOutcome::SessionEnded { code } => {
                    actual.outcome = Some("session_ended".into());
                    actual.code = Some(code);
                }
            }
        }
        Action::Logout(a) => match a.via {
            Via::Sp => {
                if let Some(knobs) = &a.knobs {
                    ctx.pair
                        .idp
                        .set_next_logout_response(knobs.clone())
                        .map_err(|e| e.to_string())?;
                }
                let driver = ctx.driver(a.driver.as_deref().unwrap_or(crate::scenario::MAIN))?;
                let page = if a.cross_site {
                    driver.cross_site_sign_out().await.map_err(err)?
                } else {
                    driver.sign_out().await.map_err(err)?
                };
                messages = from_visit(&page, &mut actual);
            }
            Via::Idp => {
                let message = ctx
                    .pair
                    .idp
                    .start_logout(StartLogout {
                        user: a.user.clone().unwrap_or_default(),
                        binding: match a.binding {
                            Binding::Redirect => LogoutBinding::Redirect,
                            Binding::Post => LogoutBinding::Post,
                        },
                        knobs: a.knobs.clone().unwrap_or_default(),
                        relay_state: a.relay_state.clone(),
                    })
                    .map_err(|e| format!("the IdP cannot start the logout: {e}"))?;
                let driver = ctx.driver(a.driver.as_deref().unwrap_or(crate::scenario::MAIN))?;
                let page = match message {
                    LogoutMessage::Redirect { url, .. } => driver.visit(&url).await.map_err(err)?,
                    LogoutMessage::Post { html, .. } => {
                        let form = parse_post_form(&html)
                            .ok_or_else(|| "the IdP's logout page holds no form".to_owned())?;
                        driver.post_and_follow(&form).await.map_err(err)?
                    }
                };
                messages = from_visit(&page, &mut actual);
            }
        },
        Action::Replay(a) => {
            let form = ctx
                .last_response
                .clone()
                .ok_or_else(|| "no SAMLResponse was captured to replay".to_owned())?;
            let driver = ctx.driver(a.driver.as_deref().unwrap_or(crate::scenario::ATTACKER))?;
            from_sign_in(driver.submit(&form).await.map_err(err)?, &mut actual);
        }
        Action::RecoveryLogin(a) => {
            let driver = ctx.driver(a.driver.as_deref().unwrap_or(crate::scenario::MAIN))?;
            let outcome = driver
                .recovery_login(&a.username, &a.password)
                .await
                .map_err(err)?;
            from_sign_in(outcome, &mut actual);
        }
        Action::Check(_) => {}
        Action::SetRoles(a) => {
            let store = ctx.pair.sp.store();
            let id = match ctx.accounts.get(&a.user) {
                Some(id) => *id,
                None => {
                    store
                        .user_by_email(&a.user)
                        .await
                        .map_err(|e| e.to_string())?
                        .ok_or_else(|| format!("the SP has no user {:?}", a.user))?
                        .id
                }
            };
            store
                .set_roles(id, &a.roles)
                .await
                .map_err(|e| e.to_string())?;
        }
        Action::IdpSetAccess(a) => {
            ctx.pair
                .idp
                .set_user_access(&a.user, a.access)
                .map_err(|e| e.to_string())?;
        }
        Action::IdpRemoveUser(a) => {
            ctx.pair
                .idp
                .remove_user(&a.user)
                .map_err(|e| e.to_string())?;
        }
        Action::IdpEndSessions(_) => {
            ctx.pair.idp.end_all_sessions();
        }
        Action::IdpForbidFraming(a) => ctx.pair.idp.set_forbid_framing(a.forbid),
    }

    // The browser's session afterwards.
    if let Some(name) = step.action.browser() {
        let driver = ctx.driver(name)?;
        let me = driver.me().await.map_err(err)?;
        actual.signed_in = Some(me.is_some());
        if let Some(me) = me {
            let text = |key: &str| me[key].as_str().map(str::to_owned);
            actual.email = text("email");
            actual.login = text("login");
            actual.first_name = text("first_name");
            actual.last_name = text("last_name");
            actual.session_expires_at = text("session_expires_at");
            actual.roles = me["roles"].as_array().map(|roles| {
                roles
                    .iter()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect()
            });
        }
        match &step.action {
            Action::Logout(_) => {
                actual.outcome = Some(
                    if actual.signed_in == Some(true) {
                        "still_signed_in"
                    } else {
                        "signed_out"
                    }
                    .into(),
                )
            }
            Action::Check(_) => {
                actual.outcome = Some(
                    if actual.signed_in == Some(true) {
                        "signed_in"
                    } else {
                        "signed_out"
                    }
                    .into(),
                )
            }
            _ => {}
        }
    }
    actual.page = actual.full_page.as_ref().map(|p| truncate(p, 4096));
    Ok((actual, messages))
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}
