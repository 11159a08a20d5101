//! The SP's pages run only the scripts it serves: no inline script, every `<script src>` is
//! served from `/static/` as JavaScript, and every response says `script-src 'self'` (and
//! `frame-ancestors 'self'`: no other site frames them). Values reach scripts through `data-`
//! attributes, escaped for HTML (their context).

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sp::pages::{self, HomeView};
use support::{NOW, TestSp};
use tower::ServiceExt;

/// Every `<script …>` start tag of `page`.
fn script_tags(page: &str) -> Vec<&str> {
    page.match_indices("<script")
        .map(|(at, _)| &page[at..at + page[at..].find('>').expect("tag ends")])
        .collect()
}

fn src(tag: &str) -> Option<&str> {
    let rest = &tag[tag.find(r#" src=""#)? + 6..];
    Some(&rest[..rest.find('"')?])
}

#[tokio::test]
async fn pages_load_their_scripts_from_the_sp_and_never_inline() {
    let t = TestSp::start(|_| {}).await;
    let roles = ["admin".to_owned()];
    let home = pages::home(Some(&HomeView {
        email: "a@example.com",
        name: None,
        roles: &roles,
        idp: "urn:idp",
        expires_at: NOW,
        renewal_interval_secs: 60,
        logout_csrf_token: "t0ken",
    }));
    let pages = [
        home,
        pages::signed_out(),
        pages::renewal_result(None),
        pages::renewal_result(Some("session.expired")),
        pages::renewal_not_needed(),
    ];
    let mut served = 0;
    for page in &pages {
        let tags = script_tags(page);
        assert!(!tags.is_empty(), "{page}");
        for tag in tags {
            let src = src(tag).unwrap_or_else(|| panic!("an inline script: {tag}"));
            assert!(src.starts_with("/static/"), "{tag}");
            let response = t
                .app
                .clone()
                .oneshot(Request::get(src).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{src}");
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "text/javascript; charset=utf-8"
            );
            assert_eq!(
                response.headers()[header::X_CONTENT_TYPE_OPTIONS],
                "nosniff"
            );
            served += 1;
        }
    }
    assert_eq!(served, 5);
}

#[tokio::test]
async fn every_response_allows_only_the_sps_own_scripts() {
    let t = TestSp::start(|_| {}).await;
    for uri in ["/", "/login?sso=false", "/static/keep-alive.js", "/me"] {
        let response = t
            .app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(
            response.headers()[header::CONTENT_SECURITY_POLICY],
            "script-src 'self'; frame-ancestors 'self'",
            "{uri}"
        );
    }
    let missing = t
        .send(Request::get("/static/nope.js").body(Body::empty()).unwrap())
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[test]
fn a_renewal_failure_reaches_its_script_as_an_escaped_attribute() {
    let page = pages::renewal_result(Some(r#"x"><script>alert(1)</script>"#));
    assert_eq!(script_tags(&page).len(), 1, "{page}");
    assert!(
        page.contains(
            r#"<script src="/static/report-renewal.js" data-code="x&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;"></script>"#
        ),
        "{page}"
    );
}

/// OnTrackio: a staged IdP (`enabled = false`) has no button on `/login` and is refused when
/// named, except by a test sign-in, which is sent to it like any sign-in.
#[tokio::test]
async fn a_staged_idp_has_no_button_and_only_a_test_sign_in_reaches_it() {
    let t = TestSp::start(|config| {
        let mut staged = config.idp.clone();
        staged.entity_id = "urn:example:staged".into();
        staged.label = Some("Staged IdP".into());
        staged.sso_url = "https://staged.test/sso".into();
        staged.enabled = false;
        config.idp.label = Some("Live IdP".into());
        config.additional_idps.push(staged);
    })
    .await;
    let get = |uri: &str| Request::get(uri).body(Body::empty()).expect("request");
    let chooser = t.send(get("/login")).await;
    assert_eq!(chooser.status, StatusCode::OK, "{chooser:?}");
    assert!(
        chooser.body.contains("Continue with Live IdP"),
        "{}",
        chooser.body
    );
    assert!(!chooser.body.contains("Staged IdP"), "{}", chooser.body);
    let named = t.send(get("/login?idp=urn:example:staged")).await;
    assert_eq!(named.status, StatusCode::FORBIDDEN, "{named:?}");
    assert!(named.body.contains("idp.not_live"), "{}", named.body);
    let test = t.send(get("/login?idp=urn:example:staged&test=1")).await;
    let location = test.location.expect("a redirect to the staged IdP");
    assert!(
        location.starts_with("https://staged.test/sso?SAMLRequest="),
        "{location}"
    );
}
