// Node reference implementation of /work/shared/CONTRACT.md ("the contract server"),
// on socket.io 4.8. The interop suite runs against it with SIO_SERVER=node, so that
// every expectation in tests/interop is what Node itself does.
//
//   PORT=3000 node reference/contract-server.mjs
//
// env: PORT (3000), PING_INTERVAL_MS (25000), PING_TIMEOUT_MS (20000),
//      CONNECT_TIMEOUT_MS (45000), MAX_PAYLOAD (1000000), RECOVERY_MS (connection state
//      recovery when > 0), REDIS_URL (join the Redis cluster there with
//      @socket.io/redis-adapter 8; REDIS_SHARDED=1: its sharded adapter; REDIS_STREAMS=1:
//      @socket.io/redis-streams-adapter 0.3 instead, recovery sessions kept in Redis),
//      PARSER=msgpack (socket.io-msgpack-parser 3),
//      ADMIN_UI=1 (instrumented for @socket.io/admin-ui 0.5, as CONTRACT.md says; for the
//      tests only, not in the contract: ADMIN_SERVER_ID names the node, whose default, the
//      host name, every node of a one-machine cluster shares).
// Listens on 127.0.0.1:$PORT, logs to stderr, exits 0 on SIGTERM/SIGINT.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { instrument } from "@socket.io/admin-ui";
import msgpackParser from "socket.io-msgpack-parser";
import { joinCluster } from "./cluster.mjs";

const envInt = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`bad ${name}=${v}`);
  return n;
};

const port = envInt("PORT", 3000);
const recoveryMs = envInt("RECOVERY_MS", 0);
const httpServer = createServer();
if (![undefined, "", "msgpack"].includes(process.env.PARSER)) throw new Error(`bad PARSER=${process.env.PARSER}`);
const io = new Server(httpServer, {
  ...(process.env.PARSER === "msgpack" ? { parser: msgpackParser } : {}),
  ...(recoveryMs > 0
    ? { connectionStateRecovery: { maxDisconnectionDuration: recoveryMs, skipMiddlewares: true } }
    : {}),
  path: "/socket.io/",
  serveClient: false,
  transports: ["polling", "websocket"],
  allowUpgrades: true,
  pingInterval: envInt("PING_INTERVAL_MS", 25000),
  pingTimeout: envInt("PING_TIMEOUT_MS", 20000),
  connectTimeout: envInt("CONNECT_TIMEOUT_MS", 45000),
  maxHttpBufferSize: envInt("MAX_PAYLOAD", 1000000),
  // The admin UI connects from its own origin with credentials, which "*" does not allow.
  cors: process.env.ADMIN_UI === "1" ? { origin: true, credentials: true } : { origin: "*" },
});

// Engine.IO sessions: initial transport and handshake query, per connection.
const initialTransport = new WeakMap();
io.engine.on("connection", (conn) => {
  initialTransport.set(conn, conn.transport.name);
});

const muxOf = (conn) => {
  const q = conn.request && conn.request._query;
  return q ? q.mux : undefined;
};

// Splits a handler's arguments into (args, ack|undefined).
const splitAck = (args) => {
  if (args.length && typeof args[args.length - 1] === "function") {
    return [args.slice(0, -1), args[args.length - 1]];
  }
  return [args, undefined];
};

const log = (...a) => console.error("[contract-server]", ...a);

await joinCluster(io, log); // REDIS_URL: reference/cluster.mjs

if (process.env.ADMIN_UI === "1") {
  // The bcrypt hash of "admin-secret".
  const password = "$2a$10$kbEeU8ZGzFAXPAVPW8t7ne1rXB9XcTOg8PypTkm42/PXfeHoXn5kC";
  const serverId = process.env.ADMIN_SERVER_ID || undefined;
  instrument(io, { auth: { type: "basic", username: "admin", password }, mode: "development", serverId });
}

function setup(nsp) {
  nsp.on("connection", (socket) => {
    const retries = new Map(); // ack-on-retry: KEY -> count, per socket

    socket.on("echo", (...all) => {
      const [args, ack] = splitAck(all);
      if (ack) ack(...args);
    });

    // emit-as and emit-volatile: event EV with X… back to the sender, through `emit`.
    const emitBack = (what, emit) => (...all) => {
      const [args] = splitAck(all);
      if (args.length === 0) return;
      const [ev, ...rest] = args;
      try {
        emit(ev, ...rest);
      } catch (e) {
        log(`${what} failed:`, e.message); // e.g. reserved event names
      }
    };
    socket.on("emit-as", emitBack("emit-as", (...a) => socket.emit(...a)));

    socket.on("broadcast", (...all) => {
      const [args] = splitAck(all);
      nsp.emit("bcast", args[0]);
    });

    socket.on("broadcast-others", (...all) => {
      const [args] = splitAck(all);
      socket.broadcast.emit("bcast", args[0]);
    });

    socket.on("join", (...all) => {
      const [args, ack] = splitAck(all);
      socket.join(args[0]);
      if (ack) ack(true);
    });

    socket.on("leave", (...all) => {
      const [args, ack] = splitAck(all);
      socket.leave(args[0]);
      if (ack) ack(true);
    });

    socket.on("to-room", (...all) => {
      const [args] = splitAck(all);
      const d = args[0];
      if (d === null || typeof d !== "object" || d.room === undefined) return;
      nsp.to(d.room).emit("bcast", d);
    });

    socket.on("rooms-of", (...all) => {
      const [, ack] = splitAck(all);
      if (ack) ack([...socket.rooms]);
    });

    socket.on("server-ack", (...all) => {
      const [args] = splitAck(all);
      socket.emit("ping-client", args[0], (...xs) => {
        socket.emit("client-acked", ...xs);
      });
    });

    socket.on("server-info", (...all) => {
      const [, ack] = splitAck(all);
      if (!ack) return;
      ack({
        id: socket.id,
        nsp: nsp.name,
        connId: socket.conn.id,
        transport: socket.conn.transport.name,
        initialTransport: initialTransport.get(socket.conn),
        engineCount: io.engine.clientsCount,
        nspSockets: nsp.sockets.size,
        rooms: nsp.adapter.rooms.size,
      });
    });

    socket.on("conn-count", (...all) => {
      const [args, ack] = splitAck(all);
      if (!ack) return;
      let n = 0;
      for (const conn of Object.values(io.engine.clients)) {
        if (conn.readyState === "open" && muxOf(conn) === args[0]) n++;
      }
      ack(n);
    });

    socket.on("ack-on-retry", (...all) => {
      const [args, ack] = splitAck(all);
      const key = args[0];
      const count = (retries.get(key) || 0) + 1;
      retries.set(key, count);
      if (count >= 2 && ack) ack(true, key, count);
    });

    socket.on("flood", (...all) => {
      const [args] = splitAck(all);
      const n = Number(args[0]) || 0;
      for (let k = 0; k < n; k++) socket.emit("tp", { i: k, p: "xxxxxxxx" });
      socket.emit("flood-done", args[0]);
    });

    socket.on("disconnect-me", () => {
      socket.disconnect();
    });

    socket.on("emit-volatile", emitBack("emit-volatile", (...a) => socket.volatile.emit(...a)));

    socket.on("set-data", (...all) => {
      const [args, ack] = splitAck(all);
      socket.data.value = args[0];
      if (ack) ack(true);
    });

    socket.on("state", (...all) => {
      const [, ack] = splitAck(all);
      if (!ack) return;
      ack({
        id: socket.id,
        recovered: socket.recovered,
        rooms: [...socket.rooms].filter((r) => r !== socket.id),
        data: socket.data.value ?? null,
      });
    });
  });
}

setup(io.of("/"));
setup(io.of("/custom"));
const auth = io.of("/auth");
auth.use((socket, next) => {
  const a = socket.handshake.auth;
  if (a !== null && typeof a === "object" && a.token === "secret") return next();
  const err = new Error("unauthorized");
  err.data = { code: 4001, reason: "token rejected" };
  next(err);
});
setup(auth);

httpServer.listen(port, "127.0.0.1", () => {
  log(`node ${process.version} socket.io listening on 127.0.0.1:${port}`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => process.exit(0));
}
