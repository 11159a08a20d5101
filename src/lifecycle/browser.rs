//! A browser without sockets: requests go to the SP's and the mock IdP's axum routers through
//! `tower::ServiceExt::oneshot`, chosen by the URL's host, with a cookie jar per browser and
//! redirects followed by hand (as `crate::driver::HttpDriver` does over loopback).

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use tower::ServiceExt as _;

use crate::driver::PostForm;

/// The SP's origin in the lifecycle world.
pub const SP_BASE: &str = "http://sp.test";
/// The mock IdP's origin.
pub const IDP_BASE: &str = "http://idp.test";

/// Bodies larger than this are a failure of the world, not something a browser must hold.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The two servers a browser can reach.
#[derive(Clone)]
pub struct Servers {
    pub sp: Router,
    pub idp: Router,
}

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// `Location`, made absolute against the request URL.
    pub location: Option<String>,
    pub content_type: String,
    pub body: String,
}

impl Answer {
    pub fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status) && self.location.is_some()
    }
}

/// A browser: cookies by (host, name), and every 5xx it saw (a crash-shaped answer).
#[derive(Debug, Default, Clone)]
pub struct Browser {
    jar: BTreeMap<(String, String), String>,
    pub server_errors: Vec<String>,
}

impl Browser {
    /// A cookie this browser holds for `host`.
    pub fn cookie(&self, host: &str, name: &str) -> Option<&str> {
        self.jar
            .get(&(host.to_owned(), name.to_owned()))
            .map(String::as_str)
    }

    pub async fn get(&mut self, servers: &Servers, url: &str) -> Result<Answer, String> {
        self.send(servers, Method::GET, url, None, false).await
    }

    /// POSTs form fields (urlencoded); `json` asks for a JSON answer, as the driver's script does.
    pub async fn post(
        &mut self,
        servers: &Servers,
        url: &str,
        fields: &[(String, String)],
        json: bool,
    ) -> Result<Answer, String> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(servers, Method::POST, url, Some(body), json)
            .await
    }

    /// Submits an HTTP-POST binding form.
    pub async fn submit(
        &mut self,
        servers: &Servers,
        form: &PostForm,
        json: bool,
    ) -> Result<Answer, String> {
        let action = absolute(SP_BASE, &form.action)?;
        self.post(servers, &action, &form.fields, json).await
    }

    /// Follows redirects from `answer` (at most 10) with GETs.
    pub async fn follow(
        &mut self,
        servers: &Servers,
        mut answer: Answer,
    ) -> Result<Answer, String> {
        for _ in 0..10 {
            let Some(next) = answer.location.clone().filter(|_| answer.is_redirect()) else {
                return Ok(answer);
            };
            answer = self.get(servers, &next).await?;
        }
        Err("more than 10 redirects".into())
    }

    async fn send(
        &mut self,
        servers: &Servers,
        method: Method,
        url: &str,
        form: Option<String>,
        json: bool,
    ) -> Result<Answer, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        let host = parsed.host_str().unwrap_or_default().to_owned();
        let router = match host.as_str() {
            "sp.test" => servers.sp.clone(),
            "idp.test" => servers.idp.clone(),
            other => return Err(format!("no server at {other:?} ({url})")),
        };
        let path_and_query = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_owned(),
        };
        let mut request = Request::builder()
            .method(method.clone())
            .uri(&path_and_query)
            .header(header::HOST, &host);
        let cookies: Vec<String> = self
            .jar
            .iter()
            .filter(|((h, _), _)| *h == host)
            .map(|((_, name), value)| format!("{name}={value}"))
            .collect();
        if !cookies.is_empty() {
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        if json {
            request = request.header(header::ACCEPT, "application/json");
        }
        let body = match form {
            Some(form) => {
                request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(form)
            }
            None => Body::empty(),
        };
        let request = request.body(body).map_err(|e| e.to_string())?;
        let response = router
            .oneshot(request)
            .await
            .map_err(|e| format!("{e:?}"))?;
        let status = response.status().as_u16();
        for value in response.headers().get_all(header::SET_COOKIE) {
            if let Ok(text) = value.to_str() {
                self.set_cookie(&host, text);
            }
        }
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| parsed.join(l).ok())
            .map(String::from);
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = axum::body::to_bytes(response.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|e| format!("{url}: body: {e}"))?;
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if status >= 500 {
            self.server_errors
                .push(format!("{method} {path_and_query} at {host}: {status}"));
        }
        Ok(Answer {
            status,
            location,
            content_type,
            body,
        })
    }

    /// Keeps or drops a cookie. Attributes other than a zero or negative `Max-Age` are ignored:
    /// both servers are one site here, and every cookie is sent back to the host that set it.
    fn set_cookie(&mut self, host: &str, header: &str) {
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
            return;
        };
        let expired = parts.any(|attr| {
            let attr = attr.trim().to_ascii_lowercase();
            attr.strip_prefix("max-age=")
                .is_some_and(|age| age.trim().parse::<i64>().is_ok_and(|age| age <= 0))
        });
        let key = (host.to_owned(), name.trim().to_owned());
        if expired || value.trim().is_empty() {
            self.jar.remove(&key);
        } else {
            self.jar.insert(key, value.trim().to_owned());
        }
    }
}

/// `url` made absolute against `base` (forms may carry a path).
fn absolute(base: &str, url: &str) -> Result<String, String> {
    url::Url::parse(base)
        .and_then(|b| b.join(url))
        .map(String::from)
        .map_err(|e| format!("{url}: {e}"))
}
