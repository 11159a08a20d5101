//! Judging a pinned IdP certificate itself, not the message: its RSA key size (`min_rsa_bits`,
//! `signature.weak_key`) and its validity period at the verification instant (`idp_cert_expiry`,
//! `signature.certificate_expired`). Each certificate is parsed once per process; judging it is
//! then a few comparisons, far cheaper than an RSA verification, so the verifier judges every
//! pinned certificate before xmlsec runs and refuses at once when none is usable.
//!
//! The key is trusted because it is pinned, so validity is the certificate's own statement about
//! when its issuer meant the key to be used: by default an expired one is only reported.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use openssl::asn1::Asn1Time;
use openssl::pkey::Id;
use openssl::x509::X509;
use time::OffsetDateTime;

use super::{CertificateExpiry, VerifyPolicy};
use crate::reason::{Reason, Rejection};

/// What policy says about pinned certificate #`index` (`pem`) at `now`: `Ok(None)` usable,
/// `Ok(Some(warning))` usable with an audit warning (outside its validity, `warn`), `Err` refused.
///
/// A certificate openssl cannot parse is judged usable here: xmlsec loaded it at start-up and
/// decides alone whether its key verifies.
pub fn judge(
    index: usize,
    pem: &str,
    policy: &VerifyPolicy,
    now: OffsetDateTime,
) -> Result<Option<String>, Rejection> {
    let Some(cert) = parsed(pem) else {
        return Ok(None);
    };
    if let Some(bits) = cert.rsa_bits
        && bits < policy.min_rsa_bits
    {
        return Err(Rejection::new(
            Reason::SignatureKeyIsTooWeak,
            format!(
                "pinned IdP certificate #{index} holds a {bits}-bit RSA key; min_rsa_bits is {}",
                policy.min_rsa_bits
            ),
        ));
    }
    let Some(problem) = validity_problem(&cert.x509, now) else {
        return Ok(None);
    };
    let message = format!("pinned IdP certificate #{index} {problem} at {now}");
    match policy.idp_cert_expiry {
        CertificateExpiry::Warn => Ok(Some(format!(
            "{message}; accepted because idp_cert_expiry = \"warn\" (pin the IdP's renewed certificate)"
        ))),
        CertificateExpiry::Refuse => Err(Rejection::new(
            Reason::SignatureCertificateIsExpired,
            format!("{message}, and idp_cert_expiry = \"refuse\""),
        )),
    }
}

/// A pinned certificate as openssl reads it, with its RSA key size (`None`: not RSA).
struct Parsed {
    x509: X509,
    rsa_bits: Option<u32>,
}

/// At most this many parsed certificates are kept; the cache starts afresh when full (they come
/// from configuration, never from a message, see `dsig::shared_key`).
const MAX_PARSED: usize = 64;

/// `pem` parsed once per process (`None`: openssl cannot parse it). With OpenSSL 3, parsing a
/// certificate costs more than the RSA verification it serves, and it used to run on every
/// verification.
fn parsed(pem: &str) -> Option<Arc<Parsed>> {
    static CACHE: Mutex<BTreeMap<String, Option<Arc<Parsed>>>> = Mutex::new(BTreeMap::new());
    let lock = || {
        CACHE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    if let Some(found) = lock().get(pem) {
        return found.clone();
    }
    let parsed = X509::from_pem(pem.as_bytes()).ok().map(|x509| {
        Arc::new(Parsed {
            rsa_bits: rsa_bits(&x509),
            x509,
        })
    });
    let mut cache = lock();
    if cache.len() >= MAX_PARSED {
        cache.clear();
    }
    cache.insert(pem.to_owned(), parsed.clone());
    parsed
}

/// The modulus size of an RSA certificate key; `None` for other key types.
fn rsa_bits(cert: &X509) -> Option<u32> {
    let key = cert.public_key().ok()?;
    (key.id() == Id::RSA).then(|| key.bits())
}

/// Why `cert` is not valid at `now` (RFC 5280 §4.1.2.5: both bounds inclusive), or `None`.
fn validity_problem(cert: &X509, now: OffsetDateTime) -> Option<String> {
    let at = Asn1Time::from_unix(now.unix_timestamp()).ok()?;
    let not_before = cert.not_before();
    let not_after = cert.not_after();
    if at.compare(not_after).ok()? == Ordering::Greater {
        Some(format!("expired (notAfter {not_after})"))
    } else if at.compare(not_before).ok()? == Ordering::Less {
        Some(format!("is not yet valid (notBefore {not_before})"))
    } else {
        None
    }
}

/// Start-up warnings about the pinned certificates at `now` (weak keys, validity), one line
/// each: the SP starts anyway, and only responses from the IdP concerned are affected.
pub fn startup_warnings(policy: &VerifyPolicy, now: OffsetDateTime) -> Vec<String> {
    let idps = std::iter::once((policy.idp_entity_id.as_deref(), &policy.idp_certs_pem)).chain(
        policy
            .other_idps
            .iter()
            .map(|idp| (Some(idp.entity_id.as_str()), &idp.certs_pem)),
    );
    let mut out = Vec::new();
    for (entity_id, certs) in idps {
        for (index, pem) in certs.iter().enumerate() {
            let judged = judge(index, pem, policy, now);
            let note = match judged {
                Ok(None) => continue,
                Ok(Some(warning)) => warning,
                Err(rejection) => format!("{}: {}", rejection.reason.code(), rejection.message),
            };
            out.push(format!("IdP {}: {note}", entity_id.unwrap_or("(primary)")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// RSA-1024, valid 2014-09-23 to 2042-02-08 (a real SimpleSAMLphp IdP's).
    const WEAK: &str = include_str!("../../tests/fixtures/real/simplesamlphp2014.crt");
    /// RSA-2048, valid 2006-08-30 to 2016-08-27 (TestShib's).
    const EXPIRING: &str = include_str!("../../tests/fixtures/real/testshib2015.crt");

    fn policy(certs: &[&str]) -> VerifyPolicy {
        VerifyPolicy::new("sp", "acs", certs.iter().map(|c| (*c).to_owned()).collect())
    }

    #[test]
    fn a_short_rsa_key_is_refused_unless_min_rsa_bits_allows_it() {
        let mut p = policy(&[WEAK]);
        let now = datetime!(2015-01-01 00:00 UTC);
        let err = judge(0, WEAK, &p, now).unwrap_err();
        assert_eq!(err.reason, Reason::SignatureKeyIsTooWeak);
        assert!(err.message.contains("1024-bit"), "{}", err.message);
        p.min_rsa_bits = 1024;
        assert_eq!(judge(0, WEAK, &p, now), Ok(None));
    }

    #[test]
    fn validity_is_judged_at_now_with_both_bounds_inclusive() {
        let mut p = policy(&[EXPIRING]);
        assert_eq!(
            judge(0, EXPIRING, &p, datetime!(2016-08-27 21:12:25 UTC)),
            Ok(None)
        );
        assert_eq!(
            judge(0, EXPIRING, &p, datetime!(2006-08-30 21:12:25 UTC)),
            Ok(None)
        );
        let warning = judge(0, EXPIRING, &p, datetime!(2016-08-27 21:12:26 UTC))
            .unwrap()
            .expect("a warning");
        assert!(warning.contains("expired"), "{warning}");
        p.idp_cert_expiry = CertificateExpiry::Refuse;
        let err = judge(0, EXPIRING, &p, datetime!(2006-08-30 21:12:24 UTC)).unwrap_err();
        assert_eq!(err.reason, Reason::SignatureCertificateIsExpired);
        assert!(err.message.contains("not yet valid"), "{}", err.message);
    }

    #[test]
    fn start_up_warns_about_each_weak_or_expired_pinned_certificate_of_every_idp() {
        let mut p = policy(&[EXPIRING]);
        p.other_idps.push(super::super::TrustedIdp {
            entity_id: "urn:legacy".into(),
            certs_pem: vec![WEAK.into()],
        });
        let warnings = startup_warnings(&p, datetime!(2015-01-01 00:00 UTC));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("urn:legacy") && warnings[0].contains("signature.weak_key"),
            "{warnings:?}"
        );
        assert_eq!(
            startup_warnings(&p, datetime!(2020-01-01 00:00 UTC)).len(),
            2
        );
    }
}
