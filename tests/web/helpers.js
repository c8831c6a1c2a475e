// Helpers for test steps that run in the page (window.t). Every wait has a deadline (`ms`,
// 5 s by default) and rejects with what it was waiting for, so a failing step names itself.

const deadline = (ms, what, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);

/** Resolves with the arguments of the next `event` on `target` (a socket or manager). */
export const next = (target, event, ms = 5000) =>
  new Promise((resolve, reject) => {
    const timer = deadline(ms, `"${event}"`, reject);
    target.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });

/** A socket connected to `url`, or a rejection with the connect_error. */
export function connect(url, opts = {}, ms = 10000) {
  const socket = window.sio.io(url, { forceNew: true, reconnection: false, ...opts });
  return new Promise((resolve, reject) => {
    const timer = deadline(ms, `connect to ${url}`, reject);
    socket.once("connect", () => (clearTimeout(timer), resolve(socket)));
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(err.message), { data: err.data }));
    });
  });
}

/** Collects every `event` on `target` into an array. */
export function collect(target, event) {
  const seen = [];
  target.on(event, (...args) => seen.push(args));
  return seen;
}

/** Resolves when `cond()` is true, checked after every event of `target`. */
export const until = (target, cond) =>
  new Promise((resolve) => {
    if (cond()) return resolve();
    const check = () => cond() && (target.offAny(check), resolve());
    target.onAny(check);
  });

/**
 * Resolves when `cond()` is true, re-checked every 5 ms: only for state that no event
 * announces (e.g. `manager.transport` after an upgrade) or for events collected elsewhere.
 */
export const waitFor = (cond, what = "a condition", ms = 5000) =>
  new Promise((resolve, reject) => {
    const end = Date.now() + ms;
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() > end) return reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });

/**
 * Emits `event` with `args` and a plain ack callback; resolves with the array of all ack
 * arguments (no error-first), rejects after `ms` (not with the client's own timeout()).
 */
export const ack = (socket, event, ...args) => ackWithin(5000, socket, event, ...args);
export const ackWithin = (ms, socket, event, ...args) =>
  new Promise((resolve, reject) => {
    const timer = deadline(ms, `the ack of "${event}"`, reject);
    socket.emit(event, ...args, (...res) => (clearTimeout(timer), resolve(res)));
  });

/** Round trip: everything the server sent to `socket` before this echo has arrived. */
export async function barrier(socket) {
  const [v] = await ack(socket, "echo", "barrier");
  if (v !== "barrier") throw new Error(`barrier echo returned ${JSON.stringify(v)}`);
}

/** `n` deterministic bytes (seeded). */
export const bytes = (n, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 255);

/**
 * A JSON-safe picture of a value for page.evaluate's result: binary becomes
 * {$: "ArrayBuffer" | view constructor name | "Blob", bytes: [...]}, undefined {$: "undefined"},
 * functions {$: "function"}, errors {$: "Error", message, data}.
 */
export function show(v) {
  if (v === undefined) return { $: "undefined" };
  if (typeof v === "function") return { $: "function" };
  if (v instanceof ArrayBuffer) return { $: "ArrayBuffer", bytes: [...new Uint8Array(v)] };
  if (ArrayBuffer.isView(v)) return { $: v.constructor.name, bytes: [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)] };
  if (typeof Blob == "function" && v instanceof Blob) return { $: "Blob", size: v.size };
  if (v instanceof Error) return { $: "Error", message: v.message, data: show(v.data) };
  if (Array.isArray(v)) return v.map(show);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, show(x)]));
  return v;
}
