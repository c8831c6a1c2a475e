//! HTTP long-polling payloads: several Engine.IO packets in one body.
//!
//! Records are separated by the record separator `\x1e`. A text packet is written as is; a
//! binary message becomes `b` followed by its standard base64.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use sio_protocol::engine::{Frame, Packet, PacketType};
//! use sio_protocol::payload::{self, Record};
//!
//! let frames = [Frame::text(PacketType::Message, "hi"), Frame::Binary(Bytes::from_static(&[1, 2, 3]))];
//! let mut body = BytesMut::new();
//! payload::encode(&frames, &mut body);
//! assert_eq!(&body[..], b"4hi\x1ebAQID");
//!
//! let body = std::str::from_utf8(&body).unwrap();
//! let records: Vec<_> = payload::decode(body).collect::<Result<_, _>>().unwrap();
//! assert_eq!(records[0], Record::Packet(Packet::Message("hi")));
//! assert_eq!(records[1], Record::Binary(vec![1, 2, 3]));
//! ```

use alloc::vec::Vec;

use bytes::{BufMut, BytesMut};

use crate::DecodeError;
use crate::engine::{self, Frame, Packet};

/// The record separator between packets of one payload.
pub const SEPARATOR: u8 = 0x1e;

/// One record of a decoded payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record<'a> {
    /// A text packet, borrowing from the body.
    Packet(Packet<'a>),
    /// A binary message, decoded from base64.
    Binary(Vec<u8>),
}

/// Decodes a polling body into its records, lazily. An empty body or an empty record is an
/// error; callers should stop at the first error, as Engine.IO does.
pub fn decode(body: &str) -> impl Iterator<Item = Result<Record<'_>, DecodeError>> {
    // A byte search rather than `str::split`: the separator is ASCII, and this is a fraction
    // of the code in the wasm client.
    let mut rest = Some(body);
    core::iter::from_fn(move || {
        let r = rest?;
        let (record, next) = match r.bytes().position(|b| b == SEPARATOR) {
            Some(i) => (r.get(..i)?, r.get(i + 1..)),
            None => (r, None),
        };
        rest = next;
        Some(decode_record(record))
    })
}

fn decode_record(record: &str) -> Result<Record<'_>, DecodeError> {
    match record.strip_prefix('b') {
        Some(b64) => crate::base64::decode(b64.as_bytes())
            .map(Record::Binary)
            .ok_or(DecodeError::BadBase64),
        None => engine::decode_text(record).map(Record::Packet),
    }
}

/// Appends `frames` to `out` as one payload.
pub fn encode<'a>(frames: impl IntoIterator<Item = &'a Frame>, out: &mut BytesMut) {
    for (i, frame) in frames.into_iter().enumerate() {
        if i > 0 {
            out.put_u8(SEPARATOR);
        }
        write_record(frame, out);
    }
}

/// Appends one frame as a payload record, without separator.
pub fn write_record(frame: &Frame, out: &mut BytesMut) {
    match frame {
        Frame::Text(text) => out.put_slice(text),
        Frame::Binary(bin) => write_binary_record(bin, out),
    }
}

/// Appends a binary message as a payload record (`b` + base64), without separator. With
/// [`SEPARATOR`] and text packets as they are, this is all a payload writer needs; the
/// browser client builds its payloads from it.
pub fn write_binary_record<B: BufMut + ?Sized>(bin: &[u8], out: &mut B) {
    out.put_u8(b'b');
    crate::base64::encode(bin, out);
}

/// The number of bytes `frame` takes as a payload record.
pub fn record_len(frame: &Frame) -> usize {
    match frame {
        Frame::Text(text) => text.len(),
        Frame::Binary(bin) => 1 + bin.len().div_ceil(3) * 4,
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::engine::PacketType;

    fn records(body: &str) -> Result<Vec<Record<'_>>, DecodeError> {
        decode(body).collect()
    }

    #[test]
    fn decodes_several_packets() {
        assert_eq!(
            records("2\x1e4abc\x1e6"),
            Ok(vec![
                Record::Packet(Packet::Ping("")),
                Record::Packet(Packet::Message("abc")),
                Record::Packet(Packet::Noop),
            ])
        );
        assert_eq!(records("b"), Ok(vec![Record::Binary(vec![])]));
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(records(""), Err(DecodeError::Empty));
        assert_eq!(records("4a\x1e"), Err(DecodeError::Empty));
        assert_eq!(records("\x1e4a"), Err(DecodeError::Empty));
        assert_eq!(records("b!!!"), Err(DecodeError::BadBase64));
        assert_eq!(records("bAQI="), Ok(vec![Record::Binary(vec![1, 2])]));
        assert_eq!(records("x"), Err(DecodeError::UnknownType('x')));
    }

    #[test]
    fn encodes_with_separators_and_base64() {
        let frames = [
            Frame::bare(PacketType::Noop),
            Frame::Binary(Bytes::from_static(b"\x00\xff")),
            Frame::text(PacketType::Message, "x"),
        ];
        let mut out = BytesMut::new();
        encode(&frames, &mut out);
        assert_eq!(&out[..], b"6\x1ebAP8=\x1e4x");
        assert_eq!(frames.iter().map(record_len).sum::<usize>() + 2, out.len());
    }
}
