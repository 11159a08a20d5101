//! Test-only switches that each turn off ONE check of the reference SP, so that a test can prove
//! the scenario catalogue notices a broken SP (`tests/weakened.rs`, `scenarios/WEAKENED.md`): a
//! catalogue that only ever passes against one SP proves little (mutation testing, aimed at the
//! catalogue).
//!
//! # Why they cannot be turned on by accident
//!
//! Two locks, both needed:
//!
//! 1. **No configuration reaches them.** A set of weaknesses is not part of [`crate::config`]
//!    (no TOML key, no environment variable, no CLI flag): only code passes one, to
//!    [`crate::web::Sp::new_weakened`]. The harness does so only for tests
//!    (`samlconf::harness::PairOptions::sp_weaknesses`, which no command fills in).
//! 2. **Only a `weakened` build honours them.** The Cargo feature `weakened` is off by default;
//!    the root crate enables it only as a dev-dependency feature, so it is on in `cargo test`
//!    builds and off in `cargo build`/`cargo install`. Without it, [`Weaknesses::has`] is always
//!    false and `Sp::new_weakened` refuses a non-empty set, so a production binary fails to start
//!    rather than run weakened.
//!
//! An SP started with any weakness logs each one at `error` level at start-up.

use std::collections::BTreeSet;

/// One check of the reference SP that a test may turn off. Each names the check it disables.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::VariantArray,
    strum::IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
#[non_exhaustive]
pub enum Weakness {
    /// `audience.*`: any AudienceRestriction, or none, is accepted.
    Audience,
    /// `destination.*`: any Destination, or none on a signed Response, is accepted.
    Destination,
    /// `recipient.mismatch`: any bearer Recipient, or none, is accepted.
    Recipient,
    /// `time.*`: IssueInstants and the Conditions NotBefore/NotOnOrAfter are not compared with
    /// the clock.
    TimeWindow,
    /// `subject.confirmation_expired`: the bearer SubjectConfirmationData's NotOnOrAfter and
    /// NotBefore are not compared with the clock (nor required).
    BearerExpiry,
    /// `replay.assertion_reused`: the replay cache is neither consulted nor filled.
    ReplayCache,
    /// `replay.assertion_reused` for `<saml:OneTimeUse/>`: it no longer keeps the assertion in the
    /// replay cache beyond its windows.
    OneTimeUse,
    /// `signature.missing`: an unsigned Assertion (unsigned Response too) is accepted.
    SignatureRequired,
    /// `signature.invalid` / `signature.wrong_reference`: a signature is never verified with
    /// xmlsec; its shape is still checked.
    SignatureVerification,
    /// `signature.weak_algorithm` / `signature.unsupported_algorithm`: any SignatureMethod and
    /// DigestMethod pass the allow-list (SHA-1 included).
    AlgorithmAllowList,
    /// `signature.weak_key`: a pinned RSA key of any size may verify (`min_rsa_bits` 0).
    KeySize,
    /// `signature.certificate_expired`: an expired pinned certificate only warns, whatever
    /// `idp_cert_expiry` says.
    CertificateExpiry,
    /// `issuer.mismatch`: the Assertion's and Response's Issuer are not compared with the IdP's
    /// entity ID, nor with the IdP the request was sent to.
    Issuer,
    /// `request.browser_mismatch`: a response to a request started in another browser is
    /// accepted (login CSRF).
    BrowserBinding,
    /// `request.unknown_in_response_to`: an InResponseTo that names no outstanding request is
    /// accepted as if the response were unsolicited.
    InResponseTo,
    /// `request.unsolicited`: an unsolicited response is accepted even with `allow_unsolicited`
    /// off.
    Unsolicited,
    /// `subject.in_response_to_*`: the bearer SubjectConfirmationData's InResponseTo is not
    /// compared with the Response's.
    BearerInResponseTo,
    /// `structure.assertion_count`: the first Assertion child of the Response is used and any
    /// further Assertion is ignored.
    AssertionCount,
    /// `conditions.unsupported`: conditions the SP does not understand are ignored.
    ConditionKinds,
    /// `attribute.duplicate`: repeated Attributes are merged, whatever
    /// `merge_duplicate_attributes` says.
    DuplicateAttributes,
    /// `subject.name_id_empty`: an empty NameID is accepted.
    EmptyNameId,
    /// `decryption.failed` for AES-CBC: CBC data encryption is accepted, whatever `allow_cbc` says.
    CbcEncryption,
    /// `logout.unsigned`: an unsigned LogoutRequest is accepted, whatever
    /// `require_signed_logout_requests` says.
    LogoutSignatureRequired,
    /// `logout.signature_invalid`: a logout message's signature (query string or XML) is not
    /// verified; one must still be present.
    LogoutSignatureVerification,
    /// `logout.issuer_mismatch`: a logout message's Issuer is not compared with the IdP, nor a
    /// LogoutResponse's with the IdP the request went to.
    LogoutIssuer,
    /// `logout.destination_mismatch`: a logout message's Destination is not compared with the
    /// SP's `/saml/sls`.
    LogoutDestination,
    /// `logout.expired` / `logout.not_yet_valid`: a LogoutRequest's IssueInstant and NotOnOrAfter
    /// are not compared with the clock.
    LogoutTime,
    /// `logout.replayed`: LogoutRequest IDs are neither remembered nor looked up.
    LogoutReplay,
    /// `logout.unknown_session` by SessionIndex: a LogoutRequest ends every session of its NameID,
    /// whatever SessionIndex it names.
    LogoutSessionIndex,
}

impl Weakness {
    /// Every weakness.
    pub const ALL: &'static [Weakness] = <Weakness as strum::VariantArray>::VARIANTS;

    /// Its stable snake_case name (for reports).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

impl std::fmt::Display for Weakness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The checks an SP runs without. Empty (the default) is the real SP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Weaknesses(BTreeSet<Weakness>);

impl Weaknesses {
    /// No weakness: the real SP.
    pub fn none() -> Self {
        Self::default()
    }

    /// Exactly these weaknesses.
    pub fn of(weaknesses: impl IntoIterator<Item = Weakness>) -> Self {
        Self(weaknesses.into_iter().collect())
    }

    /// Whether `weakness` is on. Always false unless built with the `weakened` feature.
    pub fn has(&self, weakness: Weakness) -> bool {
        cfg!(feature = "weakened") && self.0.contains(&weakness)
    }

    /// Whether any weakness was asked for (honoured or not).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The weaknesses asked for.
    pub fn iter(&self) -> impl Iterator<Item = Weakness> + '_ {
        self.0.iter().copied()
    }

    /// Refuses a non-empty set in a build without the `weakened` feature, so that a production
    /// build never starts with a set it would silently ignore.
    pub fn check_build(&self) -> Result<(), String> {
        if self.is_empty() || cfg!(feature = "weakened") {
            return Ok(());
        }
        let names: Vec<&str> = self.iter().map(Weakness::name).collect();
        Err(format!(
            "weaknesses {names:?} were asked for, but this SP was built without the test-only `weakened` feature"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weaknesses_are_honoured_only_in_a_weakened_build() {
        let weak = Weaknesses::of([Weakness::Audience]);
        assert_eq!(weak.has(Weakness::Audience), cfg!(feature = "weakened"));
        assert!(!weak.has(Weakness::Destination));
        assert_eq!(weak.check_build().is_ok(), cfg!(feature = "weakened"));
        assert!(Weaknesses::none().check_build().is_ok());
    }

    #[test]
    fn names_are_snake_case_and_distinct() {
        assert_eq!(Weakness::BrowserBinding.name(), "browser_binding");
        let names: BTreeSet<&str> = Weakness::ALL.iter().map(|w| w.name()).collect();
        assert_eq!(names.len(), Weakness::ALL.len());
    }
}
