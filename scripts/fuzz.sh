#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ on the stable toolchain.
#
#   scripts/fuzz.sh [target ...]        default: every target
#
# Environment:
#   FUZZ_SECONDS=60       time per target (libFuzzer -max_total_time)
#   FUZZ_ASAN=1           build with AddressSanitizer (needs nightly flags:
#                         set RUSTC_BOOTSTRAP=1 for the build); default is
#                         --sanitizer none, which works on stable
#   FUZZ_TARGET_DIR=DIR   cargo target dir (default fuzz/target, git-ignored)
#   FUZZ_GEN_SEEDS=1      also write seeds from a real ledger into the corpus
#                         (cargo test --test fuzz_seeds with
#                         MEDLEDGER_WRITE_FUZZ_SEEDS=1)
#   FUZZ_ARGS="..."       extra libFuzzer arguments
#
# Idempotent: corpus dirs are created if missing, checked-in seeds
# (fuzz/seeds/<target>/) are copied without overwriting, and the corpus
# grows across runs. Crashes land in fuzz/artifacts/<target>/; the script
# runs every target and exits non-zero if any of them failed.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

ALL_TARGETS=(decode_tx decode_block verify_proof verify_store import_key verify_evidence api_model node_wire)
if [[ $# -gt 0 ]]; then
    TARGETS=("$@")
else
    TARGETS=("${ALL_TARGETS[@]}")
fi
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

SANITIZER=(--sanitizer none)
if [[ "${FUZZ_ASAN:-0}" == "1" ]]; then
    # -Zsanitizer=address is a nightly flag; allow it on stable.
    export RUSTC_BOOTSTRAP=1
    SANITIZER=(--sanitizer address)
fi
TARGET_DIR=()
if [[ -n "${FUZZ_TARGET_DIR:-}" ]]; then
    TARGET_DIR=(--target-dir "$FUZZ_TARGET_DIR")
fi

if [[ "${FUZZ_GEN_SEEDS:-0}" == "1" ]]; then
    echo "== writing seeds from a real ledger"
    MEDLEDGER_WRITE_FUZZ_SEEDS=1 cargo test --quiet --test fuzz_seeds
fi

for t in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    if [[ -d "fuzz/seeds/$t" ]]; then
        # -n: never overwrite what the fuzzer has already minimised.
        cp -n "fuzz/seeds/$t"/* "fuzz/corpus/$t/" 2>/dev/null || true
    fi
done

echo "== building ${TARGETS[*]} (${SANITIZER[*]})"
for t in "${TARGETS[@]}"; do
    cargo fuzz build "${SANITIZER[@]}" "${TARGET_DIR[@]}" "$t"
done

failed=()
for t in "${TARGETS[@]}"; do
    echo "== fuzzing $t for ${SECONDS_PER_TARGET}s"
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    if ! cargo fuzz run "${SANITIZER[@]}" "${TARGET_DIR[@]}" "$t" "fuzz/corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=20 -print_final_stats=1 ${FUZZ_ARGS:-}; then
        failed+=("$t")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "== FAILED: ${failed[*]} (inputs in $ROOT/fuzz/artifacts/)" >&2
    exit 1
fi
echo "== all targets ran clean: ${TARGETS[*]}"
