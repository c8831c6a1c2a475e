// The ES module pages import, with socket.io-client 4.8's API: `io`, `Manager`, `Socket`.
// The classes are thin: connection, packets, acks, buffering and reconnection are done by the
// Rust cores (`ManagerCore`, `SocketCore`); listeners are glue.js's `Emitter`. What stays
// here is what JS expresses best: variadic methods, getters, chaining, the `io()` cache.
import init, { initSync, lookup, ManagerCore, SocketCore } from "./wasm/sio_client.js";
import { Emitter } from "sio-glue";

const RESERVED = ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"];
const cache = {};

/** `io(url?, opts?)`: the socket of the URL's namespace, sharing its server's Manager unless
 *  `forceNew`, `multiplex: false`, or the namespace is taken on it already. */
export function io(uri, opts) {
  if (typeof uri == "object") (opts = uri), (uri = undefined);
  opts ||= {};
  const [id, nsp] = lookup(uri);
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
    this.opts = opts || {};
    this.nsps = {};
    this.engine = new Engine(this);
    this.c = new ManagerCore(uri, this.opts, this);
  }
  /** The socket of namespace `nsp`, created on first use. */
  socket(nsp, opts) {
    const s = this.nsps[nsp];
    if (!s) return (this.nsps[nsp] = new Socket(this, nsp, opts || this.opts));
    if (this.opts.autoConnect !== false && !s.active) s.connect();
    return s;
  }
  open() {
    this.c.open();
    return this;
  }
  connect() {
    return this.open();
  }
  /** The transport in use: "polling" or "websocket" (undefined while disconnected). */
  get transport() {
    return this.c.transport();
  }
}

/** The Engine.IO session, as `manager.engine`: its id, its transport, events `upgrade`
 *  (the transport) and `close` (reason, description). One object for all of the manager's
 *  sessions, so listeners stay across reconnections. */
class Engine extends Emitter {
  constructor(m) {
    super();
    this.m = m;
  }
  get id() {
    return this.m.c.sid();
  }
  get transport() {
    const name = this.m.c.transport();
    return name && { name };
  }
}

// `manager.reconnection()` reads an option, `manager.reconnection(false)` changes it.
["reconnection", "reconnectionAttempts", "reconnectionDelay", "reconnectionDelayMax", "randomizationFactor", "timeout"].forEach(
  (name, i) =>
    (Manager.prototype[name] = function (v) {
      if (v === undefined) return i ? this.c.tune(i) : !!this.c.tune(0);
      this.c.tune(i, +v);
      return this;
    }),
);

export class Socket extends Emitter {
  constructor(io, nsp, opts) {
    super();
    this.io = io;
    this.nsp = nsp;
    this.f = {};
    this.c = new SocketCore(io.c, nsp, this, opts || {});
    if (io.opts.autoConnect !== false) this.connect();
  }
  get id() {
    return this.c.id();
  }
  get connected() {
    return !!(this.c.state() & 1);
  }
  get disconnected() {
    return !this.connected;
  }
  get active() {
    return !!(this.c.state() & 2);
  }
  get recovered() {
    return !!(this.c.state() & 4);
  }
  connect() {
    this.c.connect();
    return this;
  }
  open() {
    return this.connect();
  }
  disconnect() {
    this.c.disconnect();
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
    if (RESERVED.includes(ev)) throw new Error(`"${ev}" is a reserved event name`);
    const f = this.f;
    this.f = {};
    const ack = typeof args[args.length - 1] == "function" ? args.pop() : undefined;
    this.c.emit(ev, args, ack, !!withError, f.t, !!f.v);
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

export default init;
export { initSync, io as connect };
