#!/usr/bin/env bash
# Sets everything up and starts the demo chat on http://127.0.0.1:${PORT:-3000}: the page in
# www/, the wasm client and the Socket.IO endpoint, served by one axum app (the `chat`
# example of sio-server). /js-client.html is the same chat on the npm socket.io-client.
#
#   scripts/demo.sh           one chat node
#   scripts/demo.sh cluster   a redis-server of its own (port REDIS_PORT, default 6390, no
#                             persistence) and two chat nodes on it, on PORT and PORT+1,
#                             sharing one history (DATA_DIR): a page on each talks to the other
#
# Env: HOST, PORT (where it listens); SIO_CLIENT_PKG (where the wasm client is built and
# served from, default client-wasm/pkg); the chat's limits, see server/examples/chat.rs.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODE=${1:-single}
case "$MODE" in
  single) NEED="rust node wasm" ;;
  cluster) NEED="rust node wasm redis" ;;
  *) echo "usage: scripts/demo.sh [cluster]" >&2; exit 2 ;;
esac
# Rust, npm's esbuild/binaryen/socket.io-client (tests/node_modules) and wasm-pack (and
# redis-server for the cluster); no browser.
# shellcheck disable=SC2086
"$ROOT/scripts/setup.sh" $NEED
cd "$ROOT"
export SIO_CLIENT_PKG=${SIO_CLIENT_PKG:-$ROOT/client-wasm/pkg}
"$ROOT/scripts/build-client.sh" "$SIO_CLIENT_PKG"
cargo build --release -p sio-server --features metrics --example chat
CHAT="$ROOT/target/release/examples/chat"
export PORT=${PORT:-3000}
HOST_SHOWN=${HOST:-127.0.0.1}

if [ "$MODE" = single ]; then
  echo "sio demo: open http://$HOST_SHOWN:$PORT/ in a browser, in two tabs or two browsers (Ctrl-C to stop)"
  exec "$CHAT"
fi

# The cluster: every process started here is stopped by its PID when this script ends.
REDIS_PORT=${REDIS_PORT:-6390}
PIDS=()
stop() {
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning &
PIDS+=($!)
until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do
  kill -0 "${PIDS[0]}" 2>/dev/null || { echo "redis-server did not start on port $REDIS_PORT (in use? set REDIS_PORT)" >&2; exit 1; }
  sleep 0.1
done
# The Streams adapter: a page cut off from one node recovers on the other, what it missed
# replayed. One DATA_DIR: one history.
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/" REDIS_STREAMS=1
export DATA_DIR=${DATA_DIR:-$ROOT/data}
PORT_B=$((PORT + 1))
PORT=$PORT "$CHAT" &
PIDS+=($!)
PORT=$PORT_B "$CHAT" &
PIDS+=($!)
echo "sio cluster demo: two chat nodes on one Redis (port $REDIS_PORT)."
echo "  open http://$HOST_SHOWN:$PORT/ and http://$HOST_SHOWN:$PORT_B/ in two browsers and talk (Ctrl-C stops all three)"
# Ends when any of them does; the trap stops the others.
wait -n
