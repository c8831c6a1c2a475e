//! Between msgpack values and the JSON-with-binary values of [`crate::json`].

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;

use super::Mp;
use crate::json::Value;

/// A msgpack value as the JSON-with-binary value a Socket.IO handler sees: dates become
/// their ISO string (what `JSON.stringify` makes of them), `undefined` becomes `null` in
/// arrays and disappears from objects, other extensions become `[type, bytes]`.
pub fn mp_to_value(v: &Mp) -> Value {
    match v {
        Mp::Nil | Mp::Undefined => Value::Null,
        Mp::Bool(b) => Value::Bool(*b),
        Mp::UInt(n) => Value::Number((*n).into()),
        Mp::Int(n) => Value::Number((*n).into()),
        Mp::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Mp::Str(s) => Value::String(s.clone()),
        Mp::Bin(b) => Value::Binary(b.clone()),
        Mp::Array(items) => Value::Array(items.iter().map(mp_to_value).collect()),
        Mp::Map(entries) => Value::Object(
            entries
                .iter()
                .filter(|(_, v)| !matches!(v, Mp::Undefined))
                .map(|(k, v)| (key_string(k), mp_to_value(v)))
                .collect(),
        ),
        Mp::Date(ms) => iso_date(*ms).map_or(Value::Null, Value::String),
        Mp::Ext(t, b) => Value::Array(vec![
            Value::Number(i64::from(*t).into()),
            Value::Binary(b.clone()),
        ]),
    }
}

/// A map key as the string a JS object has for it (`String(key)`): notepack writes only
/// string keys, but other encoders may not.
fn key_string(k: &Mp) -> String {
    match k {
        // `String(-0)` is "0" (and notepack writes -0 as the integer 0).
        Mp::Float(f) if *f == 0.0 => "0".to_owned(),
        Mp::Str(s) => s.clone(),
        Mp::UInt(n) => n.to_string(),
        Mp::Int(n) => n.to_string(),
        Mp::Bool(b) => b.to_string(),
        Mp::Float(f) => f.to_string(),
        _ => String::new(),
    }
}

/// A JSON-with-binary value as notepack encodes it.
pub fn value_to_mp(v: &Value) -> Mp {
    match v {
        Value::Null => Mp::Nil,
        Value::Bool(b) => Mp::Bool(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Mp::UInt(u)
            } else if let Some(i) = n.as_i64() {
                Mp::Int(i)
            } else {
                Mp::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => Mp::Str(s.clone()),
        Value::Binary(b) => Mp::Bin(b.clone()),
        Value::Array(items) => Mp::Array(items.iter().map(value_to_mp).collect()),
        Value::Object(m) => Mp::Map(
            m.iter()
                .map(|(k, v)| (Mp::str(k.as_str()), value_to_mp(v)))
                .collect(),
        ),
    }
}

/// `Date.prototype.toISOString`: `1970-01-01T00:00:00.000Z`; None out of its range.
pub fn iso_date(ms: f64) -> Option<String> {
    if !ms.is_finite() || ms.abs() > 8.64e15 {
        return None;
    }
    let ms = ms.floor() as i64;
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, min, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    let year = if (0..=9999).contains(&y) {
        format!("{y:04}")
    } else if y < 0 {
        format!("-{:06}", -y)
    } else {
        format!("+{y:06}")
    };
    Some(format!(
        "{year}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z"
    ))
}
