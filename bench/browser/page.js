// In-page side of the browser benchmark (bench/browser/run.mjs drives it with page.evaluate).
// One page loads exactly one client: ours (/pkg/sio_client.js, its .wasm instantiated on import) or
// socket.io-client's ESM bundle (/sioc/socket.io.esm.min.js). Both are used through the same
// socket.io-client API, with the same code below.
//
// `state` is progress the runner reads if a measurement times out.
export const state = { phase: "idle", count: 0 };
let io;
let active = null; // the socket of the running measurement

/** Ends the running measurement (the runner calls it after a timeout). */
export function abort() {
  const s = active;
  active = null;
  s?.disconnect?.();
  s?.close?.();
}

/** Imports the client; returns the milliseconds from import to a usable `io`. */
export async function load(which) {
  const t0 = performance.now();
  if (which === "ours") {
    // The module instantiates its .wasm on import (top-level await).
    const m = await import("/pkg/sio_client.js");
    io = m.io;
  } else {
    const m = await import("/sioc/socket.io.esm.min.js");
    io = m.io;
  }
  return performance.now() - t0;
}

let extra = {}; // more io() options for every connection (bench/webtransport: transportOptions)

/** Sets more io() options for the connections to come. */
export function options(opts) {
  extra = opts;
}

function connect(url, transports) {
  const socket = io(url, { transports, forceNew: true, reconnection: false, ...extra });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (e) => reject(new Error(`connect_error: ${e && e.message}`)));
  });
}

/**
 * Receives `n` `tp` events ({"i":k,"p":"xxxxxxxx"}) and times them from the first emit of
 * `flood` to the arrival of the last `flood-done`. The contract server closes a session whose
 * send queue holds 10,000 packets (max_buffered_packets) and a `flood` handler queues all its
 * packets at once, so one `flood N` with N >= 10,000 is a disconnect ("transport close") with
 * nothing received. Hence `n` is asked as floods of `chunk` events, `window` of them in
 * flight (window * (chunk + 1) must stay below 10,000). The listener touches the decoded
 * payload: sums d.i, checks the order (d.i === k within its flood) and d.p's length.
 * A disconnect before the end ends the measurement (its reason is returned).
 */
export async function flood(url, transports, n, chunk, window) {
  state.phase = "flood: connecting";
  state.count = 0;
  const socket = (active = await connect(url, transports));
  const floods = Math.ceil(n / chunk);
  let count = 0;
  let sum = 0;
  let bad = 0;
  let asked = 0;
  let done = 0;
  let disconnect = null;
  let over = false;
  const ask = () => socket.emit("flood", Math.min(chunk, n - asked++ * chunk));
  const finished = new Promise((resolve) => {
    socket.on("disconnect", (reason) => {
      if (over) return; // our own disconnect() below
      disconnect = String(reason);
      resolve();
    });
    socket.on("flood-done", () => {
      if (++done === floods) resolve();
      else if (asked < floods) ask();
    });
  });
  socket.on("tp", (d) => {
    if (d.i !== count % chunk || d.p.length !== 8) bad++;
    sum += d.i;
    state.count = ++count;
  });
  state.phase = "flood: receiving";
  const t0 = performance.now();
  while (asked < Math.min(window, floods)) ask();
  await finished;
  const ms = performance.now() - t0;
  over = true;
  const transport = transportOf(socket);
  socket.disconnect();
  state.phase = "idle";
  active = null;
  const full = Math.floor(n / chunk);
  const rest = n % chunk;
  const sumOk = sum === (full * chunk * (chunk - 1)) / 2 + (rest * (rest - 1)) / 2;
  return { n, ms, count, floodsDone: done, floods, sumOk, bad, disconnect, transport };
}

/** Sequential `emitWithAck("echo", i)` until `max` acks or `seconds` elapsed. */
export async function acks(url, transports, seconds, max) {
  state.phase = "acks: connecting";
  state.count = 0;
  const socket = (active = await connect(url, transports));
  let n = 0;
  let bad = 0;
  const lat = new Float64Array(max);
  state.phase = "acks: running";
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (n < max && performance.now() < end) {
    const t = performance.now();
    const r = await socket.emitWithAck("echo", n);
    lat[n] = performance.now() - t;
    if (r !== n) bad++;
    state.count = ++n;
  }
  const ms = performance.now() - t0;
  const transport = transportOf(socket);
  socket.disconnect();
  state.phase = "idle";
  active = null;
  // Round-trip latency percentiles, in ms (performance.now() is coarsened to 0.1 ms or so).
  const sorted = lat.subarray(0, n).sort();
  const pct = (q) => (n ? sorted[Math.min(n - 1, Math.floor(q * n))] : NaN);
  return { n, ms, bad, transport, p50: pct(0.5), p99: pct(0.99) };
}

// socket.io-client: socket.io.engine.transport.name; ours also has manager.transport.
function transportOf(socket) {
  try {
    return socket.io.engine?.transport?.name ?? socket.io.transport ?? null;
  } catch {
    return null;
  }
}

// ---------- baseline: a bare WebSocket, no client library ----------
// The same exchanges, written by hand against the Engine.IO/Socket.IO wire: what this Chromium
// costs without any client (JSON.parse of each event is kept: every client has to do it).

function rawConnect(url) {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`);
  const handlers = { msg: null };
  const open = new Promise((resolve, reject) => {
    ws.onerror = () => reject(new Error("bare WebSocket: error"));
    ws.onclose = (e) => reject(new Error(`bare WebSocket: closed ${e.code}`));
    ws.onmessage = (e) => {
      const d = e.data;
      if (d[0] === "0") ws.send("40");
      else if (d === "2") ws.send("3");
      else if (d.startsWith("40")) resolve();
      else handlers.msg?.(d);
    };
  });
  return open.then(() => ({ ws, handlers }));
}

export async function rawFlood(url, n, chunk, window) {
  state.phase = "raw flood: connecting";
  state.count = 0;
  const { ws, handlers } = await rawConnect(url);
  active = ws;
  const floods = Math.ceil(n / chunk);
  let count = 0;
  let sum = 0;
  let bad = 0;
  let asked = 0;
  let done = 0;
  let closed = null;
  const ask = () => ws.send(`42["flood",${Math.min(chunk, n - asked++ * chunk)}]`);
  const finished = new Promise((resolve) => {
    ws.onclose = (e) => resolve((closed = `closed ${e.code}`));
    handlers.msg = (m) => {
      if (m.startsWith('42["tp"')) {
        const d = JSON.parse(m.slice(2))[1];
        if (d.i !== count % chunk || d.p.length !== 8) bad++;
        sum += d.i;
        state.count = ++count;
      } else if (m.startsWith('42["flood-done"')) {
        if (++done === floods) resolve();
        else if (asked < floods) ask();
      }
    };
  });
  state.phase = "raw flood: receiving";
  const t0 = performance.now();
  while (asked < Math.min(window, floods)) ask();
  await finished;
  const ms = performance.now() - t0;
  ws.onclose = null;
  ws.close();
  state.phase = "idle";
  active = null;
  const full = Math.floor(n / chunk);
  const rest = n % chunk;
  const sumOk = sum === (full * chunk * (chunk - 1)) / 2 + (rest * (rest - 1)) / 2;
  return { n, ms, count, floodsDone: done, floods, sumOk, bad, disconnect: closed, transport: "websocket" };
}

export async function rawAcks(url, seconds, max) {
  state.phase = "raw acks: connecting";
  state.count = 0;
  const { ws, handlers } = await rawConnect(url);
  active = ws;
  let n = 0;
  let bad = 0;
  state.phase = "raw acks: running";
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (n < max && performance.now() < end) {
    const id = n;
    const r = await new Promise((resolve) => {
      handlers.msg = (m) => m.startsWith(`43${id}[`) && resolve(JSON.parse(m.slice(2 + String(id).length))[0]);
      ws.send(`42${id}["echo",${n}]`);
    });
    if (r !== n) bad++;
    state.count = ++n;
  }
  const ms = performance.now() - t0;
  ws.onclose = null;
  ws.close();
  state.phase = "idle";
  active = null;
  return { n, ms, bad, transport: "websocket" };
}
