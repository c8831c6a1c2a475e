//! The Manager: one Engine.IO session shared by the sockets of its namespaces, reconnection
//! with backoff, and the routing of decoded packets to sockets. Behaviour and event order
//! follow socket.io-client 4.8's `Manager`.

use alloc::rc::{Rc, Weak};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

use sio_protocol::binary::Reassembler;
use sio_protocol::socket::{self, PacketType};
use wasm_bindgen::{JsCast, JsValue};

use crate::backoff::Backoff;
use crate::engine::{Engine, JsText, State, Target, Up};
use crate::js::{self, Array, Callback, Emitter, Timer};
use crate::opts::Options;
use crate::socket::Sock;
use crate::transport::Out;

/// Most attachments one packet may announce: a bound on what a server can make us hold.
const MAX_ATTACHMENTS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ready {
    Closed,
    Opening,
    Open,
}

pub(crate) struct Mgr {
    me: Weak<Mgr>,
    pub(crate) opts: Options,
    pub(crate) target: Target,
    pub(crate) st: RefCell<MgrSt>,
    pub(crate) nsps: RefCell<Vec<Rc<Sock>>>,
    /// Where this manager's events go (its JS object in the JS API).
    pub(crate) js: Emitter,
    /// Where the Engine.IO session's events go (`manager.engine`: `upgrade`, `close`).
    engine: Emitter,
    /// The options a page may change later (`manager.reconnection(false)`, …).
    tune: Cell<Tune>,
}

#[derive(Debug, Clone, Copy)]
struct Tune {
    reconnection: bool,
    attempts: u32,
    timeout: f64,
}

pub(crate) struct MgrSt {
    pub(crate) ready: Ready,
    pub(crate) engine: Option<Engine>,
    /// Epoch of the engine: callbacks of an older one are ignored.
    epoch: u32,
    pub(crate) reconnecting: bool,
    skip_reconnect: bool,
    backoff: Backoff,
    connect_timer: Option<Timer>,
    reconnect_timer: Option<Timer>,
    decoder: Reassembler<Header, JsValue>,
}

/// A decoded packet header waiting for its attachments.
struct Header {
    kind: PacketType,
    nsp: String,
    id: Option<u64>,
    /// The JSON body: the JS string and the UTF-16 range of the body in it (to the end
    /// without `to`).
    text: JsValue,
    from: u32,
    to: Option<u32>,
}

/// How the engine reaches its manager without owning it.
pub(crate) struct Link {
    mgr: Weak<Mgr>,
    epoch: u32,
}

impl Link {
    /// The callback of transport `tid`.
    pub(crate) fn callback(&self, tid: u32) -> Callback {
        let (mgr, epoch) = (self.mgr.clone(), self.epoch);
        Callback::new(move |kind, value| {
            if let Some(m) = mgr.upgrade() {
                m.on_transport(epoch, tid, kind, value);
            }
        })
    }

    pub(crate) fn ping_timer(&self, ms: f64) -> Timer {
        let (mgr, epoch) = (self.mgr.clone(), self.epoch);
        Timer::new(ms, move || {
            if let Some(m) = mgr.upgrade() {
                m.with_engine(epoch, |e, up| e.on_ping_timeout(up));
            }
        })
    }
}

impl Mgr {
    pub(crate) fn new(opts: Options, target: Target, js: Emitter) -> Rc<Mgr> {
        let backoff = Backoff {
            min: opts.reconnection_delay,
            max: opts.reconnection_delay_max,
            jitter: opts.randomization_factor,
            attempts: 0,
        };
        let tune = Tune {
            reconnection: opts.reconnection,
            attempts: opts.reconnection_attempts,
            timeout: opts.timeout,
        };
        Rc::new_cyclic(|me| Mgr {
            me: me.clone(),
            opts,
            target,
            st: RefCell::new(MgrSt {
                ready: Ready::Closed,
                engine: None,
                epoch: 0,
                reconnecting: false,
                skip_reconnect: true,
                backoff,
                connect_timer: None,
                reconnect_timer: None,
                decoder: Reassembler::new(MAX_ATTACHMENTS),
            }),
            nsps: RefCell::new(Vec::new()),
            engine: match js::get(&js, "engine") {
                e if e.is_object() => e.unchecked_into(),
                _ => js::emitter(),
            },
            js,
            tune: Cell::new(tune),
        })
    }

    fn emit(&self, event: &str, args: &Array) {
        self.js.fire(event, args);
    }

    /// The socket of `nsp`, created on first use with `opts` (default: the manager's) and
    /// the event target `js` makes.
    pub(crate) fn socket(
        self: &Rc<Self>,
        nsp: &str,
        opts: Option<&Options>,
        js: impl FnOnce() -> Emitter,
    ) -> Rc<Sock> {
        if let Some(s) = self.nsps.borrow().iter().find(|s| s.nsp == nsp) {
            return s.clone();
        }
        let s = Sock::new(self.clone(), nsp, opts.unwrap_or(&self.opts), js());
        self.nsps.borrow_mut().push(s.clone());
        s
    }

    pub(crate) fn ready(&self) -> Ready {
        self.st.borrow().ready
    }

    pub(crate) fn reconnecting(&self) -> bool {
        self.st.borrow().reconnecting
    }

    /// Opens the session unless it is open or opening.
    pub(crate) fn open(&self) {
        let mut st = self.st.borrow_mut();
        if st.ready != Ready::Closed {
            return;
        }
        st.epoch = st.epoch.wrapping_add(1);
        st.ready = Ready::Opening;
        st.skip_reconnect = false;
        st.decoder = Reassembler::new(MAX_ATTACHMENTS);
        let link = Link {
            mgr: self.me.clone(),
            epoch: st.epoch,
        };
        st.engine = Some(Engine::open(link, &self.opts, &self.target));
        let timeout = self.tune.get().timeout;
        if timeout > 0.0 {
            let (mgr, epoch) = (self.me.clone(), st.epoch);
            st.connect_timer = Some(Timer::new(timeout, move || {
                if let Some(m) = mgr.upgrade() {
                    m.on_connect_timeout(epoch);
                }
            }));
        }
    }

    /// Runs `f` on the current engine (if `epoch` is still current), then handles what it
    /// reported, with no borrow held.
    fn with_engine(&self, epoch: u32, f: impl FnOnce(&mut Engine, &mut Vec<Up>)) {
        let mut up = Vec::new();
        {
            let mut st = self.st.borrow_mut();
            if st.epoch != epoch {
                return;
            }
            let Some(engine) = st.engine.as_mut() else {
                return;
            };
            f(engine, &mut up);
        }
        for u in up {
            self.on_up(u);
        }
    }

    fn on_transport(&self, epoch: u32, tid: u32, kind: u32, value: JsValue) {
        self.with_engine(epoch, |e, up| {
            e.on_event(&self.opts, &self.target, tid, kind, value, up)
        });
    }

    fn on_up(&self, up: Up) {
        match up {
            Up::Open => self.on_open(),
            Up::Text(text, at) => self.on_text(&text, at),
            Up::Binary(data) => {
                let done = self.st.borrow_mut().decoder.on_binary(data);
                match done {
                    Ok(Some((h, bins))) => self.deliver(h, bins),
                    Ok(None) => {}
                    Err(_) => self.on_close("parse error", JsValue::UNDEFINED),
                }
            }
            Up::Ping => self.emit("ping", &Array::new()),
            Up::Upgrade => {
                let transport = js::transport("websocket");
                self.engine.fire("upgrade", &Array::of1(&transport));
            }
            Up::Error(err) => self.on_error(err),
            Up::Close(reason, description) => {
                if self.ready() == Ready::Open {
                    self.on_close(reason, description);
                }
            }
        }
    }

    fn on_open(&self) {
        let attempt = {
            let mut st = self.st.borrow_mut();
            st.connect_timer = None;
            st.ready = Ready::Open;
            let attempt = st.reconnecting.then_some(st.backoff.attempts);
            if attempt.is_some() {
                st.reconnecting = false;
                st.backoff.reset();
            }
            attempt
        };
        self.emit("open", &Array::new());
        for s in self.active_sockets() {
            s.on_open();
        }
        if let Some(n) = attempt {
            self.emit("reconnect", &Array::of1(&JsValue::from(n)));
        }
    }

    fn active_sockets(&self) -> Vec<Rc<Sock>> {
        self.nsps
            .borrow()
            .iter()
            .filter(|s| s.active())
            .cloned()
            .collect()
    }

    /// An engine error. While opening, the attempt failed: maybe reconnect. Once open, a
    /// close follows.
    fn on_error(&self, err: JsValue) {
        let opening = self.ready() == Ready::Opening;
        let reconnecting = opening && core::mem::take(&mut self.st.borrow_mut().reconnecting);
        if opening {
            self.end_session();
        }
        self.emit("error", &Array::of1(&err));
        for s in self.active_sockets() {
            s.on_manager_error(&err);
        }
        if !opening {
            return;
        }
        if reconnecting {
            self.reconnect();
            self.emit("reconnect_error", &Array::of1(&err));
        } else {
            let first = {
                let st = self.st.borrow();
                !st.reconnecting && st.backoff.attempts == 0
            };
            if self.tune.get().reconnection && first {
                self.reconnect();
            }
        }
    }

    fn on_connect_timeout(&self, epoch: u32) {
        if self.st.borrow().epoch == epoch && self.ready() == Ready::Opening {
            self.on_error(js::err("timeout"));
        }
    }

    /// The session ended: tell the sockets, then reconnect unless closed on purpose.
    fn on_close(&self, reason: &str, description: JsValue) {
        self.st.borrow_mut().backoff.reset();
        self.end_session();
        let args = Array::of2(&JsValue::from_str(reason), &description);
        self.engine.fire("close", &args);
        for s in self.active_sockets() {
            s.on_close(reason, &description);
        }
        self.emit("close", &args);
        let again = self.tune.get().reconnection && !self.st.borrow().skip_reconnect;
        if again {
            self.reconnect();
        }
    }

    /// Drops the session (closing its engine, which tells the server if it still can),
    /// without reporting anything: the callers do.
    fn end_session(&self) {
        let engine = {
            let mut st = self.st.borrow_mut();
            st.connect_timer = None;
            st.ready = Ready::Closed;
            st.engine.take()
        };
        if let Some(mut e) = engine {
            e.close(&mut Vec::new());
        }
    }

    fn reconnect(&self) {
        let delay = {
            let mut st = self.st.borrow_mut();
            if st.reconnecting || st.skip_reconnect {
                return;
            }
            if st.backoff.attempts >= self.tune.get().attempts {
                st.backoff.reset();
                None
            } else {
                st.reconnecting = true;
                Some(st.backoff.duration(js::random()))
            }
        };
        let Some(delay) = delay else {
            self.emit("reconnect_failed", &Array::new());
            return;
        };
        let mgr = self.me.clone();
        let timer = Timer::new(delay, move || {
            if let Some(m) = mgr.upgrade() {
                m.on_reconnect_timer();
            }
        });
        self.st.borrow_mut().reconnect_timer = Some(timer);
    }

    fn on_reconnect_timer(&self) {
        if self.st.borrow().skip_reconnect {
            return;
        }
        let attempts = self.st.borrow().backoff.attempts;
        self.emit("reconnect_attempt", &Array::of1(&JsValue::from(attempts)));
        if self.st.borrow().skip_reconnect {
            return;
        }
        self.open();
    }

    /// Reads (and with `value`, changes) a tunable option: 0 `reconnection`, 1
    /// `reconnectionAttempts`, 2 `reconnectionDelay`, 3 `reconnectionDelayMax`,
    /// 4 `randomizationFactor`, 5 `timeout`.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn tune(&self, which: u32, value: Option<f64>) -> f64 {
        let mut t = self.tune.get();
        let mut st = self.st.borrow_mut();
        if let Some(v) = value {
            match which {
                0 => {
                    t.reconnection = v != 0.0;
                    st.skip_reconnect |= !t.reconnection;
                }
                // Infinity saturates.
                1 => t.attempts = v.max(0.0) as u32,
                2 => st.backoff.min = v,
                3 => st.backoff.max = v,
                4 => st.backoff.jitter = v,
                _ => t.timeout = v,
            }
            self.tune.set(t);
        }
        match which {
            0 => f64::from(u8::from(t.reconnection)),
            1 if t.attempts == u32::MAX => f64::INFINITY,
            1 => f64::from(t.attempts),
            2 => st.backoff.min,
            3 => st.backoff.max,
            4 => st.backoff.jitter,
            _ => t.timeout,
        }
    }

    /// Closes the session on purpose (no reconnection), as `Manager._close` does.
    pub(crate) fn close(&self) {
        {
            let mut st = self.st.borrow_mut();
            st.skip_reconnect = true;
            st.reconnecting = false;
            st.reconnect_timer = None;
        }
        self.on_close("forced close", JsValue::UNDEFINED);
    }

    /// A socket became inactive; the session closes when no socket is active.
    pub(crate) fn socket_gone(&self) {
        if self.active_sockets().is_empty() {
            self.close();
        }
    }

    /// Sends frames if a session exists (the engine buffers them until it is open).
    pub(crate) fn write(&self, frames: Vec<Out>) {
        if let Some(e) = self.st.borrow_mut().engine.as_mut() {
            e.write(frames);
        }
    }

    /// (transport writable now, session open and not overdue on pings)
    pub(crate) fn link_state(&self) -> (bool, bool) {
        let st = self.st.borrow();
        match st.engine.as_ref() {
            Some(e) if e.state == State::Open => (e.writable(), !e.ping_expired()),
            _ => (false, false),
        }
    }

    /// The Engine.IO session id, while a session is open.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn sid(&self) -> Option<String> {
        self.st.borrow().engine.as_ref().and_then(Engine::sid)
    }

    pub(crate) fn transport_name(&self) -> Option<&'static str> {
        self.st.borrow().engine.as_ref().map(Engine::transport_name)
    }

    fn on_text(&self, text: &str, at: JsText) {
        let Ok(p) = socket::decode(text) else {
            self.on_close("parse error", JsValue::UNDEFINED);
            return;
        };
        // Where the JSON body starts, in UTF-16 units of the JS string: the header before it
        // is ASCII in practice, where bytes and UTF-16 units agree. Otherwise copy the body.
        let head = text.len() - p.data.len();
        let from = at.start + head as u32;
        let (body, from, to) = match at {
            _ if p.data.is_empty() => (JsValue::UNDEFINED, 0, None),
            JsText {
                js,
                ascii_end: Some(end),
                ..
            } => (js, from, Some(end)),
            JsText { js, .. } if text.as_bytes().get(..head).is_some_and(<[u8]>::is_ascii) => {
                (js, from, None)
            }
            _ => (JsValue::from_str(p.data), 0, None),
        };
        let header = Header {
            kind: p.kind,
            nsp: String::from(p.nsp),
            id: p.id,
            text: body,
            from,
            to,
        };
        let attachments = if p.kind.is_binary() { p.attachments } else { 0 };
        let done = self.st.borrow_mut().decoder.on_header(header, attachments);
        match done {
            Ok(Some((h, bins))) => self.deliver(h, bins),
            Ok(None) => {}
            Err(_) => self.on_close("parse error", JsValue::UNDEFINED),
        }
    }

    fn deliver(&self, h: Header, bins: Vec<JsValue>) {
        let sock = self
            .nsps
            .borrow()
            .iter()
            .find(|s| s.nsp == h.nsp && s.active())
            .cloned();
        let Some(sock) = sock else {
            return;
        };
        let bins = if bins.is_empty() {
            JsValue::UNDEFINED
        } else {
            let arr = Array::new();
            for b in &bins {
                arr.push(b);
            }
            arr.into()
        };
        let data = if h.text.is_undefined() {
            JsValue::UNDEFINED
        } else {
            js::parse(&h.text, h.from, h.to, &bins)
        };
        if sock.on_packet(h.kind, h.id, data).is_err() {
            self.on_close("parse error", JsValue::UNDEFINED);
        }
    }
}

/// The session target of a manager for the server of `url`.
pub(crate) fn target(url: &crate::url::Parsed, opts: &Options) -> Target {
    let mut path = opts.path.clone();
    if opts.add_trailing_slash && !path.ends_with('/') {
        path.push('/');
    }
    Target {
        secure: url.secure,
        host: url.host.clone(),
        path,
        query: crate::url::query(&opts.query, &url.query),
        headers: crate::url::headers(&opts.extra_headers),
    }
}
