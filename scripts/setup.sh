#!/usr/bin/env bash
# Idempotent set-up shared by demo.sh and test.sh: Rust components and the npm test
# dependencies. Every step is skipped when already satisfied, so a second run is fast.
# Usage: scripts/setup.sh [rust] [node]   (no argument: both)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WANT="${*:-rust node}"

log() { echo "[setup] $*" >&2; }

if [[ " $WANT " == *" rust "* ]]; then
  command -v cargo >/dev/null || { log "cargo is required (install Rust with rustup)"; exit 1; }
  if command -v rustup >/dev/null; then
    for c in rustfmt clippy; do
      rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
    done
    # sio-protocol also builds for the browser (the wasm client reuses it).
    rustup target list --installed | grep -qx wasm32-unknown-unknown \
      || rustup target add wasm32-unknown-unknown
  fi
fi

if [[ " $WANT " == *" node "* ]]; then
  command -v node >/dev/null || { log "node (>= 20) and npm are required"; exit 1; }
  # npm ci only when the lock file changed since the last install.
  stamp="$ROOT/tests/node_modules/.package-lock.json"
  if [[ ! -f $stamp || "$ROOT/tests/package-lock.json" -nt $stamp ]]; then
    log "installing test dependencies (npm ci)"
    (cd "$ROOT/tests" && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
