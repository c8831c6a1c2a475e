// Bad servers, faked in node on 127.0.0.1 (http + ws, and engine.io for a session that gets as
// far as the Socket.IO CONNECT): a handshake answered with garbage, a connection closed in the
// middle of the handshake, a server that never answers (client `timeout` → "timeout"), and
// malformed Socket.IO packets after connecting (→ disconnect "parse error"). In every case the
// wasm client reports connect_error / disconnect with a reason, schedules a reconnection
// (reconnect_attempt) and does not trap.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { describe, it, before, after } from "node:test";
import { WebSocketServer } from "ws";
import { MODES } from "../lib/harness.mjs";
import { useBrowser, useFakeEngine, assertNoTrap } from "../lib/browser.mjs";

const b = useBrowser();
const FAST = { reconnectionDelay: 50, reconnectionDelayMax: 100, randomizationFactor: 0 };
const HANDSHAKE_MODES = { polling: MODES.polling, websocket: MODES.websocket }; // upgrade starts as polling
const CORS = { "access-control-allow-origin": "*", "content-type": "text/plain; charset=UTF-8" };

/**
 * A fake server: `onPoll(req, res)` answers polling requests, `onWs(ws)` a websocket once
 * upgraded, `onUpgrade(req, socket, head)` (optional) replaces the upgrade itself. Every TCP
 * socket is destroyed on close, held requests included.
 */
async function fakeServer({ onPoll, onWs, onUpgrade }) {
  const sockets = new Set();
  const http = createServer((req, res) => {
    if (req.method === "OPTIONS") {
      res.writeHead(204, { ...CORS, "access-control-allow-headers": "*", "access-control-allow-methods": "GET, POST" });
      return res.end();
    }
    onPoll(req, res);
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on("upgrade", (req, socket, head) => {
    if (onUpgrade) return onUpgrade(req, socket, head);
    wss.handleUpgrade(req, socket, head, (ws) => onWs(ws));
  });
  http.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise((r) => http.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${http.address().port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      wss.close();
      await new Promise((r) => http.close(r));
    },
  };
}

/** Hooks for a fake server in the current describe. */
function useFake(spec) {
  const fake = {};
  before(async () => Object.assign(fake, await fakeServer(spec)));
  after(() => fake.close?.());
  return fake;
}

/**
 * In the page: a client with fast reconnection; resolves with its log once the first
 * reconnect_attempt has happened (then stops it).
 */
function untilReconnecting({ url, opts }) {
  const s = sio.io(url, { forceNew: true, ...opts });
  const log = [];
  s.on("connect", () => log.push(["connect"]));
  s.on("connect_error", (e) => log.push(["connect_error", e instanceof Error, e.message]));
  s.on("disconnect", (reason) => log.push(["disconnect", reason]));
  s.io.on("reconnect_attempt", (n) => log.push(["reconnect_attempt", n]));
  return t.next(s.io, "reconnect_attempt", 10_000).then(
    () => {
      s.disconnect();
      return log;
    },
    (e) => {
      s.disconnect();
      throw new Error(`${e.message}; events: ${JSON.stringify(log)}; connected: ${s.connected}, transport: ${s.io.transport}`);
    },
  );
}

/** The first connect_error of a log: [true, message], with a non-empty message. */
function firstConnectError(log) {
  const e = log.find((l) => l[0] === "connect_error");
  assert.ok(e, `no connect_error in ${JSON.stringify(log)}`);
  assert.equal(e[1], true, "connect_error gets an Error");
  assert.equal(typeof e[2], "string");
  assert.ok(e[2].length > 0, "with a message");
  return e[2];
}

function assertReconnecting(log) {
  assert.deepEqual(log.at(-1), ["reconnect_attempt", 1], JSON.stringify(log));
  assert.equal(log.filter((l) => l[0] === "connect").length, 0, JSON.stringify(log));
}

describe("handshake answered with garbage", () => {
  const fake = useFake({
    onPoll: (req, res) => {
      res.writeHead(200, CORS);
      res.end("this is not an engine.io payload");
    },
    onWs: (ws) => ws.send("this is not an engine.io packet"),
  });
  for (const [mode, mopts] of Object.entries(HANDSHAKE_MODES)) {
    // socket.io-client fails at once ("server error"), it does not wait for `timeout`
    it(`[${mode}] connect_error (not the connect timeout), then a reconnection attempt`, async () => {
      const page = await b.page();
      const log = await page.evaluate(untilReconnecting, { url: fake.url, opts: { ...mopts, ...FAST, timeout: 3000 } });
      assert.notEqual(firstConnectError(log), "timeout", "the garbage is reported as such");
      assertReconnecting(log);
      assertNoTrap(page);
    });
  }
});

describe("handshake: a JSON open packet with wrong fields", () => {
  const open = '0{"sid":42,"upgrades":"no","pingInterval":"x","pingTimeout":null}';
  const fake = useFake({
    onPoll: (req, res) => {
      res.writeHead(200, CORS);
      res.end(open);
    },
    onWs: (ws) => ws.send(open),
  });
  for (const [mode, mopts] of Object.entries(HANDSHAKE_MODES)) {
    // socket.io-client takes the NaN ping interval and fails with "ping timeout"
    it(`[${mode}] connect_error or disconnect with a reason, then a reconnection attempt`, async () => {
      const page = await b.page();
      const log = await page.evaluate(untilReconnecting, { url: fake.url, opts: { ...mopts, ...FAST, timeout: 1000 } });
      assertReconnecting(log);
      const reported = log.find((l) => l[0] === "connect_error" || l[0] === "disconnect");
      assert.ok(reported && typeof reported.at(-1) === "string" && reported.at(-1).length > 0, JSON.stringify(log));
      assertNoTrap(page);
    });
  }
});

describe("connection closed in the middle of the handshake", () => {
  const fake = useFake({
    onPoll: (req, res) => {
      // headers and half an open packet, then the TCP connection goes
      res.writeHead(200, { ...CORS, "content-length": "200" });
      res.write('0{"sid":"abc","upgrades":[],"pingInt');
      setTimeout(() => req.socket.destroy(), 20);
    },
    onWs: (ws) => ws.terminate(), // upgraded, then gone before the open packet
  });
  for (const [mode, mopts] of Object.entries(HANDSHAKE_MODES)) {
    // (socket.io-client only notices a websocket closed before the open packet at `timeout`)
    it(`[${mode}] connect_error, then a reconnection attempt`, async () => {
      const page = await b.page();
      const log = await page.evaluate(untilReconnecting, { url: fake.url, opts: { ...mopts, ...FAST, timeout: 1000 } });
      firstConnectError(log);
      assertReconnecting(log);
      assertNoTrap(page);
    });
  }
});

describe("connection reset at once (no HTTP answer, no websocket upgrade)", () => {
  const fake = useFake({
    onPoll: (req) => req.socket.destroy(),
    onUpgrade: (req, socket) => socket.destroy(),
  });
  for (const [mode, mopts] of Object.entries(HANDSHAKE_MODES)) {
    it(`[${mode}] connect_error, then a reconnection attempt`, async () => {
      const page = await b.page();
      const log = await page.evaluate(untilReconnecting, { url: fake.url, opts: { ...mopts, ...FAST } });
      firstConnectError(log);
      assertReconnecting(log);
      assertNoTrap(page);
    });
  }
});

describe("a server that never answers (timeout option)", () => {
  const fake = useFake({
    onPoll: () => {}, // the request stays pending until the server closes
    onUpgrade: () => {}, // the upgrade request too
  });
  const fakeWsSilent = useFake({
    onPoll: () => {},
    onWs: () => {}, // websocket open, but no Engine.IO open packet
  });
  for (const [mode, mopts] of Object.entries(HANDSHAKE_MODES)) {
    it(`[${mode}] timeout: 300 → connect_error "timeout", then a reconnection attempt`, async () => {
      const page = await b.page();
      const log = await page.evaluate(untilReconnecting, { url: fake.url, opts: { ...mopts, ...FAST, timeout: 300 } });
      assert.equal(firstConnectError(log), "timeout");
      assertReconnecting(log);
      assertNoTrap(page);
    });
  }
  it('[websocket] upgraded but no open packet: connect_error "timeout", then a reconnection attempt', async () => {
    const page = await b.page();
    const log = await page.evaluate(untilReconnecting, {
      url: fakeWsSilent.url,
      opts: { ...MODES.websocket, ...FAST, timeout: 300 },
    });
    assert.equal(firstConnectError(log), "timeout");
    assertReconnecting(log);
    assertNoTrap(page);
  });
});

// An Engine.IO server (the engine.io package) that accepts the Socket.IO CONNECT, then sends
// one malformed Socket.IO packet.
const MALFORMED = {
  "invalid JSON": '2["ev",',
  "unknown packet type": '9["ev"]',
  "event data not an array": '2{"a":1}',
  "reserved event name": '2["connect"]',
  "bad attachment count": '5x-["ev",{"_placeholder":true,"num":0}]',
};

describe("malformed Socket.IO packet after connecting", () => {
  const srv = useFakeEngine((conn, m, bad) => {
    if (typeof m === "string" && m.startsWith("0")) {
      if (!bad.startsWith("0")) conn.send('0{"sid":"fake-sid"}'); // a bad CONNECT answer replaces it
      conn.send(bad);
    }
  });
  for (const [mode, mopts] of Object.entries(MODES)) {
    for (const [what, packet] of Object.entries(MALFORMED)) {
      it(`[${mode}] ${what} (${packet}): disconnect "parse error", then a reconnection attempt`, async () => {
        const page = await b.page();
        const log = await page.evaluate(untilReconnecting, { url: srv.url, opts: { ...mopts, ...FAST, query: { bad: packet } } });
        // (socket.io-client may report "connect" after the "disconnect": it delivers decoded
        // packets a tick later, parse errors at once)
        const k = log.findIndex((l) => l[0] === "disconnect");
        assert.deepEqual(log[k], ["disconnect", "parse error"], JSON.stringify(log));
        assert.ok(log.findIndex((l) => l[0] === "reconnect_attempt") > k, JSON.stringify(log));
        assertNoTrap(page);
      });
    }
    it(`[${mode}] CONNECT answer without a sid (0{}): connect_error`, async () => {
      const page = await b.page();
      const out = await page.evaluate(
        async ({ url, opts }) => {
          const s = sio.io(url, { forceNew: true, ...opts });
          const [err] = await t.next(s, "connect_error");
          const r = { isError: err instanceof Error, message: err.message, connected: s.connected };
          s.disconnect();
          return r;
        },
        { url: srv.url, opts: { ...mopts, ...FAST, query: { bad: "0{}" } } },
      );
      assert.equal(out.isError, true);
      assert.equal(typeof out.message, "string");
      assert.ok(out.message.length > 0);
      assert.equal(out.connected, false);
      assertNoTrap(page);
    });
  }
});
