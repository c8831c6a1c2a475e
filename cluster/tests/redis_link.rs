//! A node's link to a real `redis-server` as an operator watches it
//! ([`RedisCluster::stats`], and the same counts in the server's Prometheus metrics): what
//! it publishes, what it drops while Redis is down, and its reconnection once Redis is back.
//! Needs `redis-server` on the PATH (`scripts/setup.sh` installs it).

#![cfg(feature = "metrics")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sio_cluster::redis::{RedisCluster, RedisConfig, RedisStats};
use sio_server::SocketIo;
use sio_server::metrics::Metrics;

/// A `redis-server` on `port` of 127.0.0.1, without persistence, stopped by its PID.
struct Redis(Child);

impl Redis {
    async fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on the PATH (scripts/setup.sh installs it)");
        // Ready once it accepts connections.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Redis(child)
    }

    fn stop(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Broadcasts (each one message for the other nodes) until `cond` holds for the link's
/// counts; the link gets there on its own, in its own time (bounded: 30 s).
async fn until(
    io: &SocketIo,
    cluster: &RedisCluster,
    what: &str,
    cond: impl Fn(RedisStats) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !cond(cluster.stats()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}: {:?}",
            cluster.stats()
        );
        let _ = io.emit("tick", &1);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn sample(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_counts_publishes_drops_and_reconnections() {
    let port = free_port();
    let redis = Redis::start(port).await;
    let cluster = RedisCluster::new(RedisConfig::new(format!("redis://127.0.0.1:{port}"))).unwrap();
    let adapters = cluster.clone();
    let (_layer, io) = SocketIo::builder()
        .adapter(move |nsp| adapters.adapter(nsp))
        .build_layer();
    let mut metrics = Metrics::new(&io);
    cluster.register_metrics(&mut metrics);

    until(&io, &cluster, "a broadcast is published", |s| {
        s.published >= 1
    })
    .await;
    assert_eq!(cluster.stats().dropped, 0);
    assert_eq!(cluster.stats().reconnects, 0);

    // Redis goes away: broadcasts are dropped, not queued without bound.
    redis.stop();
    until(&io, &cluster, "broadcasts are dropped", |s| s.dropped >= 1).await;

    // It comes back on the same port: the subscriber connects and subscribes again.
    let _redis = Redis::start(port).await;
    until(&io, &cluster, "the subscriber reconnects", |s| {
        s.reconnects >= 1
    })
    .await;
    let published = cluster.stats().published;
    until(&io, &cluster, "broadcasts are published again", |s| {
        s.published > published
    })
    .await;

    let text = metrics.render();
    let stats = cluster.stats();
    let published = sample(&text, "socketio_redis_published_total").unwrap();
    assert!(published >= 2 && published <= stats.published, "{text}");
    assert!(
        sample(&text, "socketio_redis_dropped_total").unwrap() >= 1,
        "{text}"
    );
    assert!(
        sample(&text, "socketio_redis_reconnects_total").unwrap() >= 1,
        "{text}"
    );
    // The server's own metrics are in the same scrape.
    assert!(text.contains("socketio_broadcasts_total"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_waits_until_what_was_queued_before_it_is_written() {
    let port = free_port();
    let _redis = Redis::start(port).await;
    let cluster = RedisCluster::new(RedisConfig::new(format!("redis://127.0.0.1:{port}"))).unwrap();
    let adapters = cluster.clone();
    let (_layer, io) = SocketIo::builder()
        .adapter(move |nsp| adapters.adapter(nsp))
        .build_layer();
    // A first flush: the publisher is connected.
    cluster.flush().await;
    for i in 0..500 {
        io.emit("tick", &i).unwrap();
    }
    cluster.flush().await;
    assert_eq!(cluster.stats().published, 500);
    assert_eq!(cluster.stats().dropped, 0);
    // With nothing queued it returns as well.
    cluster.flush().await;
}
