//! What the admin UI is shown: sockets as Node's admin serializes them, and the periodic
//! `server_stats`.

use std::sync::Weak;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};

use crate::io::ServerInner;
use crate::namespace::NamespaceInner;
use crate::stats::{Stats, close_label};
use crate::{Args, Namespace, RemoteSocket, Socket, SocketIo};

/// Where Node's admin keeps what it knows of a socket in `socket.data`, so that another
/// node's `fetchSockets` carries it too.
const ADMIN_KEY: &str = "_admin";

/// The connection id the UI groups sockets by (Node's: the first 12 characters).
fn client_id(socket: &Socket) -> String {
    socket.conn_id().as_str().chars().take(12).collect()
}

/// Records the socket's connection and transport in its data, as Node's admin does
/// (data that is neither an object nor null is left alone).
pub(super) fn mark(socket: &Socket) {
    let admin = json!({
        "clientId": client_id(socket),
        "transport": socket.transport().as_str(),
    });
    socket.update_data(|data| {
        if data.is_null() {
            *data = Value::Object(Map::new());
        }
        if let Some(map) = data.as_object_mut() {
            map.insert(ADMIN_KEY.into(), admin);
        }
    });
}

/// The app's part of a socket's data.
pub(super) fn app_data(mut data: Value) -> Value {
    if let Some(map) = data.as_object_mut() {
        map.remove(ADMIN_KEY);
    }
    data
}

/// A socket as the UI reads it, from its parts (local or another node's).
fn serialize(id: &str, nsp: &str, handshake: &Value, rooms: Value, data: Value) -> Value {
    let admin = data.get(ADMIN_KEY);
    let field = |k: &str| admin.and_then(|a| a.get(k)).cloned().unwrap_or(Value::Null);
    let headers = &handshake["headers"];
    let address = ["cf-connecting-ip", "x-forwarded-for"]
        .iter()
        .find_map(|h| headers.get(*h).filter(|v| v.is_string()))
        .unwrap_or(&handshake["address"]);
    let mut hs = Map::new();
    hs.insert("address".into(), address.clone());
    for k in [
        "headers", "query", "issued", "secure", "time", "url", "xdomain",
    ] {
        hs.insert(k.into(), handshake[k].clone());
    }
    json!({
        "id": id,
        "clientId": field("clientId"),
        "transport": field("transport"),
        "nsp": nsp,
        "data": app_data(data),
        "handshake": hs,
        "rooms": rooms,
    })
}

/// A socket of this node as the UI reads it.
pub(super) fn socket(s: &Socket) -> Value {
    let mut data = s.data();
    if data.get(ADMIN_KEY).is_none() {
        // Connected before the server was instrumented: described as it is now.
        mark(s);
        data = s.data();
    }
    let rooms: Vec<String> = s.rooms().iter().map(|r| r.to_string()).collect();
    serialize(
        s.id().as_str(),
        s.ns(),
        &s.handshake().to_json(),
        rooms.into(),
        data,
    )
}

fn remote(s: RemoteSocket, nsp: &str) -> Value {
    serialize(&s.id, nsp, &s.handshake, s.rooms.into(), s.data)
}

/// Every socket of every namespace, on every node of the cluster (Node's `fetchSockets`
/// on each namespace); a node that does not answer in time is left out.
pub(super) async fn all_sockets(io: &SocketIo) -> Vec<Value> {
    let mut all = Vec::new();
    for ns in io.namespaces() {
        let to = ns.broadcast();
        all.extend(to.fetch_sockets().await.iter().map(socket));
        match to.fetch_remote_sockets().await {
            Ok(others) => all.extend(others.into_iter().map(|s| remote(s, ns.name()))),
            Err(e) => tracing::debug!(nsp = ns.name(), "admin UI: other nodes' sockets: {e}"),
        }
    }
    all
}

/// `[name, ...args]` of an event, binary included.
pub(super) fn event_args(name: &str, args: &Args) -> crate::Value {
    let mut all = vec![crate::Value::String(name.to_owned())];
    all.extend(args.values().unwrap_or_default());
    crate::Value::Array(all)
}

/// This host's name (Node's `os.hostname()`).
pub(super) fn hostname() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// The counts that `server_stats` reports the growth of.
#[derive(Default)]
struct Totals {
    connections: u64,
    disconnections: Vec<(&'static str, u64)>,
    packets_in: u64,
    packets_out: u64,
    bytes_in: u64,
    bytes_out: u64,
}

impl Totals {
    fn of(stats: &Stats) -> Self {
        Self {
            connections: stats.sessions_opened.iter().map(|(_, n)| n).sum(),
            disconnections: stats
                .sessions_closed
                .iter()
                .map(|&(r, n)| (close_label(r), n))
                .collect(),
            packets_in: stats.traffic.packets_in,
            packets_out: stats.traffic.packets_out,
            bytes_in: stats.traffic.bytes_in,
            bytes_out: stats.traffic.bytes_out,
        }
    }

    /// Node's `aggregatedEvents` for the growth from `before`, stamped `timestamp`.
    fn since(&self, before: &Totals, timestamp: u64) -> Vec<Value> {
        let mut out = Vec::new();
        let mut push = |kind: &str, sub: Option<&str>, now: u64, then: u64| {
            let count = now.saturating_sub(then);
            if count > 0 {
                let mut e = json!({ "timestamp": timestamp, "type": kind, "count": count });
                if let Some(sub) = sub {
                    e["subType"] = sub.into();
                }
                out.push(e);
            }
        };
        push("rawConnection", None, self.connections, before.connections);
        for (i, &(reason, n)) in self.disconnections.iter().enumerate() {
            let then = before.disconnections.get(i).map_or(0, |d| d.1);
            push("rawDisconnection", Some(reason), n, then);
        }
        push("packetsIn", None, self.packets_in, before.packets_in);
        push("packetsOut", None, self.packets_out, before.packets_out);
        push("bytesIn", None, self.bytes_in, before.bytes_in);
        push("bytesOut", None, self.bytes_out, before.bytes_out);
        out
    }
}

/// What `server_stats` says of this node, and the counts of the last report (each report
/// tells what happened since).
pub(super) struct Reporter {
    server_id: String,
    hostname: String,
    pid: u32,
    last: Totals,
}

impl Reporter {
    pub fn new(io: &SocketIo, server_id: String) -> Self {
        Self {
            server_id,
            hostname: hostname(),
            pid: std::process::id(),
            last: Totals::of(&io.stats()),
        }
    }

    /// Sends one `server_stats` to the admin namespace.
    pub fn report(&mut self, io: &SocketIo, admin: &Namespace) {
        let stats = io.stats();
        let totals = Totals::of(&stats);
        // Node stamps each event with its second.
        let second = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() * 1000);
        let events = totals.since(&self.last, second);
        self.last = totals;
        let namespaces: Vec<Value> = stats
            .namespaces
            .iter()
            .map(|n| json!({ "name": n.name, "socketsCount": n.sockets }))
            .collect();
        let payload = json!({
            "serverId": self.server_id,
            "hostname": self.hostname,
            "pid": self.pid,
            "uptime": io.0.started.elapsed().as_secs_f64(),
            "clientsCount": io.engine_count(),
            "pollingClientsCount": stats.polling_sessions,
            "aggregatedEvents": events,
            "namespaces": namespaces,
        });
        let _ = admin.emit("server_stats", &payload);
    }
}

/// Reports every `every` (the first report was sent by `instrument`), until the server is
/// gone.
pub(super) async fn stats_loop(
    io: Weak<ServerInner>,
    admin: Weak<NamespaceInner>,
    mut reporter: Reporter,
    every: Duration,
) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (Some(io), Some(admin)) = (io.upgrade(), admin.upgrade()) else {
            return;
        };
        reporter.report(&SocketIo(io), &Namespace(admin));
    }
}
