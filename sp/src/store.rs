//! The SP's state in SQLite (a file by default, in memory for tests) or PostgreSQL (shared by
//! several SP processes), chosen by the connection URL and created by the migrations in
//! `sp/migrations/` (SQLite) or `sp/migrations-postgres/` (the same tables and columns). Every
//! method takes the time it should consider "now" from the caller, who reads the injected clock:
//! the store itself never looks at the wall clock.
//!
//! One set of queries serves both databases (sqlx's `Any` driver): `$N` placeholders, `ON
//! CONFLICT` instead of `INSERT OR …`, `CASE` instead of SQLite's two-argument `min`/`max`,
//! integers (0/1) for flags, and `COLLATE NOCASE` (PostgreSQL's migrations create a `nocase`
//! collation). What SQLite's single writer made atomic is atomic on PostgreSQL by construction:
//! single-statement insert-or-nothing and `DELETE … RETURNING`, and an advisory lock where a cap
//! is counted then enforced ([`evict_oldest`]).

use serde::Serialize;
use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::{AnyPoolOptions, AnyRow};
use time::OffsetDateTime;

use crate::config::Limits;

mod logout;
pub use logout::OutstandingLogout;

/// A store failure. Request handlers turn it into a 500 page; it never carries user input back.
#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(#[from] sqlx::Error);

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError(sqlx::Error::Migrate(Box::new(e)))
    }
}

impl StoreError {
    /// A unique index refused the write: a concurrent request stored the same row first.
    pub fn is_conflict(&self) -> bool {
        matches!(&self.0, sqlx::Error::Database(e) if e.is_unique_violation())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone, Debug)]
pub struct Store {
    /// Visible to the crate so that feature modules can keep their queries beside their logic.
    pub(crate) pool: AnyPool,
    backend: Backend,
    /// Table caps and field bounds (`[limits]`).
    pub(crate) limits: Limits,
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
    /// A test sign-in of an IdP (`/login?idp=…&test=1`): its answer is reported, nobody is
    /// signed in.
    TestSignIn,
}

/// The database behind a store, chosen by its connection URL (`[sp] database`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file path or `:memory:`: embedded, one SP process.
    Sqlite,
    /// A `postgres://` or `postgresql://` URL: shared by every SP process that connects to it.
    Postgres,
}

impl Backend {
    pub fn of(database: &str) -> Backend {
        if database.starts_with("postgres://") || database.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// The sqlx URL of a SQLite file, created if missing (`%`, `?` and `#` in the path escaped).
fn sqlite_url(path: &str) -> String {
    const ESCAPED: &percent_encoding::AsciiSet =
        &percent_encoding::CONTROLS.add(b'%').add(b'?').add(b'#');
    format!(
        "sqlite://{}?mode=rwc",
        percent_encoding::utf8_percent_encode(path, ESCAPED)
    )
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
    row: &AnyRow,
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
        "test_sign_in" => RequestPurpose::TestSignIn,
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
    /// Opens (creating if needed) the database and applies the migrations. `database` is a
    /// `postgres://` URL, a SQLite file path, or `":memory:"` for a private in-memory database.
    /// Several processes may open one PostgreSQL database at once (its migrations take a lock).
    pub async fn open(database: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(database);
        let pool = match backend {
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(8)
                    .connect(database)
                    .await?;
                sqlx::migrate!("./migrations-postgres").run(&pool).await?;
                pool
            }
            Backend::Sqlite if database == ":memory:" => {
                // One connection that never closes: each SQLite in-memory connection is its own
                // database. sqlx's SQLite connections enforce foreign keys by default.
                let pool = AnyPoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect("sqlite::memory:")
                    .await?;
                sqlx::migrate!("./migrations").run(&pool).await?;
                pool
            }
            Backend::Sqlite => {
                let pool = AnyPoolOptions::new()
                    .max_connections(8)
                    // `synchronous` is each connection's. NORMAL in WAL mode: a commit is in the
                    // log (which the OS holds, so a killed process loses nothing) without an
                    // fsync of its own; sqlx's FULL fsynced every commit, several per sign-in.
                    // Power loss may drop the last commits (sp/docs/configuration.md).
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            sqlx::query("PRAGMA synchronous = NORMAL")
                                .execute(conn)
                                .await
                                .map(drop)
                        })
                    })
                    .connect(&sqlite_url(database))
                    .await?;
                // WAL is a property of the file: set once, it holds for every connection.
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&pool)
                    .await?;
                sqlx::migrate!("./migrations").run(&pool).await?;
                pool
            }
        };
        Ok(Self {
            pool,
            backend,
            limits: Limits::default(),
        })
    }

    /// Which database this store is on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The same store with these caps and bounds (the SP passes its `[limits]`).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Deletes every row whose time is up at `now` (outstanding requests, pending links,
    /// sessions, replay caches) and trims the unverified audit rows to their cap. The SP runs it
    /// on a timer (`limits.sweep_interval_secs`); it is safe to run at any time, since each of
    /// these rows is refused anyway once expired.
    pub async fn sweep(&self, now: OffsetDateTime) -> StoreResult<SweepReport> {
        let mut report = SweepReport::default();
        let now = unix(now);
        for (table, count) in [
            ("outstanding_requests", &mut report.outstanding_requests),
            (
                "outstanding_logout_requests",
                &mut report.outstanding_logout_requests,
            ),
            ("pending_links", &mut report.pending_links),
            ("sessions", &mut report.sessions),
            ("replay_cache", &mut report.replay_cache),
            ("seen_logout_requests", &mut report.seen_logout_requests),
        ] {
            // The table names are the constants above, never input.
            let sql = format!("DELETE FROM {table} WHERE expires_at <= $1");
            *count = sqlx::query(&sql)
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        report.password_setups = self.forget_password_setups(from_unix(now)).await?;
        report.unverified_audit_rows = self.trim_unverified_audit().await?;
        Ok(report)
    }

    /// Number of rows in a table of the store (for tests, tools and the sweep's report).
    pub async fn row_count(&self, table: StoredTable) -> StoreResult<u64> {
        let sql = format!("SELECT count(*) AS n FROM {}", table.name());
        let row = sqlx::query(&sql).fetch_one(&self.pool).await?;
        Ok(u64::try_from(row.get::<i64, _>("n")).unwrap_or(0))
    }

    /// The size of the database (SQLite: pages in use and free, file or memory alike;
    /// PostgreSQL: the whole database on disk), in bytes.
    pub async fn database_bytes(&self) -> StoreResult<u64> {
        let bytes: i64 = match self.backend {
            Backend::Sqlite => {
                let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
                    .fetch_one(&self.pool)
                    .await?;
                let size: i64 = sqlx::query_scalar("PRAGMA page_size")
                    .fetch_one(&self.pool)
                    .await?;
                pages.saturating_mul(size)
            }
            Backend::Postgres => {
                sqlx::query_scalar("SELECT pg_database_size(current_database())")
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    /// The store's tables and their columns, sorted (for the test that both backends' migrations
    /// build the same schema, and for tools). Leaves out sqlx's own bookkeeping table.
    pub async fn schema(&self) -> StoreResult<Vec<(String, Vec<String>)>> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT m.name AS table_name, c.name AS column_name
                 FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS c
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
            }
            Backend::Postgres => {
                "SELECT CAST(table_name AS TEXT) AS table_name, CAST(column_name AS TEXT) AS column_name
                 FROM information_schema.columns WHERE table_schema = current_schema()"
            }
        };
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        let mut tables = std::collections::BTreeMap::<String, Vec<String>>::new();
        for row in &rows {
            let table: String = row.get("table_name");
            if table != "_sqlx_migrations" {
                tables
                    .entry(table)
                    .or_default()
                    .push(row.get("column_name"));
            }
        }
        Ok(tables
            .into_iter()
            .map(|(table, mut columns)| {
                columns.sort();
                (table, columns)
            })
            .collect())
    }

    /// Bytes of text stored in a table's columns (for tests and tools: what a flood costs).
    pub async fn stored_bytes(&self, table: StoredTable) -> StoreResult<u64> {
        let columns = table.text_columns();
        let sum = columns
            .iter()
            .map(|c| format!("coalesce(octet_length({c}), 0)"))
            .collect::<Vec<_>>()
            .join(" + ");
        let sql = format!("SELECT coalesce(sum({sum}), 0) AS n FROM {}", table.name());
        let row = sqlx::query(&sql).fetch_one(&self.pool).await?;
        Ok(u64::try_from(row.get::<i64, _>("n")).unwrap_or(0))
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
            RequestPurpose::TestSignIn => ("test_sign_in", None, None),
        };
        let mut tx = self.pool.begin().await?;
        evict_oldest(
            &mut tx,
            "outstanding_requests",
            "request_id",
            self.limits.max_outstanding_requests,
        )
        .await?;
        sqlx::query(
            "INSERT INTO outstanding_requests (request_id, relay_state, created_at, expires_at, purpose, session_token, invitation_token, idp_entity_id, browser_binding)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
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
             FROM outstanding_requests WHERE request_id = $1",
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
            "DELETE FROM outstanding_requests WHERE request_id = $1
             RETURNING relay_state, expires_at, purpose, session_token, invitation_token, idp_entity_id, browser_binding",
        )
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|row| outstanding_from_row(request_id, &row, now)))
    }

    // --- replay cache --------------------------------------------------------------------------

    /// Records `issuer`'s assertion ID as consumed until `keep_until`. Returns false if it was
    /// already consumed and has not yet expired from the cache, i.e. this is a replay.
    ///
    /// Keyed by (issuer, ID): IDs are unique per issuer only (SAML core §1.3.4), so one IdP's IDs
    /// neither block nor are blocked by another's. The expiry is rounded *up* to the second and an
    /// entry is dropped only once that second has fully passed, so it never leaves before
    /// `keep_until` (truncating `12:07:00.5` to `12:07:00` reopened a sub-second window).
    /// Entries written before migration 0007 (issuer `''`) still count for any issuer.
    pub async fn consume_assertion_id(
        &self,
        issuer: &str,
        assertion_id: &str,
        keep_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        sqlx::query("DELETE FROM replay_cache WHERE expires_at <= $1")
            .bind(unix(now))
            .execute(&self.pool)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO replay_cache (issuer, assertion_id, expires_at)
             SELECT $1, $2, $3
             WHERE NOT EXISTS (SELECT 1 FROM replay_cache WHERE issuer = '' AND assertion_id = $2)
             ON CONFLICT DO NOTHING",
        )
        .bind(issuer)
        .bind(assertion_id)
        .bind(crate::clock::unix_ceil(keep_until))
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    // --- users and identities ------------------------------------------------------------------

    pub(crate) fn user_from_row(row: &AnyRow) -> User {
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
        let row = sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(Self::user_from_row))
    }

    pub async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE email = $1 COLLATE NOCASE")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(Self::user_from_row))
    }

    pub async fn user_by_identity(&self, idp: &str, subject: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT users.* FROM users JOIN sso_identities ON sso_identities.user_id = users.id
             WHERE sso_identities.idp_entity_id = $1 AND sso_identities.subject = $2",
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
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
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
            "UPDATE users SET login = COALESCE($1, login), email = $2, first_name = $3, last_name = $4 WHERE id = $5",
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
            "INSERT INTO sso_identities (idp_entity_id, subject, user_id, linked_at) VALUES ($1, $2, $3, $4)",
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
        let rows = sqlx::query("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get("role")).collect())
    }

    /// Replaces the user's roles with exactly `roles`, atomically.
    pub async fn set_roles(&self, user_id: i64, roles: &[String]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for role in roles {
            sqlx::query(
                "INSERT INTO user_roles (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
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
            "INSERT INTO sessions (token, user_id, idp_entity_id, name_id, session_index, created_at, expires_at, csrf_token)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&session.token)
        .bind(session.user_id)
        .bind(&session.idp_entity_id)
        .bind(&session.name_id)
        .bind(&session.session_index)
        .bind(unix(session.created_at))
        .bind(unix(session.expires_at))
        .bind(crate::token::random_hex(32))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The token the logout form of this session must carry (`POST /logout`), if the session
    /// is live at `now`.
    pub async fn logout_csrf_token(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<String>> {
        let row =
            sqlx::query("SELECT csrf_token FROM sessions WHERE token = $1 AND expires_at > $2")
                .bind(token)
                .bind(unix(now))
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|r| r.get("csrf_token")))
    }

    /// The session behind a cookie token, if it exists and has not expired at `now`.
    pub async fn live_session(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Session>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE token = $1 AND expires_at > $2")
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

    /// A successful renewal moves the session's end (the IdP owns its length), and its NameID
    /// and SessionIndex to the renewing assertion's: single logout matches on that pair, so both
    /// must come from one assertion (another identity linked to the same user may have renewed).
    pub async fn renew_session(
        &self,
        token: &str,
        expires_at: OffsetDateTime,
        name_id: Option<&str>,
        session_index: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sessions SET expires_at = $1, name_id = COALESCE($2, name_id), session_index = COALESCE($3, session_index) WHERE token = $4",
        )
        .bind(unix(expires_at))
        .bind(name_id)
        .bind(session_index)
        .bind(token)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn delete_session(&self, token: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token = $1")
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // --- audit ---------------------------------------------------------------------------------

    /// Records an event whose facts were verified (an accepted message, a local action). Fields
    /// are bounded (`[limits]`), with a truncation marker; otherwise written as given.
    pub async fn audit(&self, event: &AuditEvent) -> StoreResult<()> {
        let field = self.limits.max_identity_field_bytes;
        let groups: Vec<String> = event
            .groups
            .iter()
            .take(self.limits.max_groups)
            .map(|g| bounded(g, field))
            .collect();
        self.insert_audit(event, true, field, &groups).await?;
        Ok(())
    }

    /// Records a refused message. Its facts (issuer, subject, groups, detail) were read from a
    /// message that did not verify: they are cut to small fixed bounds, the row is marked
    /// `verified = 0`, and these rows are capped (`limits.max_unverified_audit_rows`, oldest
    /// first), so that a flood of refusals costs bounded space.
    pub async fn audit_unverified(&self, event: &AuditEvent) -> StoreResult<()> {
        let mut groups: Vec<String> = event
            .groups
            .iter()
            .take(UNVERIFIED_MAX_GROUPS)
            .map(|g| bounded(g, UNVERIFIED_FIELD_BYTES))
            .collect();
        if event.groups.len() > UNVERIFIED_MAX_GROUPS {
            groups.push(format!(
                "{TRUNCATED} {} more values]",
                event.groups.len() - UNVERIFIED_MAX_GROUPS
            ));
        }
        let id = self
            .insert_audit(event, false, UNVERIFIED_FIELD_BYTES, &groups)
            .await?;
        // Trimming costs a scan of the cap's worth of index entries: do it now and then, so
        // the table holds at most the cap plus this many rows between sweeps.
        if id % TRIM_UNVERIFIED_EVERY == 0 {
            self.trim_unverified_audit().await?;
        }
        Ok(())
    }

    async fn insert_audit(
        &self,
        event: &AuditEvent,
        verified: bool,
        field_bytes: usize,
        groups: &[String],
    ) -> StoreResult<i64> {
        let groups = serde_json::to_string(groups).unwrap_or_else(|_| "[]".into());
        let field = |v: &Option<String>| v.as_deref().map(|v| bounded(v, field_bytes));
        let id = sqlx::query_scalar(
            "INSERT INTO audit_events (at, kind, code, idp, subject, user_email, groups, detail, verified)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(unix(event.at))
        .bind(bounded(&event.kind, UNVERIFIED_FIELD_BYTES))
        .bind(field(&event.code))
        .bind(field(&event.idp))
        .bind(field(&event.subject))
        .bind(field(&event.user_email))
        .bind(groups)
        .bind(bounded(&event.detail, self.limits.max_audit_detail_bytes))
        .bind(i64::from(verified))
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// Deletes the oldest unverified audit rows beyond `limits.max_unverified_audit_rows`.
    async fn trim_unverified_audit(&self) -> StoreResult<u64> {
        let deleted = sqlx::query(
            "DELETE FROM audit_events WHERE verified = 0 AND id <= (
                 SELECT id FROM audit_events WHERE verified = 0 ORDER BY id DESC LIMIT 1 OFFSET $1)",
        )
        .bind(i64::from(self.limits.max_unverified_audit_rows))
        .execute(&self.pool)
        .await?;
        Ok(deleted.rows_affected())
    }

    /// The whole audit log, oldest first. For tests and tools on small stores; pages use
    /// [`audit_page`](Self::audit_page).
    pub async fn audit_events(&self) -> StoreResult<Vec<AuditEvent>> {
        let rows = sqlx::query("SELECT * FROM audit_events ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|row| audit_record(row).event).collect())
    }

    /// One page of the audit log, newest first: at most `limit` rows with an id below `before`
    /// (all when `None`), and the cursor of the next page when there are older rows.
    pub async fn audit_page(&self, before: Option<i64>, limit: u32) -> StoreResult<AuditPage> {
        let limit = i64::from(limit.max(1));
        let rows =
            sqlx::query("SELECT * FROM audit_events WHERE id < $1 ORDER BY id DESC LIMIT $2")
                .bind(before.unwrap_or(i64::MAX))
                .bind(limit + 1)
                .fetch_all(&self.pool)
                .await?;
        let mut events: Vec<AuditRecord> = rows.iter().map(audit_record).collect();
        let next = if events.len() as i64 > limit {
            events.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            events.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage { events, next })
    }
}

fn audit_record(row: &AnyRow) -> AuditRecord {
    AuditRecord {
        id: row.get("id"),
        verified: row.get::<i64, _>("verified") != 0,
        event: AuditEvent {
            at: from_unix(row.get("at")),
            kind: row.get("kind"),
            code: row.get("code"),
            idp: row.get("idp"),
            subject: row.get("subject"),
            user_email: row.get("user_email"),
            groups: serde_json::from_str(row.get::<&str, _>("groups")).unwrap_or_default(),
            detail: row.get("detail"),
        },
    }
}

/// Deletes the oldest rows of `table` (by `created_at`) so that one more fits under `cap`.
/// `table` and its primary key `key` are constants of this crate, never input.
///
/// SQLite runs one writer at a time, so the count and the insert that follows it in `tx` cannot
/// interleave with another's. PostgreSQL runs them concurrently: an advisory lock per table,
/// held until `tx` ends, keeps two SP processes from both counting room for one more row.
pub(crate) async fn evict_oldest(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    table: &str,
    key: &str,
    cap: u32,
) -> StoreResult<u64> {
    let row = if tx.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT count(*) AS n FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS l")
            .bind(table)
            .execute(&mut **tx)
            .await?;
        key
    } else {
        // Ties in `created_at` go in insertion order.
        "rowid"
    };
    let sql = format!(
        "DELETE FROM {table} WHERE {row} IN (
             SELECT {row} FROM {table} ORDER BY created_at, {row}
             LIMIT (SELECT CASE WHEN count(*) >= $1 THEN count(*) - $1 + 1 ELSE 0 END FROM {table}))"
    );
    let deleted = sqlx::query(&sql)
        .bind(i64::from(cap))
        .execute(&mut **tx)
        .await?;
    if deleted.rows_affected() > 0 {
        tracing::warn!(
            table,
            evicted = deleted.rows_affected(),
            cap,
            "table at its cap: oldest rows evicted"
        );
    }
    Ok(deleted.rows_affected())
}

/// Longest issuer, subject, kind or group value kept from a refused message, in bytes.
pub const UNVERIFIED_FIELD_BYTES: usize = 256;
/// Most group values kept from a refused message.
pub const UNVERIFIED_MAX_GROUPS: usize = 10;
const TRIM_UNVERIFIED_EVERY: i64 = 16;
/// What a truncated value ends with: `…[truncated: N bytes in all]`.
pub const TRUNCATED: &str = "…[truncated:";

/// `text` cut to at most `max` bytes (on a character boundary) followed by the truncation
/// marker, or `text` itself when it fits.
pub fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{TRUNCATED} {} bytes in all]", &text[..end], text.len())
}

/// One stored audit row: its id (the page cursor), whether its facts were verified, the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    /// False for refused messages: the facts are as received, unauthenticated and truncated.
    pub verified: bool,
    #[serde(flatten)]
    pub event: AuditEvent,
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditPage {
    pub events: Vec<AuditRecord>,
    /// Pass as `before` for the next (older) page; `None` on the last page.
    pub next: Option<i64>,
}

/// What a sweep deleted, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub outstanding_requests: u64,
    pub outstanding_logout_requests: u64,
    pub pending_links: u64,
    pub sessions: u64,
    pub replay_cache: u64,
    pub seen_logout_requests: u64,
    /// Password-setup tokens past their remembered time (`crate::password_setup`).
    pub password_setups: u64,
    pub unverified_audit_rows: u64,
}

/// The tables whose size the limits bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredTable {
    OutstandingRequests,
    OutstandingLogoutRequests,
    PendingLinks,
    Sessions,
    ReplayCache,
    SeenLogoutRequests,
    AuditEvents,
    Users,
    PasswordSetups,
}

impl StoredTable {
    fn name(self) -> &'static str {
        match self {
            StoredTable::OutstandingRequests => "outstanding_requests",
            StoredTable::OutstandingLogoutRequests => "outstanding_logout_requests",
            StoredTable::PendingLinks => "pending_links",
            StoredTable::Sessions => "sessions",
            StoredTable::ReplayCache => "replay_cache",
            StoredTable::SeenLogoutRequests => "seen_logout_requests",
            StoredTable::AuditEvents => "audit_events",
            StoredTable::Users => "users",
            StoredTable::PasswordSetups => "password_setups",
        }
    }

    fn text_columns(self) -> &'static [&'static str] {
        match self {
            StoredTable::OutstandingRequests => &[
                "request_id",
                "relay_state",
                "purpose",
                "session_token",
                "invitation_token",
                "idp_entity_id",
            ],
            StoredTable::OutstandingLogoutRequests => &["request_id", "idp_entity_id", "name_id"],
            StoredTable::PendingLinks => &["token", "idp_entity_id", "identity", "relay_state"],
            StoredTable::Sessions => &[
                "token",
                "idp_entity_id",
                "name_id",
                "session_index",
                "csrf_token",
            ],
            StoredTable::ReplayCache => &["assertion_id"],
            StoredTable::SeenLogoutRequests => &["request_id"],
            StoredTable::AuditEvents => &[
                "kind",
                "code",
                "idp",
                "subject",
                "user_email",
                "groups",
                "detail",
            ],
            StoredTable::Users => &["login", "email", "first_name", "last_name"],
            StoredTable::PasswordSetups => &["token_hash"],
        }
    }
}

#[cfg(test)]
mod suite;

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

    /// The behaviour both backends share (`store/suite.rs`; `tests/postgres.rs` runs it on
    /// PostgreSQL), each case on a fresh SQLite file.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_store_suite_passes_on_sqlite_files() {
        for (name, case) in suite::CASES {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("sp.sqlite");
            eprintln!("case {name}");
            case(path.to_string_lossy().into_owned()).await;
        }
    }

    #[tokio::test]
    async fn an_in_memory_store_is_private_to_its_opener() {
        let a = Store::open(":memory:").await.unwrap();
        let b = Store::open(":memory:").await.unwrap();
        let until = NOW + Duration::minutes(5);
        assert!(
            a.consume_assertion_id("idp", "_x", until, NOW)
                .await
                .unwrap()
        );
        assert!(
            b.consume_assertion_id("idp", "_x", until, NOW)
                .await
                .unwrap()
        );
        assert_eq!(a.backend(), Backend::Sqlite);
    }

    #[test]
    fn the_backend_is_chosen_by_the_url() {
        for (database, backend) in [
            ("postgres://u@127.0.0.1:5432/sp", Backend::Postgres),
            ("postgresql://u@db/sp", Backend::Postgres),
            ("sp.sqlite", Backend::Sqlite),
            (":memory:", Backend::Sqlite),
            ("/var/lib/postgres://odd.sqlite", Backend::Sqlite),
        ] {
            assert_eq!(Backend::of(database), backend, "{database}");
        }
    }

    /// WAL with `synchronous = NORMAL` on every connection of the pool: a commit is in the WAL
    /// (so a killed process loses nothing) without an fsync of its own.
    #[tokio::test]
    async fn a_file_store_commits_without_an_fsync_each() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sp.sqlite");
        let store = Store::open(path.to_str().unwrap()).await.unwrap();
        let mut held = Vec::new();
        // Several connections at once, so the pool opens more than its first.
        for _ in 0..3 {
            let mut conn = store.pool.acquire().await.unwrap();
            let mode: String = sqlx::query("PRAGMA journal_mode")
                .fetch_one(&mut *conn)
                .await
                .unwrap()
                .get(0);
            let synchronous: i64 = sqlx::query("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .unwrap()
                .get(0);
            assert_eq!((mode.as_str(), synchronous), ("wal", 1), "1 is NORMAL");
            held.push(conn);
        }
    }

    #[tokio::test]
    async fn a_file_path_with_url_characters_opens_that_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a?b#c%20d.sqlite");
        Store::open(path.to_str().unwrap()).await.unwrap();
        assert!(path.exists(), "{} not created", path.display());
    }

    #[tokio::test]
    async fn replay_cache_entries_from_before_migration_0007_count_for_every_issuer() {
        let store = Store::open(":memory:").await.unwrap();
        sqlx::query(
            "INSERT INTO replay_cache (issuer, assertion_id, expires_at) VALUES ('', '_old', $1)",
        )
        .bind(unix(NOW + Duration::minutes(5)))
        .execute(&store.pool)
        .await
        .unwrap();
        let until = NOW + Duration::minutes(5);
        assert!(
            !store
                .consume_assertion_id("idp", "_old", until, NOW)
                .await
                .unwrap()
        );
        assert!(
            store
                .consume_assertion_id("idp", "_old", until, NOW + Duration::minutes(6))
                .await
                .unwrap()
        );
    }
}
