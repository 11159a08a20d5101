//! `samlconf profiles`: what `mint`, scenario files and the control API accept.

use std::process::Command;

#[test]
fn profiles_lists_every_profile_with_the_knobs_it_changes() {
    let output = Command::new(env!("CARGO_BIN_EXE_samlconf"))
        .args(["profiles", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let listing: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let profiles = listing["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), mock_idp::profiles::ALL.len());
    let by_name = |name: &str| {
        profiles
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} listed"))
    };
    assert_eq!(
        by_name("valid")["knobs"],
        serde_json::json!({}),
        "valid is the conformant default"
    );
    assert_eq!(by_name("sha1")["knobs"]["signature_algorithm"], "rsa-sha1");
    assert_eq!(by_name("skewed-clock")["knobs"]["clock_offset_secs"], 600);
    assert_eq!(listing["knob_defaults"]["sign"], "assertion");

    let text = Command::new(env!("CARGO_BIN_EXE_samlconf"))
        .arg("profiles")
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("entra-guid-groups") && text.contains("clock_offset_secs"),
        "{text}"
    );
}
