#!/usr/bin/env bash
# Checkpoint interop test: medledger writes a signed C2SP checkpoint with
# inclusion and consistency proofs (examples/export_checkpoint.rs), and
# independent Go code (interop/go: golang.org/x/mod/sumdb/note,
# transparency-dev/formats/log, transparency-dev/merkle over SHA3-256)
# verifies them (and a witness's cosignature/v1 with
# transparency-dev/formats/note), then must REJECT each tampered variant.
# Idempotent; needs the Go module proxy only on the first run (modules are
# then in the Go module cache, and `go build` is offline with
# GOFLAGS=-mod=mod GOPROXY=off).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null 2>&1; then
    echo "test-interop: the go command is required" >&2
    exit 1
fi

target="${CARGO_TARGET_DIR:-target}"
work="$target/interop"
mkdir -p "$work"
work="$(cd "$work" && pwd)"

# Build the Go verifier; use the module cache alone when it has everything.
(
    cd interop/go
    if ! GOPROXY=off GOFLAGS=-mod=readonly go build -o "$work/interop" . 2>/dev/null; then
        GOFLAGS=-mod=readonly go mod download
        GOFLAGS=-mod=readonly go build -o "$work/interop" .
    fi
)

cargo run --quiet --locked --example export_checkpoint -- "$work/export.json"

"$work/interop" verify "$work/export.json"

failed=0
for t in note-size note-root note-sig note-origin cosig cosig-time wrong-key leaf inclusion consistency old-root; do
    if ! "$work/interop" verify "$work/export.json" "$t"; then
        echo "test-interop: tamper case $t was not rejected" >&2
        failed=1
    fi
done
if [ "$failed" -ne 0 ]; then
    exit 1
fi
echo "interop: Go accepted the checkpoint and proofs and rejected 11 tampered variants"
