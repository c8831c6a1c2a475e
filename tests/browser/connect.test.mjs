// Connecting with the wasm client in Chromium: socket props through a connection's life,
// the transport the server sees (server-info), query / auth / extraHeaders reaching the server
// (the features server's `whoami`), path, autoConnect, connecting again, rememberUpgrade.
// Against the Rust and the Node servers, once per transport mode.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { describe, it, before, after } from "node:test";
import { Server } from "socket.io";
import { MODES } from "../lib/harness.mjs";
import { IMPLS, useBrowser, useServerFor, assertClean, assertNoTrap } from "../lib/browser.mjs";

const b = useBrowser();
const UNDEF = { $: "undefined" };

for (const impl of IMPLS) {
  describe(`connect (${impl} server)`, () => {
    const srv = useServerFor(impl);
    const feat = useServerFor(impl, { kind: "features" });

    for (const [mode, mopts] of Object.entries(MODES)) {
      describe(`[${mode}]`, () => {
        it("id / connected / disconnected / active before, while and after a connection", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const props = (s) => ({ id: t.show(s.id), connected: s.connected, disconnected: s.disconnected, active: s.active });
              const s = sio.io(url, { ...mopts, forceNew: true, reconnection: false });
              const before = props(s);
              await t.next(s, "connect");
              const during = props(s);
              const [info] = await t.ack(s, "server-info");
              const closed = t.next(s, "disconnect");
              s.disconnect();
              const [reason] = await closed;
              return { before, during, info, reason, after: props(s), recovered: s.recovered };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out.before, { id: UNDEF, connected: false, disconnected: true, active: true });
          assert.equal(typeof out.during.id, "string");
          assert.ok(out.during.id.length > 0);
          assert.deepEqual({ ...out.during, id: "x" }, { id: "x", connected: true, disconnected: false, active: true });
          assert.equal(out.info.id, out.during.id, "the server knows the socket by the same id");
          assert.equal(out.info.nsp, "/");
          assert.equal(out.reason, "io client disconnect");
          assert.deepEqual(out.after, { id: UNDEF, connected: false, disconnected: true, active: false });
          assert.ok(!out.recovered, "recovered is falsy");
          assertClean(page);
        });

        it("server-info shows the transport in use (websocket after the upgrade)", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts, mode }) => {
              const s = await t.connect(url, mopts);
              const first = s.io.transport;
              if (mode === "upgrade") await t.waitFor(() => s.io.transport === "websocket", "the upgrade to websocket");
              const [info] = await t.ack(s, "server-info");
              const now = s.io.transport;
              s.disconnect();
              return { first, now, info };
            },
            { url: srv.url, mopts, mode },
          );
          const expected = {
            polling: ["polling", "polling"],
            websocket: ["websocket", "websocket"],
            upgrade: ["websocket", "polling"],
          }[mode];
          assert.deepEqual([out.info.transport, out.info.initialTransport], expected);
          assert.equal(out.now, out.info.transport, "manager.transport agrees with the server");
          // (in upgrade mode the upgrade may be over by the time "connect" is handled)
          if (mode !== "upgrade") assert.equal(out.first, mode);
          assertClean(page);
        });

        it("query (object, string, in the URL) and auth (object, function) reach the server", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const who = async (u, o) => {
                const s = await t.connect(u, { ...mopts, ...o });
                const [w] = await t.ack(s, "whoami");
                const same = w.id === s.id;
                s.disconnect();
                return { ...w, same };
              };
              let calls = 0;
              return {
                object: await who(url, { query: { q: "from object" }, auth: { name: "ann" } }),
                string: await who(url, { query: "q=from%20string&x=1" }),
                url: await who(`${url}/?q=from-url`, {}),
                fn: await who(url, {
                  auth: (cb) => {
                    calls++;
                    cb({ name: "fn-ann" });
                  },
                }),
                calls,
              };
            },
            { url: feat.url, mopts },
          );
          assert.deepEqual({ ...out.object, id: 0 }, { id: 0, nsp: "/", name: "ann", q: "from object", header: null, same: true });
          assert.equal(out.string.q, "from string");
          assert.equal(out.string.name, null);
          assert.equal(out.url.q, "from-url");
          assert.equal(out.fn.name, "fn-ann");
          assert.equal(out.calls, 1, "the auth function is called once per CONNECT");
          assertClean(page);
        });

        if (mode !== "websocket") {
          // Browsers cannot set headers on a WebSocket: extraHeaders go on polling requests,
          // the handshake included.
          it("extraHeaders reach the server on the polling handshake", async () => {
            const page = await b.page();
            const w = await page.evaluate(
              async ({ url, mopts }) => {
                const s = await t.connect(url, { ...mopts, extraHeaders: { "x-test": "hdr-value" } });
                const [w] = await t.ack(s, "whoami");
                s.disconnect();
                return w;
              },
              { url: feat.url, mopts },
            );
            assert.equal(w.header, "hdr-value");
            assertClean(page);
          });
        }

        it("path: the default path given explicitly connects; a wrong path gives connect_error", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, { ...mopts, path: "/socket.io" });
              const [v] = await t.ack(s, "echo", "path");
              s.disconnect();
              const bad = sio.io(url, { ...mopts, path: "/not-socket.io", forceNew: true, reconnection: false, timeout: 1500 });
              const [err] = await t.next(bad, "connect_error");
              const state = { connected: bad.connected, active: bad.active };
              bad.disconnect();
              return { v, err: t.show(err), state };
            },
            { url: srv.url, mopts },
          );
          assert.equal(out.v, "path");
          assert.equal(out.err.$, "Error");
          assert.equal(typeof out.err.message, "string");
          assert.ok(out.err.message.length > 0);
          assert.equal(out.state.connected, false);
          assertNoTrap(page);
        });

        it("autoConnect: false waits for connect(); open() is the same", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = sio.io(url, { ...mopts, forceNew: true, reconnection: false, autoConnect: false });
              const idle = { connected: s.connected, active: s.active, transport: t.show(s.io.transport) };
              // nothing happens until connect(): an echo round trip on another client first
              const other = await t.connect(url, mopts);
              await t.barrier(other);
              other.disconnect();
              const stillIdle = { connected: s.connected, active: s.active };
              const p = t.next(s, "connect");
              const ret = s.connect();
              await p;
              const [v] = await t.ack(s, "echo", 1);
              s.disconnect();
              const s2 = sio.io(url, { ...mopts, forceNew: true, reconnection: false, autoConnect: false });
              const p2 = t.next(s2, "connect");
              const ret2 = s2.open();
              await p2;
              s2.disconnect();
              return { idle, stillIdle, v, chain: ret === s && ret2 === s2 };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out.idle, { connected: false, active: false, transport: UNDEF });
          assert.deepEqual(out.stillIdle, { connected: false, active: false });
          assert.equal(out.v, 1);
          assert.equal(out.chain, true, "connect()/open() return the socket");
          assertClean(page);
        });

        it("connect() after disconnect() connects again with a new id", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await t.connect(url, mopts);
              const id1 = s.id;
              s.disconnect();
              const p = t.next(s, "connect");
              s.connect();
              await p;
              const [info] = await t.ack(s, "server-info");
              const id2 = s.id;
              s.disconnect();
              return { id1, id2, info };
            },
            { url: srv.url, mopts },
          );
          assert.notEqual(out.id2, out.id1);
          assert.equal(out.info.id, out.id2);
          assertClean(page);
        });
      });
    }

    // https://socket.io/docs/v4/client-api/: the members apps use, socket.io.engine included
    // (its own docs show socket.io.engine.transport.name and engine.once("upgrade")).
    it("the documented client API is there", async () => {
      const page = await b.page();
      const missing = await page.evaluate(
        async ({ url }) => {
          const s = await t.connect(url, { auth: { name: "x" } });
          const m = s.io;
          const missing = [];
          const fns = {
            Manager: [m, ["open", "connect", "socket", "reconnection", "reconnectionAttempts", "reconnectionDelay", "reconnectionDelayMax", "randomizationFactor", "timeout", "on", "once", "off", "listeners", "hasListeners"]],
            Socket: [s, ["connect", "open", "disconnect", "close", "emit", "emitWithAck", "send", "on", "once", "off", "listeners", "hasListeners", "onAny", "prependAny", "offAny", "listenersAny", "onAnyOutgoing", "prependAnyOutgoing", "offAnyOutgoing", "listenersAnyOutgoing", "compress", "timeout"]],
          };
          for (const [name, [obj, keys]] of Object.entries(fns)) {
            for (const k of keys) if (typeof obj[k] !== "function") missing.push(`${name}.${k}()`);
          }
          for (const k of ["id", "connected", "disconnected", "active", "io"]) if (!(k in s)) missing.push(`Socket.${k}`);
          if (s.auth?.name !== "x") missing.push("Socket.auth (the auth option)");
          if (!("volatile" in s)) missing.push("Socket.volatile");
          if (typeof m.engine !== "object" || m.engine === null) missing.push("Manager.engine");
          else if (m.engine.transport?.name !== m.transport) missing.push("Manager.engine.transport.name");
          if (typeof sio.Socket !== "function") missing.push("export Socket");
          if (typeof sio.Manager !== "function") missing.push("export Manager");
          s.disconnect();
          return missing;
        },
        { url: srv.url },
      );
      assert.deepEqual(missing, []);
      assertClean(page);
    });

    it("Manager option getters give socket.io-client's defaults; setters chain and take effect", async () => {
      const page = await b.page();
      const out = await page.evaluate(
        async ({ url }) => {
          const m = new sio.Manager(url, { autoConnect: false });
          const names = ["reconnection", "reconnectionAttempts", "reconnectionDelay", "reconnectionDelayMax", "randomizationFactor", "timeout"];
          const defaults = Object.fromEntries(names.map((k) => [k, m[k]()]));
          const chained = [m.reconnection(false), m.reconnectionAttempts(3), m.reconnectionDelay(10), m.timeout(1234)].every((r) => r === m);
          const set = Object.fromEntries(names.map((k) => [k, m[k]()]));
          // the option object form is read the same way
          const m2 = new sio.Manager(url, { autoConnect: false, reconnection: false, reconnectionAttempts: 7, timeout: 99 });
          const fromOpts = [m2.reconnection(), m2.reconnectionAttempts(), m2.timeout()];
          // `timeout: false` (no connect timeout) reads back as false
          const noTimeout = [new sio.Manager(url, { autoConnect: false, timeout: false }).timeout(), m.timeout(false).timeout()];
          // reconnection(false) takes effect: a refused connection is not retried
          const probe = new sio.Manager("http://127.0.0.1:1", { autoConnect: false, reconnectionDelay: 10, randomizationFactor: 0 });
          probe.reconnection(false);
          const s = probe.socket("/");
          const attempts = t.collect(probe, "reconnect_attempt");
          const err = t.next(s, "connect_error");
          s.connect();
          await err;
          await new Promise((r) => setTimeout(r, 100)); // 10 times the reconnection delay
          s.disconnect();
          return { defaults, chained, set, fromOpts, noTimeout, attempts: attempts.length };
        },
        { url: srv.url },
      );
      assert.deepEqual(out.defaults, {
        reconnection: true,
        reconnectionAttempts: Infinity,
        reconnectionDelay: 1000,
        reconnectionDelayMax: 5000,
        randomizationFactor: 0.5,
        timeout: 20000,
      });
      assert.equal(out.chained, true);
      assert.deepEqual(out.set, { ...out.defaults, reconnection: false, reconnectionAttempts: 3, reconnectionDelay: 10, timeout: 1234 });
      assert.deepEqual(out.fromOpts, [false, 7, 99]);
      assert.deepEqual(out.noTimeout, [false, false]);
      assert.equal(out.attempts, 0);
      assertNoTrap(page);
    });

    it("option quirks as socket.io-client: 0 reconnection attempts or delays are the defaults; io() caches a Manager per path", async () => {
      const page = await b.page();
      const out = await page.evaluate(
        async ({ url }) => {
          const m = new sio.Manager(url, { autoConnect: false, reconnectionAttempts: 0, reconnectionDelay: 0, reconnectionDelayMax: 0 });
          const zeros = [m.reconnectionAttempts(), m.reconnectionDelay(), m.reconnectionDelayMax()];
          const a = sio.io(`${url}/a`, { autoConnect: false, path: "/socket.io" });
          const b = sio.io(`${url}/b`, { autoConnect: false });
          const c = sio.io(`${url}/c`, { autoConnect: false, path: "/other" });
          return { zeros, samePath: a.io === b.io, otherPath: a.io === c.io };
        },
        { url: srv.url },
      );
      assert.deepEqual(out, { zeros: [Infinity, 1000, 5000], samePath: true, otherPath: false });
      assertNoTrap(page);
    });

    it("binary in auth goes as JSON.stringify has it, as socket.io-client: the socket connects", async () => {
      const page = await b.page();
      const w = await page.evaluate(
        async ({ url }) => {
          const s = await t.connect(url, { auth: { name: "bin", data: new ArrayBuffer(4) } });
          const [w] = await t.ack(s, "whoami");
          s.disconnect();
          return w;
        },
        { url: feat.url },
      );
      assert.equal(w.name, "bin");
      assertClean(page);
    });

    it("socket.io.opts is read again at each reconnection: query and extraHeaders set in reconnect_attempt, transports in connect_error", async () => {
      const page = await b.page();
      await page.evaluate(
        ({ url }) => {
          const s = sio.io(url, {
            forceNew: true,
            transports: ["websocket"],
            query: { q: "first" },
            extraHeaders: { "x-test": "one" },
            reconnectionDelay: 100,
            reconnectionDelayMax: 200,
            randomizationFactor: 0,
          });
          // A refreshed token, as pages do it; and a fallback to polling after a failure.
          s.io.on("reconnect_attempt", () => {
            s.io.opts.query = { q: "second" };
            s.io.opts.extraHeaders = { "x-test": "two" };
          });
          s.on("connect_error", () => (s.io.opts.transports = ["polling"]));
          window.s = s;
          return t.next(s, "connect");
        },
        { url: feat.url },
      );
      const before = await page.evaluate(async () => (await t.ack(s, "whoami"))[0]);
      await page.evaluate(() => {
        window.failed = t.next(s, "connect_error");
      });
      await page.context().setOffline(true);
      await page.evaluate(() => window.failed);
      await page.evaluate(() => {
        window.back = t.next(s, "connect");
      });
      await page.context().setOffline(false);
      const after = await page.evaluate(async () => {
        await window.back;
        const [w] = await t.ack(s, "whoami");
        const transport = s.io.engine.transport.name;
        s.disconnect();
        return { ...w, transport };
      });
      // Browsers cannot set headers on a WebSocket: the first session sends none.
      assert.deepEqual([before.q, before.header], ["first", null]);
      assert.deepEqual([after.q, after.header, after.transport], ["second", "two", "polling"]);
      assertNoTrap(page);
    });

    it("[upgrade] rememberUpgrade: after a session upgraded, a new client starts on websocket", async () => {
      const page = await b.page();
      const out = await page.evaluate(
        async ({ url }) => {
          const a = await t.connect(url, {});
          await t.waitFor(() => a.io.transport === "websocket", "the upgrade to websocket");
          await t.barrier(a);
          a.disconnect();
          const s = await t.connect(url, { rememberUpgrade: true });
          const [info] = await t.ack(s, "server-info");
          s.disconnect();
          const plain = await t.connect(url, {});
          const [info2] = await t.ack(plain, "server-info");
          plain.disconnect();
          return { remembered: info.initialTransport, plain: info2.initialTransport };
        },
        { url: srv.url },
      );
      assert.equal(out.remembered, "websocket");
      assert.equal(out.plain, "polling", "without rememberUpgrade: polling first");
      assertClean(page);
    });
  });
}

// The path option against a server on another path: an in-process official socket.io server.
describe("path option (in-process socket.io server on /my-path/)", () => {
  let http, io, url;
  before(async () => {
    http = createServer();
    io = new Server(http, { path: "/my-path/", cors: { origin: "*" } });
    io.on("connection", (s) => s.on("echo", (...a) => typeof a.at(-1) === "function" && a.pop()(...a)));
    await new Promise((r) => http.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${http.address().port}`;
  });
  after(async () => {
    io.close();
    await new Promise((r) => http.close(r));
  });
  for (const [mode, mopts] of Object.entries(MODES)) {
    it(`[${mode}] path "/my-path" connects and echoes`, async () => {
      const page = await b.page();
      const v = await page.evaluate(
        async ({ url, mopts }) => {
          const s = await t.connect(url, { ...mopts, path: "/my-path" });
          const [v] = await t.ack(s, "echo", "on my path");
          s.disconnect();
          return v;
        },
        { url, mopts },
      );
      assert.equal(v, "on my path");
      assertClean(page);
    });
  }
});
