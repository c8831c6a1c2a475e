use bytes::{Bytes, BytesMut};
use sio_protocol::DecodeError;
use sio_protocol::engine::{self, Frame, Packet, PacketType};
use sio_protocol::payload::{self, Record};

/// Engine.IO packets: `decode_text` on WebSocket text messages, and the binary messages that
/// polling carries as `b<base64>` records.
pub fn engine(data: &[u8]) {
    let text = std::str::from_utf8(data).ok();
    let decoded = text.map(engine::decode_text);
    // The server wraps already-encoded text with `from_text_bytes`: it must accept exactly
    // what the decoder accepts.
    let wrapped = Frame::from_text_bytes(Bytes::copy_from_slice(data));
    assert_eq!(
        wrapped.is_some(),
        matches!(decoded, Some(Ok(_))),
        "{data:?}"
    );
    if let (Some(text), Some(decoded)) = (text, decoded) {
        text_packet(text, decoded);
    }
    binary_message(data);
}

fn text_packet(text: &str, decoded: Result<Packet<'_>, DecodeError>) {
    let packet = match decoded {
        Ok(p) => p,
        Err(DecodeError::Empty) => return assert!(text.is_empty()),
        Err(DecodeError::UnknownType(c)) => {
            return assert_eq!(text.chars().next(), Some(c));
        }
        Err(e) => panic!("{text:?}: unexpected error {e:?}"),
    };
    let frame = to_frame(&packet);
    let encoded = frame.as_text().unwrap_or_else(|| panic!("{frame:?}"));
    assert_eq!(engine::decode_text(encoded), Ok(packet), "{text:?}");
    match data_of(&packet) {
        // Packets with data keep all of it: the encoding is the input.
        Some(d) => {
            assert_eq!(d, text.get(1..).unwrap_or_default());
            assert_eq!(encoded, text);
        }
        None => assert_eq!(encoded.len(), 1),
    }
    // A text packet is a polling record as it is, unless it holds a separator.
    if !text.contains('\u{1e}') {
        let records: Vec<_> = payload::decode(text).collect();
        assert_eq!(records, [Ok(Record::Packet(packet))], "{text:?}");
    }
}

fn binary_message(data: &[u8]) {
    let frame = Frame::Binary(Bytes::copy_from_slice(data));
    let mut body = BytesMut::new();
    payload::write_record(&frame, &mut body);
    assert_eq!(body.len(), payload::record_len(&frame));
    let body = std::str::from_utf8(&body).unwrap_or_else(|e| panic!("{e}"));
    let records: Vec<_> = payload::decode(body).collect();
    assert_eq!(records, [Ok(Record::Binary(data.to_vec()))]);
}

pub(crate) fn kind_of(p: &Packet<'_>) -> PacketType {
    match p {
        Packet::Open(_) => PacketType::Open,
        Packet::Close => PacketType::Close,
        Packet::Ping(_) => PacketType::Ping,
        Packet::Pong(_) => PacketType::Pong,
        Packet::Message(_) | Packet::Binary(_) => PacketType::Message,
        Packet::Upgrade => PacketType::Upgrade,
        Packet::Noop => PacketType::Noop,
    }
}

pub(crate) fn data_of<'a>(p: &Packet<'a>) -> Option<&'a str> {
    match *p {
        Packet::Open(d) | Packet::Ping(d) | Packet::Pong(d) | Packet::Message(d) => Some(d),
        _ => None,
    }
}

/// The frame a sender would make of `p`.
pub(crate) fn to_frame(p: &Packet<'_>) -> Frame {
    match (p, data_of(p)) {
        (Packet::Binary(b), _) => Frame::Binary(Bytes::copy_from_slice(b)),
        (_, Some(d)) => Frame::text(kind_of(p), d),
        (_, None) => Frame::bare(kind_of(p)),
    }
}
