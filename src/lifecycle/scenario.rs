//! Renders a step sequence as a scenario file in the catalogue's format (`scenarios/README.md`),
//! with the model's expectation of each step, so that a shrunk counter-example can be committed
//! as a regression. The id, title and source are placeholders to fill in.

use std::fmt::Write as _;

use super::model::Expectation;
use super::step::{Step, User, Via, browser_name};
use super::world::{BOB_PASSWORD, WRONG_PASSWORD};

/// The scenario TOML for `steps`, each followed by its expectation (`expectations[i]` for
/// `steps[i]`; missing ones are left unchecked).
pub fn render(steps: &[Step], expectations: &[Expectation]) -> String {
    let mut out = String::new();
    out.push_str(
        r#"id = "N.M"                       # the section's next free number
title = "TODO: what the sequence shows"
section = "N TODO"
description = """
A sequence found by the lifecycle state machine (tests/lifecycle_props.rs), shrunk."""
expectation = """
TODO: what a conformant SP does, and why."""
source = "TODO: product, topic: the requirement."
tags = ["lifecycle"]

[sp]
account_linking = "prompt"

[[accounts]]
login = "bob"
email = "bob@example.com"
password = "hunter2"
roles = ["editor"]
"#,
    );
    for (i, step) in steps.iter().enumerate() {
        let expect = expectations.get(i).cloned().unwrap_or_default();
        out.push('\n');
        match action(step) {
            Some(action) if !expect.noop => {
                let _ = writeln!(out, "[[step]]\n{action}");
                if let Some(expect) = expect_table(step, &expect) {
                    let _ = writeln!(out, "expect = {expect}");
                }
            }
            _ => {
                let _ = writeln!(
                    out,
                    "# step {}: {step} (not expressible in a scenario file, or a no-op here)",
                    i + 1
                );
            }
        }
    }
    out
}

fn browser(b: u8) -> String {
    format!("browser = \"{}\"", browser_name(b))
}

fn user(u: User) -> String {
    format!("user = \"{}\"", u.email())
}

/// The step's action line; `None` when the catalogue has no such action.
fn action(step: &Step) -> Option<String> {
    Some(match *step {
        Step::SignIn {
            browser: b,
            user: u,
            profile,
            via,
        } => {
            let via = match via {
                Via::Sp => String::new(),
                Via::Idp => ", via = \"idp\"".into(),
            };
            format!(
                "sign_in = {{ {}, profile = \"{}\"{via}, {} }}",
                user(u),
                profile.name(),
                browser(b)
            )
        }
        Step::Link {
            browser: b,
            right_password,
        } => format!(
            "link = {{ username = \"bob\", password = \"{}\", {} }}",
            if right_password {
                BOB_PASSWORD
            } else {
                WRONG_PASSWORD
            },
            browser(b)
        ),
        Step::SkipLink { browser: b } => format!("skip_link = {{ {} }}", browser(b)),
        Step::AdvanceClock { seconds } => format!("advance_clock = {{ seconds = {seconds} }}"),
        Step::Renew { browser: b } => format!("renew = {{ {} }}", browser(b)),
        Step::LogoutSp { browser: b } => format!("logout = {{ via = \"sp\", {} }}", browser(b)),
        Step::LogoutIdp {
            browser: b,
            user: u,
        } => {
            format!("logout = {{ via = \"idp\", {}, {} }}", user(u), browser(b))
        }
        Step::Replay {
            browser: b,
            back: 0,
        } => format!("replay = {{ {} }}", browser(b)),
        Step::Replay { .. } => return None,
        Step::IdpSetAccess { user: u, access } => {
            format!(
                "idp_set_access = {{ user = \"{}\", access = {access} }}",
                u.login()
            )
        }
        Step::IdpSetGroups { .. } => return None,
        Step::IdpRemoveUser { user: u } => {
            format!("idp_remove_user = {{ user = \"{}\" }}", u.login())
        }
    })
}

/// The `expect` table the catalogue's load-time check accepts for this action.
fn expect_table(step: &Step, expect: &Expectation) -> Option<String> {
    let mut fields = Vec::new();
    let logout = matches!(step, Step::LogoutSp { .. } | Step::LogoutIdp { .. });
    match (logout, expect.outcome) {
        (true, _) => {}
        (false, Some(outcome)) => fields.push(format!("outcome = \"{outcome}\"")),
        (false, None) => {}
    }
    if let Some(code) = &expect.code {
        fields.push(format!("code = \"{code}\""));
    }
    let refused = matches!(expect.outcome, Some("refused" | "idp_refused"));
    if !refused {
        if let Some(signed_in) = expect.signed_in {
            fields.push(format!("signed_in = {signed_in}"));
        }
        if let Some(user) = &expect.user {
            fields.push(format!("user = \"{user}\""));
        }
        if let Some(roles) = &expect.roles {
            let roles: Vec<String> = roles.iter().map(|r| format!("\"{r}\"")).collect();
            fields.push(format!("roles = [{}]", roles.join(", ")));
        }
    }
    if logout && expect.signed_in == Some(false) {
        fields.push("outcome = \"signed_out\"".into());
    }
    (!fields.is_empty()).then(|| format!("{{ {} }}", fields.join(", ")))
}
