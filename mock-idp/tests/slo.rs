//! Single logout at the IdP: IdP-initiated LogoutRequests (both bindings, every knob) checked with
//! openssl and the `xmlsec1` command, SP-initiated LogoutRequests signed here with the test SP key,
//! SP LogoutResponses, and hostile `/slo` input.

mod common;

use axum::http::{StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::SP_ENTITY_ID;
use common::http::{
    IDP_BASE, SLO_URL, deflate_base64, form_field, get, idp, inflate_base64, post_form, post_json,
    raw_query_pairs, redirect_signature_verifies, sign_in, sign_query_as_sp, testdata, url_decode,
    urlencode,
};
use mock_idp::knobs::{Knobs, SigningKey};
use mock_idp::server::{Idp, LogoutBinding, LogoutMessage, StartLogout};

const LOGOUT_REQUEST_ID_ATTR: &str = "urn:oasis:names:tc:SAML:2.0:protocol:LogoutRequest";

/// Verifies `xml`'s first signature with `cert_file` only (never a certificate in the message).
fn xmlsec1_verify(xml: &str, cert_file: &str, id_attr: &str) -> Result<(), String> {
    plumbing::xmlsec1::verify(xml, &testdata(cert_file), &[id_attr], None)
}

fn start(user: &str, binding: LogoutBinding, knobs: Knobs) -> StartLogout {
    StartLogout {
        user: user.to_owned(),
        binding,
        knobs,
        relay_state: Some("/bye".to_owned()),
    }
}

fn redirect_url(message: LogoutMessage) -> String {
    match message {
        LogoutMessage::Redirect { url, .. } => url,
        other => panic!("expected a redirect, got {other:?}"),
    }
}

/// The decoded message (`SAMLRequest` or `SAMLResponse`) of a redirect URL.
fn redirect_message(url: &str, param: &str) -> String {
    let pairs = raw_query_pairs(url);
    let raw = pairs
        .iter()
        .find(|(n, _)| n == param)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {param} in {url}"));
    inflate_base64(&url_decode(&raw))
}

fn post_xml(message: &LogoutMessage) -> String {
    match message {
        LogoutMessage::Post {
            html, saml_request, ..
        } => {
            assert_eq!(
                form_field(html, "SAMLRequest").as_deref(),
                Some(saml_request.as_str())
            );
            assert!(html.contains(&format!(r#"action="{SLO_URL}""#)), "{html}");
            String::from_utf8(STANDARD.decode(saml_request).expect("base64")).expect("utf-8")
        }
        other => panic!("expected a POST form, got {other:?}"),
    }
}

#[tokio::test]
async fn idp_initiated_redirect_is_signed_by_the_idp_and_ends_the_session() {
    let idp = idp();
    sign_in(&idp, "alice").await;
    let session = idp.sessions().remove(0);
    let message = idp
        .start_logout(start(
            "alice@example.com",
            LogoutBinding::Redirect,
            Knobs::default(),
        ))
        .expect("logout");
    let LogoutMessage::Redirect { url, request_id } = message else {
        panic!("redirect expected");
    };
    assert!(url.starts_with(&format!("{SLO_URL}?SAMLRequest=")), "{url}");
    assert!(url.contains("&RelayState=%2Fbye&SigAlg="), "{url}");
    assert!(
        redirect_signature_verifies(&url, "idp.crt"),
        "IdP signature must verify"
    );
    assert!(!redirect_signature_verifies(&url, "attacker.crt"));
    let xml = redirect_message(&url, "SAMLRequest");
    assert!(xml.contains(&format!(r#"ID="{request_id}""#)), "{xml}");
    assert!(
        xml.contains(&format!(r#"Destination="{SLO_URL}""#)),
        "{xml}"
    );
    assert!(
        xml.contains(r#"IssueInstant="2026-01-01T00:00:00Z""#),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(">{IDP_BASE}/metadata</saml:Issuer>")),
        "{xml}"
    );
    assert!(
        xml.contains(r#"Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@example.com</saml:NameID>"#),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            "<samlp:SessionIndex>{}</samlp:SessionIndex>",
            session.session_index
        )),
        "{xml}"
    );
    assert!(!xml.contains("NotOnOrAfter"), "{xml}");
    assert!(idp.sessions().is_empty(), "the IdP session ends too");
}

#[tokio::test]
async fn attacker_key_verifies_only_with_the_attacker_cert() {
    let idp = idp();
    sign_in(&idp, "alice").await;
    let knobs = Knobs {
        logout_signing_key: SigningKey::Attacker,
        ..Knobs::default()
    };
    let url = redirect_url(
        idp.start_logout(start("alice", LogoutBinding::Redirect, knobs.clone()))
            .expect("logout"),
    );
    assert!(!redirect_signature_verifies(&url, "idp.crt"));
    assert!(redirect_signature_verifies(&url, "attacker.crt"));

    sign_in(&idp, "alice").await;
    let xml = post_xml(
        &idp.start_logout(start("alice", LogoutBinding::Post, knobs))
            .expect("logout"),
    );
    assert!(xmlsec1_verify(&xml, "idp.crt", LOGOUT_REQUEST_ID_ATTR).is_err());
    xmlsec1_verify(&xml, "attacker.crt", LOGOUT_REQUEST_ID_ATTR).expect("attacker's own key");
}

#[tokio::test]
async fn idp_initiated_post_verifies_with_xmlsec1_and_the_signature_follows_the_issuer() {
    let idp = idp();
    sign_in(&idp, "bob").await;
    let xml = post_xml(
        &idp.start_logout(start("bob", LogoutBinding::Post, Knobs::default()))
            .expect("logout"),
    );
    xmlsec1_verify(&xml, "idp.crt", LOGOUT_REQUEST_ID_ATTR)
        .unwrap_or_else(|out| panic!("xmlsec1 refuses the LogoutRequest:\n{out}\n{xml}"));
    let issuer = xml.find("</saml:Issuer>").expect("issuer");
    let signature = xml.find("<ds:Signature").expect("signature");
    let name_id = xml.find("<saml:NameID").expect("name id");
    assert!(issuer < signature && signature < name_id, "{xml}");
    let tampered = xml.replace(">bob@example.com<", ">alice@example.com<");
    assert!(xmlsec1_verify(&tampered, "idp.crt", LOGOUT_REQUEST_ID_ATTR).is_err());

    sign_in(&idp, "bob").await;
    let unsigned = Knobs {
        logout_unsigned: true,
        ..Knobs::default()
    };
    let xml = post_xml(
        &idp.start_logout(start("bob", LogoutBinding::Post, unsigned))
            .expect("logout"),
    );
    assert!(!xml.contains("ds:Signature"), "{xml}");
}

#[tokio::test]
async fn every_logout_knob_visibly_changes_the_request() {
    let idp = idp();
    let real_destination = format!(r#"Destination="{SLO_URL}""#);
    let cases: Vec<(Knobs, &str, &str)> = vec![
        (
            Knobs {
                logout_issuer_override: Some("https://evil.example/idp".into()),
                ..Knobs::default()
            },
            ">https://evil.example/idp</saml:Issuer>",
            "/metadata</saml:Issuer>",
        ),
        (
            Knobs {
                logout_session_index_override: Some("_unknown-session".into()),
                ..Knobs::default()
            },
            "<samlp:SessionIndex>_unknown-session</samlp:SessionIndex>",
            "<samlp:SessionIndex>_0",
        ),
        (
            Knobs {
                logout_name_id_override: Some("mallory@example.com".into()),
                ..Knobs::default()
            },
            ">mallory@example.com</saml:NameID>",
            ">alice@example.com</saml:NameID>",
        ),
        (
            Knobs {
                logout_not_on_or_after_offset_secs: Some(-60),
                ..Knobs::default()
            },
            r#"NotOnOrAfter="2025-12-31T23:59:00Z""#,
            "\u{0}",
        ),
        (
            Knobs {
                logout_destination_override: Some("https://evil.example/sls".into()),
                ..Knobs::default()
            },
            r#"Destination="https://evil.example/sls""#,
            &real_destination,
        ),
    ];
    for (knobs, present, absent) in &cases {
        sign_in(&idp, "alice").await;
        let url = redirect_url(
            idp.start_logout(start("alice", LogoutBinding::Redirect, knobs.clone()))
                .expect("logout"),
        );
        assert!(
            url.starts_with(SLO_URL),
            "still sent to the SP's slo_url: {url}"
        );
        assert!(redirect_signature_verifies(&url, "idp.crt"), "{knobs:?}");
        let xml = redirect_message(&url, "SAMLRequest");
        assert!(xml.contains(present), "{knobs:?}: missing {present}\n{xml}");
        assert!(
            !xml.contains(absent),
            "{knobs:?}: unexpected {absent}\n{xml}"
        );
    }
    sign_in(&idp, "alice").await;
    let unsigned = Knobs {
        logout_unsigned: true,
        ..Knobs::default()
    };
    let url = redirect_url(
        idp.start_logout(start("alice", LogoutBinding::Redirect, unsigned))
            .expect("logout"),
    );
    assert!(
        !url.contains("Signature=") && !url.contains("SigAlg="),
        "{url}"
    );
}

#[tokio::test]
async fn control_endpoint_starts_a_logout_and_refuses_without_a_session() {
    let idp = idp();
    let refused = post_json(
        &idp,
        "/_control/logout",
        serde_json::json!({"user": "alice"}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains(r#""error":"no_session""#),
        "{}",
        refused.body
    );
    let contradictory = post_json(
        &idp,
        "/_control/logout",
        serde_json::json!({"user": "alice", "knobs": {"logout_unsigned": true, "logout_signing_key": "attacker"}}),
    )
    .await;
    assert!(
        contradictory.body.contains("bad_knob"),
        "{}",
        contradictory.body
    );

    sign_in(&idp, "alice").await;
    let answer = post_json(
        &idp,
        "/_control/logout",
        serde_json::json!({"user": "alice", "binding": "post", "knobs": {"logout_name_id_override": "x@example.com"}}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let json: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
    assert_eq!(json["binding"], "post");
    assert!(json["html"].as_str().expect("html").contains("SAMLRequest"));

    sign_in(&idp, "alice").await;
    let answer = post_json(
        &idp,
        "/_control/logout",
        serde_json::json!({"user": "alice"}),
    )
    .await;
    let json: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
    assert_eq!(json["binding"], "redirect");
    assert!(json["url"].as_str().expect("url").starts_with(SLO_URL));
}

/// An SP LogoutRequest for `name_id`/`session_index`, as the Redirect binding's unsigned query.
fn sp_logout_query(id: &str, name_id: &str, session_index: &str) -> String {
    let xml = format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" Destination="{IDP_BASE}/slo"><saml:Issuer>{SP_ENTITY_ID}</saml:Issuer><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{name_id}</saml:NameID><samlp:SessionIndex>{session_index}</samlp:SessionIndex></samlp:LogoutRequest>"#
    );
    format!(
        "SAMLRequest={}&RelayState={}",
        urlencode(&deflate_base64(&xml)),
        urlencode("/signed-out")
    )
}

async fn send_sp_logout(idp: &Idp, query: &str) -> (String, String) {
    let answer = get(idp, &format!("/slo?{query}"), None).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let location = answer
        .header(header::LOCATION)
        .expect("Location")
        .to_owned();
    assert!(
        location.starts_with(&format!("{SLO_URL}?SAMLResponse=")),
        "{location}"
    );
    let xml = redirect_message(&location, "SAMLResponse");
    (location, xml)
}

#[tokio::test]
async fn signed_sp_logout_request_ends_the_session_and_gets_a_signed_success() {
    let idp = idp();
    sign_in(&idp, "alice").await;
    sign_in(&idp, "bob").await;
    let alice = idp
        .sessions()
        .into_iter()
        .find(|s| s.login == "alice")
        .expect("alice");
    let query = sign_query_as_sp(
        &sp_logout_query("_sp-lr-1", "alice@example.com", &alice.session_index),
        "sp-test.key",
    );
    let (location, xml) = send_sp_logout(&idp, &query).await;
    assert!(
        redirect_signature_verifies(&location, "idp.crt"),
        "{location}"
    );
    assert!(
        location.contains("&RelayState=%2Fsigned-out&"),
        "{location}"
    );
    assert!(xml.contains("<samlp:LogoutResponse"), "{xml}");
    assert!(xml.contains(r#"InResponseTo="_sp-lr-1""#), "{xml}");
    assert!(
        xml.contains(&format!(r#"Destination="{SLO_URL}""#)),
        "{xml}"
    );
    assert!(
        xml.contains("urn:oasis:names:tc:SAML:2.0:status:Success"),
        "{xml}"
    );
    let left: Vec<String> = idp.sessions().into_iter().map(|s| s.login).collect();
    assert_eq!(left, vec!["bob".to_owned()], "only alice's session ended");

    let recorded = get(&idp, "/_control/logout-requests", None).await;
    let json: serde_json::Value = serde_json::from_str(&recorded.body).expect("json");
    assert_eq!(json[0]["signature"]["result"], "verified");
    assert_eq!(json[0]["sessions_ended"], 1);
    assert_eq!(json[0]["request"]["id"], "_sp-lr-1");
    assert_eq!(
        json[0]["status_sent"],
        "urn:oasis:names:tc:SAML:2.0:status:Success"
    );
}

#[tokio::test]
async fn unsigned_or_wrongly_signed_sp_logout_requests_get_requester_and_end_nothing() {
    let idp = idp();
    sign_in(&idp, "alice").await;
    let index = idp.sessions()[0].session_index.clone();
    let unsigned = sp_logout_query("_unsigned", "alice@example.com", &index);
    let wrong_key = sign_query_as_sp(
        &sp_logout_query("_wrong", "alice@example.com", &index),
        "attacker.key",
    );
    let tampered = sign_query_as_sp(
        &sp_logout_query("_t", "alice@example.com", &index),
        "sp-test.key",
    )
    .replace("RelayState=%2Fsigned-out", "RelayState=%2Fevil");
    for query in [&unsigned, &wrong_key, &tampered] {
        let (location, xml) = send_sp_logout(&idp, query).await;
        assert!(redirect_signature_verifies(&location, "idp.crt"));
        assert!(
            xml.contains("urn:oasis:names:tc:SAML:2.0:status:Requester"),
            "{xml}"
        );
        assert!(!xml.contains("status:Success"), "{xml}");
    }
    assert_eq!(idp.sessions().len(), 1, "no session ended");
    let recorded = idp.logout_requests();
    let results: Vec<String> = recorded
        .iter()
        .map(|r| {
            serde_json::to_value(&r.signature).expect("json")["result"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(results, ["missing", "invalid", "invalid"]);
    assert!(recorded.iter().all(|r| r.sessions_ended == 0));
}

#[tokio::test]
async fn next_logout_response_knobs_change_the_answer() {
    let idp = idp();
    sign_in(&idp, "alice").await;
    let index = idp.sessions()[0].session_index.clone();
    let set = post_json(
        &idp,
        "/_control/next-logout-response",
        serde_json::json!({"logout_status_code": "responder", "logout_signing_key": "attacker"}),
    )
    .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.body);
    let query = sign_query_as_sp(
        &sp_logout_query("_k", "alice@example.com", &index),
        "sp-test.key",
    );
    let (location, xml) = send_sp_logout(&idp, &query).await;
    assert!(xml.contains("status:Responder"), "{xml}");
    assert!(!redirect_signature_verifies(&location, "idp.crt"));
    assert!(redirect_signature_verifies(&location, "attacker.crt"));
    // One response only: the next one is conformant again.
    let query = sign_query_as_sp(
        &sp_logout_query("_k2", "alice@example.com", &index),
        "sp-test.key",
    );
    let (location, xml) = send_sp_logout(&idp, &query).await;
    assert!(xml.contains("status:Success"), "{xml}");
    assert!(redirect_signature_verifies(&location, "idp.crt"));
}

#[tokio::test]
async fn sp_logout_response_is_recorded_and_shows_a_signed_out_page() {
    let idp = idp();
    sign_in(&idp, "alice").await;
    let LogoutMessage::Redirect { request_id, .. } = idp
        .start_logout(start("alice", LogoutBinding::Redirect, Knobs::default()))
        .expect("logout")
    else {
        panic!("redirect expected");
    };
    let xml = format!(
        r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_sp-resp" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" Destination="{IDP_BASE}/slo" InResponseTo="{request_id}"><saml:Issuer>{SP_ENTITY_ID}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>"#
    );
    let query = sign_query_as_sp(
        &format!("SAMLResponse={}", urlencode(&deflate_base64(&xml))),
        "sp-test.key",
    );
    let answer = get(&idp, &format!("/slo?{query}"), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.body.contains("You are signed out"));
    let recorded = get(&idp, "/_control/logout-responses", None).await;
    let json: serde_json::Value = serde_json::from_str(&recorded.body).expect("json");
    assert_eq!(json[0]["signature"]["result"], "verified");
    assert_eq!(json[0]["answers_sent_request"], true);
    assert_eq!(json[0]["response"]["in_response_to"], request_id.as_str());
    assert_eq!(
        json[0]["response"]["status_code"],
        "urn:oasis:names:tc:SAML:2.0:status:Success"
    );

    // Over HTTP-POST, unsigned and answering nothing the IdP sent.
    let forged = xml.replace(&request_id, "_never-sent");
    let answer = post_form(
        &idp,
        "/slo",
        &format!("SAMLResponse={}", urlencode(&STANDARD.encode(&forged))),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let last = idp.logout_responses().pop().expect("recorded");
    assert!(!last.answers_sent_request);
    assert_eq!(
        serde_json::to_value(&last.signature).expect("json")["result"],
        "missing"
    );
}

#[tokio::test]
async fn hostile_slo_input_is_a_400_never_a_panic() {
    let idp = idp();
    let deflated = |xml: &str| urlencode(&deflate_base64(xml));
    let dtd = r#"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x">&e;</samlp:LogoutRequest>"#;
    let bomb = deflated(&" ".repeat(1024 * 1024));
    // The http crate caps a URI below 64 KiB, so the GET case stays under it; POST goes beyond.
    let huge = "A".repeat(60 * 1024);
    let huge_post = format!("SAMLRequest={}", "A".repeat(200 * 1024));
    let cases = [
        "/slo".to_owned(),
        "/slo?SAMLRequest=%%%garbage".to_owned(),
        "/slo?SAMLRequest=aGVsbG8gd29ybGQ%3D".to_owned(),
        format!("/slo?SAMLRequest={bomb}"),
        format!("/slo?SAMLRequest={huge}"),
        format!("/slo?SAMLRequest={}", deflated(dtd)),
        format!("/slo?SAMLRequest={}", deflated("<not-closed>")),
        format!("/slo?SAMLRequest={}", deflated("<a/>")),
        "/slo?SAMLRequest=a&SAMLRequest=b".to_owned(),
        "/slo?SAMLRequest=a&SAMLResponse=b".to_owned(),
        format!("/slo?SAMLResponse={}", deflated(dtd)),
        "/slo?SAMLRequest=%FF%FE".to_owned(),
        format!(
            "/slo?SAMLRequest={}",
            deflated(
                r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_u"><saml:Issuer>https://unknown.example</saml:Issuer></samlp:LogoutRequest>"#
            )
        ),
    ];
    for uri in &cases {
        let answer = get(&idp, uri, None).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            answer.body
        );
        assert!(answer.header(header::LOCATION).is_none());
    }
    for form in [
        "",
        "SAMLRequest=%%%",
        "SAMLRequest=a&SAMLResponse=b",
        "SAMLRequest=PGEvPg%3D%3D",
        &huge_post,
        &"A".repeat(300 * 1024),
    ] {
        let answer = post_form(&idp, "/slo", form).await;
        let shown: String = form.chars().take(40).collect();
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{shown}: {}",
            answer.body
        );
    }
    assert!(idp.logout_requests().iter().all(|r| r.refusal.is_some()));
}

#[tokio::test]
async fn post_binding_sp_logout_request_signed_by_xmlsec1_is_verified() {
    let idp = idp();
    sign_in(&idp, "alice").await;
    let index = idp.sessions()[0].session_index.clone();
    let template = format!(
        r##"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_post-lr" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" Destination="{IDP_BASE}/slo"><saml:Issuer>{SP_ENTITY_ID}</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#_post-lr"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature><saml:NameID>alice@example.com</saml:NameID><samlp:SessionIndex>{index}</samlp:SessionIndex></samlp:LogoutRequest>"##
    );
    let signed = plumbing::xmlsec1::sign(
        &template,
        &testdata("sp-test.key"),
        &testdata("sp-test.crt"),
        &[LOGOUT_REQUEST_ID_ATTR],
        None,
    );
    let post = |xml: &str| {
        format!(
            "SAMLRequest={}&RelayState=%2Fp",
            urlencode(&STANDARD.encode(xml))
        )
    };

    // Tampered first (a different session index): refused, nothing ends.
    let tampered = signed.replace(&index, "_other");
    let answer = post_form(&idp, "/slo", &post(&tampered)).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let location = answer
        .header(header::LOCATION)
        .expect("Location")
        .to_owned();
    assert!(redirect_message(&location, "SAMLResponse").contains("status:Requester"));
    assert_eq!(idp.sessions().len(), 1);

    let answer = post_form(&idp, "/slo", &post(&signed)).await;
    let location = answer
        .header(header::LOCATION)
        .expect("Location")
        .to_owned();
    let xml = redirect_message(&location, "SAMLResponse");
    assert!(xml.contains("status:Success"), "{xml}");
    assert!(xml.contains(r#"InResponseTo="_post-lr""#), "{xml}");
    assert!(redirect_signature_verifies(&location, "idp.crt"));
    assert!(idp.sessions().is_empty());
    let checks: Vec<serde_json::Value> = idp
        .logout_requests()
        .iter()
        .map(|r| serde_json::to_value(&r.signature).expect("json"))
        .collect();
    assert_eq!(checks[0]["result"], "invalid", "{checks:?}");
    assert_eq!(checks[1]["result"], "verified", "{checks:?}");
}

#[tokio::test]
async fn logout_refuses_knobs_a_logout_message_does_not_read() {
    let idp = idp();
    sign_in(&idp, "alice").await;
    let refused = post_json(
        &idp,
        "/_control/logout",
        serde_json::json!({"user": "alice", "knobs": {"validity_secs": 60}}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused
            .body
            .contains("validity_secs: not read by a logout message"),
        "{}",
        refused.body
    );
    let refused = post_json(
        &idp,
        "/_control/next-logout-response",
        serde_json::json!({"omit_groups": true}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("bad_knob"), "{}", refused.body);
}

/// `logout_redirect_game`: each game has the shape it is named for, on a real LogoutRequest.
#[test]
fn redirect_games_build_the_query_strings_they_are_named_for() {
    use mock_idp::redirect_games::{DEFLATE_BOMB_BYTES, RedirectGame as G, build_query};
    use std::io::Read;
    let key = mock_idp::keys::IdpKeys::fixed_for_tests().idp.key_pem;
    let xml = r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_l1" Version="2.0" IssueInstant="2026-06-01T12:00:00Z"/>"#;
    let query = |game| build_query(xml, Some("a b"), Some(&key), game).expect("query");
    let param = |q: &str, name: &str| -> String {
        q.split('&')
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {q}"))
            .to_owned()
    };
    let plain = |value: &str| {
        percent_encoding::percent_decode_str(value)
            .decode_utf8_lossy()
            .into_owned()
    };
    let repeated = query(G::RepeatSamlRequest);
    assert_eq!(repeated.matches("SAMLRequest=").count(), 2, "{repeated}");
    assert!(repeated.rfind("SAMLRequest=") > repeated.find("Signature="));
    let reordered = query(G::ReorderParameters);
    assert!(reordered.starts_with("Signature="), "{reordered}");
    assert!(reordered.find("SAMLRequest=") > reordered.find("RelayState="));
    let lower = query(G::LowerCaseHex);
    assert_eq!(param(&lower, "RelayState"), "a%20b");
    assert!(param(&lower, "SigAlg").contains("%3a%2f%2f"), "{lower}");
    let reencoded = query(G::ReencodedAfterSigning);
    assert!(
        !reencoded.contains("%2F") && reencoded.contains("%2f"),
        "{reencoded}"
    );
    let double = query(G::DoubleEncoded);
    assert!(param(&double, "SAMLRequest").contains("%25"), "{double}");
    let sha1 = query(G::SigAlgRsaSha1);
    assert_eq!(
        plain(&param(&sha1, "SigAlg")),
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    );
    let b64 = |q: &str| {
        STANDARD
            .decode(plain(&param(q, "SAMLRequest")))
            .expect("base64")
    };
    let zlib = b64(&query(G::ZlibFraming));
    assert_eq!(zlib[0], 0x78, "a zlib header");
    let bomb = query(G::DeflateBomb);
    assert!(bomb.len() < 64 * 1024, "{} bytes on the wire", bomb.len());
    let mut inflated = Vec::new();
    flate2::read::DeflateDecoder::new(b64(&bomb).as_slice())
        .read_to_end(&mut inflated)
        .expect("raw DEFLATE");
    assert!(inflated.len() > DEFLATE_BOMB_BYTES, "{}", inflated.len());
}

/// `logout_carry_signed_assertion` (CVE-2025-47949's carrier at the SLO endpoint): the unsigned
/// LogoutRequest carries, in `samlp:Extensions`, an assertion whose IdP signature still verifies
/// with `xmlsec1`; `logout_omit_name_id` leaves the NameID out.
#[tokio::test]
async fn a_logout_request_can_carry_a_signed_assertion_or_omit_its_name_id() {
    let idp = idp();
    sign_in(&idp, "bob").await;
    let carrying = Knobs {
        logout_unsigned: true,
        logout_carry_signed_assertion: true,
        ..Knobs::default()
    };
    let xml = post_xml(
        &idp.start_logout(start("bob", LogoutBinding::Post, carrying))
            .expect("logout"),
    );
    let extensions = xml
        .find("<samlp:Extensions><saml:Assertion ")
        .expect("carried");
    assert!(xml.find("</saml:Issuer>") < Some(extensions), "{xml}");
    xmlsec1_verify(
        &xml,
        "idp.crt",
        "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
    )
    .unwrap_or_else(|out| panic!("the carried assertion's signature:\n{out}\n{xml}"));
    assert!(
        Knobs {
            logout_carry_signed_assertion: true,
            ..Knobs::default()
        }
        .validate()
        .is_err(),
        "the IdP's own signed LogoutRequest carries nothing"
    );
    sign_in(&idp, "bob").await;
    let no_name_id = Knobs {
        logout_omit_name_id: true,
        ..Knobs::default()
    };
    let url = redirect_url(
        idp.start_logout(start("bob", LogoutBinding::Redirect, no_name_id))
            .expect("logout"),
    );
    assert!(!redirect_message(&url, "SAMLRequest").contains("NameID"));
}
