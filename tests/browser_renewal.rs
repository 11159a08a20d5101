//! Session renewal in a real browser (Debian's Chromium through chromedriver): the hidden
//! iframe, the renewal window when the IdP forbids framing, the message when pop-ups are
//! blocked, and logout closing the renewal window (Flow Production Tracking).
//!
//! JavaScript timers run on real time, so these tests wait — by polling for a condition with a
//! deadline, never by sleeping a fixed time — with a 2-second renewal interval.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use samlconf::harness::{Pair, PairOptions};
use serde_json::json;

const DEADLINE: Duration = Duration::from_secs(30);

struct Browser {
    client: Client,
    chromedriver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start(block_popups: bool) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let chromedriver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver is not installed: run `.ci/install-deps chromium chromium-driver`",
            );
        let profile = tempfile::tempdir().unwrap();
        let mut options = json!({"args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            format!("--user-data-dir={}", profile.path().display()),
        ]});
        if block_popups {
            // chromedriver disables Chromium's pop-up blocker by default; put it back.
            options["excludeSwitches"] = json!(["disable-popup-blocking"]);
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::new(connector.clone())
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                // chromedriver needs a moment to listen.
                Err(_) if started.elapsed() < DEADLINE => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot start Chromium through chromedriver: {e}"),
            }
        };
        Browser {
            client,
            chromedriver,
            _profile: profile,
        }
    }

    /// Signs `login` in through the mock IdP's login page, as a person would.
    async fn sign_in(&self, pair: &Pair, login: &str) {
        self.client
            .goto(&format!("{}/login", pair.endpoints.sp_base_url))
            .await
            .unwrap();
        self.client
            .find(Locator::Css(&format!("button[value=\"{login}\"]")))
            .await
            .expect("the IdP's login page lists the user")
            .click()
            .await
            .unwrap();
        let signed_in = until(|| async {
            let heading = self
                .client
                .find(Locator::Css("h1"))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            (heading == "You are signed in").then_some(())
        })
        .await;
        assert!(signed_in.is_some(), "the browser did not land signed in");
    }

    async fn windows(&self) -> usize {
        self.client.windows().await.map(|w| w.len()).unwrap_or(0)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}

/// Polls `check` until it yields a value or the deadline passes.
async fn until<T, F, Fut>(check: F) -> Option<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    while started.elapsed() < DEADLINE {
        if let Some(value) = check().await {
            return Some(value);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

async fn pair() -> Pair {
    Pair::start(PairOptions {
        sp_tweak: Some(|c| c.sp.renewal_interval_secs = 2),
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn renewals(pair: &Pair) -> usize {
    pair.sp
        .store()
        .audit_events()
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == "session.renewed")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_runs_in_a_hidden_iframe() {
    let pair = pair().await;
    let browser = Browser::start(false).await;
    browser.sign_in(&pair, "alice").await;
    let renewed = until(|| async { (renewals(&pair).await >= 2).then_some(()) }).await;
    assert!(renewed.is_some(), "no passive renewal reached the SP");
    assert_eq!(
        browser.windows().await,
        1,
        "no renewal window while framing is allowed"
    );
    let passive = pair
        .idp
        .requests()
        .iter()
        .filter(|r| r.request.as_ref().is_some_and(|q| q.is_passive))
        .count();
    assert!(passive >= 2, "the renewals were passive AuthnRequests");
    browser.client.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_uses_a_window_when_the_idp_forbids_framing_and_logout_closes_it() {
    let pair = pair().await;
    let browser = Browser::start(false).await;
    browser.sign_in(&pair, "bob").await;
    pair.idp.set_forbid_framing(true);
    let before = renewals(&pair).await;
    let popup = until(|| async { (browser.windows().await == 2).then_some(()) }).await;
    assert!(
        popup.is_some(),
        "no renewal window opened when the IdP refused to be framed"
    );
    let renewed = until(|| async { (renewals(&pair).await > before).then_some(()) }).await;
    assert!(
        renewed.is_some(),
        "the renewal window did not renew the session"
    );

    // Sign out like a person: the home page's button submits the sign-out form (a POST with
    // the session's token; a GET of /logout only asks).
    browser
        .client
        .goto(&format!("{}/", pair.endpoints.sp_base_url))
        .await
        .unwrap();
    browser
        .client
        .find(Locator::Id("sign-out"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let closed = until(|| async { (browser.windows().await == 1).then_some(()) }).await;
    assert!(closed.is_some(), "logout did not close the renewal window");
    browser.client.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_pop_ups_ask_the_user_to_allow_them() {
    let pair = pair().await;
    let browser = Browser::start(true).await;
    browser.sign_in(&pair, "bob").await;
    pair.idp.set_forbid_framing(true);
    let message = until(|| async {
        let text = browser
            .client
            .find(Locator::Id("renewal-status"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.contains("allow pop-ups").then_some(text)
    })
    .await;
    assert!(message.is_some(), "the page did not ask to allow pop-ups");
    assert_eq!(browser.windows().await, 1);
    browser.client.clone().close().await.unwrap();
}
