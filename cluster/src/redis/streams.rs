//! The Redis Streams mode ([`RedisConfig::streams`](super::RedisConfig::streams)), in the
//! format of Node's `@socket.io/redis-streams-adapter` 0.3: socket.io-adapter's
//! `ClusterAdapter` messages (the sharded mode's, [`sharded`](super::sharded)) over one
//! stream, with connection state recovery across the nodes.
//!
//! - Broadcasts without acks, `socketsJoin`, `socketsLeave` and `disconnectSockets` are
//!   appended to the stream (`XADD socket.io MAXLEN ~ 10000 * uid <uid> nsp <nsp> type <n>
//!   data <d>`, `data` the message's fields as JSON, or base64 msgpack when they hold
//!   binary). Every node reads the stream with a blocking `XREAD` from `$` (then from the
//!   last entry it read), skipping its own entries.
//! - What needs no replay (broadcasts with acks, `fetchSockets`, `serverSideEmit`) and every
//!   answer goes over pub/sub, msgpack-encoded: `prefix#nsp#`, answers on the requester's
//!   `prefix#nsp#uid#`. `PUBSUB NUMSUB prefix#nsp#` counts the nodes.
//! - With recovery on, an event's offset is the id of its stream entry: a broadcast (and a
//!   socket's own emit, which Node routes through its own-id room) is delivered to this
//!   node's sockets once `XADD` has answered, with that id as its last argument; other
//!   nodes add the same id when they read the entry. A socket cut off leaves its session at
//!   `sio:session:<pid>` (base64 msgpack `{sid, pid, rooms, data}`, expiring after the
//!   maximum disconnection duration); a CONNECT with that pid takes it with `GET` and `DEL`
//!   in one `MULTI` (so a pid restores once, on any node) and gets the entries after its
//!   offset from `XRANGE`, if the offset is still in the stream.
//!
//! Stored events are bounded by the stream's `MAXLEN ~` ([`StreamsConfig::max_len`]): an
//! offset trimmed away cannot be replayed, and its client gets a new session, as in Node.
//! Unlike Node's adapter, volatile broadcasts are not replayed.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};

use super::connection::Out;
use super::sharded::{self, Decoded, Message, MessageType};
use super::{Conn, LOG, Link, Listener, random_hex, read};
use crate::adapter::{Answer, Ask, Malformed, Transport, local_opts};
use crate::msgpack::{self, Mp};
use crate::wire::{self, WireError, WireOpts, WirePacket};
use sio_server::Sid;
use sio_server::adapter::{AdapterError, AdapterFuture, BroadcastPacket, Deliver, Room};
use sio_server::recovery::{RestoredSession, SessionState};

/// Settings of the streams mode; the defaults are the Node adapter's.
#[derive(Debug, Clone)]
pub struct StreamsConfig {
    /// The stream (`streamName`, default `socket.io`).
    pub stream_name: String,
    /// The stream's approximate length bound (`maxLen`, default 10 000): `XADD … MAXLEN ~`.
    pub max_len: usize,
    /// Entries one `XREAD` returns at most (`readCount`, default 100).
    pub read_count: usize,
    /// How long one `XREAD` blocks (`blockTimeInMs`, default 5 s).
    pub block: Duration,
    /// The prefix of the session keys (`sessionKeyPrefix`, default `sio:session:`).
    pub session_prefix: String,
}

impl Default for StreamsConfig {
    fn default() -> Self {
        Self {
            stream_name: "socket.io".into(),
            max_len: 10_000,
            read_count: 100,
            block: Duration::from_secs(5),
            session_prefix: "sio:session:".into(),
        }
    }
}

/// One stream entry's fields.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Entry {
    pub uid: String,
    pub nsp: String,
    pub kind: MessageType,
    /// `data` as Node writes it: JSON, or base64 msgpack when it holds binary.
    pub data: String,
}

impl Entry {
    pub fn new(uid: &str, nsp: &str, kind: MessageType, data: Vec<(Mp, Mp)>) -> Self {
        let data = Mp::Map(data);
        let data = if wire::has_binary(&data) {
            STANDARD.encode(msgpack::encode(&data))
        } else {
            // JSON text, which starts with `{`: how a reader tells it from base64.
            String::from_utf8(wire::encode_request(&data))
                .unwrap_or_else(|_| STANDARD.encode(msgpack::encode(&data)))
        };
        Self {
            uid: uid.to_owned(),
            nsp: nsp.to_owned(),
            kind,
            data,
        }
    }

    /// `XADD stream MAXLEN ~ max_len * uid … nsp … type … data …`, Node's field order.
    pub fn xadd(&self, cfg: &StreamsConfig) -> redis::Cmd {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&cfg.stream_name)
            .arg("MAXLEN")
            .arg("~")
            .arg(cfg.max_len)
            .arg("*")
            .arg("uid")
            .arg(&self.uid)
            .arg("nsp")
            .arg(&self.nsp)
            .arg("type")
            .arg((self.kind as u8).to_string())
            .arg("data")
            .arg(&self.data);
        cmd
    }
}

/// A pub/sub message of this mode: always msgpack, as `@msgpack/msgpack` encodes it.
pub(super) fn encode_message(
    kind: MessageType,
    data: Vec<(Mp, Mp)>,
    uid: &str,
    nsp: &str,
) -> Vec<u8> {
    msgpack::encode(&sharded::message_mp(kind, data, uid, nsp))
}

/// A stream entry read back, in the shapes of the other modes.
pub(super) fn decode_entry(entry: &StreamId) -> Result<Decoded, WireError> {
    let field = |name: &str| entry.get::<String>(name);
    let kind: u64 = field("type")
        .and_then(|t| t.parse().ok())
        .ok_or(WireError::Shape("an entry has a numeric type"))?;
    let mut message = vec![(Mp::str("type"), Mp::UInt(kind))];
    if let Some(data) = field("data") {
        let data = if data.starts_with('{') {
            wire::decode_json_or_msgpack(data.as_bytes())?
        } else {
            let bytes = STANDARD
                .decode(data.as_bytes())
                .map_err(|_| WireError::Shape("data is JSON or base64"))?;
            msgpack::decode(&bytes)?
        };
        message.push((Mp::str("data"), data));
    }
    for name in ["uid", "nsp"] {
        if let Some(v) = field(name) {
            message.push((Mp::str(name), Mp::Str(v)));
        }
    }
    sharded::decode_mp(Mp::Map(message))
}

/// Whether `offset` has the shape of a stream entry id (`<ms>-<seq>`), as Node checks it.
pub(super) fn valid_offset(offset: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    offset
        .split_once('-')
        .is_some_and(|(ms, seq)| digits(ms) && digits(seq))
}

/// The smallest id after `offset` (exclusive ranges need Redis 6.2; Node does the same).
fn next_offset(offset: &str) -> Option<String> {
    let (ms, seq) = offset.split_once('-')?;
    let seq: u64 = seq.parse().ok()?;
    Some(match seq.checked_add(1) {
        Some(next) => format!("{ms}-{next}"),
        None => format!("{}-0", ms.parse::<u64>().ok()?.checked_add(1)?),
    })
}

/// `{sid, pid, rooms, data}`, msgpack then base64, as the Node adapter keeps a session.
pub(super) fn encode_session(s: &SessionState) -> String {
    let session = Mp::Map(vec![
        (Mp::str("sid"), Mp::str(s.sid.as_str())),
        (Mp::str("pid"), Mp::str(s.pid.as_str())),
        (
            Mp::str("rooms"),
            Mp::Array(s.rooms.iter().map(|r| Mp::str(&**r)).collect()),
        ),
        (Mp::str("data"), wire::json_to_mp(s.data.clone())),
    ]);
    STANDARD.encode(msgpack::encode(&session))
}

/// A kept session read back; None when it is not one (another writer, corruption).
pub(super) fn decode_session(text: &str) -> Option<SessionState> {
    let raw = msgpack::decode(&STANDARD.decode(text.as_bytes()).ok()?).ok()?;
    let id = |key| raw.get(key).and_then(Mp::as_str).and_then(Sid::parse);
    let rooms = match raw.get("rooms") {
        Some(Mp::Array(rooms)) => rooms
            .iter()
            .filter_map(Mp::as_str)
            .map(Room::from)
            .collect(),
        _ => Vec::new(),
    };
    let data = match raw.get("data") {
        None | Some(Mp::Nil | Mp::Undefined) => serde_json::Value::Object(Default::default()),
        Some(d) => serde_json::to_value(wire::mp_to_value(d)).ok()?,
    };
    Some(SessionState {
        sid: id("sid")?,
        pid: id("pid")?,
        rooms,
        data,
    })
}

/// Entries one `XRANGE` of a restore returns at most, and how many such calls it makes: a
/// stream written faster than it is read cannot keep a restore going forever.
const RANGE_COUNT: usize = 1000;
const MAX_RANGE_CALLS: usize = 100;

/// Takes back session `pid` of namespace `nsp` with the events after `offset` it missed;
/// None when the session or the offset is unknown (or the offset was trimmed away).
pub(super) async fn restore(
    conn: &mut Conn,
    cfg: &StreamsConfig,
    nsp: &str,
    pid: &str,
    offset: &str,
) -> redis::RedisResult<Option<RestoredSession>> {
    if !valid_offset(offset) || Sid::parse(pid).is_none() {
        return Ok(None);
    }
    let key = format!("{}{pid}", cfg.session_prefix);
    let (session, _): (Option<String>, u64) = redis::pipe()
        .atomic()
        .get(&key)
        .del(&key)
        .query_async(conn)
        .await?;
    let Some(state) = session.as_deref().and_then(decode_session) else {
        return Ok(None);
    };
    let known: StreamRangeReply = redis::cmd("XRANGE")
        .arg(&cfg.stream_name)
        .arg(offset)
        .arg(offset)
        .query_async(conn)
        .await?;
    if known.ids.is_empty() {
        tracing::debug!(target: LOG, pid, offset, "offset no longer in the stream: not restored");
        return Ok(None);
    }
    let mut missed = Vec::new();
    let mut from = offset.to_owned();
    for _ in 0..MAX_RANGE_CALLS {
        let Some(start) = next_offset(&from) else {
            break;
        };
        let page: StreamRangeReply = redis::cmd("XRANGE")
            .arg(&cfg.stream_name)
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(RANGE_COUNT)
            .query_async(conn)
            .await?;
        for entry in &page.ids {
            if let Some(packet) = replayed(entry, nsp, &state.rooms) {
                missed.push(packet);
            }
        }
        match page.ids.last() {
            Some(last) if page.ids.len() >= RANGE_COUNT => from = last.id.clone(),
            _ => break,
        }
    }
    Ok(Some(RestoredSession { state, missed }))
}

/// The packet a session in `rooms` missed in `entry`, with the entry's id as its offset;
/// None when the entry is not a broadcast it would have got.
fn replayed(entry: &StreamId, nsp: &str, rooms: &[Room]) -> Option<BroadcastPacket> {
    if entry.get::<String>("nsp").as_deref() != Some(nsp)
        || entry.get::<String>("type").as_deref() != Some("3")
    {
        return None;
    }
    let Ok(Decoded {
        message: Message::Broadcast(mut msg),
        ..
    }) = decode_entry(entry)
    else {
        return None;
    };
    let opts = local_opts(&msg.opts);
    if opts.volatile || !opts.reaches(rooms) {
        return None;
    }
    msg.packet
        .data
        .push(sio_protocol::json::Value::String(entry.id.clone()));
    wire::packet_to_broadcast(&msg.packet).ok()
}

/// Reads the stream and hands each entry to its namespace; reconnects with backoff, going
/// on from the last entry read. Ends when the cluster is gone.
pub(super) async fn reader(
    target: super::connection::Target,
    cfg: StreamsConfig,
    shared: std::sync::Weak<super::Shared>,
) {
    let mut last = "$".to_owned();
    let mut failures = 0u32;
    let mut conn: Option<Conn> = None;
    let mut was_open = false;
    loop {
        if shared.strong_count() == 0 {
            return;
        }
        if conn.is_none() {
            match target.reader_connection(cfg.block).await {
                Ok(c) => {
                    if was_open {
                        tracing::info!(target: LOG, "redis stream reader reconnected");
                        if let Some(sh) = shared.upgrade() {
                            sh.reconnects
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                    was_open = true;
                    conn = Some(c);
                }
                Err(e) => {
                    if failures == 0 || failures.is_power_of_two() {
                        tracing::warn!(target: LOG, failures, "redis stream reader cannot connect: {e}");
                    }
                    tokio::time::sleep(super::connection::backoff(failures)).await;
                    failures = failures.saturating_add(1);
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let block_ms = u64::try_from(cfg.block.as_millis()).unwrap_or(u64::MAX);
        let reply: redis::RedisResult<Option<StreamReadReply>> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(cfg.read_count.max(1))
            .arg("BLOCK")
            .arg(block_ms)
            .arg("STREAMS")
            .arg(&cfg.stream_name)
            .arg(&last)
            .query_async(c)
            .await;
        match reply {
            Ok(reply) => {
                failures = 0;
                let Some(sh) = shared.upgrade() else { return };
                for entry in reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids) {
                    last.clone_from(&entry.id);
                    let Some(nsp) = entry.get::<String>("nsp") else {
                        continue;
                    };
                    let channel = format!("{}#{nsp}#", sh.prefix);
                    let listener = read(&sh.channels).get(&channel).cloned();
                    if let Some(l) = listener {
                        on_entry(&l, &entry);
                    }
                }
            }
            Err(e) => {
                if failures == 0 || failures.is_power_of_two() {
                    tracing::warn!(target: LOG, failures, "redis stream read failed: {e}");
                }
                conn = None;
                tokio::time::sleep(super::connection::backoff(failures)).await;
                failures = failures.saturating_add(1);
            }
        }
    }
}

/// An entry of the stream, to the adapter of its namespace: a broadcast has the entry's id
/// as its offset (added when the namespace has recovery on, as Node's `ClusterAdapter`
/// does).
fn on_entry(l: &Listener, entry: &StreamId) {
    match decode_entry(entry) {
        Ok(decoded) => {
            let offset = matches!(decoded.message, Message::Broadcast(_)).then(|| entry.id.clone());
            sharded::to_adapter(l, decoded, offset);
        }
        Err(e) => l.receiver.malformed(Malformed::Entry, &entry.id, &e),
    }
}

/// The streams transport: the stream for what must be replayed, classic pub/sub (always
/// msgpack) for the rest, sessions as Redis keys.
pub(super) struct Streams {
    link: Link,
}

impl Streams {
    pub fn new(link: Link) -> Self {
        link.listen_cluster_channels();
        Self { link }
    }

    fn entry(&self, kind: MessageType, data: Vec<(Mp, Mp)>) -> Entry {
        let n = self.link.names();
        Entry::new(&n.uid, &n.nsp, kind, data)
    }

    /// A broadcast without acks goes to the stream, with or without a wait for its id.
    fn append_broadcast(&self, packet: &WirePacket, opts: &WireOpts, then: Option<Deliver>) {
        let data = sharded::broadcast_data(packet, None, opts);
        let entry = self.entry(MessageType::Broadcast, data);
        self.link.shared.publish(Out::Append(entry, then));
    }

    fn publish(&self, channel: String, kind: MessageType, data: Vec<(Mp, Mp)>) {
        let n = self.link.names();
        let payload = encode_message(kind, data, &n.uid, &n.nsp);
        self.link.shared.publish(Out::Publish(channel, payload));
    }
}

impl Transport for Streams {
    fn uid(&self) -> &str {
        &self.link.names().uid
    }

    fn request_id(&self) -> String {
        random_hex()
    }

    fn broadcast(&self, packet: &WirePacket, opts: &WireOpts) {
        self.append_broadcast(packet, opts, None);
    }

    fn has_log(&self) -> bool {
        true
    }

    fn append(&self, packet: &WirePacket, opts: &WireOpts, then: Deliver) {
        self.append_broadcast(packet, opts, Some(then));
    }

    fn supports(&self, ask: &Ask<'_>) -> Result<(), AdapterError> {
        sharded::supports(ask)
    }

    fn request(&self, ask: &Ask<'_>, request_id: Option<&str>) {
        let Some((kind, data)) = sharded::ask_message(ask, request_id) else {
            return;
        };
        // What must be replayed goes to the stream; the rest over pub/sub, as the Node
        // adapter's `isEphemeral` sorts them.
        match kind {
            MessageType::SocketsJoin
            | MessageType::SocketsLeave
            | MessageType::DisconnectSockets => {
                let entry = self.entry(kind, data);
                self.link.shared.publish(Out::Append(entry, None));
            }
            _ => self.publish(self.link.names().channel.clone(), kind, data),
        }
    }

    fn answer(&self, requester: Option<&str>, request_id: &str, answer: Answer<'_>) {
        match (requester, sharded::answer_message(request_id, answer)) {
            (Some(requester), Some((kind, data))) => {
                let channel = sharded::room_channel(&self.link.names().channel, requester);
                self.publish(channel, kind, data);
            }
            _ => tracing::debug!(target: LOG, "a request that this mode does not answer"),
        }
    }

    fn server_count(&self) -> AdapterFuture<usize> {
        let shared = self.link.shared.clone();
        let channel = self.link.names().channel.clone();
        Box::pin(async move { shared.subscribers("NUMSUB", &channel).await })
    }

    fn persist_session(&self, session: SessionState, max: Duration) {
        let shared = &self.link.shared;
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!("{}{}", shared.streams.session_prefix, session.pid))
            .arg(encode_session(&session))
            .arg("PX")
            .arg(u64::try_from(max.as_millis()).unwrap_or(u64::MAX).max(1));
        // Through the publisher's queue: in order with the events before it.
        shared.publish(Out::Command(cmd));
    }

    fn restore_session(&self, pid: &str, offset: &str) -> AdapterFuture<Option<RestoredSession>> {
        let shared = self.link.shared.clone();
        let nsp = self.link.names().nsp.clone();
        let (pid, offset) = (pid.to_owned(), offset.to_owned());
        Box::pin(async move {
            let conn = read(&shared.conn).clone();
            let mut conn =
                conn.ok_or_else(|| AdapterError::Unavailable("not connected to Redis".into()))?;
            restore(&mut conn, &shared.streams, &nsp, &pid, &offset)
                .await
                .map_err(|e| AdapterError::Unavailable(e.to_string()))
        })
    }

    fn close(&self) {
        self.link.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert!(valid_offset("1700000000000-0"));
        assert!(!valid_offset("1700000000000"));
        assert!(!valid_offset("-1"));
        assert!(!valid_offset("1-x"));
        assert!(!valid_offset("12"));
        assert_eq!(next_offset("5-0").as_deref(), Some("5-1"));
        assert_eq!(
            next_offset(&format!("5-{}", u64::MAX)).as_deref(),
            Some("6-0")
        );
    }

    #[test]
    fn sessions_both_ways() {
        let state = SessionState {
            sid: Sid::new(),
            pid: Sid::new(),
            rooms: vec![Room::from("r1"), Room::from("x")],
            data: serde_json::json!({"value": {"n": 1}}),
        };
        let back = decode_session(&encode_session(&state));
        let back = back.map(|s| (s.sid, s.pid, s.rooms, s.data));
        assert_eq!(back, Some((state.sid, state.pid, state.rooms, state.data)));
        assert!(decode_session("not base64!").is_none());
        assert!(decode_session(&STANDARD.encode(b"\x90")).is_none());
    }

    #[test]
    fn entries_json_or_base64() {
        let text = Entry::new(
            "u",
            "/",
            MessageType::SocketsJoin,
            vec![(Mp::str("rooms"), Mp::Array(vec![Mp::str("a")]))],
        );
        assert!(text.data.starts_with('{'), "{}", text.data);
        let bin = Entry::new(
            "u",
            "/",
            MessageType::Broadcast,
            vec![(Mp::str("b"), Mp::Bin(bytes::Bytes::from_static(&[1])))],
        );
        assert!(!bin.data.starts_with('{'));
        assert!(STANDARD.decode(&bin.data).is_ok());
    }
}
