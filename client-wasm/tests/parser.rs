//! The Rust API's `parser` option (feature `parser`), in the browser against the contract
//! server (see `web.rs`): a custom parser written in JS (`tests/parser.js`, the default text
//! format through its own encoder and decoder) carries every packet of a session.
#![cfg(all(target_arch = "wasm32", feature = "parser"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sio_client::{Options, TransportKind, io};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/parser.js")]
extern "C" {
    fn parser() -> JsValue;
    fn used() -> js_sys::Array;
}

fn server(nsp: &str) -> String {
    let Some(base) = option_env!("SIO_TEST_SERVER") else {
        panic!("build with SIO_TEST_SERVER=http://127.0.0.1:PORT")
    };
    format!("{base}{nsp}")
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
        let reply = socket
            .timeout(5000.0)
            .emit_with_ack("echo", &[JsValue::from(1), JsValue::from_str("é")])
            .await
            .expect("an ack");
        assert_eq!(reply.len(), 2);
        assert_eq!(reply[0].as_f64(), Some(1.0));
        assert_eq!(reply[1].as_string().as_deref(), Some("é"));
        socket.disconnect();
        // Out: CONNECT, EVENT, DISCONNECT; in: CONNECT, ACK.
        let count = |i| used().at(i).as_f64().unwrap() - before.at(i).as_f64().unwrap();
        assert_eq!((count(0), count(1)), (3.0, 2.0));
    }
}
