#!/usr/bin/env bash
# FHIR export test: runs examples/fhir_export.rs into a temporary directory
# and validates every file it writes as FHIR R5 with the fhir.resources
# library (tests/fhir/validate.py), plus the scenario's facts (5 read
# attempts, 1 denied, 1 break-glass read, 2 consents of which 1 revoked).
#
# Installs the pinned validator (tests/fhir/requirements.txt) into a
# virtual environment, target/fhir-venv by default (FHIR_VENV overrides),
# and reinstalls only when the requirements change. Idempotent, runnable
# from any directory; works on a clean clone (needs python3 with venv).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
started=$SECONDS

VENV="${FHIR_VENV:-target/fhir-venv}"
REQS=tests/fhir/requirements.txt
STAMP="$VENV/.requirements.sha256"

step "FHIR validator (fhir.resources, pinned in $REQS)"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV"
fi
want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ] \
    || ! "$VENV/bin/python" -c 'import fhir.resources' 2>/dev/null; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
    echo "$want" >"$STAMP"
fi
"$VENV/bin/python" -m pip show fhir.resources | sed -n 's/^Version: /fhir.resources /p'

step "examples/fhir_export.rs"
out="$(mktemp -d "${TMPDIR:-/tmp}/medledger-fhir.XXXXXX")"
trap 'rm -rf "$out"' EXIT
cargo run --locked --quiet --example fhir_export -- "$out"

step "FHIR R5 validation"
"$VENV/bin/python" tests/fhir/validate.py "$out" \
    --audit-events 5 --denied 1 --break-glass 1 --consents 2 --inactive-consents 1

echo
echo "FHIR export tests passed ($((SECONDS - started)) s)."
