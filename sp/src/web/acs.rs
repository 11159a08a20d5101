//! `POST /saml/acs`: the Assertion Consumer Service. Verify (on a blocking thread: libxml2
//! documents are not Send), then everything that needs the store: replay, InResponseTo,
//! identity, provisioning, roles, session.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::{Sp, WebError, accepts_json, new_session_token, safe_relay_state, session_cookie};
use crate::identity::{self, Identity};
use crate::pages;
use crate::reason::{Reason, Rejection};
use crate::store::{AuditEvent, Session, User};
use crate::verify::{self, VerifiedResponse};

/// `POST /saml/acs`: verify, check the request and replay, resolve the person, provision, sign in.
pub(super) async fn acs(
    State(sp): State<Sp>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let wants_json = accepts_json(&headers);
    match consume(&sp, &body).await? {
        Ok(signed_in) => {
            let mut response = Redirect::to(&signed_in.landing).into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, session_cookie(&sp, &signed_in.token));
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
        return Ok(Err(Rejection::new(
            Reason::InputIsNotBase64,
            "the POST carries no SAMLResponse field",
        )));
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
            rejection
                .context
                .issuer
                .get_or_insert_with(|| verified.issuer.clone());
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
    let keep_until = verified
        .not_on_or_after
        .map(|t| t + skew)
        .unwrap_or(now + Duration::days(1));
    if !store
        .consume_assertion_id(&verified.assertion_id, keep_until, now)
        .await?
    {
        let mut rejection = Rejection::new(
            Reason::AssertionWasAlreadyUsed,
            format!(
                "assertion {:?} was already used to sign in",
                verified.assertion_id
            ),
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
                    format!(
                        "InResponseTo {id:?} names no outstanding AuthnRequest of this SP (unknown, already answered, or expired)"
                    ),
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
            detail: format!(
                "roles {roles:?}; session until {}",
                pages::saml_instant(expires_at)
            ),
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
        store
            .link_identity(idp, &identity.subject, user.id, now)
            .await?;
        store
            .audit(&event(
                "identity.linked",
                format!("linked to existing user {} by e-mail", user.id),
            ))
            .await?;
        return Ok(Ok(user));
    }
    if !sp.config().sp.jit_provisioning {
        let mut rejection = Rejection::new(
            Reason::UserIsNotProvisioned,
            format!(
                "no local user for {:?} and sp.jit_provisioning is off",
                identity.email
            ),
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
    store
        .link_identity(idp, &identity.subject, user.id, now)
        .await?;
    store
        .audit(&event(
            "user.provisioned",
            format!("created user {} just in time", user.id),
        ))
        .await?;
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
    let status =
        StatusCode::from_u16(rejection.reason.http_status()).unwrap_or(StatusCode::FORBIDDEN);
    if wants_json {
        let body = json!({
            "error": rejection.reason.code(),
            "message": rejection.reason.summary(),
            "detail": rejection.message,
        });
        (status, Json(body)).into_response()
    } else {
        (
            status,
            Html(pages::sign_in_refused(
                rejection.reason.code(),
                rejection.reason.summary(),
            )),
        )
            .into_response()
    }
}
