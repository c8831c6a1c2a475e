// Connecting: namespaces, /auth middleware, unknown namespaces, disconnect reasons,
// server-info, concurrent clients and multiplexing — with the official socket.io-client,
// once per transport mode.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { io, Manager } from "socket.io-client";
import {
  MODES,
  useServer,
  connect,
  connectError,
  whenConnected,
  once,
  ack,
  settleTransport,
  waitFor,
} from "../lib/harness.mjs";

const srv = useServer();

let tokenSeq = 0;
const token = (mode) => `mux-${mode}-${process.pid}-${++tokenSeq}`;

for (const [mode, mopts] of Object.entries(MODES)) {
  describe(`connect [${mode}]`, () => {
    test("connects to / and gets a socket id", async () => {
      const s = await connect(srv.url, mopts);
      assert.equal(s.connected, true);
      assert.equal(typeof s.id, "string");
      assert.ok(s.id.length > 0);
      const [v] = await ack(s, "echo", "hello");
      assert.equal(v, "hello");
    });

    test("connects to /custom", async () => {
      const s = await connect(`${srv.url}/custom`, mopts);
      const [info] = await ack(s, "server-info");
      assert.equal(info.nsp, "/custom");
      assert.equal(info.id, s.id);
    });

    test("/auth accepts auth {token: 'secret'}", async () => {
      const s = await connect(`${srv.url}/auth`, { ...mopts, auth: { token: "secret" } });
      const [info] = await ack(s, "server-info");
      assert.equal(info.nsp, "/auth");
      const [a, b] = await ack(s, "echo", 1, "two");
      assert.deepEqual([a, b], [1, "two"]);
    });

    for (const [label, auth] of [
      ["a wrong token", { token: "nope" }],
      ["no auth", undefined],
      ["an empty auth object", {}],
      ["a non-string token", { token: 12345 }],
    ]) {
      test(`/auth refuses ${label}: connect_error "unauthorized" with data`, async () => {
        const opts = { ...mopts };
        if (auth !== undefined) opts.auth = auth;
        const err = await connectError(`${srv.url}/auth`, opts);
        assert.equal(err.message, "unauthorized");
        assert.deepEqual(err.data, { code: 4001, reason: "token rejected" });
      });
    }

    test('unknown namespace: connect_error "Invalid namespace"', async () => {
      const err = await connectError(`${srv.url}/does-not-exist`, mopts);
      assert.equal(err.message, "Invalid namespace");
      assert.equal(err.data, undefined);
    });

    test("a refused namespace does not break the other namespaces of the same Manager", async () => {
      const manager = new Manager(srv.url, { ...mopts, reconnection: false });
      const root = await whenConnected(manager.socket("/"));
      const bad = manager.socket("/nope");
      const [err] = await once(bad, "connect_error");
      assert.equal(err.message, "Invalid namespace");
      const badAuth = manager.socket("/auth", { auth: { token: "x" } });
      const [err2] = await once(badAuth, "connect_error");
      assert.equal(err2.message, "unauthorized");
      assert.deepEqual(err2.data, { code: 4001, reason: "token rejected" });
      const [v] = await ack(root, "echo", "still here");
      assert.equal(v, "still here");
      // retry the same /auth socket with the right token over the same connection
      badAuth.auth = { token: "secret" };
      badAuth.connect();
      const good = await whenConnected(badAuth);
      const [v2] = await ack(good, "echo", 2);
      assert.equal(v2, 2);
      const [info] = await ack(good, "server-info");
      assert.equal(info.connId, manager.engine.id);
      bad.disconnect();
    });

    test("server-info: id, nsp, connId, transport, initialTransport, engineCount, nspSockets, rooms", async () => {
      const s = await connect(srv.url, mopts);
      await settleTransport(s, mode);
      const [info] = await ack(s, "server-info");
      assert.equal(info.id, s.id);
      assert.equal(info.nsp, "/");
      assert.equal(info.connId, s.io.engine.id);
      assert.equal(info.transport, s.io.engine.transport.name);
      const expected = { polling: ["polling", "polling"], websocket: ["websocket", "websocket"], upgrade: ["websocket", "polling"] };
      assert.deepEqual([info.transport, info.initialTransport], expected[mode]);
      assert.equal(typeof info.engineCount, "number");
      assert.ok(info.engineCount >= 1, `engineCount ${info.engineCount}`);
      assert.equal(typeof info.nspSockets, "number");
      assert.equal(typeof info.rooms, "number");
      assert.deepEqual(Object.keys(info).sort(), [
        "connId", "engineCount", "id", "initialTransport", "nsp", "nspSockets", "rooms", "transport",
      ]);
    });

    test("server-info: nspSockets and rooms follow connects, joins, leaves and disconnects", async () => {
      const counts = async (s) => {
        const [info] = await ack(s, "server-info");
        return [info.nspSockets, info.rooms];
      };
      const same = (want) => async () => JSON.stringify(await counts(a)) === JSON.stringify(want);
      const a = await connect(`${srv.url}/custom`, mopts);
      // sockets of earlier tests leave once the server notices their close: re-ask (bounded)
      await waitFor(same([1, 1]), { what: "/custom holds only this socket and its own-id room" });
      const b = await connect(`${srv.url}/custom`, mopts);
      await ack(a, "join", "r1");
      await ack(a, "join", "r2");
      await ack(b, "join", "r1");
      assert.deepEqual(await counts(a), [2, 4], "two own-id rooms, r1, r2");
      await ack(a, "leave", "r2");
      assert.deepEqual(await counts(a), [2, 3], "an emptied room is gone");
      b.disconnect();
      await waitFor(same([1, 2]), { what: "b and its own-id room gone, r1 kept by a" });
      await ack(a, "leave", "r1");
      assert.deepEqual(await counts(a), [1, 1]);
    });

    test("server-info / conn-count follow open and closed sessions", async () => {
      const tok = token(mode);
      const a = await connect(srv.url, { ...mopts, query: { mux: tok } });
      const b = await connect(srv.url, { ...mopts, query: { mux: tok } });
      const c = await connect(`${srv.url}/custom`, { ...mopts, query: { mux: tok } });
      const [n] = await ack(a, "conn-count", tok);
      assert.equal(n, 3);
      const [info] = await ack(a, "server-info");
      assert.ok(info.engineCount >= 3, `engineCount ${info.engineCount}`);
      b.disconnect();
      c.disconnect();
      // nothing tells the client when the server has noticed: re-ask (bounded)
      await waitFor(async () => (await ack(a, "conn-count", tok))[0] === 1, { what: "conn-count back to 1" });
    });

    test('socket.disconnect() on the client: reason "io client disconnect"', async () => {
      const s = await connect(srv.url, mopts);
      const p = once(s, "disconnect");
      s.disconnect();
      const [reason] = await p;
      assert.equal(reason, "io client disconnect");
      assert.equal(s.connected, false);
    });

    test('disconnect-me: client gets "disconnect" with reason "io server disconnect"', async () => {
      const s = await connect(srv.url, mopts);
      const p = once(s, "disconnect");
      s.emit("disconnect-me");
      const [reason] = await p;
      assert.equal(reason, "io server disconnect");
      assert.equal(s.connected, false);
    });

    test("disconnect-me on /custom leaves / of the same connection working", async () => {
      const manager = new Manager(srv.url, { ...mopts, reconnection: false });
      const root = await whenConnected(manager.socket("/"));
      const custom = await whenConnected(manager.socket("/custom"));
      const engineId = manager.engine.id;
      const p = once(custom, "disconnect");
      custom.emit("disconnect-me");
      assert.equal((await p)[0], "io server disconnect");
      const [v] = await ack(root, "echo", "after");
      assert.equal(v, "after");
      const [info] = await ack(root, "server-info");
      assert.equal(info.connId, engineId);
      // and the namespace can be joined again over the same connection
      const again = await whenConnected(manager.socket("/custom"));
      const [v2] = await ack(again, "echo", "again");
      assert.equal(v2, "again");
    });

    test("20 clients connecting concurrently all work", async () => {
      const sockets = await Promise.all(
        Array.from({ length: 20 }, (_, k) => connect(k % 2 ? srv.url : `${srv.url}/custom`, mopts)),
      );
      assert.equal(new Set(sockets.map((s) => s.id)).size, 20);
      const results = await Promise.all(sockets.map((s, k) => ack(s, "echo", { k, id: s.id })));
      results.forEach(([v], k) => assert.deepEqual(v, { k, id: sockets[k].id }));
      const [info] = await ack(sockets[0], "server-info");
      assert.ok(info.engineCount >= 20, `engineCount ${info.engineCount}`);
    });

    test("multiplexing: /, /custom and /auth over one Manager share one Engine.IO session", async () => {
      const tok = token(mode);
      const manager = new Manager(srv.url, { ...mopts, reconnection: false, query: { mux: tok } });
      const root = await whenConnected(manager.socket("/"));
      const custom = await whenConnected(manager.socket("/custom"));
      const auth = await whenConnected(manager.socket("/auth", { auth: { token: "secret" } }));
      assert.equal(root.io, custom.io);
      await settleTransport(root, mode);
      const infos = await Promise.all([root, custom, auth].map(async (s) => (await ack(s, "server-info"))[0]));
      assert.deepEqual(infos.map((i) => i.nsp), ["/", "/custom", "/auth"]);
      assert.equal(new Set(infos.map((i) => i.connId)).size, 1);
      assert.equal(infos[0].connId, manager.engine.id);
      for (const s of [root, custom, auth]) {
        const [n] = await ack(s, "conn-count", tok);
        assert.equal(n, 1);
      }
      // a forceNew client with the same token is a second session
      const other = await connect(srv.url, { ...mopts, query: { mux: tok } });
      const [n2] = await ack(root, "conn-count", tok);
      assert.equal(n2, 2);
      const [n3] = await ack(other, "conn-count", tok);
      assert.equal(n3, 2);
      const [none] = await ack(other, "conn-count", `${tok}-unused`);
      assert.equal(none, 0);
      // events stay in their namespace over the shared connection
      const [a] = await ack(custom, "echo", "c");
      const [b] = await ack(root, "echo", "r");
      assert.deepEqual([a, b], ["c", "r"]);
    });
  });
}

test("io() without forceNew reuses the cached Manager for a second namespace (conn-count 1)", async () => {
  const tok = token("io-cache");
  const opts = { query: { mux: tok }, reconnection: false };
  const a = io(srv.url, opts);
  const b = io(`${srv.url}/custom`, opts);
  try {
    await Promise.all([whenConnected(a), whenConnected(b)]);
    assert.equal(a.io, b.io);
    const [n] = await ack(b, "conn-count", tok);
    assert.equal(n, 1);
    const c = await connect(srv.url, { query: { mux: tok } }); // forceNew
    const [n2] = await ack(a, "conn-count", tok);
    assert.equal(n2, 2);
    c.disconnect();
  } finally {
    a.disconnect();
    b.disconnect();
  }
});

test("server process is still alive", () => {
  assert.equal(srv.alive(), true);
});
