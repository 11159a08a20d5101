//! The browser-facing single sign-on flow. Every refusal returns before any minting code is
//! reachable: the mint call sits after the `?`s, never in a branch that could fall through.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;

use time::Duration;

use super::html;
use super::session::SessionFacts;
use super::{Binding, ControlError, Idp, KnownSp, ReceivedAuthnRequest};
use crate::authn_request::{self, AuthnRequest, AuthnRequestError};
use crate::knobs::StatusCode as KnobStatus;
use crate::logout::SignatureCheck;
use crate::mint::{MintError, MintParams, StatusOnly, mint_response, mint_status_response};
use crate::redirect_sig;
use crate::users::User;

/// Why `/sso`, `/sso/login` or `/idp-initiated` refused to answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SsoError {
    /// The query string or form could not be read.
    #[error("the request parameters cannot be read: {0}")]
    UnreadableParameters(String),
    /// No `SAMLRequest` parameter.
    #[error("the request carries no SAMLRequest parameter")]
    MissingSamlRequest,
    /// The `SAMLRequest` could not be decoded.
    #[error(transparent)]
    UndecodableRequest(#[from] AuthnRequestError),
    /// The AuthnRequest has no Issuer, so the SP is unknown.
    #[error("the AuthnRequest has no Issuer, so the IdP cannot tell which SP sent it")]
    MissingIssuer,
    /// The Issuer is not a configured SP.
    #[error("the SP `{0}` is not known to this IdP")]
    UnknownSp(String),
    /// The ACS URL is not registered for the SP (responses must never go to an unregistered URL).
    #[error("the ACS URL `{acs_url}` is not registered for the SP `{sp}`")]
    UnregisteredAcsUrl {
        /// The SP.
        sp: String,
        /// The ACS URL asked for.
        acs_url: String,
    },
    /// `AssertionConsumerServiceIndex` points past the SP's registered ACS URLs.
    #[error("AssertionConsumerServiceIndex {index} is out of range for the SP `{sp}`")]
    AcsIndexOutOfRange {
        /// The SP.
        sp: String,
        /// The index asked for.
        index: u32,
    },
    /// The SP has no registered ACS URL at all.
    #[error("the SP `{0}` has no registered ACS URL")]
    NoAcsUrl(String),
    /// Signed AuthnRequests are required and this one carries no signature (or comes over
    /// HTTP-POST, whose enveloped signatures this IdP does not verify).
    #[error(
        "this IdP requires signed AuthnRequests; the request from `{sp}` is not signed{binding_note}"
    )]
    UnsignedAuthnRequest {
        /// The SP.
        sp: String,
        /// Why a POST request counts as unsigned, or empty.
        binding_note: &'static str,
    },
    /// The AuthnRequest's signature does not verify with the SP's certificate.
    #[error("the AuthnRequest from `{sp}` has a signature that cannot be accepted: {reason}")]
    BadAuthnRequestSignature {
        /// The SP.
        sp: String,
        /// What the check found.
        reason: String,
    },
    /// No user has this login or email.
    #[error("no user has the login or email `{0}`")]
    UnknownUser(String),
    /// Minting failed (a bug or a bad key, not the browser's fault).
    #[error("minting the response failed: {0}")]
    MintFailed(#[from] MintError),
}

impl From<ControlError> for SsoError {
    fn from(err: ControlError) -> SsoError {
        match err {
            ControlError::UnknownUser(hint) => SsoError::UnknownUser(hint),
            ControlError::UnknownSp(sp) => SsoError::UnknownSp(sp),
            ControlError::MintFailed(mint) => SsoError::MintFailed(mint),
            other => SsoError::UnreadableParameters(other.to_string()),
        }
    }
}

impl IntoResponse for SsoError {
    fn into_response(self) -> Response {
        let status = match self {
            SsoError::MintFailed(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        tracing::warn!(error = %self, %status, "single sign-on refused");
        let title = if status.is_server_error() {
            "Mock IdP failed"
        } else {
            "Mock IdP refused the request"
        };
        (status, Html(html::error_page(title, &self.to_string()))).into_response()
    }
}

/// The parameters `/sso` reads (query string or form); others are ignored.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct SsoParams {
    #[serde(rename = "SAMLRequest")]
    pub saml_request: Option<String>,
    #[serde(rename = "RelayState")]
    pub relay_state: Option<String>,
    #[serde(rename = "SigAlg")]
    pub sig_alg: Option<String>,
    #[serde(rename = "Signature")]
    pub signature: Option<String>,
    pub login_hint: Option<String>,
}

/// The form the login page posts to `/sso/login`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct LoginForm {
    pub user: Option<String>,
    #[serde(rename = "SAMLRequest")]
    pub saml_request: Option<String>,
    #[serde(rename = "RelayState")]
    pub relay_state: Option<String>,
    /// The verified HTTP-Redirect query the request came in, carried by the login page so that
    /// `/sso/login` can verify it again when signed requests are required.
    #[serde(rename = "SignedQuery")]
    pub signed_query: Option<String>,
    /// Workbench: a profile for this one sign-in (empty: the control API's knobs).
    pub profile: Option<String>,
    /// Workbench: knob overrides for this one sign-in, a JSON object.
    pub knobs: Option<String>,
    /// Workbench: show the signed answer and post it only when the person presses send.
    pub stop: Option<String>,
}

/// Where an accepted request's response goes.
struct Route<'a> {
    sp: &'a KnownSp,
    acs_url: &'a str,
}

/// What a person chose on the login page for one sign-in; the default is nothing (the control
/// API's knobs, posted at once).
#[derive(Default)]
pub(super) struct Workbench {
    /// Knobs for this sign-in only.
    chosen: Option<super::Chosen>,
    /// Show the signed answer first, with a button that posts it.
    stop_before_posting: bool,
}

/// What `/sso` answers: a page, and the cookie of a session it started, if any.
#[derive(Debug)]
pub(crate) struct SsoAnswer {
    pub html: String,
    /// The new session's cookie value (normal sign-ins only).
    pub new_session: Option<String>,
}

/// A minted auto-submit form and what it says about the session.
pub(super) struct Answered {
    pub html: String,
    /// `None` when the response carries no assertion (a non-success status knob).
    pub session: Option<SessionFacts>,
}

impl Idp {
    /// Handles `GET`/`POST /sso`: decode, record, check SP and ACS, then answer a passive request
    /// from the IdP session (or with NoPassive), and a normal one for the picked user (or with the
    /// login page). `session_cookie` is the browser's `mockidp_session` cookie.
    pub(crate) fn sso(
        &self,
        binding: Binding,
        params: SsoParams,
        raw_query: Option<&str>,
        session_cookie: Option<&str>,
    ) -> Result<SsoAnswer, SsoError> {
        let mut received = ReceivedAuthnRequest {
            received_at: self.now(),
            binding,
            relay_state: params.relay_state.clone(),
            sig_alg: params.sig_alg.clone(),
            signature: params.signature.clone(),
            login_hint: params.login_hint.clone(),
            request: None,
            refusal: None,
        };
        let decoded = match params.saml_request.as_deref() {
            None => Err(SsoError::MissingSamlRequest),
            Some(param) => match binding {
                Binding::HttpRedirect => authn_request::decode_redirect(param),
                Binding::HttpPost => authn_request::decode_post(param),
            }
            .map_err(SsoError::from),
        };
        let decision = decoded.and_then(|request| {
            received.request = Some(request.clone());
            let route = self.route(&request)?;
            let signed_query = self.check_request_signature(binding, raw_query, route.sp)?;
            // A passive request never picks a user: only an IdP session can answer it.
            let user = match request.is_passive {
                true => None,
                false => self.pick_user(params.login_hint.as_deref())?,
            };
            Ok((request, route, user, signed_query))
        });
        received.refusal = decision.as_ref().err().map(ToString::to_string);
        self.record(received);
        let (request, route, user, signed_query) = decision?;
        let relay_state = params.relay_state.as_deref();

        tracing::info!(sp = %route.sp.entity_id, request_id = %request.id, ?binding, passive = request.is_passive, "AuthnRequest accepted");
        if request.is_passive {
            return self.passive(&route, request.id, relay_state, session_cookie);
        }
        match user {
            Some(user) => self.sign_in(&route, &user, request.id, relay_state, session_cookie),
            None => {
                let carried = base64::engine::general_purpose::STANDARD.encode(&request.raw_xml);
                let users = self.users();
                Ok(SsoAnswer {
                    html: html::login_page(
                        &users,
                        &route.sp.entity_id,
                        &carried,
                        relay_state,
                        signed_query,
                        &request.raw_xml,
                    ),
                    new_session: None,
                })
            }
        }
    }

    /// Handles `POST /sso/login`: the login page's choice. The carried request is checked again,
    /// because hidden fields come back from the browser and prove nothing.
    pub(crate) fn sso_login(
        &self,
        form: LoginForm,
        session_cookie: Option<&str>,
    ) -> Result<SsoAnswer, SsoError> {
        let (request, route, relay_state) = match form.signed_query.as_deref() {
            // The request as the SP signed it, verified again (hidden fields prove nothing).
            Some(raw_query) => {
                let query = redirect_sig::parse_query(raw_query)
                    .map_err(|e| SsoError::UnreadableParameters(e.to_string()))?;
                let request = authn_request::decode_redirect(&query.message)?;
                let route = self.route(&request)?;
                self.check_request_signature(Binding::HttpRedirect, Some(raw_query), route.sp)?;
                // The signed RelayState, not the form's copy.
                (request, route, query.relay_state)
            }
            None => {
                let param = form
                    .saml_request
                    .as_deref()
                    .ok_or(SsoError::MissingSamlRequest)?;
                let request = authn_request::decode_post(param)?;
                let route = self.route(&request)?;
                self.check_request_signature(Binding::HttpPost, None, route.sp)?;
                (request, route, form.relay_state)
            }
        };
        let hint = form.user.as_deref().unwrap_or_default();
        let user = self.find_user(hint)?;
        let workbench = Workbench {
            chosen: self.knobs_for_one_sign_in(form.profile.as_deref(), form.knobs.as_deref())?,
            stop_before_posting: form.stop.as_deref().is_some_and(|s| !s.is_empty()),
        };
        self.sign_in_with(
            &route,
            &user,
            request.id,
            relay_state.as_deref(),
            session_cookie,
            workbench,
        )
    }

    /// A normal sign-in: answer, then start an IdP session if the response carries an assertion.
    fn sign_in(
        &self,
        route: &Route<'_>,
        user: &User,
        request_id: String,
        relay_state: Option<&str>,
        session_cookie: Option<&str>,
    ) -> Result<SsoAnswer, SsoError> {
        let workbench = Workbench::default();
        self.sign_in_with(
            route,
            user,
            request_id,
            relay_state,
            session_cookie,
            workbench,
        )
    }

    /// [`Idp::sign_in`] with what a person chose on the login page.
    fn sign_in_with(
        &self,
        route: &Route<'_>,
        user: &User,
        request_id: String,
        relay_state: Option<&str>,
        session_cookie: Option<&str>,
        workbench: Workbench,
    ) -> Result<SsoAnswer, SsoError> {
        let answered = self.answer_with(
            workbench,
            route.sp,
            route.acs_url,
            user,
            Some(request_id),
            relay_state,
            None,
        )?;
        let new_session = answered
            .session
            .map(|facts| self.begin_session(session_cookie, user, &route.sp.entity_id, facts));
        Ok(SsoAnswer {
            html: answered.html,
            new_session,
        })
    }

    /// A passive request: silent answer from the live IdP session, else NoPassive. It never shows
    /// the login page and never starts a session.
    fn passive(
        &self,
        route: &Route<'_>,
        request_id: String,
        relay_state: Option<&str>,
        session_cookie: Option<&str>,
    ) -> Result<SsoAnswer, SsoError> {
        let Some((session, user)) = session_cookie.and_then(|cookie| self.live_session(cookie))
        else {
            tracing::info!(sp = %route.sp.entity_id, "passive request without a live IdP session: NoPassive");
            let html = self.no_passive(route.acs_url, &request_id, relay_state)?;
            return Ok(SsoAnswer {
                html,
                new_session: None,
            });
        };
        let answered = self.answer(
            route.sp,
            route.acs_url,
            &user,
            Some(request_id),
            relay_state,
            Some(session.session_index.clone()),
        )?;
        if let Some(facts) = &answered.session {
            self.refresh_session(&session.id, &route.sp.entity_id, facts);
        }
        Ok(SsoAnswer {
            html: answered.html,
            new_session: None,
        })
    }

    /// The Responder/NoPassive Response (no assertion) in the auto-submit form. It leaves the knob
    /// queue alone: queued knobs are for responses that sign someone in.
    fn no_passive(
        &self,
        acs_url: &str,
        request_id: &str,
        relay_state: Option<&str>,
    ) -> Result<String, SsoError> {
        let minted = mint_status_response(&StatusOnly {
            idp_entity_id: &self.inner.config.entity_id,
            acs_url,
            in_response_to: Some(request_id),
            now: self.now(),
            status: &KnobStatus::responder(),
            sub_status: Some(&KnobStatus::no_passive()),
            ids: self.inner.ids.as_ref(),
        })?;
        Ok(html::auto_submit_form(
            acs_url,
            &minted.saml_response_param(),
            relay_state,
        ))
    }

    /// A present HTTP-Redirect signature must verify with the SP's certificate when the IdP has
    /// it (bindings §3.4.4.1); a missing one is refused only when signed requests are required.
    /// Refused with an error page rather than a SAML error Response: an unauthenticated request's
    /// ACS URL is only advisory (profiles §4.1.4.1), so nothing is posted to it. Returns the
    /// verified query.
    fn check_request_signature<'q>(
        &self,
        binding: Binding,
        raw_query: Option<&'q str>,
        sp: &KnownSp,
    ) -> Result<Option<&'q str>, SsoError> {
        let signed = match binding {
            Binding::HttpRedirect => raw_query
                .and_then(|raw| Some((raw, redirect_sig::parse_query(raw).ok()?)))
                .filter(|(_, q)| q.sig_alg.is_some() || q.signature.is_some()),
            Binding::HttpPost => None,
        };
        match signed {
            Some((raw, query)) => match query.verify(sp.signing_cert_pem.as_deref()) {
                SignatureCheck::Verified { .. } => Ok(Some(raw)),
                // Without the SP's certificate a signature can only be recorded, not judged.
                SignatureCheck::NoCertificate if !self.want_authn_requests_signed() => Ok(None),
                other => Err(SsoError::BadAuthnRequestSignature {
                    sp: sp.entity_id.clone(),
                    reason: match other {
                        SignatureCheck::WeakAlgorithm { algorithm } => {
                            format!("it uses the weak algorithm {algorithm}")
                        }
                        SignatureCheck::Invalid { reason } => reason,
                        SignatureCheck::NoCertificate => {
                            "the IdP has no signing certificate for this SP".to_owned()
                        }
                        _ => "SigAlg or Signature is missing".to_owned(),
                    },
                }),
            },
            None if self.want_authn_requests_signed() => Err(SsoError::UnsignedAuthnRequest {
                sp: sp.entity_id.clone(),
                binding_note: match binding {
                    Binding::HttpPost => {
                        " (this IdP verifies HTTP-Redirect signatures only, not HTTP-POST ones)"
                    }
                    Binding::HttpRedirect => "",
                },
            }),
            None => Ok(None),
        }
    }

    /// The SP (by Issuer) and the ACS URL (as asked, by index, or the SP's first).
    fn route<'a>(&'a self, request: &AuthnRequest) -> Result<Route<'a>, SsoError> {
        let issuer = request.issuer.as_deref().ok_or(SsoError::MissingIssuer)?;
        let sp = self
            .find_sp(issuer)
            .ok_or_else(|| SsoError::UnknownSp(issuer.to_owned()))?;
        let acs_url = match (&request.acs_url, request.acs_index) {
            (Some(asked), _) => sp
                .acs_urls
                .iter()
                .find(|registered| *registered == asked)
                .ok_or_else(|| SsoError::UnregisteredAcsUrl {
                    sp: sp.entity_id.clone(),
                    acs_url: asked.clone(),
                })?,
            (None, Some(index)) => usize::try_from(index)
                .ok()
                .and_then(|i| sp.acs_urls.get(i))
                .ok_or_else(|| SsoError::AcsIndexOutOfRange {
                    sp: sp.entity_id.clone(),
                    index,
                })?,
            (None, None) => sp
                .acs_urls
                .first()
                .ok_or_else(|| SsoError::NoAcsUrl(sp.entity_id.clone()))?,
        };
        Ok(Route { sp, acs_url })
    }

    /// `login_hint` first, then the user queued by the control API; `None` means "ask".
    fn pick_user(&self, login_hint: Option<&str>) -> Result<Option<User>, SsoError> {
        match login_hint.filter(|hint| !hint.is_empty()) {
            Some(hint) => self.find_user(hint).map(Some).map_err(SsoError::from),
            None => Ok(self
                .queued_user()
                .and_then(|login| self.find_user(&login).ok())),
        }
    }

    /// Mints a response with the next knobs and wraps it in the auto-submit form.
    /// `session_index`: the IdP session's (passive answers); `None` draws a fresh one.
    pub(super) fn answer(
        &self,
        sp: &KnownSp,
        acs_url: &str,
        user: &User,
        in_response_to: Option<String>,
        relay_state: Option<&str>,
        session_index: Option<String>,
    ) -> Result<Answered, ControlError> {
        let workbench = Workbench::default();
        self.answer_with(
            workbench,
            sp,
            acs_url,
            user,
            in_response_to,
            relay_state,
            session_index,
        )
    }

    /// [`Idp::answer`] with the knobs a person chose (else the next knobs), and the review page
    /// instead of the auto-submit form when they asked to stop before posting.
    #[allow(clippy::too_many_arguments)]
    fn answer_with(
        &self,
        workbench: Workbench,
        sp: &KnownSp,
        acs_url: &str,
        user: &User,
        in_response_to: Option<String>,
        relay_state: Option<&str>,
        session_index: Option<String>,
    ) -> Result<Answered, ControlError> {
        let chosen = match workbench.chosen {
            Some(chosen) => chosen,
            None => self.take_knobs(),
        };
        let knobs = &chosen.knobs;
        let config = &self.inner.config;
        let now = self.now();
        let minted = mint_response(&MintParams {
            idp_entity_id: config.entity_id.clone(),
            sp_entity_id: sp.entity_id.clone(),
            acs_url: acs_url.to_owned(),
            user,
            in_response_to,
            now,
            knobs,
            keys: &self.inner.keys,
            ids: self.inner.ids.as_ref(),
            session_index,
            sp_encryption_cert_pem: sp.encryption_cert_pem.as_deref(),
        })?;
        tracing::info!(
            sp = %sp.entity_id, user = %user.login, profile = %chosen.profile,
            response_id = %minted.response_id, "minted response"
        );
        // The IdP session ends when the assertion says it does (SessionNotOnOrAfter, including
        // the clock-offset knob, as the minter computed it).
        let session = minted
            .session_index
            .clone()
            .map(|session_index| SessionFacts {
                session_index,
                name_id: knobs
                    .name_id_value
                    .clone()
                    .unwrap_or_else(|| user.email.clone()),
                name_id_format: knobs.name_id_format.clone(),
                not_on_or_after: knobs.session_not_on_or_after_secs.and_then(|secs| {
                    now.checked_add(Duration::seconds(knobs.clock_offset_secs))?
                        .checked_add(Duration::seconds(secs))
                }),
            });
        let form_value = minted.form_value(knobs);
        let html = match workbench.stop_before_posting {
            false => html::auto_submit_form(acs_url, &form_value, relay_state),
            true => html::review_page(
                acs_url,
                &form_value,
                relay_state,
                &user.login,
                &chosen.profile,
                &minted.xml,
            ),
        };
        Ok(Answered { html, session })
    }
}
