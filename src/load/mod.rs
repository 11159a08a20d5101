//! `samlconf load`: full sign-ins (SP → mock IdP → ACS → session) driven at a given concurrency,
//! each by a fresh browser, judged by effect (the SP's `/me` in that browser afterwards), with the
//! latency of each and every refusal by its reason code.

mod cluster;
mod front;
mod serve_process;
mod target;

pub use cluster::Cluster;
pub use front::{Front, NODE_HEADER};
pub use serve_process::{ServeError, ServeOptions, ServeProcess};
pub use target::{LoadTarget, TargetIdp, read_target};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::driver::{HttpDriver, SignInOutcome};

/// What to drive.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub sign_ins: usize,
    pub concurrency: usize,
    /// IdP users signed in round-robin.
    pub users: Vec<String>,
    /// Keep each accepted sign-in's browser (its cookies and the forms it posted), for checks
    /// after the run; off for big runs.
    pub keep_browsers: bool,
    /// Set to stop starting new sign-ins (those under way finish).
    pub stop: Arc<AtomicBool>,
}

impl LoadPlan {
    pub fn new(sign_ins: usize, concurrency: usize, users: Vec<String>) -> LoadPlan {
        LoadPlan {
            sign_ins,
            concurrency,
            users,
            keep_browsers: false,
            stop: Arc::default(),
        }
    }
}

/// How one sign-in ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// Signed in, and `/me` in that browser names the user.
    Accepted,
    /// The SP refused it with this reason code.
    Refused(String),
    /// Anything else: the IdP refused, a link prompt, a transport error, or `/me` disagreeing.
    Broken(String),
}

pub struct Attempt {
    pub index: usize,
    pub user: String,
    pub latency: Duration,
    pub result: AttemptResult,
    /// The browser, when [`LoadPlan::keep_browsers`] and the sign-in was accepted.
    pub browser: Option<HttpDriver>,
}

/// A run's results, attempts in the order they finished.
pub struct LoadReport {
    pub attempts: Vec<Attempt>,
    pub wall: Duration,
}

impl LoadReport {
    pub fn accepted(&self) -> usize {
        self.count(|r| *r == AttemptResult::Accepted)
    }

    fn count(&self, which: impl Fn(&AttemptResult) -> bool) -> usize {
        self.attempts.iter().filter(|a| which(&a.result)).count()
    }

    /// Refusals and breakages, by reason code (breakages under `broken: …`).
    pub fn errors(&self) -> BTreeMap<String, usize> {
        let mut errors = BTreeMap::new();
        for attempt in &self.attempts {
            let key = match &attempt.result {
                AttemptResult::Accepted => continue,
                AttemptResult::Refused(code) => code.clone(),
                AttemptResult::Broken(why) => format!("broken: {why}"),
            };
            *errors.entry(key).or_insert(0) += 1;
        }
        errors
    }

    pub fn per_second(&self) -> f64 {
        let seconds = self.wall.as_secs_f64();
        if seconds > 0.0 {
            self.attempts.len() as f64 / seconds
        } else {
            0.0
        }
    }

    /// The latency at `percent` (nearest rank), over all attempts.
    pub fn latency_percentile(&self, percent: f64) -> Duration {
        let mut latencies: Vec<Duration> = self.attempts.iter().map(|a| a.latency).collect();
        latencies.sort();
        nearest_rank(&latencies, percent)
    }
}

fn nearest_rank(sorted: &[Duration], percent: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Whom the sign-ins are against.
#[derive(Debug, Clone)]
pub enum Against {
    /// The reference SP at this base URL (`samlconf serve`, or a cluster's front).
    ReferenceSp(String),
    /// An SP described by a target file, whose mock IdP ([`TargetIdp`]) is running.
    Target(Arc<LoadTarget>),
}

/// Drives `plan` against the reference SP at `sp_base_url`; `on_done` sees each attempt as it
/// finishes.
pub async fn drive(
    sp_base_url: &str,
    plan: &LoadPlan,
    on_done: impl Fn(&Attempt) + Send + Sync + 'static,
) -> LoadReport {
    drive_against(Against::ReferenceSp(sp_base_url.to_owned()), plan, on_done).await
}

/// Drives `plan` against `against`, as [`drive`].
pub async fn drive_against(
    against: Against,
    plan: &LoadPlan,
    on_done: impl Fn(&Attempt) + Send + Sync + 'static,
) -> LoadReport {
    let next = Arc::new(AtomicUsize::new(0));
    let on_done = Arc::new(on_done);
    let users: Arc<[String]> = plan.users.clone().into();
    let started = Instant::now();
    let workers: Vec<_> = (0..plan.concurrency.max(1))
        .map(|_| {
            let (next, on_done, users) = (next.clone(), on_done.clone(), users.clone());
            let (against, total, keep) = (against.clone(), plan.sign_ins, plan.keep_browsers);
            let stop = plan.stop.clone();
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= total || stop.load(Ordering::Relaxed) {
                        break done;
                    }
                    let user = users[index % users.len().max(1)].clone();
                    let attempt = match &against {
                        Against::ReferenceSp(sp) => sign_in(sp, index, user, keep).await,
                        Against::Target(target) => sign_in_target(target, index, user).await,
                    };
                    on_done(&attempt);
                    done.push(attempt);
                }
            })
        })
        .collect();
    let mut attempts = Vec::with_capacity(plan.sign_ins);
    for worker in workers {
        match worker.await {
            Ok(done) => attempts.extend(done),
            // A worker panicked: the attempts it had made are lost, which the counts show.
            Err(e) => tracing::error!(error = %e, "a load worker stopped"),
        }
    }
    LoadReport {
        attempts,
        wall: started.elapsed(),
    }
}

async fn sign_in(sp: &str, index: usize, user: String, keep: bool) -> Attempt {
    let started = Instant::now();
    let (result, browser) = match HttpDriver::new(sp) {
        Err(e) => (AttemptResult::Broken(e.to_string()), None),
        Ok(browser) => {
            let result = judge(&browser, &user).await;
            let keep = keep && result == AttemptResult::Accepted;
            (result, keep.then_some(browser))
        }
    };
    Attempt {
        index,
        user,
        latency: started.elapsed(),
        result,
        browser,
    }
}

async fn sign_in_target(target: &LoadTarget, index: usize, user: String) -> Attempt {
    let started = Instant::now();
    let result = target::sign_in(target, &user).await;
    Attempt {
        index,
        user,
        latency: started.elapsed(),
        result,
        browser: None,
    }
}

/// Signs `user` in and checks the effect: `/me` in this browser names them.
async fn judge(browser: &HttpDriver, user: &str) -> AttemptResult {
    match browser.sign_in(user, None).await {
        Ok(SignInOutcome::SignedIn { .. }) => match browser.me().await {
            Ok(Some(me)) if me["email"].as_str() == Some(user) => AttemptResult::Accepted,
            Ok(Some(me)) => AttemptResult::Broken(format!("signed in as {}", me["email"])),
            Ok(None) => AttemptResult::Broken("landed, but /me says nobody".into()),
            Err(e) => AttemptResult::Broken(e.to_string()),
        },
        Ok(SignInOutcome::Refused { code, .. }) => AttemptResult::Refused(code),
        Ok(other) => AttemptResult::Broken(format!("{other:?}").chars().take(120).collect()),
        Err(e) => AttemptResult::Broken(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(nearest_rank(&ms, 50.0), Duration::from_millis(50));
        assert_eq!(nearest_rank(&ms, 99.0), Duration::from_millis(99));
        assert_eq!(nearest_rank(&ms, 100.0), Duration::from_millis(100));
        assert_eq!(nearest_rank(&ms[..1], 99.0), Duration::from_millis(1));
        assert_eq!(nearest_rank(&[], 50.0), Duration::ZERO);
    }
}
