//! The features server: every server feature that the contract server does not reach,
//! for the interop suite in `tests/` (which also runs it against its Node twin,
//! `tests/reference/features-server.mjs`).
//!
//! ```sh
//! PORT=3000 cargo run --release -p sio-server --example features
//! ```
//!
//! Namespaces: `/` and every `/dyn-…` (dynamic). A middleware (async) refuses a client
//! whose auth has `reject: "msg"` with that message and data `{"from":"middleware"}`,
//! and joins the room named by the query parameter `room` if there is one.
//!
//! | event + args | the server |
//! | --- | --- |
//! | `whoami` + ack | acks `{id, nsp, name: auth.name, q: query "q", header: header "x-test"}` |
//! | `join` ROOM or [ROOMS] + ack | joins, acks its rooms (own id excluded), sorted |
//! | `leave` ROOM + ack | leaves, acks its rooms, sorted |
//! | `dm` {to, msg} | `io.to(to).emit("dm", {from, msg})` (`to` is a socket id) |
//! | `send` {to?, except?, others?, volatile?, msg} + ack | emits `msg` MSG to the selection (`others`: the sender excluded), acks `true` |
//! | `fetch` {room?} + ack | acks `[{id, rooms}]` of the selected sockets, sorted by id |
//! | `sockets-join` {room?, join} + ack | makes the selection join `join`, acks `true` |
//! | `sockets-leave` {room?, leave} + ack | makes the selection leave `leave`, acks `true` |
//! | `disconnect-all` {room?, close} | disconnects the selection (closing connections if `close`) |
//! | `ask` {timeout, q} + ack | `socket.timeout(t).emit_with_ack("question", q)`, acks `{answer: [args]}` or `{error: "timeout"}` |
//! | `ask-all` {room?, timeout, q} + ack | the same to the selection on this node; acks `[{id, answer} or {id, error}]` sorted by id |
//! | `ask-cluster` {room?, timeout, q} + ack | the same on every node of the cluster; acks `{answers, error?}`: `answers` as for `ask-all` (without `id` for Node nodes' sockets, whose answers carry only their first argument), `error` when a node did not answer |
//! | `all-rooms` + ack | acks `{rooms}`, every room of the namespace on every node, sorted (own-id rooms included), or `{error}` |
//! | `typed` NAME, N, BIN, {list: [u8]} + ack | acks `NAME.len()`, `N * 2`, BIN reversed (binary), `{list: reversed, bin: BIN}` |
//! | `disconnect-me` {close} | `socket.disconnect()`, or `disconnect_and_close()` when `close` |
//! | `last-disconnect` + ack | acks `{id, reason, rooms}` of the last socket that left (rooms seen in `disconnecting`) |
//! | `sse-emit` MSG + ack | `io.of(nsp).server_side_emit("sse-note", MSG)` to the other nodes, acks `true` |
//! | `sse-ask` MSG + ack | `io.of(nsp).server_side_emit_with_ack("sse-ping", MSG)`, acks `{answers}` or `{error, answers}` (the answers that came) |
//!
//! Server-side events of `/` (from the other nodes of a cluster, REDIS_URL): `sse-note` X
//! is emitted to this node's clients of `/` as `sse-note` X; `sse-ping` X is answered
//! `{pong: X, by: "sio"}` (`"node"` on the Node twin). Without a cluster there are no other
//! nodes: `sse-ask` acks `{answers: []}` here (Node's in-memory adapter never answers).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;

#[path = "shared/cluster.rs"]
mod cluster;
#[path = "shared/serve.rs"]
mod serve;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sio_server::{
    AckResponse, Binary, BroadcastAckError, BroadcastOperator, ConnectError, CorsLayer, Event,
    Namespace, Socket, SocketIo,
};

#[derive(Deserialize, Default)]
#[serde(default)]
struct Selection {
    room: Option<String>,
    to: Vec<String>,
    except: Vec<String>,
    others: bool,
    volatile: bool,
    timeout: Option<u64>,
    close: bool,
    join: Option<String>,
    leave: Option<String>,
}

/// Field `name` of the first argument, binary included; `null` when absent.
fn field(ev: &Event, name: &str) -> sio_server::Value {
    match ev.arg::<sio_server::Value>(0) {
        Ok(sio_server::Value::Object(mut m)) => m.shift_remove(name).unwrap_or_default(),
        _ => sio_server::Value::Null,
    }
}

/// The first argument, binary included; `null` when absent.
fn field_or_null(ev: &Event) -> sio_server::Value {
    field_or_null_args(ev.args())
}

fn field_or_null_args(args: &sio_server::Args) -> sio_server::Value {
    args.get::<sio_server::Value>(0).unwrap_or_default()
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Rooms {
    One(String),
    Many(Vec<String>),
}

impl Rooms {
    fn into_vec(self) -> Vec<String> {
        match self {
            Rooms::One(r) => vec![r],
            Rooms::Many(r) => r,
        }
    }
}

type LastDisconnect = Arc<Mutex<Value>>;

/// The ack of `ask` and each element of the ack of `ask-all`. Answers keep their binary
/// arguments, which `serde_json::Value` could not.
#[derive(Serialize)]
struct Reply {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    answer: Option<Vec<sio_server::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Reply {
    fn answer(id: Option<String>, answer: Vec<sio_server::Value>) -> Self {
        Self {
            id,
            answer: Some(answer),
            error: None,
        }
    }

    fn error(id: Option<String>, error: String) -> Self {
        Self {
            id,
            answer: None,
            error: Some(error),
        }
    }
}

/// Each answer of a broadcast with acks as a `Reply`, sorted by socket id (answers from
/// Node nodes, which name no socket, first, in arrival order).
fn replies(responses: Vec<AckResponse>) -> Vec<Reply> {
    let mut out: Vec<Reply> = responses
        .into_iter()
        .map(|r| {
            let id = r.socket.map(|s| s.to_string());
            match r.result {
                Ok(args) => Reply::answer(id, args.values().unwrap_or_default()),
                Err(_) => Reply::error(id, "timeout".into()),
            }
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// The ack of `ask-cluster` and `sse-ask`: the answers that came, and why some did not.
#[derive(Serialize)]
struct Answers<T> {
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    answers: Vec<T>,
}

fn namespace_of(io: &SocketIo, socket: &Socket) -> Option<Namespace> {
    io.of(socket.ns())
}

fn select(ns: &Namespace, socket: &Socket, sel: &Selection) -> BroadcastOperator {
    let mut op = if sel.others {
        socket.broadcast()
    } else {
        ns.broadcast()
    };
    if let Some(room) = &sel.room {
        op = op.to(room.as_str());
    }
    op = op.to(sel.to.clone()).except(sel.except.clone());
    if sel.volatile {
        op = op.volatile();
    }
    if let Some(ms) = sel.timeout {
        op = op.timeout(Duration::from_millis(ms));
    }
    op
}

fn sorted_rooms(socket: &Socket) -> Vec<String> {
    let own = socket.id();
    let mut rooms: Vec<String> = socket
        .rooms()
        .iter()
        .filter(|r| ***r != *own.as_str())
        .map(|r| r.to_string())
        .collect();
    rooms.sort();
    rooms
}

fn handlers(io: &SocketIo, socket: &Socket, last: &LastDisconnect) {
    socket.on("whoami", |socket, mut ev| {
        let auth: Value = socket.handshake().auth().unwrap_or_default();
        let header = socket
            .handshake()
            .headers()
            .get("x-test")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let _ = ev.ack(&json!({
            "id": socket.id().as_str(),
            "nsp": socket.ns(),
            "name": auth.get("name"),
            "q": socket.handshake().query("q"),
            "header": header,
        }));
    });
    socket.on("join", |socket, mut ev| {
        if let Ok(rooms) = ev.arg::<Rooms>(0) {
            socket.join(rooms.into_vec());
        }
        let _ = ev.ack(&sorted_rooms(&socket));
    });
    socket.on("leave", |socket, mut ev| {
        if let Ok(room) = ev.arg::<String>(0) {
            socket.leave(room);
        }
        let _ = ev.ack(&sorted_rooms(&socket));
    });
    {
        let io = io.clone();
        socket.on("dm", move |socket, ev| {
            let Ok(Value::Object(m)) = ev.arg::<Value>(0) else {
                return;
            };
            let (Some(Value::String(to)), Some(ns)) = (m.get("to"), namespace_of(&io, &socket))
            else {
                return;
            };
            #[derive(Serialize)]
            struct Dm {
                from: String,
                msg: sio_server::Value,
            }
            let dm = Dm {
                from: socket.id().to_string(),
                msg: field(&ev, "msg"),
            };
            let _ = ns.to(to.as_str()).emit("dm", &dm);
        });
    }
    {
        let io = io.clone();
        socket.on("send", move |socket, mut ev| {
            let sel: Selection = ev.arg(0).unwrap_or_default();
            if let Some(ns) = namespace_of(&io, &socket) {
                let _ = select(&ns, &socket, &sel).emit("msg", &field(&ev, "msg"));
            }
            let _ = ev.ack(&true);
        });
    }
    {
        let io = io.clone();
        socket.on_async("fetch", move |socket, mut ev| {
            let io = io.clone();
            async move {
                let sel: Selection = ev.arg(0).unwrap_or_default();
                let Some(ns) = namespace_of(&io, &socket) else {
                    return;
                };
                let selection = select(&ns, &socket, &sel);
                let mut found: Vec<Value> = selection
                    .fetch_sockets()
                    .await
                    .iter()
                    .map(|s| json!({ "id": s.id().as_str(), "rooms": sorted_rooms(s) }))
                    .collect();
                // The other nodes' sockets, in a cluster (REDIS_URL).
                match selection.fetch_remote_sockets().await {
                    Ok(remote) => found.extend(remote.into_iter().map(|s| {
                        let mut rooms: Vec<String> =
                            s.rooms.into_iter().filter(|r| *r != s.id).collect();
                        rooms.sort();
                        json!({ "id": s.id, "rooms": rooms })
                    })),
                    Err(e) => tracing::warn!("fetch: {e}"),
                }
                found.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
                let _ = ev.ack(&found);
            }
        });
    }
    {
        let io = io.clone();
        socket.on("sockets-join", move |socket, mut ev| {
            let sel: Selection = ev.arg(0).unwrap_or_default();
            if let (Some(ns), Some(join)) = (namespace_of(&io, &socket), sel.join.clone()) {
                select(&ns, &socket, &sel).sockets_join(join);
            }
            let _ = ev.ack(&true);
        });
    }
    {
        let io = io.clone();
        socket.on("sockets-leave", move |socket, mut ev| {
            let sel: Selection = ev.arg(0).unwrap_or_default();
            if let (Some(ns), Some(leave)) = (namespace_of(&io, &socket), sel.leave.clone()) {
                select(&ns, &socket, &sel).sockets_leave(leave);
            }
            let _ = ev.ack(&true);
        });
    }
    {
        let io = io.clone();
        socket.on("disconnect-all", move |socket, ev| {
            let sel: Selection = ev.arg(0).unwrap_or_default();
            if let Some(ns) = namespace_of(&io, &socket) {
                select(&ns, &socket, &sel).disconnect_sockets(sel.close);
            }
        });
    }
    socket.on_async("ask", |socket, mut ev| async move {
        let sel: Selection = ev.arg(0).unwrap_or_default();
        let timeout = Duration::from_millis(sel.timeout.unwrap_or(5000));
        let reply = match socket
            .timeout(timeout)
            .emit_with_ack("question", &field(&ev, "q"))
            .await
        {
            Ok(args) => Reply::answer(None, args.values().unwrap_or_default()),
            Err(sio_server::AckError::Timeout) => Reply::error(None, "timeout".into()),
            Err(err) => Reply::error(None, err.to_string()),
        };
        let _ = ev.ack(&reply);
    });
    {
        let io = io.clone();
        socket.on_async("ask-all", move |socket, mut ev| {
            let io = io.clone();
            async move {
                let mut sel: Selection = ev.arg(0).unwrap_or_default();
                sel.timeout = sel.timeout.or(Some(5000));
                let Some(ns) = namespace_of(&io, &socket) else {
                    return;
                };
                let reply = select(&ns, &socket, &sel).local();
                let reply = reply.emit_with_ack("question", &field(&ev, "q"));
                let responses = match reply.await {
                    Ok(responses) => responses,
                    Err(BroadcastAckError::Cluster { responses, .. }) => responses,
                    Err(_) => return,
                };
                let _ = ev.ack(&replies(responses));
            }
        });
    }
    {
        let io = io.clone();
        socket.on_async("ask-cluster", move |socket, mut ev| {
            let io = io.clone();
            async move {
                let mut sel: Selection = ev.arg(0).unwrap_or_default();
                sel.timeout = sel.timeout.or(Some(5000));
                let Some(ns) = namespace_of(&io, &socket) else {
                    return;
                };
                let reply = select(&ns, &socket, &sel).emit_with_ack("question", &field(&ev, "q"));
                let reply = match reply.await {
                    Ok(responses) => Answers {
                        error: None,
                        answers: replies(responses),
                    },
                    Err(BroadcastAckError::Cluster { responses, error }) => Answers {
                        error: Some(error.to_string()),
                        answers: replies(responses),
                    },
                    Err(e) => Answers {
                        error: Some(e.to_string()),
                        answers: Vec::new(),
                    },
                };
                let _ = ev.ack(&reply);
            }
        });
    }
    {
        let io = io.clone();
        socket.on_async("all-rooms", move |socket, mut ev| {
            let io = io.clone();
            async move {
                let Some(ns) = namespace_of(&io, &socket) else {
                    return;
                };
                let reply = match ns.all_rooms().await {
                    Ok(rooms) => {
                        let rooms: Vec<&str> = rooms.iter().map(|r| &**r).collect();
                        json!({ "rooms": rooms })
                    }
                    Err(e) => json!({ "error": e.to_string() }),
                };
                let _ = ev.ack(&reply);
            }
        });
    }
    socket.on("typed", |_, mut ev| {
        #[derive(Deserialize)]
        struct Obj {
            list: Vec<u8>,
        }
        let Ok((name, n, bin, obj)) = ev.args().all::<(String, i64, Binary, Obj)>() else {
            let _ = ev.ack("bad arguments");
            return;
        };
        let mut reversed = bin.0.to_vec();
        reversed.reverse();
        let mut list = obj.list;
        list.reverse();
        #[derive(serde::Serialize)]
        struct Out {
            list: Vec<u8>,
            bin: Binary,
        }
        let _ = ev.ack((name.len(), n * 2, Binary::from(reversed), Out { list, bin }));
    });
    socket.on("disconnect-me", |socket, ev| {
        let sel: Selection = ev.arg(0).unwrap_or_default();
        if sel.close {
            socket.disconnect_and_close();
        } else {
            socket.disconnect();
        }
    });
    {
        let io = io.clone();
        socket.on("sse-emit", move |socket, mut ev| {
            if let Some(ns) = namespace_of(&io, &socket) {
                if let Err(e) = ns.server_side_emit("sse-note", &field_or_null(&ev)) {
                    tracing::warn!("sse-emit: {e}");
                }
            }
            let _ = ev.ack(&true);
        });
    }
    {
        let io = io.clone();
        socket.on_async("sse-ask", move |socket, mut ev| {
            let io = io.clone();
            async move {
                let Some(ns) = namespace_of(&io, &socket) else {
                    return;
                };
                let reply = match ns
                    .server_side_emit_with_ack("sse-ping", &field_or_null(&ev))
                    .await
                {
                    Ok(answers) => Answers {
                        error: None,
                        answers,
                    },
                    Err(e) => {
                        tracing::warn!("sse-ask: {e}");
                        let answers = match &e {
                            sio_server::ServerSideError::Timeout { responses, .. } => {
                                responses.clone()
                            }
                            _ => Vec::new(),
                        };
                        Answers {
                            error: Some(e.to_string()),
                            answers,
                        }
                    }
                };
                let _ = ev.ack(&reply);
            }
        });
    }
    {
        let last = last.clone();
        socket.on("last-disconnect", move |_, mut ev| {
            let value = last.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let _ = ev.ack(&value);
        });
    }
    let last = last.clone();
    socket.on_disconnecting(move |socket, reason| {
        *last.lock().unwrap_or_else(|e| e.into_inner()) = json!({
            "id": socket.id().as_str(),
            "reason": reason.as_str(),
            "rooms": sorted_rooms(&socket),
        });
    });
}

async fn middleware(socket: Socket) -> Result<(), ConnectError> {
    // Async on purpose: the connection must wait for it.
    tokio::task::yield_now().await;
    let auth: Value = socket.handshake().auth().unwrap_or_default();
    if let Some(msg) = auth.get("reject").and_then(Value::as_str) {
        return Err(ConnectError::new(msg).with_data(json!({ "from": "middleware" })));
    }
    if let Some(room) = socket.handshake().query("room") {
        socket.join(room);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    serve::init_tracing();
    let (builder, redis) = cluster::cluster(SocketIo::builder())?;
    let (layer, io) = builder.cors(CorsLayer::very_permissive()).build_layer();
    let last: LastDisconnect = Arc::new(Mutex::new(Value::Null));

    let (io2, last2) = (io.clone(), last.clone());
    let root = io.ns("/", move |socket| handlers(&io2, &socket, &last2));
    root.middleware(middleware);
    // Server-side events from the other nodes of a cluster.
    let io2 = io.clone();
    root.on_server_side("sse-note", move |ev| {
        let _ = io2.local().emit("sse-note", &field_or_null_args(ev.args()));
    })
    .on_server_side("sse-ping", |mut ev| {
        let x = field_or_null_args(ev.args());
        #[derive(Serialize)]
        struct Pong {
            pong: sio_server::Value,
            by: &'static str,
        }
        let _ = ev.ack(Pong { pong: x, by: "sio" });
    });
    let (io2, last2) = (io.clone(), last.clone());
    io.dyn_ns(
        |name| name.starts_with("/dyn-"),
        move |socket| handlers(&io2, &socket, &last2),
    )
    .middleware(middleware);

    serve::serve(Router::new().layer(layer), io).await?;
    cluster::flush(redis).await;
    Ok(())
}
