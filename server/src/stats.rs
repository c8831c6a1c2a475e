//! What a server counts while it runs, for the people who operate it: sessions opened and
//! closed, Engine.IO traffic, sockets connected and disconnected, broadcasts, drops and ack
//! timeouts ([`SocketIo::stats`](crate::SocketIo::stats)). The `metrics` feature serves
//! them to Prometheus ([`metrics`](crate::metrics)).
//!
//! Counting costs the hot paths nothing they do not already pay: a session counts its own
//! traffic (what it sends under the lock it takes to queue, what it receives in counters
//! only its reader writes), and the engine folds a session's counts into its totals when
//! the session ends. Events that are rare next to packets (a session opened, a socket
//! connected, a broadcast, an ack timed out) are server-wide atomics.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::engine::{CloseReason, Transport};
use crate::socket::DisconnectReason;

/// Engine.IO message packets and their payload bytes (text without its type digit, binary
/// as is), each way. Heartbeats and upgrade probes are not counted, as in the admin UI's
/// counts of Node's server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Message packets received.
    pub packets_in: u64,
    /// Their payload bytes.
    pub bytes_in: u64,
    /// Message packets queued for the peers (a broadcast counts once per recipient).
    pub packets_out: u64,
    /// Their payload bytes.
    pub bytes_out: u64,
}

impl Traffic {
    pub(crate) fn add(&mut self, other: &Traffic) {
        self.packets_in += other.packets_in;
        self.bytes_in += other.bytes_in;
        self.packets_out += other.packets_out;
        self.bytes_out += other.bytes_out;
    }
}

/// What one session received, written by its reader only (an atomic because during an
/// upgrade the two transports' readers may overlap; never contended).
#[derive(Default)]
pub(crate) struct Received {
    packets: AtomicU64,
    bytes: AtomicU64,
}

impl Received {
    pub fn count(&self, bytes: usize) {
        self.packets.fetch_add(1, Relaxed);
        self.bytes.fetch_add(bytes as u64, Relaxed);
    }

    pub fn get(&self) -> (u64, u64) {
        (self.packets.load(Relaxed), self.bytes.load(Relaxed))
    }
}

/// The reasons a session closes, as [`Stats::sessions_closed`] lists them.
pub const CLOSE_REASONS: [CloseReason; 6] = [
    CloseReason::TransportClose,
    CloseReason::TransportError,
    CloseReason::PingTimeout,
    CloseReason::ParseError,
    CloseReason::ForcedClose,
    CloseReason::BufferFull,
];

/// The reasons a socket disconnects, as [`Stats::disconnects`] lists them.
pub const DISCONNECT_REASONS: [DisconnectReason; 8] = [
    DisconnectReason::TransportClose,
    DisconnectReason::TransportError,
    DisconnectReason::PingTimeout,
    DisconnectReason::ParseError,
    DisconnectReason::ForcedClose,
    DisconnectReason::ServerNamespaceDisconnect,
    DisconnectReason::ClientNamespaceDisconnect,
    DisconnectReason::ServerShuttingDown,
];

/// A close reason's label: Node's reason string, except that a session closed because
/// its peer read too slowly (Node reports "transport error") is told apart.
pub fn close_label(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::BufferFull => "buffer full",
        r => r.as_str(),
    }
}

fn close_index(reason: CloseReason) -> usize {
    CLOSE_REASONS.iter().position(|r| *r == reason).unwrap_or(0)
}

fn disconnect_index(reason: DisconnectReason) -> usize {
    DISCONNECT_REASONS
        .iter()
        .position(|r| *r == reason)
        .unwrap_or(0)
}

fn transport_index(t: Transport) -> usize {
    match t {
        Transport::Polling => 0,
        Transport::Websocket => 1,
        Transport::WebTransport => 2,
    }
}

/// The engine's counters of rare events.
#[derive(Default)]
pub(crate) struct EngineCounters {
    opened: [AtomicU64; Transport::ALL.len()],
    closed: [AtomicU64; CLOSE_REASONS.len()],
}

impl EngineCounters {
    pub fn opened(&self, t: Transport) {
        self.opened[transport_index(t)].fetch_add(1, Relaxed);
    }

    pub fn closed(&self, reason: CloseReason) {
        self.closed[close_index(reason)].fetch_add(1, Relaxed);
    }
}

/// The Socket.IO layer's counters.
#[derive(Default)]
pub(crate) struct SocketCounters {
    connects: AtomicU64,
    disconnects: [AtomicU64; DISCONNECT_REASONS.len()],
    broadcasts: AtomicU64,
    ack_timeouts: AtomicU64,
}

impl SocketCounters {
    pub fn connected(&self) {
        self.connects.fetch_add(1, Relaxed);
    }

    pub fn disconnected(&self, reason: DisconnectReason) {
        self.disconnects[disconnect_index(reason)].fetch_add(1, Relaxed);
    }

    pub fn broadcast(&self) {
        self.broadcasts.fetch_add(1, Relaxed);
    }

    pub fn ack_timed_out(&self) {
        self.ack_timeouts.fetch_add(1, Relaxed);
    }
}

/// A namespace as [`Stats`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceStats {
    /// Its name (`/`, `/chat`, a child of a dynamic namespace…).
    pub name: String,
    /// Its sockets on this node.
    pub sockets: usize,
    /// Its rooms with at least one member on this node, sockets' own-id rooms not counted.
    pub rooms: usize,
}

/// What the server has counted since it started, and what it holds now
/// ([`SocketIo::stats`](crate::SocketIo::stats)). Counters only grow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Engine.IO sessions open now on HTTP long-polling (not upgraded).
    pub polling_sessions: usize,
    /// Engine.IO sessions open now on WebSocket.
    pub websocket_sessions: usize,
    /// Engine.IO sessions open now on WebTransport.
    pub webtransport_sessions: usize,
    /// Sessions opened since the start, by the transport of their handshake.
    pub sessions_opened: [(Transport, u64); Transport::ALL.len()],
    /// Sessions closed since the start, by reason (in the order of [`CLOSE_REASONS`]).
    pub sessions_closed: [(CloseReason, u64); CLOSE_REASONS.len()],
    /// Engine.IO traffic since the start.
    pub traffic: Traffic,
    /// Volatile packets dropped because their connection could not take them at once.
    pub volatile_dropped: u64,
    /// Sockets that joined a namespace since the start.
    pub connects: u64,
    /// Sockets that left one, by reason (in the order of [`DISCONNECT_REASONS`]).
    pub disconnects: [(DisconnectReason, u64); DISCONNECT_REASONS.len()],
    /// Broadcasts (`to(…).emit`, `io.emit`, …) since the start, each counted once
    /// whatever the number of recipients.
    pub broadcasts: u64,
    /// Acks that did not come in time: one per socket awaited (a broadcast with acks
    /// counts each socket that did not answer).
    pub ack_timeouts: u64,
    /// Every namespace, with its sockets and rooms on this node.
    pub namespaces: Vec<NamespaceStats>,
}

/// The engine's part of a [`Stats`]: what its live sessions and its totals hold.
#[derive(Default)]
pub(crate) struct EngineSnapshot {
    pub polling: usize,
    pub websocket: usize,
    pub webtransport: usize,
    pub traffic: Traffic,
    pub volatile_dropped: u64,
}

impl Stats {
    pub(crate) fn new(
        engine: Option<&EngineCounters>,
        now: EngineSnapshot,
        sockets: &SocketCounters,
        namespaces: Vec<NamespaceStats>,
    ) -> Self {
        Stats {
            polling_sessions: now.polling,
            websocket_sessions: now.websocket,
            webtransport_sessions: now.webtransport,
            sessions_opened: Transport::ALL.map(|t| {
                let n = engine.map_or(0, |e| e.opened[transport_index(t)].load(Relaxed));
                (t, n)
            }),
            sessions_closed: CLOSE_REASONS.map(|r| {
                (
                    r,
                    engine.map_or(0, |e| e.closed[close_index(r)].load(Relaxed)),
                )
            }),
            traffic: now.traffic,
            volatile_dropped: now.volatile_dropped,
            connects: sockets.connects.load(Relaxed),
            disconnects: DISCONNECT_REASONS
                .map(|r| (r, sockets.disconnects[disconnect_index(r)].load(Relaxed))),
            broadcasts: sockets.broadcasts.load(Relaxed),
            ack_timeouts: sockets.ack_timeouts.load(Relaxed),
            namespaces,
        }
    }
}
