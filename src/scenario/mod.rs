//! Scenario files: one TOML file per scenario under `scenarios/<section>/<id>-<slug>.toml`.
//!
//! A scenario is data, in the spirit of BoringSSL's `testCase` and Autobahn's cases: what the
//! tester does (`description`), what a conformant SP does and why (`expectation`, `source`), the
//! SP configuration overrides, the IdP users and local accounts it needs, and ordered steps, each
//! with its expectations. [`load`] parses and checks files; `scenarios/README.md` documents every
//! field.

mod check;
mod load;
mod shard;

pub use check::{WARNING_CODES, known_code, merged_sp_config, resolve_knobs, resolve_logout_knobs};
pub use load::{LoadError, load_dir, load_file, load_paths, parse, scenario_files};
pub use shard::Shard;

use std::collections::BTreeMap;
use std::path::PathBuf;

use mock_idp::users::User as IdpUser;
use serde::{Deserialize, Serialize};

/// One scenario, as written in its file (plus where it came from).
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// Stable ID, `<section>.<n>` (e.g. `1.1`); never reused.
    pub id: String,
    pub title: String,
    /// e.g. `1 sign-in`.
    pub section: String,
    /// What the tester does.
    pub description: String,
    /// What a conformant SP does, and why.
    pub expectation: String,
    /// The document or spec clause the expectation comes from, quoting the requirement.
    pub source: String,
    pub tags: Vec<String>,
    /// The grade written in the file, if any; [`Scenario::grade`] is the one that applies.
    pub grade: Option<Grade>,
    /// SP configuration overrides, deep-merged into the demo configuration (see
    /// [`Scenario::sp_overrides_root`]).
    pub sp: Option<toml::Table>,
    /// Users added to the mock IdP's demo directory.
    pub idp_users: Vec<IdpUser>,
    /// Local accounts created at the SP before the first step.
    pub accounts: Vec<Account>,
    /// Further mock IdPs the SP trusts beside the pair's own (`[[extra_idp]]`).
    pub extra_idps: Vec<ExtraIdp>,
    /// The SP must refuse this configuration at start, with an error containing this text (a
    /// scenario without steps).
    pub config_refused: Option<String>,
    /// Only these drivers can judge the scenario (`drivers = ["browser"]`); any other reports
    /// it skipped. `None`: every driver.
    pub drivers: Option<Vec<DriverName>>,
    /// How the browser driver starts this scenario's browsers (`[browser]`).
    pub browser: BrowserSettings,
    /// Serve the pair (both servers, extra IdPs too) over HTTPS with the run's certificate
    /// authority (`https = true`).
    pub https: bool,
    /// A second SP node sharing the first's configuration and SQLite file (`node2`).
    pub second_node: bool,
    /// A second workspace trusting the same IdP (`workspace2`): its `[sp]`-style overrides of
    /// the demo configuration.
    pub workspace2: Option<toml::Table>,
    pub steps: Vec<Step>,
    /// The file it was loaded from.
    pub file: PathBuf,
    /// What is accepted but should change in the file (`file:line: message`), at most one per
    /// kind; the CLI prints them.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl Scenario {
    /// How much a failure weighs against a target: the file's `grade`, else its section's
    /// default ([`Grade::default_for_section`]).
    pub fn grade(&self) -> Grade {
        self.grade
            .unwrap_or_else(|| Grade::default_for_section(&self.id))
    }

    /// The `[sp]` table rearranged as a whole SP configuration: its `idp`, `attributes` and
    /// `role_mapping` keys go to the root, every other key into the configuration's `[sp]`.
    pub fn sp_overrides_root(&self) -> Option<toml::Table> {
        self.sp.as_ref().map(sp_overrides_root)
    }

    /// Whether `filter` selects this scenario. A term of digits and dots is an ID (`2.3`) or a
    /// section (`2`, `2.`); anything else is a tag, or a case-insensitive part of the title or
    /// file path.
    pub fn matches_filter(&self, filter: &str) -> bool {
        let filter = filter.trim().to_lowercase();
        if !filter.is_empty() && filter.chars().all(|c| c.is_ascii_digit() || c == '.') {
            let section = self.id.split('.').next().unwrap_or_default();
            return self.id == filter || section == filter.trim_end_matches('.');
        }
        self.title.to_lowercase().contains(&filter)
            || self.file.to_string_lossy().to_lowercase().contains(&filter)
            || self.tags.iter().any(|t| t.to_lowercase() == filter)
    }
}

pub(crate) fn sp_overrides_root(table: &toml::Table) -> toml::Table {
    let mut root = toml::Table::new();
    let mut settings = toml::Table::new();
    for (key, value) in table {
        if matches!(key.as_str(), "idp" | "attributes" | "role_mapping") {
            root.insert(key.clone(), value.clone());
        } else {
            settings.insert(key.clone(), value.clone());
        }
    }
    if !settings.is_empty() {
        root.insert("sp".into(), toml::Value::Table(settings));
    }
    root
}

/// A further mock IdP of the scenario, trusted by the SP as an `[[additional_idp]]`; steps pick
/// it with `sign_in = { idp = NAME, … }`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraIdp {
    /// The handle steps use.
    pub name: String,
    /// Its entity ID; default `{its base URL}/metadata`.
    #[serde(default)]
    pub entity_id: Option<String>,
    /// Users added to its own copy of the demo directory.
    #[serde(default)]
    pub users: Vec<IdpUser>,
    /// The SP's `[[additional_idp]]` options for it (`label`, `allowed_domains`,
    /// `default_role`, `[[role_mapping]]`, `slo_url`); the entity ID, URLs and certificate are
    /// the harness's.
    #[serde(default)]
    pub sp: Option<toml::Table>,
    /// Signs with the fixed RSA-1024 test key (pinned by the SP for this IdP alone), for
    /// `min_rsa_bits` scenarios.
    #[serde(default)]
    pub weak_key: bool,
    /// A signing-key rollover in progress: `next-key-both-pinned`, `next-key-old-pinned` or
    /// `old-key-new-pinned` (see [`crate::harness::KeyRollover`]).
    #[serde(default)]
    pub key_rollover: Option<crate::harness::KeyRollover>,
    /// The SP pins a retired certificate before this IdP's own (a rotation in progress).
    #[serde(default)]
    pub retired_certificate: bool,
}

impl ExtraIdp {
    /// The harness's options for it.
    pub fn options(&self) -> crate::harness::ExtraIdpOptions {
        crate::harness::ExtraIdpOptions {
            name: self.name.clone(),
            entity_id: self.entity_id.clone(),
            users: self.users.clone(),
            sp_settings: self.sp.clone().unwrap_or_default(),
            weak_key: self.weak_key,
            key_rollover: self.key_rollover,
            retired_certificate: self.retired_certificate,
        }
    }
}

/// A local account created before the first step (an admin's pre-created or legacy account).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The handle steps use (`invite`, `set_roles`, `linked_to`); defaults to `login`, else `email`.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub login: Option<String>,
    pub email: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// No password: the account can only be reached through SSO or an invitation.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// `false`: SAML sign-in is refused for this account (`account.sso_not_allowed`).
    #[serde(default = "yes")]
    pub sso_allowed: bool,
}

impl Account {
    pub fn handle(&self) -> &str {
        self.name
            .as_deref()
            .or(self.login.as_deref())
            .unwrap_or(&self.email)
    }
}

fn yes() -> bool {
    true
}

/// A driver, as `drivers = [...]` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriverName {
    Http,
    Browser,
}

impl DriverName {
    pub fn as_str(self) -> &'static str {
        match self {
            DriverName::Http => "http",
            DriverName::Browser => "browser",
        }
    }
}

/// `[browser]`: how the browser driver starts the scenario's browsers (the HTTP driver has no
/// such settings and ignores them).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowserSettings {
    /// Chromium's pop-up blocker is on (chromedriver turns it off otherwise).
    #[serde(default)]
    pub block_popups: bool,
}

/// One step: an action and what must hold after it.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub action: Action,
    pub expect: Expect,
    /// Free text shown in reports.
    pub note: Option<String>,
    /// Only these drivers can judge the step; any other skips it (and says so) and goes on.
    pub drivers: Option<Vec<DriverName>>,
    /// 1-based line of the step in its file.
    pub line: usize,
}

/// What a step does.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    SignIn(SignIn),
    Link(Link),
    SkipLink(Browser),
    Invite(AccountRef),
    AcceptInvitation(AcceptInvitation),
    AdvanceClock(AdvanceClock),
    Renew(Renew),
    Logout(Logout),
    Replay(Replay),
    /// Re-sends the last LogoutRequest the IdP sent (the same URL or form) from the browser.
    ReplayLogout(Browser),
    RecoveryLogin(RecoveryLogin),
    Check(Browser),
    SetRoles(SetRoles),
    IdpSetAccess(IdpSetAccess),
    IdpRemoveUser(IdpUserRef),
    IdpEndSessions(Nothing),
    IdpForbidFraming(IdpForbidFraming),
    Visit(Visit),
    IdpRequireSignedRequests(IdpRequireSignedRequests),
    /// An SP admin issues a password-setup link for a user (`crate::password_setup` in sp).
    IssuePasswordSetup(IssuePasswordSetup),
    /// The browser opens the user's password-setup link and sets a password.
    SetPassword(SetPassword),
}

impl Action {
    /// The action's key in the file.
    pub fn name(&self) -> &'static str {
        match self {
            Action::SignIn(_) => "sign_in",
            Action::Link(_) => "link",
            Action::SkipLink(_) => "skip_link",
            Action::Invite(_) => "invite",
            Action::AcceptInvitation(_) => "accept_invitation",
            Action::AdvanceClock(_) => "advance_clock",
            Action::Renew(_) => "renew",
            Action::Logout(_) => "logout",
            Action::Replay(_) => "replay",
            Action::ReplayLogout(_) => "replay_logout",
            Action::RecoveryLogin(_) => "recovery_login",
            Action::Check(_) => "check",
            Action::SetRoles(_) => "set_roles",
            Action::IdpSetAccess(_) => "idp_set_access",
            Action::IdpRemoveUser(_) => "idp_remove_user",
            Action::IdpEndSessions(_) => "idp_end_sessions",
            Action::IdpForbidFraming(_) => "idp_forbid_framing",
            Action::Visit(_) => "visit",
            Action::IdpRequireSignedRequests(_) => "idp_require_signed_requests",
            Action::IssuePasswordSetup(_) => "issue_password_setup",
            Action::SetPassword(_) => "set_password",
        }
    }

    /// The browser the step acts through, if it uses one.
    pub fn browser(&self) -> Option<&str> {
        let (browser, default) = match self {
            // The browser that posted the response is the one whose session the step judges.
            Action::SignIn(a) if a.post_from.is_some() => (&a.post_from, MAIN),
            Action::SignIn(a) => (&a.browser, MAIN),
            Action::Link(a) => (&a.browser, MAIN),
            Action::SkipLink(a) | Action::Check(a) => (&a.browser, MAIN),
            Action::Replay(a) => (&a.browser, ATTACKER),
            Action::AcceptInvitation(a) => (&a.browser, MAIN),
            Action::Renew(a) => (&a.browser, MAIN),
            Action::Logout(a) => (&a.browser, MAIN),
            Action::ReplayLogout(a) => (&a.browser, MAIN),
            Action::RecoveryLogin(a) => (&a.browser, MAIN),
            Action::Visit(a) => (&a.browser, MAIN),
            Action::SetPassword(a) => (&a.browser, MAIN),
            _ => return None,
        };
        Some(browser.as_deref().unwrap_or(default))
    }

    /// The SP the step's response goes to and whose session and audit log it judges.
    pub fn sp(&self) -> SpTarget {
        match self {
            Action::SignIn(a) => a.sp,
            Action::Replay(a) => a.sp,
            _ => None,
        }
        .unwrap_or_default()
    }

    /// The outcomes this action can have (empty: it has none, only state checks).
    pub fn outcomes(&self) -> &'static [Outcome] {
        use Outcome::*;
        match self {
            Action::SignIn(_) => &[SignedIn, Refused, IdpRefused, LinkPrompt, Tested],
            Action::Link(_)
            | Action::SkipLink(_)
            | Action::AcceptInvitation(_)
            | Action::Replay(_)
            | Action::RecoveryLogin(_) => &[SignedIn, Refused, IdpRefused, LinkPrompt],
            Action::SetPassword(_) => &[PasswordSet, Refused],
            Action::Renew(_) => &[Renewed, SessionEnded, NotRenewed, SignedOut, RenewalBlocked],
            Action::Logout(_) | Action::ReplayLogout(_) => &[SignedOut, StillSignedIn],
            Action::Check(_) => &[SignedIn, SignedOut],
            _ => &[],
        }
    }
}

/// The default browser.
pub const MAIN: &str = "main";
/// The default browser of `replay`: a second one, as an attacker's.
pub const ATTACKER: &str = "attacker";

/// Where a sign-in or logout starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    #[default]
    Sp,
    Idp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The IdP user (login or e-mail) who signs in.
    pub user: String,
    /// The `[[extra_idp]]` to sign in with (default: the pair's own IdP, the SP's `[idp]`).
    #[serde(default)]
    pub idp: Option<String>,
    /// `sp` (default): SP-initiated through `/login`; `idp`: the IdP mints an unsolicited
    /// response.
    #[serde(default)]
    pub via: Via,
    /// A mock-IdP profile for this response (default: `valid`).
    #[serde(default)]
    pub profile: Option<String>,
    /// Knob overrides on top of the profile, e.g. `{ validity_secs = 60 }`.
    #[serde(default)]
    pub knobs: Option<toml::Table>,
    #[serde(default)]
    pub relay_state: Option<String>,
    /// The browser (default `main`).
    #[serde(default, alias = "driver")]
    pub browser: Option<String>,
    /// Another browser posts the response `browser` obtained from the IdP (login CSRF: `browser`
    /// is the attacker's browser, `post_from` the victim's). The step's outcome and session
    /// expectations are then the posting browser's.
    #[serde(default)]
    pub post_from: Option<String>,
    /// The SP whose ACS the IdP's answer is posted to (default `node1`, where the sign-in
    /// starts): `node2` completes it on the cluster's other node, `workspace2` delivers it to
    /// the other workspace.
    #[serde(default)]
    pub sp: Option<SpTarget>,
    /// A test sign-in of the IdP (`/login?…&test=1`): the SP reports what arrived and signs
    /// nobody in (outcome `tested`); the only way to reach a staged IdP (`enabled = false`).
    #[serde(default)]
    pub test: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuePasswordSetup {
    /// An `[[accounts]]` handle, or the e-mail or login of a user the SP has (e.g. provisioned).
    pub user: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// Whose link (issued by an earlier `issue_password_setup`) the browser opens.
    pub user: String,
    pub password: String,
    /// Open `/password/setup/{token}` with this token instead (one the SP never issued).
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub browser: Option<String>,
}

/// Which SP a step addresses: the pair's own (`node1`), the second node of the same cluster
/// (`second_node = true`), or the second workspace (`[workspace2]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpTarget {
    #[default]
    Node1,
    Node2,
    Workspace2,
}

impl SpTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            SpTarget::Node1 => "node1",
            SpTarget::Node2 => "node2",
            SpTarget::Workspace2 => "workspace2",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub password: String,
    /// Only when no account matched: the username of the account to link.
    #[serde(default)]
    pub username: Option<String>,
    /// The browser by name (default: see [`Action::browser`]); `driver`, its old name, is
    /// accepted for one release.
    #[serde(default, alias = "driver")]
    pub browser: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Browser {
    /// The browser by name (default: see [`Action::browser`]); `driver`, its old name, is
    /// accepted for one release.
    #[serde(default, alias = "driver")]
    pub browser: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nothing {}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRef {
    /// An `[[accounts]]` handle.
    pub account: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    /// The invited `[[accounts]]` handle (an earlier `invite` step).
    pub account: String,
    /// The IdP user who follows the invitation.
    pub user: String,
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub knobs: Option<toml::Table>,
    /// The browser by name (default: see [`Action::browser`]); `driver`, its old name, is
    /// accepted for one release.
    #[serde(default, alias = "driver")]
    pub browser: Option<String>,
}

/// `replay`: posts a captured SAMLResponse again.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// The browser that posts it (default `attacker`); `driver`, its old name, is accepted for
    /// one release.
    #[serde(default, alias = "driver")]
    pub browser: Option<String>,
    /// Whose response: the last SAMLResponse this browser posted to the ACS (default: the last
    /// any browser posted).
    #[serde(default)]
    pub response_of: Option<String>,
    /// The SP whose ACS it is posted to (default `node1`; see [`SignIn::sp`]).
    #[serde(default)]
    pub sp: Option<SpTarget>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClock {
    /// Moves both virtual clocks forward by this many seconds.
    pub seconds: i64,
    /// Moves them back by `seconds` instead: a clock corrected by NTP or a server restored from a
    /// snapshot, the only way a scenario moves time backwards (so that a typo in `seconds`
    /// cannot).
    #[serde(default)]
    pub backwards: bool,
}

impl AdvanceClock {
    /// The signed step: negative when `backwards`.
    pub fn delta_secs(&self) -> i64 {
        if self.backwards {
            self.seconds.saturating_neg()
        } else {
            self.seconds
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Renew {
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub knobs: Option<toml::Table>,
    /// The browser by name (default: see [`Action::browser`]); `driver`, its old name, is
    /// accepted for one release.
    #[serde(default, alias = "driver")]
    pub browser: Option<String>,
}

/// A logout binding, as the mock IdP names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Binding {
    #[default]
    Redirect,
    Post,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logout {
    /// `sp` (default): the browser signs out at the SP (`GET /logout`, then the confirmation
    /// form); `idp`: the IdP sends a LogoutRequest through the browser.
    #[serde(default)]
    pub via: Via,
    /// `via = "sp"`: another site makes the browser request `/logout` instead (a GET, then a
    /// POST without the form's token): logout CSRF, which must end nothing.
    #[serde(default)]
    pub cross_site: bool,
    /// `via = "idp"`: the user the IdP logs out (login or e-mail).
    #[serde(default)]
    pub user: Option<String>,
    /// `via = "idp"`: the binding of the IdP's LogoutRequest.
    #[serde(default)]
    pub binding: Binding,
    /// The mock IdP's `logout_*` knobs: `via = "idp"`: faults in the IdP's LogoutRequest;
    /// `via = "sp"`: in the IdP's LogoutResponse (see [`resolve_logout_knobs`]).
    #[serde(default)]
    pub knobs: Option<toml::Table>,
    #[serde(default)]
    pub relay_state: Option<String>,
    /// The browser by name (default: see [`Action::browser`]); `driver`, its old name, is
    /// accepted for one release.
    #[serde(default, alias = "driver")]
    pub browser: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryLogin {
    pub username: String,
    pub password: String,
    /// The browser by name (default: see [`Action::browser`]); `driver`, its old name, is
    /// accepted for one release.
    #[serde(default, alias = "driver")]
    pub browser: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRoles {
    /// An `[[accounts]]` handle, or the e-mail of a user the SP provisioned.
    pub user: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpSetAccess {
    pub user: String,
    pub access: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpUserRef {
    pub user: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpForbidFraming {
    pub forbid: bool,
}

/// `visit`: the browser GETs one SP page (no redirect followed), as a person opening it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Visit {
    /// A path on the SP, e.g. `/saml/metadata`, `/login`, `/`.
    pub path: String,
    #[serde(default, alias = "driver")]
    pub browser: Option<String>,
}

/// Sets whether the mock IdP refuses AuthnRequests without a verified signature.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpRequireSignedRequests {
    pub require: bool,
}

/// How much a case weighs in a verdict against a target, as Autobahn|Testsuite grades: a `must`
/// case that fails is a defect, a `should` case a warning, an `informational` one neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    Must,
    Should,
    Informational,
}

impl Grade {
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Must => "must",
            Grade::Should => "should",
            Grade::Informational => "informational",
        }
    }

    /// The default of the section of scenario `id`: sign-in, assertion validity (the time
    /// window among it) and attacks are `must`; logout (optional in the profiles) `should`;
    /// provisioning, linking, renewal and product behaviours are one product's choices,
    /// `informational` for any other SP.
    pub fn default_for_section(id: &str) -> Grade {
        match id.split('.').next().unwrap_or_default() {
            "1" | "2" | "7" => Grade::Must,
            "6" => Grade::Should,
            _ => Grade::Informational,
        }
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The SP signed the user in (a session cookie; `/me` answers).
    SignedIn,
    /// The SP refused, with a reason code.
    Refused,
    /// The IdP refused to answer; nothing reached the SP.
    IdpRefused,
    /// The SP shows the account-linking page.
    LinkPrompt,
    /// A passive renewal refreshed the session.
    Renewed,
    /// A renewal failed and the SP ended the session.
    SessionEnded,
    /// The SP renews the session at no IdP (a recovery session) and kept it unchanged.
    NotRenewed,
    /// After a logout, or a check: the browser has no session at the SP; after `renew`: there
    /// was no session to renew.
    SignedOut,
    /// After a logout: the browser's session survived (the logout was refused).
    StillSignedIn,
    /// Observed only, never expected: the SP answered with an HTTP error that is no SAML answer
    /// (no reason code, e.g. a 500 from `/renew`).
    HttpError,
    /// A renewal in the browser could not open its renewal window (pop-ups blocked); the page
    /// asks the user to allow them.
    RenewalBlocked,
    /// A test sign-in: the SP reported what the IdP sent and signed nobody in.
    Tested,
    /// A password-setup link set the password.
    PasswordSet,
}

impl Outcome {
    /// Outcomes that say the SP did not let the browser in: checked by effect, they imply that
    /// the step's browser has no new session afterwards.
    pub fn denies_a_session(self) -> bool {
        matches!(
            self,
            Outcome::Refused | Outcome::IdpRefused | Outcome::LinkPrompt | Outcome::SessionEnded
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::SignedIn => "signed_in",
            Outcome::Refused => "refused",
            Outcome::IdpRefused => "idp_refused",
            Outcome::LinkPrompt => "link_prompt",
            Outcome::Renewed => "renewed",
            Outcome::SessionEnded => "session_ended",
            Outcome::NotRenewed => "not_renewed",
            Outcome::SignedOut => "signed_out",
            Outcome::StillSignedIn => "still_signed_in",
            Outcome::HttpError => "http_error",
            Outcome::RenewalBlocked => "renewal_blocked",
            Outcome::Tested => "tested",
            Outcome::PasswordSet => "password_set",
        }
    }
}

/// What must hold after a step. Every field is optional; only the given ones are checked.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub outcome: Option<Outcome>,
    /// The reason code: of the refusal (`refused`), of the ended renewal (`session_ended`), or of
    /// the SP's `*.rejected` audit event (logout).
    pub code: Option<String>,
    /// The HTTP status of the SP's refusal.
    pub status: Option<u16>,
    /// Whether the refusal named its reason code to the browser; `false`: a generic failure
    /// page (`failure_page_detail = "generic"`), the code then read from the audit log.
    pub code_shown: Option<bool>,
    /// The signed-in user, by e-mail or login.
    pub user: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The signed-in user's roles, in the SP's order.
    pub roles: Option<Vec<String>>,
    /// The path (and query) the browser lands on after signing in.
    pub landing: Option<String>,
    /// The session's end, RFC 3339 (the virtual clock starts at 2026-06-01T12:00:00Z).
    pub session_expires_at: Option<String>,
    /// Whether the step's browser has a session at the SP afterwards (`/me`).
    pub signed_in: Option<bool>,
    /// The signed-in identity is linked to this `[[accounts]]` account.
    pub linked_to: Option<String>,
    /// The signed-in identity is *not* linked to this `[[accounts]]` account.
    pub not_linked_to: Option<String>,
    /// Roles of `[[accounts]]` accounts after the step, by handle.
    #[serde(default)]
    pub account_roles: BTreeMap<String, Vec<String>>,
    /// Audit events the step must have logged.
    #[serde(default)]
    pub audit: Vec<AuditExpect>,
    /// Audit events the step must not have logged.
    #[serde(default)]
    pub no_audit: Vec<AuditExpect>,
    /// Texts the last page must contain (link page, failure page, logout page, IdP refusal).
    #[serde(default)]
    pub page_contains: Vec<String>,
    /// The status of the last LogoutResponse the IdP received from the SP, by its last segment
    /// (`Success`, `Requester`).
    pub idp_logout_status: Option<String>,
    /// How the IdP judged the signature of that LogoutResponse: `verified`, `missing`,
    /// `invalid`, `weak_algorithm` or `no_certificate`.
    pub idp_logout_signature: Option<String>,
    /// How many windows the step's browser has open afterwards (the page, plus a renewal
    /// window); only the browser driver can judge it.
    pub windows: Option<usize>,
}

/// An audit event to look for among those a step logged; the given fields must all match.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditExpect {
    pub kind: Option<String>,
    pub code: Option<String>,
    /// The event's detail contains this text.
    pub detail_contains: Option<String>,
    /// The event recorded exactly these group values, in order.
    pub groups: Option<Vec<String>>,
    /// Exactly this many matching events (default: at least one).
    pub count: Option<usize>,
}

impl std::fmt::Display for AuditExpect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(kind) = &self.kind {
            parts.push(format!("kind={kind}"));
        }
        if let Some(code) = &self.code {
            parts.push(format!("code={code}"));
        }
        if let Some(text) = &self.detail_contains {
            parts.push(format!("detail~{text:?}"));
        }
        if let Some(groups) = &self.groups {
            parts.push(format!("groups={groups:?}"));
        }
        if let Some(count) = self.count {
            parts.push(format!("count={count}"));
        }
        write!(f, "{{{}}}", parts.join(", "))
    }
}
