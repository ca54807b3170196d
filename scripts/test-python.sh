#!/usr/bin/env bash
# Python binding tests: builds the shared library and the medledger-node
# binary (cargo build --release), installs pytest if it is missing, and runs
# bindings/python/tests against the library just built (the consortium
# tests sync over TCP from a medledger-node process). Idempotent, runnable from any directory.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

# Honour CARGO_TARGET_DIR like cargo does; users and CI get target/.
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

step "library and medledger-node (cargo build --release)"
cargo build --locked --release --lib --bin medledger-node

step "pytest"
if ! python3 -c 'import pytest' 2>/dev/null; then
    python3 -m pip install --quiet pytest
fi

step "Python binding tests"
# Test the library built above, not whatever MEDLEDGER_LIB pointed at.
MEDLEDGER_LIB="$(realpath "$TARGET_DIR/release/libmedledger.so")"
export MEDLEDGER_LIB
MEDLEDGER_NODE="$(realpath "$TARGET_DIR/release/medledger-node")"
export MEDLEDGER_NODE
python3 -m pytest -q -p no:cacheprovider bindings/python/tests

step "examples/python/clinic.py runs"
python3 examples/python/clinic.py >/dev/null

echo
echo "Python binding tests passed."
