//! The IdP's SAML metadata document.

use crate::keys::SigningIdentity;
use crate::knobs::NAME_ID_FORMAT_EMAIL;
use crate::xml::{DSIG_NS, METADATA_NS, PROTOCOL_NS, XmlWriter};

/// The HTTP-Redirect binding URI.
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// The HTTP-POST binding URI.
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// `EntityDescriptor` for an IdP at `base_url` (no trailing slash) signing with `signing`;
/// `want_signed_requests` is its `WantAuthnRequestsSigned`.
pub fn idp_metadata_xml(
    entity_id: &str,
    base_url: &str,
    signing: &SigningIdentity,
    want_signed_requests: bool,
) -> String {
    let sso = format!("{base_url}/sso");
    let slo = format!("{base_url}/slo");
    let mut w = XmlWriter::new(false);
    w.start(
        "md:EntityDescriptor",
        &[
            ("xmlns:md", Some(METADATA_NS)),
            ("entityID", Some(entity_id)),
        ],
    );
    w.start(
        "md:IDPSSODescriptor",
        &[
            (
                "WantAuthnRequestsSigned",
                Some(if want_signed_requests {
                    "true"
                } else {
                    "false"
                }),
            ),
            ("protocolSupportEnumeration", Some(PROTOCOL_NS)),
        ],
    );
    // Schema order: KeyDescriptor, SingleLogoutService, NameIDFormat, SingleSignOnService.
    w.start("md:KeyDescriptor", &[("use", Some("signing"))]);
    w.start("ds:KeyInfo", &[("xmlns:ds", Some(DSIG_NS))]);
    w.start("ds:X509Data", &[]);
    w.text("ds:X509Certificate", &[], &signing.cert_der_base64);
    w.end("ds:X509Data");
    w.end("ds:KeyInfo");
    w.end("md:KeyDescriptor");
    for binding in [BINDING_REDIRECT, BINDING_POST] {
        w.empty(
            "md:SingleLogoutService",
            &[("Binding", Some(binding)), ("Location", Some(&slo))],
        );
    }
    w.text("md:NameIDFormat", &[], NAME_ID_FORMAT_EMAIL);
    for binding in [BINDING_REDIRECT, BINDING_POST] {
        w.empty(
            "md:SingleSignOnService",
            &[("Binding", Some(binding)), ("Location", Some(&sso))],
        );
    }
    w.end("md:IDPSSODescriptor");
    w.end("md:EntityDescriptor");
    w.finish()
}
