// The features server with the official socket.io-client, once per transport mode:
// server-side disconnections (`disconnect-all` on a selection, `disconnect-me`, with and
// without closing the connection) as the client sees them, and `last-disconnect` (the reason
// and rooms the server saw in `disconnecting`). A socket multiplexed on the same connection
// (another namespace of the same Manager) shows whether the connection itself was closed.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MODES, useServer, startServer, connect, whenConnected, once, ack, waitFor, closeAllClients } from "../lib/harness.mjs";
import { uniq, dynNs, sync, lastDisconnectOf } from "../lib/features.mjs";

const srv = useServer({}, { kind: "features" });

/** A second socket on `s`'s connection (same Manager), on namespace `nsp`. */
function muxed(s, nsp, opts = {}) {
  return whenConnected(s.io.socket(nsp, opts));
}

/** A features server for one test only (last-disconnect is one value for the whole server). */
async function ownServer(t) {
  const own = await startServer({ kind: "features" });
  t.after(async () => {
    closeAllClients();
    await own.stop();
  });
  return own;
}

for (const [mode, mopts] of Object.entries(MODES)) {
  const conn = (nsp = "", opts = {}, url = srv.url) => connect(`${url}${nsp}`, { ...mopts, ...opts });

  describe(`features: disconnect-all [${mode}]`, () => {
    test("close:false: the selected sockets get 'io server disconnect'; their connections stay", async () => {
      const r = uniq("dc");
      const a = await conn("", { query: { room: r } });
      const a2 = await muxed(a, dynNs("keep"));
      const b = await conn();
      await ack(b, "join", r);
      const [c, sender] = await Promise.all([conn(), conn()]);
      const da = once(a, "disconnect");
      const db = once(b, "disconnect");
      const da2 = [];
      a2.on("disconnect", (reason) => da2.push(reason));
      sender.emit("disconnect-all", { room: r, close: false });
      assert.deepEqual((await da)[0], "io server disconnect");
      assert.deepEqual((await db)[0], "io server disconnect");
      // the same connection's socket on another namespace is still there
      const [me] = await ack(a2, "whoami");
      assert.equal(me.id, a2.id);
      assert.equal(a2.connected, true);
      assert.deepEqual(da2, []);
      assert.equal(a.io.engine.readyState, "open");
      await sync(c, sender);
      assert.equal(c.connected, true);
      assert.equal(sender.connected, true);
      assert.deepEqual((await ack(sender, "fetch", { room: r }))[0], []);
    });

    test("close:false with no selection: the whole namespace, sender included", async () => {
      const nsp = dynNs("dcall");
      const [a, b] = await Promise.all([conn(nsp), conn(nsp)]);
      const root = await conn();
      const d = [a, b].map((s) => once(s, "disconnect"));
      a.emit("disconnect-all", {});
      assert.deepEqual((await Promise.all(d)).map(([reason]) => reason), ["io server disconnect", "io server disconnect"]);
      await sync(root);
    });

    test("close:false with except a socket id: that socket stays", async () => {
      const nsp = dynNs("dcexc");
      const [a, b, c] = await Promise.all([conn(nsp), conn(nsp), conn(nsp)]);
      const d = once(b, "disconnect");
      a.emit("disconnect-all", { others: true, except: [c.id], close: false });
      assert.equal((await d)[0], "io server disconnect");
      await sync(a, c);
      assert.equal(c.connected, true);
      assert.equal(a.connected, true);
      const [found] = await ack(a, "fetch", {});
      assert.deepEqual(found.map((f) => f.id).sort(), [a.id, c.id].sort());
    });

    test("close:true: every socket of the selected connections is disconnected, the connection closes", async () => {
      const r = uniq("dcclose");
      const a = await conn("", { query: { room: r } });
      const a2 = await muxed(a, dynNs("gone"));
      const b = await conn();
      const sender = await conn();
      const da = once(a, "disconnect");
      const da2 = once(a2, "disconnect");
      const closed = once(a.io.engine, "close");
      sender.emit("disconnect-all", { room: r, close: true });
      // Node: each socket of the connection gets a DISCONNECT packet, then the connection is
      // closed after the packets are flushed.
      assert.equal((await da)[0], "io server disconnect");
      assert.equal((await da2)[0], "io server disconnect", "the muxed socket on another namespace is disconnected too");
      await closed;
      await sync(b, sender);
      assert.equal(b.connected, true);
    });
  });

  describe(`features: disconnect-me [${mode}]`, () => {
    test("disconnect-me: 'io server disconnect'; the connection and its other sockets stay", async () => {
      const a = await conn();
      const a2 = await muxed(a, dynNs("me"));
      const d = once(a, "disconnect");
      a.emit("disconnect-me", { close: false });
      assert.equal((await d)[0], "io server disconnect");
      const [me] = await ack(a2, "whoami");
      assert.equal(me.id, a2.id);
      assert.equal(a.io.engine.readyState, "open");
      // the disconnected socket can connect again on the same Manager
      const back = once(a, "connect");
      a.connect();
      await back;
      assert.equal((await ack(a, "whoami"))[0].id, a.id);
    });

    test("disconnect-me without an argument: same as close:false", async () => {
      const a = await conn();
      const a2 = await muxed(a, dynNs("me"));
      const d = once(a, "disconnect");
      a.emit("disconnect-me");
      assert.equal((await d)[0], "io server disconnect");
      await sync(a2);
      assert.equal(a2.connected, true);
    });

    test("disconnect-me close:true: every socket of the connection is disconnected, the connection closes", async () => {
      const a = await conn();
      const a2 = await muxed(a, dynNs("meclose"));
      const d = once(a, "disconnect");
      const d2 = once(a2, "disconnect");
      const closed = once(a.io.engine, "close");
      a2.emit("disconnect-me", { close: true });
      assert.equal((await d2)[0], "io server disconnect");
      assert.equal((await d)[0], "io server disconnect");
      await closed;
    });
  });

  describe(`features: last-disconnect [${mode}]`, () => {
    test("null before anyone left", async (t) => {
      const own = await ownServer(t);
      const obs = await conn("", {}, own.url);
      assert.deepStrictEqual(await ack(obs, "last-disconnect"), [null]);
    });

    test("the client disconnects its socket: 'client namespace disconnect' and its rooms", async (t) => {
      const own = await ownServer(t);
      const obs = await conn("", {}, own.url);
      const q = uniq("q");
      const s = await conn("", { query: { room: q } }, own.url);
      const [r1, r2] = [uniq("b"), uniq("a")];
      await ack(s, "join", [r1, r2]);
      const id = s.id;
      s.disconnect();
      const last = await lastDisconnectOf(obs, id);
      assert.deepStrictEqual(last, { id, reason: "client namespace disconnect", rooms: [q, r1, r2].sort() });
    });

    test("the client's connection drops (engine.close()): 'transport close'", async (t) => {
      const own = await ownServer(t);
      const obs = await conn("", {}, own.url);
      const s = await conn("", {}, own.url);
      const r = uniq("r");
      await ack(s, "join", r);
      const id = s.id;
      const d = once(s, "disconnect");
      s.io.engine.close();
      assert.equal((await d)[0], "forced close", "client side: the client closed it");
      const last = await lastDisconnectOf(obs, id);
      assert.deepStrictEqual(last, { id, reason: "transport close", rooms: [r] });
    });

    test("a connection drop disconnects every socket of the connection (/ and /dyn-…)", async (t) => {
      const own = await ownServer(t);
      const obs = await conn("", {}, own.url);
      const s = await conn("", {}, own.url);
      const nsp = dynNs("drop");
      const s2 = await muxed(s, nsp);
      const [ids, dyn] = [[s.id, s2.id], s2.id];
      const gone = await conn(nsp, {}, own.url);
      s.io.engine.close();
      // both sockets leave the server: fetch on the dynamic namespace no longer lists s2
      await waitFor(async () => !(await ack(gone, "fetch", {}))[0].some((f) => f.id === dyn), {
        what: "the muxed /dyn-… socket to leave its namespace",
      });
      await waitFor(async () => ids.includes((await ack(obs, "last-disconnect"))[0]?.id), {
        what: "last-disconnect to report one of the two sockets",
      });
      const [last] = await ack(obs, "last-disconnect");
      assert.ok(ids.includes(last.id), `last-disconnect is one of the two: ${JSON.stringify(last)}`);
      assert.equal(last.reason, "transport close");
    });

    test("disconnect-me: 'server namespace disconnect' with the rooms it was in", async (t) => {
      const own = await ownServer(t);
      const obs = await conn("", {}, own.url);
      const s = await conn("", {}, own.url);
      const r = uniq("r");
      await ack(s, "join", r);
      const id = s.id;
      const d = once(s, "disconnect");
      s.emit("disconnect-me", {});
      await d;
      const last = await lastDisconnectOf(obs, id);
      assert.deepStrictEqual(last, { id, reason: "server namespace disconnect", rooms: [r] });
    });

    test("disconnect-me close:true: 'server namespace disconnect' too", async (t) => {
      const own = await ownServer(t);
      const obs = await conn("", {}, own.url);
      const s = await conn("", {}, own.url);
      const id = s.id;
      const d = once(s, "disconnect");
      s.emit("disconnect-me", { close: true });
      await d;
      const last = await lastDisconnectOf(obs, id);
      assert.deepStrictEqual(last, { id, reason: "server namespace disconnect", rooms: [] });
    });

    test("disconnect-all: 'server namespace disconnect'", async (t) => {
      const own = await ownServer(t);
      const obs = await conn("", {}, own.url);
      const s = await conn("", {}, own.url);
      const r = uniq("r");
      await ack(s, "join", r);
      const id = s.id;
      const d = once(s, "disconnect");
      obs.emit("disconnect-all", { room: r });
      await d;
      const last = await lastDisconnectOf(obs, id);
      assert.deepStrictEqual(last, { id, reason: "server namespace disconnect", rooms: [r] });
    });

    test("a socket of a dynamic namespace leaving shows up too (one value for the server)", async (t) => {
      const own = await ownServer(t);
      const obs = await conn("", {}, own.url);
      const nsp = dynNs("last");
      const s = await conn(nsp, { query: { room: "from-query" } }, own.url);
      const id = s.id;
      s.disconnect();
      const last = await lastDisconnectOf(obs, id);
      assert.deepStrictEqual(last, { id, reason: "client namespace disconnect", rooms: ["from-query"] });
    });
  });
}

test("server process is still alive", () => {
  assert.equal(srv.alive(), true);
});
