//! The CBC format oracle (Jager and Somorovsky, "How to Break XML Encryption", CCS 2011) over real
//! HTTP: with `allow_cbc`, every way a modified AES-CBC ciphertext can fail must give the sender
//! the same answer, byte for byte, or the SP decrypts for the attacker one probe at a time. The
//! probes come from the mock IdP's `cbc_oracle_probe` knob; the cause of each refusal stays in the
//! audit log.

use mock_idp::server::NextResponses;
use samlconf::driver::HttpDriver;
use samlconf::harness::{Pair, PairOptions};
use serde_json::json;
use time::macros::datetime;

/// Every variant of the knob that leaves a CBC ciphertext (the relabelled GCM one is refused by
/// default and decrypts to garbage with `allow_cbc`, like `iv-flipped`).
const PROBES: &[&str] = &[
    "iv-flipped",
    "last-block-flipped",
    "not-xml",
    "entity-reference",
    "not-utf8",
    "wrong-root",
    "content-altered",
    "gcm-relabelled-as-cbc",
];

/// Headers whose value legitimately differs per request.
const PER_REQUEST_HEADERS: &[&str] = &["date"];

/// What the sender of one response sees: status, headers (sorted, minus per-request ones), body.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn answer_to(pair: &Pair, probe: &str, accept: &str) -> Answer {
    pair.idp
        .set_next(NextResponses {
            profile: Some("encrypted".into()),
            knobs: json!({ "cbc_oracle_probe": probe }),
            count: 1,
            user: None,
        })
        .expect("queue the probe");
    let browser = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    let form = browser
        .fetch_idp_form("alice@example.com", None)
        .await
        .expect("driver")
        .expect("the IdP answers with a form");
    // A bare client: the attacker posts without the browser's cookies (binding is off below).
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .post(&form.action)
        .header(reqwest::header::ACCEPT, accept)
        .form(&form.fields)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| !PER_REQUEST_HEADERS.contains(&name.as_str()))
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    headers.sort();
    let body = response.bytes().await.unwrap().to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn with_allow_cbc_every_tampered_ciphertext_gets_the_same_answer() {
    let pair = Pair::start(PairOptions {
        virtual_start: Some(datetime!(2026-06-01 12:00 UTC)),
        sp_tweak: Some(|c: &mut sp::config::SpConfig| {
            c.sp.allow_cbc = true;
            c.sp.bind_requests_to_browser = false;
        }),
        ..Default::default()
    })
    .await
    .expect("start mock IdP and reference SP");
    for accept in ["text/html", "application/json"] {
        let mut answers = Vec::new();
        for probe in PROBES {
            answers.push((*probe, answer_to(&pair, probe, accept).await));
        }
        let (first_probe, first) = &answers[0];
        assert_eq!(first.status, 403, "{first_probe}: {first:?}");
        let body = String::from_utf8_lossy(&first.body);
        assert!(body.contains("decryption.failed"), "{first_probe}: {body}");
        for (probe, answer) in &answers[1..] {
            assert_eq!(
                answer,
                first,
                "{accept}: {probe} is answered unlike {first_probe}: the SP is a CBC format oracle\n{}\n{}",
                String::from_utf8_lossy(&answer.body),
                body
            );
        }
    }
    // The audit log keeps the cause of each.
    let events = pair.sp.store().audit_events().await.unwrap();
    let refused: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "sign_in.rejected")
        .collect();
    assert_eq!(refused.len(), 2 * PROBES.len(), "{events:?}");
    assert!(
        refused
            .iter()
            .all(|e| e.code.as_deref() == Some("decryption.failed")),
        "{refused:?}"
    );
    assert!(
        refused
            .iter()
            .any(|e| e.detail.contains("refused as signature.invalid")),
        "the altered plaintext's own code is in the audit detail: {refused:?}"
    );
    // The unmodified CBC response still signs in: the SP did not just refuse CBC.
    pair.idp
        .set_next(NextResponses {
            profile: Some("encrypted".into()),
            knobs: json!({ "data_encryption": "aes128-cbc" }),
            count: 1,
            user: None,
        })
        .unwrap();
    let browser = HttpDriver::new(&pair.endpoints.sp_base_url).unwrap();
    let outcome = browser.sign_in("alice@example.com", None).await.unwrap();
    assert!(
        matches!(outcome, samlconf::driver::SignInOutcome::SignedIn { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn by_default_cbc_and_the_gcm_to_cbc_relabelling_are_refused_before_decryption() {
    let pair = Pair::start(PairOptions {
        virtual_start: Some(datetime!(2026-06-01 12:00 UTC)),
        sp_tweak: Some(|c: &mut sp::config::SpConfig| c.sp.bind_requests_to_browser = false),
        ..Default::default()
    })
    .await
    .expect("start mock IdP and reference SP");
    let mut answers = Vec::new();
    for probe in PROBES {
        answers.push(answer_to(&pair, probe, "application/json").await);
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    let events = pair.sp.store().audit_events().await.unwrap();
    let refused: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "sign_in.rejected")
        .collect();
    assert_eq!(refused.len(), PROBES.len(), "{events:?}");
    assert!(
        refused
            .iter()
            .all(|e| e.code.as_deref() == Some("decryption.failed")
                && e.detail.contains("allow_cbc")),
        "refused as CBC, before any RSA work: {refused:?}"
    );
}
