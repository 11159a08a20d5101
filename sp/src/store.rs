//! The SP's state in SQLite (a file by default, in memory for tests), created by the migrations in
//! `sp/migrations/`. Every method takes the time it should consider "now" from the caller, who
//! reads the injected clock: the store itself never looks at the wall clock.

use std::str::FromStr;

use serde::Serialize;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use time::OffsetDateTime;

/// A store failure. Request handlers turn it into a 500 page; it never carries user input back.
#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(#[from] sqlx::Error);

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError(sqlx::Error::Migrate(Box::new(e)))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone, Debug)]
pub struct Store {
    /// Visible to the crate so that feature modules can keep their queries beside their logic.
    pub(crate) pool: SqlitePool,
}

/// A local user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub login: Option<String>,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub origin: String,
}

/// A signed-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    pub token: String,
    pub user_id: i64,
    pub idp_entity_id: String,
    pub name_id: Option<String>,
    pub session_index: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub kind: String,
    pub code: Option<String>,
    pub idp: Option<String>,
    pub subject: Option<String>,
    pub user_email: Option<String>,
    pub groups: Vec<String>,
    pub detail: String,
}

/// An AuthnRequest we sent and still accept a Response to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutstandingRequest {
    pub request_id: String,
    pub relay_state: Option<String>,
    pub purpose: RequestPurpose,
    /// The IdP the request was sent to (`None` for requests remembered before several IdPs).
    pub idp_entity_id: Option<String>,
    /// SHA-256 (hex) of the binding cookie of the browser that started it; `None`: unbound.
    pub browser_binding: Option<String>,
}

/// Why an AuthnRequest was sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RequestPurpose {
    /// A person signing in.
    #[default]
    SignIn,
    /// A passive re-authentication of this live session (the session's cookie token).
    Renewal { session_token: String },
    /// A sign-in started from an admin's invitation link: it links to the invited user.
    Invitation { token: String },
}

fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

fn from_unix(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// An `outstanding_requests` row, if it has not expired at `now`.
fn outstanding_from_row(
    request_id: &str,
    row: &sqlx::sqlite::SqliteRow,
    now: OffsetDateTime,
) -> Option<OutstandingRequest> {
    let expires_at: i64 = row.get("expires_at");
    let purpose = match row.get::<&str, _>("purpose") {
        "renewal" => RequestPurpose::Renewal {
            session_token: row
                .get::<Option<String>, _>("session_token")
                .unwrap_or_default(),
        },
        "invitation" => RequestPurpose::Invitation {
            token: row
                .get::<Option<String>, _>("invitation_token")
                .unwrap_or_default(),
        },
        _ => RequestPurpose::SignIn,
    };
    (expires_at > unix(now)).then(|| OutstandingRequest {
        request_id: request_id.to_owned(),
        relay_state: row.get("relay_state"),
        purpose,
        idp_entity_id: row.get("idp_entity_id"),
        browser_binding: row.get("browser_binding"),
    })
}

impl Store {
    /// Opens (creating if needed) the database and applies the migrations.
    /// `":memory:"` gives a private in-memory database.
    pub async fn open(database: &str) -> StoreResult<Self> {
        let pool = if database == ":memory:" {
            // One connection that never closes: each SQLite in-memory connection is its own database.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true))
                .await?
        } else {
            let options = SqliteConnectOptions::new()
                .filename(database)
                .create_if_missing(true)
                .foreign_keys(true)
                .journal_mode(SqliteJournalMode::Wal);
            SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await?
        };
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    // --- outstanding AuthnRequests -------------------------------------------------------------

    pub async fn remember_request(
        &self,
        request_id: &str,
        relay_state: Option<&str>,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.remember_request_for(
            request_id,
            relay_state,
            &RequestPurpose::SignIn,
            None,
            None,
            now,
            expires_at,
        )
        .await
    }

    /// `browser_binding`: the hash of the starting browser's binding cookie (see
    /// `web::binding`), or `None` for an unbound request.
    #[allow(clippy::too_many_arguments)]
    pub async fn remember_request_for(
        &self,
        request_id: &str,
        relay_state: Option<&str>,
        purpose: &RequestPurpose,
        idp_entity_id: Option<&str>,
        browser_binding: Option<&str>,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        let (kind, session_token, invitation_token) = match purpose {
            RequestPurpose::SignIn => ("sign_in", None, None),
            RequestPurpose::Renewal { session_token } => ("renewal", Some(session_token), None),
            RequestPurpose::Invitation { token } => ("invitation", None, Some(token)),
        };
        sqlx::query(
            "INSERT INTO outstanding_requests (request_id, relay_state, created_at, expires_at, purpose, session_token, invitation_token, idp_entity_id, browser_binding)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(request_id)
        .bind(relay_state)
        .bind(unix(now))
        .bind(unix(expires_at))
        .bind(kind)
        .bind(session_token)
        .bind(invitation_token)
        .bind(idp_entity_id)
        .bind(browser_binding)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The request if it is still answerable, left in place: lets the ACS check which browser
    /// started it before anything is consumed.
    pub async fn peek_request(
        &self,
        request_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OutstandingRequest>> {
        let row = sqlx::query(
            "SELECT relay_state, expires_at, purpose, session_token, invitation_token, idp_entity_id, browser_binding
             FROM outstanding_requests WHERE request_id = ?",
        )
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|row| outstanding_from_row(request_id, &row, now)))
    }

    /// Removes and returns the request if it is still answerable: each request is answered once.
    pub async fn take_request(
        &self,
        request_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OutstandingRequest>> {
        let row = sqlx::query(
            "DELETE FROM outstanding_requests WHERE request_id = ?
             RETURNING relay_state, expires_at, purpose, session_token, invitation_token, idp_entity_id, browser_binding",
        )
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|row| outstanding_from_row(request_id, &row, now)))
    }

    // --- replay cache --------------------------------------------------------------------------

    /// Records an assertion ID as consumed. Returns false if it was already consumed and has not
    /// yet expired from the cache, i.e. this is a replay.
    pub async fn consume_assertion_id(
        &self,
        assertion_id: &str,
        keep_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        sqlx::query("DELETE FROM replay_cache WHERE expires_at <= ?")
            .bind(unix(now))
            .execute(&self.pool)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO replay_cache (assertion_id, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(assertion_id)
        .bind(unix(keep_until))
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    // --- users and identities ------------------------------------------------------------------

    pub(crate) fn user_from_row(row: &sqlx::sqlite::SqliteRow) -> User {
        User {
            id: row.get("id"),
            login: row.get("login"),
            email: row.get("email"),
            first_name: row.get("first_name"),
            last_name: row.get("last_name"),
            origin: row.get("origin"),
        }
    }

    pub async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(Self::user_from_row))
    }

    pub async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE email = ? COLLATE NOCASE")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(Self::user_from_row))
    }

    pub async fn user_by_identity(&self, idp: &str, subject: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT users.* FROM users JOIN sso_identities ON sso_identities.user_id = users.id
             WHERE sso_identities.idp_entity_id = ? AND sso_identities.subject = ?",
        )
        .bind(idp)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(Self::user_from_row))
    }

    pub async fn create_user(
        &self,
        login: Option<&str>,
        email: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
        origin: &str,
        now: OffsetDateTime,
    ) -> StoreResult<User> {
        let row = sqlx::query(
            "INSERT INTO users (login, email, first_name, last_name, origin, created_at)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(login)
        .bind(email)
        .bind(first_name)
        .bind(last_name)
        .bind(origin)
        .bind(unix(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(Self::user_from_row(&row))
    }

    /// Overwrites the profile fields that come from the IdP.
    pub async fn update_profile(
        &self,
        user_id: i64,
        login: Option<&str>,
        email: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET login = COALESCE(?, login), email = ?, first_name = ?, last_name = ? WHERE id = ?",
        )
        .bind(login)
        .bind(email)
        .bind(first_name)
        .bind(last_name)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn link_identity(
        &self,
        idp: &str,
        subject: &str,
        user_id: i64,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sso_identities (idp_entity_id, subject, user_id, linked_at) VALUES (?, ?, ?, ?)",
        )
        .bind(idp)
        .bind(subject)
        .bind(user_id)
        .bind(unix(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn roles(&self, user_id: i64) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT role FROM user_roles WHERE user_id = ? ORDER BY role")
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get("role")).collect())
    }

    /// Replaces the user's roles with exactly `roles`, atomically.
    pub async fn set_roles(&self, user_id: i64, roles: &[String]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM user_roles WHERE user_id = ?")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for role in roles {
            sqlx::query("INSERT OR IGNORE INTO user_roles (user_id, role) VALUES (?, ?)")
                .bind(user_id)
                .bind(role)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // --- sessions ------------------------------------------------------------------------------

    pub async fn create_session(&self, session: &Session) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token, user_id, idp_entity_id, name_id, session_index, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&session.token)
        .bind(session.user_id)
        .bind(&session.idp_entity_id)
        .bind(&session.name_id)
        .bind(&session.session_index)
        .bind(unix(session.created_at))
        .bind(unix(session.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session behind a cookie token, if it exists and has not expired at `now`.
    pub async fn live_session(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Session>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE token = ? AND expires_at > ?")
            .bind(token)
            .bind(unix(now))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| Session {
            token: row.get("token"),
            user_id: row.get("user_id"),
            idp_entity_id: row.get("idp_entity_id"),
            name_id: row.get("name_id"),
            session_index: row.get("session_index"),
            created_at: from_unix(row.get("created_at")),
            expires_at: from_unix(row.get("expires_at")),
        }))
    }

    /// A successful renewal moves the session's end (the IdP owns its length) and SessionIndex.
    pub async fn renew_session(
        &self,
        token: &str,
        expires_at: OffsetDateTime,
        session_index: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sessions SET expires_at = ?, session_index = COALESCE(?, session_index) WHERE token = ?",
        )
        .bind(unix(expires_at))
        .bind(session_index)
        .bind(token)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn delete_session(&self, token: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token = ?")
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // --- audit ---------------------------------------------------------------------------------

    pub async fn audit(&self, event: &AuditEvent) -> StoreResult<()> {
        let groups = serde_json::to_string(&event.groups).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO audit_events (at, kind, code, idp, subject, user_email, groups, detail)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(unix(event.at))
        .bind(&event.kind)
        .bind(&event.code)
        .bind(&event.idp)
        .bind(&event.subject)
        .bind(&event.user_email)
        .bind(groups)
        .bind(&event.detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The audit log, oldest first.
    pub async fn audit_events(&self) -> StoreResult<Vec<AuditEvent>> {
        let rows = sqlx::query("SELECT * FROM audit_events ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|row| AuditEvent {
                at: from_unix(row.get("at")),
                kind: row.get("kind"),
                code: row.get("code"),
                idp: row.get("idp"),
                subject: row.get("subject"),
                user_email: row.get("user_email"),
                groups: serde_json::from_str(row.get::<&str, _>("groups")).unwrap_or_default(),
                detail: row.get("detail"),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

    #[tokio::test]
    async fn a_request_is_answered_once_and_not_after_it_expires() {
        let store = Store::open(":memory:").await.unwrap();
        store
            .remember_request("_a", Some("/x"), NOW, NOW + Duration::minutes(10))
            .await
            .unwrap();
        store
            .remember_request("_b", None, NOW, NOW + Duration::minutes(10))
            .await
            .unwrap();
        let taken = store
            .take_request("_a", NOW)
            .await
            .unwrap()
            .expect("outstanding");
        assert_eq!(taken.relay_state.as_deref(), Some("/x"));
        assert!(
            store.take_request("_a", NOW).await.unwrap().is_none(),
            "answered twice"
        );
        assert!(
            store
                .take_request("_b", NOW + Duration::minutes(11))
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn replay_cache_refuses_a_second_use_until_expiry() {
        let store = Store::open(":memory:").await.unwrap();
        let until = NOW + Duration::minutes(5);
        assert!(
            store
                .consume_assertion_id("_as1", until, NOW)
                .await
                .unwrap()
        );
        assert!(
            !store
                .consume_assertion_id("_as1", until, NOW + Duration::minutes(1))
                .await
                .unwrap()
        );
        assert!(
            store
                .consume_assertion_id("_as1", until, NOW + Duration::minutes(6))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn file_database_persists_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sp.sqlite");
        let path = path.to_str().unwrap();
        {
            let store = Store::open(path).await.unwrap();
            let user = store
                .create_user(None, "a@example.com", None, None, "jit", NOW)
                .await
                .unwrap();
            store
                .set_roles(user.id, &["admin".into(), "member".into()])
                .await
                .unwrap();
        }
        let store = Store::open(path).await.unwrap();
        let user = store
            .user_by_email("A@example.com")
            .await
            .unwrap()
            .expect("persisted");
        assert_eq!(store.roles(user.id).await.unwrap(), vec!["admin", "member"]);
    }
}
