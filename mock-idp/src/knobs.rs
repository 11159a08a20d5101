//! Every way the mock IdP can misbehave, as one typed struct.
//!
//! Modelled on BoringSSL's `ProtocolBugs`: each field is named for the fault it causes and
//! `Knobs::default()` is a conformant IdP. The fields are grouped in [`Section`]s, and a section
//! says when the IdP reads its knobs ([`Reader`]): the response sections for each minted
//! response (queued through the control API, never global), the logout section for each logout
//! message, the pages section on every `/sso` answer. Unknown names are refused rather than
//! silently ignored, and so are knobs given where they would not be read.

use serde::{Deserialize, Serialize};

pub use crate::attacks::SignatureWrapping;
pub use crate::redirect_games::RedirectGame;
pub use crate::tampering::Tampering;

/// Declares [`Knobs`] and [`Knobs::FIELDS`] from one list, so the description of a knob (the
/// control API's listing) is its doc comment and cannot drift from it. Every field needs a doc
/// comment and belongs to the `[Section]` written above it.
macro_rules! knobs_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                [$section:ident]
                $(
                    $(#[doc = $doc:literal])+
                    pub $field:ident: $ty:ty,
                )+
            )+
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($(
                $(#[doc = $doc])+
                pub $field: $ty,
            )+)+
        }

        impl $name {
            /// Every knob in declaration order, with its section and doc comment.
            pub const FIELDS: &'static [KnobDoc] = &[
                $($(
                    KnobDoc {
                        name: stringify!($field),
                        section: Section::$section,
                        doc: &[$($doc),+],
                    },
                )+)+
            ];
        }
    };
}

/// The sections of [`Knobs`], in declaration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Section {
    /// How the response and the assertion are signed, and attacks on those signatures.
    Signature,
    /// The Response envelope: Destination, Issuer, InResponseTo, status, timestamps, layout.
    Response,
    /// The Assertion: its ID, conditions, subject and authentication statement.
    Assertion,
    /// The attribute statement: attribute names and groups.
    Attributes,
    /// XML Encryption of the assertion, the NameID or the attributes.
    Encryption,
    /// The IdP's single-logout messages: the LogoutRequests it sends (IdP-initiated logout) and
    /// the LogoutResponses it answers an SP's LogoutRequest with.
    Logout,
    /// The IdP's pages and the headers of its `/sso` answers.
    Pages,
}

/// What reads a section's knobs: knobs given where their reader is not are refused, since they
/// would be ignored (see [`Knobs::refuse_outside`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Each minted response: the queued knobs (`POST /_control/next`, a scenario step's
    /// `knobs`), else the IdP's standing knobs (the default profile).
    Response,
    /// Each logout message: `POST /_control/logout`, `POST /_control/next-logout-response`, a
    /// `logout` step's `knobs`.
    Logout,
    /// Every `/sso` answer: the IdP's standing knobs (`POST /_control/framing`, the
    /// `idp_forbid_framing` step, `IdpConfig::forbid_framing` at start).
    Pages,
}

impl Section {
    /// Every section, in declaration order.
    pub const ALL: [Section; 7] = [
        Section::Signature,
        Section::Response,
        Section::Assertion,
        Section::Attributes,
        Section::Encryption,
        Section::Logout,
        Section::Pages,
    ];

    /// When the IdP reads this section's knobs.
    pub fn reader(self) -> Reader {
        match self {
            Section::Signature
            | Section::Response
            | Section::Assertion
            | Section::Attributes
            | Section::Encryption => Reader::Response,
            Section::Logout => Reader::Logout,
            Section::Pages => Reader::Pages,
        }
    }
}

/// One knob as [`Knobs::FIELDS`] lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnobDoc {
    /// The field name, as scenario files and the control API spell it.
    pub name: &'static str,
    /// The section it is declared in.
    pub section: Section,
    /// Its doc comment, one entry a `///` line.
    pub doc: &'static [&'static str],
}

impl KnobDoc {
    /// The doc comment as one line of plain text (rustdoc link brackets removed).
    pub fn description(&self) -> String {
        self.doc
            .iter()
            .map(|line| line.trim())
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
            .replace("[`", "`")
            .replace("`]", "`")
    }
}

knobs_struct! {
    /// Every fault of the mock IdP. `Knobs::default()` is a conformant IdP: it mints conformant
    /// responses, sends conformant signed logout messages and lets its pages be framed.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Knobs {
        [Signature]
        /// XML-DSig SignatureMethod; `rsa-sha1` is the deprecated algorithm an SP should refuse.
        pub signature_algorithm: SignatureAlgorithm,
        /// XML-DSig DigestMethod; `sha1` is the deprecated digest an SP should refuse.
        pub digest_algorithm: DigestAlgorithm,
        /// Which elements carry a signature; `neither` sends an unsigned response.
        pub sign: SignTarget,
        /// Whose key signs; `attacker` signs with a key the SP never trusted and puts the
        /// attacker's own certificate in KeyInfo, as a real attacker would.
        pub signing_key: SigningKey,
        /// Applies an XML signature-wrapping attack (or comment truncation) to the response *after*
        /// the assertion is signed: the IdP's signature stays valid over the original assertion and
        /// an attacker's assertion (NameID `attacker@evil.example`) is added or swapped in (see
        /// [`crate::attacks`]). Needs `sign = assertion` (`sign = response` for the attacks on the
        /// Response's signature) and no encryption.
        pub signature_wrapping: Option<SignatureWrapping>,
        /// Applies an attack on the parser, canonicalisation or algorithm handling to the signed
        /// response's text (a DOCTYPE, CDATA or a comment in signed text, a forged DigestValue, an
        /// HMAC or unknown SignatureMethod, an XSLT or XPath transform, a relative namespace URI;
        /// see [`crate::tampering`]). Needs `sign = assertion`, no encryption and no
        /// `signature_wrapping`.
        pub tampering: Option<Tampering>,
        /// Signs with `<ec:InclusiveNamespaces PrefixList="…"/>` in each signature's exclusive C14N
        /// Reference transform (e.g. `xs`, as ADFS and Okta sign): the listed prefixes' in-scope
        /// bindings, also those declared outside the signed element, are then part of the digest.
        pub inclusive_namespaces: Option<String>,

        [Response]
        /// Sends this Response Destination instead of the ACS URL.
        pub destination_override: Option<String>,
        /// Leaves out the Response Destination attribute.
        pub omit_destination: bool,
        /// Sends a look-alike of the SP's own value in one place (the Audience, the bearer
        /// Recipient or the Response Destination): upper-cased, padded with XML whitespace,
        /// suffixed with a no-break space, or with a fullwidth solidus that NFKC folds to `/`.
        /// An SP that compares loosely (case, Unicode trimming or normalisation) would accept an
        /// assertion issued for another URL.
        pub look_alike_url: Option<LookAlikeUrl>,
        /// Sends this Issuer (on both Response and Assertion) instead of the IdP's entity ID.
        pub issuer_override: Option<String>,
        /// Sends this InResponseTo (Response and SubjectConfirmationData) instead of the request's
        /// ID.
        pub in_response_to_override: Option<String>,
        /// Leaves out InResponseTo even when answering a request (looks unsolicited).
        pub omit_in_response_to: bool,
        /// Top-level StatusCode; anything but Success carries no assertion.
        pub status_code: StatusCode,
        /// Second-level StatusCode nested in the top-level one.
        pub sub_status_code: Option<StatusCode>,
        /// The IdP's clock runs this many seconds ahead (negative: behind); shifts every timestamp.
        pub clock_offset_secs: i64,
        /// Emits no whitespace between elements, as Okta and Entra ID do (default: one element a
        /// line).
        pub compact_xml: bool,
        /// Names the document element `samlp:<this>` instead of `samlp:Response` (e.g.
        /// `LogoutResponse`): something other than a Response posted to the ACS.
        pub document_element_override: Option<String>,
        /// Cuts the finished (signed) document after this many bytes, as a proxy that truncates
        /// the POST body does: the SP receives XML that is not well-formed.
        pub truncate_to_bytes: Option<usize>,
        /// Puts a character outside the base64 alphabet (`*`) in the middle of the SAMLResponse form
        /// value, as a proxy or WAF that rewrites the POST body does.
        pub form_value_not_base64: bool,

        [Assertion]
        /// Uses this Assertion ID instead of a fresh one (replays an earlier assertion's identity).
        pub assertion_id_override: Option<String>,
        /// Sends this Audience instead of the SP's entity ID.
        pub audience_override: Option<String>,
        /// Leaves out Conditions/AudienceRestriction entirely (any SP would accept the assertion).
        pub omit_audience_restriction: bool,
        /// Adds a second `<saml:Audience>` with this value (e.g. another workspace's entity ID),
        /// as an IdP application shared by two SPs does: the assertion is then meant for either
        /// (SAML core §2.5.1.4), and only Recipient and Destination say which one it was sent to.
        pub second_audience: Option<String>,
        /// Adds a condition the SP cannot understand to Conditions (SAML core §2.5.1.5: the
        /// assertion is then Indeterminate and must not be accepted).
        pub extra_condition: Option<ExtraCondition>,
        /// Adds `<saml:ProxyRestriction Count="N">` (with Audience `https://proxy.example/`) to
        /// Conditions: a limit on assertions issued onward, which an SP that issues none satisfies.
        pub proxy_restriction: Option<u32>,
        /// Adds `<saml:OneTimeUse/>` to Conditions (SAML core §2.5.1.5): the SP must not accept the
        /// assertion a second time, for a renewal or a second session, whatever its windows say.
        pub one_time_use: bool,
        /// Conditions NotBefore relative to the issue instant (positive: not yet valid).
        pub not_before_offset_secs: i64,
        /// Lifetime: Conditions and SubjectConfirmationData NotOnOrAfter = issue instant + this.
        pub validity_secs: i64,
        /// Writes this text verbatim as Conditions and SubjectConfirmationData NotOnOrAfter instead
        /// of issue instant + `validity_secs`: an absolute or extreme instant
        /// (`9999-12-31T23:59:00Z`, `2026-06-01T12:05:00.5Z`, an offset such as `-05:00`) that
        /// relative seconds cannot reach.
        pub not_on_or_after_override: Option<String>,
        /// Sends this SubjectConfirmationData Recipient instead of the ACS URL.
        pub recipient_override: Option<String>,
        /// Leaves out the Assertion's Issuer (the Response keeps its own): a non-conformant
        /// template; SAML core §2.3.3 requires every assertion to name its issuer.
        pub omit_assertion_issuer: bool,
        /// Leaves out the Assertion's Subject: nobody to sign in (SAML profiles §4.1.4.2 requires
        /// one).
        pub omit_subject: bool,
        /// Sends this SubjectConfirmation Method instead of bearer (e.g.
        /// `urn:oasis:names:tc:SAML:2.0:cm:holder-of-key`), which the Web SSO profile does not use.
        pub subject_confirmation_method: Option<String>,
        /// SubjectConfirmationData NotOnOrAfter = issue instant + this (negative: already passed)
        /// instead of `validity_secs`; Conditions keep theirs.
        pub subject_confirmation_validity_secs: Option<i64>,
        /// Sends this SubjectConfirmationData InResponseTo while the Response keeps the request's
        /// ID: an assertion answering another request, spliced under this Response.
        pub subject_in_response_to_override: Option<String>,
        /// Leaves out the signed SubjectConfirmationData InResponseTo while the unsigned Response
        /// keeps it: an unsolicited-shaped assertion moved onto a solicited request, as an attacker
        /// re-wrapping an IdP-initiated assertion would send it (SAML profiles §4.1.4.2 requires
        /// it).
        pub omit_subject_in_response_to: bool,
        /// NameID Format URI.
        pub name_id_format: String,
        /// Sends this NameID value instead of the user's email.
        pub name_id_value: Option<String>,
        /// AuthnStatement SessionNotOnOrAfter relative to the issue instant; `null` leaves it out.
        pub session_not_on_or_after_secs: Option<i64>,
        /// Writes this text verbatim as AuthnStatement SessionNotOnOrAfter (takes precedence over
        /// `session_not_on_or_after_secs`).
        pub session_not_on_or_after_override: Option<String>,
        /// Sends this AuthnContextClassRef instead of PasswordProtectedTransport; a value that is
        /// not a URI (e.g. `Password`) reproduces Decisions' "AuthContextClassRef … must be a URI"
        /// error.
        pub authn_context_class_ref_override: Option<String>,
        /// Puts an unsigned assertion from an upstream IdP (NameID `attacker@evil.example`, group
        /// `admins`) in the signed assertion's `saml:Advice` (SAML core §2.3.3, §2.6): covered by
        /// the IdP's signature, evidence only. An SP may accept the response, but must read the
        /// outer assertion's claims, never the nested one's.
        pub advice_assertion: bool,

        [Attributes]
        /// Attribute names, after the IdP products the SP must interoperate with.
        pub attribute_style: AttributeStyle,
        /// Whether group values are names or Entra ID object GUIDs.
        pub group_format: GroupFormat,
        /// Leaves out the groups attribute, even for users who have groups.
        pub omit_groups: bool,
        /// Sends a groups Attribute with no AttributeValue.
        pub empty_groups: bool,
        /// Repeats the groups Attribute (same Name and NameFormat) after the others, carrying only
        /// this value: a second mapping onto one name, e.g. a user-editable profile field smuggling
        /// a group. An SP must not silently pick either one. (For a user with no groups, it is the
        /// only groups Attribute.)
        pub duplicate_groups_attribute: Option<String>,
        /// Entra ID's group overage (a user in more than 150 groups): leaves out the groups claim
        /// and sends `http://schemas.microsoft.com/claims/groups.link` with a Graph URL instead. An
        /// SP must not read this as "no groups".
        pub group_overage: bool,
        /// Adds these attributes after the others, in order: an IdP's custom profile attributes
        /// (department, cost centre, …), as many and as long as asked, each with its values
        /// (escaped like all text). Conformant while no name repeats another attribute's.
        pub extra_attributes: Vec<ExtraAttribute>,
        /// Adds this many further attributes (`urn:samlconf:filler:N`, one value each) to the
        /// signed assertion, as an IdP releasing every attribute of a huge directory entry would:
        /// 10000 make a response of more than a megabyte.
        pub filler_attributes: u32,

        [Encryption]
        /// Wraps the assertion in `saml:EncryptedAssertion`, encrypted to the SP's encryption
        /// certificate. The assertion is signed first, then encrypted (and a Response signature, if
        /// any, covers the encrypted form), as real IdPs do.
        pub encrypt_assertion: bool,
        /// Sends the NameID as `saml:EncryptedID` (encrypted before the assertion is signed).
        pub encrypt_name_id: bool,
        /// Sends every attribute as its own `saml:EncryptedAttribute` (encrypted before the
        /// assertion is signed).
        pub encrypt_attributes: bool,
        /// How the session key is wrapped for the recipient (`EncryptedKey`'s EncryptionMethod).
        pub key_transport: KeyTransport,
        /// How the content is encrypted with the session key (`EncryptedData`'s EncryptionMethod).
        pub data_encryption: DataEncryption,
        /// Whose public key the session key is wrapped for; `wrong-key` encrypts to a throwaway key
        /// the SP does not hold, so the SP cannot decrypt.
        pub encrypt_to: EncryptTo,
        /// Flips bytes of the content's CipherValue after encrypting (before any Response signature
        /// is computed), so decryption fails: the GCM tag does not match, or CBC yields garbage.
        pub corrupt_ciphertext: bool,
        /// After encrypting, adds a second assertion beside the real `saml:EncryptedAssertion`, as
        /// an attacker holding the captured response would: `plain-evil-before` a forged plaintext
        /// assertion (NameID `attacker@evil.example`, unsigned) before it, `encrypted-evil-after`
        /// the same forgery encrypted to the SP's public key after it (CVE-2022-41912's second
        /// assertion, encrypted). Needs `encrypt_assertion`.
        pub encrypted_assertion_companion: Option<EncryptedCompanion>,

        [Logout]
        /// Sends the logout message unsigned: no `SigAlg`/`Signature` on HTTP-Redirect, no
        /// `ds:Signature` on HTTP-POST. An SP should refuse it (`logout.unsigned`).
        pub logout_unsigned: bool,
        /// Whose key signs the logout message; `attacker` signs with a key the SP never trusted.
        pub logout_signing_key: SigningKey,
        /// Sends this Issuer in the logout message instead of the IdP's entity ID.
        pub logout_issuer_override: Option<String>,
        /// Sends this Destination in the logout message instead of the SP's `slo_url` (the
        /// message still goes to `slo_url`).
        pub logout_destination_override: Option<String>,
        /// LogoutRequest: sends this SessionIndex instead of the user's IdP session's (e.g. a
        /// session the SP never had).
        pub logout_session_index_override: Option<String>,
        /// LogoutRequest: sends this NameID value instead of the one in the user's last assertion.
        pub logout_name_id_override: Option<String>,
        /// LogoutRequest: sends `NotOnOrAfter` = now + this many seconds (negative: already
        /// expired); `null` leaves the attribute out.
        pub logout_not_on_or_after_offset_secs: Option<i64>,
        /// LogoutRequest: writes this text verbatim as `NotOnOrAfter` (takes precedence over
        /// `logout_not_on_or_after_offset_secs`): an absolute or extreme instant such as
        /// `9999-12-31T23:59:00Z`.
        pub logout_not_on_or_after_override: Option<String>,
        /// LogoutRequest: `IssueInstant` = now + this many seconds (positive: issued in the
        /// future, by an IdP whose clock runs ahead).
        pub logout_issue_instant_offset_secs: i64,
        /// LogoutResponse: sends this InResponseTo instead of the ID of the SP's LogoutRequest (an
        /// answer to a request the SP never sent).
        pub logout_in_response_to_override: Option<String>,
        /// LogoutResponse: sends this top-level status instead of Success (short names as for
        /// `status_code`, e.g. `responder`).
        pub logout_status_code: StatusCode,
        /// LogoutRequest over HTTP-Redirect: encodes, orders, frames or signs the query string as
        /// a sloppy encoder, a rewriting proxy or an attacker would (a repeated `SAMLRequest`,
        /// reordered parameters, lower-case hex, re-encoding after signing, double encoding, an
        /// RSA-SHA1 `SigAlg`, zlib framing, a DEFLATE bomb; see [`crate::redirect_games`]).
        pub logout_redirect_game: Option<RedirectGame>,
        /// LogoutRequest: leaves out the `saml:NameID` (SAML core §3.7.1 requires an identifier).
        pub logout_omit_name_id: bool,
        /// LogoutRequest: carries in `samlp:Extensions` an assertion for the user that the IdP
        /// signed (as captured from a sign-in), CVE-2025-47949's carrier variant sent to the SLO
        /// endpoint: for a verifier that accepts "a valid IdP signature somewhere in the message".
        /// The LogoutRequest is the attacker's: needs `logout_unsigned` or
        /// `logout_signing_key = attacker`.
        pub logout_carry_signed_assertion: bool,

        [Pages]
        /// Sends `X-Frame-Options: DENY` and `Content-Security-Policy: frame-ancestors 'none'` on
        /// every `/sso` answer, as IdPs that forbid framing do: an SP's hidden-iframe session
        /// renewal then cannot work and it must fall back to a pop-up.
        pub forbid_framing: bool,
    }
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            // Signature
            signature_algorithm: SignatureAlgorithm::RsaSha256,
            digest_algorithm: DigestAlgorithm::Sha256,
            sign: SignTarget::Assertion,
            signing_key: SigningKey::Idp,
            signature_wrapping: None,
            tampering: None,
            inclusive_namespaces: None,
            // Response
            destination_override: None,
            omit_destination: false,
            look_alike_url: None,
            issuer_override: None,
            in_response_to_override: None,
            omit_in_response_to: false,
            status_code: StatusCode::success(),
            sub_status_code: None,
            clock_offset_secs: 0,
            compact_xml: false,
            document_element_override: None,
            truncate_to_bytes: None,
            form_value_not_base64: false,
            // Assertion
            assertion_id_override: None,
            audience_override: None,
            omit_audience_restriction: false,
            second_audience: None,
            extra_condition: None,
            proxy_restriction: None,
            one_time_use: false,
            not_before_offset_secs: 0,
            validity_secs: 300,
            not_on_or_after_override: None,
            recipient_override: None,
            omit_assertion_issuer: false,
            omit_subject: false,
            subject_confirmation_method: None,
            subject_confirmation_validity_secs: None,
            subject_in_response_to_override: None,
            omit_subject_in_response_to: false,
            name_id_format: NAME_ID_FORMAT_EMAIL.to_owned(),
            name_id_value: None,
            session_not_on_or_after_secs: Some(8 * 3600),
            session_not_on_or_after_override: None,
            authn_context_class_ref_override: None,
            advice_assertion: false,
            // Attributes
            attribute_style: AttributeStyle::Okta,
            group_format: GroupFormat::Names,
            omit_groups: false,
            empty_groups: false,
            duplicate_groups_attribute: None,
            group_overage: false,
            extra_attributes: Vec::new(),
            filler_attributes: 0,
            // Encryption
            encrypt_assertion: false,
            encrypt_name_id: false,
            encrypt_attributes: false,
            key_transport: KeyTransport::RsaOaep,
            data_encryption: DataEncryption::Aes256Gcm,
            encrypt_to: EncryptTo::Sp,
            corrupt_ciphertext: false,
            encrypted_assertion_companion: None,
            // Logout
            logout_unsigned: false,
            logout_signing_key: SigningKey::Idp,
            logout_issuer_override: None,
            logout_destination_override: None,
            logout_session_index_override: None,
            logout_name_id_override: None,
            logout_not_on_or_after_offset_secs: None,
            logout_not_on_or_after_override: None,
            logout_issue_instant_offset_secs: 0,
            logout_in_response_to_override: None,
            logout_status_code: StatusCode::success(),
            logout_redirect_game: None,
            logout_omit_name_id: false,
            logout_carry_signed_assertion: false,
            // Pages
            forbid_framing: false,
        }
    }
}

/// The emailAddress NameID format URI.
pub const NAME_ID_FORMAT_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// Why a knob could not be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KnobError {
    /// No knob has this name.
    #[error("unknown knob `{key}`; valid knobs: {valid}")]
    UnknownKnob {
        /// The name given.
        key: String,
        /// Every valid name, comma-separated.
        valid: String,
    },
    /// The value does not fit the knob's type.
    #[error("bad value {value} for knob `{key}`: {detail}")]
    BadValue {
        /// The knob.
        key: String,
        /// The value given.
        value: String,
        /// What was wrong.
        detail: String,
    },
    /// Knob overrides must be a JSON object of `name: value`.
    #[error("knob overrides must be a JSON object, got {0}")]
    OverridesNotAnObject(String),
    /// Two knobs ask for contradictory things.
    #[error("contradictory knobs: {0}")]
    Contradictory(&'static str),
    /// Knobs were given where nothing reads them (e.g. a logout knob for a response).
    #[error("{names}: not read by {reader}; {hint}", reader = reader_name(*.reader), hint = reader_hint(*.reader))]
    NotReadHere {
        /// What the knobs were given to.
        reader: Reader,
        /// The knobs that would be ignored, comma-separated.
        names: String,
    },
}

fn reader_name(reader: Reader) -> &'static str {
    match reader {
        Reader::Response => "a minted response",
        Reader::Logout => "a logout message",
        Reader::Pages => "the IdP's pages",
    }
}

fn reader_hint(reader: Reader) -> &'static str {
    match reader {
        Reader::Response => {
            "it reads only the signature, response, assertion, attributes and encryption knobs (logout_* knobs go with a logout; forbid_framing with `idp_forbid_framing` or POST /_control/framing)"
        }
        Reader::Logout => "it reads only the logout_* knobs",
        Reader::Pages => "they read only forbid_framing",
    }
}

impl Knobs {
    /// Every knob name, alphabetically.
    pub fn names() -> Vec<String> {
        let mut names: Vec<String> = Knobs::FIELDS.iter().map(|f| f.name.to_owned()).collect();
        names.sort();
        names
    }

    /// The section knob `name` is declared in.
    pub fn section_of(name: &str) -> Option<Section> {
        Knobs::FIELDS
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.section)
    }

    /// Refuses knobs that differ from `base` in a section `reader` does not read: given there,
    /// they would be silently ignored (a logout knob queued for a response, a response knob
    /// given to a logout).
    pub fn refuse_outside(&self, base: &Knobs, reader: Reader) -> Result<(), KnobError> {
        let (Ok(serde_json::Value::Object(mine)), Ok(serde_json::Value::Object(base))) =
            (serde_json::to_value(self), serde_json::to_value(base))
        else {
            // A plain struct of serialisable fields; serialising it cannot fail.
            return Ok(());
        };
        let ignored: Vec<&str> = Knobs::FIELDS
            .iter()
            .filter(|f| f.section.reader() != reader && mine.get(f.name) != base.get(f.name))
            .map(|f| f.name)
            .collect();
        if ignored.is_empty() {
            return Ok(());
        }
        Err(KnobError::NotReadHere {
            reader,
            names: ignored.join(", "),
        })
    }

    /// Sets one knob from text: `value` is read as JSON if it parses (`300`, `true`, `null`,
    /// `"x"`), else as a bare string (`rsa-sha1`, `https://evil.example`).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), KnobError> {
        let json_complaint = match serde_json::from_str::<serde_json::Value>(value) {
            Ok(json) => match self.with(key, json) {
                Ok(knobs) => {
                    *self = knobs;
                    return Ok(());
                }
                Err(err @ KnobError::BadValue { .. }) => Some(err),
                Err(err) => return Err(err),
            },
            Err(_) => None,
        };
        // `123` given for an audience parses as a JSON number; the text itself is what was meant.
        match self.with(key, serde_json::Value::String(value.to_owned())) {
            Ok(knobs) => *self = knobs,
            Err(err) => return Err(json_complaint.unwrap_or(err)),
        }
        Ok(())
    }

    /// Applies a JSON object of partial overrides (`{"validity_secs": 60}`) on top of these knobs.
    pub fn apply_overrides(&mut self, overrides: &serde_json::Value) -> Result<(), KnobError> {
        let map = match overrides {
            serde_json::Value::Null => return Ok(()),
            serde_json::Value::Object(map) => map,
            other => return Err(KnobError::OverridesNotAnObject(other.to_string())),
        };
        let mut knobs = self.clone();
        for (key, value) in map {
            knobs = knobs.with(key, value.clone())?;
        }
        *self = knobs;
        Ok(())
    }

    /// Whether any element is encrypted, and so the SP's encryption certificate is needed.
    pub fn encrypts_anything(&self) -> bool {
        self.encrypt_assertion || self.encrypt_name_id || self.encrypt_attributes
    }

    /// The first encryption knob that is set, to name in errors.
    pub fn first_encryption_knob(&self) -> Option<&'static str> {
        [
            ("encrypt_assertion", self.encrypt_assertion),
            ("encrypt_name_id", self.encrypt_name_id),
            ("encrypt_attributes", self.encrypt_attributes),
        ]
        .into_iter()
        .find_map(|(name, set)| set.then_some(name))
    }

    /// Refuses combinations that cannot both hold.
    pub fn validate(&self) -> Result<(), KnobError> {
        if self.corrupt_ciphertext && !self.encrypts_anything() {
            return Err(KnobError::Contradictory(
                "corrupt_ciphertext is set but nothing is encrypted (set encrypt_assertion, encrypt_name_id or encrypt_attributes)",
            ));
        }
        if self.encrypt_to == EncryptTo::WrongKey && !self.encrypts_anything() {
            return Err(KnobError::Contradictory(
                "encrypt_to = wrong-key is set but nothing is encrypted (set encrypt_assertion, encrypt_name_id or encrypt_attributes)",
            ));
        }
        if let Some(attack) = self.signature_wrapping {
            if attack.attacks_response_signature() && self.sign != SignTarget::Response {
                return Err(KnobError::Contradictory(
                    "this signature_wrapping attacks the Response's signature: it needs sign = response",
                ));
            }
            if !attack.attacks_response_signature() && self.sign != SignTarget::Assertion {
                return Err(KnobError::Contradictory(
                    "signature_wrapping attacks the assertion's signature: it needs sign = assertion",
                ));
            }
            if self.encrypts_anything() {
                return Err(KnobError::Contradictory(
                    "signature_wrapping edits the signed assertion in the clear: it cannot be combined with encryption",
                ));
            }
            if !self.status_code.is_success() {
                return Err(KnobError::Contradictory(
                    "signature_wrapping needs an assertion, but a non-success status carries none",
                ));
            }
        }
        if self.tampering.is_some() {
            if self.signature_wrapping.is_some() {
                return Err(KnobError::Contradictory(
                    "tampering and signature_wrapping both edit the signed response: set one",
                ));
            }
            if self.sign != SignTarget::Assertion {
                return Err(KnobError::Contradictory(
                    "tampering attacks the assertion's signature: it needs sign = assertion",
                ));
            }
            if self.encrypts_anything() {
                return Err(KnobError::Contradictory(
                    "tampering edits the signed assertion in the clear: it cannot be combined with encryption",
                ));
            }
            if !self.status_code.is_success() {
                return Err(KnobError::Contradictory(
                    "tampering needs an assertion, but a non-success status carries none",
                ));
            }
        }
        if self.encrypted_assertion_companion.is_some() && !self.encrypt_assertion {
            return Err(KnobError::Contradictory(
                "encrypted_assertion_companion adds an assertion beside the EncryptedAssertion: it needs encrypt_assertion",
            ));
        }
        if self
            .inclusive_namespaces
            .as_deref()
            .is_some_and(|list| list.contains(['"', '<', '&']))
        {
            return Err(KnobError::Contradictory(
                "inclusive_namespaces is a space-separated prefix list: no quotes, `<` or `&`",
            ));
        }
        if self.omit_groups && self.empty_groups {
            return Err(KnobError::Contradictory(
                "omit_groups and empty_groups are both set",
            ));
        }
        if self.group_overage && self.empty_groups {
            return Err(KnobError::Contradictory(
                "group_overage and empty_groups are both set",
            ));
        }
        if self.duplicate_groups_attribute.is_some() && (self.omit_groups || self.group_overage) {
            return Err(KnobError::Contradictory(
                "duplicate_groups_attribute repeats the groups attribute, but omit_groups or group_overage leaves it out",
            ));
        }
        if let Some(look_alike) = self.look_alike_url {
            let overridden = match look_alike.field {
                UrlField::Audience => {
                    self.audience_override.is_some() || self.omit_audience_restriction
                }
                UrlField::Recipient => self.recipient_override.is_some(),
                UrlField::Destination => {
                    self.destination_override.is_some() || self.omit_destination
                }
            };
            if overridden {
                return Err(KnobError::Contradictory(
                    "look_alike_url disguises the SP's own value, but that value is overridden or left out",
                ));
            }
        }
        if self.omit_destination && self.destination_override.is_some() {
            return Err(KnobError::Contradictory(
                "omit_destination and destination_override are both set",
            ));
        }
        if self.omit_in_response_to && self.in_response_to_override.is_some() {
            return Err(KnobError::Contradictory(
                "omit_in_response_to and in_response_to_override are both set",
            ));
        }
        if self.omit_in_response_to && self.omit_subject_in_response_to {
            return Err(KnobError::Contradictory(
                "omit_in_response_to already leaves out both InResponseTo attributes; omit_subject_in_response_to keeps the Response's",
            ));
        }
        if self.omit_audience_restriction && self.second_audience.is_some() {
            return Err(KnobError::Contradictory(
                "omit_audience_restriction leaves out the AudienceRestriction second_audience adds to",
            ));
        }
        if self.omit_audience_restriction && self.audience_override.is_some() {
            return Err(KnobError::Contradictory(
                "omit_audience_restriction and audience_override are both set",
            ));
        }
        if self.logout_carry_signed_assertion
            && !self.logout_unsigned
            && self.logout_signing_key != SigningKey::Attacker
        {
            return Err(KnobError::Contradictory(
                "logout_carry_signed_assertion makes the attacker's LogoutRequest: set logout_unsigned or logout_signing_key = attacker",
            ));
        }
        if self.logout_unsigned && self.logout_signing_key == SigningKey::Attacker {
            return Err(KnobError::Contradictory(
                "logout_unsigned and logout_signing_key = attacker are both set",
            ));
        }
        Ok(())
    }

    /// A copy with `key` set to `value`, type-checked by serde.
    fn with(&self, key: &str, value: serde_json::Value) -> Result<Knobs, KnobError> {
        let Ok(serde_json::Value::Object(mut map)) = serde_json::to_value(self) else {
            // Knobs is a plain struct of serialisable fields; serialising it cannot fail.
            return Err(KnobError::OverridesNotAnObject(
                "<knobs failed to serialise>".to_owned(),
            ));
        };
        if !map.contains_key(key) {
            return Err(KnobError::UnknownKnob {
                key: key.to_owned(),
                valid: Knobs::names().join(", "),
            });
        }
        let shown = value.to_string();
        map.insert(key.to_owned(), value);
        serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| KnobError::BadValue {
            key: key.to_owned(),
            value: shown,
            detail: e.to_string(),
        })
    }
}

/// Where and how [`Knobs::look_alike_url`] disguises one of the SP's URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookAlikeUrl {
    /// Which value is disguised.
    pub field: UrlField,
    /// How.
    pub game: UrlGame,
}

/// A place where the response names the SP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UrlField {
    /// `Conditions/AudienceRestriction/Audience` (the SP's entity ID).
    Audience,
    /// `SubjectConfirmationData/@Recipient` (the ACS URL).
    Recipient,
    /// `Response/@Destination` (the ACS URL).
    Destination,
}

/// A way of making a URL look like the SP's without being it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UrlGame {
    /// The whole value in ASCII upper case (the path of a URL is case-sensitive, RFC 3986 §6.2.2.1).
    UpperCase,
    /// A space and a newline before and after: XML whitespace, which schema `anyURI` collapses.
    XmlWhitespacePadding,
    /// A trailing U+00A0 NO-BREAK SPACE, which Unicode-aware `trim` functions remove.
    NoBreakSpaceSuffix,
    /// The last `/` replaced by U+FF0F FULLWIDTH SOLIDUS, which NFKC normalisation folds to `/`.
    FullwidthSolidus,
}

impl UrlGame {
    /// The look-alike of `value`.
    pub fn disguise(self, value: &str) -> String {
        match self {
            UrlGame::UpperCase => value.to_ascii_uppercase(),
            UrlGame::XmlWhitespacePadding => format!(" \n{value} \n"),
            UrlGame::NoBreakSpaceSuffix => format!("{value}\u{A0}"),
            UrlGame::FullwidthSolidus => match value.rfind('/') {
                Some(at) => format!("{}\u{FF0F}{}", &value[..at], &value[at + 1..]),
                None => format!("{value}\u{FF0F}"),
            },
        }
    }
}

/// One attribute of [`Knobs::extra_attributes`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraAttribute {
    /// The Attribute `Name`.
    pub name: String,
    /// The text of each AttributeValue, in order (none: an Attribute without values).
    #[serde(default)]
    pub values: Vec<String>,
}

/// A condition the SP does not understand, for [`Knobs::extra_condition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExtraCondition {
    /// `<saml:Condition xsi:type="del:DelegationRestrictionType">` (SAML 2.0 Condition for
    /// Delegation Restriction): a real, standardised condition that few SPs implement.
    DelegationRestriction,
    /// An element of a foreign namespace (`<ext:OnlyOnTuesdays
    /// xmlns:ext="urn:example:conditions"/>`).
    ForeignElement,
}

/// XML-DSig SignatureMethod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureAlgorithm {
    /// RSA PKCS#1 v1.5 with SHA-256.
    RsaSha256,
    /// RSA PKCS#1 v1.5 with SHA-384.
    RsaSha384,
    /// RSA PKCS#1 v1.5 with SHA-512.
    RsaSha512,
    /// RSA PKCS#1 v1.5 with SHA-1 (deprecated; an SP should refuse it).
    RsaSha1,
}

impl SignatureAlgorithm {
    /// The algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            SignatureAlgorithm::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            SignatureAlgorithm::RsaSha384 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
            SignatureAlgorithm::RsaSha512 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
            SignatureAlgorithm::RsaSha1 => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        }
    }
}

/// XML-DSig DigestMethod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DigestAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// SHA-1 (deprecated; an SP should refuse it).
    Sha1,
}

impl DigestAlgorithm {
    /// The algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
            DigestAlgorithm::Sha384 => "http://www.w3.org/2001/04/xmldsig-more#sha384",
            DigestAlgorithm::Sha512 => "http://www.w3.org/2001/04/xmlenc#sha512",
            DigestAlgorithm::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
        }
    }
}

/// XML Encryption key transport: how the random session key is wrapped with the recipient's RSA
/// public key. (xmlsec 1.2.37, which the mock IdP links, has neither XML Encryption 1.1's
/// `xmlenc11#rsa-oaep` nor an OAEP digest other than SHA-1, so there is no SHA-256 variant.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyTransport {
    /// RSA-OAEP with MGF1-SHA1 and a SHA-1 digest (`xmlenc#rsa-oaep-mgf1p` with an explicit
    /// `ds:DigestMethod` SHA-1), as Entra ID, ADFS and Okta send.
    #[serde(rename = "rsa-oaep")]
    RsaOaep,
    /// RSA PKCS#1 v1.5 (`xmlenc#rsa-1_5`): open to Bleichenbacher-style padding oracles; an SP
    /// should accept it only where its policy allows.
    #[serde(rename = "rsa-1_5")]
    Rsa15,
}

impl KeyTransport {
    /// The algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            KeyTransport::RsaOaep => "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
            KeyTransport::Rsa15 => "http://www.w3.org/2001/04/xmlenc#rsa-1_5",
        }
    }
}

/// XML Encryption data encryption algorithm (a block cipher with the session key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataEncryption {
    /// AES-256 in GCM (XML Encryption 1.1), authenticated.
    Aes256Gcm,
    /// AES-128 in GCM (XML Encryption 1.1), authenticated.
    Aes128Gcm,
    /// AES-256 in CBC, unauthenticated (ADFS's and older IdPs' default).
    Aes256Cbc,
    /// AES-128 in CBC, unauthenticated.
    Aes128Cbc,
}

impl DataEncryption {
    /// The algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            DataEncryption::Aes256Gcm => "http://www.w3.org/2009/xmlenc11#aes256-gcm",
            DataEncryption::Aes128Gcm => "http://www.w3.org/2009/xmlenc11#aes128-gcm",
            DataEncryption::Aes256Cbc => "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
            DataEncryption::Aes128Cbc => "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
        }
    }

    /// The session key's size in bits.
    pub fn key_bits(self) -> u32 {
        match self {
            DataEncryption::Aes256Gcm | DataEncryption::Aes256Cbc => 256,
            DataEncryption::Aes128Gcm | DataEncryption::Aes128Cbc => 128,
        }
    }
}

/// A second assertion an attacker adds beside the real `saml:EncryptedAssertion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncryptedCompanion {
    /// A forged, unsigned plaintext `saml:Assertion` before the EncryptedAssertion.
    PlainEvilBefore,
    /// The same forgery, encrypted to the SP's public key (anyone can), after the real one.
    EncryptedEvilAfter,
}

/// Whose public key the session key is encrypted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncryptTo {
    /// The SP's encryption certificate (`KnownSp::encryption_cert_pem`).
    Sp,
    /// A throwaway RSA-2048 key generated once per process, which the SP does not hold.
    WrongKey,
}

/// Which elements carry an enveloped signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignTarget {
    /// The Assertion only (Okta's and Entra ID's default).
    Assertion,
    /// The Response only; the assertion inside is covered by the response's digest.
    Response,
    /// The Assertion, then the Response around it.
    Both,
    /// Nothing: an unsigned response.
    Neither,
}

impl SignTarget {
    /// Whether the Assertion is signed.
    pub fn assertion(self) -> bool {
        matches!(self, SignTarget::Assertion | SignTarget::Both)
    }

    /// Whether the Response is signed.
    pub fn response(self) -> bool {
        matches!(self, SignTarget::Response | SignTarget::Both)
    }
}

/// Whose key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SigningKey {
    /// The IdP's key, as published in metadata.
    Idp,
    /// The attacker's key, with the attacker's certificate in KeyInfo.
    Attacker,
}

/// Attribute naming, after real IdP products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttributeStyle {
    /// Okta's usual mapping: `mail`, `givenName`, `sn`, `groups`.
    Okta,
    /// Entra ID's claim URIs (`http://schemas.xmlsoap.org/ws/2005/05/identity/claims/…`).
    Entra,
    /// A legacy application's names: `login_id`, `firstname`, `lastname`, `email`, `access`,
    /// `groups`.
    Shotgun,
}

/// How group memberships are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupFormat {
    /// Group display names.
    Names,
    /// Entra ID group object GUIDs (what Entra sends unless told otherwise).
    EntraGuids,
}

/// A SAML StatusCode URI. Deserialises from a full URN or a short name: `success`, `requester`,
/// `responder`, `version_mismatch`, `no_passive`, `authn_failed`, `request_denied`,
/// `invalid_name_id_policy`, `unknown_principal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StatusCode(String);

const STATUS_PREFIX: &str = "urn:oasis:names:tc:SAML:2.0:status:";
const STATUS_SHORT_NAMES: &[(&str, &str)] = &[
    ("success", "Success"),
    ("requester", "Requester"),
    ("responder", "Responder"),
    ("version_mismatch", "VersionMismatch"),
    ("no_passive", "NoPassive"),
    ("authn_failed", "AuthnFailed"),
    ("request_denied", "RequestDenied"),
    ("invalid_name_id_policy", "InvalidNameIDPolicy"),
    ("unknown_principal", "UnknownPrincipal"),
];

impl StatusCode {
    /// `urn:oasis:names:tc:SAML:2.0:status:Success`.
    pub fn success() -> StatusCode {
        StatusCode(format!("{STATUS_PREFIX}Success"))
    }

    /// `urn:oasis:names:tc:SAML:2.0:status:Requester`: the request was at fault.
    pub fn requester() -> StatusCode {
        StatusCode(format!("{STATUS_PREFIX}Requester"))
    }

    /// `urn:oasis:names:tc:SAML:2.0:status:Responder`: the IdP could not answer as asked.
    pub fn responder() -> StatusCode {
        StatusCode(format!("{STATUS_PREFIX}Responder"))
    }

    /// `urn:oasis:names:tc:SAML:2.0:status:NoPassive`: a passive request needs the user.
    pub fn no_passive() -> StatusCode {
        StatusCode(format!("{STATUS_PREFIX}NoPassive"))
    }

    /// The full URI.
    pub fn uri(&self) -> &str {
        &self.0
    }

    /// Whether this is Success.
    pub fn is_success(&self) -> bool {
        *self == StatusCode::success()
    }
}

impl TryFrom<String> for StatusCode {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if let Some((_, suffix)) = STATUS_SHORT_NAMES.iter().find(|(short, _)| *short == value) {
            return Ok(StatusCode(format!("{STATUS_PREFIX}{suffix}")));
        }
        if value.starts_with("urn:") {
            return Ok(StatusCode(value));
        }
        let shorts: Vec<&str> = STATUS_SHORT_NAMES.iter().map(|(short, _)| *short).collect();
        Err(format!(
            "`{value}` is neither a status URN nor one of {}",
            shorts.join(", ")
        ))
    }
}

impl From<StatusCode> for String {
    fn from(code: StatusCode) -> String {
        code.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_knob_has_a_description_and_fields_are_the_serialised_names_in_order() {
        for field in Knobs::FIELDS {
            assert!(
                field.description().len() > 10,
                "{} has no description",
                field.name
            );
        }
        let json = serde_json::to_value(Knobs::default()).expect("serialise");
        let serialised: Vec<&str> = json
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut declared: Vec<&str> = Knobs::FIELDS.iter().map(|f| f.name).collect();
        declared.sort_unstable();
        assert_eq!(declared, serialised);
        let described = Knobs::FIELDS
            .iter()
            .find(|f| f.name == "signature_wrapping")
            .expect("signature_wrapping")
            .description();
        assert!(
            described.starts_with("Applies an XML signature-wrapping attack")
                && described.contains("(see `crate::attacks`). Needs"),
            "{described}"
        );
    }

    #[test]
    fn sections_are_contiguous_and_in_declaration_order() {
        let mut order: Vec<Section> = Knobs::FIELDS.iter().map(|f| f.section).collect();
        order.dedup();
        assert_eq!(order, Section::ALL);
        assert_eq!(Knobs::section_of("logout_unsigned"), Some(Section::Logout));
        assert_eq!(Knobs::section_of("forbid_framing"), Some(Section::Pages));
        assert_eq!(Knobs::section_of("unsigned"), None);
    }

    #[test]
    fn knobs_are_refused_where_nothing_reads_them() {
        let base = Knobs::default();
        let mut knobs = base.clone();
        knobs.validity_secs = 60;
        knobs
            .refuse_outside(&base, Reader::Response)
            .expect("a response knob");
        let err = knobs
            .refuse_outside(&base, Reader::Logout)
            .expect_err("a response knob for a logout");
        assert!(
            err.to_string()
                .starts_with("validity_secs: not read by a logout message"),
            "{err}"
        );
        knobs.validity_secs = base.validity_secs;
        knobs.logout_unsigned = true;
        knobs.forbid_framing = true;
        let err = knobs
            .refuse_outside(&base, Reader::Response)
            .expect_err("logout and page knobs for a response");
        assert!(
            err.to_string()
                .starts_with("logout_unsigned, forbid_framing: not read by a minted response"),
            "{err}"
        );
        let framed = Knobs {
            forbid_framing: true,
            ..Knobs::default()
        };
        let mut queued = framed.clone();
        queued.omit_groups = true;
        queued
            .refuse_outside(&framed, Reader::Response)
            .expect("only what differs from the base counts");
    }

    #[test]
    fn unsigned_logout_signed_by_the_attacker_is_contradictory() {
        let mut knobs = Knobs::default();
        knobs.set("logout_unsigned", "true").expect("bool");
        knobs.validate().expect("unsigned alone");
        knobs
            .set("logout_signing_key", "attacker")
            .expect("attacker");
        assert!(matches!(knobs.validate(), Err(KnobError::Contradictory(_))));
    }

    #[test]
    fn set_parses_json_then_falls_back_to_text() {
        let mut knobs = Knobs::default();
        knobs.set("validity_secs", "60").expect("number");
        knobs
            .set("signature_algorithm", "rsa-sha1")
            .expect("bare enum name");
        knobs
            .set("audience_override", "123")
            .expect("number-looking text");
        knobs.set("omit_groups", "true").expect("bool");
        knobs
            .set("session_not_on_or_after_secs", "null")
            .expect("null");
        knobs
            .set("status_code", "no_passive")
            .expect("short status");
        assert_eq!(knobs.validity_secs, 60);
        assert_eq!(knobs.signature_algorithm, SignatureAlgorithm::RsaSha1);
        assert_eq!(knobs.audience_override.as_deref(), Some("123"));
        assert!(knobs.omit_groups);
        assert_eq!(knobs.session_not_on_or_after_secs, None);
        assert_eq!(
            knobs.status_code.uri(),
            "urn:oasis:names:tc:SAML:2.0:status:NoPassive"
        );
    }

    #[test]
    fn set_refuses_unknown_key_naming_it_and_the_valid_ones() {
        let err = Knobs::default()
            .set("validty_secs", "60")
            .expect_err("typo");
        let message = err.to_string();
        assert!(message.contains("`validty_secs`"), "{message}");
        assert!(message.contains("validity_secs"), "{message}");
    }

    #[test]
    fn set_refuses_bad_values_and_leaves_knobs_unchanged() {
        let mut knobs = Knobs::default();
        let err = knobs
            .set("validity_secs", "soon")
            .expect_err("not a number");
        assert!(err.to_string().contains("validity_secs"), "{err}");
        assert!(knobs.set("signature_algorithm", "rsa-md5").is_err());
        assert!(knobs.set("status_code", "fine").is_err());
        assert_eq!(knobs, Knobs::default());
    }

    #[test]
    fn serde_round_trip_and_kebab_enums() {
        let mut knobs = Knobs::default();
        knobs.set("group_format", "entra-guids").expect("set");
        let json = serde_json::to_value(&knobs).expect("serialise");
        assert_eq!(json["signature_algorithm"], "rsa-sha256");
        assert_eq!(json["group_format"], "entra-guids");
        let back: Knobs = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, knobs);
    }

    #[test]
    fn deserialise_defaults_missing_fields_and_denies_unknown_ones() {
        let knobs: Knobs = serde_json::from_str(r#"{"sign": "both"}"#).expect("partial");
        assert_eq!(
            knobs,
            Knobs {
                sign: SignTarget::Both,
                ..Knobs::default()
            }
        );
        let err = serde_json::from_str::<Knobs>(r#"{"sing": "both"}"#).expect_err("unknown field");
        assert!(err.to_string().contains("sing"), "{err}");
    }

    #[test]
    fn encryption_knobs_parse_and_faults_without_encryption_are_refused() {
        let mut knobs = Knobs::default();
        assert!(!knobs.encrypts_anything());
        knobs.set("key_transport", "rsa-1_5").expect("rsa-1_5");
        knobs
            .set("data_encryption", "aes128-cbc")
            .expect("aes128-cbc");
        assert_eq!(knobs.key_transport, KeyTransport::Rsa15);
        assert_eq!(knobs.data_encryption, DataEncryption::Aes128Cbc);
        assert!(knobs.set("key_transport", "rsa-oaep-sha256").is_err());
        knobs.validate().expect("algorithms alone are fine");
        knobs.set("corrupt_ciphertext", "true").expect("bool");
        assert!(matches!(knobs.validate(), Err(KnobError::Contradictory(_))));
        knobs.corrupt_ciphertext = false;
        knobs.set("encrypt_to", "wrong-key").expect("wrong-key");
        assert!(matches!(knobs.validate(), Err(KnobError::Contradictory(_))));
        knobs.set("encrypt_name_id", "true").expect("bool");
        knobs.validate().expect("encrypting to the wrong key");
        assert_eq!(knobs.first_encryption_knob(), Some("encrypt_name_id"));
    }

    #[test]
    fn overrides_apply_on_top_and_contradictions_are_refused() {
        let mut knobs = Knobs::default();
        knobs
            .apply_overrides(&serde_json::json!({"omit_groups": true}))
            .expect("apply");
        assert!(knobs.omit_groups);
        knobs
            .apply_overrides(&serde_json::json!({"empty_groups": true}))
            .expect("apply");
        assert!(matches!(knobs.validate(), Err(KnobError::Contradictory(_))));
        assert!(knobs.apply_overrides(&serde_json::json!([1])).is_err());
    }
}
