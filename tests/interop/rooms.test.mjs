// Broadcasts and rooms with the official socket.io-client, once per transport mode:
// broadcast, broadcast-others, join / leave / to-room, rooms-of, namespace isolation.
// "Did not arrive" is proven with an echo round trip on the same socket after the fact
// (events to one socket are ordered), never with a sleep.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MODES, useServer, connect, collect, ack, barrier } from "../lib/harness.mjs";

const srv = useServer();

let seq = 0;
const uniq = (p) => `${p}-${process.pid}-${++seq}`;

const D = (extra = {}) => ({
  t: Date.now(),
  i: Number.MAX_SAFE_INTEGER,
  p: "payload \"quoted\" ünï 😀",
  n: [1, 2.5, null, true, { deep: ["x"] }],
  ...extra,
});

for (const [mode, mopts] of Object.entries(MODES)) {
  describe(`rooms [${mode}]`, () => {
    test("broadcast reaches every socket of the namespace, sender included, and no other namespace", async () => {
      const [a, b, c] = await Promise.all([connect(srv.url, mopts), connect(srv.url, mopts), connect(srv.url, mopts)]);
      const other = await connect(`${srv.url}/custom`, mopts);
      const auth = await connect(`${srv.url}/auth`, { ...mopts, auth: { token: "secret" } });
      const got = [a, b, c, other, auth].map((s) => collect(s, "bcast"));
      const tag = uniq("bc");
      const data = D({ tag });
      a.emit("broadcast", data);
      const mine = (g) => g.filter(([d]) => d && d.tag === tag);
      await Promise.all(got.slice(0, 3).map((g) => g.until((x) => mine(x).length >= 1)));
      await barrier(a, b, c, other, auth);
      for (const g of got.slice(0, 3)) assert.deepStrictEqual(mine(g), [[data]]);
      assert.deepEqual(mine(got[3]), [], "/custom must not receive a / broadcast");
      assert.deepEqual(mine(got[4]), [], "/auth must not receive a / broadcast");
    });

    test("broadcast on /custom stays in /custom", async () => {
      const [a, b] = await Promise.all([connect(`${srv.url}/custom`, mopts), connect(`${srv.url}/custom`, mopts)]);
      const root = await connect(srv.url, mopts);
      const got = [a, b, root].map((s) => collect(s, "bcast"));
      const tag = uniq("bcc");
      b.emit("broadcast", { tag });
      const mine = (g) => g.filter(([d]) => d && d.tag === tag);
      await Promise.all(got.slice(0, 2).map((g) => g.until((x) => mine(x).length >= 1)));
      await barrier(a, b, root);
      assert.equal(mine(got[0]).length, 1);
      assert.equal(mine(got[1]).length, 1);
      assert.equal(mine(got[2]).length, 0);
    });

    test("broadcast with binary data delivers the same bytes to everyone", async () => {
      const [a, b] = await Promise.all([connect(srv.url, mopts), connect(srv.url, mopts)]);
      const got = [a, b].map((s) => collect(s, "bcast"));
      const tag = uniq("bin");
      const data = { tag, bin: Buffer.from([0, 1, 2, 255]), nested: [Buffer.alloc(0), { x: Buffer.from("hé") }] };
      a.emit("broadcast", data);
      const mine = (g) => g.filter(([d]) => d && d.tag === tag);
      await Promise.all(got.map((g) => g.until((x) => mine(x).length >= 1)));
      for (const g of got) assert.deepStrictEqual(mine(g), [[data]]);
    });

    test("broadcast-others reaches every other socket but not the sender", async () => {
      const [a, b, c] = await Promise.all([connect(srv.url, mopts), connect(srv.url, mopts), connect(srv.url, mopts)]);
      const other = await connect(`${srv.url}/custom`, mopts);
      const got = [a, b, c, other].map((s) => collect(s, "bcast"));
      const tag = uniq("bo");
      const data = D({ tag });
      a.emit("broadcast-others", data);
      const mine = (g) => g.filter(([d]) => d && d.tag === tag);
      await Promise.all([got[1], got[2]].map((g) => g.until((x) => mine(x).length >= 1)));
      await barrier(a, b, c, other);
      assert.deepEqual(mine(got[0]), [], "the sender must not receive broadcast-others");
      assert.deepStrictEqual(mine(got[1]), [[data]]);
      assert.deepStrictEqual(mine(got[2]), [[data]]);
      assert.deepEqual(mine(got[3]), []);
    });

    test("join acks true; to-room reaches members only; leave acks true and stops delivery", async () => {
      const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map(() => connect(srv.url, mopts)));
      const got = [a, b, c, d].map((s) => collect(s, "bcast"));
      const r1 = uniq("room1");
      const r2 = uniq("room2");
      assert.deepEqual(await ack(b, "join", r1), [true]);
      assert.deepEqual(await ack(c, "join", r2), [true]);
      assert.deepEqual(await ack(d, "join", r1), [true]);
      assert.deepEqual(await ack(d, "join", r2), [true]);

      const m1 = { room: r1, t: 1, i: 8, p: "yy" };
      a.emit("to-room", m1); // a is not a member: sending is fine
      await Promise.all([got[1], got[3]].map((g) => g.until((x) => x.length >= 1)));
      await barrier(a, b, c, d);
      assert.deepStrictEqual(got[1], [[m1]]);
      assert.deepStrictEqual(got[3], [[m1]]);
      assert.deepEqual(got[0], []);
      assert.deepEqual(got[2], []);

      const m2 = { room: r2, i: 9 };
      b.emit("to-room", m2);
      await Promise.all([got[2].until((x) => x.length >= 1), got[3].until((x) => x.length >= 2)]);
      await barrier(a, b, c, d);
      assert.deepStrictEqual(got[2], [[m2]]);
      assert.deepStrictEqual(got[3], [[m1], [m2]]);
      assert.deepEqual(got[0], []);
      assert.deepStrictEqual(got[1], [[m1]]);

      // a member sending to its own room gets it too (io.to(room).emit, not socket.to)
      const m3 = { room: r1, i: 10 };
      b.emit("to-room", m3);
      await Promise.all([got[1], got[3]].map((g) => g.until((x) => x.some(([v]) => v.i === 10))));

      assert.deepEqual(await ack(d, "leave", r1), [true]);
      const m4 = { room: r1, i: 11 };
      a.emit("to-room", m4);
      await got[1].until((x) => x.some(([v]) => v.i === 11));
      await barrier(a, b, c, d);
      assert.ok(!got[3].some(([v]) => v.i === 11), "d left the room but still received");
      assert.ok(!got[0].length && !got[2].some(([v]) => v.i !== 9));
    });

    test("join/leave without an ack still take effect", async () => {
      const [a, b] = await Promise.all([connect(srv.url, mopts), connect(srv.url, mopts)]);
      const got = collect(b, "bcast");
      const r = uniq("noack");
      b.emit("join", r);
      await barrier(b); // join handled before the echo (events from one connection are ordered)
      a.emit("to-room", { room: r, i: 1 });
      await got.until((x) => x.length === 1);
      b.emit("leave", r);
      await barrier(b);
      a.emit("to-room", { room: r, i: 2 });
      a.emit("broadcast", { room: "none", i: 3 });
      await got.until((x) => x.some(([v]) => v.i === 3));
      assert.deepEqual(got.map(([v]) => v.i), [1, 3]);
    });

    test("rooms are per namespace: a /custom member of room R gets nothing from / to-room R", async () => {
      const root = await connect(srv.url, mopts);
      const custom = await connect(`${srv.url}/custom`, mopts);
      const rootMember = await connect(srv.url, mopts);
      const r = uniq("nsroom");
      await ack(custom, "join", r);
      await ack(rootMember, "join", r);
      const gotC = collect(custom, "bcast");
      const gotR = collect(rootMember, "bcast");
      root.emit("to-room", { room: r, from: "/" });
      await gotR.until((x) => x.length === 1);
      await barrier(custom);
      assert.deepEqual(gotC, []);
    });

    test("to-room for an empty room reaches nobody", async () => {
      const [a, b] = await Promise.all([connect(srv.url, mopts), connect(srv.url, mopts)]);
      const got = [a, b].map((s) => collect(s, "bcast"));
      a.emit("to-room", { room: uniq("empty"), i: 1 });
      await barrier(a, b);
      assert.deepEqual(got, [[], []]);
    });

    test("a room named like a socket id addresses that socket", async () => {
      const [a, b] = await Promise.all([connect(srv.url, mopts), connect(srv.url, mopts)]);
      const got = [a, b].map((s) => collect(s, "bcast"));
      a.emit("to-room", { room: b.id, i: 5 });
      await got[1].until((x) => x.length === 1);
      await barrier(a);
      assert.deepEqual(got[0], []);
      assert.deepEqual(got[1], [[{ room: b.id, i: 5 }]]);
    });

    test("rooms-of acks the socket's rooms (its own-id room may be included)", async () => {
      const s = await connect(srv.url, mopts);
      const norm = (rooms) => {
        assert.ok(Array.isArray(rooms), `rooms-of must ack an array, got ${JSON.stringify(rooms)}`);
        return rooms.filter((r) => r !== s.id).sort();
      };
      const [r0] = await ack(s, "rooms-of");
      assert.deepEqual(norm(r0), []);
      const x = uniq("x");
      const y = uniq("y");
      await ack(s, "join", x);
      await ack(s, "join", y);
      await ack(s, "join", x); // joining twice is idempotent
      const [r1] = await ack(s, "rooms-of");
      assert.deepEqual(norm(r1), [x, y].sort());
      await ack(s, "leave", x);
      await ack(s, "leave", "never-joined"); // leaving a room you are not in is fine
      const [r2] = await ack(s, "rooms-of");
      assert.deepEqual(norm(r2), [y]);
      const [r3] = await ack(s, "rooms-of", "ignored-arg");
      assert.deepEqual(norm(r3), [y]);
    });

    test("rooms are per socket: another socket's joins do not show up", async () => {
      const [a, b] = await Promise.all([connect(srv.url, mopts), connect(srv.url, mopts)]);
      await ack(a, "join", uniq("only-a"));
      const [rb] = await ack(b, "rooms-of");
      assert.deepEqual(rb.filter((r) => r !== b.id), []);
    });

    test("many broadcasts to many sockets keep per-socket order", async () => {
      const sockets = await Promise.all(Array.from({ length: 5 }, () => connect(srv.url, mopts)));
      const room = uniq("order");
      await Promise.all(sockets.map((s) => ack(s, "join", room)));
      const got = sockets.map((s) => collect(s, "bcast"));
      for (let k = 0; k < 200; k++) sockets[k % 5].emit("to-room", { room, k, from: k % 5 });
      await Promise.all(got.map((g) => g.until((x) => x.length >= 200, { timeout: 10_000 })));
      // per sender, order is preserved at every receiver
      for (const g of got) {
        for (let from = 0; from < 5; from++) {
          const ks = g.map(([d]) => d).filter((d) => d.from === from).map((d) => d.k);
          assert.deepEqual(ks, Array.from({ length: 40 }, (_, j) => j * 5 + from));
        }
      }
    });
  });
}

test("server process is still alive", () => {
  assert.equal(srv.alive(), true);
});
