// The same chat on the official socket.io-client (npm), to show both clients in one room.
import { startChat, showFatal } from "./chat.js";

try {
  const { io } = await import("/vendor/socket.io-client/socket.io.esm.min.js");
  startChat(io, {
    name: "socket.io-client (npm)",
    other: { href: "/", label: "Same chat on the Rust/wasm client" },
  });
} catch (e) {
  showFatal(`socket.io-client did not load (${e?.message ?? e}). Run npm ci in tests/, then reload this page.`);
}
