//! The Manager: one Engine.IO session shared by the sockets of its namespaces, reconnection
//! with backoff, and the routing of decoded packets to sockets. Behaviour and event order
//! follow socket.io-client 4.8's `Manager`.
//!
//! Who owns a manager: the registry of live managers, from [`Mgr::new`] until it is both
//! idle (no session or reconnection timer) and let go of by its handle (the JS
//! `Manager`, or the Rust API's handles); then [`Mgr::settle`] frees it, its sockets and
//! every JS value they hold. The browser and the page reach it only by its number in
//! glue.js, through [`dispatch`], so nothing they keep can keep it (or their own objects,
//! through it) alive.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

use sio_protocol::binary::Reassembler;
use sio_protocol::socket::{self, PacketType};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::engine::{self, Engine, State, Target, Up};
use crate::js::{self, Array, ENGINE, Handle, MANAGER, Timer, event, word};
use crate::kind::{self, Kind};
use crate::opts::{Config, opt};
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
    /// The options; the JS API changes some later (`manager.reconnection(false)`, …).
    pub(crate) cfg: Cell<Config>,
    /// The Rust API's `auth` for the sockets it makes.
    pub(crate) auth: JsValue,
    /// Where and how sessions connect; a JS `Manager`'s options are read again at each
    /// (re)open (see [`reread`](Self::reread)).
    pub(crate) target: RefCell<Target>,
    pub(crate) st: RefCell<MgrSt>,
    pub(crate) nsps: RefCell<Vec<Rc<Sock>>>,
    /// This manager in glue.js: how the browser calls its callback, and where its
    /// events find their JS objects.
    pub(crate) h: Handle,
    /// The object its events go to, when the manager holds it (the Rust API's); a JS
    /// `Manager` holds its number instead, and glue.js holds it only weakly.
    _keep: JsValue,
    /// Whether a handle (the JS `Manager`, the Rust API's handles) still holds it.
    owned: Cell<bool>,
    /// Whether something will still call back (see [`settle`](Self::settle)).
    busy: Cell<bool>,
    /// The Rust API's listeners, for as long as the browser may call them.
    pub(crate) closures: RefCell<Vec<Listener>>,
    /// Whether its packets go through a custom parser (glue.js `parserInit`), fixed when
    /// it is made, as socket.io-client's Manager fixes its encoder and decoder.
    #[cfg(feature = "parser")]
    pub(crate) custom: Cell<bool>,
}

/// A Rust API listener: its target (a socket index or `js::MANAGER`), its event, its
/// `Closure`. Type-erased: dropping a `Closure` takes wasm-bindgen's closure runtime, which
/// then only the Rust API's own code reaches, not the JS API's bundle.
pub(crate) type Listener = (i32, String, Box<dyn core::any::Any>);

pub(crate) struct MgrSt {
    pub(crate) ready: Ready,
    pub(crate) engine: Option<Engine>,
    /// Sessions opened so far: each gets its own transport ids.
    epoch: u32,
    pub(crate) reconnecting: bool,
    skip_reconnect: bool,
    /// This attempt was `manager.open(callback)`: its failure goes to the callback, with no
    /// reconnection, as in socket.io-client.
    pub(crate) no_retry: bool,
    /// Reconnection attempts since the last successful one.
    attempts: u32,
    connect_timer: Option<Timer>,
    reconnect_timer: Option<Timer>,
    decoder: Reassembler<Header, JsValue>,
}

/// A decoded packet header waiting for its attachments.
struct Header {
    kind: PacketType,
    /// The namespace, the JS string glue.js read.
    nsp: JsValue,
    id: Option<u64>,
    /// The JSON body as a JS string (undefined when absent).
    text: JsValue,
}

/// The live managers: the one owner of each (see the module docs).
#[cfg(target_arch = "wasm32")]
struct Registry(RefCell<Vec<Rc<Mgr>>>);

// SAFETY: a JS realm runs a wasm module on one thread, and without the `atomics` target
// feature (refused below) no other thread can share this module's memory: the registry is
// only ever touched by that thread. (wasm-bindgen keeps its own state the same way.)
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
unsafe impl Sync for Registry {}

#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
compile_error!(
    "sio-client keeps its managers in a single-threaded registry: build without wasm threads"
);

#[cfg(target_arch = "wasm32")]
static MANAGERS: Registry = Registry(RefCell::new(Vec::new()));

/// The registry, and each of its three uses: one place for the only global state.
mod registry {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    pub(super) fn add(m: Rc<Mgr>) {
        MANAGERS.0.borrow_mut().push(m);
    }
    #[cfg(target_arch = "wasm32")]
    pub(super) fn find(h: Handle) -> Option<Rc<Mgr>> {
        MANAGERS.0.borrow().iter().find(|m| m.h == h).cloned()
    }
    #[cfg(target_arch = "wasm32")]
    pub(super) fn remove(h: Handle) {
        MANAGERS.0.borrow_mut().retain(|m| m.h != h);
    }

    // Off wasm32 there is no browser to call back, and no manager can be made (every path
    // to one calls into glue.js first): no registry, so no shared state between threads.
    #[cfg(not(target_arch = "wasm32"))]
    pub(super) fn add(_: Rc<Mgr>) {}
    #[cfg(not(target_arch = "wasm32"))]
    pub(super) fn find(_: Handle) -> Option<Rc<Mgr>> {
        None
    }
    #[cfg(not(target_arch = "wasm32"))]
    pub(super) fn remove(_: Handle) {}
}

/// Every browser callback into the client, `(kind, value)` for manager `h`: its timers, the
/// events of its transports, `auth` answers from the page, and its sockets' packets from
/// glue.js (which get a `socket::send` answer; other kinds 0). glue.js calls it (a plain
/// export rather than a closure per manager: no closure runtime in the bundle). A callback
/// for a manager that is gone is dropped.
#[wasm_bindgen(js_name = __sio_dispatch)]
pub fn dispatch(h: Handle, kind: i32, value: JsValue) -> u32 {
    Mgr::find(h).map_or(0, |mgr| {
        let out = mgr.on_callback(kind, value);
        mgr.settle();
        out
    })
}

impl Mgr {
    /// A manager whose events go to `js` (the JS `Manager`, held weakly; with `keep`, held
    /// by the manager: the Rust API's emitter), in the registry until its caller's handle
    /// lets go of it ([`release`](Self::release)) and it is idle.
    pub(crate) fn new(
        cfg: Config,
        auth: JsValue,
        target: Target,
        js: &JsValue,
        keep: bool,
    ) -> Rc<Mgr> {
        let mgr = Rc::new(Mgr {
            h: js::register(js),
            _keep: if keep { js.clone() } else { JsValue::UNDEFINED },
            owned: Cell::new(true),
            busy: Cell::new(false),
            closures: RefCell::new(Vec::new()),
            cfg: Cell::new(cfg),
            auth,
            target: RefCell::new(target),
            st: RefCell::new(MgrSt {
                ready: Ready::Closed,
                engine: None,
                epoch: 0,
                reconnecting: false,
                skip_reconnect: true,
                no_retry: false,
                attempts: 0,
                connect_timer: None,
                reconnect_timer: None,
                decoder: Reassembler::new(MAX_ATTACHMENTS),
            }),
            nsps: RefCell::new(Vec::new()),
            #[cfg(feature = "parser")]
            custom: Cell::new(false),
        });
        registry::add(mgr.clone());
        mgr
    }

    /// Uses the custom parser `parser` (`{ Encoder, Decoder }`), or when it is undefined the
    /// JS `Manager`'s `opts.parser`, if there is one. Called once, before any session.
    #[cfg(feature = "parser")]
    pub(crate) fn use_parser(&self, parser: &JsValue) {
        self.custom.set(js::parser_init(self.h, parser));
    }

    /// The live manager numbered `h` in glue.js.
    pub(crate) fn find(h: Handle) -> Option<Rc<Mgr>> {
        registry::find(h)
    }

    /// Its handle let go of it: it ends once idle.
    pub(crate) fn release(self: &Rc<Self>) {
        self.owned.set(false);
        self.settle();
    }

    /// Called when anything may have changed, with no borrow held: glue.js holds a busy
    /// manager's JS objects strongly; an idle one that no handle holds leaves the registry
    /// and is freed.
    pub(crate) fn settle(self: &Rc<Self>) {
        let busy = self.is_busy();
        if busy != self.busy.replace(busy) {
            js::root(
                self.h,
                if busy {
                    js::hold::STRONG
                } else {
                    js::hold::WEAK
                },
            );
        }
        if !busy && !self.owned.get() {
            js::root(self.h, js::hold::GONE);
            registry::remove(self.h);
            // The sockets hold the manager: letting go of them ends both.
            let socks = core::mem::take(&mut *self.nsps.borrow_mut());
            drop(socks);
        }
    }

    /// Whether something will still call back: a session, a reconnection. (Ack timers are
    /// glue.js's, and call only JS.)
    fn is_busy(&self) -> bool {
        let st = self.st.borrow();
        st.engine.is_some() || st.reconnect_timer.is_some()
    }

    fn emit(&self, event: i32, arg: &JsValue) {
        js::fire(self.h, MANAGER, event, arg, &JsValue::UNDEFINED);
    }

    /// The index of the socket of `nsp`, created on first use with the socket options of
    /// `cfg` and `auth`, its events going to `js`. Sockets stay as long as their manager:
    /// the index stays valid.
    pub(crate) fn socket(
        self: &Rc<Self>,
        nsp: &JsValue,
        cfg: &Config,
        auth: &JsValue,
        js: &JsValue,
    ) -> usize {
        if let Some(i) = self.nsps.borrow().iter().position(|s| s.nsp == *nsp) {
            return i;
        }
        let i = self.nsps.borrow().len();
        let s = Sock::new(self.clone(), i, nsp, cfg, auth, js);
        self.nsps.borrow_mut().push(s);
        i
    }

    /// The socket at index `i` (see [`socket`](Self::socket)).
    pub(crate) fn sock(&self, i: usize) -> Option<Rc<Sock>> {
        self.nsps.borrow().get(i).cloned()
    }

    pub(crate) fn ready(&self) -> Ready {
        self.st.borrow().ready
    }

    pub(crate) fn reconnecting(&self) -> bool {
        self.st.borrow().reconnecting
    }

    /// Opens the session unless it is open or opening.
    pub(crate) fn open(&self) {
        if self.ready() != Ready::Closed {
            return;
        }
        self.reread();
        let target = self.target.borrow();
        let mut st = self.st.borrow_mut();
        // `engine::IDS` transport ids per session, from `IDS` on.
        st.epoch = st.epoch % kind::EPOCHS + 1;
        st.ready = Ready::Opening;
        st.skip_reconnect = false;
        st.no_retry = false;
        st.decoder = Reassembler::new(MAX_ATTACHMENTS);
        #[cfg(feature = "parser")]
        if self.custom.get() {
            js::parser_reset(self.h);
        }
        js::renew(self.h);
        st.engine = Some(Engine::open(self.h, st.epoch * engine::IDS, &target));
        // As engine.io-client: not for "localhost", which the network's loss leaves reachable.
        if !target.local {
            js::on_offline(self.h, Kind::Offline.encode());
        }
        let timeout = self.cfg.get().get(opt::TIMEOUT);
        if timeout > 0.0 {
            st.connect_timer = Some(Timer::new(
                timeout,
                self.h,
                Kind::ConnectTimeout.encode(),
                0.0,
            ));
        }
    }

    /// Reads the JS `Manager`'s options again (`socket.io.opts`, as engine.io-client does for
    /// each session): a page that changes `query` or `extraHeaders` in `reconnect_attempt`
    /// (a refreshed token), or `transports` in `connect_error`, gets them on the next
    /// attempt. The server and path stay. The Rust API's managers have no such object.
    fn reread(&self) {
        let fresh = js::engine_opts(self.h);
        if fresh.is_undefined() {
            return;
        }
        let fresh: Array = fresh.unchecked_into();
        let mut target = self.target.borrow_mut();
        target.set(
            fresh.at(0),
            fresh.at(1),
            fresh.at(2),
            &Config::from_js(&fresh.at(3)),
        );
        #[cfg(feature = "webtransport")]
        target.set_webtransport(fresh.at(4));
    }

    fn on_callback(&self, kind: i32, value: JsValue) -> u32 {
        let Some(kind) = Kind::decode(kind) else {
            return 0;
        };
        match kind {
            Kind::Socket(i, cb) => {
                return self
                    .sock(i as usize)
                    .map_or(0, |s| s.on_callback(cb, value));
            }
            Kind::ConnectTimeout => self.on_connect_timeout(),
            Kind::Reconnect => self.on_reconnect_timer(),
            // One call site: each closure given to `with_engine` is a copy of it in the .wasm.
            _ => self.with_engine(|e, up| match kind {
                Kind::PingTimeout => e.on_ping_timeout(up),
                Kind::Offline => e.on_offline(up),
                Kind::Transport(id, op, ev) => {
                    e.on_event(&self.target.borrow(), id, op, ev, value, up);
                }
                _ => {}
            }),
        }
        0
    }

    /// Runs `f` on the current engine, then handles what it reported, with no borrow held.
    fn with_engine(&self, f: impl FnOnce(&mut Engine, &mut Vec<Up>)) {
        let mut up = Vec::new();
        {
            let mut st = self.st.borrow_mut();
            let Some(engine) = st.engine.as_mut() else {
                return;
            };
            f(engine, &mut up);
        }
        for u in up {
            self.on_up(u);
        }
    }

    fn on_up(&self, up: Up) {
        match up {
            Up::Open => self.on_open(),
            #[cfg(feature = "parser")]
            Up::Text(frame) | Up::Binary(frame) if self.custom.get() => self.on_custom(&frame),
            Up::Text(frame) => self.on_text(&frame),
            Up::Binary(data) => {
                let done = self.st.borrow_mut().decoder.on_binary(data);
                match done {
                    Ok(Some((h, bins))) => self.deliver(h, bins),
                    Ok(None) => {}
                    Err(_) => self.on_close(word::PARSE_ERROR, JsValue::UNDEFINED),
                }
            }
            Up::Ping => self.emit(event::PING, &JsValue::UNDEFINED),
            Up::Upgrade(name) => {
                let transport = js::transport_named(name);
                js::fire(
                    self.h,
                    ENGINE,
                    event::UPGRADE,
                    &transport,
                    &JsValue::UNDEFINED,
                );
            }
            Up::Fire(event, arg) => js::fire(self.h, ENGINE, event, &arg, &JsValue::UNDEFINED),
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
            let attempt = st.reconnecting.then_some(st.attempts);
            if attempt.is_some() {
                st.reconnecting = false;
                st.attempts = 0;
            }
            attempt
        };
        // The sockets first: in socket.io-client they listen to the Manager's `open` from
        // their connect(), before a page's listener added once io() returned.
        self.each_active(|s| s.on_open());
        self.emit(event::OPEN, &JsValue::UNDEFINED);
        if let Some(n) = attempt {
            self.emit(event::RECONNECT, &JsValue::from(n));
        }
    }

    /// Runs `f` on every active socket, sockets made meanwhile included. (By index, so that
    /// no borrow is held while `f` runs.)
    fn each_active(&self, mut f: impl FnMut(&Rc<Sock>)) {
        let mut i = 0;
        while let Some(s) = self.sock(i) {
            if s.active() {
                f(&s);
            }
            i += 1;
        }
    }

    /// An engine error. While opening, the attempt failed: maybe reconnect. Once open, a
    /// close follows.
    fn on_error(&self, err: JsValue) {
        let opening = self.ready() == Ready::Opening;
        let reconnecting = opening && core::mem::take(&mut self.st.borrow_mut().reconnecting);
        if opening {
            self.end_session();
        }
        self.emit(event::ERROR, &err);
        self.each_active(|s| s.on_manager_error(&err));
        if !opening {
            return;
        }
        if reconnecting {
            self.reconnect();
            self.emit(event::RECONNECT_ERROR, &err);
        } else {
            let first = {
                let st = self.st.borrow();
                !st.reconnecting && st.attempts == 0
            };
            if self.cfg.get().flag(opt::RECONNECTION) && first && !self.st.borrow().no_retry {
                self.reconnect();
            }
        }
    }

    fn on_connect_timeout(&self) {
        if self.ready() == Ready::Opening {
            self.on_error(js::err(word::TIMEOUT));
        }
    }

    /// The session ended: tell the sockets, then reconnect unless closed on purpose.
    fn on_close(&self, reason: i32, description: JsValue) {
        self.st.borrow_mut().attempts = 0;
        self.end_session();
        let reason_js = js::word(reason);
        js::fire(self.h, ENGINE, event::CLOSE, &reason_js, &description);
        self.each_active(|s| s.on_close(&reason_js, &description));
        js::fire(self.h, MANAGER, event::CLOSE, &reason_js, &description);
        let again = self.cfg.get().flag(opt::RECONNECTION) && !self.st.borrow().skip_reconnect;
        if again {
            self.reconnect();
        }
    }

    /// Drops the session (closing its engine, which tells the server if it still can),
    /// without reporting anything: the callers do.
    fn end_session(&self) {
        js::on_offline(self.h, 0);
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
            let cfg = self.cfg.get();
            if st.attempts >= cfg.count(opt::RECONNECTION_ATTEMPTS) {
                st.attempts = 0;
                None
            } else {
                st.reconnecting = true;
                let attempt = st.attempts;
                st.attempts = attempt.saturating_add(1);
                Some(crate::backoff::delay(
                    attempt,
                    cfg.get(opt::RECONNECTION_DELAY),
                    cfg.get(opt::RECONNECTION_DELAY_MAX),
                    cfg.get(opt::RANDOMIZATION_FACTOR),
                    js::random(),
                ))
            }
        };
        let Some(delay) = delay else {
            self.emit(event::RECONNECT_FAILED, &JsValue::UNDEFINED);
            return;
        };
        let timer = Timer::new(delay, self.h, Kind::Reconnect.encode(), 0.0);
        self.st.borrow_mut().reconnect_timer = Some(timer);
    }

    fn on_reconnect_timer(&self) {
        self.st.borrow_mut().reconnect_timer = None;
        if self.st.borrow().skip_reconnect {
            return;
        }
        let attempts = self.st.borrow().attempts;
        self.emit(event::RECONNECT_ATTEMPT, &JsValue::from(attempts));
        if self.st.borrow().skip_reconnect {
            return;
        }
        self.open();
    }

    /// Reads (and with `value`, changes) option `which` (an `opts::opt` index): the JS
    /// API's `manager.reconnection(false)` and the like.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn tune(&self, which: usize, value: Option<f64>) -> f64 {
        let mut cfg = self.cfg.get();
        if let Some(v) = value {
            cfg.set(which, v);
            self.cfg.set(cfg);
            if !cfg.flag(opt::RECONNECTION) {
                self.st.borrow_mut().skip_reconnect = true;
            }
        }
        cfg.get(which)
    }

    /// Closes the session on purpose (no reconnection), as `Manager._close` does.
    pub(crate) fn close(&self) {
        {
            let mut st = self.st.borrow_mut();
            st.skip_reconnect = true;
            st.reconnecting = false;
            st.reconnect_timer = None;
        }
        self.on_close(word::FORCED_CLOSE, JsValue::UNDEFINED);
    }

    /// A socket became inactive; the session closes when no socket is active.
    pub(crate) fn socket_gone(&self) {
        if !self.nsps.borrow().iter().any(|s| s.active()) {
            self.close();
        }
    }

    /// Sends frames if a session exists (the engine buffers them until it is open), with
    /// the engine's `packetCreate` and, once a WebSocket took them, `drain`.
    pub(crate) fn write(&self, frames: Vec<Out>) {
        if self.st.borrow().engine.is_none() {
            return;
        }
        for f in &frames {
            js::fire(self.h, ENGINE, event::FRAME_OUT, f, &JsValue::UNDEFINED);
        }
        let drained = {
            let mut st = self.st.borrow_mut();
            st.engine.as_mut().is_some_and(|e| e.write(frames))
        };
        if drained {
            js::fire(
                self.h,
                ENGINE,
                event::DRAIN,
                &JsValue::UNDEFINED,
                &JsValue::UNDEFINED,
            );
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

    pub(crate) fn transport_name(&self) -> Option<&'static str> {
        self.st.borrow().engine.as_ref().map(Engine::transport_name)
    }

    /// A message: the Socket.IO packet in it (decoded by glue.js `decode`), delivered at
    /// once or once its attachments have come.
    fn on_text(&self, frame: &JsValue) {
        let p = js::decode(frame);
        let kind = p.is_object().then(|| {
            let p: &Array = p.unchecked_ref();
            let digit = js::nth(p, 0) as u8;
            (p, socket::PacketType::from_digit(b'0'.wrapping_add(digit)))
        });
        let Some((p, Some(kind))) = kind else {
            self.on_close(word::PARSE_ERROR, JsValue::UNDEFINED);
            return;
        };
        let text = p.at(4);
        let header = Header {
            kind,
            nsp: p.at(1),
            id: Some(js::nth(p, 2))
                .filter(|id| !id.is_nan())
                .map(|id| id as u64),
            text: if text.is_truthy() {
                text
            } else {
                JsValue::UNDEFINED
            },
        };
        let attachments = js::nth(p, 3) as usize;
        let done = self.st.borrow_mut().decoder.on_header(header, attachments);
        match done {
            Ok(Some((h, bins))) => self.deliver(h, bins),
            Ok(None) => {}
            Err(_) => self.on_close(word::PARSE_ERROR, JsValue::UNDEFINED),
        }
    }

    /// A message for the custom parser: the packets it completes, delivered in order.
    #[cfg(feature = "parser")]
    fn on_custom(&self, frame: &JsValue) {
        let packets = js::decode_with(self.h, frame);
        if !packets.is_object() {
            self.on_close(word::PARSE_ERROR, JsValue::UNDEFINED);
            return;
        }
        let packets: &Array = packets.unchecked_ref();
        for i in 0..packets.length() as i32 {
            // None after a packet that ended the session (a malformed one, a listener's close).
            if self.ready() != Ready::Open {
                return;
            }
            let p: Array = packets.at(i).unchecked_into();
            // (glue.js checked the type: 0–6.)
            let digit = b'0'.wrapping_add(js::nth(&p, 0) as u8);
            let Some(kind) = socket::PacketType::from_digit(digit) else {
                self.on_close(word::PARSE_ERROR, JsValue::UNDEFINED);
                return;
            };
            let id = Some(js::nth(&p, 2))
                .filter(|id| !id.is_nan())
                .map(|id| id as u64);
            self.dispatch(kind, p.at(1), id, p.at(3));
        }
    }

    fn deliver(&self, h: Header, bins: Vec<JsValue>) {
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
            js::parse(&h.text, &bins)
        };
        self.dispatch(h.kind, h.nsp, h.id, data);
    }

    /// A decoded packet, to its namespace's socket and to the `packet` listeners; one the
    /// socket finds malformed closes the session.
    fn dispatch(&self, kind: PacketType, nsp: JsValue, id: Option<u64>, data: JsValue) {
        let sock = self
            .nsps
            .borrow()
            .iter()
            .find(|s| s.nsp == nsp && s.active())
            .cloned();
        if let Some(sock) = sock {
            if sock.on_packet(kind, id, data.clone()).is_err() {
                self.on_close(word::PARSE_ERROR, JsValue::UNDEFINED);
                return;
            }
        }
        // After the socket, as in socket.io-client (whose sockets listen first); an event's
        // data has its ack function by then.
        if js::listens(self.h, MANAGER, event::PACKET) {
            let id = id.map(|id| id as f64);
            let p = js::sio_packet(i32::from(kind as u8 - b'0'), &nsp, id, &data);
            self.emit(event::PACKET, &p);
        }
    }
}
