//! The HTML the browser sees: the auto-submit form, the login page and error pages.
//! Every interpolated value goes through `escape_attr` or `escape_text`.

use crate::users::User;
use crate::xml::{escape_attr, escape_text};

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
    let relay = relay_state
        .map(|rs| {
            format!(
                "\n<input type=\"hidden\" name=\"RelayState\" value=\"{}\"/>",
                escape_attr(rs)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body>
<form id="saml-post" method="post" action="{action}">
<input type="hidden" name="{field}" value="{response}"/>{relay}
<noscript><button type="submit">Continue</button></noscript>
</form>
<script>document.getElementById("saml-post").submit();</script>
</body></html>
"#,
        action = escape_attr(action),
        field = escape_attr(field),
        title = if field == "SAMLRequest" {
            "Signing out…"
        } else {
            "Signing in…"
        },
        response = escape_attr(value),
    )
}

/// A page listing `users`, one button each, carrying the pending request (`saml_request`: base64
/// of the AuthnRequest XML, as the HTTP-POST binding encodes it) to `POST /sso/login`.
pub fn login_page(
    users: &[User],
    sp_entity_id: &str,
    saml_request: &str,
    relay_state: Option<&str>,
) -> String {
    let relay = relay_state
        .map(|rs| {
            format!(
                "\n<input type=\"hidden\" name=\"RelayState\" value=\"{}\"/>",
                escape_attr(rs)
            )
        })
        .unwrap_or_default();
    let buttons: String = users
        .iter()
        .map(|user| {
            format!(
                "\n<li><button type=\"submit\" name=\"user\" value=\"{login}\">{first} {last} &lt;{email}&gt;</button></li>",
                login = escape_attr(&user.login),
                first = escape_text(&user.first_name),
                last = escape_text(&user.last_name),
                email = escape_text(&user.email),
            )
        })
        .collect();
    format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Mock IdP sign-in</title></head>
<body>
<h1>Sign in to {sp}</h1>
<form method="post" action="/sso/login">
<input type="hidden" name="SAMLRequest" value="{request}"/>{relay}
<ul>{buttons}
</ul>
</form>
</body></html>
"#,
        sp = escape_text(sp_entity_id),
        request = escape_attr(saml_request),
    )
}

/// The page an SP's LogoutResponse lands on.
pub fn signed_out_page(detail: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Signed out</title></head>\n<body>\n<h1>You are signed out</h1>\n<p>{detail}</p>\n</body></html>\n",
        detail = escape_text(detail),
    )
}

/// An error page: a heading and one explanatory sentence.
pub fn error_page(title: &str, message: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<p>{message}</p>\n</body></html>\n",
        title = escape_text(title),
        message = escape_text(message),
    )
}
