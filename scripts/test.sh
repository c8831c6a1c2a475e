#!/usr/bin/env bash
# Sets everything up and runs every test: formatting and lints, the Rust unit, property
# and doc tests, then the interop suite (official socket.io-client against our server).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/setup.sh"

step() { echo; echo "=== $* ==="; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (native, all targets)"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "cargo clippy (wasm32: sio-protocol, with and without serde_json)"
cargo clippy -p sio-protocol --target wasm32-unknown-unknown --locked -- -D warnings
cargo clippy -p sio-protocol --all-features --target wasm32-unknown-unknown --locked -- -D warnings

step "rustdoc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --all-features --locked

step "Rust tests (unit, property, doc)"
cargo test --workspace --all-features --locked

step "build the contract and features servers (release)"
cargo build --release --locked -p sio-server --example contract --example features

step "interop: official socket.io-client against the contract and features servers"
(cd tests && SIO_CONTRACT_BIN="$ROOT/target/release/examples/contract" \
  SIO_FEATURES_BIN="$ROOT/target/release/examples/features" npm test)

echo
echo "all test suites passed"
