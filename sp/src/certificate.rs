//! What an X.509 certificate says about itself: validity period, key type and size, and the
//! algorithm its issuer signed it with. For reviewers (`samlconf certify`); the verifier judges
//! pinned certificates in [`crate::verify::pinned`].

use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::Id;
use openssl::x509::{X509, X509NameRef};
use serde::Serialize;
use time::OffsetDateTime;

/// The public key of a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum KeyKind {
    Rsa {
        bits: u32,
    },
    /// An elliptic-curve key on a named curve (`prime256v1`, `secp384r1`, …; `unknown` if none).
    Ec {
        curve: String,
        bits: u32,
    },
    /// Anything else (DSA, Ed25519, …), by its OpenSSL name.
    Other {
        name: String,
        bits: u32,
    },
}

/// A certificate's statements about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateInfo {
    /// Subject, one-line (`CN=…, O=…`).
    pub subject: String,
    /// Issuer, one-line.
    pub issuer: String,
    /// Subject and issuer are the same name (typical for SAML signing certificates).
    pub self_signed: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub key: KeyKind,
    /// The algorithm the issuer signed the certificate with (`sha256WithRSAEncryption`, …).
    pub signature_algorithm: String,
    /// SHA-256 fingerprint of the DER, upper-case hex with colons (as IdP consoles show it).
    pub sha256_fingerprint: String,
}

/// Reads a PEM certificate.
pub fn inspect(pem: &str) -> Result<CertificateInfo, String> {
    let cert =
        X509::from_pem(pem.as_bytes()).map_err(|e| format!("not a PEM X.509 certificate: {e}"))?;
    let key = cert
        .public_key()
        .map_err(|e| format!("cannot read the certificate's public key: {e}"))?;
    let kind = match key.id() {
        Id::RSA => KeyKind::Rsa { bits: key.bits() },
        Id::EC => KeyKind::Ec {
            curve: key
                .ec_key()
                .ok()
                .and_then(|ec| ec.group().curve_name())
                .and_then(|nid| nid.short_name().ok())
                .unwrap_or("unknown")
                .to_owned(),
            bits: key.bits(),
        },
        other => KeyKind::Other {
            name: nid_name(Nid::from_raw(other.as_raw())),
            bits: key.bits(),
        },
    };
    let fingerprint = cert
        .digest(MessageDigest::sha256())
        .map_err(|e| format!("cannot hash the certificate: {e}"))?
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let subject = one_line(cert.subject_name());
    let issuer = one_line(cert.issuer_name());
    Ok(CertificateInfo {
        self_signed: subject == issuer,
        subject,
        issuer,
        not_before: instant(cert.not_before())?,
        not_after: instant(cert.not_after())?,
        key: kind,
        signature_algorithm: nid_name(cert.signature_algorithm().object().nid()),
        sha256_fingerprint: fingerprint,
    })
}

fn nid_name(nid: Nid) -> String {
    nid.long_name()
        .or_else(|_| nid.short_name())
        .unwrap_or("unknown")
        .to_owned()
}

/// `CN=…, O=…` in the certificate's order.
fn one_line(name: &X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().unwrap_or_default();
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// An ASN.1 time as an instant: its distance from the Unix epoch.
fn instant(t: &Asn1TimeRef) -> Result<OffsetDateTime, String> {
    let epoch = Asn1Time::from_unix(0).map_err(|e| e.to_string())?;
    let diff = epoch.diff(t).map_err(|e| e.to_string())?;
    let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_real_certificate_is_described() {
        let info = inspect(include_str!("../tests/fixtures/real/testshib2015.crt")).unwrap();
        assert_eq!(info.key, KeyKind::Rsa { bits: 2048 });
        assert_eq!(info.not_before, datetime!(2006-08-30 21:12:25 UTC));
        assert_eq!(info.not_after, datetime!(2016-08-27 21:12:25 UTC));
        assert!(info.subject.contains("CN=idp.testshib.org"), "{info:?}");
        assert!(info.signature_algorithm.contains("sha1"), "{info:?}");
        assert_eq!(info.sha256_fingerprint.len(), 32 * 3 - 1);
        let weak = inspect(include_str!("../tests/fixtures/real/simplesamlphp2014.crt")).unwrap();
        assert_eq!(weak.key, KeyKind::Rsa { bits: 1024 });
        assert!(inspect("not a certificate").is_err());
    }
}
