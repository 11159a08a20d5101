//! RSA key pairs kept as PEM files: generation (an RSA-2048 key with a self-signed certificate),
//! loading, and the checks that make a broken pair fail with a message naming the file.
//!
//! OpenSSL generates the keys and signs the certificates (both crates link it already, through
//! xmlsec); rcgen only writes the certificate's DER, with no crypto backend of its own. This keeps
//! a second crypto library (and its C build) out of every fresh build.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use openssl::x509::X509;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_RSA_SHA256, SerialNumber};

/// A private key and its certificate, as PEM text.
#[derive(Clone, PartialEq, Eq)]
pub struct PemPair {
    /// PKCS#8 (or traditional RSA) private key, PEM.
    pub key_pem: String,
    /// X.509 certificate, PEM.
    pub cert_pem: String,
}

impl std::fmt::Debug for PemPair {
    /// Never prints the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PemPair")
            .field("key_pem", &"<redacted>")
            .field("cert_pem", &self.cert_pem)
            .finish()
    }
}

/// Why a key pair could not be loaded, created or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key or certificate file could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A certificate file holds no `CERTIFICATE` PEM block.
    #[error("{path} holds no PEM CERTIFICATE block")]
    NotACertificatePem {
        /// The file.
        path: PathBuf,
    },
    /// Only one of a key/certificate pair exists (or is configured), so the pair cannot be trusted
    /// to match.
    #[error("{present} exists but {missing} does not: a key and its certificate come as a pair")]
    HalfAPair {
        /// The file found (or the option set).
        present: PathBuf,
        /// The file (or option) missing.
        missing: PathBuf,
    },
    /// The key or certificate is not usable PEM, or the key does not match the certificate.
    #[error("unusable key pair: {0}")]
    Unusable(String),
    /// A key or certificate could not be generated.
    #[error("cannot generate {what}: {detail}")]
    Generate {
        /// What was being generated.
        what: &'static str,
        /// The library's message.
        detail: String,
    },
}

/// Generates a fresh RSA-2048 key and a self-signed certificate whose CN is `common_name`.
pub fn generate_rsa_pair(common_name: &str) -> Result<PemPair, KeyError> {
    let generate = |what, detail: String| KeyError::Generate { what, detail };
    let key = Rsa::generate(2048)
        .and_then(PKey::from_rsa)
        .map_err(|e| generate("an RSA-2048 key", e.to_string()))?;
    let key_pem = key
        .private_key_to_pem_pkcs8()
        .ok()
        .and_then(|pem| String::from_utf8(pem).ok())
        .ok_or_else(|| generate("an RSA-2048 key", "PEM encoding failed".into()))?;
    let signer = OpensslSigner::rsa_sha256(key).map_err(|e| generate("a certificate", e))?;
    let serial = serial_number(&signer.public_key);
    let key_pair = KeyPair::from_remote(Box::new(signer))
        .map_err(|e| generate("a certificate", e.to_string()))?;
    let mut params = CertificateParams::new(Vec::<String>::new())
        .map_err(|e| generate("a certificate", e.to_string()))?;
    params.serial_number = Some(serial);
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    params.distinguished_name = name;
    let cert = params
        .self_signed(&key_pair)
        .map_err(|e| generate("a certificate", e.to_string()))?;
    Ok(PemPair {
        key_pem,
        cert_pem: cert.pem(),
    })
}

/// The serial rcgen derives itself when it has a crypto backend: the first 20 bytes (RFC 5280's
/// limit) of the public key's SHA-256, positive. Unique per key, as a self-signed certificate needs.
fn serial_number(public_key: &[u8]) -> SerialNumber {
    let mut serial = openssl::sha::sha256(public_key)[..20].to_vec();
    serial[0] &= 0x7f;
    SerialNumber::from_slice(&serial)
}

/// Reads `key_file`/`cert_file` in `dir`, or generates (RSA-2048, self-signed, CN `common_name`)
/// and writes both when neither exists, so that a peer configured once keeps trusting the same
/// key across restarts. Half a pair is an error: a lone key or certificate may not match a new one.
pub fn load_or_create_pair(
    dir: &Path,
    key_file: &str,
    cert_file: &str,
    common_name: &str,
) -> Result<PemPair, KeyError> {
    fs::create_dir_all(dir).map_err(|source| KeyError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let key_path = dir.join(key_file);
    let cert_path = dir.join(cert_file);
    match (key_path.exists(), cert_path.exists()) {
        (true, true) => {
            let pair = PemPair {
                key_pem: read(&key_path)?,
                cert_pem: read(&cert_path)?,
            };
            if cert_der_base64(&pair.cert_pem).is_none() {
                return Err(KeyError::NotACertificatePem { path: cert_path });
            }
            Ok(pair)
        }
        (false, false) => {
            let pair = generate_rsa_pair(common_name)?;
            write(&key_path, &pair.key_pem, Secrecy::Private)?;
            write(&cert_path, &pair.cert_pem, Secrecy::Public)?;
            tracing::info!(key = %key_path.display(), cert = %cert_path.display(), "created a key pair");
            Ok(pair)
        }
        (true, false) => Err(KeyError::HalfAPair {
            present: key_path,
            missing: cert_path,
        }),
        (false, true) => Err(KeyError::HalfAPair {
            present: cert_path,
            missing: key_path,
        }),
    }
}

/// The text of a PEM file; the error names the file.
pub fn read(path: &Path) -> Result<String, KeyError> {
    fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Whether a file may be readable by others.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Secrecy {
    Private,
    Public,
}

fn write(path: &Path, contents: &str, secrecy: Secrecy) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secrecy == Secrecy::Private {
        // Created owner-only, so the key is never readable by others, not even for a moment.
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secrecy;
    options
        .open(path)
        .and_then(|mut file| file.write_all(contents.as_bytes()))
        .map_err(io)
}

/// The DER of the first `CERTIFICATE` block of `cert_pem`, as one line of base64 (the content of
/// `ds:X509Certificate` and of metadata's `KeyDescriptor`); `None` when it holds no certificate.
pub fn cert_der_base64(cert_pem: &str) -> Option<String> {
    let der = X509::from_pem(cert_pem.as_bytes()).ok()?.to_der().ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(der))
}

/// The RSA private key of `key_pem` (PKCS#8 or traditional).
pub fn rsa_private_key(key_pem: &str) -> Result<PKey<Private>, KeyError> {
    let key = PKey::private_key_from_pem(key_pem.as_bytes())
        .map_err(|e| KeyError::Unusable(format!("the private key is not PEM: {e}")))?;
    if key.rsa().is_err() {
        return Err(KeyError::Unusable(
            "the private key is not an RSA key".into(),
        ));
    }
    Ok(key)
}

/// Checks that `key_pem` is an RSA private key whose public half is `cert_pem`'s.
pub fn check_pair(key_pem: &str, cert_pem: &str) -> Result<(), KeyError> {
    let key = rsa_private_key(key_pem)?;
    let cert = X509::from_pem(cert_pem.as_bytes())
        .map_err(|e| KeyError::Unusable(format!("the certificate is not PEM X.509: {e}")))?;
    let public = cert
        .public_key()
        .map_err(|e| KeyError::Unusable(format!("the certificate has no public key: {e}")))?;
    if !public.public_eq(&key) {
        return Err(KeyError::Unusable(
            "the private key does not belong to the certificate".into(),
        ));
    }
    Ok(())
}

/// The certificate signer rcgen calls back (its `RemoteKeyPair`), computed by OpenSSL with
/// SHA-256: RSA PKCS#1 v1.5 for the IdP's and SP's keys, ECDSA P-256 for the run's TLS CA
/// ([`crate::tls`]).
#[derive(Clone)]
pub(crate) struct OpensslSigner {
    key: PKey<Private>,
    /// The "raw" public key rcgen wraps in SubjectPublicKeyInfo: PKCS#1 `RSAPublicKey` DER for
    /// RSA, the uncompressed point for ECDSA.
    pub(crate) public_key: Vec<u8>,
    algorithm: &'static rcgen::SignatureAlgorithm,
}

impl OpensslSigner {
    fn rsa_sha256(key: PKey<Private>) -> Result<Self, String> {
        let public_key = key
            .rsa()
            .and_then(|rsa| rsa.public_key_to_der_pkcs1())
            .map_err(|e| e.to_string())?;
        Ok(Self {
            key,
            public_key,
            algorithm: &PKCS_RSA_SHA256,
        })
    }

    /// `key` is a P-256 key whose uncompressed point is `public_key`.
    pub(crate) fn ecdsa_p256_sha256(key: PKey<Private>, public_key: Vec<u8>) -> Self {
        Self {
            key,
            public_key,
            algorithm: &rcgen::PKCS_ECDSA_P256_SHA256,
        }
    }
}

impl rcgen::RemoteKeyPair for OpensslSigner {
    fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let mut signer = Signer::new(MessageDigest::sha256(), &self.key)
            .map_err(|_| rcgen::Error::RemoteKeyError)?;
        signer
            .update(msg)
            .and_then(|()| signer.sign_to_vec())
            .map_err(|_| rcgen::Error::RemoteKeyError)
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.algorithm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_pair_matches_and_its_certificate_names_the_subject() {
        let pair = generate_rsa_pair("plumbing test").expect("generate");
        check_pair(&pair.key_pem, &pair.cert_pem).expect("matching pair");
        assert!(pair.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let cert = X509::from_pem(pair.cert_pem.as_bytes()).expect("X.509");
        // Self-signed: its own public key verifies it.
        assert!(cert.verify(&cert.public_key().unwrap()).unwrap());
        assert_eq!(cert.public_key().unwrap().bits(), 2048);
        let cn = cert.subject_name().entries().next().unwrap();
        assert_eq!(cn.data().as_slice(), b"plumbing test");
        assert!(!format!("{pair:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn load_or_create_keeps_the_pair_and_refuses_half_a_pair() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_pair(dir.path(), "a.key", "a.crt", "a").expect("create");
        let second = load_or_create_pair(dir.path(), "a.key", "a.crt", "a").expect("load");
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("a.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the private key is owner-only");
        }
        fs::remove_file(dir.path().join("a.crt")).unwrap();
        let err = load_or_create_pair(dir.path(), "a.key", "a.crt", "a").expect_err("half a pair");
        assert!(err.to_string().contains("a.crt does not"), "{err}");
        fs::write(dir.path().join("a.crt"), "not a certificate").unwrap();
        let err = load_or_create_pair(dir.path(), "a.key", "a.crt", "a").expect_err("no PEM");
        assert!(err.to_string().contains("a.crt holds no PEM"), "{err}");
    }

    #[test]
    fn a_key_that_is_not_the_certificates_is_refused() {
        let a = generate_rsa_pair("a").unwrap();
        let b = generate_rsa_pair("b").unwrap();
        let err = check_pair(&a.key_pem, &b.cert_pem).expect_err("mismatch");
        assert!(err.to_string().contains("does not belong"), "{err}");
        assert!(rsa_private_key("junk").is_err());
    }

    #[test]
    fn cert_der_base64_is_the_pem_body_on_one_line() {
        let pair = generate_rsa_pair("b64").unwrap();
        let body: String = pair
            .cert_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert_eq!(cert_der_base64(&pair.cert_pem), Some(body));
        assert_eq!(
            cert_der_base64("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----"),
            None
        );
    }
}
