//! Standard base64 (RFC 4648, with padding) for the binary records of polling payloads.
//!
//! Written here rather than taken from the `base64` crate: its general-purpose engine costs
//! about 4 KB of wasm, a large share of what the browser client can spend on its whole
//! protocol. Decoding is as strict as that crate's `STANDARD` engine (padding required,
//! no stray bits); the tests check both against it.

use alloc::vec::Vec;

use bytes::BufMut;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends the base64 of `input` to `out`.
pub fn encode<B: BufMut + ?Sized>(input: &[u8], out: &mut B) {
    // Through a small buffer: one `put_slice` per 192 output bytes, not per 4.
    let mut buf = [0u8; 192];
    let mut len = 0;
    for chunk in input.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = b(0) << 16 | b(1) << 8 | b(2);
        let sym = |shift: u32| ALPHABET[(n >> shift) as usize & 63];
        let quad = [
            sym(18),
            sym(12),
            if chunk.len() > 1 { sym(6) } else { b'=' },
            if chunk.len() > 2 { sym(0) } else { b'=' },
        ];
        if len == buf.len() {
            out.put_slice(&buf);
            len = 0;
        }
        if let Some(dst) = buf.get_mut(len..len + 4) {
            dst.copy_from_slice(&quad);
        }
        len += 4;
    }
    out.put_slice(buf.get(..len).unwrap_or_default());
}

/// The bytes `input` encodes; `None` unless it is canonical padded base64.
pub fn decode(input: &[u8]) -> Option<Vec<u8>> {
    if input.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let quads = input.chunks_exact(4);
    let last = quads.len().wrapping_sub(1);
    for (i, quad) in quads.enumerate() {
        let pad = if i == last {
            quad.iter().rev().take_while(|&&c| c == b'=').count()
        } else {
            0
        };
        if pad > 2 {
            return None;
        }
        let mut n: u32 = 0;
        for &c in quad.get(..4 - pad)? {
            n = n << 6 | u32::from(value(c)?);
        }
        n <<= 6 * pad as u32;
        // Bits beyond the last byte must be zero, or two inputs would decode alike.
        let stray = match pad {
            1 => n & 0xff,
            2 => n & 0xffff,
            _ => 0,
        };
        if stray != 0 {
            return None;
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(bytes.get(..3 - pad)?);
    }
    Some(out)
}

fn value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::base64::Engine as _;
    use ::base64::engine::general_purpose::STANDARD;
    use proptest::prelude::*;

    fn enc(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(input, &mut out);
        out
    }

    #[test]
    fn rfc4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(enc(plain.as_bytes()), coded.as_bytes());
            assert_eq!(decode(coded.as_bytes()).as_deref(), Some(plain.as_bytes()));
        }
    }

    #[test]
    fn refuses_what_is_not_canonical() {
        for bad in [
            "Zg", "Zg=", "Zh==", "Zm9=", "Z===", "Zg==Zg==", "Zm9v!A==", "====",
        ] {
            assert_eq!(decode(bad.as_bytes()), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_base64_crate(input in proptest::collection::vec(any::<u8>(), 0..700)) {
            let coded = enc(&input);
            let theirs = STANDARD.encode(&input);
            prop_assert_eq!(&coded, theirs.as_bytes());
            prop_assert_eq!(decode(&coded), Some(input));
        }

        #[test]
        fn decodes_like_the_base64_crate(text in "[A-Za-z0-9+/=]{0,24}") {
            prop_assert_eq!(decode(text.as_bytes()), STANDARD.decode(&text).ok());
        }
    }
}
