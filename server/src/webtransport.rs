//! WebTransport (HTTP/3 over QUIC), the third transport of engine.io 6.5+ and
//! socket.io-client 4.7+ (feature `webtransport`, on the `wtransport` crate).
//!
//! A [`WebTransportServer`] listens on a UDP port and serves the sessions of a
//! [`SocketIo`]: the same Engine.IO sessions as polling and WebSocket, so
//! namespaces, rooms, acks, binary, recovery and adapters work over it unchanged. A client
//! may start on it (`transports: ["webtransport"]`) or upgrade to it from polling: once
//! a server serves WebTransport, polling sessions list it in their `upgrades`.
//!
//! socket.io-client connects to WebTransport at the host and port of its URL, over
//! `https`: serve it on the UDP port of the same number as the HTTP server's TCP port.
//! A browser needs a certificate it trusts, or one it is told the hash of
//! (`transportOptions.webtransport.serverCertificateHashes`, for which the certificate must
//! be ECDSA and valid for at most 14 days: [`Identity::self_signed`] makes one).
//!
//! ```no_run
//! use sio_server::SocketIo;
//! use sio_server::webtransport::{Identity, WebTransportServer};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let (layer, io) = SocketIo::builder().build_layer();
//! io.ns("/", |socket| {
//!     socket.on("ping", |_, mut ev| {
//!         let _ = ev.ack(&"pong");
//!     });
//! });
//! // A development certificate; in production `Identity::load_pem("cert.pem", "key.pem")`.
//! let identity = Identity::self_signed(["localhost", "127.0.0.1"])?;
//! println!("serverCertificateHashes: {}", identity.certificate_hash_hex());
//! let wt = WebTransportServer::bind("127.0.0.1:3000".parse()?, identity)?;
//! tokio::spawn(wt.clone().serve(io.clone()));
//! // …the HTTP server (polling, WebSocket) on TCP port 3000 with `layer`, and once its
//! // graceful shutdown is done:
//! # let _ = layer;
//! wt.close().await;
//! # Ok(())
//! # }
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tracing::{debug, warn};

use crate::SocketIo;

/// Why WebTransport could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum WebTransportError {
    /// The certificate or key could not be read.
    #[error("cannot read the certificate or key: {0}")]
    Pem(String),
    /// A name of a self-signed certificate is not a valid DNS name or IP address.
    #[error("invalid certificate name: {0}")]
    Name(String),
    /// The UDP socket could not be bound.
    #[error("cannot listen for WebTransport: {0}")]
    Bind(#[from] std::io::Error),
}

/// The certificate chain and private key the server presents.
pub struct Identity(wtransport::Identity);

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("certificate_hash", &self.certificate_hash_hex())
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Reads a PEM certificate chain and its PEM private key (PKCS#8).
    pub async fn load_pem(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, WebTransportError> {
        wtransport::Identity::load_pemfiles(cert, key)
            .await
            .map(Identity)
            .map_err(|e| WebTransportError::Pem(e.to_string()))
    }

    /// A new self-signed ECDSA P-256 certificate for `names` (DNS names or IP addresses),
    /// valid for 14 days from now: what a browser accepts through
    /// `serverCertificateHashes` during development.
    pub fn self_signed<I, S>(names: I) -> Result<Self, WebTransportError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        wtransport::Identity::self_signed(names)
            .map(Identity)
            .map_err(|e| WebTransportError::Name(e.to_string()))
    }

    /// The SHA-256 hash of the (first) certificate's DER bytes.
    pub fn certificate_hash(&self) -> [u8; 32] {
        self.0
            .certificate_chain()
            .as_slice()
            .first()
            .map(|c| *c.hash().as_ref())
            .unwrap_or_default()
    }

    /// [`certificate_hash`](Self::certificate_hash) in lowercase hex.
    pub fn certificate_hash_hex(&self) -> String {
        self.certificate_hash()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The certificate chain in PEM.
    pub fn certificate_pem(&self) -> String {
        self.0
            .certificate_chain()
            .as_slice()
            .iter()
            .map(|c| c.to_pem())
            .collect()
    }
}

/// A WebTransport endpoint on a UDP socket; clones share it.
#[derive(Clone)]
pub struct WebTransportServer {
    endpoint: Arc<wtransport::Endpoint<wtransport::endpoint::endpoint_side::Server>>,
}

impl std::fmt::Debug for WebTransportServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebTransportServer")
            .field("local_addr", &self.endpoint.local_addr().ok())
            .finish()
    }
}

impl WebTransportServer {
    /// Listens on UDP `addr` with `identity`. Must be called within a tokio runtime.
    pub fn bind(addr: SocketAddr, identity: Identity) -> Result<Self, WebTransportError> {
        let config = wtransport::ServerConfig::builder()
            .with_bind_address(addr)
            .with_identity(identity.0)
            // QUIC's own keep-alive keeps NAT bindings open between Engine.IO heartbeats.
            .keep_alive_interval(Some(Duration::from_secs(15)))
            .build();
        Ok(WebTransportServer {
            endpoint: Arc::new(wtransport::Endpoint::server(config)?),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// Serves the sessions of `io` until its Engine.IO layer is gone (the server dropped)
    /// or [`close`](Self::close): each in a task of its own. From now on, polling sessions
    /// of `io` may upgrade to WebTransport.
    pub async fn serve(self, io: SocketIo) {
        let Some(engine) = io.0.engine() else {
            warn!("webtransport: the server has no engine (is its layer mounted?)");
            return;
        };
        engine.webtransport.store(true, Ordering::Relaxed);
        let weak = Arc::downgrade(&engine);
        drop(engine);
        loop {
            let incoming = self.endpoint.accept().await;
            let Some(engine) = weak.upgrade() else {
                break;
            };
            tokio::spawn(crate::engine::webtransport::serve(engine, incoming));
        }
        debug!("webtransport: the server is gone; endpoint closed");
    }

    /// Stops accepting, closes the connections left and waits (2 s at most) until the
    /// peers have been told. Call it after the server's graceful shutdown (which has
    /// closed every session and flushed what they had to say): QUIC says goodbye in
    /// packets of its own, which would otherwise go with the process, and the browsers
    /// would wait for their idle timeout to notice.
    pub async fn close(&self) {
        self.endpoint.close(wtransport::VarInt::from_u32(0), b"");
        if tokio::time::timeout(Duration::from_secs(2), self.endpoint.wait_idle())
            .await
            .is_err()
        {
            debug!("webtransport: connections still closing after 2 s");
        }
    }
}
