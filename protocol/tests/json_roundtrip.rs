//! Typed arguments with binary attachments at any depth (feature `json`).
#![cfg(feature = "json")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Value, json};
use sio_protocol::binary::{self, Reassembler};
use sio_protocol::engine::{self, Frame, Packet};
use sio_protocol::json::{Binary, decode_arg, encode_args, encode_value, split_args, write_str};
use sio_protocol::jsonstr;
use sio_protocol::payload::{self, Record};
use sio_protocol::socket::{self, MAX_ACK_ID, PacketType, RESERVED_EVENTS};

/// A JSON-like tree with binary leaves. Untagged, so it (de)serializes as plain JSON; the
/// variant order makes arrays stay arrays (a `Binary` also accepts a sequence of bytes) and
/// placeholders become `Bin` before `Obj` is tried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Tree {
    Null,
    Bool(bool),
    Num(i64),
    Str(String),
    Arr(Vec<Tree>),
    Bin(Binary),
    Obj(BTreeMap<String, Tree>),
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        vec(any::<char>(), 0..12).prop_map(String::from_iter),
        "[a-z\"\\\\/_]{0,6}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z]{0,3}", Just("num".to_owned()), text()]
        .prop_filter("placeholder key", |k| k != "_placeholder")
}

fn bytes() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..12).prop_map(Bytes::from)
}

/// Objects that look like placeholders but are not: they must stay objects.
fn fake_placeholder() -> impl Strategy<Value = Tree> {
    prop_oneof![
        Just(json!({"_placeholder": false, "num": 0})),
        Just(json!({"_placeholder": true, "num": -1})),
        Just(json!({"_placeholder": "true", "num": 0})),
        Just(json!({"_placeholder": true, "num": "0"})),
        Just(json!({"_placeholder": true})),
        Just(json!({"_placeholder": null, "num": 0})),
    ]
    .prop_map(|v| serde_json::from_value(v).unwrap())
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        1 => Just(Tree::Null),
        1 => any::<bool>().prop_map(Tree::Bool),
        1 => any::<i64>().prop_map(Tree::Num),
        1 => text().prop_map(Tree::Str),
        3 => bytes().prop_map(|b| Tree::Bin(Binary(b))),
        1 => fake_placeholder(),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Tree::Arr),
            vec((key(), inner), 0..5).prop_map(|kv| Tree::Obj(kv.into_iter().collect())),
        ]
    })
}

fn event_name() -> impl Strategy<Value = String> {
    text().prop_filter("reserved", |s| !RESERVED_EVENTS.contains(&s.as_str()))
}

/// The binaries of `t` in serialization order (depth first, map keys sorted).
fn collect(t: &Tree, out: &mut Vec<Bytes>) {
    match t {
        Tree::Bin(b) => out.push(b.0.clone()),
        Tree::Arr(items) => items.iter().for_each(|t| collect(t, out)),
        Tree::Obj(map) => map.values().for_each(|t| collect(t, out)),
        _ => {}
    }
}

/// Whether `v`, the JSON written for `t`, holds placeholders numbered in order where `t`
/// holds binaries, and nothing else differs in structure.
fn placeholders_in_order(t: &Tree, v: &Value, next: &mut usize) -> bool {
    match (t, v) {
        (Tree::Bin(_), v) => {
            let ok = *v == json!({"_placeholder": true, "num": *next});
            *next += 1;
            ok
        }
        (Tree::Arr(items), Value::Array(values)) => {
            items.len() == values.len()
                && items
                    .iter()
                    .zip(values)
                    .all(|(t, v)| placeholders_in_order(t, v, next))
        }
        (Tree::Obj(map), Value::Object(values)) => {
            map.len() == values.len()
                && map.iter().all(|(k, t)| {
                    values
                        .get(k)
                        .is_some_and(|v| placeholders_in_order(t, v, next))
                })
        }
        (Tree::Null, Value::Null) => true,
        (Tree::Bool(a), Value::Bool(b)) => a == b,
        (Tree::Num(a), Value::Number(b)) => b.as_i64() == Some(*a),
        (Tree::Str(a), Value::String(b)) => a == b,
        _ => false,
    }
}

fn span(body: &str, r: &std::ops::Range<u32>) -> String {
    body[r.start as usize..r.end as usize].to_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn args_round_trip(name in event_name(), args in vec(tree(), 0..4)) {
        let mut all = vec![Tree::Str(name.clone())];
        all.extend(args);
        let mut out = BytesMut::new();
        let atts = encode_args(&mut out, &all).unwrap();
        let body = std::str::from_utf8(&out).unwrap();

        // Attachments come in placeholder order, numbered from 0.
        let mut expected = Vec::new();
        all.iter().for_each(|t| collect(t, &mut expected));
        prop_assert_eq!(&atts, &expected);
        let value: Value = serde_json::from_str(body).unwrap();
        let mut next = 0;
        prop_assert!(placeholders_in_order(&Tree::Arr(all.clone()), &value, &mut next), "{}", body);
        prop_assert_eq!(next, atts.len());

        // The Socket.IO layer sees an event.
        let (got, _) = socket::event_name(body).unwrap();
        prop_assert_eq!(&*got, name.as_str());

        // Each argument decodes back, resolving its placeholders.
        let spans = split_args(body).unwrap();
        prop_assert_eq!(spans.len(), all.len());
        for (r, t) in spans.iter().zip(&all) {
            let arg: Tree = decode_arg(&span(body, r), &atts).unwrap();
            prop_assert_eq!(&arg, t);
        }
        let whole: Vec<Tree> = decode_arg(body, &atts).unwrap();
        prop_assert_eq!(whole, all);
    }

    #[test]
    fn encode_value_shares_one_numbering(name in event_name(), args in vec(tree(), 0..4)) {
        let mut all = vec![Tree::Str(name)];
        all.extend(args);
        let mut whole = BytesMut::new();
        let whole_atts = encode_args(&mut whole, &all).unwrap();

        // The same body written one argument at a time.
        let mut out = BytesMut::from(&b"["[..]);
        let mut atts = Vec::new();
        for (i, arg) in all.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b",");
            }
            let before = atts.len();
            encode_value(&mut out, arg, &mut atts).unwrap();
            let mut own = Vec::new();
            collect(arg, &mut own);
            prop_assert_eq!(&atts[before..], &own[..]);
        }
        out.extend_from_slice(b"]");
        prop_assert_eq!(&out, &whole);
        prop_assert_eq!(&atts, &whole_atts);
    }

    #[test]
    fn typed_tuple_round_trip(name in event_name(), a in tree(), b in vec(bytes(), 0..4), c in tree()) {
        let args = (&name, &a, b.iter().cloned().map(Binary).collect::<Vec<_>>(), &c);
        let mut out = BytesMut::new();
        let atts = encode_args(&mut out, &args).unwrap();
        let mut expected = Vec::new();
        collect(&a, &mut expected);
        expected.extend(b.iter().cloned());
        collect(&c, &mut expected);
        prop_assert_eq!(&atts, &expected);
        let body = std::str::from_utf8(&out).unwrap();
        let back: (String, Tree, Vec<Binary>, Tree) = decode_arg(body, &atts).unwrap();
        prop_assert_eq!(back, (name, a, b.into_iter().map(Binary).collect(), c));
    }

    /// A binary event or ack through every layer: Socket.IO header, Engine.IO messages,
    /// a polling payload, reassembly, argument splitting and typed decoding.
    #[test]
    fn binary_packet_through_every_layer(
        ack in any::<bool>(),
        name in event_name(),
        args in vec(tree(), 0..4),
        // A raw \x1e cannot cross a polling payload; JSON bodies always escape it.
        nsp in prop_oneof![Just("/".to_owned()), "/[^,\\x00-\\x1f]{1,8}"],
        id in prop::option::of(0..=MAX_ACK_ID),
        websocket in any::<bool>(),
    ) {
        let mut all = args;
        if !ack {
            all.insert(0, Tree::Str(name));
        }
        let mut body = BytesMut::new();
        let atts = encode_args(&mut body, &all).unwrap();
        let kind = match (ack, atts.is_empty()) {
            (false, true) => PacketType::Event,
            (false, false) => PacketType::BinaryEvent,
            (true, true) => PacketType::Ack,
            (true, false) => PacketType::BinaryAck,
        };
        let mut text = BytesMut::new();
        socket::write_header(&mut text, kind, &nsp, id, atts.len());
        text.extend_from_slice(&body);
        let frames: Vec<Frame> = std::iter::once(Frame::text(
            engine::PacketType::Message,
            std::str::from_utf8(&text).unwrap(),
        ))
        .chain(atts.iter().cloned().map(Frame::Binary))
        .collect();

        // The receiving side.
        let mut wire = BytesMut::new();
        payload::encode(&frames, &mut wire);
        let received: Vec<Record<'_>> = if websocket {
            frames
                .iter()
                .map(|f| match f {
                    Frame::Text(_) => Record::Packet(engine::decode_text(f.as_text().unwrap()).unwrap()),
                    Frame::Binary(b) => Record::Binary(b.to_vec()),
                })
                .collect()
        } else {
            payload::decode(std::str::from_utf8(&wire).unwrap())
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let mut r: Reassembler<_> = Reassembler::new(64);
        let mut done = None;
        for record in received {
            let step = match record {
                Record::Packet(Packet::Message(t)) => {
                    let p = socket::decode(t).unwrap();
                    r.on_header((p.kind, p.nsp.to_owned(), p.id, p.data.to_owned()), p.attachments)
                }
                Record::Binary(b) => r.on_binary(b.into()),
                other => panic!("unexpected {other:?}"),
            };
            if let Some(complete) = step.unwrap() {
                prop_assert!(done.is_none());
                done = Some(complete);
            }
        }
        let ((got_kind, got_nsp, got_id, data), parts) = done.expect("packet complete");
        prop_assert_eq!(got_kind, kind);
        prop_assert_eq!(got_nsp, nsp);
        prop_assert_eq!(got_id, id);
        prop_assert_eq!(&parts, &atts);
        let spans = split_args(&data).unwrap();
        let back: Vec<Tree> = spans
            .iter()
            .map(|r| decode_arg(&span(&data, r), &parts).unwrap())
            .collect();
        prop_assert_eq!(back, all);
    }

    #[test]
    fn split_args_spans_are_the_raw_elements(values in vec(any::<i32>(), 0..6), pretty in any::<bool>(), strings in vec(text(), 0..4)) {
        let mut all: Vec<Value> = values.into_iter().map(Value::from).collect();
        all.extend(strings.into_iter().map(Value::String));
        let body = if pretty {
            serde_json::to_string_pretty(&all).unwrap()
        } else {
            serde_json::to_string(&all).unwrap()
        };
        let spans = split_args(&body).unwrap();
        prop_assert_eq!(spans.len(), all.len());
        for (r, v) in spans.iter().zip(&all) {
            let raw = span(&body, r);
            prop_assert_eq!(raw.trim(), raw.as_str(), "no surrounding whitespace");
            prop_assert_eq!(&serde_json::from_str::<Value>(&raw).unwrap(), v);
        }
    }

    #[test]
    fn write_str_is_jsonstr_write(s in text()) {
        let (mut a, mut b) = (BytesMut::new(), BytesMut::new());
        write_str(&mut a, &s);
        jsonstr::write(&mut b, &s);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn write_placeholder_matches_encode_args(data in vec(bytes(), 1..6)) {
        let bins: Vec<Binary> = data.into_iter().map(Binary).collect();
        let mut out = BytesMut::new();
        encode_args(&mut out, &bins).unwrap();
        let mut manual = BytesMut::from(&b"["[..]);
        for i in 0..bins.len() {
            if i > 0 {
                manual.extend_from_slice(b",");
            }
            binary::write_placeholder(&mut manual, i);
        }
        manual.extend_from_slice(b"]");
        prop_assert_eq!(out, manual);
    }
}

#[test]
fn binary_outside_encode_args_is_plain_bytes() {
    let bin = Binary(Bytes::from_static(&[1, 2, 255]));
    assert_eq!(serde_json::to_string(&bin).unwrap(), "[1,2,255]");
    let mut out = BytesMut::new();
    encode_args(&mut out, &[&bin]).unwrap();
    // The collecting state ends with the call.
    assert_eq!(serde_json::to_string(&bin).unwrap(), "[1,2,255]");
    let back: Binary = serde_json::from_str("[1,2,255]").unwrap();
    assert_eq!(back, bin);
}

#[test]
fn failed_encode_restores_state() {
    // A map with non-string keys is an error in serde_json, after a binary was collected.
    let mut map = BTreeMap::new();
    map.insert(vec![1u8], Binary(Bytes::new()));
    let bad = (Binary(Bytes::from_static(b"x")), map);
    let mut out = BytesMut::new();
    assert!(encode_args(&mut out, &bad).is_err());
    assert_eq!(serde_json::to_string(&Binary(Bytes::new())).unwrap(), "[]");
    let mut out = BytesMut::new();
    let atts = encode_args(&mut out, &[Binary(Bytes::from_static(b"y"))]).unwrap();
    assert_eq!(
        atts,
        [Bytes::from_static(b"y")],
        "no attachment left from the failed call"
    );
}

#[test]
fn encode_value_numbers_after_existing_attachments() {
    let mut atts = vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")];
    let mut out = BytesMut::new();
    encode_value(&mut out, &Binary(Bytes::from_static(b"c")), &mut atts).unwrap();
    assert_eq!(&out[..], br#"{"_placeholder":true,"num":2}"#);
    assert_eq!(atts.len(), 3);
    let b: Binary = decode_arg(std::str::from_utf8(&out).unwrap(), &atts).unwrap();
    assert_eq!(b.0, Bytes::from_static(b"c"));
    // Values without binaries leave the attachments alone.
    encode_value(&mut out, &("x", 1, [2]), &mut atts).unwrap();
    assert_eq!(atts.len(), 3);
}

#[test]
fn nested_encode_args_keep_their_own_attachments() {
    /// Serializes as a JSON string holding its own encoded arguments.
    struct Inner(Binary);
    impl Serialize for Inner {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut out = BytesMut::new();
            let atts = encode_args(&mut out, &[&self.0]).map_err(serde::ser::Error::custom)?;
            assert_eq!(atts.len(), 1);
            assert_eq!(atts[0], self.0.0);
            s.serialize_str(std::str::from_utf8(&out).unwrap())
        }
    }
    let a = Binary(Bytes::from_static(b"a"));
    let b = Binary(Bytes::from_static(b"b"));
    let c = Binary(Bytes::from_static(b"c"));
    let mut out = BytesMut::new();
    let atts = encode_args(&mut out, &(&a, Inner(b), &c)).unwrap();
    assert_eq!(atts, [a.0, c.0]);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v[2], json!({"_placeholder": true, "num": 1}));
    assert_eq!(v[1], json!("[{\"_placeholder\":true,\"num\":0}]"));
}

#[test]
fn placeholder_forms() {
    let atts = vec![Bytes::from_static(b"0"), Bytes::from_static(b"1")];
    // Key order, extra keys and whitespace do not matter.
    let b: Binary =
        decode_arg(r#"{ "num" : 1 , "x": [1], "_placeholder" : true }"#, &atts).unwrap();
    assert_eq!(b.0, Bytes::from_static(b"1"));
    // The same attachment may be referred to twice (the reference parser allows it).
    let both: Vec<Binary> = decode_arg(
        r#"[{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]"#,
        &atts,
    )
    .unwrap();
    assert_eq!(both, [Binary(atts[0].clone()), Binary(atts[0].clone())]);
    // Escaped key.
    let b: Binary = decode_arg(r#"{"_placeholde\u0072":true,"num":0}"#, &atts).unwrap();
    assert_eq!(b.0, atts[0]);
    // Untyped, a placeholder stays an object.
    let v: Value = decode_arg(r#"{"_placeholder":true,"num":0}"#, &atts).unwrap();
    assert_eq!(v, json!({"_placeholder": true, "num": 0}));
}

#[test]
fn bad_placeholders() {
    let atts = vec![Bytes::from_static(b"0")];
    for bad in [
        r#"{"_placeholder":true,"num":1}"#,
        r#"{"_placeholder":true,"num":18446744073709551616}"#,
        r#"{"_placeholder":true,"num":0.0}"#,
        r#"{"_placeholder":true,"num":"0"}"#,
        r#"{"_placeholder":true,"num":null}"#,
        r#"{"_placeholder":"true","num":0}"#,
        r#"{"_placeholder":1,"num":0}"#,
        r#"{"_placeholder":true}"#,
        r#"{}"#,
        r#"null"#,
        r#""AQID""#,
        r#"[256]"#,
        r#"[-1]"#,
        r#"{"_placeholder":true,"num":0"#,
    ] {
        assert!(decode_arg::<Binary>(bad, &atts).is_err(), "{bad}");
    }
    // Without attachments, a placeholder refers to nothing.
    assert!(decode_arg::<Binary>(r#"{"_placeholder":true,"num":0}"#, &[]).is_err());
}

#[test]
fn malformed_arg_lists() {
    for bad in [
        "[1 2]",
        "[,]",
        "[1,,2]",
        "[1]]",
        "[[1]",
        "[01]",
        "[1.]",
        "[.5]",
        "[+1]",
        "[NaN]",
        "[Infinity]",
        "['a']",
        "[\"a\nb\"]",
        "[tru]",
        "[1]\u{a0}",
        "\u{a0}[1]",
        "[1]\u{1e}",
        "[1][2]",
        "[{\"a\"}]",
        "[{\"a\":1,}]",
        "[{1:2}]",
        "null",
        "\"[]\"",
    ] {
        assert!(split_args(bad).is_err(), "{bad:?}");
    }
    // NOTE: like `JSON.parse`, splitting does not look inside strings beyond their escapes'
    // syntax, so lone surrogates pass; decoding such an argument as a Rust string fails.
    for lone in ["[\"\\ud800\"]", "[\"\\udc00\"]", "[\"\\ud83d\\u0041\"]"] {
        assert_eq!(split_args(lone).unwrap().len(), 1, "{lone:?}");
        assert!(decode_arg::<(String,)>(lone, &[]).is_err(), "{lone:?}");
        assert!(decode_arg::<Value>(lone, &[]).is_err(), "{lone:?}");
    }
    assert_eq!(split_args("[\"\\x\"]").map(|s| s.len()).ok(), None);
    assert_eq!(split_args(" \t\r\n[1] \n").unwrap().len(), 1);
    assert_eq!(split_args("[[],{},\"\"]").unwrap().len(), 3);
    assert_eq!(
        split_args("[\"\\ud83d\\ude00\"]").unwrap().len(),
        1,
        "surrogate pairs are fine"
    );
}
