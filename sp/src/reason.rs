//! Why a SAML response was refused: one [`Reason`] per offence, each with a stable dotted code,
//! an HTTP status and a one-line summary, plus the [`Rejection`] value that carries the detail.
//!
//! The codes are an interface: scenario catalogues, audit logs and admins' runbooks match on them,
//! so a code is never renamed or reused. `docs/reason-codes.md` documents every code; a unit test
//! keeps the table and [`Reason::ALL`] in step.
//!
//! The browser sees only the code and the summary; [`Rejection::message`] (expected vs. received)
//! and [`RejectionContext`] (facts read from the *unverified* message) are for the log.

use serde::Serialize;

use crate::verify::Attribute;

/// Why a SAML response (or the login built on it) was refused.
///
/// Variants are named as a sentence about the offence. The dotted [`code`](Reason::code) is the
/// stable identifier; the first segment says which stage refused.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, strum::VariantArray)]
pub enum Reason {
    /// The encoded or decoded response is larger than the configured limit.
    InputExceedsSizeLimit,
    /// The `SAMLResponse` form value (or file) is not valid base64.
    InputIsNotBase64,
    /// The decoded bytes are not a well-formed UTF-8 XML document.
    InputIsNotWellFormedXml,
    /// The document carries a DOCTYPE (and so possibly entity declarations), which is refused
    /// before parsing.
    InputContainsDoctype,
    /// The document element is not `samlp:Response`.
    DocumentIsNotAResponse,
    /// The document does not contain exactly one `saml:Assertion`, as a direct child of the
    /// Response.
    ResponseDoesNotContainExactlyOneAssertion,
    /// Two ID-bearing elements (Response, Assertion, or any `xml:id`) share one ID value.
    IdValueIsDuplicated,
    /// A required element or attribute is missing, repeated, or holds a malformed value.
    RequiredElementMissingOrMalformed,
    /// The assertion is not encrypted, and the policy requires encrypted assertions
    /// (`require_encrypted_assertions`). (Replaces the retired
    /// `structure.encrypted_assertion_unsupported`: encrypted assertions are decrypted now.)
    AssertionIsNotEncrypted,
    /// The top-level `StatusCode` is not `Success`.
    StatusIsNotSuccess,
    /// An `EncryptedAssertion`, `EncryptedID` or `EncryptedAttribute` cannot be decrypted: no
    /// decryption key, a key it was not encrypted to, corrupt ciphertext or padding, an algorithm
    /// the policy does not allow, or plaintext that is not well-formed. One code for all of these,
    /// and one summary, so that the browser learns nothing about which (no padding oracle); the
    /// detail is in [`Rejection::message`] for the audit log.
    EncryptedElementCannotBeDecrypted,
    /// The Assertion has no `Issuer`.
    AssertionIssuerIsMissing,
    /// An `Issuer` differs from the configured IdP entity ID.
    IssuerIsNotTheConfiguredIdp,
    /// The Response is signed but has no `Destination`.
    SignedResponseLacksDestination,
    /// The Response `Destination` is not this SP's ACS URL.
    DestinationIsNotOurAcs,
    /// Neither the Assertion nor (when policy allows) the Response carries a signature.
    AssertionIsNotSigned,
    /// The Response element carries no signature and `require_signed_response` is on (the
    /// Assertion's own signature does not make up for it).
    ResponseIsNotSigned,
    /// A signature does not verify with any configured IdP certificate, or the signed content was
    /// altered.
    SignatureDoesNotVerify,
    /// A signature or digest uses SHA-1 and the policy does not allow it.
    SignatureUsesWeakAlgorithm,
    /// A signature or digest algorithm is not one this SP knows.
    SignatureUsesUnsupportedAlgorithm,
    /// A signature uses a canonicalization or transform other than exc-c14n and
    /// enveloped-signature.
    SignatureUsesForbiddenTransform,
    /// A signature does not reference exactly the element that carries it.
    SignatureReferencesAnotherElement,
    /// The pinned IdP key that verified (or every pinned key) is an RSA key shorter than
    /// `min_rsa_bits`.
    SignatureKeyIsTooWeak,
    /// The pinned IdP certificate that verified (or every pinned one) is outside its
    /// notBefore/notAfter at the verification instant, and `idp_cert_expiry = "refuse"`.
    SignatureCertificateIsExpired,
    /// The Assertion (or Response) is not yet valid: `NotBefore` or `IssueInstant` lies in the
    /// future beyond the allowed clock skew.
    AssertionIsNotYetValid,
    /// The Assertion's `Conditions/@NotOnOrAfter` has passed.
    AssertionHasExpired,
    /// The Assertion has no `AudienceRestriction`.
    AudienceRestrictionIsMissing,
    /// An `AudienceRestriction` does not name this SP's entity ID.
    AudienceIsNotThisSp,
    /// `Conditions` holds a condition this SP does not understand (a `saml:Condition` of some
    /// `xsi:type`, or a foreign element): SAML core §2.5.1.5 makes the assertion Indeterminate.
    ConditionIsNotUnderstood,
    /// The Assertion has no `Subject`.
    SubjectIsMissing,
    /// The Subject's `NameID` is empty or only XML whitespace: every such user would be one
    /// identity.
    NameIdIsEmpty,
    /// The Subject has no `SubjectConfirmation` with the bearer method.
    NoBearerSubjectConfirmation,
    /// The bearer `SubjectConfirmationData/@Recipient` is missing or is not this SP's ACS URL.
    RecipientIsNotOurAcs,
    /// The bearer `SubjectConfirmationData/@NotOnOrAfter` is missing or has passed.
    SubjectConfirmationHasExpired,
    /// The bearer `SubjectConfirmationData/@InResponseTo` differs from the Response's
    /// `InResponseTo`.
    SubjectConfirmationAnswersAnotherRequest,
    /// Two `Attribute` elements of the Assertion share one `Name`, and
    /// `merge_duplicate_attributes` is off: which values win would be a guess.
    AttributeIsRepeated,
    /// The Response has an `InResponseTo` (it claims to answer a request) but no signature covers
    /// one: the bearer `SubjectConfirmationData` of the signed Assertion has none and the Response
    /// is not signed. An unsolicited assertion would otherwise be movable onto any request.
    SolicitedResponseLacksSignedInResponseTo,
    /// `InResponseTo` names no request this SP has outstanding.
    InResponseToIsUnknown,
    /// The request the response answers was started by another browser (its binding cookie is
    /// missing or different): login CSRF, or a response carried to another browser.
    RequestWasStartedByAnotherBrowser,
    /// The response answers no request, and unsolicited (IdP-initiated) login is disabled.
    UnsolicitedResponseIsNotAllowed,
    /// This Assertion ID was already consumed (replay).
    AssertionWasAlreadyUsed,
    /// The configured e-mail attribute is absent from the Assertion.
    EmailAttributeIsMissing,
    /// The user's e-mail domain is not in the allowed list.
    EmailDomainIsNotAllowed,
    /// The user's groups or attributes grant no access under the configured rules.
    AccessIsDeniedByPolicy,
    /// The user does not exist locally and just-in-time provisioning is disabled.
    UserIsNotProvisioned,
    /// The matching local account exists but is not allowed to sign in through SAML.
    AccountIsNotAllowedToUseSso,
    /// Too many wrong passwords on the account-linking page; the link is locked.
    LinkIsLockedOut,
    /// The account-linking page was used after its pending link expired (or without one, or
    /// after another sign-in linked or provisioned its identity).
    LinkHasExpired,
    /// A recovery (password) login failed: unknown username, wrong password, an account without a
    /// password, or the right password of an account without an admin role. One code and one
    /// answer for all of these, so that the browser can tell neither which accounts exist nor
    /// whether a guessed password was right; the audit detail says which. (Replaces the retired
    /// `recovery.not_admin`.)
    RecoveryCredentialsAreWrong,
    /// A password-setup link (`/password/setup/{token}`) names no token this SP issued (or one
    /// replaced by a newer one for the same user).
    PasswordSetupTokenIsUnknown,
    /// A password-setup token was presented after `password_setup_ttl_secs`.
    PasswordSetupTokenHasExpired,
    /// A password-setup token already set a password: each sets one once.
    PasswordSetupTokenWasUsed,
    /// The password chosen on the password-setup page is shorter than the minimum; the token
    /// stays usable.
    PasswordSetupPasswordIsTooShort,
    /// A SAML response reached the ACS while SSO is switched off for the site (`sso_enabled =
    /// false`): everyone signs in with their password.
    SsoIsSwitchedOff,
    /// A response from an IdP that is staged (`enabled = false`), other than the answer to a test
    /// sign-in: a staged IdP signs nobody in until it goes live.
    IdpIsNotLive,
    /// Too many failed password attempts for this account or from this address: the attempt was
    /// refused without evaluating the password, until the lock-out ends.
    PasswordAttemptsAreThrottled,
    /// The HTTP-Redirect `SAMLRequest`/`SAMLResponse` is not valid raw DEFLATE data.
    InputIsNotValidDeflate,
    /// A logout message is not a `LogoutRequest`/`LogoutResponse`, lacks a required element or
    /// attribute, or its query string is ambiguous (a repeated parameter).
    LogoutMessageIsMalformed,
    /// An IdP-initiated `LogoutRequest` is not signed and `require_signed_logout_requests` is on.
    LogoutRequestIsUnsigned,
    /// The IdP's `LogoutResponse` is not signed.
    LogoutResponseIsUnsigned,
    /// A logout message's signature (query string or XML) does not verify with any pinned IdP
    /// certificate.
    LogoutSignatureDoesNotVerify,
    /// A logout message's `Issuer` is missing or is not the configured IdP.
    LogoutIssuerIsNotTheConfiguredIdp,
    /// A logout message's `Destination` is not this SP's `/saml/sls` URL.
    LogoutDestinationIsNotOurSls,
    /// A `LogoutRequest`'s `IssueInstant` lies in the future beyond the allowed clock skew.
    LogoutRequestIsNotYetValid,
    /// A `LogoutRequest`'s `NotOnOrAfter` has passed, or it was issued longer ago than
    /// `request_ttl_secs`.
    LogoutRequestHasExpired,
    /// This `LogoutRequest` ID was already processed (replay).
    LogoutRequestWasAlreadyUsed,
    /// A valid `LogoutRequest` names a NameID/SessionIndex with no live session here (nothing ended).
    LogoutRequestMatchesNoSession,
    /// A `LogoutResponse`'s `InResponseTo` names no outstanding LogoutRequest of this SP (unknown,
    /// already answered, or expired).
    LogoutResponseAnswersNoOutstandingRequest,
    /// The IdP's `LogoutResponse` reports a status other than Success.
    LogoutStatusIsNotSuccess,
    /// A verified assertion carries a NameID, SessionIndex, e-mail, name, login or group value
    /// longer than `limits.max_identity_field_bytes`, or more groups than `limits.max_groups`.
    IdentityExceedsSizeLimits,
    /// `POST /logout` without the logout form's token of the session (a cross-site request, or
    /// a stale page): nothing ends.
    LogoutFormLacksTheSessionToken,
}

impl Reason {
    /// Every reason, in check order (declaration order). Derived, so that no variant can be
    /// left out: docs and tests use it to keep the catalogue complete.
    pub const ALL: &'static [Reason] = <Reason as strum::VariantArray>::VARIANTS;

    /// The stable dotted code, e.g. `signature.invalid`.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::InputExceedsSizeLimit => "input.too_large",
            Reason::InputIsNotBase64 => "input.not_base64",
            Reason::InputIsNotWellFormedXml => "input.not_xml",
            Reason::InputContainsDoctype => "input.dtd_forbidden",
            Reason::DocumentIsNotAResponse => "structure.not_a_response",
            Reason::ResponseDoesNotContainExactlyOneAssertion => "structure.assertion_count",
            Reason::IdValueIsDuplicated => "structure.duplicate_id",
            Reason::RequiredElementMissingOrMalformed => "structure.malformed",
            Reason::AssertionIsNotEncrypted => "encryption.required",
            Reason::EncryptedElementCannotBeDecrypted => "decryption.failed",
            Reason::StatusIsNotSuccess => "status.not_success",
            Reason::AssertionIssuerIsMissing => "issuer.missing",
            Reason::IssuerIsNotTheConfiguredIdp => "issuer.mismatch",
            Reason::SignedResponseLacksDestination => "destination.missing",
            Reason::DestinationIsNotOurAcs => "destination.mismatch",
            Reason::AssertionIsNotSigned => "signature.missing",
            Reason::ResponseIsNotSigned => "signature.response_missing",
            Reason::SignatureDoesNotVerify => "signature.invalid",
            Reason::SignatureUsesWeakAlgorithm => "signature.weak_algorithm",
            Reason::SignatureUsesUnsupportedAlgorithm => "signature.unsupported_algorithm",
            Reason::SignatureUsesForbiddenTransform => "signature.forbidden_transform",
            Reason::SignatureReferencesAnotherElement => "signature.reference_mismatch",
            Reason::SignatureKeyIsTooWeak => "signature.weak_key",
            Reason::SignatureCertificateIsExpired => "signature.certificate_expired",
            Reason::AssertionIsNotYetValid => "time.not_yet_valid",
            Reason::AssertionHasExpired => "time.expired",
            Reason::AudienceRestrictionIsMissing => "audience.missing",
            Reason::AudienceIsNotThisSp => "audience.mismatch",
            Reason::ConditionIsNotUnderstood => "conditions.unsupported",
            Reason::SubjectIsMissing => "subject.missing",
            Reason::NameIdIsEmpty => "subject.name_id_empty",
            Reason::NoBearerSubjectConfirmation => "subject.no_bearer_confirmation",
            Reason::RecipientIsNotOurAcs => "recipient.mismatch",
            Reason::SubjectConfirmationHasExpired => "subject.confirmation_expired",
            Reason::SubjectConfirmationAnswersAnotherRequest => "subject.in_response_to_mismatch",
            Reason::AttributeIsRepeated => "attribute.duplicate",
            Reason::SolicitedResponseLacksSignedInResponseTo => "subject.in_response_to_missing",
            Reason::InResponseToIsUnknown => "request.unknown_in_response_to",
            Reason::RequestWasStartedByAnotherBrowser => "request.browser_mismatch",
            Reason::UnsolicitedResponseIsNotAllowed => "request.unsolicited",
            Reason::AssertionWasAlreadyUsed => "replay.assertion_reused",
            Reason::EmailAttributeIsMissing => "attribute.email_missing",
            Reason::EmailDomainIsNotAllowed => "email.domain_not_allowed",
            Reason::AccessIsDeniedByPolicy => "access.denied",
            Reason::UserIsNotProvisioned => "user.not_provisioned",
            Reason::AccountIsNotAllowedToUseSso => "account.sso_not_allowed",
            Reason::LinkIsLockedOut => "link.locked_out",
            Reason::LinkHasExpired => "link.expired",
            Reason::RecoveryCredentialsAreWrong => "recovery.bad_credentials",
            Reason::PasswordSetupTokenIsUnknown => "password_setup.unknown",
            Reason::PasswordSetupTokenHasExpired => "password_setup.expired",
            Reason::PasswordSetupTokenWasUsed => "password_setup.used",
            Reason::PasswordSetupPasswordIsTooShort => "password_setup.too_short",
            Reason::SsoIsSwitchedOff => "sso.disabled",
            Reason::IdpIsNotLive => "idp.not_live",
            Reason::PasswordAttemptsAreThrottled => "auth.throttled",
            Reason::InputIsNotValidDeflate => "input.bad_deflate",
            Reason::LogoutMessageIsMalformed => "logout.malformed",
            Reason::LogoutRequestIsUnsigned => "logout.unsigned",
            Reason::LogoutResponseIsUnsigned => "logout.response_unsigned",
            Reason::LogoutSignatureDoesNotVerify => "logout.signature_invalid",
            Reason::LogoutIssuerIsNotTheConfiguredIdp => "logout.issuer_mismatch",
            Reason::LogoutDestinationIsNotOurSls => "logout.destination_mismatch",
            Reason::LogoutRequestIsNotYetValid => "logout.not_yet_valid",
            Reason::LogoutRequestHasExpired => "logout.expired",
            Reason::LogoutRequestWasAlreadyUsed => "logout.replayed",
            Reason::LogoutRequestMatchesNoSession => "logout.unknown_session",
            Reason::LogoutResponseAnswersNoOutstandingRequest => "logout.unknown_in_response_to",
            Reason::LogoutStatusIsNotSuccess => "logout.status_not_success",
            Reason::IdentityExceedsSizeLimits => "identity.too_large",
            Reason::LogoutFormLacksTheSessionToken => "logout.csrf_token_invalid",
        }
    }

    /// The reason whose [`code`](Reason::code) is `code`, if any.
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.iter().copied().find(|r| r.code() == code)
    }

    /// HTTP status for the refusal page: 400 for unreadable input (`input.*`), 429 for
    /// `auth.throttled`, 403 otherwise.
    pub fn http_status(&self) -> u16 {
        if self.code().starts_with("input.") {
            400
        } else if *self == Reason::PasswordAttemptsAreThrottled {
            429
        } else {
            403
        }
    }

    /// A short, user-facing sentence. Safe to show in a browser: it never contains message data.
    pub fn summary(&self) -> &'static str {
        match self {
            Reason::InputExceedsSizeLimit => "The SAML response is too large.",
            Reason::InputIsNotBase64 => "The SAML response is not valid base64.",
            Reason::InputIsNotWellFormedXml => "The SAML response is not well-formed XML.",
            Reason::InputContainsDoctype => "The SAML response contains a forbidden DOCTYPE.",
            Reason::DocumentIsNotAResponse => "The message is not a SAML Response.",
            Reason::ResponseDoesNotContainExactlyOneAssertion => {
                "The SAML response must contain exactly one assertion."
            }
            Reason::IdValueIsDuplicated => "The SAML response contains duplicate IDs.",
            Reason::RequiredElementMissingOrMalformed => {
                "The SAML response is missing a required element or has a malformed value."
            }
            Reason::AssertionIsNotEncrypted => "The assertion must be encrypted to this service.",
            Reason::EncryptedElementCannotBeDecrypted => {
                "The encrypted part of the SAML response could not be decrypted."
            }
            Reason::StatusIsNotSuccess => "The identity provider reported that login failed.",
            Reason::AssertionIssuerIsMissing => "The assertion does not name its issuer.",
            Reason::IssuerIsNotTheConfiguredIdp => {
                "The response was issued by an unexpected identity provider."
            }
            Reason::SignedResponseLacksDestination => "The signed response has no Destination.",
            Reason::DestinationIsNotOurAcs => "The response was sent to another destination.",
            Reason::AssertionIsNotSigned => "The assertion is not signed.",
            Reason::ResponseIsNotSigned => "The SAML response itself is not signed.",
            Reason::SignatureDoesNotVerify => "The signature is not valid.",
            Reason::SignatureUsesWeakAlgorithm => "The signature uses a weak algorithm (SHA-1).",
            Reason::SignatureUsesUnsupportedAlgorithm => {
                "The signature uses an unsupported algorithm."
            }
            Reason::SignatureUsesForbiddenTransform => "The signature uses a forbidden transform.",
            Reason::SignatureReferencesAnotherElement => {
                "The signature does not cover the element it is attached to."
            }
            Reason::SignatureKeyIsTooWeak => "The identity provider's signing key is too weak.",
            Reason::SignatureCertificateIsExpired => {
                "The identity provider's signing certificate is expired or not yet valid."
            }
            Reason::AssertionIsNotYetValid => "The assertion is not yet valid.",
            Reason::AssertionHasExpired => "The assertion has expired.",
            Reason::AudienceRestrictionIsMissing => "The assertion has no audience restriction.",
            Reason::AudienceIsNotThisSp => "The assertion is intended for another service.",
            Reason::ConditionIsNotUnderstood => {
                "The assertion carries a condition this service does not understand."
            }
            Reason::SubjectIsMissing => "The assertion has no subject.",
            Reason::NameIdIsEmpty => "The assertion names no user (empty NameID).",
            Reason::NoBearerSubjectConfirmation => "The assertion has no bearer confirmation.",
            Reason::RecipientIsNotOurAcs => "The assertion is addressed to another recipient.",
            Reason::SubjectConfirmationHasExpired => "The subject confirmation has expired.",
            Reason::SubjectConfirmationAnswersAnotherRequest => {
                "The assertion answers a different request than the response."
            }
            Reason::AttributeIsRepeated => "The assertion repeats an attribute.",
            Reason::SolicitedResponseLacksSignedInResponseTo => {
                "The assertion does not say which login request it answers."
            }
            Reason::InResponseToIsUnknown => "The response answers an unknown login request.",
            Reason::RequestWasStartedByAnotherBrowser => {
                "This login was started in another browser. Start again from this one."
            }
            Reason::UnsolicitedResponseIsNotAllowed => {
                "Login must start at this service (unsolicited responses are disabled)."
            }
            Reason::AssertionWasAlreadyUsed => "This login response was already used.",
            Reason::EmailAttributeIsMissing => "The identity provider sent no e-mail address.",
            Reason::EmailDomainIsNotAllowed => "Your e-mail domain is not allowed here.",
            Reason::AccessIsDeniedByPolicy => "Your account is not allowed to use this service.",
            Reason::UserIsNotProvisioned => "Your account does not exist in this service.",
            Reason::AccountIsNotAllowedToUseSso => {
                "Your account is not configured to use SAML single sign-on."
            }
            Reason::LinkIsLockedOut => {
                "Too many wrong passwords: account linking is locked. Contact your administrator."
            }
            Reason::LinkHasExpired => "The account-linking step has expired. Sign in again.",
            Reason::SsoIsSwitchedOff => {
                "Single sign-on is switched off for this site: sign in with your password."
            }
            Reason::IdpIsNotLive => {
                "This identity provider is not enabled for sign-in yet (it is being tested)."
            }
            Reason::RecoveryCredentialsAreWrong => {
                "The username or password is wrong, or this account may not use the recovery sign-in (administrators only)."
            }
            Reason::PasswordSetupTokenIsUnknown => {
                "This password-setup link is not valid. Ask an administrator for a new one."
            }
            Reason::PasswordSetupTokenHasExpired => {
                "This password-setup link has expired. Ask an administrator for a new one."
            }
            Reason::PasswordSetupTokenWasUsed => {
                "This password-setup link was already used. Ask an administrator for a new one."
            }
            Reason::PasswordSetupPasswordIsTooShort => {
                "The password is too short: choose one of at least 12 characters."
            }
            Reason::PasswordAttemptsAreThrottled => {
                "Too many failed password attempts. Wait a while before trying again."
            }
            Reason::InputIsNotValidDeflate => "The logout message could not be decompressed.",
            Reason::LogoutMessageIsMalformed => "The logout message is malformed.",
            Reason::LogoutRequestIsUnsigned => "The logout request is not signed.",
            Reason::LogoutResponseIsUnsigned => "The logout response is not signed.",
            Reason::LogoutSignatureDoesNotVerify => {
                "The signature of the logout message is not valid."
            }
            Reason::LogoutIssuerIsNotTheConfiguredIdp => {
                "The logout message comes from an unexpected identity provider."
            }
            Reason::LogoutDestinationIsNotOurSls => {
                "The logout message was sent to another destination."
            }
            Reason::LogoutRequestIsNotYetValid => "The logout request is not yet valid.",
            Reason::LogoutRequestHasExpired => "The logout request has expired.",
            Reason::LogoutRequestWasAlreadyUsed => "This logout request was already used.",
            Reason::LogoutRequestMatchesNoSession => "No session matches the logout request.",
            Reason::LogoutResponseAnswersNoOutstandingRequest => {
                "The logout response answers an unknown logout request."
            }
            Reason::LogoutStatusIsNotSuccess => {
                "The identity provider reported that logout failed."
            }
            Reason::IdentityExceedsSizeLimits => {
                "The identity provider sent a value too long for this service."
            }
            Reason::LogoutFormLacksTheSessionToken => {
                "The sign-out request did not come from this site's sign-out form; you are still signed in."
            }
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// Best-effort facts read from the message before (or without) verification, for the audit log
/// only. Never use them for a decision: nothing here is authenticated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RejectionContext {
    /// The Assertion's `Issuer` (or the Response's when the Assertion has none).
    pub issuer: Option<String>,
    /// The Assertion's `Subject/NameID`.
    pub subject: Option<String>,
    /// The Assertion's attributes (groups are attributes too), as sent.
    pub groups_or_attributes: Vec<Attribute>,
    /// The Response's `InResponseTo`. Unverified: the SP uses it only to end a session whose
    /// renewal failed, never to grant anything.
    pub in_response_to: Option<String>,
    /// Algorithms, what was signed and encrypted, validity window, audiences and attribute names,
    /// as far as the message could be read (what `samlconf verify` reports).
    pub facts: crate::verify::MessageFacts,
}

/// A refusal: the reason, a specific message (expected vs. received) and unverified context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct Rejection {
    /// Why.
    pub reason: Reason,
    /// The specific detail, e.g. "Audience is [\"x\"], expected \"y\"". For logs, not browsers:
    /// it may quote attacker-controlled text.
    pub message: String,
    /// What the browser may see beyond the reason's summary, when the rejection site chose to
    /// say more (e.g. the audience this SP expects). Never attacker-controlled text, and never for
    /// decryption, password or throttling reasons (the renderer, `web::refusal`, drops it there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_detail: Option<String>,
    /// Facts read from the unverified message, for the audit log.
    /// Boxed: rejections travel in `Result`s everywhere, and the context is the bulky part.
    pub context: Box<RejectionContext>,
}

impl Rejection {
    /// A rejection with an empty context.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Rejection {
            reason,
            message: message.into(),
            public_detail: None,
            context: Box::default(),
        }
    }

    /// The same rejection with a browser-safe `detail` to show next to the summary.
    pub fn with_public_detail(mut self, detail: impl Into<String>) -> Self {
        self.public_detail = Some(detail.into());
        self
    }

    /// The same rejection with `context` attached.
    pub fn with_context(mut self, context: RejectionContext) -> Self {
        self.context = Box::new(context);
        self
    }

    /// Shorthand for `self.reason.code()`.
    pub fn code(&self) -> &'static str {
        self.reason.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const DOC: &str = include_str!("../docs/reason-codes.md");

    /// Codes listed in the first column of the table in `docs/reason-codes.md`.
    fn documented_codes() -> Vec<String> {
        DOC.lines()
            .filter_map(|l| l.trim().strip_prefix('|'))
            .filter_map(|l| l.split('|').next())
            .map(|c| c.trim().trim_matches('`').to_owned())
            .filter(|c| c.contains('.') && !c.starts_with('-'))
            .collect()
    }

    #[test]
    fn every_reason_code_is_documented_and_every_documented_code_exists() {
        let documented: Vec<String> = documented_codes();
        let doc_set: BTreeSet<&str> = documented.iter().map(String::as_str).collect();
        assert_eq!(
            doc_set.len(),
            documented.len(),
            "a code is listed twice in reason-codes.md"
        );
        let all: BTreeSet<&str> = Reason::ALL.iter().map(Reason::code).collect();
        let missing: Vec<_> = all.difference(&doc_set).collect();
        let unknown: Vec<_> = doc_set.difference(&all).collect();
        assert!(
            missing.is_empty(),
            "codes missing from docs/reason-codes.md: {missing:?}"
        );
        assert!(
            unknown.is_empty(),
            "docs/reason-codes.md lists unknown codes: {unknown:?}"
        );
    }

    #[test]
    fn documented_http_status_matches_the_code() {
        for line in DOC.lines().filter(|l| l.trim_start().starts_with("| `")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let code = cells[1].trim_matches('`');
            let reason = Reason::from_code(code).expect("listed code exists");
            assert_eq!(
                cells[2],
                reason.http_status().to_string(),
                "HTTP status of {code}"
            );
        }
    }

    #[test]
    fn codes_are_unique_dotted_and_stable_in_shape() {
        let mut seen = BTreeSet::new();
        for r in Reason::ALL {
            let c = r.code();
            assert!(seen.insert(c), "duplicate code {c}");
            assert!(
                c.split('.').count() == 2
                    && c.chars().all(|ch| ch.is_ascii_lowercase()
                        || ch.is_ascii_digit()
                        || ch == '.'
                        || ch == '_'),
                "bad code shape {c}"
            );
            assert!(!r.summary().is_empty());
            assert_eq!(Reason::from_code(c), Some(*r));
        }
    }

    #[test]
    fn input_codes_are_400_throttling_429_and_the_rest_403() {
        assert_eq!(Reason::InputIsNotBase64.http_status(), 400);
        assert_eq!(Reason::SignatureDoesNotVerify.http_status(), 403);
        assert_eq!(Reason::UserIsNotProvisioned.http_status(), 403);
        assert_eq!(Reason::PasswordAttemptsAreThrottled.http_status(), 429);
    }
}
