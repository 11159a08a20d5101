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
    /// The host name the SP is announced under (its base URL, hence its metadata and ACS URL);
    /// it still listens on 127.0.0.1, where the IdP is announced. `Some("localhost")` puts the
    /// two on different sites for a browser, so that cross-site cookie rules apply.
    pub sp_host: Option<String>,
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
    /// Serve every server of the pair over HTTPS, with the run's certificate authority
    /// ([`crate::tls::run_ca`]; its certificate is [`Pair::tls`]).
    pub https: bool,
    /// A second SP node: the same configuration and the same SQLite file (a temporary one when
    /// `database` is `:memory:`), its own pool and router behind its own address, as two
    /// processes of one cluster behind a load balancer.
    pub second_node: bool,
    /// A second workspace: another SP deployment (its own address, entity ID, ACS URL and
    /// in-memory store, the demo configuration with these overrides) trusting the same IdP,
    /// which knows it as a second service provider.
    pub workspace2: Option<toml::Table>,
}

/// An SP besides the pair's own: [`Pair::node2`] or [`Pair::workspace2`].
#[derive(Clone)]
pub struct SpNode {
    pub sp: sp::web::Sp,
    pub base_url: String,
}

/// Numbers the cluster databases of this process.
static CLUSTER_FILES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

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
            sp_host: None,
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
            https: false,
            second_node: false,
            workspace2: None,
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
    /// The run's certificate authority when the pair serves HTTPS: clients trust its
    /// `ca_cert_pem`; Chromium trusts the server by `server_spki_sha256`.
    pub tls: Option<Arc<plumbing::tls::RunCa>>,
    /// The second node of [`PairOptions::second_node`].
    pub node2: Option<SpNode>,
    /// The second workspace of [`PairOptions::workspace2`].
    pub workspace2: Option<SpNode>,
    tasks: Vec<JoinHandle<()>>,
    /// The temporary SQLite file the two nodes share, removed when the pair drops.
    cluster_database: Option<std::path::PathBuf>,
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
    #[error("HTTPS: {0}")]
    Tls(String),
}

/// Serves `app` on `listener`, over TLS with `tls`; `connect_info` gives handlers the peer
/// address (the SP's password throttle keys on it).
fn spawn_server(
    (listener, local): (TcpListener, SocketAddr),
    app: axum::Router,
    tls: Option<&Arc<openssl::ssl::SslAcceptor>>,
    connect_info: bool,
    what: &'static str,
) -> JoinHandle<()> {
    use axum::serve::ListenerExt as _;
    let stopped = move |e: std::io::Error| tracing::error!(error = %e, "{what} server stopped");
    match (tls, connect_info) {
        (None, false) => {
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap_or_else(stopped) })
        }
        (None, true) => tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, app).await.unwrap_or_else(stopped)
        }),
        (Some(acceptor), connect_info) => {
            let listener = crate::tls::TlsListener::new(listener, local, acceptor.clone());
            tokio::spawn(async move {
                if connect_info {
                    // `tap_io` gives the TLS listener's peer address as the connection info.
                    let app = app.into_make_service_with_connect_info::<SocketAddr>();
                    axum::serve(listener.tap_io(|_| {}), app)
                        .await
                        .unwrap_or_else(stopped)
                } else {
                    axum::serve(listener, app).await.unwrap_or_else(stopped)
                }
            })
        }
    }
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
        let mut options = options;
        let cluster_database = (options.second_node && options.database == ":memory:").then(|| {
            std::env::temp_dir().join(format!(
                "samlconf-cluster-{}-{}.sqlite",
                std::process::id(),
                CLUSTER_FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ))
        });
        if let Some(path) = &cluster_database {
            options.database = path.display().to_string();
        }

        let keys = match &options.idp_state_dir {
            Some(dir) => mock_idp::keys::IdpKeys::load_or_create(dir)
                .map_err(|e| HarnessError::Keys(e.to_string()))?,
            None => mock_idp::keys::IdpKeys::fixed_for_tests(),
        };
        let (tls, acceptor) = match options.https {
            false => (None, None),
            true => {
                let ca = crate::tls::run_ca().map_err(HarnessError::Tls)?;
                let acceptor = crate::tls::acceptor(&ca).map_err(HarnessError::Tls)?;
                (Some(ca), Some(acceptor))
            }
        };
        let scheme = if options.https { "https" } else { "http" };
        let sp_host = options.sp_host.as_deref().unwrap_or("127.0.0.1");
        let mut endpoints = Endpoints {
            idp_base_url: format!("{scheme}://{idp_addr}"),
            sp_base_url: format!("{scheme}://{sp_host}:{}", sp_addr.port()),
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
            let base_url = format!("{scheme}://{addr}");
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
            extra_listeners.push((listener, addr, base_url, entity_id, extra_keys));
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
        let workspace2 = match &options.workspace2 {
            None => None,
            Some(overrides) => {
                let (listener, addr) = bind(0).await?;
                let ws_endpoints = Endpoints {
                    idp_base_url: endpoints.idp_base_url.clone(),
                    sp_base_url: format!("http://{addr}"),
                };
                let text = demo::sp_config_toml(&ws_endpoints, &keys.idp.cert_pem, ":memory:");
                let mut table: toml::Table = toml::from_str(&text)
                    .map_err(|e| sp::config::ConfigError::Invalid(e.to_string()))?;
                merge_toml(&mut table, overrides);
                let merged = toml::to_string(&table)
                    .map_err(|e| sp::config::ConfigError::Invalid(e.to_string()))?;
                let config = sp::config::SpConfig::from_toml(&merged)?;
                // The IdP knows the second workspace as another service provider.
                idp_config
                    .service_providers
                    .extend(demo::idp_config(&ws_endpoints, &config, false).service_providers);
                Some((listener, ws_endpoints.sp_base_url, config))
            }
        };
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
        for (extra, (listener, addr, base_url, entity_id, extra_keys)) in
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
            tasks.push(spawn_server(
                (listener, addr),
                app,
                acceptor.as_ref(),
                false,
                "extra mock IdP",
            ));
            extra_idps.push(ExtraIdp {
                name: extra.name.clone(),
                entity_id,
                base_url,
                idp,
            });
        }
        let idp = mock_idp::server::Idp::new(idp_config, keys, clock.clone());
        let store = sp::store::Store::open(&sp_config.sp.database).await?;
        // The second node opens the same file after the first has migrated it (sqlx takes no
        // migration lock on SQLite), with the same configuration.
        let node2 = match options.second_node {
            false => None,
            true => {
                let (listener, addr) = bind(0).await?;
                let store = sp::store::Store::open(&sp_config.sp.database).await?;
                let sp = sp::web::Sp::new_weakened(
                    sp_config.clone(),
                    store,
                    clock.clone(),
                    sp_keys.clone(),
                    options.sp_weaknesses.clone(),
                );
                Some((listener, format!("http://{addr}"), sp))
            }
        };
        let workspace2 = match workspace2 {
            None => None,
            Some((listener, base_url, config)) => {
                let store = sp::store::Store::open(&config.sp.database).await?;
                let sp = sp::web::Sp::new_weakened(
                    config,
                    store,
                    clock.clone(),
                    sp_keys.clone(),
                    options.sp_weaknesses.clone(),
                );
                Some((listener, base_url, sp))
            }
        };
        let sp = sp::web::Sp::new_weakened(sp_config, store, clock, sp_keys, options.sp_weaknesses);
        for path in metadata_files {
            let _ = std::fs::remove_file(path);
        }
        let sp = sp?;
        let mut serve_sp = |listener: TcpListener, base_url: String, sp: sp::web::Sp| {
            let app = sp::web::router(sp.clone())
                .into_make_service_with_connect_info::<std::net::SocketAddr>();
            tasks.push(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!(error = %e, "reference SP server stopped");
                }
            }));
            SpNode { sp, base_url }
        };
        let node2 = match node2 {
            None => None,
            Some((listener, base_url, sp)) => Some(serve_sp(listener, base_url, sp?)),
        };
        let workspace2 = match workspace2 {
            None => None,
            Some((listener, base_url, sp)) => Some(serve_sp(listener, base_url, sp?)),
        };

        let idp_app = mock_idp::server::router(idp.clone());
        let sp_app = sp::web::router(sp.clone());
        tasks.push(spawn_server(
            (idp_listener, idp_addr),
            idp_app,
            acceptor.as_ref(),
            false,
            "mock IdP",
        ));
        // The peer address keys the SP's password throttle.
        tasks.push(spawn_server(
            (sp_listener, sp_addr),
            sp_app,
            acceptor.as_ref(),
            true,
            "reference SP",
        ));
        Ok(Pair {
            idp,
            sp,
            endpoints,
            clock: virtual_clock,
            extra_idps,
            tls,
            node2,
            workspace2,
            tasks,
            cluster_database,
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
        if let Some(path) = &self.cluster_database {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}
