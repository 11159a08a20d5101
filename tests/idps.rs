//! Trust across several IdPs (issue 8): an identity is the pair (IdP entity ID, NameID); an IdP
//! links automatically only to users whose e-mail domain it is allowed to assert (and never by
//! login); role mappings and the default role belong to an IdP. Real servers on loopback: the
//! pair's own IdP and a second mock IdP with its own key, as an `[[additional_idp]]` of the SP.

use mock_idp::server::NextResponses;
use mock_idp::users::User as IdpUser;
use samlconf::driver::{HttpDriver, SignInOutcome};
use samlconf::harness::{ExtraIdpOptions, Pair, PairOptions};
use serde_json::json;
use sp::accounts::NewLocalAccount;
use time::macros::datetime;

const PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";

/// A pair with a second IdP named `partner`, configured at the SP with `partner_sp`.
async fn pair_with_partner(partner_sp: &str, partner_users: Vec<IdpUser>) -> Pair {
    Pair::start(PairOptions {
        virtual_start: Some(datetime!(2026-06-01 12:00 UTC)),
        extra_idps: vec![ExtraIdpOptions {
            name: "partner".into(),
            entity_id: None,
            users: partner_users,
            weak_key: false,
            key_rollover: None,
            retired_certificate: false,
            sp_settings: toml::from_str(partner_sp).expect("partner settings"),
        }],
        ..Default::default()
    })
    .await
    .expect("start the pair and the partner IdP")
}

fn partner_user(login: &str, email: &str, groups: &[&str]) -> IdpUser {
    IdpUser {
        login: login.into(),
        email: email.into(),
        first_name: "Pat".into(),
        last_name: "Partner".into(),
        groups: groups
            .iter()
            .map(|g| mock_idp::users::Group {
                name: (*g).into(),
                object_id: format!("guid-{g}"),
            })
            .collect(),
        access: true,
    }
}

/// Signs `user` in, in a fresh browser, at the pair's IdP (`None`) or the named extra IdP.
async fn sign_in(pair: &Pair, idp: Option<&str>, user: &str) -> SignInOutcome {
    let entity_id = match idp {
        None => pair.endpoints.idp_entity_id(),
        Some(name) => pair.extra_idp(name).expect("extra IdP").entity_id.clone(),
    };
    let path = format!(
        "/login?idp={}",
        url::form_urlencoded::byte_serialize(entity_id.as_bytes()).collect::<String>()
    );
    let driver = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    driver.sign_in_at(&path, user).await.expect("driver")
}

/// The local user the signed-in identity belongs to.
async fn user_id(pair: &Pair, outcome: &SignInOutcome) -> i64 {
    let SignInOutcome::SignedIn { me, .. } = outcome else {
        panic!("not signed in: {outcome:?}");
    };
    let idp = me["idp"].as_str().unwrap();
    let subject = me["name_id"].as_str().unwrap();
    pair.sp
        .store()
        .user_by_identity(idp, subject)
        .await
        .unwrap()
        .expect("the identity is linked")
        .id
}

async fn local_account(pair: &Pair, login: &str, email: &str, roles: &[&str]) -> i64 {
    let account = NewLocalAccount {
        login: Some(login.into()),
        email: email.into(),
        password: Some("pw".into()),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        sso_allowed: true,
        ..Default::default()
    };
    let now = datetime!(2026-05-01 12:00 UTC);
    pair.sp
        .store()
        .create_local_account(&account, now)
        .await
        .unwrap()
        .id
}

async fn audit_kinds(pair: &Pair) -> Vec<String> {
    let events = pair.sp.store().audit_events().await.unwrap();
    events.into_iter().map(|e| e.kind).collect()
}

#[tokio::test]
async fn a_second_idp_sending_the_same_email_is_not_linked_to_the_first_idps_user() {
    let pair = pair_with_partner("", vec![]).await;
    let alice = local_account(&pair, "alice", "alice@example.com", &["admin"]).await;
    let first = sign_in(&pair, None, "alice@example.com").await;
    assert_eq!(
        user_id(&pair, &first).await,
        alice,
        "the primary IdP links by e-mail"
    );

    let partner = sign_in(&pair, Some("partner"), "alice@example.com").await;
    let partner_user = user_id(&pair, &partner).await;
    assert_ne!(
        partner_user, alice,
        "the partner must not take Alice's account"
    );
    assert_eq!(partner.roles(), ["member"]);
    assert_eq!(pair.sp.store().roles(alice).await.unwrap(), ["admin"]);
    assert!(
        audit_kinds(&pair)
            .await
            .contains(&"link.declined".to_owned())
    );
}

#[tokio::test]
async fn per_idp_allowed_domains_link_only_where_allowed() {
    let pair = pair_with_partner(
        r#"allowed_domains = ["partner.example"]"#,
        vec![
            partner_user("pat", "pat@partner.example", &[]),
            partner_user("alice", "alice@example.com", &[]),
        ],
    )
    .await;
    let pat = local_account(&pair, "pat", "pat@partner.example", &["member"]).await;
    let alice = local_account(&pair, "alice", "alice@example.com", &["admin"]).await;

    let outcome = sign_in(&pair, Some("partner"), "pat@partner.example").await;
    assert_eq!(user_id(&pair, &outcome).await, pat, "in its domain, linked");
    let outcome = sign_in(&pair, Some("partner"), "alice@example.com").await;
    assert_ne!(
        user_id(&pair, &outcome).await,
        alice,
        "outside its domain, not linked"
    );
    // Domains compare case-insensitively, like e-mails.
    let upper = pair_with_partner(
        r#"allowed_domains = ["@Partner.Example"]"#,
        vec![partner_user("pat", "pat@partner.example", &[])],
    )
    .await;
    let pat = local_account(&upper, "pat", "pat@partner.example", &[]).await;
    let outcome = sign_in(&upper, Some("partner"), "pat@partner.example");
    assert_eq!(user_id(&upper, &outcome.await).await, pat);
}

#[tokio::test]
async fn an_account_a_second_idp_provisioned_is_never_linked_to_the_first_idps_identity() {
    // Pre-hijacking: the partner signs Alice's e-mail in first (JIT), before Alice ever does.
    let pair = pair_with_partner("", vec![]).await;
    let planted = sign_in(&pair, Some("partner"), "alice@example.com").await;
    let planted = user_id(&pair, &planted).await;
    let alice = sign_in(&pair, None, "alice@example.com").await;
    assert_ne!(user_id(&pair, &alice).await, planted);
    assert_eq!(alice.roles(), ["admin"]);
}

#[tokio::test]
async fn a_second_idp_renaming_its_user_to_a_victims_email_does_not_capture_the_victim() {
    // The partner's identity keeps its persistent NameID while the e-mail it sends changes to
    // Alice's; the SP syncs the e-mail. Alice's first sign-in must not land in that user.
    let pair = pair_with_partner(
        "",
        vec![
            partner_user("pat", "pat@partner.example", &[]),
            partner_user("pat2", "alice@example.com", &[]),
        ],
    )
    .await;
    let partner = pair.extra_idp("partner").unwrap().idp.clone();
    let same_subject = || NextResponses {
        knobs: json!({"name_id_format": PERSISTENT, "name_id_value": "partner-0001"}),
        count: 1,
        ..Default::default()
    };
    partner.set_next(same_subject()).unwrap();
    let pat = user_id(&pair, &sign_in(&pair, Some("partner"), "pat").await).await;
    partner.set_next(same_subject()).unwrap();
    let renamed = sign_in(&pair, Some("partner"), "pat2").await;
    assert_eq!(
        user_id(&pair, &renamed).await,
        pat,
        "same (IdP, NameID): same user"
    );
    let alice = sign_in(&pair, None, "alice@example.com").await;
    assert_ne!(user_id(&pair, &alice).await, pat);
}

#[tokio::test]
async fn automatic_linking_never_matches_by_login() {
    let pair = Pair::start(PairOptions {
        virtual_start: Some(datetime!(2026-06-01 12:00 UTC)),
        extra_idp_users: vec![partner_user("root", "mallory@example.com", &[])],
        ..Default::default()
    })
    .await
    .unwrap();
    let root = local_account(&pair, "root", "root@corp.example", &["admin"]).await;
    pair.idp
        .set_next(NextResponses {
            profile: Some("shotgun-attributes".into()),
            count: 1,
            ..Default::default()
        })
        .unwrap();
    // The legacy names send login_id = "root", the account's login.
    let outcome = sign_in(&pair, None, "root").await;
    assert_ne!(user_id(&pair, &outcome).await, root);
    assert_eq!(pair.sp.store().roles(root).await.unwrap(), ["admin"]);
}

#[tokio::test]
async fn role_mappings_and_the_default_role_belong_to_their_idp() {
    let pair = pair_with_partner(
        r#"
default_role = "guest"
[[role_mapping]]
group = "partner-admins"
role = "admin"
"#,
        vec![
            partner_user("boss", "boss@partner.example", &["partner-admins"]),
            partner_user("eve", "eve@partner.example", &["admins"]),
        ],
    )
    .await;
    // The partner's own mapping grants admin; the primary's `admins` mapping does not apply.
    assert_eq!(
        sign_in(&pair, Some("partner"), "boss").await.roles(),
        ["admin"]
    );
    assert_eq!(
        sign_in(&pair, Some("partner"), "eve").await.roles(),
        ["guest"]
    );
    // And the partner's mapping does nothing for the primary IdP's users.
    assert_eq!(sign_in(&pair, None, "alice").await.roles(), ["admin"]);
    assert_eq!(sign_in(&pair, None, "bob").await.roles(), ["member"]);
}

#[tokio::test]
async fn an_admin_default_role_for_an_idp_is_refused() {
    let result = Pair::start(PairOptions {
        extra_idps: vec![ExtraIdpOptions {
            name: "partner".into(),
            sp_settings: toml::from_str(r#"default_role = "admin""#).unwrap(),
            ..Default::default()
        }],
        ..Default::default()
    })
    .await;
    let Err(error) = result else {
        panic!("an admin default role must be refused")
    };
    assert!(error.to_string().contains("default_role"), "{error}");
}
