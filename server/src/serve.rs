//! Serving an app on a listener until it is told to stop, the way a restart must go: stop
//! accepting first (clients that reconnect meanwhile find the next process, not this one),
//! then end every socket ("server shutting down") and close every connection, then wait for
//! the connections to finish, bounded by a drain deadline.

use std::future::{Future, IntoFuture};
use std::pin::{Pin, pin};
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower_service::Service;
use tracing::debug;

use crate::SocketIo;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What [`serve`] can serve: a cloneable tower service of hyper requests (an axum `Router`
/// is one) whose responses hyper can send. Implemented for every such service.
pub trait HttpApp:
    Service<Request<Incoming>, Response = Response<Self::Body>, Error: Into<BoxError>, Future: Send>
    + Clone
    + Send
    + 'static
{
    /// The response body.
    type Body: http_body::Body<Data: Send, Error: Into<BoxError>> + Send + 'static;
}

impl<S, B> HttpApp for S
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Body = B;
}

/// Serves `app` (a tower service: an axum `Router` with the [`SocketIo`] layer, or any
/// service of hyper requests) on `listener`: HTTP/1.1 with upgrades, `TCP_NODELAY` on every
/// connection (inherited from the listener when it has it). Without [`with_graceful_shutdown`](Serve::with_graceful_shutdown) it runs
/// until the process ends.
///
/// ```no_run
/// use std::time::Duration;
/// use sio_server::SocketIo;
///
/// # async fn run() -> std::io::Result<()> {
/// let (layer, io) = SocketIo::new_layer();
/// io.ns("/", |socket| socket.join("lobby"));
/// let app = axum::Router::new().layer(layer);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
/// sio_server::serve(listener, app, io)
///     .with_graceful_shutdown(async move {
///         term.recv().await;
///     })
///     .drain_deadline(Duration::from_secs(5))
///     .await
/// # }
/// ```
pub fn serve<S>(listener: TcpListener, app: S, io: SocketIo) -> Serve<S> {
    Serve {
        listener,
        app,
        io,
        signal: None,
        drain: Duration::from_secs(10),
    }
}

/// The server of [`serve`]: set it up, then `.await` it.
#[must_use = "a server does nothing until awaited"]
pub struct Serve<S> {
    listener: TcpListener,
    app: S,
    io: SocketIo,
    signal: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    drain: Duration,
}

impl<S> std::fmt::Debug for Serve<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("drain", &self.drain)
            .finish()
    }
}

impl<S> Serve<S> {
    /// Stops when `signal` resolves (SIGTERM, Ctrl-C, …): the listener is closed at once,
    /// then every socket leaves with "server shutting down" and every connection closes
    /// (see [`SocketIo::close`]), then the server waits for the connections to finish, up
    /// to the [drain deadline](Self::drain_deadline).
    pub fn with_graceful_shutdown(
        mut self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        self.signal = Some(Box::pin(signal));
        self
    }

    /// The longest the shutdown waits for sockets and connections to end (default 10 s);
    /// what is still open then is dropped.
    pub fn drain_deadline(mut self, deadline: Duration) -> Self {
        self.drain = deadline;
        self
    }
}

impl<S: HttpApp> IntoFuture for Serve<S> {
    type Output = std::io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

impl<S: HttpApp> Serve<S> {
    async fn run(self) -> std::io::Result<()> {
        let Serve {
            listener,
            app,
            io,
            signal,
            drain,
        } = self;
        let signal = signal.unwrap_or_else(|| Box::pin(std::future::pending()));
        // Told to the connections when the shutdown starts.
        let (stop_tx, stop_rx) = watch::channel(());
        // Held by every connection: closed once they have all ended.
        let (ended_tx, ended_rx) = watch::channel(());
        // The accept loop runs on a worker thread: on the thread that awaits this future (often
        // `main`, outside the runtime's workers) each connection would wake a worker across
        // threads.
        let accepting = tokio::spawn(accept(listener, app, signal, stop_rx, ended_rx));
        // It returns once the listener is closed: stop accepting before anything tells a
        // client to reconnect.
        let result = accepting.await.unwrap_or(Ok(()));
        debug!("shutting down: listener closed");
        let drained = async {
            io.close().await;
            let _ = stop_tx.send(());
            ended_tx.closed().await;
        };
        if tokio::time::timeout(drain, drained).await.is_err() {
            debug!("drain deadline reached: the remaining connections are dropped");
        }
        result
    }
}

/// Accepts connections until `signal`, then closes the listener.
async fn accept<S: HttpApp>(
    listener: TcpListener,
    app: S,
    mut signal: Pin<Box<dyn Future<Output = ()> + Send>>,
    stop: watch::Receiver<()>,
    ended: watch::Receiver<()>,
) -> std::io::Result<()> {
    // Whether accepted sockets need TCP_NODELAY set, or inherit it from a listener that has
    // it (as Linux and the BSDs do): a system call per connection spared. Checked once.
    let mut set_nodelay = None;
    let mut errors = 0u32;
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut signal => return Ok(()),
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((tcp, peer)) => {
                errors = 0;
                // Small frames must not wait for Nagle's algorithm.
                if *set_nodelay.get_or_insert_with(|| !tcp.nodelay().unwrap_or(false)) {
                    let _ = tcp.set_nodelay(true);
                }
                let app = WithPeer {
                    app: app.clone(),
                    peer: crate::RemoteAddr(peer),
                };
                tokio::spawn(connection(tcp, app, stop.clone(), ended.clone()));
            }
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                // Out of file descriptors, most likely: give connections time to end rather
                // than spin.
                if errors.is_power_of_two() || errors == 0 {
                    tracing::warn!(errors = errors + 1, "accept failed: {e}");
                }
                errors = errors.saturating_add(1);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// The app, with each request of one connection carrying the peer's address
/// ([`RemoteAddr`](crate::RemoteAddr), which handshakes keep).
#[derive(Clone)]
struct WithPeer<S> {
    app: S,
    peer: crate::RemoteAddr,
}

impl<S: HttpApp> Service<Request<Incoming>> for WithPeer<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.app.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(self.peer);
        self.app.call(req)
    }
}

/// Errors of one connection attempt that say nothing of the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// Serves one HTTP connection until it ends (a WebSocket goes on in its own task once
/// upgraded); at the shutdown, in-flight requests finish and then the connection closes.
async fn connection<S: HttpApp>(
    tcp: TcpStream,
    app: S,
    mut stop: watch::Receiver<()>,
    _ended: watch::Receiver<()>,
) {
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(app))
        .with_upgrades();
    let mut conn = pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    debug!("connection ended: {e}");
                }
                return;
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
