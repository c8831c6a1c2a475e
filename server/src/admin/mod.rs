//! The protocol of [`@socket.io/admin-ui`](https://socket.io/docs/v4/admin-ui/) 0.5: the
//! server side of Node's `instrument(io, options)`, so that the admin UI (the hosted one or
//! the files of its npm package) watches and drives a sio server as it does a Node one.
//!
//! ```no_run
//! use sio_server::SocketIo;
//! use sio_server::admin::{AdminAuth, AdminOptions};
//!
//! # async fn f() -> Result<(), sio_server::admin::AdminError> {
//! let (layer, io) = SocketIo::builder()
//!     // The UI runs on another origin and connects with credentials.
//!     .cors(sio_server::CorsLayer::very_permissive())
//!     .build_layer();
//! let hash = "$2a$10$MRLQMKG3wVflE9lvP6kqN.ok7LUppTqIQEg6lTupcmma/h4Brur26"; // "changeit"
//! sio_server::admin::instrument(&io, AdminOptions::new(AdminAuth::basic("admin", hash)))?;
//! # Ok(()) }
//! ```
//!
//! What the UI gets, as from Node:
//! - On namespace `/admin` (configurable): basic auth against a bcrypt hash, then a
//!   `session` id the UI reconnects with (`auth.sessionId`), `config` (the features this
//!   server offers) and, every 2 s, `server_stats` (connections, polling connections,
//!   namespaces with their sockets, and the connections, disconnections, packets and bytes
//!   of the interval). In a cluster each node sends its own, through the adapter, so the
//!   UI lists every node, Node ones included.
//! - In [development mode](AdminMode::Development): every socket of every namespace
//!   (`all_sockets`, across the cluster), then each connect, update, disconnect, room join
//!   and leave, and each event received and sent.
//! - Its commands (`emit`, `join`, `leave`, `_disconnect`, each to a namespace, a room or
//!   a socket), unless [`readonly`](AdminOptions::readonly).

mod auth;
mod report;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use serde_json::json;
use tracing::debug;

use crate::adapter::Room;
use crate::namespace::NamespaceInner;
use crate::observe::Observer;
use crate::sid::Sid;
use crate::socket::{DisconnectReason, Event, Socket};
use crate::{Namespace, SocketIo};

pub use auth::AdminAuth;

/// How much the UI is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdminMode {
    /// Every socket, room change and event, as they happen (costly on a busy server: each
    /// is a broadcast to the admin namespace).
    #[default]
    Development,
    /// The periodic statistics only.
    Production,
}

/// The settings of [`instrument`], Node's `instrument` options.
#[derive(Debug, Clone)]
pub struct AdminOptions {
    /// Who may connect.
    pub auth: AdminAuth,
    /// No commands: the UI can only watch.
    pub readonly: bool,
    /// The name of this node in the UI (default: the host name).
    pub server_id: Option<String>,
    /// How much the UI is told.
    pub mode: AdminMode,
    /// The namespace the UI connects to (default `/admin`).
    pub namespace: String,
    /// How often `server_stats` is sent (Node: every 2 s).
    pub stats_interval: Duration,
    /// Login sessions kept at most; the oldest goes first.
    pub max_sessions: usize,
    /// How long a login session lasts.
    pub session_ttl: Duration,
}

impl AdminOptions {
    /// Node's defaults with `auth`: development mode, not read-only, namespace `/admin`.
    pub fn new(auth: AdminAuth) -> Self {
        Self {
            auth,
            readonly: false,
            server_id: None,
            mode: AdminMode::Development,
            namespace: "/admin".into(),
            stats_interval: Duration::from_secs(2),
            max_sessions: 1000,
            session_ttl: Duration::from_secs(86_400),
        }
    }
}

/// Why [`instrument`] refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The password of [`AdminAuth::Basic`] is not a bcrypt hash.
    #[error("the password must be a valid bcrypt hash")]
    InvalidHash,
    /// The server was instrumented already.
    #[error("the server is instrumented already")]
    AlreadyInstrumented,
    /// [`instrument`] must run inside a tokio runtime (it starts the statistics task).
    #[error("instrument must be called within a tokio runtime")]
    NoRuntime,
}

/// Instruments `io` for the admin UI (Node's `instrument(io, options)`): adds the admin
/// namespace, and in development mode follows every socket. The statistics task ends with
/// the server.
pub fn instrument(io: &SocketIo, opts: AdminOptions) -> Result<(), AdminError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| AdminError::NoRuntime)?;
    let sessions = Arc::new(auth::Sessions::new(
        opts.auth.clone(),
        opts.max_sessions,
        opts.session_ttl,
    )?);
    // (After the checks that can fail: a refused call leaves the server instrumentable.)
    if io.0.instrumented.swap(true, Ordering::AcqRel) {
        return Err(AdminError::AlreadyInstrumented);
    }
    let mut features = Vec::new();
    if !opts.readonly {
        features.extend([
            "EMIT",
            "JOIN",
            "LEAVE",
            "DISCONNECT",
            "MJOIN",
            "MLEAVE",
            "MDISCONNECT",
        ]);
    }
    features.push("AGGREGATED_EVENTS");
    let development = opts.mode == AdminMode::Development;
    if development {
        features.push("ALL_EVENTS");
    }
    let config = json!({ "supportedFeatures": features });
    let weak_io = Arc::downgrade(&io.0);
    let admin = {
        let (readonly, weak_io) = (opts.readonly, weak_io.clone());
        io.ns(&opts.namespace, move |socket| {
            let Some(io) = weak_io.upgrade().map(SocketIo) else {
                return;
            };
            if let Some(id) = auth::take_session(&socket) {
                let _ = socket.emit("session", &id);
            }
            if !readonly {
                commands(&io, &socket);
            }
            let _ = socket.emit("config", &config);
            if development {
                tokio::spawn(async move {
                    let sockets = report::all_sockets(&io).await;
                    let _ = socket.emit("all_sockets", &sockets);
                });
            }
        })
    };
    {
        let sessions = sessions.clone();
        admin.middleware(move |socket| {
            let sessions = sessions.clone();
            async move { sessions.admit(&socket).await }
        });
    }
    if development {
        let observer = Instrument {
            admin: Arc::downgrade(&admin.0),
        };
        if !io.0.observer.set(Arc::new(observer)) {
            return Err(AdminError::AlreadyInstrumented);
        }
    }
    // The first report now, as Node sends it.
    let mut reporter = report::Reporter::new(io, opts.server_id.unwrap_or_else(report::hostname));
    reporter.report(io, &admin);
    runtime.spawn(report::stats_loop(
        weak_io,
        Arc::downgrade(&admin.0),
        reporter,
        opts.stats_interval,
    ));
    Ok(())
}

/// The UI's commands, each to the sockets of a namespace, or of a room (a socket id is
/// one) when a filter is given: Node's `io.of(nsp).in(filter)` operations, across a
/// cluster.
fn commands(io: &SocketIo, socket: &Socket) {
    let target = |io: &SocketIo, ev: &Event, filter: usize| {
        let nsp: String = ev.arg(0).ok()?;
        let Some(ns) = io.of(&nsp) else {
            debug!(nsp, "admin command for an unknown namespace");
            return None;
        };
        Some(match ev.arg::<Option<String>>(filter).ok().flatten() {
            Some(room) if !room.is_empty() => ns.to(room),
            _ => ns.broadcast(),
        })
    };
    let io2 = io.clone();
    socket.on("emit", move |_, ev| {
        let (Some(to), Ok(name)) = (target(&io2, &ev, 1), ev.arg::<String>(2)) else {
            return;
        };
        let _ = to.emit(&name, ev.args().slice(3..).to_raw());
    });
    let io2 = io.clone();
    socket.on("join", move |_, ev| {
        if let (Some(to), Ok(room)) = (target(&io2, &ev, 2), ev.arg::<String>(1)) {
            to.sockets_join(room);
        }
    });
    let io2 = io.clone();
    socket.on("leave", move |_, ev| {
        if let (Some(to), Ok(room)) = (target(&io2, &ev, 2), ev.arg::<String>(1)) {
            to.sockets_leave(room);
        }
    });
    let io2 = io.clone();
    socket.on("_disconnect", move |_, ev| {
        if let Some(to) = target(&io2, &ev, 2) {
            to.disconnect_sockets(ev.arg::<bool>(1).unwrap_or(false));
        }
    });
}

/// The development mode's observer: tells the admin namespace of every change.
#[derive(Clone)]
struct Instrument {
    admin: Weak<NamespaceInner>,
}

impl Instrument {
    fn tell(&self, event: &str, args: impl crate::EmitArgs) {
        if let Some(ns) = self.admin.upgrade() {
            let _ = Namespace(ns).emit(event, args);
        }
    }

    /// `event_received` or `event_sent`: an event of `socket`, with its arguments.
    fn event(&self, kind: &str, socket: &Socket, name: &str, args: &crate::Args) {
        let args = report::event_args(name, args);
        self.tell(kind, (socket.ns(), socket.id().as_str(), args, now()));
    }
}

fn now() -> String {
    crate::time::iso_string(SystemTime::now())
}

impl Observer for Instrument {
    fn connected(&self, socket: &Socket) {
        report::mark(socket);
        self.tell("socket_connected", (report::socket(socket), now()));
        let is_admin = self
            .admin
            .upgrade()
            .is_some_and(|ns| *ns.name == *socket.ns());
        if is_admin {
            return;
        }
        let me = self.clone();
        socket.on_any(move |s, name, args| me.event("event_received", s, name, args));
        let me = self.clone();
        socket.on_any_outgoing(move |s, name, args| me.event("event_sent", s, name, args));
    }

    fn joined(&self, nsp: &str, sid: Sid, room: &str) {
        self.tell("room_joined", (nsp, room, sid.as_str(), now()));
    }

    fn left(&self, nsp: &str, sid: Sid, room: &str) {
        self.tell("room_left", (nsp, room, sid.as_str(), now()));
    }

    fn disconnected(&self, socket: &Socket, reason: DisconnectReason, rooms: &[Room]) {
        let (nsp, id) = (socket.ns(), socket.id());
        self.tell(
            "socket_disconnected",
            (nsp, id.as_str(), reason.as_str(), now()),
        );
        for room in rooms {
            self.left(nsp, id, room);
        }
    }

    fn upgraded(&self, socket: &Socket) {
        let transport = socket.transport().as_str();
        report::mark(socket);
        self.tell(
            "socket_updated",
            &json!({ "id": socket.id().as_str(), "nsp": socket.ns(), "transport": transport }),
        );
    }

    fn data_set(&self, socket: &Socket) {
        report::mark(socket);
        let data = report::app_data(socket.data());
        self.tell(
            "socket_updated",
            &json!({ "id": socket.id().as_str(), "nsp": socket.ns(), "data": data }),
        );
    }
}
