//! IdP metadata import (`[idp] metadata_file`): `sp::metadata::signing_certificates_from_idp_metadata`.

/// Arbitrary text as IdP metadata: an error or certificates, never a panic. Accepted metadata was
/// read as UTF-8 (a NUL is not well-formed UTF-8 XML: libxml2 must have switched encodings, which
/// is how a DOCTYPE gets past a byte-string check); a certificate taken from it is PEM the SP can
/// hand to openssl (one BEGIN/END pair around base64 lines).
pub fn idp_metadata(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(certs) = sp::metadata::signing_certificates_from_idp_metadata(text) else {
        return;
    };
    assert!(
        !certs.is_empty(),
        "metadata accepted without a signing certificate"
    );
    assert!(
        !text.contains('\0'),
        "metadata was accepted in an encoding other than UTF-8"
    );
    for pem in certs {
        let body = pem
            .strip_prefix("-----BEGIN CERTIFICATE-----\n")
            .and_then(|b| b.strip_suffix("-----END CERTIFICATE-----\n"))
            .unwrap_or_else(|| panic!("not one PEM block: {pem:?}"));
        assert!(
            !body.contains("-----"),
            "the metadata smuggled a PEM boundary into a certificate: {pem:?}"
        );
        // A certificate that does not parse is refused when the policy loads it; it must not panic.
        let _ = openssl::x509::X509::from_pem(pem.as_bytes());
    }
}
