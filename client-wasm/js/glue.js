// Browser calls that sio-client makes through one small module instead of many web-sys
// bindings: each binding costs glue, and these helpers let every callback into Rust share a
// single closure type, `(kind, value)`. Nothing protocol-specific happens here: packet
// framing is sio-protocol's; this file only moves JSON, timers, sockets and fetches.

export const isBlob = (v) => typeof Blob == "function" && v instanceof Blob;
const isBin = (v) => v instanceof ArrayBuffer || ArrayBuffer.isView(v) || isBlob(v);
export const bytes = (v) =>
  ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : new Uint8Array(v);

/** JSON text of `value`; binary leaves become placeholders and are pushed to `bins`. */
export const stringify = (value, bins) =>
  JSON.stringify(value, (_, v) => (isBin(v) ? { _placeholder: true, num: bins.push(v) - 1 } : v));

/** The JSON value in `text` after `from` (UTF-16 index), placeholders replaced by `bins`;
 *  `undefined` when the text is not JSON. */
export function parse(text, from, bins) {
  try {
    return JSON.parse(
      from ? text.slice(from) : text,
      bins && ((_, v) => (v && v._placeholder === true && typeof v.num == "number" && bins[v.num]) || v),
    );
  } catch {}
}

/** Calls a user callback; an exception it throws is reported as uncaught, later, so that it
 *  never unwinds through the client's state. */
export function call(f, self, args) {
  try {
    f.apply(self, args);
  } catch (e) {
    setTimeout(() => {
      throw e;
    });
  }
}

/** A one-shot ack function for an incoming packet that asked for one: cb(0, [id, args]). */
export function ackFn(cb, id) {
  let sent = 0;
  return (...args) => sent++ || cb(0, [id, args]);
}

/** Calls an `auth` function; what it passes back goes to cb(1, data). */
export const auth = (f, cb) => f((data) => cb(1, data));

const managers = new Map();
/** The Manager cache of `io()`: one per server unless asked otherwise. */
export const cached = (id) => managers.get(id);
export const cache = (id, m) => managers.set(id, m);

export const error = (message, data, description) =>
  Object.assign(new Error(message), data === undefined ? {} : { data }, description === undefined ? {} : { description });

export const later = (ms, cb) => setTimeout(cb, ms, 0);
export const cancel = (id) => clearTimeout(id);

// cb(0) open, cb(1, data) message, cb(2, CloseEvent) close, cb(3) error.
export function wsOpen(url, protocols, cb) {
  try {
    const ws = new WebSocket(url, protocols);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => cb(0);
    ws.onmessage = (e) => cb(1, e.data);
    ws.onclose = (e) => cb(2, e);
    ws.onerror = () => cb(3);
    return ws;
  } catch (e) {
    setTimeout(cb, 0, 3, e);
  }
}

export function wsClose(ws) {
  if (ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    ws.close();
  }
}

export const wsSend = (ws, data) => ws.send(data);

// cb(1 + op, text) success, cb(3 + op, status or error) failure; `cb` may be undefined (fire
// and forget). A request given `after` starts when that one has finished. Returns the
// AbortController; `abort` also makes sure `cb` is never called afterwards.
export function request(method, url, body, headers, credentials, cb, op, after) {
  const c = new AbortController();
  const done = (k, v) => c.d || (cb && cb(k + op, v));
  const go = () =>
    fetch(url, { method, body, headers, credentials: credentials ? "include" : "same-origin", cache: "no-store", signal: c.signal })
      .then((r) => (r.ok ? r.text().then((t) => done(1, t)) : done(3, r.status)))
      .catch((e) => done(3, e));
  c.p = after && after.p ? after.p.then(go) : go();
  return c;
}

export function abort(c) {
  if (c) {
    c.d = 1;
    c.abort && c.abort();
  }
}

/** Resolves the Blobs among `parts` to ArrayBuffers, then calls cb(21, parts) (or 23 on error). */
export function unblob(parts, cb) {
  const c = {};
  Promise.all(parts.map((p) => (isBlob(p) ? p.arrayBuffer() : p))).then(
    (p) => c.d || cb(21, p),
    (e) => c.d || cb(23, e),
  );
  return c;
}

/** The page's URL, as the base that relative `io()` URLs resolve against. */
export const base = () => (typeof location == "object" ? location.href : undefined);
