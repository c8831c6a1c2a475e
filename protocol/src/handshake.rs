//! The Engine.IO handshake.

use bytes::{BufMut, BytesMut};

use crate::{jsonstr, socket};

/// The data of the server's open packet (`0{…}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPacket<'a> {
    /// The session id, used as `sid` in every later request of the session.
    pub sid: &'a str,
    /// Transports the client may upgrade to (`["websocket"]` over polling, else empty).
    pub upgrades: &'a [&'a str],
    /// Milliseconds between two pings of the server.
    pub ping_interval: u64,
    /// Milliseconds the server waits for a pong.
    pub ping_timeout: u64,
    /// The largest message or polling body the server accepts, in bytes.
    pub max_payload: u64,
}

impl OpenPacket<'_> {
    /// Writes the whole open packet, `0` included, as Engine.IO 4 servers do.
    ///
    /// ```
    /// use sio_protocol::handshake::OpenPacket;
    /// let mut out = bytes::BytesMut::new();
    /// OpenPacket { sid: "a", upgrades: &["websocket"], ping_interval: 25000, ping_timeout: 20000, max_payload: 1000000 }
    ///     .write(&mut out);
    /// assert_eq!(&out[..], br#"0{"sid":"a","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#);
    /// ```
    pub fn write(&self, out: &mut BytesMut) {
        out.put_slice(b"0{\"sid\":");
        jsonstr::write(out, self.sid);
        out.put_slice(b",\"upgrades\":[");
        for (i, u) in self.upgrades.iter().enumerate() {
            if i > 0 {
                out.put_u8(b',');
            }
            jsonstr::write(out, u);
        }
        out.put_slice(b"],\"pingInterval\":");
        socket::write_decimal(out, self.ping_interval);
        out.put_slice(b",\"pingTimeout\":");
        socket::write_decimal(out, self.ping_timeout);
        out.put_slice(b",\"maxPayload\":");
        socket::write_decimal(out, self.max_payload);
        out.put_u8(b'}');
    }
}
