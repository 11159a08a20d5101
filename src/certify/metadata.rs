//! Checks of an IdP's metadata: its entity ID, signature and lifetime, each certificate
//! (validity, key, the algorithm it was signed with), endpoints and bindings, request signing
//! and NameID formats — as the reference SP would use them.

use sp::certificate::{self, CertificateInfo, KeyKind};
use sp::metadata::{BINDING_POST, BINDING_REDIRECT, IdpMetadata};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Item, Status};

/// A certificate expiring within this many days is a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;
/// RSA keys shorter than this fail (NIST SP 800-131A; the SP's `min_rsa_bits` default).
pub const MIN_RSA_BITS: u32 = 2048;

const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";

/// The metadata items, judged at `now`.
pub fn check(parsed: &Result<IdpMetadata, String>, now: OffsetDateTime) -> Vec<Item> {
    let md = match parsed {
        Ok(md) => md,
        Err(message) => {
            return vec![Item::fail(
                "metadata.parse",
                "Metadata document",
                message.clone(),
                "Download the IdP's SAML 2.0 metadata XML again (an md:EntityDescriptor with an md:IDPSSODescriptor).",
            )];
        }
    };
    let mut items = vec![
        Item::pass(
            "metadata.parse",
            "Metadata document",
            "an md:EntityDescriptor with an md:IDPSSODescriptor",
        ),
        entity_id(&md.entity_id),
        signed(md.signed),
        valid_until(md.valid_until.as_deref(), now),
        cache_duration(md.cache_duration.as_deref()),
    ];
    items.extend(signing_keys(md, now));
    items.push(encryption_keys(md));
    items.push(single_sign_on(md));
    items.push(single_logout(md));
    items.push(request_signing(md.want_authn_requests_signed));
    items.push(name_id_formats(&md.name_id_formats));
    items
}

fn entity_id(id: &str) -> Item {
    const TITLE: &str = "Entity ID";
    const ID: &str = "metadata.entity_id";
    let trimmed = id.trim();
    let has_scheme = trimmed.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if trimmed.is_empty() {
        Item::fail(
            ID,
            TITLE,
            "the EntityDescriptor has no entityID",
            "Use metadata whose EntityDescriptor names the IdP (entityID); responses' Issuer must equal it.",
        )
    } else if trimmed != id || id.len() > 1024 {
        Item::warn(
            ID,
            TITLE,
            format!("{id:?} has surrounding whitespace or is longer than 1024 characters"),
            "Make the IdP's entity ID a URI of at most 1024 characters without spaces (SAML core §8.3.6).",
        )
    } else if !has_scheme {
        Item::warn(
            ID,
            TITLE,
            format!("{id:?} is not an absolute URI"),
            "Give the IdP an entity ID that is an absolute URI (https://… or urn:…), as SAML core §8.3.6 asks.",
        )
    } else {
        Item::pass(ID, TITLE, id)
    }
}

fn signed(signed: bool) -> Item {
    if signed {
        Item::pass(
            "metadata.signed",
            "Metadata signature",
            "the metadata carries a ds:Signature (not verified here: check it against your federation's key)",
        )
    } else {
        Item::warn(
            "metadata.signed",
            "Metadata signature",
            "the metadata is not signed, so nothing proves it comes from the IdP",
            "Fetch the metadata over HTTPS from the IdP itself and compare the certificate fingerprint with the IdP console.",
        )
    }
}

fn valid_until(value: Option<&str>, now: OffsetDateTime) -> Item {
    const ID: &str = "metadata.valid_until";
    const TITLE: &str = "Metadata validUntil";
    let Some(value) = value else {
        return Item::pass(ID, TITLE, "no validUntil: the metadata does not expire");
    };
    let Ok(until) = OffsetDateTime::parse(value.trim(), &Rfc3339) else {
        return Item::warn(
            ID,
            TITLE,
            format!("validUntil {value:?} is not an xs:dateTime with a time zone"),
            "Publish validUntil as an instant in UTC (e.g. 2030-01-01T00:00:00Z).",
        );
    };
    let days = (until - now).whole_days();
    if until <= now {
        Item::fail(
            ID,
            TITLE,
            format!("the metadata expired at {value}"),
            "Download current metadata from the IdP; expired metadata must not be trusted.",
        )
    } else if days < EXPIRY_WARNING_DAYS {
        Item::warn(
            ID,
            TITLE,
            format!("the metadata expires at {value}, in {days} days"),
            "Refresh the metadata from the IdP before it expires (automate it if the IdP republishes it).",
        )
    } else {
        Item::pass(ID, TITLE, format!("valid until {value} ({days} days)"))
    }
}

fn cache_duration(value: Option<&str>) -> Item {
    let reason = match value {
        Some(v) => format!("cacheDuration {v}: refresh the metadata at least this often"),
        None => "no cacheDuration".to_owned(),
    };
    Item::pass("metadata.cache_duration", "Metadata cacheDuration", reason)
}

/// The signing keys: how many (several means a rollover), then each certificate's validity, key
/// and signature algorithm.
fn signing_keys(md: &IdpMetadata, now: OffsetDateTime) -> Vec<Item> {
    let certs = md.signing_certificates();
    let mut items = vec![match certs.len() {
        0 => Item::fail(
            "metadata.signing_keys",
            "Signing keys",
            "no KeyDescriptor for signing (use=\"signing\" or no use) with an X509Certificate",
            "Export metadata that includes the IdP's signing certificate.",
        ),
        1 => Item::pass(
            "metadata.signing_keys",
            "Signing keys",
            "one signing certificate",
        ),
        n => Item::pass(
            "metadata.signing_keys",
            "Signing keys",
            format!(
                "{n} signing certificates: a key rollover; the SP trusts each, and each is checked below"
            ),
        ),
    }];
    for (index, pem) in certs.iter().enumerate() {
        items.extend(certificate_items(index, pem, now));
    }
    items
}

fn certificate_items(index: usize, pem: &str, now: OffsetDateTime) -> Vec<Item> {
    let prefix = format!("metadata.certificate.{index}");
    let title = |what: &str| format!("Signing certificate #{index}: {what}");
    let info = match certificate::inspect(pem) {
        Ok(info) => info,
        Err(e) => {
            return vec![Item::fail(
                format!("{prefix}.parse"),
                title("parse"),
                e,
                "Replace the X509Certificate with the IdP's signing certificate (base64 DER).",
            )];
        }
    };
    vec![
        validity(
            &format!("{prefix}.validity"),
            &title("validity"),
            &info,
            now,
        ),
        key(&format!("{prefix}.key"), &title("key"), &info),
        cert_signature(
            &format!("{prefix}.signature_algorithm"),
            &title("signature algorithm"),
            &info,
        ),
    ]
}

fn validity(id: &str, title: &str, info: &CertificateInfo, now: OffsetDateTime) -> Item {
    let days = (info.not_after - now).whole_days();
    let who = format!("{} (SHA-256 {})", info.subject, info.sha256_fingerprint);
    if now > info.not_after {
        Item::fail(
            id,
            title,
            format!(
                "{who} expired on {} ({} days ago)",
                info.not_after.date(),
                -days
            ),
            "Renew the IdP's signing certificate, then give the SP the new metadata (the reference SP only warns on expiry, but many SPs refuse).",
        )
    } else if now < info.not_before {
        Item::warn(
            id,
            title,
            format!("{who} is not valid before {}", info.not_before.date()),
            "A certificate for a future rollover is fine; make sure the IdP does not sign with it before its notBefore.",
        )
    } else if days < EXPIRY_WARNING_DAYS {
        Item::warn(
            id,
            title,
            format!("{who} expires on {}, in {days} days", info.not_after.date()),
            "Plan the rollover now: add the new certificate to the metadata beside this one, then switch the IdP to it.",
        )
    } else {
        Item::pass(
            id,
            title,
            format!("{who} valid until {} ({days} days)", info.not_after.date()),
        )
    }
}

fn key(id: &str, title: &str, info: &CertificateInfo) -> Item {
    match &info.key {
        KeyKind::Rsa { bits } if *bits < MIN_RSA_BITS => Item::fail(
            id,
            title,
            format!(
                "RSA {bits} bits, under {MIN_RSA_BITS} (the SP refuses it: signature.weak_key)"
            ),
            "Issue a new signing certificate with an RSA key of at least 2048 bits.",
        ),
        KeyKind::Rsa { bits } => Item::pass(id, title, format!("RSA {bits} bits")),
        KeyKind::Ec { curve, bits } => {
            let known = ["prime256v1", "secp384r1", "secp521r1"].contains(&curve.as_str());
            Item::judged(
                id,
                if known { Status::Warn } else { Status::Fail },
                title,
                format!("EC {curve} ({bits} bits); the reference SP verifies RSA signatures only"),
                "Sign with an RSA-2048 (or larger) key for SPs that accept only RSA-SHA256, as the reference SP does.",
            )
        }
        KeyKind::Other { name, bits } => Item::fail(
            id,
            title,
            format!("{name} key ({bits} bits): not a key SAML SPs commonly verify"),
            "Issue a signing certificate with an RSA key of at least 2048 bits.",
        ),
    }
}

fn cert_signature(id: &str, title: &str, info: &CertificateInfo) -> Item {
    let alg = info.signature_algorithm.to_ascii_lowercase();
    if alg.contains("md5") || alg.contains("md2") {
        Item::fail(
            id,
            title,
            format!("{}: broken", info.signature_algorithm),
            "Reissue the certificate signed with SHA-256.",
        )
    } else if alg.contains("sha1") {
        Item::warn(
            id,
            title,
            format!(
                "{}: the certificate itself is signed with SHA-1 (harmless for a pinned key, but many tools reject it)",
                info.signature_algorithm
            ),
            "Reissue the certificate signed with SHA-256 at the next rollover.",
        )
    } else {
        Item::pass(id, title, info.signature_algorithm.clone())
    }
}

fn encryption_keys(md: &IdpMetadata) -> Item {
    let n = md
        .keys
        .iter()
        .filter(|k| k.usage.as_deref() == Some("encryption"))
        .count();
    let reason = match n {
        0 => {
            "no use=\"encryption\" key (none needed: the SP encrypts nothing to the IdP)".to_owned()
        }
        n => format!(
            "{n} use=\"encryption\" key(s); not used by the SP, which encrypts nothing to the IdP"
        ),
    };
    Item::pass("metadata.encryption_keys", "Encryption keys", reason)
}

fn bindings(endpoints: &[sp::metadata::Endpoint]) -> String {
    endpoints
        .iter()
        .map(|e| {
            let binding = e.binding.rsplit(':').next().unwrap_or(&e.binding);
            format!("{binding} {}", e.location)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn insecure(location: &str) -> bool {
    location.starts_with("http://")
        && !["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| location.starts_with(p))
}

fn single_sign_on(md: &IdpMetadata) -> Item {
    const ID: &str = "metadata.single_sign_on";
    const TITLE: &str = "SingleSignOnService";
    let listed = bindings(&md.single_sign_on);
    match md.sso_location(BINDING_REDIRECT) {
        None if md.sso_location(BINDING_POST).is_some() => Item::fail(
            ID,
            TITLE,
            format!("HTTP-POST only ({listed}); the SP sends AuthnRequests over HTTP-Redirect"),
            "Enable the HTTP-Redirect binding for SingleSignOnService at the IdP, or sign in IdP-initiated only.",
        ),
        None => Item::fail(
            ID,
            TITLE,
            "no SingleSignOnService with HTTP-Redirect or HTTP-POST",
            "Export metadata with the IdP's SSO endpoint (HTTP-Redirect binding).",
        ),
        Some(location) if insecure(location) => Item::warn(
            ID,
            TITLE,
            format!("{listed}: plain http"),
            "Serve the IdP's SSO endpoint over HTTPS.",
        ),
        Some(_) => Item::pass(ID, TITLE, listed),
    }
}

fn single_logout(md: &IdpMetadata) -> Item {
    const ID: &str = "metadata.single_logout";
    const TITLE: &str = "SingleLogoutService";
    if md.single_logout.is_empty() {
        Item::warn(
            ID,
            TITLE,
            "none: signing out of the SP will not sign the user out of the IdP",
            "Enable single logout at the IdP (HTTP-Redirect or HTTP-POST) if users expect sign-out to end the IdP session.",
        )
    } else {
        Item::pass(ID, TITLE, bindings(&md.single_logout))
    }
}

fn request_signing(want_signed: bool) -> Item {
    if want_signed {
        Item::warn(
            "metadata.want_authn_requests_signed",
            "WantAuthnRequestsSigned",
            "true: the IdP refuses unsigned AuthnRequests, and the reference SP sends them unsigned",
            "Turn off \"require signed requests\" at the IdP for this SP, or use an SP that signs its AuthnRequests.",
        )
    } else {
        Item::pass(
            "metadata.want_authn_requests_signed",
            "WantAuthnRequestsSigned",
            "false or absent: unsigned AuthnRequests are accepted",
        )
    }
}

fn name_id_formats(formats: &[String]) -> Item {
    const ID: &str = "metadata.name_id_formats";
    const TITLE: &str = "NameID formats";
    if formats.is_empty() {
        return Item::pass(ID, TITLE, "none listed (the IdP chooses)");
    }
    let listed = formats.join(", ");
    if formats.iter().all(|f| f == NAMEID_TRANSIENT) {
        Item::warn(
            ID,
            TITLE,
            format!("{listed}: a new identifier at every sign-in"),
            "Offer a persistent or emailAddress NameID so that the SP can recognise a returning user.",
        )
    } else {
        Item::pass(ID, TITLE, listed)
    }
}
