//! Named presets of [`Knobs`]: each reproduces one fault a real IdP (or attacker) produces.

use crate::knobs::{
    AttributeStyle, DigestAlgorithm, EncryptTo, GroupFormat, Knobs, SignTarget, SignatureAlgorithm,
    SignatureWrapping, SigningKey,
};

/// The host every "wrong" URL points at; an SP must never treat it as its own.
pub const EVIL_HOST: &str = "https://evil.example";

/// Every profile: name and the fault it causes.
pub const ALL: &[(&str, &str)] = &[
    (
        "valid",
        "A conformant response: signed assertion, RSA-SHA256, correct audience, destination and times.",
    ),
    (
        "sha1",
        "Signed with the deprecated RSA-SHA1 signature and SHA-1 digest.",
    ),
    (
        "wrong-audience",
        "The Audience names another SP, so the assertion was meant for someone else.",
    ),
    (
        "skewed-clock",
        "The IdP's clock is 10 minutes ahead: the assertion is not yet valid beyond any sane skew.",
    ),
    (
        "skewed-clock-within-tolerance",
        "The IdP's clock is 60 s ahead, inside the SP's 120 s tolerance: must be accepted.",
    ),
    (
        "missing-groups",
        "The groups attribute is left out although the user has groups.",
    ),
    (
        "entra-guid-groups",
        "Entra ID claim names, with groups sent as object GUIDs instead of names.",
    ),
    (
        "entra-group-overage",
        "Entra ID claim names, with the groups claim replaced by a groups.link Graph URL (group overage, over 150 groups).",
    ),
    (
        "unsigned",
        "Neither the response nor the assertion is signed.",
    ),
    (
        "wrong-key",
        "Signed by an attacker's key, with the attacker's certificate in KeyInfo.",
    ),
    (
        "expired",
        "Issued 20 minutes ago with a 5-minute validity: expired.",
    ),
    (
        "wrong-destination",
        "The Response Destination is another URL than the SP's ACS.",
    ),
    (
        "wrong-recipient",
        "The SubjectConfirmationData Recipient is another URL than the SP's ACS.",
    ),
    (
        "sign-response",
        "Only the Response is signed (the assertion is covered by its digest): must be accepted.",
    ),
    (
        "sign-both",
        "Both the Assertion and the Response are signed: must be accepted.",
    ),
    ("wrong-issuer", "The Issuer names another IdP."),
    (
        "no-audience-restriction",
        "No AudienceRestriction: the assertion would be valid at any SP.",
    ),
    (
        "unsolicited",
        "InResponseTo is left out although the SP sent a request.",
    ),
    (
        "wrong-in-response-to",
        "InResponseTo names a request the SP never sent.",
    ),
    (
        "authn-failed",
        "A Responder/AuthnFailed status with no assertion: the login failed at the IdP.",
    ),
    (
        "no-session-expiry",
        "No SessionNotOnOrAfter: the SP must apply its own session limit.",
    ),
    (
        "shotgun-attributes",
        "Legacy attribute names (login_id, firstname, lastname, email, access, groups).",
    ),
    (
        "encrypted",
        "The signed assertion is encrypted to the SP (RSA-OAEP, AES-256-GCM): must be accepted by an SP holding its key.",
    ),
    (
        "encrypted-sha1",
        "An encrypted assertion signed with RSA-SHA1 and a SHA-1 digest, like an older ADFS.",
    ),
    (
        "encrypted-unsigned",
        "An unsigned assertion, encrypted to the SP: anyone can encrypt to the SP's public key, so it proves nothing.",
    ),
    (
        "encrypted-attacker-signed",
        "An assertion signed by an attacker's key, then encrypted to the SP's public key.",
    ),
    (
        "encrypted-wrong-key",
        "The assertion is encrypted to a key the SP does not hold: it cannot be decrypted.",
    ),
    (
        "encrypted-corrupt",
        "The encrypted assertion's ciphertext is corrupted: decryption fails.",
    ),
    (
        "xsw-evil-before",
        "XSW: an unsigned evil assertion inserted before the validly signed one (Somorovsky et al., On Breaking SAML, USENIX Security 2012).",
    ),
    (
        "xsw-evil-after",
        "XSW: an unsigned evil assertion inserted after the validly signed one (Somorovsky et al., USENIX Security 2012).",
    ),
    (
        "xsw-extensions",
        "XSW: the signed assertion moved into samlp:Extensions, an evil one in its place (Somorovsky et al., USENIX Security 2012).",
    ),
    (
        "xsw-signature-object",
        "XSW8: the evil assertion carries the IdP's signature, whose ds:Object holds the signed assertion (Somorovsky et al., USENIX Security 2012).",
    ),
    (
        "xsw-evil-wraps-signed",
        "XSW: an evil assertion wraps the signed one as its child (Somorovsky et al., USENIX Security 2012).",
    ),
    (
        "xsw-duplicate-id",
        "XSW: an evil assertion with the signed assertion's own ID inserted before it (Somorovsky et al., USENIX Security 2012).",
    ),
    (
        "xsw-signed-in-advice",
        "XSW: an evil assertion in the signed one's place, the signed assertion hidden in its saml:Advice (SAML core 2.3.3).",
    ),
    (
        "comment-truncation",
        "The signed NameID alice@example.com.evil.example split by a comment, which C14N ignores (CVE-2017-11427..11430).",
    ),
    (
        "xsw1-response-copy-in-signature",
        "XSW1 (SAML Raider): on a signed Response, the Response made the attacker's, an unsigned copy of the original inside its ds:Signature (Somorovsky et al., USENIX Security 2012).",
    ),
    (
        "xsw2-response-copy-before-signature",
        "XSW2 (SAML Raider): on a signed Response, the Response made the attacker's, an unsigned copy of the original just before its ds:Signature.",
    ),
    (
        "xsw5-original-copy-at-end",
        "XSW5 (SAML Raider): the evil assertion keeps the IdP's signature; an unsigned copy of the original is appended to the Response.",
    ),
    (
        "xsw6-original-copy-in-signature",
        "XSW6 (SAML Raider): the evil assertion keeps the IdP's signature; an unsigned copy of the original is inside that ds:Signature.",
    ),
    (
        "xsw7-evil-in-unqualified-extensions",
        "XSW7 (SAML Raider): an Extensions element in no namespace holds an unsigned evil copy with the signed ID.",
    ),
    (
        "xsw8-original-copy-in-unqualified-object",
        "XSW8 (SAML Raider): the evil assertion keeps the signed ID and signature; an Object in no namespace inside it holds an unsigned copy of the original.",
    ),
    (
        "signature-removed",
        "Signature exclusion: the assertion's ds:Signature removed and its NameID made the attacker's.",
    ),
    (
        "empty-signature-value",
        "The assertion's ds:SignatureValue emptied, nothing else changed.",
    ),
    (
        "response-signature-moved-into-assertion",
        "On a signed Response, the Response's ds:Signature moved into the assertion: a valid signature over another element than its parent.",
    ),
    (
        "xml-id-on-response",
        "An xml:id on the unsigned Response carrying the signed assertion's ID, which libxml2 enters in the ID table while parsing.",
    ),
    (
        "nested-response-in-extensions",
        "A bare samlp:Response with the signed assertion's ID nested in samlp:Extensions (CVE-2025-23369 style ID-table collision).",
    ),
    (
        "nested-response-in-key-info",
        "A bare samlp:Response with the signed assertion's ID nested in the signature's ds:KeyInfo, which no digest covers.",
    ),
    (
        "id-via-entity",
        "CVE-2025-23369 as SAML Raider builds it: IDs written through entities of an internal DTD, the signed assertion in a copied signature's ds:Object.",
    ),
    (
        "second-signed-info",
        "CVE-2025-29774 (xml-crypto): the assertion made the attacker's, a second ds:SignedInfo carrying its digest.",
    ),
    (
        "digest-value-comment",
        "CVE-2025-29775 (xml-crypto): the assertion made the attacker's, its digest in a comment before the original DigestValue.",
    ),
    (
        "samlify-signed-response-inside-evil",
        "CVE-2025-47949 (samlify): the IdP's whole signed Response nested in the attacker's, after an unsigned evil assertion.",
    ),
    (
        "duplicate-namespace-declaration",
        "CVE-2025-25292 (ruby-saml, namespace handling): an evil assertion declaring xmlns:saml twice, a foreign URI first, SAML's second.",
    ),
    (
        "evil-assertion-namespace-trailing-slash",
        "The Fragile Lock (namespace confusion): an unsigned evil assertion in SAML's namespace URI with a trailing slash.",
    ),
    (
        "evil-assertion-namespace-upper-case",
        "The Fragile Lock (namespace confusion): an unsigned evil assertion in urn:oasis:names:tc:SAML:2.0:Assertion.",
    ),
    (
        "evil-assertion-namespace-homoglyph",
        "The Fragile Lock (namespace confusion): an unsigned evil assertion in SAML's namespace spelt with a Cyrillic a.",
    ),
    (
        "evil-assertion-foreign-namespace",
        "The Fragile Lock (namespace confusion): an unsigned evil saml:Assertion whose saml prefix is bound to a foreign namespace.",
    ),
    (
        "prefixed-id-on-evil-assertion",
        "The Fragile Lock (attribute pollution): an evil assertion carrying samlp:ID equal to the signed assertion's ID.",
    ),
    (
        "prefixed-id-on-response",
        "The Fragile Lock (attribute pollution): the Response carrying saml:ID equal to the signed assertion's ID.",
    ),
    (
        "samlify-signed-assertion-in-logout-request",
        "CVE-2025-47949's carrier variant: the IdP's signed assertion, after an evil one, in the attacker's samlp:LogoutRequest.",
    ),
    (
        "samlify-signed-assertion-in-authn-request",
        "CVE-2025-47949's carrier variant: the IdP's signed assertion, after an evil one, in the attacker's samlp:AuthnRequest.",
    ),
];

/// The knobs of profile `name`, or `None` if there is no such profile.
pub fn get(name: &str) -> Option<Knobs> {
    let valid = Knobs::default();
    let evil = |path: &str| Some(format!("{EVIL_HOST}{path}"));
    let wrapped = |attack| Knobs {
        signature_wrapping: Some(attack),
        ..Knobs::default()
    };
    let on_response = |attack| Knobs {
        sign: SignTarget::Response,
        ..wrapped(attack)
    };
    let knobs = match name {
        "valid" => valid,
        "sha1" => Knobs {
            signature_algorithm: SignatureAlgorithm::RsaSha1,
            digest_algorithm: DigestAlgorithm::Sha1,
            ..valid
        },
        "wrong-audience" => Knobs {
            audience_override: evil("/saml/metadata"),
            ..valid
        },
        "skewed-clock" => Knobs {
            clock_offset_secs: 600,
            ..valid
        },
        "skewed-clock-within-tolerance" => Knobs {
            clock_offset_secs: 60,
            ..valid
        },
        "missing-groups" => Knobs {
            omit_groups: true,
            ..valid
        },
        "entra-guid-groups" => Knobs {
            attribute_style: AttributeStyle::Entra,
            group_format: GroupFormat::EntraGuids,
            ..valid
        },
        "entra-group-overage" => Knobs {
            attribute_style: AttributeStyle::Entra,
            group_overage: true,
            ..valid
        },
        "unsigned" => Knobs {
            sign: SignTarget::Neither,
            ..valid
        },
        "wrong-key" => Knobs {
            signing_key: SigningKey::Attacker,
            ..valid
        },
        "expired" => Knobs {
            clock_offset_secs: -20 * 60,
            validity_secs: 5 * 60,
            ..valid
        },
        "wrong-destination" => Knobs {
            destination_override: evil("/saml/acs"),
            ..valid
        },
        "wrong-recipient" => Knobs {
            recipient_override: evil("/saml/acs"),
            ..valid
        },
        "sign-response" => Knobs {
            sign: SignTarget::Response,
            ..valid
        },
        "sign-both" => Knobs {
            sign: SignTarget::Both,
            ..valid
        },
        "wrong-issuer" => Knobs {
            issuer_override: evil("/idp"),
            ..valid
        },
        "no-audience-restriction" => Knobs {
            omit_audience_restriction: true,
            ..valid
        },
        "unsolicited" => Knobs {
            omit_in_response_to: true,
            ..valid
        },
        "wrong-in-response-to" => Knobs {
            in_response_to_override: Some("_0000000000000000000000000000000000000bad".to_owned()),
            ..valid
        },
        "authn-failed" => Knobs {
            status_code: "responder".to_owned().try_into().ok()?,
            sub_status_code: Some("authn_failed".to_owned().try_into().ok()?),
            ..valid
        },
        "no-session-expiry" => Knobs {
            session_not_on_or_after_secs: None,
            ..valid
        },
        "shotgun-attributes" => Knobs {
            attribute_style: AttributeStyle::Shotgun,
            ..valid
        },
        "encrypted" => Knobs {
            encrypt_assertion: true,
            ..valid
        },
        "encrypted-sha1" => Knobs {
            encrypt_assertion: true,
            signature_algorithm: SignatureAlgorithm::RsaSha1,
            digest_algorithm: DigestAlgorithm::Sha1,
            ..valid
        },
        "encrypted-unsigned" => Knobs {
            encrypt_assertion: true,
            sign: SignTarget::Neither,
            ..valid
        },
        "encrypted-attacker-signed" => Knobs {
            encrypt_assertion: true,
            signing_key: SigningKey::Attacker,
            ..valid
        },
        "encrypted-wrong-key" => Knobs {
            encrypt_assertion: true,
            encrypt_to: EncryptTo::WrongKey,
            ..valid
        },
        "encrypted-corrupt" => Knobs {
            encrypt_assertion: true,
            corrupt_ciphertext: true,
            ..valid
        },
        "xsw-evil-before" => wrapped(SignatureWrapping::EvilBefore),
        "xsw-evil-after" => wrapped(SignatureWrapping::EvilAfter),
        "xsw-extensions" => wrapped(SignatureWrapping::SignedInExtensions),
        "xsw-signature-object" => wrapped(SignatureWrapping::SignedInSignatureObject),
        "xsw-evil-wraps-signed" => wrapped(SignatureWrapping::EvilWrapsSigned),
        "xsw-duplicate-id" => wrapped(SignatureWrapping::DuplicateId),
        "xsw-signed-in-advice" => wrapped(SignatureWrapping::SignedInEvilAdvice),
        "xsw1-response-copy-in-signature" => {
            on_response(SignatureWrapping::ResponseCopyInSignature)
        }
        "xsw2-response-copy-before-signature" => {
            on_response(SignatureWrapping::ResponseCopyBeforeSignature)
        }
        "xsw5-original-copy-at-end" => wrapped(SignatureWrapping::EvilKeepsSignatureOriginalAtEnd),
        "xsw6-original-copy-in-signature" => {
            wrapped(SignatureWrapping::EvilKeepsSignatureOriginalInSignature)
        }
        "xsw7-evil-in-unqualified-extensions" => {
            wrapped(SignatureWrapping::EvilInUnqualifiedExtensions)
        }
        "xsw8-original-copy-in-unqualified-object" => {
            wrapped(SignatureWrapping::OriginalInUnqualifiedObject)
        }
        "signature-removed" => wrapped(SignatureWrapping::SignatureRemoved),
        "empty-signature-value" => wrapped(SignatureWrapping::EmptySignatureValue),
        "response-signature-moved-into-assertion" => {
            on_response(SignatureWrapping::ResponseSignatureMovedIntoAssertion)
        }
        "xml-id-on-response" => wrapped(SignatureWrapping::XmlIdOnResponse),
        "nested-response-in-extensions" => wrapped(SignatureWrapping::NestedResponseInExtensions),
        "nested-response-in-key-info" => wrapped(SignatureWrapping::NestedResponseInKeyInfo),
        "id-via-entity" => wrapped(SignatureWrapping::IdViaEntity),
        "second-signed-info" => wrapped(SignatureWrapping::SecondSignedInfo),
        "digest-value-comment" => wrapped(SignatureWrapping::DigestValueComment),
        "duplicate-namespace-declaration" => {
            wrapped(SignatureWrapping::DuplicateNamespaceDeclaration)
        }
        "evil-assertion-namespace-trailing-slash" => {
            wrapped(SignatureWrapping::EvilAssertionNamespaceTrailingSlash)
        }
        "evil-assertion-namespace-upper-case" => {
            wrapped(SignatureWrapping::EvilAssertionNamespaceUpperCase)
        }
        "evil-assertion-namespace-homoglyph" => {
            wrapped(SignatureWrapping::EvilAssertionNamespaceHomoglyph)
        }
        "evil-assertion-foreign-namespace" => {
            wrapped(SignatureWrapping::EvilAssertionForeignNamespace)
        }
        "prefixed-id-on-evil-assertion" => wrapped(SignatureWrapping::PrefixedIdOnEvilAssertion),
        "prefixed-id-on-response" => wrapped(SignatureWrapping::PrefixedIdOnResponse),
        "samlify-signed-assertion-in-logout-request" => {
            wrapped(SignatureWrapping::SignedAssertionInLogoutRequest)
        }
        "samlify-signed-assertion-in-authn-request" => {
            wrapped(SignatureWrapping::SignedAssertionInAuthnRequest)
        }
        "samlify-signed-response-inside-evil" => {
            wrapped(SignatureWrapping::SignedResponseInsideEvil)
        }
        "comment-truncation" => Knobs {
            name_id_value: Some(format!(
                "alice@example.com{}",
                crate::attacks::TRUNCATED_SUFFIX
            )),
            ..wrapped(SignatureWrapping::CommentTruncation)
        },
        _ => return None,
    };
    Some(knobs)
}

/// Every profile name, comma-separated (for error messages).
pub fn names() -> String {
    ALL.iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalogue is checked when it loads, like BoringSSL's `checkTests`: every listed profile
    /// exists, validates, and differs from `valid` unless it is `valid`.
    #[test]
    fn every_listed_profile_exists_validates_and_is_distinct() {
        let valid = get("valid").expect("valid");
        for (name, description) in ALL {
            let knobs =
                get(name).unwrap_or_else(|| panic!("profile {name} is listed but not defined"));
            knobs
                .validate()
                .unwrap_or_else(|e| panic!("profile {name}: {e}"));
            assert!(!description.is_empty());
            assert!(
                *name == "valid" || knobs != valid,
                "profile {name} is the same as valid"
            );
        }
        assert_eq!(valid, Knobs::default());
        assert!(get("nonsense").is_none());
    }
}
