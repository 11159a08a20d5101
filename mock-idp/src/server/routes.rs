//! The axum routes: browser endpoints and the JSON control API.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::sso::{LoginForm, SsoError, SsoParams};
use super::{Binding, ControlError, Idp, NextResponses};
use crate::knobs::Knobs;
use crate::profiles;

/// axum stops reading a body beyond this (the form extractor then fails and `/sso` answers 400);
/// `/sso` itself refuses a `SAMLRequest` over 64 KiB.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// The IdP's HTTP interface.
///
/// Browser: `GET /metadata`, `GET|POST /sso`, `POST /sso/login`, `GET /idp-initiated`,
/// `GET|POST /slo`. Control (JSON): `POST|DELETE /_control/next`, `GET|DELETE /_control/requests`,
/// `GET|POST /_control/clock`, `GET /_control/profiles`.
pub fn router(idp: Idp) -> Router {
    Router::new()
        .route("/metadata", get(metadata))
        .route("/sso", get(sso_redirect).post(sso_post))
        .route("/sso/login", post(sso_login))
        .route("/idp-initiated", get(idp_initiated))
        .route("/slo", get(slo).post(slo))
        .route(
            "/_control/next",
            post(control_next).delete(control_clear_next),
        )
        .route(
            "/_control/requests",
            get(control_requests).delete(control_clear_requests),
        )
        .route(
            "/_control/clock",
            get(control_clock).post(control_set_clock),
        )
        .route("/_control/profiles", get(control_profiles))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(idp)
}

async fn metadata(State(idp): State<Idp>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
        idp.metadata_xml(),
    )
        .into_response()
}

async fn sso_redirect(
    State(idp): State<Idp>,
    params: Result<Query<SsoParams>, QueryRejection>,
) -> Result<Html<String>, SsoError> {
    let Query(params) = params.map_err(|e| SsoError::UnreadableParameters(e.body_text()))?;
    idp.sso(Binding::HttpRedirect, params)
}

async fn sso_post(
    State(idp): State<Idp>,
    params: Result<Form<SsoParams>, FormRejection>,
) -> Result<Html<String>, SsoError> {
    let Form(params) = params.map_err(|e| SsoError::UnreadableParameters(e.body_text()))?;
    idp.sso(Binding::HttpPost, params)
}

async fn sso_login(
    State(idp): State<Idp>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Html<String>, SsoError> {
    let Form(form) = form.map_err(|e| SsoError::UnreadableParameters(e.body_text()))?;
    idp.sso_login(form)
}

#[derive(Debug, Deserialize)]
struct IdpInitiatedParams {
    user: Option<String>,
    sp: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

async fn idp_initiated(
    State(idp): State<Idp>,
    params: Result<Query<IdpInitiatedParams>, QueryRejection>,
) -> Result<Html<String>, SsoError> {
    let Query(params) = params.map_err(|e| SsoError::UnreadableParameters(e.body_text()))?;
    let user = params
        .user
        .ok_or_else(|| SsoError::UnreadableParameters("`user` is required".to_owned()))?;
    let form = match params.sp {
        Some(sp) => idp.mint_unsolicited_for(&sp, &user, params.relay_state),
        None => idp.mint_unsolicited(&user, params.relay_state),
    };
    Ok(Html(form?))
}

/// Single logout is advertised in metadata (SPs expect it) but not implemented.
async fn slo() -> Response {
    let page = super::html::error_page(
        "Not implemented",
        "The mock IdP does not implement single logout.",
    );
    (StatusCode::NOT_IMPLEMENTED, Html(page)).into_response()
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match self {
            ControlError::MintFailed(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        tracing::warn!(error = %self, "control request refused");
        (
            status,
            Json(serde_json::json!({ "error": self.code(), "message": self.to_string() })),
        )
            .into_response()
    }
}

async fn control_next(State(idp): State<Idp>, body: Bytes) -> Result<StatusCode, ControlError> {
    let next: NextResponses =
        serde_json::from_slice(&body).map_err(|e| ControlError::BadBody(e.to_string()))?;
    idp.set_next(next)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn control_clear_next(State(idp): State<Idp>) -> StatusCode {
    idp.clear_next();
    StatusCode::NO_CONTENT
}

async fn control_requests(State(idp): State<Idp>) -> Response {
    Json(idp.requests()).into_response()
}

async fn control_clear_requests(State(idp): State<Idp>) -> StatusCode {
    idp.clear_requests();
    StatusCode::NO_CONTENT
}

/// Body of `POST /_control/clock`: exactly one of the two fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    /// Move the clock to this RFC 3339 instant.
    now: Option<String>,
    /// Move the clock by this many seconds (negative: back).
    advance_secs: Option<i64>,
}

#[derive(Debug, Serialize)]
struct ClockState {
    now: String,
}

async fn control_clock(State(idp): State<Idp>) -> Result<Json<ClockState>, ControlError> {
    clock_state(&idp)
}

async fn control_set_clock(
    State(idp): State<Idp>,
    body: Bytes,
) -> Result<Json<ClockState>, ControlError> {
    let change: ClockChange =
        serde_json::from_slice(&body).map_err(|e| ControlError::BadBody(e.to_string()))?;
    match (change.now, change.advance_secs) {
        (Some(now), None) => {
            let now = OffsetDateTime::parse(&now, &Rfc3339).map_err(|e| {
                ControlError::BadBody(format!("`now` is not RFC 3339 ({e}): {now}"))
            })?;
            idp.set_clock(now);
        }
        (None, Some(secs)) => {
            idp.now()
                .checked_add(Duration::seconds(secs))
                .ok_or_else(|| ControlError::ClockOutOfRange(format!("now + {secs} s")))?;
            idp.advance_clock(Duration::seconds(secs));
        }
        _ => {
            return Err(ControlError::BadBody(
                "give exactly one of `now` and `advance_secs`".to_owned(),
            ));
        }
    }
    clock_state(&idp)
}

fn clock_state(idp: &Idp) -> Result<Json<ClockState>, ControlError> {
    let now = idp
        .now()
        .format(&Rfc3339)
        .map_err(|e| ControlError::ClockOutOfRange(e.to_string()))?;
    Ok(Json(ClockState { now }))
}

#[derive(Debug, Serialize)]
struct ProfileInfo {
    name: &'static str,
    description: &'static str,
    knobs: Option<Knobs>,
}

async fn control_profiles() -> Json<Vec<ProfileInfo>> {
    Json(
        profiles::ALL
            .iter()
            .map(|(name, description)| ProfileInfo {
                name,
                description,
                knobs: profiles::get(name),
            })
            .collect(),
    )
}
