// Binary with the wasm client in Chromium: ArrayBuffer, Uint8Array (and a view into a larger
// buffer), other typed arrays, DataView, Blob, empty buffers, binary nested at depth, several
// attachments, in emits, in acks both ways, server → client events; what arrives is an
// ArrayBuffer with the right bytes. Against the Rust and the Node contract servers, once per
// transport mode (polling carries binary as base64).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MODES } from "../lib/harness.mjs";
import { IMPLS, useBrowser, useServerFor, assertClean } from "../lib/browser.mjs";

const b = useBrowser();

/** What t.show() makes of an ArrayBuffer holding `bytes`. */
const AB = (bytes) => ({ $: "ArrayBuffer", bytes: [...bytes] });
/** t.bytes(n, seed) in node. */
const seq = (n, seed = 1) => Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 255);
const le16 = (xs) => xs.flatMap((x) => [x & 255, (x >> 8) & 255]);
const f64 = (xs) => [...new Uint8Array(Float64Array.from(xs).buffer)];

for (const impl of IMPLS) {
  describe(`binary (${impl} server)`, () => {
    const srv = useServerFor(impl);

    for (const [mode, mopts] of Object.entries(MODES)) {
      describe(`[${mode}]`, () => {
        it("echo of each binary kind returns an ArrayBuffer with the same bytes", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const big = new Uint8Array(64).fill(9);
              big.set([1, 2, 3, 4], 10);
              const kinds = {
                arrayBuffer: t.bytes(16).buffer,
                uint8: t.bytes(5, 2),
                view: big.subarray(10, 14), // only the view's bytes go
                int16: Int16Array.from([1, -2, 300]),
                float64: Float64Array.from([1.5, -0.25]),
                dataView: new DataView(t.bytes(8, 3).buffer, 2, 4),
                blob: new Blob([t.bytes(7, 4), "txt"]),
                empty: new ArrayBuffer(0),
                emptyU8: new Uint8Array(0),
              };
              const res = {};
              for (const [k, v] of Object.entries(kinds)) {
                const [r] = await t.ack(s, "echo", v);
                res[k] = t.show(r);
              }
              s.disconnect();
              return res;
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out, {
            arrayBuffer: AB(seq(16)),
            uint8: AB(seq(5, 2)),
            view: AB([1, 2, 3, 4]),
            int16: AB(le16([1, -2, 300])),
            float64: AB(f64([1.5, -0.25])),
            dataView: AB(seq(8, 3).slice(2, 6)),
            blob: AB([...seq(7, 4), ...Buffer.from("txt")]),
            empty: AB([]),
            emptyU8: AB([]),
          });
          assertClean(page);
        });

        it("binary nested at depth and several attachments in one emit, several arguments", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const deep = { a: [1, { b: { c: [t.bytes(3, 1), "s", { d: t.bytes(4, 2).buffer }] } }], e: null };
              const list = [t.bytes(2, 3), [t.bytes(1, 4), [new Blob([t.bytes(5, 5)])]], 7];
              const same = t.bytes(6, 6);
              const r = await t.ack(s, "echo", deep, "plain", list, same, same, { n: 2 ** 40 });
              s.disconnect();
              return t.show(r);
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out, [
            { a: [1, { b: { c: [AB(seq(3, 1)), "s", { d: AB(seq(4, 2)) }] } }], e: null },
            "plain",
            [AB(seq(2, 3)), [AB(seq(1, 4)), [AB(seq(5, 5))]], 7],
            AB(seq(6, 6)),
            AB(seq(6, 6)),
            { n: 2 ** 40 },
          ]);
          assertClean(page);
        });

        it("server → client events with binary (emit-as), in order with text events", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const seen = [];
              s.on("bin", (...a) => seen.push(t.show(a)));
              s.emit("emit-as", "bin", t.bytes(10));
              s.emit("emit-as", "bin", "text only");
              s.emit("emit-as", "bin", { x: [t.bytes(2, 9), t.bytes(3, 8)] }, t.bytes(1, 7));
              s.emit("emit-as", "bin", 1);
              await t.barrier(s);
              s.disconnect();
              return seen;
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out, [
            [AB(seq(10))],
            ["text only"],
            [{ x: [AB(seq(2, 9)), AB(seq(3, 8))] }, AB(seq(1, 7))],
            [1],
          ]);
          assertClean(page);
        });

        it("client → server ack with binary: client-acked brings it back as ArrayBuffer", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              let pinged;
              s.on("ping-client", (d, ack) => {
                pinged = t.show(d);
                ack(t.bytes(4, 1), { nested: [Int16Array.from([5]), new Blob([t.bytes(2, 2)])] });
              });
              const acked = t.next(s, "client-acked");
              s.emit("server-ack", { bin: t.bytes(3, 3) });
              const got = await acked;
              s.disconnect();
              return { pinged, got: t.show(got) };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out.pinged, { bin: AB(seq(3, 3)) });
          assert.deepEqual(out.got, [AB(seq(4, 1)), { nested: [AB(le16([5])), AB(seq(2, 2))] }]);
          assertClean(page);
        });

        it("large binary (512 KiB) and 10 attachments (the Node parser's limit) survive the round trip", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const big = t.bytes(512 * 1024, 5);
              const [r] = await t.ack(s, "echo", big);
              const rb = new Uint8Array(r);
              const bigOk = r instanceof ArrayBuffer && rb.length === big.length && rb.every((x, i) => x === big[i]);
              const many = Array.from({ length: 10 }, (_, k) => t.bytes(k % 7, k));
              const [m] = await t.ack(s, "echo", many);
              const manyOk = m.length === 10 && m.every((x, k) => x instanceof ArrayBuffer && x.byteLength === k % 7 && new Uint8Array(x).every((y, i) => y === many[k][i]));
              s.disconnect();
              return { bigOk, manyOk };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out, { bigOk: true, manyOk: true });
          assertClean(page);
        });

        it("binary in a timeout(ms) ack and in emitWithAck", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const p = await s.emitWithAck("echo", { b: t.bytes(3, 2) });
              const q = await s.timeout(5000).emitWithAck("echo", t.bytes(2, 1).buffer);
              s.disconnect();
              return t.show({ p, q });
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out, { p: { b: AB(seq(3, 2)) }, q: AB(seq(2, 1)) });
          assertClean(page);
        });
      });
    }
  });
}
