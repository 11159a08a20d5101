//! The demo pairing that `samlconf serve` starts: the mock IdP's demo users and a reference SP
//! configured to trust that IdP and map its groups.
//!
//! | user | groups (name / Entra object ID) | role at the SP |
//! |---|---|---|
//! | alice@example.com | admins / 5f2c… | `admin` (mapped by name) |
//! | bob@example.com | — | `member` (default) |
//! | carol@example.com | engineering / 9d8e… | `editor` when groups are sent as GUIDs, else `member` |
//! | dave@example.com | contractors / 0a1b… | `member` (unmapped group) |
//! | erin@example.com | — | refused when the IdP sends `access=false` (shotgun style) |

use sp::config::SpConfig;

/// Entra object ID of carol's "engineering" group, mapped to `editor` in the demo SP.
pub const ENGINEERING_GROUP_ID: &str = "9d8e7f6a-5b4c-4d3e-8f2a-1b0c9d8e7f6a";

/// Where the two servers live.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// e.g. `http://127.0.0.1:9000`
    pub idp_base_url: String,
    /// e.g. `http://127.0.0.1:8000`
    pub sp_base_url: String,
}

impl Endpoints {
    pub fn idp_entity_id(&self) -> String {
        format!("{}/metadata", self.idp_base_url)
    }
}

/// The demo SP configuration, trusting the given IdP certificate. Written as the TOML a user
/// would write, so that it goes through the same parsing and validation.
pub fn sp_config(endpoints: &Endpoints, idp_cert_pem: &str, database: &str) -> SpConfig {
    let text = sp_config_toml(endpoints, idp_cert_pem, database);
    // The demo text is a constant shape with quoted values; failing to parse it is a bug here.
    SpConfig::from_toml(&text).unwrap_or_else(|e| panic!("demo SP configuration is invalid: {e}"))
}

/// The TOML of [`sp_config`].
pub fn sp_config_toml(endpoints: &Endpoints, idp_cert_pem: &str, database: &str) -> String {
    let quote = |s: &str| toml_string(s);
    format!(
        r#"[sp]
base_url = {sp_base}
database = {database}
allow_unsolicited = true

[idp]
entity_id = {idp_entity}
sso_url = {sso}
slo_url = {slo}
certificate_pem = {cert}

[[role_mapping]]
group = "admins"
role = "admin"

[[role_mapping]]
group = "{ENGINEERING_GROUP_ID}"
role = "editor"
"#,
        sp_base = quote(&endpoints.sp_base_url),
        database = quote(database),
        idp_entity = quote(&endpoints.idp_entity_id()),
        sso = quote(&format!("{}/sso", endpoints.idp_base_url)),
        slo = quote(&format!("{}/slo", endpoints.idp_base_url)),
        cert = quote(idp_cert_pem),
    )
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The mock IdP configuration that knows the SP of `sp_config`.
pub fn idp_config(
    endpoints: &Endpoints,
    sp: &SpConfig,
    deterministic: bool,
) -> mock_idp::server::IdpConfig {
    mock_idp::server::IdpConfig {
        entity_id: endpoints.idp_entity_id(),
        base_url: endpoints.idp_base_url.clone(),
        service_providers: vec![mock_idp::server::KnownSp {
            entity_id: sp.entity_id(),
            acs_urls: vec![sp.acs_url()],
            slo_url: Some(sp.sls_url()),
            // The SP's signing certificate (`sp::keys`): filled in by the harness, which holds it.
            signing_cert_pem: None,
            // The SP's encryption certificate: filled in by the harness, which holds it.
            encryption_cert_pem: None,
        }],
        users: mock_idp::users::demo_users(),
        default_profile: "valid".into(),
        deterministic,
        forbid_framing: false,
    }
}
