//! Runs a step's action: drives its browser through the SP and the IdP, or changes the pair's
//! state directly (accounts, roles, IdP users and sessions, virtual time), and records what the
//! action itself ended in (outcome, refusal code, landing page, the last page). The session the
//! browser has afterwards, the audit log and the accounts are read by `observe`.

use mock_idp::knobs::Knobs;
use mock_idp::server::{LogoutBinding, NextResponses, StartLogout};
use serde_json::Value;

use super::execute::Ctx;
use super::wire::redirect_messages;
use super::{Actual, SamlMessage};
use crate::driver::browser::BrowserRenewal;
use crate::driver::{Driver, PasswordSetOutcome, RenewOutcome, SignInOutcome, Visited};
use crate::scenario::{Action, Binding, Outcome, Step, Via};
use crate::sut::SignInStart;

/// Performs the step's action; what the browser sees of its session afterwards is observed
/// separately (`observe`).
pub(super) async fn run(ctx: &mut Ctx, step: &Step) -> Result<(Actual, Vec<SamlMessage>), String> {
    let mut actual = Actual::default();
    let mut messages = Vec::new();
    let err = |e: crate::driver::DriverError| e.to_string();
    match &step.action {
        Action::SignIn(a) => {
            let (idp, idp_base, idp_entity) = match &a.idp {
                None => (
                    ctx.stage.idp.clone(),
                    ctx.stage.idp_base_url.clone(),
                    ctx.stage.idp_entity_id.clone(),
                ),
                Some(name) => {
                    let extra = ctx
                        .stage
                        .extra_idps
                        .iter()
                        .find(|extra| extra.name == *name)
                        .ok_or_else(|| format!("no extra IdP {name:?}"))?;
                    (
                        extra.idp.clone(),
                        extra.base_url.clone(),
                        extra.entity_id.clone(),
                    )
                }
            };
            queue_at(&idp, &a.profile, &a.knobs)?;
            // With several IdPs the SP shows a chooser: the sign-in goes to the one asked for.
            let chooser = !ctx.stage.extra_idps.is_empty();
            // The browser that starts the sign-in. The one that posts the IdP's answer (another
            // one with `post_from`) is the step's browser, whose session the step judges.
            let name = a.browser.as_deref().unwrap_or(crate::scenario::MAIN);
            let poster = browser_of(step)?;
            ctx.driver(poster)?;
            ctx.driver(name)?;
            let target = step.action.sp();
            if target != crate::scenario::SpTarget::Node1 {
                // Started at node 1, the IdP's answer posted to another SP's ACS.
                let user = login_for(&ctx.drivers[name], &idp, &a.user);
                let fetched = ctx.drivers[name]
                    .fetch_idp_form(&user, a.relay_state.as_deref())
                    .await
                    .map_err(err)?;
                let outcome = match fetched {
                    Err(refused) => refused,
                    Ok(form) => {
                        let form = ctx.retarget(&form, target)?;
                        let poster = ctx.driver_at(poster, target)?;
                        poster.submit(&form).await.map_err(err)?
                    }
                };
                from_sign_in(outcome, &mut actual);
                return Ok((actual, messages));
            }
            let driver = &ctx.drivers[name];
            let poster = &ctx.drivers[poster];
            let sp = &*ctx.stage.sp;
            // A person clicks their own button on the IdP's login page, which names the login.
            let user = &login_for(driver, &idp, &a.user);
            let outcome = match a.via {
                Via::Sp => {
                    let start = SignInStart {
                        user,
                        relay_state: a.relay_state.as_deref(),
                        choose_idp: (chooser || a.test).then_some(idp_entity.as_str()),
                        test: a.test,
                    };
                    sp.sign_in(driver, poster, start).await?
                }
                Via::Idp => {
                    sp.sign_in_idp_initiated(
                        driver,
                        poster,
                        &idp_base,
                        user,
                        a.relay_state.as_deref(),
                    )
                    .await?
                }
            };
            from_sign_in(outcome, &mut actual);
        }
        Action::Link(a) => {
            let (driver, ctx) = browser(ctx, step)?;
            let outcome = ctx
                .stage
                .sp
                .link(driver, a.username.as_deref(), Some(&a.password))
                .await?;
            from_sign_in(outcome, &mut actual);
        }
        Action::SkipLink(_) => {
            let (driver, ctx) = browser(ctx, step)?;
            from_sign_in(ctx.stage.sp.link(driver, None, None).await?, &mut actual);
        }
        Action::Invite(a) => {
            let id = *ctx
                .accounts
                .get(&a.account)
                .ok_or_else(|| format!("no account {:?}", a.account))?;
            let token = admin(ctx)?.invite(id).await?;
            ctx.invitations.insert(a.account.clone(), token);
        }
        Action::AcceptInvitation(a) => {
            queue(ctx, &a.profile, &a.knobs)?;
            let token = ctx
                .invitations
                .get(&a.account)
                .cloned()
                .ok_or_else(|| format!("account {:?} was not invited", a.account))?;
            let (driver, ctx) = browser(ctx, step)?;
            let user = login_for(driver, &ctx.stage.idp, &a.user);
            let outcome = ctx
                .stage
                .sp
                .accept_invitation(driver, &token, &user)
                .await?;
            from_sign_in(outcome, &mut actual);
        }
        Action::AdvanceClock(a) => {
            let clock = ctx
                .stage
                .clock
                .clone()
                .ok_or_else(|| "the pair has no virtual clocks".to_owned())?;
            clock.advance(time::Duration::seconds(a.delta_secs()));
        }
        Action::Renew(a) => {
            queue(ctx, &a.profile, &a.knobs)?;
            let (driver, ctx) = browser(ctx, step)?;
            match ctx.stage.sp.renew(driver).await? {
                BrowserRenewal::Done(RenewOutcome::Renewed { .. }) => {
                    actual.outcome = Some(Outcome::Renewed)
                }
                BrowserRenewal::Done(RenewOutcome::NotRenewed { .. }) => {
                    actual.outcome = Some(Outcome::NotRenewed)
                }
                BrowserRenewal::Done(RenewOutcome::SessionEnded { code }) => {
                    actual.outcome = Some(Outcome::SessionEnded);
                    // A browser's page may not say why: `observe` reads the audit log then.
                    actual.code = Some(code).filter(|c| !c.is_empty());
                }
                BrowserRenewal::Done(RenewOutcome::NoSession { status }) => {
                    actual.outcome = Some(Outcome::SignedOut);
                    actual.status = Some(status);
                }
                BrowserRenewal::Done(RenewOutcome::HttpError { status }) => {
                    actual.outcome = Some(Outcome::HttpError);
                    actual.status = Some(status);
                }
                BrowserRenewal::Blocked { message } => {
                    actual.outcome = Some(Outcome::RenewalBlocked);
                    actual.full_page = Some(message);
                }
            }
        }
        Action::Logout(a) => match a.via {
            Via::Sp => {
                if a.knobs.is_some() {
                    ctx.stage
                        .idp
                        .set_next_logout_response(logout_knobs(&a.knobs)?)
                        .map_err(|e| e.to_string())?;
                }
                let (driver, ctx) = browser(ctx, step)?;
                let page = ctx.stage.sp.sign_out(driver, a.cross_site).await?;
                messages = from_visit(&page, &mut actual);
            }
            Via::Idp => {
                let message = ctx
                    .stage
                    .idp
                    .start_logout(StartLogout {
                        user: a.user.clone().unwrap_or_default(),
                        binding: match a.binding {
                            Binding::Redirect => LogoutBinding::Redirect,
                            Binding::Post => LogoutBinding::Post,
                        },
                        knobs: logout_knobs(&a.knobs)?,
                        relay_state: a.relay_state.clone(),
                    })
                    .map_err(|e| format!("the IdP cannot start the logout: {e}"))?;
                ctx.last_logout = Some(message.clone());
                let (driver, ctx) = browser(ctx, step)?;
                let page = ctx.stage.sp.deliver_logout(driver, message).await?;
                messages = from_visit(&page, &mut actual);
            }
        },
        Action::ReplayLogout(_) => {
            let message = ctx
                .last_logout
                .clone()
                .ok_or_else(|| "no LogoutRequest was sent to replay".to_owned())?;
            let (driver, ctx) = browser(ctx, step)?;
            let page = ctx.stage.sp.deliver_logout(driver, message).await?;
            messages = from_visit(&page, &mut actual);
        }
        Action::Replay(a) => {
            let form = match &a.response_of {
                Some(of) => ctx.last_response_of.get(of).cloned(),
                None => ctx.last_response.clone(),
            }
            .ok_or_else(|| "no SAMLResponse was captured to replay".to_owned())?;
            let target = step.action.sp();
            // A form captured at another SP is first put back on node 1's path.
            let form = ctx.retarget(&unretarget(ctx, form)?, target)?;
            let name = browser_of(step)?;
            ctx.driver_at(name, target)?;
            let driver = ctx
                .existing_at(name, target)
                .ok_or_else(|| format!("browser {name:?}: none"))?;
            from_sign_in(
                ctx.stage.sp.post_response(driver, &form).await?,
                &mut actual,
            );
        }
        Action::RecoveryLogin(a) => {
            let (driver, ctx) = browser(ctx, step)?;
            let outcome = ctx
                .stage
                .sp
                .recovery_login(driver, &a.username, &a.password)
                .await?;
            from_sign_in(outcome, &mut actual);
        }
        Action::Check(_) => {}
        Action::SetRoles(a) => {
            let admin = admin(ctx)?;
            let id = match ctx.accounts.get(&a.user) {
                Some(id) => *id,
                None => sp_user(ctx, &a.user).await?.id,
            };
            admin.set_roles(id, &a.roles).await?;
        }
        Action::IdpSetAccess(a) => {
            ctx.stage
                .idp
                .set_user_access(&a.user, a.access)
                .map_err(|e| e.to_string())?;
        }
        Action::IdpRemoveUser(a) => {
            ctx.stage
                .idp
                .remove_user(&a.user)
                .map_err(|e| e.to_string())?;
        }
        Action::IdpEndSessions(_) => {
            ctx.stage.idp.end_all_sessions();
        }
        Action::IdpForbidFraming(a) => ctx.stage.idp.set_forbid_framing(a.forbid),
        Action::Visit(a) => {
            let (driver, ctx) = browser(ctx, step)?;
            let (status, location, body) = ctx.stage.sp.visit(driver, &a.path).await?;
            actual.status = Some(status);
            actual.landing = location.map(|l| path_and_query(&l));
            actual.full_page = Some(body);
        }
        Action::IdpRequireSignedRequests(a) => {
            ctx.stage.idp.set_want_authn_requests_signed(a.require)
        }
        Action::IssuePasswordSetup(a) => {
            let user = sp_user(ctx, &a.user).await?;
            let path = ctx
                .pair()?
                .sp
                .issue_password_setup(&user, "scenario admin")
                .await
                .map_err(|e| e.to_string())?;
            ctx.password_setups.insert(a.user.clone(), path);
        }
        Action::SetPassword(a) => {
            let path = match &a.token {
                Some(token) => format!("/password/setup/{token}"),
                None => ctx
                    .password_setups
                    .get(&a.user)
                    .cloned()
                    .ok_or_else(|| format!("no password-setup link for {:?}", a.user))?,
            };
            let driver = ctx.driver(browser_of(step)?)?;
            match driver.set_password(&path, &a.password).await.map_err(err)? {
                PasswordSetOutcome::Set => actual.outcome = Some(Outcome::PasswordSet),
                PasswordSetOutcome::Refused { status, code } => {
                    actual.outcome = Some(Outcome::Refused);
                    actual.status = Some(status);
                    actual.code = Some(code);
                }
            }
        }
    }
    Ok((actual, messages))
}

/// The SP's user a step names: an `[[accounts]]` handle, else a login or e-mail.
async fn sp_user(ctx: &Ctx, name: &str) -> Result<sp::store::User, String> {
    let store = ctx.pair()?.sp.store();
    let found = match ctx.accounts.get(name) {
        Some(id) => store.user_by_id(*id).await,
        None => store.user_by_login_or_email(name).await,
    };
    found
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the SP has no user {name:?}"))
}

/// The user as `driver` names them at the IdP: the browser clicks the button of the user's login
/// (a scenario may name the user by e-mail); the HTTP driver's login hint takes either.
fn login_for(driver: &Driver, idp: &mock_idp::server::Idp, user: &str) -> String {
    if !driver.is_browser() {
        return user.to_owned();
    }
    idp.users()
        .into_iter()
        .find(|u| u.login == user || u.email == user)
        .map_or_else(|| user.to_owned(), |u| u.login)
}

/// A captured form as posted to node 1: forms captured at node 2 or the second workspace go
/// back to the pair's own base URL (same path).
fn unretarget(
    ctx: &Ctx,
    mut form: crate::driver::PostForm,
) -> Result<crate::driver::PostForm, String> {
    use crate::scenario::SpTarget;
    for target in [SpTarget::Node2, SpTarget::Workspace2] {
        if let Ok(base) = ctx.base_url(target)
            && let Some(path) = form.action.strip_prefix(base.as_str())
        {
            form.action = format!("{}{path}", ctx.base_url(SpTarget::Node1)?);
        }
    }
    Ok(form)
}

/// The SP's admin actions, or why there are none.
fn admin(ctx: &Ctx) -> Result<&dyn crate::sut::SpAdmin, String> {
    ctx.stage
        .sp
        .admin()
        .ok_or_else(|| crate::sut::not_offered("admin actions", ctx.stage.sp.name()))
}

/// The step's browser, made on first use, beside the rest of the scenario's state.
fn browser<'c>(ctx: &'c mut Ctx, step: &Step) -> Result<(&'c Driver, &'c Ctx), String> {
    let name = browser_of(step)?;
    ctx.driver(name)?;
    let ctx: &'c Ctx = ctx;
    Ok((&ctx.drivers[name], ctx))
}

/// The browser the step acts in: `Action::browser` holds the rule (and the defaults).
fn browser_of(step: &Step) -> Result<&str, String> {
    step.action
        .browser()
        .ok_or_else(|| format!("{} has no browser", step.action.name()))
}

/// A `logout` step's knobs (the load-time check already refused bad ones and warned of old names).
fn logout_knobs(knobs: &Option<toml::Table>) -> Result<Knobs, String> {
    crate::scenario::resolve_logout_knobs(knobs.as_ref())
        .map(|(knobs, _)| knobs)
        .map_err(|e| format!("the IdP refused the logout knobs: {e}"))
}

fn queue(ctx: &Ctx, profile: &Option<String>, knobs: &Option<toml::Table>) -> Result<(), String> {
    queue_at(&ctx.stage.idp, profile, knobs)
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
            actual.outcome = Some(Outcome::SignedIn);
            actual.landing = Some(path_and_query(&landing));
        }
        SignInOutcome::Refused {
            status,
            code,
            message,
            detail,
        } => {
            actual.outcome = Some(Outcome::Refused);
            actual.code = Some(code);
            actual.status = Some(status);
            actual.message = Some(message).filter(|m| !m.is_empty());
            actual.detail = Some(detail).filter(|m| !m.is_empty());
        }
        SignInOutcome::IdpRefused { status, body } => {
            actual.outcome = Some(Outcome::IdpRefused);
            actual.status = Some(status);
            actual.full_page = Some(body);
        }
        SignInOutcome::LinkPrompt { page } => {
            actual.outcome = Some(Outcome::LinkPrompt);
            actual.full_page = Some(page);
        }
        SignInOutcome::Tested { page } => {
            actual.outcome = Some(Outcome::Tested);
            actual.full_page = Some(page);
        }
    }
}

/// Path and query of a URL (a relative one as it is).
fn path_and_query(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        })
        .unwrap_or_else(|_| url.to_owned())
}

fn from_visit(visited: &Visited, actual: &mut Actual) -> Vec<SamlMessage> {
    actual.full_page = Some(visited.body.clone());
    redirect_messages(&visited.hops)
}
