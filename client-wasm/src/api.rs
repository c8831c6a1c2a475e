//! The Rust half of the JavaScript API (feature `js`). `js/index.js` defines `io`, `Manager`
//! and `Socket` with socket.io-client 4.8's names, options and return values, over the
//! functions exported here (a `Manager` is its core's number, a `Socket` an index on its
//! manager's core); listeners live in glue.js's `Emitter`.
//! Few exports, plain arguments: each exported method, and each call back into JS to read
//! an argument, costs glue in both the `.wasm` and the JS.

use wasm_bindgen::prelude::*;

use crate::engine::Target;
use crate::js::{self, Array, Handle};
use crate::manager::Mgr;
use crate::opts::Config;

// A JS `Manager` holds its core's number (glue.js `register`); the exports below find the
// core by it. No class: wasm-bindgen's class wrapper costs glue on both sides for each
// method, and its lifetime is the JS `Manager`'s anyway (index.js releases the core when the
// garbage collector takes the `Manager`, with `op::RELEASE`).

/// A manager for the server of `url` (glue.js `url`: `[secure, host, …]`) at `path` (a
/// string, or the default), its events going to `js`, with the numeric and boolean options
/// `opts`, by `opts::opt` index (glue.js `opts` makes them); returns its number. The options
/// of each session (query, headers, transports, …) are read from `js.opts` at each
/// (re)open. (JS values only: wasm-bindgen then passes them without JS glue.)
#[wasm_bindgen]
pub fn manager(js: JsValue, url: Array, path: JsValue, opts: JsValue) -> Handle {
    let cfg = Config::from_js(&opts);
    let host = url.at(1).as_string().unwrap_or_default();
    let target = Target::new(url.at(0).is_truthy(), host, path.as_string(), &cfg);
    let mgr = Mgr::new(cfg, JsValue::UNDEFINED, target, &js, false);
    // `opts.parser` of the JS `Manager`, read once as socket.io-client does.
    #[cfg(feature = "parser")]
    mgr.use_parser(&JsValue::UNDEFINED);
    mgr.h
}

/// The small calls of the JS classes, by [`op`](mod@op) code, on manager `h` or its socket `socket`
/// (for [`op::TUNE`]: the option index), with `value` where one is given. One export
/// instead of ten: each costs glue in both the `.wasm` and the JS.
#[wasm_bindgen]
pub fn op(h: Handle, code: u32, socket: usize, value: Option<f64>) -> JsValue {
    let Some(m) = Mgr::find(h) else {
        return JsValue::UNDEFINED;
    };
    let sock = || m.sock(socket);
    let out = match code {
        op::OPEN => {
            m.open();
            // With a value: `manager.open(callback)`, which handles its failure itself.
            m.st.borrow_mut().no_retry = value.is_some();
            JsValue::UNDEFINED
        }
        op::TUNE => m.tune(socket, value).into(),
        op::SESSION => {
            m.st.borrow()
                .engine
                .as_ref()
                .map_or(JsValue::UNDEFINED, |e| {
                    let session = Array::of1(e.sid());
                    session.push(&js::word(e.transport_word()));
                    session.push(&js::word(e.ready_state()));
                    session.into()
                })
        }
        op::CONNECT => {
            sock().inspect(|s| s.connect());
            JsValue::UNDEFINED
        }
        op::DISCONNECT => {
            sock().inspect(|s| s.disconnect());
            JsValue::UNDEFINED
        }
        _ => {
            m.release();
            JsValue::UNDEFINED
        }
    };
    m.settle();
    out
}

// The sockets: the JS `Socket` keeps its index on its manager (no class of its own).

/// The index of the socket of namespace `nsp` on manager `h`, made on first use with its
/// events going to `js`, `auth`, and the numeric options `opts` (`ackTimeout`, `retries`,
/// `maxBufferedEmits`) as for [`manager`].
#[wasm_bindgen]
pub fn socket(h: Handle, nsp: JsValue, js: JsValue, auth: JsValue, opts: JsValue) -> i32 {
    // (An `i32`: a `usize` comes back through a JS wrapper that makes it unsigned.)
    Mgr::find(h).map_or(0, |m| {
        m.socket(&nsp, &Config::from_js(&opts), &auth, &js) as i32
    })
}

/// The codes of [`op()`]; `js/index.js` has them by name in `OP` (the test below
/// checks that both agree).
pub mod op {
    /// Opens the connection (with a value: for a callback, which takes the place of the
    /// reconnection if it fails).
    pub const OPEN: u32 = 0;
    /// Reads, or with a value changes, option number `socket` (an `opts::opt` index).
    pub const TUNE: u32 = 1;
    /// The Engine.IO session: `[id, transport, readyState]` (the id undefined until the
    /// handshake, the transport `"polling"` or `"websocket"`, the state `"opening"` or
    /// `"open"`), or undefined between sessions.
    pub const SESSION: u32 = 2;
    /// The socket joins its namespace.
    pub const CONNECT: u32 = 3;
    /// The socket leaves its namespace.
    pub const DISCONNECT: u32 = 4;
    /// The JS `Manager` is gone: the core ends once idle (any code past the others).
    pub const RELEASE: u32 = 5;
}

#[cfg(test)]
mod tests {
    /// `OP` in js/index.js names the codes of [`super::op`] the same way.
    #[test]
    fn index_js_agrees_on_the_op_codes() {
        let js = include_str!("../js/index.js");
        let table = js
            .split_once("const OP = {")
            .and_then(|(_, rest)| rest.split_once('}'))
            .map(|(t, _)| t)
            .expect("index.js defines `const OP = { … }`");
        let expected = [
            ("open", super::op::OPEN),
            ("tune", super::op::TUNE),
            ("session", super::op::SESSION),
            ("connect", super::op::CONNECT),
            ("disconnect", super::op::DISCONNECT),
            ("release", super::op::RELEASE),
        ];
        let mut found = alloc::vec::Vec::new();
        for entry in table.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, code) = entry.split_once(':').expect("`name: code` entries");
            found.push((name.trim(), code.trim().parse::<u32>().expect("a number")));
        }
        assert_eq!(found, expected);
    }
}
