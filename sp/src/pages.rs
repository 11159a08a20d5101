//! The SP's HTML pages: plain, readable, no scripts, every dynamic value escaped.

use time::OffsetDateTime;

// HTML text and quoted attribute values need exactly the escapes XML does (the five markup
// characters), so pages use the one escaping function.
use crate::xml::{escape, saml_instant};

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
    /// Seconds between passive re-authentications; 0 disables renewal.
    pub renewal_interval_secs: u32,
    /// The session's token for the sign-out form (`POST /logout`).
    pub logout_csrf_token: &'a str,
}

/// Signing out is a POST with the session's token: a link or image on another site cannot
/// sign anyone out (logout CSRF).
fn sign_out_form(csrf_token: &str) -> String {
    format!(
        r#"<form method="post" action="/logout" id="sign-out-form">
<input type="hidden" name="csrf_token" value="{}">
<p><button type="submit" id="sign-out">Sign out</button></p>
</form>"#,
        escape(csrf_token)
    )
}

/// `GET /logout`: asks before signing out, with the form that does it.
pub fn sign_out_confirmation(csrf_token: &str) -> String {
    layout(
        "Sign out?",
        &format!(
            "<p>Do you want to sign out of this service?</p>\n{}\n<p><a href=\"/\">Stay signed in</a></p>",
            sign_out_form(csrf_token)
        ),
    )
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
<p><a href="/me">Session as JSON</a></p>
{sign_out}
<p id="renewal-status" role="status"></p>
{renewal}"#,
                    name = v
                        .name
                        .as_deref()
                        .map(|n| format!("{} ", escape(n)))
                        .unwrap_or_default(),
                    email = escape(v.email),
                    roles = roles.join(" "),
                    idp = escape(v.idp),
                    expires = saml_instant(v.expires_at),
                    renewal = renewal_script(v.renewal_interval_secs),
                    sign_out = sign_out_form(v.logout_csrf_token),
                ),
            )
        }
    }
}

/// The page a refused sign-in lands on: a short explanation and the stable reason code, which
/// is also in the audit log with the detail.
pub fn sign_in_refused(code: &str, summary: &str, detail: Option<&str>) -> String {
    layout(
        "SAML sign-in failed",
        &format!(
            r#"<div class="error"><p>{summary}</p>{detail}<p>Reason code: <code id="reason-code">{code}</code></p></div>
<p>Your administrator can find this code, with the details, in the audit log.
What each code means is listed in the samlconf reason-code table.</p>
<p><a href="/login">Try again</a> · <a href="/">Home</a></p>"#,
            summary = escape(summary),
            detail = public_detail(detail),
            code = escape(code),
        ),
    )
}

/// The browser-safe detail a refusal site chose to show (see `web::refusal`), as a paragraph.
fn public_detail(detail: Option<&str>) -> String {
    detail
        .map(|d| format!(r#"<p id="refusal-detail">{}</p>"#, escape(d)))
        .unwrap_or_default()
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

/// The page a refused logout message (at `/saml/sls`) lands on, with the stable reason code.
pub fn logout_refused(code: &str, summary: &str, detail: Option<&str>) -> String {
    layout(
        "SAML sign-out failed",
        &format!(
            r#"<div class="error"><p>{summary}</p>{detail}<p>Reason code: <code id="reason-code">{code}</code></p></div>
<p>Your administrator can find this code, with the details, in the audit log.</p>
<p><a href="/">Home</a></p>"#,
            summary = escape(summary),
            detail = public_detail(detail),
            code = escape(code),
        ),
    )
}

pub fn signed_out() -> String {
    layout(
        "You are signed out",
        r#"<p>Your session has ended.</p><p><a class="button" href="/login">Sign in again</a></p>
<script>
// Logout closes the renewal window (000): tell every page of this site, the popup included.
if ("BroadcastChannel" in window) new BroadcastChannel("samlconf-session").postMessage("logout");
</script>"#,
    )
}

/// Keeps the session alive the way Flow Production Tracking describes: every `interval` a passive
/// AuthnRequest in a hidden iframe; if the IdP refuses to be framed (no answer within 10 s, or half
/// the interval when that is shorter), a small renewal
/// window instead; if pop-ups are blocked, a message asking to allow them. A failed renewal
/// (reported by the ACS page) ends the session here too.
fn renewal_script(interval_secs: u32) -> String {
    if interval_secs == 0 {
        return String::new();
    }
    format!(
        r#"<script>
(() => {{
  const intervalMs = {interval_secs} * 1000;
  const status = document.getElementById("renewal-status");
  let pending = null;
  window.addEventListener("message", (event) => {{
    if (event.origin !== location.origin || !event.data || event.data.samlconf !== "renewal") return;
    clearTimeout(pending);
    pending = null;
    if (!event.data.ok) location.href = "/?renewal_failed=" + encodeURIComponent(event.data.code || "");
  }});
  function openRenewalWindow() {{
    const popup = window.open("/renew?mode=popup", "samlconf-renewal", "width=420,height=260,left=0,top=10000");
    if (!popup) status.textContent = "Your identity provider does not allow background renewal: allow pop-ups for this site so that your session can be renewed.";
  }}
  function renew() {{
    const frame = document.createElement("iframe");
    frame.hidden = true;
    frame.src = "/renew?mode=iframe";
    document.body.appendChild(frame);
    // A framed answer takes well under this; none means the IdP refused to be framed.
    pending = setTimeout(() => {{ frame.remove(); openRenewalWindow(); }}, Math.min(10000, intervalMs / 2));
    setTimeout(() => frame.remove(), 20000);
  }}
  setInterval(renew, intervalMs);
  if ("BroadcastChannel" in window) {{
    new BroadcastChannel("samlconf-session").onmessage = (event) => {{ if (event.data === "logout") location.href = "/"; }};
  }}
}})();
</script>"#
    )
}

/// What the ACS answers to a renewal, inside the iframe or the renewal window: it reports to the
/// page that asked; a renewal window stays open (Flow Production Tracking) and closes when the user
/// signs out.
pub fn renewal_result(failed_code: Option<&str>) -> String {
    let (title, text) = match failed_code {
        None => (
            "Session renewed",
            "Your session was renewed. Please keep this window open; it closes when you sign out."
                .to_string(),
        ),
        Some(code) => (
            "Session ended",
            format!(
                "Your session could not be renewed (reason code {}) and has ended.",
                escape(code)
            ),
        ),
    };
    let message = match failed_code {
        None => r#"{samlconf: "renewal", ok: true}"#.to_string(),
        Some(code) => format!(
            r#"{{samlconf: "renewal", ok: false, code: "{}"}}"#,
            escape(code)
        ),
    };
    layout(
        title,
        &format!(
            r#"<p>{text}</p>
<script>
(() => {{
  const message = {message};
  if (window.parent !== window) window.parent.postMessage(message, location.origin);
  if (window.opener) window.opener.postMessage(message, location.origin);
  if ("BroadcastChannel" in window) {{
    new BroadcastChannel("samlconf-session").onmessage = (event) => {{ if (event.data === "logout") window.close(); }};
  }}
}})();
</script>"#
        ),
    )
}

/// One page of the audit log (newest first), with a link to the older rows. Rows of refused
/// messages are marked: their facts are as received, unverified and truncated.
pub fn audit_page(page: &crate::store::AuditPage, limit: u32) -> String {
    let mut rows = String::new();
    for record in &page.events {
        let e = &record.event;
        let opt = |v: &Option<String>| escape(v.as_deref().unwrap_or(""));
        rows.push_str(&format!(
            "<tr><td>{id}</td><td>{at}</td><td><code>{kind}</code></td><td><code>{code}</code></td><td>{verified}</td><td>{idp}</td><td>{subject}</td><td>{email}</td><td>{groups}</td><td>{detail}</td></tr>\n",
            id = record.id,
            at = saml_instant(e.at),
            kind = escape(&e.kind),
            code = opt(&e.code),
            verified = if record.verified { "yes" } else { "<strong>no</strong>" },
            idp = opt(&e.idp),
            subject = opt(&e.subject),
            email = opt(&e.user_email),
            groups = escape(&e.groups.join(", ")),
            detail = escape(&e.detail),
        ));
    }
    let next = page
        .next
        .map(|before| {
            format!(r#"<p><a href="/admin/audit?before={before}&amp;limit={limit}">Older events</a></p>"#)
        })
        .unwrap_or_default();
    layout(
        "Audit log",
        &format!(
            r#"<p>Newest first. <em>Verified: no</em> marks a refused message: its facts are as received, unauthenticated and truncated.</p>
<table>
<tr><th>id</th><th>at</th><th>kind</th><th>code</th><th>verified</th><th>IdP</th><th>subject</th><th>e-mail</th><th>groups</th><th>detail</th></tr>
{rows}</table>
{next}
<p><a href="/">Home</a></p>"#
        ),
    )
}

/// Several IdPs on one SP: one "Continue with …" button each (OnTrackio).
pub fn idp_chooser(idps: &[(String, String)], relay_state: Option<&str>) -> String {
    let mut buttons = String::new();
    for (entity_id, label) in idps {
        let mut url = format!("/login?idp={}", percent(entity_id));
        if let Some(relay_state) = relay_state {
            url.push_str(&format!("&RelayState={}", percent(relay_state)));
        }
        buttons.push_str(&format!(
            "<p><a class=\"button\" href=\"{}\">Continue with {}</a></p>\n",
            escape(&url),
            escape(label)
        ));
    }
    layout(
        "Sign in",
        &format!("<p>Choose how to sign in.</p>\n{buttons}"),
    )
}

fn percent(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// What the linking page shows.
pub struct LinkView<'a> {
    /// The e-mail the IdP asserted.
    pub email: &'a str,
    /// The local account that matched (login or e-mail), if any.
    pub matched: Option<&'a str>,
    /// A wrong-password notice.
    pub error: Option<String>,
}

/// First SSO sign-in of an identity that is not linked yet (Flow Production Tracking): prove an
/// existing account by its password, or skip and get a new user.
pub fn link_prompt(view: &LinkView<'_>) -> String {
    let error = view
        .error
        .as_deref()
        .map(|e| {
            format!(
                r#"<div class="error"><p id="link-error">{}</p></div>"#,
                escape(e)
            )
        })
        .unwrap_or_default();
    let (title, intro, fields) = match view.matched {
        Some(account) => (
            "Link your existing account",
            format!(
                "You signed in as <code>{}</code> for the first time. An account <code>{}</code> already exists here: enter its password to link it to your single sign-on identity.",
                escape(view.email),
                escape(account)
            ),
            r#"<p><label>Password of that account <input type="password" name="password" autocomplete="current-password" required></label></p>"#,
        ),
        None => (
            "Link to an existing account?",
            format!(
                "You signed in as <code>{}</code> for the first time and no account here matches it. If you already have an account, enter its username and password to link it.",
                escape(view.email)
            ),
            r#"<p><label>Username or e-mail <input name="username" autocomplete="username" required></label></p>
<p><label>Password <input type="password" name="password" autocomplete="current-password" required></label></p>"#,
        ),
    };
    layout(
        title,
        &format!(
            r#"<p>{intro}</p>
{error}
<form method="post" action="/link" id="link-form">
<input type="hidden" name="action" value="link">
{fields}
<p><button type="submit">Link account</button></p>
</form>
<form method="post" action="/link" id="skip-form">
<input type="hidden" name="action" value="skip">
<p><strong>Not recommended:</strong> skipping creates a new user that is not tied to your old
account and is missing its privileges and access.</p>
<p><button type="submit">Skip linking and create a new user</button></p>
</form>"#
        ),
    )
}

/// The recovery password login (Flow Production Tracking, Decisions): for administrators while SSO
/// is enforced.
pub fn recovery_form(error: Option<(&str, &str)>) -> String {
    let error = error
        .map(|(code, summary)| {
            format!(
                r#"<div class="error"><p>{}</p><p>Reason code: <code id="reason-code">{}</code></p></div>"#,
                escape(summary),
                escape(code)
            )
        })
        .unwrap_or_default();
    layout(
        "Recovery sign-in",
        &format!(
            r#"<p>Single sign-on is enforced. This password sign-in is only for administrators who need to
recover access (for example when the identity provider is misconfigured). Every attempt is audited.</p>
{error}
<form method="post" action="/login/password">
<p><label>Username or e-mail <input name="username" autocomplete="username" required></label></p>
<p><label>Password <input type="password" name="password" autocomplete="current-password" required></label></p>
<p><button type="submit">Sign in</button></p>
</form>
<p><a href="/login">Sign in with SSO instead</a></p>"#
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_page_shows_the_code_escaped() {
        let page = sign_in_refused(
            "audience.mismatch",
            "The <assertion> was for another SP",
            Some("expected <sp>"),
        );
        assert!(page.contains(r#"<code id="reason-code">audience.mismatch</code>"#));
        assert!(page.contains("The &lt;assertion&gt;"));
        assert!(page.contains(r#"<p id="refusal-detail">expected &lt;sp&gt;</p>"#));
        let page = logout_refused("logout.unsigned", "unsigned", None);
        assert!(!page.contains("refusal-detail"), "{page}");
    }
}
