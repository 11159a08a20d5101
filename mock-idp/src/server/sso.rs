//! The browser-facing single sign-on flow. Every refusal returns before any minting code is
//! reachable: the mint call sits after the `?`s, never in a branch that could fall through.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;

use super::html;
use super::{Binding, ControlError, Idp, KnownSp, ReceivedAuthnRequest};
use crate::authn_request::{self, AuthnRequest, AuthnRequestError};
use crate::mint::{MintError, MintParams, mint_response};
use crate::users::{self, User};

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
}

/// Where an accepted request's response goes.
struct Route<'a> {
    sp: &'a KnownSp,
    acs_url: &'a str,
}

impl Idp {
    /// Handles `GET`/`POST /sso`: decode, record, check SP and ACS, pick the user, then answer with
    /// the auto-submit form or show the login page.
    pub(crate) fn sso(
        &self,
        binding: Binding,
        params: SsoParams,
    ) -> Result<Html<String>, SsoError> {
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
            let user = self.pick_user(params.login_hint.as_deref())?;
            Ok((request, route, user))
        });
        received.refusal = decision.as_ref().err().map(ToString::to_string);
        self.record(received);
        let (request, route, user) = decision?;

        tracing::info!(sp = %route.sp.entity_id, request_id = %request.id, ?binding, "AuthnRequest accepted");
        match user {
            Some(user) => self
                .answer(
                    route.sp,
                    route.acs_url,
                    user,
                    Some(request.id),
                    params.relay_state.as_deref(),
                )
                .map_err(SsoError::from)
                .map(Html),
            None => {
                let carried = base64::engine::general_purpose::STANDARD.encode(&request.raw_xml);
                let users = &self.inner.config.users;
                Ok(Html(html::login_page(
                    users,
                    &route.sp.entity_id,
                    &carried,
                    params.relay_state.as_deref(),
                )))
            }
        }
    }

    /// Handles `POST /sso/login`: the login page's choice. The carried request is checked again,
    /// because hidden fields come back from the browser and prove nothing.
    pub(crate) fn sso_login(&self, form: LoginForm) -> Result<Html<String>, SsoError> {
        let param = form
            .saml_request
            .as_deref()
            .ok_or(SsoError::MissingSamlRequest)?;
        let request = authn_request::decode_post(param)?;
        let route = self.route(&request)?;
        let hint = form.user.as_deref().unwrap_or_default();
        let user = users::find(&self.inner.config.users, hint)
            .ok_or_else(|| SsoError::UnknownUser(hint.to_owned()))?;
        self.answer(
            route.sp,
            route.acs_url,
            user,
            Some(request.id),
            form.relay_state.as_deref(),
        )
        .map_err(SsoError::from)
        .map(Html)
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
    fn pick_user(&self, login_hint: Option<&str>) -> Result<Option<&User>, SsoError> {
        let users = &self.inner.config.users;
        match login_hint.filter(|hint| !hint.is_empty()) {
            Some(hint) => users::find(users, hint)
                .map(Some)
                .ok_or_else(|| SsoError::UnknownUser(hint.to_owned())),
            None => Ok(self
                .queued_user()
                .and_then(|login| users::find(users, &login))),
        }
    }

    /// Mints a response with the next knobs and wraps it in the auto-submit form.
    pub(super) fn answer(
        &self,
        sp: &KnownSp,
        acs_url: &str,
        user: &User,
        in_response_to: Option<String>,
        relay_state: Option<&str>,
    ) -> Result<String, ControlError> {
        let chosen = self.take_knobs();
        let config = &self.inner.config;
        let minted = mint_response(&MintParams {
            idp_entity_id: config.entity_id.clone(),
            sp_entity_id: sp.entity_id.clone(),
            acs_url: acs_url.to_owned(),
            user,
            in_response_to,
            now: self.now(),
            knobs: &chosen.knobs,
            keys: &self.inner.keys,
            ids: self.inner.ids.as_ref(),
            session_index: None,
        })?;
        tracing::info!(
            sp = %sp.entity_id, user = %user.login, profile = %chosen.profile,
            response_id = %minted.response_id, "minted response"
        );
        Ok(html::auto_submit_form(
            acs_url,
            &minted.saml_response_param(),
            relay_state,
        ))
    }
}
