//! The people the mock IdP can sign in.

use serde::{Deserialize, Serialize};

/// A user account at the IdP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Short login name (`alice`); accepted as a `login_hint`.
    pub login: String,
    /// Email address; the default NameID and accepted as a `login_hint`.
    pub email: String,
    /// Given name (`givenName` / `givenname` / `firstname` attribute).
    pub first_name: String,
    /// Family name (`sn` / `surname` / `lastname` attribute).
    pub last_name: String,
    /// Group memberships, sent as the groups attribute.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// The application-specific access flag (the `shotgun` attribute style's `access`).
    #[serde(default = "yes")]
    pub access: bool,
}

fn yes() -> bool {
    true
}

/// A group membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Display name, sent when `group_format` is `names`.
    pub name: String,
    /// Entra ID object id (a GUID), sent when `group_format` is `entra-guids`.
    pub object_id: String,
}

impl User {
    /// Whether `hint` names this user, by login or (case-insensitively) by email.
    pub fn matches(&self, hint: &str) -> bool {
        self.login == hint || self.email.eq_ignore_ascii_case(hint)
    }
}

/// Finds the user named by `hint` (login or email).
pub fn find<'a>(users: &'a [User], hint: &str) -> Option<&'a User> {
    users.iter().find(|user| user.matches(hint))
}

/// The demo directory. The CLI's demo SP configuration maps these exact users and groups.
pub fn demo_users() -> Vec<User> {
    fn user(login: &str, first: &str, last: &str, groups: &[(&str, &str)], access: bool) -> User {
        User {
            login: login.to_owned(),
            email: format!("{login}@example.com"),
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            groups: groups
                .iter()
                .map(|(name, object_id)| Group {
                    name: (*name).to_owned(),
                    object_id: (*object_id).to_owned(),
                })
                .collect(),
            access,
        }
    }
    vec![
        user(
            "alice",
            "Alice",
            "Anderson",
            &[("admins", "5f2c8e4a-1d3b-4c6e-9a7f-0b1d2e3f4a5b")],
            true,
        ),
        user("bob", "Bob", "Brown", &[], true),
        user(
            "carol",
            "Carol",
            "Chen",
            &[("engineering", "9d8e7f6a-5b4c-4d3e-8f2a-1b0c9d8e7f6a")],
            true,
        ),
        user(
            "dave",
            "Dave",
            "Davis",
            &[("contractors", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")],
            true,
        ),
        user("erin", "Erin", "Evans", &[], false),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_by_login_or_email() {
        let users = demo_users();
        assert_eq!(
            find(&users, "alice").map(|u| u.email.as_str()),
            Some("alice@example.com")
        );
        assert_eq!(
            find(&users, "Carol@Example.com").map(|u| u.login.as_str()),
            Some("carol")
        );
        assert!(find(&users, "mallory").is_none());
    }
}
