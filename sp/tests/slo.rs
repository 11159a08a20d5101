//! Single logout at the reference SP, through its router (no socket): IdP-initiated LogoutRequests
//! over HTTP-Redirect and HTTP-POST, SP-initiated logout and the IdP's LogoutResponse, and every
//! refusal with its code. The IdP's messages are built and signed here, independently of both
//! `mock-idp` and the SP: query strings with the `openssl` crate, XML with the `xmlsec1` command,
//! using the test IdP key of `tests/fixtures/keys/`.

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::{Signer, Verifier};
use openssl::x509::X509;
use sp::config::SpConfig;
use sp::keys::SpKeys;
use sp::store::{AuditEvent, Session};
use support::{IDP, NOW, Reply, TestSp};
use time::{Duration, OffsetDateTime};

const SLS: &str = "https://sp.test/saml/sls";
const IDP_SLO: &str = "https://idp.test/slo";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
const EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(keys_dir().join(name)).expect("fixture key")
}

/// The test SP, also sending logout requests to the IdP's SLO URL.
async fn test_sp(tweak: impl FnOnce(&mut SpConfig)) -> TestSp {
    TestSp::start(|config| {
        config.idp.slo_url = Some(IDP_SLO.into());
        tweak(config);
    })
    .await
}

impl TestSp {
    /// A signed-in session for `email` (NameID) with `session_index`; returns its cookie token.
    async fn session(&self, email: &str, session_index: Option<&str>) -> String {
        let store = self.sp.store();
        let user = match store.user_by_email(email).await.unwrap() {
            Some(user) => user,
            None => store
                .create_user(None, email, None, None, "jit", NOW)
                .await
                .unwrap(),
        };
        let token = format!("tok{}", rand_id());
        store
            .create_session(&Session {
                token: token.clone(),
                user_id: user.id,
                idp_entity_id: IDP.into(),
                name_id: Some(email.into()),
                session_index: session_index.map(String::from),
                created_at: NOW,
                expires_at: NOW + Duration::hours(8),
            })
            .await
            .unwrap();
        store
            .remember_name_id_format(&token, Some(EMAIL))
            .await
            .unwrap();
        token
    }

    async fn alive(&self, token: &str) -> bool {
        self.sp
            .store()
            .live_session(token, self.now())
            .await
            .unwrap()
            .is_some()
    }

    async fn get(&self, uri: &str, cookie: Option<&str>) -> Reply {
        let mut request = Request::get(uri);
        if let Some(token) = cookie {
            request = request.header(header::COOKIE, format!("samlconf_sp_session={token}"));
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn post_form(&self, uri: &str, body: String, cookie: Option<&str>) -> Reply {
        let mut request =
            Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(token) = cookie {
            request = request.header(header::COOKIE, format!("samlconf_sp_session={token}"));
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// Signs out like a person: `GET /logout` shows the confirmation form, which is submitted
    /// with its token.
    async fn logout(&self, token: &str) -> Reply {
        let page = self.get("/logout", Some(token)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let csrf = csrf_token_in(&page.body).expect("the sign-out page holds the form's token");
        self.post_form(
            "/logout",
            format!("csrf_token={}", form(&csrf)),
            Some(token),
        )
        .await
    }

    async fn logout_audit(&self) -> Vec<AuditEvent> {
        self.sp
            .store()
            .audit_events()
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind.starts_with("logout.") || e.kind == "session.logout")
            .collect()
    }

    async fn last_logout_code(&self) -> Option<String> {
        self.logout_audit()
            .await
            .last()
            .and_then(|e| e.code.clone())
    }
}

impl Reply {
    fn clears_cookie(&self) -> bool {
        self.set_cookie
            .as_deref()
            .is_some_and(|c| c.starts_with("samlconf_sp_session=;") && c.contains("Max-Age=0"))
    }
}

/// The value of the `csrf_token` hidden field of the sign-out form.
fn csrf_token_in(html: &str) -> Option<String> {
    let at = html.find(r#"name="csrf_token""#)?;
    let rest = &html[at..];
    let value = &rest[rest.find(r#"value=""#)? + 7..];
    Some(value[..value.find('"')?].to_owned())
}

fn rand_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    format!("{:08}", N.fetch_add(1, Ordering::Relaxed))
}

// --- the test IdP's messages -------------------------------------------------------------------

struct LogoutRequestSpec {
    id: String,
    issuer: String,
    destination: Option<String>,
    name_id: String,
    session_index: Option<String>,
    issue_instant: OffsetDateTime,
    not_on_or_after: Option<OffsetDateTime>,
}

fn logout_request(name_id: &str, session_index: Option<&str>) -> LogoutRequestSpec {
    LogoutRequestSpec {
        id: format!("_idp{}", rand_id()),
        issuer: IDP.into(),
        destination: Some(SLS.into()),
        name_id: name_id.into(),
        session_index: session_index.map(String::from),
        issue_instant: NOW,
        not_on_or_after: Some(NOW + Duration::minutes(5)),
    }
}

fn instant(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

impl LogoutRequestSpec {
    fn xml(&self) -> String {
        let destination = self
            .destination
            .as_deref()
            .map(|d| format!(r#" Destination="{d}""#))
            .unwrap_or_default();
        let until = self
            .not_on_or_after
            .map(|t| format!(r#" NotOnOrAfter="{}""#, instant(t)))
            .unwrap_or_default();
        let index = self
            .session_index
            .as_deref()
            .map(|s| format!("<samlp:SessionIndex>{s}</samlp:SessionIndex>"))
            .unwrap_or_default();
        format!(
            r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{at}"{destination}{until}><saml:Issuer>{issuer}</saml:Issuer><!--SIGNATURE--><saml:NameID Format="{EMAIL}">{name_id}</saml:NameID>{index}</samlp:LogoutRequest>"#,
            id = self.id,
            at = instant(self.issue_instant),
            issuer = self.issuer,
            name_id = self.name_id,
        )
    }
}

fn logout_response_xml(in_response_to: &str, status: &str) -> String {
    format!(
        r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_resp{n}" Version="2.0" IssueInstant="{at}" Destination="{SLS}" InResponseTo="{in_response_to}"><saml:Issuer>{IDP}</saml:Issuer><!--SIGNATURE--><samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status></samlp:LogoutResponse>"#,
        n = rand_id(),
        at = instant(NOW),
    )
}

fn form(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// An HTTP-Redirect query string carrying `xml` as `param`, signed (bindings §3.4.4.1) with
/// `keys/<key>.key` and `sig_alg` when `key` is given.
fn redirect_query(
    param: &str,
    xml: &str,
    relay_state: Option<&str>,
    key: Option<&str>,
    sig_alg: &str,
) -> String {
    let xml = xml.replace("<!--SIGNATURE-->", "");
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(xml.as_bytes()).unwrap();
    let message = B64.encode(encoder.finish().unwrap());
    let mut query = format!("{param}={}", form(&message));
    if let Some(relay) = relay_state {
        query.push_str(&format!("&RelayState={}", form(relay)));
    }
    let Some(key) = key else { return query };
    query.push_str(&format!("&SigAlg={}", form(sig_alg)));
    let pkey = PKey::private_key_from_pem(read(&format!("{key}.key")).as_bytes()).unwrap();
    let digest = if sig_alg == RSA_SHA1 {
        MessageDigest::sha1()
    } else {
        MessageDigest::sha256()
    };
    let mut signer = Signer::new(digest, &pkey).unwrap();
    signer.update(query.as_bytes()).unwrap();
    let signature = B64.encode(signer.sign_to_vec().unwrap());
    format!("{query}&Signature={}", form(&signature))
}

/// An HTTP-POST form body carrying `xml` as `param`, with an enveloped XML signature made by the
/// `xmlsec1` command with `keys/<key>` when `key` is given.
fn post_body(param: &str, xml: &str, key: Option<&str>) -> String {
    let xml = match key {
        None => xml.replace("<!--SIGNATURE-->", ""),
        Some(key) => xmlsec1_sign(xml, key),
    };
    format!("{param}={}&RelayState=%2Fafter", form(&B64.encode(xml)))
}

fn xmlsec1_sign(xml: &str, key: &str) -> String {
    let root_id = {
        let at = xml.find(" ID=\"").unwrap() + 5;
        xml[at..at + xml[at..].find('"').unwrap()].to_owned()
    };
    let template = format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{RSA_SHA256}"/><ds:Reference URI="#{root_id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature>"##
    );
    let xml = xml.replace("<!--SIGNATURE-->", &template);
    plumbing::xmlsec1::sign(
        &xml,
        &keys_dir().join(format!("{key}.key")),
        &keys_dir().join(format!("{key}.crt")),
        &[
            "urn:oasis:names:tc:SAML:2.0:protocol:LogoutRequest",
            "urn:oasis:names:tc:SAML:2.0:protocol:LogoutResponse",
        ],
        None,
    )
}

/// What the SP sent to the IdP's SLO URL: the decoded XML, after checking the query-string
/// signature with the SP's published certificate over the bytes as sent.
struct SentToIdp {
    param: String,
    xml: String,
    relay_state: Option<String>,
}

fn sent_to_idp(location: &str) -> SentToIdp {
    let query = location
        .strip_prefix(&format!("{IDP_SLO}?"))
        .unwrap_or_else(|| panic!("not a redirect to the IdP's SLO URL: {location}"));
    let (signed, signature) = query.rsplit_once("&Signature=").expect("signed");
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(signed.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        pairs.last().unwrap(),
        &("SigAlg".to_owned(), RSA_SHA256.to_owned())
    );
    let signature = url::form_urlencoded::parse(format!("s={signature}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned();
    let cert = X509::from_pem(SpKeys::fixed_for_tests().cert_pem.as_bytes()).unwrap();
    let key = cert.public_key().unwrap();
    let mut verifier = Verifier::new(MessageDigest::sha256(), &key).unwrap();
    verifier.update(signed.as_bytes()).unwrap();
    assert!(
        verifier.verify(&B64.decode(signature).unwrap()).unwrap(),
        "the SP's query-string signature verifies with its certificate"
    );
    let (param, value) = pairs[0].clone();
    let mut xml = String::new();
    DeflateDecoder::new(&B64.decode(value).unwrap()[..])
        .read_to_string(&mut xml)
        .unwrap();
    SentToIdp {
        param,
        xml,
        relay_state: pairs
            .iter()
            .find(|(k, _)| k == "RelayState")
            .map(|(_, v)| v.clone()),
    }
}

fn attr<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let at = xml.find(&key)? + key.len();
    Some(&xml[at..at + xml[at..].find('"')?])
}

fn status_of(xml: &str) -> String {
    let at = xml.find("<samlp:StatusCode Value=\"").unwrap() + 25;
    xml[at..at + xml[at..].find('"').unwrap()].to_owned()
}

// --- IdP-initiated -----------------------------------------------------------------------------

#[tokio::test]
async fn signed_redirect_logout_request_ends_the_matching_session_and_gets_a_signed_success() {
    let t = test_sp(|_| {}).await;
    let token = t.session("bob@example.com", Some("_s1")).await;
    let other = t.session("alice@example.com", Some("_s2")).await;
    let request = logout_request("bob@example.com", Some("_s1"));
    let query = redirect_query(
        "SAMLRequest",
        &request.xml(),
        Some("/relay"),
        Some("idp"),
        RSA_SHA256,
    );
    let reply = t.get(&format!("/saml/sls?{query}"), Some(&token)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert!(
        reply.clears_cookie(),
        "the browser's ended session cookie is cleared"
    );
    assert!(!t.alive(&token).await, "bob's session ended");
    assert!(t.alive(&other).await, "alice's session untouched");
    let sent = sent_to_idp(reply.location.as_deref().unwrap());
    assert_eq!(sent.param, "SAMLResponse");
    assert_eq!(
        sent.relay_state.as_deref(),
        Some("/relay"),
        "RelayState echoed"
    );
    assert_eq!(attr(&sent.xml, "InResponseTo"), Some(request.id.as_str()));
    assert_eq!(attr(&sent.xml, "Destination"), Some(IDP_SLO));
    assert_eq!(
        status_of(&sent.xml),
        "urn:oasis:names:tc:SAML:2.0:status:Success"
    );
    let audit = t.logout_audit().await;
    let last = audit.last().unwrap();
    assert_eq!(last.kind, "logout.accepted");
    assert_eq!(last.subject.as_deref(), Some("bob@example.com"));
    assert_eq!(last.idp.as_deref(), Some(IDP));
}

#[tokio::test]
async fn signed_post_logout_request_ends_every_session_of_the_name_id_without_session_index() {
    let t = test_sp(|_| {}).await;
    let a = t.session("bob@example.com", Some("_s1")).await;
    let b = t.session("bob@example.com", Some("_s2")).await;
    let request = logout_request("bob@example.com", None);
    let body = post_body("SAMLRequest", &request.xml(), Some("idp"));
    let reply = t.post_form("/saml/sls", body, None).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert!(!t.alive(&a).await && !t.alive(&b).await);
    assert!(!reply.clears_cookie(), "no cookie was sent, none to clear");
    let sent = sent_to_idp(reply.location.as_deref().unwrap());
    assert_eq!(
        status_of(&sent.xml),
        "urn:oasis:names:tc:SAML:2.0:status:Success"
    );
    assert_eq!(sent.relay_state.as_deref(), Some("/after"));
}

#[tokio::test]
async fn session_index_limits_the_logout_to_that_session() {
    let t = test_sp(|_| {}).await;
    let a = t.session("bob@example.com", Some("_s1")).await;
    let b = t.session("bob@example.com", Some("_s2")).await;
    let request = logout_request("bob@example.com", Some("_s2"));
    let query = redirect_query("SAMLRequest", &request.xml(), None, Some("idp"), RSA_SHA256);
    t.get(&format!("/saml/sls?{query}"), None).await;
    assert!(t.alive(&a).await);
    assert!(!t.alive(&b).await);
}

#[tokio::test]
async fn unsigned_logout_request_is_refused_with_logout_unsigned_and_the_session_survives() {
    let t = test_sp(|_| {}).await;
    let token = t.session("bob@example.com", Some("_s1")).await;
    let request = logout_request("bob@example.com", Some("_s1"));
    for reply in [
        t.get(
            &format!(
                "/saml/sls?{}",
                redirect_query("SAMLRequest", &request.xml(), None, None, RSA_SHA256)
            ),
            Some(&token),
        )
        .await,
        t.post_form(
            "/saml/sls",
            post_body("SAMLRequest", &request.xml(), None),
            Some(&token),
        )
        .await,
    ] {
        assert!(t.alive(&token).await, "session survives");
        assert!(!reply.clears_cookie());
        assert_eq!(
            t.last_logout_code().await.as_deref(),
            Some("logout.unsigned")
        );
        // Unverified: no signed answer (it would sign the sender's ID and RelayState).
        assert!(reply.location.is_none(), "answered: {:?}", reply.location);
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert!(reply.body.contains("logout.unsigned"), "{}", reply.body);
    }
    let event = t.logout_audit().await.pop().unwrap();
    assert_eq!(event.kind, "logout.rejected");
    assert_eq!(event.subject.as_deref(), Some("bob@example.com"));
}

#[tokio::test]
async fn unsigned_logout_request_is_accepted_when_signatures_are_not_required() {
    let t = test_sp(|c| c.sp.require_signed_logout_requests = false).await;
    let token = t.session("bob@example.com", Some("_s1")).await;
    let request = logout_request("bob@example.com", Some("_s1"));
    let query = redirect_query("SAMLRequest", &request.xml(), None, None, RSA_SHA256);
    let reply = t.get(&format!("/saml/sls?{query}"), Some(&token)).await;
    assert!(!t.alive(&token).await);
    assert!(reply.clears_cookie());
    let sent = sent_to_idp(reply.location.as_deref().unwrap());
    assert_eq!(
        status_of(&sent.xml),
        "urn:oasis:names:tc:SAML:2.0:status:Success"
    );
}

#[tokio::test]
async fn attacker_signed_logout_request_is_refused_with_signature_invalid() {
    let t = test_sp(|c| c.sp.require_signed_logout_requests = false).await;
    let token = t.session("bob@example.com", Some("_s1")).await;
    let request = logout_request("bob@example.com", Some("_s1"));
    let query = redirect_query(
        "SAMLRequest",
        &request.xml(),
        None,
        Some("attacker"),
        RSA_SHA256,
    );
    t.get(&format!("/saml/sls?{query}"), Some(&token)).await;
    assert_eq!(
        t.last_logout_code().await.as_deref(),
        Some("logout.signature_invalid")
    );
    let request = logout_request("bob@example.com", Some("_s1"));
    let body = post_body("SAMLRequest", &request.xml(), Some("attacker"));
    t.post_form("/saml/sls", body, Some(&token)).await;
    assert_eq!(
        t.last_logout_code().await.as_deref(),
        Some("logout.signature_invalid")
    );
    assert!(
        t.alive(&token).await,
        "a present but bad signature is never ignored"
    );
}

/// A forged LogoutRequest must not make the SP sign anything: an SP-signed LogoutResponse with
/// the attacker's ID as InResponseTo and the attacker's RelayState is a signing oracle.
#[tokio::test]
async fn a_forged_logout_request_gets_no_signed_answer_only_the_refusal_and_an_audit_row() {
    let t = test_sp(|_| {}).await;
    let token = t.session("bob@example.com", Some("_s1")).await;
    let request = logout_request("bob@example.com", Some("_s1"));
    let relay = "attacker-chosen-relay-state";
    let query = redirect_query(
        "SAMLRequest",
        &request.xml(),
        Some(relay),
        Some("attacker"),
        RSA_SHA256,
    );
    let reply = t.get(&format!("/saml/sls?{query}"), Some(&token)).await;
    assert!(
        reply.location.is_none(),
        "the SP signed an answer to a forged request: {:?}",
        reply.location
    );
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.body.contains("logout.signature_invalid"));
    let post = post_body("SAMLRequest", &request.xml(), Some("attacker"))
        .replace("RelayState=%2Fafter", &format!("RelayState={relay}"));
    let reply = t.post_form("/saml/sls", post, Some(&token)).await;
    assert!(reply.location.is_none(), "{:?}", reply.location);
    assert!(!reply.body.contains(relay));
    let event = t.logout_audit().await.pop().unwrap();
    assert_eq!(event.kind, "logout.rejected");
    assert_eq!(event.code.as_deref(), Some("logout.signature_invalid"));
    assert!(t.alive(&token).await);
}

// --- local logout: a form with the session's token (no logout CSRF) -----------------------------

#[tokio::test]
async fn get_logout_only_shows_the_confirmation_form_and_ends_nothing() {
    let t = test_sp(|_| {}).await;
    let token = t.session("bob@example.com", Some("_s1")).await;
    let reply = t.get("/logout", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.location.is_none(), "{:?}", reply.location);
    assert!(!reply.clears_cookie());
    assert!(
        reply
            .body
            .contains(r#"<form method="post" action="/logout""#),
        "{}",
        reply.body
    );
    assert!(csrf_token_in(&reply.body).is_some());
    assert!(t.alive(&token).await, "a cross-site GET ended the session");
    assert!(t.logout_audit().await.is_empty());
}

#[tokio::test]
async fn post_logout_without_the_sessions_token_is_refused_and_ends_nothing() {
    let t = test_sp(|_| {}).await;
    let token = t.session("bob@example.com", Some("_s1")).await;
    let other = t.session("carol@example.com", None).await;
    let page = t.get("/logout", Some(&other)).await;
    let others_token = csrf_token_in(&page.body).unwrap();
    for body in [
        String::new(),
        "csrf_token=".to_owned(),
        "csrf_token=guess".to_owned(),
        format!("csrf_token={others_token}"),
    ] {
        let reply = t.post_form("/logout", body.clone(), Some(&token)).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{body:?}");
        assert!(
            reply.body.contains("logout.csrf_token_invalid"),
            "{}",
            reply.body
        );
        assert!(reply.location.is_none());
        assert!(!reply.clears_cookie());
        assert!(t.alive(&token).await, "{body:?} ended the session");
        assert_eq!(
            t.last_logout_code().await.as_deref(),
            Some("logout.csrf_token_invalid")
        );
    }
    let reply = t.logout(&token).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(!t.alive(&token).await);
}

/// A browser sends no `SameSite=Lax` session cookie with another site's POST: the SP sees no
/// session. Its answer must not clear the cookie anyway (the browser applies that `Set-Cookie`,
/// so the other site would sign the user out after all, as Chromium showed in scenario 7.51).
#[tokio::test]
async fn post_logout_without_cookie_or_token_is_refused_and_clears_no_cookie() {
    let t = test_sp(|_| {}).await;
    let token = t.session("bob@example.com", Some("_s1")).await;
    for body in [String::new(), "csrf_token=".to_owned()] {
        let reply = t.post_form("/logout", body.clone(), None).await;
        assert!(!reply.clears_cookie(), "{body:?} cleared the cookie");
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{body:?}");
        assert!(
            reply.body.contains("logout.csrf_token_invalid"),
            "{}",
            reply.body
        );
        assert_eq!(
            t.last_logout_code().await.as_deref(),
            Some("logout.csrf_token_invalid")
        );
    }
    assert!(t.alive(&token).await);
}

#[tokio::test]
async fn redirect_signature_covers_relay_state_and_the_exact_bytes() {
    let t = test_sp(|_| {}).await;
    let token = t.session("bob@example.com", Some("_s1")).await;
    let request = logout_request("bob@example.com", Some("_s1"));
    let query = redirect_query(
        "SAMLRequest",
        &request.xml(),
        Some("/a"),
        Some("idp"),
        RSA_SHA256,
    );
    let tampered = query.replace("RelayState=%2Fa", "RelayState=%2Fb");
    t.get(&format!("/saml/sls?{tampered}"), Some(&token)).await;
    assert_eq!(
        t.last_logout_code().await.as_deref(),
        Some("logout.signature_invalid")
    );
    // The same parameter twice would make "what was signed" ambiguous.
    let doubled = format!("{query}&RelayState=%2Fb");
    let reply = t.get(&format!("/saml/sls?{doubled}"), Some(&token)).await;
    assert_eq!(
        t.last_logout_code().await.as_deref(),
        Some("logout.malformed")
    );
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(t.alive(&token).await);
}

#[tokio::test]
async fn sha1_query_signature_is_refused_unless_the_policy_allows_it() {
    let t = test_sp(|_| {}).await;
    let token = t.session("bob@example.com", Some("_s1")).await;
    let request = logout_request("bob@example.com", Some("_s1"));
    let query = redirect_query("SAMLRequest", &request.xml(), None, Some("idp"), RSA_SHA1);
    t.get(&format!("/saml/sls?{query}"), Some(&token)).await;
    assert_eq!(
        t.last_logout_code().await.as_deref(),
        Some("signature.weak_algorithm")
    );
    assert!(t.alive(&token).await);

    let t = test_sp(|c| c.sp.signature_algorithms.push("rsa-sha1".into())).await;
    let token = t.session("bob@example.com", Some("_s1")).await;
    let query = redirect_query("SAMLRequest", &request.xml(), None, Some("idp"), RSA_SHA1);
    t.get(&format!("/saml/sls?{query}"), Some(&token)).await;
    assert!(!t.alive(&token).await, "SHA-1 allowed by policy");
}

#[tokio::test]
async fn wrong_issuer_destination_and_time_are_refused_with_their_codes() {
    let t = test_sp(|_| {}).await;
    let token = t.session("bob@example.com", Some("_s1")).await;
    type Fault = Box<dyn Fn(&mut LogoutRequestSpec)>;
    let cases: Vec<(Fault, &str)> = vec![
        (
            Box::new(|r| r.issuer = "https://evil.test/metadata".into()),
            "logout.issuer_mismatch",
        ),
        (
            Box::new(|r| r.destination = Some("https://other.test/saml/sls".into())),
            "logout.destination_mismatch",
        ),
        (
            Box::new(|r| r.destination = None),
            "logout.destination_mismatch",
        ),
        (
            Box::new(|r| r.not_on_or_after = Some(NOW - Duration::minutes(10))),
            "logout.expired",
        ),
        (
            Box::new(|r| r.issue_instant = NOW - Duration::hours(2)),
            "logout.expired",
        ),
        (
            Box::new(|r| r.issue_instant = NOW + Duration::hours(1)),
            "logout.not_yet_valid",
        ),
    ];
    for (edit, code) in cases {
        let mut request = logout_request("bob@example.com", Some("_s1"));
        edit(&mut request);
        let query = redirect_query("SAMLRequest", &request.xml(), None, Some("idp"), RSA_SHA256);
        let reply = t.get(&format!("/saml/sls?{query}"), Some(&token)).await;
        assert_eq!(t.last_logout_code().await.as_deref(), Some(code));
        let sent = sent_to_idp(reply.location.as_deref().unwrap());
        assert_eq!(
            status_of(&sent.xml),
            "urn:oasis:names:tc:SAML:2.0:status:Requester"
        );
        assert!(t.alive(&token).await, "{code}: session survives");
    }
}

#[tokio::test]
async fn unknown_session_is_audited_and_nothing_ends() {
    let t = test_sp(|_| {}).await;
    let token = t.session("bob@example.com", Some("_s1")).await;
    for request in [
        logout_request("nobody@example.com", None),
        logout_request("bob@example.com", Some("_other")),
    ] {
        let query = redirect_query("SAMLRequest", &request.xml(), None, Some("idp"), RSA_SHA256);
        let reply = t.get(&format!("/saml/sls?{query}"), Some(&token)).await;
        assert_eq!(
            t.last_logout_code().await.as_deref(),
            Some("logout.unknown_session")
        );
        let sent = sent_to_idp(reply.location.as_deref().unwrap());
        assert!(
            sent.xml
                .contains("urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal")
        );
        assert!(!reply.clears_cookie());
    }
    assert!(t.alive(&token).await);
}

#[tokio::test]
async fn a_replayed_logout_request_is_refused() {
    let t = test_sp(|_| {}).await;
    t.session("bob@example.com", Some("_s1")).await;
    let request = logout_request("bob@example.com", None);
    let query = redirect_query("SAMLRequest", &request.xml(), None, Some("idp"), RSA_SHA256);
    t.get(&format!("/saml/sls?{query}"), None).await;
    let later = t.session("bob@example.com", Some("_s9")).await;
    t.get(&format!("/saml/sls?{query}"), None).await;
    assert_eq!(
        t.last_logout_code().await.as_deref(),
        Some("logout.replayed")
    );
    assert!(
        t.alive(&later).await,
        "a replay does not end the newer session"
    );
}

#[tokio::test]
async fn bad_input_is_a_400_with_an_input_code_never_a_panic() {
    let t = test_sp(|_| {}).await;
    let deflated_dtd = {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(b"<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>")
            .unwrap();
        form(&B64.encode(e.finish().unwrap()))
    };
    let huge = {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::best());
        e.write_all(&vec![b' '; 4 * 1024 * 1024]).unwrap();
        form(&B64.encode(e.finish().unwrap()))
    };
    let cases = [
        ("SAMLRequest=%%%not-base64", "input.not_base64"),
        ("SAMLRequest=aGVsbG8gd29ybGQ%3D", "input.bad_deflate"),
        (
            &format!("SAMLRequest={deflated_dtd}") as &str,
            "input.dtd_forbidden",
        ),
        (&format!("SAMLRequest={huge}"), "input.too_large"),
        ("", "input.not_base64"),
    ];
    for (query, code) in cases {
        let reply = t.get(&format!("/saml/sls?{query}"), None).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{code}: {}",
            reply.body
        );
        assert!(reply.body.contains(code), "{code}: {}", reply.body);
        assert_eq!(t.last_logout_code().await.as_deref(), Some(code));
    }
    let reply = t
        .post_form(
            "/saml/sls",
            format!("SAMLRequest={}", form(&B64.encode("<a"))),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(t.last_logout_code().await.as_deref(), Some("input.not_xml"));
    let reply = t
        .post_form(
            "/saml/sls",
            format!("SAMLRequest={}", form(&B64.encode("<x/>"))),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        t.last_logout_code().await.as_deref(),
        Some("logout.malformed")
    );
}

// --- SP-initiated ------------------------------------------------------------------------------

#[tokio::test]
async fn sp_initiated_logout_sends_a_signed_request_and_accepts_the_idps_signed_response() {
    let t = test_sp(|_| {}).await;
    let token = t.session("bob@example.com", Some("_s1")).await;
    let reply = t.logout(&token).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(reply.clears_cookie());
    assert!(!t.alive(&token).await, "the local session ends first");
    let sent = sent_to_idp(reply.location.as_deref().unwrap());
    assert_eq!(sent.param, "SAMLRequest");
    assert!(sent.xml.starts_with("<samlp:LogoutRequest "));
    assert!(sent.xml.contains(&format!(
        r#"<saml:NameID Format="{EMAIL}">bob@example.com</saml:NameID>"#
    )));
    assert!(
        sent.xml
            .contains("<samlp:SessionIndex>_s1</samlp:SessionIndex>")
    );
    assert!(
        sent.xml
            .contains("<saml:Issuer>https://sp.test/saml/metadata</saml:Issuer>")
    );
    assert_eq!(attr(&sent.xml, "Destination"), Some(IDP_SLO));
    let request_id = attr(&sent.xml, "ID").unwrap().to_owned();

    let success = "urn:oasis:names:tc:SAML:2.0:status:Success";
    let query = redirect_query(
        "SAMLResponse",
        &logout_response_xml(&request_id, success),
        None,
        Some("idp"),
        RSA_SHA256,
    );
    let reply = t.get(&format!("/saml/sls?{query}"), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.contains("You are signed out"));
    let event = t.logout_audit().await.pop().unwrap();
    assert_eq!(event.kind, "logout.accepted");
    assert_eq!(event.subject.as_deref(), Some("bob@example.com"));

    // Each request is answered once.
    let reply = t.get(&format!("/saml/sls?{query}"), None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.body.contains("logout.unknown_in_response_to"));
}

#[tokio::test]
async fn the_idps_logout_response_over_post_is_verified_too() {
    let t = test_sp(|_| {}).await;
    let token = t.session("bob@example.com", None).await;
    let reply = t.logout(&token).await;
    let sent = sent_to_idp(reply.location.as_deref().unwrap());
    assert!(!sent.xml.contains("SessionIndex"));
    let id = attr(&sent.xml, "ID").unwrap().to_owned();
    let failure = "urn:oasis:names:tc:SAML:2.0:status:Responder";
    let body = post_body(
        "SAMLResponse",
        &logout_response_xml(&id, failure),
        Some("idp"),
    );
    let reply = t.post_form("/saml/sls", body, None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        t.last_logout_code().await.as_deref(),
        Some("logout.status_not_success")
    );

    let reply = t.logout(&t.session("bob@example.com", None).await).await;
    let id = attr(&sent_to_idp(reply.location.as_deref().unwrap()).xml, "ID")
        .unwrap()
        .to_owned();
    let success = "urn:oasis:names:tc:SAML:2.0:status:Success";
    let unsigned = post_body("SAMLResponse", &logout_response_xml(&id, success), None);
    t.post_form("/saml/sls", unsigned, None).await;
    assert_eq!(
        t.last_logout_code().await.as_deref(),
        Some("logout.response_unsigned")
    );
    let forged = post_body(
        "SAMLResponse",
        &logout_response_xml(&id, success),
        Some("attacker"),
    );
    t.post_form("/saml/sls", forged, None).await;
    assert_eq!(
        t.last_logout_code().await.as_deref(),
        Some("logout.signature_invalid")
    );
    let good = post_body(
        "SAMLResponse",
        &logout_response_xml(&id, success),
        Some("idp"),
    );
    let reply = t.post_form("/saml/sls", good, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// Several IdPs: the LogoutResponse must come from the IdP the LogoutRequest went to.
#[tokio::test]
async fn a_logout_response_from_another_configured_idp_is_refused_with_issuer_mismatch() {
    const PARTNER: &str = "https://partner.test/metadata";
    let t = test_sp(|c| {
        c.additional_idps.push(sp::config::IdpSettings {
            entity_id: PARTNER.into(),
            label: None,
            sso_url: "https://partner.test/sso".into(),
            slo_url: Some("https://partner.test/slo".into()),
            certificate_file: None,
            certificate_pem: Some(read("attacker.crt")),
            metadata_file: None,
            allowed_domains: None,
            default_role: None,
            role_mappings: Vec::new(),
        })
    })
    .await;
    let token = t.session("bob@example.com", Some("_s1")).await;
    let reply = t.logout(&token).await;
    let sent = sent_to_idp(reply.location.as_deref().unwrap());
    let id = attr(&sent.xml, "ID").unwrap().to_owned();
    let success = "urn:oasis:names:tc:SAML:2.0:status:Success";
    let from_partner = logout_response_xml(&id, success).replace(
        &format!("<saml:Issuer>{IDP}</saml:Issuer>"),
        &format!("<saml:Issuer>{PARTNER}</saml:Issuer>"),
    );
    let query = redirect_query(
        "SAMLResponse",
        &from_partner,
        None,
        Some("attacker"),
        RSA_SHA256,
    );
    let reply = t.get(&format!("/saml/sls?{query}"), None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert_eq!(
        t.last_logout_code().await.as_deref(),
        Some("logout.issuer_mismatch")
    );
    // The request is still the right IdP's to answer.
    let query = redirect_query(
        "SAMLResponse",
        &logout_response_xml(&id, success),
        None,
        Some("idp"),
        RSA_SHA256,
    );
    let reply = t.get(&format!("/saml/sls?{query}"), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn without_an_slo_url_logout_is_local_only() {
    let t = test_sp(|c| c.idp.slo_url = None).await;
    let token = t.session("bob@example.com", Some("_s1")).await;
    let reply = t.logout(&token).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.location.is_none());
    assert!(reply.clears_cookie());
    assert!(reply.body.contains("You are signed out"));
    assert!(!t.alive(&token).await);
    let event = t.logout_audit().await.pop().unwrap();
    assert_eq!(event.kind, "session.logout");
    assert!(event.detail.contains("local logout"), "{}", event.detail);

    // An IdP-initiated request still ends the session; there is nowhere to answer.
    let token = t.session("bob@example.com", Some("_s2")).await;
    let request = logout_request("bob@example.com", Some("_s2"));
    let query = redirect_query("SAMLRequest", &request.xml(), None, Some("idp"), RSA_SHA256);
    let reply = t.get(&format!("/saml/sls?{query}"), Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(!t.alive(&token).await);
}

#[tokio::test]
async fn sp_metadata_publishes_the_signing_certificate() {
    let t = test_sp(|_| {}).await;
    let reply = t.get("/saml/metadata", None).await;
    let cert = SpKeys::fixed_for_tests().cert_der_base64();
    assert!(reply.body.contains(r#"<md:KeyDescriptor use="signing">"#));
    assert!(reply.body.contains(&cert));
}
