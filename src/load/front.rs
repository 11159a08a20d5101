//! One loopback address in front of several SP nodes: each HTTP request goes to the next node in
//! turn (per request, not per connection, so that one browser's keep-alive connection still
//! reaches every node), as a load balancer without session affinity does. Each answer says which
//! node gave it (`x-samlconf-node`), and the front counts them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The header naming the node (0-based) that answered.
pub const NODE_HEADER: &str = "x-samlconf-node";

/// Request bodies above this are refused (413) rather than buffered: the SP's own limit is lower.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Headers of one hop, not of the message (RFC 9110 §7.6.1), plus those the client recomputes.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

struct Nodes {
    base_urls: Vec<String>,
    served: Vec<AtomicUsize>,
    next: AtomicUsize,
    client: reqwest::Client,
}

/// A running front. Dropping it stops it.
pub struct Front {
    pub base_url: String,
    nodes: Arc<Nodes>,
    task: tokio::task::JoinHandle<()>,
}

impl Front {
    /// Serves on `listener` (bound first, so that the nodes can be told its address) in front of
    /// `node_base_urls`.
    pub fn start(
        listener: tokio::net::TcpListener,
        node_base_urls: Vec<String>,
    ) -> std::io::Result<Front> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        let nodes = Arc::new(Nodes {
            served: node_base_urls.iter().map(|_| AtomicUsize::new(0)).collect(),
            base_urls: node_base_urls,
            next: AtomicUsize::new(0),
            client,
        });
        let base_url = format!("http://{}", listener.local_addr()?);
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(nodes.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the load front stopped");
            }
        });
        Ok(Front {
            base_url,
            nodes,
            task,
        })
    }

    /// How many requests each node has answered so far.
    pub fn served(&self) -> Vec<usize> {
        let served = &self.nodes.served;
        served.iter().map(|n| n.load(Ordering::Relaxed)).collect()
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(State(nodes): State<Arc<Nodes>>, request: Request) -> Response {
    let count = nodes.base_urls.len().max(1);
    let node = nodes.next.fetch_add(1, Ordering::Relaxed) % count;
    let Some(base) = nodes.base_urls.get(node) else {
        return (StatusCode::BAD_GATEWAY, "no SP node behind this front").into_response();
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let sent = nodes
        .client
        .request(parts.method, format!("{base}{path}"))
        .headers(end_to_end(&parts.headers))
        .body(body)
        .send()
        .await;
    let answer = match sent {
        Ok(answer) => answer,
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("node {node}: {e}")).into_response(),
    };
    let (status, mut headers) = (answer.status(), end_to_end(answer.headers()));
    let body = match answer.bytes().await {
        Ok(body) => body,
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("node {node}: {e}")).into_response(),
    };
    if let Some(served) = nodes.served.get(node) {
        served.fetch_add(1, Ordering::Relaxed);
    }
    headers.insert(
        HeaderName::from_static(NODE_HEADER),
        HeaderValue::from(node),
    );
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let mut kept = headers.clone();
    for name in HOP_BY_HOP {
        kept.remove(*name);
    }
    kept
}
