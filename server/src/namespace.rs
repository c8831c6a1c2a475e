//! Namespaces: their connection handler, middlewares, sockets and adapter.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, Weak};

use crate::ack::AckFuture;
use crate::adapter::{
    Adapter, AdapterError, BroadcastOptions, BroadcastPacket, LocalSockets, Room,
};
use crate::args::{ArgError, EmitArgs};
use crate::broadcast::{AckResponse, BroadcastOperator, IntoRooms};
use crate::error::ConnectError;
use crate::packet::{self, Packet};
use crate::server_side::{ServerSideError, ServerSideEvent, ServerSideFn, ServerSideHandlers};
use crate::sid::{SidMap, SidSet};
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
    /// Every socket, as a list a broadcast to all walks without holding `sockets`: made
    /// by the first such broadcast after a connect or disconnect, dropped by the next one.
    /// Lock order: this, then `sockets`.
    all: std::sync::Mutex<Option<Arc<[Socket]>>>,
    ack_ids: AtomicU64,
    /// Sockets that are connecting (middlewares running) or connected. Taken under the
    /// server's namespace lock (see `ServerInner::namespace_for`), so that a child
    /// namespace is removed only when nobody can be joining it.
    members: AtomicUsize,
    /// For a child of a dynamic namespace removed once empty: the server to remove it from.
    parent: Option<Weak<crate::io::ServerInner>>,
    /// How long an ack is awaited when the emit sets no timeout.
    pub ack_timeout: std::time::Duration,
    /// Connection state recovery, when the server has it on.
    pub recovery: Option<crate::RecoveryConfig>,
    /// The server's counters (`crate::stats`).
    pub counters: Arc<crate::stats::SocketCounters>,
    /// The server's observer (`crate::observe`), if it has one.
    observer: Arc<crate::observe::Slot>,
    /// How this namespace's packets are written.
    pub parser: crate::config::Parser,
}

impl NamespaceInner {
    pub fn new(
        name: Arc<str>,
        behaviour: Arc<Behaviour>,
        adapter: Box<dyn Adapter>,
        parent: Option<Weak<crate::io::ServerInner>>,
        server: &crate::io::ServerInner,
    ) -> Self {
        Self {
            name,
            behaviour,
            adapter,
            sockets: RwLock::new(SidMap::default()),
            all: std::sync::Mutex::new(None),
            ack_ids: AtomicU64::new(0),
            members: AtomicUsize::new(0),
            parent,
            ack_timeout: server.config.ack_timeout,
            recovery: server.config.connection_state_recovery.clone(),
            counters: server.counters.clone(),
            observer: server.observer.clone(),
            parser: server.config.parser,
        }
    }

    pub fn observer(&self) -> Option<&Arc<dyn crate::observe::Observer>> {
        self.observer.get()
    }

    /// Runs `op`, a change to the rooms of the sockets `sids`, telling the server's
    /// observer which rooms each joined or left.
    pub fn change_rooms(&self, sids: &[crate::Sid], op: impl FnOnce()) {
        match self.observer.get() {
            Some(o) => crate::observe::rooms_across(&**o, &self.name, &*self.adapter, sids, op),
            None => op(),
        }
    }

    /// Runs `op`, a change to the rooms of the sockets of this node that `opts` selects
    /// (`socketsJoin`, `socketsLeave`), as [`change_rooms`](Self::change_rooms) does. With
    /// an observer, `op` gets a snapshot of the sockets, so that the observer is told with
    /// no lock held.
    pub fn change_rooms_of(&self, opts: &BroadcastOptions, op: impl FnOnce(&LocalSockets<'_>)) {
        if self.observer.get().is_none() {
            let sockets = self.sockets();
            return op(&LocalSockets::new(&sockets));
        }
        let sockets = self.sockets().clone();
        let local = LocalSockets::new(&sockets);
        let mut sids = Vec::new();
        self.adapter.select(opts, &local, &mut |sid| sids.push(sid));
        self.change_rooms(&sids, || op(&local));
    }

    /// One more socket is joining; call under the server's namespace lock.
    pub fn acquire_member(&self) {
        self.members.fetch_add(1, Ordering::AcqRel);
    }

    /// A socket that joined has ended; an emptied child namespace is removed.
    pub fn release_member(self: &Arc<Self>) {
        if self.members.fetch_sub(1, Ordering::AcqRel) == 1 {
            if let Some(server) = self.parent.as_ref().and_then(Weak::upgrade) {
                server.remove_if_empty(self);
            }
        }
    }

    pub fn member_count(&self) -> usize {
        self.members.load(Ordering::Acquire)
    }

    /// Ack ids are unique per namespace, so a broadcast with acks uses one id for all.
    pub fn next_ack_id(&self) -> u64 {
        self.ack_ids.fetch_add(1, Ordering::Relaxed) & sio_protocol::socket::MAX_ACK_ID
    }

    /// Whether the socket map could be locked for writing now (for tests of the fan-out).
    #[cfg(test)]
    pub fn sockets_try_write(&self) -> bool {
        self.sockets.try_write().is_ok()
    }

    pub fn sockets(&self) -> RwLockReadGuard<'_, SidMap<Socket>> {
        self.sockets.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a connecting socket, unless it ended meanwhile (then false). The socket becomes
    /// connected under the socket lock, so its end, whenever it comes, finds it here.
    pub fn add_socket(&self, socket: &Socket) -> bool {
        {
            let mut sockets = self.sockets.write().unwrap_or_else(|e| e.into_inner());
            if !socket.try_set_connected() {
                return false;
            }
            sockets.insert(socket.id(), socket.clone());
            self.adapter.add_socket(socket.id());
        }
        self.counters.connected();
        self.forget_all();
        true
    }

    pub fn remove_socket(&self, socket: &Socket) {
        self.adapter.del_all(socket.id());
        self.sockets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&socket.id());
        self.forget_all();
    }

    /// Drops the list of every socket after a change (outside `sockets`: see `all`). A
    /// list made before the change is dropped here, one made after it is current.
    fn forget_all(&self) {
        let stale = self.all.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(stale);
    }

    /// Every connected socket, from the shared list (made now if a change dropped it).
    fn all_sockets(&self) -> Arc<[Socket]> {
        let mut all = self.all.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(list) = &*all {
            return list.clone();
        }
        let list: Arc<[Socket]> = self.sockets().values().cloned().collect();
        *all = Some(list.clone());
        list
    }

    /// The sockets of this node that `opts` selects, taken from the socket map under its
    /// read lock, which is released before anything is sent to them: a long fan-out must
    /// not hold back connects (std's `RwLock` makes readers wait behind a waiting writer).
    pub fn selected(&self, opts: &BroadcastOptions) -> Recipients {
        if opts.rooms.is_empty() {
            let excluded = (!opts.except.is_empty()).then(|| {
                // The members of the excepted rooms, found once for the whole fan-out.
                let of_rooms = BroadcastOptions {
                    rooms: opts.except.clone(),
                    ..Default::default()
                };
                let sockets = self.sockets();
                let mut set = SidSet::default();
                self.adapter
                    .select(&of_rooms, &LocalSockets::new(&sockets), &mut |sid| {
                        set.insert(sid);
                    });
                set
            });
            return Recipients::All(self.all_sockets(), excluded);
        }
        let sockets = self.sockets();
        let mut list = Vec::new();
        self.adapter
            .select(opts, &LocalSockets::new(&sockets), &mut |sid| {
                if let Some(s) = sockets.get(&sid) {
                    list.push(s.clone());
                }
            });
        Recipients::Some(list)
    }

    /// Encodes event `event` to the sockets that `opts` selects. With recovery on, a
    /// non-volatile event gets an offset and is kept by the adapter for replay (when it keeps
    /// events); `opts` is only asked for then, so that emits pay nothing for it otherwise.
    pub fn encode_event<'o>(
        &self,
        event: &str,
        args: &(impl EmitArgs + ?Sized),
        volatile: bool,
        opts: impl FnOnce() -> Cow<'o, BroadcastOptions>,
    ) -> Result<BroadcastPacket, ArgError> {
        if self.recovery.is_some() && !volatile {
            let kept = self.adapter.keep_packet(&opts(), &mut |offset| {
                packet::encode_with_offset(&self.name, event, args, offset).map(BroadcastPacket)
            });
            if let Some(packet) = kept {
                return packet;
            }
        }
        packet::encode(&self.name, Some(event), None, args).map(BroadcastPacket)
    }

    /// Connection state recovery over the adapter's shared log (the Redis Streams
    /// adapter): hands `packet`, an event without an offset, to the log for the sockets
    /// that `opts` selects, and calls what `deliver` makes with it once the log has answered, carrying
    /// its offset (or none when the log could not take it). False, with nothing sent, when
    /// recovery is off or the adapter has no log: the caller sends the event itself.
    pub fn append_event<'o, F>(
        &self,
        packet: &BroadcastPacket,
        opts: impl FnOnce() -> &'o BroadcastOptions,
        deliver: impl FnOnce() -> F,
    ) -> bool
    where
        F: FnOnce(BroadcastPacket) + Send + 'static,
    {
        if self.recovery.is_none() {
            return false;
        }
        // `deliver` is made only when the adapter has a log: emits pay nothing otherwise.
        let mut make = Some(deliver);
        self.adapter.append_broadcast(packet, opts(), &mut || {
            let (packet, deliver) = (packet.clone(), make.take().map(|m| m()));
            Box::new(move |offset| {
                let packet = match offset {
                    Some(o) => packet.with_offset(o),
                    None => packet,
                };
                if let Some(deliver) = deliver {
                    deliver(packet);
                }
            })
        })
    }

    /// Sends `packet`, an event with ack id `id`, to this node's sockets that `opts`
    /// selects: one future per socket that got it, resolving to its ack or, after
    /// `timeout`, to a timeout (the socket then forgets the id).
    pub fn send_with_ack(
        &self,
        packet: &Packet,
        id: u64,
        opts: &BroadcastOptions,
        timeout: std::time::Duration,
    ) -> Vec<AckFuture<AckResponse>> {
        let mut waits = Vec::new();
        self.selected(opts).for_each(|s| {
            let rx = s.register_ack(id);
            if s.send_packet(packet, opts.volatile).is_ok() {
                let socket = s.clone();
                let sid = s.id();
                let wait = crate::ack::wait(rx, Some(timeout), move || {
                    socket.0.ns.counters.ack_timed_out();
                    socket.forget_ack(id);
                });
                waits.push(AckFuture::new(async move {
                    AckResponse {
                        socket: Some(sid),
                        result: wait.await,
                    }
                }));
            } else {
                s.forget_ack(id);
            }
        });
        waits
    }

    /// Sends `packet` to this node's sockets that `opts` selects; a socket whose queue is
    /// full is disconnected as too slow without failing the others.
    pub fn deliver(&self, packet: &Packet, opts: &BroadcastOptions) {
        self.selected(opts).for_each(|s| {
            let _ = s.send_packet(packet, opts.volatile);
        });
    }
}

/// Sockets a broadcast reaches on this node.
pub(crate) enum Recipients {
    /// Every socket, but those in the set.
    All(Arc<[Socket]>, Option<SidSet>),
    /// These.
    Some(Vec<Socket>),
}

impl Recipients {
    pub fn for_each(&self, mut f: impl FnMut(&Socket)) {
        match self {
            Recipients::All(all, excluded) => {
                for s in all.iter() {
                    if !excluded.as_ref().is_some_and(|e| e.contains(&s.id())) {
                        f(s);
                    }
                }
            }
            Recipients::Some(list) => list.iter().for_each(f),
        }
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
