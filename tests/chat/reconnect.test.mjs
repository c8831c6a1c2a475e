// The chat across a server restart: the page says it is reconnecting, keeps what was typed
// meanwhile, and delivers it once when the server is back.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertNoTrap } from "../lib/browser.mjs";
import { message, messages, say, sayAndConfirm, screenshot, seeMembers, seeMessage, status, useChat } from "../lib/chat.mjs";

describe("demo chat: server restart", () => {
  const chat = useChat();

  for (const client of ["wasm", "js"]) {
    test(`a message typed while the server is down is sent once when it is back (${client})`, async () => {
      const alice = await chat.open(`alice-${client}`, { client });
      const bob = await chat.open("bob");
      await seeMembers(alice, "Online in #general — 2");
      await sayAndConfirm(alice, `before the restart (${client})`);
      await seeMessage(bob, `before the restart (${client})`);

      await chat.stop();
      await status(alice, /^reconnecting \(attempt \d+\)$/);
      await status(bob, /^reconnecting/);
      const offline = `typed while offline (${client})`;
      await say(alice, offline);
      await message(alice, offline).locator(".status", { hasText: "queued: sends when back online" }).waitFor();
      await screenshot(alice, `reconnecting-${client}`);

      await chat.restart();
      await status(alice, /^connected/, 20_000);
      await message(alice, offline).locator(".status", { hasText: "✓ sent" }).waitFor({ timeout: 20_000 });
      await status(bob, /^connected/, 20_000);
      await seeMessage(bob, offline, 20_000);

      // Anything sent twice would arrive before this (one socket's events keep their order).
      await sayAndConfirm(alice, `after the restart (${client})`);
      await seeMessage(bob, `after the restart (${client})`);
      for (const p of [alice, bob]) {
        const texts = (await messages(p)).map((m) => m.text);
        assert.equal(texts.filter((t) => t === offline).length, 1, `${p.who}: ${JSON.stringify(texts)}`);
        // Back in the channel it was in, with everyone.
        await seeMembers(p, "Online in #general — 2");
        assertNoTrap(p);
      }
    });
  }
});
