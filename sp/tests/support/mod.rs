//! The test SP of the router-level tests (`slo`, `growth`, `passwords`): one configuration at
//! `https://sp.test` trusting the fixture IdP `https://idp.test/metadata`, an in-memory store, a
//! manual clock at [`NOW`] and fixed SP keys. Requests go through the router with tower's
//! `oneshot`, without a socket. Each test file adds its own helpers in `impl TestSp` blocks.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use plumbing::clock::ManualClock;
use sp::config::SpConfig;
use sp::keys::SpKeys;
use sp::store::Store;
use sp::web::Sp;
use time::OffsetDateTime;
use time::macros::datetime;
use tower::ServiceExt;

/// Where the test SP's clock starts.
pub const NOW: OffsetDateTime = datetime!(2030-01-01 00:00:00 UTC);
pub const SP_BASE: &str = "https://sp.test";
/// The fixture IdP's entity ID; its signing certificate is `tests/fixtures/keys/idp.crt`.
pub const IDP: &str = "https://idp.test/metadata";

/// A fixture key or certificate of `tests/fixtures/keys/`.
pub fn fixture_key(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keys")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub struct TestSp {
    pub sp: Sp,
    pub app: Router,
    pub clock: ManualClock,
}

impl TestSp {
    /// The test SP, with `tweak` applied to its configuration before it starts.
    pub async fn start(tweak: impl FnOnce(&mut SpConfig)) -> TestSp {
        let mut config = SpConfig::from_toml(&format!(
            r#"
[sp]
base_url = "{SP_BASE}"
database = ":memory:"
[idp]
entity_id = "{IDP}"
sso_url = "https://idp.test/sso"
certificate_pem = """{cert}"""
"#,
            cert = fixture_key("idp.crt")
        ))
        .expect("config");
        tweak(&mut config);
        let store = Store::open(":memory:").await.expect("store");
        let clock = ManualClock::new(NOW);
        let sp = Sp::new(
            config,
            store,
            Arc::new(clock.clone()),
            SpKeys::fixed_for_tests(),
        )
        .expect("sp");
        TestSp {
            app: sp::web::router(sp.clone()),
            sp,
            clock,
        }
    }

    /// The SP's clock now.
    pub fn now(&self) -> OffsetDateTime {
        plumbing::clock::Clock::now(&self.clock)
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        send(self.app.clone(), request).await
    }
}

/// What the router answered, with the headers the tests read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: StatusCode,
    pub location: Option<String>,
    /// The first `Set-Cookie`.
    pub set_cookie: Option<String>,
    /// `Connection`.
    pub connection: Option<String>,
    pub body: String,
}

/// Sends `request` through `app` (owned, so that it can run on a task of its own).
pub async fn send(app: Router, request: Request<Body>) -> Reply {
    let response = app.oneshot(request).await.expect("router");
    let (status, location, set_cookie) = head(&response);
    let connection = response
        .headers()
        .get(header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        location,
        set_cookie,
        connection,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// The status, `Location` and first `Set-Cookie`. (A function of its own: the body is not
/// `Sync`, so no borrow of the response may live across `send`'s await.)
fn head(response: &axum::response::Response) -> (StatusCode, Option<String>, Option<String>) {
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let status = response.status();
    let location = header(header::LOCATION);
    let set_cookie = header(header::SET_COOKIE);
    (status, location, set_cookie)
}
