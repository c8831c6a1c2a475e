//! One Engine.IO session: its outgoing queue, its transport and its heartbeat.
//!
//! Everything mutable sits behind one short-lived mutex. Writers (a WebSocket driver or a
//! pending polling GET) register a waker and are woken only when the queue goes from empty
//! to non-empty, so a burst of sends costs one wake-up.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Waker};
use std::time::Duration;

use sio_protocol::engine::{Frame, PacketType};
use tokio::time::Instant;

use crate::sid::Sid;

/// The transport a session currently uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    Websocket,
    /// WebTransport (HTTP/3), served by `sio_server::webtransport` (feature `webtransport`).
    WebTransport,
}

impl Transport {
    /// Every transport, in the order [`Stats`](crate::stats::Stats) lists them.
    pub const ALL: [Transport; 3] = [
        Transport::Polling,
        Transport::Websocket,
        Transport::WebTransport,
    ];

    /// The name used on the wire and by Node (`"polling"`, `"websocket"`, `"webtransport"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Polling => "polling",
            Transport::Websocket => "websocket",
            Transport::WebTransport => "webtransport",
        }
    }
}

/// Why a session closed, with Node's reason strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed the connection or sent a close packet.
    TransportClose,
    /// The connection failed, or the peer misbehaved at the transport level.
    TransportError,
    /// No pong arrived in time.
    PingTimeout,
    /// The peer sent a packet that could not be decoded.
    ParseError,
    /// The server closed the session.
    ForcedClose,
    /// The peer read too slowly: its queue reached the configured limit.
    BufferFull,
}

impl CloseReason {
    /// The reason string Node reports.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError | CloseReason::BufferFull => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::ForcedClose => "forced close",
        }
    }

    /// Whether queued packets are still delivered before the transport closes.
    fn flushes(self) -> bool {
        matches!(self, CloseReason::ForcedClose)
    }
}

/// Why a frame could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The session is closed.
    #[error("the connection is closed")]
    Closed,
    /// The queue is full: the session has been closed as too slow.
    #[error("the peer reads too slowly: its send queue is full")]
    Full,
    /// A volatile frame was dropped because the transport was busy.
    #[error("volatile packet dropped")]
    Dropped,
}

/// What a writer should do next.
pub(crate) enum Drain {
    /// Nothing to write yet; the waker is registered.
    Idle,
    /// Write these frames.
    Frames(VecDeque<Frame>),
    /// Write these frames, then close the transport (graceful close).
    Close(VecDeque<Frame>),
    /// An upgrade is under way: release the pending poll with a noop.
    Noop,
    /// The session is gone: stop without writing.
    Gone,
}

pub(crate) struct State {
    queue: VecDeque<Frame>,
    transport: Transport,
    /// A WebSocket probe answered `3probe`: pending polls are released with a noop.
    pub(crate) upgrading: bool,
    /// A WebSocket upgrade request holds the probe: a second one at the same time is
    /// refused, so that one session never switches to two sockets.
    probing: bool,
    writer: Option<Waker>,
    driver: Option<Waker>,
    pub(crate) poll_active: bool,
    pub(crate) post_active: bool,
    closed: Option<CloseReason>,
    /// Set once the closing writer has finished; the session is then removed.
    pub(crate) finished: bool,
    /// Whether the driver has told the upper layer about the close.
    close_notified: bool,
    heartbeat: Heartbeat,
    /// Message packets and payload bytes queued for the peer (counted under this lock,
    /// which queueing takes anyway), and volatile packets dropped.
    sent: (u64, u64),
    volatile_dropped: u64,
}

#[derive(Clone, Copy)]
struct Heartbeat {
    awaiting_pong: bool,
    /// When the next ping is due, or (awaiting a pong) when the pong is overdue.
    due: Instant,
    /// Until when the upper layer must have made use of the session (connect timeout).
    first_use_due: Option<Instant>,
    /// Until when a graceful close may wait for a writer.
    close_due: Option<Instant>,
}

/// What the driver of a session must do next.
pub(crate) enum Tick {
    /// Wait until this instant (or a wake-up).
    Sleep(Instant),
    /// The upper layer's first-use deadline passed.
    FirstUseDue,
    /// The session just closed: tell the upper layer.
    Closed(CloseReason),
    /// The session is closed and its transport done: forget it.
    Finish,
    /// The session is driven by another transport now; stop without touching it.
    Stop,
}

/// An Engine.IO session shared between its transports and the upper layer.
pub struct Session<D> {
    /// The session id (`sid` of the handshake).
    pub sid: Sid,
    /// The transport of the handshake request.
    pub initial_transport: Transport,
    /// The upper layer's data for this session.
    pub data: D,
    pub(crate) state: Mutex<State>,
    /// `state.closed.is_some()`, readable without the lock (checked for every packet).
    closed: AtomicBool,
    limits: Limits,
    /// What the peer sent (see [`crate::stats`]).
    pub(crate) received: crate::stats::Received,
}

#[derive(Clone, Copy)]
pub(crate) struct Limits {
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    /// How long a server-side close waits to flush the queue.
    pub close_timeout: Duration,
    pub max_buffered: usize,
}

impl<D> Session<D> {
    pub(crate) fn new(
        sid: Sid,
        transport: Transport,
        data: D,
        limits: Limits,
        first_use: Option<Duration>,
    ) -> Self {
        let now = Instant::now();
        Self {
            sid,
            initial_transport: transport,
            data,
            limits,
            received: crate::stats::Received::default(),
            closed: AtomicBool::new(false),
            state: Mutex::new(State {
                queue: VecDeque::new(),
                transport,
                upgrading: false,
                probing: false,
                writer: None,
                driver: None,
                poll_active: false,
                post_active: false,
                closed: None,
                finished: false,
                close_notified: false,
                sent: (0, 0),
                volatile_dropped: 0,
                heartbeat: Heartbeat {
                    awaiting_pong: false,
                    due: now + limits.ping_interval,
                    first_use_due: first_use.map(|d| now + d),
                    close_due: None,
                },
            }),
        }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock would be a bug in this module; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This session's traffic so far, the volatile packets it dropped, and its transport.
    pub(crate) fn traffic(&self) -> (crate::stats::Traffic, u64, Transport) {
        let (packets_in, bytes_in) = self.received.get();
        let st = self.lock();
        let traffic = crate::stats::Traffic {
            packets_in,
            bytes_in,
            packets_out: st.sent.0,
            bytes_out: st.sent.1,
        };
        (traffic, st.volatile_dropped, st.transport)
    }

    /// The transport in use now.
    pub fn transport(&self) -> Transport {
        self.lock().transport
    }

    /// Whether the session has closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Takes the upgrade probe for one WebSocket request; false if another holds it or the
    /// session no longer polls.
    pub(crate) fn claim_probe(&self) -> bool {
        let mut st = self.lock();
        if st.probing || st.closed.is_some() || st.transport != Transport::Polling {
            return false;
        }
        st.probing = true;
        true
    }

    /// Gives the probe back after a failed upgrade: polls are no longer released at once.
    pub(crate) fn release_probe(&self) {
        let mut st = self.lock();
        st.probing = false;
        st.upgrading = false;
    }

    /// Whether the session has nothing more to say to its peer: closed without packets to
    /// flush, or done flushing. Requests for it are answered as for an unknown session.
    pub(crate) fn is_gone(&self) -> bool {
        let st = self.lock();
        st.finished || st.closed.is_some_and(|r| !r.flushes())
    }

    /// Queues a frame for the peer.
    pub fn send(&self, frame: Frame) -> Result<(), SendError> {
        self.enqueue(std::iter::once(frame), false)
    }

    /// Queues several frames that must stay together (a binary packet and its attachments).
    pub fn send_all(&self, frames: impl IntoIterator<Item = Frame>) -> Result<(), SendError> {
        self.enqueue(frames, false)
    }

    /// Queues frames only if the transport can write them at once (volatile emits).
    pub fn send_volatile(&self, frames: impl IntoIterator<Item = Frame>) -> Result<(), SendError> {
        self.enqueue(frames, true)
    }

    fn enqueue(
        &self,
        frames: impl IntoIterator<Item = Frame>,
        volatile: bool,
    ) -> Result<(), SendError> {
        let waker = {
            let mut st = self.lock();
            if st.closed.is_some() {
                return Err(SendError::Closed);
            }
            if volatile {
                // A stream transport can always take a frame; a poll only while it waits.
                let writable = st.queue.is_empty()
                    && (st.transport != Transport::Polling || st.writer.is_some());
                if !writable {
                    st.volatile_dropped += 1;
                    return Err(SendError::Dropped);
                }
            } else if st.queue.len() >= self.limits.max_buffered {
                drop(st);
                self.close(CloseReason::BufferFull);
                return Err(SendError::Full);
            }
            for f in frames {
                // Message packets only: a text `4…` or a binary message.
                let payload = match &f {
                    Frame::Text(b) if b.first() == Some(&b'4') => Some(b.len() - 1),
                    Frame::Binary(b) => Some(b.len()),
                    Frame::Text(_) => None,
                };
                if let Some(n) = payload {
                    st.sent.0 += 1;
                    st.sent.1 += n as u64;
                }
                st.queue.push_back(f);
            }
            st.writer.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Closes the session. Returns false if it already was closed. Queued frames are still
    /// written when the server closes it ([`CloseReason::ForcedClose`]); the engine tells
    /// the upper layer and forgets the session once the transport is done.
    pub fn close(&self, reason: CloseReason) -> bool {
        let wakers = {
            let mut st = self.lock();
            if st.closed.is_some() {
                return false;
            }
            st.closed = Some(reason);
            self.closed.store(true, Ordering::Release);
            if !reason.flushes() {
                st.queue.clear();
                st.queue.shrink_to_fit();
            }
            st.heartbeat.close_due = Some(Instant::now() + self.limits.close_timeout);
            (st.writer.take(), st.driver.take())
        };
        for w in [wakers.0, wakers.1].into_iter().flatten() {
            w.wake();
        }
        true
    }

    /// Called by the active writer: takes what there is to write, or registers its waker.
    pub(crate) fn drain(&self, cx: &mut Context<'_>, transport: Transport) -> Drain {
        let mut st = self.lock();
        if st.finished {
            return Drain::Gone;
        }
        if let Some(reason) = st.closed {
            if !reason.flushes() {
                return Drain::Gone;
            }
            let frames = std::mem::take(&mut st.queue);
            return Drain::Close(frames);
        }
        if st.transport != transport {
            // An upgrade happened; the old transport hands over.
            return Drain::Gone;
        }
        if st.queue.is_empty() && st.upgrading && transport == Transport::Polling {
            return Drain::Noop;
        }
        if st.queue.is_empty() {
            match &st.writer {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => st.writer = Some(cx.waker().clone()),
            }
            return Drain::Idle;
        }
        let frames = std::mem::take(&mut st.queue);
        Drain::Frames(frames)
    }

    /// Gives back an emptied batch buffer so its capacity is reused, unless it grew large.
    pub(crate) fn recycle(&self, mut batch: VecDeque<Frame>) {
        batch.clear();
        if batch.capacity() > 64 {
            return;
        }
        let mut st = self.lock();
        if st.queue.is_empty() && st.queue.capacity() < batch.capacity() {
            st.queue = batch;
        }
    }

    /// Forgets the writer's waker (a polling GET that ended).
    pub(crate) fn clear_writer(&self) {
        self.lock().writer = None;
    }

    /// Wakes whoever waits to write (used to release a pending poll with a noop).
    pub(crate) fn wake_writer(&self) {
        let w = self.lock().writer.take();
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Records a pong: the next ping is due one interval from now.
    pub(crate) fn on_pong(&self) {
        let mut st = self.lock();
        if st.heartbeat.awaiting_pong {
            st.heartbeat.awaiting_pong = false;
            st.heartbeat.due = Instant::now() + self.limits.ping_interval;
        }
    }

    /// The upper layer made use of the session: its first-use deadline no longer applies.
    pub fn clear_first_use_deadline(&self) {
        self.lock().heartbeat.first_use_due = None;
    }

    /// Switches the session to `transport` after a completed upgrade.
    pub(crate) fn set_transport(&self, transport: Transport) {
        let (writer, driver) = {
            let mut st = self.lock();
            st.transport = transport;
            st.upgrading = false;
            st.probing = false;
            (st.writer.take(), st.driver.take())
        };
        for w in [writer, driver].into_iter().flatten() {
            w.wake();
        }
    }

    /// Marks the closing writer done: the driver may forget the session.
    pub(crate) fn finish(&self) {
        let driver = {
            let mut st = self.lock();
            st.finished = true;
            st.driver.take()
        };
        if let Some(w) = driver {
            w.wake();
        }
    }

    /// The driver's step, when woken or at its deadline: runs the heartbeat (queueing pings
    /// itself, closing on a missed pong) and says what to do next.
    pub(crate) fn tick(&self, cx: &mut Context<'_>, transport: Transport) -> Tick {
        let now = Instant::now();
        let mut ping = false;
        let tick = {
            let mut st = self.lock();
            // The driver of the old transport leaves without touching the new one's waker.
            if st.transport != transport && st.closed.is_none() {
                return Tick::Stop;
            }
            match &st.driver {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => st.driver = Some(cx.waker().clone()),
            }
            if let Some(reason) = st.closed {
                if !st.close_notified {
                    st.close_notified = true;
                    return Tick::Closed(reason);
                }
                let overdue = st.heartbeat.close_due.is_none_or(|d| now >= d);
                if st.finished || !reason.flushes() || overdue {
                    return Tick::Finish;
                }
                return Tick::Sleep(st.heartbeat.close_due.unwrap_or(now));
            }
            let hb = &mut st.heartbeat;
            if hb.first_use_due.is_some_and(|d| now >= d) {
                hb.first_use_due = None;
                return Tick::FirstUseDue;
            }
            if now >= hb.due {
                if hb.awaiting_pong {
                    drop(st);
                    self.close(CloseReason::PingTimeout);
                    return self.tick(cx, transport);
                }
                hb.awaiting_pong = true;
                hb.due = now + self.limits.ping_timeout;
                ping = true;
            }
            Tick::Sleep(earliest(hb.due, hb.first_use_due))
        };
        if ping {
            // A full queue closes the session; the next tick reports it.
            let _ = self.send(Frame::bare(PacketType::Ping));
        }
        tick
    }
}

fn earliest(a: Instant, b: Option<Instant>) -> Instant {
    b.map_or(a, |b| a.min(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Context;

    fn session(max_buffered: usize) -> Session<()> {
        let limits = Limits {
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            close_timeout: Duration::from_secs(1),
            max_buffered,
        };
        Session::new(Sid::new(), Transport::Websocket, (), limits, None)
    }

    fn cx() -> Context<'static> {
        Context::from_waker(futures_util::task::noop_waker_ref())
    }

    #[test]
    fn a_full_queue_closes_the_session() {
        let s = session(2);
        let f = Frame::bare(PacketType::Noop);
        assert_eq!(s.send(f.clone()), Ok(()));
        assert_eq!(s.send(f.clone()), Ok(()));
        assert_eq!(s.send(f.clone()), Err(SendError::Full));
        assert!(s.is_closed());
        assert_eq!(s.send(f), Err(SendError::Closed));
        assert!(matches!(
            s.drain(&mut cx(), Transport::Websocket),
            Drain::Gone
        ));
    }

    #[test]
    fn volatile_frames_need_an_idle_transport() {
        let s = session(10);
        let f = Frame::bare(PacketType::Noop);
        assert_eq!(s.send_volatile([f.clone()]), Ok(()));
        assert_eq!(s.send_volatile([f.clone()]), Err(SendError::Dropped));
        assert!(
            matches!(s.drain(&mut cx(), Transport::Websocket), Drain::Frames(q) if q.len() == 1)
        );
        assert_eq!(s.send_volatile([f]), Ok(()));
    }

    #[test]
    fn a_server_close_flushes_then_finishes() {
        let s = session(10);
        s.send(Frame::bare(PacketType::Noop)).unwrap();
        assert!(s.close(CloseReason::ForcedClose));
        assert!(!s.close(CloseReason::TransportError), "closes once");
        assert!(matches!(
            s.tick(&mut cx(), Transport::Websocket),
            Tick::Closed(CloseReason::ForcedClose)
        ));
        assert!(
            matches!(s.drain(&mut cx(), Transport::Websocket), Drain::Close(q) if q.len() == 1)
        );
        s.finish();
        assert!(matches!(
            s.tick(&mut cx(), Transport::Websocket),
            Tick::Finish
        ));
    }

    #[test]
    fn an_error_close_drops_the_queue() {
        let s = session(10);
        s.send(Frame::bare(PacketType::Noop)).unwrap();
        s.close(CloseReason::TransportError);
        assert!(matches!(
            s.tick(&mut cx(), Transport::Websocket),
            Tick::Closed(_)
        ));
        assert!(matches!(
            s.tick(&mut cx(), Transport::Websocket),
            Tick::Finish
        ));
        assert!(matches!(
            s.drain(&mut cx(), Transport::Websocket),
            Drain::Gone
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn heartbeat_pings_then_times_out() {
        let s = session(10);
        assert!(matches!(
            s.tick(&mut cx(), Transport::Websocket),
            Tick::Sleep(_)
        ));
        tokio::time::advance(Duration::from_secs(25)).await;
        assert!(matches!(
            s.tick(&mut cx(), Transport::Websocket),
            Tick::Sleep(_)
        ));
        assert!(
            matches!(s.drain(&mut cx(), Transport::Websocket), Drain::Frames(q) if q[0] == Frame::bare(PacketType::Ping))
        );
        // A pong in time moves the next ping one interval on.
        tokio::time::advance(Duration::from_secs(19)).await;
        s.on_pong();
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(matches!(
            s.tick(&mut cx(), Transport::Websocket),
            Tick::Sleep(_)
        ));
        assert!(!s.is_closed());
        // No pong this time.
        tokio::time::advance(Duration::from_secs(23)).await;
        assert!(matches!(
            s.tick(&mut cx(), Transport::Websocket),
            Tick::Sleep(_)
        ));
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(matches!(
            s.tick(&mut cx(), Transport::Websocket),
            Tick::Closed(CloseReason::PingTimeout)
        ));
    }
}
