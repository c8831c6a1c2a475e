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

/// The transports a session may use, in the order of [`Options::transports`]: the first
/// opens the connection (the next ones too with `tryAllTransports`), those after the one in
/// use may be upgraded to. Each kind once; none that this build lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Allowed(u32);

impl Allowed {
    /// The `i`th transport of the list.
    pub(crate) fn get(self, i: usize) -> Option<TransportKind> {
        transport::kind((self.0.checked_shr(2 * i as u32).unwrap_or(0) & 3) as u8)
    }

    /// Whether `kind` is in the list at `from` or after.
    pub(crate) fn has(self, from: usize, kind: TransportKind) -> bool {
        (from..3).any(|i| self.get(i) == Some(kind))
    }

    /// The list from [`transport::code`]s, first in the lowest two bits (glue.js `opts`).
    /// Transports this build lacks are ignored; with none left, the build's own is used.
    pub(crate) fn decode(mut codes: u64) -> Allowed {
        let (mut list, mut n, mut seen) = (0u32, 0u32, 0u8);
        while codes > 0 {
            let c = (codes & 3) as u8;
            codes >>= 2;
            if transport::kind(c).is_some() && seen & 1 << c == 0 {
                seen |= 1 << c;
                list |= u32::from(c) << n;
                n += 2;
            }
        }
        if list == 0 {
            list = u32::from(transport::code(OWN));
        }
        Allowed(list)
    }
}

/// The transport of a build whose list has none it knows: polling, else WebSocket, else
/// WebTransport.
#[cfg(feature = "polling")]
const OWN: TransportKind = TransportKind::Polling;
#[cfg(all(not(feature = "polling"), feature = "websocket"))]
const OWN: TransportKind = TransportKind::WebSocket;
#[cfg(all(
    not(feature = "polling"),
    not(feature = "websocket"),
    feature = "webtransport"
))]
const OWN: TransportKind = TransportKind::WebTransport;

/// Options of a [`Manager`](crate::Manager) and of the sockets it opens. Field names follow
/// socket.io-client's options (`reconnection_delay_max` is `reconnectionDelayMax`, …).
#[derive(Debug, Clone)]
pub struct Options {
    /// Path of the Socket.IO endpoint on the server.
    pub path: String,
    /// Query parameters added to every Engine.IO request.
    pub query: Vec<(String, String)>,
    /// Transports to try, in order; the first one opens the connection, the others may be
    /// upgraded to.
    pub transports: Vec<TransportKind>,
    /// When the first transport fails to connect, try the next one of `transports` (and so
    /// on) before reporting an error, as socket.io-client's `tryAllTransports`.
    pub try_all_transports: bool,
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
            try_all_transports: c.flag(opt::TRY_ALL_TRANSPORTS),
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
        // The list as glue.js `opts` encodes it (two bits a transport, first lowest); past
        // 31 transports, the rest would not fit (nor be needed: there are three kinds).
        let transports = self
            .transports
            .iter()
            .take(31)
            .rev()
            .fold(0u64, |b, &t| b << 2 | u64::from(transport::code(t)));
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
            transports as f64,
            b(self.auto_connect),
            b(self.try_all_transports),
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
    /// The list of [`transport::code`](super::transport::code)s, two bits each, the first
    /// in the lowest.
    pub(crate) const TRANSPORTS: usize = 14;
    pub(crate) const AUTO_CONNECT: usize = 15;
    pub(crate) const TRY_ALL_TRANSPORTS: usize = 16;
    pub(crate) const COUNT: usize = 17;
}

/// The codes of the `TRANSPORTS` option: glue.js `opts` gives a transport its index in
/// `TRANSPORTS` plus one (in every build: one without WebTransport ignores its code).
pub(crate) mod transport {
    use super::TransportKind;

    pub(crate) const POLLING: u8 = 1;
    pub(crate) const WEBSOCKET: u8 = 2;
    pub(crate) const WEBTRANSPORT: u8 = 3;

    pub(crate) fn code(kind: TransportKind) -> u8 {
        match kind {
            TransportKind::Polling => POLLING,
            TransportKind::WebSocket => WEBSOCKET,
            #[cfg(feature = "webtransport")]
            TransportKind::WebTransport => WEBTRANSPORT,
        }
    }

    /// The transport of `code`, if this build has it.
    pub(crate) fn kind(code: u8) -> Option<TransportKind> {
        match code {
            POLLING if cfg!(feature = "polling") => Some(TransportKind::Polling),
            WEBSOCKET if cfg!(feature = "websocket") => Some(TransportKind::WebSocket),
            #[cfg(feature = "webtransport")]
            WEBTRANSPORT => Some(TransportKind::WebTransport),
            _ => None,
        }
    }
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
    // socket.io-client's ["polling", "websocket", "webtransport"] (a build ignores those it
    // lacks).
    (transport::POLLING as u32
        | (transport::WEBSOCKET as u32) << 2
        | (transport::WEBTRANSPORT as u32) << 4) as f64,
    1.0,
    0.0,
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

    /// The transports, in order ([`Allowed`]).
    pub(crate) fn transports(&self) -> Allowed {
        // (A float beyond u64 saturates; NaN and negatives are 0: the build's own.)
        Allowed::decode(self.get(opt::TRANSPORTS) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::{Allowed, Config, TransportKind, opt, transport};

    /// The list glue.js `opts` would make of `names`: `reduceRight((b, t) => b * 4 + code)`.
    fn encoded(codes: &[u8]) -> f64 {
        codes.iter().rev().fold(0.0, |b, &c| b * 4.0 + f64::from(c))
    }

    fn list(a: Allowed) -> alloc::vec::Vec<TransportKind> {
        (0..).map_while(|i| a.get(i)).collect()
    }

    #[test]
    fn transports_keep_their_order_once_each() {
        use TransportKind::{Polling, WebSocket};
        let mut given = [f64::NAN; opt::COUNT];
        let cases: [(&[u8], &[TransportKind]); 5] = [
            (
                &[transport::WEBSOCKET, transport::POLLING],
                &[WebSocket, Polling],
            ),
            (
                &[transport::POLLING, transport::WEBSOCKET],
                &[Polling, WebSocket],
            ),
            (
                &[
                    transport::WEBSOCKET,
                    transport::WEBSOCKET,
                    transport::POLLING,
                ],
                &[WebSocket, Polling],
            ),
            // Unknown names (glue.js drops them) and, here, WebTransport without its feature.
            #[cfg(not(feature = "webtransport"))]
            (
                &[transport::WEBTRANSPORT, transport::WEBSOCKET],
                &[WebSocket],
            ),
            #[cfg(feature = "webtransport")]
            (
                &[transport::WEBTRANSPORT, transport::WEBSOCKET],
                &[TransportKind::WebTransport, WebSocket],
            ),
            // None known: the build's own.
            (&[], &[Polling]),
        ];
        for (codes, kinds) in cases {
            given[opt::TRANSPORTS] = encoded(codes);
            let a = Config::new(&given).transports();
            assert_eq!(list(a), kinds, "{codes:?}");
            // Each kind once: the first is not after itself.
            assert!(a.has(0, kinds[kinds.len() - 1]));
            assert!(!a.has(1, kinds[0]));
        }
    }

    /// glue.js `opts` codes a transport by its place in `TRANSPORTS`.
    #[test]
    fn glue_js_codes_the_transports_so() {
        assert_eq!(
            (
                transport::POLLING,
                transport::WEBSOCKET,
                transport::WEBTRANSPORT
            ),
            (1, 2, 3)
        );
        let decl = r#"const TRANSPORTS = ["polling", "websocket", "webtransport"];"#;
        assert!(
            crate::js_source::GLUE.contains(decl),
            "glue.js declares `{decl}`"
        );
    }

    #[test]
    fn try_all_transports_is_off_by_default() {
        assert!(!Config::new(&[]).flag(opt::TRY_ALL_TRANSPORTS));
    }

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
            (opt::TRY_ALL_TRANSPORTS, "tryAllTransports"),
        ];
        let glue = crate::js_source::words(crate::js_source::GLUE, "OPTS");
        assert_eq!(glue.len(), opt::COUNT);
        for (i, name) in names {
            assert_eq!(glue[i], name, "option {i}");
        }
    }
}
