//! IdP sessions, passive requests, framing, directory changes and Entra group overage.

mod common;

use axum::http::{StatusCode, header};
use common::http::{delete, get, idp, idp_with, post_json, saml_response, sign_in, sso, testdata};
use common::{ACS_URL, mint, profile};
use mock_idp::knobs::Knobs;
use mock_idp::server::NextResponses;

const NO_PASSIVE_TOP: &str =
    r#"<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder">"#;
const NO_PASSIVE_SUB: &str =
    r#"<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:NoPassive"/>"#;
const LOGIN_PAGE: &str = "Mock IdP sign-in";

/// Asserts `page` is the auto-submit form with a NoPassive Response answering `request_id`.
fn assert_no_passive(page: &str, request_id: &str) {
    assert!(
        !page.contains(LOGIN_PAGE),
        "login page for a passive request:\n{page}"
    );
    assert!(page.contains(&format!(r#"action="{ACS_URL}""#)), "{page}");
    let response = saml_response(page).expect("an auto-submit SAMLResponse");
    assert!(response.contains(NO_PASSIVE_TOP), "{response}");
    assert!(response.contains(NO_PASSIVE_SUB), "{response}");
    assert!(
        response.contains(&format!(r#"InResponseTo="{request_id}""#)),
        "{response}"
    );
    assert!(!response.contains("<saml:Assertion"), "{response}");
}

fn session_index(response: &str) -> String {
    let start = response.find(r#"SessionIndex=""#).expect("SessionIndex") + 14;
    let end = start + response[start..].find('"').expect("quote");
    response[start..end].to_owned()
}

#[tokio::test]
async fn normal_sign_in_sets_an_http_only_lax_cookie_and_records_the_session() {
    let idp = idp();
    let answer = sso(&idp, "_r1", false, Some("carol"), None).await;
    assert_eq!(answer.status, StatusCode::OK);
    let set_cookie = answer.header(header::SET_COOKIE).expect("Set-Cookie");
    assert!(set_cookie.starts_with("mockidp_session="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(
        set_cookie.contains("SameSite=Lax"),
        "http IdP: {set_cookie}"
    );
    let sessions = idp.sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].login, "carol");
    let response = saml_response(&answer.body).expect("response");
    assert_eq!(sessions[0].session_index, session_index(&response));
    assert_eq!(sessions[0].name_id, "carol@example.com");
    assert_eq!(
        sessions[0].not_on_or_after,
        Some(common::NOW + time::Duration::hours(8))
    );
}

#[tokio::test]
async fn passive_with_a_session_answers_silently_with_a_signed_assertion() {
    let idp = idp();
    let cookie = sign_in(&idp, "carol").await;
    let first_index = idp.sessions()[0].session_index.clone();
    let answer = sso(&idp, "_passive", true, None, Some(&cookie)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(!answer.body.contains(LOGIN_PAGE));
    assert!(
        answer.session_cookie().is_none(),
        "a passive answer starts no session"
    );
    let response = saml_response(&answer.body).expect("SAMLResponse");
    assert!(response.contains("status:Success"), "{response}");
    assert!(response.contains(r#"InResponseTo="_passive""#));
    assert!(response.contains(">carol@example.com</saml:NameID>"));
    assert_eq!(session_index(&response), first_index, "same IdP session");
    plumbing::xmlsec1::verify(
        &response,
        &testdata("idp.crt"),
        &["urn:oasis:names:tc:SAML:2.0:assertion:Assertion"],
        None,
    )
    .expect("the assertion verifies with the IdP certificate");
    assert_eq!(idp.sessions().len(), 1);
}

#[tokio::test]
async fn passive_without_a_session_is_no_passive_even_with_a_hint_or_queued_user() {
    let idp = idp();
    let answer = sso(&idp, "_p1", true, None, None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_no_passive(&answer.body, "_p1");

    let answer = sso(&idp, "_p2", true, Some("alice"), None).await;
    assert_no_passive(&answer.body, "_p2");
    assert!(answer.session_cookie().is_none());

    idp.set_next(NextResponses {
        user: Some("bob".to_owned()),
        ..NextResponses::default()
    })
    .expect("queue");
    let answer = sso(&idp, "_p3", true, None, Some("_not-a-session")).await;
    assert_no_passive(&answer.body, "_p3");
    assert!(idp.sessions().is_empty(), "no session was created");
}

#[tokio::test]
async fn passive_after_user_removal_or_session_end_or_expiry_is_no_passive() {
    let idp = idp();
    let cookie = sign_in(&idp, "carol").await;
    let removed = delete(&idp, "/_control/users/carol").await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    assert!(
        idp.sessions().is_empty(),
        "removal ends the user's sessions"
    );
    assert_no_passive(
        &sso(&idp, "_gone", true, None, Some(&cookie)).await.body,
        "_gone",
    );
    assert_eq!(
        delete(&idp, "/_control/users/carol").await.status,
        StatusCode::BAD_REQUEST
    );

    let cookie = sign_in(&idp, "alice").await;
    let ended = delete(&idp, "/_control/sessions").await;
    assert!(ended.body.contains(r#""ended":1"#), "{}", ended.body);
    assert_no_passive(
        &sso(&idp, "_ended", true, None, Some(&cookie)).await.body,
        "_ended",
    );

    let cookie = sign_in(&idp, "alice").await;
    let moved = post_json(
        &idp,
        "/_control/clock",
        serde_json::json!({"advance_secs": 8 * 3600}),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK);
    assert_no_passive(
        &sso(&idp, "_expired", true, None, Some(&cookie)).await.body,
        "_expired",
    );
}

#[tokio::test]
async fn revoked_access_keeps_the_session_but_sends_access_false() {
    let idp = idp();
    idp.set_next(NextResponses {
        profile: Some("shotgun-attributes".to_owned()),
        count: 2,
        ..NextResponses::default()
    })
    .expect("queue");
    let cookie = sign_in(&idp, "alice").await;
    let changed = post_json(
        &idp,
        "/_control/users/alice",
        serde_json::json!({"access": false}),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert!(changed.body.contains(r#""access":false"#));
    let answer = sso(&idp, "_renew", true, None, Some(&cookie)).await;
    let response = saml_response(&answer.body).expect("silent answer");
    assert!(response.contains("status:Success"), "{response}");
    assert!(
        response.contains(r#"Name="access""#) && response.contains(">false</saml:AttributeValue>"),
        "{response}"
    );
    let users = get(&idp, "/_control/users", None).await;
    assert!(users.body.contains(r#""login":"alice""#));
    let bad = post_json(
        &idp,
        "/_control/users/alice",
        serde_json::json!({"acces": false}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn login_page_never_appears_for_a_passive_request_but_does_for_a_normal_one() {
    let idp = idp();
    let normal = sso(&idp, "_n", false, None, None).await;
    assert!(normal.body.contains(LOGIN_PAGE), "{}", normal.body);
    let passive = sso(&idp, "_p", true, None, None).await;
    assert!(!passive.body.contains(LOGIN_PAGE));
}

#[tokio::test]
async fn forbid_framing_sends_both_headers_on_every_sso_answer_and_off_sends_none() {
    let idp = idp();
    for answer in [
        sso(&idp, "_a", false, Some("alice"), None).await,
        sso(&idp, "_b", false, None, None).await,
        get(&idp, "/sso", None).await,
    ] {
        assert!(answer.headers.get(header::X_FRAME_OPTIONS).is_none());
        assert!(
            answer
                .headers
                .get(header::CONTENT_SECURITY_POLICY)
                .is_none()
        );
    }
    let flipped = post_json(
        &idp,
        "/_control/framing",
        serde_json::json!({"forbid_framing": true}),
    )
    .await;
    assert_eq!(flipped.status, StatusCode::OK);
    assert!(
        get(&idp, "/_control/framing", None)
            .await
            .body
            .contains("true")
    );
    let sessions_cookie = sign_in(&idp, "bob").await;
    for answer in [
        sso(&idp, "_c", false, Some("alice"), None).await,
        sso(&idp, "_d", false, None, None).await,
        sso(&idp, "_e", true, None, Some(&sessions_cookie)).await,
        sso(&idp, "_f", true, None, None).await,
        get(&idp, "/sso", None).await,
    ] {
        assert_eq!(answer.header(header::X_FRAME_OPTIONS), Some("DENY"));
        assert_eq!(
            answer.header(header::CONTENT_SECURITY_POLICY),
            Some("frame-ancestors 'none'")
        );
    }
    let configured = idp_with(true);
    let answer = sso(&configured, "_g", false, Some("alice"), None).await;
    assert_eq!(answer.header(header::X_FRAME_OPTIONS), Some("DENY"));
}

#[tokio::test]
async fn group_overage_sends_a_groups_link_instead_of_groups() {
    for knobs in [
        profile("entra-group-overage"),
        Knobs {
            group_overage: true,
            ..Knobs::default()
        },
    ] {
        let xml = mint(&knobs).xml;
        assert!(
            xml.contains(r#"Name="http://schemas.microsoft.com/claims/groups.link""#),
            "{xml}"
        );
        assert!(xml.contains("https://graph.windows.net/"), "{xml}");
        assert!(xml.contains("/getMemberObjects<"), "{xml}");
        assert!(!xml.contains(">admins<"), "{xml}");
        assert!(!xml.contains(r#"Name="groups""#), "{xml}");
        assert!(!xml.contains("identity/claims/groups\""), "{xml}");
    }
    let listed = get(&idp(), "/_control/profiles", None).await;
    assert!(listed.body.contains(r#""name":"entra-group-overage""#));
    assert!(listed.body.contains(r#""group_overage":true"#));
}
