//! A cluster over Redis that speaks the wire format of Node's `@socket.io/redis-adapter` 8,
//! in both its modes (classic `PUBLISH`, `createAdapter`; sharded `SPUBLISH`,
//! `createShardedAdapter`), or that of `@socket.io/redis-streams-adapter` 0.3 (a Redis
//! stream, with connection state recovery across the nodes: [`RedisConfig::streams`]), so
//! sio nodes and Node `socket.io` nodes on the same Redis form one cluster.
//!
//! # Design
//!
//! The classic format, as read in `@socket.io/redis-adapter` 8.3 (`lib/index.ts`) and
//! checked against bytes it publishes (`cluster/tests/fixtures/redis-adapter.json`, written
//! by `tests/cluster/make-fixtures.mjs`):
//!
//! - each namespace's adapter has a node uid of 6 random characters; with the key prefix
//!   (`socket.io` by default) it uses the channels `prefix#nsp#` (broadcasts, and
//!   `prefix#nsp#room#` for a broadcast to exactly one room; everything is received through
//!   the pattern `prefix#nsp#*`), `prefix-request#nsp#`, `prefix-response#nsp#` and
//!   `prefix-response#nsp#uid#`;
//! - a broadcast is the msgpack (notepack.io) array `[uid, packet, opts]`: see [`wire`];
//! - requests and responses are JSON objects, or msgpack maps when they carry binary.
//!
//! The sharded format ([`RedisConfig::sharded`], Redis 7) is socket.io-adapter's
//! `ClusterAdapter` over `SPUBLISH`: every message is `{type, data, uid, nsp}` on
//! `prefix#nsp#` (answers on the requester's `prefix#nsp#uid#`; in the dynamic
//! [`SubscriptionMode`]s, broadcasts to one room on `prefix#nsp#room#`, which a node
//! subscribes to while the room has members there), node uids are 16 hex digits, and
//! `PUBSUB SHARDNUMSUB` counts the nodes: see [`sharded`]
//! (`cluster/tests/fixtures/redis-sharded-adapter.json`). Incoming messages of both formats
//! are read into the same shapes, and [`format`] writes each outgoing one in the cluster's
//! format, so everything below holds in both modes, but for `allRooms`, which the sharded
//! protocol lacks ([`AdapterError::Unsupported`]).
//!
//! The streams mode ([`RedisConfig::streams`]) sends the sharded mode's messages, but
//! broadcasts and room operations go to a stream that every node reads (a third connection,
//! blocked in `XREAD`), the rest over classic pub/sub in msgpack; with recovery on, offsets
//! are the stream's entry ids and sessions are Redis keys. The format and its bounds are in
//! the `streams` module (`server/src/adapter/redis/streams.rs`).
//!
//! In this crate a [`RedisCluster`] owns two Redis connections shared by every namespace:
//! a publisher (fed through a bounded queue) and a subscriber (one task that dispatches each
//! message to the namespace whose channel it is on; in the sharded mode a RESP3 connection,
//! as the `redis` crate's pub/sub connection has no `SSUBSCRIBE`). Each namespace's [`RedisAdapter`] wraps
//! a [`MemoryAdapter`]: it does every local operation there, and publishes what is not
//! `local`. A message from another node is decoded and delivered to this node's sockets
//! through the [`LocalNamespace`] handle the namespace gives its adapter.
//!
//! # What works
//!
//! Broadcasts both ways (rooms, except, binary, volatile, namespaces; `local` stays here),
//! `sockets_join` / `sockets_leave` / `disconnect_sockets` on every node,
//! [`fetch_remote_sockets`](sio_server::BroadcastOperator::fetch_remote_sockets) (a
//! `REMOTE_FETCH` request; `PUBSUB NUMSUB` of the request channel says how many nodes must
//! answer, [`RedisConfig::request_timeout`] how long to wait), and answers to other nodes'
//! `fetchSockets`, `allRooms`, `socketsJoin` / `socketsLeave` / `disconnectSockets` and
//! broadcasts with acks (this node's sockets get the packet, the requester gets their count
//! and each ack).
//!
//! Server-side events both ways: [`server_side_emit`](sio_server::Namespace::server_side_emit)
//! publishes a `SERVER_SIDE_EMIT` request (type 6, `{uid, type, data: [event, ...args]}`,
//! JSON, or msgpack when an argument is binary) that every other node's handlers get
//! ([`on_server_side`](sio_server::Namespace::on_server_side) here, `io.of(nsp).on(event)` in
//! Node); [`server_side_emit_with_ack`](sio_server::Namespace::server_side_emit_with_ack) adds a
//! `requestId` and gathers one `{type: 6, requestId, data}` response per other node (counted
//! with `PUBSUB NUMSUB`) up to [`RedisConfig::request_timeout`], else fails with Node's
//! `timeout reached: only N responses received out of M` and the answers that came. Other
//! nodes' `serverSideEmit` reach this node's handlers, and the first ack of any of them is
//! this node's response; a node whose handlers do not ack makes the sender time out, as in
//! Node.
//!
//! Broadcasts with acks both ways: [`emit_with_ack`](sio_server::BroadcastOperator::emit_with_ack)
//! publishes a `BROADCAST` request (type 7, msgpack, the packet without an ack id: each node
//! numbers its own). Every other node answers with how many of its sockets got the packet
//! (`BROADCAST_CLIENT_COUNT`), then one `BROADCAST_ACK` per ack; the emitter waits until
//! every node (counted with `PUBSUB NUMSUB`) has given its count and every counted socket
//! has answered, or the broadcast's timeout (else [`RedisConfig::request_timeout`]) passes.
//! Counted sockets that did not answer are timeouts; nodes that gave no count make the
//! result a [`BroadcastAckError::Cluster`](sio_server::BroadcastAckError::Cluster) that keeps the
//! answers that came. Node's answers carry the ack's first argument only and name no
//! socket; sio's add the socket id and every argument (fields Node ignores, see
//! [`wire::broadcast_ack_response`]).
//!
//! [`all_rooms`](sio_server::Namespace::all_rooms) sends an `ALL_ROOMS` request (type 1) and
//! merges the answers with this node's rooms.
//!
//! Both modes work on one Redis server and on a Redis Cluster ([`RedisConfig::redis_cluster`]):
//! there, each command and shard channel goes to the node that owns its slot, and node
//! counts add up every Redis node's subscribers, as Node's adapter does with a cluster
//! client.
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
//! use sio_cluster::redis::{RedisCluster, RedisConfig};
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
//!
//! The sharded mode, with Node's default subscription mode:
//!
//! ```no_run
//! use sio_cluster::redis::{RedisCluster, RedisConfig, SubscriptionMode};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = RedisConfig::new("redis://127.0.0.1:6379/").sharded(SubscriptionMode::Dynamic);
//! let cluster = RedisCluster::new(config)?;
//! # let _ = cluster;
//! # Ok(())
//! # }
//! ```

mod connection;
mod format;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod incoming;
pub mod msgpack;
pub mod sharded;
mod streams;
pub mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};

use connection::{Conn, Target, Throttle, publisher, subscriber};
use format::{Answer, Ask, Format, Out};
use sio_protocol::json::Value;
use sio_server::AckResponse;
use sio_server::Args;
use sio_server::ServerSideError;
use sio_server::Sid;
use sio_server::adapter::{
    Adapter, AdapterError, AdapterFuture, BroadcastOptions, BroadcastPacket, LocalNamespace,
    LocalSockets, MemoryAdapter, RemoteAcks, RemoteAcksFuture, RemoteSocket, Room,
    ServerSideFuture,
};
use sio_server::recovery::{RestoredSession, SessionState};
use sio_server::{AckError, EmitError};
pub use streams::StreamsConfig;
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

/// Which Redis pub/sub the cluster uses: the two factories of the Node adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PubSubMode {
    /// `PUBLISH` / `SUBSCRIBE` (`createAdapter`): any Redis.
    #[default]
    Classic,
    /// `SPUBLISH` / `SSUBSCRIBE` (`createShardedAdapter`): Redis 7 or later.
    Sharded(SubscriptionMode),
    /// A Redis stream, plus `PUBLISH` / `SUBSCRIBE` for what needs no replay
    /// (`@socket.io/redis-streams-adapter`), with connection state recovery across the
    /// nodes: Redis 5 or later. See [`RedisConfig::streams`].
    Streams,
}

/// Which channels a node subscribes to in the sharded mode (`subscriptionMode` of
/// `createShardedAdapter`): every node of a cluster must use the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubscriptionMode {
    /// Only the namespace's channel: every broadcast reaches every node.
    Static,
    /// Also one channel per room with members on this node (not socket ids): a broadcast
    /// to one room reaches only the nodes that have it (Node's default).
    #[default]
    Dynamic,
    /// As `Dynamic`, with a channel for each socket id too.
    DynamicPrivate,
}

/// How the Redis servers are deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Topology {
    /// One server (the URL's).
    #[default]
    Standalone,
    /// A Redis Cluster: the URL is one of its nodes, the others are found from it. Each
    /// command and shard channel goes to the node that owns its slot, and nodes are counted
    /// on every node, as Node's adapter does with a cluster client.
    Cluster,
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
    /// Classic (default) or sharded pub/sub, or Redis Streams.
    pub mode: PubSubMode,
    /// One server (default) or a Redis Cluster.
    pub topology: Topology,
    /// The stream and session keys of the streams mode.
    pub streams: StreamsConfig,
}

impl RedisConfig {
    /// The defaults of the Node adapter, on `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: "socket.io".into(),
            queue_capacity: 4096,
            request_timeout: Duration::from_secs(5),
            mode: PubSubMode::Classic,
            topology: Topology::Standalone,
            streams: StreamsConfig::default(),
        }
    }

    /// Connects to a Redis Cluster, of which the URL is one node.
    pub fn redis_cluster(mut self) -> Self {
        self.topology = Topology::Cluster;
        self
    }

    /// Selects the sharded mode (`SPUBLISH`, Redis 7), as Node's `createShardedAdapter`.
    pub fn sharded(mut self, subscription: SubscriptionMode) -> Self {
        self.mode = PubSubMode::Sharded(subscription);
        self
    }

    /// Selects the Redis Streams mode, as Node's `@socket.io/redis-streams-adapter` 0.3
    /// (its `streamName`, `maxLen`, … in [`RedisConfig::streams`]): broadcasts go through a
    /// stream every node reads, and connection state recovery
    /// ([`SocketIoBuilder::connection_state_recovery`](sio_server::SocketIoBuilder::connection_state_recovery))
    /// works across the nodes: a socket cut off on one node recovers on any other, with
    /// the events it missed.
    ///
    /// ```no_run
    /// use sio_cluster::redis::{RedisCluster, RedisConfig};
    /// use sio_server::{RecoveryConfig, SocketIo};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let cluster = RedisCluster::new(RedisConfig::new("redis://127.0.0.1:6379/").streams())?;
    /// let (layer, io) = SocketIo::builder()
    ///     .connection_state_recovery(RecoveryConfig::default())
    ///     .adapter(move |nsp| cluster.adapter(nsp))
    ///     .build_layer();
    /// # let _ = (layer, io);
    /// # Ok(())
    /// # }
    /// ```
    pub fn streams(mut self) -> Self {
        self.mode = PubSubMode::Streams;
        self
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
            .field("mode", &self.0.mode)
            .finish()
    }
}

struct Shared {
    prefix: String,
    mode: PubSubMode,
    request_timeout: Duration,
    /// The publisher's connection once it is up, for commands with an answer.
    conn: RwLock<Option<Conn>>,
    publish: mpsc::Sender<Out>,
    streams: StreamsConfig,
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
        let target = Target {
            url: config.url,
            topology: config.topology,
        };
        target.check()?;
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| RedisAdapterError::NoRuntime)?;
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let shared = Arc::new(Shared {
            prefix: config.prefix,
            mode: config.mode,
            request_timeout: config.request_timeout,
            conn: RwLock::new(None),
            publish: tx,
            streams: config.streams.clone(),
            patterns: RwLock::default(),
            channels: RwLock::default(),
            changed: Notify::new(),
            dropped: AtomicU64::new(0),
            throttle: Throttle::default(),
        });
        if config.mode == PubSubMode::Streams {
            let reader = streams::reader(
                target.clone(),
                config.streams.clone(),
                Arc::downgrade(&shared),
            );
            runtime.spawn(reader);
        }
        let publisher = publisher(
            target.clone(),
            config.mode,
            config.streams,
            rx,
            Arc::downgrade(&shared),
        );
        runtime.spawn(publisher);
        runtime.spawn(subscriber(target, config.mode, Arc::downgrade(&shared)));
        Ok(Self(shared))
    }

    /// The adapter of namespace `nsp`: pass `move |nsp| cluster.adapter(nsp)` to
    /// [`SocketIoBuilder::adapter`](sio_server::SocketIoBuilder::adapter).
    pub fn adapter(&self, nsp: &str) -> RedisAdapter {
        let format = Format::new(&self.0.prefix, nsp, self.0.mode);
        let (patterns, channels) = format.subscriptions();
        let state = Arc::new(NsState {
            memory: MemoryAdapter::new(),
            format,
            shared: self.0.clone(),
            ns: OnceLock::new(),
            pending: Mutex::new(HashMap::new()),
            acks: Mutex::new(HashMap::new()),
        });
        let weak = Arc::downgrade(&state);
        write(&self.0.patterns).extend(patterns.into_iter().map(|p| (p, weak.clone())));
        write(&self.0.channels).extend(channels.into_iter().map(|c| (c, weak.clone())));
        self.0.changed.notify_one();
        RedisAdapter { state }
    }

    /// Messages not sent to the other nodes so far (queue full or Redis unreachable).
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }
}

impl Shared {
    fn publish(&self, out: Out) {
        if let Err(e) = self.publish.try_send(out) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            if self.throttle.allow(0) {
                tracing::warn!(target: LOG, "redis publish queue full: message dropped");
            }
            // An event waiting for its stream id is still delivered here, without one.
            if let Out::Append(_, Some(then)) = e.into_inner() {
                then(None);
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
            .field("nsp", &self.state.format.nsp)
            .field("uid", &self.state.format.uid)
            .finish()
    }
}

impl RedisAdapter {
    /// This node's uid in the namespace, as in Node: 6 characters in the classic mode, 16
    /// hex digits in the sharded and streams ones.
    pub fn uid(&self) -> &str {
        &self.state.format.uid
    }
}

struct NsState {
    memory: MemoryAdapter,
    format: Format,
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
        self.state.add_all(sid, rooms);
    }

    fn del(&self, sid: Sid, room: &str) {
        self.state.del(sid, room);
    }

    fn del_all(&self, sid: Sid) {
        self.state.del_all(sid);
    }

    fn add_socket(&self, sid: Sid) {
        self.state.room_subscription(sid.as_str(), true, true);
    }

    fn rooms_of(&self, sid: Sid) -> Vec<Room> {
        self.state.memory.rooms_of(sid)
    }

    fn rooms(&self) -> Vec<Room> {
        self.state.memory.rooms()
    }

    fn room_count(&self) -> usize {
        self.state.memory.room_count()
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

    fn close(&self) {
        let mine = Arc::downgrade(&self.state);
        write(&self.state.shared.patterns).retain(|_, ns| !ns.ptr_eq(&mine));
        write(&self.state.shared.channels).retain(|_, ns| !ns.ptr_eq(&mine));
        // The subscriber unsubscribes from what is no longer listed.
        self.state.shared.changed.notify_one();
    }

    fn server_side_emit(&self, data: Vec<Value>) {
        self.state.send(&Ask::ServerSide(&data), None);
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

    fn remote_broadcast(&self, packet: &BroadcastPacket, opts: &BroadcastOptions) {
        let st = &self.state;
        match wire::packet_from_broadcast(packet) {
            Ok(p) => st
                .shared
                .publish(st.format.broadcast(&p, &wire_opts(opts), None)),
            Err(e) => tracing::warn!(target: LOG, "broadcast not published: {e}"),
        }
    }

    fn append_broadcast(
        &self,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
        deliver: &mut dyn FnMut() -> sio_server::adapter::Deliver,
    ) -> bool {
        let st = &self.state;
        if st.format.mode != PubSubMode::Streams {
            return false;
        }
        match wire::packet_from_broadcast(packet) {
            Ok(p) => st
                .shared
                .publish(st.format.broadcast(&p, &wire_opts(opts), Some(deliver()))),
            Err(e) => {
                tracing::warn!(target: LOG, "broadcast not appended: {e}");
                deliver()(None);
            }
        }
        true
    }

    fn persist_session(&self, session: SessionState) {
        let st = &self.state;
        let max = st.recovery().map(|r| r.max_disconnection_duration);
        let (PubSubMode::Streams, Some(max)) = (st.format.mode, max) else {
            return;
        };
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!(
            "{}{}",
            st.shared.streams.session_prefix, session.pid
        ))
        .arg(streams::encode_session(&session))
        .arg("PX")
        .arg(u64::try_from(max.as_millis()).unwrap_or(u64::MAX).max(1));
        st.shared.publish(Out::Command(cmd));
    }

    fn restore_session(&self, pid: &str, offset: &str) -> AdapterFuture<Option<RestoredSession>> {
        if self.state.format.mode != PubSubMode::Streams {
            return Box::pin(std::future::ready(Ok(None)));
        }
        let state = self.state.clone();
        let (pid, offset) = (pid.to_owned(), offset.to_owned());
        Box::pin(async move {
            let conn = read(&state.shared.conn).clone();
            let mut conn =
                conn.ok_or_else(|| AdapterError::Unavailable("not connected to Redis".into()))?;
            let nsp = &state.format.nsp;
            streams::restore(&mut conn, &state.shared.streams, nsp, &pid, &offset)
                .await
                .map_err(|e| AdapterError::Unavailable(e.to_string()))
        })
    }

    fn remote_add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.state.send(&Ask::Join(&wire_opts(opts), rooms), None);
    }

    fn remote_del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.state.send(&Ask::Leave(&wire_opts(opts), rooms), None);
    }

    fn remote_disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        self.state
            .send(&Ask::Disconnect(&wire_opts(opts), close), None);
    }
}

impl NsState {
    /// Publishes a request in the cluster's format (unless the format has none such).
    fn send(&self, ask: &Ask<'_>, request_id: Option<&str>) {
        if let Some(out) = self.format.ask(ask, request_id) {
            self.shared.publish(out);
        }
    }

    /// The namespace's recovery settings, when it has recovery on.
    fn recovery(&self) -> Option<sio_server::RecoveryConfig> {
        self.ns.get()?.recovery()
    }

    /// Publishes an answer to another node's request.
    fn answer(&self, requester: Option<&str>, request_id: &str, answer: Answer<'_>) {
        match self.format.answer(requester, request_id, answer) {
            Some(out) => self.shared.publish(out),
            None => tracing::debug!(target: LOG, "a request that this mode does not answer"),
        }
    }

    /// Adds socket `sid` to `rooms`; in the sharded dynamic modes, a room new on this node
    /// gets its channel subscribed.
    fn add_all(self: &Arc<Self>, sid: Sid, rooms: &[Room]) {
        self.memory.add_all_tracked(sid, rooms, &mut |room| {
            self.room_subscription(room, false, true)
        });
    }

    fn del(self: &Arc<Self>, sid: Sid, room: &str) {
        self.memory.del_tracked(sid, room, &mut |room| {
            self.room_subscription(room, false, false)
        });
    }

    fn del_all(self: &Arc<Self>, sid: Sid) {
        self.memory
            .del_all_tracked(sid, &mut |room| self.room_subscription(room, false, false));
        self.room_subscription(sid.as_str(), true, false);
    }

    /// Subscribes to (`add`) or unsubscribes from the channel of `room` when the sharded
    /// dynamic modes listen to it; `private` says whether it is a socket's own-id room.
    fn room_subscription(self: &Arc<Self>, room: &str, private: bool, add: bool) {
        let Some(channel) = self.format.room_subscription(room, private) else {
            return;
        };
        let mut channels = write(&self.shared.channels);
        if add {
            channels.insert(channel, Arc::downgrade(self));
        } else {
            channels.remove(&channel);
        }
        drop(channels);
        self.shared.changed.notify_one();
    }

    /// How many nodes serve this namespace, this one included (`PUBSUB NUMSUB` of the
    /// request channel, or `SHARDNUMSUB` of the namespace's channel, as Node counts them).
    async fn server_count(&self) -> Result<usize, AdapterError> {
        let conn = read(&self.shared.conn).clone();
        let mut conn =
            conn.ok_or_else(|| AdapterError::Unavailable("not connected to Redis".into()))?;
        let (sub, channel) = self.format.server_count_query();
        let counts: Vec<(String, usize)> = redis::cmd("PUBSUB")
            .arg(sub)
            .arg(channel)
            .query_async(&mut conn)
            .await
            .map_err(|e| AdapterError::Unavailable(e.to_string()))?;
        Ok(counts.first().map_or(0, |(_, n)| *n))
    }

    /// Sends a request to every other node and gathers their answers.
    async fn request_all(&self, ask: Ask<'_>) -> Result<Vec<msgpack::Mp>, AdapterError> {
        match self.gather(ask).await? {
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

    /// Publishes `ask` with a new request id to every other node, and gathers their answers
    /// up to the request timeout. No other node: no answers.
    async fn gather(&self, ask: Ask<'_>) -> Result<Gathered, AdapterError> {
        let expected = self.server_count().await?.saturating_sub(1);
        if expected == 0 {
            return Ok(Gathered::All(Vec::new()));
        }
        let id = self.format.request_id();
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
        self.send(&ask, Some(&id));
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
        let gathered = self.gather(Ask::ServerSide(&data)).await?;
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
        let wire_packet = match wire::packet_from_broadcast(packet) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(target: LOG, "broadcast with acks not published: {e}");
                return Box::pin(std::future::ready(RemoteAcks::default()));
            }
        };
        let mut opts = wire_opts(opts);
        opts.flags.timeout = Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
        let id = self.format.request_id();
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
        self.send(&Ask::BroadcastWithAck(&wire_packet, &opts), Some(&id));
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
                Err(_) => Some(AdapterError::Unavailable(format!(
                    "no answer from Redis to PUBSUB {} in time",
                    state.format.server_count_query().0
                ))),
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
                g.responses.push(ack_response(resp));
            }
            _ => {}
        }
        g.check();
        true
    }

    /// The rooms of the other nodes (`ALL_ROOMS` request), each listed once.
    async fn remote_rooms(&self) -> Result<Vec<Room>, AdapterError> {
        if matches!(self.format.mode, PubSubMode::Sharded(_)) {
            return Err(AdapterError::Unsupported(
                "allRooms is not part of the sharded protocol",
            ));
        }
        let responses = self.request_all(Ask::AllRooms).await?;
        let mut rooms = HashSet::new();
        for r in &responses {
            if let Some(msgpack::Mp::Array(list)) = r.get("rooms") {
                rooms.extend(list.iter().filter_map(msgpack::Mp::as_str).map(Room::from));
            }
        }
        Ok(rooms.into_iter().collect())
    }

    async fn fetch_remote(&self, opts: WireOpts) -> Result<Vec<RemoteSocket>, AdapterError> {
        let responses = self.request_all(Ask::Fetch(&opts)).await?;
        let mut out = Vec::new();
        for r in responses {
            let Some(msgpack::Mp::Array(sockets)) = r.get("sockets") else {
                continue;
            };
            out.extend(sockets.iter().filter_map(remote_socket));
        }
        Ok(out)
    }
}

/// One socket's answer in a `BROADCAST_ACK` response.
fn ack_response(resp: &wire::Request) -> AckResponse {
    let socket = resp
        .raw
        .get("sid")
        .and_then(msgpack::Mp::as_str)
        .and_then(Sid::parse);
    let result = Args::from_values(&wire::broadcast_ack_args(resp))
        .map_err(|e| AckError::from(EmitError::from(e)));
    AckResponse { socket, result }
}

/// A socket of a `fetchSockets` response; None (logged) when it is not one.
fn remote_socket(s: &msgpack::Mp) -> Option<RemoteSocket> {
    let json = serde_json::to_value(wire::mp_to_value(s)).unwrap_or_default();
    match serde_json::from_value(json) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::debug!(target: LOG, "remote socket skipped: {e}");
            None
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_and_backoff() {
        let classic = Format::new("socket.io", "/", PubSubMode::Classic);
        assert_eq!(classic.uid.len(), 6);
        assert!(classic.uid.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(
            classic.own_response_channel,
            format!("socket.io-response#/#{}#", classic.uid)
        );
        let sharded = Format::new(
            "socket.io",
            "/",
            PubSubMode::Sharded(SubscriptionMode::Dynamic),
        );
        assert_eq!(sharded.uid.len(), 16);
        assert!(sharded.uid.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            sharded.own_response_channel,
            format!("socket.io#/#{}#", sharded.uid)
        );
        assert_eq!(sharded.request_id().len(), 16);
        // Room channels: public rooms in "dynamic", socket ids too in "dynamic-private".
        let rooms = |mode| {
            let f = Format::new("socket.io", "/", mode);
            (
                f.room_subscription("r", false),
                f.room_subscription("sid", true),
            )
        };
        let chan = |room: &str| Some(format!("socket.io#/#{room}#"));
        assert_eq!(rooms(PubSubMode::Classic), (None, None));
        assert_eq!(
            rooms(PubSubMode::Sharded(SubscriptionMode::Static)),
            (None, None)
        );
        assert_eq!(
            rooms(PubSubMode::Sharded(SubscriptionMode::Dynamic)),
            (chan("r"), None)
        );
        assert_eq!(
            rooms(PubSubMode::Sharded(SubscriptionMode::DynamicPrivate)),
            (chan("r"), chan("sid"))
        );
        use connection::backoff;
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
