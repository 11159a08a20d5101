//! The pair over HTTPS with the run's certificate authority: a client that trusts the CA signs
//! in, one that does not cannot connect, and each cookie's `Secure` (and `SameSite`) follows the
//! scheme: https gets `Secure` everywhere and the `__Host-` binding cookie; plain http keeps
//! `Secure` only where `SameSite=None` needs it.

use mock_idp::server::NextResponses;
use reqwest::header::{LOCATION, SET_COOKIE};
use samlconf::harness::{Pair, PairOptions};

async fn pair(https: bool) -> Pair {
    Pair::start(PairOptions {
        https,
        ..Default::default()
    })
    .await
    .expect("start the pair")
}

fn client(pair: &Pair) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(ca) = &pair.tls {
        builder = builder.tls_built_in_root_certs(false).add_root_certificate(
            reqwest::Certificate::from_pem(ca.ca_cert_pem.as_bytes()).unwrap(),
        );
    }
    builder.build().unwrap()
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn cookie<'a>(cookies: &'a [String], name: &str) -> &'a str {
    cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {cookies:?}"))
}

/// The cookies of each leg of an SP-initiated sign-in: `/login`, the IdP's answer, the ACS.
struct Legs {
    login: Vec<String>,
    idp: Vec<String>,
    acs: Vec<String>,
    landed: reqwest::StatusCode,
}

async fn sign_in(pair: &Pair) -> Legs {
    let client = client(pair);
    pair.idp
        .set_next(NextResponses {
            user: Some("bob@example.com".into()),
            ..Default::default()
        })
        .unwrap();
    let login = client
        .get(format!("{}/login", pair.endpoints.sp_base_url))
        .send()
        .await
        .unwrap();
    let to_idp = login.headers()[LOCATION].to_str().unwrap().to_owned();
    let login_cookies = set_cookies(&login);
    let idp = client.get(&to_idp).send().await.unwrap();
    let idp_cookies = set_cookies(&idp);
    let page = scraper::Html::parse_document(&idp.text().await.unwrap());
    let form = page
        .select(&scraper::Selector::parse("form#saml-post").unwrap())
        .next()
        .expect("the IdP answers with its form");
    let action = form.value().attr("action").unwrap().to_owned();
    let fields: Vec<(String, String)> = form
        .select(&scraper::Selector::parse("input[type=hidden]").unwrap())
        .map(|i| {
            let v = i.value();
            (
                v.attr("name").unwrap().into(),
                v.attr("value").unwrap().into(),
            )
        })
        .collect();
    let acs = client.post(&action).form(&fields).send().await.unwrap();
    let acs_cookies = set_cookies(&acs);
    let landed = client
        .get(format!("{}/me", pair.endpoints.sp_base_url))
        .send()
        .await
        .unwrap()
        .status();
    Legs {
        login: login_cookies,
        idp: idp_cookies,
        acs: acs_cookies,
        landed,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_every_cookie_is_secure_and_the_binding_cookie_is_host_prefixed() {
    let pair = pair(true).await;
    assert!(pair.endpoints.sp_base_url.starts_with("https://127.0.0.1:"));
    assert!(
        pair.endpoints
            .idp_base_url
            .starts_with("https://127.0.0.1:")
    );
    let legs = sign_in(&pair).await;
    assert_eq!(legs.landed, reqwest::StatusCode::OK, "signed in over https");
    let binding = cookie(&legs.login, "__Host-samlconf_sp_binding");
    assert!(
        binding.contains("; SameSite=None; Secure; Path=/"),
        "{binding}"
    );
    let legacy = cookie(&legs.login, "samlconf_sp_binding_legacy");
    assert!(legacy.contains("; Secure"), "{legacy}");
    let idp_session = cookie(&legs.idp, "mockidp_session");
    assert!(
        idp_session.contains("SameSite=None; Secure"),
        "{idp_session}"
    );
    let session = cookie(&legs.acs, "samlconf_sp_session");
    assert!(session.contains("; SameSite=Lax; Secure"), "{session}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_plain_http_secure_is_kept_only_where_samesite_none_needs_it() {
    let pair = pair(false).await;
    assert!(pair.tls.is_none());
    let legs = sign_in(&pair).await;
    assert_eq!(legs.landed, reqwest::StatusCode::OK);
    let binding = cookie(&legs.login, "samlconf_sp_binding");
    assert!(binding.contains("; SameSite=None; Secure"), "{binding}");
    let legacy = cookie(&legs.login, "samlconf_sp_binding_legacy");
    assert!(!legacy.contains("Secure"), "{legacy}");
    let idp_session = cookie(&legs.idp, "mockidp_session");
    assert!(
        idp_session.contains("SameSite=Lax") && !idp_session.contains("Secure"),
        "{idp_session}"
    );
    let session = cookie(&legs.acs, "samlconf_sp_session");
    assert!(!session.contains("Secure"), "{session}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_trust_the_run_ca_cannot_connect() {
    let pair = pair(true).await;
    let stranger = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    let err = stranger
        .get(format!("{}/saml/metadata", pair.endpoints.sp_base_url))
        .send()
        .await
        .expect_err("an untrusted certificate");
    assert!(err.is_connect(), "{err:?}");
    // Plain http to the https port gets no SAML either.
    let plain = pair
        .endpoints
        .idp_base_url
        .replacen("https://", "http://", 1);
    let answer = reqwest::get(format!("{plain}/metadata")).await;
    assert!(answer.is_err() || !answer.unwrap().status().is_success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sp_can_live_on_another_site_than_the_idp() {
    let pair = Pair::start(PairOptions {
        https: true,
        sp_host: Some("localhost".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(pair.endpoints.sp_base_url.starts_with("https://localhost:"));
    let legs = sign_in(&pair).await;
    assert_eq!(
        legs.landed,
        reqwest::StatusCode::OK,
        "the certificate covers localhost"
    );
}
