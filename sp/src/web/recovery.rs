//! Recovery login (Flow Production Tracking, Decisions): while SSO is enforced, `/login?sso=false`
//! shows a password form that only accounts with an admin role may use (or, with
//! `recovery_login = "password_accounts"`, any account with a password: Decisions). Every attempt is audited,
//! limited by the password throttle ([`crate::throttle`]), and every failure answered alike.

use axum::Form;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::acs::audit_rejection;
use super::refusal::Refusal;
use super::{ClientAddress, Sp, WebError, cookies, new_session_token, retry_after};
use crate::accounts::PasswordCheck;
use crate::config::RecoveryLogin;
use crate::reason::{Reason, Rejection};
use crate::store::{AuditEvent, Session};
use crate::throttle::{AttemptKeys, Limits, Reservation};

/// The local-session "IdP" of recovery sign-ins, as recorded on the session and in the audit log.
pub const RECOVERY_ISSUER: &str = "local:recovery-login";

/// A recovery session is local: no IdP signed it in, so none renews it (the administrator who
/// used the bypass because SSO is broken must not be signed out by the next renewal).
pub(super) fn is_recovery_session(session: &Session) -> bool {
    session.idp_entity_id == RECOVERY_ISSUER
}

#[derive(Debug, Deserialize)]
pub(super) struct RecoveryForm {
    username: String,
    password: String,
}

/// `POST /login/password`. Every failed attempt gets the same answer (`recovery.bad_credentials`);
/// each is first reserved against the password throttle (`auth.throttled`).
pub(super) async fn sign_in(
    State(sp): State<Sp>,
    ClientAddress(address): ClientAddress,
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
    let name = form.username.trim();
    let user = store.user_by_login_or_email(name).await?;
    let keys = AttemptKeys::new(address, user.as_ref().map(|u| u.id), name);
    let limits = Limits::from(&sp.config().sp);
    let remaining = match store.reserve_password_attempt(&keys, &limits, now).await? {
        Reservation::Granted { remaining } => remaining,
        Reservation::Refused { key, until } => {
            let rejection = refuse(
                Reason::PasswordAttemptsAreThrottled,
                format!(
                    "{key} is locked until {until} (attempt from {}); the password was not evaluated",
                    keys.address
                ),
            );
            let mut response = refused(&sp, rejection).await?;
            retry_after(&mut response, now, until);
            return Ok(response);
        }
    };
    let check = store.check_password(user.as_ref(), &form.password).await?;
    let (user, roles) = match (user, check) {
        (Some(user), PasswordCheck::Matches) => {
            let roles = store.roles(user.id).await?;
            (user, roles)
        }
        (user, check) => {
            let who = user.map_or_else(|| format!("{name:?}"), |u| format!("user {}", u.id));
            let rejection = refuse(
                Reason::RecoveryCredentialsAreWrong,
                format!(
                    "{who}: {} ({remaining} failures left before the lock-out)",
                    check.describe()
                ),
            );
            return refused(&sp, rejection).await;
        }
    };
    // With SSO switched off this is everyone's sign-in; otherwise the bypass is the
    // administrators' (or, under `recovery_login = "password_accounts"`, every password account's).
    let sso_enabled = sp.config().sp.sso_enabled;
    let admins_only = sso_enabled && sp.config().sp.recovery_login == RecoveryLogin::Admins;
    if admins_only && !roles.iter().any(|r| sp.config().is_admin_role(r)) {
        // Answered exactly like a wrong password: telling them apart would confirm the guess.
        let rejection = refuse(
            Reason::RecoveryCredentialsAreWrong,
            format!(
                "user {}: right password, but the roles {roles:?} include no admin role ({remaining} failures left before the lock-out)",
                user.id
            ),
        );
        return refused(&sp, rejection).await;
    }
    store.password_attempt_succeeded(&keys, &limits).await?;
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
            detail: if !sso_enabled {
                format!("password sign-in (SSO is switched off) with roles {roles:?}")
            } else if admins_only {
                format!("admin recovery sign-in with roles {roles:?}")
            } else {
                format!("password-account recovery sign-in with roles {roles:?}")
            },
        })
        .await?;
    let mut response = Redirect::to("/").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookies::session(&sp, &token));
    Ok(response)
}

/// The page of every refusal: the form again, with the code and its summary (and nothing from
/// the detail, which goes to the audit log).
async fn refused(sp: &Sp, rejection: Rejection) -> Result<Response, WebError> {
    audit_rejection(sp, "recovery.rejected", &rejection).await?;
    Ok(Refusal::recovery(&rejection).into_response())
}
