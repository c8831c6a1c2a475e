//! Engine.IO v4 packets.
//!
//! A text packet is its type digit followed by its data (`4hello`, `2probe`). A binary
//! packet is always a message and carries no type byte on WebSocket; over polling it is a
//! `b<base64>` record (see [`crate::payload`]).

use bytes::{BufMut, Bytes, BytesMut};

use crate::DecodeError;

/// The Engine.IO packet types and their wire digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: handshake, sent by the server with the session parameters.
    Open = b'0',
    /// `1`: the session is closing.
    Close = b'1',
    /// `2`: heartbeat request (`2probe` during an upgrade).
    Ping = b'2',
    /// `3`: heartbeat answer (`3probe` during an upgrade).
    Pong = b'3',
    /// `4`: application data.
    Message = b'4',
    /// `5`: the client switches to the probed transport.
    Upgrade = b'5',
    /// `6`: no-op, used to release a pending poll during an upgrade.
    Noop = b'6',
}

impl PacketType {
    /// The type encoded by the wire digit `b`.
    pub fn from_digit(b: u8) -> Option<Self> {
        Some(match b {
            b'0' => Self::Open,
            b'1' => Self::Close,
            b'2' => Self::Ping,
            b'3' => Self::Pong,
            b'4' => Self::Message,
            b'5' => Self::Upgrade,
            b'6' => Self::Noop,
            _ => return None,
        })
    }

    /// The wire digit of this type.
    pub fn digit(self) -> u8 {
        self as u8
    }
}

/// A decoded Engine.IO packet, borrowing from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// Handshake data (JSON).
    Open(&'a str),
    /// Close.
    Close,
    /// Ping with its data (`"probe"` or empty).
    Ping(&'a str),
    /// Pong with its data.
    Pong(&'a str),
    /// A text message.
    Message(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
    /// Upgrade.
    Upgrade,
    /// No-op.
    Noop,
}

/// Decodes a text packet: one WebSocket text message or one text record of a polling payload.
///
/// ```
/// use sio_protocol::engine::{decode_text, Packet};
/// assert_eq!(decode_text("2probe"), Ok(Packet::Ping("probe")));
/// assert!(decode_text("9").is_err());
/// ```
pub fn decode_text(text: &str) -> Result<Packet<'_>, DecodeError> {
    let first = *text.as_bytes().first().ok_or(DecodeError::Empty)?;
    let kind = PacketType::from_digit(first).ok_or_else(|| {
        DecodeError::UnknownType(text.chars().next().unwrap_or(char::REPLACEMENT_CHARACTER))
    })?;
    // The first byte is an ASCII digit, so index 1 is a char boundary (`get` rather than
    // indexing keeps a panic path out of the wasm client).
    let data = text.get(1..).unwrap_or_default();
    Ok(match kind {
        PacketType::Open => Packet::Open(data),
        PacketType::Close => Packet::Close,
        PacketType::Ping => Packet::Ping(data),
        PacketType::Pong => Packet::Pong(data),
        PacketType::Message => Packet::Message(data),
        PacketType::Upgrade => Packet::Upgrade,
        PacketType::Noop => Packet::Noop,
    })
}

/// One Engine.IO packet ready for the wire, shared without copying: cloning a frame to send
/// it to many connections only bumps a reference count.
///
/// A text frame holds the whole packet, type digit included (`4…`), and is valid UTF-8; a
/// binary frame holds the bytes of a binary message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Frame {
    /// A text packet, type digit included. Always valid UTF-8.
    Text(Bytes),
    /// The bytes of a binary message.
    Binary(Bytes),
}

impl Frame {
    /// A text packet of type `kind` with `data`.
    pub fn text(kind: PacketType, data: &str) -> Self {
        let mut buf = BytesMut::with_capacity(1 + data.len());
        buf.put_u8(kind.digit());
        buf.put_slice(data.as_bytes());
        Frame::Text(buf.freeze())
    }

    /// A text frame with no data, such as `2` or `6`.
    pub const fn bare(kind: PacketType) -> Self {
        Frame::Text(Bytes::from_static(match kind {
            PacketType::Open => b"0",
            PacketType::Close => b"1",
            PacketType::Ping => b"2",
            PacketType::Pong => b"3",
            PacketType::Message => b"4",
            PacketType::Upgrade => b"5",
            PacketType::Noop => b"6",
        }))
    }

    /// Wraps an already encoded text packet (type digit first).
    ///
    /// Returns `None` if `text` is not valid UTF-8 or does not start with a packet type.
    pub fn from_text_bytes(text: Bytes) -> Option<Self> {
        let first = *text.first()?;
        PacketType::from_digit(first)?;
        core::str::from_utf8(&text).ok()?;
        Some(Frame::Text(text))
    }

    /// The text of a text frame.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            // Text frames are built from `&str` or checked at construction.
            Frame::Text(b) => core::str::from_utf8(b).ok(),
            Frame::Binary(_) => None,
        }
    }

    /// Bytes on the wire for a WebSocket transport (text or binary payload).
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(b) | Frame::Binary(b) => b.len(),
        }
    }

    /// Whether the frame carries no bytes at all (never the case for a valid text frame).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Writes a text message header (`4`) into `out`; the caller appends the message data.
pub fn begin_message<B: BufMut + ?Sized>(out: &mut B) {
    out.put_u8(PacketType::Message.digit());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_type() {
        assert_eq!(decode_text("0{}"), Ok(Packet::Open("{}")));
        assert_eq!(decode_text("1"), Ok(Packet::Close));
        assert_eq!(decode_text("2"), Ok(Packet::Ping("")));
        assert_eq!(decode_text("3probe"), Ok(Packet::Pong("probe")));
        assert_eq!(decode_text("4héllo"), Ok(Packet::Message("héllo")));
        assert_eq!(decode_text("5"), Ok(Packet::Upgrade));
        assert_eq!(decode_text("6"), Ok(Packet::Noop));
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(decode_text(""), Err(DecodeError::Empty));
        assert_eq!(decode_text("7"), Err(DecodeError::UnknownType('7')));
        assert_eq!(decode_text("é4"), Err(DecodeError::UnknownType('é')));
        assert_eq!(decode_text("b4"), Err(DecodeError::UnknownType('b')));
    }

    #[test]
    fn frames() {
        assert_eq!(Frame::text(PacketType::Message, "x").as_text(), Some("4x"));
        assert_eq!(Frame::bare(PacketType::Noop).as_text(), Some("6"));
        assert!(Frame::from_text_bytes(Bytes::from_static(b"9x")).is_none());
        assert!(Frame::from_text_bytes(Bytes::from_static(b"4\xff")).is_none());
        assert!(Frame::from_text_bytes(Bytes::from_static(b"")).is_none());
    }
}
