//! The messages of `@socket.io/redis-adapter` 8 in its sharded mode (`createShardedAdapter`,
//! Redis 7 `SPUBLISH`), as pure functions.
//!
//! The sharded adapter is socket.io-adapter's `ClusterAdapter` over Redis:
//!
//! - every message is `{type, data, uid, nsp}` (a [`MessageType`], its fields, the sender's
//!   16-hex-character uid, the namespace), JSON unless `data` holds binary, then msgpack; a
//!   receiver tells them apart by the first byte (`{`);
//! - everything goes to `<prefix>#<nsp>#`, except responses, which go to the requester's
//!   `<prefix>#<nsp>#<uid>#`, and, in the "dynamic" subscription modes, broadcasts without
//!   acks to exactly one room, which go to `<prefix>#<nsp>#<room>#` (see
//!   [`broadcast_channel`]);
//! - a packet inside a message has no `nsp` (the message names it).
//!
//! Incoming messages are turned into the classic mode's [`BroadcastMessage`] and
//! [`Request`] (its keys, its request types), so one set of handlers serves both modes.

use sio_protocol::json::Value;

use sio_server::adapter::{AdapterError, AdapterFuture, Room};

use super::connection::Out;
use super::{Link, Listener, SubscriptionMode, random_hex};
use crate::adapter::{Answer, Ask, Incoming, Malformed, Transport};
use crate::msgpack::Mp;
use crate::wire::{self, BroadcastMessage, Request, RequestType, WireError, WireOpts, WirePacket};

/// The message types of socket.io-adapter's `ClusterAdapter` that the sharded adapter sends
/// (1, 2 and 13, the heartbeats and `ADAPTER_CLOSE`, are never sent by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum MessageType {
    Broadcast = 3,
    SocketsJoin = 4,
    SocketsLeave = 5,
    DisconnectSockets = 6,
    FetchSockets = 7,
    FetchSocketsResponse = 8,
    ServerSideEmit = 9,
    ServerSideEmitResponse = 10,
    BroadcastClientCount = 11,
    BroadcastAck = 12,
}

/// A decoded message, in the classic mode's shapes.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A broadcast without acks.
    Broadcast(BroadcastMessage),
    /// A request from another node.
    Request(Request),
    /// A response to one of this node's requests.
    Response(Request),
}

/// A decoded message and the namespace it names.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The `nsp` of the message (`/` when absent).
    pub nsp: String,
    /// What it says.
    pub message: Message,
}

/// The channel a broadcast goes to: a room's own channel for a broadcast without acks to
/// exactly one room in the dynamic modes ("dynamic" skips 20-character names, which Node
/// takes for socket ids), else the namespace's.
pub fn broadcast_channel(
    base: &str,
    mode: SubscriptionMode,
    opts: &WireOpts,
    with_ack: bool,
) -> String {
    match (mode, opts.rooms.as_slice(), with_ack) {
        (SubscriptionMode::Dynamic, [room], false) if room.chars().count() != 20 => {
            room_channel(base, room)
        }
        (SubscriptionMode::DynamicPrivate, [room], false) => room_channel(base, room),
        _ => base.to_owned(),
    }
}

/// `<prefix>#<nsp>#<room>#`, from the namespace's channel `<prefix>#<nsp>#`.
pub fn room_channel(base: &str, room: &str) -> String {
    format!("{base}{room}#")
}

/// Encodes `{type, data, uid, nsp}` as Node does: JSON unless binary.
pub fn encode(kind: MessageType, data: Vec<(Mp, Mp)>, uid: &str, nsp: &str) -> Vec<u8> {
    wire::encode_request(&message_mp(kind, data, uid, nsp))
}

/// The message `{type, data, uid, nsp}` before it is encoded.
pub fn message_mp(kind: MessageType, data: Vec<(Mp, Mp)>, uid: &str, nsp: &str) -> Mp {
    Mp::Map(vec![
        (Mp::str("type"), Mp::UInt(kind as u64)),
        (Mp::str("data"), Mp::Map(data)),
        (Mp::str("uid"), Mp::str(uid)),
        (Mp::str("nsp"), Mp::str(nsp)),
    ])
}

/// `data` of a broadcast, with acks when `request_id` is set.
pub fn broadcast_data(
    packet: &WirePacket,
    request_id: Option<&str>,
    opts: &WireOpts,
) -> Vec<(Mp, Mp)> {
    let mut data = vec![(Mp::str("packet"), wire::packet_to_mp(packet, false))];
    if let Some(id) = request_id {
        data.push((Mp::str("requestId"), Mp::str(id)));
    }
    data.push((Mp::str("opts"), opts_mp(opts)));
    data
}

/// `opts` with its flags, as every sharded message carries them.
pub fn opts_mp(opts: &WireOpts) -> Mp {
    wire::opts_to_mp(opts, true)
}

/// `data` of a server-side event (`[event, ...args]`), with acks when `request_id` is set.
pub fn server_side_data(request_id: Option<&str>, data: &[Value]) -> Vec<(Mp, Mp)> {
    let mut out = Vec::with_capacity(2);
    if let Some(id) = request_id {
        out.push((Mp::str("requestId"), Mp::str(id)));
    }
    out.push((
        Mp::str("packet"),
        Mp::Array(data.iter().map(wire::value_to_mp).collect()),
    ));
    out
}

/// Decodes a message from a shard channel.
pub fn decode(bytes: &[u8]) -> Result<Decoded, WireError> {
    decode_mp(wire::decode_json_or_msgpack(bytes)?)
}

/// A message from its decoded map (the Redis Streams mode builds it from an entry's fields).
pub fn decode_mp(raw: Mp) -> Result<Decoded, WireError> {
    let Mp::Map(entries) = raw else {
        return Err(WireError::Shape("a message is an object"));
    };
    let mut kind = None;
    let mut data = Vec::new();
    let mut uid = None;
    let mut nsp = "/".to_owned();
    for (k, v) in entries {
        match (k.as_str(), v) {
            (Some("type"), v) => kind = v.as_u64(),
            (Some("data"), Mp::Map(d)) => data = d,
            (Some("uid"), Mp::Str(s)) => uid = Some(s),
            (Some("nsp"), Mp::Str(s)) => nsp = s,
            _ => {}
        }
    }
    let kind = kind.ok_or(WireError::Shape("a message has a numeric type"))?;
    let field = |name: &str| {
        data.iter()
            .find(|(k, _)| k.as_str() == Some(name))
            .map(|(_, v)| v.clone())
    };
    let request_id = field("requestId");
    // The classic shape: `{uid?, requestId?, type, …}` with the classic keys and types.
    let classic =
        |kind: Option<RequestType>, keys: &[(&str, &str)]| -> Result<Request, WireError> {
            let mut out = Vec::new();
            if let Some(uid) = &uid {
                out.push((Mp::str("uid"), Mp::str(uid.as_str())));
            }
            if let Some(id) = &request_id {
                out.push((Mp::str("requestId"), id.clone()));
            }
            if let Some(kind) = kind {
                out.push((Mp::str("type"), Mp::UInt(kind as u64)));
            }
            for (from, to) in keys {
                if let Some(v) = field(from) {
                    out.push((Mp::str(*to), v));
                }
            }
            wire::request_from_mp(Mp::Map(out))
        };
    // The message's namespace is the packet's, whatever the packet says: Node's adapter
    // ignores messages of other namespaces and broadcasts in its own (`packet.nsp = …`).
    let with_nsp = |packet: Mp| match packet {
        Mp::Map(mut entries) => {
            entries.retain(|(k, _)| k.as_str() != Some("nsp"));
            entries.push((Mp::str("nsp"), Mp::str(nsp.as_str())));
            Mp::Map(entries)
        }
        other => other,
    };
    let message = match kind {
        3 if request_id.is_none() => {
            let packet = field("packet")
                .map(with_nsp)
                .ok_or(WireError::Shape("a broadcast has a packet"))?;
            Message::Broadcast(BroadcastMessage {
                uid: uid.clone().unwrap_or_default(),
                packet: wire::packet_from_mp(&packet)?,
                opts: field("opts")
                    .map(|o| wire::opts_from_mp(&o))
                    .unwrap_or_default(),
            })
        }
        3 => {
            let mut req = classic(Some(RequestType::Broadcast), &[("opts", "opts")])?;
            let packet = field("packet")
                .map(with_nsp)
                .ok_or(WireError::Shape("a broadcast has a packet"))?;
            req.packet = Some(wire::packet_from_mp(&packet)?);
            Message::Request(req)
        }
        4 => Message::Request(classic(
            Some(RequestType::RemoteJoin),
            &[("opts", "opts"), ("rooms", "rooms")],
        )?),
        5 => Message::Request(classic(
            Some(RequestType::RemoteLeave),
            &[("opts", "opts"), ("rooms", "rooms")],
        )?),
        6 => Message::Request(classic(
            Some(RequestType::RemoteDisconnect),
            &[("opts", "opts"), ("close", "close")],
        )?),
        7 => Message::Request(classic(
            Some(RequestType::RemoteFetch),
            &[("opts", "opts")],
        )?),
        9 => Message::Request(classic(
            Some(RequestType::ServerSideEmit),
            &[("packet", "data")],
        )?),
        8 => Message::Response(classic(None, &[("sockets", "sockets")])?),
        10 => Message::Response(classic(
            Some(RequestType::ServerSideEmit),
            &[("packet", "data")],
        )?),
        11 => Message::Response(classic(
            Some(RequestType::BroadcastClientCount),
            &[("clientCount", "clientCount")],
        )?),
        12 => Message::Response(classic(
            Some(RequestType::BroadcastAck),
            &[("packet", "packet"), ("sid", "sid"), ("args", "args")],
        )?),
        _ => return Err(WireError::Shape("unknown message type")),
    };
    Ok(Decoded { nsp, message })
}

/// The type and `data` of a request in the `ClusterAdapter` formats (sharded and streams
/// modes); None for `allRooms`, which they lack.
pub(super) fn ask_message(
    ask: &Ask<'_>,
    request_id: Option<&str>,
) -> Option<(MessageType, Vec<(Mp, Mp)>)> {
    Some(match *ask {
        Ask::Join(opts, rooms) => (MessageType::SocketsJoin, opts_rooms(opts, rooms)),
        Ask::Leave(opts, rooms) => (MessageType::SocketsLeave, opts_rooms(opts, rooms)),
        Ask::Disconnect(opts, close) => (
            MessageType::DisconnectSockets,
            vec![
                (Mp::str("opts"), opts_mp(opts)),
                (Mp::str("close"), Mp::Bool(close)),
            ],
        ),
        Ask::Fetch(opts) => {
            let mut data = vec![(Mp::str("opts"), opts_mp(opts))];
            data.extend(request_id.map(|id| (Mp::str("requestId"), Mp::str(id))));
            (MessageType::FetchSockets, data)
        }
        Ask::AllRooms => return None,
        Ask::ServerSide(data) => (
            MessageType::ServerSideEmit,
            server_side_data(request_id, data),
        ),
        Ask::BroadcastWithAck(packet, opts) => (
            MessageType::Broadcast,
            broadcast_data(packet, request_id, opts),
        ),
    })
}

/// `allRooms` is not a `ClusterAdapter` message.
pub(super) fn supports(ask: &Ask<'_>) -> Result<(), AdapterError> {
    match ask {
        Ask::AllRooms => Err(AdapterError::Unsupported(
            "allRooms is not part of the sharded protocol",
        )),
        _ => Ok(()),
    }
}

/// The type and `data` of an answer in the `ClusterAdapter` formats; None for the classic
/// format's own answers.
pub(super) fn answer_message(
    request_id: &str,
    answer: Answer<'_>,
) -> Option<(MessageType, Vec<(Mp, Mp)>)> {
    let id = (Mp::str("requestId"), Mp::str(request_id));
    Some(match answer {
        Answer::ClientCount(n) => (
            MessageType::BroadcastClientCount,
            vec![id, (Mp::str("clientCount"), Mp::UInt(n as u64))],
        ),
        Answer::Ack(sid, args) => (
            MessageType::BroadcastAck,
            wire::broadcast_ack_fields(request_id, sid.as_str(), args),
        ),
        Answer::Sockets(sockets) => (
            MessageType::FetchSocketsResponse,
            vec![id, (Mp::str("sockets"), wire::json_to_mp(sockets.into()))],
        ),
        Answer::ServerSide(value) => (
            MessageType::ServerSideEmitResponse,
            vec![id, (Mp::str("packet"), wire::value_to_mp(value))],
        ),
        Answer::SocketIds(_) | Answer::Rooms(_) => return None,
    })
}

fn opts_rooms(opts: &WireOpts, rooms: &[Room]) -> Vec<(Mp, Mp)> {
    vec![
        (Mp::str("opts"), opts_mp(opts)),
        (
            Mp::str("rooms"),
            Mp::Array(rooms.iter().map(|r| Mp::str(&**r)).collect()),
        ),
    ]
}

/// The channel of room `room` when subscription mode `mode` listens to it (`own`: a
/// socket's own-id room): public rooms in "dynamic", socket ids too in "dynamic-private".
pub(super) fn room_subscription(
    base: &str,
    mode: SubscriptionMode,
    room: &str,
    own: bool,
) -> Option<String> {
    match mode {
        SubscriptionMode::Dynamic if !own => Some(room_channel(base, room)),
        SubscriptionMode::DynamicPrivate => Some(room_channel(base, room)),
        _ => None,
    }
}

/// The sharded transport: `SPUBLISH` / `SSUBSCRIBE` in the format of
/// `createShardedAdapter` (Redis 7).
pub(super) struct Sharded {
    link: Link,
    mode: SubscriptionMode,
}

impl Sharded {
    pub fn new(link: Link, mode: SubscriptionMode) -> Self {
        link.listen_cluster_channels();
        Self { link, mode }
    }

    fn publish(&self, channel: String, kind: MessageType, data: Vec<(Mp, Mp)>) {
        let n = self.link.names();
        let payload = encode(kind, data, &n.uid, &n.nsp);
        self.link.shared.publish(Out::Publish(channel, payload));
    }

    fn room(&self, room: &str, own: bool, add: bool) {
        if let Some(channel) = room_subscription(&self.link.names().channel, self.mode, room, own) {
            self.link.listen_channel(channel, add);
        }
    }
}

impl Transport for Sharded {
    fn uid(&self) -> &str {
        &self.link.names().uid
    }

    fn request_id(&self) -> String {
        random_hex()
    }

    fn broadcast(&self, packet: &WirePacket, opts: &WireOpts) {
        let channel = broadcast_channel(&self.link.names().channel, self.mode, opts, false);
        self.publish(
            channel,
            MessageType::Broadcast,
            broadcast_data(packet, None, opts),
        );
    }

    fn supports(&self, ask: &Ask<'_>) -> Result<(), AdapterError> {
        supports(ask)
    }

    fn request(&self, ask: &Ask<'_>, request_id: Option<&str>) {
        if let Some((kind, data)) = ask_message(ask, request_id) {
            self.publish(self.link.names().channel.clone(), kind, data);
        }
    }

    fn answer(&self, requester: Option<&str>, request_id: &str, answer: Answer<'_>) {
        match (requester, answer_message(request_id, answer)) {
            (Some(requester), Some((kind, data))) => {
                let channel = room_channel(&self.link.names().channel, requester);
                self.publish(channel, kind, data);
            }
            _ => tracing::debug!(target: super::LOG, "a request that this mode does not answer"),
        }
    }

    fn server_count(&self) -> AdapterFuture<usize> {
        let shared = self.link.shared.clone();
        let channel = self.link.names().channel.clone();
        Box::pin(async move { shared.subscribers("SHARDNUMSUB", &channel).await })
    }

    fn room_created(&self, room: &str, own: bool) {
        self.room(room, own, true);
    }

    fn room_emptied(&self, room: &str, own: bool) {
        self.room(room, own, false);
    }

    fn close(&self) {
        self.link.close();
    }
}

/// A `ClusterAdapter` message on one of a namespace's channels (the sharded mode's, and
/// the streams mode's pub/sub ones), to its adapter. Answers are the requester's whatever
/// namespace they name; other messages of another namespace are not this one's.
pub(super) fn on_message(l: &Listener, channel: &str, payload: &[u8]) {
    match decode(payload) {
        Ok(decoded) => to_adapter(l, decoded, None),
        Err(e) => l.receiver.malformed(Malformed::Message, channel, &e),
    }
}

/// Hands a decoded message to the adapter; `offset`: a broadcast's place in a log.
pub(super) fn to_adapter(l: &Listener, decoded: Decoded, offset: Option<String>) {
    match decoded.message {
        Message::Response(resp) => l.receiver.receive(Incoming::Response(resp)),
        _ if decoded.nsp != l.names.nsp => {}
        Message::Broadcast(msg) => l.receiver.receive(Incoming::Broadcast(msg, offset)),
        Message::Request(req) => l.receiver.receive(Incoming::Request(req)),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    /// Test vectors captured from the real `@socket.io/redis-adapter` 8.3 in its sharded mode
    /// by `tests/cluster/make-fixtures.mjs`.
    const FIXTURES: &str = include_str!("../../tests/fixtures/redis-sharded-adapter.json");

    fn fixture(name: &str) -> (String, Vec<u8>) {
        wire::load_fixture(FIXTURES, name)
    }

    fn uid() -> String {
        let all: serde_json::Value = serde_json::from_str(FIXTURES).unwrap_or_default();
        all["uid"].as_str().unwrap_or_default().to_owned()
    }

    fn v(j: serde_json::Value) -> Value {
        Value::from(j)
    }

    const BASE: &str = "socket.io#/#";

    /// Decodes a broadcast fixture, checks its channel, and encodes it back byte for byte.
    fn broadcast(name: &str) -> Result<BroadcastMessage, WireError> {
        let (channel, bytes) = fixture(name);
        let d = decode(&bytes)?;
        assert_eq!(d.nsp, "/");
        let Message::Broadcast(b) = d.message else {
            panic!("{name}: not a broadcast: {:?}", d.message);
        };
        assert_eq!(b.uid, uid());
        let chan = broadcast_channel(BASE, SubscriptionMode::Dynamic, &b.opts, false);
        assert_eq!(chan, channel, "{name}");
        let again = encode(
            MessageType::Broadcast,
            broadcast_data(&b.packet, None, &b.opts),
            &b.uid,
            "/",
        );
        assert_eq!(again, bytes, "{name}: re-encoded");
        Ok(b)
    }

    #[test]
    fn node_broadcasts() -> Result<(), WireError> {
        let b = broadcast("emit-json")?;
        assert_eq!(
            b.packet.data,
            vec![
                v("hello".into()),
                v("world".into()),
                v(1.into()),
                v(serde_json::json!({"a": [1, null]}))
            ]
        );
        let b = broadcast("one-room-binary")?;
        assert_eq!(b.packet.data[1], Value::Binary(Bytes::from_static(&[1, 2])));
        assert_eq!(
            (b.opts.rooms.as_slice(), b.opts.except.as_slice()),
            (&["room1".to_owned()][..], &["x".to_owned()][..])
        );
        assert!(b.opts.flags.volatile);
        assert_eq!(broadcast("two-rooms")?.opts.rooms.len(), 2);
        // A 20-character room looks like a socket id: the namespace's channel in "dynamic"
        // mode, the room's own in "dynamic-private".
        let b = broadcast("socket-id-room")?;
        let private = broadcast_channel(BASE, SubscriptionMode::DynamicPrivate, &b.opts, false);
        assert_eq!(private, "socket.io#/#ABCDEFGHIJKLMNOPQRST#");
        assert_eq!(
            broadcast_channel(BASE, SubscriptionMode::Static, &b.opts, false),
            BASE
        );
        Ok(())
    }

    #[test]
    fn node_requests() -> Result<(), WireError> {
        let request = |name: &str| -> Result<Request, WireError> {
            let (channel, bytes) = fixture(name);
            assert_eq!(channel, BASE, "{name}");
            match decode(&bytes)?.message {
                Message::Request(r) => Ok(r),
                other => panic!("{name}: {other:?}"),
            }
        };
        let r = request("broadcast-with-ack")?;
        assert_eq!(r.kind, Some(RequestType::Broadcast));
        let packet = r.packet.clone().ok_or(WireError::Shape("packet"))?;
        assert_eq!(packet.data, vec![v("ask".into()), v(42.into())]);
        let opts = r.opts.clone().ok_or(WireError::Shape("opts"))?;
        assert_eq!(opts.flags.timeout, Some(1000));
        let id = r.request_id.clone().unwrap_or_default();
        let again = encode(
            MessageType::Broadcast,
            broadcast_data(&packet, Some(&id), &opts),
            &uid(),
            "/",
        );
        assert_eq!(again, fixture("broadcast-with-ack").1, "re-encoded");

        let r = request("sockets-join")?;
        assert_eq!(
            (r.kind, r.rooms.as_slice()),
            (Some(RequestType::RemoteJoin), &["r3".to_owned()][..])
        );
        assert_eq!(r.opts.map(|o| o.rooms), Some(vec!["r1".to_owned()]));
        assert_eq!(
            request("sockets-leave")?.kind,
            Some(RequestType::RemoteLeave)
        );
        let r = request("disconnect-sockets")?;
        assert_eq!(
            (r.kind, r.close),
            (Some(RequestType::RemoteDisconnect), true)
        );
        let r = request("fetch-sockets")?;
        assert_eq!(r.kind, Some(RequestType::RemoteFetch));
        assert!(r.request_id.is_some());

        let r = request("server-side-emit")?;
        assert_eq!(r.kind, Some(RequestType::ServerSideEmit));
        assert_eq!(r.request_id, None);
        assert_eq!(
            wire::server_side_data(&r),
            Some(vec![v("hello".into()), v("world".into())])
        );
        let again = encode(
            MessageType::ServerSideEmit,
            server_side_data(None, &[v("hello".into()), v("world".into())]),
            &uid(),
            "/",
        );
        assert_eq!(again, fixture("server-side-emit").1);
        let r = request("server-side-emit-with-ack")?;
        assert!(r.request_id.is_some());
        assert_eq!(
            wire::server_side_data(&r),
            Some(vec![v("ping".into()), v(42.into())])
        );
        Ok(())
    }

    #[test]
    fn node_responses() -> Result<(), WireError> {
        let response = |name: &str| -> Result<Request, WireError> {
            let (channel, bytes) = fixture(name);
            assert_eq!(
                channel, "socket.io#/#other#",
                "{name}: the requester's channel"
            );
            match decode(&bytes)?.message {
                Message::Response(r) => Ok(r),
                other => panic!("{name}: {other:?}"),
            }
        };
        let r = response("server-side-emit-response-binary")?;
        assert_eq!(r.request_id.as_deref(), Some("r1"));
        let answer = r.raw.get("data").map(wire::mp_to_value);
        let Some(Value::Object(answer)) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!(
            answer.get("bin"),
            Some(&Value::Binary(Bytes::from_static(&[9])))
        );
        let r = response("fetch-sockets-response")?;
        assert_eq!(r.raw.get("sockets"), Some(&Mp::Array(Vec::new())));
        let r = response("broadcast-client-count")?;
        assert_eq!(r.kind, Some(RequestType::BroadcastClientCount));
        assert_eq!(r.raw.get("clientCount").and_then(Mp::as_u64), Some(0));
        Ok(())
    }

    #[test]
    fn the_message_names_the_namespace_not_its_packet() -> Result<(), WireError> {
        // Found by fuzz/ redis_sharded: a packet's own `nsp` won over the message's.
        let bytes = br#"{"type":3,"data":{"packet":{"type":2,"data":["ev"],"nsp":"/other"}},"uid":"u","nsp":"/chat"}"#;
        let d = decode(bytes)?;
        assert_eq!(d.nsp, "/chat");
        let Message::Broadcast(b) = d.message else {
            panic!("{:?}", d.message);
        };
        assert_eq!(b.packet.nsp, "/chat");
        Ok(())
    }

    #[test]
    fn malformed_messages_are_errors() {
        assert!(decode(b"{}").is_err());
        assert!(decode(b"{\"type\":99,\"data\":{}}").is_err());
        assert!(
            decode(b"{\"type\":3,\"data\":{}}").is_err(),
            "a broadcast without packet"
        );
        assert!(decode(&[0x93, 1, 2, 3]).is_err());
        assert!(decode(b"").is_err());
    }
}
