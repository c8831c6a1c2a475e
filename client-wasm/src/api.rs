//! The Rust half of the JavaScript API (feature `js`). `js/index.js` defines `io`, `Manager`
//! and `Socket` with socket.io-client 4.8's names, options and return values, over the
//! `ManagerCore` exported here (a `Socket` is an index on its manager's core); listeners live
//! in glue.js's `Emitter`.
//! Few exports, plain arguments: each exported method, and each call back into JS to read
//! an argument, costs glue in both the `.wasm` and the JS.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;

use wasm_bindgen::prelude::*;

use crate::engine::Target;
use crate::js::{self, Array};
use crate::manager::Mgr;
use crate::opts::Config;
use crate::socket::{Ack, Flags};

/// The Rust half of a `Manager` (`js/index.js` has the JS class). It is the manager's
/// handle: when the page lets go of the JS `Manager` and its sockets, the garbage collector
/// drops it, and the manager ends once idle.
#[wasm_bindgen]
pub struct ManagerCore {
    inner: Rc<Mgr>,
}

impl Drop for ManagerCore {
    fn drop(&mut self) {
        self.inner.release();
    }
}

#[wasm_bindgen]
impl ManagerCore {
    /// A manager for the server at `host` (`secure`: over TLS), its events going to `js`.
    /// `path` (`None`: the default), `query` (encoded), `headers` and `protocols` are the
    /// options of those names; `opts` the numeric and boolean ones, by `opts::opt` index
    /// (glue.js `opts` makes it).
    #[wasm_bindgen(constructor)]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        js: JsValue,
        secure: bool,
        host: String,
        path: Option<String>,
        query: String,
        headers: JsValue,
        protocols: JsValue,
        opts: &[f64],
    ) -> ManagerCore {
        let cfg = Config::new(opts);
        let target = Target::new(secure, host, path, query, headers, protocols, &cfg);
        ManagerCore {
            inner: Mgr::new(cfg, JsValue::UNDEFINED, target, &js, false),
        }
    }

    /// Opens the connection.
    pub fn open(&self) {
        self.inner.open();
        self.inner.settle();
    }

    /// Reads, or with `value` changes, option `which` (an `opts::opt` index).
    pub fn tune(&self, which: usize, value: Option<f64>) -> f64 {
        self.inner.tune(which, value)
    }

    /// The Engine.IO session: `[id, transport]` (the id undefined until the handshake, the
    /// transport `"polling"` or `"websocket"`), or undefined between sessions.
    pub fn session(&self) -> JsValue {
        let st = self.inner.st.borrow();
        let Some(e) = st.engine.as_ref() else {
            return JsValue::UNDEFINED;
        };
        let sid = e.sid().map_or(JsValue::UNDEFINED, JsValue::from_str);
        let pair = Array::of1(&sid);
        pair.push(&JsValue::from_str(e.transport_name()));
        pair.into()
    }

    // The sockets: the JS `Socket` keeps its index on this manager (no class of its own,
    // which would cost glue for its lifetime management on both sides).

    /// The index of the socket of namespace `nsp`, made on first use with its events going
    /// to `js`, `auth`, and the numeric options `opts` (`ackTimeout`, `retries`,
    /// `maxBufferedEmits`) as for [`ManagerCore::new`].
    pub fn socket(&self, nsp: &str, js: JsValue, auth: JsValue, opts: &[f64]) -> usize {
        self.inner.socket(nsp, &Config::new(opts), &auth, &js)
    }

    /// Joins the namespace.
    pub fn connect(&self, socket: usize) {
        if let Some(s) = self.inner.sock(socket) {
            s.connect();
        }
        self.inner.settle();
    }

    /// Leaves the namespace.
    pub fn disconnect(&self, socket: usize) {
        if let Some(s) = self.inner.sock(socket) {
            s.disconnect();
        }
        self.inner.settle();
    }

    /// Sends `[event, ...args]`; `ack` gets the answer (error-first when `with_error` or
    /// with a timeout). `timeout`: this emit's ack timeout, else the `ackTimeout` option.
    #[allow(clippy::too_many_arguments)]
    pub fn emit(
        &self,
        socket: usize,
        event: JsValue,
        args: Array,
        ack: Option<JsValue>,
        with_error: bool,
        timeout: Option<f64>,
        volatile: bool,
    ) {
        let Some(s) = self.inner.sock(socket) else {
            return;
        };
        // The socket's JS object is found when the ack comes: the core never holds it.
        let (h, i) = (self.inner.h, s.index);
        let ack = ack.map(|f| Ack {
            cb: Box::new(move |res, error_first| {
                let args = match res {
                    Ok(reply) => {
                        if error_first {
                            reply.unshift(&JsValue::NULL);
                        }
                        reply
                    }
                    Err(e) => Array::of1(&e),
                };
                js::call(&f, &js::target(h, i), &args);
            }),
            with_error,
        });
        let flags = Flags {
            volatile,
            timeout,
            from_queue: false,
        };
        s.emit(event, args, ack, flags);
        self.inner.settle();
    }

    /// The id of the socket's namespace connection, while connected.
    pub fn id(&self, socket: usize) -> JsValue {
        self.inner
            .sock(socket)
            .map_or(JsValue::UNDEFINED, |s| s.st.borrow().id.clone())
    }

    /// The socket's state, in bits: 1 connected, 2 active, 4 recovered.
    pub fn state(&self, socket: usize) -> u32 {
        self.inner.sock(socket).map_or(0, |s| {
            let st = s.st.borrow();
            u32::from(st.connected) | u32::from(st.active) << 1 | u32::from(st.recovered) << 2
        })
    }
}
