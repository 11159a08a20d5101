//! The reference SP (`sp`) as the SP under test: in process, so every flow and admin action is
//! offered, and its refusals carry its own reason codes (the failure page's `#reason-code`, or
//! the JSON `error`, as [`HttpDriver`] reads them).

use serde_json::Value;

use super::{AuditEvent, BoxFuture, LocalAccount, SignInStart, SpAdmin, SpUnderTest, Whoami};
use crate::driver::browser::BrowserRenewal;
use crate::driver::{Driver, DriverError, HttpDriver, PostForm, SignInOutcome, Visited};

/// The reference SP of a running pair.
pub struct ReferenceSp {
    sp: sp::web::Sp,
    base_url: String,
    /// The run's certificate authority (PEM) when the pair serves HTTPS.
    ca_pem: Option<String>,
    /// When local accounts are created: a month before the scenario's virtual start.
    accounts_created_at: time::OffsetDateTime,
}

impl ReferenceSp {
    pub fn new(
        sp: sp::web::Sp,
        base_url: &str,
        ca_pem: Option<String>,
        accounts_created_at: time::OffsetDateTime,
    ) -> ReferenceSp {
        ReferenceSp {
            sp,
            base_url: base_url.to_owned(),
            ca_pem,
            accounts_created_at,
        }
    }
}

fn err(e: DriverError) -> String {
    e.to_string()
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// `/me` as the oracle's view.
pub(crate) fn whoami_of_me(me: Value) -> Whoami {
    Whoami {
        name_id: me["name_id"].as_str().map(str::to_owned),
        roles: me["roles"].as_array().map(|roles| {
            roles
                .iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        }),
        fingerprint: me.to_string(),
        raw: me,
    }
}

impl SpUnderTest for ReferenceSp {
    fn name(&self) -> &str {
        "reference SP"
    }

    fn entity_id(&self) -> String {
        self.sp.config().entity_id()
    }

    fn acs_url(&self) -> String {
        self.sp.config().acs_url()
    }

    fn slo_url(&self) -> Option<String> {
        Some(self.sp.config().sls_url())
    }

    fn codes_are_exact(&self) -> bool {
        true
    }

    fn browser(&self) -> Result<Driver, String> {
        HttpDriver::trusting(&self.base_url, self.ca_pem.as_deref().map(str::as_bytes))
            .map(Driver::Http)
            .map_err(err)
    }

    fn sign_in_idp_initiated<'a>(
        &'a self,
        browser: &'a Driver,
        poster: &'a Driver,
        idp_base_url: &'a str,
        user: &'a str,
        relay_state: Option<&'a str>,
    ) -> BoxFuture<'a, Result<SignInOutcome, String>> {
        Box::pin(async move {
            browser
                .sign_in_idp_initiated(poster, idp_base_url, &self.entity_id(), user, relay_state)
                .await
                .map_err(err)
        })
    }

    fn sign_in<'a>(
        &'a self,
        browser: &'a Driver,
        poster: &'a Driver,
        start: SignInStart<'a>,
    ) -> BoxFuture<'a, Result<SignInOutcome, String>> {
        Box::pin(async move {
            match start.choose_idp {
                // With several IdPs `/login` shows a chooser: go straight to the one asked for.
                Some(idp) => {
                    let query = {
                        let mut login = url::form_urlencoded::Serializer::new(String::new());
                        login.append_pair("idp", idp);
                        if start.test {
                            login.append_pair("test", "1");
                        }
                        if let Some(relay_state) = start.relay_state {
                            login.append_pair("RelayState", relay_state);
                        }
                        login.finish()
                    };
                    browser
                        .sign_in_at(&format!("/login?{query}"), start.user)
                        .await
                }
                None => {
                    browser
                        .sign_in_posted_by(poster, start.user, start.relay_state)
                        .await
                }
            }
            .map_err(err)
        })
    }

    fn post_response<'a>(
        &'a self,
        browser: &'a Driver,
        form: &'a PostForm,
    ) -> BoxFuture<'a, Result<SignInOutcome, String>> {
        Box::pin(async move { browser.submit(form).await.map_err(err) })
    }

    fn whoami<'a>(&'a self, browser: &'a Driver) -> BoxFuture<'a, Result<Option<Whoami>, String>> {
        Box::pin(async move { Ok(browser.me().await.map_err(err)?.map(whoami_of_me)) })
    }

    fn sign_out<'a>(
        &'a self,
        browser: &'a Driver,
        cross_site: bool,
    ) -> BoxFuture<'a, Result<Visited, String>> {
        Box::pin(async move {
            if cross_site {
                browser.cross_site_sign_out().await
            } else {
                browser.sign_out().await
            }
            .map_err(err)
        })
    }

    fn renew<'a>(&'a self, browser: &'a Driver) -> BoxFuture<'a, Result<BrowserRenewal, String>> {
        Box::pin(async move { browser.renew().await.map_err(err) })
    }

    fn link<'a>(
        &'a self,
        browser: &'a Driver,
        username: Option<&'a str>,
        password: Option<&'a str>,
    ) -> BoxFuture<'a, Result<SignInOutcome, String>> {
        Box::pin(async move {
            match password {
                Some(password) => browser.link_account(username, password).await,
                None => browser.skip_linking().await,
            }
            .map_err(err)
        })
    }

    fn recovery_login<'a>(
        &'a self,
        browser: &'a Driver,
        username: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<SignInOutcome, String>> {
        Box::pin(async move {
            browser
                .recovery_login(username, password)
                .await
                .map_err(err)
        })
    }

    fn accept_invitation<'a>(
        &'a self,
        browser: &'a Driver,
        token: &'a str,
        user: &'a str,
    ) -> BoxFuture<'a, Result<SignInOutcome, String>> {
        Box::pin(async move {
            browser
                .accept_invitation(&format!("/invite/{token}"), user)
                .await
                .map_err(err)
        })
    }

    fn visit<'a>(
        &'a self,
        browser: &'a Driver,
        path: &'a str,
    ) -> BoxFuture<'a, Result<super::Page, String>> {
        Box::pin(async move { browser.open(path).await.map_err(err) })
    }

    fn admin(&self) -> Option<&dyn SpAdmin> {
        Some(self)
    }
}

impl SpAdmin for ReferenceSp {
    fn create_local_account<'a>(
        &'a self,
        account: &'a LocalAccount,
    ) -> BoxFuture<'a, Result<i64, String>> {
        Box::pin(async move {
            let new = sp::accounts::NewLocalAccount {
                login: account.login.clone(),
                email: account.email.clone(),
                first_name: account.first_name.clone(),
                last_name: account.last_name.clone(),
                password: account.password.clone(),
                roles: account.roles.clone(),
                sso_allowed: account.sso_allowed,
            };
            let user = self
                .sp
                .store()
                // Throw-away fixtures: hashed with the cheapest Argon2 parameters (the SP's own
                // hashing and the dummy hash of unknown accounts keep the standard ones).
                .create_local_account_with(
                    &new,
                    self.accounts_created_at,
                    sp::accounts::PasswordHashing::FastForTestFixtures,
                )
                .await
                .map_err(text)?;
            Ok(user.id)
        })
    }

    fn invite(&self, id: i64) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(async move { self.sp.store().invite(id).await.map_err(text) })
    }

    fn user_by_email<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<Option<i64>, String>> {
        Box::pin(async move {
            Ok(self
                .sp
                .store()
                .user_by_email(email)
                .await
                .map_err(text)?
                .map(|u| u.id))
        })
    }

    fn user_by_identity<'a>(
        &'a self,
        idp: &'a str,
        subject: &'a str,
    ) -> BoxFuture<'a, Result<Option<(i64, String)>, String>> {
        Box::pin(async move {
            Ok(self
                .sp
                .store()
                .user_by_identity(idp, subject)
                .await
                .map_err(text)?
                .map(|user| {
                    let about = format!("user #{} ({}, {})", user.id, user.email, user.origin);
                    (user.id, about)
                }))
        })
    }

    fn set_roles<'a>(&'a self, id: i64, roles: &'a [String]) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move { self.sp.store().set_roles(id, roles).await.map_err(text) })
    }

    fn roles(&self, id: i64) -> BoxFuture<'_, Result<Vec<String>, String>> {
        Box::pin(async move { self.sp.store().roles(id).await.map_err(text) })
    }

    fn audit_events(&self) -> BoxFuture<'_, Result<Vec<AuditEvent>, String>> {
        Box::pin(async move { self.sp.store().audit_events().await.map_err(text) })
    }
}
