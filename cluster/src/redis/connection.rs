//! The two connections of a [`RedisCluster`](super::RedisCluster): the publisher, fed by
//! a bounded queue, and the subscriber, which dispatches every message to the namespace
//! whose channel it came on. Both reconnect with backoff; the subscriber subscribes again.
//!
//! The classic mode on one server uses the `redis` crate's pub/sub connection (any Redis
//! version). The sharded mode, and every mode on a Redis Cluster, speak RESP3 instead: the
//! crate's pub/sub connection has no `SSUBSCRIBE` and is not cluster-aware, so messages
//! arrive as pushes on a multiplexed (or cluster) connection, dispatched as they are read
//! (no queue in between). On a Redis Cluster, each command and shard channel goes to the
//! node that owns its slot.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::{IntoConnectionInfo, PushInfo, PushKind};
use tokio::sync::{Notify, mpsc, oneshot};

use super::streams::{Entry, StreamsConfig};
use super::{LOG, PubSubMode, Shared, Topology, classic, read, sharded, write};
use sio_server::adapter::Deliver;

/// One message for the publisher.
pub(super) enum Out {
    /// `PUBLISH` (`SPUBLISH` in the sharded mode) of these bytes on this channel.
    Publish(String, Vec<u8>),
    /// `XADD` of this entry (streams mode), then the callback with its id (None when it
    /// was not appended).
    Append(Entry, Option<Deliver>),
    /// Another command whose answer is not needed (a session kept, streams mode).
    Command(redis::Cmd),
    /// Nothing to send: told once everything queued before it was written (or dropped).
    Flush(oneshot::Sender<()>),
}

/// Where Redis is.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub url: String,
    pub topology: Topology,
}

/// A connection for commands (publishes, node counts): to one server, or to a Redis Cluster.
#[derive(Clone)]
pub(super) enum Conn {
    Single(redis::aio::ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl redis::aio::ConnectionLike for Conn {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

impl Target {
    /// Checks the URL before any task starts.
    pub fn check(&self) -> redis::RedisResult<()> {
        match self.topology {
            Topology::Standalone => redis::Client::open(self.url.as_str()).map(drop),
            Topology::Cluster => {
                redis::cluster::ClusterClient::new(vec![self.url.as_str()]).map(drop)
            }
        }
    }

    /// The publisher's connection (RESP2 is enough: no pushes).
    async fn command_connection(&self) -> redis::RedisResult<Conn> {
        self.connection(Duration::from_secs(1)).await
    }

    /// The stream reader's connection: its own, as each `XREAD` blocks it for `block`.
    pub(super) async fn reader_connection(&self, block: Duration) -> redis::RedisResult<Conn> {
        self.connection(block + Duration::from_secs(5)).await
    }

    async fn connection(&self, response_timeout: Duration) -> redis::RedisResult<Conn> {
        match self.topology {
            Topology::Standalone => {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(1)))
                    .set_response_timeout(Some(response_timeout))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_secs(1));
                let client = redis::Client::open(self.url.as_str())?;
                Ok(Conn::Single(
                    client.get_connection_manager_with_config(config).await?,
                ))
            }
            Topology::Cluster => {
                let client = redis::cluster::ClusterClientBuilder::new(vec![self.url.as_str()])
                    .connection_timeout(Duration::from_secs(1))
                    .response_timeout(response_timeout)
                    .retries(1)
                    .build()?;
                Ok(Conn::Cluster(client.get_async_connection().await?))
            }
        }
    }
}

/// Backoff before reconnect attempt `n` (from 0): 100 ms doubling, at most 5 s.
pub(super) fn backoff(n: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << n.min(6)).min(5000))
}

/// Publishes queued messages. While Redis is unreachable, messages are dropped (counted
/// and logged; a stream entry's callback gets no id), and connecting again is tried with
/// backoff.
pub(super) async fn publisher(
    target: Target,
    mode: PubSubMode,
    streams: StreamsConfig,
    mut rx: mpsc::Receiver<Out>,
    shared: Weak<Shared>,
) {
    let command = match mode {
        PubSubMode::Classic | PubSubMode::Streams => "PUBLISH",
        PubSubMode::Sharded(_) => "SPUBLISH",
    };
    let mut conn: Option<Conn> = None;
    let mut failures = 0u32;
    let mut next_try = Instant::now();
    let mut errors = 0u64;
    let mut first = true;
    loop {
        // The first connection is made at once, for requests that need it before any publish.
        let next = if first {
            first = false;
            None
        } else {
            match rx.recv().await {
                Some(m) => Some(m),
                None => return,
            }
        };
        if conn.is_none() && Instant::now() >= next_try {
            match tokio::time::timeout(Duration::from_secs(2), target.command_connection()).await {
                Ok(Ok(c)) => {
                    if failures > 0 {
                        tracing::info!(target: LOG, "redis publisher connected");
                    }
                    if let Some(sh) = shared.upgrade() {
                        *write(&sh.conn) = Some(c.clone());
                    }
                    conn = Some(c);
                    failures = 0;
                }
                Ok(Err(e)) => {
                    tracing::warn!(target: LOG, "redis publisher cannot connect: {e}");
                    next_try = Instant::now() + backoff(failures);
                    failures += 1;
                }
                Err(_) => {
                    tracing::warn!(target: LOG, "redis publisher: connection timed out");
                    next_try = Instant::now() + backoff(failures);
                    failures += 1;
                }
            }
        }
        let Some(first) = next else {
            continue;
        };
        // What queued up meanwhile goes in the same write: one round trip, and one read for
        // Redis, instead of one per message.
        let batch: Vec<Out> = std::iter::once(first)
            .chain(std::iter::from_fn(|| rx.try_recv().ok()).take(MAX_BATCH))
            .collect();
        let Batch {
            commands,
            mut appended,
            flushed,
        } = commands(batch, command, &streams);
        let count = commands.len() as u64;
        let sent = match conn.as_mut() {
            // Only flushes: nothing to write.
            _ if commands.is_empty() => Ok(Vec::new()),
            Some(c) => publish_batch(c, commands).await,
            None => Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "not connected",
            ))),
        };
        // Each appended entry's callback, with its id, or without when the batch failed.
        let ids = sent.as_ref().map(Vec::as_slice).unwrap_or_default();
        let mut ids = ids.iter();
        for then in appended.iter_mut() {
            let id = ids.next().and_then(Option::as_deref);
            if let Some(then) = then.take() {
                then(id);
            }
        }
        match &sent {
            Ok(_) => {
                if let Some(sh) = shared.upgrade() {
                    sh.published.fetch_add(count, Ordering::Relaxed);
                }
            }
            Err(_) => {
                if let Some(sh) = shared.upgrade() {
                    sh.dropped.fetch_add(count, Ordering::Relaxed);
                }
            }
        }
        if let Err(e) = sent {
            errors += 1;
            if errors.is_power_of_two() {
                tracing::warn!(target: LOG, errors, count, "redis publish failed, messages dropped: {e}");
            }
        }
        for done in flushed {
            let _ = done.send(());
        }
    }
}

/// What a batch of queued messages becomes.
struct Batch {
    /// The commands, each with whether its answer (an entry id) is wanted.
    commands: Vec<(redis::Cmd, bool)>,
    /// The callbacks of the appended entries, in order.
    appended: Vec<Option<Deliver>>,
    /// Who waits for the batch to be written.
    flushed: Vec<oneshot::Sender<()>>,
}

/// The commands of a batch.
fn commands(batch: Vec<Out>, publish: &str, streams: &StreamsConfig) -> Batch {
    let mut commands = Vec::with_capacity(batch.len());
    let mut appended = Vec::new();
    let mut flushed = Vec::new();
    for out in batch {
        match out {
            Out::Publish(channel, payload) => {
                let mut cmd = redis::cmd(publish);
                cmd.arg(channel).arg(payload);
                commands.push((cmd, false));
            }
            Out::Append(entry, then) => {
                commands.push((entry.xadd(streams), true));
                appended.push(then);
            }
            Out::Command(cmd) => commands.push((cmd, false)),
            Out::Flush(done) => flushed.push(done),
        }
    }
    Batch {
        commands,
        appended,
        flushed,
    }
}

/// Sends a batch: one pipeline on one server; on a Redis Cluster, where a pipeline must
/// stay within one slot, concurrent commands that the connection sends together. Returns
/// the answers that were wanted (the ids of appended entries), in order.
async fn publish_batch(
    conn: &mut Conn,
    commands: Vec<(redis::Cmd, bool)>,
) -> redis::RedisResult<Vec<Option<String>>> {
    match conn {
        Conn::Single(c) => {
            let mut pipe = redis::pipe();
            let mut wanted = 0;
            for (cmd, want) in commands {
                pipe.add_command(cmd);
                if want {
                    wanted += 1;
                } else {
                    pipe.ignore();
                }
            }
            if wanted == 0 {
                return pipe.query_async::<()>(c).await.map(|()| Vec::new());
            }
            pipe.query_async::<Vec<Option<String>>>(c).await
        }
        Conn::Cluster(c) => {
            let sends = commands.into_iter().map(|(cmd, want)| {
                let mut c = c.clone();
                async move {
                    if want {
                        cmd.query_async::<Option<String>>(&mut c).await.map(Some)
                    } else {
                        cmd.exec_async(&mut c).await.map(|()| None)
                    }
                }
            });
            let answers: redis::RedisResult<Vec<Option<Option<String>>>> =
                futures_util::future::join_all(sends)
                    .await
                    .into_iter()
                    .collect();
            Ok(answers?.into_iter().flatten().collect())
        }
    }
}

/// Queued messages published in one pipeline, at most (after the first).
const MAX_BATCH: usize = 127;

/// Subscribes to every namespace's channels and dispatches what arrives; reconnects with
/// backoff and subscribes again when the connection is lost. Ends when the cluster is gone.
pub(super) async fn subscriber(target: Target, mode: PubSubMode, shared: Weak<Shared>) {
    let mut failures = 0u32;
    // Whether a session was open before: the next one that opens is a reconnection.
    let mut was_open = false;
    loop {
        if shared.strong_count() == 0 {
            return;
        }
        let opened = tokio::time::timeout(
            Duration::from_secs(5),
            Session::open(&target, mode, &shared),
        )
        .await;
        match opened {
            Ok(Ok(mut session)) => {
                let mut subscribed = Subscribed::default();
                if let Err(e) = session.sync(&shared, mode, &mut subscribed).await {
                    tracing::warn!(target: LOG, "redis subscribe failed: {e}");
                } else {
                    if was_open {
                        tracing::info!(target: LOG, "redis subscriber reconnected and resubscribed");
                        if let Some(sh) = shared.upgrade() {
                            sh.reconnects.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    was_open = true;
                    failures = 0;
                    loop {
                        let Some(sh) = shared.upgrade() else { return };
                        // Held during the wait: the cluster lives as long as its server.
                        let changed = sh.changed.notified();
                        let resync = tokio::select! {
                            alive = session.next(&shared) => {
                                if !alive {
                                    tracing::warn!(target: LOG, "redis subscriber connection lost");
                                    break;
                                }
                                false
                            }
                            () = changed => true,
                        };
                        if resync {
                            if let Err(e) = session.sync(&shared, mode, &mut subscribed).await {
                                tracing::warn!(target: LOG, "redis subscribe failed: {e}");
                                break;
                            }
                        }
                    }
                }
            }
            Ok(Err(e)) => {
                if failures == 0 || failures.is_power_of_two() {
                    tracing::warn!(target: LOG, failures, "redis unreachable: {e}");
                }
            }
            Err(_) => tracing::warn!(target: LOG, "redis subscriber: connection timed out"),
        }
        tokio::time::sleep(backoff(failures)).await;
        failures = failures.saturating_add(1);
    }
}

/// One subscription connection: the classic pub/sub connection (classic mode on one
/// server, any Redis version), or a RESP3 connection whose pushes are the messages
/// (sharded mode, Redis Cluster), dispatched by its push sender as they are read.
enum Session {
    Classic(redis::aio::PubSubSink, redis::aio::PubSubStream),
    /// The connection, and the signal of its loss.
    Push(PushConn, Arc<Notify>),
}

impl Session {
    async fn open(
        target: &Target,
        mode: PubSubMode,
        shared: &Weak<Shared>,
    ) -> redis::RedisResult<Self> {
        if let (PubSubMode::Classic | PubSubMode::Streams, Topology::Standalone) =
            (mode, target.topology)
        {
            let client = redis::Client::open(target.url.as_str())?;
            let (sink, stream) = client.get_async_pubsub().await?.split();
            return Ok(Session::Classic(sink, stream));
        }
        // A fresh signal per connection: a loss reported by the last one must not end this.
        let lost = Arc::new(Notify::new());
        let on_push = {
            let shared = shared.clone();
            let lost = lost.clone();
            move |push: PushInfo| -> Result<(), std::convert::Infallible> {
                if push.kind == PushKind::Disconnection {
                    lost.notify_one();
                } else {
                    dispatch_push(&shared, push);
                }
                Ok(())
            }
        };
        Ok(Session::Push(push_connection(target, on_push).await?, lost))
    }

    async fn sync(
        &mut self,
        shared: &Weak<Shared>,
        mode: PubSubMode,
        subscribed: &mut Subscribed,
    ) -> redis::RedisResult<()> {
        match self {
            Session::Classic(sink, _) => sync_subscriptions(shared, sink, subscribed).await,
            Session::Push(conn, _) => sync_push_subscriptions(shared, mode, conn, subscribed).await,
        }
    }

    /// Waits for the next message (dispatched) or the connection's loss: false once lost.
    async fn next(&mut self, shared: &Weak<Shared>) -> bool {
        match self {
            Session::Classic(_, stream) => match stream.next().await {
                Some(msg) => {
                    dispatch(shared, &msg);
                    true
                }
                None => false,
            },
            Session::Push(_, lost) => {
                lost.notified().await;
                false
            }
        }
    }
}

/// What one subscription connection listens to now.
#[derive(Default)]
struct Subscribed {
    patterns: HashSet<String>,
    channels: HashSet<String>,
}

/// One subscription to add or drop: (pattern?, name, add?).
type Change = (bool, String, bool);

/// The changes that bring `subscribed` to what the namespaces register now (a namespace
/// removed with its adapter's `close` is dropped).
fn changes(sh: &Shared, subscribed: &Subscribed) -> Vec<Change> {
    let patterns = read(&sh.patterns);
    let channels = read(&sh.channels);
    let mut todo = Vec::new();
    for (pattern, registered, current) in [
        (true, &*patterns, &subscribed.patterns),
        (false, &*channels, &subscribed.channels),
    ] {
        todo.extend(
            registered
                .keys()
                .filter(|k| !current.contains(*k))
                .map(|k| (pattern, k.clone(), true)),
        );
        todo.extend(
            current
                .iter()
                .filter(|k| !registered.contains_key(*k))
                .map(|k| (pattern, k.clone(), false)),
        );
    }
    todo
}

impl Subscribed {
    fn apply(&mut self, (pattern, name, add): Change) {
        let set = if pattern {
            &mut self.patterns
        } else {
            &mut self.channels
        };
        if add {
            set.insert(name);
        } else {
            set.remove(&name);
        }
    }
}

/// Brings the classic connection's subscriptions to what is registered, one command per
/// kind of change.
async fn sync_subscriptions(
    shared: &Weak<Shared>,
    sink: &mut redis::aio::PubSubSink,
    subscribed: &mut Subscribed,
) -> redis::RedisResult<()> {
    let Some(sh) = shared.upgrade() else {
        return Ok(());
    };
    let todo = changes(&sh, subscribed);
    drop(sh);
    for (pattern, add) in [(true, true), (false, true), (true, false), (false, false)] {
        let names: Vec<&String> = todo
            .iter()
            .filter(|c| c.0 == pattern && c.2 == add)
            .map(|c| &c.1)
            .collect();
        if names.is_empty() {
            continue;
        }
        match (pattern, add) {
            (true, true) => sink.psubscribe(&names).await?,
            (false, true) => sink.subscribe(&names).await?,
            (true, false) => sink.punsubscribe(&names).await?,
            (false, false) => sink.unsubscribe(&names).await?,
        }
    }
    for change in todo {
        subscribed.apply(change);
    }
    Ok(())
}

/// A message, to the namespace of its pattern (classic broadcasts) or channel (classic
/// requests and responses; `shard`: every sharded-mode message).
fn dispatch(shared: &Weak<Shared>, msg: &redis::Msg) {
    let Some(sh) = shared.upgrade() else { return };
    let channel = msg.get_channel_name();
    let payload = msg.get_payload_bytes();
    if msg.from_pattern() {
        let pattern: String = msg.get_pattern().unwrap_or_default();
        let listener = read(&sh.patterns).get(&pattern).cloned();
        if let Some(l) = listener {
            classic::on_message(&l, channel, payload, true);
        }
        return;
    }
    let Some(l) = read(&sh.channels).get(channel).cloned() else {
        return;
    };
    match sh.mode {
        PubSubMode::Classic => classic::on_message(&l, channel, payload, false),
        // The streams mode's pub/sub messages are the sharded mode's, in msgpack.
        PubSubMode::Sharded(_) | PubSubMode::Streams => sharded::on_message(&l, channel, payload),
    }
}

/// A RESP3 connection for subscriptions: its pushes are the messages.
enum PushConn {
    Single(redis::aio::MultiplexedConnection),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl PushConn {
    async fn exec(&mut self, cmd: &redis::Cmd) -> redis::RedisResult<()> {
        match self {
            PushConn::Single(c) => cmd.exec_async(c).await,
            PushConn::Cluster(c) => cmd.exec_async(c).await,
        }
    }
}

/// Opens a RESP3 subscription connection whose pushes go to `on_push`.
async fn push_connection(
    target: &Target,
    on_push: impl redis::aio::AsyncPushSender + Clone,
) -> redis::RedisResult<PushConn> {
    match target.topology {
        Topology::Standalone => {
            let info = target.url.as_str().into_connection_info()?;
            let settings = info
                .redis_settings()
                .clone()
                .set_protocol(redis::ProtocolVersion::RESP3);
            let client = redis::Client::open(info.set_redis_settings(settings))?;
            let config = redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(2)))
                .set_response_timeout(Some(Duration::from_secs(5)))
                .set_push_sender(on_push);
            let conn = client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            Ok(PushConn::Single(conn))
        }
        Topology::Cluster => {
            let client = redis::cluster::ClusterClientBuilder::new(vec![target.url.as_str()])
                .use_protocol(redis::ProtocolVersion::RESP3)
                .connection_timeout(Duration::from_secs(2))
                .response_timeout(Duration::from_secs(5))
                .push_sender(on_push)
                .build()?;
            Ok(PushConn::Cluster(client.get_async_connection().await?))
        }
    }
}

/// Brings this connection's subscriptions to what is registered: one channel per command,
/// as Redis confirms each channel of a command separately (and, on a Redis Cluster, each
/// shard channel lives on its own node).
async fn sync_push_subscriptions(
    shared: &Weak<Shared>,
    mode: PubSubMode,
    conn: &mut PushConn,
    subscribed: &mut Subscribed,
) -> redis::RedisResult<()> {
    let Some(sh) = shared.upgrade() else {
        return Ok(());
    };
    let (sub, unsub) = match mode {
        PubSubMode::Classic | PubSubMode::Streams => ("SUBSCRIBE", "UNSUBSCRIBE"),
        PubSubMode::Sharded(_) => ("SSUBSCRIBE", "SUNSUBSCRIBE"),
    };
    let todo = changes(&sh, subscribed);
    drop(sh);
    for change in todo {
        let command = match (change.0, change.2) {
            (true, true) => "PSUBSCRIBE",
            (true, false) => "PUNSUBSCRIBE",
            (false, true) => sub,
            (false, false) => unsub,
        };
        conn.exec(redis::cmd(command).arg(&change.1)).await?;
        subscribed.apply(change);
    }
    Ok(())
}

/// A message pushed by Redis (RESP3), dispatched as the classic connection's are.
fn dispatch_push(shared: &Weak<Shared>, push: PushInfo) {
    if let Some(msg) = redis::Msg::from_push_info(push) {
        dispatch(shared, &msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redis::{RedisCluster, RedisConfig};
    use sio_server::adapter::Adapter;

    /// A namespace removed with its adapter (an emptied dynamic child) leaves the
    /// subscriptions: the next sync unsubscribes from exactly its channels and patterns.
    #[tokio::test]
    async fn a_closed_adapter_is_unsubscribed() {
        // Nothing listens there: the background tasks only retry.
        let cluster = RedisCluster::new(RedisConfig::new("redis://127.0.0.1:1/")).unwrap();
        let stays = cluster.adapter("/stays");
        let goes = cluster.adapter("/goes");
        let shared = cluster.0.clone();
        let mut subscribed = Subscribed::default();
        for change in changes(&shared, &subscribed) {
            assert!(change.2, "only subscriptions at first");
            subscribed.apply(change);
        }
        let all = (subscribed.patterns.clone(), subscribed.channels.clone());
        goes.close();
        let todo = changes(&shared, &subscribed);
        assert!(!todo.is_empty() && todo.iter().all(|c| !c.2), "{todo:?}");
        assert!(todo.iter().all(|c| c.1.contains("#/goes#")), "{todo:?}");
        for change in todo {
            subscribed.apply(change);
        }
        assert!(subscribed.patterns.len() + subscribed.channels.len() < all.0.len() + all.1.len());
        assert!(changes(&shared, &subscribed).is_empty());
        drop(stays);
    }
}
