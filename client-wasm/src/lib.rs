//! A Socket.IO client for the browser, in Rust compiled to WebAssembly.
//!
//! Web pages use it like `socket.io-client` 4.8 (`io(url, opts)`, `socket.on`,
//! `socket.emit`, …): see `client-wasm/README.md` and the TypeScript types in
//! `client-wasm/js/sio_client.d.ts`. Rust front-ends use the API of this crate:
//!
//! ```no_run
//! use sio_client::{io, Options};
//! use wasm_bindgen::JsValue;
//!
//! let socket = io("http://127.0.0.1:3000/chat", Options::default()).expect("a valid URL");
//! socket.on("chat message", |args: &[JsValue]| {
//!     let _text = args.first().and_then(JsValue::as_string);
//! });
//! socket.emit("chat message", &[JsValue::from_str("hi")]);
//! ```
//!
//! Features: `websocket` and `polling` (the transports, both on by default), `js` (the Rust
//! half of the JS API, for the shipped bundle), `serde` (Rust values as event arguments:
//! `Socket::emit_serde`, `on_serde`, `emit_with_ack_serde`, through serde-wasm-bindgen, binary
//! included), `parser` (socket.io-client's `parser` option, `Options::parser`: a JS parser
//! object such as npm's `socket.io-msgpack-parser`).
//!
//! Inside: [`Manager`] owns one Engine.IO session (`engine`, over `transport`s) and
//! reconnects it; each [`Socket`] is one namespace on it. Every packet is framed by
//! `sio-protocol`; JSON goes through the browser's own `JSON` (no serde in the bundle).
//!
//! The crate builds without std so that the shipped bundle (`bundle/`) can replace the panic
//! machinery and its `core::fmt` strings with a trap.

#![no_std]

extern crate alloc;

#[cfg(feature = "js")]
pub mod api;
mod backoff;
mod client;
mod engine;
mod js;
mod kind;
mod manager;
mod opts;
mod socket;
mod transport;
mod url;
#[cfg(feature = "serde")]
mod values;

pub use client::{AckFuture, AckResult, Manager, Socket, io};
pub use opts::{Options, TransportKind};
#[cfg(feature = "serde")]
pub use values::ArgsError;

/// What the Rust tests read of the JS files, to check that both sides agree on a table.
#[cfg(test)]
mod js_source {
    /// The space-separated words of `const NAME = "…"` in `src` (glue.js keeps its name
    /// tables as one string each).
    pub(crate) fn words<'a>(src: &'a str, name: &str) -> alloc::vec::Vec<&'a str> {
        let decl = alloc::format!("const {name} =");
        let (_, rest) = src
            .split_once(decl.as_str())
            .expect("the table is declared");
        let rest = rest.split_once('"').expect("a string follows").1;
        rest.split_once('"')
            .expect("the string ends")
            .0
            .split(' ')
            .collect()
    }

    pub(crate) const GLUE: &str = include_str!("../js/glue.js");
}
