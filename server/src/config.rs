//! Server settings, with Node `socket.io`'s defaults.

use std::time::Duration;

/// Which transports the server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transports {
    /// HTTP long-polling.
    pub polling: bool,
    /// WebSocket.
    pub websocket: bool,
}

impl Default for Transports {
    fn default() -> Self {
        Self {
            polling: true,
            websocket: true,
        }
    }
}

/// How Socket.IO packets are written on the wire; every namespace of a server uses one, as
/// in Node, and its clients must use the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parser {
    /// The default parser: JSON text, binary as attachments.
    #[default]
    Default,
    /// npm `socket.io-msgpack-parser` 3: one msgpack binary message per packet, binary
    /// inline (see `sio_protocol::msgpack::packet`).
    MsgPack,
}

/// Every limit and timing of the server. Build it through
/// [`SocketIoBuilder`](crate::SocketIoBuilder); the defaults are Node's.
#[derive(Debug, Clone)]
pub struct Config {
    /// The path the server answers on, with leading and trailing `/` (default `/socket.io/`).
    pub path: String,
    /// Time between two pings (`pingInterval`, default 25 s).
    pub ping_interval: Duration,
    /// Time to wait for a pong before closing (`pingTimeout`, default 20 s).
    pub ping_timeout: Duration,
    /// Time a session may stay without any namespace connected (`connectTimeout`, 45 s).
    pub connect_timeout: Duration,
    /// Time a WebSocket probe may take to complete the upgrade (`upgradeTimeout`, 10 s).
    pub upgrade_timeout: Duration,
    /// Time a connection closed by the server may take to deliver its last packets (1 s).
    pub close_timeout: Duration,
    /// Largest polling body or WebSocket message accepted (`maxHttpBufferSize`, 1 MB).
    pub max_payload: usize,
    /// Transports offered (both by default).
    pub transports: Transports,
    /// Whether polling sessions may upgrade to WebSocket (default true).
    pub allow_upgrades: bool,
    /// Packets queued for one session before it is closed as too slow (default 10 000).
    pub max_buffered_packets: usize,
    /// Binary attachments accepted in one packet (default 10, as socket.io-parser).
    pub max_attachments: usize,
    /// Namespaces one session may join at once (default 64).
    pub max_namespaces_per_session: usize,
    /// WebSocket read buffer per connection, in bytes (default 256). Each connection keeps
    /// one, grown only while it reads a larger frame; the socket itself is read up to 64 KiB
    /// at a time through one buffer per thread, so a small one costs no system calls.
    pub ws_read_buffer: usize,
    /// WebSocket write buffer per connection before a flush is forced (default 64 KiB).
    pub ws_write_buffer: usize,
    /// Time a polling POST may take to deliver its body before the session is closed as
    /// broken (default 45 s: a ping interval plus a ping timeout).
    pub post_timeout: Duration,
    /// Time an `emit_with_ack` without its own timeout waits for the ack (default 60 s).
    /// Node waits until the socket disconnects; a bound keeps a client that never acks
    /// from piling up pending acks for the life of its connection.
    pub ack_timeout: Duration,
    /// Whether a child of a dynamic namespace is removed once it has no socket, connecting
    /// or connected (Node's `cleanupEmptyChildNamespaces`; default true, where Node's is
    /// false: each child holds an adapter, and with Redis its subscriptions).
    pub cleanup_empty_child_namespaces: bool,
    /// Children of dynamic namespaces that may exist at once (default 10 000); a CONNECT
    /// that would make one more is refused as an invalid namespace.
    pub max_dynamic_namespaces: usize,
    /// Connection state recovery (Node's `connectionStateRecovery`; off by default): see
    /// [`recovery`](crate::recovery).
    pub connection_state_recovery: Option<crate::RecoveryConfig>,
    /// How every namespace encodes its packets (Node's `parser` option).
    pub parser: Parser,
    /// The allowed `Origin`s and the `allow_request` hook (none by default, as in Node).
    pub gate: crate::engine::Gate,
    /// Headers added to the engine's answers (hooks and the session cookie).
    pub headers: crate::engine::ResponseHeaders,
    /// What a connection keeps of its handshake request's extensions.
    pub(crate) carry: Option<crate::handshake::Carry>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            path: "/socket.io/".into(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            connect_timeout: Duration::from_millis(45_000),
            upgrade_timeout: Duration::from_millis(10_000),
            close_timeout: Duration::from_millis(1_000),
            max_payload: 1_000_000,
            transports: Transports::default(),
            allow_upgrades: true,
            max_buffered_packets: 10_000,
            max_attachments: 10,
            max_namespaces_per_session: 64,
            ws_read_buffer: 256,
            ws_write_buffer: 64 * 1024,
            post_timeout: Duration::from_millis(45_000),
            ack_timeout: Duration::from_millis(60_000),
            cleanup_empty_child_namespaces: true,
            max_dynamic_namespaces: 10_000,
            connection_state_recovery: None,
            parser: Parser::Default,
            gate: crate::engine::Gate::default(),
            headers: crate::engine::ResponseHeaders::default(),
            carry: None,
        }
    }
}
