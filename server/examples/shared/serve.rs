//! What every example server does the same way: logs to stderr (quiet unless `RUST_LOG`
//! says otherwise), settings from the environment, and serving an axum app on
//! `$HOST:$PORT` (default `127.0.0.1:3000`) with TCP_NODELAY until SIGTERM or Ctrl-C closes
//! every socket.

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
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
/// closes every socket of `io`.
#[allow(dead_code)] // not every example says where it listens
pub async fn serve(app: Router, io: SocketIo) -> std::io::Result<()> {
    serve_with(app, io, |_| {}).await
}

/// [`serve`], calling `listening` with the bound address once the port is open.
///
/// The accept loop is a task of the runtime, so that a connection is accepted, parsed and
/// upgraded on the worker that serves it (`#[tokio::main]` runs its own future on the main
/// thread, and every accepted connection would wake a worker across threads). Connections
/// are HTTP/1 (what Socket.IO speaks): `axum::serve` would first read 24 bytes to look
/// for an HTTP/2 preface, one more system call per connection.
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
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        io.close().await;
    };
    // Open connections would hold a graceful shutdown; the sockets are closed above.
    let accept = tokio::spawn(accept_loop(listener, app));
    tokio::select! {
        r = accept => r.unwrap_or(Ok(())),
        () = shutdown => Ok(()),
    }
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

async fn accept_loop(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    let http = hyper::server::conn::http1::Builder::new();
    // Whether accepted sockets need TCP_NODELAY set (they inherit it from the listener
    // where the OS does that): checked on the first one.
    let mut set_nodelay = None;
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(err) => {
                // As axum::serve: a connection that failed before it was accepted is no
                // reason to stop; running out of file descriptors is one to wait.
                if !matches!(
                    err.kind(),
                    std::io::ErrorKind::ConnectionRefused
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::ConnectionReset
                ) {
                    tracing::error!("accept error: {err}");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                continue;
            }
        };
        // Small frames must not wait for Nagle's algorithm.
        if *set_nodelay.get_or_insert_with(|| !tcp.nodelay().unwrap_or(false)) {
            let _ = tcp.set_nodelay(true);
        }
        let svc = TowerToHyperService::new(app.clone());
        let conn = http
            .serve_connection(TokioIo::new(tcp), svc)
            .with_upgrades();
        tokio::spawn(async move {
            if let Err(err) = conn.await {
                tracing::trace!("connection failed: {err:#}");
            }
        });
    }
}
