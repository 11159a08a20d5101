//! The browser driver: headless Chromium through chromedriver (WebDriver, with fantoccini), one
//! session with a fresh profile per scenario browser, driven as a person would: the IdP's login
//! page is clicked, the SP's forms are typed into, auto-submitting forms are left to the browser.
//! Outcomes are judged by effect like the HTTP driver's: who is signed in is read from the SP's
//! `/me` in that browser.
//!
//! Time: the page's JavaScript timers of a second or more are virtual (see [`VIRTUAL_TIMERS`]):
//! a `renew` step fires the renewal timer instead of waiting for it.

use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use super::{DriverError, PostForm, RenewOutcome, SignInOutcome, Visited};

mod network;
mod pool;

/// What `--driver` and the reports call this implementation.
pub const NAME: &str = "browser";

/// What to install when Chromium or chromedriver is missing.
pub const INSTALL_HINT: &str = "install Chromium and chromedriver: `.ci/install-deps chromium chromium-driver` \
     (or `apt-get install chromium chromium-driver`)";

/// How long one page may take to settle (every hop of a sign-in, say) before the step errors.
const PAGE_DEADLINE: Duration = Duration::from_secs(20);
/// How long one WebDriver call may take (see [`within`]); chromedriver's page-load and script
/// timeouts ([`COMMAND_TIMEOUTS`]) are shorter, so that it answers with its own error first.
const CALL_DEADLINE: Duration = Duration::from_secs(15);
/// chromedriver's timeouts for the session, in milliseconds: page loads and scripts here take
/// milliseconds, so a wait of seconds is a hang, reported well within the scenario's timeout.
const COMMAND_TIMEOUTS: (u64, u64) = (10_000, 10_000);
/// How long a signed-out page's script gets to close the site's other windows.
const WINDOW_GRACE: Duration = Duration::from_secs(2);
/// How long the first wait for a page to change is; each next one is twice as long, up to
/// [`POLL_MAX`]: most hops take a few milliseconds, a signature check or a slow machine more.
const POLL_FIRST: Duration = Duration::from_millis(4);
const POLL_MAX: Duration = Duration::from_millis(64);

/// The waits between looks at a page that is changing.
struct Backoff(Duration);

impl Backoff {
    fn new() -> Backoff {
        Backoff(POLL_FIRST)
    }

    async fn wait(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(POLL_MAX);
    }
}

/// Installed in every document before its own scripts: timers of a second or more never run on
/// their own; `__samlconf.fire(kind)` runs them (`interval`: the repeating ones, once; `timeout`:
/// the one-shot ones) as if that much time had passed. Shorter timers keep real time (they are
/// a page's own plumbing, not the intervals a scenario moves through). Renewal messages the page
/// receives are counted in `__samlconf.renewals`.
const VIRTUAL_TIMERS: &str = r#"(() => {
  const realTimeout = window.setTimeout.bind(window), realInterval = window.setInterval.bind(window);
  const realClearTimeout = window.clearTimeout.bind(window), realClearInterval = window.clearInterval.bind(window);
  const timers = new Map(); let next = 1e9;
  const virtual = (repeat) => (fn, ms, ...args) => {
    if (!(Number(ms) >= 1000) || typeof fn !== "function") return (repeat ? realInterval : realTimeout)(fn, ms, ...args);
    const id = next++; timers.set(id, { fn, args, repeat }); return id;
  };
  const clear = (real) => (id) => { if (timers.has(id)) timers.delete(id); else real(id); };
  window.setTimeout = virtual(false); window.setInterval = virtual(true);
  window.clearTimeout = clear(realClearTimeout); window.clearInterval = clear(realClearInterval);
  const state = { renewals: [], fire(kind) {
    let fired = 0;
    for (const [id, t] of [...timers]) {
      if (t.repeat !== (kind === "interval")) continue;
      if (!t.repeat) timers.delete(id);
      fired++; t.fn(...t.args);
    }
    return fired;
  }, pending(kind) { return [...timers.values()].filter((t) => t.repeat === (kind === "interval")).length; } };
  window.__samlconf = state;
  window.addEventListener("message", (event) => {
    if (event.data && event.data.samlconf === "renewal") state.renewals.push(event.data);
  });
})();"#;

/// The running chromedriver that every browser session of a run talks to, with its pool of
/// sessions started ahead of need.
pub struct Chromedriver {
    child: Mutex<Option<Child>>,
    pool: Arc<pool::Pool>,
}

impl Chromedriver {
    /// Starts chromedriver on a free loopback port and waits until it answers. Fails with what
    /// to install when chromium or chromedriver is missing.
    pub async fn start() -> Result<Chromedriver, DriverError> {
        for program in ["chromium", "chromedriver"] {
            if !on_path(program) {
                return Err(DriverError::Browser(format!(
                    "`{program}` is not installed: {INSTALL_HINT}"
                )));
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| DriverError::Browser(format!("no free port for chromedriver: {e}")))?
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            // Its own process group, so that stopping it also stops the Chromiums it started,
            // which would otherwise outlive a SIGKILLed chromedriver (a panicking test).
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                DriverError::Browser(format!("cannot start chromedriver ({e}): {INSTALL_HINT}"))
            })?;
        let driver = Chromedriver {
            child: Mutex::new(Some(child)),
            pool: pool::Pool::new(format!("http://127.0.0.1:{port}")),
        };
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if started.elapsed() > PAGE_DEADLINE {
                return Err(DriverError::Browser(format!(
                    "chromedriver did not listen on port {port} within {} s",
                    PAGE_DEADLINE.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(driver)
    }

    /// Closes the browsers (the ready ones, and waits for those closing), then stops
    /// chromedriver.
    pub async fn shutdown(&self) {
        self.pool.shutdown().await;
        self.stop();
    }

    /// Stops chromedriver at once (Ctrl-C; after [`shutdown`](Self::shutdown) no browser is
    /// left running); also on drop.
    pub fn stop(&self) {
        let mut child = self
            .child
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(mut child) = child.take() {
            // The group `process_group(0)` made, named by chromedriver's pid.
            if let Some(group) = i32::try_from(child.id())
                .ok()
                .and_then(rustix::process::Pid::from_raw)
            {
                let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        self.stop();
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// How a scenario's browser is started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BrowserOptions {
    /// Chromium's pop-up blocker on (chromedriver turns it off by default).
    pub block_popups: bool,
}

/// One browser: a WebDriver session with its own profile (cookies, storage). Dropping it hands
/// the session back to be closed in the background.
pub struct BrowserDriver {
    client: Client,
    sp_base_url: String,
    session: Option<pool::Session>,
    pool: Arc<pool::Pool>,
    /// The forms this browser posted and the URLs carrying SAML messages it requested, oldest
    /// first, as read from the network log so far.
    posted: Mutex<Vec<PostForm>>,
    redirected: Mutex<Vec<String>>,
    /// The origins this browser requested, whose storage is cleared before its Chromium serves
    /// another scenario.
    origins: Mutex<std::collections::BTreeSet<String>>,
    /// The last page the browser was known to be on, for the errors of WebDriver calls.
    page: Mutex<String>,
    /// The base URLs of the SP's other nodes.
    other_nodes: Vec<String>,
}

impl Drop for BrowserDriver {
    fn drop(&mut self) {
        if let Some(mut session) = self.session.take() {
            let origins = std::mem::take(
                &mut *self
                    .origins
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            session.origins.extend(origins);
            session
                .origins
                .extend(network::request_origin(&self.sp_base_url));
            self.pool.give_back(session);
        }
    }
}

/// `call` (a WebDriver command, named `what`) given at most [`CALL_DEADLINE`]: chromedriver's own
/// page-load and script timeouts bound most commands, this bounds every one (a command can also
/// wait on a navigation chromedriver tracks, or on chromedriver itself). The error names the call
/// and `page`, the last page the browser was known to be on.
async fn within<T>(
    what: &str,
    page: &str,
    call: impl std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
) -> Result<T, DriverError> {
    match tokio::time::timeout(CALL_DEADLINE, call).await {
        Ok(answer) => answer.map_err(|e| DriverError::Browser(format!("{what} (at {page}): {e}"))),
        Err(_) => Err(DriverError::Browser(format!(
            "the WebDriver call {what} did not answer within {} s (at {page})",
            CALL_DEADLINE.as_secs()
        ))),
    }
}

impl BrowserDriver {
    /// A fresh browser (new profile) for a scenario on the SP at `sp_base_url`: one the pool
    /// started ahead of time when it has one.
    pub async fn start(
        chromedriver: &Chromedriver,
        sp_base_url: &str,
        options: BrowserOptions,
    ) -> Result<BrowserDriver, DriverError> {
        let session = chromedriver.pool.take(options).await?;
        Ok(BrowserDriver {
            client: session.client.clone(),
            sp_base_url: sp_base_url.trim_end_matches('/').to_owned(),
            session: Some(session),
            pool: chromedriver.pool.clone(),
            posted: Mutex::default(),
            redirected: Mutex::default(),
            origins: Mutex::default(),
            page: Mutex::new("a new tab".to_owned()),
            other_nodes: Vec::new(),
        })
    }

    fn sp_url(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("{}{path}", self.sp_base_url)
        } else {
            path.to_owned()
        }
    }

    /// Whether `url` is on the SP: its base URL, or another node's ([`also_sp`](Self::also_sp)).
    fn on_sp(&self, url: &str) -> bool {
        let Ok(url) = url::Url::parse(url) else {
            return false;
        };
        std::iter::once(&self.sp_base_url)
            .chain(&self.other_nodes)
            .filter_map(|base| url::Url::parse(base).ok())
            .any(|base| base.origin() == url.origin())
    }

    /// Another node of the same SP at `base_url` (one configuration and store): its pages are
    /// the SP's pages, read as such (a replay posted to node 2 is refused by the SP).
    pub fn also_sp(&mut self, base_url: &str) {
        self.other_nodes
            .push(base_url.trim_end_matches('/').to_owned());
    }

    /// A WebDriver call, bounded (see [`within`]); its error names `what` and the page.
    async fn wd<T>(
        &self,
        what: &str,
        call: impl std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
    ) -> Result<T, DriverError> {
        let page = self.last_page();
        within(what, &page, call).await
    }

    /// The last page the browser was known to be on (settled, or being opened).
    fn last_page(&self) -> String {
        self.page
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_page(&self, url: &str) {
        *self
            .page
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = url.to_owned();
    }

    async fn script(&self, script: &str, args: Vec<Value>) -> Result<Value, DriverError> {
        self.wd("execute (script)", self.client.execute(script, args))
            .await
    }

    /// Opens `url` (a path on the SP or absolute) and waits until the page settles.
    async fn goto(&self, url: &str) -> Result<Page, DriverError> {
        self.navigate(&self.sp_url(url)).await?;
        self.settle().await
    }

    /// WebDriver's navigation to `url` (absolute).
    async fn navigate(&self, url: &str) -> Result<(), DriverError> {
        self.set_page(url);
        self.wd("goto", self.client.goto(url)).await
    }

    /// Marks the current document, so that [`settle`](Self::settle) waits for the next one.
    async fn mark(&self) -> Result<(), DriverError> {
        self.script("window.__samlconf_left = true;", vec![])
            .await
            .map(|_| ())
    }

    /// Clicks `css` in a marked document and waits until the next page settles.
    async fn click_and_settle(&self, css: &str) -> Result<Page, DriverError> {
        self.mark().await?;
        let element = self
            .wd(&format!("find {css}"), self.client.find(Locator::Css(css)))
            .await?;
        self.wd(&format!("click {css}"), element.click()).await?;
        self.settle().await
    }

    /// Waits until the browser shows a loaded page that is not an auto-submitting form on its way
    /// (the browser posts those itself, unless [`HOLD_ANSWER`] held it) and not a marked (left)
    /// document; returns it.
    async fn settle(&self) -> Result<Page, DriverError> {
        let started = Instant::now();
        let mut backoff = Backoff::new();
        loop {
            let state = self
                .script(
                    r#"const nav = performance.getEntriesByType("navigation")[0];
const ready = document.readyState === "complete" && !window.__samlconf_left
  && (!document.getElementById("saml-post") || window.__samlconf_held === true);
return { ready, url: location.href, status: nav ? nav.responseStatus : 0,
         html: ready ? document.documentElement.outerHTML : "" };"#,
                    vec![],
                )
                .await;
            // A script can fail while a navigation replaces the document: poll again.
            if let Ok(state) = state
                && state["ready"] == true
            {
                let mut url = state["url"].as_str().unwrap_or_default().to_owned();
                if url.starts_with("chrome-error:") {
                    // Chromium's own error page (for an error status with an empty body): the
                    // URL that failed is WebDriver's.
                    url = self
                        .wd("current URL", self.client.current_url())
                        .await?
                        .to_string();
                }
                self.set_page(&url);
                return Ok(Page {
                    status: state["status"].as_u64().unwrap_or(0) as u16,
                    url,
                    body: state["html"].as_str().unwrap_or_default().to_owned(),
                });
            }
            if started.elapsed() > PAGE_DEADLINE {
                let url = self
                    .wd("current URL", self.client.current_url())
                    .await
                    .map(String::from);
                return Err(super::unexpected(
                    "browser",
                    format!(
                        "the page did not settle within {} s (at {url:?})",
                        PAGE_DEADLINE.as_secs()
                    ),
                ));
            }
            backoff.wait().await;
        }
    }

    async fn exists(&self, css: &str) -> Result<bool, DriverError> {
        Ok(!self
            .wd(
                &format!("find all {css}"),
                self.client.find_all(Locator::Css(css)),
            )
            .await?
            .is_empty())
    }

    /// The text (as rendered, trimmed) of the first element matching each of `css` in the
    /// current document, in one script.
    async fn texts<const N: usize>(
        &self,
        css: &[&str; N],
    ) -> Result<[Option<String>; N], DriverError> {
        let found = self
            .script(
                r#"return arguments[0].map((css) => {
  const element = document.querySelector(css);
  return element ? element.innerText.trim() : null;
});"#,
                vec![json!(css.as_slice())],
            )
            .await?;
        Ok(std::array::from_fn(|i| {
            found[i].as_str().map(str::to_owned)
        }))
    }

    /// SP-initiated: opens `path` (`/login?…`) and, on the IdP's login page, clicks `login`.
    pub async fn sign_in(&self, path: &str, login: &str) -> Result<SignInOutcome, DriverError> {
        let page = self.goto(path).await?;
        self.through_login_page(page, login).await
    }

    /// The IdP's login page if the browser is on it: click `login`'s button; then the verdict.
    async fn through_login_page(
        &self,
        page: Page,
        login: &str,
    ) -> Result<SignInOutcome, DriverError> {
        let button = format!("button[name=\"user\"][value=\"{}\"]", css_string(login));
        let page = if !self.on_sp(&page.url) && self.exists(&button).await? {
            self.click_and_settle(&button).await?
        } else {
            page
        };
        self.verdict(page).await
    }

    /// IdP-initiated: opens the mock IdP's `/idp-initiated` URL; the browser posts its answer.
    pub async fn sign_in_idp_initiated(&self, url: &str) -> Result<SignInOutcome, DriverError> {
        let page = self.goto(url).await?;
        self.verdict(page).await
    }

    /// Follows an invitation link, then the IdP's login page as `login`.
    pub async fn accept_invitation(
        &self,
        path: &str,
        login: &str,
    ) -> Result<SignInOutcome, DriverError> {
        self.sign_in(path, login).await
    }

    /// Reads a settled page as a sign-in's verdict, as a person reads it.
    async fn verdict(&self, page: Page) -> Result<SignInOutcome, DriverError> {
        if !self.on_sp(&page.url) {
            return Ok(SignInOutcome::IdpRefused {
                status: page.status,
                body: page.body,
            });
        }
        // One look at the page for everything a person reads on it.
        let texts = self
            .texts(&[
                "#reason-code",
                "div.error p",
                "#refusal-detail",
                "form#link-form",
                "div.error",
                "#test-sign-in-report",
            ])
            .await?;
        let [code, message, detail, link_form, error, test_report] = texts;
        if test_report.is_some() {
            return Ok(SignInOutcome::Tested { page: page.body });
        }
        if let Some(code) = code {
            return Ok(SignInOutcome::Refused {
                status: page.status,
                code,
                message: message.unwrap_or_default(),
                detail: detail.unwrap_or_default(),
            });
        }
        let generic_failure = SignInOutcome::Refused {
            status: page.status,
            code: String::new(),
            message: message.unwrap_or_default(),
            detail: String::new(),
        };
        if link_form.is_some() {
            return Ok(SignInOutcome::LinkPrompt { page: page.body });
        }
        if error.is_some() {
            // A generic failure page: no code shown (the oracle reads the audit log).
            return Ok(generic_failure);
        }
        match self.me().await? {
            // The landing page itself may not exist (a deep link): being signed in is the effect.
            Some(me) => Ok(SignInOutcome::SignedIn {
                landing: page.url,
                me,
            }),
            None if page.status >= 400 => Ok(generic_failure),
            None => Err(super::unexpected(
                "browser",
                format!("landed on {} ({}) signed out", page.url, page.status),
            )),
        }
    }

    /// On the SP's linking page (opened if the browser is elsewhere): type the password (and the
    /// username where the page asks for one) and submit.
    pub async fn link_account(
        &self,
        username: Option<&str>,
        password: &str,
    ) -> Result<SignInOutcome, DriverError> {
        let page = self.on_link_page().await?;
        if !self.exists("form#link-form input[name=password]").await? {
            // Nothing to type into (no pending link, or the link is locked): the page is the
            // answer.
            return self.verdict(page).await;
        }
        if let Some(username) = username
            && self.exists("form#link-form input[name=username]").await?
        {
            self.type_into("form#link-form input[name=username]", username)
                .await?;
        }
        self.type_into("form#link-form input[name=password]", password)
            .await?;
        let page = self
            .click_and_settle("form#link-form button[type=submit]")
            .await?;
        self.verdict(page).await
    }

    /// On the SP's linking page: the skip button.
    pub async fn skip_linking(&self) -> Result<SignInOutcome, DriverError> {
        let page = self.on_link_page().await?;
        if !self.exists("form#skip-form button[type=submit]").await? {
            return self.verdict(page).await;
        }
        let page = self
            .click_and_settle("form#skip-form button[type=submit]")
            .await?;
        self.verdict(page).await
    }

    /// The linking page: the current one, or `/link` opened.
    async fn on_link_page(&self) -> Result<Page, DriverError> {
        if self.exists("form#link-form").await? {
            return self.current().await;
        }
        self.goto("/link").await
    }

    /// The current page as it is.
    async fn current(&self) -> Result<Page, DriverError> {
        self.settle().await
    }

    async fn type_into(&self, css: &str, text: &str) -> Result<(), DriverError> {
        let field = self
            .wd(&format!("find {css}"), self.client.find(Locator::Css(css)))
            .await?;
        self.wd(&format!("clear {css}"), field.clear()).await?;
        self.wd(&format!("send keys to {css}"), field.send_keys(text))
            .await
    }

    /// The recovery password login page (`/login?sso=false`), typed into and submitted.
    /// Opens a password-setup link, types the password and submits, as a person would.
    pub async fn set_password(
        &self,
        path: &str,
        password: &str,
    ) -> Result<super::PasswordSetOutcome, DriverError> {
        let page = self.goto(path).await?;
        let form = "form#password-setup-form";
        let page = if self.exists(form).await? {
            self.type_into(&format!("{form} input[name=password]"), password)
                .await?;
            self.click_and_settle(&format!("{form} button[type=submit]"))
                .await?
        } else {
            page
        };
        if self.exists("#password-set").await? {
            return Ok(super::PasswordSetOutcome::Set);
        }
        let [code] = self.texts(&["#reason-code"]).await?;
        let code = code.ok_or_else(|| {
            super::unexpected(
                "password setup",
                format!("{} ({}) shows no reason code", page.url, page.status),
            )
        })?;
        Ok(super::PasswordSetOutcome::Refused {
            status: page.status,
            code,
        })
    }

    pub async fn recovery_login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<SignInOutcome, DriverError> {
        self.goto("/login?sso=false").await?;
        let form = "form[action=\"/login/password\"]";
        self.type_into(&format!("{form} input[name=username]"), username)
            .await?;
        self.type_into(&format!("{form} input[name=password]"), password)
            .await?;
        let page = self
            .click_and_settle(&format!("{form} button[type=submit]"))
            .await?;
        self.verdict(page).await
    }

    /// Signs out like a person: `/logout` shows the confirmation, whose button is clicked; the
    /// browser follows the redirects (to the IdP's `/slo` and back). Without a session the
    /// confirmation page is the result.
    pub async fn sign_out(&self) -> Result<Visited, DriverError> {
        let page = self.goto("/logout").await?;
        let button = "form[action=\"/logout\"] button[type=submit]";
        if !self.exists(button).await? {
            return Ok(page.visited());
        }
        let page = self.click_and_settle(button).await?;
        // The signed-out page tells the site's other windows (a renewal window closes itself):
        // give its script a moment to be heard.
        let started = Instant::now();
        let mut backoff = Backoff::new();
        while self.windows().await? > 1 && started.elapsed() < WINDOW_GRACE {
            backoff.wait().await;
        }
        Ok(page.visited())
    }

    /// Opens `url` (e.g. an IdP's LogoutRequest URL) and waits for the last page.
    pub async fn visit(&self, url: &str) -> Result<Visited, DriverError> {
        Ok(self.goto(url).await?.visited())
    }

    /// What the home page's renewal timer does, with its interval passed in virtual time: the
    /// hidden iframe (or, when no answer comes because the IdP refused to be framed, the renewal
    /// window, or the page's message when pop-ups are blocked). Judged by what the page got: a
    /// renewal message, or the failure it navigates to.
    pub async fn renew(&self) -> Result<BrowserRenewal, DriverError> {
        let url = self.wd("current URL", self.client.current_url()).await?;
        if !self.on_sp(url.as_str()) || url.path() != "/" || url.query().is_some() {
            self.goto("/").await?;
        }
        // The mark tells this document from the one the page may navigate to (a failure).
        let fired = self
            .script(
                // Only the answers to this renewal count, not an earlier one's in the same page.
                r#"window.__samlconf_renewing = window.__samlconf.renewals.length;
return window.__samlconf.fire("interval");"#,
                vec![],
            )
            .await?;
        if fired.as_u64() == Some(0) {
            // The page runs no renewal (signed out, or a session no IdP renews): no session
            // ended here (the home page itself loaded, hence its status).
            return Ok(match self.me().await? {
                Some(me) => BrowserRenewal::Done(RenewOutcome::NotRenewed { me }),
                None => BrowserRenewal::Done(RenewOutcome::NoSession { status: 200 }),
            });
        }
        let mut window_opened = false;
        let started = Instant::now();
        let mut backoff = Backoff::new();
        loop {
            let state = self
                .script(
                    r#"if (window.__samlconf_renewing === undefined) return { left: location.href };
return { renewals: window.__samlconf.renewals.slice(window.__samlconf_renewing),
         frame: !!document.querySelector("iframe"),
         status: (document.getElementById("renewal-status") || {}).textContent || "" };"#,
                    vec![],
                )
                .await;
            if let Ok(state) = state {
                if let Some(left) = state["left"].as_str() {
                    // A failed renewal ends the session; the page leaves for the home page,
                    // naming the reason code when it has it.
                    let code = url::Url::parse(left)
                        .ok()
                        .and_then(|u| {
                            u.query_pairs()
                                .find(|(k, _)| k == "renewal_failed")
                                .map(|(_, v)| v.into_owned())
                        })
                        .unwrap_or_default();
                    self.settle().await?;
                    return Ok(match self.me().await? {
                        Some(me) => BrowserRenewal::Done(RenewOutcome::NotRenewed { me }),
                        None => BrowserRenewal::Done(RenewOutcome::SessionEnded { code }),
                    });
                }
                if let Some(last) = state["renewals"].as_array().and_then(|r| r.last()) {
                    if last["ok"] == true {
                        let me = self.me().await?.ok_or_else(|| {
                            super::unexpected("renew", "renewed, but /me says signed out")
                        })?;
                        return Ok(BrowserRenewal::Done(RenewOutcome::Renewed { me }));
                    }
                    // The page navigates to its failure URL: the next poll reads it.
                } else if !window_opened && state["frame"] == true && self.frame_refused().await {
                    // No framed answer will come: the page's wait for one runs out.
                    self.script("window.__samlconf.fire(\"timeout\");", vec![])
                        .await?;
                    window_opened = true;
                } else if window_opened
                    && state["status"]
                        .as_str()
                        .is_some_and(|s| !s.trim().is_empty())
                    && self.windows().await? == 1
                {
                    return Ok(BrowserRenewal::Blocked {
                        message: state["status"].as_str().unwrap_or_default().to_owned(),
                    });
                }
            }
            if started.elapsed() > PAGE_DEADLINE {
                return Err(super::unexpected(
                    "renew",
                    "the page's renewal did not finish (no answer, no window, no message)",
                ));
            }
            backoff.wait().await;
        }
    }

    /// Whether the page's renewal iframe shows the browser's error page: a document that refused
    /// to be framed (`X-Frame-Options`, `frame-ancestors`).
    async fn frame_refused(&self) -> bool {
        if self
            .wd("enter frame 0", self.client.enter_frame(0))
            .await
            .is_err()
        {
            return false;
        }
        let href = self.script("return location.href;", vec![]).await;
        let _ = self
            .wd("enter parent frame", self.client.enter_parent_frame())
            .await;
        href.ok()
            .and_then(|h| h.as_str().map(|h| h.starts_with("chrome-error:")))
            .unwrap_or(false)
    }

    /// Which WebDriver session (so which Chromium) plays this browser: the pool reuses one for
    /// several scenarios, one after the other.
    pub async fn session_id(&self) -> Result<String, DriverError> {
        self.wd("session id", self.client.session_id())
            .await?
            .ok_or_else(|| DriverError::Browser("no WebDriver session".into()))
    }

    /// Runs `script` in the current page and returns its value: for tests that look inside the
    /// browser (storage, `window.name`) where no scenario action does.
    pub async fn execute(&self, script: &str) -> Result<Value, DriverError> {
        self.script(script, vec![]).await
    }

    /// The names of the cookies the browser would send to the current page's URL, `HttpOnly`
    /// ones too (cookies are scoped by host: on 127.0.0.1 the SP's and the IdP's alike).
    pub async fn cookie_names(&self) -> Result<Vec<String>, DriverError> {
        Ok(self
            .wd("get all cookies", self.client.get_all_cookies())
            .await?
            .iter()
            .map(|c| c.name().to_owned())
            .collect())
    }

    /// How many windows the browser has open (the page, and a renewal window; not the pool's
    /// control tab).
    pub async fn windows(&self) -> Result<usize, DriverError> {
        let control = self.session.as_ref().map(|s| &s.control);
        Ok(self
            .wd("windows", self.client.windows())
            .await?
            .iter()
            .filter(|w| Some(*w) != control)
            .count())
    }

    /// `/me` in this browser: fetched by the SP page's own script when the browser is on the SP,
    /// else opened. `None` when signed out.
    pub async fn me(&self) -> Result<Option<Value>, DriverError> {
        let sp_origin = url::Url::parse(&self.sp_base_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        let answer = self
            .wd(
                "execute async (fetch /me)",
                self.client.execute_async(
                    r#"const done = arguments[arguments.length - 1];
if (location.origin !== arguments[0]) done({ status: 0, body: "not on the SP" });
else fetch("/me", { headers: { Accept: "application/json" }, credentials: "same-origin" })
  .then((r) => r.text().then((body) => done({ status: r.status, body })))
  .catch((e) => done({ status: 0, body: String(e) }));"#,
                    vec![json!(sp_origin)],
                ),
            )
            .await?;
        // Elsewhere, or on a page that cannot fetch (an error page, say): `/me` itself is opened.
        let fetched = Some(answer).filter(|a| a["status"].as_u64() != Some(0));
        let answer = if let Some(answer) = fetched {
            answer
        } else {
            let page = self.goto("/me").await?;
            let body = self
                .script(
                    "return document.body ? document.body.innerText : \"\";",
                    vec![],
                )
                .await?;
            json!({ "status": page.status, "body": body })
        };
        let body = answer["body"].as_str().unwrap_or_default();
        match answer["status"].as_u64() {
            Some(200) => serde_json::from_str(body)
                .map(Some)
                .map_err(|e| super::unexpected("me", format!("not JSON ({e}): {body}"))),
            Some(401) => Ok(None),
            other => Err(super::unexpected("me", format!("status {other:?}"))),
        }
    }

    /// Reads the network log since the last read; keeps what carried SAML messages.
    async fn read_network(&self) -> Result<network::Traffic, DriverError> {
        let entries = self
            .wd(
                "read the network log",
                self.client.issue_cmd(ReadLog {
                    kind: "performance",
                }),
            )
            .await?;
        let traffic = network::parse(&entries);
        let mut posted = self
            .posted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut redirected = self
            .redirected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.origins
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(
                traffic
                    .requests
                    .iter()
                    .filter_map(|r| network::request_origin(&r.url)),
            );
        for request in &traffic.requests {
            if let Some(form) = request.form() {
                posted.push(form);
            } else if request.carries_saml() {
                redirected.push(request.url.clone());
            }
        }
        Ok(traffic)
    }

    /// Brings the record of posted forms and SAML redirects up to date with the network log.
    pub async fn read_wire(&self) -> Result<(), DriverError> {
        self.read_network().await.map(|_| ())
    }

    /// The forms this browser posted (an IdP's auto-submitting answer among them), oldest first,
    /// as of the last [`read_wire`](Self::read_wire).
    pub fn posted_forms(&self) -> Vec<PostForm> {
        self.posted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The URLs carrying a SAML message (HTTP-Redirect) this browser requested, oldest first.
    pub fn redirects(&self) -> Vec<String> {
        self.redirected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Posts `form` as another site's page would: from a blank page (an opaque origin, so
    /// cross-site for the SP's and the IdP's cookies), a form built and submitted by script.
    async fn post_from_blank_page(&self, form: &PostForm) -> Result<Page, DriverError> {
        self.navigate("about:blank").await?;
        self.script(
            r#"const [action, fields] = arguments;
const form = document.createElement("form");
form.method = "post"; form.action = action;
for (const [name, value] of fields) {
  const input = document.createElement("input");
  input.type = "hidden"; input.name = name; input.value = value; form.appendChild(input);
}
document.body.appendChild(form);
window.__samlconf_left = true;
HTMLFormElement.prototype.submit.call(form);"#,
            vec![json!(form.action), json!(form.fields)],
        )
        .await?;
        self.settle().await
    }

    /// Posts a captured form (a SAMLResponse replayed, or one browser's IdP answer posted by
    /// another) and reads the SP's verdict as a person would.
    pub async fn submit(&self, form: &PostForm) -> Result<SignInOutcome, DriverError> {
        let page = self.post_from_blank_page(form).await?;
        self.verdict(page).await
    }

    /// Posts an HTTP-POST binding form (the IdP's LogoutRequest page) and follows where the
    /// browser is taken.
    pub async fn post_and_follow(&self, form: &PostForm) -> Result<Visited, DriverError> {
        Ok(self.post_from_blank_page(form).await?.visited())
    }

    /// What another site can make this browser do (logout CSRF): an image requesting
    /// `GET /logout`, then a form posting `/logout` without the confirmation's token. The
    /// browser applies its cookie rules to both. Returns the POST's page.
    pub async fn cross_site_sign_out(&self) -> Result<Visited, DriverError> {
        let logout = self.sp_url("/logout");
        self.navigate("about:blank").await?;
        self.wd(
            "execute async (cross-site image)",
            self.client.execute_async(
                r#"const done = arguments[arguments.length - 1];
const image = new Image();
image.onload = image.onerror = () => done(true);
image.src = arguments[0];"#,
                vec![json!(logout)],
            ),
        )
        .await?;
        let form = PostForm {
            action: logout,
            fields: vec![("csrf_token".into(), String::new())],
        };
        self.post_and_follow(&form).await
    }

    /// Opens an SP `path` and reads its first answer as the HTTP driver's `open` does: status,
    /// redirect target and body. The browser follows the redirect (a browser cannot stop short
    /// of it), so the body is the first answer's only when there was no redirect.
    pub async fn open(&self, path: &str) -> Result<(u16, Option<String>, String), DriverError> {
        let url = self.sp_url(path);
        // What came before is recorded, so that the navigation's own answers are told apart.
        self.read_network().await?;
        let page = self.goto(&url).await?;
        let traffic = self.read_network().await?;
        match traffic.first_answer(&url) {
            Some((status, Some(location))) => {
                let location = url::Url::parse(&url)
                    .and_then(|base| base.join(&location))
                    .map(String::from)
                    .unwrap_or(location);
                Ok((status, Some(location), String::new()))
            }
            Some((status, None))
                if url::Url::parse(&page.url).ok() != url::Url::parse(&url).ok() =>
            {
                // Answered, but not shown: a download (the SP's metadata is
                // `application/samlmetadata+xml`). Its content, as a script on the SP reads it.
                Ok((status, None, self.fetch_text(&url).await?))
            }
            Some((status, None)) => Ok((status, None, page.body)),
            None => Ok((page.status, None, page.body)),
        }
    }

    /// `url` fetched by a script of an SP page (`/me` opened first when the browser is
    /// elsewhere): the body as text.
    async fn fetch_text(&self, url: &str) -> Result<String, DriverError> {
        let here = self.wd("current URL", self.client.current_url()).await?;
        if !self.on_sp(here.as_str()) {
            self.goto("/me").await?;
        }
        let answer = self
            .wd(
                "execute async (fetch)",
                self.client.execute_async(
                    r#"const done = arguments[arguments.length - 1];
fetch(arguments[0], { credentials: "same-origin" })
  .then((r) => r.text()).then(done).catch((e) => done(String(e)));"#,
                    vec![json!(url)],
                ),
            )
            .await?;
        Ok(answer.as_str().unwrap_or_default().to_owned())
    }

    /// SP-initiated from `path` (or IdP-initiated from the IdP's `url`) through the IdP's login
    /// page as `login`, but the IdP's auto-submitting answer is held: its form, for another
    /// browser to post (login CSRF); or the outcome when no answer came.
    pub async fn idp_answer(
        &self,
        path: &str,
        login: &str,
    ) -> Result<Result<PostForm, SignInOutcome>, DriverError> {
        let installed = self
            .wd(
                "CDP Page.addScriptToEvaluateOnNewDocument (hold the IdP's answer)",
                self.client.issue_cmd(Cdp {
                    cmd: "Page.addScriptToEvaluateOnNewDocument",
                    params: json!({ "source": HOLD_ANSWER }),
                }),
            )
            .await?;
        let held = async {
            let page = self.goto(path).await?;
            let button = format!("button[name=\"user\"][value=\"{}\"]", css_string(login));
            let page = if !self.on_sp(&page.url) && self.exists(&button).await? {
                self.click_and_settle(&button).await?
            } else {
                page
            };
            match super::page::saml_post_form(&page.body) {
                Some(form) => Ok(Ok(form)),
                None => self.verdict(page).await.map(Err),
            }
        }
        .await;
        if let Some(identifier) = installed["identifier"].as_str() {
            self.wd(
                "CDP Page.removeScriptToEvaluateOnNewDocument (stop holding the IdP's answers)",
                self.client.issue_cmd(Cdp {
                    cmd: "Page.removeScriptToEvaluateOnNewDocument",
                    params: json!({ "identifier": identifier }),
                }),
            )
            .await?;
        }
        held
    }

    /// The current page, for a failed step's report: a PNG screenshot and the HTML.
    pub async fn capture(&self) -> Result<(Vec<u8>, String), DriverError> {
        let png = self.wd("screenshot", self.client.screenshot()).await?;
        let html = self.wd("page source", self.client.source()).await?;
        Ok((png, html))
    }
}

/// How a renewal ended in the browser: as the HTTP driver's, or stopped by the pop-up blocker.
#[derive(Debug, Clone, PartialEq)]
pub enum BrowserRenewal {
    Done(RenewOutcome),
    /// The renewal window could not open; the page shows `message`.
    Blocked {
        message: String,
    },
}

/// A settled page.
struct Page {
    /// The navigation's HTTP status (0 when the browser does not say).
    status: u16,
    url: String,
    body: String,
}

impl Page {
    fn visited(self) -> Visited {
        Visited {
            status: self.status,
            url: self.url.clone(),
            hops: vec![self.url],
            body: self.body,
        }
    }
}

/// `text` inside a double-quoted CSS string.
fn css_string(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Installed in a document before its scripts while a browser fetches an IdP answer for another
/// browser to post (login CSRF): the auto-submitting form is held, not submitted.
const HOLD_ANSWER: &str = r#"(() => {
  const submit = HTMLFormElement.prototype.submit;
  HTMLFormElement.prototype.submit = function () {
    if (this.id === "saml-post") { window.__samlconf_held = true; return; }
    return submit.call(this);
  };
})();"#;

/// chromedriver's `se/log`: the log entries of `kind` since the last read.
#[derive(Debug)]
struct ReadLog {
    kind: &'static str,
}

impl fantoccini::wd::WebDriverCompatibleCommand for ReadLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(json!({ "type": self.kind }).to_string()),
        )
    }
}

/// A Chrome DevTools command through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(json!({ "cmd": self.cmd, "params": self.params }).to_string()),
        )
    }
}
