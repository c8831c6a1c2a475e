//! The demo chat: the page in `www/`, the wasm client's bundle and the Socket.IO endpoint,
//! served by one axum app.
//!
//! ```sh
//! scripts/build-client.sh   # the wasm client, into client-wasm/pkg
//! cargo run --release -p sio-server --example chat
//! # open http://127.0.0.1:3000 (wasm client) or /js-client.html (socket.io-client)
//! ```
//!
//! `scripts/demo.sh cluster` runs two nodes of it on one Redis (`REDIS_URL`, the Streams
//! adapter) and one `DATA_DIR`: what a page sees then spans both (`chat/roster.rs`).
//!
//! | path | what |
//! | --- | --- |
//! | `/` | `www/`: `index.html` (the chat on the wasm client), `js-client.html` (the same chat on socket.io-client) |
//! | `/pkg/` | the wasm client (`sio_client.js`, `sio_client_bg.wasm`), by [`ClientBundle`] |
//! | `/vendor/socket.io-client/` | socket.io-client's `dist/`, for `js-client.html` |
//! | `/socket.io/` | the chat (namespace `/`; events in `chat/wire.rs`) |
//! | `/metrics` | the server's counters for Prometheus, when built with `--features metrics` ([`sio_server::metrics`]) |
//!
//! | env | default |
//! | --- | --- |
//! | `HOST`, `PORT` | `127.0.0.1`, `3000` |
//! | `SIO_CLIENT_PKG` | `client-wasm/pkg` |
//! | `SIO_CHAT_WWW` | `www` |
//! | `SIO_JS_CLIENT_DIR` | `tests/node_modules/socket.io-client/dist` (`npm ci` in `tests/`) |
//! | `CHAT_CHANNELS` | `general,random,rust` |
//! | `CHAT_MAX_NAME`, `CHAT_MAX_MESSAGE` | 24, 500 characters |
//! | `DATA_DIR` | `data` (the history database, `chat.sqlite3`; created if missing) |
//! | `CHAT_HISTORY` | 50 messages per channel shown on joining, and per "load older" |
//! | `CHAT_KEEP` | 10,000 messages kept per channel (older ones are deleted) |
//! | `CHAT_RATE_BURST`, `CHAT_RATE_REFILL_MS` | 5 messages (or joins, leaves, direct messages) at once, then one a second |
//! | `CHAT_READ_BURST`, `CHAT_READ_REFILL_MS` | 20 history pages at once, then one per 250 ms |
//! | `CHAT_TYPING_BURST`, `CHAT_TYPING_REFILL_MS` | 5 typing notifications at once, then one per 500 ms (the rest are dropped) |
//! | `MAX_PAYLOAD`, `PING_INTERVAL_MS`, `PING_TIMEOUT_MS` | 64 KiB, 25 s, 20 s |
//! | `CHAT_RECOVERY_MS` | 120,000: a connection cut for less comes back as it was, with what it missed (connection state recovery; 0: off) |
//! | `REDIS_URL` (and `REDIS_STREAMS=1`, …, as the contract server: `CONTRACT.md`) | none: one node. Set, the node joins the others on that Redis: messages, members, nicknames and direct messages span the nodes (`chat/roster.rs`); give them one `DATA_DIR` to share the history |
//! | `CHAT_ROSTER_REFRESH_MS` | 30,000: how often a node of a cluster fetches the other nodes' members again |
//!
//! Relative paths are relative to the working directory; the defaults of the files served
//! are inside this repository wherever the server runs from, `DATA_DIR` is where it runs.

use axum::Router;
use http::HeaderValue;
use http::header::CONTENT_SECURITY_POLICY;
use sio_server::{ClientBundle, RecoveryConfig, SocketIo};
use tower_http::set_header::SetResponseHeader;

#[path = "chat/config.rs"]
mod config;
#[path = "chat/events.rs"]
mod events;

#[path = "shared/cluster.rs"]
mod cluster;
#[path = "chat/rate_limit.rs"]
mod rate_limit;
#[path = "chat/roster.rs"]
mod roster;
#[path = "shared/serve.rs"]
mod serve;
#[path = "chat/store.rs"]
mod store;
#[path = "chat/validate.rs"]
mod validate;
#[path = "chat/wire.rs"]
mod wire;

use config::Config;

/// The page runs only its own scripts and the client's wasm, and talks only to its origin:
/// a message that slipped past the page's text-only rendering still could not run.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn app(cfg: &Config) -> Router {
    let www = SetResponseHeader::overriding(
        ClientBundle::new(&cfg.www).into_service(),
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    Router::new()
        .nest_service("/pkg", ClientBundle::new(&cfg.pkg).into_service())
        .nest_service(
            "/vendor/socket.io-client",
            ClientBundle::new(&cfg.js_client).into_service(),
        )
        .fallback_service(www)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    serve::init_tracing();
    let cfg = Config::from_env();
    if !ClientBundle::new(&cfg.pkg).is_built() {
        tracing::warn!(
            "no wasm client in {}: build it with scripts/build-client.sh (or set SIO_CLIENT_PKG)",
            cfg.pkg.display()
        );
    }
    if !cfg.js_client.join("socket.io.esm.min.js").is_file() {
        tracing::warn!(
            "no socket.io-client in {}: js-client.html needs `npm ci` in tests/ (or SIO_JS_CLIENT_DIR)",
            cfg.js_client.display()
        );
    }
    let (builder, redis) = cluster::cluster(SocketIo::builder())?;
    let mut builder = builder
        .ping_interval(cfg.ping_interval)
        .ping_timeout(cfg.ping_timeout)
        .max_payload(cfg.max_payload);
    if !cfg.recovery.is_zero() {
        // The nickname middleware runs again: it is what gives a socket its person.
        builder = builder.connection_state_recovery(RecoveryConfig {
            max_disconnection_duration: cfg.recovery,
            skip_middlewares: false,
            ..RecoveryConfig::default()
        });
    }
    let (layer, io) = builder.build_layer();
    let store =
        store::Store::open(&cfg.data_dir, cfg.history, cfg.keep).map_err(std::io::Error::other)?;
    tracing::info!("history in {}", cfg.data_dir.join("chat.sqlite3").display());
    events::Chat::install(&io, cfg.clone(), store);
    let app = app(&cfg);
    #[cfg(feature = "metrics")]
    let app = {
        // Public here, as a demo; a deployment serves it where only its scraper reaches.
        let metrics = std::sync::Arc::new(sio_server::metrics::Metrics::new(&io));
        app.route(
            "/metrics",
            axum::routing::get(move || {
                let text = metrics.render();
                async move {
                    let ct = sio_server::metrics::Metrics::CONTENT_TYPE;
                    ([(http::header::CONTENT_TYPE, ct)], text)
                }
            }),
        )
    };
    let app = app.layer(layer);
    serve::serve_with(app, io, |addr| {
        println!(
            "sio chat on http://{addr}/ (socket.io-client version: http://{addr}/js-client.html)"
        );
    })
    .await?;
    cluster::flush(redis).await;
    Ok(())
}
