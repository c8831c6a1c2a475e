//! Namespaces: their connection handler, middlewares, sockets and adapter.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use crate::adapter::Adapter;
use crate::broadcast::{BroadcastOperator, IntoRooms};
use crate::error::ConnectError;
use crate::sid::SidMap;
use crate::socket::Socket;

pub(crate) type MiddlewareFuture = Pin<Box<dyn Future<Output = Result<(), ConnectError>> + Send>>;
pub(crate) type MiddlewareFn = Arc<dyn Fn(Socket) -> MiddlewareFuture + Send + Sync>;
pub(crate) type ConnectFn = Arc<dyn Fn(Socket) + Send + Sync>;

/// What a namespace does with new sockets; shared by the children of a dynamic namespace.
pub(crate) struct Behaviour {
    on_connect: RwLock<ConnectFn>,
    middlewares: RwLock<Vec<MiddlewareFn>>,
}

impl Behaviour {
    pub fn new(on_connect: ConnectFn) -> Self {
        Self {
            on_connect: RwLock::new(on_connect),
            middlewares: RwLock::new(Vec::new()),
        }
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

    /// The number of sockets connected to the namespace on this node.
    pub fn socket_count(&self) -> usize {
        self.0.sockets().len()
    }
}
