//! Message-level properties (issue 10, "Property tests"): the mock IdP mints, the reference SP
//! verifies, both as libraries in this process (no servers, except the one end-to-end sign-in of
//! the role-mapping property).
//!
//! 1. Any response minted from random *valid* knobs and random user data (Unicode, markup, XML
//!    whitespace, characters XML forbids, 0..300 groups, values of kilobytes, up to 60 custom
//!    attributes) is accepted with exactly the claims the IdP was told to send.
//! 2. Flipping, inserting or deleting bytes inside the signed assertion never yields acceptance
//!    with different claims.
//! 3. The time window: accepted exactly when the stated windows and the skew allow (an oracle in
//!    `i128` nanoseconds with its own `xs:dateTime` reader), refused with the precise code.
//! 4. Role mapping: the image of the groups under that IdP's mapping, else its default role,
//!    never an admin default.
//!
//! `PROPTEST_CASES=1000 cargo test --test properties` runs more cases (the default is small, so
//! that the file runs in CI in seconds).

use std::sync::LazyLock;

use mock_idp::keys::IdpKeys;
use mock_idp::knobs::{
    AttributeStyle, DataEncryption, DigestAlgorithm, ExtraAttribute, GroupFormat, KeyTransport,
    Knobs, SignTarget, SignatureAlgorithm,
};
use mock_idp::mint::{self, CounterIds, MintError, MintParams, Minted};
use mock_idp::users::{Group, User};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use sp::keys::SpEncryptionKeys;
use sp::verify::{
    Attribute, DecryptionKey, SignedElement, VerifiedResponse, VerifyPolicy, verify_response,
};
use time::{Duration, OffsetDateTime};

const SP_ENTITY_ID: &str = "https://sp.example/saml/metadata";
const ACS_URL: &str = "https://sp.example/saml/acs";
const IDP_ENTITY_ID: &str = "https://idp.example/metadata";
const REQUEST_ID: &str = "_a0000000000000000000000000000000000000001";
const NOW: OffsetDateTime = time::macros::datetime!(2026-06-01 12:00 UTC);

static IDP_KEYS: LazyLock<IdpKeys> = LazyLock::new(IdpKeys::fixed_for_tests);
static SP_ENC_KEYS: LazyLock<SpEncryptionKeys> = LazyLock::new(SpEncryptionKeys::fixed_for_tests);

/// Case count: `PROPTEST_CASES` when set, else `default`.
fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // Shrunk failures are kept beside this file (`properties.proptest-regressions`, committed)
        // and replayed first on every run.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Minting and verifying
// ---------------------------------------------------------------------------------------------

fn mint_at(
    user: &User,
    knobs: &Knobs,
    in_response_to: Option<&str>,
    now: OffsetDateTime,
) -> Result<Minted, MintError> {
    mint::mint_response(&MintParams {
        idp_entity_id: IDP_ENTITY_ID.into(),
        sp_entity_id: SP_ENTITY_ID.into(),
        acs_url: ACS_URL.into(),
        user,
        in_response_to: in_response_to.map(str::to_owned),
        now,
        knobs,
        keys: &IDP_KEYS,
        ids: &CounterIds::new(),
        session_index: None,
        sp_encryption_cert_pem: Some(&SP_ENC_KEYS.cert_pem),
    })
}

/// The SP's default policy, plus what the knobs' valid choices need the policy to allow (a
/// Response-only signature, CBC, RSA PKCS#1 v1.5), and the SP's decryption key.
fn policy_for(knobs: &Knobs) -> VerifyPolicy {
    let mut policy = VerifyPolicy::new(SP_ENTITY_ID, ACS_URL, vec![IDP_KEYS.idp.cert_pem.clone()]);
    policy.idp_entity_id = Some(IDP_ENTITY_ID.into());
    policy.accept_response_signature = knobs.sign == SignTarget::Response;
    policy.allow_cbc = matches!(
        knobs.data_encryption,
        DataEncryption::Aes128Cbc | DataEncryption::Aes256Cbc
    );
    policy.allow_rsa15 = knobs.key_transport == KeyTransport::Rsa15;
    policy.decryption_keys = vec![DecryptionKey::from_pem(SP_ENC_KEYS.key_pem.clone())];
    policy
}

// ---------------------------------------------------------------------------------------------
// Random user data
// ---------------------------------------------------------------------------------------------

/// Characters XML 1.0 cannot carry at all (§2.2 `Char`), which the IdP replaces by U+FFFD
/// (`mock_idp::xml::escape`). Tab, LF and CR are allowed (the IdP writes them as references).
fn forbidden_in_xml(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}'
    )
}

/// What the IdP's text becomes in the document (and so what a verifier reads back).
fn as_sent(text: &str) -> String {
    text.chars()
        .map(|c| if forbidden_in_xml(c) { '\u{fffd}' } else { c })
        .collect()
}

/// Only space, tab, CR and LF are XML whitespace; the SP trims NameIDs of them (and of nothing
/// else), as `sp::verify` documents.
fn trim_xml_whitespace(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\r', '\n'])
}

fn text_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => prop::char::range('a', 'z'),
        1 => prop::char::range('0', '9'),
        // Markup, quotes, XML whitespace, combining marks, right-to-left text and controls,
        // astral characters, look-alike spaces, a BOM, private use, NEL and LINE SEPARATOR.
        3 => prop::sample::select(vec![
            '<', '&', '>', '"', '\'', ']', ';', '#', '=', ' ', '\t', '\n', '\r', '\u{301}',
            '\u{308}', '\u{5d0}', '\u{627}', '\u{202e}', '\u{200f}', '\u{1f600}', '\u{10348}',
            '\u{1d11e}', '\u{a0}', '\u{3000}', '\u{feff}', '\u{fffd}', '\u{e000}', '\u{85}',
            '\u{2028}', '\u{7f}', 'é', 'ß', '漢',
        ]),
        // Characters XML forbids: the IdP replaces them (modelled by `as_sent`).
        1 => prop::sample::select(vec![
            '\u{0}', '\u{1}', '\u{8}', '\u{b}', '\u{c}', '\u{1b}', '\u{1f}', '\u{fffe}', '\u{ffff}',
        ]),
        1 => any::<char>(),
    ]
}

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(text_char(), 0..=max).prop_map(|cs| cs.into_iter().collect())
}

/// Short text most of the time, a few kilobytes sometimes.
fn value_text() -> impl Strategy<Value = String> {
    prop_oneof![8 => text(24), 1 => text(3000)]
}

/// Text that still names somebody after the SP trims XML whitespace (an all-whitespace NameID is
/// `subject.name_id_empty`, a different property).
fn name_text() -> impl Strategy<Value = String> {
    (text(20), prop::char::range('a', 'z'), text(20)).prop_map(|(a, c, b)| format!("{a}{c}{b}"))
}

fn user() -> impl Strategy<Value = User> {
    let groups = prop_oneof![
        4 => prop::collection::vec((text(16), text(16)), 0..=5),
        1 => prop::collection::vec((text(40), text(40)), 0..=300),
    ];
    (
        text(16),
        name_text(),
        value_text(),
        value_text(),
        groups,
        any::<bool>(),
    )
        .prop_map(
            |(login, email, first_name, last_name, groups, access)| User {
                login,
                email,
                first_name,
                last_name,
                groups: groups
                    .into_iter()
                    .map(|(name, object_id)| Group { name, object_id })
                    .collect(),
                access,
            },
        )
}

// ---------------------------------------------------------------------------------------------
// Random valid knobs
// ---------------------------------------------------------------------------------------------

const NAME_ID_FORMATS: &[&str] = &[
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:WindowsDomainQualifiedName",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos",
];

const AUTHN_CONTEXT_CLASSES: &[&str] = &[
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:Password",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:X509",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:Kerberos",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified",
    "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/windows",
];

/// How the groups attribute is sent: all of these are conformant.
#[derive(Debug, Clone, Copy)]
enum GroupsShape {
    AsUsual,
    Omitted,
    Empty,
    Overage,
}

/// Knobs whose every value a conformant SP accepts. Faults (overrides of the SP's values, omitted
/// required elements, weak algorithms, attacks) are other properties' and the catalogue's.
fn valid_knobs() -> impl Strategy<Value = Knobs> {
    let signing = (
        prop::sample::select(vec![
            SignTarget::Assertion,
            SignTarget::Response,
            SignTarget::Both,
        ]),
        prop::sample::select(vec![
            SignatureAlgorithm::RsaSha256,
            SignatureAlgorithm::RsaSha384,
            SignatureAlgorithm::RsaSha512,
        ]),
        prop::sample::select(vec![
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha384,
            DigestAlgorithm::Sha512,
        ]),
        any::<bool>(),
    );
    let encrypting = (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec![
            DataEncryption::Aes256Gcm,
            DataEncryption::Aes128Gcm,
            DataEncryption::Aes256Cbc,
            DataEncryption::Aes128Cbc,
        ]),
        prop::sample::select(vec![KeyTransport::RsaOaep, KeyTransport::Rsa15]),
    );
    let assertion = (
        prop::sample::select(NAME_ID_FORMATS),
        prop::option::of(name_text()),
        prop::option::of(1i64..=86_400),
        prop::option::of(prop::sample::select(AUTHN_CONTEXT_CLASSES)),
        any::<bool>(),
        prop::option::of(0u32..=5),
        any::<bool>(),
        (
            -60i64..=60,
            -600i64..=0,
            121i64..=3_600,
            prop::option::of(121i64..=3_600),
        ),
    );
    let extra_attributes = prop_oneof![
        3 => prop::collection::vec(
            (name_text(), prop::collection::vec(value_text(), 0..=3)),
            0..=4
        ),
        1 => prop::collection::vec(
            (name_text(), prop::collection::vec(text(24), 0..=20)),
            0..=60
        ),
    ]
    .prop_map(|attributes| {
        attributes
            .into_iter()
            .enumerate()
            // A `#` and the index keep every Name distinct from the others and from the style's.
            .map(|(i, (name, values))| ExtraAttribute {
                name: format!("{name}#{i}"),
                values,
            })
            .collect::<Vec<_>>()
    });
    let attributes = (
        extra_attributes,
        prop::sample::select(vec![
            AttributeStyle::Okta,
            AttributeStyle::Entra,
            AttributeStyle::Shotgun,
        ]),
        prop::sample::select(vec![GroupFormat::Names, GroupFormat::EntraGuids]),
        prop::sample::select(vec![
            GroupsShape::AsUsual,
            GroupsShape::AsUsual,
            GroupsShape::Omitted,
            GroupsShape::Empty,
            GroupsShape::Overage,
        ]),
    );
    (signing, encrypting, assertion, attributes).prop_map(
        |(
            (sign, signature_algorithm, digest_algorithm, compact_xml),
            (
                encrypt_assertion,
                encrypt_name_id,
                encrypt_attributes,
                data_encryption,
                key_transport,
            ),
            (
                name_id_format,
                name_id_value,
                session_secs,
                authn_class,
                one_time_use,
                proxy_restriction,
                advice_assertion,
                (clock_offset_secs, not_before_offset_secs, validity_secs, subject_validity),
            ),
            (extra_attributes, attribute_style, group_format, groups),
        )| Knobs {
            sign,
            signature_algorithm,
            digest_algorithm,
            compact_xml,
            encrypt_assertion,
            encrypt_name_id,
            encrypt_attributes,
            data_encryption,
            key_transport,
            name_id_format: name_id_format.to_owned(),
            name_id_value,
            session_not_on_or_after_secs: session_secs,
            authn_context_class_ref_override: authn_class.map(str::to_owned),
            one_time_use,
            proxy_restriction,
            advice_assertion,
            clock_offset_secs,
            not_before_offset_secs,
            validity_secs,
            subject_confirmation_validity_secs: subject_validity,
            attribute_style,
            group_format,
            omit_groups: matches!(groups, GroupsShape::Omitted),
            empty_groups: matches!(groups, GroupsShape::Empty),
            group_overage: matches!(groups, GroupsShape::Overage),
            extra_attributes,
            ..Knobs::default()
        },
    )
}

// ---------------------------------------------------------------------------------------------
// The claims the IdP was told to send
// ---------------------------------------------------------------------------------------------

fn attribute(name: &str, values: Vec<String>) -> Attribute {
    Attribute {
        name: name.to_owned(),
        friendly_name: None,
        values: values.iter().map(|v| as_sent(v)).collect(),
    }
}

/// The attributes of `user` under `knobs`, as the IdP products the styles imitate name them.
fn expected_attributes(user: &User, knobs: &Knobs) -> Vec<Attribute> {
    const CLAIMS: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/";
    let one = |name: &str, value: &str| attribute(name, vec![value.to_owned()]);
    let mut out = match knobs.attribute_style {
        AttributeStyle::Okta => vec![
            one("mail", &user.email),
            one("givenName", &user.first_name),
            one("sn", &user.last_name),
        ],
        AttributeStyle::Entra => vec![
            one(&format!("{CLAIMS}emailaddress"), &user.email),
            one(&format!("{CLAIMS}givenname"), &user.first_name),
            one(&format!("{CLAIMS}surname"), &user.last_name),
            one(&format!("{CLAIMS}name"), &user.email),
        ],
        AttributeStyle::Shotgun => vec![
            one("login_id", &user.login),
            one("firstname", &user.first_name),
            one("lastname", &user.last_name),
            one("email", &user.email),
            one("access", if user.access { "true" } else { "false" }),
        ],
    };
    let groups_name = match knobs.attribute_style {
        AttributeStyle::Entra => "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
        AttributeStyle::Okta | AttributeStyle::Shotgun => "groups",
    };
    let groups: Vec<String> = user
        .groups
        .iter()
        .map(|g| match knobs.group_format {
            GroupFormat::Names => g.name.clone(),
            GroupFormat::EntraGuids => g.object_id.clone(),
        })
        .collect();
    if knobs.group_overage {
        out.push(one(mint::GROUPS_LINK, &mint::groups_link(user)));
    } else if knobs.empty_groups {
        out.push(attribute(groups_name, Vec::new()));
    } else if !knobs.omit_groups && !groups.is_empty() {
        out.push(attribute(groups_name, groups));
    }
    out.extend(
        knobs
            .extra_attributes
            .iter()
            .map(|extra| attribute(&as_sent(&extra.name), extra.values.clone())),
    );
    out
}

fn assert_claims(
    v: &VerifiedResponse,
    minted: &Minted,
    user: &User,
    knobs: &Knobs,
    in_response_to: Option<&str>,
) -> Result<(), TestCaseError> {
    let issue = NOW + Duration::seconds(knobs.clock_offset_secs);
    let name_id = as_sent(knobs.name_id_value.as_deref().unwrap_or(&user.email));
    prop_assert_eq!(v.name_id.as_deref(), Some(trim_xml_whitespace(&name_id)));
    prop_assert_eq!(
        v.name_id_format.as_deref(),
        Some(knobs.name_id_format.as_str())
    );
    prop_assert_eq!(&v.attributes, &expected_attributes(user, knobs));
    prop_assert_eq!(&v.issuer, IDP_ENTITY_ID);
    prop_assert_eq!(&v.audiences, &vec![SP_ENTITY_ID.to_owned()]);
    prop_assert_eq!(Some(&v.assertion_id), minted.assertion_id.as_ref());
    prop_assert_eq!(&v.session_index, &minted.session_index);
    prop_assert_eq!(&v.response_id, &minted.response_id);
    prop_assert_eq!(v.in_response_to.as_deref(), in_response_to);
    prop_assert_eq!(v.destination.as_deref(), Some(ACS_URL));
    prop_assert_eq!(v.issue_instant, issue);
    prop_assert_eq!(v.authn_instant, issue);
    prop_assert_eq!(
        v.not_before,
        Some(issue + Duration::seconds(knobs.not_before_offset_secs))
    );
    let not_on_or_after = issue + Duration::seconds(knobs.validity_secs);
    prop_assert_eq!(v.not_on_or_after, Some(not_on_or_after));
    let bearer = knobs
        .subject_confirmation_validity_secs
        .map_or(not_on_or_after, |s| issue + Duration::seconds(s));
    prop_assert_eq!(v.bearer_not_on_or_after, Some(bearer));
    prop_assert_eq!(
        v.session_not_on_or_after,
        knobs
            .session_not_on_or_after_secs
            .map(|s| issue + Duration::seconds(s))
    );
    prop_assert_eq!(v.one_time_use, knobs.one_time_use);
    let signed = match knobs.sign {
        SignTarget::Assertion => SignedElement::Assertion,
        SignTarget::Response => SignedElement::Response,
        _ => SignedElement::Both,
    };
    prop_assert_eq!(v.signature.signed_element, signed);
    prop_assert_eq!(
        &v.signature.signature_algorithm,
        knobs.signature_algorithm.uri()
    );
    prop_assert_eq!(&v.signature.digest_algorithm, knobs.digest_algorithm.uri());
    prop_assert_eq!(v.encrypted.assertion, knobs.encrypt_assertion);
    prop_assert_eq!(v.encrypted.name_id, knobs.encrypt_name_id);
    prop_assert_eq!(v.encrypted.attributes, knobs.encrypt_attributes);
    Ok(())
}

proptest! {
    #![proptest_config(config(48))]

    /// Property 1.
    #[test]
    fn valid_knobs_and_any_user_data_are_accepted_with_exactly_those_claims(
        knobs in valid_knobs(),
        user in user(),
        solicited in any::<bool>(),
    ) {
        let in_response_to = solicited.then_some(REQUEST_ID);
        let minted = mint_at(&user, &knobs, in_response_to, NOW).expect("valid knobs mint");
        let verified = verify_response(minted.xml.as_bytes(), &policy_for(&knobs), NOW);
        let verified = match verified {
            Ok(v) => v,
            Err(r) => {
                return Err(TestCaseError::fail(format!(
                    "refused {}: {}\n{}",
                    r.reason.code(),
                    r.message,
                    minted.xml
                )))
            }
        };
        assert_claims(&verified, &minted, &user, &knobs, in_response_to)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Property 2: edits inside the signed assertion
// ---------------------------------------------------------------------------------------------

/// One edit of the message's bytes; positions are taken inside the assertion's byte range.
#[derive(Debug, Clone)]
enum Edit {
    /// XOR one byte with a non-zero mask (a bit flip when the mask has one bit).
    Flip(prop::sample::Index, u8),
    /// Overwrite one byte.
    Set(prop::sample::Index, u8),
    /// Insert bytes before a position.
    Insert(prop::sample::Index, Vec<u8>),
    /// Delete up to this many bytes from a position.
    Delete(prop::sample::Index, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let byte = prop_oneof![
        any::<u8>(),
        // Bytes that keep the document well-formed more often than random ones do.
        prop::sample::select(b" \n\t<>/=\"'&;#:_-.0123456789abcxyzAZ".to_vec()),
    ];
    prop_oneof![
        (
            any::<prop::sample::Index>(),
            prop_oneof![
                prop::sample::select(vec![1u8, 2, 4, 8, 16, 32, 64, 128]),
                1u8..=255,
            ]
        )
            .prop_map(|(i, m)| Edit::Flip(i, m)),
        (any::<prop::sample::Index>(), byte.clone()).prop_map(|(i, b)| Edit::Set(i, b)),
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(byte, 1..=4)
        )
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<prop::sample::Index>(), 1usize..=8).prop_map(|(i, n)| Edit::Delete(i, n)),
    ]
}

/// The byte range of the assertion as sent, from its `<` to the end of its end tag: the
/// `EncryptedAssertion` when it is encrypted, else the (outer) `Assertion`.
fn assertion_range(xml: &str) -> std::ops::Range<usize> {
    let element = if xml.contains("<saml:EncryptedAssertion") {
        "saml:EncryptedAssertion"
    } else {
        "saml:Assertion"
    };
    let start = xml.find(&format!("<{element}")).expect("an assertion");
    let close = format!("</{element}>");
    let end = xml.rfind(&close).expect("its end tag") + close.len();
    start..end
}

/// Applies `edits` inside `range`, which moves with insertions and deletions.
fn apply_edits(xml: &str, range: std::ops::Range<usize>, edits: &[Edit]) -> Vec<u8> {
    let mut bytes = xml.as_bytes().to_vec();
    let (start, mut end) = (range.start, range.end);
    for edit in edits {
        let len = end - start;
        if len == 0 {
            break;
        }
        match edit {
            Edit::Flip(i, mask) => bytes[start + i.index(len)] ^= mask,
            Edit::Set(i, b) => bytes[start + i.index(len)] = *b,
            Edit::Insert(i, inserted) => {
                let at = start + i.index(len + 1);
                bytes.splice(at..at, inserted.iter().copied());
                end += inserted.len();
            }
            Edit::Delete(i, n) => {
                let at = start + i.index(len);
                let to = (at + n).min(end);
                bytes.drain(at..to);
                end -= to - at;
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(config(64))]

    /// Property 2.
    #[test]
    fn edits_inside_the_signed_assertion_never_yield_different_claims(
        knobs in valid_knobs(),
        user in user(),
        edits in prop::collection::vec(edit(), 1..=3),
    ) {
        let minted = mint_at(&user, &knobs, Some(REQUEST_ID), NOW).expect("valid knobs mint");
        let policy = policy_for(&knobs);
        let original = verify_response(minted.xml.as_bytes(), &policy, NOW)
            .expect("the unedited response is accepted (property 1)");
        let edited = apply_edits(&minted.xml, assertion_range(&minted.xml), &edits);
        if let Ok(v) = verify_response(&edited, &policy, NOW) {
            // Only bytes outside the signed canonical form (inside the enveloped Signature's
            // KeyInfo, say) may change without a refusal; the claims may not.
            prop_assert_eq!(v, original, "accepted after {:?}", edits);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Property 3: the time window
// ---------------------------------------------------------------------------------------------

const SECOND: i128 = 1_000_000_000;
const DAY: i128 = 86_400 * SECOND;

/// Days since 1970-01-01 of a proleptic Gregorian date, astronomical years (0 is 1 BCE, as in
/// XML Schema 1.1 and ISO 8601), any year (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i128, month: u32, day: u32) -> i128 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i128::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i128::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i128) -> (i128, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i128::from(month <= 2), month, day)
}

/// An `xs:dateTime` as text, and the instant it names in Unix nanoseconds, exactly (fraction
/// digits past the ninth dropped: SAML core §1.3.3 says not to rely on finer than milliseconds,
/// and the SP keeps nanoseconds).
#[derive(Debug, Clone)]
struct Instant {
    text: String,
    nanos: i128,
}

/// Writes `nanos` at `offset_minutes` from UTC (`Z` for `None`) with `digits` fraction digits;
/// digits past the ninth are `9`s, which the reading drops. The instant returned is what the
/// text names (truncated to `digits`).
fn write_instant(nanos: i128, offset_minutes: Option<i32>, digits: usize) -> Instant {
    let offset = i128::from(offset_minutes.unwrap_or(0)) * 60 * SECOND;
    let local = nanos + offset;
    let (days, in_day) = (local.div_euclid(DAY), local.rem_euclid(DAY));
    let (year, month, day) = civil_from_days(days);
    let secs = in_day / SECOND;
    let frac = format!("{:09}", in_day % SECOND);
    let kept: String = frac.chars().take(digits).collect();
    let kept_nanos: i128 = format!("{kept:0<9}").parse().unwrap_or(0);
    let fraction = match digits {
        0 => String::new(),
        d if d <= 9 => format!(".{kept}"),
        d => format!(".{frac}{}", "9".repeat(d - 9)),
    };
    let year_text = if year < 0 {
        format!("-{:04}", -year)
    } else {
        format!("{year:04}")
    };
    let zone = match offset_minutes {
        None => "Z".to_owned(),
        Some(m) => format!(
            "{}{:02}:{:02}",
            if m < 0 { '-' } else { '+' },
            m.abs() / 60,
            m.abs() % 60
        ),
    };
    Instant {
        text: format!(
            "{year_text}-{month:02}-{day:02}T{:02}:{:02}:{:02}{fraction}{zone}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        ),
        nanos: (days * DAY + secs * SECOND + kept_nanos) - offset,
    }
}

/// Offsets from UTC that `xs:dateTime` allows (±14:00).
fn zone() -> impl Strategy<Value = Option<i32>> {
    prop_oneof![
        2 => Just(None),
        1 => (-14 * 60..=14 * 60).prop_map(Some),
        1 => prop::sample::select(vec![Some(0), Some(-14 * 60), Some(14 * 60), Some(-5 * 60)]),
    ]
}

fn fraction_digits() -> impl Strategy<Value = usize> {
    prop_oneof![Just(0usize), 1usize..=9, 10usize..=30]
}

/// Any instant of any year: the four-digit range, year 0000 (1 BCE), negative years, and years
/// past 9999 (all `xs:dateTime`s).
fn absolute_instant() -> impl Strategy<Value = Instant> {
    let year = prop_oneof![
        1i128..=9999,
        1969i128..=2100,
        prop::sample::select(vec![0i128, 1, 9999, 10_000, -1]),
        -9999i128..=-1,
        10_000i128..=99_999,
        100_000i128..=999_999_999_999_999,
        -999_999_999_999_999i128..=-10_000,
    ];
    (
        year,
        1u32..=12,
        1u32..=28,
        0i128..DAY,
        zone(),
        fraction_digits(),
    )
        .prop_map(|(year, month, day, in_day, zone, digits)| {
            // Written from the local date in that zone: shift by the offset first.
            let offset = i128::from(zone.unwrap_or(0)) * 60 * SECOND;
            write_instant(
                days_from_civil(year, month, day) * DAY + in_day - offset,
                zone,
                digits,
            )
        })
}

/// Conditions' and the bearer's NotOnOrAfter, as written by `not_on_or_after_override`.
#[derive(Debug, Clone)]
enum NotOnOrAfterText {
    Absolute(Instant),
    /// Near now − skew (the edge of the window), in this zone with this many digits.
    NearTheEdge(i128, Option<i32>, usize),
}

/// Where a generated offset lies: anywhere, or within seconds of the edge it is tested against.
#[derive(Debug, Clone)]
enum Offset {
    Anywhere(i64),
    NearTheEdge(i64),
}

fn offset(anywhere: std::ops::RangeInclusive<i64>) -> impl Strategy<Value = Offset> {
    prop_oneof![
        anywhere.prop_map(Offset::Anywhere),
        (-3i64..=3).prop_map(Offset::NearTheEdge),
    ]
}

#[derive(Debug, Clone)]
struct TimeCase {
    /// The SP's clock (and the IdP's before `clock_offset_secs`).
    now: OffsetDateTime,
    skew_secs: u32,
    /// `not_before_offset_secs`, relative to the issue instant (edge: the 10-minute backdate).
    not_before: Offset,
    /// `clock_offset_secs` (edge: now + skew + backdate).
    issue: Offset,
    /// `validity_secs` (edge: now − skew).
    validity: Offset,
    /// `subject_confirmation_validity_secs` (edge: now − skew).
    bearer_validity: Option<Offset>,
    not_on_or_after_text: Option<NotOnOrAfterText>,
    /// `session_not_on_or_after_override` (none: no SessionNotOnOrAfter).
    session_text: Option<Instant>,
}

fn time_case() -> impl Strategy<Value = TimeCase> {
    let start = |t: OffsetDateTime| t.unix_timestamp();
    let now = prop_oneof![
        3 => start(NOW) - 100_000_000..=start(NOW) + 100_000_000,
        1 => start(time::macros::datetime!(0001-01-01 0:00 UTC))
            ..=start(time::macros::datetime!(0001-01-01 0:00 UTC)) + 100_000_000,
        1 => start(time::macros::datetime!(9999-12-31 23:59:59 UTC)) - 100_000_000
            ..=start(time::macros::datetime!(9999-12-31 23:59:59 UTC)),
    ]
    .prop_map(|secs| OffsetDateTime::from_unix_timestamp(secs).expect("in range"));
    let skew = prop_oneof![
        3 => 0u32..=600,
        1 => prop::sample::select(vec![0u32, 1, 120, 300]),
        1 => any::<u32>(),
    ];
    let text = prop_oneof![
        absolute_instant().prop_map(NotOnOrAfterText::Absolute),
        (-2 * SECOND..=2 * SECOND, zone(), fraction_digits())
            .prop_map(|(d, z, digits)| NotOnOrAfterText::NearTheEdge(d, z, digits)),
    ];
    (
        now,
        skew,
        offset(-900..=900),
        offset(-1_000..=1_000),
        offset(-400..=4_000),
        prop::option::of(offset(-400..=4_000)),
        prop::option::of(text),
        prop::option::of(absolute_instant()),
    )
        .prop_map(
            |(now, skew_secs, not_before, issue, validity, bearer_validity, text, session)| {
                TimeCase {
                    now,
                    skew_secs,
                    not_before,
                    issue,
                    validity,
                    bearer_validity,
                    not_on_or_after_text: text,
                    session_text: session,
                }
            },
        )
}

/// The knobs of a case and the instants they make the IdP write (Unix nanoseconds, exact).
struct Written {
    knobs: Knobs,
    issue: i128,
    not_before: i128,
    not_on_or_after: i128,
    bearer_not_on_or_after: i128,
}

fn written(case: &TimeCase) -> Written {
    let now = case.now.unix_timestamp_nanos();
    let skew = i64::from(case.skew_secs);
    let not_before_offset_secs = match case.not_before {
        Offset::Anywhere(s) => s,
        Offset::NearTheEdge(d) => -600 + d,
    };
    let backdate = (-not_before_offset_secs).clamp(0, 600);
    let clock_offset_secs = match case.issue {
        Offset::Anywhere(s) => s,
        Offset::NearTheEdge(d) => skew + backdate + d,
    };
    let issue = now + i128::from(clock_offset_secs) * SECOND;
    // Seconds from the issue instant to now − skew: the edge of NotOnOrAfter.
    let to_edge = -skew - clock_offset_secs;
    let relative = |o: &Offset| match *o {
        Offset::Anywhere(s) => s,
        Offset::NearTheEdge(d) => to_edge + d,
    };
    let validity_secs = relative(&case.validity);
    let bearer_secs = case.bearer_validity.as_ref().map(relative);
    let text = case.not_on_or_after_text.as_ref().map(|t| match t {
        NotOnOrAfterText::Absolute(instant) => instant.clone(),
        NotOnOrAfterText::NearTheEdge(d, zone, digits) => {
            write_instant(now - i128::from(skew) * SECOND + d, *zone, *digits)
        }
    });
    let not_on_or_after = text
        .as_ref()
        .map_or(issue + i128::from(validity_secs) * SECOND, |t| t.nanos);
    Written {
        knobs: Knobs {
            clock_offset_secs,
            not_before_offset_secs,
            validity_secs,
            subject_confirmation_validity_secs: bearer_secs,
            not_on_or_after_override: text.map(|t| t.text),
            // Written as text: eight hours past an instant near the end of year 9999 could not be.
            session_not_on_or_after_secs: None,
            session_not_on_or_after_override: case.session_text.as_ref().map(|t| t.text.clone()),
            ..Knobs::default()
        },
        issue,
        not_before: issue + i128::from(not_before_offset_secs) * SECOND,
        not_on_or_after,
        bearer_not_on_or_after: bearer_secs
            .map_or(not_on_or_after, |s| issue + i128::from(s) * SECOND),
    }
}

/// An instant as the SP keeps it: clamped to 0000-01-01T00:00:00Z ..
/// 9999-12-31T23:59:59.999999999Z (`sp/docs/configuration.md`).
fn clamp(t: i128) -> i128 {
    let earliest = days_from_civil(0, 1, 1) * DAY;
    let latest = days_from_civil(9999, 12, 31) * DAY + DAY - 1;
    t.clamp(earliest, latest)
}

/// The verdict the SP's stated rules give (`sp/docs/reason-codes.md`, `sp/docs/configuration.md`,
/// SAML core §2.5.1.2 and profiles §4.1.4.2), in the order the verifier checks them:
/// - every instant read from a message is clamped to 0000-01-01T00:00:00Z ..
///   9999-12-31T23:59:59.999999999Z ("the distant past" / "the far future");
/// - an IssueInstant may lie up to skew + the backdating of NotBefore (the issue instant minus
///   NotBefore, between 0 and 10 minutes) ahead of now, else `time.not_yet_valid`;
/// - an Assertion issued at or after its own NotOnOrAfter: `time.expired`;
/// - Conditions NotBefore after now + skew: `time.not_yet_valid`;
/// - Conditions NotOnOrAfter at or before now − skew: `time.expired`;
/// - bearer SubjectConfirmationData NotOnOrAfter at or before now − skew:
///   `subject.confirmation_expired`.
fn time_oracle(now: i128, skew_secs: u32, w: &Written) -> Result<(), &'static str> {
    let skew = i128::from(skew_secs) * SECOND;
    let (issue, not_before) = (clamp(w.issue), clamp(w.not_before));
    let (not_on_or_after, bearer) = (clamp(w.not_on_or_after), clamp(w.bearer_not_on_or_after));
    let backdate = (issue - not_before).clamp(0, 600 * SECOND);
    if issue > now + skew + backdate {
        return Err("time.not_yet_valid");
    }
    if issue >= not_on_or_after {
        return Err("time.expired");
    }
    if not_before > now + skew {
        return Err("time.not_yet_valid");
    }
    if not_on_or_after <= now - skew {
        return Err("time.expired");
    }
    if bearer <= now - skew {
        return Err("subject.confirmation_expired");
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    /// Property 3.
    #[test]
    fn accepted_exactly_when_the_windows_and_the_skew_allow(case in time_case()) {
        let w = written(&case);
        let user = mock_idp::users::demo_users().remove(2);
        let minted = match mint_at(&user, &w.knobs, Some(REQUEST_ID), case.now) {
            Ok(minted) => minted,
            // An issue instant past year 9999 (a huge skew near the end of the range) has no
            // xs:dateTime the IdP's date library can write; nothing for the SP to judge.
            Err(MintError::TimestampOutOfRange { .. }) => {
                prop_assume!(false);
                unreachable!()
            }
            Err(e) => panic!("{e}"),
        };
        let mut policy = policy_for(&w.knobs);
        policy.clock_skew = Duration::seconds(i64::from(case.skew_secs));
        let got = verify_response(minted.xml.as_bytes(), &policy, case.now);
        let expected = time_oracle(case.now.unix_timestamp_nanos(), case.skew_secs, &w);
        let message = got.as_ref().err().map(|r| r.message.clone()).unwrap_or_default();
        if let Ok(v) = &got {
            // What the SP read is what was written, clamped.
            let nanos = |t: OffsetDateTime| t.unix_timestamp_nanos();
            prop_assert_eq!(nanos(v.issue_instant), clamp(w.issue));
            prop_assert_eq!(v.not_before.map(nanos), Some(clamp(w.not_before)));
            prop_assert_eq!(v.not_on_or_after.map(nanos), Some(clamp(w.not_on_or_after)));
            prop_assert_eq!(
                v.bearer_not_on_or_after.map(nanos),
                Some(clamp(w.bearer_not_on_or_after))
            );
            prop_assert_eq!(
                v.session_not_on_or_after.map(nanos),
                case.session_text.as_ref().map(|t| clamp(t.nanos))
            );
        }
        prop_assert_eq!(
            got.map(|_| ()).map_err(|r| r.reason.code()),
            expected,
            "{}; NotOnOrAfter written {:?}",
            message,
            w.knobs.not_on_or_after_override
        );
    }
}

#[test]
fn the_oracles_calendar_agrees_with_the_date_library() {
    for t in [
        time::macros::datetime!(0000-01-01 0:00 UTC),
        time::macros::datetime!(0001-03-01 12:34:56.789 UTC),
        time::macros::datetime!(1969-12-31 23:59:59 UTC),
        time::macros::datetime!(2024-02-29 0:00 UTC),
        time::macros::datetime!(9999-12-31 23:59:59.999999999 UTC),
        time::macros::datetime!(-0001-12-31 0:00 UTC),
    ] {
        let nanos = t.unix_timestamp_nanos();
        let days = days_from_civil(
            i128::from(t.year()),
            u32::from(u8::from(t.month())),
            u32::from(t.day()),
        );
        assert_eq!(days, nanos.div_euclid(DAY), "{t}");
        assert_eq!(
            civil_from_days(days),
            (
                i128::from(t.year()),
                u32::from(u8::from(t.month())),
                u32::from(t.day())
            )
        );
        let written = write_instant(nanos, Some(-5 * 60), 9);
        assert_eq!(written.nanos, nanos, "{}", written.text);
        assert_eq!(
            OffsetDateTime::parse(
                &written.text,
                &time::format_description::well_known::Rfc3339
            )
            .ok()
            .map(|p| p.unix_timestamp_nanos()),
            (t.year() >= 1).then_some(nanos),
            "{}",
            written.text
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Property 4: role mapping
// ---------------------------------------------------------------------------------------------

const PARTNER_ENTITY_ID: &str = "https://partner.example/metadata";
const ADMIN_ROLE: &str = "admin";

/// Group names that collide with each other under loose comparisons (case, Unicode spaces, XML
/// whitespace), so that mappings match, and almost match, often.
const GROUP_POOL: &[&str] = &[
    "admins",
    "Admins",
    "ADMINS",
    "admins\u{a0}",
    "engineering",
    "Engineering",
    "eng",
    "contractors",
    "ops",
    "ops-admins",
    "grüppe",
    "gru\u{308}ppe",
    "<&>",
    "",
];
const ROLE_POOL: &[&str] = &[ADMIN_ROLE, "editor", "viewer", "member", "guest", "owner"];

#[derive(Debug, Clone)]
struct Mapping {
    group: String,
    role: String,
}

#[derive(Debug, Clone)]
struct RoleCase {
    top_level: Vec<Mapping>,
    primary: Vec<Mapping>,
    partner: Vec<Mapping>,
    default_role: String,
    partner_default_role: Option<String>,
    /// Whether the partner IdP signs the response (else the primary IdP).
    from_partner: bool,
    /// The groups the IdP asserts, each padded with XML whitespace when the flag is set.
    asserted: Vec<(String, bool)>,
}

fn pooled_group() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(GROUP_POOL).prop_map(str::to_owned),
        1 => text(12),
    ]
}

fn mappings() -> impl Strategy<Value = Vec<Mapping>> {
    prop::collection::vec(
        (pooled_group(), prop::sample::select(ROLE_POOL)).prop_map(|(group, role)| Mapping {
            group,
            role: role.to_owned(),
        }),
        0..=5,
    )
}

fn role_case() -> impl Strategy<Value = RoleCase> {
    (
        mappings(),
        mappings(),
        mappings(),
        prop::sample::select(ROLE_POOL),
        prop::option::of(prop::sample::select(ROLE_POOL)),
        any::<bool>(),
        prop::collection::vec((pooled_group(), any::<bool>()), 0..=8),
    )
        .prop_map(
            |(
                top_level,
                primary,
                partner,
                default_role,
                partner_default,
                from_partner,
                asserted,
            )| {
                RoleCase {
                    top_level,
                    primary,
                    partner,
                    default_role: default_role.to_owned(),
                    partner_default_role: partner_default.map(str::to_owned),
                    from_partner,
                    asserted,
                }
            },
        )
}

fn mapping_tables(mappings: &[Mapping]) -> toml::Value {
    toml::Value::Array(
        mappings
            .iter()
            .map(|m| {
                let mut t = toml::Table::new();
                t.insert("group".into(), m.group.clone().into());
                t.insert("role".into(), m.role.clone().into());
                toml::Value::Table(t)
            })
            .collect(),
    )
}

/// The SP configuration of a case: this SP's URLs, the primary IdP with top-level and own
/// mappings, and a partner IdP with its own mappings and default role.
fn role_config_toml(case: &RoleCase) -> String {
    let mut sp = toml::Table::new();
    sp.insert("base_url".into(), "https://sp.example".into());
    sp.insert("default_role".into(), case.default_role.clone().into());
    let mut idp = toml::Table::new();
    idp.insert("entity_id".into(), IDP_ENTITY_ID.into());
    idp.insert("sso_url".into(), "https://idp.example/sso".into());
    idp.insert(
        "certificate_pem".into(),
        IDP_KEYS.idp.cert_pem.clone().into(),
    );
    idp.insert("role_mapping".into(), mapping_tables(&case.primary));
    let mut partner = toml::Table::new();
    partner.insert("entity_id".into(), PARTNER_ENTITY_ID.into());
    partner.insert("sso_url".into(), "https://partner.example/sso".into());
    partner.insert(
        "certificate_pem".into(),
        IDP_KEYS.idp.cert_pem.clone().into(),
    );
    if let Some(role) = &case.partner_default_role {
        partner.insert("default_role".into(), role.clone().into());
    }
    partner.insert("role_mapping".into(), mapping_tables(&case.partner));
    let mut root = toml::Table::new();
    root.insert("sp".into(), sp.into());
    root.insert("idp".into(), idp.into());
    root.insert("role_mapping".into(), mapping_tables(&case.top_level));
    root.insert(
        "additional_idp".into(),
        toml::Value::Array(vec![partner.into()]),
    );
    toml::to_string(&root).expect("a table serialises")
}

/// The asserted groups as the IdP writes them: padded with XML whitespace when asked.
fn asserted_groups(case: &RoleCase) -> Vec<Group> {
    case.asserted
        .iter()
        .map(|(name, padded)| Group {
            name: if *padded {
                format!(" \t{name}\n ")
            } else {
                name.clone()
            },
            object_id: String::new(),
        })
        .collect()
}

/// The roles the configuration grants: the image of the asserted groups under the mappings of
/// the IdP that signed (the primary's: the top-level ones and its own; the partner's: its own),
/// compared exactly after trimming XML whitespace (and nothing else, `sp/docs/configuration.md`)
/// and ignoring empty values; when the image is empty, that IdP's default role (the SP's unless
/// the partner sets its own). Sorted, without duplicates.
fn role_oracle(case: &RoleCase) -> Vec<String> {
    let asserted: Vec<String> = case
        .asserted
        .iter()
        .map(|(name, _)| as_sent(name))
        .map(|name| trim_xml_whitespace(&name).to_owned())
        .filter(|name| !name.is_empty())
        .collect();
    let mappings: Vec<&Mapping> = if case.from_partner {
        case.partner.iter().collect()
    } else {
        case.top_level.iter().chain(&case.primary).collect()
    };
    let image: std::collections::BTreeSet<String> = mappings
        .into_iter()
        .filter(|m| asserted.contains(&m.group))
        .map(|m| m.role.clone())
        .collect();
    if !image.is_empty() {
        return image.into_iter().collect();
    }
    let default = match (&case.partner_default_role, case.from_partner) {
        (Some(role), true) => role.clone(),
        _ => case.default_role.clone(),
    };
    vec![default]
}

/// Whether the configuration names an admin default role, which the SP must refuse to start
/// with.
fn has_admin_default(case: &RoleCase) -> bool {
    case.default_role == ADMIN_ROLE || case.partner_default_role.as_deref() == Some(ADMIN_ROLE)
}

proptest! {
    #![proptest_config(config(96))]

    /// Property 4, through the SP's public API: verify, resolve the identity, map its roles.
    #[test]
    fn roles_are_the_image_of_the_groups_under_that_idps_mapping_else_its_default(
        case in role_case(),
    ) {
        let config = sp::config::SpConfig::from_toml(&role_config_toml(&case));
        if has_admin_default(&case) {
            prop_assert!(config.is_err(), "an admin default role was accepted");
            return Ok(());
        }
        let config = config.expect("the configuration is valid");
        let issuer = if case.from_partner { PARTNER_ENTITY_ID } else { IDP_ENTITY_ID };
        let user = User {
            login: "pat".into(),
            email: "pat@example.com".into(),
            first_name: "Pat".into(),
            last_name: "Partner".into(),
            groups: asserted_groups(&case),
            access: true,
        };
        let knobs = Knobs::default();
        let minted = mint::mint_response(&MintParams {
            idp_entity_id: issuer.into(),
            sp_entity_id: config.entity_id(),
            acs_url: config.acs_url(),
            user: &user,
            in_response_to: Some(REQUEST_ID.into()),
            now: NOW,
            knobs: &knobs,
            keys: &IDP_KEYS,
            ids: &CounterIds::new(),
            session_index: None,
            sp_encryption_cert_pem: None,
        })
        .expect("mint");
        let mut policy = policy_for(&knobs);
        policy.other_idps = vec![sp::verify::TrustedIdp {
            entity_id: PARTNER_ENTITY_ID.into(),
            certs_pem: vec![IDP_KEYS.idp.cert_pem.clone()],
        }];
        let verified = verify_response(minted.xml.as_bytes(), &policy, NOW).expect("accepted");
        prop_assert_eq!(&verified.issuer, issuer);
        let identity = sp::identity::resolve(&verified, &config).expect("an identity");
        let roles = sp::identity::roles_for(&identity.groups, &config, &verified.issuer);
        let expected = role_oracle(&case);
        prop_assert_eq!(&roles, &expected);
        let mapped_to_admin = case
            .top_level
            .iter()
            .chain(&case.primary)
            .chain(&case.partner)
            .any(|m| m.role == ADMIN_ROLE);
        prop_assert!(
            !roles.iter().any(|r| config.is_admin_role(r)) || mapped_to_admin,
            "an admin role no mapping grants: {:?}",
            roles
        );
        // At sign-in (`role_sync = replace`, the default), new user or not, the same roles.
        for is_new_user in [true, false] {
            let present =
                sp::identity::groups_attribute_present(&verified, &config.attributes.groups);
            prop_assert_eq!(
                sp::identity::roles_after_sign_in(
                    &config,
                    &verified.issuer,
                    &identity.groups,
                    present,
                    false,
                    is_new_user
                ),
                Some(expected.clone())
            );
        }
    }
}

/// The primary IdP's part of a [`RoleCase`], as `[sp]` overrides of the pair's demo SP.
fn primary_overrides(case: &RoleCase) -> toml::Table {
    let mut sp = toml::Table::new();
    sp.insert("default_role".into(), case.default_role.clone().into());
    let mut idp = toml::Table::new();
    idp.insert("role_mapping".into(), mapping_tables(&case.primary));
    let mut root = toml::Table::new();
    root.insert("sp".into(), sp.into());
    root.insert("idp".into(), idp.into());
    root.insert("role_mapping".into(), mapping_tables(&case.top_level));
    root
}

proptest! {
    // Each case starts a mock IdP and an SP on loopback: a few cases only.
    #![proptest_config(config(16))]

    /// Property 4, end to end: a sign-in through `samlconf::harness::Pair` grants those roles.
    #[test]
    fn a_sign_in_grants_the_image_of_the_groups_under_the_mapping(
        case in role_case().prop_map(|c| RoleCase {
            partner: Vec::new(),
            partner_default_role: None,
            from_partner: false,
            ..c
        }).prop_filter("admin default roles are refused at start-up", |c| !has_admin_default(c)),
    ) {
        let user = User {
            login: "pat".into(),
            email: "pat@example.com".into(),
            first_name: "Pat".into(),
            last_name: "Partner".into(),
            groups: asserted_groups(&case),
            access: true,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let outcome = runtime.block_on(async {
            let pair = samlconf::harness::Pair::start(samlconf::harness::PairOptions {
                virtual_start: Some(NOW),
                sp_overrides: Some(primary_overrides(&case)),
                extra_idp_users: vec![user],
                ..Default::default()
            })
            .await
            .expect("start the pair");
            let driver = samlconf::driver::HttpDriver::new(&pair.endpoints.sp_base_url)
                .expect("a driver");
            driver.sign_in("pat", None).await.expect("the sign-in runs")
        });
        let samlconf::driver::SignInOutcome::SignedIn { .. } = &outcome else {
            return Err(TestCaseError::fail(format!("not signed in: {outcome:?}")));
        };
        let mut roles = outcome.roles();
        roles.sort();
        prop_assert_eq!(roles, role_oracle(&case));
    }
}
