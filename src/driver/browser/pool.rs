//! Chromium sessions started ahead of need and closed behind it: starting Chromium takes over a
//! second and closing it a few hundred milliseconds, far longer than most scenarios' steps. The
//! pool keeps fresh sessions ready (each with its own new profile directory), one more than the
//! scenario browsers ever in use at once (at most [`MOST_READY`]), starts a replacement as soon
//! as one is taken, and closes a finished session in the background.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

use super::{BrowserOptions, Cdp, VIRTUAL_TIMERS, browser_error};
use crate::driver::DriverError;

/// The most sessions kept ready: each idle Chromium holds memory, none holds CPU.
const MOST_READY: usize = 4;
/// How long [`Pool::shutdown`] waits for sessions still starting or closing.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(15);

/// A WebDriver session and the profile directory its Chromium uses.
pub(super) struct Session {
    pub(super) client: Client,
    pub(super) profile: tempfile::TempDir,
}

pub(super) struct Pool {
    chromedriver_url: String,
    state: Mutex<State>,
    changed: tokio::sync::Notify,
}

#[derive(Default)]
struct State {
    /// Started with the default options, never used.
    ready: Vec<Session>,
    starting: usize,
    closing: usize,
    in_use: usize,
    /// The most sessions in use at once so far: one more is kept ready or starting.
    peak: usize,
    /// Scenarios waiting for a session that is starting.
    waiting: usize,
    stopped: bool,
}

impl Pool {
    pub(super) fn new(chromedriver_url: String) -> Arc<Pool> {
        Arc::new(Pool {
            chromedriver_url,
            state: Mutex::new(State::default()),
            changed: tokio::sync::Notify::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A fresh session: a ready one when `options` are the default (waiting for one on its way
    /// rather than starting another), else one started now. Either way a replacement starts in
    /// the background.
    pub(super) async fn take(
        self: &Arc<Self>,
        options: BrowserOptions,
    ) -> Result<Session, DriverError> {
        {
            let mut state = self.state();
            state.in_use += 1;
            state.peak = state.peak.max(state.in_use);
        }
        self.top_up();
        let mut waiting = false;
        while options == BrowserOptions::default() {
            let changed = self.changed.notified();
            {
                let mut state = self.state();
                if waiting {
                    state.waiting -= 1;
                }
                if let Some(session) = state.ready.pop() {
                    return Ok(session);
                }
                // Each waiter counts on its own one of the sessions starting.
                waiting = state.starting > state.waiting;
                if !waiting {
                    break;
                }
                state.waiting += 1;
            }
            changed.await;
        }
        let started = start_session(&self.chromedriver_url, options).await;
        if started.is_err() {
            self.state().in_use -= 1;
        }
        started
    }

    /// Starts sessions in the background until those ready or on their way (and not waited
    /// for) are one more than the most ever in use at once.
    fn top_up(self: &Arc<Self>) {
        let mut state = self.state();
        let target = (state.peak + 1).min(MOST_READY);
        while !state.stopped && state.ready.len() + state.starting < target + state.waiting {
            state.starting += 1;
            let pool = self.clone();
            tokio::spawn(async move {
                let started =
                    start_session(&pool.chromedriver_url, BrowserOptions::default()).await;
                let started = match started {
                    Ok(session) => warm_up(session, &pool.chromedriver_url).await,
                    Err(e) => Err(e),
                };
                let leftover = {
                    let mut state = pool.state();
                    state.starting -= 1;
                    match started {
                        Ok(session) if !state.stopped => {
                            state.ready.push(session);
                            None
                        }
                        Ok(session) => Some(session),
                        // A failed warm-up is not the scenario's failure: `take` starts its own.
                        Err(_) => None,
                    }
                };
                if let Some(session) = leftover {
                    pool.close_in_background(session);
                }
                pool.changed.notify_waiters();
            });
        }
    }

    /// A scenario is done with `session`: it is closed in the background.
    pub(super) fn give_back(self: &Arc<Self>, session: Session) {
        self.state().in_use -= 1;
        self.close_in_background(session);
    }

    fn close_in_background(self: &Arc<Self>, session: Session) {
        self.state().closing += 1;
        let pool = self.clone();
        let close = async move {
            let _ = session.client.close().await;
            // Chromium has exited: its profile can go.
            drop(session.profile);
            pool.state().closing -= 1;
            pool.changed.notify_waiters();
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(close);
            }
            // Outside a runtime (a browser dropped late) chromedriver's stop ends the browser.
            Err(_) => self.state().closing -= 1,
        }
    }

    /// Starts no more sessions, closes the ready ones and waits (up to a deadline) until every
    /// session has closed.
    pub(super) async fn shutdown(self: &Arc<Self>) {
        let ready = {
            let mut state = self.state();
            state.stopped = true;
            std::mem::take(&mut state.ready)
        };
        for session in ready {
            self.close_in_background(session);
        }
        let _ = tokio::time::timeout(SHUTDOWN_DEADLINE, async {
            loop {
                let changed = self.changed.notified();
                {
                    let state = self.state();
                    if state.starting == 0 && state.closing == 0 {
                        return;
                    }
                }
                changed.await;
            }
        })
        .await;
    }
}

/// A first page load while nothing waits for the session: Chromium's network service and first
/// renderer start on it, and a spare renderer is ready for the scenario's first page. The page
/// is chromedriver's own status (loopback; no cookie, nothing the SP or the IdP sees).
async fn warm_up(session: Session, chromedriver_url: &str) -> Result<Session, DriverError> {
    match session
        .client
        .goto(&format!("{chromedriver_url}/status"))
        .await
    {
        Ok(()) => Ok(session),
        Err(e) => {
            let _ = session.client.close().await;
            Err(browser_error("warm-up page")(e))
        }
    }
}

/// Starts Chromium through chromedriver with a new profile and the virtual timers installed.
async fn start_session(
    chromedriver_url: &str,
    options: BrowserOptions,
) -> Result<Session, DriverError> {
    let profile = tempfile::Builder::new()
        .prefix("samlconf-chromium-")
        .tempdir()
        .map_err(|e| DriverError::Browser(format!("no profile directory: {e}")))?;
    let mut chrome = json!({"args": [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage", "--window-size=1000,800",
        format!("--user-data-dir={}", profile.path().display()),
    ]});
    if options.block_popups {
        // chromedriver disables Chromium's pop-up blocker by default; put it back.
        chrome["excludeSwitches"] = json!(["disable-popup-blocking"]);
    }
    let (logging, perf_logging) = super::network::logging_capabilities();
    chrome["perfLoggingPrefs"] = perf_logging;
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), chrome);
    capabilities.insert("goog:loggingPrefs".into(), logging);
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(chromedriver_url)
        .await
        .map_err(|e| {
            DriverError::Browser(format!("cannot start Chromium through chromedriver: {e}"))
        })?;
    let installed = client
        .issue_cmd(Cdp {
            cmd: "Page.addScriptToEvaluateOnNewDocument",
            params: json!({ "source": VIRTUAL_TIMERS }),
        })
        .await
        .map_err(browser_error("cannot install the virtual timers"));
    if let Err(e) = installed {
        let _ = client.close().await;
        return Err(e);
    }
    Ok(Session { client, profile })
}
