//! The HTTP driver: plays the browser with reqwest (cookie jar, redirects followed by hand so
//! that every hop is observable) through SP-initiated and IdP-initiated sign-in.

use reqwest::header::{ACCEPT, LOCATION};
use reqwest::redirect::Policy;
use serde_json::Value;

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

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("unexpected answer at {step}: {detail}")]
    Unexpected { step: &'static str, detail: String },
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

/// One browser: its own cookie jar.
pub struct HttpDriver {
    client: reqwest::Client,
    sp_base_url: String,
}

impl HttpDriver {
    pub fn new(sp_base_url: &str) -> Result<Self, DriverError> {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()?;
        Ok(Self {
            client,
            sp_base_url: sp_base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// SP-initiated: `/login` → the IdP (with `login_hint`) → auto-submit form → ACS → landing.
    pub async fn sign_in(
        &self,
        user: &str,
        relay_state: Option<&str>,
    ) -> Result<SignInOutcome, DriverError> {
        let form = match self.fetch_idp_form(user, relay_state).await? {
            Ok(form) => form,
            Err(outcome) => return Ok(outcome),
        };
        self.submit(&form).await
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
        let location = redirect_target(&response).ok_or_else(|| {
            unexpected(
                "login",
                format!("expected a redirect to the IdP, got {}", response.status()),
            )
        })?;
        let mut sso = url::Url::parse(&location).map_err(|e| unexpected("login", e.to_string()))?;
        sso.query_pairs_mut().append_pair("login_hint", user);
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

    /// IdP-initiated: the mock IdP mints an unsolicited response for `user`.
    pub async fn sign_in_idp_initiated(
        &self,
        idp_base_url: &str,
        sp_entity_id: &str,
        user: &str,
    ) -> Result<SignInOutcome, DriverError> {
        let mut url = url::Url::parse(&format!(
            "{}/idp-initiated",
            idp_base_url.trim_end_matches('/')
        ))
        .map_err(|e| unexpected("idp-initiated", e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("user", user)
            .append_pair("sp", sp_entity_id);
        let response = self.client.get(url).send().await?;
        let status = response.status().as_u16();
        let body = response.text().await?;
        if status != 200 {
            return Ok(SignInOutcome::IdpRefused { status, body });
        }
        let form = parse_post_form(&body)
            .ok_or_else(|| unexpected("idp-initiated", "no auto-submit form"))?;
        self.submit(&form).await
    }

    /// POSTs a form to its action as the browser's script would, then reads the verdict.
    pub async fn submit(&self, form: &PostForm) -> Result<SignInOutcome, DriverError> {
        let response = self
            .client
            .post(&form.action)
            .header(ACCEPT, "application/json")
            .form(&form.fields)
            .send()
            .await?;
        let status = response.status().as_u16();
        if let Some(landing) = redirect_target(&response) {
            let me = self
                .me()
                .await?
                .ok_or_else(|| unexpected("acs", "redirected, but /me says signed out"))?;
            return Ok(SignInOutcome::SignedIn { landing, me });
        }
        let body: Value = response.json().await.map_err(|e| {
            unexpected(
                "acs",
                format!("status {status} with a body that is not JSON: {e}"),
            )
        })?;
        let text = |key: &str| body[key].as_str().unwrap_or_default().to_owned();
        Ok(SignInOutcome::Refused {
            status,
            code: text("error"),
            message: text("message"),
            detail: text("detail"),
        })
    }

    /// `/me`: the session as JSON, or `None` when signed out.
    pub async fn me(&self) -> Result<Option<Value>, DriverError> {
        let response = self
            .client
            .get(format!("{}/me", self.sp_base_url))
            .send()
            .await?;
        match response.status().as_u16() {
            200 => Ok(Some(response.json().await?)),
            401 => Ok(None),
            other => Err(unexpected("me", format!("status {other}"))),
        }
    }

    pub async fn logout(&self) -> Result<(), DriverError> {
        self.client
            .get(format!("{}/logout", self.sp_base_url))
            .send()
            .await?;
        Ok(())
    }
}

fn redirect_target(response: &reqwest::Response) -> Option<String> {
    if !response.status().is_redirection() {
        return None;
    }
    let location = response.headers().get(LOCATION)?.to_str().ok()?;
    response.url().join(location).ok().map(String::from)
}

/// Reads the first `<form>`'s action and its `<input name=… value=…>` fields. Enough for the
/// HTTP-POST binding's auto-submit pages; not a general HTML parser.
pub fn parse_post_form(html: &str) -> Option<PostForm> {
    let form_start = html.find("<form")?;
    let form_tag_end = form_start + html[form_start..].find('>')?;
    let action = attribute(&html[form_start..form_tag_end], "action")?;
    let form_end = html[form_tag_end..]
        .find("</form>")
        .map_or(html.len(), |i| form_tag_end + i);
    let mut fields = Vec::new();
    let mut rest = &html[form_tag_end..form_end];
    while let Some(start) = rest.find("<input") {
        let end = start + rest[start..].find('>')?;
        let tag = &rest[start..end];
        if let (Some(name), value) = (attribute(tag, "name"), attribute(tag, "value")) {
            fields.push((name, value.unwrap_or_default()));
        }
        rest = &rest[end..];
    }
    Some(PostForm { action, fields })
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut search = tag;
    loop {
        let at = search.find(name)?;
        let before_ok = at == 0 || search.as_bytes()[at - 1].is_ascii_whitespace();
        let after = search[at + name.len()..].trim_start();
        if before_ok && after.starts_with('=') {
            let value = after[1..].trim_start();
            let quote = value.chars().next()?;
            if quote == '"' || quote == '\'' {
                let inner = &value[1..];
                return Some(unescape_html(&inner[..inner.find(quote)?]));
            }
            let end = value
                .find(|c: char| c.is_whitespace() || c == '>')
                .unwrap_or(value.len());
            return Some(unescape_html(&value[..end]));
        }
        search = &search[at + name.len()..];
    }
}

fn unescape_html(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_auto_submit_form() {
        let html = r#"<html><body onload="x"><form method="post" action="http://sp.example/saml/acs?a=1&amp;b=2">
<input type="hidden" name="SAMLResponse" value="PHg+&#x2F;">
<input type='hidden' name='RelayState' value='/p?q=&quot;1&quot;'/>
<noscript><input type="submit" value="Continue"></noscript></form></body></html>"#;
        let form = parse_post_form(html).unwrap();
        assert_eq!(form.action, "http://sp.example/saml/acs?a=1&b=2");
        assert_eq!(form.field("SAMLResponse"), Some("PHg+/"));
        assert_eq!(form.field("RelayState"), Some("/p?q=\"1\""));
    }

    #[test]
    fn no_form_is_none() {
        assert!(parse_post_form("<p>login</p>").is_none());
    }
}
