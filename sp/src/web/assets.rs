//! `GET /static/{file}`: the pages' scripts (`sp/static/`), compiled into the binary, and the
//! Content-Security-Policy that lets pages run only those.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Every static file: (name, content type, content).
const FILES: &[(&str, &str, &str)] = &[
    (
        "keep-alive.js",
        JAVASCRIPT,
        include_str!("../../static/keep-alive.js"),
    ),
    (
        "report-renewal.js",
        JAVASCRIPT,
        include_str!("../../static/report-renewal.js"),
    ),
    (
        "signed-out.js",
        JAVASCRIPT,
        include_str!("../../static/signed-out.js"),
    ),
];

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// Pages run only the scripts this SP serves: no inline script, so a value that escaped its
/// escaping still could not run. And only the SP's own pages may frame them: another site
/// cannot overlay the link prompt (a password), the linking choice or the logout button on a
/// page of its own (clickjacking), while the renewal's hidden iframe, framed by the SP's home
/// page, still loads the ACS's answer.
pub(super) const CONTENT_SECURITY_POLICY: HeaderValue =
    HeaderValue::from_static("script-src 'self'; frame-ancestors 'self'");

pub(super) async fn file(Path(name): Path<String>) -> Response {
    let Some((_, content_type, content)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, *content_type),
            // The names carry no version: revalidate, so that a page never runs a stale script.
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        *content,
    )
        .into_response()
}

/// Adds the policy to every response of the SP (JSON and redirects ignore it).
pub(super) async fn with_content_security_policy(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    response
}
