//! Differential: on mutated responses, our verifier's *signature verdict* agrees with the
//! `xmlsec1` command's (an independent XML-DSig implementation driven from the command line with
//! the pinned certificate only, `--enabled-key-data` without x509, `ID` declared on Assertion and
//! Response).
//!
//! The inputs are deterministic: the non-encrypted seeds of `fuzz/corpus/verify_response_mutated/`,
//! every wrapping and tampering seed of `fuzz/corpus/verify_response/`, structure mutations of the
//! assertion-signed and the Response-signed seed, and byte flips spread over the assertion-signed
//! one (under 100 `xmlsec1` runs in all). Our verdict is read from where the verifier stopped
//! (the check order of `sp::verify`): accepted, or refused by a check after the signatures, means
//! the signature verified; a `signature.*` code means it did not; an `input.*`/`structure.*` code
//! means we refused before verifying. A disagreement is either explained (the list is in
//! `fuzz/README.md`, "Differential") or fails the test. `--nocapture` prints the whole report.

use std::path::{Path, PathBuf};

#[path = "../fuzz/src/targets/mod.rs"]
#[allow(dead_code)]
mod targets;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ours {
    /// Accepted, or refused by a check that runs after the signatures (the code).
    Verified(Option<&'static str>),
    /// Refused by the signature stage.
    SignatureRefused(&'static str),
    /// Refused before any signature was verified (input, structure, status).
    RefusedBefore(&'static str),
}

fn ours(xml: &[u8]) -> Ours {
    let mut policy = targets::policy();
    policy.accept_response_signature = true;
    match sp::verify::verify_response(xml, &policy, targets::NOW) {
        Ok(_) => Ours::Verified(None),
        Err(rejection) => {
            let code = rejection.reason.code();
            let stage = code.split('.').next().unwrap_or("");
            match stage {
                "signature" => Ours::SignatureRefused(code),
                "input" | "structure" | "status" | "encryption" | "decryption" => {
                    Ours::RefusedBefore(code)
                }
                _ => Ours::Verified(Some(code)),
            }
        }
    }
}

fn xmlsec1(xml: &[u8], cert: &Path) -> Result<(), String> {
    plumbing::xmlsec1::verify(
        &String::from_utf8_lossy(xml),
        cert,
        &[
            "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
            "urn:oasis:names:tc:SAML:2.0:protocol:Response",
        ],
        None,
    )
}

#[derive(Debug, PartialEq, Eq)]
enum Judgement {
    Agree,
    Explained(&'static str),
    Unexplained,
}

/// Why the two may disagree; the same list is in `fuzz/README.md`.
fn judge(ours: &Ours, xmlsec: &Result<(), String>, xml: &str) -> Judgement {
    let signatures = xml.matches("</ds:SignedInfo>").count() + xml.matches("</SignedInfo>").count();
    match (ours, xmlsec) {
        (Ours::Verified(_), Ok(())) | (Ours::SignatureRefused(_), Err(_)) => Judgement::Agree,
        (Ours::RefusedBefore(_), Err(_)) => Judgement::Agree,
        (Ours::RefusedBefore(code), Ok(())) if code.starts_with("input.") => Judgement::Explained(
            "we refuse the input before parsing (DOCTYPE, NUL, size); xmlsec1 parses it and verifies",
        ),
        (Ours::RefusedBefore(_), Ok(())) => Judgement::Explained(
            "we refuse the structure before verifying (a second assertion, a duplicate or misplaced ID, \
             a nested Response); xmlsec1 verifies the first signature, which is intact",
        ),
        (Ours::SignatureRefused(code), Ok(())) => match *code {
            "signature.reference_mismatch" | "signature.missing" => Judgement::Explained(
                "the signature is valid but not over the element we read (or not where we \
                 require one); xmlsec1 checks only that some signature verifies",
            ),
            "signature.forbidden_transform"
            | "signature.unsupported_algorithm"
            | "signature.weak_algorithm" => Judgement::Explained(
                "our algorithm/transform allow-list refuses what xmlsec1 runs (XPath, XSLT, \
                 SHA-1, HMAC…)",
            ),
            "signature.invalid" if signatures > 1 => Judgement::Explained(
                "xmlsec1 checks only the first ds:Signature in document order; we require every \
                 signature we rely on to verify",
            ),
            _ => Judgement::Unexplained,
        },
        (Ours::Verified(_), Err(_)) if signatures > 1 => Judgement::Explained(
            "xmlsec1 checks only the first ds:Signature (here the Response's, which we do not \
             rely on when the Assertion's verifies)",
        ),
        (Ours::Verified(_), Err(_)) => Judgement::Unexplained,
    }
}

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// Text edits of a signed response: each changes the document in one way an attacker or a broken
/// proxy would. `None` when the edit does not apply to this document.
fn structure_mutations(xml: &str) -> Vec<(&'static str, Option<String>)> {
    let once = |from: &str, to: &str| xml.contains(from).then(|| xml.replacen(from, to, 1));
    vec![
        (
            "name-id-changed",
            once("alice@example.com<", "alicf@example.com<"),
        ),
        (
            "name-id-comment",
            once("alice@example.com<", "alice@example.com<!---->.evil<"),
        ),
        (
            "name-id-cdata",
            once(">alice@example.com<", "><![CDATA[alice@example.com]]><"),
        ),
        (
            "name-id-char-ref",
            once(">alice@example.com<", ">&#x61;lice@example.com<"),
        ),
        (
            "digest-value-flipped",
            once("<ds:DigestValue>", "<ds:DigestValue>A"),
        ),
        (
            "signature-value-flipped",
            once("<ds:SignatureValue>", "<ds:SignatureValue>AAAA"),
        ),
        ("signature-removed", {
            let start = xml.find("<ds:Signature");
            let end = xml.find("</ds:Signature>");
            match (start, end) {
                (Some(s), Some(e)) => Some(format!("{}{}", &xml[..s], &xml[e + 15..])),
                _ => None,
            }
        }),
        (
            "signature-method-sha1",
            once("xmldsig-more#rsa-sha256", "xmldsig#rsa-sha1"),
        ),
        (
            "whitespace-in-assertion",
            once("<saml:Subject>", "<saml:Subject> "),
        ),
        (
            "unused-namespace-on-assertion",
            once("<saml:Assertion ", "<saml:Assertion xmlns:u=\"urn:x\" "),
        ),
        (
            "attribute-quotes-single",
            once("Version=\"2.0\"", "Version='2.0'"),
        ),
        (
            "destination-changed",
            once(
                "Destination=\"https://sp.example/saml/acs\"",
                "Destination=\"https://evil.example/acs\"",
            ),
        ),
        (
            "assertion-id-changed",
            once(
                "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_",
                "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_x",
            ),
        ),
        (
            "xml-id-duplicate",
            once(
                "<saml:Subject>",
                "<saml:Subject xml:id=\"_0000000000000000000000000000000000000002\">",
            ),
        ),
        (
            "group-added",
            once(
                "<saml:AttributeValue>",
                "<saml:AttributeValue>admins</saml:AttributeValue><saml:AttributeValue>",
            ),
        ),
    ]
}

/// `count` single-byte flips (XOR 0x20: letter case, or a space/NUL class change) at positions
/// spread over the document by a fixed stride.
fn byte_flips(xml: &[u8], count: usize) -> Vec<(String, Vec<u8>)> {
    (0..count)
        .map(|k| {
            let at = (k * 7919 + 101) % xml.len();
            let mut m = xml.to_vec();
            m[at] ^= 0x20;
            (format!("flip@{at}"), m)
        })
        .collect()
}

#[test]
fn our_signature_verdict_agrees_with_xmlsec1_on_mutated_responses() {
    let cert = Path::new(env!("CARGO_MANIFEST_DIR")).join("mock-idp/testdata/idp.crt");
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for file in corpus("verify_response_mutated") {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("encrypted") {
            cases.push((format!("seed/{name}"), std::fs::read(&file).unwrap()));
        }
    }
    for file in corpus("verify_response") {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("wrapping-") || name.starts_with("tampering-") {
            cases.push((format!("attack/{name}"), std::fs::read(&file).unwrap()));
        }
    }
    let seed_dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/verify_response_mutated");
    for seed in ["valid.xml", "sign-response.xml"] {
        let xml = std::fs::read_to_string(seed_dir.join(seed)).unwrap();
        for (name, mutated) in structure_mutations(&xml) {
            if let Some(mutated) = mutated {
                cases.push((format!("{seed}/{name}"), mutated.into_bytes()));
            }
        }
    }
    let valid = std::fs::read(seed_dir.join("valid.xml")).unwrap();
    for (name, mutated) in byte_flips(&valid, 24) {
        cases.push((format!("valid.xml/{name}"), mutated));
    }
    assert!(
        cases.len() <= 110,
        "{} xmlsec1 runs: keep the test bounded",
        cases.len()
    );

    let mut agree = 0;
    let mut explained = std::collections::BTreeMap::<&str, Vec<String>>::new();
    let mut unexplained = Vec::new();
    for (name, xml) in &cases {
        let ours = ours(xml);
        let theirs = xmlsec1(xml, &cert);
        let text = String::from_utf8_lossy(xml);
        match judge(&ours, &theirs, &text) {
            Judgement::Agree => agree += 1,
            Judgement::Explained(why) => explained
                .entry(why)
                .or_default()
                .push(format!("{name} ({ours:?})")),
            Judgement::Unexplained => unexplained.push(format!(
                "{name}: ours {ours:?}, xmlsec1 {}",
                match &theirs {
                    Ok(()) => "OK".to_owned(),
                    Err(e) => e.lines().last().unwrap_or("").to_owned(),
                }
            )),
        }
    }
    println!(
        "xmlsec1 differential: {} inputs, {agree} agree",
        cases.len()
    );
    for (why, names) in &explained {
        println!("  explained ({}): {why}", names.len());
        for n in names {
            println!("    {n}");
        }
    }
    for u in &unexplained {
        println!("  UNEXPLAINED: {u}");
    }
    assert!(
        unexplained.is_empty(),
        "unexplained disagreements with xmlsec1: {unexplained:#?}"
    );
    assert!(
        agree > cases.len() / 2,
        "most inputs should agree: {agree} of {}",
        cases.len()
    );
}
