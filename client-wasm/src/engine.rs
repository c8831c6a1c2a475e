//! The Engine.IO v4 client session: handshake, heartbeat, write buffer, and the upgrade from
//! polling to WebSocket, as engine.io-client 6 does them.
//!
//! The engine never calls back into the manager while it is borrowed: everything the manager
//! must react to is pushed to an [`Up`] list that the manager handles afterwards.

use alloc::string::String;
use alloc::vec::Vec;

use sio_protocol::engine::{self, Packet};
use wasm_bindgen::{JsCast, JsValue};

use crate::js::{self, Array, Timer};
use crate::manager::Link;
use crate::opts::{Options, TransportKind};
use crate::transport::{Endpoint, Out, Transport, ev};

/// What the manager hears from the engine.
pub(crate) enum Up {
    /// The handshake is done.
    Open,
    /// A text message (the Socket.IO packet), with where it sits in the JS string it came in.
    Text(String, JsText),
    /// A binary message (`ArrayBuffer`).
    Binary(JsValue),
    /// The server pinged.
    Ping,
    /// The session moved to WebSocket.
    Upgrade,
    /// A transport error; a `Close` follows.
    Error(JsValue),
    /// The session is over: reason and description, as engine.io-client reports them.
    Close(&'static str, JsValue),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Opening,
    Open,
    Closed,
}

/// Where a text message sits in the JS string that brought it, so that its JSON body can be
/// parsed from that string instead of being copied back out of wasm.
pub(crate) struct JsText {
    pub(crate) js: JsValue,
    /// UTF-16 index of the message (after the Engine.IO type digit).
    pub(crate) start: u32,
    /// Where the message ends, when all of it is ASCII (UTF-16 indices are byte offsets);
    /// `None`: it runs to the end of the string, which may hold other characters.
    pub(crate) ascii_end: Option<u32>,
}

/// Where the session is, fixed when it starts.
pub(crate) struct Target {
    pub(crate) secure: bool,
    pub(crate) host: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: JsValue,
}

pub(crate) struct Engine {
    link: Link,
    pub(crate) state: State,
    sid: Option<String>,
    transport: Transport,
    /// The WebSocket being probed while polling carries the session.
    probe: Option<Transport>,
    /// The probe answered; polling is pausing so the switch loses nothing.
    upgrading: bool,
    offers_ws: bool,
    ping_interval: f64,
    ping_timeout: f64,
    max_payload: f64,
    ping_deadline: f64,
    ping_timer: Option<Timer>,
    buf: Vec<Out>,
    /// Frames of `buf` in the POST in flight.
    in_flight: usize,
    next_tid: u32,
}

impl Engine {
    /// Starts a session with the first transport of `opts.transports` (WebSocket first when
    /// `remember_upgrade` and an earlier session upgraded).
    pub(crate) fn open(link: Link, opts: &Options, target: &Target) -> Self {
        let mut kind = opts
            .transports
            .first()
            .copied()
            .unwrap_or(TransportKind::WebSocket);
        if opts.remember_upgrade
            && js::prior_ws(None)
            && opts.transports.contains(&TransportKind::WebSocket)
        {
            kind = TransportKind::WebSocket;
        }
        let transport = Transport::open(1, kind, &endpoint(opts, target, None), link.callback(1));
        Engine {
            link,
            state: State::Opening,
            sid: None,
            transport,
            probe: None,
            upgrading: false,
            offers_ws: false,
            ping_interval: 0.0,
            ping_timeout: 0.0,
            max_payload: 0.0,
            ping_deadline: 0.0,
            ping_timer: None,
            buf: Vec::new(),
            in_flight: 0,
            next_tid: 2,
        }
    }

    pub(crate) fn sid(&self) -> Option<String> {
        self.sid.clone()
    }

    pub(crate) fn transport_name(&self) -> &'static str {
        self.transport.kind.name()
    }

    /// Whether a frame written now goes out at once (volatile emits are dropped otherwise).
    pub(crate) fn writable(&self) -> bool {
        self.state == State::Open && self.transport.writable && !self.upgrading
    }

    /// A browser event of transport `tid`.
    pub(crate) fn on_event(
        &mut self,
        opts: &Options,
        target: &Target,
        tid: u32,
        kind: u32,
        value: JsValue,
        up: &mut Vec<Up>,
    ) {
        if self.state == State::Closed {
            return;
        }
        if self.probe.as_ref().is_some_and(|p| p.id == tid) {
            self.on_probe_event(kind, value, up);
            return;
        }
        if self.transport.id != tid {
            return;
        }
        let ws = self.transport.kind == TransportKind::WebSocket;
        let (op, kind) = ((kind / 10) * 10, kind % 10);
        if !ws {
            self.transport.request_done(op);
        }
        match (ws, op, kind) {
            (true, _, ev::OPEN) => {
                // The server speaks first: its open packet comes as a message.
                self.transport.writable = true;
            }
            (true, _, ev::DATA) => self.on_message(opts, target, value, up),
            (false, ev::POST, ev::DATA) => self.on_drain(up),
            #[cfg(feature = "polling")]
            (false, ev::BLOBS, ev::DATA) => self.transport.blobs_read(&value),
            (false, _, ev::DATA) => {
                self.on_payload(opts, target, &value, up);
                if self.state == State::Closed {
                    return;
                }
                if self.upgrading {
                    self.try_switch(up);
                } else {
                    self.transport.poll();
                }
            }
            (true, _, ev::CLOSE) => self.on_close(
                "transport close",
                js::error("websocket connection closed", &JsValue::UNDEFINED, &value),
                up,
            ),
            _ => {
                let message = match (ws, op) {
                    (true, _) => "websocket error",
                    (false, ev::GET) => "xhr poll error",
                    _ => "xhr post error",
                };
                let err = js::error(message, &JsValue::UNDEFINED, &value);
                js::prior_ws(Some(false));
                up.push(Up::Error(err.clone()));
                self.on_close("transport error", err, up);
            }
        }
    }

    /// A polling response: every record of the payload, in order.
    fn on_payload(&mut self, opts: &Options, target: &Target, js: &JsValue, up: &mut Vec<Up>) {
        let body = js.as_string().unwrap_or_default();
        // An ASCII payload (the usual case) is indexed alike in UTF-8 and UTF-16: messages
        // are then parsed from the JS string; otherwise each is copied out of wasm.
        let ascii = body.is_ascii();
        for record in sio_protocol::payload::decode(&body) {
            match record {
                Ok(sio_protocol::payload::Record::Packet(p)) => {
                    let at = match p {
                        Packet::Message(m) if ascii => {
                            let start = (m.as_ptr() as usize - body.as_ptr() as usize) as u32;
                            Some(JsText {
                                js: js.clone(),
                                start,
                                ascii_end: Some(start + m.len() as u32),
                            })
                        }
                        _ => None,
                    };
                    self.on_packet(opts, target, p, at, up);
                }
                Ok(sio_protocol::payload::Record::Binary(b)) => {
                    up.push(Up::Binary(js::buffer(&b)));
                }
                Err(_) => {
                    self.parse_error(up);
                }
            }
            if self.state == State::Closed {
                return;
            }
        }
    }

    /// A WebSocket message.
    fn on_message(&mut self, opts: &Options, target: &Target, data: JsValue, up: &mut Vec<Up>) {
        match data.as_string() {
            Some(text) => match engine::decode_text(&text) {
                Ok(p) => {
                    let at = JsText {
                        js: data.clone(),
                        start: 1,
                        ascii_end: None,
                    };
                    self.on_packet(opts, target, p, Some(at), up);
                }
                Err(_) => self.parse_error(up),
            },
            None => up.push(Up::Binary(data)),
        }
    }

    fn on_packet(
        &mut self,
        opts: &Options,
        target: &Target,
        packet: Packet<'_>,
        at: Option<JsText>,
        up: &mut Vec<Up>,
    ) {
        match packet {
            Packet::Open(data) if self.state == State::Opening => {
                self.on_handshake(opts, target, data, up);
            }
            Packet::Ping(_) if self.state == State::Open => {
                self.write_control("3");
                self.reset_ping_timeout();
                up.push(Up::Ping);
            }
            Packet::Message(m) if self.state == State::Open => {
                let at = at.unwrap_or(JsText {
                    js: JsValue::from_str(m),
                    start: 0,
                    ascii_end: None,
                });
                up.push(Up::Text(String::from(m), at));
            }
            Packet::Close => self.on_close(
                "transport close",
                js::err("transport closed by the server"),
                up,
            ),
            // Noop (releases a GET during an upgrade), and pongs: nothing to do.
            _ => {}
        }
    }

    fn on_handshake(&mut self, opts: &Options, target: &Target, data: &str, up: &mut Vec<Up>) {
        let v = js::parse(&JsValue::from_str(data), 0, None, &JsValue::UNDEFINED);
        let Some(sid) = js::get(&v, "sid").as_string() else {
            self.parse_error(up);
            return;
        };
        let num = |k| js::get(&v, k).as_f64().unwrap_or(0.0);
        self.ping_interval = num("pingInterval");
        self.ping_timeout = num("pingTimeout");
        self.max_payload = num("maxPayload");
        let upgrades = js::get(&v, "upgrades");
        self.offers_ws = Array::is_array(&upgrades)
            && upgrades
                .unchecked_ref::<Array>()
                .to_vec()
                .iter()
                .any(|u| u.as_string().as_deref() == Some("websocket"));
        #[cfg(feature = "polling")]
        self.transport.set_sid(&sid);
        self.sid = Some(sid);
        self.state = State::Open;
        js::prior_ws(Some(self.transport.kind == TransportKind::WebSocket));
        self.reset_ping_timeout();
        up.push(Up::Open);
        self.flush();
        if opts.upgrade
            && self.offers_ws
            && self.transport.kind == TransportKind::Polling
            && opts.transports.contains(&TransportKind::WebSocket)
        {
            let tid = self.next_tid;
            self.next_tid += 1;
            let at = endpoint(opts, target, self.sid.as_deref());
            self.probe = Some(Transport::open(
                tid,
                TransportKind::WebSocket,
                &at,
                self.link.callback(tid),
            ));
        }
    }

    /// The upgrade, seen from the WebSocket being probed: `2probe` → `3probe`, then wait for
    /// polling to be idle and switch (`try_switch`). Any failure leaves polling in charge.
    fn on_probe_event(&mut self, kind: u32, value: JsValue, up: &mut Vec<Up>) {
        let Some(probe) = self.probe.as_mut() else {
            return;
        };
        match kind {
            ev::OPEN => {
                probe.writable = true;
                probe.send(&[Out::Text(JsValue::from_str("2probe"))]);
            }
            ev::DATA if value.as_string().as_deref() == Some("3probe") => {
                self.upgrading = true;
                self.try_switch(up);
            }
            _ => {
                // Probe error, close, or an unexpected answer: forget the WebSocket.
                self.upgrading = false;
                self.probe = None;
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
        ws.send(&[Out::Text(JsValue::from_str("5"))]);
        // Dropping the polling transport closes it without a word to the server.
        self.transport = ws;
        self.upgrading = false;
        js::prior_ws(Some(true));
        up.push(Up::Upgrade);
        self.flush();
    }

    fn on_drain(&mut self, up: &mut Vec<Up>) {
        self.buf.drain(..self.in_flight.min(self.buf.len()));
        self.in_flight = 0;
        if self.upgrading {
            self.try_switch(up);
        } else {
            self.flush();
        }
    }

    fn write_control(&mut self, packet: &str) {
        self.buf.push(Out::Text(JsValue::from_str(packet)));
        self.flush();
    }

    /// Queues frames and sends what the transport can take now.
    pub(crate) fn write(&mut self, frames: impl IntoIterator<Item = Out>) {
        if self.state == State::Closed {
            return;
        }
        self.buf.extend(frames);
        self.flush();
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
        if self.transport.kind == TransportKind::WebSocket {
            let frames: Vec<Out> = self.buf.drain(..).collect();
            self.transport.send(&frames);
            return;
        }
        // One POST, no larger than the server's maxPayload (but at least one frame).
        let mut n = 0;
        let mut size = 1.0;
        for f in &self.buf {
            size += match f {
                Out::Text(s) => js::len(s),
                Out::Binary(_) => 0.0,
            } + 2.0;
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
        self.ping_timer = Some(self.link.ping_timer(delay));
    }

    /// Whether the server is overdue: timers of background tabs are throttled, so an emit
    /// checks the clock rather than trusting the ping timer to have fired.
    pub(crate) fn ping_expired(&self) -> bool {
        self.ping_deadline > 0.0 && js::now() > self.ping_deadline
    }

    pub(crate) fn on_ping_timeout(&mut self, up: &mut Vec<Up>) {
        self.on_close("ping timeout", JsValue::UNDEFINED, up);
    }

    /// Something that is not an Engine.IO packet: engine.io-client's `server error`, then a
    /// `transport error` close (the manager's `connect_error` while opening).
    fn parse_error(&mut self, up: &mut Vec<Up>) {
        let err = js::error("server error", &JsValue::UNDEFINED, &JsValue::UNDEFINED);
        up.push(Up::Error(err.clone()));
        self.on_close("transport error", err, up);
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
        up.push(Up::Close("forced close", JsValue::UNDEFINED));
    }

    fn on_close(&mut self, reason: &'static str, description: JsValue, up: &mut Vec<Up>) {
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

fn endpoint<'a>(opts: &'a Options, target: &'a Target, sid: Option<&'a str>) -> Endpoint<'a> {
    Endpoint {
        secure: target.secure,
        host: &target.host,
        path: &target.path,
        query: &target.query,
        sid,
        headers: &target.headers,
        credentials: opts.with_credentials,
        timestamps: opts.timestamp_requests,
        protocols: &opts.protocols,
    }
}
