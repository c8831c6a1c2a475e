//! Engine.IO over WebTransport (feature `webtransport`), driven by a raw WebTransport client
//! (`wtransport`) that speaks engine.io-parser's framing: a new session, events with acks
//! and binary, the upgrade of a polling session, and what malformed or vanishing peers get.
//! The browser tests (`tests/browser/webtransport.test.mjs`) run socket.io-client on it.

#![cfg(feature = "webtransport")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use sio_protocol::engine::Frame;
use sio_protocol::webtransport::{Decoder, encode};
use sio_server::webtransport::{Identity, WebTransportServer};
use sio_server::{SocketIo, SocketIoBuilder};
use support::{Server, eventually, serve, sid_of};
use wtransport::{ClientConfig, Endpoint, RecvStream, SendStream};

/// The HTTP server of `builder` and a WebTransport endpoint on the UDP port of the same
/// number, as socket.io-client expects; the certificate's hash for the client.
async fn serve_wt(builder: SocketIoBuilder, setup: impl FnOnce(&SocketIo)) -> (Server, [u8; 32]) {
    let server = serve(builder, setup).await;
    let identity = Identity::self_signed(["localhost", "127.0.0.1"]).unwrap();
    let hash = identity.certificate_hash();
    let wt = WebTransportServer::bind(([127, 0, 0, 1], server.port).into(), identity).unwrap();
    tokio::spawn(wt.serve(server.io.clone()));
    (server, hash)
}

/// A raw client: one WebTransport session and its Engine.IO stream.
struct Client {
    _endpoint: Endpoint<wtransport::endpoint::endpoint_side::Client>,
    conn: wtransport::Connection,
    send: SendStream,
    recv: RecvStream,
    decoder: Decoder,
}

impl Client {
    /// As socket.io-client connects: the path, no query.
    async fn connect(port: u16, hash: [u8; 32]) -> Client {
        Self::connect_to(port, hash, "/socket.io/").await
    }

    async fn connect_to(port: u16, hash: [u8; 32], path: &str) -> Client {
        let config = ClientConfig::builder()
            .with_bind_default()
            .with_server_certificate_hashes([wtransport::tls::Sha256Digest::new(hash)])
            .build();
        let endpoint = Endpoint::client(config).unwrap();
        let conn = endpoint
            .connect(format!("https://127.0.0.1:{port}{path}"))
            .await
            .unwrap();
        let (send, recv) = conn.open_bi().await.unwrap().await.unwrap();
        Client {
            _endpoint: endpoint,
            conn,
            send,
            recv,
            decoder: Decoder::new(1 << 20),
        }
    }

    async fn write_raw(&mut self, bytes: &[u8]) {
        self.send.write_all(bytes).await.unwrap();
    }

    async fn send(&mut self, frame: Frame) {
        let mut wire = Vec::new();
        encode(&frame, &mut wire);
        self.write_raw(&wire).await;
    }

    async fn text(&mut self, text: &str) {
        self.send(Frame::Text(bytes::Bytes::copy_from_slice(text.as_bytes())))
            .await;
    }

    /// The next frame, None once the server closed the stream or session (bounded: 10 s).
    async fn next(&mut self) -> Option<Frame> {
        let read = async {
            let mut buf = [0u8; 4096];
            loop {
                if let Some(f) = self.decoder.next_frame().unwrap() {
                    return Some(f);
                }
                match self.recv.read(&mut buf).await {
                    Ok(Some(n)) => self.decoder.push(&buf[..n]),
                    _ => return None,
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("no frame within 10 s")
    }

    /// The next text frame, pings answered.
    async fn next_text(&mut self) -> String {
        loop {
            match self.next().await.expect("the stream ended") {
                Frame::Text(t) if &t[..] == b"2" => self.text("3").await,
                Frame::Text(t) => return String::from_utf8(t.to_vec()).unwrap(),
                Frame::Binary(b) => panic!("expected text, got binary {b:?}"),
            }
        }
    }

    /// Reads until the server ends the session; the texts read meanwhile.
    async fn until_closed(&mut self) -> Vec<String> {
        let mut texts = Vec::new();
        while let Some(f) = self.next().await {
            if let Some(t) = f.as_text() {
                texts.push(t.to_owned());
            }
        }
        texts
    }
}

fn echo(io: &SocketIo) {
    io.ns("/", |socket| {
        socket.on("echo", |_, mut ev| {
            let args = ev.args().to_raw();
            let _ = ev.ack(args);
        });
        socket.on("bin", |_, mut ev| {
            let data: Vec<u8> = ev
                .arg::<sio_server::Binary>(0)
                .map(|b| b.0.to_vec())
                .unwrap_or_default();
            let _ = ev.ack(&sio_server::Binary::from(
                data.iter().rev().copied().collect::<Vec<u8>>(),
            ));
        });
    });
}

#[tokio::test]
async fn a_new_session_connects_and_acks_text_and_binary() {
    let (server, hash) = serve_wt(SocketIo::builder(), echo).await;
    // (A query that agrees is accepted too.)
    let mut c = Client::connect_to(
        server.port,
        hash,
        "/socket.io/?EIO=4&transport=webtransport",
    )
    .await;
    c.text("0").await;
    let open = c.next_text().await;
    assert!(open.starts_with("0{\"sid\":"), "{open}");
    assert!(open.contains("\"upgrades\":[]"), "{open}");
    c.text("40").await;
    let connected = c.next_text().await;
    assert!(connected.starts_with("40{\"sid\":"), "{connected}");
    assert_eq!(server.io.stats().webtransport_sessions, 1);

    c.text(r#"421["echo",{"a":"héllo"},2]"#).await;
    assert_eq!(c.next_text().await, r#"431[{"a":"héllo"},2]"#);

    c.text(r#"451-2["bin",{"_placeholder":true,"num":0}]"#)
        .await;
    c.send(Frame::Binary(bytes::Bytes::from_static(&[1, 2, 3])))
        .await;
    assert_eq!(
        c.next_text().await,
        r#"461-2[{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(
        c.next().await,
        Some(Frame::Binary(bytes::Bytes::from_static(&[3, 2, 1])))
    );

    // A close packet ends it: the server closes the WebTransport session.
    c.text("1").await;
    c.until_closed().await;
    server.counts_become("/", (0, 0, 0)).await;
}

#[tokio::test]
async fn a_polling_session_upgrades_to_webtransport() {
    let (server, hash) = serve_wt(SocketIo::builder(), echo).await;
    let (status, body) = server
        .http("GET", "/socket.io/?EIO=4&transport=polling", "")
        .await;
    assert_eq!(status, 200);
    assert!(
        body.contains(r#""upgrades":["websocket","webtransport"]"#),
        "{body}"
    );
    let sid = sid_of(&body);
    assert_eq!(
        server.http("POST", &server.poll_path(&sid), "40").await.0,
        200
    );
    let (_, body) = server.http("GET", &server.poll_path(&sid), "").await;
    assert!(body.starts_with("40{"), "{body}");

    let mut c = Client::connect(server.port, hash).await;
    c.text(&format!(r#"0{{"sid":"{sid}"}}"#)).await;
    c.text("2probe").await;
    assert_eq!(c.next_text().await, "3probe");
    // A poll pending during the upgrade is released with a noop.
    let (_, body) = server.http("GET", &server.poll_path(&sid), "").await;
    assert_eq!(body, "6");
    c.text("5").await;
    c.text(r#"421["echo","over webtransport"]"#).await;
    assert_eq!(c.next_text().await, r#"431["over webtransport"]"#);
    assert_eq!(server.io.stats().webtransport_sessions, 1);
    // Polling is over for this session.
    assert_eq!(server.http("GET", &server.poll_path(&sid), "").await.0, 400);

    // A second upgrade of the same session is refused: its WebTransport session closes.
    let mut again = Client::connect(server.port, hash).await;
    again.text(&format!(r#"0{{"sid":"{sid}"}}"#)).await;
    assert_eq!(again.until_closed().await, Vec::<String>::new());
    // …and the first goes on.
    c.text(r#"422["echo","still here"]"#).await;
    assert_eq!(c.next_text().await, r#"432["still here"]"#);
}

#[tokio::test]
async fn bad_input_gets_the_protocols_answer_and_harms_no_one_else() {
    let (server, hash) = serve_wt(SocketIo::builder().max_payload(1000), echo).await;
    let mut bystander = Client::connect(server.port, hash).await;
    bystander.text("0").await;
    bystander.next_text().await;
    bystander.text("40").await;
    bystander.next_text().await;

    // The first packet is not an open packet.
    let mut c = Client::connect(server.port, hash).await;
    c.text("40").await;
    assert_eq!(c.until_closed().await, Vec::<String>::new());
    // An unknown session to upgrade.
    let mut c = Client::connect(server.port, hash).await;
    c.text(r#"0{"sid":"nope"}"#).await;
    assert_eq!(c.until_closed().await, Vec::<String>::new());
    // A wrong path or query: refused before the session is established.
    for path in [
        "/other/?EIO=4&transport=webtransport",
        "/socket.io/?EIO=3&transport=webtransport",
        "/socket.io/?transport=websocket",
    ] {
        let config = ClientConfig::builder()
            .with_bind_default()
            .with_server_certificate_hashes([wtransport::tls::Sha256Digest::new(hash)])
            .build();
        let endpoint = Endpoint::client(config).unwrap();
        let refused = endpoint
            .connect(format!("https://127.0.0.1:{}{path}", server.port))
            .await;
        assert!(refused.is_err(), "{path}");
    }

    // Over the payload limit, announced in the header: closed before the bytes come.
    let mut c = Client::connect(server.port, hash).await;
    c.text("0").await;
    c.next_text().await;
    c.write_raw(&[126, 0x10, 0x00]).await; // 4096 bytes announced
    c.until_closed().await;
    // A text frame that is not a packet, a zero-length frame: parse errors.
    for raw in [&b"\x029z"[..], b"\x00"] {
        let mut c = Client::connect(server.port, hash).await;
        c.text("0").await;
        c.next_text().await;
        c.text("40").await;
        c.next_text().await;
        c.write_raw(raw).await;
        c.until_closed().await;
    }
    // A peer that resets its stream, and one that vanishes without a word.
    let mut c = Client::connect(server.port, hash).await;
    c.text("0").await;
    c.next_text().await;
    c.text("40").await;
    c.next_text().await;
    c.send.reset(wtransport::VarInt::from_u32(7)).unwrap();
    let mut gone = Client::connect(server.port, hash).await;
    gone.text("0").await;
    gone.next_text().await;
    gone.conn.close(wtransport::VarInt::from_u32(0), b"bye");
    drop(gone);

    // Only the bystander is left, and it is served.
    eventually("only the bystander's session is left", || {
        server.io.engine_count() == 1
    })
    .await;
    bystander.text(r#"421["echo","fine"]"#).await;
    assert_eq!(bystander.next_text().await, r#"431["fine"]"#);
    assert_eq!(server.counts("/"), (1, 1, 1));
}
