//! The HTTP driver: plays the browser with reqwest (cookie jar, redirects followed by hand so
//! that every hop is observable) through SP-initiated and IdP-initiated sign-in.

mod any;
pub mod browser;
mod page;

pub use any::Driver;

use reqwest::header::{ACCEPT, LOCATION};
use reqwest::redirect::Policy;
use serde_json::Value;

pub use page::parse_post_form;
pub(crate) use page::{form_with_action, is_link_prompt, reason_code};

/// How a sign-in attempt ended, judged by who is signed in — not by HTTP status alone.
#[derive(Debug, Clone, PartialEq)]
pub enum SignInOutcome {
    /// The SP signed the user in; `me` is the SP's `/me` JSON.
    SignedIn { landing: String, me: Value },
    /// The SP refused the response with a reason code; `detail` is the SP's expected-vs-received.
    Refused {
        status: u16,
        code: String,
        message: String,
        detail: String,
    },
    /// The IdP refused to answer (e.g. unknown ACS); no response reached the SP.
    IdpRefused { status: u16, body: String },
    /// The SP asks the person to link an existing account (or skip) first; `page` is its HTML.
    LinkPrompt { page: String },
    /// A test sign-in of an IdP (`/login?…&test=1`): the SP's report (JSON, or the page in a
    /// browser); nobody is signed in.
    Tested { page: String },
}

/// How using a password-setup link ended.
#[derive(Debug, Clone, PartialEq)]
pub enum PasswordSetOutcome {
    /// The password is set (the SP went on to the recovery login, saying so).
    Set,
    /// The SP refused the link or the password, with a reason code.
    Refused { status: u16, code: String },
}

/// How a session renewal (passive re-authentication) ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RenewOutcome {
    /// The session was refreshed; `me` is `/me` afterwards.
    Renewed { me: Value },
    /// The renewal failed and the SP ended the session, with this reason code.
    SessionEnded { code: String },
    /// The SP renews this session at no IdP (a recovery session) and kept it as it was;
    /// `me` is `/me` afterwards.
    NotRenewed { me: Value },
    /// There was no session to renew: the SP answered at once and the browser is signed out.
    NoSession { status: u16 },
    /// The SP answered with an HTTP error that is no SAML answer (no reason code).
    HttpError { status: u16 },
}

impl SignInOutcome {
    pub fn code(&self) -> Option<&str> {
        match self {
            SignInOutcome::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    pub fn roles(&self) -> Vec<String> {
        match self {
            SignInOutcome::SignedIn { me, .. } => me["roles"]
                .as_array()
                .map(|roles| {
                    roles
                        .iter()
                        .filter_map(|r| r.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            _ => vec![],
        }
    }
}

/// `e` and what caused it: reqwest's own message ("error sending request") hides the reason an
/// integrator needs, such as a certificate that does not verify.
fn with_causes(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("HTTP: {}", with_causes(.0))]
    Http(#[from] reqwest::Error),
    #[error("unexpected answer at {step}: {detail}")]
    Unexpected { step: &'static str, detail: String },
    /// WebDriver or Chromium failed (the browser driver).
    #[error("browser: {0}")]
    Browser(String),
}

fn unexpected(step: &'static str, detail: impl Into<String>) -> DriverError {
    DriverError::Unexpected {
        step,
        detail: detail.into(),
    }
}

/// An HTML form with hidden fields, as the HTTP-POST binding carries a SAML message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostForm {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl PostForm {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// At most this many TLS configurations are kept (the system roots, and each run's CA).
const MAX_SHARED_TLS: usize = 8;

/// The TLS configuration of a browser trusting only `ca_pem`, or the system's roots when `None`,
/// made once per process and shared by every browser. Making one loads the system's CA bundle
/// (about 140 certificates, some milliseconds of OpenSSL 3 parsing, even when the roots are then
/// replaced), which was most of a catalogue scenario's CPU time. Sharing it shares no state
/// between browsers: cookies are each client's, and OpenSSL keeps no client sessions unless
/// asked to. `None` when `ca_pem` is not a usable certificate.
fn shared_tls(ca_pem: Option<&[u8]>) -> Option<native_tls::TlsConnector> {
    type Cache = Vec<(Option<Vec<u8>>, native_tls::TlsConnector)>;
    static CACHE: std::sync::Mutex<Cache> = std::sync::Mutex::new(Vec::new());
    let lock = || {
        CACHE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let key = ca_pem.map(<[u8]>::to_vec);
    if let Some((_, found)) = lock().iter().find(|(k, _)| *k == key) {
        return Some(found.clone());
    }
    let mut builder = native_tls::TlsConnector::builder();
    if let Some(pem) = ca_pem {
        // A bundle (an HTTPS target's `ca_file`) may hold several certificates.
        let cas = openssl::x509::X509::stack_from_pem(pem).ok()?;
        if cas.is_empty() {
            return None;
        }
        builder.disable_built_in_roots(true);
        for ca in cas {
            builder
                .add_root_certificate(native_tls::Certificate::from_der(&ca.to_der().ok()?).ok()?);
        }
    }
    let made = builder.build().ok()?;
    let mut cache = lock();
    if cache.len() >= MAX_SHARED_TLS {
        cache.clear();
    }
    cache.push((key, made.clone()));
    Some(made)
}

/// One browser: its own cookie jar.
pub struct HttpDriver {
    client: reqwest::Client,
    /// The cookie jar, readable so that an oracle can tell a session cookie apart.
    jar: std::sync::Arc<reqwest::cookie::Jar>,
    sp_base_url: String,
    /// Every form this browser posted, oldest first (see [`HttpDriver::posted_forms`]).
    posted: std::sync::Mutex<Vec<PostForm>>,
    /// Every HTTP-Redirect binding URL it followed to an IdP (see [`HttpDriver::redirects`]).
    redirects: std::sync::Mutex<Vec<String>>,
}

impl HttpDriver {
    /// What `--driver` and the reports call this implementation.
    pub const NAME: &'static str = "http";

    pub fn new(sp_base_url: &str) -> Result<Self, DriverError> {
        Self::trusting(sp_base_url, None)
    }

    /// A browser that trusts only `ca_pem` (PEM, one or more certificates: the run's certificate
    /// authority, [`Pair::tls`], or an HTTPS target's `ca_file`) for HTTPS; `None`: the system's
    /// roots, as [`HttpDriver::new`].
    ///
    /// [`Pair::tls`]: crate::harness::Pair::tls
    pub fn trusting(sp_base_url: &str, ca_pem: Option<&[u8]>) -> Result<Self, DriverError> {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let builder = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none());
        let client = match shared_tls(ca_pem) {
            Some(tls) => builder.use_preconfigured_tls(tls),
            // Unusable PEM: reqwest says why.
            None => match ca_pem {
                Some(pem) => {
                    let mut builder = builder.tls_built_in_root_certs(false);
                    for cert in reqwest::Certificate::from_pem_bundle(pem)? {
                        builder = builder.add_root_certificate(cert);
                    }
                    builder
                }
                None => builder,
            },
        }
        .build()?;
        Ok(Self {
            client,
            jar,
            sp_base_url: sp_base_url.trim_end_matches('/').to_owned(),
            posted: std::sync::Mutex::new(Vec::new()),
            redirects: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// `GET` of `path` at the SP, as this browser (its cookies; redirects are not followed).
    async fn get_sp(&self, path: &str) -> Result<reqwest::Response, DriverError> {
        Ok(self
            .client
            .get(format!("{}{path}", self.sp_base_url))
            .send()
            .await?)
    }

    /// Every HTTP-POST binding form this browser submitted (SAMLResponse, SAMLRequest, …),
    /// oldest first: what reports show as the wire exchange.
    pub fn posted_forms(&self) -> Vec<PostForm> {
        self.posted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Every HTTP-Redirect URL this browser followed to an IdP (AuthnRequests), oldest first.
    pub fn redirects(&self) -> Vec<String> {
        self.redirects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The `Cookie` header this browser would send to `url` (`None`: no cookie, or a bad URL).
    pub fn cookies_for(&self, url: &str) -> Option<String> {
        use reqwest::cookie::CookieStore as _;
        let url = url::Url::parse(url).ok()?;
        self.jar
            .cookies(&url)
            .and_then(|v| v.to_str().ok().map(str::to_owned))
    }

    /// GETs `url` with this browser's cookies, without following a redirect: the answer as read.
    pub async fn get_answer(&self, url: &str) -> Result<Answer, DriverError> {
        let response = self.client.get(url).send().await?;
        Answer::read(response).await
    }

    fn record_post(&self, form: &PostForm) {
        self.posted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(form.clone());
    }

    /// SP-initiated: `/login` → the IdP (with `login_hint`) → auto-submit form → ACS → landing.
    pub async fn sign_in(
        &self,
        user: &str,
        relay_state: Option<&str>,
    ) -> Result<SignInOutcome, DriverError> {
        self.sign_in_posted_by(self, user, relay_state).await
    }

    /// SP-initiated through this browser, but the IdP's answer is posted by `poster`, another
    /// browser with its own cookies: login CSRF (this browser is the attacker's, `poster` the
    /// victim's).
    pub async fn sign_in_posted_by(
        &self,
        poster: &HttpDriver,
        user: &str,
        relay_state: Option<&str>,
    ) -> Result<SignInOutcome, DriverError> {
        match self.fetch_idp_form(user, relay_state).await? {
            Ok(form) => poster.submit(&form).await,
            Err(outcome) => Ok(outcome),
        }
    }

    /// SP-initiated from another sign-in path of the SP, e.g. `/login?idp=…` when several IdPs
    /// are configured.
    pub async fn sign_in_at(&self, path: &str, user: &str) -> Result<SignInOutcome, DriverError> {
        let response = self.get_sp(path).await?;
        let location = match login_answer(response).await? {
            Ok(location) => location,
            Err(refused) => return Ok(refused),
        };
        match self.idp_form_at(&location, Some(user)).await? {
            Ok(form) => self.submit(&form).await,
            Err(outcome) => Ok(outcome),
        }
    }

    /// Where the SP's sign-in path redirects to (the IdP's SSO URL with the AuthnRequest).
    pub async fn login_redirect(&self, path: &str) -> Result<String, DriverError> {
        let response = self.get_sp(path).await?;
        redirect_target(&response).ok_or_else(|| {
            unexpected(
                "login",
                format!("expected a redirect to the IdP, got {}", response.status()),
            )
        })
    }

    /// The auto-submit form an IdP answers at `location` for `user`; an error if it refuses.
    pub async fn idp_form(&self, location: &str, user: &str) -> Result<PostForm, DriverError> {
        self.idp_form_at(location, Some(user))
            .await?
            .map_err(|outcome| unexpected("idp", format!("the IdP refused: {outcome:?}")))
    }

    /// Follows `/login` to the IdP and returns the auto-submit form it answers with, unsent.
    pub async fn fetch_idp_form(
        &self,
        user: &str,
        relay_state: Option<&str>,
    ) -> Result<Result<PostForm, SignInOutcome>, DriverError> {
        let mut login = url::Url::parse(&format!("{}/login", self.sp_base_url))
            .map_err(|e| unexpected("login", e.to_string()))?;
        if let Some(relay_state) = relay_state {
            login
                .query_pairs_mut()
                .append_pair("RelayState", relay_state);
        }
        let response = self.client.get(login).send().await?;
        match login_answer(response).await? {
            Ok(location) => self.idp_form_at(&location, Some(user)).await,
            Err(refused) => Ok(Err(refused)),
        }
    }

    /// Follows the SP's redirect to the IdP (adding `login_hint` when given) and returns the
    /// auto-submit form the IdP answers with.
    pub async fn idp_form_at(
        &self,
        location: &str,
        user: Option<&str>,
    ) -> Result<Result<PostForm, SignInOutcome>, DriverError> {
        let mut sso = url::Url::parse(location).map_err(|e| unexpected("login", e.to_string()))?;
        self.redirects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(location.to_owned());
        if let Some(user) = user {
            sso.query_pairs_mut().append_pair("login_hint", user);
        }
        let response = self.client.get(sso).send().await?;
        let status = response.status().as_u16();
        let body = response.text().await?;
        if status != 200 {
            return Ok(Err(SignInOutcome::IdpRefused { status, body }));
        }
        parse_post_form(&body)
            .map(Ok)
            .ok_or_else(|| unexpected("idp", "the IdP's answer holds no auto-submit form"))
    }

    /// IdP-initiated: this browser asks the mock IdP at `idp_base_url` for an unsolicited
    /// response for `user` to the SP `sp_entity_id`, and `poster` (this browser, or another one
    /// for login CSRF) posts it to the ACS.
    pub async fn sign_in_idp_initiated(
        &self,
        poster: &HttpDriver,
        idp_base_url: &str,
        sp_entity_id: &str,
        user: &str,
        relay_state: Option<&str>,
    ) -> Result<SignInOutcome, DriverError> {
        match self
            .idp_initiated_form(idp_base_url, sp_entity_id, user, relay_state)
            .await?
        {
            Ok(form) => poster.submit(&form).await,
            Err(refused) => Ok(refused),
        }
    }

    /// The unsolicited response the mock IdP at `idp_base_url` mints for `user` to the SP
    /// `sp_entity_id`, as its auto-submit form (unsent), or how the IdP refused.
    pub async fn idp_initiated_form(
        &self,
        idp_base_url: &str,
        sp_entity_id: &str,
        user: &str,
        relay_state: Option<&str>,
    ) -> Result<Result<PostForm, SignInOutcome>, DriverError> {
        let mut url = url::Url::parse(&format!(
            "{}/idp-initiated",
            idp_base_url.trim_end_matches('/')
        ))
        .map_err(|e| unexpected("idp-initiated", e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("user", user)
            .append_pair("sp", sp_entity_id);
        if let Some(relay_state) = relay_state {
            url.query_pairs_mut().append_pair("RelayState", relay_state);
        }
        let page = self.visit(url.as_str()).await?;
        if page.status != 200 {
            return Ok(Err(SignInOutcome::IdpRefused {
                status: page.status,
                body: page.body,
            }));
        }
        parse_post_form(&page.body).map(Ok).ok_or_else(|| {
            unexpected(
                "idp-initiated",
                "the IdP's IdP-initiated page holds no auto-submit form",
            )
        })
    }

    /// POSTs a form to its action as the browser's script would, then reads the verdict.
    pub async fn submit(&self, form: &PostForm) -> Result<SignInOutcome, DriverError> {
        self.record_post(form);
        let response = self
            .client
            .post(&form.action)
            .header(ACCEPT, "application/json")
            .form(&form.fields)
            .send()
            .await?;
        let status = response.status().as_u16();
        self.verdict(response, status, "acs").await
    }

    /// Reads an SP answer: a redirect (signed in, or to the linking page) or a JSON/HTML refusal.
    async fn verdict(
        &self,
        response: reqwest::Response,
        status: u16,
        step: &'static str,
    ) -> Result<SignInOutcome, DriverError> {
        if let Some(landing) = redirect_target(&response) {
            if url::Url::parse(&landing).is_ok_and(|u| u.path() == "/link") {
                let page = self.client.get(&landing).send().await?.text().await?;
                return Ok(SignInOutcome::LinkPrompt { page });
            }
            let me = self
                .me()
                .await?
                .ok_or_else(|| unexpected("acs", "redirected, but /me says signed out"))?;
            return Ok(SignInOutcome::SignedIn { landing, me });
        }
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            let page = response.text().await?;
            if status == 401 && page::is_link_prompt(&page) {
                return Ok(SignInOutcome::LinkPrompt { page });
            }
            let code = page::reason_code(&page).ok_or_else(|| {
                unexpected(step, format!("status {status} without a reason code"))
            })?;
            return Ok(SignInOutcome::Refused {
                status,
                code,
                message: String::new(),
                detail: String::new(),
            });
        }
        let body: Value = response.json().await?;
        if status == 200 && body.get("test_sign_in").is_some() {
            let page = serde_json::to_string_pretty(&body["test_sign_in"]).unwrap_or_default();
            return Ok(SignInOutcome::Tested { page });
        }
        let text = |key: &str| body[key].as_str().unwrap_or_default().to_owned();
        Ok(SignInOutcome::Refused {
            status,
            code: text("error"),
            message: text("message"),
            detail: text("detail"),
        })
    }

    /// On the linking page: prove an existing account by its password (`username` only when no
    /// account matched).
    pub async fn link_account(
        &self,
        username: Option<&str>,
        password: &str,
    ) -> Result<SignInOutcome, DriverError> {
        let mut form = vec![("action", "link"), ("password", password)];
        if let Some(username) = username {
            form.push(("username", username));
        }
        let response = self
            .client
            .post(format!("{}/link", self.sp_base_url))
            .form(&form)
            .send()
            .await?;
        let status = response.status().as_u16();
        self.verdict(response, status, "link").await
    }

    /// On the linking page: skip, creating a new user.
    pub async fn skip_linking(&self) -> Result<SignInOutcome, DriverError> {
        let response = self
            .client
            .post(format!("{}/link", self.sp_base_url))
            .form(&[("action", "skip")])
            .send()
            .await?;
        let status = response.status().as_u16();
        self.verdict(response, status, "link").await
    }

    /// Follows an invitation link (`/invite/{token}`) through the IdP as `user`.
    pub async fn accept_invitation(
        &self,
        invitation_path: &str,
        user: &str,
    ) -> Result<SignInOutcome, DriverError> {
        let response = self.get_sp(invitation_path).await?;
        let status = response.status().as_u16();
        let Some(location) = redirect_target(&response) else {
            return self.verdict(response, status, "invite").await;
        };
        match self.idp_form_at(&location, Some(user)).await? {
            Ok(form) => self.submit(&form).await,
            Err(outcome) => Ok(outcome),
        }
    }

    /// What the renewal iframe does: `/renew` → passive AuthnRequest → the IdP (with this
    /// browser's IdP session cookie, no login hint) → its answer posted to the ACS.
    pub async fn renew(&self) -> Result<RenewOutcome, DriverError> {
        let response = self.get_sp("/renew").await?;
        let Some(location) = redirect_target(&response) else {
            // Answered at once, without an IdP: judged by whether the session is still there.
            // No reason code is made up from the status: a server error is its own outcome.
            let status = response.status().as_u16();
            return Ok(match self.me().await? {
                _ if response.status().is_server_error() => RenewOutcome::HttpError { status },
                Some(me) if response.status().is_success() => RenewOutcome::NotRenewed { me },
                Some(_) => RenewOutcome::HttpError { status },
                None => RenewOutcome::NoSession { status },
            });
        };
        let form = match self.idp_form_at(&location, None).await? {
            Ok(form) => form,
            Err(outcome) => {
                return Err(unexpected(
                    "renew",
                    format!("the IdP did not answer the passive request: {outcome:?}"),
                ));
            }
        };
        self.record_post(&form);
        let response = self
            .client
            .post(&form.action)
            .header(ACCEPT, "application/json")
            .form(&form.fields)
            .send()
            .await?;
        let status = response.status().as_u16();
        let Ok(body) = serde_json::from_str::<Value>(&response.text().await?) else {
            return Ok(RenewOutcome::HttpError { status });
        };
        if status == 200 && body["renewed"] == true {
            let me = self
                .me()
                .await?
                .ok_or_else(|| unexpected("renew", "renewed, but /me says signed out"))?;
            return Ok(RenewOutcome::Renewed { me });
        }
        Ok(RenewOutcome::SessionEnded {
            code: body["error"].as_str().unwrap_or_default().to_owned(),
        })
    }

    /// Opens a password-setup link (`/password/setup/{token}`) and sets `password` with its form.
    pub async fn set_password(
        &self,
        path: &str,
        password: &str,
    ) -> Result<PasswordSetOutcome, DriverError> {
        let response = self.get_sp(path).await?;
        let status = response.status().as_u16();
        let page = response.text().await?;
        if status != 200 {
            return refused_setup(status, &page);
        }
        let token = path.rsplit('/').next().unwrap_or_default();
        let response = self
            .client
            .post(format!("{}/password/setup", self.sp_base_url))
            .form(&[("token", token), ("password", password)])
            .send()
            .await?;
        let status = response.status().as_u16();
        if redirect_target(&response).is_some_and(|l| l.contains("password_set=1")) {
            return Ok(PasswordSetOutcome::Set);
        }
        refused_setup(status, &response.text().await?)
    }

    /// The recovery password login (`/login?sso=false`).
    pub async fn recovery_login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<SignInOutcome, DriverError> {
        let response = self
            .client
            .post(format!("{}/login/password", self.sp_base_url))
            .form(&[("username", username), ("password", password)])
            .send()
            .await?;
        let status = response.status().as_u16();
        self.verdict(response, status, "recovery").await
    }

    /// `/me`: the session as JSON, or `None` when signed out.
    pub async fn me(&self) -> Result<Option<Value>, DriverError> {
        let response = self.get_sp("/me").await?;
        match response.status().as_u16() {
            200 => Ok(Some(response.json().await?)),
            401 => Ok(None),
            other => Err(unexpected("me", format!("status {other}"))),
        }
    }

    /// Signs out; see [`sign_out`](Self::sign_out).
    pub async fn logout(&self) -> Result<(), DriverError> {
        self.sign_out().await.map(|_| ())
    }

    /// Signs out like a person: `GET /logout` shows the confirmation page, whose form (carrying
    /// the session's token) is submitted; redirects are followed, e.g. to the IdP's `/slo` and
    /// back to the SP's `/saml/sls`. Without a session the page has no form and is the result.
    pub async fn sign_out(&self) -> Result<Visited, DriverError> {
        match self.submit_sign_out_form().await? {
            Ok(response) => self.follow(response).await,
            Err(page) => Ok(page),
        }
    }

    /// Submits the sign-out form like [`sign_out`](Self::sign_out) but does not follow the
    /// redirect: the URL of the SP's LogoutRequest to the IdP, if it sent one.
    pub async fn sign_out_redirect(&self) -> Result<Option<String>, DriverError> {
        Ok(self
            .submit_sign_out_form()
            .await?
            .ok()
            .and_then(|response| redirect_target(&response)))
    }

    /// `GET /logout`, then a POST of its sign-out form: the SP's answer, or the page itself when
    /// it has no such form (no session).
    async fn submit_sign_out_form(
        &self,
    ) -> Result<Result<reqwest::Response, Visited>, DriverError> {
        let page = self.visit("/logout").await?;
        let Some(form) = page::form_with_action(&page.body, "/logout") else {
            return Ok(Err(page));
        };
        let response = self
            .client
            .post(format!("{}{}", self.sp_base_url, form.action))
            .form(&form.fields)
            .send()
            .await?;
        Ok(Ok(response))
    }

    /// What another site can make this browser do (logout CSRF): request `GET /logout` (a link
    /// or an image), then `POST /logout` without the form's token (an auto-submitted form).
    /// Returns the POST's page.
    pub async fn cross_site_sign_out(&self) -> Result<Visited, DriverError> {
        self.get_sp("/logout").await?;
        let response = self
            .client
            .post(format!("{}/logout", self.sp_base_url))
            .form(&[("csrf_token", "")])
            .send()
            .await?;
        self.follow(response).await
    }

    /// GETs one SP path without following a redirect: the status, the redirect's target (if
    /// any) and the body.
    pub async fn open(&self, path: &str) -> Result<(u16, Option<String>, String), DriverError> {
        let response = self.get_sp(path).await?;
        let status = response.status().as_u16();
        let location = redirect_target(&response);
        Ok((status, location, response.text().await?))
    }

    /// GETs `url` (absolute, or a path on the SP) and follows redirects with this browser's
    /// cookies to the last page: e.g. an IdP's LogoutRequest URL → the SP's `/saml/sls` → the IdP.
    pub async fn visit(&self, url: &str) -> Result<Visited, DriverError> {
        let url = if url.starts_with('/') {
            format!("{}{url}", self.sp_base_url)
        } else {
            url.to_owned()
        };
        let response = self.client.get(&url).send().await?;
        self.follow(response).await
    }

    /// POSTs an HTTP-POST binding form as a browser's script would, without following the
    /// answer's redirect: the answer as read.
    pub async fn post_form(&self, form: &PostForm) -> Result<Answer, DriverError> {
        self.record_post(form);
        let response = self
            .client
            .post(&form.action)
            .form(&form.fields)
            .send()
            .await?;
        Answer::read(response).await
    }

    /// POSTs an HTTP-POST binding form and follows redirects like [`visit`](Self::visit).
    pub async fn post_and_follow(&self, form: &PostForm) -> Result<Visited, DriverError> {
        self.record_post(form);
        let response = self
            .client
            .post(&form.action)
            .form(&form.fields)
            .send()
            .await?;
        self.follow(response).await
    }

    async fn follow(&self, mut response: reqwest::Response) -> Result<Visited, DriverError> {
        let mut hops = vec![response.url().to_string()];
        while let Some(next) = redirect_target(&response) {
            if hops.len() > 10 {
                return Err(unexpected(
                    "follow",
                    format!("too many redirects: {hops:?}"),
                ));
            }
            hops.push(next.clone());
            response = self.client.get(&next).send().await?;
        }
        Ok(Visited {
            status: response.status().as_u16(),
            url: response.url().to_string(),
            hops,
            body: response.text().await?,
        })
    }
}

/// One HTTP answer as read, its redirect not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The redirect's target, absolute.
    pub location: Option<String>,
    pub body: String,
}

impl Answer {
    async fn read(response: reqwest::Response) -> Result<Answer, DriverError> {
        Ok(Answer {
            status: response.status().as_u16(),
            location: redirect_target(&response),
            body: response.text().await?,
        })
    }
}

/// The last page of a chain of redirects followed by [`HttpDriver::visit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visited {
    pub status: u16,
    /// The final URL.
    pub url: String,
    /// Every URL requested, in order.
    pub hops: Vec<String>,
    pub body: String,
}

fn redirect_target(response: &reqwest::Response) -> Option<String> {
    if !response.status().is_redirection() {
        return None;
    }
    let location = response.headers().get(LOCATION)?.to_str().ok()?;
    response.url().join(location).ok().map(String::from)
}

/// A password-setup page that refused: its reason code.
fn refused_setup(status: u16, page: &str) -> Result<PasswordSetOutcome, DriverError> {
    let code = page::reason_code(page).ok_or_else(|| {
        unexpected(
            "password setup",
            format!("status {status} without a reason code"),
        )
    })?;
    Ok(PasswordSetOutcome::Refused { status, code })
}

/// What `/login` answered: the redirect to the IdP, or a refusal page with its reason code (a
/// staged IdP's `idp.not_live`).
async fn login_answer(
    response: reqwest::Response,
) -> Result<Result<String, SignInOutcome>, DriverError> {
    if let Some(location) = redirect_target(&response) {
        return Ok(Ok(location));
    }
    let status = response.status().as_u16();
    let page = response.text().await?;
    if status < 400 {
        return Err(unexpected(
            "login",
            format!("expected a redirect to the IdP, got {status}"),
        ));
    }
    // A generic failure page names no code: the runner reads it from the audit log.
    Ok(Err(SignInOutcome::Refused {
        status,
        code: page::reason_code(&page).unwrap_or_default(),
        message: String::new(),
        detail: String::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    /// An SP whose `/renew` answers `renew` and whose `/me` says nobody is signed in.
    async fn sp_answering(renew: StatusCode) -> String {
        let app = axum::Router::new()
            .route("/renew", axum::routing::get(move || async move { renew }))
            .route(
                "/me",
                axum::routing::get(|| async { StatusCode::UNAUTHORIZED }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }

    /// A 500 from `/renew` used to become `SessionEnded { code: "http.500" }`, a reason code no
    /// SP gave, which a `session_ended` step without a code accepted.
    #[tokio::test]
    async fn a_server_error_is_no_ended_session() {
        let driver =
            HttpDriver::new(&sp_answering(StatusCode::INTERNAL_SERVER_ERROR).await).unwrap();
        assert_eq!(
            driver.renew().await.unwrap(),
            RenewOutcome::HttpError { status: 500 }
        );
        let driver = HttpDriver::new(&sp_answering(StatusCode::UNAUTHORIZED).await).unwrap();
        assert_eq!(
            driver.renew().await.unwrap(),
            RenewOutcome::NoSession { status: 401 }
        );
    }
}
