//! A cluster of reference SP processes: N `samlconf serve` on one store (a `postgres://` URL, or
//! one SQLite file on this machine) behind one [`Front`]. Node 0 also serves the mock IdP, which
//! every node trusts; all share one state directory, so they sign with the same SP key and the
//! IdP knows one SP (entity ID and ACS URL at the front's address).

use std::path::Path;

use super::front::Front;
use super::serve_process::{ServeError, ServeOptions, ServeProcess};

pub struct Cluster {
    /// Node 0 serves the mock IdP too.
    pub nodes: Vec<ServeProcess>,
    pub front: Front,
}

impl Cluster {
    /// Starts `nodes` (at least 1) `binary serve` processes on `database` (default: `sp.sqlite`
    /// in `state_dir`, shared by all), one after the other: the first creates the keys and
    /// migrates the store, the others find both done.
    pub async fn start(
        binary: &Path,
        state_dir: &Path,
        nodes: usize,
        database: Option<String>,
    ) -> Result<Cluster, ServeError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(ServeError::Port)?;
        let public_url = format!(
            "http://{}",
            listener.local_addr().map_err(ServeError::Port)?
        );
        let mut started: Vec<ServeProcess> = Vec::new();
        for node in 0..nodes.max(1) {
            let options = ServeOptions {
                database: database.clone(),
                public_url: Some(public_url.clone()),
                idp_url: started.first().map(ServeProcess::idp_base_url),
                log_name: format!("node-{node}.log"),
            };
            started.push(ServeProcess::start_with(binary, state_dir, options).await?);
        }
        let urls = started.iter().map(ServeProcess::sp_base_url).collect();
        let front = Front::start(listener, urls).map_err(ServeError::Port)?;
        Ok(Cluster {
            nodes: started,
            front,
        })
    }

    /// The address every browser uses.
    pub fn sp_base_url(&self) -> String {
        self.front.base_url.clone()
    }

    pub fn idp_base_url(&self) -> String {
        self.nodes
            .first()
            .map(ServeProcess::idp_base_url)
            .unwrap_or_default()
    }

    /// The SP's entity ID, the same on every node.
    pub fn sp_entity_id(&self) -> String {
        format!("{}/saml/metadata", self.front.base_url)
    }
}
