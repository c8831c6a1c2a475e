// The Redis Streams adapter (CONTRACT.md "cluster" with REDIS_STREAMS=1, and "connection
// state recovery"): two contract servers on one redis-server started here, both with
// REDIS_STREAMS=1 and RECOVERY_MS, in the format of @socket.io/redis-streams-adapter 0.3.1
// (stream `socket.io`, sessions under `sio:session:`). Which implementations: STREAMS_NODES,
// "rust,node" by default (sio node A, Node reference node B); "node,node" checks the tests
// themselves against Node alone. Plus an in-process Node socket.io node on the same adapter
// (no clients) for what the contract has no event for: a broadcast with acks, fetchSockets,
// a volatile broadcast.
//
// The official socket.io-client connects to a node directly, or through a TCP proxy (a load
// balancer without sticky sessions, in effect) that is pointed at the other node while the
// client is cut off: the client then reconnects by itself, sending its pid and last offset,
// and lands on the other node.
//
// "Did not arrive" is proven with a marker sent after it, never with a sleep: the adapter
// carries every broadcast through one stream that each node reads in order, and events to one
// socket arrive in the order they were emitted.
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it, before, after, afterEach } from "node:test";
import { createClient } from "redis";
import {
  startServer,
  client,
  connect,
  whenConnected,
  collect,
  ack,
  once,
  waitFor,
  closeAllClients,
  toBuffers,
  MODES,
} from "../lib/harness.mjs";
import { startRedis } from "../lib/redis.mjs";
import { skipWithoutRedis as skip, startProbe } from "../lib/cluster.mjs";

const IMPLS = (process.env.STREAMS_NODES || "rust,node").split(",").map((s) => s.trim());
if (IMPLS.length !== 2 || !IMPLS.every((i) => i === "rust" || i === "node")) {
  throw new Error(`STREAMS_NODES must be two of rust|node, comma-separated (got ${process.env.STREAMS_NODES})`);
}

/** A stream entry id: what the adapter hands the client as the offset of each event. */
const OFFSET = /^\d+-\d+$/;
const SESSION_KEY = (pid) => `sio:session:${pid}`;

let uniq = 0;
const room = (what) => `${what}-${++uniq}`;

/** A TCP proxy on a free port of 127.0.0.1 to node `port`; `to(port)` points it at another
 *  node and drops every connection it carries. */
async function startProxy(port) {
  let target = port;
  const conns = new Set();
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ host: "127.0.0.1", port: target });
    const drop = () => {
      inbound.destroy();
      outbound.destroy();
      conns.delete(inbound);
    };
    conns.add(inbound);
    inbound.on("error", drop).on("close", drop);
    outbound.on("error", drop).on("close", drop);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    to(port) {
      target = port;
      for (const c of conns) c.destroy();
    },
    close() {
      for (const c of conns) c.destroy();
      server.close();
    },
  };
}

/** The first argument of each collected event (binary as Buffers). */
const values = (got) => got.map((args) => toBuffers(args[0]));

describe(`Redis Streams adapter: node A (${IMPLS[0]}) and node B (${IMPLS[1]}), with recovery`, { skip }, () => {
  let redis, A, B, probe, rc;
  const proxies = new Set();
  const proxy = async (node) => {
    const p = await startProxy(node.port);
    proxies.add(p);
    return p;
  };

  before(async () => {
    redis = await startRedis();
    const env = { REDIS_URL: redis.url, REDIS_STREAMS: "1", RECOVERY_MS: "60000", RUST_LOG: "sio_server=info,sio_cluster=info" };
    [A, B] = await Promise.all(IMPLS.map((impl) => startServer({ env, impl })));
    probe = await startProbe(redis.url, { streams: true });
    rc = createClient({ url: redis.url });
    rc.on("error", () => {});
    await rc.connect();
    // Each node reads the stream from where it was when it started: warm up until every
    // node's broadcasts reach the others (and the probe's reach both).
    const a = await connect(A.url);
    const b = await connect(B.url);
    const atA = collect(a, "bcast");
    const atB = collect(b, "bcast");
    const warm = async (emit, got, what) => {
      let n = 0;
      await waitFor(
        () => {
          emit(`warm-${n++}`);
          return got.every((g) => g.length > 0);
        },
        { timeout: 20_000, interval: 100, what },
      );
    };
    await warm((v) => a.emit("broadcast", v), [atB], "A's broadcasts at B");
    await warm((v) => b.emit("broadcast", v), [atA], "B's broadcasts at A");
    atA.length = atB.length = 0;
    await warm((v) => probe.io.emit("bcast", v), [atA, atB], "the probe's broadcasts at A and B");
    closeAllClients();
  });

  afterEach((t) => {
    closeAllClients();
    for (const p of proxies) p.close();
    proxies.clear();
    if (!t.passed) {
      for (const [i, name, s] of [[0, "A", A], [1, "B", B]]) {
        console.error(`--- node ${name} (${IMPLS[i]}, pid ${s?.pid}) ---\n${s?.newLogs?.() || "(none)"}`);
      }
      console.error(`--- redis ---\n${redis?.logs?.().slice(-2000) || ""}`);
    }
  });

  after(async () => {
    closeAllClients();
    for (const p of proxies) p.close();
    await probe?.close();
    await rc?.quit().catch(() => {});
    await Promise.all([A?.stop(), B?.stop()]);
    await redis?.stop();
  });

  describe("broadcasts", () => {
    it("both ways: text, binary, rooms, except the sender; each event once per client, same offset everywhere", async () => {
      const [a1, a2, b1, b2] = await Promise.all([
        connect(A.url, { transports: ["websocket"] }),
        connect(A.url, { transports: ["polling"] }),
        connect(B.url, { transports: ["websocket"] }),
        connect(B.url),
      ]);
      const socks = { a1, a2, b1, b2 };
      const blue = room("blue");
      for (const s of [a2, b2]) assert.deepEqual(await ack(s, "join", blue), [true]);
      const got = Object.fromEntries(Object.entries(socks).map(([k, s]) => [k, collect(s, "bcast")]));
      const want = { a1: [], a2: [], b1: [], b2: [] };
      // One step at a time, each once its receivers have it: the order is then the same everywhere.
      const step = async (from, ev, data, to) => {
        socks[from].emit(ev, data);
        for (const k of to) want[k].push(data);
        await Promise.all(to.map((k) => got[k].until((l) => l.length === want[k].length)));
      };
      const all = ["a1", "a2", "b1", "b2"];
      await step("a1", "broadcast", "text from A: héllo ✓", all);
      await step("b1", "broadcast", { from: "B", bin: Buffer.from([0, 1, 255]), list: [1, null, true, 2.5] }, all);
      await step("b1", "broadcast", Buffer.from("top-level binary"), all);
      await step("a1", "to-room", { room: blue, from: "A" }, ["a2", "b2"]);
      await step("b1", "to-room", { room: blue, from: "B", bin: Buffer.from([7]) }, ["a2", "b2"]);
      await step("b1", "broadcast-others", "others from B", ["a1", "a2", "b2"]);
      await step("a1", "broadcast-others", "others from A", ["a2", "b1", "b2"]);
      await step("a2", "broadcast", "marker", all);
      for (const k of all) {
        assert.deepEqual(values(got[k]), want[k], `what ${k} got`);
        for (const args of got[k]) {
          assert.equal(args.length, 2, `${k}: each event carries its offset last`);
          assert.match(args[1], OFFSET, `${k}: a stream entry id`);
        }
      }
      // One stream entry per broadcast: every receiver sees the same offset for it.
      const offsetsOf = (k) => got[k].map((args) => args[1]);
      assert.deepEqual(offsetsOf("a2").slice(0, 3), offsetsOf("b2").slice(0, 3));
      assert.deepEqual(offsetsOf("a1").slice(0, 3), offsetsOf("b1").slice(0, 3));
      assert.equal(new Set(offsetsOf("b2")).size, got.b2.length, "offsets are distinct");
    });

    it("namespaces stay apart across nodes", async () => {
      const [ca, cb, ra, rb] = await Promise.all([
        connect(`${A.url}/custom`),
        connect(`${B.url}/custom`),
        connect(A.url),
        connect(B.url),
      ]);
      const custom = [ca, cb].map((s) => collect(s, "bcast"));
      const root = [ra, rb].map((s) => collect(s, "bcast"));
      let n = 0;
      // /custom may be new to the nodes' readers: retry until B has it.
      await waitFor(
        () => {
          ca.emit("broadcast", `in custom ${n++}`);
          return custom[1].length > 0;
        },
        { timeout: 10_000, interval: 100, what: "A's /custom broadcast at B" },
      );
      ra.emit("broadcast", "marker");
      for (const g of root) await g.until((l) => l.length === 1);
      for (const g of root) assert.deepEqual(values(g), ["marker"]);
    });

    it("the Node node's broadcast with acks gets the acks of both nodes' clients", async () => {
      const socks = await Promise.all([connect(A.url), connect(B.url, { transports: ["websocket"] })]);
      const ackers = room("ackers");
      for (const s of socks) assert.deepEqual(await ack(s, "join", ackers), [true]);
      socks.forEach((s, i) => s.on("q", (x, cb) => cb({ from: i, x, bin: Buffer.from([i, 9]) })));
      const responses = await probe.io.to(ackers).timeout(3_000).emitWithAck("q", 41);
      assert.deepEqual(
        responses.map((r) => toBuffers(r)).sort((p, q) => p.from - q.from),
        [0, 1].map((i) => ({ from: i, x: 41, bin: Buffer.from([i, 9]) })),
      );
    });

    it("the Node node's fetchSockets lists both nodes' sockets with their rooms and data", async () => {
      const [sa, sb] = await Promise.all([connect(A.url), connect(B.url)]);
      const [ra, rb] = [room("fetch-a"), room("fetch-b")];
      await ack(sa, "join", ra);
      await ack(sb, "join", rb);
      await ack(sa, "set-data", { n: 1, s: "é" });
      const remote = await probe.io.in([ra, rb]).fetchSockets();
      const byId = Object.fromEntries(remote.map((s) => [s.id, s]));
      assert.deepEqual(Object.keys(byId).sort(), [sa.id, sb.id].sort());
      assert.deepEqual([...byId[sa.id].rooms].sort(), [sa.id, ra].sort());
      assert.deepEqual([...byId[sb.id].rooms].sort(), [sb.id, rb].sort());
      assert.deepEqual(byId[sa.id].data, { value: { n: 1, s: "é" } });
      assert.deepEqual(byId[sb.id].data, {});
    });
  });

  /**
   * A client on `from` (through a proxy, transport options `mopts`) with a room and data, cut
   * off; meanwhile events to it, to others and volatile ones, from both nodes and the probe;
   * then the proxy points at `to` and the client reconnects there by itself. It must come back
   * recovered, same id, rooms and data, with every missed event once, in order, each with
   * the offset its stream entry has, then get live events again.
   */
  async function recoverVia(from, to, mopts = {}) {
    const p = await proxy(from);
    const mux = room("mux");
    const a = await connect(p.url, { ...mopts, query: { mux } });
    assert.equal(a.recovered, false);
    const r = room("r");
    const elsewhere = room("elsewhere");
    assert.deepEqual(await ack(a, "join", r), [true]);
    assert.deepEqual(await ack(a, "set-data", { n: 1, s: "é", list: [true, null] }), [true]);
    // Witnesses: wt on the node the client goes to (in both rooms), wf on the one it leaves.
    // wt on websocket: the volatile events it witnesses are written at once.
    const [wt, wf] = await Promise.all([connect(to.url, MODES.websocket), connect(from.url)]);
    for (const x of [r, elsewhere]) await ack(wt, "join", x);
    const got = collect(a, "bcast");
    const seen = collect(wt, "bcast");
    wf.emit("to-room", { room: r, k: 0 }); // a live one first: the client has an offset
    await got.until((g) => g.length === 1);
    await seen.until((g) => g.length === 1);
    const id = a.id;
    const pid = a._pid; // what socket.io-client sends back as auth.pid

    const gone = once(a, "disconnect");
    a.io.engine.close();
    await gone;
    await waitFor(async () => (await rc.exists(SESSION_KEY(pid))) === 1, {
      timeout: 5_000,
      what: `the session of ${pid} in Redis`,
    });

    // Each step once the witness has it: the stream holds them in this order. With each, what
    // the client must get of it (none: nothing).
    const bin = Buffer.from([4, 0, 255]);
    const steps = [
      [() => wt.emit("broadcast", 1), 1],
      [() => wt.emit("to-room", { room: r, k: 2 }), { room: r, k: 2 }],
      [() => wt.emit("to-room", { room: elsewhere, k: 3 })],
      [() => wt.emit("emit-volatile", "bcast", "volatile to the witness")],
      [() => wt.emit("broadcast", { k: 4, bin }), { k: 4, bin }],
      [() => probe.io.to(r).volatile.emit("bcast", { room: r, k: "volatile" })], // see below
      [() => wf.emit("to-room", { room: r, k: 5 }), { room: r, k: 5 }], // from the node it left
      [() => wf.emit("broadcast-others", 6), 6],
    ];
    const missed = [];
    const offsets = []; // the offset the witness got with each of `missed`
    for (const [emit, forClient] of steps) {
      emit();
      const n = seen.length + 1;
      await seen.until((g) => g.length === n);
      if (forClient !== undefined) {
        missed.push(forClient);
        offsets.push(seen[n - 1][1]);
      }
    }
    const isVolatile = (v) => v && v.k === "volatile";

    p.to(to.port);
    a.connect();
    await whenConnected(a);
    assert.equal(a.recovered, true, "socket.recovered");
    assert.equal(a.id, id, "same socket id");
    // It is on `to` now (its handshake query names it there).
    assert.deepEqual(await ack(wt, "conn-count", mux), [1], "the client's connection is on the new node");
    if (from !== to) assert.deepEqual(await ack(wf, "conn-count", mux), [0], "and not on the old one");
    // Live events after it, from both nodes to its room: the missed ones came before them.
    wt.emit("to-room", { room: r, k: "live from the new node" });
    await got.until((g) => g.filter((args) => !isVolatile(args[0])).length === 1 + missed.length + 1);
    wf.emit("to-room", { room: r, k: "live from the old node" });
    await got.until((g) => g.filter((args) => !isVolatile(args[0])).length === 1 + missed.length + 2);
    const nonVolatile = got.filter((args) => !isVolatile(args[0]));
    assert.deepEqual(values(nonVolatile), [
      { room: r, k: 0 },
      ...missed,
      { room: r, k: "live from the new node" },
      { room: r, k: "live from the old node" },
    ]);
    // The volatile broadcast: at most once (Node's streams adapter replays it, its in-memory
    // adapter does not; the contract leaves it open).
    assert.ok(got.length - nonVolatile.length <= 1, `the volatile broadcast at most once: ${got.length}`);
    // Each replayed event carries the offset of its stream entry: the one the witness saw.
    const replayed = nonVolatile.slice(1, 1 + missed.length).map((args) => args[1]);
    for (const o of offsets) assert.match(o, OFFSET);
    assert.deepEqual(replayed, offsets, "the offsets of the replayed events");
    const [state] = await ack(a, "state");
    assert.deepEqual(state, { id, recovered: true, rooms: [r], data: { n: 1, s: "é", list: [true, null] } });
    return a;
  }

  describe("connection state recovery", () => {
    for (const [mode, mopts] of Object.entries(MODES)) {
      it(`cut on A, back on B (${mode}): recovered with its id, rooms and data, and what it missed`, async () => {
        await recoverVia(A, B, mopts);
      });
    }

    it("cut on B, back on A", async () => {
      await recoverVia(B, A);
    });

    it("cut on A, back on A", async () => {
      await recoverVia(A, A, MODES.websocket);
    });

    it("cut on B, back on B", async () => {
      await recoverVia(B, B, MODES.polling);
    });

    it("an unknown pid or a bad offset: an ordinary new connection, on either node", async () => {
      const p = await proxy(A);
      const a = await connect(p.url);
      const r = room("r");
      await ack(a, "join", r);
      await ack(a, "set-data", { n: 1 });
      const got = collect(a, "e");
      a.emit("emit-as", "e", 1);
      await got.until((g) => g.length === 1);
      const [pid, offset] = [a._pid, got[0][1]];
      assert.match(offset, OFFSET);
      const gone = once(a, "disconnect");
      a.io.engine.close();
      await gone;
      await waitFor(async () => (await rc.exists(SESSION_KEY(pid))) === 1, { what: "the session in Redis" });
      // What socket.io-client sends on its own ({pid, offset} as the CONNECT's auth), wrong.
      // The bad offsets first: Node's adapter looks the session up only for a well-formed one.
      const attempts = [
        [B, { pid: "AAAAAAAAAAAAAAAAAAAA", offset }],
        [B, { pid, offset: "garbage" }],
        [A, { pid, offset: `${offset}x` }],
        [A, { pid: 5, offset: 5 }],
        [B, { pid, offset: "1-0" }],
      ];
      for (const [node, auth] of attempts) {
        const s = await connect(node.url, { auth });
        const what = JSON.stringify(auth);
        assert.equal(s.recovered, false, what);
        assert.notEqual(s.id, a.id, what);
        const [state] = await ack(s, "state");
        assert.deepEqual(state, { id: s.id, recovered: false, rooms: [], data: null }, what);
        s.disconnect();
      }
    });
  });

  describe("Redis restarted", () => {
    it("stopped and started again on its port: broadcasts between the nodes work again, and recovery", async () => {
      const [a, b] = await Promise.all([connect(A.url), connect(B.url)]);
      redis = await redis.restart();
      for (const [from, to, what] of [
        [a, b, "A → B"],
        [b, a, "B → A"],
      ]) {
        const got = collect(to, "bcast");
        let n = 0;
        await waitFor(
          () => {
            from.emit("broadcast", `after the restart ${n++}`);
            return got.length > 0;
          },
          { timeout: 30_000, interval: 250, what: `broadcasts ${what} after the restart` },
        );
      }
      assert.ok(A.alive() && B.alive(), "both nodes still running");
      await recoverVia(A, B);
    });
  });
});
