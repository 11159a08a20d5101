//! Single logout at `/saml/sls`. Not there yet (issue 3): the route answers 501 and says so,
//! rather than pretending to log anyone out.

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;

use super::Sp;
use crate::pages;

pub(super) fn routes() -> Router<Sp> {
    Router::new().route("/saml/sls", get(not_yet).post(not_yet))
}

async fn not_yet() -> impl IntoResponse {
    (
        StatusCode::NOT_IMPLEMENTED,
        Html(pages::error(
            "Single logout is not available yet",
            "This reference SP does not process SAML logout messages yet; /logout ends the local session only.",
        )),
    )
}
