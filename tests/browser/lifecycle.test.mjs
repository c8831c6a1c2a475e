// Connection lifecycle with the wasm client in Chromium: server-side disconnect (no
// reconnection), emits buffered before the first connection, volatile emits, the server
// stopped and started again on the same port (disconnect reason, reconnect_attempt /
// reconnect_error / reconnect, new id, emits made while disconnected delivered once and in
// order, volatile ones dropped, maxBufferedEmits), ping timeout (server frozen with SIGSTOP),
// reconnectionAttempts → reconnect_failed, closing a polling connection cleanly, and the browser
// going offline.
// Against the Rust and the Node contract servers, once per transport mode.
import assert from "node:assert/strict";
import util from "node:util";
import { describe, it } from "node:test";
import { MODES, startServer, freePort, freeze, thaw } from "../lib/harness.mjs";
import { IMPLS, IS_REF, useBrowser, useServerFor, assertClean, assertNoTrap } from "../lib/browser.mjs";

const b = useBrowser();
/** Quick, deterministic reconnection for these tests. */
const FAST = { reconnectionDelay: 100, reconnectionDelayMax: 200, randomizationFactor: 0 };
const DROPPED = ["transport close", "transport error"];

/** In the page: a socket kept as window.s, with every socket and manager event logged in window.log. */
function setUp({ url, opts }) {
  const s = sio.io(url, { forceNew: true, ...opts });
  const log = [];
  for (const ev of ["connect", "connect_error", "disconnect"]) s.on(ev, (a) => log.push([ev, ev === "connect" ? s.id : a?.message ?? a]));
  for (const ev of ["reconnect_attempt", "reconnect_error", "reconnect", "reconnect_failed", "close"]) {
    s.io.on(ev, (a) => log.push([`io:${ev}`, a?.message ?? a]));
  }
  const got = [];
  s.onAny((ev, ...args) => got.push([ev, ...args]));
  Object.assign(window, { s, log, got });
  return t.next(s, "connect").then(() => s.id);
}

for (const impl of IMPLS) {
  describe(`lifecycle (${impl} server)`, () => {
    const srv = useServerFor(impl);

    for (const [mode, mopts] of Object.entries(MODES)) {
      describe(`[${mode}]`, () => {
        it('the browser going offline ends the session at once: "transport close", "network connection lost"', async () => {
          const page = await b.page();
          await page.evaluate(setUp, { url: srv.url, opts: { ...mopts, reconnection: false } });
          await page.evaluate(() => {
            window.gone = t.next(s, "disconnect");
          });
          await page.context().setOffline(true);
          const [reason, details] = await page.evaluate(() => window.gone);
          await page.context().setOffline(false);
          assert.equal(reason, "transport close");
          assert.equal(details?.description, "network connection lost");
          assertNoTrap(page);
        });

        it('disconnect-me: "io server disconnect", the Manager closes, no reconnection; connect() works again', async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts, FAST }) => {
              const s = sio.io(url, { ...mopts, forceNew: true, ...FAST });
              const mgr = [];
              for (const ev of ["close", "reconnect_attempt", "open"]) s.io.on(ev, (a) => mgr.push([ev, a ?? null]));
              await t.next(s, "connect");
              const gone = t.next(s, "disconnect");
              s.emit("disconnect-me");
              const [reason] = await gone;
              const after = { connected: s.connected, active: s.active, id: t.show(s.id) };
              // nothing can announce that no reconnection happens: give the 100 ms delay 3 times over
              await new Promise((r) => setTimeout(r, 300));
              const log = mgr.slice();
              const back = t.next(s, "connect");
              s.connect();
              await back;
              const [v] = await t.ack(s, "echo", "back");
              s.disconnect();
              return { reason, after, log, v };
            },
            { url: srv.url, mopts, FAST },
          );
          assert.equal(out.reason, "io server disconnect");
          assert.deepEqual(out.after, { connected: false, active: false, id: { $: "undefined" } });
          assert.deepEqual(out.log, [["open", null], ["close", "forced close"]]);
          assert.equal(out.v, "back");
          assertClean(page);
        });

        it("emits made before the first connection are sent once connected, in order, with their acks", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = sio.io(url, { ...mopts, forceNew: true, reconnection: false });
              const got = t.collect(s, "pre");
              const connectedAtEmit = s.connected;
              for (let k = 1; k <= 5; k++) s.emit("emit-as", "pre", k);
              const acked = new Promise((r) => s.emit("echo", "early", (...a) => r(a)));
              await t.next(s, "connect");
              const ack = await acked;
              await t.barrier(s);
              s.disconnect();
              return { connectedAtEmit, got, ack };
            },
            { url: srv.url, mopts },
          );
          assert.equal(out.connectedAtEmit, false);
          assert.deepEqual(out.got, [[1], [2], [3], [4], [5]]);
          assert.deepEqual(out.ack, ["early"]);
          assertClean(page);
        });

        it("sendBuffer holds the emits made before connecting, as socket.io-client's packets; sendBuffer = [] drops them", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts, ref }) => {
              const s = sio.io(url, { ...mopts, forceNew: true, autoConnect: false });
              const got = t.collect(s, "pre");
              s.emit("emit-as", "pre", "stale");
              s.emit("echo", "stale", () => {});
              const before = s.sendBuffer.map((p) => ({ ...p }));
              s.sendBuffer = [];
              const cleared = s.sendBuffer.length;
              let refused = false;
              // (socket.io-client takes any array; sio-client only [], its buffer being encoded)
              if (!ref) {
                try {
                  s.sendBuffer = [before[0]];
                } catch (e) {
                  refused = e instanceof TypeError;
                }
              }
              s.emit("emit-as", "pre", "fresh");
              s.connect();
              await t.next(s, "connect");
              await t.barrier(s);
              const received = s.receiveBuffer;
              s.disconnect();
              return { before, cleared, refused, got, received };
            },
            { url: srv.url, mopts, ref: IS_REF },
          );
          const options = { compress: true };
          assert.deepEqual(out.before, [
            { type: 2, data: ["emit-as", "pre", "stale"], options },
            { type: 2, data: ["echo", "stale"], options, id: 0 },
          ]);
          assert.equal(out.cleared, 0);
          assert.deepEqual(out.got, [["fresh"]], "the dropped emits never went out");
          assert.deepEqual(out.received, []);
          if (!IS_REF) assert.equal(out.refused, true, "only [] can be assigned (sio-client)");
          assertClean(page);
        });

        // A volatile emit is dropped when the transport cannot write at once: over polling,
        // while a POST is in flight. So: tries until one goes (every try on websocket).
        it("volatile emits go out while connected", async () => {
          const page = await b.page();
          const got = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const got = t.collect(s, "vol");
              for (let k = 1; k <= 20 && got.length === 0; k++) {
                await t.barrier(s);
                s.volatile.emit("emit-as", "vol", k);
                await t.barrier(s);
              }
              s.disconnect();
              return got;
            },
            { url: srv.url, mopts },
          );
          if (mode === "websocket") assert.deepEqual(got, [[1]]);
          else assert.equal(got.length, 1, "one of 20 volatile emits went out");
          assertClean(page);
        });

        it("server stopped and started again: reconnects with a new id; emits made meanwhile arrive once, in order; volatile ones are dropped", async () => {
          const own = await startServer({ impl });
          try {
            const page = await b.page();
            const id1 = await page.evaluate(setUp, { url: own.url, opts: { ...mopts, ...FAST } });
            await page.evaluate(() => {
              window.custom = s.io.socket("/custom");
              window.customGot = t.collect(custom, "c");
              // What the disconnect says, in the shape engine.io-client gives it.
              window.details = t.next(s, "disconnect").then(([reason, d]) => ({
                reason,
                shape:
                  d instanceof Error
                    ? { error: d.message, type: d.type, keys: ["description", "context"].filter((k) => k in d) }
                    : { description: d?.description, context: d?.context?.constructor?.name },
              }));
              return custom.connected || t.next(custom, "connect");
            });
            await own.stop();
            const details = await page.evaluate(() => window.details);
            const shapes = {
              "transport close": [
                { description: "websocket connection closed", context: "CloseEvent" },
                { description: "transport closed by the server", context: undefined },
              ],
              "transport error": ["xhr poll error", "xhr post error", "websocket error"].map((error) => ({
                error,
                type: "TransportError",
                keys: ["description", "context"],
              })),
            };
            assert.ok(
              shapes[details.reason]?.some((shape) => util.isDeepStrictEqual(shape, details.shape)),
              `disconnect details ${JSON.stringify(details)}`,
            );
            const down = await page.evaluate(async () => {
              const seen = log.find((l) => l[0] === "disconnect");
              const reason = seen ? seen[1] : (await t.next(s, "disconnect"))[0];
              await t.waitFor(() => log.some((l) => l[0] === "io:reconnect_error"), "a reconnect_error while the server is down");
              const state = { connected: s.connected, active: s.active, id: t.show(s.id) };
              for (let k = 1; k <= 5; k++) {
                s.emit("emit-as", "got", k);
                s.volatile.emit("emit-as", "vol", k);
              }
              custom.emit("emit-as", "c", "custom-buffered");
              window.bufferedAck = new Promise((r) => s.emit("echo", "buffered", (...a) => r(a)));
              return { reason, state };
            });
            assert.ok(DROPPED.includes(down.reason), `disconnect reason ${down.reason}`);
            assert.deepEqual(down.state, { connected: false, active: true, id: { $: "undefined" } });
            const again = await startServer({ impl, port: own.port });
            try {
              const up = await page.evaluate(async () => {
                await t.waitFor(() => s.connected && custom.connected, "both sockets reconnected", 10_000);
                const ack = await bufferedAck;
                await t.waitFor(() => got.filter((g) => g[0] === "got").length >= 5, "the 5 buffered emits back");
                await t.barrier(s);
                await t.barrier(custom);
                const [info] = await t.ack(s, "server-info");
                return { ack, got, customGot, log, id: s.id, serverId: info.id };
              });
              assert.notEqual(up.id, id1, "a new id after reconnecting");
              assert.equal(up.serverId, up.id);
              assert.deepEqual(up.ack, ["buffered"]);
              assert.deepEqual(
                up.got,
                [1, 2, 3, 4, 5].map((k) => ["got", k]),
                "buffered emits exactly once and in order, no volatile one",
              );
              assert.deepEqual(up.customGot, [["custom-buffered"]]);
              // the log: connect, disconnect + close, (attempt, error)*, attempt, reconnect, connect
              const names = up.log.map((l) => l[0]);
              assert.deepEqual(names.slice(0, 3).sort(), ["connect", "disconnect", "io:close"], names.join());
              const attempts = up.log.filter((l) => l[0] === "io:reconnect_attempt").map((l) => l[1]);
              assert.deepEqual(attempts, attempts.map((_, k) => k + 1), "reconnect_attempt numbers 1, 2, …");
              const errors = names.filter((n) => n === "io:reconnect_error").length;
              assert.equal(errors, attempts.length - 1, "every attempt but the last failed");
              const reconnect = up.log.filter((l) => l[0] === "io:reconnect");
              assert.deepEqual(reconnect, [["io:reconnect", attempts.length]]);
              assert.deepEqual(names.slice(-2), ["io:reconnect", "connect"]);
              // every failed attempt is a connect_error for the socket too
              assert.equal(names.filter((n) => n === "connect_error").length, errors);
              assertNoTrap(page);
            } finally {
              await again.stop();
            }
          } finally {
            await own.stop();
          }
        });

        it("ping timeout: a frozen server (SIGSTOP) → disconnect \"ping timeout\", then reconnection once it runs again", async () => {
          const own = await startServer({ impl, env: { PING_INTERVAL_MS: "200", PING_TIMEOUT_MS: "300" } });
          let stopped = false;
          try {
            const page = await b.page();
            await page.evaluate(setUp, { url: own.url, opts: { ...mopts, ...FAST } });
            await page.evaluate(() => t.next(s.io, "ping")); // the Manager reports pings
            await freeze(own.pid);
            stopped = true;
            const reason = await page.evaluate(async () => (await t.next(s, "disconnect", 10_000))[0]);
            thaw(own.pid);
            stopped = false;
            const up = await page.evaluate(async () => {
              await t.waitFor(() => s.connected, "the reconnection", 10_000);
              const [v] = await t.ack(s, "echo", "after");
              return { v, reconnects: log.filter((l) => l[0] === "io:reconnect").length };
            });
            assert.equal(reason, "ping timeout");
            assert.equal(up.v, "after");
            // (on a loaded machine a 200 + 300 ms heartbeat may time out once more)
            assert.ok(up.reconnects >= 1, `reconnects: ${up.reconnects}`);
            assertNoTrap(page);
          } finally {
            if (stopped) thaw(own.pid);
            await own.stop();
          }
        });
      });
    }

    it("[websocket] maxBufferedEmits bounds the emits kept while disconnected (sio option)", { skip: IS_REF && "sio-only option" }, async () => {
      const own = await startServer({ impl });
      try {
        const page = await b.page();
        await page.evaluate(setUp, { url: own.url, opts: { transports: ["websocket"], maxBufferedEmits: 3, ...FAST } });
        await own.stop();
        await page.evaluate(async () => {
          if (s.connected) await t.next(s, "disconnect");
          for (let k = 1; k <= 5; k++) s.emit("emit-as", "got", k);
          window.overflowAck = new Promise((r) => s.timeout(30_000).emit("echo", "over", (...a) => r(a.map(t.show))));
        });
        const again = await startServer({ impl, port: own.port });
        try {
          const out = await page.evaluate(async () => {
            const over = await overflowAck; // dropped: settles with an error, whenever that is
            await t.waitFor(() => s.connected, "the reconnection", 10_000);
            await t.barrier(s);
            return { got, over };
          });
          assert.deepEqual(out.got, [["got", 1], ["got", 2], ["got", 3]]);
          assert.equal(out.over.length, 1);
          assert.equal(out.over[0].$, "Error");
          assertNoTrap(page);
        } finally {
          await again.stop();
        }
      } finally {
        await own.stop();
      }
    });

    // socket.io-client posts the close packet and lets the pending long-poll GET be answered;
    // aborting that GET first makes a Node server drop the session, and the close POST gets 400.
    it("[polling] disconnect() with a long-poll pending (10 times): no page error, no HTTP error", async () => {
      const page = await b.page();
      await page.evaluate(
        async ({ url }) => {
          for (let k = 0; k < 10; k++) {
            const s = await t.connect(url, { transports: ["polling"] });
            await t.barrier(s);
            s.disconnect();
          }
          const last = await t.connect(url, { transports: ["polling"] });
          for (let k = 0; k < 3; k++) await t.barrier(last);
          last.disconnect();
        },
        { url: srv.url },
      );
      assertClean(page);
    });
  });
}

// No server at all: every attempt fails.
describe("reconnectionAttempts (nothing listening)", () => {
  for (const [mode, mopts] of Object.entries(MODES)) {
    it(`[${mode}] 2 attempts: reconnect_attempt 1, reconnect_error, reconnect_attempt 2, reconnect_failed, reconnect_error`, async () => {
      const port = await freePort();
      const page = await b.page();
      const log = await page.evaluate(
        async ({ url, mopts, FAST }) => {
          const s = sio.io(url, { ...mopts, forceNew: true, ...FAST, reconnectionAttempts: 2 });
          const log = [];
          s.on("connect_error", (e) => log.push(["connect_error", typeof e.message]));
          s.io.on("error", (e) => log.push(["io:error", typeof e.message]));
          for (const ev of ["reconnect_attempt", "reconnect_error", "reconnect_failed", "reconnect"]) {
            s.io.on(ev, (a) => log.push([ev, ev === "reconnect_error" ? typeof a?.message : (a ?? null)]));
          }
          await t.next(s.io, "reconnect_failed", 10_000);
          s.disconnect();
          return log;
        },
        { url: `http://127.0.0.1:${port}`, mopts, FAST },
      );
      // a Manager "error" and a connect_error for the first try and for each failed attempt
      for (const ev of ["connect_error", "io:error"]) {
        assert.deepEqual(
          log.filter((l) => l[0] === ev),
          [1, 2, 3].map(() => [ev, "string"]),
        );
      }
      assert.deepEqual(
        log.filter((l) => l[0] !== "connect_error" && l[0] !== "io:error"),
        [
          ["reconnect_attempt", 1],
          ["reconnect_error", "string"],
          ["reconnect_attempt", 2],
          // socket.io-client gives up (reconnect_failed) before it reports the last error
          ["reconnect_failed", null],
          ["reconnect_error", "string"],
        ],
      );
      assertNoTrap(page);
    });
  }
});
