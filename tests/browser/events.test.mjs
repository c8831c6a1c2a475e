// Events both ways with the wasm client in Chromium: emit-as (server → client) with every
// JSON kind, broadcast between two clients, once/off, listener order, onAny / prependAny /
// offAny, onAnyOutgoing, send() → "message", reserved names, ordering of a flood.
// Against the Rust and the Node contract servers, once per transport mode; send() on the wire
// against an in-process official socket.io server.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { describe, it, before, after } from "node:test";
import { Server } from "socket.io";
import { MODES } from "../lib/harness.mjs";
import { IMPLS, useBrowser, useServerFor, assertClean } from "../lib/browser.mjs";

const b = useBrowser();

const VALUES = [0, -1.5, 2 ** 53 - 1, "", "text é ✓ 😀", true, false, null, [], {}, [1, [2, [3]]], { a: { b: { c: "d" } }, e: [null] }];

for (const impl of IMPLS) {
  describe(`events (${impl} server)`, () => {
    const srv = useServerFor(impl);

    for (const [mode, mopts] of Object.entries(MODES)) {
      describe(`[${mode}]`, () => {
        it("server → client: emit-as delivers every JSON kind, several arguments, in order", async () => {
          const page = await b.page();
          const got = await page.evaluate(
            async ({ url, mopts, values }) => {
              const s = await t.connect(url, mopts);
              const seen = t.collect(s, "ev");
              for (const v of values) s.emit("emit-as", "ev", v);
              s.emit("emit-as", "ev", 1, "two", { three: 3 }, [4]);
              s.emit("emit-as", "ev"); // no argument
              await t.barrier(s);
              s.disconnect();
              return seen;
            },
            { url: srv.url, mopts, values: VALUES },
          );
          assert.deepEqual(got, [...VALUES.map((v) => [v]), [1, "two", { three: 3 }, [4]], []]);
          assertClean(page);
        });

        it("echo keeps large and unicode payloads intact", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const big = "é😀x".repeat(50_000); // 200 k UTF-16 units, 350 kB of UTF-8
              const obj = { list: Array.from({ length: 2000 }, (_, i) => ({ i, s: `n${i}` })) };
              const s = await t.connect(url, mopts);
              const [a] = await t.ack(s, "echo", big);
              const [o] = await t.ack(s, "echo", obj);
              s.disconnect();
              return { same: a === big, len: a.length, objSame: JSON.stringify(o) === JSON.stringify(obj) };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out, { same: true, len: 200_000, objSame: true });
          assertClean(page);
        });

        it("broadcast reaches both clients; broadcast-others only the other one", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const a = await t.connect(url, mopts);
              const c = await t.connect(url, mopts);
              const gotA = t.collect(a, "bcast");
              const gotC = t.collect(c, "bcast");
              const both = Promise.all([t.next(a, "bcast"), t.next(c, "bcast")]);
              a.emit("broadcast", { from: "a", n: 1 });
              await both;
              c.emit("broadcast-others", { from: "c", n: 2 });
              await t.next(a, "bcast");
              await Promise.all([t.barrier(a), t.barrier(c)]);
              a.disconnect();
              c.disconnect();
              return { gotA, gotC };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out.gotA, [[{ from: "a", n: 1 }], [{ from: "c", n: 2 }]]);
          assert.deepEqual(out.gotC, [[{ from: "a", n: 1 }]]);
          assertClean(page);
        });

        it("once fires once; off(ev, fn), off(ev) and off() remove listeners", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const log = [];
              const f1 = (x) => log.push(`f1:${x}`);
              const f2 = (x) => log.push(`f2:${x}`);
              s.once("a", (x) => log.push(`once:${x}`));
              s.on("a", f1);
              s.on("a", f2);
              s.on("b", (x) => log.push(`b:${x}`));
              s.emit("emit-as", "a", 1);
              s.emit("emit-as", "a", 2);
              await t.barrier(s);
              const r1 = s.off("a", f1);
              s.emit("emit-as", "a", 3);
              await t.barrier(s);
              s.off("a");
              s.emit("emit-as", "a", 4);
              s.emit("emit-as", "b", 5);
              await t.barrier(s);
              s.off();
              s.emit("emit-as", "b", 6);
              await t.barrier(s);
              s.disconnect();
              return { log, chain: r1 === s };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out.log, ["once:1", "f1:1", "f2:1", "f1:2", "f2:2", "f2:3", "b:5"]);
          assert.equal(out.chain, true, "off() returns the socket");
          assertClean(page);
        });

        it("listeners run in registration order; listeners() and hasListeners() agree", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const log = [];
              const fs = [0, 1, 2, 3].map((k) => () => log.push(k));
              for (const f of fs) s.on("x", f);
              const same = s.listeners("x").length === 4 && s.listeners("x").every((f, k) => f === fs[k]);
              const has = [s.hasListeners("x"), s.hasListeners("nothing")];
              s.emit("emit-as", "x");
              await t.barrier(s);
              s.disconnect();
              return { log, same, has };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out.log, [0, 1, 2, 3]);
          assert.equal(out.same, true);
          assert.deepEqual(out.has, [true, false]);
          assertClean(page);
        });

        it("onAny gets (event, ...args) before the event's listeners; prependAny goes first; offAny", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const log = [];
              const any1 = (ev, ...args) => log.push(["any1", ev, ...args]);
              const any2 = (ev, ...args) => log.push(["any2", ev, ...args]);
              s.onAny(any1);
              s.onAny(any2);
              s.prependAny((ev, ...args) => log.push(["pre", ev, ...args]));
              s.on("x", (...args) => log.push(["x", ...args]));
              const n = s.listenersAny().length;
              s.emit("emit-as", "x", 1, { y: 2 });
              await t.barrier(s); // the barrier's ack is no event: onAny does not see it
              s.offAny(any1);
              s.emit("emit-as", "x", 2);
              await t.barrier(s);
              s.offAny();
              s.emit("emit-as", "x", 3);
              await t.barrier(s);
              s.disconnect();
              return { log, n, left: s.listenersAny().length };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out.log, [
            ["pre", "x", 1, { y: 2 }],
            ["any1", "x", 1, { y: 2 }],
            ["any2", "x", 1, { y: 2 }],
            ["x", 1, { y: 2 }],
            ["pre", "x", 2],
            ["any2", "x", 2],
            ["x", 2],
            ["x", 3],
          ]);
          assert.equal(out.n, 3);
          assert.equal(out.left, 0);
          assertClean(page);
        });

        it("onAnyOutgoing sees (event, ...args) of every emit, without the ack; offAnyOutgoing", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const log = [];
              const out1 = (...a) => log.push(["o1", ...a.map(t.show)]);
              s.onAnyOutgoing(out1);
              s.prependAnyOutgoing((...a) => log.push(["o0", a[0]]));
              s.emit("emit-as", "nothing-listens", 1);
              await t.ack(s, "echo", "e", 2);
              s.offAnyOutgoing(out1);
              s.emit("emit-as", "nothing-listens", 3);
              s.offAnyOutgoing();
              s.emit("emit-as", "nothing-listens", 4);
              await t.ack(s, "echo", "last");
              s.disconnect();
              return log;
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out, [
            ["o0", "emit-as"],
            ["o1", "emit-as", "nothing-listens", 1],
            ["o0", "echo"],
            ["o1", "echo", "e", 2],
            ["o0", "emit-as"],
          ]);
          assertClean(page);
        });

        it('send() emits "message"; a server "message" reaches on("message"); compress(false).emit', async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const outgoing = [];
              s.onAnyOutgoing((...a) => outgoing.push(a));
              const ret = s.send("hello", 2);
              const got = t.next(s, "message");
              s.emit("emit-as", "message", "from server", 3);
              const msg = await got;
              // compress(false) is accepted and the emit still goes
              const c = t.next(s, "compressed");
              const ret2 = s.compress(false).emit("emit-as", "compressed", 4);
              const [four] = await c;
              s.disconnect();
              return { outgoing, msg, chain: ret === s && ret2 === s, four };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out.outgoing[0], ["message", "hello", 2]);
          assert.deepEqual(out.msg, ["from server", 3]);
          assert.equal(out.four, 4);
          assert.equal(out.chain, true, "send() and compress().emit() return the socket");
          assertClean(page);
        });

        it("emitting a reserved event name throws; the socket keeps working", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const thrown = {};
              for (const ev of ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]) {
                try {
                  s.emit(ev, 1);
                  thrown[ev] = null;
                } catch (e) {
                  thrown[ev] = e.message;
                }
              }
              const [v] = await t.ack(s, "echo", "still");
              s.disconnect();
              return { thrown, v };
            },
            { url: srv.url, mopts },
          );
          for (const [ev, msg] of Object.entries(out.thrown)) assert.equal(msg, `"${ev}" is a reserved event name`);
          assert.equal(out.v, "still");
          assertClean(page);
        });

        it("flood: 500 events arrive complete and in order, then flood-done", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const seen = [];
              s.on("tp", (d) => seen.push(d.i));
              const done = t.next(s, "flood-done");
              s.emit("flood", 500);
              const [n] = await done;
              s.disconnect();
              return { n, seen };
            },
            { url: srv.url, mopts },
          );
          assert.equal(out.n, 500);
          assert.deepEqual(out.seen, Array.from({ length: 500 }, (_, k) => k));
          assertClean(page);
        });
      });
    }
  });
}

// What send() and emit() put on the wire, seen by an in-process official socket.io server.
describe("send()/emit() as the official server sees them (in-process socket.io server)", () => {
  let http, io, url;
  const received = [];
  before(async () => {
    http = createServer();
    io = new Server(http, { cors: { origin: "*" } });
    io.on("connection", (s) => {
      s.onAny((ev, ...args) => {
        const ack = typeof args.at(-1) === "function" ? args.pop() : null;
        received.push([ev, ...args]);
        if (ack) ack("acked", ev);
      });
    });
    await new Promise((r) => http.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${http.address().port}`;
  });
  after(async () => {
    io.close();
    await new Promise((r) => http.close(r));
  });
  for (const [mode, mopts] of Object.entries(MODES)) {
    it(`[${mode}] send(a, b) arrives as "message" a b; emit with an ack gets the answer`, async () => {
      received.length = 0;
      const page = await b.page();
      const res = await page.evaluate(
        async ({ url, mopts }) => {
          const s = await t.connect(url, mopts);
          s.send("hi", { n: 1 });
          s.send();
          const r = await t.ack(s, "custom", [1, 2]);
          s.disconnect();
          return r;
        },
        { url, mopts },
      );
      assert.deepEqual(received, [["message", "hi", { n: 1 }], ["message"], ["custom", [1, 2]]]);
      assert.deepEqual(res, ["acked", "custom"]);
      assertClean(page);
    });
  }
});

// A burst of emits over polling goes out in POSTs no larger than the server's maxPayload,
// counted as the server counts: UTF-8 bytes (CJK text is 3 bytes a character, 1 UTF-16
// unit), and binary as `b` + base64 (4 bytes per 3). Counted otherwise, a POST exceeds the
// limit and the server drops the session.
for (const impl of IMPLS) {
  describe(`polling batches within maxPayload (${impl} server, MAX_PAYLOAD=1000)`, () => {
    const srv = useServerFor(impl, { env: { MAX_PAYLOAD: "1000" } });

    for (const [what, arg] of [
      ["CJK text", { text: "中".repeat(100) }],
      ["binary", { bytes: 300 }],
    ]) {
      it(`${what}: 20 emits in a burst are all acked, the session stays`, async () => {
        const page = await b.page();
        const out = await page.evaluate(
          async ({ url, arg }) => {
            const s = await t.connect(url, { transports: ["polling"] });
            const lost = [];
            s.on("disconnect", (reason) => lost.push(reason));
            const value = () => (arg.text ? arg.text : new Uint8Array(arg.bytes).fill(7).buffer);
            const acks = [];
            for (let i = 0; i < 20; i++) acks.push(s.timeout(10000).emitWithAck("echo", value()));
            const replies = await Promise.all(acks);
            const sizes = replies.map((r) => (typeof r == "string" ? r.length : r.byteLength));
            const dropped = lost.slice();
            s.disconnect();
            return { n: replies.length, sizes, dropped };
          },
          { url: srv.url, arg },
        );
        assert.equal(out.n, 20);
        assert.deepEqual(out.sizes, Array(20).fill(arg.text ? 100 : 300));
        assert.deepEqual(out.dropped, []);
        assertClean(page);
      });
    }
  });
}
