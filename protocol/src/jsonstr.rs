//! JSON strings without a JSON library: event names are read and written by hand so that
//! the wasm client, which parses bodies with the browser's `JSON.parse`, ships no JSON parser.

use alloc::borrow::Cow;
use alloc::string::String;

use bytes::{BufMut, BytesMut};

use crate::DecodeError;

/// Parses the JSON string at the start of `s` (which must start with `"`), returning its
/// value and the text after the closing quote. Borrows when the string has no escapes.
///
/// ```
/// use sio_protocol::jsonstr::parse_prefix;
/// assert_eq!(parse_prefix(r#""a\tb",1"#).unwrap(), ("a\tb".into(), ",1"));
/// ```
pub fn parse_prefix(s: &str) -> Result<(Cow<'_, str>, &str), DecodeError> {
    let body = s.strip_prefix('"').ok_or(DecodeError::BadString)?;
    let bytes = body.as_bytes();
    let mut i = 0;
    // Fast path: no escapes before the closing quote.
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Ok((Cow::Borrowed(&body[..i]), &body[i + 1..])),
            b'\\' => break,
            b if b < 0x20 => return Err(DecodeError::BadString),
            _ => i += 1,
        }
    }
    let mut out = String::with_capacity(body.len());
    out.push_str(&body[..i]);
    let mut chars = body[i..].char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((Cow::Owned(out), &body[i + at + 1..])),
            '\\' => {
                let (_, e) = chars.next().ok_or(DecodeError::BadString)?;
                match e {
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    '/' => out.push('/'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'u' => {
                        let hi = hex4(&mut chars)?;
                        let code = if (0xD800..0xDC00).contains(&hi) {
                            // A high surrogate must be followed by `\uDC00`–`\uDFFF`.
                            let (_, a) = chars.next().ok_or(DecodeError::BadString)?;
                            let (_, b) = chars.next().ok_or(DecodeError::BadString)?;
                            if (a, b) != ('\\', 'u') {
                                return Err(DecodeError::BadString);
                            }
                            let lo = hex4(&mut chars)?;
                            if !(0xDC00..0xE000).contains(&lo) {
                                return Err(DecodeError::BadString);
                            }
                            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                        } else {
                            hi
                        };
                        out.push(char::from_u32(code).ok_or(DecodeError::BadString)?);
                    }
                    _ => return Err(DecodeError::BadString),
                }
            }
            c if (c as u32) < 0x20 => return Err(DecodeError::BadString),
            c => out.push(c),
        }
    }
    Err(DecodeError::BadString)
}

fn hex4(chars: &mut core::str::CharIndices<'_>) -> Result<u32, DecodeError> {
    let mut v = 0;
    for _ in 0..4 {
        let (_, c) = chars.next().ok_or(DecodeError::BadString)?;
        v = v * 16 + c.to_digit(16).ok_or(DecodeError::BadString)?;
    }
    Ok(v)
}

/// Writes `s` as a JSON string, quotes included, escaping as `JSON.stringify` does.
///
/// ```
/// let mut out = bytes::BytesMut::new();
/// sio_protocol::jsonstr::write(&mut out, "say \"hi\"\n");
/// assert_eq!(&out[..], br#""say \"hi\"\n""#);
/// ```
pub fn write(out: &mut BytesMut, s: &str) {
    out.reserve(s.len() + 2);
    out.put_u8(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.put_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.put_slice(b"\\u00");
            out.put_u8(HEX[(b >> 4) as usize]);
            out.put_u8(HEX[(b & 0xf) as usize]);
        } else {
            out.put_slice(escape);
        }
        start = i + 1;
    }
    out.put_slice(&bytes[start..]);
    out.put_u8(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse_prefix(r#""""#).unwrap(), ("".into(), ""));
        assert_eq!(
            parse_prefix(r#""\ud83d\ude00\/\b\f\r""#).unwrap(),
            ("😀/\u{8}\u{c}\r".into(), "")
        );
        for bad in [
            "",
            "a",
            "\"",
            "\"abc",
            "\"\\",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\ud83d\"",
            "\"\\ud83d\\u0041\"",
            "\"\\udc00\"",
            "\"\n\"",
            "\"é\n\"",
        ] {
            assert!(parse_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn writes_like_json_stringify() {
        let mut out = BytesMut::new();
        write(&mut out, "\u{1}é\u{1f}/\u{2028}");
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "\"\\u0001é\\u001f/\u{2028}\""
        );
    }
}
