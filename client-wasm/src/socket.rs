//! A socket: one namespace on a manager's session. The core joins and leaves the namespace,
//! checks and routes its packets, and knows whether it is connected; what the socket holds
//! of JS values (the acks it waits for, the emits and events kept while it is not
//! connected, the retry queue, the recovery offset) is kept by glue.js on the socket's JS
//! object, which is where those values live anyway. Behaviour and event order follow
//! socket.io-client 4.8.
//!
//! (Kept in Rust, each of those values crossed the boundary twice; moving them to glue.js
//! took 2,679 B gzip off the `.wasm` and added 638 B of JS: `bench/size/RESULTS.md`.)

use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::Cell;

use sio_protocol::socket::PacketType;
use wasm_bindgen::{JsCast, JsValue};

use crate::js::{self, Array, event, word};
use crate::kind::{Kind, SocketCb};
use crate::manager::{Mgr, Ready};
use crate::opts::{Config, opt};
use crate::transport::Out;

/// What glue.js `send` asks of the core for an emit (`Send`'s value `[frames, args,
/// flags]`): with `VOLATILE`, drop it unless it goes out at once; with `FORCE`, send it
/// whatever the state (a buffered emit, an ack owed to the server).
pub(crate) mod send {
    pub(crate) const VOLATILE: u32 = 1;
    pub(crate) const FORCE: u32 = 2;
    /// What the core answers: sent, dropped (volatile), or kept for later by glue.js.
    pub(crate) const SENT: u32 = 0;
    pub(crate) const DROPPED: u32 = 1;
    pub(crate) const KEEP: u32 = 2;
}

pub(crate) struct Sock {
    /// Its manager, which holds its sockets until it is freed (`Mgr::settle`).
    pub(crate) mgr: Rc<Mgr>,
    /// Its namespace, a JS string: incoming packets are matched to it without copying
    /// their namespace into wasm memory.
    pub(crate) nsp: JsValue,
    /// Its index on the manager: where glue.js finds its JS object.
    pub(crate) index: i32,
    connected: Cell<bool>,
    active: Cell<bool>,
}

impl Sock {
    /// Socket number `index` of `mgr`, its events going to `js`.
    pub(crate) fn new(
        mgr: Rc<Mgr>,
        index: usize,
        nsp: &JsValue,
        cfg: &Config,
        auth: &JsValue,
        js: &JsValue,
    ) -> Rc<Sock> {
        // `socket.auth` is a property of the JS object, as in socket.io-client: pages change
        // it (a refreshed token) and the next CONNECT sends it.
        js::set(js, word::AUTH, auth);
        let index = index as i32;
        js::bind_socket(
            mgr.h,
            index,
            js,
            nsp,
            Kind::Socket(index as u32, SocketCb::Send).encode(),
            cfg.get(opt::ACK_TIMEOUT),
            cfg.get(opt::RETRIES),
            cfg.get(opt::MAX_BUFFERED),
        );
        Rc::new(Sock {
            mgr,
            nsp: nsp.clone(),
            index,
            connected: Cell::new(false),
            active: Cell::new(false),
        })
    }

    pub(crate) fn active(&self) -> bool {
        self.active.get()
    }

    pub(crate) fn connected(&self) -> bool {
        self.connected.get()
    }

    fn set_active(&self, active: bool) {
        self.active.set(active);
        js::active(self.mgr.h, self.index, active);
    }

    fn emit_reserved(&self, event: i32, a: &JsValue, b: &JsValue) {
        js::fire(self.mgr.h, self.index, event, a, b);
    }

    /// `socket.connect()`: joins the namespace, opening the session if needed.
    pub(crate) fn connect(&self) {
        if self.connected() {
            return;
        }
        self.set_active(true);
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
            js::auth(
                &auth,
                self.mgr.h,
                Kind::Socket(self.index as u32, SocketCb::Auth).encode(),
            );
        } else {
            self.send_connect(&auth);
        }
    }

    fn send_connect(&self, auth: &JsValue) {
        // Connection state recovery: glue.js adds the session to restore, if there is one.
        let data = js::with_pid(auth, self.mgr.h, self.index);
        self.mgr
            .write(encode(&self.mgr, PacketType::Connect, &self.nsp, &data));
    }

    /// A callback of this socket: the `auth` function's payload, or an emit from glue.js
    /// (`[frames, args, flags]`, a [`send`] answer back).
    pub(crate) fn on_callback(&self, cb: SocketCb, value: JsValue) -> u32 {
        match cb {
            SocketCb::Auth => self.send_connect(&value),
            SocketCb::Send => {
                let v: Array = value.unchecked_into();
                let flags = js::nth(&v, 2) as u32;
                if flags & send::FORCE == 0 {
                    let (writable, alive) = self.mgr.link_state();
                    if flags & send::VOLATILE != 0 && !writable {
                        return send::DROPPED;
                    }
                    if !(alive && self.connected()) {
                        return send::KEEP;
                    }
                }
                let args = v.at(1);
                if !args.is_undefined() {
                    js::fire(
                        self.mgr.h,
                        self.index,
                        event::OUTGOING,
                        &args,
                        &JsValue::UNDEFINED,
                    );
                }
                self.mgr.write(v.at(0).unchecked_into::<Array>().to_vec());
            }
        }
        send::SENT
    }

    /// A packet for this namespace; `Err` when its payload is not what its type requires.
    pub(crate) fn on_packet(
        &self,
        kind: PacketType,
        id: Option<u64>,
        data: JsValue,
    ) -> Result<(), ()> {
        let id = id.map(|id| id as f64);
        match kind {
            PacketType::Connect => {
                let sid = js::get(&data, word::SID);
                match sid {
                    _ if sid.is_string() => {
                        self.connected.set(true);
                        js::connected(self.mgr.h, self.index, &sid, &js::get(&data, word::PID));
                    }
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
                js::incoming(self.mgr.h, self.index, &data, id);
            }
            PacketType::Ack | PacketType::BinaryAck => {
                if !Array::is_array(&data) {
                    return Err(());
                }
                js::acked(self.mgr.h, self.index, id.ok_or(())?, &data);
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

    /// The session or the namespace connection ended: `disconnect`, and the acks that can
    /// no longer come fail (glue.js `closed`).
    pub(crate) fn on_close(&self, reason: &JsValue, description: &JsValue) {
        self.connected.set(false);
        js::closed(self.mgr.h, self.index, reason, description);
    }

    /// A manager error while not connected is this socket's `connect_error`.
    pub(crate) fn on_manager_error(&self, err: &JsValue) {
        if !self.connected() {
            self.emit_reserved(event::CONNECT_ERROR, err, &JsValue::UNDEFINED);
        }
    }

    /// Stops following the manager; closes the session if no other socket needs it.
    fn destroy(&self) {
        self.set_active(false);
        self.mgr.socket_gone();
    }

    /// `socket.disconnect()`: leaves the namespace; no reconnection for this socket.
    pub(crate) fn disconnect(&self) {
        let connected = self.connected();
        if connected {
            self.mgr.write(encode(
                &self.mgr,
                PacketType::Disconnect,
                &self.nsp,
                &JsValue::UNDEFINED,
            ));
        }
        self.destroy();
        if connected {
            self.on_close(&js::word(word::IO_CLIENT_DISCONNECT), &JsValue::UNDEFINED);
        }
    }
}

/// The frames of a packet without an ack id (glue.js `packet`, or the manager's custom
/// parser; events and acks are glue.js's own).
fn encode(mgr: &Mgr, kind: PacketType, nsp: &JsValue, data: &JsValue) -> Vec<Out> {
    let kind = i32::from(kind.digit() - b'0');
    #[cfg(feature = "parser")]
    if mgr.custom.get() {
        return js::encode_with(mgr.h, kind, nsp, None, data).to_vec();
    }
    #[cfg(not(feature = "parser"))]
    let _ = mgr;
    js::packet(kind, nsp, None, data).to_vec()
}
