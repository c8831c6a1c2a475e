// The admin UI's protocol (CONTRACT.md `ADMIN_UI=1`, @socket.io/admin-ui 0.5): what the UI
// receives and what its commands do, spoken by socket.io-client as the UI does, against the
// contract server; with SIO_SERVER=node, against Node's own `instrument()`, so that every
// expectation here is what Node does.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { useServer, connect, connectError, once, collect, ack } from "../lib/harness.mjs";

const srv = useServer({ ADMIN_UI: "1" });
const CREDENTIALS = { username: "admin", password: "admin-secret" };
const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const FEATURES = [
  "EMIT",
  "JOIN",
  "LEAVE",
  "DISCONNECT",
  "MJOIN",
  "MLEAVE",
  "MDISCONNECT",
  "AGGREGATED_EVENTS",
  "ALL_EVENTS",
];

/** An admin socket as the UI opens one, with listeners on from the start. */
async function admin(auth = CREDENTIALS, opts = {}) {
  const { io } = await import("socket.io-client");
  const s = io(`${srv.url}/admin`, { forceNew: true, reconnection: false, auth, ...opts });
  const got = Object.fromEntries(
    [
      "session",
      "config",
      "all_sockets",
      "server_stats",
      "socket_connected",
      "socket_updated",
      "socket_disconnected",
      "room_joined",
      "room_left",
      "event_received",
      "event_sent",
    ].map((ev) => [ev, collect(s, ev)]),
  );
  await once(s, "connect", { timeout: 10_000 });
  return { s, got };
}

describe("admin UI: logging in", () => {
  test("wrong credentials: CONNECT_ERROR 'invalid credentials'", async () => {
    for (const auth of [{}, { username: "admin", password: "nope" }, { username: "x", password: "admin-secret" }]) {
      const err = await connectError(`${srv.url}/admin`, { auth });
      assert.equal(err.message, "invalid credentials");
    }
  });

  test("credentials give a session id, which alone logs in again", async () => {
    const { s, got } = await admin();
    const [[id]] = await got.session.until((g) => g.length === 1);
    assert.match(id, /^[0-9a-f]{16}$/);
    const [[config]] = await got.config.until((g) => g.length === 1);
    assert.deepEqual(config.supportedFeatures, FEATURES);
    s.disconnect();
    const again = await admin({ sessionId: id });
    // No new session on a session login.
    await again.got.config.until((g) => g.length === 1);
    assert.equal(again.got.session.length, 0);
    again.s.disconnect();
    const err = await connectError(`${srv.url}/admin`, { auth: { sessionId: "0123456789abcdef" } });
    assert.equal(err.message, "invalid credentials");
  });
});

describe("admin UI: what it is shown", () => {
  let user;
  before(async () => {
    user = await connect(`${srv.url}/custom`, { query: { who: "user" }, transports: ["websocket"] });
    assert.equal((await ack(user, "join", "early"))[0], true);
  });

  test("all_sockets: every socket, serialized as Node's admin does", async () => {
    const { got } = await admin();
    const [[all]] = await got.all_sockets.until((g) => g.length === 1);
    const mine = all.find((x) => x.id === user.id);
    assert.ok(mine, `${user.id} in ${JSON.stringify(all.map((x) => x.id))}`);
    assert.equal(mine.nsp, "/custom");
    assert.equal(mine.transport, "websocket");
    assert.equal(typeof mine.clientId, "string");
    assert.equal(mine.clientId.length, 12);
    assert.deepEqual([...mine.rooms].sort(), [user.id, "early"].sort());
    assert.deepEqual(mine.data, {});
    const hs = mine.handshake;
    assert.equal(hs.query.who, "user");
    assert.equal(hs.query.EIO, "4");
    assert.equal(typeof hs.headers, "object");
    assert.match(hs.url, /^\/socket\.io\/\?/);
    assert.equal(typeof hs.issued, "number");
    assert.equal(typeof hs.time, "string");
    assert.equal(hs.secure, false);
    assert.equal(typeof hs.xdomain, "boolean");
    assert.match(hs.address, /127\.0\.0\.1/);
    // The admin's own socket is listed too.
    assert.ok(all.some((x) => x.nsp === "/admin"));
  });

  test("server_stats: this server, its clients and namespaces, and what happened", async () => {
    const { got } = await admin();
    const [[stats]] = await got.server_stats.until((g) => g.length >= 1);
    assert.equal(typeof stats.serverId, "string");
    assert.ok(stats.serverId.length > 0);
    assert.equal(stats.hostname, stats.serverId);
    assert.equal(typeof stats.pid, "number");
    assert.equal(typeof stats.uptime, "number");
    assert.ok(stats.clientsCount >= 1, JSON.stringify(stats));
    assert.equal(typeof stats.pollingClientsCount, "number");
    assert.ok(stats.namespaces.some((n) => n.name === "/admin" && n.socketsCount >= 1), JSON.stringify(stats));
    // A connection and its traffic after the login show in a later report, by type, stamped
    // with their second.
    const extra = await connect(`${srv.url}/custom`, { transports: ["polling"] });
    await ack(extra, "echo", "x".repeat(100));
    const later = await got.server_stats.until(
      (g) =>
        g.some(([s]) => s.namespaces.some((n) => n.name === "/custom" && n.socketsCount === 1)) &&
        g.some(([s]) => s.pollingClientsCount >= 1) &&
        g.some(([s]) => s.aggregatedEvents.some((e) => e.type === "rawConnection")) &&
        g.some(([s]) => s.aggregatedEvents.some((e) => e.type === "bytesIn" && e.count >= 100)),
      { timeout: 10_000 },
    );
    for (const [s] of later) {
      for (const e of s.aggregatedEvents) {
        assert.ok(["rawConnection", "rawDisconnection", "packetsIn", "packetsOut", "bytesIn", "bytesOut"].includes(e.type), e.type);
        assert.equal(e.timestamp % 1000, 0);
        assert.ok(e.count > 0);
      }
    }
  });

  test("development mode: connects, rooms, events, data, upgrades and disconnects as they happen", async () => {
    const { got } = await admin();
    await got.config.until((g) => g.length === 1);
    const other = await connect(srv.url, { transports: ["polling", "websocket"] });
    const [sock, date] = (await got.socket_connected.until((g) => g.some(([x]) => x.id === other.id))).find(
      ([x]) => x.id === other.id,
    );
    assert.equal(sock.nsp, "/");
    assert.match(date, ISO_DATE);
    // The upgrade to WebSocket.
    await got.socket_updated.until((g) => g.some(([u]) => u.id === other.id && u.transport === "websocket"), {
      timeout: 10_000,
    });
    // A room joined and left.
    await ack(other, "join", "r1");
    await ack(other, "leave", "r1");
    await got.room_joined.until((g) => g.some((a) => a[0] === "/" && a[1] === "r1" && a[2] === other.id));
    const [left] = (await got.room_left.until((g) => g.some((a) => a[1] === "r1" && a[2] === other.id))).filter(
      (a) => a[1] === "r1",
    );
    assert.match(left[3], ISO_DATE);
    // Events each way, with their arguments.
    const hi = once(other, "hi");
    other.emit("emit-as", "hi", 1, { a: "b" });
    await hi;
    const received = (
      await got.event_received.until((g) => g.some((a) => a[1] === other.id && a[2][0] === "emit-as"))
    ).find((a) => a[1] === other.id && a[2][0] === "emit-as");
    assert.deepEqual(received.slice(0, 3), ["/", other.id, ["emit-as", "hi", 1, { a: "b" }]]);
    const [sent] = (await got.event_sent.until((g) => g.some((a) => a[1] === other.id))).filter(
      (a) => a[1] === other.id,
    );
    assert.deepEqual(sent.slice(0, 3), ["/", other.id, ["hi", 1, { a: "b" }]]);
    // The app's data.
    await ack(other, "set-data", 42);
    await got.socket_updated.until((g) => g.some(([u]) => u.id === other.id && u.data && u.data.value === 42));
    // The end: the socket, then each of its rooms (the client forgets its id).
    const id = other.id;
    other.disconnect();
    const gone = (await got.socket_disconnected.until((g) => g.some((a) => a[1] === id))).find((a) => a[1] === id);
    assert.deepEqual(gone.slice(0, 3), ["/", id, "client namespace disconnect"]);
    await got.room_left.until((g) => g.some((a) => a[1] === id && a[2] === id));
  });
});

describe("admin UI: commands", () => {
  test("join, leave, emit and _disconnect reach the sockets a filter selects", async () => {
    const { s, got } = await admin();
    await got.config.until((g) => g.length === 1);
    const a = await connect(srv.url);
    const b = await connect(srv.url);
    const roomsOf = async (c) => (await ack(c, "state"))[0].rooms.sort();

    s.emit("join", "/", "vip", a.id);
    await got.room_joined.until((g) => g.some((x) => x[1] === "vip" && x[2] === a.id));
    assert.deepEqual(await roomsOf(a), ["vip"]);
    assert.deepEqual(await roomsOf(b), []);

    // A whole namespace, no filter.
    s.emit("join", "/", "all");
    await got.room_joined.until((g) => g.filter((x) => x[1] === "all" && [a.id, b.id].includes(x[2])).length === 2);

    const toVip = collect(a, "notice");
    const toB = collect(b, "notice");
    s.emit("emit", "/", "vip", "notice", "only vip", 2);
    await toVip.until((g) => g.length === 1);
    assert.deepEqual(toVip[0], ["only vip", 2]);
    s.emit("emit", "/", null, "notice", "everyone");
    await toB.until((g) => g.length === 1);
    assert.deepEqual(toB[0], ["everyone"]);
    assert.deepEqual(toB.length, 1);

    s.emit("leave", "/", "all", b.id);
    await got.room_left.until((g) => g.some((x) => x[1] === "all" && x[2] === b.id));
    assert.deepEqual(await roomsOf(b), []);
    assert.deepEqual(await roomsOf(a), ["all", "vip"]);

    const reason = once(a, "disconnect");
    const aId = a.id;
    s.emit("_disconnect", "/", false, "vip");
    assert.equal((await reason)[0], "io server disconnect");
    await got.socket_disconnected.until((g) =>
      g.some((x) => x[1] === aId && x[2] === "server namespace disconnect"),
    );
    assert.equal(b.connected, true);
  });
});
