//! The Prometheus endpoint (feature `metrics`) as an operator scrapes it: an axum route
//! next to the Socket.IO layer, read over HTTP while clients connect, join rooms, send
//! packets, miss an ack, have a volatile packet dropped, disconnect and close.

#![cfg(feature = "metrics")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use futures_util::SinkExt;
use sio_server::SocketIo;
use sio_server::metrics::Metrics;
use support::{Server, eventually, text};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

async fn serve() -> Server {
    let (layer, io) = SocketIo::builder().build_layer();
    let server = io.clone();
    io.ns("/", move |socket| {
        let io = server.clone();
        socket.on("join", |socket, ev| {
            socket.join(ev.arg::<String>(0).unwrap());
        });
        socket.on("hello", |_, mut ev| {
            let _ = ev.ack("hi");
        });
        let to_room = io.clone();
        socket.on("fanout", move |_, _| {
            let _ = to_room.to("r").emit("x", &1);
        });
        socket.on("ask", |socket, _| {
            // The client never answers: one ack timeout.
            let ack = socket
                .timeout(Duration::from_millis(20))
                .emit_with_ack("q", ());
            tokio::spawn(ack);
        });
        socket.on("volatile", move |_, _| {
            let _ = io.of("/chat").unwrap().broadcast().volatile().emit("v", &1);
        });
    });
    io.ns("/chat", |_| {});
    let metrics = Arc::new(Metrics::new(&io));
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let text = metrics.render();
                async move { ([(http::header::CONTENT_TYPE, Metrics::CONTENT_TYPE)], text) }
            }),
        )
        .layer(layer);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        port,
        io,
        polls: Arc::new(Semaphore::new(0)),
    }
}

/// The samples of a scrape: `name{labels}` → value.
async fn scrape(server: &Server) -> HashMap<String, f64> {
    let (status, body) = server.http("GET", "/metrics", "").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.trim_end().ends_with("# EOF"),
        "an OpenMetrics text: {body}"
    );
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect()
}

async fn sample_becomes(server: &Server, name: &str, want: f64) {
    let mut last = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = scrape(server).await.get(name).copied();
        if got == Some(want) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name}: {got:?} (before: {last:?}), want {want}"
        );
        last = got;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn an_operator_scrapes_what_the_server_did() {
    let server = serve().await;
    let m = scrape(&server).await;
    assert_eq!(m["socketio_engine_sessions{transport=\"websocket\"}"], 0.0);
    assert_eq!(m["socketio_namespaces"], 2.0);

    // A WebSocket client on "/" in room "r"; a polling client on "/chat".
    let mut ws = server.ws_connected().await; // sent "40"
    let sent_ws = [
        "40",
        r#"42["join","r"]"#,
        r#"421["hello"]"#,
        r#"42["fanout"]"#,
    ];
    for p in &sent_ws[1..] {
        ws.send(Message::text(*p)).await.unwrap();
    }
    assert_eq!(text(&mut ws).await, r#"431["hi"]"#);
    assert_eq!(text(&mut ws).await, r#"42["x",1]"#);
    let sid = server.polling_sid().await;
    let path = server.poll_path(&sid);
    assert_eq!(server.http("POST", &path, "40/chat,").await.0, 200);
    let (_, body) = server.http("GET", &path, "").await;
    assert!(body.starts_with("40/chat,{"), "{body}");

    let m = scrape(&server).await;
    assert_eq!(m["socketio_engine_sessions{transport=\"websocket\"}"], 1.0);
    assert_eq!(m["socketio_engine_sessions{transport=\"polling\"}"], 1.0);
    assert_eq!(
        m["socketio_engine_sessions_opened_total{transport=\"polling\"}"],
        1.0
    );
    assert_eq!(m["socketio_sockets{namespace=\"/\"}"], 1.0);
    assert_eq!(m["socketio_sockets{namespace=\"/chat\"}"], 1.0);
    assert_eq!(m["socketio_rooms{namespace=\"/\"}"], 1.0);
    assert_eq!(m["socketio_connects_total"], 2.0);
    assert_eq!(m["socketio_broadcasts_total"], 1.0);
    // Message packets and their payloads (type digit not counted), each way.
    let sent: Vec<&str> = sent_ws.iter().copied().chain(["40/chat,"]).collect();
    assert_eq!(
        m["socketio_engine_packets_total{direction=\"in\"}"],
        sent.len() as f64
    );
    let bytes_in: usize = sent.iter().map(|p| p.len() - 1).sum();
    assert_eq!(
        m["socketio_engine_bytes_total{direction=\"in\"}"],
        bytes_in as f64
    );
    // Out: two CONNECT answers, the ack, the broadcast.
    assert_eq!(m["socketio_engine_packets_total{direction=\"out\"}"], 4.0);

    // An ack that never comes; a volatile packet for the polling client, which has no
    // request open to take it.
    ws.send(Message::text(r#"42["ask"]"#)).await.unwrap();
    let ask = text(&mut ws).await;
    assert!(ask.starts_with("42") && ask.contains(r#"["q""#), "{ask}");
    sample_becomes(&server, "socketio_ack_timeouts_total", 1.0).await;
    ws.send(Message::text(r#"42["volatile"]"#)).await.unwrap();
    sample_becomes(&server, "socketio_volatile_dropped_total", 1.0).await;
    sample_becomes(&server, "socketio_broadcasts_total", 2.0).await;

    // The WebSocket client leaves "/", then closes its connection.
    ws.send(Message::text("41")).await.unwrap();
    let left = "socketio_disconnects_total{reason=\"client namespace disconnect\"}";
    sample_becomes(&server, left, 1.0).await;
    sample_becomes(&server, "socketio_sockets{namespace=\"/\"}", 0.0).await;
    ws.close(None).await.unwrap();
    let closed = "socketio_engine_sessions_closed_total{reason=\"transport close\"}";
    sample_becomes(&server, closed, 1.0).await;
    eventually("the WebSocket session is gone", || {
        server.io.stats().websocket_sessions == 0
    })
    .await;
    // Its traffic stays counted once the session is gone.
    let m = scrape(&server).await;
    assert_eq!(m["socketio_engine_packets_total{direction=\"in\"}"], 8.0);
    assert_eq!(m["socketio_engine_packets_total{direction=\"out\"}"], 5.0);
    assert_eq!(m["socketio_engine_sessions{transport=\"websocket\"}"], 0.0);
}
