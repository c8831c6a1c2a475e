//! The JavaScript API (feature `js`): `io`, `Manager` and `Socket` with socket.io-client
//! 4.8's names, options and return values. Variadic methods (`emit(ev, ...args)`) are thin
//! wrappers in `js/index.js` over the `_emit` exported here.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;

use js_sys::{Array, Function, Object};
use wasm_bindgen::prelude::*;

use crate::emitter::Handler;
use crate::js::{self, get};
use crate::manager::{self, Mgr};
use crate::opts::{Options, TransportKind};
use crate::socket::{Ack, Sock};

/// `io(url?, opts?)`: the socket of the URL's namespace, on the cached Manager of its server
/// unless `forceNew`, `multiplex: false`, or that namespace is taken already.
#[wasm_bindgen]
pub fn io(uri: JsValue, opts: JsValue) -> Result<JsValue, JsValue> {
    let (uri, opts) = if uri.is_object() {
        (JsValue::UNDEFINED, uri)
    } else {
        (uri, opts)
    };
    let o = options(&opts);
    let parsed = crate::url::parse(uri.as_string().as_deref()).ok_or_else(|| invalid(&uri))?;
    let mut mgr = js::cached(&parsed.id);
    let taken = !mgr.is_undefined() && mgr.unchecked_ref::<JsManagerRef>().has_socket(&parsed.nsp);
    if o.force_new || !o.multiplex || taken || mgr.is_undefined() {
        let fresh = new_manager(&parsed, o);
        if mgr.is_undefined() {
            js::cache(&parsed.id, &fresh);
        }
        mgr = fresh;
    }
    Ok(mgr
        .unchecked_ref::<JsManagerRef>()
        .socket(&parsed.nsp, &opts))
}

/// `new Manager(url, opts)` (the constructor in `js/index.js` calls this).
#[wasm_bindgen(js_name = _manager)]
pub fn manager(uri: JsValue, opts: JsValue) -> Result<JsValue, JsValue> {
    let (uri, opts) = if uri.is_object() {
        (JsValue::UNDEFINED, uri)
    } else {
        (uri, opts)
    };
    let parsed = crate::url::parse(uri.as_string().as_deref()).ok_or_else(|| invalid(&uri))?;
    Ok(new_manager(&parsed, options(&opts)))
}

fn invalid(uri: &JsValue) -> JsValue {
    js::error("invalid URL", uri, &JsValue::UNDEFINED)
}

fn new_manager(parsed: &crate::url::Parsed, opts: Options) -> JsValue {
    let target = manager::target(parsed, &opts);
    let inner = Mgr::new(opts, target);
    let obj: JsValue = Manager {
        inner: inner.clone(),
    }
    .into();
    *inner.js.borrow_mut() = obj.clone();
    obj
}

#[wasm_bindgen]
extern "C" {
    /// A `Manager` held as a JS value (the `io()` cache keeps JS objects).
    type JsManagerRef;
    #[wasm_bindgen(method)]
    fn socket(this: &JsManagerRef, nsp: &str, opts: &JsValue) -> JsValue;
    #[wasm_bindgen(method, js_name = _has)]
    fn has_socket(this: &JsManagerRef, nsp: &str) -> bool;
}

/// Options from a socket.io-client options object; absent or ill-typed ones keep defaults.
fn options(o: &JsValue) -> Options {
    let mut opts = Options::default();
    let text = |k| get(o, k).as_string();
    let flag = |k, d: bool| get(o, k).as_bool().unwrap_or(d);
    let num = |k| get(o, k).as_f64();
    if let Some(p) = text("path") {
        opts.path = p;
    }
    let query = get(o, "query");
    if let Some(q) = query.as_string() {
        opts.query = crate::url::split_query(&q);
    } else if query.is_object() {
        opts.query = pairs(&query);
    }
    let transports = get(o, "transports");
    if Array::is_array(&transports) {
        opts.transports = Array::from(&transports)
            .iter()
            .filter_map(|t| TransportKind::from_name(&t.as_string()?))
            .collect();
    }
    opts.upgrade = flag("upgrade", opts.upgrade);
    opts.remember_upgrade = flag("rememberUpgrade", opts.remember_upgrade);
    opts.reconnection = flag("reconnection", opts.reconnection);
    if let Some(n) = num("reconnectionAttempts") {
        opts.reconnection_attempts = if n >= f64::from(u32::MAX) {
            u32::MAX
        } else {
            n.max(0.0) as u32
        };
    }
    opts.reconnection_delay = num("reconnectionDelay").unwrap_or(opts.reconnection_delay);
    opts.reconnection_delay_max =
        num("reconnectionDelayMax").unwrap_or(opts.reconnection_delay_max);
    opts.randomization_factor = num("randomizationFactor").unwrap_or(opts.randomization_factor);
    let timeout = get(o, "timeout");
    if timeout.as_bool() == Some(false) {
        opts.timeout = 0.0;
    } else if let Some(t) = timeout.as_f64() {
        opts.timeout = t;
    }
    opts.auto_connect = flag("autoConnect", opts.auto_connect);
    opts.ack_timeout = num("ackTimeout");
    opts.retries = num("retries").map_or(0, |n| n.max(0.0) as u32);
    opts.auth = get(o, "auth");
    let headers = get(o, "extraHeaders");
    if headers.is_object() {
        opts.extra_headers = pairs(&headers);
    }
    opts.with_credentials = flag("withCredentials", opts.with_credentials);
    opts.timestamp_requests = flag("timestampRequests", opts.timestamp_requests);
    opts.add_trailing_slash = flag("addTrailingSlash", opts.add_trailing_slash);
    opts.protocols = get(o, "protocols");
    if let Some(n) = num("maxBufferedEmits") {
        opts.max_buffered = n.max(0.0) as usize;
    }
    opts.force_new = flag("forceNew", flag("force new connection", false));
    opts.multiplex = flag("multiplex", true);
    opts
}

/// The string entries of an object, `{a: 1}` → `[("a", "1")]`.
fn pairs(o: &JsValue) -> Vec<(String, String)> {
    Object::entries(o.unchecked_ref())
        .iter()
        .filter_map(|e| {
            let e = Array::from(&e);
            let v = e.get(1);
            let v = v
                .as_string()
                .or_else(|| {
                    v.as_f64()
                        .map(|_| String::from(js_sys::JsString::from(v.clone())))
                })
                .or_else(|| {
                    v.as_bool()
                        .map(|b| String::from(if b { "true" } else { "false" }))
                })?;
            Some((e.get(0).as_string()?, v))
        })
        .collect()
}

/// A connection to a server, shared by the sockets of its namespaces (socket.io-client's
/// `Manager`).
#[wasm_bindgen]
pub struct Manager {
    inner: Rc<Mgr>,
}

#[wasm_bindgen]
impl Manager {
    /// The socket of namespace `nsp`, created on first use.
    pub fn socket(&self, nsp: &str, opts: JsValue) -> JsValue {
        let own = (!opts.is_undefined()).then(|| options(&opts));
        let (sock, created) = self.inner.socket(nsp, own.as_ref());
        if created {
            let obj: JsValue = Socket {
                inner: sock.clone(),
            }
            .into();
            *sock.js.borrow_mut() = obj;
        }
        if self.inner.opts.auto_connect && !sock.active() {
            sock.connect();
        }
        sock.this()
    }

    /// Whether a socket of `nsp` exists on this manager (the `io()` cache asks).
    #[wasm_bindgen(js_name = _has)]
    pub fn has(&self, nsp: &str) -> bool {
        self.inner.nsps.borrow().iter().any(|s| s.nsp == nsp)
    }

    /// Opens the connection (when `autoConnect` is off).
    pub fn open(&self) -> JsValue {
        self.inner.open();
        self.this()
    }

    /// Same as `open`.
    pub fn connect(&self) -> JsValue {
        self.open()
    }

    fn this(&self) -> JsValue {
        self.inner.js.borrow().clone()
    }

    /// Listens to a manager event.
    pub fn on(&self, event: &str, f: Function) -> JsValue {
        self.inner.events.on(event, Handler::Js(f), false);
        self.this()
    }

    /// Listens to the next occurrence of a manager event.
    pub fn once(&self, event: &str, f: Function) -> JsValue {
        self.inner.events.on(event, Handler::Js(f), true);
        self.this()
    }

    /// Removes listeners: all, those of `event`, or `f` for `event`.
    pub fn off(&self, event: Option<String>, f: Option<Function>) -> JsValue {
        self.inner.events.off(event.as_deref(), f.as_ref());
        self.this()
    }

    /// The listeners of `event`.
    pub fn listeners(&self, event: &str) -> Array {
        self.inner.events.listeners(event)
    }

    /// Whether `event` has listeners.
    #[wasm_bindgen(js_name = hasListeners)]
    pub fn has_listeners(&self, event: &str) -> bool {
        self.inner.events.has(event)
    }

    /// The transport in use, `"polling"` or `"websocket"` (sio extension, also as
    /// `socket.io.engine.transport.name` in socket.io-client).
    #[wasm_bindgen(getter)]
    pub fn transport(&self) -> Option<String> {
        self.inner.transport_name().map(String::from)
    }
}

/// One namespace of a manager's connection (socket.io-client's `Socket`).
#[wasm_bindgen]
pub struct Socket {
    inner: Rc<Sock>,
}

#[wasm_bindgen]
impl Socket {
    fn this(&self) -> JsValue {
        self.inner.this()
    }

    /// Listens to `event`.
    pub fn on(&self, event: &str, f: Function) -> JsValue {
        self.inner.events.on(event, Handler::Js(f), false);
        self.this()
    }

    /// Listens to the next occurrence of `event`.
    pub fn once(&self, event: &str, f: Function) -> JsValue {
        self.inner.events.on(event, Handler::Js(f), true);
        self.this()
    }

    /// Removes listeners: all, those of `event`, or `f` for `event`.
    pub fn off(&self, event: Option<String>, f: Option<Function>) -> JsValue {
        self.inner.events.off(event.as_deref(), f.as_ref());
        self.this()
    }

    /// The listeners of `event`.
    pub fn listeners(&self, event: &str) -> Array {
        self.inner.events.listeners(event)
    }

    /// Whether `event` has listeners.
    #[wasm_bindgen(js_name = hasListeners)]
    pub fn has_listeners(&self, event: &str) -> bool {
        self.inner.events.has(event)
    }

    /// Listens to every incoming event (name first).
    #[wasm_bindgen(js_name = onAny)]
    pub fn on_any(&self, f: Function) -> JsValue {
        self.inner.any.add(Handler::Js(f), false);
        self.this()
    }

    /// Like `onAny`, ahead of the others.
    #[wasm_bindgen(js_name = prependAny)]
    pub fn prepend_any(&self, f: Function) -> JsValue {
        self.inner.any.add(Handler::Js(f), true);
        self.this()
    }

    /// Removes a catch-all listener, or all of them.
    #[wasm_bindgen(js_name = offAny)]
    pub fn off_any(&self, f: Option<Function>) -> JsValue {
        self.inner.any.remove(f.as_ref());
        self.this()
    }

    /// The catch-all listeners.
    #[wasm_bindgen(js_name = listenersAny)]
    pub fn listeners_any(&self) -> Array {
        self.inner.any.functions()
    }

    /// Listens to every outgoing event (name first).
    #[wasm_bindgen(js_name = onAnyOutgoing)]
    pub fn on_any_outgoing(&self, f: Function) -> JsValue {
        self.inner.any_out.add(Handler::Js(f), false);
        self.this()
    }

    /// Like `onAnyOutgoing`, ahead of the others.
    #[wasm_bindgen(js_name = prependAnyOutgoing)]
    pub fn prepend_any_outgoing(&self, f: Function) -> JsValue {
        self.inner.any_out.add(Handler::Js(f), true);
        self.this()
    }

    /// Removes an outgoing catch-all listener, or all of them.
    #[wasm_bindgen(js_name = offAnyOutgoing)]
    pub fn off_any_outgoing(&self, f: Option<Function>) -> JsValue {
        self.inner.any_out.remove(f.as_ref());
        self.this()
    }

    /// The outgoing catch-all listeners.
    #[wasm_bindgen(js_name = listenersAnyOutgoing)]
    pub fn listeners_any_outgoing(&self) -> Array {
        self.inner.any_out.functions()
    }

    /// `emit(event, ...args)`: a trailing function is the ack callback; `with_error` makes
    /// it error-first (`emitWithAck`).
    #[wasm_bindgen(js_name = _emit)]
    pub fn emit(&self, event: JsValue, args: Array, with_error: bool) -> Result<JsValue, JsValue> {
        let last = args.get(args.length().wrapping_sub(1));
        let ack = if args.length() > 0 && last.is_function() {
            args.pop();
            let f: Function = last.unchecked_into();
            let this = self.this();
            Some(Ack {
                cb: Box::new(move |res| match res {
                    Ok(reply) => {
                        if with_error {
                            reply.unshift(&JsValue::NULL);
                        }
                        js::call(&f, &this, &reply);
                    }
                    Err(e) => js::call(&f, &this, &Array::of1(&e)),
                }),
                with_error,
            })
        } else {
            None
        };
        self.inner.emit(event, args, ack)?;
        Ok(self.this())
    }

    /// The next emit's ack callback gets an error after `ms` without an answer.
    pub fn timeout(&self, ms: f64) -> JsValue {
        self.inner.st.borrow_mut().flags.timeout = Some(ms);
        self.this()
    }

    /// The next emit is dropped unless it can be sent at once.
    #[wasm_bindgen(getter)]
    pub fn volatile(&self) -> JsValue {
        self.inner.st.borrow_mut().flags.volatile = true;
        self.this()
    }

    /// Accepted for compatibility: browsers decide WebSocket compression themselves.
    pub fn compress(&self, _compress: bool) -> JsValue {
        self.this()
    }

    /// Connects (again).
    pub fn connect(&self) -> JsValue {
        self.inner.connect();
        self.this()
    }

    /// Same as `connect`.
    pub fn open(&self) -> JsValue {
        self.connect()
    }

    /// Leaves the namespace; no reconnection.
    pub fn disconnect(&self) -> JsValue {
        self.inner.disconnect();
        self.this()
    }

    /// Same as `disconnect`.
    pub fn close(&self) -> JsValue {
        self.disconnect()
    }

    /// The id of this namespace connection, while connected.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> Option<String> {
        self.inner.st.borrow().id.clone()
    }

    /// Whether the socket is connected.
    #[wasm_bindgen(getter)]
    pub fn connected(&self) -> bool {
        self.inner.connected()
    }

    /// Whether the socket is not connected.
    #[wasm_bindgen(getter)]
    pub fn disconnected(&self) -> bool {
        !self.inner.connected()
    }

    /// Whether the socket follows its manager (it will reconnect).
    #[wasm_bindgen(getter)]
    pub fn active(&self) -> bool {
        self.inner.active()
    }

    /// Whether the last connection restored the previous session (connection state recovery).
    #[wasm_bindgen(getter)]
    pub fn recovered(&self) -> bool {
        self.inner.st.borrow().recovered
    }

    /// The namespace.
    #[wasm_bindgen(getter)]
    pub fn nsp(&self) -> String {
        self.inner.nsp.clone()
    }

    /// The manager.
    #[wasm_bindgen(getter)]
    pub fn io(&self) -> JsValue {
        self.inner.mgr.js.borrow().clone()
    }
}
