//! Enveloped XML-DSig signing with xmlsec, over a document whose `ds:Signature` templates the
//! minter already wrote. Everything libxml/xmlsec touches lives and dies inside [`sign`]: libxml's
//! `Document` is not `Send`, so it must never cross an `.await`.

use libxml::parser::{Parser, ParserOptions};
use libxml::tree::{Document, Node, SaveOptions};
use xmlsec::{XmlSecDocumentExt, XmlSecKey, XmlSecKeyFormat, XmlSecSignatureContext};

use crate::knobs::SignatureAlgorithm;
use crate::logout::SignatureCheck;
use crate::xml::{ASSERTION_NS, DSIG_NS, PROTOCOL_NS};

/// An element whose `ds:Signature` child should be filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signed {
    /// The `saml:Assertion` inside the Response.
    Assertion,
    /// The `samlp:Response` root.
    Response,
    /// The `samlp:LogoutRequest` root (IdP-initiated logout over HTTP-POST).
    LogoutRequest,
}

/// Why signing failed. These are bugs in the minter or a bad key file, never the request's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// libxml could not parse the XML the minter built (for example a knob value held a
    /// character XML forbids).
    #[error(
        "the minted XML is not well-formed (does a knob or user field hold a control character?)"
    )]
    MintedXmlMalformed,
    /// The ID attributes could not be declared to libxml.
    #[error("cannot declare the ID attributes: {0}")]
    DeclareIds(String),
    /// The element to sign, or its `ds:Signature` template, is missing.
    #[error("no ds:Signature template in the {0:?}")]
    TemplateMissing(Signed),
    /// xmlsec refused the private key PEM.
    #[error("xmlsec cannot load the private key: {0}")]
    KeyUnusable(String),
    /// xmlsec failed to compute the signature.
    #[error("xmlsec failed to sign the {what:?}: {detail}")]
    Xmlsec {
        /// The element being signed.
        what: Signed,
        /// xmlsec's own error messages.
        detail: String,
    },
}

/// Signs `targets` in order (assertion before response, so the response digest covers the signed
/// assertion) with `key_pem`, and returns the serialised document.
pub(crate) fn sign(xml: &str, key_pem: &str, targets: &[Signed]) -> Result<String, SignError> {
    let doc = parse(xml)?;
    if targets.is_empty() {
        return Ok(serialise(&doc));
    }
    // Creating a context initialises xmlsec, which must precede installing the error hook.
    let first_context = XmlSecSignatureContext::new();
    ffi::capture_xmlsec_errors();
    ffi::take_xmlsec_errors();
    let key = signing_key(key_pem)?;
    // xmlsec resolves `URI="#ID"` only through attributes declared as IDs; SAML has no DTD to do it.
    doc.specify_idattr(
        // Only where `signature_template` looks: a search of the whole tree (`//`) cost about
        // a twentieth of a minting.
        "/samlp:Response | /*/saml:Assertion | /*/saml:EncryptedAssertion/saml:Assertion \
         | /samlp:LogoutRequest",
        "ID",
        Some(&[("samlp", PROTOCOL_NS), ("saml", ASSERTION_NS)]),
    )
    .map_err(|e| SignError::DeclareIds(e.to_string()))?;
    let mut context = Some(first_context);
    let mut last_signature = None;
    for &target in targets {
        let signature =
            signature_template(&doc, target).ok_or(SignError::TemplateMissing(target))?;
        // A dsig context signs once (it keeps that signature's result), so each gets its own.
        let mut ctx = context.take().unwrap_or_else(XmlSecSignatureContext::new);
        // The certificate is deliberately not loaded into the key: xmlsec then leaves the KeyInfo
        // the minter wrote untouched (the attacker profile relies on that).
        ctx.insert_key(key.clone());
        ctx.sign_node(&signature).map_err(|e| SignError::Xmlsec {
            what: target,
            detail: with_xmlsec_detail(e.to_string()),
        })?;
        last_signature = Some(signature);
    }
    // One signature (the common case): its values go into the text the minter wrote, which
    // parses to the very document xmlsec signed, so the signature holds for it; serialising the
    // whole document again cost about a tenth of a minting.
    match (targets, last_signature) {
        ([_], Some(signature)) => {
            Ok(fill_template(xml, &signature).unwrap_or_else(|| serialise(&doc)))
        }
        _ => Ok(serialise(&doc)),
    }
}

const DIGEST_OPEN: &str = "<ds:DigestValue>";
const EMPTY_DIGEST: &str = "<ds:DigestValue></ds:DigestValue>";
const SIGNATURE_VALUE_OPEN: &str = "<ds:SignatureValue>";
const EMPTY_SIGNATURE_VALUE: &str = "<ds:SignatureValue></ds:SignatureValue>";

/// `xml` with the DigestValue and SignatureValue that xmlsec wrote into `signature` put in the
/// text's empty template elements; `None` unless the text holds exactly one of each as
/// [`crate::mint`] writes them (a template that went through libxml2 before reads
/// `<ds:DigestValue/>`), or a value is not plain base64.
fn fill_template(xml: &str, signature: &Node) -> Option<String> {
    let digest = child_element(signature, DSIG_NS, "SignedInfo")
        .and_then(|info| child_element(&info, DSIG_NS, "Reference"))
        .and_then(|reference| child_element(&reference, DSIG_NS, "DigestValue"))?
        .get_content();
    let value = child_element(signature, DSIG_NS, "SignatureValue")?.get_content();
    let base64 = |text: &str| {
        !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\n'))
    };
    if !base64(&digest) || !base64(&value) {
        return None;
    }
    let only = |needle: &str| {
        let at = xml.find(needle)?;
        xml[at + needle.len()..]
            .find(needle)
            .is_none()
            .then_some(at)
    };
    let (digest_at, value_at) = (only(EMPTY_DIGEST)?, only(EMPTY_SIGNATURE_VALUE)?);
    // In a template the DigestValue (in SignedInfo) precedes the SignatureValue.
    if digest_at > value_at {
        return None;
    }
    let (digest_in, value_in) = (
        digest_at + DIGEST_OPEN.len(),
        value_at + SIGNATURE_VALUE_OPEN.len(),
    );
    let mut out = String::with_capacity(xml.len() + digest.len() + value.len());
    out.push_str(&xml[..digest_in]);
    out.push_str(&digest);
    out.push_str(&xml[digest_in..value_in]);
    out.push_str(&value);
    out.push_str(&xml[value_in..]);
    Some(out)
}

/// At most this many signing keys are kept per thread (the IdP's, the attacker's, a few extra
/// IdPs'); the cache starts afresh when full.
const MAX_CACHED_KEYS: usize = 16;

/// The xmlsec key of `key_pem`, parsed once per thread: with OpenSSL 3, parsing a private key
/// costs about as much as the signature it makes. xmlsec keys are not `Send`, hence a cache per
/// thread; each signature gets its own copy (which shares the immutable OpenSSL key).
fn signing_key(key_pem: &str) -> Result<XmlSecKey, SignError> {
    thread_local! {
        static KEYS: std::cell::RefCell<Vec<(String, XmlSecKey)>> = const {
            std::cell::RefCell::new(Vec::new())
        };
    }
    KEYS.with_borrow_mut(|keys| {
        if let Some((_, key)) = keys.iter().find(|(pem, _)| pem == key_pem) {
            return Ok(key.clone());
        }
        let key = XmlSecKey::from_memory(key_pem.as_bytes(), XmlSecKeyFormat::Pem, None)
            .map_err(|e| SignError::KeyUnusable(with_xmlsec_detail(e.to_string())))?;
        if keys.len() >= MAX_CACHED_KEYS {
            keys.clear();
        }
        keys.push((key_pem.to_owned(), key.clone()));
        Ok(key)
    })
}

/// Verifies the enveloped signature of a received message's root element (an SP's LogoutRequest
/// or LogoutResponse over HTTP-POST) with the public key of `cert_pem`, never with a key or
/// certificate the message carries in KeyInfo (the key put in the context is the only one used).
pub(crate) fn verify_root(xml: &str, cert_pem: Option<&str>) -> SignatureCheck {
    let invalid = |reason: String| SignatureCheck::Invalid { reason };
    let doc = match crate::logout::parse_xml(xml) {
        Ok(doc) => doc,
        Err(e) => return invalid(e.to_string()),
    };
    let Some(root) = doc.get_root_element() else {
        return invalid("the message has no root element".to_owned());
    };
    let signatures: Vec<Node> = root
        .get_child_elements()
        .into_iter()
        .filter(|c| {
            c.get_name() == "Signature"
                && c.get_namespace().is_some_and(|ns| ns.get_href() == DSIG_NS)
        })
        .collect();
    let signature = match signatures.as_slice() {
        [] => return SignatureCheck::Missing,
        [one] => one,
        _ => return invalid("the message root carries more than one signature".to_owned()),
    };
    // xmlsec checks that the Reference resolves and its digest matches, not *what* it points at:
    // a signature over some other element (signature wrapping) must not count for the root.
    let signed_info = child_element(signature, DSIG_NS, "SignedInfo");
    let reference = signed_info
        .as_ref()
        .and_then(|si| child_element(si, DSIG_NS, "Reference"))
        .and_then(|r| r.get_attribute_no_ns("URI"));
    let root_id = root.get_attribute_no_ns("ID").unwrap_or_default();
    if root_id.is_empty() || reference.as_deref() != Some(&format!("#{root_id}")) {
        return invalid("the signature does not reference the message root".to_owned());
    }
    let algorithm = signed_info
        .as_ref()
        .and_then(|si| child_element(si, DSIG_NS, "SignatureMethod"))
        .and_then(|m| m.get_attribute_no_ns("Algorithm"))
        .unwrap_or_default();
    let Some(cert_pem) = cert_pem else {
        return SignatureCheck::NoCertificate;
    };
    let mut context = XmlSecSignatureContext::new();
    ffi::capture_xmlsec_errors();
    ffi::take_xmlsec_errors();
    let key = match XmlSecKey::from_memory(cert_pem.as_bytes(), XmlSecKeyFormat::CertPem, None) {
        Ok(key) => key,
        Err(e) => {
            return invalid(format!(
                "the SP certificate is unusable: {}",
                with_xmlsec_detail(e.to_string())
            ));
        }
    };
    if let Err(e) = doc.specify_idattr(
        "/samlp:LogoutRequest | /samlp:LogoutResponse",
        "ID",
        Some(&[("samlp", PROTOCOL_NS)]),
    ) {
        return invalid(format!("cannot declare the ID attribute: {e}"));
    }
    context.insert_key(key);
    match context.verify_node(signature) {
        Ok(true) if algorithm == SignatureAlgorithm::RsaSha1.uri() => {
            SignatureCheck::WeakAlgorithm { algorithm }
        }
        Ok(true) => SignatureCheck::Verified { algorithm },
        Ok(false) => invalid("the signature does not verify with the SP's certificate".to_owned()),
        Err(e) => invalid(format!("xmlsec: {}", with_xmlsec_detail(e.to_string()))),
    }
}

pub(crate) fn parse(xml: &str) -> Result<Document, SignError> {
    let options = ParserOptions {
        recover: false,
        // No explicit `encoding`: libxml2 2.9's forced-encoding path races between threads (a
        // concurrent parse intermittently lost elements; see tests/concurrency.rs). The text is
        // checked to be UTF-8 and `ignore_enc` makes libxml2 ignore the prolog's claim.
        no_net: true,
        ignore_enc: true,
        // Short text nodes (the indentation between elements) stored in the node itself:
        // fewer allocations to parse and free.
        compact: true,
        ..ParserOptions::default()
    };
    Parser::default()
        .parse_string_with_options(xml, options)
        .map_err(|_| SignError::MintedXmlMalformed)
}

fn serialise(doc: &Document) -> String {
    doc.to_string_with_options(SaveOptions::default())
}

/// The `ds:Signature` element child of the Response or of its Assertion (a child of the Response,
/// or of the `saml:EncryptedAssertion` that waits for it to be signed and then encrypted).
fn signature_template(doc: &Document, target: Signed) -> Option<Node> {
    let response = doc.get_root_element()?;
    let signed = match target {
        Signed::Response | Signed::LogoutRequest => response,
        Signed::Assertion => child_element(&response, ASSERTION_NS, "Assertion").or_else(|| {
            let wrapper = child_element(&response, ASSERTION_NS, "EncryptedAssertion")?;
            child_element(&wrapper, ASSERTION_NS, "Assertion")
        })?,
    };
    child_element(&signed, DSIG_NS, "Signature")
}

fn child_element(parent: &Node, namespace: &str, name: &str) -> Option<Node> {
    parent.get_child_elements().into_iter().find(|child| {
        child.get_name() == name
            && child
                .get_namespace()
                .is_some_and(|ns| ns.get_href() == namespace)
    })
}

pub(crate) fn with_xmlsec_detail(summary: String) -> String {
    let detail = ffi::take_xmlsec_errors();
    if detail.is_empty() {
        summary
    } else {
        format!("{summary}: {}", detail.join("; "))
    }
}

/// The only unsafe code in the crate: routing xmlsec's error reports into a thread-local buffer
/// instead of stderr, so failures become part of the error value and tests stay quiet.
#[allow(unsafe_code)]
pub(crate) mod ffi {
    use std::cell::RefCell;
    use std::ffi::{CStr, c_char, c_int};
    use std::sync::Once;

    /// At most this many messages are kept per signing, so a looping failure cannot grow memory.
    const MAX_MESSAGES: usize = 16;

    thread_local! {
        static MESSAGES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }

    type ErrorsCallback = unsafe extern "C" fn(
        file: *const c_char,
        line: c_int,
        func: *const c_char,
        error_object: *const c_char,
        error_subject: *const c_char,
        reason: c_int,
        msg: *const c_char,
    );

    unsafe extern "C" {
        // xmlsec/errors.h (1.2.x and 1.3.x): `void xmlSecErrorsSetCallback(xmlSecErrorsCallback)`.
        // The xmlsec crate's generated bindings omit errors.h, hence this declaration.
        fn xmlSecErrorsSetCallback(callback: Option<ErrorsCallback>);
    }

    /// Installs the capturing callback once per process. Must run after xmlsec is initialised
    /// (any `XmlSecSignatureContext::new()` does that), because initialisation may reset it.
    pub(crate) fn capture_xmlsec_errors() {
        static INSTALL: Once = Once::new();
        // SAFETY: the callback has exactly the C signature xmlsec declares, and is a plain
        // function that lives for the whole process.
        INSTALL.call_once(|| unsafe { xmlSecErrorsSetCallback(Some(record)) });
    }

    /// Returns and clears this thread's captured messages.
    pub(crate) fn take_xmlsec_errors() -> Vec<String> {
        MESSAGES.with(|messages| std::mem::take(&mut *messages.borrow_mut()))
    }

    /// Called by xmlsec on the thread that hit the error.
    ///
    /// Invariants: never unwinds into C (nothing here can panic except allocation failure, which
    /// aborts), and only reads the string arguments, each of which xmlsec passes as NULL or a
    /// NUL-terminated string valid for the duration of the call.
    unsafe extern "C" fn record(
        _file: *const c_char,
        _line: c_int,
        func: *const c_char,
        error_object: *const c_char,
        error_subject: *const c_char,
        reason: c_int,
        msg: *const c_char,
    ) {
        // SAFETY: see the invariants above.
        let text = |ptr: *const c_char| unsafe {
            if ptr.is_null() {
                String::new()
            } else {
                CStr::from_ptr(ptr).to_string_lossy().into_owned()
            }
        };
        let line = format!(
            "{} (object {}, subject {}, reason {reason}): {}",
            text(func),
            text(error_object),
            text(error_subject),
            text(msg)
        );
        let _ = MESSAGES.try_with(|messages| {
            if let Ok(mut messages) = messages.try_borrow_mut() {
                if messages.len() < MAX_MESSAGES {
                    messages.push(line);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNSIGNED: &str =
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r"/>"#;

    #[test]
    fn nothing_to_sign_round_trips_the_document() {
        let xml = sign(UNSIGNED, "unused", &[]).expect("no targets");
        assert!(xml.contains(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r"/>"#
        ));
    }

    #[test]
    fn a_filled_template_is_the_document_xmlsec_signed() {
        let keys = crate::keys::IdpKeys::fixed_for_tests();
        let knobs = crate::profiles::get("valid").expect("valid profile");
        let users = crate::users::demo_users();
        let minted = crate::mint::mint_response(&crate::mint::MintParams {
            idp_entity_id: "http://idp.example/metadata".to_owned(),
            sp_entity_id: "http://sp.example/metadata".to_owned(),
            acs_url: "http://sp.example/acs".to_owned(),
            user: &users[0],
            in_response_to: None,
            now: time::macros::datetime!(2026-01-01 0:00 UTC),
            knobs: &knobs,
            keys: &keys,
            ids: &crate::mint::CounterIds::new(),
            session_index: None,
            sp_encryption_cert_pem: None,
        })
        .expect("mint");
        // What serialising the signed document would have given, byte for byte.
        let doc = parse(&minted.xml).expect("parses");
        assert_eq!(serialise(&doc), minted.xml);
        let signature = signature_template(&doc, Signed::Assertion).expect("signature");
        let between = |open: &str, close: &str| {
            let start = minted.xml.find(open).expect("open") + open.len();
            minted.xml[start..start + minted.xml[start..].find(close).expect("close")].to_owned()
        };
        let digest = between(DIGEST_OPEN, "</ds:DigestValue>");
        let value = between(SIGNATURE_VALUE_OPEN, "</ds:SignatureValue>");
        let template = minted.xml.replace(&digest, "").replace(&value, "");
        assert_eq!(
            fill_template(&template, &signature).as_deref(),
            Some(&*minted.xml)
        );
        // A template libxml2 wrote before (as after encrypting) reads `<ds:DigestValue/>`, and
        // two templates are ambiguous: the document is serialised instead.
        let self_closed = template.replace(EMPTY_DIGEST, "<ds:DigestValue/>");
        assert_eq!(fill_template(&self_closed, &signature), None);
        let twice = template.replace(EMPTY_DIGEST, &EMPTY_DIGEST.repeat(2));
        assert_eq!(fill_template(&twice, &signature), None);
    }

    #[test]
    fn failures_are_values_with_xmlsecs_reasons() {
        assert_eq!(
            sign("<a>", "unused", &[]),
            Err(SignError::MintedXmlMalformed)
        );
        let err = sign(
            UNSIGNED,
            "-----BEGIN PRIVATE KEY-----\ngarbage\n",
            &[Signed::Response],
        )
        .expect_err("garbage key");
        assert!(matches!(err, SignError::KeyUnusable(_)), "{err}");
        let key = crate::keys::IdpKeys::fixed_for_tests().idp.key_pem;
        assert_eq!(
            sign(UNSIGNED, &key, &[Signed::Response]),
            Err(SignError::TemplateMissing(Signed::Response))
        );
    }
}
