#!/usr/bin/env bash
# Sets everything up and starts the demo server on http://127.0.0.1:${PORT:-3000}.
# Until the browser chat lands, the demo is the contract server (shared/CONTRACT.md):
# connect any socket.io-client 4.x to it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup.sh" rust
cd "$ROOT"
cargo build --release -p sio-server --example contract
export PORT=${PORT:-3000}
echo "sio demo: Socket.IO server on http://127.0.0.1:$PORT/socket.io/ (Ctrl-C to stop)"
exec "$ROOT/target/release/examples/contract"
