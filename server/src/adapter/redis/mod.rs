//! A cluster over Redis pub/sub that speaks the wire format of Node's
//! `@socket.io/redis-adapter` 8 (classic `PUBLISH` mode), so sio nodes and Node `socket.io`
//! nodes on the same Redis form one cluster.
//!
//! # Design
//!
//! The format, as read in `@socket.io/redis-adapter` 8.3 (`lib/index.ts`) and checked
//! against bytes it publishes (`server/tests/fixtures/redis-adapter.json`, written by
//! `tests/cluster/make-fixtures.mjs`):
//!
//! - each namespace's adapter has a node uid of 6 random characters; with the key prefix
//!   (`socket.io` by default) it uses the channels `prefix#nsp#` (broadcasts, and
//!   `prefix#nsp#room#` for a broadcast to exactly one room; everything is received through
//!   the pattern `prefix#nsp#*`), `prefix-request#nsp#`, `prefix-response#nsp#` and
//!   `prefix-response#nsp#uid#`;
//! - a broadcast is the msgpack (notepack.io) array `[uid, packet, opts]`: see [`wire`];
//! - requests and responses are JSON objects, or msgpack maps when they carry binary.
//!
//! In this crate a [`RedisCluster`] owns two Redis connections shared by every namespace:
//! a publisher (fed through a bounded queue) and a subscriber (one task that dispatches each
//! message to the namespace whose channel it is on). Each namespace's [`RedisAdapter`] wraps
//! a [`MemoryAdapter`]: it does every local operation there, and publishes what is not
//! `local`. A message from another node is decoded and delivered to this node's sockets
//! through the [`LocalNamespace`] handle the namespace gives its adapter.
//!
//! # What works
//!
//! Broadcasts both ways (rooms, except, binary, volatile, namespaces; `local` stays here),
//! `sockets_join` / `sockets_leave` / `disconnect_sockets` on every node,
//! [`fetch_remote_sockets`](crate::BroadcastOperator::fetch_remote_sockets) (a
//! `REMOTE_FETCH` request; `PUBSUB NUMSUB` of the request channel says how many nodes must
//! answer, [`RedisConfig::request_timeout`] how long to wait), and answers to other nodes'
//! `fetchSockets`, `allRooms`, `socketsJoin` / `socketsLeave` / `disconnectSockets` and
//! broadcasts with acks (this node's sockets get the packet, the requester gets their count
//! and each ack).
//!
//! Server-side events both ways: [`server_side_emit`](crate::Namespace::server_side_emit)
//! publishes a `SERVER_SIDE_EMIT` request (type 6, `{uid, type, data: [event, ...args]}`,
//! JSON, or msgpack when an argument is binary) that every other node's handlers get
//! ([`on_server_side`](crate::Namespace::on_server_side) here, `io.of(nsp).on(event)` in
//! Node); [`server_side_emit_with_ack`](crate::Namespace::server_side_emit_with_ack) adds a
//! `requestId` and gathers one `{type: 6, requestId, data}` response per other node (counted
//! with `PUBSUB NUMSUB`) up to [`RedisConfig::request_timeout`], else fails with Node's
//! `timeout reached: only N responses received out of M` and the answers that came. Other
//! nodes' `serverSideEmit` reach this node's handlers, and the first ack of any of them is
//! this node's response; a node whose handlers do not ack makes the sender time out, as in
//! Node.
//!
//! Broadcasts with acks both ways: [`emit_with_ack`](crate::BroadcastOperator::emit_with_ack)
//! publishes a `BROADCAST` request (type 7, msgpack, the packet without an ack id: each node
//! numbers its own). Every other node answers with how many of its sockets got the packet
//! (`BROADCAST_CLIENT_COUNT`), then one `BROADCAST_ACK` per ack; the emitter waits until
//! every node (counted with `PUBSUB NUMSUB`) has given its count and every counted socket
//! has answered, or the broadcast's timeout (else [`RedisConfig::request_timeout`]) passes.
//! Counted sockets that did not answer are timeouts; nodes that gave no count make the
//! result a [`BroadcastAckError::Cluster`](crate::BroadcastAckError::Cluster) that keeps the
//! answers that came. Node's answers carry the ack's first argument only and name no
//! socket; sio's add the socket id and every argument (fields Node ignores, see
//! [`wire::broadcast_ack_response`]).
//!
//! [`all_rooms`](crate::Namespace::all_rooms) sends an `ALL_ROOMS` request (type 1) and
//! merges the answers with this node's rooms.
//!
//! Not yet: the sharded (`SPUBLISH`) mode.
//!
//! # Faults
//!
//! - Redis down or restarted: this node keeps serving its own clients. The subscriber
//!   reconnects with exponential backoff (100 ms doubling to 5 s) and subscribes to every
//!   channel again; the publisher's connection reconnects the same way.
//! - What this node broadcasts while Redis is unreachable reaches its own sockets and is
//!   **dropped** for the other nodes (Redis pub/sub keeps nothing for late subscribers
//!   either): nothing is replayed after the outage. The publish queue is bounded
//!   ([`RedisConfig::queue_capacity`]); when it is full, messages are dropped, not queued.
//! - A malformed message on a channel is logged (`tracing`, target `sio_server::redis`) and
//!   skipped. Errors are logged at most once a second per kind.
//!
//! # Sticky sessions
//!
//! HTTP long-polling sends each session's requests in turn, and only the node that made the
//! session knows it: a request that lands on another node gets the protocol's answer to an
//! unknown session (HTTP 400, `{"code":1,"message":"Session ID unknown"}`), and the client
//! reconnects. Either put the nodes behind a load balancer with sticky sessions (by cookie
//! or client address), or have clients connect with `transports: ["websocket"]`.
//!
//! ```no_run
//! use sio_server::SocketIo;
//! use sio_server::adapter::redis::{RedisCluster, RedisConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let cluster = RedisCluster::new(RedisConfig::new("redis://127.0.0.1:6379/"))?;
//! let (layer, io) = SocketIo::builder()
//!     .adapter(move |nsp| cluster.adapter(nsp))
//!     .build_layer();
//! # let _ = (layer, io);
//! # Ok(())
//! # }
//! ```

pub mod msgpack;
pub mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use rand::Rng;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::adapter::{
    Adapter, AdapterError, AdapterFuture, BroadcastOptions, BroadcastPacket, LocalNamespace,
    LocalSockets, MemoryAdapter, RemoteAcks, RemoteAcksFuture, RemoteSocket, Room,
    ServerSideFuture,
};
use crate::args::Args;
use crate::broadcast::AckResponse;
use crate::error::{AckError, EmitError};
use crate::server_side::{ServerSideAck, ServerSideError};
use crate::sid::Sid;
use sio_protocol::json::Value;
use wire::{RequestType, WireOpts};

const LOG: &str = "sio_server::redis";

/// Why a [`RedisCluster`] could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RedisAdapterError {
    /// The URL is not a Redis URL.
    #[error("invalid Redis URL: {0}")]
    Url(#[from] redis::RedisError),
    /// [`RedisCluster::new`] was called outside a tokio runtime.
    #[error("the Redis adapter needs a tokio runtime")]
    NoRuntime,
}

/// Settings of a [`RedisCluster`].
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// The Redis URL (`redis://host:port/db`).
    pub url: String,
    /// The channel prefix (`key` of the Node adapter, default `socket.io`).
    pub prefix: String,
    /// Messages waiting to be published before new ones are dropped (default 4096).
    pub queue_capacity: usize,
    /// How long a request to the other nodes (`fetch_remote_sockets`,
    /// `server_side_emit_with_ack`) waits for their answers (`requestsTimeout`, default 5 s).
    pub request_timeout: Duration,
}

impl RedisConfig {
    /// The defaults of the Node adapter, on `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: "socket.io".into(),
            queue_capacity: 4096,
            request_timeout: Duration::from_secs(5),
        }
    }

    /// Sets the request timeout.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the channel prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
}

/// The Redis connections shared by every namespace of a server: make one, then give
/// each namespace an adapter with [`adapter`](Self::adapter) (see the module example).
#[derive(Clone)]
pub struct RedisCluster(Arc<Shared>);

impl std::fmt::Debug for RedisCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCluster")
            .field("prefix", &self.0.prefix)
            .finish()
    }
}

struct Shared {
    prefix: String,
    request_timeout: Duration,
    /// The publisher's connection once it is up, for commands with an answer.
    conn: RwLock<Option<redis::aio::ConnectionManager>>,
    publish: mpsc::Sender<(String, Vec<u8>)>,
    /// Pattern subscriptions (broadcasts) and channel subscriptions (requests, responses)
    /// of every namespace, and who handles them.
    patterns: RwLock<HashMap<String, Weak<NsState>>>,
    channels: RwLock<HashMap<String, Weak<NsState>>>,
    /// Wakes the subscriber when a namespace adds subscriptions.
    changed: Notify,
    dropped: AtomicU64,
    throttle: Throttle,
}

impl RedisCluster {
    /// Starts the publisher and subscriber tasks on the current tokio runtime. They connect
    /// in the background: an unreachable Redis is logged and retried, not an error.
    pub fn new(config: RedisConfig) -> Result<Self, RedisAdapterError> {
        let client = redis::Client::open(config.url.as_str())?;
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| RedisAdapterError::NoRuntime)?;
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let shared = Arc::new(Shared {
            prefix: config.prefix,
            request_timeout: config.request_timeout,
            conn: RwLock::new(None),
            publish: tx,
            patterns: RwLock::default(),
            channels: RwLock::default(),
            changed: Notify::new(),
            dropped: AtomicU64::new(0),
            throttle: Throttle::default(),
        });
        runtime.spawn(publisher(client.clone(), rx, Arc::downgrade(&shared)));
        runtime.spawn(subscriber(client, Arc::downgrade(&shared)));
        Ok(Self(shared))
    }

    /// The adapter of namespace `nsp`: pass `move |nsp| cluster.adapter(nsp)` to
    /// [`SocketIoBuilder::adapter`](crate::SocketIoBuilder::adapter).
    pub fn adapter(&self, nsp: &str) -> RedisAdapter {
        let prefix = &self.0.prefix;
        let uid = random_uid();
        let state = Arc::new(NsState {
            memory: MemoryAdapter::new(),
            nsp: nsp.to_owned(),
            channel: format!("{prefix}#{nsp}#"),
            request_channel: format!("{prefix}-request#{nsp}#"),
            response_channel: format!("{prefix}-response#{nsp}#"),
            specific_response_channel: format!("{prefix}-response#{nsp}#{uid}#"),
            uid,
            shared: self.0.clone(),
            ns: OnceLock::new(),
            pending: Mutex::new(HashMap::new()),
            acks: Mutex::new(HashMap::new()),
        });
        {
            let weak = Arc::downgrade(&state);
            let mut patterns = write(&self.0.patterns);
            patterns.insert(format!("{}*", state.channel), weak.clone());
            let mut channels = write(&self.0.channels);
            for c in [
                &state.request_channel,
                &state.response_channel,
                &state.specific_response_channel,
            ] {
                channels.insert(c.clone(), weak.clone());
            }
        }
        self.0.changed.notify_one();
        RedisAdapter { state }
    }

    /// Messages not sent to the other nodes so far (queue full or Redis unreachable).
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }
}

impl Shared {
    fn publish(&self, channel: String, payload: Vec<u8>) {
        if self.publish.try_send((channel, payload)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            if self.throttle.allow(0) {
                tracing::warn!(target: LOG, "redis publish queue full: message dropped");
            }
        }
    }
}

/// The adapter of one namespace in a Redis cluster; made by [`RedisCluster::adapter`].
pub struct RedisAdapter {
    state: Arc<NsState>,
}

impl std::fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("nsp", &self.state.nsp)
            .field("uid", &self.state.uid)
            .finish()
    }
}

impl RedisAdapter {
    /// This node's uid in the namespace (6 characters, as in Node).
    pub fn uid(&self) -> &str {
        &self.state.uid
    }
}

struct NsState {
    memory: MemoryAdapter,
    nsp: String,
    uid: String,
    channel: String,
    request_channel: String,
    response_channel: String,
    specific_response_channel: String,
    shared: Arc<Shared>,
    ns: OnceLock<LocalNamespace>,
    /// This node's requests waiting for answers, by request id.
    pending: Mutex<HashMap<String, Pending>>,
    /// This node's broadcasts with acks waiting for other nodes' sockets, by request id.
    acks: Mutex<HashMap<String, AckGather>>,
}

/// What a request to the other nodes gathered.
enum Gathered {
    /// Every node answered.
    All(Vec<msgpack::Mp>),
    /// Some did not, within the request timeout.
    TimedOut {
        responses: Vec<msgpack::Mp>,
        expected: usize,
    },
}

/// Removes a request from the pending ones when its waiter goes away.
struct ForgetOnDrop<'a> {
    pending: &'a Mutex<HashMap<String, Pending>>,
    id: &'a str,
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        lock(self.pending).remove(self.id);
    }
}

/// Requests of one namespace waiting for answers at once, at most.
const MAX_PENDING: usize = 4096;

/// A request of this node waiting for the other nodes' answers.
struct Pending {
    expected: usize,
    responses: Vec<msgpack::Mp>,
    done: Option<oneshot::Sender<()>>,
}

/// Acks of other nodes' sockets one broadcast waits for, at most: a node announcing more
/// (`clientCount`) is not believed past it.
const MAX_REMOTE_ACKS: usize = 1 << 20;

/// A broadcast with acks of this node, gathering what the other nodes' sockets answer.
/// Each node first says how many of its sockets got the packet (`BROADCAST_CLIENT_COUNT`),
/// then forwards their acks one by one (`BROADCAST_ACK`), in that order on the wire.
struct AckGather {
    /// How many other nodes must say their count; None until `PUBSUB NUMSUB` answers.
    nodes_expected: Option<usize>,
    nodes_answered: usize,
    /// The sum of the counts so far.
    clients_expected: usize,
    responses: Vec<AckResponse>,
    done: Option<oneshot::Sender<()>>,
}

impl AckGather {
    fn check(&mut self) {
        let nodes_done = self
            .nodes_expected
            .is_some_and(|n| self.nodes_answered >= n);
        if nodes_done && self.responses.len() >= self.clients_expected {
            if let Some(done) = self.done.take() {
                let _ = done.send(());
            }
        }
    }

    /// What came: one entry per counted socket, a timeout for each that did not answer,
    /// and an error when some nodes never gave their count.
    fn finish(self, error: Option<AdapterError>) -> RemoteAcks {
        let mut responses = self.responses;
        let missing = self.clients_expected.saturating_sub(responses.len());
        responses.extend((0..missing).map(|_| AckResponse {
            socket: None,
            result: Err(AckError::Timeout),
        }));
        let error = error.or(match self.nodes_expected {
            Some(expected) if self.nodes_answered < expected => Some(AdapterError::Timeout {
                answered: self.nodes_answered,
                expected,
            }),
            _ => None,
        });
        RemoteAcks { responses, error }
    }
}

/// Forgets a broadcast with acks when its future goes away, awaited to the end or not.
struct ForgetAck {
    state: Arc<NsState>,
    id: String,
}

impl Drop for ForgetAck {
    fn drop(&mut self) {
        lock(&self.state.acks).remove(&self.id);
    }
}

fn wire_opts(opts: &BroadcastOptions) -> WireOpts {
    WireOpts {
        rooms: opts.rooms.iter().map(|r| r.to_string()).collect(),
        except: opts.except.iter().map(|r| r.to_string()).collect(),
        flags: wire::Flags {
            volatile: opts.volatile,
            ..Default::default()
        },
    }
}

fn local_opts(opts: &WireOpts) -> BroadcastOptions {
    BroadcastOptions {
        rooms: opts.rooms.iter().map(|r| Room::from(r.as_str())).collect(),
        except: opts.except.iter().map(|r| Room::from(r.as_str())).collect(),
        local: true,
        volatile: opts.flags.volatile,
    }
}

impl Adapter for RedisAdapter {
    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        self.state.memory.add_all(sid, rooms)
    }

    fn del(&self, sid: Sid, room: &str) {
        self.state.memory.del(sid, room)
    }

    fn del_all(&self, sid: Sid) {
        self.state.memory.del_all(sid)
    }

    fn rooms_of(&self, sid: Sid) -> Vec<Room> {
        self.state.memory.rooms_of(sid)
    }

    fn rooms(&self) -> Vec<Room> {
        self.state.memory.rooms()
    }

    fn select(&self, opts: &BroadcastOptions, local: &LocalSockets<'_>, f: &mut dyn FnMut(Sid)) {
        self.state.memory.select(opts, local, f)
    }

    fn fetch_remote_sockets(&self, opts: &BroadcastOptions) -> AdapterFuture<Vec<RemoteSocket>> {
        let state = self.state.clone();
        let opts = wire_opts(opts);
        Box::pin(async move { state.fetch_remote(opts).await })
    }

    fn bind(&self, ns: LocalNamespace) {
        let _ = self.state.ns.set(ns);
    }

    fn server_side_emit(&self, data: Vec<Value>) {
        let st = &self.state;
        st.shared.publish(
            st.request_channel.clone(),
            wire::server_side_request(&st.uid, None, &data),
        );
    }

    fn server_side_emit_with_ack(&self, data: Vec<Value>) -> ServerSideFuture {
        let state = self.state.clone();
        Box::pin(async move { state.server_side_with_ack(data).await })
    }

    fn remote_broadcast_with_ack(
        &self,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
        timeout: Option<Duration>,
    ) -> RemoteAcksFuture {
        self.state.clone().broadcast_with_ack(packet, opts, timeout)
    }

    fn remote_rooms(&self) -> AdapterFuture<Vec<Room>> {
        let state = self.state.clone();
        Box::pin(async move { state.remote_rooms().await })
    }

    fn broadcast(
        &self,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
        local: &LocalSockets<'_>,
    ) {
        let st = &self.state;
        if !opts.local {
            match wire::packet_from_broadcast(packet, None) {
                Ok(p) => {
                    let msg = wire::BroadcastMessage {
                        uid: st.uid.clone(),
                        packet: p,
                        opts: wire_opts(opts),
                    };
                    let channel = wire::broadcast_channel(&st.shared.prefix, &st.nsp, &msg.opts);
                    st.shared.publish(channel, wire::encode_broadcast(&msg));
                }
                Err(e) => tracing::warn!(target: LOG, "broadcast not published: {e}"),
            }
        }
        st.memory.broadcast(packet, opts, local);
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room], local: &LocalSockets<'_>) {
        if !opts.local {
            self.state.request(RequestType::RemoteJoin, opts, |r| {
                r["rooms"] = rooms_json(rooms)
            });
        }
        self.state.memory.add_sockets(opts, rooms, local)
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room], local: &LocalSockets<'_>) {
        if !opts.local {
            self.state.request(RequestType::RemoteLeave, opts, |r| {
                r["rooms"] = rooms_json(rooms)
            });
        }
        self.state.memory.del_sockets(opts, rooms, local)
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool, local: &LocalSockets<'_>) {
        if !opts.local {
            self.state
                .request(RequestType::RemoteDisconnect, opts, |r| {
                    r["close"] = close.into()
                });
        }
        self.state.memory.disconnect_sockets(opts, close, local)
    }
}

fn rooms_json(rooms: &[Room]) -> serde_json::Value {
    rooms.iter().map(|r| r.to_string()).collect()
}

impl NsState {
    /// Publishes a fire-and-forget request on a selection of sockets (JSON, as Node does).
    fn request(
        &self,
        kind: RequestType,
        opts: &BroadcastOptions,
        fill: impl FnOnce(&mut serde_json::Value),
    ) {
        let mut req = serde_json::json!({
            "uid": self.uid,
            "type": kind as u8,
            "opts": wire::opts_json(&wire_opts(opts)),
        });
        fill(&mut req);
        self.shared
            .publish(self.request_channel.clone(), req.to_string().into_bytes());
    }

    /// How many nodes serve this namespace, this one included (`PUBSUB NUMSUB` of the
    /// request channel, as Node counts them).
    async fn server_count(&self) -> Result<usize, AdapterError> {
        let conn = read(&self.shared.conn).clone();
        let mut conn =
            conn.ok_or_else(|| AdapterError::Unavailable("not connected to Redis".into()))?;
        let (_, n): (String, usize) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&self.request_channel)
            .query_async(&mut conn)
            .await
            .map_err(|e| AdapterError::Unavailable(e.to_string()))?;
        Ok(n)
    }

    /// Sends a request to every other node and gathers their answers.
    async fn request_all(
        &self,
        kind: RequestType,
        fill: impl FnOnce(&mut serde_json::Value),
    ) -> Result<Vec<msgpack::Mp>, AdapterError> {
        let uid = self.uid.clone();
        let gathered = self
            .gather(move |id| {
                let mut req =
                    serde_json::json!({ "uid": uid, "requestId": id, "type": kind as u8 });
                fill(&mut req);
                req.to_string().into_bytes()
            })
            .await?;
        match gathered {
            Gathered::All(responses) => Ok(responses),
            Gathered::TimedOut {
                responses,
                expected,
            } => Err(AdapterError::Timeout {
                answered: responses.len(),
                expected,
            }),
        }
    }

    /// Publishes the request `make` encodes (given a new request id) to every other node,
    /// and gathers their answers up to the request timeout. No other node: no answers.
    async fn gather(&self, make: impl FnOnce(&str) -> Vec<u8>) -> Result<Gathered, AdapterError> {
        let expected = self.server_count().await?.saturating_sub(1);
        if expected == 0 {
            return Ok(Gathered::All(Vec::new()));
        }
        let id = random_uid();
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = lock(&self.pending);
            if pending.len() >= MAX_PENDING {
                return Err(AdapterError::Unavailable(format!(
                    "too many requests in flight ({MAX_PENDING})"
                )));
            }
            pending.insert(
                id.clone(),
                Pending {
                    expected,
                    responses: Vec::new(),
                    done: Some(tx),
                },
            );
        }
        // A caller that stops waiting (its future dropped) must not leave the entry behind.
        let _forget = ForgetOnDrop {
            pending: &self.pending,
            id: &id,
        };
        self.shared.publish(self.request_channel.clone(), make(&id));
        let answered = tokio::time::timeout(self.shared.request_timeout, rx).await;
        let responses = lock(&self.pending)
            .remove(&id)
            .map(|p| p.responses)
            .unwrap_or_default();
        Ok(match answered {
            Ok(_) => Gathered::All(responses),
            Err(_) => {
                tracing::debug!(target: LOG, answered = responses.len(), expected, "request timed out");
                Gathered::TimedOut {
                    responses,
                    expected,
                }
            }
        })
    }

    /// `serverSideEmit` with acks: one answer (`data`) per other node.
    async fn server_side_with_ack(&self, data: Vec<Value>) -> Result<Vec<Value>, ServerSideError> {
        let uid = self.uid.clone();
        let gathered = self
            .gather(move |id| wire::server_side_request(&uid, Some(id), &data))
            .await?;
        let answers = |responses: Vec<msgpack::Mp>| -> Vec<Value> {
            responses
                .iter()
                .map(|r| r.get("data").map(wire::mp_to_value).unwrap_or_default())
                .collect()
        };
        match gathered {
            Gathered::All(responses) => Ok(answers(responses)),
            Gathered::TimedOut {
                responses,
                expected,
            } => Err(ServerSideError::Timeout {
                responses: answers(responses),
                expected,
            }),
        }
    }

    /// Publishes a broadcast with acks (`BROADCAST` request) at once; the future gathers
    /// the other nodes' counts and acks until all came or `timeout` (else the request
    /// timeout) has passed since the call.
    fn broadcast_with_ack(
        self: Arc<Self>,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
        timeout: Option<Duration>,
    ) -> RemoteAcksFuture {
        let wait = timeout.unwrap_or(self.shared.request_timeout);
        let deadline = tokio::time::Instant::now() + wait;
        let mut wire_packet = match wire::packet_from_broadcast(packet, None) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(target: LOG, "broadcast with acks not published: {e}");
                return Box::pin(std::future::ready(RemoteAcks::default()));
            }
        };
        // Each node numbers the acks of its own sockets.
        wire_packet.id = None;
        let mut opts = wire_opts(opts);
        opts.flags.timeout = Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
        let id = random_uid();
        let (tx, rx) = oneshot::channel();
        {
            let mut acks = lock(&self.acks);
            if acks.len() >= MAX_PENDING {
                let error = AdapterError::Unavailable(format!(
                    "too many broadcasts with acks in flight ({MAX_PENDING})"
                ));
                return Box::pin(std::future::ready(RemoteAcks {
                    responses: Vec::new(),
                    error: Some(error),
                }));
            }
            acks.insert(
                id.clone(),
                AckGather {
                    nodes_expected: None,
                    nodes_answered: 0,
                    clients_expected: 0,
                    responses: Vec::new(),
                    done: Some(tx),
                },
            );
        }
        self.shared.publish(
            self.request_channel.clone(),
            wire::broadcast_ack_request(&self.uid, &id, &wire_packet, &opts),
        );
        let forget = ForgetAck { state: self, id };
        Box::pin(async move {
            let state = &forget.state;
            // Answers may come before the count of nodes: they are kept meanwhile.
            let error = match tokio::time::timeout_at(deadline, state.server_count()).await {
                Ok(Ok(nodes)) => {
                    if let Some(g) = lock(&state.acks).get_mut(&forget.id) {
                        g.nodes_expected = Some(nodes.saturating_sub(1));
                        g.check();
                    }
                    None
                }
                Ok(Err(e)) => Some(e),
                Err(_) => Some(AdapterError::Unavailable(
                    "no answer from Redis to PUBSUB NUMSUB".into(),
                )),
            };
            if error.is_none() {
                let _ = tokio::time::timeout_at(deadline, rx).await;
            }
            match lock(&state.acks).remove(&forget.id) {
                Some(g) => g.finish(error),
                None => RemoteAcks::default(),
            }
        })
    }

    /// An answer to one of this node's broadcasts with acks; false when `id` is not one.
    fn on_ack_response(&self, id: &str, resp: &wire::Request) -> bool {
        let mut acks = lock(&self.acks);
        let Some(g) = acks.get_mut(id) else {
            return false;
        };
        match resp.kind {
            Some(RequestType::BroadcastClientCount) => {
                let count = resp.raw.get("clientCount").and_then(msgpack::Mp::as_u64);
                let count = usize::try_from(count.unwrap_or(0)).unwrap_or(MAX_REMOTE_ACKS);
                g.nodes_answered += 1;
                g.clients_expected = g
                    .clients_expected
                    .saturating_add(count)
                    .min(MAX_REMOTE_ACKS);
            }
            // Counted sockets only: a node answering twice adds nothing.
            Some(RequestType::BroadcastAck) if g.responses.len() < g.clients_expected => {
                let socket = resp
                    .raw
                    .get("sid")
                    .and_then(msgpack::Mp::as_str)
                    .and_then(Sid::parse);
                let result = Args::from_values(&wire::broadcast_ack_args(resp))
                    .map_err(|e| AckError::from(EmitError::from(e)));
                g.responses.push(AckResponse { socket, result });
            }
            _ => {}
        }
        g.check();
        true
    }

    /// The rooms of the other nodes (`ALL_ROOMS` request), each listed once.
    async fn remote_rooms(&self) -> Result<Vec<Room>, AdapterError> {
        let responses = self.request_all(RequestType::AllRooms, |_| {}).await?;
        let mut rooms = HashSet::new();
        for r in &responses {
            if let Some(msgpack::Mp::Array(list)) = r.get("rooms") {
                rooms.extend(list.iter().filter_map(msgpack::Mp::as_str).map(Room::from));
            }
        }
        Ok(rooms.into_iter().collect())
    }

    async fn fetch_remote(&self, opts: WireOpts) -> Result<Vec<RemoteSocket>, AdapterError> {
        let responses = self
            .request_all(RequestType::RemoteFetch, |r| {
                r["opts"] = wire::opts_json(&opts);
            })
            .await?;
        let mut out = Vec::new();
        for r in responses {
            let Some(msgpack::Mp::Array(sockets)) = r.get("sockets") else {
                continue;
            };
            for s in sockets {
                let json = serde_json::to_value(wire::mp_to_value(s)).unwrap_or_default();
                match serde_json::from_value::<RemoteSocket>(json) {
                    Ok(s) => out.push(s),
                    Err(e) => tracing::debug!(target: LOG, "remote socket skipped: {e}"),
                }
            }
        }
        Ok(out)
    }

    /// Another node's broadcast with acks: deliver it here with an ack id of this namespace,
    /// tell the requester how many sockets got it (`BROADCAST_CLIENT_COUNT`, JSON), then
    /// forward each socket's first ack argument (`BROADCAST_ACK`, msgpack) as it comes.
    fn answer_broadcast_with_ack(
        &self,
        request_id: String,
        mut packet: wire::WirePacket,
        opts: &BroadcastOptions,
        timeout_ms: Option<u64>,
    ) {
        let Some(ns) = self.ns.get().and_then(LocalNamespace::inner) else {
            return;
        };
        let id = ns.next_ack_id();
        packet.id = Some(id);
        let bp = match wire::packet_to_broadcast(&packet) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(target: LOG, "broadcast with acks skipped: {e}");
                return;
            }
        };
        let timeout = Duration::from_millis(timeout_ms.unwrap_or(5_000));
        let mut waits = Vec::new();
        {
            let sockets = ns.sockets();
            let local = LocalSockets::new(&sockets);
            self.memory.select(opts, &local, &mut |sid| {
                let Some(s) = local.get(sid) else { return };
                let rx = s.register_ack(id);
                if s.send_packet(&bp.0, opts.volatile).is_ok() {
                    let socket = s.clone();
                    let wait = crate::ack::wait(rx, Some(timeout), move || socket.forget_ack(id));
                    waits.push((sid, wait));
                } else {
                    s.forget_ack(id);
                }
            });
        }
        self.respond(serde_json::json!({
            "type": RequestType::BroadcastClientCount as u8,
            "requestId": request_id,
            "clientCount": waits.len(),
        }));
        for (sid, wait) in waits {
            let shared = self.shared.clone();
            let channel = self.response_channel.clone();
            let request_id = request_id.clone();
            tokio::spawn(async move {
                let Ok(args) = wait.await else { return };
                let values = args.values().unwrap_or_default();
                let msg = wire::broadcast_ack_response(&request_id, sid.as_str(), &values);
                shared.publish(channel, msg);
            });
        }
    }

    /// Another node's `serverSideEmit`: this namespace's server-side handlers get it; with a
    /// request id, the first ack of any of them goes back (`SERVER_SIDE_EMIT` response).
    fn answer_server_side(&self, req: &wire::Request) {
        let Some(data) = wire::server_side_data(req) else {
            if self.shared.throttle.allow(2) {
                tracing::warn!(target: LOG, nsp = %self.nsp, "server-side event without an event name skipped");
            }
            return;
        };
        let Some(ns) = self.ns.get() else { return };
        let ack = req.request_id.clone().map(|id| {
            let shared = self.shared.clone();
            let channel = self.response_channel.clone();
            ServerSideAck::new(move |value| {
                shared.publish(channel, wire::server_side_response(&id, &value));
            })
        });
        if ns.server_side_event(&data, ack) == 0 {
            tracing::debug!(target: LOG, nsp = %self.nsp, "server-side event without a handler");
        }
    }

    /// An answer to one of this node's requests.
    fn on_response(&self, payload: &[u8]) {
        let resp = match wire::decode_request(payload) {
            Ok(r) => r,
            Err(e) => {
                if self.shared.throttle.allow(2) {
                    tracing::warn!(target: LOG, len = payload.len(), "malformed response skipped: {e}");
                }
                return;
            }
        };
        let Some(id) = resp.request_id.as_deref() else {
            return;
        };
        if self.on_ack_response(id, &resp) {
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
        p.responses.push(resp.raw);
        if p.responses.len() >= p.expected {
            if let Some(done) = p.done.take() {
                let _ = done.send(());
            }
        }
    }

    fn respond(&self, response: serde_json::Value) {
        self.shared.publish(
            self.response_channel.clone(),
            response.to_string().into_bytes(),
        );
    }

    fn with_local<R>(&self, f: impl FnOnce(&LocalSockets<'_>) -> R) -> Option<R> {
        self.ns.get()?.with_sockets(f)
    }

    /// A message on `prefix#nsp#…`.
    fn on_broadcast(&self, channel: &str, payload: &[u8]) {
        if !channel.starts_with(&self.channel) {
            return;
        }
        let msg = match wire::decode_broadcast(payload) {
            Ok(m) => m,
            Err(e) => {
                if self.shared.throttle.allow(1) {
                    tracing::warn!(target: LOG, channel, "malformed broadcast skipped: {e}");
                }
                return;
            }
        };
        if msg.uid == self.uid || msg.packet.nsp != self.nsp {
            return;
        }
        let packet = match wire::packet_to_broadcast(&msg.packet) {
            Ok(p) => p,
            Err(e) => {
                if self.shared.throttle.allow(1) {
                    tracing::warn!(target: LOG, channel, "broadcast skipped: {e}");
                }
                return;
            }
        };
        let opts = local_opts(&msg.opts);
        self.with_local(|local| self.memory.broadcast(&packet, &opts, local));
    }

    /// A message on the request or response channels.
    fn on_request(&self, channel: &str, payload: &[u8]) {
        if channel.starts_with(&self.response_channel) {
            self.on_response(payload);
            return;
        }
        let req = match wire::decode_request(payload) {
            Ok(r) => r,
            Err(e) => {
                if self.shared.throttle.allow(2) {
                    tracing::warn!(target: LOG, channel, "malformed request skipped: {e}");
                }
                return;
            }
        };
        if req.uid.as_deref() == Some(self.uid.as_str()) {
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
        match kind {
            RequestType::RemoteJoin if req.opts.is_some() => {
                self.with_local(|l| self.memory.add_sockets(&opts, &rooms, l));
            }
            RequestType::RemoteLeave if req.opts.is_some() => {
                self.with_local(|l| self.memory.del_sockets(&opts, &rooms, l));
            }
            RequestType::RemoteDisconnect if req.opts.is_some() => {
                // Disconnecting removes sockets from the namespace: act on a snapshot.
                let snapshot = self.ns.get().and_then(LocalNamespace::snapshot);
                if let Some(sockets) = snapshot {
                    let local = LocalSockets::new(&sockets);
                    self.memory.disconnect_sockets(&opts, req.close, &local);
                }
            }
            RequestType::Broadcast => {
                if let (Some(id), Some(packet)) = (req.request_id, req.packet) {
                    let timeout = req.opts.as_ref().and_then(|o| o.flags.timeout);
                    self.answer_broadcast_with_ack(id, packet, &opts, timeout);
                }
            }
            RequestType::ServerSideEmit => self.answer_server_side(&req),
            RequestType::AllRooms => {
                let Some(id) = req.request_id else { return };
                let mut rooms: Vec<String> =
                    self.memory.rooms().iter().map(|r| r.to_string()).collect();
                self.with_local(|l| rooms.extend(l.ids().map(|s| s.as_str().to_owned())));
                self.respond(serde_json::json!({ "requestId": id, "rooms": rooms }));
            }
            RequestType::RemoteFetch => {
                let Some(id) = req.request_id else { return };
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
                self.respond(serde_json::json!({ "requestId": id, "sockets": sockets }));
            }
            RequestType::Sockets => {
                let Some(id) = req.request_id else { return };
                let ids = self
                    .with_local(|l| {
                        let mut out = Vec::new();
                        self.memory
                            .select(&opts, l, &mut |sid| out.push(sid.as_str().to_owned()));
                        out
                    })
                    .unwrap_or_default();
                self.respond(serde_json::json!({ "requestId": id, "sockets": ids }));
            }
            _ => {
                tracing::debug!(target: LOG, ?kind, "request type not handled");
            }
        }
    }
}

/// A socket as a `fetchSockets` response describes it (Node's `RemoteSocket` fields).
fn socket_json(s: &crate::Socket) -> serde_json::Value {
    let hs = s.handshake();
    let mut headers = serde_json::Map::new();
    for (k, v) in hs.headers() {
        if let Ok(v) = v.to_str() {
            headers.insert(k.as_str().to_owned(), v.into());
        }
    }
    let issued = hs
        .issued()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let query: serde_json::Map<String, serde_json::Value> = hs
        .query_pairs()
        .into_iter()
        .map(|(k, v)| (k, v.into()))
        .collect();
    let auth: serde_json::Value =
        serde_json::from_str(hs.auth_raw()).unwrap_or_else(|_| serde_json::json!({}));
    let mut rooms = vec![s.id().as_str().to_owned()];
    rooms.extend(s.rooms().iter().map(|r| r.to_string()));
    let time = wire::mp_to_value(&msgpack::Mp::Date(issued as f64));
    serde_json::json!({
        "id": s.id().as_str(),
        "handshake": {
            "headers": headers,
            "time": serde_json::to_value(&time).unwrap_or_default(),
            "address": "",
            "xdomain": hs.headers().contains_key(http::header::ORIGIN),
            "secure": false,
            "issued": issued,
            "url": hs.url().to_string(),
            "query": query,
            "auth": auth,
        },
        "rooms": rooms,
        "data": {},
    })
}

/// 6 characters as `uid2(6)` makes them.
fn random_uid() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..6)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

fn lock<T>(l: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    l.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

/// Backoff before reconnect attempt `n` (from 0): 100 ms doubling, at most 5 s.
fn backoff(n: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << n.min(6)).min(5000))
}

/// At most one log line a second per kind.
#[derive(Default)]
struct Throttle {
    last: [AtomicU64; 4],
}

impl Throttle {
    fn allow(&self, kind: usize) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let Some(last) = self.last.get(kind) else {
            return true;
        };
        last.swap(now, Ordering::Relaxed) != now
    }
}

/// Publishes queued messages. While Redis is unreachable, messages are dropped (counted
/// and logged), and connecting again is tried with backoff.
async fn publisher(
    client: redis::Client,
    mut rx: mpsc::Receiver<(String, Vec<u8>)>,
    shared: Weak<Shared>,
) {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_secs(1)))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_secs(1));
    let mut conn: Option<redis::aio::ConnectionManager> = None;
    let mut failures = 0u32;
    let mut next_try = Instant::now();
    let mut errors = 0u64;
    let mut first = true;
    loop {
        // The first connection is made at once, for requests that need it before any publish.
        let next = if first {
            first = false;
            None
        } else {
            match rx.recv().await {
                Some(m) => Some(m),
                None => return,
            }
        };
        if conn.is_none() && Instant::now() >= next_try {
            match tokio::time::timeout(
                Duration::from_secs(2),
                client.get_connection_manager_with_config(config.clone()),
            )
            .await
            {
                Ok(Ok(c)) => {
                    if failures > 0 {
                        tracing::info!(target: LOG, "redis publisher connected");
                    }
                    if let Some(sh) = shared.upgrade() {
                        *write(&sh.conn) = Some(c.clone());
                    }
                    conn = Some(c);
                    failures = 0;
                }
                Ok(Err(e)) => {
                    tracing::warn!(target: LOG, "redis publisher cannot connect: {e}");
                    next_try = Instant::now() + backoff(failures);
                    failures += 1;
                }
                Err(_) => {
                    tracing::warn!(target: LOG, "redis publisher: connection timed out");
                    next_try = Instant::now() + backoff(failures);
                    failures += 1;
                }
            }
        }
        let Some(first) = next else {
            continue;
        };
        // What queued up meanwhile goes in the same write: one round trip, and one read for
        // Redis, instead of one per message.
        let mut pipe = redis::pipe();
        let mut count = 0u64;
        for (channel, payload) in
            std::iter::once(first).chain(std::iter::from_fn(|| rx.try_recv().ok()).take(MAX_BATCH))
        {
            pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
            count += 1;
        }
        let sent = match conn.as_mut() {
            Some(c) => pipe.query_async::<()>(c).await,
            None => Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "not connected",
            ))),
        };
        if let Err(e) = sent {
            if let Some(sh) = shared.upgrade() {
                sh.dropped.fetch_add(count, Ordering::Relaxed);
            }
            errors += 1;
            if errors.is_power_of_two() {
                tracing::warn!(target: LOG, errors, count, "redis publish failed, messages dropped: {e}");
            }
        }
    }
}

/// Queued messages published in one pipeline, at most (after the first).
const MAX_BATCH: usize = 127;

/// Subscribes to every namespace's channels and dispatches what arrives; reconnects with
/// backoff and subscribes again when the connection is lost. Ends when the cluster is gone.
async fn subscriber(client: redis::Client, shared: Weak<Shared>) {
    let mut failures = 0u32;
    loop {
        if shared.strong_count() == 0 {
            return;
        }
        match tokio::time::timeout(Duration::from_secs(2), client.get_async_pubsub()).await {
            Ok(Ok(pubsub)) => {
                let (mut sink, mut stream) = pubsub.split();
                let mut subscribed = HashSet::new();
                if let Err(e) = sync_subscriptions(&shared, &mut sink, &mut subscribed).await {
                    tracing::warn!(target: LOG, "redis subscribe failed: {e}");
                } else {
                    if failures > 0 {
                        tracing::info!(target: LOG, "redis subscriber reconnected and resubscribed");
                    }
                    failures = 0;
                    loop {
                        let Some(sh) = shared.upgrade() else { return };
                        // Held during the wait: the cluster lives as long as its server.
                        let changed = sh.changed.notified();
                        tokio::select! {
                            msg = stream.next() => match msg {
                                Some(msg) => dispatch(&shared, &msg),
                                None => {
                                    tracing::warn!(target: LOG, "redis subscriber connection lost");
                                    break;
                                }
                            },
                            () = changed => {
                                if let Err(e) = sync_subscriptions(&shared, &mut sink, &mut subscribed).await {
                                    tracing::warn!(target: LOG, "redis subscribe failed: {e}");
                                    break;
                                }
                            }
                        }
                    }
                }
            }
            Ok(Err(e)) => {
                if failures == 0 || failures.is_power_of_two() {
                    tracing::warn!(target: LOG, failures, "redis unreachable: {e}");
                }
            }
            Err(_) => tracing::warn!(target: LOG, "redis subscriber: connection timed out"),
        }
        tokio::time::sleep(backoff(failures)).await;
        failures = failures.saturating_add(1);
    }
}

/// Subscribes to what is registered and not yet subscribed on this connection.
async fn sync_subscriptions(
    shared: &Weak<Shared>,
    sink: &mut redis::aio::PubSubSink,
    subscribed: &mut HashSet<String>,
) -> redis::RedisResult<()> {
    let Some(sh) = shared.upgrade() else {
        return Ok(());
    };
    let patterns: Vec<String> = read(&sh.patterns)
        .keys()
        .filter(|p| !subscribed.contains(*p))
        .cloned()
        .collect();
    let channels: Vec<String> = read(&sh.channels)
        .keys()
        .filter(|c| !subscribed.contains(*c))
        .cloned()
        .collect();
    drop(sh);
    if !patterns.is_empty() {
        sink.psubscribe(&patterns).await?;
    }
    if !channels.is_empty() {
        sink.subscribe(&channels).await?;
    }
    subscribed.extend(patterns);
    subscribed.extend(channels);
    Ok(())
}

fn dispatch(shared: &Weak<Shared>, msg: &redis::Msg) {
    let Some(sh) = shared.upgrade() else { return };
    let channel = msg.get_channel_name();
    let payload = msg.get_payload_bytes();
    if msg.from_pattern() {
        let pattern: String = msg.get_pattern().unwrap_or_default();
        let ns = read(&sh.patterns).get(&pattern).and_then(Weak::upgrade);
        if let Some(ns) = ns {
            ns.on_broadcast(channel, payload);
        }
    } else {
        let ns = read(&sh.channels).get(channel).and_then(Weak::upgrade);
        if let Some(ns) = ns {
            ns.on_request(channel, payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_and_backoff() {
        let uid = random_uid();
        assert_eq!(uid.len(), 6);
        assert!(uid.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(backoff(0), Duration::from_millis(100));
        assert_eq!(backoff(3), Duration::from_millis(800));
        assert_eq!(backoff(30), Duration::from_secs(5));
    }

    #[test]
    fn options_both_ways() {
        let opts = BroadcastOptions {
            rooms: [Room::from("a")].into_iter().collect(),
            except: [Room::from("b")].into_iter().collect(),
            local: false,
            volatile: true,
        };
        let w = wire_opts(&opts);
        assert_eq!(w.rooms, ["a"]);
        assert!(w.flags.volatile);
        let back = local_opts(&w);
        assert!(back.local, "remote broadcasts are delivered here only");
        assert_eq!(&back.except[..], &[Room::from("b")]);
    }
}
