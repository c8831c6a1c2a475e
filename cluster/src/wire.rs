//! The messages of `@socket.io/redis-adapter` 8 (classic mode), as pure functions.
//!
//! - A broadcast, on `<prefix>#<nsp>#` or `<prefix>#<nsp>#<room>#`: the msgpack array
//!   `[uid, packet, opts]`, with `packet = {type, data, nsp, id?}` (`data` is
//!   `[event, ...args]`, binary as msgpack `bin`) and `opts = {rooms, except, flags}`.
//! - A request, on `<prefix>-request#<nsp>#`: a JSON object (its first byte is `{`) or a
//!   msgpack map, `{uid, requestId?, type, …}` with `type` a [`RequestType`].
//! - A response, on `<prefix>-response#<nsp>#` (or `…#<uid>#`): the same, JSON or msgpack.

use sio_protocol::json::{self, Value};
use sio_protocol::socket::{self, PacketType};

use sio_protocol::msgpack::{self, Mp, MsgpackError};
pub use sio_protocol::msgpack::{mp_to_value, value_to_mp};
use sio_server::ArgError;
use sio_server::adapter::BroadcastPacket;

/// Why a message from Redis could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Not valid msgpack.
    #[error(transparent)]
    Msgpack(#[from] MsgpackError),
    /// Not valid JSON.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// Valid msgpack or JSON of the wrong shape.
    #[error("unexpected message shape: {0}")]
    Shape(&'static str),
    /// A packet of ours that could not be read back or written.
    #[error("packet: {0}")]
    Packet(String),
    /// Arguments that could not be encoded as a Socket.IO packet.
    #[error(transparent)]
    Args(#[from] ArgError),
}

/// The request types shared by every node (`RequestType` of the Node adapter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum RequestType {
    Sockets = 0,
    AllRooms = 1,
    RemoteJoin = 2,
    RemoteLeave = 3,
    RemoteDisconnect = 4,
    RemoteFetch = 5,
    ServerSideEmit = 6,
    Broadcast = 7,
    BroadcastClientCount = 8,
    BroadcastAck = 9,
}

impl RequestType {
    fn from_u64(n: u64) -> Option<Self> {
        use RequestType::*;
        Some(match n {
            0 => Sockets,
            1 => AllRooms,
            2 => RemoteJoin,
            3 => RemoteLeave,
            4 => RemoteDisconnect,
            5 => RemoteFetch,
            6 => ServerSideEmit,
            7 => Broadcast,
            8 => BroadcastClientCount,
            9 => BroadcastAck,
            _ => return None,
        })
    }
}

/// A Socket.IO packet as the Node adapter sends it between nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct WirePacket {
    /// The packet type: 2 (event) for broadcasts, binary or not.
    pub kind: u8,
    /// `[event, ...args]`.
    pub data: Vec<Value>,
    /// The namespace.
    pub nsp: String,
    /// The ack id, for broadcasts with acks.
    pub id: Option<u64>,
}

/// The flags of a broadcast that matter to a receiving node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flags {
    /// `volatile`.
    pub volatile: bool,
    /// `local` (never published by a well-behaved node).
    pub local: bool,
    /// `timeout`, in milliseconds (broadcasts with acks).
    pub timeout: Option<u64>,
}

/// Which sockets a message targets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WireOpts {
    /// Only sockets in one of these rooms (all when empty).
    pub rooms: Vec<String>,
    /// Not the sockets in these rooms.
    pub except: Vec<String>,
    /// The flags.
    pub flags: Flags,
}

/// A broadcast: `[uid, packet, opts]`.
#[derive(Debug, Clone, PartialEq)]
pub struct BroadcastMessage {
    /// The sending node.
    pub uid: String,
    /// What to deliver.
    pub packet: WirePacket,
    /// To whom.
    pub opts: WireOpts,
}

/// A request from another node, or a response to one of ours.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The sending node (absent in responses).
    pub uid: Option<String>,
    /// The request id (absent in fire-and-forget requests).
    pub request_id: Option<String>,
    /// The request type (absent in some responses).
    pub kind: Option<RequestType>,
    /// The selection, for requests on a selection of sockets.
    pub opts: Option<WireOpts>,
    /// The rooms to join or leave.
    pub rooms: Vec<String>,
    /// `close` of a disconnect.
    pub close: bool,
    /// The packet of a broadcast with acks.
    pub packet: Option<WirePacket>,
    /// The whole message, for the fields this type does not name.
    pub raw: Mp,
}

/// The channel of a broadcast: `prefix#nsp#`, or `prefix#nsp#room#` when it targets
/// exactly one room.
pub fn broadcast_channel(prefix: &str, nsp: &str, opts: &WireOpts) -> String {
    match opts.rooms.as_slice() {
        [room] => format!("{prefix}#{nsp}#{room}#"),
        _ => format!("{prefix}#{nsp}#"),
    }
}

/// Encodes a broadcast as the Node adapter does.
pub fn encode_broadcast(msg: &BroadcastMessage) -> Vec<u8> {
    encode_broadcast_of(&msg.uid, &msg.packet, &msg.opts)
}

/// [`encode_broadcast`] of borrowed parts.
pub fn encode_broadcast_of(uid: &str, packet: &WirePacket, opts: &WireOpts) -> Vec<u8> {
    msgpack::encode(&Mp::Array(vec![
        Mp::str(uid),
        packet_to_mp(packet, true),
        opts_to_mp(opts, true),
    ]))
}

/// Decodes a broadcast. A packet without `nsp` is in `/`, as in Node.
pub fn decode_broadcast(bytes: &[u8]) -> Result<BroadcastMessage, WireError> {
    let Mp::Array(items) = msgpack::decode(bytes)? else {
        return Err(WireError::Shape("a broadcast is an array"));
    };
    let [uid, packet, opts] = <[Mp; 3]>::try_from(items)
        .map_err(|_| WireError::Shape("a broadcast has three elements"))?;
    let uid = match uid {
        Mp::Str(s) => s,
        _ => return Err(WireError::Shape("uid is a string")),
    };
    Ok(BroadcastMessage {
        uid,
        packet: packet_from_mp(&packet)?,
        opts: opts_from_mp(&opts),
    })
}

/// Decodes a message that is JSON when its first byte is `{`, else msgpack (requests and
/// responses here; every message in the sharded mode).
pub fn decode_json_or_msgpack(bytes: &[u8]) -> Result<Mp, WireError> {
    Ok(if bytes.first() == Some(&b'{') {
        json_to_mp(serde_json::from_slice(bytes)?)
    } else {
        msgpack::decode(bytes)?
    })
}

/// Decodes a request or response: JSON when its first byte is `{`, else msgpack.
pub fn decode_request(bytes: &[u8]) -> Result<Request, WireError> {
    request_from_mp(decode_json_or_msgpack(bytes)?)
}

/// A request or response from its decoded map.
pub fn request_from_mp(raw: Mp) -> Result<Request, WireError> {
    if !matches!(raw, Mp::Map(_)) {
        return Err(WireError::Shape("a request is an object"));
    }
    let kind = match raw.get("type") {
        None => None,
        Some(t) => Some(
            t.as_u64()
                .and_then(RequestType::from_u64)
                .ok_or(WireError::Shape("unknown request type"))?,
        ),
    };
    let strings = |key| raw.get(key).map(string_list).unwrap_or_default();
    // Only a BROADCAST request carries a Socket.IO packet: in a BROADCAST_ACK response,
    // `packet` is an ack value, any shape.
    let packet = match raw.get("packet") {
        Some(p) if kind == Some(RequestType::Broadcast) => Some(packet_from_mp(p)?),
        _ => None,
    };
    Ok(Request {
        uid: raw.get("uid").and_then(Mp::as_str).map(String::from),
        request_id: raw.get("requestId").and_then(request_id),
        kind,
        opts: raw.get("opts").filter(|o| !o.is_nil()).map(opts_from_mp),
        rooms: strings("rooms"),
        close: raw.get("close").is_some_and(Mp::is_true),
        packet,
        raw,
    })
}

/// Encodes a request or response as the Node adapter reads it: JSON when nothing in it is
/// binary (what Node publishes), else msgpack.
pub fn encode_request(msg: &Mp) -> Vec<u8> {
    if has_binary(msg) {
        return msgpack::encode(msg);
    }
    serde_json::to_vec(&mp_to_value(msg)).unwrap_or_else(|_| msgpack::encode(msg))
}

pub(crate) fn has_binary(v: &Mp) -> bool {
    match v {
        Mp::Bin(_) | Mp::Ext(..) => true,
        Mp::Array(items) => items.iter().any(has_binary),
        Mp::Map(entries) => entries.iter().any(|(k, v)| has_binary(k) || has_binary(v)),
        _ => false,
    }
}

/// A `SERVER_SIDE_EMIT` request: `{uid, requestId?, type: 6, data: [event, ...args]}`.
pub fn server_side_request(uid: &str, request_id: Option<&str>, data: &[Value]) -> Vec<u8> {
    let mut entries = vec![(Mp::str("uid"), Mp::str(uid))];
    if let Some(id) = request_id {
        entries.push((Mp::str("requestId"), Mp::str(id)));
    }
    entries.push((
        Mp::str("type"),
        Mp::UInt(RequestType::ServerSideEmit as u64),
    ));
    entries.push((
        Mp::str("data"),
        Mp::Array(data.iter().map(value_to_mp).collect()),
    ));
    encode_request(&Mp::Map(entries))
}

/// The answer of one node to a `SERVER_SIDE_EMIT` request with acks:
/// `{type: 6, requestId, data}` (one value, as Node's callback sends).
pub fn server_side_response(request_id: &str, data: &Value) -> Vec<u8> {
    encode_request(&Mp::Map(vec![
        (
            Mp::str("type"),
            Mp::UInt(RequestType::ServerSideEmit as u64),
        ),
        (Mp::str("requestId"), Mp::str(request_id)),
        (Mp::str("data"), value_to_mp(data)),
    ]))
}

/// A `BROADCAST` request (a broadcast with acks): `{uid, requestId, type: 7, packet, opts}`,
/// always msgpack, as Node's adapter encodes it. `packet` has no ack id: each receiving
/// node picks one of its own.
pub fn broadcast_ack_request(
    uid: &str,
    request_id: &str,
    packet: &WirePacket,
    opts: &WireOpts,
) -> Vec<u8> {
    msgpack::encode(&Mp::Map(vec![
        (Mp::str("uid"), Mp::str(uid)),
        (Mp::str("requestId"), Mp::str(request_id)),
        (Mp::str("type"), Mp::UInt(RequestType::Broadcast as u64)),
        (Mp::str("packet"), packet_to_mp(packet, true)),
        (Mp::str("opts"), opts_to_mp(opts, true)),
    ]))
}

/// One socket's ack to another node's broadcast with acks: `{type: 9, requestId, packet}`,
/// msgpack, with `packet` the ack's first argument (all Node forwards).
///
/// sio adds two fields that Node's adapter ignores: `sid`, the socket that answered, and
/// `args`, every argument of the ack when there is not exactly one.
pub fn broadcast_ack_response(request_id: &str, sid: &str, args: &[Value]) -> Vec<u8> {
    let mut entries = vec![(Mp::str("type"), Mp::UInt(RequestType::BroadcastAck as u64))];
    entries.extend(broadcast_ack_fields(request_id, sid, args));
    msgpack::encode(&Mp::Map(entries))
}

/// The fields of a `BROADCAST_ACK` response but its type (which differs by mode).
pub fn broadcast_ack_fields(request_id: &str, sid: &str, args: &[Value]) -> Vec<(Mp, Mp)> {
    let mut entries = vec![
        (Mp::str("requestId"), Mp::str(request_id)),
        (
            Mp::str("packet"),
            args.first().map_or(Mp::Undefined, value_to_mp),
        ),
        (Mp::str("sid"), Mp::str(sid)),
    ];
    if args.len() != 1 {
        entries.push((
            Mp::str("args"),
            Mp::Array(args.iter().map(value_to_mp).collect()),
        ));
    }
    entries
}

/// The arguments of a socket's ack in a `BROADCAST_ACK` response: sio's `args` when
/// present, else the one value Node forwards (`packet`; none when it is absent).
pub fn broadcast_ack_args(resp: &Request) -> Vec<Value> {
    match (resp.raw.get("args"), resp.raw.get("packet")) {
        (Some(Mp::Array(all)), _) => all.iter().map(mp_to_value).collect(),
        (_, None | Some(Mp::Undefined)) => Vec::new(),
        (_, Some(first)) => vec![mp_to_value(first)],
    }
}

/// `data` of a `SERVER_SIDE_EMIT` request (`[event, ...args]`): None when it is not an
/// array starting with an event name.
pub fn server_side_data(req: &Request) -> Option<Vec<Value>> {
    let Some(Mp::Array(items)) = req.raw.get("data") else {
        return None;
    };
    if !matches!(items.first(), Some(Mp::Str(_) | Mp::UInt(_) | Mp::Int(_))) {
        return None;
    }
    Some(items.iter().map(mp_to_value).collect())
}

/// Request ids are strings (`uid2(6)`); numbers are accepted too.
pub(crate) fn request_id(v: &Mp) -> Option<String> {
    match v {
        Mp::Str(s) => Some(s.clone()),
        v => v.as_u64().map(|n| n.to_string()),
    }
}

/// A list of room names; integers (Node allows numeric rooms) become their digits, those
/// written as floats (`3.0`, the same JavaScript number) too.
pub(crate) fn string_list(v: &Mp) -> Vec<String> {
    let Mp::Array(items) = v else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|i| match *i {
            Mp::Str(ref s) => Some(s.clone()),
            Mp::UInt(n) => Some(n.to_string()),
            Mp::Int(n) => Some(n.to_string()),
            Mp::Float(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
                Some((f as i64).to_string())
            }
            _ => None,
        })
        .collect()
}

/// A packet as a map: `{type, data, nsp, id?}`, without `nsp` in the sharded mode (where the
/// message names the namespace).
pub(crate) fn packet_to_mp(p: &WirePacket, with_nsp: bool) -> Mp {
    let mut entries = vec![
        (Mp::str("type"), Mp::UInt(u64::from(p.kind))),
        (
            Mp::str("data"),
            Mp::Array(p.data.iter().map(value_to_mp).collect()),
        ),
    ];
    if with_nsp {
        entries.push((Mp::str("nsp"), Mp::str(p.nsp.as_str())));
    }
    if let Some(id) = p.id {
        entries.push((Mp::str("id"), Mp::UInt(id)));
    }
    Mp::Map(entries)
}

pub(crate) fn packet_from_mp(p: &Mp) -> Result<WirePacket, WireError> {
    let kind = p
        .get("type")
        .and_then(Mp::as_u64)
        .and_then(|t| u8::try_from(t).ok())
        .ok_or(WireError::Shape("packet.type is a number"))?;
    let data = match p.get("data") {
        Some(Mp::Array(items)) => items.iter().map(mp_to_value).collect(),
        _ => return Err(WireError::Shape("packet.data is an array")),
    };
    let nsp = match p.get("nsp") {
        None | Some(Mp::Nil | Mp::Undefined) => "/".to_owned(),
        Some(Mp::Str(s)) => s.clone(),
        Some(_) => return Err(WireError::Shape("packet.nsp is a string")),
    };
    Ok(WirePacket {
        kind,
        data,
        nsp,
        id: p.get("id").and_then(Mp::as_u64),
    })
}

pub(crate) fn opts_to_mp(o: &WireOpts, with_flags: bool) -> Mp {
    let list = |l: &[String]| Mp::Array(l.iter().map(|s| Mp::str(s.as_str())).collect());
    let mut entries = vec![
        (Mp::str("rooms"), list(&o.rooms)),
        (Mp::str("except"), list(&o.except)),
    ];
    if with_flags {
        let mut flags = Vec::new();
        if o.flags.volatile {
            flags.push((Mp::str("volatile"), Mp::Bool(true)));
        }
        if o.flags.local {
            flags.push((Mp::str("local"), Mp::Bool(true)));
        }
        if let Some(t) = o.flags.timeout {
            flags.push((Mp::str("timeout"), Mp::UInt(t)));
        }
        entries.push((Mp::str("flags"), Mp::Map(flags)));
    }
    Mp::Map(entries)
}

pub(crate) fn opts_from_mp(o: &Mp) -> WireOpts {
    let flags = o.get("flags");
    let flag = |name| flags.and_then(|f| f.get(name)).is_some_and(Mp::is_true);
    WireOpts {
        rooms: o.get("rooms").map(string_list).unwrap_or_default(),
        except: o.get("except").map(string_list).unwrap_or_default(),
        flags: Flags {
            volatile: flag("volatile"),
            local: flag("local"),
            timeout: flags.and_then(|f| f.get("timeout")).and_then(Mp::as_u64),
        },
    }
}

/// `opts` of a request on a selection (`{rooms, except}`) as JSON.
pub fn opts_json(o: &WireOpts) -> serde_json::Value {
    serde_json::json!({ "rooms": o.rooms, "except": o.except })
}

pub(crate) fn json_to_mp(v: serde_json::Value) -> Mp {
    msgpack::value_to_mp(&Value::from(v))
}

/// The wire packet of an event this node broadcasts. It carries no ack id, with acks or
/// not: each receiving node numbers the acks of its own sockets.
pub fn packet_from_broadcast(packet: &BroadcastPacket) -> Result<WirePacket, WireError> {
    let text = packet
        .text()
        .strip_prefix('4')
        .ok_or_else(|| WireError::Packet("not an Engine.IO message".into()))?;
    let p = socket::decode(text).map_err(|e| WireError::Packet(e.to_string()))?;
    if !matches!(p.kind, PacketType::Event | PacketType::BinaryEvent) {
        return Err(WireError::Packet("not an event".into()));
    }
    let data: Value = json::decode_arg(p.data, packet.attachments())?;
    let Value::Array(data) = data else {
        return Err(WireError::Packet("event data is not an array".into()));
    };
    Ok(WirePacket {
        kind: 2,
        data,
        nsp: p.nsp.to_owned(),
        id: None,
    })
}

/// The Socket.IO packet that delivers a remote event to this node's sockets.
pub fn packet_to_broadcast(packet: &WirePacket) -> Result<BroadcastPacket, WireError> {
    let (name, args) = match packet.data.split_first() {
        Some((Value::String(s), args)) => (s.clone(), args),
        Some((Value::Number(n), args)) => (n.to_string(), args),
        _ => return Err(WireError::Shape("packet.data starts with the event name")),
    };
    Ok(BroadcastPacket::event(&packet.nsp, &name, packet.id, args)?)
}

/// The packet of another node's broadcast with acks for this node's sockets of `nsp`, with
/// this node's ack id `id`. It goes out in `nsp` whatever namespace the packet names, as in
/// Node's adapter (`broadcastWithAck` sets `packet.nsp`): a packet naming another one would
/// reach the sockets of `nsp` as a packet of that other namespace.
pub(crate) fn ack_broadcast_packet(
    packet: &WirePacket,
    nsp: &str,
    id: u64,
) -> Result<BroadcastPacket, WireError> {
    packet_to_broadcast(&WirePacket {
        nsp: nsp.to_owned(),
        id: Some(id),
        ..packet.clone()
    })
}

/// Fixture `name` of a `cluster/tests/fixtures/*.json` file (`all`, written by
/// `tests/cluster/make-fixtures.mjs`): its channel and its bytes.
#[cfg(test)]
pub(crate) fn load_fixture(all: &str, name: &str) -> (String, Vec<u8>) {
    let all: serde_json::Value = serde_json::from_str(all).unwrap_or_default();
    let f = all["fixtures"]
        .as_array()
        .and_then(|l| l.iter().find(|f| f["name"] == name))
        .cloned()
        .unwrap_or_default();
    let hex = f["hex"].as_str().unwrap_or_default();
    let bytes = (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect();
    (f["channel"].as_str().unwrap_or_default().to_owned(), bytes)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use sio_protocol::msgpack::iso_date;

    /// Test vectors captured from the real `@socket.io/redis-adapter` 8.3 by
    /// `tests/cluster/make-fixtures.mjs`.
    const FIXTURES: &str = include_str!("../tests/fixtures/redis-adapter.json");

    fn fixture(name: &str) -> (String, Vec<u8>) {
        load_fixture(FIXTURES, name)
    }

    /// Keys that are not strings become what a JS object makes of them, so that a value
    /// reads the same after notepack's encoding (which writes -0 as 0); found by the fuzzer.
    #[test]
    fn map_keys_as_js_strings() {
        let map = Mp::Map(vec![
            (Mp::Float(-0.0), Mp::UInt(1)),
            (Mp::UInt(7), Mp::Undefined),
            (Mp::Float(1.5), Mp::UInt(2)),
        ]);
        let expected = v(serde_json::json!({ "0": 1, "1.5": 2 }));
        assert_eq!(mp_to_value(&map), expected);
        let again = msgpack::decode(&msgpack::encode(&map)).unwrap_or(Mp::Nil);
        assert_eq!(mp_to_value(&again), expected, "the same after a round trip");
    }

    fn v(j: serde_json::Value) -> Value {
        Value::from(j)
    }

    fn bin(b: &'static [u8]) -> Value {
        Value::Binary(Bytes::from_static(b))
    }

    /// Decodes the fixture, checks it, and encodes it back to the same bytes.
    fn round_trip(name: &str, expected: &BroadcastMessage) {
        let (channel, bytes) = fixture(name);
        let msg = decode_broadcast(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&msg, expected, "{name}");
        assert_eq!(encode_broadcast(&msg), bytes, "{name}: re-encoded");
        assert_eq!(
            broadcast_channel("socket.io", &msg.packet.nsp, &msg.opts),
            channel
        );
    }

    fn msg(uid: &str, nsp: &str, data: Vec<Value>, opts: WireOpts) -> BroadcastMessage {
        BroadcastMessage {
            uid: uid.into(),
            packet: WirePacket {
                kind: 2,
                data,
                nsp: nsp.into(),
                id: None,
            },
            opts,
        }
    }

    fn strings(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn node_broadcasts() {
        let uid = "xmCFpZ";
        round_trip(
            "emit-json",
            &msg(
                uid,
                "/",
                vec![
                    v("hello".into()),
                    v("world".into()),
                    v(1.into()),
                    v((-2).into()),
                    v(1.5.into()),
                    v(true.into()),
                    Value::Null,
                    v(serde_json::json!({"a": [1, "b"]})),
                ],
                WireOpts::default(),
            ),
        );
        let nested = std::iter::once(("nested".to_owned(), bin(b""))).collect();
        round_trip(
            "room-except-volatile-binary",
            &msg(
                uid,
                "/",
                vec![v("bin".into()), bin(&[1, 2, 3]), Value::Object(nested)],
                WireOpts {
                    rooms: strings(&["r1"]),
                    except: strings(&["x"]),
                    flags: Flags {
                        volatile: true,
                        ..Default::default()
                    },
                },
            ),
        );
        round_trip(
            "namespace-two-rooms",
            &msg(
                "e9Wnzh",
                "/custom",
                vec![v("two-rooms".into()), v("é😀".into())],
                WireOpts {
                    rooms: strings(&["r1", "r2"]),
                    ..Default::default()
                },
            ),
        );
    }

    #[test]
    fn node_dates_become_iso_strings() -> Result<(), WireError> {
        let (_, bytes) = fixture("dates-undefined");
        let m = decode_broadcast(&bytes)?;
        assert_eq!(
            m.packet.data,
            vec![
                v("dates".into()),
                v("1970-01-01T00:00:00.000Z".into()),
                v("1970-01-01T00:00:01.500Z".into()),
                Value::Null
            ]
        );
        assert_eq!(m.opts.except, strings(&["sid1"]));
        assert_eq!(
            iso_date(1.7e12).as_deref(),
            Some("2023-11-14T22:13:20.000Z")
        );
        assert_eq!(iso_date(-1.0).as_deref(), Some("1969-12-31T23:59:59.999Z"));
        Ok(())
    }

    #[test]
    fn node_requests_and_responses() -> Result<(), WireError> {
        let (channel, bytes) = fixture("broadcast-with-ack-request");
        assert_eq!(channel, "socket.io-request#/#");
        let r = decode_request(&bytes)?;
        assert_eq!(r.kind, Some(RequestType::Broadcast));
        assert_eq!(r.uid.as_deref(), Some("xmCFpZ"));
        assert_eq!(r.request_id.as_deref(), Some("I-m3xn"));
        let p = r.packet.ok_or(WireError::Shape("packet"))?;
        assert_eq!(p.data, vec![v("ask".into()), v(42.into())]);
        let opts = r.opts.ok_or(WireError::Shape("opts"))?;
        assert_eq!(opts.flags.timeout, Some(1000));
        assert_eq!(
            broadcast_ack_request("xmCFpZ", "I-m3xn", &p, &opts),
            bytes,
            "our request is byte for byte Node's"
        );

        let (_, bytes) = fixture("broadcast-ack-response");
        let r = decode_request(&bytes)?;
        assert_eq!(r.kind, Some(RequestType::BroadcastAck));
        assert_eq!(
            broadcast_ack_args(&r),
            vec![Value::Array(vec![v("yes".into()), bin(&[7])])],
            "Node forwards the first argument only"
        );
        // sio's answers name the socket, and carry every argument when not exactly one.
        let ours = decode_request(&broadcast_ack_response("abc123", "sid1", &[v(1.into())]))?;
        assert_eq!(ours.kind, Some(RequestType::BroadcastAck));
        assert_eq!(ours.raw.get("sid").and_then(Mp::as_str), Some("sid1"));
        assert!(ours.raw.get("args").is_none());
        assert_eq!(broadcast_ack_args(&ours), vec![v(1.into())]);
        let two = [v("a".into()), bin(&[1])];
        let ours = decode_request(&broadcast_ack_response("abc123", "sid1", &two))?;
        assert_eq!(broadcast_ack_args(&ours), two.to_vec());
        let object = [v(serde_json::json!({"type": "not a packet"}))];
        let ours = decode_request(&broadcast_ack_response("abc123", "sid1", &object))?;
        assert_eq!(
            broadcast_ack_args(&ours),
            object.to_vec(),
            "an object ack is a value"
        );
        let none = decode_request(&broadcast_ack_response("abc123", "sid1", &[]))?;
        assert_eq!(broadcast_ack_args(&none), Vec::<Value>::new());

        let r = decode_request(
            br#"{"uid":"abc","type":2,"opts":{"rooms":["a"],"except":[]},"rooms":["b",3]}"#,
        )?;
        assert_eq!(r.kind, Some(RequestType::RemoteJoin));
        assert_eq!(r.rooms, strings(&["b", "3"]));
        assert_eq!(r.opts.map(|o| o.rooms), Some(strings(&["a"])));
        assert!(decode_request(b"{\"type\":42}").is_err());
        assert!(decode_request(b"[1]").is_err());
        Ok(())
    }

    #[test]
    fn node_server_side_emit() -> Result<(), WireError> {
        // Without acks: `{uid, type: 6, data}`, JSON, on the request channel.
        let (channel, bytes) = fixture("server-side-emit");
        assert_eq!(channel, "socket.io-request#/#");
        let r = decode_request(&bytes)?;
        assert_eq!(r.kind, Some(RequestType::ServerSideEmit));
        assert_eq!(r.request_id, None);
        let data = server_side_data(&r).ok_or(WireError::Shape("data"))?;
        assert_eq!(
            data,
            vec![
                v("hello".into()),
                v("world".into()),
                v(serde_json::json!({"n": 1}))
            ]
        );
        let uid = r.uid.clone().unwrap_or_default();
        assert_eq!(server_side_request(&uid, None, &data), bytes);

        // With acks: a request id too.
        let (channel, bytes) = fixture("server-side-emit-with-ack");
        assert_eq!(channel, "socket.io-request#/custom#");
        let r = decode_request(&bytes)?;
        let id = r.request_id.clone().ok_or(WireError::Shape("requestId"))?;
        let data = server_side_data(&r).ok_or(WireError::Shape("data"))?;
        assert_eq!(data, vec![v("ping".into()), v(42.into())]);
        let uid = r.uid.clone().unwrap_or_default();
        assert_eq!(server_side_request(&uid, Some(&id), &data), bytes);

        // A node's answer: `{type: 6, requestId, data}` on the response channel.
        let (channel, bytes) = fixture("server-side-emit-response");
        assert_eq!(channel, "socket.io-response#/#");
        let r = decode_request(&bytes)?;
        assert_eq!(r.kind, Some(RequestType::ServerSideEmit));
        assert_eq!(r.request_id.as_deref(), Some("rq1234"));
        let answer = r.raw.get("data").map(mp_to_value).unwrap_or_default();
        assert_eq!(
            answer,
            v(serde_json::json!({"pong": 7, "list": [true, null]}))
        );
        // (Decoded JSON objects come out with sorted keys: encode the handler's value.)
        let handler_value: Value = json::decode_arg(r#"{"pong":7,"list":[true,null]}"#, &[])?;
        assert_eq!(server_side_response("rq1234", &handler_value), bytes);

        // Binary makes it msgpack, which Node's adapter decodes as well.
        let with_bin = server_side_request("u", None, &[v("f".into()), bin(&[1])]);
        assert_ne!(with_bin.first(), Some(&b'{'));
        let r = decode_request(&with_bin)?;
        assert_eq!(server_side_data(&r), Some(vec![v("f".into()), bin(&[1])]));
        // Data that does not start with an event name is no event.
        let r = decode_request(br#"{"uid":"u","type":6,"data":[{"x":1}]}"#)?;
        assert_eq!(server_side_data(&r), None);
        let r = decode_request(br#"{"uid":"u","type":6}"#)?;
        assert_eq!(server_side_data(&r), None);
        Ok(())
    }

    #[test]
    fn numbers_match_notepack() -> Result<(), WireError> {
        let (_, bytes) = fixture("long-string-and-numbers");
        let value = mp_to_value(&msgpack::decode(&bytes)?);
        assert_eq!(
            value,
            v(serde_json::json!([
                "x".repeat(300),
                70000,
                -70000,
                1u64 << 40,
                -(1i64 << 40),
                0.1
            ]))
        );
        assert_eq!(msgpack::encode(&value_to_mp(&value)), bytes);
        Ok(())
    }

    #[test]
    fn malformed_broadcasts_are_errors() {
        assert!(decode_broadcast(&[0xc1]).is_err());
        assert!(decode_broadcast(&msgpack::encode(&Mp::UInt(1))).is_err());
        let no_data = Mp::Array(vec![
            Mp::str("u"),
            Mp::Map(vec![(Mp::str("type"), Mp::UInt(2))]),
            Mp::Map(vec![]),
        ]);
        assert!(decode_broadcast(&msgpack::encode(&no_data)).is_err());
    }

    #[test]
    fn numbers_written_as_floats_are_javascript_numbers() -> Result<(), WireError> {
        // `3.0` is the number 3 in JavaScript: the room "3", a true flag; msgpack writes it
        // as an integer, and a JSON request must read as its msgpack form (found by fuzz/
        // redis_wire).
        let r = decode_request(
            br#"{"uid":"u","type":4,"opts":{"rooms":[1.0],"except":[]},"rooms":[3.0,-2.0,1.5],"close":1.0}"#,
        )?;
        assert_eq!(r.rooms, strings(&["3", "-2"]));
        assert_eq!(r.opts.map(|o| o.rooms), Some(strings(&["1"])));
        assert!(r.close);
        let again = decode_request(&msgpack::encode(&r.raw))?;
        assert_eq!((again.rooms, again.close), (r.rooms, r.close));
        Ok(())
    }

    #[test]
    fn broadcasts_with_acks_go_out_in_the_receiving_namespace() -> Result<(), WireError> {
        // A BROADCAST request whose packet names no namespace (so "/"), received on the
        // request channel of "/chat".
        let packet = Mp::Map(vec![
            (Mp::str("type"), Mp::UInt(2)),
            (Mp::str("data"), Mp::Array(vec![Mp::str("ask")])),
        ]);
        let bytes = msgpack::encode(&Mp::Map(vec![
            (Mp::str("uid"), Mp::str("other")),
            (Mp::str("requestId"), Mp::str("r1")),
            (Mp::str("type"), Mp::UInt(RequestType::Broadcast as u64)),
            (Mp::str("packet"), packet),
        ]));
        let req = decode_request(&bytes)?;
        let packet = req.packet.ok_or(WireError::Shape("packet"))?;
        assert_eq!(packet.nsp, "/");
        let out = ack_broadcast_packet(&packet, "/chat", 7)?;
        assert_eq!(out.text(), "42/chat,7[\"ask\"]");
        Ok(())
    }

    #[test]
    fn our_packets_both_ways() -> Result<(), WireError> {
        let p = BroadcastPacket::event(
            "/chat",
            "file",
            None,
            &("name", sio_server::Binary::from(vec![1u8, 2])),
        )?;
        let wire = packet_from_broadcast(&p)?;
        assert_eq!(wire.nsp, "/chat");
        assert_eq!(
            wire.data,
            vec![v("file".into()), v("name".into()), bin(&[1, 2])]
        );
        let back = packet_to_broadcast(&wire)?;
        assert_eq!(
            back.text(),
            "451-/chat,[\"file\",\"name\",{\"_placeholder\":true,\"num\":0}]"
        );
        assert_eq!(back.attachments(), &[Bytes::from_static(&[1, 2])]);
        Ok(())
    }
}
