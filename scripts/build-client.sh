#!/usr/bin/env bash
# Builds the browser client as pages import it, into client-wasm/pkg/ (or $1):
#   sio_client.js       the ES module (wasm-bindgen glue + js/index.js, bundled and minified)
#   sio_client_bg.wasm  the client, size-optimised (profile `wasm`, then wasm-opt -Oz)
#   sio_client.d.ts     TypeScript types
#   package.json        what makes the directory an npm package ("sio-client")
# Needs scripts/setup.sh (wasm-pack, wasm-bindgen-cli, and npm's binaryen/esbuild in tests/).
# Env: SIO_CLIENT_FEATURES (cargo features of the bundle crate, comma-separated: e.g. "parser"
# for socket.io-client's `parser` option); SIO_CLIENT_NO_DEFAULT=1 adds
# --no-default-features (e.g. with SIO_CLIENT_FEATURES=websocket for a websocket-only
# build); SIO_CLIENT_WORK (scratch dir, default target/sio-client).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/client-wasm/pkg}
WORK=${SIO_CLIENT_WORK:-$ROOT/target/sio-client}
# npm binaryen's wasm-opt must come first: wasm-pack runs whichever is on PATH.
export PATH="$ROOT/tests/node_modules/.bin:$PATH"
FEATURES=${SIO_CLIENT_FEATURES:-}
CARGO_ARGS=(--locked --features "$FEATURES")
[[ ${SIO_CLIENT_NO_DEFAULT:-0} == 1 ]] && CARGO_ARGS+=(--no-default-features)
# With a nightly toolchain and its rust-src (scripts/setup.sh adds them where rustup can),
# core and alloc are rebuilt for the bundle at its opt-level "z" with panics as immediate
# aborts: 463 B less gzip than stable's prebuilt core (bench/size/RESULTS.md). The code is
# the same; SIO_CLIENT_STABLE=1 forces the stable build.
if [[ ${SIO_CLIENT_STABLE:-0} != 1 ]] && command -v rustup >/dev/null \
    && [[ -d "$(rustc +nightly --print sysroot 2>/dev/null)/lib/rustlib/src/rust/library/core" ]]; then
  export RUSTUP_TOOLCHAIN=nightly
  # LLVM's inliner a little above opt-level "z"'s threshold (5): small helpers fold into
  # their callers and their call glue goes, measured −185 B gzip at 25 (10–25 all gain).
  export RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Cllvm-args=-inline-threshold=25"
  CARGO_ARGS+=(-Zbuild-std=core,alloc)
  echo "[build-client] nightly $(rustc --version | awk '{print $2}'): -Zbuild-std=core,alloc, panic=immediate-abort" >&2
else
  echo "[build-client] stable toolchain (no nightly rust-src): prebuilt core" >&2
fi

rm -rf "$WORK"
mkdir -p "$WORK" "$OUT"
wasm-pack --quiet build "$ROOT/client-wasm/bundle" --target web --profile wasm --no-pack --no-typescript \
  --out-dir "$WORK/wasm" --out-name sio_client -- "${CARGO_ARGS[@]}" 2>&1 \
  | grep -v "failed to get wasm-pack version" >&2 || true
[[ -f $WORK/wasm/sio_client_bg.wasm ]] || { echo "wasm-pack build failed" >&2; exit 1; }
# One- or two-letter names for what the .wasm and its JS import from each other.
node "$ROOT/client-wasm/js/minify-names.mjs" "$WORK/wasm/sio_client.js" "$WORK/wasm/sio_client_bg.wasm" \
  "$ROOT/tests/node_modules/.bin/wasm-opt"
cp "$ROOT/client-wasm/js/index.js" "$WORK/index.js"
# index.js imports glue.js (the Emitter) under a stable name; wasm-bindgen put it in a hashed dir.
GLUE=$(echo "$WORK"/wasm/snippets/*/js/glue.js)
# Without the `parser` feature, glue.js's custom-parser branches are dead code (SIO_PARSER
# false), which esbuild drops: the default bundle carries none of it. The same for the
# `webtransport` feature (SIO_WT).
DEFINE=()
[[ ,$FEATURES, == *,parser,* ]] || DEFINE+=(--define:SIO_PARSER=false)
[[ ,$FEATURES, == *,webtransport,* ]] || DEFINE+=(--define:SIO_WT=false)
esbuild "$WORK/index.js" --bundle --format=esm --minify --log-level=warning "${DEFINE[@]}" \
  --log-override:duplicate-object-key=silent --alias:sio-glue="$GLUE" --outfile="$OUT/sio_client.js"
cp "$WORK/wasm/sio_client_bg.wasm" "$OUT/sio_client_bg.wasm"
cp "$ROOT/client-wasm/js/sio_client.d.ts" "$OUT/sio_client.d.ts"
# An npm package, so that bundler projects install it (a tarball, `npm pack`) and import it by
# name: `import { io } from "sio-client"`. The bundler must copy sio_client_bg.wasm next to
# its output (the module fetches it from beside itself).
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)
cat >"$OUT/package.json" <<JSON
{
  "name": "sio-client",
  "version": "$VERSION",
  "description": "Socket.IO client for the browser in Rust/wasm: a drop-in for socket.io-client",
  "license": "MIT",
  "type": "module",
  "main": "./sio_client.js",
  "module": "./sio_client.js",
  "types": "./sio_client.d.ts",
  "exports": {
    ".": { "types": "./sio_client.d.ts", "default": "./sio_client.js" },
    "./sio_client_bg.wasm": "./sio_client_bg.wasm"
  },
  "files": ["sio_client.js", "sio_client_bg.wasm", "sio_client.d.ts"],
  "sideEffects": true
}
JSON
echo "built $OUT: $(stat -c %s "$OUT/sio_client_bg.wasm") B wasm + $(stat -c %s "$OUT/sio_client.js") B js (raw)" >&2
