//! HTTPS for the harness's servers: a listener that hands axum TLS streams, with the server
//! certificate of the run's certificate authority ([`plumbing::tls::RunCa`]).
//!
//! Handshakes run in their own tasks, each with a deadline, so that a client that connects and
//! says nothing holds up nobody else; only finished handshakes reach axum.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use openssl::pkey::PKey;
use openssl::ssl::{Ssl, SslAcceptor, SslMethod, SslVersion};
use openssl::x509::X509;
use plumbing::tls::RunCa;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_openssl::SslStream;

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);
/// Finished handshakes waiting for axum to take them.
const READY_QUEUE: usize = 64;

/// The run's certificate authority: made once per process (a run of `samlconf run`, `serve` or a
/// test binary), shared by every HTTPS server it starts, and trusted by its clients only.
pub fn run_ca() -> Result<Arc<RunCa>, String> {
    static CA: OnceLock<Result<Arc<RunCa>, String>> = OnceLock::new();
    CA.get_or_init(|| {
        RunCa::generate(time::OffsetDateTime::now_utc())
            .map(Arc::new)
            .map_err(|e| e.to_string())
    })
    .clone()
}

/// The acceptor for the run CA's server certificate (TLS 1.2 and 1.3, OpenSSL's defaults).
pub fn acceptor(ca: &RunCa) -> Result<Arc<SslAcceptor>, String> {
    let err = |e: openssl::error::ErrorStack| format!("TLS setup: {e}");
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).map_err(err)?;
    let cert = X509::from_pem(ca.server_cert_pem.as_bytes()).map_err(err)?;
    let key = PKey::private_key_from_pem(ca.server_key_pem.as_bytes()).map_err(err)?;
    let issuer = X509::from_pem(ca.ca_cert_pem.as_bytes()).map_err(err)?;
    builder.set_certificate(&cert).map_err(err)?;
    builder.set_private_key(&key).map_err(err)?;
    builder.add_extra_chain_cert(issuer).map_err(err)?;
    builder.check_private_key().map_err(err)?;
    builder
        .set_min_proto_version(Some(SslVersion::TLS1_2))
        .map_err(err)?;
    // HTTP/1.1 only: axum's server here speaks it, and browsers fall back without ALPN.
    Ok(Arc::new(builder.build()))
}

/// A TCP listener whose connections arrive at axum already through a TLS handshake.
pub struct TlsListener {
    ready: mpsc::Receiver<(SslStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: JoinHandle<()>,
}

impl TlsListener {
    /// `local` is the address `tcp` listens on.
    pub fn new(tcp: TcpListener, local: SocketAddr, acceptor: Arc<SslAcceptor>) -> TlsListener {
        let (send, ready) = mpsc::channel(READY_QUEUE);
        let accepting = tokio::spawn(accept_loop(tcp, acceptor, send));
        TlsListener {
            ready,
            local,
            accepting,
        }
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: Arc<SslAcceptor>,
    ready: mpsc::Sender<(SslStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(error = %e, "TLS listener: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if ready.is_closed() {
            return;
        }
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_DEADLINE, handshake(&acceptor, stream)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

async fn handshake(
    acceptor: &SslAcceptor,
    stream: TcpStream,
) -> Result<SslStream<TcpStream>, String> {
    let ssl = Ssl::new(acceptor.context()).map_err(|e| e.to_string())?;
    let mut tls = SslStream::new(ssl, stream).map_err(|e| e.to_string())?;
    Pin::new(&mut tls)
        .accept()
        .await
        .map_err(|e| e.to_string())?;
    Ok(tls)
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = SslStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accept loop never ends while this listener lives (it holds a sender until
            // aborted by our Drop), so this cannot happen; waiting forever is the honest answer.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
