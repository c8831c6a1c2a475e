// A restart with many clients: on SIGTERM the server stops accepting before it closes its
// sockets, so clients that reconnect at once (here every 50–200 ms) are refused until the
// next process listens, and then land there: each sees exactly one disconnect, and the new
// process holds exactly one session per client. A server that kept accepting while it
// drained would take some of them in only to drop them again: here the drain lasts about a
// second, because one polling client is between two polls (its queue waits for a GET that
// does not come, up to the close timeout), as clients on slow networks often are.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MODES, freePort, startServer, client, whenConnected, waitFor, ack, closeAllClients } from "../lib/harness.mjs";
import { PollingSession } from "../lib/raw.mjs";

const N = 50;

test(`restart: ${N} clients over every transport reconnect once, to the new process`, async (t) => {
  const port = await freePort();
  let srv = await startServer({ port });
  t.after(async () => {
    closeAllClients();
    await srv.stop();
  });
  const modes = Object.values(MODES);
  const clients = [];
  for (let i = 0; i < N; i++) {
    const s = client(srv.url, {
      ...modes[i % modes.length],
      reconnection: true,
      reconnectionDelay: 50,
      reconnectionDelayMax: 200,
      randomizationFactor: 0,
    });
    const seen = { connects: 0, disconnects: 0 };
    s.on("connect", () => seen.connects++);
    s.on("disconnect", () => seen.disconnects++);
    clients.push({ s, seen });
  }
  await Promise.all(clients.map(({ s }) => whenConnected(s)));
  const idle = await PollingSession.handshake(srv.url);
  assert.match(await idle.connect("/"), /^40\{"sid":/);
  const [before] = await ack(clients[0].s, "server-info");
  assert.equal(before.engineCount, N + 1);

  const info = await srv.stop(); // SIGTERM: the process drains and exits
  assert.deepEqual({ code: info.code, signal: info.signal }, { code: 0, signal: null }, srv.logs());
  srv = await startServer({ port });

  await waitFor(() => clients.every(({ s, seen }) => s.connected && seen.connects >= 2), {
    timeout: 20_000,
    what: "every client reconnected",
  });
  // An ack now can only come from the new process (the old one has exited).
  await Promise.all(clients.map(({ s }) => ack(s, "server-info")));
  for (const [i, { seen }] of clients.entries()) {
    assert.deepEqual(seen, { connects: 2, disconnects: 1 }, `client ${i}`);
  }
  const [after] = await ack(clients[0].s, "server-info");
  assert.equal(after.engineCount, N, "one session per client on the new process");
});
