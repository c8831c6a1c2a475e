#!/usr/bin/env bash
# Sets everything up and starts the demo chat on http://127.0.0.1:${PORT:-3000}: the page in
# www/, the wasm client and the Socket.IO endpoint, served by one axum app (the `chat`
# example of sio-server). /js-client.html is the same chat on the npm socket.io-client.
# Env: HOST, PORT (where it listens); SIO_CLIENT_PKG (where the wasm client is built and
# served from, default client-wasm/pkg); the chat's limits, see server/examples/chat.rs.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Rust, npm's esbuild/binaryen/socket.io-client (tests/node_modules) and wasm-pack; no browser.
"$ROOT/scripts/setup.sh" rust node wasm
cd "$ROOT"
export SIO_CLIENT_PKG=${SIO_CLIENT_PKG:-$ROOT/client-wasm/pkg}
"$ROOT/scripts/build-client.sh" "$SIO_CLIENT_PKG"
cargo build --release -p sio-server --features metrics --example chat
export PORT=${PORT:-3000}
echo "sio demo: open http://${HOST:-127.0.0.1}:$PORT/ in a browser, in two tabs or two browsers (Ctrl-C to stop)"
exec "$ROOT/target/release/examples/chat"
