//! The reference SP's configuration: one TOML file, documented option by option in
//! `sp/docs/configuration.md`, with a complete example in `sp/config.example.toml`.
//!
//! Every option has a default that is safe: SHA-1 refused, assertion signatures required,
//! unsolicited responses refused, the default role never an admin role.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The whole configuration file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpConfig {
    pub sp: SpSettings,
    /// The IdP users sign in with by default.
    pub idp: IdpSettings,
    /// Further IdPs on the same SP (OnTrackio: each enabled IdP gets its own sign-in button), each
    /// with its own entity ID and pinned certificate.
    #[serde(default, rename = "additional_idp")]
    pub additional_idps: Vec<IdpSettings>,
    #[serde(default)]
    pub attributes: AttributeCandidates,
    /// Exact, case-sensitive group value → role. Entra object-ID GUIDs are group values too.
    /// These apply to the primary `[idp]` only (as before several IdPs); each IdP's own are in
    /// [`IdpSettings::role_mappings`].
    #[serde(default, rename = "role_mapping")]
    pub role_mappings: Vec<RoleMapping>,
    /// Bounds on stored state: sweeps, table caps and field lengths.
    #[serde(default)]
    pub limits: Limits,
}

/// How much state the SP keeps, so that no input can grow it without bound (issue 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Seconds between two sweeps of expired rows (a background task); 0 disables the task.
    pub sweep_interval_secs: u32,
    /// Longest RelayState kept, in bytes. SAML bindings §3.4.3 / §3.5.3: it MUST NOT exceed 80
    /// bytes. A longer one is not stored and the sign-in lands on `/`.
    pub max_relay_state_bytes: usize,
    /// Outstanding AuthnRequests (and, separately, outstanding LogoutRequests) kept at once; a
    /// new one beyond this evicts the oldest.
    pub max_outstanding_requests: u32,
    /// Pending account links kept at once; a new one beyond this evicts the oldest.
    pub max_pending_links: u32,
    /// Longest NameID, SessionIndex, e-mail, name, login or group value accepted from a verified
    /// assertion, in bytes; longer is refused with `identity.too_large`.
    pub max_identity_field_bytes: usize,
    /// Most group values accepted from a verified assertion; more is `identity.too_large`.
    pub max_groups: usize,
    /// Longest audit `detail`, in bytes; longer is truncated with a marker.
    pub max_audit_detail_bytes: usize,
    /// Audit rows of refused (unverified) messages kept; beyond this the oldest of them go.
    pub max_unverified_audit_rows: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            sweep_interval_secs: 60,
            max_relay_state_bytes: 80,
            max_outstanding_requests: 10_000,
            max_pending_links: 10_000,
            max_identity_field_bytes: 1024,
            max_groups: 500,
            max_audit_detail_bytes: 2048,
            max_unverified_audit_rows: 100_000,
        }
    }
}

/// This service provider and its local policies.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpSettings {
    /// The product whose documented defaults the other options start from; an option set in the
    /// file still wins ([`Preset`]).
    #[serde(default)]
    pub preset: Preset,
    /// The SP entity ID: the Issuer of our AuthnRequests and the Audience we require.
    /// Defaults to `{base_url}/saml/metadata`, as in the OnTrackio guide.
    #[serde(default)]
    pub entity_id: Option<String>,
    /// Public base URL, without a trailing slash; the ACS is `{base_url}/saml/acs`.
    pub base_url: String,
    /// SQLite database file; `:memory:` keeps everything in memory (tests).
    #[serde(default = "default_database")]
    pub database: String,
    /// Tolerated clock difference with the IdP, in seconds.
    #[serde(default = "default_clock_skew_secs")]
    pub clock_skew_secs: u32,
    /// Upper bound of a session, whatever the IdP says, in seconds.
    #[serde(default = "default_max_session_secs")]
    pub max_session_secs: u32,
    /// How long an SP-initiated AuthnRequest stays answerable, in seconds.
    #[serde(default = "default_request_ttl_secs")]
    pub request_ttl_secs: u32,
    /// Accept IdP-initiated (unsolicited) responses, without InResponseTo.
    #[serde(default)]
    pub allow_unsolicited: bool,
    /// Bind each AuthnRequest to the browser that started it (a random HttpOnly cookie set by
    /// `/login`, `/renew` and invitations); the ACS refuses a response to a request another
    /// browser started (`request.browser_mismatch`): login CSRF.
    #[serde(default = "default_true")]
    pub bind_requests_to_browser: bool,
    /// The `SameSite` attribute of the request-binding cookie. `none` (the default) is the only
    /// one a browser sends on the IdP's cross-site POST to the ACS; `lax` and `strict` reproduce
    /// SPs that keep sign-in state in such a cookie and lose it there
    /// (`request.browser_mismatch`; Decisions' `DefaultSameSiteCookieMode`).
    #[serde(default)]
    pub request_cookie_samesite: RequestCookieSameSite,
    /// Create a user at the first sign-in of an unknown identity.
    #[serde(default = "default_true")]
    pub jit_provisioning: bool,
    /// Role of users whose groups map to nothing. Must not be one of `admin_roles`.
    #[serde(default = "default_role")]
    pub default_role: String,
    /// Roles that grant administration; they can only come from an explicit group mapping.
    #[serde(default = "default_admin_roles")]
    pub admin_roles: Vec<String>,
    /// If not empty, only e-mail addresses in these domains may sign in.
    #[serde(default)]
    pub allowed_email_domains: Vec<String>,
    /// Signature algorithms accepted, by short name: rsa-sha256, rsa-sha384, rsa-sha512, rsa-sha1.
    #[serde(default = "default_signature_algorithms")]
    pub signature_algorithms: Vec<String>,
    /// Digest algorithms accepted, by short name: sha256, sha384, sha512, sha1.
    #[serde(default = "default_digest_algorithms")]
    pub digest_algorithms: Vec<String>,
    /// A valid Response signature covering the assertion is enough (the assertion itself unsigned).
    #[serde(default)]
    pub accept_response_signature: bool,
    /// Refuse a response whose outer Response element is not signed, even when its assertion is
    /// (`signature.response_missing`; OnTrackio's "Require signed Response wrapper").
    #[serde(default)]
    pub require_signed_response: bool,
    /// Refuse assertions that are not encrypted to the SP (`encryption.required`).
    #[serde(default)]
    pub require_encrypted_assertions: bool,
    /// Accept RSA PKCS#1 v1.5 key transport for encrypted assertions (padding-oracle prone),
    /// besides RSA-OAEP.
    #[serde(default)]
    pub allow_rsa15: bool,
    /// Accept AES-CBC data encryption besides AES-GCM (malleable: "One Bad Apple").
    #[serde(default)]
    pub allow_cbc: bool,
    /// Smallest RSA modulus, in bits, of a pinned IdP key (`signature.weak_key`).
    #[serde(default = "default_min_rsa_bits")]
    pub min_rsa_bits: u32,
    /// A pinned IdP certificate outside its validity: `warn` (audited) or `refuse`
    /// (`signature.certificate_expired`).
    #[serde(default)]
    pub idp_cert_expiry: crate::verify::CertificateExpiry,
    /// Largest decoded SAMLResponse accepted, in bytes.
    #[serde(default = "default_max_response_bytes")]
    pub max_response_bytes: usize,
    /// Merge the values of Attributes that repeat a Name (in document order) instead of refusing
    /// the assertion with `attribute.duplicate`.
    #[serde(default)]
    pub merge_duplicate_attributes: bool,
    /// Refuse an IdP-initiated LogoutRequest that is not signed (`logout.unsigned`).
    #[serde(default = "default_true")]
    pub require_signed_logout_requests: bool,
    /// SSO for the site; off, everyone signs in with their password at `/login` (the password
    /// form, open to every account with a password) and the ACS refuses every response
    /// (`sso.disabled`) (Flow Production Tracking: an administrator may turn SSO off).
    #[serde(default = "default_true")]
    pub sso_enabled: bool,
    /// Sign the LogoutRequests the SP sends (HTTP-Redirect `SigAlg` + `Signature`).
    #[serde(default = "default_true")]
    pub sign_logout_requests: bool,
    /// Sign the LogoutResponses the SP sends (HTTP-Redirect `SigAlg` + `Signature`).
    #[serde(default = "default_true")]
    pub sign_logout_responses: bool,
    /// Sign the AuthnRequests the SP sends (HTTP-Redirect `SigAlg` + `Signature`, RSA-SHA256,
    /// with `signing_key_file`); the SP metadata's `AuthnRequestsSigned` follows it.
    #[serde(default)]
    pub sign_authn_requests: bool,
    /// The SP's own signing key (PEM), for the logout messages it sends. With
    /// `signing_certificate_file`; both unset: `samlconf serve` keeps a generated pair in its state
    /// directory.
    #[serde(default)]
    pub signing_key_file: Option<PathBuf>,
    /// The certificate (PEM) of `signing_key_file`, published in the SP metadata.
    #[serde(default)]
    pub signing_certificate_file: Option<PathBuf>,
    /// What happens at the first SSO sign-in of an identity that is not linked yet.
    #[serde(default)]
    pub account_linking: AccountLinking,
    /// Wrong passwords allowed on the linking page before the link is locked (and audited).
    #[serde(default = "default_max_link_attempts")]
    pub max_link_attempts: u32,
    /// Failed password attempts per account (recovery login and linking page together) within
    /// `password_failure_window_secs` before the account's password is locked.
    #[serde(default = "default_password_max_failures")]
    pub password_max_failures: u32,
    /// The same limit per client address (all usernames together).
    #[serde(default = "default_password_max_failures_per_address")]
    pub password_max_failures_per_address: u32,
    /// How long failed password attempts count, in seconds.
    #[serde(default = "default_password_failure_window_secs")]
    pub password_failure_window_secs: u32,
    /// How long a locked account or address is refused without evaluating the password, in
    /// seconds.
    #[serde(default = "default_password_lockout_secs")]
    pub password_lockout_secs: u32,
    /// Profile fields the IdP does not overwrite at sign-in (e.g. `email` for external
    /// contributors, Flow Production Tracking): any of `email`, `first_name`, `last_name`, `login`.
    #[serde(default)]
    pub ignore_fields_on_update: Vec<String>,
    /// How the IdP's groups change a user's roles at each sign-in.
    #[serde(default)]
    pub role_sync: RoleSync,
    /// Re-authenticate (passive AuthnRequest) this often while signed in, in seconds; 0 = never.
    #[serde(default = "default_renewal_interval_secs")]
    pub renewal_interval_secs: u32,
    /// Who may use the recovery password login (`/login?sso=false`).
    #[serde(default)]
    pub recovery_login: RecoveryLogin,
    /// How long a password-setup link (issued by an admin for a user without a password, e.g.
    /// one created under SSO) stays usable, in seconds.
    #[serde(default = "default_password_setup_ttl_secs")]
    pub password_setup_ttl_secs: u32,
    /// What a refused sign-in's page (and JSON) tells the browser.
    #[serde(default)]
    pub failure_page_detail: FailurePageDetail,
    /// Whether `max_session_secs` caps the session end the IdP states.
    #[serde(default)]
    pub session_length: SessionLength,
    /// Refuse a sign-in whose assertion carries no `access` attribute (`access.denied`), as
    /// well as one whose `access` is not `true` (Shotgun lists it among the required ones).
    #[serde(default)]
    pub require_access_attribute: bool,
    /// Roles a group value may name directly, besides the explicit `role_mapping`s (Shotgun: the
    /// groups attribute names a permission group). Empty: explicit mappings only (OnTrackio).
    #[serde(default)]
    pub permission_groups: Vec<String>,
    /// Where an SSO sign-in without a deep link (no RelayState, or `/`) lands, by role: the first
    /// entry whose role the signed-in user has (OnTrackio: a mapped group on the admin dashboard,
    /// the default role on the personal one). None matching, or empty: `/`.
    #[serde(default, rename = "landing_page")]
    pub landing_pages: Vec<LandingPage>,
}

/// One role → landing path rule ([`SpSettings::landing_pages`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandingPage {
    pub role: String,
    /// A local path (and query), e.g. `/dashboard/admin`.
    pub path: String,
}

impl SpSettings {
    /// The landing path for a sign-in with these roles that asked for none.
    pub fn landing_for(&self, roles: &[String]) -> Option<&str> {
        self.landing_pages
            .iter()
            .find(|page| roles.contains(&page.role))
            .map(|page| page.path.as_str())
    }
}

/// A product whose documented behaviour the SP imitates: the defaults of the options that
/// product documents (`sp/docs/configuration.md`, *Presets*). Applied to the defaults before the
/// file's own keys are read, so an explicit option always wins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// The SP's own safe defaults.
    #[default]
    Generic,
    /// Flow Production Tracking's (local-install) SSO guides: the linking prompt, the admins'
    /// bypass login, the IdP's session length, and the Shotgun attribute semantics.
    FlowProductionTracking,
    /// The older Shotgun SAML configuration pages of the same product: users created at sign-in,
    /// `access` required, groups naming permission groups, absent groups changing nothing.
    Shotgun,
    /// Decisions' SSO overview: SP- and IdP-initiated sign-in, a password account's e-mail is not
    /// an SSO account's, any password account may use the bypass URL.
    Decisions,
    /// OnTrackio's SAML admin guide: JIT off, explicit group mappings only, a generic failure page.
    Ontrackio,
}

impl Preset {
    pub const ALL: [Preset; 5] = [
        Preset::Generic,
        Preset::FlowProductionTracking,
        Preset::Shotgun,
        Preset::Decisions,
        Preset::Ontrackio,
    ];

    /// Its name in `[sp] preset` and `--preset`.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Generic => "generic",
            Preset::FlowProductionTracking => "flow-production-tracking",
            Preset::Shotgun => "shotgun",
            Preset::Decisions => "decisions",
            Preset::Ontrackio => "ontrackio",
        }
    }

    /// The preset named `name`, or an error listing the names.
    pub fn from_name(name: &str) -> Result<Preset, ConfigError> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
                ConfigError::Invalid(format!(
                    "sp.preset: unknown preset {name:?} (expected one of {})",
                    names.join(", ")
                ))
            })
    }

    /// The `[sp]` options this preset sets, as TOML (each documented, with its source, in the
    /// configuration docs' presets table).
    fn sp_defaults(self) -> &'static str {
        match self {
            Preset::Generic => "",
            Preset::Shotgun => {
                r#"
                session_length = "idp"
                require_access_attribute = true
                permission_groups = ["admin", "member"]
                role_sync = "keep_when_absent"
                "#
            }
            Preset::FlowProductionTracking => {
                r#"
                account_linking = "prompt"
                recovery_login = "admins"
                session_length = "idp"
                require_access_attribute = true
                permission_groups = ["admin", "member"]
                role_sync = "keep_when_absent"
                "#
            }
            Preset::Decisions => {
                r#"
                allow_unsolicited = true
                account_linking = "refuse"
                recovery_login = "password_accounts"
                "#
            }
            Preset::Ontrackio => {
                r#"
                jit_provisioning = false
                failure_page_detail = "generic"
                "#
            }
        }
    }

    /// The whole file with the preset under it: the preset's `[sp]` options, then every key of
    /// `file` over them (tables key by key; a key the file sets replaces the preset's).
    fn layered(self, file: toml::Table) -> Result<toml::Table, ConfigError> {
        let defaults: toml::Table = toml::from_str(self.sp_defaults()).map_err(|e| {
            ConfigError::Invalid(format!("preset {:?} is broken: {e}", self.name()))
        })?;
        let mut layered = toml::Table::new();
        layered.insert("sp".into(), toml::Value::Table(defaults));
        merge_tables(&mut layered, file);
        Ok(layered)
    }
}

/// Deep-merges `over` into `base`: tables key by key, any other value replaced.
fn merge_tables(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base)), toml::Value::Table(over)) => merge_tables(base, over),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Who may sign in with a password on the recovery login while SSO is on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryLogin {
    /// Accounts with an admin role only (Flow Production Tracking: to fix configuration).
    #[default]
    Admins,
    /// Any account with a password (Decisions: the `AutoSSOSignin=false` bypass URL).
    PasswordAccounts,
}

/// The `SameSite` attribute of the request-binding cookie (see
/// [`SpSettings::request_cookie_samesite`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestCookieSameSite {
    /// `SameSite=None; Secure`: rides the IdP's cross-site POST.
    #[default]
    None,
    /// `SameSite=Lax`: lost on the cross-site POST (the broken product).
    Lax,
    /// `SameSite=Strict`: lost on the cross-site POST, and on cross-site links too.
    Strict,
}

/// What the page of a refused sign-in says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailurePageDetail {
    /// The reason code and its summary (the detail stays in the audit log).
    #[default]
    Code,
    /// One generic message for every reason; the reason only in the audit log (OnTrackio).
    Generic,
}

/// Who decides how long a session lasts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionLength {
    /// The IdP's SessionNotOnOrAfter (else Conditions NotOnOrAfter), capped by `max_session_secs`.
    #[default]
    Capped,
    /// The IdP's alone (Flow Production Tracking): `max_session_secs` applies only when the IdP
    /// states no end.
    Idp,
}

/// The first SSO sign-in of an identity that is not linked to a local user yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountLinking {
    /// Link to the local user with the same e-mail without asking, else provision (OnTrackio).
    #[default]
    Email,
    /// Ask (Flow Production Tracking): a matching local account's password links it; with no
    /// match, any account's username and password; "skip" creates a new user.
    Prompt,
    /// As `Email`, except that a local account with a password and the same e-mail refuses the
    /// sign-in (`account.sso_not_allowed`): a password account and an SSO account may not share
    /// an e-mail (Decisions: "not configured to use SAML").
    Refuse,
}

/// How groups become roles at every sign-in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleSync {
    /// The mapped groups replace the roles each time; no mapped group gives the default role
    /// (OnTrackio: a manual role is overwritten at the next sign-in).
    #[default]
    Replace,
    /// An absent or empty groups attribute leaves the roles unchanged; present groups map as
    /// usual, an unknown name giving the default role (Shotgun).
    KeepWhenAbsent,
}

/// The identity provider this SP trusts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpSettings {
    /// The IdP entity ID; the Issuer every response and assertion must carry.
    pub entity_id: String,
    /// The sign-in button's text when several IdPs are configured ("Continue with …").
    #[serde(default)]
    pub label: Option<String>,
    /// SingleSignOnService (HTTP-Redirect) URL.
    pub sso_url: String,
    /// SingleLogoutService URL; empty means local logout only.
    #[serde(default)]
    pub slo_url: Option<String>,
    /// The IdP signing certificate: a PEM file path.
    #[serde(default)]
    pub certificate_file: Option<PathBuf>,
    /// The IdP signing certificate as inline PEM text.
    #[serde(default)]
    pub certificate_pem: Option<String>,
    /// An IdP metadata file to take the signing certificate(s) from.
    #[serde(default)]
    pub metadata_file: Option<PathBuf>,
    /// E-mail domains this IdP is trusted to assert: only an e-mail in them links its identity
    /// to an existing user without asking. Unset: any domain for the primary `[idp]`, none for
    /// an `[[additional_idp]]`.
    #[serde(default)]
    pub allowed_domains: Option<Vec<String>>,
    /// Role of its users whose groups map to nothing; unset: `sp.default_role`. Never an admin
    /// role.
    #[serde(default)]
    pub default_role: Option<String>,
    /// Its group → role rules (`[[idp.role_mapping]]`, `[[additional_idp.role_mapping]]`).
    #[serde(default, rename = "role_mapping")]
    pub role_mappings: Vec<RoleMapping>,
    /// Live for sign-in (OnTrackio's "Enable this IdP for user sign-in"). `false`: staged — no
    /// sign-in button, its responses refused (`idp.not_live`), except those answering a test
    /// sign-in (`/login?idp=…&test=1`), which report what the IdP sent and sign nobody in.
    /// Going live is setting it to `true` (and needs an e-mail attribute mapping).
    #[serde(default = "default_true")]
    pub enabled: bool,
}

/// Attribute names tried in order for each user field (the first present wins).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttributeCandidates {
    pub email: Vec<String>,
    pub first_name: Vec<String>,
    pub last_name: Vec<String>,
    pub groups: Vec<String>,
    pub login: Vec<String>,
    pub access: Vec<String>,
}

impl Default for AttributeCandidates {
    /// The OnTrackio defaults followed by the Shotgun names.
    fn default() -> Self {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        Self {
            email: names(&[
                "mail",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                "email",
            ]),
            first_name: names(&[
                "givenName",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
                "firstname",
            ]),
            last_name: names(&[
                "sn",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
                "lastname",
            ]),
            groups: names(&[
                "memberOf",
                "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
                "groups",
            ]),
            login: names(&["login_id"]),
            access: names(&["access"]),
        }
    }
}

/// One exact group → role rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleMapping {
    pub group: String,
    pub role: String,
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl SpConfig {
    /// Reads, parses and validates a TOML file. Relative file paths inside it are resolved
    /// against the file's directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::load_with_preset(path, None)
    }

    /// [`SpConfig::load`], with `preset` (e.g. `samlconf serve --preset`) in place of the file's
    /// own `[sp] preset`.
    pub fn load_with_preset(path: &Path, preset: Option<Preset>) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::from_toml_with_preset(&text, preset).map_err(|e| match e {
            ConfigError::Invalid(message) => ConfigError::Parse {
                path: path.to_owned(),
                message,
            },
            other => other,
        })?;
        if let Some(dir) = path.parent() {
            let idp_files = std::iter::once(&mut config.idp)
                .chain(config.additional_idps.iter_mut())
                .flat_map(|idp| [&mut idp.certificate_file, &mut idp.metadata_file]);
            let sp_files = [
                &mut config.sp.signing_key_file,
                &mut config.sp.signing_certificate_file,
            ];
            for file in idp_files.chain(sp_files).flatten() {
                if file.is_relative() {
                    *file = dir.join(&*file);
                }
            }
        }
        Ok(config)
    }

    /// Parses and validates TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Self::from_toml_with_preset(text, None)
    }

    /// [`SpConfig::from_toml`]; `preset`, if given, replaces the text's `[sp] preset`. The
    /// preset's options are laid under the file's: what the file sets wins.
    pub fn from_toml_with_preset(text: &str, preset: Option<Preset>) -> Result<Self, ConfigError> {
        let invalid = |e: toml::de::Error| ConfigError::Invalid(e.to_string());
        let mut file: toml::Table = toml::from_str(text).map_err(invalid)?;
        let written = match file.get("sp").and_then(|sp| sp.get("preset")) {
            None => None,
            Some(toml::Value::String(name)) => Some(Preset::from_name(name)?),
            Some(other) => {
                return Err(ConfigError::Invalid(format!(
                    "sp.preset must be a string, not {other}"
                )));
            }
        };
        if let (Some(preset), Some(toml::Value::Table(sp))) = (preset, file.get_mut("sp")) {
            sp.insert("preset".into(), toml::Value::String(preset.name().into()));
        }
        // Without a preset the text itself is read, so errors keep their line and column.
        let config: Self = match (preset, written) {
            (None, None | Some(Preset::Generic)) => toml::from_str(text).map_err(invalid)?,
            (preset, written) => {
                let preset = preset.or(written).unwrap_or_default();
                toml::Value::Table(preset.layered(file)?)
                    .try_into()
                    .map_err(invalid)?
            }
        };
        config.validate()?;
        Ok(config)
    }

    /// Refuses contradictory or unsafe settings up front, with a message naming the option.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let sp = &self.sp;
        if sp.admin_roles.iter().any(|r| r == &sp.default_role) {
            return Err(ConfigError::Invalid(format!(
                "sp.default_role = {:?} is an admin role; admin roles may only come from a role_mapping",
                sp.default_role
            )));
        }
        if let Some(role) = sp.permission_groups.iter().find(|r| r.trim().is_empty()) {
            return Err(ConfigError::Invalid(format!(
                "sp.permission_groups: {role:?} is not a role name"
            )));
        }
        for page in &sp.landing_pages {
            if page.role.trim().is_empty() || crate::web::safe_relay_state(&page.path) != page.path
            {
                return Err(ConfigError::Invalid(format!(
                    "sp.landing_page: {:?} → {:?} needs a role and a local path (starting with one '/')",
                    page.role, page.path
                )));
            }
        }
        if sp.base_url.ends_with('/') {
            return Err(ConfigError::Invalid(
                "sp.base_url must not end with '/'".into(),
            ));
        }
        // The policy options share one vocabulary (and one validation) with `samlconf verify`.
        crate::policy::PolicySettings::from(sp)
            .validate()
            .map_err(|message| ConfigError::Invalid(format!("sp.{message}")))?;
        for field in &sp.ignore_fields_on_update {
            if !["email", "first_name", "last_name", "login"].contains(&field.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "sp.ignore_fields_on_update: unknown field {field:?} (expected email, first_name, last_name or login)"
                )));
            }
        }
        self.limits.validate()?;
        for (name, value) in [
            ("max_link_attempts", sp.max_link_attempts),
            ("password_max_failures", sp.password_max_failures),
            (
                "password_max_failures_per_address",
                sp.password_max_failures_per_address,
            ),
            (
                "password_failure_window_secs",
                sp.password_failure_window_secs,
            ),
            ("password_lockout_secs", sp.password_lockout_secs),
            ("password_setup_ttl_secs", sp.password_setup_ttl_secs),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid(format!(
                    "sp.{name} must be at least 1"
                )));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for idp in self.idps() {
            let sources = [
                idp.certificate_file.is_some(),
                idp.certificate_pem.is_some(),
                idp.metadata_file.is_some(),
            ];
            if sources.iter().filter(|s| **s).count() != 1 {
                return Err(ConfigError::Invalid(format!(
                    "IdP {:?} needs exactly one of certificate_file, certificate_pem or metadata_file",
                    idp.entity_id
                )));
            }
            if !seen.insert(idp.entity_id.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "IdP entity ID {:?} is configured twice; each IdP needs its own",
                    idp.entity_id
                )));
            }
            if let Some(role) = &idp.default_role
                && self.is_admin_role(role)
            {
                return Err(ConfigError::Invalid(format!(
                    "IdP {:?}: default_role = {role:?} is an admin role; admin roles may only come from a role_mapping",
                    idp.entity_id
                )));
            }
            // OnTrackio: "Cannot enable an IdP without an email attribute mapping".
            if idp.enabled && self.attributes.email.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "IdP {:?} cannot be enabled without an e-mail attribute mapping: add an [attributes] email candidate, or keep it staged (enabled = false) and test it",
                    idp.entity_id
                )));
            }
            let domains = idp.allowed_domains.iter().flatten();
            if let Some(bad) = domains.into_iter().find(|d| domain_name(d).is_empty()) {
                return Err(ConfigError::Invalid(format!(
                    "IdP {:?}: allowed_domains entry {bad:?} is not a domain",
                    idp.entity_id
                )));
            }
        }
        Ok(())
    }

    pub fn entity_id(&self) -> String {
        self.sp
            .entity_id
            .clone()
            .unwrap_or_else(|| format!("{}/saml/metadata", self.sp.base_url))
    }

    pub fn acs_url(&self) -> String {
        format!("{}/saml/acs", self.sp.base_url)
    }

    pub fn sls_url(&self) -> String {
        format!("{}/saml/sls", self.sp.base_url)
    }

    /// The pinned signing certificates of the default IdP.
    pub fn idp_certificates_pem(&self) -> Result<Vec<String>, ConfigError> {
        self.idp.certificates_pem()
    }

    /// Every configured IdP, the default first.
    pub fn idps(&self) -> impl Iterator<Item = &IdpSettings> {
        std::iter::once(&self.idp).chain(self.additional_idps.iter())
    }

    /// The IdP with this entity ID.
    pub fn idp_by_entity_id(&self, entity_id: &str) -> Option<&IdpSettings> {
        self.idps().find(|idp| idp.entity_id == entity_id)
    }
}

impl Limits {
    fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("max_relay_state_bytes", self.max_relay_state_bytes),
            (
                "max_outstanding_requests",
                self.max_outstanding_requests as usize,
            ),
            ("max_pending_links", self.max_pending_links as usize),
            ("max_identity_field_bytes", self.max_identity_field_bytes),
            ("max_groups", self.max_groups),
            ("max_audit_detail_bytes", self.max_audit_detail_bytes),
            (
                "max_unverified_audit_rows",
                self.max_unverified_audit_rows as usize,
            ),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError::Invalid(format!(
                "limits.{name} must be at least 1"
            )));
        }
        if self.max_relay_state_bytes > 4096 {
            return Err(ConfigError::Invalid(
                "limits.max_relay_state_bytes must be at most 4096 (SAML bindings say 80)".into(),
            ));
        }
        Ok(())
    }
}

impl IdpSettings {
    /// The pinned signing certificates, as PEM, from whichever source is configured.
    pub fn certificates_pem(&self) -> Result<Vec<String>, ConfigError> {
        let read = |path: &PathBuf| {
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })
        };
        if let Some(pem) = &self.certificate_pem {
            return Ok(split_certificates(pem));
        }
        if let Some(path) = &self.certificate_file {
            return Ok(split_certificates(&read(path)?));
        }
        if let Some(path) = &self.metadata_file {
            let certs = crate::metadata::signing_certificates_from_idp_metadata(&read(path)?)
                .map_err(|message| ConfigError::Parse {
                    path: path.clone(),
                    message,
                })?;
            return Ok(certs);
        }
        Err(ConfigError::Invalid(format!(
            "IdP {:?} has no certificate configured",
            self.entity_id
        )))
    }

    /// The text of its sign-in button.
    pub fn display_name(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.entity_id)
    }
}

impl SpConfig {
    /// True when the named role grants administration.
    pub fn is_admin_role(&self, role: &str) -> bool {
        self.sp.admin_roles.iter().any(|r| r == role)
    }

    /// The group → role rules for identities from the IdP `idp_entity_id`: its own, and for the
    /// primary `[idp]` also the top-level `[[role_mapping]]`. Another IdP's never apply, so an
    /// IdP can only grant an admin role through a mapping made for it.
    pub fn role_mappings_for(&self, idp_entity_id: &str) -> Vec<&RoleMapping> {
        let own = self
            .idp_by_entity_id(idp_entity_id)
            .map(|idp| idp.role_mappings.as_slice())
            .unwrap_or_default();
        let top_level = if idp_entity_id == self.idp.entity_id {
            self.role_mappings.as_slice()
        } else {
            &[]
        };
        top_level.iter().chain(own).collect()
    }

    /// The role of users from `idp_entity_id` whose groups map to nothing.
    pub fn default_role_for(&self, idp_entity_id: &str) -> &str {
        self.idp_by_entity_id(idp_entity_id)
            .and_then(|idp| idp.default_role.as_deref())
            .unwrap_or(&self.sp.default_role)
    }

    /// Whether the IdP `idp_entity_id` may assert `email` for automatic linking: its domain is
    /// in the IdP's `allowed_domains`, or that is unset and the IdP is the primary one.
    pub fn idp_may_assert_email(&self, idp_entity_id: &str, email: &str) -> bool {
        let Some(idp) = self.idp_by_entity_id(idp_entity_id) else {
            return false;
        };
        let Some(domains) = &idp.allowed_domains else {
            return idp_entity_id == self.idp.entity_id;
        };
        let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
        !domain.is_empty()
            && domains
                .iter()
                .any(|allowed| domain_name(allowed).eq_ignore_ascii_case(domain))
    }
}

/// Each certificate of a PEM text, in order: several concatenated certificates are all pinned
/// (a rotation: the retired one and its successor). Text without an END line stays one entry,
/// for the verifier to refuse as it is.
fn split_certificates(pem: &str) -> Vec<String> {
    const END: &str = "-----END CERTIFICATE-----";
    let mut certs: Vec<String> = pem
        .split_inclusive(END)
        .filter(|part| part.contains(END))
        .map(|part| format!("{}\n", part.trim()))
        .collect();
    if certs.is_empty() {
        certs.push(pem.to_owned());
    }
    certs
}

/// A configured domain without the `@` people often write before it.
fn domain_name(configured: &str) -> &str {
    configured.trim().trim_start_matches('@')
}

/// The XML-DSig URI of a signature algorithm's short name.
pub fn signature_algorithm_uri(name: &str) -> Option<&'static str> {
    Some(match name {
        "rsa-sha256" => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "rsa-sha384" => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
        "rsa-sha512" => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
        "rsa-sha1" => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        _ => return None,
    })
}

/// The XML-DSig URI of a digest algorithm's short name.
pub fn digest_algorithm_uri(name: &str) -> Option<&'static str> {
    Some(match name {
        "sha256" => "http://www.w3.org/2001/04/xmlenc#sha256",
        "sha384" => "http://www.w3.org/2001/04/xmldsig-more#sha384",
        "sha512" => "http://www.w3.org/2001/04/xmlenc#sha512",
        "sha1" => "http://www.w3.org/2000/09/xmldsig#sha1",
        _ => return None,
    })
}

fn default_database() -> String {
    "samlconf-sp.sqlite".into()
}
fn default_clock_skew_secs() -> u32 {
    120
}
fn default_max_session_secs() -> u32 {
    8 * 3600
}
fn default_request_ttl_secs() -> u32 {
    600
}
fn default_true() -> bool {
    true
}
fn default_role() -> String {
    "member".into()
}
fn default_admin_roles() -> Vec<String> {
    vec!["admin".into()]
}
fn default_signature_algorithms() -> Vec<String> {
    ["rsa-sha256", "rsa-sha384", "rsa-sha512"]
        .map(String::from)
        .to_vec()
}
fn default_digest_algorithms() -> Vec<String> {
    ["sha256", "sha384", "sha512"].map(String::from).to_vec()
}
fn default_min_rsa_bits() -> u32 {
    crate::verify::DEFAULT_MIN_RSA_BITS
}

fn default_max_response_bytes() -> usize {
    512 * 1024
}
fn default_max_link_attempts() -> u32 {
    5
}
fn default_password_max_failures() -> u32 {
    5
}
fn default_password_max_failures_per_address() -> u32 {
    20
}
fn default_password_failure_window_secs() -> u32 {
    900
}
fn default_password_lockout_secs() -> u32 {
    900
}
fn default_password_setup_ttl_secs() -> u32 {
    3600
}
fn default_renewal_interval_secs() -> u32 {
    270
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[sp]
base_url = "http://127.0.0.1:8000"
[idp]
entity_id = "urn:example:idp"
sso_url = "http://127.0.0.1:9000/sso"
certificate_pem = "-----BEGIN CERTIFICATE-----"
"#;

    #[test]
    fn an_enabled_idp_needs_an_email_mapping_and_a_staged_one_does_not() {
        let no_email = format!("{MINIMAL}[attributes]\nemail = []\n");
        let err = SpConfig::from_toml(&no_email).expect_err("enabled without e-mail mapping");
        assert!(
            err.to_string()
                .contains("without an e-mail attribute mapping"),
            "{err}"
        );
        let staged = no_email.replace("certificate_pem", "enabled = false\ncertificate_pem");
        let config = SpConfig::from_toml(&staged).expect("a staged IdP may be tested unmapped");
        assert!(!config.idp.enabled);
        assert!(SpConfig::from_toml(MINIMAL).expect("minimal").idp.enabled);
    }

    #[test]
    fn landing_pages_go_to_local_paths_by_the_first_matching_role() {
        let text = format!(
            "{MINIMAL}[[sp.landing_page]]\nrole = \"admin\"\npath = \"/dashboard/admin\"\n[[sp.landing_page]]\nrole = \"member\"\npath = \"/dashboard/personal\"\n"
        );
        let config = SpConfig::from_toml(&text).expect("landing pages");
        let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            config.sp.landing_for(&roles(&["member", "admin"])),
            Some("/dashboard/admin")
        );
        assert_eq!(
            config.sp.landing_for(&roles(&["member"])),
            Some("/dashboard/personal")
        );
        assert_eq!(config.sp.landing_for(&roles(&["editor"])), None);
        for path in ["https://evil.example/", "//evil.example", "dashboard"] {
            let bad = text.replace("/dashboard/admin", path);
            let err = SpConfig::from_toml(&bad).expect_err(path);
            assert!(err.to_string().contains("local path"), "{path}: {err}");
        }
    }

    #[test]
    fn defaults_are_the_safe_ones() {
        let config = SpConfig::from_toml(MINIMAL).expect("minimal config");
        assert_eq!(config.entity_id(), "http://127.0.0.1:8000/saml/metadata");
        assert_eq!(config.acs_url(), "http://127.0.0.1:8000/saml/acs");
        assert_eq!(config.sp.clock_skew_secs, 120);
        assert!(!config.sp.allow_unsolicited);
        assert!(
            !config
                .sp
                .signature_algorithms
                .iter()
                .any(|a| a == "rsa-sha1")
        );
        assert!(!config.sp.digest_algorithms.iter().any(|a| a == "sha1"));
        assert_eq!(config.attributes.email[0], "mail");
        assert!(
            config.attributes.groups.iter().any(|g| g == "groups"),
            "Shotgun name"
        );
    }

    #[test]
    fn admin_default_role_is_refused() {
        let text = MINIMAL.replace("[idp]", "default_role = \"admin\"\n[idp]");
        let err = SpConfig::from_toml(&text).expect_err("admin default role");
        assert!(err.to_string().contains("default_role"), "{err}");
    }

    #[test]
    fn password_limits_default_to_safe_values_and_refuse_zero() {
        let config = SpConfig::from_toml(MINIMAL).expect("minimal config");
        assert_eq!(config.sp.password_max_failures, 5);
        assert_eq!(config.sp.password_max_failures_per_address, 20);
        assert_eq!(config.sp.password_failure_window_secs, 900);
        assert_eq!(config.sp.password_lockout_secs, 900);
        let text = MINIMAL.replace("[idp]", "password_lockout_secs = 0\n[idp]");
        let err = SpConfig::from_toml(&text).expect_err("no lock-out");
        assert!(err.to_string().contains("password_lockout_secs"), "{err}");
    }

    #[test]
    fn unknown_option_is_named() {
        let text = MINIMAL.replace("[idp]", "clock_skew = 5\n[idp]");
        let err = SpConfig::from_toml(&text).expect_err("typo");
        assert!(err.to_string().contains("clock_skew"), "{err}");
    }

    #[test]
    fn unknown_algorithm_is_refused() {
        let text = MINIMAL.replace("[idp]", "signature_algorithms = [\"rsa-md5\"]\n[idp]");
        assert!(SpConfig::from_toml(&text).is_err());
    }

    const PARTNER: &str = r#"
[[additional_idp]]
entity_id = "urn:example:partner"
sso_url = "http://127.0.0.1:9001/sso"
certificate_pem = "-----BEGIN CERTIFICATE-----"
"#;

    #[test]
    fn role_mappings_and_default_role_belong_to_their_idp() {
        let text = format!(
            "{MINIMAL}[[role_mapping]]\ngroup = \"admins\"\nrole = \"admin\"\n[[idp.role_mapping]]\ngroup = \"eng\"\nrole = \"editor\"\n{PARTNER}default_role = \"guest\"\n[[additional_idp.role_mapping]]\ngroup = \"partner-admins\"\nrole = \"admin\"\n"
        );
        let config = SpConfig::from_toml(&text).expect("config");
        let groups = |idp: &str| -> Vec<&str> {
            let mappings = config.role_mappings_for(idp);
            mappings.iter().map(|m| m.group.as_str()).collect()
        };
        assert_eq!(groups("urn:example:idp"), ["admins", "eng"]);
        assert_eq!(groups("urn:example:partner"), ["partner-admins"]);
        assert!(groups("urn:example:unknown").is_empty());
        assert_eq!(config.default_role_for("urn:example:idp"), "member");
        assert_eq!(config.default_role_for("urn:example:partner"), "guest");
    }

    #[test]
    fn an_idp_asserts_only_its_allowed_domains_and_an_additional_one_none_by_default() {
        let config = SpConfig::from_toml(&format!("{MINIMAL}{PARTNER}")).expect("config");
        assert!(config.idp_may_assert_email("urn:example:idp", "a@anything.example"));
        assert!(!config.idp_may_assert_email("urn:example:partner", "a@anything.example"));
        assert!(!config.idp_may_assert_email("urn:example:unknown", "a@anything.example"));
        let text = format!(
            "{MINIMAL}allowed_domains = [\"@Corp.Example\"]\n{PARTNER}allowed_domains = [\"partner.example\"]\n"
        );
        let config = SpConfig::from_toml(&text).expect("config");
        assert!(config.idp_may_assert_email("urn:example:idp", "a@corp.example"));
        assert!(!config.idp_may_assert_email("urn:example:idp", "a@partner.example"));
        assert!(config.idp_may_assert_email("urn:example:partner", "a@PARTNER.example"));
        assert!(!config.idp_may_assert_email("urn:example:partner", "a@sub.partner.example"));
        assert!(!config.idp_may_assert_email("urn:example:partner", "partner.example"));
    }

    #[test]
    fn an_admin_default_role_or_an_empty_domain_for_an_idp_is_refused() {
        let text = format!("{MINIMAL}{PARTNER}default_role = \"admin\"\n");
        let err = SpConfig::from_toml(&text).expect_err("admin default role");
        assert!(err.to_string().contains("default_role"), "{err}");
        let text = format!("{MINIMAL}{PARTNER}allowed_domains = [\"@\"]\n");
        let err = SpConfig::from_toml(&text).expect_err("empty domain");
        assert!(err.to_string().contains("allowed_domains"), "{err}");
    }

    #[test]
    fn a_preset_sets_its_defaults_and_an_explicit_option_still_wins() {
        let with = |extra: &str| {
            let text = MINIMAL.replace("[idp]", &format!("{extra}\n[idp]"));
            SpConfig::from_toml(&text)
        };
        let generic = with("").expect("generic");
        assert_eq!(generic.sp.preset, Preset::Generic);
        assert!(generic.sp.jit_provisioning);
        assert_eq!(generic.sp.failure_page_detail, FailurePageDetail::Code);

        let ontrackio = with("preset = \"ontrackio\"").expect("ontrackio");
        assert!(!ontrackio.sp.jit_provisioning);
        assert_eq!(ontrackio.sp.failure_page_detail, FailurePageDetail::Generic);
        assert_eq!(
            ontrackio.sp.clock_skew_secs, 120,
            "untouched options keep theirs"
        );

        // The explicit key wins even when it equals the generic default (no value comparison).
        let explicit = with("preset = \"ontrackio\"\njit_provisioning = true").expect("explicit");
        assert!(explicit.sp.jit_provisioning);
        assert_eq!(explicit.sp.failure_page_detail, FailurePageDetail::Generic);
        let order = with("jit_provisioning = true\npreset = \"ontrackio\"").expect("order");
        assert!(order.sp.jit_provisioning, "key order does not matter");

        let fpt = with("preset = \"flow-production-tracking\"").expect("fpt");
        assert_eq!(fpt.sp.account_linking, AccountLinking::Prompt);
        assert_eq!(fpt.sp.session_length, SessionLength::Idp);
        assert_eq!(fpt.sp.role_sync, RoleSync::KeepWhenAbsent);
        assert!(fpt.sp.require_access_attribute);
        let decisions = with("preset = \"decisions\"").expect("decisions");
        assert_eq!(decisions.sp.account_linking, AccountLinking::Refuse);
        assert_eq!(decisions.sp.recovery_login, RecoveryLogin::PasswordAccounts);
        assert!(decisions.sp.allow_unsolicited);
        let shotgun = with("preset = \"shotgun\"").expect("shotgun");
        assert_eq!(shotgun.sp.account_linking, AccountLinking::Email);
        assert_eq!(shotgun.sp.permission_groups, ["admin", "member"]);
    }

    #[test]
    fn every_preset_parses_and_an_unknown_one_is_named() {
        for preset in Preset::ALL {
            let text = MINIMAL.replace("[idp]", &format!("preset = {:?}\n[idp]", preset.name()));
            let config =
                SpConfig::from_toml(&text).unwrap_or_else(|e| panic!("{}: {e}", preset.name()));
            assert_eq!(config.sp.preset, preset);
        }
        let text = MINIMAL.replace("[idp]", "preset = \"okta\"\n[idp]");
        let err = SpConfig::from_toml(&text).expect_err("unknown preset");
        let message = err.to_string();
        assert!(
            message.contains("okta") && message.contains("ontrackio"),
            "{message}"
        );
        let text = MINIMAL.replace("[idp]", "preset = \"ontrackio\"\nclock_skew = 5\n[idp]");
        let err = SpConfig::from_toml(&text).expect_err("typo under a preset");
        assert!(err.to_string().contains("clock_skew"), "{err}");
    }

    #[test]
    fn concatenated_certificates_are_each_pinned_in_order() {
        let one = "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n";
        let two = "-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----";
        assert_eq!(split_certificates(one), [one]);
        assert_eq!(
            split_certificates(&format!("{one}\n{two}\n")),
            [one.to_owned(), format!("{two}\n")]
        );
        assert_eq!(split_certificates("garbage"), ["garbage"]);
    }

    #[test]
    fn example_config_parses() {
        let text = include_str!("../config.example.toml");
        let config = SpConfig::from_toml(text).expect("example config must stay valid");
        assert!(!config.role_mappings.is_empty());
    }
}
