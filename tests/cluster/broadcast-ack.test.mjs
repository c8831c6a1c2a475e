// Broadcasts with acks and `allRooms` started by any node of a mixed cluster: two Rust
// features servers (server/examples/features.rs) and the Node twin
// (reference/features-server.mjs, @socket.io/redis-adapter 8.3) on a redis-server started
// here. `ask-cluster` emits `question` with acks to a selection on every node; `all-rooms`
// lists every node's rooms.
import assert from "node:assert/strict";
import { describe, it, before, after } from "node:test";
import { connect, ackTimeout, waitFor, toBuffers, startServer, freeze, thaw } from "../lib/harness.mjs";
import { skipWithoutRedis as skip, useFeaturesPair, classicOnly, SHARDED } from "../lib/cluster.mjs";

describe("Redis cluster: broadcasts with acks and allRooms across sio and Node", { skip }, () => {
  let redis, rust, node, rust2;
  useFeaturesPair((p) => ({ redis, rust, node } = p));
  before(async () => {
    rust2 = await startServer({ env: { REDIS_URL: redis.url }, kind: "features", impl: "rust" });
  });
  after(async () => {
    await rust2?.stop();
  });

  /** `ask-cluster` through `socket` until `done(reply)` (nodes may still be subscribing). */
  async function askUntil(socket, sel, done, what) {
    let last;
    await waitFor(
      async () => {
        [last] = await ackTimeout(15_000, socket, "ask-cluster", sel);
        return done(last);
      },
      { timeout: 20_000, interval: 100, what },
    );
    return last;
  }

  /** Clients of room `room` on the first sio node, the second one and the Node node. */
  async function roomOnEveryNode(room) {
    const query = { room };
    return Promise.all([connect(rust.url, { query }), connect(rust2.url, { query }), connect(node.url, { query })]);
  }

  it("sio → every node: the acks of its own, another sio node's and a Node node's clients", async () => {
    const asker = await connect(rust.url);
    const [a, b, n] = await roomOnEveryNode("quiz");
    a.on("question", (q, cb) => cb("a", q));
    b.on("question", (q, cb) => cb("b", q, Buffer.from([1, 2])));
    n.on("question", (q, cb) => cb({ from: "n", q }, "not forwarded"));
    const reply = await askUntil(
      asker,
      { room: "quiz", timeout: 3_000, q: 7 },
      (r) => !r.error && r.answers.length === 3,
      "three answers",
    );
    // Sorted by socket id; Node's answers name no socket (first) and carry one argument.
    const bySio = [
      { id: a.id, answer: ["a", 7] },
      { id: b.id, answer: ["b", 7, Buffer.from([1, 2])] },
    ].sort((x, y) => (x.id < y.id ? -1 : 1));
    assert.deepEqual(toBuffers(reply), { answers: [{ answer: [{ from: "n", q: 7 }] }, ...bySio] });
  });

  it("clients that never ack: one timeout each, on every node", async () => {
    const asker = await connect(rust.url);
    const [a] = await roomOnEveryNode("silent");
    const reply = await askUntil(
      asker,
      { room: "silent", timeout: 1_000, q: 1 },
      (r) => r.answers.length === 3,
      "three entries",
    );
    // This node's socket is named; the other nodes' counted sockets are not.
    assert.deepEqual(reply, {
      answers: [{ error: "timeout" }, { error: "timeout" }, { id: a.id, error: "timeout" }],
    });
  });

  it("a stopped node: the answers that came, and an error naming how many nodes answered", async () => {
    const asker = await connect(rust.url);
    const [a, b] = await roomOnEveryNode("half");
    a.on("question", (q, cb) => cb("a"));
    b.on("question", (q, cb) => cb("b"));
    const answered = (r) => r.answers.filter((x) => x.answer).length;
    await askUntil(asker, { room: "half", timeout: 1_000 }, (r) => !r.error && answered(r) === 2, "warm-up");
    await freeze(node.pid);
    try {
      const [reply] = await ackTimeout(10_000, asker, "ask-cluster", { room: "half", timeout: 1_000 });
      assert.equal(reply.error, "timeout reached: only 1 responses received out of 2");
      assert.deepEqual(
        reply.answers,
        [
          { id: a.id, answer: ["a"] },
          { id: b.id, answer: ["b"] },
        ].sort((x, y) => (x.id < y.id ? -1 : 1)),
      );
    } finally {
      thaw(node.pid);
    }
  });

  it("Node → every node: Node's broadcast with acks gets the sio nodes' clients' acks", async () => {
    const asker = await connect(node.url);
    const [a, b, n] = await roomOnEveryNode("node-quiz");
    for (const [s, name] of [[a, "a"], [b, "b"], [n, "n"]]) s.on("question", (q, cb) => cb(`${name}:${q}`, "extra"));
    const reply = await askUntil(
      asker,
      { room: "node-quiz", timeout: 3_000, q: "x" },
      (r) => !r.error && r.answers.length === 3,
      "three answers at Node",
    );
    const answers = reply.answers.map((r) => r.answer[0]).sort();
    assert.deepEqual(answers, ["a:x", "b:x", "n:x"]);
  });

  it("allRooms from a sio node and from Node lists every node's rooms", { skip: classicOnly }, async () => {
    const [a, b, n] = await Promise.all([
      connect(rust.url, { query: { room: "room-a" } }),
      connect(rust2.url, { query: { room: "room-b" } }),
      connect(node.url, { query: { room: "room-n" } }),
    ]);
    const want = ["room-a", "room-b", "room-n", a.id, b.id, n.id];
    for (const asker of [a, n]) {
      let last;
      await waitFor(
        async () => {
          [last] = await ackTimeout(10_000, asker, "all-rooms");
          return Array.isArray(last.rooms) && want.every((r) => last.rooms.includes(r));
        },
        { timeout: 15_000, interval: 100, what: `all rooms seen from ${asker === a ? "sio" : "Node"}` },
      );
      assert.deepEqual(last.rooms, [...new Set(last.rooms)].sort(), "sorted, each once");
    }
  });

  it("allRooms with a stopped node fails naming how many nodes answered", { skip: classicOnly }, async () => {
    const a = await connect(rust.url);
    await waitFor(async () => !(await ackTimeout(10_000, a, "all-rooms"))[0].error, {
      timeout: 15_000,
      interval: 100,
      what: "allRooms answered",
    });
    await freeze(node.pid);
    try {
      const [reply] = await ackTimeout(10_000, a, "all-rooms");
      assert.deepEqual(reply, { error: "timeout reached: only 1 responses received out of 2" });
    } finally {
      thaw(node.pid);
    }
  });

  it("sharded: allRooms is refused, as the sharded protocol has no such request", { skip: !SHARDED && "sharded mode only" }, async () => {
    const a = await connect(rust.url);
    const [reply] = await ackTimeout(10_000, a, "all-rooms");
    assert.deepEqual(reply, { error: "not supported: allRooms is not part of the sharded protocol" });
  });
});
