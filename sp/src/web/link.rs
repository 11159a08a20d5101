//! Account linking (Flow Production Tracking, Decisions): the page an unlinked identity lands on
//! when `account_linking = "prompt"`, and invitations that link without a prompt.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::acs::{self, Outcome};
use super::refusal::Refusal;
use super::{ClientAddress, Sp, WebError, cookies, retry_after, start_authn};
use crate::accounts::{PasswordCheck, PendingLink};
use crate::authn_request::AuthnRequestOptions;
use crate::pages::{self, LinkView};
use crate::reason::{Reason, Rejection, RejectionContext};
use crate::store::RequestPurpose;
use crate::throttle::{AttemptKeys, Limits, Reservation};
use time::OffsetDateTime;

#[derive(Debug, Deserialize)]
pub(super) struct LinkForm {
    /// `link` or `skip`.
    action: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

async fn pending(sp: &Sp, headers: &HeaderMap) -> Result<Option<PendingLink>, WebError> {
    let Some(token) = cookies::value(headers, cookies::LINK) else {
        return Ok(None);
    };
    Ok(sp.store().pending_link(&token, sp.now()).await?)
}

fn expired() -> Rejection {
    Rejection::new(
        Reason::LinkHasExpired,
        "no pending account link for this browser (expired or already decided)",
    )
}

/// `GET /link`.
pub(super) async fn page(State(sp): State<Sp>, headers: HeaderMap) -> Result<Response, WebError> {
    let Some(link) = pending(&sp, &headers).await? else {
        return Ok(Refusal::sign_in(&expired(), false).into_response());
    };
    if link.locked {
        return Ok(Refusal::sign_in(&locked(&link), false).into_response());
    }
    prompt(&sp, &link, None, StatusCode::OK).await
}

async fn prompt(
    sp: &Sp,
    link: &PendingLink,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let matched = match link.matched_user_id {
        Some(id) => sp.store().user_by_id(id).await?,
        None => None,
    };
    let matched_name = matched
        .as_ref()
        .map(|u| u.login.clone().unwrap_or_else(|| u.email.clone()));
    let view = LinkView {
        email: &link.identity.identity.email,
        matched: matched_name.as_deref(),
        error,
    };
    Ok((status, Html(pages::link_prompt(&view))).into_response())
}

/// The pending link's identity was linked to `user_id` by another sign-in since the page was
/// shown.
fn stale(link: &PendingLink, user_id: i64) -> Rejection {
    let mut rejection = Rejection::new(
        Reason::LinkHasExpired,
        format!(
            "this identity was linked to user {user_id} by another sign-in since the linking page was shown: sign in again"
        ),
    );
    *rejection.context = RejectionContext {
        issuer: Some(link.idp_entity_id.clone()),
        subject: Some(link.identity.identity.subject.clone()),
        ..RejectionContext::default()
    };
    rejection
}

fn locked(link: &PendingLink) -> Rejection {
    let mut rejection = Rejection::new(
        Reason::LinkIsLockedOut,
        format!(
            "{} password attempts: linking is locked for this sign-in",
            link.failed_attempts
        ),
    );
    *rejection.context = RejectionContext {
        issuer: Some(link.idp_entity_id.clone()),
        subject: Some(link.identity.identity.subject.clone()),
        ..RejectionContext::default()
    };
    rejection
}

/// The password throttle refused a linking attempt unevaluated.
fn throttled(
    link: &PendingLink,
    keys: &AttemptKeys,
    locked_key: &str,
    until: OffsetDateTime,
) -> Rejection {
    let mut rejection = Rejection::new(
        Reason::PasswordAttemptsAreThrottled,
        format!(
            "{locked_key} is locked until {until} (attempt from {}); the password was not evaluated",
            keys.address
        ),
    );
    *rejection.context = RejectionContext {
        issuer: Some(link.idp_entity_id.clone()),
        subject: Some(link.identity.identity.subject.clone()),
        ..RejectionContext::default()
    };
    rejection
}

/// `POST /link`: link with a password, or skip. Every password attempt is reserved against the
/// pending link (`max_link_attempts`) and the password throttle before it is evaluated.
pub(super) async fn decide(
    State(sp): State<Sp>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LinkForm>,
) -> Result<Response, WebError> {
    let Some(link) = pending(&sp, &headers).await? else {
        return Ok(Refusal::sign_in(&expired(), false).into_response());
    };
    if link.locked {
        return Ok(Refusal::sign_in(&locked(&link), false).into_response());
    }
    let store = sp.store();
    let now = sp.now();
    let facts = &link.identity;
    let idp = link.idp_entity_id.as_str();
    // Another sign-in of the same identity (another browser's linking page) may have linked or
    // provisioned it since this page was shown: this decision is stale, and acting on it would
    // link the identity twice.
    if let Some(user) = store.user_by_identity(idp, &facts.identity.subject).await? {
        store.delete_pending_link(&link.token).await?;
        let rejection = stale(&link, user.id);
        acs::audit_rejection(&sp, "link.rejected", &rejection).await?;
        return Ok(Refusal::sign_in(&rejection, false).into_response());
    }
    let landing = link.relay_state.clone().unwrap_or_else(|| "/".into());
    match form.action.as_str() {
        "skip" => {
            store.delete_pending_link(&link.token).await?;
            acs::audit(
                &sp,
                "link.skipped",
                idp,
                &facts.identity,
                "linking skipped: a new user is created".into(),
                now,
            )
            .await?;
            finish(&sp, acs::provision(&sp, idp, facts, &landing, now).await?).await
        }
        "link" => {
            let (target, typed_name) = match (link.matched_user_id, form.username.as_deref()) {
                (Some(id), _) => (store.user_by_id(id).await?, ""),
                (None, Some(name)) => (store.user_by_login_or_email(name.trim()).await?, name),
                (None, None) => (None, ""),
            };
            // Reserve the guess before evaluating it: first this sign-in's allowance, then the
            // account's and the address's, which outlive the pending link.
            let max = sp.config().sp.max_link_attempts;
            let Some(link_left) = store.reserve_link_attempt(&link.token, max).await? else {
                let rejection = locked(&PendingLink {
                    failed_attempts: max,
                    ..link.clone()
                });
                acs::audit_rejection(&sp, "link.rejected", &rejection).await?;
                return Ok(Refusal::sign_in(&rejection, false).into_response());
            };
            let keys = AttemptKeys::new(address, target.as_ref().map(|u| u.id), typed_name);
            let limits = Limits::from(&sp.config().sp);
            let account_left = match store.reserve_password_attempt(&keys, &limits, now).await? {
                Reservation::Granted { remaining } => remaining,
                Reservation::Refused { key, until } => {
                    let rejection = throttled(&link, &keys, &key, until);
                    acs::audit_rejection(&sp, "link.rejected", &rejection).await?;
                    let mut response = Refusal::sign_in(&rejection, false).into_response();
                    retry_after(&mut response, now, until);
                    return Ok(response);
                }
            };
            let password = form.password.unwrap_or_default();
            let check = store.check_password(target.as_ref(), &password).await?;
            let user = match (target, check) {
                (Some(user), PasswordCheck::Matches) => user,
                (target, check) => {
                    let failed = max.saturating_sub(link_left);
                    let who = target
                        .map_or_else(|| format!("{typed_name:?}"), |u| format!("user {}", u.id));
                    acs::audit(
                        &sp,
                        "link.password_failed",
                        idp,
                        &facts.identity,
                        format!(
                            "{who}: {} (try {failed} of {max} for this sign-in; {account_left} failures left before the account or address is locked)",
                            check.describe()
                        ),
                        now,
                    )
                    .await?;
                    if link_left == 0 {
                        let rejection = locked(&PendingLink {
                            failed_attempts: failed,
                            ..link.clone()
                        });
                        acs::audit_rejection(&sp, "link.rejected", &rejection).await?;
                        return Ok(Refusal::sign_in(&rejection, false).into_response());
                    }
                    let error = if account_left == 0 {
                        "Wrong username or password. Too many failed attempts: wait a while before trying again.".to_owned()
                    } else {
                        format!(
                            "Wrong username or password. {} tries left.",
                            link_left.min(account_left)
                        )
                    };
                    return prompt(&sp, &link, Some(error), StatusCode::UNAUTHORIZED).await;
                }
            };
            if !store.sso_allowed(user.id).await? {
                let rejection = Rejection::new(
                    Reason::AccountIsNotAllowedToUseSso,
                    format!(
                        "the local account {} is not configured to use SAML",
                        user.id
                    ),
                );
                acs::audit_rejection(&sp, "link.rejected", &rejection).await?;
                return Ok(Refusal::sign_in(&rejection, false).into_response());
            }
            store.password_attempt_succeeded(&keys, &limits).await?;
            store
                .link_identity(idp, &facts.identity.subject, user.id, now)
                .await?;
            store.delete_pending_link(&link.token).await?;
            acs::audit(
                &sp,
                "link.linked",
                idp,
                &facts.identity,
                format!("linked to user {} by password", user.id),
                now,
            )
            .await?;
            finish(
                &sp,
                Ok(acs::complete_sign_in(&sp, &user, false, idp, facts, &landing, now).await?),
            )
            .await
        }
        other => Ok((
            StatusCode::BAD_REQUEST,
            Html(pages::error(
                "Unknown action",
                &format!("{other:?} is neither link nor skip"),
            )),
        )
            .into_response()),
    }
}

async fn finish(sp: &Sp, outcome: Result<Outcome, Rejection>) -> Result<Response, WebError> {
    match outcome {
        Ok(Outcome::SignedIn { token, landing }) => {
            let mut response = Redirect::to(&landing).into_response();
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, cookies::session(sp, &token));
            headers.append(header::SET_COOKIE, cookies::cleared(cookies::LINK));
            Ok(response)
        }
        Ok(_) => Err(WebError::Internal(
            "linking ended in something other than a sign-in".into(),
        )),
        Err(rejection) => {
            acs::audit_rejection(sp, "sign_in.rejected", &rejection).await?;
            Ok(Refusal::sign_in(&rejection, false).into_response())
        }
    }
}

/// `GET /invite/{token}`: an admin's invitation. Signing in from here links to the invited user
/// directly, with no prompt (Flow Production Tracking).
pub(super) async fn invitation(
    State(sp): State<Sp>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if sp.store().user_by_invitation(&token).await?.is_none() {
        let rejection = Rejection::new(
            Reason::LinkHasExpired,
            "the invitation is unknown or was already used",
        );
        return Ok(Refusal::sign_in(&rejection, false).into_response());
    }
    let idp = &sp.config().idp;
    start_authn(
        &sp,
        &headers,
        idp,
        None,
        &RequestPurpose::Invitation { token },
        &AuthnRequestOptions::default(),
    )
    .await
}
