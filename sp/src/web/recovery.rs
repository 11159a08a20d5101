//! Recovery login (001, 003): while SSO is enforced, `/login?sso=false` shows a password form
//! that only accounts with an admin role may use. Every attempt is audited.

use axum::Form;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::acs::audit_rejection;
use super::refusal::Refusal;
use super::{Sp, WebError, new_session_token, session_cookie};
use crate::reason::{Reason, Rejection};
use crate::store::{AuditEvent, Session};

/// The local-session "IdP" of recovery sign-ins, as recorded on the session and in the audit log.
pub const RECOVERY_ISSUER: &str = "local:recovery-login";

#[derive(Debug, Deserialize)]
pub(super) struct RecoveryForm {
    username: String,
    password: String,
}

/// `POST /login/password`.
pub(super) async fn sign_in(
    State(sp): State<Sp>,
    Form(form): Form<RecoveryForm>,
) -> Result<Response, WebError> {
    let store = sp.store();
    let now = sp.now();
    let refuse = |reason: Reason, message: String| {
        let mut rejection = Rejection::new(reason, message);
        rejection.context.issuer = Some(RECOVERY_ISSUER.into());
        rejection.context.subject = Some(form.username.clone());
        rejection
    };
    let user = store.user_by_login_or_email(form.username.trim()).await?;
    let Some(user) = store.proven_by_password(user, &form.password).await? else {
        let rejection = refuse(
            Reason::RecoveryCredentialsAreWrong,
            "unknown username or wrong password".into(),
        );
        return refused(&sp, rejection).await;
    };
    let roles = store.roles(user.id).await?;
    if !roles.iter().any(|r| sp.config().is_admin_role(r)) {
        let rejection = refuse(
            Reason::RecoveryLoginRequiresAdmin,
            format!(
                "user {} has roles {roles:?}, none of them an admin role",
                user.id
            ),
        );
        return refused(&sp, rejection).await;
    }
    let token = new_session_token();
    let expires_at = crate::clock::add_secs(now, sp.config().sp.max_session_secs);
    store
        .create_session(&Session {
            token: token.clone(),
            user_id: user.id,
            idp_entity_id: RECOVERY_ISSUER.into(),
            name_id: None,
            session_index: None,
            created_at: now,
            expires_at,
        })
        .await?;
    store
        .audit(&AuditEvent {
            at: now,
            kind: "recovery.sign_in".into(),
            code: None,
            idp: Some(RECOVERY_ISSUER.into()),
            subject: Some(form.username.clone()),
            user_email: Some(user.email.clone()),
            groups: vec![],
            detail: format!("admin recovery sign-in with roles {roles:?}"),
        })
        .await?;
    let mut response = Redirect::to("/").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&sp, &token));
    Ok(response)
}

async fn refused(sp: &Sp, rejection: Rejection) -> Result<Response, WebError> {
    audit_rejection(sp, "recovery.rejected", &rejection).await?;
    Ok(Refusal::recovery(&rejection).into_response())
}
