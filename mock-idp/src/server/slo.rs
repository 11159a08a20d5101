//! Single logout, IdP side: `/slo` receives SPs' LogoutRequests (answered with a LogoutResponse
//! by HTTP-Redirect to the SP's `slo_url`) and LogoutResponses (recorded, then a "signed out"
//! page), and [`Idp::start_logout`] sends IdP-initiated LogoutRequests shaped by the logout section of [`Knobs`].
//!
//! An SP LogoutRequest is acted on only when its signature verifies with the SP's configured
//! certificate; otherwise it is answered with status Requester and no session ends, because an
//! unauthenticated logout would let anyone end anyone's session.

use axum::http::StatusCode as HttpStatus;
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::{Binding, ControlError, Idp, KnownSp, html};
use crate::dsig;
use crate::knobs::{Knobs, NAME_ID_FORMAT_EMAIL, Reader, SigningKey, StatusCode};
use crate::logout::{
    self, LogoutDecodeError, LogoutRequestFields, LogoutRequestParts, LogoutResponseFields,
    LogoutResponseParts, SignatureCheck,
};
use crate::mint::format_timestamp;
use crate::redirect_sig::{self, MessageParam, RedirectQueryError};

/// How many sent LogoutRequest IDs are remembered to match LogoutResponses against.
const MAX_SENT_IDS: usize = 1024;

/// The binding an IdP-initiated LogoutRequest is sent on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogoutBinding {
    /// HTTP-Redirect: a URL with the deflated request and a query-string signature.
    #[default]
    Redirect,
    /// HTTP-POST: an auto-submit form with an enveloped XML signature.
    Post,
}

/// What [`Idp::start_logout`] (and `POST /_control/logout`) is asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartLogout {
    /// Login or email of the user to log out.
    pub user: String,
    /// The binding to send the LogoutRequest on (default `redirect`).
    #[serde(default)]
    pub binding: LogoutBinding,
    /// The faults to put in the LogoutRequest: the `logout_*` knobs (default: none, signed by
    /// the IdP). Other knobs are refused.
    #[serde(default)]
    pub knobs: Knobs,
    /// `RelayState` to send along.
    #[serde(default)]
    pub relay_state: Option<String>,
}

/// An IdP-initiated LogoutRequest, ready for the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "binding", rename_all = "lowercase")]
pub enum LogoutMessage {
    /// Send the browser to `url` (the SP's `slo_url` with the query).
    Redirect {
        /// The full URL.
        url: String,
        /// The LogoutRequest ID.
        request_id: String,
    },
    /// Serve `html`, which posts `saml_request` to `url`.
    Post {
        /// The form's action: the SP's `slo_url`.
        url: String,
        /// The auto-submit page.
        html: String,
        /// The `SAMLRequest` field: base64 of the (signed) XML.
        saml_request: String,
        /// The `RelayState` field, if any.
        relay_state: Option<String>,
        /// The LogoutRequest ID.
        request_id: String,
    },
}

/// An SP's LogoutRequest as received at `/slo`, for `GET /_control/logout-requests`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedLogoutRequest {
    /// When it arrived (IdP time).
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The binding used.
    pub binding: Binding,
    /// `RelayState`, as sent.
    pub relay_state: Option<String>,
    /// `SigAlg` (HTTP-Redirect), as sent.
    pub sig_alg: Option<String>,
    /// The signature check; `None` if the message could not be decoded or its SP is unknown.
    pub signature: Option<SignatureCheck>,
    /// The decoded request; `None` if it could not be decoded.
    pub request: Option<LogoutRequestFields>,
    /// The status of the LogoutResponse sent back; `None` if none was sent.
    pub status_sent: Option<String>,
    /// How many IdP sessions this request ended.
    pub sessions_ended: usize,
    /// Why the IdP answered with a 400 page instead of a LogoutResponse.
    pub refusal: Option<String>,
}

/// An SP's LogoutResponse as received at `/slo`, for `GET /_control/logout-responses`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedLogoutResponse {
    /// When it arrived (IdP time).
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The binding used.
    pub binding: Binding,
    /// `RelayState`, as sent.
    pub relay_state: Option<String>,
    /// `SigAlg` (HTTP-Redirect), as sent.
    pub sig_alg: Option<String>,
    /// The signature check; `None` if the message could not be decoded.
    pub signature: Option<SignatureCheck>,
    /// The decoded response; `None` if it could not be decoded.
    pub response: Option<LogoutResponseFields>,
    /// Whether `InResponseTo` names a LogoutRequest this IdP sent.
    pub answers_sent_request: bool,
    /// Why it could not be read.
    pub refusal: Option<String>,
}

/// Why `/slo` answered with an error page instead of a SAML message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SloError {
    /// The form could not be read.
    #[error("the request parameters cannot be read: {0}")]
    UnreadableParameters(String),
    /// The query string is not a usable HTTP-Redirect message.
    #[error(transparent)]
    BadQuery(#[from] RedirectQueryError),
    /// The POST carries neither `SAMLRequest` nor `SAMLResponse` (or both).
    #[error("the form must carry exactly one of SAMLRequest and SAMLResponse")]
    NoSingleMessage,
    /// The message could not be decoded.
    #[error(transparent)]
    Undecodable(#[from] LogoutDecodeError),
    /// The LogoutRequest has no Issuer, so there is no SP to answer.
    #[error("the LogoutRequest has no Issuer, so the IdP cannot tell which SP sent it")]
    MissingIssuer,
    /// The Issuer is not a configured SP.
    #[error("the SP `{0}` is not known to this IdP")]
    UnknownSp(String),
    /// The SP has no `slo_url` to send the LogoutResponse to.
    #[error("the SP `{0}` has no slo_url to answer at")]
    NoSloUrl(String),
    /// Building or signing the LogoutResponse failed.
    #[error("building the LogoutResponse failed: {0}")]
    AnswerFailed(String),
}

impl IntoResponse for SloError {
    fn into_response(self) -> Response {
        let status = match self {
            SloError::AnswerFailed(_) => HttpStatus::INTERNAL_SERVER_ERROR,
            _ => HttpStatus::BAD_REQUEST,
        };
        tracing::warn!(error = %self, %status, "single logout refused");
        let page = html::error_page("Mock IdP refused the logout message", &self.to_string());
        (status, Html(page)).into_response()
    }
}

/// The form `POST /slo` reads (HTTP-POST binding).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SloForm {
    #[serde(rename = "SAMLRequest")]
    saml_request: Option<String>,
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// What `/slo` answers with.
#[derive(Debug)]
pub(crate) enum SloAnswer {
    /// 303 to the SP's `slo_url` carrying the LogoutResponse.
    Redirect(String),
    /// A plain page.
    Page(String),
}

impl IntoResponse for SloAnswer {
    fn into_response(self) -> Response {
        match self {
            SloAnswer::Redirect(url) => Redirect::to(&url).into_response(),
            SloAnswer::Page(page) => Html(page).into_response(),
        }
    }
}

/// Checks a received message's signature with the SP's certificate (`None`: none configured).
type SignatureChecker = Box<dyn Fn(Option<&str>) -> SignatureCheck>;

/// One received message, binding-independent.
struct Incoming {
    binding: Binding,
    param: MessageParam,
    decoded: Result<String, LogoutDecodeError>,
    relay_state: Option<String>,
    sig_alg: Option<String>,
    /// Checks the signature with the SP's certificate (query string or enveloped XML).
    check: SignatureChecker,
}

impl Idp {
    /// Handles `GET /slo` (HTTP-Redirect); `raw_query` exactly as received.
    pub(crate) fn slo_redirect(&self, raw_query: Option<&str>) -> Result<SloAnswer, SloError> {
        let query = redirect_sig::parse_query(raw_query.unwrap_or_default())?;
        let decoded = logout::decode_redirect(&query.message);
        let (param, relay_state, sig_alg) = (
            query.param,
            query.relay_state.clone(),
            query.sig_alg.clone(),
        );
        self.slo(Incoming {
            binding: Binding::HttpRedirect,
            param,
            decoded,
            relay_state,
            sig_alg,
            check: Box::new(move |cert| query.verify(cert)),
        })
    }

    /// Handles `POST /slo` (HTTP-POST).
    pub(crate) fn slo_post(&self, form: SloForm) -> Result<SloAnswer, SloError> {
        let (param, value) = match (form.saml_request, form.saml_response) {
            (Some(request), None) => (MessageParam::SamlRequest, request),
            (None, Some(response)) => (MessageParam::SamlResponse, response),
            _ => return Err(SloError::NoSingleMessage),
        };
        let decoded = logout::decode_post(&value);
        let xml = decoded.clone().unwrap_or_default();
        self.slo(Incoming {
            binding: Binding::HttpPost,
            param,
            decoded,
            relay_state: form.relay_state,
            sig_alg: None,
            check: Box::new(move |cert| dsig::verify_root(&xml, cert)),
        })
    }

    fn slo(&self, incoming: Incoming) -> Result<SloAnswer, SloError> {
        match incoming.param {
            MessageParam::SamlRequest => self.sp_logout_request(incoming),
            MessageParam::SamlResponse => self.sp_logout_response(incoming),
        }
    }

    /// An SP-initiated LogoutRequest: verify, end the matching sessions, answer.
    fn sp_logout_request(&self, incoming: Incoming) -> Result<SloAnswer, SloError> {
        let mut record = ReceivedLogoutRequest {
            received_at: self.now(),
            binding: incoming.binding,
            relay_state: incoming.relay_state.clone(),
            sig_alg: incoming.sig_alg.clone(),
            signature: None,
            request: None,
            status_sent: None,
            sessions_ended: 0,
            refusal: None,
        };
        let routed = incoming
            .decoded
            .clone()
            .map_err(SloError::from)
            .and_then(|xml| Ok(logout::parse_logout_request(&xml)?))
            .and_then(|request| {
                record.request = Some(request.clone());
                let issuer = request.issuer.as_deref().ok_or(SloError::MissingIssuer)?;
                let sp = self
                    .find_sp(issuer)
                    .ok_or_else(|| SloError::UnknownSp(issuer.to_owned()))?;
                let slo_url = sp
                    .slo_url
                    .clone()
                    .ok_or_else(|| SloError::NoSloUrl(sp.entity_id.clone()))?;
                Ok((request, sp, slo_url))
            });
        let (request, sp, slo_url) = match routed {
            Ok(routed) => routed,
            Err(err) => {
                record.refusal = Some(err.to_string());
                self.state().logout_requests.push(record);
                return Err(err);
            }
        };

        let check = (incoming.check)(sp.signing_cert_pem.as_deref());
        let knobs = self.state().next_logout_response.take().unwrap_or_default();
        let status = if check.accepted() {
            record.sessions_ended = self.end_sessions_for(&request).len();
            knobs.logout_status_code.clone()
        } else {
            tracing::warn!(sp = %sp.entity_id, ?check, "LogoutRequest refused: signature not verified");
            StatusCode::requester()
        };
        record.signature = Some(check);
        record.status_sent = Some(status.uri().to_owned());
        let answered = self.logout_response_url(
            sp,
            &slo_url,
            &request.id,
            &status,
            &knobs,
            incoming.relay_state.as_deref(),
        );
        if let Err(err) = &answered {
            record.refusal = Some(err.to_string());
            record.status_sent = None;
        }
        tracing::info!(sp = %sp.entity_id, request_id = %request.id, status = %status.uri(), ended = record.sessions_ended, "answered LogoutRequest");
        self.state().logout_requests.push(record);
        answered.map(SloAnswer::Redirect)
    }

    /// Ends the sessions a verified LogoutRequest names: same NameID, and one of its
    /// SessionIndexes (none listed: all of that principal's sessions, SAML Core §3.7.3.2).
    fn end_sessions_for(&self, request: &LogoutRequestFields) -> Vec<super::IdpSession> {
        let Some(name_id) = request.name_id.as_deref() else {
            return Vec::new();
        };
        self.end_sessions_where(|s| {
            s.name_id == name_id
                && (request.session_indexes.is_empty()
                    || request.session_indexes.contains(&s.session_index))
        })
    }

    /// The LogoutResponse, deflated and signed over the query string, as a URL on `slo_url`.
    fn logout_response_url(
        &self,
        sp: &KnownSp,
        slo_url: &str,
        in_response_to: &str,
        status: &StatusCode,
        knobs: &Knobs,
        relay_state: Option<&str>,
    ) -> Result<String, SloError> {
        let issue_instant = format_timestamp(self.now())
            .ok_or_else(|| SloError::AnswerFailed("the clock is out of range".to_owned()))?;
        let id = self.inner.ids.next_id();
        let xml = logout::logout_response_xml(&LogoutResponseParts {
            id: &id,
            issue_instant: &issue_instant,
            destination: knobs
                .logout_destination_override
                .as_deref()
                .unwrap_or(slo_url),
            in_response_to: knobs
                .logout_in_response_to_override
                .as_deref()
                .unwrap_or(in_response_to),
            issuer: knobs
                .logout_issuer_override
                .as_deref()
                .unwrap_or(&self.inner.config.entity_id),
            status,
        });
        let key = (!knobs.logout_unsigned).then(|| self.logout_signer(knobs.logout_signing_key));
        let query = redirect_sig::build_query(
            MessageParam::SamlResponse,
            &logout::deflate_base64(&xml),
            relay_state,
            key.map(|k| k.key_pem.as_str()),
        )
        .map_err(|e| SloError::AnswerFailed(e.to_string()))?;
        tracing::debug!(sp = %sp.entity_id, response_id = %id, "built LogoutResponse");
        Ok(join_query(slo_url, &query))
    }

    /// An SP's LogoutResponse (the answer to an IdP-initiated logout): record it.
    fn sp_logout_response(&self, incoming: Incoming) -> Result<SloAnswer, SloError> {
        let mut record = ReceivedLogoutResponse {
            received_at: self.now(),
            binding: incoming.binding,
            relay_state: incoming.relay_state.clone(),
            sig_alg: incoming.sig_alg.clone(),
            signature: None,
            response: None,
            answers_sent_request: false,
            refusal: None,
        };
        let parsed = incoming
            .decoded
            .clone()
            .map_err(SloError::from)
            .and_then(|xml| Ok(logout::parse_logout_response(&xml)?));
        let response = match parsed {
            Ok(response) => response,
            Err(err) => {
                record.refusal = Some(err.to_string());
                self.state().logout_responses.push(record);
                return Err(err);
            }
        };
        let cert = response
            .issuer
            .as_deref()
            .and_then(|issuer| self.find_sp(issuer))
            .and_then(|sp| sp.signing_cert_pem.as_deref());
        record.signature = Some((incoming.check)(cert));
        let mut state = self.state();
        record.answers_sent_request = response
            .in_response_to
            .as_ref()
            .is_some_and(|id| state.sent_logout_requests.contains(id));
        tracing::info!(issuer = ?response.issuer, status = ?response.status_code, "received LogoutResponse");
        record.response = Some(response);
        state.logout_responses.push(record);
        Ok(SloAnswer::Page(html::signed_out_page(
            "The service provider confirmed the logout.",
        )))
    }

    /// Starts an IdP-initiated logout of `start.user`: builds the LogoutRequest for the SP of the
    /// user's latest IdP session and ends the user's IdP sessions.
    pub fn start_logout(&self, start: StartLogout) -> Result<LogoutMessage, ControlError> {
        let knobs = &start.knobs;
        knobs.validate()?;
        knobs.refuse_outside(&Knobs::default(), Reader::Logout)?;
        let user = self.find_user(&start.user)?;
        let session = self.latest_session_of(&user.login);
        if session.is_none() && knobs.logout_session_index_override.is_none() {
            return Err(ControlError::NoSession(user.login));
        }
        let sp = session
            .as_ref()
            .and_then(|s| s.service_providers.iter().find_map(|sp| self.find_sp(sp)))
            .or_else(|| self.inner.config.service_providers.first())
            .ok_or_else(|| ControlError::UnknownSp("(none configured)".to_owned()))?;
        let slo_url = sp
            .slo_url
            .clone()
            .ok_or_else(|| ControlError::NoSloUrl(sp.entity_id.clone()))?;

        let now = self.now();
        let out_of_range = || ControlError::ClockOutOfRange("a logout timestamp".to_owned());
        let issue_instant = now
            .checked_add(Duration::seconds(knobs.logout_issue_instant_offset_secs))
            .and_then(format_timestamp)
            .ok_or_else(out_of_range)?;
        let not_on_or_after = match (
            &knobs.logout_not_on_or_after_override,
            knobs.logout_not_on_or_after_offset_secs,
        ) {
            (Some(text), _) => Some(text.clone()),
            (None, Some(secs)) => Some(
                now.checked_add(Duration::seconds(secs))
                    .and_then(format_timestamp)
                    .ok_or_else(out_of_range)?,
            ),
            (None, None) => None,
        };
        let id = self.inner.ids.next_id();
        let session_index = knobs
            .logout_session_index_override
            .clone()
            .or_else(|| session.as_ref().map(|s| s.session_index.clone()));
        let parts = LogoutRequestParts {
            id: &id,
            issue_instant: &issue_instant,
            destination: knobs
                .logout_destination_override
                .as_deref()
                .unwrap_or(&slo_url),
            not_on_or_after: not_on_or_after.as_deref(),
            issuer: knobs
                .logout_issuer_override
                .as_deref()
                .unwrap_or(&self.inner.config.entity_id),
            name_id: knobs
                .logout_name_id_override
                .as_deref()
                .or(session.as_ref().map(|s| s.name_id.as_str()))
                .unwrap_or(&user.email),
            name_id_format: session
                .as_ref()
                .map_or(NAME_ID_FORMAT_EMAIL, |s| s.name_id_format.as_str()),
            session_index: session_index.as_deref(),
            omit_name_id: knobs.logout_omit_name_id,
        };
        let signer = (!knobs.logout_unsigned).then(|| self.logout_signer(knobs.logout_signing_key));
        let failed = |e: String| ControlError::LogoutFailed(e);
        let carried = match knobs.logout_carry_signed_assertion {
            true => Some(self.signed_assertion_for(sp, &user, session_index.clone())?),
            false => None,
        };
        let carry = |xml: String| match &carried {
            Some(assertion) => carry_in_extensions(&xml, assertion),
            None => xml,
        };
        let message = match start.binding {
            LogoutBinding::Redirect => {
                let xml = logout::logout_request_xml(&parts, None)
                    .map(carry)
                    .map_err(|e| failed(e.to_string()))?;
                let key_pem = signer.map(|s| s.key_pem.as_str());
                let query = match knobs.logout_redirect_game {
                    Some(game) => crate::redirect_games::build_query(
                        &xml,
                        start.relay_state.as_deref(),
                        key_pem,
                        game,
                    ),
                    None => redirect_sig::build_query(
                        MessageParam::SamlRequest,
                        &logout::deflate_base64(&xml),
                        start.relay_state.as_deref(),
                        key_pem,
                    ),
                }
                .map_err(|e| failed(e.to_string()))?;
                LogoutMessage::Redirect {
                    url: join_query(&slo_url, &query),
                    request_id: id.clone(),
                }
            }
            LogoutBinding::Post => {
                let xml = logout::logout_request_xml(&parts, signer)
                    .map(carry)
                    .map_err(|e| failed(e.to_string()))?;
                let saml_request = STANDARD.encode(xml);
                LogoutMessage::Post {
                    html: html::auto_submit_saml_form(
                        &slo_url,
                        "SAMLRequest",
                        &saml_request,
                        start.relay_state.as_deref(),
                    ),
                    url: slo_url.clone(),
                    saml_request,
                    relay_state: start.relay_state.clone(),
                    request_id: id.clone(),
                }
            }
        };
        let ended = self.end_sessions_where(|s| s.login == user.login).len();
        {
            let mut state = self.state();
            if state.sent_logout_requests.len() >= MAX_SENT_IDS {
                state.sent_logout_requests.remove(0);
            }
            state.sent_logout_requests.push(id.clone());
        }
        tracing::info!(user = %user.login, sp = %sp.entity_id, request_id = %id, ended, binding = ?start.binding, "IdP-initiated logout");
        Ok(message)
    }

    /// An assertion for `user` signed by this IdP for `sp`, as a sign-in would mint it (for
    /// `logout_carry_signed_assertion`): the `saml:Assertion` element's text.
    fn signed_assertion_for(
        &self,
        sp: &KnownSp,
        user: &crate::users::User,
        session_index: Option<String>,
    ) -> Result<String, ControlError> {
        let failed = |e: String| ControlError::LogoutFailed(e);
        let acs_url = sp
            .acs_urls
            .first()
            .ok_or_else(|| failed(format!("{} has no ACS URL", sp.entity_id)))?;
        let minted = crate::mint::mint_response(&crate::mint::MintParams {
            idp_entity_id: self.inner.config.entity_id.clone(),
            sp_entity_id: sp.entity_id.clone(),
            acs_url: acs_url.clone(),
            user,
            in_response_to: None,
            now: self.now(),
            knobs: &Knobs::default(),
            keys: &self.inner.keys,
            ids: self.inner.ids.as_ref(),
            session_index,
            sp_encryption_cert_pem: None,
        })
        .map_err(|e| failed(e.to_string()))?;
        let (open, close) = ("<saml:Assertion ", "</saml:Assertion>");
        let start = minted.xml.find(open);
        let end = minted.xml.rfind(close);
        match (start, end) {
            (Some(s), Some(e)) if s < e => Ok(minted.xml[s..e + close.len()].to_owned()),
            _ => Err(failed("the minted response holds no assertion".into())),
        }
    }

    /// Every SP LogoutRequest received at `/slo`, oldest first.
    pub fn logout_requests(&self) -> Vec<ReceivedLogoutRequest> {
        self.state().logout_requests.clone()
    }

    /// Forgets the recorded SP LogoutRequests.
    pub fn clear_logout_requests(&self) {
        self.state().logout_requests.clear();
    }

    /// Every SP LogoutResponse received at `/slo`, oldest first.
    pub fn logout_responses(&self) -> Vec<ReceivedLogoutResponse> {
        self.state().logout_responses.clone()
    }

    /// Forgets the recorded SP LogoutResponses.
    pub fn clear_logout_responses(&self) {
        self.state().logout_responses.clear();
    }

    /// Applies `knobs` to the next LogoutResponse the IdP sends (one only).
    pub fn set_next_logout_response(&self, knobs: Knobs) -> Result<(), ControlError> {
        knobs.validate()?;
        knobs.refuse_outside(&Knobs::default(), Reader::Logout)?;
        self.state().next_logout_response = Some(knobs);
        Ok(())
    }

    /// Drops knobs set by [`Idp::set_next_logout_response`].
    pub fn clear_next_logout_response(&self) {
        self.state().next_logout_response = None;
    }

    fn logout_signer(&self, key: SigningKey) -> &crate::keys::SigningIdentity {
        match key {
            SigningKey::Idp => &self.inner.keys.idp,
            SigningKey::Attacker => &self.inner.keys.attacker,
        }
    }
}

/// `url` with `query` appended (`?` or `&`, whichever the URL needs).
/// `xml` (a LogoutRequest) with `assertion` in a `samlp:Extensions` right after its Issuer (and
/// its signature, if any), where the schema puts Extensions. The LogoutRequest declares the same
/// `saml` prefix as the minted Response, so the assertion's canonical form, hence its signature,
/// is unchanged.
fn carry_in_extensions(xml: &str, assertion: &str) -> String {
    let after = ["</ds:Signature>", "</saml:Issuer>"]
        .iter()
        .find_map(|end| xml.find(end).map(|at| at + end.len()));
    match after {
        Some(at) => format!(
            "{}<samlp:Extensions>{assertion}</samlp:Extensions>{}",
            &xml[..at],
            &xml[at..]
        ),
        None => xml.to_owned(),
    }
}

fn join_query(url: &str, query: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{query}")
}
