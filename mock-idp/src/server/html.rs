//! The HTML the browser sees: the auto-submit form, the login page and message pages, rendered
//! from the askama templates in `mock-idp/templates/`. Every interpolated value is escaped by
//! [`crate::xml::escape`] (see `mock-idp/askama.toml`).

use askama::Template;

use crate::users::User;

/// askama's escaper for the IdP's pages: the IdP's one escaping helper.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageEscaper;

impl askama::filters::Escaper for PageEscaper {
    fn write_escaped_str<W: std::fmt::Write>(&self, mut dest: W, text: &str) -> std::fmt::Result {
        dest.write_str(&crate::xml::escape(text))
    }
}

#[derive(Template)]
#[template(path = "auto_submit.html")]
struct AutoSubmit<'a> {
    title: &'a str,
    action: &'a str,
    field: &'a str,
    value: &'a str,
    relay_state: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "login.html")]
struct Login<'a> {
    users: &'a [User],
    sp_entity_id: &'a str,
    saml_request: &'a str,
    relay_state: Option<&'a str>,
    signed_query: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "message.html")]
struct Message<'a> {
    title: &'a str,
    heading: &'a str,
    message: &'a str,
}

/// The page, or (should a template ever fail to render, which escaping strings cannot make
/// happen) a plain error page rather than a panic.
fn render(page: &impl Template) -> String {
    page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "an IdP page failed to render");
        "<!DOCTYPE html>\n<p>The mock IdP failed to render this page.</p>\n".to_owned()
    })
}

/// The HTTP-POST binding's self-submitting form carrying `SAMLResponse` (and `RelayState` if any).
pub fn auto_submit_form(acs_url: &str, saml_response: &str, relay_state: Option<&str>) -> String {
    auto_submit_saml_form(acs_url, "SAMLResponse", saml_response, relay_state)
}

/// The HTTP-POST binding's self-submitting form carrying `field` (`SAMLRequest` or
/// `SAMLResponse`) and `RelayState` if any.
pub fn auto_submit_saml_form(
    action: &str,
    field: &str,
    value: &str,
    relay_state: Option<&str>,
) -> String {
    render(&AutoSubmit {
        title: if field == "SAMLRequest" {
            "Signing out…"
        } else {
            "Signing in…"
        },
        action,
        field,
        value,
        relay_state,
    })
}

/// A page listing `users`, one button each, carrying the pending request (`saml_request`: base64
/// of the AuthnRequest XML, as the HTTP-POST binding encodes it) to `POST /sso/login`.
pub fn login_page(
    users: &[User],
    sp_entity_id: &str,
    saml_request: &str,
    relay_state: Option<&str>,
    signed_query: Option<&str>,
) -> String {
    render(&Login {
        users,
        sp_entity_id,
        saml_request,
        relay_state,
        signed_query,
    })
}

/// The page an SP's LogoutResponse lands on.
pub fn signed_out_page(detail: &str) -> String {
    render(&Message {
        title: "Signed out",
        heading: "You are signed out",
        message: detail,
    })
}

/// An error page: a heading and one explanatory sentence.
pub fn error_page(title: &str, message: &str) -> String {
    render(&Message {
        title,
        heading: title,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_every_value_and_keep_their_layout() {
        let users = [User {
            login: "o\"b".into(),
            email: "<o@x>".into(),
            first_name: "Ann & Co".into(),
            last_name: "O'Neil".into(),
            ..crate::users::demo_users()[0].clone()
        }];
        assert_eq!(
            login_page(&users, "sp<", "PHg+", Some("/a?b=\"c\"\n"), None),
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Mock IdP sign-in</title></head>\n<body>\n<h1>Sign in to sp&lt;</h1>\n<form method=\"post\" action=\"/sso/login\">\n<input type=\"hidden\" name=\"SAMLRequest\" value=\"PHg+\"/>\n<input type=\"hidden\" name=\"RelayState\" value=\"/a?b=&quot;c&quot;&#10;\"/>\n<ul>\n<li><button type=\"submit\" name=\"user\" value=\"o&quot;b\">Ann &amp; Co O&#39;Neil &lt;&lt;o@x&gt;&gt;</button></li>\n</ul>\n</form>\n</body></html>\n"
        );
        assert_eq!(
            auto_submit_form("https://sp/acs?a=1&b=2", "PHg+", None),
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Signing in…</title></head>\n<body>\n<form id=\"saml-post\" method=\"post\" action=\"https://sp/acs?a=1&amp;b=2\">\n<input type=\"hidden\" name=\"SAMLResponse\" value=\"PHg+\"/>\n<noscript><button type=\"submit\">Continue</button></noscript>\n</form>\n<script>document.getElementById(\"saml-post\").submit();</script>\n</body></html>\n"
        );
        assert_eq!(
            error_page("No <SP>", "it's gone"),
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>No &lt;SP&gt;</title></head>\n<body>\n<h1>No &lt;SP&gt;</h1>\n<p>it&#39;s gone</p>\n</body></html>\n"
        );
    }
}
