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

/// The TOML of [`sp_config`], serialized by the `toml` crate so that every value is quoted
/// as TOML wants, whatever it holds (a PEM's newlines, a path's backslashes).
pub fn sp_config_toml(endpoints: &Endpoints, idp_cert_pem: &str, database: &str) -> String {
    // Written as JSON only because `json!` reads like the file it becomes.
    let config = serde_json::json!({
        "sp": {
            "base_url": endpoints.sp_base_url,
            "database": database,
            "allow_unsolicited": true,
        },
        "idp": {
            "entity_id": endpoints.idp_entity_id(),
            "sso_url": format!("{}/sso", endpoints.idp_base_url),
            "slo_url": format!("{}/slo", endpoints.idp_base_url),
            "certificate_pem": idp_cert_pem,
        },
        "role_mapping": [
            { "group": "admins", "role": "admin" },
            { "group": ENGINEERING_GROUP_ID, "role": "editor" },
        ],
    });
    // Strings, booleans, tables and arrays of tables always serialize; failing is a bug here.
    toml::to_string(&config).unwrap_or_else(|e| panic!("demo SP configuration: {e}"))
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
        want_authn_requests_signed: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_quoting() {
        let endpoints = Endpoints {
            idp_base_url: "http://127.0.0.1:9000".into(),
            sp_base_url: "http://127.0.0.1:8000".into(),
        };
        let pem = "-----BEGIN CERTIFICATE-----\nAB\"C\\\n-----END CERTIFICATE-----\n";
        let database = r#"C:\state\"sp".sqlite"#;
        let table: toml::Table =
            toml::from_str(&sp_config_toml(&endpoints, pem, database)).unwrap();
        assert_eq!(table["idp"]["certificate_pem"].as_str(), Some(pem));
        assert_eq!(table["sp"]["database"].as_str(), Some(database));
        assert_eq!(
            table["idp"]["sso_url"].as_str(),
            Some("http://127.0.0.1:9000/sso")
        );
        assert_eq!(table["role_mapping"][1]["role"].as_str(), Some("editor"));
    }
}
