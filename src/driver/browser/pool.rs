//! Chromium sessions started ahead of need and reused behind it: starting Chromium and loading its
//! first page takes over two seconds (most of it CPU), far longer than most scenarios' steps. The
//! pool keeps one session more than the scenario browsers asking for one (ready, starting, or
//! being reset), and, when a scenario is done with a session, resets it in the background for
//! the next one ([`reset`]) instead of closing it; a session is closed after [`MOST_USES`]
//! scenarios, or when its reset fails. So a run starts about as many Chromiums as it has browsers
//! at once, plus one. Sessions with other options (the pop-up blocker on) are started for their
//! scenario and closed after it.
//!
//! Why a reset isolates like a fresh profile does here: every cookie of the browser is deleted
//! (cookies are scoped by host, not port, so they are what could reach the next scenario's
//! servers); the storage of every origin the browser requested is cleared (the next scenario's
//! servers are on new ports, other origins anyway), and the HTTP cache; every window and tab is
//! closed, the next scenario getting a new tab (its own history, `window.name` and session
//! storage); the network log is drained. What a fresh profile would also reset and a reset does
//! not (HSTS, site permissions) no server of a pair sets. A browser context per scenario
//! (`Target.createBrowserContext`) would be the stronger isolation, but chromedriver refuses it
//! through `goog/cdp/execute` ("Not allowed": it is a browser-level command). The test
//! `a_reused_browser_keeps_nothing_of_the_last_scenario` (tests/browser_isolation.rs) checks it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use fantoccini::wd::WindowHandle;
use fantoccini::{Client, ClientBuilder};
use serde_json::json;

use super::{
    BrowserOptions, CALL_DEADLINE, COMMAND_TIMEOUTS, Cdp, ReadLog, VIRTUAL_TIMERS, within,
};
use crate::driver::DriverError;

/// How many scenarios one Chromium serves before it is closed (a long run's browser does not
/// grow without bound).
const MOST_USES: u32 = 40;
/// How long [`Pool::shutdown`] waits for sessions still starting or closing.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(15);

/// A WebDriver session and the profile directory its Chromium uses.
pub(super) struct Session {
    pub(super) client: Client,
    /// A tab that never loads a page, from which [`reset`] works: chromedriver makes every
    /// command on a window wait while that window loads a page (up to the page-load timeout;
    /// CDP commands and opening a new window too), and a scenario can end with its page still
    /// loading, from a server that will never answer. Switching to another window and closing
    /// one do not wait. Not one of the scenario's windows (`BrowserDriver::windows`).
    pub(super) control: WindowHandle,
    pub(super) profile: tempfile::TempDir,
    options: BrowserOptions,
    /// Scenarios served so far.
    uses: u32,
    /// The origins whose storage the next reset clears (`scheme://host:port`).
    pub(super) origins: BTreeSet<String>,
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
    /// Given back, being reset for the next scenario.
    resetting: usize,
    closing: usize,
    /// Browsers (with the default options) that asked for a session and have not given it back.
    in_use: usize,
    /// Sessions (with the default options) handed out and not given back.
    held: usize,
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
    /// rather than starting another, and a spare started in the background), else one started
    /// now.
    pub(super) async fn take(
        self: &Arc<Self>,
        options: BrowserOptions,
    ) -> Result<Session, DriverError> {
        if options != BrowserOptions::default() {
            return start_session(&self.chromedriver_url, options)
                .await
                .map(|mut session| {
                    session.uses += 1;
                    session
                });
        }
        self.state().in_use += 1;
        self.top_up();
        let mut waiting = false;
        loop {
            let changed = self.changed.notified();
            {
                let mut state = self.state();
                if waiting {
                    state.waiting -= 1;
                }
                if let Some(mut session) = state.ready.pop() {
                    session.uses += 1;
                    state.held += 1;
                    return Ok(session);
                }
                // Each waiter counts on its own one of the sessions starting or being reset.
                waiting = state.starting + state.resetting > state.waiting;
                if !waiting {
                    break;
                }
                state.waiting += 1;
            }
            changed.await;
        }
        let started = start_session(&self.chromedriver_url, options).await;
        let mut state = self.state();
        match started {
            Ok(mut session) => {
                session.uses += 1;
                state.held += 1;
                Ok(session)
            }
            Err(e) => {
                state.in_use -= 1;
                Err(e)
            }
        }
    }

    /// Starts sessions in the background until those ready or on their way are one more than
    /// the browsers asking for one.
    fn top_up(self: &Arc<Self>) {
        let mut state = self.state();
        while !state.stopped
            && state.ready.len() + state.starting + state.resetting < state.in_use - state.held + 1
        {
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

    /// A scenario is done with `session`: it is reset in the background for the next one (or
    /// closed: a session started with other options, used [`MOST_USES`] times, or one whose
    /// reset failed).
    pub(super) fn give_back(self: &Arc<Self>, session: Session) {
        let runtime = tokio::runtime::Handle::try_current();
        let reuse = {
            let mut state = self.state();
            let default = session.options == BrowserOptions::default();
            if default {
                state.in_use -= 1;
                state.held -= 1;
            }
            let reuse = runtime.is_ok() && !state.stopped && default && session.uses < MOST_USES;
            if reuse {
                state.resetting += 1;
            }
            reuse
        };
        let (true, Ok(runtime)) = (reuse, runtime) else {
            self.close_in_background(session);
            return;
        };
        let pool = self.clone();
        runtime.spawn(async move {
            let reset = reset(session, &pool.chromedriver_url).await;
            let leftover = {
                let mut state = pool.state();
                state.resetting -= 1;
                match reset {
                    Ok(session) if !state.stopped => {
                        state.ready.push(session);
                        None
                    }
                    Ok(session) => Some(session),
                    Err(session) => Some(session),
                }
            };
            if let Some(session) = leftover {
                pool.close_in_background(session);
            }
            // Also when the reset failed: a scenario waiting for this session starts its own
            // now, not once the close is done.
            pool.changed.notify_waiters();
        });
    }

    fn close_in_background(self: &Arc<Self>, session: Session) {
        self.state().closing += 1;
        let pool = self.clone();
        let close = async move {
            // Bounded: a hung session is ended with chromedriver at the run's end.
            let _ = tokio::time::timeout(CALL_DEADLINE, session.client.close()).await;
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
                    if state.starting == 0 && state.resetting == 0 && state.closing == 0 {
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
    let status = format!("{chromedriver_url}/status");
    match within("goto (warm-up page)", &status, session.client.goto(&status)).await {
        Ok(()) => Ok(session),
        Err(e) => {
            let _ = tokio::time::timeout(CALL_DEADLINE, session.client.close()).await;
            Err(e)
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
    // Third-party cookies allowed, as in a default desktop Chromium: the renewal iframe is
    // cross-site over HTTPS, and headless Chromium blocks them otherwise (1.45's renewal).
    chrome["prefs"] = json!({
        "profile.cookie_controls_mode": 0,
        "profile.block_third_party_cookies": false,
    });
    if options.block_popups {
        // chromedriver disables Chromium's pop-up blocker by default; put it back.
        chrome["excludeSwitches"] = json!(["disable-popup-blocking"]);
    }
    // The run's HTTPS servers (`https = true` scenarios) present the run CA's server
    // certificate: trusted by its key, which Chromium honours only with a `--user-data-dir`.
    if let Ok(ca) = crate::tls::run_ca()
        && let Some(args) = chrome["args"].as_array_mut()
    {
        args.push(json!(format!(
            "--ignore-certificate-errors-spki-list={}",
            ca.server_spki_sha256
        )));
    }
    let (logging, perf_logging) = super::network::logging_capabilities();
    chrome["perfLoggingPrefs"] = perf_logging;
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), chrome);
    capabilities.insert("goog:loggingPrefs".into(), logging);
    let (page_load, script) = COMMAND_TIMEOUTS;
    capabilities.insert(
        "timeouts".into(),
        json!({ "pageLoad": page_load, "script": script }),
    );
    let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
    let connect = builder.capabilities(capabilities).connect(chromedriver_url);
    // Chromium's start is the slowest call (seconds on a loaded machine): twice the deadline.
    let client = match tokio::time::timeout(2 * CALL_DEADLINE, connect).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => {
            return Err(DriverError::Browser(format!(
                "cannot start Chromium through chromedriver: {e}"
            )));
        }
        Err(_) => {
            return Err(DriverError::Browser(format!(
                "Chromium did not start through chromedriver within {} s",
                (2 * CALL_DEADLINE).as_secs()
            )));
        }
    };
    let installed = within(
        "CDP Page.addScriptToEvaluateOnNewDocument (the virtual timers)",
        "a new session",
        client.issue_cmd(Cdp {
            cmd: "Page.addScriptToEvaluateOnNewDocument",
            params: json!({ "source": VIRTUAL_TIMERS }),
        }),
    )
    .await;
    let control = match (installed, control_tab(&client).await) {
        (Ok(_), Ok(control)) => control,
        (Err(e), _) | (_, Err(e)) => {
            let _ = tokio::time::timeout(CALL_DEADLINE, client.close()).await;
            return Err(e);
        }
    };
    Ok(Session {
        client,
        control,
        profile,
        options,
        uses: 0,
        origins: BTreeSet::new(),
    })
}

/// Opens the session's control tab (see [`Session::control`]) beside its first one, which stays
/// the current window.
async fn control_tab(client: &Client) -> Result<WindowHandle, DriverError> {
    let page = "a new session";
    let first = within("window", page, client.window()).await?;
    let control = within("new window (control tab)", page, client.new_window(true))
        .await?
        .handle;
    within("switch to window", page, client.switch_to_window(first)).await?;
    Ok(control)
}

/// Makes a used session as good as a fresh one for the next scenario (see the module's
/// comment): a new tab, every other window closed, every cookie deleted, the storage of the
/// origins it requested and the HTTP cache cleared, the virtual timers installed in the new tab,
/// the network log drained, and a first page loaded. The session back when that failed, to be
/// closed.
async fn reset(mut session: Session, chromedriver_url: &str) -> Result<Session, Session> {
    let outcome: Result<(), DriverError> = async {
        let client = &session.client;
        let control = session.control.clone();
        // Only commands that do not wait for a window's page load until the scenario's windows
        // are closed (see `Session::control`).
        let page = "a scenario's last page";
        let old = within("windows (reset)", page, client.windows()).await?;
        if !old.contains(&control) {
            return Err(DriverError::Browser("the control tab is gone".into()));
        }
        for window in old.into_iter().filter(|w| *w != control) {
            within(
                "switch to window (reset)",
                page,
                client.switch_to_window(window),
            )
            .await?;
            within("close window (reset)", page, client.close_window()).await?;
        }
        let page = "the control tab";
        within(
            "switch to window (reset)",
            page,
            client.switch_to_window(control),
        )
        .await?;
        let tab = within("new window (reset)", page, client.new_window(true))
            .await?
            .handle;
        let page = "a new tab";
        within(
            "switch to window (reset)",
            page,
            client.switch_to_window(tab),
        )
        .await?;
        let cdp =
            |cmd: &'static str, params| within(cmd, page, client.issue_cmd(Cdp { cmd, params }));
        cdp("Network.clearBrowserCookies", json!({})).await?;
        // The log's last entries name origins too.
        let log = within(
            "read the network log (reset)",
            page,
            client.issue_cmd(ReadLog {
                kind: "performance",
            }),
        )
        .await?;
        session.origins.extend(super::network::origins(&log));
        for origin in std::mem::take(&mut session.origins) {
            cdp(
                "Storage.clearDataForOrigin",
                json!({ "origin": origin, "storageTypes": "all" }),
            )
            .await?;
        }
        cdp("Network.clearBrowserCache", json!({})).await?;
        cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": VIRTUAL_TIMERS }),
        )
        .await?;
        let status = format!("{chromedriver_url}/status");
        within("goto (reset)", &status, client.goto(&status)).await?;
        // The warm-up page's own requests are no scenario's.
        within(
            "read the network log (reset)",
            &status,
            client.issue_cmd(ReadLog {
                kind: "performance",
            }),
        )
        .await?;
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => Ok(session),
        Err(e) => {
            // Not a scenario's failure (the session is closed, the next scenario gets another),
            // but worth seeing when a run is slow.
            tracing::warn!(error = %e, "a browser session's reset failed; it is closed");
            Err(session)
        }
    }
}
