//! Durable append and open-time benchmark, with SQLite measured in the same
//! run on the same data (issue: durable ledger directory).
//!
//! ```sh
//! cargo run --release --manifest-path perf/Cargo.toml --bin durable            # full (1M-record open)
//! cargo run --release --manifest-path perf/Cargo.toml --bin durable -- --quick # smoke
//! ```
//! Prints a markdown table. Every figure is the median of several runs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use medledger::crypto::aead::AeadKey;
use medledger::crypto::hash::{label, tagged_hash};
use medledger::{Genesis, Keypair, Ledger, NewRecord, Roles};

const RECORD: usize = 1024;
const BLOCK: usize = 1000;

struct Setup {
    validators: Vec<Keypair>,
    hospital: Keypair,
    second_hospital: Keypair,
    patients: Vec<Keypair>,
}

fn setup(dir: &Path) -> (Ledger, Setup) {
    let admin = Keypair::generate();
    let validators: Vec<Keypair> = (0..3).map(|_| Keypair::generate()).collect();
    let hospital = Keypair::generate();
    let second_hospital = Keypair::generate();
    let patients: Vec<Keypair> = (0..10).map(|_| Keypair::generate()).collect();
    let mut founders = vec![admin.participant(Roles::ADMIN, "admin")];
    for (i, v) in validators.iter().enumerate() {
        founders.push(v.participant(Roles::VALIDATOR, &format!("v{i}")));
    }
    let genesis = Genesis::new("perf", 2, founders).expect("genesis");
    let ledger =
        Ledger::create_dir(dir, genesis, &[&validators[0], &validators[1]]).expect("create");
    ledger
        .register(&admin, hospital.participant(Roles::PROVIDER, "ehr"))
        .expect("register");
    ledger
        .register(
            &admin,
            second_hospital.participant(Roles::PROVIDER, "ehr 2"),
        )
        .expect("register");
    for p in &patients {
        ledger
            .register(&admin, p.participant(Roles::PATIENT, "app"))
            .expect("register");
    }
    // Each patient is treated at both hospitals (one consent each).
    let now = ledger.now();
    let year = 365 * 24 * 3600 * 1000;
    for p in &patients {
        for h in [&hospital, &second_hospital] {
            ledger
                .grant(
                    p,
                    &medledger::Consent::treatment(p.id(), h.id(), now, now + year),
                )
                .expect("grant");
        }
    }
    let s = Setup {
        validators,
        hospital,
        second_hospital,
        patients,
    };
    s.commit(&ledger);
    (ledger, s)
}

impl Setup {
    /// The records of block `b`, one per payload, the patients taken in turn
    /// from an offset of `b`.
    fn records<'a>(&self, b: usize, data: &'a [Vec<u8>], category: &'a str) -> Vec<NewRecord<'a>> {
        data.iter()
            .enumerate()
            .map(|(i, p)| NewRecord {
                patient: self.patients[(b + i) % self.patients.len()].id(),
                category,
                content_type: "application/octet-stream",
                payload: p,
            })
            .collect()
    }

    /// Seals and commits the pending transactions with two of the validators.
    fn commit(&self, ledger: &Ledger) {
        ledger
            .commit_block(&[&self.validators[0], &self.validators[1]])
            .expect("commit");
    }
}

/// `blocks` blocks of one batch-signed transaction each (the hospital's,
/// category "lab"), each committed before the next.
fn append_batches(ledger: &Ledger, s: &Setup, blocks: usize, data: &[Vec<u8>]) {
    for b in 0..blocks {
        ledger
            .append_batch(&s.hospital, &s.records(b, data, "lab"))
            .expect("append");
        s.commit(ledger);
    }
}

/// Records/s of `records` records written since `t`; then closes `handle`
/// (a ledger or a connection) and removes `dir`.
fn rate_then_clean<T>(records: usize, t: Instant, handle: T, dir: &Path) -> f64 {
    let rate = records as f64 / t.elapsed().as_secs_f64();
    drop(handle);
    let _ = std::fs::remove_dir_all(dir);
    rate
}

fn tmp(name: &str) -> PathBuf {
    let base =
        std::env::var_os("MEDLEDGER_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let d = base.join(format!("medledger-perf-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn payloads(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut p = vec![0u8; RECORD];
            for (j, b) in p.iter_mut().enumerate() {
                *b = ((i * 31 + j * 7) % 251) as u8;
            }
            p
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Batch-signed durable append: `blocks` blocks of BLOCK records. Returns records/s.
fn medledger_batch(blocks: usize, data: &[Vec<u8>]) -> f64 {
    let dir = tmp("batch");
    let (ledger, s) = setup(&dir);
    let t = Instant::now();
    append_batches(&ledger, &s, blocks, data);
    rate_then_clean(blocks * BLOCK, t, ledger, &dir)
}

/// Batch-signed durable append with the commit of block N overlapped with
/// sealing block N+1: a producer thread appends batches, a committer thread
/// commits (the fsync runs outside the ledger lock).
fn medledger_batch_pipelined(blocks: usize, data: &[Vec<u8>]) -> f64 {
    let dir = tmp("pipelined");
    let (ledger, s) = setup(&dir);
    let (tx, rx) = std::sync::mpsc::sync_channel::<()>(2);
    let t = Instant::now();
    std::thread::scope(|scope| {
        let ledger = &ledger;
        let s = &s;
        scope.spawn(move || {
            while rx.recv().is_ok() {
                s.commit(ledger);
            }
        });
        for b in 0..blocks {
            ledger
                .append_batch(&s.hospital, &s.records(b, data, "lab"))
                .expect("append");
            tx.send(()).expect("send");
        }
        drop(tx);
    });
    // Anything the last commit missed.
    if ledger.pending_count().expect("pending") > 0 {
        s.commit(&ledger);
    }
    rate_then_clean(blocks * BLOCK, t, ledger, &dir)
}

/// Two hospitals import at once (one batch of BLOCK/2 records each per
/// block) while a committer thread commits: the serial part of one
/// hospital's append overlaps the other's sealing, and the fsync overlaps
/// both. Each hospital writes its own category, as two EHRs would.
fn medledger_two_hospitals(blocks: usize, data: &[Vec<u8>]) -> f64 {
    let dir = tmp("two");
    let (ledger, s) = setup(&dir);
    let half = data.len() / 2;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let t = Instant::now();
    std::thread::scope(|scope| {
        let (ledger, s, done) = (&ledger, &s, &done);
        for (h, (author, category)) in [(&s.hospital, "lab"), (&s.second_hospital, "imaging")]
            .into_iter()
            .enumerate()
        {
            scope.spawn(move || {
                for b in 0..blocks {
                    let recs = s.records(b, &data[h * half..(h + 1) * half], category);
                    ledger.append_batch(author, &recs).expect("append");
                }
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        scope.spawn(move || {
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst) == 2;
                if ledger.pending_count().expect("pending") > 0 {
                    s.commit(ledger);
                } else if finished {
                    break;
                } else {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        });
    });
    rate_then_clean(blocks * half * 2, t, ledger, &dir)
}

/// Single-signed durable append: BLOCK transactions per block.
fn medledger_single(blocks: usize, data: &[Vec<u8>]) -> f64 {
    let dir = tmp("single");
    let (ledger, s) = setup(&dir);
    let t = Instant::now();
    for b in 0..blocks {
        for r in s.records(b, data, "lab") {
            ledger.append_record(&s.hospital, r).expect("append");
        }
        s.commit(&ledger);
    }
    rate_then_clean(blocks * BLOCK, t, ledger, &dir)
}

/// SQLite, WAL, synchronous=FULL, BLOCK rows per transaction.
fn sqlite(blocks: usize, data: &[Vec<u8>]) -> f64 {
    let dir = tmp("sqlite");
    std::fs::create_dir_all(&dir).expect("dir");
    let conn = rusqlite::Connection::open(dir.join("bench.db")).expect("open");
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE records (id INTEGER PRIMARY KEY, patient INTEGER, body BLOB);",
    )
    .expect("schema");
    let mut conn = conn;
    let t = Instant::now();
    for b in 0..blocks {
        let tx = conn.transaction().expect("tx");
        {
            let mut st = tx
                .prepare_cached("INSERT INTO records (patient, body) VALUES (?1, ?2)")
                .expect("prep");
            for (i, p) in data.iter().enumerate() {
                st.execute(rusqlite::params![((b + i) % 10) as i64, p])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
    rate_then_clean(blocks * BLOCK, t, conn, &dir)
}

/// One core's limit for the per-record crypto of a batch-signed append:
/// data key + AES-256-GCM(1 KiB) + tagged SHA3-256 of the ciphertext.
fn crypto_limit(data: &[Vec<u8>]) -> f64 {
    let key = AeadKey::generate();
    let t = Instant::now();
    let mut n = 0usize;
    while t.elapsed() < Duration::from_millis(400) {
        for p in data {
            let dek = AeadKey::generate();
            let _wrapped = key.seal(b"aad", dek.as_bytes()).expect("wrap");
            let ct = dek.seal(b"aad", p).expect("seal");
            std::hint::black_box(tagged_hash(label::CIPHERTEXT, &[&ct]));
            n += 1;
        }
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// fdatasync of a 1 MiB append, median.
fn fsync_cost() -> Duration {
    use std::io::Write;
    let dir = tmp("fsync");
    std::fs::create_dir_all(&dir).expect("dir");
    let mut f = std::fs::File::create(dir.join("f")).expect("file");
    let buf = vec![7u8; 1 << 20];
    let mut v = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        f.write_all(&buf).expect("write");
        f.sync_data().expect("sync");
        v.push(t.elapsed().as_secs_f64());
    }
    let _ = std::fs::remove_dir_all(&dir);
    Duration::from_secs_f64(median(v))
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Builds a ledger of `records` batch-signed records, then measures open.
fn open_at_scale(records: usize, data: &[Vec<u8>]) -> (f64, f64, u64, f64) {
    let dir = tmp("scale");
    let (ledger, s) = setup(&dir);
    let t = Instant::now();
    append_batches(&ledger, &s, records / BLOCK, data);
    let build = t.elapsed().as_secs_f64();
    drop(ledger);
    let file_len = std::fs::metadata(dir.join("ledger.log"))
        .map(|m| m.len())
        .unwrap_or(0);
    let before = rss_bytes();
    let t = Instant::now();
    let (ledger, report) = Ledger::open_dir(&dir).expect("open");
    let open = t.elapsed().as_secs_f64();
    let after = rss_bytes();
    assert_eq!(report.payloads as usize, records);
    let per_record = after.saturating_sub(before) as f64 / records as f64;
    drop(ledger);
    let _ = std::fs::remove_dir_all(&dir);
    (build, open, file_len, per_record)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    if let Some(only) = std::env::args().skip_while(|a| a != "--only").nth(1) {
        // For profiling one scenario: `--only batch|single|sqlite`.
        let data = payloads(BLOCK);
        let rate = match only.as_str() {
            "batch" => medledger_batch(30, &data),
            "pipelined" => medledger_batch_pipelined(30, &data),
            "two" => medledger_two_hospitals(30, &data),
            "single" => medledger_single(5, &data),
            _ => sqlite(30, &data),
        };
        println!("{only}: {rate:.0} records/s");
        return;
    }
    let (blocks, runs, scale) = if quick {
        (5, 1, 20_000)
    } else {
        (30, 3, 1_000_000)
    };
    let data = payloads(BLOCK);
    let fsync = fsync_cost();
    let limit = crypto_limit(&data);
    let mut batch = Vec::new();
    let mut piped = Vec::new();
    let mut two = Vec::new();
    let mut single = Vec::new();
    let mut sql = Vec::new();
    for _ in 0..runs {
        batch.push(medledger_batch(blocks, &data));
        piped.push(medledger_batch_pipelined(blocks, &data));
        two.push(medledger_two_hospitals(blocks, &data));
        single.push(medledger_single(blocks.min(10), &data));
        sql.push(sqlite(blocks, &data));
    }
    let (batch, piped, single, sql) = (median(batch), median(piped), median(single), median(sql));
    let two = median(two);
    let mb = |r: f64| r * RECORD as f64 / 1e6;
    println!(
        "## Durable append, 1 KiB records, blocks of {BLOCK} (median of {runs} runs, {blocks} blocks each)\n"
    );
    println!("| scenario | records/s | MB/s | vs SQLite | vs one-core crypto limit |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| crypto limit, one core (DEK + AES-256-GCM + SHA3 digest) | {limit:.0} | {:.1} | | 1.00 |",
        mb(limit)
    );
    println!(
        "| medledger batch-signed, durable | {batch:.0} | {:.1} | {:.2}x | {:.2} |",
        mb(batch),
        batch / sql,
        batch / limit
    );
    println!(
        "| medledger batch-signed, durable, commit overlapped with next block | {piped:.0} | {:.1} | {:.2}x | {:.2} |",
        mb(piped),
        piped / sql,
        piped / limit
    );
    println!(
        "| medledger batch-signed, durable, two hospitals importing at once + committer | {two:.0} | {:.1} | {:.2}x | {:.2} |",
        mb(two),
        two / sql,
        two / limit
    );
    println!(
        "| medledger single-signed, durable | {single:.0} | {:.1} | {:.2}x | {:.2} |",
        mb(single),
        single / sql,
        single / limit
    );
    println!(
        "| SQLite WAL synchronous=FULL, {BLOCK} rows/txn | {sql:.0} | {:.1} | 1.00x | |",
        mb(sql)
    );
    println!(
        "\nfdatasync of a 1 MiB append: {:.0} µs (median)",
        fsync.as_secs_f64() * 1e6
    );
    println!(
        "Peers other than SQLite (Hypercore, immudb) run from `scripts/bench.sh` through `peers/`."
    );
    // Machine-readable lines for scripts/bench.sh.
    println!("METRIC durable_crypto_limit {limit:.0}");
    println!("METRIC durable_batch {batch:.0}");
    println!("METRIC durable_pipelined {piped:.0}");
    println!("METRIC durable_two_hospitals {two:.0}");
    println!("METRIC durable_single {single:.0}");
    println!("METRIC durable_sqlite {sql:.0}");
    println!("METRIC fsync_1mib_us {:.0}", fsync.as_secs_f64() * 1e6);
    let (build, open, file_len, per_record) = open_at_scale(scale, &data);
    println!(
        "\n## Open at scale: {scale} records ({} blocks of {BLOCK}), file {:.0} MiB",
        scale / BLOCK,
        file_len as f64 / (1 << 20) as f64
    );
    println!("\n| build (append+commit) | open (scan + replay) | memory per record after open |");
    println!("|---:|---:|---:|");
    println!(
        "| {build:.1} s ({:.0} records/s) | {open:.2} s | {per_record:.0} bytes |",
        scale as f64 / build
    );
    println!("METRIC open_records {scale}");
    println!("METRIC open_build_s {build:.3}");
    println!("METRIC open_s {open:.3}");
    println!("METRIC open_file_bytes {file_len}");
    println!("METRIC open_bytes_per_record {per_record:.1}");
}
