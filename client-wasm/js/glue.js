// Browser calls that sio-client makes through one small module instead of many web-sys
// bindings: each binding costs glue, and these helpers let every callback into Rust share a
// single closure type, `(kind, value)`. It moves JSON, timers, sockets and fetches, holds
// event listeners (`Emitter`) and what a socket keeps of JS values (acks, buffers), which
// are best kept by JS. It also reads and writes the client's text packets and polling
// payloads, so that messages stay JS strings instead of being copied through wasm memory
// (−1,788 B gzip): the format is sio-protocol's, and `src/js.rs` tests that this reading
// takes, refuses and splits frames exactly as sio-protocol's does.
//
// A manager is known here by its number `h` (`register`): timers, sockets, requests and the
// functions handed to the page call back with it into the module's one `dispatch` export,
// and the manager's events find their JS objects by it. So the Rust core never holds its JS
// objects (which hold the core's number): they are only held strongly here while the core is
// busy (`root`), and once the page lets go of an idle manager, the garbage collector frees
// both. A callback that comes after the core is gone (a late ack from the page) finds no
// number and is dropped.

// Whether the code for custom parsers is in. Bundles built without the `parser` feature
// define SIO_PARSER as false (scripts/build-client.sh): esbuild then drops that code and the
// two branches that use it, so their size does not change. (It inlines the constant only when
// it is declared before every function that reads it.) Where glue.js is loaded as it is (the
// Rust API), it is read at run time.
const P = typeof SIO_PARSER == "undefined" || SIO_PARSER;
// The same for the `webtransport` feature (SIO_WT).
const W = typeof SIO_WT == "undefined" || SIO_WT;

const objs = new Map(); // h → WeakRef of its Manager (its sockets in `.s`, its engine in `.engine`)
const live = new Map(); // h → that Manager, while the core is busy
let handles = 0;
let dispatch;
/** The module's `dispatch` export (the JS API passes its wrapper; the Rust API the
 *  module's exports). */
export const setDispatch = (f) => (dispatch ||= f.__sio_dispatch || f);
/** A number for a new core whose events go to `o`. */
export function register(o) {
  o.s ||= [];
  o.engine ||= new Emitter();
  objs.set(++handles, new WeakRef(o));
  return handles;
}
/** How glue.js holds the JS objects of `h`: 1 strongly, while its core is busy (a session,
 *  a timer); 0 weakly; 2 not at all (the core is gone). */
export const root = (h, how) =>
  how == 1 ? live.set(h, objs.get(h)?.deref()) : (live.delete(h), how && objs.delete(h));
/** A new session of `h`: a new `manager.engine`, as engine.io-client makes one per session. */
export const renew = (h) => {
  const m = target(h, -1);
  if (m) m.engine = new m.engine.constructor(m);
};
/** What events of `h` go to: the manager (-1), its engine (-2), or socket `i`. */
export const target = (h, i) => {
  const m = objs.get(h)?.deref();
  return i == -1 ? m : i == -2 ? m?.engine : m?.s[i];
};
const back = (h, k, v) => objs.has(h) && dispatch(h, k, v);

export const isBlob = (v) => typeof Blob == "function" && v instanceof Blob;
const isBin = (v) => v instanceof ArrayBuffer || ArrayBuffer.isView(v) || isBlob(v);
const bytes = (v) =>
  ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : new Uint8Array(v);

/** The JSON of `data` ("" for undefined); binary leaves become placeholders and are pushed
 *  to `bins` (without `bins`: as JSON.stringify has them). */
export const json = (data, bins) =>
  data === undefined ? "" : JSON.stringify(data, (_, v) => (bins && isBin(v) ? { _placeholder: true, num: bins.push(v) - 1 } : v));

/** The JSON value in `text`, placeholders replaced by `bins`; `undefined` when the text is
 *  not JSON. */
export function parse(text, bins) {
  try {
    return JSON.parse(text, bins && ((_, v) => (v && v._placeholder === true && typeof v.num == "number" && bins[v.num]) || v));
  } catch {}
}

// The Engine.IO and Socket.IO packets in text frames, read and written here so that no
// message is copied into the .wasm and back out (the core gets their parts).
export const nth = (a, i) => (typeof a[i] == "number" ? a[i] : NaN);
/** The URL of a transport: WebSocket's (`ws` 1) or polling's, on `base` (`host/path/`). */
export const endpoint = (secure, base, query, ws, sid) =>
  (ws ? "ws" : "http") + (secure ? "s://" : "://") + base + "?EIO=4&transport=" + (ws ? "websocket" : "polling") + (sid ? "&sid=" + sid : "") + (query ? "&" + query : "");
export const addSid = (url, sid) => url + "&sid=" + sid;
/** The Engine.IO type (0–6) of a text frame, -1 if it has none. */
export const frameType = (f) => "0123456".indexOf(f[0] || "x");
const num = (v) => (typeof v == "number" ? v : 0);
/** `[sid, pingInterval, pingTimeout, maxPayload, offers WebSocket, offers WebTransport]` of
 *  an open packet (the last with the `webtransport` feature). */
export const handshake = (f) => {
  const v = parse(f.slice(1)) || {};
  const u = v.upgrades;
  const r = [typeof v.sid == "string" ? v.sid : undefined, num(v.pingInterval), num(v.pingTimeout), num(v.maxPayload), Array.isArray(u) && u.includes("websocket")];
  if (W) r.push(Array.isArray(u) && u.includes("webtransport"));
  return r;
};
// What the body of each Socket.IO packet type must start with, as sio-protocol's
// `socket::decode` checks (its whitespace is JSON's): CONNECT an object, DISCONNECT nothing,
// EVENT an array whose first item is a string or a number, ACK an array, CONNECT_ERROR an
// object or a string.
const SHAPES = [/^[\t\n\f\r ]*\{/, /(?!)/, /^[\t\n\f\r ]*\[[\t\n\f\r ]*["\d-]/, /^[\t\n\f\r ]*\[/, /^[\t\n\f\r ]*[{"]/];
/** `[type, nsp, id, attachments, JSON text]` of the Socket.IO packet in a message frame
 *  (`4…`), or undefined when it is malformed: a binary type announces one attachment or
 *  more, fewer than 2^32 (sio-protocol's usize in wasm32; others none), a namespace has no control characters (the polling separator among
 *  them), ack ids are JS-safe integers. */
export function decode(f) {
  const m = /^4([0-6])(?:(\d+)-)?(?:(\/[^,]*),?)?(\d*)([^]*)$/.exec(f) || [];
  const type = +m[1], n = +m[2] || 0, nsp = m[3] || "/", id = m[4] ? +m[4] : undefined, data = m[5];
  // (BINARY_EVENT and BINARY_ACK have the shapes of EVENT and ACK.)
  if (m[0] && (type > 4 ? n && n < 2 ** 32 : m[2] === undefined) && !/[\0-\x1f]/.test(nsp) && !(id > 2 ** 53 - 1) && (!data || SHAPES[type > 4 ? type - 3 : type].test(data)))
    return [type, nsp, id, n, data];
}
/** The frames of a Socket.IO packet: its message, then the attachments of events and acks
 *  (their binary types then); elsewhere binary goes as JSON.stringify has it. */
export function packet(type, nsp, id, data) {
  const bins = [];
  const body = json(data, (type == 2 || type == 3) && bins);
  const n = bins.length;
  return ["4" + (n ? type + 3 + "" + n + "-" : type) + (nsp != "/" && nsp ? nsp + "," : "") + (id ?? "") + body, ...bins];
}

// Custom parsers (the `parser` feature): socket.io-client's `parser` option, an object with
// an `Encoder` and a `Decoder` class (socket.io-msgpack-parser, for one). See `P` above.
/** Gives `h` its parser: `p` (the Rust API's option), else its JS Manager's `opts.parser`;
 *  false when there is none (the built-in parser applies). One encoder and one decoder for
 *  the manager's life, as socket.io-client's Manager has. */
export function parserInit(h, p) {
  const m = target(h, -1);
  p ||= m.opts?.parser;
  if (!p) return false;
  m._pe = new p.Encoder();
  m._pd = new p.Decoder();
  // (The packets of the message being read; none kept past it.)
  m._pd.on("decoded", (q) => m._pq?.push(q));
  return true;
}
/** Drops what `h`'s decoder holds of a packet (a new session), as socket.io-client's
 *  Manager does on each open and close. */
export const parserReset = (h) => target(h, -1)?._pd?.destroy?.();
/** The frames of a packet as `h`'s encoder makes them, from socket.io-client's packet object;
 *  its text frames get the Engine.IO message type. */
export const encodeWith = (h, type, nsp, id, data) =>
  target(h, -1)
    ._pe.encode(sioPacket(type, nsp, id, data))
    .map((f) => (typeof f == "string" ? "4" + f : f));
/** The packets `h`'s decoder completes with a message (a text frame, whose "4" it does not
 *  see, or a binary one): `[type, nsp, id, data]` each; undefined when the decoder throws or
 *  a packet is not one (its type 0–6, its namespace a string, its id a JS-safe integer when
 *  present), which is a parse error. */
export function decodeWith(h, f) {
  const m = target(h, -1);
  const q = (m._pq = []);
  try {
    m._pd.add(typeof f == "string" ? f.slice(1) : f);
  } catch {
    return;
  } finally {
    m._pq = undefined;
  }
  const ok = (p) =>
    p && Number.isInteger(p.type) && p.type >= 0 && p.type < 7 && typeof p.nsp == "string" && (p.id === undefined || (Number.isSafeInteger(p.id) && p.id >= 0));
  if (q.every(ok)) return q.map((p) => [p.type, p.nsp, p.id, p.data]);
}

// The event names pages may not emit nor servers send, as socket.io-client reserves them
// (sio-protocol's RESERVED_EVENTS; the browser checks them here, without copying each event
// name into wasm).
const RESERVED = ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"];
export const reserved = (name) => RESERVED.includes(name);
export const isEvent = (d) =>
  Array.isArray(d) && (typeof d[0] == "number" || (typeof d[0] == "string" && !reserved(d[0])));

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

/** Calls an `auth` function; what it passes back goes to (k, data). */
export const auth = (f, h, k) => f((data) => back(h, k, data));


// The strings the core passes to JS, by their code in js.rs `word` (its test checks them).
// (`WT_WORDS` follow, with the `webtransport` feature.)
const WT_WORDS = "webtransport|webtransport error";
const WORDS = (
  "transport close|transport error|ping timeout|forced close|parse error|io server disconnect|io client disconnect|server error|timeout|It seems you are trying to reach a Socket.IO server in v2.x with a v3.x client, but they are not compatible (more information here: https://socket.io/docs/v3/migrating-from-2-x-to-3-0/)|websocket error|xhr poll error|xhr post error|websocket connection closed|transport closed by the server|network connection lost|websocket|polling|opening|open|closed|auth|sid|pid|2probe|3probe|5|3|1|message" + (W ? "|" + WT_WORDS : "")
).split("|");
export const word = (w) => WORDS[w];
export const fail = (w) => error(WORDS[w]);
export const error = (message, data) => Object.assign(new Error(message), data === undefined ? {} : { data });

/** engine.io-client's `TransportError`: the reason as message, `type`, and what the browser
 *  said (`description`: the error or HTTP status; `context`: none with fetch). */
export const transportError = (w, description) =>
  Object.assign(new Error(WORDS[w]), { type: "TransportError", description, context: undefined });
/** The details of a "transport close", as engine.io-client gives them: `{ description,
 *  context }` (the CloseEvent of a WebSocket), without `context` when there is none. */
export const details = (w, context) => (context === undefined ? { description: WORDS[w] } : { description: WORDS[w], context });
export const connectError = (p) => error(typeof p == "string" ? p : p?.message, p?.data);
export const get = (o, w) => (o == null ? undefined : o[WORDS[w]]);
export const set = (o, w, v) => (o[WORDS[w]] = v);
/** What engine.io-client calls a transport: `{ name }` (a word: "websocket", …). */
export const transportNamed = (w) => ({ name: WORDS[w] });
export function fromEntries(kv) {
  const o = {};
  for (let i = 0; i < kv.length; i += 2) o[kv[i]] = kv[i + 1];
  return o;
}
export const encode = encodeURIComponent;

/** `[secure, host, key, namespace, query]` of an `io()` URL, resolved against the page as
 *  socket.io-client does (no URL: the page's origin; `//h/x` and `/x`: the page's scheme
 *  and host); `undefined` when it is not a URL. `key` (`scheme://host:port`) identifies the
 *  server. */
export function url(uri) {
  const loc = typeof location == "object" ? location : undefined;
  if (uri == null) uri = loc && loc.protocol + "//" + loc.host;
  if (typeof uri != "string") return;
  if (uri[0] == "/") uri = (uri[1] == "/" ? loc?.protocol : loc?.host) + uri;
  if (!/^(https?|wss?):\/\//i.test(uri)) uri = (loc ? loc.protocol + "//" : "https://") + uri;
  try {
    const u = new URL(uri);
    const secure = /^(https|wss):$/.test(u.protocol);
    const key = u.protocol.slice(0, -1) + "://" + u.hostname + ":" + (u.port || (secure ? 443 : 80));
    return [secure, u.host, key, u.pathname, u.search.slice(1)];
  } catch {}
}

// The numeric and boolean options, in the order of `opts::opt` in the Rust core (its test
// checks this list).
export const OPTS =
  "upgrade rememberUpgrade reconnection reconnectionAttempts reconnectionDelay reconnectionDelayMax randomizationFactor timeout withCredentials timestampRequests addTrailingSlash ackTimeout retries maxBufferedEmits transports autoConnect tryAllTransports".split(
    " ",
  );
const TRANSPORTS = ["polling", "websocket", "webtransport"];
/** socket.io-client options as the numbers the core reads (NaN: absent, the default
 *  applies; booleans as 0/1, `timeout: false` as 0). `transports` becomes a list of two-bit
 *  codes, the first lowest: 1 polling, 2 websocket, 3 webtransport (ignored by a build
 *  without it), unknown names dropped. */
export const opts = (o) =>
  OPTS.map((k, i) => {
    let v = o[k];
    // reconnectionAttempts, reconnectionDelay and reconnectionDelayMax: 0 means the default,
    // as socket.io-client reads them (`opts.reconnectionAttempts || Infinity`).
    if (i > 2 && i < 6) v ||= undefined;
    if (k == "transports" && v) v = [...v].reduceRight((b, t) => ((t = TRANSPORTS.indexOf(t) + 1) ? b * 4 + t : b), 0);
    return v == null ? NaN : +v;
  });
/** The `query` option (object or string) as `k=v&…`, encoded as socket.io-client does. */
export const query = (q) =>
  (typeof q == "string" ? [...new URLSearchParams(q)] : Object.entries(q || {}))
    .map(([k, v]) => encodeURIComponent(k) + "=" + encodeURIComponent(v))
    .join("&");
/** The engine options of `h`'s Manager as they are now, re-read at each (re)open as
 *  engine.io-client does: `[query, extraHeaders, protocols, opts]` (the URL's query when the
 *  option has none); undefined without a JS Manager. */
export function engineOpts(h) {
  const m = target(h, -1);
  const o = m?.opts;
  const r = o && [query(o.query) || url(m.uri)[4], o.extraHeaders, o.protocols, opts(o)];
  // (`transportOptions.webtransport`: what the browser's WebTransport is given.)
  if (W && r) r.push(o.transportOptions?.webtransport);
  return r;
}
// Polling payloads: records separated by \x1e, a binary one as `b` + base64 (the browser's
// btoa and atob, which leave no base64 codec in the .wasm).
/** A payload of `frames` (strings, buffers or views; Blobs are read first, `unblob`). */
export const payload = (frames) =>
  frames
    .map((f) => {
      if (typeof f == "string") return f;
      let s = "";
      for (const c of bytes(f)) s += String.fromCharCode(c);
      return "b" + btoa(s);
    })
    .join("\x1e");
/** The records of a payload: strings, ArrayBuffers for binary ones, undefined where the
 *  base64 is malformed. */
export const records = (body) =>
  body.split("\x1e").map((r) => {
    if (r[0] != "b") return r;
    try {
      return Uint8Array.from(atob(r.slice(1)), (c) => c.charCodeAt(0)).buffer;
    } catch {}
  });
/** What a frame weighs in a polling payload, as the server counts it against maxPayload: the
 *  UTF-8 bytes of a text packet, `b` + base64 of a binary one. */
export function len(f) {
  if (typeof f != "string") return 1 + 4 * Math.ceil((f.byteLength ?? f.size ?? 0) / 3);
  let n = 0;
  for (let i = 0; i < f.length; i++) {
    const c = f.charCodeAt(i);
    // A surrogate pair is one 4-byte character.
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0xd800 || c > 0xdbff ? 3 : (i++, 4);
  }
  return n;
}
// Whether the last session of this page reached WebSocket (`rememberUpgrade`), for every
// manager, as engine.io-client's static `priorWebsocketSuccess`.
let ws = false;
export const priorWs = (v) => (v < 0 ? ws : (ws = !!v));
export const later = (ms, h, k, v) => setTimeout(back, ms, h, k, v);
// The browser's `offline` event closes the sessions at once, as engine.io-client does (else a
// lost network shows only after pingInterval + pingTimeout). One listener, added as the module
// is evaluated (a ServiceWorker must add its handlers then), for every session.
const offline = new Map(); // h → the kind to call back with
typeof addEventListener == "function" && addEventListener("offline", () => offline.forEach((k, h) => back(h, k)));
/** Calls back (k) on the browser's next `offline` event (k = 0: no longer). */
export const onOffline = (h, k) => (k ? offline.set(h, k) : offline.delete(h));
export const cancel = (id) => clearTimeout(id);

// What happened to a transport, added to the kind the core gave for it (kind.rs `Ev`; its
// test checks these numbers).
const OPEN = 0, DATA = 1, CLOSE = 2, ERROR = 3;

// (t + OPEN), (t + DATA, data) a message, (t + CLOSE, CloseEvent), (t + ERROR).
export function wsOpen(url, protocols, h, t) {
  try {
    const ws = new WebSocket(url, protocols);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => back(h, t + OPEN);
    ws.onmessage = (e) => back(h, t + DATA, e.data);
    ws.onclose = (e) => back(h, t + CLOSE, e);
    ws.onerror = () => back(h, t + ERROR);
    return ws;
  } catch (e) {
    setTimeout(back, 0, h, t + ERROR, e);
  }
}

export function wsClose(ws) {
  if (ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    ws.close();
  }
}

export const wsSend = (ws, data) => ws.send(data);

// WebTransport (the `webtransport` feature): an object that the core drives as a WebSocket
// (`wsSend`, `wsClose`, the same four events), over the one bidirectional stream of a
// WebTransport session to `https://<base>` (engine.io-client's URL: no query). Packets are
// framed as engine.io-parser's stream encoder frames them (a 1, 3 or 9-byte header: bit 7
// binary, then the length); the first one out is the `open` packet, with the `sid` of the
// polling session it upgrades, as engine.io-client's. Hand-written rather than web-sys: its
// `WebTransport` bindings are unstable-API only, and every one would cost its own closures.
export function wtOpen(base, options, sid, h, t) {
  // (Compiled out without the feature, where a bundle would keep it: see `W`.)
  if (!W) return;
  const o = { onopen: 1, close() {} };
  // Nothing comes back once the core has closed it (`wsClose` clears `onopen`).
  const up = (k, v) => o.onopen && back(h, t + k, v);
  let chain = Promise.resolve();
  try {
    const wt = (o.wt = new WebTransport("https://" + base, options));
    o.close = () => {
      try {
        wt.close();
      } catch {}
    };
    wt.closed.then(
      () => up(CLOSE),
      (e) => up(ERROR, e),
    );
    wt.ready
      .then(() => wt.createBidirectionalStream())
      .then((s) => {
        const w = s.writable.getWriter();
        const enc = new TextEncoder();
        // In order: a Blob is read before the frame goes, and so before the next.
        o.send = (f) => {
          chain = chain.then(async () => {
            const text = typeof f == "string";
            const b = text ? enc.encode(f) : isBlob(f) ? new Uint8Array(await f.arrayBuffer()) : bytes(f);
            const n = b.length, head = n < 126 ? 1 : n < 65536 ? 3 : 9;
            const out = new Uint8Array(head + n);
            const d = new DataView(out.buffer);
            if (head == 1) out[0] = n;
            else if (head == 3) (out[0] = 126), d.setUint16(1, n);
            else (out[0] = 127), d.setBigUint64(1, BigInt(n));
            if (!text) out[0] |= 128;
            out.set(b, head);
            await w.write(out);
          }).catch(() => {});
        };
        o.send(sid ? '0{"sid":"' + sid + '"}' : "0");
        read(s.readable.getReader(), up);
        up(OPEN);
      })
      .catch((e) => up(ERROR, e));
  } catch (e) {
    setTimeout(up, 0, ERROR, e);
  }
  return o;
}

/** Reads the frames of a WebTransport stream: (DATA, text or ArrayBuffer) for each. */
async function read(r, up) {
  const dec = new TextDecoder();
  let buf = new Uint8Array(0);
  try {
    for (;;) {
      const { value, done } = await r.read();
      if (done) return;
      const all = new Uint8Array(buf.length + value.length);
      all.set(buf);
      all.set(value, buf.length);
      buf = all;
      for (;;) {
        let n = buf[0] & 127, at = 1;
        const d = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
        if (n == 126) (n = buf.length >= 3 ? d.getUint16(1) : -1), (at = 3);
        else if (n == 127) (n = buf.length >= 9 ? Number(d.getBigUint64(1)) : -1), (at = 9);
        if (!buf.length || n < 0 || buf.length < at + n) break;
        const p = buf.subarray(at, at + n);
        up(DATA, buf[0] & 128 ? p.slice().buffer : dec.decode(p));
        buf = buf.subarray(at + n);
      }
    }
  } catch {}
}

// A GET, or a POST of `body`; flags: 1 credentials, 2 a cache-busting `t` parameter.
// (t + DATA, text) success, (t + ERROR, status or error) failure; handle 0: fire and forget. A
// request given `after` starts when that one has finished. Returns the AbortController;
// `abort` also makes sure no callback comes afterwards.
let seq = 0;
export function request(url, body, headers, flags, h, t, after) {
  const c = new AbortController();
  const done = (k, v) => c.d || back(h, t + k, v);
  // A fresh `t` defeats caches that ignore `no-store`.
  if (flags & 2) url += "&t=" + Date.now().toString(36) + "." + (++seq).toString(36);
  const go = () =>
    fetch(url, {
      method: body === undefined ? "GET" : "POST",
      body,
      headers,
      credentials: flags & 1 ? "include" : "same-origin",
      cache: "no-store",
      signal: c.signal,
    })
      .then((r) => (r.ok ? r.text().then((s) => done(DATA, s)) : done(ERROR, r.status)))
      .catch((e) => done(ERROR, e));
  c.p = after && after.p ? after.p.then(go) : go();
  return c;
}

export function abort(c, keep) {
  if (c) {
    c.d = 1;
    keep || (c.abort && c.abort());
  }
}

/** Resolves the Blobs among `parts` to ArrayBuffers, then calls back (t + DATA, parts) (or
 *  t + ERROR on error). */
export function unblob(parts, h, t) {
  const c = {};
  Promise.all(parts.map((p) => (isBlob(p) ? p.arrayBuffer() : p))).then(
    (p) => c.d || back(h, t + DATA, p),
    (e) => c.d || back(h, t + ERROR, e),
  );
  return c;
}


// Sockets. What a socket holds of JS values is kept on its JS object (the page's Socket, or
// the Rust API's emitter), where those values live anyway: the acks it waits for (`_w`: id →
// [callback, error-first, timer]), the emits kept until it is connected (`_b`: [frames,
// args, ack id]), the events received before (`_rb`), the retry queue (`_q`), and what
// connection state recovery sends back (`_pid`, `_off`). The core joins and leaves the
// namespace and routes its packets; `_k` is the kind that sends a packet through it,
// answered by socket.rs `send`: 0 sent, 1 dropped (volatile), 2 to keep.
/** Makes `o` socket `i` of manager `h`, for namespace `n`, with the options `ackTimeout`
 *  (NaN: none), `retries` and `maxBufferedEmits`. */
export function bindSocket(h, i, o, n, k, t, r, m) {
  target(h, -1).s[i] = o;
  Object.assign(o, { h, i, _n: n, _k: k, _t: t, _r: r, _m: m, _w: new Map(), _id: undefined, _c: 0, _b: [], _rb: [], _q: [], _seq: 0 });
}
export const active = (h, i, v) => {
  const s = target(h, i);
  s && (s._act = v);
};
/** `[id, recovered]` of socket `i` of `h`, for the Rust API. */
export const info = (h, i) => {
  const s = target(h, i);
  return [s?._id, !!s?._rec];
};
const out = (s, frames, args, flags) => back(s.h, s._k, [frames, args, flags]);
/** Emits `[ev, ...args]` on socket `s`. `ack` gets the answer, error-first with `e` or once
 *  it may time out, after `ms` (NaN: the ackTimeout option); `v`: volatile; `q`: from the
 *  retry queue. */
export function send(s, ev, args, ack, e, v, ms, q) {
  if (s._r && !q && !v) {
    s._q.push({ ev, args, ack, ms, n: 0 });
    return drain(s);
  }
  args.unshift(ev);
  const id = ack && s._seq++;
  if (ack) {
    if (!(ms >= 0)) ms = s._t;
    const t =
      ms >= 0 &&
      setTimeout(() => {
        s._b = s._b.filter((b) => b[2] !== id);
        refuse(s, id, "operation has timed out");
      }, ms);
    s._w.set(id, [ack, e || ms >= 0, t]);
  }
  const frames = P && target(s.h, -1)?._pe ? encodeWith(s.h, 2, s._n, id, args) : packet(2, s._n, id, args);
  if (out(s, frames, args, v ? 1 : 0) == 2)
    s._b.length < s._m ? s._b.push([frames, args, id]) : refuse(s, id, "send buffer full");
}
const take = (s, id) => {
  const a = s._w.get(id);
  s._w.delete(id);
  a && clearTimeout(a[2]);
  return a;
};
/** Ends the wait of ack `id` with the error `m` (told to error-first callbacks only, as in
 *  socket.io-client). */
function refuse(s, id, m) {
  const a = take(s, id);
  a?.[1] && call(a[0], s, [error(m)]);
}
export function acked(h, i, id, args) {
  const s = target(h, i);
  const a = s && take(s, id);
  a && call(a[0], s, a[1] ? [null, ...args] : args);
}
/** Sends the first queued emit unless it waits for its ack already (`force`: again). Its
 *  answer is error-first, whatever the callback asked for, as in socket.io-client. */
function drain(s, force) {
  const r = s._q[0];
  if (!s._c || !r || (r.p && !force)) return;
  r.p = 1;
  r.n++;
  send(
    s,
    r.ev,
    r.args.slice(),
    (err, ...res) => {
      if (s._q[0] != r) return;
      r.p = 0;
      if (!err || r.n > s._r) {
        s._q.shift();
        r.ack && call(r.ack, s, err ? [err] : [null, ...res]);
      }
      drain(s);
    },
    1,
    0,
    r.ms,
    1,
  );
}
/** A received event, fired; its last argument, when a string, is where recovery resumes. */
const event = (s, a) => {
  s._event(a);
  const l = a[a.length - 1];
  if (typeof s._pid == "string" && typeof l == "string" && a.length > 1) s._off = l;
};
export function incoming(h, i, a, id) {
  const s = target(h, i);
  if (!s) return;
  if (id !== undefined) {
    let sent = 0;
    a.push((...r) => sent++ || out(s, P && target(h, -1)?._pe ? encodeWith(h, 3, s._n, id, r) : packet(3, s._n, id, r), undefined, 2));
  }
  s._c ? event(s, a) : s._rb.length < s._m && s._rb.push(a);
}
export function connected(h, i, sid, pid) {
  const s = target(h, i);
  if (!s) return;
  s._rec = typeof pid == "string" && pid === s._pid;
  s._pid = pid;
  s._id = sid;
  s._c = 1;
  // The events that came early, then the emits made meanwhile, in order.
  for (const a of s._rb.splice(0)) event(s, a);
  for (const [f, a] of s._b.splice(0)) out(s, f, a, 2);
  drain(s, 1);
  s._fire("connect", []);
}
export function closed(h, i, reason, d) {
  const s = target(h, i);
  if (!s) return;
  s._c = 0;
  s._id = undefined;
  // Acks of emits still buffered stay: they go out on reconnection.
  const gone = [...s._w.keys()].filter((id) => !s._b.some((b) => b[2] === id));
  s._fire("disconnect", [reason, d]);
  for (const id of gone) refuse(s, id, "socket has been disconnected");
}
/** The CONNECT payload of socket `i`: `auth`, with the session to recover if there is one. */
export const withPid = (auth, h, i) => {
  const s = target(h, i);
  return typeof s?._pid == "string" ? Object.assign({ pid: s._pid, offset: s._off }, auth) : auth;
};

/** Event listeners, with the API and semantics of socket.io-client's Socket and Manager
 *  (component-emitter plus the catch-all listeners). The client fires events through
 *  `_fire` (reserved events), `_event` (incoming) and `_out` (outgoing). */
export class Emitter {
  on(e, f) {
    ((this._l ||= {})[e] ||= []).push(f);
    return this;
  }
  once(e, f) {
    const g = (...a) => (this.off(e, g), f.apply(this, a));
    g.fn = f;
    return this.on(e, g);
  }
  off(e, f) {
    const l = this._l || {};
    if (e === undefined) this._l = {};
    else if (!f) delete l[e];
    else {
      const a = l[e] || [];
      const i = a.findIndex((g) => g === f || g.fn === f);
      i < 0 || a.splice(i, 1);
    }
    return this;
  }
  listeners(e) {
    return ((this._l || {})[e] || []).slice();
  }
  hasListeners(e) {
    return this.listeners(e).length > 0;
  }
  onAny(f) {
    return this._add("_a", f);
  }
  prependAny(f) {
    return this._add("_a", f, 1);
  }
  offAny(f) {
    return this._del("_a", f);
  }
  listenersAny() {
    return (this._a || []).slice();
  }
  onAnyOutgoing(f) {
    return this._add("_o", f);
  }
  prependAnyOutgoing(f) {
    return this._add("_o", f, 1);
  }
  offAnyOutgoing(f) {
    return this._del("_o", f);
  }
  listenersAnyOutgoing() {
    return (this._o || []).slice();
  }
  _add(k, f, first) {
    first ? (this[k] ||= []).unshift(f) : (this[k] ||= []).push(f);
    return this;
  }
  _del(k, f) {
    this[k] = f ? (this[k] || []).filter((g) => g !== f) : [];
    return this;
  }
  _fire(e, args) {
    for (const f of this.listeners(e)) call(f, this, args);
  }
  _event(args) {
    for (const f of this.listenersAny()) call(f, this, args);
    this._fire(args[0], args.slice(1));
  }
  _out(args) {
    for (const f of this.listenersAnyOutgoing()) call(f, this, args);
  }
}

export const emitter = () => new Emitter();

// The reserved events the core fires (`js::event` codes), each with its argument count.
// (js.rs's test checks these names against the codes.)
const EVENTS =
  "open error close ping reconnect_attempt reconnect reconnect_error reconnect_failed upgrade connect connect_error disconnect upgrading upgradeError drain packet".split(
    " ",
  );
const ARGS = [0, 1, 2, 0, 1, 1, 1, 0, 1, 0, 1, 2, 1, 1, 0, 1];
const TYPES = "open close ping pong message upgrade noop".split(" ");
// Codes past the named events: an incoming event `[name, ...args]` (catch-all listeners,
// then `name`'s), an outgoing one (`onAnyOutgoing` listeners), a frame received (the
// engine's `packet`, then `heartbeat`) and one sent (`packetCreate`), shown as
// engine.io-client's packets.
export const fire = (h, i, e, a, b) => {
  const t = target(h, i);
  const n = EVENTS[e];
  const l = t?._l;
  if (!t) return;
  // A drain comes on the next tick, as engine.io-client's for a WebSocket (a listener that
  // writes again does not recurse), and none after the session's close.
  if (n == "drain") l?.drain?.length && setTimeout(() => t._closed || t._fire(n, []));
  else if (n) {
    if (i == -2 && n == "close") t._closed = 1;
    t._fire(n, [a, b].slice(0, ARGS[e]));
  } else if ((e -= EVENTS.length) < 2) t[e ? "_out" : "_event"](a);
  else if (l) {
    const s = typeof a == "string";
    const p = { type: s ? TYPES[a[0]] : "message", data: s ? a.slice(1) || undefined : a };
    if (e > 2) {
      p.options = { compress: true };
      t._fire("packetCreate", [p]);
    } else {
      if (p.data === undefined) delete p.data;
      t._fire("packet", [p]);
      t._fire("heartbeat", []);
    }
  }
};
export const listens = (h, i, e) => {
  const l = target(h, i)?._l;
  return !!(l && (e < 0 || l[EVENTS[e]]?.length));
};
export const probeError = (w) => Object.assign(new Error("probe error"), { transport: WORDS[w] });
/** A decoded Socket.IO packet as socket.io-client's Manager `packet` event. */
export const sioPacket = (type, nsp, id, data) =>
  Object.assign({ type, nsp }, id === undefined ? {} : { id }, data === undefined ? {} : { data });
/** A JS listener for a Rust closure that takes the arguments as one array. */
export const spread = (f) => (...args) => f(args);
