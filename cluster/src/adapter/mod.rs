//! The cluster core: one namespace's adapter in a cluster of nodes, whatever carries the
//! messages between them (Node's `ClusterAdapter` is the model).
//!
//! A [`ClusterAdapter`] wraps a [`MemoryAdapter`] for this node's rooms and decides what the
//! other nodes must hear: broadcasts, room operations, requests (`fetchSockets`,
//! `serverSideEmit`, broadcasts with acks, `allRooms`) and the answers to theirs. It waits
//! for answers, bounded in count and time, and acts on what other nodes send
//! ([`Receiver::receive`]). A [`Transport`] only writes each message in its format and moves
//! it: Redis pub/sub, sharded pub/sub and Redis Streams are three transports
//! ([`crate::redis`]).

mod incoming;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;

use crate::msgpack::{self, Mp};
use crate::wire::{self, BroadcastMessage, Request, RequestType, WireOpts, WirePacket};
use sio_protocol::json::Value;
use sio_server::adapter::{
    Adapter, AdapterError, AdapterFuture, BroadcastOptions, BroadcastPacket, Deliver,
    LocalNamespace, LocalSockets, MemoryAdapter, RemoteAcks, RemoteAcksFuture, RemoteSocket, Room,
    ServerSideFuture,
};
use sio_server::recovery::{RestoredSession, SessionState};
use sio_server::{AckError, AckResponse, Args, EmitError, RecoveryConfig, ServerSideError, Sid};

pub(crate) const LOG: &str = "sio_cluster";

/// A request of this node to the others.
#[derive(Debug)]
pub enum Ask<'a> {
    /// `socketsJoin`.
    Join(&'a WireOpts, &'a [Room]),
    /// `socketsLeave`.
    Leave(&'a WireOpts, &'a [Room]),
    /// `disconnectSockets`, closing the connections when true.
    Disconnect(&'a WireOpts, bool),
    /// `fetchSockets`.
    Fetch(&'a WireOpts),
    /// `allRooms` (not in every format).
    AllRooms,
    /// `serverSideEmit`: `[event, ...args]`.
    ServerSide(&'a [Value]),
    /// A broadcast with acks (its packet has no ack id: each node numbers its own).
    BroadcastWithAck(&'a WirePacket, &'a WireOpts),
}

/// This node's answer to another node's request.
#[derive(Debug)]
pub enum Answer<'a> {
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

/// A message from another node, as a transport decoded it (every format is read into the
/// shapes of [`wire`]).
#[derive(Debug)]
pub enum Incoming {
    /// A broadcast to this node's sockets; `offset` is its place in the transport's log
    /// (a stream entry id), added as the event's last argument when recovery is on.
    Broadcast(BroadcastMessage, Option<String>),
    /// A request to act here, or to answer.
    Request(Request),
    /// An answer to one of this node's requests.
    Response(Request),
}

/// How one namespace's messages reach the other nodes, in the format they read: what a
/// backend provides to a [`ClusterAdapter`]. It writes and moves bytes; every decision
/// (what to send, when to wait, what to do with what comes) is the adapter's. What comes
/// from the other nodes, it decodes and hands to the adapter's [`Receiver`].
pub trait Transport: Send + Sync + 'static {
    /// This node's uid in the namespace, as the format writes it.
    fn uid(&self) -> &str;
    /// A new request id, as the format writes it.
    fn request_id(&self) -> String;
    /// Sends a broadcast without acks to the other nodes.
    fn broadcast(&self, packet: &WirePacket, opts: &WireOpts);
    /// Fails when the format has no such request (checked before any is sent).
    fn supports(&self, ask: &Ask<'_>) -> Result<(), AdapterError> {
        let _ = ask;
        Ok(())
    }
    /// Sends a request (with `request_id` when answers are awaited), one that
    /// [`supports`](Self::supports) accepts.
    fn request(&self, ask: &Ask<'_>, request_id: Option<&str>);
    /// Answers `requester`'s request `request_id`.
    fn answer(&self, requester: Option<&str>, request_id: &str, answer: Answer<'_>);
    /// How many nodes serve this namespace, this one included.
    fn server_count(&self) -> AdapterFuture<usize>;

    /// Whether broadcasts go through a log whose entry ids are recovery offsets (then
    /// [`append`](Self::append) is used instead of [`broadcast`](Self::broadcast) when the
    /// namespace has recovery on). False by default.
    fn has_log(&self) -> bool {
        false
    }
    /// Appends a broadcast to the log, then calls `then` with its offset (None when the
    /// log did not take it). Without a log, `then` gets None at once.
    fn append(&self, packet: &WirePacket, opts: &WireOpts, then: Deliver) {
        let _ = (packet, opts);
        then(None);
    }
    /// Keeps the session of a socket cut off, for `max` (transports with a log). Does
    /// nothing by default.
    fn persist_session(&self, session: SessionState, max: Duration) {
        let _ = (session, max);
    }
    /// Takes back session `pid` with the events after `offset`, once. None by default.
    fn restore_session(&self, pid: &str, offset: &str) -> AdapterFuture<Option<RestoredSession>> {
        let _ = (pid, offset);
        Box::pin(std::future::ready(Ok(None)))
    }

    /// Room `room` got its first member on this node (`own`: a socket's own-id room), for
    /// transports that listen per room. Does nothing by default.
    fn room_created(&self, room: &str, own: bool) {
        let _ = (room, own);
    }
    /// Room `room` has no member left on this node.
    fn room_emptied(&self, room: &str, own: bool) {
        let _ = (room, own);
    }
    /// The namespace is gone: stop listening for it.
    fn close(&self) {}
}

/// What a transport could not decode, for [`Receiver::malformed`].
#[derive(Debug, Clone, Copy)]
pub enum Malformed {
    /// A broadcast (Node's classic format).
    Broadcast,
    /// A request or a response (Node's classic format).
    Request,
    /// A `ClusterAdapter` message.
    Message,
    /// An entry of a log (a Redis stream).
    Entry,
}

/// Where a transport hands what it received for one namespace; holds the adapter weakly.
#[derive(Clone)]
pub struct Receiver(Weak<Core>);

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Receiver")
    }
}

impl Receiver {
    /// Acts on a message from another node (does nothing once the adapter is gone).
    pub fn receive(&self, msg: Incoming) {
        if let Some(core) = self.0.upgrade() {
            core.receive(msg);
        }
    }

    /// Logs a message from `channel` that could not be decoded (at most once a second
    /// per kind).
    pub fn malformed(&self, what: Malformed, channel: &str, error: &dyn std::fmt::Display) {
        if let Some(core) = self.0.upgrade() {
            if core.throttle.allow(2 + what as usize) {
                let what = match what {
                    Malformed::Broadcast => "broadcast",
                    Malformed::Request => "request or response",
                    Malformed::Message => "message",
                    Malformed::Entry => "stream entry",
                };
                tracing::warn!(target: LOG, nsp = %core.nsp, channel, "malformed {what} skipped: {error}");
            }
        }
    }

    /// Whether both reach the same adapter.
    pub fn same(&self, other: &Receiver) -> bool {
        self.0.ptr_eq(&other.0)
    }

    /// Whether the adapter is still there.
    pub fn is_alive(&self) -> bool {
        self.0.strong_count() > 0
    }
}

/// One namespace's adapter in a cluster: pass it to
/// [`SocketIoBuilder::adapter`](sio_server::SocketIoBuilder::adapter) (a backend such as
/// [`RedisCluster`](crate::redis::RedisCluster) makes it).
pub struct ClusterAdapter {
    core: Arc<Core>,
}

impl std::fmt::Debug for ClusterAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterAdapter")
            .field("nsp", &self.core.nsp)
            .field("uid", &self.core.transport.uid())
            .finish()
    }
}

impl ClusterAdapter {
    /// The adapter of namespace `nsp` over `transport`; requests to the other nodes wait
    /// `request_timeout` for their answers at most. `transport` is made with the adapter's
    /// [`Receiver`], to hand it what comes from the other nodes.
    pub fn new(
        nsp: &str,
        request_timeout: Duration,
        transport: impl FnOnce(Receiver) -> Box<dyn Transport>,
    ) -> Self {
        let core = Arc::new_cyclic(|weak| Core {
            memory: MemoryAdapter::new(),
            nsp: nsp.to_owned(),
            transport: transport(Receiver(weak.clone())),
            request_timeout,
            ns: OnceLock::new(),
            pending: Mutex::new(HashMap::new()),
            acks: Mutex::new(HashMap::new()),
            throttle: Throttle::default(),
        });
        Self { core }
    }

    /// This node's uid in the namespace, as the transport's format writes it (6 characters
    /// in Node's classic Redis format, 16 hex digits in the `ClusterAdapter` ones).
    pub fn uid(&self) -> &str {
        self.core.transport.uid()
    }
}

pub(crate) struct Core {
    memory: MemoryAdapter,
    nsp: String,
    transport: Box<dyn Transport>,
    request_timeout: Duration,
    ns: OnceLock<LocalNamespace>,
    /// This node's requests waiting for answers, by request id.
    pending: Mutex<HashMap<String, Pending>>,
    /// This node's broadcasts with acks waiting for other nodes' sockets, by request id.
    acks: Mutex<HashMap<String, AckGather>>,
    throttle: Throttle,
}

/// At most one log line a second per kind.
#[derive(Default)]
pub(crate) struct Throttle {
    last: [AtomicU64; 8],
}

impl Throttle {
    pub(crate) fn allow(&self, kind: usize) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let Some(last) = self.last.get(kind) else {
            return true;
        };
        last.swap(now, Ordering::Relaxed) != now
    }
}

/// What a request to the other nodes gathered.
enum Gathered {
    /// Every node answered.
    All(Vec<Mp>),
    /// Some did not, within the request timeout.
    TimedOut { responses: Vec<Mp>, expected: usize },
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
    responses: Vec<Mp>,
    done: Option<oneshot::Sender<()>>,
}

/// Acks of other nodes' sockets one broadcast waits for, at most: a node announcing more
/// (`clientCount`) is not believed past it.
const MAX_REMOTE_ACKS: usize = 1 << 20;

/// A broadcast with acks of this node, gathering what the other nodes' sockets answer.
/// Each node first says how many of its sockets got the packet (`BROADCAST_CLIENT_COUNT`),
/// then forwards their acks one by one (`BROADCAST_ACK`), in that order on the wire.
struct AckGather {
    /// How many other nodes must say their count; None until the transport counted them.
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
    core: Arc<Core>,
    id: String,
}

impl Drop for ForgetAck {
    fn drop(&mut self) {
        lock(&self.core.acks).remove(&self.id);
    }
}

pub(crate) fn wire_opts(opts: &BroadcastOptions) -> WireOpts {
    WireOpts {
        rooms: opts.rooms.iter().map(|r| r.to_string()).collect(),
        except: opts.except.iter().map(|r| r.to_string()).collect(),
        flags: wire::Flags {
            volatile: opts.volatile,
            ..Default::default()
        },
    }
}

/// The options of another node's broadcast or request, for this node's sockets only.
pub(crate) fn local_opts(opts: &WireOpts) -> BroadcastOptions {
    BroadcastOptions {
        rooms: opts.rooms.iter().map(|r| Room::from(r.as_str())).collect(),
        except: opts.except.iter().map(|r| Room::from(r.as_str())).collect(),
        local: true,
        volatile: opts.flags.volatile,
    }
}

impl Adapter for ClusterAdapter {
    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        let t = &self.core.transport;
        self.core
            .memory
            .add_all_tracked(sid, rooms, &mut |room| t.room_created(room, false));
    }

    fn del(&self, sid: Sid, room: &str) {
        let t = &self.core.transport;
        self.core
            .memory
            .del_tracked(sid, room, &mut |room| t.room_emptied(room, false));
    }

    fn del_all(&self, sid: Sid) {
        let t = &self.core.transport;
        self.core
            .memory
            .del_all_tracked(sid, &mut |room| t.room_emptied(room, false));
        t.room_emptied(sid.as_str(), true);
    }

    fn add_socket(&self, sid: Sid) {
        self.core.transport.room_created(sid.as_str(), true);
    }

    fn rooms_of(&self, sid: Sid) -> Vec<Room> {
        self.core.memory.rooms_of(sid)
    }

    fn rooms(&self) -> Vec<Room> {
        self.core.memory.rooms()
    }

    fn room_count(&self) -> usize {
        self.core.memory.room_count()
    }

    fn select(&self, opts: &BroadcastOptions, local: &LocalSockets<'_>, f: &mut dyn FnMut(Sid)) {
        self.core.memory.select(opts, local, f)
    }

    fn fetch_remote_sockets(&self, opts: &BroadcastOptions) -> AdapterFuture<Vec<RemoteSocket>> {
        let core = self.core.clone();
        let opts = wire_opts(opts);
        Box::pin(async move { core.fetch_remote(opts).await })
    }

    fn bind(&self, ns: LocalNamespace) {
        let _ = self.core.ns.set(ns);
    }

    fn close(&self) {
        self.core.transport.close();
    }

    fn server_side_emit(&self, data: Vec<Value>) {
        self.core.send(&Ask::ServerSide(&data), None);
    }

    fn server_side_emit_with_ack(&self, data: Vec<Value>) -> ServerSideFuture {
        let core = self.core.clone();
        Box::pin(async move { core.server_side_with_ack(data).await })
    }

    fn remote_broadcast_with_ack(
        &self,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
        timeout: Option<Duration>,
    ) -> RemoteAcksFuture {
        self.core.clone().broadcast_with_ack(packet, opts, timeout)
    }

    fn remote_rooms(&self) -> AdapterFuture<Vec<Room>> {
        let core = self.core.clone();
        Box::pin(async move { core.remote_rooms().await })
    }

    fn remote_broadcast(&self, packet: &BroadcastPacket, opts: &BroadcastOptions) {
        match wire::packet_from_broadcast(packet) {
            Ok(p) => self.core.transport.broadcast(&p, &wire_opts(opts)),
            Err(e) => tracing::warn!(target: LOG, "broadcast not published: {e}"),
        }
    }

    fn append_broadcast(
        &self,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
        deliver: &mut dyn FnMut() -> Deliver,
    ) -> bool {
        let t = &self.core.transport;
        if !t.has_log() {
            return false;
        }
        match wire::packet_from_broadcast(packet) {
            Ok(p) => t.append(&p, &wire_opts(opts), deliver()),
            Err(e) => {
                tracing::warn!(target: LOG, "broadcast not appended: {e}");
                deliver()(None);
            }
        }
        true
    }

    fn persist_session(&self, session: SessionState) {
        if let Some(cfg) = self.core.recovery() {
            self.core
                .transport
                .persist_session(session, cfg.max_disconnection_duration);
        }
    }

    fn restore_session(&self, pid: &str, offset: &str) -> AdapterFuture<Option<RestoredSession>> {
        self.core.transport.restore_session(pid, offset)
    }

    fn remote_add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.core.send(&Ask::Join(&wire_opts(opts), rooms), None);
    }

    fn remote_del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.core.send(&Ask::Leave(&wire_opts(opts), rooms), None);
    }

    fn remote_disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        self.core
            .send(&Ask::Disconnect(&wire_opts(opts), close), None);
    }
}

impl Core {
    /// Sends a request without waiting for answers (unless the format has none such).
    fn send(&self, ask: &Ask<'_>, request_id: Option<&str>) {
        match self.transport.supports(ask) {
            Ok(()) => self.transport.request(ask, request_id),
            Err(e) => tracing::debug!(target: LOG, "request not sent: {e}"),
        }
    }

    /// Answers another node's request.
    fn answer(&self, requester: Option<&str>, request_id: &str, answer: Answer<'_>) {
        self.transport.answer(requester, request_id, answer);
    }

    /// The namespace's recovery settings, when it has recovery on.
    fn recovery(&self) -> Option<RecoveryConfig> {
        self.ns.get()?.recovery()
    }

    /// Sends a request to every other node and gathers their answers.
    async fn request_all(&self, ask: Ask<'_>) -> Result<Vec<Mp>, AdapterError> {
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

    /// Sends `ask` with a new request id to every other node, and gathers their answers
    /// up to the request timeout. No other node: no answers.
    async fn gather(&self, ask: Ask<'_>) -> Result<Gathered, AdapterError> {
        self.transport.supports(&ask)?;
        let expected = self.transport.server_count().await?.saturating_sub(1);
        if expected == 0 {
            return Ok(Gathered::All(Vec::new()));
        }
        let id = self.transport.request_id();
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
        self.transport.request(&ask, Some(&id));
        let answered = tokio::time::timeout(self.request_timeout, rx).await;
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
        let answers = |responses: Vec<Mp>| -> Vec<Value> {
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

    /// Sends a broadcast with acks at once; the future gathers the other nodes' counts and
    /// acks until all came or `timeout` (else the request timeout) has passed since the
    /// call.
    fn broadcast_with_ack(
        self: Arc<Self>,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
        timeout: Option<Duration>,
    ) -> RemoteAcksFuture {
        let wait = timeout.unwrap_or(self.request_timeout);
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
        let id = self.transport.request_id();
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
        let forget = ForgetAck { core: self, id };
        Box::pin(async move {
            let core = &forget.core;
            // Answers may come before the count of nodes: they are kept meanwhile.
            let error = match tokio::time::timeout_at(deadline, core.transport.server_count()).await
            {
                Ok(Ok(nodes)) => {
                    if let Some(g) = lock(&core.acks).get_mut(&forget.id) {
                        g.nodes_expected = Some(nodes.saturating_sub(1));
                        g.check();
                    }
                    None
                }
                Ok(Err(e)) => Some(e),
                Err(_) => Some(AdapterError::Unavailable(
                    "the nodes were not counted in time".into(),
                )),
            };
            if error.is_none() {
                let _ = tokio::time::timeout_at(deadline, rx).await;
            }
            match lock(&core.acks).remove(&forget.id) {
                Some(g) => g.finish(error),
                None => RemoteAcks::default(),
            }
        })
    }

    /// An answer to one of this node's broadcasts with acks; false when `id` is not one.
    fn on_ack_response(&self, id: &str, resp: &Request) -> bool {
        let mut acks = lock(&self.acks);
        let Some(g) = acks.get_mut(id) else {
            return false;
        };
        match resp.kind {
            Some(RequestType::BroadcastClientCount) => {
                let count = resp.raw.get("clientCount").and_then(Mp::as_u64);
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

    /// The rooms of the other nodes (`allRooms` request), each listed once.
    async fn remote_rooms(&self) -> Result<Vec<Room>, AdapterError> {
        let responses = self.request_all(Ask::AllRooms).await?;
        let mut rooms = HashSet::new();
        for r in &responses {
            if let Some(Mp::Array(list)) = r.get("rooms") {
                rooms.extend(list.iter().filter_map(Mp::as_str).map(Room::from));
            }
        }
        Ok(rooms.into_iter().collect())
    }

    async fn fetch_remote(&self, opts: WireOpts) -> Result<Vec<RemoteSocket>, AdapterError> {
        let responses = self.request_all(Ask::Fetch(&opts)).await?;
        let mut out = Vec::new();
        for r in responses {
            let Some(Mp::Array(sockets)) = r.get("sockets") else {
                continue;
            };
            out.extend(sockets.iter().filter_map(remote_socket));
        }
        Ok(out)
    }
}

/// One socket's answer in a `BROADCAST_ACK` response.
pub(crate) fn ack_response(resp: &Request) -> AckResponse {
    let socket = resp
        .raw
        .get("sid")
        .and_then(Mp::as_str)
        .and_then(Sid::parse);
    let result = Args::from_values(&wire::broadcast_ack_args(resp))
        .map_err(|e| AckError::from(EmitError::from(e)));
    AckResponse { socket, result }
}

/// A socket of a `fetchSockets` response; None (logged) when it is not one.
pub(crate) fn remote_socket(s: &msgpack::Mp) -> Option<RemoteSocket> {
    let json = serde_json::to_value(wire::mp_to_value(s)).unwrap_or_default();
    match serde_json::from_value(json) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::debug!(target: LOG, "remote socket skipped: {e}");
            None
        }
    }
}

fn lock<T>(l: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    l.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

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
