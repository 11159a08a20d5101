//! The test sign-in of an IdP (OnTrackio's stage-then-enable steps): `/login?idp=…&test=1` sends
//! an ordinary AuthnRequest marked as a test; its verified answer is reported — which attribute
//! gave the e-mail (or the NameID), the names, the groups, whether the identity resolves under
//! the SP's policies — and signs nobody in. It is the only way a staged IdP (`enabled = false`) is reached.

use serde_json::{Value, json};

use crate::config::SpConfig;
use crate::identity;
use crate::verify::VerifiedResponse;

const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// The first of `names` the assertion carries with a non-empty value.
fn matched<'a>(verified: &VerifiedResponse, names: &'a [String]) -> Option<&'a str> {
    names
        .iter()
        .find(|name| {
            verified
                .attributes
                .iter()
                .any(|a| &a.name == *name && a.values.iter().any(|v| !v.trim().is_empty()))
        })
        .map(String::as_str)
}

/// What the test found, as JSON (the page shows it; the audit detail summarises it).
pub(super) fn report(verified: &VerifiedResponse, config: &SpConfig) -> Value {
    let candidates = &config.attributes;
    let email_source = match matched(verified, &candidates.email) {
        Some(name) => Some(format!("attribute {name}")),
        None if verified.name_id_format.as_deref() == Some(NAMEID_EMAIL) => {
            Some("NameID (emailAddress format)".to_owned())
        }
        None => None,
    };
    let live = config
        .idp_by_entity_id(&verified.issuer)
        .is_some_and(|idp| idp.enabled);
    let resolved = identity::resolve(verified, config);
    json!({
        "idp": verified.issuer,
        "live": live,
        "name_id": verified.name_id,
        "name_id_format": verified.name_id_format,
        "attributes_received": verified.attributes.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        "email_maps": email_source.is_some(),
        "email_source": email_source,
        "email_candidates": candidates.email,
        "first_name_attribute": matched(verified, &candidates.first_name),
        "last_name_attribute": matched(verified, &candidates.last_name),
        "groups_attribute": matched(verified, &candidates.groups),
        "login_attribute": matched(verified, &candidates.login),
        "email": resolved.as_ref().ok().map(|i| i.email.clone()),
        "groups": resolved.as_ref().ok().map(|i| i.groups.clone()),
        // The assertion's identity under this SP's policies (domains, `access`, sizes); whether
        // a user exists or would be provisioned is not tested.
        "identity_check": match &resolved {
            Ok(_) => "resolved".to_owned(),
            Err(rejection) => format!("refused: {}", rejection.reason.code()),
        },
    })
}

/// One line for the audit log.
pub(super) fn summary(report: &Value) -> String {
    format!(
        "test sign-in (no session): e-mail from {}; attributes received {}; identity {}",
        report["email_source"]
            .as_str()
            .unwrap_or("nothing (it does not map)"),
        report["attributes_received"],
        report["identity_check"].as_str().unwrap_or("?"),
    )
}
