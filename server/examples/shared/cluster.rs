//! `REDIS_URL`: the Redis adapter for the example servers (`CONTRACT.md`, "cluster").

use sio_server::SocketIoBuilder;

/// The Redis adapter when `REDIS_URL` is set; `REDIS_SHARDED=1` (the sharded mode) is
/// refused: not supported yet.
#[cfg(feature = "redis")]
pub fn cluster(builder: SocketIoBuilder) -> std::io::Result<SocketIoBuilder> {
    use sio_server::adapter::redis::{RedisCluster, RedisConfig};
    let Ok(url) = std::env::var("REDIS_URL") else {
        return Ok(builder);
    };
    if std::env::var("REDIS_SHARDED").is_ok_and(|v| v == "1") {
        return Err(std::io::Error::other(
            "REDIS_SHARDED=1: the sharded mode is not supported yet",
        ));
    }
    let cluster = RedisCluster::new(RedisConfig::new(url)).map_err(std::io::Error::other)?;
    tracing::info!("joining the Redis cluster ({cluster:?})");
    Ok(builder.adapter(move |nsp| cluster.adapter(nsp)))
}

/// Without the `redis` feature, `REDIS_URL` is an error rather than a silent single node.
#[cfg(not(feature = "redis"))]
pub fn cluster(builder: SocketIoBuilder) -> std::io::Result<SocketIoBuilder> {
    if std::env::var_os("REDIS_URL").is_some() {
        return Err(std::io::Error::other(
            "REDIS_URL is set but this build has no Redis adapter: build with --features redis",
        ));
    }
    Ok(builder)
}
