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

/// A running `samlconf serve` (mock IdP + reference SP). Dropping it kills the process.
pub struct ServeProcess {
    child: Child,
    binary: PathBuf,
    state_dir: PathBuf,
    pub idp_port: u16,
    pub sp_port: u16,
}

const READY_WITHIN: Duration = Duration::from_secs(20);

impl ServeProcess {
    /// Starts `binary serve` on free loopback ports with its state (keys, SQLite database, log)
    /// in `state_dir`, and waits until the SP answers.
    pub async fn start(binary: &Path, state_dir: &Path) -> Result<ServeProcess, ServeError> {
        let (idp_port, sp_port) = (free_port()?, free_port()?);
        Self::start_on(binary, state_dir, idp_port, sp_port).await
    }

    /// Kills it (if it still runs) and starts it again on the same ports and state.
    pub async fn restart(&mut self) -> Result<(), ServeError> {
        self.kill();
        *self = Self::start_on(&self.binary, &self.state_dir, self.idp_port, self.sp_port).await?;
        Ok(())
    }

    async fn start_on(
        binary: &Path,
        state_dir: &Path,
        idp_port: u16,
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
            .open(state_dir.join("serve.log"))
            .map_err(spawn_error)?;
        let child = Command::new(binary)
            .arg("serve")
            .args(["--idp-port", &idp_port.to_string()])
            .args(["--sp-port", &sp_port.to_string()])
            .arg("--state-dir")
            .arg(state_dir)
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
            idp_port,
            sp_port,
        };
        process.wait_ready().await?;
        Ok(process)
    }

    pub fn sp_base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.sp_port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The SP's SQLite database file.
    pub fn database(&self) -> PathBuf {
        self.state_dir.join("sp.sqlite")
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
            log: std::fs::read_to_string(self.state_dir.join("serve.log")).unwrap_or_default(),
        })
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> Result<u16, ServeError> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(ServeError::Port)?;
    Ok(listener.local_addr().map_err(ServeError::Port)?.port())
}
