//! HTTP helpers for the lifecycle and single-logout tests: an IdP with an SLO-capable SP, requests
//! through `oneshot`, and independent decoders and query-string signatures (openssl) that share
//! nothing with the IdP's own code. XML signatures are checked with `plumbing::xmlsec1`.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http_body_util::BodyExt as _;
use mock_idp::keys::IdpKeys;
use mock_idp::server::{Idp, IdpConfig, KnownSp, router};
use mock_idp::users;
use plumbing::clock::ManualClock;
use tower::ServiceExt as _;

use super::{ACS_URL, NOW, SP_ENTITY_ID};

pub const IDP_BASE: &str = "http://127.0.0.1:8081";
pub const SLO_URL: &str = "http://127.0.0.1:8080/saml/sls";

pub fn testdata(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(file)
}

pub fn read_testdata(file: &str) -> String {
    std::fs::read_to_string(testdata(file)).expect("testdata file")
}

/// A deterministic IdP whose SP has an SLO URL and the test SP certificate.
pub fn idp_with(forbid_framing: bool) -> Idp {
    let config = IdpConfig {
        entity_id: format!("{IDP_BASE}/metadata"),
        base_url: IDP_BASE.to_owned(),
        service_providers: vec![KnownSp {
            entity_id: SP_ENTITY_ID.to_owned(),
            acs_urls: vec![ACS_URL.to_owned()],
            slo_url: Some(SLO_URL.to_owned()),
            signing_cert_pem: Some(read_testdata("sp-test.crt")),
            encryption_cert_pem: Some(read_testdata("sp-enc-test.crt")),
        }],
        users: users::demo_users(),
        default_profile: "valid".to_owned(),
        deterministic: true,
        forbid_framing,
        want_authn_requests_signed: false,
    };
    config.check().expect("config");
    Idp::new(
        config,
        IdpKeys::fixed_for_tests(),
        Arc::new(ManualClock::new(NOW)),
    )
}

pub fn idp() -> Idp {
    idp_with(false)
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `mockidp_session` value this answer sets, if any.
    pub fn session_cookie(&self) -> Option<String> {
        let set = self.header(header::SET_COOKIE)?;
        let first = set.split(';').next()?;
        first
            .strip_prefix("mockidp_session=")
            .map(ToOwned::to_owned)
    }
}

pub async fn send(idp: &Idp, request: Request<Body>) -> Answer {
    let response = router(idp.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

pub async fn get(idp: &Idp, uri: &str, cookie: Option<&str>) -> Answer {
    let mut request = Request::get(uri);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, format!("mockidp_session={cookie}"));
    }
    send(idp, request.body(Body::empty()).expect("request")).await
}

pub async fn post_form(idp: &Idp, uri: &str, form: &str) -> Answer {
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .expect("request");
    send(idp, request).await
}

pub async fn post_json(idp: &Idp, uri: &str, json: serde_json::Value) -> Answer {
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json.to_string()))
        .expect("request");
    send(idp, request).await
}

pub async fn delete(idp: &Idp, uri: &str) -> Answer {
    send(
        idp,
        Request::delete(uri).body(Body::empty()).expect("request"),
    )
    .await
}

pub fn authn_request(id: &str, passive: bool) -> String {
    let passive = if passive { r#" IsPassive="true""# } else { "" };
    format!(
        r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" Destination="{IDP_BASE}/sso" AssertionConsumerServiceURL="{ACS_URL}"{passive}><saml:Issuer>{SP_ENTITY_ID}</saml:Issuer></samlp:AuthnRequest>"#
    )
}

pub fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Raw DEFLATE then base64 (not yet URL-encoded).
pub fn deflate_base64(xml: &str) -> String {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(xml.as_bytes()).expect("deflate");
    STANDARD.encode(encoder.finish().expect("deflate"))
}

pub fn inflate_base64(value: &str) -> String {
    let bytes = STANDARD.decode(value).expect("base64");
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(bytes.as_slice())
        .read_to_string(&mut xml)
        .expect("inflate");
    xml
}

/// `/sso` (Redirect binding) for request `id`, with an optional login hint and cookie.
pub async fn sso(
    idp: &Idp,
    id: &str,
    passive: bool,
    hint: Option<&str>,
    cookie: Option<&str>,
) -> Answer {
    let hint = hint
        .map(|h| format!("&login_hint={}", urlencode(h)))
        .unwrap_or_default();
    let uri = format!(
        "/sso?SAMLRequest={}{hint}",
        urlencode(&deflate_base64(&authn_request(id, passive)))
    );
    get(idp, &uri, cookie).await
}

/// A normal sign-in; returns the session cookie it set.
pub async fn sign_in(idp: &Idp, user: &str) -> String {
    let answer = sso(idp, "_signin", false, Some(user), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer
        .session_cookie()
        .expect("a normal sign-in sets the session cookie")
}

/// A hidden form field's value, HTML-unescaped enough for base64 and URLs.
pub fn form_field(page: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = page.find(&marker)? + marker.len();
    let end = start + page[start..].find('"')?;
    Some(page[start..end].replace("&amp;", "&"))
}

/// The decoded SAMLResponse of an auto-submit page.
pub fn saml_response(page: &str) -> Option<String> {
    let value = form_field(page, "SAMLResponse")?;
    Some(String::from_utf8(STANDARD.decode(value).expect("base64")).expect("utf-8"))
}

/// Splits a URL's query into raw (still URL-encoded) `(name, value)` pairs.
pub fn raw_query_pairs(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

pub fn url_decode(raw: &str) -> String {
    url::form_urlencoded::parse(format!("v={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Verifies an HTTP-Redirect query-string signature with openssl (SAML Bindings §3.4.4.1: over
/// `SAMLxxx=…[&RelayState=…]&SigAlg=…` as URL-encoded on the wire), RSA-SHA256 only.
pub fn redirect_signature_verifies(url: &str, cert_file: &str) -> bool {
    let pairs = raw_query_pairs(url);
    let raw = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let Some(sig_alg) = raw("SigAlg") else {
        return false;
    };
    assert_eq!(
        url_decode(&sig_alg),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    );
    let Some(signature) = raw("Signature") else {
        return false;
    };
    let mut signed = String::new();
    for name in ["SAMLRequest", "SAMLResponse", "RelayState", "SigAlg"] {
        if let Some(value) = raw(name) {
            if !signed.is_empty() {
                signed.push('&');
            }
            signed.push_str(&format!("{name}={value}"));
        }
    }
    let cert = openssl::x509::X509::from_pem(read_testdata(cert_file).as_bytes()).expect("cert");
    let key = cert.public_key().expect("public key");
    let signature = STANDARD
        .decode(url_decode(&signature))
        .expect("base64 signature");
    let mut verifier = openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &key)
        .expect("verifier");
    verifier.update(signed.as_bytes()).expect("update");
    verifier.verify(&signature).unwrap_or(false)
}

/// Signs a query string as an SP would (RSA-SHA256) with `key_file`; returns the full query.
pub fn sign_query_as_sp(unsigned_query: &str, key_file: &str) -> String {
    let query = format!(
        "{unsigned_query}&SigAlg={}",
        urlencode("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    );
    let key =
        openssl::pkey::PKey::private_key_from_pem(read_testdata(key_file).as_bytes()).expect("key");
    let mut signer =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).expect("signer");
    signer.update(query.as_bytes()).expect("update");
    let signature = signer.sign_to_vec().expect("sign");
    format!(
        "{query}&Signature={}",
        urlencode(&STANDARD.encode(signature))
    )
}
