//! The verifier: turns the bytes of a SAML Response into a [`VerifiedResponse`] or a
//! [`Rejection`] with a stable reason code.
//!
//! # One parse tree
//!
//! The bytes are parsed once by libxml2; xmlsec verifies signatures on that same tree; claims are
//! read only from the element that the verified reference resolves to (proved by pointer
//! identity, see [`dsig`]). There is no second parser that could see a different document.
//!
//! # Check order
//!
//! Each stage runs only if the previous ones passed, so the reported code is the first offence in
//! this order (later stages may also raise `structure.malformed` for a required value they read):
//!
//! 1. **input** — size limit, UTF-8, no DOCTYPE (refused before parsing, so no entities),
//!    well-formed XML (no recovery, no network): `input.*`.
//! 2. **structure** — root is `samlp:Response`; either exactly one `saml:Assertion` that is a
//!    direct child of the Response, or exactly one `saml:EncryptedAssertion` (a direct child) and
//!    no other (encrypted) assertion anywhere; further (encrypted) assertions only inside that
//!    Assertion's own `saml:Advice` (SAML core §2.3.3), never read and never a signature target;
//!    no duplicate ID (`ID` on the Response and on every Assertion, nested ones included, any
//!    `xml:id`, any `ID` attribute in a namespace); the Response's children only those of its
//!    schema, in SAML's namespaces (so no look-alike `Assertion`); `ID` declared as an XML ID
//!    only on the root Response and its one Assertion;
//!    required Version/ID/IssueInstant: `structure.*`. A plaintext Assertion while
//!    `require_encrypted_assertions`: `encryption.required`.
//! 3. **status** — top-level StatusCode is Success: `status.not_success` (checked first of all,
//!    since a failure status carries no assertion).
//!
//!    **decryption** ([`decrypt`], between status and signatures) — an EncryptedAssertion is
//!    decrypted in place with the SP's key, and must hold exactly one Assertion; the structure
//!    checks then run on the decrypted tree. A Response signature covers the ciphertext, so it is
//!    verified first, on the message as received. Any failure: `decryption.failed`, one code for
//!    every cause.
//!
//! 4. **signatures** — shape of each `ds:Signature` (one SignedInfo with one Reference to its
//!    parent's ID, exc-c14n, allowed algorithms and transforms), then xmlsec with the pinned certificate(s) only; the
//!    Assertion must be signed, or the Response when `accept_response_signature`: `signature.*`.
//!    Before xmlsec, each pinned certificate is judged ([`pinned`]): an RSA key under
//!    `min_rsa_bits` is `signature.weak_key`, a certificate outside its validity at `now` is
//!    `signature.certificate_expired` with `idp_cert_expiry = "refuse"` (else a warning); when
//!    none is usable xmlsec never runs, otherwise the one that verified is judged.
//!    An encrypted Assertion needs the IdP's signature like any other (anyone can encrypt to the
//!    SP's public key). Then `EncryptedID` and `EncryptedAttribute` inside the verified Assertion
//!    are decrypted (the signature covers their ciphertext): `decryption.failed`.
//! 5. **issuer / destination** — `issuer.*`, `destination.*`.
//! 6. **time** — IssueInstants no further ahead of now than the skew plus the IdP's backdating of
//!    NotBefore (at most 10 minutes, `checks::MAX_NOT_BEFORE_BACKDATE`), the Assertion issued
//!    before its NotOnOrAfter, then Conditions NotBefore/NotOnOrAfter with the skew: `time.*`.
//! 7. **audience and conditions** — `audience.*`; then every other condition must be OneTimeUse
//!    (the router's replay cache) or a well-formed ProxyRestriction (satisfied: this SP issues no
//!    assertions), else `conditions.unsupported` (SAML core §2.5.1.5: Indeterminate).
//! 8. **subject** — Subject, bearer confirmation, Recipient, NotOnOrAfter, InResponseTo (equal
//!    to the Response's, and present when the Response has one unless the Response is signed):
//!    `subject.*`, `recipient.mismatch`; a NameID that is empty after trimming XML whitespace
//!    (only space, tab, CR, LF are ever trimmed): `subject.name_id_empty`.
//! 9. **attributes** — one Attribute per Name (`attribute.duplicate`), unless
//!    `merge_duplicate_attributes` merges their values.
//!
//! `InResponseTo` against the SP's outstanding requests is [`check_in_response_to`], called by the
//! router with its store. Replay, e-mail, access and provisioning are the router's.
//!
//! Everything runs synchronously on the caller's thread (`libxml::Document` is not `Send`); call
//! from `spawn_blocking`.

pub(crate) mod checks;
mod decode;
pub mod decrypt;
pub mod facts;
// `pub(crate)` for single logout (`crate::slo`), which verifies logout messages the same way.
pub(crate) mod dsig;
pub mod pinned;
pub(crate) mod tree;

use libxml::parser::{Parser, ParserOptions};
use libxml::readonly::RoNode;
use libxml::tree::Document;
use serde::Serialize;
use time::OffsetDateTime;

use crate::reason::{Reason, Rejection, RejectionContext};
use crate::weakness::{Weakness, Weaknesses};
use checks::SignatureShape;
use tree::{DS, SAML, SAMLP, at_most_one, attr, children, is, required_attr, simple_text};

pub use decode::{decode_file_input, decode_post_binding, decode_post_binding_with_limit};
pub use decrypt::DecryptionKey;
pub use facts::{Addressing, EncryptedParts, MessageFacts, read_addressing};

/// Default limit on the decoded response size: 512 KiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 512 * 1024;
/// Default allowed clock skew: 120 s.
pub const DEFAULT_CLOCK_SKEW: time::Duration = time::Duration::seconds(120);

/// What the verifier requires of a response. Built by the SP from its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// This SP's entity ID: must appear in every AudienceRestriction.
    pub sp_entity_id: String,
    /// This SP's ACS URL: the Destination and the bearer Recipient.
    pub acs_url: String,
    /// The IdP's entity ID; when set, every Issuer must equal it.
    pub idp_entity_id: Option<String>,
    /// Pinned IdP signing certificates (PEM), tried in order (rotation). KeyInfo in the message is
    /// never used.
    pub idp_certs_pem: Vec<String>,
    /// Further trusted IdPs: when the Assertion's Issuer names one of them, its entity ID and
    /// certificates take the place of `idp_entity_id` and `idp_certs_pem`.
    pub other_idps: Vec<TrustedIdp>,
    /// Allowed clock difference with the IdP (default 120 s).
    pub clock_skew: time::Duration,
    /// Accepted SignatureMethod URIs besides RSA-SHA1 (default: RSA-SHA256/384/512). A method
    /// outside this list is `signature.unsupported_algorithm`, or `signature.weak_algorithm` if weak.
    pub signature_algorithms: Vec<String>,
    /// Accepted DigestMethod URIs besides SHA-1 (default: SHA-256/384/512).
    pub digest_algorithms: Vec<String>,
    /// Also accept RSA-SHA1 signatures and SHA-1 digests (default false).
    pub allow_sha1: bool,
    /// A valid Response signature suffices when the Assertion is unsigned (default false).
    pub accept_response_signature: bool,
    /// Refuse a Response element without a signature, even when the Assertion is signed
    /// (default false): `signature.response_missing`.
    pub require_signed_response: bool,
    /// Limit on the decoded response size (default 512 KiB).
    pub max_response_bytes: usize,
    /// The SP's decryption keys, tried in order (rotation). None: an encrypted element is
    /// `decryption.failed`.
    pub decryption_keys: Vec<DecryptionKey>,
    /// Refuse a plaintext Assertion with `encryption.required` (default false).
    pub require_encrypted_assertions: bool,
    /// Also accept RSA PKCS#1 v1.5 key transport (default false: RSA-OAEP only).
    pub allow_rsa15: bool,
    /// Also accept AES-CBC data encryption (default false: AES-GCM only). CBC is malleable, so a
    /// GCM ciphertext relabelled as CBC becomes a decryption oracle ("One Bad Apple").
    pub allow_cbc: bool,
    /// Smallest RSA modulus, in bits, of a pinned IdP key that may verify (default 2048):
    /// `signature.weak_key`.
    pub min_rsa_bits: u32,
    /// What a pinned certificate outside its notBefore/notAfter at `now` means (default warn).
    pub idp_cert_expiry: CertificateExpiry,
    /// Merge the values of Attributes that repeat a Name, in document order (default false:
    /// `attribute.duplicate`).
    pub merge_duplicate_attributes: bool,
    /// Checks turned off for tests only (see [`crate::weakness`]); never from configuration, and
    /// honoured only in a build with the `weakened` feature. Empty by default.
    pub weaknesses: Weaknesses,
}

/// Default smallest RSA modulus of a pinned IdP key: 2048 bits (NIST SP 800-131A).
pub const DEFAULT_MIN_RSA_BITS: u32 = 2048;

/// What a pinned IdP certificate outside its validity period means (`idp_cert_expiry`).
///
/// A pinned key is trusted because it is pinned, not because of its certificate, so many IdPs keep
/// signing with an expired self-signed certificate: the default only warns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CertificateExpiry {
    /// Accept, and report the expiry (an audit warning `signature.certificate_expired`).
    #[default]
    Warn,
    /// Refuse with `signature.certificate_expired`.
    Refuse,
}

/// An IdP and its pinned signing certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedIdp {
    pub entity_id: String,
    pub certs_pem: Vec<String>,
}

impl VerifyPolicy {
    /// The policy for a message whose (unverified) Issuer is `issuer`. The Issuer only selects
    /// which pinned certificates to try; it is checked again as signed content afterwards, and
    /// an unknown Issuer gets the default IdP (and so fails the signature or issuer check).
    pub fn for_issuer(&self, issuer: Option<&str>) -> std::borrow::Cow<'_, VerifyPolicy> {
        match issuer.and_then(|i| self.other_idps.iter().find(|idp| idp.entity_id == i)) {
            Some(idp) => std::borrow::Cow::Owned(VerifyPolicy {
                idp_entity_id: Some(idp.entity_id.clone()),
                idp_certs_pem: idp.certs_pem.clone(),
                other_idps: Vec::new(),
                ..self.clone()
            }),
            None => std::borrow::Cow::Borrowed(self),
        }
    }

    /// A policy with the defaults: 120 s skew, no SHA-1, Assertion signature required, 512 KiB.
    pub fn new(
        sp_entity_id: impl Into<String>,
        acs_url: impl Into<String>,
        idp_certs_pem: Vec<String>,
    ) -> Self {
        VerifyPolicy {
            sp_entity_id: sp_entity_id.into(),
            acs_url: acs_url.into(),
            idp_entity_id: None,
            idp_certs_pem,
            other_idps: Vec::new(),
            clock_skew: DEFAULT_CLOCK_SKEW,
            signature_algorithms: [checks::RSA_SHA256, checks::RSA_SHA384, checks::RSA_SHA512]
                .map(String::from)
                .to_vec(),
            digest_algorithms: [checks::SHA256, checks::SHA384, checks::SHA512]
                .map(String::from)
                .to_vec(),
            allow_sha1: false,
            accept_response_signature: false,
            require_signed_response: false,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            decryption_keys: Vec::new(),
            require_encrypted_assertions: false,
            allow_rsa15: false,
            allow_cbc: false,
            min_rsa_bits: DEFAULT_MIN_RSA_BITS,
            idp_cert_expiry: CertificateExpiry::Warn,
            merge_duplicate_attributes: false,
            weaknesses: Weaknesses::none(),
        }
    }

    /// Checks the configuration itself (for start-up): at least one certificate, each loadable.
    pub fn validate(&self) -> Result<(), String> {
        if self.idp_certs_pem.is_empty() {
            return Err("no IdP signing certificate is configured".into());
        }
        for key in &self.decryption_keys {
            key.check()?;
        }
        dsig::check_certificates(&self.idp_certs_pem)
    }
}

/// Which element(s) carried a verified signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignedElement {
    /// Only the Assertion.
    Assertion,
    /// Only the Response (accepted because `accept_response_signature`).
    Response,
    /// Both, each verified.
    Both,
}

/// Facts about the signature that was relied on (the Assertion's when it is signed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureFacts {
    /// Which element(s) were signed and verified.
    pub signed_element: SignedElement,
    /// SignatureMethod algorithm URI.
    pub signature_algorithm: String,
    /// DigestMethod algorithm URI.
    pub digest_algorithm: String,
    /// Index in `VerifyPolicy::idp_certs_pem` of the certificate that verified it (rotation).
    pub certificate_index: usize,
    /// That certificate is outside its validity period and `idp_cert_expiry = "warn"`: the
    /// detail of the audit warning `signature.certificate_expired`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_warning: Option<String>,
}

/// A SAML attribute as sent: Name, FriendlyName and the text of each AttributeValue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribute {
    /// `Name`.
    pub name: String,
    /// `FriendlyName`.
    pub friendly_name: Option<String>,
    /// Text of each `AttributeValue`, in order.
    pub values: Vec<String>,
}

/// A response whose Assertion is signed by a pinned IdP key and passed every check. All
/// assertion-level fields come from the verified Assertion; the Response-level fields
/// (`response_id`, `destination`) are covered by a signature only when
/// `signature.signed_element` is `Response` or `Both`, and were checked against policy.
/// `in_response_to` is always signed content: equal to the accepted bearer
/// SubjectConfirmationData's, or read from a verified Response signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedResponse {
    /// Response `ID`.
    pub response_id: String,
    /// Response `InResponseTo`, present only when a signature covers it (the bearer
    /// SubjectConfirmationData's, or the signed Response's); check with [`check_in_response_to`].
    pub in_response_to: Option<String>,
    /// Response `Destination` (equal to the ACS when present).
    pub destination: Option<String>,
    /// Assertion `Issuer`.
    pub issuer: String,
    /// Assertion `ID` (the replay-cache key).
    pub assertion_id: String,
    /// `Subject/NameID` text.
    pub name_id: Option<String>,
    /// `Subject/NameID/@Format`.
    pub name_id_format: Option<String>,
    /// `AuthnStatement/@SessionIndex`.
    pub session_index: Option<String>,
    /// Assertion `IssueInstant`.
    #[serde(with = "time::serde::rfc3339")]
    pub issue_instant: OffsetDateTime,
    /// `AuthnStatement/@AuthnInstant`.
    #[serde(with = "time::serde::rfc3339")]
    pub authn_instant: OffsetDateTime,
    /// `AuthnStatement/@SessionNotOnOrAfter`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub session_not_on_or_after: Option<OffsetDateTime>,
    /// `Conditions/@NotBefore`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_before: Option<OffsetDateTime>,
    /// `Conditions/@NotOnOrAfter` (keep the replay-cache entry until then).
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_on_or_after: Option<OffsetDateTime>,
    /// The latest `NotOnOrAfter` of the bearer `SubjectConfirmationData` (the replay cache keeps
    /// the assertion until then too).
    #[serde(with = "time::serde::rfc3339::option")]
    pub bearer_not_on_or_after: Option<OffsetDateTime>,
    /// Conditions holds `<saml:OneTimeUse/>` (SAML core §2.5.1.5): the SP must never accept this
    /// assertion again (see the ACS's replay cache).
    pub one_time_use: bool,
    /// Every `Audience` of every AudienceRestriction.
    pub audiences: Vec<String>,
    /// Every attribute of every AttributeStatement.
    pub attributes: Vec<Attribute>,
    /// Which signature was relied on.
    pub signature: SignatureFacts,
    /// Which parts arrived encrypted (and were decrypted with the SP's key).
    pub encrypted: EncryptedParts,
}

impl VerifiedResponse {
    /// The attribute whose `Name` is `name`, or failing that whose `FriendlyName` is.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name).or_else(|| {
            self.attributes
                .iter()
                .find(|a| a.friendly_name.as_deref() == Some(name))
        })
    }

    /// The values of [`attribute`](Self::attribute)`(name)`, empty when absent.
    pub fn attribute_values(&self, name: &str) -> &[String] {
        self.attribute(name).map_or(&[], |a| a.values.as_slice())
    }

    /// The first value of [`attribute`](Self::attribute)`(name)`.
    pub fn first_attribute_value(&self, name: &str) -> Option<&str> {
        self.attribute_values(name).first().map(String::as_str)
    }
}

/// Checks the Response's `InResponseTo` against the request the SP expects.
///
/// `expected` is the ID of the outstanding AuthnRequest this browser started (or `None` if it has
/// none). A response without `InResponseTo` is unsolicited (IdP-initiated) and passes only when
/// `allow_unsolicited`.
pub fn check_in_response_to(
    v: &VerifiedResponse,
    expected: Option<&str>,
    allow_unsolicited: bool,
) -> Result<(), Rejection> {
    match (v.in_response_to.as_deref(), expected) {
        (None, _) if allow_unsolicited => Ok(()),
        (None, _) => Err(Rejection::new(
            Reason::UnsolicitedResponseIsNotAllowed,
            "the Response has no InResponseTo (IdP-initiated) and unsolicited responses are disabled",
        )),
        (Some(got), Some(want)) if got == want => Ok(()),
        (Some(got), want) => Err(Rejection::new(
            Reason::InResponseToIsUnknown,
            format!("InResponseTo is {got:?}, but the outstanding request is {want:?}"),
        )),
    }
}

/// Verifies a SAML Response (decoded XML bytes) against `policy` at instant `now`.
pub fn verify_response(
    xml: &[u8],
    policy: &VerifyPolicy,
    now: OffsetDateTime,
) -> Result<VerifiedResponse, Rejection> {
    // 1. input
    if xml.len() > policy.max_response_bytes {
        return Err(Rejection::new(
            Reason::InputExceedsSizeLimit,
            format!(
                "response is {} bytes, limit is {}",
                xml.len(),
                policy.max_response_bytes
            ),
        ));
    }
    let (doc, root) = parse_document(xml)?;
    // A failure status carries no assertion (SAML core §3.2.2.2), so it is reported as itself
    // (e.g. NoPassive to a passive renewal) before the structure checks would call it malformed.
    if is(root, SAMLP, "Response") {
        checks::check_status(root).map_err(|r| {
            r.with_context(RejectionContext {
                issuer: children(root, SAML, "Issuer")
                    .next()
                    .map(|n| tree::text(n).trim().to_owned()),
                in_response_to: attr(root, "InResponseTo"),
                ..RejectionContext::default()
            })
        })?;
    }
    // 2. structure, and 3½. decryption of an EncryptedAssertion
    let (assertion, response_signature, encrypted, malleable) = match encrypted_assertion(root)? {
        None => {
            let assertion = check_structure(root, None, &policy.weaknesses)?;
            if policy.require_encrypted_assertions {
                return Err(Rejection::new(
                    Reason::AssertionIsNotEncrypted,
                    "the Assertion is not encrypted, and policy requires encrypted assertions (require_encrypted_assertions)",
                )
                .with_context(unverified_context(root, Some(assertion), false)));
            }
            (assertion, None, None, false)
        }
        Some(container) => {
            let early = unverified_context(root, None, true);
            let early_policy = policy.for_issuer(early.issuer.as_deref());
            let (assertion, response_signature, malleable) =
                decrypt_assertion(&doc, root, container, &early_policy, now)
                    .map_err(|r| r.with_context(early.clone()))?;
            (
                assertion,
                response_signature,
                Some(early_policy.into_owned()),
                malleable,
            )
        }
    };
    let assertion_encrypted = encrypted.is_some();
    let context = || unverified_context(root, Some(assertion), assertion_encrypted);
    // The context serves only a refusal, so it is read when one happens; but before
    // `verify_parsed` when that may decrypt parts of the Assertion in place, so that it says what
    // arrived, as received.
    let early_context = inner_encrypted_parts(assertion).then(context);
    let issuer = unverified_issuer(root, Some(assertion));
    let policy = policy.for_issuer(issuer.as_deref());
    if let (Some(_), Some(early_policy)) = (&response_signature, &encrypted)
        && (early_policy.idp_entity_id != policy.idp_entity_id
            || early_policy.idp_certs_pem != policy.idp_certs_pem)
    {
        return Err(Rejection::new(
            Reason::IssuerIsNotTheConfiguredIdp,
            format!(
                "the Response signature was verified for IdP {:?}, but the decrypted Assertion names {:?}",
                early_policy.idp_entity_id, issuer
            ),
        )
        .with_context(early_context.unwrap_or_else(context)));
    }
    let inputs = Verified {
        response_signature,
        assertion_encrypted,
        malleable_plaintext: malleable,
    };
    verify_parsed(&doc, root, assertion, &policy, now, inputs)
        .map_err(|r| r.with_context(early_context.unwrap_or_else(context)))
}

/// Whether the Assertion holds an `EncryptedID` or `EncryptedAttribute` that [`decrypt_inner`]
/// would decrypt in place.
fn inner_encrypted_parts(assertion: RoNode) -> bool {
    children(assertion, SAML, "Subject").any(|s| children(s, SAML, "EncryptedID").next().is_some())
        || children(assertion, SAML, "AttributeStatement")
            .any(|s| children(s, SAML, "EncryptedAttribute").next().is_some())
}

/// What the stages before [`verify_parsed`] established.
struct Verified {
    /// The Response signature, already verified on the message as received (before decryption).
    response_signature: Option<CheckedSignature>,
    /// The Assertion arrived as an EncryptedAssertion.
    assertion_encrypted: bool,
    /// The Assertion is the plaintext of an AES-CBC ciphertext that no verified signature covered
    /// (see [`decrypt_assertion`]): until its own signature verifies, every refusal is
    /// `decryption.failed`.
    malleable_plaintext: bool,
}

/// The `saml:EncryptedAssertion` child of the Response, if it has one: then no other Assertion
/// or EncryptedAssertion may be anywhere in the message as received (`structure.assertion_count`
/// otherwise). Without one, [`check_structure`] judges any nested EncryptedAssertion (allowed only
/// in the plaintext Assertion's Advice).
fn encrypted_assertion(root: RoNode) -> Result<Option<RoNode>, Rejection> {
    if !is(root, SAMLP, "Response") {
        return Ok(None); // check_structure names the offence
    }
    let direct: Vec<RoNode> = children(root, SAML, "EncryptedAssertion").collect();
    let [one] = direct[..] else {
        return match direct.len() {
            0 => Ok(None),
            n => Err(Rejection::new(
                Reason::ResponseDoesNotContainExactlyOneAssertion,
                format!(
                    "found {n} saml:EncryptedAssertion children of the Response; one assertion per response"
                ),
            )),
        };
    };
    let others = tree::descendants(root)
        .into_iter()
        .filter(|el| {
            is(*el, SAML, "Assertion") || (is(*el, SAML, "EncryptedAssertion") && *el != one)
        })
        .count();
    if others > 0 {
        return Err(Rejection::new(
            Reason::ResponseDoesNotContainExactlyOneAssertion,
            format!(
                "found {others} saml:Assertion or further saml:EncryptedAssertion element(s) beside the EncryptedAssertion; one assertion per response"
            ),
        ));
    }
    Ok(Some(one))
}

/// Stage 3½ for an EncryptedAssertion: verifies the Response signature (if any) on the message as
/// received, decrypts, and runs the structure checks on the decrypted tree. Returns the Assertion,
/// the verified Response signature, and whether the plaintext is malleable.
///
/// Malleable: AES-CBC (only with `allow_cbc`) and no Response signature over the ciphertext, so
/// anyone can flip its bits and watch the answer (Jager and Somorovsky's CBC format oracle, CCS
/// 2011). Then every refusal caused by the plaintext, up to and including its signature check, is
/// `decryption.failed` (the first code in the audit message): bad padding, bytes that are not
/// UTF-8 or not XML, an entity reference, a wrong root, a broken structure, a signature that no
/// longer verifies all look alike to the sender.
fn decrypt_assertion(
    doc: &Document,
    root: RoNode,
    container: RoNode,
    policy: &VerifyPolicy,
    now: OffsetDateTime,
) -> Result<(RoNode, Option<CheckedSignature>, bool), Rejection> {
    let response_signature = match at_most_one(root, DS, "Signature")? {
        None => None,
        Some(sig) => {
            let id = required_attr(root, "ID")?;
            let attr_node = root
                .get_property_node_no_ns("ID")
                .ok_or_else(|| malformed("the Response has no ID attribute"))?;
            register_response_id(doc, attr_node, &id)?;
            Some(verify_one_signature(
                doc, sig, root, "Response", policy, now,
            )?)
        }
    };
    // Read before decryption replaces the EncryptedData.
    let malleable =
        policy.allow_cbc && response_signature.is_none() && decrypt::names_cbc(container);
    decrypt::decrypt_element(
        doc,
        container,
        &policy.decryption_keys,
        decrypt::Allowed {
            rsa15: policy.allow_rsa15,
            cbc: policy.allow_cbc,
        },
    )
    .and_then(|()| decrypted_content(container, "Assertion").map(drop))
    .map_err(|m| {
        Rejection::new(
            Reason::EncryptedElementCannotBeDecrypted,
            format!("EncryptedAssertion: {m}"),
        )
    })?;
    let plaintext_checks = || {
        if tree::has_entity_reference(root) {
            return Err(Rejection::new(
                Reason::InputContainsDoctype,
                "the decrypted assertion contains entity references",
            ));
        }
        check_structure(root, Some(container), &policy.weaknesses)
    };
    let assertion = plaintext_checks().map_err(|r| opaque_when(malleable, r))?;
    Ok((assertion, response_signature, malleable))
}

/// `rejection`, or when the plaintext is `malleable` ([`decrypt_assertion`]) the same refusal
/// told as `decryption.failed`, its own code and message kept in the audit message.
fn opaque_when(malleable: bool, rejection: Rejection) -> Rejection {
    if !malleable || rejection.reason == Reason::EncryptedElementCannotBeDecrypted {
        return rejection;
    }
    Rejection {
        message: format!(
            "EncryptedAssertion (AES-CBC, no Response signature over it): the decrypted plaintext was refused as {}: {}; answered as decryption.failed, so that a modified ciphertext tells the sender nothing (CBC format oracle)",
            rejection.reason.code(),
            rejection.message
        ),
        reason: Reason::EncryptedElementCannotBeDecrypted,
        public_detail: None,
        ..rejection
    }
}

/// The one element named `{SAML}local` that decryption left in `container` (beside
/// `xenc:EncryptedKey` elements).
fn decrypted_content(container: RoNode, local: &'static str) -> Result<RoNode, String> {
    let content: Vec<RoNode> = tree::element_children(container)
        .filter(|c| !is(*c, decrypt::XENC, "EncryptedKey"))
        .collect();
    match content[..] {
        [one] if is(one, SAML, local) => Ok(one),
        _ => Err(format!(
            "the plaintext of {} is {} element(s) ({}), not exactly one saml:{local}",
            container.get_name(),
            content.len(),
            content
                .iter()
                .map(|c| tree::label(*c))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Declares the Response's `ID` before decryption (for its signature), refusing what
/// [`check_structure`] would refuse.
fn register_response_id(doc: &Document, attr_node: RoNode, id: &str) -> Result<(), Rejection> {
    if !is_plain_id(id) {
        return Err(malformed(format!(
            "Response ID {id:?} is not a plain NCName"
        )));
    }
    match dsig::register_id(doc, attr_node, id) {
        dsig::IdRegistration::Registered => Ok(()),
        dsig::IdRegistration::Duplicate => Err(Rejection::new(
            Reason::IdValueIsDuplicated,
            format!("ID value {id:?} occurs more than once"),
        )),
        dsig::IdRegistration::Invalid => Err(malformed(format!("ID value {id:?} is invalid"))),
    }
}

/// Declares the `ID` of `el` (the Response or its Assertion, checked by [`check_structure`]) as
/// an XML ID, so that a Reference's `#id` resolves to it.
fn register_signature_target(doc: &Document, el: RoNode) -> Result<(), Rejection> {
    let (Some(value), Some(attr_node)) = (attr(el, "ID"), el.get_property_node_no_ns("ID")) else {
        return Err(malformed(format!(
            "{} has no ID attribute",
            tree::label(el)
        )));
    };
    match dsig::register_id(doc, attr_node, &value) {
        dsig::IdRegistration::Registered => Ok(()),
        dsig::IdRegistration::Duplicate => Err(Rejection::new(
            Reason::IdValueIsDuplicated,
            format!("ID value {value:?} occurs more than once"),
        )),
        dsig::IdRegistration::Invalid => Err(malformed(format!("ID value {value:?} is invalid"))),
    }
}

/// `scheme:rest` with an RFC 3986 scheme: what URN and URL values of SAML's anyURI look like.
fn is_absolute_uri(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !value.chars().any(char::is_whitespace)
}

/// Parses UTF-8 XML once: DOCTYPE refused beforehand, no recovery, no network, no entity
/// substitution, declared encoding ignored (so no other encoding can hide a DOCTYPE). Returns the
/// document with its root element; a document whose tree still holds an entity reference is
/// refused like a DTD.
pub(crate) fn parse_document(xml: &[u8]) -> Result<(Document, RoNode), Rejection> {
    let text = std::str::from_utf8(xml).map_err(|e| {
        Rejection::new(
            Reason::InputIsNotWellFormedXml,
            format!("the response is not UTF-8: {e}"),
        )
    })?;
    if text.contains('\0') {
        return Err(Rejection::new(
            Reason::InputIsNotWellFormedXml,
            "the response contains a NUL character",
        ));
    }
    for marker in ["<!DOCTYPE", "<!ENTITY"] {
        // `contains` is the vectorised search; the position only serves the message.
        if text.contains(marker)
            && let Some(at) = text.find(marker)
        {
            return Err(Rejection::new(
                Reason::InputContainsDoctype,
                format!("the response contains {marker} at byte {at}; DTDs are refused"),
            ));
        }
    }
    let options = ParserOptions {
        recover: false,
        no_def_dtd: true,
        no_error: true,
        no_warning: true,
        no_net: true,
        // No explicit `encoding`: libxml2 2.9's forced-encoding path races between threads (a
        // concurrent parse intermittently lost elements; see tests/concurrency.rs). The text is
        // checked to be UTF-8 and `ignore_enc` makes libxml2 ignore the prolog's claim.
        ignore_enc: true,
        // Text of up to 15 bytes is kept inside its node (one allocation and free fewer per
        // whitespace run and short value); libxml2 2.9's tree functions that replace content
        // (decryption in place) know such nodes.
        compact: true,
        ..ParserOptions::default()
    };
    let doc = Parser::default()
        .parse_string_with_options(xml, options)
        .map_err(|_| {
            Rejection::new(
                Reason::InputIsNotWellFormedXml,
                "the response is not well-formed XML",
            )
        })?;
    if dsig::has_dtd(&doc) {
        return Err(Rejection::new(
            Reason::InputContainsDoctype,
            "the parsed document has a DTD",
        ));
    }
    let root = doc.get_root_readonly().ok_or_else(|| {
        Rejection::new(
            Reason::InputIsNotWellFormedXml,
            "the document has no root element",
        )
    })?;
    if tree::has_entity_reference(root) {
        return Err(Rejection::new(
            Reason::InputContainsDoctype,
            "the document contains entity references",
        ));
    }
    Ok((doc, root))
}

fn malformed(message: impl Into<String>) -> Rejection {
    Rejection::new(Reason::RequiredElementMissingOrMalformed, message)
}

/// Whether `id` is safe to hand to xmlsec's `#id` → `xpointer(id('…'))` resolution: letters,
/// digits, `_`, `-`, `.`. A leading digit is tolerated although xs:ID forbids it, because real
/// IdPs send bare UUIDs (see `tests/fixtures/real/`); quotes, parentheses and spaces never pass.
pub(crate) fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The Response's children are those of its schema (SAML core §3.2.2, §3.4): anything else,
/// notably an `Assertion` in a look-alike or foreign namespace that a reader matching prefixes or
/// local names would take for SAML's ("The Fragile Lock": namespace confusion), is
/// `structure.malformed`. Foreign elements belong in `samlp:Extensions`, which is never read.
fn check_response_children(root: RoNode) -> Result<(), Rejection> {
    const ALLOWED: [(&str, &str); 6] = [
        (SAML, "Issuer"),
        (DS, "Signature"),
        (SAMLP, "Extensions"),
        (SAMLP, "Status"),
        (SAML, "Assertion"),
        (SAML, "EncryptedAssertion"),
    ];
    match tree::element_children(root)
        .find(|c| !ALLOWED.iter().any(|(ns, local)| is(*c, ns, local)))
    {
        None => Ok(()),
        Some(child) => {
            let ns = child
                .get_namespace()
                .map(|n| n.get_href())
                .unwrap_or_default();
            Err(malformed(format!(
                "the Response has a child {{{ns}}}{}; a Response holds only saml:Issuer, ds:Signature, samlp:Extensions, samlp:Status and (encrypted) assertions in SAML's namespaces",
                child.get_name()
            )))
        }
    }
}

/// Stage 2. Returns the one Assertion: a direct child of the Response, or of `container` (the
/// EncryptedAssertion it was decrypted in).
fn check_structure(
    root: RoNode,
    container: Option<RoNode>,
    weaknesses: &Weaknesses,
) -> Result<RoNode, Rejection> {
    if !is(root, SAMLP, "Response") {
        let ns = root
            .get_namespace()
            .map(|n| n.get_href())
            .unwrap_or_default();
        return Err(Rejection::new(
            Reason::DocumentIsNotAResponse,
            format!(
                "document element is {{{ns}}}{}, expected {{{SAMLP}}}Response",
                root.get_name()
            ),
        ));
    }
    let mut assertions = Vec::new();
    let mut encrypted = Vec::new();
    let mut id_holders = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for el in tree::descendants(root) {
        // libxml2 reports an undeclared prefix as a non-fatal namespace error and keeps the
        // element or attribute under its raw `prefix:name`; such a document is not namespace
        // well-formed, and canonicalization may not see what we read. Refuse it.
        if let Some(name) = tree::unbound_prefixed_name(el) {
            return Err(Rejection::new(
                Reason::InputIsNotWellFormedXml,
                format!("the namespace prefix of {name:?} is not declared"),
            ));
        }
        let is_assertion = is(el, SAML, "Assertion");
        if is_assertion {
            assertions.push(el);
        }
        if is(el, SAML, "EncryptedAssertion") && Some(el) != container {
            encrypted.push(el);
        }
        if let Some(xml_id) = tree::xml_id(el)
            && !seen.insert(xml_id.clone())
        {
            return Err(Rejection::new(
                Reason::IdValueIsDuplicated,
                format!("ID value {xml_id:?} occurs more than once"),
            ));
        }
        // Attribute pollution ("The Fragile Lock"): `samlp:ID` or `saml:ID` is no XML ID here, but
        // a namespace-blind ID lookup takes it for one, so its value counts like any ID's.
        let mut namespaced_ids = Vec::new();
        dsig::find_attribute(el, |name, ns| {
            if let (true, Some(ns)) = (name == "ID", ns) {
                namespaced_ids.push(ns.to_owned());
            }
            None::<()>
        });
        for value in namespaced_ids
            .iter()
            .filter_map(|ns| el.get_property_ns("ID", ns))
        {
            if !seen.insert(value.clone()) {
                return Err(Rejection::new(
                    Reason::IdValueIsDuplicated,
                    format!(
                        "ID value {value:?} occurs more than once (once in a namespaced ID attribute)"
                    ),
                ));
            }
        }
        if (is_assertion || is(el, SAMLP, "Response"))
            && let Some(value) = attr(el, "ID")
        {
            if !seen.insert(value.clone()) {
                return Err(Rejection::new(
                    Reason::IdValueIsDuplicated,
                    format!("ID value {value:?} occurs more than once"),
                ));
            }
            id_holders.push((el, value));
        }
    }
    let parent = container.unwrap_or(root);
    let direct: Vec<RoNode> = assertions
        .iter()
        .copied()
        .filter(|a| a.get_parent() == Some(parent))
        .collect();
    let direct = match direct[..] {
        [first, _, ..] if weaknesses.has(Weakness::AssertionCount) => vec![first],
        _ => direct,
    };
    let [assertion] = direct[..] else {
        return Err(Rejection::new(
            Reason::ResponseDoesNotContainExactlyOneAssertion,
            format!(
                "found {} saml:Assertion element(s), {} of them direct children of the Response (or of its EncryptedAssertion); exactly one, a direct child, is required",
                assertions.len(),
                direct.len()
            ),
        ));
    };
    // SAML core §2.3.3/§2.6: the Assertion's own Advice may carry further (encrypted) assertions.
    // They are covered by its signature and never read; anywhere else, a second assertion is
    // refused (an XSW hiding place).
    let advice = at_most_one(assertion, SAML, "Advice")?;
    let in_advice = |el: RoNode| advice.is_some_and(|a| tree::ancestors(el).any(|n| n == a));
    let stray = assertions
        .iter()
        .chain(&encrypted)
        .filter(|el| **el != assertion && !in_advice(**el))
        .count();
    if stray > 0 && !weaknesses.has(Weakness::AssertionCount) {
        return Err(Rejection::new(
            Reason::ResponseDoesNotContainExactlyOneAssertion,
            format!(
                "found {stray} saml:Assertion or saml:EncryptedAssertion element(s) besides the Assertion and outside its Advice; one assertion per response"
            ),
        ));
    }
    // After the assertion count, so that a second assertion anywhere (in a nested Response too)
    // is reported as such; before anything is read.
    check_response_children(root)?;
    // Only the Response and its Assertion become XML IDs (in `verify_signatures`): a nested
    // assertion's ID is never a signature target (its value still counts for duplicates, above).
    let id_holders = id_holders
        .into_iter()
        .filter(|(el, _)| *el == root || *el == assertion);
    for (el, value) in id_holders {
        if !is_plain_id(&value) {
            return Err(malformed(format!(
                "{} ID {value:?} is not a plain NCName",
                tree::label(el)
            )));
        }
    }
    for (el, what) in [(root, "Response"), (assertion, "Assertion")] {
        required_attr(el, "ID")?;
        checks::required_instant(el, "IssueInstant")?;
        let version = required_attr(el, "Version")?;
        if version != "2.0" {
            return Err(malformed(format!(
                "{what} Version is {version:?}, expected \"2.0\""
            )));
        }
    }
    Ok(assertion)
}

/// Best-effort, unverified facts for the audit log. `assertion` is `None` while it is still
/// encrypted.
fn unverified_context(
    root: RoNode,
    assertion: Option<RoNode>,
    assertion_encrypted: bool,
) -> RejectionContext {
    let issuer = unverified_issuer(root, assertion);
    let subject = assertion
        .and_then(|a| children(a, SAML, "Subject").next())
        .and_then(|s| first_child_text(s, SAML, "NameID"));
    let groups_or_attributes = assertion
        .and_then(|a| read_attributes(a).ok())
        .unwrap_or_default();
    RejectionContext {
        issuer,
        subject,
        groups_or_attributes,
        in_response_to: attr(root, "InResponseTo"),
        facts: facts::read(root, assertion, assertion_encrypted),
    }
}

/// The text of the first `{ns}local` child of `parent`, trimmed.
fn first_child_text(parent: RoNode, ns: &'static str, local: &'static str) -> Option<String> {
    children(parent, ns, local)
        .next()
        .map(|n| tree::trim_xml_whitespace(&tree::text(n)).to_owned())
}

/// The Assertion's Issuer, else the Response's, as sent (unverified).
fn unverified_issuer(root: RoNode, assertion: Option<RoNode>) -> Option<String> {
    assertion
        .and_then(|a| first_child_text(a, SAML, "Issuer"))
        .or_else(|| first_child_text(root, SAML, "Issuer"))
}

fn read_attributes(assertion: RoNode) -> Result<Vec<Attribute>, Rejection> {
    let mut out = Vec::new();
    for statement in children(assertion, SAML, "AttributeStatement") {
        let attributes = tree::element_children(statement).flat_map(facts::attribute_elements);
        for a in attributes {
            out.push(Attribute {
                name: required_attr(a, "Name")?,
                friendly_name: attr(a, "FriendlyName"),
                values: children(a, SAML, "AttributeValue")
                    .map(tree::text)
                    .collect(),
            });
        }
    }
    Ok(out)
}

/// Stage 9: refuses two Attributes with one `Name` (`attribute.duplicate`), or with `merge`
/// merges their values into the first, in document order.
///
/// The key is the `Name` alone, not (`Name`, `NameFormat`): the SP's attribute candidates are
/// looked up by Name, so two formats of one Name would still leave it guessing which one counts.
fn one_attribute_per_name(
    attributes: Vec<Attribute>,
    merge: bool,
) -> Result<Vec<Attribute>, Rejection> {
    let mut out: Vec<Attribute> = Vec::with_capacity(attributes.len());
    for a in attributes {
        match out.iter_mut().find(|seen| seen.name == a.name) {
            None => out.push(a),
            Some(first) if merge => {
                first.friendly_name = first.friendly_name.take().or(a.friendly_name);
                first.values.extend(a.values);
            }
            Some(_) => {
                return Err(Rejection::new(
                    Reason::AttributeIsRepeated,
                    format!(
                        "the Assertion has more than one Attribute named {:?}; which values count would be a guess (set merge_duplicate_attributes to merge them)",
                        a.name
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// Stages 3–9 on the parsed, structurally sound document.
fn verify_parsed(
    doc: &Document,
    root: RoNode,
    assertion: RoNode,
    policy: &VerifyPolicy,
    now: OffsetDateTime,
    verified: Verified,
) -> Result<VerifiedResponse, Rejection> {
    // 3. status
    checks::check_status(root)?;

    // 4. signatures
    let signature = verify_signatures(
        doc,
        root,
        assertion,
        policy,
        now,
        verified.response_signature,
    )
    .map_err(|r| opaque_when(verified.malleable_plaintext, r))?;
    let encrypted = decrypt_inner(doc, assertion, policy, verified.assertion_encrypted)?;
    let response_signed = matches!(
        signature.signed_element,
        SignedElement::Response | SignedElement::Both
    );

    // From here on, `assertion` is the element the verified reference resolved to (or the single
    // Assertion child of the verified Response): claims are read from it only.
    // 5. issuer / destination
    let issuer = checks::check_issuers(root, assertion, policy)?;
    let destination = attr(root, "Destination");
    if !policy.weaknesses.has(Weakness::Destination) {
        checks::check_destination(destination.as_deref(), response_signed, policy)?;
    }

    // 6. time
    let skew = policy.clock_skew;
    let issue_instant = checks::required_instant(assertion, "IssueInstant")?;
    let conditions = at_most_one(assertion, SAML, "Conditions")?;
    let (not_before, not_on_or_after) = if policy.weaknesses.has(Weakness::TimeWindow) {
        checks::conditions_window(conditions)?
    } else {
        checks::check_issue_instants(
            checks::required_instant(root, "IssueInstant")?,
            issue_instant,
            checks::conditions_window(conditions)?,
            now,
            skew,
        )?;
        checks::check_conditions_time(conditions, now, skew)?
    };

    // 7. audience, then the other conditions
    let audiences = if policy.weaknesses.has(Weakness::Audience) {
        checks::audiences(conditions)?
    } else {
        checks::check_audience(conditions, &policy.sp_entity_id)?
    };
    if !policy.weaknesses.has(Weakness::ConditionKinds) {
        checks::check_condition_kinds(conditions)?;
    }

    // 8. subject
    let in_response_to = attr(root, "InResponseTo");
    let subject = checks::check_subject(
        assertion,
        in_response_to.as_deref(),
        response_signed,
        policy,
        now,
    )?;
    let name_id_node = subject_name_id(subject)?;
    let name_id = name_id_node.map(simple_text).transpose()?;
    if name_id.as_deref() == Some("") && !policy.weaknesses.has(Weakness::EmptyNameId) {
        return Err(Rejection::new(
            Reason::NameIdIsEmpty,
            "the Subject's NameID is empty (or only XML whitespace): it names nobody, and every such user would be one identity",
        ));
    }
    let name_id_format = name_id_node.and_then(|n| attr(n, "Format"));

    let authn = children(assertion, SAML, "AuthnStatement")
        .next()
        .ok_or_else(|| {
            malformed("the Assertion has no AuthnStatement, which the Web SSO profile requires")
        })?;
    // SAML core §2.7.2.2: AuthnContextClassRef is a URI (Decisions' troubleshooting table).
    const PASSWORD_PROTECTED_TRANSPORT: &str =
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
    for context in children(authn, SAML, "AuthnContext") {
        if let Some(class_ref) = at_most_one(context, SAML, "AuthnContextClassRef")? {
            let value = simple_text(class_ref)?;
            if !is_absolute_uri(value.trim()) {
                // The rule (not the value sent) is safe to show: Decisions' troubleshooting text.
                return Err(malformed(format!(
                    "AuthnContextClassRef {value:?} must be a URI, e.g. {PASSWORD_PROTECTED_TRANSPORT}"
                ))
                .with_public_detail(format!(
                    "AuthnContextClassRef must be a URI, e.g. {PASSWORD_PROTECTED_TRANSPORT}"
                )));
            }
        }
    }

    // 9. attributes
    let attributes = one_attribute_per_name(
        read_attributes(assertion)?,
        policy.merge_duplicate_attributes,
    )?;

    Ok(VerifiedResponse {
        response_id: required_attr(root, "ID")?,
        in_response_to,
        destination,
        issuer,
        assertion_id: required_attr(assertion, "ID")?,
        name_id,
        name_id_format,
        session_index: attr(authn, "SessionIndex"),
        issue_instant,
        authn_instant: checks::required_instant(authn, "AuthnInstant")?,
        session_not_on_or_after: checks::optional_instant(authn, "SessionNotOnOrAfter")?,
        not_before,
        not_on_or_after,
        bearer_not_on_or_after: checks::latest_bearer_not_on_or_after(subject),
        one_time_use: conditions.is_some_and(|c| children(c, SAML, "OneTimeUse").next().is_some()),
        audiences,
        attributes,
        signature,
        encrypted,
    })
}

/// Stage 4b: decrypts each `Subject/EncryptedID` and `AttributeStatement/EncryptedAttribute` of
/// the verified Assertion in place (its signature covered their ciphertext).
fn decrypt_inner(
    doc: &Document,
    assertion: RoNode,
    policy: &VerifyPolicy,
    assertion_encrypted: bool,
) -> Result<EncryptedParts, Rejection> {
    let ids: Vec<RoNode> = children(assertion, SAML, "Subject")
        .flat_map(|s| children(s, SAML, "EncryptedID"))
        .collect();
    let attributes: Vec<RoNode> = children(assertion, SAML, "AttributeStatement")
        .flat_map(|s| children(s, SAML, "EncryptedAttribute"))
        .collect();
    let allowed = decrypt::Allowed {
        rsa15: policy.allow_rsa15,
        cbc: policy.allow_cbc,
    };
    for (container, content) in ids
        .iter()
        .map(|c| (*c, "NameID"))
        .chain(attributes.iter().map(|c| (*c, "Attribute")))
    {
        decrypt::decrypt_element(doc, container, &policy.decryption_keys, allowed).map_err(
            |m| {
                Rejection::new(
                    Reason::EncryptedElementCannotBeDecrypted,
                    format!("{}: {m}", tree::label(container)),
                )
            },
        )?;
        decrypted_content(container, content).map_err(malformed)?;
    }
    Ok(EncryptedParts {
        assertion: assertion_encrypted,
        name_id: !ids.is_empty(),
        attributes: !attributes.is_empty(),
    })
}

/// The Subject's NameID: a `saml:NameID` child, or the one inside a (decrypted) `EncryptedID`.
fn subject_name_id(subject: RoNode) -> Result<Option<RoNode>, Rejection> {
    let plain = at_most_one(subject, SAML, "NameID")?;
    let decrypted = match at_most_one(subject, SAML, "EncryptedID")? {
        Some(e) => at_most_one(e, SAML, "NameID")?,
        None => None,
    };
    match (plain, decrypted) {
        (Some(_), Some(_)) => Err(malformed(
            "the Subject has both a NameID and an EncryptedID",
        )),
        (one, other) => Ok(one.or(other)),
    }
}

/// Stage 4: which signatures exist, their shape, and xmlsec verification with pinned keys.
fn verify_signatures(
    doc: &Document,
    root: RoNode,
    assertion: RoNode,
    policy: &VerifyPolicy,
    now: OffsetDateTime,
    response_verified: Option<CheckedSignature>,
) -> Result<SignatureFacts, Rejection> {
    let response_sig = at_most_one(root, DS, "Signature")?;
    let assertion_sig = at_most_one(assertion, DS, "Signature")?;
    if policy.require_signed_response
        && response_sig.is_none()
        && !policy.weaknesses.has(Weakness::SignatureRequired)
    {
        return Err(Rejection::new(
            Reason::ResponseIsNotSigned,
            if assertion_sig.is_some() {
                "the Response is unsigned (only its Assertion is signed), and policy requires a signed Response (require_signed_response)"
            } else {
                "neither the Response nor the Assertion is signed, and policy requires a signed Response (require_signed_response)"
            },
        ));
    }
    let signed_element = match (assertion_sig.is_some(), response_sig.is_some()) {
        (true, true) => SignedElement::Both,
        (true, false) => SignedElement::Assertion,
        (false, true)
            if policy.accept_response_signature
                || policy.weaknesses.has(Weakness::SignatureRequired) =>
        {
            SignedElement::Response
        }
        (false, false) if policy.weaknesses.has(Weakness::SignatureRequired) => {
            return Ok(SignatureFacts {
                signed_element: SignedElement::Assertion,
                signature_algorithm: String::new(),
                digest_algorithm: String::new(),
                certificate_index: 0,
                certificate_warning: None,
            });
        }
        (false, true) => {
            return Err(Rejection::new(
                Reason::AssertionIsNotSigned,
                "the Assertion is unsigned; the Response is signed, but policy requires a signed Assertion (accept_response_signature is off)",
            ));
        }
        (false, false) => {
            return Err(Rejection::new(
                Reason::AssertionIsNotSigned,
                "neither the Assertion nor the Response is signed",
            ));
        }
    };
    // Declared only now that a signature will be verified: libxml2's ID table costs an unsigned
    // message's refusal a twentieth of its time. Their values were judged unique and plain by
    // `check_structure`.
    for el in [root, assertion] {
        register_signature_target(doc, el)?;
    }
    let mut relied_on: Option<CheckedSignature> = None;
    let mut response_verified = response_verified;
    // Assertion first: it is the signature the claims depend on.
    for (sig, target, what) in [
        (assertion_sig, assertion, "Assertion"),
        (response_sig, root, "Response"),
    ] {
        let Some(sig) = sig else { continue };
        // A Response signature over an EncryptedAssertion was verified before decryption.
        let already = if what == "Response" {
            response_verified.take()
        } else {
            None
        };
        let verified = match already {
            Some(done) => done,
            None => verify_one_signature(doc, sig, target, what, policy, now)?,
        };
        relied_on.get_or_insert(verified);
    }
    let relied_on = relied_on
        .ok_or_else(|| Rejection::new(Reason::AssertionIsNotSigned, "no signature was verified"))?;
    Ok(SignatureFacts {
        signed_element,
        signature_algorithm: relied_on.shape.signature_algorithm,
        digest_algorithm: relied_on.shape.digest_algorithm,
        certificate_index: relied_on.cert_index,
        certificate_warning: relied_on.certificate_warning,
    })
}

/// A signature that verified: its shape, and the pinned certificate that verified it.
struct CheckedSignature {
    shape: SignatureShape,
    /// Index in `VerifyPolicy::idp_certs_pem`.
    cert_index: usize,
    /// See [`SignatureFacts::certificate_warning`].
    certificate_warning: Option<String>,
}

/// Checks the shape of `sig` (the signature of `target`, named `what`) and verifies it with the
/// pinned certificates that policy lets verify at `now` ([`pinned::judge`]).
fn verify_one_signature(
    doc: &Document,
    sig: RoNode,
    target: RoNode,
    what: &str,
    policy: &VerifyPolicy,
    now: OffsetDateTime,
) -> Result<CheckedSignature, Rejection> {
    let id = required_attr(target, "ID")?;
    let shape = checks::inspect_signature(sig, &id, policy).map_err(|r| Rejection {
        message: format!("{what} signature: {}", r.message),
        ..r
    })?;
    // Cheap before expensive: when no pinned certificate may verify, xmlsec never runs. Otherwise
    // all are tried, so that a response signed with a weak or expired key is reported as such.
    let judged: Vec<Result<Option<String>, Rejection>> = policy
        .idp_certs_pem
        .iter()
        .enumerate()
        .map(|(index, pem)| pinned::judge(index, pem, policy, now))
        .collect();
    if let Some(Err(first)) = judged.first()
        && judged.iter().all(Result::is_err)
    {
        return Err(Rejection {
            message: format!("{what} signature: {}", first.message),
            ..first.clone()
        });
    }
    if policy.weaknesses.has(Weakness::SignatureVerification) {
        return Ok(CheckedSignature {
            shape,
            cert_index: 0,
            certificate_warning: None,
        });
    }
    let allowed = dsig::Allowed {
        sha1: policy.allow_sha1 || policy.weaknesses.has(Weakness::AlgorithmAllowList),
    };
    let verified = dsig::verify(
        doc,
        sig,
        target,
        &shape.reference_uri,
        &policy.idp_certs_pem,
        allowed,
    )
    .map_err(|f| match f {
        dsig::DsigFailure::Invalid(m) => Rejection::new(
            Reason::SignatureDoesNotVerify,
            format!("{what} signature: {m}"),
        ),
        dsig::DsigFailure::ReferenceMismatch(m) => Rejection::new(
            Reason::SignatureReferencesAnotherElement,
            format!("{what} signature: {m}"),
        ),
    })?;
    let certificate_warning = match judged.into_iter().nth(verified.cert_index) {
        Some(Err(r)) => {
            return Err(Rejection {
                message: format!("{what} signature verified, but {}", r.message),
                ..r
            });
        }
        Some(Ok(warning)) => warning,
        None => None,
    };
    Ok(CheckedSignature {
        shape,
        cert_index: verified.cert_index,
        certificate_warning,
    })
}
