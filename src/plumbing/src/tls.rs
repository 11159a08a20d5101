//! A certificate authority made for one run, and the server certificate it issues for the loopback
//! names, so that the mock IdP and the SP can serve HTTPS that a client trusts for that run only.
//!
//! The keys are ECDSA P-256 (generated in about a millisecond, where RSA-2048 takes a tenth of a
//! second), made and used by OpenSSL; rcgen only writes the certificates' DER, as in
//! [`crate::keys`]. Nothing here is protocol logic: TLS is the transport under both servers.

use base64::Engine as _;
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey, PointConversionForm};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyIdMethod, KeyPair, KeyUsagePurpose, SerialNumber,
};

use crate::keys::{KeyError, OpensslSigner};

/// The names the server certificate covers: every way a browser or client on this machine can
/// reach a loopback server.
pub const LOOPBACK_NAMES: &[&str] = &["127.0.0.1", "::1", "localhost"];

/// A run's certificate authority and the server certificate it signed.
#[derive(Clone)]
pub struct RunCa {
    /// The authority's certificate, PEM: what a client adds to its trusted roots.
    pub ca_cert_pem: String,
    /// The server certificate (for [`LOOPBACK_NAMES`]), PEM.
    pub server_cert_pem: String,
    /// The server certificate's private key, PKCS#8 PEM.
    pub server_key_pem: String,
    /// Base64 of the SHA-256 of the server certificate's SubjectPublicKeyInfo: what Chromium's
    /// `--ignore-certificate-errors-spki-list` takes to trust this certificate.
    pub server_spki_sha256: String,
}

impl std::fmt::Debug for RunCa {
    /// Never prints the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunCa")
            .field("ca_cert_pem", &self.ca_cert_pem)
            .field("server_cert_pem", &self.server_cert_pem)
            .field("server_key_pem", &"<redacted>")
            .field("server_spki_sha256", &self.server_spki_sha256)
            .finish()
    }
}

impl RunCa {
    /// A fresh authority (CN `samlconf run CA`) and a server certificate for [`LOOPBACK_NAMES`],
    /// both valid from a day before `now` (clocks of clients may lag) to 30 days after it.
    pub fn generate(now: time::OffsetDateTime) -> Result<RunCa, KeyError> {
        let generate = |detail: String| KeyError::Generate {
            what: "a TLS certificate",
            detail,
        };
        let (ca_key, ca_signer) = generate_p256().map_err(generate)?;
        let ca_params = params(
            "samlconf run CA",
            &[],
            now,
            IsCa::Ca(BasicConstraints::Constrained(0)),
            &ca_signer,
        )
        .map_err(generate)?;
        let ca_key_pair = KeyPair::from_remote(Box::new(ca_signer.clone()))
            .map_err(|e| generate(e.to_string()))?;
        let ca_cert = ca_params
            .self_signed(&ca_key_pair)
            .map_err(|e| generate(e.to_string()))?;

        let (server_key, server_signer) = generate_p256().map_err(generate)?;
        let server_params = params(
            "samlconf loopback server",
            LOOPBACK_NAMES,
            now,
            IsCa::ExplicitNoCa,
            &server_signer,
        )
        .map_err(generate)?;
        let server_key_pair =
            KeyPair::from_remote(Box::new(server_signer)).map_err(|e| generate(e.to_string()))?;
        let server_cert = server_params
            .signed_by(&server_key_pair, &ca_cert, &ca_key_pair)
            .map_err(|e| generate(e.to_string()))?;
        drop(ca_key);

        let server_key_pem = server_key
            .private_key_to_pem_pkcs8()
            .ok()
            .and_then(|pem| String::from_utf8(pem).ok())
            .ok_or_else(|| generate("PEM encoding of the key failed".into()))?;
        let spki = server_key
            .public_key_to_der()
            .map_err(|e| generate(e.to_string()))?;
        Ok(RunCa {
            ca_cert_pem: ca_cert.pem(),
            server_cert_pem: server_cert.pem(),
            server_key_pem,
            server_spki_sha256: base64::engine::general_purpose::STANDARD
                .encode(openssl::sha::sha256(&spki)),
        })
    }

    /// The CA certificate as OpenSSL reads it.
    pub fn ca_x509(&self) -> Result<X509, KeyError> {
        X509::from_pem(self.ca_cert_pem.as_bytes()).map_err(|e| KeyError::Unusable(e.to_string()))
    }
}

fn params(
    common_name: &str,
    names: &[&str],
    now: time::OffsetDateTime,
    is_ca: IsCa,
    signer: &OpensslSigner,
) -> Result<CertificateParams, String> {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).map_err(|e| e.to_string())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(30);
    // Without a crypto backend rcgen cannot hash the key itself: the key identifiers (which
    // chain building matches) and the serial are the public key's SHA-256, cut to size.
    let digest = openssl::sha::sha256(&signer.public_key);
    params.key_identifier_method = KeyIdMethod::PreSpecified(digest[..20].to_vec());
    let mut serial = digest[..16].to_vec();
    serial[0] &= 0x7f;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.use_authority_key_identifier_extension = !matches!(is_ca, IsCa::Ca(_));
    match is_ca {
        IsCa::Ca(_) => {
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        _ => {
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        }
    }
    params.is_ca = is_ca;
    Ok(params)
}

/// A fresh P-256 key, and its signer for rcgen.
fn generate_p256() -> Result<(PKey<Private>, OpensslSigner), String> {
    let err = |e: openssl::error::ErrorStack| e.to_string();
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(err)?;
    let ec = EcKey::generate(&group).map_err(err)?;
    let mut ctx = BigNumContext::new().map_err(err)?;
    let public_key = ec
        .public_key()
        .to_bytes(&group, PointConversionForm::UNCOMPRESSED, &mut ctx)
        .map_err(err)?;
    let key = PKey::from_ec_key(ec).map_err(err)?;
    Ok((
        key.clone(),
        OpensslSigner::ecdsa_p256_sha256(key, public_key),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::stack::Stack;
    use openssl::x509::store::X509StoreBuilder;
    use openssl::x509::verify::X509CheckFlags;
    use openssl::x509::{X509StoreContext, X509VerifyResult};

    #[test]
    fn the_server_certificate_chains_to_the_run_ca_for_each_loopback_name() {
        let now = time::OffsetDateTime::now_utc();
        let ca = RunCa::generate(now).expect("generate");
        let leaf = X509::from_pem(ca.server_cert_pem.as_bytes()).unwrap();
        let verify = |host: &str| {
            let mut param = openssl::x509::verify::X509VerifyParam::new().unwrap();
            param.set_hostflags(X509CheckFlags::NO_PARTIAL_WILDCARDS);
            match host.parse::<std::net::IpAddr>() {
                Ok(ip) => param.set_ip(ip).unwrap(),
                Err(_) => param.set_host(host).unwrap(),
            }
            let mut store = X509StoreBuilder::new().unwrap();
            store.add_cert(ca.ca_x509().unwrap()).unwrap();
            store.set_param(&param).unwrap();
            let store = store.build();
            let mut ctx = X509StoreContext::new().unwrap();
            let chain = Stack::new().unwrap();
            ctx.init(&store, &leaf, &chain, |c| {
                c.verify_cert()?;
                Ok(c.error())
            })
            .unwrap()
        };
        for name in LOOPBACK_NAMES {
            assert_eq!(verify(name), X509VerifyResult::OK, "{name}");
        }
        assert_ne!(verify("example.com"), X509VerifyResult::OK);
        // A second run's authority does not vouch for this one's server.
        let other = RunCa::generate(now).unwrap();
        assert_ne!(other.ca_cert_pem, ca.ca_cert_pem);
        assert_ne!(other.server_spki_sha256, ca.server_spki_sha256);
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&ca.server_spki_sha256)
                .unwrap()
                .len(),
            32
        );
        assert!(!format!("{ca:?}").contains("PRIVATE KEY"));
    }
}
