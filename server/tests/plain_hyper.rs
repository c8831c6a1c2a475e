//! The server mounted on plain hyper (no axum), with a custom path and transports, driven
//! by a minimal raw client: what a user of another framework sees.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use sio_server::{SocketIo, Transports};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tower_layer::Layer;

/// The app behind the Socket.IO layer: answers every other request itself.
#[derive(Clone)]
struct App;

impl tower_service::Service<Request<Incoming>> for App {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<Incoming>) -> Self::Future {
        std::future::ready(Ok(Response::new(Full::new(Bytes::from_static(b"app")))))
    }
}

/// Serves `io`'s layer around [`App`] on a free port; returns the port.
async fn serve(builder: sio_server::SocketIoBuilder, setup: impl FnOnce(&SocketIo)) -> u16 {
    let (layer, io) = builder.build_layer();
    setup(&io);
    let svc = layer.layer(App);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            tcp.set_nodelay(true).unwrap();
            let svc = TowerToHyperService::new(svc.clone());
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .with_upgrades()
                    .await;
            });
        }
    });
    port
}

/// One HTTP/1.1 request over a fresh connection; returns status and body.
async fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    tcp.read_to_string(&mut out).await.unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A polling handshake on `path`: the open packet's data and the query of the session.
async fn open_polling(port: u16, path: &str) -> (serde_json::Value, String) {
    let (status, open) = http(port, "GET", &format!("{path}?EIO=4&transport=polling"), "").await;
    assert_eq!(status, 200, "{open}");
    let open: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    let q = format!(
        "{path}?EIO=4&transport=polling&sid={}",
        open["sid"].as_str().unwrap()
    );
    (open, q)
}

fn chat_handlers(io: &SocketIo) {
    io.ns("/", |socket| {
        socket.on("echo", |_, mut ev| {
            let args = ev.args().to_raw();
            let _ = ev.ack(args);
        });
    });
}

#[tokio::test]
async fn polling_on_a_custom_path_and_the_app_behind_it() {
    let port = serve(SocketIo::builder().path("/rt"), chat_handlers).await;

    // Other paths reach the app, the default path included.
    assert_eq!(http(port, "GET", "/", "").await, (200, "app".into()));
    assert_eq!(
        http(port, "GET", "/socket.io/?EIO=4&transport=polling", "")
            .await
            .1,
        "app"
    );

    let (open, q) = open_polling(port, "/rt/").await;
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(open["maxPayload"], 1_000_000);

    assert_eq!(http(port, "POST", &q, "40").await, (200, "ok".into()));
    let (_, connected) = http(port, "GET", &q, "").await;
    assert!(connected.starts_with("40{\"sid\":"), "{connected}");
    assert_eq!(
        http(port, "POST", &q, "421[\"echo\",\"hi\",2]").await.0,
        200
    );
    assert_eq!(http(port, "GET", &q, "").await.1, "431[\"hi\",2]");
}

#[tokio::test]
async fn websocket_only_server() {
    let transports = Transports {
        polling: false,
        websocket: true,
    };
    let port = serve(
        SocketIo::builder()
            .transports(transports)
            .ping_interval(Duration::from_millis(50))
            .ping_timeout(Duration::from_secs(5)),
        chat_handlers,
    )
    .await;
    let (status, body) = http(port, "GET", "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"code":0,"message":"Transport unknown"}"#)
    );

    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let open = match ws.next().await.unwrap().unwrap() {
        Message::Text(t) => t.to_string(),
        other => panic!("unexpected {other:?}"),
    };
    assert!(
        open.starts_with("0{") && open.contains("\"upgrades\":[]"),
        "{open}"
    );
    ws.send(Message::text("40")).await.unwrap();
    // Pings arrive every 50 ms; answering them keeps the session open.
    let mut pings = 0;
    let mut connected = false;
    while pings < 3 || !connected {
        match ws.next().await.unwrap().unwrap() {
            Message::Text(t) if t.as_str() == "2" => {
                pings += 1;
                ws.send(Message::text("3")).await.unwrap();
            }
            Message::Text(t) if t.starts_with("40{") => connected = true,
            other => panic!("unexpected {other:?}"),
        }
    }
    ws.send(Message::text("427[\"echo\",{\"a\":[1,true]}]"))
        .await
        .unwrap();
    loop {
        match ws.next().await.unwrap().unwrap() {
            Message::Text(t) if t.as_str() == "2" => ws.send(Message::text("3")).await.unwrap(),
            Message::Text(t) => {
                assert_eq!(t.as_str(), "437[{\"a\":[1,true]}]");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_closed() {
    let port = serve(
        SocketIo::builder()
            .ping_interval(Duration::from_millis(30))
            .ping_timeout(Duration::from_millis(30)),
        chat_handlers,
    )
    .await;
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws.send(Message::text("40")).await.unwrap();
    // Read until the server closes: open, connect, one ping, then the close.
    let mut seen = Vec::new();
    while let Some(Ok(msg)) = ws.next().await {
        match msg {
            Message::Text(t) => seen.push(t.as_str().chars().next().unwrap_or(' ')),
            Message::Close(_) => break,
            _ => {}
        }
    }
    assert_eq!(seen, ['0', '4', '2']);
}

#[tokio::test]
async fn on_any_sees_every_event_first() {
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let port = serve(SocketIo::builder(), move |io| {
        let log = log.clone();
        io.ns("/", move |socket| {
            let any_log = log.clone();
            socket.on_any(move |_, name, args| {
                let first = args.raw(0).unwrap_or("-").to_owned();
                any_log.lock().unwrap().push(format!("{name}:{first}"));
            });
            let log = log.clone();
            socket.on("known", move |_, mut ev| {
                log.lock().unwrap().push("handler".into());
                let _ = ev.ack(());
            });
        });
    })
    .await;
    let (_, q) = open_polling(port, "/socket.io/").await;
    http(port, "POST", &q, "40").await;
    http(port, "GET", &q, "").await;
    // Two events in one payload: the unknown one and the known one, in order.
    http(
        port,
        "POST",
        &q,
        "42[\"unknown\",1]\u{1e}421[\"known\",{\"a\":2}]",
    )
    .await;
    assert_eq!(http(port, "GET", &q, "").await.1, "431[]");
    assert_eq!(
        *seen.lock().unwrap(),
        ["unknown:1", "known:{\"a\":2}", "handler"]
    );
}

#[tokio::test]
async fn async_connection_handlers_miss_no_event() {
    let port = serve(SocketIo::builder(), |io| {
        io.ns_async("/", |socket| async move {
            socket.on("echo", |_, mut ev| {
                let args = ev.args().to_raw();
                let _ = ev.ack(args);
            });
            // Goes on in its own task from here; the handler above is already in place.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = socket.emit("welcome", ());
        });
    })
    .await;
    let (_, q) = open_polling(port, "/socket.io/").await;
    http(port, "POST", &q, "40").await;
    assert!(http(port, "GET", &q, "").await.1.starts_with("40{"));
    http(port, "POST", &q, "425[\"echo\",\"early\"]").await;
    let mut got = String::new();
    while !got.contains("42[\"welcome\"]") {
        got.push_str(&http(port, "GET", &q, "").await.1);
        got.push('\u{1e}');
    }
    assert!(got.starts_with("435[\"early\"]"), "{got}");
}
