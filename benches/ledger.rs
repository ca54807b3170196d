//! Criterion benchmarks: `cargo bench --bench ledger [-- --quick] [FILTER]`.
//!
//! Groups: `primitives` (the crypto the ledger is built on), `append`
//! (single/batch × 1 KiB/16 KiB × block 1/100/1000) and `verify` (batch
//! signature verification on/off). After each `append` and `verify`
//! benchmark a line `ratio: …` prints the measured rate against its
//! primitive limit, measured in the same run (by the `primitives` group,
//! or by a short loop when a filter skipped that group). For a compact
//! table for notes use `cargo bench --bench limits`.
//!
//! # Definitions
//!
//! - **single-signed append**: `ledger.append_record(author, NewRecord{..})`
//!   once per record (one Ed25519 signature per record); a block is N such
//!   transactions, then `commit_block(&[v0, v1])`.
//! - **batch-signed append**: `ledger.append_batch(author, &records)` with N
//!   records per call (one signature per block), then `commit_block`.
//! - **primitive limit per record** (same payload size), from the crate's
//!   own wrappers on one core: single-signed = `AeadKey::seal(payload)` +
//!   `tagged_hash(payload + 28)` + `SigningKey::sign` (a 300-byte message,
//!   about one single-record transaction); batch-signed = seal + hash +
//!   sign / N. Limit records/s is the inverse; ratio = measured / limit.
//! - The ledger seals batches of 64 records or more on all cores
//!   (`seal_all` in `src/ledger.rs`); the ratio is always against the
//!   **one-core** limit.
//! - **verification**: `verify_store(&store, &VerifyOptions { batch_signatures,
//!   check_payloads: true, expected_head: None })` over a prebuilt ledger of
//!   20,000 single-signed 1 KiB records in blocks of 1000 (3,000 with
//!   `--quick`), so every record has its own transaction signature. Limit
//!   per record = SHA3-256(1 KiB + 28) + Ed25519 batch verify per signature
//!   (`verify_batch_on` 1024 items with one thread), or + `verify_strict`
//!   without batching.
//!
//! Targets (issue): batch-signed append ≥ 50 % of its limit; verification
//! with batch signatures ≥ 60 % of its limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{
    AEAD_OVERHEAD, BATCH, BLOCKS, Fixture, Mode, Prims, SIZES, payload, verify_fixture,
    verify_options,
};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use medledger::crypto::hash::{label, tagged_hash};
use medledger::crypto::sign::{check_public_key, verify_batch_on, verify_strict};
use medledger::verify_store;

/// Total time and operations of everything a benchmark ran (warm-up
/// included), by benchmark name.
static MEASURED: Mutex<BTreeMap<String, (Duration, u64)>> = Mutex::new(BTreeMap::new());

fn note(name: &str, d: Duration, ops: u64) {
    let mut m = MEASURED.lock().unwrap();
    let e = m.entry(name.to_owned()).or_insert((Duration::ZERO, 0));
    e.0 += d;
    e.1 += ops;
}

/// Mean nanoseconds per operation of a benchmark that ran.
fn mean_ns(name: &str) -> Option<f64> {
    let m = MEASURED.lock().unwrap();
    m.get(name)
        .filter(|(_, ops)| *ops > 0)
        .map(|(d, ops)| d.as_nanos() as f64 / *ops as f64)
}

fn quick() -> bool {
    std::env::args().any(|a| a == "--quick")
}

fn size_name(len: usize) -> String {
    format!("{}KiB", len / 1024)
}

// ---- primitives ---------------------------------------------------------------

#[derive(Clone, Copy)]
enum Prim {
    Aes(usize),
    Sha3(usize),
    Sign,
    Strict,
    Batch,
}

impl Prim {
    const ALL: [Prim; 7] = [
        Prim::Aes(SIZES[0]),
        Prim::Aes(SIZES[1]),
        Prim::Sha3(SIZES[0]),
        Prim::Sha3(SIZES[1]),
        Prim::Sign,
        Prim::Strict,
        Prim::Batch,
    ];

    fn name(self) -> String {
        match self {
            Prim::Aes(n) => format!("aes256gcm_seal/{}", size_name(n)),
            Prim::Sha3(n) => format!("sha3_tagged/{}+28", size_name(n)),
            Prim::Sign => "ed25519_sign".into(),
            Prim::Strict => "ed25519_verify_strict".into(),
            Prim::Batch => format!("ed25519_verify_batch/{BATCH}"),
        }
    }

    fn throughput(self) -> Throughput {
        match self {
            Prim::Aes(n) => Throughput::Bytes(n as u64),
            Prim::Sha3(n) => Throughput::Bytes((n + AEAD_OVERHEAD) as u64),
            Prim::Sign | Prim::Strict => Throughput::Elements(1),
            Prim::Batch => Throughput::Elements(BATCH as u64),
        }
    }

    /// Operations per call (signatures for a batch).
    fn ops(self) -> u64 {
        match self {
            Prim::Batch => BATCH as u64,
            _ => 1,
        }
    }
}

/// Measurement of the primitives from their inputs.
impl Prims {
    /// Runs `calls` calls of `p`; returns the time taken.
    fn run(&self, p: Prim, calls: u64) -> Duration {
        let vk = check_public_key(&self.sk.public_key()).unwrap();
        let start = Instant::now();
        match p {
            Prim::Aes(n) => {
                let buf = &self.bufs[&n];
                for _ in 0..calls {
                    black_box(self.aead.seal(b"", black_box(buf)).unwrap());
                }
            }
            Prim::Sha3(n) => {
                let buf = &self.bufs[&(n + AEAD_OVERHEAD)];
                for _ in 0..calls {
                    black_box(tagged_hash(label::CIPHERTEXT, &[black_box(buf)]));
                }
            }
            Prim::Sign => {
                for _ in 0..calls {
                    black_box(self.sk.sign(black_box(&self.msg)));
                }
            }
            Prim::Strict => {
                for _ in 0..calls {
                    verify_strict(vk.verifying_key(), black_box(&self.msg), &self.sig).unwrap();
                }
            }
            Prim::Batch => {
                for _ in 0..calls {
                    let items = self.batch_items(vk);
                    verify_batch_on(black_box(&items), 1).unwrap();
                }
            }
        }
        start.elapsed()
    }

    /// Nanoseconds per operation: from the `primitives` group of this run
    /// when it ran, else from a short loop now (recorded for later use).
    fn ns(&self, p: Prim) -> f64 {
        let name = p.name();
        if let Some(ns) = mean_ns(&name) {
            return ns;
        }
        let calls = match p {
            Prim::Batch => 4,
            Prim::Strict | Prim::Sign => 2_000,
            Prim::Aes(_) | Prim::Sha3(_) => 5_000,
        };
        let d = self.run(p, calls);
        note(&name, d, calls * p.ops());
        mean_ns(&name).unwrap_or(f64::NAN)
    }

    fn append_limit(&self, mode: Mode, size: usize, block: usize) -> f64 {
        let sign = match mode {
            Mode::Single => self.ns(Prim::Sign),
            Mode::Batch => self.ns(Prim::Sign) / block as f64,
        };
        1e9 / (self.ns(Prim::Aes(size)) + self.ns(Prim::Sha3(size)) + sign)
    }

    fn verify_limit(&self, batch: bool) -> f64 {
        let sig = if batch {
            self.ns(Prim::Batch)
        } else {
            self.ns(Prim::Strict)
        };
        1e9 / (self.ns(Prim::Sha3(1024)) + sig)
    }
}

fn report_ratio(id: &str, limit: impl FnOnce() -> f64, target: Option<f64>) {
    let Some(ns) = mean_ns(id) else {
        return; // filtered out
    };
    let rate = 1e9 / ns;
    let limit = limit();
    let ratio = rate / limit;
    let verdict = target.map_or(String::new(), |t| {
        format!(
            " (target ≥ {:.0} %: {})",
            t * 100.0,
            if ratio >= t { "met" } else { "NOT met" }
        )
    });
    println!(
        "ratio: {id}: {:.1} k records/s vs one-core primitive limit {:.1} k/s = {:.0} %{verdict}",
        rate / 1e3,
        limit / 1e3,
        ratio * 100.0
    );
}

// ---- groups -------------------------------------------------------------------

fn primitives(c: &mut Criterion, prims: &Prims) {
    let mut g = c.benchmark_group("primitives");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for p in Prim::ALL {
        let name = p.name();
        g.throughput(p.throughput());
        g.bench_function(&name, |b| {
            b.iter_custom(|iters| {
                let d = prims.run(p, iters);
                note(&name, d, iters * p.ops());
                d
            });
        });
    }
    g.finish();
}

fn append(c: &mut Criterion, prims: &Prims) {
    let mut g = c.benchmark_group("append");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sampling_mode(SamplingMode::Flat);
    for mode in [Mode::Single, Mode::Batch] {
        for size in SIZES {
            let data = payload(size);
            // Keep one fixture's vault below ~100 MB; start afresh beyond.
            let cap = (100 << 20) / size;
            for block in BLOCKS {
                let id = format!("{}/{}/block{block}", mode.name(), size_name(size));
                let full_id = format!("append/{id}");
                let mut fx = Fixture::new();
                // Records appended to `fx` so far (to bound memory).
                let mut in_fx = 0;
                g.throughput(Throughput::Elements(block as u64));
                g.bench_function(&id, |b| {
                    b.iter_custom(|iters| {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            if in_fx + block > cap {
                                fx = Fixture::new();
                                in_fx = 0;
                            }
                            let records = vec![fx.record(&data); block];
                            let t = Instant::now();
                            fx.append_block(mode, &records);
                            total += t.elapsed();
                            in_fx += block;
                        }
                        note(&full_id, total, iters * block as u64);
                        total
                    });
                });
                let target = (mode == Mode::Batch).then_some(0.5);
                report_ratio(&full_id, || prims.append_limit(mode, size, block), target);
            }
        }
    }
    g.finish();
}

fn verify(c: &mut Criterion, prims: &Prims) {
    let n = if quick() { 3_000 } else { 20_000 };
    let mut fx: Option<Fixture> = None; // built only when a benchmark runs
    let mut g = c.benchmark_group("verify");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(n as u64));
    for batch in [true, false] {
        let id = if batch { "batch_signatures" } else { "strict" };
        let full_id = format!("verify/{id}");
        let opts = verify_options(batch);
        g.bench_function(id, |b| {
            let fx = fx.get_or_insert_with(|| verify_fixture(n));
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    let report = verify_store(&fx.store, black_box(&opts));
                    total += t.elapsed();
                    assert!(report.is_ok(), "{report}");
                    assert_eq!(report.records, n as u64 + 2);
                }
                note(&full_id, total, iters * n as u64);
                total
            });
        });
        report_ratio(&full_id, || prims.verify_limit(batch), batch.then_some(0.6));
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    let prims = Prims::new();
    primitives(c, &prims);
    append(c, &prims);
    verify(c, &prims);
}

criterion_group!(ledger, benches);
criterion_main!(ledger);
