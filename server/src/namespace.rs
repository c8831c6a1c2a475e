//! Namespaces: their connection handler, middlewares, sockets and adapter.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use crate::ack::AckFuture;
use crate::adapter::{Adapter, AdapterError, Room};
use crate::args::{ArgError, EmitArgs};
use crate::broadcast::{BroadcastOperator, IntoRooms};
use crate::error::ConnectError;
use crate::server_side::{ServerSideError, ServerSideEvent, ServerSideFn, ServerSideHandlers};
use crate::sid::SidMap;
use crate::socket::Socket;
use sio_protocol::json::Value;

pub(crate) type MiddlewareFuture = Pin<Box<dyn Future<Output = Result<(), ConnectError>> + Send>>;
pub(crate) type MiddlewareFn = Arc<dyn Fn(Socket) -> MiddlewareFuture + Send + Sync>;
pub(crate) type ConnectFn = Arc<dyn Fn(Socket) + Send + Sync>;

/// What a namespace does with new sockets; shared by the children of a dynamic namespace.
pub(crate) struct Behaviour {
    on_connect: RwLock<ConnectFn>,
    middlewares: RwLock<Vec<MiddlewareFn>>,
    server_side: RwLock<ServerSideHandlers>,
}

impl Behaviour {
    pub fn new(on_connect: ConnectFn) -> Self {
        Self {
            on_connect: RwLock::new(on_connect),
            middlewares: RwLock::new(Vec::new()),
            server_side: RwLock::default(),
        }
    }

    pub fn server_side_handlers(&self) -> ServerSideHandlers {
        self.server_side
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn add_server_side(&self, event: Cow<'static, str>, f: ServerSideFn) {
        let mut handlers = self.server_side.write().unwrap_or_else(|e| e.into_inner());
        Arc::make_mut(&mut handlers).push((event, f));
    }

    pub fn on_connect(&self) -> ConnectFn {
        self.on_connect
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_on_connect(&self, f: ConnectFn) {
        *self.on_connect.write().unwrap_or_else(|e| e.into_inner()) = f;
    }

    pub fn middlewares(&self) -> Vec<MiddlewareFn> {
        self.middlewares
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn add_middleware<F, Fut>(&self, f: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        let f: MiddlewareFn = Arc::new(move |s| Box::pin(f(s)));
        self.middlewares
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(f);
    }
}

pub(crate) struct NamespaceInner {
    pub name: Arc<str>,
    pub behaviour: Arc<Behaviour>,
    pub adapter: Box<dyn Adapter>,
    sockets: RwLock<SidMap<Socket>>,
    ack_ids: AtomicU64,
}

impl NamespaceInner {
    pub fn new(name: Arc<str>, behaviour: Arc<Behaviour>, adapter: Box<dyn Adapter>) -> Self {
        Self {
            name,
            behaviour,
            adapter,
            sockets: RwLock::new(SidMap::default()),
            ack_ids: AtomicU64::new(0),
        }
    }

    /// Ack ids are unique per namespace, so a broadcast with acks uses one id for all.
    pub fn next_ack_id(&self) -> u64 {
        self.ack_ids.fetch_add(1, Ordering::Relaxed) & sio_protocol::socket::MAX_ACK_ID
    }

    pub fn sockets(&self) -> RwLockReadGuard<'_, SidMap<Socket>> {
        self.sockets.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add_socket(&self, socket: &Socket) {
        self.sockets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(socket.id(), socket.clone());
        self.adapter.add_socket(socket.id());
    }

    pub fn remove_socket(&self, socket: &Socket) {
        self.adapter.del_all(socket.id());
        self.sockets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&socket.id());
    }
}

/// A namespace: a handle to add middlewares and to broadcast to its sockets.
///
/// ```no_run
/// use sio_server::{ConnectError, SocketIo};
/// # fn f(io: SocketIo) {
/// io.ns("/admin", |socket| { /* … */ }).middleware(|socket| async move {
///     let token: Option<String> = socket.handshake().auth::<serde_json::Value>().ok()
///         .and_then(|a| a["token"].as_str().map(String::from));
///     match token.as_deref() {
///         Some("secret") => Ok(()),
///         _ => Err(ConnectError::new("unauthorized")),
///     }
/// });
/// # }
/// ```
#[derive(Clone)]
pub struct Namespace(pub(crate) Arc<NamespaceInner>);

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Namespace").field(&&*self.0.name).finish()
    }
}

impl Namespace {
    /// The namespace name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Adds a middleware, run in order for each new socket before it connects. Refusing
    /// sends the client a `connect_error` with the error's message and data.
    pub fn middleware<F, Fut>(&self, f: F) -> &Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.0.behaviour.add_middleware(f);
        self
    }

    /// Every socket of the namespace (`io.of(nsp).to(…)` etc. start here).
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.0.clone())
    }

    /// Targets the sockets in `rooms`.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// Targets every socket except those in `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().except(rooms)
    }

    /// Emits to every socket of the namespace.
    pub fn emit(&self, event: &str, args: impl crate::EmitArgs) -> Result<(), crate::EmitError> {
        self.broadcast().emit(event, args)
    }

    /// The socket with this id, if connected here.
    pub fn get_socket(&self, id: crate::Sid) -> Option<Socket> {
        self.0.sockets().get(&id).cloned()
    }

    /// Registers a handler for server-side event `event`: one that another node of the
    /// cluster sends with [`server_side_emit`](Self::server_side_emit) (or Node's
    /// `io.of(nsp).serverSideEmit`). It runs in the cluster adapter's receiving task:
    /// spawn for slow work. When the sender waits for answers, the first
    /// [`ServerSideEvent::ack`] of the node's handlers is its answer; a node whose
    /// handlers do not answer makes the sender time out.
    ///
    /// ```no_run
    /// # fn f(io: sio_server::SocketIo) {
    /// io.ns("/", |_| {}).on_server_side("ping", |mut ev| {
    ///     let from: String = ev.arg(0).unwrap_or_default();
    ///     let _ = ev.ack(&format!("pong to {from}"));
    /// });
    /// # }
    /// ```
    pub fn on_server_side<F>(&self, event: impl Into<Cow<'static, str>>, handler: F) -> &Self
    where
        F: Fn(ServerSideEvent) + Send + Sync + 'static,
    {
        self.0
            .behaviour
            .add_server_side(event.into(), Arc::new(handler));
        self
    }

    /// Sends server-side event `event` to the handlers of this namespace on every *other*
    /// node of the cluster (Node's `serverSideEmit`), not to clients. Without a cluster
    /// adapter it reaches nobody.
    pub fn server_side_emit(&self, event: &str, args: impl EmitArgs) -> Result<(), ArgError> {
        let data = crate::server_side::event_values(event, &args)?;
        self.0.adapter.server_side_emit(data);
        Ok(())
    }

    /// Sends server-side event `event` to every other node and collects one answer per node
    /// (Node's `serverSideEmitWithAck`), in arrival order. Fails with
    /// [`ServerSideError::Timeout`] (the answers that came, and how many were expected) when
    /// a node does not answer within the adapter's request timeout. Without a cluster
    /// adapter there is nobody to ask: no answers.
    ///
    /// ```no_run
    /// # async fn f(io: sio_server::SocketIo) {
    /// match io.server_side_emit_with_ack("ping", &"node-a").await {
    ///     Ok(answers) => println!("{} nodes answered", answers.len()),
    ///     Err(e) => eprintln!("{e}"), // timeout reached: only 1 responses received out of 2
    /// }
    /// # }
    /// ```
    pub fn server_side_emit_with_ack(
        &self,
        event: &str,
        args: impl EmitArgs,
    ) -> AckFuture<Result<Vec<Value>, ServerSideError>> {
        let sent = crate::server_side::event_values(event, &args)
            .map(|data| self.0.adapter.server_side_emit_with_ack(data));
        AckFuture::new(async move { sent?.await })
    }

    /// Every room of the namespace on every node of the cluster (Node's
    /// `adapter.allRooms()`), each listed once, sorted. As in Node, each socket's own-id
    /// room is one of them. Fails when a node does not answer within the adapter's request
    /// timeout; without a cluster adapter, this node's rooms.
    ///
    /// ```no_run
    /// # async fn f(io: sio_server::SocketIo) -> Result<(), sio_server::AdapterError> {
    /// if let Some(ns) = io.of("/chat") {
    ///     let channels: Vec<_> = ns.all_rooms().await?;
    ///     println!("{channels:?}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn all_rooms(&self) -> Result<Vec<Room>, AdapterError> {
        let remote = self.0.adapter.remote_rooms();
        let mut rooms = self.0.adapter.rooms();
        rooms.extend(self.0.sockets().keys().map(|s| Room::from(s.as_str())));
        rooms.extend(remote.await?);
        rooms.sort_unstable();
        rooms.dedup();
        Ok(rooms)
    }

    /// The number of sockets connected to the namespace on this node (Node's
    /// `io.of(nsp).sockets.size`).
    pub fn socket_count(&self) -> usize {
        self.0.sockets().len()
    }

    /// The number of rooms of the namespace on this node, each connected socket's own-id
    /// room included (Node's `io.of(nsp).adapter.rooms.size`). With
    /// [`socket_count`](Self::socket_count) and [`SocketIo::engine_count`](crate::SocketIo::engine_count),
    /// what an operator watches to see that nothing is left behind.
    ///
    /// ```
    /// let (_layer, io) = sio_server::SocketIo::new_layer();
    /// let ns = io.ns("/chat", |socket| socket.join("lobby"));
    /// assert_eq!((ns.socket_count(), ns.room_count()), (0, 0));
    /// ```
    pub fn room_count(&self) -> usize {
        self.0.adapter.room_count() + self.0.sockets().len()
    }
}
