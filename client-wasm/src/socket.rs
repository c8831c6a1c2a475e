//! A socket: one namespace on a manager's session. Connection to the namespace, events and
//! acks in both directions, buffering while disconnected, and retries, with
//! socket.io-client 4.8's semantics and event order.

use alloc::boxed::Box;
use alloc::rc::{Rc, Weak};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use sio_protocol::engine::begin_message;
use sio_protocol::socket::{self, PacketType, RESERVED_EVENTS};
use wasm_bindgen::{JsCast, JsValue};

use crate::js::{self, Array, Callback, Emitter, Timer};
use crate::manager::{Mgr, Ready};
use crate::opts::Options;
use crate::transport::Out;

/// What an ack callback gets: the answer's arguments, or the error that ended the wait
/// (`operation has timed out`, `socket has been disconnected`).
pub(crate) type Reply = Result<Array, JsValue>;

/// A callback waiting for an ack.
pub(crate) struct Ack {
    /// Called with the answer, and whether the callback is error-first (decided when the
    /// emit is registered: `with_error`, or a timeout).
    pub(crate) cb: Box<dyn FnOnce(Reply, bool)>,
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
    me: Weak<Sock>,
    pub(crate) mgr: Rc<Mgr>,
    pub(crate) nsp: String,
    /// Where this socket's events go (its JS object in the JS API).
    pub(crate) js: Emitter,
    pub(crate) st: RefCell<SockSt>,
    ack_timeout: Option<f64>,
    retries: u32,
    max_buffered: usize,
    /// JS functions made for this socket (acks it owes, the auth callback) call back here.
    cb: Callback,
}

#[derive(Default)]
pub(crate) struct SockSt {
    pub(crate) id: Option<String>,
    pub(crate) connected: bool,
    pub(crate) recovered: bool,
    pub(crate) active: bool,
    /// Modifiers set through the Rust API for the next emit.
    pub(crate) flags: Flags,
    pid: Option<String>,
    offset: Option<JsValue>,
    next_id: u32,
    acks: Vec<PendingAck>,
    send_buf: Vec<Buffered>,
    recv_buf: Vec<Array>,
    queue: Vec<Retry>,
    queue_seq: u32,
}

/// Callback kinds of [`Sock::cb`].
const CB_ACK: u32 = 0;
const CB_AUTH: u32 = 1;

impl Sock {
    pub(crate) fn new(mgr: Rc<Mgr>, nsp: &str, opts: &Options, js: Emitter) -> Rc<Sock> {
        // `socket.auth` is a property of the JS object, as in socket.io-client: pages change
        // it (a refreshed token) and the next CONNECT sends it.
        js::set(&js, "auth", &opts.auth);
        Rc::new_cyclic(|me: &Weak<Sock>| {
            let weak = me.clone();
            Sock {
                me: me.clone(),
                mgr,
                nsp: String::from(nsp),
                js,
                st: RefCell::new(SockSt::default()),
                ack_timeout: opts.ack_timeout,
                retries: opts.retries,
                max_buffered: opts.max_buffered,
                cb: Callback::new(move |kind, value| {
                    if let Some(s) = weak.upgrade() {
                        s.on_callback(kind, value);
                    }
                }),
            }
        })
    }

    pub(crate) fn active(&self) -> bool {
        self.st.borrow().active
    }

    pub(crate) fn connected(&self) -> bool {
        self.st.borrow().connected
    }

    fn emit_reserved(&self, event: &str, args: &Array) {
        self.js.fire(event, args);
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
        let auth = js::get(&self.js, "auth");
        if auth.is_function() {
            js::auth(&auth, &self.cb);
        } else {
            self.send_connect(auth);
        }
    }

    fn send_connect(&self, auth: JsValue) {
        let (pid, offset) = {
            let st = self.st.borrow();
            (st.pid.clone(), st.offset.clone())
        };
        // Connection state recovery: tell the server which session to restore.
        let data = match pid {
            Some(pid) => js::with_pid(&auth, &pid, &offset.unwrap_or(JsValue::UNDEFINED)),
            None => auth,
        };
        self.mgr
            .write(encode(PacketType::Connect, &self.nsp, None, &data));
    }

    fn on_callback(&self, kind: u32, value: JsValue) {
        match kind {
            CB_ACK => {
                let pair: Array = value.unchecked_into();
                let id = pair.at(0).as_f64().unwrap_or(0.0) as u64;
                self.send_ack(id, &pair.at(1).unchecked_into());
            }
            CB_AUTH => self.send_connect(value),
            _ => {}
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
                let sid = js::get(&data, "sid").as_string();
                match sid {
                    Some(sid) => self.on_connect(sid, js::get(&data, "pid").as_string()),
                    None if data.is_object() => self.emit_reserved(
                        "connect_error",
                        &Array::of1(&js::err("It seems you are trying to reach a Socket.IO server in v2.x with a v3.x client, but they are not compatible (more information here: https://socket.io/docs/v3/migrating-from-2-x-to-3-0/)")),
                    ),
                    None => return Err(()),
                }
            }
            PacketType::Event | PacketType::BinaryEvent => {
                if !Array::is_array(&data) {
                    return Err(());
                }
                let args: Array = data.unchecked_into();
                let name = args.at(0);
                if !name.is_string() || RESERVED_EVENTS.iter().any(|r| name == *r) {
                    return Err(());
                }
                if let Some(id) = id {
                    args.push(&js::ack_fn(&self.cb, id as f64));
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
                self.on_close("io server disconnect", &JsValue::UNDEFINED);
            }
            PacketType::ConnectError => {
                self.destroy();
                let message = js::get(&data, "message");
                let message = message.as_string().or_else(|| data.as_string());
                let err = js::error(
                    message.as_deref().unwrap_or(""),
                    &js::get(&data, "data"),
                    &JsValue::UNDEFINED,
                );
                self.emit_reserved("connect_error", &Array::of1(&err));
            }
        }
        Ok(())
    }

    fn on_connect(&self, sid: String, pid: Option<String>) {
        {
            let mut st = self.st.borrow_mut();
            st.recovered = pid.is_some() && st.pid == pid;
            st.pid = pid;
            st.id = Some(sid);
            st.connected = true;
        }
        // Events that arrived early, then the emits made while disconnected, in order.
        let received = core::mem::take(&mut self.st.borrow_mut().recv_buf);
        for args in &received {
            self.emit_event(args);
        }
        let buffered = core::mem::take(&mut self.st.borrow_mut().send_buf);
        for b in buffered {
            self.js.outgoing(&b.args);
            self.mgr.write(b.frames);
        }
        self.drain_queue(true);
        self.emit_reserved("connect", &Array::new());
    }

    fn emit_event(&self, args: &Array) {
        self.js.event(args);
        let mut st = self.st.borrow_mut();
        if st.pid.is_some() {
            let last = args.at(-1);
            if last.is_string() && args.length() > 1 {
                st.offset = Some(last);
            }
        }
    }

    fn on_ack(&self, id: u64, args: Array) {
        if let Some(p) = self.take_ack(id) {
            run_ack(p.ack, Ok(args));
        }
    }

    /// The ack waiting for `id`, no longer waiting.
    fn take_ack(&self, id: u64) -> Option<PendingAck> {
        let mut st = self.st.borrow_mut();
        let i = st.acks.iter().position(|a| u64::from(a.id) == id)?;
        Some(st.acks.remove(i))
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
            self.js.outgoing(&args);
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
                self.fail_ack(id, "send buffer full");
            }
        }
    }

    fn register_ack(&self, ack: Ack, timeout: Option<f64>) -> u32 {
        let mut st = self.st.borrow_mut();
        let id = st.next_id;
        st.next_id = st.next_id.wrapping_add(1);
        let timer = timeout.map(|ms| {
            let me = self.me.clone();
            Timer::new(ms, move || {
                if let Some(s) = me.upgrade() {
                    s.st.borrow_mut().send_buf.retain(|b| b.id != Some(id));
                    s.fail_ack(id, "operation has timed out");
                }
            })
        });
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

    fn fail_ack(&self, id: u32, why: &str) {
        if let Some(p) = self.take_ack(u64::from(id)) {
            if p.ack.with_error {
                run_ack(p.ack, Err(js::err(why)));
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
        let me = self.me.clone();
        let ack = Ack {
            cb: Box::new(move |res, _| {
                if let Some(s) = me.upgrade() {
                    s.on_retry_answer(seq, res);
                }
            }),
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
            (ack.cb)(res, true);
        }
        self.drain_queue(false);
    }

    /// The session or the namespace connection ended.
    pub(crate) fn on_close(&self, reason: &str, description: &JsValue) {
        let acks = {
            let mut st = self.st.borrow_mut();
            st.connected = false;
            st.id = None;
            // Acks of emits still buffered stay: they go out on reconnection.
            let buffered: Vec<u32> = st.send_buf.iter().filter_map(|b| b.id).collect();
            let (keep, fail): (Vec<_>, Vec<_>) = core::mem::take(&mut st.acks)
                .into_iter()
                .partition(|a| buffered.contains(&a.id));
            st.acks = keep;
            fail
        };
        self.emit_reserved(
            "disconnect",
            &Array::of2(&JsValue::from_str(reason), description),
        );
        for p in acks {
            if p.ack.with_error {
                run_ack(p.ack, Err(js::err("socket has been disconnected")));
            }
        }
    }

    /// A manager error while not connected is this socket's `connect_error`.
    pub(crate) fn on_manager_error(&self, err: &JsValue) {
        if !self.connected() {
            self.emit_reserved("connect_error", &Array::of1(err));
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
            self.on_close("io client disconnect", &JsValue::UNDEFINED);
        }
    }
}

fn run_ack(ack: Ack, res: Reply) {
    (ack.cb)(res, ack.with_error);
}

/// The frames of a packet: `4` + header + JSON body, then the binary attachments the body's
/// placeholders stand for. The JSON comes from the browser; the header from sio-protocol.
pub(crate) fn encode(kind: PacketType, nsp: &str, id: Option<u64>, data: &JsValue) -> Vec<Out> {
    let bins = Array::new();
    let body = js::json(data, &bins);
    let attachments = bins.length() as usize;
    let kind = match kind {
        PacketType::Event if attachments > 0 => PacketType::BinaryEvent,
        PacketType::Ack if attachments > 0 => PacketType::BinaryAck,
        k => k,
    };
    let mut head: Vec<u8> = Vec::with_capacity(16 + nsp.len());
    begin_message(&mut head);
    socket::write_header(&mut head, kind, nsp, id, attachments);
    let mut frames = Vec::with_capacity(1 + attachments);
    frames.push(Out::Text(js::concat(&head, &body)));
    frames.extend(bins.to_vec().into_iter().map(Out::Binary));
    frames
}
