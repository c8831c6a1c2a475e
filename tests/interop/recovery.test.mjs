// Connection state recovery (CONTRACT.md `RECOVERY_MS`, Node's `connectionStateRecovery`), on
// one node: the official client and raw sessions against a contract server started with
// RECOVERY_MS, and a second one with a short RECOVERY_MS for expiry.
import { describe, test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  IS_NODE,
  MODES,
  useServer,
  startServer,
  connect,
  whenConnected,
  connectError,
  once,
  collect,
  ack,
  waitFor,
  sleep,
} from "../lib/harness.mjs";
import { WsSession } from "../lib/raw.mjs";

const PING_INTERVAL = 400;
const PING_TIMEOUT = 400;
const srv = useServer({
  RECOVERY_MS: "60000",
  PING_INTERVAL_MS: String(PING_INTERVAL),
  PING_TIMEOUT_MS: String(PING_TIMEOUT),
});

const RECONNECT = { reconnectionDelay: 20, reconnectionDelayMax: 40 };

// Raw sessions are closed after each test, as the harness closes its clients: the tests
// count the namespace's sockets.
const raws = new Set();
afterEach(() => {
  for (const s of raws) s.close();
  raws.clear();
});
const OFFSET = /^"[^"]+"$/;

/** Waits until the namespace has `n` sockets on the server (an ended socket's session is kept
 *  once it is gone from there), asking through `probe`. */
async function untilSockets(probe, n) {
  await waitFor(async () => (await ack(probe, "server-info"))[0].nspSockets === n, {
    what: `${n} sockets on the server`,
  });
}

/** A raw WebSocket session connected to "/": its CONNECT answer's sid and pid. */
async function rawSocket(url, opts) {
  const s = await WsSession.handshake(url, opts);
  raws.add(s);
  const answer = await s.connect("/");
  assert.match(answer, /^40\{/);
  return Object.assign(s, JSON.parse(answer.slice(2)));
}

/** Sends `["emit-as", ev, v]` and returns the offset the echoed event carries. */
async function offsetOf(s, ev, v) {
  s.send(`42${JSON.stringify(["emit-as", ev, v])}`);
  const m = await s.receive((m) => typeof m === "string" && m.startsWith(`42["${ev}",`));
  const args = JSON.parse(m.slice(2));
  assert.equal(args.length, 3, `an offset follows the arguments: ${m}`);
  assert.equal(typeof args[2], "string");
  return args[2];
}

/** Cuts raw session `s` and waits until its socket is gone from the server (its session is
 *  kept from then on), asking through a client it returns. */
async function cutRaw(s, url) {
  const probe = await connect(url);
  s.close();
  await untilSockets(probe, 1);
  return probe;
}

/** A raw socket that got one event (its offset), then was cut: what a recovery presents. */
async function cutSession(url) {
  const s1 = await rawSocket(url);
  const offset = await offsetOf(s1, "e", 0);
  const probe = await cutRaw(s1, url);
  return { s1, offset, probe };
}

/** Cuts client `a` under it (its engine closed, no reconnection) and waits until its socket
 *  is gone from the server, asking through `probe`. */
async function cutClient(a, probe) {
  const gone = once(a, "disconnect");
  a.io.engine.close();
  await gone;
  await untilSockets(probe, 1);
}

/** What a raw session gets for a CONNECT with `auth`: the packets before the answer, and the
 *  answer. */
async function rawConnect(url, auth) {
  const s = await WsSession.handshake(url);
  raws.add(s);
  s.send(`40${JSON.stringify(auth)}`);
  const before = [];
  for (;;) {
    const m = await s.next();
    if (typeof m === "string" && (m.startsWith("40") || m.startsWith("44"))) return { s, before, answer: m };
    if (m !== "2") before.push(m);
  }
}

for (const [mode, mopts] of Object.entries(MODES)) {
  describe(`recovery (${mode})`, () => {
    test("a cut connection comes back with its id, rooms and data, and gets what it missed, once, in order", async () => {
      const a = await connect(srv.url, { ...mopts, ...RECONNECT });
      const b = await connect(srv.url, mopts);
      assert.equal(a.recovered, false);
      await ack(a, "join", "r1");
      await ack(a, "set-data", { n: 1 });
      const gotA = collect(a, "bcast");
      const gotB = collect(b, "bcast");
      b.emit("broadcast", 0);
      await gotA.until((g) => g.length === 1);
      const id = a.id;

      await cutClient(a, b);
      b.emit("broadcast", 1);
      b.emit("to-room", { room: "r1", k: 2 });
      b.emit("to-room", { room: "elsewhere", k: 3 });
      b.emit("broadcast", 4);
      await gotB.until((g) => g.length === 3); // 0, 1, 4: the server has sent them all

      a.connect();
      await whenConnected(a);
      assert.equal(a.recovered, true);
      assert.equal(a.id, id);
      await gotA.until((g) => g.length === 4);
      assert.deepEqual(
        gotA.map((args) => args[0]),
        [0, 1, { room: "r1", k: 2 }, 4],
      );
      for (const args of gotA) {
        assert.equal(args.length, 2, "each event carries its offset last");
        assert.match(JSON.stringify(args[1]), OFFSET);
      }
      assert.equal(new Set(gotA.map((args) => args[1])).size, 4, "offsets are distinct");
      const [state] = await ack(a, "state");
      assert.deepEqual(state, { id, recovered: true, rooms: ["r1"], data: { n: 1 } });
      const [other] = await ack(b, "state");
      assert.equal(other.recovered, false);
    });

    test("the client's own reconnection recovers (transport closed under it)", async () => {
      const a = await connect(srv.url, { ...mopts, ...RECONNECT, reconnection: true });
      const got = collect(a, "e");
      a.emit("emit-as", "e", 1);
      await got.until((g) => g.length === 1);
      const id = a.id;
      const back = once(a, "connect");
      a.io.engine.close();
      await back;
      assert.equal(a.recovered, true);
      assert.equal(a.id, id);
    });
  });
}

describe("recovery on the wire", () => {
  test("a ping timeout keeps the session; the missed events come before the CONNECT answer", async () => {
    const s1 = await rawSocket(srv.url, { autoPong: false });
    assert.equal(typeof s1.pid, "string");
    const offset = await offsetOf(s1, "e", 0);
    s1.send('421["join","rr"]');
    await s1.receive((m) => m === "431[true]");
    await s1.waitClosed({ timeout: 5 * (PING_INTERVAL + PING_TIMEOUT) });

    const s2 = await rawSocket(srv.url);
    s2.send(`42${JSON.stringify(["to-room", { room: "rr", k: 1 }])}`);
    s2.send('42["broadcast",2]');
    await s2.receive((m) => typeof m === "string" && m.startsWith('42["bcast",2,'));

    const { before, answer } = await rawConnect(srv.url, { pid: s1.pid, offset });
    assert.deepEqual(JSON.parse(answer.slice(2)), { sid: s1.sid, pid: s1.pid });
    assert.equal(before.length, 2, JSON.stringify(before));
    assert.match(before[0], /^42\["bcast",\{"room":"rr","k":1\},"[^"]+"\]$/);
    assert.match(before[1], /^42\["bcast",2,"[^"]+"\]$/);
  });

  test("volatile emits, emits with an ack and acks carry no offset and are not replayed", async () => {
    const s1 = await rawSocket(srv.url);
    const offset = await offsetOf(s1, "e", 0);
    s1.send('42["emit-volatile","v",1]');
    assert.equal(await s1.receive((m) => m.startsWith('42["v"')), '42["v",1]');
    s1.send('42["server-ack",7]');
    assert.match(await s1.receive((m) => m.includes('"ping-client"')), /^42\d+\["ping-client",7\]$/);
    s1.send('429["echo",3]');
    assert.equal(await s1.receive((m) => m.startsWith("439")), "439[3]");
    await cutRaw(s1, srv.url);

    const { before, answer } = await rawConnect(srv.url, { pid: s1.pid, offset });
    assert.equal(JSON.parse(answer.slice(2)).sid, s1.sid, "recovered");
    assert.deepEqual(before, [], "nothing was missed");
  });

  test(
    "a session restores once: the same pid again connects a new socket",
    { skip: IS_NODE && "Node's in-memory adapter lets a pid restore again (its Redis Streams adapter does not)" },
    async () => {
      const { s1, offset } = await cutSession(srv.url);
      const first = await rawConnect(srv.url, { pid: s1.pid, offset });
      assert.equal(JSON.parse(first.answer.slice(2)).sid, s1.sid);
      const second = await rawConnect(srv.url, { pid: s1.pid, offset });
      const fresh = JSON.parse(second.answer.slice(2));
      assert.notEqual(fresh.sid, s1.sid);
      assert.notEqual(fresh.pid, s1.pid);
      assert.deepEqual(second.before, []);
    },
  );

  test("malformed or unknown pid and offset: an ordinary new socket", async () => {
    const { s1, offset, probe } = await cutSession(srv.url);
    const big = "x".repeat(10 * 1024);
    const attempts = [
      { pid: 5, offset },
      { pid: s1.pid, offset: 5 },
      { pid: { id: s1.pid }, offset: [offset] },
      { pid: null, offset: null },
      { pid: big, offset: big },
      { pid: s1.pid.replace(/./, (c) => (c === "A" ? "B" : "A")), offset },
      { pid: s1.pid, offset: `${offset}x` },
    ];
    for (const auth of attempts) {
      const { before, answer } = await rawConnect(srv.url, auth);
      const got = JSON.parse(answer.slice(2));
      assert.notEqual(got.sid, s1.sid, JSON.stringify(auth).slice(0, 80));
      assert.equal(typeof got.pid, "string");
      assert.deepEqual(before, []);
    }
    // A wrong offset used the session up on sio (as Node's Redis Streams adapter); on Node's
    // in-memory adapter it is still there. Either way the server is fine.
    const [info] = await ack(probe, "server-info");
    assert.equal(info.nsp, "/");
  });

  test("a socket the server or the client disconnected is not kept", async () => {
    const probe = await connect(srv.url);
    for (const how of ["disconnect-me", "client"]) {
      const s1 = await rawSocket(srv.url);
      const offset = await offsetOf(s1, "e", 0);
      if (how === "client") s1.send("41");
      else {
        s1.send('42["disconnect-me"]');
        await s1.receive((m) => m === "41");
      }
      await untilSockets(probe, 1);
      const { s, answer } = await rawConnect(srv.url, { pid: s1.pid, offset });
      assert.notEqual(JSON.parse(answer.slice(2)).sid, s1.sid, how);
      s.close();
      s1.close();
    }
  });

  test("/auth: a recovered socket skips the middleware (skipMiddlewares)", async () => {
    const url = `${srv.url}/auth`;
    const a = await connect(url, { auth: { token: "secret" } });
    const got = collect(a, "e");
    a.emit("emit-as", "e", 1);
    await got.until((g) => g.length === 1);
    const id = a.id;
    const probe = await connect(url, { auth: { token: "secret" } });
    await cutClient(a, probe);
    a.auth = { token: "wrong" };
    a.connect();
    await whenConnected(a);
    assert.equal(a.recovered, true);
    assert.equal(a.id, id);
    const err = await connectError(url, { auth: { token: "wrong" } });
    assert.equal(err.message, "unauthorized");
  });
});

describe("recovery: expiry", () => {
  const RECOVERY = 1500;
  let short;
  before(async () => {
    short = await startServer({ env: { RECOVERY_MS: String(RECOVERY) } });
  });
  after(async () => {
    await short?.stop();
  });

  test("a session older than RECOVERY_MS is gone: a new socket", async () => {
    const { s1, offset } = await cutSession(short.url);
    await sleep(2 * RECOVERY); // real time must pass
    const { answer } = await rawConnect(short.url, { pid: s1.pid, offset });
    assert.notEqual(JSON.parse(answer.slice(2)).sid, s1.sid);
  });

  test("within RECOVERY_MS it is still there (same server, same steps)", async () => {
    const { s1, offset } = await cutSession(short.url);
    const { answer } = await rawConnect(short.url, { pid: s1.pid, offset });
    assert.equal(JSON.parse(answer.slice(2)).sid, s1.sid);
  });
});

