//! Garbage in, no panic out: thousands of malformed Engine.IO and Socket.IO packets (text
//! and binary) over WebSocket, after which the server still serves a well-behaved client.
//! A panic anywhere, even in a spawned task that tokio would swallow, fails the test.
//! (Polling bodies reach the same decoders; the HTTP-level cases are in `tests/interop`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::{SinkExt, StreamExt};
use sio_server::SocketIo;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// Deterministic xorshift, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// A packet that is almost, but often not quite, Socket.IO.
fn garbage(rng: &mut Rng) -> String {
    const HEADS: &[&str] = &[
        "40", "41", "42", "43", "44", "45", "46", "451-", "461-", "4510-", "42/", "42/x,", "40/x,",
        "4212", "4312", "2", "3", "5", "6", "9", "", "4",
    ];
    const BODY: &[&str] = &[
        "[",
        "]",
        "{",
        "}",
        ",",
        "\"",
        "\\",
        ":",
        "\"echo\"",
        "\"connect\"",
        "1",
        "-1",
        "1e999",
        "null",
        "true",
        "{\"_placeholder\":true,\"num\":0}",
        "{\"_placeholder\":true,\"num\":9}",
        "\"\\ud800\"",
        "é",
        "\u{0}",
        "[[[[[[[[",
        "]]]]]]",
        "\"a\"",
    ];
    let mut s = rng.pick(HEADS).to_owned();
    for _ in 0..rng.next() % 12 {
        s.push_str(rng.pick(BODY));
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packets_never_panic_and_never_hurt_others() {
    let panics = Arc::new(AtomicUsize::new(0));
    let seen = panics.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        seen.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));

    let (layer, io) = SocketIo::builder().build_layer();
    io.ns("/", |socket| {
        socket.on("echo", |_, mut ev| {
            let args = ev.args().to_raw();
            let _ = ev.ack(args);
        });
        socket.on("typed", |_, ev| {
            let _ = ev
                .args()
                .all::<(String, sio_server::Binary, Vec<sio_server::Value>)>();
            let _ = ev.args().values();
        });
    });
    let app = axum::Router::new().layer(layer);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");

    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut sent = 0;
    while sent < 3000 {
        let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
        ws.send(Message::text("40")).await.unwrap();
        // Until the server closes this connection, keep sending garbage (text and binary).
        loop {
            let msg = if rng.next() % 10 == 0 {
                Message::binary(vec![rng.next() as u8; (rng.next() % 8) as usize])
            } else {
                Message::text(garbage(&mut rng))
            };
            sent += 1;
            if ws.send(msg).await.is_err() || sent % 50 == 0 {
                break;
            }
        }
    }

    // A well-behaved client is served as if nothing happened.
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    ws.send(Message::text("40")).await.unwrap();
    ws.send(Message::text("427[\"echo\",\"still here\"]"))
        .await
        .unwrap();
    loop {
        match ws.next().await.unwrap().unwrap() {
            Message::Text(t) if t.as_str() == "437[\"still here\"]" => break,
            Message::Text(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(panics.load(Ordering::SeqCst), 0, "a task panicked");
}
