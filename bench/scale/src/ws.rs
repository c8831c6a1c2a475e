//! The client side of Engine.IO v4 / Socket.IO v5 over a websocket, spoken directly
//! (text frames only), as the shared loadgen does: no client library in the measured path.
//!
//! Every TCP connection is set to close with RST (SO_LINGER 0): a soak of a million
//! connections would otherwise leave the client's ports in TIME_WAIT and run out of the
//! ~28k ephemeral ports of one source address.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use memchr::memmem;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::error::{Error, Result, within};

/// A websocket to the server.
pub type Ws = WebSocketStream<TcpStream>;

/// Where the server is and how long one step may take.
#[derive(Clone, Debug)]
pub struct Target {
    /// 127.0.0.1:port
    pub addr: SocketAddr,
    /// `Host` header
    pub host: String,
    /// the Engine.IO path, `/socket.io/`
    pub path: String,
    /// websocket read buffer per connection: frames here are small, and 19.5k connections
    /// with tungstenite's 128 KiB default would make the client the memory hog
    pub read_buffer: usize,
    /// bound of every single wait for the server (a handshake, an answer)
    pub step: Duration,
    /// connections take turns over 127.0.0.1..=127.0.0.N as source address (see [`tcp`])
    pub source_ips: u8,
    next_source: Arc<AtomicUsize>,
}

impl Target {
    /// The server on 127.0.0.1:`port`.
    pub fn new(port: u16, path: &str, step: Duration) -> Self {
        Target {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            host: format!("127.0.0.1:{port}"),
            path: path.to_string(),
            read_buffer: 1024,
            step,
            source_ips: 1,
            next_source: Arc::default(),
        }
    }
}

/// The Engine.IO open packet's fields that the scenarios use.
#[derive(Deserialize, Debug)]
pub struct Open {
    /// session id
    pub sid: String,
    /// ms between the server's pings
    #[serde(rename = "pingInterval", default)]
    pub ping_interval: u64,
    /// ms the server waits for a pong
    #[serde(rename = "pingTimeout", default)]
    pub ping_timeout: u64,
}

/// Parses `0{…}`.
pub fn parse_open(text: &str) -> Result<Open> {
    let json = text
        .strip_prefix('0')
        .ok_or_else(|| Error::Protocol(format!("expected an open packet, got {:.80}", text)))?;
    serde_json::from_str(json).map_err(|e| Error::Protocol(format!("open packet: {e}")))
}

/// A TCP connection to the server that closes with RST.
///
/// With `source_ips` > 1 the connection first binds to the next source address, port 0.
/// connect() alone picks its port by scanning the range for one whose 4-tuple is free, and
/// towards one server port that scan grows linear once about half of the ~28k ports are in
/// use: at 19.5k connections the client spent ~0.6 ms of kernel time per connect. Spread
/// over a few loopback addresses (all of 127.0.0.0/8 is local), each has few ports in use.
pub async fn tcp(t: &Target) -> Result<TcpStream> {
    let sock = TcpSocket::new_v4().map_err(|e| Error::Io("socket", e))?;
    sock.set_zero_linger()
        .map_err(|e| Error::Io("SO_LINGER", e))?;
    sock.set_nodelay(true)
        .map_err(|e| Error::Io("TCP_NODELAY", e))?;
    if t.source_ips > 1 {
        let n = t.next_source.fetch_add(1, Ordering::Relaxed) % usize::from(t.source_ips);
        let src = Ipv4Addr::new(127, 0, 0, 1 + n as u8);
        sock.bind(SocketAddr::from((src, 0)))
            .map_err(|e| Error::Io("bind source address", e))?;
    }
    sock.connect(t.addr)
        .await
        .map_err(|e| Error::Io("connect", e))
}

/// The websocket upgrade (RFC 6455 client side) of `tcp` with Engine.IO query `query`.
/// Done here rather than by tungstenite's client handshake, which would hand its 4 KiB
/// response buffer on as every connection's read buffer.
pub async fn upgrade_on(mut tcp: TcpStream, t: &Target, query: &str) -> Result<Ws> {
    let key = generate_key();
    let req = format!(
        "GET {}?{query} HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n",
        t.path, t.host
    );
    tcp.write_all(req.as_bytes())
        .await
        .map_err(|e| Error::Io("upgrade write", e))?;
    let mut buf = [0u8; 2048];
    let mut n = 0;
    let end = loop {
        if n == buf.len() {
            return Err(Error::Protocol("upgrade response head over 2 KiB".into()));
        }
        let r = tcp
            .read(&mut buf[n..])
            .await
            .map_err(|e| Error::Io("upgrade read", e))?;
        if r == 0 {
            return Err(Error::Closed("during the websocket upgrade"));
        }
        n += r;
        if let Some(p) = memmem::find(&buf[..n], b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if status.split(' ').nth(1) != Some("101") {
        return Err(Error::Protocol(format!("upgrade refused: {status}")));
    }
    let accept = derive_accept_key(key.as_bytes());
    let accepted = lines.any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("sec-websocket-accept") && v.trim() == accept
        })
    });
    if !accepted {
        return Err(Error::Protocol(
            "missing or wrong Sec-WebSocket-Accept".into(),
        ));
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(t.read_buffer)
        .write_buffer_size(0);
    Ok(
        WebSocketStream::from_partially_read(tcp, buf[end..n].to_vec(), Role::Client, Some(config))
            .await,
    )
}

/// TCP + websocket upgrade with query `query`, each bounded by `t.step`.
pub async fn upgrade(t: &Target, query: &str) -> Result<Ws> {
    within(t.step, "tcp connect + websocket upgrade", async {
        let tcp = tcp(t).await?;
        upgrade_on(tcp, t, query).await
    })
    .await
}

/// A new Engine.IO session over a websocket: upgrade, then the open packet.
pub async fn open(t: &Target) -> Result<(Ws, Open)> {
    let mut ws = upgrade(t, "EIO=4&transport=websocket").await?;
    let text = within(t.step, "open packet", recv(&mut ws)).await?;
    let open = parse_open(&text)?;
    Ok((ws, open))
}

/// The next text frame (websocket pings and pongs skipped).
pub async fn recv(ws: &mut Ws) -> Result<Utf8Bytes> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t),
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            Some(Ok(Message::Binary(_))) => {
                return Err(Error::Protocol("unexpected binary frame".into()));
            }
            Some(Ok(Message::Close(_))) | None => return Err(Error::Closed("websocket")),
            Some(Err(e)) => return Err(e.into()),
        }
    }
}

/// The next text frame that is not an Engine.IO ping; pings are answered on the way.
pub async fn recv_app(ws: &mut Ws) -> Result<Utf8Bytes> {
    loop {
        let t = recv(ws).await?;
        if t.as_str() == "2" {
            send(ws, "3").await?;
        } else {
            return Ok(t);
        }
    }
}

/// Sends one text frame.
pub async fn send(ws: &mut Ws, text: &str) -> Result<()> {
    ws.send(Message::Text(Utf8Bytes::from(text.to_string())))
        .await
        .map_err(Error::from)
}

/// Sends a text frame that is already shared (one broadcast request, sent many times).
pub async fn send_bytes(ws: &mut Ws, text: &Utf8Bytes) -> Result<()> {
    ws.send(Message::Text(text.clone()))
        .await
        .map_err(Error::from)
}

/// Sends a websocket close frame (a client's orderly goodbye).
pub async fn close(ws: &mut Ws) -> Result<()> {
    ws.send(Message::Close(None)).await.map_err(Error::from)
}

/// `nsp`'s prefix in Socket.IO packets: nothing for `/`, `/custom,` otherwise.
pub fn nsp_prefix(nsp: &str) -> String {
    if nsp == "/" {
        String::new()
    } else {
        format!("{nsp},")
    }
}

/// How the server answered a CONNECT.
#[derive(Debug, PartialEq, Eq)]
pub enum Connect {
    /// `40…{"sid":…}`
    Ok,
    /// `44…{…}`: the payload after the prefix
    Refused(String),
}

/// Sends CONNECT to `nsp` (with `auth` JSON) and waits for CONNECT or CONNECT_ERROR of that
/// namespace, answering pings meanwhile; any other packet is a protocol error.
pub async fn connect_nsp(
    ws: &mut Ws,
    t: &Target,
    nsp: &str,
    auth: Option<&str>,
) -> Result<Connect> {
    let prefix = nsp_prefix(nsp);
    send(ws, &format!("40{prefix}{}", auth.unwrap_or(""))).await?;
    within(t.step, "CONNECT answer", async {
        let text = recv_app(ws).await?;
        let s = text.as_str();
        if let Some(rest) = s
            .strip_prefix("40")
            .and_then(|r| r.strip_prefix(prefix.as_str()))
        {
            if rest.starts_with('{') {
                return Ok(Connect::Ok);
            }
        }
        if let Some(rest) = s
            .strip_prefix("44")
            .and_then(|r| r.strip_prefix(prefix.as_str()))
        {
            if rest.starts_with('{') {
                return Ok(Connect::Refused(rest.to_string()));
            }
        }
        Err(Error::Protocol(format!(
            "expected CONNECT/CONNECT_ERROR of {nsp}, got {s:.120}"
        )))
    })
    .await
}

/// A parsed ACK packet `43[/nsp,]<id>[…]`: namespace, id, and the JSON array of arguments.
pub fn parse_ack(text: &str) -> Option<(&str, u64, &str)> {
    let rest = text.strip_prefix("43")?;
    let (nsp, rest) = match rest.strip_prefix('/') {
        Some(_) => {
            let comma = rest.find(',')?;
            (&rest[..comma], &rest[comma + 1..])
        }
        None => ("/", rest),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = rest[..digits].parse().ok()?;
    Some((nsp, id, &rest[digits..]))
}

/// The digits after the first `"i":` in `b`, the broadcast index of a `bcast` event.
pub fn field_i(b: &[u8]) -> Option<u64> {
    let at = memmem::find(b, b"\"i\":")? + 4;
    let digits = b[at..].iter().take_while(|c| c.is_ascii_digit()).count();
    std::str::from_utf8(&b[at..at + digits]).ok()?.parse().ok()
}

/// `42["bcast"`: a broadcast delivery (the servers may reorder the object's keys).
pub const BCAST_PREFIX: &[u8] = b"42[\"bcast\"";

/// A shared text frame from a string (for the broadcast request).
pub fn shared_text(s: String) -> Utf8Bytes {
    Utf8Bytes::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_of_every_namespace() {
        assert_eq!(parse_ack("4312[1]"), Some(("/", 12, "[1]")));
        assert_eq!(
            parse_ack("43/custom,7[{\"a\":1}]"),
            Some(("/custom", 7, "[{\"a\":1}]"))
        );
        assert_eq!(parse_ack("42[\"x\"]"), None);
        assert_eq!(parse_ack("43/custom"), None);
    }

    #[test]
    fn broadcast_index_in_any_key_order() {
        assert_eq!(field_i(br#"42["bcast",{"i":42,"p":"x"}]"#), Some(42));
        assert_eq!(field_i(br#"42["bcast",{"p":"x","i":7}]"#), Some(7));
        assert_eq!(field_i(br#"42["bcast",{"p":"x"}]"#), None);
    }

    #[test]
    fn open_packet() {
        let o = parse_open(r#"0{"sid":"abc","upgrades":[],"pingInterval":300}"#).unwrap();
        assert_eq!(o.sid, "abc");
        assert!(parse_open("40").is_err());
    }
}
