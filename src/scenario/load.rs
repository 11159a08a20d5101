//! Reading scenario files: TOML into typed structs (`deny_unknown_fields` everywhere), errors that
//! name the file, the line and the field, then the consistency check of [`super::check`].

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::{
    AcceptInvitation, Account, AccountRef, Action, AdvanceClock, Browser, BrowserSettings,
    DriverName, Expect, ExtraIdp, IdpForbidFraming, IdpRequireSignedRequests, IdpSetAccess,
    IdpUserRef, IssuePasswordSetup, Link, Logout, Nothing, RecoveryLogin, Renew, Replay, Scenario,
    SetPassword, SetRoles, SignIn, Step, Visit,
};

/// A scenario file that cannot be used: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: PathBuf,
    /// 1-based; `None` when the problem is the file as a whole.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LoadError {}

impl LoadError {
    pub(super) fn at(file: &Path, text: &str, offset: Option<usize>, message: String) -> LoadError {
        let (line, column) = match offset {
            Some(offset) => {
                let (line, column) = line_column(text, offset);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        LoadError {
            file: file.to_owned(),
            line,
            column,
            message,
        }
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The file as written. Every table refuses unknown fields, so a typo is an error, never a
/// silently ignored option.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    id: Spanned<String>,
    title: String,
    section: Spanned<String>,
    description: String,
    expectation: String,
    source: String,
    #[serde(default)]
    tags: Vec<String>,
    /// How much a failure weighs against an SP under test (default: by section).
    #[serde(default)]
    grade: Option<super::Grade>,
    /// A product preset for the SP (`sp::config::Preset`); becomes `[sp] preset`.
    #[serde(default)]
    preset: Option<Spanned<String>>,
    #[serde(default)]
    sp: Option<toml::Table>,
    #[serde(default)]
    idp_users: Vec<mock_idp::users::User>,
    #[serde(default)]
    accounts: Vec<Spanned<Account>>,
    #[serde(default)]
    extra_idp: Vec<ExtraIdp>,
    #[serde(default)]
    config_refused: Option<String>,
    /// Serve the pair over HTTPS with the run's certificate authority.
    #[serde(default)]
    https: bool,
    #[serde(default)]
    drivers: Option<Vec<DriverName>>,
    #[serde(default)]
    browser: BrowserSettings,
    #[serde(default)]
    second_node: bool,
    #[serde(default)]
    workspace2: Option<toml::Table>,
    #[serde(default)]
    step: Vec<Spanned<RawStep>>,
}

/// A `[[step]]`: exactly one action key, plus `expect` and `note`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    sign_in: Option<SignIn>,
    link: Option<Link>,
    skip_link: Option<Browser>,
    invite: Option<AccountRef>,
    accept_invitation: Option<AcceptInvitation>,
    advance_clock: Option<AdvanceClock>,
    renew: Option<Renew>,
    logout: Option<Logout>,
    replay: Option<Replay>,
    replay_logout: Option<Browser>,
    recovery_login: Option<RecoveryLogin>,
    check: Option<Browser>,
    set_roles: Option<SetRoles>,
    idp_set_access: Option<IdpSetAccess>,
    idp_remove_user: Option<IdpUserRef>,
    idp_end_sessions: Option<Nothing>,
    idp_forbid_framing: Option<IdpForbidFraming>,
    visit: Option<Visit>,
    idp_require_signed_requests: Option<IdpRequireSignedRequests>,
    issue_password_setup: Option<IssuePasswordSetup>,
    set_password: Option<SetPassword>,
    #[serde(default)]
    expect: Option<Expect>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    drivers: Option<Vec<DriverName>>,
}

/// Every action key, for error messages.
pub(super) const ACTION_KEYS: &str = "sign_in, link, skip_link, invite, accept_invitation, \
     advance_clock, renew, logout, replay, replay_logout, recovery_login, check, set_roles, idp_set_access, \
     idp_remove_user, idp_end_sessions, idp_forbid_framing, visit, idp_require_signed_requests, \
     issue_password_setup, set_password";

impl RawStep {
    fn actions(
        self,
    ) -> (
        Vec<Action>,
        Option<Expect>,
        Option<String>,
        Option<Vec<DriverName>>,
    ) {
        let mut actions = Vec::new();
        let mut push = |a: Option<Action>| actions.extend(a);
        push(self.sign_in.map(Action::SignIn));
        push(self.link.map(Action::Link));
        push(self.skip_link.map(Action::SkipLink));
        push(self.invite.map(Action::Invite));
        push(self.accept_invitation.map(Action::AcceptInvitation));
        push(self.advance_clock.map(Action::AdvanceClock));
        push(self.renew.map(Action::Renew));
        push(self.logout.map(Action::Logout));
        push(self.replay.map(Action::Replay));
        push(self.replay_logout.map(Action::ReplayLogout));
        push(self.recovery_login.map(Action::RecoveryLogin));
        push(self.check.map(Action::Check));
        push(self.set_roles.map(Action::SetRoles));
        push(self.idp_set_access.map(Action::IdpSetAccess));
        push(self.idp_remove_user.map(Action::IdpRemoveUser));
        push(self.idp_end_sessions.map(Action::IdpEndSessions));
        push(self.idp_forbid_framing.map(Action::IdpForbidFraming));
        push(self.visit.map(Action::Visit));
        push(
            self.idp_require_signed_requests
                .map(Action::IdpRequireSignedRequests),
        );
        push(self.issue_password_setup.map(Action::IssuePasswordSetup));
        push(self.set_password.map(Action::SetPassword));
        (actions, self.expect, self.note, self.drivers)
    }
}

/// Parses and checks one scenario's text; `file` names it in errors. Returns every problem found.
pub fn parse(file: &Path, text: &str) -> Result<Scenario, Vec<LoadError>> {
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        vec![LoadError::at(
            file,
            text,
            e.span().map(|s| s.start),
            e.message().trim().to_owned(),
        )]
    })?;
    let mut errors = Vec::new();
    let mut raw = raw;
    if let Some(preset) = raw.preset.take() {
        let offset = Some(preset.span().start);
        let name = preset.into_inner();
        let sp = raw.sp.get_or_insert_with(toml::Table::new);
        if let Err(e) = sp::config::Preset::from_name(&name) {
            let message = e
                .to_string()
                .replace("invalid configuration: sp.preset", "preset");
            errors.push(LoadError::at(file, text, offset, message));
        } else if sp.contains_key("preset") {
            let message = "preset is given twice: top-level `preset` and `[sp] preset`; keep one";
            errors.push(LoadError::at(file, text, offset, message.into()));
        } else {
            sp.insert("preset".into(), toml::Value::String(name));
        }
    }
    let mut steps = Vec::new();
    for spanned in raw.step {
        let offset = spanned.span().start;
        let line = line_column(text, offset).0;
        let (mut actions, expect, note, drivers) = spanned.into_inner().actions();
        if actions.len() != 1 {
            let found = actions.iter().map(Action::name).collect::<Vec<_>>();
            errors.push(LoadError::at(
                file,
                text,
                Some(offset),
                if found.is_empty() {
                    format!("a [[step]] needs exactly one action, found none; expected one of {ACTION_KEYS}")
                } else {
                    format!(
                        "a [[step]] needs exactly one action, found {}: {}",
                        found.len(),
                        found.join(", ")
                    )
                },
            ));
            continue;
        }
        let action = actions.remove(0);
        steps.push(Step {
            action,
            expect: expect.unwrap_or_default(),
            note,
            drivers,
            line,
        });
    }
    // `Spanned<Table>` trips on `[[sp.role_mapping]]` in toml 0.8: find the table by its header.
    let sp_line = raw
        .sp
        .as_ref()
        .and_then(|_| table_header_offset(text, "sp"));
    let account_offsets: Vec<usize> = raw.accounts.iter().map(|a| a.span().start).collect();
    let extra_idp_line = (!raw.extra_idp.is_empty())
        .then(|| table_header_offset(text, "extra_idp"))
        .flatten();
    let scenario = Scenario {
        id: raw.id.get_ref().clone(),
        title: raw.title,
        section: raw.section.get_ref().clone(),
        description: raw.description,
        expectation: raw.expectation,
        source: raw.source,
        tags: raw.tags,
        grade: raw.grade,
        sp: raw.sp,
        idp_users: raw.idp_users,
        accounts: raw.accounts.into_iter().map(Spanned::into_inner).collect(),
        extra_idps: raw.extra_idp,
        config_refused: raw.config_refused,
        drivers: raw.drivers,
        browser: raw.browser,
        https: raw.https,
        second_node: raw.second_node,
        workspace2: raw.workspace2,
        warnings: old_browser_name(file, text, &steps).into_iter().collect(),
        steps,
        file: file.to_owned(),
    };
    let spans = super::check::Spans {
        id: raw.id.span().start,
        section: raw.section.span().start,
        sp: sp_line,
        accounts: account_offsets,
        extra_idps: extra_idp_line,
    };
    errors.extend(super::check::check(&scenario, text, &spans));
    if errors.is_empty() {
        Ok(scenario)
    } else {
        Err(errors)
    }
}

/// One warning for the file when steps name their browser with the old key `driver` (the
/// serde alias of `browser`): where it is first used and how often.
fn old_browser_name(file: &Path, text: &str, steps: &[Step]) -> Option<String> {
    // The typed structs cannot tell the alias from the name; the plain table can.
    let table: toml::Table = toml::from_str(text).ok()?;
    let raw_steps = table.get("step")?.as_array()?;
    let lines: Vec<usize> = raw_steps
        .iter()
        .zip(steps)
        .filter(|(raw, _)| {
            raw.as_table().is_some_and(|raw| {
                raw.iter().any(|(key, value)| {
                    key != "expect" && value.as_table().is_some_and(|a| a.contains_key("driver"))
                })
            })
        })
        .map(|(_, step)| step.line)
        .collect();
    let first = lines.first()?;
    Some(format!(
        "{}:{first}: `driver = \"NAME\"` in a step is now `browser = \"NAME\"` ({} step(s) in \
         this file); the old name is accepted for one more release",
        file.display(),
        lines.len()
    ))
}

/// Offset of the first line that opens table `name` (`[name]`, `[name.x]`, `[[name.x]]`).
fn table_header_offset(text: &str, name: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start().trim_start_matches('[');
        if line.trim_start().starts_with('[')
            && (trimmed.starts_with(&format!("{name}]"))
                || trimmed.starts_with(&format!("{name}.")))
        {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// Reads, parses and checks one file.
pub fn load_file(path: &Path) -> Result<Scenario, Vec<LoadError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![LoadError {
            file: path.to_owned(),
            line: None,
            column: None,
            message: format!("cannot read: {e}"),
        }]
    })?;
    parse(path, &text)
}

/// Every `*.toml` file under `dir`, recursively, in path order.
pub fn scenario_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort_by(|a, b| natural_order(a, b));
    Ok(files)
}

/// Sorts `1.10` after `1.9`: numbers in paths compare as numbers.
fn natural_order(a: &Path, b: &Path) -> std::cmp::Ordering {
    natord::compare(&a.to_string_lossy(), &b.to_string_lossy())
}

/// Loads every scenario under `dir`; see [`load_paths`].
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, Vec<LoadError>> {
    load_paths(&[dir.to_owned()])
}

/// Loads files and directories (recursively), checks each file, then the whole set (unique IDs).
/// Every problem in every file is reported, not just the first.
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<Scenario>, Vec<LoadError>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.is_dir() {
            match scenario_files(path) {
                Ok(found) => files.extend(found),
                Err(e) => errors.push(LoadError {
                    file: path.clone(),
                    line: None,
                    column: None,
                    message: format!("cannot list: {e}"),
                }),
            }
        } else {
            files.push(path.clone());
        }
    }
    let mut scenarios: Vec<Scenario> = Vec::new();
    for file in files {
        match load_file(&file) {
            Ok(scenario) => {
                if let Some(earlier) = scenarios.iter().find(|s| s.id == scenario.id) {
                    errors.push(LoadError {
                        file: file.clone(),
                        line: Some(1),
                        column: None,
                        message: format!(
                            "duplicate scenario id {:?}: {} has it already",
                            scenario.id,
                            earlier.file.display()
                        ),
                    });
                } else {
                    scenarios.push(scenario);
                }
            }
            Err(mut file_errors) => errors.append(&mut file_errors),
        }
    }
    if errors.is_empty() {
        Ok(scenarios)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn natural_order_puts_ten_after_nine() {
        let mut paths = [
            PathBuf::from("s/1.10-a.toml"),
            PathBuf::from("s/1.9-b.toml"),
        ];
        paths.sort_by(|a, b| natural_order(a, b));
        assert_eq!(paths[0], PathBuf::from("s/1.9-b.toml"));
    }
}
