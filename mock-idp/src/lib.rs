//! A programmable SAML 2.0 identity provider for conformance testing.
//!
//! It *builds* SAML messages — valid ones and deliberately faulty ones, chosen per response by
//! [`knobs::Knobs`] or a named [`profiles`] preset — and shares no protocol logic with the SP it
//! tests. Time ([`plumbing::clock::Clock`]), IDs ([`mint::IdSource`]) and keys ([`keys`]) are injected, so a
//! deterministic IdP mints byte-for-byte stable signed XML.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod attacks;
pub mod authn_request;
pub mod keys;
pub mod knobs;
pub mod logout;
pub mod metadata;
pub mod mint;
pub mod profiles;
pub mod redirect_games;
pub mod redirect_sig;
pub mod server;
pub mod tampering;
pub mod users;
pub mod xml;
pub mod xmlenc;

mod dsig;

pub use dsig::{SignError, Signed};
