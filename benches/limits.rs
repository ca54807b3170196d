//! Quick figures for notes: `cargo bench --bench limits [-- --quick]`.
//!
//! Measures the same matrix as `benches/ledger.rs` with plain
//! [`std::time::Instant`] (median of 5 runs per row, each run on a fresh
//! in-memory ledger) and prints one markdown table:
//! `scenario | records/s | MB/s (payload) | limit records/s | ratio`,
//! the primitive rows first, then exits. Full run: well under 3 minutes on
//! 2 cores; `--quick`: a smoke run of a few seconds.
//!
//! # Definitions
//!
//! - **single-signed append**: `ledger.append_record(author, NewRecord{..})`
//!   once per record (one Ed25519 signature per record); a block is N such
//!   transactions, then `commit_block(&[v0, v1])`.
//! - **batch-signed append**: `ledger.append_batch(author, &records)` with N
//!   records per call (one signature per block), then `commit_block`.
//! - **primitive limit per record** (same payload size), from the crate's
//!   own wrappers measured in the same run on one core: single-signed =
//!   `AeadKey::seal(payload)` + `tagged_hash(payload + 28)` +
//!   `SigningKey::sign` (a 300-byte message, about one single-record
//!   transaction); batch-signed = seal + hash + sign / N. Limit records/s
//!   is the inverse; ratio = measured / limit.
//! - The ledger seals batches of 64 records or more on all cores
//!   (`seal_all` in `src/ledger.rs`), so batch rows with N ≥ 64 (marked †)
//!   may use 2 cores while the limit is the **one-core** limit.
//! - **verification**: `verify_store(&store, &VerifyOptions { batch_signatures,
//!   check_payloads: true, expected_head: None })` over a prebuilt ledger of
//!   single-signed 1 KiB records in blocks of 1000 (20,000 records; 3,000
//!   with `--quick`), so every record has its own transaction signature.
//!   Limit per record = SHA3-256(1 KiB + 28) + Ed25519 batch verify per
//!   signature (`verify_batch_on` 1024 items with one thread), or +
//!   `verify_strict` for the non-batch variant. `verify_batch` splits
//!   batches of 512 items or more into chunks verified on all cores, so the
//!   verification row may use 2 cores while its limit is one core's; the
//!   issue's target is stated against one core's batch verification alone
//!   (verify rate ≥ 1.5 × the one-core `verify_batch` rate).
//!
//! An `(info)` row shows `ed25519_dalek::verify_batch` alone, without the
//! crate's strict-policy R pre-check, to show what that check costs; it
//! is not used in any limit.
//!
//! Targets (issue): batch-signed append ≥ 50 % of its limit; verification
//! with batch signatures ≥ 60 % of its limit and ≥ 1.5 × one core's
//! `verify_batch` rate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{
    AEAD_OVERHEAD, BATCH, BLOCKS, Fixture, Mode, Prims, SIGN_MSG_LEN, SIZES, payload,
    verify_fixture, verify_options,
};
use medledger::crypto::hash::{label, tagged_hash};
use medledger::crypto::sign::{check_public_key, verify_batch, verify_batch_on, verify_strict};
use medledger::verify_store;

/// Records at or above this count are sealed on all cores by the ledger.
const PARALLEL_SEAL_THRESHOLD: usize = 64;
/// Runs per row (the median is reported).
const RUNS: usize = 5;

struct Cfg {
    quick: bool,
    /// Minimum timed work per append run.
    target: Duration,
    /// Minimum timed work per primitive run.
    prim_target: Duration,
    /// Records in the verification ledger.
    verify_records: usize,
}

impl Cfg {
    fn from_args() -> Self {
        let quick = std::env::args().any(|a| a == "--quick");
        if quick {
            Cfg {
                quick,
                target: Duration::from_millis(30),
                prim_target: Duration::from_millis(10),
                verify_records: 3_000,
            }
        } else {
            Cfg {
                quick,
                target: Duration::from_millis(400),
                prim_target: Duration::from_millis(150),
                verify_records: 20_000,
            }
        }
    }
}

fn size_name(len: usize) -> String {
    format!("{} KiB", len / 1024)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

// ---- primitives ---------------------------------------------------------------

/// Nanoseconds per call of `f`: runs it in growing chunks for at least
/// `min`, median of [`RUNS`] such runs.
fn ns_per_call(min: Duration, mut f: impl FnMut()) -> f64 {
    f(); // warm caches
    let runs = (0..RUNS)
        .map(|_| {
            let mut calls = 0u64;
            let mut chunk = 1u64;
            let start = Instant::now();
            loop {
                for _ in 0..chunk {
                    f();
                }
                calls += chunk;
                let el = start.elapsed();
                if el >= min {
                    break el.as_nanos() as f64 / calls as f64;
                }
                chunk = chunk.saturating_mul(2).min(1 << 16);
            }
        })
        .collect();
    median(runs)
}

/// Primitive costs in nanoseconds per operation (one core).
struct Costs {
    aes_1k: f64,
    aes_16k: f64,
    sha3_1k: f64,
    sha3_16k: f64,
    sign: f64,
    strict: f64,
    /// `verify_batch_on(1024 items, 1 thread)`, per signature.
    batch_per_sig: f64,
    /// `verify_batch` (1024 items, all cores), per signature.
    parallel_batch_per_sig: f64,
    /// `ed25519_dalek::verify_batch` alone (no strict-policy pre-checks),
    /// for comparison only.
    raw_batch_per_sig: f64,
}

impl Costs {
    fn measure(cfg: &Cfg) -> Self {
        let p = Prims::new();
        let t = cfg.prim_target;
        let p1 = &p.bufs[&1024];
        let p16 = &p.bufs[&(16 * 1024)];
        let h1 = &p.bufs[&(1024 + AEAD_OVERHEAD)];
        let h16 = &p.bufs[&(16 * 1024 + AEAD_OVERHEAD)];
        let vk = check_public_key(&p.sk.public_key()).unwrap();
        let aes_1k = ns_per_call(t, || {
            black_box(p.aead.seal(b"", black_box(p1)).unwrap());
        });
        let aes_16k = ns_per_call(t, || {
            black_box(p.aead.seal(b"", black_box(p16)).unwrap());
        });
        let sha3_1k = ns_per_call(t, || {
            black_box(tagged_hash(label::CIPHERTEXT, &[black_box(h1)]));
        });
        let sha3_16k = ns_per_call(t, || {
            black_box(tagged_hash(label::CIPHERTEXT, &[black_box(h16)]));
        });
        let sign = ns_per_call(t, || {
            black_box(p.sk.sign(black_box(&p.msg)));
        });
        let strict = ns_per_call(t, || {
            verify_strict(vk.verifying_key(), black_box(&p.msg), &p.sig).unwrap();
        });
        let batch = ns_per_call(t, || {
            let items = p.batch_items(vk);
            verify_batch_on(black_box(&items), 1).unwrap();
        });
        let parallel_batch = ns_per_call(t, || {
            let items = p.batch_items(vk);
            verify_batch(black_box(&items)).unwrap();
        });
        let raw_msgs: Vec<&[u8]> = p.batch_msgs.iter().map(Vec::as_slice).collect();
        let raw_sigs: Vec<ed25519_dalek::Signature> = p
            .batch_sigs
            .iter()
            .map(|s| ed25519_dalek::Signature::from_bytes(&s.0))
            .collect();
        let raw_keys = vec![*vk.verifying_key(); BATCH];
        let raw_batch = ns_per_call(t, || {
            ed25519_dalek::verify_batch(black_box(&raw_msgs), &raw_sigs, &raw_keys).unwrap();
        });
        Costs {
            aes_1k,
            aes_16k,
            sha3_1k,
            sha3_16k,
            sign,
            strict,
            batch_per_sig: batch / BATCH as f64,
            parallel_batch_per_sig: parallel_batch / BATCH as f64,
            raw_batch_per_sig: raw_batch / BATCH as f64,
        }
    }

    fn aes(&self, size: usize) -> f64 {
        if size >= 16 * 1024 {
            self.aes_16k
        } else {
            self.aes_1k
        }
    }

    fn sha3(&self, size: usize) -> f64 {
        if size >= 16 * 1024 {
            self.sha3_16k
        } else {
            self.sha3_1k
        }
    }

    /// One-core limit in records/s for an append scenario.
    fn append_limit(&self, mode: Mode, size: usize, block: usize) -> f64 {
        let sign = match mode {
            Mode::Single => self.sign,
            Mode::Batch => self.sign / block as f64,
        };
        1e9 / (self.aes(size) + self.sha3(size) + sign)
    }

    /// One-core limit in records/s for verification.
    fn verify_limit(&self, batch: bool) -> f64 {
        let sig = if batch {
            self.batch_per_sig
        } else {
            self.strict
        };
        1e9 / (self.sha3_1k + sig)
    }
}

// ---- scenarios ----------------------------------------------------------------

/// Records/s of one append scenario: median of [`RUNS`] runs, each on a
/// fresh ledger, whole blocks until `cfg.target` of timed work.
fn run_append(cfg: &Cfg, mode: Mode, size: usize, block: usize) -> f64 {
    let data = payload(size);
    // Keep the vault of one run below ~100 MB.
    let cap = ((100 << 20) / size).max(block);
    let rates = (0..RUNS)
        .map(|_| {
            let fx = Fixture::new();
            let records = vec![fx.record(&data); block];
            let mut done = 0usize;
            let mut elapsed = Duration::ZERO;
            while done == 0 || (elapsed < cfg.target && done + block <= cap) {
                let t = Instant::now();
                fx.append_block(mode, &records);
                elapsed += t.elapsed();
                done += block;
            }
            done as f64 / elapsed.as_secs_f64()
        })
        .collect();
    median(rates)
}

fn run_verify(fx: &Fixture, batch: bool) -> f64 {
    let opts = verify_options(batch);
    let rates = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            let report = verify_store(&fx.store, black_box(&opts));
            let el = t.elapsed();
            assert!(report.is_ok(), "{report}");
            report.records as f64 / el.as_secs_f64()
        })
        .collect();
    median(rates)
}

// ---- output -------------------------------------------------------------------

struct Row {
    scenario: String,
    rate: f64,
    /// Payload (or hashed/encrypted) bytes per operation, if meaningful.
    bytes: Option<usize>,
    limit: Option<f64>,
}

fn fmt_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2} M", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1} k", r / 1e3)
    } else {
        format!("{r:.0}")
    }
}

fn print_table(rows: &[Row]) {
    println!("| scenario | records/s | MB/s (payload) | limit records/s | ratio |");
    println!("|---|---:|---:|---:|---:|");
    for r in rows {
        let mb = r.bytes.map_or("—".to_owned(), |b| {
            format!("{:.1}", r.rate * b as f64 / 1e6)
        });
        let (limit, ratio) = r.limit.map_or(("—".to_owned(), "—".to_owned()), |l| {
            (fmt_rate(l), format!("{:.0} %", 100.0 * r.rate / l))
        });
        println!(
            "| {} | {} | {mb} | {limit} | {ratio} |",
            r.scenario,
            fmt_rate(r.rate)
        );
    }
}

/// The 1-minute load average (Linux), to flag runs disturbed by other work.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn main() {
    let cfg = Cfg::from_args();
    let load_before = load_average();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    eprintln!(
        "medledger limits ({}), {cores} cores, median of {RUNS} runs per row…",
        if cfg.quick { "quick" } else { "full" }
    );

    let c = Costs::measure(&cfg);
    let mut rows = vec![
        Row {
            scenario: "primitive: AES-256-GCM seal, 1 KiB".into(),
            rate: 1e9 / c.aes_1k,
            bytes: Some(1024),
            limit: None,
        },
        Row {
            scenario: "primitive: AES-256-GCM seal, 16 KiB".into(),
            rate: 1e9 / c.aes_16k,
            bytes: Some(16 * 1024),
            limit: None,
        },
        Row {
            scenario: "primitive: SHA3-256 tagged, 1 KiB + 28".into(),
            rate: 1e9 / c.sha3_1k,
            bytes: Some(1024 + AEAD_OVERHEAD),
            limit: None,
        },
        Row {
            scenario: "primitive: SHA3-256 tagged, 16 KiB + 28".into(),
            rate: 1e9 / c.sha3_16k,
            bytes: Some(16 * 1024 + AEAD_OVERHEAD),
            limit: None,
        },
        Row {
            scenario: format!("primitive: Ed25519 sign ({SIGN_MSG_LEN} B)"),
            rate: 1e9 / c.sign,
            bytes: None,
            limit: None,
        },
        Row {
            scenario: "primitive: Ed25519 verify_strict".into(),
            rate: 1e9 / c.strict,
            bytes: None,
            limit: None,
        },
        Row {
            scenario: format!("primitive: Ed25519 verify_batch ({BATCH}), one core, per signature"),
            rate: 1e9 / c.batch_per_sig,
            bytes: None,
            limit: None,
        },
        Row {
            scenario: format!("Ed25519 verify_batch ({BATCH}), {cores} cores, per signature"),
            rate: 1e9 / c.parallel_batch_per_sig,
            bytes: None,
            limit: Some(1e9 / c.batch_per_sig),
        },
        Row {
            scenario: format!(
                "(info) ed25519_dalek::verify_batch ({BATCH}) without the crate's R pre-check"
            ),
            rate: 1e9 / c.raw_batch_per_sig,
            bytes: None,
            limit: None,
        },
    ];

    let mut checks = Vec::new();
    for mode in [Mode::Single, Mode::Batch] {
        for size in SIZES {
            for block in BLOCKS {
                let rate = run_append(&cfg, mode, size, block);
                let limit = c.append_limit(mode, size, block);
                let multi = mode == Mode::Batch && block >= PARALLEL_SEAL_THRESHOLD;
                let scenario = format!(
                    "append {}-signed, {}, block {block}{}",
                    mode.name(),
                    size_name(size),
                    if multi { " †" } else { "" }
                );
                if mode == Mode::Batch {
                    checks.push((scenario.clone(), rate / limit, 0.5));
                }
                rows.push(Row {
                    scenario,
                    rate,
                    bytes: Some(size),
                    limit: Some(limit),
                });
            }
        }
    }

    let fx = verify_fixture(cfg.verify_records);
    for batch in [true, false] {
        let rate = run_verify(&fx, batch);
        let limit = c.verify_limit(batch);
        let scenario = format!(
            "verify {} records, {} signatures",
            cfg.verify_records,
            if batch { "batch" } else { "strict" }
        );
        if batch {
            checks.push((scenario.clone(), rate / limit, 0.6));
            checks.push((
                format!("{scenario} vs one core's verify_batch"),
                rate * c.batch_per_sig / 1e9,
                1.5,
            ));
        }
        rows.push(Row {
            scenario,
            rate,
            bytes: Some(1024),
            limit: Some(limit),
        });
    }

    print_table(&rows);
    println!();
    println!(
        "Limits are one-core: append = seal + SHA3(payload+28) + sign (÷ N when \
         batch-signed); verify = SHA3(1 KiB+28) + batch or strict verify per signature."
    );
    println!(
        "† the ledger seals batches of ≥ {PARALLEL_SEAL_THRESHOLD} records on all {cores} \
         cores; the ratio is still against the one-core limit."
    );
    println!();
    for (scenario, ratio, target) in checks {
        println!(
            "- target {:.0} % for {scenario}: {:.0} % → {}",
            target * 100.0,
            ratio * 100.0,
            if ratio >= target { "met" } else { "NOT met" }
        );
    }
    println!();
    println!(
        "1-minute load average before / after: {load_before} / {} (this run adds up to \
         {cores}; more means other work shared the cores and the figures are low)",
        load_average()
    );
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
}
