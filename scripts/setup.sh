#!/usr/bin/env bash
# Idempotent set-up shared by demo.sh and test.sh: Rust components and the npm test
# dependencies. Every step is skipped when already satisfied, so a second run is fast.
# Usage: scripts/setup.sh [rust] [node] [wasm] [browser] [redis]   (no argument: all five)
#   wasm: the tools that build the browser client; browser: Chromium, which runs its tests;
#   redis: Debian's redis-server and redis-cli, which the cluster tests (tests/cluster/) and
#          sio-cluster's tests/redis_link.rs use.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WANT="${*:-rust node wasm browser redis}"

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
    # Nightly's rust-src and wasm32 target, for the browser client's smaller build
    # (scripts/build-client.sh rebuilds core with -Zbuild-std); without them it builds on
    # stable, a few hundred bytes larger.
    if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
      rustup +nightly component list --installed 2>/dev/null | grep -q '^rust-src' \
        || rustup component add rust-src --toolchain nightly \
        || log "nightly rust-src not installable: the browser client builds on stable"
      rustup +nightly target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
        || rustup target add wasm32-unknown-unknown --toolchain nightly \
        || log "nightly wasm32 target not installable: the browser client builds on stable"
    fi
    # cargo-fuzz, for scripts/fuzz.sh (nightly only; fuzz.sh also installs it when missing).
    if rustup toolchain list 2>/dev/null | grep -q '^nightly' \
        && [[ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz 0.13.1" ]]; then
      log "installing cargo-fuzz 0.13.1 (cargo install, a few minutes once)"
      cargo install -q cargo-fuzz --version =0.13.1 --locked --force
    fi
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

# The browser client's tests run in Debian's chromium (+ chromedriver for wasm-pack test);
# the WebTransport tests make their certificates with the openssl command.
if [[ " $WANT " == *" browser "* ]]; then
  pkgs=()
  [[ -x /usr/bin/chromium ]] || pkgs+=(chromium)
  [[ -x /usr/bin/chromedriver ]] || pkgs+=(chromium-driver)
  command -v openssl >/dev/null || pkgs+=(openssl)
  if (( ${#pkgs[@]} )); then
    log "installing ${pkgs[*]} (apt)"
    SUDO=; (( EUID == 0 )) || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  fi
fi

# The Redis adapter's tests start their own redis-server (on a free port, stopped by PID),
# and redis-cli makes a Redis Cluster of several: only the binaries are needed, no service.
if [[ " $WANT " == *" redis "* ]] && ! { command -v redis-server && command -v redis-cli; } >/dev/null; then
  log "installing redis-server and redis-tools (apt)"
  SUDO=; (( EUID == 0 )) || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server redis-tools >/dev/null
fi

# The browser client's toolchain, from package registries only (see client-wasm/README.md):
# wasm-bindgen-cli / wasm-pack from crates.io at the versions the lock file needs. wasm-opt
# comes from npm `binaryen` (tests/package.json): Debian's binaryen 108 writes modules that
# fail to instantiate, so it is never installed.
if [[ " $WANT " == *" wasm "* ]]; then
  have_ver() { [[ "$("$1" --version 2>/dev/null | awk '{print $2}')" == "$2" ]]; }
  WB_VER=$(awk '$0=="name = \"wasm-bindgen\""{getline; gsub(/version = |"/,""); print; exit}' "$ROOT/Cargo.lock")
  WASM_PACK_VER=0.15.1
  if ! have_ver wasm-bindgen "$WB_VER"; then
    log "installing wasm-bindgen-cli $WB_VER (cargo install, a few minutes once)"
    # --locked fails when the registry lags behind the CLI's own lock file; retry unlocked.
    cargo install -q wasm-bindgen-cli --version "=$WB_VER" --locked --force 2>/dev/null \
      || cargo install -q wasm-bindgen-cli --version "=$WB_VER" --force
  fi
  if ! have_ver wasm-pack "$WASM_PACK_VER"; then
    log "installing wasm-pack $WASM_PACK_VER (cargo install, a few minutes once)"
    cargo install -q wasm-pack --version "=$WASM_PACK_VER" --locked --force
  fi
fi
