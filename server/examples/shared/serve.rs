//! What every example server does the same way: logs to stderr (quiet unless `RUST_LOG`
//! says otherwise), settings from the environment, and serving an axum app on
//! `127.0.0.1:$PORT` with TCP_NODELAY until SIGTERM or Ctrl-C closes every socket.

use axum::Router;
use axum::serve::ListenerExt;
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

/// Serves `app` on 127.0.0.1:$PORT (default 3000) until SIGTERM or Ctrl-C, then closes
/// every socket of `io`.
pub async fn serve(app: Router, io: SocketIo) -> std::io::Result<()> {
    let port = u16::try_from(env_num("PORT", 3000)).unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await?
        .tap_io(|tcp| {
            // Small frames must not wait for Nagle's algorithm.
            let _ = tcp.set_nodelay(true);
        });
    tracing::info!("listening on 127.0.0.1:{port}");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        io.close().await;
    };
    // Open connections would hold a graceful axum shutdown; the sockets are closed above.
    tokio::select! {
        r = axum::serve(listener, app) => r,
        () = shutdown => Ok(()),
    }
}
