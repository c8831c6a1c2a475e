//! In-browser tests of the Rust API (`wasm-pack test --headless --chrome client-wasm`),
//! against a live server whose URL is fixed at build time: `SIO_TEST_SERVER=http://127.0.0.1:PORT`
//! (scripts/test.sh starts the contract server, shared/CONTRACT.md, and sets it), and a second
//! one with connection state recovery on, `SIO_TEST_RECOVERY_SERVER` (`--recovery`).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::rc::Rc;

use sio_client::{Options, TransportKind, io};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

mod support;
use support::{echo_comes_back, server};

wasm_bindgen_test_configure!(run_in_browser);

/// A second contract server, with connection state recovery on (`RECOVERY_MS`).
fn recovery_server(nsp: &str) -> String {
    let Some(base) = option_env!("SIO_TEST_RECOVERY_SERVER") else {
        panic!("build with SIO_TEST_RECOVERY_SERVER=http://127.0.0.1:PORT")
    };
    format!("{base}{nsp}")
}

/// A promise and the function that resolves it with a listener's first argument.
fn promise() -> (js_sys::Promise, js_sys::Function) {
    let mut resolve = None;
    let promise = js_sys::Promise::new(&mut |res, _| resolve = Some(res));
    (promise, resolve.unwrap())
}

fn opts(transports: Vec<TransportKind>) -> Options {
    Options {
        transports,
        reconnection: false,
        ..Options::default()
    }
}

#[wasm_bindgen_test]
async fn acks_come_back_over_each_transport() {
    for transports in [
        vec![TransportKind::WebSocket],
        vec![TransportKind::Polling],
        vec![TransportKind::Polling, TransportKind::WebSocket],
    ] {
        let socket = io(&server("/"), opts(transports)).expect("valid URL");
        // Emits wait in the buffer until the namespace is joined, then go out in order.
        echo_comes_back(&socket).await;
        assert!(socket.connected());
        assert!(socket.id().is_some());
        socket.disconnect();
        assert!(!socket.connected());
    }
}

#[wasm_bindgen_test]
async fn binary_arrives_as_array_buffers() {
    let socket = io(&server("/custom"), opts(vec![TransportKind::Polling])).unwrap();
    let bytes = js_sys::Uint8Array::from(&[0u8, 1, 2, 255][..]);
    let reply = socket
        .timeout(5000.0)
        .emit_with_ack("echo", &[bytes.into()])
        .await
        .unwrap();
    let buf: js_sys::ArrayBuffer = reply[0].clone().dyn_into().expect("an ArrayBuffer");
    assert_eq!(js_sys::Uint8Array::new(&buf).to_vec(), vec![0, 1, 2, 255]);
    socket.disconnect();
}

#[wasm_bindgen_test]
async fn listeners_get_server_events() {
    let socket = io(&server("/"), opts(vec![TransportKind::WebSocket])).unwrap();
    let seen: Rc<RefCell<Vec<String>>> = Rc::default();
    let s = seen.clone();
    socket.on("hello", move |args| {
        s.borrow_mut()
            .extend(args.iter().filter_map(JsValue::as_string));
    });
    socket
        .emit(
            "emit-as",
            &[
                JsValue::from_str("hello"),
                JsValue::from_str("a"),
                JsValue::from_str("b"),
            ],
        )
        .unwrap();
    // The server answers in order: once this ack is in, "hello" was delivered before it.
    socket
        .timeout(5000.0)
        .emit_with_ack("echo", &[])
        .await
        .unwrap();
    assert_eq!(*seen.borrow(), ["a", "b"]);
    socket.disconnect();
}

#[wasm_bindgen_test]
async fn dropping_the_handles_of_a_closed_socket_frees_its_listeners() {
    // What a listener captures (component state) lives as long as the listener.
    let state = Rc::new(());
    let connected = {
        let socket = io(&server("/"), opts(vec![TransportKind::WebSocket])).unwrap();
        let kept = state.clone();
        socket.on("news", move |_| {
            let _ = &kept;
        });
        let manager = socket.manager();
        let s = state.clone();
        manager.on("close", move |_| {
            let _ = &s;
        });
        socket
            .timeout(5000.0)
            .emit_with_ack("echo", &[])
            .await
            .unwrap();
        socket.disconnect();
        // Handles still held: the listeners stay (the socket may connect again).
        Rc::strong_count(&state)
    };
    assert_eq!(connected, 3);
    // Every handle dropped, the manager idle: it is freed, and its listeners with it.
    assert_eq!(Rc::strong_count(&state), 1);
}

#[wasm_bindgen_test]
async fn a_connected_socket_whose_handles_are_dropped_goes_on() {
    let mut resolve = None;
    let heard = js_sys::Promise::new(&mut |res, _| resolve = Some(res));
    let resolve = resolve.unwrap();
    {
        let socket = io(&server("/"), opts(vec![TransportKind::WebSocket])).unwrap();
        socket.on("hello", move |args| {
            resolve.call1(&JsValue::NULL, &args[0]).unwrap();
        });
        socket
            .timeout(5000.0)
            .emit_with_ack("echo", &[])
            .await
            .unwrap();
        socket
            .emit("emit-as", &[JsValue::from_str("hello"), JsValue::from(7)])
            .unwrap();
    }
    // As a JS socket the page no longer references: connected, it runs on, and its
    // listener gets the event.
    let got = wasm_bindgen_futures::JsFuture::from(heard).await.unwrap();
    assert_eq!(got.as_f64(), Some(7.0));
}

#[wasm_bindgen_test]
async fn a_cut_connection_recovers_its_socket() {
    let socket = io(
        &recovery_server("/"),
        Options {
            transports: vec![TransportKind::WebSocket],
            reconnection_delay: 10.0,
            reconnection_delay_max: 10.0,
            ..Options::default()
        },
    )
    .unwrap();
    let ack = |event: &'static str, args: Vec<JsValue>| {
        let socket = &socket;
        async move {
            socket
                .timeout(5000.0)
                .emit_with_ack(event, &args)
                .await
                .unwrap()
        }
    };
    ack("join", vec!["r1".into()]).await;
    ack("set-data", vec![7.into()]).await;
    // A session is restored from the offset of the last event received: receive one (the
    // server answers in order, so it is in once the ack is).
    socket.emit("emit-as", &["hello".into(), 1.into()]).unwrap();
    ack("echo", vec![]).await;
    assert!(!socket.recovered());
    let id = socket.id().unwrap();
    let (connected_again, resolve) = promise();
    socket.once("connect", move |_| {
        resolve.call0(&JsValue::NULL).unwrap();
    });
    // The browser's `offline` event closes the connection at once: a transport close, for
    // which the server keeps the session. The manager reconnects, with the pid and offset.
    let offline = js_sys::Function::new_no_args("dispatchEvent(new Event('offline'))");
    offline.call0(&JsValue::NULL).unwrap();
    assert!(!socket.connected());
    wasm_bindgen_futures::JsFuture::from(connected_again)
        .await
        .unwrap();
    assert!(socket.recovered());
    assert_eq!(socket.id().as_deref(), Some(id.as_str()));
    let state = ack("state", vec![]).await;
    let field = |name: &str| js_sys::Reflect::get(&state[0], &name.into()).unwrap();
    assert_eq!(field("recovered").as_bool(), Some(true));
    let rooms: js_sys::Array = field("rooms").dyn_into().unwrap();
    assert_eq!(rooms.to_vec(), vec![JsValue::from_str("r1")]);
    assert_eq!(field("data").as_f64(), Some(7.0));
    socket.disconnect();
}

#[wasm_bindgen_test]
async fn refused_namespaces_and_reserved_names_are_errors() {
    let socket = io(&server("/nope"), opts(vec![TransportKind::WebSocket])).unwrap();
    let errors: Rc<RefCell<Vec<String>>> = Rc::default();
    let e = errors.clone();
    socket.on("connect_error", move |args| {
        let message = js_sys::Reflect::get(&args[0], &"message".into()).unwrap();
        e.borrow_mut().push(message.as_string().unwrap());
    });
    // An unknown namespace is refused; the buffered emit then waits in vain.
    let late = socket.timeout(300.0).emit_with_ack("echo", &[]).await;
    assert!(late.is_err());
    assert_eq!(*errors.borrow(), ["Invalid namespace"]);
    assert!(socket.emit("connect", &[]).is_err());
    socket.disconnect();
}

#[cfg(feature = "serde")]
mod values {
    use super::*;
    use serde::{Deserialize, Serialize};
    use serde_bytes::ByteBuf;
    use sio_client::ArgsError;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Message {
        author: String,
        text: String,
        tags: Vec<u32>,
        /// Binary, which JSON text could not carry: an attachment on the wire.
        avatar: ByteBuf,
    }

    /// What a typed listener saw: its arguments, or the error's text.
    type Seen = Rc<RefCell<Vec<Result<(Message,), String>>>>;

    fn message() -> Message {
        Message {
            author: "ann".into(),
            text: "é ✓".into(),
            tags: vec![1, 2],
            avatar: ByteBuf::from(vec![0, 255, 7]),
        }
    }

    #[wasm_bindgen_test]
    async fn rust_values_go_both_ways() {
        let socket = io(&server("/"), opts(vec![TransportKind::WebSocket])).unwrap();
        // "echo" acks with its arguments: a tuple out, the same tuple back.
        let back: (u32, Message) = socket
            .timeout(5000.0)
            .emit_with_ack_serde("echo", &(7, message()))
            .await
            .unwrap();
        assert_eq!(back, (7, message()));

        let seen: Seen = Rc::default();
        let s = seen.clone();
        socket.on_serde("hello", move |args: Result<(Message,), ArgsError>| {
            s.borrow_mut().push(args.map_err(|e| e.to_string()));
        });
        socket.emit_serde("emit-as", &("hello", message())).unwrap();
        // Arguments that do not fit the listener's type reach it as an error.
        socket.emit_serde("emit-as", &("hello", 1)).unwrap();
        let none: () = socket
            .timeout(5000.0)
            .emit_with_ack_serde("echo", &())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(none, ());
        let seen = seen.borrow();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].as_ref().unwrap(), &(message(),));
        assert!(seen[1].is_err());
        socket.disconnect();
    }

    #[wasm_bindgen_test]
    async fn binary_values_travel_as_attachments() {
        let socket = io(&server("/"), opts(vec![TransportKind::Polling])).unwrap();
        // What the page sees of the event the server sends back: an ArrayBuffer (not an
        // array of numbers, as JSON text would have it), and the typed listener's ByteBuf.
        let raw: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
        let r = raw.clone();
        socket.on("bin", move |args: &[JsValue]| {
            if let Some(buf) = args
                .first()
                .and_then(|a| a.dyn_ref::<js_sys::ArrayBuffer>())
            {
                r.borrow_mut().push(js_sys::Uint8Array::new(buf).to_vec());
            }
        });
        let typed: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
        let t = typed.clone();
        socket.on_serde("bin", move |args: Result<(ByteBuf,), ArgsError>| {
            if let Ok((b,)) = args {
                t.borrow_mut().push(b.into_vec());
            }
        });
        socket
            .emit_serde("emit-as", &("bin", ByteBuf::from(vec![1, 2, 3])))
            .unwrap();
        // The server answers in order: once this ack is back, "bin" has arrived.
        let (echo,): (ByteBuf,) = socket
            .timeout(5000.0)
            .emit_with_ack_serde("echo", &(ByteBuf::from(vec![9]),))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(echo.into_vec(), vec![9]);
        assert_eq!(*raw.borrow(), vec![vec![1, 2, 3]]);
        assert_eq!(*typed.borrow(), vec![vec![1, 2, 3]]);
        socket.disconnect();
    }

    #[wasm_bindgen_test]
    async fn typed_errors() {
        let socket = io(&server("/"), opts(vec![TransportKind::WebSocket])).unwrap();
        assert!(matches!(
            socket.emit_serde("disconnect", &(1,)),
            Err(ArgsError::Reserved(name)) if name == "disconnect"
        ));
        // The ack's arguments are not a u32.
        let wrong: Result<(u32,), _> = socket
            .timeout(5000.0)
            .emit_with_ack_serde("echo", &("text",))
            .await;
        assert!(matches!(wrong, Err(ArgsError::Convert(_))));
        socket.disconnect();
        // Disconnected on purpose: the ack never comes.
        let late: Result<(u32,), _> = socket
            .timeout(200.0)
            .emit_with_ack_serde("echo", &(1,))
            .await;
        assert!(matches!(late, Err(ArgsError::Ack(_))));
    }
}
