//! The Engine.IO v4 client session: handshake, heartbeat, write buffer, and the upgrade from
//! polling to WebSocket, as engine.io-client 6 does them.
//!
//! The engine never calls back into the manager while it is borrowed: everything the manager
//! must react to is pushed to an [`Up`] list that the manager handles afterwards.

use alloc::string::String;
use alloc::vec::Vec;

use wasm_bindgen::JsValue;

use crate::js::{self, Handle, Timer, event, word};
use crate::kind::{Ev, Kind, Op};
use crate::opts::{Allowed, Config, DEFAULT_PATH, TransportKind, opt};
use crate::transport::{Endpoint, Out, Transport};

// The Engine.IO packet types the engine acts on (glue.js `frameType`).
const OPEN: i32 = 0;
const CLOSE: i32 = 1;
const PING: i32 = 2;
const MESSAGE: i32 = 4;

/// What the manager hears from the engine.
pub(crate) enum Up {
    /// The handshake is done.
    Open,
    /// A text message (the Socket.IO packet, `4` included, as a JS string).
    Text(JsValue),
    /// A binary message (`ArrayBuffer`).
    Binary(JsValue),
    /// The server pinged.
    Ping,
    /// The session moved to another transport (its name, a `js::word`).
    Upgrade(i32),
    /// An event of `manager.engine` (a `js::event` code) with its argument.
    Fire(i32, JsValue),
    /// A transport error; a `Close` follows.
    Error(JsValue),
    /// The session is over: reason (a `js::word`) and description, as engine.io-client
    /// reports them.
    Close(i32, JsValue),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Opening,
    Open,
    Closed,
}

/// Where and how sessions connect: fixed when the manager is made.
pub(crate) struct Target {
    pub(crate) secure: bool,
    /// Whether the host is "localhost" (engine.io-client's test for the `offline` event).
    pub(crate) local: bool,
    /// `host[:port]` and the path, as one JS string (glue.js builds the URLs).
    pub(crate) base: JsValue,
    /// `k=v&…`, encoded (a JS string).
    pub(crate) query: JsValue,
    /// Extra headers of polling requests (an object, or undefined).
    pub(crate) headers: JsValue,
    /// WebSocket sub-protocols.
    pub(crate) protocols: JsValue,
    pub(crate) credentials: bool,
    pub(crate) timestamps: bool,
    pub(crate) upgrade: bool,
    pub(crate) remember_upgrade: bool,
    /// The transports, in order: the first opens, the later ones may be upgraded to.
    pub(crate) transports: Allowed,
    /// `tryAllTransports`: a transport that fails to open hands over to the next one.
    pub(crate) try_all: bool,
    /// The options of the browser's `WebTransport` (`transportOptions.webtransport`).
    #[cfg(feature = "webtransport")]
    pub(crate) wt_options: JsValue,
}

impl Target {
    /// `path` (the default when `None`) gets a trailing slash unless `addTrailingSlash` is
    /// off, as in socket.io-client. The other options come from [`set`](Self::set).
    pub(crate) fn new(secure: bool, host: String, path: Option<String>, cfg: &Config) -> Target {
        let mut base = host;
        let local = base == "localhost" || base.as_bytes().starts_with(b"localhost:");
        base.push_str(path.as_deref().unwrap_or(DEFAULT_PATH));
        if cfg.flag(opt::ADD_TRAILING_SLASH) && !base.ends_with('/') {
            base.push('/');
        }
        let mut t = Target {
            secure,
            local,
            base: JsValue::from_str(&base),
            query: JsValue::UNDEFINED,
            headers: JsValue::UNDEFINED,
            protocols: JsValue::UNDEFINED,
            credentials: false,
            timestamps: false,
            upgrade: false,
            remember_upgrade: false,
            transports: Allowed::decode(0),
            try_all: false,
            #[cfg(feature = "webtransport")]
            wt_options: JsValue::UNDEFINED,
        };
        t.set(
            JsValue::UNDEFINED,
            JsValue::UNDEFINED,
            JsValue::UNDEFINED,
            cfg,
        );
        t
    }

    /// The options engine.io-client reads for each session: `query` (encoded), the polling
    /// requests' extra `headers`, the WebSocket sub-`protocols`, and those of `cfg`.
    pub(crate) fn set(
        &mut self,
        query: JsValue,
        headers: JsValue,
        protocols: JsValue,
        cfg: &Config,
    ) {
        self.query = query;
        self.headers = headers;
        self.protocols = protocols;
        self.credentials = cfg.flag(opt::WITH_CREDENTIALS);
        self.timestamps = cfg.flag(opt::TIMESTAMP_REQUESTS);
        self.upgrade = cfg.flag(opt::UPGRADE);
        self.remember_upgrade = cfg.flag(opt::REMEMBER_UPGRADE);
        self.transports = cfg.transports();
        self.try_all = cfg.flag(opt::TRY_ALL_TRANSPORTS);
    }

    /// The options of the browser's `WebTransport` (`transportOptions.webtransport`).
    #[cfg(feature = "webtransport")]
    pub(crate) fn set_webtransport(&mut self, options: JsValue) {
        self.wt_options = options;
    }
}

pub(crate) struct Engine {
    /// The manager's handle: transports and timers report there.
    h: Handle,
    pub(crate) state: State,
    /// The session id (a JS string once the handshake is done, else undefined).
    sid: JsValue,
    transport: Transport,
    /// The transport's place in `Target::transports` (`tryAllTransports` moves on from it).
    at: usize,
    /// The id of the session's first transport: the later ones (`tryAllTransports`) count
    /// up from it, the probe is `tid + PROBE`.
    tid: u32,
    /// The WebSocket being probed while polling carries the session.
    probe: Option<Transport>,
    /// The probe answered; polling is pausing so the switch loses nothing.
    upgrading: bool,
    offers_ws: bool,
    /// The server offers WebTransport and no probe of it has failed this session.
    #[cfg(feature = "webtransport")]
    offers_wt: bool,
    ping_interval: f64,
    ping_timeout: f64,
    max_payload: f64,
    ping_deadline: f64,
    ping_timer: Option<Timer>,
    buf: Vec<Out>,
    /// Frames of `buf` in the POST in flight.
    in_flight: usize,
}

impl Engine {
    /// Starts a session with the first transport of `target` (WebSocket first when
    /// `remember_upgrade` and an earlier session upgraded). `tid` identifies its transport;
    /// the session's others are the next [`IDS`]` - 1` ids: unique per session, so that events
    /// of an earlier session's transports cannot be mistaken for this one's.
    pub(crate) fn open(h: Handle, tid: u32, target: &Target) -> Self {
        let mut kind = target.transports.get(0).unwrap_or(TransportKind::Polling);
        let ws = TransportKind::WebSocket;
        if target.remember_upgrade && target.transports.has(0, ws) && js::prior_ws(-1) {
            kind = ws;
        }
        let transport = Transport::open(tid, kind, &endpoint(target, &JsValue::UNDEFINED), h);
        Engine {
            h,
            state: State::Opening,
            sid: JsValue::UNDEFINED,
            transport,
            at: 0,
            tid,
            probe: None,
            upgrading: false,
            offers_ws: false,
            #[cfg(feature = "webtransport")]
            offers_wt: false,
            ping_interval: 0.0,
            ping_timeout: 0.0,
            max_payload: 0.0,
            ping_deadline: 0.0,
            ping_timer: None,
            buf: Vec::new(),
            in_flight: 0,
        }
    }

    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn sid(&self) -> &JsValue {
        &self.sid
    }

    /// engine.io-client's `readyState`.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn ready_state(&self) -> i32 {
        match self.state {
            State::Opening => word::OPENING,
            State::Open => word::OPEN,
            State::Closed => word::CLOSED,
        }
    }

    pub(crate) fn transport_name(&self) -> &'static str {
        self.transport.kind.name()
    }

    /// The transport's name as a `js::word`.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn transport_word(&self) -> i32 {
        transport_word(self.transport.kind)
    }

    /// Whether a frame written now goes out at once (volatile emits are dropped otherwise).
    pub(crate) fn writable(&self) -> bool {
        self.state == State::Open && self.transport.writable && !self.upgrading
    }

    /// A browser event `ev` of transport `tid` (its request `op`), if it is one of the
    /// session's.
    pub(crate) fn on_event(
        &mut self,
        target: &Target,
        tid: u32,
        op: Op,
        ev: Ev,
        value: JsValue,
        up: &mut Vec<Up>,
    ) {
        if self.state == State::Closed {
            return;
        }
        if self.probe.as_ref().is_some_and(|p| p.id == tid) {
            #[cfg(feature = "webtransport")]
            self.on_probe_event(target, ev, value, up);
            #[cfg(not(feature = "webtransport"))]
            self.on_probe_event(ev, value, up);
            return;
        }
        if self.transport.id != tid {
            return;
        }
        let ws = self.transport.kind.is_stream();
        if !ws {
            self.transport.request_done(op);
        }
        match (ws, op, ev) {
            (true, _, Ev::Open) => {
                // The server speaks first: its open packet comes as a message.
                self.transport.writable = true;
            }
            (true, _, Ev::Data) => self.on_message(target, value, up),
            (false, Op::Post, Ev::Data) => self.on_drain(up),
            #[cfg(feature = "polling")]
            (false, Op::Blobs, Ev::Data) => self.transport.blobs_read(&value),
            (false, _, Ev::Data) => {
                self.on_payload(target, &value, up);
                if self.state == State::Closed {
                    return;
                }
                if self.upgrading {
                    self.try_switch(up);
                } else {
                    self.transport.poll();
                }
            }
            (true, _, Ev::Close) => self.on_close(
                word::TRANSPORT_CLOSE,
                js::details(word::WS_CLOSED, &value),
                up,
            ),
            _ => {
                let message = match (ws, op) {
                    #[cfg(feature = "webtransport")]
                    _ if self.transport.kind == TransportKind::WebTransport => word::WT_ERROR,
                    (true, _) => word::WS_ERROR,
                    (false, Op::Get) => word::POLL_ERROR,
                    _ => word::POST_ERROR,
                };
                js::prior_ws(0);
                if self.try_next(target) {
                    return;
                }
                let err = js::transport_error(message, &value);
                up.push(Up::Error(err.clone()));
                self.on_close(word::TRANSPORT_ERROR, err, up);
            }
        }
    }

    /// A polling response: every record of the payload, in order, as WebSocket messages
    /// are. glue.js splits the body and decodes its base64 (the browser's `atob`: less code
    /// than a decoder in the .wasm, and the body is not copied into wasm memory).
    fn on_payload(&mut self, target: &Target, body: &JsValue, up: &mut Vec<Up>) {
        let frames = js::records(body);
        for i in 0..frames.length() as i32 {
            let frame = frames.at(i);
            if frame.is_undefined() {
                self.parse_error(target, up);
            } else {
                self.on_message(target, frame, up);
            }
            if self.state == State::Closed {
                return;
            }
        }
    }

    /// A WebSocket message, or a record of a polling payload. Text frames stay JS strings:
    /// glue.js reads their type, the handshake and (in the manager) the Socket.IO packet,
    /// so that no message is copied into wasm memory and back out.
    fn on_message(&mut self, target: &Target, data: JsValue, up: &mut Vec<Up>) {
        self.heard(&data, up);
        if !data.is_string() {
            up.push(Up::Binary(data));
            return;
        }
        match js::frame_type(&data) {
            OPEN if self.state == State::Opening => self.on_handshake(target, &data, up),
            CLOSE => self.on_close(
                word::TRANSPORT_CLOSE,
                js::details(word::CLOSED_BY_SERVER, &JsValue::UNDEFINED),
                up,
            ),
            PING if self.state == State::Open => {
                self.write_control(word::PONG, up);
                self.reset_ping_timeout();
                up.push(Up::Ping);
            }
            MESSAGE if self.state == State::Open => up.push(Up::Text(data)),
            // Not an Engine.IO packet type.
            t if t < 0 => self.parse_error(target, up),
            // Noop (releases a GET during an upgrade), pongs, and packets out of place.
            _ => {}
        }
    }

    /// `manager.engine`'s `packet` and `heartbeat` for a received frame.
    fn heard(&self, frame: &JsValue, up: &mut Vec<Up>) {
        up.push(Up::Fire(event::FRAME_IN, frame.clone()));
    }

    fn on_handshake(&mut self, target: &Target, frame: &JsValue, up: &mut Vec<Up>) {
        let hs = js::handshake(frame);
        let sid = hs.at(0);
        if !sid.is_string() {
            self.parse_error(target, up);
            return;
        }
        let num = |i| js::nth(&hs, i);
        self.ping_interval = num(1);
        self.ping_timeout = num(2);
        self.max_payload = num(3);
        self.offers_ws = hs.at(4).is_truthy();
        #[cfg(feature = "webtransport")]
        {
            self.offers_wt = hs.at(5).is_truthy();
        }
        #[cfg(feature = "polling")]
        self.transport.set_sid(&sid);
        self.sid = sid;
        self.state = State::Open;
        js::prior_ws(i32::from(self.transport.kind == TransportKind::WebSocket));
        self.reset_ping_timeout();
        up.push(Up::Open);
        self.flush();
        if target.upgrade && self.transport.kind == TransportKind::Polling {
            self.start_probe(target);
        }
    }

    /// Probes the transport to upgrade to, if any: WebTransport first, as engine.io-client
    /// tries it, then WebSocket (also after a failed WebTransport probe).
    fn start_probe(&mut self, target: &Target) {
        let Some(kind) = self.upgrade_kind(target) else {
            return;
        };
        let at = endpoint(target, &self.sid);
        self.probe = Some(Transport::open(self.tid + PROBE, kind, &at, self.h));
    }

    /// What to probe: a transport the server offers, in the list from the one in use on (as
    /// engine.io-client filters the upgrades by the transports it has not given up on).
    fn upgrade_kind(&self, target: &Target) -> Option<TransportKind> {
        let allowed = |kind| target.transports.has(self.at, kind);
        #[cfg(feature = "webtransport")]
        if self.offers_wt && allowed(TransportKind::WebTransport) {
            return Some(TransportKind::WebTransport);
        }
        (self.offers_ws && allowed(TransportKind::WebSocket)).then_some(TransportKind::WebSocket)
    }

    /// `tryAllTransports`: the transport failed before the handshake, so the next one of the
    /// list opens instead, and nobody hears of the failure (engine.io-client's `_onError`).
    /// False when there is none, or the option is off.
    fn try_next(&mut self, target: &Target) -> bool {
        let next = self.at + 1;
        let kind = match target.transports.get(next) {
            Some(kind) if target.try_all && self.state == State::Opening => kind,
            _ => return false,
        };
        self.at = next;
        let no_sid = JsValue::UNDEFINED;
        let at = endpoint(target, &no_sid);
        // Dropping the failed transport stops its callbacks.
        self.transport = Transport::open(self.tid + next as u32, kind, &at, self.h);
        true
    }

    /// The upgrade, seen from the WebSocket being probed: `2probe` → `3probe`, then wait for
    /// polling to be idle and switch (`try_switch`). Any failure leaves polling in charge.
    fn on_probe_event(
        &mut self,
        #[cfg(feature = "webtransport")] target: &Target,
        ev: Ev,
        value: JsValue,
        up: &mut Vec<Up>,
    ) {
        let Some(probe) = self.probe.as_mut() else {
            return;
        };
        let name = probe_word(probe.kind);
        match ev {
            Ev::Open => {
                probe.writable = true;
                probe.send(&[js::word(word::PING_PROBE)]);
            }
            Ev::Data if value == js::word(word::PONG_PROBE) => {
                self.upgrading = true;
                up.push(Up::Fire(event::UPGRADING, js::transport_named(name)));
                self.try_switch(up);
            }
            _ => {
                // Probe error, close, or an unexpected answer: forget that transport.
                up.push(Up::Fire(event::UPGRADE_ERROR, js::probe_error(name)));
                self.upgrading = false;
                #[cfg(feature = "webtransport")]
                let failed_wt = probe.kind == TransportKind::WebTransport;
                self.probe = None;
                #[cfg(feature = "webtransport")]
                if failed_wt {
                    self.offers_wt = false;
                    self.start_probe(target);
                }
                self.transport.poll();
            }
        }
    }

    /// Completes the upgrade once polling has nothing in flight.
    fn try_switch(&mut self, up: &mut Vec<Up>) {
        if !self.transport.is_idle() {
            return;
        }
        let Some(mut ws) = self.probe.take() else {
            return;
        };
        ws.send(&[js::word(word::UPGRADE)]);
        // Dropping the polling transport closes it without a word to the server.
        // (rememberUpgrade is WebSocket's, as engine.io-client's `priorWebsocketSuccess`.)
        #[cfg(feature = "webtransport")]
        js::prior_ws(i32::from(ws.kind == TransportKind::WebSocket));
        #[cfg(not(feature = "webtransport"))]
        js::prior_ws(1);
        let name = probe_word(ws.kind);
        self.transport = ws;
        self.upgrading = false;
        up.push(Up::Upgrade(name));
        self.flush();
    }

    fn on_drain(&mut self, up: &mut Vec<Up>) {
        self.buf.drain(..self.in_flight.min(self.buf.len()));
        shrink_if_empty(&mut self.buf);
        self.in_flight = 0;
        if self.buf.is_empty() {
            up.push(Up::Fire(event::DRAIN, JsValue::UNDEFINED));
        }
        if self.upgrading {
            self.try_switch(up);
        } else {
            self.flush();
        }
    }

    fn write_control(&mut self, packet: i32, up: &mut Vec<Up>) {
        let frame = js::word(packet);
        up.push(Up::Fire(event::FRAME_OUT, frame.clone()));
        self.buf.push(frame);
        self.flush();
    }

    /// Queues frames and sends what the transport can take now; true when a WebSocket sent
    /// them all (its `drain`).
    pub(crate) fn write(&mut self, frames: impl IntoIterator<Item = Out>) -> bool {
        if self.state == State::Closed {
            return false;
        }
        self.buf.extend(frames);
        self.flush();
        self.buf.is_empty() && self.transport.kind.is_stream()
    }

    fn flush(&mut self) {
        if self.state != State::Open
            || !self.transport.writable
            || self.upgrading
            || self.buf.is_empty()
            || self.in_flight > 0
        {
            return;
        }
        if self.transport.kind.is_stream() {
            let frames = core::mem::take(&mut self.buf);
            self.transport.send(&frames);
            return;
        }
        // One POST, no larger than the server's maxPayload (but at least one frame).
        let mut n = 0;
        let mut size = 1.0;
        for f in &self.buf {
            size += js::len(f) + 2.0;
            if n > 0 && self.max_payload > 0.0 && size > self.max_payload {
                break;
            }
            n += 1;
        }
        let frames: Vec<Out> = self.buf.iter().take(n).cloned().collect();
        self.in_flight = n;
        self.transport.send(&frames);
    }

    fn reset_ping_timeout(&mut self) {
        let delay = self.ping_interval + self.ping_timeout;
        self.ping_deadline = js::now() + delay;
        self.ping_timer = Some(Timer::new(delay, self.h, Kind::PingTimeout.encode(), 0.0));
    }

    /// Whether the server is overdue: timers of background tabs are throttled, so an emit
    /// checks the clock rather than trusting the ping timer to have fired.
    pub(crate) fn ping_expired(&self) -> bool {
        self.ping_deadline > 0.0 && js::now() > self.ping_deadline
    }

    /// The browser went offline: the session is lost now, as engine.io-client has it.
    pub(crate) fn on_offline(&mut self, up: &mut Vec<Up>) {
        let details = js::details(word::CONNECTION_LOST, &JsValue::UNDEFINED);
        self.on_close(word::TRANSPORT_CLOSE, details, up);
    }

    pub(crate) fn on_ping_timeout(&mut self, up: &mut Vec<Up>) {
        self.on_close(word::PING_TIMEOUT, JsValue::UNDEFINED, up);
    }

    /// Something that is not an Engine.IO packet: engine.io-client's `server error`, then a
    /// `transport error` close (the manager's `connect_error` while opening).
    fn parse_error(&mut self, target: &Target, up: &mut Vec<Up>) {
        if self.try_next(target) {
            return;
        }
        let err = js::err(word::SERVER_ERROR);
        up.push(Up::Error(err.clone()));
        self.on_close(word::TRANSPORT_ERROR, err, up);
    }

    /// Closes the session from this side (`forced close`), telling the server.
    pub(crate) fn close(&mut self, up: &mut Vec<Up>) {
        if self.state == State::Closed {
            return;
        }
        let open = self.state == State::Open;
        let rest: Vec<Out> = self.buf.iter().skip(self.in_flight).cloned().collect();
        self.finish();
        self.transport.close(open.then_some(&rest[..]));
        up.push(Up::Close(word::FORCED_CLOSE, JsValue::UNDEFINED));
    }

    fn on_close(&mut self, reason: i32, description: JsValue, up: &mut Vec<Up>) {
        if self.state == State::Closed {
            return;
        }
        self.finish();
        self.transport.close(None);
        up.push(Up::Close(reason, description));
    }

    fn finish(&mut self) {
        self.state = State::Closed;
        self.ping_timer = None;
        self.buf.clear();
        self.in_flight = 0;
        self.probe = None;
    }
}

/// Transport ids a session has: one for each kind of transport it may try in turn
/// (`tryAllTransports`), then its upgrade probe's.
pub(crate) const IDS: u32 = 4;
const PROBE: u32 = IDS - 1;

/// Gives back the memory of a list that grew (an offline spell, a burst) once it is empty;
/// small lists keep theirs, so that steady traffic does not allocate.
pub(crate) fn shrink_if_empty<T>(v: &mut Vec<T>) {
    if v.is_empty() && v.capacity() > 16 {
        *v = Vec::new();
    }
}

/// The name of a transport an upgrade goes to, as a `js::word` (always WebSocket without
/// the `webtransport` feature).
#[cfg(feature = "webtransport")]
fn probe_word(kind: TransportKind) -> i32 {
    transport_word(kind)
}
#[cfg(not(feature = "webtransport"))]
fn probe_word(_: TransportKind) -> i32 {
    word::WEBSOCKET
}

/// A transport's name as a `js::word`.
fn transport_word(kind: TransportKind) -> i32 {
    match kind {
        TransportKind::Polling => word::POLLING,
        TransportKind::WebSocket => word::WEBSOCKET,
        #[cfg(feature = "webtransport")]
        TransportKind::WebTransport => word::WEBTRANSPORT,
    }
}

fn endpoint<'a>(target: &'a Target, sid: &'a JsValue) -> Endpoint<'a> {
    Endpoint {
        #[cfg(feature = "webtransport")]
        wt_options: &target.wt_options,
        secure: target.secure,
        base: &target.base,
        query: &target.query,
        sid,
        headers: &target.headers,
        credentials: target.credentials,
        timestamps: target.timestamps,
        protocols: &target.protocols,
    }
}
