#!/usr/bin/env bash
# C API tests: the checked-in header is what the pinned cbindgen generates;
# the header compiles as C11 and C++17; the C tests in tests/capi/ pass
# under AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer
# included); the happy path, hostile, directory, consent and consortium
# tests leak nothing under valgrind; examples/c builds and runs.
#
# Idempotent, runnable from any directory. Installs the pinned cbindgen if
# it is missing. Needs gcc, g++, make and valgrind.
#
#   scripts/test-capi.sh                       run everything
#   scripts/test-capi.sh --regenerate-header   rewrite include/medledger.h
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned: a different cbindgen may format the header differently, and the
# diff test would fail for reasons that are not ABI changes.
CBINDGEN_VERSION=0.29.4
# Honour CARGO_TARGET_DIR like cargo does; users and CI get target/.
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
LIB="$TARGET_DIR/release/libmedledger.a"
# What a Rust static library needs from the C runtime on Linux
# (`cargo rustc --release -- --print native-static-libs`).
NATIVE_LIBS=(-lpthread -ldl -lm -lrt -lutil)
WARN=(-Wall -Wextra -Werror -pedantic)
SANITIZE=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
TESTS=(happy_path hostile threads dir consent consortium)
VALGRIND_TESTS=(happy_path hostile dir consent consortium)

step() { printf '\n== %s\n' "$*"; }

step "cbindgen $CBINDGEN_VERSION"
if [[ "$(cbindgen --version 2>/dev/null || true)" != "cbindgen $CBINDGEN_VERSION" ]]; then
    cargo install cbindgen --version "$CBINDGEN_VERSION" --locked
fi

generate_header() {
    # Only src/ffi/ is parsed, so constants elsewhere in the crate never
    # reach the header (see cbindgen.toml).
    cbindgen --quiet --config cbindgen.toml --output "$1" src/ffi/mod.rs
}

if [[ "${1:-}" == "--regenerate-header" ]]; then
    generate_header include/medledger.h
    echo "include/medledger.h regenerated"
    exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

step "include/medledger.h matches a fresh generation"
generate_header "$work/medledger.h"
if ! diff -u include/medledger.h "$work/medledger.h"; then
    echo "include/medledger.h is stale: run scripts/test-capi.sh --regenerate-header" >&2
    exit 1
fi

step "library (cargo build --release)"
cargo build --locked --release --lib

step "header compiles as C11 (gcc) and C++17 (g++)"
gcc -std=c11 "${WARN[@]}" -Iinclude tests/capi/header_compile.c "$LIB" "${NATIVE_LIBS[@]}" \
    -o "$work/header_c"
g++ -std=c++17 "${WARN[@]}" -Iinclude -x c++ tests/capi/header_compile.c -x none "$LIB" \
    "${NATIVE_LIBS[@]}" -o "$work/header_cpp"
"$work/header_c" >/dev/null
"$work/header_cpp" >/dev/null

step "C tests under AddressSanitizer + UndefinedBehaviorSanitizer"
# The Rust code is not instrumented: ASan checks the C side and the
# library's memcpy/strlen-style calls, and LeakSanitizer checks that every
# handle was freed. Byte-by-byte reads by Rust of C memory (the bounded
# string scan) are checked by the valgrind run below instead.
# No LSan suppressions are needed: thread-local last-error messages are
# freed at thread exit, and the main thread's is still reachable at exit.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
for t in "${TESTS[@]}"; do
    gcc -std=c11 "${WARN[@]}" -g "${SANITIZE[@]}" -Iinclude "tests/capi/$t.c" "$LIB" \
        "${NATIVE_LIBS[@]}" -o "$work/$t-asan"
    "$work/$t-asan"
done
unset ASAN_OPTIONS UBSAN_OPTIONS

step "C tests under valgrind (no sanitizers)"
for t in "${VALGRIND_TESTS[@]}"; do
    gcc -std=c11 "${WARN[@]}" -g -Iinclude "tests/capi/$t.c" "$LIB" "${NATIVE_LIBS[@]}" \
        -o "$work/$t-plain"
    # The one suppression is std's main-thread handle (see the file).
    if ! valgrind --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
        --suppressions=tests/capi/valgrind.supp \
        --error-exitcode=1 --log-file="$work/$t.valgrind" "$work/$t-plain"; then
        cat "$work/$t.valgrind" >&2
        exit 1
    fi
    grep -hE "ERROR SUMMARY|All heap blocks|definitely lost" "$work/$t.valgrind" | sed "s/^==[0-9]*==/  $t:/"
done

step "examples/c builds (static and shared) and runs"
make --no-print-directory -C examples/c OUT="$work" TARGET="$(realpath "$TARGET_DIR")/release" \
    all shared >/dev/null
"$work/hospital" >/dev/null
"$work/hospital-shared" >/dev/null

echo
echo "C API tests passed."
