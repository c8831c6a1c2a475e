#!/usr/bin/env bash
# Side-by-side benchmark of our contract server against Node socket.io and socketioxide,
# with the load generator of ../shared/bench, in one run.
#
#   scripts/bench.sh                 # every scenario, REPEATS=3 (about 15 minutes)
#   scripts/bench.sh fanout echo     # some scenarios
#
# shared/ is read-only, so the harness is copied to target/bench-harness and built there.
# Results: target/bench-harness/results/<scenario>.jsonl, tables printed at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
HARNESS=$ROOT/target/bench-harness
[[ -d $SHARED ]] || { echo "no benchmark harness at $SHARED" >&2; exit 1; }

mkdir -p "$HARNESS"
# Copy the harness sources (not its build outputs); rsync-free for a bare Debian.
(cd "$SHARED" && tar --exclude=./target --exclude=node_modules --exclude=./results -cf - .) \
  | (cd "$HARNESS" && tar -xf -)
chmod -R u+w "$HARNESS"

cargo build --release --locked -p sio-server --example contract --manifest-path "$ROOT/Cargo.toml"
(cd "$HARNESS" && cargo build --release)
[[ -d $HARNESS/servers/node-socketio/node_modules ]] \
  || (cd "$HARNESS/servers/node-socketio" && npm ci --no-audit --no-fund --loglevel=error)

export SERVERS=${SERVERS:-"node socketioxide sio"}
export SERVER_CMD_sio="$ROOT/target/release/examples/contract"
export REPEATS=${REPEATS:-3}
export PORT=${PORT:-3999}
scenarios=("$@")
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(fanout echo idle rooms)
cd "$HARNESS"
mkdir -p results
for s in "${scenarios[@]}"; do
  out=results/$s-$(date +%Y%m%d-%H%M%S).jsonl
  case $s in
    fanout) OUT_FILE=$out ./compare.sh fanout --clients 1000 --messages 200 --payload 100 ;;
    echo) OUT_FILE=$out ./compare.sh echo --clients 100 --seconds 10 ;;
    idle) OUT_FILE=$out ./compare.sh idle --clients 5000 --hold 10 ;;
    rooms) OUT_FILE=$out ./compare.sh rooms --clients 1000 --rooms 10 --messages 2000 ;;
    *) echo "unknown scenario $s (fanout|echo|idle|rooms)" >&2; exit 2 ;;
  esac
done
