//! Socket.IO packets in the form of npm `socket.io-msgpack-parser` 3: each packet is one
//! Engine.IO binary message holding one msgpack map `{type, nsp, data?, id?}`, binary
//! values inline (no attachments, so no `BINARY_EVENT`/`BINARY_ACK` types).
//!
//! With the feature `json`, [`to_text`] and [`from_text`] translate between this form and
//! the default parser's (text with placeholders, and attachments), so that everything past
//! the codec handles one form.
//!
//! ```
//! use sio_protocol::msgpack::{Mp, packet};
//! use sio_protocol::socket::PacketType;
//!
//! let data = Mp::Array(vec![Mp::str("hi"), Mp::UInt(1)]);
//! let bytes = packet::encode(PacketType::Event, "/chat", Some(7), Some(data.clone()));
//! let p = packet::decode(&bytes)?;
//! assert_eq!((p.kind, p.nsp.as_str(), p.id, p.data), (PacketType::Event, "/chat", Some(7), Some(data)));
//! # Ok::<(), packet::PacketError>(())
//! ```

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::{Mp, MsgpackError};
use crate::socket::PacketType;

/// A decoded packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// `Connect`, `Disconnect`, `Event`, `Ack` or `ConnectError`.
    pub kind: PacketType,
    /// The namespace.
    pub nsp: String,
    /// The ack id.
    pub id: Option<u64>,
    /// The payload; `None` when absent (or `undefined`).
    pub data: Option<Mp>,
}

/// Why a message is not a packet of this parser: the reference decoder's `checkPacket`
/// messages.
#[derive(Debug, thiserror::Error)]
pub enum PacketError {
    /// Not msgpack.
    #[error(transparent)]
    Msgpack(#[from] MsgpackError),
    /// `type` is not an integer from 0 to 4.
    #[error("invalid packet type")]
    Type,
    /// `nsp` is not a string.
    #[error("invalid namespace")]
    Namespace,
    /// `data` does not fit the type.
    #[error("invalid payload")]
    Payload,
    /// `id` is not a non-negative integer.
    #[error("invalid packet id")]
    Id,
    /// Binary data where the default parser's form cannot carry it (a CONNECT or
    /// CONNECT_ERROR payload).
    #[error("binary data in a packet of type {0:?}")]
    Binary(PacketType),
    /// A packet of the default form that does not decode.
    #[error(transparent)]
    Text(#[from] crate::DecodeError),
    /// A JSON payload that does not decode.
    #[cfg(feature = "json")]
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// Decodes and checks one packet, as the reference decoder does.
pub fn decode(input: &[u8]) -> Result<Packet, PacketError> {
    let map = super::decode(input)?;
    let field = |k: &str| map.get(k).filter(|v| !matches!(v, Mp::Undefined));
    let kind = match field("type").and_then(Mp::as_u64) {
        Some(0) => PacketType::Connect,
        Some(1) => PacketType::Disconnect,
        Some(2) => PacketType::Event,
        Some(3) => PacketType::Ack,
        Some(4) => PacketType::ConnectError,
        _ => return Err(PacketError::Type),
    };
    let nsp = match field("nsp") {
        Some(Mp::Str(s)) => s.clone(),
        _ => return Err(PacketError::Namespace),
    };
    let data = field("data").cloned();
    let fits = matches!(
        (kind, &data),
        (PacketType::Connect, None | Some(Mp::Map(_)))
            | (PacketType::Disconnect, None)
            | (PacketType::ConnectError, Some(Mp::Str(_) | Mp::Map(_)))
            | (PacketType::Event | PacketType::Ack, Some(Mp::Array(_)))
    );
    if !fits {
        return Err(PacketError::Payload);
    }
    let id = match field("id") {
        None => None,
        Some(v) => Some(v.as_u64().ok_or(PacketError::Id)?),
    };
    Ok(Packet {
        kind,
        nsp,
        id,
        data,
    })
}

/// Encodes one packet. `kind` must be one of this parser's types (a binary type is written
/// as its plain one).
pub fn encode(kind: PacketType, nsp: &str, id: Option<u64>, data: Option<Mp>) -> Vec<u8> {
    let kind = match kind {
        PacketType::BinaryEvent => PacketType::Event,
        PacketType::BinaryAck => PacketType::Ack,
        k => k,
    };
    let mut fields = vec![(Mp::str("type"), Mp::UInt(u64::from(kind.digit() - b'0')))];
    if let Some(data) = data {
        fields.push((Mp::str("data"), data));
    }
    fields.push((Mp::str("nsp"), Mp::str(nsp)));
    if let Some(id) = id {
        fields.push((Mp::str("id"), Mp::UInt(id)));
    }
    super::encode(&Mp::Map(fields))
}

/// The packet in the default parser's form: the text of a Socket.IO packet (no Engine.IO
/// type) and its binary attachments.
#[cfg(feature = "json")]
pub fn to_text(p: &Packet) -> Result<(Vec<u8>, Vec<bytes::Bytes>), PacketError> {
    let mut body = bytes::BytesMut::new();
    let mut attachments = Vec::new();
    if let Some(data) = &p.data {
        crate::json::encode_value(&mut body, &super::mp_to_value(data), &mut attachments)?;
    }
    let kind = match (p.kind, attachments.is_empty()) {
        (k, true) => k,
        (PacketType::Event, false) => PacketType::BinaryEvent,
        (PacketType::Ack, false) => PacketType::BinaryAck,
        (k, false) => return Err(PacketError::Binary(k)),
    };
    let id =
        p.id.filter(|_| matches!(p.kind, PacketType::Event | PacketType::Ack));
    let mut out = Vec::with_capacity(body.len() + p.nsp.len() + 24);
    crate::socket::write_header(&mut out, kind, &p.nsp, id, attachments.len());
    out.extend_from_slice(&body);
    Ok((out, attachments))
}

/// The msgpack form of a packet of the default parser: `text` is a Socket.IO packet (no
/// Engine.IO type), `attachments` its binary attachments.
#[cfg(feature = "json")]
pub fn from_text(text: &str, attachments: &[bytes::Bytes]) -> Result<Vec<u8>, PacketError> {
    let p = crate::socket::decode(text)?;
    let data = match p.data {
        "" => None,
        raw => {
            let value: crate::json::Value = crate::json::decode_arg(raw, attachments)?;
            Some(super::value_to_mp(&value))
        }
    };
    Ok(encode(p.kind, p.nsp, p.id, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::borrow::ToOwned;

    fn map(fields: Vec<(&str, Mp)>) -> Vec<u8> {
        super::super::encode(&Mp::Map(
            fields.into_iter().map(|(k, v)| (Mp::str(k), v)).collect(),
        ))
    }

    #[test]
    fn checks_packets_as_the_reference_decoder() {
        let ok = |fields| decode(&map(fields));
        let event = Mp::Array(vec![Mp::str("e")]);
        assert!(ok(vec![("type", Mp::UInt(0)), ("nsp", Mp::str("/"))]).is_ok());
        // socket.io-client writes an absent auth as notepack's `undefined`.
        let p = ok(vec![
            ("type", Mp::UInt(0)),
            ("nsp", Mp::str("/")),
            ("data", Mp::Undefined),
        ])
        .unwrap();
        assert_eq!(p.data, None);
        // Integral floats are integers in JavaScript.
        let p = ok(vec![
            ("type", Mp::Float(2.0)),
            ("nsp", Mp::str("/x")),
            ("data", event.clone()),
            ("id", Mp::Float(3.0)),
        ])
        .unwrap();
        assert_eq!((p.kind, p.id), (PacketType::Event, Some(3)));
        let bad = [
            (
                vec![
                    ("type", Mp::UInt(5)),
                    ("nsp", Mp::str("/")),
                    ("data", event.clone()),
                ],
                "invalid packet type",
            ),
            (
                vec![
                    ("type", Mp::Float(2.5)),
                    ("nsp", Mp::str("/")),
                    ("data", event.clone()),
                ],
                "invalid packet type",
            ),
            (
                vec![("type", Mp::UInt(2)), ("data", event.clone())],
                "invalid namespace",
            ),
            (
                vec![
                    ("type", Mp::UInt(2)),
                    ("nsp", Mp::UInt(1)),
                    ("data", event.clone()),
                ],
                "invalid namespace",
            ),
            (
                vec![("type", Mp::UInt(2)), ("nsp", Mp::str("/"))],
                "invalid payload",
            ),
            (
                vec![
                    ("type", Mp::UInt(1)),
                    ("nsp", Mp::str("/")),
                    ("data", event.clone()),
                ],
                "invalid payload",
            ),
            (
                vec![
                    ("type", Mp::UInt(0)),
                    ("nsp", Mp::str("/")),
                    ("data", Mp::str("x")),
                ],
                "invalid payload",
            ),
            (
                vec![
                    ("type", Mp::UInt(4)),
                    ("nsp", Mp::str("/")),
                    ("data", Mp::UInt(1)),
                ],
                "invalid payload",
            ),
            (
                vec![
                    ("type", Mp::UInt(2)),
                    ("nsp", Mp::str("/")),
                    ("data", event.clone()),
                    ("id", Mp::Int(-1)),
                ],
                "invalid packet id",
            ),
            (
                vec![
                    ("type", Mp::UInt(2)),
                    ("nsp", Mp::str("/")),
                    ("data", event),
                    ("id", Mp::str("1")),
                ],
                "invalid packet id",
            ),
        ];
        for (fields, want) in bad {
            let err = ok(fields.clone()).unwrap_err();
            assert_eq!(alloc::format!("{err}"), want, "{fields:?}");
        }
        assert!(matches!(decode(&[0xc1]), Err(PacketError::Msgpack(_))));
        assert!(matches!(decode(&map(vec![])), Err(PacketError::Type)));
    }

    #[cfg(feature = "json")]
    #[test]
    fn translates_to_and_from_the_default_form() {
        let bin = bytes::Bytes::from_static(b"\x01\x02");
        let data = Mp::Array(vec![Mp::str("up"), Mp::Bin(bin.clone()), Mp::UInt(5)]);
        let p = Packet {
            kind: PacketType::Event,
            nsp: "/files".to_owned(),
            id: Some(9),
            data: Some(data.clone()),
        };
        let (text, atts) = to_text(&p).unwrap();
        assert_eq!(
            core::str::from_utf8(&text).unwrap(),
            r#"51-/files,9["up",{"_placeholder":true,"num":0},5]"#
        );
        assert_eq!(atts, [bin]);
        let back = from_text(core::str::from_utf8(&text).unwrap(), &atts).unwrap();
        assert_eq!(decode(&back).unwrap(), p);
        // Control packets.
        let ok = from_text(r#"0{"sid":"abc"}"#, &[]).unwrap();
        let ok = decode(&ok).unwrap();
        assert_eq!((ok.kind, ok.nsp.as_str()), (PacketType::Connect, "/"));
        assert_eq!(
            ok.data.unwrap().get("sid").and_then(Mp::as_str),
            Some("abc")
        );
        let gone = decode(&from_text("1/chat,", &[]).unwrap()).unwrap();
        assert_eq!(
            (gone.kind, gone.nsp.as_str(), gone.data),
            (PacketType::Disconnect, "/chat", None)
        );
        // A CONNECT payload cannot carry binary in the default form.
        let auth = Packet {
            kind: PacketType::Connect,
            nsp: "/".to_owned(),
            id: None,
            data: Some(Mp::Map(vec![(Mp::str("k"), Mp::Bin(bytes::Bytes::new()))])),
        };
        assert!(matches!(
            to_text(&auth),
            Err(PacketError::Binary(PacketType::Connect))
        ));
    }
}
