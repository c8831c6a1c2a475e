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
//! - a broadcast is the msgpack (notepack.io) array `[uid, packet, opts]`: see
//!   [`crate::wire`];
//! - requests and responses are JSON objects, or msgpack maps when they carry binary.
//!
//! The sharded format ([`RedisConfig::sharded`], Redis 7) is socket.io-adapter's
//! `ClusterAdapter` over `SPUBLISH`: every message is `{type, data, uid, nsp}` on
//! `prefix#nsp#` (answers on the requester's `prefix#nsp#uid#`; in the dynamic
//! [`SubscriptionMode`]s, broadcasts to one room on `prefix#nsp#room#`, which a node
//! subscribes to while the room has members there), node uids are 16 hex digits, and
//! `PUBSUB SHARDNUMSUB` counts the nodes: see [`sharded`]
//! (`cluster/tests/fixtures/redis-sharded-adapter.json`). The sharded protocol has no
//! `allRooms` ([`AdapterError::Unsupported`]).
//!
//! The streams mode ([`RedisConfig::streams`]) sends the sharded mode's messages, but
//! broadcasts and room operations go to a stream that every node reads (a third connection,
//! blocked in `XREAD`), the rest over classic pub/sub in msgpack; with recovery on, offsets
//! are the stream's entry ids and sessions are Redis keys. The format and its bounds are in
//! the `streams` module (`cluster/src/redis/streams.rs`).
//!
//! Each mode is a [`Transport`](crate::Transport) of the cluster core
//! ([`ClusterAdapter`], which decides what is sent, waits for the
//! answers and acts on what comes): `classic.rs`, [`sharded`] and `streams.rs` write the
//! core's messages in their format and read the other nodes' back into the core's shapes
//! ([`Incoming`](crate::Incoming)), so everything below holds in every mode. A
//! [`RedisCluster`] owns the Redis connections that every namespace's transport shares: a
//! publisher (fed through a bounded queue) and a subscriber (one task that dispatches each
//! message to the namespace whose channel it is on; in the sharded mode a RESP3
//! connection, as the `redis` crate's pub/sub connection has no `SSUBSCRIBE`), and in the
//! streams mode the stream reader.
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
//! [`crate::wire::broadcast_ack_response`]).
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
//! - A malformed message on a channel is logged (`tracing`, target `sio_cluster`; the
//!   connections' own errors under `sio_cluster::redis`) and skipped. Errors are logged at
//!   most once a second per kind.
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

mod classic;
mod connection;
pub mod sharded;
mod streams;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rand::Rng;
use tokio::sync::{Notify, mpsc};

use crate::adapter::{ClusterAdapter, Receiver, Throttle};
use connection::{Conn, Out, Target, publisher, subscriber};
use sio_server::adapter::AdapterError;
pub use streams::StreamsConfig;

const LOG: &str = "sio_cluster::redis";

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
    patterns: RwLock<HashMap<String, Listener>>,
    channels: RwLock<HashMap<String, Listener>>,
    /// Wakes the subscriber when a namespace adds subscriptions.
    changed: Notify,
    /// Messages the publisher wrote to Redis, those it could not, and how often a lost
    /// subscription (or stream reader) connection was made again.
    published: AtomicU64,
    dropped: AtomicU64,
    reconnects: AtomicU64,
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
            published: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
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
        let shared = self.0.clone();
        ClusterAdapter::new(nsp, self.0.request_timeout, |receiver| {
            let link = Link::new(shared, nsp, receiver);
            let transport: Box<dyn crate::adapter::Transport> = match link.shared.mode {
                PubSubMode::Classic => Box::new(classic::Classic::new(link)),
                PubSubMode::Sharded(mode) => Box::new(sharded::Sharded::new(link, mode)),
                PubSubMode::Streams => Box::new(streams::Streams::new(link)),
            };
            transport
        })
    }

    /// Resolves once every message queued so far has been written to Redis (or dropped,
    /// when Redis is unreachable): what a graceful shutdown awaits after closing its
    /// sockets, so that the other nodes hear of their leaving, and the sessions kept for
    /// recovery (streams mode) are in Redis before the process ends.
    ///
    /// ```no_run
    /// # async fn f(cluster: sio_cluster::redis::RedisCluster) {
    /// // … after `sio_server::serve(…).with_graceful_shutdown(…).await`:
    /// let _ = tokio::time::timeout(std::time::Duration::from_secs(2), cluster.flush()).await;
    /// # }
    /// ```
    pub async fn flush(&self) {
        let (done, written) = tokio::sync::oneshot::channel();
        // Waits for room in the queue rather than dropping: nothing else is to come.
        if self.0.publish.send(Out::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    /// Messages not sent to the other nodes so far (queue full or Redis unreachable).
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }

    /// What this node's link to Redis has done so far.
    pub fn stats(&self) -> RedisStats {
        RedisStats {
            published: self.0.published.load(Ordering::Relaxed),
            dropped: self.dropped(),
            reconnects: self.0.reconnects.load(Ordering::Relaxed),
        }
    }

    /// Adds this cluster's counts to a server's Prometheus metrics (feature `metrics`):
    /// `socketio_redis_published_total`, `socketio_redis_dropped_total` and
    /// `socketio_redis_reconnects_total`, read at each scrape.
    #[cfg(feature = "metrics")]
    pub fn register_metrics(&self, metrics: &mut sio_server::metrics::Metrics) {
        metrics
            .registry_mut()
            .register_collector(Box::new(metrics::RedisCollector(self.clone())));
    }
}

/// A [`RedisCluster`]'s counts ([`RedisCluster::stats`]); they only grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedisStats {
    /// Messages written to Redis (broadcasts, requests, answers, stream entries).
    pub published: u64,
    /// Messages that did not reach Redis: the publish queue was full, or Redis was
    /// unreachable.
    pub dropped: u64,
    /// Times a lost subscriber or stream-reader connection was made again (each followed
    /// by subscribing to every channel again).
    pub reconnects: u64,
}

#[cfg(feature = "metrics")]
mod metrics {
    use sio_server::metrics::prometheus_client::collector::Collector;
    use sio_server::metrics::prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
    use sio_server::metrics::prometheus_client::metrics::counter::ConstCounter;

    #[derive(Debug)]
    pub(super) struct RedisCollector(pub super::RedisCluster);

    impl Collector for RedisCollector {
        fn encode(&self, mut enc: DescriptorEncoder<'_>) -> std::fmt::Result {
            let s = self.0.stats();
            for (name, help, n) in [
                (
                    "socketio_redis_published",
                    "Messages written to Redis",
                    s.published,
                ),
                (
                    "socketio_redis_dropped",
                    "Messages that did not reach Redis",
                    s.dropped,
                ),
                (
                    "socketio_redis_reconnects",
                    "Lost subscriber connections made again",
                    s.reconnects,
                ),
            ] {
                let c = ConstCounter::new(n);
                c.encode(enc.encode_descriptor(name, help, None, c.metric_type())?)?;
            }
            Ok(())
        }
    }
}

impl Shared {
    /// Queues `out` for the publisher; a full queue drops it.
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

impl Shared {
    /// `PUBSUB <sub> <channel>`: how many subscribers the channel has, every node of a
    /// Redis Cluster added up (how Node's adapters count the nodes).
    async fn subscribers(&self, sub: &str, channel: &str) -> Result<usize, AdapterError> {
        let conn = read(&self.conn).clone();
        let mut conn =
            conn.ok_or_else(|| AdapterError::Unavailable("not connected to Redis".into()))?;
        let counts: Vec<(String, usize)> = redis::cmd("PUBSUB")
            .arg(sub)
            .arg(channel)
            .query_async(&mut conn)
            .await
            .map_err(|e| AdapterError::Unavailable(e.to_string()))?;
        Ok(counts.first().map_or(0, |(_, n)| *n))
    }
}

/// The adapter of one namespace in a Redis cluster, made by [`RedisCluster::adapter`]: the
/// cluster core over one of the three Redis transports.
pub type RedisAdapter = ClusterAdapter;

/// Who handles what arrives on a channel: a namespace's adapter, and its names.
#[derive(Clone)]
struct Listener {
    receiver: Receiver,
    names: Arc<Names>,
}

/// One namespace's uid and channels in the cluster.
struct Names {
    /// 6 characters in the classic mode, 16 hex digits in the others, as in Node.
    uid: String,
    nsp: String,
    prefix: String,
    /// `prefix#nsp#`: broadcasts; in the sharded and streams modes, every request too.
    channel: String,
    /// `prefix-request#nsp#` (classic mode).
    request_channel: String,
    /// `prefix-response#nsp#`, where the classic mode answers.
    response_channel: String,
    /// Where answers to this node's requests arrive: `prefix-response#nsp#uid#` (classic),
    /// `prefix#nsp#uid#` (sharded, streams).
    own_response_channel: String,
}

impl Names {
    fn new(prefix: &str, nsp: &str, mode: PubSubMode) -> Self {
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
            prefix: prefix.to_owned(),
            nsp: nsp.to_owned(),
            channel,
            request_channel: format!("{prefix}-request#{nsp}#"),
            response_channel: format!("{prefix}-response#{nsp}#"),
            own_response_channel,
            uid,
        }
    }
}

/// What each Redis transport of a namespace shares: the cluster's connections, its names,
/// and its place in the subscriber's tables.
struct Link {
    shared: Arc<Shared>,
    listener: Listener,
}

impl Link {
    fn new(shared: Arc<Shared>, nsp: &str, receiver: Receiver) -> Self {
        let names = Arc::new(Names::new(&shared.prefix, nsp, shared.mode));
        Self {
            shared,
            listener: Listener { receiver, names },
        }
    }

    fn names(&self) -> &Names {
        &self.listener.names
    }

    /// Listens to `patterns` and `channels` from now on (the subscriber catches up).
    fn listen(&self, patterns: Vec<String>, channels: Vec<String>) {
        let l = &self.listener;
        write(&self.shared.patterns).extend(patterns.into_iter().map(|p| (p, l.clone())));
        write(&self.shared.channels).extend(channels.into_iter().map(|c| (c, l.clone())));
        self.shared.changed.notify_one();
    }

    /// Listens where the `ClusterAdapter` formats (sharded, streams) send to every node and
    /// answer this one: `prefix#nsp#` and `prefix#nsp#uid#`.
    fn listen_cluster_channels(&self) {
        let n = self.names();
        self.listen(
            Vec::new(),
            vec![n.channel.clone(), n.own_response_channel.clone()],
        );
    }

    /// Listens to one more channel (`add`), or stops.
    fn listen_channel(&self, channel: String, add: bool) {
        let mut channels = write(&self.shared.channels);
        if add {
            channels.insert(channel, self.listener.clone());
        } else {
            channels.remove(&channel);
        }
        drop(channels);
        self.shared.changed.notify_one();
    }

    /// Stops listening for this namespace (its adapter is closed).
    fn close(&self) {
        let mine = &self.listener.receiver;
        write(&self.shared.patterns).retain(|_, l| !l.receiver.same(mine));
        write(&self.shared.channels).retain(|_, l| !l.receiver.same(mine));
        // The subscriber unsubscribes from what is no longer listed.
        self.shared.changed.notify_one();
    }
}

/// 6 characters as `uid2(6)` makes them (classic node uids and request ids).
fn random_uid() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..6)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

/// 16 hex digits, as socket.io-adapter's `randomId()` (node uids and request ids of the
/// `ClusterAdapter` formats).
fn random_hex() -> String {
    format!("{:016x}", rand::rng().random::<u64>())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_channels_and_backoff() {
        let classic = Names::new("socket.io", "/", PubSubMode::Classic);
        assert_eq!(classic.uid.len(), 6);
        assert!(classic.uid.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(
            classic.own_response_channel,
            format!("socket.io-response#/#{}#", classic.uid)
        );
        let sharded = Names::new(
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
        assert_eq!(random_hex().len(), 16);
        // Room channels: public rooms in "dynamic", socket ids too in "dynamic-private".
        let rooms = |mode| {
            (
                sharded::room_subscription("socket.io#/#", mode, "r", false),
                sharded::room_subscription("socket.io#/#", mode, "sid", true),
            )
        };
        let chan = |room: &str| Some(format!("socket.io#/#{room}#"));
        assert_eq!(rooms(SubscriptionMode::Static), (None, None));
        assert_eq!(rooms(SubscriptionMode::Dynamic), (chan("r"), None));
        assert_eq!(
            rooms(SubscriptionMode::DynamicPrivate),
            (chan("r"), chan("sid"))
        );
        use connection::backoff;
        assert_eq!(backoff(0), Duration::from_millis(100));
        assert_eq!(backoff(3), Duration::from_millis(800));
        assert_eq!(backoff(30), Duration::from_secs(5));
    }
}
