//! Plumbing that samlconf's mock IdP and reference SP share: the injected [`clock`] and the RSA
//! [`keys`] kept in PEM files, plus (feature `testing`) the `xmlsec1` command helpers of their
//! integration tests (module `xmlsec1`), a throw-away PostgreSQL server (module `postgres`) and
//! the benches' RSA baseline and cost ratios (module `bench`).
//!
//! It exists so that each of these is written once. It must never hold protocol logic: nothing
//! here builds, parses or validates a SAML message, because the IdP and the SP must stay
//! independent implementations that could not share a protocol bug. The `testing` helpers only
//! drive the `xmlsec1` command, a third, independent implementation the tests check both against.

#[cfg(feature = "testing")]
pub mod bench;
pub mod clock;
pub mod keys;
#[cfg(feature = "testing")]
pub mod postgres;
pub mod tls;
#[cfg(feature = "testing")]
pub mod xmlsec1;
