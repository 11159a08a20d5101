//! End to end over real HTTP on loopback: the mock IdP and the reference SP on random ports, the
//! HTTP driver (reqwest with a cookie jar) following the auto-submit form. Each core profile gives
//! its expected outcome, judged by who is signed in and with which roles — not by status alone.

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

fn next(profile: &str) -> NextResponses {
    NextResponses {
        profile: Some(profile.into()),
        knobs: json!({}),
        count: 1,
        user: None,
    }
}

async fn sign_in_with(pair: &Pair, profile: &str, user: &str) -> SignInOutcome {
    pair.idp.set_next(next(profile)).expect("queue profile");
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    driver.sign_in(user, None).await.expect("driver")
}

fn assert_signed_in(outcome: &SignInOutcome, email: &str, roles: &[&str]) {
    match outcome {
        SignInOutcome::SignedIn { me, .. } => {
            assert_eq!(me["email"], email, "{me}");
            assert_eq!(outcome.roles(), roles, "{me}");
        }
        other => panic!("expected {email} signed in, got {other:?}"),
    }
}

fn assert_refused(outcome: &SignInOutcome, code: &str) {
    match outcome {
        SignInOutcome::Refused {
            status, code: got, ..
        } => {
            assert_eq!(got, code, "{outcome:?}");
            assert_eq!(*status, if code.starts_with("input.") { 400 } else { 403 });
        }
        other => panic!("expected refusal {code}, got {other:?}"),
    }
}

#[tokio::test]
async fn valid_signs_in_with_the_mapped_role() {
    let pair = pair().await;
    let outcome = sign_in_with(&pair, "valid", "alice@example.com").await;
    assert_signed_in(&outcome, "alice@example.com", &["admin"]);
    if let SignInOutcome::SignedIn { me, .. } = &outcome {
        assert_eq!(me["first_name"], "Alice");
        assert_eq!(me["idp"], pair.endpoints.idp_entity_id());
        assert!(
            me["session_expires_at"]
                .as_str()
                .is_some_and(|s| s.starts_with("2026-06-01T"))
        );
    }
    let received = pair.idp.requests();
    assert_eq!(received.len(), 1, "the IdP saw the SP's AuthnRequest");
}

#[tokio::test]
async fn sha1_is_refused_as_weak() {
    let pair = pair().await;
    assert_refused(
        &sign_in_with(&pair, "sha1", "alice@example.com").await,
        "signature.weak_algorithm",
    );
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let pair = pair().await;
    assert_refused(
        &sign_in_with(&pair, "wrong-audience", "alice@example.com").await,
        "audience.mismatch",
    );
}

#[tokio::test]
async fn skewed_clock_is_refused_but_small_skew_is_tolerated() {
    let pair = pair().await;
    assert_refused(
        &sign_in_with(&pair, "skewed-clock", "bob@example.com").await,
        "time.not_yet_valid",
    );
    let outcome = sign_in_with(&pair, "skewed-clock-within-tolerance", "bob@example.com").await;
    assert_signed_in(&outcome, "bob@example.com", &["member"]);
}

#[tokio::test]
async fn missing_groups_give_the_default_role() {
    let pair = pair().await;
    let outcome = sign_in_with(&pair, "missing-groups", "alice@example.com").await;
    assert_signed_in(&outcome, "alice@example.com", &["member"]);
}

#[tokio::test]
async fn entra_guid_groups_map_by_object_id_and_unmapped_guids_give_the_default() {
    let pair = pair().await;
    let carol = sign_in_with(&pair, "entra-guid-groups", "carol@example.com").await;
    assert_signed_in(&carol, "carol@example.com", &["editor"]);
    let dave = sign_in_with(&pair, "entra-guid-groups", "dave@example.com").await;
    assert_signed_in(&dave, "dave@example.com", &["member"]);
    // The same user with group names instead: "engineering" is not mapped.
    let carol_names = sign_in_with(&pair, "valid", "carol@example.com").await;
    assert_signed_in(&carol_names, "carol@example.com", &["member"]);
}

#[tokio::test]
async fn signature_faults_have_their_codes() {
    let pair = pair().await;
    assert_refused(
        &sign_in_with(&pair, "unsigned", "alice@example.com").await,
        "signature.missing",
    );
    assert_refused(
        &sign_in_with(&pair, "wrong-key", "alice@example.com").await,
        "signature.invalid",
    );
}

#[tokio::test]
async fn addressing_and_time_faults_have_their_codes() {
    let pair = pair().await;
    assert_refused(
        &sign_in_with(&pair, "expired", "alice@example.com").await,
        "time.expired",
    );
    assert_refused(
        &sign_in_with(&pair, "wrong-destination", "alice@example.com").await,
        "destination.mismatch",
    );
    assert_refused(
        &sign_in_with(&pair, "wrong-recipient", "alice@example.com").await,
        "recipient.mismatch",
    );
}

#[tokio::test]
async fn access_false_is_refused() {
    let pair = pair().await;
    pair.idp
        .set_next(NextResponses {
            profile: Some("valid".into()),
            knobs: json!({"attribute_style": "shotgun"}),
            count: 1,
            user: None,
        })
        .unwrap();
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    assert_refused(
        &driver.sign_in("erin@example.com", None).await.unwrap(),
        "access.denied",
    );
    assert!(
        driver.me().await.unwrap().is_none(),
        "refused means nobody is signed in"
    );
}

#[tokio::test]
async fn replayed_response_is_refused_and_nobody_new_is_signed_in() {
    let pair = pair().await;
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    let form = driver
        .fetch_idp_form("bob@example.com", None)
        .await
        .unwrap()
        .expect("form");
    assert_signed_in(
        &driver.submit(&form).await.unwrap(),
        "bob@example.com",
        &["member"],
    );

    let attacker = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    assert_refused(
        &attacker.submit(&form).await.unwrap(),
        "replay.assertion_reused",
    );
    assert!(attacker.me().await.unwrap().is_none());
}

#[tokio::test]
async fn relay_state_deep_link_is_followed_only_when_local() {
    let pair = pair().await;
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    match driver
        .sign_in("bob@example.com", Some("/projects/7?tab=files"))
        .await
        .unwrap()
    {
        SignInOutcome::SignedIn { landing, .. } => {
            assert_eq!(
                landing,
                format!("{}/projects/7?tab=files", pair.endpoints.sp_base_url)
            )
        }
        other => panic!("{other:?}"),
    }
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    match driver
        .sign_in("bob@example.com", Some("https://evil.example/"))
        .await
        .unwrap()
    {
        SignInOutcome::SignedIn { landing, .. } => {
            assert_eq!(landing, format!("{}/", pair.endpoints.sp_base_url))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn idp_initiated_sign_in_works_when_allowed() {
    let pair = pair().await;
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    let outcome = driver
        .sign_in_idp_initiated(
            &pair.endpoints.idp_base_url,
            &pair.sp.config().entity_id(),
            "alice@example.com",
        )
        .await
        .unwrap();
    assert_signed_in(&outcome, "alice@example.com", &["admin"]);
}

#[tokio::test]
async fn refusal_is_audited_with_code_idp_subject_and_groups() {
    let pair = pair().await;
    assert_refused(
        &sign_in_with(&pair, "wrong-audience", "carol@example.com").await,
        "audience.mismatch",
    );
    let events = pair.sp.store().audit_events().await.unwrap();
    let refusal = events
        .iter()
        .find(|e| e.kind == "sign_in.rejected")
        .expect("audited");
    assert_eq!(refusal.code.as_deref(), Some("audience.mismatch"));
    assert_eq!(
        refusal.idp.as_deref(),
        Some(pair.endpoints.idp_entity_id().as_str())
    );
    assert_eq!(refusal.subject.as_deref(), Some("carol@example.com"));
    assert_eq!(refusal.groups, vec!["engineering"]);
    assert!(
        refusal.detail.contains("audience") || refusal.detail.contains("Audience"),
        "{}",
        refusal.detail
    );
}

#[tokio::test]
async fn browser_gets_an_html_failure_page_with_the_code() {
    let pair = pair().await;
    pair.idp.set_next(next("wrong-audience")).unwrap();
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    let form = driver
        .fetch_idp_form("alice@example.com", None)
        .await
        .unwrap()
        .expect("form");
    let response = reqwest::Client::new()
        .post(&form.action)
        .form(&form.fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(
        page.contains(r#"<code id="reason-code">audience.mismatch</code>"#),
        "{page}"
    );
}

#[tokio::test]
async fn undecodable_input_is_400_with_a_code() {
    let pair = pair().await;
    let acs = pair.sp.config().acs_url();
    let client = reqwest::Client::new();
    for (body, code) in [
        ("SAMLResponse=%%%not-base64%%%", "input.not_base64"),
        (
            "SAMLResponse=PHg%2BPC94Pg%3D%3D",
            "structure.not_a_response",
        ),
        ("SAMLResponse=bm90IHhtbA%3D%3D", "input.not_xml"),
    ] {
        let response = client
            .post(&acs)
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let json: serde_json::Value = response.json().await.unwrap();
        assert_eq!(json["error"], code, "{body}");
        assert_eq!(
            status,
            if code.starts_with("input.") { 400 } else { 403 },
            "{body}"
        );
    }
}

#[tokio::test]
async fn me_is_401_when_signed_out_and_logout_ends_the_session() {
    let pair = pair().await;
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    assert!(driver.me().await.unwrap().is_none());
    assert_signed_in(
        &driver.sign_in("bob@example.com", None).await.unwrap(),
        "bob@example.com",
        &["member"],
    );
    driver.logout().await.unwrap();
    assert!(driver.me().await.unwrap().is_none());
}

#[tokio::test]
async fn session_ends_when_virtual_time_passes_its_end() {
    let pair = pair().await;
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    assert_signed_in(
        &driver.sign_in("bob@example.com", None).await.unwrap(),
        "bob@example.com",
        &["member"],
    );
    let clocks = pair.clocks.clone().expect("virtual clocks");
    clocks.advance(time::Duration::hours(7));
    assert!(
        driver.me().await.unwrap().is_some(),
        "the IdP's 8 h SessionNotOnOrAfter has not passed"
    );
    clocks.advance(time::Duration::hours(2));
    assert!(
        driver.me().await.unwrap().is_none(),
        "the session ended with SessionNotOnOrAfter"
    );
}

#[tokio::test]
async fn algorithm_allow_lists_in_the_sp_configuration_are_enforced() {
    let only_sha512 = Pair::start(PairOptions {
        virtual_start: Some(datetime!(2026-06-01 12:00 UTC)),
        sp_tweak: Some(|c| c.sp.signature_algorithms = vec!["rsa-sha512".into()]),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_refused(
        &sign_in_with(&only_sha512, "valid", "bob@example.com").await,
        "signature.unsupported_algorithm",
    );
    only_sha512
        .idp
        .set_next(NextResponses {
            profile: Some("valid".into()),
            knobs: json!({"signature_algorithm": "rsa-sha512"}),
            count: 1,
            user: None,
        })
        .unwrap();
    let driver = HttpDriver::new(&only_sha512.endpoints.sp_base_url).unwrap();
    assert_signed_in(
        &driver.sign_in("bob@example.com", None).await.unwrap(),
        "bob@example.com",
        &["member"],
    );

    let sha1_allowed = Pair::start(PairOptions {
        virtual_start: Some(datetime!(2026-06-01 12:00 UTC)),
        sp_tweak: Some(|c| {
            c.sp.signature_algorithms.push("rsa-sha1".into());
            c.sp.digest_algorithms.push("sha1".into());
        }),
        ..Default::default()
    })
    .await
    .unwrap();
    let outcome = sign_in_with(&sha1_allowed, "sha1", "alice@example.com").await;
    assert_signed_in(&outcome, "alice@example.com", &["admin"]);
}

#[tokio::test]
async fn identity_policies_refuse_with_their_codes() {
    let start = Some(datetime!(2026-06-01 12:00 UTC));
    let domains = Pair::start(PairOptions {
        virtual_start: start,
        sp_tweak: Some(|c| c.sp.allowed_email_domains = vec!["corp.example".into()]),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_refused(
        &sign_in_with(&domains, "valid", "bob@example.com").await,
        "email.domain_not_allowed",
    );
    assert!(
        domains
            .sp
            .store()
            .user_by_email("bob@example.com")
            .await
            .unwrap()
            .is_none(),
        "no account touched"
    );

    let no_jit = Pair::start(PairOptions {
        virtual_start: start,
        sp_tweak: Some(|c| c.sp.jit_provisioning = false),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_refused(
        &sign_in_with(&no_jit, "valid", "bob@example.com").await,
        "user.not_provisioned",
    );

    // No e-mail attribute the SP looks for, and a NameID that is not an e-mail address.
    let no_email = Pair::start(PairOptions {
        virtual_start: start,
        sp_tweak: Some(|c| c.attributes.email = vec!["urn:oid:0.9.2342.19200300.100.1.3".into()]),
        ..Default::default()
    })
    .await
    .unwrap();
    no_email
        .idp
        .set_next(NextResponses {
            profile: Some("valid".into()),
            knobs: json!({"name_id_format": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent", "name_id_value": "u-1234"}),
            count: 1,
            user: None,
        })
        .unwrap();
    let driver = HttpDriver::new(&no_email.endpoints.sp_base_url).unwrap();
    let outcome = driver.sign_in("bob@example.com", None).await.unwrap();
    assert_refused(&outcome, "attribute.email_missing");
    if let SignInOutcome::Refused { detail, .. } = &outcome {
        assert!(
            detail.contains("\"mail\""),
            "the detail names the attributes received: {detail}"
        );
    }
}
