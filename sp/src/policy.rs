//! The verifier's policy as options: one vocabulary, shared by the SP configuration's `[sp]`
//! table and `samlconf verify` (`--policy FILE` in the same TOML form, then its flags).
//!
//! | option | default | what |
//! |---|---|---|
//! | `clock_skew_secs` | 120 | tolerated clock difference with the IdP |
//! | `signature_algorithms` | rsa-sha256, rsa-sha384, rsa-sha512 | accepted SignatureMethods (`rsa-sha1` opts into SHA-1) |
//! | `digest_algorithms` | sha256, sha384, sha512 | accepted DigestMethods (`sha1` opts into SHA-1) |
//! | `accept_response_signature` | false | a Response signature covering the assertion suffices |
//! | `require_signed_response` | false | refuse a Response element that is not signed (`signature.response_missing`) |
//! | `require_encrypted_assertions` | false | refuse a plaintext assertion (`encryption.required`) |
//! | `allow_rsa15` | false | accept RSA PKCS#1 v1.5 key transport besides RSA-OAEP |
//! | `allow_cbc` | false | accept AES-CBC data encryption besides AES-GCM |
//! | `min_rsa_bits` | 2048 | smallest RSA modulus of a pinned IdP key (`signature.weak_key`) |
//! | `idp_cert_expiry` | warn | a pinned certificate outside its validity: `warn` or `refuse` |
//! | `max_response_bytes` | 524288 | largest decoded response |
//! | `merge_duplicate_attributes` | false | merge Attributes that repeat a Name instead of refusing (`attribute.duplicate`) |
//!
//! The defaults are the strict ones; every option loosens or tightens one named check.

use serde::{Deserialize, Serialize};

use crate::config::{SpSettings, digest_algorithm_uri, signature_algorithm_uri};
use crate::verify::{CertificateExpiry, VerifyPolicy};

/// The policy options of the verifier (see the module table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySettings {
    /// Tolerated clock difference with the IdP, in seconds.
    pub clock_skew_secs: u32,
    /// Accepted signature algorithms by short name: rsa-sha256, rsa-sha384, rsa-sha512, rsa-sha1.
    pub signature_algorithms: Vec<String>,
    /// Accepted digest algorithms by short name: sha256, sha384, sha512, sha1.
    pub digest_algorithms: Vec<String>,
    /// A valid Response signature covering the assertion is enough (the assertion unsigned).
    pub accept_response_signature: bool,
    /// Refuse a response whose Response element is not signed, even when its assertion is.
    pub require_signed_response: bool,
    /// Refuse assertions that are not encrypted (`encryption.required`).
    pub require_encrypted_assertions: bool,
    /// Accept RSA PKCS#1 v1.5 key transport (padding-oracle prone) besides RSA-OAEP.
    pub allow_rsa15: bool,
    /// Accept AES-CBC data encryption (malleable: "One Bad Apple") besides AES-GCM.
    pub allow_cbc: bool,
    /// Smallest RSA modulus, in bits, of a pinned IdP key.
    pub min_rsa_bits: u32,
    /// A pinned IdP certificate outside its validity period: warn or refuse.
    pub idp_cert_expiry: CertificateExpiry,
    /// Largest decoded SAMLResponse accepted, in bytes.
    pub max_response_bytes: usize,
    /// Merge the values of Attributes that repeat a Name instead of refusing them.
    pub merge_duplicate_attributes: bool,
}

impl Default for PolicySettings {
    /// The strict defaults: SHA-2 only, assertion signature required, 120 s, 512 KiB.
    fn default() -> Self {
        PolicySettings {
            clock_skew_secs: 120,
            signature_algorithms: ["rsa-sha256", "rsa-sha384", "rsa-sha512"]
                .map(String::from)
                .to_vec(),
            digest_algorithms: ["sha256", "sha384", "sha512"].map(String::from).to_vec(),
            accept_response_signature: false,
            require_signed_response: false,
            require_encrypted_assertions: false,
            allow_rsa15: false,
            allow_cbc: false,
            min_rsa_bits: crate::verify::DEFAULT_MIN_RSA_BITS,
            idp_cert_expiry: CertificateExpiry::Warn,
            max_response_bytes: crate::verify::DEFAULT_MAX_RESPONSE_BYTES,
            merge_duplicate_attributes: false,
        }
    }
}

/// `[sp]` options of the SP configuration that are not verifier policy: a policy file may hold
/// them (an SP configuration file is a valid policy file), and they are ignored.
const NON_POLICY_SP_KEYS: &[&str] = &[
    "entity_id",
    "base_url",
    "database",
    "max_session_secs",
    "request_ttl_secs",
    "allow_unsolicited",
    "bind_requests_to_browser",
    "request_cookie_samesite",
    "jit_provisioning",
    "default_role",
    "admin_roles",
    "allowed_email_domains",
    "require_signed_logout_requests",
    "sign_authn_requests",
    "sso_enabled",
    "sign_logout_requests",
    "sign_logout_responses",
    "signing_key_file",
    "signing_certificate_file",
    "account_linking",
    "max_link_attempts",
    "password_max_failures",
    "password_max_failures_per_address",
    "password_failure_window_secs",
    "password_lockout_secs",
    "ignore_fields_on_update",
    "role_sync",
    "renewal_interval_secs",
    "preset",
    "recovery_login",
    "failure_page_detail",
    "session_length",
    "require_access_attribute",
    "permission_groups",
];

impl PolicySettings {
    /// Reads the `[sp]` policy options of a TOML file in the SP configuration's form. Other
    /// `[sp]` options of the SP configuration and other tables are ignored; an unknown `[sp]` key
    /// is refused, named.
    pub fn from_toml(text: &str) -> Result<PolicySettings, String> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let sp = match table.remove("sp") {
            None => toml::Table::new(),
            Some(toml::Value::Table(sp)) => sp,
            Some(_) => return Err("`sp` must be a table ([sp])".into()),
        };
        let policy: toml::Table = sp
            .into_iter()
            .filter(|(key, _)| !NON_POLICY_SP_KEYS.contains(&key.as_str()))
            .collect();
        let settings: PolicySettings = toml::Value::Table(policy)
            .try_into()
            .map_err(|e: toml::de::Error| format!("[sp]: {}", e.message()))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Refuses unknown algorithm names, naming the option.
    pub fn validate(&self) -> Result<(), String> {
        for name in &self.signature_algorithms {
            if signature_algorithm_uri(name).is_none() {
                return Err(format!(
                    "signature_algorithms: unknown {name:?} (expected rsa-sha256, rsa-sha384, rsa-sha512 or rsa-sha1)"
                ));
            }
        }
        for name in &self.digest_algorithms {
            if digest_algorithm_uri(name).is_none() {
                return Err(format!(
                    "digest_algorithms: unknown {name:?} (expected sha256, sha384, sha512 or sha1)"
                ));
            }
        }
        Ok(())
    }

    /// Also accepts RSA-SHA1 signatures and SHA-1 digests (`--allow-sha1`).
    pub fn allow_sha1(&mut self) {
        for (list, name) in [
            (&mut self.signature_algorithms, "rsa-sha1"),
            (&mut self.digest_algorithms, "sha1"),
        ] {
            if !list.iter().any(|n| n == name) {
                list.push(name.to_owned());
            }
        }
    }

    /// Whether SHA-1 (signature or digest) is accepted.
    pub fn allows_sha1(&self) -> bool {
        self.signature_algorithms.iter().any(|a| a == "rsa-sha1")
            || self.digest_algorithms.iter().any(|a| a == "sha1")
    }

    /// Sets the policy fields of `policy` (everything but the parties, keys and certificates).
    /// Names were validated; SHA-1 becomes the verifier's explicit `allow_sha1`.
    pub fn apply_to(&self, policy: &mut VerifyPolicy) {
        let uris = |names: &[String], to_uri: fn(&str) -> Option<&'static str>, sha1: &str| {
            names
                .iter()
                .filter(|n| *n != sha1)
                .filter_map(|n| to_uri(n))
                .map(String::from)
                .collect()
        };
        policy.clock_skew = time::Duration::seconds(i64::from(self.clock_skew_secs));
        policy.signature_algorithms = uris(
            &self.signature_algorithms,
            signature_algorithm_uri,
            "rsa-sha1",
        );
        policy.digest_algorithms = uris(&self.digest_algorithms, digest_algorithm_uri, "sha1");
        policy.allow_sha1 = self.allows_sha1();
        policy.accept_response_signature = self.accept_response_signature;
        policy.require_signed_response = self.require_signed_response;
        policy.require_encrypted_assertions = self.require_encrypted_assertions;
        policy.allow_rsa15 = self.allow_rsa15;
        policy.allow_cbc = self.allow_cbc;
        policy.min_rsa_bits = self.min_rsa_bits;
        policy.idp_cert_expiry = self.idp_cert_expiry;
        policy.max_response_bytes = self.max_response_bytes;
        policy.merge_duplicate_attributes = self.merge_duplicate_attributes;
    }
}

impl From<&SpSettings> for PolicySettings {
    fn from(sp: &SpSettings) -> Self {
        PolicySettings {
            clock_skew_secs: sp.clock_skew_secs,
            signature_algorithms: sp.signature_algorithms.clone(),
            digest_algorithms: sp.digest_algorithms.clone(),
            accept_response_signature: sp.accept_response_signature,
            require_signed_response: sp.require_signed_response,
            require_encrypted_assertions: sp.require_encrypted_assertions,
            allow_rsa15: sp.allow_rsa15,
            allow_cbc: sp.allow_cbc,
            min_rsa_bits: sp.min_rsa_bits,
            idp_cert_expiry: sp.idp_cert_expiry,
            max_response_bytes: sp.max_response_bytes,
            merge_duplicate_attributes: sp.merge_duplicate_attributes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SpConfig;

    const MINIMAL: &str = r#"
[sp]
base_url = "http://127.0.0.1:8000"
[idp]
entity_id = "urn:example:idp"
sso_url = "http://127.0.0.1:9000/sso"
certificate_pem = "-----BEGIN CERTIFICATE-----"
"#;

    #[test]
    fn the_sp_configuration_defaults_are_the_policy_defaults() {
        let config = SpConfig::from_toml(MINIMAL).unwrap();
        assert_eq!(PolicySettings::from(&config.sp), PolicySettings::default());
        let defaults = VerifyPolicy::new("sp", "acs", vec![]);
        let mut applied = defaults.clone();
        PolicySettings::default().apply_to(&mut applied);
        assert_eq!(
            applied, defaults,
            "PolicySettings::default() is VerifyPolicy::new's policy"
        );
    }

    #[test]
    fn every_sp_key_is_policy_or_listed_as_not_policy() {
        let config = SpConfig::from_toml(include_str!("../config.example.toml")).unwrap();
        let table = toml::Table::try_from(&config.sp).unwrap();
        let policy_keys = toml::Table::try_from(PolicySettings::default()).unwrap();
        for key in table.keys() {
            assert!(
                policy_keys.contains_key(key) || NON_POLICY_SP_KEYS.contains(&key.as_str()),
                "[sp] {key} is neither a policy key nor in NON_POLICY_SP_KEYS"
            );
        }
        let from_file = PolicySettings::from_toml(include_str!("../config.example.toml"))
            .expect("an SP configuration is a policy file");
        assert_eq!(from_file, PolicySettings::from(&config.sp));
    }

    #[test]
    fn a_policy_file_sets_each_option_and_refuses_unknown_ones() {
        let p = PolicySettings::from_toml(
            r#"
[sp]
clock_skew_secs = 30
signature_algorithms = ["rsa-sha256", "rsa-sha1"]
digest_algorithms = ["sha256", "sha1"]
accept_response_signature = true
require_encrypted_assertions = true
allow_rsa15 = true
allow_cbc = true
min_rsa_bits = 1024
idp_cert_expiry = "refuse"
max_response_bytes = 1000
merge_duplicate_attributes = true
"#,
        )
        .unwrap();
        let mut v = VerifyPolicy::new("sp", "acs", vec![]);
        p.apply_to(&mut v);
        assert_eq!(v.clock_skew, time::Duration::seconds(30));
        assert!(v.allow_sha1 && v.accept_response_signature);
        assert!(v.require_encrypted_assertions && v.allow_rsa15 && v.allow_cbc);
        assert_eq!(v.min_rsa_bits, 1024);
        assert_eq!(v.idp_cert_expiry, CertificateExpiry::Refuse);
        assert_eq!(v.max_response_bytes, 1000);
        assert!(v.merge_duplicate_attributes);
        assert_eq!(v.signature_algorithms, [crate::verify::checks::RSA_SHA256]);

        let err = PolicySettings::from_toml("[sp]\nallow_sha1 = true\n").unwrap_err();
        assert!(err.contains("allow_sha1"), "{err}");
        let err = PolicySettings::from_toml("[sp]\ndigest_algorithms = [\"md5\"]\n").unwrap_err();
        assert!(err.contains("md5"), "{err}");
        assert_eq!(
            PolicySettings::from_toml("").unwrap(),
            PolicySettings::default()
        );
    }

    #[test]
    fn allow_sha1_adds_both_sha1_names_once() {
        let mut p = PolicySettings::default();
        assert!(!p.allows_sha1());
        p.allow_sha1();
        p.allow_sha1();
        assert!(p.allows_sha1());
        assert_eq!(
            p.signature_algorithms
                .iter()
                .filter(|a| *a == "rsa-sha1")
                .count(),
            1
        );
        assert!(p.digest_algorithms.iter().any(|a| a == "sha1"));
    }
}
