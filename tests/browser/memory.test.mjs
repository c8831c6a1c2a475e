// Memory in a single-page app: views mount and unmount sockets all day. Each cycle is what a
// component does: `io(url)`, a listener that captures a large buffer (component state), one
// acked emit, `disconnect()`. After 300 cycles, with and without `forceNew`, nothing of the
// unmounted sockets may remain: the JS heap, ArrayBuffer backing stores included, grows
// between cycle 50 and cycle 300 no more than socket.io-client's does in the same run (plus
// one captured buffer of slack); no captured buffer is alive but the first cycle's (the
// socket `io()` caches, as socket.io-client does); and the wasm memory stops growing (at most
// one page between the two points: the allocator's own, not one per cycle). A client that
// keeps its managers keeps every buffer: 250 MB.
import assert from "node:assert/strict";
import { describe, it, before, after } from "node:test";
import { startServer } from "../lib/harness.mjs";
import { IS_REF, assertClean, useBrowser } from "../lib/browser.mjs";

const b = useBrowser();
const CYCLES = 300;
const FROM = 50;
const MB = 1 << 20;

/** In the page: `n` mount/unmount cycles of `client` (window.sio, or the reference). */
async function cycles({ url, n, forceNew, ref }) {
  const { io } = ref ? window.ref : window.sio;
  for (let i = 0; i < n; i++) {
    // The component's state, which its listener captures (1 MB; `MB` lives in Node).
    const state = new ArrayBuffer(1 << 20);
    (window.states ||= []).push(new WeakRef(state));
    const socket = io(url, { forceNew });
    socket.on("news", () => state.byteLength);
    const reply = await socket.timeout(5000).emitWithAck("echo", "mounted");
    socket.disconnect();
    if (reply !== "mounted") throw new Error(`echo answered ${reply}`);
  }
}

/** Full garbage collections, with a task between them for finalizers (a freed Manager lets
 *  go of its JS values only then, for the next collection to take). */
async function collect(page, cdp) {
  for (let i = 0; i < 3; i++) {
    await cdp.send("HeapProfiler.collectGarbage");
    await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
  }
}

/** The JS heap (Performance.getMetrics' JSHeapUsedSize, plus the ArrayBuffer backing stores,
 *  which live outside it), the wasm memory, and the captured buffers still alive. */
async function measure(page, cdp) {
  await collect(page, cdp);
  const { metrics } = await cdp.send("Performance.getMetrics");
  const used = metrics.find((m) => m.name === "JSHeapUsedSize").value;
  const { backingStorageSize } = await cdp.send("Runtime.getHeapUsage");
  const [wasm, alive] = await page.evaluate(() => [
    window.memory?.buffer.byteLength ?? 0,
    window.states.filter((w) => w.deref()).length,
  ]);
  return { heap: used + backingStorageSize, wasm, alive };
}

/** Heap and wasm memory after FROM and after CYCLES cycles, in a fresh page. */
async function run(url, { forceNew, ref }) {
  const page = await b.page();
  if (ref) await page.evaluate(async () => (window.ref = await import("/sioc/socket.io.esm.min.js")));
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  await page.evaluate(cycles, { url, n: FROM, forceNew, ref });
  const at = await measure(page, cdp);
  await page.evaluate(cycles, { url, n: CYCLES - FROM, forceNew, ref });
  const end = await measure(page, cdp);
  await cdp.detach();
  return { heap: end.heap - at.heap, wasm: end.wasm - at.wasm, wasmEnd: end.wasm, alive: end.alive, page };
}

// It compares the two clients itself: nothing to check with the reference alone.
describe("memory: 300 mount/unmount cycles (rust server)", { skip: IS_REF }, () => {
  let srv;
  before(async () => {
    srv = await startServer({ impl: "rust" });
  });
  after(async () => {
    await srv?.stop();
  });

  for (const forceNew of [false, true]) {
    it(`forceNew: ${forceNew}: the JS heap grows no more than socket.io-client's, no buffer is kept, the wasm memory stops growing`, async () => {
      const ours = await run(srv.url, { forceNew, ref: false });
      const theirs = await run(srv.url, { forceNew, ref: true });
      const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
      console.log(
        `# memory, forceNew ${forceNew}, cycles ${FROM} → ${CYCLES}: JS heap growth sio ${kb(ours.heap)}, ` +
          `socket.io-client ${kb(theirs.heap)}; captured buffers alive sio ${ours.alive}, socket.io-client ` +
          `${theirs.alive}; wasm memory growth ${kb(ours.wasm)} (of ${kb(ours.wasmEnd)})`,
      );
      assertClean(ours.page);
      assertClean(theirs.page);
      assert.ok(ours.wasmEnd > 0, "the wasm memory is visible to the test");
      assert.ok(ours.heap <= Math.max(theirs.heap, 0) + MB, `JS heap grew ${kb(ours.heap)}, socket.io-client's ${kb(theirs.heap)}`);
      assert.ok(ours.alive <= (forceNew ? 0 : 1), `${ours.alive} captured buffers alive`);
      assert.ok(ours.wasm <= 64 * 1024, `the wasm memory grew by ${kb(ours.wasm)}`);
    });
  }
});
