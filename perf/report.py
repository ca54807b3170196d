#!/usr/bin/env python3
"""Writes scripts/bench.sh's report: one markdown table from the raw outputs.

Usage: report.py LOGS_DIR QUICK(0|1) > report.md

Reads LOGS_DIR/{limits,access,durable,proofs,hypercore,immudb}.out (and
.load / .skip beside them). Every figure is printed next to the limit or
peer measured in the same run, the ratio, the issue's target and whether it
is met. Nothing is invented: a missing input makes its rows "not measured".
"""
import datetime
import json
import math
import os
import re
import subprocess
import sys

LOGS = sys.argv[1]
QUICK = len(sys.argv) > 2 and sys.argv[2] == "1"


def read(name, ext="out"):
    try:
        with open(os.path.join(LOGS, f"{name}.{ext}"), encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def load(name):
    s = read(name, "load")
    return s.split() if s else ["?", "?"]


def skipped(name):
    s = read(name, "skip")
    return s.strip() if s else None


def rate(s):
    """'1.23 M' / '45.6 k' / '789' -> float."""
    s = s.strip()
    m = re.fullmatch(r"([0-9.]+)\s*([kM]?)", s)
    if not m:
        return None
    return float(m.group(1)) * {"": 1, "k": 1e3, "M": 1e6}[m.group(2)]


def table_rows(text):
    """Markdown table rows as lists of cells (header and rule rows dropped)."""
    out = []
    for line in (text or "").splitlines():
        if line.startswith("|") and not line.startswith("|---") and "scenario" not in line:
            out.append([c.strip() for c in line.strip().strip("|").split("|")])
    return out


def metrics(text):
    out = {}
    for line in (text or "").splitlines():
        if line.startswith("METRIC "):
            _, k, v = line.split(None, 2)
            out[k] = float(v)
    return out


def peer(name):
    for line in (read(name) or "").splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    return None


def fr(x):
    if x is None:
        return "not measured"
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k"
    if x >= 10:
        return f"{x:.0f}"
    return f"{x:.2f}"


rows = []  # (section, figure, measured, reference, ratio, target, status, step)


def row(section, figure, measured, reference="", ratio="", target="", status="", step=""):
    rows.append((section, figure, measured, reference, ratio, target, status, step))


def check(ok):
    return "met" if ok else "**NOT met**"


# ---- limits: primitives, in-memory append, verification
limits = {r[0]: r for r in table_rows(read("limits"))}
prim = {}
for name, cells in limits.items():
    if name.startswith("primitive:"):
        prim[name] = rate(cells[1])
        row("primitive limits (one core)", name[len("primitive: "):], fr(prim[name]) + " /s",
            step="limits")


def prim_like(prefix):
    for k, v in prim.items():
        if k.startswith("primitive: " + prefix):
            return v
    return None


sign = prim_like("Ed25519 sign")
batch_verify = prim_like("Ed25519 verify_batch")
for name, cells in limits.items():
    if name.startswith("append"):
        measured, limit = rate(cells[1]), rate(cells[3])
        row("append, in memory", name, fr(measured) + " rec/s",
            f"one-core crypto limit {fr(limit)}", cells[4], step="limits")
        if name.startswith("append single-signed, 1 KiB, block 1000") and sign:
            r = measured / sign
            row("append, in memory", name + " vs Ed25519 sign", fr(measured) + " rec/s",
                f"Ed25519 sign {fr(sign)} /s", f"{100 * r:.0f} %", "≥ 80 % of sign limit",
                check(r >= 0.8), "limits")
    if name.startswith("verify") and "batch" in name:
        measured = rate(cells[1])
        row("full verification", name, fr(measured) + " rec/s",
            f"one-core limit (SHA3 + batch verify) {cells[3]}", cells[4], step="limits")
        if batch_verify:
            r = measured / batch_verify
            row("full verification", name + " vs batch verify", fr(measured) + " rec/s",
                f"Ed25519 verify_batch, one core {fr(batch_verify)} sig/s", f"{r:.2f}×",
                "≥ 1.5× one core's batch-verify limit", check(r >= 1.5), "limits")
    elif name.startswith("verify"):
        row("full verification", name, fr(rate(cells[1])) + " rec/s",
            f"one-core limit {cells[3]}", cells[4], step="limits")
if not limits:
    row("primitive limits (one core)", "cargo bench --bench limits",
        skipped("limits") or "not measured", step="limits")

# ---- access: audited reads
for cells in table_rows(read("access")):
    name = cells[0]
    if name.startswith("audited read"):
        cpu, wall = rate(cells[1]), rate(cells[2])
        row("audited read", name + " (wall)", fr(wall) + " reads/s",
            f"one-core limit {cells[4]}", cells[6], "≥ 50k/s" if "blocks" in name else "",
            check(wall >= 50e3) if "blocks" in name else "", "access")
        row("audited read", name + " (on-CPU)", fr(cpu) + " reads/s",
            f"one-core limit {cells[4]}", cells[5], "≥ 50k/s" if "blocks" in name else "",
            check(cpu >= 50e3) if "blocks" in name else "", "access")
if read("access") is None or skipped("access"):
    row("audited read", "cargo bench --bench access", skipped("access") or "not measured",
        step="access")

# ---- durable append vs SQLite and the peers
d = metrics(read("durable"))
hc, im = peer("hypercore"), peer("immudb")
hc_rate = hc["records_per_s"] if hc else None
im_rate = im["records_per_s"] if im else None
S = "durable append, 1 KiB, blocks of 1000"
if d:
    sql, lim = d.get("durable_sqlite"), d.get("durable_crypto_limit")
    row(S, "one-core crypto limit (DEK + AES-256-GCM + SHA3)", fr(lim) + " rec/s", step="durable")
    row(S, "SQLite WAL synchronous=FULL, 1000 rows/txn (peer)", fr(sql) + " rows/s", step="durable")
    for key, label, batch in [
        ("durable_batch", "medledger batch-signed", True),
        ("durable_pipelined", "medledger batch-signed, commit overlapped (2 threads)", True),
        ("durable_two_hospitals", "medledger batch-signed, two writers + committer", True),
        ("durable_single", "medledger single-signed", False),
    ]:
        v = d.get(key)
        if v is None:
            continue
        row(S, label, fr(v) + " rec/s", f"crypto limit {fr(lim)}", f"{100 * v / lim:.0f} %",
            step="durable")
        row(S, label + " vs SQLite", fr(v) + " rec/s", f"SQLite {fr(sql)}", f"{v / sql:.2f}×",
            "≥ 1.2× SQLite" if batch else "", check(v >= 1.2 * sql) if batch else "", "durable")
        if batch:
            if hc_rate:
                row(S, label + " vs Hypercore", fr(v) + " rec/s", f"Hypercore {fr(hc_rate)}",
                    f"{v / hc_rate:.2f}×", "≥ 2× Hypercore", check(v >= 2 * hc_rate),
                    "durable / hypercore")
            else:
                row(S, label + " vs Hypercore", fr(v) + " rec/s", "Hypercore: " +
                    (skipped("hypercore") or "not measured"), "", "≥ 2× Hypercore",
                    "not measured", "hypercore")
            if im_rate:
                row(S, label + " vs immudb", fr(v) + " rec/s", f"immudb {fr(im_rate)}",
                    f"{v / im_rate:.2f}×", step="durable / immudb")
        elif sign:
            r = v / sign
            row(S, label + " vs Ed25519 sign", fr(v) + " rec/s", f"Ed25519 sign {fr(sign)} /s",
                f"{100 * r:.0f} %", "≥ 80 % of sign limit", check(r >= 0.8), "durable / limits")
    row(S, "fdatasync of a 1 MiB append", f"{d.get('fsync_1mib_us', 0):.0f} µs", step="durable")
else:
    row(S, "perf durable", skipped("durable") or "not measured", step="durable")
for name, p in [("hypercore", hc), ("immudb", im)]:
    if p:
        row(S, f"{name} {p.get('version', '')} (peer), median of {p.get('runs')} × "
            f"{p.get('blocks')} batches; durability: {p.get('durability')}",
            fr(p["records_per_s"]) + " rec/s", step=name)
    else:
        row(S, f"{name} (peer)", skipped(name) or "skipped: no output", step=name)

# ---- open at scale, memory per record
O = "open, memory per record"
if "open_s" in d:
    n = d["open_records"]
    row(O, f"build {n:.0f} records (append + commit, durable)", f"{d['open_build_s']:.1f} s",
        "", f"{n / d['open_build_s']:.0f} rec/s", step="durable")
    if n >= 1e6:
        row(O, f"open {n:.0f} records (scan + replay)", f"{d['open_s']:.2f} s", "", "",
            "< 2 s at 1M", check(d["open_s"] < 2), "durable")
    else:
        ext = d["open_s"] * 1e6 / n
        row(O, f"open {n:.0f} records (scan + replay)", f"{d['open_s']:.3f} s",
            "", f"→ {ext:.2f} s at 1M, linear extrapolation", "< 2 s at 1M",
            "not measured at 1M (--quick)", "durable")
    row(O, f"index memory per record after open ({n:.0f} records, RSS delta)",
        f"{d['open_bytes_per_record']:.0f} B", "", "", "≤ 100 B",
        check(d["open_bytes_per_record"] <= 100), "durable")
    row(O, "ledger file per record", f"{d['open_file_bytes'] / n:.0f} B", "1 KiB payload",
        f"{d['open_file_bytes'] / n / 1024:.2f}×", step="durable")

# ---- proofs
p = metrics(read("proofs"))
P = "Merkle log and proofs"
if p:
    node = p["merkle_node_ns"]
    row(P, "SHA3-256 node hash (limit)", f"{node:.0f} ns", step="proofs")
    row(P, f"Merkle append, amortised over {p['proof_max_leaves']:.0f} leaves",
        f"{p['merkle_push_ns']:.0f} ns", "node hash", f"{p['merkle_push_ns'] / node:.2f}×",
        "O(1) amortised", check(p["merkle_push_ns"] / node < 3), "proofs")
    row(P, "Merkle log memory per leaf", f"{p['merkle_bytes_per_leaf']:.0f} B", "2 × 32 B",
        f"{p['merkle_bytes_per_leaf'] / 64:.2f}×", step="proofs")
    sizes = sorted({int(k.rsplit("_", 1)[1]) for k in p if k.startswith("proof_incl_bytes_")})
    for n in sizes:
        depth = math.ceil(math.log2(n))
        b = p[f"proof_incl_bytes_{n}"]
        row(P, f"inclusion proof size, n = {n}", f"{b:.0f} B", f"⌈log2 n⌉ × 32 = {depth * 32} B",
            f"{b / (depth * 32):.2f}×", "≤ ⌈log2 n⌉ × 32 B", check(b <= depth * 32), "proofs")
        row(P, f"inclusion proof generation, n = {n}", f"{p[f'proof_incl_gen_us_{n}']:.2f} µs",
            step="proofs")
        lim = p[f"proof_incl_verify_limit_us_{n}"]
        v = p[f"proof_incl_verify_us_{n}"]
        row(P, f"inclusion proof verification, n = {n}", f"{v:.2f} µs",
            f"⌈log2 n⌉ node hashes {lim:.2f} µs", f"{lim / v:.2f}×", step="proofs")
        row(P, f"consistency proof ⌊2n/3⌋ → n, n = {n}",
            f"{p[f'proof_cons_bytes_{n}']:.0f} B, gen {p[f'proof_cons_gen_us_{n}']:.2f} µs, "
            f"verify {p[f'proof_cons_verify_us_{n}']:.2f} µs", step="proofs")
else:
    row(P, "perf proofs", skipped("proofs") or "not measured", step="proofs")

# ---- consortium
c = metrics(read("consortium"))
C = "Consortium (4 nodes on 127.0.0.1, 3-of-4, TCP)"
if c:
    lim = c["cons_verify_limit_ms"]
    # Three validators each batch-verify the block's 1000 signatures; the
    # machine's cores share that work.
    per_block = 3 * lim / c["cons_cores"]
    row(C, "blocks of 1000 single-signed 1 KiB appends sealed",
        f"{c['cons_blocks_per_s']:.1f} blocks/s ({c['cons_tx_per_s']:.0f} tx/s)",
        f"3 validators × batch verify 1000 sigs ({lim:.1f} ms) ÷ {c['cons_cores']:.0f} cores "
        f"= {1000 / per_block:.1f} blocks/s",
        f"{c['cons_blocks_per_s'] / (1000 / per_block):.2f}×", step="consortium")
    row(C, "catch-up of a new node (every block verified, stored)",
        f"{c['catchup_tx_per_s']:.0f} tx/s ({c['catchup_tx']:.0f} tx)",
        f"batch verify, one core: {1000 / lim * 1000:.0f} sig/s",
        f"{c['catchup_tx_per_s'] / (1000 / lim * 1000):.2f}×", step="consortium")
else:
    row(C, "perf consortium", skipped("consortium") or "not measured", step="consortium")

# ---- output
try:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
except OSError:
    commit = "?"
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
print(f"# medledger benchmark report ({'--quick' if QUICK else 'full'})\n")
print(f"{now}, commit {commit or '?'}, {os.cpu_count()} cores. Figures from one run on this "
      "machine; on a shared machine they are noisy: compare the load averages below "
      "(a 2-core machine is saturated at 2.0).\n")
print("| step | 1-min load before | after | status |")
print("|---|---:|---:|---|")
for s in ["limits", "access", "durable", "proofs", "consortium", "hypercore", "immudb"]:
    lb, la = load(s)
    print(f"| {s} | {lb} | {la} | {skipped(s) or ('ran' if read(s) else 'not run')} |")
print()
section = None
for sec, fig, meas, ref, ratio, target, status, step in rows:
    if sec != section:
        section = sec
        print(f"\n### {sec}\n")
        print("| figure | measured | limit / peer (same run) | ratio | target | status | step |")
        print("|---|---:|---|---:|---|---|---|")
    print(f"| {fig} | {meas} | {ref} | {ratio} | {target} | {status} | {step} |")
print("\nRatios: measured ÷ limit or peer (× or %); for proof verification, limit time ÷ "
      "measured time. Limits are one-core figures measured in the same run; the ledger may "
      "use both cores (batches of ≥ 64 records are sealed in parallel).")
