//! The Socket.IO side of one Engine.IO session: decodes packets, reassembles binary ones,
//! connects namespaces (middlewares included) and routes packets to sockets.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use sio_protocol::binary::Reassembler;
use sio_protocol::msgpack::packet as msgpack;
use sio_protocol::socket::{self, PacketType};
use smallvec::SmallVec;
use tracing::debug;

use crate::args::Args;
use crate::catch::{self, Callback, Site};
use crate::config::Parser;
use crate::conn::{self, ConnHooks};
use crate::engine::{CloseReason, EngineHandler, Message, Session};
use crate::handshake::{Handshake, Request};
use crate::io::ServerInner;
use crate::namespace::NamespaceInner;
use crate::packet;
use crate::recovery::RestoredSession;
use crate::sid::Sid;
use crate::socket::{AckSender, Event, Socket};

/// Per-session Socket.IO state.
pub(crate) struct Client {
    request: Arc<Request>,
    state: Mutex<ClientState>,
    /// Whether the connection may have hooks (`crate::conn`): events check it, not the lock.
    pub(crate) hooked: AtomicBool,
}

#[derive(Default)]
struct ClientState {
    /// Every socket of the session that has not ended: connected ones, and those whose
    /// CONNECT waits for middlewares. The session's end reaches each of them from here.
    sockets: SmallVec<[Socket; 1]>,
    /// Set when the session closed: no socket may be added after its end ran.
    closed: bool,
    /// Created on the first binary packet.
    reassembler: Option<Box<Reassembler<Bytes>>>,
    /// The connection's hooks, once one is registered; dropped at the close.
    hooks: Option<Box<ConnHooks>>,
}

impl Client {
    fn state(&self) -> std::sync::MutexGuard<'_, ClientState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the hooks, unless the connection closed (then false).
    pub(crate) fn with_hooks(&self, f: impl FnOnce(&mut ConnHooks)) -> bool {
        let mut st = self.state();
        if st.closed {
            return false;
        }
        f(st.hooks.get_or_insert_with(Box::default));
        true
    }

    /// What `pick` takes of the hooks, if there are any.
    pub(crate) fn hooks<T>(&self, pick: impl FnOnce(&ConnHooks) -> Vec<T>) -> Option<Vec<T>> {
        let st = self.state();
        st.hooks.as_deref().map(pick).filter(|v| !v.is_empty())
    }

    /// The connected sockets of this session.
    pub fn sockets(&self) -> Vec<Socket> {
        self.state()
            .sockets
            .iter()
            .filter(|s| s.connected())
            .cloned()
            .collect()
    }

    /// The connected socket of namespace `nsp` (one still connecting does not take
    /// packets, as in Node).
    fn socket(&self, nsp: &str) -> Option<Socket> {
        self.state()
            .sockets
            .iter()
            .find(|s| s.ns() == nsp && s.connected())
            .cloned()
    }

    /// Forgets a socket that ended.
    pub fn remove_socket(&self, socket: &Socket) {
        self.state().sockets.retain(|s| s != socket);
    }

    /// The handshake query, percent-decoded.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let q = self.request.uri.query().unwrap_or("");
        form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

/// Plugs the Socket.IO layer into the engine.
pub(crate) struct SioHandler {
    pub server: Arc<ServerInner>,
}

type Sess = Arc<Session<Client>>;

impl SioHandler {
    fn protocol_error(&self, session: &Sess, what: &str) {
        debug!(sid = %session.sid, "socket.io protocol error: {what}");
        session.close(CloseReason::ParseError);
    }

    fn on_packet(
        &self,
        session: &Sess,
        packet: socket::Packet<'_>,
        owner: &Bytes,
        attachments: Vec<Bytes>,
    ) {
        let client = &session.data;
        match packet.kind {
            PacketType::Connect => {
                let busy = client.state().sockets.iter().any(|s| s.ns() == packet.nsp);
                if busy {
                    return self.protocol_error(session, "CONNECT to a connected namespace");
                }
                let auth = if packet.data.is_empty() {
                    Bytes::from_static(b"{}")
                } else if serde_json::from_str::<&serde_json::value::RawValue>(packet.data).is_ok()
                {
                    // A copy: a slice would keep the transport's read buffer alive.
                    Bytes::copy_from_slice(packet.data.as_bytes())
                } else {
                    return self.protocol_error(session, "malformed CONNECT payload");
                };
                self.connect(session, packet.nsp, auth);
            }
            PacketType::Disconnect => match client.socket(packet.nsp) {
                Some(s) => s.on_close(crate::DisconnectReason::ClientNamespaceDisconnect),
                None => self.protocol_error(session, "DISCONNECT from an unknown namespace"),
            },
            PacketType::Event | PacketType::BinaryEvent => {
                let Some(socket) = client.socket(packet.nsp) else {
                    return self.protocol_error(session, "EVENT for a namespace not connected");
                };
                if packet.data.is_empty() {
                    // Node dispatches it as an event named `undefined`: nobody listens.
                    return debug!(sid = %session.sid, "event without data ignored");
                }
                let name = match socket::event_name(packet.data) {
                    Ok((name, _)) => name,
                    Err(err) => return self.protocol_error(session, &err.to_string()),
                };
                let Some(args) = self.args(session, packet.data, owner, attachments, true) else {
                    return;
                };
                let ack = packet.id.map(|id| AckSender::new(socket.clone(), id));
                let event = Event::new(name, owner, args, ack);
                socket.dispatch(event);
            }
            PacketType::Ack | PacketType::BinaryAck => {
                let Some(socket) = client.socket(packet.nsp) else {
                    return self.protocol_error(session, "ACK for a namespace not connected");
                };
                let Some(args) = self.args(session, packet.data, owner, attachments, false) else {
                    return;
                };
                match packet.id {
                    Some(id) => socket.on_ack(id, args),
                    None => debug!(sid = %session.sid, "ack without id ignored"),
                }
            }
            PacketType::ConnectError => self.protocol_error(session, "CONNECT_ERROR from a client"),
        }
    }

    /// Checks the body and its placeholders; `skip_name` drops the event name.
    fn args(
        &self,
        session: &Sess,
        data: &str,
        owner: &Bytes,
        attachments: Vec<Bytes>,
        skip_name: bool,
    ) -> Option<Args> {
        // An ack without data (`31`) carries no arguments.
        let parsed = if data.is_empty() {
            Ok(Default::default())
        } else {
            sio_protocol::json::split_args(data)
        };
        let mut spans = match parsed {
            Ok(s) => s,
            Err(err) => {
                self.protocol_error(session, &err.to_string());
                return None;
            }
        };
        if !attachments.is_empty() && !placeholders_valid(data, attachments.len()) {
            self.protocol_error(session, "illegal attachments");
            return None;
        }
        let body = owner.slice_ref(data.as_bytes());
        if skip_name && !spans.is_empty() {
            spans.remove(0);
        }
        Some(Args::new(body, spans, attachments))
    }

    fn connect(&self, session: &Sess, nsp: &str, auth: Bytes) {
        let client = &session.data;
        let full = client.state().sockets.len() >= self.server.config.max_namespaces_per_session;
        if full {
            self.control(
                session,
                packet::connect_error(nsp, "Too many namespaces", None),
            );
            return;
        }
        let Some(ns) = self.server.namespace_for(nsp) else {
            debug!(sid = %session.sid, nsp, "CONNECT to an unknown namespace");
            self.control(
                session,
                packet::connect_error(nsp, "Invalid namespace", None),
            );
            return;
        };
        // With recovery on, a CONNECT naming a session cut earlier takes it back (a
        // string pid and offset, as Node checks; anything else connects a new socket).
        let resume = ns.recovery.as_ref().and_then(|_| resume_of(&auth));
        let Some((pid, offset)) = resume else {
            return open_socket(session, ns, auth, None);
        };
        let mut restoring = ns.adapter.restore_session(&pid, &offset);
        // The in-memory adapter answers at once, without a task; a cluster adapter may
        // have to ask, and its answer is awaited in one (polled again there: futures must
        // take a new waker).
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match restoring.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(result) => {
                open_socket(session, ns, auth, restored(session, result));
            }
            std::task::Poll::Pending => {
                let session = session.clone();
                tokio::spawn(async move {
                    let result = restoring.await;
                    let restored = restored(&session, result);
                    open_socket(&session, ns, auth, restored);
                });
            }
        }
    }
}

/// The `pid` and `offset` strings of a CONNECT's auth, if both are there.
fn resume_of(auth: &[u8]) -> Option<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Resume {
        pid: serde_json::Value,
        offset: serde_json::Value,
    }
    let r: Resume = serde_json::from_slice(auth).ok()?;
    match (r.pid, r.offset) {
        (serde_json::Value::String(pid), serde_json::Value::String(offset)) => Some((pid, offset)),
        _ => None,
    }
}

/// What an adapter's restore gave: a failure is logged and connects a new socket, as Node.
fn restored(
    session: &Sess,
    result: Result<Option<RestoredSession>, crate::AdapterError>,
) -> Option<RestoredSession> {
    match result {
        Ok(Some(r)) => {
            debug!(sid = %session.sid, socket = %r.state.sid, "connection state recovered");
            Some(r)
        }
        Ok(None) => {
            debug!(sid = %session.sid, "no session to recover: a new socket");
            None
        }
        Err(e) => {
            tracing::warn!(sid = %session.sid, "session not restored: {e}");
            None
        }
    }
}

/// Makes the socket of a CONNECT (a new one, or the `restored` one: its rooms joined and its
/// missed events sent before the CONNECT answer, as Node does), then runs the middlewares
/// (not for a recovered socket when recovery skips them) and connects it.
fn open_socket(
    session: &Sess,
    ns: Arc<NamespaceInner>,
    auth: Bytes,
    restored: Option<RestoredSession>,
) {
    let client = &session.data;
    let handshake = Handshake {
        request: client.request.clone(),
        auth,
    };
    let (mut state, missed) = match restored {
        Some(r) => (Some(r.state), r.missed),
        None => (None, Vec::new()),
    };
    // `Socket::new` takes the id, pid and data; the rooms are joined below.
    let rooms = state.as_mut().map(|s| std::mem::take(&mut s.rooms));
    // From here the socket owns its membership of `ns`: its end releases it.
    let socket = Socket::new(ns.clone(), session.clone(), handshake, state);
    let added = {
        let mut st = client.state();
        if !st.closed {
            st.sockets.push(socket.clone());
        }
        !st.closed
    };
    if !added {
        socket.end(crate::DisconnectReason::TransportClose);
        return;
    }
    if let Some(rooms) = rooms {
        socket.join(rooms);
        for p in &missed {
            let _ = socket.write(&p.0, false);
        }
    }
    let skip = socket.recovered() && ns.recovery.as_ref().is_some_and(|r| r.skip_middlewares);
    let middlewares = ns.behaviour.middlewares();
    if middlewares.is_empty() || skip {
        finish_connect(&ns, socket, Ok(()));
        return;
    }
    let name = ns.name.clone();
    let site = Site {
        callback: Callback::Middleware,
        nsp: &*name,
        socket: Some(socket.id()),
    };
    let run = {
        let socket = socket.clone();
        Box::pin(async move {
            for m in middlewares {
                m(socket.clone()).await?;
            }
            Ok(())
        })
    };
    catch::start(site, run, move |result| {
        // A middleware that panicked refuses the socket.
        let result = result.unwrap_or_else(|| Err(crate::ConnectError::new("middleware error")));
        finish_connect(&ns, socket, result);
    });
}

fn finish_connect(
    ns: &Arc<NamespaceInner>,
    socket: Socket,
    result: Result<(), crate::ConnectError>,
) {
    let session = socket.0.session.clone();
    if let Err(err) = result {
        debug!(sid = %session.sid, nsp = %ns.name, %err, "connection refused by a middleware");
        socket.end(crate::DisconnectReason::ServerNamespaceDisconnect);
        let data = err.data.as_ref().map(|d| d.to_string());
        let frame = packet::connect_error(&ns.name, &err.message, data.as_deref());
        let _ = session.send(packet::for_parser(ns.parser, frame));
        return;
    }
    if !ns.add_socket(&socket) {
        // The connection closed while the middlewares ran: the socket has ended already.
        return;
    }
    let pid = socket.pid();
    let frame = packet::connect_ok(
        &ns.name,
        socket.id().as_str(),
        pid.as_ref().map(Sid::as_str),
    );
    let _ = session.send(packet::for_parser(ns.parser, frame));
    session.clear_first_use_deadline();
    debug!(sid = %session.sid, socket = %socket.id(), nsp = %ns.name, "socket connected");
    if let Some(o) = ns.observer() {
        o.connected(&socket);
    }
    let on_connect = ns.behaviour.on_connect();
    let site = Site {
        callback: Callback::Connect,
        nsp: &*ns.name,
        socket: Some(socket.id()),
    };
    catch::call(site, || on_connect(socket));
}

/// Whether every placeholder in `data` refers to one of `count` attachments, as the
/// reference parser demands.
fn placeholders_valid(data: &str, count: usize) -> bool {
    fn walk(v: &serde_json::Value, count: usize) -> bool {
        match v {
            serde_json::Value::Object(m) => {
                if m.get("_placeholder") == Some(&serde_json::Value::Bool(true)) {
                    return m
                        .get("num")
                        .and_then(serde_json::Value::as_u64)
                        .is_some_and(|n| (n as usize) < count);
                }
                m.values().all(|v| walk(v, count))
            }
            serde_json::Value::Array(a) => a.iter().all(|v| walk(v, count)),
            _ => true,
        }
    }
    serde_json::from_str::<serde_json::Value>(data).is_ok_and(|v| walk(&v, count))
}

impl EngineHandler for SioHandler {
    type Data = Client;

    fn create(&self, _sid: Sid, req: &http::request::Parts) -> Client {
        Client {
            request: Arc::new(Request::new(req, self.server.config.carry.as_ref())),
            state: Mutex::new(ClientState::default()),
            hooked: AtomicBool::new(false),
        }
    }

    fn on_open(&self, _session: &Sess) {}

    fn on_upgrade(&self, session: &Sess) {
        let transport = session.transport();
        conn::run(session, conn::upgrade_hooks, |f, c| f(c, transport));
        if let Some(o) = self.server.observer.get() {
            for socket in session.data.sockets() {
                o.upgraded(&socket);
            }
        }
    }

    fn on_engine_packet(&self, session: &Sess, packet: &sio_protocol::engine::Packet<'_>) {
        conn::run(session, conn::packet_hooks, |f, c| f(c, packet));
    }

    fn on_drain(&self, session: &Sess) {
        conn::run(session, conn::drain_hooks, |f, c| f(c));
    }

    fn on_message(&self, session: &Sess, message: Message<'_>) {
        if self.server.config.parser == Parser::MsgPack {
            return self.on_msgpack(session, message);
        }
        match message {
            Message::Text(text, owner) => {
                let header = match socket::decode(text) {
                    Ok(p) => p,
                    Err(err) => return self.protocol_error(session, &err.to_string()),
                };
                let mut st = session.data.state();
                let pending = st.reassembler.as_ref().is_some_and(|r| r.is_pending());
                if header.attachments == 0 && !pending {
                    drop(st);
                    if !matches!(header.kind, PacketType::Event | PacketType::Ack) {
                        return self.on_packet(session, header, owner, Vec::new());
                    }
                    // Arguments get a buffer of their own: a handler that keeps one must
                    // not keep the transport's read buffer (up to `max_payload`) with it.
                    let own = Bytes::copy_from_slice(header.data.as_bytes());
                    let data = std::str::from_utf8(&own).unwrap_or_default();
                    let header = socket::Packet { data, ..header };
                    return self.on_packet(session, header, &own, Vec::new());
                }
                let max = self.server.config.max_attachments;
                let r = st
                    .reassembler
                    .get_or_insert_with(|| Box::new(Reassembler::new(max)));
                // Own copies, as above: the packet waits for its attachments, and its
                // arguments may be kept.
                let result =
                    r.on_header(Bytes::copy_from_slice(text.as_bytes()), header.attachments);
                drop(st);
                match result {
                    Ok(Some((text, atts))) => self.complete(session, text, atts),
                    Ok(None) => {}
                    Err(err) => self.protocol_error(session, &err.to_string()),
                }
            }
            Message::Binary(data) => {
                let result = {
                    let mut st = session.data.state();
                    match st.reassembler.as_mut() {
                        Some(r) => r.on_binary(Bytes::copy_from_slice(&data)),
                        None => Err(sio_protocol::DecodeError::UnexpectedFrame("binary")),
                    }
                };
                match result {
                    Ok(Some((text, atts))) => self.complete(session, text, atts),
                    Ok(None) => {}
                    Err(err) => self.protocol_error(session, &err.to_string()),
                }
            }
        }
    }

    fn on_first_use_due(&self, session: &Sess) {
        // As Node: only connected sockets count; a middleware still running at the deadline
        // does not keep the session (its socket ends with it).
        let idle = !session.data.state().sockets.iter().any(Socket::connected);
        if idle {
            debug!(sid = %session.sid, "no namespace connected in time: closing");
            session.close(CloseReason::ForcedClose);
        }
    }

    fn on_close(&self, session: &Sess, reason: CloseReason) {
        let sockets = {
            let mut st = session.data.state();
            st.closed = true;
            st.reassembler = None;
            // Hooks may hold sockets, which hold the session.
            st.hooks = None;
            std::mem::take(&mut st.sockets)
        };
        for socket in sockets {
            socket.end(reason.into());
        }
    }
}

impl SioHandler {
    /// A control packet, as the server's parser writes it.
    fn control(&self, session: &Sess, frame: sio_protocol::engine::Frame) {
        let _ = session.send(packet::for_parser(self.server.config.parser, frame));
    }

    /// A message with the msgpack parser: each packet is one binary message, translated
    /// to the default parser's form (text and attachments) for everything after this.
    fn on_msgpack(&self, session: &Sess, message: Message<'_>) {
        let Message::Binary(data) = message else {
            return self.protocol_error(session, "text message with the msgpack parser");
        };
        // Binary values are inline, bounded by `max_payload` alone (no attachment count to
        // hold a reassembly open), as in Node.
        match msgpack::decode(&data).and_then(|p| msgpack::to_text(&p)) {
            Ok((text, atts)) => self.complete(session, Bytes::from(text), atts),
            Err(err) => self.protocol_error(session, &err.to_string()),
        }
    }

    /// A binary packet whose attachments are all in: its header was checked on arrival.
    fn complete(&self, session: &Sess, text: Bytes, attachments: Vec<Bytes>) {
        let decoded = std::str::from_utf8(&text)
            .map_err(|_| "binary packet header is not UTF-8".to_owned())
            .and_then(|t| socket::decode(t).map_err(|e| e.to_string()));
        match decoded {
            Ok(packet) => self.on_packet(session, packet, &text, attachments),
            Err(err) => self.protocol_error(session, &err),
        }
    }
}
