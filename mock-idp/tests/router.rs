//! The HTTP interface, driven through `tower::ServiceExt::oneshot` without a socket.

mod common;

use std::io::Write as _;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http_body_util::BodyExt as _;
use mock_idp::authn_request::MAX_REQUEST_BYTES;
use mock_idp::keys::IdpKeys;
use mock_idp::server::{Idp, IdpConfig, KnownSp, NextResponses, router};
use mock_idp::users;
use plumbing::clock::ManualClock;
use tower::ServiceExt as _;

use common::{ACS_URL, NOW, SP_ENTITY_ID};

const IDP_BASE: &str = "http://127.0.0.1:8081";

fn idp() -> Idp {
    let config = IdpConfig {
        entity_id: format!("{IDP_BASE}/metadata"),
        base_url: IDP_BASE.to_owned(),
        service_providers: vec![KnownSp {
            entity_id: SP_ENTITY_ID.to_owned(),
            acs_urls: vec![ACS_URL.to_owned()],
            slo_url: None,
            signing_cert_pem: None,
            encryption_cert_pem: None,
        }],
        users: users::demo_users(),
        default_profile: "valid".to_owned(),
        deterministic: true,
        forbid_framing: false,
        want_authn_requests_signed: false,
    };
    config.check().expect("config");
    Idp::new(
        config,
        IdpKeys::fixed_for_tests(),
        Arc::new(ManualClock::new(NOW)),
    )
}

fn authn_request(id: &str, acs_url: Option<&str>) -> String {
    let acs = acs_url
        .map(|url| format!(r#" AssertionConsumerServiceURL="{url}""#))
        .unwrap_or_default();
    format!(
        r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" Destination="{IDP_BASE}/sso"{acs}><saml:Issuer>{SP_ENTITY_ID}</saml:Issuer></samlp:AuthnRequest>"#
    )
}

/// The Redirect binding's encoding: raw DEFLATE, base64, then URL-encoded.
fn redirect_param(xml: &str) -> String {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(xml.as_bytes()).expect("deflate");
    url::form_urlencoded::byte_serialize(
        STANDARD
            .encode(encoder.finish().expect("deflate"))
            .as_bytes(),
    )
    .collect()
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn send(idp: &Idp, request: Request<Body>) -> (StatusCode, String) {
    let response = router(idp.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn get(idp: &Idp, uri: &str) -> (StatusCode, String) {
    send(idp, Request::get(uri).body(Body::empty()).expect("request")).await
}

async fn post_form(idp: &Idp, uri: &str, form: &str) -> (StatusCode, String) {
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .expect("request");
    send(idp, request).await
}

async fn post_json(idp: &Idp, uri: &str, json: serde_json::Value) -> (StatusCode, String) {
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json.to_string()))
        .expect("request");
    send(idp, request).await
}

/// The decoded XML of the auto-submit form's SAMLResponse, or `None` if the page has none.
fn saml_response(page: &str) -> Option<String> {
    let start =
        page.find(r#"name="SAMLResponse" value=""#)? + r#"name="SAMLResponse" value=""#.len();
    let end = start + page[start..].find('"')?;
    Some(String::from_utf8(STANDARD.decode(&page[start..end]).expect("base64")).expect("utf-8"))
}

#[tokio::test]
async fn metadata_is_served_with_the_saml_content_type() {
    let idp = idp();
    let response = router(idp.clone())
        .oneshot(
            Request::get("/metadata")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/samlmetadata+xml"
    );
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(String::from_utf8_lossy(&body), idp.metadata_xml());
}

#[tokio::test]
async fn redirect_request_with_login_hint_gets_an_auto_submit_form() {
    let idp = idp();
    let xml = authn_request("_request-one", Some(ACS_URL));
    let uri = format!(
        "/sso?SAMLRequest={}&RelayState=%2Fafter%3Fa%3D1%26b%3D2&login_hint=alice",
        redirect_param(&xml)
    );
    let (status, page) = get(&idp, &uri).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains(&format!(
            r#"<form id="saml-post" method="post" action="{ACS_URL}">"#
        )),
        "{page}"
    );
    assert!(
        page.contains(r#"name="RelayState" value="/after?a=1&amp;b=2""#),
        "{page}"
    );
    assert!(page.contains("<noscript>"));
    let response = saml_response(&page).expect("SAMLResponse");
    assert!(
        response.contains(r#"InResponseTo="_request-one""#),
        "{response}"
    );
    assert!(response.contains(">alice@example.com</saml:NameID>"));
}

#[tokio::test]
async fn post_binding_without_acs_url_uses_the_sps_first_acs() {
    let idp = idp();
    let form = format!(
        "SAMLRequest={}&login_hint=bob%40example.com",
        urlencode(&STANDARD.encode(authn_request("_p", None)))
    );
    let (status, page) = post_form(&idp, "/sso", &form).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(&format!(r#"action="{ACS_URL}""#)));
    assert!(
        !page.contains("RelayState"),
        "no RelayState input when none was sent"
    );
    assert!(
        saml_response(&page)
            .expect("SAMLResponse")
            .contains(">bob@example.com</saml:NameID>")
    );
}

#[tokio::test]
async fn unknown_acs_url_is_refused_and_nothing_is_minted() {
    let idp = idp();
    let xml = authn_request("_evil", Some("https://evil.example/acs"));
    let (status, page) = get(
        &idp,
        &format!("/sso?SAMLRequest={}&login_hint=alice", redirect_param(&xml)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("https://evil.example/acs"), "{page}");
    assert!(
        saml_response(&page).is_none() && !page.contains("SAMLResponse"),
        "minted after a refusal:\n{page}"
    );
    let recorded = idp.requests();
    assert_eq!(recorded.len(), 1);
    assert!(
        recorded[0]
            .refusal
            .as_deref()
            .is_some_and(|r| r.contains("not registered")),
        "{recorded:?}"
    );
}

#[tokio::test]
async fn unknown_sp_and_unknown_login_hint_are_refused() {
    let idp = idp();
    let other_sp = authn_request("_x", None).replace(SP_ENTITY_ID, "https://other.example/sp");
    let (status, page) = get(
        &idp,
        &format!(
            "/sso?SAMLRequest={}&login_hint=alice",
            redirect_param(&other_sp)
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("https://other.example/sp") && !page.contains("SAMLResponse"),
        "{page}"
    );

    let xml = authn_request("_y", None);
    let (status, page) = get(
        &idp,
        &format!(
            "/sso?SAMLRequest={}&login_hint=mallory",
            redirect_param(&xml)
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("mallory") && !page.contains("SAMLResponse"),
        "{page}"
    );
}

#[tokio::test]
async fn login_page_lists_users_and_its_choice_is_answered() {
    let idp = idp();
    let xml = authn_request("_login", Some(ACS_URL));
    let (status, page) = get(
        &idp,
        &format!("/sso?SAMLRequest={}&RelayState=rs", redirect_param(&xml)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for user in users::demo_users() {
        assert!(
            page.contains(&format!(r#"name="user" value="{}""#, user.login)),
            "{page}"
        );
    }
    assert!(page.contains(r#"action="/sso/login""#) && !page.contains("SAMLResponse"));

    let carried = STANDARD.encode(&xml);
    let form = format!(
        "user=carol&SAMLRequest={}&RelayState=rs",
        urlencode(&carried)
    );
    let (status, page) = post_form(&idp, "/sso/login", &form).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let response = saml_response(&page).expect("SAMLResponse");
    assert!(
        response.contains(">carol@example.com</saml:NameID>")
            && response.contains(r#"InResponseTo="_login""#)
    );

    // The carried request is checked again: a forged one naming another ACS is refused.
    let forged = STANDARD.encode(authn_request("_forged", Some("https://evil.example/acs")));
    let (status, page) = post_form(
        &idp,
        "/sso/login",
        &format!("user=carol&SAMLRequest={}", urlencode(&forged)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!page.contains("SAMLResponse"));
}

#[tokio::test]
async fn control_api_queues_a_profile_and_records_requests() {
    let idp = idp();
    let (status, body) = post_json(
        &idp,
        "/_control/next",
        serde_json::json!({"profile": "wrong-audience", "user": "dave", "knobs": {"validity_secs": 60}}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let xml = authn_request("_queued", None);
    let (status, page) = get(
        &idp,
        &format!(
            "/sso?SAMLRequest={}&SigAlg=alg&Signature=sig",
            redirect_param(&xml)
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the queued user skips the login page"
    );
    let response = saml_response(&page).expect("SAMLResponse");
    assert!(response.contains("<saml:Audience>https://evil.example/saml/metadata</saml:Audience>"));
    assert!(response.contains(">dave@example.com</saml:NameID>"));
    assert!(response.contains(r#"NotOnOrAfter="2026-01-01T00:01:00Z""#));

    // The queue held one response; the next is `valid` again (and shows the login page).
    let (_, page) = get(
        &idp,
        &format!("/sso?SAMLRequest={}&login_hint=dave", redirect_param(&xml)),
    )
    .await;
    assert!(
        saml_response(&page)
            .expect("SAMLResponse")
            .contains("<saml:Audience>http://127.0.0.1:8080/saml/metadata<")
    );

    let (status, body) = get(&idp, "/_control/requests").await;
    assert_eq!(status, StatusCode::OK);
    let requests: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(requests.as_array().map(Vec::len), Some(2));
    assert_eq!(requests[0]["request"]["id"], "_queued");
    assert_eq!(requests[0]["request"]["issuer"], SP_ENTITY_ID);
    assert_eq!(requests[0]["binding"], "http-redirect");
    assert_eq!(requests[0]["sig_alg"], "alg");
    assert_eq!(requests[0]["received_at"], "2026-01-01T00:00:00Z");
    assert_eq!(requests[0]["refusal"], serde_json::Value::Null);
}

#[tokio::test]
async fn control_api_refuses_bad_input_with_json_errors() {
    let idp = idp();
    for (body, code, mentions) in [
        (
            serde_json::json!({"profile": "nope"}),
            "unknown_profile",
            "nope",
        ),
        (
            serde_json::json!({"knobs": {"validty_secs": 1}}),
            "bad_knob",
            "validty_secs",
        ),
        (
            serde_json::json!({"knobs": {"sign": "sometimes"}}),
            "bad_knob",
            "sometimes",
        ),
        (
            serde_json::json!({"user": "mallory"}),
            "unknown_user",
            "mallory",
        ),
        (serde_json::json!({"count": 0}), "zero_count", "count"),
        (serde_json::json!({"profil": "valid"}), "bad_body", "profil"),
        (
            serde_json::json!({"knobs": {"logout_unsigned": true}}),
            "bad_knob",
            "logout_unsigned: not read by a minted response",
        ),
        (
            serde_json::json!({"knobs": {"forbid_framing": true}}),
            "bad_knob",
            "forbid_framing: not read by a minted response",
        ),
    ] {
        let (status, response) = post_json(&idp, "/_control/next", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
        let json: serde_json::Value = serde_json::from_str(&response).expect("json error");
        assert_eq!(json["error"], code, "{response}");
        assert!(
            json["message"]
                .as_str()
                .is_some_and(|m| m.contains(mentions)),
            "{response}"
        );
    }
}

#[tokio::test]
async fn control_clock_and_profiles() {
    let idp = idp();
    let (status, body) = post_json(
        &idp,
        "/_control/clock",
        serde_json::json!({"advance_secs": 90}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("2026-01-01T00:01:30Z"), "{body}");
    let (_, body) = post_json(
        &idp,
        "/_control/clock",
        serde_json::json!({"now": "2030-05-01T12:00:00Z"}),
    )
    .await;
    assert!(body.contains("2030-05-01T12:00:00Z"), "{body}");
    let (status, _) = post_json(
        &idp,
        "/_control/clock",
        serde_json::json!({"now": "tomorrow"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, body) = get(&idp, "/_control/profiles").await;
    assert_eq!(status, StatusCode::OK);
    let profiles: serde_json::Value = serde_json::from_str(&body).expect("json");
    let sha1 = profiles
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == "sha1"))
        .expect("sha1");
    assert_eq!(sha1["knobs"]["signature_algorithm"], "rsa-sha1");
    assert!(sha1["description"].as_str().is_some_and(|d| !d.is_empty()));
    let encrypted = profiles
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == "encrypted-wrong-key"))
        .expect("encrypted-wrong-key");
    assert_eq!(encrypted["knobs"]["encrypt_assertion"], true);
    assert_eq!(encrypted["knobs"]["encrypt_to"], "wrong-key");
    assert_eq!(encrypted["knobs"]["key_transport"], "rsa-oaep");
    assert_eq!(encrypted["knobs"]["data_encryption"], "aes256-gcm");
}

#[tokio::test]
async fn idp_initiated_response_has_no_in_response_to() {
    let idp = idp();
    let (status, page) = get(
        &idp,
        &format!(
            "/idp-initiated?user=alice&sp={}&RelayState=x",
            urlencode(SP_ENTITY_ID)
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        !saml_response(&page)
            .expect("SAMLResponse")
            .contains("InResponseTo")
    );
    assert!(idp.mint_unsolicited("mallory", None).is_err());
    let (status, _) = get(
        &idp,
        "/idp-initiated?user=alice&sp=https%3A%2F%2Fother.example",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn in_process_handle_mirrors_the_control_api() {
    let idp = idp();
    idp.set_next(NextResponses {
        profile: Some("skewed-clock".to_owned()),
        ..NextResponses::default()
    })
    .expect("queue");
    idp.advance_clock(time::Duration::minutes(1));
    let response = saml_response(
        &idp.mint_unsolicited("erin", Some("rs".to_owned()))
            .expect("mint"),
    )
    .expect("form");
    assert!(
        response.contains(r#"IssueInstant="2026-01-01T00:11:00Z""#),
        "{response}"
    );
}

#[tokio::test]
async fn adversarial_sso_input_is_a_400_never_a_panic() {
    let idp = idp();
    let not_deflate = urlencode(&STANDARD.encode(b"definitely not deflate"));
    let huge = "A".repeat(MAX_REQUEST_BYTES + 10);
    let bomb = redirect_param(&" ".repeat(20 * MAX_REQUEST_BYTES));
    let dtd = redirect_param(&format!(
        "<!DOCTYPE x [<!ENTITY a \"aaaa\">]>{}",
        authn_request("_d", None)
    ));
    let not_xml = redirect_param("hello <<<");
    let wrong_root =
        redirect_param("<Response xmlns=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_1\"/>");
    for (what, query) in [
        ("garbage base64", "SAMLRequest=%25%25%25!!!".to_owned()),
        ("bad DEFLATE", format!("SAMLRequest={not_deflate}")),
        ("huge input", format!("SAMLRequest={huge}")),
        ("DEFLATE bomb", format!("SAMLRequest={bomb}")),
        ("DTD", format!("SAMLRequest={dtd}")),
        ("not XML", format!("SAMLRequest={not_xml}")),
        ("wrong root", format!("SAMLRequest={wrong_root}")),
        ("no SAMLRequest", "RelayState=x".to_owned()),
    ] {
        // A URI over 64 KiB cannot even be built (the http crate refuses it), so the huge input
        // reaches /sso through the POST binding only.
        if query.len() < MAX_REQUEST_BYTES {
            let (status, page) = get(&idp, &format!("/sso?{query}&login_hint=alice")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {page}");
            assert!(!page.contains("SAMLResponse"), "{what}");
        }
        let (status, page) = post_form(&idp, "/sso", &format!("{query}&login_hint=alice")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what} (POST): {page}");
        assert!(!page.contains("SAMLResponse"), "{what} (POST)");
    }
    let (status, page) = post_form(
        &idp,
        "/sso",
        &format!("SAMLRequest={}", "A".repeat(300 * 1024)),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a body beyond axum's limit is refused too"
    );
    assert!(
        page.contains("cannot be read") && !page.contains("SAMLResponse"),
        "{page}"
    );
    assert!(
        idp.requests().iter().all(|r| r.refusal.is_some()),
        "every refusal is recorded with its reason"
    );
}

#[tokio::test]
async fn control_api_lists_every_knob_with_its_doc_comment() {
    let idp = idp();
    let (status, body) = get(&idp, "/_control/knobs").await;
    assert_eq!(status, StatusCode::OK);
    let listing: serde_json::Value = serde_json::from_str(&body).expect("json");
    let knobs = listing["knobs"].as_array().expect("knobs");
    assert_eq!(knobs.len(), mock_idp::knobs::Knobs::FIELDS.len());
    assert_eq!(knobs[0]["name"], "signature_algorithm");
    assert_eq!(knobs[0]["section"], "signature");
    assert_eq!(
        knobs[0]["description"],
        "XML-DSig SignatureMethod; `rsa-sha1` is the deprecated algorithm an SP should refuse."
    );
    assert_eq!(listing["defaults"]["validity_secs"], 300);
    assert_eq!(listing["defaults"]["forbid_framing"], false);

    let (status, body) = get(&idp, "/_control/logout-knobs").await;
    assert_eq!(status, StatusCode::OK);
    let listing: serde_json::Value = serde_json::from_str(&body).expect("json");
    let knobs = listing["knobs"].as_array().expect("knobs");
    assert!(knobs.iter().all(|k| k["section"] == "logout"), "{body}");
    let unsigned = knobs
        .iter()
        .find(|k| k["name"] == "logout_unsigned")
        .expect("logout_unsigned");
    assert!(
        unsigned["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Sends the logout message unsigned")),
        "{body}"
    );
    assert_eq!(listing["defaults"]["logout_signing_key"], "idp");
    assert_eq!(listing["defaults"].get("validity_secs"), None);
}

/// An IdP that requires signed AuthnRequests from the SP, whose signing certificate it holds
/// (the fixed attacker identity plays the SP's key pair here).
fn idp_requiring_signed_requests() -> (Idp, mock_idp::keys::SigningIdentity) {
    let sp_keys = IdpKeys::fixed_for_tests().attacker;
    let config = IdpConfig {
        entity_id: format!("{IDP_BASE}/metadata"),
        base_url: IDP_BASE.to_owned(),
        service_providers: vec![KnownSp {
            entity_id: SP_ENTITY_ID.to_owned(),
            acs_urls: vec![ACS_URL.to_owned()],
            slo_url: None,
            signing_cert_pem: Some(sp_keys.cert_pem.clone()),
            encryption_cert_pem: None,
        }],
        users: users::demo_users(),
        default_profile: "valid".to_owned(),
        deterministic: true,
        forbid_framing: false,
        want_authn_requests_signed: true,
    };
    let idp = Idp::new(
        config,
        IdpKeys::fixed_for_tests(),
        Arc::new(ManualClock::new(NOW)),
    );
    (idp, sp_keys)
}

/// `SAMLRequest=…&RelayState=…[&SigAlg=…&Signature=…]` for `xml`, signed with `key_pem` if given.
fn redirect_query(xml: &str, key_pem: Option<&str>) -> String {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(xml.as_bytes()).expect("deflate");
    let message = STANDARD.encode(encoder.finish().expect("deflate"));
    mock_idp::redirect_sig::build_query(
        mock_idp::redirect_sig::MessageParam::SamlRequest,
        &message,
        Some("/after?x=1"),
        key_pem,
    )
    .expect("sign")
}

#[tokio::test]
async fn required_request_signatures_are_verified_and_a_missing_or_bad_one_is_refused() {
    let (idp, sp_keys) = idp_requiring_signed_requests();
    assert!(
        idp.metadata_xml()
            .contains(r#"WantAuthnRequestsSigned="true""#)
    );
    let xml = authn_request("_signed", Some(ACS_URL));

    let signed = redirect_query(&xml, Some(&sp_keys.key_pem));
    let (status, page) = get(&idp, &format!("/sso?{signed}&login_hint=alice")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        saml_response(&page)
            .expect("SAMLResponse")
            .contains(r#"InResponseTo="_signed""#)
    );

    let unsigned = redirect_query(&xml, None);
    let (status, page) = get(&idp, &format!("/sso?{unsigned}&login_hint=alice")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("requires signed AuthnRequests") && !page.contains("SAMLResponse"));

    let wrong_key = redirect_query(&xml, Some(&IdpKeys::fixed_for_tests().idp.key_pem));
    let (status, page) = get(&idp, &format!("/sso?{wrong_key}&login_hint=alice")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("does not verify") && !page.contains("SAMLResponse"));

    // The same signature over another request (a different RelayState) does not carry over.
    let tampered = signed.replace("RelayState=%2Fafter%3Fx%3D1", "RelayState=%2Fevil");
    let (status, _) = get(&idp, &format!("/sso?{tampered}&login_hint=alice")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // POST binding requests carry no Redirect signature, so they count as unsigned.
    let (status, _) = post_form(
        &idp,
        "/sso",
        &format!(
            "SAMLRequest={}&login_hint=alice",
            urlencode(&STANDARD.encode(&xml))
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let refusals: Vec<_> = idp.requests().into_iter().map(|r| r.refusal).collect();
    assert_eq!(refusals.len(), 5);
    assert!(refusals[0].is_none() && refusals[1..].iter().all(Option::is_some));

    // Switched off, an unsigned request is answered again; a bad signature still is not.
    idp.set_want_authn_requests_signed(false);
    assert!(
        idp.metadata_xml()
            .contains(r#"WantAuthnRequestsSigned="false""#)
    );
    let (status, _) = get(&idp, &format!("/sso?{unsigned}&login_hint=alice")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(&idp, &format!("/sso?{wrong_key}&login_hint=alice")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_login_page_carries_the_signed_query_and_its_choice_is_verified_again() {
    let (idp, sp_keys) = idp_requiring_signed_requests();
    let xml = authn_request("_login_signed", Some(ACS_URL));
    let signed = redirect_query(&xml, Some(&sp_keys.key_pem));
    let (status, page) = get(&idp, &format!("/sso?{signed}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let start = page.find(r#"name="SignedQuery" value=""#).expect("carried") + 26;
    let carried = &page[start..start + page[start..].find('"').expect("end")];
    assert_eq!(carried.replace("&amp;", "&"), signed);

    let form = format!("user=carol&SignedQuery={}", urlencode(&signed));
    let (status, page) = post_form(&idp, "/sso/login", &form).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        saml_response(&page)
            .expect("SAMLResponse")
            .contains(r#"InResponseTo="_login_signed""#)
    );
    assert!(
        page.contains(r#"name="RelayState" value="/after?x=1""#),
        "the signed RelayState: {page}"
    );

    // Without the signed query, the carried request is unsigned: refused.
    let form = format!(
        "user=carol&SAMLRequest={}",
        urlencode(&STANDARD.encode(&xml))
    );
    let (status, page) = post_form(&idp, "/sso/login", &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!page.contains("SAMLResponse"));
}
