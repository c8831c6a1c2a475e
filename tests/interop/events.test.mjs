// Events and acks with the official socket.io-client, once per transport mode:
// echo (JSON values of every kind, binary), emit-as, server-ack, ack-on-retry,
// ack timeouts, flood ordering and large payloads.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  MODES,
  useServer,
  connect,
  once,
  collect,
  ack,
  barrier,
  toBuffers,
} from "../lib/harness.mjs";

const srv = useServer();

const MAX_SAFE = Number.MAX_SAFE_INTEGER; // 2^53 - 1

const JSON_VALUES = {
  "zero": 0,
  "positive integer": 42,
  "negative integer": -17,
  "2^53-1": MAX_SAFE,
  "-(2^53-1)": -MAX_SAFE,
  "2^31 and 2^32": [2 ** 31, 2 ** 32, -(2 ** 31) - 1],
  "floats": [0.1, -2.5, 3.141592653589793, 1.5e-10, 6.02214076e23, 1e21, 1.7976931348623157e308, 5e-324, 123456.789],
  "null": null,
  "true": true,
  "false": false,
  "empty string": "",
  "ascii string": "hello world",
  "quotes and backslashes": 'say "hi" \\ o/ \'single\' \\"',
  "newlines and tabs": "line1\nline2\r\nline3\ttab",
  "control characters": "\u0000\u0001\u0008\u000b\u000c\u001b\u001f\u007f",
  "u2028 / u2029": "a\u2028b\u2029c",
  "unicode": "héllo wörld — 日本語 — Ελληνικά — עברית — العربية",
  "emoji (astral plane)": "😀👍🏽👨‍👩‍👧‍👦🇫🇷",
  "looks like a packet": '42["echo",1]\x1e451-[{"_placeholder":true,"num":0}]',
  "placeholder-looking object": { _placeholder: true, num: 0 },
  "empty object": {},
  "empty array": [],
  "nested": { a: [1, { b: [true, null, { c: "d" }] }], e: { f: { g: { h: [[[]]] } } } },
  "unicode keys": { "ключ": 1, "鍵": 2, "": 3, "with space": 4, "quote\"key": 5 },
  "array of mixed": [1, "two", null, false, { three: 3 }, [4], 5.5, ""],
  "deeply nested (64)": (() => {
    let v = { leaf: "x" };
    for (let k = 0; k < 64; k++) v = { k, v: [v] };
    return v;
  })(),
  "many keys": Object.fromEntries(Array.from({ length: 200 }, (_, k) => [`k${k}`, k])),
};

function bytes(n, seed = 1) {
  const b = Buffer.alloc(n);
  for (let k = 0; k < n; k++) b[k] = (k * 31 + seed) & 0xff;
  return b;
}

const BINARY_CASES = {
  "a Buffer as the only argument": [bytes(16)],
  "a Uint8Array": [new Uint8Array([0, 1, 2, 253, 254, 255])],
  "an ArrayBuffer": [new Uint8Array([9, 8, 7, 6]).buffer],
  "a Uint8Array view at an offset": [new Uint8Array(bytes(32)).subarray(5, 20)],
  "an empty buffer": [Buffer.alloc(0)],
  "binary mixed with JSON args": ["before", bytes(8, 3), 42, { k: "v" }, bytes(3, 9), null],
  "binary nested deep in objects and arrays": [
    { a: { b: [1, { c: bytes(10, 5), d: [bytes(1, 6), "s"] }] }, e: bytes(2, 7) },
  ],
  "several buffers in one event (10)": Array.from({ length: 10 }, (_, k) => bytes(k * 7, k)),
  "binary and empty buffers together": [Buffer.alloc(0), bytes(5), Buffer.alloc(0), { x: Buffer.alloc(0) }],
  "the same buffer twice": (() => {
    const b = bytes(4, 11);
    return [b, { again: b }];
  })(),
  "a 64 KiB buffer": [bytes(65536, 13)],
  "all 256 byte values": [Buffer.from(Array.from({ length: 256 }, (_, k) => k))],
};

for (const [mode, mopts] of Object.entries(MODES)) {
  describe(`events [${mode}]`, () => {
    test("echo with no argument acks with no argument", async () => {
      const s = await connect(srv.url, mopts);
      const res = await ack(s, "echo");
      assert.deepEqual(res, []);
    });

    test("echo: every JSON value kind, one per event, comes back equal", async () => {
      const s = await connect(srv.url, mopts);
      for (const [name, value] of Object.entries(JSON_VALUES)) {
        const res = await ack(s, "echo", value);
        assert.deepStrictEqual(res, [value], `echo of ${name}`);
      }
    });

    test("echo: all JSON values at once as separate arguments", async () => {
      const s = await connect(srv.url, mopts);
      const values = Object.values(JSON_VALUES);
      const res = await ack(s, "echo", ...values);
      assert.deepStrictEqual(res, values);
    });

    test("echo: emitWithAck resolves with the first argument", async () => {
      const s = await connect(srv.url, mopts);
      assert.deepEqual(await s.emitWithAck("echo", { a: 1 }, 2, 3), { a: 1 });
    });

    test("echo: integers up to 2^53-1 keep their exact value", async () => {
      const s = await connect(srv.url, mopts);
      const ints = [MAX_SAFE, MAX_SAFE - 1, -MAX_SAFE, 2 ** 53 - 2, 9007199254740000, 1e15 + 1, 4294967297];
      const res = await ack(s, "echo", { ints }, ...ints);
      assert.deepStrictEqual(res, [{ ints }, ...ints]);
    });

    test("echo: lone UTF-16 surrogates in strings survive", async () => {
      const s = await connect(srv.url, mopts);
      const v = ["\ud800", "a\udfffb", { "\ud83d": "\ude00" }];
      const res = await ack(s, "echo", ...v);
      assert.deepStrictEqual(res, v);
    });

    for (const [name, args] of Object.entries(BINARY_CASES)) {
      test(`echo binary: ${name}`, async () => {
        const s = await connect(srv.url, mopts);
        const res = await ack(s, "echo", ...args);
        assert.deepStrictEqual(res, toBuffers(args));
      });
    }

    test("echo binary: many binary events back to back keep their order and bytes", async () => {
      const s = await connect(srv.url, mopts);
      const n = 50;
      const results = await Promise.all(
        Array.from({ length: n }, (_, k) => ack(s, "echo", k, bytes(k, k), { b: [bytes(3, k)] })),
      );
      results.forEach((res, k) => assert.deepStrictEqual(res, [k, bytes(k, k), { b: [bytes(3, k)] }]));
    });

    test("acks are matched to their emits when many are in flight", async () => {
      const s = await connect(srv.url, mopts);
      const res = await Promise.all(Array.from({ length: 200 }, (_, k) => ack(s, "echo", `m${k}`, k)));
      res.forEach((r, k) => assert.deepEqual(r, [`m${k}`, k]));
    });

    test("emit-as: the server emits the given event with the given args (binary included)", async () => {
      const s = await connect(srv.url, mopts);
      const p = once(s, "hi");
      s.emit("emit-as", "hi", 1, "two", { three: [3] }, bytes(5, 4), null);
      const args = await p;
      assert.deepStrictEqual(args, [1, "two", { three: [3] }, bytes(5, 4), null]);
      const p2 = once(s, "no-args");
      s.emit("emit-as", "no-args");
      assert.deepEqual(await p2, []);
      const p3 = once(s, "ünï €vent with spaces");
      s.emit("emit-as", "ünï €vent with spaces", "x");
      assert.deepEqual(await p3, ["x"]);
    });

    test("events sent to one socket keep their order (emit-as x 500)", async () => {
      const s = await connect(srv.url, mopts);
      const got = collect(s, "seq");
      for (let k = 0; k < 500; k++) s.emit("emit-as", "seq", k);
      await got.until((g) => g.length >= 500, { timeout: 10_000 });
      assert.deepEqual(got.map((a) => a[0]), Array.from({ length: 500 }, (_, k) => k));
    });

    test("server-ack: ping-client with D, client acks with several args (binary), client-acked with them", async () => {
      const s = await connect(srv.url, mopts);
      const D = { q: "question", n: 1, bin: bytes(6, 1) };
      const reply = ["answer", 2, { nested: bytes(4, 2) }, bytes(0), null, [true, bytes(3, 3)]];
      let got;
      s.on("ping-client", (d, cb) => {
        got = d;
        assert.equal(typeof cb, "function", "ping-client must request an ack");
        cb(...reply);
      });
      const acked = once(s, "client-acked");
      s.emit("server-ack", D);
      const args = await acked;
      assert.deepStrictEqual(got, D);
      assert.deepStrictEqual(args, reply);
    });

    test("server-ack: client acks with no argument -> client-acked with no argument", async () => {
      const s = await connect(srv.url, mopts);
      s.on("ping-client", (_d, cb) => cb());
      const acked = once(s, "client-acked");
      s.emit("server-ack", "x");
      assert.deepEqual(await acked, []);
    });

    test("server-ack: several in flight are matched to the right acks", async () => {
      const s = await connect(srv.url, mopts);
      s.on("ping-client", (d, cb) => cb(d * 10));
      const got = collect(s, "client-acked");
      for (let k = 0; k < 20; k++) s.emit("server-ack", k);
      await got.until((g) => g.length === 20);
      assert.deepEqual(got.map((a) => a[0]).sort((a, b) => a - b), Array.from({ length: 20 }, (_, k) => k * 10));
    });

    test("ack-on-retry: with retries the 2nd attempt is acked (true, KEY, 2)", async () => {
      const s = await connect(srv.url, { ...mopts, retries: 3, ackTimeout: 300 });
      const key = `key-${mode}`;
      const res = await new Promise((resolve, reject) => {
        s.emit("ack-on-retry", key, (err, ...args) => (err ? reject(err) : resolve(args)));
      });
      assert.deepEqual(res, [true, key, 2]);
      // a different key starts again at 1 (not acked), then 2
      assert.equal(await s.emitWithAck("ack-on-retry", `${key}-b`), true);
      // the same key again: 3rd count, acked at once
      const res3 = await new Promise((resolve, reject) => {
        s.emit("ack-on-retry", key, (err, ...args) => (err ? reject(err) : resolve(args)));
      });
      assert.deepEqual(res3, [true, key, 3]);
    });

    test("ack-on-retry: counts are per socket", async () => {
      const a = await connect(srv.url, { ...mopts, retries: 2, ackTimeout: 300 });
      const b = await connect(srv.url, { ...mopts, retries: 2, ackTimeout: 300 });
      const key = "shared-key";
      const r1 = await new Promise((res, rej) => a.emit("ack-on-retry", key, (e, ...x) => (e ? rej(e) : res(x))));
      const r2 = await new Promise((res, rej) => b.emit("ack-on-retry", key, (e, ...x) => (e ? rej(e) : res(x))));
      assert.deepEqual(r1, [true, key, 2]);
      assert.deepEqual(r2, [true, key, 2]);
    });

    test("an unknown event gets no ack: timeout(...).emitWithAck rejects", async () => {
      const s = await connect(srv.url, mopts);
      await assert.rejects(s.timeout(300).emitWithAck("nothing-here", 1), (err) => {
        assert.equal(err.message, "operation has timed out");
        return true;
      });
      // the socket still works afterwards
      const [v] = await ack(s, "echo", "ok");
      assert.equal(v, "ok");
    });

    test("emit-as never acks, even when the client asks for one", async () => {
      const s = await connect(srv.url, mopts);
      await assert.rejects(s.timeout(200).emitWithAck("emit-as", "zzz"), /timed out/);
      await barrier(s);
    });

    test("flood 2000: every tp event arrives in order, then flood-done 2000", async () => {
      const s = await connect(srv.url, mopts);
      const tp = collect(s, "tp");
      const done = once(s, "flood-done", { timeout: 20_000 });
      s.emit("flood", 2000);
      const [n] = await done;
      assert.equal(n, 2000);
      assert.equal(tp.length, 2000);
      tp.forEach(([d], k) => {
        if (d.i !== k || d.p !== "xxxxxxxx") assert.fail(`tp #${k} is ${JSON.stringify(d)}`);
      });
    });

    test("flood 0: only flood-done 0", async () => {
      const s = await connect(srv.url, mopts);
      const tp = collect(s, "tp");
      const done = once(s, "flood-done");
      s.emit("flood", 0);
      assert.deepEqual(await done, [0]);
      assert.equal(tp.length, 0);
    });

    test("a large string payload just under maxPayload (1e6) round-trips", async () => {
      const s = await connect(srv.url, mopts);
      const str = "x".repeat(999_000) + "é";
      const res = await ack(s, "echo", str);
      assert.equal(res[0].length, str.length);
      assert.equal(res[0], str);
    });

    test("a large binary payload (600 KiB) round-trips with the same bytes", async () => {
      // polling base64-encodes it (~800 KB), still under 1e6
      const s = await connect(srv.url, mopts);
      const b = bytes(600 * 1024, 77);
      const res = await ack(s, "echo", { b });
      assert.ok(Buffer.isBuffer(res[0].b));
      assert.ok(res[0].b.equals(b));
    });

    test("unicode-heavy payload (multi-byte chars) round-trips", async () => {
      const s = await connect(srv.url, mopts);
      const str = "日本語😀".repeat(20_000); // ~280 KB of UTF-8
      const [v] = await ack(s, "echo", str);
      assert.equal(v, str);
    });
  });
}

test("server process is still alive", () => {
  assert.equal(srv.alive(), true);
});
