//! The browser, as sio-client sees it: bindings to `js/glue.js` and a few globals.
//!
//! No js-sys or web-sys, measured (`scripts/size-report.sh`, gzip, 2026-12-02):
//! - js-sys for the nine `Array`, `Date.now` and `Math.random` calls below, with the same
//!   JS methods: +499 B. Linking js-sys keeps its futures task runtime and a closure
//!   invoker alive in the `.wasm`, whatever is called.
//! - web-sys for WebSocket, fetch and timers: each browser event would need a wasm-bindgen
//!   `Closure`, and the closure runtime is what the single `dispatch` export removed
//!   (with the class wrapper: −779 B). glue.js wires a WebSocket's four events, a fetch's
//!   outcome or a timer in one call each, and they call back `dispatch(manager, kind, value)`.
//!
//! Every callback from the browser into Rust is one call of that export, whatever the event
//! source: no closures, so no closure runtime in the bundle.

use alloc::string::String;
use alloc::vec::Vec;

use wasm_bindgen::prelude::*;

/// A manager's number in glue.js: the browser's callbacks name their manager by it, and its
/// events find their JS objects by it.
pub(crate) type Handle = i32;

/// The JS object events go to, by [`target`]: the manager's, its engine's, or a socket's
/// (its index).
pub(crate) const MANAGER: i32 = -1;
pub(crate) const ENGINE: i32 = -2;

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
    /// pushed to `bins` (an `Array`; undefined: no placeholders, as `JSON.stringify`).
    pub(crate) fn json(data: &JsValue, bins: &JsValue) -> JsValue;
    /// The UTF-8 `head` + the JS string `body`.
    pub(crate) fn concat(head: &[u8], body: &JsValue) -> JsValue;
    /// The JSON value in `text`, binary placeholders replaced by `bins`; `undefined` when it
    /// is not JSON.
    pub(crate) fn parse(text: &JsValue, bins: &JsValue) -> JsValue;
    /// A number for a new manager whose events go to `obj` (held weakly); its sockets'
    /// objects go in [`bind_socket`].
    pub(crate) fn register(obj: &JsValue) -> Handle;
    /// The function the browser's callbacks go to: the module's `dispatch` export (the JS
    /// API's module sets it itself).
    #[wasm_bindgen(js_name = setDispatch)]
    pub(crate) fn set_dispatch(f: &JsValue);
    /// How glue.js holds the JS objects of `h` (a [`hold`] code).
    pub(crate) fn root(h: Handle, how: i32);
    /// The JS object of `target` ([`MANAGER`], [`ENGINE`] or a socket index), if alive.
    pub(crate) fn target(h: Handle, target: i32) -> JsValue;
    /// A new session: a new object for its [`ENGINE`] events.
    pub(crate) fn renew(h: Handle);
    /// Makes `obj` the object of socket `i`'s events, for namespace `nsp`: glue.js keeps
    /// the socket's acks and buffers there, by its options `ackTimeout` (NaN: none),
    /// `retries` and `maxBufferedEmits`, and sends its packets back as `(kind, [frames,
    /// args, flags])` (`socket::send`).
    #[wasm_bindgen(js_name = bindSocket)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn bind_socket(
        h: Handle,
        i: i32,
        obj: &JsValue,
        nsp: &JsValue,
        kind: i32,
        ack_timeout: f64,
        retries: f64,
        max_buffered: f64,
    );
    /// Whether socket `i` follows its manager (`socket.active`).
    pub(crate) fn active(h: Handle, i: i32, active: bool);
    /// Socket `i` joined its namespace as `sid`, the session `pid` (a string with
    /// connection state recovery): its buffers go, then `connect`.
    pub(crate) fn connected(h: Handle, i: i32, sid: &JsValue, pid: &JsValue);
    /// An EVENT for socket `i` (`[name, ...args]`), asking for ack `id` unless `None`:
    /// fired, or kept until the socket is connected.
    pub(crate) fn incoming(h: Handle, i: i32, data: &JsValue, id: Option<f64>);
    /// The server's answer to ack `id` of socket `i`.
    pub(crate) fn acked(h: Handle, i: i32, id: f64, args: &JsValue);
    /// Socket `i` left its namespace: `disconnect`, and the acks that can no longer come
    /// fail.
    pub(crate) fn closed(h: Handle, i: i32, reason: &JsValue, description: &JsValue);
    /// Emits `[event, ...args]` on the socket object `s` (glue.js `send`), as the JS API's
    /// `emit` does: `ack` (a function, or undefined) gets the answer, error-first with
    /// `with_error`; `ms` is this emit's ack timeout (NaN: the socket's).
    #[cfg_attr(feature = "js", allow(dead_code))]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send(
        s: &JsValue,
        event: &JsValue,
        args: &Array,
        ack: &JsValue,
        with_error: i32,
        volatile: i32,
        ms: f64,
    );
    /// `[id, recovered]` of socket `i` (the id undefined while disconnected).
    #[cfg_attr(feature = "js", allow(dead_code))]
    pub(crate) fn info(h: Handle, i: i32) -> Array;
    /// Whether `data` is what an EVENT packet carries: `[name, ...args]`, the name a number
    /// or a string that is not reserved.
    #[wasm_bindgen(js_name = isEvent)]
    pub(crate) fn is_event(data: &JsValue) -> bool;
    /// Whether `name` is reserved (`connect`, `disconnect`, …): pages cannot emit it.
    pub(crate) fn reserved(name: &str) -> bool;
    /// Calls the `auth` function `f`; what it passes back comes back as `(kind, data)`.
    pub(crate) fn auth(f: &JsValue, h: Handle, kind: i32);

    /// The CONNECT payload of socket `i`: `auth`, with the session to recover (`pid`,
    /// `offset`) merged in when there is one.
    #[wasm_bindgen(js_name = withPid)]
    pub(crate) fn with_pid(auth: &JsValue, h: Handle, i: i32) -> JsValue;
    /// An `Error` with `message`, and `data` unless undefined.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn error(message: &str, data: &JsValue) -> JsValue;
    /// An `Error` whose message is [`word`] `w`.
    #[wasm_bindgen(js_name = fail)]
    pub(crate) fn err(w: i32) -> JsValue;
    /// engine.io-client's `TransportError` for the reason [`word`] `w` (`"xhr poll
    /// error"`, …).
    #[wasm_bindgen(js_name = transportError)]
    pub(crate) fn transport_error(w: i32, description: &JsValue) -> JsValue;
    /// The details of a `"transport close"`: `{ description, context }`, the description
    /// [`word`] `w`.
    pub(crate) fn details(w: i32, context: &JsValue) -> JsValue;
    /// The string [`word`] `w`.
    pub(crate) fn word(w: i32) -> JsValue;
    /// The `Error` of a CONNECT_ERROR packet's payload: `{ message, data }` or a message.
    #[wasm_bindgen(js_name = connectError)]
    pub(crate) fn connect_error(payload: &JsValue) -> JsValue;
    /// The engine options of `h`'s JS `Manager` as they are now (`manager.opts`): `[query
    /// (encoded), extraHeaders, protocols, the numbers of glue.js \`opts\`]`; undefined for a
    /// manager without one (the Rust API's).
    #[wasm_bindgen(js_name = engineOpts)]
    pub(crate) fn engine_opts(h: Handle) -> JsValue;
    /// Item `i` of the array `a` as a number (NaN when it is not one): fewer calls than
    /// `at` and `as_f64`.
    pub(crate) fn nth(a: &Array, i: i32) -> f64;
    /// The URL of a transport (`ws` 1: WebSocket's, 0: polling's) on `base` (`host/path/`),
    /// over TLS when `secure` is 1, with the session id `sid` and `query` unless undefined.
    pub(crate) fn endpoint(
        secure: i32,
        base: &JsValue,
        query: &JsValue,
        ws: i32,
        sid: &JsValue,
    ) -> JsValue;
    /// `url` with the session id `sid`.
    #[wasm_bindgen(js_name = addSid)]
    #[cfg(feature = "polling")]
    pub(crate) fn add_sid(url: &JsValue, sid: &JsValue) -> JsValue;
    /// The Engine.IO packet type (0–6) of a text frame; -1 when it is not one.
    #[wasm_bindgen(js_name = frameType)]
    pub(crate) fn frame_type(frame: &JsValue) -> i32;
    /// The handshake of an open packet: `[sid, pingInterval, pingTimeout, maxPayload,
    /// whether WebSocket is offered]`, the sid undefined when the packet has none.
    pub(crate) fn handshake(frame: &JsValue) -> Array;
    /// The Socket.IO packet in a message frame (`4…`): `[type, nsp, id, attachments, JSON
    /// text]` (id undefined without one, text `""` without a body), or undefined when it
    /// is malformed, by the rules of sio-protocol's `socket::decode`.
    pub(crate) fn decode(frame: &JsValue) -> JsValue;
    /// The frames of a Socket.IO packet of `type` (its digit's value): the message frame,
    /// then the binary attachments that the JSON of `data` has placeholders for (events and
    /// acks only: elsewhere, a CONNECT's auth, binary goes as `JSON.stringify` has it, as in
    /// socket.io-client). Events and acks with attachments become their binary types.
    pub(crate) fn packet(kind: i32, nsp: &JsValue, id: Option<f64>, data: &JsValue) -> Array;
    /// The records of a polling payload: text packets as strings, binary ones as
    /// `ArrayBuffer`s, undefined for a binary one whose base64 is malformed.
    pub(crate) fn records(body: &JsValue) -> Array;
    /// A polling payload of `frames` (JS strings, buffers or views).
    #[cfg(feature = "polling")]
    pub(crate) fn payload(frames: &Array) -> JsValue;
    /// Property [`word`] `w` of `obj` (undefined for null and undefined).
    pub(crate) fn get(obj: &JsValue, w: i32) -> JsValue;
    /// Sets property [`word`] `w` of `obj`.
    pub(crate) fn set(obj: &JsValue, w: i32, value: &JsValue);
    /// `{ name: <word w> }`, what engine.io-client calls a transport.
    #[wasm_bindgen(js_name = transportNamed)]
    pub(crate) fn transport_named(w: i32) -> JsValue;
    /// An object from `[k1, v1, …]`.
    #[wasm_bindgen(js_name = fromEntries)]
    pub(crate) fn from_entries(kv: &Array) -> JsValue;
    #[wasm_bindgen(js_name = encode)]
    pub(crate) fn encode_uri(s: &str) -> String;
    /// `[secure, host, key, namespace, query]` of an `io()` URL, or `undefined`.
    pub(crate) fn url(uri: &JsValue) -> JsValue;
    /// Whether the page's last session reached WebSocket; with `value` 0 or 1 (not -1),
    /// records it. (Numbers, not `Option<bool>`: the import then needs no JS wrapper.)
    #[wasm_bindgen(js_name = priorWs)]
    pub(crate) fn prior_ws(value: i32) -> bool;
    /// The size of a frame in a polling payload: UTF-8 bytes of a text packet, `b` + base64
    /// of a binary one.
    pub(crate) fn len(s: &JsValue) -> f64;
    fn later(ms: f64, h: Handle, kind: i32, value: f64) -> f64;
    /// Calls back `(kind)` on the browser's next `offline` event (`kind` 0: no longer).
    #[wasm_bindgen(js_name = onOffline)]
    pub(crate) fn on_offline(h: Handle, kind: i32);
    fn cancel(id: f64);
    #[wasm_bindgen(js_name = wsOpen)]
    /// A WebSocket whose events come back as `(kind + ev, value)` (`kind::Ev`).
    pub(crate) fn ws_open(url: &JsValue, protocols: &JsValue, h: Handle, kind: i32) -> JsValue;
    #[wasm_bindgen(js_name = wsClose)]
    pub(crate) fn ws_close(ws: &JsValue);
    #[wasm_bindgen(js_name = wsSend)]
    pub(crate) fn ws_send(ws: &JsValue, data: &JsValue);
    /// A `fetch` of `url`: a POST of `body`, or a GET when it is undefined; `flags` 1 sends
    /// cookies cross-origin, 2 adds a cache-busting `t` parameter. Its outcome comes back as
    /// `(kind + Ev::Data, text)` or `(kind + Ev::Error, status or error)` (handle 0:
    /// nowhere); it starts once
    /// `after` (a request) is done. Returns what `abort` takes.
    pub(crate) fn request(
        url: &JsValue,
        body: &JsValue,
        headers: &JsValue,
        flags: i32,
        h: Handle,
        kind: i32,
        after: &JsValue,
    ) -> JsValue;
    /// Cancels a request (`keep`: lets it finish, but its callback is never called).
    pub(crate) fn abort(controller: &JsValue, keep: i32);
    /// Reads the Blobs among `parts`; they come back as `(kind + Ev::Data, parts)`.
    pub(crate) fn unblob(parts: &Array, h: Handle, kind: i32) -> JsValue;
    #[wasm_bindgen(js_name = isBlob)]
    pub(crate) fn is_blob(v: &JsValue) -> bool;

    /// The listeners of a socket or manager (glue.js `Emitter`); its JS object in the JS API.
    #[derive(Clone)]
    pub(crate) type Emitter;
    pub(crate) fn emitter() -> Emitter;
    /// Runs the listeners of `event` (an [`event`] code) of `target` with its arguments, of
    /// which it takes as many as it has.
    pub(crate) fn fire(h: Handle, target: i32, event: i32, a: &JsValue, b: &JsValue);
    #[wasm_bindgen(method)]
    pub(crate) fn on(this: &Emitter, event: &str, f: &JsValue);
    #[wasm_bindgen(method)]
    pub(crate) fn once(this: &Emitter, event: &str, f: &JsValue);
    #[wasm_bindgen(method)]
    pub(crate) fn off(this: &Emitter, event: &str);
    #[wasm_bindgen(method, js_name = onAny)]
    pub(crate) fn on_any(this: &Emitter, f: &JsValue);
    /// Whether `target` has listeners for `event` (-1: for any), so that building their
    /// argument is worth it.
    pub(crate) fn listens(h: Handle, target: i32, event: i32) -> bool;
    /// engine.io-client's `upgradeError` of a failed probe of transport `w` (a word).
    #[wasm_bindgen(js_name = probeError)]
    pub(crate) fn probe_error(w: i32) -> JsValue;
    /// A decoded Socket.IO packet as the Manager's `packet` event has it.
    #[wasm_bindgen(js_name = sioPacket)]
    pub(crate) fn sio_packet(kind: i32, nsp: &JsValue, id: Option<f64>, data: &JsValue) -> JsValue;
    /// A JS function calling `f` (a Rust closure taking an `Array`) with its arguments as
    /// one array.
    pub(crate) fn spread(f: &JsValue) -> JsValue;
}

/// WebTransport (feature `webtransport`): driven as a WebSocket, with [`ws_send`] and
/// [`ws_close`].
#[cfg(feature = "webtransport")]
#[wasm_bindgen(module = "/js/glue.js")]
extern "C" {

    /// A WebTransport session to `https://<base>` (with the browser options `options`) and
    /// its stream, which starts with the open packet (with `sid`, an upgrade of that
    /// session); its events come back as a WebSocket's, `(kind + ev, value)`.
    #[wasm_bindgen(js_name = wtOpen)]
    pub(crate) fn wt_open(
        base: &JsValue,
        options: &JsValue,
        sid: &JsValue,
        h: Handle,
        kind: i32,
    ) -> JsValue;
}

/// A custom parser (feature `parser`, socket.io-client's `parser` option): glue.js keeps its
/// encoder and decoder on the manager's JS object, and the core hands them its packets.
#[cfg(feature = "parser")]
#[wasm_bindgen(module = "/js/glue.js")]
extern "C" {
    /// Gives manager `h` the parser `parser` (`{ Encoder, Decoder }`), or its JS `Manager`'s
    /// `opts.parser` when undefined; false when it has none.
    #[wasm_bindgen(js_name = parserInit)]
    pub(crate) fn parser_init(h: Handle, parser: &JsValue) -> bool;
    /// Drops what the decoder of `h` holds of an incomplete packet (`destroy`).
    #[wasm_bindgen(js_name = parserReset)]
    pub(crate) fn parser_reset(h: Handle);
    /// The frames the encoder of `h` makes of a packet (text frames with their `4`).
    #[wasm_bindgen(js_name = encodeWith)]
    pub(crate) fn encode_with(
        h: Handle,
        kind: i32,
        nsp: &JsValue,
        id: Option<f64>,
        data: &JsValue,
    ) -> Array;
    /// The packets the decoder of `h` completes with a message frame: `[type, nsp, id,
    /// data]` each (the id undefined without one), or undefined on a parse error.
    #[wasm_bindgen(js_name = decodeWith)]
    pub(crate) fn decode_with(h: Handle, frame: &JsValue) -> JsValue;
}

impl Array {
    /// `[a]`.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn of1(a: &JsValue) -> Array {
        let arr = Array::new();
        arr.push(a);
        arr
    }

    pub(crate) fn to_vec(&self) -> Vec<JsValue> {
        (0..self.length() as i32).map(|i| self.at(i)).collect()
    }
}

/// The reserved events the client fires, by code (glue.js `EVENTS` has their names and
/// argument counts).
pub(crate) mod event {
    pub(crate) const OPEN: i32 = 0;
    pub(crate) const ERROR: i32 = 1;
    pub(crate) const CLOSE: i32 = 2;
    pub(crate) const PING: i32 = 3;
    pub(crate) const RECONNECT_ATTEMPT: i32 = 4;
    pub(crate) const RECONNECT: i32 = 5;
    pub(crate) const RECONNECT_ERROR: i32 = 6;
    pub(crate) const RECONNECT_FAILED: i32 = 7;
    pub(crate) const UPGRADE: i32 = 8;
    // (CONNECT, DISCONNECT: glue.js fires them, `connected` and `closed`.)
    #[allow(dead_code)]
    pub(crate) const CONNECT: i32 = 9;
    pub(crate) const CONNECT_ERROR: i32 = 10;
    #[allow(dead_code)]
    pub(crate) const DISCONNECT: i32 = 11;
    pub(crate) const UPGRADING: i32 = 12;
    pub(crate) const UPGRADE_ERROR: i32 = 13;
    /// The engine's write buffer is empty (glue.js fires it on the next tick, as
    /// engine.io-client does for a WebSocket).
    pub(crate) const DRAIN: i32 = 14;
    /// A decoded Socket.IO packet (the Manager's).
    pub(crate) const PACKET: i32 = 15;
    /// An incoming event `[name, ...args]`: catch-all listeners, then those of `name`.
    /// (glue.js fires them itself, `incoming`.)
    #[allow(dead_code)]
    pub(crate) const INCOMING: i32 = 16;
    /// An outgoing event `[name, ...args]`, for `onAnyOutgoing` listeners.
    pub(crate) const OUTGOING: i32 = 17;
    /// A frame received: the engine's `packet`, then `heartbeat` (glue.js makes the packet
    /// from the frame, if anyone listens).
    pub(crate) const FRAME_IN: i32 = 18;
    /// A frame sent: the engine's `packetCreate`.
    pub(crate) const FRAME_OUT: i32 = 19;
}

/// The strings the core passes to JS, by their index in glue.js `WORDS` (no string data in
/// the .wasm, and none copied out of it).
pub(crate) mod word {
    pub(crate) const TRANSPORT_CLOSE: i32 = 0;
    pub(crate) const TRANSPORT_ERROR: i32 = 1;
    pub(crate) const PING_TIMEOUT: i32 = 2;
    pub(crate) const FORCED_CLOSE: i32 = 3;
    pub(crate) const PARSE_ERROR: i32 = 4;
    pub(crate) const IO_SERVER_DISCONNECT: i32 = 5;
    pub(crate) const IO_CLIENT_DISCONNECT: i32 = 6;
    pub(crate) const SERVER_ERROR: i32 = 7;
    pub(crate) const TIMEOUT: i32 = 8;
    pub(crate) const V2: i32 = 9;
    pub(crate) const WS_ERROR: i32 = 10;
    pub(crate) const POLL_ERROR: i32 = 11;
    pub(crate) const POST_ERROR: i32 = 12;
    pub(crate) const WS_CLOSED: i32 = 13;
    pub(crate) const CLOSED_BY_SERVER: i32 = 14;
    pub(crate) const CONNECTION_LOST: i32 = 15;
    pub(crate) const WEBSOCKET: i32 = 16;
    pub(crate) const POLLING: i32 = 17;
    pub(crate) const OPENING: i32 = 18;
    pub(crate) const OPEN: i32 = 19;
    pub(crate) const CLOSED: i32 = 20;
    pub(crate) const AUTH: i32 = 21;
    pub(crate) const SID: i32 = 22;
    pub(crate) const PID: i32 = 23;
    pub(crate) const PING_PROBE: i32 = 24;
    pub(crate) const PONG_PROBE: i32 = 25;
    pub(crate) const UPGRADE: i32 = 26;
    pub(crate) const PONG: i32 = 27;
    #[cfg_attr(not(feature = "polling"), allow(dead_code))]
    pub(crate) const CLOSE: i32 = 28;
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    pub(crate) const MESSAGE: i32 = 29;
    #[cfg(feature = "webtransport")]
    pub(crate) const WEBTRANSPORT: i32 = 30;
    #[cfg(feature = "webtransport")]
    pub(crate) const WT_ERROR: i32 = 31;
}

/// How glue.js holds a manager's JS objects ([`root`]).
pub(crate) mod hold {
    /// Weakly: the page may let go of them.
    pub(crate) const WEAK: i32 = 0;
    /// Strongly: the manager is busy, and its listeners must stay.
    pub(crate) const STRONG: i32 = 1;
    /// Not at all: the manager is gone, and so is its callback.
    pub(crate) const GONE: i32 = 2;
}

/// A pending `setTimeout`; dropping it cancels the call.
pub(crate) struct Timer(f64);

impl Timer {
    /// Calls back `(kind, value)` on `h` once after `ms` milliseconds, unless the timer is
    /// dropped first. Timers call back through `dispatch` like every browser event rather
    /// than with a closure each: no allocation per timer, and one piece of glue for all.
    pub(crate) fn new(ms: f64, h: Handle, kind: i32, value: f64) -> Self {
        Timer(later(ms, h, kind, value))
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        cancel(self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::{event, word};

    /// glue.js `WORDS` has the strings of the [`word`] codes.
    #[test]
    fn glue_js_has_the_words_of_these_codes() {
        let list = crate::js_source::GLUE
            .split_once("const WORDS =")
            .and_then(|(_, rest)| rest.split_once('"'))
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(list, _)| list)
            .expect("glue.js declares `const WORDS = \"…\"`");
        let words: alloc::vec::Vec<&str> = list.split('|').collect();
        let expected = [
            (word::TRANSPORT_CLOSE, "transport close"),
            (word::TRANSPORT_ERROR, "transport error"),
            (word::PING_TIMEOUT, "ping timeout"),
            (word::FORCED_CLOSE, "forced close"),
            (word::PARSE_ERROR, "parse error"),
            (word::IO_SERVER_DISCONNECT, "io server disconnect"),
            (word::IO_CLIENT_DISCONNECT, "io client disconnect"),
            (word::SERVER_ERROR, "server error"),
            (word::TIMEOUT, "timeout"),
            (
                word::V2,
                "It seems you are trying to reach a Socket.IO server in v2.x with a v3.x client, but they are not compatible (more information here: https://socket.io/docs/v3/migrating-from-2-x-to-3-0/)",
            ),
            (word::WS_ERROR, "websocket error"),
            (word::POLL_ERROR, "xhr poll error"),
            (word::POST_ERROR, "xhr post error"),
            (word::WS_CLOSED, "websocket connection closed"),
            (word::CLOSED_BY_SERVER, "transport closed by the server"),
            (word::CONNECTION_LOST, "network connection lost"),
            (word::WEBSOCKET, "websocket"),
            (word::POLLING, "polling"),
            (word::OPENING, "opening"),
            (word::OPEN, "open"),
            (word::CLOSED, "closed"),
            (word::AUTH, "auth"),
            (word::SID, "sid"),
            (word::PID, "pid"),
            (word::PING_PROBE, "2probe"),
            (word::PONG_PROBE, "3probe"),
            (word::UPGRADE, "5"),
            (word::PONG, "3"),
            (word::CLOSE, "1"),
            (word::MESSAGE, "message"),
        ];
        assert_eq!(words.len(), expected.len());
        for (code, text) in expected {
            assert_eq!(words[code as usize], text, "word {code}");
        }
        #[cfg(feature = "webtransport")]
        {
            let wt = crate::js_source::GLUE
                .split_once("const WT_WORDS = \"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(list, _)| list)
                .expect("glue.js declares `const WT_WORDS = \"…\"`");
            let wt: alloc::vec::Vec<&str> = wt.split('|').collect();
            let at = |w: i32| wt[w as usize - words.len()];
            assert_eq!(at(word::WEBTRANSPORT), "webtransport");
            assert_eq!(at(word::WT_ERROR), "webtransport error");
        }
    }

    /// glue.js `EVENTS` names the reserved events by their [`event`] codes.
    #[test]
    fn glue_js_names_the_events_by_these_codes() {
        let names = [
            (event::OPEN, "open"),
            (event::ERROR, "error"),
            (event::CLOSE, "close"),
            (event::PING, "ping"),
            (event::RECONNECT_ATTEMPT, "reconnect_attempt"),
            (event::RECONNECT, "reconnect"),
            (event::RECONNECT_ERROR, "reconnect_error"),
            (event::RECONNECT_FAILED, "reconnect_failed"),
            (event::UPGRADE, "upgrade"),
            (event::CONNECT, "connect"),
            (event::CONNECT_ERROR, "connect_error"),
            (event::DISCONNECT, "disconnect"),
            (event::UPGRADING, "upgrading"),
            (event::UPGRADE_ERROR, "upgradeError"),
            (event::DRAIN, "drain"),
            (event::PACKET, "packet"),
        ];
        let glue = crate::js_source::words(crate::js_source::GLUE, "EVENTS");
        assert_eq!(
            glue.len(),
            event::INCOMING as usize,
            "the codes past the names are INCOMING, OUTGOING"
        );
        for (code, name) in names {
            assert_eq!(glue[code as usize], name, "event {code}");
        }
    }
}

/// glue.js reads and writes the client's text packets (so that they stay JS strings); these
/// tests hold it to sio-protocol's codec, the one definition of the format, in the browser
/// (`wasm-pack test`): both must take and refuse the same frames, and read them alike.
#[cfg(all(test, target_arch = "wasm32"))]
mod glue_codec_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use alloc::string::String;

    use sio_protocol::socket::{self, PacketType};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

    use super::{Array, decode, nth, packet};

    wasm_bindgen_test_configure!(run_in_browser);

    /// xorshift64: the same frames in every run.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// What each part of a frame is drawn from, in order (type, attachments, namespace, id,
    /// body, trailer): well-formed parts, empty ones, and what breaks them (control
    /// characters, huge numbers, stray separators, non-ASCII), so that frames are taken
    /// and refused for every reason.
    const PARTS: &[&[&str]] = &[
        &["0", "1", "2", "3", "4", "5", "6", "7", "x", ""],
        &[
            "",
            "",
            "1-",
            "2-",
            "0-",
            "-",
            "12",
            "4294967295-",
            "4294967296-",
            "1-1-",
        ],
        &[
            "", "", "/chat", "/a,", "/chat,", "/", "/\x1e,", "/\0,", "/é,", ",",
        ],
        &[
            "",
            "",
            "0",
            "12",
            "9007199254740991",
            "9007199254740992",
            "99999999999999999999",
        ],
        &[
            "",
            "",
            "[\"ev\",1]",
            "[1]",
            "[-2]",
            "[]",
            "[ \t\"a\"]",
            "{}",
            " {\"a\":1}",
            "\"x\"",
            "null",
            "\x0b[1]",
            "[{\"_placeholder\":true,\"num\":0}]",
            "[\"💬\"]",
        ],
        &["", "", "", "]", ",", "\x1e", "é", "1"],
    ];

    fn frame(rng: &mut Rng) -> String {
        let mut f = String::from("4");
        for part in PARTS {
            f.push_str(part[rng.below(part.len())]);
        }
        f
    }

    #[wasm_bindgen_test]
    fn glue_decodes_as_sio_protocol() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut taken, mut refused) = (0, 0);
        for _ in 0..30_000 {
            let f = frame(&mut rng);
            let ours = decode(&JsValue::from_str(&f));
            match socket::decode(&f[1..]) {
                Err(_) => {
                    assert!(
                        ours.is_undefined(),
                        "glue.js takes {f:?}, sio-protocol refuses it"
                    );
                    refused += 1;
                }
                Ok(p) => {
                    assert!(
                        !ours.is_undefined(),
                        "glue.js refuses {f:?}, sio-protocol takes it"
                    );
                    let a: Array = ours.unchecked_into();
                    assert_eq!(
                        nth(&a, 0),
                        f64::from(p.kind.digit() - b'0'),
                        "type of {f:?}"
                    );
                    assert_eq!(a.at(1).as_string().as_deref(), Some(p.nsp), "nsp of {f:?}");
                    assert_eq!(a.at(2).as_f64(), p.id.map(|id| id as f64), "id of {f:?}");
                    assert_eq!(nth(&a, 3), p.attachments as f64, "attachments of {f:?}");
                    assert_eq!(
                        a.at(4).as_string().as_deref(),
                        Some(p.data),
                        "data of {f:?}"
                    );
                    taken += 1;
                }
            }
        }
        // The generator reaches both outcomes often, or this test would prove little.
        assert!(
            taken > 1_000 && refused > 1_000,
            "{taken} taken, {refused} refused"
        );
    }

    #[wasm_bindgen_test]
    fn glue_writes_what_sio_protocol_reads() {
        let kinds = [
            PacketType::Connect,
            PacketType::Disconnect,
            PacketType::Event,
            PacketType::Ack,
            PacketType::ConnectError,
        ];
        let bodies = [
            JsValue::UNDEFINED,
            js_json("[\"ev\",1,\"é💬\"]"),
            js_json("{\"token\":\"a,b\"}"),
            js_json("\"denied\""),
        ];
        for kind in kinds {
            for nsp in ["/", "/chat", "/a/b-c"] {
                for id in [None, Some(0.0), Some(42.0), Some(9_007_199_254_740_991.0)] {
                    for data in &bodies {
                        let frames = packet(i32::from(kind.digit() - b'0'), &nsp.into(), id, data);
                        let text = frames.at(0).as_string().expect("a text frame");
                        let Ok(p) = socket::decode(&text[1..]) else {
                            // A body of the wrong shape for its type is refused by the reader.
                            continue;
                        };
                        assert_eq!((p.kind, p.nsp), (kind, nsp), "{text:?}");
                        assert_eq!(p.id.map(|id| id as f64), id, "{text:?}");
                        let want = super::json(data, &JsValue::UNDEFINED);
                        assert_eq!(Some(p.data), want.as_string().as_deref(), "{text:?}");
                    }
                }
            }
        }
        // Binary leaves become attachments of a binary event.
        let args = Array::new();
        args.push(&JsValue::from_str("up"));
        args.push(&js_sys::Uint8Array::from(&[1u8, 2, 3][..]));
        let frames = packet(2, &"/up".into(), Some(3.0), &args);
        let text = frames.at(0).as_string().expect("a text frame");
        let p = socket::decode(&text[1..]).expect("sio-protocol reads it");
        assert_eq!(
            (p.kind, p.attachments, p.nsp, p.id),
            (PacketType::BinaryEvent, 1, "/up", Some(3))
        );
        assert_eq!(frames.length(), 2);
    }

    fn js_json(text: &str) -> JsValue {
        super::parse(&JsValue::from_str(text), &JsValue::UNDEFINED)
    }
}
