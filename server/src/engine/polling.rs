//! HTTP long-polling: the handshake GET, pending GETs that carry queued packets to the
//! client, and POSTs that carry the client's packets in.

use std::future::poll_fn;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use bytes::{Bytes, BytesMut};
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use sio_protocol::engine::{Frame, PacketType};
use sio_protocol::handshake::OpenPacket;
use sio_protocol::payload::{self, Record};
use tracing::{Instrument, debug};

use super::errors::status;
use super::{CloseReason, Drain, EndsSession, Engine, EngineHandler, Session, Transport};
use crate::sid::Sid;

/// A handshake over polling: opens the session and answers with its open packet.
pub(super) fn handshake<H: EngineHandler, B>(
    engine: Arc<Engine<H>>,
    req: Request<B>,
) -> Response<Full<Bytes>> {
    let (parts, _body) = req.into_parts();
    let session = engine.open_session(Sid::new(), &parts, Transport::Polling);
    let mut body = BytesMut::with_capacity(128);
    open_packet(&engine, &session, engine.upgrades()).write(&mut body);
    engine.handler.on_open(&session);
    let mut res = payload_response(body.freeze());
    if engine.config.headers.wants_opened() {
        res.extensions_mut().insert(super::Opened(session.sid));
    }
    spawn_driver(engine, session);
    res
}

pub(super) fn open_packet<'a, H: EngineHandler>(
    engine: &Engine<H>,
    session: &'a Session<H::Data>,
    upgrades: &'a [&'a str],
) -> OpenPacket<'a> {
    OpenPacket {
        sid: session.sid.as_str(),
        upgrades,
        ping_interval: engine.config.ping_interval.as_millis() as u64,
        ping_timeout: engine.config.ping_timeout.as_millis() as u64,
        max_payload: engine.config.max_payload as u64,
    }
}

/// The heartbeat of a polling session lives in its own small task; it ends when the
/// session upgrades (the WebSocket driver takes over) or finishes.
fn spawn_driver<H: EngineHandler>(engine: Arc<Engine<H>>, session: Arc<Session<H::Data>>) {
    let span = tracing::debug_span!("engine", sid = %session.sid, transport = "polling");
    let driver = async move {
        let mut owner = EndsSession::new(&engine, &session, Transport::Polling);
        let mut sleep = pin!(tokio::time::sleep(engine.config.ping_interval));
        poll_fn(|cx| {
            loop {
                let Some(at) = engine.drive(&session, cx, Transport::Polling) else {
                    return Poll::Ready(());
                };
                sleep.as_mut().reset(at);
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
            }
        })
        .await;
        owner.armed = false;
    };
    tokio::spawn(driver.instrument(span));
}

/// The two requests a polling session may have in flight, one of each at a time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Get,
    Post,
}

/// Holds a slot until the request ends, however it ends.
struct SlotGuard<'a, D> {
    session: &'a Session<D>,
    slot: Slot,
}

impl<D> Drop for SlotGuard<'_, D> {
    fn drop(&mut self) {
        let mut st = self.session.lock();
        match self.slot {
            Slot::Get => st.poll_active = false,
            Slot::Post => st.post_active = false,
        }
        drop(st);
        if self.slot == Slot::Get {
            self.session.clear_writer();
        }
    }
}

/// Takes `slot` for this request. A second request for a busy slot is a client bug: as in
/// Node, the session closes (and the caller answers 400).
fn claim<D>(session: &Session<D>, slot: Slot) -> Option<SlotGuard<'_, D>> {
    let mut st = session.lock();
    let busy = match slot {
        Slot::Get => std::mem::replace(&mut st.poll_active, true),
        Slot::Post => std::mem::replace(&mut st.post_active, true),
    };
    drop(st);
    if busy {
        debug!(sid = %session.sid, get = (slot == Slot::Get), "overlapping polling request: closing the session");
        session.close(CloseReason::TransportError);
        return None;
    }
    Some(SlotGuard { session, slot })
}

/// Armed while a request waits on its client. If the request is dropped then, the client
/// went away mid-request (hyper drops the handler when the connection closes): as in Node,
/// the session ends with a transport error instead of waiting for the ping timeout.
struct ClosesIfAborted<'a, D> {
    session: &'a Session<D>,
    armed: bool,
}

impl<'a, D> ClosesIfAborted<'a, D> {
    fn new(session: &'a Session<D>) -> Self {
        Self {
            session,
            armed: true,
        }
    }
}

impl<D> Drop for ClosesIfAborted<'_, D> {
    fn drop(&mut self) {
        if self.armed {
            debug!(sid = %self.session.sid, "polling request aborted by the client");
            self.session.close(CloseReason::TransportError);
        }
    }
}

/// A GET: waits for packets and returns them all as one payload.
pub(super) async fn poll<H: EngineHandler>(
    engine: Arc<Engine<H>>,
    session: Arc<Session<H::Data>>,
) -> Response<Full<Bytes>> {
    let Some(_guard) = claim(&session, Slot::Get) else {
        return status(StatusCode::BAD_REQUEST);
    };
    let mut aborted = ClosesIfAborted::new(&session);
    let drained = poll_fn(|cx| match session.drain(cx, Transport::Polling) {
        Drain::Idle => Poll::Pending,
        other => Poll::Ready(other),
    })
    .await;
    aborted.armed = false;
    let mut body = BytesMut::new();
    match drained {
        Drain::Frames(frames) => {
            body.reserve(frames.iter().map(|f| payload::record_len(f) + 1).sum());
            payload::encode(&frames, &mut body);
            session.recycle(frames);
            engine.handler.on_drain(&session);
        }
        // The last packets and the close go in separate responses: socket.io-client
        // handles packets a tick late, so a close in the same payload would overtake them
        // (a DISCONNECT would read as "transport close").
        Drain::Close(frames) if !frames.is_empty() => payload::encode(&frames, &mut body),
        Drain::Close(_) => {
            payload::write_record(&Frame::bare(PacketType::Close), &mut body);
            session.finish();
        }
        Drain::Noop => payload::write_record(&Frame::bare(PacketType::Noop), &mut body),
        Drain::Gone if session.is_closed() => {
            payload::write_record(&Frame::bare(PacketType::Close), &mut body);
        }
        Drain::Gone | Drain::Idle => {
            payload::write_record(&Frame::bare(PacketType::Noop), &mut body);
        }
    }
    payload_response(body.freeze())
}

/// A POST: decodes the payload and hands each packet to the engine.
pub(super) async fn post<H: EngineHandler, B>(
    engine: Arc<Engine<H>>,
    session: Arc<Session<H::Data>>,
    req: Request<B>,
) -> Response<Full<Bytes>>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let Some(_guard) = claim(&session, Slot::Post) else {
        return status(StatusCode::BAD_REQUEST);
    };
    let binary = req
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/octet-stream"));
    if binary {
        debug!(sid = %session.sid, "binary polling body refused (protocol 4 sends text)");
        session.close(CloseReason::TransportError);
        return status(StatusCode::BAD_REQUEST);
    }
    let collect = Limited::new(req.into_body(), engine.config.max_payload).collect();
    let mut aborted = ClosesIfAborted::new(&session);
    let collected = tokio::time::timeout(engine.config.post_timeout, collect).await;
    aborted.armed = false;
    let Ok(collected) = collected else {
        // A body this slow holds the session's only POST slot: the connection is broken.
        debug!(sid = %session.sid, "polling body not received in time: closing the session");
        session.close(CloseReason::TransportError);
        return status(StatusCode::BAD_REQUEST);
    };
    let body = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            if err.is::<http_body_util::LengthLimitError>() {
                debug!(sid = %session.sid, "polling body over maxHttpBufferSize");
                return status(StatusCode::PAYLOAD_TOO_LARGE);
            }
            debug!(sid = %session.sid, %err, "polling body failed");
            session.close(CloseReason::TransportError);
            return status(StatusCode::BAD_REQUEST);
        }
    };
    match std::str::from_utf8(&body) {
        Ok(text) => {
            for record in payload::decode(text) {
                let alive = match record {
                    Ok(Record::Packet(packet)) => engine.on_packet(&session, Ok(packet), &body),
                    Ok(Record::Binary(bin)) => {
                        let bin = Bytes::from(bin);
                        engine.on_packet(
                            &session,
                            Ok(sio_protocol::engine::Packet::Binary(&bin)),
                            &bin,
                        )
                    }
                    Err(err) => engine.on_packet(&session, Err(err), &body),
                };
                if !alive {
                    break;
                }
            }
        }
        Err(_) => {
            debug!(sid = %session.sid, "polling body is not UTF-8");
            session.close(CloseReason::ParseError);
        }
    }
    Response::builder()
        .header(header::CONTENT_TYPE, "text/html")
        .body(Full::new(Bytes::from_static(b"ok")))
        .unwrap_or_default()
}

fn payload_response(body: Bytes) -> Response<Full<Bytes>> {
    Response::builder()
        .header(header::CONTENT_TYPE, "text/plain; charset=UTF-8")
        .body(Full::new(body))
        .unwrap_or_default()
}
