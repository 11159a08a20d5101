//! Raw libxml2 ID tables and libxmlsec1 signature verification, on the document parsed once by
//! [`super::parse_document`]. With [`super::decrypt`], one of the two modules of the SP with
//! `unsafe`.
//!
//! # Invariants (why each `unsafe` block is sound)
//!
//! 1. **Live document.** Every function takes `&Document` (the `libxml` crate's owner, which frees
//!    the `xmlDoc` on drop) and `RoNode`s obtained from that same document during this call. The
//!    document is never mutated after [`register_id`]: nodes are not freed or moved, so every
//!    `xmlNodePtr`/`xmlAttrPtr` we hold stays valid for the borrow of `&Document`. `Document` is
//!    `!Send`, so no other thread touches it.
//! 2. **Pointer types.** `libxml::bindings` and `xmlsec::bindings` are two bindgen runs over the
//!    same libxml2 headers; `xmlDoc`/`xmlNode` have one C layout, so casting between the two
//!    pointer types is a no-op.
//! 3. **NUL-terminated strings.** Strings passed to C are `CString`s that outlive the call; a
//!    string containing NUL is refused before it reaches C. Strings read from C (`uri`) are
//!    checked non-null and copied (`to_string_lossy`) before the owning context is destroyed.
//! 4. **Ownership.** [`DsigCtx`] owns its `xmlSecDSigCtx` and destroys it exactly once on drop.
//!    A key handed to `ctx.signKey` is given up by its [`KeyInstance`] wrapper first, because
//!    `xmlSecDSigCtxDestroy` destroys `signKey` (no double free). The reference list
//!    (`signedInfoReferences`) belongs to the context and is only read while it is alive.
//! 5. **Pinned key.** The context is created without a keys manager and `signKey` is set before
//!    verifying, so xmlsec never reads a key from the message's `KeyInfo`.
//! 6. **Restricted processing.** Only same-document references are enabled, manifests are
//!    ignored, and the allowed transforms are explicit lists: anything else makes xmlsec fail.
//! 7. **Global state.** xmlsec is initialised by the `xmlsec` crate (once, under its mutex) inside
//!    `XmlSecKey::from_memory`, which runs before any context is created. Turning off xmlsec's
//!    stderr error output is an idempotent store of a C global, done under a `Once`; libxml2's
//!    structured error handler is thread-local and is set on each verifying thread.
//! 8. **Shared keys.** A [`SharedKey`] is an `xmlSecKey` loaded once from a PEM and never
//!    changed afterwards; it is destroyed once, on drop, when no cache entry or caller holds it.
//!    Threads only read it: [`SharedKey::instance`] makes a new key whose value is
//!    `xmlSecKeyDataDuplicate` of the shared one's, which for OpenSSL keys takes another
//!    reference to the same immutable `EVP_PKEY` (an atomic count; OpenSSL allows concurrent use
//!    of one `EVP_PKEY` by many operations). Each context owns and destroys its instance.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::{CStr, CString, c_int};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, Once};

use libxml::readonly::RoNode;
use libxml::tree::Document;
use xmlsec::bindings as xs;
use xmlsec::{XmlSecKey, XmlSecKeyFormat};

unsafe extern "C" {
    /// libxmlsec1 (errors.h): enable/disable the default callback's output to stderr.
    fn xmlSecErrorsDefaultCallbackEnableOutput(enabled: c_int);
}

/// The identity of a node (its address), to prove "the element xmlsec verified is the element we
/// read" by pointer equality rather than by looking alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeIdentity(usize);

impl NodeIdentity {
    /// The identity of `node`.
    pub fn of(node: RoNode) -> Self {
        NodeIdentity(node.node_ptr() as usize)
    }
}

/// The bytes of the C string at `ptr` (without its NUL), or `None` for NULL: compared in place,
/// since the verifier asks for names and namespaces many times per element.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string that outlives `'a`.
unsafe fn c_bytes<'a>(ptr: *const u8) -> Option<&'a [u8]> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: the caller's contract.
    Some(unsafe { CStr::from_ptr(ptr.cast()) }.to_bytes())
}

/// The C string at `ptr` as text (libxml2 holds UTF-8; the verifier refused other input), or
/// `None` for NULL. Borrowed unless it is not UTF-8 (then lossily copied).
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string that outlives `'a`.
unsafe fn c_text<'a>(ptr: *const u8) -> Option<std::borrow::Cow<'a, str>> {
    // SAFETY: the caller's contract.
    let bytes = unsafe { c_bytes(ptr) }?;
    Some(match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    })
}

/// Whether `node` is an element whose local name is `local` in namespace `ns`, read in place:
/// the verifier asks this of every element several times, and the `libxml` crate's accessors
/// copy the name and the namespace into new objects each time.
pub fn element_is(node: RoNode, ns: &str, local: &str) -> bool {
    let ptr = node.node_ptr();
    if ptr.is_null() {
        return false;
    }
    // SAFETY: invariant 1 — `ptr` is a live node of a live document; its `name` and its `ns`
    // (NULL or a live namespace whose `href` is NULL or a string) live as long as the tree.
    unsafe {
        (*ptr).type_ == libxml::bindings::xmlElementType_XML_ELEMENT_NODE
            && c_bytes((*ptr).name).is_some_and(|n| n == local.as_bytes())
            && !(*ptr).ns.is_null()
            && c_bytes((*(*ptr).ns).href).is_some_and(|h| h == ns.as_bytes())
    }
}

/// `f` applied to the name of `node` as libxml2 holds it (the local part, or `prefix:name` when the
/// prefix is unbound; empty for a node without a name), read in place.
pub fn with_name<T>(node: RoNode, f: impl FnOnce(&str) -> T) -> T {
    let ptr = node.node_ptr();
    if ptr.is_null() {
        return f("");
    }
    // SAFETY: invariant 1 — `name` of a live node is NULL or a string living as long as the tree.
    let name = unsafe { c_text((*ptr).name) }.unwrap_or_default();
    f(&name)
}

/// The first `Some` that `f` returns for an attribute of element `el`, given the attribute's
/// name (as libxml2 keeps it: the local part, or `prefix:name` when the prefix is unbound) and
/// its namespace URI, read in place in document order.
pub fn find_attribute<T>(
    el: RoNode,
    mut f: impl FnMut(&str, Option<&str>) -> Option<T>,
) -> Option<T> {
    let ptr = el.node_ptr();
    if ptr.is_null() || !el.is_element_node() {
        return None;
    }
    // SAFETY: invariant 1 — an element's `properties` is a NULL-terminated list of live
    // attributes of the live document; their names and namespaces live as long as the tree.
    unsafe {
        let mut attr = (*ptr).properties;
        while !attr.is_null() {
            let name = c_text((*attr).name).unwrap_or_default();
            let ns = if (*attr).ns.is_null() {
                None
            } else {
                c_text((*(*attr).ns).href)
            };
            if let Some(found) = f(&name, ns.as_deref()) {
                return Some(found);
            }
            attr = (*attr).next;
        }
    }
    None
}

/// Whether the parsed document has an internal or external DTD subset (a DOCTYPE).
pub fn has_dtd(doc: &Document) -> bool {
    let doc_ptr = doc.doc_ptr();
    if doc_ptr.is_null() {
        return false;
    }
    // SAFETY: invariant 1 — `doc_ptr` is the live, non-null xmlDoc owned by `doc`.
    unsafe { !(*doc_ptr).intSubset.is_null() || !(*doc_ptr).extSubset.is_null() }
}

/// Outcome of declaring an attribute as an ID.
#[derive(Debug, PartialEq, Eq)]
pub enum IdRegistration {
    /// Declared (or it was already this very attribute).
    Registered,
    /// Another attribute (an `ID` or an `xml:id`) already holds this value.
    Duplicate,
    /// The value cannot be an ID (contains NUL).
    Invalid,
}

/// Declares the `ID` attribute node `attr` (from `RoNode::get_property_node_no_ns("ID")`) as an
/// XML ID of the document, so that `#value` references resolve to its element.
pub fn register_id(doc: &Document, attr: RoNode, value: &str) -> IdRegistration {
    let Ok(c_value) = CString::new(value) else {
        return IdRegistration::Invalid;
    };
    let doc_ptr = doc.doc_ptr();
    let attr_ptr = attr.node_ptr() as libxml::bindings::xmlAttrPtr;
    // SAFETY: invariants 1 and 3 — live document, attribute node of that document (the caller got
    // it from `get_property_node_no_ns`, which returns an `xmlAttr` cast to a node pointer),
    // NUL-terminated value outliving the calls. `xmlAddID` with a NULL validation context only
    // inserts into the document's ID hash table; it returns NULL on a duplicate.
    unsafe {
        let existing = libxml::bindings::xmlGetID(doc_ptr, c_value.as_ptr() as *const u8);
        if !existing.is_null() {
            return if existing == attr_ptr {
                IdRegistration::Registered
            } else {
                IdRegistration::Duplicate
            };
        }
        let added = libxml::bindings::xmlAddID(
            std::ptr::null_mut(),
            doc_ptr,
            c_value.as_ptr() as *const u8,
            attr_ptr,
        );
        if added.is_null() {
            IdRegistration::Duplicate
        } else {
            IdRegistration::Registered
        }
    }
}

/// The element that owns ID `id` in the document's ID table (what xmlsec resolves `#id` to).
pub fn id_owner(doc: &Document, id: &str) -> Option<NodeIdentity> {
    let c_id = CString::new(id).ok()?;
    // SAFETY: invariants 1 and 3. `xmlGetID` returns NULL or an attribute of the live document,
    // whose `parent` is its element (or NULL).
    unsafe {
        let attr = libxml::bindings::xmlGetID(doc.doc_ptr(), c_id.as_ptr() as *const u8);
        if attr.is_null() || (*attr).parent.is_null() {
            return None;
        }
        Some(NodeIdentity((*attr).parent as usize))
    }
}

/// Which algorithms xmlsec may run, beyond the fixed exc-c14n and enveloped-signature.
#[derive(Debug, Clone, Copy)]
pub struct Allowed {
    /// Also enable RSA-SHA1 and SHA-1 digests.
    pub sha1: bool,
}

/// Why [`verify`] did not succeed.
#[derive(Debug, PartialEq, Eq)]
pub enum DsigFailure {
    /// The signature does not verify (message says whether the digest or the signature value).
    Invalid(String),
    /// The verified reference is not the expected element.
    ReferenceMismatch(String),
}

/// A verified signature.
#[derive(Debug)]
pub struct Verified {
    /// Index (in `certs_pem`) of the certificate whose key verified.
    pub cert_index: usize,
}

/// Owns one `xmlSecDSigCtx` (invariant 4).
struct DsigCtx(NonNull<xs::xmlSecDSigCtx>);

impl DsigCtx {
    fn new() -> Option<Self> {
        // SAFETY: invariant 7 — xmlsec was initialised when the key was loaded. A NULL keys
        // manager means KeyInfo is never used to find a key (invariant 5).
        let raw = unsafe { xs::xmlSecDSigCtxCreate(std::ptr::null_mut()) };
        NonNull::new(raw).map(DsigCtx)
    }

    fn ptr(&self) -> *mut xs::xmlSecDSigCtx {
        self.0.as_ptr()
    }
}

impl Drop for DsigCtx {
    fn drop(&mut self) {
        // SAFETY: invariant 4 — created by xmlSecDSigCtxCreate, destroyed once here.
        unsafe { xs::xmlSecDSigCtxDestroy(self.ptr()) }
    }
}

pub(crate) fn quiet_xmlsec() {
    static QUIET: Once = Once::new();
    // SAFETY: invariant 7 — sets a C global flag; no other effect.
    QUIET.call_once(|| unsafe { xmlSecErrorsDefaultCallbackEnableOutput(0) });
}

unsafe extern "C" fn discard_structured_error(
    _ctx: *mut std::ffi::c_void,
    _error: libxml::bindings::xmlErrorPtr,
) {
}

/// libxml2 reports errors met while canonicalising or decrypting hostile input (e.g. "Relative
/// namespace URI is invalid here") on stderr unless told otherwise: an attacker could write to
/// the server's log that way. The verdict and its reason code already say what went wrong, so the
/// reports are dropped. The handler is per thread in libxml2, so every verifying thread installs it.
pub(crate) fn quiet_libxml_on_this_thread() {
    // SAFETY: invariant 7 — installs a handler that ignores its arguments; it only changes where
    // this thread's libxml2 error reports go.
    unsafe {
        libxml::bindings::xmlSetStructuredErrorFunc(
            std::ptr::null_mut(),
            Some(discard_structured_error),
        )
    };
}

type KlassFn = unsafe extern "C" fn() -> xs::xmlSecTransformId;

fn signature_transforms(allowed: Allowed) -> Vec<KlassFn> {
    let mut v: Vec<KlassFn> = vec![
        xs::xmlSecTransformExclC14NGetKlass,
        xs::xmlSecOpenSSLTransformRsaSha256GetKlass,
        xs::xmlSecOpenSSLTransformRsaSha384GetKlass,
        xs::xmlSecOpenSSLTransformRsaSha512GetKlass,
    ];
    if allowed.sha1 {
        v.push(xs::xmlSecOpenSSLTransformRsaSha1GetKlass);
    }
    v
}

fn reference_transforms(allowed: Allowed) -> Vec<KlassFn> {
    let mut v: Vec<KlassFn> = vec![
        xs::xmlSecTransformEnvelopedGetKlass,
        xs::xmlSecTransformExclC14NGetKlass,
        xs::xmlSecOpenSSLTransformSha256GetKlass,
        xs::xmlSecOpenSSLTransformSha384GetKlass,
        xs::xmlSecOpenSSLTransformSha512GetKlass,
    ];
    if allowed.sha1 {
        v.push(xs::xmlSecOpenSSLTransformSha1GetKlass);
    }
    v
}

/// Result of one verification attempt with one key.
enum Attempt {
    Ok(String),
    DigestMismatch,
    SignatureValueMismatch,
    Error(String),
}

/// Verifies the `ds:Signature` element `signature` with each of the pinned certificates in turn,
/// then proves that its single verified reference resolves (through the document's ID table) to
/// `expected_target`, the element the caller will read claims from.
pub fn verify(
    doc: &Document,
    signature: RoNode,
    expected_target: RoNode,
    expected_uri: &str,
    certs_pem: &[String],
    allowed: Allowed,
) -> Result<Verified, DsigFailure> {
    quiet_xmlsec();
    quiet_libxml_on_this_thread();
    if certs_pem.is_empty() {
        return Err(DsigFailure::Invalid(
            "no IdP certificate is configured".into(),
        ));
    }
    let mut notes = Vec::new();
    for (index, pem) in certs_pem.iter().enumerate() {
        let key = match shared_key(pem, KeyKind::Certificate).and_then(|k| k.instance()) {
            Ok(k) => k,
            Err(e) => {
                notes.push(format!("certificate #{index} could not be loaded ({e})"));
                continue;
            }
        };
        match attempt(signature, key, allowed) {
            Attempt::Ok(uri) => {
                if uri != expected_uri {
                    return Err(DsigFailure::ReferenceMismatch(format!(
                        "verified reference URI is {uri:?}, expected {expected_uri:?}"
                    )));
                }
                let id = uri.strip_prefix('#').unwrap_or(&uri);
                return match id_owner(doc, id) {
                    Some(owner) if owner == NodeIdentity::of(expected_target) => {
                        Ok(Verified { cert_index: index })
                    }
                    _ => Err(DsigFailure::ReferenceMismatch(format!(
                        "verified reference {uri:?} does not resolve to the element that carries the signature"
                    ))),
                };
            }
            Attempt::DigestMismatch => {
                return Err(DsigFailure::Invalid(
                    "the digest of the signed element does not match: its content was changed after signing"
                        .into(),
                ));
            }
            Attempt::SignatureValueMismatch => {
                notes.push(format!(
                    "certificate #{index}: signature value does not verify"
                ));
            }
            Attempt::Error(e) => notes.push(format!("certificate #{index}: {e}")),
        }
    }
    Err(DsigFailure::Invalid(format!(
        "signature verifies with none of the {} configured IdP certificate(s): {}",
        certs_pem.len(),
        notes.join("; ")
    )))
}

fn attempt(signature: RoNode, key: KeyInstance, allowed: Allowed) -> Attempt {
    let Some(ctx) = DsigCtx::new() else {
        return Attempt::Error("xmlsec context allocation failed".into());
    };
    let c = ctx.ptr();
    // SAFETY: invariants 1, 2, 4, 5, 6, 8 — `c` is a live context we own; the klass getters
    // return static descriptors; `signature` is an element of the live document; the key instance
    // is handed over to the context, which destroys it; the reference list is read before `ctx`
    // drops.
    unsafe {
        // `#id` is resolved by a direct lookup in the document's ID table (the "Visa3D" flag)
        // rather than by evaluating `xpointer(id('id'))`, which builds an XPath context per
        // reference. Same table, same node set (the element's subtree without comments), and
        // `checks::inspect_signature` has already required the URI to be `#` + a plain ID.
        (*c).flags = xs::XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS | xs::XMLSEC_DSIG_FLAGS_USE_VISA3D_HACK;
        (*c).enabledReferenceUris =
            xs::xmlSecTransformUriTypeSameDocument as xs::xmlSecTransformUriType;
        for klass in signature_transforms(allowed) {
            if xs::xmlSecDSigCtxEnableSignatureTransform(c, klass()) < 0 {
                return Attempt::Error("xmlsec refused to enable a signature transform".into());
            }
        }
        for klass in reference_transforms(allowed) {
            if xs::xmlSecDSigCtxEnableReferenceTransform(c, klass()) < 0 {
                return Attempt::Error("xmlsec refused to enable a reference transform".into());
            }
        }
        (*c).signKey = key.into_raw();

        let rc = xs::xmlSecDSigCtxVerify(c, signature.node_ptr() as xs::xmlNodePtr);
        let refs = &raw mut (*c).signedInfoReferences;
        let n = xs::xmlSecPtrListGetSize(refs);
        let mut uris = Vec::new();
        let mut digest_failed = false;
        let mut all_succeeded = true;
        for i in 0..n {
            let r = xs::xmlSecPtrListGetItem(refs, i) as *mut xs::xmlSecDSigReferenceCtx;
            if r.is_null() {
                continue;
            }
            if (*r).status == xs::xmlSecDSigStatus_xmlSecDSigStatusInvalid {
                digest_failed = true;
            }
            if (*r).status != xs::xmlSecDSigStatus_xmlSecDSigStatusSucceeded {
                all_succeeded = false;
            }
            let uri = (*r).uri;
            uris.push(if uri.is_null() {
                String::new()
            } else {
                CStr::from_ptr(uri as *const std::ffi::c_char)
                    .to_string_lossy()
                    .into_owned()
            });
        }
        if rc < 0 {
            return Attempt::Error(
                "xmlsec could not process the signature (disallowed algorithm or transform, key type mismatch, or malformed Signature)"
                    .into(),
            );
        }
        match (*c).status {
            xs::xmlSecDSigStatus_xmlSecDSigStatusSucceeded => {
                if uris.len() != 1 || !all_succeeded {
                    return Attempt::Error(format!(
                        "expected exactly one verified reference, xmlsec reports {}",
                        uris.len()
                    ));
                }
                Attempt::Ok(uris.swap_remove(0))
            }
            _ if digest_failed => Attempt::DigestMismatch,
            _ => Attempt::SignatureValueMismatch,
        }
    }
}

/// Checks that each PEM certificate loads as a verification key (for configuration validation).
pub fn check_certificates(certs_pem: &[String]) -> Result<(), String> {
    for (i, pem) in certs_pem.iter().enumerate() {
        shared_key(pem, KeyKind::Certificate)
            .map_err(|e| format!("IdP certificate #{i} is not a usable PEM certificate: {e}"))?;
    }
    Ok(())
}

/// What a PEM given to [`shared_key`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// A certificate: its public key verifies.
    Certificate,
    /// A private key (PKCS#8 or traditional): it decrypts.
    PrivateKey,
}

/// An `xmlSecKey` loaded once and shared by every verification on every thread (invariant 8).
pub(crate) struct SharedKey(NonNull<xs::xmlSecKey>);

// SAFETY: invariant 8 — after loading, the key is only read (by `instance`, which takes another
// reference to its immutable OpenSSL key), and destroyed once by the last owner.
unsafe impl Send for SharedKey {}
// SAFETY: as for `Send`: concurrent `instance` calls only read the key.
unsafe impl Sync for SharedKey {}

impl SharedKey {
    fn load(pem: &str, kind: KeyKind) -> Result<SharedKey, String> {
        let format = match kind {
            KeyKind::Certificate => XmlSecKeyFormat::CertPem,
            KeyKind::PrivateKey => XmlSecKeyFormat::Pem,
        };
        let key =
            XmlSecKey::from_memory(pem.as_bytes(), format, None).map_err(|e| e.to_string())?;
        // SAFETY: invariant 8 — the wrapper gives up the key; `SharedKey` destroys it once.
        NonNull::new(unsafe { XmlSecKey::leak(key) })
            .map(SharedKey)
            .ok_or_else(|| "xmlsec returned no key".to_owned())
    }

    /// A new key with this one's value, for one xmlsec context to own.
    pub(crate) fn instance(&self) -> Result<KeyInstance, String> {
        // SAFETY: invariant 8 — `self.0` is a live key only read here; the new key and the
        // duplicated value are ours until handed over, and destroyed here on failure.
        unsafe {
            let value = xs::xmlSecKeyGetValue(self.0.as_ptr());
            if value.is_null() {
                return Err("the loaded key has no value".into());
            }
            let key = NonNull::new(xs::xmlSecKeyCreate()).ok_or("xmlsec key allocation failed")?;
            let copy = xs::xmlSecKeyDataDuplicate(value);
            if copy.is_null() {
                xs::xmlSecKeyDestroy(key.as_ptr());
                return Err("xmlsec could not copy the key".into());
            }
            if xs::xmlSecKeySetValue(key.as_ptr(), copy) < 0 {
                xs::xmlSecKeyDataDestroy(copy);
                xs::xmlSecKeyDestroy(key.as_ptr());
                return Err("xmlsec could not set the key's value".into());
            }
            Ok(KeyInstance(key))
        }
    }
}

impl Drop for SharedKey {
    fn drop(&mut self) {
        // SAFETY: invariant 8 — loaded by `load`, destroyed once here.
        unsafe { xs::xmlSecKeyDestroy(self.0.as_ptr()) }
    }
}

/// A key made by [`SharedKey::instance`], owned until [`KeyInstance::into_raw`] hands it to a
/// context (which destroys it), or destroyed on drop.
pub(crate) struct KeyInstance(NonNull<xs::xmlSecKey>);

impl KeyInstance {
    /// Gives up ownership: the caller must hand the key to an xmlsec context that destroys it.
    pub(crate) fn into_raw(self) -> *mut xs::xmlSecKey {
        let raw = self.0.as_ptr();
        std::mem::forget(self);
        raw
    }
}

impl Drop for KeyInstance {
    fn drop(&mut self) {
        // SAFETY: invariant 4 — never handed to a context (`into_raw` forgets `self`).
        unsafe { xs::xmlSecKeyDestroy(self.0.as_ptr()) }
    }
}

/// At most this many keys are kept; the cache starts afresh when full. The PEMs come from the
/// configuration (pinned certificates, the SP's own keys), never from a message, so a handful
/// is the working set; the bound only keeps a process that loads many configurations (the
/// test catalogue) from growing.
const MAX_SHARED_KEYS: usize = 64;

/// The key xmlsec loads from `pem`, loaded once per process (then shared, invariant 8). Parsing
/// a certificate costs several RSA verifications with OpenSSL 3; it used to be done on every
/// verification.
pub(crate) fn shared_key(pem: &str, kind: KeyKind) -> Result<Arc<SharedKey>, String> {
    type Cache = BTreeMap<(bool, String), Arc<SharedKey>>;
    static CACHE: Mutex<Cache> = Mutex::new(BTreeMap::new());
    let key = (kind == KeyKind::Certificate, pem.to_owned());
    if let Some(found) = CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&key)
    {
        return Ok(found.clone());
    }
    // Loaded outside the lock: two threads may both load one key once; the second insert wins.
    let loaded = Arc::new(SharedKey::load(pem, kind)?);
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if cache.len() >= MAX_SHARED_KEYS {
        cache.clear();
    }
    cache.insert(key, loaded.clone());
    Ok(loaded)
}
