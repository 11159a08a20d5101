//! Password setup for users created under SSO (Flow Production Tracking: an administrator created
//! while SSO was on has no password, and sets one through "Forgot login or password?" to use the
//! recovery login when SSO breaks).
//!
//! The SP sends no mail, so an admin action issues the token (`POST /admin/password-setup`, or
//! the scenario runner's `issue_password_setup` step) and it is shown once. A token is random,
//! stored only as its SHA-256, expires after `password_setup_ttl_secs`, sets a password once, and
//! is replaced by the next one issued for the same user (one row per user: the table never holds
//! more rows than there are users). Rows outlive their expiry by [`REMEMBERED_SECS`] so that a
//! late or second use is answered as such rather than as an unknown token.

use sqlx::Row;
use time::OffsetDateTime;

use crate::reason::Reason;
use crate::store::{AuditEvent, Store, StoreResult, User};

/// The local "IdP" of password-setup audit rows.
pub const AUDIT_ISSUER: &str = "local:password-setup";

/// How long a token's row is kept after it expired.
pub const REMEMBERED_SECS: u32 = 7 * 24 * 3600;

/// Fewest characters of a password set this way.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// What a presented token is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    /// It may set the password of this user.
    Usable {
        user_id: i64,
    },
    Unknown,
    Expired,
    Used,
}

impl TokenState {
    /// The refusal of a token that is not usable.
    pub fn refusal(self) -> Option<Reason> {
        match self {
            TokenState::Usable { .. } => None,
            TokenState::Unknown => Some(Reason::PasswordSetupTokenIsUnknown),
            TokenState::Expired => Some(Reason::PasswordSetupTokenHasExpired),
            TokenState::Used => Some(Reason::PasswordSetupTokenWasUsed),
        }
    }
}

/// Issues a password-setup link for `user`, valid `ttl_secs` from `now` (replacing an earlier
/// one), audited as `password_setup.issued` with who asked; returns the link's path
/// (`/password/setup/{token}`), to be shown once. The SP (`POST /admin/password-setup`) and
/// `samlconf password-setup` both issue through this.
pub async fn issue(
    store: &Store,
    user: &User,
    issued_by: &str,
    now: OffsetDateTime,
    ttl_secs: u32,
) -> StoreResult<String> {
    let token = store.issue_password_setup(user.id, now, ttl_secs).await?;
    store
        .audit(&AuditEvent {
            at: now,
            kind: "password_setup.issued".into(),
            code: None,
            idp: Some(AUDIT_ISSUER.into()),
            subject: Some(issued_by.into()),
            user_email: Some(user.email.clone()),
            groups: vec![],
            detail: format!(
                "a password-setup link for user {} issued by {issued_by}, valid {ttl_secs} s",
                user.id
            ),
        })
        .await?;
    Ok(format!("/password/setup/{token}"))
}

/// What is stored of a token: its SHA-256, as hex.
fn token_hash(token: &str) -> String {
    openssl::sha::sha256(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Store {
    /// Issues a password-setup token for `user_id`, valid for `ttl_secs`, replacing any earlier
    /// one of that user; returns the token (which is not stored).
    pub async fn issue_password_setup(
        &self,
        user_id: i64,
        now: OffsetDateTime,
        ttl_secs: u32,
    ) -> StoreResult<String> {
        let token = crate::token::random_hex(32);
        let expires_at = crate::clock::add_secs(now, ttl_secs);
        let forget_at = crate::clock::add_secs(expires_at, REMEMBERED_SECS);
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM password_setups WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO password_setups (token_hash, user_id, created_at, expires_at, forget_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(now.unix_timestamp())
        .bind(expires_at.unix_timestamp())
        .bind(forget_at.unix_timestamp())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// What `token` is worth at `now`, without using it.
    pub async fn password_setup_state(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> StoreResult<TokenState> {
        let row = sqlx::query(
            "SELECT user_id, expires_at, used_at FROM password_setups WHERE token_hash = $1",
        )
        .bind(token_hash(token))
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            None => TokenState::Unknown,
            Some(row) if row.get::<Option<i64>, _>("used_at").is_some() => TokenState::Used,
            Some(row) if row.get::<i64, _>("expires_at") <= now.unix_timestamp() => {
                TokenState::Expired
            }
            Some(row) => TokenState::Usable {
                user_id: row.get("user_id"),
            },
        })
    }

    /// Uses `token` to set a password (an Argon2 PHC string): marks it used and stores the hash
    /// in one transaction, only if it is still usable at `now` (of two posts at once, one wins).
    /// Returns the token's state before (`Usable` when the password was set).
    pub async fn complete_password_setup(
        &self,
        token: &str,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<TokenState> {
        let mut tx = self.pool.begin().await?;
        let used = sqlx::query(
            "UPDATE password_setups SET used_at = $1
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3 RETURNING user_id",
        )
        .bind(now.unix_timestamp())
        .bind(token_hash(token))
        .bind(now.unix_timestamp())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = used else {
            tx.rollback().await?;
            return self.password_setup_state(token, now).await;
        };
        let user_id: i64 = row.get("user_id");
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(TokenState::Usable { user_id })
    }

    /// Deletes the token rows no longer remembered at `now` (part of [`Store::sweep`]).
    pub(crate) async fn forget_password_setups(&self, now: OffsetDateTime) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM password_setups WHERE forget_at <= $1")
                .bind(now.unix_timestamp())
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::token_hash;

    #[test]
    fn only_a_hash_of_the_token_is_kept() {
        let hash = token_hash("abc");
        assert_eq!(
            hash,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(token_hash("abd"), hash);
    }
}
