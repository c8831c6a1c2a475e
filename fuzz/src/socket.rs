use bytes::BytesMut;
use serde_json::value::RawValue;
use sio_protocol::DecodeError;
use sio_protocol::socket::{self, MAX_ACK_ID, Packet, PacketType, RESERVED_EVENTS};

/// Socket.IO packet headers (`socket::decode`) and event names (`socket::event_name`).
pub fn socket(data: &[u8]) {
    // Engine.IO messages are text: the transports hand over `&str` only.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match socket::decode(text) {
        Ok(p) => {
            check_packet(text, &p);
            if matches!(p.kind, PacketType::Event | PacketType::BinaryEvent) {
                event_name(p.data);
            }
        }
        Err(DecodeError::Empty) => assert!(text.is_empty()),
        Err(DecodeError::UnknownType(c)) => assert_eq!(text.chars().next(), Some(c)),
        Err(_) => {}
    }
    event_name(text);
}

/// Whether `nsp` is a namespace as `decode` returns them.
pub(crate) fn valid_nsp(nsp: &str) -> bool {
    nsp.starts_with('/') && !nsp.bytes().any(|b| b == b',' || b < 0x20)
}

fn check_packet(text: &str, p: &Packet<'_>) {
    assert!(valid_nsp(p.nsp), "{text:?}: namespace {:?}", p.nsp);
    assert!(p.id.is_none_or(|id| id <= MAX_ACK_ID), "{text:?}");
    assert_eq!(p.kind.is_binary(), p.attachments > 0, "{text:?}");
    assert!(is_suffix_of(p.data, text), "{text:?}: data {:?}", p.data);
    // decode → encode → decode.
    let mut out = BytesMut::new();
    socket::write_header(&mut out, p.kind, p.nsp, p.id, p.attachments);
    out.extend_from_slice(p.data.as_bytes());
    let encoded = std::str::from_utf8(&out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        socket::decode(encoded).as_ref(),
        Ok(p),
        "{text:?} as {encoded:?}"
    );
}

/// `event_name`, checked against serde_json where the body is a JSON array.
pub(crate) fn event_name(data: &str) {
    let ours = socket::event_name(data);
    if let Ok((name, rest)) = &ours {
        assert!(is_suffix_of(rest, data), "{data:?}");
        assert!(rest.starts_with([',', ']']), "{data:?}: rest {rest:?}");
        assert!(!RESERVED_EVENTS.contains(&&**name), "{data:?}");
    }
    let Ok(args) = serde_json::from_str::<Vec<&RawValue>>(data) else {
        return;
    };
    let Some(first) = args.first().map(|a| a.get()) else {
        return assert!(ours.is_err(), "{data:?}: no event name in []");
    };
    let expected = if first.starts_with('"') {
        // serde_json's raw values leave escapes unchecked: a lone surrogate (`"\ud800"`)
        // passes as one but is no string, for serde_json as for `event_name`.
        match serde_json::from_str::<String>(first) {
            Ok(name) => name,
            Err(_) => return assert!(ours.is_err(), "{data:?}: {first} is no string"),
        }
    } else if first.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        // Numeric names come back as written.
        first.to_owned()
    } else {
        return assert!(ours.is_err(), "{data:?}: {first} is no event name");
    };
    if RESERVED_EVENTS.contains(&expected.as_str()) {
        assert!(ours.is_err(), "{data:?}: reserved name accepted");
    } else {
        let name = ours.map(|(n, _)| n.into_owned());
        assert_eq!(name.as_deref(), Ok(expected.as_str()), "{data:?}");
    }
}

/// Whether `part` is the end of `whole` itself, not only equal to it.
pub(crate) fn is_suffix_of(part: &str, whole: &str) -> bool {
    let (p, w) = (part.as_ptr() as usize, whole.as_ptr() as usize);
    p >= w && p + part.len() == w + whole.len()
}
