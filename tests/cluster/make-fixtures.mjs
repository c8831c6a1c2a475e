// Writes ../server/tests/fixtures/redis-adapter.json: what the real `@socket.io/redis-adapter`
// 8.3 (notepack.io 3) publishes, captured from a Node `socket.io` 4.8 server whose adapter
// talks to a fake Redis client that records every PUBLISH. The Rust wire tests decode these
// bytes and encode the same messages back byte for byte.
//
//   cd tests && node cluster/make-fixtures.mjs
import { writeFileSync } from "node:fs";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
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

writeFileSync(
  process.env.FIXTURES_OUT || new URL("../../server/tests/fixtures/redis-adapter.json", import.meta.url),
  JSON.stringify({ generator: "tests/cluster/make-fixtures.mjs", uid, fixtures }, null, 2) + "\n",
);
process.exitCode = 0;
console.log(`wrote ${fixtures.length} fixtures`);
