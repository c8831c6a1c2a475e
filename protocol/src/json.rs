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
    fn split_rejects_non_arrays_and_trailing_text() {
        for bad in ["{}", "1", "[1]x", "[1,]", "[", "", "[\"\\x\"]"] {
            assert!(split_args(bad).is_err(), "{bad:?}");
        }
        assert_eq!(split_args(" [ ] ").unwrap().len(), 0);
    }
}
