//! The scenario-file parser (`samlconf::scenario::load::parse`: TOML, then every check of the
//! format in `scenarios/README.md`).

use std::path::Path;

/// Arbitrary text as a scenario file: a scenario or errors with a position inside the text,
/// never a panic.
pub fn scenario_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match samlconf::scenario::parse(Path::new("fuzz.toml"), text) {
        Ok(scenario) => {
            // What the runner and reports read first: must not panic either.
            let _ = scenario.matches_filter("attack");
            let _ = scenario.sp_overrides_root();
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "parse failed without an error");
            for error in errors {
                let lines = text.lines().count().max(1);
                if let Some(line) = error.line {
                    assert!(
                        line >= 1 && line <= lines + 1,
                        "line {line} of {lines}: {error}"
                    );
                }
                let _ = error.to_string();
            }
        }
    }
}
