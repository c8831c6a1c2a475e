// Heartbeat and connect timeout, with a server started with
// PING_INTERVAL_MS=200 PING_TIMEOUT_MS=400 CONNECT_TIMEOUT_MS=300 MAX_PAYLOAD=5000.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MODES, useServer, connect, once, ack } from "../lib/harness.mjs";
import { PollingSession, WsSession, SESSION_UNKNOWN } from "../lib/raw.mjs";

const PING_INTERVAL = 200;
const PING_TIMEOUT = 400;
const CONNECT_TIMEOUT = 300;
const srv = useServer({
  PING_INTERVAL_MS: String(PING_INTERVAL),
  PING_TIMEOUT_MS: String(PING_TIMEOUT),
  CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT),
  MAX_PAYLOAD: "5000",
});

/** GET until the session is closed: packets may be noops / pings (answered? no) before "1"; then 400. */
async function pollUntilClosed(sess, { answerPings = false, max = 20 } = {}) {
  const seen = [];
  for (let k = 0; k < max; k++) {
    const r = await sess.get({ timeout: 5_000 });
    if (r.status === 400) {
      assert.deepEqual(r.json(), SESSION_UNKNOWN);
      return seen;
    }
    assert.equal(r.status, 200, `GET -> ${r.status} ${r.text}`);
    seen.push(...r.packets);
    if (r.packets.includes("1")) {
      const after = await sess.get();
      assert.equal(after.status, 400);
      assert.deepEqual(after.json(), SESSION_UNKNOWN);
      return seen;
    }
    if (answerPings && r.packets.includes("2")) await sess.post("3");
  }
  assert.fail(`session not closed after ${max} polls: ${JSON.stringify(seen)}`);
}

for (const [mode, mopts] of Object.entries(MODES)) {
  describe(`heartbeat [${mode}]`, () => {
    test("the client receives pings and stays connected across several ping rounds", async () => {
      const s = await connect(srv.url, mopts);
      const engine = s.io.engine;
      const started = Date.now();
      for (let k = 0; k < 3; k++) await once(engine, "ping", { timeout: 3_000 });
      assert.ok(Date.now() - started >= 2 * PING_INTERVAL - 50, "pings came faster than pingInterval");
      assert.equal(s.connected, true);
      const [v] = await ack(s, "echo", "after pings");
      assert.equal(v, "after pings");
      const [info] = await ack(s, "server-info");
      assert.equal(info.connId, engine.id);
    });

    test("a connected socket outlives the connect timeout", async () => {
      const s = await connect(`${srv.url}/custom`, mopts);
      const id = s.io.engine.id;
      // 3 ping rounds = 600 ms > CONNECT_TIMEOUT
      for (let k = 0; k < 3; k++) await once(s.io.engine, "ping", { timeout: 3_000 });
      assert.equal(s.connected, true);
      const [info] = await ack(s, "server-info");
      assert.equal(info.connId, id);
    });
  });
}

describe("heartbeat (raw)", () => {
  test("handshake advertises pingInterval, pingTimeout, maxPayload (polling and websocket)", async () => {
    const p = await PollingSession.handshake(srv.url);
    assert.equal(typeof p.open.sid, "string");
    assert.deepEqual(p.open.upgrades, ["websocket"]);
    assert.equal(p.open.pingInterval, PING_INTERVAL);
    assert.equal(p.open.pingTimeout, PING_TIMEOUT);
    assert.equal(p.open.maxPayload, 5000);
    const w = await WsSession.handshake(srv.url);
    assert.deepEqual(w.open.upgrades, []);
    assert.equal(w.open.pingInterval, PING_INTERVAL);
    assert.equal(w.open.pingTimeout, PING_TIMEOUT);
    assert.equal(w.open.maxPayload, 5000);
    w.close();
  });

  test("websocket: a session that never CONNECTs is closed after CONNECT_TIMEOUT_MS", async () => {
    const t0 = Date.now();
    const w = await WsSession.handshake(srv.url); // answers pings
    const closed = await w.waitClosed({ timeout: 5_000 });
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= CONNECT_TIMEOUT - 10, `closed too early (${elapsed} ms)`);
    assert.ok(elapsed < CONNECT_TIMEOUT + 2_000, `closed too late (${elapsed} ms)`);
    assert.ok(closed.code >= 1000);
  });

  test("polling: a session that never CONNECTs is closed after CONNECT_TIMEOUT_MS", async () => {
    const t0 = Date.now();
    const p = await PollingSession.handshake(srv.url);
    await pollUntilClosed(p, { answerPings: true });
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= CONNECT_TIMEOUT - 10, `closed too early (${elapsed} ms)`);
  });

  test("websocket: a CONNECTed session that answers pings stays open for 4+ ping rounds", async () => {
    const w = await WsSession.handshake(srv.url);
    await w.connect("/");
    await w.waitPings(4); // answered with "3" by WsSession
    assert.equal(w.closeInfo, null);
    assert.deepEqual(await w.echo("still"), ["still"]);
    w.close();
  });

  test("websocket: a client that never answers pings is closed (pingInterval + pingTimeout)", async () => {
    const w = await WsSession.handshake(srv.url, { autoPong: false });
    await w.connect("/");
    const t0 = Date.now();
    const ping = await w.receive((m) => m === "2", { timeout: 3_000 });
    assert.equal(ping, "2");
    const closed = await w.waitClosed({ timeout: 5_000 });
    assert.ok(closed.code >= 1000);
    assert.ok(Date.now() - t0 < PING_INTERVAL + PING_TIMEOUT + 2_000);
  });

  test("polling: a client that never answers pings is closed", async () => {
    const p = await PollingSession.handshake(srv.url);
    const r = await p.post("40");
    assert.equal(r.status, 200);
    const seen = await pollUntilClosed(p, { answerPings: false });
    assert.ok(seen.includes("2"), `expected a ping before the close, saw ${JSON.stringify(seen)}`);
  });

  test("polling: a CONNECTed client that answers pings stays open", async () => {
    const p = await PollingSession.handshake(srv.url);
    await p.connect("/");
    let pings = 0;
    while (pings < 4) {
      const r = await p.get();
      assert.equal(r.status, 200, r.text);
      assert.ok(!r.packets.includes("1"), "session closed");
      for (const pk of r.packets) {
        if (pk === "2") {
          pings++;
          assert.equal((await p.post("3")).status, 200);
        }
      }
    }
    assert.deepEqual(await p.echo("alive"), ["alive"]);
  });
});

test("server process is still alive", () => {
  assert.equal(srv.alive(), true);
});
