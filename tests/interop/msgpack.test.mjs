// The msgpack parser (CONTRACT.md `PARSER=msgpack`, npm socket.io-msgpack-parser 3): the
// official client with that parser against the contract server, over each transport, with
// binary, acks both ways, namespaces, broadcasts and rooms; and what a client that speaks
// the wrong parser, or garbage, gets. With SIO_SERVER=node, the same against Node's server
// with the parser, so that every expectation here is what Node does.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import parser from "socket.io-msgpack-parser";
import { IS_NODE, useServer, connect, connectError, once, collect, ack } from "../lib/harness.mjs";
import { WsSession } from "../lib/raw.mjs";

const srv = useServer({ PARSER: "msgpack" });

const TRANSPORTS = {
  websocket: { transports: ["websocket"] },
  polling: { transports: ["polling"] },
  upgrade: { transports: ["polling", "websocket"] },
};

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`msgpack parser over ${name}`, () => {
    const open = (nsp = "", opts = {}) => connect(srv.url + nsp, { parser, ...transport, ...opts });

    test("acks carry every kind of value, binary included, at any depth", async () => {
      const s = await open();
      const bin = Buffer.from([0, 1, 2, 255]);
      const args = [1, -2.5, "é😀", null, true, [1, [2, { a: "b" }]], { nested: { bin } }, bin];
      const got = await ack(s, "echo", ...args);
      assert.deepEqual(got.slice(0, 6), args.slice(0, 6));
      assert.ok(Buffer.isBuffer(got[7]) || got[7] instanceof Uint8Array, typeof got[7]);
      assert.deepEqual(Buffer.from(got[7]), bin);
      assert.deepEqual(Buffer.from(got[6].nested.bin), bin);
    });

    test("the server's events and its acks requests", async () => {
      const s = await open();
      const hi = once(s, "hi");
      s.emit("emit-as", "hi", { n: 1 }, Buffer.from("xyz"));
      const [obj, bytes] = await hi;
      assert.deepEqual(obj, { n: 1 });
      assert.deepEqual(Buffer.from(bytes).toString(), "xyz");
      // The server asks for an ack, the client answers, the server reports the answer.
      s.on("ping-client", (d, cb) => cb("pong", d));
      const acked = once(s, "client-acked");
      s.emit("server-ack", { k: 2 });
      assert.deepEqual(await acked, ["pong", { k: 2 }]);
    });

    test("namespaces, auth and refusals", async () => {
      const custom = await open("/custom");
      assert.deepEqual(await ack(custom, "echo", "c"), ["c"]);
      const authed = await open("/auth", { auth: { token: "secret" } });
      assert.deepEqual(await ack(authed, "echo", 1), [1]);
      const err = await connectError(`${srv.url}/auth`, { parser, ...transport, auth: { token: "nope" } });
      assert.equal(err.message, "unauthorized");
      assert.deepEqual(err.data, { code: 4001, reason: "token rejected" });
      const unknown = await connectError(`${srv.url}/nowhere`, { parser, ...transport });
      assert.equal(unknown.message, "Invalid namespace");
    });

    test("broadcasts and rooms reach each receiver once", async () => {
      const [a, b] = await Promise.all([open(), open("", TRANSPORTS.websocket)]);
      await ack(b, "join", "r");
      const toA = collect(a, "bcast");
      const toB = collect(b, "bcast");
      a.emit("to-room", { room: "r", bin: Buffer.from([7]) });
      a.emit("broadcast", "all");
      await toB.until((g) => g.length === 2);
      await toA.until((g) => g.length === 1);
      assert.deepEqual(Buffer.from(toB[0][0].bin), Buffer.from([7]));
      assert.deepEqual([toA[0], toB[1]], [["all"], ["all"]]);
      const gone = once(a, "disconnect");
      a.emit("disconnect-me");
      assert.equal((await gone)[0], "io server disconnect");
    });
  });
}

describe("msgpack parser: bad input", () => {
  test("a text packet (a client of the default parser) closes its connection", { skip: IS_NODE && "Node ignores it: the client waits for ever" }, async () => {
    const raw = await WsSession.handshake(srv.url);
    raw.send("40");
    await raw.waitClosed();
    const right = await connect(srv.url, { parser, transports: ["websocket"] });
    assert.deepEqual(await ack(right, "echo", 1), [1]);
  });

  test("garbage and misshapen packets close that connection only", async () => {
    const bystander = await connect(srv.url, { parser });
    const frames = [
      Buffer.from([0xc1]), // no msgpack value starts with 0xc1
      Buffer.from([0x81, 0xa4, 0x74, 0x79, 0x70, 0x65, 0x09]), // {type: 9}
      Buffer.from([0x82, 0xa4, 0x74, 0x79, 0x70, 0x65, 0x02, 0xa3, 0x6e, 0x73, 0x70, 0xa1, 0x2f]), // event, no data
      Buffer.from([0x92, 0x01, 0x02]), // an array, not a map
    ];
    for (const frame of frames) {
      const raw = await WsSession.handshake(srv.url);
      raw.send(frame);
      await raw.waitClosed();
    }
    assert.deepEqual(await ack(bystander, "echo", "still here"), ["still here"]);
  });
});
