//! The HTML the browser sees: the auto-submit form, the login page and message pages, rendered
//! from the askama templates in `mock-idp/templates/`. Every interpolated value is escaped by
//! [`crate::xml::escape`] (see `mock-idp/askama.toml`).

use askama::Template;

use super::workbench::{self, Fact, RequestSignature};
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
    title: &'a str,
    users: &'a [User],
    sp_entity_id: &'a str,
    saml_request: &'a str,
    relay_state: Option<&'a str>,
    signed_query: Option<&'a str>,
    profiles: &'a [(&'a str, &'a str)],
    request_facts: Vec<Fact>,
    request_xml: String,
}

#[derive(Template)]
#[template(path = "review.html")]
struct Review<'a> {
    title: &'a str,
    acs_url: &'a str,
    form_value: &'a str,
    relay_state: Option<&'a str>,
    user: &'a str,
    profile: &'a str,
    facts: Vec<Fact>,
    response_xml: String,
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

/// The login page (`form#sign-in`): one button per user (`button[name=user]`), carrying the
/// pending request (`saml_request`: base64 of the AuthnRequest XML, as the HTTP-POST binding
/// encodes it; `signed_query`: the verified HTTP-Redirect query) to `POST /sso/login`. Below, for
/// people: a profile, knob overrides and "stop before posting" for this one sign-in, and the
/// decoded request (`request_xml`) with its summary.
pub fn login_page(
    users: &[User],
    sp_entity_id: &str,
    saml_request: &str,
    relay_state: Option<&str>,
    signed_query: Option<&str>,
    request_xml: &str,
) -> String {
    let signature = match signed_query {
        Some(_) => RequestSignature::RedirectVerified,
        None => RequestSignature::Unsigned,
    };
    render(&Login {
        title: "Mock IdP sign-in",
        users,
        sp_entity_id,
        saml_request,
        relay_state,
        signed_query,
        profiles: crate::profiles::ALL,
        request_facts: workbench::request_summary(request_xml, signature),
        request_xml: workbench::pretty(request_xml),
    })
}

/// "Stop before posting": the response the IdP would post (`xml`, as `form_value` carries it),
/// decoded and summarised, in `form#send-response` whose button posts it to `acs_url`.
pub fn review_page(
    acs_url: &str,
    form_value: &str,
    relay_state: Option<&str>,
    user: &str,
    profile: &str,
    xml: &str,
) -> String {
    render(&Review {
        title: "Mock IdP: the answer, before posting",
        acs_url,
        form_value,
        relay_state,
        user,
        profile,
        facts: workbench::response_summary(xml),
        response_xml: workbench::pretty(xml),
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
        let page = login_page(
            &users,
            "sp<",
            "PHg+",
            Some("/a?b=\"c\"\n"),
            None,
            "<x a=\"&lt;\"/>",
        );
        for part in [
            "<h1>Sign in to sp&lt;</h1>",
            "<form id=\"sign-in\" method=\"post\" action=\"/sso/login\">",
            "<input type=\"hidden\" name=\"SAMLRequest\" value=\"PHg+\"/>",
            "<input type=\"hidden\" name=\"RelayState\" value=\"/a?b=&quot;c&quot;&#10;\"/>",
            "<li><button type=\"submit\" name=\"user\" value=\"o&quot;b\">Ann &amp; Co O&#39;Neil &lt;&lt;o@x&gt;&gt;</button></li>",
            "<pre id=\"authn-request\">&lt;x a=&quot;&amp;lt;&quot;/&gt;</pre>",
            "<option value=\"sha1\">",
        ] {
            assert!(page.contains(part), "{part} in {page}");
        }
        assert!(
            !page.contains("SAMLResponse"),
            "the login page carries no answer"
        );
        assert_eq!(
            auto_submit_form("https://sp/acs?a=1&b=2", "PHg+", None),
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Signing in…</title></head>\n<body>\n<form id=\"saml-post\" method=\"post\" action=\"https://sp/acs?a=1&amp;b=2\">\n<input type=\"hidden\" name=\"SAMLResponse\" value=\"PHg+\"/>\n<noscript><button type=\"submit\">Continue</button></noscript>\n</form>\n<script>document.getElementById(\"saml-post\").submit();</script>\n</body></html>\n"
        );
        let page = error_page("No <SP>", "it's gone");
        assert!(page.contains("<title>No &lt;SP&gt;</title>"), "{page}");
        assert!(
            page.contains("<h1>No &lt;SP&gt;</h1>\n<p>it&#39;s gone</p>"),
            "{page}"
        );
    }
}
