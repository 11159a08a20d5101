//! The load-time consistency check, after BoringSSL's `checkTests()`: a contradictory or
//! impossible scenario is refused before anything runs, naming the file and line.

use mock_idp::knobs::{Knobs, Reader, Section};
use std::collections::BTreeSet;

use super::load::LoadError;
use super::{Action, Expect, Outcome, Scenario, SpTarget, Via};

/// Where the scenario's top-level pieces are in the text (byte offsets).
pub(super) struct Spans {
    pub id: usize,
    pub section: usize,
    pub sp: Option<usize>,
    pub accounts: Vec<usize>,
    pub extra_idps: Option<usize>,
}

/// Codes the SP audits as warnings (kind `warning`); they are not refusals.
pub const WARNING_CODES: &[&str] = &["groups.overage"];

/// Whether `code` is a reason code the SP can give (`sp::reason::Reason::ALL`) or a warning code.
pub fn known_code(code: &str) -> bool {
    sp::reason::Reason::ALL.iter().any(|r| r.code() == code) || WARNING_CODES.contains(&code)
}

fn all_codes() -> String {
    sp::reason::Reason::ALL
        .iter()
        .map(|r| r.code())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Knobs from a profile name and a TOML table of overrides, checked as the IdP would.
pub fn resolve_knobs(profile: Option<&str>, knobs: Option<&toml::Table>) -> Result<Knobs, String> {
    let name = profile.unwrap_or("valid");
    let mut resolved = mock_idp::profiles::get(name).ok_or_else(|| {
        format!(
            "unknown profile {name:?}; known profiles: {}",
            mock_idp::profiles::names()
        )
    })?;
    let base = resolved.clone();
    if let Some(table) = knobs {
        let json = serde_json::to_value(table).map_err(|e| format!("knobs: {e}"))?;
        resolved.apply_overrides(&json).map_err(|e| e.to_string())?;
    }
    resolved.validate().map_err(|e| e.to_string())?;
    resolved
        .refuse_outside(&base, Reader::Response)
        .map_err(|e| e.to_string())?;
    Ok(resolved)
}

/// Knobs from a `logout` step's TOML table, checked as the IdP would, and a deprecation note for
/// each knob written in the old spelling of the logout-only knob set (`unsigned` for
/// `logout_unsigned`), which is still accepted for one release.
pub fn resolve_logout_knobs(knobs: Option<&toml::Table>) -> Result<(Knobs, Vec<String>), String> {
    let mut resolved = Knobs::default();
    let mut notes = Vec::new();
    let Some(table) = knobs else {
        return Ok((resolved, notes));
    };
    let mut renamed = serde_json::Map::new();
    for (name, value) in table {
        let new_name = format!("logout_{name}");
        let value = serde_json::to_value(value).map_err(|e| format!("knobs: {e}"))?;
        if Knobs::section_of(name).is_none_or(|s| s != Section::Logout)
            && Knobs::section_of(&new_name) == Some(Section::Logout)
        {
            notes.push(format!(
                "logout knob `{name}` is now spelled `{new_name}`; the old name will stop working"
            ));
            renamed.insert(new_name, value);
        } else {
            renamed.insert(name.clone(), value);
        }
    }
    resolved
        .apply_overrides(&serde_json::Value::Object(renamed))
        .map_err(|e| e.to_string())?;
    resolved.validate().map_err(|e| e.to_string())?;
    resolved
        .refuse_outside(&Knobs::default(), Reader::Logout)
        .map_err(|e| e.to_string())?;
    Ok((resolved, notes))
}

pub(super) fn check(scenario: &Scenario, text: &str, spans: &Spans) -> Vec<LoadError> {
    let file = scenario.file.as_path();
    let mut errors = Vec::new();
    let mut error = |offset: Option<usize>, message: String| {
        errors.push(LoadError::at(file, text, offset, message));
    };
    let at_line = |line: usize| line_offset(text, line);

    // --- identity: id, section, file name -----------------------------------------------------
    let id_ok = scenario
        .id
        .split_once('.')
        .is_some_and(|(a, b)| is_number(a) && is_number(b));
    if !id_ok {
        error(
            Some(spans.id),
            format!(
                "id {:?} must be <section>.<number>, e.g. \"1.4\"",
                scenario.id
            ),
        );
    }
    let section_number = scenario.id.split('.').next().unwrap_or_default();
    if id_ok && scenario.section.split_whitespace().next() != Some(section_number) {
        error(
            Some(spans.section),
            format!(
                "section {:?} must start with the id's section number {section_number} (e.g. \"{section_number} sign-in\")",
                scenario.section
            ),
        );
    }
    if let Some(stem) = file.file_stem().and_then(|s| s.to_str())
        && !stem.starts_with(&format!("{}-", scenario.id))
    {
        error(
            Some(spans.id),
            format!(
                "the file name must be <id>-<slug>.toml, i.e. start with \"{}-\"; it is {stem:?}",
                scenario.id
            ),
        );
    }
    for (field, value) in [
        ("title", &scenario.title),
        ("description", &scenario.description),
        ("expectation", &scenario.expectation),
        ("source", &scenario.source),
    ] {
        if value.trim().is_empty() {
            error(None, format!("`{field}` must not be empty"));
        }
    }
    match (&scenario.config_refused, scenario.steps.is_empty()) {
        (None, true) => error(None, "a scenario needs at least one [[step]]".into()),
        (Some(_), false) => error(
            None,
            "a scenario with `config_refused` has no [[step]]: the SP does not start".into(),
        ),
        _ => {}
    }

    // --- SP configuration overrides and extra IdPs ---------------------------------------------
    let merged = merged_sp_config(scenario.sp.as_ref().unwrap_or(&toml::Table::new()));
    match (&merged, &scenario.config_refused) {
        (Err(message), None) => error(spans.sp, format!("[sp] overrides: {message}")),
        (Ok(_), Some(wanted)) => error(
            spans.sp,
            format!("config_refused = {wanted:?}, but the SP configuration is valid"),
        ),
        (Err(message), Some(wanted)) if !message.contains(wanted.as_str()) => error(
            spans.sp,
            format!(
                "config_refused = {wanted:?}, but the configuration is refused with: {message}"
            ),
        ),
        _ => {}
    }
    let mut extra_directories = std::collections::BTreeMap::new();
    for extra in &scenario.extra_idps {
        if extra.name.trim().is_empty() {
            error(
                spans.extra_idps,
                "an [[extra_idp]] needs a non-empty `name`".into(),
            );
        } else if extra_directories.contains_key(extra.name.as_str()) {
            error(
                spans.extra_idps,
                format!("two [[extra_idp]] are named {:?}", extra.name),
            );
        }
        if extra
            .entity_id
            .as_deref()
            .is_some_and(|e| e.trim().is_empty())
        {
            error(
                spans.extra_idps,
                format!(
                    "[[extra_idp]] {:?}: `entity_id` must not be empty",
                    extra.name
                ),
            );
        }
        extra_directories.insert(extra.name.as_str(), directory_with(&extra.users));
    }
    if let Ok(mut config) = merged
        && !scenario.extra_idps.is_empty()
    {
        if let Err(message) = add_extra_idps(&mut config, &scenario.extra_idps) {
            error(spans.extra_idps, message);
        }
    }

    // --- accounts and IdP users ---------------------------------------------------------------
    let mut handles = BTreeSet::new();
    for (account, offset) in scenario.accounts.iter().zip(&spans.accounts) {
        if !handles.insert(account.handle().to_owned()) {
            error(
                Some(*offset),
                format!("two [[accounts]] have the handle {:?}", account.handle()),
            );
        }
    }
    let directory = directory_with(&scenario.idp_users);
    let idp_user_known = |user: &str| mock_idp::users::find(&directory, user).is_some();
    let account_known = |name: &str| handles.contains(name);

    // --- steps ----------------------------------------------------------------------------------
    let mut invited = BTreeSet::new();
    let mut password_setups = BTreeSet::new();
    let mut responses_seen = false;
    let mut idp_logouts_seen = false;
    let mut browsers_seen: BTreeSet<String> = BTreeSet::new();
    for (index, step) in scenario.steps.iter().enumerate() {
        let offset = Some(at_line(step.line));
        let n = index + 1;
        let name = step.action.name();
        let mut step_error =
            |message: String| error(offset, format!("step {n} ({name}): {message}"));
        let expect = &step.expect;

        // Outcomes that fit the action.
        let allowed = step.action.outcomes();
        if let Some(outcome) = expect.outcome {
            if allowed.is_empty() {
                step_error(format!(
                    "`{name}` has no outcome; check the session with a `check` step or `expect.signed_in`"
                ));
            } else if !allowed.contains(&outcome) {
                step_error(format!(
                    "outcome {:?} cannot follow `{name}`; expected one of {}",
                    outcome.as_str(),
                    allowed
                        .iter()
                        .map(|o| o.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        check_expect(expect, &mut step_error, &account_known);
        if step.action.browser().is_none()
            && (expect.signed_in.is_some()
                || expect.user.is_some()
                || expect.email.is_some()
                || expect.roles.is_some()
                || !expect.page_contains.is_empty())
        {
            step_error(format!(
                "`{name}` uses no browser, so it has no session or page to check; add a `check` step"
            ));
        }

        match step.action.sp() {
            SpTarget::Node2 if !scenario.second_node => step_error(
                "`sp = \"node2\"` needs `second_node = true` at the top of the file".into(),
            ),
            SpTarget::Workspace2 if scenario.workspace2.is_none() => {
                step_error("`sp = \"workspace2\"` needs a `[workspace2]` table".into())
            }
            _ => {}
        }

        let seen_before = browsers_seen.clone();
        if let Some(browser) = step.action.browser() {
            browsers_seen.insert(browser.to_owned());
        }
        match &step.action {
            Action::SignIn(a) => {
                if a.sp.is_some_and(|t| t != SpTarget::Node1)
                    && (a.via == Via::Idp || a.idp.is_some())
                {
                    step_error(
                        "`sp` on a sign-in takes only an SP-initiated sign-in at the pair's own IdP (no `via = \"idp\"`, no `idp`)".into(),
                    );
                }
                match &a.idp {
                    None => {
                        if !idp_user_known(&a.user) && expect.outcome != Some(Outcome::IdpRefused) {
                            step_error(format!(
                                "user {:?} is not in the IdP directory (demo users or [[idp_users]])",
                                a.user
                            ));
                        }
                    }
                    Some(name) => match extra_directories.get(name.as_str()) {
                        None => step_error(format!(
                            "idp {name:?} names no [[extra_idp]]; known: {:?}",
                            extra_directories.keys().collect::<Vec<_>>()
                        )),
                        Some(users) => {
                            if mock_idp::users::find(users, &a.user).is_none()
                                && expect.outcome != Some(Outcome::IdpRefused)
                            {
                                step_error(format!(
                                    "user {:?} is not in the directory of IdP {name:?} (demo users or its [[extra_idp.users]])",
                                    a.user
                                ));
                            }
                        }
                    },
                }
                if let Err(message) = resolve_knobs(a.profile.as_deref(), a.knobs.as_ref()) {
                    step_error(message);
                }
                if a.test && (a.via == Via::Idp || a.post_from.is_some() || a.sp.is_some()) {
                    step_error(
                        "`test = true` is an SP-initiated test sign-in (no `via = \"idp\"`, `post_from` or `sp`)".into(),
                    );
                }
                if let Some(poster) = &a.post_from
                    && poster == a.browser.as_deref().unwrap_or(super::MAIN)
                {
                    step_error(format!(
                        "`post_from = {poster:?}` names the step's own browser; it must be another one"
                    ));
                }
                responses_seen = true;
            }
            Action::AcceptInvitation(a) => {
                if !invited.contains(&a.account) {
                    step_error(format!(
                        "account {:?} was not invited by an earlier `invite` step",
                        a.account
                    ));
                }
                if let Err(message) = resolve_knobs(a.profile.as_deref(), a.knobs.as_ref()) {
                    step_error(message);
                }
                responses_seen = true;
            }
            Action::Renew(a) => {
                if let Err(message) = resolve_knobs(a.profile.as_deref(), a.knobs.as_ref()) {
                    step_error(message);
                }
            }
            Action::Invite(a) => {
                if !account_known(&a.account) {
                    step_error(format!(
                        "no [[accounts]] entry has the handle {:?}",
                        a.account
                    ));
                }
                invited.insert(a.account.clone());
            }
            Action::Replay(a) => {
                if let Some(of) = &a.response_of
                    && !seen_before.contains(of.as_str())
                {
                    step_error(format!(
                        "`response_of`: no earlier step used browser {of:?}"
                    ));
                }
                if !responses_seen {
                    step_error("nothing to replay: no earlier step received a SAMLResponse".into());
                }
            }
            Action::ReplayLogout(_) => {
                if !idp_logouts_seen {
                    step_error(
                        "nothing to replay: no earlier `logout` step with `via = \"idp\"` sent a LogoutRequest".into(),
                    );
                }
            }
            Action::Logout(a) => {
                idp_logouts_seen |= a.via == Via::Idp;
                match resolve_logout_knobs(a.knobs.as_ref()) {
                    Ok((_, notes)) => {
                        for note in notes {
                            eprintln!(
                                "warning: {}:{}: step {n} (logout): {note}",
                                file.display(),
                                step.line
                            );
                        }
                    }
                    Err(message) => step_error(message),
                }
                match a.via {
                    Via::Idp if a.user.is_none() => {
                        step_error("`via = \"idp\"` needs the `user` the IdP logs out".into())
                    }
                    Via::Idp if a.cross_site => step_error(
                        "`cross_site` is for `via = \"sp\"` (a request to the SP's /logout)".into(),
                    ),
                    Via::Idp => {
                        if let Some(user) = &a.user
                            && !idp_user_known(user)
                        {
                            step_error(format!("user {user:?} is not in the IdP directory"));
                        }
                    }
                    Via::Sp if a.user.is_some() => step_error(
                        "`user` is for `via = \"idp\"`; an SP-initiated logout logs out the browser's session".into(),
                    ),
                    Via::Sp => {}
                }
            }
            Action::AdvanceClock(a) => {
                if a.seconds <= 0 {
                    step_error(
                        "`seconds` must be positive (`backwards = true` steps the clocks back)"
                            .into(),
                    );
                }
            }
            Action::IdpSetAccess(a) => {
                if !idp_user_known(&a.user) {
                    step_error(format!("user {:?} is not in the IdP directory", a.user));
                }
            }
            Action::IdpRemoveUser(a) => {
                if !idp_user_known(&a.user) {
                    step_error(format!("user {:?} is not in the IdP directory", a.user));
                }
            }
            Action::Visit(a) => {
                if !a.path.starts_with('/') || a.path.starts_with("//") {
                    step_error(format!(
                        "visit.path {:?} must be a path on the SP, starting with one '/'",
                        a.path
                    ));
                }
            }
            Action::IssuePasswordSetup(a) => {
                password_setups.insert(a.user.clone());
            }
            Action::SetPassword(a) => {
                if a.token.is_none() && !password_setups.contains(&a.user) {
                    step_error(format!(
                        "no earlier `issue_password_setup` step issued a link for {:?} (or give `token`)",
                        a.user
                    ));
                }
            }
            Action::Link(_)
            | Action::SkipLink(_)
            | Action::RecoveryLogin(_)
            | Action::Check(_)
            | Action::SetRoles(_)
            | Action::IdpEndSessions(_)
            | Action::IdpForbidFraming(_)
            | Action::IdpRequireSignedRequests(_) => {}
        }
    }
    errors
}

fn check_expect(
    expect: &Expect,
    step_error: &mut impl FnMut(String),
    account_known: &impl Fn(&str) -> bool,
) {
    match (expect.outcome, &expect.code) {
        (Some(Outcome::Refused), None) => step_error(
            "outcome \"refused\" needs the reason `code` (e.g. code = \"audience.mismatch\")"
                .into(),
        ),
        (Some(Outcome::SessionEnded), None) => step_error(
            "outcome \"session_ended\" needs the reason `code` the SP ended the session with"
                .into(),
        ),
        (
            Some(Outcome::SignedIn | Outcome::LinkPrompt | Outcome::Renewed | Outcome::NotRenewed),
            Some(code),
        ) => step_error(format!(
            "`code = {code:?}` contradicts outcome {:?}: only refusals carry a code",
            expect.outcome.map(Outcome::as_str).unwrap_or_default()
        )),
        _ => {}
    }
    if let Some(code) = &expect.code
        && !known_code(code)
    {
        step_error(format!(
            "unknown reason code {code:?}; the SP's codes are: {}",
            all_codes()
        ));
    }
    for audit in expect.audit.iter().chain(&expect.no_audit) {
        if audit.kind.is_none() && audit.code.is_none() && audit.detail_contains.is_none() {
            step_error("an audit expectation needs `kind`, `code` or `detail_contains`".into());
        }
        if let Some(code) = &audit.code
            && !known_code(code)
        {
            step_error(format!(
                "unknown audit code {code:?}; the SP's codes are: {}, and warnings {}",
                all_codes(),
                WARNING_CODES.join(", ")
            ));
        }
    }
    let about_a_session = expect.user.is_some()
        || expect.email.is_some()
        || expect.roles.is_some()
        || expect.first_name.is_some()
        || expect.last_name.is_some()
        || expect.session_expires_at.is_some()
        || expect.landing.is_some();
    if about_a_session
        && matches!(
            expect.outcome,
            Some(
                Outcome::Refused
                    | Outcome::IdpRefused
                    | Outcome::LinkPrompt
                    | Outcome::SessionEnded
                    | Outcome::SignedOut
            )
        )
    {
        step_error(format!(
            "user/email/roles/landing/session expectations need a session, but the outcome is {:?}",
            expect.outcome.map(Outcome::as_str).unwrap_or_default()
        ));
    }
    if about_a_session && expect.signed_in == Some(false) {
        step_error("user/email/roles expectations contradict `signed_in = false`".into());
    }
    if let Some(at) = &expect.session_expires_at
        && time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_err()
    {
        step_error(format!(
            "session_expires_at {at:?} is not an RFC 3339 instant"
        ));
    }
    for name in expect
        .linked_to
        .iter()
        .chain(&expect.not_linked_to)
        .chain(expect.account_roles.keys())
    {
        if !account_known(name) {
            step_error(format!("no [[accounts]] entry has the handle {name:?}"));
        }
    }
}

/// The demo SP configuration with `overrides` merged in, parsed and validated (with placeholder
/// addresses: the real ones are known only when the pair starts).
pub fn merged_sp_config(overrides: &toml::Table) -> Result<sp::config::SpConfig, String> {
    let endpoints = crate::demo::Endpoints {
        idp_base_url: "http://127.0.0.1:1".into(),
        sp_base_url: "http://127.0.0.1:2".into(),
    };
    let pem = "-----BEGIN CERTIFICATE-----\nplaceholder\n-----END CERTIFICATE-----\n";
    let text = crate::demo::sp_config_toml(&endpoints, pem, ":memory:");
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| e.to_string())?;
    crate::harness::merge_toml(&mut table, &super::sp_overrides_root(overrides));
    let merged = toml::to_string(&table).map_err(|e| e.to_string())?;
    sp::config::SpConfig::from_toml(&merged).map_err(|e| e.to_string().replace('\n', " "))
}

/// The demo directory with `users` added (a user with a demo login replaces it).
fn directory_with(users: &[mock_idp::users::User]) -> Vec<mock_idp::users::User> {
    let mut directory = mock_idp::users::demo_users();
    for user in users {
        directory.retain(|u| u.login != user.login);
        directory.push(user.clone());
    }
    directory
}

/// Adds the extra IdPs to `config` as the harness will (with placeholder addresses and
/// certificate) and validates the result: bad `[extra_idp.sp]` options, an admin default role,
/// or two IdPs with one entity ID are refused at load time.
fn add_extra_idps(
    config: &mut sp::config::SpConfig,
    extras: &[super::ExtraIdp],
) -> Result<(), String> {
    let pem = "-----BEGIN CERTIFICATE-----\nplaceholder\n-----END CERTIFICATE-----\n";
    for (n, extra) in extras.iter().enumerate() {
        let base_url = format!("http://127.0.0.1:{}", 3 + n);
        let entity_id = extra
            .entity_id
            .clone()
            .unwrap_or_else(|| format!("{base_url}/metadata"));
        let settings = crate::harness::additional_idp_settings(
            &entity_id,
            &base_url,
            pem,
            extra.sp.as_ref().unwrap_or(&toml::Table::new()),
        )
        .map_err(|message| format!("[[extra_idp]] {:?}: {message}", extra.name))?;
        config.additional_idps.push(settings);
    }
    config
        .validate()
        .map_err(|e| format!("[[extra_idp]]: {}", e.to_string().replace('\n', " ")))
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

/// Byte offset of the start of 1-based `line`.
fn line_offset(text: &str, line: usize) -> usize {
    text.split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).expect("toml")
    }

    #[test]
    fn logout_knobs_take_new_names_and_old_ones_with_a_note() {
        let (knobs, notes) =
            resolve_logout_knobs(Some(&table("logout_unsigned = true"))).expect("new name");
        assert!(knobs.logout_unsigned);
        assert!(notes.is_empty());
        let (knobs, notes) =
            resolve_logout_knobs(Some(&table("status_code = \"responder\""))).expect("old name");
        assert!(knobs.logout_status_code.uri().ends_with(":Responder"));
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("`logout_status_code`"), "{notes:?}");
    }

    #[test]
    fn knobs_are_refused_where_the_idp_does_not_read_them() {
        let err = resolve_logout_knobs(Some(&table("validity_secs = 60"))).expect_err("response");
        assert!(err.contains("not read by a logout message"), "{err}");
        let err = resolve_knobs(None, Some(&table("logout_unsigned = true"))).expect_err("logout");
        assert!(err.contains("not read by a minted response"), "{err}");
        resolve_knobs(Some("sha1"), Some(&table("validity_secs = 60"))).expect("response knob");
    }
}
