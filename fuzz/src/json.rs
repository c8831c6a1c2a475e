use bytes::{Bytes, BytesMut};
use serde_json::value::RawValue;
use sio_protocol::json::{self, Value};

use crate::equiv::value_eq;

/// The attachments a body's placeholders may refer to: distinct, so a placeholder resolved
/// to the wrong one shows.
pub(crate) fn attachments(n: usize) -> Vec<Bytes> {
    (0..n).map(|i| Bytes::from(vec![i as u8; i])).collect()
}

/// Argument splitting and decoding: `split_args`, `decode_arg` into `Value`, and `Value`'s
/// encoding back. The first byte says how many attachments the body comes with.
pub fn json_args(data: &[u8]) {
    let Some((&n, body)) = data.split_first() else {
        return;
    };
    let Ok(body) = std::str::from_utf8(body) else {
        return;
    };
    args(body, &attachments(usize::from(n % 5)));
}

/// What the server does with an event or ack body and its attachments.
pub(crate) fn args(body: &str, attachments: &[Bytes]) {
    let spans = json::split_args(body);
    let reference = serde_json::from_str::<Vec<&RawValue>>(body);
    let (spans, reference) = match (spans, reference) {
        (Ok(s), Ok(r)) => (s, r),
        (Err(_), Err(_)) => return,
        (ours, theirs) => panic!("{body:?}: split_args {ours:?}, serde_json {theirs:?}"),
    };
    assert_eq!(spans.len(), reference.len(), "{body:?}");
    let mut end = 0;
    for (span, raw) in spans.iter().zip(&reference) {
        let (s, e) = (span.start as usize, span.end as usize);
        assert!(end <= s && s <= e && e <= body.len(), "{body:?}: {spans:?}");
        end = e;
        let arg = body
            .get(s..e)
            .unwrap_or_else(|| panic!("{body:?}: {span:?}"));
        assert_eq!(arg, raw.get(), "{body:?}");
        arg_value(arg, attachments);
    }
}

/// One argument: `Value` reads what serde_json reads, resolving placeholders as the
/// reference parser does, and writes it back to the same value.
fn arg_value(raw: &str, attachments: &[Bytes]) {
    let ours = json::decode_arg::<Value>(raw, attachments);
    let theirs = serde_json::from_str::<serde_json::Value>(raw);
    let (ours, theirs) = match (ours, theirs) {
        (Ok(o), Ok(t)) => (o, t),
        (Err(_), Err(_)) => return,
        (ours, theirs) => panic!("{raw:?}: Value {ours:?}, serde_json {theirs:?}"),
    };
    let expected = resolved(theirs, attachments);
    assert!(
        value_eq(&ours, &expected),
        "{raw:?}: {ours:?}, expected {expected:?}"
    );
    // A placeholder left unresolved is only an object, and encoding renumbers binary: such
    // a body may not survive a round trip (the server refuses it when it has attachments).
    if has_placeholder(&ours) {
        return;
    }
    let mut out = BytesMut::new();
    let atts = json::encode_args(&mut out, &ours).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
    let text = std::str::from_utf8(&out).unwrap_or_else(|e| panic!("{e}"));
    let again = json::decode_arg::<Value>(text, &atts).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert!(value_eq(&again, &ours), "{raw:?} as {text:?}: {again:?}");
}

/// `v` with the placeholders that refer to an attachment replaced by it, bottom up.
fn resolved(v: serde_json::Value, attachments: &[Bytes]) -> Value {
    match v {
        serde_json::Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| resolved(v, attachments))
                .collect(),
        ),
        serde_json::Value::Object(m) => {
            let m: indexmap::IndexMap<String, Value> = m
                .into_iter()
                .map(|(k, v)| (k, resolved(v, attachments)))
                .collect();
            placeholder(&m, attachments).unwrap_or(Value::Object(m))
        }
        v => Value::from(v),
    }
}

/// The attachment an object stands for: `_placeholder` is `true` and `num` an index into the
/// attachments (socket.io-parser's `reconstructPacket`).
fn placeholder(m: &indexmap::IndexMap<String, Value>, attachments: &[Bytes]) -> Option<Value> {
    if m.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    let Some(Value::Number(n)) = m.get("num") else {
        return None;
    };
    let n = usize::try_from(n.as_u64()?).ok()?;
    attachments.get(n).cloned().map(Value::Binary)
}

fn has_placeholder(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.iter().any(has_placeholder),
        Value::Object(m) => {
            m.get("_placeholder") == Some(&Value::Bool(true)) || m.values().any(has_placeholder)
        }
        _ => false,
    }
}
