//! The IdP as a service: configuration, the in-process control handle [`Idp`], and [`router`].

mod directory;
mod html;
mod routes;
mod session;
mod slo;
mod sso;
mod workbench;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::authn_request::AuthnRequest;
use crate::keys::IdpKeys;
use crate::knobs::{KnobError, Knobs, Reader};
use crate::mint::{CounterIds, IdSource, MintError, RandomIds};
use crate::profiles;
use crate::users::{self, User};
use plumbing::clock::Clock;

pub use directory::UserChange;
pub use html::auto_submit_saml_form;
pub use html::{auto_submit_form, error_page, login_page, review_page};
pub use routes::router;
pub use session::{IdpSession, SESSION_COOKIE};
pub use slo::{
    LogoutBinding, LogoutMessage, ReceivedLogoutRequest, ReceivedLogoutResponse, SloError,
    StartLogout,
};
pub use sso::SsoError;

/// A service provider the IdP will answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownSp {
    /// The SP's entity ID (the AuthnRequest Issuer and the Audience).
    pub entity_id: String,
    /// Its registered ACS URLs; the first is used when a request names none.
    pub acs_urls: Vec<String>,
    /// Its single logout service (HTTP-Redirect), e.g. `{base}/saml/sls`: where LogoutRequests
    /// and LogoutResponses go. `None`: the SP takes no part in single logout.
    #[serde(default)]
    pub slo_url: Option<String>,
    /// The SP's signing certificate (PEM), to verify its signed LogoutRequests and
    /// LogoutResponses. `None`: every SP logout message counts as unverifiable and is refused.
    #[serde(default)]
    pub signing_cert_pem: Option<String>,
    /// The SP's encryption certificate (PEM; its metadata's `use="encryption"` KeyDescriptor),
    /// which the encryption knobs encrypt to. `None`: a response the knobs ask to encrypt is
    /// refused with `mint_failed`.
    #[serde(default)]
    pub encryption_cert_pem: Option<String>,
}

/// How the IdP is set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpConfig {
    /// The IdP's entity ID.
    pub entity_id: String,
    /// Where the IdP is served, e.g. `http://127.0.0.1:8081`, without a trailing slash.
    pub base_url: String,
    /// The SPs it answers; any other SP or ACS URL gets an error page.
    pub service_providers: Vec<KnownSp>,
    /// The directory of users who can sign in.
    pub users: Vec<User>,
    /// The profile used when nothing is queued (normally `valid`).
    pub default_profile: String,
    /// Counter IDs instead of random ones (pair with a `ManualClock` and fixed keys for
    /// byte-for-byte stable output).
    pub deterministic: bool,
    /// Starts the IdP with the page knob [`Knobs::forbid_framing`] set (it can be flipped at run
    /// time: `POST /_control/framing`).
    #[serde(default)]
    pub forbid_framing: bool,
    /// Starts the IdP requiring signed AuthnRequests (its metadata's `WantAuthnRequestsSigned`);
    /// flipped at run time with [`Idp::set_want_authn_requests_signed`]. A signature that is
    /// present is verified either way.
    #[serde(default)]
    pub want_authn_requests_signed: bool,
}

/// Why an [`IdpConfig`] cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `default_profile` names no profile.
    #[error("default_profile `{0}` is not a profile; profiles: {names}", names = profiles::names())]
    UnknownDefaultProfile(String),
    /// `base_url` ends with `/`, which would make `//sso` URLs.
    #[error("base_url `{0}` must not end with `/`")]
    BaseUrlTrailingSlash(String),
    /// An SP has no ACS URL to send responses to.
    #[error("service provider `{0}` has no acs_urls")]
    SpWithoutAcs(String),
    /// Two users share a login, so a login hint would be ambiguous.
    #[error("two users have the login `{0}`")]
    DuplicateLogin(String),
}

impl IdpConfig {
    /// Checks the configuration; call before serving.
    pub fn check(&self) -> Result<(), ConfigError> {
        if profiles::get(&self.default_profile).is_none() {
            return Err(ConfigError::UnknownDefaultProfile(
                self.default_profile.clone(),
            ));
        }
        if self.base_url.ends_with('/') {
            return Err(ConfigError::BaseUrlTrailingSlash(self.base_url.clone()));
        }
        if let Some(sp) = self
            .service_providers
            .iter()
            .find(|sp| sp.acs_urls.is_empty())
        {
            return Err(ConfigError::SpWithoutAcs(sp.entity_id.clone()));
        }
        for (i, user) in self.users.iter().enumerate() {
            if self
                .users
                .iter()
                .take(i)
                .any(|earlier| earlier.login == user.login)
            {
                return Err(ConfigError::DuplicateLogin(user.login.clone()));
            }
        }
        Ok(())
    }
}

/// What the next response(s) should look like (body of `POST /_control/next`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NextResponses {
    /// Profile to start from; `None` starts from the default profile.
    pub profile: Option<String>,
    /// Partial knob overrides on top of the profile, e.g. `{"validity_secs": 60}`.
    pub knobs: serde_json::Value,
    /// How many responses these knobs apply to (at least 1).
    pub count: u32,
    /// Login or email of the user to sign in without showing the login page.
    pub user: Option<String>,
}

impl Default for NextResponses {
    fn default() -> Self {
        NextResponses {
            profile: None,
            knobs: serde_json::Value::Null,
            count: 1,
            user: None,
        }
    }
}

/// The binding an AuthnRequest arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Binding {
    /// `GET /sso` with a deflated `SAMLRequest`.
    HttpRedirect,
    /// `POST /sso` with a base64 `SAMLRequest` form field.
    HttpPost,
}

/// One request to `/sso`, as recorded for `GET /_control/requests`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedAuthnRequest {
    /// When it arrived (IdP time).
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The binding used.
    pub binding: Binding,
    /// `RelayState`, as sent.
    pub relay_state: Option<String>,
    /// `SigAlg` (Redirect binding), as sent.
    pub sig_alg: Option<String>,
    /// `Signature` (Redirect binding), as sent; verified against the SP's `signing_cert_pem`
    /// when present or when signed requests are required.
    pub signature: Option<String>,
    /// `login_hint`, as sent.
    pub login_hint: Option<String>,
    /// The decoded request; `None` if it could not be decoded.
    pub request: Option<AuthnRequest>,
    /// Why the IdP refused to answer; `None` if it answered (or showed the login page).
    pub refusal: Option<String>,
}

/// A control-API request the IdP refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// No profile has this name.
    #[error("unknown profile `{0}`; profiles: {names}", names = profiles::names())]
    UnknownProfile(String),
    /// A knob override was refused.
    #[error(transparent)]
    KnobsRefused(#[from] KnobError),
    /// No user has this login or email.
    #[error("no user has the login or email `{0}`")]
    UnknownUser(String),
    /// No SP has this entity ID (or none is configured).
    #[error("no service provider has the entity ID `{0}`")]
    UnknownSp(String),
    /// `count` was 0.
    #[error("count must be at least 1")]
    ZeroCount,
    /// The request body is not what the endpoint expects.
    #[error("bad request body: {0}")]
    BadBody(String),
    /// The clock cannot be moved there.
    #[error("the clock cannot move to {0}")]
    ClockOutOfRange(String),
    /// Minting failed.
    #[error(transparent)]
    MintFailed(#[from] MintError),
    /// The user has no live IdP session to log out of (and no `logout_session_index_override`
    /// says which session to name).
    #[error("`{0}` has no live IdP session; sign in first or set logout_session_index_override")]
    NoSession(String),
    /// The SP has no `slo_url`, so there is nowhere to send logout messages.
    #[error("the service provider `{0}` has no slo_url")]
    NoSloUrl(String),
    /// Building or signing a logout message failed (a bug or a bad key).
    #[error("building the logout message failed: {0}")]
    LogoutFailed(String),
}

impl ControlError {
    /// A stable code for the JSON `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            ControlError::UnknownProfile(_) => "unknown_profile",
            ControlError::KnobsRefused(_) => "bad_knob",
            ControlError::UnknownUser(_) => "unknown_user",
            ControlError::UnknownSp(_) => "unknown_sp",
            ControlError::ZeroCount => "zero_count",
            ControlError::BadBody(_) => "bad_body",
            ControlError::ClockOutOfRange(_) => "clock_out_of_range",
            ControlError::MintFailed(_) => "mint_failed",
            ControlError::NoSession(_) => "no_session",
            ControlError::NoSloUrl(_) => "no_slo_url",
            ControlError::LogoutFailed(_) => "logout_failed",
        }
    }
}

/// A cheap-to-clone handle on a running IdP. Each method mirrors a control endpoint, so tests can
/// drive the IdP in-process.
#[derive(Clone)]
pub struct Idp {
    inner: Arc<Inner>,
}

struct Inner {
    config: IdpConfig,
    keys: IdpKeys,
    clock: Arc<dyn Clock>,
    ids: Box<dyn IdSource>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Added to the injected clock by `set_clock`/`advance_clock`.
    clock_offset: Duration,
    queue: VecDeque<Queued>,
    requests: Vec<ReceivedAuthnRequest>,
    /// The current directory: starts as `config.users`, changed by the control API.
    users: Vec<User>,
    /// Live (and not yet pruned expired) IdP sessions.
    sessions: Vec<IdpSession>,
    /// The IdP's standing knobs: an unqueued response is minted with them, and their page
    /// knobs apply to every `/sso` answer. They start as the default profile's knobs with
    /// `config.forbid_framing`.
    standing: Knobs,
    logout_requests: Vec<ReceivedLogoutRequest>,
    logout_responses: Vec<ReceivedLogoutResponse>,
    /// Knobs for the next LogoutResponse only (their logout section).
    next_logout_response: Option<Knobs>,
    /// IDs of the LogoutRequests the IdP sent, to tell which SP LogoutResponses answer one.
    sent_logout_requests: Vec<String>,
    /// Refuse AuthnRequests without a verified signature (starts as
    /// `config.want_authn_requests_signed`).
    want_authn_requests_signed: bool,
}

/// Knobs waiting in the queue for `remaining` more responses.
#[derive(Debug, Clone)]
struct Queued {
    profile: String,
    knobs: Knobs,
    remaining: u32,
    user: Option<String>,
}

/// The knobs chosen for one response.
struct Chosen {
    profile: String,
    knobs: Knobs,
}

impl Idp {
    /// An IdP. An unknown `default_profile` (see [`IdpConfig::check`]) is logged and replaced by `valid`.
    pub fn new(config: IdpConfig, keys: IdpKeys, clock: Arc<dyn Clock>) -> Idp {
        let default_knobs = profiles::get(&config.default_profile).unwrap_or_else(|| {
            tracing::error!(profile = %config.default_profile, "unknown default profile; using `valid`");
            Knobs::default()
        });
        let ids: Box<dyn IdSource> = if config.deterministic {
            Box::new(CounterIds::new())
        } else {
            Box::new(RandomIds)
        };
        let state = State {
            users: config.users.clone(),
            standing: Knobs {
                forbid_framing: config.forbid_framing,
                ..default_knobs
            },
            want_authn_requests_signed: config.want_authn_requests_signed,
            ..State::default()
        };
        Idp {
            inner: Arc::new(Inner {
                config,
                keys,
                clock,
                ids,
                state: Mutex::new(state),
            }),
        }
    }

    /// The configuration as given at start-up (the directory and the framing setting may have
    /// changed since: see [`Idp::users`] and [`Idp::forbid_framing`]).
    pub fn config(&self) -> &IdpConfig {
        &self.inner.config
    }

    /// The IdP's and the attacker's keys.
    pub fn keys(&self) -> &IdpKeys {
        &self.inner.keys
    }

    /// The IdP's metadata XML.
    pub fn metadata_xml(&self) -> String {
        let config = &self.inner.config;
        crate::metadata::idp_metadata_xml(
            &config.entity_id,
            &config.base_url,
            &self.inner.keys.idp,
            self.want_authn_requests_signed(),
        )
    }

    /// Whether `/sso` refuses an AuthnRequest without a verified signature.
    pub fn want_authn_requests_signed(&self) -> bool {
        self.state().want_authn_requests_signed
    }

    /// Sets whether `/sso` refuses an AuthnRequest without a verified signature (the metadata's
    /// `WantAuthnRequestsSigned` follows).
    pub fn set_want_authn_requests_signed(&self, want: bool) {
        tracing::info!(want, "signed AuthnRequest setting changed");
        self.state().want_authn_requests_signed = want;
    }

    /// The IdP's current time: the injected clock plus any `set_clock`/`advance_clock` shift.
    pub fn now(&self) -> OffsetDateTime {
        let base = self.inner.clock.now();
        let offset = self.state().clock_offset;
        base.checked_add(offset).unwrap_or(base)
    }

    /// Queues knobs for the next `count` responses (behind anything already queued).
    pub fn set_next(&self, next: NextResponses) -> Result<(), ControlError> {
        if next.count == 0 {
            return Err(ControlError::ZeroCount);
        }
        let profile = next
            .profile
            .unwrap_or_else(|| self.inner.config.default_profile.clone());
        let knobs = self.knobs_of(&profile, &next.knobs)?;
        let user = match next.user {
            Some(hint) => Some(self.find_user(&hint)?.login),
            None => None,
        };
        tracing::info!(%profile, count = next.count, ?user, "queued next responses");
        self.state().queue.push_back(Queued {
            profile,
            knobs,
            remaining: next.count,
            user,
        });
        Ok(())
    }

    /// The knobs of `profile` with `overrides` (a JSON object of knobs, or null) on top, checked
    /// as [`Idp::set_next`] checks them.
    fn knobs_of(
        &self,
        profile: &str,
        overrides: &serde_json::Value,
    ) -> Result<Knobs, ControlError> {
        let base = match profiles::get(profile) {
            Some(knobs) => knobs,
            None if next_is_default(profile, &self.inner.config) => self.state().standing.clone(),
            None => return Err(ControlError::UnknownProfile(profile.to_owned())),
        };
        let mut knobs = base.clone();
        knobs.apply_overrides(overrides)?;
        knobs.validate()?;
        knobs.refuse_outside(&base, Reader::Response)?;
        Ok(knobs)
    }

    /// The knobs a person chose on the login page for one sign-in (`profile`, else the default
    /// profile, with `overrides`, JSON text); `None` when they chose nothing, so the control
    /// API's queue decides. The queue is left alone either way.
    fn knobs_for_one_sign_in(
        &self,
        profile: Option<&str>,
        overrides: Option<&str>,
    ) -> Result<Option<Chosen>, ControlError> {
        let profile = profile.map(str::trim).filter(|p| !p.is_empty());
        let overrides = overrides.map(str::trim).filter(|o| !o.is_empty());
        if profile.is_none() && overrides.is_none() {
            return Ok(None);
        }
        let profile =
            profile.map_or_else(|| self.inner.config.default_profile.clone(), str::to_owned);
        let overrides = match overrides {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| ControlError::BadBody(format!("knob overrides: {e}")))?,
            None => serde_json::Value::Null,
        };
        let knobs = self.knobs_of(&profile, &overrides)?;
        Ok(Some(Chosen { profile, knobs }))
    }

    /// Whether `/sso` answers forbid framing (the standing [`Knobs::forbid_framing`]).
    pub fn forbid_framing(&self) -> bool {
        self.state().standing.forbid_framing
    }

    /// Sets the standing [`Knobs::forbid_framing`]: the anti-framing headers on `/sso` answers.
    pub fn set_forbid_framing(&self, forbid: bool) {
        tracing::info!(forbid, "framing setting changed");
        self.state().standing.forbid_framing = forbid;
    }

    /// Drops everything queued by [`Idp::set_next`].
    pub fn clear_next(&self) {
        self.state().queue.clear();
    }

    /// Every `/sso` request received so far, oldest first.
    pub fn requests(&self) -> Vec<ReceivedAuthnRequest> {
        self.state().requests.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.state().requests.clear();
    }

    /// Moves the IdP's clock to `now` (it keeps ticking with the injected clock from there).
    pub fn set_clock(&self, now: OffsetDateTime) {
        let base = self.inner.clock.now();
        self.state().clock_offset = now - base;
    }

    /// Moves the IdP's clock by `by` (negative: back).
    pub fn advance_clock(&self, by: Duration) {
        let mut state = self.state();
        state.clock_offset = state.clock_offset.saturating_add(by);
    }

    /// An IdP-initiated (unsolicited) response for `user` (login or email) to the first configured
    /// SP, as an auto-submit HTML form.
    pub fn mint_unsolicited(
        &self,
        user: &str,
        relay_state: Option<String>,
    ) -> Result<String, ControlError> {
        let sp = self
            .inner
            .config
            .service_providers
            .first()
            .ok_or_else(|| ControlError::UnknownSp("(none configured)".to_owned()))?;
        let entity_id = sp.entity_id.clone();
        self.mint_unsolicited_for(&entity_id, user, relay_state)
    }

    /// An IdP-initiated (unsolicited) response for `user` to the SP `sp_entity_id`.
    pub fn mint_unsolicited_for(
        &self,
        sp_entity_id: &str,
        user: &str,
        relay_state: Option<String>,
    ) -> Result<String, ControlError> {
        let sp = self
            .find_sp(sp_entity_id)
            .ok_or_else(|| ControlError::UnknownSp(sp_entity_id.to_owned()))?;
        let acs = sp
            .acs_urls
            .first()
            .ok_or_else(|| ControlError::UnknownSp(sp_entity_id.to_owned()))?;
        let user = self.find_user(user)?;
        let answered = self.answer(sp, acs, &user, None, relay_state.as_deref(), None)?;
        Ok(answered.html)
    }

    /// The user named by `hint` (login or email) in the current directory.
    fn find_user(&self, hint: &str) -> Result<User, ControlError> {
        users::find(&self.state().users, hint)
            .cloned()
            .ok_or_else(|| ControlError::UnknownUser(hint.to_owned()))
    }

    fn find_sp(&self, entity_id: &str) -> Option<&KnownSp> {
        self.inner
            .config
            .service_providers
            .iter()
            .find(|sp| sp.entity_id == entity_id)
    }

    /// The user queued by `set_next`, if the head of the queue names one.
    fn queued_user(&self) -> Option<String> {
        self.state()
            .queue
            .front()
            .and_then(|queued| queued.user.clone())
    }

    /// Takes the knobs for one response off the queue (or the default profile's).
    fn take_knobs(&self) -> Chosen {
        let mut state = self.state();
        let Some(head) = state.queue.front_mut() else {
            return Chosen {
                profile: self.inner.config.default_profile.clone(),
                knobs: state.standing.clone(),
            };
        };
        head.remaining = head.remaining.saturating_sub(1);
        let chosen = Chosen {
            profile: head.profile.clone(),
            knobs: head.knobs.clone(),
        };
        if head.remaining == 0 {
            state.queue.pop_front();
        }
        chosen
    }

    fn record(&self, received: ReceivedAuthnRequest) {
        self.state().requests.push(received);
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every State mutation is a single push/pop/retain/assignment, so a panic elsewhere while
        // the lock was held cannot leave it inconsistent.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether `profile` is the configured default, which `Idp::new` already resolved (to `valid` if
/// the name is unknown), so `set_next` without a profile works even then.
fn next_is_default(profile: &str, config: &IdpConfig) -> bool {
    profile == config.default_profile
}
