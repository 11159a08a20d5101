//! The SP's HTTP face (axum): pages for people, JSON for machines, and the SAML endpoints.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | who you are, your roles, sign-in/out links |
//! | `GET /login` | SP-initiated sign-in: AuthnRequest over HTTP-Redirect (`?RelayState=/path` to land there) |
//! | `GET /saml/metadata` | the SP's metadata |
//! | `POST /saml/acs` | the Assertion Consumer Service (HTTP-POST binding) |
//! | `GET /me` | the session as JSON; 401 when signed out |
//! | `GET /logout` | the sign-out confirmation: a form with the session's token |
//! | `POST /logout` | with that token, ends the local session; with `[idp] slo_url`, also a signed LogoutRequest to the IdP (HTTP-Redirect) |
//! | `GET\|POST /saml/sls` | single logout service: the IdP's LogoutResponses and IdP-initiated LogoutRequests (HTTP-Redirect and HTTP-POST) |
//! | `GET /admin/audit` | the audit log, a page at a time (`?before=<id>&limit=<n>`), JSON or HTML (admin role required) |
//! | `GET\|POST /link` | account linking: prove an existing account's password, or skip |
//! | `GET /invite/{token}` | sign in from an admin's invitation (links without a prompt) |
//! | `GET /renew` | passive re-authentication of the current session (iframe or renewal window) |
//! | `GET /login?sso=false`, `POST /login/password` | recovery password login, admins only |
//! | `POST /admin/password-setup` | an admin issues a one-time password-setup link for a user (JSON) |
//! | `GET /password/setup/{token}`, `POST /password/setup` | set a password with that link |
//! | `GET /static/{file}` | the pages' scripts (`sp/static/`); every response says `Content-Security-Policy: script-src 'self'; frame-ancestors 'self'` (no other site frames the SP's pages) |

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::authn_request::{self, AuthnRequestOptions};
use crate::config::{ConfigError, SpConfig};
use crate::pages;
use crate::store::{RequestPurpose, Session, Store, StoreError, User};
use crate::verify::{TrustedIdp, VerifyPolicy};
use crate::weakness::{Weakness, Weaknesses};
use plumbing::clock::Clock;

mod acs;
mod assets;
mod binding;
mod cookies;
mod link;
mod password_setup;
mod recovery;
mod refusal;
mod renew;
mod slo;
mod test_sign_in;
#[cfg(test)]
mod time_props;

/// A running reference SP: configuration, verifier policy, store and clock. Cheap to clone.
#[derive(Clone)]
pub struct Sp {
    inner: Arc<SpInner>,
}

struct SpInner {
    config: SpConfig,
    policy: VerifyPolicy,
    store: Store,
    clock: Arc<dyn Clock>,
    keys: crate::keys::SpKeys,
    last_response: LastResponse,
}

/// The last SAMLResponse the ACS decoded, kept in memory (one, at most `max_response_bytes`)
/// only once [`Sp::keep_last_response`] turned it on: for `samlconf serve --idp-metadata`,
/// which shows its checklist. Never written anywhere.
#[derive(Default)]
struct LastResponse {
    enabled: std::sync::atomic::AtomicBool,
    slot: std::sync::Mutex<Option<ReceivedResponse>>,
}

/// A SAMLResponse as the ACS received it: decoded XML (verified or not) and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedResponse {
    pub xml: Vec<u8>,
    pub received_at: OffsetDateTime,
}

impl Sp {
    /// Builds the SP from a validated configuration; reads the pinned IdP certificate(s).
    /// `keys` is the SP's own signing key pair (see [`crate::keys`]): it signs the logout messages
    /// the SP sends, and its certificate is in the SP metadata.
    pub fn new(
        config: SpConfig,
        store: Store,
        clock: Arc<dyn Clock>,
        keys: crate::keys::SpKeys,
    ) -> Result<Self, ConfigError> {
        Self::new_weakened(config, store, clock, keys, Weaknesses::none())
    }

    /// [`Sp::new`], with the checks in `weaknesses` turned off: for tests that prove the
    /// scenario catalogue notices a broken SP ([`crate::weakness`]). Refused unless built with
    /// the test-only `weakened` feature.
    pub fn new_weakened(
        config: SpConfig,
        store: Store,
        clock: Arc<dyn Clock>,
        keys: crate::keys::SpKeys,
        weaknesses: Weaknesses,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        weaknesses.check_build().map_err(ConfigError::Invalid)?;
        let mut policy = verify_policy(&config)?;
        // Weaknesses that a policy value expresses are that value; the others are read where
        // their check runs.
        for weakness in weaknesses.iter() {
            tracing::error!(
                %weakness,
                "THIS SP IS WEAKENED FOR TESTING: the check `{weakness}` is OFF; never use it for real sign-ins"
            );
        }
        if weaknesses.has(Weakness::KeySize) {
            policy.min_rsa_bits = 0;
        }
        if weaknesses.has(Weakness::CertificateExpiry) {
            policy.idp_cert_expiry = crate::verify::CertificateExpiry::Warn;
        }
        if weaknesses.has(Weakness::DuplicateAttributes) {
            policy.merge_duplicate_attributes = true;
        }
        if weaknesses.has(Weakness::CbcEncryption) {
            policy.allow_cbc = true;
        }
        policy.weaknesses = weaknesses;
        // The SP decrypts what IdPs encrypt to the certificate in its metadata.
        policy.decryption_keys = keys
            .encryption
            .iter()
            .map(|pair| crate::verify::DecryptionKey::from_pem(pair.key_pem.clone()))
            .collect();
        // A weak or out-of-validity pinned certificate fails only its IdP's responses: warn now.
        for warning in crate::verify::pinned::startup_warnings(&policy, clock.now()) {
            tracing::warn!("{warning}");
        }
        let store = store.with_limits(config.limits);
        let sp = Self {
            inner: Arc::new(SpInner {
                config,
                policy,
                store,
                clock,
                keys,
                last_response: LastResponse::default(),
            }),
        };
        sp.start_sweeper();
        Ok(sp)
    }

    /// Deletes what has expired by the SP's clock (see [`Store::sweep`]).
    pub async fn sweep(&self) -> Result<crate::store::SweepReport, StoreError> {
        self.store().sweep(self.now()).await
    }

    /// Sweeps every `limits.sweep_interval_secs` of wall time, judging expiry by the injected
    /// clock, for as long as this SP lives (the task holds it weakly). Needs a Tokio runtime;
    /// without one (or with an interval of 0) there is no background sweep.
    fn start_sweeper(&self) {
        let interval = self.config().limits.sweep_interval_secs;
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if interval == 0 {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        let every = std::time::Duration::from_secs(u64::from(interval));
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval(every);
            // The first tick is immediate.
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let sp = Sp { inner };
                match sp.sweep().await {
                    Ok(report) => tracing::debug!(?report, "swept expired state"),
                    Err(e) => tracing::warn!(error = %e, "sweep failed"),
                }
            }
        });
    }

    pub fn config(&self) -> &SpConfig {
        &self.inner.config
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The SP's own signing key pair.
    pub fn keys(&self) -> &crate::keys::SpKeys {
        &self.inner.keys
    }

    pub fn policy(&self) -> &VerifyPolicy {
        &self.inner.policy
    }

    /// From now on, keep the last SAMLResponse the ACS decodes (in memory, one at a time).
    pub fn keep_last_response(&self) {
        use std::sync::atomic::Ordering;
        self.inner
            .last_response
            .enabled
            .store(true, Ordering::Relaxed);
    }

    /// Whether [`keep_last_response`](Self::keep_last_response) is on.
    pub fn keeps_last_response(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.inner.last_response.enabled.load(Ordering::Relaxed)
    }

    /// The last SAMLResponse the ACS decoded, while it keeps them.
    pub fn last_response(&self) -> Option<ReceivedResponse> {
        let slot = &self.inner.last_response.slot;
        slot.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Keeps `xml` as the last response, if keeping them is on.
    fn remember_response(&self, xml: &[u8], received_at: OffsetDateTime) {
        if !self.keeps_last_response() {
            return;
        }
        let mut slot = self
            .inner
            .last_response
            .slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Some(ReceivedResponse {
            xml: xml.to_vec(),
            received_at,
        });
    }

    /// Whether the test-only `weakness` is on ([`crate::weakness`]).
    pub(crate) fn weakened(&self, weakness: Weakness) -> bool {
        self.inner.policy.weaknesses.has(weakness)
    }

    fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }
}

/// The verifier policy that a configuration stands for.
pub fn verify_policy(config: &SpConfig) -> Result<VerifyPolicy, ConfigError> {
    let mut policy = VerifyPolicy {
        sp_entity_id: config.entity_id(),
        acs_url: config.acs_url(),
        idp_entity_id: Some(config.idp.entity_id.clone()),
        idp_certs_pem: config.idp_certificates_pem()?,
        other_idps: config
            .additional_idps
            .iter()
            .map(|idp| {
                Ok(TrustedIdp {
                    entity_id: idp.entity_id.clone(),
                    certs_pem: idp.certificates_pem()?,
                })
            })
            .collect::<Result<_, ConfigError>>()?,
        ..VerifyPolicy::new(config.entity_id(), config.acs_url(), Vec::new())
    };
    // One policy vocabulary with `samlconf verify` (names were validated with the configuration).
    crate::policy::PolicySettings::from(&config.sp).apply_to(&mut policy);
    Ok(policy)
}

/// The SP's routes.
pub fn router(sp: Sp) -> Router {
    // base64 grows the response by 4/3; leave room for RelayState and form encoding.
    let body_limit = sp.config().sp.max_response_bytes * 3 / 2 + 16 * 1024;
    Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/saml/metadata", get(metadata))
        .route("/saml/acs", post(acs::acs))
        .route("/me", get(me))
        .route("/logout", get(slo::logout_page).post(slo::logout))
        .route("/admin/audit", get(audit_log))
        .route("/link", get(link::page).post(link::decide))
        .route("/invite/{token}", get(link::invitation))
        .route("/renew", get(renew::start))
        .route("/login/password", post(recovery::sign_in))
        .route("/admin/password-setup", post(password_setup::issue))
        .route("/password/setup/{token}", get(password_setup::page))
        .route("/password/setup", post(password_setup::set))
        .route("/static/{file}", get(assets::file))
        .merge(slo::routes())
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::map_response(
            assets::with_content_security_policy,
        ))
        .with_state(sp)
}

/// Failures that are not a verdict on a SAML message.
#[derive(Debug, thiserror::Error)]
enum WebError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl WebError {
    fn is_store_conflict(&self) -> bool {
        matches!(self, WebError::Store(e) if e.is_conflict())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        // The detail goes to the log, never to the browser.
        tracing::error!(error = %self, "request failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Html(pages::error(
                "Something went wrong",
                "The service provider could not complete this request.",
            )),
        )
            .into_response()
    }
}

// --- pages -------------------------------------------------------------------------------------

async fn home(State(sp): State<Sp>, headers: HeaderMap) -> Result<Response, WebError> {
    let Some((session, user)) = current_session(&sp, &headers).await? else {
        // A session cookie whose session has ended (expired, or ended by the IdP): back to
        // sign-in, with the cookie cleared so that this happens once.
        if session_token(&headers).is_some() {
            let mut response = Redirect::to("/login").into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, cookies::cleared(cookies::SESSION));
            return Ok(response);
        }
        return Ok(Html(pages::home_page(None, sp.keeps_last_response())).into_response());
    };
    let roles = sp.store().roles(user.id).await?;
    let name = match (&user.first_name, &user.last_name) {
        (None, None) => None,
        (first, last) => Some(
            format!(
                "{} {}",
                first.as_deref().unwrap_or(""),
                last.as_deref().unwrap_or("")
            )
            .trim()
            .to_owned(),
        ),
    };
    let csrf = sp
        .store()
        .logout_csrf_token(&session.token, sp.now())
        .await?
        .unwrap_or_default();
    let view = pages::HomeView {
        logout_csrf_token: &csrf,
        email: &user.email,
        name,
        roles: &roles,
        idp: &session.idp_entity_id,
        expires_at: session.expires_at,
        // No IdP signed a recovery session in, so no IdP renews it.
        renewal_interval_secs: if recovery::is_recovery_session(&session)
            || !sp.config().sp.sso_enabled
        {
            0
        } else {
            sp.config().sp.renewal_interval_secs
        },
    };
    Ok(Html(pages::home_page(Some(&view), sp.keeps_last_response())).into_response())
}

async fn metadata(State(sp): State<Sp>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
        crate::metadata::sp_metadata(sp.config(), sp.keys()),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
    /// `sso=false`: the recovery password login for administrators (Flow Production Tracking,
    /// Decisions).
    sso: Option<String>,
    /// The entity ID of the IdP to sign in with, when several are configured.
    idp: Option<String>,
    /// `password_set=1`: arrived from the password-setup page.
    password_set: Option<String>,
    /// `test=1`: a test sign-in of the IdP (reported, nobody signed in); the only way to reach a
    /// staged IdP.
    test: Option<String>,
}

async fn login(
    State(sp): State<Sp>,
    Query(query): Query<LoginQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    // SSO switched off: everyone's sign-in is the password form.
    if query.sso.as_deref() == Some("false") || !sp.config().sp.sso_enabled {
        if query.password_set.as_deref() == Some("1") {
            return Ok(Html(pages::recovery_form_after_password_setup()).into_response());
        }
        return Ok(Html(pages::recovery_form(None)).into_response());
    }
    let relay_state = query
        .relay_state
        .as_deref()
        .and_then(|r| kept_relay_state(&sp, r));
    let config = sp.config();
    let test = query.test.as_deref() == Some("1");
    let idp = match query.idp.as_deref() {
        Some(entity_id) => match config.idp_by_entity_id(entity_id) {
            Some(idp) if idp.enabled || test => idp,
            Some(_) => return not_live(&sp, entity_id).await,
            None => {
                let message = format!("No identity provider {entity_id:?} is configured here.");
                return Ok((
                    StatusCode::NOT_FOUND,
                    Html(pages::error("Unknown identity provider", &message)),
                )
                    .into_response());
            }
        },
        None if test => &config.idp,
        // Several IdPs, or a staged one: a button for each live IdP (OnTrackio), unless the link
        // names one.
        None if !config.additional_idps.is_empty() || !config.idp.enabled => {
            let choices: Vec<(String, String)> = config
                .idps()
                .filter(|idp| idp.enabled)
                .map(|idp| (idp.entity_id.clone(), idp.display_name().to_owned()))
                .collect();
            return Ok(Html(pages::idp_chooser(&choices, relay_state.as_deref())).into_response());
        }
        None => &config.idp,
    };
    let purpose = if test {
        RequestPurpose::TestSignIn
    } else {
        RequestPurpose::SignIn
    };
    start_authn(
        &sp,
        &headers,
        idp,
        relay_state.as_deref(),
        &purpose,
        &AuthnRequestOptions::default(),
    )
    .await
}

/// `/login?idp=…` for a staged IdP, without `test=1`: refused and audited like its responses.
async fn not_live(sp: &Sp, entity_id: &str) -> Result<Response, WebError> {
    let mut rejection = crate::reason::Rejection::new(
        crate::reason::Reason::IdpIsNotLive,
        format!("/login asked for IdP {entity_id:?}, which is staged (enabled = false)"),
    );
    rejection.context.issuer = Some(entity_id.to_owned());
    acs::audit_rejection(sp, "sign_in.rejected", &rejection).await?;
    let generic = sp.config().sp.failure_page_detail == crate::config::FailurePageDetail::Generic;
    Ok(refusal::Refusal::sign_in(&rejection, false)
        .generic_when(generic)
        .into_response())
}

/// Sends an AuthnRequest over HTTP-Redirect, remembering it (and what it is for) server-side,
/// bound to this browser (`bind_requests_to_browser`, see [`binding`]): the request stores the
/// hash of the browser's binding cookie, which the response sets or refreshes.
async fn start_authn(
    sp: &Sp,
    headers: &HeaderMap,
    idp: &crate::config::IdpSettings,
    relay_state: Option<&str>,
    purpose: &RequestPurpose,
    options: &AuthnRequestOptions,
) -> Result<Response, WebError> {
    let config = sp.config();
    let now = sp.now();
    let request = authn_request::build(
        &config.entity_id(),
        &config.acs_url(),
        &idp.sso_url,
        now,
        options,
    );
    let expires_at = crate::clock::add_secs(now, config.sp.request_ttl_secs);
    let scheme = cookies::Scheme::of(sp);
    let browser = config
        .sp
        .bind_requests_to_browser
        .then(|| binding::for_new_request(scheme, headers));
    sp.store()
        .remember_request_for(
            &request.id,
            relay_state,
            purpose,
            Some(&idp.entity_id),
            browser.as_ref().map(|b| b.hash()).as_deref(),
            now,
            expires_at,
        )
        .await?;
    let signing = config.sp.sign_authn_requests.then(|| sp.keys());
    let url = authn_request::outgoing_url(&idp.sso_url, &request.xml, relay_state, signing)
        .map_err(WebError::Internal)?;
    let mut response = Redirect::to(&url).into_response();
    if let Some(browser) = &browser {
        for cookie in binding::set_cookies(scheme, config.sp.request_cookie_samesite, browser) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
    Ok(response)
}

async fn me(State(sp): State<Sp>, headers: HeaderMap) -> Result<Response, WebError> {
    let Some((session, user)) = current_session(&sp, &headers).await? else {
        return Ok((
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "not_signed_in", "message": "no live session"})),
        )
            .into_response());
    };
    let roles = sp.store().roles(user.id).await?;
    Ok(Json(json!({
        "email": user.email,
        "login": user.login,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "roles": roles,
        "idp": session.idp_entity_id,
        "name_id": session.name_id,
        "session_index": session.session_index,
        "session_expires_at": crate::xml::saml_instant(session.expires_at),
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    /// The `next` cursor of the previous page: rows with a smaller id.
    before: Option<i64>,
    limit: Option<u32>,
}

/// Rows per audit page by default, and at most.
const AUDIT_PAGE_DEFAULT: u32 = 50;
const AUDIT_PAGE_MAX: u32 = 200;

/// `GET /admin/audit?before=<id>&limit=<n>`: one page of the audit log, newest first, with the
/// `next` cursor; JSON unless the browser asks for HTML.
async fn audit_log(
    State(sp): State<Sp>,
    headers: HeaderMap,
    Query(query): Query<AuditQuery>,
) -> Result<Response, WebError> {
    let Some((_, user)) = current_session(&sp, &headers).await? else {
        return Ok((
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "not_signed_in"})),
        )
            .into_response());
    };
    let roles = sp.store().roles(user.id).await?;
    if !roles.iter().any(|r| sp.config().is_admin_role(r)) {
        return Ok((
            StatusCode::FORBIDDEN,
            Json(json!({"error": "admin_role_required"})),
        )
            .into_response());
    }
    let limit = query
        .limit
        .unwrap_or(AUDIT_PAGE_DEFAULT)
        .clamp(1, AUDIT_PAGE_MAX);
    let page = sp.store().audit_page(query.before, limit).await?;
    if wants_html(&headers) {
        return Ok(Html(pages::audit_page(&page, limit)).into_response());
    }
    Ok(Json(page).into_response())
}

// --- sessions and small helpers ----------------------------------------------------------------

async fn current_session(
    sp: &Sp,
    headers: &HeaderMap,
) -> Result<Option<(Session, User)>, WebError> {
    let Some(token) = session_token(headers) else {
        return Ok(None);
    };
    let Some(session) = sp.store().live_session(&token, sp.now()).await? else {
        return Ok(None);
    };
    let Some(user) = sp.store().user_by_id(session.user_id).await? else {
        return Ok(None);
    };
    Ok(Some((session, user)))
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    cookies::value(headers, cookies::SESSION)
}

/// The peer address of the connection, when the router is served with
/// `into_make_service_with_connect_info::<SocketAddr>()` (as `samlconf serve` and the scenario
/// harness do); `None` otherwise, and then every client shares one password-throttle counter.
/// Headers such as `X-Forwarded-For` are not read: any client can write them.
struct ClientAddress(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| address.ip()),
        ))
    }
}

/// `Retry-After` for a refusal by the password throttle.
fn retry_after(response: &mut Response, now: OffsetDateTime, until: OffsetDateTime) {
    let secs = (until - now).whole_seconds().max(1);
    if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
}

fn new_session_token() -> String {
    crate::token::random_hex(32)
}

/// A browser asking for a page (and not for JSON).
fn wants_html(headers: &HeaderMap) -> bool {
    !accepts_json(headers)
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
}

fn accepts_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// The RelayState worth keeping: within `limits.max_relay_state_bytes` (SAML bindings §3.4.3 /
/// §3.5.3: it MUST NOT exceed 80 bytes) and a local path. A longer one is dropped, not cut (a cut
/// path leads somewhere else): the sign-in then lands on `/`.
fn kept_relay_state(sp: &Sp, relay_state: &str) -> Option<String> {
    let max = sp.config().limits.max_relay_state_bytes;
    if relay_state.len() > max {
        tracing::info!(
            bytes = relay_state.len(),
            max,
            "RelayState longer than the limit: not kept, landing on /"
        );
        return None;
    }
    Some(safe_relay_state(relay_state))
}

/// Only same-origin relative paths are followed after sign-in; anything else lands on `/`
/// (no open redirect through RelayState).
pub fn safe_relay_state(relay_state: &str) -> String {
    let is_local_path = relay_state.starts_with('/')
        && !relay_state.starts_with("//")
        && !relay_state.starts_with("/\\")
        && !relay_state.chars().any(|c| c.is_control() || c == '\\');
    if is_local_path {
        relay_state.to_owned()
    } else {
        "/".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::safe_relay_state;

    #[test]
    fn relay_state_only_follows_local_paths() {
        assert_eq!(safe_relay_state("/projects/7?tab=1"), "/projects/7?tab=1");
        for hostile in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/a\nb",
            "",
        ] {
            assert_eq!(safe_relay_state(hostile), "/", "{hostile:?}");
        }
    }
}
