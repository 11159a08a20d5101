//! The sign-in lifecycle as a state machine (issue 10): random sequences of sign-ins, linking,
//! clock moves, renewals, logouts, replays, IdP admin changes and a second browser, run against
//! the real SP and mock IdP in process, with the reference model of `samlconf::lifecycle`
//! checked after every step. A failure prints the shrunk sequence as a scenario file.
//!
//! `PROPTEST_CASES` raises the number of cases (default 48 here).

use proptest::prelude::*;
use samlconf::lifecycle::step::{BROWSERS, CLOCK_STEPS};
use samlconf::lifecycle::{self, Profile, Step, User, Via};

fn browser() -> impl Strategy<Value = u8> {
    0..BROWSERS
}

fn user() -> impl Strategy<Value = User> {
    prop::sample::select(User::ALL.to_vec())
}

fn profile() -> impl Strategy<Value = Profile> {
    // Valid sign-ins are the interesting majority; every refused profile still comes up.
    prop_oneof![
        6 => Just(Profile::Valid),
        3 => prop::sample::select(Profile::ALL[1..5].to_vec()),
        2 => prop::sample::select(Profile::ALL[5..].to_vec()),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let via = prop_oneof![3 => Just(Via::Sp), 1 => Just(Via::Idp)];
    prop_oneof![
        8 => (browser(), user(), profile(), via).prop_map(|(browser, user, profile, via)| {
            Step::SignIn { browser, user, profile, via }
        }),
        3 => (browser(), prop::bool::weighted(0.6))
            .prop_map(|(browser, right_password)| Step::Link { browser, right_password }),
        2 => browser().prop_map(|browser| Step::SkipLink { browser }),
        3 => prop_oneof![
            prop::sample::select(CLOCK_STEPS.to_vec()),
            1u32..36_000,
        ]
        .prop_map(|seconds| Step::AdvanceClock { seconds }),
        3 => browser().prop_map(|browser| Step::Renew { browser }),
        2 => browser().prop_map(|browser| Step::LogoutSp { browser }),
        2 => (browser(), user()).prop_map(|(browser, user)| Step::LogoutIdp { browser, user }),
        2 => (browser(), 0u8..4).prop_map(|(browser, back)| Step::Replay { browser, back }),
        1 => (user(), any::<bool>()).prop_map(|(user, access)| Step::IdpSetAccess { user, access }),
        1 => (user(), 0u8..8).prop_map(|(user, groups)| Step::IdpSetGroups { user, groups }),
        1 => user().prop_map(|user| Step::IdpRemoveUser { user }),
    ]
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(48)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        // Shrinking runs whole sequences again; keep it bounded.
        max_shrink_iters: 512,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_lifecycle_model_holds(steps in prop::collection::vec(step(), 1..30)) {
        if let Err(failure) = lifecycle::run_blocking(&steps) {
            prop_assert!(false, "{failure}");
        }
    }
}

/// A hand-written walk through every step kind, so that a model or world change that breaks the
/// common path fails here with a readable sequence before the random cases run.
#[test]
fn a_walk_through_every_step_kind_holds() {
    use Step::*;
    let steps = [
        SignIn {
            browser: 0,
            user: User::Alice,
            profile: Profile::Valid,
            via: Via::Sp,
        },
        SkipLink { browser: 0 },
        SignIn {
            browser: 1,
            user: User::Bob,
            profile: Profile::MissingGroups,
            via: Via::Sp,
        },
        Link {
            browser: 1,
            right_password: false,
        },
        Link {
            browser: 1,
            right_password: true,
        },
        Replay {
            browser: 0,
            back: 0,
        },
        Renew { browser: 0 },
        IdpSetGroups {
            user: User::Alice,
            groups: 0,
        },
        Renew { browser: 0 },
        SignIn {
            browser: 0,
            user: User::Carol,
            profile: Profile::WrongAudience,
            via: Via::Idp,
        },
        IdpSetAccess {
            user: User::Bob,
            access: false,
        },
        SignIn {
            browser: 1,
            user: User::Bob,
            profile: Profile::ShotgunAttributes,
            via: Via::Sp,
        },
        LogoutIdp {
            browser: 1,
            user: User::Alice,
        },
        AdvanceClock { seconds: 3600 },
        LogoutSp { browser: 1 },
        IdpRemoveUser { user: User::Alice },
        Renew { browser: 0 },
        SignIn {
            browser: 0,
            user: User::Alice,
            profile: Profile::Valid,
            via: Via::Sp,
        },
        AdvanceClock { seconds: 28_801 },
    ];
    if let Err(failure) = lifecycle::run_blocking(&steps) {
        panic!("{failure}");
    }
}
