//! The catch-all hooks Node users look for, seen from a raw client: `on_any`,
//! `prepend_any` and `off_any` on received events; `on_any_outgoing`,
//! `prepend_any_outgoing` and `off_any_outgoing` on the socket's own emits (not
//! broadcasts), with the arguments as the client reads them, binary included; a panicking
//! hook does not stop the emit. (`emit_volatile` goes through the same call, `sent`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use futures_util::SinkExt;
use sio_server::{Binary, SocketIo};
use support::{serve, text};
use tokio_tungstenite::tungstenite::Message;

type Log = Arc<Mutex<Vec<String>>>;

fn record(log: &Log, line: String) {
    log.lock().unwrap().push(line);
}

#[tokio::test]
async fn catch_all_hooks_in_and_out() {
    let log: Log = Arc::default();
    let seen = log.clone();
    let server = serve(SocketIo::builder(), move |io| {
        let io = io.clone();
        io.clone().ns("/", move |socket| {
            let l = seen.clone();
            socket.on_any(move |_, ev, args| record(&l, format!("any {ev} {}", args.len())));
            let l = seen.clone();
            socket.prepend_any(move |_, ev, _| record(&l, format!("first {ev}")));
            let l = seen.clone();
            socket.on_any_outgoing(move |_, ev, args| {
                let values: Vec<String> = args
                    .values()
                    .unwrap()
                    .iter()
                    .map(|v| format!("{v:?}"))
                    .collect();
                record(&l, format!("out {ev} {}", values.join(" ")));
            });
            let l = seen.clone();
            socket.prepend_any_outgoing(move |_, ev, _| {
                assert_ne!(ev, "boom", "a hook that panics");
                record(&l, format!("out-first {ev}"));
            });
            let io = io.clone();
            socket.on("go", move |socket, _| {
                let _ = socket.emit("a", (1, "x"));
                let ack = socket.emit_with_ack("c", &true);
                tokio::spawn(ack);
                let _ = socket.emit("bin", &Binary::from(vec![1u8, 2, 3]));
                // A broadcast, even one that reaches this socket, is not its own emit.
                let _ = io.to(socket.id()).emit("d", ());
                let _ = socket.emit("boom", ());
                let _ = socket.emit("end", ());
            });
            socket.on("quiet", |socket, _| {
                socket.off_any();
                socket.off_any_outgoing();
                let _ = socket.emit("after", ());
            });
        });
    })
    .await;

    let mut ws = server.ws_connected().await;
    ws.send(Message::text(r#"42["go",7]"#)).await.unwrap();
    let mut got = Vec::new();
    loop {
        let t = text(&mut ws).await;
        if t.starts_with("451-") {
            // The binary event's attachment follows.
            let _ = support::next(&mut ws).await;
        }
        let end = t == r#"42["end"]"#;
        got.push(t);
        if end {
            break;
        }
    }
    assert_eq!(
        got.len(),
        6,
        "every emit reached the client, the panicking hook's too: {got:?}"
    );
    assert!(got.contains(&r#"42["boom"]"#.to_owned()), "{got:?}");

    ws.send(Message::text(r#"42["quiet"]"#)).await.unwrap();
    assert_eq!(text(&mut ws).await, r#"42["after"]"#);

    let log = log.lock().unwrap().clone();
    assert_eq!(
        log,
        [
            "first go",
            "any go 1",
            "out-first a",
            "out a Number(Number(1)) String(\"x\")",
            "out-first c",
            "out c Bool(true)",
            "out-first bin",
            "out bin Binary(b\"\\x01\\x02\\x03\")",
            "out boom ",
            "out-first end",
            "out end ",
            "first quiet",
            "any quiet 0",
        ]
    );
}

/// Node's `socket.use`: catch-all handlers first, then the middlewares in order; a refusal
/// drops the event (its handlers, `once` ones included, stay for the next one, and no ack
/// goes out) and reaches the `on_error` handlers; a panicking middleware drops it too.
#[tokio::test]
async fn packet_middlewares_filter_events() {
    let log: Log = Arc::default();
    let seen = log.clone();
    let server = serve(SocketIo::builder(), move |io| {
        io.ns("/", move |socket| {
            let l = seen.clone();
            socket.on_any(move |_, ev, _| record(&l, format!("any {ev}")));
            let l = seen.clone();
            socket.use_packet(move |_, ev| {
                record(&l, format!("mw1 {}", ev.name()));
                match ev.name() {
                    "secret" if ev.args().is_empty() => Err(format!("{} is private", ev.name())),
                    "crash" => panic!("a middleware that panics"),
                    _ => Ok(()),
                }
            });
            let l = seen.clone();
            socket.use_packet(move |_, ev| {
                record(&l, format!("mw2 {}", ev.name()));
                Ok(())
            });
            let l = seen.clone();
            socket.on_error(move |_, message| record(&l, format!("error {message}")));
            let l = seen.clone();
            socket.once("secret", move |_, _| record(&l, "secret handler".into()));
            let l = seen.clone();
            socket.on("open", move |_, mut ev| {
                record(&l, "open handler".into());
                let _ = ev.ack("ok");
            });
        });
    })
    .await;

    let mut ws = server.ws_connected().await;
    let sent = [
        r#"421["secret"]"#,
        r#"42["crash"]"#,
        r#"42["secret",1]"#,
        r#"42["secret",2]"#,
        r#"422["open"]"#,
    ];
    for p in sent {
        ws.send(Message::text(p)).await.unwrap();
    }
    // Only the event that passed is answered: acks of refused events never go out.
    assert_eq!(text(&mut ws).await, r#"432["ok"]"#);
    let log = log.lock().unwrap().clone();
    assert_eq!(
        log,
        [
            "any secret",
            "mw1 secret",
            "error secret is private",
            "any crash",
            "mw1 crash",
            "any secret",
            "mw1 secret",
            "mw2 secret",
            "secret handler",
            // The `once` handler has run: the next one finds none.
            "any secret",
            "mw1 secret",
            "mw2 secret",
            "any open",
            "mw1 open",
            "mw2 open",
            "open handler",
        ]
    );
}

#[tokio::test]
async fn connection_hooks_see_packets_drains_and_the_upgrade() {
    let log: Log = Arc::default();
    let seen = log.clone();
    let server = serve(SocketIo::builder(), move |io| {
        io.ns("/", move |socket| {
            let conn = socket.conn();
            assert_eq!(conn.id(), socket.conn_id());
            let l = seen.clone();
            conn.on_packet(move |_, p| {
                if let sio_server::engine::Packet::Message(m) = p {
                    record(&l, format!("packet {m}"));
                }
            });
            let l = seen.clone();
            conn.on_drain(move |_| record(&l, "drain".into()));
            let l = seen.clone();
            conn.on_upgrade(move |c, t| {
                record(
                    &l,
                    format!("upgrade {} {}", t.as_str(), c.transport().as_str()),
                );
            });
            socket.on("hi", |socket, _| {
                let _ = socket.emit("back", ());
            });
        });
    })
    .await;

    let sid = server.polling_connected().await;
    // The CONNECT came before the hooks, the GET of its answer after them (it is drained
    // before it is answered).
    assert_eq!(std::mem::take(&mut *log.lock().unwrap()), ["drain"]);
    assert_eq!(
        server
            .http("POST", &server.poll_path(&sid), r#"42["hi"]"#)
            .await
            .0,
        200
    );
    let (_, body) = server.http("GET", &server.poll_path(&sid), "").await;
    assert_eq!(body, r#"42["back"]"#);
    support::eventually("the drain of that GET", || log.lock().unwrap().len() >= 2).await;
    assert_eq!(*log.lock().unwrap(), [r#"packet 2["hi"]"#, "drain"]);

    let url = format!("{}&sid={sid}", server.ws_url());
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws.send(Message::text("2probe")).await.unwrap();
    assert_eq!(text(&mut ws).await, "3probe");
    ws.send(Message::text("5")).await.unwrap();
    support::eventually("the upgrade", || log.lock().unwrap().len() >= 3).await;
    assert_eq!(log.lock().unwrap()[2], "upgrade websocket websocket");
}
