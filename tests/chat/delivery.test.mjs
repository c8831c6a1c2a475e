// Nothing lost, nothing doubled: a page's message carries its own id (`cid`), which the
// server stores once. A send whose answer is lost (the link cut after the server got the
// message, before its ack came back) is settled by the history of the reconnection or by a
// retry, and shows once everywhere. A network blip is recovered (connection state
// recovery): what the page's channels got meanwhile is replayed, notices included.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertNoTrap } from "../lib/browser.mjs";
import { message, messages, robot, sayAndConfirm, say, seeMessage, seeNotice, status, useChat } from "../lib/chat.mjs";

describe("demo chat: delivery", () => {
  const chat = useChat();
  const count = async (page, text) => (await messages(page)).filter((m) => m.text === text).length;

  test("the same message id twice: one message, the first answer twice", async () => {
    const [a, b] = [await robot(chat.url, "alice"), await robot(chat.url, "bob")];
    try {
      const got = [];
      b.on("message", (m) => got.push(m));
      const send = () => a.timeout(5000).emitWithAck("message", { room: "#general", text: "once", cid: "c0ffee-0001" });
      const first = await send();
      const again = await send();
      assert.equal(first.ok, true);
      assert.deepEqual(again, first);
      // Something after, so that a second copy would have arrived before it.
      await a.timeout(5000).emitWithAck("message", { room: "#general", text: "after", cid: "c0ffee-0002" });
      await new Promise((r) => (got.length >= 2 ? r() : b.on("message", () => got.length >= 2 && r())));
      assert.deepEqual(
        got.map((m) => [m.text, m.cid]),
        [
          ["once", "c0ffee-0001"],
          ["after", "c0ffee-0002"],
        ],
      );
      const bad = await a.timeout(5000).emitWithAck("message", { room: "#general", text: "x", cid: "<bad id>" });
      assert.deepEqual([bad.ok, bad.code], [false, "bad-request"]);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  test("reading history does not spend the rate of messages", async () => {
    const r = await robot(chat.url, "reader");
    // More pages than the message burst (5), then a message.
    for (let i = 0; i < 8; i++) assert.equal((await r.timeout(5000).emitWithAck("history", { room: "#general" })).ok, true);
    const sent = await r.timeout(5000).emitWithAck("message", { room: "#general", text: "still allowed" });
    assert.equal(sent.ok, true, JSON.stringify(sent));
    r.disconnect();
  });

  for (const client of ["wasm", "js"]) {
    test(`a message whose answer the cut link lost is sent, once (${client})`, async () => {
      // The next ack from the server is dropped and the WebSocket closed instead: the server
      // has the message, the page never hears back on that connection.
      let cut = false;
      const setup = (page) =>
        page.routeWebSocket(/\/socket\.io\//, (ws) => {
          const server = ws.connectToServer();
          ws.onMessage((m) => server.send(m));
          server.onMessage((m) => {
            if (cut && typeof m == "string" && /^43\d/.test(m)) {
              cut = false;
              ws.close();
              server.close();
              return;
            }
            ws.send(m);
          });
        });
      const alice = await chat.open(`alice-${client}`, { client, setup });
      const bob = await chat.open("bob");
      await status(alice, /websocket/);
      await sayAndConfirm(alice, "before the cut");

      const text = `cut mid-send (${client})`;
      cut = true;
      await say(alice, text);
      await seeMessage(bob, text);
      await status(alice, /^reconnecting/);
      await message(alice, text).locator(".status", { hasText: "✓ sent" }).waitFor({ timeout: 20_000 });
      await status(alice, /^connected/);

      // Anything sent twice would arrive before this.
      await sayAndConfirm(alice, `after the cut (${client})`);
      await seeMessage(bob, `after the cut (${client})`);
      const carol = await chat.open("carol");
      await seeMessage(carol, `after the cut (${client})`);
      for (const p of [alice, bob, carol]) {
        assert.equal(await count(p, text), 1, `${p.who}: ${JSON.stringify(await messages(p))}`);
        assertNoTrap(p);
      }
    });
  }

  for (const client of ["wasm", "js"]) {
    test(`a blip: what the channel got meanwhile is replayed when the link is back, once (${client})`, async () => {
      // The network as the page sees it: while `down`, no request and no WebSocket gets
      // through; `cut()` closes the open ones, as a lost network does.
      let down = false;
      const open = [];
      const setup = async (page) => {
        await page.route("**/socket.io/**", (r) => (down ? r.abort() : r.continue()));
        await page.routeWebSocket(/\/socket\.io\//, (ws) => {
          if (down) return ws.close();
          const server = ws.connectToServer();
          ws.onMessage((m) => server.send(m));
          server.onMessage((m) => ws.send(m));
          open.push([ws, server]);
        });
      };
      const cut = () => {
        down = true;
        for (const [ws, server] of open.splice(0)) {
          ws.close();
          server.close();
        }
      };
      const bob = await chat.open(`bob-${client}`, { client, setup });
      const alice = await chat.open("alice");
      await status(bob, /websocket/);

      cut();
      await status(bob, /^reconnecting/);
      const carol = await chat.open("carol");
      await sayAndConfirm(alice, `while you were away (${client})`);
      down = false;
      await status(bob, /^connected/, 20_000);
      // Carol's arrival is no message: only the recovered session replays it.
      await seeNotice(bob, "carol joined #general");
      await seeMessage(bob, `while you were away (${client})`);
      assert.equal(await count(bob, `while you were away (${client})`), 1);
      for (const p of [alice, bob, carol]) assertNoTrap(p);
    });
  }
});
