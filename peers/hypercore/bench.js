// Hypercore peer harness for scripts/bench.sh: appends the same 1 KiB
// payloads as perf/src/bin/durable.rs (byte j of payload i =
// (i*31 + j*7) % 251) in batches of 1000 (one core.append([...]) call per
// batch), each batch awaited before the next, storage in a fresh temp dir.
// Prints one JSON line: {"peer":"hypercore","records_per_s":...}.
//
// Durability: Hypercore 11 stores through hypercore-storage on RocksDB
// (rocksdb-native). Each append is one RocksDB write batch, issued with the
// binding's default write options (no sync): it is in RocksDB's WAL in the OS
// page cache when append() resolves, so it survives a crash of the process
// but not of the OS or a power loss. It is NOT fsynced per batch, unlike
// medledger's durable store and SQLite with synchronous=FULL.
//
// Usage: node bench.js [--blocks N] [--runs R]
'use strict'
const os = require('os')
const fs = require('fs')
const path = require('path')
const Hypercore = require('hypercore')

const RECORD = 1024
const BLOCK = 1000

function arg (name, dflt) {
  const i = process.argv.indexOf(name)
  return i >= 0 ? Number(process.argv[i + 1]) : dflt
}

function payloads () {
  const out = []
  for (let i = 0; i < BLOCK; i++) {
    const p = Buffer.alloc(RECORD)
    for (let j = 0; j < RECORD; j++) p[j] = (i * 31 + j * 7) % 251
    out.push(p)
  }
  return out
}

async function run (blocks, data) {
  const base = process.env.MEDLEDGER_BENCH_DIR || os.tmpdir()
  const dir = fs.mkdtempSync(path.join(base, 'medledger-peer-hypercore-'))
  const core = new Hypercore(dir)
  await core.ready()
  const t = process.hrtime.bigint()
  for (let b = 0; b < blocks; b++) await core.append(data)
  const secs = Number(process.hrtime.bigint() - t) / 1e9
  if (core.length !== blocks * BLOCK) throw new Error('length ' + core.length)
  await core.close()
  fs.rmSync(dir, { recursive: true, force: true })
  return (blocks * BLOCK) / secs
}

async function main () {
  const blocks = arg('--blocks', 30)
  const runs = arg('--runs', 3)
  const data = payloads()
  const rates = []
  for (let r = 0; r < runs; r++) rates.push(await run(blocks, data))
  rates.sort((a, b) => a - b)
  const version = require('hypercore/package.json').version
  console.log(JSON.stringify({
    peer: 'hypercore',
    version,
    records_per_s: Math.round(rates[Math.floor(rates.length / 2)]),
    runs,
    blocks,
    block: BLOCK,
    record_bytes: RECORD,
    durability: 'RocksDB write batch, default write options (WAL not fsynced per append)'
  }))
}

main().catch((e) => { console.error(e); process.exit(1) })
