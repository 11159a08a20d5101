//! Test vectors for other SAML libraries, in the spirit of Project Wycheproof: the catalogue's
//! single-response scenarios as self-contained JSON (`samlconf vectors --out DIR`).
//!
//! # What is exported
//!
//! A scenario becomes a vector when one response decides its outcome, so that the verdict is the
//! verifier's alone: exactly one response-producing step (a `sign_in` through the pair's own IdP,
//! not posted from another browser), after nothing but `advance_clock` steps, whose expectation
//! is `signed_in` or `link_prompt` (the verifier accepted) or `refused` with a code the verifier
//! gives ([`VERIFIER_CODES`]). A scenario whose message, instant, request and verdict another one
//! already exported (many start with the same conformant sign-in) adds no vector. Left out, with
//! the reason:
//! - scenarios with `[[extra_idp]]`: the vector file has one IdP certificate per group;
//! - encrypted responses (any encryption knob): their ciphertext is randomised (session key, IV,
//!   OAEP seed), so the export would not be byte-for-byte stable, and they need the SP's private
//!   key;
//! - refusals decided after verification (replay, e-mail, access, provisioning, linking): they
//!   depend on the SP's state and configuration, not on the message.
//!
//! Each message is minted as `samlconf mint --deterministic` does: the fixed test keys under
//! `mock-idp/testdata/`, counter IDs, and the scenario's virtual instant (the runner's start
//! instant plus its `advance_clock` steps), so the export is the same on every run.

use std::collections::BTreeMap;
use std::path::Path;

use mock_idp::knobs::{DigestAlgorithm, Knobs, SignatureAlgorithm};
use mock_idp::mint::{self, MintParams};
use serde::{Deserialize, Serialize};
use sp::policy::PolicySettings;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::scenario::{self, Action, Outcome, Scenario, Via};

/// The file name of the export inside `--out DIR`.
pub const FILE_NAME: &str = "saml_response_test.json";
/// The schema name every export carries.
pub const SCHEMA: &str = "samlconf_saml_response_test_schema_v1";
/// The SP the vectors assume (its Audience).
pub const SP_ENTITY_ID: &str = "https://sp.example/saml/metadata";
/// The SP's ACS URL (Destination and Recipient).
pub const ACS_URL: &str = "https://sp.example/saml/acs";
/// The IdP's entity ID (the Issuer the SP requires).
pub const IDP_ENTITY_ID: &str = "https://idp.example/metadata";
/// The AuthnRequest ID outstanding for SP-initiated vectors.
pub const REQUEST_ID: &str = "_a0000000000000000000000000000000000000001";
/// The scenario runner's start instant (`scenarios/README.md`).
pub const START: &str = "2026-06-01T12:00:00Z";

/// Codes that [`sp::verify::verify_response`] and [`sp::verify::check_in_response_to`] give:
/// what a vector's `invalid` result may name.
pub const VERIFIER_CODES: &[&str] = &[
    "input.too_large",
    "input.not_base64",
    "input.not_xml",
    "input.dtd_forbidden",
    "structure.not_a_response",
    "structure.assertion_count",
    "structure.duplicate_id",
    "structure.malformed",
    "encryption.required",
    "decryption.failed",
    "status.not_success",
    "issuer.missing",
    "issuer.mismatch",
    "destination.missing",
    "destination.mismatch",
    "signature.missing",
    "signature.invalid",
    "signature.weak_algorithm",
    "signature.unsupported_algorithm",
    "signature.forbidden_transform",
    "signature.reference_mismatch",
    "signature.weak_key",
    "signature.certificate_expired",
    "time.not_yet_valid",
    "time.expired",
    "audience.missing",
    "audience.mismatch",
    "conditions.unsupported",
    "subject.missing",
    "subject.name_id_empty",
    "subject.no_bearer_confirmation",
    "recipient.mismatch",
    "subject.confirmation_expired",
    "subject.in_response_to_mismatch",
    "subject.in_response_to_missing",
    "attribute.duplicate",
    "request.unknown_in_response_to",
    "request.unsolicited",
];

/// The whole export: Wycheproof's header, notes and test groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VectorFile {
    pub algorithm: String,
    pub schema: String,
    pub generator_version: String,
    pub number_of_tests: usize,
    pub header: Vec<String>,
    /// Every flag a test carries, with what it means.
    pub notes: BTreeMap<String, Note>,
    pub test_groups: Vec<TestGroup>,
}

/// What a flag means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Note {
    pub bug_type: String,
    pub description: String,
}

/// Tests that share an IdP certificate and SP settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestGroup {
    /// The IdP signing certificate the SP pins (PEM). KeyInfo in a message is never trusted.
    pub idp_certificate_pem: String,
    pub sp: SpSettings,
    pub tests: Vec<Vector>,
}

/// The SP settings a group assumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpSettings {
    pub entity_id: String,
    pub acs_url: String,
    pub idp_entity_id: String,
    /// Whether a response that answers no request (IdP-initiated) is acceptable.
    pub allow_unsolicited: bool,
    /// The verifier policy, in the SP configuration's `[sp]` vocabulary
    /// (`sp/docs/configuration.md`): skew, algorithms, size limit, ….
    pub policy: PolicySettings,
}

/// One test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Vector {
    pub tc_id: usize,
    /// The scenario this vector comes from (`scenarios/`).
    pub scenario: String,
    pub comment: String,
    /// Where the requirement or the attack comes from (the scenario's `source`).
    pub source: String,
    pub flags: Vec<String>,
    /// The instant to verify at (RFC 3339).
    pub time: String,
    /// The AuthnRequest ID the SP has outstanding; `null` when the response is IdP-initiated.
    pub in_response_to: Option<String>,
    /// The SAMLResponse form value: the XML, base64.
    pub message: String,
    /// `valid`, `invalid`, or `acceptable` (a policy choice, such as SHA-1).
    pub result: VectorResult,
    /// The reason code samlconf's SP gives (`sp/docs/reason-codes.md`); `null` when it accepts.
    pub reason: Option<String>,
}

/// A vector's expected result, as Wycheproof spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VectorResult {
    Valid,
    Invalid,
    Acceptable,
}

/// Builds the export from the catalogue's scenarios.
pub fn build(scenarios: &[Scenario]) -> Result<VectorFile, String> {
    let keys = mock_idp::keys::IdpKeys::fixed_for_tests();
    let mut groups: Vec<TestGroup> = Vec::new();
    let mut notes = BTreeMap::new();
    let mut count = 0;
    for s in scenarios {
        let Some(candidate) = candidate(s)? else {
            continue;
        };
        let vector = mint_vector(s, &candidate, &keys, count + 1)?;
        let sp = SpSettings {
            entity_id: SP_ENTITY_ID.into(),
            acs_url: ACS_URL.into(),
            idp_entity_id: IDP_ENTITY_ID.into(),
            allow_unsolicited: candidate.allow_unsolicited,
            policy: candidate.policy.clone(),
        };
        // Many scenarios start with the same conformant sign-in: one vector per distinct test.
        let seen = groups
            .iter()
            .filter(|g| g.sp == sp)
            .flat_map(|g| &g.tests)
            .any(|t| {
                (&t.message, &t.time, &t.in_response_to, &t.reason)
                    == (
                        &vector.message,
                        &vector.time,
                        &vector.in_response_to,
                        &vector.reason,
                    )
            });
        if seen {
            continue;
        }
        count += 1;
        for flag in &vector.flags {
            notes.entry(flag.clone()).or_insert_with(|| note_for(flag));
        }
        match groups.iter_mut().find(|g| g.sp == sp) {
            Some(group) => group.tests.push(vector),
            None => groups.push(TestGroup {
                idp_certificate_pem: keys.idp.cert_pem.clone(),
                sp,
                tests: vec![vector],
            }),
        }
    }
    Ok(VectorFile {
        algorithm: "SAML 2.0 Web SSO Response (HTTP-POST binding)".into(),
        schema: SCHEMA.into(),
        generator_version: env!("CARGO_PKG_VERSION").into(),
        number_of_tests: count,
        header: vec![
            "Test vectors of SAML 2.0 Responses, generated from the samlconf scenario catalogue."
                .into(),
            "Verify `message` (base64 of the XML) at `time` against the group's SP settings and \
             pinned IdP certificate, with `inResponseTo` outstanding (null: none)."
                .into(),
            "`valid`: must be accepted; `invalid`: must be refused (`reason` is samlconf's code); \
             `acceptable`: the policy decides (samlconf's verdict under the group's policy is \
             `reason`)."
                .into(),
        ],
        notes,
        test_groups: groups,
    })
}

/// Writes the export to `dir/FILE_NAME`.
pub fn write(file: &VectorFile, dir: &Path) -> Result<std::path::PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(FILE_NAME);
    let mut text = serde_json::to_string_pretty(file).map_err(|e| e.to_string())?;
    text.push('\n');
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// A scenario that one response decides, resolved.
struct Candidate<'a> {
    step: &'a scenario::SignIn,
    knobs: Knobs,
    profile: String,
    now: OffsetDateTime,
    policy: PolicySettings,
    allow_unsolicited: bool,
    /// `None`: the verifier accepts.
    reason: Option<String>,
}

fn candidate(s: &Scenario) -> Result<Option<Candidate<'_>>, String> {
    if !s.extra_idps.is_empty() {
        return Ok(None);
    }
    let mut now = OffsetDateTime::parse(START, &Rfc3339).map_err(|e| e.to_string())?;
    let mut steps = s.steps.iter();
    let (step, sign_in) = loop {
        let Some(step) = steps.next() else {
            return Ok(None);
        };
        match &step.action {
            Action::AdvanceClock(a) => {
                now = now
                    .checked_add(time::Duration::seconds(a.delta_secs()))
                    .ok_or_else(|| format!("{}: advance_clock out of range", s.id))?;
            }
            Action::SignIn(sign_in) => break (step, sign_in),
            _ => return Ok(None),
        }
    };
    let more_responses = steps.any(|st| {
        matches!(
            st.action,
            Action::SignIn(_) | Action::Replay(_) | Action::Renew(_) | Action::AcceptInvitation(_)
        )
    });
    // A response posted to another node or workspace is judged by that SP's settings, which a
    // vector (one SP) does not carry.
    let elsewhere = sign_in
        .sp
        .is_some_and(|target| target != scenario::SpTarget::Node1);
    if more_responses || elsewhere || sign_in.idp.is_some() || sign_in.post_from.is_some() {
        return Ok(None);
    }
    let reason = match (step.expect.outcome, step.expect.code.as_deref()) {
        (Some(Outcome::SignedIn | Outcome::LinkPrompt), _) => None,
        (Some(Outcome::Refused), Some(code)) if VERIFIER_CODES.contains(&code) => {
            Some(code.to_owned())
        }
        _ => return Ok(None),
    };
    let knobs = scenario::resolve_knobs(sign_in.profile.as_deref(), sign_in.knobs.as_ref())
        .map_err(|e| format!("{}: {e}", s.id))?;
    if knobs.encrypt_assertion || knobs.encrypt_name_id || knobs.encrypt_attributes {
        return Ok(None);
    }
    let overrides = s.sp.clone().unwrap_or_default();
    let root = crate::scenario::sp_overrides_root(&overrides);
    let policy = PolicySettings::from_toml(&toml::to_string(&root).map_err(|e| e.to_string())?)
        .map_err(|e| format!("{}: [sp]: {e}", s.id))?;
    let allow_unsolicited = scenario::merged_sp_config(&overrides)
        .map_err(|e| format!("{}: [sp]: {e}", s.id))?
        .sp
        .allow_unsolicited;
    Ok(Some(Candidate {
        step: sign_in,
        profile: sign_in.profile.clone().unwrap_or_else(|| "valid".into()),
        knobs,
        now,
        policy,
        allow_unsolicited,
        reason,
    }))
}

fn mint_vector(
    s: &Scenario,
    c: &Candidate<'_>,
    keys: &mock_idp::keys::IdpKeys,
    tc_id: usize,
) -> Result<Vector, String> {
    let mut directory = mock_idp::users::demo_users();
    for user in &s.idp_users {
        directory.retain(|u| u.login != user.login);
        directory.push(user.clone());
    }
    let user = mock_idp::users::find(&directory, &c.step.user)
        .ok_or_else(|| format!("{}: unknown IdP user {:?}", s.id, c.step.user))?;
    let in_response_to = (c.step.via == Via::Sp).then(|| REQUEST_ID.to_owned());
    let ids = mint::CounterIds::new();
    let minted = mint::mint_response(&MintParams {
        idp_entity_id: IDP_ENTITY_ID.into(),
        sp_entity_id: SP_ENTITY_ID.into(),
        acs_url: ACS_URL.into(),
        user,
        in_response_to: in_response_to.clone(),
        now: c.now,
        knobs: &c.knobs,
        keys,
        ids: &ids,
        session_index: None,
        sp_encryption_cert_pem: None,
    })
    .map_err(|e| format!("{}: {e}", s.id))?;
    let sha1 = c.knobs.signature_algorithm == SignatureAlgorithm::RsaSha1
        || c.knobs.digest_algorithm == DigestAlgorithm::Sha1;
    let result = match (&c.reason, sha1) {
        (_, true) => VectorResult::Acceptable,
        (None, false) => VectorResult::Valid,
        (Some(_), false) => VectorResult::Invalid,
    };
    let mut flags = vec![flag_for_profile(&c.profile)];
    flags.extend(overridden_knobs(&c.profile, &c.knobs).map(flag_for_knob));
    if sha1 {
        flags.push("Sha1".into());
    }
    if c.step.via == Via::Idp {
        flags.push("Unsolicited".into());
    }
    flags.dedup();
    Ok(Vector {
        tc_id,
        scenario: s.id.clone(),
        comment: s.title.clone(),
        source: s.source.clone(),
        flags,
        time: c.now.format(&Rfc3339).map_err(|e| e.to_string())?,
        in_response_to,
        message: minted.form_value(&c.knobs),
        result,
        reason: c.reason.clone(),
    })
}

/// The knobs a scenario sets on top of its profile.
fn overridden_knobs(profile: &str, knobs: &Knobs) -> impl Iterator<Item = &'static str> {
    let base = serde_json::to_value(mock_idp::profiles::get(profile)).unwrap_or_default();
    let mine = serde_json::to_value(knobs).unwrap_or_default();
    Knobs::FIELDS
        .iter()
        .filter(move |k| base.get(k.name) != mine.get(k.name))
        .map(|k| k.name)
}

/// `xsw-evil-before` → `ProfileXswEvilBefore`.
fn flag_for_profile(profile: &str) -> String {
    format!("Profile{}", camel(profile))
}

/// `omit_destination` → `KnobOmitDestination`.
fn flag_for_knob(knob: &str) -> String {
    format!("Knob{}", camel(knob))
}

fn camel(name: &str) -> String {
    name.split(['-', '_'])
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

fn note_for(flag: &str) -> Note {
    let profile = mock_idp::profiles::ALL
        .iter()
        .find(|(name, _)| flag_for_profile(name) == flag);
    if let Some((name, description)) = profile {
        let bug_type = if *name == "valid" {
            "Functionality"
        } else {
            "MockIdpProfile"
        };
        return Note {
            bug_type: bug_type.into(),
            description: format!("mock-IdP profile `{name}`: {description}"),
        };
    }
    if let Some(knob) = Knobs::FIELDS.iter().find(|k| flag_for_knob(k.name) == flag) {
        return Note {
            bug_type: "MockIdpKnob".into(),
            description: format!("mock-IdP knob `{}`: {}", knob.name, knob.description()),
        };
    }
    let description = match flag {
        "Sha1" => {
            "The message is signed with RSA-SHA1 or digested with SHA-1: deprecated, refused by \
             default and accepted by policy (`allow_sha1`), so the result is `acceptable`."
        }
        "Unsolicited" => {
            "IdP-initiated: the response answers no request; `allowUnsolicited` decides."
        }
        _ => "",
    };
    Note {
        bug_type: "Policy".into(),
        description: description.into(),
    }
}

/// Checks one vector with samlconf's verifier, as `samlconf verify` does: `Ok` when the verdict
/// is the vector's `reason` (acceptance when `null`), else what differed.
pub fn check_vector(group: &TestGroup, vector: &Vector) -> Result<(), String> {
    let now = OffsetDateTime::parse(&vector.time, &Rfc3339).map_err(|e| e.to_string())?;
    let mut policy = sp::verify::VerifyPolicy::new(
        group.sp.entity_id.clone(),
        group.sp.acs_url.clone(),
        vec![group.idp_certificate_pem.clone()],
    );
    policy.idp_entity_id = Some(group.sp.idp_entity_id.clone());
    group.sp.policy.apply_to(&mut policy);
    let verdict =
        sp::verify::decode_post_binding_with_limit(&vector.message, policy.max_response_bytes)
            .and_then(|xml| sp::verify::verify_response(&xml, &policy, now))
            .and_then(|verified| {
                sp::verify::check_in_response_to(
                    &verified,
                    vector.in_response_to.as_deref(),
                    group.sp.allow_unsolicited,
                )
            });
    let got = verdict.as_ref().err().map(|r| r.reason.code());
    if got == vector.reason.as_deref() {
        Ok(())
    } else {
        Err(format!(
            "tcId {} (scenario {}): expected {}, got {}{}",
            vector.tc_id,
            vector.scenario,
            vector.reason.as_deref().unwrap_or("acceptance"),
            got.unwrap_or("acceptance"),
            verdict
                .err()
                .map(|r| format!(": {}", r.message))
                .unwrap_or_default()
        ))
    }
}
