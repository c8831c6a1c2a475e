//! `WT_PORT`: WebTransport for the example servers (issue 17's settings of the contract
//! server): UDP `HOST:WT_PORT` (socket.io-client looks for it at the port of its URL, so
//! `WT_PORT=$PORT` for clients that start on HTTP), with the certificate and key of
//! `WT_CERT`/`WT_KEY` (PEM), or else a self-signed development certificate for `localhost`
//! and `127.0.0.1`, valid 14 days, whose SHA-256 is printed on stdout for the browser's
//! `serverCertificateHashes`:
//!
//! ```text
//! webtransport certificate sha-256 3f0a…e1
//! ```

use sio_server::SocketIo;

#[cfg(feature = "webtransport")]
pub use sio_server::webtransport::WebTransportServer as Handle;
/// Nothing to close without the feature.
#[cfg(not(feature = "webtransport"))]
pub enum Handle {}

/// Starts WebTransport for `io` when `WT_PORT` is set; [`close`] it after the shutdown.
pub async fn webtransport(io: &SocketIo) -> std::io::Result<Option<Handle>> {
    let Ok(port) = std::env::var("WT_PORT") else {
        return Ok(None);
    };
    let port: u16 = port
        .trim()
        .parse()
        .map_err(|_| std::io::Error::other(format!("WT_PORT={port:?} is not a port")))?;
    serve(io, port).await
}

/// Says goodbye to the WebTransport peers left (after the graceful shutdown).
pub async fn close(handle: Option<Handle>) {
    #[cfg(feature = "webtransport")]
    if let Some(wt) = handle {
        wt.close().await;
    }
    #[cfg(not(feature = "webtransport"))]
    if let Some(never) = handle {
        match never {}
    }
}

#[cfg(feature = "webtransport")]
async fn serve(io: &SocketIo, port: u16) -> std::io::Result<Option<Handle>> {
    use sio_server::webtransport::{Identity, WebTransportServer};
    let identity = match (std::env::var("WT_CERT"), std::env::var("WT_KEY")) {
        (Ok(cert), Ok(key)) => Identity::load_pem(cert, key).await,
        (Err(_), Err(_)) => {
            let identity = Identity::self_signed(["localhost", "127.0.0.1"]);
            if let Ok(id) = &identity {
                println!(
                    "webtransport certificate sha-256 {}",
                    id.certificate_hash_hex()
                );
            }
            identity
        }
        _ => return Err(std::io::Error::other("WT_CERT and WT_KEY go together")),
    }
    .map_err(std::io::Error::other)?;
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let ip: std::net::IpAddr = host.parse().map_err(|_| {
        std::io::Error::other(format!("HOST={host:?}: WebTransport needs an IP address"))
    })?;
    let server =
        WebTransportServer::bind((ip, port).into(), identity).map_err(std::io::Error::other)?;
    tracing::info!("webtransport on udp {}", server.local_addr()?);
    tokio::spawn(server.clone().serve(io.clone()));
    Ok(Some(server))
}

#[cfg(not(feature = "webtransport"))]
async fn serve(_: &SocketIo, _: u16) -> std::io::Result<Option<Handle>> {
    Err(std::io::Error::other(
        "WT_PORT is set, but this server was built without the `webtransport` feature",
    ))
}
