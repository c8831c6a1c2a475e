//! The Engine.IO connection under a socket (Node's `socket.conn`): its id and transport,
//! and the events Node's engine socket emits: `upgrade`, `packet` (each packet from the
//! client) and `drain` (each batch handed to the transport). Hooks live with the
//! connection and end with it; a connection without hooks pays one atomic load per event.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::catch::{self, Callback, Site};
use crate::client::Client;
use crate::engine::{Session, Transport};
use crate::sid::Sid;

type UpgradeFn = Arc<dyn Fn(&Conn, Transport) + Send + Sync>;
type PacketFn = Arc<dyn Fn(&Conn, &sio_protocol::engine::Packet<'_>) + Send + Sync>;
type DrainFn = Arc<dyn Fn(&Conn) + Send + Sync>;

/// The hooks of one connection.
#[derive(Default)]
pub(crate) struct ConnHooks {
    upgrade: Vec<UpgradeFn>,
    packet: Vec<PacketFn>,
    drain: Vec<DrainFn>,
}

/// The Engine.IO connection of a socket, shared by the sockets one client opened on it;
/// cheap to clone.
///
/// ```no_run
/// # fn f(io: sio_server::SocketIo) {
/// io.ns("/", |socket| {
///     let conn = socket.conn();
///     conn.on_upgrade(|conn, transport| tracing::info!(id = %conn.id(), "now on {}", transport.as_str()));
///     conn.on_packet(|_, packet| tracing::trace!(?packet, "from the client"));
///     conn.on_drain(|_| tracing::trace!("written"));
/// });
/// # }
/// ```
#[derive(Clone)]
pub struct Conn(pub(crate) Arc<Session<Client>>);

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("id", &self.0.sid).finish()
    }
}

impl Conn {
    /// The connection's id (Engine.IO's `sid`, Node's `socket.conn.id`).
    pub fn id(&self) -> Sid {
        self.0.sid
    }

    /// The transport it uses now.
    pub fn transport(&self) -> Transport {
        self.0.transport()
    }

    /// Called once the connection upgraded (Node's `conn.on("upgrade")`).
    pub fn on_upgrade(&self, f: impl Fn(&Conn, Transport) + Send + Sync + 'static) {
        self.add(|h| h.upgrade.push(Arc::new(f)));
    }

    /// Called with each Engine.IO packet from the client, heartbeats included, before it
    /// is handled (Node's `conn.on("packet")`).
    pub fn on_packet(
        &self,
        f: impl Fn(&Conn, &sio_protocol::engine::Packet<'_>) + Send + Sync + 'static,
    ) {
        self.add(|h| h.packet.push(Arc::new(f)));
    }

    /// Called each time the queued packets were handed to the transport (Node's
    /// `conn.on("drain")`).
    pub fn on_drain(&self, f: impl Fn(&Conn) + Send + Sync + 'static) {
        self.add(|h| h.drain.push(Arc::new(f)));
    }

    /// Registers, unless the connection has closed: hooks hold what they capture (often a
    /// socket, which holds the connection), and only the close lets go of them.
    fn add(&self, f: impl FnOnce(&mut ConnHooks)) {
        if self.0.data.with_hooks(f) {
            self.0.data.hooked.store(true, Ordering::Release);
        }
    }
}

/// Runs each of the connection's hooks that `pick` selects, behind the panic boundary.
pub(crate) fn run<T: Clone>(
    session: &Arc<Session<Client>>,
    pick: impl FnOnce(&ConnHooks) -> Vec<T>,
    call: impl Fn(&T, &Conn),
) {
    if !session.data.hooked.load(Ordering::Acquire) {
        return;
    }
    let Some(hooks) = session.data.hooks(pick) else {
        return;
    };
    let conn = Conn(session.clone());
    for h in &hooks {
        let site = Site {
            callback: Callback::Connection,
            nsp: "",
            socket: None,
        };
        catch::call(site, || call(h, &conn));
    }
}

pub(crate) fn upgrade_hooks(h: &ConnHooks) -> Vec<UpgradeFn> {
    h.upgrade.clone()
}

pub(crate) fn packet_hooks(h: &ConnHooks) -> Vec<PacketFn> {
    h.packet.clone()
}

pub(crate) fn drain_hooks(h: &ConnHooks) -> Vec<DrainFn> {
    h.drain.clone()
}
