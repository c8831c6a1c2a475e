use bytes::Bytes;
use sio_protocol::DecodeError;
use sio_protocol::binary::Reassembler;
use sio_protocol::socket::{self, PacketType};

/// One Engine.IO message of a session.
enum Frame<'a> {
    Text(&'a [u8]),
    Binary(&'a [u8]),
}

/// Frames from the input: a tag byte (even: text, odd: binary), a length byte, the bytes.
fn frames(mut data: &[u8]) -> impl Iterator<Item = Frame<'_>> {
    std::iter::from_fn(move || {
        let (&tag, rest) = data.split_first()?;
        let (&len, rest) = rest.split_first().unwrap_or((&0, rest));
        let (bytes, rest) = rest.split_at(usize::from(len).min(rest.len()));
        data = rest;
        Some(if tag % 2 == 0 {
            Frame::Text(bytes)
        } else {
            Frame::Binary(bytes)
        })
    })
}

/// What the reassembler must be doing, by the reference parser's rules.
struct Expected {
    header: Bytes,
    count: usize,
    parts: Vec<Bytes>,
}

/// Binary attachment reassembly: a session's messages through `Reassembler` as the server
/// drives it (`client.rs`, `on_message`), checked against a model of the reference parser;
/// each packet it completes goes through argument decoding with its attachments.
///
/// The first byte is the attachment limit (0–7, so that it is reached); frames follow.
pub fn binary(data: &[u8]) {
    let Some((&max, data)) = data.split_first() else {
        return;
    };
    let max = usize::from(max % 8);
    let mut reassembler: Option<Reassembler<Bytes>> = None;
    let mut expected: Option<Expected> = None;
    for frame in frames(data) {
        let result = match frame {
            Frame::Text(bytes) => {
                // WebSocket text is UTF-8, and so is what reaches the Socket.IO layer.
                let Ok(text) = std::str::from_utf8(bytes) else {
                    continue;
                };
                let Ok(header) = socket::decode(text) else {
                    // A protocol error: the server closes the session.
                    reassembler = None;
                    expected = None;
                    continue;
                };
                let pending = reassembler.as_ref().is_some_and(|r| r.is_pending());
                assert_eq!(pending, expected.is_some());
                if header.attachments == 0 && !pending {
                    complete(text, &[]);
                    continue;
                }
                let owned = Bytes::copy_from_slice(bytes);
                let r = reassembler.get_or_insert_with(|| Reassembler::new(max));
                let result = r.on_header(owned.clone(), header.attachments);
                let model = match expected.take() {
                    Some(_) => Err(DecodeError::UnexpectedFrame("text")),
                    None if header.attachments > max => {
                        Err(DecodeError::TooManyAttachments(header.attachments))
                    }
                    None => {
                        expected = Some(Expected {
                            header: owned,
                            count: header.attachments,
                            parts: Vec::new(),
                        });
                        Ok(None)
                    }
                };
                assert_eq!(result, model, "header {text:?}");
                result
            }
            Frame::Binary(bytes) => {
                let bytes = Bytes::copy_from_slice(bytes);
                let result = match reassembler.as_mut() {
                    Some(r) => r.on_binary(bytes.clone()),
                    None => Err(DecodeError::UnexpectedFrame("binary")),
                };
                let model = match expected.take() {
                    None => Err(DecodeError::UnexpectedFrame("binary")),
                    Some(mut e) => {
                        e.parts.push(bytes);
                        if e.parts.len() == e.count {
                            Ok(Some((e.header, e.parts)))
                        } else {
                            expected = Some(e);
                            Ok(None)
                        }
                    }
                };
                assert_eq!(result, model);
                result
            }
        };
        match result {
            Ok(Some((header, parts))) => {
                let text = std::str::from_utf8(&header).unwrap_or_else(|e| panic!("{e}"));
                complete(text, &parts);
            }
            Ok(None) => {}
            Err(_) => {
                reassembler = None;
                expected = None;
            }
        }
        assert_eq!(
            reassembler.as_ref().is_some_and(|r| r.is_pending()),
            expected.is_some()
        );
    }
}

/// A complete packet: its header checked again, its arguments decoded with its attachments.
fn complete(text: &str, attachments: &[Bytes]) {
    let packet = socket::decode(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(packet.attachments, attachments.len(), "{text:?}");
    let is_args = matches!(
        packet.kind,
        PacketType::Event | PacketType::BinaryEvent | PacketType::Ack | PacketType::BinaryAck
    );
    if is_args && !packet.data.is_empty() {
        crate::json::args(packet.data, attachments);
    }
}
