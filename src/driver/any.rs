//! One scenario browser, played by either driver: the runner runs the same step against the HTTP
//! driver (reqwest, every hop by hand) or the browser driver (Chromium). Every action runs in
//! both: a captured form is posted from a blank page, another site's requests are made from one,
//! and a redirect the browser followed is read from its network log. A step that only one driver
//! can judge is marked so in its scenario file (`drivers`), and the other reports it skipped.

use serde_json::Value;

use super::browser::{BrowserDriver, BrowserRenewal};
use super::{DriverError, HttpDriver, PostForm, SignInOutcome, Visited};

pub enum Driver {
    Http(HttpDriver),
    /// Boxed: a WebDriver client, its session and its wire record are several times an HTTP
    /// driver's size.
    Browser(Box<BrowserDriver>),
}

/// One scenario's browsers are all played by the same driver.
fn mixed() -> DriverError {
    DriverError::Browser("a scenario's browsers are played by one driver, not two".into())
}

/// The SP's sign-in path, with `relay_state` (where the person goes afterwards) if any.
fn login_path(relay_state: Option<&str>) -> String {
    match relay_state {
        Some(relay_state) => format!(
            "/login?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("RelayState", relay_state)
                .finish()
        ),
        None => "/login".to_owned(),
    }
}

impl Driver {
    /// The driver's name, as `--driver` and the reports say it.
    pub fn name(&self) -> &'static str {
        match self {
            Driver::Http(_) => HttpDriver::NAME,
            Driver::Browser(_) => super::browser::NAME,
        }
    }

    pub fn is_browser(&self) -> bool {
        matches!(self, Driver::Browser(_))
    }

    /// The forms this browser posted (the HTTP driver's by hand; Chromium's, read from its
    /// network log at the last [`read_wire`](Self::read_wire)).
    pub fn posted_forms(&self) -> Vec<PostForm> {
        match self {
            Driver::Http(d) => d.posted_forms(),
            Driver::Browser(b) => b.posted_forms(),
        }
    }

    /// The URLs carrying SAML messages (HTTP-Redirect) this browser requested.
    pub fn redirects(&self) -> Vec<String> {
        match self {
            Driver::Http(d) => d.redirects(),
            Driver::Browser(b) => b.redirects(),
        }
    }

    /// Brings [`posted_forms`](Self::posted_forms) and [`redirects`](Self::redirects) up to
    /// date (Chromium's network log; the HTTP driver records as it goes).
    pub async fn read_wire(&self) -> Result<(), DriverError> {
        match self {
            Driver::Http(_) => Ok(()),
            Driver::Browser(b) => b.read_wire().await,
        }
    }

    /// SP-initiated from an SP sign-in path (`/login?idp=…`).
    pub async fn sign_in_at(&self, path: &str, user: &str) -> Result<SignInOutcome, DriverError> {
        match self {
            Driver::Http(d) => d.sign_in_at(path, user).await,
            Driver::Browser(b) => b.sign_in(path, user).await,
        }
    }

    /// SP-initiated through `/login`; `poster` posts the IdP's answer (login CSRF when it is
    /// another browser: only the HTTP driver can hand a form from one browser to another).
    pub async fn sign_in_posted_by(
        &self,
        poster: &Driver,
        user: &str,
        relay_state: Option<&str>,
    ) -> Result<SignInOutcome, DriverError> {
        match (self, poster) {
            (Driver::Http(d), Driver::Http(p)) => d.sign_in_posted_by(p, user, relay_state).await,
            (Driver::Browser(b), Driver::Browser(p)) if std::ptr::eq(b, p) => {
                b.sign_in(&login_path(relay_state), user).await
            }
            (Driver::Browser(b), Driver::Browser(p)) => {
                match b.idp_answer(&login_path(relay_state), user).await? {
                    Ok(form) => p.submit(&form).await,
                    Err(outcome) => Ok(outcome),
                }
            }
            _ => Err(mixed()),
        }
    }

    pub async fn sign_in_idp_initiated(
        &self,
        poster: &Driver,
        idp_base_url: &str,
        sp_entity_id: &str,
        user: &str,
        relay_state: Option<&str>,
    ) -> Result<SignInOutcome, DriverError> {
        match (self, poster) {
            (Driver::Http(d), Driver::Http(p)) => {
                d.sign_in_idp_initiated(p, idp_base_url, sp_entity_id, user, relay_state)
                    .await
            }
            (Driver::Browser(b), Driver::Browser(p)) => {
                let mut url = url::Url::parse(&format!(
                    "{}/idp-initiated",
                    idp_base_url.trim_end_matches('/')
                ))
                .map_err(|e| super::unexpected("idp-initiated", e.to_string()))?;
                url.query_pairs_mut()
                    .append_pair("user", user)
                    .append_pair("sp", sp_entity_id);
                if let Some(relay_state) = relay_state {
                    url.query_pairs_mut().append_pair("RelayState", relay_state);
                }
                if std::ptr::eq(b, p) {
                    b.sign_in_idp_initiated(url.as_str()).await
                } else {
                    match b.idp_answer(url.as_str(), user).await? {
                        Ok(form) => p.submit(&form).await,
                        Err(outcome) => Ok(outcome),
                    }
                }
            }
            _ => Err(mixed()),
        }
    }

    pub async fn link_account(
        &self,
        username: Option<&str>,
        password: &str,
    ) -> Result<SignInOutcome, DriverError> {
        match self {
            Driver::Http(d) => d.link_account(username, password).await,
            Driver::Browser(b) => b.link_account(username, password).await,
        }
    }

    pub async fn skip_linking(&self) -> Result<SignInOutcome, DriverError> {
        match self {
            Driver::Http(d) => d.skip_linking().await,
            Driver::Browser(b) => b.skip_linking().await,
        }
    }

    pub async fn accept_invitation(
        &self,
        invitation_path: &str,
        user: &str,
    ) -> Result<SignInOutcome, DriverError> {
        match self {
            Driver::Http(d) => d.accept_invitation(invitation_path, user).await,
            Driver::Browser(b) => b.accept_invitation(invitation_path, user).await,
        }
    }

    /// A renewal; in the browser also the pop-up blocker's stop.
    pub async fn renew(&self) -> Result<BrowserRenewal, DriverError> {
        match self {
            Driver::Http(d) => d.renew().await.map(BrowserRenewal::Done),
            Driver::Browser(b) => b.renew().await,
        }
    }

    pub async fn set_password(
        &self,
        path: &str,
        password: &str,
    ) -> Result<super::PasswordSetOutcome, DriverError> {
        match self {
            Driver::Http(d) => d.set_password(path, password).await,
            Driver::Browser(b) => b.set_password(path, password).await,
        }
    }

    pub async fn recovery_login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<SignInOutcome, DriverError> {
        match self {
            Driver::Http(d) => d.recovery_login(username, password).await,
            Driver::Browser(b) => b.recovery_login(username, password).await,
        }
    }

    pub async fn me(&self) -> Result<Option<Value>, DriverError> {
        match self {
            Driver::Http(d) => d.me().await,
            Driver::Browser(b) => b.me().await,
        }
    }

    pub async fn sign_out(&self) -> Result<Visited, DriverError> {
        match self {
            Driver::Http(d) => d.sign_out().await,
            Driver::Browser(b) => b.sign_out().await,
        }
    }

    pub async fn cross_site_sign_out(&self) -> Result<Visited, DriverError> {
        match self {
            Driver::Http(d) => d.cross_site_sign_out().await,
            Driver::Browser(b) => b.cross_site_sign_out().await,
        }
    }

    pub async fn open(&self, path: &str) -> Result<(u16, Option<String>, String), DriverError> {
        match self {
            Driver::Http(d) => d.open(path).await,
            Driver::Browser(b) => b.open(path).await,
        }
    }

    pub async fn visit(&self, url: &str) -> Result<Visited, DriverError> {
        match self {
            Driver::Http(d) => d.visit(url).await,
            Driver::Browser(b) => b.visit(url).await,
        }
    }

    /// SP-initiated up to the IdP's answer, which is returned instead of posted.
    pub async fn fetch_idp_form(
        &self,
        user: &str,
        relay_state: Option<&str>,
    ) -> Result<Result<PostForm, SignInOutcome>, DriverError> {
        match self {
            Driver::Http(d) => d.fetch_idp_form(user, relay_state).await,
            Driver::Browser(b) => b.idp_answer(&login_path(relay_state), user).await,
        }
    }

    pub async fn submit(&self, form: &PostForm) -> Result<SignInOutcome, DriverError> {
        match self {
            Driver::Http(d) => d.submit(form).await,
            Driver::Browser(b) => b.submit(form).await,
        }
    }

    pub async fn post_and_follow(&self, form: &PostForm) -> Result<Visited, DriverError> {
        match self {
            Driver::Http(d) => d.post_and_follow(form).await,
            Driver::Browser(b) => b.post_and_follow(form).await,
        }
    }

    /// A browser's screenshot (PNG) and HTML of the current page, for a failed step's report.
    pub async fn capture(&self) -> Option<(Vec<u8>, String)> {
        match self {
            Driver::Http(_) => None,
            Driver::Browser(b) => b.capture().await.ok(),
        }
    }
}
