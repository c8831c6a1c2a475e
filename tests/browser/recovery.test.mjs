// Connection state recovery with the wasm client in Chromium (CONTRACT.md `RECOVERY_MS`,
// Node's `connectionStateRecovery`): the browser goes offline, the client reconnects by itself
// once it is back, and gets its socket back (same id, rooms, data) with every event it missed,
// once and in order. Against the Rust and the Node contract servers, once per transport mode;
// the events are sent meanwhile by socket.io-client from this process.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MODES, connect, ack, waitFor, closeAllClients } from "../lib/harness.mjs";
import { IMPLS, useBrowser, useServerFor, assertNoTrap } from "../lib/browser.mjs";

const b = useBrowser();
const FAST = { reconnectionDelay: 20, reconnectionDelayMax: 40 };

for (const impl of IMPLS) {
  describe(`recovery (${impl} server)`, () => {
    // Short heartbeats: socket.io-client (the cross-check, SIO_BROWSER_CLIENT=ref) cannot close
    // a polling session while offline, so its server notices by the ping timeout.
    const srv = useServerFor(impl, { env: { RECOVERY_MS: "60000", PING_INTERVAL_MS: "1000", PING_TIMEOUT_MS: "1000" } });

    for (const [mode, mopts] of Object.entries(MODES)) {
      it(`[${mode}] offline and back: same id, rooms and data, the missed events once and in order`, async () => {
        const page = await b.page();
        const probe = await connect(srv.url);
        try {
          const before = await page.evaluate(
            async ({ url, mopts, FAST }) => {
              const s = sio.io(url, { ...mopts, forceNew: true, ...FAST });
              await t.next(s, "connect");
              window.s = s;
              window.got = t.collect(s, "bcast");
              await t.ack(s, "join", "r1");
              await t.ack(s, "set-data", { n: 1 });
              s.emit("emit-as", "bcast", 0);
              await t.waitFor(() => got.length === 1, "the first event");
              return { id: s.id, recovered: s.recovered };
            },
            { url: srv.url, mopts, FAST },
          );
          assert.equal(before.recovered, false);

          await page.evaluate(() => {
            window.gone = t.next(s, "disconnect");
          });
          await page.context().setOffline(true);
          await page.evaluate(() => window.gone);
          const count = async () => (await ack(probe, "server-info"))[0].nspSockets;
          await waitFor(async () => (await count()) === 1, {
            timeout: 10_000,
            what: "the page's socket gone from the server",
          });
          probe.emit("broadcast", 1);
          probe.emit("to-room", { room: "r1", k: 2 });
          probe.emit("to-room", { room: "elsewhere", k: 3 });
          probe.emit("broadcast", 4);
          await ack(probe, "echo", "after the broadcasts");
          await page.context().setOffline(false);

          const after = await page.evaluate(async () => {
            if (!s.connected) await t.next(s, "connect", 10_000);
            await t.waitFor(() => got.length === 4, "the missed events");
            const [state] = await t.ack(s, "state");
            s.disconnect();
            return { recovered: s.recovered, got, state };
          });
          assert.equal(after.recovered, true);
          assert.deepEqual(
            after.got.map((args) => args[0]),
            [0, 1, { room: "r1", k: 2 }, 4],
          );
          for (const args of after.got) {
            assert.equal(args.length, 2, "each event carries its offset last");
            assert.equal(typeof args[1], "string");
          }
          assert.equal(after.state.id, before.id, "the same id");
          assert.deepEqual(after.state, { id: before.id, recovered: true, rooms: ["r1"], data: { n: 1 } });
          // (Reconnection attempts while offline log network errors: only traps count.)
          assertNoTrap(page);
        } finally {
          await page.context().setOffline(false);
          closeAllClients();
        }
      });
    }
  });
}
