//! Connection state recovery, as Node's `connectionStateRecovery` (socket.io 4.6+): a client
//! whose connection was cut comes back with the same socket id, rooms and
//! [data](crate::Socket::data), and first gets every event it missed.
//!
//! How it works, as in Node:
//! - With recovery on, each socket has a private id (`pid`), sent in its CONNECT answer
//!   (`40{"sid":…,"pid":…}`), and every event that a socket must not miss (no ack, not
//!   volatile; broadcasts and direct emits alike) gets an *offset* as its last argument, kept
//!   by the namespace's adapter with the rooms it was sent to. Clients remember the last
//!   offset they received.
//! - When a socket ends for a reason the network may be to blame for (transport error or
//!   close, ping timeout, forced close, server shutting down), the adapter keeps its session
//!   (id, pid, rooms, data) for [`RecoveryConfig::max_disconnection_duration`].
//! - A CONNECT whose auth has `pid` and `offset` (strings) takes that session back, once: the
//!   socket gets its id, rooms and data back, the events after the offset that its rooms
//!   would have got are sent before the CONNECT answer, and
//!   [`Socket::recovered`](crate::Socket::recovered) is true; middlewares are skipped when
//!   [`RecoveryConfig::skip_middlewares`]. Anything else (unknown, expired, already used or
//!   malformed pid or offset) is an ordinary new connection.
//!
//! [`MemoryAdapter`](crate::MemoryAdapter) keeps sessions and packets in this process
//! ([`MemoryStore`] below), bounded by count and by age. Unlike Node's in-memory adapter, a
//! session is deleted when it is restored (as Node's Redis Streams adapter does), so that a
//! pid presented twice cannot make two live sockets share one id.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::adapter::{BroadcastOptions, BroadcastPacket, Room};
use crate::args::ArgError;
use crate::sid::Sid;

/// Connection state recovery settings (Node's `connectionStateRecovery` option; see the
/// [module docs](self)). Turn it on with
/// [`SocketIoBuilder::connection_state_recovery`](crate::SocketIoBuilder::connection_state_recovery).
#[derive(Debug, Clone)]
pub struct RecoveryConfig {
    /// How long a cut connection's session and the packets it may miss are kept (Node's
    /// `maxDisconnectionDuration`, default 2 minutes).
    pub max_disconnection_duration: Duration,
    /// Whether a recovered socket skips the namespace's middlewares (default true, as Node).
    pub skip_middlewares: bool,
    /// Most events kept per namespace for replay (default 10 000, the stream length Node's
    /// Redis Streams adapter keeps). Past it the oldest go first, and a session whose offset
    /// is older than every kept event cannot be restored: it reconnects as a new socket
    /// rather than silently missing events.
    pub max_stored_packets: usize,
    /// Most sessions kept per namespace (default 100 000). Past it the oldest is dropped.
    pub max_sessions: usize,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        Self {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
            max_stored_packets: 10_000,
            max_sessions: 100_000,
        }
    }
}

/// What a socket leaves behind when its connection is cut (Node's `SessionToPersist`).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionState {
    /// The socket id, given back to the recovered socket.
    pub sid: Sid,
    /// The private id the client presents to recover it.
    pub pid: Sid,
    /// Its rooms, its own-id room included.
    pub rooms: Vec<Room>,
    /// [`Socket::data`](crate::Socket::data).
    pub data: serde_json::Value,
}

/// A session taken back, with the events its socket missed, in the order they were sent.
#[derive(Debug)]
pub struct RestoredSession {
    /// The session.
    pub state: SessionState,
    /// The missed events, encoded, their offsets in them.
    pub missed: Vec<BroadcastPacket>,
}

struct Kept {
    offset: u64,
    at: Instant,
    opts: BroadcastOptions,
    packet: BroadcastPacket,
}

#[derive(Default)]
struct State {
    /// The offset of the next kept event; offsets are consecutive from 1.
    next: u64,
    /// Kept events, oldest first, with consecutive offsets.
    packets: VecDeque<Kept>,
    sessions: HashMap<Sid, (Instant, SessionState)>,
    /// Sessions by the time they were kept, oldest first (entries of sessions restored
    /// since are skipped when they come up).
    order: VecDeque<(Instant, Sid)>,
}

/// Sessions and events of one namespace, kept in this process (what [`MemoryAdapter`](crate::MemoryAdapter)
/// uses with recovery on). Expired entries go as later calls pass them: no timer.
pub struct MemoryStore {
    cfg: RecoveryConfig,
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store with these bounds.
    pub fn new(cfg: RecoveryConfig) -> Self {
        Self {
            cfg,
            state: Mutex::new(State {
                next: 1,
                ..State::default()
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops what is older than the disconnection duration.
    fn sweep(&self, st: &mut State, now: Instant) {
        let max = self.cfg.max_disconnection_duration;
        while st
            .packets
            .front()
            .is_some_and(|p| now.duration_since(p.at) >= max)
        {
            st.packets.pop_front();
        }
        while let Some(&(at, pid)) = st.order.front() {
            if now.duration_since(at) < max {
                break;
            }
            st.order.pop_front();
            if st.sessions.get(&pid).is_some_and(|(kept, _)| *kept == at) {
                st.sessions.remove(&pid);
            }
        }
    }

    /// Gives the next event its offset, encodes it with `encode` and keeps it for sockets
    /// that `opts` selects. Under the store's lock, so that offsets and order agree.
    pub fn keep(
        &self,
        opts: &BroadcastOptions,
        encode: &mut dyn FnMut(&str) -> Result<BroadcastPacket, ArgError>,
    ) -> Result<BroadcastPacket, ArgError> {
        let now = Instant::now();
        let mut st = self.state();
        self.sweep(&mut st, now);
        let offset = st.next;
        let packet = encode(&offset.to_string())?;
        st.next += 1;
        st.packets.push_back(Kept {
            offset,
            at: now,
            opts: BroadcastOptions {
                rooms: opts.rooms.clone(),
                except: opts.except.clone(),
                ..BroadcastOptions::default()
            },
            packet: packet.clone(),
        });
        if st.packets.len() > self.cfg.max_stored_packets {
            st.packets.pop_front();
        }
        Ok(packet)
    }

    /// Keeps the session of a socket whose connection was cut.
    pub fn persist(&self, session: SessionState) {
        let now = Instant::now();
        let mut st = self.state();
        self.sweep(&mut st, now);
        let pid = session.pid;
        st.order.push_back((now, pid));
        st.sessions.insert(pid, (now, session));
        while st.sessions.len() > self.cfg.max_sessions {
            let Some((at, old)) = st.order.pop_front() else {
                break;
            };
            if st.sessions.get(&old).is_some_and(|(kept, _)| *kept == at) {
                st.sessions.remove(&old);
                tracing::debug!(target: "sio_server::recovery", "session dropped: max_sessions reached");
            }
        }
        // Restored sessions leave their entries in `order`; keep it from outgrowing the map.
        if st.order.len() > 2 * self.cfg.max_sessions.max(16) {
            let sessions = &st.sessions;
            let kept: VecDeque<_> = st
                .order
                .iter()
                .filter(|(at, pid)| sessions.get(pid).is_some_and(|(k, _)| k == at))
                .copied()
                .collect();
            st.order = kept;
        }
    }

    /// Takes session `pid` back, once, with the events after `offset` that its rooms would
    /// have got; None when the pid is unknown or expired, or the offset is not one this store
    /// gave or is older than every kept event (some would be missing).
    pub fn restore(&self, pid: &str, offset: &str) -> Option<RestoredSession> {
        let pid = Sid::parse(pid)?;
        let now = Instant::now();
        let mut st = self.state();
        self.sweep(&mut st, now);
        let (_, state) = st.sessions.remove(&pid)?;
        // Only the canonical decimal form: "007" or "+7" are not offsets this store gave.
        let offset: u64 = offset
            .parse()
            .ok()
            .filter(|o: &u64| o.to_string() == offset)?;
        let first = st.packets.front().map_or(st.next, |p| p.offset);
        // Every event after `offset` must still be here, and the offset must have been given.
        if offset + 1 < first || offset >= st.next {
            return None;
        }
        let skip = usize::try_from(offset + 1 - first).ok()?;
        let missed = st
            .packets
            .iter()
            .skip(skip)
            .filter(|p| p.opts.reaches(&state.rooms))
            .map(|p| p.packet.clone())
            .collect();
        Some(RestoredSession { state, missed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet;

    fn store(max_packets: usize) -> MemoryStore {
        MemoryStore::new(RecoveryConfig {
            max_stored_packets: max_packets,
            ..RecoveryConfig::default()
        })
    }

    fn to(rooms: &[&str]) -> BroadcastOptions {
        BroadcastOptions {
            rooms: rooms.iter().map(|r| Room::from(*r)).collect(),
            ..BroadcastOptions::default()
        }
    }

    fn keep(s: &MemoryStore, opts: &BroadcastOptions, n: u32) -> Result<(), ArgError> {
        s.keep(opts, &mut |offset| {
            Ok(BroadcastPacket(packet::encode(
                "/",
                Some("e"),
                None,
                &(n, offset),
            )?))
        })?;
        Ok(())
    }

    fn session(rooms: &[&str]) -> SessionState {
        let sid = Sid::new();
        let mut all = vec![Room::from(sid.as_str())];
        all.extend(rooms.iter().map(|r| Room::from(*r)));
        SessionState {
            sid,
            pid: Sid::new(),
            rooms: all,
            data: serde_json::json!({ "n": 1 }),
        }
    }

    fn texts(r: &RestoredSession) -> Vec<&str> {
        r.missed.iter().map(BroadcastPacket::text).collect()
    }

    #[test]
    fn restores_once_with_what_its_rooms_missed() -> Result<(), ArgError> {
        let s = store(100);
        keep(&s, &to(&[]), 0)?; // offset 1: the last one the client got
        let sess = session(&["r"]);
        s.persist(sess.clone());
        keep(&s, &to(&["r"]), 1)?;
        keep(&s, &to(&["other"]), 2)?;
        keep(&s, &to(&[sess.sid.as_str()]), 3)?;
        let except = BroadcastOptions {
            except: [Room::from("r")].into_iter().collect(),
            ..BroadcastOptions::default()
        };
        keep(&s, &except, 4)?;
        let pid = sess.pid.as_str().to_owned();
        let Some(restored) = s.restore(&pid, "1") else {
            panic!("the session is restored");
        };
        assert_eq!(restored.state, sess);
        assert_eq!(
            texts(&restored),
            ["42[\"e\",1,\"2\"]", "42[\"e\",3,\"4\"]"],
            "its room and its own id, in order; not another room, not an excepted one"
        );
        assert!(s.restore(&pid, "1").is_none(), "a session restores once");
        Ok(())
    }

    #[test]
    fn refuses_bad_offsets_and_pids() -> Result<(), ArgError> {
        let s = store(2);
        for n in 0..3 {
            keep(&s, &to(&[]), n)?; // offsets 1, 2, 3; 1 dropped at the bound
        }
        let offsets_ok = ["1", "2", "3"];
        for offset in offsets_ok {
            let sess = session(&[]);
            s.persist(sess.clone());
            assert!(
                s.restore(sess.pid.as_str(), offset).is_some(),
                "offset {offset}"
            );
        }
        for offset in ["0", "4", "", "01", "+2", "-1", "x", &"9".repeat(10_000)] {
            let sess = session(&[]);
            s.persist(sess.clone());
            assert!(
                s.restore(sess.pid.as_str(), offset).is_none(),
                "offset {offset:.20}"
            );
        }
        assert!(s.restore("not a pid", "3").is_none());
        assert!(s.restore(&"p".repeat(10_000), "3").is_none());
        assert!(s.restore(Sid::new().as_str(), "3").is_none(), "unknown pid");
        Ok(())
    }

    #[test]
    fn sessions_expire_and_are_bounded() {
        let s = MemoryStore::new(RecoveryConfig {
            max_disconnection_duration: Duration::ZERO,
            ..RecoveryConfig::default()
        });
        let sess = session(&[]);
        s.persist(sess.clone());
        assert!(s.restore(sess.pid.as_str(), "0").is_none(), "expired");

        let s = MemoryStore::new(RecoveryConfig {
            max_sessions: 2,
            ..RecoveryConfig::default()
        });
        let all: Vec<_> = (0..3).map(|_| session(&[])).collect();
        for sess in &all {
            s.persist(sess.clone());
        }
        assert!(
            s.restore(all[0].pid.as_str(), "0").is_none(),
            "the oldest went"
        );
        assert!(s.restore(all[2].pid.as_str(), "0").is_some());
    }
}
