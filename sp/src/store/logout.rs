//! The store side of single logout: outstanding SP-initiated LogoutRequests, the replay cache of
//! IdP LogoutRequest IDs, ending the sessions a LogoutRequest names, and the NameID Format a
//! LogoutRequest repeats.

use sqlx::Row;
use time::OffsetDateTime;

use super::{Store, StoreResult, unix};

/// A LogoutRequest the SP sent and still accepts a LogoutResponse to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutstandingLogout {
    /// The IdP it was sent to.
    pub idp_entity_id: String,
    /// The NameID it named.
    pub name_id: Option<String>,
}

impl Store {
    /// Remembers an SP-initiated LogoutRequest until `expires_at`.
    pub async fn remember_logout_request(
        &self,
        request_id: &str,
        idp_entity_id: &str,
        name_id: Option<&str>,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        super::evict_oldest(
            &mut tx,
            "outstanding_logout_requests",
            "request_id",
            self.limits.max_outstanding_requests,
        )
        .await?;
        sqlx::query(
            "INSERT INTO outstanding_logout_requests (request_id, idp_entity_id, name_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(request_id)
        .bind(idp_entity_id)
        .bind(name_id)
        .bind(unix(now))
        .bind(unix(expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The IdP an outstanding LogoutRequest was sent to, without consuming it.
    pub async fn logout_request_idp(&self, request_id: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query(
            "SELECT idp_entity_id FROM outstanding_logout_requests WHERE request_id = $1",
        )
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.get("idp_entity_id")))
    }

    /// Removes and returns the outstanding LogoutRequest if still answerable: answered once.
    pub async fn take_logout_request(
        &self,
        request_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OutstandingLogout>> {
        let row = sqlx::query(
            "DELETE FROM outstanding_logout_requests WHERE request_id = $1
             RETURNING idp_entity_id, name_id, expires_at",
        )
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|row| {
            let expires_at: i64 = row.get("expires_at");
            (expires_at > unix(now)).then(|| OutstandingLogout {
                idp_entity_id: row.get("idp_entity_id"),
                name_id: row.get("name_id"),
            })
        }))
    }

    /// Records an IdP LogoutRequest ID as processed. False if it already was: a replay.
    pub async fn consume_logout_request_id(
        &self,
        request_id: &str,
        keep_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        sqlx::query("DELETE FROM seen_logout_requests WHERE expires_at <= $1")
            .bind(unix(now))
            .execute(&self.pool)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO seen_logout_requests (request_id, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(request_id)
        .bind(crate::clock::unix_ceil(keep_until))
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Ends the sessions of `name_id` at `idp` — only those with one of `session_indexes` when
    /// any is given — and returns their cookie tokens.
    pub async fn end_sessions_for_logout(
        &self,
        idp_entity_id: &str,
        name_id: &str,
        session_indexes: &[String],
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT token, session_index FROM sessions WHERE idp_entity_id = $1 AND name_id = $2",
        )
        .bind(idp_entity_id)
        .bind(name_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut ended = Vec::new();
        for row in rows {
            let index: Option<String> = row.get("session_index");
            let matches =
                session_indexes.is_empty() || index.is_some_and(|i| session_indexes.contains(&i));
            if matches {
                let token: String = row.get("token");
                sqlx::query("DELETE FROM sessions WHERE token = $1")
                    .bind(&token)
                    .execute(&mut *tx)
                    .await?;
                ended.push(token);
            }
        }
        tx.commit().await?;
        Ok(ended)
    }

    /// Records the Format of a new session's NameID (for the LogoutRequest that names it).
    pub async fn remember_name_id_format(
        &self,
        token: &str,
        format: Option<&str>,
    ) -> StoreResult<()> {
        let Some(format) = format else { return Ok(()) };
        sqlx::query(
            "INSERT INTO session_name_id_formats (token, format) VALUES ($1, $2)
             ON CONFLICT (token) DO UPDATE SET format = excluded.format",
        )
        .bind(token)
        .bind(format)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The Format of a session's NameID, if it was recorded.
    pub async fn name_id_format(&self, token: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT format FROM session_name_id_formats WHERE token = $1")
            .bind(token)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get("format")))
    }
}
