//! The SP's cookies, read and written with the `cookie` crate: the session, the pending account
//! link, and (see [`super::binding`]) the browser binding of sign-in requests.
//!
//! The session and link cookies are `SameSite=Lax`: they must ride the top-level navigation that
//! follows the IdP's cross-site POST to the ACS, and nothing else cross-site. All are `HttpOnly`
//! and `Path=/`; `Secure` when the SP's `base_url` is https.

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};

use super::Sp;

pub(super) const SESSION: &str = "samlconf_sp_session";
pub(super) const LINK: &str = "samlconf_sp_link";

/// Which cookie attributes apply: the SP's `base_url` is https, or plain http.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Scheme {
    pub(super) https: bool,
}

impl Scheme {
    pub(super) fn of(sp: &Sp) -> Self {
        Scheme {
            https: sp.config().sp.base_url.starts_with("https://"),
        }
    }
}

/// The value of cookie `name` in the request's `Cookie` headers (the first, if repeated).
pub(super) fn value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A browser-session cookie (no expiry): `HttpOnly`, `Path=/`, with `same_site`, and `Secure`
/// as asked.
pub(super) fn set(name: &str, value: &str, same_site: SameSite, secure: bool) -> HeaderValue {
    header_value(
        Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .same_site(same_site)
            .secure(secure),
    )
}

/// The session cookie for `token`.
pub(super) fn session(sp: &Sp, token: &str) -> HeaderValue {
    set(SESSION, token, SameSite::Lax, Scheme::of(sp).https)
}

/// The pending account link of this browser (set by the ACS, read by the linking page).
pub(super) fn link(sp: &Sp, token: &str) -> HeaderValue {
    set(LINK, token, SameSite::Lax, Scheme::of(sp).https)
}

/// Removes cookie `name` from the browser (`Max-Age=0`).
pub(super) fn cleared(name: &str) -> HeaderValue {
    header_value(
        Cookie::build((name, ""))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .max_age(time::Duration::ZERO),
    )
}

fn header_value<'c>(cookie: impl Into<Cookie<'c>>) -> HeaderValue {
    // Values are tokens this SP minted (hex), so this is always a valid header value.
    HeaderValue::from_str(&cookie.into().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(cookie_headers: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in cookie_headers {
            headers.append(header::COOKIE, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn cookies_carry_exactly_their_attributes() {
        let text = |v: HeaderValue| v.to_str().unwrap().to_owned();
        assert_eq!(
            text(set(SESSION, "ab12", SameSite::Lax, false)),
            "samlconf_sp_session=ab12; HttpOnly; SameSite=Lax; Path=/"
        );
        assert_eq!(
            text(set(LINK, "ab12", SameSite::Lax, true)),
            "samlconf_sp_link=ab12; HttpOnly; SameSite=Lax; Secure; Path=/"
        );
        assert_eq!(
            text(cleared(SESSION)),
            "samlconf_sp_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
    }

    #[test]
    fn the_first_cookie_of_a_name_is_read_across_headers() {
        let headers = request(&["a=1; samlconf_sp_session=tok1", "samlconf_sp_session=tok2"]);
        assert_eq!(value(&headers, SESSION).as_deref(), Some("tok1"));
        assert_eq!(value(&headers, "a").as_deref(), Some("1"));
        assert_eq!(value(&headers, LINK), None);
        // A malformed pair does not hide the cookies after it.
        let headers = request(&["junk; =x; samlconf_sp_link=l1"]);
        assert_eq!(value(&headers, LINK).as_deref(), Some("l1"));
    }
}
