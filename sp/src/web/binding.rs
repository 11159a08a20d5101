//! Binds each AuthnRequest to the browser that started it (login CSRF, issue 8).
//!
//! Server-side state alone cannot tell browsers apart: an attacker could start `/login`, sign in
//! at the IdP as themself and make a victim's browser post that response, signing the victim in
//! as the attacker. So `/login` (and `/renew`, and invitations) gives the browser a random value
//! in an HttpOnly cookie, reusing the one it already has so that several tabs work, and stores
//! the value's SHA-256 with the request; the ACS answers a request only for a browser that
//! presents the value.
//!
//! The IdP's answer reaches the ACS as a cross-site POST, on which browsers send only
//! `SameSite=None` cookies, and `None` requires `Secure` (see sp/docs/configuration.md). Some
//! clients do not send `Secure` cookies over plain http (Python's `http.cookiejar`, older
//! libraries), so a legacy companion cookie with the same value, `SameSite=Lax` and no `Secure`
//! on plain http, is set beside it. Either one binds; when both arrive the main one decides,
//! since the companion has no `__Host-` prefix to protect it from being planted by a sibling
//! domain.

use axum::http::{HeaderMap, HeaderValue};
use cookie::SameSite;

use super::cookies::{self, Scheme};
use crate::config::RequestCookieSameSite;

impl Scheme {
    fn main_cookie(self) -> &'static str {
        if self.https { HOST_COOKIE } else { COOKIE }
    }
}

/// The main cookie on plain http (`SameSite=None; Secure`, honoured by browsers on loopback).
const COOKIE: &str = "samlconf_sp_binding";
/// The main cookie on https: the `__Host-` prefix makes browsers refuse it unless it is Secure,
/// host-only and `Path=/`, so no sibling domain can plant one.
const HOST_COOKIE: &str = "__Host-samlconf_sp_binding";
/// The companion for clients that drop `Secure` cookies over plain http.
const LEGACY_COOKIE: &str = "samlconf_sp_binding_legacy";

/// 32 random bytes, hex.
const VALUE_LEN: usize = 64;

/// This browser's binding value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BrowserBinding(String);

impl BrowserBinding {
    /// What the request stores: the value's SHA-256, so the database alone cannot be replayed as
    /// cookies.
    pub(super) fn hash(&self) -> String {
        openssl::sha::sha256(self.0.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether this binding is the one a request was stored with.
    pub(super) fn matches(&self, stored_hash: &str) -> bool {
        // Both sides are hashes of secrets: comparing them leaks nothing useful by timing.
        self.hash() == stored_hash
    }
}

/// The binding this browser presents, if any: the main cookie, else the legacy companion. A
/// value that is not one this SP could have minted is ignored.
pub(super) fn presented(scheme: Scheme, headers: &HeaderMap) -> Option<BrowserBinding> {
    let well_formed = |v: &String| {
        v.len() == VALUE_LEN && v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    cookies::value(headers, scheme.main_cookie())
        .filter(well_formed)
        .or_else(|| cookies::value(headers, LEGACY_COOKIE).filter(well_formed))
        .map(BrowserBinding)
}

/// This browser's binding for a new request: the one it presents, or a fresh one.
pub(super) fn for_new_request(scheme: Scheme, headers: &HeaderMap) -> BrowserBinding {
    presented(scheme, headers)
        .unwrap_or_else(|| BrowserBinding(crate::token::random_hex(VALUE_LEN / 2)))
}

/// The two `Set-Cookie` values that give the browser `binding` (no expiry: a browser-session
/// cookie; it is re-set at each request, so both cookies always carry one value).
///
/// `same_site` other than `None` reproduces the broken SPs of `request_cookie_samesite`: both
/// cookies get it, so neither rides the IdP's cross-site POST; `Secure` then follows the scheme,
/// the `__Host-` prefix (which requires it) the same.
pub(super) fn set_cookies(
    scheme: Scheme,
    same_site: RequestCookieSameSite,
    binding: &BrowserBinding,
) -> [HeaderValue; 2] {
    let value = &binding.0;
    match same_site {
        RequestCookieSameSite::None => [
            cookies::set(scheme.main_cookie(), value, SameSite::None, true),
            cookies::set(LEGACY_COOKIE, value, SameSite::Lax, scheme.https),
        ],
        broken => {
            let same_site = match broken {
                RequestCookieSameSite::Strict => SameSite::Strict,
                _ => SameSite::Lax,
            };
            [
                cookies::set(scheme.main_cookie(), value, same_site, scheme.https),
                cookies::set(LEGACY_COOKIE, value, same_site, scheme.https),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    const HTTP: Scheme = Scheme { https: false };
    const HTTPS: Scheme = Scheme { https: true };

    fn cookies(header_value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(header_value).unwrap());
        headers
    }

    #[test]
    fn https_uses_the_host_prefix_and_secure_everywhere() {
        let binding = BrowserBinding("0".repeat(VALUE_LEN));
        let [main, legacy] = set_cookies(HTTPS, RequestCookieSameSite::None, &binding)
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            main,
            format!(
                "__Host-samlconf_sp_binding={}; HttpOnly; SameSite=None; Secure; Path=/",
                "0".repeat(64)
            )
        );
        assert!(!main.contains("Domain"));
        assert_eq!(
            legacy,
            format!(
                "samlconf_sp_binding_legacy={}; HttpOnly; SameSite=Lax; Secure; Path=/",
                "0".repeat(64)
            )
        );
    }

    #[test]
    fn plain_http_keeps_secure_on_the_main_cookie_only() {
        let binding = BrowserBinding("0".repeat(VALUE_LEN));
        let [main, legacy] = set_cookies(HTTP, RequestCookieSameSite::None, &binding)
            .map(|v| v.to_str().unwrap().to_owned());
        assert!(main.starts_with("samlconf_sp_binding=0"), "{main}");
        assert!(main.ends_with("; SameSite=None; Secure; Path=/"), "{main}");
        assert!(legacy.ends_with("; SameSite=Lax; Path=/"), "{legacy}");
    }

    #[test]
    fn lax_and_strict_request_cookies_reproduce_the_broken_product() {
        let binding = BrowserBinding("0".repeat(VALUE_LEN));
        let text = |scheme, same_site| {
            set_cookies(scheme, same_site, &binding).map(|v| v.to_str().unwrap().to_owned())
        };
        let [main, legacy] = text(HTTPS, RequestCookieSameSite::Lax);
        assert!(main.starts_with("__Host-samlconf_sp_binding=0"), "{main}");
        assert!(main.ends_with("; SameSite=Lax; Secure; Path=/"), "{main}");
        assert!(
            legacy.ends_with("; SameSite=Lax; Secure; Path=/"),
            "{legacy}"
        );
        let [main, legacy] = text(HTTP, RequestCookieSameSite::Strict);
        assert!(
            main.ends_with("; HttpOnly; SameSite=Strict; Path=/"),
            "{main}"
        );
        assert!(
            legacy.ends_with("; HttpOnly; SameSite=Strict; Path=/"),
            "{legacy}"
        );
    }

    #[test]
    fn the_main_cookie_decides_and_the_legacy_one_stands_in() {
        let (a, b) = ("a".repeat(VALUE_LEN), "b".repeat(VALUE_LEN));
        let both = cookies(&format!(
            "samlconf_sp_binding_legacy={b}; __Host-samlconf_sp_binding={a}"
        ));
        assert_eq!(presented(HTTPS, &both), Some(BrowserBinding(a.clone())));
        // On plain http the `__Host-` cookie is not ours to read.
        assert_eq!(presented(HTTP, &both), Some(BrowserBinding(b.clone())));
        let legacy_only = cookies(&format!("samlconf_sp_binding_legacy={b}"));
        assert_eq!(presented(HTTPS, &legacy_only), Some(BrowserBinding(b)));
        assert_eq!(presented(HTTP, &cookies("other=1")), None);
    }

    #[test]
    fn values_this_sp_could_not_have_minted_are_ignored() {
        for bad in [
            "",
            "abc",
            &"A".repeat(VALUE_LEN),
            &"g".repeat(VALUE_LEN),
            &"a".repeat(65),
        ] {
            let headers = cookies(&format!("samlconf_sp_binding={bad}"));
            assert_eq!(presented(HTTP, &headers), None, "{bad:?}");
        }
        let fresh = for_new_request(HTTP, &cookies("samlconf_sp_binding=abc"));
        assert_eq!(fresh.0.len(), VALUE_LEN);
        let kept = "c".repeat(VALUE_LEN);
        let reused = for_new_request(HTTP, &cookies(&format!("samlconf_sp_binding={kept}")));
        assert_eq!(
            reused,
            BrowserBinding(kept),
            "another tab reuses the browser's value"
        );
    }

    #[test]
    fn hash_is_sha256_hex_and_matches_only_itself() {
        let a = BrowserBinding("a".repeat(VALUE_LEN));
        let b = BrowserBinding("b".repeat(VALUE_LEN));
        assert_eq!(a.hash().len(), 64);
        assert!(a.matches(&a.hash()));
        assert!(!a.matches(&b.hash()));
        assert!(
            !a.matches(&"a".repeat(VALUE_LEN)),
            "the raw value is not its hash"
        );
    }
}
