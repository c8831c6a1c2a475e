//! A socket: one client connected to one namespace.

use std::borrow::Cow;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use smallvec::SmallVec;
use tracing::debug;

use crate::ack::{self, AckFuture, AckMap, AckResult};
use crate::adapter::{BroadcastOptions, Room};
use crate::args::{Args, EmitArgs};
use crate::broadcast::{BroadcastOperator, IntoRooms};
use crate::catch::{self, Callback, Site};
use crate::client::Client;
use crate::config::Parser;
use crate::engine::{CloseReason, Session, Transport};
use crate::error::{AckError, EmitError};
use crate::handshake::Handshake;
use crate::namespace::NamespaceInner;
use crate::packet::{self, Packet};
use crate::recovery::SessionState;
use crate::sid::Sid;

pub(crate) type BoxFuture = catch::BoxFuture<()>;
type EventFn = Arc<dyn Fn(Socket, Event) -> Option<BoxFuture> + Send + Sync>;
type AnyFn = Arc<dyn Fn(&Socket, &str, &Args) + Send + Sync>;
type DisconnectFn = Arc<dyn Fn(Socket, DisconnectReason) + Send + Sync>;
type PacketFn = Arc<dyn Fn(&Socket, &Event) -> Result<(), String> + Send + Sync>;
type ErrorFn = Arc<dyn Fn(&Socket, &str) + Send + Sync>;

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
    /// Whether the network may be to blame, so that connection state recovery keeps the
    /// socket's session (Node's `RECOVERABLE_DISCONNECT_REASONS`).
    pub fn is_recoverable(self) -> bool {
        matches!(
            self,
            Self::TransportClose
                | Self::TransportError
                | Self::PingTimeout
                | Self::ForcedClose
                | Self::ServerShuttingDown
        )
    }

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

/// One `socket.on(event)` registration.
struct Listener {
    event: Cow<'static, str>,
    f: EventFn,
    /// Registered with `once`: removed before its first call.
    once: bool,
}

#[derive(Default)]
struct Handlers {
    /// In registration order, which is the order they run in.
    events: Vec<Listener>,
    /// Shared so that dispatching an event clones a pointer, not the list.
    any: Arc<Vec<AnyFn>>,
    /// `on_any_outgoing` handlers, likewise.
    any_outgoing: Arc<Vec<AnyFn>>,
    /// Packet middlewares (`use_packet`), in order, and who hears their refusals.
    packet_middlewares: Arc<Vec<PacketFn>>,
    errors: Arc<Vec<ErrorFn>>,
    disconnecting: Vec<DisconnectFn>,
    disconnect: Vec<DisconnectFn>,
    /// Set once the socket has ended: handlers hold clones of the socket, so one
    /// registered later would keep it alive for good. Such registrations are dropped.
    closed: bool,
}

/// Where a socket is in its life; it only moves forward.
const CONNECTING: u8 = 0;
const CONNECTED: u8 = 1;
const CLOSED: u8 = 2;

pub(crate) struct SocketInner {
    pub(crate) id: Sid,
    pub(crate) ns: Arc<NamespaceInner>,
    pub(crate) session: Arc<Session<Client>>,
    pub(crate) handshake: Handshake,
    handlers: RwLock<Handlers>,
    acks: Mutex<AckMap>,
    /// `CONNECTING` while the middlewares run, `CONNECTED` once in the namespace,
    /// `CLOSED` once ended, whichever way (see [`Socket::end`]).
    state: AtomicU8,
    extensions: Mutex<http::Extensions>,
    /// `socket.data`: kept across a recovery.
    data: Mutex<serde_json::Value>,
    /// The private id that recovers the session (with recovery on).
    pid: Option<Sid>,
    /// Whether this connection took back a session cut earlier.
    recovered: bool,
    /// Whether `on_any_outgoing` handlers may exist: emits check it without a lock.
    watches_outgoing: AtomicBool,
    /// Whether packet middlewares may exist: events check it without a lock.
    filters_packets: AtomicBool,
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

#[derive(Debug, Clone)]
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

    /// A copy for one more listener of the same event: every copy can ack, the first ack
    /// sent is the one the client gets (as in Node, where each listener gets the callback).
    fn share(&mut self) -> Event {
        let ack = self.ack.as_mut().map(|ack| {
            let sent = ack
                .sent
                .get_or_insert_with(|| Arc::new(AtomicBool::new(false)))
                .clone();
            AckSender {
                socket: ack.socket.clone(),
                id: ack.id,
                sent: Some(sent),
            }
        });
        Event {
            name: self.name.clone(),
            args: self.args.clone(),
            ack,
        }
    }
}

/// Sends the acknowledgement of one event, once.
#[derive(Debug)]
pub struct AckSender {
    socket: Socket,
    id: u64,
    /// Shared by the copies given to several listeners of one event: set by the first ack.
    sent: Option<Arc<AtomicBool>>,
}

impl AckSender {
    pub(crate) fn new(socket: Socket, id: u64) -> Self {
        Self {
            socket,
            id,
            sent: None,
        }
    }

    /// Sends the ack with `args`; when several listeners got the event, only the first
    /// ack is sent and later ones do nothing.
    pub fn send(self, args: impl EmitArgs) -> Result<(), EmitError> {
        let packet = packet::encode(&self.socket.0.ns.name, None, Some(self.id), &args)?;
        if self
            .sent
            .is_some_and(|sent| sent.swap(true, Ordering::AcqRel))
        {
            return Ok(());
        }
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

fn sync_handler<F>(handler: F) -> EventFn
where
    F: Fn(Socket, Event) + Send + Sync + 'static,
{
    Arc::new(move |s, e| {
        handler(s, e);
        None
    })
}

fn async_handler<F, Fut>(handler: F) -> EventFn
where
    F: Fn(Socket, Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |s, e| Some(Box::pin(handler(s, e)) as BoxFuture))
}

impl Socket {
    /// A new socket, or with `restored` the one of a session cut earlier: its id, private
    /// id and data (the caller joins its rooms and sends what it missed).
    pub(crate) fn new(
        ns: Arc<NamespaceInner>,
        session: Arc<Session<Client>>,
        handshake: Handshake,
        restored: Option<SessionState>,
    ) -> Self {
        let (id, pid, data, recovered) = match restored {
            Some(s) => (s.sid, Some(s.pid), s.data, true),
            None => {
                let pid = ns.recovery.is_some().then(Sid::new);
                (
                    Sid::new(),
                    pid,
                    serde_json::Value::Object(Default::default()),
                    false,
                )
            }
        };
        Socket(Arc::new(SocketInner {
            id,
            ns,
            session,
            handshake,
            handlers: RwLock::new(Handlers::default()),
            acks: Mutex::new(AckMap::default()),
            state: AtomicU8::new(CONNECTING),
            extensions: Mutex::new(http::Extensions::new()),
            data: Mutex::new(data),
            pid,
            recovered,
            watches_outgoing: AtomicBool::new(false),
            filters_packets: AtomicBool::new(false),
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
        self.0.state.load(Ordering::Acquire) == CONNECTED
    }

    /// The Engine.IO session id of the underlying connection.
    pub fn conn_id(&self) -> Sid {
        self.0.session.sid
    }

    /// The Engine.IO connection under this socket (Node's `socket.conn`).
    pub fn conn(&self) -> crate::Conn {
        crate::Conn(self.0.session.clone())
    }

    /// The transport the connection uses now.
    pub fn transport(&self) -> Transport {
        self.0.session.transport()
    }

    /// The transport the connection was opened with.
    pub fn initial_transport(&self) -> Transport {
        self.0.session.initial_transport
    }

    /// Runs `f` on the socket's typed values, a type-keyed map of this process only (not
    /// kept by connection state recovery nor seen by other nodes: use [`data`](Self::data)
    /// for that).
    pub fn with_extensions<R>(&self, f: impl FnOnce(&mut http::Extensions) -> R) -> R {
        let mut ext = self.0.extensions.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut ext)
    }

    /// The socket's data (Node's `socket.data`, `{}` at first): a JSON value that connection
    /// state recovery gives back with the socket.
    ///
    /// ```no_run
    /// # fn f(io: sio_server::SocketIo) {
    /// io.ns("/", |socket| {
    ///     socket.on("login", |socket, ev| {
    ///         if let Ok(name) = ev.arg::<String>(0) {
    ///             socket.set_data(serde_json::json!({ "name": name }));
    ///         }
    ///     });
    ///     socket.on("whoami", |socket, mut ev| {
    ///         let _ = ev.ack(&socket.data()["name"]);
    ///     });
    /// });
    /// # }
    /// ```
    pub fn data(&self) -> serde_json::Value {
        self.0
            .data
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the socket's [data](Self::data).
    pub fn set_data(&self, data: serde_json::Value) {
        self.update_data(|d| *d = data);
        if let Some(o) = self.0.ns.observer() {
            o.data_set(self);
        }
    }

    /// Changes the socket's data in place, telling no observer.
    pub(crate) fn update_data<R>(&self, f: impl FnOnce(&mut serde_json::Value) -> R) -> R {
        f(&mut self.0.data.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Whether this connection took back a session that was cut, with its id, rooms and
    /// data, the missed events sent before it connected (Node's `socket.recovered`; see
    /// [`recovery`](crate::recovery)).
    pub fn recovered(&self) -> bool {
        self.0.recovered
    }

    /// The private id that recovers the session, with recovery on.
    pub(crate) fn pid(&self) -> Option<Sid> {
        self.0.pid
    }

    fn handlers(&self) -> std::sync::RwLockWriteGuard<'_, Handlers> {
        self.0.handlers.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read_handlers(&self) -> std::sync::RwLockReadGuard<'_, Handlers> {
        self.0.handlers.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a handler for `event`. Every handler of an event runs, in registration
    /// order, in the connection's task and in arrival order, like Node's listeners; spawn or
    /// use [`Socket::on_async`] for slow work. When the client asked for an ack, every
    /// handler gets an [`Event`] that can send it; the first ack sent is the one that goes.
    ///
    /// ```no_run
    /// # fn f(io: sio_server::SocketIo) {
    /// io.ns("/", |socket| {
    ///     socket.on("chat", |_, ev| println!("log: {:?}", ev.args().raw(0)));
    ///     socket.on("chat", |socket, ev| {
    ///         let _ = socket.broadcast().emit("chat", ev.args().to_raw());
    ///     });
    /// });
    /// # }
    /// ```
    pub fn on<F>(&self, event: impl Into<Cow<'static, str>>, handler: F)
    where
        F: Fn(Socket, Event) + Send + Sync + 'static,
    {
        self.listen(event.into(), sync_handler(handler), false);
    }

    /// Registers an async handler for `event`. It starts at once, in arrival order; if it
    /// has to wait, it goes on in its own task.
    pub fn on_async<F, Fut>(&self, event: impl Into<Cow<'static, str>>, handler: F)
    where
        F: Fn(Socket, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.listen(event.into(), async_handler(handler), false);
    }

    /// Registers a handler for the next `event` only (Node's `socket.once`): it is removed
    /// before it runs.
    ///
    /// ```no_run
    /// # fn f(io: sio_server::SocketIo) {
    /// io.ns("/", |socket| {
    ///     socket.once("hello", |socket, _| {
    ///         let _ = socket.emit("welcome", ());
    ///     });
    /// });
    /// # }
    /// ```
    pub fn once<F>(&self, event: impl Into<Cow<'static, str>>, handler: F)
    where
        F: Fn(Socket, Event) + Send + Sync + 'static,
    {
        self.listen(event.into(), sync_handler(handler), true);
    }

    /// Registers an async handler for the next `event` only.
    pub fn once_async<F, Fut>(&self, event: impl Into<Cow<'static, str>>, handler: F)
    where
        F: Fn(Socket, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.listen(event.into(), async_handler(handler), true);
    }

    fn listen(&self, event: Cow<'static, str>, f: EventFn, once: bool) {
        let mut h = self.handlers();
        if !h.closed {
            h.events.push(Listener { event, f, once });
        }
    }

    /// Removes every handler of `event`.
    pub fn off(&self, event: &str) {
        self.handlers().events.retain(|l| l.event != event);
    }

    /// Registers a handler called for every event received, before its own handlers
    /// (Node's `socket.onAny`), after those registered earlier.
    pub fn on_any<F>(&self, handler: F)
    where
        F: Fn(&Socket, &str, &Args) + Send + Sync + 'static,
    {
        self.add_any(handler, false, false);
    }

    /// Like [`on_any`](Self::on_any), before the catch-all handlers registered so far
    /// (Node's `socket.prependAny`).
    pub fn prepend_any<F>(&self, handler: F)
    where
        F: Fn(&Socket, &str, &Args) + Send + Sync + 'static,
    {
        self.add_any(handler, false, true);
    }

    /// Removes every [`on_any`](Self::on_any) handler (Node's `socket.offAny()`).
    pub fn off_any(&self) {
        self.handlers().any = Arc::default();
    }

    /// Registers a handler called for every event this socket emits to its client
    /// (`emit`, `emit_volatile`, `emit_with_ack`; not broadcasts, as in Node), once the
    /// packet is queued, with the arguments as the client will read them (Node's
    /// `socket.onAnyOutgoing`). Emits pay for it only while such a handler exists.
    ///
    /// ```
    /// # fn f(socket: sio_server::Socket) {
    /// socket.on_any_outgoing(|socket, event, args| {
    ///     tracing::debug!(sid = %socket.id(), event, n = args.len(), "sent");
    /// });
    /// # }
    /// ```
    pub fn on_any_outgoing<F>(&self, handler: F)
    where
        F: Fn(&Socket, &str, &Args) + Send + Sync + 'static,
    {
        self.add_any(handler, true, false);
    }

    /// Like [`on_any_outgoing`](Self::on_any_outgoing), before those registered so far
    /// (Node's `socket.prependAnyOutgoing`).
    pub fn prepend_any_outgoing<F>(&self, handler: F)
    where
        F: Fn(&Socket, &str, &Args) + Send + Sync + 'static,
    {
        self.add_any(handler, true, true);
    }

    /// Removes every [`on_any_outgoing`](Self::on_any_outgoing) handler (Node's
    /// `socket.offAnyOutgoing()`).
    pub fn off_any_outgoing(&self) {
        self.handlers().any_outgoing = Arc::default();
        self.0.watches_outgoing.store(false, Ordering::Release);
    }

    fn add_any<F>(&self, handler: F, outgoing: bool, first: bool)
    where
        F: Fn(&Socket, &str, &Args) + Send + Sync + 'static,
    {
        let mut h = self.handlers();
        if h.closed {
            return;
        }
        let list = Arc::make_mut(if outgoing {
            &mut h.any_outgoing
        } else {
            &mut h.any
        });
        let f: AnyFn = Arc::new(handler);
        if first {
            list.insert(0, f);
        } else {
            list.push(f);
        }
        if outgoing {
            self.0.watches_outgoing.store(true, Ordering::Release);
        }
    }

    /// Adds a middleware every received event goes through before its handlers (Node's
    /// `socket.use`), after the [`on_any`](Self::on_any) handlers, as in Node. `Err(message)`
    /// drops the event (no handler runs, its ack is never sent) and hands `message` to the
    /// [`on_error`](Self::on_error) handlers.
    ///
    /// ```
    /// # fn f(socket: sio_server::Socket) {
    /// socket.use_packet(|socket, ev| {
    ///     let admin = socket.data().get("admin").is_some();
    ///     if ev.name().starts_with("admin:") && !admin {
    ///         return Err("unauthorized".into());
    ///     }
    ///     Ok(())
    /// });
    /// socket.on_error(|socket, message| tracing::info!(sid = %socket.id(), message, "refused"));
    /// # }
    /// ```
    pub fn use_packet<F>(&self, middleware: F)
    where
        F: Fn(&Socket, &Event) -> Result<(), String> + Send + Sync + 'static,
    {
        let mut h = self.handlers();
        if !h.closed {
            Arc::make_mut(&mut h.packet_middlewares).push(Arc::new(middleware));
            self.0.filters_packets.store(true, Ordering::Release);
        }
    }

    /// Registers a handler for the refusals of [`use_packet`](Self::use_packet) middlewares
    /// (Node's `socket.on("error")`). Without one, a refusal is logged.
    pub fn on_error<F>(&self, handler: F)
    where
        F: Fn(&Socket, &str) + Send + Sync + 'static,
    {
        let mut h = self.handlers();
        if !h.closed {
            Arc::make_mut(&mut h.errors).push(Arc::new(handler));
        }
    }

    /// Runs the catch-all handlers, then the packet middlewares, on `event` (one read of
    /// the handlers for both): whether it goes on to its own handlers.
    fn passes_middlewares(&self, event: &Event) -> bool {
        let (any, middlewares, errors) = {
            let h = self.read_handlers();
            (
                Arc::clone(&h.any),
                Arc::clone(&h.packet_middlewares),
                Arc::clone(&h.errors),
            )
        };
        self.run_any(&any, event);
        for m in middlewares.iter() {
            let verdict = catch::call(self.site(Callback::PacketMiddleware(event.name())), || {
                m(self, event)
            });
            let message = match verdict {
                Some(Ok(())) => continue,
                Some(Err(message)) => message,
                // It panicked (logged by the boundary): the event goes no further.
                None => return false,
            };
            if errors.is_empty() {
                tracing::warn!(sid = %self.0.id, event = event.name(), %message, "packet refused by a middleware, and no on_error handler");
            }
            for f in errors.iter() {
                catch::call(self.site(Callback::Error), || f(self, &message));
            }
            return false;
        }
        true
    }

    /// Tells the `on_any_outgoing` handlers about an emit that was queued.
    fn sent(&self, event: &str, packet: &Packet) {
        if !self.0.watches_outgoing.load(Ordering::Acquire) {
            return;
        }
        let any = Arc::clone(&self.read_handlers().any_outgoing);
        if any.is_empty() {
            return;
        }
        let Some(args) = outgoing_args(packet) else {
            return;
        };
        for f in any.iter() {
            catch::call(self.site(Callback::AnyOutgoing(event)), || {
                f(self, event, &args)
            });
        }
    }

    /// Registers a handler run when the socket is about to leave: its rooms are still
    /// visible.
    pub fn on_disconnecting<F>(&self, handler: F)
    where
        F: Fn(Socket, DisconnectReason) + Send + Sync + 'static,
    {
        let mut h = self.handlers();
        if !h.closed {
            h.disconnecting.push(Arc::new(handler));
        }
    }

    /// Registers a handler run once the socket has left.
    pub fn on_disconnect<F>(&self, handler: F)
    where
        F: Fn(Socket, DisconnectReason) + Send + Sync + 'static,
    {
        let mut h = self.handlers();
        if !h.closed {
            h.disconnect.push(Arc::new(handler));
        }
    }

    /// Emits `event` with `args` to this client.
    ///
    /// Fails if the socket is disconnected, or if its connection's queue is full (the
    /// connection is then closed as too slow).
    pub fn emit(&self, event: &str, args: impl EmitArgs) -> Result<(), EmitError> {
        // With recovery on, kept for the socket's own room, as Node does: sent again if the
        // connection is cut before the client gets it. Made once, and only then.
        let own_room = std::cell::OnceCell::new();
        let own = || {
            own_room.get_or_init(|| BroadcastOptions {
                rooms: smallvec::smallvec![Room::from(self.0.id.as_str())],
                ..BroadcastOptions::default()
            })
        };
        let ns = &self.0.ns;
        let packet = ns.encode_event(event, &args, false, || Cow::Borrowed(own()))?;
        // Recovery over a shared log: sent once the log gave it its offset, as Node does
        // (there, through the adapter's broadcast to the socket's own room).
        let appended = self.connected()
            && ns.append_event(&packet, own, || {
                let socket = self.clone();
                move |p: crate::adapter::BroadcastPacket| {
                    let _ = socket.send_packet(&p.0, false);
                }
            });
        if !appended {
            self.send_packet(&packet.0, false)?;
        }
        self.sent(event, &packet.0);
        Ok(())
    }

    /// Emits `event`, dropping it if the transport is not ready to write at once.
    pub fn emit_volatile(&self, event: &str, args: impl EmitArgs) -> Result<(), EmitError> {
        let packet = packet::encode(&self.0.ns.name, Some(event), None, &args)?;
        self.send_packet(&packet, true)?;
        self.sent(event, &packet);
        Ok(())
    }

    /// Emits `event` and waits for the client's acknowledgement, until the socket
    /// disconnects or the server's [`ack_timeout`](crate::SocketIoBuilder::ack_timeout)
    /// passes (use [`timeout`](Self::timeout) for another bound).
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
                    Ok(()) => {
                        self.sent(event, &p);
                        Ok(rx)
                    }
                    Err(e) => {
                        self.acks().take(id);
                        Err(e)
                    }
                }
            });
        let socket = self.clone();
        let timeout = timeout.unwrap_or(self.0.ns.ack_timeout);
        AckFuture::new(async move {
            let rx = sent?;
            ack::wait(rx, Some(timeout), move || {
                socket.0.ns.counters.ack_timed_out();
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
        self.write(packet, volatile)
    }

    /// Queues an encoded packet on the connection, connected or not (a recovered socket's
    /// missed events go before its CONNECT answer).
    pub(crate) fn write(&self, packet: &Packet, volatile: bool) -> Result<(), EmitError> {
        let session = &self.0.session;
        if self.0.ns.parser == Parser::MsgPack {
            let frame = packet.msgpack_frame();
            let result = match volatile {
                true => session.send_volatile(std::iter::once(frame)),
                false => session.send(frame),
            };
            return result.map_err(EmitError::from);
        }
        let result = match (volatile, packet.attachments.is_empty()) {
            (true, _) => session.send_volatile(packet.frames()),
            (false, true) => session.send(packet.text.clone()),
            (false, false) => session.send_all(packet.frames()),
        };
        result.map_err(EmitError::from)
    }

    /// Joins one or more rooms. Works before the socket is connected (in a middleware);
    /// does nothing once it has left.
    pub fn join(&self, rooms: impl IntoRooms) {
        let rooms = rooms.into_rooms();
        let ns = &self.0.ns;
        ns.change_rooms(&[self.0.id], || ns.adapter.add_all(self.0.id, &rooms));
        self.forget_rooms_if_ended();
    }

    /// Undoes a join that raced with the socket's end: [`end`](Self::end) marks the socket
    /// `CLOSED` before it clears its rooms, so a join that came after the clearing sees the
    /// mark here (the adapter's lock orders the two).
    pub(crate) fn forget_rooms_if_ended(&self) {
        if self.0.state.load(Ordering::Acquire) == CLOSED {
            self.0.ns.adapter.del_all(self.0.id);
        }
    }

    /// Leaves one or more rooms.
    pub fn leave(&self, rooms: impl IntoRooms) {
        let ns = &self.0.ns;
        ns.change_rooms(&[self.0.id], || {
            for room in rooms.into_rooms() {
                ns.adapter.del(self.0.id, &room);
            }
        });
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
            let frame = packet::for_parser(self.0.ns.parser, packet::disconnect(&self.0.ns.name));
            let _ = self.0.session.send(frame);
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

    /// `CONNECTING` → `CONNECTED`, unless the socket ended meanwhile. Called by the
    /// namespace under its socket lock, so that an end that comes after it finds the socket
    /// in the namespace.
    pub(crate) fn try_set_connected(&self) -> bool {
        self.0
            .state
            .compare_exchange(CONNECTING, CONNECTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn site<'a>(&'a self, callback: Callback<&'a str>) -> Site<&'a str> {
        Site {
            callback,
            nsp: &self.0.ns.name,
            socket: Some(self.0.id),
        }
    }

    /// The handlers of `event`, `once` ones removed from the list as they are taken.
    fn listeners(&self, event: &str) -> (SmallVec<[EventFn; 2]>, Option<Arc<Vec<AnyFn>>>) {
        let collect = |h: &Handlers| -> (SmallVec<[EventFn; 2]>, bool) {
            let mut once = false;
            let fns = h
                .events
                .iter()
                .filter(|l| l.event == event)
                .inspect(|l| once |= l.once)
                .map(|l| l.f.clone())
                .collect();
            (fns, once)
        };
        {
            let h = self.read_handlers();
            let any = (!h.any.is_empty()).then(|| Arc::clone(&h.any));
            let (fns, once) = collect(&h);
            if !once {
                return (fns, any);
            }
        }
        // Taken and removed under one write lock, so a `once` handler runs once even when
        // two events race.
        let mut h = self.handlers();
        let any = (!h.any.is_empty()).then(|| Arc::clone(&h.any));
        let (fns, _) = collect(&h);
        h.events.retain(|l| !(l.once && l.event == event));
        (fns, any)
    }

    /// Dispatches a received event to its handlers, each behind the panic boundary.
    pub(crate) fn dispatch(&self, mut event: Event) {
        // As in Node: catch-all handlers, then the packet middlewares, then the event's
        // handlers (taken, `once` ones included, only once the event passed).
        let filtered = self.0.filters_packets.load(Ordering::Acquire);
        if filtered && !self.passes_middlewares(&event) {
            return;
        }
        let (listeners, any) = self.listeners(event.name());
        if !filtered {
            if let Some(any) = any {
                self.run_any(&any, &event);
            }
        }
        let Some((last, others)) = listeners.split_last() else {
            return;
        };
        // The name outlives the event each handler consumes (for the log of a panic).
        let name = event.name.clone();
        let name = match &name {
            EventName::Slice(b) => std::str::from_utf8(b).unwrap_or_default(),
            EventName::Owned(s) => s,
        };
        for f in others {
            let copy = event.share();
            self.run_handler(name, f, copy);
        }
        self.run_handler(name, last, event);
    }

    fn run_any(&self, any: &[AnyFn], event: &Event) {
        for f in any {
            let name = event.name();
            catch::call(self.site(Callback::Any(name)), || {
                f(self, name, &event.args)
            });
        }
    }

    fn run_handler(&self, name: &str, f: &EventFn, event: Event) {
        let site = self.site(Callback::Event(name));
        if let Some(Some(fut)) = catch::call(site, || f(self.clone(), event)) {
            catch::start(site, fut, |_| {});
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
    /// handlers (see [`end`](Self::end)).
    pub(crate) fn on_close(&self, reason: DisconnectReason) {
        self.end(reason);
    }

    /// Ends the socket, once, whichever comes first: a disconnect of a connected socket
    /// (`disconnecting` handlers, rooms, namespace, `disconnect` handlers, as Node does), or
    /// the end of one that never connected (refused by a middleware, or its connection
    /// closed during the middlewares): the rooms a middleware joined are left, and no
    /// handler runs. Either way the connection, the pending acks and the handlers let go of
    /// it, and its namespace counts one member less.
    pub(crate) fn end(&self, reason: DisconnectReason) {
        let was = self.0.state.swap(CLOSED, Ordering::AcqRel);
        if was == CLOSED {
            return;
        }
        if was == CONNECTED {
            debug!(sid = %self.0.id, nsp = %self.0.ns.name, %reason, "socket disconnected");
            self.0.ns.counters.disconnected(reason);
            let disconnecting = self.handlers().disconnecting.clone();
            for f in disconnecting {
                catch::call(self.site(Callback::Disconnecting), || {
                    f(self.clone(), reason)
                });
            }
            if let Some(pid) = self.0.pid.filter(|_| reason.is_recoverable()) {
                debug!(sid = %self.0.id, nsp = %self.0.ns.name, "session kept for recovery");
                self.0.ns.adapter.persist_session(SessionState {
                    sid: self.0.id,
                    pid,
                    rooms: self.rooms(),
                    data: self.data(),
                });
            }
            // What the observer is told the socket left, read only for it.
            let observed = self.0.ns.observer().map(|o| (o, self.rooms()));
            self.0.ns.remove_socket(self);
            if let Some((o, rooms)) = observed {
                o.disconnected(self, reason, &rooms);
            }
        } else {
            debug!(sid = %self.0.id, nsp = %self.0.ns.name, "socket ended before it connected");
            self.0.ns.adapter.del_all(self.0.id);
        }
        self.0.session.data.remove_socket(self);
        self.acks().fail_all();
        // Handlers often hold clones of the socket: dropping them breaks the cycle.
        let handlers = {
            let mut h = self.handlers();
            let taken = std::mem::take(&mut *h);
            h.closed = true;
            taken
        };
        if was == CONNECTED {
            for f in &handlers.disconnect {
                catch::call(self.site(Callback::Disconnect), || f(self.clone(), reason));
            }
        }
        drop(handlers);
        self.0.ns.release_member();
    }
}

/// The arguments of an emitted event as its client reads them, from the encoded packet:
/// `4` + Socket.IO `2…[name, args…]` and its attachments.
fn outgoing_args(packet: &Packet) -> Option<Args> {
    let sio_protocol::engine::Frame::Text(frame) = &packet.text else {
        return None;
    };
    let text = std::str::from_utf8(frame.get(1..)?).ok()?;
    let p = sio_protocol::socket::decode(text).ok()?;
    let mut spans = sio_protocol::json::split_args(p.data).ok()?;
    if !spans.is_empty() {
        spans.remove(0);
    }
    Some(Args::new(
        frame.slice_ref(p.data.as_bytes()),
        spans,
        packet.attachments.clone(),
    ))
}
