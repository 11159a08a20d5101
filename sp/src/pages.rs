//! The SP's HTML pages: plain, readable, no scripts, every dynamic value escaped.

use time::OffsetDateTime;

/// Escapes text for HTML and XML, in element content and in quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A SAML `xs:dateTime` in UTC with second precision, as IdPs and SPs commonly write it.
pub fn saml_instant(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · samlconf reference SP</title>
<style>
  body {{ font-family: system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #1b1b1b; }}
  code {{ background: #f2f2f2; padding: 0 .25em; border-radius: 3px; }}
  .error {{ border-left: 4px solid #b3261e; padding: .5rem 1rem; background: #fdf3f2; }}
  table {{ border-collapse: collapse; }} td, th {{ text-align: left; padding: .2rem .8rem .2rem 0; vertical-align: top; }}
  a.button {{ display: inline-block; padding: .4rem .9rem; background: #0b57d0; color: #fff; border-radius: 4px; text-decoration: none; }}
</style>
</head>
<body>
<p><small>samlconf reference SP</small></p>
<h1>{title}</h1>
{body}
</body>
</html>
"#,
        title = escape(title)
    )
}

/// What the home page knows about the visitor.
pub struct HomeView<'a> {
    pub email: &'a str,
    pub name: Option<String>,
    pub roles: &'a [String],
    pub idp: &'a str,
    pub expires_at: OffsetDateTime,
}

pub fn home(view: Option<&HomeView<'_>>) -> String {
    match view {
        None => layout(
            "You are signed out",
            r#"<p>This service provider signs you in through your identity provider (SAML 2.0).</p>
<p><a class="button" href="/login">Sign in with SSO</a></p>"#,
        ),
        Some(v) => {
            let roles: Vec<String> = v
                .roles
                .iter()
                .map(|r| format!("<code>{}</code>", escape(r)))
                .collect();
            layout(
                "You are signed in",
                &format!(
                    r#"<table>
<tr><th>Signed in as</th><td>{name}<code>{email}</code></td></tr>
<tr><th>Roles</th><td>{roles}</td></tr>
<tr><th>Identity provider</th><td><code>{idp}</code></td></tr>
<tr><th>Session ends</th><td>{expires}</td></tr>
</table>
<p><a href="/me">Session as JSON</a> · <a href="/logout">Sign out</a></p>"#,
                    name = v
                        .name
                        .as_deref()
                        .map(|n| format!("{} ", escape(n)))
                        .unwrap_or_default(),
                    email = escape(v.email),
                    roles = roles.join(" "),
                    idp = escape(v.idp),
                    expires = saml_instant(v.expires_at),
                ),
            )
        }
    }
}

/// The page a refused sign-in lands on: a short explanation and the stable reason code, which
/// is also in the audit log with the detail.
pub fn sign_in_refused(code: &str, summary: &str) -> String {
    layout(
        "SAML sign-in failed",
        &format!(
            r#"<div class="error"><p>{summary}</p><p>Reason code: <code id="reason-code">{code}</code></p></div>
<p>Your administrator can find this code, with the details, in the audit log.
What each code means is listed in the samlconf reason-code table.</p>
<p><a href="/login">Try again</a> · <a href="/">Home</a></p>"#,
            summary = escape(summary),
            code = escape(code),
        ),
    )
}

/// A generic error page (configuration or internal failures), without internal detail.
pub fn error(title: &str, message: &str) -> String {
    layout(
        title,
        &format!(
            r#"<div class="error"><p>{}</p></div><p><a href="/">Home</a></p>"#,
            escape(message)
        ),
    )
}

pub fn signed_out() -> String {
    layout(
        "You are signed out",
        r#"<p>Your session has ended.</p><p><a class="button" href="/login">Sign in again</a></p>"#,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn instants_are_utc_seconds() {
        let t = datetime!(2026-03-04 05:06:07.890 +02:00);
        assert_eq!(saml_instant(t), "2026-03-04T03:06:07Z");
    }

    #[test]
    fn refusal_page_shows_the_code_escaped() {
        let page = sign_in_refused("audience.mismatch", "The <assertion> was for another SP");
        assert!(page.contains(r#"<code id="reason-code">audience.mismatch</code>"#));
        assert!(page.contains("The &lt;assertion&gt;"));
    }
}
