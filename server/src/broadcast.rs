//! Broadcasting: `io.to("room").except("other").emit(…)` and the server-side operations on
//! any selection of sockets (`fetch_sockets`, `sockets_join`, `disconnect_sockets`, …).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{join, join_all};

use crate::ack::AckFuture;
use crate::adapter::{
    AdapterError, BroadcastOptions, BroadcastPacket, LocalSockets, RemoteAcks, RemoteSocket, Room,
};
use crate::args::{Args, EmitArgs};
use crate::error::{AckError, BroadcastAckError, EmitError};
use crate::namespace::NamespaceInner;
use crate::packet;
use crate::sid::Sid;
use crate::socket::Socket;

/// Room names: a `&str`, a `String`, a [`Sid`], or a list (array, slice, `Vec`) of them.
pub trait IntoRooms {
    /// The rooms.
    fn into_rooms(self) -> Vec<Room>;
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self)]
    }
}

impl IntoRooms for String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self)]
    }
}

impl IntoRooms for &String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self.as_str())]
    }
}

impl IntoRooms for Room {
    fn into_rooms(self) -> Vec<Room> {
        vec![self]
    }
}

impl IntoRooms for Sid {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self.as_str())]
    }
}

impl<T: IntoRooms> IntoRooms for Vec<T> {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().flat_map(IntoRooms::into_rooms).collect()
    }
}

impl<T: IntoRooms + Clone> IntoRooms for &[T] {
    fn into_rooms(self) -> Vec<Room> {
        self.iter()
            .cloned()
            .flat_map(IntoRooms::into_rooms)
            .collect()
    }
}

impl<T: IntoRooms, const N: usize> IntoRooms for [T; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().flat_map(IntoRooms::into_rooms).collect()
    }
}

/// A selection of sockets of one namespace, and what to do with them. Chain `to`, `except`,
/// `local`, `volatile` and `timeout`, then act.
///
/// ```no_run
/// # fn f(io: sio_server::SocketIo) {
/// io.to("room1").to("room2").except("muted").emit("news", &"hello").ok();
/// # }
/// ```
#[derive(Clone)]
pub struct BroadcastOperator {
    ns: Arc<NamespaceInner>,
    opts: BroadcastOptions,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("nsp", &&*self.ns.name)
            .field("opts", &self.opts)
            .finish()
    }
}

/// Each receiver's answer to a broadcast with acks.
#[derive(Debug)]
pub struct AckResponse {
    /// The socket that answered (or failed to). Always known for this node's sockets and
    /// for other sio nodes' ones; None for the sockets of Node nodes, whose answers do not
    /// say which socket gave them.
    pub socket: Option<Sid>,
    /// Its ack arguments, or why there are none. From a Node node, only the first argument
    /// of the ack arrives (all that Node's adapter forwards).
    pub result: Result<Args, AckError>,
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Arc<NamespaceInner>) -> Self {
        Self {
            ns,
            opts: BroadcastOptions::default(),
            timeout: None,
        }
    }

    /// Targets the sockets in `rooms` too (sockets in several rooms get one copy).
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        self.opts.rooms.extend(rooms.into_rooms());
        self
    }

    /// The same as [`to`](Self::to).
    pub fn within(self, rooms: impl IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Excludes the sockets in `rooms`.
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        self.opts.except.extend(rooms.into_rooms());
        self
    }

    /// Only this node's sockets, even with a cluster adapter.
    pub fn local(mut self) -> Self {
        self.opts.local = true;
        self
    }

    /// Drops the packet for sockets whose transport is not ready to write.
    pub fn volatile(mut self) -> Self {
        self.opts.volatile = true;
        self
    }

    /// Sets the ack timeout of [`emit_with_ack`](Self::emit_with_ack).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Calls `f` on each selected socket of this node (outside the namespace's locks).
    fn for_each(&self, f: impl FnMut(&Socket)) {
        self.ns.selected(&self.opts).for_each(f);
    }

    /// Emits `event` to every selected socket. The packet is encoded once; a socket whose
    /// queue is full is disconnected as too slow without failing the others.
    pub fn emit(&self, event: &str, args: impl EmitArgs) -> Result<(), EmitError> {
        let packet = self.ns.encode_event(event, &args, self.opts.volatile, || {
            std::borrow::Cow::Borrowed(&self.opts)
        })?;
        self.ns.counters.broadcast();
        if !self.opts.local {
            // Recovery over a shared log: delivered here once the log gave it its offset.
            let appended = !self.opts.volatile
                && self.ns.append_event(
                    &packet,
                    || &self.opts,
                    || {
                        let (ns, opts) = (self.ns.clone(), self.opts.clone());
                        move |p: BroadcastPacket| ns.deliver(&p.0, &opts)
                    },
                );
            if appended {
                return Ok(());
            }
            self.ns.adapter.remote_broadcast(&packet, &self.opts);
        }
        self.ns.deliver(&packet.0, &self.opts);
        Ok(())
    }

    /// Emits `event` to every selected socket asking each for an ack, and collects every
    /// answer (or its timeout), on every node of a cluster unless [`local`](Self::local).
    ///
    /// Across a cluster, the wait for other nodes' sockets is bounded by
    /// [`timeout`](Self::timeout), or else by the adapter's request timeout; a node that does
    /// not say in time how many of its sockets got the packet makes the result a
    /// [`BroadcastAckError::Cluster`] that still holds every answer that came.
    ///
    /// ```no_run
    /// # async fn f(io: sio_server::SocketIo) {
    /// use std::time::Duration;
    /// let answers = io.timeout(Duration::from_secs(2)).emit_with_ack("vote", &"lunch?").await;
    /// let responses = match &answers {
    ///     Ok(all) => &all[..],
    ///     Err(e) => e.responses(),
    /// };
    /// let yes = responses
    ///     .iter()
    ///     .filter(|r| r.result.as_ref().is_ok_and(|a| a.get::<bool>(0).unwrap_or(false)))
    ///     .count();
    /// println!("{yes} yes of {}", responses.len());
    /// # }
    /// ```
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: impl EmitArgs,
    ) -> AckFuture<Result<Vec<AckResponse>, BroadcastAckError>> {
        let id = self.ns.next_ack_id();
        let encoded = packet::encode(&self.ns.name, Some(event), Some(id), &args);
        let mut waits = Vec::new();
        let mut remote = None;
        if let Ok(packet) = &encoded {
            self.ns.counters.broadcast();
            let timeout = self.timeout.unwrap_or(self.ns.ack_timeout);
            waits = self.ns.send_with_ack(packet, id, &self.opts, timeout);
            if !self.opts.local {
                remote = Some(self.ns.adapter.remote_broadcast_with_ack(
                    &BroadcastPacket(packet.clone()),
                    &self.opts,
                    self.timeout,
                ));
            }
        }
        AckFuture::new(async move {
            encoded.map_err(EmitError::from)?;
            let (mut responses, remote) = match remote {
                Some(remote) => join(join_all(waits), remote).await,
                None => (join_all(waits).await, RemoteAcks::default()),
            };
            responses.extend(remote.responses);
            match remote.error {
                None => Ok(responses),
                Some(error) => Err(BroadcastAckError::Cluster { responses, error }),
            }
        })
    }

    /// The selected sockets of this node.
    pub fn sockets(&self) -> Vec<Socket> {
        let mut out = Vec::new();
        self.for_each(|s| out.push(s.clone()));
        out
    }

    /// The selected sockets of this node (Node's `fetchSockets` on one node); see
    /// [`fetch_remote_sockets`](Self::fetch_remote_sockets) for the other nodes of a cluster.
    pub async fn fetch_sockets(&self) -> Vec<Socket> {
        self.sockets()
    }

    /// The selected sockets of the other nodes of a cluster (none without a cluster
    /// adapter, or with [`local`](Self::local)): with [`fetch_sockets`](Self::fetch_sockets),
    /// every socket Node's `fetchSockets` would return. Fails when a node does not answer
    /// within the adapter's request timeout.
    ///
    /// ```no_run
    /// # async fn f(io: sio_server::SocketIo) -> Result<(), sio_server::AdapterError> {
    /// let here = io.to("lobby").fetch_sockets().await;
    /// let elsewhere = io.to("lobby").fetch_remote_sockets().await?;
    /// println!("{} in the lobby", here.len() + elsewhere.len());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_remote_sockets(&self) -> Result<Vec<RemoteSocket>, AdapterError> {
        if self.opts.local {
            return Ok(Vec::new());
        }
        self.ns.adapter.fetch_remote_sockets(&self.opts).await
    }

    /// Makes the selected sockets join `rooms`.
    pub fn sockets_join(&self, rooms: impl IntoRooms) {
        let rooms = rooms.into_rooms();
        if !self.opts.local {
            self.ns.adapter.remote_add_sockets(&self.opts, &rooms);
        }
        self.ns.change_rooms_of(&self.opts, |local| {
            self.ns.adapter.add_sockets(&self.opts, &rooms, local);
        });
    }

    /// Makes the selected sockets leave `rooms`.
    pub fn sockets_leave(&self, rooms: impl IntoRooms) {
        let rooms = rooms.into_rooms();
        if !self.opts.local {
            self.ns.adapter.remote_del_sockets(&self.opts, &rooms);
        }
        self.ns.change_rooms_of(&self.opts, |local| {
            self.ns.adapter.del_sockets(&self.opts, &rooms, local);
        });
    }

    /// Disconnects the selected sockets; with `close`, their connections too.
    pub fn disconnect_sockets(&self, close: bool) {
        if !self.opts.local {
            self.ns.adapter.remote_disconnect_sockets(&self.opts, close);
        }
        // Disconnecting removes sockets from the namespace: act on a snapshot.
        let sockets = self.ns.sockets().clone();
        self.ns
            .adapter
            .disconnect_sockets(&self.opts, close, &LocalSockets::new(&sockets));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Weak};
    use std::task::{Context, Wake};

    use bytes::Bytes;

    use crate::SocketIo;
    use crate::engine::{Drain, EngineHandler, Message, Transport};
    use crate::namespace::NamespaceInner;

    /// A writer's waker that, when a broadcast queues a frame for its session (which wakes
    /// it at once, in the middle of the fan-out), tries to take the namespace's socket map
    /// for writing, as a connect or a disconnect does.
    struct Writer {
        ns: Weak<NamespaceInner>,
        free: AtomicUsize,
        busy: AtomicUsize,
    }

    impl Wake for Writer {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            let Some(ns) = self.ns.upgrade() else { return };
            let counter = if ns.sockets_try_write() {
                &self.free
            } else {
                &self.busy
            };
            counter.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A fan-out must not hold the socket map while it writes to the sockets: with std's
    /// writer-preferring `RwLock`, a connect waiting behind a long fan-out would stall every
    /// other reader of the namespace. (Before, the map's read lock was held for the whole
    /// fan-out, and this waker found it taken.)
    #[test]
    fn a_broadcast_writes_to_its_sockets_without_holding_the_socket_map() {
        let (_layer, io) = SocketIo::builder().build_layer();
        io.ns("/", |_| {});
        let engine = io.0.engine().unwrap();
        let ns = io.of("/").unwrap().0;
        let writer = Arc::new(Writer {
            ns: Arc::downgrade(&ns),
            free: AtomicUsize::new(0),
            busy: AtomicUsize::new(0),
        });
        let waker = std::task::Waker::from(writer.clone());
        let mut cx = Context::from_waker(&waker);
        let parts = http::Request::new(()).into_parts().0;
        let mut sessions = Vec::new();
        for _ in 0..3 {
            let session = engine.open_session(crate::sid::Sid::new(), &parts, Transport::Websocket);
            // The Socket.IO CONNECT to "/" (`40` on the wire, `0` once the engine read its `4`).
            let connect = Bytes::from_static(b"0");
            engine
                .handler
                .on_message(&session, Message::Text("0", &connect));
            // Take the CONNECT's answer; then the writer waits, its waker registered.
            while let Drain::Frames(_) = session.drain(&mut cx, Transport::Websocket) {}
            sessions.push(session);
        }
        assert_eq!(ns.sockets().len(), 3);
        // To every socket, then to a room: both fan out from a list taken under the lock.
        io.emit("news", ()).unwrap();
        for s in ns.sockets().values() {
            s.join("r");
        }
        for session in &sessions {
            while let Drain::Frames(_) = session.drain(&mut cx, Transport::Websocket) {}
        }
        io.to("r").emit("news", ()).unwrap();
        assert_eq!(writer.busy.load(Ordering::SeqCst), 0);
        assert_eq!(
            writer.free.load(Ordering::SeqCst),
            6,
            "every socket's writer woken"
        );
    }
}
