// What a page shows of a long day: unread counts in the tab's title, day separators, and a
// bound on the messages it keeps (the oldest leave, "Load older messages" brings them back).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertClean } from "../lib/browser.mjs";
import { exact, messages, robot, seeMessage, useChat } from "../lib/chat.mjs";

const say = (r, event, payload) => r.timeout(5000).emitWithAck(event, payload);

describe("demo chat: reading", () => {
  const chat = useChat({ CHAT_RATE_BURST: "1000" });

  test("unread messages are counted in the tab's title until read", async () => {
    const bob = await chat.open("bob");
    assert.equal(await bob.title(), "sio chat");
    const r = await robot(chat.url, "robot", "robot-key-0000");
    for (const text of ["psst", "are you there?"]) assert.equal((await say(r, "dm", { to: "bob", text })).ok, true);
    await bob.waitForFunction(() => document.title === "(2) sio chat");
    await bob.locator(".dm-list .channel", { hasText: "@robot" }).locator(".open").click();
    await seeMessage(bob, "are you there?");
    await bob.waitForFunction(() => document.title === "sio chat");
    r.disconnect();
    assertClean(bob);
  });

  test("messages are under the day they were sent, as the reader's calendar has it", async () => {
    const r = await robot(chat.url, "robot", "robot-key-0000");
    assert.equal((await say(r, "message", { room: "#general", text: "sent today" })).ok, true);
    const alice = await chat.open("alice");
    // Bob's clock is a day ahead: for him, that was yesterday.
    const bob = await chat.open("bob", { setup: (p) => p.clock.install({ time: Date.now() + 86_400_000 }) });
    for (const [page, label] of [
      [alice, "Today"],
      [bob, "Yesterday"],
    ]) {
      await seeMessage(page, "sent today");
      const days = await page.locator("ol.messages:not([hidden]) li.day").allInnerTexts();
      assert.deepEqual(days, [label], page.who);
    }
    r.disconnect();
    for (const p of [alice, bob]) assertClean(p);
  });

  test("a page keeps its last 300 messages; the older ones come back on demand", async () => {
    const bob = await chat.open("bob");
    const r = await robot(chat.url, "robot", "robot-key-0000");
    const n = 320;
    await Promise.all(Array.from({ length: n }, (_, i) => say(r, "message", { room: "#general", text: `m${i}` })));
    await seeMessage(bob, `m${n - 1}`, 20_000);
    const shown = (await messages(bob)).map((m) => m.text);
    assert.ok(shown.length <= 300 && shown.length >= 250, `${shown.length} shown`);
    assert.equal(shown.at(-1), `m${n - 1}`);
    // In order, the newest kept.
    assert.deepEqual(shown, Array.from({ length: shown.length }, (_, i) => `m${n - shown.length + i}`));
    await bob.getByRole("button", { name: "Load older messages" }).click();
    const first = `m${n - shown.length - 1}`;
    await bob.locator("li.msg .text", { hasText: exact(first) }).waitFor();
    r.disconnect();
    assertClean(bob);
  });
});
