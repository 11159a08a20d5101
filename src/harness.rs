//! Starts a mock IdP and a reference SP on loopback, configured for each other: the engine of
//! `samlconf serve` and of the integration tests.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::demo::{self, Endpoints};

/// How to start a pair.
#[derive(Debug, Clone)]
pub struct PairOptions {
    /// 0 picks a free port.
    pub idp_port: u16,
    pub sp_port: u16,
    /// A full SP configuration to use instead of the demo one; its `[idp]` section is
    /// overwritten to point at the mock IdP.
    pub sp_config: Option<sp::config::SpConfig>,
    /// Adjusts the SP configuration (demo or given) after the pair's addresses are known.
    pub sp_tweak: Option<fn(&mut sp::config::SpConfig)>,
    /// A TOML table deep-merged into the demo SP configuration before it is parsed (scenario
    /// files' `[sp]` overrides); ignored when `sp_config` is given.
    pub sp_overrides: Option<toml::Table>,
    /// Users added to the mock IdP's demo directory (a user with a demo user's login replaces it).
    pub extra_idp_users: Vec<mock_idp::users::User>,
    /// SP database; `:memory:` for tests.
    pub database: String,
    /// Where the IdP keeps its generated signing key; `None` uses the fixed test key.
    pub idp_state_dir: Option<std::path::PathBuf>,
    /// Where the SP keeps its generated signing key (unless its configuration names one with
    /// `signing_key_file`); `None` uses the fixed test key.
    pub sp_state_dir: Option<std::path::PathBuf>,
    /// Virtual time shared by both servers; `None` uses the wall clock.
    pub virtual_start: Option<time::OffsetDateTime>,
    /// Further mock IdPs, each trusted by the SP as an `[[additional_idp]]`.
    pub extra_idps: Vec<ExtraIdpOptions>,
    /// TEST ONLY: checks the SP runs without (`sp::weakness`), to prove that the catalogue
    /// catches a broken SP (`tests/weakened.rs`). No command sets it; a build without the SP's
    /// `weakened` feature refuses to start with any.
    #[doc(hidden)]
    pub sp_weaknesses: sp::weakness::Weaknesses,
}

/// A further mock IdP beside the pair's own: its own port and key pair, its own users, the
/// same virtual clock. The SP trusts it as an `[[additional_idp]]`.
#[derive(Debug, Clone, Default)]
pub struct ExtraIdpOptions {
    /// How scenarios and tests refer to it.
    pub name: String,
    /// Its entity ID (the Issuer it signs as); `None`: `{base_url}/metadata`.
    pub entity_id: Option<String>,
    /// Users added to its demo directory (a user with a demo user's login replaces it).
    pub users: Vec<mock_idp::users::User>,
    /// The SP's options for this IdP (`label`, `allowed_domains`, `default_role`,
    /// `role_mapping`, `slo_url`), merged into its `[[additional_idp]]` entry. The entity ID,
    /// SSO URL and certificate are the harness's.
    pub sp_settings: toml::Table,
    /// Sign with the fixed RSA-1024 test key (which the SP pins for it) instead of a fresh
    /// RSA-2048 one: an IdP that the SP's `min_rsa_bits` refuses (`signature.weak_key`).
    pub weak_key: bool,
    /// A signing-key rollover in progress at this IdP: which key it signs with and which the
    /// SP pins (through an IdP metadata file listing them, as a rollover is announced).
    pub key_rollover: Option<KeyRollover>,
    /// The SP pins a retired certificate (a fresh one nobody signs with) before this IdP's own:
    /// an IdP in the middle of a certificate rotation.
    pub retired_certificate: bool,
}

/// Numbers the rollover metadata files of this process.
static ROLLOVER_FILES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A signing-key rollover of an extra IdP: it has a current key and a next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyRollover {
    /// During the overlap: the IdP signs with its next key; its metadata, which the SP pins,
    /// lists the current key and the next.
    NextKeyBothPinned,
    /// The IdP signs with its next key before announcing it: the SP pins only the current one.
    NextKeyOldPinned,
    /// After the overlap: the SP pins only the next key; a message is signed with the retired
    /// one (by the IdP, or by whoever kept that key).
    OldKeyNewPinned,
}

/// At most this many generated key pairs are kept (a few per extra IdP of the catalogue).
const MAX_GENERATED_IDENTITIES: usize = 256;

/// A fresh RSA-2048 key pair and certificate for an extra IdP, generated once per process for
/// each `common_name`: generating one costs tens of milliseconds, more than the rest of a
/// scenario. A key pair is no state, so scenarios stay isolated; within one pair every name, and
/// so every key, differs (extra IdPs have distinct names; next and retired keys their own).
fn generated_identity(
    common_name: &str,
) -> Result<mock_idp::keys::SigningIdentity, mock_idp::keys::KeyError> {
    type Cache = std::collections::HashMap<String, mock_idp::keys::SigningIdentity>;
    static CACHE: std::sync::Mutex<Option<Cache>> = std::sync::Mutex::new(None);
    let lock = || {
        CACHE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    if let Some(found) = lock().as_ref().and_then(|c| c.get(common_name)) {
        return Ok(found.clone());
    }
    let made = mock_idp::keys::SigningIdentity::generate(common_name)?;
    let mut cache = lock();
    let cache = cache.get_or_insert_with(Cache::new);
    if cache.len() >= MAX_GENERATED_IDENTITIES {
        cache.clear();
    }
    Ok(cache.entry(common_name.to_owned()).or_insert(made).clone())
}

/// IdP metadata listing `certs_pem` as signing keys (what the SP's `metadata_file` reads).
fn rollover_metadata(entity_id: &str, base_url: &str, certs_pem: &[&str]) -> String {
    let keys: String = certs_pem
        .iter()
        .map(|pem| {
            let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            format!(
                r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{der}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#
            )
        })
        .collect();
    format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys}<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{base_url}/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
    )
}

/// The `[[additional_idp]]` options the harness fills in itself; [`additional_idp_settings`]
/// refuses them in `sp_settings`.
pub const MANAGED_IDP_KEYS: &[&str] = &[
    "entity_id",
    "sso_url",
    "certificate_file",
    "certificate_pem",
    "metadata_file",
];

/// The SP's `[[additional_idp]]` entry for a mock IdP at `base_url`: the harness's entity ID,
/// SSO/SLO URLs and certificate, with `sp_settings` merged in, parsed as the SP parses it.
pub fn additional_idp_settings(
    entity_id: &str,
    base_url: &str,
    cert_pem: &str,
    sp_settings: &toml::Table,
) -> Result<sp::config::IdpSettings, String> {
    if let Some(key) = MANAGED_IDP_KEYS
        .iter()
        .find(|k| sp_settings.contains_key(**k))
    {
        return Err(format!(
            "`{key}` is set by the harness for a mock IdP and cannot be overridden"
        ));
    }
    let mut entry = toml::Table::new();
    entry.insert("slo_url".into(), format!("{base_url}/slo").into());
    merge_toml(&mut entry, sp_settings);
    entry.insert("entity_id".into(), entity_id.into());
    entry.insert("sso_url".into(), format!("{base_url}/sso").into());
    entry.insert("certificate_pem".into(), cert_pem.into());
    toml::Value::Table(entry)
        .try_into()
        .map_err(|e: toml::de::Error| e.message().to_owned())
}

/// A running extra mock IdP.
#[derive(Clone)]
pub struct ExtraIdp {
    pub name: String,
    pub entity_id: String,
    pub base_url: String,
    pub idp: mock_idp::server::Idp,
}

impl Default for PairOptions {
    fn default() -> Self {
        Self {
            idp_port: 0,
            sp_port: 0,
            sp_config: None,
            sp_tweak: None,
            sp_overrides: None,
            extra_idp_users: Vec::new(),
            database: ":memory:".into(),
            idp_state_dir: None,
            sp_state_dir: None,
            virtual_start: None,
            extra_idps: Vec::new(),
            sp_weaknesses: sp::weakness::Weaknesses::none(),
        }
    }
}

/// A running mock IdP + reference SP. Dropping it stops both servers.
pub struct Pair {
    pub idp: mock_idp::server::Idp,
    pub sp: sp::web::Sp,
    pub endpoints: Endpoints,
    /// The virtual clock both servers read, when started with `virtual_start`: advancing it
    /// moves the IdP's and the SP's time together.
    pub clock: Option<plumbing::clock::ManualClock>,
    /// The extra IdPs of [`PairOptions::extra_idps`], in order.
    pub extra_idps: Vec<ExtraIdp>,
    tasks: Vec<JoinHandle<()>>,
}

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("signing keys: {0}")]
    Keys(String),
    #[error("SP configuration: {0}")]
    Config(#[from] sp::config::ConfigError),
    #[error("SP store: {0}")]
    Store(#[from] sp::store::StoreError),
    #[error("extra IdP {name:?}: {message}")]
    ExtraIdp { name: String, message: String },
}

async fn bind(port: u16) -> Result<(TcpListener, SocketAddr), HarnessError> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| HarnessError::Bind { port, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| HarnessError::Bind { port, source })?;
    Ok((listener, addr))
}

impl Pair {
    pub async fn start(options: PairOptions) -> Result<Pair, HarnessError> {
        let (idp_listener, idp_addr) = bind(options.idp_port).await?;
        let (sp_listener, sp_addr) = bind(options.sp_port).await?;

        let keys = match &options.idp_state_dir {
            Some(dir) => mock_idp::keys::IdpKeys::load_or_create(dir)
                .map_err(|e| HarnessError::Keys(e.to_string()))?,
            None => mock_idp::keys::IdpKeys::fixed_for_tests(),
        };
        let mut endpoints = Endpoints {
            idp_base_url: format!("http://{idp_addr}"),
            sp_base_url: format!("http://{sp_addr}"),
        };
        let mut sp_config = match options.sp_config {
            Some(mut config) => {
                endpoints.sp_base_url = config.sp.base_url.clone();
                let demo = demo::sp_config(&endpoints, &keys.idp.cert_pem, &options.database);
                config.idp = demo.idp;
                config
            }
            None => match &options.sp_overrides {
                None => demo::sp_config(&endpoints, &keys.idp.cert_pem, &options.database),
                Some(overrides) => {
                    let text =
                        demo::sp_config_toml(&endpoints, &keys.idp.cert_pem, &options.database);
                    let mut table: toml::Table = toml::from_str(&text)
                        .map_err(|e| sp::config::ConfigError::Invalid(e.to_string()))?;
                    merge_toml(&mut table, overrides);
                    let merged = toml::to_string(&table)
                        .map_err(|e| sp::config::ConfigError::Invalid(e.to_string()))?;
                    sp::config::SpConfig::from_toml(&merged)?
                }
            },
        };
        if let Some(tweak) = options.sp_tweak {
            tweak(&mut sp_config);
        }
        let mut extra_listeners = Vec::new();
        let mut metadata_files = Vec::new();
        for extra in &options.extra_idps {
            let (listener, addr) = bind(0).await?;
            let base_url = format!("http://{addr}");
            let entity_id = extra
                .entity_id
                .clone()
                .unwrap_or_else(|| format!("{base_url}/metadata"));
            let failed = |message: String| HarnessError::ExtraIdp {
                name: extra.name.clone(),
                message,
            };
            // Its own key pair, which the SP pins for it alone.
            let idp_key = if extra.weak_key {
                mock_idp::keys::SigningIdentity::weak_rsa1024_for_tests()
            } else {
                generated_identity(&format!("samlconf mock IdP {}", extra.name))
                    .map_err(|e| failed(e.to_string()))?
            };
            let (idp_key, pinned) = match extra.key_rollover {
                None => (idp_key, None),
                Some(rollover) => {
                    let next =
                        generated_identity(&format!("samlconf mock IdP {} (next key)", extra.name))
                            .map_err(|e| failed(e.to_string()))?;
                    let (old, next) = (idp_key.cert_pem.clone(), next);
                    let (signer, pinned) = match rollover {
                        KeyRollover::NextKeyBothPinned => {
                            let both = vec![old, next.cert_pem.clone()];
                            (next, both)
                        }
                        KeyRollover::NextKeyOldPinned => (next, vec![old]),
                        KeyRollover::OldKeyNewPinned => {
                            let new = vec![next.cert_pem.clone()];
                            (idp_key, new)
                        }
                    };
                    (signer, Some(pinned))
                }
            };
            let extra_keys = mock_idp::keys::IdpKeys {
                idp: idp_key,
                attacker: keys.attacker.clone(),
            };
            let own_pem = if extra.retired_certificate {
                let retired =
                    generated_identity(&format!("samlconf mock IdP {} (retired)", extra.name))
                        .map_err(|e| failed(e.to_string()))?;
                format!("{}\n{}", retired.cert_pem.trim(), extra_keys.idp.cert_pem)
            } else {
                extra_keys.idp.cert_pem.clone()
            };
            let mut settings =
                additional_idp_settings(&entity_id, &base_url, &own_pem, &extra.sp_settings)
                    .map_err(failed)?;
            if let Some(pinned) = pinned {
                // The SP reads the metadata once, when it starts; the file is removed after.
                let path = std::env::temp_dir().join(format!(
                    "samlconf-rollover-{}-{}.xml",
                    std::process::id(),
                    ROLLOVER_FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                ));
                let pems: Vec<&str> = pinned.iter().map(String::as_str).collect();
                std::fs::write(&path, rollover_metadata(&entity_id, &base_url, &pems))
                    .map_err(|e| failed(format!("cannot write {}: {e}", path.display())))?;
                settings.certificate_pem = None;
                settings.metadata_file = Some(path.clone());
                metadata_files.push(path);
            }
            sp_config.additional_idps.push(settings);
            extra_listeners.push((listener, base_url, entity_id, extra_keys));
        }

        // One clock for both servers (they run in this process), so their times never drift.
        let (clock, virtual_clock): (Arc<dyn plumbing::clock::Clock>, _) =
            match options.virtual_start {
                Some(start) => {
                    let virtual_clock = plumbing::clock::ManualClock::new(start);
                    (Arc::new(virtual_clock.clone()), Some(virtual_clock))
                }
                None => (Arc::new(plumbing::clock::SystemClock), None),
            };

        let sp_keys = match (&options.sp_state_dir, &sp_config.sp.signing_key_file) {
            (None, None) => sp::keys::SpKeys::fixed_for_tests(),
            (dir, _) => {
                let dir = dir.clone().unwrap_or_else(|| std::path::PathBuf::from("."));
                sp::keys::SpKeys::for_config(&sp_config, &dir)
                    .map_err(|e| HarnessError::Keys(e.to_string()))?
            }
        };
        let mut idp_config = demo::idp_config(&endpoints, &sp_config, false);
        for user in options.extra_idp_users {
            idp_config.users.retain(|u| u.login != user.login);
            idp_config.users.push(user);
        }
        // The IdP verifies the SP's signed logout messages with the SP's certificate, and
        // encrypts (when its knobs say so) to the SP's encryption certificate.
        for known in &mut idp_config.service_providers {
            known.signing_cert_pem = Some(sp_keys.cert_pem.clone());
            known.encryption_cert_pem = sp_keys.encryption.as_ref().map(|e| e.cert_pem.clone());
        }
        let mut extra_idps = Vec::new();
        let mut tasks = Vec::new();
        for (extra, (listener, base_url, entity_id, extra_keys)) in
            options.extra_idps.iter().zip(extra_listeners)
        {
            let extra_endpoints = Endpoints {
                idp_base_url: base_url.clone(),
                sp_base_url: endpoints.sp_base_url.clone(),
            };
            let mut config = demo::idp_config(&extra_endpoints, &sp_config, false);
            config.entity_id = entity_id.clone();
            for user in &extra.users {
                config.users.retain(|u| u.login != user.login);
                config.users.push(user.clone());
            }
            for known in &mut config.service_providers {
                known.signing_cert_pem = Some(sp_keys.cert_pem.clone());
                known.encryption_cert_pem = sp_keys.encryption.as_ref().map(|e| e.cert_pem.clone());
            }
            let idp = mock_idp::server::Idp::new(config, extra_keys, clock.clone());
            let app = mock_idp::server::router(idp.clone());
            tasks.push(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!(error = %e, "extra mock IdP server stopped");
                }
            }));
            extra_idps.push(ExtraIdp {
                name: extra.name.clone(),
                entity_id,
                base_url,
                idp,
            });
        }
        let idp = mock_idp::server::Idp::new(idp_config, keys, clock.clone());
        let store = sp::store::Store::open(&sp_config.sp.database).await?;
        let sp = sp::web::Sp::new_weakened(sp_config, store, clock, sp_keys, options.sp_weaknesses);
        for path in metadata_files {
            let _ = std::fs::remove_file(path);
        }
        let sp = sp?;

        let idp_app = mock_idp::server::router(idp.clone());
        let sp_app = sp::web::router(sp.clone());
        tasks.extend([
            tokio::spawn(async move {
                if let Err(e) = axum::serve(idp_listener, idp_app).await {
                    tracing::error!(error = %e, "mock IdP server stopped");
                }
            }),
            tokio::spawn(async move {
                // The peer address keys the SP's password throttle.
                let sp_app = sp_app.into_make_service_with_connect_info::<std::net::SocketAddr>();
                if let Err(e) = axum::serve(sp_listener, sp_app).await {
                    tracing::error!(error = %e, "reference SP server stopped");
                }
            }),
        ]);
        Ok(Pair {
            idp,
            sp,
            endpoints,
            clock: virtual_clock,
            extra_idps,
            tasks,
        })
    }

    /// The extra IdP named `name`.
    pub fn extra_idp(&self, name: &str) -> Option<&ExtraIdp> {
        self.extra_idps.iter().find(|extra| extra.name == name)
    }

    /// Waits until both servers stop (they run until the process ends).
    pub async fn wait(mut self) {
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

/// Deep-merges `overrides` into `base`: tables merge key by key, anything else (arrays included)
/// replaces the base value.
pub fn merge_toml(base: &mut toml::Table, overrides: &toml::Table) {
    for (key, value) in overrides {
        match (base.get_mut(key), value) {
            (Some(toml::Value::Table(base_table)), toml::Value::Table(over_table)) => {
                merge_toml(base_table, over_table)
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
