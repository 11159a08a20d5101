//! The sign-in lifecycle as a state machine: one step vocabulary ([`Step`]), one reference
//! model ([`model::Model`]) and one executor ([`run`]) shared by the property test
//! (`tests/lifecycle_props.rs`), the corpus replay test (`tests/lifecycle_corpus.rs`) and the
//! libFuzzer target (`fuzz/fuzz_targets/lifecycle.rs`).
//!
//! **The world.** The real reference SP (demo configuration with `account_linking = "prompt"`,
//! an in-memory SQLite store, real xmlsec) and the real mock IdP (demo directory) share one
//! `ManualClock`. Their axum routers are called in process with `tower::ServiceExt::oneshot`
//! ([`browser`]): no sockets, no threads per case. Two browsers, each with its own cookie jar.
//! The SP has one local account, `bob` / `hunter2` with role `editor`, for linking.
//!
//! **The steps.** Sign-in as any demo user (SP- or IdP-initiated) with a valid profile
//! (`valid`, `entra-guid-groups`, `missing-groups`, `shotgun-attributes`, `sign-both`) or one the
//! SP must refuse (`expired`, `wrong-audience`, `unsigned`, `wrong-key`, `wrong-destination`,
//! `authn-failed`, `xsw-evil-before`); link with bob's password, right or wrong; skip linking;
//! advance the clock (1 s to a day); renew; sign out at the SP; IdP-initiated logout; replay one
//! of the last four responses posted to the ACS; IdP admin changes (access flag, groups, user
//! removal).
//!
//! **What the model states**, checked after every step:
//! - each browser's `/me`: signed in exactly when the model says, as the model's user (e-mail,
//!   NameID), with exactly the roles the last sign-in or renewal granted (the image of the
//!   user's IdP groups under the demo mapping: `admins` → `admin` by name, engineering's GUID →
//!   `editor`, else `member`), until the session end the SP announced at sign-in, which lies in
//!   (now, now + `max_session_secs`];
//! - a first sign-in of an identity shows the linking page; linking with the right password
//!   links it to bob's account, skipping provisions one new user; either way the identity's user
//!   never changes afterwards, and the store holds exactly bob plus one user per skip;
//! - a refused profile is refused with its reason code, a revoked `access` (sent by
//!   `shotgun-attributes`) with `access.denied`; a wrong password keeps the linking page until
//!   `max_link_attempts`, then `link.locked_out`; an expired pending link is `link.expired`;
//! - a renewal succeeds exactly when the browser's IdP session is live and belongs to the
//!   session's user; otherwise it ends the session;
//! - signing out ends only that browser's session; an IdP-initiated logout ends exactly the
//!   sessions with that user's NameID and the SessionIndex it names;
//! - a replayed response is never accepted and changes no session;
//! - audit: one `sign_in.accepted` per sign-in and none otherwise, a `*.rejected` event with the
//!   refusal's code, `link.prompted` / `link.password_failed` / `session.renewed` /
//!   `renewal.failed` as the outcome implies, nothing for steps the SP takes no part in;
//! - no answer is a 5xx.
//!
//! **A failure** ([`Failure`]) names the step, what differed, and renders the sequence as a
//! scenario file ([`scenario::render`]): save it as `scenarios/<section>/<id>-<slug>.toml`, fill
//! in the id, title and source, and it runs in the catalogue (`tests/catalogue.rs`). Steps the
//! catalogue's format cannot express (`IdpSetGroups`, a replay of an older response) are
//! rendered as comments.

pub mod browser;
pub mod model;
pub mod scenario;
pub mod step;
pub mod world;

pub use step::{Profile, Step, User, Via};

use model::{Expectation, Model};
use world::World;

/// A sequence that broke the model.
#[derive(Debug, Clone)]
pub struct Failure {
    /// 0-based index of the step after which the model and the SP disagreed.
    pub step: usize,
    pub message: String,
    /// The sequence up to and including that step.
    pub steps: Vec<Step>,
    /// The model's expectation of each of those steps.
    pub expectations: Vec<Expectation>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "step {} ({}): {}",
            self.step + 1,
            self.steps[self.step],
            self.message
        )?;
        writeln!(f, "sequence:")?;
        for (i, step) in self.steps.iter().enumerate() {
            writeln!(f, "  {:>2}. {step}", i + 1)?;
        }
        writeln!(f, "\nas a scenario file:\n")?;
        write!(f, "{}", scenario::render(&self.steps, &self.expectations))
    }
}

/// Runs `steps` in a fresh world, checking the model after each; `Err` at the first
/// disagreement (or a world failure, reported the same way).
pub async fn run(steps: &[Step]) -> Result<(), Failure> {
    let failure = |step: usize, message: String, expectations: &[Expectation]| Failure {
        step,
        message,
        steps: steps[..=step.min(steps.len().saturating_sub(1))].to_vec(),
        expectations: expectations.to_vec(),
    };
    let mut world = World::new()
        .await
        .map_err(|e| failure(0, format!("cannot build the world: {e}"), &[]))?;
    let mut model = Model::new(world::START, world.bob_id);
    let mut expectations = Vec::new();
    // `LIFECYCLE_TRACE=1`: every step, its outcome and what was observed, on stderr.
    let trace = std::env::var_os("LIFECYCLE_TRACE").is_some();
    for (i, step) in steps.iter().enumerate() {
        let facts = world.facts(step);
        let outcome = world
            .run(step)
            .await
            .map_err(|e| failure(i, format!("the step could not run: {e}"), &expectations))?;
        let observed = world
            .observe()
            .await
            .map_err(|e| failure(i, format!("cannot observe: {e}"), &expectations))?;
        if trace {
            eprintln!(
                "{:>2}. {step}\n    → {outcome:?}; {:?}; audit {:?}",
                i + 1,
                observed.me,
                observed.audit
            );
        }
        let mut expectation = Expectation {
            noop: world::is_noop(step, &facts, world.responses.len()),
            ..Expectation::default()
        };
        let checked = model.step(step, &facts, &outcome, &observed, &mut expectation);
        expectations.push(expectation);
        if let Err(message) = checked {
            return Err(failure(
                i,
                format!("{message}\n  (model: {})", model.describe()),
                &expectations,
            ));
        }
    }
    Ok(())
}

/// [`run`] on a fresh current-thread Tokio runtime: what the fuzz target and the tests call.
pub fn run_blocking(steps: &[Step]) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("a Tokio runtime: {e}"));
    runtime.block_on(run(steps))
}
