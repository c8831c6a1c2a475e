// The cluster demo (`scripts/demo.sh cluster`): two chat nodes on one redis-server (the
// Redis Streams adapter) and one data directory, a page on each. Everything a person sees
// spans the nodes: messages and typing, who is online and how many, a nickname's holder,
// direct messages, the history; and a node that restarts comes back into the conversation.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertClean } from "../lib/browser.mjs";
import { haveRedis } from "../lib/redis.mjs";
import {
  channelsEmpty,
  exact,
  login,
  message,
  messages,
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

/** Waits until the sidebar's count of `room` reads `n`. */
async function seeCount(page, room, n) {
  const channel = page.locator(".channel-list .channel").filter({ has: page.locator(".name", { hasText: exact(room) }) });
  await channel.locator(".count", { hasText: exact(String(n)) }).waitFor();
}

/** The names in the members panel, in order. */
function memberNames(page) {
  return page.locator(".people .member .name").allInnerTexts();
}

describe("demo chat: two nodes on one Redis", { skip: !haveRedis() && "no redis-server (scripts/setup.sh redis)" }, () => {
  const chat = useChat({}, { nodes: 2 });

  test("a page on each node: one conversation, one member list, one count", async () => {
    const alice = await chat.open("alice", { node: 0 });
    const bob = await chat.open("bob", { node: 1, client: "js" });
    for (const p of [alice, bob]) {
      await seeMembers(p, "Online in #general — 2");
      await seeCount(p, "#general", 2);
    }
    assert.deepEqual(await memberNames(alice), ["alice", "bob"]);
    assert.deepEqual(await memberNames(bob), ["alice", "bob"]);
    await seeNotice(alice, "bob joined #general");

    await sayAndConfirm(alice, "hello from node A");
    await seeMessage(bob, "hello from node A");
    await bob.getByLabel("Message", { exact: true }).fill("typing on B");
    await alice.locator(".typing", { hasText: "bob is typing" }).waitFor();
    await bob.getByLabel("Message", { exact: true }).press("Enter");
    await seeMessage(alice, "typing on B");

    // A channel joined on one node counts on the other.
    await bob.locator(".channel-list .open", { hasText: "#rust" }).click();
    await seeCount(alice, "#rust", 1);

    // A newcomer on node B finds what was said on node A in the shared history.
    const carol = await chat.open("carol", { node: 1 });
    assert.deepEqual(
      (await messages(carol)).map((m) => [m.author, m.text]),
      [
        ["alice", "hello from node A"],
        ["bob", "typing on B"],
      ],
    );
    await seeMembers(alice, "Online in #general — 3");
    await screenshot(alice, "cluster-node-a");
    await screenshot(bob, "cluster-node-b");

    // Leaving, by closing the page, shows on the other node.
    await carol.close();
    await seeMembers(alice, "Online in #general — 2");
    await seeNotice(alice, "carol left #general");
    for (const p of [alice, bob]) assertClean(p);
  });

  test("a nickname held on one node is refused on the other, but not to its holder's tabs", async () => {
    const alice = await chat.open("alice", { node: 0 });
    const other = await chat.open(null, { node: 1, client: "js" });
    await submitName(other, "Alice");
    await other.locator(".login-error", { hasText: exact("That nickname is taken: pick another") }).waitFor();

    // Alice's own second tab, on the other node.
    const tab = await chat.open(null, { node: 1, person: alice });
    await tab.locator(".me-name", { hasText: exact("alice") }).waitFor({ state: "attached" });
    await status(tab, /^connected/);
    await seeMembers(tab, "Online in #general — 1");

    // Once all her tabs are gone, on both nodes, the name is free on either.
    await tab.close();
    await alice.close();
    await channelsEmpty(chat.urls[1]);
    await login(other, "Alice");
    assertClean(other);
  });

  test("direct messages reach a person on the other node, on all their tabs", async () => {
    const alice = await chat.open("alice", { node: 0, client: "js" });
    const bob = await chat.open("bob", { node: 1 });
    const bobOnA = await chat.open(null, { node: 0, person: bob });
    await status(bobOnA, /^connected/);

    await alice.getByRole("button", { name: "Message bob" }).click();
    await alice.locator(".conv-title", { hasText: exact("@bob") }).waitFor();
    await sayAndConfirm(alice, "psst, bob");
    for (const p of [bob, bobOnA]) {
      const thread = p.locator(".dm-list .channel", { hasText: "@alice" });
      await thread.locator(".open").click();
      await seeMessage(p, "psst, bob");
    }
    await sayAndConfirm(bob, "hi alice, from node B");
    await seeMessage(alice, "hi alice, from node B");
    await seeMessage(bobOnA, "hi alice, from node B");

    // Nobody of that name on either node: the sender is told so.
    await alice.locator(".dm-list .channel", { hasText: "@bob" }).waitFor();
    await bob.close();
    await bobOnA.close();
    await seeCount(alice, "#general", 1);
    await say(alice, "are you there?");
    await message(alice, "are you there?").locator(".status", { hasText: "not sent: That user is no longer online" }).waitFor();
    assertClean(alice);
  });

  test("a node restarts: its pages come back to the conversation and see what they missed", async () => {
    const alice = await chat.open("alice", { node: 0 });
    const bob = await chat.open("bob", { node: 1, client: "js" });
    await seeMembers(alice, "Online in #general — 2");

    await chat.stop(1);
    await seeMembers(alice, "Online in #general — 1");
    await status(bob, /^(reconnecting|offline|connecting)/);
    await sayAndConfirm(alice, "said while node B was down");

    await chat.restart(1);
    await status(bob, /^connected/, 20_000);
    await seeMessage(bob, "said while node B was down");
    await seeMembers(bob, "Online in #general — 2");
    await seeMembers(alice, "Online in #general — 2");
    await sayAndConfirm(bob, "back on node B");
    await seeMessage(alice, "back on node B");
    assertClean(alice);
  });
});

describe("demo chat: a node that dies without a word", { skip: !haveRedis() && "no redis-server (scripts/setup.sh redis)" }, () => {
  // The other nodes look again every second: what a killed node's members leave behind.
  const chat = useChat({ CHAT_ROSTER_REFRESH_MS: "1000" }, { nodes: 2 });

  test("is dropped from the member lists, and its nicknames are free again", async () => {
    const alice = await chat.open("alice", { node: 0 });
    const bob = await chat.open("bob", { node: 1 });
    await seeMembers(alice, "Online in #general — 2");
    process.kill(chat.srvs[1].pid, "SIGKILL");
    await chat.stop(1);
    await status(bob, /^(reconnecting|offline|connecting)/);
    await seeMembers(alice, "Online in #general — 1");
    await seeCount(alice, "#general", 1);
    // Bob's name was his on the dead node only.
    const bob2 = await chat.open("bob", { node: 0, client: "js" });
    await seeMembers(bob2, "Online in #general — 2");
    assertClean(alice);
  });
});
