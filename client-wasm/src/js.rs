//! The browser, as sio-client sees it: bindings to `js/glue.js` and a few globals.
//!
//! No js-sys or web-sys: their generic machinery costs several KB of `.wasm` for the handful
//! of calls the client makes, so the client declares exactly those here. Every callback from
//! the browser into Rust is a [`Callback`], `(kind, value)`: one closure type means one piece
//! of generated glue, whatever the event source.

use alloc::string::String;
use alloc::vec::Vec;

use wasm_bindgen::prelude::*;

/// A browser callback into Rust: `kind` says what happened, `value` carries the data.
pub(crate) type Callback = Closure<dyn FnMut(u32, JsValue)>;

#[wasm_bindgen]
extern "C" {
    /// A JS array (event arguments, attachments).
    #[wasm_bindgen(js_name = Array)]
    #[derive(Clone)]
    pub type Array;
    #[wasm_bindgen(constructor, js_class = "Array")]
    pub(crate) fn new() -> Array;
    #[wasm_bindgen(method, js_class = "Array")]
    pub(crate) fn push(this: &Array, v: &JsValue) -> u32;
    #[wasm_bindgen(method, js_class = "Array")]
    pub(crate) fn unshift(this: &Array, v: &JsValue) -> u32;
    #[wasm_bindgen(method, js_class = "Array")]
    pub(crate) fn at(this: &Array, i: i32) -> JsValue;
    /// A shallow copy.
    #[wasm_bindgen(method, js_class = "Array")]
    pub(crate) fn slice(this: &Array) -> Array;
    #[wasm_bindgen(method, getter, js_class = "Array")]
    pub(crate) fn length(this: &Array) -> u32;
    #[wasm_bindgen(static_method_of = Array, js_class = "Array", js_name = isArray)]
    pub(crate) fn is_array(v: &JsValue) -> bool;

    #[wasm_bindgen(js_namespace = Date)]
    pub(crate) fn now() -> f64;
    #[wasm_bindgen(js_namespace = Math)]
    pub(crate) fn random() -> f64;
}

#[wasm_bindgen(module = "/js/glue.js")]
extern "C" {
    /// The JSON of `data` (`""` for undefined), binary leaves replaced by placeholders and
    /// pushed to `bins`.
    pub(crate) fn json(data: &JsValue, bins: &Array) -> JsValue;
    /// The UTF-8 `head` + the JS string `body`.
    pub(crate) fn concat(head: &[u8], body: &JsValue) -> JsValue;
    /// UTF-8 bytes as a JS string.
    pub(crate) fn text(utf8: &[u8]) -> JsValue;
    /// The JSON value in `text[from..to]` (UTF-16 indices; `to` absent: the end), binary
    /// placeholders replaced by `bins`; `undefined` when it is not JSON.
    pub(crate) fn parse(text: &JsValue, from: u32, to: Option<u32>, bins: &JsValue) -> JsValue;
    pub(crate) fn call(f: &JsValue, this: &JsValue, args: &Array);
    #[wasm_bindgen(js_name = ackFn)]
    pub(crate) fn ack_fn(cb: &Callback, id: f64) -> JsValue;
    pub(crate) fn auth(f: &JsValue, cb: &Callback);
    /// The CONNECT payload with the session to recover (`pid`, `offset`) merged in.
    #[wasm_bindgen(js_name = withPid)]
    pub(crate) fn with_pid(auth: &JsValue, pid: &str, offset: &JsValue) -> JsValue;
    pub(crate) fn error(message: &str, data: &JsValue, description: &JsValue) -> JsValue;
    pub(crate) fn get(obj: &JsValue, key: &str) -> JsValue;
    pub(crate) fn set(obj: &JsValue, key: &str, value: &JsValue);
    /// `{ name }`, what engine.io-client calls a transport.
    pub(crate) fn transport(name: &str) -> JsValue;
    /// An object from `[k1, v1, …]`.
    #[wasm_bindgen(js_name = fromEntries)]
    pub(crate) fn from_entries(kv: &Array) -> JsValue;
    #[wasm_bindgen(js_name = encode)]
    pub(crate) fn encode_uri(s: &str) -> String;
    /// `[secure, host, key, namespace, query]` of an `io()` URL, or `undefined`.
    pub(crate) fn url(uri: &JsValue) -> JsValue;
    /// socket.io-client options as an array, in the order of `opts::Options::from_js`.
    pub(crate) fn opts(o: &JsValue) -> Array;
    /// Whether the page's last session reached WebSocket; with a value, records it.
    #[wasm_bindgen(js_name = priorWs)]
    pub(crate) fn prior_ws(value: Option<bool>) -> bool;
    /// Length of a JS string in UTF-16 units.
    pub(crate) fn len(s: &JsValue) -> f64;
    fn later(ms: f64, cb: &Callback) -> f64;
    fn cancel(id: f64);
    #[wasm_bindgen(js_name = wsOpen)]
    pub(crate) fn ws_open(url: &str, protocols: &JsValue, cb: &Callback) -> JsValue;
    #[wasm_bindgen(js_name = wsClose)]
    pub(crate) fn ws_close(ws: &JsValue);
    #[wasm_bindgen(js_name = wsSend)]
    pub(crate) fn ws_send(ws: &JsValue, data: &JsValue);
    pub(crate) fn request(
        method: &str,
        url: &str,
        body: &JsValue,
        headers: &JsValue,
        credentials: bool,
        cb: &JsValue,
        op: u32,
        after: &JsValue,
    ) -> JsValue;
    /// Cancels a request (`keep`: lets it finish, but its callback is never called).
    pub(crate) fn abort(controller: &JsValue, keep: bool);
    pub(crate) fn unblob(parts: &Array, cb: &Callback) -> JsValue;
    #[wasm_bindgen(js_name = isBlob)]
    pub(crate) fn is_blob(v: &JsValue) -> bool;
    /// The bytes of an `ArrayBuffer` or typed array.
    pub(crate) fn bytes(v: &JsValue) -> Vec<u8>;
    /// A new `ArrayBuffer` holding a copy of `b`.
    pub(crate) fn buffer(b: &[u8]) -> JsValue;

    /// The listeners of a socket or manager (glue.js `Emitter`); its JS object in the JS API.
    #[derive(Clone)]
    pub(crate) type Emitter;
    pub(crate) fn emitter() -> Emitter;
    /// Runs the listeners of a reserved event (`connect`, `open`, …).
    #[wasm_bindgen(method, js_name = _fire)]
    pub(crate) fn fire(this: &Emitter, event: &str, args: &Array);
    /// An incoming event `[name, ...args]`: catch-all listeners, then those of `name`.
    #[wasm_bindgen(method, js_name = _event)]
    pub(crate) fn event(this: &Emitter, args: &Array);
    /// An outgoing event `[name, ...args]`, for `onAnyOutgoing` listeners.
    #[wasm_bindgen(method, js_name = _out)]
    pub(crate) fn outgoing(this: &Emitter, args: &Array);
    #[wasm_bindgen(method)]
    pub(crate) fn on(this: &Emitter, event: &str, f: &JsValue);
    #[wasm_bindgen(method)]
    pub(crate) fn once(this: &Emitter, event: &str, f: &JsValue);
    #[wasm_bindgen(method)]
    pub(crate) fn off(this: &Emitter, event: &str);
    #[wasm_bindgen(method, js_name = onAny)]
    pub(crate) fn on_any(this: &Emitter, f: &JsValue);
    /// A JS function calling `f` with its arguments as one array.
    pub(crate) fn spread(f: &Closure<dyn Fn(Array)>) -> JsValue;
}

impl Array {
    /// `[a]`.
    pub(crate) fn of1(a: &JsValue) -> Array {
        let arr = Array::new();
        arr.push(a);
        arr
    }

    /// `[a, b]`.
    pub(crate) fn of2(a: &JsValue, b: &JsValue) -> Array {
        let arr = Array::of1(a);
        arr.push(b);
        arr
    }

    pub(crate) fn to_vec(&self) -> Vec<JsValue> {
        (0..self.length() as i32).map(|i| self.at(i)).collect()
    }
}

/// `msg` as an `Error` without data.
pub(crate) fn err(message: &str) -> JsValue {
    error(message, &JsValue::UNDEFINED, &JsValue::UNDEFINED)
}

/// A pending `setTimeout`; dropping it cancels the call.
pub(crate) struct Timer {
    id: f64,
    _cb: Callback,
}

impl Timer {
    /// Calls `f` once after `ms` milliseconds, unless the timer is dropped first.
    pub(crate) fn new(ms: f64, f: impl FnOnce() + 'static) -> Self {
        let mut f = Some(f);
        let cb = Callback::new(move |_, _| {
            if let Some(f) = f.take() {
                f();
            }
        });
        Self {
            id: later(ms, &cb),
            _cb: cb,
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        // Dropping the closure while it runs (a timer cancelling itself) is fine: wasm-bindgen
        // defers the free until the call returns.
        cancel(self.id);
    }
}
