//! Socket.IO v5 packets.
//!
//! ```text
//! <type>[<attachments>-][<namespace>,][<ack id>][<JSON body>]
//! 2["chat","hi"]            event on "/"
//! 2/admin,12["chat","hi"]   event on "/admin" wanting ack 12
//! 51-["upload",{"_placeholder":true,"num":0}]   binary event with one attachment
//! ```
//!
//! Decoding parses the header and checks the body's shape by its first character; the body
//! itself stays raw JSON text for the caller's parser (serde_json on the server, the
//! browser's `JSON.parse` in the wasm client).

use bytes::{BufMut, BytesMut};

use crate::DecodeError;
use crate::jsonstr;

/// The largest ack id accepted: ids are JavaScript numbers, exact up to 2^53.
pub const MAX_ACK_ID: u64 = (1 << 53) - 1;

/// The Socket.IO packet types and their wire digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: connect to a namespace (client, with optional auth object) or accept (server).
    Connect = b'0',
    /// `1`: leave a namespace.
    Disconnect = b'1',
    /// `2`: an event.
    Event = b'2',
    /// `3`: an acknowledgement.
    Ack = b'3',
    /// `4`: a refused connection.
    ConnectError = b'4',
    /// `5`: an event with binary attachments.
    BinaryEvent = b'5',
    /// `6`: an acknowledgement with binary attachments.
    BinaryAck = b'6',
}

impl PacketType {
    /// The type encoded by the wire digit `b`.
    pub fn from_digit(b: u8) -> Option<Self> {
        Some(match b {
            b'0' => Self::Connect,
            b'1' => Self::Disconnect,
            b'2' => Self::Event,
            b'3' => Self::Ack,
            b'4' => Self::ConnectError,
            b'5' => Self::BinaryEvent,
            b'6' => Self::BinaryAck,
            _ => return None,
        })
    }

    /// The wire digit of this type.
    pub fn digit(self) -> u8 {
        self as u8
    }

    /// Whether packets of this type announce an attachment count.
    pub fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }
}

/// A decoded Socket.IO packet, borrowing from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The packet type.
    pub kind: PacketType,
    /// The namespace, `/` when the packet names none.
    pub nsp: &'a str,
    /// The ack id, if the sender wants an acknowledgement (events) or answers one (acks).
    pub id: Option<u64>,
    /// The number of binary attachments that follow (binary types only, else 0).
    pub attachments: usize,
    /// The raw JSON body, empty when absent. Its shape has been checked (an array for
    /// events and acks, an object for connect…), its full syntax has not.
    pub data: &'a str,
}

/// Decodes one Socket.IO packet from the text of an Engine.IO message.
///
/// Follows the reference parser: the namespace runs from `/` to the first `,`; the ack id is
/// the digits that follow; the rest is the body, which may be absent and otherwise must fit
/// the type (an object for CONNECT, nothing for DISCONNECT, an object or a string for
/// CONNECT_ERROR, an array whose first element is a string or a number for events, an
/// array for acks).
///
/// ```
/// use sio_protocol::socket::{decode, PacketType};
/// let p = decode("51-/up,3[\"file\",{\"_placeholder\":true,\"num\":0}]").unwrap();
/// assert_eq!((p.kind, p.attachments, p.nsp, p.id), (PacketType::BinaryEvent, 1, "/up", Some(3)));
/// assert!(decode("2{}").is_err());
/// ```
pub fn decode(text: &str) -> Result<Packet<'_>, DecodeError> {
    let bytes = text.as_bytes();
    let first = *bytes.first().ok_or(DecodeError::Empty)?;
    let kind = PacketType::from_digit(first).ok_or_else(|| {
        DecodeError::UnknownType(text.chars().next().unwrap_or(char::REPLACEMENT_CHARACTER))
    })?;
    // Every index below stops at an ASCII byte, a char boundary: `get` never fails there,
    // and unlike indexing it brings no panic path (and its formatting) into the wasm client.
    let rest = |i: usize| bytes.get(i..).unwrap_or_default();
    let mut i = 1;

    let mut attachments = 0;
    if kind.is_binary() {
        let (n, digits) = leading_number(rest(i));
        if digits == 0 || bytes.get(i + digits) != Some(&b'-') {
            return Err(DecodeError::IllegalAttachments);
        }
        attachments = n
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(DecodeError::IllegalAttachments)?;
        // A binary packet without attachments is refused, as the reference parser does.
        if attachments == 0 {
            return Err(DecodeError::IllegalAttachments);
        }
        i += digits + 1;
    }

    let mut nsp = "/";
    if bytes.get(i) == Some(&b'/') {
        let end = rest(i)
            .iter()
            .position(|&b| b == b',')
            .map_or(bytes.len(), |p| i + p);
        nsp = text.get(i..end).ok_or(DecodeError::IllegalNamespace)?;
        // Control characters (the polling record separator among them) never name a namespace.
        if nsp.bytes().any(|b| b < 0x20) {
            return Err(DecodeError::IllegalNamespace);
        }
        i = (end + 1).min(bytes.len());
    }

    let mut id = None;
    let (n, digits) = leading_number(rest(i));
    if digits > 0 {
        match n {
            Some(n) if n <= MAX_ACK_ID => id = Some(n),
            _ => return Err(DecodeError::IllegalId),
        }
        i += digits;
    }

    let data = text.get(i..).ok_or(DecodeError::InvalidPayload)?;
    check_shape(kind, data)?;
    Ok(Packet {
        kind,
        nsp,
        id,
        attachments,
        data,
    })
}

/// The number written in the ASCII digits that start `bytes` (`None` if it overflows), and
/// how many digits there are.
fn leading_number(bytes: &[u8]) -> (Option<u64>, usize) {
    let mut n = Some(0u64);
    let mut digits = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            break;
        }
        n = n.and_then(|n| n.checked_mul(10)?.checked_add(u64::from(b - b'0')));
        digits += 1;
    }
    (n, digits)
}

fn check_shape(kind: PacketType, data: &str) -> Result<(), DecodeError> {
    // As in the reference parser, a packet may end after its header: it has no data.
    if data.is_empty() {
        return Ok(());
    }
    let first = data.trim_ascii_start().as_bytes().first().copied();
    let ok = match kind {
        PacketType::Connect => data.is_empty() || first == Some(b'{'),
        PacketType::Disconnect => data.is_empty(),
        PacketType::ConnectError => matches!(first, Some(b'{' | b'"')),
        PacketType::Event | PacketType::BinaryEvent => {
            let inner = data
                .trim_ascii_start()
                .strip_prefix('[')
                .map(str::trim_ascii_start);
            match inner.and_then(|s| s.as_bytes().first()) {
                Some(b'"') => true,
                Some(b) => b.is_ascii_digit() || *b == b'-',
                None => false,
            }
        }
        PacketType::Ack | PacketType::BinaryAck => first == Some(b'['),
    };
    if ok {
        Ok(())
    } else {
        Err(DecodeError::InvalidPayload)
    }
}

/// Events a peer may not send: they are reserved for the library's own use.
pub const RESERVED_EVENTS: &[&str] = &[
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The name of an event from its body (`["name",args…]`) and the text after the name: either
/// `]` or `,` followed by the remaining arguments. The name is unescaped only when it
/// contains escapes.
///
/// Numeric event names (allowed by the reference parser) come back as their digits.
///
/// ```
/// use sio_protocol::socket::event_name;
/// let (name, rest) = event_name(r#"["a\"b",1,2]"#).unwrap();
/// assert_eq!((&*name, rest), ("a\"b", ",1,2]"));
/// ```
pub fn event_name(data: &str) -> Result<(alloc::borrow::Cow<'_, str>, &str), DecodeError> {
    let inner = data
        .trim_ascii_start()
        .strip_prefix('[')
        .ok_or(DecodeError::InvalidPayload)?
        .trim_ascii_start();
    let (name, rest) = if inner.starts_with('"') {
        jsonstr::parse_prefix(inner)?
    } else {
        let end = inner
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
            .unwrap_or(inner.len());
        if end == 0 {
            return Err(DecodeError::InvalidPayload);
        }
        (alloc::borrow::Cow::Borrowed(&inner[..end]), &inner[end..])
    };
    let rest = rest.trim_ascii_start();
    if !(rest.starts_with(',') || rest.starts_with(']')) {
        return Err(DecodeError::InvalidPayload);
    }
    if RESERVED_EVENTS.contains(&&*name) {
        return Err(DecodeError::InvalidPayload);
    }
    Ok((name, rest))
}

/// Writes a packet header: type, attachment count (binary types), namespace (when not `/`)
/// and ack id. The caller appends the JSON body.
///
/// ```
/// use bytes::BytesMut;
/// use sio_protocol::socket::{write_header, PacketType};
/// let mut out = BytesMut::new();
/// write_header(&mut out, PacketType::BinaryAck, "/chat", Some(4), 2);
/// out.extend_from_slice(b"[]");
/// assert_eq!(&out[..], b"62-/chat,4[]");
/// ```
pub fn write_header<B: BufMut + ?Sized>(
    out: &mut B,
    kind: PacketType,
    nsp: &str,
    id: Option<u64>,
    attachments: usize,
) {
    out.put_u8(kind.digit());
    if kind.is_binary() {
        write_decimal(out, attachments as u64);
        out.put_u8(b'-');
    }
    if nsp != "/" && !nsp.is_empty() {
        out.put_slice(nsp.as_bytes());
        out.put_u8(b',');
    }
    if let Some(id) = id {
        write_decimal(out, id);
    }
}

/// Writes the start of an event body, `["name"`; the caller appends `,arg`… and `]`.
pub fn write_event_start(out: &mut BytesMut, name: &str) {
    out.put_u8(b'[');
    jsonstr::write(out, name);
}

/// Writes `n` in decimal, without going through `core::fmt` (which the wasm client avoids).
pub(crate) fn write_decimal<B: BufMut + ?Sized>(out: &mut B, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&buf[i..]);
}

/// A CONNECT_ERROR body: `{"message":…}` with optional raw JSON `data`.
pub fn write_connect_error(out: &mut BytesMut, message: &str, data: Option<&str>) {
    out.put_slice(b"{\"message\":");
    jsonstr::write(out, message);
    if let Some(data) = data {
        out.put_slice(b",\"data\":");
        out.put_slice(data.as_bytes());
    }
    out.put_u8(b'}');
}

/// A server's CONNECT answer body: `{"sid":"…"}`, or `{"sid":"…","pid":"…"}` with the
/// private id of a session that connection state recovery can restore.
pub fn write_connect_ok(out: &mut BytesMut, sid: &str, pid: Option<&str>) {
    out.put_slice(b"{\"sid\":");
    jsonstr::write(out, sid);
    if let Some(pid) = pid {
        out.put_slice(b",\"pid\":");
        jsonstr::write(out, pid);
    }
    out.put_u8(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Packet<'_> {
        decode(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    #[test]
    fn decodes_headers() {
        let x = p("0");
        assert_eq!(
            (x.kind, x.nsp, x.id, x.data),
            (PacketType::Connect, "/", None, "")
        );
        let x = p("0/admin,{\"token\":1}");
        assert_eq!((x.nsp, x.data), ("/admin", "{\"token\":1}"));
        let x = p("0/admin");
        assert_eq!((x.nsp, x.data), ("/admin", ""));
        let x = p("1/admin,");
        assert_eq!((x.kind, x.nsp), (PacketType::Disconnect, "/admin"));
        let x = p("2[\"a\"]");
        assert_eq!((x.kind, x.id), (PacketType::Event, None));
        let x = p("212[\"a\"]");
        assert_eq!(x.id, Some(12));
        let x = p("3/a,0[]");
        assert_eq!(
            (x.kind, x.nsp, x.id, x.data),
            (PacketType::Ack, "/a", Some(0), "[]")
        );
        let x = p("510-/x,9[\"a\"]");
        assert_eq!((x.attachments, x.nsp, x.id), (10, "/x", Some(9)));
        let x = p("4{\"message\":\"no\"}");
        assert_eq!(x.kind, PacketType::ConnectError);
        let x = p("4\"no\"");
        assert_eq!(x.data, "\"no\"");
        let x = p("2[1]");
        assert_eq!(x.data, "[1]");
        // No body at all is allowed (the server ignores such events, acks have no args).
        for text in ["2", "3", "4", "212", "51-", "61-/a,7"] {
            assert_eq!(p(text).data, "", "{text:?}");
        }
    }

    #[test]
    fn rejects_malformed() {
        use DecodeError::*;
        for (text, err) in [
            ("", Empty),
            ("7", UnknownType('7')),
            ("é", UnknownType('é')),
            ("5[\"a\"]", IllegalAttachments),
            ("5-[\"a\"]", IllegalAttachments),
            ("51[\"a\"]", IllegalAttachments),
            ("599999999999999999999999-[\"a\"]", IllegalAttachments),
            ("299999999999999999999[\"a\"]", IllegalId),
            ("29007199254740992[\"a\"]", IllegalId),
            ("2{}", InvalidPayload),
            ("2[]", InvalidPayload),
            ("2[{}]", InvalidPayload),
            ("2\"a\"", InvalidPayload),
            ("1x", InvalidPayload),
            ("0[]", InvalidPayload),
            ("3{}", InvalidPayload),
            ("4[]", InvalidPayload),
        ] {
            assert_eq!(decode(text), Err(err), "{text:?}");
        }
    }

    #[test]
    fn event_names() {
        assert_eq!(event_name("[\"a\"]").unwrap(), ("a".into(), "]"));
        assert_eq!(event_name(" [ \"a\" , 1]").unwrap(), ("a".into(), ", 1]"));
        assert_eq!(
            event_name("[\"\\u00e9\\n\",1]").unwrap(),
            ("é\n".into(), ",1]")
        );
        assert_eq!(event_name("[12,1]").unwrap(), ("12".into(), ",1]"));
        assert!(event_name("[\"connect\"]").is_err());
        assert!(event_name("[\"a\"").is_err());
        assert!(event_name("[\"a\" 1]").is_err());
        assert!(event_name("[\"a]").is_err());
        assert!(event_name("[]").is_err());
        assert!(event_name("{}").is_err());
    }

    #[test]
    fn writes_headers() {
        let mut out = BytesMut::new();
        write_header(&mut out, PacketType::Event, "/", None, 0);
        write_event_start(&mut out, "a\"b");
        out.extend_from_slice(b"]");
        assert_eq!(&out[..], b"2[\"a\\\"b\"]");

        let mut out = BytesMut::new();
        write_header(&mut out, PacketType::Disconnect, "/chat", None, 0);
        assert_eq!(&out[..], b"1/chat,");

        let mut out = BytesMut::new();
        write_header(&mut out, PacketType::BinaryEvent, "/", Some(0), 0);
        assert_eq!(&out[..], b"50-0");

        let mut out = BytesMut::new();
        write_connect_error(&mut out, "Invalid namespace", None);
        assert_eq!(&out[..], br#"{"message":"Invalid namespace"}"#);
        let mut out = BytesMut::new();
        write_connect_error(&mut out, "no", Some("{\"code\":1}"));
        assert_eq!(&out[..], br#"{"message":"no","data":{"code":1}}"#);
        let mut out = BytesMut::new();
        write_connect_ok(&mut out, "abc", None);
        assert_eq!(&out[..], br#"{"sid":"abc"}"#);
        let mut out = BytesMut::new();
        write_connect_ok(&mut out, "abc", Some("p\"q"));
        assert_eq!(&out[..], br#"{"sid":"abc","pid":"p\"q"}"#);
    }
}
