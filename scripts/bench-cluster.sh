#!/usr/bin/env bash
# Cluster benchmark (issue 6): a two-node fanout through Redis, our contract server against
# Node socket.io + @socket.io/redis-adapter on the same redis-server, in one run.
#
#   scripts/bench-cluster.sh                       # REPEATS=3 rounds, about 1 minute
#   CLIENTS=400 MESSAGES=2000 scripts/bench-cluster.sh
#   BENCH_NO_BUILD=1 scripts/bench-cluster.sh      # use the existing build
#   IMPLS=sio PIN=0 scripts/bench-cluster.sh       # only ours, not pinned to cores
#   CLIENT=raw scripts/bench-cluster.sh            # a cheaper hand-written client (less client-bound)
#   WAIT_IDLE_S=120 scripts/bench-cluster.sh       # wait (up to 2 min) for an idle machine before each measurement
#   REDIS_SHARDED=1 scripts/bench-cluster.sh       # the sharded mode (SPUBLISH) on every node: bench/cluster/RESULTS-sharded.md
#   REDIS_STREAMS=1 scripts/bench-cluster.sh       # Redis Streams (XADD + XREAD, recovery on) on every node: bench/cluster/RESULTS-streams.md
#
# Builds the contract server with the Redis adapter (cargo build --release -p sio-server
# --example contract) and copies it to target/bench-cluster/contract (so a
# later build without the feature does not replace the binary under the bench), then runs
# bench/cluster/run.mjs: one redis-server on a free port of 127.0.0.1; per round and
# implementation two nodes (REDIS_URL, PORT) on free ports, CLIENTS socket.io-client receivers
# split over both, one sender on the first node emitting `broadcast`; deliveries/s, latency
# percentiles on the sender's node and across nodes, server and Redis CPU per delivery, Redis
# commands per message (INFO commandstats). REDIS_STREAMS=1: every node (ours and Node's, there
# with @socket.io/redis-streams-adapter) gets REDIS_STREAMS=1 RECOVERY_MS=120000, so every
# broadcast is an XADD to the stream `socket.io` that each node reads with a blocking XREAD,
# and every event carries its offset (connection state recovery on); not with REDIS_SHARDED=1.
# Prints a table of medians (stdout; progress on stderr) and writes bench/cluster/RESULTS.md
# (RESULTS-sharded.md, RESULTS-streams.md in those modes; or $BENCH_RESULTS). Every process
# is stopped by its PID at the end, also on error or Ctrl-C.
# Exit status: 0 all rounds ok, 1 a round failed, 2 the bench could not run.
# Needs redis-server (scripts/setup.sh redis), node and tests/node_modules (cd tests && npm ci).
# Parameters (env): see the header of bench/cluster/run.mjs.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/target/bench-cluster/contract

BENCH_GIT_STATE=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$ROOT" status --porcelain -- server protocol 2>/dev/null) ]] \
  || BENCH_GIT_STATE+=" + uncommitted changes in server/protocol"
export BENCH_GIT_STATE

if [[ ${REDIS_STREAMS:-0} == 1 && ${REDIS_SHARDED:-0} == 1 ]]; then
  echo "[bench-cluster] REDIS_STREAMS=1 and REDIS_SHARDED=1 are two different adapter modes: set one of them" >&2
  exit 2
fi

if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
  echo "[bench-cluster] building the contract server with the redis feature" >&2
  cargo build --release --locked -p sio-server --example contract \
    --manifest-path "$ROOT/Cargo.toml" || exit 2
  mkdir -p "$(dirname "$BIN")"
  cp -f "$ROOT/target/release/examples/contract" "$BIN.tmp" && mv -f "$BIN.tmp" "$BIN"
elif [[ -z ${SIO_CONTRACT_BIN:-} && ! -x $BIN ]]; then
  echo "[bench-cluster] BENCH_NO_BUILD=1 but no $BIN: run once without it" >&2
  exit 2
fi
ADAPTER=@socket.io/redis-adapter
[[ ${REDIS_STREAMS:-0} == 1 ]] && ADAPTER=@socket.io/redis-streams-adapter
[[ -d $ROOT/tests/node_modules/$ADAPTER ]] \
  || { echo "[bench-cluster] tests/node_modules lacks $ADAPTER: cd tests && npm ci" >&2; exit 2; }

cmd="scripts/bench-cluster.sh"
for v in CLIENTS MESSAGES WARMUP WINDOW PAYLOAD REPEATS STALL_S IMPLS PIN CLIENT WAIT_IDLE_S BENCH_NO_BUILD REDIS_SHARDED REDIS_STREAMS; do
  [[ -n ${!v:-} ]] && cmd="$v=${!v} $cmd"
done
export BENCH_COMMAND=$cmd
exec node "$ROOT/bench/cluster/run.mjs"
