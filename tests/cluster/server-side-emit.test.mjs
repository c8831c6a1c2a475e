// `server_side_emit` across a mixed cluster: the Rust features server
// (server/examples/features.rs) and its Node twin
// (reference/features-server.mjs: socket.io 4.8 + @socket.io/redis-adapter 8.3) on a
// redis-server started here. A client of one node asks it (`sse-emit`, `sse-ask`) to send a
// server-side event to the other nodes; their `sse-note` handler emits it to their own
// clients, their `sse-ping` handler answers `{pong, by}`. Plus an in-process Node node (no
// features events) to call `io.serverSideEmit` directly.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect, collect, ack, ackTimeout, waitFor, toBuffers, freeze, thaw } from "../lib/harness.mjs";
import { skipWithoutRedis as skip, startProbe, useFeaturesPair } from "../lib/cluster.mjs";

describe("Redis cluster: server-side events between sio and Node", { skip }, () => {
  let redis, rust, node;
  useFeaturesPair((p) => ({ redis, rust, node } = p));

  /** `sse-ask` through `socket` until it gets `n` answers (the other node may still be subscribing). */
  async function askUntil(socket, msg, n) {
    let last;
    await waitFor(
      async () => {
        [last] = await ackTimeout(10_000, socket, "sse-ask", msg);
        return !last.error && last.answers.length === n;
      },
      { timeout: 15_000, interval: 100, what: `sse-ask answered by ${n} node(s)` },
    );
    return last;
  }

  it("sio → Node: serverSideEmit reaches the Node node's handler, not the sender's", async () => {
    const r = await connect(rust.url);
    const n = await connect(node.url);
    await askUntil(r, "warm-up", 1);
    const atNode = collect(n, "sse-note");
    const atRust = collect(r, "sse-note");
    assert.deepEqual(await ack(r, "sse-emit", { text: "hé", list: [1, null, true] }), [true]);
    await atNode.until((l) => l.length === 1);
    assert.deepEqual(atNode[0], [{ text: "hé", list: [1, null, true] }]);
    // A marker from the Node node proves the sio node did not get its own event.
    assert.deepEqual(await ack(n, "sse-emit", "marker"), [true]);
    await atRust.until((l) => l.length === 1);
    assert.deepEqual(atRust, [["marker"]]);
  });

  it("Node → sio: serverSideEmit reaches the sio node's handler", async () => {
    const r = await connect(rust.url);
    const n = await connect(node.url);
    await askUntil(n, "warm-up", 1);
    const atRust = collect(r, "sse-note");
    assert.deepEqual(await ack(n, "sse-emit", { from: "node", n: 1.5 }), [true]);
    await atRust.until((l) => l.length === 1);
    assert.deepEqual(atRust[0], [{ from: "node", n: 1.5 }]);
  });

  it("sio → Node with acks: one answer per other node", async () => {
    const r = await connect(rust.url);
    await connect(node.url);
    const reply = await askUntil(r, { q: 42 }, 1);
    assert.deepEqual(reply, { answers: [{ pong: { q: 42 }, by: "node" }] });
  });

  it("Node → sio with acks: the sio node's handler answers", async () => {
    const n = await connect(node.url);
    const reply = await askUntil(n, ["x", 7], 1);
    assert.deepEqual(reply, { answers: [{ pong: ["x", 7], by: "sio" }] });
  });

  it("binary: a sio node's server-side event with a Buffer reaches Node as a Buffer", async () => {
    const r = await connect(rust.url);
    const n = await connect(node.url);
    await askUntil(r, "warm-up", 1);
    const atNode = collect(n, "sse-note");
    await ack(r, "sse-emit", { bin: Buffer.from([1, 2, 3]) });
    await atNode.until((l) => l.length === 1);
    assert.deepEqual(toBuffers(atNode[0][0]), { bin: Buffer.from([1, 2, 3]) });
  });

  it("an in-process Node node: serverSideEmitWithAck collects both nodes' answers", async () => {
    const probe = await startProbe(redis.url);
    try {
      const notes = [];
      probe.io.on("sse-note", (x) => notes.push(x));
      let answers;
      await waitFor(
        async () => {
          try {
            answers = await probe.io.serverSideEmitWithAck("sse-ping", "probe");
            return answers.length === 2;
          } catch {
            return false;
          }
        },
        { timeout: 15_000, interval: 100, what: "both nodes answer the probe" },
      );
      assert.deepEqual(
        answers.map((a) => a.by).sort(),
        ["node", "sio"],
      );
      for (const a of answers) assert.equal(a.pong, "probe");
      // And the sio node's fire-and-forget event reaches the probe's handler too.
      const r = await connect(rust.url);
      await ack(r, "sse-emit", "to-probe");
      await waitFor(() => notes.includes("to-probe"), { timeout: 5_000, interval: 20, what: "probe got sse-note" });
    } finally {
      await probe.close();
    }
  });

  it("a node that does not answer: the sio node's request times out naming how many answered", async () => {
    const r = await connect(rust.url);
    await connect(node.url);
    await askUntil(r, "warm-up", 1);
    await freeze(node.pid);
    try {
      const [reply] = await ackTimeout(10_000, r, "sse-ask", "anyone?");
      assert.deepEqual(reply, { error: "timeout reached: only 0 responses received out of 1", answers: [] });
    } finally {
      thaw(node.pid);
    }
  });

  it("a sio node that does not answer: Node's request times out the same way", async () => {
    const n = await connect(node.url);
    await askUntil(n, "warm-up", 1);
    await freeze(rust.pid);
    try {
      const [reply] = await ackTimeout(10_000, n, "sse-ask", "anyone?");
      assert.deepEqual(reply, { error: "timeout reached: only 0 responses received out of 1", answers: [] });
    } finally {
      thaw(rust.pid);
    }
  });
});
