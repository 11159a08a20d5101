//! The step vocabulary of the lifecycle model, and its byte encoding (what the fuzz target and
//! the seed corpus read and write).

use std::fmt;

/// How many browsers a sequence can use, each with its own cookie jar.
pub const BROWSERS: u8 = 2;

/// The mock IdP's demo users (`mock_idp::users::demo_users`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum User {
    Alice,
    Bob,
    Carol,
    Dave,
    Erin,
}

impl User {
    pub const ALL: [User; 5] = [User::Alice, User::Bob, User::Carol, User::Dave, User::Erin];

    pub fn login(self) -> &'static str {
        match self {
            User::Alice => "alice",
            User::Bob => "bob",
            User::Carol => "carol",
            User::Dave => "dave",
            User::Erin => "erin",
        }
    }

    pub fn email(self) -> String {
        format!("{}@example.com", self.login())
    }
}

/// The demo directory's groups, as a bit set (`Step::IdpSetGroups`).
pub const GROUPS: [(&str, &str); 3] = [
    ("admins", "5f2c8e4a-1d3b-4c6e-9a7f-0b1d2e3f4a5b"),
    ("engineering", crate::demo::ENGINEERING_GROUP_ID),
    ("contractors", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"),
];

/// Mock-IdP profiles a sign-in can use: the valid ones (differing in how they send the claims)
/// and a handful that the SP must refuse, each with its reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    Valid,
    EntraGuidGroups,
    MissingGroups,
    ShotgunAttributes,
    SignBoth,
    Expired,
    WrongAudience,
    Unsigned,
    WrongKey,
    WrongDestination,
    AuthnFailed,
    XswEvilBefore,
}

impl Profile {
    pub const ALL: [Profile; 12] = [
        Profile::Valid,
        Profile::EntraGuidGroups,
        Profile::MissingGroups,
        Profile::ShotgunAttributes,
        Profile::SignBoth,
        Profile::Expired,
        Profile::WrongAudience,
        Profile::Unsigned,
        Profile::WrongKey,
        Profile::WrongDestination,
        Profile::AuthnFailed,
        Profile::XswEvilBefore,
    ];

    /// The mock IdP's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Valid => "valid",
            Profile::EntraGuidGroups => "entra-guid-groups",
            Profile::MissingGroups => "missing-groups",
            Profile::ShotgunAttributes => "shotgun-attributes",
            Profile::SignBoth => "sign-both",
            Profile::Expired => "expired",
            Profile::WrongAudience => "wrong-audience",
            Profile::Unsigned => "unsigned",
            Profile::WrongKey => "wrong-key",
            Profile::WrongDestination => "wrong-destination",
            Profile::AuthnFailed => "authn-failed",
            Profile::XswEvilBefore => "xsw-evil-before",
        }
    }

    /// The reason code the SP must refuse it with; `None` for a valid profile. None of these
    /// faults can be cured by time or by the IdP's directory, so a response refused once stays
    /// refused (what `replay` relies on).
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            Profile::Valid
            | Profile::EntraGuidGroups
            | Profile::MissingGroups
            | Profile::ShotgunAttributes
            | Profile::SignBoth => None,
            Profile::Expired => Some("time.expired"),
            Profile::WrongAudience => Some("audience.mismatch"),
            Profile::Unsigned => Some("signature.missing"),
            Profile::WrongKey => Some("signature.invalid"),
            Profile::WrongDestination => Some("destination.mismatch"),
            Profile::AuthnFailed => Some("status.not_success"),
            Profile::XswEvilBefore => Some("structure.assertion_count"),
        }
    }
}

/// Which way a sign-in starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Via {
    /// `/login` → the IdP (with `login_hint`) → the ACS.
    Sp,
    /// The IdP's `/idp-initiated` page → the ACS (unsolicited).
    Idp,
}

/// One step of a lifecycle sequence. Browsers are numbered from 0 (`BROWSERS` of them).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    /// Sign in as `user` with `profile`.
    SignIn {
        browser: u8,
        user: User,
        profile: Profile,
        via: Via,
    },
    /// On the linking page: bob's password (`hunter2`), right or wrong (the username `bob` is
    /// typed too; the SP reads it only when no account matched).
    Link { browser: u8, right_password: bool },
    /// On the linking page: skip, creating a new user.
    SkipLink { browser: u8 },
    /// Both virtual clocks move forward.
    AdvanceClock { seconds: u32 },
    /// A passive renewal of the browser's session.
    Renew { browser: u8 },
    /// The browser signs out at the SP (single logout through the IdP).
    LogoutSp { browser: u8 },
    /// The IdP logs `user` out (a LogoutRequest for their latest IdP session), delivered
    /// through `browser`. A no-op when `user` has no IdP session.
    LogoutIdp { browser: u8, user: User },
    /// `browser` posts again the `back`-th newest SAMLResponse posted to the ACS so far
    /// (0: the newest). A no-op before any.
    Replay { browser: u8, back: u8 },
    /// An IdP admin sets `user`'s access flag (sent by the `shotgun-attributes` profile).
    IdpSetAccess { user: User, access: bool },
    /// An IdP admin replaces `user`'s groups by the set `groups` (bits into [`GROUPS`]).
    IdpSetGroups { user: User, groups: u8 },
    /// An IdP admin removes `user` (ending their IdP sessions).
    IdpRemoveUser { user: User },
}

/// The clock steps a decoder picks from: around the SP's and the IdP's time limits (skew 120 s,
/// request and pending-link TTL 600 s, session 8 h) and the ranges between them.
pub const CLOCK_STEPS: [u32; 16] = [
    1, 30, 119, 121, 299, 300, 599, 601, 900, 1800, 3600, 7200, 14_400, 28_799, 28_801, 86_400,
];

/// The longest sequence [`decode`] returns.
pub const MAX_STEPS: usize = 40;

/// Decodes bytes into steps: two bytes a step (kind, argument), at most [`MAX_STEPS`]. Every
/// byte string decodes to some sequence, so the fuzzer never wastes an input.
pub fn decode(bytes: &[u8]) -> Vec<Step> {
    bytes
        .chunks_exact(2)
        .take(MAX_STEPS)
        .map(|pair| decode_step(pair[0], pair[1]))
        .collect()
}

fn decode_step(kind: u8, arg: u8) -> Step {
    let browser = arg & 1;
    let user = User::ALL[usize::from((arg >> 1) & 0x7) % User::ALL.len()];
    match kind % 16 {
        // Sign-ins are the most common step, valid ones most of all.
        0..=3 => Step::SignIn {
            browser,
            user,
            profile: Profile::Valid,
            via: Via::Sp,
        },
        4 | 5 => Step::SignIn {
            browser,
            user,
            profile: Profile::ALL[usize::from(kind >> 4) % Profile::ALL.len()],
            via: if arg & 0x80 == 0 { Via::Sp } else { Via::Idp },
        },
        6 => Step::Link {
            browser,
            right_password: arg & 2 == 0,
        },
        7 => Step::SkipLink { browser },
        8 => Step::AdvanceClock {
            seconds: CLOCK_STEPS[usize::from(arg) % CLOCK_STEPS.len()],
        },
        9 => Step::Renew { browser },
        10 => Step::LogoutSp { browser },
        11 => Step::LogoutIdp { browser, user },
        12 => Step::Replay {
            browser,
            back: (arg >> 1) % 4,
        },
        13 => Step::IdpSetAccess {
            user,
            access: arg & 0x80 != 0,
        },
        14 => Step::IdpSetGroups {
            user,
            groups: (kind >> 4) % 8,
        },
        _ => {
            if arg & 0x80 == 0 {
                Step::IdpRemoveUser { user }
            } else {
                // Removal is rare: it ends a user's part in the rest of the sequence.
                Step::Renew { browser }
            }
        }
    }
}

/// The bytes [`decode`] turns back into `steps` (for seed corpora and regression inputs).
pub fn encode(steps: &[Step]) -> Vec<u8> {
    steps.iter().flat_map(encode_step).collect()
}

fn user_bits(user: User) -> u8 {
    // `User::ALL` has 5 entries, so the index fits in bits 1..=3.
    (User::ALL.iter().position(|u| *u == user).unwrap_or(0) as u8) << 1
}

fn encode_step(step: &Step) -> [u8; 2] {
    match *step {
        Step::SignIn {
            browser,
            user,
            profile: Profile::Valid,
            via: Via::Sp,
        } => [0, browser | user_bits(user)],
        Step::SignIn {
            browser,
            user,
            profile,
            via,
        } => {
            let index = Profile::ALL.iter().position(|p| *p == profile).unwrap_or(0) as u8;
            let via = if via == Via::Idp { 0x80 } else { 0 };
            [4 | (index << 4), browser | user_bits(user) | via]
        }
        Step::Link {
            browser,
            right_password,
        } => [6, browser | if right_password { 0 } else { 2 }],
        Step::SkipLink { browser } => [7, browser],
        Step::AdvanceClock { seconds } => {
            let index = CLOCK_STEPS
                .iter()
                .position(|s| *s >= seconds)
                .unwrap_or(CLOCK_STEPS.len() - 1) as u8;
            [8, index]
        }
        Step::Renew { browser } => [9, browser],
        Step::LogoutSp { browser } => [10, browser],
        Step::LogoutIdp { browser, user } => [11, browser | user_bits(user)],
        Step::Replay { browser, back } => [12, browser | ((back % 4) << 1)],
        Step::IdpSetAccess { user, access } => {
            [13, user_bits(user) | if access { 0x80 } else { 0 }]
        }
        Step::IdpSetGroups { user, groups } => [14 | ((groups % 8) << 4), user_bits(user)],
        Step::IdpRemoveUser { user } => [15, user_bits(user)],
    }
}

/// A browser's name in reports and scenario files.
pub fn browser_name(browser: u8) -> &'static str {
    match browser {
        0 => "main",
        _ => "second",
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::SignIn {
                browser,
                user,
                profile,
                via,
            } => write!(
                f,
                "[{}] sign in as {} ({}, via {:?})",
                browser_name(*browser),
                user.login(),
                profile.name(),
                via
            ),
            Step::Link {
                browser,
                right_password,
            } => write!(
                f,
                "[{}] link with the {} password",
                browser_name(*browser),
                if *right_password { "right" } else { "wrong" }
            ),
            Step::SkipLink { browser } => write!(f, "[{}] skip linking", browser_name(*browser)),
            Step::AdvanceClock { seconds } => write!(f, "advance the clock {seconds} s"),
            Step::Renew { browser } => write!(f, "[{}] renew", browser_name(*browser)),
            Step::LogoutSp { browser } => write!(f, "[{}] sign out", browser_name(*browser)),
            Step::LogoutIdp { browser, user } => write!(
                f,
                "[{}] IdP logs {} out",
                browser_name(*browser),
                user.login()
            ),
            Step::Replay { browser, back } => write!(
                f,
                "[{}] replay response #{back} from the newest",
                browser_name(*browser)
            ),
            Step::IdpSetAccess { user, access } => {
                write!(f, "IdP sets {}'s access to {access}", user.login())
            }
            Step::IdpSetGroups { user, groups } => {
                write!(
                    f,
                    "IdP sets {}'s groups to {:?}",
                    user.login(),
                    group_names(*groups)
                )
            }
            Step::IdpRemoveUser { user } => write!(f, "IdP removes {}", user.login()),
        }
    }
}

/// The names of the groups in the bit set `groups`.
pub fn group_names(groups: u8) -> Vec<&'static str> {
    GROUPS
        .iter()
        .enumerate()
        .filter(|(i, _)| groups & (1 << i) != 0)
        .map(|(_, (name, _))| *name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips() {
        let mut steps = Vec::new();
        for browser in 0..BROWSERS {
            for user in User::ALL {
                for profile in Profile::ALL {
                    for via in [Via::Sp, Via::Idp] {
                        steps.push(Step::SignIn {
                            browser,
                            user,
                            profile,
                            via,
                        });
                    }
                }
                steps.push(Step::LogoutIdp { browser, user });
            }
            steps.extend([
                Step::Link {
                    browser,
                    right_password: true,
                },
                Step::Link {
                    browser,
                    right_password: false,
                },
                Step::SkipLink { browser },
                Step::Renew { browser },
                Step::LogoutSp { browser },
                Step::Replay { browser, back: 3 },
            ]);
        }
        for user in User::ALL {
            steps.extend([
                Step::IdpSetAccess { user, access: true },
                Step::IdpSetAccess {
                    user,
                    access: false,
                },
                Step::IdpSetGroups { user, groups: 5 },
                Step::IdpRemoveUser { user },
            ]);
        }
        for seconds in CLOCK_STEPS {
            steps.push(Step::AdvanceClock { seconds });
        }
        for chunk in steps.chunks(MAX_STEPS) {
            assert_eq!(decode(&encode(chunk)), chunk);
        }
    }
}
