// The demo chat in Chromium: pages on the wasm client and on socket.io-client talking in
// one room, channels, typing, direct messages, the nickname check and text-only rendering.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  assertClean,
  exact,
  message,
  messages,
  openChannel,
  say,
  sayAndConfirm,
  screenshot,
  seeMembers,
  seeMessage,
  seeNotice,
  status,
  submitName,
  useChat,
} from "../lib/chat.mjs";

describe("demo chat", () => {
  const chat = useChat();

  test("two wasm pages and a socket.io-client page chat in #general", async () => {
    const alice = await chat.open("alice");
    const bob = await chat.open("bob");
    const carol = await chat.open("carol", { client: "js" });
    for (const p of [alice, bob, carol]) {
      await seeMembers(p, "Online in #general — 3");
      await p.locator(".conv-sub", { hasText: "3 online" }).waitFor();
    }
    assert.match(await alice.locator(".client").innerText(), /wasm/);
    assert.match(await carol.locator(".client").innerText(), /socket\.io-client/);

    await sayAndConfirm(alice, "hello from the wasm client");
    await seeMessage(bob, "hello from the wasm client");
    await seeMessage(carol, "hello from the wasm client");
    await sayAndConfirm(carol, "hello from socket.io-client");
    await seeMessage(alice, "hello from socket.io-client");
    await seeMessage(bob, "hello from socket.io-client");
    await sayAndConfirm(bob, "hi both");
    await seeMessage(alice, "hi both");
    await seeMessage(carol, "hi both");

    const expected = [
      { author: "alice", text: "hello from the wasm client" },
      { author: "carol", text: "hello from socket.io-client" },
      { author: "bob", text: "hi both" },
    ];
    for (const p of [alice, bob, carol]) {
      const seen = await messages(p);
      assert.deepEqual(
        seen.map(({ author, text }) => ({ author, text })),
        expected,
        p.who,
      );
      for (const m of seen) assert.match(m.time, /^\d{1,2}:\d{2}/, "every message shows its time");
    }
    // Own messages carry the ack's confirmation, others' none.
    assert.deepEqual(
      (await messages(alice)).map((m) => m.status),
      ["✓ sent", null, null],
    );

    // A newcomer gets the channel's recent messages.
    const dave = await chat.open("dave");
    await seeMessage(dave, "hi both");
    assert.equal((await messages(dave)).length, 3);
    await seeNotice(alice, "dave joined #general");

    await screenshot(alice, "wasm-client");
    await screenshot(carol, "js-client");
    for (const p of [alice, bob, carol, dave]) assertClean(p);
  });

  test("channels: joining, notices, counts, and messages stay in their channel", async () => {
    const alice = await chat.open("alice");
    const bob = await chat.open("bob");
    const carol = await chat.open("carol", { client: "js" });

    await openChannel(alice, "#random"); // not a member yet: joins
    await seeMembers(alice, "Online in #random — 1");
    await alice.locator(".channel-list .channel.joined", { hasText: "#random" }).waitFor();
    await openChannel(carol, "#random");
    await seeNotice(alice, "carol joined #random");
    await seeMembers(alice, "Online in #random — 2");
    // Everyone sees the counts per channel, members or not.
    await bob.locator(".channel-list .channel", { hasText: "#random" }).locator(".count", { hasText: exact("2") }).waitFor();

    await sayAndConfirm(alice, "only for #random");
    await seeMessage(carol, "only for #random");

    // Bob is not in #random: a message in #general after it proves it did not reach him.
    await openChannel(alice, "#general");
    await sayAndConfirm(alice, "back in #general");
    await seeMessage(bob, "back in #general");
    assert.equal(await bob.getByText("only for #random").count(), 0);
    // Carol is in both and looking at #random: #general shows one unread message.
    await carol.locator(".channel", { hasText: "#general" }).locator(".unread", { hasText: "1" }).waitFor();

    await carol.getByRole("button", { name: "Leave #random" }).click();
    await openChannel(alice, "#random");
    await seeNotice(alice, "carol left #random");
    await seeMembers(alice, "Online in #random — 1");
    await carol.getByRole("button", { name: "Join #random" }).waitFor();
    for (const p of [alice, bob, carol]) assertClean(p);
  });

  test("typing indicator", async () => {
    const alice = await chat.open("alice");
    const bob = await chat.open("bob", { client: "js" });
    await seeMembers(alice, "Online in #general — 2");
    await bob.getByLabel("Message", { exact: true }).pressSequentially("hel");
    await alice.locator(".typing", { hasText: exact("bob is typing…") }).waitFor();
    await screenshot(alice, "typing");
    await bob.getByLabel("Message", { exact: true }).press("Enter");
    await seeMessage(alice, "hel");
    await alice.locator(".typing", { hasText: /^$/ }).waitFor();
    assert.equal(await bob.locator(".typing").innerText(), "", "nobody sees their own typing");
    for (const p of [alice, bob]) assertClean(p);
  });

  test("a direct message reaches only its receiver", async () => {
    const alice = await chat.open("alice");
    const bob = await chat.open("bob");
    const carol = await chat.open("carol", { client: "js" });
    await seeMembers(alice, "Online in #general — 3");

    await alice.getByRole("button", { name: "Message bob" }).click();
    await alice.locator(".conv-title", { hasText: exact("@bob") }).waitFor();
    await sayAndConfirm(alice, "just between us");

    const fromAlice = bob.locator(".dm-list .channel", { hasText: "@alice" });
    await fromAlice.locator(".unread", { hasText: "1" }).waitFor();
    await fromAlice.locator(".open").click();
    await seeMessage(bob, "just between us");
    assert.equal((await messages(bob))[0].author, "alice");
    await sayAndConfirm(bob, "sure");
    await seeMessage(alice, "sure");
    await screenshot(bob, "direct-message");

    // Carol got neither: messages to #general after them reach her, and events to one socket
    // keep their order.
    await openChannel(alice, "#general");
    await sayAndConfirm(alice, "after the dm");
    await seeMessage(carol, "after the dm");
    await openChannel(bob, "#general");
    await sayAndConfirm(bob, "after the reply");
    await seeMessage(carol, "after the reply");
    assert.equal(await carol.getByText("just between us").count(), 0);
    assert.equal(await carol.getByText("sure", { exact: true }).count(), 0);
    assert.equal(await carol.locator(".dm-list .channel").count(), 0);
    for (const p of [alice, bob, carol]) assertClean(p);
  });

  test("the server refuses an empty or over-long nickname, and the page says why", async () => {
    for (const client of ["wasm", "js"]) {
      const page = await chat.open(null, { client });
      await submitName(page, "   ");
      await page.locator(".login-error", { hasText: exact("Pick a nickname") }).waitFor();
      await submitName(page, "a-very-long-nickname-indeed-30");
      await page.locator(".login-error", { hasText: exact("Nicknames are at most 24 characters") }).waitFor();
      assert.match(await status(page, /offline/), /offline/);
      if (client === "wasm") await screenshot(page, "nickname-refused");

      await submitName(page, `erin-${client}`);
      await page.locator(".me-name", { hasText: exact(`erin-${client}`) }).waitFor();
      await status(page, /^connected/);
      assert.ok(await page.locator(".overlay").isHidden());

      // The nickname is remembered: a reload goes straight to the chat.
      await page.reload();
      await page.locator(".me-name", { hasText: exact(`erin-${client}`) }).waitFor();
      assert.ok(await page.locator(".overlay").isHidden());
      assertClean(page);
    }
  });

  test("markup from other users is shown as text", async () => {
    const alice = await chat.open("alice");
    const mallory = await chat.open("<b>mallory</b>", { client: "js" });
    const payloads = [
      `<img src=x onerror="window.pwned=1;document.title='pwned'">`,
      `<script>window.pwned=2</script><b>bold?</b>`,
      `<a href="javascript:window.pwned=3">click</a> &amp; &lt;`,
    ];
    for (const text of payloads) await sayAndConfirm(mallory, text);
    for (const text of payloads) await seeMessage(alice, text);
    const seen = (await messages(alice)).slice(-payloads.length);
    assert.deepEqual(
      seen.map((m) => [m.author, m.text]),
      payloads.map((t) => ["<b>mallory</b>", t]),
    );
    // …with no element made from them, and nothing run.
    assert.equal(await alice.locator(".messages img, .messages script, .messages b, .messages a").count(), 0);
    assert.equal(await alice.locator(".member-list b").count(), 0);
    await alice.locator(".member-list .name", { hasText: exact("<b>mallory</b>") }).waitFor();
    assert.equal(await alice.evaluate(() => window.pwned), undefined);
    assert.notEqual(await alice.title(), "pwned");
    await screenshot(alice, "markup-as-text");
    for (const p of [alice, mallory]) assertClean(p);
  });

  test("the composer stops at the message limit", async () => {
    const alice = await chat.open("alice");
    const input = alice.getByLabel("Message", { exact: true });
    await input.fill("y".repeat(600));
    const value = await input.inputValue();
    assert.equal(value.length, 500);
    await alice.locator(".counter", { hasText: "500/500" }).waitFor();
    await input.press("Enter");
    await message(alice, "y".repeat(500)).locator(".status", { hasText: "sent" }).waitFor();
    assertClean(alice);
  });
});
