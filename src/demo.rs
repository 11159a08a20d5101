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

use sp::config::{AttributeCandidates, IdpSettings, RoleMapping, SpConfig, SpSettings};

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

/// The demo SP configuration, trusting the given IdP certificate.
pub fn sp_config(endpoints: &Endpoints, idp_cert_pem: &str, database: &str) -> SpConfig {
    SpConfig {
        sp: SpSettings {
            entity_id: None,
            base_url: endpoints.sp_base_url.clone(),
            database: database.to_owned(),
            clock_skew_secs: 120,
            max_session_secs: 8 * 3600,
            request_ttl_secs: 600,
            allow_unsolicited: true,
            jit_provisioning: true,
            default_role: "member".into(),
            admin_roles: vec!["admin".into()],
            allowed_email_domains: vec![],
            signature_algorithms: ["rsa-sha256", "rsa-sha384", "rsa-sha512"]
                .map(String::from)
                .to_vec(),
            digest_algorithms: ["sha256", "sha384", "sha512"].map(String::from).to_vec(),
            accept_response_signature: false,
            max_response_bytes: 512 * 1024,
        },
        idp: IdpSettings {
            entity_id: endpoints.idp_entity_id(),
            sso_url: format!("{}/sso", endpoints.idp_base_url),
            slo_url: Some(format!("{}/slo", endpoints.idp_base_url)),
            certificate_file: None,
            certificate_pem: Some(idp_cert_pem.to_owned()),
            metadata_file: None,
        },
        attributes: AttributeCandidates::default(),
        role_mappings: vec![
            RoleMapping {
                group: "admins".into(),
                role: "admin".into(),
            },
            RoleMapping {
                group: ENGINEERING_GROUP_ID.into(),
                role: "editor".into(),
            },
        ],
    }
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
        }],
        users: mock_idp::users::demo_users(),
        default_profile: "valid".into(),
        deterministic,
    }
}
