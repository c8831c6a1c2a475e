// Helpers for test steps that run in the page (window.t).

/** Resolves with the arguments of the next `event` on `target` (a socket or manager). */
export const next = (target, event) => new Promise((resolve) => target.once(event, (...args) => resolve(args)));

/** A socket connected to `url`, or a rejection with the connect_error. */
export function connect(url, opts = {}) {
  const socket = window.sio.io(url, { forceNew: true, reconnection: false, ...opts });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => reject(Object.assign(new Error(err.message), { data: err.data })));
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
