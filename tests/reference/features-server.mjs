// Node twin of server/examples/features.rs ("the features server"), on socket.io 4.8: every
// server feature that the contract server does not reach. The interop suite runs against it
// with SIO_SERVER=node, so that every expectation in tests/interop/features*.test.mjs is what
// Node itself does. The table of events is in the module doc of features.rs.
//
//   PORT=3000 node reference/features-server.mjs
//
// Namespaces: `/` and every `/dyn-…` (dynamic: features.rs matches `name.starts_with("/dyn-")`).
// An async middleware on both refuses a client whose auth has `reject: "msg"` (error message
// "msg", data {from: "middleware"}) and joins the room named by the query parameter `room`.
// REDIS_URL: joins the Redis cluster there (reference/cluster.mjs).
// Listens on 127.0.0.1:$PORT, CORS any origin, logs to stderr, on SIGTERM/SIGINT runs
// `io.close()` then exits 0.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { joinCluster } from "./cluster.mjs";

const port = Number(process.env.PORT || 3000);
const httpServer = createServer();
const io = new Server(httpServer, {
  serveClient: false,
  cors: { origin: "*" },
});

const log = (...a) => console.error("[features-server]", ...a);
await joinCluster(io, log); // REDIS_URL (CONTRACT.md "cluster"): reference/cluster.mjs

// Splits a handler's arguments into (args, ack|undefined).
const splitAck = (args) => {
  if (args.length && typeof args[args.length - 1] === "function") {
    return [args.slice(0, -1), args[args.length - 1]];
  }
  return [args, undefined];
};

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v) && !isBinary(v);
const isBinary = (v) => Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
const isU8 = (v) => Number.isInteger(v) && v >= 0 && v <= 255;
const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

// Rust's `Selection` is `#[serde(default)]`: absent fields take their default, but a field of
// the wrong type makes the whole argument fail to deserialize, and then the handler uses the
// default selection (`unwrap_or_default()`). Mirror that.
const DEFAULT_SELECTION = Object.freeze({
  room: null,
  to: [],
  except: [],
  others: false,
  volatile: false,
  timeout: null,
  close: false,
  join: null,
  leave: null,
});

function parseSelection(v) {
  if (!isObject(v)) return { ...DEFAULT_SELECTION };
  const sel = { ...DEFAULT_SELECTION };
  const strList = (x) => Array.isArray(x) && x.every((r) => typeof r === "string");
  for (const [key, check] of [
    ["room", (x) => x === null || typeof x === "string"],
    ["to", strList],
    ["except", strList],
    ["others", (x) => typeof x === "boolean"],
    ["volatile", (x) => typeof x === "boolean"],
    ["timeout", (x) => x === null || (Number.isInteger(x) && x >= 0)],
    ["close", (x) => typeof x === "boolean"],
    ["join", (x) => x === null || typeof x === "string"],
    ["leave", (x) => x === null || typeof x === "string"],
  ]) {
    if (v[key] === undefined) continue;
    if (!check(v[key])) return { ...DEFAULT_SELECTION };
    sel[key] = v[key];
  }
  return sel;
}

// features.rs `select`: `socket.broadcast()` (sender excluded) or the namespace, then `to(room)`,
// `to(to)`, `except(except)`, `volatile`.
function select(socket, sel) {
  let op = sel.others ? socket.broadcast : socket.nsp.except([]);
  if (sel.room !== null) op = op.to(sel.room);
  op = op.to(sel.to).except(sel.except);
  if (sel.volatile) op = op.volatile;
  return op;
}

const sortedRooms = (socket) => [...socket.rooms].filter((r) => r !== socket.id).sort();

let last = null; // last-disconnect: shared by all namespaces, like the Rust `LastDisconnect`

function handlers(socket) {
  const nsp = socket.nsp;

  socket.on("whoami", (...all) => {
    const [, ack] = splitAck(all);
    if (!ack) return;
    const auth = socket.handshake.auth;
    const q = socket.handshake.query.q;
    const header = socket.handshake.headers["x-test"];
    ack({
      id: socket.id,
      nsp: nsp.name,
      name: isObject(auth) && auth.name !== undefined ? auth.name : null,
      q: Array.isArray(q) ? q[0] : q ?? null, // Rust: the first value
      header: header ?? null,
    });
  });

  socket.on("join", (...all) => {
    const [args, ack] = splitAck(all);
    const r = args[0];
    if (typeof r === "string" || (Array.isArray(r) && r.every((x) => typeof x === "string"))) {
      socket.join(r);
    }
    if (ack) ack(sortedRooms(socket));
  });

  socket.on("leave", (...all) => {
    const [args, ack] = splitAck(all);
    if (typeof args[0] === "string") socket.leave(args[0]);
    if (ack) ack(sortedRooms(socket));
  });

  socket.on("dm", (...all) => {
    const [args] = splitAck(all);
    const m = args[0];
    if (!isObject(m) || typeof m.to !== "string") return;
    nsp.to(m.to).emit("dm", { from: socket.id, msg: m.msg === undefined ? null : m.msg });
  });

  socket.on("send", (...all) => {
    const [args, ack] = splitAck(all);
    const sel = parseSelection(args[0]);
    const msg = isObject(args[0]) && args[0].msg !== undefined ? args[0].msg : null;
    select(socket, sel).emit("msg", msg);
    if (ack) ack(true);
  });

  socket.on("fetch", async (...all) => {
    const [args, ack] = splitAck(all);
    const sel = parseSelection(args[0]);
    const sockets = await select(socket, sel).fetchSockets();
    const found = sockets.map((s) => ({ id: s.id, rooms: sortedRooms(s) })).sort(byId);
    if (ack) ack(found);
  });

  socket.on("sockets-join", (...all) => {
    const [args, ack] = splitAck(all);
    const sel = parseSelection(args[0]);
    if (sel.join !== null) select(socket, sel).socketsJoin(sel.join);
    if (ack) ack(true);
  });

  socket.on("sockets-leave", (...all) => {
    const [args, ack] = splitAck(all);
    const sel = parseSelection(args[0]);
    if (sel.leave !== null) select(socket, sel).socketsLeave(sel.leave);
    if (ack) ack(true);
  });

  socket.on("disconnect-all", (...all) => {
    const [args] = splitAck(all);
    const sel = parseSelection(args[0]);
    select(socket, sel).disconnectSockets(sel.close);
  });

  socket.on("ask", (...all) => {
    const [args, ack] = splitAck(all);
    const sel = parseSelection(args[0]);
    const q = isObject(args[0]) && args[0].q !== undefined ? args[0].q : null;
    // socket.timeout(t).emitWithAck() resolves with the first ack argument only: use the
    // callback form to get all of them, like Rust's `emit_with_ack` (Args).
    socket.timeout(sel.timeout ?? 5000).emit("question", q, (err, ...answer) => {
      if (!ack) return;
      if (err) ack({ error: /timed out/.test(err.message) ? "timeout" : err.message });
      else ack({ answer });
    });
  });

  socket.on("ask-all", async (...all) => {
    const [args, ack] = splitAck(all);
    const sel = parseSelection(args[0]);
    const timeout = sel.timeout ?? 5000;
    const q = isObject(args[0]) && args[0].q !== undefined ? args[0].q : null;
    // A Node broadcast with acks (`nsp.timeout(t).emit(ev, q, (err, responses) => …)`) hands
    // back only the first argument of each answer, in arrival order, without saying which
    // socket gave it. To report `{id, answer: [all args]}` per socket (the Rust
    // `AckResponse`), ask each selected socket separately.
    const targets = await select(socket, sel).local.fetchSockets();
    const out = await Promise.all(
      targets.map(
        (s) =>
          new Promise((resolve) => {
            const t = sel.volatile ? s.volatile.timeout(timeout) : s.timeout(timeout);
            t.emit("question", q, (err, ...answer) => {
              resolve(err ? { id: s.id, error: "timeout" } : { id: s.id, answer });
            });
          }),
      ),
    );
    if (ack) ack(out.sort(byId));
  });

  socket.on("ask-cluster", (...all) => {
    const [args, ack] = splitAck(all);
    const sel = parseSelection(args[0]);
    const q = isObject(args[0]) && args[0].q !== undefined ? args[0].q : null;
    // Node's broadcast with acks: the first argument of each answer, no socket id, and on a
    // timeout "operation has timed out" with the answers that came.
    select(socket, sel)
      .timeout(sel.timeout ?? 5000)
      .emit("question", q, (err, responses) => {
        const answers = (responses ?? []).map((a) => ({ answer: [a] }));
        if (ack) ack(err ? { error: err.message, answers } : { answers });
      });
  });

  socket.on("all-rooms", async (...all) => {
    const [, ack] = splitAck(all);
    try {
      // Only cluster adapters have allRooms(); one node's rooms are its adapter's.
      const rooms = nsp.adapter.allRooms ? await nsp.adapter.allRooms() : nsp.adapter.rooms.keys();
      if (ack) ack({ rooms: [...rooms].sort() });
    } catch (err) {
      if (ack) ack({ error: err.message });
    }
  });

  socket.on("typed", (...all) => {
    const [args, ack] = splitAck(all);
    if (!ack) return;
    const [name, n, bin, obj] = args;
    // Rust: (String, i64, Binary, {list: Vec<u8>}); Binary also accepts an array of u8.
    const binOk = isBinary(bin) || (Array.isArray(bin) && bin.every(isU8));
    const ok =
      args.length >= 4 &&
      typeof name === "string" &&
      Number.isInteger(n) &&
      n >= -(2 ** 63) &&
      n < 2 ** 63 &&
      binOk &&
      isObject(obj) &&
      Array.isArray(obj.list) &&
      obj.list.every(isU8);
    if (!ok) {
      ack("bad arguments");
      return;
    }
    const buf = Array.isArray(bin)
      ? Buffer.from(bin)
      : Buffer.isBuffer(bin)
        ? bin
        : bin instanceof ArrayBuffer
          ? Buffer.from(bin)
          : Buffer.from(bin.buffer, bin.byteOffset, bin.byteLength);
    const reversed = Buffer.from(buf).reverse();
    ack(Buffer.byteLength(name, "utf8"), n * 2, reversed, { list: [...obj.list].reverse(), bin: buf });
  });

  socket.on("disconnect-me", (...all) => {
    const [args] = splitAck(all);
    socket.disconnect(parseSelection(args[0]).close);
  });

  socket.on("last-disconnect", (...all) => {
    const [, ack] = splitAck(all);
    if (ack) ack(last);
  });

  // Server-side events (features.rs): to the other nodes of a cluster.
  socket.on("sse-emit", (...all) => {
    const [args, ack] = splitAck(all);
    nsp.serverSideEmit("sse-note", args[0] === undefined ? null : args[0]);
    if (ack) ack(true);
  });

  socket.on("sse-ask", async (...all) => {
    const [args, ack] = splitAck(all);
    try {
      const answers = await nsp.serverSideEmitWithAck("sse-ping", args[0] === undefined ? null : args[0]);
      if (ack) ack({ answers });
    } catch (err) {
      log(`sse-ask: ${err.message}`);
      if (ack) ack({ error: err.message, answers: err.responses ?? [] });
    }
  });

  socket.on("disconnecting", (reason) => {
    last = { id: socket.id, reason, rooms: sortedRooms(socket) };
  });
}

async function middleware(socket, next) {
  // Async on purpose: the connection must wait for it.
  await new Promise((resolve) => setImmediate(resolve));
  const auth = socket.handshake.auth;
  if (isObject(auth) && typeof auth.reject === "string") {
    const err = new Error(auth.reject);
    err.data = { from: "middleware" };
    return next(err);
  }
  let room = socket.handshake.query.room;
  if (Array.isArray(room)) room = room[0]; // Rust: the first value
  if (typeof room === "string") socket.join(room);
  next();
}

io.use(middleware);
io.on("connection", handlers);
// Server-side events of `/` from the other nodes (features.rs): `sse-note` goes to this
// node's clients, `sse-ping` is answered.
io.on("sse-note", (x) => io.local.emit("sse-note", x === undefined ? null : x));
io.on("sse-ping", (x, cb) => cb({ pong: x === undefined ? null : x, by: "node" }));
const dyn = io.of(/^\/dyn-/);
dyn.use(middleware);
dyn.on("connection", handlers);

httpServer.listen(port, "127.0.0.1", () => {
  log(`node ${process.version} socket.io listening on 127.0.0.1:${port}`);
});

let closing = false;
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    if (closing) return;
    closing = true;
    // io.close() resolves once the HTTP server has closed; do not wait on it for ever.
    await Promise.race([io.close(), new Promise((r) => setTimeout(r, 2000))]);
    process.exit(0);
  });
}
