// The Redis adapter's server-side operations initiated by a sio node: the Rust features
// server (server/examples/features.rs) and its Node twin
// (reference/features-server.mjs, @socket.io/redis-adapter 8.3) in one cluster on a
// redis-server started here. `fetch`, `sockets-join`, `send` and `disconnect-all` act on
// every node's sockets.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect, collect, ack, ackTimeout, waitFor, once, freeze, thaw } from "../lib/harness.mjs";
import { skipWithoutRedis as skip, useFeaturesPair } from "../lib/cluster.mjs";

describe("Redis cluster: sio features server and its Node twin", { skip }, () => {
  let redis, rust, node;
  useFeaturesPair((p) => ({ redis, rust, node } = p));

  const ids = (list) => list.map((s) => s.id).sort();

  /** `fetch` until it lists `want` (the other node may still be subscribing). */
  async function fetchUntil(socket, sel, want) {
    let last;
    await waitFor(
      async () => {
        [last] = await ack(socket, "fetch", sel);
        return JSON.stringify(ids(last)) === JSON.stringify([...want].sort());
      },
      { timeout: 10_000, interval: 100, what: `fetch ${JSON.stringify(sel)} → ${want}` },
    );
    return last;
  }

  it("fetch lists both nodes' sockets with their rooms, from either node", async () => {
    const r = await connect(rust.url, { query: { room: "alpha" } });
    const n = await connect(node.url, { query: { room: "beta" } });
    for (const asker of [r, n]) {
      const found = await fetchUntil(asker, {}, [r.id, n.id]);
      const rooms = Object.fromEntries(found.map((s) => [s.id, s.rooms]));
      assert.deepEqual(rooms, { [r.id]: ["alpha"], [n.id]: ["beta"] });
    }
    assert.deepEqual(ids(await fetchUntil(r, { room: "beta" }, [n.id])), [n.id]);
  });

  it("sockets-join from the sio node makes Node's sockets join", async () => {
    const r = await connect(rust.url, { query: { room: "alpha" } });
    const n = await connect(node.url, { query: { room: "beta" } });
    await fetchUntil(r, {}, [r.id, n.id]);
    assert.deepEqual(await ack(r, "sockets-join", { room: "beta", join: "gamma" }), [true]);
    await waitFor(async () => (await ack(n, "join", []))[0].includes("gamma"), {
      timeout: 5_000,
      interval: 50,
      what: "Node socket in gamma",
    });
    assert.deepEqual(await ack(r, "sockets-leave", { room: "gamma", leave: "gamma" }), [true]);
    await waitFor(async () => !(await ack(n, "join", []))[0].includes("gamma"), {
      timeout: 5_000,
      interval: 50,
      what: "Node socket left gamma",
    });
  });

  it("send to several rooms, except one socket, across nodes", async () => {
    const x1 = await connect(rust.url, { query: { room: "alpha" } });
    const y1 = await connect(node.url, { query: { room: "alpha" } });
    const y2 = await connect(node.url, { query: { room: "beta" } });
    const y3 = await connect(node.url, { query: { room: "delta" } });
    await fetchUntil(x1, {}, [x1.id, y1.id, y2.id, y3.id]);
    const got = [x1, y1, y2, y3].map((s) => collect(s, "msg"));
    await ack(x1, "send", { to: ["alpha", "beta"], except: [y1.id], msg: "m" });
    await ack(x1, "send", { msg: "marker" });
    for (const g of got) await g.until((l) => l.some(([m]) => m === "marker"));
    assert.deepEqual(got.map((g) => g.map(([m]) => m)), [["m", "marker"], ["marker"], ["m", "marker"], ["marker"]]);
  });

  it("disconnect-all from the sio node disconnects Node's sockets", async () => {
    const r = await connect(rust.url, { query: { room: "alpha" } });
    const n = await connect(node.url, { query: { room: "beta" } });
    await fetchUntil(r, {}, [r.id, n.id]);
    const gone = once(n, "disconnect");
    r.emit("disconnect-all", { room: "beta", close: false });
    assert.equal((await gone)[0], "io server disconnect");
    assert.ok(r.connected);
  });

  it("a node that does not answer: fetch times out naming how many answered", async () => {
    const r = await connect(rust.url);
    const n = await connect(node.url);
    await fetchUntil(r, {}, [r.id, n.id]);
    await freeze(node.pid);
    try {
      const [found] = await ackTimeout(10_000, r, "fetch", {});
      assert.deepEqual(ids(found), [r.id], "local sockets only");
      assert.match(rust.logs(), /timeout reached: only 0 responses received out of 1/);
    } finally {
      thaw(node.pid);
    }
  });
});
