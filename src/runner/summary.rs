//! The prose of the report: each step's action as written in the scenario, in words (the
//! `summary` of a step result). Words only; running and judging the action happen elsewhere.

use crate::scenario::{Action, Binding, Via};

/// The action in words, e.g. "alice signs in (SP-initiated, profile okta) [browser b]".
pub(super) fn summary(action: &Action) -> String {
    let with = |profile: &Option<String>, knobs: &Option<toml::Table>| {
        let mut text = String::new();
        if let Some(profile) = profile {
            text.push_str(&format!(", profile {profile}"));
        }
        if let Some(knobs) = knobs {
            let knobs = knobs
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            text.push_str(&format!(", knobs {{ {knobs} }}"));
        }
        text
    };
    let browser = |browser: &Option<String>| match browser {
        Some(b) => format!(" [browser {b}]"),
        None => String::new(),
    };
    match action {
        Action::SignIn(a) => format!(
            "{}{} signs in ({}-initiated{}{}){}",
            a.user,
            a.idp
                .as_ref()
                .map(|idp| format!(" at IdP {idp:?}"))
                .unwrap_or_default(),
            match a.via {
                Via::Sp => "SP",
                Via::Idp => "IdP",
            },
            with(&a.profile, &a.knobs),
            a.relay_state
                .as_ref()
                .map(|r| format!(", RelayState {r:?}"))
                .unwrap_or_default(),
            browser(&a.browser)
                + &a.post_from
                    .as_ref()
                    .map(|p| format!(", the response posted by browser {p}"))
                    .unwrap_or_default()
        ),
        Action::Link(a) => format!(
            "links an account{} with password {:?}{}",
            a.username
                .as_ref()
                .map(|u| format!(" as {u:?}"))
                .unwrap_or_default(),
            a.password,
            browser(&a.browser)
        ),
        Action::SkipLink(a) => format!("skips linking{}", browser(&a.browser)),
        Action::Invite(a) => format!("an admin invites account {:?}", a.account),
        Action::AcceptInvitation(a) => format!(
            "{} accepts the invitation of {:?}{}{}",
            a.user,
            a.account,
            with(&a.profile, &a.knobs),
            browser(&a.browser)
        ),
        Action::AdvanceClock(a) if a.backwards => {
            format!("both clocks step back {} s", a.seconds)
        }
        Action::AdvanceClock(a) => format!("both clocks advance {} s", a.seconds),
        Action::Renew(a) => format!(
            "passive renewal{}{}",
            with(&a.profile, &a.knobs),
            browser(&a.browser)
        ),
        Action::Logout(a) => format!(
            "{}{}",
            match a.via {
                Via::Sp if a.cross_site => {
                    "another site makes the browser GET /logout, then POST it without the form's token"
                        .to_owned()
                }
                Via::Sp => "the browser signs out at /logout (SP-initiated)".to_owned(),
                Via::Idp => format!(
                    "the IdP logs out {} over HTTP-{}",
                    a.user.as_deref().unwrap_or("?"),
                    match a.binding {
                        Binding::Redirect => "Redirect",
                        Binding::Post => "POST",
                    }
                ),
            },
            with(&None, &a.knobs) + &browser(&a.browser)
        ),
        Action::ReplayLogout(_) => format!(
            "the IdP's last LogoutRequest is sent again from browser {:?}",
            action.browser().unwrap_or_default()
        ),
        Action::Replay(_) => format!(
            "the last SAMLResponse is posted again from browser {:?}",
            action.browser().unwrap_or_default()
        ),
        Action::RecoveryLogin(a) => format!(
            "recovery password login as {:?}{}",
            a.username,
            browser(&a.browser)
        ),
        Action::Check(a) => format!("the browser asks /me{}", browser(&a.browser)),
        Action::SetRoles(a) => format!("an admin sets the roles of {} to {:?}", a.user, a.roles),
        Action::IdpSetAccess(a) => format!("the IdP sets {}'s access to {}", a.user, a.access),
        Action::IdpRemoveUser(a) => format!("the IdP removes {}", a.user),
        Action::IdpEndSessions(_) => "the IdP ends every session".into(),
        Action::IdpForbidFraming(a) => format!("the IdP forbid_framing = {}", a.forbid),
        Action::Visit(a) => format!("the browser opens {}{}", a.path, browser(&a.browser)),
        Action::IdpRequireSignedRequests(a) => {
            format!("the IdP requires signed AuthnRequests = {}", a.require)
        }
        Action::IssuePasswordSetup(a) => {
            format!("an admin issues a password-setup link for {}", a.user)
        }
        Action::SetPassword(a) => format!(
            "{}'s password-setup link{} sets password {:?}{}",
            a.user,
            a.token
                .as_ref()
                .map(|t| format!(" (token {t:?})"))
                .unwrap_or_default(),
            a.password,
            browser(&a.browser)
        ),
    }
}
