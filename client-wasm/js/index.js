// The ES module pages import, with socket.io-client 4.8's API and exports: `io` (also the
// default export), `connect`, `Manager`, `Socket`, `protocol`. The `.wasm` beside it is
// instantiated on import (top-level await), so `io()` works at once, as upstream.
// The classes are thin: connection, packets and reconnection are done by the Rust core
// (api.rs: a Manager holds its core's number, a Socket is an index on that core); listeners,
// and a socket's acks and buffers, are glue.js's (`Emitter`, `send`). What stays here is what JS expresses best: variadic
// methods, getters, chaining, option names, the `io()` cache, loading the `.wasm`.
import { initSync, __sio_dispatch, manager, op, socket } from "./wasm/sio_client.js";
import { Emitter, OPTS, error, opts as nums, reserved, send, setDispatch, url } from "sio-glue";

const cache = {};
// The codes of the core's small calls (api.rs `op` has the same, checked by its test).
const OP = { open: 0, tune: 1, session: 2, connect: 3, disconnect: 4, release: 5 };
// A Manager the garbage collector takes lets go of its core, which ends once idle (while it
// is busy, glue.js holds the Manager).
const gone = new FinalizationRegistry((h) => op(h, OP.release));
/** `socket.sendBuffer = []` and `socket.receiveBuffer = []` empty a buffer; nothing else can
 *  be assigned (glue.js keeps the emits already encoded). */
const clear = (s, k, v) => {
  if (v?.length) throw new TypeError("sio-client: only [] can be assigned to a socket's buffer");
  s[k] = [];
};

/** `[secure, host, key, namespace, query]` of an `io()` URL (see glue.js `url`). */
function parse(uri) {
  const u = url(uri);
  if (!u) throw error("invalid URL", uri);
  return u;
}

/** `io(url?, opts?)`: the socket of the URL's namespace, sharing its server's Manager unless
 *  `forceNew`, `multiplex: false`, or the namespace is taken on it already. Managers are
 *  cached by server and `path`, as in socket.io-client. */
export function io(uri, opts) {
  if (typeof uri == "object") (opts = uri), (uri = undefined);
  opts ||= {};
  const [, , server, nsp] = parse(uri);
  const id = server + (opts.path || "/socket.io");
  const taken = cache[id] && nsp in cache[id].nsps;
  const m =
    opts.forceNew || opts["force new connection"] || opts.multiplex === false || taken
      ? new Manager(uri, opts)
      : (cache[id] ||= new Manager(uri, opts));
  return m.socket(nsp, opts);
}

export class Manager extends Emitter {
  constructor(uri, opts) {
    super();
    if (typeof uri == "object") (opts = uri), (uri = undefined);
    this.uri = uri;
    const o = (this.opts = opts || {});
    const u = parse(uri);
    this.nsps = {};
    // A new one for each session (glue.js `renew`), as socket.io-client's.
    this.engine = new Engine(this);
    gone.register(this, (this.h = manager(this, u, o.path, nums(o))));
  }
  /** The socket of namespace `nsp`, created on first use. */
  socket(nsp, opts) {
    const s = this.nsps[nsp];
    if (!s) return (this.nsps[nsp] = new Socket(this, nsp, opts || this.opts));
    if (this.opts.autoConnect !== false && !s.active) s.connect();
    return s;
  }
  /** Opens the connection unless it is open or opening; `fn` is called once it is open,
   *  or with the error if it fails (and then no reconnection follows), as socket.io-client. */
  open(fn) {
    if (op(this.h, OP.session)) return this;
    if (fn) {
      const done = (err) => {
        this.off("open", done).off("error", done);
        err ? fn(err) : fn();
      };
      this.on("open", done).on("error", done);
    }
    op(this.h, OP.open, 0, fn && 1);
    return this;
  }
  connect() {
    return this.open();
  }
  /** The transport in use: "polling" or "websocket" (undefined while disconnected). */
  get transport() {
    return op(this.h, OP.session)?.[1];
  }
}

/** The Engine.IO session, as `manager.engine`: its id, transport and readyState, and
 *  engine.io-client's events (`packet`, `packetCreate`, `heartbeat`, `drain`, `upgrading`,
 *  `upgrade`, `upgradeError`, `close`). A new one for each session, as upstream: pages that
 *  add listeners on each `open` or `connect` do not pile them up. */
class Engine extends Emitter {
  constructor(m) {
    super();
    this.m = m;
  }
  get id() {
    return op(this.m.h, OP.session)?.[0];
  }
  get transport() {
    const name = this.m.transport;
    return name && { name };
  }
  /** "opening", "open", or "closed" between sessions. */
  get readyState() {
    return op(this.m.h, OP.session)?.[2] ?? "closed";
  }
}

// `manager.reconnection()` reads an option, `manager.reconnection(false)` changes it; the
// core knows them by their index in glue.js `OPTS`.
["reconnection", "reconnectionAttempts", "reconnectionDelay", "reconnectionDelayMax", "randomizationFactor", "timeout"].forEach(
  (name, i) =>
    (Manager.prototype[name] = function (v) {
      const k = OPTS.indexOf(name);
      if (v === undefined) {
        const r = op(this.h, OP.tune, k);
        // (`timeout: false`, no connect timeout, is 0 in the core and reads back as false.)
        return i ? (name == "timeout" && !r ? false : r) : !!r;
      }
      op(this.h, OP.tune, k, +v);
      return this;
    }),
);

export class Socket extends Emitter {
  constructor(io, nsp, opts) {
    super();
    this.io = io;
    this.nsp = nsp;
    this.f = {};
    opts ||= {};
    this.h = io.h;
    this.i = socket(io.h, nsp, this, opts.auth, nums(opts));
    if (io.opts.autoConnect !== false) this.connect();
  }
  // (State glue.js keeps on the object: see its `bindSocket`.)
  get id() {
    return this._id;
  }
  get connected() {
    return !!this._c;
  }
  get disconnected() {
    return !this._c;
  }
  get active() {
    return !!this._act;
  }
  get recovered() {
    return !!this._rec;
  }
  /** The emits kept until the socket is connected, as socket.io-client's packets (a copy). */
  get sendBuffer() {
    return this._b.map(([, data, id]) =>
      Object.assign({ type: 2, data, options: { compress: true } }, id === undefined ? {} : { id }),
    );
  }
  set sendBuffer(v) {
    clear(this, "_b", v);
  }
  /** The events received before the socket was connected, as their arguments (a copy). */
  get receiveBuffer() {
    return this._rb.slice();
  }
  set receiveBuffer(v) {
    clear(this, "_rb", v);
  }
  connect() {
    op(this.h, OP.connect, this.i);
    return this;
  }
  open() {
    return this.connect();
  }
  disconnect() {
    op(this.h, OP.disconnect, this.i);
    return this;
  }
  close() {
    return this.disconnect();
  }
  emit(ev, ...args) {
    return this._emit(ev, args);
  }
  send(...args) {
    return this._emit("message", args);
  }
  emitWithAck(ev, ...args) {
    return new Promise((resolve, reject) =>
      this._emit(ev, [...args, (err, res) => (err ? reject(err) : resolve(res))], true),
    );
  }
  _emit(ev, args, withError) {
    if (reserved(ev)) throw new Error(`"${ev}" is a reserved event name`);
    const f = this.f;
    this.f = {};
    const ack = typeof args[args.length - 1] == "function" ? args.pop() : undefined;
    send(this, ev, args, ack, withError, f.v, +(f.t ?? NaN));
    return this;
  }
  /** The next emit's ack callback gets an error after `ms` without an answer. */
  timeout(ms) {
    this.f.t = ms;
    return this;
  }
  /** The next emit is dropped unless it can be sent at once. */
  get volatile() {
    this.f.v = 1;
    return this;
  }
  /** Accepted for compatibility: browsers decide WebSocket compression themselves. */
  compress() {
    return this;
  }
}

for (const P of [Emitter.prototype]) {
  P.addEventListener = P.on;
  P.removeListener = P.removeAllListeners = P.removeEventListener = P.off;
}

/** The Socket.IO protocol revision spoken, as socket.io-client's `protocol`. */
export const protocol = 5;

// Loads the `.wasm` beside this module (a bundler copies it next to its output). Compiled
// from bytes, so that servers need not send `application/wasm`.
const res = await fetch(new URL("sio_client_bg.wasm", import.meta.url));
if (!res.ok) throw new Error(`sio-client: failed to fetch ${res.url}: ${res.status}`);
/** The instantiated module's exports: for tests and diagnostics (its memory), not an API. */
export const __wasm = initSync({ module: await WebAssembly.compile(await res.arrayBuffer()) });
setDispatch(__sio_dispatch);

export { io as connect, io as default };
