// Process lifecycle: the server listens on 127.0.0.1:$PORT and exits cleanly on SIGTERM,
// dropping its clients.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer, connect, ack, once, closeAllClients, stopCleanly } from "../lib/harness.mjs";

test("SIGTERM: the server exits with code 0 promptly and its clients see the connection drop", async (t) => {
  const srv = await startServer();
  t.after(async () => {
    closeAllClients();
    await srv.stop();
  });
  const ws = await connect(srv.url, { transports: ["websocket"] });
  const poll = await connect(srv.url, { transports: ["polling"] });
  assert.deepEqual(await ack(ws, "echo", 1), [1]);
  assert.deepEqual(await ack(poll, "echo", 2), [2]);
  const d1 = once(ws, "disconnect", { timeout: 10_000 });
  const d2 = once(poll, "disconnect", { timeout: 10_000 });
  await stopCleanly(srv);
  const [r1] = await d1;
  const [r2] = await d2;
  assert.ok(["transport close", "transport error"].includes(r1), `websocket client: ${r1}`);
  assert.ok(["transport close", "transport error"].includes(r2), `polling client: ${r2}`);
});

test("PORT is honoured and 127.0.0.1 is served", async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const s = await connect(srv.url, { transports: ["websocket"] });
  assert.deepEqual(await ack(s, "echo", "port"), ["port"]);
  s.disconnect();
});
