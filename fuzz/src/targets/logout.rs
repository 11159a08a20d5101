//! The SP's handling of an IdP's LogoutRequest, end to end in library form: the binding's decoder,
//! the stateless checks, then the store (replay cache, the sessions it ends), against an
//! in-memory SQLite store holding one live session.

use sp::slo::{LogoutMessage, Signed, decode_post, decode_redirect, verify_message};
use sp::store::{Session, Store};

/// The NameID of the one session in the store.
pub const NAME_ID: &str = "alice@example.com";
/// Its SessionIndex (what the mock IdP's counter IDs give its first session).
pub const SESSION_INDEX: &str = "_0000000000000000000000000000000000000003";
const TOKEN: &str = "fuzz-session-token";

struct Harness {
    runtime: tokio::runtime::Runtime,
    store: Store,
    user_id: i64,
}

// One store per thread: libFuzzer runs on one, the replay tests on several, each with its own.
thread_local! {
    static HARNESS: Harness = harness();
}

fn harness() -> Harness {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (store, user_id) = runtime.block_on(async {
        let store = Store::open(":memory:").await.expect("an in-memory store");
        let user = store
            .create_user(
                Some("alice"),
                NAME_ID,
                Some("Alice"),
                None,
                "saml",
                super::NOW,
            )
            .await
            .expect("a user");
        (store, user.id)
    });
    Harness {
        runtime,
        store,
        user_id,
    }
}

impl Harness {
    /// Puts the session back if the previous input ended it, so every input sees the same store.
    async fn ensure_session(&self) {
        let live = self
            .store
            .live_session(TOKEN, super::NOW)
            .await
            .expect("store");
        if live.is_none() {
            self.store
                .create_session(&Session {
                    token: TOKEN.into(),
                    user_id: self.user_id,
                    idp_entity_id: super::IDP_ENTITY_ID.into(),
                    name_id: Some(NAME_ID.into()),
                    session_index: Some(SESSION_INDEX.into()),
                    created_at: super::MINTED_AT,
                    expires_at: super::NOW + time::Duration::hours(8),
                })
                .await
                .expect("store");
        }
    }
}

/// ```text
/// byte 0  bit 0  HTTP-POST (the rest is the form body) instead of HTTP-Redirect (the query string)
///         bit 1  signatures optional (`require_signed_logout_requests = false`)
/// rest    the query string or form body
/// ```
/// Invariants: with signatures required nothing unsigned is accepted; an accepted request's ID is
/// consumed once (a second use is a replay); and the sessions it ends are exactly those of its
/// issuer and NameID with one of its SessionIndexes (any, when it names none).
pub fn logout_request(data: &[u8]) {
    let _ = logout_request_ends(data);
}

/// [`logout_request`], returning how many sessions the request ended (`None`: refused before the
/// store), so that the replay test can check the valid seeds reach the sessions.
pub fn logout_request_ends(data: &[u8]) -> Option<usize> {
    let (&flags, rest) = data.split_first()?;
    let policy = super::slo_policy(flags & 0b10 == 0);
    let max = policy.verify.max_response_bytes;
    let raw = if flags & 1 == 0 {
        decode_redirect(std::str::from_utf8(rest).ok()?, max)
    } else {
        decode_post(rest, max)
    };
    let raw = raw.ok()?;
    let Ok(LogoutMessage::Request(request)) = verify_message(&raw, &policy, super::NOW) else {
        return None;
    };
    if policy.require_signed_requests {
        assert_ne!(
            request.signed,
            Signed::Unsigned,
            "an unsigned LogoutRequest was accepted"
        );
    }
    HARNESS.with(|h| {
        h.runtime.block_on(async {
            h.ensure_session().await;
            let keep_until = sp::clock::add(request.issue_instant, time::Duration::minutes(10));
            let first = h
                .store
                .consume_logout_request_id(&request.id, keep_until, super::NOW)
                .await
                .expect("store");
            let again = h
                .store
                .consume_logout_request_id(&request.id, keep_until, super::NOW)
                .await
                .expect("store");
            assert!(!again, "a LogoutRequest ID was consumed twice");
            if !first {
                return Some(0); // a replay of an earlier input: the SP refuses it before the sessions
            }
            let ended = h
                .store
                .end_sessions_for_logout(
                    &request.issuer,
                    &request.name_id,
                    &request.session_indexes,
                )
                .await
                .expect("store");
            let should_end = request.issuer == super::IDP_ENTITY_ID
                && request.name_id == NAME_ID
                && (request.session_indexes.is_empty()
                    || request.session_indexes.iter().any(|i| i == SESSION_INDEX));
            let expected: &[&str] = if should_end { &[TOKEN] } else { &[] };
            assert_eq!(
                ended, expected,
                "the LogoutRequest ended the wrong sessions: {request:?}"
            );
            Some(ended.len())
        })
    })
}
