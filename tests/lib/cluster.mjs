// Shared pieces of the cluster suites (tests/cluster/): whether they can run, an in-process
// Node socket.io node on the Redis adapter, and the Rust/Node pair of features servers.
import { before, after, afterEach } from "node:test";
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
import { createClient } from "redis";
import { startServer, closeAllClients } from "./harness.mjs";
import { startRedis, haveRedis } from "./redis.mjs";

/** REDIS_SHARDED=1 runs the cluster suites in the sharded mode (SPUBLISH): the servers they
 *  start inherit it, and the in-process probe uses `createShardedAdapter`. */
export const SHARDED = process.env.REDIS_SHARDED === "1";

/** The `skip` of a cluster test that only the classic mode has. */
export const classicOnly = SHARDED ? "classic mode only (REDIS_SHARDED=1)" : false;

/** The `skip` of a cluster suite: skipped on a machine without redis-server, never in CI
 *  (scripts/setup.sh installs it there). */
export const skipWithoutRedis = haveRedis() || process.env.CI ? false : "redis-server not installed (scripts/setup.sh redis)";

/** A Node socket.io node in this process, with the Redis adapter of `url` (classic or
 *  sharded, see SHARDED; with `streams`, @socket.io/redis-streams-adapter, which makes its
 *  own connections from one client), on a free port (with the extra `namespaces` created).
 *  Returns {io, pub, close()}. */
export async function startProbe(url, { namespaces = [], streams = false } = {}) {
  const pub = createClient({ url });
  const clients = streams ? [pub] : [pub, pub.duplicate()];
  for (const c of clients) c.on("error", () => {});
  await Promise.all(clients.map((c) => c.connect()));
  const [, sub] = clients;
  const http = createServer();
  const adapter = streams
    ? createStreamsAdapter(pub)
    : SHARDED
      ? createShardedAdapter(pub, sub)
      : createAdapter(pub, sub, { requestsTimeout: 3_000 });
  const io = new Server(http, { adapter });
  for (const nsp of namespaces) io.of(nsp);
  await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    io,
    pub,
    async close() {
      io.close();
      await Promise.allSettled(clients.map((c) => c.quit()));
    },
  };
}

/** For the enclosing `describe`: a redis-server and the features server on it in both
 *  implementations (with `env` added to theirs); see `usePair`. */
export function useFeaturesPair(set, { env = {} } = {}) {
  usePair(set, { kind: "features", env });
}

/** For the enclosing `describe`: a redis-server and a `kind` server on it in both
 *  implementations (with `env` added to theirs, and `nodeEnv` to the Node one's), handed to
 *  `set({redis, rust, node})` once started; clients are closed after each test (and the
 *  servers' logs printed when it failed), everything stopped at the end. */
export function usePair(set, { kind, env: extra = {}, nodeEnv = {} }) {
  let redis, rust, node;
  before(async () => {
    redis = await startRedis();
    const env = { REDIS_URL: redis.url, RUST_LOG: "sio_server=info,sio_cluster=info,features=info", ...extra };
    [rust, node] = await Promise.all([
      startServer({ env, kind, impl: "rust" }),
      startServer({ env: { ...env, ...nodeEnv }, kind, impl: "node" }),
    ]);
    set({ redis, rust, node });
  });
  afterEach((t) => {
    closeAllClients();
    if (!t.passed) {
      for (const [name, s] of [["rust", rust], ["node", node]]) {
        console.error(`--- ${name} (pid ${s?.pid}) ---\n${s?.newLogs?.() || "(none)"}`);
      }
    }
  });
  after(async () => {
    closeAllClients();
    await Promise.all([rust?.stop(), node?.stop()]);
    await redis?.stop();
  });
}
