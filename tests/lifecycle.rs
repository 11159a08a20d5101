//! The sign-in lifecycle end to end over real HTTP (issue 3): account linking, provisioning
//! policies, group overage, renewal and recovery login — as the source documents describe them.

use mock_idp::server::NextResponses;
use samlconf::driver::{HttpDriver, RenewOutcome, SignInOutcome};
use samlconf::harness::{Pair, PairOptions};
use serde_json::json;
use sp::accounts::NewLocalAccount;
use sp::config::{AccountLinking, RoleSync, SpConfig};
use time::macros::datetime;

async fn pair_with(tweak: fn(&mut SpConfig)) -> Pair {
    Pair::start(PairOptions {
        virtual_start: Some(datetime!(2026-06-01 12:00 UTC)),
        sp_tweak: Some(tweak),
        ..Default::default()
    })
    .await
    .expect("start the pair")
}

fn prompt_linking(c: &mut SpConfig) {
    c.sp.account_linking = AccountLinking::Prompt;
}

fn queue(pair: &Pair, profile: &str, knobs: serde_json::Value) {
    pair.idp
        .set_next(NextResponses {
            profile: Some(profile.into()),
            knobs,
            count: 1,
            user: None,
        })
        .expect("queue");
}

async fn local_account(
    pair: &Pair,
    login: &str,
    email: &str,
    password: Option<&str>,
    roles: &[&str],
    sso_allowed: bool,
) -> i64 {
    let account = NewLocalAccount {
        login: Some(login.into()),
        email: email.into(),
        first_name: Some("Local".into()),
        last_name: Some("Account".into()),
        password: password.map(String::from),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        sso_allowed,
    };
    pair.sp
        .store()
        .create_local_account(&account, datetime!(2026-05-01 0:00 UTC))
        .await
        .unwrap()
        .id
}

fn me(outcome: &SignInOutcome) -> &serde_json::Value {
    match outcome {
        SignInOutcome::SignedIn { me, .. } => me,
        other => panic!("expected a sign-in, got {other:?}"),
    }
}

fn code(outcome: &SignInOutcome) -> &str {
    outcome
        .code()
        .unwrap_or_else(|| panic!("expected a refusal, got {outcome:?}"))
}

async fn audit_kinds(pair: &Pair) -> Vec<String> {
    pair.sp
        .store()
        .audit_events()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

// --- account linking (000, 001, 003) -----------------------------------------------------------

#[tokio::test]
async fn match_found_right_password_links_and_keeps_the_old_accounts_roles_and_data() {
    let pair = pair_with(|c| {
        prompt_linking(c);
        c.sp.role_sync = RoleSync::KeepWhenAbsent;
    })
    .await;
    let old = local_account(
        &pair,
        "bob",
        "bob@example.com",
        Some("hunter2"),
        &["editor"],
        true,
    )
    .await;
    queue(&pair, "missing-groups", json!({}));
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    let prompt = driver.sign_in("bob@example.com", None).await.unwrap();
    let SignInOutcome::LinkPrompt { page } = &prompt else {
        panic!("expected the link page, got {prompt:?}")
    };
    assert!(
        page.contains("An account <code>bob</code> already exists"),
        "{page}"
    );
    assert!(
        page.contains("Skip linking"),
        "the skip choice and its warning are offered"
    );
    assert!(
        driver.me().await.unwrap().is_none(),
        "nobody is signed in while linking"
    );

    let linked = driver.link_account(None, "hunter2").await.unwrap();
    let me = me(&linked);
    assert_eq!(
        me["roles"],
        json!(["editor"]),
        "the old account's role is kept"
    );
    let user = pair
        .sp
        .store()
        .user_by_identity(&pair.endpoints.idp_entity_id(), "bob@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        user.id, old,
        "the identity is linked to the old account, not a new one"
    );
    assert_eq!(user.origin, "local");
    assert!(
        audit_kinds(&pair)
            .await
            .contains(&"link.linked".to_string())
    );

    // The next sign-in goes straight through.
    let again = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    queue(&pair, "missing-groups", json!({}));
    assert_eq!(
        me_of(&again.sign_in("bob@example.com", None).await.unwrap())["roles"],
        json!(["editor"])
    );
}

fn me_of(outcome: &SignInOutcome) -> serde_json::Value {
    me(outcome).clone()
}

#[tokio::test]
async fn wrong_passwords_re_ask_then_lock_out_and_every_try_is_audited() {
    let pair = pair_with(|c| {
        prompt_linking(c);
        c.sp.max_link_attempts = 3;
    })
    .await;
    local_account(
        &pair,
        "bob",
        "bob@example.com",
        Some("hunter2"),
        &["member"],
        true,
    )
    .await;
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    assert!(matches!(
        driver.sign_in("bob@example.com", None).await.unwrap(),
        SignInOutcome::LinkPrompt { .. }
    ));
    for tries_left in [2, 1] {
        match driver.link_account(None, "wrong").await.unwrap() {
            SignInOutcome::LinkPrompt { page } => {
                assert!(page.contains(&format!("{tries_left} tries left")), "{page}")
            }
            other => panic!("expected to be asked again, got {other:?}"),
        }
    }
    assert_eq!(
        code(&driver.link_account(None, "wrong").await.unwrap()),
        "link.locked_out"
    );
    assert_eq!(
        code(&driver.link_account(None, "hunter2").await.unwrap()),
        "link.locked_out",
        "locked even with the right password"
    );
    let events = pair.sp.store().audit_events().await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "link.password_failed")
            .count(),
        3
    );
    assert!(
        events
            .iter()
            .any(|e| e.code.as_deref() == Some("link.locked_out"))
    );
    assert!(driver.me().await.unwrap().is_none());
}

#[tokio::test]
async fn skip_creates_a_new_user_without_the_old_accounts_access() {
    let pair = pair_with(prompt_linking).await;
    let old = local_account(
        &pair,
        "alice",
        "alice@example.com",
        Some("pw"),
        &["editor"],
        true,
    )
    .await;
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    assert!(matches!(
        driver.sign_in("alice@example.com", None).await.unwrap(),
        SignInOutcome::LinkPrompt { .. }
    ));
    let skipped = driver.skip_linking().await.unwrap();
    assert_eq!(
        me(&skipped)["roles"],
        json!(["admin"]),
        "the new user's roles come from the IdP's groups"
    );
    let user = pair
        .sp
        .store()
        .user_by_identity(&pair.endpoints.idp_entity_id(), "alice@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(user.id, old, "a second user, not the old account");
    assert_eq!(
        pair.sp.store().roles(old).await.unwrap(),
        vec!["editor"],
        "the old account is untouched"
    );
    assert!(
        audit_kinds(&pair)
            .await
            .contains(&"link.skipped".to_string())
    );
}

#[tokio::test]
async fn no_match_links_by_username_and_password_of_any_account() {
    let pair = pair_with(prompt_linking).await;
    let old = local_account(
        &pair,
        "dave.d",
        "dave.davis@legacy.example",
        Some("s3cret"),
        &["editor"],
        true,
    )
    .await;
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    match driver.sign_in("dave@example.com", None).await.unwrap() {
        SignInOutcome::LinkPrompt { page } => {
            assert!(page.contains("no account here matches"), "{page}")
        }
        other => panic!("{other:?}"),
    }
    let linked = driver.link_account(Some("dave.d"), "s3cret").await.unwrap();
    assert_eq!(
        me(&linked)["email"],
        "dave@example.com",
        "the IdP's e-mail overwrites the local one"
    );
    let user = pair
        .sp
        .store()
        .user_by_identity(&pair.endpoints.idp_entity_id(), "dave@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id, old);
}

#[tokio::test]
async fn invited_user_is_linked_directly_without_a_prompt() {
    let pair = pair_with(prompt_linking).await;
    let invited = local_account(&pair, "carol", "carol@example.com", None, &["member"], true).await;
    // A password account with the same e-mail would normally prompt; the invitation wins.
    let token = pair.sp.store().invite(invited).await.unwrap();
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    let outcome = driver
        .accept_invitation(&format!("/invite/{token}"), "carol@example.com")
        .await
        .unwrap();
    assert_eq!(me(&outcome)["email"], "carol@example.com");
    let user = pair
        .sp
        .store()
        .user_by_identity(&pair.endpoints.idp_entity_id(), "carol@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id, invited);
    // The invitation is used once.
    let again = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    assert_eq!(
        code(
            &again
                .accept_invitation(&format!("/invite/{token}"), "carol@example.com")
                .await
                .unwrap()
        ),
        "link.expired"
    );
}

#[tokio::test]
async fn local_account_not_allowed_to_use_sso_gets_a_clear_error_not_a_second_account() {
    let pair = pair_with(|_| {}).await;
    local_account(
        &pair,
        "bob",
        "bob@example.com",
        Some("pw"),
        &["member"],
        false,
    )
    .await;
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    let outcome = driver.sign_in("bob@example.com", None).await.unwrap();
    assert_eq!(code(&outcome), "account.sso_not_allowed");
    assert!(
        pair.sp
            .store()
            .user_by_identity(&pair.endpoints.idp_entity_id(), "bob@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

// --- provisioning and profile sync (002, 004, 001) ---------------------------------------------

#[tokio::test]
async fn idp_fields_overwrite_local_edits_except_ignored_ones() {
    let pair = pair_with(|c| c.sp.ignore_fields_on_update = vec!["email".into()]).await;
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    me(&driver.sign_in("bob@example.com", None).await.unwrap());
    let store = pair.sp.store();
    let user = store
        .user_by_email("bob@example.com")
        .await
        .unwrap()
        .unwrap();
    store
        .update_profile(
            user.id,
            None,
            "bob@contractor.example",
            Some("Robert"),
            Some("B."),
        )
        .await
        .unwrap();
    let again = me_of(
        &HttpDriver::new(&pair.endpoints.sp_base_url)
            .unwrap()
            .sign_in("bob@example.com", None)
            .await
            .unwrap(),
    );
    assert_eq!(
        again["first_name"], "Bob",
        "the IdP's first name overwrites the local edit"
    );
    assert_eq!(again["last_name"], "Brown");
    assert_eq!(
        again["email"], "bob@contractor.example",
        "email is in ignore_fields_on_update"
    );
}

#[tokio::test]
async fn replace_policy_overwrites_a_manual_role_at_the_next_sign_in() {
    let pair = pair_with(|_| {}).await;
    me(&HttpDriver::new(&pair.endpoints.sp_base_url)
        .unwrap()
        .sign_in("bob@example.com", None)
        .await
        .unwrap());
    let user = pair
        .sp
        .store()
        .user_by_email("bob@example.com")
        .await
        .unwrap()
        .unwrap();
    pair.sp
        .store()
        .set_roles(user.id, &["admin".into()])
        .await
        .unwrap();
    let again = me_of(
        &HttpDriver::new(&pair.endpoints.sp_base_url)
            .unwrap()
            .sign_in("bob@example.com", None)
            .await
            .unwrap(),
    );
    assert_eq!(
        again["roles"],
        json!(["member"]),
        "004: roles re-sync from the IdP at every sign-in"
    );
}

#[tokio::test]
async fn keep_when_absent_policy_leaves_roles_for_absent_or_empty_groups_and_defaults_unknown_names()
 {
    let pair = pair_with(|c| c.sp.role_sync = RoleSync::KeepWhenAbsent).await;
    let signed_in = |profile: &'static str, knobs: serde_json::Value| {
        let pair = &pair;
        async move {
            queue(pair, profile, knobs);
            me_of(
                &HttpDriver::new(&pair.endpoints.sp_base_url)
                    .unwrap()
                    .sign_in("alice@example.com", None)
                    .await
                    .unwrap(),
            )
        }
    };
    assert_eq!(
        signed_in("valid", json!({})).await["roles"],
        json!(["admin"])
    );
    assert_eq!(
        signed_in("missing-groups", json!({})).await["roles"],
        json!(["admin"]),
        "absent: unchanged"
    );
    assert_eq!(
        signed_in("valid", json!({"empty_groups": true})).await["roles"],
        json!(["admin"]),
        "empty: unchanged"
    );
    // An unknown group name gives the default role (002).
    let user = pair
        .sp
        .store()
        .user_by_email("alice@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pair.sp.store().roles(user.id).await.unwrap(), vec!["admin"]);
    assert_eq!(
        signed_in("valid", json!({"group_format": "entra-guids"})).await["roles"],
        json!(["member"]),
        "unknown: default"
    );
}

#[tokio::test]
async fn entra_group_overage_keeps_roles_and_audits_a_warning() {
    let pair = pair_with(|_| {}).await;
    assert_eq!(
        me_of(
            &HttpDriver::new(&pair.endpoints.sp_base_url)
                .unwrap()
                .sign_in("alice@example.com", None)
                .await
                .unwrap()
        )["roles"],
        json!(["admin"])
    );
    queue(&pair, "entra-group-overage", json!({}));
    let after = me_of(
        &HttpDriver::new(&pair.endpoints.sp_base_url)
            .unwrap()
            .sign_in("alice@example.com", None)
            .await
            .unwrap(),
    );
    assert_eq!(
        after["roles"],
        json!(["admin"]),
        "overage is not 'no groups': replace must not wipe the roles"
    );
    let events = pair.sp.store().audit_events().await.unwrap();
    let warning = events
        .iter()
        .find(|e| e.code.as_deref() == Some("groups.overage"))
        .expect("audited");
    assert!(warning.detail.contains("groups.link"), "{}", warning.detail);
}

#[tokio::test]
async fn unsolicited_response_is_refused_when_not_allowed() {
    let pair = pair_with(|c| c.sp.allow_unsolicited = false).await;
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    let outcome = driver
        .sign_in_idp_initiated(
            &pair.endpoints.idp_base_url,
            &pair.sp.config().entity_id(),
            "alice@example.com",
        )
        .await
        .unwrap();
    assert_eq!(code(&outcome), "request.unsolicited");
}

// --- sessions and renewal (000, 001, 002) ------------------------------------------------------

#[tokio::test]
async fn renewal_every_interval_keeps_the_session_and_refreshes_it_without_sleeping() {
    let pair = pair_with(|_| {}).await;
    let clocks = pair.clocks.clone().unwrap();
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    let first = me_of(&driver.sign_in("bob@example.com", None).await.unwrap());
    let mut expires = first["session_expires_at"].as_str().unwrap().to_owned();
    for _ in 0..4 {
        clocks.advance(time::Duration::seconds(270));
        match driver.renew().await.unwrap() {
            RenewOutcome::Renewed { me } => {
                let next = me["session_expires_at"].as_str().unwrap().to_owned();
                assert!(
                    next > expires,
                    "the IdP's new SessionNotOnOrAfter extends the session: {next} vs {expires}"
                );
                expires = next;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        pair.idp
            .requests()
            .iter()
            .filter(|r| r.request.as_ref().is_some_and(|q| q.is_passive))
            .count(),
        4,
        "four passive AuthnRequests"
    );
    assert_eq!(
        audit_kinds(&pair)
            .await
            .iter()
            .filter(|k| *k == "session.renewed")
            .count(),
        4
    );
}

#[tokio::test]
async fn renewal_without_an_idp_session_ends_the_sp_session() {
    let pair = pair_with(|_| {}).await;
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    me(&driver.sign_in("bob@example.com", None).await.unwrap());
    pair.idp.end_all_sessions();
    match driver.renew().await.unwrap() {
        RenewOutcome::SessionEnded { code } => assert_eq!(code, "status.not_success"),
        other => panic!("{other:?}"),
    }
    assert!(
        driver.me().await.unwrap().is_none(),
        "NoPassive ended the session"
    );
    let events = pair.sp.store().audit_events().await.unwrap();
    let failed = events
        .iter()
        .find(|e| e.kind == "renewal.failed")
        .expect("audited");
    assert!(failed.detail.contains("NoPassive"), "{}", failed.detail);
}

#[tokio::test]
async fn renewal_after_access_is_revoked_at_the_idp_ends_the_session() {
    let pair = pair_with(|_| {}).await;
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    queue(&pair, "shotgun-attributes", json!({}));
    me(&driver.sign_in("bob@example.com", None).await.unwrap());
    pair.idp.set_user_access("bob", false).unwrap();
    queue(&pair, "shotgun-attributes", json!({}));
    match driver.renew().await.unwrap() {
        RenewOutcome::SessionEnded { code } => assert_eq!(code, "access.denied"),
        other => panic!("{other:?}"),
    }
    assert!(driver.me().await.unwrap().is_none());
}

#[tokio::test]
async fn home_page_carries_the_renewal_script_with_the_configured_interval() {
    let pair = pair_with(|c| c.sp.renewal_interval_secs = 123).await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    me(&driver.sign_in("bob@example.com", None).await.unwrap());
    // A fresh client is signed out: no renewal script on the signed-out page.
    let page = client
        .get(format!("{}/", pair.endpoints.sp_base_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("/renew"), "{page}");
    assert!(pages_contains_renewal(123));
}

fn pages_contains_renewal(secs: u32) -> bool {
    let view = sp::pages::HomeView {
        email: "a@example.com",
        name: None,
        roles: &[],
        idp: "urn:idp",
        expires_at: datetime!(2026-06-01 12:00 UTC),
        renewal_interval_secs: secs,
    };
    let page = sp::pages::home(Some(&view));
    page.contains(&format!("const intervalMs = {secs} * 1000"))
        && page.contains("/renew?mode=iframe")
        && page.contains("allow pop-ups")
}

// --- recovery login (001, 003) -----------------------------------------------------------------

#[tokio::test]
async fn recovery_login_is_for_admins_only_and_audited() {
    let pair = pair_with(|_| {}).await;
    local_account(
        &pair,
        "root",
        "root@example.com",
        Some("recover-me"),
        &["admin"],
        true,
    )
    .await;
    local_account(
        &pair,
        "eve",
        "eve@example.com",
        Some("pw"),
        &["member"],
        true,
    )
    .await;
    let form = reqwest::get(format!("{}/login?sso=false", pair.endpoints.sp_base_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains(r#"action="/login/password""#), "{form}");

    let member = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    assert_eq!(
        code(&member.recovery_login("eve", "pw").await.unwrap()),
        "recovery.not_admin"
    );
    assert!(member.me().await.unwrap().is_none());
    assert_eq!(
        code(&member.recovery_login("root", "guess").await.unwrap()),
        "recovery.bad_credentials"
    );

    let admin = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    let outcome = admin.recovery_login("root", "recover-me").await.unwrap();
    assert_eq!(me(&outcome)["roles"], json!(["admin"]));
    let events = pair.sp.store().audit_events().await.unwrap();
    let codes: Vec<_> = events.iter().filter_map(|e| e.code.clone()).collect();
    assert!(
        codes.contains(&"recovery.not_admin".into())
            && codes.contains(&"recovery.bad_credentials".into()),
        "{codes:?}"
    );
    assert!(events.iter().any(|e| e.kind == "recovery.sign_in"));
}

#[tokio::test]
async fn session_ends_at_conditions_not_on_or_after_without_session_expiry_and_is_capped() {
    // 002: without SessionNotOnOrAfter, Conditions NotOnOrAfter (5 minutes here) ends the session.
    let pair = pair_with(|_| {}).await;
    queue(&pair, "no-session-expiry", json!({}));
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    assert_eq!(
        me(&driver.sign_in("bob@example.com", None).await.unwrap())["session_expires_at"],
        "2026-06-01T12:05:00Z"
    );
    // The SP's maximum caps what the IdP grants (8 h here).
    let capped = pair_with(|c| c.sp.max_session_secs = 3600).await;
    let driver = HttpDriver::new(&capped.endpoints.sp_base_url).unwrap();
    assert_eq!(
        me(&driver.sign_in("bob@example.com", None).await.unwrap())["session_expires_at"],
        "2026-06-01T13:00:00Z"
    );
    // An expired session sends the user back to sign in.
    capped
        .clocks
        .clone()
        .unwrap()
        .advance(time::Duration::hours(2));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert!(driver.me().await.unwrap().is_none());
    let home = client
        .get(format!("{}/", capped.endpoints.sp_base_url))
        .header("cookie", "samlconf_sp_session=stale")
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers()["location"], "/login");
}

#[tokio::test]
async fn authn_context_class_ref_that_is_not_a_uri_is_refused_with_the_reason() {
    let pair = pair_with(|_| {}).await;
    queue(
        &pair,
        "valid",
        json!({"authn_context_class_ref_override": "Password"}),
    );
    let outcome = HttpDriver::new(&pair.endpoints.sp_base_url)
        .unwrap()
        .sign_in("bob@example.com", None)
        .await
        .unwrap();
    match &outcome {
        SignInOutcome::Refused { code, detail, .. } => {
            assert_eq!(code, "structure.malformed");
            assert!(
                detail.contains("must be a URI"),
                "003's troubleshooting message: {detail}"
            );
        }
        other => panic!("{other:?}"),
    }
}
