//! `POST /saml/acs`: the Assertion Consumer Service. Verify (on a blocking thread: libxml2
//! documents are not Send), then everything that needs the store: replay, InResponseTo and what
//! the request was for (sign-in, renewal, invitation), identity, account linking, provisioning,
//! roles, session.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::binding::{self, BrowserBinding};
use super::refusal::Refusal;
use super::{Sp, WebError, accepts_json, cookies, kept_relay_state, new_session_token};
use crate::accounts::PendingIdentity;
use crate::clock;
use crate::config::{AccountLinking, FailurePageDetail, SessionLength, SpSettings};
use crate::identity::{self, Identity};
use crate::pages;
use crate::reason::{Reason, Rejection};
use crate::store::{AuditEvent, OutstandingRequest, RequestPurpose, Session, User};
use crate::verify::{self, VerifiedResponse};
use crate::weakness::Weakness;

/// What an accepted (or renewal-ending) response led to.
pub(super) enum Outcome {
    /// A session was created; go to `landing`.
    SignedIn { token: String, landing: String },
    /// The identity needs its owner's decision on the linking page.
    LinkPrompt { link_token: String },
    /// A passive re-authentication refreshed the session.
    Renewed,
    /// A renewal failed; the session it was renewing has ended.
    RenewalEnded { rejection: Rejection },
    /// A test sign-in's report; nobody was signed in.
    Tested { report: serde_json::Value },
}

/// `POST /saml/acs`.
pub(super) async fn acs(
    State(sp): State<Sp>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, WebError> {
    let wants_json = accepts_json(&headers);
    // The router's body limit stops reading early; that is an oversized response like any other,
    // refused with its code and audited, not a bare 413 from the HTTP layer.
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            let rejection = Rejection::new(
                Reason::InputExceedsSizeLimit,
                format!(
                    "the POST body exceeds the limit for max_response_bytes = {} ({rejection})",
                    sp.config().sp.max_response_bytes
                ),
            );
            tracing::info!(code = rejection.reason.code(), detail = %rejection.message, "sign-in refused");
            audit_rejection(&sp, "sign_in.rejected", &rejection).await?;
            // The rest of the body is never read, so the connection cannot carry another request.
            let mut response = Refusal::sign_in(&rejection, wants_json).into_response();
            response.headers_mut().insert(
                header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            return Ok(response);
        }
        Err(rejection) => return Ok(rejection.into_response()),
    };
    let browser = binding::presented(cookies::Scheme::of(&sp), &headers);
    match consume(&sp, &body, browser.as_ref()).await? {
        Ok(Outcome::SignedIn { token, landing }) => {
            let mut response = Redirect::to(&landing).into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, cookies::session(&sp, &token));
            Ok(response)
        }
        Ok(Outcome::LinkPrompt { link_token }) => {
            let mut response = Redirect::to("/link").into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, cookies::link(&sp, &link_token));
            Ok(response)
        }
        Ok(Outcome::Tested { report }) => Ok(if wants_json {
            Json(json!({ "test_sign_in": report })).into_response()
        } else {
            Html(pages::test_sign_in_report(&report)).into_response()
        }),
        Ok(Outcome::Renewed) => Ok(if wants_json {
            Json(json!({"renewed": true})).into_response()
        } else {
            Html(pages::renewal_result(None)).into_response()
        }),
        Ok(Outcome::RenewalEnded { rejection }) => {
            tracing::info!(code = rejection.reason.code(), detail = %rejection.message, "renewal failed; session ended");
            audit_rejection(&sp, "renewal.failed", &rejection).await?;
            Ok(Refusal::renewal(&rejection, wants_json).into_response())
        }
        Err(rejection) => {
            tracing::info!(code = rejection.reason.code(), detail = %rejection.message, "sign-in refused");
            audit_rejection(&sp, "sign_in.rejected", &rejection).await?;
            let generic = sp.config().sp.failure_page_detail == FailurePageDetail::Generic;
            Ok(Refusal::sign_in(&rejection, wants_json)
                .generic_when(generic)
                .into_response())
        }
    }
}

async fn consume(
    sp: &Sp,
    body: &[u8],
    browser: Option<&BrowserBinding>,
) -> Result<Result<Outcome, Rejection>, WebError> {
    let mut saml_response = None;
    let mut relay_state = None;
    for (key, value) in url::form_urlencoded::parse(body) {
        match &*key {
            "SAMLResponse" => saml_response = Some(value.into_owned()),
            "RelayState" => relay_state = Some(value.into_owned()),
            _ => {}
        }
    }
    if !sp.config().sp.sso_enabled {
        return Ok(Err(Rejection::new(
            Reason::SsoIsSwitchedOff,
            "a SAML response reached the ACS, but sso_enabled is false",
        )));
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
    sp.remember_response(&xml, now);
    let policy = sp.policy().clone();
    // libxml2 documents are not Send: the whole verification runs on one blocking thread.
    let verified = tokio::task::spawn_blocking(move || verify::verify_response(&xml, &policy, now))
        .await
        .map_err(|e| WebError::Internal(format!("verifier task failed: {e}")))?;
    let verified = match verified {
        Ok(v) => v,
        Err(rejection) => return failed_response(sp, rejection, browser, now).await,
    };
    let result = accepted_response(sp, &verified, relay_state, browser, now).await?;
    Ok(result.map_err(|mut rejection| {
        rejection
            .context
            .issuer
            .get_or_insert_with(|| verified.issuer.clone());
        if rejection.context.subject.is_none() {
            rejection.context.subject = verified.name_id.clone();
        }
        if rejection.context.groups_or_attributes.is_empty() {
            rejection.context.groups_or_attributes = verified.attributes.clone();
        }
        rejection
    }))
}

/// Whether `request` may be answered by this browser: the one that started it (its binding
/// cookie matches), or any browser for a request sent while `bind_requests_to_browser` was off.
fn started_by(sp: &Sp, request: &OutstandingRequest, browser: Option<&BrowserBinding>) -> bool {
    if !sp.config().sp.bind_requests_to_browser || sp.weakened(Weakness::BrowserBinding) {
        return true;
    }
    match &request.browser_binding {
        None => true,
        Some(stored) => browser.is_some_and(|b| b.matches(stored)),
    }
}

/// A refused response still answers its request: a failed renewal (NoPassive, a bad signature…)
/// ends the session it was renewing. Its InResponseTo is unverified, so it can only ever end a
/// session — of a renewal whose random request ID it knows, posted from the browser that
/// started the renewal — never grant one.
async fn failed_response(
    sp: &Sp,
    rejection: Rejection,
    browser: Option<&BrowserBinding>,
    now: OffsetDateTime,
) -> Result<Result<Outcome, Rejection>, WebError> {
    let Some(id) = rejection.context.in_response_to.as_deref() else {
        return Ok(Err(rejection));
    };
    match sp.store().peek_request(id, now).await? {
        Some(request) if started_by(sp, &request, browser) => {}
        _ => return Ok(Err(rejection)),
    }
    match sp.store().take_request(id, now).await?.map(|r| r.purpose) {
        Some(RequestPurpose::Renewal { session_token }) => {
            sp.store().delete_session(&session_token).await?;
            Ok(Ok(Outcome::RenewalEnded { rejection }))
        }
        _ => Ok(Err(rejection)),
    }
}

async fn accepted_response(
    sp: &Sp,
    verified: &VerifiedResponse,
    relay_state: Option<String>,
    browser: Option<&BrowserBinding>,
    now: OffsetDateTime,
) -> Result<Result<Outcome, Rejection>, WebError> {
    let config = sp.config();
    let store = sp.store();

    // Which browser started the request comes before anything is consumed: a response carried
    // to another browser (login CSRF) must sign nobody in there, and must not burn the request
    // or the assertion ID for the browser that started it (else posting a stolen response from
    // anywhere would be a free denial of service). Nothing is written but the audit line.
    if let Some(id) = &verified.in_response_to
        && let Some(request) = store.peek_request(id, now).await?
        && !started_by(sp, &request, browser)
    {
        let presented = match browser {
            None => "presents no binding cookie",
            Some(_) => "presents another browser's binding cookie",
        };
        return Ok(Err(Rejection::new(
            Reason::RequestWasStartedByAnotherBrowser,
            format!(
                "AuthnRequest {id:?} was started by another browser; the one posting its response {presented}"
            ),
        )));
    }

    // Replay first: a resent response gets the precise code even though its request is answered.
    if !sp.weakened(Weakness::ReplayCache)
        && !store
            .consume_assertion_id(
                &verified.issuer,
                &verified.assertion_id,
                replay_keep_until(
                    [verified.not_on_or_after, verified.bearer_not_on_or_after],
                    verified.one_time_use && !sp.weakened(Weakness::OneTimeUse),
                    &config.sp,
                    now,
                ),
                now,
            )
            .await?
    {
        return Ok(Err(Rejection::new(
            Reason::AssertionWasAlreadyUsed,
            format!(
                "assertion {:?} was already used to sign in",
                verified.assertion_id
            ),
        )));
    }

    // InResponseTo: an outstanding request of ours, answered once; or an allowed unsolicited one.
    let request = match &verified.in_response_to {
        Some(id) => match store.take_request(id, now).await? {
            Some(request) => Some(request),
            None if sp.weakened(Weakness::InResponseTo) => None,
            None => {
                return Ok(Err(Rejection::new(
                    Reason::InResponseToIsUnknown,
                    format!(
                        "InResponseTo {id:?} names no outstanding AuthnRequest of this SP (unknown, already answered, or expired): a request/response mismatch, not a time problem"
                    ),
                )));
            }
        },
        None if config.sp.allow_unsolicited || sp.weakened(Weakness::Unsolicited) => None,
        None => {
            return Ok(Err(Rejection::new(
                Reason::UnsolicitedResponseIsNotAllowed,
                "the response answers no AuthnRequest (IdP-initiated) and sp.allow_unsolicited is off",
            )));
        }
    };
    // Several IdPs: the one that answers must be the one we asked (no IdP mix-up).
    if let Some(asked) = request.as_ref().and_then(|r| r.idp_entity_id.as_deref()) {
        if asked != verified.issuer && !sp.weakened(Weakness::Issuer) {
            return Ok(Err(Rejection::new(
                Reason::IssuerIsNotTheConfiguredIdp,
                format!(
                    "the AuthnRequest went to {asked:?} but the response was issued by {:?}",
                    verified.issuer
                ),
            )));
        }
    }
    let (purpose, landing) = match request {
        Some(r) => (r.purpose, r.relay_state.or(relay_state)),
        None => (RequestPurpose::SignIn, relay_state),
    };

    // A staged IdP is reached only by a test sign-in, which signs nobody in.
    if purpose == RequestPurpose::TestSignIn {
        let report = super::test_sign_in::report(verified, config);
        let subject = verified.name_id.clone().unwrap_or_default();
        let event = AuditEvent {
            at: now,
            kind: "idp.test_sign_in".into(),
            code: None,
            idp: Some(verified.issuer.clone()),
            subject: Some(subject),
            user_email: report["email"].as_str().map(str::to_owned),
            groups: vec![],
            detail: super::test_sign_in::summary(&report),
        };
        store.audit(&event).await?;
        return Ok(Ok(Outcome::Tested { report }));
    }
    if config
        .idp_by_entity_id(&verified.issuer)
        .is_some_and(|idp| !idp.enabled)
    {
        let rejection = Rejection::new(
            Reason::IdpIsNotLive,
            format!(
                "IdP {:?} is staged (enabled = false): only a test sign-in reaches it",
                verified.issuer
            ),
        );
        if let RequestPurpose::Renewal { session_token } = &purpose {
            store.delete_session(session_token).await?;
            return Ok(Ok(Outcome::RenewalEnded { rejection }));
        }
        return Ok(Err(rejection));
    }
    let identity = match identity::resolve(verified, config) {
        Ok(identity) => identity,
        Err(rejection) => {
            if let RequestPurpose::Renewal { session_token } = &purpose {
                store.delete_session(session_token).await?;
                return Ok(Ok(Outcome::RenewalEnded { rejection }));
            }
            return Ok(Err(rejection));
        }
    };
    let facts = PendingIdentity {
        groups_present: identity::groups_attribute_present(verified, &config.attributes.groups),
        groups_overage: identity::groups_overage(verified),
        name_id: verified.name_id.clone(),
        name_id_format: verified.name_id_format.clone(),
        session_index: verified.session_index.clone(),
        session_expires_at: session_end(sp, verified, now),
        identity,
    };
    let idp = verified.issuer.as_str();
    if let Some(detail) = &verified.signature.certificate_warning {
        let code = Reason::SignatureCertificateIsExpired.code();
        audit_warning(sp, code, idp, &facts.identity, detail, now).await?;
    }
    // A rotation in progress: the IdP signs with a pinned certificate after the first.
    if verified.signature.certificate_index > 0 {
        let detail = format!(
            "verified with pinned certificate #{} of this IdP, not the first: the IdP signs with another certificate; remove the retired one when the rotation is done",
            verified.signature.certificate_index + 1
        );
        audit(
            sp,
            "certificate.rotation",
            idp,
            &facts.identity,
            detail,
            now,
        )
        .await?;
    }
    let landing = landing
        .and_then(|r| kept_relay_state(sp, &r))
        .unwrap_or_else(|| "/".into());
    match purpose {
        RequestPurpose::Renewal { session_token } => {
            renew(sp, &session_token, idp, &facts, now).await
        }
        RequestPurpose::Invitation { token } => {
            let Some(user) = store.user_by_invitation(&token).await? else {
                return Ok(Err(Rejection::new(
                    Reason::LinkHasExpired,
                    "the invitation was already used or withdrawn",
                )));
            };
            if !store.sso_allowed(user.id).await? {
                return Ok(Err(not_allowed(&user)));
            }
            if store
                .user_by_identity(idp, &facts.identity.subject)
                .await?
                .is_none()
            {
                store
                    .link_identity(idp, &facts.identity.subject, user.id, now)
                    .await?;
            }
            store.clear_invitation(user.id).await?;
            audit(
                sp,
                "identity.linked",
                idp,
                &facts.identity,
                format!("linked to invited user {} without a prompt", user.id),
                now,
            )
            .await?;
            complete_sign_in(sp, &user, false, idp, &facts, &landing, now)
                .await
                .map(Ok)
        }
        // Answered above, before the identity was resolved.
        RequestPurpose::TestSignIn => Ok(Ok(Outcome::Tested {
            report: super::test_sign_in::report(verified, config),
        })),
        // Two first sign-ins of one identity at once both find it unlinked, and the later
        // link or JIT insert fails on a unique index. Decided again, it finds the earlier's
        // link; the failed attempt wrote nothing.
        RequestPurpose::SignIn => match sign_in(sp, idp, &facts, &landing, now).await {
            Err(e) if e.is_store_conflict() => sign_in(sp, idp, &facts, &landing, now).await,
            decided => decided,
        },
    }
}

/// A sign-in: the linked user, or linking (by e-mail or on the linking page), or JIT.
async fn sign_in(
    sp: &Sp,
    idp: &str,
    facts: &PendingIdentity,
    landing: &str,
    now: OffsetDateTime,
) -> Result<Result<Outcome, Rejection>, WebError> {
    let store = sp.store();
    let config = sp.config();
    let identity = &facts.identity;
    if let Some(user) = store.user_by_identity(idp, &identity.subject).await? {
        if !store.sso_allowed(user.id).await? {
            return Ok(Err(not_allowed(&user)));
        }
        return complete_sign_in(sp, &user, false, idp, facts, landing, now)
            .await
            .map(Ok);
    }
    // Automatic linking compares e-mails only; the linking page also offers an account whose
    // login matches, since its password proves the link.
    let matches = match config.sp.account_linking {
        AccountLinking::Email | AccountLinking::Refuse => {
            store.users_with_email(&identity.email).await?
        }
        AccountLinking::Prompt => {
            store
                .users_matching(identity.login.as_deref(), &identity.email)
                .await?
        }
    };
    for user in &matches {
        if !store.sso_allowed(user.id).await? {
            return Ok(Err(not_allowed(user)));
        }
        // A password account and an SSO account may not share an e-mail (Decisions).
        if config.sp.account_linking == AccountLinking::Refuse
            && store.password_hash(user.id).await?.is_some()
        {
            return Ok(Err(is_a_password_account(user)));
        }
    }
    let same_email: Vec<&User> = matches
        .iter()
        .filter(|u| u.email.eq_ignore_ascii_case(&identity.email))
        .collect();
    let automatic = automatic_link(sp, idp, &identity.email, &same_email).await?;
    // Link without asking: by e-mail (OnTrackio), or to an account an admin made for SSO (no
    // password to prove) when prompting.
    let direct = match (config.sp.account_linking, &automatic) {
        (AccountLinking::Email | AccountLinking::Refuse, AutoLink::To(user)) => {
            Some((*user, "by e-mail"))
        }
        (AccountLinking::Prompt, AutoLink::To(user))
            if store.password_hash(user.id).await?.is_none() =>
        {
            Some((*user, "an SSO-only account, by e-mail"))
        }
        _ => None,
    };
    if let Some((user, how)) = direct {
        store
            .link_identity(idp, &identity.subject, user.id, now)
            .await?;
        let detail = format!("linked to existing user {} ({how})", user.id);
        audit(sp, "identity.linked", idp, identity, detail, now).await?;
        return complete_sign_in(sp, user, false, idp, facts, landing, now)
            .await
            .map(Ok);
    }
    if let (AccountLinking::Email | AccountLinking::Refuse, AutoLink::Declined { user, why }) =
        (config.sp.account_linking, &automatic)
    {
        let detail = format!("not linked to user {} by e-mail: {why}", user.id);
        audit(sp, "link.declined", idp, identity, detail, now).await?;
    }
    match config.sp.account_linking {
        // No match under `email`: a new user (JIT), or a refusal.
        AccountLinking::Email | AccountLinking::Refuse => {
            provision(sp, idp, facts, landing, now).await
        }
        AccountLinking::Prompt => {
            let matched = matches.first();
            let expires = clock::add_secs(now, config.sp.request_ttl_secs);
            let token = store
                .create_pending_link(
                    idp,
                    facts,
                    matched.map(|u| u.id),
                    Some(landing),
                    now,
                    expires,
                )
                .await?;
            let detail = match matched {
                Some(u) => format!("asked to link to matching user {} by password", u.id),
                None => {
                    "no matching account: asked to link by username and password, or skip".into()
                }
            };
            audit(sp, "link.prompted", idp, identity, detail, now).await?;
            Ok(Ok(Outcome::LinkPrompt { link_token: token }))
        }
    }
}

/// What automatic linking may do with an identity no user is linked to yet.
enum AutoLink<'a> {
    /// Link it to this user without asking.
    To(&'a User),
    /// A user has the same e-mail, but this IdP may not claim it; why, for the audit log.
    Declined { user: &'a User, why: String },
    /// No user has the same e-mail.
    NoMatch,
}

/// The user an identity from `idp` may be linked to without asking: the oldest with the same
/// e-mail, when `idp` may assert that e-mail's domain (`allowed_domains`) and so may every IdP
/// the user already has an identity at. A user that another IdP created, or renamed through
/// profile sync, carries that IdP's claim to the address, not a verified one.
async fn automatic_link<'a>(
    sp: &Sp,
    idp: &str,
    email: &str,
    same_email: &[&'a User],
) -> Result<AutoLink<'a>, WebError> {
    let config = sp.config();
    let Some(first) = same_email.first() else {
        return Ok(AutoLink::NoMatch);
    };
    if !config.idp_may_assert_email(idp, email) {
        return Ok(AutoLink::Declined {
            user: first,
            why: format!("the IdP {idp:?} may not assert e-mails at this domain (allowed_domains)"),
        });
    }
    let mut declined = None;
    for user in same_email {
        let others = sp.store().identity_idps(user.id).await?;
        match others
            .iter()
            .find(|other| !config.idp_may_assert_email(other, email))
        {
            None => return Ok(AutoLink::To(user)),
            Some(other) => {
                declined.get_or_insert_with(|| AutoLink::Declined {
                    user,
                    why: format!(
                        "the user has an identity at the IdP {other:?}, which may not assert e-mails at this domain"
                    ),
                });
            }
        }
    }
    Ok(declined.unwrap_or(AutoLink::NoMatch))
}

/// Creates a new user for the identity (JIT), or refuses when JIT is off.
pub(super) async fn provision(
    sp: &Sp,
    idp: &str,
    facts: &PendingIdentity,
    landing: &str,
    now: OffsetDateTime,
) -> Result<Result<Outcome, Rejection>, WebError> {
    let identity = &facts.identity;
    if !sp.config().sp.jit_provisioning {
        return Ok(Err(Rejection::new(
            Reason::UserIsNotProvisioned,
            format!(
                "no local user for {:?} and sp.jit_provisioning is off",
                identity.email
            ),
        )));
    }
    let store = sp.store();
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
    audit(
        sp,
        "user.provisioned",
        idp,
        identity,
        format!("created user {} just in time", user.id),
        now,
    )
    .await?;
    complete_sign_in(sp, &user, true, idp, facts, landing, now)
        .await
        .map(Ok)
}

/// Profile and roles from the IdP, then a new session.
pub(super) async fn complete_sign_in(
    sp: &Sp,
    user: &User,
    is_new_user: bool,
    idp: &str,
    facts: &PendingIdentity,
    landing: &str,
    now: OffsetDateTime,
) -> Result<Outcome, WebError> {
    let roles = sync_profile_and_roles(sp, user, is_new_user, idp, facts, now).await?;
    let token = new_session_token();
    sp.store()
        .create_session(&Session {
            token: token.clone(),
            user_id: user.id,
            idp_entity_id: idp.to_owned(),
            name_id: facts.name_id.clone(),
            session_index: facts.session_index.clone(),
            created_at: now,
            expires_at: facts.session_expires_at,
        })
        .await?;
    // Single logout names the NameID with its Format (crate::slo).
    sp.store()
        .remember_name_id_format(&token, facts.name_id_format.as_deref())
        .await?;
    let detail = format!(
        "roles {roles:?}; session until {}",
        crate::xml::saml_instant(facts.session_expires_at)
    );
    audit(sp, "sign_in.accepted", idp, &facts.identity, detail, now).await?;
    // A deep link wins; without one, the role's landing page (OnTrackio's dashboards).
    let landing = match landing {
        "/" => sp.config().sp.landing_for(&roles).unwrap_or("/"),
        deep => deep,
    };
    Ok(Outcome::SignedIn {
        token,
        landing: landing.to_owned(),
    })
}

/// A passive re-authentication of a live session by the same identity: refresh profile, roles
/// and the session's end. Anything else ends the session.
async fn renew(
    sp: &Sp,
    session_token: &str,
    idp: &str,
    facts: &PendingIdentity,
    now: OffsetDateTime,
) -> Result<Result<Outcome, Rejection>, WebError> {
    let store = sp.store();
    let ended = |message: String| Outcome::RenewalEnded {
        rejection: Rejection::new(Reason::InResponseToIsUnknown, message),
    };
    let Some(session) = store.live_session(session_token, now).await? else {
        return Ok(Ok(ended(
            "the session being renewed has already ended".into(),
        )));
    };
    let owner = store.user_by_identity(idp, &facts.identity.subject).await?;
    let Some(user) = owner.filter(|u| u.id == session.user_id) else {
        store.delete_session(session_token).await?;
        return Ok(Ok(ended(format!(
            "the IdP renewed the session as {:?}, not as the session's user",
            facts.identity.subject
        ))));
    };
    if !store.sso_allowed(user.id).await? {
        store.delete_session(session_token).await?;
        return Ok(Ok(Outcome::RenewalEnded {
            rejection: not_allowed(&user),
        }));
    }
    let roles = sync_profile_and_roles(sp, &user, false, idp, facts, now).await?;
    store
        .renew_session(
            session_token,
            facts.session_expires_at,
            facts.name_id.as_deref(),
            facts.session_index.as_deref(),
        )
        .await?;
    store
        .remember_name_id_format(session_token, facts.name_id_format.as_deref())
        .await?;
    let detail = format!(
        "roles {roles:?}; session until {}",
        crate::xml::saml_instant(facts.session_expires_at)
    );
    audit(sp, "session.renewed", idp, &facts.identity, detail, now).await?;
    Ok(Ok(Outcome::Renewed))
}

/// The IdP's fields overwrite local edits (except `ignore_fields_on_update`), and roles follow
/// the groups under the role-sync policy. Returns the user's roles afterwards.
async fn sync_profile_and_roles(
    sp: &Sp,
    user: &User,
    is_new_user: bool,
    idp: &str,
    facts: &PendingIdentity,
    now: OffsetDateTime,
) -> Result<Vec<String>, WebError> {
    let config = sp.config();
    let store = sp.store();
    let identity = &facts.identity;
    let keep =
        |field: &str| !is_new_user && config.sp.ignore_fields_on_update.iter().any(|f| f == field);
    let pick = |field: &str, current: &Option<String>, new: &Option<String>| {
        if keep(field) {
            current.clone()
        } else {
            new.clone().or_else(|| current.clone())
        }
    };
    let email = if keep("email") {
        user.email.clone()
    } else {
        identity.email.clone()
    };
    store
        .update_profile(
            user.id,
            pick("login", &user.login, &identity.login).as_deref(),
            &email,
            pick("first_name", &user.first_name, &identity.first_name).as_deref(),
            pick("last_name", &user.last_name, &identity.last_name).as_deref(),
        )
        .await?;
    if facts.groups_overage {
        let detail = "the IdP sent a groups.link claim instead of the groups (Entra group overage: more groups than fit in a token); roles left unchanged. Fix it at the IdP: emit only groups assigned to the application, or filter the groups claim.";
        audit_warning(sp, "groups.overage", idp, identity, detail, now).await?;
    }
    match identity::roles_after_sign_in(
        config,
        idp,
        &identity.groups,
        facts.groups_present,
        facts.groups_overage,
        is_new_user,
    ) {
        Some(roles) => {
            store.set_roles(user.id, &roles).await?;
            Ok(roles)
        }
        None => Ok(store.roles(user.id).await?),
    }
}

/// How long the replay cache keeps an assertion's (issuer, ID): until the last instant any of its
/// windows would still accept it — the later of Conditions and bearer NotOnOrAfter, plus the
/// skew (the store rounds up to the second). A OneTimeUse assertion (SAML core §2.5.1.5) is kept
/// at least `max_session_secs` as well, so that even a clock stepped back cannot make it sign in
/// twice. Saturating: an IdP may say 9999-12-31T23:59:00Z.
pub(crate) fn replay_keep_until(
    not_on_or_after: [Option<OffsetDateTime>; 2],
    one_time_use: bool,
    config: &SpSettings,
    now: OffsetDateTime,
) -> OffsetDateTime {
    let window_end = not_on_or_after
        .into_iter()
        .flatten()
        .max()
        .map(|t| clock::add_secs(t, config.clock_skew_secs))
        // Unreachable (the verifier requires a bearer NotOnOrAfter); a day is the fallback.
        .unwrap_or_else(|| clock::add(now, Duration::days(1)));
    if one_time_use {
        window_end.max(clock::add_secs(now, config.max_session_secs))
    } else {
        window_end
    }
}

/// Session end: SessionNotOnOrAfter, else Conditions NotOnOrAfter (Shotgun), capped by the SP.
/// With `session_length = "idp"` the IdP's stated end is not capped (only clamped to what an
/// instant can hold); `max_session_secs` applies when it states none.
fn session_end(sp: &Sp, verified: &VerifiedResponse, now: OffsetDateTime) -> OffsetDateTime {
    let config = &sp.config().sp;
    let idp_states_an_end =
        verified.session_not_on_or_after.is_some() || verified.not_on_or_after.is_some();
    let cap = match config.session_length {
        SessionLength::Idp if idp_states_an_end => u32::MAX,
        _ => config.max_session_secs,
    };
    session_end_at(
        verified.session_not_on_or_after,
        verified.not_on_or_after,
        cap,
        now,
    )
}

pub(crate) fn session_end_at(
    session_not_on_or_after: Option<OffsetDateTime>,
    not_on_or_after: Option<OffsetDateTime>,
    max_session_secs: u32,
    now: OffsetDateTime,
) -> OffsetDateTime {
    let cap = clock::add_secs(now, max_session_secs);
    session_not_on_or_after
        .or(not_on_or_after)
        .map_or(cap, |t| clock::utc(t).min(cap))
}

fn is_a_password_account(user: &User) -> Rejection {
    Rejection::new(
        Reason::AccountIsNotAllowedToUseSso,
        format!(
            "the local account {} ({}) is a password account with this e-mail, so it is not configured to use SAML (account_linking = \"refuse\"); convert or delete it first",
            user.id, user.email
        ),
    )
}

fn not_allowed(user: &User) -> Rejection {
    Rejection::new(
        Reason::AccountIsNotAllowedToUseSso,
        format!(
            "the local account {} ({}) is not configured to use SAML",
            user.id, user.email
        ),
    )
}

pub(super) async fn audit(
    sp: &Sp,
    kind: &str,
    idp: &str,
    identity: &Identity,
    detail: String,
    now: OffsetDateTime,
) -> Result<(), WebError> {
    write_audit(sp, kind, None, idp, identity, detail, now).await
}

async fn write_audit(
    sp: &Sp,
    kind: &str,
    code: Option<&str>,
    idp: &str,
    identity: &Identity,
    detail: String,
    now: OffsetDateTime,
) -> Result<(), WebError> {
    sp.store()
        .audit(&AuditEvent {
            at: now,
            kind: kind.into(),
            code: code.map(str::to_owned),
            idp: Some(idp.to_owned()),
            subject: Some(identity.subject.clone()),
            user_email: Some(identity.email.clone()),
            groups: identity.groups.clone(),
            detail,
        })
        .await?;
    Ok(())
}

/// A warning: the sign-in goes on, the audit log keeps the code (e.g. `groups.overage`).
async fn audit_warning(
    sp: &Sp,
    code: &str,
    idp: &str,
    identity: &Identity,
    detail: &str,
    now: OffsetDateTime,
) -> Result<(), WebError> {
    write_audit(
        sp,
        "warning",
        Some(code),
        idp,
        identity,
        detail.to_owned(),
        now,
    )
    .await
}

pub(super) async fn audit_rejection(
    sp: &Sp,
    kind: &str,
    rejection: &Rejection,
) -> Result<(), WebError> {
    // A refusal's facts are as received: bounded and marked unverified.
    sp.store()
        .audit_unverified(&AuditEvent {
            at: sp.now(),
            kind: kind.into(),
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
