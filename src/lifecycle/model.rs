//! The reference model: what must hold after each step, judged by effect (who is signed in in
//! which browser, with which roles, which users exist, what the audit log says). Where the SP's
//! policy decides between outcomes the model cannot tell apart (the password throttle's
//! back-off), it allows each and follows the one observed.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::step::{GROUPS, Profile, Step, User};
use super::world::{Facts, Me, Observed, Outcome};

/// `request_ttl_secs` (the pending-link lifetime) of the SP configuration the model states.
const LINK_TTL_SECS: i64 = 600;
/// `max_session_secs`.
const MAX_SESSION_SECS: i64 = 28_800;
/// `max_link_attempts`.
const MAX_LINK_ATTEMPTS: u32 = 5;
/// `password_max_failures` within `password_failure_window_secs`.
const PASSWORD_MAX_FAILURES: usize = 5;
const PASSWORD_WINDOW_SECS: i64 = 900;
const PASSWORD_LOCKOUT_SECS: i64 = 900;

/// An SP user: the local account bob (index 0), or one provisioned by skipping the linking page.
#[derive(Debug, Clone)]
struct SpUser {
    /// The store's ID, once known.
    id: Option<i64>,
    email: String,
    /// Overwritten at sign-in only by a response that sends one (`shotgun-attributes`).
    login: Option<String>,
    roles: Vec<String>,
}

#[derive(Debug, Clone)]
struct Session {
    sp_user: usize,
    identity: User,
    /// `/me`'s `session_expires_at`, as first observed (renewal moves it).
    expires_at: Option<String>,
    /// The same, as an instant.
    ends: Option<OffsetDateTime>,
    session_index: Option<String>,
}

#[derive(Debug, Clone)]
struct Pending {
    identity: User,
    /// The roles the response's groups map to (the SP keeps the verified claims with the link).
    roles: Vec<String>,
    /// Whether the response sent a login attribute.
    sends_login: bool,
    /// The account the page matched when it was shown (same login or e-mail): the SP keeps it
    /// with the pending link.
    matched: Option<usize>,
    created: OffsetDateTime,
    failed: u32,
}

#[derive(Debug, Clone, Default)]
struct BrowserState {
    session: Option<Session>,
    pending: Option<Pending>,
}

#[derive(Debug, Clone)]
struct IdpUser {
    access: bool,
    groups: u8,
    removed: bool,
}

/// What the model expects of the SP.
#[derive(Debug, Clone)]
pub struct Model {
    now: OffsetDateTime,
    browsers: Vec<BrowserState>,
    idp_users: BTreeMap<User, IdpUser>,
    sp_users: Vec<SpUser>,
    /// Identity → SP user, once linked or provisioned.
    resolved: BTreeMap<User, usize>,
    /// Failed password attempts on bob's account (the throttle's count), and whether the
    /// throttle may be refusing now (its back-off is policy the model does not restate).
    bob_failures: Vec<OffsetDateTime>,
    throttle_since: Option<OffsetDateTime>,
}

/// What the model expects of one step, for the scenario a counter-example becomes.
#[derive(Debug, Clone, Default)]
pub struct Expectation {
    /// The step did nothing at the SP's end (e.g. an IdP logout of nobody, a replay before any
    /// response): rendered as a comment.
    pub noop: bool,
    pub outcome: Option<&'static str>,
    pub code: Option<String>,
    pub signed_in: Option<bool>,
    pub user: Option<String>,
    pub roles: Option<Vec<String>>,
}

impl Model {
    pub fn new(start: OffsetDateTime, bob_id: i64) -> Model {
        let groups_of = |user: User| match user {
            User::Alice => 0b001,
            User::Carol => 0b010,
            User::Dave => 0b100,
            User::Bob | User::Erin => 0,
        };
        Model {
            now: start,
            browsers: vec![BrowserState::default(); usize::from(super::step::BROWSERS)],
            idp_users: User::ALL
                .iter()
                .map(|u| {
                    (
                        *u,
                        IdpUser {
                            access: *u != User::Erin,
                            groups: groups_of(*u),
                            removed: false,
                        },
                    )
                })
                .collect(),
            sp_users: vec![SpUser {
                id: Some(bob_id),
                email: "bob@example.com".into(),
                login: Some("bob".into()),
                roles: vec!["editor".into()],
            }],
            resolved: BTreeMap::new(),
            bob_failures: Vec::new(),
            throttle_since: None,
        }
    }

    /// The roles a response with `profile` grants `user` now: the image of their groups under
    /// the demo mapping (`admins` → admin by name, engineering's GUID → editor), else `member`.
    fn roles_for(&self, user: User, profile: Profile) -> Vec<String> {
        let groups = self.idp_users[&user].groups;
        let mapped = match profile {
            Profile::MissingGroups => None,
            Profile::EntraGuidGroups => (groups & 0b010 != 0).then_some("editor"),
            _ => (groups & 0b001 != 0).then_some("admin"),
        };
        vec![mapped.unwrap_or("member").to_owned()]
    }

    fn live(&self, b: usize) -> Option<&Session> {
        self.browsers[b]
            .session
            .as_ref()
            .filter(|s| s.ends.is_none_or(|end| self.now < end))
    }

    /// Checks the step's outcome and what was observed against the model, then moves the model
    /// to the state after the step. `Err` names the broken expectation.
    pub fn step(
        &mut self,
        step: &Step,
        facts: &Facts,
        outcome: &Outcome,
        observed: &Observed,
        expect: &mut Expectation,
    ) -> Result<(), String> {
        if let Some(error) = observed.server_errors.first() {
            return Err(format!("the server failed: {error}"));
        }
        self.transition(step, facts, outcome, observed, expect)?;
        self.check_audit(step, outcome, observed)?;
        self.check_sessions(observed)
    }

    fn transition(
        &mut self,
        step: &Step,
        facts: &Facts,
        outcome: &Outcome,
        observed: &Observed,
        expect: &mut Expectation,
    ) -> Result<(), String> {
        match *step {
            Step::SignIn {
                browser,
                user,
                profile,
                via: _,
            } => {
                let b = usize::from(browser);
                let idp_user = &self.idp_users[&user];
                if idp_user.removed {
                    expect.outcome = Some("idp_refused");
                    return same(outcome, &Outcome::IdpRefused);
                }
                let refusal = profile.refusal().map(str::to_owned).or_else(|| {
                    (profile == Profile::ShotgunAttributes && !idp_user.access)
                        .then(|| "access.denied".to_owned())
                });
                if let Some(code) = refusal {
                    return expect.refusal(outcome, &code);
                }
                match self.resolved.get(&user).copied() {
                    Some(sp_user) => {
                        expect.outcome = Some("signed_in");
                        expect.user = Some(user.email());
                        same(outcome, &Outcome::SignedIn)?;
                        let login = (profile == Profile::ShotgunAttributes).then_some(user.login());
                        self.signed_in(
                            b,
                            sp_user,
                            user,
                            self.roles_for(user, profile),
                            login,
                            observed,
                        )?;
                        expect.roles = Some(self.sp_users[sp_user].roles.clone());
                        expect.signed_in = Some(true);
                    }
                    None => {
                        expect.outcome = Some("link_prompt");
                        same(outcome, &Outcome::LinkPrompt)?;
                        self.browsers[b].pending = Some(Pending {
                            identity: user,
                            roles: self.roles_for(user, profile),
                            sends_login: profile == Profile::ShotgunAttributes,
                            matched: self.matching(user),
                            created: self.now,
                            failed: 0,
                        });
                    }
                }
            }
            Step::Link {
                browser,
                right_password,
            } => {
                let b = usize::from(browser);
                let mut pending = match self.usable_pending(b) {
                    Ok(pending) => pending,
                    Err(code) => return expect.refusal(outcome, code),
                };
                // The throttle's refusal: allowed while bob's failures may be counted.
                if self.throttle_may_refuse()
                    && matches!(outcome, Outcome::Refused { code, .. } if code == "auth.throttled")
                {
                    pending.failed += 1;
                    self.browsers[b].pending = Some(pending);
                    return Ok(());
                }
                pending.failed += 1;
                // The account the password is checked against: the one the page matched, else
                // the typed username `bob` now. Only bob's account has a password.
                let target = pending.matched.or_else(|| self.matching_name("bob"));
                if right_password && target == Some(0) {
                    expect.outcome = Some("signed_in");
                    same(outcome, &Outcome::SignedIn)?;
                    self.browsers[b].pending = None;
                    self.bob_failures.clear();
                    self.throttle_since = None;
                    self.resolved.insert(pending.identity, 0);
                    let login = pending.sends_login.then_some(pending.identity.login());
                    self.signed_in(b, 0, pending.identity, pending.roles, login, observed)?;
                    expect.signed_in = Some(true);
                } else {
                    self.bob_failures.push(self.now);
                    self.note_throttle();
                    if pending.failed >= MAX_LINK_ATTEMPTS {
                        expect.refusal(outcome, "link.locked_out")?;
                    } else {
                        expect.outcome = Some("link_prompt");
                        same(outcome, &Outcome::LinkPrompt)?;
                    }
                    self.browsers[b].pending = Some(pending);
                }
            }
            Step::SkipLink { browser } => {
                let b = usize::from(browser);
                let pending = match self.usable_pending(b) {
                    Ok(pending) => pending,
                    Err(code) => return expect.refusal(outcome, code),
                };
                expect.outcome = Some("signed_in");
                same(outcome, &Outcome::SignedIn)?;
                self.browsers[b].pending = None;
                self.sp_users.push(SpUser {
                    id: None,
                    email: pending.identity.email(),
                    login: None,
                    roles: Vec::new(),
                });
                let sp_user = self.sp_users.len() - 1;
                let login = pending.sends_login.then_some(pending.identity.login());
                self.resolved.insert(pending.identity, sp_user);
                self.signed_in(b, sp_user, pending.identity, pending.roles, login, observed)?;
                expect.signed_in = Some(true);
            }
            Step::AdvanceClock { seconds } => {
                self.now += time::Duration::seconds(i64::from(seconds));
                same(outcome, &Outcome::Done)?;
            }
            Step::Renew { browser } => {
                let b = usize::from(browser);
                let Some(session) = self.live(b).cloned() else {
                    expect.outcome = Some("session_ended");
                    self.browsers[b].session = None;
                    return match outcome {
                        Outcome::SessionEnded { code } if code == "http.401" => Ok(()),
                        other => Err(format!("renewal without a session ended in {other:?}")),
                    };
                };
                // The IdP answers for the user of the browser's IdP session; the SP accepts an
                // identity linked to the session's user (not necessarily the one that signed in).
                let answerer = facts
                    .idp_session_user
                    .as_deref()
                    .and_then(|login| User::ALL.into_iter().find(|u| u.login() == login))
                    .filter(|u| !self.idp_users[u].removed);
                let renewer = answerer.filter(|u| self.resolved.get(u) == Some(&session.sp_user));
                if let Some(renewer) = renewer {
                    expect.outcome = Some("renewed");
                    same(outcome, &Outcome::Renewed)?;
                    let roles = self.roles_for(renewer, Profile::Valid);
                    let user = &mut self.sp_users[session.sp_user];
                    user.roles = roles;
                    user.email = renewer.email();
                    // Renewal moves the session's end: take it from what the SP now says.
                    let me = observed.me[b]
                        .as_ref()
                        .ok_or("renewed, but /me says signed out")?;
                    let ends = self.check_new_session_end(me)?;
                    if let Some(s) = self.browsers[b].session.as_mut() {
                        // The session now stands on the renewing assertion (its NameID and
                        // SessionIndex are what single logout matches).
                        s.identity = renewer;
                        s.expires_at = Some(me.session_expires_at.clone());
                        s.ends = Some(ends);
                        s.session_index = me.session_index.clone();
                    }
                } else {
                    expect.outcome = Some("session_ended");
                    expect.signed_in = Some(false);
                    match outcome {
                        Outcome::SessionEnded { .. } => {}
                        other => {
                            return Err(format!(
                                "renewal that the IdP cannot answer for {} (IdP session: {:?}) ended in {other:?}",
                                session.identity.login(),
                                facts.idp_session_user
                            ));
                        }
                    }
                    self.browsers[b].session = None;
                }
            }
            Step::LogoutSp { browser } => {
                same(outcome, &Outcome::Done)?;
                self.browsers[usize::from(browser)].session = None;
                expect.signed_in = Some(false);
            }
            Step::LogoutIdp { user, .. } => {
                same(outcome, &Outcome::Done)?;
                if let Some(index) = &facts.logout_session_index {
                    for state in &mut self.browsers {
                        let ends = state.session.as_ref().is_some_and(|s| {
                            s.identity == user && s.session_index.as_ref() == Some(index)
                        });
                        if ends {
                            state.session = None;
                        }
                    }
                }
            }
            Step::Replay { .. } => {
                match outcome {
                    Outcome::Done => {}
                    Outcome::Refused { code, .. } => {
                        expect.outcome = Some("refused");
                        expect.code = Some(code.clone());
                    }
                    other => return Err(format!("a replayed response ended in {other:?}")),
                }
                expect.signed_in = None;
            }
            Step::IdpSetAccess { user, access } => {
                same(outcome, &Outcome::Done)?;
                let u = self.idp_users.get_mut(&user).ok_or("unknown user")?;
                if !u.removed {
                    u.access = access;
                }
            }
            Step::IdpSetGroups { user, groups } => {
                same(outcome, &Outcome::Done)?;
                let u = self.idp_users.get_mut(&user).ok_or("unknown user")?;
                if !u.removed {
                    u.groups = groups & ((1 << GROUPS.len()) - 1);
                }
            }
            Step::IdpRemoveUser { user } => {
                same(outcome, &Outcome::Done)?;
                self.idp_users.get_mut(&user).ok_or("unknown user")?.removed = true;
            }
        }
        Ok(())
    }

    /// The browser's pending link, if it has not expired.
    fn pending(&self, b: usize) -> Option<Pending> {
        self.browsers[b]
            .pending
            .clone()
            .filter(|p| (self.now - p.created).whole_seconds() < LINK_TTL_SECS)
    }

    /// The first SP user with `identity`'s login or e-mail (what the linking page matched).
    fn matching(&self, identity: User) -> Option<usize> {
        let email = identity.email();
        self.sp_users.iter().position(|u| {
            u.email.eq_ignore_ascii_case(&email) || u.login.as_deref() == Some(identity.login())
        })
    }

    /// The SP user with this login or e-mail (the linking page's typed username).
    fn matching_name(&self, name: &str) -> Option<usize> {
        self.sp_users
            .iter()
            .position(|u| u.login.as_deref() == Some(name) || u.email.eq_ignore_ascii_case(name))
    }

    /// Whether the pending link's identity was linked or provisioned since the page was shown
    /// (by another browser's linking page): the SP refuses the stale decision and forgets it.
    /// The browser's pending link if the SP must still honour it, else the code it must answer:
    /// none or expired, locked out, or its identity resolved in another browser meanwhile.
    fn usable_pending(&mut self, b: usize) -> Result<Pending, &'static str> {
        let pending = self.pending(b).ok_or("link.expired")?;
        if pending.failed >= MAX_LINK_ATTEMPTS {
            return Err("link.locked_out");
        }
        if self.stale(b, &pending) {
            return Err("link.expired");
        }
        Ok(pending)
    }

    fn stale(&mut self, b: usize, pending: &Pending) -> bool {
        let stale = self.resolved.contains_key(&pending.identity);
        if stale {
            self.browsers[b].pending = None;
        }
        stale
    }

    fn note_throttle(&mut self) {
        let now = self.now;
        let recent = self
            .bob_failures
            .iter()
            .filter(|t| (now - **t).whole_seconds() < PASSWORD_WINDOW_SECS)
            .count();
        if recent >= PASSWORD_MAX_FAILURES && self.throttle_since.is_none() {
            self.throttle_since = Some(now);
        }
    }

    /// Whether the password throttle may refuse bob's next attempt: once it locked, until a
    /// lock-out and a full window without attempts have passed (its back-off re-locks at the
    /// first failure after a lock-out, which the model allows rather than restates).
    fn throttle_may_refuse(&self) -> bool {
        let Some(last) = self.bob_failures.last() else {
            return false;
        };
        self.throttle_since.is_some()
            && (self.now - *last).whole_seconds() < PASSWORD_LOCKOUT_SECS + PASSWORD_WINDOW_SECS
    }

    /// `b` is now signed in as `sp_user` through `identity`'s response, which granted `roles`.
    fn signed_in(
        &mut self,
        b: usize,
        sp_user: usize,
        identity: User,
        roles: Vec<String>,
        login: Option<&str>,
        observed: &Observed,
    ) -> Result<(), String> {
        let me = observed.me[b]
            .as_ref()
            .ok_or("signed in, but /me says signed out")?;
        let ends = self.check_new_session_end(me)?;
        let user = &mut self.sp_users[sp_user];
        user.email = identity.email();
        if let Some(login) = login {
            user.login = Some(login.to_owned());
        }
        user.roles = roles;
        match user.id {
            None => user.id = me.user_id,
            Some(id) if me.user_id != Some(id) => {
                return Err(format!(
                    "{} signed in as user {:?}, the model's user is {id}",
                    identity.login(),
                    me.user_id
                ));
            }
            Some(_) => {}
        }
        self.browsers[b].session = Some(Session {
            sp_user,
            identity,
            expires_at: Some(me.session_expires_at.clone()),
            ends: Some(ends),
            session_index: me.session_index.clone(),
        });
        Ok(())
    }

    /// A new session's end lies after now and within `max_session_secs`.
    fn check_new_session_end(&self, me: &Me) -> Result<OffsetDateTime, String> {
        let ends = OffsetDateTime::parse(
            &me.session_expires_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|e| format!("session_expires_at {:?}: {e}", me.session_expires_at))?;
        let cap = self.now + time::Duration::seconds(MAX_SESSION_SECS);
        if ends <= self.now || ends > cap {
            return Err(format!(
                "a new session ends at {ends}, outside ({}, {cap}]",
                self.now
            ));
        }
        Ok(ends)
    }

    /// The audit events the step added are those its outcome implies.
    fn check_audit(
        &self,
        step: &Step,
        outcome: &Outcome,
        observed: &Observed,
    ) -> Result<(), String> {
        let has = |kind: &str, code: Option<&str>| {
            observed
                .audit
                .iter()
                .any(|(k, c)| k == kind && (code.is_none() || c.as_deref() == code))
        };
        let accepted = observed
            .audit
            .iter()
            .filter(|(k, _)| k == "sign_in.accepted")
            .count();
        let touches_sp = !matches!(
            step,
            Step::AdvanceClock { .. }
                | Step::IdpSetAccess { .. }
                | Step::IdpSetGroups { .. }
                | Step::IdpRemoveUser { .. }
        );
        if !touches_sp && !observed.audit.is_empty() {
            return Err(format!(
                "a step the SP took no part in audited {:?}",
                observed.audit
            ));
        }
        let signs_in = matches!(outcome, Outcome::SignedIn);
        if accepted != usize::from(signs_in) {
            return Err(format!(
                "{accepted} sign_in.accepted events for a step that ended in {outcome:?}: {:?}",
                observed.audit
            ));
        }
        let missing = match outcome {
            // The linking page without a pending link has no identity to audit, and auditing
            // anonymous posts would grow the log without bound; a link already locked was
            // audited when it locked.
            Outcome::Refused { code, .. } if code == "link.expired" => (!observed
                .audit
                .iter()
                .all(|(k, c)| k == "link.rejected" && c.as_deref() == Some(code)))
            .then(|| "nothing but link.rejected (link.expired)".to_owned()),
            Outcome::Refused { code, .. } if code == "link.locked_out" => None,
            Outcome::Refused { code, .. } => (!observed
                .audit
                .iter()
                .any(|(k, c)| k.ends_with(".rejected") && c.as_deref() == Some(code)))
            .then(|| format!("a *.rejected event with code {code}")),
            Outcome::LinkPrompt => {
                let kind = if matches!(step, Step::Link { .. }) {
                    "link.password_failed"
                } else {
                    "link.prompted"
                };
                (!has(kind, None)).then(|| kind.to_owned())
            }
            Outcome::Renewed => (!has("session.renewed", None)).then(|| "session.renewed".into()),
            Outcome::SessionEnded { code } if code != "http.401" => {
                (!has("renewal.failed", Some(code)))
                    .then(|| format!("renewal.failed with code {code}"))
            }
            _ => None,
        };
        match missing {
            Some(what) => Err(format!(
                "the audit log should have {what}: {:?}",
                observed.audit
            )),
            None => Ok(()),
        }
    }

    /// Every browser's session is the model's: who, with which roles, until when; and the
    /// store holds exactly the model's users.
    fn check_sessions(&self, observed: &Observed) -> Result<(), String> {
        for (b, me) in observed.me.iter().enumerate() {
            let name = super::step::browser_name(b as u8);
            match (self.live(b), me) {
                (None, None) => {}
                (Some(s), None) => {
                    return Err(format!(
                        "browser {name} should be signed in as {} (until {:?}), /me says signed out",
                        s.identity.login(),
                        s.expires_at
                    ));
                }
                (None, Some(me)) => {
                    return Err(format!(
                        "browser {name} should be signed out, /me says {} ({:?})",
                        me.email, me.roles
                    ));
                }
                (Some(s), Some(me)) => {
                    let user = &self.sp_users[s.sp_user];
                    let mut roles = user.roles.clone();
                    roles.sort();
                    if me.email != user.email
                        || me.roles != roles
                        || Some(&me.session_expires_at) != s.expires_at.as_ref()
                        || me.name_id != s.identity.email()
                    {
                        return Err(format!(
                            "browser {name}: /me says {} {:?} until {} (NameID {}), the model {} {:?} until {:?} (NameID {})",
                            me.email,
                            me.roles,
                            me.session_expires_at,
                            me.name_id,
                            user.email,
                            roles,
                            s.expires_at,
                            s.identity.email()
                        ));
                    }
                }
            }
        }
        let users = self.sp_users.len() as u64;
        if observed.users != users {
            return Err(format!(
                "the SP has {} users, the model {users} (bob + one per skipped link)",
                observed.users
            ));
        }
        Ok(())
    }

    /// The model's view of who each browser is signed in as (for reports).
    pub fn describe(&self) -> String {
        (0..self.browsers.len())
            .map(|b| {
                let who = self.live(b).map_or("nobody".to_owned(), |s| {
                    format!("{} as user #{}", s.identity.login(), s.sp_user)
                });
                format!("{}: {who}", super::step::browser_name(b as u8))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn same(outcome: &Outcome, expected: &Outcome) -> Result<(), String> {
    if outcome == expected {
        Ok(())
    } else {
        Err(format!("expected {expected:?}, got {outcome:?}"))
    }
}

impl Expectation {
    /// The step must be refused with `code`: recorded for the rendered scenario, and checked.
    fn refusal(&mut self, outcome: &Outcome, code: &str) -> Result<(), String> {
        self.outcome = Some("refused");
        self.code = Some(code.to_owned());
        refused_with(outcome, code)
    }
}

fn refused_with(outcome: &Outcome, code: &str) -> Result<(), String> {
    match outcome {
        Outcome::Refused { code: got, .. } if got == code => Ok(()),
        other => Err(format!("expected a refusal with {code}, got {other:?}")),
    }
}
