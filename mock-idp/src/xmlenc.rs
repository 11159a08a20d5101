//! XML Encryption of minted elements with xmlsec: the assertion (`saml:EncryptedAssertion`), the
//! NameID (`saml:EncryptedID`) and attributes (`saml:EncryptedAttribute`).
//!
//! The minter writes each wrapper with the plaintext element and an `xenc:EncryptedData` template
//! side by side ([`Template::write`]); [`encrypt`] then has xmlsec encrypt the element with a fresh
//! AES session key, wrap that key for the recipient's RSA public key in the template's
//! `xenc:EncryptedKey`, and put the template in the element's place. As with [`crate::dsig`],
//! every libxml/xmlsec object lives and dies inside one call (libxml documents are not `Send`).
//!
//! Encrypted output is randomised (session key, IV, OAEP seed), so unlike signed output it has no
//! byte-for-byte snapshot; tests decrypt it with the `xmlsec1` command instead.

use std::sync::OnceLock;

use base64::Engine as _;
use libxml::tree::{Document, Node, SaveOptions};

use crate::dsig::{self, SignError};
use crate::keys::SigningIdentity;
use crate::knobs::{CbcOracleProbe, DataEncryption, KeyTransport};
use crate::xml::{ASSERTION_NS, DSIG_NS, XmlWriter};

mod cbc_probe;

/// XML Encryption namespace (`xenc:`).
pub const XMLENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
/// `EncryptedData` Type of an encrypted element.
const TYPE_ELEMENT: &str = "http://www.w3.org/2001/04/xmlenc#Element";
/// The OAEP digest Entra ID, ADFS and Okta name explicitly.
const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";

/// Why encrypting failed: a bad SP certificate, or a bug; never the request's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptError {
    /// The certificate to encrypt to is not a usable PEM certificate with an RSA key.
    #[error("the encryption certificate is unusable: {0}")]
    CertificateUnusable(String),
    /// The throwaway key of `encrypt_to = wrong-key` could not be generated.
    #[error("cannot generate the throwaway encryption key: {0}")]
    ThrowawayKey(String),
    /// libxml could not parse the XML the minter built.
    #[error("the minted XML cannot be parsed for encryption: {0}")]
    MintedXmlMalformed(SignError),
    /// A wrapper lacks its plaintext element or its `xenc:EncryptedData` template (a minter bug).
    #[error("saml:{0} has no plaintext element and EncryptedData template side by side")]
    TemplateMissing(String),
    /// The linked xmlsec's `xmlSecEncCtx` is not laid out as this build expects (a different
    /// xmlsec than the headers the bindings came from); nothing was written through it.
    #[error("the linked xmlsec's encryption context has an unexpected layout; rebuild against it")]
    UnexpectedXmlsecLayout,
    /// xmlsec failed.
    #[error("xmlsec failed to encrypt: {0}")]
    Xmlsec(String),
    /// Knob `cbc_oracle_probe` could not rewrite the ciphertext (a minter bug).
    #[error("cbc_oracle_probe: could not {0}")]
    CbcProbe(String),
}

/// The RSA public key (as a certificate) the session keys are wrapped for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recipient {
    cert_pem: String,
}

impl Recipient {
    /// The holder of `cert_pem` (checked to hold a PEM certificate; xmlsec checks the rest).
    pub(crate) fn from_cert_pem(cert_pem: &str) -> Result<Recipient, EncryptError> {
        plumbing::keys::cert_der_base64(cert_pem).ok_or_else(|| {
            EncryptError::CertificateUnusable("no PEM CERTIFICATE block".to_owned())
        })?;
        Ok(Recipient {
            cert_pem: cert_pem.to_owned(),
        })
    }

    /// A key nobody else holds: RSA-2048, generated once per process (generating one per response
    /// would cost a noticeable fraction of a second each).
    pub(crate) fn throwaway() -> Result<Recipient, EncryptError> {
        static THROWAWAY: OnceLock<Result<Recipient, EncryptError>> = OnceLock::new();
        THROWAWAY
            .get_or_init(|| {
                let identity =
                    SigningIdentity::generate("samlconf throwaway encryption key (not the SP's)")
                        .map_err(|e| EncryptError::ThrowawayKey(e.to_string()))?;
                Recipient::from_cert_pem(&identity.cert_pem)
            })
            .clone()
    }
}

/// The algorithms of one `xenc:EncryptedData` template.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Template {
    /// Data encryption with the session key.
    pub(crate) data: DataEncryption,
    /// Key transport of the session key.
    pub(crate) transport: KeyTransport,
}

impl Template {
    /// Writes an `xenc:EncryptedData` template: EncryptionMethod, a `ds:KeyInfo` with an
    /// `xenc:EncryptedKey` (whose empty `ds:X509Data` xmlsec fills with the recipient's
    /// certificate, as Entra ID does), and empty CipherValues.
    pub(crate) fn write(&self, w: &mut XmlWriter) {
        w.start(
            "xenc:EncryptedData",
            &[
                ("xmlns:xenc", Some(XMLENC_NS)),
                ("Type", Some(TYPE_ELEMENT)),
            ],
        );
        w.empty(
            "xenc:EncryptionMethod",
            &[("Algorithm", Some(self.data.uri()))],
        );
        w.start("ds:KeyInfo", &[("xmlns:ds", Some(DSIG_NS))]);
        w.start("xenc:EncryptedKey", &[]);
        let transport = [("Algorithm", Some(self.transport.uri()))];
        match self.transport {
            KeyTransport::RsaOaep => {
                w.start("xenc:EncryptionMethod", &transport);
                w.empty("ds:DigestMethod", &[("Algorithm", Some(SHA1))]);
                w.end("xenc:EncryptionMethod");
            }
            KeyTransport::Rsa15 => w.empty("xenc:EncryptionMethod", &transport),
        }
        w.start("ds:KeyInfo", &[]);
        w.empty("ds:X509Data", &[]);
        w.end("ds:KeyInfo");
        write_cipher_data(w);
        w.end("xenc:EncryptedKey");
        w.end("ds:KeyInfo");
        write_cipher_data(w);
        w.end("xenc:EncryptedData");
    }
}

fn write_cipher_data(w: &mut XmlWriter) {
    w.start("xenc:CipherData", &[]);
    w.text("xenc:CipherValue", &[], "");
    w.end("xenc:CipherData");
}

/// Which wrappers one [`encrypt`] pass fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// `saml:EncryptedID` and `saml:EncryptedAttribute`: before the assertion is signed.
    InsideAssertion,
    /// `saml:EncryptedAssertion`: after the assertion is signed.
    Assertion,
}

impl Stage {
    fn wrappers(self) -> &'static [&'static str] {
        match self {
            Stage::InsideAssertion => &["EncryptedID", "EncryptedAttribute"],
            Stage::Assertion => &["EncryptedAssertion"],
        }
    }
}

/// Encrypts every element waiting in a `stage` wrapper of `xml` to `recipient`, each with its own
/// session key of `data`'s size; with `corrupt`, then flips bytes of each new content CipherValue.
pub(crate) fn encrypt(
    xml: &str,
    stage: Stage,
    recipient: &Recipient,
    data: DataEncryption,
    corrupt: bool,
) -> Result<String, EncryptError> {
    encrypt_with(xml, stage, recipient, data, corrupt, None)
}

/// Knob `cbc_oracle_probe`: encrypts the assertion waiting in `xml`'s EncryptedAssertion with a
/// session key chosen here (so that the ciphertext can be rewritten as the attack would), then
/// tampers with it ([`cbc_probe::tamper`]).
pub(crate) fn encrypt_for_cbc_probe(
    xml: &str,
    recipient: &Recipient,
    data: DataEncryption,
    probe: CbcOracleProbe,
) -> Result<String, EncryptError> {
    let mut session_key = vec![0u8; data.key_bits() as usize / 8];
    rand::fill(session_key.as_mut_slice());
    let encrypted = encrypt_with(
        xml,
        Stage::Assertion,
        recipient,
        data,
        false,
        Some(&session_key),
    )?;
    cbc_probe::tamper(&encrypted, probe, data, &session_key)
}

fn encrypt_with(
    xml: &str,
    stage: Stage,
    recipient: &Recipient,
    data: DataEncryption,
    corrupt: bool,
    session_key: Option<&[u8]>,
) -> Result<String, EncryptError> {
    let doc = dsig::parse(xml).map_err(EncryptError::MintedXmlMalformed)?;
    let root = doc
        .get_root_element()
        .ok_or_else(|| EncryptError::TemplateMissing("Response".to_owned()))?;
    let mut wrappers = Vec::new();
    collect_wrappers(&root, stage.wrappers(), &mut wrappers);
    // Pair every template with its plaintext before xmlsec changes the tree.
    let mut pairs = Vec::with_capacity(wrappers.len());
    for wrapper in &wrappers {
        let is_template = |node: &Node| {
            node.get_name() == "EncryptedData"
                && node
                    .get_namespace()
                    .is_some_and(|ns| ns.get_href() == XMLENC_NS)
        };
        let (templates, plaintexts): (Vec<Node>, Vec<Node>) = wrapper
            .get_child_elements()
            .into_iter()
            .partition(is_template);
        match (templates.as_slice(), plaintexts.as_slice()) {
            ([template], [plaintext]) => pairs.push((template.clone(), plaintext.clone())),
            _ => return Err(EncryptError::TemplateMissing(wrapper.get_name())),
        }
    }
    drop(wrappers);
    if !pairs.is_empty() {
        let keys = ffi::RecipientKeys::load(&recipient.cert_pem)?;
        for (template, plaintext) in pairs {
            keys.encrypt(&doc, template, plaintext, data.key_bits(), session_key)?;
        }
    }
    let out = serialise(&doc);
    Ok(if corrupt {
        corrupt_ciphertext(&out)
    } else {
        out
    })
}

fn collect_wrappers(node: &Node, names: &[&str], out: &mut Vec<Node>) {
    for child in node.get_child_elements() {
        let in_saml = child
            .get_namespace()
            .is_some_and(|ns| ns.get_href() == ASSERTION_NS);
        if in_saml && names.contains(&child.get_name().as_str()) {
            out.push(child);
        } else {
            collect_wrappers(&child, names, out);
        }
    }
}

fn serialise(doc: &Document) -> String {
    doc.to_string_with_options(SaveOptions::default())
}

/// Flips bytes 16..20 of the content CipherValue of every `xenc:EncryptedData` (the last
/// CipherValue before each `</xenc:EncryptedData>`; the EncryptedKey's comes earlier). Offset 16
/// lies past the IV of both modes: GCM's tag check fails, and CBC turns the plaintext's first
/// block into garbage that does not parse.
fn corrupt_ciphertext(xml: &str) -> String {
    const OPEN: &str = "<xenc:CipherValue>";
    const CLOSE: &str = "</xenc:CipherValue>";
    let engine = base64::engine::general_purpose::STANDARD;
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(end) = rest.find("</xenc:EncryptedData>") {
        let (head, tail) = rest.split_at(end);
        let value = head
            .rfind(OPEN)
            .map(|start| start + OPEN.len())
            .and_then(|start| Some((start, start + head[start..].find(CLOSE)?)));
        match value {
            Some((start, stop)) => {
                let text: String = head[start..stop]
                    .chars()
                    .filter(|c| !c.is_ascii_whitespace())
                    .collect();
                let mut bytes = engine.decode(text).unwrap_or_default();
                let len = bytes.len();
                for byte in bytes.iter_mut().skip(16.min(len.saturating_sub(1))).take(4) {
                    *byte ^= 0x5a;
                }
                out.push_str(&head[..start]);
                out.push_str(&engine.encode(bytes));
                out.push_str(&head[stop..]);
            }
            None => out.push_str(head),
        }
        rest = tail;
        let close = "</xenc:EncryptedData>".len();
        out.push_str(&rest[..close]);
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// Calls into xmlsec's XML Encryption, which the `xmlsec` crate does not wrap (its generated
/// bindings omit `xmlenc.h`). This and `dsig::ffi` are the crate's only unsafe code.
///
/// Invariants:
/// - xmlsec is initialised before any call here (`RecipientKeys::load` creates a signature
///   context first, which initialises the library once per process).
/// - Every xmlsec object created here is destroyed here, exactly once, by its owner's `Drop`:
///   the keys manager owns the recipient's key after adoption; the encryption context owns the
///   session key once it is stored in `encKey`.
/// - `xmlSecEncCtx` is read and written through [`EncCtxPrefix`], a mirror of its leading fields
///   in xmlsec 1.2.x's `xmlenc.h` built from the bindings' own `xmlSecKeyInfoCtx` and
///   `xmlSecTransformCtx`. xmlsec allocates the whole struct; before writing `encKey`, fields
///   xmlsec initialised to known values are checked, so a different layout is refused
///   ([`EncryptError::UnexpectedXmlsecLayout`]) instead of written through.
#[allow(unsafe_code)]
mod ffi {
    use std::ffi::{c_int, c_uint, c_void};
    use std::ptr;

    use libxml::tree::{Document, Node};
    use xmlsec::bindings;

    use super::EncryptError;
    use crate::dsig::ffi::{capture_xmlsec_errors, take_xmlsec_errors};

    /// The leading fields of xmlsec 1.2.x's `struct _xmlSecEncCtx` (xmlsec/xmlenc.h), up to
    /// `encKey`, the only field written. Never constructed in Rust: only read through pointers
    /// that `xmlSecEncCtxCreate` returned.
    #[repr(C)]
    struct EncCtxPrefix {
        user_data: *mut c_void,
        flags: c_uint,
        flags2: c_uint,
        /// `xmlEncCtxMode`: 0 = EncryptedData.
        mode: c_uint,
        key_info_read_ctx: bindings::xmlSecKeyInfoCtx,
        key_info_write_ctx: bindings::xmlSecKeyInfoCtx,
        transform_ctx: bindings::xmlSecTransformCtx,
        def_enc_method_id: bindings::xmlSecTransformId,
        enc_key: bindings::xmlSecKeyPtr,
    }

    unsafe extern "C" {
        // xmlsec/xmlenc.h (1.2.x): not in the xmlsec crate's bindings.
        fn xmlSecEncCtxCreate(keys_mngr: bindings::xmlSecKeysMngrPtr) -> *mut EncCtxPrefix;
        fn xmlSecEncCtxDestroy(enc_ctx: *mut EncCtxPrefix);
        fn xmlSecEncCtxXmlEncrypt(
            enc_ctx: *mut EncCtxPrefix,
            tmpl: bindings::xmlNodePtr,
            node: bindings::xmlNodePtr,
        ) -> c_int;
    }

    /// A keys manager holding only the recipient's public key (from its certificate).
    pub(super) struct RecipientKeys {
        manager: bindings::xmlSecKeysMngrPtr,
    }

    impl RecipientKeys {
        pub(super) fn load(cert_pem: &str) -> Result<RecipientKeys, EncryptError> {
            // Initialises xmlsec (once per process), which must precede every call below.
            drop(xmlsec::XmlSecSignatureContext::new());
            capture_xmlsec_errors();
            take_xmlsec_errors();
            let len = c_uint::try_from(cert_pem.len())
                .map_err(|_| EncryptError::CertificateUnusable("too large".to_owned()))?;
            // SAFETY: the buffer is valid for `len` bytes for the call; no password callback.
            let key = unsafe {
                bindings::xmlSecOpenSSLAppKeyLoadMemory(
                    cert_pem.as_ptr(),
                    len,
                    bindings::xmlSecKeyDataFormat_xmlSecKeyDataFormatCertPem,
                    ptr::null(),
                    ptr::null_mut(),
                    ptr::null_mut(),
                )
            };
            if key.is_null() {
                return Err(EncryptError::CertificateUnusable(detail(
                    "xmlsec cannot load it",
                )));
            }
            // SAFETY: plain constructor; checked for NULL.
            let manager = unsafe { bindings::xmlSecKeysMngrCreate() };
            if manager.is_null() {
                // SAFETY: `key` is ours and not adopted by anyone.
                unsafe { bindings::xmlSecKeyDestroy(key) };
                return Err(EncryptError::Xmlsec(detail("cannot create a keys manager")));
            }
            let keys = RecipientKeys { manager };
            // SAFETY: `manager` is a fresh manager; on success it adopts (owns) `key`, on
            // failure `key` is still ours and destroyed here.
            unsafe {
                if bindings::xmlSecOpenSSLAppDefaultKeysMngrInit(manager) < 0 {
                    bindings::xmlSecKeyDestroy(key);
                    return Err(EncryptError::Xmlsec(detail(
                        "cannot set up the keys manager",
                    )));
                }
                if bindings::xmlSecOpenSSLAppDefaultKeysMngrAdoptKey(manager, key) < 0 {
                    bindings::xmlSecKeyDestroy(key);
                    return Err(EncryptError::Xmlsec(detail(
                        "cannot add the recipient's key",
                    )));
                }
            }
            Ok(keys)
        }

        /// Encrypts `plaintext` with a fresh AES session key of `bits` bits (or with
        /// `session_key`, when given), wraps the key for the recipient, and puts the filled-in
        /// `template` in the plaintext's place. xmlsec frees the
        /// plaintext node, so its wrapper is consumed here (a linked libxml wrapper frees nothing
        /// when dropped). Both must be distinct children of one parent in `doc`, which is checked:
        /// siblings are never inside one another, and `doc` outlives the call.
        pub(super) fn encrypt(
            &self,
            doc: &Document,
            template: Node,
            plaintext: Node,
            bits: u32,
            session_key: Option<&[u8]>,
        ) -> Result<(), EncryptError> {
            let (template, plaintext) = (template.node_ptr(), plaintext.node_ptr());
            // SAFETY: both pointers come from wrappers of live nodes; only `parent`/`doc` are read.
            let siblings_in_doc = unsafe {
                !template.is_null()
                    && !plaintext.is_null()
                    && template != plaintext
                    && !(*template).parent.is_null()
                    && (*template).parent == (*plaintext).parent
                    && (*template).doc == doc.doc_ptr()
                    && (*plaintext).doc == doc.doc_ptr()
            };
            if !siblings_in_doc {
                return Err(EncryptError::TemplateMissing(
                    "(template and plaintext are not siblings)".to_owned(),
                ));
            }
            // SAFETY: `self.manager` is a live, initialised keys manager.
            let ctx = unsafe { xmlSecEncCtxCreate(self.manager) };
            if ctx.is_null() {
                return Err(EncryptError::Xmlsec(detail(
                    "cannot create an encryption context",
                )));
            }
            let ctx = Context(ctx);
            // SAFETY: `ctx.0` points at a whole `xmlSecEncCtx` xmlsec allocated and initialised;
            // only prefix fields are read, and `encKey` is written only once they check out.
            unsafe {
                let prefix = &mut *ctx.0;
                let laid_out_as_expected = prefix.mode == 0
                    && prefix.key_info_read_ctx.keysMngr == self.manager
                    && prefix.key_info_write_ctx.keysMngr == self.manager
                    && prefix.key_info_read_ctx.mode
                        == bindings::xmlSecKeyInfoMode_xmlSecKeyInfoModeRead
                    && prefix.key_info_write_ctx.mode
                        == bindings::xmlSecKeyInfoMode_xmlSecKeyInfoModeWrite
                    && prefix.enc_key.is_null();
                if !laid_out_as_expected {
                    return Err(EncryptError::UnexpectedXmlsecLayout);
                }
                let session_key = match session_key {
                    // xmlsec copies the bytes into the new key; the slice outlives the call.
                    Some(bytes) => match c_uint::try_from(bytes.len()) {
                        Ok(len) => bindings::xmlSecKeyReadMemory(
                            bindings::xmlSecOpenSSLKeyDataAesGetKlass(),
                            bytes.as_ptr(),
                            len,
                        ),
                        Err(_) => ptr::null_mut(),
                    },
                    None => bindings::xmlSecKeyGenerate(
                        bindings::xmlSecOpenSSLKeyDataAesGetKlass(),
                        bits,
                        bindings::xmlSecKeyDataTypeSession,
                    ),
                };
                if session_key.is_null() {
                    return Err(EncryptError::Xmlsec(detail(
                        "cannot generate the session key",
                    )));
                }
                // The context owns it from here: xmlSecEncCtxDestroy destroys `encKey`.
                prefix.enc_key = session_key;
                if xmlSecEncCtxXmlEncrypt(ctx.0, template.cast(), plaintext.cast()) < 0 {
                    return Err(EncryptError::Xmlsec(detail("encryption failed")));
                }
            }
            take_xmlsec_errors();
            Ok(())
        }
    }

    impl Drop for RecipientKeys {
        fn drop(&mut self) {
            // SAFETY: created in `load`, destroyed once here (with the key it adopted).
            unsafe { bindings::xmlSecKeysMngrDestroy(self.manager) };
        }
    }

    /// Destroys an encryption context (and its session key) when it goes out of scope.
    struct Context(*mut EncCtxPrefix);

    impl Drop for Context {
        fn drop(&mut self) {
            // SAFETY: created by `xmlSecEncCtxCreate`, non-NULL, destroyed once here.
            unsafe { xmlSecEncCtxDestroy(self.0) };
        }
    }

    /// `summary`, with xmlsec's own messages for this thread.
    fn detail(summary: &str) -> String {
        crate::dsig::with_xmlsec_detail(summary.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupting_changes_only_the_content_cipher_value() {
        let engine = base64::engine::general_purpose::STANDARD;
        let key = engine.encode([1u8; 32]);
        let data = engine.encode([2u8; 48]);
        let xml = format!(
            "<x><xenc:EncryptedData><xenc:CipherValue>{key}</xenc:CipherValue>\
             <xenc:CipherValue>{data}</xenc:CipherValue></xenc:EncryptedData></x>"
        );
        let corrupted = corrupt_ciphertext(&xml);
        assert!(corrupted.contains(&key), "the EncryptedKey's value changed");
        assert!(!corrupted.contains(&data), "the content was not corrupted");
        let mut expected = [2u8; 48];
        for byte in &mut expected[16..20] {
            *byte ^= 0x5a;
        }
        assert!(corrupted.contains(&engine.encode(expected)), "{corrupted}");
    }

    #[test]
    fn a_certificate_without_pem_is_refused() {
        assert!(matches!(
            Recipient::from_cert_pem("nonsense"),
            Err(EncryptError::CertificateUnusable(_))
        ));
    }
}
