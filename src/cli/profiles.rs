//! `samlconf profiles`: the mock IdP's profiles (named presets of knobs) and every knob with its
//! default — what `mint --profile/--knob`, scenario files and `POST /_control/next` accept.

use std::process::ExitCode;

use mock_idp::knobs::Knobs;

#[derive(Debug, clap::Args)]
pub struct ProfilesArgs {
    /// Print JSON (`{profiles: [{name, fault, knobs}], knob_defaults: {…}}`) instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ProfilesArgs) -> ExitCode {
    let defaults = serde_json::to_value(Knobs::default()).unwrap_or_default();
    let profiles: Vec<serde_json::Value> = mock_idp::profiles::ALL
        .iter()
        .map(|(name, fault)| {
            serde_json::json!({
                "name": name,
                "fault": fault,
                "knobs": changed_knobs(&defaults, mock_idp::profiles::get(name)),
            })
        })
        .collect();
    if args.json {
        let out = serde_json::json!({"profiles": profiles, "knob_defaults": defaults});
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    println!("Profiles (named presets of knobs):\n");
    for profile in &profiles {
        println!(
            "  {:<30} {}",
            profile["name"].as_str().unwrap_or_default(),
            profile["fault"].as_str().unwrap_or_default()
        );
        if let Some(knobs) = profile["knobs"].as_object().filter(|k| !k.is_empty()) {
            let set: Vec<String> = knobs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!("  {:<30}   knobs: {}", "", set.join(" "));
        }
    }
    println!(
        "\nKnobs and their defaults (a conformant IdP); documented in mock-idp/src/knobs.rs:\n"
    );
    if let Some(map) = defaults.as_object() {
        for (name, value) in map {
            println!("  {name:<36} {value}");
        }
    }
    ExitCode::SUCCESS
}

/// The knobs a profile sets away from the defaults.
fn changed_knobs(defaults: &serde_json::Value, profile: Option<Knobs>) -> serde_json::Value {
    let Some(knobs) = profile.and_then(|k| serde_json::to_value(k).ok()) else {
        return serde_json::json!({});
    };
    let (Some(defaults), Some(knobs)) = (defaults.as_object(), knobs.as_object()) else {
        return serde_json::json!({});
    };
    let changed: serde_json::Map<String, serde_json::Value> = knobs
        .iter()
        .filter(|(name, value)| defaults.get(*name) != Some(value))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    serde_json::Value::Object(changed)
}
