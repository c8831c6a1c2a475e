//! `REDIS_URL`: the Redis adapter for the example servers (`CONTRACT.md`, "cluster").

use sio_cluster::redis::RedisCluster;
use sio_server::SocketIoBuilder;

/// The Redis adapter when `REDIS_URL` is set; `REDIS_SHARDED=1` selects the sharded mode
/// (`SPUBLISH`) as `createShardedAdapter` does, with its subscription mode from
/// `REDIS_SUBSCRIPTION_MODE` (`static`, `dynamic`, the default, or `dynamic-private`);
/// `REDIS_STREAMS=1` selects the Redis Streams mode, as `@socket.io/redis-streams-adapter`;
/// `REDIS_CLUSTER=1` says that `REDIS_URL` is a node of a Redis Cluster.
///
/// The cluster comes back too, for [`flush`] at shutdown.
pub fn cluster(
    builder: SocketIoBuilder,
) -> std::io::Result<(SocketIoBuilder, Option<RedisCluster>)> {
    use sio_cluster::redis::{RedisConfig, SubscriptionMode};
    let Ok(url) = std::env::var("REDIS_URL") else {
        return Ok((builder, None));
    };
    let flag = |name: &str| std::env::var(name).is_ok_and(|v| v == "1");
    let mut config = RedisConfig::new(url);
    if flag("REDIS_SHARDED") {
        let mode = match std::env::var("REDIS_SUBSCRIPTION_MODE").as_deref() {
            Ok("static") => SubscriptionMode::Static,
            Ok("dynamic-private") => SubscriptionMode::DynamicPrivate,
            Ok("dynamic") | Err(_) => SubscriptionMode::Dynamic,
            Ok(other) => {
                return Err(std::io::Error::other(format!(
                    "REDIS_SUBSCRIPTION_MODE={other}: static, dynamic or dynamic-private"
                )));
            }
        };
        config = config.sharded(mode);
    }
    if flag("REDIS_STREAMS") {
        config = config.streams();
    }
    if flag("REDIS_CLUSTER") {
        config = config.redis_cluster();
    }
    let cluster = RedisCluster::new(config).map_err(std::io::Error::other)?;
    tracing::info!("joining the Redis cluster ({cluster:?})");
    let adapters = cluster.clone();
    Ok((
        builder.adapter(move |nsp| adapters.adapter(nsp)),
        Some(cluster),
    ))
}

/// After a graceful shutdown: waits (2 s at most) until what the closed sockets told the
/// other nodes (their leaving, the sessions kept for recovery) is in Redis, which would
/// otherwise go with the process.
pub async fn flush(cluster: Option<RedisCluster>) {
    if let Some(cluster) = cluster {
        if tokio::time::timeout(std::time::Duration::from_secs(2), cluster.flush())
            .await
            .is_err()
        {
            tracing::warn!("the last messages to the cluster were not all written");
        }
    }
}
