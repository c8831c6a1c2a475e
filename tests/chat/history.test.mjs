// The chat's history lives in SQLite under DATA_DIR: it survives a server restart, and a page
// goes back through it a page at a time ("Load older messages", CHAT_HISTORY per page).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertNoTrap } from "../lib/browser.mjs";
import { messages, sayAndConfirm, screenshot, seeMessage, status, useChat } from "../lib/chat.mjs";

describe("demo chat: history", () => {
  const chat = useChat({ CHAT_HISTORY: "3" });
  const texts = async (page) => (await messages(page)).map((m) => m.text);

  test("a restarted server still has the history, and older messages load on demand", async () => {
    const alice = await chat.open("alice");
    const said = ["one", "two", "three", "four", "five"];
    for (const text of said) await sayAndConfirm(alice, text);

    await chat.stop();
    await status(alice, /^reconnecting/);
    await chat.restart();
    await status(alice, /^connected/, 20_000);

    // A newcomer after the restart: the last page of #general, and the way back.
    const bob = await chat.open("bob");
    await seeMessage(bob, "five");
    assert.deepEqual(await texts(bob), ["three", "four", "five"]);
    const older = bob.getByRole("button", { name: "Load older messages" });
    await older.click();
    await seeMessage(bob, "one");
    assert.deepEqual(await texts(bob), said);
    // Nothing older: the button is gone.
    await older.waitFor({ state: "detached" });
    await screenshot(bob, "history-after-restart");

    // The page that was there all along got the history again on reconnecting: nothing doubled.
    assert.deepEqual(await texts(alice), said);
    for (const p of [alice, bob]) assertNoTrap(p);
  });
});
