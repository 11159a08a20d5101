//! Loopback ports for the servers and child processes the harness and its tests start.

use std::net::TcpListener;

/// A loopback port that was free a moment ago: bound, read and released, for a child process
/// to bind. Another process may take it in between; that shows as the child failing to start.
pub fn free_loopback_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_port_can_be_bound_again() {
        let port = super::free_loopback_port().unwrap();
        assert_ne!(port, 0);
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    }
}
