//! The samlconf reference SAML 2.0 service provider.
//!
//! It behaves like the products in the project's source documents: it verifies responses on one
//! libxml2 tree ([`verify`]), refuses with a stable [`reason`] code, provisions users just in time,
//! maps groups to roles and keeps its state in SQLite ([`store`]). The data flow is one-way:
//! HTTP ([`web`]) → verifier → identity mapping ([`identity`]) → store → session.
#![deny(unsafe_code)]
// `verify::dsig` and `verify::decrypt` are the modules allowed `unsafe` (xmlsec FFI); they opt in
// with `#[allow]`.

// `store/suite.rs` names this crate `sp::`, as the integration test that includes it does.
#[cfg(test)]
extern crate self as sp;

pub mod reason;
pub mod verify;

pub mod accounts;
pub mod authn_request;
pub mod certificate;
pub mod clock;
pub mod config;
pub mod identity;
pub mod keys;
pub mod metadata;
pub mod pages;
pub mod policy;
pub mod slo;
pub mod store;
pub mod throttle;
pub mod token;
pub mod weakness;
pub mod web;
pub mod xml;
