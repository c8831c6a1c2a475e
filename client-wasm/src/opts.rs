//! Connection options, with socket.io-client's names and defaults.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use wasm_bindgen::{JsCast, JsValue};

use crate::js::{self, Array};

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
        }
    }
}

impl Options {
    /// Options from a socket.io-client options object; absent or ill-typed ones keep their
    /// defaults. glue.js `opts` lists the fields in the order read here.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn from_js(o: &JsValue) -> Options {
        let a = js::opts(o);
        let mut opts = Options::default();
        let num = |i| a.at(i).as_f64();
        let flag = |i, d: bool| a.at(i).as_bool().unwrap_or(d);
        if let Some(p) = a.at(0).as_string() {
            opts.path = p;
        }
        opts.query = pairs(&a.at(1));
        let transports = a.at(2);
        if Array::is_array(&transports) {
            opts.transports = transports
                .unchecked_ref::<Array>()
                .to_vec()
                .iter()
                .filter_map(|t| TransportKind::from_name(&t.as_string()?))
                .collect();
        }
        opts.upgrade = flag(3, opts.upgrade);
        opts.remember_upgrade = flag(4, opts.remember_upgrade);
        opts.reconnection = flag(5, opts.reconnection);
        if let Some(n) = num(6) {
            // Infinity saturates.
            opts.reconnection_attempts = n.max(0.0) as u32;
        }
        opts.reconnection_delay = num(7).unwrap_or(opts.reconnection_delay);
        opts.reconnection_delay_max = num(8).unwrap_or(opts.reconnection_delay_max);
        opts.randomization_factor = num(9).unwrap_or(opts.randomization_factor);
        opts.timeout = num(10).unwrap_or(opts.timeout);
        opts.auto_connect = flag(11, opts.auto_connect);
        opts.ack_timeout = num(12);
        opts.retries = num(13).map_or(0, |n| n.max(0.0) as u32);
        opts.auth = a.at(14);
        opts.extra_headers = pairs(&a.at(15));
        opts.with_credentials = flag(16, opts.with_credentials);
        opts.timestamp_requests = flag(17, opts.timestamp_requests);
        opts.add_trailing_slash = flag(18, opts.add_trailing_slash);
        opts.protocols = a.at(19);
        if let Some(n) = num(20) {
            opts.max_buffered = n.max(0.0) as usize;
        }
        opts
    }
}

/// `[k1, v1, …]` (strings) as pairs.
fn pairs(kv: &JsValue) -> Vec<(String, String)> {
    if !Array::is_array(kv) {
        return Vec::new();
    }
    let kv = kv.unchecked_ref::<Array>().to_vec();
    kv.chunks_exact(2)
        .filter_map(|p| Some((p[0].as_string()?, p[1].as_string()?)))
        .collect()
}
