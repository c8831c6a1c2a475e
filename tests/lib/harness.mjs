// Test harness: start/stop the server under test, and small client helpers.
//
// Servers (`kind`): "contract" (the default), "features", and "chat" (the demo, Rust only).
// Which implementation: SIO_SERVER=node -> the Node reference (reference/contract-server.mjs,
// reference/features-server.mjs); otherwise the command in SIO_CONTRACT_BIN / SIO_FEATURES_BIN /
// SIO_CHAT_BIN (default ../target/release/examples/contract / features / chat, relative to tests/). The server
// gets PORT=<free port> plus the env passed to startServer.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { before, after, afterEach } from "node:test";
import { io } from "socket.io-client";

export const TESTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const SERVER_KIND = process.env.SIO_SERVER === "node" ? "node" : "rust";
export const IS_NODE = SERVER_KIND === "node";

/** Client transport modes: every interop group runs once per mode. */
export const MODES = {
  polling: { transports: ["polling"] },
  websocket: { transports: ["websocket"] },
  upgrade: {}, // default: polling first, then upgrade to websocket
};

const START_DEADLINE_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const LOG_CAP = 256 * 1024; // keep the last 256 KiB of server output

const KINDS = {
  contract: { reference: "contract-server.mjs", envBin: "SIO_CONTRACT_BIN", example: "contract" },
  features: { reference: "features-server.mjs", envBin: "SIO_FEATURES_BIN", example: "features" },
  chat: { reference: null, envBin: "SIO_CHAT_BIN", example: "chat" }, // the demo chat: Rust only
};

function serverCommand(kind = "contract", impl = SERVER_KIND) {
  const k = KINDS[kind];
  if (!k) throw new Error(`unknown server kind ${JSON.stringify(kind)} (${Object.keys(KINDS).join(", ")})`);
  if (impl === "node") {
    if (!k.reference) throw new Error(`the ${kind} server has no Node twin`);
    return [process.execPath, [path.join(TESTS_DIR, "reference", k.reference)]];
  }
  const spec = process.env[k.envBin] || path.join(TESTS_DIR, "..", "target", "release", "examples", k.example);
  // A plain path (may contain spaces) or "cmd arg1 arg2" (split on whitespace).
  if (existsSync(spec)) return [spec, []];
  const [cmd, ...args] = spec.split(/\s+/).filter(Boolean);
  const resolved = path.isAbsolute(cmd) ? cmd : path.resolve(TESTS_DIR, cmd);
  if (!existsSync(resolved) && !cmd.includes("/")) return [cmd, args]; // on $PATH
  if (!existsSync(resolved)) {
    throw new Error(
      `${kind} server binary not found: ${resolved}\n` +
        `build it (cargo build --release -p sio-server --example ${k.example}), set ${k.envBin}, ` +
        "or run against the Node reference with SIO_SERVER=node",
    );
  }
  return [resolved, args];
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tryConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: "127.0.0.1" });
    const done = (ok) => {
      sock.removeAllListeners();
      sock.destroy();
      resolve(ok);
    };
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

const live = new Set(); // child processes to kill if the test process dies
process.on("exit", () => {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {}
  }
});

/**
 * Start the server under test (`kind`: "contract" or "features"; `impl`: "rust" or "node",
 * by default SIO_SERVER's choice). `port`: a fixed port (to restart a server where it was).
 * Returns {port, url, pid, env, logs(), alive(), stop()}.
 */
export async function startServer({ env = {}, kind = "contract", impl = SERVER_KIND, port } = {}) {
  port ??= await freePort();
  const [cmd, args] = serverCommand(kind, impl);
  const child = spawn(cmd, args, {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
    cwd: TESTS_DIR,
  });
  live.add(child);
  let log = "";
  const append = (chunk) => {
    log += chunk.toString();
    if (log.length > LOG_CAP) log = log.slice(log.length - LOG_CAP);
  };
  child.stdout.on("data", append);
  child.stderr.on("data", append);
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      live.delete(child);
      resolve(exitInfo);
    });
    child.once("error", (err) => {
      append(`spawn error: ${err.message}\n`);
      exitInfo = exitInfo || { code: null, signal: null, error: err };
      live.delete(child);
      resolve(exitInfo);
    });
  });

  const deadline = Date.now() + START_DEADLINE_MS;
  let backoff = 5;
  for (;;) {
    if (exitInfo) {
      throw new Error(`server exited before listening (${JSON.stringify(exitInfo)}); output:\n${log}`);
    }
    if (await tryConnect(port)) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server did not listen on 127.0.0.1:${port} within ${START_DEADLINE_MS} ms; output:\n${log}`);
    }
    await Promise.race([delay(backoff), exited]);
    backoff = Math.min(backoff * 2, 100);
  }

  let logMark = 0;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    env,
    /** All captured output (stdout+stderr, last 256 KiB). */
    logs: () => log,
    /** Output since the previous call of newLogs(). */
    newLogs() {
      const out = log.slice(Math.min(logMark, log.length));
      logMark = log.length;
      return out;
    },
    exitInfo: () => exitInfo,
    /** true while the process runs (checked with signal 0). */
    alive() {
      if (exitInfo) return false;
      try {
        process.kill(child.pid, 0);
        return true;
      } catch {
        return false;
      }
    },
    async stop() {
      if (exitInfo) return exitInfo;
      child.kill("SIGTERM");
      const t = setTimeout(() => {
        if (!exitInfo) child.kill("SIGKILL");
      }, STOP_GRACE_MS);
      const info = await exited;
      clearTimeout(t);
      return info;
    },
  };
}

/**
 * Register before/after hooks for one server in the current file/suite. The returned object
 * is filled in before the first test runs (srv.url, srv.port, srv.alive() ...). After every
 * failed test the server's new output is printed; the open client sockets are closed after
 * every test. `kind`: "contract" (default) or "features".
 */
export function useServer(env = {}, { kind = "contract" } = {}) {
  const srv = {};
  before(async () => {
    Object.assign(srv, await startServer({ env, kind }));
  });
  afterEach((t) => {
    closeAllClients();
    if (!srv.newLogs) return;
    const out = srv.newLogs();
    if (!t.passed) {
      const exit = srv.exitInfo();
      console.error(
        `--- server output (${SERVER_KIND}, pid ${srv.pid}${exit ? `, EXITED ${JSON.stringify(exit)}` : ""}) since the previous test ---\n` +
          (out || "(none)\n") +
          "--- end of server output ---",
      );
    }
  });
  after(async () => {
    closeAllClients();
    if (srv.stop) {
      const info = srv.exitInfo();
      if (info) console.error(`server had exited during the tests: ${JSON.stringify(info)}`);
      await srv.stop();
    }
  });
  return srv;
}

// ---------------------------------------------------------------- client helpers

const openClients = new Set();

/** SIGTERM the server and assert it exits with code 0 within 5 s (before the SIGKILL). */
export async function stopCleanly(srv) {
  const t0 = Date.now();
  const info = await srv.stop(); // SIGTERM, SIGKILL after 5 s
  const elapsed = Date.now() - t0;
  assert.deepEqual(
    { code: info.code, signal: info.signal },
    { code: 0, signal: null },
    `exit after SIGTERM: ${JSON.stringify(info)} in ${elapsed} ms; output:\n${srv.logs()}`,
  );
  assert.ok(elapsed < 5_000, `took ${elapsed} ms to exit`);
}

export function closeAllClients() {
  for (const s of openClients) {
    try {
      s.io.opts.reconnection = false;
      s.disconnect(); // the Manager closes its engine once none of its sockets is active
    } catch {}
  }
  openClients.clear();
}

/** Create a socket.io-client socket (not awaited). forceNew + no reconnection unless overridden. */
export function client(url, opts = {}) {
  const s = io(url, { forceNew: true, reconnection: false, timeout: 10_000, ...opts });
  openClients.add(s);
  return s;
}

/** Connect and resolve with the connected Socket; reject with the connect_error error. */
export function connect(url, opts = {}, { timeout = 10_000 } = {}) {
  return whenConnected(client(url, opts), { timeout });
}

/** Resolve when `s` connects (or is connected), reject on connect_error. */
export function whenConnected(s, { timeout = 10_000 } = {}) {
  openClients.add(s);
  if (s.connected) return Promise.resolve(s);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      cleanup();
      reject(new Error(`connect to ${s.nsp} timed out after ${timeout} ms`));
    }, timeout);
    const onConnect = () => {
      cleanup();
      resolve(s);
    };
    const onError = (err) => {
      cleanup();
      s.disconnect();
      reject(err);
    };
    const cleanup = () => {
      clearTimeout(t);
      s.off("connect", onConnect);
      s.off("connect_error", onError);
    };
    s.on("connect", onConnect);
    s.on("connect_error", onError);
  });
}

/** Connect and expect a connect_error: resolves with the error. */
export function connectError(url, opts = {}, { timeout = 10_000 } = {}) {
  const s = client(url, opts);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      cleanup();
      reject(new Error(`no connect_error within ${timeout} ms`));
    }, timeout);
    const onConnect = () => {
      cleanup();
      reject(new Error(`unexpectedly connected to ${s.nsp}`));
    };
    const onError = (err) => {
      cleanup();
      resolve(err);
    };
    const cleanup = () => {
      clearTimeout(t);
      s.off("connect", onConnect);
      s.off("connect_error", onError);
      s.disconnect();
    };
    s.on("connect", onConnect);
    s.on("connect_error", onError);
  });
}

/**
 * Wait for one `event` on an emitter (socket.io Socket, engine, Manager, ws, EventEmitter).
 * Resolves with the array of the event's arguments.
 */
export function once(emitter, event, { timeout = 5_000 } = {}) {
  return new Promise((resolve, reject) => {
    const handler = (...args) => {
      clearTimeout(t);
      resolve(args);
    };
    const t = setTimeout(() => {
      (emitter.off || emitter.removeListener).call(emitter, event, handler);
      reject(new Error(`timed out after ${timeout} ms waiting for "${event}"`));
    }, timeout);
    emitter.once(event, handler);
  });
}

/**
 * Collect every `event` on `socket`: returns an array of argument arrays, with
 * `.until(pred, {timeout})` (resolves when pred(array) is true, re-checked on every event)
 * and `.stop()`.
 */
export function collect(socket, event) {
  const got = [];
  const waiters = new Set();
  const handler = (...args) => {
    got.push(args);
    for (const w of [...waiters]) w();
  };
  socket.on(event, handler);
  Object.defineProperty(got, "stop", { value: () => socket.off(event, handler) });
  Object.defineProperty(got, "until", {
    value: (pred, { timeout = 5_000 } = {}) =>
      new Promise((resolve, reject) => {
        const check = () => {
          let ok;
          try {
            ok = pred(got);
          } catch (e) {
            waiters.delete(check);
            clearTimeout(t);
            reject(e);
            return;
          }
          if (ok) {
            waiters.delete(check);
            clearTimeout(t);
            resolve(got);
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${timeout} ms waiting on "${event}" (got ${got.length}: ${short(got)})`));
        }, timeout);
        waiters.add(check);
        check();
      }),
  });
  return got;
}

function short(v) {
  let s;
  try {
    s = JSON.stringify(v);
  } catch {
    s = String(v);
  }
  return s && s.length > 300 ? s.slice(0, 300) + "…" : s;
}

/**
 * Wait until predicate() is true. Prefer once()/collect().until(); this re-checks on a short
 * timer (for state with no event, e.g. a process exiting), bounded by `timeout`.
 */
export async function waitFor(predicate, { timeout = 5_000, interval = 10, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await delay(interval);
  }
}

/**
 * Freeze a server (SIGSTOP) and return once every one of its threads is stopped. kill() only
 * queues the signal: until the thread that takes it is scheduled, the process's other threads
 * (tokio workers) keep running and can still answer a request sent right after.
 */
export async function freeze(pid) {
  process.kill(pid, "SIGSTOP");
  const state = (tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    } catch {
      return "T"; // a thread that has exited runs nothing
    }
  };
  await waitFor(() => readdirSync(`/proc/${pid}/task`).every((tid) => "Tt".includes(state(tid))), {
    interval: 1,
    what: `every thread of pid ${pid} stopped`,
  });
}

/** Let a frozen server run again. */
export function thaw(pid) {
  process.kill(pid, "SIGCONT");
}

/** Emit with an ack; resolves with the array of all ack arguments. */
export function ack(socket, event, ...args) {
  return ackTimeout(5_000, socket, event, ...args);
}

export function ackTimeout(ms, socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(ms).emit(event, ...args, (err, ...res) => {
      if (err) reject(new Error(`no ack for "${event}" within ${ms} ms (${err.message})`));
      else resolve(res);
    });
  });
}

/**
 * Round-trip barrier: an echo ack on each socket. Everything the server sent to a socket
 * before handling this echo has been received once it resolves (per-socket ordering).
 */
export async function barrier(...sockets) {
  await Promise.all(
    sockets.map(async (s) => {
      const [v] = await ack(s, "echo", "barrier");
      if (v !== "barrier") throw new Error(`barrier echo returned ${short(v)}`);
    }),
  );
}

/** In upgrade mode: resolve once the engine runs on websocket. No-op in other modes. */
export async function settleTransport(socket, mode, { timeout = 5_000 } = {}) {
  const engine = socket.io.engine;
  if (mode !== "upgrade") return;
  if (engine.transport.name === "websocket") return;
  await once(engine, "upgrade", { timeout });
}

/** Turn every ArrayBuffer / typed array / DataView in a value into a Buffer (what the client returns). */
export function toBuffers(v) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(toBuffers);
  if (v && typeof v === "object") {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = toBuffers(x);
    return o;
  }
  return v;
}

export const sleep = delay; // only for tests that must let real time pass (heartbeats)
