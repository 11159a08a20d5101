//! The axum routes: browser endpoints and the JSON control API.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Form, Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::session::{session_cookie, set_cookie};
use super::slo::{SloAnswer, SloForm};
use super::sso::{LoginForm, SsoAnswer, SsoError, SsoParams};
use super::{
    Binding, ControlError, Idp, IdpSession, LogoutMessage, NextResponses, ReceivedLogoutRequest,
    ReceivedLogoutResponse, SloError, StartLogout, UserChange,
};
use crate::knobs::{Knobs, Section};
use crate::profiles;
use crate::users::User;

/// axum stops reading a body beyond this (the form extractor then fails and `/sso` answers 400);
/// `/sso` itself refuses a `SAMLRequest` over 64 KiB.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// The IdP's HTTP interface.
///
/// Browser: `GET /metadata`, `GET|POST /sso` (sets the `mockidp_session` cookie after a normal
/// sign-in; answers `IsPassive` requests from it), `POST /sso/login`, `GET /idp-initiated`,
/// `GET|POST /slo` (SP LogoutRequests and LogoutResponses).
///
/// Control (JSON):
/// - `POST|DELETE /_control/next`: queue knobs for the next responses / clear the queue;
/// - `GET|DELETE /_control/requests`: the recorded AuthnRequests;
/// - `GET|POST /_control/clock`: the IdP's clock (`{"now": …}` or `{"advance_secs": …}`);
/// - `GET /_control/profiles`: every profile and its knobs; `GET /_control/knobs`: every knob
///   with its section and description (its doc comment), and the defaults;
///   `GET /_control/logout-knobs`: the same for the logout section;
/// - `GET|POST /_control/framing`: `{"forbid_framing": bool}`;
/// - `GET /_control/users`; `POST /_control/users/{login}` with `{"access": bool}` and/or
///   `{"groups": [{"name", "object_id"}]}`;
///   `DELETE /_control/users/{login}` (removes the user and ends their sessions);
/// - `GET|DELETE /_control/sessions`: the live IdP sessions / end them all;
/// - `POST /_control/logout`: an IdP-initiated logout ([`super::StartLogout`] in,
///   [`super::LogoutMessage`] out);
/// - `GET|DELETE /_control/logout-requests`, `GET|DELETE /_control/logout-responses`: the SP
///   logout messages received at `/slo`;
/// - `POST|DELETE /_control/next-logout-response`: the logout knobs ([`Knobs`], `logout_*`) for
///   the next LogoutResponse.
pub fn router(idp: Idp) -> Router {
    Router::new()
        .route("/metadata", get(metadata))
        .route("/sso", get(sso_redirect).post(sso_post))
        .route("/sso/login", post(sso_login))
        .route("/idp-initiated", get(idp_initiated))
        .route("/slo", get(slo_redirect).post(slo_post))
        .route(
            "/_control/framing",
            get(control_framing).post(control_set_framing),
        )
        .route("/_control/users", get(control_users))
        .route(
            "/_control/users/{login}",
            post(control_change_user).delete(control_remove_user),
        )
        .route(
            "/_control/sessions",
            get(control_sessions).delete(control_end_sessions),
        )
        .route("/_control/logout", post(control_logout))
        .route(
            "/_control/logout-requests",
            get(control_logout_requests).delete(control_clear_logout_requests),
        )
        .route(
            "/_control/logout-responses",
            get(control_logout_responses).delete(control_clear_logout_responses),
        )
        .route(
            "/_control/next-logout-response",
            post(control_next_logout_response).delete(control_clear_next_logout_response),
        )
        .route("/_control/knobs", get(control_knobs))
        .route("/_control/logout-knobs", get(control_logout_knobs))
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
    headers: HeaderMap,
    RawQuery(raw_query): RawQuery,
    params: Result<Query<SsoParams>, QueryRejection>,
) -> Response {
    let answer = params
        .map_err(|e| SsoError::UnreadableParameters(e.body_text()))
        .and_then(|Query(params)| {
            idp.sso(
                Binding::HttpRedirect,
                params,
                raw_query.as_deref(),
                session_cookie(&headers).as_deref(),
            )
        });
    sso_response(&idp, answer)
}

async fn sso_post(
    State(idp): State<Idp>,
    headers: HeaderMap,
    params: Result<Form<SsoParams>, FormRejection>,
) -> Response {
    let answer = params
        .map_err(|e| SsoError::UnreadableParameters(e.body_text()))
        .and_then(|Form(params)| {
            idp.sso(
                Binding::HttpPost,
                params,
                None,
                session_cookie(&headers).as_deref(),
            )
        });
    sso_response(&idp, answer)
}

async fn sso_login(
    State(idp): State<Idp>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let answer = form
        .map_err(|e| SsoError::UnreadableParameters(e.body_text()))
        .and_then(|Form(form)| idp.sso_login(form, session_cookie(&headers).as_deref()));
    sso_response(&idp, answer)
}

/// Every `/sso` answer, error pages included: the session cookie if one started, and the
/// anti-framing headers when framing is forbidden (absent otherwise, so framing works).
fn sso_response(idp: &Idp, answer: Result<SsoAnswer, SsoError>) -> Response {
    let mut response = match answer {
        Ok(answer) => {
            let mut response = Html(answer.html).into_response();
            if let Some(id) = answer.new_session {
                let cookie = set_cookie(&idp.config().base_url, &id);
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    response.headers_mut().insert(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(err) => err.into_response(),
    };
    if idp.forbid_framing() {
        let headers = response.headers_mut();
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        );
    }
    response
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

async fn slo_redirect(
    State(idp): State<Idp>,
    RawQuery(query): RawQuery,
) -> Result<SloAnswer, SloError> {
    idp.slo_redirect(query.as_deref())
}

async fn slo_post(
    State(idp): State<Idp>,
    form: Result<Form<SloForm>, FormRejection>,
) -> Result<SloAnswer, SloError> {
    let Form(form) = form.map_err(|e| SloError::UnreadableParameters(e.body_text()))?;
    idp.slo_post(form)
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match self {
            ControlError::MintFailed(_) | ControlError::LogoutFailed(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
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

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Framing {
    forbid_framing: bool,
}

async fn control_framing(State(idp): State<Idp>) -> Json<Framing> {
    Json(Framing {
        forbid_framing: idp.forbid_framing(),
    })
}

async fn control_set_framing(
    State(idp): State<Idp>,
    body: Bytes,
) -> Result<Json<Framing>, ControlError> {
    let framing: Framing = json_body(&body)?;
    idp.set_forbid_framing(framing.forbid_framing);
    Ok(Json(framing))
}

async fn control_users(State(idp): State<Idp>) -> Json<Vec<User>> {
    Json(idp.users())
}

async fn control_change_user(
    State(idp): State<Idp>,
    Path(login): Path<String>,
    body: Bytes,
) -> Result<Json<User>, ControlError> {
    let change: UserChange = json_body(&body)?;
    Ok(Json(idp.change_user(&login, change)?))
}

async fn control_remove_user(
    State(idp): State<Idp>,
    Path(login): Path<String>,
) -> Result<StatusCode, ControlError> {
    idp.remove_user(&login)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn control_sessions(State(idp): State<Idp>) -> Json<Vec<IdpSession>> {
    Json(idp.sessions())
}

async fn control_end_sessions(State(idp): State<Idp>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "ended": idp.end_all_sessions() }))
}

async fn control_logout(
    State(idp): State<Idp>,
    body: Bytes,
) -> Result<Json<LogoutMessage>, ControlError> {
    let start: StartLogout = json_body(&body)?;
    Ok(Json(idp.start_logout(start)?))
}

async fn control_logout_requests(State(idp): State<Idp>) -> Json<Vec<ReceivedLogoutRequest>> {
    Json(idp.logout_requests())
}

async fn control_clear_logout_requests(State(idp): State<Idp>) -> StatusCode {
    idp.clear_logout_requests();
    StatusCode::NO_CONTENT
}

async fn control_logout_responses(State(idp): State<Idp>) -> Json<Vec<ReceivedLogoutResponse>> {
    Json(idp.logout_responses())
}

async fn control_clear_logout_responses(State(idp): State<Idp>) -> StatusCode {
    idp.clear_logout_responses();
    StatusCode::NO_CONTENT
}

async fn control_next_logout_response(
    State(idp): State<Idp>,
    body: Bytes,
) -> Result<StatusCode, ControlError> {
    let knobs: Knobs = json_body(&body)?;
    idp.set_next_logout_response(knobs)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn control_clear_next_logout_response(State(idp): State<Idp>) -> StatusCode {
    idp.clear_next_logout_response();
    StatusCode::NO_CONTENT
}

#[derive(Debug, Serialize)]
struct KnobInfo {
    name: &'static str,
    section: Section,
    description: String,
}

/// `{"defaults": {name: default}, "knobs": [{name, section, description}]}` for the knobs of
/// the sections `wanted` picks, in declaration order.
fn knob_listing(wanted: impl Fn(Section) -> bool) -> Json<serde_json::Value> {
    let defaults = match serde_json::to_value(Knobs::default()) {
        Ok(serde_json::Value::Object(all)) => all,
        _ => serde_json::Map::new(),
    };
    let fields = Knobs::FIELDS.iter().filter(|f| wanted(f.section));
    let defaults: serde_json::Map<String, serde_json::Value> = fields
        .clone()
        .filter_map(|f| Some((f.name.to_owned(), defaults.get(f.name)?.clone())))
        .collect();
    let knobs: Vec<KnobInfo> = fields
        .map(|f| KnobInfo {
            name: f.name,
            section: f.section,
            description: f.description(),
        })
        .collect();
    Json(serde_json::json!({ "defaults": defaults, "knobs": knobs }))
}

async fn control_knobs() -> Json<serde_json::Value> {
    knob_listing(|_| true)
}

async fn control_logout_knobs() -> Json<serde_json::Value> {
    knob_listing(|section| section == Section::Logout)
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ControlError> {
    serde_json::from_slice(body).map_err(|e| ControlError::BadBody(e.to_string()))
}
