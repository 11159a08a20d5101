//! The XSW table of `sp/docs/known-attacks.md` (*Signature wrapping, shape by shape*) cannot rot:
//! every XSW1–XSW8 row has a cell for each signing mode, each cell names scenarios or says why the
//! shape cannot apply, and every scenario named exists and is an attack that expects a refusal.

use std::path::Path;

const MODES: [&str; 3] = ["Response signed", "Assertion signed", "Both signed"];

fn table_rows() -> Vec<Vec<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("sp/docs/known-attacks.md")).unwrap();
    let section = doc
        .split_once("## Signature wrapping, shape by shape")
        .expect("the section exists")
        .1;
    section
        .lines()
        .skip_while(|l| !l.starts_with("| Shape |"))
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect()
        })
        .collect()
}

/// The backticked scenario ids of a cell (`7.8`).
fn scenario_ids(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .filter(|id| id.starts_with("7.") && id[2..].chars().all(|c| c.is_ascii_digit()))
        .map(str::to_owned)
        .collect()
}

fn scenario_file(id: &str) -> toml::Table {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/7-attacks");
    let prefix = format!("{id}-");
    let mut found: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".toml"))
        })
        .collect();
    assert_eq!(found.len(), 1, "scenario {id}: files {found:?}");
    let path = found.remove(0);
    toml::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[track_caller]
fn assert_refusing_attack(id: &str) {
    let scenario = scenario_file(id);
    assert_eq!(scenario["id"].as_str(), Some(id));
    let tags = scenario["tags"].as_array().expect("tags");
    assert!(
        tags.iter().any(|t| t.as_str() == Some("attack")),
        "{id} is not tagged attack"
    );
    let steps = scenario["step"].as_array().expect("steps");
    let outcomes: Vec<_> = steps
        .iter()
        .filter_map(|s| s.get("expect")?.get("outcome")?.as_str())
        .collect();
    assert!(
        outcomes.first() == Some(&"refused"),
        "{id}: the first step must expect a refusal, got {outcomes:?}"
    );
    assert!(
        steps
            .first()
            .and_then(|s| s.get("expect")?.get("code")?.as_str())
            .is_some_and(|c| !c.is_empty()),
        "{id}: the refusal names its code"
    );
}

#[test]
fn every_xsw_shape_has_a_scenario_or_a_reason_for_each_signing_mode() {
    let rows = table_rows();
    let header = &rows[0];
    assert_eq!(
        &header[2..5],
        MODES.map(str::to_owned).as_slice(),
        "{header:?}"
    );
    let shapes: Vec<&str> = rows[2..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        shapes,
        (1..=8).map(|n| format!("XSW{n}")).collect::<Vec<_>>(),
        "one row per shape, in order"
    );
    let mut named = 0;
    for row in &rows[2..] {
        assert_eq!(row.len(), 5, "{row:?}");
        for (mode, cell) in MODES.iter().zip(&row[2..]) {
            let ids = scenario_ids(cell);
            if ids.is_empty() {
                assert!(
                    cell.starts_with("n/a: ") && cell.len() > 20,
                    "{} / {mode}: neither a scenario nor a reason: {cell:?}",
                    row[0]
                );
            }
            for id in ids {
                assert_refusing_attack(&id);
                named += 1;
            }
        }
    }
    assert!(named >= 17, "only {named} scenarios named");
}
