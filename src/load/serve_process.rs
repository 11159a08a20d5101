//! `samlconf serve` as a child process: what the load command drives and what the crash test
//! kills. A separate process so that its memory is its own and SIGKILL is a real crash.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot find a free port: {0}")]
    Port(std::io::Error),
    #[error("cannot start {binary}: {source}")]
    Spawn {
        binary: String,
        source: std::io::Error,
    },
    #[error("`samlconf serve` did not answer at {url} within {seconds} s; its log: {log}")]
    NotReady {
        url: String,
        seconds: u64,
        log: String,
    },
}

/// How to start one `samlconf serve` besides its ports and state directory.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// `--database`: a SQLite file or a `postgres://` URL; `None`: `sp.sqlite` in the state
    /// directory.
    pub database: Option<String>,
    /// `--public-url`: the SP's announced base URL (a front shared by several processes).
    pub public_url: Option<String>,
    /// `--idp-url`: no mock IdP of its own; the SP trusts the one served there (whose keys are
    /// in the same state directory).
    pub idp_url: Option<String>,
    /// The file in the state directory that gets the process's stderr.
    pub log_name: String,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            database: None,
            public_url: None,
            idp_url: None,
            log_name: "serve.log".into(),
        }
    }
}

/// A running `samlconf serve` (mock IdP + reference SP, or the SP alone with
/// [`ServeOptions::idp_url`]). Dropping it kills the process.
pub struct ServeProcess {
    child: Child,
    binary: PathBuf,
    state_dir: PathBuf,
    options: ServeOptions,
    /// The port of its own mock IdP, if it serves one.
    idp_port: Option<u16>,
    idp_base_url: String,
    pub sp_port: u16,
}

const READY_WITHIN: Duration = Duration::from_secs(20);

impl ServeProcess {
    /// Starts `binary serve` on free loopback ports with its state (keys, SQLite database, log)
    /// in `state_dir`, and waits until the SP answers.
    pub async fn start(binary: &Path, state_dir: &Path) -> Result<ServeProcess, ServeError> {
        Self::start_with(binary, state_dir, ServeOptions::default()).await
    }

    /// As [`start`](Self::start), with `options`.
    pub async fn start_with(
        binary: &Path,
        state_dir: &Path,
        options: ServeOptions,
    ) -> Result<ServeProcess, ServeError> {
        let idp_port = match options.idp_url {
            None => Some(free_port()?),
            Some(_) => None,
        };
        Self::start_on(binary, state_dir, options, idp_port, free_port()?).await
    }

    /// Kills it (if it still runs) and starts it again on the same ports and state.
    pub async fn restart(&mut self) -> Result<(), ServeError> {
        self.kill();
        *self = Self::start_on(
            &self.binary,
            &self.state_dir,
            self.options.clone(),
            self.idp_port,
            self.sp_port,
        )
        .await?;
        Ok(())
    }

    async fn start_on(
        binary: &Path,
        state_dir: &Path,
        options: ServeOptions,
        idp_port: Option<u16>,
        sp_port: u16,
    ) -> Result<ServeProcess, ServeError> {
        let spawn_error = |source| ServeError::Spawn {
            binary: binary.display().to_string(),
            source,
        };
        std::fs::create_dir_all(state_dir).map_err(spawn_error)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(state_dir.join(&options.log_name))
            .map_err(spawn_error)?;
        let idp_base_url = match (idp_port, &options.idp_url) {
            (Some(port), _) => format!("http://127.0.0.1:{port}"),
            (None, url) => url
                .as_deref()
                .unwrap_or_default()
                .trim_end_matches('/')
                .into(),
        };
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .args(["--sp-port", &sp_port.to_string()])
            .arg("--state-dir")
            .arg(state_dir);
        if let Some(port) = idp_port {
            command.args(["--idp-port", &port.to_string()]);
        }
        for (flag, value) in [
            ("--database", &options.database),
            ("--public-url", &options.public_url),
            ("--idp-url", &options.idp_url),
        ] {
            if let Some(value) = value {
                command.args([flag, value]);
            }
        }
        let child = command
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(spawn_error)?;
        let process = ServeProcess {
            child,
            binary: binary.to_owned(),
            state_dir: state_dir.to_owned(),
            options,
            idp_port,
            idp_base_url,
            sp_port,
        };
        process.wait_ready().await?;
        Ok(process)
    }

    /// Where this process itself listens for the SP (not its public URL).
    pub fn sp_base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.sp_port)
    }

    /// The mock IdP the SP trusts: its own, or the one of [`ServeOptions::idp_url`].
    pub fn idp_base_url(&self) -> String {
        self.idp_base_url.clone()
    }

    /// The SP's entity ID (`{public base URL}/saml/metadata`).
    pub fn sp_entity_id(&self) -> String {
        let base = match &self.options.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => self.sp_base_url(),
        };
        format!("{base}/saml/metadata")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The SP's store, as `--database` names it (a SQLite path or a `postgres://` URL).
    pub fn database(&self) -> String {
        self.options.database.clone().unwrap_or_else(|| {
            self.state_dir
                .join("sp.sqlite")
                .to_string_lossy()
                .into_owned()
        })
    }

    /// The process's peak resident memory so far (`VmHWM`), in KiB; `None` off Linux.
    pub fn peak_memory_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// SIGKILL: the process gets no chance to flush or close anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    async fn wait_ready(&self) -> Result<(), ServeError> {
        let url = format!("{}/saml/metadata", self.sp_base_url());
        let client = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < READY_WITHIN {
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            // Polling a process that is starting; not a test waiting on time.
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err(ServeError::NotReady {
            url,
            seconds: READY_WITHIN.as_secs(),
            log: std::fs::read_to_string(self.state_dir.join(&self.options.log_name))
                .unwrap_or_default(),
        })
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> Result<u16, ServeError> {
    plumbing::net::free_loopback_port().map_err(ServeError::Port)
}
