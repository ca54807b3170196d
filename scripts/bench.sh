#!/usr/bin/env bash
# The benchmark suite in one command (docs/PERFORMANCE.md explains it):
#
#   scripts/bench.sh [--quick] [--no-peers] [--out FILE]
#
# Runs, in this order, each with the 1-minute load average recorded before it:
#   1. cargo bench --bench limits   primitive limits (AES-256-GCM, SHA3-256,
#                                   Ed25519 sign / verify / batch verify) and
#                                   in-memory append (single/batch-signed,
#                                   1/16 KiB, blocks of 1/100/1000), full verify
#   2. cargo bench --bench access   audited reads (`read_records`) vs their limit
#   3. perf durable                 durable append (medledger vs SQLite WAL +
#                                   synchronous=FULL, same data), open at 1M
#   4. perf proofs                  Merkle append, proof size/generation/verify
#   5. peers/hypercore, peers/immudb  same 1 KiB payloads, batches of 1000;
#                                   installed here idempotently, or reported
#                                   "skipped: <why>", never faked
# and writes one markdown table with every figure, its limit or peer, the
# ratio, the issue's target and met / NOT met: target/bench-report.md
# (or $CARGO_TARGET_DIR/bench-report.md), raw outputs beside it in bench-logs/.
#
# --quick: smoke sizes (a few minutes, 20k-record open instead of 1M).
# The machine is shared: figures are noisy; compare the load averages.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=0
PEERS=1
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --no-peers) PEERS=0 ;;
        --out) OUT=$2; shift ;;
        -h|--help) sed -n 2,22p "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PERF_TARGET=${MEDLEDGER_PERF_TARGET_DIR:-$TARGET/perf}
OUT=${OUT:-$TARGET/bench-report.md}
LOGS=$(dirname "$OUT")/bench-logs
mkdir -p "$LOGS"
rm -f "$LOGS"/*.out "$LOGS"/*.load "$LOGS"/*.skip
QARG=()
[ $QUICK = 1 ] && QARG=(--quick)
if [ $QUICK = 1 ]; then PEER_BLOCKS=5; PEER_RUNS=1; else PEER_BLOCKS=30; PEER_RUNS=3; fi

load() { cut -d' ' -f1 /proc/loadavg; }
step() { echo "== $*" >&2; }

# run NAME CMD...: stdout to $LOGS/NAME.out, load average before/after to NAME.load.
run() {
    local name=$1; shift
    step "$name: $*"
    local before; before=$(load)
    if "$@" > "$LOGS/$name.out" 2> "$LOGS/$name.err"; then
        echo "$before $(load)" > "$LOGS/$name.load"
    else
        echo "$before $(load)" > "$LOGS/$name.load"
        echo "skipped: '$*' failed (see $LOGS/$name.err)" > "$LOGS/$name.skip"
        tail -n 5 "$LOGS/$name.err" >&2
    fi
}

skip() { echo "skipped: $2" > "$LOGS/$1.skip"; echo "$1 skipped: $2" >&2; }

cd "$ROOT" || exit 1
export CARGO_TARGET_DIR=$TARGET
run limits cargo bench --quiet --bench limits -- "${QARG[@]}"
run access cargo bench --quiet --bench access -- "${QARG[@]}"
step "building perf/ (release)"
if CARGO_TARGET_DIR=$PERF_TARGET cargo build --quiet --release \
    --manifest-path perf/Cargo.toml >&2; then
    run durable "$PERF_TARGET/release/durable" "${QARG[@]}"
    run proofs "$PERF_TARGET/release/proofs" "${QARG[@]}"
    run consortium "$PERF_TARGET/release/consortium" "${QARG[@]}"
else
    skip durable "perf/ did not build"
    skip proofs "perf/ did not build"
    skip consortium "perf/ did not build"
fi

if [ $PEERS = 1 ]; then
    # Hypercore: npm `hypercore` pinned in peers/hypercore/package-lock.json.
    HC=$ROOT/peers/hypercore
    if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
        skip hypercore "node/npm not installed"
    elif ! { [ -f "$HC/node_modules/hypercore/package.json" ] && cmp -s "$HC/package-lock.json" "$HC/node_modules/.package-lock.json.installed"; } \
        && ! (cd "$HC" && npm ci --no-audit --no-fund --loglevel=error >&2 \
              && cp package-lock.json node_modules/.package-lock.json.installed); then
        skip hypercore "npm ci of hypercore failed (registry or native build)"
    else
        run hypercore node "$HC/bench.js" --blocks $PEER_BLOCKS --runs $PEER_RUNS
    fi
    # immudb: embedded store from its Go module, versions pinned in go.sum.
    IM=$ROOT/peers/immudb
    if ! command -v go > /dev/null; then
        skip immudb "Go toolchain not installed"
    elif ! (cd "$IM" && go build -o "$PERF_TARGET/immudb-peer" . >&2); then
        skip immudb "go build of the immudb harness failed (module not served or build error)"
    else
        run immudb "$PERF_TARGET/immudb-peer" -blocks $PEER_BLOCKS -runs $PEER_RUNS
    fi
else
    skip hypercore "--no-peers"
    skip immudb "--no-peers"
fi

step "writing $OUT"
command -v python3 > /dev/null || { echo "python3 is needed to write the report; raw outputs are in $LOGS" >&2; exit 1; }
python3 "$ROOT/perf/report.py" "$LOGS" "$QUICK" > "$OUT" || exit 1
cat "$OUT"
echo "report: $OUT" >&2
