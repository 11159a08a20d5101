//! Several IdPs on one SP, and several workspaces (tenants) — each its own SP entity ID and ACS —
//! trusting one IdP (issue 3; OnTrackio makes each workspace its own SP, so that an assertion
//! meant for one workspace is useless at any other). Real servers on loopback, assembled by
//! hand.

use std::sync::Arc;

use mock_idp::keys::IdpKeys;
use mock_idp::server::{Idp, IdpConfig, KnownSp, NextResponses};
use samlconf::demo::{self, Endpoints};
use samlconf::driver::{HttpDriver, SignInOutcome};
use serde_json::json;
use sp::config::{IdpSettings, SpConfig};
use time::macros::datetime;
use tokio::net::TcpListener;

const START: time::OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

async fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// Serves like `samlconf serve`: with the peer address, which the SP's password throttle reads.
fn serve(listener: TcpListener, app: axum::Router) {
    tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let _ = axum::serve(listener, app).await;
    });
}

fn idp(base_url: &str, keys: IdpKeys, sps: &[&SpConfig]) -> Idp {
    let config = IdpConfig {
        entity_id: format!("{base_url}/metadata"),
        base_url: base_url.to_owned(),
        service_providers: sps
            .iter()
            .map(|sp| KnownSp {
                entity_id: sp.entity_id(),
                acs_urls: vec![sp.acs_url()],
                slo_url: Some(sp.sls_url()),
                signing_cert_pem: Some(sp::keys::SpKeys::fixed_for_tests().cert_pem),
                encryption_cert_pem: None,
            })
            .collect(),
        users: mock_idp::users::demo_users(),
        default_profile: "valid".into(),
        deterministic: false,
        forbid_framing: false,
        want_authn_requests_signed: false,
    };
    Idp::new(
        config,
        keys,
        Arc::new(plumbing::clock::ManualClock::new(START)),
    )
}

async fn start_sp(listener: TcpListener, config: SpConfig) -> sp::web::Sp {
    let store = sp::store::Store::open(":memory:").await.unwrap();
    let clock = Arc::new(plumbing::clock::ManualClock::new(START));
    let sp = sp::web::Sp::new(config, store, clock, sp::keys::SpKeys::fixed_for_tests()).unwrap();
    serve(listener, sp::web::router(sp.clone()));
    sp
}

/// A second IdP with its own key (the fixed test keys, swapped).
fn partner_keys() -> IdpKeys {
    let fixed = IdpKeys::fixed_for_tests();
    IdpKeys {
        idp: fixed.attacker.clone(),
        attacker: fixed.idp.clone(),
    }
}

/// A main and a partner mock IdP, each with its own key, and the SP trusting both, on loopback.
struct TwoIdps {
    main_url: String,
    partner_url: String,
    sp_url: String,
    main: Idp,
    partner: Idp,
    sp: sp::web::Sp,
}

/// Starts [`TwoIdps`]; `configure` adjusts the SP's configuration and the partner's settings
/// (given the partner's base URL) before anything starts.
async fn two_idps(configure: impl FnOnce(&mut SpConfig, &mut IdpSettings, &str)) -> TwoIdps {
    let (main_listener, main_url) = listen().await;
    let (partner_listener, partner_url) = listen().await;
    let (sp_listener, sp_url) = listen().await;
    let endpoints = Endpoints {
        idp_base_url: main_url.clone(),
        sp_base_url: sp_url.clone(),
    };
    let mut config = demo::sp_config(
        &endpoints,
        &IdpKeys::fixed_for_tests().idp.cert_pem,
        ":memory:",
    );
    let mut partner_idp = IdpSettings {
        entity_id: format!("{partner_url}/metadata"),
        label: None,
        sso_url: format!("{partner_url}/sso"),
        slo_url: None,
        certificate_file: None,
        certificate_pem: Some(partner_keys().idp.cert_pem),
        metadata_file: None,
        allowed_domains: None,
        default_role: None,
        role_mappings: Vec::new(),
        enabled: true,
    };
    configure(&mut config, &mut partner_idp, &partner_url);
    config.additional_idps.push(partner_idp);
    let main = idp(&main_url, IdpKeys::fixed_for_tests(), &[&config]);
    let partner = idp(&partner_url, partner_keys(), &[&config]);
    serve(main_listener, mock_idp::server::router(main.clone()));
    serve(partner_listener, mock_idp::server::router(partner.clone()));
    let sp = start_sp(sp_listener, config).await;
    TwoIdps {
        main_url,
        partner_url,
        sp_url,
        main,
        partner,
        sp,
    }
}

#[tokio::test]
async fn several_idps_on_one_sp_each_with_its_own_entity_id_and_certificate() {
    let TwoIdps {
        main_url,
        partner_url,
        sp_url,
        partner,
        ..
    } = two_idps(|config, partner_idp, _| {
        config.idp.label = Some("Corporate IdP".into());
        partner_idp.label = Some("Partner IdP".into());
    })
    .await;

    // One button per IdP.
    let chooser = reqwest::get(format!("{sp_url}/login"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        chooser.contains("Continue with Corporate IdP")
            && chooser.contains("Continue with Partner IdP"),
        "{chooser}"
    );

    for (idp_url, email) in [
        (&partner_url, "carol@example.com"),
        (&main_url, "alice@example.com"),
    ] {
        let driver = HttpDriver::new(&sp_url).unwrap();
        let login = format!(
            "/login?idp={}",
            url::form_urlencoded::byte_serialize(format!("{idp_url}/metadata").as_bytes())
                .collect::<String>()
        );
        let outcome = driver.sign_in_at(&login, email).await.unwrap();
        match &outcome {
            SignInOutcome::SignedIn { me, .. } => {
                assert_eq!(me["idp"], format!("{idp_url}/metadata"))
            }
            other => panic!("{other:?}"),
        }
    }

    // The partner IdP signing in as the main IdP: its key is not the main IdP's.
    partner
        .set_next(NextResponses {
            knobs: json!({"issuer_override": format!("{main_url}/metadata")}),
            ..Default::default()
        })
        .unwrap();
    let driver = HttpDriver::new(&sp_url).unwrap();
    let login = format!(
        "/login?idp={}",
        url::form_urlencoded::byte_serialize(format!("{partner_url}/metadata").as_bytes())
            .collect::<String>()
    );
    assert_eq!(
        driver
            .sign_in_at(&login, "carol@example.com")
            .await
            .unwrap()
            .code(),
        Some("signature.invalid")
    );

    // IdP mix-up: the request went to the main IdP, the partner answers it.
    let driver = HttpDriver::new(&sp_url).unwrap();
    let to_main = driver
        .login_redirect(&format!(
            "/login?idp={}",
            url::form_urlencoded::byte_serialize(format!("{main_url}/metadata").as_bytes())
                .collect::<String>()
        ))
        .await
        .unwrap();
    let to_partner = to_main.replacen(&main_url, &partner_url, 1);
    let form = driver
        .idp_form(&to_partner, "carol@example.com")
        .await
        .unwrap();
    let outcome = driver.submit(&form).await.unwrap();
    assert_eq!(outcome.code(), Some("issuer.mismatch"), "{outcome:?}");
}

/// Assertion IDs are unique per issuer only (SAML core §1.3.4): the replay cache is keyed by
/// (issuer, ID), so one IdP reusing another's ID neither is refused nor lets a replay through.
#[tokio::test]
async fn the_replay_cache_is_keyed_by_issuer_and_assertion_id() {
    let TwoIdps {
        main_url,
        partner_url,
        sp_url,
        main,
        partner,
        ..
    } = two_idps(|_, _, _| {}).await;

    let same_id = NextResponses {
        knobs: json!({"assertion_id_override": "_same-assertion-id"}),
        count: 2,
        ..Default::default()
    };
    main.set_next(same_id.clone()).unwrap();
    partner.set_next(same_id).unwrap();
    let sign_in = |idp_url: String, email: &'static str| {
        let sp_url = sp_url.clone();
        async move {
            let login = format!(
                "/login?idp={}",
                url::form_urlencoded::byte_serialize(format!("{idp_url}/metadata").as_bytes())
                    .collect::<String>()
            );
            HttpDriver::new(&sp_url)
                .unwrap()
                .sign_in_at(&login, email)
                .await
                .unwrap()
        }
    };
    let first = sign_in(main_url.clone(), "alice@example.com").await;
    assert!(matches!(first, SignInOutcome::SignedIn { .. }), "{first:?}");
    let other_issuer = sign_in(partner_url.clone(), "carol@example.com").await;
    assert!(
        matches!(other_issuer, SignInOutcome::SignedIn { .. }),
        "the partner's own ID is not a replay of the main IdP's: {other_issuer:?}"
    );
    for (idp_url, email) in [
        (main_url, "alice@example.com"),
        (partner_url, "carol@example.com"),
    ] {
        let again = sign_in(idp_url, email).await;
        assert_eq!(again.code(), Some("replay.assertion_reused"), "{again:?}");
    }
}

#[tokio::test]
async fn an_assertion_for_one_workspace_is_refused_by_another() {
    let (idp_listener, idp_url) = listen().await;
    let (acme_listener, acme_url) = listen().await;
    let (globex_listener, globex_url) = listen().await;
    let cert = IdpKeys::fixed_for_tests().idp.cert_pem;
    let acme = demo::sp_config(
        &Endpoints {
            idp_base_url: idp_url.clone(),
            sp_base_url: acme_url.clone(),
        },
        &cert,
        ":memory:",
    );
    let globex = demo::sp_config(
        &Endpoints {
            idp_base_url: idp_url.clone(),
            sp_base_url: globex_url.clone(),
        },
        &cert,
        ":memory:",
    );
    assert_ne!(acme.entity_id(), globex.entity_id());
    let shared_idp = idp(&idp_url, IdpKeys::fixed_for_tests(), &[&acme, &globex]);
    serve(idp_listener, mock_idp::server::router(shared_idp.clone()));
    let acme_entity = acme.entity_id();
    start_sp(acme_listener, acme).await;
    start_sp(globex_listener, globex).await;

    // Both workspaces work on their own.
    for url in [&acme_url, &globex_url] {
        let driver = HttpDriver::new(url).unwrap();
        assert!(matches!(
            driver.sign_in("bob@example.com", None).await.unwrap(),
            SignInOutcome::SignedIn { .. }
        ));
    }
    // An assertion whose audience is acme, delivered to globex (Destination and Recipient
    // re-pointed, as a replaying attacker or a misconfigured IdP app would).
    shared_idp
        .set_next(NextResponses {
            knobs: json!({"audience_override": acme_entity}),
            ..Default::default()
        })
        .unwrap();
    let driver = HttpDriver::new(&globex_url).unwrap();
    assert_eq!(
        driver
            .sign_in("bob@example.com", None)
            .await
            .unwrap()
            .code(),
        Some("audience.mismatch")
    );
    assert!(driver.me().await.unwrap().is_none());

    // A response acme would accept, replayed as is against globex.
    let acme_driver = HttpDriver::new(&acme_url).unwrap();
    let mut form = acme_driver
        .fetch_idp_form("bob@example.com", None)
        .await
        .unwrap()
        .expect("form");
    form.action = format!("{globex_url}/saml/acs");
    let outcome = HttpDriver::new(&globex_url)
        .unwrap()
        .submit(&form)
        .await
        .unwrap();
    assert_eq!(outcome.code(), Some("destination.mismatch"), "{outcome:?}");
}

/// Several IdPs with single logout: the LogoutRequest goes to the main IdP; the partner IdP
/// answers it (its LogoutResponse names the request's ID and is signed with the partner's own,
/// trusted key). The SP refuses it with `logout.issuer_mismatch`: only the IdP asked may answer.
#[tokio::test]
async fn a_logout_response_from_another_idp_than_the_one_asked_is_refused() {
    let TwoIdps {
        main_url,
        partner_url,
        sp_url,
        sp,
        ..
    } = two_idps(|config, partner_idp, partner_url| {
        assert!(
            config.idp.slo_url.is_some(),
            "the demo SP does single logout"
        );
        partner_idp.label = Some("Partner IdP".into());
        partner_idp.slo_url = Some(format!("{partner_url}/slo"));
    })
    .await;

    let driver = HttpDriver::new(&sp_url).unwrap();
    let login = format!(
        "/login?idp={}",
        url::form_urlencoded::byte_serialize(format!("{main_url}/metadata").as_bytes())
            .collect::<String>()
    );
    assert!(matches!(
        driver
            .sign_in_at(&login, "alice@example.com")
            .await
            .unwrap(),
        SignInOutcome::SignedIn { .. }
    ));
    // The sign-out form, submitted without following, so that its redirect can be re-pointed.
    let location = driver
        .sign_out_redirect()
        .await
        .unwrap()
        .expect("a LogoutRequest to the main IdP");
    assert!(
        location.starts_with(&format!("{main_url}/slo")),
        "{location}"
    );
    let to_partner = location.replacen(&main_url, &partner_url, 1);
    let page = driver.visit(&to_partner).await.unwrap();
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body.contains("logout.issuer_mismatch"),
        "{}",
        page.body
    );
    let last = sp
        .store()
        .audit_events()
        .await
        .unwrap()
        .into_iter()
        .rfind(|e| e.kind.starts_with("logout."))
        .unwrap();
    assert_eq!(last.code.as_deref(), Some("logout.issuer_mismatch"));
}
