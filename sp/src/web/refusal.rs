//! The one renderer of refusals: every place that refuses a browser (ACS, renewal, single logout,
//! the linking page, the recovery login) answers with a [`Refusal`].
//!
//! What reaches the client is the reason's code and summary, and at most the rejection's
//! `public_detail` — a text its rejection site chose to make browser-safe. `Rejection::message`
//! (expected vs. received, possibly attacker-controlled, possibly an oracle such as which
//! decryption step failed) goes to the log and the audit only, never into a response.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use crate::pages;
use crate::reason::{Reason, Rejection};

/// Which page a refusal is shown on (its JSON is the same shape everywhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Page {
    /// The sign-in failure page (ACS, linking page, invitations).
    SignIn,
    /// The renewal result page in the iframe or renewal window; the session has ended.
    Renewal,
    /// The sign-out failure page (logout form, `/saml/sls`).
    Logout,
    /// The recovery password form, with the error above it.
    Recovery,
}

/// A refusal to render: the rejection, the page it belongs on, and whether the client asked for
/// JSON.
pub(super) struct Refusal<'a> {
    pub rejection: &'a Rejection,
    pub page: Page,
    pub wants_json: bool,
    /// Name no reason at all: one message and status for every refusal, the code only in the
    /// audit log (`failure_page_detail = "generic"`, OnTrackio).
    pub generic: bool,
}

impl<'a> Refusal<'a> {
    pub fn sign_in(rejection: &'a Rejection, wants_json: bool) -> Self {
        Self::on(Page::SignIn, rejection, wants_json)
    }

    pub fn renewal(rejection: &'a Rejection, wants_json: bool) -> Self {
        Self::on(Page::Renewal, rejection, wants_json)
    }

    pub fn logout(rejection: &'a Rejection, wants_json: bool) -> Self {
        Self::on(Page::Logout, rejection, wants_json)
    }

    pub fn recovery(rejection: &'a Rejection) -> Self {
        Self::on(Page::Recovery, rejection, false)
    }

    fn on(page: Page, rejection: &'a Rejection, wants_json: bool) -> Self {
        Refusal {
            rejection,
            page,
            wants_json,
            generic: false,
        }
    }

    /// The same refusal, told to the browser as the generic failure when `generic`.
    pub fn generic_when(self, generic: bool) -> Self {
        Refusal { generic, ..self }
    }

    /// The public detail, unless the reason is one whose every detail stays in the audit log.
    fn public_detail(&self) -> Option<&'a str> {
        let reason = self.rejection.reason;
        (!withholds_detail(reason))
            .then_some(self.rejection.public_detail.as_deref())
            .flatten()
    }
}

/// Reasons whose detail could be an oracle (which decryption step failed; whether an account
/// exists, which password was tried, how close a lockout is): nothing beyond the summary, even
/// if a rejection site set a public detail by mistake.
fn withholds_detail(reason: Reason) -> bool {
    let code = reason.code();
    matches!(
        reason,
        Reason::EncryptedElementCannotBeDecrypted
            | Reason::RecoveryCredentialsAreWrong
            | Reason::PasswordAttemptsAreThrottled
            | Reason::LinkIsLockedOut
    ) || ["decryption.", "recovery.", "link.", "auth."]
        .iter()
        .any(|prefix| code.starts_with(prefix))
}

impl IntoResponse for Refusal<'_> {
    fn into_response(self) -> Response {
        let reason = self.rejection.reason;
        let status = StatusCode::from_u16(reason.http_status()).unwrap_or(StatusCode::FORBIDDEN);
        let (code, summary, detail) = (reason.code(), reason.summary(), self.public_detail());
        if self.generic {
            let status = StatusCode::FORBIDDEN;
            if self.wants_json {
                return (status, Json(json!({ "message": pages::GENERIC_FAILURE })))
                    .into_response();
            }
            return (status, Html(pages::sign_in_failed_generic())).into_response();
        }
        if self.wants_json {
            let mut body = json!({ "error": code, "message": summary });
            if let Some(detail) = detail {
                body["detail"] = detail.into();
            }
            if self.page == Page::Renewal {
                body["session_ended"] = true.into();
            }
            return (status, Json(body)).into_response();
        }
        let page = match self.page {
            Page::SignIn => pages::sign_in_refused(code, summary, detail),
            Page::Logout => pages::logout_refused(code, summary, detail),
            Page::Renewal => pages::renewal_result(Some(code)),
            Page::Recovery => pages::recovery_form(Some((code, summary))),
        };
        (status, Html(page)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    const LOG_ONLY: &str = "AudienceRestriction lists [\"https://evil.example/<script>\"]";

    async fn rendered(refusal: Refusal<'_>) -> (StatusCode, String, String) {
        let response = refusal.into_response();
        let status = response.status();
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        (
            status,
            content_type,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    fn every_variant(rejection: &Rejection) -> Vec<Refusal<'_>> {
        let mut all = Vec::new();
        for wants_json in [false, true] {
            all.push(Refusal::sign_in(rejection, wants_json));
            all.push(Refusal::renewal(rejection, wants_json));
            all.push(Refusal::logout(rejection, wants_json));
        }
        all.push(Refusal::recovery(rejection));
        all
    }

    #[tokio::test]
    async fn no_variant_shows_the_logged_message() {
        for reason in Reason::ALL {
            let rejection = Rejection::new(*reason, LOG_ONLY);
            for refusal in every_variant(&rejection) {
                let (page, json) = (refusal.page, refusal.wants_json);
                let (status, content_type, body) = rendered(refusal).await;
                let what = format!("{} on {page:?} (json: {json})", reason.code());
                assert_eq!(status.as_u16(), reason.http_status(), "{what}");
                assert!(!body.contains("AudienceRestriction"), "{what}: {body}");
                assert!(!body.contains("evil.example"), "{what}: {body}");
                assert!(body.contains(reason.code()), "{what}: {body}");
                if json {
                    assert!(content_type.starts_with("application/json"), "{what}");
                    let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                    assert_eq!(value["error"], reason.code(), "{what}");
                    assert_eq!(value["message"], reason.summary(), "{what}");
                    assert!(value.get("detail").is_none(), "{what}: {body}");
                    assert_eq!(
                        value.get("session_ended").is_some(),
                        page == Page::Renewal,
                        "{what}"
                    );
                } else {
                    assert!(content_type.starts_with("text/html"), "{what}");
                }
            }
        }
    }

    #[tokio::test]
    async fn a_generic_refusal_names_no_reason_and_answers_alike() {
        for reason in Reason::ALL {
            let rejection = Rejection::new(*reason, LOG_ONLY).with_public_detail("PUBLIC-DETAIL-7");
            for wants_json in [false, true] {
                let refusal = Refusal::sign_in(&rejection, wants_json).generic_when(true);
                let (status, _, body) = rendered(refusal).await;
                let what = format!("{} (json: {wants_json})", reason.code());
                assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
                assert!(!body.contains(reason.code()), "{what}: {body}");
                assert!(!body.contains(reason.summary()), "{what}: {body}");
                assert!(!body.contains("PUBLIC-DETAIL-7"), "{what}: {body}");
                assert!(body.contains(pages::GENERIC_FAILURE), "{what}: {body}");
            }
        }
    }

    #[tokio::test]
    async fn each_variant_renders_its_own_page() {
        let rejection = Rejection::new(Reason::AudienceIsNotThisSp, LOG_ONLY);
        let expected = [
            (Refusal::sign_in(&rejection, false), "SAML sign-in failed"),
            (Refusal::renewal(&rejection, false), "Session ended"),
            (Refusal::logout(&rejection, false), "SAML sign-out failed"),
            (Refusal::recovery(&rejection), "action=\"/login/password\""),
        ];
        for (refusal, marker) in expected {
            let page = refusal.page;
            let (_, _, body) = rendered(refusal).await;
            assert!(body.contains(marker), "{page:?}: {body}");
        }
    }

    #[tokio::test]
    async fn the_public_detail_is_shown_where_chosen_and_never_for_oracle_reasons() {
        let shown = Rejection::new(Reason::AudienceIsNotThisSp, LOG_ONLY)
            .with_public_detail("expects https://sp.example");
        for refusal in [
            Refusal::sign_in(&shown, false),
            Refusal::sign_in(&shown, true),
            Refusal::logout(&shown, false),
            Refusal::logout(&shown, true),
            Refusal::renewal(&shown, true),
        ] {
            let page = refusal.page;
            let (_, _, body) = rendered(refusal).await;
            assert!(
                body.contains("expects https://sp.example"),
                "{page:?}: {body}"
            );
        }
        for reason in [
            Reason::EncryptedElementCannotBeDecrypted,
            Reason::RecoveryCredentialsAreWrong,
            Reason::PasswordAttemptsAreThrottled,
            Reason::LinkIsLockedOut,
        ] {
            let withheld = Rejection::new(reason, LOG_ONLY).with_public_detail("step 2 failed");
            for refusal in every_variant(&withheld) {
                let (_, _, body) = rendered(refusal).await;
                assert!(!body.contains("step 2"), "{}: {body}", reason.code());
            }
        }
    }

    /// Every refusal site renders through [`Refusal`]: no other web module builds a refusal page
    /// or puts a reason's summary or a rejection's message into a response.
    #[test]
    fn refusal_pages_are_rendered_only_here() {
        let sites = [
            ("acs.rs", include_str!("acs.rs")),
            ("slo.rs", include_str!("slo.rs")),
            ("link.rs", include_str!("link.rs")),
            ("recovery.rs", include_str!("recovery.rs")),
            ("renew.rs", include_str!("renew.rs")),
            ("mod.rs", include_str!("mod.rs")),
        ];
        for (file, source) in sites {
            for renderer in [
                "pages::sign_in_refused",
                "pages::logout_refused",
                "renewal_result(Some(rejection",
                "recovery_form(Some(",
                ".summary()",
                "\"detail\"",
            ] {
                assert!(!source.contains(renderer), "{file} uses {renderer}");
            }
        }
    }
}
