//! Every committed fuzz input — the seed corpora `fuzz/corpus/<target>/` and the minimised crashes
//! `fuzz/regressions/<target>/` — replayed through the fuzz targets' own bodies, without
//! libFuzzer: a regression in any target shows up in `cargo test`.
//!
//! The bodies are `fuzz/src/targets/`, compiled here as a module (`#[path]`), so the main
//! workspace needs neither libfuzzer-sys (and its C++ build) nor the fuzz workspace's sanitizer
//! flags; `fuzz/README.md` says why this rather than a shared crate.

use std::path::{Path, PathBuf};

#[path = "../fuzz/src/targets/mod.rs"]
#[allow(dead_code)] // the fuzz side uses all of it; here only `ALL` and the inputs' parsers
mod targets;

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Runs one target over its corpus and regressions; returns how many inputs ran. A panic names
/// the input.
fn replay(target: &str, body: targets::Body) -> usize {
    let mut count = 0;
    for kind in ["corpus", "regressions"] {
        for file in inputs(&fuzz_dir().join(kind).join(target)) {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| body(&data));
            assert!(
                outcome.is_ok(),
                "fuzz target {target} fails on {}",
                file.display()
            );
            count += 1;
        }
    }
    count
}

#[test]
fn every_corpus_and_regression_input_passes_its_target() {
    let mut total = 0;
    for (name, body) in targets::ALL {
        let n = replay(name, *body);
        assert!(
            n > 0,
            "fuzz/corpus/{name}/ is empty: run `samlconf fuzz-corpus --out fuzz/corpus`"
        );
        total += n;
    }
    eprintln!(
        "replayed {total} fuzz inputs through {} targets",
        targets::ALL.len()
    );
}

#[test]
fn every_target_has_a_fuzz_binary_and_every_corpus_a_target() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for (name, _) in targets::ALL {
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
        let bin = std::fs::read_to_string(fuzz_dir().join(format!("fuzz_targets/{name}.rs")))
            .unwrap_or_else(|e| panic!("fuzz_targets/{name}.rs: {e}"));
        assert!(
            bin.contains(&format!("::{name}(data)")),
            "fuzz_targets/{name}.rs calls another body"
        );
    }
    for kind in ["corpus", "regressions"] {
        let dirs = std::fs::read_dir(fuzz_dir().join(kind))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir());
        for dir in dirs {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            // The lifecycle target's inputs are replayed by its own test (tests/lifecycle_corpus.rs).
            if name == "lifecycle" {
                continue;
            }
            assert!(
                targets::ALL.iter().any(|(n, _)| *n == name),
                "fuzz/{kind}/{name} belongs to no target in fuzz/src/targets/mod.rs"
            );
        }
    }
}

#[test]
fn every_seed_of_the_mutation_target_is_accepted() {
    let policy = targets::response::mutated_policy();
    let dir = fuzz_dir().join("corpus/verify_response_mutated");
    for file in inputs(&dir) {
        let xml = std::fs::read(&file).unwrap();
        let verdict = sp::verify::verify_response(&xml, &policy, targets::NOW);
        assert!(
            verdict.is_ok(),
            "{} is refused: {verdict:?}",
            file.display()
        );
    }
}

fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    for target in samlconf::fuzz_corpus::TARGETS {
        for file in inputs(&dir.join(target)) {
            let data = std::fs::read(&file).unwrap();
            files.insert(file.strip_prefix(dir).unwrap().to_owned(), data);
        }
    }
    files
}

/// `samlconf fuzz-corpus` writes the same bytes on every run (encrypted seeds are kept).
#[test]
fn the_corpus_generator_is_deterministic() {
    let out = tempfile::tempdir().unwrap();
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let first = samlconf::fuzz_corpus::generate(out.path(), &scenarios).unwrap();
    let before = snapshot(out.path());
    let second = samlconf::fuzz_corpus::generate(out.path(), &scenarios).unwrap();
    assert_eq!(before, snapshot(out.path()));
    assert_eq!(first.files, second.files);
    assert!(second.kept > 0, "the encrypted seeds are kept on a re-run");
    for target in samlconf::fuzz_corpus::TARGETS {
        assert!(
            first.files.get(*target).copied().unwrap_or(0) > 0,
            "no seeds for {target}"
        );
    }
}

/// The logout seeds that a conformant SP accepts reach what they are there to fuzz: the
/// signature check passes, and the LogoutRequests end the store's session (or none, for another
/// user or session).
#[test]
fn the_valid_logout_seeds_reach_the_signature_check_and_the_store() {
    let seed = |target: &str, name: &str| {
        std::fs::read(fuzz_dir().join("corpus").join(target).join(name)).unwrap()
    };
    for name in ["request-rsa-sha256.bin", "request-no-relay.bin"] {
        let data = seed("redirect_signature", name);
        assert!(
            targets::redirect::redirect_signature_accepts(&data),
            "{name} is refused"
        );
    }
    // An RSA-SHA256 signature under another SigAlg (SHA-1 allowed or not), another key, none.
    for name in [
        "request-sigalg-sha384.bin",
        "request-sigalg-sha1-allowed.bin",
        "request-attacker-key.bin",
        "request-unsigned.bin",
        "request-tamper-message.bin",
    ] {
        let data = seed("redirect_signature", name);
        assert!(
            !targets::redirect::redirect_signature_accepts(&data),
            "{name} is accepted"
        );
    }
    // This thread's store keeps consumed IDs: each seed once, in this order.
    for (name, ended) in [
        ("redirect-signed.bin", Some(1)),
        ("post-signed.bin", Some(1)),
        ("redirect-other-session.bin", Some(0)),
        ("redirect-unsigned-refused.bin", None),
        ("redirect-attacker.bin", None),
        ("redirect-stale.bin", None),
    ] {
        let data = seed("logout_request", name);
        assert_eq!(targets::logout::logout_request_ends(&data), ended, "{name}");
    }
}
