//! The fuzz targets' seed corpora (`samlconf fuzz-corpus --out fuzz/corpus`), generated from the
//! mock IdP: every profile, every `signature_wrapping` and `tampering` variant and the structure
//! knobs, minted with the fixed test keys and counter IDs at one instant for the SP the targets'
//! policy names (`fuzz/src/targets/mod.rs`), plus logout messages, IdP metadata and scenario files.
//!
//! The output is the same bytes on every run, except encrypted responses: their ciphertext is
//! randomised (session key, IV, OAEP seed), so an encrypted seed is written only when its file is
//! missing and kept otherwise (delete it to re-mint).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use mock_idp::keys::{IdpKeys, SigningIdentity};
use mock_idp::knobs::{Knobs, SignTarget, SignatureWrapping, Tampering};
use mock_idp::logout::{LogoutRequestParts, LogoutResponseParts};
use mock_idp::mint::{self, MintParams};
use mock_idp::redirect_sig::{self, MessageParam};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The SP the corpus is minted for (the fuzz targets' policy).
pub const SP_ENTITY_ID: &str = "https://sp.example/saml/metadata";
/// Its ACS URL.
pub const ACS_URL: &str = "https://sp.example/saml/acs";
/// Its single-logout URL.
pub const SLS_URL: &str = "https://sp.example/saml/sls";
/// The mock IdP's default entity ID.
pub const IDP_ENTITY_ID: &str = "http://127.0.0.1:9000/metadata";
/// The instant everything is minted at (the targets verify one minute later).
pub const MINTED_AT: OffsetDateTime = time::macros::datetime!(2026-01-01 0:00 UTC);
/// The SessionIndex of the session the `logout_request` target keeps in its store.
pub const SESSION_INDEX: &str = "_0000000000000000000000000000000000000003";

/// Knobs on top of `valid` that change the response's structure (not covered by a profile).
const STRUCTURE_KNOBS: &[(&str, &[(&str, &str)])] = &[
    ("compact-xml", &[("compact_xml", "true")]),
    ("advice-assertion", &[("advice_assertion", "true")]),
    (
        "duplicate-groups",
        &[("duplicate_groups_attribute", "admins")],
    ),
    ("proxy-restriction", &[("proxy_restriction", "1")]),
    ("one-time-use", &[("one_time_use", "true")]),
    ("omit-subject", &[("omit_subject", "true")]),
    (
        "omit-assertion-issuer",
        &[("omit_assertion_issuer", "true")],
    ),
    ("omit-audience", &[("omit_audience_restriction", "true")]),
    ("omit-destination", &[("omit_destination", "true")]),
    ("empty-groups", &[("empty_groups", "true")]),
    ("group-overage", &[("group_overage", "true")]),
    (
        "entra-style",
        &[
            ("attribute_style", "entra"),
            ("group_format", "entra-guids"),
        ],
    ),
    (
        "document-element-logout-response",
        &[("document_element_override", "LogoutResponse")],
    ),
    ("truncated", &[("truncate_to_bytes", "1200")]),
    (
        "sign-both-compact",
        &[("sign", "both"), ("compact_xml", "true")],
    ),
    (
        "sign-response-compact",
        &[("sign", "response"), ("compact_xml", "true")],
    ),
];

/// The response seeds each target gets besides `verify_response`'s full set.
const POST_BINDING_SEEDS: &[&str] = &[
    "valid",
    "unsigned",
    "sign-both",
    "wrapping-evil-before",
    "tampering-cdata-in-signed-text",
];
/// Responses the `verify_response_mutated` target's policy accepts, all for the same claims.
const ACCEPTED_SEEDS: &[&str] = &[
    "valid",
    "sign-both",
    "sign-response",
    "encrypted",
    "structure-compact-xml",
    "structure-sign-both-compact",
];

/// What [`generate`] wrote.
#[derive(Debug, Default)]
pub struct Summary {
    /// Files per target directory.
    pub files: BTreeMap<String, usize>,
    /// Bytes per target directory.
    pub bytes: BTreeMap<String, usize>,
    /// Encrypted seeds kept from an earlier run.
    pub kept: usize,
}

struct Writer {
    out: PathBuf,
    /// The files found before the run (for [`Writer::put_once`]).
    old: BTreeMap<(String, String), Vec<u8>>,
    written: std::collections::BTreeSet<(String, String)>,
    summary: Summary,
}

impl Writer {
    /// Reads what `out/<target>/` holds for each of `targets` (other directories, such as the
    /// lifecycle target's, are not this generator's); [`Writer::finish`] removes what this run
    /// did not write.
    fn new(out: &Path, targets: &[&str]) -> Result<Writer, String> {
        let mut old = BTreeMap::new();
        for target in targets {
            let dir = out.join(target);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
                if let (Some(name), Ok(data)) = (path.file_name(), std::fs::read(&path)) {
                    old.insert(
                        ((*target).to_owned(), name.to_string_lossy().into_owned()),
                        data,
                    );
                }
            }
        }
        Ok(Writer {
            out: out.to_owned(),
            old,
            written: Default::default(),
            summary: Summary::default(),
        })
    }

    /// Removes the files of an earlier run that this one did not write.
    fn finish(self) -> Result<Summary, String> {
        for (target, name) in self.old.keys() {
            if !self.written.contains(&(target.clone(), name.clone())) {
                let path = self.out.join(target).join(name);
                std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
        Ok(self.summary)
    }

    fn put(&mut self, target: &str, name: &str, data: &[u8]) -> Result<(), String> {
        let dir = self.out.join(target);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join(name);
        std::fs::write(&path, data).map_err(|e| format!("{}: {e}", path.display()))?;
        self.written.insert((target.to_owned(), name.to_owned()));
        *self.summary.files.entry(target.into()).or_default() += 1;
        *self.summary.bytes.entry(target.into()).or_default() += data.len();
        Ok(())
    }

    /// For randomised output: keeps the earlier run's file (so re-runs change nothing) and
    /// returns what was written.
    fn put_once(&mut self, target: &str, name: &str, data: &[u8]) -> Result<Vec<u8>, String> {
        let data = match self.old.get(&(target.to_owned(), name.to_owned())) {
            Some(old) => {
                self.summary.kept += 1;
                old.clone()
            }
            None => data.to_vec(),
        };
        self.put(target, name, &data)?;
        Ok(data)
    }
}

/// One minted response seed: its name and knobs.
struct ResponseSeed {
    name: String,
    knobs: Knobs,
}

fn response_seeds() -> Result<Vec<ResponseSeed>, String> {
    let mut seeds = Vec::new();
    for (profile, _) in mock_idp::profiles::ALL {
        let knobs = mock_idp::profiles::get(profile).ok_or(format!("profile {profile}"))?;
        seeds.push(ResponseSeed {
            name: (*profile).to_owned(),
            knobs,
        });
    }
    for attack in SignatureWrapping::ALL {
        let sign = if attack.attacks_response_signature() {
            SignTarget::Response
        } else {
            SignTarget::Assertion
        };
        seeds.push(ResponseSeed {
            name: format!("wrapping-{}", kebab(&attack)?),
            knobs: Knobs {
                sign,
                signature_wrapping: Some(attack),
                ..Knobs::default()
            },
        });
    }
    for tampering in Tampering::ALL {
        seeds.push(ResponseSeed {
            name: format!("tampering-{}", kebab(&tampering)?),
            knobs: Knobs {
                tampering: Some(tampering),
                ..Knobs::default()
            },
        });
    }
    for (name, settings) in STRUCTURE_KNOBS {
        let mut knobs = Knobs::default();
        for (key, value) in *settings {
            knobs
                .set(key, value)
                .map_err(|e| format!("structure knob {name}: {key}={value}: {e}"))?;
        }
        seeds.push(ResponseSeed {
            name: format!("structure-{name}"),
            knobs,
        });
    }
    Ok(seeds)
}

/// A serde enum variant's kebab-case name.
fn kebab(value: &impl serde::Serialize) -> Result<String, String> {
    match serde_json::to_value(value).map_err(|e| e.to_string())? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(format!("not a unit variant: {other}")),
    }
}

/// The target directories [`generate`] owns (what it did not write there, it removes).
pub const TARGETS: &[&str] = &[
    "verify_response",
    "decode_post_binding",
    "verify_response_mutated",
    "slo_decode_redirect",
    "redirect_signature",
    "logout_request",
    "idp_metadata",
    "scenario_file",
];

/// Writes every target's seeds under `out/<target>/`, scenario seeds from `scenarios`; see the
/// module docs.
pub fn generate(out: &Path, scenarios: &Path) -> Result<Summary, String> {
    let keys = IdpKeys::fixed_for_tests();
    let mut w = Writer::new(out, TARGETS)?;
    let sp_enc_cert = include_str!("../sp/testdata/sp-enc.crt");
    let user = mock_idp::users::find(&mock_idp::users::demo_users(), "alice@example.com")
        .cloned()
        .ok_or("the demo user alice")?;
    let mut minted = BTreeMap::new();
    for mut seed in response_seeds()? {
        let mint = |knobs: &Knobs| {
            let ids = mint::CounterIds::new();
            mint::mint_response(&MintParams {
                idp_entity_id: IDP_ENTITY_ID.into(),
                sp_entity_id: SP_ENTITY_ID.into(),
                acs_url: ACS_URL.into(),
                user: &user,
                in_response_to: None,
                now: MINTED_AT,
                knobs,
                keys: &keys,
                ids: &ids,
                session_index: None,
                sp_encryption_cert_pem: Some(sp_enc_cert),
            })
        };
        // Comment, CDATA and entity attacks split signed text before `.evil.example`: a user who
        // registered such a NameID and group at the IdP (as the scenarios' mallory does).
        let response = match mint(&seed.knobs) {
            Ok(response) => response,
            Err(_) => {
                let suffix = mock_idp::attacks::TRUNCATED_SUFFIX;
                seed.knobs.name_id_value = Some(format!("alice@example.com{suffix}"));
                seed.knobs.duplicate_groups_attribute = Some(format!("admins{suffix}"));
                mint(&seed.knobs).map_err(|e| format!("seed {}: {e}", seed.name))?
            }
        };
        let name = format!("{}.xml", seed.name);
        // What was written (kept or new) is what the other targets get.
        let written = if seed.knobs.encrypts_anything() {
            w.put_once("verify_response", &name, response.xml.as_bytes())?
        } else {
            w.put("verify_response", &name, response.xml.as_bytes())?;
            response.xml.into_bytes()
        };
        minted.insert(seed.name, written);
    }
    w.put(
        "verify_response",
        "real-google2021.xml",
        include_bytes!("../sp/tests/fixtures/real/google2021_response.xml"),
    )?;

    for name in POST_BINDING_SEEDS {
        let xml = &minted[*name];
        let b64 = base64::engine::general_purpose::STANDARD.encode(xml);
        w.put(
            "decode_post_binding",
            &format!("{name}.b64"),
            b64.as_bytes(),
        )?;
    }
    // As knob `form_value_not_base64` damages it: a `*` in the middle.
    let mut damaged = base64::engine::general_purpose::STANDARD.encode(&minted["valid"]);
    damaged.insert(damaged.len() / 2, '*');
    w.put(
        "decode_post_binding",
        "form-value-not-base64.b64",
        damaged.as_bytes(),
    )?;
    let okta = include_bytes!("../sp/tests/fixtures/real/okta2016_response.xml");
    let wrapped: Vec<u8> = base64::engine::general_purpose::STANDARD
        .encode(okta)
        .as_bytes()
        .chunks(76)
        .flat_map(|line| line.iter().copied().chain(*b"\n"))
        .collect();
    w.put("decode_post_binding", "real-okta2016-wrapped.b64", &wrapped)?;
    w.put(
        "decode_post_binding",
        "tiny.b64",
        b"PHNhbWxwOlJlc3BvbnNlLz4=\n",
    )?;

    for name in ACCEPTED_SEEDS {
        let xml = &minted[*name];
        w.put("verify_response_mutated", &format!("{name}.xml"), xml)?;
    }

    logout_seeds(&mut w, &keys)?;
    metadata_seeds(&mut w, &keys)?;
    scenario_seeds(&mut w, scenarios)?;
    w.finish()
}

fn instant(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn logout_request(name_id: &str, session_index: Option<&str>, issue: OffsetDateTime) -> String {
    let issue_instant = instant(issue);
    mock_idp::logout::logout_request_xml(
        &LogoutRequestParts {
            id: "_lr0000000000000000000000000000000000001",
            issue_instant: &issue_instant,
            destination: SLS_URL,
            not_on_or_after: None,
            issuer: IDP_ENTITY_ID,
            name_id,
            name_id_format: mock_idp::knobs::NAME_ID_FORMAT_EMAIL,
            session_index,
            omit_name_id: false,
        },
        None,
    )
    .unwrap_or_default()
}

fn logout_response() -> String {
    let issue_instant = instant(MINTED_AT);
    mock_idp::logout::logout_response_xml(&LogoutResponseParts {
        id: "_ls0000000000000000000000000000000000001",
        issue_instant: &issue_instant,
        destination: SLS_URL,
        in_response_to: "_sp-logout-request-1",
        issuer: IDP_ENTITY_ID,
        status: &mock_idp::knobs::StatusCode::success(),
    })
}

fn redirect(
    param: MessageParam,
    xml: &str,
    relay: Option<&str>,
    key: Option<&SigningIdentity>,
) -> Result<String, String> {
    redirect_sig::build_query(
        param,
        &mock_idp::logout::deflate_base64(xml),
        relay,
        key.map(|k| k.key_pem.as_str()),
    )
    .map_err(|e| e.to_string())
}

fn logout_seeds(w: &mut Writer, keys: &IdpKeys) -> Result<(), String> {
    use MessageParam::{SamlRequest, SamlResponse};
    let alice = "alice@example.com";
    let request = logout_request(alice, Some(SESSION_INDEX), MINTED_AT);
    let response = logout_response();
    let idp = Some(&keys.idp);

    // slo_decode_redirect: raw query strings.
    let t = "slo_decode_redirect";
    w.put(
        t,
        "request.query",
        redirect(SamlRequest, &request, Some("/home"), None)?.as_bytes(),
    )?;
    let signed = redirect(SamlRequest, &request, Some("/home"), idp)?;
    w.put(t, "request-signed.query", signed.as_bytes())?;
    w.put(
        t,
        "response-signed.query",
        redirect(SamlResponse, &response, None, idp)?.as_bytes(),
    )?;
    w.put(t, "repeated.query", b"SAMLRequest=a&SAMLRequest=b")?;
    w.put(t, "bad-base64.query", b"SAMLRequest=%3D%3D%3D&RelayState=x")?;

    // redirect_signature: structured inputs (fuzz/src/targets/redirect.rs), signed by the target.
    let t = "redirect_signature";
    let seed = |flags: u8, tamper_at: u16, mask: u8, relay: &str, xml: &str| {
        let mut out = vec![flags];
        out.extend(tamper_at.to_le_bytes());
        out.push(mask);
        out.extend(relay.as_bytes());
        out.push(0);
        out.extend(xml.as_bytes());
        out
    };
    const RELAY: u8 = 0b10_0000;
    w.put(
        t,
        "request-rsa-sha256.bin",
        &seed(RELAY, 0, 0, "/home", &request),
    )?;
    w.put(t, "request-no-relay.bin", &seed(0, 0, 0, "", &request))?;
    w.put(
        t,
        "response-rsa-sha256.bin",
        &seed(0b1000, 0, 0, "", &response),
    )?;
    w.put(
        t,
        "request-sigalg-sha384.bin",
        &seed(RELAY | 1, 0, 0, "/home", &request),
    )?;
    w.put(
        t,
        "request-sigalg-sha1-allowed.bin",
        &seed(RELAY | 0b100_0011, 0, 0, "/", &request),
    )?;
    w.put(t, "request-sigalg-hmac.bin", &seed(6, 0, 0, "", &request))?;
    w.put(
        t,
        "request-unsigned.bin",
        &seed(RELAY | 7, 0, 0, "/home", &request),
    )?;
    w.put(
        t,
        "request-attacker-key.bin",
        &seed(RELAY | 0b1_0000, 0, 0, "/home", &request),
    )?;
    w.put(
        t,
        "request-tamper-message.bin",
        &seed(RELAY, 40, 0x01, "/home", &request),
    )?;
    w.put(
        t,
        "request-tamper-signature.bin",
        &seed(RELAY, 0xfff0, 0x20, "/home", &request),
    )?;
    let other = logout_request("mallory@example.com", None, MINTED_AT);
    w.put(t, "request-other-name-id.bin", &seed(0, 0, 0, "", &other))?;

    // logout_request: byte 0 = binding/policy flags, then the query string or form body.
    let t = "logout_request";
    let with_flags = |flags: u8, body: &str| {
        let mut out = vec![flags];
        out.extend(body.as_bytes());
        out
    };
    const POST: u8 = 1;
    const OPTIONAL: u8 = 0b10;
    w.put(t, "redirect-signed.bin", &with_flags(0, &signed))?;
    let all_sessions = logout_request(alice, None, MINTED_AT);
    w.put(
        t,
        "redirect-all-sessions.bin",
        &with_flags(0, &redirect(SamlRequest, &all_sessions, None, idp)?),
    )?;
    let other_index = logout_request(alice, Some("_another-session"), MINTED_AT);
    w.put(
        t,
        "redirect-other-session.bin",
        &with_flags(0, &redirect(SamlRequest, &other_index, None, idp)?),
    )?;
    w.put(
        t,
        "redirect-other-user.bin",
        &with_flags(0, &redirect(SamlRequest, &other, None, idp)?),
    )?;
    let stale = logout_request(
        alice,
        Some(SESSION_INDEX),
        MINTED_AT - time::Duration::hours(1),
    );
    w.put(
        t,
        "redirect-stale.bin",
        &with_flags(0, &redirect(SamlRequest, &stale, None, idp)?),
    )?;
    w.put(
        t,
        "redirect-attacker.bin",
        &with_flags(
            0,
            &redirect(SamlRequest, &request, None, Some(&keys.attacker))?,
        ),
    )?;
    let unsigned = redirect(SamlRequest, &request, Some("/"), None)?;
    w.put(
        t,
        "redirect-unsigned-refused.bin",
        &with_flags(0, &unsigned),
    )?;
    w.put(
        t,
        "redirect-unsigned-optional.bin",
        &with_flags(OPTIONAL, &unsigned),
    )?;
    w.put(
        t,
        "redirect-response.bin",
        &with_flags(0, &redirect(SamlResponse, &response, None, idp)?),
    )?;
    let post_signed = mock_idp::logout::logout_request_xml(
        &LogoutRequestParts {
            id: "_lr0000000000000000000000000000000000002",
            issue_instant: &instant(MINTED_AT),
            destination: SLS_URL,
            not_on_or_after: None,
            issuer: IDP_ENTITY_ID,
            name_id: alice,
            name_id_format: mock_idp::knobs::NAME_ID_FORMAT_EMAIL,
            session_index: Some(SESSION_INDEX),
            omit_name_id: false,
        },
        Some(&keys.idp),
    )
    .map_err(|e| e.to_string())?;
    let form = |xml: &str| {
        let b64 = base64::engine::general_purpose::STANDARD.encode(xml);
        format!("SAMLRequest={}&RelayState=%2F", redirect_sig::encode(&b64))
    };
    w.put(t, "post-signed.bin", &with_flags(POST, &form(&post_signed)))?;
    w.put(
        t,
        "post-unsigned-optional.bin",
        &with_flags(POST | OPTIONAL, &form(&request)),
    )?;
    Ok(())
}

fn metadata_seeds(w: &mut Writer, keys: &IdpKeys) -> Result<(), String> {
    let t = "idp_metadata";
    let metadata = mock_idp::metadata::idp_metadata_xml(
        IDP_ENTITY_ID,
        "http://127.0.0.1:9000",
        &keys.idp,
        false,
    );
    w.put(t, "mock-idp.xml", metadata.as_bytes())?;
    let rollover = metadata.replacen(
        "<md:KeyDescriptor use=\"signing\">",
        &format!(
            "<md:KeyDescriptor><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:KeyDescriptor use=\"signing\">",
            keys.attacker.cert_der_base64
        ),
        1,
    );
    w.put(t, "two-keys.xml", rollover.as_bytes())?;
    let encryption_only = metadata.replace("use=\"signing\"", "use=\"encryption\"");
    w.put(t, "encryption-key-only.xml", encryption_only.as_bytes())?;
    let sp_side = metadata.replace("IDPSSODescriptor", "SPSSODescriptor");
    w.put(t, "sp-descriptor.xml", sp_side.as_bytes())?;
    let doctype = format!("<!DOCTYPE md [<!ENTITY e \"x\">]>{metadata}");
    w.put(t, "doctype.xml", doctype.as_bytes())?;
    let wrapped = format!(
        "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">{}</md:EntitiesDescriptor>",
        metadata.trim_start_matches(|c| c != '<')
    );
    w.put(t, "entities-descriptor.xml", wrapped.as_bytes())?;
    Ok(())
}

/// The first two scenario files of each section (`scenarios/<n>-<section>/`), natural order.
fn scenario_seeds(w: &mut Writer, dir: &Path) -> Result<(), String> {
    let mut sections: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    sections.sort();
    for section in sections {
        let mut files = crate::scenario::scenario_files(&section).map_err(|e| e.to_string())?;
        files.truncate(2);
        for file in files {
            let text = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            w.put("scenario_file", &name, &text)?;
        }
    }
    Ok(())
}
