#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every decoder returns `Ok` or `Err` on any input, and what it accepts is consistent.

use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;
use sio_protocol::engine;
use sio_protocol::jsonstr;
use sio_protocol::payload::{self, Record};
use sio_protocol::socket::{self, MAX_ACK_ID, RESERVED_EVENTS};

/// Pieces of the wire formats, so that random concatenations reach deep into the parsers.
const TOKENS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "-",
    "+",
    ".",
    "e",
    "E",
    "/",
    ",",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "\\",
    ":",
    "_",
    "a",
    "b",
    "u",
    "\u{1e}",
    " ",
    "\t",
    "\n",
    "\u{a0}",
    "\\u",
    "\\ud83d",
    "\\ude00",
    "\\u00e9",
    "\\n",
    "\\\"",
    "d8",
    "DC",
    "true",
    "null",
    "_placeholder",
    "num",
    "AQID",
    "AQ==",
    "=",
    "é",
    "😀",
    "\u{0}",
    "connect",
    "\"a\"",
    "[\"",
    "\"]",
    "51-",
    "/chat,",
];

fn protocolish() -> impl Strategy<Value = String> {
    vec(prop::sample::select(TOKENS), 0..48).prop_map(|t| t.concat())
}

fn input() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        vec(any::<char>(), 0..64).prop_map(String::from_iter),
        protocolish(),
        protocolish(),
    ]
}

fn is_suffix_of(part: &str, whole: &str) -> bool {
    whole.ends_with(part)
        && std::ptr::eq(
            part.as_ptr(),
            whole.as_bytes()[whole.len() - part.len()..].as_ptr(),
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn engine_decode_text(s in input()) {
        if let Ok(packet) = engine::decode_text(&s) {
            prop_assert!(matches!(s.as_bytes()[0], b'0'..=b'6'));
            if let engine::Packet::Open(d)
            | engine::Packet::Ping(d)
            | engine::Packet::Pong(d)
            | engine::Packet::Message(d) = packet
            {
                prop_assert_eq!(d, &s[1..]);
            }
        }
    }

    #[test]
    fn socket_decode(s in input()) {
        let Ok(p) = socket::decode(&s) else { return Ok(()) };
        prop_assert!(p.nsp.starts_with('/'), "{:?}", p);
        prop_assert!(!p.nsp.contains(','), "{:?}", p);
        prop_assert!(p.id.is_none_or(|id| id <= MAX_ACK_ID));
        if !p.kind.is_binary() {
            prop_assert_eq!(p.attachments, 0);
        }
        prop_assert!(is_suffix_of(p.data, &s));

        // Encoding what was decoded and decoding it again gives the same packet.
        let mut out = BytesMut::new();
        socket::write_header(&mut out, p.kind, p.nsp, p.id, p.attachments);
        out.extend_from_slice(p.data.as_bytes());
        let again = std::str::from_utf8(&out).unwrap();
        prop_assert_eq!(socket::decode(again), Ok(p), "{:?} -> {:?}", s, again);
    }

    #[test]
    fn socket_event_name(s in input()) {
        let Ok((name, rest)) = socket::event_name(&s) else { return Ok(()) };
        prop_assert!(!RESERVED_EVENTS.contains(&&*name));
        prop_assert!(rest.starts_with(',') || rest.starts_with(']'), "{:?}", rest);
        prop_assert!(is_suffix_of(rest, &s));
    }

    #[test]
    fn jsonstr_parse_prefix(s in input()) {
        let Ok((value, rest)) = jsonstr::parse_prefix(&s) else { return Ok(()) };
        prop_assert!(is_suffix_of(rest, &s));
        // The string is valid JSON, and writing its value gives a string that parses back.
        let consumed = &s[..s.len() - rest.len()];
        let serde = serde_json::from_str::<String>(consumed).ok();
        prop_assert_eq!(serde.as_deref(), Some(&*value));
        let mut out = BytesMut::new();
        jsonstr::write(&mut out, &value);
        let written = std::str::from_utf8(&out).unwrap();
        prop_assert_eq!(jsonstr::parse_prefix(written).map(|(v, r)| (v.into_owned(), r)), Ok((value.into_owned(), "")));
    }

    #[test]
    fn jsonstr_parse_prefix_quoted(s in input()) {
        // Always starts with a quote, so the escape paths are reached.
        let quoted = format!("\"{s}");
        let _ = jsonstr::parse_prefix(&quoted);
        let event = format!("[\"{s}");
        let _ = socket::event_name(&event);
    }

    #[test]
    fn payload_decode(s in input()) {
        let records: Vec<_> = payload::decode(&s).collect();
        prop_assert_eq!(records.len(), s.split('\u{1e}').count());
        for (record, text) in records.iter().zip(s.split('\u{1e}')) {
            if let Ok(Record::Packet(p)) = record {
                prop_assert_eq!(Ok(*p), engine::decode_text(text));
            }
        }
    }

    #[test]
    fn socket_decode_prefixed(s in input(), prefix in prop::sample::select(&["0", "1", "2", "3", "4", "51-", "61-", "2/a,", "512-/b,9"][..])) {
        let text = format!("{prefix}{s}");
        let _ = socket::decode(&text);
    }
}

#[cfg(feature = "json")]
mod json {
    use super::*;
    use bytes::Bytes;
    use serde_json::Value;
    use sio_protocol::json::{Binary, decode_arg, split_args};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn split_args_never_panics(s in input()) {
            // serde_json, skipping the elements, agrees on what is an array.
            let skipped = serde_json::from_str::<Vec<serde::de::IgnoredAny>>(&s);
            let Ok(spans) = split_args(&s) else {
                prop_assert!(skipped.is_err(), "{:?}", s);
                return Ok(());
            };
            prop_assert_eq!(skipped.map(|v| v.len()).ok(), Some(spans.len()));
            let mut all = serde_json::from_str::<Vec<Value>>(&s).ok();
            for (i, span) in spans.iter().enumerate() {
                let raw = s.get(span.start as usize..span.end as usize);
                prop_assert!(raw.is_some());
                let raw = raw.unwrap();
                prop_assert!(serde_json::from_str::<serde::de::IgnoredAny>(raw).is_ok());
                // Values parse when no string holds a lone surrogate.
                if let Some(all) = all.as_mut() {
                    let parsed: Value = serde_json::from_str(raw).unwrap();
                    prop_assert_eq!(&parsed, &all[i]);
                }
            }
        }

        #[test]
        fn split_args_bracketed(s in input()) {
            let _ = split_args(&format!("[{s}]"));
        }

        #[test]
        fn decode_arg_never_panics(s in input(), n in 0..3usize) {
            let atts: Vec<Bytes> = (0..n).map(|i| Bytes::from(vec![i as u8])).collect();
            let _ = decode_arg::<Binary>(&s, &atts);
            let _ = decode_arg::<Vec<Binary>>(&s, &atts);
            let _ = decode_arg::<(String, Option<Binary>)>(&s, &atts);
            let _ = decode_arg::<Value>(&s, &atts);
        }
    }
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let deep = format!("2{}\"a\"{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        socket::decode(&deep).map(|p| p.kind),
        Err(sio_protocol::DecodeError::InvalidPayload)
    );
    let body = format!("[\"a\",{}{}]", "[".repeat(100_000), "]".repeat(100_000));
    assert!(socket::event_name(&body).is_ok());
    assert!(socket::decode(&format!("2{body}")).is_ok());
    #[cfg(feature = "json")]
    {
        use sio_protocol::json::{decode_arg, split_args};
        // NOTE: splitting skips arguments without recursion (serde_json's `IgnoredAny` path
        // keeps its own stack), so any depth is split; decoding an argument stops at
        // serde_json's recursion limit.
        let spans = split_args(&body).unwrap();
        assert_eq!(spans.len(), 2);
        let deep_arg = &body[spans[1].start as usize..spans[1].end as usize];
        assert_eq!(deep_arg.len(), 200_000);
        let atts = vec![bytes::Bytes::new()];
        assert!(decode_arg::<serde_json::Value>(deep_arg, &atts).is_err());
        assert!(decode_arg::<serde_json::Value>(deep_arg, &[]).is_err());
        let objects = format!("[{}1{}]", "{\"a\":".repeat(100_000), "}".repeat(100_000));
        assert_eq!(split_args(&objects).unwrap().len(), 1);
        assert!(decode_arg::<serde_json::Value>(&objects, &atts).is_err());
        let unbalanced = format!("[{}", "[".repeat(100_000));
        assert!(split_args(&unbalanced).is_err());
    }
}

#[test]
fn huge_inputs() {
    let long_id = format!("2{}[\"a\"]", "9".repeat(10_000));
    assert_eq!(
        socket::decode(&long_id),
        Err(sio_protocol::DecodeError::IllegalId)
    );
    let zeros = format!("2{}7[\"a\"]", "0".repeat(10_000));
    assert_eq!(socket::decode(&zeros).map(|p| p.id), Ok(Some(7)));
    let long_att = format!("5{}-[\"a\"]", "1".repeat(10_000));
    assert_eq!(
        socket::decode(&long_att),
        Err(sio_protocol::DecodeError::IllegalAttachments)
    );
    let separators = "\u{1e}".repeat(10_000);
    assert_eq!(payload::decode(&separators).count(), 10_001);
}

proptest! {
    /// Any bytes, in any pieces: frames within the limit, or an error that stays.
    #[test]
    fn webtransport_decoder(bytes in vec(any::<u8>(), 0..600), cut in 1usize..40, max in 0usize..300) {
        use sio_protocol::webtransport::Decoder;
        let mut d = Decoder::new(max);
        let mut failed = None;
        for chunk in bytes.chunks(cut) {
            d.push(chunk);
            loop {
                match d.next_frame() {
                    Ok(Some(f)) => prop_assert!(!f.is_empty() && f.len() <= max),
                    Ok(None) => break,
                    Err(e) => {
                        if let Some(before) = &failed {
                            prop_assert_eq!(before, &e);
                        }
                        failed = Some(e);
                        break;
                    }
                }
            }
            prop_assert!(d.buffered() <= bytes.len());
        }
    }

    /// What the encoder writes, the decoder reads back, whatever the pieces.
    #[test]
    fn webtransport_roundtrip(
        frames in vec((any::<bool>(), vec(any::<u8>(), 1..300)), 0..8),
        cut in 1usize..64,
    ) {
        use sio_protocol::engine::{Frame, PacketType};
        use sio_protocol::webtransport::{Decoder, encode};
        let frames: Vec<Frame> = frames
            .into_iter()
            .map(|(binary, b)| {
                if binary {
                    Frame::Binary(b.into())
                } else {
                    Frame::text(PacketType::Message, &String::from_utf8_lossy(&b))
                }
            })
            .collect();
        let mut wire = Vec::new();
        for f in &frames {
            encode(f, &mut wire);
        }
        let mut d = Decoder::new(4096);
        let mut got = Vec::new();
        for chunk in wire.chunks(cut) {
            d.push(chunk);
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        prop_assert_eq!(got, frames);
    }
}
