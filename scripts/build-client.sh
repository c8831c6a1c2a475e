#!/usr/bin/env bash
# Builds the browser client as pages import it, into client-wasm/pkg/ (or $1):
#   sio_client.js       the ES module (wasm-bindgen glue + js/index.js, bundled and minified)
#   sio_client_bg.wasm  the client, size-optimised (profile `wasm`, then wasm-opt -Oz)
#   sio_client.d.ts     TypeScript types
# Needs scripts/setup.sh (wasm-pack, wasm-bindgen-cli, and npm's binaryen/esbuild in tests/).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/client-wasm/pkg}
WORK=$ROOT/target/sio-client
# npm binaryen's wasm-opt must come first: wasm-pack runs whichever is on PATH.
export PATH="$ROOT/tests/node_modules/.bin:$PATH"
FEATURES=${SIO_CLIENT_FEATURES:-bundle}

rm -rf "$WORK"
mkdir -p "$WORK" "$OUT"
wasm-pack --quiet build "$ROOT/client-wasm" --target web --profile wasm --no-pack --no-typescript \
  --out-dir "$WORK/wasm" --out-name sio_client -- --locked --features "$FEATURES" 2>&1 \
  | grep -v "failed to get wasm-pack version" >&2 || true
[[ -f $WORK/wasm/sio_client_bg.wasm ]] || { echo "wasm-pack build failed" >&2; exit 1; }
cp "$ROOT/client-wasm/js/index.js" "$WORK/index.js"
esbuild "$WORK/index.js" --bundle --format=esm --minify --log-level=warning --outfile="$OUT/sio_client.js"
cp "$WORK/wasm/sio_client_bg.wasm" "$OUT/sio_client_bg.wasm"
cp "$ROOT/client-wasm/js/sio_client.d.ts" "$OUT/sio_client.d.ts" 2>/dev/null || true
echo "built $OUT: $(stat -c %s "$OUT/sio_client_bg.wasm") B wasm + $(stat -c %s "$OUT/sio_client.js") B js (raw)" >&2
