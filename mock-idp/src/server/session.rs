//! The IdP's own sign-in sessions, which make passive (`IsPassive="true"`) requests answerable.
//!
//! A normal sign-in at `/sso` starts a session and sets the `mockidp_session` cookie; a passive
//! request carrying a live session's cookie is answered silently for that session's user. Sessions
//! follow the injected clock (they end at the assertion's SessionNotOnOrAfter), and end on logout,
//! on user removal, or through the control API.
//!
//! Cookie attributes: always `HttpOnly; Path=/`. When the IdP is served over https the cookie is
//! `SameSite=None; Secure`, because an SP's renewal iframe is cross-site in real deployments and a
//! `Lax` cookie would not be sent there. Over plain http browsers reject `SameSite=None` without
//! `Secure`, so it is `SameSite=Lax`: that still reaches the iframe on loopback, where IdP and SP
//! differ only by port and are therefore same-site.

use axum::http::{HeaderMap, header};
use cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{ControlError, Idp};
use crate::mint::{IdSource as _, RandomIds};
use crate::users::User;

/// The name of the IdP's session cookie.
pub const SESSION_COOKIE: &str = "mockidp_session";

/// One IdP session: a user signed in at the IdP from one browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpSession {
    /// The cookie value: random even in deterministic mode, because a guessable session cookie
    /// would let one browser ride another's session.
    pub id: String,
    /// The user's login.
    pub login: String,
    /// The SessionIndex the IdP put in the assertion (reused by passive answers).
    pub session_index: String,
    /// The NameID value of the last assertion in this session.
    pub name_id: String,
    /// The NameID Format of the last assertion in this session.
    pub name_id_format: String,
    /// The SPs answered in this session, first first.
    pub service_providers: Vec<String>,
    /// When the user signed in (IdP time).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The assertion's SessionNotOnOrAfter; `None`: until logout.
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_on_or_after: Option<OffsetDateTime>,
}

impl IdpSession {
    /// Whether the session is still running at `now`.
    pub fn live_at(&self, now: OffsetDateTime) -> bool {
        self.not_on_or_after.is_none_or(|end| now < end)
    }
}

/// What a minted assertion says about the session it belongs to.
#[derive(Debug, Clone)]
pub(super) struct SessionFacts {
    pub session_index: String,
    pub name_id: String,
    pub name_id_format: String,
    pub not_on_or_after: Option<OffsetDateTime>,
}

/// The `mockidp_session` cookie's value, if the request carries one.
pub(super) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
}

/// The `Set-Cookie` value for session `id` (see the module comment for the SameSite choice).
pub(super) fn set_cookie(base_url: &str, id: &str) -> String {
    let secure = base_url.starts_with("https://");
    Cookie::build((SESSION_COOKIE, id))
        .path("/")
        .http_only(true)
        .same_site(if secure {
            SameSite::None
        } else {
            SameSite::Lax
        })
        .secure(secure)
        .build()
        .to_string()
}

impl Idp {
    /// The live IdP sessions, oldest first (expired ones are dropped).
    pub fn sessions(&self) -> Vec<IdpSession> {
        let now = self.now();
        let mut state = self.state();
        state.sessions.retain(|s| s.live_at(now));
        state.sessions.clone()
    }

    /// Ends every IdP session; returns how many there were.
    pub fn end_all_sessions(&self) -> usize {
        let ended = std::mem::take(&mut self.state().sessions).len();
        tracing::info!(ended, "ended all IdP sessions");
        ended
    }

    /// Ends every session of `user` (login or email); returns how many ended.
    pub fn end_sessions_of(&self, user: &str) -> Result<usize, ControlError> {
        let login = self.find_user(user)?.login;
        Ok(self.end_sessions_where(|s| s.login == login).len())
    }

    /// Ends the sessions `matches` picks and returns them.
    pub(super) fn end_sessions_where(
        &self,
        matches: impl Fn(&IdpSession) -> bool,
    ) -> Vec<IdpSession> {
        let mut state = self.state();
        let (ended, kept) = std::mem::take(&mut state.sessions)
            .into_iter()
            .partition(|s| matches(s));
        state.sessions = kept;
        ended
    }

    /// Starts a session for `user` after a normal sign-in (replacing the browser's previous one)
    /// and returns its cookie value.
    pub(super) fn begin_session(
        &self,
        replacing: Option<&str>,
        user: &User,
        sp_entity_id: &str,
        facts: SessionFacts,
    ) -> String {
        let id = RandomIds.next_id();
        let session = IdpSession {
            id: id.clone(),
            login: user.login.clone(),
            session_index: facts.session_index,
            name_id: facts.name_id,
            name_id_format: facts.name_id_format,
            service_providers: vec![sp_entity_id.to_owned()],
            created_at: self.now(),
            not_on_or_after: facts.not_on_or_after,
        };
        tracing::info!(user = %user.login, session_index = %session.session_index, "IdP session started");
        let mut state = self.state();
        if let Some(old) = replacing {
            state.sessions.retain(|s| s.id != old);
        }
        state.sessions.push(session);
        id
    }

    /// The live session behind `cookie` and its user as the directory has them *now* (so a
    /// passive answer carries current attributes); `None` if expired, ended or the user is gone.
    pub(super) fn live_session(&self, cookie: &str) -> Option<(IdpSession, User)> {
        let now = self.now();
        let state = self.state();
        let session = state
            .sessions
            .iter()
            .find(|s| s.id == cookie && s.live_at(now))?;
        let user = state.users.iter().find(|u| u.login == session.login)?;
        Some((session.clone(), user.clone()))
    }

    /// Records a passive answer in session `id`: the NameID it carried and the SP it went to.
    pub(super) fn refresh_session(&self, id: &str, sp_entity_id: &str, facts: &SessionFacts) {
        let mut state = self.state();
        if let Some(session) = state.sessions.iter_mut().find(|s| s.id == id) {
            session.name_id = facts.name_id.clone();
            session.name_id_format = facts.name_id_format.clone();
            if !session
                .service_providers
                .iter()
                .any(|sp| sp == sp_entity_id)
            {
                session.service_providers.push(sp_entity_id.to_owned());
            }
        }
    }

    /// The most recent live session of `login`.
    pub(super) fn latest_session_of(&self, login: &str) -> Option<IdpSession> {
        self.sessions()
            .into_iter()
            .filter(|s| s.login == login)
            .max_by_key(|s| s.created_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookie_is_found_among_others_and_attributes_follow_the_scheme() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; mockidp_session=_abc; b=2"),
        );
        assert_eq!(session_cookie(&headers).as_deref(), Some("_abc"));
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("mockidp_session=_second"),
        );
        assert_eq!(session_cookie(&headers).as_deref(), Some("_abc"));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("mockidp_sessionx=1; b"),
        );
        assert_eq!(session_cookie(&headers), None);
        // The cookie crate writes the attributes in its own order (Path last).
        assert_eq!(
            set_cookie("http://127.0.0.1:9000", "x"),
            "mockidp_session=x; HttpOnly; SameSite=Lax; Path=/"
        );
        assert_eq!(
            set_cookie("https://idp.example", "x"),
            "mockidp_session=x; HttpOnly; SameSite=None; Secure; Path=/"
        );
    }
}
