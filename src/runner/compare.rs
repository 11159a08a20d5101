//! Expected vs. actual: one line per expectation that did not hold.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Actual, AuditBrief};
use crate::scenario::{AuditExpect, Expect};

fn shown(value: &Option<String>) -> String {
    match value {
        Some(v) => format!("{v:?}"),
        None => "nothing".into(),
    }
}

pub(super) fn differences(expect: &Expect, actual: &Actual) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(outcome) = expect.outcome
        && actual.outcome.as_deref() != Some(outcome.as_str())
    {
        let mut got = shown(&actual.outcome);
        if let Some(code) = &actual.code {
            got.push_str(&format!(" with code {code:?}"));
        }
        out.push(format!(
            "outcome: expected {:?}, got {got}",
            outcome.as_str()
        ));
    }
    if let Some(code) = &expect.code
        && actual.code.as_ref() != Some(code)
    {
        out.push(format!(
            "code: expected {code:?}, got {}",
            shown(&actual.code)
        ));
    }
    // A refusal that names no code fails unless the scenario expects that: the audit log
    // standing in for the page must be asked for, never a silent fallback.
    match (expect.code_shown, actual.code_shown) {
        (Some(shown), got) if got != Some(shown) => out.push(format!(
            "code_shown: expected {shown}, got {}",
            got.map_or("nothing".into(), |s| s.to_string())
        )),
        (None, Some(false)) => out.push(format!(
            "the refusal named no reason code to the browser (the audit log says {}); expect `code_shown = false` if a generic failure page is intended",
            shown(&actual.code)
        )),
        _ => {}
    }
    if let Some(status) = expect.status
        && actual.status != Some(status)
    {
        out.push(format!(
            "status: expected {status}, got {}",
            actual.status.map_or("nothing".into(), |s| s.to_string())
        ));
    }
    if let Some(user) = &expect.user {
        let matches = actual
            .email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(user))
            || actual.login.as_deref() == Some(user.as_str());
        if !matches {
            out.push(format!(
                "user: expected {user:?} signed in, got {}",
                match (&actual.email, &actual.login) {
                    (None, _) => "nobody".into(),
                    (Some(e), Some(l)) => format!("{e:?} (login {l:?})"),
                    (Some(e), None) => format!("{e:?}"),
                }
            ));
        }
    }
    for (field, expected, got) in [
        ("email", &expect.email, &actual.email),
        ("first_name", &expect.first_name, &actual.first_name),
        ("last_name", &expect.last_name, &actual.last_name),
        ("landing", &expect.landing, &actual.landing),
    ] {
        if let Some(expected) = expected
            && got.as_ref() != Some(expected)
        {
            out.push(format!(
                "{field}: expected {expected:?}, got {}",
                shown(got)
            ));
        }
    }
    if let Some(roles) = &expect.roles
        && actual.roles.as_ref() != Some(roles)
    {
        out.push(format!(
            "roles: expected {roles:?}, got {}",
            actual
                .roles
                .as_ref()
                .map_or("no session".into(), |r| format!("{r:?}"))
        ));
    }
    if let Some(at) = &expect.session_expires_at {
        let parse = |s: &str| OffsetDateTime::parse(s, &Rfc3339).ok();
        let same = match (
            parse(at),
            actual.session_expires_at.as_deref().and_then(parse),
        ) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        };
        if !same {
            out.push(format!(
                "session_expires_at: expected {at:?}, got {}",
                shown(&actual.session_expires_at)
            ));
        }
    }
    if let Some(signed_in) = expect.signed_in
        && actual.signed_in != Some(signed_in)
    {
        out.push(format!(
            "signed_in: expected {signed_in}, got {}",
            actual.signed_in.map_or("unknown".into(), |s| s.to_string())
        ));
    }
    if let Some(handle) = &expect.linked_to
        && actual.linked_account.as_ref() != Some(handle)
    {
        out.push(format!(
            "linked_to: expected account {handle:?}, got {}",
            shown(&actual.linked_account)
        ));
    }
    if let Some(handle) = &expect.not_linked_to
        && (actual.linked_account.is_none() || actual.linked_account.as_ref() == Some(handle))
    {
        out.push(format!(
            "not_linked_to: expected another user than account {handle:?}, got {}",
            shown(&actual.linked_account)
        ));
    }
    for (handle, roles) in &expect.account_roles {
        let got = actual.account_roles.get(handle);
        if got != Some(roles) {
            out.push(format!(
                "account_roles.{handle}: expected {roles:?}, got {got:?}"
            ));
        }
    }
    for wanted in &expect.audit {
        let count = matching(&actual.audit, wanted);
        let ok = match wanted.count {
            Some(n) => count == n,
            None => count > 0,
        };
        if !ok {
            out.push(format!(
                "audit: expected {} event {wanted}, found {count} among [{}]",
                wanted
                    .count
                    .map_or("at least one".to_owned(), |n| format!("exactly {n}")),
                brief(&actual.audit)
            ));
        }
    }
    for unwanted in &expect.no_audit {
        if matching(&actual.audit, unwanted) > 0 {
            out.push(format!(
                "no_audit: expected no event {unwanted}, found [{}]",
                brief(&actual.audit)
            ));
        }
    }
    for text in &expect.page_contains {
        let haystacks = [&actual.full_page, &actual.message, &actual.detail];
        if !haystacks
            .iter()
            .any(|h| h.as_deref().is_some_and(|h| h.contains(text.as_str())))
        {
            out.push(format!(
                "page_contains: {text:?} is not on the page{}",
                if actual.full_page.is_none() {
                    " (there is none)"
                } else {
                    ""
                }
            ));
        }
    }
    if let Some(status) = &expect.idp_logout_status
        && actual.idp_logout_status.as_ref() != Some(status)
    {
        out.push(format!(
            "idp_logout_status: expected {status:?}, got {}",
            shown(&actual.idp_logout_status)
        ));
    }
    if let Some(signature) = &expect.idp_logout_signature
        && actual.idp_logout_signature.as_ref() != Some(signature)
    {
        out.push(format!(
            "idp_logout_signature: expected {signature:?}, got {}",
            shown(&actual.idp_logout_signature)
        ));
    }
    if let Some(windows) = expect.windows
        && actual.windows != Some(windows)
    {
        out.push(format!(
            "windows: expected {windows}, got {}",
            actual.windows.map_or(
                "nothing (only the browser driver counts windows)".into(),
                |w| w.to_string()
            )
        ));
    }
    out
}

fn matching(events: &[AuditBrief], wanted: &AuditExpect) -> usize {
    events
        .iter()
        .filter(|e| {
            wanted.kind.as_ref().is_none_or(|k| *k == e.kind)
                && wanted
                    .code
                    .as_ref()
                    .is_none_or(|c| e.code.as_ref() == Some(c))
                && wanted
                    .detail_contains
                    .as_ref()
                    .is_none_or(|t| e.detail.contains(t.as_str()))
                && wanted.groups.as_ref().is_none_or(|g| *g == e.groups)
        })
        .count()
}

fn brief(events: &[AuditBrief]) -> String {
    events
        .iter()
        .map(|e| match &e.code {
            Some(code) => format!("{} {code}", e.kind),
            None => e.kind.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
