//! Signing keys: the IdP's own, and an attacker's that an SP must refuse.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_RSA_SHA256};

/// A private key with its self-signed certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningIdentity {
    /// PKCS#8 private key, PEM.
    pub key_pem: String,
    /// X.509 certificate, PEM.
    pub cert_pem: String,
    /// The certificate's DER as one line of base64: the content of `ds:X509Certificate`.
    pub cert_der_base64: String,
}

/// The IdP's key pair and the attacker's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpKeys {
    /// The key the SP trusts (published in metadata).
    pub idp: SigningIdentity,
    /// A key the SP has never seen (`signing_key = attacker`).
    pub attacker: SigningIdentity,
}

/// Why keys could not be loaded or created.
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
    /// Only one of a key/certificate pair exists, so the pair cannot be trusted to match.
    #[error("{present} exists but {missing} does not; delete it or restore the pair")]
    HalfAPair {
        /// The file found.
        present: PathBuf,
        /// The file missing.
        missing: PathBuf,
    },
    /// rcgen failed to generate a key or certificate.
    #[error("cannot generate a {what}: {detail}")]
    Generate {
        /// What was being generated.
        what: &'static str,
        /// rcgen's message.
        detail: String,
    },
}

impl IdpKeys {
    /// Loads `idp.key`/`idp.crt` and `attacker.key`/`attacker.crt` from `state_dir`, creating
    /// (RSA-2048, self-signed) and saving any missing pair, so an SP configured once keeps working
    /// across restarts.
    pub fn load_or_create(state_dir: &Path) -> Result<IdpKeys, KeyError> {
        fs::create_dir_all(state_dir).map_err(|source| KeyError::Io {
            path: state_dir.to_owned(),
            source,
        })?;
        Ok(IdpKeys {
            idp: SigningIdentity::load_or_create(state_dir, "idp", "samlconf mock IdP")?,
            attacker: SigningIdentity::load_or_create(state_dir, "attacker", "samlconf attacker")?,
        })
    }

    /// Fixed, public, test-only keys (committed under `mock-idp/testdata/`) for deterministic mode.
    pub fn fixed_for_tests() -> IdpKeys {
        IdpKeys {
            idp: SigningIdentity::from_pems(
                include_str!("../testdata/idp.key"),
                include_str!("../testdata/idp.crt"),
            ),
            attacker: SigningIdentity::from_pems(
                include_str!("../testdata/attacker.key"),
                include_str!("../testdata/attacker.crt"),
            ),
        }
    }
}

impl SigningIdentity {
    /// Builds an identity from PEM text; the DER base64 is the certificate PEM's body.
    pub fn from_pems(key_pem: &str, cert_pem: &str) -> SigningIdentity {
        SigningIdentity {
            key_pem: key_pem.to_owned(),
            cert_pem: cert_pem.to_owned(),
            cert_der_base64: pem_body(cert_pem).unwrap_or_default(),
        }
    }

    /// A fixed, public, test-only RSA-1024 key (`mock-idp/testdata/weak1024.*`): an IdP whose key
    /// is too short, for the SP's `min_rsa_bits` (`signature.weak_key`). rcgen cannot generate
    /// RSA keys shorter than 2048 bits, so it is committed.
    pub fn weak_rsa1024_for_tests() -> SigningIdentity {
        SigningIdentity::from_pems(
            include_str!("../testdata/weak1024.key"),
            include_str!("../testdata/weak1024.crt"),
        )
    }

    /// Generates a fresh RSA-2048 key and a self-signed certificate whose CN is `common_name`.
    pub fn generate(common_name: &str) -> Result<SigningIdentity, KeyError> {
        let key = KeyPair::generate_for(&PKCS_RSA_SHA256).map_err(|e| KeyError::Generate {
            what: "RSA-2048 key",
            detail: e.to_string(),
        })?;
        let mut params =
            CertificateParams::new(Vec::<String>::new()).map_err(|e| KeyError::Generate {
                what: "certificate",
                detail: e.to_string(),
            })?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, common_name);
        params.distinguished_name = name;
        let cert = params.self_signed(&key).map_err(|e| KeyError::Generate {
            what: "certificate",
            detail: e.to_string(),
        })?;
        Ok(SigningIdentity::from_pems(
            &key.serialize_pem(),
            &cert.pem(),
        ))
    }

    fn load_or_create(
        dir: &Path,
        stem: &str,
        common_name: &str,
    ) -> Result<SigningIdentity, KeyError> {
        let key_path = dir.join(format!("{stem}.key"));
        let cert_path = dir.join(format!("{stem}.crt"));
        match (key_path.exists(), cert_path.exists()) {
            (true, true) => {
                let key_pem = read(&key_path)?;
                let cert_pem = read(&cert_path)?;
                if pem_body(&cert_pem).is_none() {
                    return Err(KeyError::NotACertificatePem { path: cert_path });
                }
                Ok(SigningIdentity::from_pems(&key_pem, &cert_pem))
            }
            (false, false) => {
                let identity = SigningIdentity::generate(common_name)?;
                write(&key_path, &identity.key_pem)?;
                write(&cert_path, &identity.cert_pem)?;
                tracing::info!(key = %key_path.display(), cert = %cert_path.display(), "created signing key");
                Ok(identity)
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
}

fn read(path: &Path) -> Result<String, KeyError> {
    fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })
}

fn write(path: &Path, contents: &str) -> Result<(), KeyError> {
    fs::write(path, contents).map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })
}

/// The base64 body of the first `CERTIFICATE` block, joined onto one line.
pub(crate) fn pem_body(pem: &str) -> Option<String> {
    let start = pem.find("-----BEGIN CERTIFICATE-----")? + "-----BEGIN CERTIFICATE-----".len();
    let end = start + pem[start..].find("-----END CERTIFICATE-----")?;
    let body: String = pem[start..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    (!body.is_empty()).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_keys_have_distinct_certificates() {
        let keys = IdpKeys::fixed_for_tests();
        assert!(keys.idp.cert_der_base64.starts_with("MII"));
        assert_ne!(keys.idp.cert_der_base64, keys.attacker.cert_der_base64);
        let weak = SigningIdentity::weak_rsa1024_for_tests();
        assert!(weak.cert_der_base64.starts_with("MII") && weak.key_pem.contains("PRIVATE KEY"));
    }

    #[test]
    fn load_or_create_reuses_saved_keys() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = IdpKeys::load_or_create(dir.path()).expect("create");
        let second = IdpKeys::load_or_create(dir.path()).expect("load");
        assert_eq!(first, second);
        assert!(first.idp.key_pem.contains("PRIVATE KEY"));
        assert_ne!(first.idp.cert_der_base64, first.attacker.cert_der_base64);
    }

    #[test]
    fn half_a_pair_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        IdpKeys::load_or_create(dir.path()).expect("create");
        fs::remove_file(dir.path().join("attacker.crt")).expect("remove");
        let err = IdpKeys::load_or_create(dir.path()).expect_err("half a pair");
        assert!(err.to_string().contains("attacker.crt does not"), "{err}");
    }
}
