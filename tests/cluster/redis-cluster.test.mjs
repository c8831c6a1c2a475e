// The adapter on a Redis Cluster (three masters, started here with redis-cli --cluster
// create), in its three modes (classic, sharded, streams): two Rust features servers and the
// Node twin (node-redis `createCluster`; @socket.io/redis-streams-adapter in the streams
// mode), all with REDIS_CLUSTER=1. In the streams mode the stream is one key, on one node:
// that node is the one killed and restarted. In the sharded mode the namespace's channel and
// each room's channel hash to slots of different nodes, so a connection that is not
// cluster-aware gets MOVED errors; node counts (PUBSUB NUMSUB / SHARDNUMSUB) must add up
// every node's subscribers; and the Redis node that owns the namespace's channel is killed
// and restarted.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it, before, after, afterEach } from "node:test";
import { connect, collect, ack, ackTimeout, waitFor, toBuffers, startServer, closeAllClients } from "../lib/harness.mjs";
import { skipWithoutRedis, SHARDED } from "../lib/cluster.mjs";
import { startRedisCluster } from "../lib/redis.mjs";

// Every mode is here: the suite's REDIS_SHARDED=1 run skips this file.
const skip = skipWithoutRedis || (SHARDED && "both modes run in the classic run of the suite");

for (const mode of ["sharded", "classic", "streams"]) {
  describe(`Redis Cluster (3 masters), ${mode} mode: sio and Node nodes`, { skip }, () => {
    let redis, a, b, n;
    before(async () => {
      redis = await startRedisCluster();
      const env = {
        REDIS_URL: redis.url,
        REDIS_CLUSTER: "1",
        REDIS_SHARDED: mode === "sharded" ? "1" : "0",
        REDIS_STREAMS: mode === "streams" ? "1" : "0",
        RUST_LOG: "sio_server=info,sio_cluster=info,features=info",
      };
      [a, b, n] = await Promise.all([
        startServer({ env, kind: "features", impl: "rust" }),
        startServer({ env, kind: "features", impl: "rust" }),
        startServer({ env, kind: "features", impl: "node" }),
      ]);
    });
    afterEach((t) => {
      closeAllClients();
      if (!t.passed) {
        for (const [name, s] of [["sio a", a], ["sio b", b], ["node", n]]) {
          console.error(`--- ${name} (pid ${s?.pid}) ---\n${s?.newLogs?.() || "(none)"}`);
        }
      }
    });
    after(async () => {
      closeAllClients();
      await Promise.all([a?.stop(), b?.stop(), n?.stop()]);
      await redis?.stop();
    });

    it("the channels of the namespace and of a room live on different nodes", { skip: mode !== "sharded" && "sharded only" }, () => {
      const slot = (ch) => Number(execFileSync("redis-cli", ["-p", String(redis.nodes[0].port), "cluster", "keyslot", ch]));
      // 3 masters: slots 0-5460, 5461-10922, 10923-16383.
      const shard = (ch) => Math.min(2, Math.floor(slot(ch) / 5461));
      assert.notEqual(shard("socket.io#/#"), shard("socket.io#/#quiz#"));
    });

    it("fetch lists every node's sockets (node counts add up every Redis node)", async () => {
      const [ra, rb, rn] = await Promise.all([
        connect(a.url, { query: { room: "quiz" } }),
        connect(b.url, { query: { room: "quiz" } }),
        connect(n.url, { query: { room: "quiz" } }),
      ]);
      const want = [ra.id, rb.id, rn.id].sort();
      for (const asker of [ra, rn]) {
        await waitFor(
          async () => {
            const [found] = await ackTimeout(10_000, asker, "fetch", {});
            return JSON.stringify(found.map((s) => s.id).sort()) === JSON.stringify(want);
          },
          { timeout: 20_000, interval: 100, what: "fetch lists the three sockets" },
        );
      }
    });

    it("broadcasts to a room and to everyone reach every node, binary included", async () => {
      const [ra, rb, rn] = await Promise.all([
        connect(a.url, { query: { room: "quiz" } }),
        connect(b.url, { query: { room: "quiz" } }),
        connect(n.url, { query: { room: "quiz" } }),
      ]);
      const outsider = await connect(b.url);
      const got = [ra, rb, rn, outsider].map((s) => collect(s, "msg"));
      // Until every node hears the others (subscriptions are asynchronous).
      for (const sender of [ra, rn]) {
        await waitFor(
          async () => {
            await ack(sender, "send", { msg: "warm-up" });
            return got.every((g) => g.some((m) => m[0] === "warm-up"));
          },
          { timeout: 20_000, interval: 100, what: "every node hears the others" },
        );
      }
      // Late warm-ups may still arrive: only the rest counts.
      const real = (l) => l.filter((m) => m[0] !== "warm-up");
      assert.deepEqual(await ack(ra, "send", { to: ["quiz"], msg: { bin: Buffer.from([1, 2]) } }), [true]);
      assert.deepEqual(await ack(rn, "send", { to: ["quiz"], msg: "from node" }), [true]);
      for (const g of got.slice(0, 3)) await g.until((l) => real(l).length === 2);
      // Two senders on two nodes: a Redis Cluster does not order their messages.
      const byText = (l) => l.sort((x, y) => (typeof x[0] === "string" ? 1 : 0) - (typeof y[0] === "string" ? 1 : 0));
      for (const g of got.slice(0, 3)) {
        assert.deepEqual(byText(toBuffers(real(g))), [[{ bin: Buffer.from([1, 2]) }], ["from node"]]);
      }
      assert.deepEqual(await ack(rb, "send", { msg: "marker" }), [true]);
      await got[3].until((l) => real(l).length === 1);
      assert.deepEqual(real(got[3]), [["marker"]], "the outsider got nothing before the marker");
    });

    it("a broadcast with acks from a sio node gathers every node's acks", async () => {
      const asker = await connect(a.url);
      const [ra, rb, rn] = await Promise.all([
        connect(a.url, { query: { room: "ackers" } }),
        connect(b.url, { query: { room: "ackers" } }),
        connect(n.url, { query: { room: "ackers" } }),
      ]);
      for (const [s, name] of [[ra, "a"], [rb, "b"], [rn, "n"]]) s.on("question", (q, cb) => cb(`${name}:${q}`));
      let reply;
      await waitFor(
        async () => {
          [reply] = await ackTimeout(15_000, asker, "ask-cluster", { room: "ackers", timeout: 3_000, q: 1 });
          return !reply.error && reply.answers.filter((x) => x.answer).length === 3;
        },
        { timeout: 20_000, interval: 100, what: "three answers" },
      );
      assert.deepEqual(reply.answers.map((x) => x.answer[0]).sort(), ["a:1", "b:1", "n:1"]);
    });

    it("the Redis node of the namespace's channel killed and restarted: every node recovers", async () => {
      // The channel everything of `/` goes through: its owner's loss cuts every node off.
      // In the streams mode, the stream's key.
      const channel = { sharded: "socket.io#/#", classic: "socket.io-request#/#", streams: "socket.io" }[mode];
      const owner = await redis.owner(channel);
      await redis.restart(owner);
      const [ra, rb, rn] = await Promise.all([connect(a.url), connect(b.url), connect(n.url)]);
      const got = [ra, rb, rn].map((s) => collect(s, "msg"));
      for (const sender of [ra, rn]) {
        await waitFor(
          async () => {
            await ack(sender, "send", { msg: sender.id });
            return got.every((g) => g.some((m) => m[0] === sender.id));
          },
          { timeout: 30_000, interval: 200, what: `every node hears ${sender === ra ? "sio" : "Node"} again` },
        );
      }
      await waitFor(
        async () => {
          const [found] = await ackTimeout(10_000, ra, "fetch", {});
          const ids = Array.isArray(found) ? found.map((s) => s.id) : [];
          return [ra.id, rb.id, rn.id].every((id) => ids.includes(id));
        },
        { timeout: 30_000, interval: 200, what: "fetch lists every node's sockets again" },
      );
    });

    it("server-side events with acks: one answer per other node", async () => {
      const ra = await connect(a.url);
      let last;
      await waitFor(
        async () => {
          [last] = await ackTimeout(10_000, ra, "sse-ask", "hi");
          return !last.error && last.answers.length === 2;
        },
        { timeout: 20_000, interval: 100, what: "both other nodes answer" },
      );
      assert.deepEqual(last.answers.map((x) => x.by).sort(), ["node", "sio"]);
    });
  });
}
