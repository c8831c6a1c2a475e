// The chat's limits, from the server's side: what it refuses and how it answers, for a
// page and for a client that skips the page's own checks.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ack } from "../lib/harness.mjs";
import { assertClean, message, messages, robot, say, sayAndConfirm, screenshot, seeMessage, useChat } from "../lib/chat.mjs";

describe("demo chat: what the server refuses", () => {
  const chat = useChat({ CHAT_MAX_MESSAGE: "40", CHAT_RATE_BURST: "100" });

  test("over-long, empty and malformed requests get a refusal in the ack", async () => {
    const r = await robot(chat.url, "robot");
    const refusal = async (...args) => (await ack(r, ...args))[0];
    assert.deepEqual(await refusal("message", { room: "#general", text: "x".repeat(41) }), {
      ok: false,
      code: "text-too-long",
      error: "Messages are at most 40 characters",
    });
    assert.equal((await refusal("message", { room: "#general", text: " \n " })).code, "text-empty");
    assert.equal((await refusal("message", 42)).code, "bad-request");
    assert.equal((await refusal("message", { room: "#random", text: "hi" })).code, "not-a-member");
    assert.equal((await refusal("join", "#nope")).code, "no-such-channel");
    assert.equal((await refusal("dm", { to: "nobody-here", text: "hi" })).code, "no-such-user");
    assert.equal((await refusal("dm", { to: "ROBOT", text: "hi" })).code, "dm-self");
    assert.equal((await refusal("history", { room: "#random" })).code, "not-a-member");
    // …and the server is still there.
    const ok = await refusal("message", { room: "#general", text: "x".repeat(40) });
    assert.equal(ok.ok, true);
    r.disconnect(); // the next test counts members
  });

  test("a nickname the middleware refuses reaches the client as connect_error", async () => {
    const err = await robot(chat.url, "n".repeat(25)).catch((e) => e);
    assert.equal(err.message, "Nicknames are at most 24 characters");
    assert.deepEqual(err.data, { code: "name-too-long" });
    const empty = await robot(chat.url, 42).catch((e) => e);
    assert.equal(empty.message, "Pick a nickname");
  });

  test("the page enforces the server's message limit", async () => {
    const page = await chat.open("alice");
    const input = page.getByLabel("Message", { exact: true });
    await input.fill("z".repeat(60));
    assert.equal((await input.inputValue()).length, 40);
    await page.locator(".counter", { hasText: "40/40" }).waitFor();
    await input.press("Enter");
    await message(page, "z".repeat(40)).locator(".status", { hasText: "sent" }).waitFor();
    assertClean(page);
  });
});

describe("demo chat: rate limit", () => {
  const chat = useChat({ CHAT_RATE_BURST: "3", CHAT_RATE_REFILL_MS: "600000" });

  test("sending faster than the limit gets the server's error, and nothing past it is delivered", async () => {
    const alice = await chat.open("alice");
    const bob = await chat.open("bob", { client: "js" });
    for (const n of [1, 2, 3]) await sayAndConfirm(alice, `burst ${n}`);
    await say(alice, "burst 4");
    const refusal = "You are sending too fast: wait a moment and try again";
    await message(alice, "burst 4").locator(".status", { hasText: `not sent: ${refusal}` }).waitFor();
    await alice.getByRole("alert").filter({ hasText: refusal }).waitFor();
    await screenshot(alice, "rate-limited");

    // Bob's own messages are not limited by Alice's rate; his arrives after everything
    // Alice's socket made the server send.
    await sayAndConfirm(bob, "bob is fine");
    await seeMessage(alice, "bob is fine");
    await seeMessage(bob, "burst 3");
    assert.deepEqual(
      (await messages(bob)).map((m) => m.text),
      ["burst 1", "burst 2", "burst 3", "bob is fine"],
    );
    for (const p of [alice, bob]) assertClean(p);
  });
});
