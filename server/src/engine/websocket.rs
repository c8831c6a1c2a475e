//! The WebSocket transport: direct sessions, the upgrade of a polling session (probe, then
//! switch), and the driver that reads, writes and runs the heartbeat in one task.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use sio_protocol::engine::{self, Frame, Packet};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};
use tracing::{Instrument, debug};

use super::errors::EngineError;
use super::ws_io::ReadAhead;
use super::{CloseReason, Drain, EndsSession, Engine, EngineHandler, Session, Transport};

type Ws = WebSocketStream<ReadAhead<TokioIo<Upgraded>>>;

/// Whether the request asks for a WebSocket upgrade.
pub(super) fn is_upgrade_request<B>(req: &Request<B>) -> bool {
    let has = |name: header::HeaderName, token: &str| {
        req.headers().get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    has(header::UPGRADE, "websocket") && has(header::CONNECTION, "upgrade")
}

/// Answers the upgrade with 101 and serves the WebSocket in a task: a new session when
/// `session` is `None`, else a probe that may take over the polling session.
pub(super) fn accept<H: EngineHandler, B>(
    engine: Arc<Engine<H>>,
    mut req: Request<B>,
    session: Option<Arc<Session<H::Data>>>,
) -> Response<Full<Bytes>>
where
    B: Send + 'static,
{
    let version_ok = req
        .headers()
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v == "13");
    let key = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned();
    let Some(key) = key.filter(|_| version_ok) else {
        if let Some(s) = &session {
            s.release_probe();
        }
        return EngineError::BadRequest.response();
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    // Boxed: the task keeps what it captures for the connection's life, and the request
    // is needed only until the session is open.
    let parts = Box::new(req.into_parts().0);
    // A new session's id is chosen now: the answer may carry it (the `cookie` option).
    let new_sid = session.is_none().then(crate::sid::Sid::new);
    let opened = new_sid.filter(|_| engine.config.headers.wants_opened());
    let span = tracing::debug_span!(
        "engine",
        sid = session.as_ref().map(|s| tracing::field::display(s.sid)),
        transport = "websocket"
    );
    let serve = async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(err) => {
                debug!(%err, "websocket upgrade failed");
                if let Some(s) = &session {
                    s.release_probe();
                }
                return;
            }
        };
        let config = WebSocketConfig::default()
            .read_buffer_size(engine.config.ws_read_buffer)
            .write_buffer_size(engine.config.ws_write_buffer)
            .max_write_buffer_size(engine.config.ws_write_buffer.max(engine.config.max_payload) * 2)
            .max_message_size(Some(engine.config.max_payload))
            .max_frame_size(Some(engine.config.max_payload));
        let io = ReadAhead::new(TokioIo::new(upgraded));
        // The socket lives here only: the futures below borrow it (an async fn's future
        // taking it by value would hold a second copy of it for the connection's life).
        let mut ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
        match session {
            None => {
                let sid = new_sid.unwrap_or_else(crate::sid::Sid::new);
                let session = engine.open_session(sid, &parts, Transport::Websocket);
                tracing::Span::current().record("sid", tracing::field::display(session.sid));
                drop(parts);
                let mut open = BytesMut::with_capacity(128);
                super::polling::open_packet(&engine, &session, &[]).write(&mut open);
                let _ = session.send(Frame::Text(open.freeze()));
                engine.handler.on_open(&session);
                drive(&engine, &mut ws, &session).await;
            }
            Some(session) => {
                drop(parts);
                // Boxed, and not in the `match`: the task would keep room for it while
                // `drive` runs.
                let upgraded = Box::pin(probe(&engine, &mut ws, &session)).await;
                match upgraded {
                    Some(()) => drive(&engine, &mut ws, &session).await,
                    None => session.release_probe(),
                }
            }
        }
    };
    tokio::spawn(serve.instrument(span));
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let mut res = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Full::default())
        .unwrap_or_default();
    if let Some(sid) = opened {
        res.extensions_mut().insert(super::Opened(sid));
    }
    res
}

/// The upgrade of a polling session: `2probe` → `3probe`, pending polls get a noop, then
/// `5` switches the session to this WebSocket. Returns `Some` once upgraded.
async fn probe<H: EngineHandler>(
    engine: &Arc<Engine<H>>,
    ws: &mut Ws,
    session: &Arc<Session<H::Data>>,
) -> Option<()> {
    let deadline = tokio::time::sleep(engine.config.upgrade_timeout);
    let mut deadline = pin!(deadline);
    loop {
        let msg = tokio::select! {
            msg = ws.next() => msg,
            () = &mut deadline => {
                debug!(sid = %session.sid, "upgrade timed out");
                return None;
            }
        };
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            _ => {
                debug!(sid = %session.sid, "upgrade aborted by the client");
                return None;
            }
        };
        if session.is_closed() {
            return None;
        }
        match engine::decode_text(&text) {
            Ok(Packet::Ping("probe")) => {
                if ws.send(Message::text("3probe")).await.is_err() {
                    return None;
                }
                session.lock().upgrading = true;
                session.wake_writer();
            }
            Ok(Packet::Upgrade) if session.lock().upgrading => {
                session.set_transport(Transport::Websocket);
                debug!(sid = %session.sid, "upgraded to websocket");
                engine.handler.on_upgrade(session);
                return Some(());
            }
            _ => {
                debug!(sid = %session.sid, "unexpected packet during upgrade");
                return None;
            }
        }
    }
}

fn to_message(frame: Frame) -> Option<Message> {
    match frame {
        Frame::Text(b) => Utf8Bytes::try_from(b).ok().map(Message::Text),
        Frame::Binary(b) => Some(Message::Binary(b)),
    }
}

/// Most messages read in one go before writes and timers get their turn.
const READ_BUDGET: usize = 32;

/// Serves a WebSocket session until it finishes: reads and dispatches messages, writes
/// queued frames in batches (one flush per batch), and runs the heartbeat.
async fn drive<H: EngineHandler>(
    engine: &Arc<Engine<H>>,
    ws: &mut Ws,
    session: &Arc<Session<H::Data>>,
) {
    let mut owner = EndsSession::new(engine, session, Transport::Websocket);
    let exit = serve_frames(engine, ws, session).await;
    owner.armed = false;
    // The closing handshake, bounded: the reply tungstenite queued for the peer's close
    // frame, or the server's own close frame.
    if matches!(exit, Exit::Flush | Exit::SayClose) {
        // `Sink::close`: it also flushes a reply queued after the peer's close frame.
        let _ = tokio::time::timeout(engine.config.close_timeout, SinkExt::close(ws)).await;
    }
}

/// How [`serve_frames`] ended.
enum Exit {
    /// A close frame is queued (the reply to the peer's, or "message too big"): flush it.
    Flush,
    /// The session ended while the socket was open: say so with a close frame.
    SayClose,
    /// Nothing more to say (the socket failed, or is closed already).
    Done,
}

async fn serve_frames<H: EngineHandler>(
    engine: &Arc<Engine<H>>,
    ws: &mut Ws,
    session: &Arc<Session<H::Data>>,
) -> Exit {
    let mut sleep = pin!(tokio::time::sleep(engine.config.ping_interval));
    let mut batch: VecDeque<Frame> = VecDeque::new();
    let mut need_flush = false;
    let mut closing = false;
    let mut read_open = true;
    // The peer has neither closed nor broken the connection.
    let mut peer_open = true;
    // A close frame is queued: the reply tungstenite makes to the peer's, or ours.
    let mut close_queued = false;
    poll_fn(|cx| {
        loop {
            let mut progressed = false;

            // Read.
            let mut budget = READ_BUDGET;
            while read_open && budget > 0 {
                budget -= 1;
                match ws.poll_next_unpin(cx) {
                    Poll::Ready(Some(Ok(msg))) => {
                        if budget == READ_BUDGET - 1 {
                            // Whatever the handlers send now is written below, in this same
                            // poll: they need not wake this task.
                            session.clear_writer();
                        }
                        let alive = match msg {
                            Message::Text(text) => {
                                let owner = Bytes::from(text);
                                let text = std::str::from_utf8(&owner).unwrap_or_default();
                                engine.on_packet(session, engine::decode_text(text), &owner)
                            }
                            Message::Binary(bin) => {
                                engine.on_packet(session, Ok(Packet::Binary(&bin)), &bin)
                            }
                            // tungstenite queues the pong; a flush sends it.
                            Message::Ping(_) => {
                                need_flush = true;
                                true
                            }
                            Message::Pong(_) | Message::Frame(_) => true,
                            Message::Close(_) => {
                                // tungstenite has queued the reply; it goes out on the way
                                // out (see `drive`).
                                close_queued = true;
                                peer_open = false;
                                session.close(CloseReason::TransportClose);
                                false
                            }
                        };
                        if !alive {
                            // What follows a close or a parse error is not read.
                            read_open = false;
                        }
                    }
                    Poll::Ready(Some(Err(err))) => {
                        debug!(sid = %session.sid, %err, "websocket read failed");
                        read_open = false;
                        peer_open = false;
                        let reason = match err {
                            tungstenite::Error::Capacity(_) => {
                                // As Node's `ws`: close with 1009 "message too big".
                                let frame = CloseFrame {
                                    code: CloseCode::Size,
                                    reason: "Max payload size exceeded".into(),
                                };
                                if ws.poll_ready_unpin(cx).is_ready()
                                    && ws.start_send_unpin(Message::Close(Some(frame))).is_ok()
                                {
                                    close_queued = true;
                                }
                                CloseReason::TransportError
                            }
                            tungstenite::Error::ConnectionClosed
                            | tungstenite::Error::AlreadyClosed => CloseReason::TransportClose,
                            _ => CloseReason::TransportError,
                        };
                        session.close(reason);
                    }
                    Poll::Ready(None) => {
                        read_open = false;
                        peer_open = false;
                        session.close(CloseReason::TransportClose);
                    }
                    Poll::Pending => break,
                }
            }
            if budget == 0 {
                progressed = true;
            }

            // Heartbeat, close notification and the end of the session.
            let Some(at) = engine.drive(session, cx, Transport::Websocket) else {
                return Poll::Ready(if close_queued {
                    Exit::Flush
                } else if peer_open && !closing {
                    Exit::SayClose
                } else {
                    Exit::Done
                });
            };
            if sleep.deadline() != at {
                sleep.as_mut().reset(at);
            }

            // Write.
            loop {
                if batch.is_empty() && !closing {
                    match session.drain(cx, Transport::Websocket) {
                        Drain::Frames(frames) => batch = frames,
                        Drain::Close(frames) => {
                            batch = frames;
                            closing = true;
                        }
                        Drain::Idle | Drain::Noop => break,
                        Drain::Gone => {
                            session.finish();
                            progressed = true;
                            break;
                        }
                    }
                }
                let mut blocked = false;
                while let Some(frame) = batch.front() {
                    match ws.poll_ready_unpin(cx) {
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(err)) => {
                            debug!(sid = %session.sid, %err, "websocket write failed");
                            session.close(CloseReason::TransportError);
                            finish_now(engine, session);
                            return Poll::Ready(Exit::Done);
                        }
                        Poll::Pending => {
                            blocked = true;
                            break;
                        }
                    }
                    let frame = frame.clone();
                    batch.pop_front();
                    if let Some(msg) = to_message(frame) {
                        if ws.start_send_unpin(msg).is_err() {
                            session.close(CloseReason::TransportError);
                            finish_now(engine, session);
                            return Poll::Ready(Exit::Done);
                        }
                        need_flush = true;
                    }
                }
                if blocked || closing {
                    break;
                }
                session.recycle(std::mem::take(&mut batch));
                engine.handler.on_drain(session);
            }
            if need_flush {
                match ws.poll_flush_unpin(cx) {
                    Poll::Ready(Ok(())) => need_flush = false,
                    Poll::Ready(Err(err)) => {
                        debug!(sid = %session.sid, %err, "websocket flush failed");
                        session.close(CloseReason::TransportError);
                        finish_now(engine, session);
                        return Poll::Ready(Exit::Done);
                    }
                    Poll::Pending => {}
                }
            }
            if closing && batch.is_empty() && !need_flush {
                match ws.poll_close_unpin(cx) {
                    Poll::Ready(_) => {
                        session.finish();
                        closing = false;
                        progressed = true;
                    }
                    Poll::Pending => {}
                }
            }

            // Timers.
            if sleep.as_mut().poll(cx).is_ready() {
                progressed = true;
            }
            if !progressed {
                return Poll::Pending;
            }
        }
    })
    .await
}

/// Ends a session whose socket failed: tells the upper layer and forgets the session.
fn finish_now<H: EngineHandler>(engine: &Arc<Engine<H>>, session: &Arc<Session<H::Data>>) {
    engine.end_now(session, Transport::Websocket);
}
