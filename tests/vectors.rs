//! The test-vector export (`samlconf vectors`): written, read back as JSON, and every vector
//! checked with our verifier as `samlconf verify` runs it.

use std::path::Path;

use samlconf::vectors::{self, VectorFile, VectorResult};

fn export() -> VectorFile {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let scenarios = samlconf::scenario::load_dir(&dir).expect("the catalogue loads");
    vectors::build(&scenarios).expect("the export builds")
}

#[test]
fn every_exported_vector_gets_its_verdict_from_our_verifier() {
    let out = tempfile::tempdir().unwrap();
    let path = vectors::write(&export(), out.path()).unwrap();
    let file: VectorFile = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let tests: usize = file.test_groups.iter().map(|g| g.tests.len()).sum();
    assert_eq!(file.number_of_tests, tests);
    assert!(tests >= 40, "only {tests} vectors");
    let failures: Vec<String> = file
        .test_groups
        .iter()
        .flat_map(|g| g.tests.iter().map(move |t| (g, t)))
        .filter_map(|(g, t)| vectors::check_vector(g, t).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_export_is_deterministic_and_each_result_is_consistent() {
    let first = export();
    assert_eq!(first, export(), "two exports differ");
    let mut results = std::collections::BTreeSet::new();
    for test in first.test_groups.iter().flat_map(|g| &g.tests) {
        results.insert(format!("{:?}", test.result));
        match test.result {
            VectorResult::Valid => assert!(test.reason.is_none(), "{}", test.tc_id),
            VectorResult::Invalid => assert!(test.reason.is_some(), "{}", test.tc_id),
            VectorResult::Acceptable => assert!(test.flags.iter().any(|f| f == "Sha1")),
        }
        for flag in &test.flags {
            let note = &first.notes[flag];
            assert!(
                !note.description.is_empty(),
                "flag {flag} has no description"
            );
        }
    }
    assert_eq!(
        results.len(),
        3,
        "valid, invalid and acceptable all occur: {results:?}"
    );
}
