// manager.engine and the Manager's own events with the wasm client in Chromium, as
// socket.io-client 4.8 has them: the engine's packet / packetCreate / heartbeat / drain /
// close and readyState, a new engine for each session, upgrading then upgrade, the Manager's
// `packet` (decoded Socket.IO packets) and open(callback).
// Against the Rust and the Node contract servers; every test passes with socket.io-client too
// (SIO_BROWSER_CLIENT=ref).
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, it } from "node:test";
import { Server } from "socket.io";
import { MODES, freePort } from "../lib/harness.mjs";
import { IMPLS, useBrowser, useServerFor, assertClean, assertNoTrap } from "../lib/browser.mjs";

const b = useBrowser();

/** In the page: a socket whose engine events (from the first `open` on) and Manager
 *  `packet` events are logged in window.log. */
function watch({ url, opts }) {
  const s = sio.io(url, { forceNew: true, ...opts });
  const log = [];
  // The handshake's id is random: shown as "…".
  const show = (d) => (typeof d == "string" ? d.replace(/"sid":"[^"]+"/g, '"sid":"…"').replace(/"pid":"[^"]+"/g, '"pid":"…"') : d);
  s.io.on("open", () => {
    const e = s.io.engine;
    log.push(["readyState", e.readyState]);
    e.on("packet", (p) => log.push(["packet", p.type, show(p.data)]));
    e.on("packetCreate", (p) => log.push(["packetCreate", p.type, show(p.data), p.options]));
    e.on("heartbeat", () => log.push(["heartbeat"]));
    e.on("drain", () => log.push(["drain"]));
    e.on("upgrading", (tr) => log.push(["upgrading", tr.name]));
    e.on("upgrade", (tr) => log.push(["upgrade", tr.name]));
    e.on("close", (reason) => log.push(["close", reason]));
  });
  s.io.on("packet", (p) => log.push(["io:packet", p.type, p.nsp, p.id ?? null, p.type === 0 ? Object.keys(p.data) : p.data]));
  Object.assign(window, { s, log });
  return t.next(s, "connect").then(() => null);
}

for (const impl of IMPLS) {
  describe(`manager.engine (${impl} server)`, () => {
    const srv = useServerFor(impl);

    for (const mode of ["polling", "websocket"]) {
      it(`[${mode}] packet, packetCreate, heartbeat, drain and close; the Manager's decoded packets; readyState`, async () => {
        const page = await b.page();
        await page.evaluate(watch, { url: srv.url, opts: MODES[mode] });
        const out = await page.evaluate(async () => {
          // The drain of the echo's write is awaited: under load the ack can come back
          // before it (the transport emits it on a later turn), and a disconnect would then
          // close the engine first.
          const drained = t.next(s.io.engine, "drain");
          const [answer] = await t.ack(s, "echo", "x");
          await drained;
          const engine = s.io.engine;
          const closed = t.next(engine, "close");
          s.disconnect();
          await closed;
          return { answer, log, state: engine.readyState };
        });
        assert.equal(out.answer, "x");
        const compress = { compress: true };
        const messages = out.log.filter((l) => (l[0] === "packet" || l[0] === "packetCreate") && l[1] === "message");
        // (the CONNECT went out before the page's `open` listener ran, as upstream)
        assert.deepEqual(messages, [
          ["packet", "message", '0{"sid":"…"}'],
          ["packetCreate", "message", '20["echo","x"]', compress],
          ["packet", "message", '30["x"]'],
          ["packetCreate", "message", "1", compress],
        ]);
        assert.deepEqual(
          out.log.filter((l) => l[0] === "io:packet"),
          [
            ["io:packet", 0, "/", null, ["sid"]],
            ["io:packet", 3, "/", 0, ["x"]],
          ],
        );
        assert.deepEqual(out.log[0], ["readyState", "open"]);
        const packets = out.log.filter((l) => l[0] === "packet").length;
        assert.equal(out.log.filter((l) => l[0] === "heartbeat").length, packets, "one heartbeat per packet received");
        assert.ok(out.log.some((l) => l[0] === "drain"), "drain once the buffer is written");
        assert.deepEqual(out.log.at(-1), ["close", "forced close"]);
        assert.equal(out.state, "closed");
        assertClean(page);
      });
    }

    it("[upgrade] upgrading, then upgrade, to websocket; packets keep flowing", async () => {
      const page = await b.page();
      await page.evaluate(watch, { url: srv.url, opts: MODES.upgrade });
      const out = await page.evaluate(async () => {
        await t.waitFor(() => s.io.engine.transport?.name === "websocket", "the upgrade to websocket");
        const [answer] = await t.ack(s, "echo", "after");
        s.disconnect();
        return { answer, log };
      });
      assert.equal(out.answer, "after");
      const upgrade = out.log.filter((l) => l[0] === "upgrading" || l[0] === "upgrade");
      assert.deepEqual(upgrade, [
        ["upgrading", "websocket"],
        ["upgrade", "websocket"],
      ]);
      const after = out.log.slice(out.log.findIndex((l) => l[0] === "upgrade"));
      assert.ok(after.some((l) => l[0] === "packet" && l[2] === '30["after"]'), "the ack came as an engine packet after the upgrade");
      assertClean(page);
    });

    it("a new manager.engine for each session: listeners added on each open do not pile up", async () => {
      const page = await b.page();
      await page.evaluate(
        ({ url }) => {
          const s = sio.io(url, { forceNew: true, transports: ["websocket"], reconnectionDelay: 50, reconnectionDelayMax: 50 });
          const seen = [];
          let n = 0;
          s.io.on("open", () => {
            const k = ++n;
            s.io.engine.on("packet", (p) => p.type === "message" && seen.push([k, p.data]));
          });
          Object.assign(window, { s, seen });
          return t.next(s, "connect").then(() => {
            window.first = s.io.engine;
            window.gone = t.next(s, "disconnect");
          });
        },
        { url: srv.url },
      );
      // The network goes away and comes back: the manager reconnects, on a new engine.
      await page.context().setOffline(true);
      await page.evaluate(() => window.gone);
      await page.evaluate(() => {
        window.back = t.next(s, "connect");
      });
      await page.context().setOffline(false);
      const out = await page.evaluate(async () => {
        await window.back;
        seen.length = 0;
        await t.ack(s, "echo", "once");
        s.disconnect();
        return { seen, renewed: first !== s.io.engine };
      });
      assert.equal(out.renewed, true);
      assert.deepEqual(out.seen, [[2, '30["once"]']]);
      // A reconnection attempt while offline is expected to fail, and Chromium logs it.
      assertNoTrap(page);
      assert.deepEqual(
        page.errors.filter((e) => !/ERR_INTERNET_DISCONNECTED/.test(e)),
        [],
        `page errors: ${JSON.stringify(page.errors)}`,
      );
    });

    it("open(callback): called once the connection is open; with the error when it fails, and then no reconnection", async () => {
      const page = await b.page();
      const out = await page.evaluate(
        async ({ url, dead }) => {
          const m = new sio.Manager(url, { autoConnect: false, transports: ["websocket"] });
          const opened = await new Promise((r) => m.open((err) => r(err === undefined ? "ok" : err.message)));
          const again = [];
          m.open(() => again.push("called")); // already open: nothing happens
          const bad = new sio.Manager(dead, { autoConnect: false, transports: ["websocket"], reconnectionDelay: 10 });
          const attempts = [];
          bad.on("reconnect_attempt", (n) => attempts.push(n));
          const failed = await new Promise((r) => bad.open((err) => r(err instanceof Error)));
          // a reconnection would start within the 10 ms delay: give it 20 times that
          await new Promise((r) => setTimeout(r, 200));
          return { opened, again, failed, attempts };
        },
        { url: srv.url, dead: `http://127.0.0.1:${await freePort()}` },
      );
      assert.deepEqual(out, { opened: "ok", again: [], failed: true, attempts: [] });
      // (the browser logs the refused connection)
      assertNoTrap(page);
    });
  });
}

// A Node socket.io server that refuses WebSocket (`transports: ["polling"]`), as behind a
// proxy that blocks it: with `tryAllTransports` the client falls back to the next transport
// of its list; without, the refusal is a connect_error.
describe("tryAllTransports (a server with polling only)", () => {
  const srv = {};
  before(async () => {
    srv.http = createServer();
    srv.io = new Server(srv.http, { transports: ["polling"], cors: { origin: "*" } });
    await new Promise((r) => srv.http.listen(0, "127.0.0.1", r));
    srv.url = `http://127.0.0.1:${srv.http.address().port}`;
  });
  after(async () => {
    await new Promise((r) => srv.io.close(r));
  });

  /** In the page: connects with `opts`; the transports the Manager opened, and how it went. */
  function attempt({ url, opts }) {
    const s = sio.io(url, { forceNew: true, reconnection: false, transports: ["websocket", "polling"], ...opts });
    const opened = [];
    s.io.on("open", () => opened.push(s.io.engine.transport.name));
    return new Promise((resolve) => {
      s.once("connect", () => resolve("connect"));
      s.once("connect_error", (e) => resolve(`connect_error ${e.message}`));
    }).then((how) => {
      s.disconnect();
      return { how, opened };
    });
  }

  it("the refused WebSocket hands over to polling", async () => {
    const page = await b.page();
    const got = await page.evaluate(attempt, { url: srv.url, opts: { tryAllTransports: true } });
    assert.deepEqual(got, { how: "connect", opened: ["polling"] });
    // (the browser logs the refused WebSocket)
    assertNoTrap(page);
  });

  it("without it, the refused WebSocket is a connect_error", async () => {
    const page = await b.page();
    const got = await page.evaluate(attempt, { url: srv.url, opts: {} });
    assert.deepEqual(got, { how: "connect_error websocket error", opened: [] });
    assertNoTrap(page);
  });
});
