//! Connection options, with socket.io-client's names and defaults.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use wasm_bindgen::JsValue;

/// A transport the client may use, in the order given by [`Options::transports`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// HTTP long-polling (`fetch`).
    Polling,
    /// WebSocket.
    WebSocket,
}

impl TransportKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            #[cfg(feature = "polling")]
            "polling" => Some(TransportKind::Polling),
            #[cfg(feature = "websocket")]
            "websocket" => Some(TransportKind::WebSocket),
            _ => None,
        }
    }
}

/// Options of a [`Manager`](crate::Manager) and of the sockets it opens. Field names follow
/// socket.io-client's options (`reconnection_delay_max` is `reconnectionDelayMax`, …).
#[derive(Debug, Clone)]
pub struct Options {
    /// Path of the Socket.IO endpoint on the server.
    pub path: String,
    /// Query parameters added to every Engine.IO request.
    pub query: Vec<(String, String)>,
    /// Transports to try, in order; the first one opens the connection.
    pub transports: Vec<TransportKind>,
    /// Whether to upgrade from polling to WebSocket when the server offers it.
    pub upgrade: bool,
    /// Start with WebSocket when a previous connection of this page upgraded to it.
    pub remember_upgrade: bool,
    /// Whether to reconnect after the connection is lost.
    pub reconnection: bool,
    /// Attempts before giving up (`reconnect_failed`); `u32::MAX` for no limit.
    pub reconnection_attempts: u32,
    /// First reconnection delay (ms); it doubles at every attempt.
    pub reconnection_delay: f64,
    /// Largest reconnection delay (ms).
    pub reconnection_delay_max: f64,
    /// Jitter applied to every delay, `0.0..=1.0`.
    pub randomization_factor: f64,
    /// Connection timeout (ms): a handshake that takes longer fails with `timeout`.
    pub timeout: f64,
    /// Whether `io()` connects at once.
    pub auto_connect: bool,
    /// Default ack timeout (ms) of every emit with an ack.
    pub ack_timeout: Option<f64>,
    /// Times an emit is retried when its ack times out (needs `ack_timeout`).
    pub retries: u32,
    /// Payload of the CONNECT packet, or a function `(cb) => cb(payload)` (JS API).
    pub auth: JsValue,
    /// Headers added to polling requests (browsers refuse them on WebSocket).
    pub extra_headers: Vec<(String, String)>,
    /// Send cookies on cross-origin polling requests.
    pub with_credentials: bool,
    /// Add a cache-busting `t` parameter to polling requests.
    pub timestamp_requests: bool,
    /// Add a trailing slash to `path`, as the JS client does.
    pub add_trailing_slash: bool,
    /// WebSocket sub-protocols.
    pub protocols: JsValue,
    /// Emits kept while disconnected, and events received before the socket is connected.
    /// Past this bound new emits are dropped (their ack, if error-first, gets an error):
    /// a page that stays offline does not grow without limit.
    pub max_buffered: usize,
    /// Force a new Manager instead of reusing the cached one for the same server.
    pub force_new: bool,
    /// Share one Manager (and one connection) between the namespaces of a server.
    pub multiplex: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            path: String::from("/socket.io"),
            query: Vec::new(),
            transports: vec![
                #[cfg(feature = "polling")]
                TransportKind::Polling,
                #[cfg(feature = "websocket")]
                TransportKind::WebSocket,
            ],
            upgrade: true,
            remember_upgrade: false,
            reconnection: true,
            reconnection_attempts: u32::MAX,
            reconnection_delay: 1000.0,
            reconnection_delay_max: 5000.0,
            randomization_factor: 0.5,
            timeout: 20000.0,
            auto_connect: true,
            ack_timeout: None,
            retries: 0,
            auth: JsValue::UNDEFINED,
            extra_headers: Vec::new(),
            with_credentials: false,
            timestamp_requests: true,
            add_trailing_slash: true,
            protocols: JsValue::UNDEFINED,
            max_buffered: 10_000,
            force_new: false,
            multiplex: true,
        }
    }
}
