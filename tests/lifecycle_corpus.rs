//! Replays the lifecycle fuzz target's corpus (`fuzz/corpus/lifecycle/*`) through the same
//! decoder and executor as `fuzz/fuzz_targets/lifecycle.rs`, so that a committed regression
//! input fails `cargo test` without libFuzzer. The seeds are written by
//! `cargo test --test lifecycle_corpus -- --ignored write_seed_corpus`.

use std::path::{Path, PathBuf};

use samlconf::lifecycle::step::{self, CLOCK_STEPS};
use samlconf::lifecycle::{self, Profile, Step, User, Via};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/lifecycle")
}

#[test]
fn every_lifecycle_corpus_input_holds() {
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("fuzz/corpus/lifecycle")
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 20, "only {} seeds", inputs.len());
    for input in inputs {
        let bytes = std::fs::read(&input).expect("a corpus input");
        let steps = step::decode(&bytes);
        if let Err(failure) = lifecycle::run_blocking(&steps) {
            panic!("{}: {failure}", input.display());
        }
    }
}

/// Small themes of the lifecycle, each varied by a fixed pseudo-random tail.
fn themes() -> Vec<Vec<Step>> {
    use Step::*;
    let sign_in = |browser, user, profile, via| SignIn {
        browser,
        user,
        profile,
        via,
    };
    vec![
        // First sign-in, skip, renew, sign out.
        vec![
            sign_in(0, User::Alice, Profile::Valid, Via::Sp),
            SkipLink { browser: 0 },
            Renew { browser: 0 },
            LogoutSp { browser: 0 },
        ],
        // Bob links his account, with a wrong password first.
        vec![
            sign_in(0, User::Bob, Profile::MissingGroups, Via::Sp),
            Link {
                browser: 0,
                right_password: false,
            },
            Link {
                browser: 0,
                right_password: true,
            },
            Replay {
                browser: 1,
                back: 0,
            },
        ],
        // Lock-out on the linking page.
        vec![
            sign_in(1, User::Carol, Profile::Valid, Via::Sp),
            Link {
                browser: 1,
                right_password: false,
            },
            Link {
                browser: 1,
                right_password: false,
            },
            Link {
                browser: 1,
                right_password: false,
            },
            Link {
                browser: 1,
                right_password: false,
            },
            Link {
                browser: 1,
                right_password: false,
            },
            Link {
                browser: 1,
                right_password: true,
            },
        ],
        // Two browsers link one identity (regression: scenarios/4-linking/4.9).
        vec![
            sign_in(0, User::Erin, Profile::Valid, Via::Sp),
            sign_in(1, User::Erin, Profile::Valid, Via::Sp),
            Link {
                browser: 0,
                right_password: true,
            },
            Link {
                browser: 1,
                right_password: true,
            },
        ],
        // Two browsers skip for one identity (regression: scenarios/4-linking/4.10).
        vec![
            sign_in(0, User::Dave, Profile::Valid, Via::Idp),
            sign_in(1, User::Dave, Profile::Valid, Via::Sp),
            SkipLink { browser: 1 },
            SkipLink { browser: 0 },
        ],
        // Renewal by another identity linked to the same account, then its IdP logout
        // (regression: scenarios/6-logout/6.31).
        vec![
            sign_in(1, User::Carol, Profile::Valid, Via::Sp),
            Link {
                browser: 1,
                right_password: true,
            },
            sign_in(0, User::Bob, Profile::Valid, Via::Sp),
            sign_in(1, User::Bob, Profile::Valid, Via::Sp),
            Link {
                browser: 0,
                right_password: true,
            },
            Renew { browser: 1 },
            LogoutIdp {
                browser: 1,
                user: User::Bob,
            },
        ],
        // Access revoked at the IdP, then the shotgun profile.
        vec![
            sign_in(0, User::Bob, Profile::ShotgunAttributes, Via::Sp),
            SkipLink { browser: 0 },
            IdpSetAccess {
                user: User::Bob,
                access: false,
            },
            sign_in(0, User::Bob, Profile::ShotgunAttributes, Via::Sp),
            Renew { browser: 0 },
        ],
        // Groups change between sign-ins and renewals.
        vec![
            sign_in(0, User::Carol, Profile::EntraGuidGroups, Via::Sp),
            SkipLink { browser: 0 },
            IdpSetGroups {
                user: User::Carol,
                groups: 0b011,
            },
            Renew { browser: 0 },
            sign_in(1, User::Carol, Profile::Valid, Via::Idp),
        ],
        // Time: the pending link and the session expire.
        vec![
            sign_in(0, User::Alice, Profile::Valid, Via::Sp),
            AdvanceClock { seconds: 601 },
            SkipLink { browser: 0 },
            sign_in(0, User::Alice, Profile::Valid, Via::Sp),
            SkipLink { browser: 0 },
            AdvanceClock { seconds: 28_801 },
            Renew { browser: 0 },
        ],
        // IdP-initiated logout with two browsers of one user.
        vec![
            sign_in(0, User::Dave, Profile::Valid, Via::Sp),
            SkipLink { browser: 0 },
            sign_in(1, User::Dave, Profile::Valid, Via::Sp),
            LogoutIdp {
                browser: 0,
                user: User::Dave,
            },
            Renew { browser: 1 },
        ],
        // Refused profiles and replays of them.
        vec![
            sign_in(0, User::Alice, Profile::Expired, Via::Sp),
            sign_in(1, User::Bob, Profile::XswEvilBefore, Via::Idp),
            sign_in(0, User::Carol, Profile::WrongKey, Via::Sp),
            Replay {
                browser: 1,
                back: 2,
            },
            Replay {
                browser: 0,
                back: 1,
            },
        ],
        // A removed user.
        vec![
            sign_in(0, User::Erin, Profile::SignBoth, Via::Sp),
            SkipLink { browser: 0 },
            IdpRemoveUser { user: User::Erin },
            Renew { browser: 0 },
            sign_in(0, User::Erin, Profile::Valid, Via::Sp),
        ],
    ]
}

/// A fixed linear congruential sequence: the seeds are the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u8 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u8
    }
}

#[test]
#[ignore = "writes fuzz/corpus/lifecycle/; run by hand when the step encoding changes"]
fn write_seed_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).expect("create the corpus dir");
    let mut rng = Lcg(0x05a3_1c0f);
    let mut n = 0;
    for theme in themes() {
        for variant in 0..3 {
            let mut steps = theme.clone();
            // Variant 0 is the theme; the others append a few decoded pseudo-random steps.
            for _ in 0..variant * 3 {
                steps.extend(step::decode(&[rng.next(), rng.next()]));
            }
            if variant == 2 {
                steps.push(Step::AdvanceClock {
                    seconds: CLOCK_STEPS[usize::from(rng.next()) % CLOCK_STEPS.len()],
                });
            }
            if let Err(failure) = lifecycle::run_blocking(&steps) {
                panic!("seed {n} does not hold: {failure}");
            }
            std::fs::write(dir.join(format!("seed-{n:02}")), step::encode(&steps))
                .expect("write a seed");
            n += 1;
        }
    }
}
