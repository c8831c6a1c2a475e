//! What a node does with the other nodes' messages: broadcasts delivered to its sockets,
//! requests answered, answers to its own requests gathered. Every transport's messages
//! arrive here in the same shapes ([`Incoming`]).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::{Answer, Core, Incoming, LOG, local_opts, lock};
use crate::msgpack;
use crate::wire::{self, RequestType};
use sio_protocol::json::Value;
use sio_server::ServerSideAck;
use sio_server::adapter::{Adapter, BroadcastOptions, LocalSockets, Room};

impl Core {
    fn with_local<R>(&self, f: impl FnOnce(&LocalSockets<'_>) -> R) -> Option<R> {
        self.ns.get()?.with_sockets(f)
    }

    /// Acts on a message from another node.
    pub(super) fn receive(self: &Arc<Self>, msg: Incoming) {
        match msg {
            Incoming::Broadcast(mut msg, offset) => {
                if let Some(offset) = offset {
                    if !msg.opts.flags.volatile && self.recovery().is_some() {
                        msg.packet.data.push(Value::String(offset));
                    }
                }
                self.deliver(msg);
            }
            Incoming::Request(req) => self.on_other_request(req),
            Incoming::Response(resp) => self.on_response(&resp),
        }
    }

    /// Another node's broadcast, to this node's sockets.
    fn deliver(&self, msg: wire::BroadcastMessage) {
        if msg.uid == self.transport.uid() || msg.packet.nsp != self.nsp {
            return;
        }
        let packet = match wire::packet_to_broadcast(&msg.packet) {
            Ok(p) => p,
            Err(e) => {
                if self.throttle.allow(1) {
                    tracing::warn!(target: LOG, nsp = %self.nsp, "broadcast skipped: {e}");
                }
                return;
            }
        };
        let opts = local_opts(&msg.opts);
        if let Some(ns) = self.ns.get() {
            ns.deliver(&packet, &opts);
        }
    }

    /// An answer to one of this node's requests.
    fn on_response(&self, resp: &wire::Request) {
        let Some(id) = resp.request_id.as_deref() else {
            return;
        };
        if self.on_ack_response(id, resp) {
            return;
        }
        let mut pending = lock(&self.pending);
        let Some(p) = pending.get_mut(id) else {
            return;
        };
        // Bounded: a node answering twice adds nothing once everyone has answered.
        if p.responses.len() >= p.expected {
            return;
        }
        p.responses.push(resp.raw.clone());
        if p.responses.len() >= p.expected {
            if let Some(done) = p.done.take() {
                let _ = done.send(());
            }
        }
    }

    /// Another node's request.
    fn on_other_request(self: &Arc<Self>, req: wire::Request) {
        if req.uid.as_deref() == Some(self.transport.uid()) {
            return;
        }
        let Some(kind) = req.kind else { return };
        let opts = req
            .opts
            .as_ref()
            .map(local_opts)
            .unwrap_or_else(|| BroadcastOptions {
                local: true,
                ..Default::default()
            });
        let rooms: Vec<Room> = req.rooms.iter().map(|r| Room::from(r.as_str())).collect();
        let requester = req.uid.as_deref();
        match kind {
            RequestType::RemoteJoin if req.opts.is_some() => {
                if let Some(ns) = self.ns.get() {
                    ns.add_sockets(&opts, &rooms);
                }
            }
            RequestType::RemoteLeave if req.opts.is_some() => {
                if let Some(ns) = self.ns.get() {
                    ns.del_sockets(&opts, &rooms);
                }
            }
            RequestType::RemoteDisconnect if req.opts.is_some() => {
                if let Some(ns) = self.ns.get() {
                    ns.disconnect_sockets(&opts, req.close);
                }
            }
            RequestType::Broadcast => {
                if let (Some(id), Some(packet)) = (&req.request_id, &req.packet) {
                    let timeout = req.opts.as_ref().and_then(|o| o.flags.timeout);
                    self.answer_broadcast_with_ack(requester, id, packet, &opts, timeout);
                }
            }
            RequestType::ServerSideEmit => self.answer_server_side(&req),
            RequestType::AllRooms => {
                let Some(id) = &req.request_id else { return };
                let mut rooms: Vec<String> =
                    self.memory.rooms().iter().map(|r| r.to_string()).collect();
                self.with_local(|l| rooms.extend(l.ids().map(|s| s.as_str().to_owned())));
                self.answer(requester, id, Answer::Rooms(rooms));
            }
            RequestType::RemoteFetch => {
                let Some(id) = &req.request_id else { return };
                let sockets = self
                    .with_local(|l| {
                        let mut out = Vec::new();
                        self.memory.select(&opts, l, &mut |sid| {
                            if let Some(s) = l.get(sid) {
                                out.push(socket_json(s));
                            }
                        });
                        out
                    })
                    .unwrap_or_default();
                self.answer(requester, id, Answer::Sockets(sockets));
            }
            RequestType::Sockets => {
                let Some(id) = &req.request_id else { return };
                let ids = self
                    .with_local(|l| {
                        let mut out = Vec::new();
                        self.memory
                            .select(&opts, l, &mut |sid| out.push(sid.as_str().to_owned()));
                        out
                    })
                    .unwrap_or_default();
                self.answer(requester, id, Answer::SocketIds(ids));
            }
            _ => {
                tracing::debug!(target: LOG, ?kind, "request type not handled");
            }
        }
    }

    /// Another node's broadcast with acks: deliver it here with an ack id of this namespace,
    /// tell the requester how many sockets got it, then forward each socket's ack as it
    /// comes.
    fn answer_broadcast_with_ack(
        self: &Arc<Self>,
        requester: Option<&str>,
        request_id: &str,
        packet: &wire::WirePacket,
        opts: &BroadcastOptions,
        timeout_ms: Option<u64>,
    ) {
        let Some(ns) = self.ns.get() else { return };
        let timeout = Duration::from_millis(timeout_ms.unwrap_or(5_000));
        let nsp = &self.nsp;
        let encode = |id| wire::ack_broadcast_packet(packet, nsp, id);
        let waits = match ns.emit_with_acks(encode, opts, timeout) {
            Ok(waits) => waits,
            Err(e) => {
                tracing::warn!(target: LOG, "broadcast with acks skipped: {e}");
                return;
            }
        };
        self.answer(requester, request_id, Answer::ClientCount(waits.len()));
        if waits.is_empty() {
            return;
        }
        // One task per request, not per socket: it forwards each ack as it comes.
        let state = self.clone();
        let requester = requester.map(str::to_owned);
        let request_id = request_id.to_owned();
        let mut acks: FuturesUnordered<_> = waits.into_iter().collect();
        tokio::spawn(async move {
            while let Some(ack) = acks.next().await {
                let (Some(sid), Ok(args)) = (ack.socket, ack.result) else {
                    continue;
                };
                let values = args.values().unwrap_or_default();
                state.answer(requester.as_deref(), &request_id, Answer::Ack(sid, &values));
            }
        });
    }

    /// Another node's `serverSideEmit`: this namespace's server-side handlers get it; with a
    /// request id, the first ack of any of them goes back.
    fn answer_server_side(self: &Arc<Self>, req: &wire::Request) {
        let Some(data) = wire::server_side_data(req) else {
            if self.throttle.allow(2) {
                tracing::warn!(target: LOG, nsp = %self.nsp, "server-side event without an event name skipped");
            }
            return;
        };
        let Some(ns) = self.ns.get() else { return };
        let ack = req.request_id.clone().map(|id| {
            let state = self.clone();
            let requester = req.uid.clone();
            ServerSideAck::new(move |value| {
                state.answer(requester.as_deref(), &id, Answer::ServerSide(&value));
            })
        });
        if ns.server_side_event(&data, ack) == 0 {
            tracing::debug!(target: LOG, nsp = %self.nsp, "server-side event without a handler");
        }
    }
}

/// A socket as a `fetchSockets` response describes it (Node's `RemoteSocket` fields).
fn socket_json(s: &sio_server::Socket) -> serde_json::Value {
    let mut handshake = s.handshake().to_json();
    // Node's `handshake.time` goes through its msgpack encoder as a Date.
    let issued = handshake["issued"].as_f64().unwrap_or(0.0);
    let time = wire::mp_to_value(&msgpack::Mp::Date(issued));
    handshake["time"] = serde_json::to_value(&time).unwrap_or_default();
    let mut rooms = vec![s.id().as_str().to_owned()];
    rooms.extend(s.rooms().iter().map(|r| r.to_string()));
    serde_json::json!({
        "id": s.id().as_str(),
        "handshake": handshake,
        "rooms": rooms,
        "data": s.data(),
    })
}
