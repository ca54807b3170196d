#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, Rust unit/integration/
# vector/property/crash tests, doc tests, the examples, the C ABI tests
# (header diff, C11/C++17, ASan/UBSan, valgrind) and the Python binding
# tests, and validates the FHIR exports with an independent FHIR library.
# This is the README's test command and what CI runs (.ci/run).
# Idempotent: installs what it needs (rustfmt, clippy, cbindgen, pytest,
# fhir.resources in a venv under target/) if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "toolchain components"
for c in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$c"; then
        rustup component add "$c"
    fi
done

step "format (cargo fmt --check)"
cargo fmt --all -- --check

step "lints (cargo clippy --all-targets -D warnings)"
cargo clippy --all-targets --locked -- -D warnings

step "Rust tests (unit, integration, vectors, properties, crash, doc tests)"
# Benchmarks are compiled by clippy above and run by `cargo bench`, not here.
cargo test --locked

step "examples build"
cargo build --locked --release --examples

step "C ABI tests"
./scripts/test-capi.sh

step "Python binding tests"
./scripts/test-python.sh

step "FHIR exports checked by an independent validator (fhir.resources)"
./scripts/test-fhir.sh

step "checkpoint interop (Go: sumdb/note, transparency-dev formats/merkle)"
./scripts/test-interop.sh

echo
echo "All tests passed."
