//! Engine.IO packets on a WebTransport stream (engine.io 6.5+, engine.io-client 6.5+).
//!
//! A WebTransport session carries Engine.IO on one bidirectional stream that the client
//! opens. A stream is a byte stream, not a sequence of messages, so each packet is framed as
//! engine.io-parser's `createPacketEncoderStream` frames it, after the WebSocket header:
//!
//! | header | payload length | then |
//! | --- | --- | --- |
//! | `0b B LLLLLLL`, L < 126 | L | the payload |
//! | `0b B 1111110`, then 2 bytes (big-endian) | 126 ..= 65,535 | the payload |
//! | `0b B 1111111`, then 8 bytes (big-endian) | 65,536 and more | the payload |
//!
//! `B`, the high bit, is 1 for a binary message (the payload is its bytes, as in a WebSocket
//! binary message) and 0 for a text packet (the payload is its UTF-8, type digit first:
//! `4hello`, `2`). The first packet on the stream is the client's `open`: `0` for a new
//! session, or `0{"sid":"…"}` to upgrade an existing one (see [`open_sid`]).
//!
//! ```
//! use sio_protocol::engine::{Frame, PacketType};
//! use sio_protocol::webtransport::{Decoder, encode};
//!
//! let mut wire = Vec::new();
//! encode(&Frame::text(PacketType::Message, "hello"), &mut wire);
//! assert_eq!(wire, b"\x064hello");
//!
//! // The bytes may come in any pieces.
//! let mut decoder = Decoder::new(1_000_000);
//! decoder.push(&wire[..3]);
//! assert_eq!(decoder.next_frame(), Ok(None));
//! decoder.push(&wire[3..]);
//! assert_eq!(decoder.next_frame()?.and_then(|f| f.as_text().map(str::to_owned)).as_deref(), Some("4hello"));
//! # Ok::<(), sio_protocol::webtransport::FrameError>(())
//! ```

use alloc::borrow::Cow;

use bytes::{Buf, BufMut, BytesMut};
use thiserror::Error;

use crate::DecodeError;
use crate::engine::Frame;
use crate::jsonstr::parse_prefix;

/// The high bit of the first header byte: the payload is a binary message.
const BINARY: u8 = 0x80;
/// The first header byte's length bits saying a 16-bit length follows.
const LEN16: u8 = 126;
/// … and a 64-bit length.
const LEN64: u8 = 127;

/// Why the bytes of a stream are not Engine.IO frames. The stream cannot be read further:
/// its session is to be closed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// A frame announced no payload (engine.io-parser refuses it too: no packet is empty).
    #[error("empty frame")]
    Empty,
    /// A frame announced more bytes than the session's `maxPayload`.
    #[error("frame of {len} bytes is over the {max}-byte limit")]
    TooLarge {
        /// The announced length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A text frame is not UTF-8 starting with a packet type digit.
    #[error("text frame is not an Engine.IO packet")]
    NotAPacket,
}

/// A frame header: 1, 3 or 9 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    bytes: [u8; 9],
    len: u8,
}

impl Header {
    /// The header of a payload of `len` bytes, binary or text.
    pub fn new(len: usize, binary: bool) -> Self {
        let mut bytes = [0u8; 9];
        let n = if len < usize::from(LEN16) {
            // < 126: fits in the 7 bits.
            bytes[0] = len as u8;
            1
        } else if let Ok(short) = u16::try_from(len) {
            bytes[0] = LEN16;
            bytes[1..3].copy_from_slice(&short.to_be_bytes());
            3
        } else {
            bytes[0] = LEN64;
            bytes[1..9].copy_from_slice(&(len as u64).to_be_bytes());
            9
        };
        if binary {
            bytes[0] |= BINARY;
        }
        Header { bytes, len: n }
    }

    /// The header of `frame`.
    pub fn of(frame: &Frame) -> Self {
        Self::new(frame.len(), matches!(frame, Frame::Binary(_)))
    }

    /// Its bytes, to write before the payload.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Appends `frame`, header and payload, to `out`. (A writer that can send two buffers
/// writes [`Header::of`] and then the frame's shared bytes, without this copy.)
pub fn encode<B: BufMut + ?Sized>(frame: &Frame, out: &mut B) {
    let payload = match frame {
        Frame::Text(b) | Frame::Binary(b) => b,
    };
    out.put_slice(Header::of(frame).as_bytes());
    out.put_slice(payload);
}

/// What the decoder waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// The first header byte.
    Header,
    /// `n` more length bytes (2 or 8).
    Length { binary: bool, n: usize },
    /// A payload of `len` bytes.
    Payload { binary: bool, len: usize },
    /// A frame was malformed: nothing more is read.
    Failed(FrameError),
}

/// Reads frames out of the stream's bytes, as they come (engine.io-parser's
/// `createPacketDecoderStream`). It holds at most one frame's bytes plus the last chunk
/// pushed: a length over `max_payload` is refused from its header, before its bytes come.
#[derive(Debug)]
pub struct Decoder {
    buf: BytesMut,
    max_payload: usize,
    state: State,
}

impl Decoder {
    /// A decoder refusing payloads over `max_payload` bytes.
    pub fn new(max_payload: usize) -> Self {
        Decoder {
            buf: BytesMut::new(),
            max_payload,
            state: State::Header,
        }
    }

    /// Adds bytes read from the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        if !matches!(self.state, State::Failed(_)) {
            self.buf.extend_from_slice(chunk);
        }
    }

    /// Bytes pushed and not yet part of a frame returned.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole frame, `None` until its last byte has been pushed. After an error
    /// every call returns it again.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        loop {
            match self.state.clone() {
                State::Failed(e) => return Err(e),
                State::Header => {
                    if self.buf.is_empty() {
                        return Ok(None);
                    }
                    let first = self.buf.get_u8();
                    let binary = first & BINARY != 0;
                    self.state = match first & !BINARY {
                        LEN16 => State::Length { binary, n: 2 },
                        LEN64 => State::Length { binary, n: 8 },
                        len => self.payload(binary, u64::from(len))?,
                    };
                }
                State::Length { binary, n } => {
                    if self.buf.len() < n {
                        return Ok(None);
                    }
                    let len = if n == 2 {
                        u64::from(self.buf.get_u16())
                    } else {
                        self.buf.get_u64()
                    };
                    self.state = self.payload(binary, len)?;
                }
                State::Payload { binary, len } => {
                    if self.buf.len() < len {
                        return Ok(None);
                    }
                    let bytes = self.buf.split_to(len).freeze();
                    self.state = State::Header;
                    let frame = if binary {
                        Some(Frame::Binary(bytes))
                    } else {
                        Frame::from_text_bytes(bytes)
                    };
                    return match frame {
                        Some(frame) => Ok(Some(frame)),
                        None => Err(self.fail(FrameError::NotAPacket)),
                    };
                }
            }
        }
    }

    /// The state after a header announcing `len` bytes, or the error it is.
    fn payload(&mut self, binary: bool, len: u64) -> Result<State, FrameError> {
        if len == 0 {
            return Err(self.fail(FrameError::Empty));
        }
        match usize::try_from(len) {
            Ok(len) if len <= self.max_payload => Ok(State::Payload { binary, len }),
            _ => Err(self.fail(FrameError::TooLarge {
                len,
                max: self.max_payload,
            })),
        }
    }

    fn fail(&mut self, e: FrameError) -> FrameError {
        self.state = State::Failed(e.clone());
        self.buf = BytesMut::new();
        e
    }
}

/// The session id of the client's first packet on the stream: `None` for `0` (a new
/// session), `Some(sid)` for `0{"sid":"…"}` (an upgrade of that session, the object
/// engine.io-client writes); an `Err` for anything else, which upstream answers by closing
/// the session.
///
/// ```
/// use sio_protocol::webtransport::open_sid;
/// assert_eq!(open_sid("0"), Ok(None));
/// assert_eq!(open_sid(r#"0{"sid":"abc"}"#), Ok(Some("abc".into())));
/// assert!(open_sid("4hello").is_err());
/// ```
pub fn open_sid(first: &str) -> Result<Option<Cow<'_, str>>, DecodeError> {
    let data = first.strip_prefix('0').ok_or(DecodeError::InvalidPayload)?;
    if data.is_empty() {
        return Ok(None);
    }
    sid_object(data)
        .filter(|sid| !sid.is_empty())
        .map(Some)
        .ok_or(DecodeError::InvalidPayload)
}

/// The `sid` of `{"sid":"…"}` (whitespace allowed), None for any other text.
fn sid_object(data: &str) -> Option<Cow<'_, str>> {
    let rest = data.trim_start().strip_prefix('{')?.trim_start();
    let (key, rest) = parse_prefix(rest).ok()?;
    if key != "sid" {
        return None;
    }
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let (sid, rest) = parse_prefix(rest).ok()?;
    (rest.trim() == "}").then_some(sid)
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use bytes::Bytes;

    use super::*;
    use crate::engine::PacketType;

    fn wire(frame: &Frame) -> Vec<u8> {
        let mut out = Vec::new();
        encode(frame, &mut out);
        out
    }

    #[test]
    fn headers_as_engine_io_parser_writes_them() {
        assert_eq!(Header::new(1, false).as_bytes(), [1]);
        assert_eq!(Header::new(125, true).as_bytes(), [0x80 | 125]);
        assert_eq!(Header::new(126, false).as_bytes(), [126, 0, 126]);
        assert_eq!(
            Header::new(65_535, true).as_bytes(),
            [0x80 | 126, 0xff, 0xff]
        );
        assert_eq!(
            Header::new(65_536, false).as_bytes(),
            [127, 0, 0, 0, 0, 0, 1, 0, 0]
        );
        assert_eq!(wire(&Frame::bare(PacketType::Ping)), b"\x012");
        assert_eq!(
            wire(&Frame::Binary(Bytes::from_static(&[1, 2, 3]))),
            [0x83, 1, 2, 3]
        );
    }

    #[test]
    fn frames_come_back_whatever_the_pieces() {
        let frames = [
            Frame::text(PacketType::Open, ""),
            Frame::text(PacketType::Message, "héllo"),
            Frame::Binary(Bytes::from(alloc::vec![7u8; 300])),
            Frame::text(PacketType::Message, &"x".repeat(70_000)),
            Frame::bare(PacketType::Pong),
        ];
        let all: Vec<u8> = frames.iter().flat_map(wire).collect();
        for piece in [1, 2, 3, 7, 1000, all.len()] {
            let mut d = Decoder::new(100_000);
            let mut got = Vec::new();
            for chunk in all.chunks(piece) {
                d.push(chunk);
                while let Some(f) = d.next_frame().unwrap() {
                    got.push(f);
                }
            }
            assert_eq!(got, frames, "pieces of {piece}");
            assert_eq!(d.buffered(), 0);
        }
    }

    #[test]
    fn bad_frames_end_the_stream() {
        let mut d = Decoder::new(10);
        d.push(&[0]);
        assert_eq!(d.next_frame(), Err(FrameError::Empty));
        d.push(b"\x012");
        assert_eq!(d.next_frame(), Err(FrameError::Empty), "and stays failed");

        // Refused from the header, before any of the payload.
        let mut d = Decoder::new(10);
        d.push(&[11]);
        assert_eq!(
            d.next_frame(),
            Err(FrameError::TooLarge { len: 11, max: 10 })
        );
        let mut d = Decoder::new(1_000_000);
        d.push(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(
            d.next_frame(),
            Err(FrameError::TooLarge {
                len: u64::MAX,
                max: 1_000_000
            })
        );
        let mut d = Decoder::new(1_000_000);
        d.push(&[126, 0x40]);
        assert_eq!(d.next_frame(), Ok(None), "half a 16-bit length");
        d.push(&[0x00]);
        assert_eq!(
            d.next_frame(),
            Ok(None),
            "16,384 bytes are allowed: waiting for them"
        );
        assert_eq!(d.buffered(), 0);

        for text in [&b"\x029x"[..], b"\x024\xff", b"\x01\x00"] {
            let mut d = Decoder::new(10);
            d.push(text);
            assert_eq!(d.next_frame(), Err(FrameError::NotAPacket), "{text:?}");
        }
        // A binary frame is a message whatever its bytes.
        let mut d = Decoder::new(10);
        d.push(&[0x82, 0xff, 0x00]);
        assert_eq!(
            d.next_frame(),
            Ok(Some(Frame::Binary(Bytes::from_static(&[0xff, 0]))))
        );
    }

    #[test]
    fn open_packets() {
        assert_eq!(open_sid("0"), Ok(None));
        assert_eq!(open_sid(r#"0{"sid":"Xy-_1"}"#), Ok(Some("Xy-_1".into())));
        assert_eq!(
            open_sid(r#"0 { "sid" : "a\u0062" } "#),
            Ok(Some("ab".into()))
        );
        for bad in [
            "",
            "1",
            "4",
            r#"0{"sid":""}"#,
            "0{",
            r#"0{"sid":3}"#,
            "0[]",
            r#"0{"sid":"a","x":1}"#,
        ] {
            assert!(open_sid(bad).is_err(), "{bad:?}");
        }
    }
}
