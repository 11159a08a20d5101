//! What the browser sent and received, read from chromedriver's performance log (Chromium's
//! DevTools `Network` events, `goog:loggingPrefs`): the forms it posted and the URLs it
//! requested, for the report's decoded SAML exchange and for `replay`; and the first answer to a
//! navigation, for `visit`, which a browser follows past its redirect.

use serde_json::{Value, json};

use crate::driver::PostForm;

/// One request the browser made, as the log tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Request {
    pub(super) id: String,
    pub(super) method: String,
    pub(super) url: String,
    /// A form's `application/x-www-form-urlencoded` body.
    pub(super) post_data: Option<String>,
    /// When this request follows a redirect: that redirect's status and `Location`.
    pub(super) redirected_by: Option<(u16, Option<String>)>,
}

/// What one read of the log held.
#[derive(Debug, Default)]
pub(super) struct Traffic {
    pub(super) requests: Vec<Request>,
    /// Final answers: request ID → HTTP status.
    pub(super) responses: Vec<(String, u16)>,
}

/// The chromedriver capability that turns the log on (network events only: page events are
/// not read).
pub(super) fn logging_capabilities() -> (Value, Value) {
    (
        json!({ "performance": "ALL" }),
        json!({ "enableNetwork": true, "enablePage": false }),
    )
}

/// Reads the entries of `GET /session/{id}/se/log` for `performance`.
pub(super) fn parse(entries: &Value) -> Traffic {
    let mut traffic = Traffic::default();
    for entry in entries.as_array().into_iter().flatten() {
        let Some(message) = entry["message"]
            .as_str()
            .and_then(|m| serde_json::from_str::<Value>(m).ok())
        else {
            continue;
        };
        let event = &message["message"];
        let params = &event["params"];
        match event["method"].as_str() {
            Some("Network.requestWillBeSent") => {
                let request = &params["request"];
                let redirected_by = params.get("redirectResponse").map(|r| {
                    (
                        r["status"].as_u64().unwrap_or(0) as u16,
                        header(&r["headers"], "location"),
                    )
                });
                traffic.requests.push(Request {
                    id: params["requestId"].as_str().unwrap_or_default().to_owned(),
                    method: request["method"].as_str().unwrap_or_default().to_owned(),
                    url: request["url"].as_str().unwrap_or_default().to_owned(),
                    post_data: post_data(request),
                    redirected_by,
                });
            }
            Some("Network.responseReceived") => traffic.responses.push((
                params["requestId"].as_str().unwrap_or_default().to_owned(),
                params["response"]["status"].as_u64().unwrap_or(0) as u16,
            )),
            _ => {}
        }
    }
    traffic
}

fn header(headers: &Value, name: &str) -> Option<String> {
    headers.as_object().and_then(|h| {
        h.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str().map(str::to_owned))
    })
}

fn post_data(request: &Value) -> Option<String> {
    if let Some(data) = request["postData"].as_str() {
        return Some(data.to_owned());
    }
    // Newer Chromium: the body in base64 parts.
    use base64::Engine as _;
    let parts = request["postDataEntries"].as_array()?;
    let mut body = Vec::new();
    for part in parts {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(part["bytes"].as_str()?)
            .ok()?;
        body.extend(bytes);
    }
    String::from_utf8(body).ok()
}

impl Request {
    /// The form a POST carried (fields in order), when its body is a urlencoded form.
    pub(super) fn form(&self) -> Option<PostForm> {
        if self.method != "POST" {
            return None;
        }
        let body = self.post_data.as_deref()?;
        Some(PostForm {
            action: self.url.clone(),
            fields: url::form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect(),
        })
    }

    /// Whether the URL carries a SAML message (HTTP-Redirect binding).
    pub(super) fn carries_saml(&self) -> bool {
        url::Url::parse(&self.url).is_ok_and(|u| {
            u.query_pairs()
                .any(|(k, _)| k == "SAMLRequest" || k == "SAMLResponse")
        })
    }
}

impl Traffic {
    /// The first answer to the navigation to `url`: its status and, for a redirect, where to.
    pub(super) fn first_answer(&self, url: &str) -> Option<(u16, Option<String>)> {
        let wanted = url::Url::parse(url).ok()?;
        let first = self
            .requests
            .iter()
            .find(|r| url::Url::parse(&r.url).is_ok_and(|u| u == wanted))?;
        let redirect = self
            .requests
            .iter()
            .filter(|r| r.id == first.id)
            .find_map(|r| r.redirected_by.clone());
        if redirect.is_some() {
            return redirect;
        }
        self.responses
            .iter()
            .find(|(id, _)| *id == first.id)
            .map(|(_, status)| (*status, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(method: &str, params: Value) -> Value {
        json!({ "level": "INFO", "message":
            json!({ "message": { "method": method, "params": params }, "webview": "x" }).to_string() })
    }

    #[test]
    fn reads_posted_forms_redirects_and_first_answers() {
        let log = json!([
            entry(
                "Network.requestWillBeSent",
                json!({ "requestId": "1",
                "request": { "method": "GET", "url": "http://sp/" } })
            ),
            entry(
                "Network.requestWillBeSent",
                json!({ "requestId": "1",
                "redirectResponse": { "status": 303, "headers": { "Location": "/login" } },
                "request": { "method": "GET", "url": "http://sp/login" } })
            ),
            entry(
                "Network.requestWillBeSent",
                json!({ "requestId": "1",
                "redirectResponse": { "status": 302, "headers": { "location": "http://idp/sso?SAMLRequest=abc" } },
                "request": { "method": "GET", "url": "http://idp/sso?SAMLRequest=abc" } })
            ),
            entry(
                "Network.responseReceived",
                json!({ "requestId": "1", "response": { "status": 200 } })
            ),
            entry(
                "Network.requestWillBeSent",
                json!({ "requestId": "2",
                "request": { "method": "POST", "url": "http://sp/saml/acs", "hasPostData": true,
                             "postDataEntries": [{ "bytes": "U0FNTFJlc3BvbnNlPVBIZyUyQiZSZWxheVN0YXRlPSUyRnA=" }] } })
            ),
            entry(
                "Network.responseReceived",
                json!({ "requestId": "2", "response": { "status": 303 } })
            ),
            entry("Page.frameNavigated", json!({})),
            json!({ "message": "not json" }),
        ]);
        let traffic = parse(&log);
        assert_eq!(traffic.requests.len(), 4);
        assert_eq!(
            traffic.first_answer("http://sp/"),
            Some((303, Some("/login".into())))
        );
        assert_eq!(
            traffic.first_answer("http://sp/saml/acs"),
            Some((303, None))
        );
        assert_eq!(traffic.first_answer("http://elsewhere/"), None);
        let saml: Vec<&str> = traffic
            .requests
            .iter()
            .filter(|r| r.carries_saml())
            .map(|r| r.url.as_str())
            .collect();
        assert_eq!(saml, ["http://idp/sso?SAMLRequest=abc"]);
        let form = traffic.requests[3].form().unwrap();
        assert_eq!(form.action, "http://sp/saml/acs");
        assert_eq!(form.field("SAMLResponse"), Some("PHg+"));
        assert_eq!(form.field("RelayState"), Some("/p"));
        assert_eq!(traffic.requests[0].form(), None);
    }
}
