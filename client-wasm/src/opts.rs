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
    /// WebTransport (feature `webtransport`): the server must serve it, on the UDP port of
    /// the URL's port, with a certificate the browser trusts (or whose hash
    /// [`Options::webtransport`] gives).
    #[cfg(feature = "webtransport")]
    WebTransport,
}

impl TransportKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
            #[cfg(feature = "webtransport")]
            TransportKind::WebTransport => "webtransport",
        }
    }

    /// Whether it is one stream both ways (WebSocket, WebTransport), not requests.
    pub(crate) fn is_stream(self) -> bool {
        self != TransportKind::Polling
    }
}

/// The transports a session may use: the one it starts with, and which it may upgrade to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Allowed {
    pub(crate) start: TransportKind,
    pub(crate) ws: bool,
    #[cfg(feature = "webtransport")]
    pub(crate) wt: bool,
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
    /// A custom parser (feature `parser`): an object with socket.io-client's parser
    /// interface, its `Encoder` and `Decoder` classes, such as the module of npm's
    /// `socket.io-msgpack-parser`; undefined for the built-in parser. The server must use
    /// the same one.
    #[cfg(feature = "parser")]
    pub parser: JsValue,
    /// The options of the browser's `WebTransport` (feature `webtransport`), as
    /// socket.io-client's `transportOptions.webtransport`: `{ serverCertificateHashes:
    /// [{ algorithm: "sha-256", value }] }` for a development certificate, say.
    #[cfg(feature = "webtransport")]
    pub webtransport: JsValue,
}

impl Default for Options {
    fn default() -> Self {
        let c = Config::new(&[]);
        Self {
            path: String::from(DEFAULT_PATH),
            query: Vec::new(),
            transports: vec![
                #[cfg(feature = "polling")]
                TransportKind::Polling,
                #[cfg(feature = "websocket")]
                TransportKind::WebSocket,
                #[cfg(feature = "webtransport")]
                TransportKind::WebTransport,
            ],
            upgrade: c.flag(opt::UPGRADE),
            remember_upgrade: c.flag(opt::REMEMBER_UPGRADE),
            reconnection: c.flag(opt::RECONNECTION),
            reconnection_attempts: c.count(opt::RECONNECTION_ATTEMPTS),
            reconnection_delay: c.get(opt::RECONNECTION_DELAY),
            reconnection_delay_max: c.get(opt::RECONNECTION_DELAY_MAX),
            randomization_factor: c.get(opt::RANDOMIZATION_FACTOR),
            timeout: c.get(opt::TIMEOUT),
            auto_connect: c.flag(opt::AUTO_CONNECT),
            ack_timeout: c.ack_timeout(),
            retries: c.count(opt::RETRIES),
            auth: JsValue::UNDEFINED,
            extra_headers: Vec::new(),
            with_credentials: c.flag(opt::WITH_CREDENTIALS),
            timestamp_requests: c.flag(opt::TIMESTAMP_REQUESTS),
            add_trailing_slash: c.flag(opt::ADD_TRAILING_SLASH),
            protocols: JsValue::UNDEFINED,
            max_buffered: c.count(opt::MAX_BUFFERED) as usize,
            #[cfg(feature = "parser")]
            parser: JsValue::UNDEFINED,
            #[cfg(feature = "webtransport")]
            webtransport: JsValue::UNDEFINED,
        }
    }
}

impl Options {
    /// The numeric and boolean options, as the core keeps them.
    pub(crate) fn config(&self) -> Config {
        let b = |v: bool| f64::from(u8::from(v));
        let mut transports = 0;
        for (i, t) in self.transports.iter().enumerate() {
            transports |= match t {
                TransportKind::Polling => transport::POLLING,
                TransportKind::WebSocket if i == 0 => transport::WEBSOCKET | transport::WS_FIRST,
                TransportKind::WebSocket => transport::WEBSOCKET,
                #[cfg(feature = "webtransport")]
                TransportKind::WebTransport if i == 0 => {
                    transport::WEBTRANSPORT | transport::WT_FIRST
                }
                #[cfg(feature = "webtransport")]
                TransportKind::WebTransport => transport::WEBTRANSPORT,
            };
        }
        Config::new(&[
            b(self.upgrade),
            b(self.remember_upgrade),
            b(self.reconnection),
            match self.reconnection_attempts {
                u32::MAX => f64::INFINITY,
                n => f64::from(n),
            },
            self.reconnection_delay,
            self.reconnection_delay_max,
            self.randomization_factor,
            self.timeout,
            b(self.with_credentials),
            b(self.timestamp_requests),
            b(self.add_trailing_slash),
            self.ack_timeout.unwrap_or(f64::NAN),
            f64::from(self.retries),
            self.max_buffered as f64,
            f64::from(transports),
            b(self.auto_connect),
        ])
    }
}

/// The default `path`.
pub(crate) const DEFAULT_PATH: &str = "/socket.io";

/// Indices of the numeric and boolean options in a [`Config`]. glue.js `opts` lists the
/// socket.io-client names in this order; `manager.reconnection()` and the other tunables of
/// the JS API are `RECONNECTION..=TIMEOUT`.
pub(crate) mod opt {
    pub(crate) const UPGRADE: usize = 0;
    pub(crate) const REMEMBER_UPGRADE: usize = 1;
    pub(crate) const RECONNECTION: usize = 2;
    pub(crate) const RECONNECTION_ATTEMPTS: usize = 3;
    pub(crate) const RECONNECTION_DELAY: usize = 4;
    pub(crate) const RECONNECTION_DELAY_MAX: usize = 5;
    pub(crate) const RANDOMIZATION_FACTOR: usize = 6;
    pub(crate) const TIMEOUT: usize = 7;
    pub(crate) const WITH_CREDENTIALS: usize = 8;
    pub(crate) const TIMESTAMP_REQUESTS: usize = 9;
    pub(crate) const ADD_TRAILING_SLASH: usize = 10;
    pub(crate) const ACK_TIMEOUT: usize = 11;
    pub(crate) const RETRIES: usize = 12;
    pub(crate) const MAX_BUFFERED: usize = 13;
    /// Bits of [`transport`](super::transport).
    pub(crate) const TRANSPORTS: usize = 14;
    pub(crate) const AUTO_CONNECT: usize = 15;
    pub(crate) const COUNT: usize = 16;
}

/// Bits of the `TRANSPORTS` option.
pub(crate) mod transport {
    pub(crate) const POLLING: u8 = 1;
    pub(crate) const WEBSOCKET: u8 = 2;
    /// WebSocket comes before polling in the list.
    pub(crate) const WS_FIRST: u8 = 4;
    #[cfg(feature = "webtransport")]
    pub(crate) const WEBTRANSPORT: u8 = 8;
    /// WebTransport is first in the list.
    #[cfg(feature = "webtransport")]
    pub(crate) const WT_FIRST: u8 = 16;
}

/// The defaults, socket.io-client's (NaN: none).
const DEFAULTS: [f64; opt::COUNT] = [
    1.0,
    0.0,
    1.0,
    f64::INFINITY,
    1000.0,
    5000.0,
    0.5,
    20000.0,
    0.0,
    1.0,
    1.0,
    f64::NAN,
    0.0,
    10_000.0,
    // socket.io-client's ["polling", "websocket", "webtransport"], less what the build lacks.
    #[cfg(not(feature = "webtransport"))]
    {
        (transport::POLLING | transport::WEBSOCKET) as f64
    },
    #[cfg(feature = "webtransport")]
    {
        (transport::POLLING | transport::WEBSOCKET | transport::WEBTRANSPORT) as f64
    },
    1.0,
];

/// The numeric and boolean options by index ([`opt`]); booleans are 0 or 1. The JS API
/// passes them as one array (one copy into wasm instead of a call per option).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config([f64; opt::COUNT]);

impl Config {
    /// The options `given` by index; NaN or missing ones keep their default.
    pub(crate) fn new(given: &[f64]) -> Config {
        let mut c = DEFAULTS;
        for (c, g) in c.iter_mut().zip(given) {
            if !g.is_nan() {
                *c = *g;
            }
        }
        Config(c)
    }

    /// The options in the JS array `given` (glue.js `opts`), as [`new`](Self::new) has
    /// them: read one by one rather than passed as a slice, which costs wasm-bindgen's
    /// array copying in the JS.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn from_js(given: &JsValue) -> Config {
        let given: &Array = given.unchecked_ref();
        let mut c = [f64::NAN; opt::COUNT];
        for (i, c) in c.iter_mut().enumerate() {
            *c = js::nth(given, i as i32);
        }
        Config::new(&c)
    }

    pub(crate) fn get(&self, i: usize) -> f64 {
        self.0.get(i).copied().unwrap_or(f64::NAN)
    }

    /// Sets option `i`, if there is one.
    pub(crate) fn set(&mut self, i: usize, v: f64) {
        if let Some(c) = self.0.get_mut(i) {
            *c = v;
        }
    }

    pub(crate) fn flag(&self, i: usize) -> bool {
        self.get(i) != 0.0
    }

    /// A count (negative: 0; Infinity saturates).
    pub(crate) fn count(&self, i: usize) -> u32 {
        self.get(i).max(0.0) as u32
    }

    pub(crate) fn ack_timeout(&self) -> Option<f64> {
        Some(self.get(opt::ACK_TIMEOUT)).filter(|t| !t.is_nan())
    }

    /// The transport to start with, and which may be upgraded to. Transports this build
    /// lacks are ignored; with none left, the build's own is used.
    pub(crate) fn transports(&self) -> Allowed {
        let bits = self.count(opt::TRANSPORTS) as u8;
        let polling = cfg!(feature = "polling") && bits & transport::POLLING != 0;
        let ws = cfg!(feature = "websocket") && bits & transport::WEBSOCKET != 0;
        let ws_first = ws && (!polling || bits & transport::WS_FIRST != 0);
        #[cfg_attr(not(feature = "webtransport"), allow(unused_mut))]
        let mut start = if ws_first || (!polling && !cfg!(feature = "polling")) {
            TransportKind::WebSocket
        } else {
            TransportKind::Polling
        };
        #[cfg(feature = "webtransport")]
        let wt = bits & transport::WEBTRANSPORT != 0;
        // First in the list, or the only one this build has.
        #[cfg(feature = "webtransport")]
        if wt && (bits & transport::WT_FIRST != 0 || !(polling || ws)) {
            start = TransportKind::WebTransport;
        }
        Allowed {
            start,
            ws,
            #[cfg(feature = "webtransport")]
            wt,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::opt;

    /// glue.js `OPTS` names the options in the order of [`opt`].
    #[test]
    fn glue_js_lists_the_options_in_this_order() {
        let names = [
            (opt::UPGRADE, "upgrade"),
            (opt::REMEMBER_UPGRADE, "rememberUpgrade"),
            (opt::RECONNECTION, "reconnection"),
            (opt::RECONNECTION_ATTEMPTS, "reconnectionAttempts"),
            (opt::RECONNECTION_DELAY, "reconnectionDelay"),
            (opt::RECONNECTION_DELAY_MAX, "reconnectionDelayMax"),
            (opt::RANDOMIZATION_FACTOR, "randomizationFactor"),
            (opt::TIMEOUT, "timeout"),
            (opt::WITH_CREDENTIALS, "withCredentials"),
            (opt::TIMESTAMP_REQUESTS, "timestampRequests"),
            (opt::ADD_TRAILING_SLASH, "addTrailingSlash"),
            (opt::ACK_TIMEOUT, "ackTimeout"),
            (opt::RETRIES, "retries"),
            (opt::MAX_BUFFERED, "maxBufferedEmits"),
            (opt::TRANSPORTS, "transports"),
            (opt::AUTO_CONNECT, "autoConnect"),
        ];
        let glue = crate::js_source::words(crate::js_source::GLUE, "OPTS");
        assert_eq!(glue.len(), opt::COUNT);
        for (i, name) in names {
            assert_eq!(glue[i], name, "option {i}");
        }
    }
}
