//! The life of every socket of the server, told to one observer: what an instrumentation
//! such as the admin UI's (`crate::admin`) follows, in Node's order of events. Without an
//! observer, each point of call costs one atomic load.

use std::sync::{Arc, OnceLock};

use crate::adapter::Room;
use crate::sid::Sid;
use crate::socket::{DisconnectReason, Socket};

/// What an observer is told. Each call runs on the path of the change it reports, so it
/// must be quick and must not block (queue an emit, nothing more).
pub(crate) trait Observer: Send + Sync + 'static {
    /// `socket` connected, before its namespace's connection handler runs.
    fn connected(&self, socket: &Socket);
    /// Socket `sid` of `nsp` joined `room` (it was not in it before).
    fn joined(&self, nsp: &str, sid: Sid, room: &str);
    /// Socket `sid` of `nsp` left `room`.
    fn left(&self, nsp: &str, sid: Sid, room: &str);
    /// `socket` left its namespace; `rooms` (its own-id room first) are the rooms it was
    /// in, already left. Called before the socket's `disconnect` handlers.
    fn disconnected(&self, socket: &Socket, reason: DisconnectReason, rooms: &[Room]);
    /// The connection of `socket` upgraded its transport.
    fn upgraded(&self, socket: &Socket);
    /// The app replaced the socket's data.
    fn data_set(&self, socket: &Socket);
}

/// The server's observer, set at most once; shared by the server and its namespaces.
#[derive(Default)]
pub(crate) struct Slot(OnceLock<Arc<dyn Observer>>);

impl Slot {
    pub fn get(&self) -> Option<&Arc<dyn Observer>> {
        self.0.get()
    }

    /// False if an observer was set already.
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    pub fn set(&self, observer: Arc<dyn Observer>) -> bool {
        self.0.set(observer).is_ok()
    }
}

/// The rooms each of `sids` gained and lost across `op`, told to `observer`. The rooms are
/// read before and after, so a room the socket was in already is not reported, as Node's
/// adapter does not.
pub(crate) fn rooms_across(
    observer: &dyn Observer,
    nsp: &str,
    adapter: &dyn crate::Adapter,
    sids: &[Sid],
    op: impl FnOnce(),
) {
    let before: Vec<Vec<Room>> = sids.iter().map(|&sid| adapter.rooms_of(sid)).collect();
    op();
    for (&sid, before) in sids.iter().zip(&before) {
        let after = adapter.rooms_of(sid);
        for room in after.iter().filter(|r| !before.contains(r)) {
            observer.joined(nsp, sid, room);
        }
        for room in before.iter().filter(|r| !after.contains(r)) {
            observer.left(nsp, sid, room);
        }
    }
}
