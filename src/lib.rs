//! samlconf: a SAML 2.0 conformance test harness.
//!
//! The data flow is one-way: scenario → [`driver`] → mock IdP / reference SP ([`harness`]) →
//! outcome → report. The mock IdP (`mock_idp`) mints messages; the reference SP (`sp`) verifies
//! them; they share no protocol logic.
#![forbid(unsafe_code)]

pub mod certify;
pub mod demo;
pub mod driver;
pub mod fuzz_corpus;
pub mod harness;
pub mod lifecycle;
pub mod load;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod sut;
pub mod target;
pub mod tls;
pub mod vectors;
