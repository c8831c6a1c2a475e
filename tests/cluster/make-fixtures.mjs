// Writes ../cluster/tests/fixtures/redis-adapter.json and redis-sharded-adapter.json: what the
// real `@socket.io/redis-adapter` 8.3 (notepack.io 3) publishes in its classic and sharded
// modes, captured from a Node `socket.io` 4.8 server whose adapter talks to a fake Redis
// client that records every PUBLISH / SPUBLISH. The Rust wire tests decode these bytes and
// encode the same messages back byte for byte.
//
//   cd tests && node cluster/make-fixtures.mjs
import { writeFileSync } from "node:fs";
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import msgpack from "notepack.io";

const published = [];
// What PUBSUB NUMSUB answers: this node and one other (serverSideEmitWithAck waits for 1).
let numSub = 1;
const fakeClient = () => ({
  pSubscribe() {},
  subscribe() {},
  on() {},
  off() {},
  send_command(_cmd, _args, cb) {
    cb(null, ["", String(numSub)]);
  },
  publish(channel, msg) {
    published.push({ channel, msg: Buffer.from(msg) });
    return Promise.resolve(1);
  },
});
const io = new Server({ adapter: createAdapter(fakeClient(), fakeClient()) });
const uid = io.of("/").adapter.uid;
const fixtures = [];
const take = (name) => {
  const { channel, msg } = published.shift();
  fixtures.push({ name, channel, hex: msg.toString("hex") });
};

io.emit("hello", "world", 1, -2, 1.5, true, null, { a: [1, "b"] });
take("emit-json");
io.to("r1").except("x").volatile.emit("bin", Buffer.from([1, 2, 3]), { nested: Buffer.alloc(0) });
take("room-except-volatile-binary");
io.of("/custom").to(["r1", "r2"]).emit("two-rooms", "é😀");
take("namespace-two-rooms");
io.except("sid1").emit("dates", new Date(0), new Date(1500), undefined);
take("dates-undefined");
io.timeout(1000).emit("ask", 42, () => {});
take("broadcast-with-ack-request");

// serverSideEmit, without and with acks (the request waits for the node count first).
io.serverSideEmit("hello", "world", { n: 1 });
take("server-side-emit");
numSub = 2;
io.of("/custom").serverSideEmitWithAck("ping", 42).catch(() => {});
await new Promise((resolve) => setTimeout(resolve, 10));
take("server-side-emit-with-ack");
// Another node's request, answered by a handler: the response Node publishes.
io.on("ping", (x, cb) => cb({ pong: x, list: [true, null] }));
await io.of("/").adapter.onrequest(
  "socket.io-request#/#",
  Buffer.from(JSON.stringify({ uid: "other", requestId: "rq1234", type: 6, data: ["ping", 7] })),
);
take("server-side-emit-response");

// Responses built as the adapter builds them (onrequest), encoded by notepack.
const extra = (name, value) =>
  fixtures.push({ name, channel: "", hex: msgpack.encode(value).toString("hex") });
extra("broadcast-ack-response", { type: 9, requestId: "abc123", packet: ["yes", Buffer.from([7])] });
extra("long-string-and-numbers", ["x".repeat(300), 70000, -70000, 2 ** 40, -(2 ** 40), 0.1]);

const dir = process.env.FIXTURES_DIR || new URL("../../cluster/tests/fixtures", import.meta.url).pathname;
const write = (file, content) =>
  writeFileSync(
    `${dir}/${file}`,
    JSON.stringify({ generator: "tests/cluster/make-fixtures.mjs", ...content }, null, 2) + "\n",
  );
write("redis-adapter.json", { uid, fixtures });
console.log(`wrote ${fixtures.length} classic fixtures`);

// The sharded mode (createShardedAdapter, subscriptionMode "dynamic"): SPUBLISH of
// `{type, data, uid, nsp}` messages, JSON unless binary. PUBSUB SHARDNUMSUB answers 2.
const sPublished = [];
const fakeV4Client = () => ({
  sSubscribe() {},
  sUnsubscribe() {},
  on() {},
  off() {},
  sendCommand: async () => ["", 2],
  sPublish(channel, msg) {
    sPublished.push({ channel, msg: Buffer.from(msg) });
    return Promise.resolve(1);
  },
});
const sio = new Server({ adapter: createShardedAdapter(fakeV4Client(), fakeV4Client()) });
const sharded = [];
const flush = () => new Promise((resolve) => setTimeout(resolve, 10));
const takeSharded = async (name) => {
  await flush();
  const { channel, msg } = sPublished.shift();
  sharded.push({ name, channel, hex: msg.toString("hex") });
};
const nsp = sio.of("/");
const suid = nsp.adapter.uid;
sio.emit("hello", "world", 1, { a: [1, null] });
await takeSharded("emit-json");
sio.to("room1").except("x").volatile.emit("bin", Buffer.from([1, 2]));
await takeSharded("one-room-binary");
sio.to(["r1", "r2"]).emit("two-rooms", "é");
await takeSharded("two-rooms");
sio.to("ABCDEFGHIJKLMNOPQRST").emit("to-a-socket-id", 1);
await takeSharded("socket-id-room");
sio.timeout(1000).emit("ask", 42, () => {});
await takeSharded("broadcast-with-ack");
sio.in("r1").socketsJoin(["r3"]);
await takeSharded("sockets-join");
sio.socketsLeave("r3");
await takeSharded("sockets-leave");
sio.in("r1").disconnectSockets(true);
await takeSharded("disconnect-sockets");
sio.fetchSockets().catch(() => {});
await takeSharded("fetch-sockets");
sio.serverSideEmit("hello", "world");
await takeSharded("server-side-emit");
sio.serverSideEmitWithAck("ping", 42).catch(() => {});
await takeSharded("server-side-emit-with-ack");
// Another node's requests: the responses Node publishes on the requester's channel.
sio.on("ping", (x, cb) => cb({ pong: x, bin: Buffer.from([9]) }));
nsp.adapter.onMessage({ type: 9, data: { requestId: "r1", packet: ["ping", 7] }, uid: "other", nsp: "/" });
await takeSharded("server-side-emit-response-binary");
nsp.adapter.onMessage({ type: 7, data: { opts: { rooms: [], except: [] }, requestId: "r2" }, uid: "other", nsp: "/" });
await takeSharded("fetch-sockets-response");
nsp.adapter.onMessage({
  type: 3,
  data: { packet: { type: 2, data: ["q"] }, requestId: "r3", opts: { rooms: [], except: [], flags: {} } },
  uid: "other",
  nsp: "/",
});
await takeSharded("broadcast-client-count");
write("redis-sharded-adapter.json", { uid: suid, fixtures: sharded });
console.log(`wrote ${sharded.length} sharded fixtures`);

process.exitCode = 0;
