//! `samlconf report merge`: the JSON and JUnit reports of several shards (`run --shard K/N`)
//! become one, as if a single run had produced them. Shards of different runs (another version
//! or driver) or shards that overlap are refused rather than merged into something misleading.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use quick_junit::{Report, TestSuite};
use serde_json::{Map, Value, json};

/// Why reports cannot be merged; `file` names the input.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{file}: not a samlconf JSON report: {why}")]
    NotAJsonReport { file: String, why: String },
    #[error("{file}: not a JUnit report: {why}")]
    NotAJunitReport { file: String, why: String },
    #[error("{file}: made by another run ({key} is {theirs}, the first report's is {ours})")]
    OtherRun {
        file: String,
        key: &'static str,
        ours: String,
        theirs: String,
    },
    #[error("scenario {id} is in more than one report (the shards overlap)")]
    Overlap { id: String },
    #[error("nothing to merge")]
    Nothing,
}

/// What the totals call each verdict; verdicts it does not know are counted under their own name.
fn totals_key(verdict: &str) -> String {
    match verdict {
        "pass" => "passed".into(),
        "fail" => "failed".into(),
        "error" => "errors".into(),
        other => other.to_owned(),
    }
}

/// Merges JSON reports, given as (name, text): the scenarios of all, in natural order of their
/// IDs, and totals counted again from them.
pub fn merge_json(reports: &[(String, String)]) -> Result<String, MergeError> {
    let mut header: Option<Map<String, Value>> = None;
    let mut scenarios: Vec<Value> = Vec::new();
    for (source, text) in reports {
        let not_report = |why: String| MergeError::NotAJsonReport {
            file: source.clone(),
            why,
        };
        let mut report: Map<String, Value> = match serde_json::from_str(text) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(not_report("the top level is not an object".into())),
            Err(e) => return Err(not_report(e.to_string())),
        };
        if report.get("tool").and_then(Value::as_str) != Some("samlconf") {
            return Err(not_report("it has no `\"tool\": \"samlconf\"`".into()));
        }
        let Some(Value::Array(theirs)) = report.remove("scenarios") else {
            return Err(not_report("it has no `scenarios` list".into()));
        };
        match &header {
            None => header = Some(report),
            Some(first) => {
                for key in ["version", "driver"] {
                    let ours = first.get(key).cloned().unwrap_or(Value::Null);
                    let their = report.get(key).cloned().unwrap_or(Value::Null);
                    if ours != their {
                        return Err(MergeError::OtherRun {
                            file: source.clone(),
                            key,
                            ours: ours.to_string(),
                            theirs: their.to_string(),
                        });
                    }
                }
            }
        }
        scenarios.extend(theirs);
    }
    let mut header = header.ok_or(MergeError::Nothing)?;
    let id = |s: &Value| s.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
    scenarios.sort_by(|a, b| natord::compare(&id(a), &id(b)));
    if let Some(pair) = scenarios.windows(2).find(|w| id(&w[0]) == id(&w[1])) {
        return Err(MergeError::Overlap { id: id(&pair[0]) });
    }
    let mut totals: BTreeMap<String, usize> = ["passed", "failed", "errors"]
        .into_iter()
        .map(|k| (k.to_owned(), 0))
        .collect();
    for scenario in &scenarios {
        let verdict = scenario
            .get("verdict")
            .and_then(Value::as_str)
            .unwrap_or("");
        *totals.entry(totals_key(verdict)).or_default() += 1;
    }
    let mut totals = json!(totals);
    totals["scenarios"] = json!(scenarios.len());
    header.insert("totals".into(), totals);
    header.insert("shards".into(), json!(reports.len()));
    header.insert("scenarios".into(), Value::Array(scenarios));
    serde_json::to_string_pretty(&Value::Object(header)).map_err(|e| MergeError::NotAJsonReport {
        file: "merged report".into(),
        why: e.to_string(),
    })
}

/// Merges JUnit reports: suites of the same name (a scenario section) become one suite, with the
/// counts and times added up.
pub fn merge_junit(reports: &[(String, String)]) -> Result<String, MergeError> {
    if reports.is_empty() {
        return Err(MergeError::Nothing);
    }
    let mut suites: Vec<TestSuite> = Vec::new();
    let mut seen_cases: BTreeSet<String> = BTreeSet::new();
    let mut total_time = Duration::ZERO;
    for (source, text) in reports {
        let report =
            Report::deserialize_from_str(text).map_err(|e| MergeError::NotAJunitReport {
                file: source.clone(),
                why: e.to_string(),
            })?;
        total_time += report.time.unwrap_or_default();
        for suite in report.test_suites {
            let index = match suites.iter().position(|s| s.name == suite.name) {
                Some(index) => index,
                None => {
                    suites.push(TestSuite::new(suite.name.clone()));
                    suites.len() - 1
                }
            };
            let merged = &mut suites[index];
            merged.time = Some(merged.time.unwrap_or_default() + suite.time.unwrap_or_default());
            for case in suite.test_cases {
                let key = format!("{}\u{0}{}", suite.name.as_str(), case.name.as_str());
                if !seen_cases.insert(key) {
                    return Err(MergeError::Overlap {
                        id: case.name.as_str().to_owned(),
                    });
                }
                merged.add_test_case(case);
            }
        }
    }
    suites.sort_by(|a, b| natord::compare(&a.name, &b.name));
    let mut merged = Report::new("samlconf");
    merged.set_time(total_time);
    merged.add_test_suites(suites);
    merged.to_string().map_err(|e| MergeError::NotAJunitReport {
        file: "merged report".into(),
        why: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_report(driver: &str, scenarios: &[(&str, &str)]) -> String {
        let scenarios: Vec<Value> = scenarios
            .iter()
            .map(|(id, verdict)| json!({"id": id, "verdict": verdict, "steps": []}))
            .collect();
        json!({"tool": "samlconf", "version": "0.1.0", "driver": driver,
               "totals": {"scenarios": 99}, "scenarios": scenarios})
        .to_string()
    }

    fn named(texts: Vec<String>) -> Vec<(String, String)> {
        texts
            .into_iter()
            .enumerate()
            .map(|(i, t)| (format!("shard{i}"), t))
            .collect()
    }

    #[test]
    fn json_shards_merge_in_id_order_with_totals_counted_again() {
        let merged = merge_json(&named(vec![
            json_report("http", &[("1.10", "pass"), ("2.1", "fail")]),
            json_report("http", &[("1.2", "pass"), ("7.3", "error")]),
        ]))
        .unwrap();
        let merged: Value = serde_json::from_str(&merged).unwrap();
        let ids: Vec<&str> = merged["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["1.2", "1.10", "2.1", "7.3"]);
        assert_eq!(
            merged["totals"],
            json!({"scenarios": 4, "passed": 2, "failed": 1, "errors": 1})
        );
        assert_eq!(merged["shards"], 2);
        assert_eq!(merged["driver"], "http");
    }

    #[test]
    fn overlapping_or_foreign_json_shards_are_refused() {
        let overlap = merge_json(&named(vec![
            json_report("http", &[("1.1", "pass")]),
            json_report("http", &[("1.1", "pass")]),
        ]));
        assert!(matches!(overlap, Err(MergeError::Overlap { id }) if id == "1.1"));
        let other_driver = merge_json(&named(vec![
            json_report("http", &[("1.1", "pass")]),
            json_report("browser", &[("1.2", "pass")]),
        ]));
        assert!(matches!(
            other_driver,
            Err(MergeError::OtherRun { key: "driver", .. })
        ));
        let not_ours = merge_json(&named(vec![r#"{"scenarios": []}"#.into()]));
        assert!(matches!(not_ours, Err(MergeError::NotAJsonReport { .. })));
        assert!(matches!(merge_json(&[]), Err(MergeError::Nothing)));
    }

    fn junit_report(cases: &[(&str, &str, bool)]) -> String {
        use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus};
        let mut report = Report::new("samlconf");
        let mut suites: Vec<TestSuite> = Vec::new();
        for (suite, case, passed) in cases {
            let status = if *passed {
                TestCaseStatus::success()
            } else {
                TestCaseStatus::non_success(NonSuccessKind::Failure)
            };
            let mut test_case = TestCase::new(*case, status);
            test_case.set_time(Duration::from_millis(100));
            match suites.iter_mut().find(|s| s.name.as_str() == *suite) {
                Some(s) => {
                    s.add_test_case(test_case);
                }
                None => {
                    let mut s = TestSuite::new(*suite);
                    s.add_test_case(test_case);
                    suites.push(s);
                }
            }
        }
        report.add_test_suites(suites);
        report.set_time(Duration::from_millis(250));
        report.to_string().unwrap()
    }

    #[test]
    fn junit_shards_merge_suites_of_the_same_section() {
        let merged = merge_junit(&named(vec![
            junit_report(&[("1-sign-in", "1.1 a", true), ("2-time", "2.1 b", false)]),
            junit_report(&[("1-sign-in", "1.2 c", true)]),
        ]))
        .unwrap();
        let merged = Report::deserialize_from_str(&merged).unwrap();
        assert_eq!((merged.tests, merged.failures), (3, 1));
        assert_eq!(merged.time, Some(Duration::from_millis(500)));
        let sign_in = &merged.test_suites[0];
        assert_eq!((sign_in.name.as_str(), sign_in.tests), ("1-sign-in", 2));
        assert_eq!(merged.test_suites[1].failures, 1);
        let overlap = merge_junit(&named(vec![
            junit_report(&[("1-sign-in", "1.1 a", true)]),
            junit_report(&[("1-sign-in", "1.1 a", true)]),
        ]));
        assert!(matches!(overlap, Err(MergeError::Overlap { .. })));
        let broken = merge_junit(&named(vec!["<testsuites".into()]));
        assert!(matches!(broken, Err(MergeError::NotAJunitReport { .. })));
    }
}
