//! What one namespace's adapter sends to the other nodes, in the cluster's format: each
//! intent ([`Ask`], [`Answer`], a broadcast) becomes its channel and bytes (or, in the
//! streams mode, its stream entry) here, in the classic mode ([`wire`]), the sharded one
//! ([`sharded`]) or the streams one ([`streams`]), so the adapter's logic is the same in all.

use rand::Rng;
use sio_protocol::json::Value;

use super::msgpack::Mp;
use super::sharded::{self, MessageType};
use super::streams::{self, Entry};
use super::wire::{self, RequestType, WireOpts, WirePacket};
use super::{PubSubMode, SubscriptionMode};
use sio_server::Sid;
use sio_server::adapter::Room;

/// Called with the id of an appended stream entry, or None when it was not appended.
pub(super) type Appended = sio_server::adapter::Deliver;

/// One message for the publisher.
pub(super) enum Out {
    /// `PUBLISH` (`SPUBLISH` in the sharded mode) of these bytes on this channel.
    Publish(String, Vec<u8>),
    /// `XADD` of this entry (streams mode), then the callback with its id.
    Append(Entry, Option<Appended>),
    /// Another command whose answer is not needed (a session kept, streams mode).
    Command(redis::Cmd),
}

/// A request of this node to the others.
pub(super) enum Ask<'a> {
    /// `socketsJoin`.
    Join(&'a WireOpts, &'a [Room]),
    /// `socketsLeave`.
    Leave(&'a WireOpts, &'a [Room]),
    /// `disconnectSockets`, closing the connections when true.
    Disconnect(&'a WireOpts, bool),
    /// `fetchSockets`.
    Fetch(&'a WireOpts),
    /// `allRooms` (classic mode only).
    AllRooms,
    /// `serverSideEmit`: `[event, ...args]`.
    ServerSide(&'a [Value]),
    /// A broadcast with acks.
    BroadcastWithAck(&'a WirePacket, &'a WireOpts),
}

/// This node's answer to another node's request.
pub(super) enum Answer<'a> {
    /// How many sockets got a broadcast with acks.
    ClientCount(usize),
    /// One socket's ack to it.
    Ack(Sid, &'a [Value]),
    /// `fetchSockets`: the sockets, as Node describes them.
    Sockets(Vec<serde_json::Value>),
    /// The classic `sockets` request: socket ids.
    SocketIds(Vec<String>),
    /// `allRooms`.
    Rooms(Vec<String>),
    /// A server-side event's answer.
    ServerSide(&'a Value),
}

/// One namespace's identity and channels in the cluster, and the format they speak.
pub(super) struct Format {
    pub mode: PubSubMode,
    pub prefix: String,
    /// 6 characters in the classic mode, 16 hex digits in the sharded one, as in Node.
    pub uid: String,
    pub nsp: String,
    /// `prefix#nsp#`: broadcasts; in the sharded mode, every request too.
    pub channel: String,
    /// `prefix-request#nsp#` (classic mode).
    pub request_channel: String,
    /// `prefix-response#nsp#`, where the classic mode answers.
    pub response_channel: String,
    /// Where answers to this node's requests arrive: `prefix-response#nsp#uid#` (classic),
    /// `prefix#nsp#uid#` (sharded).
    pub own_response_channel: String,
}

impl Format {
    pub fn new(prefix: &str, nsp: &str, mode: PubSubMode) -> Self {
        let uid = match mode {
            PubSubMode::Classic => random_uid(),
            PubSubMode::Sharded(_) | PubSubMode::Streams => random_hex(),
        };
        let channel = format!("{prefix}#{nsp}#");
        let own_response_channel = match mode {
            PubSubMode::Classic => format!("{prefix}-response#{nsp}#{uid}#"),
            PubSubMode::Sharded(_) | PubSubMode::Streams => sharded::room_channel(&channel, &uid),
        };
        Self {
            mode,
            prefix: prefix.to_owned(),
            nsp: nsp.to_owned(),
            channel,
            request_channel: format!("{prefix}-request#{nsp}#"),
            response_channel: format!("{prefix}-response#{nsp}#"),
            own_response_channel,
            uid,
        }
    }

    /// A new request id in this format.
    pub fn request_id(&self) -> String {
        match self.mode {
            PubSubMode::Classic => random_uid(),
            PubSubMode::Sharded(_) | PubSubMode::Streams => random_hex(),
        }
    }

    /// The patterns and channels this namespace always listens to (room channels of the
    /// dynamic modes come and go with the rooms).
    pub fn subscriptions(&self) -> (Vec<String>, Vec<String>) {
        match self.mode {
            PubSubMode::Classic => (
                vec![format!("{}*", self.channel)],
                vec![
                    self.request_channel.clone(),
                    self.response_channel.clone(),
                    self.own_response_channel.clone(),
                ],
            ),
            PubSubMode::Sharded(_) | PubSubMode::Streams => (
                Vec::new(),
                vec![self.channel.clone(), self.own_response_channel.clone()],
            ),
        }
    }

    /// The channel of room `room` when the sharded dynamic modes subscribe to it:
    /// `private` says whether `room` is a socket's own-id room.
    pub fn room_subscription(&self, room: &str, private: bool) -> Option<String> {
        match self.mode {
            PubSubMode::Sharded(SubscriptionMode::Dynamic) if !private => {}
            PubSubMode::Sharded(SubscriptionMode::DynamicPrivate) => {}
            _ => return None,
        }
        Some(sharded::room_channel(&self.channel, room))
    }

    /// `PUBSUB` subcommand and channel whose subscriber count is the number of nodes.
    pub fn server_count_query(&self) -> (&'static str, &str) {
        match self.mode {
            PubSubMode::Classic => ("NUMSUB", &self.request_channel),
            PubSubMode::Sharded(_) => ("SHARDNUMSUB", &self.channel),
            PubSubMode::Streams => ("NUMSUB", &self.channel),
        }
    }

    /// A broadcast without acks; in the streams mode, `then` gets its entry id.
    pub fn broadcast(&self, packet: &WirePacket, opts: &WireOpts, then: Option<Appended>) -> Out {
        match self.mode {
            PubSubMode::Classic => Out::Publish(
                wire::broadcast_channel(&self.prefix, &self.nsp, opts),
                wire::encode_broadcast_of(&self.uid, packet, opts),
            ),
            PubSubMode::Sharded(mode) => Out::Publish(
                sharded::broadcast_channel(&self.channel, mode, opts, false),
                self.sharded(
                    MessageType::Broadcast,
                    sharded::broadcast_data(packet, None, opts),
                ),
            ),
            PubSubMode::Streams => Out::Append(
                Entry::new(
                    &self.uid,
                    &self.nsp,
                    MessageType::Broadcast,
                    sharded::broadcast_data(packet, None, opts),
                ),
                then,
            ),
        }
    }

    /// A request, with `request_id` when answers are awaited. None when the format has no
    /// such request (`allRooms` in the sharded mode).
    pub fn ask(&self, ask: &Ask<'_>, request_id: Option<&str>) -> Option<Out> {
        match self.mode {
            PubSubMode::Classic => {
                let payload = self.classic_ask(ask, request_id);
                Some(Out::Publish(self.request_channel.clone(), payload))
            }
            PubSubMode::Sharded(_) | PubSubMode::Streams => {
                let (kind, data) = match *ask {
                    Ask::Join(opts, rooms) => (MessageType::SocketsJoin, opts_rooms(opts, rooms)),
                    Ask::Leave(opts, rooms) => (MessageType::SocketsLeave, opts_rooms(opts, rooms)),
                    Ask::Disconnect(opts, close) => (
                        MessageType::DisconnectSockets,
                        vec![
                            (Mp::str("opts"), sharded::opts_mp(opts)),
                            (Mp::str("close"), Mp::Bool(close)),
                        ],
                    ),
                    Ask::Fetch(opts) => {
                        let mut data = vec![(Mp::str("opts"), sharded::opts_mp(opts))];
                        data.extend(request_id.map(|id| (Mp::str("requestId"), Mp::str(id))));
                        (MessageType::FetchSockets, data)
                    }
                    Ask::AllRooms => return None,
                    Ask::ServerSide(data) => (
                        MessageType::ServerSideEmit,
                        sharded::server_side_data(request_id, data),
                    ),
                    Ask::BroadcastWithAck(packet, opts) => (
                        MessageType::Broadcast,
                        sharded::broadcast_data(packet, request_id, opts),
                    ),
                };
                Some(match self.mode {
                    // What must be replayed goes to the stream; the rest over pub/sub, as
                    // the Node adapter's `isEphemeral` sorts them.
                    PubSubMode::Streams
                        if matches!(
                            kind,
                            MessageType::SocketsJoin
                                | MessageType::SocketsLeave
                                | MessageType::DisconnectSockets
                        ) =>
                    {
                        Out::Append(Entry::new(&self.uid, &self.nsp, kind, data), None)
                    }
                    _ => Out::Publish(self.channel.clone(), self.sharded(kind, data)),
                })
            }
        }
    }

    fn classic_ask(&self, ask: &Ask<'_>, request_id: Option<&str>) -> Vec<u8> {
        let json = |kind: RequestType, fields: serde_json::Value| {
            let mut req = serde_json::json!({ "uid": self.uid, "type": kind as u8 });
            if let Some(id) = request_id {
                req["requestId"] = id.into();
            }
            if let (Some(req), serde_json::Value::Object(fields)) = (req.as_object_mut(), fields) {
                req.extend(fields);
            }
            req.to_string().into_bytes()
        };
        let rooms = |rooms: &[Room]| -> serde_json::Value { rooms.iter().map(|r| &**r).collect() };
        match *ask {
            Ask::Join(opts, r) => json(
                RequestType::RemoteJoin,
                serde_json::json!({ "opts": wire::opts_json(opts), "rooms": rooms(r) }),
            ),
            Ask::Leave(opts, r) => json(
                RequestType::RemoteLeave,
                serde_json::json!({ "opts": wire::opts_json(opts), "rooms": rooms(r) }),
            ),
            Ask::Disconnect(opts, close) => json(
                RequestType::RemoteDisconnect,
                serde_json::json!({ "opts": wire::opts_json(opts), "close": close }),
            ),
            Ask::Fetch(opts) => json(
                RequestType::RemoteFetch,
                serde_json::json!({ "opts": wire::opts_json(opts) }),
            ),
            Ask::AllRooms => json(RequestType::AllRooms, serde_json::json!({})),
            Ask::ServerSide(data) => wire::server_side_request(&self.uid, request_id, data),
            Ask::BroadcastWithAck(packet, opts) => {
                wire::broadcast_ack_request(&self.uid, request_id.unwrap_or_default(), packet, opts)
            }
        }
    }

    /// An answer to `requester`'s request `request_id`. None when the format has no such
    /// answer, or the sharded mode does not know the requester.
    pub fn answer(
        &self,
        requester: Option<&str>,
        request_id: &str,
        answer: Answer<'_>,
    ) -> Option<Out> {
        match self.mode {
            PubSubMode::Classic => {
                let json = |v: serde_json::Value| v.to_string().into_bytes();
                let payload = match answer {
                    Answer::ClientCount(n) => json(serde_json::json!({
                        "type": RequestType::BroadcastClientCount as u8,
                        "requestId": request_id,
                        "clientCount": n,
                    })),
                    Answer::Ack(sid, args) => {
                        wire::broadcast_ack_response(request_id, sid.as_str(), args)
                    }
                    Answer::Sockets(sockets) => {
                        json(serde_json::json!({ "requestId": request_id, "sockets": sockets }))
                    }
                    Answer::SocketIds(ids) => {
                        json(serde_json::json!({ "requestId": request_id, "sockets": ids }))
                    }
                    Answer::Rooms(rooms) => {
                        json(serde_json::json!({ "requestId": request_id, "rooms": rooms }))
                    }
                    Answer::ServerSide(value) => wire::server_side_response(request_id, value),
                };
                Some(Out::Publish(self.response_channel.clone(), payload))
            }
            PubSubMode::Sharded(_) | PubSubMode::Streams => {
                let id = (Mp::str("requestId"), Mp::str(request_id));
                let (kind, data) = match answer {
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
                };
                let channel = sharded::room_channel(&self.channel, requester?);
                Some(Out::Publish(channel, self.sharded(kind, data)))
            }
        }
    }

    /// A `ClusterAdapter` message: JSON unless binary in the sharded mode, always msgpack in
    /// the streams one.
    fn sharded(&self, kind: MessageType, data: Vec<(Mp, Mp)>) -> Vec<u8> {
        match self.mode {
            PubSubMode::Streams => streams::encode_message(kind, data, &self.uid, &self.nsp),
            _ => sharded::encode(kind, data, &self.uid, &self.nsp),
        }
    }
}

fn opts_rooms(opts: &WireOpts, rooms: &[Room]) -> Vec<(Mp, Mp)> {
    vec![
        (Mp::str("opts"), sharded::opts_mp(opts)),
        (
            Mp::str("rooms"),
            Mp::Array(rooms.iter().map(|r| Mp::str(&**r)).collect()),
        ),
    ]
}

/// 6 characters as `uid2(6)` makes them (classic node uids and request ids).
fn random_uid() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..6)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

/// 16 hex digits, as socket.io-adapter's `randomId()` (sharded node uids and request ids).
fn random_hex() -> String {
    format!("{:016x}", rand::rng().random::<u64>())
}
