//! Shared by the verifier tests: the fixture builder and its signing helper (the `xmlsec1` command
//! through `plumbing::xmlsec1`, independent of both `mock-idp` and the SP's own xmlsec code path).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sp::reason::Rejection;
use sp::verify::{VerifiedResponse, VerifyPolicy, verify_response};
use time::OffsetDateTime;
use time::macros::datetime;

/// The instant the fixture is valid around.
pub const NOW: OffsetDateTime = datetime!(2030-01-01 00:00:00 UTC);
pub const SP_ENTITY_ID: &str = "https://sp.test/metadata";
pub const ACS_URL: &str = "https://sp.test/saml/acs";
pub const IDP_ENTITY_ID: &str = "https://idp.test/metadata";

pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn read_fixture(rel: &str) -> String {
    let p = fixtures().join(rel);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", p.display()))
}

/// PEM of `keys/<name>.crt`.
pub fn cert(name: &str) -> String {
    read_fixture(&format!("keys/{name}.crt"))
}

/// The default policy: pinned `idp` certificate, IdP entity ID set, defaults otherwise.
pub fn policy() -> VerifyPolicy {
    let mut p = VerifyPolicy::new(SP_ENTITY_ID, ACS_URL, vec![cert("idp")]);
    p.idp_entity_id = Some(IDP_ENTITY_ID.to_owned());
    p
}

/// How to fill and sign one `ds:Signature` template.
#[derive(Clone, Debug)]
pub struct Sig {
    pub c14n: String,
    pub method: String,
    pub digest: String,
    /// Inner XML of `ds:Transforms`.
    pub transforms: String,
    /// `None`: the ID of the element that carries the signature.
    pub reference_id: Option<String>,
    /// Key pair name under `keys/`.
    pub key: String,
}

impl Default for Sig {
    fn default() -> Self {
        Sig {
            c14n: EXC_C14N.into(),
            method: RSA_SHA256.into(),
            digest: SHA256.into(),
            transforms: format!(
                r#"<ds:Transform Algorithm="{ENVELOPED}"/><ds:Transform Algorithm="{EXC_C14N}"/>"#
            ),
            reference_id: None,
            key: "idp".into(),
        }
    }
}

/// A response to be signed: the template plus edits, and which elements to sign how.
#[derive(Clone, Debug)]
pub struct Fixture {
    pub xml: String,
    pub assertion_sig: Option<Sig>,
    pub response_sig: Option<Sig>,
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture::new()
    }
}

impl Fixture {
    /// The template with a signed Assertion (RSA-SHA256, exc-c14n, `idp` key).
    pub fn new() -> Self {
        Fixture {
            xml: read_fixture("response.xml"),
            assertion_sig: Some(Sig::default()),
            response_sig: None,
        }
    }

    /// Replaces `from` (which must occur) by `to` before signing.
    pub fn edit(mut self, from: &str, to: &str) -> Self {
        assert!(self.xml.contains(from), "fixture edit: {from:?} not found");
        self.xml = self.xml.replacen(from, to, 1);
        self
    }

    pub fn assertion_sig(mut self, sig: Option<Sig>) -> Self {
        self.assertion_sig = sig;
        self
    }

    pub fn response_sig(mut self, sig: Option<Sig>) -> Self {
        self.response_sig = sig;
        self
    }

    /// Fills the templates and signs (Assertion first, then Response) with `xmlsec1`.
    pub fn build(&self) -> String {
        let mut xml = self.xml.clone();
        let fill = |sig: &Sig, own_id: &str| {
            read_fixture("signature.xml")
                .replace("{{C14N}}", &sig.c14n)
                .replace("{{SIGNATURE_METHOD}}", &sig.method)
                .replace("{{DIGEST_METHOD}}", &sig.digest)
                .replace("{{TRANSFORMS}}", &sig.transforms)
                .replace(
                    "{{REFERENCE_ID}}",
                    sig.reference_id.as_deref().unwrap_or(own_id),
                )
        };
        let assertion_id = attr_value(&xml, "<saml:Assertion ", "ID").unwrap_or_default();
        let response_id = attr_value(&xml, "<samlp:Response ", "ID").unwrap_or_default();
        let a = self
            .assertion_sig
            .as_ref()
            .map(|s| fill(s, &assertion_id))
            .unwrap_or_default();
        let r = self
            .response_sig
            .as_ref()
            .map(|s| fill(s, &response_id))
            .unwrap_or_default();
        xml = xml
            .replace("<!--ASSERTION_SIGNATURE-->", &a)
            .replace("<!--RESPONSE_SIGNATURE-->", &r);
        if let Some(s) = &self.assertion_sig {
            xml = xmlsec1_sign(
                &xml,
                &s.key,
                "//*[local-name()='Assertion']/*[local-name()='Signature']",
            );
        }
        if let Some(s) = &self.response_sig {
            xml = xmlsec1_sign(
                &xml,
                &s.key,
                "/*[local-name()='Response']/*[local-name()='Signature']",
            );
        }
        xml
    }
}

/// The value of attribute `name` on the first tag starting with `tag_start`.
pub fn attr_value(xml: &str, tag_start: &str, name: &str) -> Option<String> {
    let tag = &xml[xml.find(tag_start)?..];
    let tag = &tag[..tag.find('>')?];
    let key = format!(" {name}=\"");
    let v = &tag[tag.find(&key)? + key.len()..];
    Some(v[..v.find('"')?].to_owned())
}

/// Signs the `ds:Signature` selected by `node_xpath` with `keys/<key>.{key,crt}` using the
/// `xmlsec1` command. Panics (failing the test) if `xmlsec1` is missing.
pub fn xmlsec1_sign(xml: &str, key: &str, node_xpath: &str) -> String {
    let keys = fixtures().join("keys");
    plumbing::xmlsec1::sign(
        xml,
        &keys.join(format!("{key}.key")),
        &keys.join(format!("{key}.crt")),
        &[
            "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
            "urn:oasis:names:tc:SAML:2.0:protocol:Response",
        ],
        Some(node_xpath),
    )
}

pub fn verify(xml: &str) -> Result<VerifiedResponse, Rejection> {
    verify_response(xml.as_bytes(), &policy(), NOW)
}

/// Asserts that verification fails with exactly `code`; returns the rejection for more checks.
#[track_caller]
pub fn assert_rejected_with(result: Result<VerifiedResponse, Rejection>, code: &str) -> Rejection {
    match result {
        Ok(v) => panic!("expected rejection {code}, but it was accepted: {v:#?}"),
        Err(r) => {
            assert_eq!(
                r.reason.code(),
                code,
                "wrong reason; message: {}",
                r.message
            );
            assert!(
                !r.message.is_empty(),
                "rejection {code} has an empty message"
            );
            r
        }
    }
}

#[track_caller]
pub fn assert_rejected(xml: &str, code: &str) -> Rejection {
    assert_rejected_with(verify(xml), code)
}

/// The signed default response (Assertion signed), built once per process.
pub fn signed_default() -> &'static str {
    static CELL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CELL.get_or_init(|| Fixture::new().build())
}

/// The text of the element starting at the first occurrence of `start_tag` through its matching
/// `end_tag` (first occurrence after it), inclusive.
pub fn slice_element<'a>(xml: &'a str, start_tag: &str, end_tag: &str) -> &'a str {
    let s = xml.find(start_tag).expect("start tag");
    let e = xml[s..].find(end_tag).expect("end tag") + s + end_tag.len();
    &xml[s..e]
}
