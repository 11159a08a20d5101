//! Local accounts beside SSO identities: Argon2 passwords, invitations, and the pending links of
//! identities waiting on the linking page. Queries live here, next to the rules they serve.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, Salt, SaltString};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use time::OffsetDateTime;
use tokio::sync::Semaphore;

use crate::identity::Identity;
use crate::store::{Store, StoreResult, User};

/// A local account an admin creates (or a fixture pre-creates).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewLocalAccount {
    pub login: Option<String>,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `None`: no password (the account can only be reached through SSO or an invitation).
    pub password: Option<String>,
    pub roles: Vec<String>,
    /// `false`: SAML sign-in is refused for this account (`account.sso_not_allowed`).
    pub sso_allowed: bool,
}

/// A verified identity waiting on the linking page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLink {
    pub token: String,
    pub idp_entity_id: String,
    pub identity: PendingIdentity,
    pub matched_user_id: Option<i64>,
    pub failed_attempts: u32,
    pub locked: bool,
    pub relay_state: Option<String>,
}

/// What the sign-in established, kept until the link is decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingIdentity {
    pub identity: Identity,
    /// Whether a groups attribute was present (role sync needs to know).
    pub groups_present: bool,
    pub groups_overage: bool,
    pub name_id: Option<String>,
    /// The NameID's Format: single logout names the NameID exactly as the IdP sent it.
    #[serde(default)]
    pub name_id_format: Option<String>,
    pub session_index: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub session_expires_at: OffsetDateTime,
}

/// Hashes a password with Argon2id and a random salt (PHC string). Slow on purpose: call
/// [`hash_password_off_thread`] from async code.
pub fn hash_password(password: &str) -> String {
    // What SaltString::generate does, with the bytes from `rand` (the crate's one RNG) instead of
    // rand_core 0.6's OsRng.
    let mut bytes = [0u8; Salt::RECOMMENDED_LENGTH];
    rand::fill(&mut bytes[..]);
    let Ok(salt) = SaltString::encode_b64(&bytes) else {
        // 16 bytes always encode (the limit is 48); an empty hash never verifies.
        return String::new();
    };
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        // Hashing into a String with the default parameters cannot fail; an empty hash never verifies.
        .unwrap_or_default()
}

/// How [`Store::create_local_account_with`] hashes a fixture account's password.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PasswordHashing {
    /// Argon2id with the crate's default (OWASP) parameters: every account the SP creates.
    #[default]
    Standard,
    /// TEST FIXTURES ONLY: Argon2id with the smallest parameters (8 KiB, one pass), so that a
    /// test harness creating hundreds of throw-away accounts does not spend its time hashing. A
    /// hash is only as strong as its parameters: nothing but the scenario runner's fixtures uses
    /// this. Verification reads the parameters from the hash, so such a password still verifies.
    FastForTestFixtures,
}

/// [`hash_password`] with the smallest Argon2id parameters ([`PasswordHashing::FastForTestFixtures`]).
fn hash_password_fast_for_test_fixtures(password: &str) -> String {
    let mut bytes = [0u8; Salt::RECOMMENDED_LENGTH];
    rand::fill(&mut bytes[..]);
    let (Ok(salt), Ok(params)) = (
        SaltString::encode_b64(&bytes),
        argon2::Params::new(argon2::Params::MIN_M_COST, 1, 1, None),
    ) else {
        return String::new();
    };
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// Checks a password against a PHC string; anything malformed is a mismatch. Slow on purpose:
/// call [`verify_password_off_thread`] from async code.
pub fn password_matches(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash made once by [`hash_password`], so with the parameters of real hashes. An attempt on
/// an unknown account, or on one without a password, is verified against it and the result thrown
/// away, so that it takes as long as a real one (no enumeration by timing). A unit test keeps its
/// parameters equal to those of real hashes.
const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$1axDxrsoilBy4xJfoHCu3Q$73C+pVLmUd1CwPh6JL6hqMdLl9TG8dBfdir8ypU8GrA";

/// Argon2 runs at most this many at a time (each takes 19 MiB and a core for tens of ms), so
/// that a burst of attempts queues instead of exhausting memory.
static ARGON2_SLOTS: Semaphore = Semaphore::const_new(4);

/// Runs `work` on tokio's blocking pool, never on an async worker, within [`ARGON2_SLOTS`].
/// `None` when the pool is gone or the work panicked.
async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let permit = ARGON2_SLOTS.acquire().await.ok()?;
    tokio::task::spawn_blocking(move || {
        // Held until Argon2 is done, even if the request that waits for it has gone away.
        let _permit = permit;
        work()
    })
    .await
    .ok()
}

/// [`hash_password`] on the blocking pool; an empty hash (that never verifies) if it failed.
pub async fn hash_password_off_thread(password: &str) -> String {
    let password = password.to_owned();
    off_thread(move || hash_password(&password))
        .await
        .unwrap_or_default()
}

/// [`password_matches`] on the blocking pool. With no hash, the same work is done against
/// [`DUMMY_PHC`] and the answer is `false`.
pub async fn verify_password_off_thread(password: &str, phc: Option<String>) -> bool {
    let password = password.to_owned();
    off_thread(move || match phc {
        Some(phc) => password_matches(&password, &phc),
        None => {
            let _ = password_matches(&password, DUMMY_PHC);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// What checking a typed password against an account found. Only [`PasswordCheck::Matches`]
/// proves anything; the others are told apart only in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    Matches,
    IsWrong,
    AccountHasNoPassword,
    NoSuchAccount,
}

impl PasswordCheck {
    /// For the audit detail.
    pub fn describe(&self) -> &'static str {
        match self {
            PasswordCheck::Matches => "right password",
            PasswordCheck::IsWrong => "wrong password",
            PasswordCheck::AccountHasNoPassword => "the account has no password (SSO only)",
            PasswordCheck::NoSuchAccount => "no account has this username or e-mail",
        }
    }
}

fn random_token() -> String {
    crate::token::random_hex(24)
}

impl Store {
    /// Creates a local account with its roles.
    pub async fn create_local_account(
        &self,
        account: &NewLocalAccount,
        now: OffsetDateTime,
    ) -> StoreResult<User> {
        self.create_local_account_with(account, now, PasswordHashing::Standard)
            .await
    }

    /// [`Store::create_local_account`], with the password hashed as `hashing` says.
    pub async fn create_local_account_with(
        &self,
        account: &NewLocalAccount,
        now: OffsetDateTime,
        hashing: PasswordHashing,
    ) -> StoreResult<User> {
        let user = self
            .create_user(
                account.login.as_deref(),
                &account.email,
                account.first_name.as_deref(),
                account.last_name.as_deref(),
                "local",
                now,
            )
            .await?;
        let hash = match (account.password.as_deref(), hashing) {
            (Some(password), PasswordHashing::Standard) => {
                Some(hash_password_off_thread(password).await)
            }
            (Some(password), PasswordHashing::FastForTestFixtures) => {
                Some(hash_password_fast_for_test_fixtures(password))
            }
            (None, _) => None,
        };
        sqlx::query("UPDATE users SET password_hash = $1, sso_allowed = $2 WHERE id = $3")
            .bind(hash)
            .bind(i64::from(account.sso_allowed))
            .bind(user.id)
            .execute(&self.pool)
            .await?;
        self.set_roles(user.id, &account.roles).await?;
        Ok(user)
    }

    /// The Argon2 hash of a user's password, if the user has one.
    pub async fn password_hash(&self, user_id: i64) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|r| r.get("password_hash")))
    }

    /// Checks `password` against `user`'s hash. Every case costs one Argon2 verification (a dummy
    /// one without an account or a hash), run on the blocking pool.
    pub async fn check_password(
        &self,
        user: Option<&User>,
        password: &str,
    ) -> StoreResult<PasswordCheck> {
        let hash = match user {
            Some(user) => self.password_hash(user.id).await?,
            None => None,
        };
        let missing = match (user, &hash) {
            (None, _) => Some(PasswordCheck::NoSuchAccount),
            (Some(_), None) => Some(PasswordCheck::AccountHasNoPassword),
            (Some(_), Some(_)) => None,
        };
        let matches = verify_password_off_thread(password, hash).await;
        Ok(match missing {
            Some(missing) => missing,
            None if matches => PasswordCheck::Matches,
            None => PasswordCheck::IsWrong,
        })
    }

    pub async fn sso_allowed(&self, user_id: i64) -> StoreResult<bool> {
        let row = sqlx::query("SELECT sso_allowed FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .map(|r| r.get::<i64, _>("sso_allowed") != 0)
            .unwrap_or(false))
    }

    /// Local accounts whose login or e-mail equals the identity's (case-insensitive), oldest first.
    pub async fn users_matching(&self, login: Option<&str>, email: &str) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(
            "SELECT * FROM users WHERE email = $1 COLLATE NOCASE OR ($2 IS NOT NULL AND login = $3 COLLATE NOCASE) ORDER BY id",
        )
        .bind(email)
        .bind(login)
        .bind(login)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(Store::user_from_row).collect())
    }

    /// Users whose e-mail equals `email` (case-insensitive), oldest first: the candidates of
    /// automatic linking, which never matches by login.
    pub async fn users_with_email(&self, email: &str) -> StoreResult<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users WHERE email = $1 COLLATE NOCASE ORDER BY id")
            .bind(email)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(Store::user_from_row).collect())
    }

    /// The entity IDs of the IdPs a user has SSO identities at.
    pub async fn identity_idps(&self, user_id: i64) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT idp_entity_id FROM sso_identities WHERE user_id = $1 ORDER BY idp_entity_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get("idp_entity_id")).collect())
    }

    /// A user by login or e-mail (what a person types on a form).
    pub async fn user_by_login_or_email(&self, name: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT * FROM users WHERE login = $1 COLLATE NOCASE OR email = $2 COLLATE NOCASE ORDER BY id LIMIT 1",
        )
        .bind(name)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(Store::user_from_row))
    }

    /// Gives a user an invitation token and returns it.
    pub async fn invite(&self, user_id: i64) -> StoreResult<String> {
        let token = random_token();
        sqlx::query("UPDATE users SET invitation_token = $1 WHERE id = $2")
            .bind(&token)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(token)
    }

    pub async fn user_by_invitation(&self, token: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE invitation_token = $1")
            .bind(token)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(Store::user_from_row))
    }

    /// An invitation is used once.
    pub async fn clear_invitation(&self, user_id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE users SET invitation_token = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn create_pending_link(
        &self,
        idp_entity_id: &str,
        identity: &PendingIdentity,
        matched_user_id: Option<i64>,
        relay_state: Option<&str>,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<String> {
        let token = random_token();
        let identity = serde_json::to_string(identity).unwrap_or_default();
        let mut tx = self.pool.begin().await?;
        crate::store::evict_oldest(
            &mut tx,
            "pending_links",
            "token",
            self.limits.max_pending_links,
        )
        .await?;
        sqlx::query(
            "INSERT INTO pending_links (token, idp_entity_id, identity, matched_user_id, relay_state, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&token)
        .bind(idp_entity_id)
        .bind(identity)
        .bind(matched_user_id)
        .bind(relay_state)
        .bind(now.unix_timestamp())
        .bind(expires_at.unix_timestamp())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// A pending link that has not expired at `now`.
    pub async fn pending_link(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<PendingLink>> {
        let row = sqlx::query("SELECT * FROM pending_links WHERE token = $1 AND expires_at > $2")
            .bind(token)
            .bind(now.unix_timestamp())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|row| {
            let identity: PendingIdentity =
                serde_json::from_str(row.get::<&str, _>("identity")).ok()?;
            Some(PendingLink {
                token: row.get("token"),
                idp_entity_id: row.get("idp_entity_id"),
                identity,
                matched_user_id: row.get("matched_user_id"),
                failed_attempts: row
                    .get::<i64, _>("failed_attempts")
                    .try_into()
                    .unwrap_or(u32::MAX),
                locked: row.get::<i64, _>("locked") != 0,
                relay_state: row.get("relay_state"),
            })
        }))
    }

    /// Reserves one password attempt on a pending link before the password is evaluated, locking
    /// the link when the reservation reaches `max`. Returns the attempts left after this one, or
    /// `None` when none was left (or the link is gone). The count is capped at `max + 1`.
    pub async fn reserve_link_attempt(&self, token: &str, max: u32) -> StoreResult<Option<u32>> {
        let row = sqlx::query(
            "UPDATE pending_links SET
               failed_attempts = CASE WHEN failed_attempts < $1 THEN failed_attempts + 1 ELSE $1 + 1 END,
               locked = CASE WHEN failed_attempts + 1 >= $1 THEN 1 ELSE 0 END
             WHERE token = $2 RETURNING failed_attempts",
        )
        .bind(i64::from(max))
        .bind(token)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|r| {
            let attempts: i64 = r.get("failed_attempts");
            i64::from(max)
                .checked_sub(attempts)
                .filter(|left| *left >= 0)
                .and_then(|left| u32::try_from(left).ok())
        }))
    }

    pub async fn delete_pending_link(&self, token: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM pending_links WHERE token = $1")
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_round_trip_and_malformed_hashes_never_match() {
        let phc = hash_password("correct horse");
        assert!(phc.starts_with("$argon2id$"));
        assert!(password_matches("correct horse", &phc));
        assert!(!password_matches("Correct horse", &phc));
        assert!(!password_matches("correct horse", "not-a-hash"));
        assert!(!password_matches("", ""));
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_costs() {
        let real = hash_password("x");
        let params = |phc: &str| phc.split('$').take(4).collect::<Vec<_>>().join("$");
        assert_eq!(params(DUMMY_PHC), params(&real), "real hash: {real}");
        let parsed = PasswordHash::new(DUMMY_PHC).expect("dummy parses");
        assert_eq!(parsed.hash.map(|h| h.len()), Some(32));
    }

    #[test]
    fn a_fast_fixture_hash_verifies_with_its_own_parameters() {
        let phc = hash_password_fast_for_test_fixtures("pw");
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
        assert!(password_matches("pw", &phc));
        assert!(!password_matches("pW", &phc));
    }

    #[tokio::test]
    async fn verification_without_a_hash_never_matches() {
        assert!(!verify_password_off_thread("", None).await);
        let phc = hash_password_off_thread("pw").await;
        assert!(verify_password_off_thread("pw", Some(phc.clone())).await);
        assert!(!verify_password_off_thread("pW", Some(phc)).await);
    }
}
