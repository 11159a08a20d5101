//! The SP's HTTP face (axum): pages for people, JSON for machines, and the SAML endpoints.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | who you are, your roles, sign-in/out links |
//! | `GET /login` | SP-initiated sign-in: AuthnRequest over HTTP-Redirect (`?RelayState=/path` to land there) |
//! | `GET /saml/metadata` | the SP's metadata |
//! | `POST /saml/acs` | the Assertion Consumer Service (HTTP-POST binding) |
//! | `GET /me` | the session as JSON; 401 when signed out |
//! | `GET /logout` | ends the local session |
//! | `GET /admin/audit` | the audit log as JSON (admin role required) |

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::authn_request::{self, AuthnRequestOptions};
use crate::clock::Clock;
use crate::config::{ConfigError, SpConfig};
use crate::identity::{self, Identity};
use crate::pages;
use crate::reason::{Reason, Rejection};
use crate::store::{AuditEvent, Session, Store, StoreError, User};
use crate::verify::{self, VerifiedResponse, VerifyPolicy};

const SESSION_COOKIE: &str = "samlconf_sp_session";

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
}

impl Sp {
    /// Builds the SP from a validated configuration; reads the pinned IdP certificate(s).
    pub fn new(config: SpConfig, store: Store, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        config.validate()?;
        let policy = verify_policy(&config)?;
        Ok(Self { inner: Arc::new(SpInner { config, policy, store, clock }) })
    }

    pub fn config(&self) -> &SpConfig {
        &self.inner.config
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn policy(&self) -> &VerifyPolicy {
        &self.inner.policy
    }

    fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }
}

/// The verifier policy that a configuration stands for.
pub fn verify_policy(config: &SpConfig) -> Result<VerifyPolicy, ConfigError> {
    let sp = &config.sp;
    Ok(VerifyPolicy {
        sp_entity_id: config.entity_id(),
        acs_url: config.acs_url(),
        idp_entity_id: Some(config.idp.entity_id.clone()),
        idp_certs_pem: config.idp_certificates_pem()?,
        clock_skew: Duration::seconds(i64::from(sp.clock_skew_secs)),
        allow_sha1: sp.signature_algorithms.iter().any(|a| a == "rsa-sha1")
            && sp.digest_algorithms.iter().any(|a| a == "sha1"),
        accept_response_signature: sp.accept_response_signature,
        max_response_bytes: sp.max_response_bytes,
    })
}

/// The SP's routes.
pub fn router(sp: Sp) -> Router {
    // base64 grows the response by 4/3; leave room for RelayState and form encoding.
    let body_limit = sp.config().sp.max_response_bytes * 3 / 2 + 16 * 1024;
    Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/saml/metadata", get(metadata))
        .route("/saml/acs", post(acs))
        .route("/me", get(me))
        .route("/logout", get(logout).post(logout))
        .route("/admin/audit", get(audit_log))
        .layer(DefaultBodyLimit::max(body_limit))
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

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        // The detail goes to the log, never to the browser.
        tracing::error!(error = %self, "request failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Html(pages::error("Something went wrong", "The service provider could not complete this request.")),
        )
            .into_response()
    }
}

// --- pages -------------------------------------------------------------------------------------

async fn home(State(sp): State<Sp>, headers: HeaderMap) -> Result<Response, WebError> {
    let Some((session, user)) = current_session(&sp, &headers).await? else {
        return Ok(Html(pages::home(None)).into_response());
    };
    let roles = sp.store().roles(user.id).await?;
    let name = match (&user.first_name, &user.last_name) {
        (None, None) => None,
        (first, last) => Some(format!("{} {}", first.as_deref().unwrap_or(""), last.as_deref().unwrap_or("")).trim().to_owned()),
    };
    let view = pages::HomeView {
        email: &user.email,
        name,
        roles: &roles,
        idp: &session.idp_entity_id,
        expires_at: session.expires_at,
    };
    Ok(Html(pages::home(Some(&view))).into_response())
}

async fn metadata(State(sp): State<Sp>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
        crate::metadata::sp_metadata(sp.config()),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

async fn login(State(sp): State<Sp>, Query(query): Query<LoginQuery>) -> Result<Response, WebError> {
    let config = sp.config();
    let now = sp.now();
    let request = authn_request::build(
        &config.entity_id(),
        &config.acs_url(),
        &config.idp.sso_url,
        now,
        &AuthnRequestOptions::default(),
    );
    let relay_state = query.relay_state.as_deref().map(safe_relay_state);
    let expires_at = now + Duration::seconds(i64::from(config.sp.request_ttl_secs));
    sp.store().remember_request(&request.id, relay_state.as_deref(), now, expires_at).await?;
    let url = authn_request::redirect_url(&config.idp.sso_url, &request.xml, relay_state.as_deref())
        .map_err(|e| WebError::Internal(format!("idp.sso_url is not a URL: {e}")))?;
    Ok(Redirect::to(&url).into_response())
}

async fn me(State(sp): State<Sp>, headers: HeaderMap) -> Result<Response, WebError> {
    let Some((session, user)) = current_session(&sp, &headers).await? else {
        return Ok((StatusCode::UNAUTHORIZED, Json(json!({"error": "not_signed_in", "message": "no live session"}))).into_response());
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
        "session_expires_at": pages::saml_instant(session.expires_at),
    }))
    .into_response())
}

async fn logout(State(sp): State<Sp>, headers: HeaderMap) -> Result<Response, WebError> {
    if let Some(token) = session_token(&headers) {
        if let Some((session, user)) = current_session(&sp, &headers).await? {
            sp.store()
                .audit(&AuditEvent {
                    at: sp.now(),
                    kind: "session.logout".into(),
                    code: None,
                    idp: Some(session.idp_entity_id.clone()),
                    subject: session.name_id.clone(),
                    user_email: Some(user.email),
                    groups: vec![],
                    detail: "local logout".into(),
                })
                .await?;
        }
        sp.store().delete_session(&token).await?;
    }
    let mut response = Html(pages::signed_out()).into_response();
    response.headers_mut().insert(header::SET_COOKIE, clear_cookie());
    Ok(response)
}

async fn audit_log(State(sp): State<Sp>, headers: HeaderMap) -> Result<Response, WebError> {
    let Some((_, user)) = current_session(&sp, &headers).await? else {
        return Ok((StatusCode::UNAUTHORIZED, Json(json!({"error": "not_signed_in"}))).into_response());
    };
    let roles = sp.store().roles(user.id).await?;
    if !roles.iter().any(|r| sp.config().is_admin_role(r)) {
        return Ok((StatusCode::FORBIDDEN, Json(json!({"error": "admin_role_required"}))).into_response());
    }
    Ok(Json(sp.store().audit_events().await?).into_response())
}

// --- the Assertion Consumer Service ------------------------------------------------------------

/// `POST /saml/acs`: verify, check the request and replay, resolve the person, provision, sign in.
async fn acs(State(sp): State<Sp>, headers: HeaderMap, body: Bytes) -> Result<Response, WebError> {
    let wants_json = accepts_json(&headers);
    match consume(&sp, &body).await? {
        Ok(signed_in) => {
            let mut response = Redirect::to(&signed_in.landing).into_response();
            response.headers_mut().insert(header::SET_COOKIE, session_cookie(&sp, &signed_in.token));
            Ok(response)
        }
        Err(rejection) => {
            tracing::info!(code = rejection.reason.code(), detail = %rejection.message, "sign-in refused");
            audit_rejection(&sp, &rejection).await?;
            Ok(refusal(&rejection, wants_json))
        }
    }
}

struct SignedIn {
    token: String,
    landing: String,
}

async fn consume(sp: &Sp, body: &[u8]) -> Result<Result<SignedIn, Rejection>, WebError> {
    let mut saml_response = None;
    let mut relay_state = None;
    for (key, value) in url::form_urlencoded::parse(body) {
        match &*key {
            "SAMLResponse" => saml_response = Some(value.into_owned()),
            "RelayState" => relay_state = Some(value.into_owned()),
            _ => {}
        }
    }
    let Some(saml_response) = saml_response else {
        return Ok(Err(Rejection::new(Reason::InputIsNotBase64, "the POST carries no SAMLResponse field")));
    };
    let xml = match verify::decode_post_binding(&saml_response) {
        Ok(xml) => xml,
        Err(rejection) => return Ok(Err(rejection)),
    };
    let now = sp.now();
    let policy = sp.policy().clone();
    // libxml2 documents are not Send: the whole verification runs on one blocking thread.
    let verified = tokio::task::spawn_blocking(move || verify::verify_response(&xml, &policy, now))
        .await
        .map_err(|e| WebError::Internal(format!("verifier task failed: {e}")))?;
    let verified = match verified {
        Ok(v) => v,
        Err(rejection) => return Ok(Err(rejection)),
    };
    match sign_in(sp, &verified, relay_state, now).await? {
        Ok(signed_in) => Ok(Ok(signed_in)),
        Err(mut rejection) => {
            rejection.context.issuer.get_or_insert_with(|| verified.issuer.clone());
            if rejection.context.subject.is_none() {
                rejection.context.subject = verified.name_id.clone();
            }
            Ok(Err(rejection))
        }
    }
}

/// The part of sign-in that needs the store: InResponseTo, replay, provisioning, roles, session.
async fn sign_in(
    sp: &Sp,
    verified: &VerifiedResponse,
    relay_state: Option<String>,
    now: OffsetDateTime,
) -> Result<Result<SignedIn, Rejection>, WebError> {
    let config = sp.config();
    let store = sp.store();

    // Replay first: a resent response gets the precise code even though its request is answered.
    // The ID is kept for as long as the assertion could still be accepted.
    let skew = Duration::seconds(i64::from(config.sp.clock_skew_secs));
    let keep_until = verified.not_on_or_after.map(|t| t + skew).unwrap_or(now + Duration::days(1));
    if !store.consume_assertion_id(&verified.assertion_id, keep_until, now).await? {
        let mut rejection = Rejection::new(
            Reason::AssertionWasAlreadyUsed,
            format!("assertion {:?} was already used to sign in", verified.assertion_id),
        );
        rejection.context.groups_or_attributes = verified.attributes.clone();
        return Ok(Err(rejection));
    }

    // InResponseTo: an outstanding request of ours, answered once; or an allowed unsolicited one.
    let request = match &verified.in_response_to {
        Some(id) => match store.take_request(id, now).await? {
            Some(request) => Some(request),
            None => {
                return Ok(Err(Rejection::new(
                    Reason::InResponseToIsUnknown,
                    format!("InResponseTo {id:?} names no outstanding AuthnRequest of this SP (unknown, already answered, or expired)"),
                )));
            }
        },
        None if config.sp.allow_unsolicited => None,
        None => {
            return Ok(Err(Rejection::new(
                Reason::UnsolicitedResponseIsNotAllowed,
                "the response answers no AuthnRequest (IdP-initiated) and sp.allow_unsolicited is off",
            )));
        }
    };

    let identity = match identity::resolve(verified, config) {
        Ok(identity) => identity,
        Err(rejection) => return Ok(Err(rejection)),
    };

    let user = match provision(sp, verified, &identity, now).await? {
        Ok(user) => user,
        Err(rejection) => return Ok(Err(rejection)),
    };
    store
        .update_profile(
            user.id,
            identity.login.as_deref(),
            &identity.email,
            identity.first_name.as_deref(),
            identity.last_name.as_deref(),
        )
        .await?;
    let roles = identity::roles_for(&identity.groups, config);
    store.set_roles(user.id, &roles).await?;

    // Session length: SessionNotOnOrAfter, else Conditions NotOnOrAfter (002), capped by the SP.
    let cap = now + Duration::seconds(i64::from(config.sp.max_session_secs));
    let expires_at = verified
        .session_not_on_or_after
        .or(verified.not_on_or_after)
        .map_or(cap, |t| t.min(cap));
    let token = new_session_token();
    store
        .create_session(&Session {
            token: token.clone(),
            user_id: user.id,
            idp_entity_id: verified.issuer.clone(),
            name_id: verified.name_id.clone(),
            session_index: verified.session_index.clone(),
            created_at: now,
            expires_at,
        })
        .await?;
    store
        .audit(&AuditEvent {
            at: now,
            kind: "sign_in.accepted".into(),
            code: None,
            idp: Some(verified.issuer.clone()),
            subject: Some(identity.subject.clone()),
            user_email: Some(identity.email.clone()),
            groups: identity.groups.clone(),
            detail: format!("roles {roles:?}; session until {}", pages::saml_instant(expires_at)),
        })
        .await?;

    let landing = request
        .and_then(|r| r.relay_state)
        .or(relay_state)
        .map(|r| safe_relay_state(&r))
        .unwrap_or_else(|| "/".into());
    Ok(Ok(SignedIn { token, landing }))
}

/// Finds the local user of this identity, linking by e-mail or creating one (JIT).
async fn provision(
    sp: &Sp,
    verified: &VerifiedResponse,
    identity: &Identity,
    now: OffsetDateTime,
) -> Result<Result<User, Rejection>, WebError> {
    let store = sp.store();
    let idp = &verified.issuer;
    if let Some(user) = store.user_by_identity(idp, &identity.subject).await? {
        return Ok(Ok(user));
    }
    let event = |kind: &str, detail: String| AuditEvent {
        at: now,
        kind: kind.into(),
        code: None,
        idp: Some(idp.clone()),
        subject: Some(identity.subject.clone()),
        user_email: Some(identity.email.clone()),
        groups: identity.groups.clone(),
        detail,
    };
    if let Some(user) = store.user_by_email(&identity.email).await? {
        store.link_identity(idp, &identity.subject, user.id, now).await?;
        store.audit(&event("identity.linked", format!("linked to existing user {} by e-mail", user.id))).await?;
        return Ok(Ok(user));
    }
    if !sp.config().sp.jit_provisioning {
        let mut rejection = Rejection::new(
            Reason::UserIsNotProvisioned,
            format!("no local user for {:?} and sp.jit_provisioning is off", identity.email),
        );
        rejection.context.groups_or_attributes = verified.attributes.clone();
        return Ok(Err(rejection));
    }
    let user = store
        .create_user(
            identity.login.as_deref(),
            &identity.email,
            identity.first_name.as_deref(),
            identity.last_name.as_deref(),
            "jit",
            now,
        )
        .await?;
    store.link_identity(idp, &identity.subject, user.id, now).await?;
    store.audit(&event("user.provisioned", format!("created user {} just in time", user.id))).await?;
    Ok(Ok(user))
}

async fn audit_rejection(sp: &Sp, rejection: &Rejection) -> Result<(), WebError> {
    sp.store()
        .audit(&AuditEvent {
            at: sp.now(),
            kind: "sign_in.rejected".into(),
            code: Some(rejection.reason.code().into()),
            idp: rejection.context.issuer.clone(),
            subject: rejection.context.subject.clone(),
            user_email: None,
            groups: received_groups(sp, rejection),
            detail: rejection.message.clone(),
        })
        .await?;
    Ok(())
}

/// The group values among the (unverified) attributes of a refused message, for the audit log.
fn received_groups(sp: &Sp, rejection: &Rejection) -> Vec<String> {
    let candidates = &sp.config().attributes.groups;
    rejection
        .context
        .groups_or_attributes
        .iter()
        .filter(|a| candidates.contains(&a.name))
        .flat_map(|a| a.values.iter().cloned())
        .collect()
}

/// 403 (400 for undecodable input) with the code: an HTML page, or JSON when asked for.
fn refusal(rejection: &Rejection, wants_json: bool) -> Response {
    let status = StatusCode::from_u16(rejection.reason.http_status()).unwrap_or(StatusCode::FORBIDDEN);
    if wants_json {
        let body = json!({
            "error": rejection.reason.code(),
            "message": rejection.reason.summary(),
            "detail": rejection.message,
        });
        (status, Json(body)).into_response()
    } else {
        (status, Html(pages::sign_in_refused(rejection.reason.code(), rejection.reason.summary()))).into_response()
    }
}

// --- sessions and small helpers ----------------------------------------------------------------

async fn current_session(sp: &Sp, headers: &HeaderMap) -> Result<Option<(Session, User)>, WebError> {
    let Some(token) = session_token(headers) else { return Ok(None) };
    let Some(session) = sp.store().live_session(&token, sp.now()).await? else { return Ok(None) };
    let Some(user) = sp.store().user_by_id(session.user_id).await? else { return Ok(None) };
    Ok(Some((session, user)))
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

fn new_session_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn session_cookie(sp: &Sp, token: &str) -> HeaderValue {
    let secure = if sp.config().sp.base_url.starts_with("https://") { "; Secure" } else { "" };
    // Lax: sent on the top-level navigation that follows the IdP's cross-site POST.
    HeaderValue::from_str(&format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("samlconf_sp_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

fn accepts_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// Only same-origin relative paths are followed after sign-in; anything else lands on `/`
/// (no open redirect through RelayState).
pub fn safe_relay_state(relay_state: &str) -> String {
    let is_local_path = relay_state.starts_with('/')
        && !relay_state.starts_with("//")
        && !relay_state.starts_with("/\\")
        && !relay_state.chars().any(|c| c.is_control() || c == '\\');
    if is_local_path { relay_state.to_owned() } else { "/".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::safe_relay_state;

    #[test]
    fn relay_state_only_follows_local_paths() {
        assert_eq!(safe_relay_state("/projects/7?tab=1"), "/projects/7?tab=1");
        for hostile in ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)", "/a\nb", ""] {
            assert_eq!(safe_relay_state(hostile), "/", "{hostile:?}");
        }
    }
}
