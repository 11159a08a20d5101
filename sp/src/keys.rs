//! The SP's own keys. The signing key signs the LogoutRequests and LogoutResponses the SP sends
//! over the HTTP-Redirect binding, and its certificate is published in the SP metadata
//! (`KeyDescriptor use="signing"`) so that an IdP can verify them. The encryption key
//! ([`SpEncryptionKeys`], a separate RSA-2048 pair) decrypts the assertions an IdP encrypts to the
//! SP; its certificate is the metadata's `KeyDescriptor use="encryption"`.
//!
//! Where the key comes from: `[sp] signing_key_file` / `signing_certificate_file` when configured
//! ([`SpKeys::from_files`]); otherwise `samlconf serve` keeps a generated pair under
//! `<state-dir>/sp/` ([`SpKeys::load_or_create`]), and tests use the committed, public pair of
//! `sp/testdata/` ([`SpKeys::fixed_for_tests`]). The encryption pair is always kept in the state
//! directory (`sp-enc.key` / `sp-enc.crt`), beside the signing pair; tests use the public pair of
//! `sp/testdata/sp-enc.*`. Generating, reading and checking the PEM files is `plumbing::keys`.

use std::path::{Path, PathBuf};

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
/// Why the SP's keys could not be loaded, created or used (the key-file plumbing's error).
pub use plumbing::keys::KeyError;
use plumbing::keys::{
    PemPair, cert_der_base64, check_pair, generate_rsa_pair, load_or_create_pair, read,
    rsa_private_key,
};

/// The SP's signing key pair, as PEM text.
#[derive(Clone, PartialEq, Eq)]
pub struct SpKeys {
    /// PKCS#8 (or traditional RSA) private key, PEM.
    pub key_pem: String,
    /// Self-signed X.509 certificate, PEM.
    pub cert_pem: String,
    /// The encryption pair, when the SP has one (published in the metadata, used to decrypt).
    pub encryption: Option<SpEncryptionKeys>,
}

impl std::fmt::Debug for SpKeys {
    /// Never prints the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpKeys")
            .field("key_pem", &"<redacted>")
            .field("cert_pem", &self.cert_pem)
            .field("encryption", &self.encryption)
            .finish()
    }
}

/// The SP's encryption key pair (RSA), as PEM text: IdPs encrypt the assertion's session key to
/// the certificate, the SP unwraps it with the key. Kept apart from the signing pair, as
/// deployments rotate them separately.
#[derive(Clone, PartialEq, Eq)]
pub struct SpEncryptionKeys {
    /// PKCS#8 (or traditional RSA) private key, PEM.
    pub key_pem: String,
    /// Self-signed X.509 certificate, PEM.
    pub cert_pem: String,
}

impl std::fmt::Debug for SpEncryptionKeys {
    /// Never prints the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpEncryptionKeys")
            .field("key_pem", &"<redacted>")
            .field("cert_pem", &self.cert_pem)
            .finish()
    }
}

impl SpEncryptionKeys {
    /// Builds and checks a pair from PEM text (an RSA key and its certificate).
    pub fn from_pems(key_pem: &str, cert_pem: &str) -> Result<SpEncryptionKeys, KeyError> {
        check_pair(key_pem, cert_pem)?;
        Ok(SpEncryptionKeys {
            key_pem: key_pem.to_owned(),
            cert_pem: cert_pem.to_owned(),
        })
    }

    /// Loads `sp-enc.key`/`sp-enc.crt` from `dir`, or creates them (RSA-2048, self-signed) when
    /// neither exists: an IdP configured with the SP's metadata keeps encrypting to the same key.
    pub fn load_or_create(dir: &Path) -> Result<SpEncryptionKeys, KeyError> {
        let pair = load_or_create_pair(
            dir,
            ENC_KEY_FILE,
            ENC_CERT_FILE,
            "samlconf reference SP encryption",
        )?;
        SpEncryptionKeys::from_pems(&pair.key_pem, &pair.cert_pem)
    }

    /// The fixed, public, test-only pair committed under `sp/testdata/` (`sp-enc.*`, see its
    /// README); the harness gives its certificate to the mock IdPs it starts.
    pub fn fixed_for_tests() -> SpEncryptionKeys {
        SpEncryptionKeys {
            key_pem: include_str!("../testdata/sp-enc.key").to_owned(),
            cert_pem: include_str!("../testdata/sp-enc.crt").to_owned(),
        }
    }

    /// The certificate's DER as one line of base64: the content of `ds:X509Certificate`.
    pub fn cert_der_base64(&self) -> String {
        cert_der_base64(&self.cert_pem).unwrap_or_default()
    }
}

const KEY_FILE: &str = "sp.key";
const CERT_FILE: &str = "sp.crt";
const ENC_KEY_FILE: &str = "sp-enc.key";
const ENC_CERT_FILE: &str = "sp-enc.crt";

impl SpKeys {
    /// Builds and checks a pair from PEM text: an RSA private key, a certificate, and the
    /// certificate's public key is the private key's.
    pub fn from_pems(key_pem: &str, cert_pem: &str) -> Result<SpKeys, KeyError> {
        check_pair(key_pem, cert_pem)?;
        Ok(SpKeys {
            key_pem: key_pem.to_owned(),
            cert_pem: cert_pem.to_owned(),
            encryption: None,
        })
    }

    /// The same signing pair with `encryption` as the encryption pair.
    pub fn with_encryption(mut self, encryption: SpEncryptionKeys) -> SpKeys {
        self.encryption = Some(encryption);
        self
    }

    /// Loads the pair from the two configured files.
    pub fn from_files(key_file: &Path, cert_file: &Path) -> Result<SpKeys, KeyError> {
        SpKeys::from_pems(&read(key_file)?, &read(cert_file)?)
    }

    /// Loads `sp.key`/`sp.crt` from `dir`, or creates them (RSA-2048, self-signed) when neither
    /// exists, so an IdP configured once with the SP's metadata keeps working across restarts; the
    /// encryption pair likewise (`sp-enc.key`/`sp-enc.crt`, [`SpEncryptionKeys::load_or_create`]).
    pub fn load_or_create(dir: &Path) -> Result<SpKeys, KeyError> {
        let pair = load_or_create_pair(dir, KEY_FILE, CERT_FILE, "samlconf reference SP")?;
        Ok(SpKeys::from_pems(&pair.key_pem, &pair.cert_pem)?
            .with_encryption(SpEncryptionKeys::load_or_create(dir)?))
    }

    /// The keys a configuration names (`[sp] signing_key_file` and `signing_certificate_file`,
    /// both or neither), else [`load_or_create`](SpKeys::load_or_create) in `default_dir`. The
    /// encryption pair is always the one kept in `default_dir`.
    pub fn for_config(
        config: &crate::config::SpConfig,
        default_dir: &Path,
    ) -> Result<SpKeys, KeyError> {
        match (
            &config.sp.signing_key_file,
            &config.sp.signing_certificate_file,
        ) {
            (Some(key), Some(cert)) => Ok(SpKeys::from_files(key, cert)?
                .with_encryption(SpEncryptionKeys::load_or_create(default_dir)?)),
            (Some(key), None) => Err(KeyError::HalfAPair {
                present: key.clone(),
                missing: PathBuf::from("[sp] signing_certificate_file"),
            }),
            (None, Some(cert)) => Err(KeyError::HalfAPair {
                present: cert.clone(),
                missing: PathBuf::from("[sp] signing_key_file"),
            }),
            (None, None) => SpKeys::load_or_create(default_dir),
        }
    }

    /// The fixed, public, test-only pair committed under `sp/testdata/` (see its README).
    pub fn fixed_for_tests() -> SpKeys {
        SpKeys {
            key_pem: include_str!("../testdata/sp.key").to_owned(),
            cert_pem: include_str!("../testdata/sp.crt").to_owned(),
            encryption: Some(SpEncryptionKeys::fixed_for_tests()),
        }
    }

    /// Generates a fresh RSA-2048 key and a self-signed certificate whose CN is `common_name`
    /// (a signing pair only; see [`with_encryption`](SpKeys::with_encryption)).
    pub fn generate(common_name: &str) -> Result<SpKeys, KeyError> {
        let PemPair { key_pem, cert_pem } = generate_rsa_pair(common_name)?;
        Ok(SpKeys {
            key_pem,
            cert_pem,
            encryption: None,
        })
    }

    /// The certificate's DER as one line of base64: the content of `ds:X509Certificate`.
    pub fn cert_der_base64(&self) -> String {
        cert_der_base64(&self.cert_pem).unwrap_or_default()
    }

    /// RSA-SHA256 (PKCS#1 v1.5) signature of `data`: the HTTP-Redirect binding's `Signature`.
    pub fn sign_rsa_sha256(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        let key = self.private_key()?;
        let unusable = |e: openssl::error::ErrorStack| KeyError::Unusable(e.to_string());
        let mut signer = Signer::new(MessageDigest::sha256(), &key).map_err(unusable)?;
        signer.update(data).map_err(unusable)?;
        signer.sign_to_vec().map_err(unusable)
    }

    fn private_key(&self) -> Result<PKey<Private>, KeyError> {
        rsa_private_key(&self.key_pem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn fixed_test_keys_are_a_matching_pair() {
        let keys = SpKeys::fixed_for_tests();
        SpKeys::from_pems(&keys.key_pem, &keys.cert_pem).expect("matching pair");
        assert!(keys.cert_der_base64().starts_with("MII"));
        assert!(!format!("{keys:?}").contains("PRIVATE KEY"));
        let enc = keys.encryption.expect("test encryption pair");
        SpEncryptionKeys::from_pems(&enc.key_pem, &enc.cert_pem).expect("matching pair");
        assert_ne!(
            enc.cert_pem, keys.cert_pem,
            "signing and encryption keys differ"
        );
    }

    #[test]
    fn load_or_create_keeps_the_encryption_pair_beside_the_signing_pair() {
        let dir = tempfile::tempdir().unwrap();
        let first = SpKeys::load_or_create(dir.path()).expect("create");
        let enc = first.encryption.clone().expect("encryption pair created");
        assert_ne!(enc.cert_pem, first.cert_pem);
        assert!(dir.path().join(ENC_KEY_FILE).exists());
        let second = SpKeys::load_or_create(dir.path()).expect("load");
        assert_eq!(second.encryption, Some(enc));
        fs::remove_file(dir.path().join(ENC_KEY_FILE)).unwrap();
        let err = SpKeys::load_or_create(dir.path()).expect_err("half an encryption pair");
        assert!(err.to_string().contains("sp-enc.key"), "{err}");
    }

    #[test]
    fn load_or_create_reuses_the_saved_pair_and_refuses_half_a_pair() {
        let dir = tempfile::tempdir().unwrap();
        let first = SpKeys::load_or_create(dir.path()).expect("create");
        let second = SpKeys::load_or_create(dir.path()).expect("load");
        assert_eq!(first, second);
        assert_ne!(first, SpKeys::fixed_for_tests());
        assert_eq!(first.sign_rsa_sha256(b"x").unwrap().len(), 256);
        fs::remove_file(dir.path().join(CERT_FILE)).unwrap();
        let err = SpKeys::load_or_create(dir.path()).expect_err("half a pair");
        assert!(err.to_string().contains("sp.crt"), "{err}");
    }

    #[test]
    fn a_key_that_is_not_the_certificates_is_refused() {
        let a = SpKeys::fixed_for_tests();
        let b = SpKeys::generate("other").unwrap();
        assert!(SpKeys::from_pems(&a.key_pem, &b.cert_pem).is_err());
    }
}
