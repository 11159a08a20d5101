//! `GET /renew`: a passive re-authentication of the current session (Flow Production Tracking's
//! renewal window), loaded by the home page in a hidden iframe, or in a small window when the IdP
//! forbids framing. A recovery (password) session is never sent to an IdP: it keeps its own
//! lifetime.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::recovery::is_recovery_session;
use super::{Sp, WebError, current_session, start_authn};
use crate::authn_request::AuthnRequestOptions;
use crate::pages;
use crate::store::RequestPurpose;

pub(super) async fn start(State(sp): State<Sp>, headers: HeaderMap) -> Result<Response, WebError> {
    let Some((session, _)) = current_session(&sp, &headers).await? else {
        return Ok((
            StatusCode::UNAUTHORIZED,
            Html(pages::renewal_result(Some("session.expired"))),
        )
            .into_response());
    };
    // With SSO switched off no IdP answers for the site any more.
    if is_recovery_session(&session) || !sp.config().sp.sso_enabled {
        return Ok(Html(pages::renewal_not_needed()).into_response());
    }
    let options = AuthnRequestOptions {
        is_passive: true,
        ..AuthnRequestOptions::default()
    };
    // Renew with the IdP that signed this session in.
    let config = sp.config();
    let idp = config
        .idp_by_entity_id(&session.idp_entity_id)
        .unwrap_or(&config.idp);
    start_authn(
        &sp,
        &headers,
        idp,
        None,
        &RequestPurpose::Renewal {
            session_token: session.token,
        },
        &options,
    )
    .await
}
