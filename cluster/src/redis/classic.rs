//! The classic transport: `PUBLISH` / `PSUBSCRIBE` in the format of
//! `@socket.io/redis-adapter`'s `createAdapter` ([`crate::wire`]): broadcasts as msgpack
//! `[uid, packet, opts]` on `prefix#nsp#` (or `prefix#nsp#room#` for exactly one room,
//! all read through the pattern `prefix#nsp#*`), requests as JSON (msgpack when binary) on
//! `prefix-request#nsp#`, answers on `prefix-response#nsp#`.

use sio_server::adapter::{AdapterFuture, Room};

use super::connection::Out;
use super::{Link, Listener, random_uid};
use crate::adapter::{Answer, Ask, Incoming, Malformed, Transport};
use crate::wire::{self, RequestType, WireOpts, WirePacket};

pub(super) struct Classic {
    link: Link,
}

impl Classic {
    pub fn new(link: Link) -> Self {
        let names = link.names();
        let patterns = vec![format!("{}*", names.channel)];
        let channels = vec![
            names.request_channel.clone(),
            names.response_channel.clone(),
            names.own_response_channel.clone(),
        ];
        link.listen(patterns, channels);
        Self { link }
    }

    fn publish(&self, channel: String, payload: Vec<u8>) {
        self.link.shared.publish(Out::Publish(channel, payload));
    }
}

impl Transport for Classic {
    fn uid(&self) -> &str {
        &self.link.names().uid
    }

    fn request_id(&self) -> String {
        random_uid()
    }

    fn broadcast(&self, packet: &WirePacket, opts: &WireOpts) {
        let n = self.link.names();
        self.publish(
            wire::broadcast_channel(&n.prefix, &n.nsp, opts),
            wire::encode_broadcast_of(&n.uid, packet, opts),
        );
    }

    fn request(&self, ask: &Ask<'_>, request_id: Option<&str>) {
        let n = self.link.names();
        let json = |kind: RequestType, fields: serde_json::Value| {
            let mut req = serde_json::json!({ "uid": n.uid, "type": kind as u8 });
            if let Some(id) = request_id {
                req["requestId"] = id.into();
            }
            if let (Some(req), serde_json::Value::Object(fields)) = (req.as_object_mut(), fields) {
                req.extend(fields);
            }
            req.to_string().into_bytes()
        };
        let rooms = |rooms: &[Room]| -> serde_json::Value { rooms.iter().map(|r| &**r).collect() };
        let payload = match *ask {
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
            Ask::ServerSide(data) => wire::server_side_request(&n.uid, request_id, data),
            Ask::BroadcastWithAck(packet, opts) => {
                wire::broadcast_ack_request(&n.uid, request_id.unwrap_or_default(), packet, opts)
            }
        };
        self.publish(n.request_channel.clone(), payload);
    }

    fn answer(&self, _requester: Option<&str>, request_id: &str, answer: Answer<'_>) {
        let json = |v: serde_json::Value| v.to_string().into_bytes();
        let payload = match answer {
            Answer::ClientCount(n) => json(serde_json::json!({
                "type": RequestType::BroadcastClientCount as u8,
                "requestId": request_id,
                "clientCount": n,
            })),
            Answer::Ack(sid, args) => wire::broadcast_ack_response(request_id, sid.as_str(), args),
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
        self.publish(self.link.names().response_channel.clone(), payload);
    }

    fn server_count(&self) -> AdapterFuture<usize> {
        let shared = self.link.shared.clone();
        let channel = self.link.names().request_channel.clone();
        Box::pin(async move { shared.subscribers("NUMSUB", &channel).await })
    }

    fn close(&self) {
        self.link.close();
    }
}

/// A message on one of a namespace's classic channels, to its adapter: from the pattern,
/// a broadcast; on the response channels, an answer; else a request.
pub(super) fn on_message(l: &Listener, channel: &str, payload: &[u8], from_pattern: bool) {
    let n = &l.names;
    if from_pattern {
        if !channel.starts_with(&n.channel) {
            return;
        }
        match wire::decode_broadcast(payload) {
            Ok(msg) => l.receiver.receive(Incoming::Broadcast(msg, None)),
            Err(e) => l.receiver.malformed(Malformed::Broadcast, channel, &e),
        }
        return;
    }
    let is_response = channel.starts_with(&n.response_channel);
    match wire::decode_request(payload) {
        Ok(msg) if is_response => l.receiver.receive(Incoming::Response(msg)),
        Ok(msg) => l.receiver.receive(Incoming::Request(msg)),
        Err(e) => l.receiver.malformed(Malformed::Request, channel, &e),
    }
}
