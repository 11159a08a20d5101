//! The SP's HTML pages: askama templates under `sp/templates/` (every value HTML-escaped by the
//! engine). Scripts are static files under `sp/static/` (see `web::assets`), given their data
//! through `data-` attributes, so that no value is ever written into JavaScript.
//!
//! Element ids (`reason-code`, `refusal-detail`, `link-form`, `sign-out`, `renewal-status`, …),
//! form field names and page texts are an interface: the runner's driver, scenario files
//! (`page_contains`) and the browser tests read them.

use askama::Template;
use time::OffsetDateTime;

use crate::xml::saml_instant;

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

/// A page as a string. Rendering only fails if a value's `Display` fails, which none of ours
/// does; should it happen, the visitor gets a bare error page and the log the cause.
fn render(page: &impl Template) -> String {
    page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "an HTML page failed to render");
        "<!doctype html><title>Error</title><p>The page could not be shown.</p>".to_owned()
    })
}

#[derive(Template)]
#[template(path = "sign-out-confirmation.html")]
struct SignOutConfirmation<'a> {
    title: &'a str,
    csrf_token: &'a str,
}

/// `GET /logout`: asks before signing out, with the form that does it.
pub fn sign_out_confirmation(csrf_token: &str) -> String {
    render(&SignOutConfirmation {
        title: "Sign out?",
        csrf_token,
    })
}

#[derive(Template)]
#[template(path = "home-signed-out.html")]
struct HomeSignedOut<'a> {
    title: &'a str,
    certify_link: bool,
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home<'a> {
    title: &'a str,
    name: Option<&'a str>,
    email: &'a str,
    roles: &'a [String],
    idp: &'a str,
    expires: String,
    renewal_interval_secs: u32,
    csrf_token: &'a str,
    certify_link: bool,
}

/// The home page; signed in, it keeps the session alive (see `sp/static/keep-alive.js`) unless
/// renewal is disabled.
pub fn home(view: Option<&HomeView<'_>>) -> String {
    home_page(view, false)
}

/// [`home`], with a link to `/certify/last` (the checklist of the last response the ACS
/// received) when `certify_link`: only while the SP keeps that response
/// ([`crate::web::Sp::keep_last_response`]).
pub fn home_page(view: Option<&HomeView<'_>>, certify_link: bool) -> String {
    match view {
        None => render(&HomeSignedOut {
            title: "You are signed out",
            certify_link,
        }),
        Some(v) => render(&Home {
            title: "You are signed in",
            name: v.name.as_deref(),
            email: v.email,
            roles: v.roles,
            idp: v.idp,
            expires: saml_instant(v.expires_at),
            renewal_interval_secs: v.renewal_interval_secs,
            csrf_token: v.logout_csrf_token,
            certify_link,
        }),
    }
}

#[derive(Template)]
#[template(path = "sign-in-refused.html")]
struct SignInRefused<'a> {
    title: &'a str,
    code: &'a str,
    summary: &'a str,
    detail: Option<&'a str>,
}

/// The one message of every refused sign-in under `failure_page_detail = "generic"`.
pub const GENERIC_FAILURE: &str = "SAML sign-in failed. Contact your administrator.";

#[derive(Template)]
#[template(path = "sign-in-failed-generic.html")]
struct SignInFailedGeneric<'a> {
    title: &'a str,
    message: &'a str,
}

/// The generic failure page (OnTrackio): no reason code, no summary; the administrator reads
/// the reason in the audit log.
pub fn sign_in_failed_generic() -> String {
    render(&SignInFailedGeneric {
        title: "SAML sign-in failed",
        message: GENERIC_FAILURE,
    })
}

/// The page a refused sign-in lands on: a short explanation and the stable reason code, which
/// is also in the audit log with the detail. `detail` is the browser-safe detail a refusal site
/// chose to show (see `web::refusal`).
pub fn sign_in_refused(code: &str, summary: &str, detail: Option<&str>) -> String {
    render(&SignInRefused {
        title: "SAML sign-in failed",
        code,
        summary,
        detail,
    })
}

#[derive(Template)]
#[template(path = "logout-refused.html")]
struct LogoutRefused<'a> {
    title: &'a str,
    code: &'a str,
    summary: &'a str,
    detail: Option<&'a str>,
}

/// The page a refused logout message (at `/saml/sls`) lands on, with the stable reason code.
pub fn logout_refused(code: &str, summary: &str, detail: Option<&str>) -> String {
    render(&LogoutRefused {
        title: "SAML sign-out failed",
        code,
        summary,
        detail,
    })
}

#[derive(Template)]
#[template(path = "error.html")]
struct Error<'a> {
    title: &'a str,
    message: &'a str,
}

/// A generic error page (configuration or internal failures), without internal detail.
pub fn error(title: &str, message: &str) -> String {
    render(&Error { title, message })
}

#[derive(Template)]
#[template(path = "signed-out.html")]
struct SignedOut<'a> {
    title: &'a str,
}

/// After sign-out; its script tells the site's other pages (the renewal window closes).
pub fn signed_out() -> String {
    render(&SignedOut {
        title: "You are signed out",
    })
}

#[derive(Template)]
#[template(path = "renewal-result.html")]
struct RenewalResult<'a> {
    title: &'a str,
    failed_code: Option<&'a str>,
}

/// What the ACS answers to a renewal, inside the iframe or the renewal window: its script
/// (`sp/static/report-renewal.js`) reports to the page that asked.
pub fn renewal_result(failed_code: Option<&str>) -> String {
    render(&RenewalResult {
        title: match failed_code {
            None => "Session renewed",
            Some(_) => "Session ended",
        },
        failed_code,
    })
}

#[derive(Template)]
#[template(path = "renewal-not-needed.html")]
struct RenewalNotNeeded<'a> {
    title: &'a str,
}

/// `/renew` for a session no IdP signed in (the recovery login): nothing is renewed and the
/// session keeps its own end; the script reports success so that the page that asked carries on.
pub fn renewal_not_needed() -> String {
    render(&RenewalNotNeeded {
        title: "Session not renewed",
    })
}

#[derive(Template)]
#[template(path = "audit.html")]
struct Audit<'a> {
    title: &'a str,
    rows: Vec<AuditRow<'a>>,
    next: Option<i64>,
    limit: u32,
}

/// One audit event as the table shows it (absent facts are empty cells).
struct AuditRow<'a> {
    id: i64,
    at: String,
    kind: &'a str,
    code: &'a str,
    verified: bool,
    idp: &'a str,
    subject: &'a str,
    email: &'a str,
    groups: String,
    detail: &'a str,
}

/// One page of the audit log (newest first), with a link to the older rows. Rows of refused
/// messages are marked: their facts are as received, unverified and truncated.
pub fn audit_page(page: &crate::store::AuditPage, limit: u32) -> String {
    let rows = page
        .events
        .iter()
        .map(|record| {
            let e = &record.event;
            AuditRow {
                id: record.id,
                at: saml_instant(e.at),
                kind: &e.kind,
                code: e.code.as_deref().unwrap_or(""),
                verified: record.verified,
                idp: e.idp.as_deref().unwrap_or(""),
                subject: e.subject.as_deref().unwrap_or(""),
                email: e.user_email.as_deref().unwrap_or(""),
                groups: e.groups.join(", "),
                detail: &e.detail,
            }
        })
        .collect();
    render(&Audit {
        title: "Audit log",
        rows,
        next: page.next,
        limit,
    })
}

#[derive(Template)]
#[template(path = "idp-chooser.html")]
struct IdpChooser<'a> {
    title: &'a str,
    /// (the `/login` link, the IdP's label)
    buttons: Vec<(String, &'a str)>,
}

/// Several IdPs on one SP: one "Continue with …" button each (OnTrackio).
pub fn idp_chooser(idps: &[(String, String)], relay_state: Option<&str>) -> String {
    let buttons = idps
        .iter()
        .map(|(entity_id, label)| {
            let mut url = format!("/login?idp={}", percent(entity_id));
            if let Some(relay_state) = relay_state {
                url.push_str(&format!("&RelayState={}", percent(relay_state)));
            }
            (url, label.as_str())
        })
        .collect();
    render(&IdpChooser {
        title: "Sign in",
        buttons,
    })
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

#[derive(Template)]
#[template(path = "link-prompt.html")]
struct LinkPrompt<'a> {
    title: &'a str,
    email: &'a str,
    matched: Option<&'a str>,
    error: Option<&'a str>,
}

/// First SSO sign-in of an identity that is not linked yet (Flow Production Tracking): prove an
/// existing account by its password, or skip and get a new user.
pub fn link_prompt(view: &LinkView<'_>) -> String {
    render(&LinkPrompt {
        title: match view.matched {
            Some(_) => "Link your existing account",
            None => "Link to an existing account?",
        },
        email: view.email,
        matched: view.matched,
        error: view.error.as_deref(),
    })
}

#[derive(Template)]
#[template(path = "recovery.html")]
struct Recovery<'a> {
    title: &'a str,
    /// (reason code, summary) of a refused attempt.
    error: Option<(&'a str, &'a str)>,
    /// Arrived from the password-setup page.
    password_set: bool,
}

/// The recovery password login (Flow Production Tracking, Decisions): for administrators while SSO
/// is enforced.
pub fn recovery_form(error: Option<(&str, &str)>) -> String {
    render(&Recovery {
        title: "Recovery sign-in",
        error,
        password_set: false,
    })
}

/// The recovery password login after a password was set (`id="password-set"`).
pub fn recovery_form_after_password_setup() -> String {
    render(&Recovery {
        title: "Recovery sign-in",
        error: None,
        password_set: true,
    })
}

#[derive(Template)]
#[template(path = "test-sign-in.html")]
struct TestSignIn<'a> {
    title: &'a str,
    email_source: &'a str,
    outcome: &'a str,
    report: String,
}

/// The report of a test sign-in (`id="test-sign-in-report"`): nobody was signed in.
pub fn test_sign_in_report(report: &serde_json::Value) -> String {
    render(&TestSignIn {
        title: "Test sign-in",
        email_source: report["email_source"]
            .as_str()
            .unwrap_or("nothing: the e-mail does not map"),
        outcome: report["identity_check"].as_str().unwrap_or("?"),
        report: serde_json::to_string_pretty(report).unwrap_or_default(),
    })
}

#[derive(Template)]
#[template(path = "password-setup.html")]
struct PasswordSetup<'a> {
    title: &'a str,
    email: &'a str,
    token: &'a str,
    min_chars: usize,
    error: Option<(&'a str, &'a str)>,
}

/// `GET /password/setup/{token}`: the form that sets a password with the token (form id
/// `password-setup-form`), with a refused attempt's code above it.
pub fn password_setup_form(email: &str, token: &str, error: Option<(&str, &str)>) -> String {
    render(&PasswordSetup {
        title: "Set your password",
        email,
        token,
        min_chars: crate::password_setup::MIN_PASSWORD_CHARS,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_pages_end_with_the_site_administration_link() {
        let link = r#"<a id="site-administration" href="/login?sso=false">Site Administration</a>"#;
        for page in [
            home(None),
            idp_chooser(&[("urn:a".into(), "A".into())], None),
        ] {
            assert!(page.contains(link), "{page}");
        }
    }

    #[test]
    fn refusal_page_shows_the_code_escaped() {
        let page = sign_in_refused(
            "audience.mismatch",
            "The <assertion> was for another SP",
            Some("expected <sp>"),
        );
        assert!(page.contains(r#"<code id="reason-code">audience.mismatch</code>"#));
        assert!(page.contains("The &#60;assertion&#62;"));
        assert!(page.contains(r#"<p id="refusal-detail">expected &#60;sp&#62;</p>"#));
        let page = logout_refused("logout.unsigned", "unsigned", None);
        assert!(!page.contains("refusal-detail"), "{page}");
    }
}
