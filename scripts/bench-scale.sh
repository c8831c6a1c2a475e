#!/usr/bin/env bash
# The scale benchmarks (issue 12): sio's contract server side by side with Node socket.io
# 4.8 and socketioxide 0.18, interleaved in one run, and their short CI versions.
#
#   scripts/bench-scale.sh                          # idle-line broadcast storm churn (about 40 min)
#   scripts/bench-scale.sh broadcast storm          # some of them
#   scripts/bench-scale.sh ci                       # the short checks against sio only (CI)
#
# Scenarios:
#   idle-line  the shared harness's idle scenario at 1k, 5k, 10k, 19.5k connections, and the
#              fitted line RSS = intercept + slope × connections (extrapolated to 100k)
#   broadcast  one broadcast to CLIENTS sockets at a time, 20 times: time until the last delivery
#   storm      CLIENTS connected clients lose their connections at once (rst: the clients reset
#              them; restart: the server is restarted) and reconnect as socket.io-client does
#   churn      connection attempts in abrupt patterns while an observer checks every ack;
#              counts back to zero and RSS back to its baseline afterwards
#   ci         churn (CI_WARMUP 30k + CI_ATTEMPTS 30k) and storm rst + restart (CI_CLIENTS, 1500) against sio;
#              prints "N passed, M failed" and exits 1 if a check failed
#
# Environment: SERVERS ("sio node socketioxide"), CLIENTS (19500), BROADCASTS (20),
#   ATTEMPTS (sio's churn, 1000000), NODE_ATTEMPTS (100000), SOCKETIOXIDE_ATTEMPTS (300000),
#   WARMUP (churn warm-up attempts before the memory baseline, 50000),
#   PIN (1: server on core 0, load on core 1; ci: 0), OUT_DIR (bench/data/<date>),
#   SIO_CONTRACT_BIN (a built contract server; else it is built here), HOLD (idle, 10 s).
# Server stdout/stderr: target/bench-scale/logs/<server>-<scenario>.log. Every server is
# started on a free port of 127.0.0.1 and stopped by its PID.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
HARNESS=$ROOT/target/bench-harness
SCALE=$ROOT/target/release/sio-scale
LOGS=$ROOT/target/bench-scale/logs
OUT_DIR=${OUT_DIR:-$ROOT/bench/data/$(date -u +%F)}
CLIENTS=${CLIENTS:-19500}
# Short heartbeats: the ping-timeout pattern and abandoned polling sessions end in 1.5 s.
HEARTBEAT=(--server-env PING_INTERVAL_MS=500 --server-env PING_TIMEOUT_MS=1000)

log() { echo "[bench-scale] $*" >&2; }

scenarios=("$@")
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(idle-line broadcast storm churn)
ci=0
[[ " ${scenarios[*]} " == *" ci "* ]] && ci=1
PIN=${PIN:-$((1 - ci))}

# The commit measured, taken before the builds.
GIT_STATE=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$ROOT" status --porcelain -- server protocol bench/scale 2>/dev/null) ]] \
  || GIT_STATE="$GIT_STATE + uncommitted changes"

log "building the load generator (release)"
nice cargo build --release --locked -q -p sio-bench-scale --manifest-path "$ROOT/Cargo.toml"
if [[ -n ${SIO_CONTRACT_BIN:-} && -x ${SIO_CONTRACT_BIN:-} ]]; then
  SIO_BIN=$SIO_CONTRACT_BIN
else
  log "building the contract server (release)"
  nice cargo build --release --locked -q -p sio-server --example contract --manifest-path "$ROOT/Cargo.toml"
  SIO_BIN=$ROOT/target/release/examples/contract
fi

need_harness() {
  [[ -d $SHARED ]] || { log "no benchmark harness at $SHARED"; exit 1; }
  mkdir -p "$HARNESS"
  # shared/ is read-only: copy its sources (not its build outputs) and build here.
  (cd "$SHARED" && tar --exclude=./target --exclude=node_modules --exclude=./results -cf - .) \
    | (cd "$HARNESS" && tar -xf -)
  chmod -R u+w "$HARNESS"
  (cd "$HARNESS" && nice cargo build --release -q)
  [[ -d $HARNESS/servers/node-socketio/node_modules ]] \
    || (cd "$HARNESS/servers/node-socketio" && npm ci --no-audit --no-fund --loglevel=error)
}

server_cmd() {
  case $1 in
    sio) echo "$SIO_BIN" ;;
    node) echo "node $ROOT/tests/reference/contract-server.mjs" ;;
    socketioxide) echo "$HARNESS/target/release/socketioxide-server" ;;
    *) log "unknown server $1 (sio|node|socketioxide)"; exit 2 ;;
  esac
}

CLIENT_PIN=()
SERVER_PIN=()
if [[ $PIN == 1 ]]; then
  CLIENT_PIN=(taskset -c 1)
  SERVER_PIN=(--server-cpus 0)
fi

# run_scale SERVER SCENARIO [args...]: one run, its JSON line appended to OUT_DIR/<file>.jsonl
# (FILE, default the scenario); returns the load generator's exit code (1: a check failed).
run_scale() {
  local name=$1 scen=$2 file=${FILE:-$2}
  shift 2
  local out rc=0 line
  log "$name $scen $*"
  out=$("${CLIENT_PIN[@]}" "$SCALE" "$scen" --tag "$name" --server-cmd "$(server_cmd "$name")" \
    "${SERVER_PIN[@]}" --log "$LOGS/$name-$scen.log" "$@") || rc=$?
  line=$(printf '%s\n' "$out" | tail -n 1)
  [[ -n $line ]] || line="{\"scenario\":\"$scen\",\"server\":\"$name\",\"ok\":false,\"failures\":[\"no output (exit $rc)\"]}"
  line=$(jq -c --arg git "$GIT_STATE" --arg date "$(date -u +%FT%TZ)" --arg args "$*" --argjson pin "$PIN" \
    '. + {commit: $git, date: $date, args: $args, pin: $pin}' <<<"$line" 2>/dev/null || printf '%s' "$line")
  mkdir -p "$OUT_DIR"
  printf '%s\n' "$line" >>"$OUT_DIR/$file.jsonl"
  jq -r '"[bench-scale]   -> " + (if .ok then "ok" else "FAIL: " + (.failures | join("; ")) end)' <<<"$line" >&2 || true
  return "$rc"
}

report() { node "$ROOT/bench/scale/report.mjs" "$@"; }

SERVERS=${SERVERS:-"sio node socketioxide"}
for s in "${scenarios[@]}"; do
  case $s in
    idle-line)
      need_harness
      for c in 1000 5000 10000 19500; do
        ((c <= CLIENTS)) || continue
        OUT_FILE=$OUT_DIR/idle-line.jsonl SERVERS=$SERVERS SERVER_CMD_sio=$SIO_BIN REPEATS=1 PORT=${PORT:-3999} \
          PIN=$PIN LOG_DIR=$LOGS "$HARNESS/compare.sh" idle --clients "$c" --hold "${HOLD:-10}" --source-ips 8 >/dev/null
      done
      report "$OUT_DIR/idle-line.jsonl"
      ;;
    broadcast)
      [[ " $SERVERS " == *" socketioxide "* ]] && need_harness
      for n in $SERVERS; do
        run_scale "$n" broadcast --clients "$CLIENTS" --broadcasts "${BROADCASTS:-20}" || true
      done
      report "$OUT_DIR/broadcast.jsonl"
      ;;
    storm)
      [[ " $SERVERS " == *" socketioxide "* ]] && need_harness
      for mode in rst restart; do
        for n in $SERVERS; do
          info=(); [[ $n == socketioxide ]] && info=(--server-info 0)
          run_scale "$n" storm --clients "$CLIENTS" --mode "$mode" "${info[@]}" || true
        done
      done
      report "$OUT_DIR/storm.jsonl"
      ;;
    churn)
      [[ " $SERVERS " == *" socketioxide "* ]] && need_harness
      # The same warm-up for every server: Node's heap needs ~50k attempts to reach its
      # level (after a 10k warm-up its RSS was 43 % over the baseline; after 50k, 4 %).
      WARMUP=${WARMUP:-50000}
      for n in $SERVERS; do
        case $n in
          sio) run_scale sio churn --attempts "${ATTEMPTS:-1000000}" --warmup-attempts "$WARMUP" "${HEARTBEAT[@]}" || true ;;
          node) run_scale node churn --attempts "${NODE_ATTEMPTS:-100000}" --warmup-attempts "$WARMUP" "${HEARTBEAT[@]}" || true ;;
          # websocket only, `/` only, no server-info, no /auth, fixed 25 s + 20 s heartbeat:
          # only the patterns that end without a heartbeat.
          socketioxide) run_scale socketioxide churn --attempts "${SOCKETIOXIDE_ATTEMPTS:-300000}" --warmup-attempts "$WARMUP" --server-info 0 \
            --nsps / --patterns ws-open-rst,join-rst,invalid-nsp,clean || true ;;
        esac
      done
      report "$OUT_DIR/churn.jsonl"
      ;;
    ci)
      OUT_DIR=${CI_OUT_DIR:-$ROOT/target/bench-scale/ci}
      rm -f "$OUT_DIR"/ci.jsonl
      passed=0 failed=0
      t0=$SECONDS
      check() { if FILE=ci run_scale "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }
      check sio churn --attempts "${CI_ATTEMPTS:-30000}" --warmup-attempts "${CI_WARMUP:-30000}" "${HEARTBEAT[@]}" --max-seconds 300
      check sio storm --clients "${CI_CLIENTS:-1500}" --mode rst --max-seconds 200
      check sio storm --clients "${CI_CLIENTS:-1500}" --mode restart --max-seconds 200
      report "$OUT_DIR/ci.jsonl"
      echo
      echo "scale checks ($((SECONDS - t0)) s): $OUT_DIR/ci.jsonl"
      echo "$passed passed, $failed failed"
      ((failed == 0)) || exit 1
      ;;
    *) log "unknown scenario $s (idle-line|broadcast|storm|churn|ci)"; exit 2 ;;
  esac
done
