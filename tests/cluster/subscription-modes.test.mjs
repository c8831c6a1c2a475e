// The sharded mode's three subscription modes (createShardedAdapter's `subscriptionMode`):
// a Rust features server and its Node twin on one redis-server, both with REDIS_SHARDED=1
// and the same REDIS_SUBSCRIPTION_MODE. What goes where differs by mode: a broadcast to one
// room goes to that room's channel in "dynamic" (unless the name has 20 characters, like a
// socket id) and "dynamic-private" (socket ids too), and to the namespace's channel in
// "static"; a node must listen to exactly the channels the others publish to.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect, collect, ack, waitFor } from "../lib/harness.mjs";
import { skipWithoutRedis, SHARDED, useFeaturesPair } from "../lib/cluster.mjs";

// Every mode is set here: the suite's REDIS_SHARDED=1 run skips this file.
const skip = skipWithoutRedis || (SHARDED && "every mode runs in the classic run of the suite");

for (const mode of ["static", "dynamic", "dynamic-private"]) {
  describe(`sharded mode, subscriptionMode "${mode}": sio and Node nodes`, { skip }, () => {
    let rust, node;
    useFeaturesPair((p) => ({ rust, node } = p), { env: { REDIS_SHARDED: "1", REDIS_SUBSCRIPTION_MODE: mode } });

    /** `send` from `sender` until `receiver` gets it (subscriptions are asynchronous). */
    async function sendUntil(sender, sel, receiver, what) {
      const got = collect(receiver, "msg");
      await waitFor(
        async () => {
          await ack(sender, "send", { ...sel, msg: "probe" });
          return got.length > 0;
        },
        { timeout: 10_000, interval: 100, what },
      );
    }

    it("a message to one socket (its own-id room) reaches it on the other node, both ways", async () => {
      const r = await connect(rust.url);
      const n = await connect(node.url);
      for (const [from, to] of [[r, n], [n, r]]) {
        const got = collect(to, "dm");
        await waitFor(
          () => {
            from.emit("dm", { to: to.id, msg: "hi" });
            return got.length > 0;
          },
          { timeout: 10_000, interval: 100, what: `dm ${from === r ? "sio → Node" : "Node → sio"}` },
        );
        assert.deepEqual(got[0], [{ from: from.id, msg: "hi" }]);
      }
    });

    it("a room broadcast reaches members on the other node, not others; leaving and joining again", async () => {
      const [rm, nm] = await Promise.all([
        connect(rust.url, { query: { room: "club" } }),
        connect(node.url, { query: { room: "club" } }),
      ]);
      const [ro, no] = await Promise.all([connect(rust.url), connect(node.url)]);
      await sendUntil(nm, { to: ["club"] }, rm, "Node → sio member");
      await sendUntil(rm, { to: ["club"] }, nm, "sio → Node member");
      const outside = [ro, no].map((s) => collect(s, "msg"));
      await ack(rm, "send", { to: ["club"], msg: "members only" });
      await ack(nm, "send", { to: ["club"], msg: "members only" });
      await ack(rm, "send", { msg: "marker" });
      for (const g of outside) await g.until((l) => l.length === 1);
      for (const g of outside) assert.deepEqual(g, [["marker"]]);

      // The sio member leaves (its node unsubscribes from the room, in the dynamic modes),
      // then joins again: it hears the room again.
      assert.deepEqual(await ack(rm, "leave", "club"), [[]]);
      const after = collect(rm, "msg");
      await ack(nm, "send", { to: ["club"], msg: "left" });
      await ack(nm, "send", { msg: "marker" });
      await after.until((l) => l.length === 1);
      assert.deepEqual(after, [["marker"]], "a socket that left gets nothing of the room");
      assert.deepEqual(await ack(rm, "join", "club"), [["club"]]);
      await sendUntil(nm, { to: ["club"] }, rm, "Node → sio member after joining again");
    });
  });
}
