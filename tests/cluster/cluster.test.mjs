// The Redis adapter: a cluster of two Rust contract servers (REDIS_URL, the
// sio-cluster Redis adapter) and one Node reference server (socket.io 4.8 + @socket.io/redis-adapter
// 8.3) on one redis-server started here on a free port, with the official socket.io-client
// connected to each node. Plus an in-process Node socket.io node (same adapter, no clients)
// for the server-side operations the contract has no event for: fetchSockets, socketsJoin,
// disconnectSockets, `local`, `except`.
//
// "Did not arrive" is proven with a marker sent after it by the same node: Redis delivers one
// publisher's messages in order, so once the marker is in, the earlier message would be too.
import assert from "node:assert/strict";
import { describe, it, before, after, afterEach } from "node:test";
import { createClient } from "redis";
import { startServer, connect, collect, ack, waitFor, closeAllClients, toBuffers, once } from "../lib/harness.mjs";
import { startRedis } from "../lib/redis.mjs";
import { skipWithoutRedis as skip, startProbe, SHARDED } from "../lib/cluster.mjs";

describe("Redis cluster: two sio nodes and a Node socket.io node", { skip }, () => {
  let redis, a, b, node, probe;
  const servers = () => [a, b, node];

  before(async () => {
    redis = await startRedis();
    const env = { REDIS_URL: redis.url, RUST_LOG: "sio_server=info,sio_cluster=info" };
    [a, b, node] = await Promise.all([
      startServer({ env, impl: "rust" }),
      startServer({ env, impl: "rust" }),
      startServer({ env, impl: "node" }),
    ]);
    probe = await startProbe(redis.url, { namespaces: ["/custom"] });
    // Every node has subscribed once each one counts the others on the request channel.
    await waitFor(async () => (await probe.io.of("/").adapter.serverCount()) >= 4, {
      timeout: 10_000,
      interval: 50,
      what: "4 nodes subscribed",
    });
  });

  afterEach((t) => {
    closeAllClients();
    if (!t.passed) {
      for (const [name, s] of [["a", a], ["b", b], ["node", node]]) {
        console.error(`--- ${name} (pid ${s?.pid}) ---\n${s?.newLogs?.() || "(none)"}`);
      }
      console.error(`--- redis ---\n${redis?.logs?.().slice(-2000) || ""}`);
    }
  });

  after(async () => {
    closeAllClients();
    await probe?.close();
    await Promise.all(servers().map((s) => s?.stop()));
    await redis?.stop();
  });

  /** One connected client per node (websocket on a, polling on b, default on node). */
  async function clients(nsp = "") {
    return Promise.all([
      connect(a.url + nsp, { transports: ["websocket"] }),
      connect(b.url + nsp, { transports: ["polling"] }),
      connect(node.url + nsp),
    ]);
  }

  it("io.emit from a sio node reaches every node's clients, binary included", async () => {
    const socks = await clients();
    const got = socks.map((s) => collect(s, "bcast"));
    const payload = { n: 1, text: "héllo", bin: Buffer.from([1, 2, 3]), list: [true, null, 2.5] };
    socks[0].emit("broadcast", payload);
    for (const g of got) await g.until((l) => l.length === 1);
    for (const g of got) assert.deepEqual(toBuffers(g[0][0]), payload);
  });

  it("io.emit from the Node node reaches the sio nodes' clients", async () => {
    const socks = await clients();
    const got = socks.map((s) => collect(s, "bcast"));
    socks[2].emit("broadcast", { from: "node", bin: Buffer.from([9]) });
    for (const g of got) await g.until((l) => l.length === 1);
    for (const g of got) assert.deepEqual(toBuffers(g[0][0]), { from: "node", bin: Buffer.from([9]) });
  });

  it("socket.broadcast skips the sender only, on every node", async () => {
    const socks = await clients();
    const other = await connect(a.url, { transports: ["websocket"] });
    const got = [...socks, other].map((s) => collect(s, "bcast"));
    socks[1].emit("broadcast-others", { k: "others" });
    await Promise.all([got[0], got[2], got[3]].map((g) => g.until((l) => l.length === 1)));
    // A marker from the same node, after: the sender gets it, and nothing before it.
    socks[1].emit("broadcast", "marker");
    await got[1].until((l) => l.length === 1);
    assert.deepEqual(got[1], [["marker"]]);
  });

  it("rooms: io.to(room) reaches members on other nodes only", async () => {
    const [ma, mb, mn] = await clients();
    const [oa, ob, on] = await clients();
    for (const m of [ma, mb, mn]) assert.deepEqual(await ack(m, "join", "blue"), [true]);
    if (SHARDED) {
      // In the sharded (dynamic) mode a node subscribes to a room's channel when the room
      // gets its first member there, after the join has answered (as Node's adapter does):
      // a broadcast sent before would not reach it. Wait until the three nodes listen.
      const redisClient = createClient({ url: redis.url });
      redisClient.on("error", () => {});
      await redisClient.connect();
      try {
        await waitFor(
          async () => {
            const counts = await redisClient.sendCommand(["PUBSUB", "SHARDNUMSUB", "socket.io#/#blue#"]);
            return Number(counts[1]) >= 3;
          },
          { what: "the three nodes subscribed to room blue's channel" },
        );
      } finally {
        await redisClient.quit();
      }
    }
    const members = [ma, mb, mn].map((s) => collect(s, "bcast"));
    const others = [oa, ob, on].map((s) => collect(s, "bcast"));
    oa.emit("to-room", { room: "blue", v: 1 });
    for (const g of members) await g.until((l) => l.length === 1);
    for (const g of members) assert.deepEqual(g[0], [{ room: "blue", v: 1 }]);
    // From the Node node too.
    on.emit("to-room", { room: "blue", v: 2 });
    for (const g of members) await g.until((l) => l.length === 2);
    oa.emit("broadcast", "marker");
    for (const g of others) await g.until((l) => l.length === 1);
    for (const g of others) assert.deepEqual(g, [["marker"]], "non-members got nothing before the marker");
  });

  it("namespaces stay apart across nodes", async () => {
    const custom = await clients("/custom");
    const root = await clients();
    const gotCustom = custom.map((s) => collect(s, "bcast"));
    const gotRoot = root.map((s) => collect(s, "bcast"));
    custom[0].emit("broadcast", "in custom");
    for (const g of gotCustom) await g.until((l) => l.length === 1);
    root[0].emit("broadcast", "in root");
    for (const g of gotRoot) await g.until((l) => l.length === 1);
    assert.deepEqual(gotRoot.flat(), [["in root"], ["in root"], ["in root"]]);
  });

  it("the Node node's fetchSockets lists the sio nodes' sockets with their rooms", async () => {
    const socks = await clients();
    await ack(socks[0], "join", "fetch-a");
    await ack(socks[1], "join", "fetch-b");
    await ack(socks[0], "set-data", { n: 1 });
    const remote = await probe.io.in(["fetch-a", "fetch-b"]).fetchSockets();
    const byId = Object.fromEntries(remote.map((s) => [s.id, s]));
    assert.deepEqual(Object.keys(byId).sort(), [socks[0].id, socks[1].id].sort());
    assert.deepEqual([...byId[socks[0].id].rooms].sort(), [socks[0].id, "fetch-a"].sort());
    assert.deepEqual(byId[socks[0].id].data, { value: { n: 1 } }, "socket.data");
    assert.deepEqual(byId[socks[1].id].data, {});
    assert.equal(typeof byId[socks[1].id].handshake.headers, "object");
    const all = await probe.io.fetchSockets();
    for (const s of socks) assert.ok(all.some((r) => r.id === s.id), `${s.id} listed`);
  });

  it("socketsJoin / socketsLeave / disconnectSockets from Node act on sio sockets", async () => {
    const [sa, sb] = await clients();
    probe.io.in(sa.id).socketsJoin("joined-remotely");
    await waitFor(async () => (await ack(sa, "rooms-of"))[0].includes("joined-remotely"), {
      timeout: 5_000,
      interval: 50,
      what: "remote join",
    });
    probe.io.in(sa.id).socketsLeave("joined-remotely");
    await waitFor(async () => !(await ack(sa, "rooms-of"))[0].includes("joined-remotely"), {
      timeout: 5_000,
      interval: 50,
      what: "remote leave",
    });
    const gone = once(sb, "disconnect");
    probe.io.in(sb.id).disconnectSockets();
    assert.equal((await gone)[0], "io server disconnect");
  });

  it("except and local from the Node node", async () => {
    const socks = await clients();
    const got = socks.map((s) => collect(s, "probe"));
    probe.io.local.emit("probe", "local only");
    probe.io.except(socks[0].id).emit("probe", "not to a");
    await got[1].until((l) => l.length === 1);
    await got[2].until((l) => l.length === 1);
    probe.io.emit("probe", "marker");
    await got[0].until((l) => l.length === 1);
    assert.deepEqual(got[0], [["marker"]]);
    assert.deepEqual(got[1][0], ["not to a"]);
  });

  it("a Node node's broadcast with acks gets the acks of every node's clients", async () => {
    const socks = await clients();
    for (const s of socks) assert.deepEqual(await ack(s, "join", "ackers"), [true]);
    socks.forEach((s, i) => s.on("q", (x, cb) => cb({ from: i, x, bin: Buffer.from([i]) })));
    const responses = await probe.io.to("ackers").timeout(3_000).emitWithAck("q", 41);
    assert.deepEqual(
      responses.map((r) => toBuffers(r)).sort((p, q) => p.from - q.from),
      [0, 1, 2].map((i) => ({ from: i, x: 41, bin: Buffer.from([i]) })),
    );
  });

  it("a polling request on the wrong node gets the protocol's 400, not a hang (no sticky sessions)", async () => {
    const open = await fetch(`${a.url}/socket.io/?EIO=4&transport=polling`);
    const body = await open.text();
    const sid = JSON.parse(body.slice(1)).sid;
    for (const wrong of [b, node]) {
      const res = await fetch(`${wrong.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
        signal: AbortSignal.timeout(5_000),
      });
      assert.equal(res.status, 400);
      assert.deepEqual(await res.json(), { code: 1, message: "Session ID unknown" });
    }
  });

  it("Redis killed and restarted: the nodes serve their clients meanwhile, then the cluster recovers", async () => {
    const port = redis.port;
    await redis.kill();
    const socks = await clients();
    // Local broadcasts still work on each node.
    const mine = collect(socks[0], "bcast");
    socks[0].emit("broadcast", "during outage");
    await mine.until((l) => l.length === 1);
    redis = await startRedis({ port });
    const got = socks.map((s) => collect(s, "bcast"));
    // Resubscribing takes a reconnect backoff: broadcast until every node hears a.
    let n = 0;
    await waitFor(
      () => {
        socks[0].emit("broadcast", `after ${n++}`);
        return got.every((g) => g.some(([v]) => v !== "during outage"));
      },
      { timeout: 20_000, interval: 250, what: "broadcasts across nodes after the restart" },
    );
    // Node → sio as well.
    const fromNode = socks.map((s) => collect(s, "bcast"));
    await waitFor(
      () => {
        socks[2].emit("broadcast", "from node after restart");
        return fromNode.every((g) => g.length > 0);
      },
      { timeout: 20_000, interval: 250, what: "Node node broadcasts after the restart" },
    );
    assert.ok(a.alive() && b.alive(), "sio nodes still running");
    assert.match(a.logs(), /redis subscriber (connection lost|reconnected)/);
  });
});


// Node's adapter does not survive garbage on its channels (notepack throws in its listener),
// so this runs on a Redis of its own with sio nodes only.
describe("Redis cluster: malformed messages", { skip }, () => {
  let redis, a, b;
  before(async () => {
    redis = await startRedis();
    const env = { REDIS_URL: redis.url, RUST_LOG: "sio_server=info,sio_cluster=info" };
    [a, b] = await Promise.all([startServer({ env, impl: "rust" }), startServer({ env, impl: "rust" })]);
  });
  afterEach((t) => {
    closeAllClients();
    if (!t.passed) for (const s of [a, b]) console.error(`--- pid ${s?.pid} ---\n${s?.newLogs?.() || "(none)"}`);
  });
  after(async () => {
    closeAllClients();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  it("are logged and skipped; later broadcasts still arrive", async () => {
    const pub = createClient({ url: redis.url });
    pub.on("error", () => {});
    await pub.connect();
    try {
      const socks = await Promise.all([connect(a.url), connect(b.url)]);
      const got = socks.map((s) => collect(s, "bcast"));
      // Until b hears a, both are subscribed.
      await waitFor(
        () => {
          socks[0].emit("broadcast", "hello");
          return got[1].length > 0;
        },
        { timeout: 10_000, interval: 100, what: "a and b subscribed" },
      );
      // The sharded mode has one kind of message on one channel; the classic mode has
      // broadcasts and requests on their own channels.
      const garbage = SHARDED
        ? [
            ["socket.io#/#", Buffer.from([0xc1, 0x00])],
            ["socket.io#/#", Buffer.from([0x84, 0xa1, 0x78])], // truncated
            ["socket.io#/#", "{not json"],
            ["socket.io#/#", JSON.stringify({ type: 99, data: {}, uid: "x", nsp: "/" })],
            ["socket.io#/#", JSON.stringify({ type: 3, data: { opts: {} }, uid: "x", nsp: "/" })],
          ]
        : [
            ["socket.io#/#", Buffer.from([0xc1, 0x00])],
            ["socket.io#/#", Buffer.from([0x93, 0xa1, 0x78])], // truncated
            ["socket.io-request#/#", "{not json"],
            ["socket.io-request#/#", JSON.stringify({ uid: "x", type: 99 })],
          ];
      for (const [channel, msg] of garbage) {
        await (SHARDED ? pub.sPublish(channel, msg) : pub.publish(channel, msg));
      }
      const n = got[1].length;
      socks[0].emit("broadcast", "still fine");
      await got[1].until((l) => l.length > n && l.at(-1)[0] === "still fine");
      const logged = SHARDED
        ? [/malformed message skipped/]
        : [/malformed broadcast skipped/, /malformed request or response skipped/];
      await waitFor(() => logged.every((re) => re.test(b.logs())), {
        timeout: 5_000,
        interval: 50,
        what: "the skipped messages logged",
      });
      assert.ok(a.alive() && b.alive());
    } finally {
      await pub.quit().catch(() => {});
    }
  });
});
