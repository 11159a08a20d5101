//! Builds a SAML Response as text, shaped like Okta's and Entra ID's, with the faults the
//! [`Knobs`] ask for, then signs it (see [`crate::dsig`]).

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::dsig::{self, SignError, Signed};
use crate::keys::{IdpKeys, SigningIdentity};
use crate::knobs::{
    AttributeStyle, DigestAlgorithm, EncryptTo, EncryptedCompanion, ExtraCondition, GroupFormat,
    KnobError, Knobs, SignatureAlgorithm, SigningKey, StatusCode, UrlField,
};
use crate::users::User;
use crate::xml::{ASSERTION_NS, Attr, DSIG_NS, PROTOCOL_NS, XmlWriter};
use crate::xmlenc::{self, EncryptError, Recipient, Stage, Template};

/// Everything one minted response depends on. Nothing else (no global clock, no global RNG).
pub struct MintParams<'a> {
    /// The IdP's entity ID (Issuer, unless `issuer_override`).
    pub idp_entity_id: String,
    /// The SP's entity ID (Audience, unless `audience_override`).
    pub sp_entity_id: String,
    /// The ACS URL the response is posted to (Destination and Recipient, unless overridden).
    pub acs_url: String,
    /// Who signed in.
    pub user: &'a User,
    /// The AuthnRequest ID being answered; `None` for an unsolicited (IdP-initiated) response.
    pub in_response_to: Option<String>,
    /// The IdP's "now", before `clock_offset_secs`.
    pub now: OffsetDateTime,
    /// The faults to inject.
    pub knobs: &'a Knobs,
    /// The IdP's and attacker's keys.
    pub keys: &'a IdpKeys,
    /// Where Response, Assertion and session IDs come from.
    pub ids: &'a dyn IdSource,
    /// The AuthnStatement SessionIndex; `None` draws one from `ids`.
    pub session_index: Option<String>,
    /// The SP's `use="encryption"` certificate (PEM), which the encryption knobs encrypt to.
    /// `None`: the SP has none, and a response the knobs ask to encrypt is
    /// [`MintError::NoEncryptionCertificate`].
    pub sp_encryption_cert_pem: Option<&'a str>,
}

/// A minted response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    /// The whole (signed) XML document.
    pub xml: String,
    /// The Response ID.
    pub response_id: String,
    /// The Assertion ID; `None` when a non-success status carries no assertion.
    pub assertion_id: Option<String>,
    /// The AuthnStatement SessionIndex; `None` when there is no assertion.
    pub session_index: Option<String>,
}

impl Minted {
    /// The XML base64-encoded, as the HTTP-POST binding's `SAMLResponse` parameter carries it.
    pub fn saml_response_param(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.xml)
    }

    /// The `SAMLResponse` form value as the IdP posts it: [`Minted::saml_response_param`], damaged
    /// in transit when `knobs.form_value_not_base64` asks.
    pub fn form_value(&self, knobs: &Knobs) -> String {
        let mut value = self.saml_response_param();
        if knobs.form_value_not_base64 {
            // Base64 is ASCII, so every index is a character boundary.
            value.insert(value.len() / 2, '*');
        }
        value
    }
}

/// Why a response could not be minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MintError {
    /// The knobs contradict each other.
    #[error(transparent)]
    KnobsRefused(#[from] KnobError),
    /// A clock or validity knob pushes a timestamp beyond what xs:dateTime can write.
    #[error("knob `{knob}` pushes a timestamp out of range")]
    TimestampOutOfRange {
        /// The knob to blame.
        knob: &'static str,
    },
    /// Signing failed.
    #[error(transparent)]
    SigningFailed(#[from] SignError),
    /// A knob asks to encrypt, but there is no SP encryption certificate to encrypt to.
    #[error(
        "knob `{knob}` asks to encrypt, but the SP has no encryption certificate \
         (KnownSp::encryption_cert_pem, the SP metadata's use=\"encryption\" KeyDescriptor)"
    )]
    NoEncryptionCertificate {
        /// The encryption knob that is set.
        knob: &'static str,
    },
    /// Encrypting failed.
    #[error(transparent)]
    EncryptionFailed(#[from] EncryptError),
    /// The `signature_wrapping` attack could not be applied.
    #[error(transparent)]
    AttackFailed(#[from] crate::attacks::AttackError),
    /// The `tampering` attack could not be applied.
    #[error(transparent)]
    TamperingFailed(#[from] crate::tampering::TamperError),
    /// The `encrypted_assertion_companion` could not be built (a minter bug).
    #[error("encrypted_assertion_companion: could not {0}")]
    CompanionFailed(&'static str),
}

/// A source of XML IDs (`xs:ID`: must start with a letter or `_`).
pub trait IdSource: Send + Sync {
    /// The next ID.
    fn next_id(&self) -> String;
}

/// 160 random bits in hex after `_`, like Okta's and Shibboleth's IDs.
#[derive(Debug, Default)]
pub struct RandomIds;

impl IdSource for RandomIds {
    fn next_id(&self) -> String {
        let bytes: [u8; 20] = rand::random();
        let mut id = String::with_capacity(41);
        id.push('_');
        for byte in bytes {
            id.push_str(&format!("{byte:02x}"));
        }
        id
    }
}

/// `_000…001`, `_000…002`, …: the same shape as [`RandomIds`], but reproducible.
#[derive(Debug)]
pub struct CounterIds {
    next: AtomicU64,
}

impl CounterIds {
    /// A counter whose first ID ends in `1`.
    pub fn new() -> CounterIds {
        CounterIds {
            next: AtomicU64::new(1),
        }
    }
}

impl Default for CounterIds {
    fn default() -> Self {
        CounterIds::new()
    }
}

impl IdSource for CounterIds {
    fn next_id(&self) -> String {
        format!("_{:040x}", self.next.fetch_add(1, Ordering::Relaxed))
    }
}

const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const ENTITY_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";
const PASSWORD_PROTECTED_TRANSPORT: &str =
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
const ATTRNAME_BASIC: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const XS_NS: &str = "http://www.w3.org/2001/XMLSchema";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
const DELEGATION_NS: &str = "urn:oasis:names:tc:SAML:2.0:conditions:delegation";
const TIMESTAMP: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// Mints one response: builds the XML, then signs what `knobs.sign` asks for and encrypts what
/// the encryption knobs ask for, in the order real IdPs do: NameID and attributes are encrypted
/// first, then the assertion is signed, then encrypted, then the Response is signed.
pub fn mint_response(params: &MintParams<'_>) -> Result<Minted, MintError> {
    let knobs = params.knobs;
    knobs.validate()?;
    let times = Times::new(params.now, knobs)?;
    let response_id = params.ids.next_id();
    let assertion_id = knobs.status_code.is_success().then(|| {
        knobs
            .assertion_id_override
            .clone()
            .unwrap_or_else(|| params.ids.next_id())
    });
    let session_index = params
        .session_index
        .clone()
        .unwrap_or_else(|| params.ids.next_id());
    let signer = match knobs.signing_key {
        SigningKey::Idp => &params.keys.idp,
        SigningKey::Attacker => &params.keys.attacker,
    };
    let in_response_to = match (&knobs.in_response_to_override, knobs.omit_in_response_to) {
        (_, true) => None,
        (Some(forced), false) => Some(forced.as_str()),
        (None, false) => params.in_response_to.as_deref(),
    };
    let issuer = knobs
        .issuer_override
        .as_deref()
        .unwrap_or(&params.idp_entity_id);
    let destination = match knobs.omit_destination {
        true => None,
        false => Some(look_alike(
            knobs,
            UrlField::Destination,
            knobs
                .destination_override
                .as_deref()
                .unwrap_or(&params.acs_url),
        )),
    };

    let recipient = match (&assertion_id, knobs.first_encryption_knob()) {
        (Some(_), Some(knob)) => Some(match knobs.encrypt_to {
            EncryptTo::Sp => Recipient::from_cert_pem(
                params
                    .sp_encryption_cert_pem
                    .ok_or(MintError::NoEncryptionCertificate { knob })?,
            )?,
            EncryptTo::WrongKey => Recipient::throwaway()?,
        }),
        _ => None,
    };
    let template = Template {
        data: knobs.data_encryption,
        transport: knobs.key_transport,
    };

    let root = match &knobs.document_element_override {
        Some(local) => format!("samlp:{local}"),
        None => "samlp:Response".to_owned(),
    };
    let mut w = XmlWriter::new(knobs.compact_xml);
    w.start(
        &root,
        &[
            ("xmlns:samlp", Some(PROTOCOL_NS)),
            ("xmlns:saml", Some(ASSERTION_NS)),
            ("ID", Some(&response_id)),
            ("Version", Some("2.0")),
            ("IssueInstant", Some(&times.issue)),
            ("Destination", destination.as_deref()),
            ("InResponseTo", in_response_to),
        ],
    );
    w.text("saml:Issuer", &[("Format", Some(ENTITY_FORMAT))], issuer);
    if knobs.sign.response() {
        write_signature_template(
            &mut w,
            &response_id,
            knobs.signature_algorithm,
            knobs.digest_algorithm,
            signer,
        );
    }
    write_status(&mut w, knobs);
    if let Some(assertion_id) = &assertion_id {
        let assertion = AssertionParts {
            id: assertion_id,
            issuer,
            in_response_to: in_response_to.filter(|_| !knobs.omit_subject_in_response_to),
            session_index: &session_index,
        };
        if knobs.encrypt_assertion {
            w.start("saml:EncryptedAssertion", &[]);
        }
        write_assertion(&mut w, params, &assertion, &times, signer, &template);
        if knobs.encrypt_assertion {
            template.write(&mut w);
            w.end("saml:EncryptedAssertion");
        }
    }
    w.end(&root);
    let unsigned = w.finish();
    let unsigned = match &knobs.inclusive_namespaces {
        Some(prefixes) => with_inclusive_namespaces(&unsigned, prefixes),
        None => unsigned,
    };
    if let Some(recipient) = &recipient {
        let mut xml = sign_and_encrypt(unsigned.clone(), knobs, &signer.key_pem, recipient)?;
        if let Some(companion) = knobs.encrypted_assertion_companion {
            xml = add_companion(&xml, &unsigned, companion, recipient, knobs)?;
        }
        return Ok(Minted {
            xml,
            response_id,
            session_index: Some(session_index),
            assertion_id,
        });
    }

    // Assertion first: the Response's digest must cover the assertion's finished signature.
    let mut targets = Vec::with_capacity(2);
    if knobs.sign.assertion() && assertion_id.is_some() {
        targets.push(Signed::Assertion);
    }
    if knobs.sign.response() {
        targets.push(Signed::Response);
    }
    let unsigned = match knobs.tampering {
        Some(attack) => crate::tampering::before_signing(&unsigned, attack)?,
        None => unsigned,
    };
    let mut xml = dsig::sign(&unsigned, &signer.key_pem, &targets)?;
    if let Some(attack) = knobs.signature_wrapping {
        xml = crate::attacks::apply(&xml, attack)?;
    }
    if let Some(attack) = knobs.tampering {
        xml = crate::tampering::apply(&xml, attack, &params.keys.idp.cert_pem)?;
    }
    if let Some(len) = knobs.truncate_to_bytes {
        // Cut at a character boundary at or before `len`: the String stays UTF-8.
        let cut = (0..=len.min(xml.len()))
            .rev()
            .find(|&i| xml.is_char_boundary(i))
            .unwrap_or(0);
        xml.truncate(cut);
    }
    Ok(Minted {
        xml,
        response_id,
        session_index: assertion_id.is_some().then_some(session_index),
        assertion_id,
    })
}

/// `unsigned` with `<ec:InclusiveNamespaces PrefixList="prefixes"/>` in every signature
/// template's exclusive C14N Reference transform (knob `inclusive_namespaces`).
fn with_inclusive_namespaces(unsigned: &str, prefixes: &str) -> String {
    let plain = format!(r#"<ds:Transform Algorithm="{EXC_C14N}"/>"#);
    let listed = format!(
        r#"<ds:Transform Algorithm="{EXC_C14N}"><ec:InclusiveNamespaces xmlns:ec="{EXC_C14N}" PrefixList="{prefixes}"/></ds:Transform>"#
    );
    unsigned.replace(&plain, &listed)
}

/// Knob `encrypted_assertion_companion`: a forged, unsigned copy of the assertion (ID `_evil…`,
/// NameID [`crate::attacks::ATTACKER_NAME_ID`]) taken from the unsigned template, added in the
/// clear before the real EncryptedAssertion or encrypted to the SP's key after it.
fn add_companion(
    xml: &str,
    unsigned: &str,
    companion: EncryptedCompanion,
    recipient: &Recipient,
    knobs: &Knobs,
) -> Result<String, MintError> {
    let failed = |what: &'static str| MintError::CompanionFailed(what);
    let slice = |text: &str, open: &str, close: &str| -> Option<(usize, usize)> {
        let start = text.find(open)?;
        let end = start + text[start..].find(close)? + close.len();
        Some((start, end))
    };
    let (a, b) = slice(unsigned, "<saml:Assertion ", "</saml:Assertion>")
        .ok_or(failed("find the assertion in the template"))?;
    let mut evil = unsigned[a..b].to_owned();
    if let Some((s, e)) = slice(&evil, "<ds:Signature", "</ds:Signature>") {
        evil.replace_range(s..e, "");
    }
    let id_at = evil
        .find(r#"ID="_"#)
        .ok_or(failed("find the assertion ID"))?
        + 5;
    evil.insert_str(id_at, "evil");
    let (n, m) = slice(&evil, "<saml:NameID", "</saml:NameID>").ok_or(failed("find the NameID"))?;
    let open_end = n + evil[n..].find('>').ok_or(failed("read the NameID"))? + 1;
    evil.replace_range(
        open_end..m - "</saml:NameID>".len(),
        crate::attacks::ATTACKER_NAME_ID,
    );
    let encrypted_open = "<saml:EncryptedAssertion";
    let mut out = xml.to_owned();
    match companion {
        EncryptedCompanion::PlainEvilBefore => {
            let at = out
                .find(encrypted_open)
                .ok_or(failed("find the EncryptedAssertion"))?;
            out.insert_str(at, &evil);
        }
        EncryptedCompanion::EncryptedEvilAfter => {
            let mut evil_response = unsigned.to_owned();
            evil_response.replace_range(a..b, &evil);
            let encrypted = xmlenc::encrypt(
                &evil_response,
                Stage::Assertion,
                recipient,
                knobs.data_encryption,
                false,
            )?;
            let close = "</saml:EncryptedAssertion>";
            let (s, e) = slice(&encrypted, encrypted_open, close)
                .ok_or(failed("find the forged EncryptedAssertion"))?;
            let at = out
                .find(close)
                .ok_or(failed("find the EncryptedAssertion's end"))?
                + close.len();
            out.insert_str(at, &encrypted[s..e]);
        }
    }
    Ok(out)
}

/// The encrypting path of [`mint_response`]: encrypt NameID and attributes, sign the assertion,
/// encrypt it, sign the Response.
fn sign_and_encrypt(
    unsigned: String,
    knobs: &Knobs,
    key_pem: &str,
    recipient: &Recipient,
) -> Result<String, MintError> {
    let (data, corrupt) = (knobs.data_encryption, knobs.corrupt_ciphertext);
    let mut xml = unsigned;
    if knobs.encrypt_name_id || knobs.encrypt_attributes {
        xml = xmlenc::encrypt(&xml, Stage::InsideAssertion, recipient, data, corrupt)?;
    }
    if knobs.sign.assertion() {
        xml = dsig::sign(&xml, key_pem, &[Signed::Assertion])?;
    }
    if knobs.encrypt_assertion {
        xml = xmlenc::encrypt(&xml, Stage::Assertion, recipient, data, corrupt)?;
    }
    if knobs.sign.response() {
        xml = dsig::sign(&xml, key_pem, &[Signed::Response])?;
    }
    Ok(xml)
}

/// A Response that carries only a Status, no assertion (e.g. Responder/NoPassive).
pub struct StatusOnly<'a> {
    /// The IdP's entity ID (the Issuer).
    pub idp_entity_id: &'a str,
    /// The ACS URL (the Destination).
    pub acs_url: &'a str,
    /// The AuthnRequest ID being answered.
    pub in_response_to: Option<&'a str>,
    /// The IdP's "now".
    pub now: OffsetDateTime,
    /// Top-level StatusCode.
    pub status: &'a StatusCode,
    /// Second-level StatusCode.
    pub sub_status: Option<&'a StatusCode>,
    /// Where the Response ID comes from.
    pub ids: &'a dyn IdSource,
}

/// Mints a status-only Response. It is unsigned, as Okta and Entra ID send their error
/// responses: there is no assertion to protect, and an SP must not trust its status for access.
pub fn mint_status_response(params: &StatusOnly<'_>) -> Result<Minted, MintError> {
    let knobs = Knobs {
        status_code: params.status.clone(),
        sub_status_code: params.sub_status.cloned(),
        ..Knobs::default()
    };
    let issue = format_timestamp(params.now).ok_or(MintError::TimestampOutOfRange {
        knob: "clock_offset_secs",
    })?;
    let response_id = params.ids.next_id();
    let mut w = XmlWriter::new(false);
    w.start(
        "samlp:Response",
        &[
            ("xmlns:samlp", Some(PROTOCOL_NS)),
            ("xmlns:saml", Some(ASSERTION_NS)),
            ("ID", Some(&response_id)),
            ("Version", Some("2.0")),
            ("IssueInstant", Some(&issue)),
            ("Destination", Some(params.acs_url)),
            ("InResponseTo", params.in_response_to),
        ],
    );
    w.text(
        "saml:Issuer",
        &[("Format", Some(ENTITY_FORMAT))],
        params.idp_entity_id,
    );
    write_status(&mut w, &knobs);
    w.end("samlp:Response");
    Ok(Minted {
        xml: w.finish(),
        response_id,
        assertion_id: None,
        session_index: None,
    })
}

/// `t` as an xs:dateTime in UTC, as every minted timestamp is written.
pub(crate) fn format_timestamp(t: OffsetDateTime) -> Option<String> {
    // `to_offset` panics when the UTC form lies past year 9999 (a control-API clock set to
    // `9999-12-31T23:00:00-05:00`); such an instant has no timestamp to write.
    t.checked_to_offset(UtcOffset::UTC)?.format(TIMESTAMP).ok()
}

/// Every timestamp of one response, already formatted.
struct Times {
    issue: String,
    not_before: String,
    not_on_or_after: String,
    /// SubjectConfirmationData's; `not_on_or_after` unless `subject_confirmation_validity_secs`.
    subject_not_on_or_after: String,
    session_not_on_or_after: Option<String>,
}

impl Times {
    fn new(now: OffsetDateTime, knobs: &Knobs) -> Result<Times, MintError> {
        let shift = |base: OffsetDateTime, secs: i64, knob: &'static str| {
            base.checked_add(Duration::seconds(secs))
                .and_then(format_timestamp)
                .ok_or(MintError::TimestampOutOfRange { knob })
        };
        let issue = now
            .checked_add(Duration::seconds(knobs.clock_offset_secs))
            .ok_or(MintError::TimestampOutOfRange {
                knob: "clock_offset_secs",
            })?;
        let not_on_or_after = match &knobs.not_on_or_after_override {
            Some(text) => text.clone(),
            None => shift(issue, knobs.validity_secs, "validity_secs")?,
        };
        Ok(Times {
            issue: shift(issue, 0, "clock_offset_secs")?,
            not_before: shift(
                issue,
                knobs.not_before_offset_secs,
                "not_before_offset_secs",
            )?,
            subject_not_on_or_after: match knobs.subject_confirmation_validity_secs {
                Some(secs) => shift(issue, secs, "subject_confirmation_validity_secs")?,
                None => not_on_or_after.clone(),
            },
            not_on_or_after,
            session_not_on_or_after: match &knobs.session_not_on_or_after_override {
                Some(text) => Some(text.clone()),
                None => knobs
                    .session_not_on_or_after_secs
                    .map(|secs| shift(issue, secs, "session_not_on_or_after_secs"))
                    .transpose()?,
            },
        })
    }
}

struct AssertionParts<'a> {
    id: &'a str,
    issuer: &'a str,
    in_response_to: Option<&'a str>,
    session_index: &'a str,
}

fn write_status(w: &mut XmlWriter, knobs: &Knobs) {
    w.start("samlp:Status", &[]);
    let top = [("Value", Some(knobs.status_code.uri()))];
    match &knobs.sub_status_code {
        Some(sub) => {
            w.start("samlp:StatusCode", &top);
            w.empty("samlp:StatusCode", &[("Value", Some(sub.uri()))]);
            w.end("samlp:StatusCode");
        }
        None => w.empty("samlp:StatusCode", &top),
    }
    w.end("samlp:Status");
}

fn write_assertion(
    w: &mut XmlWriter,
    params: &MintParams<'_>,
    parts: &AssertionParts<'_>,
    times: &Times,
    signer: &SigningIdentity,
    template: &Template,
) {
    let knobs = params.knobs;
    // An encrypted element is decrypted on its own, so it declares the namespace it uses.
    let own_saml_ns = |encrypted: bool| encrypted.then_some(ASSERTION_NS);
    w.start(
        "saml:Assertion",
        &[
            ("xmlns:saml", own_saml_ns(knobs.encrypt_assertion)),
            ("ID", Some(parts.id)),
            ("Version", Some("2.0")),
            ("IssueInstant", Some(&times.issue)),
        ],
    );
    if !knobs.omit_assertion_issuer {
        w.text(
            "saml:Issuer",
            &[("Format", Some(ENTITY_FORMAT))],
            parts.issuer,
        );
    }
    if knobs.sign.assertion() {
        write_signature_template(
            w,
            parts.id,
            knobs.signature_algorithm,
            knobs.digest_algorithm,
            signer,
        );
    }

    if !knobs.omit_subject {
        w.start("saml:Subject", &[]);
        let name_id = knobs.name_id_value.as_deref().unwrap_or(&params.user.email);
        if knobs.encrypt_name_id {
            w.start("saml:EncryptedID", &[]);
        }
        w.text(
            "saml:NameID",
            &[
                ("xmlns:saml", own_saml_ns(knobs.encrypt_name_id)),
                ("Format", Some(&knobs.name_id_format)),
            ],
            name_id,
        );
        if knobs.encrypt_name_id {
            template.write(w);
            w.end("saml:EncryptedID");
        }
        w.start(
            "saml:SubjectConfirmation",
            &[(
                "Method",
                Some(
                    knobs
                        .subject_confirmation_method
                        .as_deref()
                        .unwrap_or(BEARER),
                ),
            )],
        );
        let recipient = &look_alike(
            knobs,
            UrlField::Recipient,
            knobs
                .recipient_override
                .as_deref()
                .unwrap_or(&params.acs_url),
        );
        w.empty(
            "saml:SubjectConfirmationData",
            &[
                (
                    "InResponseTo",
                    knobs
                        .subject_in_response_to_override
                        .as_deref()
                        .or(parts.in_response_to),
                ),
                ("NotOnOrAfter", Some(&times.subject_not_on_or_after)),
                ("Recipient", Some(recipient)),
            ],
        );
        w.end("saml:SubjectConfirmation");
        w.end("saml:Subject");
    }

    let validity = [
        ("NotBefore", Some(times.not_before.as_str())),
        ("NotOnOrAfter", Some(&times.not_on_or_after)),
    ];
    let has_conditions = !knobs.omit_audience_restriction
        || knobs.one_time_use
        || knobs.extra_condition.is_some()
        || knobs.proxy_restriction.is_some();
    if has_conditions {
        w.start("saml:Conditions", &validity);
        if !knobs.omit_audience_restriction {
            w.start("saml:AudienceRestriction", &[]);
            let audience = &look_alike(
                knobs,
                UrlField::Audience,
                knobs
                    .audience_override
                    .as_deref()
                    .unwrap_or(&params.sp_entity_id),
            );
            w.text("saml:Audience", &[], audience);
            if let Some(second) = &knobs.second_audience {
                w.text("saml:Audience", &[], second);
            }
            w.end("saml:AudienceRestriction");
        }
        if knobs.one_time_use {
            w.empty("saml:OneTimeUse", &[]);
        }
        write_extra_conditions(w, knobs);
        w.end("saml:Conditions");
    } else {
        w.empty("saml:Conditions", &validity);
    }
    if knobs.advice_assertion {
        write_advice(w, parts.id, times);
    }

    w.start(
        "saml:AuthnStatement",
        &[
            ("AuthnInstant", Some(&times.issue)),
            ("SessionIndex", Some(parts.session_index)),
            (
                "SessionNotOnOrAfter",
                times.session_not_on_or_after.as_deref(),
            ),
        ],
    );
    w.start("saml:AuthnContext", &[]);
    w.text(
        "saml:AuthnContextClassRef",
        &[],
        knobs
            .authn_context_class_ref_override
            .as_deref()
            .unwrap_or(PASSWORD_PROTECTED_TRANSPORT),
    );
    w.end("saml:AuthnContext");
    w.end("saml:AuthnStatement");

    write_attributes(w, params.user, knobs, template);
    w.end("saml:Assertion");
}

/// The `proxy_restriction` and `extra_condition` knobs' elements, after the AudienceRestriction.
fn write_extra_conditions(w: &mut XmlWriter, knobs: &Knobs) {
    if let Some(count) = knobs.proxy_restriction {
        w.start(
            "saml:ProxyRestriction",
            &[("Count", Some(&count.to_string()))],
        );
        w.text("saml:Audience", &[], "https://proxy.example/");
        w.end("saml:ProxyRestriction");
    }
    match knobs.extra_condition {
        None => {}
        Some(ExtraCondition::DelegationRestriction) => {
            w.start(
                "saml:Condition",
                &[
                    ("xmlns:xsi", Some(XSI_NS)),
                    ("xmlns:del", Some(DELEGATION_NS)),
                    ("xsi:type", Some("del:DelegationRestrictionType")),
                ],
            );
            w.start("del:Delegate", &[]);
            w.text("saml:NameID", &[], "https://proxy.example/");
            w.end("del:Delegate");
            w.end("saml:Condition");
        }
        Some(ExtraCondition::ForeignElement) => w.empty(
            "ext:OnlyOnTuesdays",
            &[("xmlns:ext", Some("urn:example:conditions"))],
        ),
    }
}

/// The identity the `advice_assertion` knob's nested assertion names (never to be signed in).
pub const ADVICE_NAME_ID: &str = "attacker@evil.example";

/// `saml:Advice` with one unsigned assertion of an upstream IdP (the `advice_assertion` knob).
fn write_advice(w: &mut XmlWriter, outer_id: &str, times: &Times) {
    let id = format!("{outer_id}-advice");
    w.start("saml:Advice", &[]);
    w.start(
        "saml:Assertion",
        &[
            ("ID", Some(&id)),
            ("Version", Some("2.0")),
            ("IssueInstant", Some(&times.issue)),
        ],
    );
    w.text("saml:Issuer", &[], "https://upstream-idp.example/");
    w.start("saml:Subject", &[]);
    w.text("saml:NameID", &[], ADVICE_NAME_ID);
    w.end("saml:Subject");
    w.start("saml:AttributeStatement", &[]);
    w.start("saml:Attribute", &[("Name", Some("groups"))]);
    w.text("saml:AttributeValue", &[], "admins");
    w.end("saml:Attribute");
    w.start("saml:Attribute", &[("Name", Some("mail"))]);
    w.text("saml:AttributeValue", &[], ADVICE_NAME_ID);
    w.end("saml:Attribute");
    w.end("saml:AttributeStatement");
    w.end("saml:Assertion");
    w.end("saml:Advice");
}

/// The claim Entra ID sends instead of the groups when a user is in too many (over 150) groups.
pub const GROUPS_LINK: &str = "http://schemas.microsoft.com/claims/groups.link";

/// The mock Entra tenant ID written into `groups.link` URLs.
pub const MOCK_ENTRA_TENANT_ID: &str = "8c1a6f3e-2b4d-4e5f-9a0b-1c2d3e4f5a6b";

/// The Graph URL of the groups.link claim: `…/{tenant}/users/{object-id}/getMemberObjects`.
/// `User` has no object ID, so a stable GUID-shaped one is derived from the login (FNV-1a, 128
/// bits): the same user always gets the same URL, and no two demo users collide.
pub fn groups_link(user: &User) -> String {
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for byte in user.login.bytes() {
        hash ^= u128::from(byte);
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    let hex = format!("{hash:032x}");
    let object_id = format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
    format!("https://graph.windows.net/{MOCK_ENTRA_TENANT_ID}/users/{object_id}/getMemberObjects")
}

/// One SAML Attribute: name and values.
struct Attribute<'a> {
    name: &'a str,
    values: Vec<String>,
}

fn write_attributes(w: &mut XmlWriter, user: &User, knobs: &Knobs, template: &Template) {
    let style = knobs.attribute_style;
    let one = |name: &'static str, value: &str| Attribute {
        name,
        values: vec![value.to_owned()],
    };
    let mut attributes = match style {
        AttributeStyle::Okta => vec![
            one("mail", &user.email),
            one("givenName", &user.first_name),
            one("sn", &user.last_name),
        ],
        AttributeStyle::Entra => vec![
            one(
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                &user.email,
            ),
            one(
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
                &user.first_name,
            ),
            one(
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
                &user.last_name,
            ),
            one(
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
                &user.email,
            ),
        ],
        AttributeStyle::Shotgun => vec![
            one("login_id", &user.login),
            one("firstname", &user.first_name),
            one("lastname", &user.last_name),
            one("email", &user.email),
            one("access", if user.access { "true" } else { "false" }),
        ],
    };
    let groups_name = match style {
        AttributeStyle::Okta | AttributeStyle::Shotgun => "groups",
        AttributeStyle::Entra => "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
    };
    let groups: Vec<String> = user
        .groups
        .iter()
        .map(|group| match knobs.group_format {
            GroupFormat::Names => group.name.clone(),
            GroupFormat::EntraGuids => group.object_id.clone(),
        })
        .collect();
    // Okta and Entra ID leave the groups attribute out for a user with no groups.
    if knobs.group_overage {
        // Entra ID's overage claim: too many groups for a token, so it says where to fetch them.
        attributes.push(Attribute {
            name: GROUPS_LINK,
            values: vec![groups_link(user)],
        });
    } else if knobs.empty_groups {
        attributes.push(Attribute {
            name: groups_name,
            values: Vec::new(),
        });
    } else if !knobs.omit_groups && !groups.is_empty() {
        attributes.push(Attribute {
            name: groups_name,
            values: groups,
        });
    }
    if let Some(value) = &knobs.duplicate_groups_attribute {
        attributes.push(Attribute {
            name: groups_name,
            values: vec![value.clone()],
        });
    }

    attributes.extend(knobs.extra_attributes.iter().map(|extra| Attribute {
        name: &extra.name,
        values: extra.values.clone(),
    }));

    // Entra ID writes neither NameFormat nor xsi:type; Okta writes both.
    let typed = style != AttributeStyle::Entra;
    w.start("saml:AttributeStatement", &[]);
    let encrypted = knobs.encrypt_attributes;
    for attribute in &attributes {
        let attrs = [
            ("xmlns:saml", encrypted.then_some(ASSERTION_NS)),
            ("Name", Some(attribute.name)),
            ("NameFormat", typed.then_some(ATTRNAME_BASIC)),
        ];
        if encrypted {
            w.start("saml:EncryptedAttribute", &[]);
        }
        if attribute.values.is_empty() {
            w.empty("saml:Attribute", &attrs);
            if encrypted {
                template.write(w);
                w.end("saml:EncryptedAttribute");
            }
            continue;
        }
        w.start("saml:Attribute", &attrs);
        for value in &attribute.values {
            let value_attrs: &[Attr<'_>] = if typed {
                &[
                    ("xmlns:xs", Some(XS_NS)),
                    ("xmlns:xsi", Some(XSI_NS)),
                    ("xsi:type", Some("xs:string")),
                ]
            } else {
                &[]
            };
            w.text("saml:AttributeValue", value_attrs, value);
        }
        w.end("saml:Attribute");
        if encrypted {
            template.write(w);
            w.end("saml:EncryptedAttribute");
        }
    }
    for i in 0..knobs.filler_attributes {
        let name = format!("urn:samlconf:filler:{i}");
        w.start("saml:Attribute", &[("Name", Some(&name))]);
        w.text("saml:AttributeValue", &[], "filler");
        w.end("saml:Attribute");
    }
    w.end("saml:AttributeStatement");
}

/// The enveloped-signature template xmlsec fills in: exclusive C14N, one Reference to `#id`,
/// empty DigestValue/SignatureValue, and the signer's certificate in KeyInfo.
pub(crate) fn write_signature_template(
    w: &mut XmlWriter,
    id: &str,
    signature_algorithm: SignatureAlgorithm,
    digest_algorithm: DigestAlgorithm,
    signer: &SigningIdentity,
) {
    let reference = format!("#{id}");
    w.start("ds:Signature", &[("xmlns:ds", Some(DSIG_NS))]);
    w.start("ds:SignedInfo", &[]);
    w.empty(
        "ds:CanonicalizationMethod",
        &[("Algorithm", Some(EXC_C14N))],
    );
    w.empty(
        "ds:SignatureMethod",
        &[("Algorithm", Some(signature_algorithm.uri()))],
    );
    w.start("ds:Reference", &[("URI", Some(&reference))]);
    w.start("ds:Transforms", &[]);
    w.empty("ds:Transform", &[("Algorithm", Some(ENVELOPED))]);
    w.empty("ds:Transform", &[("Algorithm", Some(EXC_C14N))]);
    w.end("ds:Transforms");
    w.empty(
        "ds:DigestMethod",
        &[("Algorithm", Some(digest_algorithm.uri()))],
    );
    w.text("ds:DigestValue", &[], "");
    w.end("ds:Reference");
    w.end("ds:SignedInfo");
    w.text("ds:SignatureValue", &[], "");
    w.start("ds:KeyInfo", &[]);
    w.start("ds:X509Data", &[]);
    w.text("ds:X509Certificate", &[], &signer.cert_der_base64);
    w.end("ds:X509Data");
    w.end("ds:KeyInfo");
    w.end("ds:Signature");
}

/// `value`, disguised when [`Knobs::look_alike_url`] names `field`.
fn look_alike(knobs: &Knobs, field: UrlField, value: &str) -> String {
    match knobs.look_alike_url {
        Some(l) if l.field == field => l.game.disguise(value),
        _ => value.to_owned(),
    }
}
