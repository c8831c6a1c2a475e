// The chat on sio-client, the Rust client compiled to WebAssembly.
import { startChat, showFatal } from "./chat.js";

try {
  // The module instantiates its .wasm on import (top-level await).
  const { io } = await import("/pkg/sio_client.js");
  startChat(io, {
    name: "Rust/wasm client",
    other: { href: "/js-client.html", label: "Same chat on socket.io-client" },
  });
} catch (e) {
  showFatal(
    `The wasm client did not load (${e?.message ?? e}). Build it with scripts/build-client.sh, then reload this page.`,
  );
}
