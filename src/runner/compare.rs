//! Expected vs. actual: one line per expectation that did not hold.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Actual, AuditBrief};
use crate::scenario::{AuditExpect, Expect, Outcome};

fn shown(value: &Option<String>) -> String {
    match value {
        Some(v) => format!("{v:?}"),
        None => "nothing".into(),
    }
}

/// What did not hold. `exact`: the SP's refusals carry its own codes, statuses, pages and audit
/// log (the reference SP); otherwise (a target) those are not judged but listed in
/// `actual.not_judged` — only what the oracle sees is: the outcome, who is signed in, and what
/// reached the mock IdP.
pub(super) fn differences(expect: &Expect, actual: &mut Actual, exact: bool) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(outcome) = expect.outcome
        && actual.outcome != Some(outcome)
    {
        let mut got = actual
            .outcome
            .map_or("nothing".to_owned(), |o| format!("{:?}", o.as_str()));
        if let Some(code) = &actual.code {
            got.push_str(&format!(" with code {code:?}"));
        }
        out.push(format!(
            "outcome: expected {:?}, got {got}",
            outcome.as_str()
        ));
    }
    // By effect: whatever the SP answered, a refusal leaves the browser without a new session,
    // and a session that ended is gone (said once: not when the answer already differs).
    if let Some(outcome) = expect.outcome.filter(|o| o.denies_a_session())
        && actual.outcome == Some(outcome)
        && actual.new_session == Some(true)
    {
        out.push(format!(
            "outcome {:?}: but the browser has a new session{}",
            outcome.as_str(),
            shown_session(actual)
        ));
    }
    if expect.outcome == Some(Outcome::SessionEnded)
        && actual.outcome == Some(Outcome::SessionEnded)
        && actual.signed_in == Some(true)
        && actual.new_session != Some(true)
    {
        out.push(format!(
            "outcome \"session_ended\": but the browser is still signed in{}",
            shown_session(actual)
        ));
    }
    if !exact {
        not_judged(expect, actual);
        // A refusal mapped to another code than expected is shown, not judged: the target's
        // pages, not ours, say why.
        if let (Some(code), Some(got)) = (&expect.code, &actual.code)
            && code != got
            && out.is_empty()
        {
            actual.not_judged.push(format!(
                "code: expected {code:?}, the target's page maps to {got:?}"
            ));
        }
    } else {
        exact_refusal(expect, actual, &mut out);
    }
    if let Some(user) = &expect.user {
        let matches = actual
            .email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(user))
            || actual.login.as_deref() == Some(user.as_str())
            // A target tells only the NameID (the mock IdP's is the user's e-mail by default).
            || (actual.email.is_none()
                && actual.login.is_none()
                && actual
                    .name_id
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(user)));
        if !matches {
            out.push(format!(
                "user: expected {user:?} signed in, got {}",
                match (&actual.email, &actual.login, &actual.name_id) {
                    (None, _, Some(n)) => format!("NameID {n:?}"),
                    (None, _, None) => "nobody".into(),
                    (Some(e), Some(l), _) => format!("{e:?} (login {l:?})"),
                    (Some(e), None, _) => format!("{e:?}"),
                }
            ));
        }
    }
    if exact {
        profile(expect, actual, &mut out);
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
    if exact {
        audit_and_page(expect, actual, &mut out);
    }
    logout_at_the_idp(expect, actual, &mut out);
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

/// The signed-in user's profile and session as the reference SP's `/me` shows them.
fn profile(expect: &Expect, actual: &Actual, out: &mut Vec<String>) {
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
}

/// The reference SP's audit log and pages.
fn audit_and_page(expect: &Expect, actual: &Actual, out: &mut Vec<String>) {
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
}

/// What reached the mock IdP of a logout.
fn logout_at_the_idp(expect: &Expect, actual: &Actual, out: &mut Vec<String>) {
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
}

/// Who the browser is signed in as, for a message.
fn shown_session(actual: &Actual) -> String {
    match (&actual.email, &actual.name_id) {
        (Some(e), _) => format!(" (as {e:?})"),
        (None, Some(n)) => format!(" (NameID {n:?})"),
        (None, None) => String::new(),
    }
}

/// The expectations a target cannot be judged on, recorded rather than passed.
fn not_judged(expect: &Expect, actual: &mut Actual) {
    let mut skipped = Vec::new();
    if expect.code.is_some() && actual.code.is_none() {
        skipped.push("code");
    }
    for (field, given) in [
        ("email", expect.email.is_some()),
        ("first_name", expect.first_name.is_some()),
        ("last_name", expect.last_name.is_some()),
        ("roles", expect.roles.is_some()),
        ("landing", expect.landing.is_some()),
        ("session_expires_at", expect.session_expires_at.is_some()),
        ("code_shown", expect.code_shown.is_some()),
        ("status", expect.status.is_some()),
        ("page_contains", !expect.page_contains.is_empty()),
        ("audit", !expect.audit.is_empty()),
        ("no_audit", !expect.no_audit.is_empty()),
    ] {
        if given {
            skipped.push(field);
        }
    }
    if !skipped.is_empty() {
        actual.not_judged.push(format!(
            "{} (the reference SP's own answers, records and audit log)",
            skipped.join(", ")
        ));
    }
}

/// The reference SP's own code, status and code display of a refusal.
fn exact_refusal(expect: &Expect, actual: &Actual, out: &mut Vec<String>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn expect(text: &str) -> Expect {
        toml::from_str(text).unwrap()
    }

    fn refused(code: &str) -> Actual {
        Actual {
            outcome: Some(Outcome::Refused),
            code: Some(code.into()),
            code_shown: Some(true),
            signed_in: Some(false),
            new_session: Some(false),
            ..Actual::default()
        }
    }

    /// An SP that answers "refused" but signs the browser in anyway used to pass every refusal
    /// step that does not say `signed_in = false`.
    #[test]
    fn a_refusal_with_a_new_session_fails() {
        let wanted = expect(
            r#"outcome = "refused"
code = "audience.mismatch""#,
        );
        assert!(differences(&wanted, &mut refused("audience.mismatch"), true).is_empty());
        let mut lying = Actual {
            signed_in: Some(true),
            new_session: Some(true),
            email: Some("bob@example.com".into()),
            ..refused("audience.mismatch")
        };
        let found = differences(&wanted, &mut lying, true);
        assert_eq!(
            found,
            vec![r#"outcome "refused": but the browser has a new session (as "bob@example.com")"#]
        );
        // The same for a target, whose page codes are not judged.
        assert_eq!(differences(&wanted, &mut lying, false).len(), 1);
        // A session that was there before the refusal and is still there is no new session.
        let mut kept = Actual {
            signed_in: Some(true),
            ..refused("audience.mismatch")
        };
        assert!(differences(&wanted, &mut kept, true).is_empty());
    }

    #[test]
    fn an_ended_session_that_is_still_there_fails() {
        let wanted = expect(
            r#"outcome = "session_ended"
code = "access.denied""#,
        );
        let mut still_there = Actual {
            outcome: Some(Outcome::SessionEnded),
            code: Some("access.denied".into()),
            signed_in: Some(true),
            new_session: Some(false),
            ..Actual::default()
        };
        let found = differences(&wanted, &mut still_there, true);
        assert_eq!(
            found,
            vec![r#"outcome "session_ended": but the browser is still signed in"#]
        );
    }

    #[test]
    fn a_target_is_not_judged_on_the_reference_sps_pages() {
        let wanted = expect(
            r#"outcome = "refused"
code = "audience.mismatch"
status = 403
page_contains = ["audience"]"#,
        );
        let mut actual = Actual {
            code: None,
            code_shown: None,
            status: Some(500),
            ..refused("x")
        };
        assert!(differences(&wanted, &mut actual, false).is_empty());
        assert_eq!(
            actual.not_judged,
            vec![
                "code, status, page_contains (the reference SP's own answers, records and audit log)"
            ]
        );
        assert_eq!(differences(&wanted, &mut actual, true).len(), 3);
    }

    fn step_expectation(file_glob: &str, step: usize) -> Expect {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let scenario = crate::scenario::load_dir(&dir)
            .unwrap()
            .into_iter()
            .find(|s| s.file.to_string_lossy().contains(file_glob))
            .unwrap();
        scenario.steps[step].expect.clone()
    }

    /// 1.9 says Bob's session is not affected by the refused repost; an SP that refuses it but
    /// signs Bob out used to pass.
    #[test]
    fn scenario_1_9_checks_that_the_session_survives() {
        let wanted = step_expectation("1.9-", 1);
        let mut signed_out = refused("replay.assertion_reused");
        assert_eq!(
            differences(&wanted, &mut signed_out, true),
            vec!["signed_in: expected true, got false"]
        );
    }

    /// 6.17 says logout ends the renewal chain; an SP that still renewed the logged-out session
    /// used to pass (the scenario never tried).
    #[test]
    fn scenario_6_17_tries_to_renew_the_logged_out_session() {
        let wanted = step_expectation("6.17-", 2);
        let mut renewed = Actual {
            outcome: Some(Outcome::Renewed),
            signed_in: Some(true),
            new_session: Some(false),
            ..Actual::default()
        };
        let found = differences(&wanted, &mut renewed, true);
        assert!(
            found
                .iter()
                .any(|d| d.starts_with("outcome: expected \"signed_out\"")),
            "{found:?}"
        );
    }
}
