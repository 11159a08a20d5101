//! Live mode (`samlconf serve --idp-metadata`): the reference SP alone, trusting a real IdP's
//! metadata (its signing certificates, entity ID, SSO and SLO URLs), keeping the last
//! SAMLResponse its ACS received in memory, and serving that response's checklist at
//! `/certify/last` (HTML; `?format=json` for JSON). The integrator registers the SP's metadata
//! (`/saml/metadata`) at their IdP, signs in for real, and reads the checklist.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use sp::config::SpConfig;
use sp::metadata::{BINDING_REDIRECT, IdpMetadata};

use super::{CapturedResponse, Certification, render};

/// How to run the SP against a real IdP.
pub struct LiveOptions {
    /// The IdP's metadata document and where it came from.
    pub metadata_xml: String,
    pub metadata_source: String,
    /// An SP configuration whose `[idp]` section is replaced by the metadata's; else a default
    /// one (`allow_unsolicited`, so that IdP-initiated sign-in works too).
    pub sp_config: Option<SpConfig>,
    /// Keys, the database and the metadata file the SP reads live here.
    pub state_dir: PathBuf,
    /// The SP's store instead of `sp.sqlite` in `state_dir` (a SQLite file or a `postgres://`
    /// URL); used when `sp_config` is `None`, which otherwise names its own.
    pub database: Option<String>,
}

/// The running SP.
pub struct Live {
    /// e.g. `http://127.0.0.1:8000`
    pub sp_base_url: String,
    pub sp: sp::web::Sp,
    pub idp_entity_id: String,
    task: tokio::task::JoinHandle<()>,
}

impl Live {
    /// Waits until the server stops.
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// The SP configuration: `base` (or the defaults) with the `[idp]` the metadata describes,
/// trusting the metadata file at `metadata_file` (every signing certificate: a rollover works).
pub fn sp_config(
    base: Option<SpConfig>,
    md: &IdpMetadata,
    metadata_file: PathBuf,
    sp_base_url: &str,
    database: &str,
) -> Result<SpConfig, String> {
    let sso_url = md.sso_location(BINDING_REDIRECT).ok_or(
        "the IdP metadata has no SingleSignOnService with the HTTP-Redirect binding, which the SP sends AuthnRequests to",
    )?;
    let mut config = match base {
        Some(config) => config,
        None => {
            let mut table = toml::Table::new();
            let mut sp = toml::Table::new();
            sp.insert("base_url".into(), sp_base_url.into());
            sp.insert("database".into(), database.into());
            sp.insert("allow_unsolicited".into(), true.into());
            table.insert("sp".into(), sp.into());
            let mut idp = toml::Table::new();
            idp.insert("entity_id".into(), md.entity_id.clone().into());
            idp.insert("sso_url".into(), sso_url.into());
            idp.insert(
                "metadata_file".into(),
                metadata_file.to_string_lossy().into_owned().into(),
            );
            table.insert("idp".into(), idp.into());
            SpConfig::from_toml(&table.to_string()).map_err(|e| e.to_string())?
        }
    };
    config.idp.entity_id = md.entity_id.clone();
    config.idp.sso_url = sso_url.to_owned();
    config.idp.slo_url = md
        .slo_location(BINDING_REDIRECT)
        .map(str::to_owned)
        .or(config.idp.slo_url);
    config.idp.certificate_file = None;
    config.idp.certificate_pem = None;
    config.idp.metadata_file = Some(metadata_file);
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

/// Starts the SP on `listener`.
pub async fn start(
    options: LiveOptions,
    listener: tokio::net::TcpListener,
) -> Result<Live, String> {
    let md = IdpMetadata::parse(&options.metadata_xml)?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let sp_base_url = format!("http://{addr}");
    std::fs::create_dir_all(&options.state_dir)
        .map_err(|e| format!("{}: {e}", options.state_dir.display()))?;
    let metadata_file = options.state_dir.join("idp-metadata.xml");
    std::fs::write(&metadata_file, &options.metadata_xml)
        .map_err(|e| format!("{}: {e}", metadata_file.display()))?;
    let database = options.database.clone().unwrap_or_else(|| {
        options
            .state_dir
            .join("sp.sqlite")
            .to_string_lossy()
            .into_owned()
    });
    let config = sp_config(
        options.sp_config,
        &md,
        metadata_file,
        &sp_base_url,
        &database,
    )?;
    let keys = sp::keys::SpKeys::for_config(&config, &options.state_dir.join("sp"))
        .map_err(|e| e.to_string())?;
    let store = sp::store::Store::open(&config.sp.database)
        .await
        .map_err(|e| e.to_string())?;
    let clock: Arc<dyn plumbing::clock::Clock> = Arc::new(plumbing::clock::SystemClock);
    let sp = sp::web::Sp::new(config, store, clock, keys).map_err(|e| e.to_string())?;
    sp.keep_last_response();
    let state = Arc::new(LiveState {
        sp: sp.clone(),
        metadata_xml: options.metadata_xml,
        metadata_source: options.metadata_source,
    });
    let app = sp::web::router(sp.clone())
        .merge(
            Router::new()
                .route("/certify/last", get(last))
                .with_state(state),
        )
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "reference SP server stopped");
        }
    });
    Ok(Live {
        sp_base_url,
        sp,
        idp_entity_id: md.entity_id,
        task,
    })
}

struct LiveState {
    sp: sp::web::Sp,
    metadata_xml: String,
    metadata_source: String,
}

#[derive(serde::Deserialize)]
struct LastQuery {
    format: Option<String>,
}

/// `GET /certify/last`: the checklist of the last response the ACS received.
async fn last(State(state): State<Arc<LiveState>>, Query(query): Query<LastQuery>) -> Response {
    let Some(received) = state.sp.last_response() else {
        return (
            StatusCode::NOT_FOUND,
            Html(
                "<!DOCTYPE html>\n<title>No response yet</title><p>The SP has received no SAMLResponse yet: <a href=\"/login\">sign in</a> first.</p>\n",
            ),
        )
            .into_response();
    };
    let json = query.format.as_deref() == Some("json");
    // libxml2 documents are not Send: the checks run on a blocking thread.
    let rendered = tokio::task::spawn_blocking(move || {
        let checklist = super::certify(&Certification {
            metadata_xml: &state.metadata_xml,
            metadata_source: state.metadata_source.clone(),
            response: Some(CapturedResponse {
                bytes: received.xml,
                source: "the SP's ACS".into(),
                captured_at: received.received_at,
                captured_at_source: "received by the SP".into(),
            }),
            sp_config: Some(state.sp.config()),
            decryption_keys: state.sp.policy().decryption_keys.clone(),
            now: received.received_at,
        });
        if json {
            render::json(&checklist)
        } else {
            render::html(&checklist)
        }
    })
    .await;
    match (rendered, json) {
        (Ok(body), true) => ([("content-type", "application/json")], body).into_response(),
        (Ok(body), false) => Html(body).into_response(),
        (Err(e), _) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the checklist could not be built: {e}"),
        )
            .into_response(),
    }
}
