#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Encode → decode round trips of every codec that works without the `json` feature.

use std::borrow::Cow;

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::Value;
use sio_protocol::binary::{self, Reassembler};
use sio_protocol::engine::{self, Frame, Packet};
use sio_protocol::handshake::OpenPacket;
use sio_protocol::payload::{self, Record};
use sio_protocol::socket::{self, MAX_ACK_ID, RESERVED_EVENTS};
use sio_protocol::{DecodeError, jsonstr};

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

const ENGINE_TYPES: [engine::PacketType; 7] = [
    engine::PacketType::Open,
    engine::PacketType::Close,
    engine::PacketType::Ping,
    engine::PacketType::Pong,
    engine::PacketType::Message,
    engine::PacketType::Upgrade,
    engine::PacketType::Noop,
];

const SOCKET_TYPES: [socket::PacketType; 7] = [
    socket::PacketType::Connect,
    socket::PacketType::Disconnect,
    socket::PacketType::Event,
    socket::PacketType::Ack,
    socket::PacketType::ConnectError,
    socket::PacketType::BinaryEvent,
    socket::PacketType::BinaryAck,
];

/// Characters that exercise escaping: quotes, backslashes, every kind of control character,
/// the record separator, line separators, multi-byte and astral characters.
const SPECIAL_CHARS: &[char] = &[
    '"',
    '\\',
    '/',
    '\n',
    '\r',
    '\t',
    '\u{0}',
    '\u{8}',
    '\u{b}',
    '\u{c}',
    '\u{1e}',
    '\u{1f}',
    '\u{7f}',
    '\u{80}',
    '\u{a0}',
    '\u{2028}',
    '\u{2029}',
    '\u{feff}',
    '\u{fffd}',
    '\u{ffff}',
    'é',
    '€',
    '😀',
    '\u{10ffff}',
    'u',
    'a',
    '0',
    ',',
    '[',
    ']',
    '{',
    '}',
    ' ',
];

/// Arbitrary text: printable strings, any chars (control characters included), and strings
/// dense in characters that need escaping.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        vec(any::<char>(), 0..24).prop_map(String::from_iter),
        vec(prop::sample::select(SPECIAL_CHARS), 0..24).prop_map(String::from_iter),
    ]
}

/// Arbitrary JSON values, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((text(), inner), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Value> {
    vec((text(), json_value()), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect()))
}

fn event_name_text() -> impl Strategy<Value = String> {
    text().prop_filter("reserved event name", |s| {
        !RESERVED_EVENTS.contains(&s.as_str())
    })
}

/// A JSON number the reference parser accepts as an event name.
fn numeric_name() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
    ]
}

/// A body the packet type accepts, as the reference encoder would write it.
fn body_for(kind: socket::PacketType) -> BoxedStrategy<String> {
    use socket::PacketType as T;
    match kind {
        T::Connect => prop_oneof![
            Just(String::new()),
            json_object().prop_map(|v| v.to_string()),
        ]
        .boxed(),
        T::Disconnect => Just(String::new()).boxed(),
        T::ConnectError => prop_oneof![
            json_object().prop_map(|v| v.to_string()),
            text().prop_map(|s| Value::String(s).to_string()),
            (text(), prop::option::of(json_value())).prop_map(|(msg, data)| {
                let mut out = BytesMut::new();
                let data = data.map(|d| d.to_string());
                socket::write_connect_error(&mut out, &msg, data.as_deref());
                String::from_utf8(out.to_vec()).unwrap()
            }),
        ]
        .boxed(),
        T::Event | T::BinaryEvent => prop_oneof![
            // Written with the crate's own helper.
            (event_name_text(), vec(json_value(), 0..4)).prop_map(|(name, args)| {
                let mut out = BytesMut::new();
                socket::write_event_start(&mut out, &name);
                for arg in &args {
                    out.extend_from_slice(b",");
                    out.extend_from_slice(arg.to_string().as_bytes());
                }
                out.extend_from_slice(b"]");
                String::from_utf8(out.to_vec()).unwrap()
            }),
            // Written by serde_json, numeric names included.
            (
                prop_oneof![event_name_text().prop_map(Value::String), numeric_name()],
                vec(json_value(), 0..4)
            )
                .prop_map(|(name, mut args)| {
                    args.insert(0, name);
                    Value::Array(args).to_string()
                }),
        ]
        .boxed(),
        T::Ack | T::BinaryAck => vec(json_value(), 0..4)
            .prop_map(|args| Value::Array(args).to_string())
            .boxed(),
    }
}

fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/".to_owned()),
        "/[^,\\x00-\\x1f]{0,12}",
        vec(prop::sample::select(SPECIAL_CHARS), 0..8).prop_map(|c| format!(
            "/{}",
            String::from_iter(c.into_iter().filter(|&c| c != ',' && c >= ' '))
        )),
    ]
}

fn ack_id() -> impl Strategy<Value = Option<u64>> {
    prop::option::of(prop_oneof![
        Just(0),
        Just(MAX_ACK_ID),
        0..=MAX_ACK_ID,
        0..1000u64
    ])
}

/// The packet `decode_text` gives for a text frame of type `kind` with `data`: close,
/// upgrade and noop carry no data.
fn engine_packet(kind: engine::PacketType, data: &str) -> Packet<'_> {
    use engine::PacketType as T;
    match kind {
        T::Open => Packet::Open(data),
        T::Close => Packet::Close,
        T::Ping => Packet::Ping(data),
        T::Pong => Packet::Pong(data),
        T::Message => Packet::Message(data),
        T::Upgrade => Packet::Upgrade,
        T::Noop => Packet::Noop,
    }
}

fn engine_frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        (prop::sample::select(&ENGINE_TYPES[..]), "[^\u{1e}]{0,32}")
            .prop_map(|(kind, data)| Frame::text(kind, &data)),
        (
            prop::sample::select(&ENGINE_TYPES[..]),
            vec(
                prop::sample::select(SPECIAL_CHARS).prop_filter("separator", |&c| c != '\u{1e}'),
                0..16
            )
        )
            .prop_map(|(kind, data)| Frame::text(kind, &String::from_iter(data))),
        vec(any::<u8>(), 0..64).prop_map(|v| Frame::Binary(Bytes::from(v))),
    ]
}

fn utf8(out: &BytesMut) -> &str {
    std::str::from_utf8(out).expect("encoders write UTF-8")
}

// ---------------------------------------------------------------------------------------
// Plain tests
// ---------------------------------------------------------------------------------------

#[test]
fn type_digits_round_trip() {
    for kind in ENGINE_TYPES {
        assert_eq!(engine::PacketType::from_digit(kind.digit()), Some(kind));
        assert_eq!(Frame::bare(kind), Frame::text(kind, ""));
    }
    for kind in SOCKET_TYPES {
        assert_eq!(socket::PacketType::from_digit(kind.digit()), Some(kind));
    }
    for b in 0..=u8::MAX {
        let known = (b'0'..=b'6').contains(&b);
        assert_eq!(engine::PacketType::from_digit(b).is_some(), known, "{b}");
        assert_eq!(socket::PacketType::from_digit(b).is_some(), known, "{b}");
    }
}

#[test]
fn binary_types() {
    for kind in SOCKET_TYPES {
        let binary = matches!(
            kind,
            socket::PacketType::BinaryEvent | socket::PacketType::BinaryAck
        );
        assert_eq!(kind.is_binary(), binary, "{kind:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn engine_text_frames(kind in prop::sample::select(&ENGINE_TYPES[..]), data in text()) {
        let frame = Frame::text(kind, &data);
        prop_assert_eq!(frame.len(), 1 + data.len());
        prop_assert!(!frame.is_empty());
        let text = frame.as_text().unwrap();
        prop_assert_eq!(&text[1..], data.as_str());
        prop_assert_eq!(
            Frame::from_text_bytes(Bytes::copy_from_slice(text.as_bytes())),
            Some(frame.clone())
        );
        prop_assert_eq!(engine::decode_text(text), Ok(engine_packet(kind, &data)));

        let mut out = BytesMut::new();
        engine::begin_message(&mut out);
        out.extend_from_slice(data.as_bytes());
        prop_assert_eq!(engine::decode_text(utf8(&out)), Ok(Packet::Message(&data)));
    }

    #[test]
    fn binary_frames(data in vec(any::<u8>(), 0..64)) {
        let frame = Frame::Binary(Bytes::from(data.clone()));
        prop_assert_eq!(frame.len(), data.len());
        prop_assert_eq!(frame.is_empty(), data.is_empty());
        prop_assert_eq!(frame.as_text(), None);
    }

    #[test]
    fn polling_payloads(frames in vec(engine_frame(), 1..8)) {
        let mut out = BytesMut::new();
        payload::encode(&frames, &mut out);
        prop_assert_eq!(
            out.len(),
            frames.iter().map(payload::record_len).sum::<usize>() + frames.len() - 1
        );
        let body = utf8(&out);
        let records = payload::decode(body).collect::<Result<Vec<_>, _>>();
        prop_assert!(records.is_ok(), "{:?}: {:?}", body, records);
        let records = records.unwrap();
        prop_assert_eq!(records.len(), frames.len());
        for (frame, record) in frames.iter().zip(&records) {
            let expected = match frame {
                Frame::Text(_) => {
                    let text = frame.as_text().unwrap();
                    let kind = engine::PacketType::from_digit(text.as_bytes()[0]).unwrap();
                    Record::Packet(engine_packet(kind, &text[1..]))
                }
                Frame::Binary(b) => Record::Binary(b.to_vec()),
            };
            prop_assert_eq!(record, &expected);
        }

        // One record at a time gives the same bytes as the whole payload.
        let mut by_record = BytesMut::new();
        for (i, frame) in frames.iter().enumerate() {
            if i > 0 {
                by_record.extend_from_slice(&[payload::SEPARATOR]);
            }
            let before = by_record.len();
            payload::write_record(frame, &mut by_record);
            prop_assert_eq!(by_record.len() - before, payload::record_len(frame));
        }
        prop_assert_eq!(by_record, out);
    }

    #[test]
    fn socket_headers(
        (kind, body) in prop::sample::select(&SOCKET_TYPES[..])
            .prop_flat_map(|kind| (Just(kind), body_for(kind))),
        nsp in namespace(),
        id in ack_id(),
        attachments in prop_oneof![1..16usize, 1..=usize::MAX],
    ) {
        let attachments = if kind.is_binary() { attachments } else { 0 };
        let mut out = BytesMut::new();
        socket::write_header(&mut out, kind, &nsp, id, attachments);
        out.extend_from_slice(body.as_bytes());
        let text = utf8(&out);
        let packet = socket::decode(text);
        prop_assert!(packet.is_ok(), "{:?}: {:?}", text, packet);
        let packet = packet.unwrap();
        prop_assert_eq!(packet.kind, kind);
        prop_assert_eq!(packet.nsp, nsp.as_str());
        prop_assert_eq!(packet.id, id);
        prop_assert_eq!(packet.attachments, attachments);
        prop_assert_eq!(packet.data, body.as_str());

        // The same packet inside an Engine.IO message.
        let frame = Frame::text(engine::PacketType::Message, text);
        let Ok(Packet::Message(inner)) = engine::decode_text(frame.as_text().unwrap()) else {
            panic!("not a message");
        };
        prop_assert_eq!(socket::decode(inner), Ok(packet));
    }

    #[test]
    fn jsonstr_round_trip(s in text(), rest in text()) {
        let mut out = BytesMut::new();
        jsonstr::write(&mut out, &s);
        let written = utf8(&out).to_owned();
        prop_assert_eq!(&written, &serde_json::to_string(&s).unwrap());
        prop_assert_eq!(serde_json::from_str::<String>(&written).unwrap(), s.clone());

        let with_rest = format!("{written}{rest}");
        let (value, after) = jsonstr::parse_prefix(&with_rest).unwrap();
        prop_assert_eq!(&*value, s.as_str());
        prop_assert_eq!(after, rest.as_str());
        // Only strings that need escapes are copied.
        let escaped = s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20);
        prop_assert_eq!(matches!(value, Cow::Owned(_)), escaped);
    }

    #[test]
    fn jsonstr_parses_unicode_escapes(s in text()) {
        // Every UTF-16 unit written as `\uXXXX` (surrogate pairs beyond the BMP), as ASCII-only
        // encoders do, parses back to the same string, in upper and lower case hex.
        let mut ascii = String::from("\"");
        for unit in s.encode_utf16() {
            ascii.push_str(&format!("\\u{unit:04X}"));
        }
        ascii.push('"');
        let (value, rest) = jsonstr::parse_prefix(&ascii).unwrap();
        prop_assert_eq!(&*value, s.as_str());
        prop_assert_eq!(rest, "");
        let lower = ascii.to_lowercase();
        prop_assert_eq!(&*jsonstr::parse_prefix(&lower).unwrap().0, s.as_str());
    }

    #[test]
    fn event_names(name in event_name_text(), args in vec(json_value(), 0..4), pretty in any::<bool>()) {
        let mut out = BytesMut::new();
        socket::write_event_start(&mut out, &name);
        let after_name = out.len();
        for arg in &args {
            out.extend_from_slice(b",");
            out.extend_from_slice(arg.to_string().as_bytes());
        }
        out.extend_from_slice(b"]");
        let body = utf8(&out);
        let (got, rest) = socket::event_name(body).unwrap();
        prop_assert_eq!(&*got, name.as_str());
        prop_assert_eq!(rest, &body[after_name..]);

        // serde_json writes the same body; pretty-printed, whitespace surrounds the name.
        let mut all = vec![Value::String(name.clone())];
        all.extend(args.iter().cloned());
        let json = if pretty {
            serde_json::to_string_pretty(&all).unwrap()
        } else {
            serde_json::to_string(&all).unwrap()
        };
        if !pretty {
            prop_assert_eq!(json.as_str(), body);
        }
        let (got, rest) = socket::event_name(&json).unwrap();
        prop_assert_eq!(&*got, name.as_str());
        prop_assert!(rest.starts_with(if args.is_empty() { ']' } else { ',' }), "{:?}", rest);
    }

    #[test]
    fn numeric_event_names(name in numeric_name(), args in vec(json_value(), 0..3)) {
        let digits = name.to_string();
        let mut all = vec![name];
        all.extend(args);
        let body = Value::Array(all).to_string();
        let (got, rest) = socket::event_name(&body).unwrap();
        prop_assert_eq!(&*got, digits.as_str());
        prop_assert_eq!(rest, &body[1 + digits.len()..]);
        let packet = format!("2{body}");
        prop_assert!(socket::decode(&packet).is_ok());
    }

    #[test]
    fn connect_bodies(message in text(), data in prop::option::of(json_value()), sid in text()) {
        let mut out = BytesMut::new();
        let raw = data.as_ref().map(Value::to_string);
        socket::write_connect_error(&mut out, &message, raw.as_deref());
        let v: Value = serde_json::from_slice(&out).unwrap();
        let mut expected = serde_json::json!({ "message": message });
        if let Some(data) = data {
            expected["data"] = data;
        }
        // serde_json parses floats to the nearest value only with `float_roundtrip`:
        // compare with the expected value after the same trip through text.
        let expected: Value = serde_json::from_str(&expected.to_string()).unwrap();
        prop_assert_eq!(v, expected);

        let mut out = BytesMut::new();
        socket::write_connect_ok(&mut out, &sid, None);
        let v: Value = serde_json::from_slice(&out).unwrap();
        prop_assert_eq!(v, serde_json::json!({ "sid": sid }));
    }

    #[test]
    fn open_packets(
        sid in text(),
        upgrades in vec(text(), 0..3),
        ping_interval in any::<u64>(),
        ping_timeout in any::<u64>(),
        max_payload in any::<u64>(),
    ) {
        let upgrades: Vec<&str> = upgrades.iter().map(String::as_str).collect();
        let open = OpenPacket { sid: &sid, upgrades: &upgrades, ping_interval, ping_timeout, max_payload };
        let mut out = BytesMut::new();
        open.write(&mut out);
        let Ok(Packet::Open(json)) = engine::decode_text(utf8(&out)) else {
            panic!("not an open packet");
        };
        let v: Value = serde_json::from_str(json).unwrap();
        prop_assert_eq!(
            v,
            serde_json::json!({
                "sid": sid,
                "upgrades": upgrades,
                "pingInterval": ping_interval,
                "pingTimeout": ping_timeout,
                "maxPayload": max_payload,
            })
        );
    }

    #[test]
    fn placeholders(num in prop_oneof![0..16usize, any::<usize>()]) {
        let mut out = BytesMut::new();
        binary::write_placeholder(&mut out, num);
        let v: Value = serde_json::from_slice(&out).unwrap();
        prop_assert_eq!(v, serde_json::json!({ "_placeholder": true, "num": num }));
    }

    #[test]
    fn reassembler_returns_attachments_in_order(
        packets in vec(vec(vec(any::<u8>(), 0..8), 0..12), 1..5),
    ) {
        let mut r: Reassembler<_> = Reassembler::new(12);
        for (n, parts) in packets.iter().enumerate() {
            let parts: Vec<Bytes> = parts.iter().cloned().map(Bytes::from).collect();
            let first = r.on_header(n, parts.len()).unwrap();
            if parts.is_empty() {
                prop_assert_eq!(first, Some((n, Vec::new())));
                prop_assert!(!r.is_pending());
                continue;
            }
            prop_assert_eq!(first, None);
            for (i, part) in parts.iter().enumerate() {
                prop_assert!(r.is_pending());
                let got = r.on_binary(part.clone()).unwrap();
                if i + 1 < parts.len() {
                    prop_assert_eq!(got, None);
                } else {
                    prop_assert_eq!(got, Some((n, parts.clone())));
                }
            }
            prop_assert!(!r.is_pending());
            prop_assert_eq!(r.on_binary(Bytes::new()), Err(DecodeError::UnexpectedFrame("binary")));
        }
    }

    /// The reassembler against a model of the reference decoder's rules, on arbitrary
    /// sequences of text headers and binary messages.
    #[test]
    fn reassembler_model(
        max in 0..6usize,
        events in vec(prop_oneof![(0..8usize).prop_map(Some), Just(None)], 0..32),
    ) {
        let mut r: Reassembler<_> = Reassembler::new(max);
        // (header number, expected, parts so far)
        let mut model: Option<(usize, usize, Vec<Bytes>)> = None;
        for (step, event) in events.into_iter().enumerate() {
            match event {
                Some(n) => {
                    let got = r.on_header(step, n);
                    let expected = if model.take().is_some() {
                        Err(DecodeError::UnexpectedFrame("text"))
                    } else if n > max {
                        Err(DecodeError::TooManyAttachments(n))
                    } else if n == 0 {
                        Ok(Some((step, Vec::new())))
                    } else {
                        model = Some((step, n, Vec::new()));
                        Ok(None)
                    };
                    prop_assert_eq!(got, expected);
                }
                None => {
                    let part = Bytes::from(step.to_string());
                    let got = r.on_binary(part.clone());
                    let expected = match model.as_mut() {
                        None => Err(DecodeError::UnexpectedFrame("binary")),
                        Some((_, expected, parts)) => {
                            parts.push(part);
                            if parts.len() == *expected {
                                let (h, _, parts) = model.take().unwrap();
                                Ok(Some((h, parts)))
                            } else {
                                Ok(None)
                            }
                        }
                    };
                    prop_assert_eq!(got, expected);
                }
            }
            prop_assert_eq!(r.is_pending(), model.is_some());
        }
    }
}
