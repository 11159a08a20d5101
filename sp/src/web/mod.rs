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

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::authn_request::{self, AuthnRequestOptions};
use crate::clock::Clock;
use crate::config::{ConfigError, SpConfig, digest_algorithm_uri, signature_algorithm_uri};

use crate::pages;

use crate::store::{AuditEvent, Session, Store, StoreError, User};
use crate::verify::VerifyPolicy;

mod acs;
mod slo;

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
        Ok(Self {
            inner: Arc::new(SpInner {
                config,
                policy,
                store,
                clock,
            }),
        })
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
    // Names were validated with the configuration; SHA-1 is the policy's explicit opt-in.
    let uris = |names: &[String], to_uri: fn(&str) -> Option<&'static str>, sha1: &str| {
        names
            .iter()
            .filter(|n| *n != sha1)
            .filter_map(|n| to_uri(n))
            .map(String::from)
            .collect()
    };
    Ok(VerifyPolicy {
        sp_entity_id: config.entity_id(),
        acs_url: config.acs_url(),
        idp_entity_id: Some(config.idp.entity_id.clone()),
        idp_certs_pem: config.idp_certificates_pem()?,
        clock_skew: Duration::seconds(i64::from(sp.clock_skew_secs)),
        signature_algorithms: uris(
            &sp.signature_algorithms,
            signature_algorithm_uri,
            "rsa-sha1",
        ),
        digest_algorithms: uris(&sp.digest_algorithms, digest_algorithm_uri, "sha1"),
        allow_sha1: sp.signature_algorithms.iter().any(|a| a == "rsa-sha1")
            || sp.digest_algorithms.iter().any(|a| a == "sha1"),
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
        .route("/saml/acs", post(acs::acs))
        .route("/me", get(me))
        .route("/logout", get(logout).post(logout))
        .route("/admin/audit", get(audit_log))
        .merge(slo::routes())
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
        return Ok(Html(pages::home(None)).into_response());
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

async fn login(
    State(sp): State<Sp>,
    Query(query): Query<LoginQuery>,
) -> Result<Response, WebError> {
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
    sp.store()
        .remember_request(&request.id, relay_state.as_deref(), now, expires_at)
        .await?;
    let url =
        authn_request::redirect_url(&config.idp.sso_url, &request.xml, relay_state.as_deref())
            .map_err(|e| WebError::Internal(format!("idp.sso_url is not a URL: {e}")))?;
    Ok(Redirect::to(&url).into_response())
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
    response
        .headers_mut()
        .insert(header::SET_COOKIE, clear_cookie());
    Ok(response)
}

async fn audit_log(State(sp): State<Sp>, headers: HeaderMap) -> Result<Response, WebError> {
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
    Ok(Json(sp.store().audit_events().await?).into_response())
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
    let secure = if sp.config().sp.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    // Lax: sent on the top-level navigation that follows the IdP's cross-site POST.
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax{secure}"
    ))
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
