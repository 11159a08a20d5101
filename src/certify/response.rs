//! Checks of a captured SAMLResponse, judged by the reference SP's verifier.
//!
//! The response is verified with `sp::verify` against the metadata's signing certificates and
//! entity ID, and the SP configuration's policy, entity ID and ACS (without a configuration the
//! entity ID and ACS are taken from the response, and the items say so). It is verified *at its
//! own IssueInstant*, so that a capture from years ago still shows whether its signature, issuer
//! and addressing were right; its validity window and the clock skew are then judged separately
//! against the capture time. Policy choices that the checklist reports as items of their own
//! (SHA-1, a Response-only signature, the certificate's validity and key size) are relaxed for
//! the verification and judged by those items with the SP configuration's policy.
//!
//! Claims (NameID, attributes, groups, session length) are read only from the verified
//! assertion; when verification fails they are not judged.

use sp::config::{AttributeCandidates, SpConfig};
use sp::metadata::IdpMetadata;
use sp::policy::PolicySettings;
use sp::reason::Rejection;
use sp::verify::{
    self, Addressing, DecryptionKey, MessageFacts, SignedElement, VerifiedResponse, VerifyPolicy,
};
use time::{Duration, OffsetDateTime};

use super::input::decode_capture;
use super::{CapturedResponse, Item, Status};

const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
/// Entra's group overage claim (`sp::identity::ENTRA_GROUPS_LINK`) and its JWT-style sibling.
const OVERAGE_CLAIMS: [&str; 2] = [
    sp::identity::ENTRA_GROUPS_LINK,
    "http://schemas.microsoft.com/claims/_claim_names",
];

/// What the SP under judgement is and what it accepts.
struct Judge<'a> {
    config: Option<&'a SpConfig>,
    settings: PolicySettings,
    entity_id: String,
    acs_url: String,
}

/// The response items.
pub fn check(
    captured: &CapturedResponse,
    md: &IdpMetadata,
    config: Option<&SpConfig>,
    keys: &[DecryptionKey],
) -> Vec<Item> {
    let mut items = Vec::new();
    let (xml, encoding) = match decode_capture(&captured.bytes) {
        Ok(decoded) => decoded,
        Err(r) => {
            items.push(refused("response.decode", "Decoding", &r));
            return items;
        }
    };
    let addressing = match verify::read_addressing(&xml) {
        Ok(a) => a,
        Err(r) => {
            items.push(refused("response.decode", "Decoding", &r));
            return items;
        }
    };
    items.push(Item::pass(
        "response.decode",
        "Decoding",
        match encoding {
            super::input::Encoding::Xml => format!("raw XML, {} bytes", xml.len()),
            other => format!(
                "{}, decoded to {} bytes of XML",
                other.describe(),
                xml.len()
            ),
        },
    ));
    let mut judge = Judge::new(config, &addressing);
    let instant = addressing
        .assertion_issue_instant
        .or(addressing.response_issue_instant)
        .unwrap_or(captured.captured_at);
    let mut outcome = verify::verify_response(&xml, &judge.policy(md, keys), instant);
    // Without a configuration the audience of an encrypted assertion is known only once the
    // verifier has decrypted it: take it from that refusal's facts and verify again.
    if judge.config.is_none()
        && judge.entity_id.is_empty()
        && let Err(r) = &outcome
        && let Some(audience) = r.context.facts.audiences.first()
    {
        judge.entity_id = audience.clone();
        outcome = verify::verify_response(&xml, &judge.policy(md, keys), instant);
    }
    let mut addressing = addressing;
    if let Ok(v) = &outcome
        && addressing.assertion_encrypted
    {
        // Read from the decrypted, verified assertion; its bearer Recipient equals the ACS,
        // or the verifier would have refused.
        addressing.audiences = v.audiences.clone();
        addressing.recipients = vec![judge.acs_url.clone()];
    }
    items.push(signature_verdict(&outcome, md, &judge, instant));
    let facts = match &outcome {
        Ok(v) => facts_of(v),
        Err(r) => r.context.facts.clone(),
    };
    // An assertion that could not be decrypted hides its signature and conditions.
    let sealed = addressing.assertion_encrypted
        && outcome
            .as_ref()
            .is_err_and(|r| r.reason.code().starts_with("decryption"));
    items.push(issuer(&addressing, md));
    if !addressing.assertion_present && !addressing.assertion_encrypted {
        // An error status, or a malformed message: there is nothing else to judge.
        items.push(Item::fail(
            "response.assertion",
            "Assertion",
            "the response carries no assertion, so nothing else can be judged",
            "Certify the response of a successful sign-in (the verification item above says why this one failed).",
        ));
        items.push(clock_skew(&addressing, captured, &judge));
        return items;
    }
    if sealed && facts.signature_algorithm.is_none() {
        items.push(unknown("response.signature", "Signature"));
    } else {
        items.extend(algorithms(&facts, &judge));
        items.push(signed_parts(&facts, &judge));
    }
    items.push(encryption(&addressing, &judge));
    items.extend(addressing_items(&addressing, &judge));
    items.push(if sealed {
        unknown("response.validity_window", "Validity window")
    } else {
        validity_window(&facts, captured, &judge)
    });
    items.push(clock_skew(&addressing, captured, &judge));
    match &outcome {
        Ok(v) => items.extend(claims(v, &judge)),
        Err(_) => items.push(Item::warn(
            "response.claims",
            "Subject and attributes",
            "not judged: the response did not verify, and claims are read only from a verified assertion",
            "Fix the verification failure above, then certify a new capture.",
        )),
    }
    items
}

impl<'a> Judge<'a> {
    fn new(config: Option<&'a SpConfig>, addressing: &Addressing) -> Self {
        match config {
            Some(config) => Judge {
                config: Some(config),
                settings: PolicySettings::from(&config.sp),
                entity_id: config.entity_id(),
                acs_url: config.acs_url(),
            },
            None => Judge {
                config: None,
                settings: PolicySettings::default(),
                entity_id: addressing.audiences.first().cloned().unwrap_or_default(),
                acs_url: addressing
                    .destination
                    .clone()
                    .or_else(|| addressing.recipients.first().cloned())
                    .unwrap_or_default(),
            },
        }
    }

    /// The SP's policy with the metadata's trust, relaxed where an item of its own judges.
    fn policy(&self, md: &IdpMetadata, keys: &[DecryptionKey]) -> VerifyPolicy {
        let mut policy = VerifyPolicy::new(
            self.entity_id.clone(),
            self.acs_url.clone(),
            md.signing_certificates(),
        );
        policy.idp_entity_id = Some(md.entity_id.clone());
        self.settings.apply_to(&mut policy);
        policy.allow_sha1 = true;
        policy.accept_response_signature = true;
        policy.require_encrypted_assertions = false;
        policy.idp_cert_expiry = verify::CertificateExpiry::Warn;
        policy.min_rsa_bits = 0;
        policy.allow_cbc = true;
        policy.allow_rsa15 = true;
        policy.decryption_keys = keys.to_vec();
        policy
    }

    /// `fail` when the configured SP would refuse; without a configuration only `warn`.
    fn refuses(&self, refused_by_config: bool) -> Status {
        if self.config.is_some() && refused_by_config {
            Status::Fail
        } else {
            Status::Warn
        }
    }

    fn skew(&self) -> Duration {
        Duration::seconds(i64::from(self.settings.clock_skew_secs))
    }

    fn candidates(&self) -> AttributeCandidates {
        self.config
            .map(|c| c.attributes.clone())
            .unwrap_or_default()
    }
}

fn unknown(id: &str, title: &str) -> Item {
    Item::warn(
        id,
        title,
        "unknown: inside the encrypted assertion, which could not be decrypted",
        "Pass the SP private key the assertion is encrypted to with --sp-key.",
    )
}

fn refused(id: &str, title: &str, r: &Rejection) -> Item {
    Item::fail(
        id,
        title,
        format!("{}: {}", r.reason.code(), r.message),
        "Capture the SAMLResponse form value from the browser's SAML tracer (base64) or its decoded XML, unmodified.",
    )
}

fn facts_of(v: &VerifiedResponse) -> MessageFacts {
    MessageFacts {
        signature_algorithm: Some(v.signature.signature_algorithm.clone()),
        digest_algorithm: Some(v.signature.digest_algorithm.clone()),
        signed_element: Some(v.signature.signed_element),
        encrypted: v.encrypted,
        not_before: v.not_before,
        not_on_or_after: v.not_on_or_after.or(v.bearer_not_on_or_after),
        audiences: v.audiences.clone(),
        attribute_names: v.attributes.iter().map(|a| a.name.clone()).collect(),
    }
}

fn signature_verdict(
    outcome: &Result<VerifiedResponse, Rejection>,
    md: &IdpMetadata,
    judge: &Judge<'_>,
    instant: OffsetDateTime,
) -> Item {
    const ID: &str = "response.verified";
    const TITLE: &str = "Verification by the reference SP";
    let instant_s = ts(instant);
    match outcome {
        Ok(v) => {
            let index = v.signature.certificate_index;
            let rollover = if md.signing_certificates().len() > 1 {
                format!(" (metadata signing certificate #{index})")
            } else {
                String::new()
            };
            Item::pass(
                ID,
                TITLE,
                format!(
                    "the signature verifies with the metadata's certificate{rollover}, and issuer, audience, destination and subject pass, as of the response's IssueInstant {instant_s} (algorithms, what is signed, encryption and the window are judged by their own items)"
                ),
            )
        }
        Err(r) => {
            let code = r.reason.code();
            let fix = match code.split('.').next().unwrap_or("") {
                "signature" => "Make sure the IdP signs with a certificate that is in this metadata (after a rollover, download the metadata again).".to_owned(),
                "issuer" => "Use the metadata of the IdP that issued this response: its entityID must equal the response's Issuer.".to_owned(),
                "audience" => format!("Set this SP's entity ID (Audience, \"Identifier\") at the IdP to {}.", judge.entity_id),
                "destination" | "recipient" => format!("Set this SP's ACS URL (\"Reply URL\") at the IdP to {}.", judge.acs_url),
                "decryption" | "encryption" => "Pass the SP private key the assertion is encrypted to with --sp-key.".to_owned(),
                "time" => "Check the IdP's clock and the lifetime it gives assertions.".to_owned(),
                "status" => "The IdP answered with an error status: its logs say why it did not sign the user in.".to_owned(),
                _ => format!("See sp/docs/reason-codes.md for {code}."),
            };
            Item::fail(
                ID,
                TITLE,
                format!("refused with {code}: {}", r.message),
                fix,
            )
        }
    }
}

fn issuer(addressing: &Addressing, md: &IdpMetadata) -> Item {
    const ID: &str = "response.issuer";
    const TITLE: &str = "Issuer";
    match &addressing.issuer {
        Some(i) if *i == md.entity_id => {
            Item::pass(ID, TITLE, format!("{i} (the metadata's entityID)"))
        }
        Some(i) => Item::fail(
            ID,
            TITLE,
            format!("{i:?}, but the metadata's entityID is {:?}", md.entity_id),
            "Use the metadata of the IdP that issued this response (or fix the IdP's entity ID).",
        ),
        None => Item::fail(
            ID,
            TITLE,
            "the response names no Issuer",
            "Make the IdP send saml:Issuer with its entity ID.",
        ),
    }
}

fn is_sha1(uri: &str) -> bool {
    uri.ends_with("#rsa-sha1") || uri.ends_with("#sha1") || uri.ends_with("#dsa-sha1")
}

fn algorithms(facts: &MessageFacts, judge: &Judge<'_>) -> Vec<Item> {
    let sha1_refused = !judge.settings.allows_sha1();
    let accepted = |names: &[String], to_uri: fn(&str) -> Option<&'static str>| {
        names.iter().filter_map(|n| to_uri(n)).collect::<Vec<_>>()
    };
    let signatures = accepted(
        &judge.settings.signature_algorithms,
        sp::config::signature_algorithm_uri,
    );
    let digests = accepted(
        &judge.settings.digest_algorithms,
        sp::config::digest_algorithm_uri,
    );
    let item = |id: &str, title: &str, uri: &Option<String>, what: &str, ok: &[&str]| match uri {
        None => Item::fail(
            id,
            title,
            "no signature",
            "Make the IdP sign the assertion (RSA-SHA256).",
        ),
        Some(uri) if is_sha1(uri) => Item::judged(
            id,
            judge.refuses(sha1_refused),
            title,
            format!(
                "{uri}: SHA-1 {what}, refused by the reference SP by default (signature.weak_algorithm)"
            ),
            "Switch the IdP's signing algorithm to RSA-SHA256 / SHA-256 (e.g. AD FS relying party \"Secure hash algorithm\", Okta/OneLogin \"SHA-256\").",
        ),
        Some(uri) if !ok.contains(&uri.as_str()) => Item::fail(
            id,
            title,
            format!("{uri}: not an algorithm the SP accepts ({})", ok.join(", ")),
            "Configure the IdP to sign with RSA-SHA256 and SHA-256 digests.",
        ),
        Some(uri) => Item::pass(id, title, uri.clone()),
    };
    vec![
        item(
            "response.signature_algorithm",
            "Signature algorithm",
            &facts.signature_algorithm,
            "signature",
            &signatures,
        ),
        item(
            "response.digest_algorithm",
            "Digest algorithm",
            &facts.digest_algorithm,
            "digest",
            &digests,
        ),
    ]
}

fn signed_parts(facts: &MessageFacts, judge: &Judge<'_>) -> Item {
    const ID: &str = "response.signed_parts";
    const TITLE: &str = "What is signed";
    match facts.signed_element {
        Some(SignedElement::Both) => Item::pass(ID, TITLE, "the Response and the Assertion"),
        Some(SignedElement::Assertion) => Item::pass(ID, TITLE, "the Assertion"),
        Some(SignedElement::Response) => Item::judged(
            ID,
            judge.refuses(!judge.settings.accept_response_signature),
            TITLE,
            "the Response only; the reference SP requires a signed Assertion unless accept_response_signature = true",
            "Make the IdP sign the assertion too (\"Sign assertion\" / \"Sign response and assertion\").",
        ),
        None => Item::fail(
            ID,
            TITLE,
            "nothing: the response carries no ds:Signature",
            "Make the IdP sign the assertion.",
        ),
    }
}

fn encryption(a: &Addressing, judge: &Judge<'_>) -> Item {
    const ID: &str = "response.encryption";
    const TITLE: &str = "Encryption";
    if !a.assertion_encrypted {
        return if judge.settings.require_encrypted_assertions {
            Item::fail(
                ID,
                TITLE,
                "the Assertion is not encrypted, and the SP requires encrypted assertions",
                "Turn on assertion encryption at the IdP with the SP's encryption certificate (its metadata).",
            )
        } else {
            Item::pass(
                ID,
                TITLE,
                "the Assertion is not encrypted (optional over HTTPS)",
            )
        };
    }
    let methods = a.encryption_methods.join(", ");
    let cbc = a.encryption_methods.iter().any(|m| m.ends_with("-cbc"));
    let rsa15 = a.encryption_methods.iter().any(|m| m.ends_with("#rsa-1_5"));
    if cbc || rsa15 {
        let weak = match (cbc, rsa15) {
            (true, true) => "AES-CBC and RSA PKCS#1 v1.5",
            (true, false) => "AES-CBC",
            _ => "RSA PKCS#1 v1.5",
        };
        let refused = (cbc && !judge.settings.allow_cbc) || (rsa15 && !judge.settings.allow_rsa15);
        Item::judged(
            ID,
            judge.refuses(refused),
            TITLE,
            format!(
                "encrypted with {methods}: {weak} is refused by the reference SP by default (decryption.failed), being open to padding-oracle attacks"
            ),
            "Switch the IdP's assertion encryption to AES-256-GCM with RSA-OAEP key transport.",
        )
    } else {
        Item::pass(
            ID,
            TITLE,
            format!("the Assertion is encrypted with {methods}"),
        )
    }
}

fn addressing_items(a: &Addressing, judge: &Judge<'_>) -> Vec<Item> {
    let from_response = |id: &str, title: &str, value: &str, setting: &str| {
        Item::warn(
            id,
            title,
            format!("{value} (taken from the response: no --sp-config to compare with)"),
            format!(
                "Give --sp-config so that the {setting} is checked against what the SP expects."
            ),
        )
    };
    let audience = match (judge.config, a.audiences.is_empty()) {
        (_, true) if a.assertion_encrypted => Item::warn(
            "response.audience",
            "Audience",
            "unknown: the assertion is encrypted",
            "Pass the SP's key with --sp-key to read it.",
        ),
        (_, true) => Item::fail(
            "response.audience",
            "Audience",
            "no AudienceRestriction: any SP could replay this assertion (audience.missing)",
            "Set this SP's entity ID as the audience (\"Identifier\", \"Audience URI\") at the IdP.",
        ),
        (None, false) => from_response(
            "response.audience",
            "Audience",
            &a.audiences.join(", "),
            "SP entity ID",
        ),
        (Some(_), false) if a.audiences.contains(&judge.entity_id) => {
            Item::pass("response.audience", "Audience", judge.entity_id.clone())
        }
        (Some(_), false) => Item::fail(
            "response.audience",
            "Audience",
            format!(
                "{}, but this SP is {}",
                a.audiences.join(", "),
                judge.entity_id
            ),
            format!(
                "Set the audience (\"Identifier\", \"Audience URI\") at the IdP to {}.",
                judge.entity_id
            ),
        ),
    };
    let endpoint =
        |id: &str, title: &str, value: Option<&str>, absent: Item| match (value, judge.config) {
            (None, _) => absent,
            (Some(v), None) => from_response(id, title, v, "ACS URL"),
            (Some(v), Some(_)) if v == judge.acs_url => Item::pass(id, title, v.to_owned()),
            (Some(v), Some(_)) => Item::fail(
                id,
                title,
                format!("{v}, but this SP's ACS is {}", judge.acs_url),
                format!(
                    "Set the ACS URL (\"Reply URL\", \"Single sign-on URL\") at the IdP to {}.",
                    judge.acs_url
                ),
            ),
        };
    let destination = endpoint(
        "response.destination",
        "Destination",
        a.destination.as_deref(),
        Item::warn(
            "response.destination",
            "Destination",
            "absent: nothing binds the signed Response to this SP's ACS",
            "Make the IdP send Destination (most do when the Response is signed).",
        ),
    );
    let recipient = endpoint(
        "response.recipient",
        "Recipient",
        a.recipients.first().map(String::as_str),
        if a.assertion_encrypted {
            Item::warn(
                "response.recipient",
                "Recipient",
                "unknown: the assertion is encrypted",
                "Pass the SP's key with --sp-key to read it.",
            )
        } else {
            Item::fail(
                "response.recipient",
                "Recipient",
                "no bearer SubjectConfirmationData Recipient (subject.confirmation_missing)",
                "Make the IdP send a bearer SubjectConfirmation whose Recipient is the ACS URL.",
            )
        },
    );
    vec![audience, destination, recipient]
}

/// An instant as SAML writes it (UTC, to the second).
pub(crate) fn ts(t: OffsetDateTime) -> String {
    sp::xml::saml_instant(t)
}

fn human(d: Duration) -> String {
    let secs = d.whole_seconds().unsigned_abs();
    match secs {
        0..120 => format!("{secs} s"),
        120..7200 => format!("{} min", secs / 60),
        7200..172_800 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

fn validity_window(facts: &MessageFacts, captured: &CapturedResponse, judge: &Judge<'_>) -> Item {
    const ID: &str = "response.validity_window";
    const TITLE: &str = "Validity window";
    let at = captured.captured_at;
    let at_s = ts(at);
    let source = &captured.captured_at_source;
    let skew = judge.skew();
    let (from, until) = (facts.not_before, facts.not_on_or_after);
    let window = format!(
        "NotBefore {}, NotOnOrAfter {}",
        from.map_or("(none)".to_owned(), ts),
        until.map_or("(none)".to_owned(), ts)
    );
    match (from, until) {
        (_, Some(until)) if until.checked_add(skew).is_some_and(|end| at >= end) => Item::fail(
            ID,
            TITLE,
            format!(
                "{window}: expired {} before the capture time {at_s} ({source})",
                human(at - until)
            ),
            "Certify a fresh capture; if this one was fresh, the IdP's assertions live too short or its clock is behind.",
        ),
        (Some(from), _) if from.checked_sub(skew).is_some_and(|start| at < start) => Item::fail(
            ID,
            TITLE,
            format!(
                "{window}: not yet valid at the capture time {at_s} ({source}), {} early",
                human(from - at)
            ),
            "Synchronise the IdP's clock (NTP); the SP allows only clock_skew_secs of difference.",
        ),
        (_, None) => Item::warn(
            ID,
            TITLE,
            format!("{window}: the assertion never expires"),
            "Make the IdP set Conditions NotOnOrAfter (a few minutes after issue).",
        ),
        (_, Some(until)) => Item::pass(
            ID,
            TITLE,
            format!(
                "{window}: valid at the capture time {at_s} ({source}), {} left",
                human(until - at)
            ),
        ),
    }
}

fn clock_skew(a: &Addressing, captured: &CapturedResponse, judge: &Judge<'_>) -> Item {
    const ID: &str = "response.clock_skew";
    const TITLE: &str = "Clock skew";
    let Some(issued) = a.assertion_issue_instant.or(a.response_issue_instant) else {
        return Item::fail(
            ID,
            TITLE,
            "no IssueInstant",
            "Make the IdP send IssueInstant (it is required).",
        );
    };
    let at = captured.captured_at;
    let at_s = ts(at);
    let source = &captured.captured_at_source;
    let skew = judge.skew();
    let allowed = judge.settings.clock_skew_secs;
    let delta = at - issued;
    let issued_s = ts(issued);
    if delta < -skew {
        Item::fail(
            ID,
            TITLE,
            format!(
                "issued at {issued_s}, {} after the capture time {at_s} ({source}): the IdP's clock is ahead by more than clock_skew_secs = {allowed}",
                human(-delta)
            ),
            "Synchronise the IdP's clock with NTP.",
        )
    } else if delta > skew {
        Item::warn(
            ID,
            TITLE,
            format!(
                "issued at {issued_s}, {} before the capture time {at_s} ({source})",
                human(delta)
            ),
            "If the capture time is when the sign-in happened, the IdP's clock is behind: synchronise it with NTP; otherwise pass --now with the time of the sign-in.",
        )
    } else {
        Item::pass(
            ID,
            TITLE,
            format!(
                "issued at {issued_s}, {} from the capture time {at_s} ({source}); allowed ±{allowed} s",
                human(delta)
            ),
        )
    }
}

/// The items read from the verified assertion.
fn claims(v: &VerifiedResponse, judge: &Judge<'_>) -> Vec<Item> {
    let candidates = judge.candidates();
    let mut items = vec![name_id(v), session_length(v, judge)];
    items.extend(attributes(v, &candidates));
    let groups = sp::identity::group_values(v, &candidates.groups);
    let mapped: Option<Vec<String>> = judge.config.map(|c| {
        c.role_mappings_for(&v.issuer)
            .into_iter()
            .map(|m| m.group.clone())
            .collect()
    });
    items.push(entra_group_ids(&groups, mapped.as_deref()));
    items.push(overage(v));
    items.push(roles(v, &groups, judge));
    if let Some(config) = judge.config {
        items.push(match sp::identity::resolve(v, config) {
            Ok(identity) => Item::pass(
                "response.identity",
                "Sign-in",
                format!("the SP would sign in {} (subject {})", identity.email, identity.subject),
            ),
            Err(r) => Item::fail(
                "response.identity",
                "Sign-in",
                format!("the SP would refuse the user: {}: {}", r.reason.code(), r.message),
                "Send the attributes the SP needs under the names in [attributes], and grant the user access at the IdP.",
            ),
        });
    }
    items
}

fn name_id(v: &VerifiedResponse) -> Item {
    const ID: &str = "response.name_id_format";
    const TITLE: &str = "NameID format";
    match (&v.name_id, v.name_id_format.as_deref()) {
        (None, _) => Item::warn(
            ID,
            TITLE,
            "no NameID: the SP identifies the user by login or e-mail attribute",
            "Send a persistent (or emailAddress) NameID so that a renamed user stays the same account.",
        ),
        (Some(_), Some(NAMEID_TRANSIENT)) => Item::warn(
            ID,
            TITLE,
            "transient: a new NameID at every sign-in, so the SP falls back to the login or e-mail as the stable subject",
            "Send a persistent (or emailAddress) NameID; the SP needs a stable subject.",
        ),
        (Some(value), format) => Item::pass(
            ID,
            TITLE,
            format!(
                "{} ({value})",
                format
                    .unwrap_or("urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified (no Format)")
            ),
        ),
    }
}

fn session_length(v: &VerifiedResponse, judge: &Judge<'_>) -> Item {
    const ID: &str = "response.session_length";
    const TITLE: &str = "Session length";
    let max = judge
        .config
        .map(|c| c.sp.max_session_secs)
        .unwrap_or(8 * 3600);
    match v.session_not_on_or_after {
        None => Item::pass(
            ID,
            TITLE,
            format!(
                "no SessionNotOnOrAfter: the SP's max_session_secs ({}) applies",
                human(Duration::seconds(i64::from(max)))
            ),
        ),
        Some(end) => {
            let length = end - v.authn_instant;
            let end_s = ts(end);
            if length < Duration::minutes(5) {
                Item::warn(
                    ID,
                    TITLE,
                    format!(
                        "SessionNotOnOrAfter {end_s}: a session of {}",
                        human(length)
                    ),
                    "Lengthen the IdP's session lifetime for this SP, or users are sent back to sign in every few minutes.",
                )
            } else {
                Item::pass(
                    ID,
                    TITLE,
                    format!(
                        "SessionNotOnOrAfter {end_s}: {} after authentication (the SP caps sessions at {})",
                        human(length),
                        human(Duration::seconds(i64::from(max)))
                    ),
                )
            }
        }
    }
}

/// Which candidate name carries a value, for each field the SP reads.
fn attributes(v: &VerifiedResponse, c: &AttributeCandidates) -> Vec<Item> {
    let carried = |names: &[String]| {
        names.iter().find_map(|name| {
            v.attributes
                .iter()
                .find(|a| &a.name == name && a.values.iter().any(|x| !x.trim().is_empty()))
                .map(|a| (name.clone(), a.values.join(", ")))
        })
    };
    let received = v
        .attributes
        .iter()
        .map(|a| match &a.friendly_name {
            Some(f) => format!("{} ({f})", a.name),
            None => a.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let received = if received.is_empty() {
        "none".to_owned()
    } else {
        received
    };
    let field = |id: &str,
                 title: &str,
                 option: &str,
                 names: &[String],
                 missing: Status,
                 why: &str| {
        let id = format!("response.attribute.{id}");
        match (carried(names), near_miss(v, option)) {
            (Some((name, value)), _) => Item::pass(id, title, format!("as {name}: {value}")),
            (None, Some(name)) => Item::judged(
                id,
                missing,
                title,
                format!(
                    "sent as {name}, which is none of {} (names match exactly, case-sensitive; {why})",
                    names.join(", ")
                ),
                format!(
                    "Add \"{name}\" to [attributes] {option} in the SP configuration, or rename the claim at the IdP to {}.",
                    names.first().map_or("", String::as_str)
                ),
            ),
            (None, None) => Item::judged(
                id,
                missing,
                title,
                format!(
                    "none of {} is sent ({why}); attributes received: {received}",
                    names.join(", ")
                ),
                format!(
                    "Send it at the IdP under one of those names, or add the name your IdP uses to [attributes] {option} in the SP configuration."
                ),
            ),
        }
    };
    let email = match carried(&c.email) {
        Some((name, value)) => Item::pass(
            "response.attribute.email",
            "E-mail",
            format!("as {name}: {value}"),
        ),
        None if v.name_id_format.as_deref() == Some(NAMEID_EMAIL) && v.name_id.is_some() => {
            Item::pass(
                "response.attribute.email",
                "E-mail",
                format!(
                    "from the NameID (format emailAddress): {}",
                    v.name_id.as_deref().unwrap_or_default()
                ),
            )
        }
        None => field(
            "email",
            "E-mail",
            "email",
            &c.email,
            Status::Fail,
            "the SP refuses a sign-in without an e-mail: attribute.email_missing",
        ),
    };
    let access = match carried(&c.access) {
        Some((name, value)) if value.trim().eq_ignore_ascii_case("true") => Item::pass(
            "response.attribute.access",
            "Access",
            format!("as {name}: true"),
        ),
        Some((name, value)) => Item::fail(
            "response.attribute.access",
            "Access",
            format!("as {name}: {value} — the SP refuses anything but true (access.denied)"),
            "Grant this user access at the IdP, or stop sending the access attribute.",
        ),
        None => Item::pass(
            "response.attribute.access",
            "Access",
            "not sent (optional: everyone the IdP signs in may enter)",
        ),
    };
    let login = match carried(&c.login) {
        Some((name, value)) => Item::pass(
            "response.attribute.login",
            "Login",
            format!("as {name}: {value}"),
        ),
        None => Item::pass(
            "response.attribute.login",
            "Login",
            format!(
                "not sent under {} (optional: the subject is the NameID, or the e-mail when the NameID is transient)",
                c.login.join(", ")
            ),
        ),
    };
    vec![
        email,
        login,
        field(
            "first_name",
            "First name",
            "first_name",
            &c.first_name,
            Status::Warn,
            "profiles stay without a first name",
        ),
        field(
            "last_name",
            "Last name",
            "last_name",
            &c.last_name,
            Status::Warn,
            "profiles stay without a last name",
        ),
        field(
            "groups",
            "Groups",
            "groups",
            &c.groups,
            Status::Warn,
            "users get the default role",
        ),
        access,
    ]
}

/// A received attribute that probably means the SP's field `option` under a name the SP does not
/// look for: its last name segment (after `/`, `.` or `:`) or FriendlyName is a usual name for the
/// field, whatever the case, or it is the field's LDAP OID (eduPerson/inetOrgPerson).
fn near_miss(v: &VerifiedResponse, option: &str) -> Option<String> {
    let (usual, oids): (&[&str], &[&str]) = match option {
        "email" => (
            &["email", "mail", "emailaddress"],
            &["urn:oid:0.9.2342.19200300.100.1.3"],
        ),
        "first_name" => (
            &["firstname", "givenname", "given_name"],
            &["urn:oid:2.5.4.42"],
        ),
        "last_name" => (
            &["lastname", "surname", "sn", "family_name"],
            &["urn:oid:2.5.4.4"],
        ),
        // AD FS often sends groups as role claims.
        "groups" => (
            &["groups", "group", "memberof", "ismemberof", "role", "roles"],
            &["urn:oid:1.3.6.1.4.1.5923.1.5.1.1"],
        ),
        _ => return None,
    };
    let usual_name = |name: &str| {
        let last = name.rsplit(['/', '.', ':']).next().unwrap_or(name);
        usual.contains(&last.to_ascii_lowercase().as_str())
    };
    v.attributes
        .iter()
        .filter(|a| !a.values.iter().all(|x| x.trim().is_empty()))
        .find(|a| {
            oids.contains(&a.name.as_str())
                || usual_name(&a.name)
                || a.friendly_name.as_deref().is_some_and(usual_name)
        })
        .map(|a| a.name.clone())
}

/// An Entra object ID: a GUID, 8-4-4-4-12 hexadecimal digits.
fn looks_like_guid(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, len)| p.len() == len && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Group values that are Entra object IDs; with an SP configuration, a pass when its role
/// mappings name every one of them.
fn entra_group_ids(groups: &[String], mapped: Option<&[String]>) -> Item {
    const ID: &str = "response.groups.object_ids";
    const TITLE: &str = "Group values";
    let guids: Vec<&String> = groups.iter().filter(|g| looks_like_guid(g)).collect();
    if guids.is_empty() {
        return Item::pass(
            ID,
            TITLE,
            format!("{} group value(s), none an object ID", groups.len()),
        );
    }
    let unmapped: Vec<&String> = match mapped {
        Some(mapped) => guids
            .iter()
            .copied()
            .filter(|g| !mapped.contains(g))
            .collect(),
        None => guids.clone(),
    };
    if unmapped.is_empty() {
        return Item::pass(
            ID,
            TITLE,
            format!(
                "{} Entra object ID(s), each mapped in [[role_mapping]]",
                guids.len()
            ),
        );
    }
    let mapping = match mapped {
        Some(_) => format!(
            "; {} of them mapped in [[role_mapping]]",
            guids.len() - unmapped.len()
        ),
        None => String::new(),
    };
    Item::warn(
        ID,
        TITLE,
        format!(
            "{} of {} group values are Entra object IDs (GUIDs), e.g. {}: Entra sends object IDs, not names, by default{mapping}",
            guids.len(),
            groups.len(),
            unmapped.first().map_or("", |g| g.as_str())
        ),
        "Map those object IDs in [[role_mapping]] (group = \"<object ID>\"), or set the group claim's source attribute at Entra to a name so that it sends display names.",
    )
}

fn overage(v: &VerifiedResponse) -> Item {
    const ID: &str = "response.groups.overage";
    const TITLE: &str = "Group overage";
    match v
        .attributes
        .iter()
        .find(|a| OVERAGE_CLAIMS.contains(&a.name.as_str()))
    {
        Some(a) => Item::warn(
            ID,
            TITLE,
            format!(
                "{} is sent instead of the groups: the user is in more groups than Entra puts in a token (150), so the SP keeps their roles unchanged (groups.overage)",
                a.name
            ),
            "At Entra, edit the group claim to emit \"Groups assigned to the application\" only (and assign the relevant groups), or filter the groups claim.",
        ),
        None => Item::pass(ID, TITLE, "no Entra group-overage claim"),
    }
}

fn roles(v: &VerifiedResponse, groups: &[String], judge: &Judge<'_>) -> Item {
    const ID: &str = "response.roles";
    const TITLE: &str = "Roles";
    let Some(config) = judge.config else {
        return Item::warn(
            ID,
            TITLE,
            format!(
                "not judged without --sp-config (groups sent: {})",
                groups.len()
            ),
            "Give --sp-config to see which roles these groups map to.",
        );
    };
    let idp = v.issuer.as_str();
    if config.idp_by_entity_id(idp).is_none() {
        return Item::warn(
            ID,
            TITLE,
            format!(
                "the SP configuration has no IdP {idp:?} (its [idp] is {:?}), so no mapping applies",
                config.idp.entity_id
            ),
            "Set [idp] entity_id in the SP configuration to the IdP's entity ID.",
        );
    }
    if v.attributes
        .iter()
        .any(|a| OVERAGE_CLAIMS.contains(&a.name.as_str()))
    {
        return Item::warn(
            ID,
            TITLE,
            format!(
                "unknown (group overage): the SP keeps a returning user's roles, and gives a new user default_role ({})",
                config.default_role_for(idp)
            ),
            "Make the IdP send the groups themselves (see the group overage item).",
        );
    }
    let mapped: Vec<&str> = config
        .role_mappings_for(idp)
        .into_iter()
        .filter(|m| groups.contains(&m.group))
        .map(|m| m.group.as_str())
        .collect();
    let roles = sp::identity::roles_for(groups, config, idp).join(", ");
    if mapped.is_empty() {
        Item::warn(
            ID,
            TITLE,
            format!("no group maps to a role: the user gets default_role only ({roles})"),
            "Add [[role_mapping]] entries for the group values the IdP sends (exact, case-sensitive), or send the groups the mappings name.",
        )
    } else {
        Item::pass(ID, TITLE, format!("{roles} (from {})", mapped.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_recognised_and_names_are_not() {
        assert!(looks_like_guid("9d8e7f6a-5b4c-4d3e-8f2a-1b0c9d8e7f6a"));
        assert!(!looks_like_guid("admins"));
        assert!(!looks_like_guid("9d8e7f6a-5b4c-4d3e-8f2a-1b0c9d8e7f6"));
        assert!(!looks_like_guid("9d8e7f6a-5b4c-4d3e-8f2a-1b0c9d8e7f6g"));
    }
}
