//! Signing keys: the IdP's own, and an attacker's that an SP must refuse.

use std::path::Path;

/// Why keys could not be loaded or created (the key-file plumbing's error, shared with the SP).
pub use plumbing::keys::KeyError;
use plumbing::keys::{PemPair, cert_der_base64, generate_rsa_pair, load_or_create_pair};

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

impl IdpKeys {
    /// Loads `idp.key`/`idp.crt` and `attacker.key`/`attacker.crt` from `state_dir`, creating
    /// (RSA-2048, self-signed) and saving any missing pair, so an SP configured once keeps working
    /// across restarts.
    pub fn load_or_create(state_dir: &Path) -> Result<IdpKeys, KeyError> {
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
            cert_der_base64: cert_der_base64(cert_pem).unwrap_or_default(),
        }
    }

    /// A fixed, public, test-only RSA-1024 key (`mock-idp/testdata/weak1024.*`): an IdP whose key
    /// is too short, for the SP's `min_rsa_bits` (`signature.weak_key`). It is committed, as no
    /// generator here makes RSA keys shorter than 2048 bits.
    pub fn weak_rsa1024_for_tests() -> SigningIdentity {
        SigningIdentity::from_pems(
            include_str!("../testdata/weak1024.key"),
            include_str!("../testdata/weak1024.crt"),
        )
    }

    /// Generates a fresh RSA-2048 key and a self-signed certificate whose CN is `common_name`.
    pub fn generate(common_name: &str) -> Result<SigningIdentity, KeyError> {
        Ok(SigningIdentity::from_pair(generate_rsa_pair(common_name)?))
    }

    /// `<stem>.key`/`<stem>.crt` in `dir`, created when neither exists.
    fn load_or_create(
        dir: &Path,
        stem: &str,
        common_name: &str,
    ) -> Result<SigningIdentity, KeyError> {
        let pair = load_or_create_pair(
            dir,
            &format!("{stem}.key"),
            &format!("{stem}.crt"),
            common_name,
        )?;
        Ok(SigningIdentity::from_pair(pair))
    }

    fn from_pair(pair: PemPair) -> SigningIdentity {
        SigningIdentity::from_pems(&pair.key_pem, &pair.cert_pem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

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
