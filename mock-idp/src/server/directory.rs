//! Changes to the IdP's user directory while it runs, as an admin would make them at a real IdP:
//! revoking access, changing group memberships, removing a user. SPs see them at the next sign-in or passive renewal.

use serde::Deserialize;

use super::{ControlError, Idp};
use crate::users::User;

/// Body of `POST /_control/users/{login}`: the fields to change (absent ones stay).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    /// The application access flag (sent as `access` in the shotgun attribute style).
    pub access: Option<bool>,
    /// The group memberships, replacing the current ones (sent as the groups attribute).
    #[serde(default)]
    pub groups: Option<Vec<crate::users::Group>>,
}

impl Idp {
    /// The current directory.
    pub fn users(&self) -> Vec<User> {
        self.state().users.clone()
    }

    /// Sets `user`'s (login or email) access flag. Live sessions stay: passive renewals keep
    /// answering, now with `access=false`, so the SP is the one that must refuse.
    pub fn set_user_access(&self, user: &str, access: bool) -> Result<User, ControlError> {
        self.change_user(
            user,
            UserChange {
                access: Some(access),
                ..UserChange::default()
            },
        )
    }

    /// Applies `change` to `user` (login or email) and returns the updated user.
    pub fn change_user(&self, user: &str, change: UserChange) -> Result<User, ControlError> {
        let mut state = self.state();
        let found = state
            .users
            .iter_mut()
            .find(|u| u.matches(user))
            .ok_or_else(|| ControlError::UnknownUser(user.to_owned()))?;
        if let Some(access) = change.access {
            found.access = access;
        }
        if let Some(groups) = change.groups {
            found.groups = groups;
        }
        tracing::info!(user = %found.login, access = found.access, groups = found.groups.len(), "user changed");
        Ok(found.clone())
    }

    /// Removes `user` (login or email) from the directory and ends their sessions, so passive
    /// requests for them get NoPassive. Returns the removed user.
    pub fn remove_user(&self, user: &str) -> Result<User, ControlError> {
        let removed = {
            let mut state = self.state();
            let index = state
                .users
                .iter()
                .position(|u| u.matches(user))
                .ok_or_else(|| ControlError::UnknownUser(user.to_owned()))?;
            state.users.remove(index)
        };
        let ended = self.end_sessions_where(|s| s.login == removed.login).len();
        tracing::info!(user = %removed.login, ended, "user removed");
        Ok(removed)
    }
}
