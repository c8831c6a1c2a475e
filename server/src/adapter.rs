//! Adapters: who is in which room, and how a broadcast reaches its sockets.
//!
//! Every room and broadcast operation of a namespace goes through its [`Adapter`]. The
//! default [`MemoryAdapter`] keeps rooms in this process; a cluster adapter wraps it and
//! forwards broadcasts to other nodes, without handlers noticing: the `sio-cluster` crate
//! has those of Redis (classic and sharded pub/sub, Streams), in the formats of Node's.
//! What such an adapter needs of this node, it finds in [`LocalNamespace`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use smallvec::SmallVec;

use crate::ack::AckFuture;
use crate::args::{ArgError, EmitArgs};
use crate::broadcast::AckResponse;
use crate::namespace::NamespaceInner;
use crate::packet::Packet;
use crate::recovery::{MemoryStore, RecoveryConfig, RestoredSession, SessionState};
use crate::server_side::{ServerSideAck, ServerSideError};
use crate::sid::{Sid, SidMap, SidSet};
use crate::socket::Socket;

/// A room name. Every socket is also in the room named by its id.
pub type Room = Arc<str>;

/// Which sockets a broadcast targets.
#[derive(Debug, Clone, Default)]
pub struct BroadcastOptions {
    /// Only sockets in one of these rooms (all sockets when empty).
    pub rooms: SmallVec<[Room; 1]>,
    /// Not the sockets in any of these rooms.
    pub except: SmallVec<[Room; 1]>,
    /// Only this node, even in a cluster.
    pub local: bool,
    /// Drop the packet for sockets whose transport is busy.
    pub volatile: bool,
}

impl BroadcastOptions {
    /// Whether a packet sent with these options would have reached a socket in `rooms`
    /// (its own-id room included): Node's `shouldIncludePacket`, which decides the events a
    /// recovered session missed.
    pub fn reaches(&self, rooms: &[Room]) -> bool {
        let included = self.rooms.is_empty() || rooms.iter().any(|r| self.rooms.contains(r));
        included && !rooms.iter().any(|r| self.except.contains(r))
    }
}

/// This node's sockets of one namespace, as an adapter sees them.
pub struct LocalSockets<'a> {
    sockets: &'a SidMap<Socket>,
}

impl<'a> LocalSockets<'a> {
    pub(crate) fn new(sockets: &'a SidMap<Socket>) -> Self {
        Self { sockets }
    }

    /// The socket `sid`, if it is connected here.
    pub fn get(&self, sid: Sid) -> Option<&'a Socket> {
        self.sockets.get(&sid)
    }

    /// Whether socket `sid` is connected here.
    pub fn contains(&self, sid: Sid) -> bool {
        self.sockets.contains_key(&sid)
    }

    /// The ids of every socket connected here.
    pub fn ids(&self) -> impl Iterator<Item = Sid> + 'a {
        self.sockets.keys().copied()
    }
}

/// A weak handle to the namespace an adapter serves, given to it by [`Adapter::bind`]: how
/// a cluster adapter reaches this node's sockets when a message comes from another node.
#[derive(Clone)]
pub struct LocalNamespace(Weak<NamespaceInner>);

impl std::fmt::Debug for LocalNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LocalNamespace")
            .field(&self.name().as_deref())
            .finish()
    }
}

impl LocalNamespace {
    pub(crate) fn new(ns: &Arc<NamespaceInner>) -> Self {
        Self(Arc::downgrade(ns))
    }

    /// The namespace's name; None once the server is gone.
    pub fn name(&self) -> Option<Arc<str>> {
        self.0.upgrade().map(|ns| ns.name.clone())
    }

    /// Calls `f` with the namespace's sockets on this node (under its read lock: `f` must
    /// not connect or disconnect sockets); None once the server is gone.
    pub fn with_sockets<R>(&self, f: impl FnOnce(&LocalSockets<'_>) -> R) -> Option<R> {
        let ns = self.0.upgrade()?;
        let sockets = ns.sockets();
        Some(f(&LocalSockets::new(&sockets)))
    }

    /// The namespace's connection state recovery settings, when it has recovery on.
    pub fn recovery(&self) -> Option<RecoveryConfig> {
        self.0.upgrade()?.recovery.clone()
    }

    /// Delivers a server-side event from another node (`data` is `[event, ...args]`) to
    /// this namespace's [`on_server_side`](crate::Namespace::on_server_side) handlers;
    /// `ack` is how they answer, when the sender waits for answers. Returns how many
    /// handlers got it (0 also when the server is gone or `data` is not an event).
    pub fn server_side_event(
        &self,
        data: &[sio_protocol::json::Value],
        ack: Option<ServerSideAck>,
    ) -> usize {
        let Some(ns) = self.0.upgrade() else { return 0 };
        let handlers = ns.behaviour.server_side_handlers();
        match crate::server_side::dispatch(&ns.name, &handlers, data, ack) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(target: "sio_server::adapter", "server-side event skipped: {e}");
                0
            }
        }
    }

    /// Sends `packet` to this node's sockets that `opts` selects (a broadcast from another
    /// node). The selection is taken under the namespace's socket lock, which is released
    /// before anything is sent; a socket whose queue is full is disconnected as too slow,
    /// without failing the others.
    pub fn deliver(&self, packet: &BroadcastPacket, opts: &BroadcastOptions) {
        if let Some(ns) = self.0.upgrade() {
            ns.deliver(&packet.0, opts);
        }
    }

    /// This node's sockets that `opts` selects, taken under the namespace's socket lock.
    pub fn selected(&self, opts: &BroadcastOptions) -> Vec<Socket> {
        let mut out = Vec::new();
        if let Some(ns) = self.0.upgrade() {
            ns.selected(opts).for_each(|s| out.push(s.clone()));
        }
        out
    }

    /// Makes this node's sockets that `opts` selects join `rooms` (another node's
    /// `socketsJoin`), through the namespace's adapter.
    pub fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        if let Some(ns) = self.0.upgrade() {
            ns.change_rooms_of(opts, |local| ns.adapter.add_sockets(opts, rooms, local));
        }
    }

    /// Makes this node's sockets that `opts` selects leave `rooms` (another node's
    /// `socketsLeave`).
    pub fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        if let Some(ns) = self.0.upgrade() {
            ns.change_rooms_of(opts, |local| ns.adapter.del_sockets(opts, rooms, local));
        }
    }

    /// Disconnects this node's sockets that `opts` selects, with `close` their connections
    /// too (another node's `disconnectSockets`).
    pub fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        if let Some(ns) = self.0.upgrade() {
            // Disconnecting removes sockets from the namespace: act on a snapshot.
            let sockets = ns.sockets().clone();
            ns.adapter
                .disconnect_sockets(opts, close, &LocalSockets::new(&sockets));
        }
    }

    /// Sends an event asking for acks to this node's sockets that `opts` selects (another
    /// node's broadcast with acks): `encode` makes the packet with the ack id, which this
    /// namespace chooses. Returns one future per socket that got it, each resolving to its
    /// ack, or to a timeout after `timeout`; none once the server is gone.
    pub fn emit_with_acks<E>(
        &self,
        encode: impl FnOnce(u64) -> Result<BroadcastPacket, E>,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> Result<Vec<AckFuture<AckResponse>>, E> {
        let Some(ns) = self.0.upgrade() else {
            return Ok(Vec::new());
        };
        let id = ns.next_ack_id();
        let packet = encode(id)?;
        Ok(ns.send_with_ack(&packet.0, id, opts, timeout))
    }
}

/// A socket of another node of the cluster, as its node describes it (Node's
/// `RemoteSocket`: id, rooms, handshake, data).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct RemoteSocket {
    /// The socket id.
    pub id: String,
    /// Its rooms, its own-id room included.
    #[serde(default)]
    pub rooms: Vec<String>,
    /// Its handshake (`headers`, `query`, `auth`, `url`, `issued`, …), as JSON.
    #[serde(default)]
    pub handshake: serde_json::Value,
    /// `socket.data` ([`Socket::data`](crate::Socket::data) on a sio node).
    #[serde(default)]
    pub data: serde_json::Value,
}

/// Why an operation across a cluster failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    /// Some nodes did not answer in time.
    #[error("timeout reached: only {answered} responses received out of {expected}")]
    Timeout {
        /// Nodes that answered.
        answered: usize,
        /// Nodes that were expected to.
        expected: usize,
    },
    /// The cluster cannot be reached (Redis down).
    #[error("cluster unavailable: {0}")]
    Unavailable(String),
    /// The cluster's protocol has no such operation.
    #[error("not supported: {0}")]
    Unsupported(&'static str),
}

/// The future of an operation across a cluster.
pub type AdapterFuture<T> = Pin<Box<dyn Future<Output = Result<T, AdapterError>> + Send>>;

/// The future of a server-side emit with acks: one answer per other node.
pub type ServerSideFuture =
    Pin<Box<dyn Future<Output = Result<Vec<sio_protocol::json::Value>, ServerSideError>> + Send>>;

/// What the sockets of the *other* nodes of a cluster answered to a broadcast with acks
/// ([`Adapter::remote_broadcast_with_ack`]).
#[derive(Debug, Default)]
pub struct RemoteAcks {
    /// One entry per socket that got the packet on another node: its ack, or
    /// [`AckError::Timeout`](crate::AckError::Timeout) when none came in time.
    pub responses: Vec<AckResponse>,
    /// Set when some nodes never said how many of their sockets got the packet (node
    /// down or slow, or Redis unreachable): their sockets are missing from `responses`.
    pub error: Option<AdapterError>,
}

/// The future of a broadcast with acks on the other nodes.
pub type RemoteAcksFuture = Pin<Box<dyn Future<Output = RemoteAcks> + Send>>;

/// A packet encoded once for every receiver of a broadcast.
#[derive(Debug, Clone)]
pub struct BroadcastPacket(pub(crate) Packet);

/// Delivers an event to this node's sockets once its offset is known (see
/// [`Adapter::append_broadcast`]).
pub type Deliver = Box<dyn FnOnce(Option<&str>) + Send>;

impl BroadcastPacket {
    /// Event `event` of namespace `nsp` with `args`, and ack id `ack` when its receivers
    /// must answer, encoded once for all of them: how a cluster adapter makes the packet
    /// of another node's broadcast.
    pub fn event(
        nsp: &str,
        event: &str,
        ack: Option<u64>,
        args: &(impl EmitArgs + ?Sized),
    ) -> Result<Self, ArgError> {
        crate::packet::encode(nsp, Some(event), ack, args).map(Self)
    }

    /// The Engine.IO text packet (`42…` or `45…` with its Socket.IO header).
    pub fn text(&self) -> &str {
        self.0.text.as_text().unwrap_or_default()
    }

    /// The binary attachments that follow it.
    pub fn attachments(&self) -> &[bytes::Bytes] {
        &self.0.attachments
    }

    /// The same event with `offset` as its last argument (an event's text ends with its
    /// argument array).
    pub fn with_offset(&self, offset: &str) -> BroadcastPacket {
        use bytes::BufMut;
        let text = self.text();
        let Some(end) = text.rfind(']') else {
            return self.clone();
        };
        let mut out = bytes::BytesMut::with_capacity(text.len() + offset.len() + 3);
        out.put_slice(&text.as_bytes()[..end]);
        out.put_u8(b',');
        sio_protocol::jsonstr::write(&mut out, offset);
        out.put_slice(&text.as_bytes()[end..]);
        BroadcastPacket(Packet::new(
            sio_protocol::engine::Frame::Text(out.freeze()),
            self.0.attachments.clone(),
        ))
    }
}

/// The room registry and broadcast router of one namespace.
///
/// Every room and broadcast operation of the namespace goes through it. The provided
/// methods act on this node's sockets; a cluster adapter overrides them to reach the
/// other nodes too (unless [`BroadcastOptions::local`]), so handlers never change.
pub trait Adapter: Send + Sync + 'static {
    /// Adds socket `sid` to `rooms`.
    fn add_all(&self, sid: Sid, rooms: &[Room]);
    /// Removes socket `sid` from `room`.
    fn del(&self, sid: Sid, room: &str);
    /// Removes socket `sid` from every room.
    fn del_all(&self, sid: Sid);
    /// The rooms socket `sid` joined (its own-id room not included).
    fn rooms_of(&self, sid: Sid) -> Vec<Room>;
    /// Every room with at least one member.
    fn rooms(&self) -> Vec<Room>;
    /// The number of rooms with at least one member (own-id rooms not included); counts
    /// [`rooms`](Self::rooms) by default.
    fn room_count(&self) -> usize {
        self.rooms().len()
    }
    /// Calls `f` once for every socket of `local` that the options select.
    fn select(&self, opts: &BroadcastOptions, local: &LocalSockets<'_>, f: &mut dyn FnMut(Sid));

    /// Called when socket `sid` connects to the namespace (its own-id room exists from then
    /// on, without an entry). Does nothing by default.
    fn add_socket(&self, sid: Sid) {
        let _ = sid;
    }

    /// Called once, when the namespace that owns the adapter is made: a cluster adapter
    /// keeps the handle to deliver other nodes' messages. Does nothing by default.
    fn bind(&self, ns: LocalNamespace) {
        let _ = ns;
    }

    /// Called once, when the namespace is removed (an emptied child of a dynamic namespace,
    /// Node's `adapter.close()`): a cluster adapter stops listening for it. Does nothing by
    /// default.
    fn close(&self) {}

    /// The selected sockets of the *other* nodes of a cluster; none by default.
    fn fetch_remote_sockets(&self, opts: &BroadcastOptions) -> AdapterFuture<Vec<RemoteSocket>> {
        let _ = opts;
        Box::pin(std::future::ready(Ok(Vec::new())))
    }

    /// Sends a server-side event (`data` is `[event, ...args]`) to the *other* nodes of a
    /// cluster, without waiting for answers. Reaches nobody by default (one node: Node's
    /// in-memory adapter does not support it either).
    fn server_side_emit(&self, data: Vec<sio_protocol::json::Value>) {
        let _ = data;
    }

    /// Sends a server-side event to the other nodes and gathers one answer per node. By
    /// default there are no other nodes: no answers, at once.
    fn server_side_emit_with_ack(&self, data: Vec<sio_protocol::json::Value>) -> ServerSideFuture {
        let _ = data;
        Box::pin(std::future::ready(Ok(Vec::new())))
    }

    /// Sends `packet` (an event with an ack id) to the selected sockets of the *other*
    /// nodes of a cluster and gathers their acks for up to `timeout` (the adapter's own
    /// limit when None). The request is sent before this returns; the future only gathers.
    /// By default there are no other nodes: no answers, at once.
    fn remote_broadcast_with_ack(
        &self,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
        timeout: Option<Duration>,
    ) -> RemoteAcksFuture {
        let _ = (packet, opts, timeout);
        Box::pin(std::future::ready(RemoteAcks::default()))
    }

    /// The rooms of the *other* nodes of a cluster (each socket's own-id room included, as
    /// Node lists them); none by default.
    fn remote_rooms(&self) -> AdapterFuture<Vec<Room>> {
        Box::pin(std::future::ready(Ok(Vec::new())))
    }

    /// Sends a broadcast to the selected sockets of the *other* nodes of a cluster (the
    /// namespace delivers it to this node's sockets itself); reaches nobody by default.
    /// Not called for [`BroadcastOptions::local`] broadcasts.
    fn remote_broadcast(&self, packet: &BroadcastPacket, opts: &BroadcastOptions) {
        let _ = (packet, opts);
    }

    /// Connection state recovery ([`recovery`](crate::recovery)): gives an event that a
    /// socket cut off must not miss (no ack, not volatile) its offset and keeps it for the
    /// sockets that `opts` selects; `encode` makes the packet with that offset as its last
    /// argument. None: this adapter keeps no events (the default), so recovery is off for
    /// its namespace, as it is with Node's Redis pub/sub adapter, and the event is sent
    /// without an offset.
    fn keep_packet(
        &self,
        opts: &BroadcastOptions,
        encode: &mut dyn FnMut(&str) -> Result<BroadcastPacket, ArgError>,
    ) -> Option<Result<BroadcastPacket, ArgError>> {
        let _ = (opts, encode);
        None
    }

    /// Connection state recovery over a log the nodes share (the Redis Streams adapter):
    /// sends `packet`, an event without an offset, to the other nodes through the log, and
    /// has it delivered to this node's sockets once the log has given it its offset: calls
    /// `deliver` for the delivery, then that with the offset (None when the log could not
    /// take it: delivered without one). Returns false without calling `deliver` when the
    /// adapter has no such log (the default): the caller sends the event itself.
    fn append_broadcast(
        &self,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
        deliver: &mut dyn FnMut() -> Deliver,
    ) -> bool {
        let _ = (packet, opts, deliver);
        false
    }

    /// Keeps the session of a socket whose connection was cut, for recovery (Node's
    /// `persistSession`). Does nothing by default.
    fn persist_session(&self, session: SessionState) {
        let _ = session;
    }

    /// Takes back session `pid`, once, with the events after `offset` that it missed
    /// (Node's `restoreSession`); None when it cannot (unknown, expired, already restored,
    /// events missing). None by default.
    fn restore_session(&self, pid: &str, offset: &str) -> AdapterFuture<Option<RestoredSession>> {
        let _ = (pid, offset);
        Box::pin(std::future::ready(Ok(None)))
    }

    /// Makes the selected sockets of the *other* nodes of a cluster join `rooms` (the
    /// namespace makes this node's join with [`add_sockets`](Self::add_sockets)); reaches
    /// nobody by default. Not called for [`BroadcastOptions::local`] operations; the same
    /// holds for the two below.
    fn remote_add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        let _ = (opts, rooms);
    }

    /// Makes the selected sockets of the other nodes leave `rooms`.
    fn remote_del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        let _ = (opts, rooms);
    }

    /// Disconnects the selected sockets of the other nodes; with `close`, their
    /// connections too.
    fn remote_disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        let _ = (opts, close);
    }

    /// Makes the selected sockets of this node join `rooms`.
    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room], local: &LocalSockets<'_>) {
        for sid in selected(self, opts, local) {
            self.add_all(sid, rooms);
            // A socket that ended meanwhile must not keep the rooms.
            if let Some(s) = local.get(sid) {
                s.forget_rooms_if_ended();
            }
        }
    }

    /// Makes the selected sockets of this node leave `rooms`.
    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room], local: &LocalSockets<'_>) {
        for sid in selected(self, opts, local) {
            for room in rooms {
                self.del(sid, room);
            }
        }
    }

    /// Disconnects the selected sockets of this node; with `close`, their connections too.
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool, local: &LocalSockets<'_>) {
        for sid in selected(self, opts, local) {
            match local.get(sid) {
                Some(s) if close => s.disconnect_and_close(),
                Some(s) => s.disconnect(),
                None => {}
            }
        }
    }
}

/// The selected ids, collected first: acting on them may need the adapter's own lock.
fn selected<A: Adapter + ?Sized>(
    adapter: &A,
    opts: &BroadcastOptions,
    local: &LocalSockets<'_>,
) -> Vec<Sid> {
    let mut ids = Vec::new();
    adapter.select(opts, local, &mut |sid| ids.push(sid));
    ids
}

/// The in-memory adapter: rooms of this process only, and with
/// [`with_recovery`](Self::with_recovery) the sessions and events of connection state
/// recovery.
#[derive(Default)]
pub struct MemoryAdapter {
    state: RwLock<State>,
    recovery: Option<MemoryStore>,
}

#[derive(Default)]
struct State {
    rooms: HashMap<Room, SidSet>,
    sids: SidMap<SmallVec<[Room; 2]>>,
}

impl MemoryAdapter {
    /// An empty adapter.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty adapter that keeps sessions and events for connection state recovery (what
    /// every namespace gets when the server has
    /// [`connection_state_recovery`](crate::SocketIoBuilder::connection_state_recovery) on
    /// and no adapter of its own).
    pub fn with_recovery(cfg: RecoveryConfig) -> Self {
        Self {
            recovery: Some(MemoryStore::new(cfg)),
            ..Self::default()
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl MemoryAdapter {
    /// [`add_all`](Adapter::add_all), calling `created` with each room that had no member
    /// before (a cluster adapter subscribes to per-room channels then).
    pub fn add_all_tracked(&self, sid: Sid, rooms: &[Room], created: &mut dyn FnMut(&Room)) {
        let mut st = self.write();
        for room in rooms {
            // The own-id room is implicit: no entry, no memory.
            if &**room == sid.as_str() {
                continue;
            }
            let members = st.rooms.entry(room.clone()).or_default();
            let new_room = members.is_empty();
            if members.insert(sid) {
                st.sids.entry(sid).or_default().push(room.clone());
                if new_room {
                    created(room);
                }
            }
        }
    }

    /// [`del`](Adapter::del), calling `emptied` when the room has no member left.
    pub fn del_tracked(&self, sid: Sid, room: &str, emptied: &mut dyn FnMut(&Room)) {
        let mut st = self.write();
        let now_empty = match st.rooms.get_mut(room) {
            Some(members) => {
                if !members.remove(&sid) {
                    return;
                }
                members.is_empty()
            }
            None => return,
        };
        if now_empty {
            if let Some((room, _)) = st.rooms.remove_entry(room) {
                emptied(&room);
            }
        }
        if let Some(list) = st.sids.get_mut(&sid) {
            list.retain(|r| &**r != room);
            if list.is_empty() {
                st.sids.remove(&sid);
            }
        }
    }

    /// [`del_all`](Adapter::del_all), calling `emptied` for each room left with no member.
    pub fn del_all_tracked(&self, sid: Sid, emptied: &mut dyn FnMut(&Room)) {
        let mut st = self.write();
        let Some(list) = st.sids.remove(&sid) else {
            return;
        };
        for room in list {
            if let Some(members) = st.rooms.get_mut(&room) {
                members.remove(&sid);
                if members.is_empty() {
                    st.rooms.remove(&room);
                    emptied(&room);
                }
            }
        }
    }
}

impl Adapter for MemoryAdapter {
    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        self.add_all_tracked(sid, rooms, &mut |_| {});
    }

    fn del(&self, sid: Sid, room: &str) {
        self.del_tracked(sid, room, &mut |_| {});
    }

    fn del_all(&self, sid: Sid) {
        self.del_all_tracked(sid, &mut |_| {});
    }

    fn rooms_of(&self, sid: Sid) -> Vec<Room> {
        self.read()
            .sids
            .get(&sid)
            .map(|l| l.to_vec())
            .unwrap_or_default()
    }

    fn rooms(&self) -> Vec<Room> {
        self.read().rooms.keys().cloned().collect()
    }

    fn room_count(&self) -> usize {
        self.read().rooms.len()
    }

    fn select(&self, opts: &BroadcastOptions, local: &LocalSockets<'_>, f: &mut dyn FnMut(Sid)) {
        self.select_ids(opts, local.sockets, f);
    }

    fn keep_packet(
        &self,
        opts: &BroadcastOptions,
        encode: &mut dyn FnMut(&str) -> Result<BroadcastPacket, ArgError>,
    ) -> Option<Result<BroadcastPacket, ArgError>> {
        Some(self.recovery.as_ref()?.keep(opts, encode))
    }

    fn persist_session(&self, session: SessionState) {
        if let Some(store) = &self.recovery {
            store.persist(session);
        }
    }

    fn restore_session(&self, pid: &str, offset: &str) -> AdapterFuture<Option<RestoredSession>> {
        let restored = self.recovery.as_ref().and_then(|s| s.restore(pid, offset));
        Box::pin(std::future::ready(Ok(restored)))
    }
}

impl MemoryAdapter {
    fn select_ids<V>(&self, opts: &BroadcastOptions, all: &SidMap<V>, f: &mut dyn FnMut(Sid)) {
        let st = self.read();
        // The excepted sockets, found once rather than for every receiver.
        let excluded = (!opts.except.is_empty()).then(|| {
            let mut set = SidSet::default();
            st.members(&opts.except, all, &mut |sid| {
                set.insert(sid);
            });
            set
        });
        let excluded = |sid: &Sid| excluded.as_ref().is_some_and(|e| e.contains(sid));
        if opts.rooms.is_empty() {
            for sid in all.keys().filter(|s| !excluded(s)) {
                f(*sid);
            }
            return;
        }
        // With several rooms a socket in two of them must get the packet once.
        let mut seen = (opts.rooms.len() > 1).then(SidSet::default);
        st.members(&opts.rooms, all, &mut |sid| {
            if excluded(&sid) {
                return;
            }
            if let Some(seen) = seen.as_mut() {
                if !seen.insert(sid) {
                    return;
                }
            }
            f(sid);
        });
    }
}

impl State {
    /// Calls `f` for each member of each of `rooms` (a socket's own-id room included,
    /// when the socket is in `all`); a socket in two rooms is visited twice.
    fn members<V>(&self, rooms: &[Room], all: &SidMap<V>, f: &mut dyn FnMut(Sid)) {
        for room in rooms {
            let members = self.rooms.get(&**room);
            for &sid in members.into_iter().flatten() {
                f(sid);
            }
            if let Some(sid) = Sid::parse(room) {
                if all.contains_key(&sid) && !members.is_some_and(|m| m.contains(&sid)) {
                    f(sid);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Selects over a namespace of `n` sockets whose values are never read.
    fn pick(adapter: &MemoryAdapter, ids: &[Sid], opts: &BroadcastOptions) -> Vec<Sid> {
        let all: SidMap<()> = ids.iter().map(|&s| (s, ())).collect();
        let mut out = Vec::new();
        adapter.select_ids(opts, &all, &mut |sid| out.push(sid));
        out.sort();
        out
    }

    fn opts(rooms: &[&str], except: &[&str]) -> BroadcastOptions {
        BroadcastOptions {
            rooms: rooms.iter().map(|r| Room::from(*r)).collect(),
            except: except.iter().map(|r| Room::from(*r)).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn rooms_own_ids_and_exceptions() {
        let a = MemoryAdapter::new();
        let ids: Vec<Sid> = (0..4).map(|_| Sid::new()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        a.add_all(ids[0], &[Room::from("r1"), Room::from("r2")]);
        a.add_all(ids[1], &[Room::from("r1")]);
        a.add_all(ids[2], &[Room::from("r2")]);

        assert_eq!(pick(&a, &ids, &opts(&[], &[])), sorted);
        let mut r1 = vec![ids[0], ids[1]];
        r1.sort();
        assert_eq!(pick(&a, &ids, &opts(&["r1"], &[])), r1);
        // A socket in two targeted rooms gets one copy.
        assert_eq!(pick(&a, &ids, &opts(&["r1", "r2"], &[])).len(), 3);
        // Exceptions by room and by own-id room.
        assert_eq!(pick(&a, &ids, &opts(&["r1", "r2"], &["r2"])), vec![ids[1]]);
        assert_eq!(
            pick(&a, &ids, &opts(&["r1"], &[ids[0].as_str()])),
            vec![ids[1]]
        );
        // A socket's id is a room of its own.
        assert_eq!(pick(&a, &ids, &opts(&[ids[3].as_str()], &[])), vec![ids[3]]);
        assert_eq!(pick(&a, &ids, &opts(&[Sid::new().as_str()], &[])), vec![]);
        assert_eq!(pick(&a, &ids, &opts(&["nobody"], &[])), vec![]);

        let mut created = Vec::new();
        a.add_all_tracked(ids[3], &[Room::from("r2"), Room::from("r3")], &mut |r| {
            created.push(r.clone())
        });
        assert_eq!(
            created,
            [Room::from("r3")],
            "only rooms that were empty are new"
        );
        let mut emptied = Vec::new();
        a.del_all_tracked(ids[3], &mut |r| emptied.push(r.clone()));
        assert_eq!(emptied, [Room::from("r3")], "r2 still has members");
        a.del(ids[0], "r1");
        assert_eq!(a.rooms_of(ids[0]), vec![Room::from("r2")]);
        a.del_all(ids[0]);
        assert!(a.rooms_of(ids[0]).is_empty());
        a.del_all(ids[2]);
        let mut left = a.rooms();
        left.sort();
        assert_eq!(left, vec![Room::from("r1")], "empty rooms are dropped");
    }
}
