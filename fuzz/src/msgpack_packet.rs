//! The msgpack parser's packets (`socket.io-msgpack-parser`), as `client.rs` reads them:
//! `packet::decode`, then `to_text` into the default parser's form, which the rest of the
//! server reads; and back with `from_text`, as the server writes its packets.

use sio_protocol::json::Value;
use sio_protocol::msgpack::{self, Mp, packet};
use sio_protocol::socket::{self, PacketType};

use crate::equiv::value_eq;

pub fn msgpack_packet(data: &[u8]) {
    let Ok(p) = packet::decode(data) else {
        return;
    };
    assert!(
        !p.kind.is_binary(),
        "{:?}: no binary types in this parser",
        p.kind
    );
    let Ok((text, attachments)) = packet::to_text(&p) else {
        // Only binary in a CONNECT or CONNECT_ERROR payload has no default form.
        assert!(
            matches!(p.kind, PacketType::Connect | PacketType::ConnectError),
            "{p:?}"
        );
        return;
    };
    let text = std::str::from_utf8(&text).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    // The default form decodes, to the same namespace (the empty one is "/"), type and id.
    let Ok(header) = socket::decode(text) else {
        // The default parser is stricter than this one in one way: an event's first
        // argument must be its name (a string or a number), and a CONNECT payload an
        // object: then the server refuses the packet.
        return;
    };
    let nsp = if p.nsp.is_empty() {
        "/"
    } else {
        p.nsp.as_str()
    };
    if nsp.starts_with('/') && !nsp.contains(',') {
        assert_eq!(header.nsp, nsp, "{text}");
    }
    assert_eq!(header.attachments, attachments.len(), "{text}");
    let plain = match header.kind {
        PacketType::BinaryEvent => PacketType::Event,
        PacketType::BinaryAck => PacketType::Ack,
        k => k,
    };
    assert_eq!(plain, p.kind, "{text}");
    // Written back as the server writes it, the packet decodes with the same values.
    let Ok(back) = packet::from_text(text, &attachments) else {
        return;
    };
    let again = packet::decode(&back).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!((again.kind, again.id), (p.kind, header.id), "{text}");
    let value = |d: &Option<Mp>| d.as_ref().map(msgpack::mp_to_value).unwrap_or(Value::Null);
    let (before, after) = (value(&p.data), value(&again.data));
    assert!(value_eq(&before, &after), "{before:?} became {after:?}");
}
