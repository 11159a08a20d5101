//! Password setup pages ([`crate::password_setup`]): an admin issues a one-time link for a user
//! (`POST /admin/password-setup`), the user opens it (`GET /password/setup/{token}`) and chooses a
//! password (`POST /password/setup`), which the recovery login then accepts (under
//! `recovery_login = "admins"` only for an administrator). Every step is audited.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;

use super::acs::audit_rejection;
use super::refusal::Refusal;
use super::{Sp, WebError, accepts_json, current_session};
use crate::password_setup::{MIN_PASSWORD_CHARS, TokenState};
use crate::reason::{Reason, Rejection};
use crate::store::{AuditEvent, StoreError, User};

use crate::password_setup::AUDIT_ISSUER as ISSUER;

impl Sp {
    /// Issues a password-setup token for `user` (replacing an earlier one), audited as
    /// `password_setup.issued` with who asked; returns the path of the link, shown once.
    pub async fn issue_password_setup(
        &self,
        user: &User,
        issued_by: &str,
    ) -> Result<String, StoreError> {
        let ttl = self.config().sp.password_setup_ttl_secs;
        crate::password_setup::issue(self.store(), user, issued_by, self.now(), ttl).await
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct IssueRequest {
    /// Login or e-mail of the user.
    user: String,
}

/// `POST /admin/password-setup` (JSON `{"user": …}`; a JSON body cannot be sent by another
/// site's form): an administrator's session issues a link for a user.
pub(super) async fn issue(
    State(sp): State<Sp>,
    headers: HeaderMap,
    Json(request): Json<IssueRequest>,
) -> Result<Response, WebError> {
    let Some((_, admin)) = current_session(&sp, &headers).await? else {
        return Ok((
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "not_signed_in"})),
        )
            .into_response());
    };
    let roles = sp.store().roles(admin.id).await?;
    if !roles.iter().any(|r| sp.config().is_admin_role(r)) {
        return Ok((
            StatusCode::FORBIDDEN,
            Json(json!({"error": "admin_role_required"})),
        )
            .into_response());
    }
    let Some(user) = sp
        .store()
        .user_by_login_or_email(request.user.trim())
        .await?
    else {
        return Ok((
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no_such_user"})),
        )
            .into_response());
    };
    let path = sp.issue_password_setup(&user, &admin.email).await?;
    Ok(Json(json!({
        "user": user.email,
        "path": path,
        "url": format!("{}{path}", sp.config().sp.base_url),
        "valid_secs": sp.config().sp.password_setup_ttl_secs,
    }))
    .into_response())
}

/// `GET /password/setup/{token}`: the form, or the refusal of an unusable token.
pub(super) async fn page(
    State(sp): State<Sp>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    match sp.store().password_setup_state(&token, sp.now()).await? {
        TokenState::Usable { user_id } => {
            let Some(user) = sp.store().user_by_id(user_id).await? else {
                return refuse(&sp, &headers, Reason::PasswordSetupTokenIsUnknown, "gone").await;
            };
            Ok(Html(crate::pages::password_setup_form(&user.email, &token, None)).into_response())
        }
        state => refused_token(&sp, &headers, state).await,
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct SetupForm {
    token: String,
    password: String,
}

/// `POST /password/setup`: sets the password and uses the token up, then on to the recovery
/// login.
pub(super) async fn set(
    State(sp): State<Sp>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Result<Response, WebError> {
    let now = sp.now();
    let state = sp.store().password_setup_state(&form.token, now).await?;
    let TokenState::Usable { user_id } = state else {
        return refused_token(&sp, &headers, state).await;
    };
    if form.password.chars().count() < MIN_PASSWORD_CHARS {
        let reason = Reason::PasswordSetupPasswordIsTooShort;
        let rejection = rejection(reason, format!("user {user_id}: the password is too short"));
        audit_rejection(&sp, "password_setup.rejected", &rejection).await?;
        let email = sp
            .store()
            .user_by_id(user_id)
            .await?
            .map(|u| u.email)
            .unwrap_or_default();
        let page = crate::pages::password_setup_form(
            &email,
            &form.token,
            Some((reason.code(), reason.summary())),
        );
        return Ok((StatusCode::FORBIDDEN, Html(page)).into_response());
    }
    let hash = crate::accounts::hash_password_off_thread(&form.password).await;
    if hash.is_empty() {
        return Err(WebError::Internal(
            "the password could not be hashed".into(),
        ));
    }
    let state = sp
        .store()
        .complete_password_setup(&form.token, &hash, now)
        .await?;
    let TokenState::Usable { user_id } = state else {
        // Another post of the same token won.
        return refused_token(&sp, &headers, state).await;
    };
    let user = sp.store().user_by_id(user_id).await?;
    sp.store()
        .audit(&AuditEvent {
            at: now,
            kind: "password_setup.completed".into(),
            code: None,
            idp: Some(ISSUER.into()),
            subject: None,
            user_email: user.map(|u| u.email),
            groups: vec![],
            detail: format!("user {user_id} set a password; the link is used up"),
        })
        .await?;
    Ok(Redirect::to("/login?sso=false&password_set=1").into_response())
}

fn rejection(reason: Reason, message: String) -> Rejection {
    let mut rejection = Rejection::new(reason, message);
    rejection.context.issuer = Some(ISSUER.into());
    rejection
}

async fn refused_token(
    sp: &Sp,
    headers: &HeaderMap,
    state: TokenState,
) -> Result<Response, WebError> {
    let reason = state
        .refusal()
        .unwrap_or(Reason::PasswordSetupTokenIsUnknown);
    refuse(sp, headers, reason, "the token cannot set a password").await
}

async fn refuse(
    sp: &Sp,
    headers: &HeaderMap,
    reason: Reason,
    why: &str,
) -> Result<Response, WebError> {
    let rejection = rejection(reason, why.to_owned());
    audit_rejection(sp, "password_setup.rejected", &rejection).await?;
    Ok(Refusal::sign_in(&rejection, accepts_json(headers)).into_response())
}
