//! Entry points for the fuzz targets of `fuzz/` (feature `fuzzing`), not an API: each takes
//! one message as Redis delivers it and runs the decoding a node runs on it, up to what it
//! would hand its sockets or its waiting requests, without a Redis connection or a
//! namespace. The fuzz targets check the results; these functions only have to reach the
//! same code as the cluster core (`adapter/incoming.rs`).

use crate::adapter::{ack_response, local_opts, remote_socket};
use crate::msgpack::Mp;
use crate::redis::sharded::{self, Message};
use crate::wire::{self, BroadcastMessage, Request, RequestType, WireError};
use sio_protocol::json::Value;
use sio_server::AckResponse;
use sio_server::adapter::{BroadcastPacket, RemoteSocket};

/// The namespace of the channels the messages arrive on.
pub const NSP: &str = "/";

/// The ack id a node gives a remote broadcast with acks before encoding it.
const ACK_ID: u64 = 1;

/// What a node derives from one message.
#[derive(Debug, Default)]
pub struct Handled {
    /// The Socket.IO packet for this node's sockets: a broadcast's, or a `BROADCAST`
    /// request's (with an ack id, as answering it adds one).
    pub packet: Option<Result<BroadcastPacket, WireError>>,
    /// `[event, ...args]` of a `SERVER_SIDE_EMIT` request.
    pub server_side: Option<Vec<Value>>,
    /// The answer of a server-side event's handler, in a response.
    pub server_side_answer: Option<Value>,
    /// The socket's ack, read as a `BROADCAST_ACK` response.
    pub ack: Option<AckResponse>,
    /// `clientCount` of a `BROADCAST_CLIENT_COUNT` response.
    pub client_count: Option<u64>,
    /// The sockets of a `fetchSockets` response.
    pub sockets: Vec<RemoteSocket>,
    /// The rooms of an `allRooms` response.
    pub rooms: Vec<String>,
}

/// A message on a classic broadcast channel (`prefix#nsp#…`).
pub fn classic_broadcast(payload: &[u8]) -> Result<(BroadcastMessage, Handled), WireError> {
    let msg = wire::decode_broadcast(payload)?;
    let handled = broadcast(&msg);
    Ok((msg, handled))
}

/// A message on a classic request or response channel, read as both (the channel, not the
/// message, tells them apart).
pub fn classic_request(payload: &[u8]) -> Result<(Request, Handled), WireError> {
    let req = wire::decode_request(payload)?;
    let mut handled = request(&req);
    response(&req, &mut handled);
    Ok((req, handled))
}

/// A message on a shard channel.
pub fn sharded_message(payload: &[u8]) -> Result<(sharded::Decoded, Handled), WireError> {
    let decoded = sharded::decode(payload)?;
    let handled = match &decoded.message {
        Message::Broadcast(msg) => broadcast(msg),
        Message::Request(req) => request(req),
        Message::Response(resp) => {
            let mut handled = Handled::default();
            response(resp, &mut handled);
            handled
        }
    };
    Ok((decoded, handled))
}

fn broadcast(msg: &BroadcastMessage) -> Handled {
    let _ = local_opts(&msg.opts);
    Handled {
        packet: Some(wire::packet_to_broadcast(&msg.packet)),
        ..Handled::default()
    }
}

/// What `on_other_request` reads of a request.
fn request(req: &Request) -> Handled {
    let _ = req.opts.as_ref().map(local_opts);
    let mut handled = Handled::default();
    match req.kind {
        Some(RequestType::Broadcast) => {
            handled.packet = req
                .packet
                .as_ref()
                .map(|packet| wire::ack_broadcast_packet(packet, NSP, ACK_ID));
        }
        Some(RequestType::ServerSideEmit) => handled.server_side = wire::server_side_data(req),
        _ => {}
    }
    handled
}

/// What a node waiting for answers reads of a response.
fn response(resp: &Request, handled: &mut Handled) {
    match resp.kind {
        Some(RequestType::BroadcastClientCount) => {
            handled.client_count = resp.raw.get("clientCount").and_then(Mp::as_u64);
        }
        Some(RequestType::BroadcastAck) => handled.ack = Some(ack_response(resp)),
        Some(RequestType::ServerSideEmit) => {
            handled.server_side_answer = resp.raw.get("data").map(wire::mp_to_value);
        }
        _ => {}
    }
    if let Some(Mp::Array(sockets)) = resp.raw.get("sockets") {
        handled.sockets = sockets.iter().filter_map(remote_socket).collect();
    }
    if let Some(Mp::Array(rooms)) = resp.raw.get("rooms") {
        handled.rooms = rooms
            .iter()
            .filter_map(Mp::as_str)
            .map(str::to_owned)
            .collect();
    }
}
