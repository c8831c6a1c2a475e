//! The two connections of a [`RedisCluster`](super::RedisCluster): the publisher, fed by
//! a bounded queue, and the subscriber, which dispatches every message to the namespace
//! whose channel it came on. Both reconnect with backoff; the subscriber subscribes again.
//!
//! The sharded mode's subscriber speaks RESP3: the `redis` crate has no `SSUBSCRIBE` on its
//! pub/sub connection, so shard messages arrive as pushes on a multiplexed connection,
//! dispatched as they are read (no queue in between).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use redis::{IntoConnectionInfo, PushInfo, PushKind};
use tokio::sync::{Notify, mpsc};

use super::{LOG, PubSubMode, Shared, read, write};

/// Backoff before reconnect attempt `n` (from 0): 100 ms doubling, at most 5 s.
pub(super) fn backoff(n: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << n.min(6)).min(5000))
}

/// At most one log line a second per kind.
#[derive(Default)]
pub(super) struct Throttle {
    last: [AtomicU64; 4],
}

impl Throttle {
    pub(super) fn allow(&self, kind: usize) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let Some(last) = self.last.get(kind) else {
            return true;
        };
        last.swap(now, Ordering::Relaxed) != now
    }
}

/// Publishes queued messages. While Redis is unreachable, messages are dropped (counted
/// and logged), and connecting again is tried with backoff.
pub(super) async fn publisher(
    client: redis::Client,
    mode: PubSubMode,
    mut rx: mpsc::Receiver<(String, Vec<u8>)>,
    shared: Weak<Shared>,
) {
    let command = match mode {
        PubSubMode::Classic => "PUBLISH",
        PubSubMode::Sharded(_) => "SPUBLISH",
    };
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_secs(1)))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_secs(1));
    let mut conn: Option<redis::aio::ConnectionManager> = None;
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
            match tokio::time::timeout(
                Duration::from_secs(2),
                client.get_connection_manager_with_config(config.clone()),
            )
            .await
            {
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
        let mut pipe = redis::pipe();
        let mut count = 0u64;
        for (channel, payload) in
            std::iter::once(first).chain(std::iter::from_fn(|| rx.try_recv().ok()).take(MAX_BATCH))
        {
            pipe.cmd(command).arg(channel).arg(payload).ignore();
            count += 1;
        }
        let sent = match conn.as_mut() {
            Some(c) => pipe.query_async::<()>(c).await,
            None => Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "not connected",
            ))),
        };
        if let Err(e) = sent {
            if let Some(sh) = shared.upgrade() {
                sh.dropped.fetch_add(count, Ordering::Relaxed);
            }
            errors += 1;
            if errors.is_power_of_two() {
                tracing::warn!(target: LOG, errors, count, "redis publish failed, messages dropped: {e}");
            }
        }
    }
}

/// Queued messages published in one pipeline, at most (after the first).
const MAX_BATCH: usize = 127;

/// Subscribes to every namespace's channels and dispatches what arrives; reconnects with
/// backoff and subscribes again when the connection is lost. Ends when the cluster is gone.
pub(super) async fn subscriber(
    url: String,
    client: redis::Client,
    mode: PubSubMode,
    shared: Weak<Shared>,
) {
    match mode {
        PubSubMode::Classic => classic_subscriber(client, shared).await,
        PubSubMode::Sharded(_) => shard_subscriber(url, shared).await,
    }
}

async fn classic_subscriber(client: redis::Client, shared: Weak<Shared>) {
    let mut failures = 0u32;
    loop {
        if shared.strong_count() == 0 {
            return;
        }
        match tokio::time::timeout(Duration::from_secs(2), client.get_async_pubsub()).await {
            Ok(Ok(pubsub)) => {
                let (mut sink, mut stream) = pubsub.split();
                let mut subscribed = HashSet::new();
                if let Err(e) = sync_subscriptions(&shared, &mut sink, &mut subscribed).await {
                    tracing::warn!(target: LOG, "redis subscribe failed: {e}");
                } else {
                    if failures > 0 {
                        tracing::info!(target: LOG, "redis subscriber reconnected and resubscribed");
                    }
                    failures = 0;
                    loop {
                        let Some(sh) = shared.upgrade() else { return };
                        // Held during the wait: the cluster lives as long as its server.
                        let changed = sh.changed.notified();
                        tokio::select! {
                            msg = stream.next() => match msg {
                                Some(msg) => dispatch(&shared, &msg),
                                None => {
                                    tracing::warn!(target: LOG, "redis subscriber connection lost");
                                    break;
                                }
                            },
                            () = changed => {
                                if let Err(e) = sync_subscriptions(&shared, &mut sink, &mut subscribed).await {
                                    tracing::warn!(target: LOG, "redis subscribe failed: {e}");
                                    break;
                                }
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

/// Subscribes to what is registered and not yet subscribed on this connection.
async fn sync_subscriptions(
    shared: &Weak<Shared>,
    sink: &mut redis::aio::PubSubSink,
    subscribed: &mut HashSet<String>,
) -> redis::RedisResult<()> {
    let Some(sh) = shared.upgrade() else {
        return Ok(());
    };
    let patterns: Vec<String> = read(&sh.patterns)
        .keys()
        .filter(|p| !subscribed.contains(*p))
        .cloned()
        .collect();
    let channels: Vec<String> = read(&sh.channels)
        .keys()
        .filter(|c| !subscribed.contains(*c))
        .cloned()
        .collect();
    drop(sh);
    if !patterns.is_empty() {
        sink.psubscribe(&patterns).await?;
    }
    if !channels.is_empty() {
        sink.subscribe(&channels).await?;
    }
    subscribed.extend(patterns);
    subscribed.extend(channels);
    Ok(())
}

fn dispatch(shared: &Weak<Shared>, msg: &redis::Msg) {
    let Some(sh) = shared.upgrade() else { return };
    let channel = msg.get_channel_name();
    let payload = msg.get_payload_bytes();
    if msg.from_pattern() {
        let pattern: String = msg.get_pattern().unwrap_or_default();
        let ns = read(&sh.patterns).get(&pattern).and_then(Weak::upgrade);
        if let Some(ns) = ns {
            ns.on_broadcast(channel, payload);
        }
    } else {
        let ns = read(&sh.channels).get(channel).and_then(Weak::upgrade);
        if let Some(ns) = ns {
            ns.on_request(channel, payload);
        }
    }
}

/// The sharded mode's subscriber: `SSUBSCRIBE` on a RESP3 connection whose `smessage`
/// pushes are dispatched as they are read.
async fn shard_subscriber(url: String, shared: Weak<Shared>) {
    let client = match resp3_client(&url) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(target: LOG, "redis subscriber: invalid URL: {e}");
            return;
        }
    };
    let mut failures = 0u32;
    loop {
        if shared.strong_count() == 0 {
            return;
        }
        // A fresh signal per connection: a loss reported by the last one must not end this.
        let lost = Arc::new(Notify::new());
        let on_push = {
            let shared = shared.clone();
            let lost = lost.clone();
            move |push: PushInfo| -> Result<(), std::convert::Infallible> {
                match push.kind {
                    PushKind::SMessage => dispatch_shard(&shared, push),
                    PushKind::Disconnection => lost.notify_one(),
                    _ => {}
                }
                Ok(())
            }
        };
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_push_sender(on_push);
        match client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(mut conn) => {
                let mut subscribed = HashSet::new();
                if let Err(e) = sync_shard_subscriptions(&shared, &mut conn, &mut subscribed).await
                {
                    tracing::warn!(target: LOG, "redis ssubscribe failed: {e}");
                } else {
                    if failures > 0 {
                        tracing::info!(target: LOG, "redis subscriber reconnected and resubscribed");
                    }
                    failures = 0;
                    loop {
                        let Some(sh) = shared.upgrade() else { return };
                        // Held during the wait: the cluster lives as long as its server.
                        let changed = sh.changed.notified();
                        tokio::select! {
                            () = lost.notified() => {
                                tracing::warn!(target: LOG, "redis subscriber connection lost");
                                break;
                            }
                            () = changed => {
                                if let Err(e) = sync_shard_subscriptions(&shared, &mut conn, &mut subscribed).await {
                                    tracing::warn!(target: LOG, "redis ssubscribe failed: {e}");
                                    break;
                                }
                            }
                        }
                    }
                }
            }
            Err(e) => {
                if failures == 0 || failures.is_power_of_two() {
                    tracing::warn!(target: LOG, failures, "redis unreachable: {e}");
                }
            }
        }
        tokio::time::sleep(backoff(failures)).await;
        failures = failures.saturating_add(1);
    }
}

/// A client of `url` that speaks RESP3 (needed for pushes).
fn resp3_client(url: &str) -> redis::RedisResult<redis::Client> {
    let info = url.into_connection_info()?;
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(redis::ProtocolVersion::RESP3);
    redis::Client::open(info.set_redis_settings(settings))
}

/// Brings this connection's shard subscriptions to what is registered: one channel per
/// command, as Redis confirms each channel of a command separately.
async fn sync_shard_subscriptions(
    shared: &Weak<Shared>,
    conn: &mut redis::aio::MultiplexedConnection,
    subscribed: &mut HashSet<String>,
) -> redis::RedisResult<()> {
    let Some(sh) = shared.upgrade() else {
        return Ok(());
    };
    let (add, remove): (Vec<String>, Vec<String>) = {
        let channels = read(&sh.channels);
        (
            channels
                .keys()
                .filter(|c| !subscribed.contains(*c))
                .cloned()
                .collect(),
            subscribed
                .iter()
                .filter(|c| !channels.contains_key(*c))
                .cloned()
                .collect(),
        )
    };
    drop(sh);
    for channel in add {
        redis::cmd("SSUBSCRIBE")
            .arg(&channel)
            .exec_async(conn)
            .await?;
        subscribed.insert(channel);
    }
    for channel in remove {
        redis::cmd("SUNSUBSCRIBE")
            .arg(&channel)
            .exec_async(conn)
            .await?;
        subscribed.remove(&channel);
    }
    Ok(())
}

fn dispatch_shard(shared: &Weak<Shared>, push: PushInfo) {
    let mut data = push.data.into_iter();
    let (Some(redis::Value::BulkString(channel)), Some(redis::Value::BulkString(payload))) =
        (data.next(), data.next())
    else {
        return;
    };
    let Some(sh) = shared.upgrade() else { return };
    let Ok(channel) = std::str::from_utf8(&channel) else {
        return;
    };
    let ns = read(&sh.channels).get(channel).and_then(Weak::upgrade);
    if let Some(ns) = ns {
        ns.on_shard_message(channel, &payload);
    }
}
