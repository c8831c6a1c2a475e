// Acknowledgements with the wasm client in Chromium: emit with an ack callback, emitWithAck,
// timeout(ms) (error-first) answered and expired, the ackTimeout option, server → client acks
// (server-ack → ping-client → client-acked), acks pending at a disconnect, retries
// (ack-on-retry). Against the Rust and the Node contract servers, once per transport mode.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MODES } from "../lib/harness.mjs";
import { IMPLS, useBrowser, useServerFor, assertClean } from "../lib/browser.mjs";

const b = useBrowser();
const TIMED_OUT = "operation has timed out";

for (const impl of IMPLS) {
  describe(`acks (${impl} server)`, () => {
    const srv = useServerFor(impl);

    for (const [mode, mopts] of Object.entries(MODES)) {
      describe(`[${mode}]`, () => {
        it("emit with an ack callback gets every ack argument (not error-first)", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const r1 = await t.ack(s, "echo", 1, "a", { b: [true, null] }, [2]);
              const r0 = await t.ack(s, "echo");
              // several acks in flight at once, answered in order
              const many = await Promise.all(Array.from({ length: 20 }, (_, k) => t.ack(s, "echo", k)));
              s.disconnect();
              return { r1, r0, many };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out.r1, [1, "a", { b: [true, null] }, [2]]);
          assert.deepEqual(out.r0, []);
          assert.deepEqual(out.many, Array.from({ length: 20 }, (_, k) => [k]));
          assertClean(page);
        });

        it("emitWithAck resolves with the first ack argument", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const a = await s.emitWithAck("echo", { x: 1 }, "second");
              const info = await s.emitWithAck("server-info");
              s.disconnect();
              return { a, nsp: info.nsp };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out, { a: { x: 1 }, nsp: "/" });
          assertClean(page);
        });

        it("timeout(ms).emit: answered → (null, ...args); not answered → operation has timed out", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const answered = await new Promise((r) => s.timeout(5000).emit("echo", "x", 2, (...a) => r(a)));
              const expired = await new Promise((r) => s.timeout(100).emit("nobody-answers", 1, (...a) => r(a.map(t.show))));
              // the flag is for one emit only: the next emit's callback is not error-first
              const plain = await t.ack(s, "echo", "plain");
              s.disconnect();
              return { answered, expired, plain };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out.answered, [null, "x", 2]);
          assert.equal(out.expired.length, 1);
          assert.equal(out.expired[0].$, "Error");
          assert.equal(out.expired[0].message, TIMED_OUT);
          assert.deepEqual(out.plain, ["plain"]);
          assertClean(page);
        });

        it("timeout(ms).emitWithAck: resolves with the first argument, rejects when it expires", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const ok = await s.timeout(5000).emitWithAck("echo", "ok", "ignored");
              const err = await s
                .timeout(100)
                .emitWithAck("nobody-answers")
                .then(
                  (v) => ({ resolved: t.show(v) }),
                  (e) => ({ rejected: e.message }),
                );
              s.disconnect();
              return { ok, err };
            },
            { url: srv.url, mopts },
          );
          assert.equal(out.ok, "ok");
          assert.deepEqual(out.err, { rejected: TIMED_OUT });
          assertClean(page);
        });

        it("ackTimeout option: acks are error-first; one that never comes times out", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, { ...mopts, ackTimeout: 500 });
              const answered = await new Promise((r) => s.emit("echo", "v", (...a) => r(a)));
              const expired = await new Promise((r) => s.emit("nobody-answers", (...a) => r(a.map(t.show))));
              const viaPromise = await s.emitWithAck("nobody-answers").then(
                () => "resolved",
                (e) => e.message,
              );
              s.disconnect();
              return { answered, expired, viaPromise };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out.answered, [null, "v"]);
          assert.equal(out.expired.length, 1);
          assert.equal(out.expired[0].message, TIMED_OUT);
          assert.equal(out.viaPromise, TIMED_OUT);
          assertClean(page);
        });

        it("server → client ack: server-ack → ping-client(D, ack) → ack(X…) → client-acked X…", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const pinged = [];
              s.on("ping-client", (...args) => {
                const ack = args.pop();
                pinged.push({ args, isFn: typeof ack === "function" });
                ack("answer", 42, { d: args[0] });
                ack("a second call is ignored");
              });
              const acked = t.next(s, "client-acked");
              s.emit("server-ack", { q: 1 });
              const got = await acked;
              await t.barrier(s); // no second client-acked before this
              const total = pinged.length;
              s.disconnect();
              return { pinged, got, total };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out.pinged, [{ args: [{ q: 1 }], isFn: true }]);
          assert.deepEqual(out.got, ["answer", 42, { d: { q: 1 } }]);
          assert.equal(out.total, 1);
          assertClean(page);
        });

        it("server → client ack with no argument, and the ack function seen by onAny", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              let anyLast;
              s.onAny((ev, ...args) => {
                if (ev === "ping-client") anyLast = typeof args.at(-1);
              });
              s.on("ping-client", (d, ack) => ack());
              const acked = t.next(s, "client-acked");
              s.emit("server-ack", "nothing back");
              const got = await acked;
              s.disconnect();
              return { got, anyLast };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out.got, []);
          assert.equal(out.anyLast, "function", "onAny gets the ack function as the last argument");
          assertClean(page);
        });

        it('acks pending at disconnect(): error-first ones get "socket has been disconnected"', async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const withTimeout = new Promise((r) => s.timeout(10_000).emit("nobody-answers", (...a) => r(a.map(t.show))));
              const viaPromise = s
                .timeout(10_000)
                .emitWithAck("nobody-answers")
                .then(
                  () => "resolved",
                  (e) => e.message,
                );
              await t.barrier(s); // both are on the wire
              s.disconnect();
              return { withTimeout: await withTimeout, viaPromise: await viaPromise };
            },
            { url: srv.url, mopts },
          );
          assert.equal(out.withTimeout.length, 1);
          assert.equal(out.withTimeout[0].message, "socket has been disconnected");
          assert.equal(out.viaPromise, "socket has been disconnected");
          assertClean(page);
        });

        it("retries + ackTimeout: ack-on-retry is acked on the 2nd try → (null, true, KEY, 2)", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              // (1 s: the 2nd try must be answered within it, or a 3rd try is counted)
              const s = await t.connect(url, { ...mopts, ackTimeout: 1000, retries: 3 });
              const key = `k-${Math.random()}`;
              const got = await new Promise((r) => s.emit("ack-on-retry", key, (...a) => r(a)));
              const viaPromise = await s.emitWithAck("ack-on-retry", `${key}-p`);
              s.disconnect();
              return { key, got, viaPromise };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out.got, [null, true, out.key, 2]);
          assert.equal(out.viaPromise, true);
          assertClean(page);
        });

        it("retries exhausted: the ack gets operation has timed out after 1 + retries tries", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, { ...mopts, ackTimeout: 300, retries: 2 });
              const sent = [];
              s.onAnyOutgoing((ev) => sent.push(ev));
              const got = await new Promise((r) => s.emit("nobody-answers", 1, (...a) => r(a.map(t.show))));
              // with retries, emits are queued: the next one goes after the first has finished
              const after = await new Promise((r) => s.emit("echo", "after", (...a) => r(a)));
              s.disconnect();
              return { got, sent, after };
            },
            { url: srv.url, mopts },
          );
          assert.equal(out.got.length, 1);
          assert.equal(out.got[0].message, TIMED_OUT);
          assert.deepEqual(out.sent.slice(0, 3), ["nobody-answers", "nobody-answers", "nobody-answers"]);
          // the echo goes once (more only if its answer took longer than ackTimeout)
          assert.ok(out.sent.length >= 4 && out.sent.slice(3).every((e) => e === "echo"), out.sent.join());
          assert.deepEqual(out.after, [null, "after"]);
          assertClean(page);
        });
      });
    }
  });
}
