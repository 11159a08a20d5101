//! Headless Chromium through chromedriver for the browser tests (`browser_sites`,
//! `browser_workbench`): a fresh profile per browser, background networking off, and, for a pair
//! served over HTTPS, trust in the run CA's server certificate by its key
//! (`--ignore-certificate-errors-spki-list`, which Chromium honours only with a
//! `--user-data-dir`).

#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use samlconf::harness::Pair;
use serde_json::json;

pub const DEADLINE: Duration = Duration::from_secs(30);

pub struct Browser {
    pub client: Client,
    chromedriver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A browser for `pair`: it trusts the pair's HTTPS server certificate, if any.
    pub async fn for_pair(pair: &Pair) -> Browser {
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
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        if let Some(ca) = &pair.tls {
            args.push(format!(
                "--ignore-certificate-errors-spki-list={}",
                ca.server_spki_sha256
            ));
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), json!({ "args": args }));
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

    /// The text of the first element matching `css`, once there is one.
    pub async fn text_of(&self, css: &str) -> Option<String> {
        until(|| async {
            self.client
                .find(Locator::Css(css))
                .await
                .ok()?
                .text()
                .await
                .ok()
        })
        .await
    }

    /// What the SP's `/me` says of this browser (its JSON), opened as a page.
    pub async fn me(&self, pair: &Pair) -> serde_json::Value {
        self.client
            .goto(&format!("{}/me", pair.endpoints.sp_base_url))
            .await
            .unwrap();
        let text = self.text_of("body").await.unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("/me is not JSON: {text:?}"))
    }

    pub async fn close(self) {
        self.client.clone().close().await.unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}

/// Polls `check` until it yields a value or the deadline passes.
pub async fn until<T, F, Fut>(check: F) -> Option<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    while started.elapsed() < DEADLINE {
        if let Some(value) = check().await {
            return Some(value);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}
