//! The Rust API's `parser` option (feature `parser`), in the browser against the contract
//! server (see `web.rs`): a custom parser written in JS (`tests/parser.js`, the default text
//! format through its own encoder and decoder) carries every packet of a session.
#![cfg(all(target_arch = "wasm32", feature = "parser"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sio_client::{Options, TransportKind, io};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_test::*;

mod support;
use support::{echo_comes_back, server};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/parser.js")]
extern "C" {
    fn parser() -> JsValue;
    fn used() -> js_sys::Array;
}

#[wasm_bindgen_test]
async fn a_custom_parser_carries_every_packet() {
    for transports in [vec![TransportKind::WebSocket], vec![TransportKind::Polling]] {
        let before = used();
        let opts = Options {
            transports,
            reconnection: false,
            parser: parser(),
            ..Options::default()
        };
        let socket = io(&server("/custom"), opts).expect("valid URL");
        echo_comes_back(&socket).await;
        socket.disconnect();
        // Out: CONNECT, EVENT, DISCONNECT; in: CONNECT, ACK.
        let count = |i| used().at(i).as_f64().unwrap() - before.at(i).as_f64().unwrap();
        assert_eq!((count(0), count(1)), (3.0, 2.0));
    }
}
