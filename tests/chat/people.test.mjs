// People, not sockets: a nickname belongs to whoever holds it (their browser's key) while
// they are here, and direct messages are by person: a thread survives a reload and a
// reconnection, and shows its history when opened.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertClean } from "../lib/browser.mjs";
import { channelsEmpty, exact, login, messages, sayAndConfirm, screenshot, seeMessage, status, submitName, useChat } from "../lib/chat.mjs";

describe("demo chat: people", () => {
  const chat = useChat();

  for (const client of ["wasm", "js"]) {
    test(`a nickname is one person's while they are here (${client})`, async () => {
      const alice = await chat.open(`alice-${client}`);
      // Another browser (its own storage, so its own key), the same name in other case.
      const other = await chat.open(null, { client });
      await submitName(other, `ALICE-${client}`);
      await other.locator(".login-error", { hasText: exact("That nickname is taken: pick another") }).waitFor();
      assert.match(await status(other, /offline/), /offline/);
      if (client === "wasm") await screenshot(other, "nickname-taken");

      // The holder's own second tab is the same person.
      const tab = await alice.context().newPage();
      await tab.goto(chat.url);
      await tab.locator(".me-name", { hasText: exact(`alice-${client}`) }).waitFor();
      await status(tab, /^connected/);
      await tab.close();

      // Once the holder is gone (the server saw the socket leave), the name is free.
      await alice.close();
      await channelsEmpty(chat.url);
      await login(other, `ALICE-${client}`);
      assertClean(other);
    });
  }

  test("a direct-message thread is by person: after a reload it is listed, with its history", async () => {
    const alice = await chat.open("alice");
    const bob = await chat.open("bob", { client: "js" });
    await alice.getByRole("button", { name: "Message bob" }).click();
    await alice.locator(".conv-title", { hasText: exact("@bob") }).waitFor();
    await sayAndConfirm(alice, "hello bob");
    await bob.locator(".dm-list .channel", { hasText: "@alice" }).waitFor();

    // Bob reloads: a new socket, the same person.
    await bob.reload();
    await status(bob, /^connected/);
    const thread = bob.locator(".dm-list .channel", { hasText: "@alice" });
    await thread.locator(".open").click();
    await seeMessage(bob, "hello bob");
    await sayAndConfirm(bob, "hi alice, from my new tab");
    // …which reaches the thread alice has open.
    await seeMessage(alice, "hi alice, from my new tab");

    // Alice reloads too: her own message is hers, the thread whole and in order.
    await alice.reload();
    await status(alice, /^connected/);
    await alice.locator(".dm-list .channel", { hasText: "@bob" }).locator(".open").click();
    await seeMessage(alice, "hi alice, from my new tab");
    const seen = await messages(alice);
    assert.deepEqual(
      seen.map((m) => [m.author, m.text]),
      [
        ["alice", "hello bob"],
        ["bob", "hi alice, from my new tab"],
      ],
    );
    assert.equal(await alice.locator("li.msg.mine").count(), 1);
    await screenshot(alice, "direct-thread-after-reload");
    for (const p of [alice, bob]) assertClean(p);
  });
});
