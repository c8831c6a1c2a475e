//! Equality up to what the formats cannot tell apart: a JSON or msgpack number is a
//! JavaScript number whether it was written as an integer or a float.

use serde_json::Number;
use sio_cluster::msgpack::{self, Mp};
use sio_protocol::json::Value;

fn number_eq(a: &Number, b: &Number) -> bool {
    a == b || a.as_f64().zip(b.as_f64()).is_some_and(|(x, y)| x == y)
}

/// `a` and `b` are the same JSON-with-binary value (objects in any key order).
pub(crate) fn value_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number_eq(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| value_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| value_eq(v, w)))
        }
        _ => a == b,
    }
}

pub(crate) fn values_eq(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| value_eq(x, y))
}

fn mp_number(v: &Mp) -> Option<f64> {
    match *v {
        Mp::UInt(n) => Some(n as f64),
        Mp::Int(n) => Some(n as f64),
        Mp::Float(f) => Some(f),
        _ => None,
    }
}

/// What an extension that re-encodes as a fixext becomes: notepack reads `fixext 4/8` of
/// type -1 as a timestamp, whatever form it came in (unless it is no JavaScript date: then
/// it stays the extension, and None here).
fn normalized(v: &Mp) -> Option<Mp> {
    let Mp::Ext(-1, data) = v else { return None };
    let tag = match data.len() {
        4 => 0xd6,
        8 => 0xd7,
        _ => return None,
    };
    let mut bytes = vec![tag, 0xff];
    bytes.extend_from_slice(data);
    msgpack::decode(&bytes)
        .ok()
        .filter(|d| !matches!(d, Mp::Ext(..)))
}

/// `a` and `b` are the same notepack value: numbers by value, dates to a nanosecond (their
/// encoding goes through floats), `undefined` as `nil` (notepack writes both as `nil`).
pub(crate) fn mp_eq(a: &Mp, b: &Mp) -> bool {
    if let Some(a) = normalized(a) {
        return mp_eq(&a, b);
    }
    if let Some(b) = normalized(b) {
        return mp_eq(a, &b);
    }
    match (a, b) {
        (Mp::Nil | Mp::Undefined, Mp::Nil | Mp::Undefined) => true,
        (Mp::Date(x), Mp::Date(y)) => {
            x == y || (x - y).abs() <= 1e-6_f64.max(x.abs().max(y.abs()) * 1e-15)
        }
        (Mp::Array(x), Mp::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| mp_eq(x, y))
        }
        (Mp::Map(x), Mp::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k, v), (l, w))| mp_eq(k, l) && mp_eq(v, w))
        }
        _ => match (mp_number(a), mp_number(b)) {
            (Some(x), Some(y)) => x == y || (x.is_nan() && y.is_nan()),
            _ => a == b,
        },
    }
}
