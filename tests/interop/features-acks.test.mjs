// The features server with the official socket.io-client, once per transport mode: acks the
// server asks for (`ask`: one socket, `ask-all`: a selection, partial answers on timeout) and
// typed arguments with binary (`typed`).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MODES, useServer, connect, collect, ack, ackTimeout } from "../lib/harness.mjs";
import { uniq, dynNs, sync } from "../lib/features.mjs";

const srv = useServer({}, { kind: "features" });

const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Answer every `question` with `answer(q)` (an array of ack arguments); records the questions. */
function answering(socket, answer) {
  const asked = [];
  socket.on("question", (...args) => {
    const cb = args.pop();
    asked.push(args);
    cb(...answer(...args));
  });
  return asked;
}

for (const [mode, mopts] of Object.entries(MODES)) {
  const conn = (nsp = "", opts = {}) => connect(`${srv.url}${nsp}`, { ...mopts, ...opts });
  const connN = (n, nsp = "", opts = {}) => Promise.all(Array.from({ length: n }, () => conn(nsp, opts)));

  describe(`features: ask [${mode}]`, () => {
    test("ask: the client's callback answers; every ack argument comes back", async () => {
      const s = await conn();
      const asked = answering(s, (q) => [q.n + 1, "two", null, { deep: [true, 1.5] }]);
      const [reply] = await ack(s, "ask", { timeout: 5000, q: { n: 41 } });
      assert.deepStrictEqual(reply, { answer: [42, "two", null, { deep: [true, 1.5] }] });
      assert.deepStrictEqual(asked, [[{ n: 41 }]]);
    });

    test("ask: an answer with binary (top level and nested) comes back as binary", async () => {
      const s = await conn();
      const bin = Buffer.from([0, 1, 2, 254, 255]);
      answering(s, () => [bin, { nested: [Buffer.from("hé")] }, "after"]);
      const [reply] = await ack(s, "ask", { timeout: 5000, q: "bin?" });
      assert.deepStrictEqual(reply, { answer: [bin, { nested: [Buffer.from("hé")] }, "after"] });
    });

    test("ask: an answer with no argument is an empty list", async () => {
      const s = await conn();
      answering(s, () => []);
      const [reply] = await ack(s, "ask", { q: 1 });
      assert.deepStrictEqual(reply, { answer: [] });
    });

    test("ask: without q the question carries null; the default timeout is long enough", async () => {
      const s = await conn();
      const asked = answering(s, (q) => [q]);
      const [reply] = await ack(s, "ask", {});
      assert.deepStrictEqual(reply, { answer: [null] });
      assert.deepStrictEqual(asked, [[null]]);
    });

    test("ask: a client that does not answer gives {error: timeout}", async () => {
      const s = await conn();
      const got = collect(s, "question"); // received, but the callback is never called
      const t0 = Date.now();
      const [reply] = await ack(s, "ask", { timeout: 200, q: "silent" });
      const elapsed = Date.now() - t0;
      assert.deepStrictEqual(reply, { error: "timeout" });
      assert.ok(elapsed >= 150, `timed out after ${elapsed} ms, asked for 200`);
      assert.equal(got.length, 1);
      assert.equal(got[0][0], "silent");
      assert.equal(typeof got[0][1], "function", "the question asks for an ack");
    });

    test("ask: an answer after the timeout is dropped, the socket stays usable", async () => {
      const s = await conn();
      let late;
      s.on("question", (q, cb) => {
        late = cb;
      });
      const [reply] = await ack(s, "ask", { timeout: 100, q: "late" });
      assert.deepStrictEqual(reply, { error: "timeout" });
      late("too late");
      await sync(s);
      s.off("question");
      answering(s, () => ["on time"]);
      assert.deepStrictEqual((await ack(s, "ask", { timeout: 5000 }))[0], { answer: ["on time"] });
    });

    test("several asks in flight on one socket are answered independently", async () => {
      const s = await conn();
      const pending = [];
      s.on("question", (q, cb) => pending.push([q, cb]));
      const replies = [1, 2, 3].map((n) => ack(s, "ask", { timeout: 5000, q: n }));
      // wait until all three questions are in, then answer them in reverse order
      const questions = collect(s, "question");
      await questions.until(() => pending.length === 3);
      for (const [q, cb] of [...pending].reverse()) cb(q * 10);
      const got = await Promise.all(replies);
      assert.deepStrictEqual(got, [[{ answer: [10] }], [{ answer: [20] }], [{ answer: [30] }]]);
    });
  });

  describe(`features: ask-all [${mode}]`, () => {
    test("ask-all: every socket of a room answers; sorted by id", async () => {
      const [a, b, c, outsider] = await connN(4);
      const r = uniq("ask");
      await Promise.all([a, b, c].map((s) => ack(s, "join", r)));
      for (const [s, k] of [[a, 1], [b, 2], [c, 3]]) answering(s, (q) => [q + k, `s${k}`]);
      const askedOut = collect(outsider, "question");
      const [reply] = await ackTimeout(10_000, outsider, "ask-all", { room: r, timeout: 5000, q: 100 });
      const want = [
        { id: a.id, answer: [101, "s1"] },
        { id: b.id, answer: [102, "s2"] },
        { id: c.id, answer: [103, "s3"] },
      ].sort(byId);
      assert.deepStrictEqual(reply, want);
      await sync(outsider);
      assert.deepEqual(askedOut, []);
    });

    test("ask-all: one socket does not answer: answers plus {id, error: timeout}", async () => {
      const nsp = dynNs("askall");
      const [a, b, c] = await connN(3, nsp);
      answering(a, (q) => [`a:${q}`]);
      answering(b, (q) => [`b:${q}`, Buffer.from([7])]);
      const silent = collect(c, "question");
      const t0 = Date.now();
      const [reply] = await ackTimeout(10_000, a, "ask-all", { timeout: 300, q: "hi" });
      const elapsed = Date.now() - t0;
      const want = [
        { id: a.id, answer: ["a:hi"] },
        { id: b.id, answer: ["b:hi", Buffer.from([7])] },
        { id: c.id, error: "timeout" },
      ].sort(byId);
      assert.deepStrictEqual(reply, want);
      assert.ok(elapsed >= 250, `answered after ${elapsed} ms, the timeout is 300`);
      assert.equal(silent.length, 1);
    });

    test("ask-all without binary answers: answers plus timeout (JSON only)", async () => {
      const nsp = dynNs("askjson");
      const [a, b, c] = await connN(3, nsp);
      answering(a, (q) => [`a:${q}`, 1]);
      answering(b, () => [{ b: true }]);
      collect(c, "question");
      const [reply] = await ackTimeout(10_000, a, "ask-all", { timeout: 300, q: "hi" });
      const want = [
        { id: a.id, answer: ["a:hi", 1] },
        { id: b.id, answer: [{ b: true }] },
        { id: c.id, error: "timeout" },
      ].sort(byId);
      assert.deepStrictEqual(reply, want);
    });

    test("ask-all with others: the asking socket is not asked", async () => {
      const nsp = dynNs("askoth");
      const [a, b, c] = await connN(3, nsp);
      const askedA = collect(a, "question");
      answering(b, () => ["b"]);
      answering(c, () => ["c"]);
      const [reply] = await ackTimeout(10_000, a, "ask-all", { others: true, timeout: 5000, q: 0 });
      assert.deepStrictEqual(reply, [{ id: b.id, answer: ["b"] }, { id: c.id, answer: ["c"] }].sort(byId));
      await sync(a);
      assert.deepEqual(askedA, []);
    });

    test("ask-all on nobody acks [] at once", async () => {
      const s = await conn();
      const t0 = Date.now();
      const [reply] = await ack(s, "ask-all", { room: uniq("nobody"), timeout: 3000, q: 1 });
      assert.deepStrictEqual(reply, []);
      assert.ok(Date.now() - t0 < 2000, "must not wait for the timeout");
    });

    test("ask-all where nobody answers: every socket times out", async () => {
      const nsp = dynNs("asknone");
      const [a, b] = await connN(2, nsp);
      collect(a, "question");
      collect(b, "question");
      const [reply] = await ackTimeout(10_000, a, "ask-all", { timeout: 150, q: 1 });
      assert.deepStrictEqual(reply, [{ id: a.id, error: "timeout" }, { id: b.id, error: "timeout" }].sort(byId));
    });
  });

  describe(`features: typed [${mode}]`, () => {
    test("typed: typed decode on the server, binary ack back", async () => {
      const s = await conn();
      const bin = Buffer.from([1, 2, 3, 250]);
      const reply = await ack(s, "typed", "héllo", 21, bin, { list: [1, 2, 255], extra: "ignored" });
      assert.deepStrictEqual(reply, [6, 42, Buffer.from([250, 3, 2, 1]), { list: [255, 2, 1], bin }]);
    });

    test("typed: empty name, negative n, empty binary, empty list", async () => {
      const s = await conn();
      const reply = await ack(s, "typed", "", -7, Buffer.alloc(0), { list: [] });
      assert.deepStrictEqual(reply, [0, -14, Buffer.alloc(0), { list: [], bin: Buffer.alloc(0) }]);
    });

    test("typed: a larger binary (64 KiB)", async () => {
      const s = await conn();
      const bin = Buffer.alloc(64 * 1024, 0);
      for (let i = 0; i < bin.length; i++) bin[i] = i % 251;
      const reply = await ack(s, "typed", "big", 1, bin, { list: [9] });
      assert.deepStrictEqual(reply, [3, 2, Buffer.from(bin).reverse(), { list: [9], bin }]);
    });

    test("typed: arguments of the wrong type ack 'bad arguments'", async () => {
      const s = await conn();
      const bin = Buffer.from([1]);
      for (const args of [
        [42, 1, bin, { list: [] }], // name not a string
        ["n", "1", bin, { list: [] }], // n not a number
        ["n", 1.5, bin, { list: [] }], // n not an integer
        ["n", 1, "bin", { list: [] }], // not binary
        ["n", 1, bin, { list: [256] }], // not a u8
        ["n", 1, bin, { list: [-1] }],
        ["n", 1, bin, {}], // no list
        ["n", 1, bin], // missing argument
        [],
      ]) {
        assert.deepStrictEqual(await ack(s, "typed", ...args), ["bad arguments"], JSON.stringify(args));
      }
    });
  });
}

test("server process is still alive", () => {
  assert.equal(srv.alive(), true);
});
