// The admin UI across a mixed cluster: a sio contract server and a Node reference server
// (socket.io 4.8 + @socket.io/redis-adapter 8 + @socket.io/admin-ui's instrument()), both
// with ADMIN_UI=1 on one redis-server. Logged in on the sio node, the UI lists both nodes,
// the sockets of both, and its commands reach a socket on the Node node.
import assert from "node:assert/strict";
import { describe, it, before, after } from "node:test";
import { io as ioc } from "socket.io-client";
import { connect, collect, once, ack, waitFor } from "../lib/harness.mjs";
import { skipWithoutRedis, startProbe, classicOnly, usePair } from "../lib/cluster.mjs";
import { launchBrowser } from "../lib/browser.mjs";
import { serveUi, openUi, logIn, show, shot } from "../lib/admin-ui.mjs";

const NODE_ID = "node-reference";

describe("admin UI on a mixed cluster (sio node + Node node)", { skip: skipWithoutRedis || classicOnly }, () => {
  let redis, rust, node, probe, browser, ui;
  // Registered first, so that it runs before the servers and Redis stop.
  after(async () => {
    await browser?.close();
    await ui?.close();
    await probe?.close();
  });

  usePair((s) => ({ redis, rust, node } = s), {
    kind: "contract",
    env: { ADMIN_UI: "1" },
    nodeEnv: { ADMIN_SERVER_ID: NODE_ID },
  });

  before(async () => {
    probe = await startProbe(redis.url);
    await waitFor(async () => (await probe.io.of("/").adapter.serverCount()) >= 3, {
      timeout: 10_000,
      interval: 50,
      what: "3 nodes subscribed",
    });
    [browser, ui] = await Promise.all([launchBrowser(), serveUi()]);
  });

  it("the protocol: both nodes' stats and sockets reach an admin on the sio node", async () => {
    const onRust = await connect(rust.url, { query: { who: "on-rust" } });
    const onNode = await connect(node.url, { query: { who: "on-node" } });
    const admin = ioc(`${rust.url}/admin`, {
      forceNew: true,
      reconnection: false,
      auth: { username: "admin", password: "admin-secret" },
    });
    const stats = collect(admin, "server_stats");
    const all = collect(admin, "all_sockets");
    await once(admin, "connect");
    try {
      const [[sockets]] = await all.until((g) => g.length === 1);
      const ids = sockets.map((s) => s.id);
      assert.ok(ids.includes(onRust.id) && ids.includes(onNode.id), JSON.stringify(ids));
      const fromNode = sockets.find((s) => s.id === onNode.id);
      assert.equal(fromNode.handshake.query.who, "on-node");
      assert.equal(typeof fromNode.clientId, "string");
      const got = await stats.until((g) => new Set(g.map(([s]) => s.serverId)).size >= 2, { timeout: 10_000 });
      const ids2 = new Set(got.map(([s]) => s.serverId));
      assert.ok(ids2.has(NODE_ID), [...ids2].join());
    } finally {
      admin.disconnect();
    }
  });

  it("the real UI lists both nodes and their sockets, and moves a socket of the Node node", async () => {
    const onRust = await connect(rust.url, { query: { who: "on-rust" } });
    const onNode = await connect(node.url, { query: { who: "on-node" } });
    const page = await openUi(browser, ui.url);
    try {
      await logIn(page, rust.url);
      await page.getByRole("dialog").waitFor({ state: "hidden" });
      await show(page, ui.url, "/servers/");
      await page.getByText(NODE_ID).waitFor({ timeout: 10_000 });
      // The sio node's row: its host name, and this process's pid.
      await page.getByRole("cell", { name: String(rust.pid) }).waitFor({ timeout: 10_000 });
      await shot(page, "cluster-servers");

      await show(page, ui.url, "/sockets/");
      await page.getByText(onRust.id).waitFor();
      await page.getByText(onNode.id).waitFor();
      await shot(page, "cluster-sockets");

      // Join a room from the UI: the command goes from the sio node to the Node node.
      await show(page, ui.url, `/n/${encodeURIComponent("/")}/sockets/${onNode.id}`);
      await page.getByText("on-node").first().waitFor();
      await page.getByLabel(/join a room/i).fill("from-ui");
      await page.locator("button[type=submit]:has(i.mdi-tag-plus-outline)").click();
      // The UI shows the room once the Node node reports the join, which it does once joined.
      await page.getByRole("cell", { name: "from-ui" }).waitFor();
      assert.deepEqual((await ack(onNode, "state"))[0].rooms, ["from-ui"]);
      await shot(page, "cluster-socket-joined");
    } finally {
      await page.close();
    }
  });
});
