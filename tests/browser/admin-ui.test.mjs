// The real admin UI (the built UI of npm @socket.io/admin-ui 0.5.1, served from its own origin)
// in Chromium against our contract server with ADMIN_UI=1: log in, see the sockets of an
// official socket.io-client and of our wasm client, their rooms and events, make one join a
// room and disconnect another from the UI, and check what the clients see. Screenshots go
// to tests/artifacts/admin-ui-*.png.
import assert from "node:assert/strict";
import { describe, it, before, after } from "node:test";
import { connect, once, ack, closeAllClients } from "../lib/harness.mjs";
import { useBrowser, useServerFor } from "../lib/browser.mjs";
import { serveUi, openUi, logIn, show, shot } from "../lib/admin-ui.mjs";

const b = useBrowser();

describe("admin UI (rust server)", () => {
  const srv = useServerFor("rust", { env: { ADMIN_UI: "1" } });
  let ui;
  before(async () => {
    ui = await serveUi();
  });
  after(async () => {
    closeAllClients();
    await ui?.close();
  });

  it("refuses a wrong password, then shows and drives the sockets of both clients", async () => {
    // One official client over Node, one wasm client in a page.
    const js = await connect(srv.url, { query: { who: "js-client" } });
    await ack(js, "join", "lobby");
    const wasmPage = await b.page();
    const wasmId = await wasmPage.evaluate(async (url) => {
      window.s = await t.connect(url, { query: { who: "wasm-client" } });
      await t.ack(window.s, "join", "lobby");
      window.seen = t.collect(window.s, "disconnect");
      return window.s.id;
    }, srv.url);

    const page = await openUi(b.browser, ui.url);
    b.pages.push(page);
    await logIn(page, srv.url, "wrong");
    await page.getByText("Invalid credentials").waitFor();
    await shot(page, "login-refused");
    await logIn(page, srv.url, "admin-secret");
    await page.getByRole("dialog").waitFor({ state: "hidden" });

    // The dashboard: this server, healthy, with its namespaces.
    await page.getByText("/custom").first().waitFor();
    await shot(page, "dashboard");

    // The sockets of "/", both clients among them.
    await show(page, ui.url, "/sockets/");
    await page.getByText(js.id).waitFor();
    await page.getByText(wasmId).waitFor();
    await shot(page, "sockets");

    // The rooms of "/": "lobby" has both.
    await show(page, ui.url, "/rooms/");
    await page.getByText("lobby").first().waitFor();
    await shot(page, "rooms");

    // The wasm client's socket: its details and rooms; make it join "vip" from the UI.
    await show(page, ui.url, `/n/${encodeURIComponent("/")}/sockets/${wasmId}`);
    await page.getByText("wasm-client").first().waitFor();
    await page.getByLabel(/join a room/i).fill("vip");
    await page.locator("button[type=submit]:has(i.mdi-tag-plus-outline)").click();
    await page.getByRole("cell", { name: "vip" }).waitFor();
    const rooms = await wasmPage.evaluate(async () => (await t.ack(window.s, "state"))[0].rooms.sort());
    assert.deepEqual(rooms, ["lobby", "vip"]);
    await shot(page, "socket-joined-vip");

    // The events the clients sent and got.
    js.emit("emit-as", "hello", "from the admin test");
    await once(js, "hello");
    await show(page, ui.url, "/events/");
    await page.getByText("emit-as").first().waitFor();
    await shot(page, "events");

    // Disconnect the js client's socket from the UI: it sees the server's disconnect.
    const jsId = js.id;
    const gone = once(js, "disconnect", { timeout: 10_000 });
    await show(page, ui.url, `/n/${encodeURIComponent("/")}/sockets/${jsId}`);
    await page.getByText("js-client").first().waitFor();
    // Two logout buttons: the connection's (closes it) and this socket's (the second).
    await page.locator("button:has(i.mdi-logout)").nth(1).click();
    assert.equal((await gone)[0], "io server disconnect");
    await show(page, ui.url, "/sockets/");
    await page.waitForFunction(
      ([gone, kept]) => !document.body.innerText.includes(gone) && document.body.innerText.includes(kept),
      [jsId, wasmId],
    );
    await shot(page, "after-disconnect");

    // The wasm client was left alone.
    assert.equal(await wasmPage.evaluate(() => window.s.connected), true);
    assert.deepEqual(await wasmPage.evaluate(() => window.seen.length), 0);
  });
});
