//! The server handle: configuration, namespaces, and the operations Node offers on `io`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock, Weak};
use std::time::Duration;

use crate::EmitArgs;
use crate::adapter::{Adapter, MemoryAdapter};
use crate::broadcast::{BroadcastOperator, IntoRooms};
use crate::client::SioHandler;
use crate::config::{Config, Transports};
use crate::engine::{Engine, Transport};
use crate::error::{ConnectError, EmitError};
use crate::namespace::{Behaviour, Namespace, NamespaceInner};
use crate::service::SocketIoLayer;
use crate::sid::Sid;
use crate::socket::{DisconnectReason, Socket};

type AdapterFactory = Arc<dyn Fn(&str) -> Box<dyn Adapter> + Send + Sync>;
type Matcher = Arc<dyn Fn(&str) -> bool + Send + Sync>;

pub(crate) struct ServerInner {
    pub config: Arc<Config>,
    nsps: RwLock<HashMap<Arc<str>, Arc<NamespaceInner>>>,
    dynamic: RwLock<Vec<(Matcher, Arc<Behaviour>)>>,
    /// Children of dynamic namespaces in `nsps`.
    children: AtomicUsize,
    adapter: AdapterFactory,
    engine: OnceLock<Weak<Engine<SioHandler>>>,
    /// Itself, for the children of dynamic namespaces that remove themselves.
    this: Weak<ServerInner>,
    /// What the Socket.IO layer counts (`crate::stats`).
    pub counters: Arc<crate::stats::SocketCounters>,
    /// Who follows every socket (`crate::observe`), shared with the namespaces.
    pub observer: Arc<crate::observe::Slot>,
    /// When the server was built (the admin UI's uptime).
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    pub started: std::time::Instant,
    /// Whether `admin::instrument` ran: once per server, whatever its mode.
    #[cfg(feature = "admin")]
    pub instrumented: std::sync::atomic::AtomicBool,
}

impl ServerInner {
    fn new_namespace(
        &self,
        name: &str,
        behaviour: Arc<Behaviour>,
        child: bool,
    ) -> Arc<NamespaceInner> {
        let parent =
            (child && self.config.cleanup_empty_child_namespaces).then(|| self.this.clone());
        let ns = Arc::new(NamespaceInner::new(
            Arc::from(name),
            behaviour,
            (self.adapter)(name),
            parent,
            self,
        ));
        ns.adapter.bind(crate::adapter::LocalNamespace::new(&ns));
        ns
    }

    fn nsps_read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Arc<str>, Arc<NamespaceInner>>> {
        self.nsps.read().unwrap_or_else(|e| e.into_inner())
    }

    fn nsps_write(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, HashMap<Arc<str>, Arc<NamespaceInner>>> {
        self.nsps.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The namespace a CONNECT to `name` joins, with one member counted for the new socket
    /// (the socket releases it when it ends): a registered one, or a child of the first
    /// dynamic namespace whose matcher accepts the name, made if it does not exist and the
    /// cap allows. `None`: an invalid namespace.
    pub fn namespace_for(&self, name: &str) -> Option<Arc<NamespaceInner>> {
        if let Some(ns) = self.nsps_read().get(name) {
            ns.acquire_member();
            return Some(ns.clone());
        }
        let site = crate::catch::Site {
            callback: crate::catch::Callback::NamespaceMatcher(name),
            nsp: name,
            socket: None,
        };
        let behaviour = {
            let dynamic = self.dynamic.read().unwrap_or_else(|e| e.into_inner());
            let found = crate::catch::call(site, || {
                dynamic.iter().position(|(matches, _)| matches(name))
            });
            found.flatten().map(|i| dynamic[i].1.clone())
        }?;
        // The adapter (with Redis, its subscriptions) is made outside the global lock.
        let fresh = self.new_namespace(name, behaviour, true);
        let mut nsps = self.nsps_write();
        if let Some(ns) = nsps.get(name) {
            ns.acquire_member();
            let ns = ns.clone();
            drop(nsps);
            fresh.adapter.close();
            return Some(ns);
        }
        if self.children.load(Ordering::Acquire) >= self.config.max_dynamic_namespaces {
            drop(nsps);
            fresh.adapter.close();
            tracing::debug!(
                nsp = name,
                "dynamic namespace refused: max_dynamic_namespaces reached"
            );
            return None;
        }
        self.children.fetch_add(1, Ordering::AcqRel);
        fresh.acquire_member();
        nsps.insert(fresh.name.clone(), fresh.clone());
        Some(fresh)
    }

    /// Removes child namespace `ns` if nobody is connecting or connected to it (Node's
    /// `cleanupEmptyChildNamespaces`), and closes its adapter.
    pub fn remove_if_empty(&self, ns: &Arc<NamespaceInner>) {
        let mut nsps = self.nsps_write();
        // Members are only added under this lock: none can appear while it is held.
        if ns.member_count() != 0 || !nsps.get(&ns.name).is_some_and(|n| Arc::ptr_eq(n, ns)) {
            return;
        }
        nsps.remove(&ns.name);
        self.children.fetch_sub(1, Ordering::AcqRel);
        drop(nsps);
        tracing::debug!(nsp = %ns.name, "empty child namespace removed");
        ns.adapter.close();
    }

    pub(crate) fn engine(&self) -> Option<Arc<Engine<SioHandler>>> {
        self.engine.get().and_then(Weak::upgrade)
    }
}

/// Builds a [`SocketIo`] server; every setting defaults to Node's.
///
/// ```
/// use std::time::Duration;
/// let (layer, io) = sio_server::SocketIo::builder()
///     .ping_interval(Duration::from_secs(10))
///     .max_payload(64 * 1024)
///     .build_layer();
/// # let _ = (layer, io);
/// ```
#[derive(Default)]
pub struct SocketIoBuilder {
    config: Config,
    cors: Option<tower_http::cors::CorsLayer>,
    /// None: the in-memory adapter (keeping recovery's sessions when that is on).
    adapter: Option<AdapterFactory>,
}

impl SocketIoBuilder {
    /// The path to answer on (default `/socket.io/`); a trailing `/` is added if missing.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let mut path = path.into();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if !path.ends_with('/') {
            path.push('/');
        }
        self.config.path = path;
        self
    }

    /// Time between pings (default 25 s).
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.config.ping_interval = d;
        self
    }

    /// Time to wait for a pong (default 20 s).
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.config.ping_timeout = d;
        self
    }

    /// Time a connection may stay without joining a namespace (default 45 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.config.connect_timeout = d;
        self
    }

    /// Time an upgrade to WebSocket may take (default 10 s).
    pub fn upgrade_timeout(mut self, d: Duration) -> Self {
        self.config.upgrade_timeout = d;
        self
    }

    /// Time a connection closed by the server may take to deliver its last packets (1 s).
    pub fn close_timeout(mut self, d: Duration) -> Self {
        self.config.close_timeout = d;
        self
    }

    /// Largest polling body or WebSocket message, in bytes (`maxHttpBufferSize`, 1 MB).
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.config.max_payload = bytes;
        self
    }

    /// Which transports to offer (both by default).
    pub fn transports(mut self, transports: Transports) -> Self {
        self.config.transports = transports;
        self
    }

    /// Whether polling connections may upgrade to WebSocket (default true).
    pub fn allow_upgrades(mut self, allow: bool) -> Self {
        self.config.allow_upgrades = allow;
        self
    }

    /// Packets queued for one connection before it is closed as too slow (default 10 000).
    pub fn max_buffered_packets(mut self, n: usize) -> Self {
        self.config.max_buffered_packets = n.max(1);
        self
    }

    /// Binary attachments accepted in one packet (default 10).
    pub fn max_attachments(mut self, n: usize) -> Self {
        self.config.max_attachments = n;
        self
    }

    /// Namespaces one connection may join at once (default 64).
    pub fn max_namespaces_per_connection(mut self, n: usize) -> Self {
        self.config.max_namespaces_per_session = n.max(1);
        self
    }

    /// Time a polling POST may take to deliver its body (default 45 s); a slower one closes
    /// its session as broken.
    pub fn post_timeout(mut self, d: Duration) -> Self {
        self.config.post_timeout = d;
        self
    }

    /// Time an `emit_with_ack` without a timeout of its own waits for the ack (default
    /// 60 s), then fails with [`AckError::Timeout`](crate::AckError::Timeout).
    pub fn ack_timeout(mut self, d: Duration) -> Self {
        self.config.ack_timeout = d;
        self
    }

    /// Whether children of dynamic namespaces are removed once empty (default true; Node's
    /// `cleanupEmptyChildNamespaces`, false there). An emptied child loses nothing but its
    /// adapter: the next CONNECT to its name makes it again.
    pub fn cleanup_empty_child_namespaces(mut self, cleanup: bool) -> Self {
        self.config.cleanup_empty_child_namespaces = cleanup;
        self
    }

    /// Children of dynamic namespaces that may exist at once (default 10 000); a CONNECT
    /// that would make one more gets "Invalid namespace".
    pub fn max_dynamic_namespaces(mut self, n: usize) -> Self {
        self.config.max_dynamic_namespaces = n;
        self
    }

    /// WebSocket read buffer per connection (default and least 256 bytes; see
    /// [`Config::ws_read_buffer`](crate::Config::ws_read_buffer)).
    pub fn ws_read_buffer(mut self, bytes: usize) -> Self {
        self.config.ws_read_buffer = bytes.max(256);
        self
    }

    /// Refuses (HTTP 403, Node's `{"code":4,"message":"Forbidden"}`) every request of a
    /// browser page whose `Origin` is not one of `origins` (as `https://app.example`,
    /// compared without case): WebSocket upgrades, which CORS does not cover, and polling
    /// alike. Requests without an `Origin` (native clients) pass. Set it for any app that
    /// authenticates with cookies, or any page could open a socket in its user's name.
    ///
    /// ```
    /// let (_layer, _io) = sio_server::SocketIo::builder()
    ///     .allowed_origins(["https://chat.example"])
    ///     .build_layer();
    /// ```
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config
            .gate
            .set_origins(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Node's `allowRequest`: asked about every handshake (a request without `sid`, polling
    /// or WebSocket) with its method, URI, headers and extensions (axum's `ConnectInfo`
    /// among them); `Err(message)` refuses it with HTTP 403 and `{"code":4,"message"}`.
    ///
    /// ```
    /// let (_layer, _io) = sio_server::SocketIo::builder()
    ///     .allow_request(|req| {
    ///         let ok = req.headers.contains_key("x-api-key");
    ///         Box::pin(async move { if ok { Ok(()) } else { Err("no key".into()) } })
    ///     })
    ///     .build_layer();
    /// ```
    pub fn allow_request<F>(mut self, f: F) -> Self
    where
        F: Fn(&http::request::Parts) -> crate::engine::AllowFuture + Send + Sync + 'static,
    {
        self.config.gate.set_allow(Arc::new(f));
        self
    }

    /// Called for every request the engine refuses (Node's `io.engine.on("connection_error")`):
    /// an unknown transport or session id, a bad handshake, a `Origin` not allowed, an
    /// [`allow_request`](Self::allow_request) refusal…, with Node's code and message and
    /// the request's method, URI and headers (copied for it only while such a handler is
    /// set).
    ///
    /// ```
    /// let (_layer, _io) = sio_server::SocketIo::builder()
    ///     .on_connection_error(|err| tracing::info!(code = err.code, %err.uri, "{}", err.message))
    ///     .build_layer();
    /// ```
    pub fn on_connection_error<F>(mut self, f: F) -> Self
    where
        F: Fn(&crate::engine::ConnectionError) + Send + Sync + 'static,
    {
        self.config.gate.on_refusal = Some(Arc::new(f));
        self
    }

    /// Node's `initial_headers` event: edits the headers of a handshake's answer (the
    /// first polling answer, or the WebSocket upgrade of a new session), given its request.
    ///
    /// ```
    /// let (_layer, _io) = sio_server::SocketIo::builder()
    ///     .initial_headers(|headers, _req| {
    ///         headers.insert("x-node", http::HeaderValue::from_static("eu-1"));
    ///     })
    ///     .build_layer();
    /// ```
    pub fn initial_headers<F>(mut self, f: F) -> Self
    where
        F: Fn(&mut http::HeaderMap, &http::request::Parts) + Send + Sync + 'static,
    {
        self.config.headers.initial = Some(Arc::new(f));
        self
    }

    /// Node's `headers` event: edits the headers of every answer that is not an error
    /// (polls, posts, upgrades, handshakes after [`initial_headers`](Self::initial_headers)).
    pub fn headers<F>(mut self, f: F) -> Self
    where
        F: Fn(&mut http::HeaderMap, &http::request::Parts) + Send + Sync + 'static,
    {
        self.config.headers.every = Some(Arc::new(f));
        self
    }

    /// Node's `cookie` option: a cookie holding the session id on each handshake's answer,
    /// for load balancers that keep a client on one node by cookie.
    ///
    /// ```
    /// use sio_server::engine::Cookie;
    /// let (_layer, _io) = sio_server::SocketIo::builder()
    ///     .cookie(Cookie { name: "sticky".into(), ..Cookie::default() })
    ///     .build_layer();
    /// ```
    pub fn cookie(mut self, cookie: crate::engine::Cookie) -> Self {
        self.config.headers.cookie = Some(cookie);
        self
    }

    /// Keeps values of the handshake request's extensions for the connection's sockets
    /// ([`Handshake::extensions`](crate::Handshake::extensions)): what the app's tower
    /// layers found out about the request, such as its authenticated user. Nothing is kept
    /// by default: a request's extensions may hold views of the connection's read buffer,
    /// which would then live as long as the connection.
    ///
    /// ```
    /// #[derive(Clone)]
    /// struct User(String);
    ///
    /// let (_layer, io) = sio_server::SocketIo::builder()
    ///     .carry_extensions(|req, kept| {
    ///         if let Some(user) = req.extensions.get::<User>() {
    ///             kept.insert(user.clone());
    ///         }
    ///     })
    ///     .build_layer();
    /// io.ns("/", |socket| {
    ///     let name = socket.handshake().extensions().get::<User>().map(|u| u.0.clone());
    ///     tracing::info!(?name, "connected");
    /// });
    /// ```
    pub fn carry_extensions<F>(mut self, f: F) -> Self
    where
        F: Fn(&http::request::Parts, &mut http::Extensions) + Send + Sync + 'static,
    {
        self.config.carry = Some(crate::handshake::Carry(Arc::new(f)));
        self
    }

    /// CORS for the Socket.IO endpoint (tower-http's layer; none by default).
    pub fn cors(mut self, cors: tower_http::cors::CorsLayer) -> Self {
        self.cors = Some(cors);
        self
    }

    /// The adapter each namespace gets, made from its name (in-memory by default).
    pub fn adapter<F, A>(mut self, make: F) -> Self
    where
        F: Fn(&str) -> A + Send + Sync + 'static,
        A: Adapter,
    {
        self.adapter = Some(Arc::new(move |name| Box::new(make(name))));
        self
    }

    /// The parser every namespace uses (Node's `parser` option):
    /// [`Parser::MsgPack`](crate::config::Parser::MsgPack) for clients with
    /// `socket.io-msgpack-parser`.
    ///
    /// ```
    /// use sio_server::{SocketIo, config::Parser};
    /// let (_layer, io) = SocketIo::builder().parser(Parser::MsgPack).build_layer();
    /// assert_eq!(io.config().parser, Parser::MsgPack);
    /// ```
    pub fn parser(mut self, parser: crate::config::Parser) -> Self {
        self.config.parser = parser;
        self
    }

    /// Turns connection state recovery on (Node's `connectionStateRecovery`): a client whose
    /// connection was cut gets its socket back, with its id, rooms and data, and every event
    /// it missed. See [`recovery`](crate::recovery). The in-memory adapter keeps the sessions
    /// and events; a cluster adapter must support it too (the Redis pub/sub one does not,
    /// as in Node).
    ///
    /// ```
    /// use sio_server::{RecoveryConfig, SocketIo};
    /// let (_layer, io) = SocketIo::builder()
    ///     .connection_state_recovery(RecoveryConfig::default())
    ///     .build_layer();
    /// io.ns("/", |socket| {
    ///     if socket.recovered() {
    ///         // Same id, rooms and data as before the cut; missed events are on their way.
    ///     } else {
    ///         socket.join("lobby");
    ///     }
    /// });
    /// ```
    pub fn connection_state_recovery(mut self, cfg: crate::RecoveryConfig) -> Self {
        self.config.connection_state_recovery = Some(cfg);
        self
    }

    /// Builds the server: a tower layer to mount, and the handle to use it.
    pub fn build_layer(self) -> (SocketIoLayer, SocketIo) {
        let adapter =
            self.adapter
                .unwrap_or_else(|| match &self.config.connection_state_recovery {
                    Some(cfg) => {
                        let cfg = cfg.clone();
                        Arc::new(move |_| Box::new(MemoryAdapter::with_recovery(cfg.clone())))
                    }
                    None => Arc::new(|_| Box::new(MemoryAdapter::new())),
                });
        let config = Arc::new(self.config);
        let inner = Arc::new_cyclic(|this| ServerInner {
            config: config.clone(),
            nsps: RwLock::new(HashMap::new()),
            dynamic: RwLock::new(Vec::new()),
            children: AtomicUsize::new(0),
            adapter,
            engine: OnceLock::new(),
            this: this.clone(),
            counters: Arc::default(),
            observer: Arc::default(),
            started: std::time::Instant::now(),
            #[cfg(feature = "admin")]
            instrumented: std::sync::atomic::AtomicBool::new(false),
        });
        let root = inner.new_namespace("/", Arc::new(Behaviour::new(Arc::new(|_| {}))), false);
        inner.nsps_write().insert(Arc::from("/"), root);
        let engine = Engine::new(
            config,
            SioHandler {
                server: inner.clone(),
            },
        );
        let _ = inner.engine.set(Arc::downgrade(&engine));
        (SocketIoLayer::new(engine, self.cors), SocketIo(inner))
    }
}

/// A Socket.IO server: register namespaces, broadcast, inspect connections.
///
/// Mount its layer on an axum `Router` (or any tower stack); requests outside its path
/// go through to the app.
///
/// ```no_run
/// use axum::Router;
/// use sio_server::SocketIo;
///
/// # async fn run() -> std::io::Result<()> {
/// let (layer, io) = SocketIo::builder().build_layer();
/// io.ns("/", |socket| {
///     socket.on("chat message", |socket, ev| {
///         if let Ok(msg) = ev.arg::<String>(0) {
///             let _ = socket.broadcast().emit("chat message", &msg);
///         }
///     });
/// });
/// let app = Router::new().layer(layer);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
#[derive(Clone)]
pub struct SocketIo(pub(crate) Arc<ServerInner>);

impl std::fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIo")
            .field("path", &self.0.config.path)
            .finish()
    }
}

/// A dynamic namespace: every name its matcher accepts becomes a namespace of its own,
/// sharing this one's connection handler and middlewares.
#[derive(Clone)]
pub struct DynNamespace(Arc<Behaviour>);

impl DynNamespace {
    /// Adds a middleware for every namespace this one creates.
    pub fn middleware<F, Fut>(&self, f: F) -> &Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.0.add_middleware(f);
        self
    }

    /// Registers a server-side event handler for every namespace this one creates (see
    /// [`Namespace::on_server_side`]).
    pub fn on_server_side<F>(
        &self,
        event: impl Into<std::borrow::Cow<'static, str>>,
        handler: F,
    ) -> &Self
    where
        F: Fn(crate::ServerSideEvent) + Send + Sync + 'static,
    {
        self.0.add_server_side(event.into(), Arc::new(handler));
        self
    }
}

/// One open connection (Engine.IO session).
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// The session id.
    pub id: Sid,
    /// The transport in use.
    pub transport: Transport,
    /// The transport of the handshake.
    pub initial_transport: Transport,
    query: Vec<(String, String)>,
}

impl ConnectionInfo {
    /// The handshake query parameter `key`.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl SocketIo {
    /// A builder with Node's defaults.
    pub fn builder() -> SocketIoBuilder {
        SocketIoBuilder::default()
    }

    /// A server with Node's defaults.
    pub fn new_layer() -> (SocketIoLayer, SocketIo) {
        Self::builder().build_layer()
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// Registers namespace `path` (or replaces its connection handler): `on_connect` runs
    /// for each socket once it is connected; register its event handlers there.
    pub fn ns<F>(&self, path: impl AsRef<str>, on_connect: F) -> Namespace
    where
        F: Fn(Socket) + Send + Sync + 'static,
    {
        let path = path.as_ref();
        let on_connect: crate::namespace::ConnectFn = Arc::new(on_connect);
        if let Some(ns) = self.0.nsps_read().get(path) {
            ns.behaviour.set_on_connect(on_connect);
            return Namespace(ns.clone());
        }
        // The adapter is made outside the global lock.
        let fresh = self
            .0
            .new_namespace(path, Arc::new(Behaviour::new(on_connect.clone())), false);
        let mut nsps = self.0.nsps_write();
        if let Some(ns) = nsps.get(path) {
            ns.behaviour.set_on_connect(on_connect);
            let ns = ns.clone();
            drop(nsps);
            fresh.adapter.close();
            return Namespace(ns);
        }
        nsps.insert(fresh.name.clone(), fresh.clone());
        Namespace(fresh)
    }

    /// Registers namespace `path` with an async connection handler. It starts as soon as
    /// the socket is connected, like [`ns`](Self::ns)'s, so handlers registered before its
    /// first `.await` miss no event; if it has to wait, it goes on in its own task.
    ///
    /// ```no_run
    /// # fn f(io: sio_server::SocketIo) {
    /// io.ns_async("/", |socket| async move {
    ///     socket.on("chat message", |socket, ev| {
    ///         let _ = socket.broadcast().emit("chat message", ev.args().to_raw());
    ///     });
    ///     // Slow work after the handlers are in place: events are not lost meanwhile.
    ///     tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    ///     let _ = socket.emit("welcome", ());
    /// });
    /// # }
    /// ```
    pub fn ns_async<F, Fut>(&self, path: impl AsRef<str>, on_connect: F) -> Namespace
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.ns(path, move |socket| {
            let nsp = socket.0.ns.name.clone();
            let site = crate::catch::Site {
                callback: crate::catch::Callback::Connect,
                nsp: &*nsp,
                socket: Some(socket.id()),
            };
            crate::catch::start(site, Box::pin(on_connect(socket)), |_| {});
        })
    }

    /// Registers a dynamic namespace: a CONNECT to any name `matches` accepts creates
    /// that namespace, handled by `on_connect`.
    ///
    /// ```no_run
    /// # fn f(io: sio_server::SocketIo) {
    /// io.dyn_ns(|name| name.starts_with("/room-"), |socket| {
    ///     println!("{} joined {}", socket.id(), socket.ns());
    /// });
    /// # }
    /// ```
    pub fn dyn_ns<M, F>(&self, matches: M, on_connect: F) -> DynNamespace
    where
        M: Fn(&str) -> bool + Send + Sync + 'static,
        F: Fn(Socket) + Send + Sync + 'static,
    {
        let behaviour = Arc::new(Behaviour::new(Arc::new(on_connect)));
        self.0
            .dynamic
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push((Arc::new(matches), behaviour.clone()));
        DynNamespace(behaviour)
    }

    /// The namespace `path`, if it exists.
    pub fn of(&self, path: &str) -> Option<Namespace> {
        self.0.nsps_read().get(path).map(|ns| Namespace(ns.clone()))
    }

    fn root(&self) -> Namespace {
        match self.of("/") {
            Some(ns) => ns,
            None => self.ns("/", |_| {}),
        }
    }

    /// Emits to every socket of `/`.
    pub fn emit(&self, event: &str, args: impl EmitArgs) -> Result<(), EmitError> {
        self.root().emit(event, args)
    }

    /// Targets the sockets of `/` in `rooms` (a socket id is a room too).
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.root().to(rooms)
    }

    /// The same as [`to`](Self::to).
    pub fn within(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.root().to(rooms)
    }

    /// Targets every socket of `/` except those in `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.root().except(rooms)
    }

    /// Every socket of `/`, this node only.
    pub fn local(&self) -> BroadcastOperator {
        self.root().broadcast().local()
    }

    /// Every socket of `/`, volatile.
    pub fn volatile(&self) -> BroadcastOperator {
        self.root().broadcast().volatile()
    }

    /// Every socket of `/`, with an ack timeout.
    pub fn timeout(&self, d: Duration) -> BroadcastOperator {
        self.root().broadcast().timeout(d)
    }

    /// Every socket of `/` on this node.
    pub async fn fetch_sockets(&self) -> Vec<Socket> {
        self.root().broadcast().fetch_sockets().await
    }

    /// Makes every socket of `/` join `rooms`.
    pub fn sockets_join(&self, rooms: impl IntoRooms) {
        self.root().broadcast().sockets_join(rooms)
    }

    /// Makes every socket of `/` leave `rooms`.
    pub fn sockets_leave(&self, rooms: impl IntoRooms) {
        self.root().broadcast().sockets_leave(rooms)
    }

    /// Disconnects every socket of `/`; with `close`, their connections too.
    pub fn disconnect_sockets(&self, close: bool) {
        self.root().broadcast().disconnect_sockets(close)
    }

    /// Registers a handler for server-side event `event` of `/` (see
    /// [`Namespace::on_server_side`]).
    pub fn on_server_side<F>(&self, event: impl Into<std::borrow::Cow<'static, str>>, handler: F)
    where
        F: Fn(crate::ServerSideEvent) + Send + Sync + 'static,
    {
        self.root().on_server_side(event, handler);
    }

    /// Sends server-side event `event` to `/` on every other node of the cluster (see
    /// [`Namespace::server_side_emit`]); reaches nobody without a cluster adapter.
    pub fn server_side_emit(
        &self,
        event: &str,
        args: impl EmitArgs,
    ) -> Result<(), crate::ArgError> {
        self.root().server_side_emit(event, args)
    }

    /// Sends server-side event `event` to `/` on every other node and collects one answer
    /// per node (see [`Namespace::server_side_emit_with_ack`]).
    pub fn server_side_emit_with_ack(
        &self,
        event: &str,
        args: impl EmitArgs,
    ) -> crate::AckFuture<Result<Vec<crate::Value>, crate::ServerSideError>> {
        self.root().server_side_emit_with_ack(event, args)
    }

    /// Every room of `/` on every node of the cluster (see [`Namespace::all_rooms`]).
    pub async fn all_rooms(&self) -> Result<Vec<crate::Room>, crate::AdapterError> {
        self.root().all_rooms().await
    }

    /// The number of open connections (Node's `io.engine.clientsCount`).
    pub fn engine_count(&self) -> usize {
        self.0.engine().map_or(0, |e| e.session_count())
    }

    /// Every namespace, registered and dynamic children alike, in no order.
    pub(crate) fn namespaces(&self) -> Vec<Namespace> {
        self.0
            .nsps_read()
            .values()
            .cloned()
            .map(Namespace)
            .collect()
    }

    /// The number of namespaces, registered and dynamic children alike (Node's
    /// `io._nsps.size`).
    ///
    /// ```
    /// let (_layer, io) = sio_server::SocketIo::new_layer();
    /// io.ns("/chat", |_| {});
    /// assert_eq!(io.namespace_count(), 2); // "/" always exists
    /// ```
    pub fn namespace_count(&self) -> usize {
        self.0.nsps_read().len()
    }

    /// What the server has counted since it started (sessions, traffic, connects and
    /// disconnects, broadcasts, drops, ack timeouts) and what it holds now (sessions by
    /// transport, sockets and rooms by namespace), on this node. Reads every live session:
    /// for a scrape every few seconds, not for every packet.
    ///
    /// ```
    /// let (_layer, io) = sio_server::SocketIo::new_layer();
    /// io.ns("/chat", |_| {});
    /// let stats = io.stats();
    /// assert_eq!(stats.polling_sessions + stats.websocket_sessions, 0);
    /// assert_eq!(stats.namespaces.len(), 2);
    /// assert_eq!(stats.traffic.packets_in, 0);
    /// ```
    pub fn stats(&self) -> crate::stats::Stats {
        let mut namespaces: Vec<_> = self
            .0
            .nsps_read()
            .values()
            .map(|ns| crate::stats::NamespaceStats {
                name: ns.name.to_string(),
                sockets: ns.sockets().len(),
                rooms: ns.adapter.room_count(),
            })
            .collect();
        namespaces.sort_by(|a, b| a.name.cmp(&b.name));
        let engine = self.0.engine();
        let now = engine.as_ref().map(|e| e.snapshot()).unwrap_or_default();
        let counters = engine.as_ref().map(|e| &e.counters);
        crate::stats::Stats::new(counters, now, &self.0.counters, namespaces)
    }

    /// Every open connection.
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        let Some(engine) = self.0.engine() else {
            return Vec::new();
        };
        engine
            .all_sessions()
            .into_iter()
            .filter(|s| !s.is_closed())
            .map(|s| ConnectionInfo {
                id: s.sid,
                transport: s.transport(),
                initial_transport: s.initial_transport,
                query: s.data.query_pairs(),
            })
            .collect()
    }

    /// Closes the server's connections: every socket leaves with reason
    /// "server shutting down", then every connection closes after flushing its queue.
    /// Resolves once they are closed, or after twice the close timeout.
    pub async fn close(&self) {
        for ns in self.namespaces() {
            let sockets: Vec<Socket> = ns.0.sockets().values().cloned().collect();
            for s in sockets {
                s.on_close(DisconnectReason::ServerShuttingDown);
            }
        }
        if let Some(engine) = self.0.engine() {
            engine.close_all().await;
        }
    }
}
