//! What every example server does the same way: logs to stderr (quiet unless `RUST_LOG`
//! says otherwise), settings from the environment, and serving an axum app on
//! `$HOST:$PORT` (default `127.0.0.1:3000`) until SIGTERM or Ctrl-C, with the library's
//! graceful shutdown (`sio_server::serve`).

use axum::Router;
use sio_server::SocketIo;

/// Logs to stderr, at `warn` unless `RUST_LOG` says otherwise.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
}

/// The number in environment variable `name`, or `default`.
pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Serves `app` on $HOST:$PORT (default 127.0.0.1:3000) until SIGTERM or Ctrl-C, then
/// shuts down as [`sio_server::serve`] does: stop accepting, close every socket of `io`,
/// wait for the connections to end.
#[allow(dead_code)] // not every example says where it listens
pub async fn serve(app: Router, io: SocketIo) -> std::io::Result<()> {
    serve_with(app, io, |_| {}).await
}

/// [`serve`], calling `listening` with the bound address once the port is open.
pub async fn serve_with(
    app: Router,
    io: SocketIo,
    listening: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    let port = u16::try_from(env_num("PORT", 3000)).unwrap_or(3000);
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let listener = listen((host.as_str(), port)).await?;
    let addr = listener.local_addr()?;
    tracing::info!("listening on {addr}");
    listening(addr);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let stop = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    sio_server::serve(listener, app, io)
        .with_graceful_shutdown(stop)
        .await
}

/// A listener on the first address `addr` resolves to, with TCP_NODELAY set: accepted
/// sockets inherit it (Linux and the BSDs do), which spares a system call per connection.
async fn listen(addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<tokio::net::TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        let _ = socket.set_nodelay(true);
        match socket.bind(addr).and_then(|()| socket.listen(1024)) {
            Ok(listener) => return Ok(listener),
            Err(err) => last = Some(err),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no address to listen on")))
}
