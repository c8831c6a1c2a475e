// Compiled with `tsc --noEmit` by the test suite: a page written against socket.io-client's
// types must type-check against sio-client's .d.ts unchanged.
import io, { connect, Manager, protocol, Socket } from "../../client-wasm/js/sio_client";

// socket.io-msgpack-parser's module as it is at run time (its own index.d.ts does not
// compile under `strict`).
declare const msgpackParser: {
  Encoder: new () => { encode(packet: object): ArrayBuffer[] };
  Decoder: new () => {
    add(obj: any): void;
    on(event: string, listener: (...args: any[]) => void): unknown;
    destroy(): void;
  };
};

interface ServerToClient {
  "chat message": (text: string, from: string) => void;
}
interface ClientToServer {
  "chat message": (text: string, ack: (ok: boolean) => void) => void;
  echo: (n: number, ack: (n: number) => void) => void;
}

async function page(): Promise<void> {
  const socket: Socket<ServerToClient, ClientToServer> = io("http://127.0.0.1:3000/chat", {
    auth: { token: "secret" },
    transports: ["websocket"],
    reconnectionDelayMax: 2000,
  });
  socket.on("connect", () => console.log(socket.id, socket.connected, socket.recovered));
  socket.on("connect_error", (err) => console.log(err.message, err.data));
  socket.on("disconnect", (reason) => console.log(reason === "io server disconnect"));
  socket.on("chat message", (text, from) => console.log(text.toUpperCase(), from));
  socket.emit("chat message", "hi", (ok) => console.log(ok === true));
  const n: number = await socket.timeout(5000).emitWithAck("echo", 1);
  socket.volatile.emit("echo", n, () => {});
  socket.onAny((ev, ...args) => console.log(ev, args.length));
  socket.io.on("reconnect_attempt", (attempt) => console.log(attempt + 1));
  const m = new Manager("http://127.0.0.1:3000", { autoConnect: false });
  const admin = m.socket("/admin", { auth: (cb) => cb({ token: "t" }) });
  admin.connect().disconnect();
  // manager.engine and the Manager's packets, as socket.io-client's.
  m.open((err) => console.log(err?.message));
  m.on("packet", (p) => console.log(p.type, p.nsp, p.id));
  m.engine.on("packet", ({ type, data }) => console.log(type === "message", data));
  m.engine.on("packetCreate", (p) => console.log(p.options?.compress));
  m.engine.on("upgradeError", (e) => console.log(e.transport));
  console.log(m.engine.readyState === "open");
  // The module is ready on import (no init call), and has socket.io-client's exports.
  const same: Socket = connect("http://127.0.0.1:3000");
  // The `parser` option with the npm msgpack parser, as socket.io-client takes it.
  io("http://127.0.0.1:3000", { parser: msgpackParser, forceNew: true });
  console.log(same.connected, protocol === 5);
  // @ts-expect-error: a listener with the wrong argument type is refused
  socket.on("chat message", (text: number) => text);
}
void page;
