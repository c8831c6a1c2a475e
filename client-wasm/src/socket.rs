//! A socket: one namespace on a manager's session. Connection to the namespace, events and
//! acks in both directions, buffering while disconnected, and retries, with
//! socket.io-client 4.8's semantics and event order.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use sio_protocol::socket::PacketType;
use wasm_bindgen::{JsCast, JsValue};

use crate::js::{self, Array, Timer, event, word};
use crate::kind::{Kind, SocketCb};
use crate::manager::{Mgr, Ready};
use crate::opts::{Config, opt};
use crate::transport::Out;

/// What an ack callback gets: the answer's arguments, or the error that ended the wait
/// (`operation has timed out`, `socket has been disconnected`).
pub(crate) type Reply = Result<Array, JsValue>;

/// Who gets an ack's answer. An enum rather than a boxed closure for all: the JS API's and
/// the retry queue's need no allocation, vtable or closure shim in the bundle.
pub(crate) enum AckFn {
    /// A page's function, called with its socket's JS object as `this` (error-first: with
    /// `null` or the error first).
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    Js(JsValue),
    /// The retry queue's, for its emit number `.0`.
    Retry(u32),
    /// The Rust API's.
    Rust(Box<dyn FnOnce(Reply)>),
}

/// A callback waiting for an ack.
pub(crate) struct Ack {
    pub(crate) cb: AckFn,
    /// Error-first: told about timeouts and disconnections. Plain JS callbacks without a
    /// timeout are not, as in socket.io-client.
    pub(crate) with_error: bool,
}

/// Per-emit modifiers (`timeout(ms)`, `volatile`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Flags {
    pub(crate) volatile: bool,
    pub(crate) timeout: Option<f64>,
    pub(crate) from_queue: bool,
}

struct PendingAck {
    id: u32,
    ack: Ack,
    _timer: Option<Timer>,
}

/// An emit kept until the socket is connected.
struct Buffered {
    id: Option<u32>,
    frames: Vec<Out>,
    args: Array,
}

/// An emit with `retries`: sent again until acked or out of tries, one at a time, in order.
struct Retry {
    seq: u32,
    tries: u32,
    pending: bool,
    event: JsValue,
    args: Array,
    ack: Option<Ack>,
    flags: Flags,
}

pub(crate) struct Sock {
    /// Its manager, which holds its sockets until it is freed (`Mgr::settle`).
    pub(crate) mgr: Rc<Mgr>,
    pub(crate) nsp: String,
    /// Its index on the manager: where glue.js finds its JS object.
    pub(crate) index: i32,
    pub(crate) st: RefCell<SockSt>,
    ack_timeout: Option<f64>,
    retries: u32,
    max_buffered: usize,
}

#[derive(Default)]
pub(crate) struct SockSt {
    /// The namespace connection's id (a string while connected, else undefined).
    pub(crate) id: JsValue,
    pub(crate) connected: bool,
    pub(crate) recovered: bool,
    pub(crate) active: bool,
    /// Modifiers set through the Rust API for the next emit.
    pub(crate) flags: Flags,
    /// Connection state recovery: the session id the server gave (undefined without), and
    /// the offset of the last event received.
    pid: JsValue,
    offset: JsValue,
    next_id: u32,
    acks: Vec<PendingAck>,
    send_buf: Vec<Buffered>,
    recv_buf: Vec<Array>,
    queue: Vec<Retry>,
    queue_seq: u32,
}

impl Sock {
    /// Socket number `index` of `mgr`, its events going to `js`.
    pub(crate) fn new(
        mgr: Rc<Mgr>,
        index: usize,
        nsp: &str,
        cfg: &Config,
        auth: &JsValue,
        js: &JsValue,
    ) -> Rc<Sock> {
        // `socket.auth` is a property of the JS object, as in socket.io-client: pages change
        // it (a refreshed token) and the next CONNECT sends it.
        js::set(js, word::AUTH, auth);
        js::bind_socket(mgr.h, index as i32, js);
        Rc::new(Sock {
            mgr,
            nsp: String::from(nsp),
            index: index as i32,
            st: RefCell::new(SockSt::default()),
            ack_timeout: cfg.ack_timeout(),
            retries: cfg.count(opt::RETRIES),
            max_buffered: cfg.count(opt::MAX_BUFFERED) as usize,
        })
    }

    /// `socket.sendBuffer` (`send`) or `socket.receiveBuffer`: the emits kept until the
    /// socket is connected, as `[args, id]` (id undefined without an ack), or the events
    /// received before, as their argument lists. With `clear`, the buffer is emptied instead
    /// (a page's `socket.sendBuffer = []`); the acks of dropped emits keep waiting, as in
    /// socket.io-client.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn buffer(&self, send: bool, clear: bool) -> Array {
        let mut st = self.st.borrow_mut();
        let out = Array::new();
        if clear {
            if send {
                st.send_buf = Vec::new();
            } else {
                st.recv_buf = Vec::new();
            }
        } else if send {
            for b in &st.send_buf {
                let entry = Array::of1(&b.args);
                entry.push(&b.id.map_or(JsValue::UNDEFINED, JsValue::from));
                out.push(&entry);
            }
        } else {
            for args in &st.recv_buf {
                out.push(args);
            }
        }
        out
    }

    /// Whether an ack timer will still call back.
    pub(crate) fn waiting(&self) -> bool {
        self.st.borrow().acks.iter().any(|a| a._timer.is_some())
    }

    pub(crate) fn active(&self) -> bool {
        self.st.borrow().active
    }

    pub(crate) fn connected(&self) -> bool {
        self.st.borrow().connected
    }

    fn fire_args(&self, event: i32, args: &Array) {
        js::fire(self.mgr.h, self.index, event, args, &JsValue::UNDEFINED);
    }

    fn emit_reserved(&self, event: i32, a: &JsValue, b: &JsValue) {
        js::fire(self.mgr.h, self.index, event, a, b);
    }

    /// `socket.connect()`: joins the namespace, opening the session if needed.
    pub(crate) fn connect(&self) {
        {
            let mut st = self.st.borrow_mut();
            if st.connected {
                return;
            }
            st.active = true;
        }
        if !self.mgr.reconnecting() {
            self.mgr.open();
        }
        if self.mgr.ready() == Ready::Open {
            self.on_open();
        }
    }

    /// The session is open: ask to join the namespace (CONNECT), with the auth payload.
    pub(crate) fn on_open(&self) {
        let auth = js::get(&js::target(self.mgr.h, self.index), word::AUTH);
        if auth.is_function() {
            js::auth(&auth, self.mgr.h, self.kind(SocketCb::Auth));
        } else {
            self.send_connect(auth);
        }
    }

    fn send_connect(&self, auth: JsValue) {
        // Connection state recovery: tell the server which session to restore.
        let data = {
            let st = self.st.borrow();
            if st.pid.is_string() {
                js::with_pid(&auth, &st.pid, &st.offset)
            } else {
                auth
            }
        };
        self.mgr
            .write(encode(PacketType::Connect, &self.nsp, None, &data));
    }

    /// The manager's callback kind for this socket's callback `cb`.
    #[inline(always)]
    fn kind(&self, cb: SocketCb) -> i32 {
        Kind::Socket(self.index as u32, cb).encode()
    }

    /// A callback of this socket: a JS function made for it (an ack it owes, the auth
    /// callback) or an ack timer.
    pub(crate) fn on_callback(&self, cb: SocketCb, value: JsValue) {
        match cb {
            SocketCb::Ack => {
                let pair: Array = value.unchecked_into();
                let id = js::nth(&pair, 0) as u64;
                self.send_ack(id, &pair.at(1).unchecked_into());
            }
            SocketCb::Auth => self.send_connect(value),
            SocketCb::Timeout => {
                let id = value.as_f64().unwrap_or(-1.0) as u32;
                self.st.borrow_mut().send_buf.retain(|b| b.id != Some(id));
                self.fail_ack(id, word::TIMED_OUT);
            }
        }
    }

    fn send_ack(&self, id: u64, args: &Array) {
        self.mgr
            .write(encode(PacketType::Ack, &self.nsp, Some(id), args));
    }

    /// A packet for this namespace; `Err` when its payload is not what its type requires.
    pub(crate) fn on_packet(
        &self,
        kind: PacketType,
        id: Option<u64>,
        data: JsValue,
    ) -> Result<(), ()> {
        match kind {
            PacketType::Connect => {
                let sid = js::get(&data, word::SID);
                match sid {
                    _ if sid.is_string() => self.on_connect(sid, js::get(&data, word::PID)),
                    _ if data.is_object() => self.emit_reserved(
                        event::CONNECT_ERROR,
                        &js::err(word::V2),
                        &JsValue::UNDEFINED,
                    ),
                    _ => return Err(()),
                }
            }
            PacketType::Event | PacketType::BinaryEvent => {
                if !js::is_event(&data) {
                    return Err(());
                }
                let args: Array = data.unchecked_into();
                if let Some(id) = id {
                    let f = js::ack_fn(self.mgr.h, self.kind(SocketCb::Ack), id as f64);
                    args.push(&f);
                }
                if self.connected() {
                    self.emit_event(&args);
                } else {
                    let mut st = self.st.borrow_mut();
                    if st.recv_buf.len() < self.max_buffered {
                        st.recv_buf.push(args);
                    }
                }
            }
            PacketType::Ack | PacketType::BinaryAck => {
                if !Array::is_array(&data) {
                    return Err(());
                }
                let id = id.ok_or(())?;
                self.on_ack(id, data.unchecked_into());
            }
            PacketType::Disconnect => {
                self.destroy();
                self.on_close(&js::word(word::IO_SERVER_DISCONNECT), &JsValue::UNDEFINED);
            }
            PacketType::ConnectError => {
                self.destroy();
                let err = js::connect_error(&data);
                self.emit_reserved(event::CONNECT_ERROR, &err, &JsValue::UNDEFINED);
            }
        }
        Ok(())
    }

    fn on_connect(&self, sid: JsValue, pid: JsValue) {
        {
            let mut st = self.st.borrow_mut();
            st.recovered = pid.is_string() && st.pid == pid;
            st.pid = pid;
            st.id = sid;
            st.connected = true;
        }
        // Events that arrived early, then the emits made while disconnected, in order.
        let received = core::mem::take(&mut self.st.borrow_mut().recv_buf);
        for args in &received {
            self.emit_event(args);
        }
        let buffered = core::mem::take(&mut self.st.borrow_mut().send_buf);
        for b in buffered {
            self.fire_args(event::OUTGOING, &b.args);
            self.mgr.write(b.frames);
        }
        self.drain_queue(true);
        self.emit_reserved(event::CONNECT, &JsValue::UNDEFINED, &JsValue::UNDEFINED);
    }

    fn emit_event(&self, args: &Array) {
        self.fire_args(event::INCOMING, args);
        let mut st = self.st.borrow_mut();
        if st.pid.is_string() {
            let last = args.at(-1);
            if last.is_string() && args.length() > 1 {
                st.offset = last;
            }
        }
    }

    fn on_ack(&self, id: u64, args: Array) {
        if let Some(p) = self.take_ack(id) {
            self.answer(p.ack, Ok(args));
        }
    }

    /// The ack waiting for `id`, no longer waiting.
    fn take_ack(&self, id: u64) -> Option<PendingAck> {
        let mut st = self.st.borrow_mut();
        let i = st.acks.iter().position(|a| u64::from(a.id) == id)?;
        let ack = st.acks.remove(i);
        crate::engine::shrink_if_empty(&mut st.acks);
        Some(ack)
    }

    /// Emits `event` with `args`; `ack` waits for the server's answer. Callers refuse
    /// reserved event names first.
    pub(crate) fn emit(&self, event: JsValue, args: Array, ack: Option<Ack>, flags: Flags) {
        if self.retries > 0 && !flags.from_queue && !flags.volatile {
            self.add_to_queue(event, args, ack, flags);
            return;
        }
        args.unshift(&event);
        let id = ack.map(|a| self.register_ack(a, flags.timeout.or(self.ack_timeout)));
        let frames = encode(PacketType::Event, &self.nsp, id.map(u64::from), &args);
        let (writable, alive) = self.mgr.link_state();
        if flags.volatile && !writable {
            return;
        }
        if alive && self.connected() {
            self.fire_args(event::OUTGOING, &args);
            self.mgr.write(frames);
        } else {
            let refused = {
                let mut st = self.st.borrow_mut();
                if st.send_buf.len() < self.max_buffered {
                    st.send_buf.push(Buffered { id, frames, args });
                    None
                } else {
                    id
                }
            };
            if let Some(id) = refused {
                self.fail_ack(id, word::BUFFER_FULL);
            }
        }
    }

    /// Hands an ack's answer to its callback.
    fn answer(&self, ack: Ack, res: Reply) {
        match ack.cb {
            AckFn::Js(f) => {
                let args = match res {
                    Ok(reply) => {
                        if ack.with_error {
                            reply.unshift(&JsValue::NULL);
                        }
                        reply
                    }
                    Err(e) => Array::of1(&e),
                };
                js::call(&f, &js::target(self.mgr.h, self.index), &args);
            }
            AckFn::Retry(seq) => self.on_retry_answer(seq, res),
            AckFn::Rust(f) => f(res),
        }
    }

    fn register_ack(&self, ack: Ack, timeout: Option<f64>) -> u32 {
        let mut st = self.st.borrow_mut();
        let id = st.next_id;
        st.next_id = st.next_id.wrapping_add(1);
        let timer = timeout
            .map(|ms| Timer::new(ms, self.mgr.h, self.kind(SocketCb::Timeout), f64::from(id)));
        let with_error = ack.with_error || timeout.is_some();
        st.acks.push(PendingAck {
            id,
            ack: Ack {
                cb: ack.cb,
                with_error,
            },
            _timer: timer,
        });
        id
    }

    fn fail_ack(&self, id: u32, why: i32) {
        if let Some(p) = self.take_ack(u64::from(id)) {
            if p.ack.with_error {
                self.answer(p.ack, Err(js::err(why)));
            }
        }
    }

    fn add_to_queue(&self, event: JsValue, args: Array, ack: Option<Ack>, mut flags: Flags) {
        flags.from_queue = true;
        {
            let mut st = self.st.borrow_mut();
            let seq = st.queue_seq;
            st.queue_seq = st.queue_seq.wrapping_add(1);
            st.queue.push(Retry {
                seq,
                tries: 0,
                pending: false,
                event,
                args,
                ack,
                flags,
            });
        }
        self.drain_queue(false);
    }

    /// Sends the first queued emit unless it is already waiting for its ack (`force`: again).
    fn drain_queue(&self, force: bool) {
        let next = {
            let mut st = self.st.borrow_mut();
            if !st.connected {
                return;
            }
            let Some(r) = st.queue.first_mut() else {
                return;
            };
            if r.pending && !force {
                return;
            }
            r.pending = true;
            r.tries += 1;
            (r.seq, r.event.clone(), r.args.slice(), r.flags)
        };
        let (seq, event, args, flags) = next;
        let ack = Ack {
            cb: AckFn::Retry(seq),
            with_error: true,
        };
        self.emit(event, args, Some(ack), flags);
    }

    fn on_retry_answer(&self, seq: u32, res: Reply) {
        let done = {
            let mut st = self.st.borrow_mut();
            let Some(front) = st.queue.first_mut() else {
                return;
            };
            if front.seq != seq {
                return;
            }
            front.pending = false;
            if res.is_err() && front.tries <= self.retries {
                None
            } else {
                Some(st.queue.remove(0))
            }
        };
        // Queued emits answer error-first, whatever the callback asked for, as in
        // socket.io-client.
        if let Some(Retry { ack: Some(ack), .. }) = done {
            self.answer(
                Ack {
                    cb: ack.cb,
                    with_error: true,
                },
                res,
            );
        }
        self.drain_queue(false);
    }

    /// The session or the namespace connection ended.
    pub(crate) fn on_close(&self, reason: &JsValue, description: &JsValue) {
        let failed: Vec<u32> = {
            let mut st = self.st.borrow_mut();
            st.connected = false;
            st.id = JsValue::UNDEFINED;
            // Acks of emits still buffered stay: they go out on reconnection.
            st.acks
                .iter()
                .map(|a| a.id)
                .filter(|id| !st.send_buf.iter().any(|b| b.id == Some(*id)))
                .collect()
        };
        self.emit_reserved(event::DISCONNECT, reason, description);
        for id in failed {
            self.fail_ack(id, word::DISCONNECTED);
        }
    }

    /// A manager error while not connected is this socket's `connect_error`.
    pub(crate) fn on_manager_error(&self, err: &JsValue) {
        if !self.connected() {
            self.emit_reserved(event::CONNECT_ERROR, err, &JsValue::UNDEFINED);
        }
    }

    /// Stops following the manager; closes the session if no other socket needs it.
    fn destroy(&self) {
        self.st.borrow_mut().active = false;
        self.mgr.socket_gone();
    }

    /// `socket.disconnect()`: leaves the namespace; no reconnection for this socket.
    pub(crate) fn disconnect(&self) {
        let connected = self.connected();
        if connected {
            self.mgr.write(encode(
                PacketType::Disconnect,
                &self.nsp,
                None,
                &JsValue::UNDEFINED,
            ));
        }
        self.destroy();
        if connected {
            self.on_close(&js::word(word::IO_CLIENT_DISCONNECT), &JsValue::UNDEFINED);
        }
    }
}

/// The frames of a packet (glue.js `packet`: the message frame, then the binary
/// attachments).
pub(crate) fn encode(kind: PacketType, nsp: &str, id: Option<u64>, data: &JsValue) -> Vec<Out> {
    js::packet(
        i32::from(kind.digit() - b'0'),
        nsp,
        id.map(|id| id as f64),
        data,
    )
    .to_vec()
}
