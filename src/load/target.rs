//! `samlconf load --target FILE`: sign-ins against an SP we do not control, described by a
//! target file (`docs/targets.md`), with the mock IdP in this process at the target's
//! `idp_listen` (the fixed test key, which the target trusts). Each sign-in is judged by effect:
//! the target's whoami in that browser names the user afterwards.
//!
//! Only the keys a sign-in needs are read here, by [`read_target`]; the full loader
//! (`samlconf::target`, metadata and all) replaces it when it lands.

use std::path::Path;
use std::sync::Arc;

use reqwest::redirect::Policy;

use super::AttemptResult;

/// What a load run needs of a target file.
#[derive(Debug, Clone)]
pub struct LoadTarget {
    pub name: String,
    pub entity_id: String,
    pub acs_url: String,
    pub slo_url: Option<String>,
    pub idp_listen: String,
    /// `[start] login_url`: SP-initiated; `None`: IdP-initiated (the mock IdP's unsolicited
    /// response).
    pub login_url: Option<String>,
    pub whoami_url: String,
    pub whoami: Whoami,
    /// Error page text → reason code; the longest match wins.
    pub error_map: Vec<(String, String)>,
}

/// How the whoami answer names who is signed in.
#[derive(Debug, Clone)]
pub enum Whoami {
    /// RFC 6901 pointer to the NameID in a JSON answer.
    JsonPointer(String),
    /// Signed in iff this cookie is set (who cannot be told).
    Cookie(String),
}

fn string<'t>(table: &'t toml::Table, key: &str) -> Option<&'t str> {
    table.get(key).and_then(|v| v.as_str())
}

/// Reads the keys of a target file that a load run uses: `name`, `entity_id`, `acs_url`,
/// `slo_url`, `idp_listen`, `[start] login_url`, `[whoami] url` with `json_pointer` or `cookie`,
/// `[error_map]`. Other keys are left to `samlconf run --target`.
pub fn read_target(path: &Path) -> Result<LoadTarget, String> {
    let at = |e: String| format!("{}: {e}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| at(e.to_string()))?;
    let file: toml::Table = toml::from_str(&text).map_err(|e| at(e.message().to_owned()))?;
    let required = |table: &toml::Table, key: &str| {
        string(table, key).map(str::to_owned).ok_or_else(|| {
            at(format!(
                "`{key}` is missing (load --target does not read `metadata`)"
            ))
        })
    };
    let section = |name: &str| file.get(name).and_then(|v| v.as_table());
    let empty = toml::Table::new();
    let whoami_table = section("whoami").ok_or_else(|| at("`[whoami]` is missing".into()))?;
    let whoami = match (
        string(whoami_table, "json_pointer"),
        string(whoami_table, "cookie"),
    ) {
        (Some(pointer), _) => Whoami::JsonPointer(pointer.to_owned()),
        (None, Some(cookie)) => Whoami::Cookie(cookie.to_owned()),
        (None, None) => {
            return Err(at(
                "load --target reads `[whoami] json_pointer` or `cookie` (not `body_pattern`)"
                    .into(),
            ));
        }
    };
    let mut error_map: Vec<(String, String)> = section("error_map")
        .unwrap_or(&empty)
        .iter()
        .filter_map(|(text, code)| Some((text.clone(), code.as_str()?.to_owned())))
        .collect();
    error_map.sort_by_key(|(text, _)| std::cmp::Reverse(text.len()));
    Ok(LoadTarget {
        name: required(&file, "name")?,
        entity_id: required(&file, "entity_id")?,
        acs_url: required(&file, "acs_url")?,
        slo_url: string(&file, "slo_url").map(str::to_owned),
        idp_listen: required(&file, "idp_listen")?,
        login_url: section("start").and_then(|s| string(s, "login_url").map(str::to_owned)),
        whoami_url: required(whoami_table, "url")
            .map_err(|_| at("`[whoami] url` is missing".into()))?,
        whoami,
        error_map,
    })
}

impl LoadTarget {
    pub fn idp_base_url(&self) -> String {
        format!("http://{}", self.idp_listen)
    }

    fn code_for(&self, body: &str) -> Option<&str> {
        let mut entries = self.error_map.iter();
        entries.find_map(|(text, code)| body.contains(text.as_str()).then_some(code.as_str()))
    }
}

/// The mock IdP the target trusts, serving at its `idp_listen` until dropped.
pub struct TargetIdp {
    task: tokio::task::JoinHandle<()>,
}

impl TargetIdp {
    pub async fn start(target: &LoadTarget) -> Result<TargetIdp, String> {
        let listener = tokio::net::TcpListener::bind(&target.idp_listen)
            .await
            .map_err(|e| format!("the mock IdP cannot listen on {}: {e}", target.idp_listen))?;
        let base_url = target.idp_base_url();
        let config = mock_idp::server::IdpConfig {
            entity_id: format!("{base_url}/metadata"),
            base_url,
            service_providers: vec![mock_idp::server::KnownSp {
                entity_id: target.entity_id.clone(),
                acs_urls: vec![target.acs_url.clone()],
                slo_url: target.slo_url.clone(),
                signing_cert_pem: None,
                encryption_cert_pem: None,
            }],
            users: mock_idp::users::demo_users(),
            default_profile: "valid".into(),
            deterministic: false,
            forbid_framing: false,
            want_authn_requests_signed: false,
        };
        config.check().map_err(|e| format!("mock IdP: {e}"))?;
        let keys = mock_idp::keys::IdpKeys::fixed_for_tests();
        let clock = Arc::new(plumbing::clock::SystemClock);
        let app = mock_idp::server::router(mock_idp::server::Idp::new(config, keys, clock));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the target's mock IdP stopped");
            }
        });
        Ok(TargetIdp { task })
    }
}

impl Drop for TargetIdp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Redirects followed within one step (the target's login, its landing after the ACS).
const MAX_HOPS: usize = 8;

/// One sign-in of `user` at `target` in a fresh browser, judged by its whoami.
pub async fn sign_in(target: &LoadTarget, user: &str) -> AttemptResult {
    match try_sign_in(target, user).await {
        Ok(result) => result,
        Err(e) => AttemptResult::Broken(e),
    }
}

async fn try_sign_in(target: &LoadTarget, user: &str) -> Result<AttemptResult, String> {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let idp = target.idp_base_url();
    let mut sso = match &target.login_url {
        Some(login) => {
            let (status, at, _) = follow(&browser, login, |url| url.starts_with(&idp)).await?;
            if !at.starts_with(&idp) {
                return Ok(AttemptResult::Broken(format!(
                    "the login URL did not lead to the mock IdP ({status} at {at})"
                )));
            }
            url::Url::parse(&at).map_err(|e| e.to_string())?
        }
        None => {
            let mut url =
                url::Url::parse(&format!("{idp}/idp-initiated")).map_err(|e| e.to_string())?;
            url.query_pairs_mut().append_pair("sp", &target.entity_id);
            url
        }
    };
    sso.query_pairs_mut().append_pair(
        if target.login_url.is_some() {
            "login_hint"
        } else {
            "user"
        },
        user,
    );
    let page = browser.get(sso).send().await.map_err(|e| e.to_string())?;
    let status = page.status().as_u16();
    let page = page.text().await.map_err(|e| e.to_string())?;
    let Some(form) = crate::driver::parse_post_form(&page) else {
        return Ok(AttemptResult::Broken(format!(
            "the mock IdP answered {status} without a form"
        )));
    };
    let answer = browser
        .post(&form.action)
        .form(&form.fields)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let acs_status = answer.status().as_u16();
    let body = match redirect(&answer, &form.action) {
        Some(next) => follow(&browser, &next, |_| false).await?.2,
        None => answer.text().await.map_err(|e| e.to_string())?,
    };
    let who = whoami(target, &browser, &jar).await?;
    Ok(match who {
        Who::User(name) if name == user => AttemptResult::Accepted,
        Who::Somebody => AttemptResult::Accepted,
        Who::User(other) => AttemptResult::Broken(format!("signed in as {other}")),
        Who::Nobody => match target.code_for(&body) {
            Some(code) => AttemptResult::Refused(code.to_owned()),
            None => AttemptResult::Broken(format!(
                "nobody signed in; the ACS answered {acs_status}, a page no [error_map] entry matches"
            )),
        },
    })
}

enum Who {
    Nobody,
    User(String),
    /// Signed in by the whoami cookie, which does not tell who.
    Somebody,
}

async fn whoami(
    target: &LoadTarget,
    browser: &reqwest::Client,
    jar: &reqwest::cookie::Jar,
) -> Result<Who, String> {
    match &target.whoami {
        Whoami::Cookie(name) => {
            use reqwest::cookie::CookieStore as _;
            let url = url::Url::parse(&target.whoami_url).map_err(|e| e.to_string())?;
            let cookies = jar.cookies(&url);
            let cookies = cookies.as_ref().and_then(|c| c.to_str().ok()).unwrap_or("");
            let set = cookies.split("; ").any(|c| {
                c.split_once('=')
                    .is_some_and(|(n, v)| n == name && !v.is_empty())
            });
            Ok(if set { Who::Somebody } else { Who::Nobody })
        }
        Whoami::JsonPointer(pointer) => {
            let answer = browser
                .get(&target.whoami_url)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = answer.status().as_u16();
            if matches!(status, 401 | 403 | 404) || answer.status().is_redirection() {
                return Ok(Who::Nobody);
            }
            let me: serde_json::Value = answer
                .json()
                .await
                .map_err(|e| format!("whoami ({status}): {e}"))?;
            Ok(match me.pointer(pointer).and_then(|v| v.as_str()) {
                Some(name) if !name.is_empty() => Who::User(name.to_owned()),
                _ => Who::Nobody,
            })
        }
    }
}

/// GETs `url` and follows redirects (at most [`MAX_HOPS`]) until `stop_at` a URL or a page:
/// the last status, URL and body (empty when stopped at a URL).
async fn follow(
    browser: &reqwest::Client,
    url: &str,
    stop_at: impl Fn(&str) -> bool,
) -> Result<(u16, String, String), String> {
    let mut url = url.to_owned();
    for _ in 0..MAX_HOPS {
        let answer = browser.get(&url).send().await.map_err(|e| e.to_string())?;
        let status = answer.status().as_u16();
        match redirect(&answer, &url) {
            Some(next) if stop_at(&next) => return Ok((status, next, String::new())),
            Some(next) => url = next,
            None => {
                let body = answer.text().await.map_err(|e| e.to_string())?;
                return Ok((status, url, body));
            }
        }
    }
    Err(format!("more than {MAX_HOPS} redirects from {url}"))
}

/// Where a redirect answer to `base` points, absolute.
fn redirect(answer: &reqwest::Response, base: &str) -> Option<String> {
    if !answer.status().is_redirection() {
        return None;
    }
    let location = answer
        .headers()
        .get(reqwest::header::LOCATION)?
        .to_str()
        .ok()?;
    let base = url::Url::parse(base).ok()?;
    base.join(location).ok().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_python3_saml_target() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/targets/python3-saml/target.toml");
        let target = read_target(&path).unwrap();
        assert_eq!(target.idp_listen, "127.0.0.1:8100");
        assert_eq!(
            target.login_url.as_deref(),
            Some("http://127.0.0.1:8101/login")
        );
        assert!(matches!(&target.whoami, Whoami::JsonPointer(p) if p == "/name_id"));
        // The longest matching text wins.
        let page = "SAML refused: Signature validation failed. Found an invalid Signed Element";
        assert_eq!(target.code_for(page), Some("signature.reference_mismatch"));
    }
}
