//! The Engine.IO v4 server: sessions over HTTP long-polling and WebSocket, the upgrade from
//! one to the other, and the heartbeat. It knows nothing of Socket.IO: the layer above
//! plugs in through [`EngineHandler`].

mod errors;
mod gate;
mod headers;
mod polling;
mod session;
mod websocket;
#[cfg(feature = "webtransport")]
pub(crate) mod webtransport;
mod ws_io;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::Full;
use tracing::debug;

pub use errors::{ConnectionError, EngineError};
pub use gate::{AllowFuture, Gate};
pub(crate) use headers::Opened;
pub use headers::{Cookie, HeadersFn, ResponseHeaders, SameSite};
pub use session::{CloseReason, SendError, Session, Transport};
pub(crate) use session::{Drain, Limits, Tick};
/// An Engine.IO packet, as connection hooks see it ([`Conn::on_packet`](crate::Conn::on_packet)).
pub use sio_protocol::engine::Packet;

use crate::config::Config;
use crate::sid::{Sid, SidMap};

/// A message received from a peer.
#[derive(Debug)]
pub enum Message<'a> {
    /// A text message, and the buffer it lives in (so the upper layer can keep a zero-copy
    /// slice of it with [`Bytes::slice_ref`]).
    Text(&'a str, &'a Bytes),
    /// A binary message.
    Binary(Bytes),
}

/// The layer above the engine (Socket.IO), told about every session event.
///
/// Calls for one session never overlap: they come from its transport's reader, in order.
pub trait EngineHandler: Send + Sync + 'static {
    /// The upper layer's per-session data, stored in the [`Session`].
    type Data: Send + Sync + 'static;

    /// Makes the data of a new session from its handshake request.
    fn create(&self, sid: Sid, req: &http::request::Parts) -> Self::Data;

    /// The session is open (its open packet is queued).
    fn on_open(&self, session: &Arc<Session<Self::Data>>);

    /// The session switched to another transport after an upgrade (its [`Session::transport`]).
    fn on_upgrade(&self, session: &Arc<Session<Self::Data>>) {
        let _ = session;
    }

    /// A packet arrived, before it is handled.
    fn on_engine_packet(
        &self,
        session: &Arc<Session<Self::Data>>,
        packet: &sio_protocol::engine::Packet<'_>,
    ) {
        let _ = (session, packet);
    }

    /// The queued packets were handed to the transport.
    fn on_drain(&self, session: &Arc<Session<Self::Data>>) {
        let _ = session;
    }

    /// A message arrived.
    fn on_message(&self, session: &Arc<Session<Self::Data>>, message: Message<'_>);

    /// The first-use deadline set at creation passed (Socket.IO's connect timeout).
    fn on_first_use_due(&self, session: &Arc<Session<Self::Data>>);

    /// The session closed; called once, then the session is forgotten.
    fn on_close(&self, session: &Arc<Session<Self::Data>>, reason: CloseReason);
}

/// The Engine.IO server: the session table and the request entry point.
pub struct Engine<H: EngineHandler> {
    pub(crate) config: Arc<Config>,
    pub(crate) handler: H,
    sessions: Mutex<SidMap<Arc<Session<H::Data>>>>,
    /// Sessions opened and closed.
    pub(crate) counters: crate::stats::EngineCounters,
    /// The traffic and volatile drops of the sessions that ended, folded in when each is
    /// removed (taken after `sessions`).
    ended: Mutex<(crate::stats::Traffic, u64)>,
    /// Notified when the last session is removed.
    drained: tokio::sync::Notify,
    /// A WebTransport endpoint serves this engine: polling sessions may upgrade to it.
    pub(crate) webtransport: std::sync::atomic::AtomicBool,
}

/// The owner of a session's end for its driver: if the driver stops without finishing the
/// session (its task dropped at runtime shutdown, or a bug that panics), the session is
/// ended here, with its sockets and rooms. Disarmed by a driver that finished normally; a
/// session that moved to another transport belongs to that transport's driver.
pub(crate) struct EndsSession<'a, H: EngineHandler> {
    engine: &'a Arc<Engine<H>>,
    session: &'a Arc<Session<H::Data>>,
    transport: Transport,
    pub armed: bool,
}

impl<'a, H: EngineHandler> EndsSession<'a, H> {
    pub fn new(
        engine: &'a Arc<Engine<H>>,
        session: &'a Arc<Session<H::Data>>,
        transport: Transport,
    ) -> Self {
        Self {
            engine,
            session,
            transport,
            armed: true,
        }
    }
}

impl<H: EngineHandler> Drop for EndsSession<'_, H> {
    fn drop(&mut self) {
        if self.armed && self.session.transport() == self.transport {
            self.engine.end_now(self.session, self.transport);
        }
    }
}

/// The query parameters the engine reads.
#[derive(Default, Debug)]
pub(crate) struct EngineQuery<'a> {
    pub eio: Option<&'a str>,
    pub transport: Option<&'a str>,
    pub sid: Option<&'a str>,
}

impl<'a> EngineQuery<'a> {
    fn parse(query: &'a str) -> Self {
        let mut q = EngineQuery::default();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "EIO" => q.eio = Some(v),
                "transport" => q.transport = Some(v),
                "sid" => q.sid = Some(v),
                _ => {}
            }
        }
        q
    }
}

impl<H: EngineHandler> Engine<H> {
    /// An engine with `config`, handing sessions to `handler`.
    pub fn new(config: Arc<Config>, handler: H) -> Arc<Self> {
        Arc::new(Self {
            config,
            handler,
            sessions: Mutex::new(SidMap::default()),
            counters: crate::stats::EngineCounters::default(),
            ended: Mutex::new(Default::default()),
            drained: tokio::sync::Notify::new(),
            webtransport: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The transports a polling session may upgrade to, in the order a client tries them
    /// (the `upgrades` of its open packet).
    pub(crate) fn upgrades(&self) -> &'static [&'static str] {
        if !self.config.allow_upgrades {
            return &[];
        }
        let wt = self.webtransport.load(std::sync::atomic::Ordering::Relaxed);
        match (self.config.transports.websocket, wt) {
            (true, true) => &["websocket", "webtransport"],
            (true, false) => &["websocket"],
            (false, true) => &["webtransport"],
            (false, false) => &[],
        }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, SidMap<Arc<Session<H::Data>>>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The number of open sessions (Node's `clientsCount`).
    pub fn session_count(&self) -> usize {
        self.sessions().len()
    }

    /// The traffic of every session so far, with the sessions open now by transport.
    pub(crate) fn snapshot(&self) -> crate::stats::EngineSnapshot {
        // The totals of ended sessions and the list of live ones are read together, so that
        // no session is counted twice or missed: counters never go down.
        let (live, (mut traffic, mut dropped)) = {
            let sessions = self.sessions();
            let ended = *self.ended.lock().unwrap_or_else(|e| e.into_inner());
            (sessions.values().cloned().collect::<Vec<_>>(), ended)
        };
        let (mut polling, mut websocket, mut webtransport) = (0, 0, 0);
        for s in &live {
            let (t, d, transport) = s.traffic();
            traffic.add(&t);
            dropped += d;
            match transport {
                Transport::Polling => polling += 1,
                Transport::Websocket => websocket += 1,
                Transport::WebTransport => webtransport += 1,
            }
        }
        crate::stats::EngineSnapshot {
            polling,
            websocket,
            webtransport,
            traffic,
            volatile_dropped: dropped,
        }
    }

    /// Every open session.
    pub fn all_sessions(&self) -> Vec<Arc<Session<H::Data>>> {
        self.sessions().values().cloned().collect()
    }

    /// The session `sid`, unless it is unknown or gone (closed, even if its driver has not
    /// forgotten it yet): as in Node, a closed session no longer exists for its peer.
    pub(crate) fn get(&self, sid: &str) -> Option<Arc<Session<H::Data>>> {
        let sid = Sid::parse(sid)?;
        let session = self.sessions().get(&sid).cloned()?;
        (!session.is_gone()).then_some(session)
    }

    fn limits(&self) -> Limits {
        Limits {
            ping_interval: self.config.ping_interval,
            ping_timeout: self.config.ping_timeout,
            close_timeout: self.config.close_timeout,
            max_buffered: self.config.max_buffered_packets,
        }
    }

    /// Creates and registers a session.
    pub(crate) fn open_session(
        self: &Arc<Self>,
        sid: Sid,
        parts: &http::request::Parts,
        transport: Transport,
    ) -> Arc<Session<H::Data>> {
        let data = self.handler.create(sid, parts);
        let session = Arc::new(Session::new(
            sid,
            transport,
            data,
            self.limits(),
            Some(self.config.connect_timeout),
        ));
        self.sessions().insert(sid, session.clone());
        self.counters.opened(transport);
        debug!(sid = %sid, transport = transport.as_str(), "engine session opened");
        session
    }

    /// Forgets a finished session.
    pub(crate) fn remove(&self, session: &Session<H::Data>) {
        let empty = {
            let mut sessions = self.sessions();
            if sessions.remove(&session.sid).is_some() {
                // Read under the lock that `snapshot` takes: a session is in the live list
                // or in the totals, never both. (Lock order: `sessions`, a session, `ended`.)
                let (traffic, dropped, _) = session.traffic();
                let mut ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
                ended.0.add(&traffic);
                ended.1 += dropped;
            }
            sessions.is_empty()
        };
        if empty {
            self.drained.notify_waiters();
        }
        debug!(sid = %session.sid, "engine session removed");
    }

    /// Handles one request under the engine's path.
    pub async fn handle<B>(self: Arc<Self>, req: Request<B>) -> Response<Full<Bytes>>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let hook = self.config.gate.on_refusal.clone();
        if hook.is_none() && self.config.headers.is_empty() {
            return self.route(req).await;
        }
        // What the hooks are told of the request, kept only while there are hooks.
        let mut copy = Request::new(());
        *copy.method_mut() = req.method().clone();
        *copy.uri_mut() = req.uri().clone();
        *copy.version_mut() = req.version();
        *copy.headers_mut() = req.headers().clone();
        let (parts, ()) = copy.into_parts();
        let config = self.config.clone();
        let mut res = self.route(req).await;
        config.headers.apply(&mut res, &parts);
        let refusal = res.extensions().get::<errors::Refusal>();
        if let (Some(hook), Some(r)) = (hook, refusal) {
            let err = ConnectionError {
                code: r.code,
                message: r.message.clone(),
                method: parts.method,
                uri: parts.uri,
                headers: parts.headers,
            };
            let site = crate::catch::Site {
                callback: crate::catch::Callback::ConnectionError,
                nsp: "",
                socket: None,
            };
            crate::catch::call(site, || hook(&err));
        }
        res
    }

    async fn route<B>(self: Arc<Self>, req: Request<B>) -> Response<Full<Bytes>>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let query = req.uri().query().unwrap_or("").to_owned();
        let q = EngineQuery::parse(&query);
        if let Some(refused) = self.config.gate.refuse_origin(req.headers()) {
            return refused;
        }
        let req = if self.config.gate.asks(q.sid.is_none()) {
            let (parts, body) = req.into_parts();
            if let Some(refused) = self.config.gate.refuse_handshake(&parts).await {
                return refused;
            }
            Request::from_parts(parts, body)
        } else {
            req
        };
        let transport = match q.transport {
            Some("polling") if self.config.transports.polling => Transport::Polling,
            Some("websocket") if self.config.transports.websocket => Transport::Websocket,
            _ => return EngineError::UnknownTransport.response(),
        };
        let is_upgrade = websocket::is_upgrade_request(&req);
        match q.sid {
            None => {
                if req.method() != Method::GET {
                    return EngineError::BadHandshakeMethod.response();
                }
                if q.eio != Some("4") {
                    return EngineError::UnsupportedProtocolVersion.response();
                }
                match transport {
                    Transport::Polling => polling::handshake(self, req),
                    Transport::Websocket if is_upgrade => websocket::accept(self, req, None),
                    Transport::Websocket => EngineError::BadRequest.response(),
                    // Not an HTTP transport: its sessions come through its own endpoint.
                    Transport::WebTransport => EngineError::UnknownTransport.response(),
                }
            }
            Some(sid) => {
                let Some(session) = self.get(sid) else {
                    return EngineError::UnknownSid.response();
                };
                match transport {
                    Transport::Websocket if is_upgrade => {
                        // One probe at a time, as Node ("transport has already been trying
                        // to upgrade"): two could otherwise both switch the session.
                        if !self.config.allow_upgrades || !session.claim_probe() {
                            return EngineError::BadRequest.response();
                        }
                        websocket::accept(self, req, Some(session))
                    }
                    Transport::Websocket => EngineError::BadRequest.response(),
                    Transport::WebTransport => EngineError::UnknownTransport.response(),
                    Transport::Polling => {
                        if session.transport() != Transport::Polling {
                            return EngineError::BadRequest.response();
                        }
                        match *req.method() {
                            Method::GET => polling::poll(self, session).await,
                            Method::POST => polling::post(self, session, req).await,
                            _ => EngineError::BadRequest.response(),
                        }
                    }
                }
            }
        }
    }

    /// Dispatches one packet from the peer. Returns false if the session was closed
    /// because of it.
    pub(crate) fn on_packet(
        &self,
        session: &Arc<Session<H::Data>>,
        packet: Result<sio_protocol::engine::Packet<'_>, sio_protocol::DecodeError>,
        owner: &Bytes,
    ) -> bool {
        use sio_protocol::engine::Packet;
        // As Node: once closed (by the peer, a parse error, the server), the rest of what
        // the peer sent is not handled.
        if session.is_closed() {
            return false;
        }
        if let Ok(p) = &packet {
            self.handler.on_engine_packet(session, p);
        }
        match packet {
            Ok(Packet::Message(data)) => {
                session.received.count(data.len());
                self.handler.on_message(session, Message::Text(data, owner));
            }
            Ok(Packet::Binary(data)) => {
                session.received.count(data.len());
                self.handler
                    .on_message(session, Message::Binary(owner.slice_ref(data)));
            }
            Ok(Packet::Pong(_)) => session.on_pong(),
            // Protocol 4 pings go from the server to the client only.
            Ok(Packet::Ping(_)) => {
                debug!(sid = %session.sid, "ping from the client: invalid heartbeat direction");
                session.close(CloseReason::TransportError);
                return false;
            }
            Ok(Packet::Close) => {
                session.close(CloseReason::TransportClose);
                return false;
            }
            // Probes and upgrades are the transports' business.
            Ok(Packet::Noop | Packet::Upgrade | Packet::Open(_)) => {}
            Err(err) => {
                debug!(sid = %session.sid, %err, "malformed engine.io packet");
                session.close(CloseReason::ParseError);
                return false;
            }
        }
        !session.is_closed()
    }

    /// Runs the driver's step and acts on it; returns the next deadline, or `None` when the
    /// driver must stop (the session moved to another transport, or is finished).
    pub(crate) fn drive(
        &self,
        session: &Arc<Session<H::Data>>,
        cx: &mut std::task::Context<'_>,
        transport: Transport,
    ) -> Option<tokio::time::Instant> {
        loop {
            match session.tick(cx, transport) {
                Tick::Sleep(at) => return Some(at),
                Tick::FirstUseDue => self.handler.on_first_use_due(session),
                Tick::Closed(reason) => {
                    self.counters.closed(reason);
                    debug!(sid = %session.sid, reason = reason.as_str(), "engine session closed");
                    self.handler.on_close(session, reason);
                }
                Tick::Finish => {
                    self.remove(session);
                    return None;
                }
                Tick::Stop => return None,
            }
        }
    }

    /// Ends `session` here and now, whatever it was doing: it is closed (as broken, unless it
    /// already was), the upper layer is told, and the session is forgotten. For a driver
    /// that cannot go on.
    pub(crate) fn end_now(&self, session: &Arc<Session<H::Data>>, transport: Transport) {
        session.close(CloseReason::TransportError);
        session.finish();
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        while self.drive(session, &mut cx, transport).is_some() {}
    }

    /// Closes every session (server shutdown) and waits until each has flushed its queue
    /// and closed its transport, or `close_timeout` has passed.
    pub async fn close_all(&self) {
        let drained = self.drained.notified();
        let mut drained = std::pin::pin!(drained);
        drained.as_mut().enable();
        for s in self.all_sessions() {
            s.close(CloseReason::ForcedClose);
        }
        if self.session_count() > 0 {
            // Each session gives up after `close_timeout`; allow a little more for the last.
            let _ = tokio::time::timeout(self.config.close_timeout * 2, drained).await;
        }
    }
}
