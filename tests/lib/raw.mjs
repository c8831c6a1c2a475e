// Raw Engine.IO v4 / Socket.IO v5 wire helpers for bad-input tests: HTTP long-polling via
// fetch, websocket via the `ws` package, and a hand-rolled websocket over a bare TCP socket
// (for a client that stops reading).
import crypto from "node:crypto";
import net from "node:net";
import WebSocket from "ws";

export const SEP = "\x1e"; // Engine.IO payload separator (polling)
export const EIO_PATH = "/socket.io/";

export const SESSION_UNKNOWN = { code: 1, message: "Session ID unknown" };
export const TRANSPORT_UNKNOWN = { code: 0, message: "Transport unknown" };
export const BAD_HANDSHAKE_METHOD = { code: 2, message: "Bad handshake method" };
export const BAD_REQUEST = { code: 3, message: "Bad request" };
export const UNSUPPORTED_PROTOCOL = { code: 5, message: "Unsupported protocol version" };

export function pollingUrl(base, query = "EIO=4&transport=polling") {
  return `${base}${EIO_PATH}?${query}`;
}

export function wsUrl(base, query = "EIO=4&transport=websocket") {
  return `${base.replace(/^http/, "ws")}${EIO_PATH}?${query}`;
}

/** fetch with a deadline; resolves {status, headers, text, json()} . */
export async function http(url, { method = "GET", body, headers, timeout = 5_000 } = {}) {
  let res, text;
  try {
    res = await fetch(url, { method, body, headers, signal: AbortSignal.timeout(timeout) });
    text = await res.text();
  } catch (e) {
    const cause = e.cause ? ` (${e.cause.code || e.cause.message || e.cause})` : "";
    throw new Error(`${method} ${url} failed: ${e.name}: ${e.message}${cause}`);
  }
  return {
    status: res.status,
    headers: res.headers,
    text,
    json() {
      return JSON.parse(text);
    },
  };
}

/** Split a polling payload into Engine.IO packets. */
export function decodePayload(text) {
  return text === "" ? [] : text.split(SEP);
}

/** A raw HTTP long-polling Engine.IO session. */
export class PollingSession {
  constructor(base, open, query) {
    this.base = base;
    this.open = open; // parsed handshake object
    this.sid = open.sid;
    this.url = `${pollingUrl(base, query)}&sid=${encodeURIComponent(open.sid)}`;
  }

  /** Handshake: GET without sid. */
  static async handshake(base, { query = "EIO=4&transport=polling" } = {}) {
    const r = await http(pollingUrl(base, query));
    if (r.status !== 200 || !r.text.startsWith("0{")) {
      throw new Error(`polling handshake failed: ${r.status} ${r.text}`);
    }
    return new PollingSession(base, JSON.parse(r.text.slice(1)), query);
  }

  /** GET (long poll). Never abort a pending GET unless you mean it: the server closes the session. */
  async get({ timeout = 5_000 } = {}) {
    const r = await http(this.url, { timeout });
    r.packets = r.status === 200 ? decodePayload(r.text) : null;
    return r;
  }

  async post(body, { headers = { "content-type": "text/plain;charset=UTF-8" }, timeout = 5_000 } = {}) {
    return http(this.url, { method: "POST", body, headers, timeout });
  }

  /**
   * GET until a packet matching pred shows up (answers pings); returns that packet. Packets
   * before it are dropped, packets after it (same payload) are kept for the next receive().
   */
  async receive(pred, { max = 20 } = {}) {
    const seen = [];
    this.leftover = this.leftover || [];
    for (let k = 0; k <= max; k++) {
      while (this.leftover.length) {
        const p = this.leftover.shift();
        seen.push(p);
        if (p === "2") await this.post("3");
        if (pred(p)) return p;
      }
      if (k === max) break;
      const r = await this.get();
      if (r.status !== 200) throw new Error(`GET ${r.status} ${r.text} while waiting (seen ${JSON.stringify(seen)})`);
      this.leftover.push(...r.packets);
    }
    throw new Error(`packet not received within ${max} polls (seen ${JSON.stringify(seen)})`);
  }

  /** Socket.IO CONNECT to nsp ("/" by default) and wait for the CONNECT answer. */
  async connect(nsp = "/", auth) {
    const prefix = nsp === "/" ? "" : `${nsp},`;
    const r = await this.post(`40${prefix}${auth ? JSON.stringify(auth) : ""}`);
    if (r.status !== 200) throw new Error(`CONNECT POST failed: ${r.status} ${r.text}`);
    return this.receive((p) => p.startsWith(`40${prefix}`) || p.startsWith(`44${prefix}`));
  }

  /** echo round trip with ack id `id`, returns the ack args. */
  async echo(value, id = 900) {
    const r = await this.post(`42${id}${JSON.stringify(["echo", value])}`);
    if (r.status !== 200) throw new Error(`echo POST failed: ${r.status} ${r.text}`);
    const p = await this.receive((p) => p.startsWith(`43${id}[`));
    return JSON.parse(p.slice(`43${id}`.length));
  }
}

/**
 * A raw websocket Engine.IO session (ws package). Messages are queued; next() pops one.
 * Pings ("2") are answered with "3" and skipped unless autoPong is false.
 */
export class WsSession {
  constructor(ws, { autoPong = true } = {}) {
    this.ws = ws;
    this.autoPong = autoPong;
    this.queue = [];
    this.waiters = [];
    this.pings = 0;
    this.pingWaiters = new Set();
    this.closeInfo = null;
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this._flush();
      });
    });
    ws.on("error", (err) => {
      this.error = err;
    });
    ws.on("message", (data, isBinary) => {
      const msg = isBinary ? Buffer.from(data) : data.toString();
      if (msg === "2") {
        this.pings++;
        for (const w of [...this.pingWaiters]) w();
        if (this.autoPong) {
          this.send("3");
          return;
        }
      }
      this.queue.push(msg);
      this._flush();
    });
  }

  _flush() {
    while (this.waiters.length && (this.queue.length || this.closeInfo)) {
      const w = this.waiters.shift();
      if (this.queue.length) w.resolve(this.queue.shift());
      else w.reject(new Error(`websocket closed (${JSON.stringify(this.closeInfo)}) while waiting for a message`));
    }
  }

  static open(base, { query = "EIO=4&transport=websocket", autoPong = true, timeout = 5_000 } = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl(base, query));
      const sess = new WsSession(ws, { autoPong });
      const t = setTimeout(() => {
        ws.terminate();
        reject(new Error("websocket open timed out"));
      }, timeout);
      ws.once("open", () => {
        clearTimeout(t);
        resolve(sess);
      });
      ws.once("error", (err) => {
        clearTimeout(t);
        reject(err);
      });
    });
  }

  /** Open + read the Engine.IO open packet. */
  static async handshake(base, opts) {
    const sess = await WsSession.open(base, opts);
    const first = await sess.next();
    if (typeof first !== "string" || !first.startsWith("0{")) throw new Error(`expected open packet, got ${first}`);
    sess.open = JSON.parse(first.slice(1));
    sess.sid = sess.open.sid;
    return sess;
  }

  /** Next message (string for text frames, Buffer for binary frames). */
  next({ timeout = 5_000 } = {}) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.closeInfo) return Promise.reject(new Error(`websocket closed (${JSON.stringify(this.closeInfo)})`));
    return new Promise((resolve, reject) => {
      const w = {
        resolve: (v) => {
          clearTimeout(t);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no websocket message within ${timeout} ms`));
      }, timeout);
      this.waiters.push(w);
    });
  }

  /** Next message matching pred (others are dropped). */
  async receive(pred, opts) {
    for (;;) {
      const m = await this.next(opts);
      if (pred(m)) return m;
    }
  }

  /** Resolves once `n` pings in total have been received. */
  waitPings(n, { timeout = 5_000 } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.pings >= n) {
          this.pingWaiters.delete(check);
          clearTimeout(t);
          resolve(this.pings);
        } else if (this.closeInfo) {
          this.pingWaiters.delete(check);
          clearTimeout(t);
          reject(new Error(`websocket closed (${JSON.stringify(this.closeInfo)}) after ${this.pings} pings`));
        }
      };
      const t = setTimeout(() => {
        this.pingWaiters.delete(check);
        reject(new Error(`only ${this.pings}/${n} pings within ${timeout} ms`));
      }, timeout);
      this.pingWaiters.add(check);
      this.closed.then(check);
      check();
    });
  }

  send(data) {
    this.ws.send(data);
  }

  async connect(nsp = "/", auth) {
    const prefix = nsp === "/" ? "" : `${nsp},`;
    this.send(`40${prefix}${auth ? JSON.stringify(auth) : ""}`);
    return this.receive((m) => typeof m === "string" && (m.startsWith(`40${prefix}`) || m.startsWith(`44${prefix}`)));
  }

  async echo(value, id = 900) {
    this.send(`42${id}${JSON.stringify(["echo", value])}`);
    const m = await this.receive((m) => typeof m === "string" && m.startsWith(`43${id}[`));
    return JSON.parse(m.slice(`43${id}`.length));
  }

  /** Resolves with {code, reason} once closed; rejects after timeout. */
  async waitClosed({ timeout = 5_000 } = {}) {
    let t;
    const timer = new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`websocket still open after ${timeout} ms`)), timeout);
    });
    try {
      return await Promise.race([this.closed, timer]);
    } finally {
      clearTimeout(t);
    }
  }

  close() {
    try {
      this.ws.terminate();
    } catch {}
  }
}

/** A masked client websocket frame (text by default). */
export function wsFrame(payload, opcode = 0x1) {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  let hdr;
  if (p.length < 126) {
    hdr = Buffer.from([0x80 | opcode, 0x80 | p.length]);
  } else if (p.length < 65536) {
    hdr = Buffer.alloc(4);
    hdr[0] = 0x80 | opcode;
    hdr[1] = 0x80 | 126;
    hdr.writeUInt16BE(p.length, 2);
  } else {
    hdr = Buffer.alloc(10);
    hdr[0] = 0x80 | opcode;
    hdr[1] = 0x80 | 127;
    hdr.writeBigUInt64BE(BigInt(p.length), 2);
  }
  const mask = crypto.randomBytes(4);
  const m = Buffer.alloc(p.length);
  for (let i = 0; i < p.length; i++) m[i] = p[i] ^ mask[i & 3];
  return Buffer.concat([hdr, mask, m]);
}

/**
 * A websocket client on a bare TCP socket: does the HTTP upgrade, reads until `untilText`
 * shows up in the (unparsed) byte stream, and hands back the net.Socket for the caller to
 * write frames to / stop reading from.
 */
export function rawTcpWebsocket(port, { query = "EIO=4&transport=websocket", timeout = 5_000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let seen = "";
    let connectSent = false;
    const t = setTimeout(() => {
      sock.destroy();
      reject(new Error(`raw websocket setup timed out; got ${JSON.stringify(seen.slice(0, 500))}`));
    }, timeout);
    sock.once("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
    sock.on("connect", () => {
      sock.write(
        `GET ${EIO_PATH}?${query} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\n` +
          `Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
          `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString("base64")}\r\n\r\n`,
      );
    });
    const onData = (d) => {
      seen += d.toString("latin1");
      if (!connectSent && seen.includes("0{")) {
        if (!seen.startsWith("HTTP/1.1 101")) {
          clearTimeout(t);
          sock.destroy();
          reject(new Error(`upgrade refused: ${seen.slice(0, 200)}`));
          return;
        }
        connectSent = true;
        sock.write(wsFrame("40"));
      }
      if (connectSent && /40\{"sid"/.test(seen.slice(seen.indexOf("0{") + 2))) {
        clearTimeout(t);
        sock.off("data", onData);
        resolve(sock);
      }
    };
    sock.on("data", onData);
  });
}
