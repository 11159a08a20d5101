//! Single logout over HTTP: `GET|POST /logout` (SP-initiated) and `GET|POST /saml/sls` (the IdP's
//! LogoutResponses, and its IdP-initiated LogoutRequests). The messages are built and verified in
//! [`crate::slo`]; this module adds the store (outstanding requests, replay, sessions), the audit
//! log and the pages.
//!
//! Every outcome is audited: `session.logout` when a user signs out here, `logout.accepted` /
//! `logout.rejected` (with the reason code, the IdP and the NameID) for each message at the SLS.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::clock;

use super::refusal::Refusal;
use super::{Sp, WebError, accepts_json, cookies, current_session, session_token};
use crate::pages;
use crate::reason::{Reason, Rejection};
use crate::slo::{
    self, LogoutMessage, LogoutRefusal, LogoutStatus, LogoutSubject, MessageKind, RawMessage,
    STATUS_REQUEST_DENIED, STATUS_SUCCESS, STATUS_UNKNOWN_PRINCIPAL, SloPolicy,
    VerifiedLogoutRequest, VerifiedLogoutResponse,
};
use crate::store::AuditEvent;
use crate::weakness::Weakness;

pub(super) fn routes() -> Router<Sp> {
    Router::new().route("/saml/sls", get(sls_redirect).post(sls_post))
}

// --- SP-initiated ------------------------------------------------------------------------------

/// `GET /logout`: the sign-out confirmation, a form that POSTs the session's token. A GET never
/// ends anything, so another site cannot sign the user out with a link or an image (logout CSRF).
pub(super) async fn logout_page(
    State(sp): State<Sp>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let token = session_token(&headers);
    let csrf = match &token {
        Some(token) => sp.store().logout_csrf_token(token, sp.now()).await?,
        None => None,
    };
    match csrf {
        Some(csrf) => Ok(Html(pages::sign_out_confirmation(&csrf)).into_response()),
        None => {
            let mut page = Html(pages::signed_out()).into_response();
            if token.is_some() {
                page.headers_mut()
                    .insert(header::SET_COOKIE, cookies::cleared(cookies::SESSION));
            }
            Ok(page)
        }
    }
}

/// `POST /logout` with the session's token (`csrf_token`): ends the local session; with
/// `[idp] slo_url`, also sends a signed LogoutRequest for it to the IdP over HTTP-Redirect (the
/// IdP's LogoutResponse comes back to `/saml/sls`). A live session without its token in the form,
/// or a request with neither a session cookie nor a token: `logout.csrf_token_invalid`, and
/// nothing ends.
pub(super) async fn logout(
    State(sp): State<Sp>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    // Read as a form whatever the Content-Type says, so that every refusal has its code.
    let sent = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "csrf_token")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let token = session_token(&headers);
    let refused = match &token {
        Some(token) if sp.store().live_session(token, sp.now()).await?.is_some() => {
            let expected = sp
                .store()
                .logout_csrf_token(token, sp.now())
                .await?
                .unwrap_or_default();
            expected.is_empty()
                || !crate::token::constant_time_eq(sent.as_bytes(), expected.as_bytes())
        }
        // Neither cookie nor token: not the SP's own form (it always carries the token). A
        // browser withholds its `SameSite=Lax` session cookie from another site's POST, so
        // this is most likely that site, and the session the browser still holds stays.
        None => sent.is_empty(),
        Some(_) => false,
    };
    if refused {
        let rejection = Rejection::new(
            Reason::LogoutFormLacksTheSessionToken,
            "POST /logout without the logout form's token of this session: nothing ended",
        );
        audit_refusal(&sp, &rejection, "").await?;
        return Ok(Refusal::logout(&rejection, accepts_json(&headers)).into_response());
    }
    end_local_session(sp, headers).await
}

async fn end_local_session(sp: Sp, headers: HeaderMap) -> Result<Response, WebError> {
    let now = sp.now();
    let mut redirect = None;
    if let Some(token) = session_token(&headers) {
        if let Some((session, user)) = current_session(&sp, &headers).await? {
            let format = sp.store().name_id_format(&token).await?;
            sp.store().delete_session(&token).await?;
            // The IdP that signed this session in (none for recovery sessions: local only).
            let session_slo_url = sp
                .config()
                .idp_by_entity_id(&session.idp_entity_id)
                .and_then(|idp| idp.slo_url.clone());
            let detail = match (&session_slo_url, &session.name_id) {
                (Some(slo_url), Some(name_id)) if !slo_url.is_empty() => {
                    let config = sp.config();
                    let expires_at = clock::add_secs(now, config.sp.request_ttl_secs);
                    let request = slo::build_logout_request(
                        &config.entity_id(),
                        slo_url,
                        &LogoutSubject {
                            name_id,
                            name_id_format: format.as_deref(),
                            session_index: session.session_index.as_deref(),
                        },
                        now,
                        expires_at,
                    );
                    let url = slo::redirect_url(
                        slo_url,
                        MessageKind::Request,
                        &request.xml,
                        None,
                        config.sp.sign_logout_requests.then(|| sp.keys()),
                    )
                    .map_err(|e| {
                        WebError::Internal(format!("cannot sign the LogoutRequest: {e}"))
                    })?;
                    sp.store()
                        .remember_logout_request(
                            &request.id,
                            &session.idp_entity_id,
                            Some(name_id),
                            now,
                            expires_at,
                        )
                        .await?;
                    redirect = Some(url);
                    format!(
                        "local session ended; signed LogoutRequest {} sent to {slo_url}",
                        request.id
                    )
                }
                (Some(_), None) => {
                    "local logout only: the session has no NameID to name in a LogoutRequest".into()
                }
                _ => "local logout (no [idp] slo_url)".into(),
            };
            sp.store()
                .audit(&AuditEvent {
                    at: now,
                    kind: "session.logout".into(),
                    code: None,
                    idp: Some(session.idp_entity_id.clone()),
                    subject: session.name_id.clone(),
                    user_email: Some(user.email),
                    groups: vec![],
                    detail,
                })
                .await?;
        } else {
            sp.store().delete_session(&token).await?;
        }
    }
    let mut response = match redirect {
        Some(url) => Redirect::to(&url).into_response(),
        None => Html(pages::signed_out()).into_response(),
    };
    // Only a cookie that came is cleared: a request without one (another site's, the browser
    // withholding the cookie) must not end the session the browser holds.
    if session_token(&headers).is_some() {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, cookies::cleared(cookies::SESSION));
    }
    Ok(response)
}

// --- /saml/sls ---------------------------------------------------------------------------------

async fn sls_redirect(
    State(sp): State<Sp>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let max = sp.config().sp.max_response_bytes;
    let raw = slo::decode_redirect(query.as_deref().unwrap_or(""), max);
    handle(sp, raw, headers).await
}

async fn sls_post(
    State(sp): State<Sp>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let max = sp.config().sp.max_response_bytes;
    let raw = slo::decode_post(&body, max);
    handle(sp, raw, headers).await
}

fn slo_policy(sp: &Sp) -> SloPolicy {
    let config = sp.config();
    SloPolicy {
        verify: sp.policy().clone(),
        sls_url: config.sls_url(),
        require_signed_requests: config.sp.require_signed_logout_requests,
        max_request_age: Duration::seconds(i64::from(config.sp.request_ttl_secs)),
    }
}

async fn handle(
    sp: Sp,
    raw: Result<RawMessage, Rejection>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let wants_json = accepts_json(&headers);
    let raw = match raw {
        Ok(raw) => raw,
        Err(rejection) => {
            audit_refusal(&sp, &rejection, "undecodable logout message").await?;
            return Ok(Refusal::logout(&rejection, wants_json).into_response());
        }
    };
    let now = sp.now();
    let policy = slo_policy(&sp);
    let relay_state = raw.relay_state.clone();
    // libxml2 documents are not Send: parsing and verification run on one blocking thread.
    let verified = tokio::task::spawn_blocking(move || slo::verify_message(&raw, &policy, now))
        .await
        .map_err(|e| WebError::Internal(format!("logout verifier task failed: {e}")))?;
    match verified {
        Ok(LogoutMessage::Request(request)) => {
            idp_initiated(&sp, request, relay_state, &headers, now).await
        }
        Ok(LogoutMessage::Response(response)) => {
            logout_response(&sp, response, wants_json, now).await
        }
        Err(LogoutRefusal {
            rejection,
            kind,
            id,
            signature_verified,
        }) => {
            audit_refusal(&sp, &rejection, "").await?;
            // A refused request whose signature verified is still answered (signed, Requester),
            // so the IdP learns the outcome. An unverified one is not: a signed answer carrying
            // its ID and RelayState would make the SP a signing oracle. It gets the page.
            if kind == Some(MessageKind::Request)
                && signature_verified
                && let Some(url) = answer_url(
                    &sp,
                    rejection.context.issuer.as_deref(),
                    id.as_deref(),
                    &LogoutStatus::refused(STATUS_REQUEST_DENIED, rejection.reason),
                    relay_state.as_deref(),
                    now,
                )?
            {
                return Ok(Redirect::to(&url).into_response());
            }
            Ok(Refusal::logout(&rejection, wants_json).into_response())
        }
    }
}

/// An IdP-initiated LogoutRequest that passed the stateless checks: replay, then the sessions.
async fn idp_initiated(
    sp: &Sp,
    request: VerifiedLogoutRequest,
    relay_state: Option<String>,
    headers: &HeaderMap,
    now: OffsetDateTime,
) -> Result<Response, WebError> {
    let store = sp.store();
    let skew = Duration::seconds(i64::from(sp.config().sp.clock_skew_secs));
    let ttl = Duration::seconds(i64::from(sp.config().sp.request_ttl_secs));
    // After IssueInstant + ttl + skew the request is refused as expired whatever it says, so the
    // ID need not be kept longer (its own NotOnOrAfter, however far, does not extend that).
    let keep_until = crate::slo::logout_keep_until(request.issue_instant, skew, ttl);
    let context = |reason: Reason, message: String| {
        let mut rejection = Rejection::new(reason, message);
        rejection.context.issuer = Some(request.issuer.clone());
        rejection.context.subject = Some(request.name_id.clone());
        rejection
    };
    let fresh = sp.weakened(Weakness::LogoutReplay)
        || store
            .consume_logout_request_id(&request.id, keep_until, now)
            .await?;
    let (status, outcome) = if !fresh {
        let rejection = context(
            Reason::LogoutRequestWasAlreadyUsed,
            format!("LogoutRequest {:?} was already processed", request.id),
        );
        audit_refusal(sp, &rejection, "").await?;
        (
            LogoutStatus::refused(STATUS_REQUEST_DENIED, rejection.reason),
            Err(rejection),
        )
    } else {
        let session_indexes: &[String] = match sp.weakened(Weakness::LogoutSessionIndex) {
            true => &[],
            false => &request.session_indexes,
        };
        let ended = store
            .end_sessions_for_logout(&request.issuer, &request.name_id, session_indexes)
            .await?;
        if ended.is_empty() {
            let rejection = context(
                Reason::LogoutRequestMatchesNoSession,
                format!(
                    "no live session for NameID {:?} with SessionIndex {:?}; nothing ended",
                    request.name_id, request.session_indexes
                ),
            );
            audit_refusal(sp, &rejection, "").await?;
            (
                LogoutStatus::refused(STATUS_UNKNOWN_PRINCIPAL, rejection.reason),
                Err(rejection),
            )
        } else {
            store
                .audit(&AuditEvent {
                    at: now,
                    kind: "logout.accepted".into(),
                    code: None,
                    idp: Some(request.issuer.clone()),
                    subject: Some(request.name_id.clone()),
                    user_email: None,
                    groups: vec![],
                    detail: format!(
                        "IdP-initiated LogoutRequest {} ({:?}): ended {} session(s)",
                        request.id,
                        request.signed,
                        ended.len()
                    ),
                })
                .await?;
            (LogoutStatus::success(), Ok(ended))
        }
    };
    // Clear this browser's cookie when its session was one of those ended.
    let clear = match (&outcome, session_token(headers)) {
        (Ok(ended), Some(token)) => ended.contains(&token),
        _ => false,
    };
    let mut response = match answer_url(
        sp,
        Some(&request.issuer),
        Some(&request.id),
        &status,
        relay_state.as_deref(),
        now,
    )? {
        Some(url) => Redirect::to(&url).into_response(),
        None => match &outcome {
            Ok(_) => Html(pages::signed_out()).into_response(),
            Err(rejection) => Refusal::logout(rejection, accepts_json(headers)).into_response(),
        },
    };
    if clear {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, cookies::cleared(cookies::SESSION));
    }
    Ok(response)
}

/// The IdP's answer to our LogoutRequest: InResponseTo (consumed once), then the status.
async fn logout_response(
    sp: &Sp,
    response: VerifiedLogoutResponse,
    wants_json: bool,
    now: OffsetDateTime,
) -> Result<Response, WebError> {
    // Several IdPs: only the IdP the request went to may answer it; a mismatch leaves the
    // request answerable by the right one.
    if let Some(id) = &response.in_response_to
        && !sp.weakened(Weakness::LogoutIssuer)
        && let Some(asked) = sp.store().logout_request_idp(id).await?
        && asked != response.issuer
    {
        let mut rejection = Rejection::new(
            Reason::LogoutIssuerIsNotTheConfiguredIdp,
            format!(
                "the LogoutRequest {id:?} went to {asked:?} but the LogoutResponse was issued by {:?}",
                response.issuer
            ),
        );
        rejection.context.issuer = Some(response.issuer.clone());
        audit_refusal(sp, &rejection, "").await?;
        return Ok(Refusal::logout(&rejection, wants_json).into_response());
    }
    let outstanding = match &response.in_response_to {
        Some(id) => sp.store().take_logout_request(id, now).await?,
        None => None,
    };
    let mut rejection = match (&outstanding, response.status.as_str()) {
        (None, _) => Some(Rejection::new(
            Reason::LogoutResponseAnswersNoOutstandingRequest,
            format!(
                "InResponseTo {:?} names no outstanding LogoutRequest of this SP (unknown, already answered, or expired)",
                response.in_response_to
            ),
        )),
        (Some(_), STATUS_SUCCESS) => None,
        (Some(_), status) => Some(Rejection::new(
            Reason::LogoutStatusIsNotSuccess,
            format!(
                "status {status:?} (second level {:?})",
                response.second_level_status
            ),
        )),
    };
    let subject = outstanding.and_then(|o| o.name_id);
    if let Some(rejection) = &mut rejection {
        rejection.context.issuer = Some(response.issuer.clone());
        rejection.context.subject = subject;
        audit_refusal(sp, rejection, "").await?;
        return Ok(Refusal::logout(rejection, wants_json).into_response());
    }
    sp.store()
        .audit(&AuditEvent {
            at: now,
            kind: "logout.accepted".into(),
            code: None,
            idp: Some(response.issuer.clone()),
            subject,
            user_email: None,
            groups: vec![],
            detail: format!(
                "LogoutResponse {} to {:?}: Success ({:?})",
                response.id, response.in_response_to, response.signed
            ),
        })
        .await?;
    let mut page = if wants_json {
        Json(json!({"signed_out": true})).into_response()
    } else {
        Html(pages::signed_out()).into_response()
    };
    page.headers_mut()
        .insert(header::SET_COOKIE, cookies::cleared(cookies::SESSION));
    Ok(page)
}

/// The signed HTTP-Redirect URL of our LogoutResponse to the IdP's SLO URL, if one is set.
fn answer_url(
    sp: &Sp,
    idp: Option<&str>,
    in_response_to: Option<&str>,
    status: &LogoutStatus,
    relay_state: Option<&str>,
    now: OffsetDateTime,
) -> Result<Option<String>, WebError> {
    // The IdP that sent the request when it is one of ours, else the default IdP.
    let config = sp.config();
    let idp = idp
        .and_then(|i| config.idp_by_entity_id(i))
        .unwrap_or(&config.idp);
    let Some(slo_url) = idp.slo_url.as_deref().filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let answer = slo::build_logout_response(
        &sp.config().entity_id(),
        slo_url,
        in_response_to,
        status,
        now,
    );
    slo::redirect_url(
        slo_url,
        MessageKind::Response,
        &answer.xml,
        relay_state,
        config.sp.sign_logout_responses.then(|| sp.keys()),
    )
    .map(Some)
    .map_err(|e| WebError::Internal(format!("cannot sign the LogoutResponse: {e}")))
}

async fn audit_refusal(sp: &Sp, rejection: &Rejection, prefix: &str) -> Result<(), WebError> {
    tracing::info!(code = rejection.reason.code(), detail = %rejection.message, "logout message refused");
    let detail = if prefix.is_empty() {
        rejection.message.clone()
    } else {
        format!("{prefix}: {}", rejection.message)
    };
    sp.store()
        .audit_unverified(&AuditEvent {
            at: sp.now(),
            kind: "logout.rejected".into(),
            code: Some(rejection.reason.code().into()),
            idp: rejection.context.issuer.clone(),
            subject: rejection.context.subject.clone(),
            user_email: None,
            groups: vec![],
            detail,
        })
        .await?;
    Ok(())
}
