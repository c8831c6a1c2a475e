#!/usr/bin/env bash
# Browser benchmark: messages/s received and decoded by a page, our wasm client (sio-client)
# against socket.io-client 4.8, same contract server process, same Chromium, one run.
#
#   scripts/bench-browser.sh                      # REPEATS=3 rounds, about 1.5 minutes
#   REPEATS=5 FLOOD_N=100000 scripts/bench-browser.sh
#   BENCH_NO_BUILD=1 scripts/bench-browser.sh     # use the existing builds
#   WAIT_IDLE_S=600 scripts/bench-browser.sh      # first wait (up to 10 min) for an idle machine
#   SIO_CLIENT_PKG=$PWD/target/bench-browser/pkg scripts/bench-browser.sh   # build/serve elsewhere
#
# Builds the contract server (cargo build --release -p sio-server --example contract) and the
# client bundle (scripts/build-client.sh into $SIO_CLIENT_PKG, default client-wasm/pkg), then
# runs bench/browser/run.mjs: the contract server and a static server on free ports of
# 127.0.0.1, one headless /usr/bin/chromium (playwright-core); per round and client a fresh
# page measuring a websocket flood (msg/s), sequential acks (round trips/s) and a polling flood.
# Prints a table of medians (stdout; progress on stderr) and writes bench/browser/RESULTS.md
# (or $BENCH_RESULTS). The servers are stopped by PID at the end, also on error or Ctrl-C.
# Exit status: 0 all measurements ok, 1 a measurement failed or the page logged an error,
# 2 the bench could not run. Parameters (env): see the header of bench/browser/run.mjs.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SIO_CLIENT_PKG=${SIO_CLIENT_PKG:-$ROOT/client-wasm/pkg}

# The commit the builds are made from (recorded in RESULTS.md).
BENCH_GIT_STATE=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$ROOT" status --porcelain -- client-wasm server protocol 2>/dev/null) ]] \
  || BENCH_GIT_STATE+=" + uncommitted changes in client-wasm/server/protocol"
export BENCH_GIT_STATE

if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
  echo "[bench-browser] building the contract server and the client bundle" >&2
  cargo build --release --locked -p sio-server --example contract --manifest-path "$ROOT/Cargo.toml" || exit 2
  # Own scratch dir, so a concurrent build-client.sh elsewhere is not disturbed; its output
  # goes to a log, shown only when the build fails.
  mkdir -p "$ROOT/target/bench-browser"
  log=$ROOT/target/bench-browser/build-client.log
  SIO_CLIENT_WORK=$ROOT/target/bench-browser/work "$ROOT/scripts/build-client.sh" "$SIO_CLIENT_PKG" >"$log" 2>&1 \
    || { cat "$log" >&2; echo "[bench-browser] client build failed" >&2; exit 2; }
  tail -n 1 "$log" >&2
fi

cmd="scripts/bench-browser.sh"
for v in REPEATS FLOOD_N FLOOD_CHUNK FLOOD_WINDOW ACK_N ACK_SECONDS POLLING POLL_FLOOD_N BASELINE WAIT_IDLE_S BENCH_NO_BUILD; do
  [[ -n ${!v:-} ]] && cmd="$v=${!v} $cmd"
done
[[ $SIO_CLIENT_PKG == "$ROOT/client-wasm/pkg" ]] || cmd="SIO_CLIENT_PKG=${SIO_CLIENT_PKG#"$ROOT"/} $cmd"
export BENCH_COMMAND=$cmd
exec node "$ROOT/bench/browser/run.mjs"
