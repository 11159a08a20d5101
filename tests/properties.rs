//! Message-level properties (issue 10, "Property tests"): the mock IdP mints, the reference SP
//! verifies, both as libraries in this process (no servers, except the one end-to-end sign-in of
//! the role-mapping property).
//!
//! 1. Any response minted from random *valid* knobs and random user data is accepted with exactly
//!    the claims the IdP was told to send.
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
    AttributeStyle, DataEncryption, DigestAlgorithm, GroupFormat, KeyTransport, Knobs, SignTarget,
    SignatureAlgorithm,
};
use mock_idp::mint::{self, CounterIds, MintError, MintParams, Minted};
use mock_idp::users::{Group, User};
use proptest::prelude::*;
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
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
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
fn valid_knobs(encryption: bool) -> impl Strategy<Value = Knobs> {
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
        if encryption {
            any::<bool>().boxed()
        } else {
            Just(false).boxed()
        },
        if encryption {
            any::<bool>().boxed()
        } else {
            Just(false).boxed()
        },
        if encryption {
            any::<bool>().boxed()
        } else {
            Just(false).boxed()
        },
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
    let attributes = (
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
            (attribute_style, group_format, groups),
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
        knobs in valid_knobs(true),
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
