//! The Rust half of the JavaScript API (feature `js`). `js/index.js` defines `io`, `Manager`
//! and `Socket` with socket.io-client 4.8's names, options and return values, over the
//! `ManagerCore` and `SocketCore` exported here; listeners live in glue.js's `Emitter`.
//! Few exports, few shims: each exported method costs glue in both the `.wasm` and the JS.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;

use wasm_bindgen::prelude::*;

use crate::js::{self, Array};
use crate::manager::{self, Mgr};
use crate::opts::Options;
use crate::socket::{Ack, Flags, Sock};

/// `[key, namespace]` of a URL: sockets of the same key (`scheme://host:port`) share a
/// Manager in `io()`.
#[wasm_bindgen]
pub fn lookup(uri: JsValue) -> Result<Array, JsValue> {
    let p = parse(&uri)?;
    Ok(Array::of2(
        &JsValue::from_str(&p.id),
        &JsValue::from_str(&p.nsp),
    ))
}

fn parse(uri: &JsValue) -> Result<crate::url::Parsed, JsValue> {
    crate::url::parse(uri).ok_or_else(|| js::error("invalid URL", uri, &JsValue::UNDEFINED))
}

/// The Rust half of a `Manager` (`js/index.js` has the JS class).
#[wasm_bindgen]
pub struct ManagerCore {
    inner: Rc<Mgr>,
}

#[wasm_bindgen]
impl ManagerCore {
    /// A manager for the server of `uri` with socket.io-client `opts`; its events go to `js`.
    #[wasm_bindgen(constructor)]
    pub fn new(uri: JsValue, opts: JsValue, js: JsValue) -> Result<ManagerCore, JsValue> {
        let parsed = parse(&uri)?;
        let opts = Options::from_js(&opts);
        let target = manager::target(&parsed, &opts);
        Ok(ManagerCore {
            inner: Mgr::new(opts, target, js.unchecked_into()),
        })
    }

    /// Opens the connection.
    pub fn open(&self) {
        self.inner.open();
    }

    /// Reads, or with `value` changes, option `which` (see `js/index.js`: `reconnection`,
    /// `reconnectionAttempts`, `reconnectionDelay`, `reconnectionDelayMax`,
    /// `randomizationFactor`, `timeout`).
    pub fn tune(&self, which: u32, value: Option<f64>) -> f64 {
        self.inner.tune(which, value)
    }

    /// The Engine.IO session id, while a session is open.
    pub fn sid(&self) -> Option<String> {
        self.inner.sid()
    }

    /// The transport in use, `"polling"` or `"websocket"`.
    pub fn transport(&self) -> Option<String> {
        self.inner.transport_name().map(String::from)
    }
}

/// The Rust half of a `Socket` (`js/index.js` has the JS class).
#[wasm_bindgen]
pub struct SocketCore {
    inner: Rc<Sock>,
}

#[wasm_bindgen]
impl SocketCore {
    /// The socket of namespace `nsp` on `manager`, with socket options `opts` (`auth`,
    /// `ackTimeout`, `retries`, `maxBufferedEmits`); its events go to `js`.
    #[wasm_bindgen(constructor)]
    pub fn new(manager: &ManagerCore, nsp: &str, js: JsValue, opts: JsValue) -> SocketCore {
        let opts = Options::from_js(&opts);
        SocketCore {
            inner: manager
                .inner
                .socket(nsp, Some(&opts), || js.unchecked_into()),
        }
    }

    /// Joins the namespace.
    pub fn connect(&self) {
        self.inner.connect();
    }

    /// Leaves the namespace.
    pub fn disconnect(&self) {
        self.inner.disconnect();
    }

    /// Sends `[event, ...args]`; `ack` gets the answer (error-first when `with_error` or
    /// with a timeout). `timeout`: this emit's ack timeout, else the `ackTimeout` option.
    pub fn emit(
        &self,
        event: JsValue,
        args: Array,
        ack: Option<JsValue>,
        with_error: bool,
        timeout: Option<f64>,
        volatile: bool,
    ) {
        let this: JsValue = self.inner.js.clone().into();
        let ack = ack.map(|f| Ack {
            cb: Box::new(move |res, error_first| match res {
                Ok(reply) => {
                    if error_first {
                        reply.unshift(&JsValue::NULL);
                    }
                    js::call(&f, &this, &reply);
                }
                Err(e) => js::call(&f, &this, &Array::of1(&e)),
            }),
            with_error,
        });
        let flags = Flags {
            volatile,
            timeout,
            from_queue: false,
        };
        self.inner.emit(event, args, ack, flags);
    }

    /// The id of this namespace connection, while connected.
    pub fn id(&self) -> Option<String> {
        self.inner.st.borrow().id.clone()
    }

    /// Bits: 1 connected, 2 active, 4 recovered.
    pub fn state(&self) -> u32 {
        let st = self.inner.st.borrow();
        u32::from(st.connected) | u32::from(st.active) << 1 | u32::from(st.recovered) << 2
    }
}
