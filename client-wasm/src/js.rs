//! The browser, as sio-client sees it: bindings to `js/glue.js` and a few globals.
//!
//! Every callback from the browser into Rust is a [`Callback`], `(kind, value)`: one closure
//! type means one piece of generated glue, whatever the event source.

use js_sys::{Array, Function, JsString};
use wasm_bindgen::prelude::*;

/// A browser callback into Rust: `kind` says what happened, `value` carries the data.
pub(crate) type Callback = Closure<dyn FnMut(u32, JsValue)>;

#[wasm_bindgen(module = "/js/glue.js")]
extern "C" {
    pub(crate) fn stringify(value: &JsValue, bins: &Array) -> JsString;
    pub(crate) fn parse(text: &JsValue, from: u32, bins: &JsValue) -> JsValue;
    pub(crate) fn call(f: &Function, this: &JsValue, args: &Array);
    #[wasm_bindgen(js_name = ackFn)]
    pub(crate) fn ack_fn(cb: &Callback, id: f64) -> Function;
    pub(crate) fn auth(f: &JsValue, cb: &Callback);
    pub(crate) fn cached(id: &str) -> JsValue;
    pub(crate) fn cache(id: &str, manager: &JsValue);
    pub(crate) fn error(message: &str, data: &JsValue, description: &JsValue) -> JsValue;
    fn later(ms: f64, cb: &Callback) -> f64;
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
    pub(crate) fn abort(controller: &JsValue);
    pub(crate) fn unblob(parts: &Array, cb: &Callback) -> JsValue;
    pub(crate) fn base() -> JsValue;
    #[wasm_bindgen(js_name = isBlob)]
    pub(crate) fn is_blob(v: &JsValue) -> bool;
    /// The bytes of an `ArrayBuffer` or typed array.
    pub(crate) fn bytes(v: &JsValue) -> js_sys::Uint8Array;
    #[wasm_bindgen(js_name = cancel)]
    fn clear_timeout(id: f64);
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
        clear_timeout(self.id);
    }
}

/// `Date.now()`.
pub(crate) fn now() -> f64 {
    js_sys::Date::now()
}

/// `obj[key]`, or `undefined` when `obj` is not an object.
pub(crate) fn get(obj: &JsValue, key: &str) -> JsValue {
    if obj.is_object() || obj.is_function() {
        js_sys::Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}
