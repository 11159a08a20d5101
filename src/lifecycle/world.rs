//! The world a sequence runs in: the real reference SP (in-memory SQLite store, real xmlsec) and
//! the real mock IdP, both on one `ManualClock`, their routers driven in process by
//! [`Browser`]s; and the actions that run a [`Step`] there.

use mock_idp::server::{Idp, LogoutMessage, NextResponses, StartLogout, UserChange};
use serde_json::Value;
use sp::accounts::NewLocalAccount;
use sp::store::{AuditEvent, StoredTable};
use time::OffsetDateTime;

use super::browser::{Answer, Browser, IDP_BASE, SP_BASE, Servers};
use super::step::{GROUPS, Profile, Step, User, Via};
use crate::demo::{self, Endpoints};
use crate::driver::{PostForm, parse_post_form};

/// Where virtual time starts, as in the scenario catalogue.
pub const START: OffsetDateTime = time::macros::datetime!(2026-06-01 12:00 UTC);

/// The local account the linking steps prove: `bob` / `hunter2`, role `editor`.
pub const BOB_PASSWORD: &str = "hunter2";
pub const WRONG_PASSWORD: &str = "letmein";

/// The SP configuration the model states: the demo one with `account_linking = "prompt"` (so
/// every first sign-in of an identity asks: link or skip) and no background sweep (the
/// sequence owns time).
pub fn sp_overrides() -> toml::Table {
    let text = r#"
[sp]
account_linking = "prompt"
[limits]
sweep_interval_secs = 0
"#;
    // A constant; failing to parse it is a bug here.
    toml::from_str(text).unwrap_or_else(|e| panic!("lifecycle SP overrides: {e}"))
}

/// How a step ended, as its browser saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The SP signed the browser in.
    SignedIn,
    /// The SP refused, with this reason code.
    Refused { status: u16, code: String },
    /// The IdP would not answer (e.g. an unknown user): nothing reached the SP.
    IdpRefused,
    /// The SP shows the linking page (after a sign-in, or again after a wrong password).
    LinkPrompt,
    /// A renewal refreshed the session.
    Renewed,
    /// A renewal ended the session, with this code (`http.401`: there was none to renew).
    SessionEnded { code: String },
    /// The step's action ran (or could not apply, e.g. logging out nobody) without a verdict.
    Done,
}

/// What the SP shows a browser of its session (`/me`), and whom the store says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub email: String,
    pub roles: Vec<String>,
    pub session_expires_at: String,
    pub session_index: Option<String>,
    pub name_id: String,
    /// The SP user the session's identity is linked to.
    pub user_id: Option<i64>,
}

/// What is observed after a step.
#[derive(Debug, Clone)]
pub struct Observed {
    pub me: Vec<Option<Me>>,
    /// Audit events the step added: (kind, code).
    pub audit: Vec<(String, Option<String>)>,
    pub users: u64,
    pub server_errors: Vec<String>,
}

/// IdP facts the model needs to predict a step (the IdP is the environment, not the system
/// under test): read before the step runs.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The login of the live IdP session the step's browser holds a cookie for.
    pub idp_session_user: Option<String>,
    /// For `LogoutIdp`: the SessionIndex the LogoutRequest names, if the IdP starts one.
    pub logout_session_index: Option<String>,
}

pub struct World {
    pub sp: sp::web::Sp,
    pub idp: Idp,
    pub clock: plumbing::clock::ManualClock,
    servers: Servers,
    pub browsers: Vec<Browser>,
    /// Every SAMLResponse form posted to the ACS, oldest first (what `Replay` picks from).
    pub responses: Vec<PostForm>,
    /// The local account bob's user ID.
    pub bob_id: i64,
    audit_seen: usize,
}

impl World {
    pub async fn new() -> Result<World, String> {
        let endpoints = Endpoints {
            idp_base_url: IDP_BASE.into(),
            sp_base_url: SP_BASE.into(),
        };
        let keys = mock_idp::keys::IdpKeys::fixed_for_tests();
        let mut table: toml::Table = toml::from_str(&demo::sp_config_toml(
            &endpoints,
            &keys.idp.cert_pem,
            ":memory:",
        ))
        .map_err(|e| e.to_string())?;
        crate::harness::merge_toml(&mut table, &sp_overrides());
        let text = toml::to_string(&table).map_err(|e| e.to_string())?;
        let sp_config = sp::config::SpConfig::from_toml(&text).map_err(|e| e.to_string())?;
        let sp_keys = sp::keys::SpKeys::fixed_for_tests();
        let mut idp_config = demo::idp_config(&endpoints, &sp_config, false);
        for known in &mut idp_config.service_providers {
            known.signing_cert_pem = Some(sp_keys.cert_pem.clone());
            known.encryption_cert_pem = sp_keys.encryption.as_ref().map(|e| e.cert_pem.clone());
        }
        let clock = plumbing::clock::ManualClock::new(START);
        let shared: std::sync::Arc<dyn plumbing::clock::Clock> = std::sync::Arc::new(clock.clone());
        let idp = Idp::new(idp_config, keys, shared.clone());
        let store = sp::store::Store::open(&sp_config.sp.database)
            .await
            .map_err(|e| e.to_string())?;
        let sp = sp::web::Sp::new(sp_config, store, shared, sp_keys).map_err(|e| e.to_string())?;
        let bob = sp
            .store()
            .create_local_account(
                &NewLocalAccount {
                    login: Some("bob".into()),
                    email: "bob@example.com".into(),
                    first_name: None,
                    last_name: None,
                    password: Some(BOB_PASSWORD.into()),
                    roles: vec!["editor".into()],
                    sso_allowed: true,
                },
                START - time::Duration::days(31),
            )
            .await
            .map_err(|e| e.to_string())?;
        let servers = Servers {
            sp: sp::web::router(sp.clone()),
            idp: mock_idp::server::router(idp.clone()),
        };
        let audit_seen = sp
            .store()
            .audit_events()
            .await
            .map_err(|e| e.to_string())?
            .len();
        Ok(World {
            sp,
            idp,
            clock,
            servers,
            browsers: vec![Browser::default(); usize::from(super::step::BROWSERS)],
            responses: Vec::new(),
            bob_id: bob.id,
            audit_seen,
        })
    }

    pub fn idp_entity_id(&self) -> String {
        format!("{IDP_BASE}/metadata")
    }

    /// What the IdP knows that the model needs for `step`.
    pub fn facts(&self, step: &Step) -> Facts {
        let sessions = self.idp.sessions();
        let mut facts = Facts::default();
        let browser = match step {
            Step::SignIn { browser, .. }
            | Step::Link { browser, .. }
            | Step::SkipLink { browser }
            | Step::Renew { browser }
            | Step::LogoutSp { browser }
            | Step::LogoutIdp { browser, .. }
            | Step::Replay { browser, .. } => Some(*browser),
            _ => None,
        };
        if let Some(b) = browser
            && let Some(cookie) =
                self.browsers[usize::from(b)].cookie("idp.test", mock_idp::server::SESSION_COOKIE)
        {
            facts.idp_session_user = sessions
                .iter()
                .find(|s| s.id == cookie)
                .map(|s| s.login.clone());
        }
        if let Step::LogoutIdp { user, .. } = step {
            facts.logout_session_index = sessions
                .iter()
                .rev()
                .find(|s| s.login == user.login())
                .map(|s| s.session_index.clone());
        }
        facts
    }

    /// Runs `step`; an error is the world's own failure (an answer no browser could read).
    pub async fn run(&mut self, step: &Step) -> Result<Outcome, String> {
        match *step {
            Step::SignIn {
                browser,
                user,
                profile,
                via,
            } => self.sign_in(browser, user, profile, via).await,
            Step::Link {
                browser,
                right_password,
            } => {
                let password = if right_password {
                    BOB_PASSWORD
                } else {
                    WRONG_PASSWORD
                };
                let fields = pairs(&[
                    ("action", "link"),
                    ("username", "bob"),
                    ("password", password),
                ]);
                let servers = self.servers.clone();
                let answer = self
                    .browser(browser)
                    .post(&servers, &format!("{SP_BASE}/link"), &fields, false)
                    .await?;
                self.verdict(browser, answer).await
            }
            Step::SkipLink { browser } => {
                let fields = pairs(&[("action", "skip")]);
                let servers = self.servers.clone();
                let answer = self
                    .browser(browser)
                    .post(&servers, &format!("{SP_BASE}/link"), &fields, false)
                    .await?;
                self.verdict(browser, answer).await
            }
            Step::AdvanceClock { seconds } => {
                self.clock
                    .advance(time::Duration::seconds(i64::from(seconds)));
                Ok(Outcome::Done)
            }
            Step::Renew { browser } => self.renew(browser).await,
            Step::LogoutSp { browser } => {
                let servers = self.servers.clone();
                let b = self.browser(browser);
                let page = b.get(&servers, &format!("{SP_BASE}/logout")).await?;
                let Some(form) = logout_form(&page.body) else {
                    return Ok(Outcome::Done);
                };
                let answer = b
                    .post(&servers, &format!("{SP_BASE}/logout"), &form.fields, false)
                    .await?;
                b.follow(&servers, answer).await?;
                Ok(Outcome::Done)
            }
            Step::LogoutIdp { browser, user } => {
                let Ok(message) = self.idp.start_logout(StartLogout {
                    user: user.login().into(),
                    binding: mock_idp::server::LogoutBinding::Redirect,
                    knobs: Default::default(),
                    relay_state: None,
                }) else {
                    return Ok(Outcome::Done);
                };
                let servers = self.servers.clone();
                let b = self.browser(browser);
                match message {
                    LogoutMessage::Redirect { url, .. } => {
                        let answer = b.get(&servers, &url).await?;
                        b.follow(&servers, answer).await?;
                    }
                    LogoutMessage::Post { html, .. } => {
                        let form = parse_post_form(&html).ok_or("IdP logout page without form")?;
                        let answer = b.submit(&servers, &form, false).await?;
                        b.follow(&servers, answer).await?;
                    }
                }
                Ok(Outcome::Done)
            }
            Step::Replay { browser, back } => {
                let Some(newest) = self.responses.len().checked_sub(1) else {
                    return Ok(Outcome::Done);
                };
                let index = newest - usize::from(back).min(newest);
                let form = self.responses[index].clone();
                self.post_response(browser, &form).await
            }
            Step::IdpSetAccess { user, access } => {
                let _ = self.idp.set_user_access(user.login(), access);
                Ok(Outcome::Done)
            }
            Step::IdpSetGroups { user, groups } => {
                let groups = GROUPS
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| groups & (1 << i) != 0)
                    .map(|(_, (name, id))| mock_idp::users::Group {
                        name: (*name).into(),
                        object_id: (*id).into(),
                    })
                    .collect();
                let _ = self.idp.change_user(
                    user.login(),
                    UserChange {
                        groups: Some(groups),
                        ..UserChange::default()
                    },
                );
                Ok(Outcome::Done)
            }
            Step::IdpRemoveUser { user } => {
                let _ = self.idp.remove_user(user.login());
                Ok(Outcome::Done)
            }
        }
    }

    fn browser(&mut self, browser: u8) -> &mut Browser {
        let index = usize::from(browser) % self.browsers.len();
        &mut self.browsers[index]
    }

    async fn sign_in(
        &mut self,
        browser: u8,
        user: User,
        profile: Profile,
        via: Via,
    ) -> Result<Outcome, String> {
        if profile != Profile::Valid {
            self.idp
                .set_next(NextResponses {
                    profile: Some(profile.name().into()),
                    knobs: Value::Null,
                    count: 1,
                    user: None,
                })
                .map_err(|e| e.to_string())?;
        }
        let servers = self.servers.clone();
        let sp_entity = self.sp.config().entity_id();
        let b = self.browser(browser);
        let idp_page = match via {
            Via::Sp => {
                let login = b.get(&servers, &format!("{SP_BASE}/login")).await?;
                let Some(location) = login
                    .location
                    .filter(|_| login.status == 303 || login.status == 302)
                else {
                    return Err(format!("/login answered {}", login.status));
                };
                let mut sso = url::Url::parse(&location).map_err(|e| e.to_string())?;
                sso.query_pairs_mut()
                    .append_pair("login_hint", user.login());
                b.get(&servers, sso.as_str()).await?
            }
            Via::Idp => {
                let mut url = url::Url::parse(&format!("{IDP_BASE}/idp-initiated"))
                    .map_err(|e| e.to_string())?;
                url.query_pairs_mut()
                    .append_pair("user", user.login())
                    .append_pair("sp", &sp_entity);
                b.get(&servers, url.as_str()).await?
            }
        };
        // Whatever was queued and not used (the IdP refused) must not leak into the next step.
        self.idp.clear_next();
        let form = match parse_post_form(&idp_page.body) {
            Some(form) if idp_page.status == 200 && form.field("SAMLResponse").is_some() => form,
            _ => return Ok(Outcome::IdpRefused),
        };
        self.post_response(browser, &form).await
    }

    async fn post_response(&mut self, browser: u8, form: &PostForm) -> Result<Outcome, String> {
        self.responses.push(form.clone());
        let servers = self.servers.clone();
        let answer = self.browser(browser).submit(&servers, form, true).await?;
        self.verdict(browser, answer).await
    }

    /// Reads an SP answer to a posted response or a linking decision.
    async fn verdict(&mut self, browser: u8, answer: Answer) -> Result<Outcome, String> {
        if answer.is_redirect() {
            let landing = answer.location.clone().unwrap_or_default();
            if url::Url::parse(&landing).is_ok_and(|u| u.path() == "/link") {
                return Ok(Outcome::LinkPrompt);
            }
            return Ok(Outcome::SignedIn);
        }
        if answer.status == 401 && crate::driver::is_link_prompt(&answer.body) {
            return Ok(Outcome::LinkPrompt);
        }
        if answer.content_type.starts_with("application/json") {
            let body: Value = serde_json::from_str(&answer.body).map_err(|e| e.to_string())?;
            if body["renewed"] == true {
                return Ok(Outcome::Renewed);
            }
            let code = body["error"].as_str().unwrap_or_default().to_owned();
            return Ok(Outcome::Refused {
                status: answer.status,
                code,
            });
        }
        let _ = browser;
        Ok(Outcome::Refused {
            status: answer.status,
            code: crate::driver::reason_code(&answer.body)
                .unwrap_or_else(|| format!("http.{}", answer.status)),
        })
    }

    async fn renew(&mut self, browser: u8) -> Result<Outcome, String> {
        let servers = self.servers.clone();
        let b = self.browser(browser);
        let start = b.get(&servers, &format!("{SP_BASE}/renew")).await?;
        let Some(location) = start.location.clone().filter(|_| start.is_redirect()) else {
            return Ok(Outcome::SessionEnded {
                code: format!("http.{}", start.status),
            });
        };
        let page = b.get(&servers, &location).await?;
        let form = parse_post_form(&page.body)
            .filter(|f| f.field("SAMLResponse").is_some())
            .ok_or_else(|| {
                format!(
                    "the IdP did not answer the passive request: {}",
                    page.status
                )
            })?;
        self.responses.push(form.clone());
        let answer = self.browser(browser).submit(&servers, &form, true).await?;
        match self.verdict(browser, answer).await? {
            Outcome::Refused { code, .. } => Ok(Outcome::SessionEnded { code }),
            other => Ok(other),
        }
    }

    /// What every browser's session is, the audit events added since the last call, and more.
    pub async fn observe(&mut self) -> Result<Observed, String> {
        let servers = self.servers.clone();
        let idp = self.idp_entity_id();
        let mut me = Vec::new();
        for index in 0..self.browsers.len() {
            let answer = self.browsers[index]
                .get(&servers, &format!("{SP_BASE}/me"))
                .await?;
            match answer.status {
                200 => {
                    let body: Value =
                        serde_json::from_str(&answer.body).map_err(|e| e.to_string())?;
                    let text = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
                    let mut roles: Vec<String> = body["roles"]
                        .as_array()
                        .map(|r| {
                            r.iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    roles.sort();
                    let name_id = text("name_id");
                    let user_id = self
                        .sp
                        .store()
                        .user_by_identity(&idp, &name_id)
                        .await
                        .map_err(|e| e.to_string())?
                        .map(|u| u.id);
                    me.push(Some(Me {
                        email: text("email"),
                        roles,
                        session_expires_at: text("session_expires_at"),
                        session_index: body["session_index"].as_str().map(str::to_owned),
                        name_id,
                        user_id,
                    }));
                }
                401 => me.push(None),
                other => return Err(format!("/me answered {other}")),
            }
        }
        let events: Vec<AuditEvent> = self
            .sp
            .store()
            .audit_events()
            .await
            .map_err(|e| e.to_string())?;
        let audit = events
            .iter()
            .skip(self.audit_seen)
            .map(|e| (e.kind.clone(), e.code.clone()))
            .collect();
        self.audit_seen = events.len();
        let users = self
            .sp
            .store()
            .row_count(StoredTable::Users)
            .await
            .map_err(|e| e.to_string())?;
        let server_errors = self
            .browsers
            .iter_mut()
            .flat_map(|b| std::mem::take(&mut b.server_errors))
            .collect();
        Ok(Observed {
            me,
            audit,
            users,
            server_errors,
        })
    }
}

fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The sign-out confirmation form (posting to `/logout`), when the page has one.
fn logout_form(html: &str) -> Option<PostForm> {
    crate::driver::form_with_action(html, "/logout")
}

/// Whether `step` did nothing at the SP's end: an IdP logout of a user without an IdP session,
/// a replay before any response (`responses`: how many were posted, after the step).
pub fn is_noop(step: &Step, facts: &Facts, responses: usize) -> bool {
    match step {
        Step::LogoutIdp { .. } => facts.logout_session_index.is_none(),
        Step::Replay { .. } => responses == 0,
        _ => false,
    }
}
