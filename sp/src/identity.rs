//! From a verified assertion to the person it names: e-mail, names, groups and roles, following
//! the configured attribute candidates and the SP's policies (allowed domains, `access`).
//!
//! Everything here reads only the [`VerifiedResponse`], which the verifier built from the signed
//! node; nothing goes back to the XML.
//!
//! Values are trimmed of XML whitespace only (space, tab, CR, LF), never of other Unicode spaces:
//! `"admin\u{A0}"` stays a different login from `"admin"` (see `sp/docs/configuration.md`).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::config::SpConfig;
use crate::reason::{Reason, Rejection};
use crate::verify::VerifiedResponse;
use crate::verify::tree::trim_xml_whitespace;

const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";

/// The person an accepted assertion speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Identity {
    /// The stable key of this identity at its IdP: the NameID, unless that is transient (a new
    /// value at every sign-in), in which case the login or e-mail.
    pub subject: String,
    pub login: Option<String>,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Group values exactly as received (names or Entra object IDs).
    pub groups: Vec<String>,
}

/// Resolves the identity, or refuses with `attribute.email_missing`, `email.domain_not_allowed`,
/// `access.denied` or `identity.too_large`.
pub fn resolve(verified: &VerifiedResponse, config: &SpConfig) -> Result<Identity, Rejection> {
    let candidates = &config.attributes;
    let first = |names: &[String]| -> Option<String> {
        names.iter().find_map(|name| {
            verified
                .attributes
                .iter()
                .find(|a| &a.name == name)
                .and_then(|a| {
                    a.values
                        .iter()
                        .map(|v| trim_xml_whitespace(v))
                        .find(|v| !v.is_empty())
                })
                .map(str::to_owned)
        })
    };
    let groups = group_values(verified, &candidates.groups);

    let name_id_is_email = verified.name_id_format.as_deref() == Some(NAMEID_EMAIL);
    let email = first(&candidates.email)
        .or_else(|| verified.name_id.clone().filter(|_| name_id_is_email))
        .ok_or_else(|| {
            let received: Vec<&str> = verified.attributes.iter().map(|a| a.name.as_str()).collect();
            rejection(
                Reason::EmailAttributeIsMissing,
                format!(
                    "no e-mail: none of the attributes {:?} is present and the NameID format is {}; attributes received: {:?}",
                    candidates.email,
                    verified.name_id_format.as_deref().unwrap_or("(none)"),
                    received
                ),
                verified,
            )
        })?;

    if !config.sp.allowed_email_domains.is_empty() {
        let domain = email
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default();
        let allowed = config
            .sp
            .allowed_email_domains
            .iter()
            .any(|d| d.trim_start_matches('@').eq_ignore_ascii_case(&domain));
        if !allowed {
            return Err(rejection(
                Reason::EmailDomainIsNotAllowed,
                format!(
                    "e-mail {email:?} is outside the allowed domains {:?}",
                    config.sp.allowed_email_domains
                ),
                verified,
            ));
        }
    }

    match first(&candidates.access) {
        Some(access) if !access.eq_ignore_ascii_case("true") => {
            return Err(rejection(
                Reason::AccessIsDeniedByPolicy,
                format!("the IdP sent access = {access:?}: this user is not granted access"),
                verified,
            ));
        }
        None if config.sp.require_access_attribute => {
            return Err(rejection(
                Reason::AccessIsDeniedByPolicy,
                format!(
                    "the IdP sent no access attribute ({:?}) and sp.require_access_attribute is on: access is granted only by access = true",
                    candidates.access
                ),
                verified,
            ));
        }
        _ => {}
    }

    let login = first(&candidates.login);
    let subject = match (&verified.name_id, verified.name_id_format.as_deref()) {
        (Some(name_id), format) if format != Some(NAMEID_TRANSIENT) => name_id.clone(),
        _ => login.clone().unwrap_or_else(|| email.clone()),
    };
    let identity = Identity {
        subject,
        login,
        email,
        first_name: first(&candidates.first_name),
        last_name: first(&candidates.last_name),
        groups,
    };
    check_sizes(verified, &identity, &config.limits)?;
    Ok(identity)
}

/// Every field the SP stores from the assertion, and the number of groups, within `[limits]`.
/// A verified but oversized value is refused rather than cut: a truncated NameID or e-mail
/// could name somebody else.
fn check_sizes(
    verified: &VerifiedResponse,
    identity: &Identity,
    limits: &crate::config::Limits,
) -> Result<(), Rejection> {
    let max = limits.max_identity_field_bytes;
    let fields = [
        ("NameID", verified.name_id.as_deref()),
        ("NameID Format", verified.name_id_format.as_deref()),
        ("SessionIndex", verified.session_index.as_deref()),
        ("e-mail", Some(identity.email.as_str())),
        ("login", identity.login.as_deref()),
        ("first name", identity.first_name.as_deref()),
        ("last name", identity.last_name.as_deref()),
    ];
    let too_long = fields
        .into_iter()
        .filter_map(|(what, value)| Some((what, value?.len())))
        .chain(identity.groups.iter().map(|g| ("a group value", g.len())))
        .find(|(_, len)| *len > max);
    if let Some((what, len)) = too_long {
        return Err(rejection(
            Reason::IdentityExceedsSizeLimits,
            format!("the {what} is {len} bytes; limits.max_identity_field_bytes is {max}"),
            verified,
        ));
    }
    if identity.groups.len() > limits.max_groups {
        return Err(rejection(
            Reason::IdentityExceedsSizeLimits,
            format!(
                "{} group values; limits.max_groups is {}",
                identity.groups.len(),
                limits.max_groups
            ),
            verified,
        ));
    }
    Ok(())
}

/// All values of every groups candidate attribute present, in order, without duplicates.
pub fn group_values(verified: &VerifiedResponse, candidates: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    candidates
        .iter()
        .flat_map(|name| verified.attributes.iter().filter(move |a| &a.name == name))
        .flat_map(|a| a.values.iter())
        .map(|v| trim_xml_whitespace(v))
        .filter(|v| !v.is_empty() && seen.insert(v.to_string()))
        .map(str::to_owned)
        .collect()
}

/// Roles granted by the groups an IdP sent: every exact (case-sensitive) mapping of that IdP
/// that matches; when none matches, that IdP's default role alone. A default role is never an
/// admin role (config validation).
pub fn roles_for(groups: &[String], config: &SpConfig, idp: &str) -> Vec<String> {
    let mapped = config
        .role_mappings_for(idp)
        .into_iter()
        .filter(|m| groups.iter().any(|g| g == &m.group))
        .map(|m| m.role.clone());
    // A group value that names a permission group is that role (Shotgun), exactly; like the
    // top-level mappings, for the primary IdP only (an additional IdP grants nothing unasked).
    let primary = idp == config.idp.entity_id;
    let named = config
        .sp
        .permission_groups
        .iter()
        .filter(|_| primary)
        .filter(|role| groups.iter().any(|g| g == *role))
        .cloned();
    let roles: BTreeSet<String> = mapped.chain(named).collect();
    if roles.is_empty() {
        vec![config.default_role_for(idp).to_owned()]
    } else {
        roles.into_iter().collect()
    }
}

fn rejection(reason: Reason, message: String, verified: &VerifiedResponse) -> Rejection {
    let mut rejection = Rejection::new(reason, message);
    rejection.context.issuer = Some(verified.issuer.clone());
    rejection.context.subject = verified.name_id.clone();
    rejection.context.groups_or_attributes = verified.attributes.clone();
    rejection
}

/// The claim Entra sends instead of the groups when a user is in more groups than fit in a
/// SAML token (150): a link to query them from Microsoft Graph.
pub const ENTRA_GROUPS_LINK: &str = "http://schemas.microsoft.com/claims/groups.link";

/// Whether any groups candidate attribute is present at all (even with no values).
pub fn groups_attribute_present(verified: &VerifiedResponse, candidates: &[String]) -> bool {
    verified
        .attributes
        .iter()
        .any(|a| candidates.contains(&a.name))
}

/// Whether the IdP announced group overage instead of sending the groups (Entra).
pub fn groups_overage(verified: &VerifiedResponse) -> bool {
    verified
        .attributes
        .iter()
        .any(|a| a.name == ENTRA_GROUPS_LINK)
}

/// The roles a user has after this sign-in, or `None` to leave them as they are.
///
/// - Entra group overage: the groups are unknown, not absent, so nothing changes (a new user
///   gets the default role); the caller audits a `groups.overage` warning.
/// - `replace` (OnTrackio): the mapped groups replace the roles, the default role when none maps.
/// - `keep_when_absent` (Shotgun): an absent or empty groups attribute changes nothing (a new user
///   gets the default role); present groups map as under `replace`.
pub fn roles_after_sign_in(
    config: &SpConfig,
    idp: &str,
    groups: &[String],
    groups_present: bool,
    overage: bool,
    is_new_user: bool,
) -> Option<Vec<String>> {
    let unknown = overage
        || (config.sp.role_sync == crate::config::RoleSync::KeepWhenAbsent
            && (!groups_present || groups.is_empty()));
    match (unknown, is_new_user) {
        (true, false) => None,
        (true, true) => Some(vec![config.default_role_for(idp).to_owned()]),
        (false, _) => Some(roles_for(groups, config, idp)),
    }
}
