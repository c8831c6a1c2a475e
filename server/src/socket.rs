//! A socket: one client connected to one namespace.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use tracing::debug;

use crate::ack::{self, AckFuture, AckMap, AckResult};
use crate::adapter::Room;
use crate::args::{Args, EmitArgs};
use crate::broadcast::{BroadcastOperator, IntoRooms};
use crate::client::Client;
use crate::engine::{CloseReason, Session, Transport};
use crate::error::{AckError, EmitError};
use crate::handshake::Handshake;
use crate::namespace::NamespaceInner;
use crate::packet::{self, Packet};
use crate::sid::Sid;

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
type EventFn = Arc<dyn Fn(Socket, Event) -> Option<BoxFuture> + Send + Sync>;
type AnyFn = Arc<dyn Fn(&Socket, &str, &Args) + Send + Sync>;
type DisconnectFn = Arc<dyn Fn(Socket, DisconnectReason) + Send + Sync>;

/// Why a socket left its namespace, with the reason strings Node uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client closed the connection.
    TransportClose,
    /// The connection failed, or the client read too slowly.
    TransportError,
    /// The client stopped answering pings.
    PingTimeout,
    /// The client sent a packet that could not be decoded.
    ParseError,
    /// The server closed the connection.
    ForcedClose,
    /// The server disconnected the socket (`socket.disconnect()`).
    ServerNamespaceDisconnect,
    /// The client disconnected the socket (`socket.disconnect()` on the client).
    ClientNamespaceDisconnect,
    /// The server is shutting down.
    ServerShuttingDown,
}

impl DisconnectReason {
    /// The reason string Node reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::PingTimeout => "ping timeout",
            Self::ParseError => "parse error",
            Self::ForcedClose => "forced close",
            Self::ServerNamespaceDisconnect => "server namespace disconnect",
            Self::ClientNamespaceDisconnect => "client namespace disconnect",
            Self::ServerShuttingDown => "server shutting down",
        }
    }
}

impl From<CloseReason> for DisconnectReason {
    fn from(r: CloseReason) -> Self {
        match r {
            CloseReason::TransportClose => Self::TransportClose,
            CloseReason::TransportError | CloseReason::BufferFull => Self::TransportError,
            CloseReason::PingTimeout => Self::PingTimeout,
            CloseReason::ParseError => Self::ParseError,
            CloseReason::ForcedClose => Self::ForcedClose,
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Default)]
struct Handlers {
    events: Vec<(Cow<'static, str>, EventFn)>,
    /// Shared so that dispatching an event clones a pointer, not the list.
    any: Arc<Vec<AnyFn>>,
    disconnecting: Vec<DisconnectFn>,
    disconnect: Vec<DisconnectFn>,
}

pub(crate) struct SocketInner {
    pub(crate) id: Sid,
    pub(crate) ns: Arc<NamespaceInner>,
    pub(crate) session: Arc<Session<Client>>,
    pub(crate) handshake: Handshake,
    handlers: RwLock<Handlers>,
    acks: Mutex<AckMap>,
    connected: AtomicBool,
    extensions: Mutex<http::Extensions>,
}

/// A client connected to a namespace; cheap to clone (a reference).
///
/// ```no_run
/// # fn f(io: sio_server::SocketIo) {
/// io.ns("/", |socket| {
///     socket.on("chat message", |socket, ev| {
///         if let Ok(msg) = ev.arg::<String>(0) {
///             let _ = socket.broadcast().emit("chat message", &msg);
///         }
///     });
/// });
/// # }
/// ```
#[derive(Clone)]
pub struct Socket(pub(crate) Arc<SocketInner>);

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.0.id)
            .field("nsp", &&*self.0.ns.name)
            .finish()
    }
}

impl PartialEq for Socket {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// A received event: its name, arguments, and the means to acknowledge it.
#[derive(Debug)]
pub struct Event {
    name: EventName,
    args: Args,
    ack: Option<AckSender>,
}

#[derive(Debug)]
enum EventName {
    /// Where the name sits in the packet (names without escapes).
    Slice(Bytes),
    /// An unescaped copy.
    Owned(Box<str>),
}

impl Event {
    pub(crate) fn new(
        name: Cow<'_, str>,
        owner: &Bytes,
        args: Args,
        ack: Option<AckSender>,
    ) -> Self {
        let name = match name {
            Cow::Borrowed(s) if owner.as_ptr_range().contains(&s.as_ptr()) => {
                EventName::Slice(owner.slice_ref(s.as_bytes()))
            }
            other => EventName::Owned(other.into_owned().into_boxed_str()),
        };
        Self { name, args, ack }
    }

    /// The event name.
    pub fn name(&self) -> &str {
        match &self.name {
            EventName::Slice(b) => std::str::from_utf8(b).unwrap_or_default(),
            EventName::Owned(s) => s,
        }
    }

    /// The arguments.
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// Argument `i` as `T` (shorthand for `args().get(i)`).
    pub fn arg<T: serde::de::DeserializeOwned>(&self, i: usize) -> Result<T, crate::ArgError> {
        self.args.get(i)
    }

    /// Whether the client asked for an acknowledgement.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Takes the acknowledgement sender, if the client asked for one.
    pub fn take_ack(&mut self) -> Option<AckSender> {
        self.ack.take()
    }

    /// Acknowledges the event with `args`; does nothing if no ack was asked for.
    pub fn ack(&mut self, args: impl EmitArgs) -> Result<(), EmitError> {
        match self.ack.take() {
            Some(ack) => ack.send(args),
            None => Ok(()),
        }
    }
}

/// Sends the acknowledgement of one event, once.
#[derive(Debug)]
pub struct AckSender {
    socket: Socket,
    id: u64,
}

impl AckSender {
    pub(crate) fn new(socket: Socket, id: u64) -> Self {
        Self { socket, id }
    }

    /// Sends the ack with `args`.
    pub fn send(self, args: impl EmitArgs) -> Result<(), EmitError> {
        let packet = packet::encode(&self.socket.0.ns.name, None, Some(self.id), &args)?;
        self.socket.send_packet(&packet, false)
    }
}

/// Emits from one socket with an ack timeout: `socket.timeout(d).emit_with_ack(…)`.
#[derive(Debug, Clone)]
pub struct TimeoutSocket {
    socket: Socket,
    timeout: Duration,
}

impl TimeoutSocket {
    /// Emits `event` and waits up to the timeout for the client's ack.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: impl EmitArgs,
    ) -> AckFuture<Result<Args, AckError>> {
        self.socket
            .emit_with_ack_inner(event, &args, Some(self.timeout))
    }
}

impl Socket {
    pub(crate) fn new(
        ns: Arc<NamespaceInner>,
        session: Arc<Session<Client>>,
        handshake: Handshake,
    ) -> Self {
        Socket(Arc::new(SocketInner {
            id: Sid::new(),
            ns,
            session,
            handshake,
            handlers: RwLock::new(Handlers::default()),
            acks: Mutex::new(AckMap::default()),
            connected: AtomicBool::new(false),
            extensions: Mutex::new(http::Extensions::new()),
        }))
    }

    /// The socket id; the socket is also in the room of that name.
    pub fn id(&self) -> Sid {
        self.0.id
    }

    /// The namespace name, e.g. `/` or `/chat`.
    pub fn ns(&self) -> &str {
        &self.0.ns.name
    }

    /// The handshake: headers, query and auth payload.
    pub fn handshake(&self) -> &Handshake {
        &self.0.handshake
    }

    /// Whether the socket is connected to its namespace.
    pub fn connected(&self) -> bool {
        self.0.connected.load(Ordering::Acquire)
    }

    /// The Engine.IO session id of the underlying connection.
    pub fn conn_id(&self) -> Sid {
        self.0.session.sid
    }

    /// The transport the connection uses now.
    pub fn transport(&self) -> Transport {
        self.0.session.transport()
    }

    /// The transport the connection was opened with.
    pub fn initial_transport(&self) -> Transport {
        self.0.session.initial_transport
    }

    /// Runs `f` on the socket's user data (Node's `socket.data`), a type-keyed map.
    pub fn with_data<R>(&self, f: impl FnOnce(&mut http::Extensions) -> R) -> R {
        let mut ext = self.0.extensions.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut ext)
    }

    fn handlers(&self) -> std::sync::RwLockWriteGuard<'_, Handlers> {
        self.0.handlers.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a handler for `event`. It runs in the connection's task, in arrival order,
    /// like a Node listener; spawn or use [`Socket::on_async`] for slow work.
    pub fn on<F>(&self, event: impl Into<Cow<'static, str>>, handler: F)
    where
        F: Fn(Socket, Event) + Send + Sync + 'static,
    {
        let f: EventFn = Arc::new(move |s, e| {
            handler(s, e);
            None
        });
        self.handlers().events.push((event.into(), f));
    }

    /// Registers an async handler for `event`. It starts at once, in arrival order; if it
    /// has to wait, it goes on in its own task.
    pub fn on_async<F, Fut>(&self, event: impl Into<Cow<'static, str>>, handler: F)
    where
        F: Fn(Socket, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let f: EventFn = Arc::new(move |s, e| Some(Box::pin(handler(s, e)) as BoxFuture));
        self.handlers().events.push((event.into(), f));
    }

    /// Removes every handler of `event`.
    pub fn off(&self, event: &str) {
        self.handlers().events.retain(|(name, _)| name != event);
    }

    /// Registers a handler called for every event, before its own handlers.
    pub fn on_any<F>(&self, handler: F)
    where
        F: Fn(&Socket, &str, &Args) + Send + Sync + 'static,
    {
        Arc::make_mut(&mut self.handlers().any).push(Arc::new(handler));
    }

    /// Registers a handler run when the socket is about to leave: its rooms are still
    /// visible.
    pub fn on_disconnecting<F>(&self, handler: F)
    where
        F: Fn(Socket, DisconnectReason) + Send + Sync + 'static,
    {
        self.handlers().disconnecting.push(Arc::new(handler));
    }

    /// Registers a handler run once the socket has left.
    pub fn on_disconnect<F>(&self, handler: F)
    where
        F: Fn(Socket, DisconnectReason) + Send + Sync + 'static,
    {
        self.handlers().disconnect.push(Arc::new(handler));
    }

    /// Emits `event` with `args` to this client.
    ///
    /// Fails if the socket is disconnected, or if its connection's queue is full (the
    /// connection is then closed as too slow).
    pub fn emit(&self, event: &str, args: impl EmitArgs) -> Result<(), EmitError> {
        let packet = packet::encode(&self.0.ns.name, Some(event), None, &args)?;
        self.send_packet(&packet, false)
    }

    /// Emits `event`, dropping it if the transport is not ready to write at once.
    pub fn emit_volatile(&self, event: &str, args: impl EmitArgs) -> Result<(), EmitError> {
        let packet = packet::encode(&self.0.ns.name, Some(event), None, &args)?;
        self.send_packet(&packet, true)
    }

    /// Emits `event` and waits for the client's acknowledgement (or the disconnection).
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: impl EmitArgs,
    ) -> AckFuture<Result<Args, AckError>> {
        self.emit_with_ack_inner(event, &args, None)
    }

    /// Sets an ack timeout for the next emit.
    pub fn timeout(&self, timeout: Duration) -> TimeoutSocket {
        TimeoutSocket {
            socket: self.clone(),
            timeout,
        }
    }

    fn emit_with_ack_inner(
        &self,
        event: &str,
        args: &dyn EmitArgs,
        timeout: Option<Duration>,
    ) -> AckFuture<Result<Args, AckError>> {
        let id = self.0.ns.next_ack_id();
        let sent = packet::encode(&self.0.ns.name, Some(event), Some(id), args)
            .map_err(EmitError::from)
            .and_then(|p| {
                let rx = self.acks().insert(id);
                match self.send_packet(&p, false) {
                    Ok(()) => Ok(rx),
                    Err(e) => {
                        self.acks().take(id);
                        Err(e)
                    }
                }
            });
        let socket = self.clone();
        AckFuture::new(async move {
            let rx = sent?;
            ack::wait(rx, timeout, move || {
                socket.acks().take(id);
            })
            .await
        })
    }

    pub(crate) fn register_ack(&self, id: u64) -> tokio::sync::oneshot::Receiver<AckResult> {
        self.acks().insert(id)
    }

    pub(crate) fn forget_ack(&self, id: u64) {
        self.acks().take(id);
    }

    fn acks(&self) -> std::sync::MutexGuard<'_, AckMap> {
        self.0.acks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues an encoded packet on the connection.
    pub(crate) fn send_packet(&self, packet: &Packet, volatile: bool) -> Result<(), EmitError> {
        if !self.connected() {
            return Err(EmitError::Disconnected);
        }
        let session = &self.0.session;
        let result = match (volatile, packet.attachments.is_empty()) {
            (true, _) => session.send_volatile(packet.frames()),
            (false, true) => session.send(packet.text.clone()),
            (false, false) => session.send_all(packet.frames()),
        };
        result.map_err(EmitError::from)
    }

    /// Joins one or more rooms.
    pub fn join(&self, rooms: impl IntoRooms) {
        let rooms = rooms.into_rooms();
        self.0.ns.adapter.add_all(self.0.id, &rooms);
    }

    /// Leaves one or more rooms.
    pub fn leave(&self, rooms: impl IntoRooms) {
        for room in rooms.into_rooms() {
            self.0.ns.adapter.del(self.0.id, &room);
        }
    }

    /// The rooms the socket is in, its own-id room first.
    pub fn rooms(&self) -> Vec<Room> {
        let mut rooms = vec![Room::from(self.0.id.as_str())];
        rooms.extend(self.0.ns.adapter.rooms_of(self.0.id));
        rooms
    }

    /// Broadcasts to every socket of the namespace but this one (`socket.broadcast`).
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.0.ns.clone()).except(self.0.id.as_str())
    }

    /// Broadcasts to the sockets in `rooms`, this one excluded (`socket.to(room)`).
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// Broadcasts to every socket of the namespace except those in `rooms` and this one.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().except(rooms)
    }

    /// Disconnects the socket from its namespace; the connection stays open for its other
    /// namespaces (the client sees reason "io server disconnect").
    pub fn disconnect(&self) {
        if self.connected() {
            let _ = self.0.session.send(packet::disconnect(&self.0.ns.name));
            self.on_close(DisconnectReason::ServerNamespaceDisconnect);
        }
    }

    /// Disconnects every socket of the connection, then closes the connection.
    pub fn disconnect_and_close(&self) {
        for socket in self.0.session.data.sockets() {
            socket.disconnect();
        }
        self.0.session.close(CloseReason::ForcedClose);
    }

    pub(crate) fn set_connected(&self) {
        self.0.connected.store(true, Ordering::Release);
    }

    /// Dispatches a received event to its handlers.
    pub(crate) fn dispatch(&self, event: Event) {
        let (handler, any) = {
            let h = self.0.handlers.read().unwrap_or_else(|e| e.into_inner());
            let handler = h
                .events
                .iter()
                .find(|(name, _)| name == event.name())
                .map(|(_, f)| f.clone());
            let any = (!h.any.is_empty()).then(|| Arc::clone(&h.any));
            (handler, any)
        };
        for f in any.iter().flat_map(|a| a.iter()) {
            f(self, event.name(), &event.args);
        }
        if let Some(handler) = handler {
            if let Some(fut) = handler(self.clone(), event) {
                crate::run::start(fut);
            }
        }
    }

    /// Resolves a pending ack.
    pub(crate) fn on_ack(&self, id: u64, args: Args) {
        let tx = self.acks().take(id);
        match tx {
            Some(tx) => {
                let _ = tx.send(Ok(args));
            }
            None => debug!(sid = %self.0.id, id, "ack for no pending emit"),
        }
    }

    /// The socket leaves its namespace: `disconnecting` handlers, rooms, `disconnect`
    /// handlers. Runs once.
    pub(crate) fn on_close(&self, reason: DisconnectReason) {
        if !self.0.connected.swap(false, Ordering::AcqRel) {
            return;
        }
        debug!(sid = %self.0.id, nsp = %self.0.ns.name, %reason, "socket disconnected");
        let disconnecting = self.handlers().disconnecting.clone();
        for f in disconnecting {
            f(self.clone(), reason);
        }
        self.0.ns.remove_socket(self);
        self.0.session.data.remove_socket(&self.0.ns.name);
        self.acks().fail_all();
        // Handlers often hold clones of the socket: dropping them breaks the cycle.
        let handlers = std::mem::take(&mut *self.handlers());
        for f in &handlers.disconnect {
            f(self.clone(), reason);
        }
    }
}
