use sio_cluster::fuzzing::{self, Handled};
use sio_cluster::msgpack::{self, Mp};
use sio_cluster::redis::sharded::{self, Message, MessageType};
use sio_cluster::wire::{self, BroadcastMessage, Request, WirePacket};
use sio_protocol::json::{self, Value};
use sio_protocol::socket::{self, PacketType, RESERVED_EVENTS};
use sio_server::adapter::BroadcastPacket;

use crate::equiv::{mp_eq, value_eq, values_eq};
use crate::socket::valid_nsp;

/// The Redis adapter's msgpack codec (notepack.io's subset): decode → encode → decode, and
/// the conversions to and from the values handlers see.
pub fn redis_msgpack(data: &[u8]) {
    let Ok(v) = msgpack::decode(data) else {
        return;
    };
    let encoded = msgpack::encode(&v);
    let again = msgpack::decode(&encoded).unwrap_or_else(|e| panic!("{v:?} as {encoded:?}: {e}"));
    assert!(mp_eq(&v, &again), "{v:?} became {again:?}");
    // notepack writes each value one way: once written, the bytes are stable.
    assert_eq!(msgpack::encode(&again), encoded, "{v:?}");
    // What a handler gets, sent on to another node, gives the handler there the same. An
    // extension becomes `[type, bytes]`, one level deeper: at the depth limit, the node there
    // refuses it (as it would the same value from any sender).
    if depth(&v) >= msgpack::MAX_DEPTH - 1 {
        return;
    }
    let value = wire::mp_to_value(&v);
    let sent = msgpack::encode(&wire::value_to_mp(&value));
    let there = msgpack::decode(&sent).unwrap_or_else(|e| panic!("{value:?}: {e}"));
    let value_there = wire::mp_to_value(&there);
    assert!(
        value_eq(&value, &value_there),
        "{value:?} became {value_there:?}"
    );
    // And so does a request carrying it, JSON (no binary) or msgpack.
    if matches!(v, Mp::Map(_)) {
        let request = wire::encode_request(&wire::value_to_mp(&value));
        let back = wire::decode_json_or_msgpack(&request)
            .unwrap_or_else(|e| panic!("{value:?} as {request:?}: {e}"));
        let value_back = wire::mp_to_value(&back);
        assert!(
            value_eq(&value, &value_back),
            "{value:?} became {value_back:?}"
        );
    }
}

/// The classic format: a message as it arrives on a broadcast channel and as it arrives on
/// a request or response channel.
pub fn redis_wire(data: &[u8]) {
    if let Ok((msg, handled)) = fuzzing::classic_broadcast(data) {
        check_handled(&handled, Some(&msg.packet), &msg.packet.nsp);
        let encoded = wire::encode_broadcast(&msg);
        let (again, _) = fuzzing::classic_broadcast(&encoded)
            .unwrap_or_else(|e| panic!("{msg:?} as {encoded:?}: {e}"));
        assert!(broadcast_eq(&msg, &again), "{msg:?} became {again:?}");
    }
    if let Ok((req, handled)) = fuzzing::classic_request(data) {
        check_request(&req, &handled);
        // Written again in msgpack (as a node forwards nothing, but notepack would), the
        // request says the same.
        let encoded = msgpack::encode(&req.raw);
        let (again, _) = fuzzing::classic_request(&encoded)
            .unwrap_or_else(|e| panic!("{req:?} as {encoded:?}: {e}"));
        assert!(request_eq(&req, &again), "{req:?} became {again:?}");
    }
}

/// The sharded format: `{type, data, uid, nsp}` on a shard channel.
pub fn redis_sharded(data: &[u8]) {
    let Ok((decoded, handled)) = fuzzing::sharded_message(data) else {
        return;
    };
    match &decoded.message {
        Message::Broadcast(msg) => {
            check_handled(&handled, Some(&msg.packet), &msg.packet.nsp);
            assert_eq!(msg.packet.nsp, decoded.nsp);
            let encoded = sharded::encode(
                MessageType::Broadcast,
                sharded::broadcast_data(&msg.packet, None, &msg.opts),
                &msg.uid,
                &decoded.nsp,
            );
            let (again, _) = fuzzing::sharded_message(&encoded)
                .unwrap_or_else(|e| panic!("{msg:?} as {encoded:?}: {e}"));
            let Message::Broadcast(again) = &again.message else {
                panic!("{msg:?} became {again:?}");
            };
            assert!(broadcast_eq(msg, again), "{msg:?} became {again:?}");
        }
        Message::Request(req) | Message::Response(req) => check_request(req, &handled),
    }
    // The same message in msgpack, as a node sends it when it holds binary, reads the same.
    if let Ok(raw) = wire::decode_json_or_msgpack(data) {
        let encoded = msgpack::encode(&raw);
        let (again, _) = fuzzing::sharded_message(&encoded)
            .unwrap_or_else(|e| panic!("{raw:?} as {encoded:?}: {e}"));
        assert_eq!(again.nsp, decoded.nsp);
        let same = match (&decoded.message, &again.message) {
            (Message::Broadcast(a), Message::Broadcast(b)) => broadcast_eq(a, b),
            (Message::Request(a), Message::Request(b))
            | (Message::Response(a), Message::Response(b)) => request_eq(a, b),
            _ => false,
        };
        assert!(same, "{decoded:?} became {again:?}");
    }
}

fn depth(v: &Mp) -> usize {
    match v {
        Mp::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Mp::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| depth(k).max(depth(v)))
                .max()
                .unwrap_or(0)
        }
        _ => 0,
    }
}

fn check_request(req: &Request, handled: &Handled) {
    // A broadcast with acks goes out in the namespace of the channel it came on.
    check_handled(handled, req.packet.as_ref(), fuzzing::NSP);
    if let Some(data) = &handled.server_side {
        assert!(matches!(
            data.first(),
            Some(Value::String(_) | Value::Number(_))
        ));
    }
    if let Some(ack) = &handled.ack {
        // The ack's arguments, as the emitter's callback gets them.
        let args = ack
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("{req:?}: {e}"));
        let values = args.values().unwrap_or_else(|e| panic!("{req:?}: {e}"));
        let expected = wire::broadcast_ack_args(req);
        assert!(
            values_eq(&values, &expected),
            "{values:?}, expected {expected:?}"
        );
    }
}

/// The Socket.IO packet a message makes for this node's sockets says what the message says.
fn check_handled(handled: &Handled, packet: Option<&WirePacket>, nsp: &str) {
    let (Some(Ok(bp)), Some(wp)) = (&handled.packet, packet) else {
        return;
    };
    // A node delivers broadcasts of its own namespaces only: other names make no packet its
    // clients could read, and are not delivered.
    if !valid_nsp(nsp) {
        return;
    }
    check_broadcast_packet(bp, wp, nsp);
}

fn check_broadcast_packet(bp: &BroadcastPacket, wp: &WirePacket, nsp: &str) {
    let text = bp.text();
    let body = text.strip_prefix('4').unwrap_or_else(|| panic!("{text:?}"));
    let p = socket::decode(body).unwrap_or_else(|e| panic!("{wp:?} as {text:?}: {e}"));
    assert_eq!(p.nsp, nsp, "{text:?}");
    assert_eq!(p.attachments, bp.attachments().len(), "{text:?}");
    assert!(matches!(
        p.kind,
        PacketType::Event | PacketType::BinaryEvent
    ));
    let data: Value = json::decode_arg(p.data, bp.attachments())
        .unwrap_or_else(|e| panic!("{wp:?} as {text:?}: {e}"));
    let Value::Array(data) = data else {
        panic!("{text:?}");
    };
    let Some((Value::String(name), args)) = data.split_first() else {
        panic!("{wp:?} as {text:?}: no event name");
    };
    // The event name is always a string on the Socket.IO side.
    let expected_name = match wp.data.first() {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        other => panic!("{wp:?}: event name {other:?}"),
    };
    assert_eq!(name, &expected_name, "{text:?}");
    assert!(
        values_eq(args, &wp.data[1..]),
        "{wp:?} as {text:?}: {args:?}"
    );
    match socket::event_name(p.data) {
        Ok((n, _)) => assert_eq!(n, name.as_str(), "{text:?}"),
        Err(_) => assert!(RESERVED_EVENTS.contains(&name.as_str()), "{text:?}"),
    }
}

fn packet_eq(a: &WirePacket, b: &WirePacket) -> bool {
    a.kind == b.kind && a.nsp == b.nsp && a.id == b.id && values_eq(&a.data, &b.data)
}

fn broadcast_eq(a: &BroadcastMessage, b: &BroadcastMessage) -> bool {
    a.uid == b.uid && a.opts == b.opts && packet_eq(&a.packet, &b.packet)
}

fn request_eq(a: &Request, b: &Request) -> bool {
    let packets = match (&a.packet, &b.packet) {
        (Some(x), Some(y)) => packet_eq(x, y),
        (x, y) => x.is_none() && y.is_none(),
    };
    a.uid == b.uid
        && a.request_id == b.request_id
        && a.kind == b.kind
        && a.opts == b.opts
        && a.rooms == b.rooms
        && a.close == b.close
        && packets
        && mp_eq(&a.raw, &b.raw)
}
