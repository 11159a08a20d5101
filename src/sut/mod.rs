//! The seam between the scenario runner and the SP under test. The runner drives the mock IdP
//! itself and speaks to the SP only through [`SpUnderTest`]: where to start a sign-in, how the
//! SP answers a posted SAML message (its refusals mapped to our reason codes), who is signed in
//! in a browser (the oracle), and, where the SP offers them, its own flows (account linking,
//! renewal, recovery login) and admin actions ([`SpAdmin`]).
//!
//! Two implementations: [`reference::ReferenceSp`], the reference SP in process (everything
//! offered), and [`external::ExternalSp`], an SP we do not control, described by a target file
//! ([`crate::target`]).

pub mod external;
pub mod reference;

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::driver::browser::BrowserRenewal;
use crate::driver::{Driver, PostForm, SignInOutcome, Visited};

/// A boxed future, so that the trait stays usable as `dyn SpUnderTest`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One page as a `visit` step reads it: status, redirect target, body.
pub type Page = (u16, Option<String>, String);

/// Who the oracle sees signed in in one browser.
#[derive(Debug, Clone, PartialEq)]
pub struct Whoami {
    /// The NameID the SP holds for the session, when it tells.
    pub name_id: Option<String>,
    /// The roles or groups it granted, when it tells.
    pub roles: Option<Vec<String>>,
    /// What the SP said, as JSON (the reference SP's `/me`; a target's whoami body, or `null`).
    pub raw: Value,
    /// Whatever tells one session from another (the whole answer, the session cookie): a
    /// different fingerprint after a step is a new session.
    pub fingerprint: String,
}

/// How a sign-in starts at the SP.
#[derive(Debug, Clone, Copy)]
pub struct SignInStart<'a> {
    /// The IdP user, as the login hint.
    pub user: &'a str,
    pub relay_state: Option<&'a str>,
    /// The IdP to pick on the SP's chooser (its entity ID), when the SP shows one.
    pub choose_idp: Option<&'a str>,
    /// A test sign-in of a staged IdP (the reference SP's `/login?test=1`): it reports what the
    /// IdP sent and signs nobody in.
    pub test: bool,
}

/// Why the SP under test cannot do what a step asks.
pub fn not_offered(what: &str, sp: &str) -> String {
    format!("{sp} does not offer {what}")
}

/// Why an SP cannot be driven by a real browser here.
pub fn needs_http_driver(sp: &str) -> String {
    format!("{sp} is driven by the HTTP driver only (--driver http)")
}

/// The SP under test, as the runner sees it.
pub trait SpUnderTest: Send + Sync {
    /// Shown in reports.
    fn name(&self) -> &str;
    /// The SP's entity ID (the mock IdP's audience for it).
    fn entity_id(&self) -> String;
    /// Where the mock IdP posts the SAMLResponse.
    fn acs_url(&self) -> String;
    /// Its single logout service; `None`: the SP takes no part in single logout.
    fn slo_url(&self) -> Option<String>;
    /// Whether reason codes, status and pages of refusals are the SP's own (`true`: the reference
    /// SP) rather than mapped from a target's pages, and so are judged strictly.
    fn codes_are_exact(&self) -> bool;

    /// A new HTTP-driver browser (its own cookie jar) for this SP. (Real browsers are started by
    /// the runner; an SP that cannot be driven by one says so as an error of its methods.)
    fn browser(&self) -> Result<Driver, String>;

    /// SP-initiated sign-in: `browser` starts it and follows it to the IdP; `poster` (the same
    /// browser, or another for login CSRF) posts the IdP's answer to the ACS.
    fn sign_in<'a>(
        &'a self,
        browser: &'a Driver,
        poster: &'a Driver,
        start: SignInStart<'a>,
    ) -> BoxFuture<'a, Result<SignInOutcome, String>>;

    /// IdP-initiated sign-in: `browser` asks the mock IdP at `idp_base_url` for an unsolicited
    /// response for `user`; `poster` posts it to the ACS. By default with the HTTP driver: the
    /// IdP's form is fetched, then [`post_response`](Self::post_response) judges the answer.
    fn sign_in_idp_initiated<'a>(
        &'a self,
        browser: &'a Driver,
        poster: &'a Driver,
        idp_base_url: &'a str,
        user: &'a str,
        relay_state: Option<&'a str>,
    ) -> BoxFuture<'a, Result<SignInOutcome, String>> {
        Box::pin(async move {
            let Driver::Http(http) = browser else {
                return Err(needs_http_driver(self.name()));
            };
            match http
                .idp_initiated_form(idp_base_url, &self.entity_id(), user, relay_state)
                .await
                .map_err(|e| e.to_string())?
            {
                Ok(form) => self.post_response(poster, &form).await,
                Err(refused) => Ok(refused),
            }
        })
    }

    /// Posts a SAMLResponse form (IdP-initiated, a replay) from `browser` and reads the SP's
    /// answer.
    fn post_response<'a>(
        &'a self,
        browser: &'a Driver,
        form: &'a PostForm,
    ) -> BoxFuture<'a, Result<SignInOutcome, String>>;

    /// Who is signed in in `browser` (`None`: nobody).
    fn whoami<'a>(&'a self, browser: &'a Driver) -> BoxFuture<'a, Result<Option<Whoami>, String>>;

    /// SP-initiated logout as a person does it (`cross_site`: as another site would make the
    /// browser do it, without the SP's form).
    fn sign_out<'a>(
        &'a self,
        browser: &'a Driver,
        cross_site: bool,
    ) -> BoxFuture<'a, Result<Visited, String>>;

    /// Delivers the IdP's logout message (a Redirect URL or a POST form) through `browser`.
    fn deliver_logout<'a>(
        &'a self,
        browser: &'a Driver,
        message: mock_idp::server::LogoutMessage,
    ) -> BoxFuture<'a, Result<Visited, String>> {
        Box::pin(async move {
            let err = |e: crate::driver::DriverError| e.to_string();
            match message {
                mock_idp::server::LogoutMessage::Redirect { url, .. } => {
                    browser.visit(&url).await.map_err(err)
                }
                mock_idp::server::LogoutMessage::Post { html, .. } => {
                    let form = crate::driver::parse_post_form(&html)
                        .ok_or_else(|| "the IdP's logout page holds no form".to_owned())?;
                    browser.post_and_follow(&form).await.map_err(err)
                }
            }
        })
    }

    /// Passive renewal of the browser's session (the reference SP's renewal window; in a real
    /// browser also the pop-up blocker's stop).
    fn renew<'a>(&'a self, _browser: &'a Driver) -> BoxFuture<'a, Result<BrowserRenewal, String>> {
        let message = not_offered("session renewal", self.name());
        Box::pin(async move { Err(message) })
    }

    /// On the SP's account-linking page: link (`Some(password)`) or skip (`None`).
    fn link<'a>(
        &'a self,
        _browser: &'a Driver,
        _username: Option<&'a str>,
        _password: Option<&'a str>,
    ) -> BoxFuture<'a, Result<SignInOutcome, String>> {
        let message = not_offered("account linking", self.name());
        Box::pin(async move { Err(message) })
    }

    /// The SP's password login beside SSO.
    fn recovery_login<'a>(
        &'a self,
        _browser: &'a Driver,
        _username: &'a str,
        _password: &'a str,
    ) -> BoxFuture<'a, Result<SignInOutcome, String>> {
        let message = not_offered("a recovery password login", self.name());
        Box::pin(async move { Err(message) })
    }

    /// Follows an invitation (the token of [`SpAdmin::invite`]) through the IdP as `user`.
    fn accept_invitation<'a>(
        &'a self,
        _browser: &'a Driver,
        _token: &'a str,
        _user: &'a str,
    ) -> BoxFuture<'a, Result<SignInOutcome, String>> {
        let message = not_offered("invitations", self.name());
        Box::pin(async move { Err(message) })
    }

    /// GETs one path of the SP, no redirect followed: status, redirect target, body.
    fn visit<'a>(
        &'a self,
        _browser: &'a Driver,
        _path: &'a str,
    ) -> BoxFuture<'a, Result<Page, String>> {
        let message = not_offered("pages a scenario may visit", self.name());
        Box::pin(async move { Err(message) })
    }

    /// The SP's admin actions, when it offers them to the harness.
    fn admin(&self) -> Option<&dyn SpAdmin> {
        None
    }
}

/// A local account to create before the first step.
pub use crate::scenario::Account as LocalAccount;

/// An audit event the SP logged.
pub use sp::store::AuditEvent;

/// The admin actions scenarios need, where the SP offers them.
pub trait SpAdmin: Send + Sync {
    /// Creates a local account; its user ID.
    fn create_local_account<'a>(
        &'a self,
        account: &'a LocalAccount,
    ) -> BoxFuture<'a, Result<i64, String>>;
    /// Invites user `id`; the invitation's token.
    fn invite(&self, id: i64) -> BoxFuture<'_, Result<String, String>>;
    /// The user ID of the user with this e-mail address.
    fn user_by_email<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<Option<i64>, String>>;
    /// The user an identity (IdP entity ID, NameID) is linked to: its ID and a description.
    fn user_by_identity<'a>(
        &'a self,
        idp: &'a str,
        subject: &'a str,
    ) -> BoxFuture<'a, Result<Option<(i64, String)>, String>>;
    fn set_roles<'a>(&'a self, id: i64, roles: &'a [String]) -> BoxFuture<'a, Result<(), String>>;
    fn roles(&self, id: i64) -> BoxFuture<'_, Result<Vec<String>, String>>;
    /// The whole audit log, oldest first.
    fn audit_events(&self) -> BoxFuture<'_, Result<Vec<AuditEvent>, String>>;
}
