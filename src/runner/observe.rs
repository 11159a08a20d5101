//! What is observed after a step has run, beside what its action returned: whether the step's
//! browser is signed in and as whom (`/me`), the audit events the step logged (and, for a logout,
//! the refusal code and the status of the LogoutResponse the IdP received), the accounts an
//! expectation asks about, and the last page, cut for the report.

use super::execute::Ctx;
use super::{Actual, AuditBrief};
use crate::scenario::{Action, Outcome, Step};

/// What is counted before a step, so that what it adds can be told apart afterwards.
pub(super) struct Before {
    audit: Result<usize, String>,
    logout_responses: usize,
    /// The fingerprint of the session the step's browser had (`Some(None)`: none, or no browser
    /// yet); `None`: not asked, as no expectation of the step judges a new session.
    session: Option<Result<Option<String>, String>>,
}

impl Before {
    pub(super) async fn take(ctx: &Ctx, step: &Step) -> Before {
        let audit = ctx.audit_events(step.action.sp()).await.map(|e| e.len());
        // Only the outcomes that deny a session are judged by whether a new one appeared: no
        // other step pays for the extra whoami (a real browser's fetch).
        let judged = step.expect.outcome.is_some_and(|o| o.denies_a_session());
        let session = match step
            .action
            .browser()
            .and_then(|b| ctx.existing_at(b, step.action.sp()))
        {
            _ if !judged => None,
            Some(driver) => Some(
                ctx.stage
                    .sp
                    .whoami(driver)
                    .await
                    .map(|w| w.map(|w| w.fingerprint)),
            ),
            None => Some(Ok(None)),
        };
        Before {
            audit,
            logout_responses: ctx.stage.idp.logout_responses().len(),
            session,
        }
    }
}

/// The browser's session afterwards (for the actions that have a browser): who, and whether it
/// is a new session; for `logout` and `check` the outcome it amounts to.
pub(super) async fn session(
    ctx: &mut Ctx,
    step: &Step,
    before: &Before,
    actual: &mut Actual,
) -> Result<(), String> {
    if let Some(name) = step.action.browser() {
        let target = step.action.sp();
        ctx.driver_at(name, target)?;
        let driver = ctx
            .existing_at(name, target)
            .ok_or_else(|| format!("browser {name:?}: none"))?;
        let me = ctx.stage.sp.whoami(driver).await?;
        if let crate::driver::Driver::Browser(browser) = driver {
            actual.windows = Some(browser.windows().await.map_err(|e| e.to_string())?);
        }
        actual.signed_in = Some(me.is_some());
        if let Some(session) = &before.session {
            let before = session.clone()?;
            actual.new_session = Some(
                me.as_ref()
                    .is_some_and(|me| before.as_ref() != Some(&me.fingerprint)),
            );
        }
        if let Some(me) = me {
            let text = |key: &str| me.raw[key].as_str().map(str::to_owned);
            actual.email = text("email");
            actual.login = text("login");
            actual.first_name = text("first_name");
            actual.last_name = text("last_name");
            actual.session_expires_at = text("session_expires_at");
            actual.name_id = me.name_id;
            actual.roles = me.roles;
        }
        match &step.action {
            Action::Logout(_) | Action::ReplayLogout(_) => {
                actual.outcome = Some(if actual.signed_in == Some(true) {
                    Outcome::StillSignedIn
                } else {
                    Outcome::SignedOut
                })
            }
            Action::Check(_) => {
                actual.outcome = Some(if actual.signed_in == Some(true) {
                    Outcome::SignedIn
                } else {
                    Outcome::SignedOut
                })
            }
            _ => {}
        }
    }
    Ok(())
}

/// The audit events the step logged; for a logout, also the first refusal's code and the status
/// of the last LogoutResponse the IdP received.
pub(super) async fn audit(
    ctx: &Ctx,
    step: &Step,
    before: Before,
    actual: &mut Actual,
) -> Result<(), String> {
    let events = ctx.audit_events(step.action.sp()).await?;
    let audit_before = before.audit?;
    actual.audit = events
        .iter()
        .skip(audit_before)
        .map(|e| AuditBrief {
            kind: e.kind.clone(),
            code: e.code.clone(),
            detail: e.detail.clone(),
            groups: e.groups.clone(),
        })
        .collect();
    // A generic failure page (`failure_page_detail = "generic"`, OnTrackio) names no reason: the
    // oracle reads the code where the product puts it, this step's `*.rejected` audit event.
    if actual.outcome == Some(Outcome::Refused) {
        let shown = actual.code.as_deref().is_some_and(|c| !c.is_empty());
        actual.code_shown = Some(shown);
        if !shown {
            actual.code = actual
                .audit
                .iter()
                .find(|e| e.kind.ends_with(".rejected"))
                .and_then(|e| e.code.clone());
        }
    }
    // A browser's page leaves a failed renewal without saying why: the code is the audit log's.
    if actual.outcome == Some(Outcome::SessionEnded)
        && actual.code.as_deref().is_none_or(str::is_empty)
    {
        actual.code = actual
            .audit
            .iter()
            .find(|e| e.kind == "renewal.failed")
            .and_then(|e| e.code.clone());
    }
    if matches!(step.action, Action::Logout(_) | Action::ReplayLogout(_)) {
        actual.code = actual
            .audit
            .iter()
            .find(|e| e.kind.ends_with(".rejected"))
            .and_then(|e| e.code.clone());
        let responses = ctx.stage.idp.logout_responses();
        let last = responses.iter().skip(before.logout_responses).last();
        actual.idp_logout_status = last
            .and_then(|r| r.response.as_ref())
            .and_then(|r| r.status_code.as_deref())
            .map(|s| s.rsplit(':').next().unwrap_or(s).to_owned());
        actual.idp_logout_signature = last.and_then(|r| r.signature.as_ref()).map(|check| {
            use mock_idp::logout::SignatureCheck;
            match check {
                SignatureCheck::Verified { .. } => "verified",
                SignatureCheck::WeakAlgorithm { .. } => "weak_algorithm",
                SignatureCheck::Missing => "missing",
                SignatureCheck::Invalid { .. } => "invalid",
                SignatureCheck::NoCertificate => "no_certificate",
            }
            .to_owned()
        });
    }
    Ok(())
}

/// The accounts an expectation asks about: which one the signed-in identity is linked to, and
/// the roles of those named in `account_roles`.
pub(super) async fn accounts(ctx: &Ctx, step: &Step, actual: &mut Actual) -> Result<(), String> {
    let expect = &step.expect;
    let asks = expect.linked_to.is_some()
        || expect.not_linked_to.is_some()
        || !expect.account_roles.is_empty();
    let Some(admin) = ctx.stage.sp.admin().filter(|_| asks) else {
        return Ok(());
    };
    if (expect.linked_to.is_some() || expect.not_linked_to.is_some())
        && actual.signed_in == Some(true)
        && let (Some(driver), Some(_)) = (step.action.browser(), actual.email.as_ref())
        && let Some(driver) = ctx.existing_at(driver, step.action.sp())
        && let Some(me) = ctx.stage.sp.whoami(driver).await?
    {
        let idp = me.raw["idp"].as_str().unwrap_or_default();
        let subject = me.raw["name_id"].as_str().unwrap_or_default();
        let user = admin.user_by_identity(idp, subject).await?;
        actual.linked_account = Some(match user {
            Some((id, about)) => ctx
                .accounts
                .iter()
                .find(|(_, known)| **known == id)
                .map(|(handle, _)| handle.clone())
                .unwrap_or(about),
            None => "no linked user".into(),
        });
    }
    for handle in expect.account_roles.keys() {
        let id = ctx
            .accounts
            .get(handle)
            .ok_or_else(|| format!("no account {handle:?}"))?;
        let roles = admin.roles(*id).await?;
        actual.account_roles.insert(handle.clone(), roles);
    }
    Ok(())
}

/// The last page, cut to its first 4 KiB for the report.
pub(super) fn page(actual: &mut Actual) {
    actual.page = actual.full_page.as_ref().map(|p| truncate(p, 4096));
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}
