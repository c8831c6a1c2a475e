// CONTRACT.md "cluster" for the Node reference servers: with REDIS_URL, every namespace uses
// @socket.io/redis-adapter 8 on that Redis (REDIS_SHARDED=1: its sharded adapter, as
// createShardedAdapter does, with subscriptionMode REDIS_SUBSCRIPTION_MODE if set;
// REDIS_CLUSTER=1: REDIS_URL is a node of a Redis Cluster). REDIS_STREAMS=1: the Redis
// Streams adapter instead (@socket.io/redis-streams-adapter 0.3, its defaults: stream
// `socket.io`, sessions under `sio:session:`), which also stores the sessions of connection
// state recovery (RECOVERY_MS) in Redis, so a client can recover on another node.
// Without REDIS_URL: nothing (the in-memory adapter).
export async function joinCluster(io, log) {
  const url = process.env.REDIS_URL;
  if (!url) return;
  const { createClient, createCluster } = await import("redis");
  const pub = process.env.REDIS_CLUSTER === "1" ? createCluster({ rootNodes: [{ url }] }) : createClient({ url });
  if (process.env.REDIS_STREAMS === "1") {
    // One client: the adapter duplicates it for its blocking XREAD and its subscriptions.
    const { createAdapter } = await import("@socket.io/redis-streams-adapter");
    pub.on("error", (e) => log(`redis: ${e.message}`));
    await pub.connect();
    io.adapter(createAdapter(pub));
    log(`joined the Redis cluster at ${url} (Redis Streams adapter)`);
    return;
  }
  const { createAdapter, createShardedAdapter } = await import("@socket.io/redis-adapter");
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", (e) => log(`redis: ${e.message}`));
  await Promise.all([pub.connect(), sub.connect()]);
  const subscriptionMode = process.env.REDIS_SUBSCRIPTION_MODE;
  io.adapter(
    process.env.REDIS_SHARDED === "1"
      ? createShardedAdapter(pub, sub, subscriptionMode ? { subscriptionMode } : {})
      : createAdapter(pub, sub),
  );
  log(`joined the Redis cluster at ${url}`);
}
