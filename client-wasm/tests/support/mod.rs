//! What the in-browser test files share: the contract server's URL, and its `echo` answered.

use sio_client::Socket;
use wasm_bindgen::JsValue;

/// Namespace `nsp` of the contract server, whose URL is fixed at build time
/// (`SIO_TEST_SERVER=http://127.0.0.1:PORT`).
pub fn server(nsp: &str) -> String {
    let Some(base) = option_env!("SIO_TEST_SERVER") else {
        panic!("build with SIO_TEST_SERVER=http://127.0.0.1:PORT")
    };
    format!("{base}{nsp}")
}

/// Emits `echo` with `1` and `"é"` (buffered until the namespace is joined) and checks that
/// the ack brings them back.
pub async fn echo_comes_back(socket: &Socket) {
    let reply = socket
        .timeout(5000.0)
        .emit_with_ack("echo", &[JsValue::from(1), JsValue::from_str("é")])
        .await
        .expect("an ack");
    assert_eq!(reply.len(), 2);
    assert_eq!(reply[0].as_f64(), Some(1.0));
    assert_eq!(reply[1].as_string().as_deref(), Some("é"));
}
