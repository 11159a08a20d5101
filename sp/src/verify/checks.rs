//! The checks that need no FFI: the shape of a `ds:Signature` before xmlsec runs (for precise
//! codes), and the protocol checks on verified content (issuer, destination, time, audience,
//! subject confirmation).

use libxml::readonly::RoNode;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::VerifyPolicy;
use super::tree::{
    DS, SAML, XSI, at_most_one, attr, children, element_children, exactly_one, is, label,
    required_attr, simple_text, trim_xml_whitespace,
};
use crate::reason::{Reason, Rejection};
use crate::weakness::Weakness;

/// Exclusive XML canonicalization 1.0 (without comments): the only c14n and c14n transform allowed.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// The enveloped-signature transform.
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// RSA with SHA-1 (weak: only with `allow_sha1`).
pub const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
/// RSA with SHA-256.
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// RSA with SHA-384.
pub const RSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384";
/// RSA with SHA-512.
pub const RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
/// SHA-1 digest (weak: only with `allow_sha1`).
pub const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
/// SHA-256 digest.
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
/// SHA-384 digest.
pub const SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#sha384";
/// SHA-512 digest.
pub const SHA512: &str = "http://www.w3.org/2001/04/xmlenc#sha512";

const WEAK: &[&str] = &[
    RSA_SHA1,
    SHA1,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-md5",
    "http://www.w3.org/2001/04/xmldsig-more#md5",
    "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
];

/// The bearer subject confirmation method.
pub const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// The entity NameID format (the only one allowed on an `Issuer` that has a Format).
pub const ENTITY_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";
/// The success status code.
pub const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

fn rej(reason: Reason, message: impl Into<String>) -> Rejection {
    Rejection::new(reason, message)
}

/// What a `ds:Signature` claims about itself, checked before xmlsec runs.
#[derive(Debug, Clone)]
pub struct SignatureShape {
    /// `SignatureMethod/@Algorithm`.
    pub signature_algorithm: String,
    /// `DigestMethod/@Algorithm` of the single reference.
    pub digest_algorithm: String,
    /// `Reference/@URI`, already equal to `#` + the parent's ID.
    pub reference_uri: String,
}

fn check_algorithm(
    kind: &str,
    alg: &str,
    allowed: &[String],
    sha1_alg: &str,
    policy: &VerifyPolicy,
) -> Result<(), Rejection> {
    if allowed.iter().any(|a| a == alg)
        || (policy.allow_sha1 && alg == sha1_alg)
        || policy.weaknesses.has(Weakness::AlgorithmAllowList)
    {
        return Ok(());
    }
    if WEAK.contains(&alg) {
        return Err(rej(
            Reason::SignatureUsesWeakAlgorithm,
            format!(
                "{kind} is {alg:?}; SHA-1 and older are refused unless allow_sha1 is set (and MD5/DSA always)"
            ),
        ));
    }
    Err(rej(
        Reason::SignatureUsesUnsupportedAlgorithm,
        format!("{kind} is {alg:?}; supported: {}", allowed.join(", ")),
    ))
}

/// Checks the signature's SignedInfo: exc-c14n, an allowed SignatureMethod, exactly one Reference
/// whose URI is `#` + `parent_id`, only enveloped-signature/exc-c14n transforms and an allowed
/// DigestMethod.
pub fn inspect_signature(
    sig: RoNode,
    parent_id: &str,
    policy: &VerifyPolicy,
) -> Result<SignatureShape, Rejection> {
    // Like a second Reference, a second SignedInfo offers digests the signature value may not
    // cover (CVE-2025-29774): the signature does not reference exactly its parent.
    let signed_infos = children(sig, DS, "SignedInfo").count();
    if signed_infos > 1 {
        return Err(rej(
            Reason::SignatureReferencesAnotherElement,
            format!(
                "the Signature has {signed_infos} SignedInfo elements; exactly one, with one Reference to the signed element, is required"
            ),
        ));
    }
    let signed_info = exactly_one(sig, DS, "SignedInfo")?;
    let c14n = required_attr(
        exactly_one(signed_info, DS, "CanonicalizationMethod")?,
        "Algorithm",
    )?;
    if c14n != EXC_C14N {
        return Err(rej(
            Reason::SignatureUsesForbiddenTransform,
            format!(
                "CanonicalizationMethod is {c14n:?}; only exclusive c14n without comments ({EXC_C14N}) is allowed"
            ),
        ));
    }
    let signature_algorithm = required_attr(
        exactly_one(signed_info, DS, "SignatureMethod")?,
        "Algorithm",
    )?;
    check_algorithm(
        "SignatureMethod",
        &signature_algorithm,
        &policy.signature_algorithms,
        RSA_SHA1,
        policy,
    )?;
    let references: Vec<RoNode> = children(signed_info, DS, "Reference").collect();
    if references.len() != 1 {
        return Err(rej(
            Reason::SignatureReferencesAnotherElement,
            format!(
                "SignedInfo has {} Reference elements; exactly one, to the signed element, is required",
                references.len()
            ),
        ));
    }
    let reference = references[0];
    let expected = format!("#{parent_id}");
    let uri = attr(reference, "URI");
    if uri.as_deref() != Some(expected.as_str()) {
        return Err(rej(
            Reason::SignatureReferencesAnotherElement,
            format!(
                "Reference URI is {uri:?}, expected {expected:?} (the ID of the element that carries the signature)"
            ),
        ));
    }
    if let Some(transforms) = at_most_one(reference, DS, "Transforms")? {
        let mut seen: Vec<String> = Vec::new();
        for t in element_children(transforms) {
            let alg = if is(t, DS, "Transform") {
                attr(t, "Algorithm")
            } else {
                None
            };
            let alg = alg.unwrap_or_else(|| format!("<{}>", t.get_name()));
            let ok_children = element_children(t).all(|c| {
                alg == EXC_C14N
                    && c.get_name() == "InclusiveNamespaces"
                    && c.get_namespace().is_some_and(|n| n.get_href() == EXC_C14N)
            });
            if !(alg == ENVELOPED || alg == EXC_C14N) || !ok_children {
                return Err(rej(
                    Reason::SignatureUsesForbiddenTransform,
                    format!(
                        "Reference transform {alg:?} is not allowed; only {ENVELOPED} and {EXC_C14N}"
                    ),
                ));
            }
            // exc-c14n turns the node set into octets, so any transform after it makes xmlsec
            // parse them into a second document (not the tree we read), and libxmlsec1 1.2.x
            // leaks 24 bytes of that path whenever the later transform then fails (found by
            // fuzzing, tests/fuzz_memory.rs). Neither transform changes anything when repeated.
            if seen.iter().any(|s| s == EXC_C14N || *s == alg) {
                return Err(rej(
                    Reason::SignatureUsesForbiddenTransform,
                    format!(
                        "Reference transforms are {seen:?} then {alg:?}; each of {ENVELOPED} and {EXC_C14N} is allowed once, exc-c14n last"
                    ),
                ));
            }
            seen.push(alg);
        }
    }
    let digest_algorithm = required_attr(exactly_one(reference, DS, "DigestMethod")?, "Algorithm")?;
    check_algorithm(
        "DigestMethod",
        &digest_algorithm,
        &policy.digest_algorithms,
        SHA1,
        policy,
    )?;
    Ok(SignatureShape {
        signature_algorithm,
        digest_algorithm,
        reference_uri: expected,
    })
}

/// Parses an `xs:dateTime` as SAML uses it (UTC, `Z` or an offset; any number of fraction
/// digits; a year of four or more digits, optionally negative). `what` names the attribute for
/// the error message.
pub fn parse_instant(value: &str, what: &str) -> Result<OffsetDateTime, Rejection> {
    let v = value.trim();
    let malformed = |detail: &str| {
        rej(
            Reason::RequiredElementMissingOrMalformed,
            format!("{what} is {value:?}, not an xs:dateTime with time zone ({detail})"),
        )
    };
    let (year, rest) = split_year(v).ok_or_else(|| {
        malformed(
            "the year is not four digits, or more without a leading zero, optionally negative",
        )
    })?;
    // `time` reads four-digit years. Any other year (negative, or past 9999: both valid
    // xs:dateTime years) is read as the year at the same place of the 400-year Gregorian cycle,
    // which has the same calendar, then moved by whole cycles of 146 097 days.
    let (read_year, cycles) = if (0..=9999).contains(&year) && !v.starts_with('-') {
        (year, 0)
    } else {
        let same_place = 2000 + year.rem_euclid(400);
        (same_place, (year - same_place) / 400)
    };
    // `time` accepts at most 9 fraction digits; some IdPs send 7 and more is legal: truncate.
    let rest = match rest.find('.') {
        Some(dot) => {
            let digits = rest[dot + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            if digits > 9 {
                format!("{}{}", &rest[..dot + 10], &rest[dot + 1 + digits..])
            } else {
                rest.to_owned()
            }
        }
        None => rest.to_owned(),
    };
    let t = OffsetDateTime::parse(&format!("{read_year:04}{rest}"), &Rfc3339)
        .map_err(|e| malformed(&e.to_string()))?;
    let t = match cycles {
        0 => t,
        // Past 10 000 years from the range, nothing is left to compute: saturate.
        c if c > 25 => crate::clock::LATEST,
        c if c < -25 => crate::clock::EARLIEST_WRITABLE,
        c => crate::clock::add(t, time::Duration::days(c * 146_097)),
    };
    // In UTC, clamped to what a four-digit year can write (9999-12-31T23:00:00-05:00 lies past
    // it), so that later arithmetic and formatting on it cannot panic (crate::clock).
    Ok(crate::clock::writable(t))
}

/// The year of an `xs:dateTime` and the text after it: `-?` then four digits, or more without
/// a leading zero (XML Schema 1.1 part 2 §3.3.7, `yearFrag`). A year of more than 15 digits is
/// read as 10^15 (all such years lie far outside the range the SP keeps).
fn split_year(v: &str) -> Option<(i64, &str)> {
    let unsigned = v.strip_prefix('-').unwrap_or(v);
    let digits = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    if digits < 4 || (digits > 4 && unsigned.starts_with('0')) {
        return None;
    }
    let magnitude: i64 = if digits > 15 {
        10_i64.pow(15)
    } else {
        unsigned[..digits].parse().ok()?
    };
    let year = if unsigned.len() < v.len() {
        -magnitude
    } else {
        magnitude
    };
    Some((year, &unsigned[digits..]))
}

/// A required dateTime attribute.
pub fn required_instant(node: RoNode, name: &str) -> Result<OffsetDateTime, Rejection> {
    let v = required_attr(node, name)?;
    parse_instant(&v, &format!("{}/@{name}", node.get_name()))
}

/// An optional dateTime attribute.
pub fn optional_instant(node: RoNode, name: &str) -> Result<Option<OffsetDateTime>, Rejection> {
    attr(node, name)
        .map(|v| parse_instant(&v, &format!("{}/@{name}", node.get_name())))
        .transpose()
}

/// Issuer checks: the Assertion's Issuer is required and must be the configured IdP; the
/// Response's is optional but must agree. Returns the Assertion issuer.
pub fn check_issuers(
    response: RoNode,
    assertion: RoNode,
    policy: &VerifyPolicy,
) -> Result<String, Rejection> {
    let issuer_node = at_most_one(assertion, SAML, "Issuer")?.ok_or_else(|| {
        rej(
            Reason::AssertionIssuerIsMissing,
            "the Assertion has no <saml:Issuer>",
        )
    })?;
    let issuer = simple_text(issuer_node)?;
    if issuer.is_empty() {
        return Err(rej(
            Reason::AssertionIssuerIsMissing,
            "the Assertion's <saml:Issuer> is empty",
        ));
    }
    check_issuer_format(issuer_node, "Assertion")?;
    if policy.weaknesses.has(Weakness::Issuer) {
        return Ok(issuer);
    }
    if let Some(expected) = &policy.idp_entity_id
        && &issuer != expected
    {
        return Err(rej(
            Reason::IssuerIsNotTheConfiguredIdp,
            format!("Assertion Issuer is {issuer:?}, expected {expected:?}"),
        ));
    }
    if let Some(node) = at_most_one(response, SAML, "Issuer")? {
        let response_issuer = simple_text(node)?;
        check_issuer_format(node, "Response")?;
        let expected = policy.idp_entity_id.as_deref().unwrap_or(&issuer);
        if response_issuer != expected {
            return Err(rej(
                Reason::IssuerIsNotTheConfiguredIdp,
                format!("Response Issuer is {response_issuer:?}, expected {expected:?}"),
            ));
        }
    }
    Ok(issuer)
}

fn check_issuer_format(node: RoNode, whose: &str) -> Result<(), Rejection> {
    match attr(node, "Format") {
        Some(f) if f != ENTITY_FORMAT => Err(rej(
            Reason::IssuerIsNotTheConfiguredIdp,
            format!(
                "{whose} Issuer has Format {f:?}; an IdP issuer must be omitted-Format or {ENTITY_FORMAT}"
            ),
        )),
        _ => Ok(()),
    }
}

/// Destination: when present it must be our ACS; when absent the Response must not be signed.
pub fn check_destination(
    destination: Option<&str>,
    response_signed: bool,
    policy: &VerifyPolicy,
) -> Result<(), Rejection> {
    match destination {
        Some(d) if d != policy.acs_url => Err(rej(
            Reason::DestinationIsNotOurAcs,
            format!(
                "Response Destination is {d:?}, expected {:?}",
                policy.acs_url
            ),
        )),
        None if response_signed => Err(rej(
            Reason::SignedResponseLacksDestination,
            format!(
                "the Response is signed but has no Destination (expected {:?})",
                policy.acs_url
            ),
        )),
        _ => Ok(()),
    }
}

/// `instant` (named `what`) must not lie beyond `now + skew`.
pub fn not_in_future(
    instant: OffsetDateTime,
    what: &str,
    now: OffsetDateTime,
    skew: time::Duration,
) -> Result<(), Rejection> {
    if instant > crate::clock::add(now, skew) {
        return Err(rej(
            Reason::AssertionIsNotYetValid,
            format!(
                "{what} is {}, after now ({}) plus the allowed clock skew of {}s",
                fmt(instant),
                fmt(now),
                skew.whole_seconds()
            ),
        ));
    }
    Ok(())
}

/// Formats an instant for messages (RFC 3339).
pub fn fmt(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// How far back a Conditions `NotBefore` before the Assertion's IssueInstant is honoured as the
/// IdP's own allowance for lagging SP clocks (Okta backdates by 5 minutes, OneLogin by 3).
pub const MAX_NOT_BEFORE_BACKDATE: time::Duration = time::Duration::minutes(10);

/// IssueInstants against the SP's clock and the Conditions window.
///
/// The window decides validity (SAML core §2.5.1.2); an IssueInstant ahead of the SP's clock only
/// says that the clocks differ, which the IdP anticipated when it backdated `NotBefore`. So each
/// IssueInstant (Response and Assertion) may lie up to `skew` + the backdating ahead of `now`,
/// where the backdating is Assertion IssueInstant − NotBefore, between 0 and
/// [`MAX_NOT_BEFORE_BACKDATE`] (0 without NotBefore). And an Assertion issued at or after its own
/// NotOnOrAfter contradicts itself: `time.expired` (the window had ended by the IdP's own
/// clock). An IssueInstant too far ahead: `time.not_yet_valid`.
pub fn check_issue_instants(
    response_issue: OffsetDateTime,
    assertion_issue: OffsetDateTime,
    window: (Option<OffsetDateTime>, Option<OffsetDateTime>),
    now: OffsetDateTime,
    skew: time::Duration,
) -> Result<(), Rejection> {
    let (not_before, not_on_or_after) = window;
    let backdate = not_before
        // Both instants lie within years ±9999: their difference cannot overflow a Duration.
        .map_or(time::Duration::ZERO, |nb| assertion_issue - nb)
        .clamp(time::Duration::ZERO, MAX_NOT_BEFORE_BACKDATE);
    let allowance = skew.saturating_add(backdate);
    for (instant, what) in [
        (response_issue, "Response IssueInstant"),
        (assertion_issue, "Assertion IssueInstant"),
    ] {
        if now
            .checked_add(allowance)
            .is_some_and(|limit| instant > limit)
        {
            return Err(rej(
                Reason::AssertionIsNotYetValid,
                format!(
                    "{what} is {}, after now ({}) plus the allowed clock skew of {}s and the {}s by which Conditions NotBefore precedes the Assertion IssueInstant (at most {}s count)",
                    fmt(instant),
                    fmt(now),
                    skew.whole_seconds(),
                    backdate.whole_seconds(),
                    MAX_NOT_BEFORE_BACKDATE.whole_seconds()
                ),
            ));
        }
    }
    if let Some(noa) = not_on_or_after
        && assertion_issue >= noa
    {
        // By the IdP's own clock the window had ended when the Assertion was issued.
        return Err(rej(
            Reason::AssertionHasExpired,
            format!(
                "Assertion IssueInstant is {}, at or after its own Conditions NotOnOrAfter ({})",
                fmt(assertion_issue),
                fmt(noa)
            ),
        ));
    }
    Ok(())
}

/// The Conditions window `(NotBefore, NotOnOrAfter)` as sent, unchecked.
pub fn conditions_window(
    conditions: Option<RoNode>,
) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>), Rejection> {
    let Some(c) = conditions else {
        return Ok((None, None));
    };
    Ok((
        optional_instant(c, "NotBefore")?,
        optional_instant(c, "NotOnOrAfter")?,
    ))
}

/// The Conditions window: `(not_before, not_on_or_after)`, checked against `now` with skew.
pub fn check_conditions_time(
    conditions: Option<RoNode>,
    now: OffsetDateTime,
    skew: time::Duration,
) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>), Rejection> {
    let (not_before, not_on_or_after) = conditions_window(conditions)?;
    if let Some(nb) = not_before {
        not_in_future(nb, "Conditions NotBefore", now, skew)?;
    }
    if let Some(noa) = not_on_or_after
        && noa <= crate::clock::sub(now, skew)
    {
        return Err(rej(
            Reason::AssertionHasExpired,
            format!(
                "Conditions NotOnOrAfter is {}, at or before now ({}) minus the allowed clock skew of {}s",
                fmt(noa),
                fmt(now),
                skew.whole_seconds()
            ),
        ));
    }
    Ok((not_before, not_on_or_after))
}

/// Every condition must be one this SP evaluates (SAML core §2.5.1: an unknown condition makes
/// the assertion Indeterminate, and an Indeterminate assertion is not accepted here):
///
/// - `AudienceRestriction`: [`check_audience`].
/// - `OneTimeUse`: the router's replay cache (not refused here).
/// - `ProxyRestriction` (§2.5.1.6) limits assertions that a relying party issues *on the basis of*
///   this one; this SP issues none, so it holds trivially. At most one, its `Count` a
///   non-negative integer and each `Audience` non-empty, else `structure.malformed`.
/// - Anything else — a `saml:Condition` of any `xsi:type`, a foreign element:
///   `conditions.unsupported`.
pub fn check_condition_kinds(conditions: Option<RoNode>) -> Result<(), Rejection> {
    let Some(c) = conditions else {
        return Ok(());
    };
    at_most_one(c, SAML, "ProxyRestriction")?;
    for el in element_children(c) {
        if is(el, SAML, "AudienceRestriction") || is(el, SAML, "OneTimeUse") {
            continue;
        }
        if is(el, SAML, "ProxyRestriction") {
            check_proxy_restriction(el)?;
            continue;
        }
        let ns = el.get_namespace().map(|n| n.get_href()).unwrap_or_default();
        let kind = match el.get_property_ns("type", XSI) {
            Some(t) => format!("{} of xsi:type {t:?}", label(el)),
            None => format!("{{{ns}}}{}", el.get_name()),
        };
        return Err(rej(
            Reason::ConditionIsNotUnderstood,
            format!(
                "Conditions holds {kind}, which this SP does not understand (known: AudienceRestriction, OneTimeUse, ProxyRestriction); SAML core 2.5.1.5 makes the assertion Indeterminate"
            ),
        ));
    }
    Ok(())
}

fn check_proxy_restriction(el: RoNode) -> Result<(), Rejection> {
    if let Some(count) = attr(el, "Count") {
        let digits = trim_xml_whitespace(&count);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(rej(
                Reason::RequiredElementMissingOrMalformed,
                format!("ProxyRestriction Count is {count:?}, not a non-negative integer"),
            ));
        }
    }
    for audience in children(el, SAML, "Audience") {
        if simple_text(audience)?.is_empty() {
            return Err(rej(
                Reason::RequiredElementMissingOrMalformed,
                "a ProxyRestriction Audience is empty",
            ));
        }
    }
    Ok(())
}

/// Every `Audience` of every AudienceRestriction, unchecked (only for [`Weakness::Audience`]).
pub fn audiences(conditions: Option<RoNode>) -> Result<Vec<String>, Rejection> {
    conditions
        .into_iter()
        .flat_map(|c| children(c, SAML, "AudienceRestriction"))
        .flat_map(|r| children(r, SAML, "Audience"))
        .map(simple_text)
        .collect()
}

/// Every AudienceRestriction must name our entity ID. Returns all audiences.
pub fn check_audience(
    conditions: Option<RoNode>,
    sp_entity_id: &str,
) -> Result<Vec<String>, Rejection> {
    let restrictions: Vec<RoNode> = conditions
        .map(|c| children(c, SAML, "AudienceRestriction").collect())
        .unwrap_or_default();
    if restrictions.is_empty() {
        return Err(rej(
            Reason::AudienceRestrictionIsMissing,
            format!(
                "the Assertion has no Conditions/AudienceRestriction (expected audience {sp_entity_id:?})"
            ),
        ));
    }
    let mut all = Vec::new();
    for r in restrictions {
        let audiences = children(r, SAML, "Audience")
            .map(simple_text)
            .collect::<Result<Vec<_>, _>>()?;
        if audiences.is_empty() {
            return Err(rej(
                Reason::RequiredElementMissingOrMalformed,
                "an AudienceRestriction has no Audience",
            ));
        }
        if !audiences.iter().any(|a| a == sp_entity_id) {
            return Err(rej(
                Reason::AudienceIsNotThisSp,
                format!(
                    "AudienceRestriction lists {audiences:?}, expected it to include {sp_entity_id:?}"
                ),
            )
            // The SP's own entity ID is public (its metadata); what the message listed is not
            // repeated to the browser.
            .with_public_detail(format!(
                "This service provider expects the audience {sp_entity_id:?}."
            )));
        }
        all.extend(audiences);
    }
    Ok(all)
}

/// Requires a bearer SubjectConfirmation whose data names our ACS as Recipient, is still valid
/// and (when it says) answers the same request as the Response. Returns the Subject node.
pub fn check_subject(
    assertion: RoNode,
    response_in_response_to: Option<&str>,
    response_signed: bool,
    policy: &VerifyPolicy,
    now: OffsetDateTime,
) -> Result<RoNode, Rejection> {
    let subject = at_most_one(assertion, SAML, "Subject")?.ok_or_else(|| {
        rej(
            Reason::SubjectIsMissing,
            "the Assertion has no <saml:Subject>",
        )
    })?;
    let bearers: Vec<RoNode> = children(subject, SAML, "SubjectConfirmation")
        .filter(|sc| attr(*sc, "Method").as_deref() == Some(BEARER))
        .collect();
    if bearers.is_empty() {
        let methods: Vec<String> = children(subject, SAML, "SubjectConfirmation")
            .map(|sc| attr(sc, "Method").unwrap_or_default())
            .collect();
        return Err(rej(
            Reason::NoBearerSubjectConfirmation,
            format!("no SubjectConfirmation has Method {BEARER:?}; found methods {methods:?}"),
        ));
    }
    let mut first_error = None;
    for sc in bearers {
        match check_bearer(sc, response_in_response_to, response_signed, policy, now) {
            Ok(()) => return Ok(subject),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| {
        rej(
            Reason::NoBearerSubjectConfirmation,
            "no usable bearer confirmation",
        )
    }))
}

/// The latest `NotOnOrAfter` among the bearer confirmations of a checked Subject: the last instant
/// any of them could still be accepted, for the replay cache.
pub fn latest_bearer_not_on_or_after(subject: RoNode) -> Option<OffsetDateTime> {
    children(subject, SAML, "SubjectConfirmation")
        .filter(|sc| attr(*sc, "Method").as_deref() == Some(BEARER))
        .flat_map(|sc| children(sc, SAML, "SubjectConfirmationData"))
        .filter_map(|data| optional_instant(data, "NotOnOrAfter").ok().flatten())
        .max()
}

fn check_bearer(
    sc: RoNode,
    response_irt: Option<&str>,
    response_signed: bool,
    policy: &VerifyPolicy,
    now: OffsetDateTime,
) -> Result<(), Rejection> {
    let skew = policy.clock_skew;
    let data = at_most_one(sc, SAML, "SubjectConfirmationData")?.ok_or_else(|| {
        rej(
            Reason::RecipientIsNotOurAcs,
            "the bearer SubjectConfirmation has no SubjectConfirmationData, hence no Recipient",
        )
    })?;
    match attr(data, "Recipient") {
        _ if policy.weaknesses.has(Weakness::Recipient) => {}
        None => {
            return Err(rej(
                Reason::RecipientIsNotOurAcs,
                format!(
                    "bearer SubjectConfirmationData has no Recipient (expected {:?})",
                    policy.acs_url
                ),
            ));
        }
        Some(r) if r != policy.acs_url => {
            return Err(rej(
                Reason::RecipientIsNotOurAcs,
                format!(
                    "bearer SubjectConfirmationData Recipient is {r:?}, expected {:?}",
                    policy.acs_url
                ),
            ));
        }
        Some(_) => {}
    }
    if policy.weaknesses.has(Weakness::BearerExpiry) {
        return check_bearer_in_response_to(data, response_irt, response_signed, policy);
    }
    let Some(noa) = optional_instant(data, "NotOnOrAfter")? else {
        return Err(rej(
            Reason::SubjectConfirmationHasExpired,
            "bearer SubjectConfirmationData has no NotOnOrAfter, which the Web SSO profile requires",
        ));
    };
    if noa <= crate::clock::sub(now, skew) {
        return Err(rej(
            Reason::SubjectConfirmationHasExpired,
            format!(
                "bearer SubjectConfirmationData NotOnOrAfter is {}, at or before now ({}) minus the allowed clock skew of {}s",
                fmt(noa),
                fmt(now),
                skew.whole_seconds()
            ),
        ));
    }
    if let Some(nb) = optional_instant(data, "NotBefore")? {
        not_in_future(nb, "bearer SubjectConfirmationData NotBefore", now, skew)?;
    }
    check_bearer_in_response_to(data, response_irt, response_signed, policy)
}

/// The bearer SubjectConfirmationData's InResponseTo against the Response's.
fn check_bearer_in_response_to(
    data: RoNode,
    response_irt: Option<&str>,
    response_signed: bool,
    policy: &VerifyPolicy,
) -> Result<(), Rejection> {
    if policy.weaknesses.has(Weakness::BearerInResponseTo) {
        return Ok(());
    }
    match (attr(data, "InResponseTo"), response_irt) {
        (Some(irt), _) if Some(irt.as_str()) != response_irt => Err(rej(
            Reason::SubjectConfirmationAnswersAnotherRequest,
            format!(
                "bearer SubjectConfirmationData InResponseTo is {irt:?}, but the Response's InResponseTo is {response_irt:?}"
            ),
        )),
        // The Response's InResponseTo is trusted only under a signature: else anyone could move an
        // unsolicited assertion onto a request (SAML profiles §4.1.4.2 requires it here).
        (None, Some(response_irt)) if !response_signed => Err(rej(
            Reason::SolicitedResponseLacksSignedInResponseTo,
            format!(
                "the unsigned Response has InResponseTo {response_irt:?}, but the signed Assertion's bearer SubjectConfirmationData has none"
            ),
        )),
        _ => Ok(()),
    }
}

/// The first-level StatusCode must be Success; otherwise the message names the status, the
/// second-level code and the StatusMessage.
pub fn check_status(response: RoNode) -> Result<(), Rejection> {
    let status = exactly_one(response, super::tree::SAMLP, "Status")?;
    let code = exactly_one(status, super::tree::SAMLP, "StatusCode")?;
    let value = required_attr(code, "Value")?;
    if value == SUCCESS {
        return Ok(());
    }
    let second =
        at_most_one(code, super::tree::SAMLP, "StatusCode")?.and_then(|c| attr(c, "Value"));
    let message =
        at_most_one(status, super::tree::SAMLP, "StatusMessage")?.map(|m| m.get_content());
    Err(rej(
        Reason::StatusIsNotSuccess,
        format!(
            "status is {value:?}, second-level code {}, message {}",
            second.map_or("(none)".to_owned(), |s| format!("{s:?}")),
            message.map_or("(none)".to_owned(), |s| format!("{:?}", s.trim())),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{EARLIEST_WRITABLE, LATEST};
    use time::macros::datetime;

    #[test]
    fn instants_of_years_outside_four_digits_are_the_distant_past_or_the_far_future() {
        let parse = |v: &str| parse_instant(v, "t").map_err(|r| r.reason.code());
        // xs:dateTime years have any number of digits and a sign (XML Schema 1.1 part 2 §3.3.7,
        // astronomical: -0001 is 2 BCE); the SP's range ends at the four-digit years.
        assert_eq!(parse("-0001-06-01T12:00:00Z"), Ok(EARLIEST_WRITABLE));
        assert_eq!(parse("-9999-12-31T23:59:59.5Z"), Ok(EARLIEST_WRITABLE));
        assert_eq!(
            parse("-123456789012-01-01T00:00:00Z"),
            Ok(EARLIEST_WRITABLE)
        );
        assert_eq!(parse("10000-01-01T00:00:00Z"), Ok(LATEST));
        assert_eq!(parse("123456789012345-01-01T00:00:00.25+01:00"), Ok(LATEST));
        // The offset can bring an instant back into the range.
        assert_eq!(
            parse("10000-01-01T00:00:00+14:00"),
            Ok(datetime!(9999-12-31 10:00 UTC))
        );
        assert_eq!(
            parse("-0001-12-31T20:00:00.123456789999-14:00"),
            Ok(datetime!(0000-01-01 10:00:00.123456789 UTC))
        );
        assert_eq!(
            parse("2026-06-01T12:00:00Z"),
            Ok(datetime!(2026-06-01 12:00 UTC))
        );
        // Not xs:dateTimes: a five-digit year with a leading zero, three digits, no zone.
        for bad in [
            "02026-06-01T12:00:00Z",
            "-02026-06-01T12:00:00Z",
            "999-06-01T12:00:00Z",
            "10000-06-01T12:00:00",
            "--2026-06-01T12:00:00Z",
            "+2026-06-01T12:00:00Z",
        ] {
            assert_eq!(parse(bad), Err("structure.malformed"), "{bad}");
        }
    }
}
