//! Typed arguments through serde_json (feature `json`).
//!
//! - [`split_args`] checks an event or ack body and finds each argument's raw JSON without
//!   building values, so a server can pass arguments through untouched.
//! - [`encode_args`] writes arguments and collects every [`Binary`] among them as an
//!   attachment, leaving a placeholder in its place, at any depth.
//! - [`decode_arg`] reads one argument, resolving placeholders back into [`Binary`].

use std::cell::RefCell;
use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};
use serde::de::{self, DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use smallvec::SmallVec;

/// Byte ranges of each argument within a body; four fit without allocating.
pub type ArgSpans = SmallVec<[Range<u32>; 4]>;

/// Checks that `body` is a JSON array and returns the range of each element's raw JSON.
///
/// ```
/// let body = r#"["ev", {"a": [1, 2]}, "x"]"#;
/// let spans = sio_protocol::json::split_args(body).unwrap();
/// let args: Vec<&str> = spans.iter().map(|r| &body[r.start as usize..r.end as usize]).collect();
/// assert_eq!(args, [r#""ev""#, r#"{"a": [1, 2]}"#, r#""x""#]);
/// assert!(sio_protocol::json::split_args("[1,").is_err());
/// ```
pub fn split_args(body: &str) -> Result<ArgSpans, serde_json::Error> {
    struct SpansVisitor<'a>(&'a str);
    impl<'de> Visitor<'de> for SpansVisitor<'de> {
        type Value = ArgSpans;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array of arguments")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ArgSpans, A::Error> {
            let base = self.0.as_ptr() as usize;
            let mut spans = ArgSpans::new();
            while let Some(raw) = seq.next_element::<&'de RawValue>()? {
                let text = raw.get();
                let start = text.as_ptr() as usize - base;
                let end = start + text.len();
                let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(end)) else {
                    return Err(de::Error::custom("body too large"));
                };
                spans.push(start..end);
            }
            Ok(spans)
        }
    }
    let mut de = serde_json::Deserializer::from_str(body);
    let spans = de.deserialize_seq(SpansVisitor(body))?;
    de.end()?;
    Ok(spans)
}

thread_local! {
    /// Attachments collected by the [`encode_args`] running on this thread.
    static OUTGOING: RefCell<Option<Vec<Bytes>>> = const { RefCell::new(None) };
    /// Attachments that placeholders refer to in the [`decode_arg`] running on this thread.
    static INCOMING: RefCell<Vec<Bytes>> = const { RefCell::new(Vec::new()) };
}

/// Binary data inside arguments: sent as an attachment, received from one.
///
/// Put it anywhere in a serializable value (a field, a vector element, a tuple member);
/// [`encode_args`] replaces it with a placeholder and [`decode_arg`] resolves it back.
/// Outside those two it (de)serializes as plain bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Binary(pub Bytes);

impl From<Bytes> for Binary {
    fn from(b: Bytes) -> Self {
        Binary(b)
    }
}

impl From<Vec<u8>> for Binary {
    fn from(b: Vec<u8>) -> Self {
        Binary(Bytes::from(b))
    }
}

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let num = OUTGOING.with(|out| {
            out.borrow_mut().as_mut().map(|parts| {
                parts.push(self.0.clone());
                parts.len() - 1
            })
        });
        match num {
            Some(num) => {
                let mut m = s.serialize_struct("Placeholder", 2)?;
                m.serialize_field("_placeholder", &true)?;
                m.serialize_field("num", &num)?;
                m.end()
            }
            None => s.serialize_bytes(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BinaryVisitor;
        impl<'de> Visitor<'de> for BinaryVisitor {
            type Value = Binary;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a binary attachment")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Binary, A::Error> {
                let (mut placeholder, mut num) = (false, None);
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match &*key {
                        "_placeholder" => placeholder = map.next_value()?,
                        "num" => num = Some(map.next_value::<usize>()?),
                        _ => {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                    }
                }
                let num = num
                    .filter(|_| placeholder)
                    .ok_or_else(|| de::Error::custom("not a binary placeholder"))?;
                INCOMING
                    .with(|parts| parts.borrow().get(num).cloned())
                    .map(Binary)
                    .ok_or_else(|| de::Error::custom("placeholder refers to a missing attachment"))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Binary, E> {
                Ok(Binary(Bytes::copy_from_slice(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Binary, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(b) = seq.next_element::<u8>()? {
                    v.push(b);
                }
                Ok(Binary(Bytes::from(v)))
            }
        }
        d.deserialize_any(BinaryVisitor)
    }
}

/// Any JSON value in which binary attachments may appear anywhere: what a Node handler
/// receives when it does not know the shape of its arguments.
///
/// Unlike `serde_json::Value`, binary survives a round trip: [`decode_arg`] turns
/// placeholders into [`Value::Binary`], and [`encode_value`] turns them back into
/// attachments. Objects keep their key order, as `JSON.parse` does.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use sio_protocol::json::{decode_arg, encode_args, Value};
/// let atts = [Bytes::from_static(b"\x01\x02")];
/// let v: Value = decode_arg(r#"{"file":{"_placeholder":true,"num":0},"n":1}"#, &atts).unwrap();
/// let Value::Object(m) = &v else { unreachable!() };
/// assert_eq!(m["file"], Value::Binary(atts[0].clone()));
/// let mut out = BytesMut::new();
/// assert_eq!(encode_args(&mut out, &v).unwrap(), atts);
/// assert_eq!(&out[..], br#"{"file":{"_placeholder":true,"num":0},"n":1}"#);
/// // Key order is kept.
/// let v: Value = decode_arg(r#"{"z":1,"a":2}"#, &[]).unwrap();
/// let mut out = BytesMut::new();
/// encode_args(&mut out, &v).unwrap();
/// assert_eq!(&out[..], br#"{"z":1,"a":2}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// Binary data (an attachment on the wire).
    Binary(Bytes),
    /// An array.
    Array(Vec<Value>),
    /// An object, in key order.
    Object(indexmap::IndexMap<String, Value>),
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(m) => {
                Value::Object(m.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => n.serialize(s),
            Value::String(v) => s.serialize_str(v),
            Value::Binary(b) => Binary(b.clone()).serialize(s),
            Value::Array(a) => a.serialize(s),
            Value::Object(m) => m.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                Value::deserialize(d)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Number(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
                Ok(Value::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
                Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
                Ok(Value::String(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
                Ok(Value::String(v))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
                Ok(Value::Binary(Bytes::copy_from_slice(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(Value::Array(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
                let mut out = indexmap::IndexMap::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.insert(k, v);
                }
                Ok(resolve_placeholder(&out).unwrap_or(Value::Object(out)))
            }
        }
        d.deserialize_any(ValueVisitor)
    }
}

/// The attachment a `{"_placeholder":true,"num":N}` object stands for, if it is one and
/// attachment N is lent to this thread. Other keys do not matter, as in socket.io-parser
/// (and [`Binary`]).
fn resolve_placeholder(m: &indexmap::IndexMap<String, Value>) -> Option<Value> {
    if m.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    let Some(Value::Number(n)) = m.get("num") else {
        return None;
    };
    let n = usize::try_from(n.as_u64()?).ok()?;
    INCOMING
        .with(|parts| parts.borrow().get(n).cloned())
        .map(Value::Binary)
}

/// Appends `value` to `out` as JSON and returns the attachments of every [`Binary`] inside,
/// in placeholder order.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use sio_protocol::json::{encode_args, Binary};
/// let mut out = BytesMut::new();
/// let atts = encode_args(&mut out, &("file", Binary(Bytes::from_static(b"\x01")))).unwrap();
/// assert_eq!(&out[..], br#"["file",{"_placeholder":true,"num":0}]"#);
/// assert_eq!(atts, [Bytes::from_static(b"\x01")]);
/// ```
pub fn encode_args<T: Serialize + ?Sized>(
    out: &mut BytesMut,
    value: &T,
) -> Result<Vec<Bytes>, serde_json::Error> {
    let mut attachments = Vec::new();
    encode_value(out, value, &mut attachments)?;
    Ok(attachments)
}

/// Appends `value` to `out` as JSON, adding the attachments of every [`Binary`] inside to
/// `attachments`; placeholders are numbered after the attachments already there, so
/// several arguments of one packet share one numbering.
pub fn encode_value<T: Serialize + ?Sized>(
    out: &mut BytesMut,
    value: &T,
    attachments: &mut Vec<Bytes>,
) -> Result<(), serde_json::Error> {
    let lent = std::mem::take(attachments);
    let previous = OUTGOING.with(|o| o.borrow_mut().replace(lent));
    let result = serde_json::to_writer(out.writer(), value);
    let parts = OUTGOING.with(|o| std::mem::replace(&mut *o.borrow_mut(), previous));
    *attachments = parts.unwrap_or_default();
    result
}

/// Deserializes one argument's raw JSON, resolving placeholders against `attachments`.
///
/// ```
/// use bytes::Bytes;
/// use sio_protocol::json::{decode_arg, Binary};
/// let atts = [Bytes::from_static(b"abc")];
/// let (name, bin): (String, Binary) =
///     decode_arg(r#"["f",{"_placeholder":true,"num":0}]"#, &atts).unwrap();
/// assert_eq!((name.as_str(), &bin.0[..]), ("f", &b"abc"[..]));
/// ```
pub fn decode_arg<T: DeserializeOwned>(
    raw: &str,
    attachments: &[Bytes],
) -> Result<T, serde_json::Error> {
    if attachments.is_empty() {
        return serde_json::from_str(raw);
    }
    // Lend the attachments to this thread for the call (cloning `Bytes` only bumps counts).
    let previous = INCOMING.with(|i| std::mem::replace(&mut *i.borrow_mut(), attachments.to_vec()));
    let result = serde_json::from_str(raw);
    INCOMING.with(|i| *i.borrow_mut() = previous);
    result
}

/// Writes a JSON string, for callers that already depend on this feature.
pub fn write_str(out: &mut BytesMut, s: &str) {
    crate::jsonstr::write(out, s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_binary_round_trip() {
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        struct Msg {
            name: String,
            files: Vec<Binary>,
            inner: Option<Box<Msg>>,
        }
        let msg = Msg {
            name: "a".into(),
            files: vec![Binary(Bytes::from_static(b"1")), Binary(Bytes::new())],
            inner: Some(Box::new(Msg {
                name: "b".into(),
                files: vec![Binary(Bytes::from_static(b"3"))],
                inner: None,
            })),
        };
        let mut out = BytesMut::new();
        let atts = encode_args(&mut out, &msg).unwrap();
        assert_eq!(atts.len(), 3);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["inner"]["files"][0],
            json!({"_placeholder": true, "num": 2})
        );
        let back: Msg = decode_arg(std::str::from_utf8(&out).unwrap(), &atts).unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn bad_placeholders() {
        let atts = vec![Bytes::new()];
        assert!(decode_arg::<Binary>(r#"{"_placeholder":true,"num":1}"#, &atts).is_err());
        assert!(decode_arg::<Binary>(r#"{"_placeholder":false,"num":0}"#, &atts).is_err());
        assert!(decode_arg::<Binary>(r#"{"num":0}"#, &atts).is_err());
        assert!(decode_arg::<Binary>(r#"{"_placeholder":true,"num":-1}"#, &atts).is_err());
        assert!(decode_arg::<Binary>("[1,2]", &[]).is_ok());
    }

    #[test]
    fn placeholders_with_more_keys_are_binary() {
        // socket.io-parser's `reconstructPacket` reads any object whose `_placeholder` is
        // true as a placeholder, whatever else it holds; so does `Binary`.
        let atts = vec![Bytes::from_static(b"a")];
        let raw = r#"{"_placeholder":true,"x":1,"num":0}"#;
        assert_eq!(
            decode_arg::<Value>(raw, &atts).unwrap(),
            Value::Binary(atts[0].clone())
        );
        assert_eq!(decode_arg::<Binary>(raw, &atts).unwrap().0, atts[0]);
        // Without attachments to refer to, it stays an object.
        assert!(matches!(
            decode_arg::<Value>(raw, &[]).unwrap(),
            Value::Object(_)
        ));
    }

    #[test]
    fn floats_read_back_exactly() {
        // serde_json's default float parsing may be a unit in the last place off; a value
        // relayed between JavaScript peers must not change (found by fuzz/ redis_wire).
        for bits in [
            0x37f8_0000_0000_0000_u64,
            0x3fb9_9999_9999_999a,
            0x7fef_ffff_ffff_ffff,
        ] {
            let x = f64::from_bits(bits);
            let text = serde_json::to_string(&x).unwrap();
            let Value::Number(n) = decode_arg::<Value>(&text, &[]).unwrap() else {
                panic!("{text}");
            };
            assert_eq!(n.as_f64().map(f64::to_bits), Some(bits), "{text}");
        }
    }

    #[test]
    fn split_rejects_non_arrays_and_trailing_text() {
        for bad in ["{}", "1", "[1]x", "[1,]", "[", "", "[\"\\x\"]"] {
            assert!(split_args(bad).is_err(), "{bad:?}");
        }
        assert_eq!(split_args(" [ ] ").unwrap().len(), 0);
    }
}
