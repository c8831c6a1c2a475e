// The features server (server/examples/features.rs, Node twin reference/features-server.mjs)
// with the official socket.io-client, once per transport mode: handshake data (`whoami`),
// the async middleware (refusal, `room` query auto-join), dynamic namespaces, `join`/`leave`,
// `dm`, `send` with every selection (to several rooms, except rooms / a socket id, others,
// to + except, volatile), `fetch`, `sockets-join` / `sockets-leave`.
// "Did not arrive" is proven with a `whoami` round trip on the same socket afterwards
// (events to one socket are ordered), never with a sleep.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MODES, useServer, connect, connectError, collect, ack, settleTransport } from "../lib/harness.mjs";
import { uniq, dynNs, sync, tagged } from "../lib/features.mjs";

const srv = useServer({}, { kind: "features" });

const ids = (...sockets) => sockets.map((s) => s.id).sort();

for (const [mode, mopts] of Object.entries(MODES)) {
  const conn = (nsp = "", opts = {}) => connect(`${srv.url}${nsp}`, { ...mopts, ...opts });
  const connN = (n, nsp = "", opts = {}) => Promise.all(Array.from({ length: n }, () => conn(nsp, opts)));

  describe(`features: handshake, middleware, namespaces [${mode}]`, () => {
    test("whoami shows the id, namespace, auth.name, query q and header x-test", async () => {
      const s = await conn("", {
        auth: { name: "alice", other: 1 },
        query: { q: "hello wörld & co", other: "x" },
        extraHeaders: { "x-test": "v" },
      });
      const [me] = await ack(s, "whoami");
      assert.deepStrictEqual(me, { id: s.id, nsp: "/", name: "alice", q: "hello wörld & co", header: "v" });
    });

    test("whoami without auth name, query or header gives nulls", async () => {
      const s = await conn();
      const [me] = await ack(s, "whoami");
      assert.deepStrictEqual(me, { id: s.id, nsp: "/", name: null, q: null, header: null });
    });

    test("whoami: auth.name may be any JSON value", async () => {
      const s = await conn("", { auth: { name: { first: "a", n: [1, 2] } } });
      const [me] = await ack(s, "whoami");
      assert.deepStrictEqual(me.name, { first: "a", n: [1, 2] });
    });

    test("the middleware refuses auth.reject with that message and data {from: middleware}", async () => {
      const err = await connectError(srv.url, { ...mopts, auth: { reject: "nope" } });
      assert.equal(err.message, "nope");
      assert.deepStrictEqual(err.data, { from: "middleware" });
    });

    test("the middleware refuses on a dynamic namespace too", async () => {
      const err = await connectError(`${srv.url}${dynNs("rej")}`, { ...mopts, auth: { reject: "no way ünï" } });
      assert.equal(err.message, "no way ünï");
      assert.deepStrictEqual(err.data, { from: "middleware" });
    });

    test("a non-string auth.reject is not a refusal", async () => {
      const s = await conn("", { auth: { reject: 42, name: "n" } });
      const [me] = await ack(s, "whoami");
      assert.equal(me.name, "n");
    });

    test("the middleware joins the room of the `room` query parameter", async () => {
      const room = uniq("qroom");
      const s = await conn("", { query: { room } });
      const other = await conn();
      assert.deepEqual(await ack(s, "join", []), [[room]], "the socket's own rooms");
      const [found] = await ack(other, "fetch", { room });
      assert.deepStrictEqual(found, [{ id: s.id, rooms: [room] }]);
      const got = collect(s, "msg");
      assert.deepEqual(await ack(other, "send", { to: [room], msg: { tag: room } }), [true]);
      await got.until((x) => tagged(x, room).length === 1);
    });

    test("the `room` query parameter is joined on a dynamic namespace too", async () => {
      const nsp = dynNs("qroom");
      const room = uniq("qroom");
      const s = await conn(nsp, { query: { room } });
      const [found] = await ack(s, "fetch", {});
      assert.deepStrictEqual(found, [{ id: s.id, rooms: [room] }]);
    });

    test("dynamic namespace /dyn-…: connects, whoami.nsp is its name", async () => {
      const nsp = dynNs("abc");
      const s = await conn(nsp, { auth: { name: "dyn" }, query: { q: "1" } });
      const [me] = await ack(s, "whoami");
      assert.deepStrictEqual(me, { id: s.id, nsp, name: "dyn", q: "1", header: null });
    });

    test("a namespace that matches nothing is refused: Invalid namespace", async () => {
      for (const nsp of ["/other", "/dyn", "/xdyn-abc"]) {
        const err = await connectError(`${srv.url}${nsp}`, mopts);
        assert.equal(err.message, "Invalid namespace", nsp);
      }
    });

    test("broadcasts stay inside their namespace: /dyn-A vs /dyn-B vs /", async () => {
      const nA = dynNs("A");
      const nB = dynNs("B");
      const [a1, a2] = await connN(2, nA);
      const b1 = await conn(nB);
      const root = await conn();
      const got = [a1, a2, b1, root].map((s) => collect(s, "msg"));
      const tag = uniq("iso");
      assert.deepEqual(await ack(a1, "send", { msg: { tag } }), [true]);
      await Promise.all([got[0], got[1]].map((g) => g.until((x) => tagged(x, tag).length >= 1)));
      await sync(a1, a2, b1, root);
      assert.deepStrictEqual(tagged(got[0], tag), [{ tag }]);
      assert.deepStrictEqual(tagged(got[1], tag), [{ tag }]);
      assert.deepEqual(tagged(got[2], tag), [], "/dyn-B must not get a /dyn-A broadcast");
      assert.deepEqual(tagged(got[3], tag), [], "/ must not get a /dyn-A broadcast");
    });

    test("rooms are per namespace: a room of the same name in / and /dyn-… ", async () => {
      const nsp = dynNs("rooms");
      const room = uniq("same");
      const d = await conn(nsp);
      const [r, sender] = await connN(2);
      await ack(d, "join", room);
      await ack(r, "join", room);
      const gotD = collect(d, "msg");
      const gotR = collect(r, "msg");
      const tag = uniq("pn");
      await ack(sender, "send", { to: [room], msg: { tag } });
      await gotR.until((x) => tagged(x, tag).length === 1);
      await sync(d);
      assert.deepEqual(tagged(gotD, tag), []);
      const [found] = await ack(sender, "fetch", { room });
      assert.deepStrictEqual(found, [{ id: r.id, rooms: [room] }]);
    });

    test("multiplexed: one connection, a socket on / and on /dyn-…, each with its own id", async () => {
      const root = await conn();
      const nsp = dynNs("mux");
      const dyn = root.io.socket(nsp, { auth: { name: "muxed" } });
      await new Promise((resolve, reject) => {
        dyn.once("connect", resolve);
        dyn.once("connect_error", reject);
      });
      try {
        const [me] = await ack(dyn, "whoami");
        assert.deepStrictEqual(me, { id: dyn.id, nsp, name: "muxed", q: null, header: null });
        assert.notEqual(dyn.id, root.id);
      } finally {
        dyn.disconnect();
      }
    });
  });

  describe(`features: join, leave, dm [${mode}]`, () => {
    test("join acks the socket's rooms (own id excluded), sorted; leave too", async () => {
      const s = await conn();
      const [x, y, z] = ["x", "y", "z"].map((p) => uniq(p));
      assert.deepEqual(await ack(s, "join", []), [[]]);
      assert.deepEqual(await ack(s, "join", z), [[z]]);
      assert.deepEqual(await ack(s, "join", [y, x, z]), [[x, y, z]]);
      assert.deepEqual(await ack(s, "leave", y), [[x, z]]);
      assert.deepEqual(await ack(s, "leave", "never-joined"), [[x, z]]);
      assert.deepEqual(await ack(s, "join", 42), [[x, z]], "not a room name: nothing joined");
      assert.deepEqual(await ack(s, "leave", [x]), [[x, z]], "leave takes one name only");
      assert.deepEqual(await ack(s, "leave", s.id), [[x, z]]);
    });

    test("dm reaches only the socket with that id", async () => {
      const [a, b, c] = await connN(3);
      const got = [a, b, c].map((s) => collect(s, "dm"));
      const msg = { tag: uniq("dm"), n: [1, null, "ü"] };
      a.emit("dm", { to: b.id, msg });
      await got[1].until((x) => x.length === 1);
      await sync(a, b, c);
      assert.deepStrictEqual(got[1], [[{ from: a.id, msg }]]);
      assert.deepEqual(got[0], []);
      assert.deepEqual(got[2], []);
    });

    test("dm to itself, dm without msg (null), dm to an unknown id", async () => {
      const [a, b] = await connN(2);
      const got = [a, b].map((s) => collect(s, "dm"));
      a.emit("dm", { to: a.id, msg: "self" });
      a.emit("dm", { to: b.id });
      a.emit("dm", { to: "no-such-socket", msg: "lost" });
      a.emit("dm", { msg: "no to" });
      await got[1].until((x) => x.length === 1);
      await sync(a, b);
      assert.deepStrictEqual(got[0], [[{ from: a.id, msg: "self" }]]);
      assert.deepStrictEqual(got[1], [[{ from: a.id, msg: null }]]);
    });

    test("dm with binary in msg delivers the bytes", async () => {
      const [a, b] = await connN(2);
      const got = collect(b, "dm");
      const msg = { bin: Buffer.from([9, 8, 7]), list: [Buffer.alloc(0), "x"] };
      a.emit("dm", { to: b.id, msg });
      await got.until((x) => x.length === 1);
      assert.deepStrictEqual(got, [[{ from: a.id, msg }]]);
    });

    test("dm is per namespace: a /dyn-… socket cannot reach a / socket id", async () => {
      const d = await conn(dynNs("dm"));
      const r = await conn();
      const got = collect(r, "dm");
      d.emit("dm", { to: r.id, msg: "cross" });
      await sync(d, r);
      assert.deepEqual(got, []);
    });
  });

  describe(`features: send [${mode}]`, () => {
    test("to several rooms: one copy for a socket in two rooms, none outside", async () => {
      const [a, b, c, d, e] = await connN(5);
      const [r1, r2] = [uniq("r1"), uniq("r2")];
      await ack(b, "join", r1);
      await ack(c, "join", r2);
      await ack(d, "join", [r1, r2]);
      const got = [a, b, c, d, e].map((s) => collect(s, "msg"));
      const tag = uniq("multi");
      assert.deepEqual(await ack(a, "send", { to: [r1, r2], msg: { tag } }), [true]);
      await Promise.all([got[1], got[2], got[3]].map((g) => g.until((x) => tagged(x, tag).length >= 1)));
      await sync(a, b, c, d, e);
      assert.deepEqual(got.map((g) => tagged(g, tag).length), [0, 1, 1, 1, 0]);
      assert.deepStrictEqual(got[3], [[{ tag }]]);
    });

    test("room and to together select the union", async () => {
      const [a, b, c] = await connN(3);
      const [r1, r2] = [uniq("r1"), uniq("r2")];
      await ack(b, "join", r1);
      await ack(c, "join", r2);
      const got = [a, b, c].map((s) => collect(s, "msg"));
      const tag = uniq("union");
      await ack(a, "send", { room: r1, to: [r2], msg: { tag } });
      await Promise.all([got[1], got[2]].map((g) => g.until((x) => tagged(x, tag).length >= 1)));
      await sync(a, b, c);
      assert.deepEqual(got.map((g) => tagged(g, tag).length), [0, 1, 1]);
    });

    test("no selection: the whole namespace, sender included", async () => {
      const nsp = dynNs("all");
      const sockets = await connN(3, nsp);
      const got = sockets.map((s) => collect(s, "msg"));
      const msg = { tag: uniq("all"), deep: { a: [1, 2.5, true, null, "ö"] } };
      await ack(sockets[1], "send", { msg });
      await Promise.all(got.map((g) => g.until((x) => x.length >= 1)));
      await sync(...sockets);
      for (const g of got) assert.deepStrictEqual(g, [[msg]]);
    });

    test("except rooms: everyone but the members of those rooms", async () => {
      const nsp = dynNs("exc");
      const [a, b, c, d] = await connN(4, nsp);
      const [x, y] = [uniq("x"), uniq("y")];
      await ack(c, "join", x);
      await ack(d, "join", [y, "z"]);
      const got = [a, b, c, d].map((s) => collect(s, "msg"));
      const tag = uniq("exc");
      await ack(a, "send", { except: [x, y], msg: { tag } });
      await Promise.all([got[0], got[1]].map((g) => g.until((x2) => tagged(x2, tag).length >= 1)));
      await sync(a, b, c, d);
      assert.deepEqual(got.map((g) => tagged(g, tag).length), [1, 1, 0, 0]);
    });

    test("except a socket id: that socket only is left out", async () => {
      const nsp = dynNs("exid");
      const [a, b, c] = await connN(3, nsp);
      const got = [a, b, c].map((s) => collect(s, "msg"));
      const tag = uniq("exid");
      await ack(a, "send", { except: [b.id], msg: { tag } });
      await Promise.all([got[0], got[2]].map((g) => g.until((x) => tagged(x, tag).length >= 1)));
      await sync(a, b, c);
      assert.deepEqual(got.map((g) => tagged(g, tag).length), [1, 0, 1]);
    });

    test("others: everyone but the sender", async () => {
      const nsp = dynNs("others");
      const [a, b, c] = await connN(3, nsp);
      const got = [a, b, c].map((s) => collect(s, "msg"));
      const tag = uniq("others");
      await ack(a, "send", { others: true, msg: { tag } });
      await Promise.all([got[1], got[2]].map((g) => g.until((x) => tagged(x, tag).length >= 1)));
      await sync(a, b, c);
      assert.deepEqual(got.map((g) => tagged(g, tag).length), [0, 1, 1]);
    });

    test("others + to a room the sender is in: the other members only", async () => {
      const [a, b, c] = await connN(3);
      const r = uniq("r");
      await ack(a, "join", r);
      await ack(b, "join", r);
      const got = [a, b, c].map((s) => collect(s, "msg"));
      const tag = uniq("otr");
      await ack(a, "send", { others: true, to: [r], msg: { tag } });
      await got[1].until((x) => tagged(x, tag).length >= 1);
      await sync(a, b, c);
      assert.deepEqual(got.map((g) => tagged(g, tag).length), [0, 1, 0]);
    });

    test("to + except: members of the target room that are not in the excluded one", async () => {
      const [a, b, c, d] = await connN(4);
      const [r1, r2] = [uniq("r1"), uniq("r2")];
      await ack(a, "join", r1); // the sender itself is a member: it gets a copy (no `others`)
      await ack(b, "join", r1);
      await ack(c, "join", [r1, r2]);
      await ack(d, "join", r2);
      const got = [a, b, c, d].map((s) => collect(s, "msg"));
      const tag = uniq("toexc");
      await ack(a, "send", { to: [r1], except: [r2], msg: { tag } });
      await Promise.all([got[0], got[1]].map((g) => g.until((x) => tagged(x, tag).length >= 1)));
      await sync(a, b, c, d);
      assert.deepEqual(got.map((g) => tagged(g, tag).length), [1, 1, 0, 0]);
    });

    test("to a room and except a socket id of that room", async () => {
      const [a, b, c] = await connN(3);
      const r = uniq("r");
      await Promise.all([a, b, c].map((s) => ack(s, "join", r)));
      const got = [a, b, c].map((s) => collect(s, "msg"));
      const tag = uniq("toexid");
      await ack(a, "send", { to: [r], except: [c.id, a.id], msg: { tag } });
      await got[1].until((x) => tagged(x, tag).length >= 1);
      await sync(a, b, c);
      assert.deepEqual(got.map((g) => tagged(g, tag).length), [0, 1, 0]);
    });

    test("to an empty room: nobody, and the ack still comes", async () => {
      const [a, b] = await connN(2);
      const got = [a, b].map((s) => collect(s, "msg"));
      assert.deepEqual(await ack(a, "send", { to: [uniq("empty")], msg: { tag: "x" } }), [true]);
      await sync(a, b);
      assert.deepEqual(got, [[], []]);
    });

    test("without msg the event carries null", async () => {
      const [a, b] = await connN(2);
      const got = collect(b, "msg");
      await ack(a, "send", { to: [b.id] });
      await got.until((x) => x.length === 1);
      assert.deepStrictEqual(got, [[null]]);
    });

    test("msg with binary data arrives as binary", async () => {
      const [a, b] = await connN(2);
      const got = collect(b, "msg");
      const msg = { tag: uniq("bin"), bin: Buffer.from([0, 1, 2, 255]), nested: [{ b: Buffer.from("hé") }] };
      await ack(a, "send", { to: [b.id], msg });
      await got.until((x) => x.length === 1);
      assert.deepStrictEqual(got, [[msg]]);
    });

    test("msg objects keep their key order (as Node re-emits them)", async () => {
      const [a, b] = await connN(2);
      const got = collect(b, "msg");
      const msg = { zeta: 1, alpha: { y: 1, b: [{ k2: 0, k1: 0 }], a: 3 }, mid: null };
      await ack(a, "send", { to: [b.id], msg });
      await got.until((x) => x.length === 1);
      const [[m]] = got;
      assert.deepStrictEqual(m, msg);
      assert.deepEqual(Object.keys(m), ["zeta", "alpha", "mid"]);
      assert.deepEqual(Object.keys(m.alpha), ["y", "b", "a"]);
      assert.deepEqual(Object.keys(m.alpha.b[0]), ["k2", "k1"]);
    });

    test("volatile on an idle connection is delivered", async () => {
      const nsp = dynNs("vol");
      const [a, b] = await connN(2, nsp);
      await Promise.all([settleTransport(a, mode), settleTransport(b, mode)]);
      const got = collect(b, "msg");
      await sync(b); // b is now idle: with polling, its next GET is pending on the server
      await sync(a);
      const tag = uniq("vol");
      assert.deepEqual(await ack(a, "send", { volatile: true, to: [b.id], msg: { tag } }), [true]);
      await got.until((x) => tagged(x, tag).length === 1);
      await sync(b);
      assert.deepStrictEqual(got, [[{ tag }]]);
    });

    test("a selection field of the wrong type makes the whole selection the default (everyone)", async () => {
      // features.rs: `ev.arg::<Selection>(0).unwrap_or_default()`
      const nsp = dynNs("badsel");
      const [a, b] = await connN(2, nsp);
      const r = uniq("r");
      await ack(b, "join", r);
      const got = [a, b].map((s) => collect(s, "msg"));
      const tag = uniq("badsel");
      await ack(a, "send", { to: r /* not a list */, msg: { tag } });
      await Promise.all(got.map((g) => g.until((x) => tagged(x, tag).length >= 1)));
      await sync(a, b);
      assert.deepEqual(got.map((g) => tagged(g, tag).length), [1, 1]);
    });
  });

  describe(`features: fetch, sockets-join, sockets-leave [${mode}]`, () => {
    test("fetch a room: ids and rooms of its members (own-id room excluded), sorted by id", async () => {
      const [a, b, c] = await connN(3);
      const [r, r2, r3] = [uniq("r"), uniq("r2"), uniq("r3")];
      await ack(b, "join", [r, r3]);
      await ack(c, "join", [r2, r]);
      const [found] = await ack(a, "fetch", { room: r });
      const expect = [
        { id: b.id, rooms: [r, r3].sort() },
        { id: c.id, rooms: [r, r2].sort() },
      ].sort((x, y) => (x.id < y.id ? -1 : 1));
      assert.deepStrictEqual(found, expect);
    });

    test("fetch the whole namespace, others, to + except; an empty room gives []", async () => {
      const nsp = dynNs("fetch");
      const [a, b, c] = await connN(3, nsp);
      const r = uniq("r");
      await ack(c, "join", r);
      const idsOf = (found) => found.map((f) => f.id);
      assert.deepEqual(idsOf((await ack(a, "fetch", {}))[0]), ids(a, b, c));
      assert.deepEqual(idsOf((await ack(a, "fetch"))[0]), ids(a, b, c), "no argument: everyone");
      assert.deepEqual(idsOf((await ack(a, "fetch", { others: true }))[0]), ids(b, c));
      assert.deepEqual(idsOf((await ack(a, "fetch", { except: [r] }))[0]), ids(a, b));
      assert.deepEqual(idsOf((await ack(a, "fetch", { to: [a.id, r] }))[0]), ids(a, c));
      assert.deepEqual(idsOf((await ack(a, "fetch", { to: [a.id, r], except: [c.id] }))[0]), ids(a));
      assert.deepEqual((await ack(a, "fetch", { room: uniq("empty") }))[0], []);
      const [all] = await ack(a, "fetch", {});
      assert.deepStrictEqual(all.find((f) => f.id === c.id), { id: c.id, rooms: [r] });
      assert.deepStrictEqual(all.find((f) => f.id === a.id), { id: a.id, rooms: [] });
    });

    test("sockets-join: the selection joins; seen by fetch, send and the sockets themselves", async () => {
      const nsp = dynNs("sj");
      const [a, b, c] = await connN(3, nsp);
      const [r1, r2] = [uniq("r1"), uniq("r2")];
      await ack(b, "join", r1);
      assert.deepEqual(await ack(a, "sockets-join", { room: r1, join: r2 }), [true]);
      assert.deepStrictEqual((await ack(a, "fetch", { room: r2 }))[0], [{ id: b.id, rooms: [r1, r2].sort() }]);
      assert.deepEqual(await ack(b, "join", []), [[r1, r2].sort()], "b sees its new room");
      const got = [a, b, c].map((s) => collect(s, "msg"));
      const tag = uniq("sj");
      await ack(c, "send", { to: [r2], msg: { tag } });
      await got[1].until((x) => tagged(x, tag).length === 1);
      await sync(a, b, c);
      assert.deepEqual(got.map((g) => tagged(g, tag).length), [0, 1, 0]);
    });

    test("sockets-join on everyone and on others", async () => {
      const nsp = dynNs("sjall");
      const [a, b, c] = await connN(3, nsp);
      const [all, oth] = [uniq("all"), uniq("oth")];
      await ack(a, "sockets-join", { join: all });
      await ack(a, "sockets-join", { others: true, join: oth });
      const [found] = await ack(a, "fetch", {});
      const want = [
        { id: a.id, rooms: [all] },
        { id: b.id, rooms: [all, oth].sort() },
        { id: c.id, rooms: [all, oth].sort() },
      ].sort((x, y) => (x.id < y.id ? -1 : 1));
      assert.deepStrictEqual(found, want);
    });

    test("sockets-leave: the selection leaves; fetch and send no longer see it", async () => {
      const nsp = dynNs("sl");
      const [a, b, c] = await connN(3, nsp);
      const [r, keep] = [uniq("r"), uniq("keep")];
      await ack(b, "join", [r, keep]);
      await ack(c, "join", r);
      assert.deepEqual(await ack(a, "sockets-leave", { room: keep, leave: r }), [true]);
      assert.deepStrictEqual((await ack(a, "fetch", { room: r }))[0], [{ id: c.id, rooms: [r] }]);
      assert.deepEqual(await ack(b, "join", []), [[keep]]);
      const got = [b, c].map((s) => collect(s, "msg"));
      const tag = uniq("sl");
      await ack(a, "send", { to: [r], msg: { tag } });
      await got[1].until((x) => tagged(x, tag).length === 1);
      await sync(b);
      assert.deepEqual(tagged(got[0], tag), []);
      // everyone leaves r
      await ack(a, "sockets-leave", { leave: r });
      assert.deepStrictEqual((await ack(a, "fetch", { room: r }))[0], []);
    });

    test("sockets-join / sockets-leave without a room name do nothing but ack", async () => {
      const nsp = dynNs("sjnone");
      const [a, b] = await connN(2, nsp);
      assert.deepEqual(await ack(a, "sockets-join", {}), [true]);
      assert.deepEqual(await ack(a, "sockets-join", { join: ["x"] }), [true]);
      assert.deepEqual(await ack(a, "sockets-leave", { leave: 1 }), [true]);
      const [found] = await ack(a, "fetch", {});
      assert.deepStrictEqual(found, [{ id: a.id, rooms: [] }, { id: b.id, rooms: [] }].sort((x, y) => (x.id < y.id ? -1 : 1)));
    });
  });
}

test("server process is still alive", () => {
  assert.equal(srv.alive(), true);
});
