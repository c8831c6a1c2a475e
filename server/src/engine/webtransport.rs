//! The WebTransport transport (engine.io 6.5+): a session's packets on one bidirectional
//! stream that the client opens, framed as `sio_protocol::webtransport` says. The client's
//! first packet is `open`: `0` for a new session, `0{"sid":…}` for the upgrade of a
//! polling session (then `2probe` → `3probe`, `5`, as over WebSocket). One task per
//! session reads, writes and runs the heartbeat, as the WebSocket driver does.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;

use bytes::{Bytes, BytesMut};
use sio_protocol::engine::{self, Frame, Packet, PacketType};
use sio_protocol::webtransport::{Decoder, FrameError, Header, open_sid};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tracing::{Instrument, debug};
use wtransport::endpoint::{IncomingSession, SessionRequest};
use wtransport::{Connection, RecvStream, SendStream, VarInt};

use super::{
    CloseReason, Drain, EndsSession, Engine, EngineHandler, EngineQuery, Session, Transport,
};

/// Bytes read from the stream at a time.
const READ_CHUNK: usize = 8 * 1024;

/// Most reads in one go before writes and timers get their turn.
const READ_BUDGET: usize = 32;

/// Serves one incoming WebTransport session: checks its request, waits for its stream and
/// first packet, and then serves it as a new Engine.IO session or as the upgrade of one.
pub(crate) async fn serve<H: EngineHandler>(engine: Arc<Engine<H>>, incoming: IncomingSession) {
    let request = match incoming.await {
        Ok(r) => r,
        Err(err) => {
            debug!(%err, "webtransport session request failed");
            return;
        }
    };
    let Some(parts) = checked(&engine, &request).await else {
        request.forbidden().await;
        return;
    };
    let connection = match request.accept().await {
        Ok(c) => c,
        Err(err) => {
            debug!(%err, "webtransport session not established");
            return;
        }
    };
    let stream = tokio::time::timeout(engine.config.upgrade_timeout, connection.accept_bi());
    let (mut send, mut recv) = match stream.await {
        Ok(Ok(s)) => s,
        Ok(Err(err)) => {
            debug!(%err, "webtransport session closed before its stream");
            return;
        }
        Err(_) => {
            debug!("the client opened no stream in time");
            connection.close(VarInt::from_u32(0), b"");
            return;
        }
    };
    let mut link = Link {
        decoder: Decoder::new(engine.config.max_payload),
        buf: vec![0; READ_CHUNK].into_boxed_slice(),
    };
    let first =
        tokio::time::timeout(engine.config.upgrade_timeout, link.next_frame(&mut recv)).await;
    let first = match first {
        Ok(Ok(Some(Frame::Text(text)))) => text,
        Ok(Ok(_)) | Ok(Err(_)) | Err(_) => {
            debug!("invalid webtransport handshake: no open packet");
            connection.close(VarInt::from_u32(0), b"");
            return;
        }
    };
    let sid = match std::str::from_utf8(&first).map(open_sid) {
        Ok(Ok(sid)) => sid.map(|s| s.into_owned()),
        _ => {
            debug!("invalid webtransport handshake");
            connection.close(VarInt::from_u32(0), b"");
            return;
        }
    };
    match sid {
        None => {
            let session =
                engine.open_session(crate::sid::Sid::new(), &parts, Transport::WebTransport);
            drop(parts);
            let span =
                tracing::debug_span!("engine", sid = %session.sid, transport = "webtransport");
            async {
                let mut open = BytesMut::with_capacity(128);
                super::polling::open_packet(&engine, &session, &[]).write(&mut open);
                let _ = session.send(Frame::Text(open.freeze()));
                engine.handler.on_open(&session);
                drive(
                    &engine,
                    &connection,
                    &mut send,
                    &mut recv,
                    &mut link,
                    &session,
                )
                .await;
            }
            .instrument(span)
            .await;
        }
        Some(sid) => {
            drop(parts);
            // As Node: an unknown or closed session, or one already upgrading or upgraded,
            // closes this WebTransport session.
            let session = engine
                .get(&sid)
                .filter(|s| engine.config.allow_upgrades && s.claim_probe());
            let Some(session) = session else {
                debug!(sid, "webtransport upgrade refused");
                connection.close(VarInt::from_u32(0), b"");
                return;
            };
            let span =
                tracing::debug_span!("engine", sid = %session.sid, transport = "webtransport");
            async {
                if probe(&engine, &mut send, &mut recv, &mut link, &session).await {
                    drive(
                        &engine,
                        &connection,
                        &mut send,
                        &mut recv,
                        &mut link,
                        &session,
                    )
                    .await;
                } else {
                    session.release_probe();
                    connection.close(VarInt::from_u32(0), b"");
                }
            }
            .instrument(span)
            .await;
        }
    }
}

/// The request of a session, as the upper layer sees a handshake (path and query, the
/// headers, `host` from `:authority`), if it is one for this engine and passes the gate.
async fn checked<H: EngineHandler>(
    engine: &Engine<H>,
    request: &SessionRequest,
) -> Option<http::request::Parts> {
    let path = request.path();
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    if route != engine.config.path && route != engine.config.path.trim_end_matches('/') {
        debug!(path, "webtransport session for another path");
        return None;
    }
    // socket.io-client sends the path alone: a query, when there is one, must agree.
    let q = EngineQuery::parse(query);
    if q.eio.is_some_and(|v| v != "4") || q.transport.is_some_and(|t| t != "webtransport") {
        debug!(path, "webtransport session with a wrong query");
        return None;
    }
    let mut builder = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(path)
        .header(http::header::HOST, request.authority());
    for (name, value) in request.headers() {
        // Pseudo-headers (`:path`, `:protocol`…) are not headers to the upper layer.
        if !name.starts_with(':') {
            builder = builder.header(name.as_str(), value.as_str());
        }
    }
    let parts = match builder.body(()) {
        Ok(req) => req.into_parts().0,
        Err(err) => {
            debug!(%err, "webtransport session request is not a valid HTTP request");
            return None;
        }
    };
    if engine.config.gate.refuse_origin(&parts.headers).is_some() {
        return None;
    }
    if engine.config.gate.asks(true) && engine.config.gate.refuse_handshake(&parts).await.is_some()
    {
        return None;
    }
    Some(parts)
}

/// The decoder of one stream and its read buffer.
struct Link {
    decoder: Decoder,
    buf: Box<[u8]>,
}

/// What one read step gave.
enum Read {
    Frame(Frame),
    /// The stream ended (the peer finished it).
    End,
    Failed(ReadError),
}

enum ReadError {
    Frame(FrameError),
    Stream(std::io::Error),
}

impl Link {
    /// The next frame, reading as needed; `Ready(Read::End)` at the end of the stream.
    fn poll_frame(&mut self, cx: &mut std::task::Context<'_>, recv: &mut RecvStream) -> Poll<Read> {
        loop {
            match self.decoder.next_frame() {
                Ok(Some(frame)) => return Poll::Ready(Read::Frame(frame)),
                Ok(None) => {}
                Err(e) => return Poll::Ready(Read::Failed(ReadError::Frame(e))),
            }
            let mut rb = ReadBuf::new(&mut self.buf);
            match Pin::new(&mut *recv).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if rb.filled().is_empty() => return Poll::Ready(Read::End),
                Poll::Ready(Ok(())) => self.decoder.push(rb.filled()),
                Poll::Ready(Err(e)) => return Poll::Ready(Read::Failed(ReadError::Stream(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// The next frame, `None` at the end of the stream.
    async fn next_frame(&mut self, recv: &mut RecvStream) -> Result<Option<Frame>, ()> {
        match poll_fn(|cx| self.poll_frame(cx, recv)).await {
            Read::Frame(f) => Ok(Some(f)),
            Read::End => Ok(None),
            Read::Failed(_) => Err(()),
        }
    }
}

/// Writes `frame`, header and payload, to the stream.
async fn write_frame(send: &mut SendStream, frame: &Frame) -> std::io::Result<()> {
    let payload = match frame {
        Frame::Text(b) | Frame::Binary(b) => b,
    };
    send.write_all(Header::of(frame).as_bytes())
        .await
        .map_err(std::io::Error::other)?;
    send.write_all(payload).await.map_err(std::io::Error::other)
}

/// The upgrade of a polling session: `2probe` → `3probe`, pending polls get a noop, then
/// `5` switches the session to this stream. True once upgraded.
async fn probe<H: EngineHandler>(
    engine: &Arc<Engine<H>>,
    send: &mut SendStream,
    recv: &mut RecvStream,
    link: &mut Link,
    session: &Arc<Session<H::Data>>,
) -> bool {
    let deadline = tokio::time::sleep(engine.config.upgrade_timeout);
    let mut deadline = pin!(deadline);
    loop {
        let frame = tokio::select! {
            f = link.next_frame(recv) => f,
            () = &mut deadline => {
                debug!(sid = %session.sid, "upgrade timed out");
                return false;
            }
        };
        let Ok(Some(frame)) = frame else {
            debug!(sid = %session.sid, "upgrade aborted by the client");
            return false;
        };
        if session.is_closed() {
            return false;
        }
        match frame.as_text().map(engine::decode_text) {
            Some(Ok(Packet::Ping("probe"))) => {
                let pong = Frame::text(PacketType::Pong, "probe");
                if write_frame(send, &pong).await.is_err() {
                    return false;
                }
                session.lock().upgrading = true;
                session.wake_writer();
            }
            Some(Ok(Packet::Upgrade)) if session.lock().upgrading => {
                session.set_transport(Transport::WebTransport);
                debug!(sid = %session.sid, "upgraded to webtransport");
                engine.handler.on_upgrade(session);
                return true;
            }
            _ => {
                debug!(sid = %session.sid, "unexpected packet during upgrade");
                return false;
            }
        }
    }
}

/// Serves the session until it finishes, then closes the WebTransport session.
async fn drive<H: EngineHandler>(
    engine: &Arc<Engine<H>>,
    connection: &Connection,
    send: &mut SendStream,
    recv: &mut RecvStream,
    link: &mut Link,
    session: &Arc<Session<H::Data>>,
) {
    let mut owner = EndsSession::new(engine, session, Transport::WebTransport);
    serve_frames(engine, send, recv, link, session).await;
    owner.armed = false;
    // Whatever was written is delivered before the close (QUIC keeps the stream's data
    // only until the connection closes): wait, bounded, for the peer to have it.
    let _ = tokio::time::timeout(engine.config.close_timeout, send.finish()).await;
    connection.close(VarInt::from_u32(0), b"");
}

async fn serve_frames<H: EngineHandler>(
    engine: &Arc<Engine<H>>,
    send: &mut SendStream,
    recv: &mut RecvStream,
    link: &mut Link,
    session: &Arc<Session<H::Data>>,
) {
    let mut sleep = pin!(tokio::time::sleep(engine.config.ping_interval));
    let mut batch: VecDeque<Frame> = VecDeque::new();
    // The bytes of the frame being written: its header, then its payload.
    let mut out: Option<(Header, Bytes, usize)> = None;
    let mut need_flush = false;
    let mut closing = false;
    let mut read_open = true;
    poll_fn(|cx| {
        loop {
            let mut progressed = false;

            // Read.
            let mut budget = READ_BUDGET;
            while read_open && budget > 0 {
                budget -= 1;
                match link.poll_frame(cx, recv) {
                    Poll::Ready(Read::Frame(frame)) => {
                        if budget == READ_BUDGET - 1 {
                            session.clear_writer();
                        }
                        let alive = match &frame {
                            Frame::Text(owner) => {
                                let text = std::str::from_utf8(owner).unwrap_or_default();
                                engine.on_packet(session, engine::decode_text(text), owner)
                            }
                            Frame::Binary(bin) => {
                                engine.on_packet(session, Ok(Packet::Binary(bin)), bin)
                            }
                        };
                        if !alive {
                            read_open = false;
                        }
                    }
                    Poll::Ready(Read::End) => {
                        read_open = false;
                        session.close(CloseReason::TransportClose);
                    }
                    Poll::Ready(Read::Failed(ReadError::Frame(err))) => {
                        debug!(sid = %session.sid, %err, "malformed webtransport frame");
                        read_open = false;
                        let reason = match err {
                            FrameError::TooLarge { .. } => CloseReason::TransportError,
                            FrameError::Empty | FrameError::NotAPacket => CloseReason::ParseError,
                        };
                        session.close(reason);
                    }
                    Poll::Ready(Read::Failed(ReadError::Stream(err))) => {
                        debug!(sid = %session.sid, %err, "webtransport read failed");
                        read_open = false;
                        session.close(CloseReason::TransportClose);
                    }
                    Poll::Pending => break,
                }
            }
            if budget == 0 {
                progressed = true;
            }

            // Heartbeat, close notification and the end of the session.
            let Some(at) = engine.drive(session, cx, Transport::WebTransport) else {
                return Poll::Ready(());
            };
            if sleep.deadline() != at {
                sleep.as_mut().reset(at);
            }

            // Write.
            loop {
                if out.is_none() {
                    if batch.is_empty() && !closing {
                        match session.drain(cx, Transport::WebTransport) {
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
                    match batch.pop_front() {
                        Some(frame) => {
                            let header = Header::of(&frame);
                            let (Frame::Text(b) | Frame::Binary(b)) = frame;
                            out = Some((header, b, 0));
                        }
                        None => {
                            if closing {
                                break;
                            }
                            session.recycle(std::mem::take(&mut batch));
                            engine.handler.on_drain(session);
                            continue;
                        }
                    }
                }
                let Some((header, payload, written)) = out.as_mut() else {
                    continue;
                };
                let head = header.as_bytes();
                let chunk = if *written < head.len() {
                    &head[*written..]
                } else {
                    &payload[*written - head.len()..]
                };
                match Pin::new(&mut *send).poll_write(cx, chunk) {
                    Poll::Ready(Ok(n)) => {
                        *written += n;
                        need_flush = true;
                        if *written == head.len() + payload.len() {
                            out = None;
                        }
                    }
                    Poll::Ready(Err(err)) => {
                        debug!(sid = %session.sid, %err, "webtransport write failed");
                        session.close(CloseReason::TransportError);
                        engine.end_now(session, Transport::WebTransport);
                        return Poll::Ready(());
                    }
                    Poll::Pending => break,
                }
            }
            if need_flush {
                match Pin::new(&mut *send).poll_flush(cx) {
                    Poll::Ready(Ok(())) => need_flush = false,
                    Poll::Ready(Err(err)) => {
                        debug!(sid = %session.sid, %err, "webtransport flush failed");
                        session.close(CloseReason::TransportError);
                        engine.end_now(session, Transport::WebTransport);
                        return Poll::Ready(());
                    }
                    Poll::Pending => {}
                }
            }
            if closing && out.is_none() && batch.is_empty() && !need_flush {
                session.finish();
                closing = false;
                progressed = true;
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
