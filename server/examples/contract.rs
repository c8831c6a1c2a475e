//! The contract server: the handlers of `shared/CONTRACT.md`, exactly, for outside test
//! suites and load generators.
//!
//! ```sh
//! PORT=3000 cargo run --release -p sio-server --example contract
//! ```
//!
//! Listens on 127.0.0.1:$PORT; settings from `PING_INTERVAL_MS`, `PING_TIMEOUT_MS`,
//! `CONNECT_TIMEOUT_MS`, `MAX_PAYLOAD`, `RECOVERY_MS` (connection state recovery, when > 0),
//! `PARSER=msgpack` (socket.io-msgpack-parser); logs to stderr (`RUST_LOG` to raise). With
//! `ADMIN_UI=1` (built with `--features admin`) it is instrumented for `@socket.io/admin-ui`;
//! with `WT_PORT` (built with `--features webtransport`) it serves WebTransport too
//! (`shared/webtransport.rs`: `WT_CERT`/`WT_KEY`, or a development certificate whose hash it
//! prints).
//!
//! With `REDIS_URL` set, it joins the Redis cluster there (the `sio-cluster` adapter):
//!
//! ```sh
//! cargo build --release -p sio-server --example contract
//! REDIS_URL=redis://127.0.0.1:6379/ PORT=3000 target/release/examples/contract &
//! REDIS_URL=redis://127.0.0.1:6379/ PORT=3001 target/release/examples/contract &
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use serde::Deserialize;
use serde_json::json;
use sio_server::config::Parser;
use sio_server::{ConnectError, CorsLayer, Event, RecoveryConfig, Socket, SocketIo};

#[path = "shared/cluster.rs"]
mod cluster;
#[path = "shared/serve.rs"]
mod serve;
#[path = "shared/webtransport.rs"]
mod webtransport;

use serve::env_num;

fn env_ms(name: &str, default: u64) -> Duration {
    Duration::from_millis(env_num(name, default))
}

#[derive(Deserialize)]
struct Room {
    room: String,
}

fn handlers(io: &SocketIo, socket: &Socket) {
    socket.on("echo", |_, mut ev| {
        let args = ev.args().to_raw();
        let _ = ev.ack(args);
    });
    socket.on("emit-as", |socket, ev| {
        if let Ok(name) = ev.arg::<String>(0) {
            let _ = socket.emit(&name, ev.args().slice(1..).to_raw());
        }
    });
    {
        let io = io.clone();
        socket.on("broadcast", move |socket, ev| {
            if let Some(ns) = io.of(socket.ns()) {
                let _ = ns.emit("bcast", ev.args().slice(..1).to_raw());
            }
        });
    }
    socket.on("broadcast-others", |socket, ev| {
        let _ = socket
            .broadcast()
            .emit("bcast", ev.args().slice(..1).to_raw());
    });
    socket.on("join", |socket, mut ev| {
        if let Ok(room) = ev.arg::<String>(0) {
            socket.join(room);
            let _ = ev.ack(&true);
        }
    });
    socket.on("leave", |socket, mut ev| {
        if let Ok(room) = ev.arg::<String>(0) {
            socket.leave(room);
            let _ = ev.ack(&true);
        }
    });
    {
        let io = io.clone();
        socket.on("to-room", move |socket, ev| {
            let (Ok(Room { room }), Some(ns)) = (ev.arg::<Room>(0), io.of(socket.ns())) else {
                return;
            };
            let _ = ns.to(room).emit("bcast", ev.args().slice(..1).to_raw());
        });
    }
    socket.on("rooms-of", |socket, mut ev| {
        let rooms = socket.rooms();
        let names: Vec<&str> = rooms.iter().map(|r| &**r).collect();
        let _ = ev.ack(&names);
    });
    socket.on("server-ack", |socket, ev| {
        let reply = socket.emit_with_ack("ping-client", ev.args().slice(..1).to_raw());
        tokio::spawn(async move {
            if let Ok(args) = reply.await {
                let _ = socket.emit("client-acked", args.to_raw());
            }
        });
    });
    {
        let io = io.clone();
        socket.on("server-info", move |socket, mut ev| {
            let ns = io.of(socket.ns());
            let info = json!({
                "id": socket.id().as_str(),
                "nsp": socket.ns(),
                "connId": socket.conn_id().as_str(),
                "transport": socket.transport().as_str(),
                "initialTransport": socket.initial_transport().as_str(),
                "engineCount": io.engine_count(),
                "nspSockets": ns.as_ref().map_or(0, |n| n.socket_count()),
                "rooms": ns.as_ref().map_or(0, |n| n.room_count()),
            });
            let _ = ev.ack(&info);
        });
    }
    {
        let io = io.clone();
        socket.on("conn-count", move |_, mut ev| {
            let Ok(token) = ev.arg::<String>(0) else {
                return;
            };
            let count = io
                .connections()
                .iter()
                .filter(|c| c.query("mux") == Some(token.as_str()))
                .count();
            let _ = ev.ack(&count);
        });
    }
    let retries: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    socket.on("ack-on-retry", move |_, mut ev: Event| {
        let Ok(key) = ev.arg::<String>(0) else { return };
        let count = {
            let mut seen = retries.lock().unwrap_or_else(|e| e.into_inner());
            let n = seen.entry(key.clone()).or_insert(0);
            *n += 1;
            *n
        };
        if count >= 2 {
            let _ = ev.ack((true, key, count));
        }
    });
    socket.on("flood", |socket, ev| {
        let n = ev.arg::<u64>(0).unwrap_or(0);
        for i in 0..n {
            if socket
                .emit("tp", &json!({ "i": i, "p": "xxxxxxxx" }))
                .is_err()
            {
                return;
            }
        }
        let _ = socket.emit("flood-done", &n);
    });
    socket.on("disconnect-me", |socket, _| socket.disconnect());
    socket.on("emit-volatile", |socket, ev| {
        if let Ok(name) = ev.arg::<String>(0) {
            let _ = socket.emit_volatile(&name, ev.args().slice(1..).to_raw());
        }
    });
    socket.on("set-data", |socket, mut ev| {
        let value: serde_json::Value = ev.arg(0).unwrap_or_default();
        socket.set_data(json!({ "value": value }));
        let _ = ev.ack(&true);
    });
    socket.on("state", |socket, mut ev| {
        let own = socket.id();
        let rooms: Vec<String> = socket
            .rooms()
            .iter()
            .filter(|r| ***r != *own.as_str())
            .map(|r| r.to_string())
            .collect();
        let data = socket.data().get("value").cloned().unwrap_or_default();
        let _ = ev.ack(&json!({
            "id": own.as_str(),
            "recovered": socket.recovered(),
            "rooms": rooms,
            "data": data,
        }));
    });
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    serve::init_tracing();
    let (mut builder, redis) = cluster::cluster(SocketIo::builder())?;
    let recovery_ms = env_num("RECOVERY_MS", 0);
    if recovery_ms > 0 {
        builder = builder.connection_state_recovery(RecoveryConfig {
            max_disconnection_duration: Duration::from_millis(recovery_ms),
            skip_middlewares: true,
            ..RecoveryConfig::default()
        });
    }
    builder = match std::env::var("PARSER").as_deref() {
        Ok("msgpack") => builder.parser(Parser::MsgPack),
        Ok("") | Err(_) => builder,
        Ok(other) => {
            return Err(std::io::Error::other(format!(
                "PARSER={other}: only msgpack is known"
            )));
        }
    };
    let (layer, io) = builder
        .ping_interval(env_ms("PING_INTERVAL_MS", 25_000))
        .ping_timeout(env_ms("PING_TIMEOUT_MS", 20_000))
        .connect_timeout(env_ms("CONNECT_TIMEOUT_MS", 45_000))
        .max_payload(env_num("MAX_PAYLOAD", 1_000_000) as usize)
        .cors(CorsLayer::very_permissive())
        .build_layer();

    let namespaces = ["/", "/custom", "/auth"].map(|nsp| {
        let io2 = io.clone();
        io.ns(nsp, move |socket| handlers(&io2, &socket))
    });
    let [_, _, auth] = &namespaces;
    auth.middleware(|socket| async move {
        let auth: serde_json::Value = socket.handshake().auth().unwrap_or_default();
        if auth.get("token").and_then(|t| t.as_str()) == Some("secret") {
            Ok(())
        } else {
            Err(ConnectError::new("unauthorized")
                .with_data(json!({ "code": 4001, "reason": "token rejected" })))
        }
    });

    if std::env::var("ADMIN_UI").as_deref() == Ok("1") {
        admin_ui(&io)?;
    }

    let wt = webtransport::webtransport(&io).await?;
    serve::serve(Router::new().layer(layer), io).await?;
    webtransport::close(wt).await;
    cluster::flush(redis).await;
    Ok(())
}

/// As CONTRACT.md says: development mode, not read-only, user `admin`, password
/// `admin-secret` (its bcrypt hash below); CORS already lets other origins in with
/// credentials.
#[cfg(feature = "admin")]
fn admin_ui(io: &SocketIo) -> std::io::Result<()> {
    use sio_server::admin::{AdminAuth, AdminOptions, instrument};
    const HASH: &str = "$2a$10$kbEeU8ZGzFAXPAVPW8t7ne1rXB9XcTOg8PypTkm42/PXfeHoXn5kC";
    instrument(io, AdminOptions::new(AdminAuth::basic("admin", HASH)))
        .map_err(std::io::Error::other)
}

#[cfg(not(feature = "admin"))]
fn admin_ui(_: &SocketIo) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "ADMIN_UI=1 needs the contract server built with --features admin",
    ))
}
