#!/usr/bin/env bash
# WebTransport against WebSocket: messages/s and ack latency of socket.io-client 4.8 in one
# headless Chromium against one sio contract server (bench/webtransport/run.mjs; results in
# bench/webtransport/RESULTS.md).
#
#   scripts/bench-webtransport.sh                 # REPEATS=3 rounds, about a minute
#   REPEATS=5 FLOOD_N=50000 scripts/bench-webtransport.sh
#   BENCH_NO_BUILD=1 scripts/bench-webtransport.sh
#
# Builds the contract server with the `webtransport` feature; needs tests/node_modules
# (`npm ci` in tests/), /usr/bin/chromium and openssl (scripts/setup.sh node browser).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_GIT_STATE=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$ROOT" status --porcelain -- server protocol 2>/dev/null) ]] \
  || BENCH_GIT_STATE+=" + uncommitted changes in server/protocol"
export BENCH_GIT_STATE
if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
  echo "[bench-webtransport] building the contract server (release, --features webtransport)" >&2
  cargo build --release --locked -p sio-server --features webtransport --example contract --manifest-path "$ROOT/Cargo.toml" || exit 2
fi
cmd="scripts/bench-webtransport.sh"
for v in REPEATS FLOOD_N FLOOD_CHUNK FLOOD_WINDOW ACK_N ACK_SECONDS BENCH_NO_BUILD; do
  [[ -n ${!v:-} ]] && cmd="$v=${!v} $cmd"
done
export BENCH_COMMAND=$cmd
exec node "$ROOT/bench/webtransport/run.mjs"
