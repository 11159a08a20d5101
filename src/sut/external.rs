//! An SP we do not control, as its target file describes it ([`crate::target`]). The oracle is
//! the target's whoami alone: a sign-in succeeded when the browser has a new session afterwards,
//! whatever the pages said; a refusal's reason code is whatever the target's `error_map` finds on
//! its page (none, if nothing matches). It offers no admin actions and no flows of its own.

use serde_json::Value;

use super::{BoxFuture, SignInStart, SpUnderTest, Whoami, needs_http_driver, not_offered};
use crate::driver::{Answer, Driver, DriverError, HttpDriver, PostForm, SignInOutcome, Visited};
use crate::target::Target;

/// How many redirects a browser follows within one exchange.
const MAX_HOPS: usize = 10;

pub struct ExternalSp {
    target: Target,
    /// The scheme, host and port of the ACS: the SP's origin.
    origin: String,
}

impl ExternalSp {
    pub fn new(target: Target) -> ExternalSp {
        let origin = url::Url::parse(&target.acs_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| target.acs_url.clone());
        ExternalSp { target, origin }
    }

    /// The HTTP driver's browser: the harness drives a target with it alone.
    fn http<'a>(&self, browser: &'a Driver) -> Result<&'a HttpDriver, String> {
        match browser {
            Driver::Http(http) => Ok(http),
            Driver::Browser(_) => Err(needs_http_driver(&self.target.name)),
        }
    }

    fn on_sp(&self, url: &str) -> bool {
        url::Url::parse(url).is_ok_and(|u| u.origin().ascii_serialization() == self.origin)
    }

    /// Follows `answer`'s redirects while they stay on the SP: the last answer, and its URL.
    async fn follow_on_sp(
        &self,
        browser: &HttpDriver,
        mut answer: Answer,
        mut url: String,
    ) -> Result<(Answer, String), DriverError> {
        for _ in 0..MAX_HOPS {
            match answer.location.clone() {
                Some(next) if self.on_sp(&next) => {
                    answer = browser.get_answer(&next).await?;
                    url = next;
                }
                _ => break,
            }
        }
        Ok((answer, url))
    }

    async fn whoami_of(&self, browser: &HttpDriver) -> Result<Option<Whoami>, String> {
        let spec = &self.target.whoami;
        let Some(url) = &spec.url else {
            // Signed in iff the cookie is set: its value tells sessions apart.
            let name = spec.cookie.as_deref().unwrap_or_default();
            let cookies = browser.cookies_for(&self.origin).unwrap_or_default();
            return Ok(cookies
                .split(';')
                .map(str::trim)
                .find_map(|c| c.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
                .filter(|v| !v.is_empty())
                .map(|value| Whoami {
                    name_id: None,
                    roles: None,
                    raw: Value::Null,
                    fingerprint: value.to_owned(),
                }));
        };
        let answer = browser.get_answer(url).await.map_err(|e| e.to_string())?;
        if answer.location.is_some() || matches!(answer.status, 401 | 403 | 404) {
            return Ok(None);
        }
        if answer.status != 200 {
            return Err(format!("whoami {url}: status {}", answer.status));
        }
        let text = |v: &Value| match v {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        let json: Option<Value> = serde_json::from_str(&answer.body).ok();
        let name_id = if let Some(pointer) = &spec.json_pointer {
            json.as_ref()
                .and_then(|j| j.pointer(pointer))
                .and_then(text)
        } else if let Some(pattern) = &spec.body_pattern {
            // Checked when the target was loaded.
            regex::Regex::new(pattern)
                .ok()
                .and_then(|r| r.captures(&answer.body))
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_owned())
                .filter(|n| !n.is_empty())
        } else {
            None
        };
        let Some(name_id) = name_id else {
            return Ok(None);
        };
        let roles = spec
            .roles_pointer
            .as_ref()
            .and_then(|p| json.as_ref().and_then(|j| j.pointer(p)))
            .and_then(Value::as_array)
            .map(|roles| roles.iter().filter_map(text).collect());
        Ok(Some(Whoami {
            name_id: Some(name_id),
            roles,
            raw: json.unwrap_or(Value::Null),
            fingerprint: answer.body,
        }))
    }
}

fn err(e: DriverError) -> String {
    e.to_string()
}

/// The start of a page, for the report.
fn excerpt(body: &str) -> String {
    let mut end = body.len().min(500);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    body[..end].to_owned()
}

impl SpUnderTest for ExternalSp {
    fn name(&self) -> &str {
        &self.target.name
    }

    fn entity_id(&self) -> String {
        self.target.entity_id.clone()
    }

    fn acs_url(&self) -> String {
        self.target.acs_url.clone()
    }

    fn slo_url(&self) -> Option<String> {
        self.target.slo_url.clone()
    }

    fn codes_are_exact(&self) -> bool {
        false
    }

    fn browser(&self) -> Result<Driver, String> {
        HttpDriver::trusting(&self.origin, self.target.ca_pem.as_deref())
            .map(Driver::Http)
            .map_err(err)
    }

    fn sign_in<'a>(
        &'a self,
        browser: &'a Driver,
        poster: &'a Driver,
        start: SignInStart<'a>,
    ) -> BoxFuture<'a, Result<SignInOutcome, String>> {
        Box::pin(async move {
            if start.test {
                return Err(super::not_offered(
                    "a test sign-in of a staged IdP",
                    self.name(),
                ));
            }
            let browser = self.http(browser)?;
            let login = self.target.start.login_url.as_deref().ok_or_else(|| {
                not_offered(
                    "an SP-initiated sign-in (no [start] login_url)",
                    self.name(),
                )
            })?;
            let idp = self.target.idp_base_url();
            let mut answer = browser.get_answer(login).await.map_err(err)?;
            for _ in 0..MAX_HOPS {
                let Some(next) = answer.location.clone() else {
                    break;
                };
                if next.starts_with(&idp) {
                    // HTTP-Redirect binding: the IdP answers with its auto-submit form.
                    return match browser
                        .idp_form_at(&next, Some(start.user))
                        .await
                        .map_err(err)?
                    {
                        Ok(form) => self.post_response(poster, &form).await,
                        Err(refused) => Ok(refused),
                    };
                }
                answer = browser.get_answer(&next).await.map_err(err)?;
            }
            // HTTP-POST binding: the SP's page posts the AuthnRequest to the IdP.
            let mut form = crate::driver::parse_post_form(&answer.body)
                .filter(|f| f.action.starts_with(&idp))
                .ok_or_else(|| {
                    format!(
                        "{login} led neither to a redirect nor to a form to the IdP at {idp} \
                         (status {})",
                        answer.status
                    )
                })?;
            form.fields
                .push(("login_hint".into(), start.user.to_owned()));
            let page = browser.post_form(&form).await.map_err(err)?;
            match crate::driver::parse_post_form(&page.body).filter(|_| page.status == 200) {
                Some(response) => self.post_response(poster, &response).await,
                None => Ok(SignInOutcome::IdpRefused {
                    status: page.status,
                    body: page.body,
                }),
            }
        })
    }

    fn post_response<'a>(
        &'a self,
        browser: &'a Driver,
        form: &'a PostForm,
    ) -> BoxFuture<'a, Result<SignInOutcome, String>> {
        Box::pin(async move {
            let browser = self.http(browser)?;
            let before = self.whoami_of(browser).await?.map(|w| w.fingerprint);
            let answer = browser.post_form(form).await.map_err(err)?;
            let (last, url) = self
                .follow_on_sp(browser, answer, form.action.clone())
                .await
                .map_err(err)?;
            match self.whoami_of(browser).await? {
                Some(me) if before.as_ref() != Some(&me.fingerprint) => {
                    Ok(SignInOutcome::SignedIn {
                        landing: last.location.unwrap_or(url),
                        me: me.raw,
                    })
                }
                _ => Ok(SignInOutcome::Refused {
                    status: last.status,
                    code: self.target.code_for(&last.body).unwrap_or_default(),
                    message: String::new(),
                    detail: excerpt(&last.body),
                }),
            }
        })
    }

    fn whoami<'a>(&'a self, browser: &'a Driver) -> BoxFuture<'a, Result<Option<Whoami>, String>> {
        Box::pin(async move { self.whoami_of(self.http(browser)?).await })
    }

    fn sign_out<'a>(
        &'a self,
        browser: &'a Driver,
        cross_site: bool,
    ) -> BoxFuture<'a, Result<Visited, String>> {
        Box::pin(async move {
            let browser = self.http(browser)?;
            let logout = self
                .target
                .start
                .logout_url
                .as_deref()
                .filter(|_| !cross_site)
                .ok_or_else(|| {
                    not_offered("an SP-initiated logout the harness knows", self.name())
                })?;
            browser.visit(logout).await.map_err(err)
        })
    }
}
