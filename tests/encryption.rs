//! Encrypted assertions end to end over real HTTP: the mock IdP's encryption knobs (it encrypts to
//! the SP's metadata certificate, passed by the harness) against the reference SP, judged by who
//! is signed in. Decryption failures must look the same from the browser whatever their cause,
//! with the cause in the audit log.

use mock_idp::server::NextResponses;
use samlconf::driver::{HttpDriver, SignInOutcome};
use samlconf::harness::{Pair, PairOptions};
use serde_json::json;
use time::macros::datetime;

async fn pair() -> Pair {
    Pair::start(PairOptions {
        virtual_start: Some(datetime!(2026-06-01 12:00 UTC)),
        ..Default::default()
    })
    .await
    .expect("start mock IdP and reference SP")
}

async fn sign_in(pair: &Pair, profile: &str, knobs: serde_json::Value) -> SignInOutcome {
    pair.idp
        .set_next(NextResponses {
            profile: Some(profile.into()),
            knobs,
            count: 1,
            user: None,
        })
        .expect("queue profile");
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    driver
        .sign_in("alice@example.com", None)
        .await
        .expect("driver")
}

#[track_caller]
fn assert_signed_in(outcome: &SignInOutcome) {
    match outcome {
        SignInOutcome::SignedIn { me, .. } => assert_eq!(me["email"], "alice@example.com"),
        other => panic!("expected alice signed in, got {other:?}"),
    }
}

/// The refusal's (message, detail) as the browser/driver sees them.
#[track_caller]
fn refused(outcome: &SignInOutcome, code: &str) -> (String, String) {
    match outcome {
        SignInOutcome::Refused {
            status,
            code: got,
            message,
            detail,
        } => {
            assert_eq!((got.as_str(), *status), (code, 403), "{outcome:?}");
            (message.clone(), detail.clone())
        }
        other => panic!("expected refusal {code}, got {other:?}"),
    }
}

#[tokio::test]
async fn encrypted_assertions_sign_in_with_each_data_algorithm_and_key_transport() {
    let pair = pair().await;
    assert_signed_in(&sign_in(&pair, "encrypted", json!({})).await);
    assert_signed_in(
        &sign_in(
            &pair,
            "encrypted",
            json!({ "data_encryption": "aes128-gcm" }),
        )
        .await,
    );
    // AES-CBC is refused by default (allow_cbc = false): one browser-facing code, the cause in
    // the audit log.
    for data in ["aes256-cbc", "aes128-cbc"] {
        refused(
            &sign_in(&pair, "encrypted", json!({ "data_encryption": data })).await,
            "decryption.failed",
        );
    }
    let events = pair.sp.store().audit_events().await.unwrap();
    assert!(
        events
            .iter()
            .filter(|e| e.code.as_deref() == Some("decryption.failed"))
            .all(|e| e.detail.contains("-cbc") && e.detail.contains("allow_cbc")),
        "{events:?}"
    );
    assert_signed_in(
        &sign_in(
            &pair,
            "valid",
            json!({ "encrypt_name_id": true, "encrypt_attributes": true }),
        )
        .await,
    );
    // RSA 1.5 is refused by default (allow_rsa15 = false).
    refused(
        &sign_in(&pair, "encrypted", json!({ "key_transport": "rsa-1_5" })).await,
        "decryption.failed",
    );
}

#[tokio::test]
async fn allow_cbc_accepts_aes_cbc_data_encryption() {
    let pair = Pair::start(PairOptions {
        virtual_start: Some(datetime!(2026-06-01 12:00 UTC)),
        sp_tweak: Some(|c: &mut sp::config::SpConfig| c.sp.allow_cbc = true),
        ..Default::default()
    })
    .await
    .expect("start pair");
    for data in ["aes256-cbc", "aes128-cbc"] {
        assert_signed_in(&sign_in(&pair, "encrypted", json!({ "data_encryption": data })).await);
    }
}

#[tokio::test]
async fn decryption_failures_are_uniform_in_the_browser_and_detailed_in_the_audit_log() {
    let pair = pair().await;
    let wrong_key = refused(
        &sign_in(&pair, "encrypted-wrong-key", json!({})).await,
        "decryption.failed",
    );
    let corrupt = refused(
        &sign_in(&pair, "encrypted-corrupt", json!({})).await,
        "decryption.failed",
    );
    assert_eq!(wrong_key, corrupt, "no hint of which step failed");
    let events = pair.sp.store().audit_events().await.unwrap();
    let details: Vec<&str> = events
        .iter()
        .filter(|e| e.code.as_deref() == Some("decryption.failed"))
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(details.len(), 2, "{events:?}");
    assert_ne!(
        details[0], details[1],
        "the audit log says which: {details:?}"
    );
}

#[tokio::test]
async fn an_encrypted_assertion_still_needs_the_idps_signature() {
    let pair = pair().await;
    refused(
        &sign_in(&pair, "encrypted-unsigned", json!({})).await,
        "signature.missing",
    );
    refused(
        &sign_in(&pair, "encrypted-attacker-signed", json!({})).await,
        "signature.invalid",
    );
}

#[tokio::test]
async fn require_encrypted_assertions_refuses_plaintext() {
    let pair = Pair::start(PairOptions {
        virtual_start: Some(datetime!(2026-06-01 12:00 UTC)),
        sp_tweak: Some(|c: &mut sp::config::SpConfig| {
            c.sp.require_encrypted_assertions = true;
        }),
        ..Default::default()
    })
    .await
    .expect("start pair");
    refused(
        &sign_in(&pair, "valid", json!({})).await,
        "encryption.required",
    );
    assert_signed_in(&sign_in(&pair, "encrypted", json!({})).await);
}

#[tokio::test]
async fn allow_rsa15_accepts_rsa15_key_transport() {
    let pair = Pair::start(PairOptions {
        virtual_start: Some(datetime!(2026-06-01 12:00 UTC)),
        sp_tweak: Some(|c: &mut sp::config::SpConfig| c.sp.allow_rsa15 = true),
        ..Default::default()
    })
    .await
    .expect("start pair");
    assert_signed_in(&sign_in(&pair, "encrypted", json!({ "key_transport": "rsa-1_5" })).await);
}

#[tokio::test]
async fn the_sp_metadata_publishes_the_encryption_certificate_the_idp_encrypts_to() {
    let pair = pair().await;
    let metadata = reqwest::get(format!("{}/saml/metadata", pair.endpoints.sp_base_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let enc = sp::keys::SpEncryptionKeys::fixed_for_tests();
    assert!(metadata.contains(r#"<md:KeyDescriptor use="encryption">"#));
    assert!(metadata.contains(&enc.cert_der_base64()), "{metadata}");
}

#[tokio::test]
async fn a_renewal_ended_by_a_decryption_failure_shows_json_clients_no_detail() {
    let pair = Pair::start(PairOptions {
        virtual_start: Some(datetime!(2026-06-01 12:00 UTC)),
        // The renewal's answer is posted below by a second client, without the binding cookie.
        sp_tweak: Some(|c: &mut sp::config::SpConfig| c.sp.bind_requests_to_browser = false),
        ..Default::default()
    })
    .await
    .expect("start mock IdP and reference SP");
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    assert_signed_in(&driver.sign_in("alice@example.com", None).await.unwrap());
    pair.idp
        .set_next(NextResponses {
            profile: Some("encrypted-wrong-key".into()),
            knobs: json!({}),
            count: 1,
            user: None,
        })
        .unwrap();
    let idp_page = driver.visit("/renew").await.unwrap();
    let form = samlconf::driver::parse_post_form(&idp_page.body).expect("the IdP's answer");
    let response = reqwest::Client::new()
        .post(&form.action)
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&form.fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "decryption.failed", "{body}");
    assert_eq!(body["session_ended"], true, "{body}");
    assert!(body.get("detail").is_none(), "{body}");
    assert_eq!(
        driver.me().await.unwrap(),
        None,
        "the renewal ended the session"
    );
    // What failed is in the audit log, and nowhere in the answer.
    let events = pair.sp.store().audit_events().await.unwrap();
    let logged = events
        .iter()
        .find(|e| e.kind == "renewal.failed")
        .expect("audited");
    assert!(!logged.detail.is_empty());
    assert!(!body.to_string().contains(&logged.detail), "{body}");
}
