//! What the lifecycle tests share: a server on a free port of 127.0.0.1 in this process,
//! raw Engine.IO clients (WebSocket and HTTP long-polling), and a bounded wait for a
//! condition the server reaches on its own (no event tells the client when).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;

use futures_util::{SinkExt, StreamExt};
use sio_server::{SocketIo, SocketIoBuilder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// A server: its port and handle.
pub struct Server {
    pub port: u16,
    pub io: SocketIo,
    /// A permit for each polling GET of an open session, added as it reaches the
    /// Engine.IO handler: a test waits on it to know a GET is parked there.
    pub polls: Arc<Semaphore>,
}

/// Starts `builder`'s server on a free port; `setup` registers namespaces.
pub async fn serve(builder: SocketIoBuilder, setup: impl FnOnce(&SocketIo)) -> Server {
    let (layer, io) = builder.build_layer();
    setup(&io);
    let polls = Arc::new(Semaphore::new(0));
    let seen = polls.clone();
    // Layers added later wrap earlier ones: this one sees each request first and hands it
    // on in the same poll, so the handler has parked the GET before a test hears of it.
    let observe = axum::middleware::from_fn(move |req: Request, next: Next| {
        let parked_get = req.method() == http::Method::GET
            && req.uri().query().is_some_and(|q| q.contains("sid="));
        if parked_get {
            seen.add_permits(1);
        }
        next.run(req)
    });
    let app = axum::Router::new().layer(layer).layer(observe);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server { port, io, polls }
}

impl Server {
    pub fn ws_url(&self) -> String {
        format!(
            "ws://127.0.0.1:{}/socket.io/?EIO=4&transport=websocket",
            self.port
        )
    }

    /// A WebSocket session whose open packet has been read.
    pub async fn ws(&self) -> Ws {
        let (mut ws, _) = tokio_tungstenite::connect_async(self.ws_url())
            .await
            .unwrap();
        let open = text(&mut ws).await;
        assert!(open.starts_with("0{"), "open packet: {open}");
        ws
    }

    /// A WebSocket session connected to namespace `/` (its `40{"sid":…}` read).
    pub async fn ws_connected(&self) -> Ws {
        let mut ws = self.ws().await;
        ws.send(Message::text("40")).await.unwrap();
        let ok = text(&mut ws).await;
        assert!(ok.starts_with("40{\"sid\""), "connect: {ok}");
        ws
    }

    /// A raw HTTP request on a connection of its own: (status, body).
    pub async fn http(&self, method: &str, path_and_query: &str, body: &str) -> (u16, String) {
        self.http_with(method, path_and_query, "", body).await
    }

    /// The same with more header lines (`headers`: each ending in `\r\n`).
    pub async fn http_with(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &str,
        body: &str,
    ) -> (u16, String) {
        let raw = self.exchange(method, path_and_query, headers, body).await;
        let status = raw
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or_default();
        let body = raw
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// The same, the whole answer as it came (status line, headers, body).
    pub async fn exchange(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &str,
        body: &str,
    ) -> String {
        let mut tcp = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let head = format!(
            "{method} {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             {headers}Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        tcp.write_all(body.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        tcp.read_to_end(&mut raw).await.unwrap();
        String::from_utf8_lossy(&raw).into_owned()
    }

    /// A polling handshake: the session id.
    pub async fn polling_sid(&self) -> String {
        let (status, body) = self
            .http("GET", "/socket.io/?EIO=4&transport=polling", "")
            .await;
        assert_eq!(status, 200, "{body}");
        sid_of(&body)
    }

    /// A polling session connected to namespace `/` (its `40{"sid":…}` read): the session id.
    pub async fn polling_connected(&self) -> String {
        let sid = self.polling_sid().await;
        assert_eq!(self.http("POST", &self.poll_path(&sid), "40").await.0, 200);
        let (_, body) = self.http("GET", &self.poll_path(&sid), "").await;
        assert!(body.starts_with("40{"), "{body}");
        sid
    }

    /// A connection that has sent `head` (a request, possibly incomplete) and waits.
    pub async fn raw(&self, head: &str) -> TcpStream {
        let mut tcp = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        tcp.write_all(head.as_bytes()).await.unwrap();
        tcp
    }

    pub fn poll_path(&self, sid: &str) -> String {
        format!("/socket.io/?EIO=4&transport=polling&sid={sid}")
    }

    /// The counts an operator watches: sessions, sockets and rooms of `nsp`.
    pub fn counts(&self, nsp: &str) -> (usize, usize, usize) {
        let ns = self.io.of(nsp);
        (
            self.io.engine_count(),
            ns.as_ref().map_or(0, |n| n.socket_count()),
            ns.as_ref().map_or(0, |n| n.room_count()),
        )
    }

    /// Waits until the counts of `nsp` are `want` (bounded).
    pub async fn counts_become(&self, nsp: &str, want: (usize, usize, usize)) {
        eventually(&format!("counts of {nsp} become {want:?}"), || {
            self.counts(nsp) == want
        })
        .await;
        assert_eq!(self.counts(nsp), want);
    }
}

/// The `sid` in an Engine.IO open packet (or any text that carries `"sid":"…"`).
pub fn sid_of(text: &str) -> String {
    text.split("\"sid\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned()
}

/// Waits until `cond` holds: the server gets there on its own, and nothing tells the
/// client when. Fails after 10 s.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The next text message (pings are answered).
pub async fn text(ws: &mut Ws) -> String {
    loop {
        match next(ws).await {
            Some(Message::Text(t)) if t.as_str() == "2" => {
                ws.send(Message::text("3")).await.unwrap();
            }
            Some(Message::Text(t)) => return t.to_string(),
            Some(Message::Ping(_) | Message::Pong(_)) => {}
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// The next message, or None once the connection is closed (bounded: 10 s).
pub async fn next(ws: &mut Ws) -> Option<Message> {
    match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        Ok(Some(Ok(m))) => Some(m),
        Ok(_) => None,
        Err(_) => panic!("no message within 10 s"),
    }
}

/// Reads until the server closes the connection; returns the texts read meanwhile.
pub async fn until_closed(ws: &mut Ws) -> Vec<String> {
    let mut texts = Vec::new();
    while let Some(m) = next(ws).await {
        match m {
            Message::Text(t) => texts.push(t.to_string()),
            Message::Close(_) => {}
            _ => {}
        }
    }
    texts
}
