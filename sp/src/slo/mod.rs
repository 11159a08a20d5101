//! Single logout messages (SAML core §3.7, bindings §3.4 and §3.5): building the LogoutRequests
//! and LogoutResponses the SP sends over HTTP-Redirect, signed with the SP key
//! ([`SpKeys`](crate::keys::SpKeys)), and decoding and verifying the ones the IdP sends to
//! `/saml/sls` over HTTP-Redirect (query-string signature) or HTTP-POST (enveloped XML signature,
//! verified by xmlsec on the one parse tree, as the ACS does). The HTTP side is `web::slo`; the
//! store queries of this feature are in `store::logout`.
//!
//! Check order for an incoming message, first failure wins: **input** (`input.*`) → **structure**
//! (`logout.malformed`) → **signature** (`logout.unsigned`, `logout.response_unsigned`,
//! `logout.signature_invalid`, `signature.weak_algorithm`, …) → **issuer** → **destination** →
//! **time** (requests). Replay, sessions, InResponseTo and status need the store: `web::slo`.
//!
//! [`verify_message`] is synchronous (libxml2 documents are not `Send`): call it from
//! `spawn_blocking`.
//!
//! Modules: [`build`] (outgoing messages and the signed Redirect URL), [`decode`] (the transport
//! of incoming messages), [`verify`] (the stateless checks on them).

use serde::Serialize;

use crate::reason::{Reason, Rejection};

pub mod build;
pub mod decode;
pub mod verify;

pub use build::{
    LogoutStatus, LogoutSubject, Outgoing, build_logout_request, build_logout_response,
    redirect_url, signed_redirect_url,
};
pub use decode::{Binding, RawMessage, RedirectSignature, decode_post, decode_redirect};
pub(crate) use verify::logout_keep_until;
pub use verify::{
    LogoutMessage, LogoutRefusal, Signed, SloPolicy, VerifiedLogoutRequest, VerifiedLogoutResponse,
    verify_message, verify_query_signature,
};

pub use crate::store::OutstandingLogout;

/// Top-level status: the logout succeeded.
pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
/// Top-level status: the request was refused (the requester's fault).
pub const STATUS_REQUESTER: &str = "urn:oasis:names:tc:SAML:2.0:status:Requester";
/// Second-level status: the responder knows no such principal (no matching session).
pub const STATUS_UNKNOWN_PRINCIPAL: &str = "urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal";
/// Second-level status: the request was refused (signature, issuer, time, …).
pub const STATUS_REQUEST_DENIED: &str = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied";

/// Which query parameter carries a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MessageKind {
    /// `SAMLRequest`: a LogoutRequest.
    Request,
    /// `SAMLResponse`: a LogoutResponse.
    Response,
}

impl MessageKind {
    /// The binding's parameter name.
    pub fn parameter(self) -> &'static str {
        match self {
            MessageKind::Request => "SAMLRequest",
            MessageKind::Response => "SAMLResponse",
        }
    }
}

fn input(reason: Reason, message: impl Into<String>) -> Rejection {
    Rejection::new(reason, message)
}

fn malformed(message: impl Into<String>) -> Rejection {
    Rejection::new(Reason::LogoutMessageIsMalformed, message)
}
