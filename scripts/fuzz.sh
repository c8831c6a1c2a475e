#!/usr/bin/env bash
# Fuzzes every decoder (fuzz/README.md): one target at a time, a summary line each, a total,
# and a non-zero exit on any crash, hang or out-of-memory.
# Usage: scripts/fuzz.sh smoke            about 15 s per target (CI)
#        scripts/fuzz.sh long [runs]      each target for `runs` executions (10 million)
#        scripts/fuzz.sh stable [secs]    the stable replay only (what runs without nightly)
# With nightly, cargo-fuzz (libFuzzer, coverage-guided); without it, the stable replay of
# fuzz/tests/replay.rs: the same targets on the seeds and pseudo-random variations of them.
# Set FUZZ_TARGETS="a b" to run only some targets, FUZZ_SANITIZER=address for AddressSanitizer
# (off by default: sio's crates forbid unsafe code, and it makes runs 3 times slower; debug
# assertions and overflow checks are on either way).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

CARGO_FUZZ_VERSION=0.13.1
MODE=${1:-smoke}
TARGETS=${FUZZ_TARGETS:-engine payload socket binary json_args jsonstr redis_msgpack redis_wire redis_sharded msgpack_packet}
SMOKE_SECS=15
SAN=${FUZZ_SANITIZER:-none}

log() { echo "[fuzz] $*" >&2; }

stable() {
  local secs=$1 failed=0 out
  out=$(mktemp)
  for t in $TARGETS; do
    if ! (cd fuzz && SIO_FUZZ_TARGET=$t SIO_FUZZ_SECS=$secs RUST_BACKTRACE=0 \
        nice -n 19 cargo test -q --release --no-default-features --test replay \
        targets_over_seeds_and_variations -- --nocapture) >"$out" 2>&1; then
      failed=$((failed + 1))
    fi
    grep -E '^stable ' "$out" || { cat "$out"; echo "stable $t: FAILED (see above)"; }
  done
  rm -f "$out"
  echo "total: $(wc -w <<<"$TARGETS") targets, $failed failed (stable replay, no coverage guidance)"
  ((failed == 0))
}

if [[ $MODE == stable ]]; then
  stable "${2:-10}"
  exit
fi
case $MODE in
  smoke) LIMIT=(-max_total_time=$SMOKE_SECS) ;;
  long) LIMIT=(-runs="${2:-10000000}") ;;
  *) echo "usage: $0 smoke | long [runs] | stable [secs]" >&2; exit 2 ;;
esac

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly' || ! cargo +nightly --version >/dev/null 2>&1; then
  log "no nightly toolchain: cargo-fuzz cannot run here; falling back to the stable replay"
  log "(the same checks on the seeds and pseudo-random variations, without coverage guidance)"
  stable "$([[ $MODE == smoke ]] && echo $SMOKE_SECS || echo 60)"
  exit
fi

if [[ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION (cargo install, a few minutes once)"
  cargo install -q cargo-fuzz --version "=$CARGO_FUZZ_VERSION" --locked --force
fi

log "building the targets (cargo +nightly fuzz build -s $SAN)"
nice -n 19 cargo +nightly fuzz build -s "$SAN" >/dev/null

failed=0 total_runs=0 total_secs=0
for t in $TARGETS; do
  mkdir -p "fuzz/corpus/$t"
  out=$(mktemp)
  start=$SECONDS
  # The grown corpus (fuzz/corpus/, ignored by git) first, where libFuzzer writes; the
  # committed seeds second. -timeout: an input taking over 10 s is a hang.
  status=0
  nice -n 19 cargo +nightly fuzz run -s "$SAN" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    "${LIMIT[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$out" 2>&1 || status=$?
  secs=$((SECONDS - start))
  runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$out" | tail -1)
  rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$out" | tail -1)
  if ((status != 0)); then
    failed=$((failed + 1))
    artifact=$(grep -oE 'Test unit written to [^ ]+' "$out" | tail -1 | sed 's/Test unit written to //')
    grep -E 'panicked at|^ERROR|SUMMARY|==ERROR' "$out" | head -5 >&2 || true
    echo "$t: CRASH after ${runs:-?} runs in ${secs} s: ${artifact:-see output}"
    cp "$out" "fuzz/artifacts/$t.log" 2>/dev/null || true
  else
    echo "$t: ${runs:-?} runs, ${rate:-?} exec/s, ${secs} s, 0 crashes"
  fi
  total_runs=$((total_runs + ${runs:-0}))
  total_secs=$((total_secs + secs))
  rm -f "$out"
done
echo "total: $(wc -w <<<"$TARGETS") targets, $total_runs runs, ${total_secs} s, $failed crashed"
((failed == 0))
