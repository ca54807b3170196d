//! Audited reads and consent changes: `cargo bench --bench access [-- --quick]`.
//!
//! Like `benches/limits.rs`: plain timers, median of [`RUNS`] runs per
//! row, markdown tables, then exits. Full run: under a minute on 2 idle
//! cores; `--quick`: a smoke run of a few seconds.
//!
//! Every figure is taken twice: wall clock ([`Instant`]) and the on-CPU
//! time of this thread (Linux `CLOCK_THREAD_CPUTIME_ID`), which leaves out
//! the time the thread waited for a core. The timed code runs on this one
//! thread (reads, commits, grants and revokes are single-threaded), so on
//! a shared, loaded machine the on-CPU figures are the usable ones; the
//! ratio is given on both bases (each against the limit measured on the
//! same basis). Cache and SMT interference from other work is in both.
//!
//! # Definitions
//!
//! The consortium: an admin, three validators (2-of-3), providers A (the
//! author), B (the reader) and C (the grantee of part 2), one patient, on a
//! memory store. The patient gives A and B a treating consent (all
//! categories, every action, purpose `TREAT`); A appends 1 KiB records in
//! category `lab`. The node holds two validator keys
//! (`attach_validators`), so every audited read commits its own block.
//!
//! - **audited read, block of 100**: `ledger.read_records(&b, &ids[..100],
//!   Purpose::Treat)` — consent check, access-event transaction (one
//!   Ed25519 signature) accepted and committed in its own block (two seals),
//!   then per record: payload fetched from the vault, SHA3 digest check,
//!   data key unwrapped with B's (cached) category key, payload decrypted.
//!   Over 1,000 committed records, read in rotation.
//! - **audited read, single**: `ledger.read_record(&b, &id, Purpose::Treat)`
//!   one at a time, each committing a block of one event.
//! - **primitive limit per read**, from `aes-gcm`, `sha3` and
//!   `ed25519-dalek` called directly, measured in the same run on one
//!   core: AES-256-GCM key setup + decrypt of the 32-byte data key (80 B
//!   AAD) + key setup + decrypt of 1 KiB (180 B AAD) + SHA3-256 of the
//!   1 KiB + 28 ciphertext; plus, per block of N reads, ÷ N of: one Ed25519
//!   signature over the event transaction's signing message + two seal
//!   signatures + SHA3-256 of the encoded transaction (lengths taken from
//!   the block the ledger actually wrote). Limit reads/s is the inverse;
//!   ratio = measured / limit.
//! - **grant / revoke** with N records in `lab` (a fresh ledger per N): the
//!   patient grants C a read consent scoped to category `lab` (C holds no
//!   key of the current epoch, so the grant wraps it to C once), the block
//!   is committed, then the patient revokes it (the category moves to a
//!   new epoch sealed to the remaining readers: patient, A, B) and the
//!   block is committed. "call" times the API call alone (the transaction
//!   accepted, pending); "+ commit" adds `commit_block`. Median of the
//!   cycles; "tx B" is the size of the grant / revoke transaction. Flat
//!   columns mean cost independent of N (one wrap per category, not per
//!   record).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

#[allow(dead_code)]
mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use ed25519_dalek::Signer;
use sha3::Digest as _;

use common::{AEAD_OVERHEAD, payload};
use medledger::crypto::hash::label;
use medledger::log::block::Block;
use medledger::{
    Actions, Category, Consent, ConsentId, Genesis, Keypair, Ledger, MemoryStore, NewRecord,
    Purpose, Purposes, RecordId, Roles, Scope, Store,
};

/// Runs per row (the median is reported).
const RUNS: usize = 5;
/// Payload size of the records read.
const SIZE: usize = 1024;
/// Records in the ledger the read benchmarks read from.
const READ_POOL: usize = 1000;
/// Reads per `read_records` call.
const READ_BLOCK: usize = 100;
/// AAD lengths of the two decryptions of a read (about those the crate
/// builds: `dek_wrap_aad` and `RecordHeader::payload_aad`).
const DEK_AAD_LEN: usize = 80;
const PAYLOAD_AAD_LEN: usize = 180;
/// A year in ms.
const YEAR_MS: u64 = 365 * 24 * 3600 * 1000;
const CATEGORY: &str = "lab";

struct Cfg {
    quick: bool,
    /// Minimum timed work per read run.
    target: Duration,
    /// Minimum timed work per primitive run.
    prim_target: Duration,
    /// Grant/revoke cycles per N.
    cycles: usize,
    /// Record counts for grant/revoke.
    sizes: Vec<usize>,
}

impl Cfg {
    fn from_args() -> Self {
        let quick = std::env::args().any(|a| a == "--quick");
        if quick {
            Cfg {
                quick,
                target: Duration::from_millis(30),
                prim_target: Duration::from_millis(10),
                cycles: 5,
                sizes: vec![10, 100, 1000],
            }
        } else {
            Cfg {
                quick,
                target: Duration::from_millis(400),
                prim_target: Duration::from_millis(150),
                cycles: 40,
                sizes: vec![10, 100, 1000, 10_000],
            }
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

// ---- consortium -----------------------------------------------------------------

fn kp(n: u8) -> Keypair {
    Keypair::from_seeds(&[n; 32], &[n.wrapping_add(100); 32])
}

fn treating(patient: &Keypair, grantee: &Keypair, now: u64) -> Consent {
    Consent {
        patient: patient.id(),
        grantee: grantee.id(),
        actions: Actions::ALL,
        purposes: Purposes::of(&[Purpose::Treat]),
        scope: Scope {
            all_categories: true,
            ..Scope::default()
        },
        not_before: now.saturating_sub(1000),
        not_after: now + YEAR_MS,
    }
}

/// A read consent for C on category `lab` only.
fn lab_consent(patient: &Keypair, grantee: &Keypair, now: u64) -> Consent {
    Consent {
        patient: patient.id(),
        grantee: grantee.id(),
        actions: Actions::READ,
        purposes: Purposes::of(&[Purpose::Treat]),
        scope: Scope {
            categories: vec![Category::new(CATEGORY).unwrap()],
            ..Scope::default()
        },
        not_before: now.saturating_sub(1000),
        not_after: now + YEAR_MS,
    }
}

struct Fixture {
    validators: Vec<Keypair>,
    author: Keypair,
    reader: Keypair,
    grantee: Keypair,
    patient: Keypair,
    store: MemoryStore,
    ledger: Ledger,
    /// The committed records in `lab`, oldest first.
    ids: Vec<RecordId>,
}

impl Fixture {
    /// The consortium with `records` committed 1 KiB records in `lab`.
    fn new(records: usize) -> Self {
        let admin = kp(1);
        let validators = vec![kp(2), kp(3), kp(4)];
        let author = kp(5);
        let reader = kp(6);
        let grantee = kp(8);
        let patient = kp(7);
        let mut founders = vec![admin.participant(Roles::ADMIN, "registration desk")];
        for (i, v) in validators.iter().enumerate() {
            founders.push(v.participant(Roles::VALIDATOR, &format!("validator {i}")));
        }
        let genesis = Genesis::new("bench consortium", 2, founders).unwrap();
        let store = MemoryStore::new();
        let ledger = Ledger::create(
            Box::new(store.clone()),
            genesis,
            &[&validators[0], &validators[1]],
        )
        .unwrap();
        for (k, roles, name) in [
            (&author, Roles::PROVIDER, "hospital A EHR"),
            (&reader, Roles::PROVIDER, "hospital B EHR"),
            (&grantee, Roles::PROVIDER, "hospital C EHR"),
            (&patient, Roles::PATIENT, "patient app"),
        ] {
            ledger.register(&admin, k.participant(roles, name)).unwrap();
        }
        for h in [&author, &reader] {
            ledger
                .grant(&patient, &treating(&patient, h, ledger.now()))
                .unwrap();
        }
        ledger
            .attach_validators(vec![Arc::new(kp(2)), Arc::new(kp(3))])
            .unwrap();
        let mut fx = Fixture {
            validators,
            author,
            reader,
            grantee,
            patient,
            store,
            ledger,
            ids: Vec::with_capacity(records),
        };
        fx.commit();
        let data = payload(SIZE);
        let mut left = records;
        while left > 0 {
            let n = left.min(1000);
            let recs = vec![
                NewRecord {
                    patient: fx.patient.id(),
                    category: CATEGORY,
                    content_type: "application/fhir+json",
                    payload: &data,
                };
                n
            ];
            let ids = fx.ledger.append_batch(&fx.author, &recs).unwrap();
            fx.ids.extend(ids);
            fx.commit();
            left -= n;
        }
        fx
    }

    fn commit(&self) {
        self.ledger
            .commit_block(&[&self.validators[0], &self.validators[1]])
            .unwrap();
    }

    /// Length of the (only) transaction of the head block.
    fn head_tx_len(&self) -> usize {
        let h = self.ledger.head().unwrap().height;
        let block = Block::decode(&self.store.read_block(h).unwrap())
            .unwrap()
            .block;
        assert_eq!(
            block.txs.len(),
            1,
            "expected one transaction in the head block"
        );
        block.txs[0].len()
    }

    /// One audited read of `ids` (a block), every record checked.
    fn read_block(&self, ids: &[RecordId]) {
        if let [id] = ids {
            let r = self
                .ledger
                .read_record(&self.reader, id, Purpose::Treat)
                .unwrap();
            assert_eq!(black_box(r).plaintext.len(), SIZE);
        } else {
            let out = self
                .ledger
                .read_records(&self.reader, ids, Purpose::Treat)
                .unwrap();
            for r in out {
                assert_eq!(black_box(r.unwrap()).plaintext.len(), SIZE);
            }
        }
    }
}

// ---- timing -------------------------------------------------------------------

/// On-CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[allow(unsafe_code)]
fn thread_cpu() -> Option<Duration> {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live, writable `struct timespec` (two 64-bit
    // fields on 64-bit Linux) and the clock id is a constant of the ABI.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &raw mut ts) };
    (rc == 0).then(|| {
        Duration::new(
            u64::try_from(ts.tv_sec).unwrap_or(0),
            u32::try_from(ts.tv_nsec).unwrap_or(0),
        )
    })
}

/// Elsewhere: no CPU clock; on-CPU figures equal the wall-clock ones.
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn thread_cpu() -> Option<Duration> {
    None
}

/// Nanoseconds on both bases: wall clock and this thread's CPU time.
#[derive(Clone, Copy, Default)]
struct Ns {
    wall: f64,
    cpu: f64,
}

impl Ns {
    fn map(self, f: impl Fn(f64) -> f64) -> Ns {
        Ns {
            wall: f(self.wall),
            cpu: f(self.cpu),
        }
    }

    fn plus(self, o: Ns) -> Ns {
        Ns {
            wall: self.wall + o.wall,
            cpu: self.cpu + o.cpu,
        }
    }

    /// Per-second rate of an operation taking `self`.
    fn rate(self) -> Ns {
        self.map(|ns| 1e9 / ns)
    }
}

/// Wall clock and thread CPU clock, started together.
struct Watch {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Watch {
    fn start() -> Self {
        let cpu = thread_cpu();
        Watch {
            wall: Instant::now(),
            cpu,
        }
    }

    fn wall(&self) -> Duration {
        self.wall.elapsed()
    }

    fn stop(&self) -> Ns {
        let wall = self.wall.elapsed();
        let cpu = match (self.cpu, thread_cpu()) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => wall,
        };
        Ns {
            wall: wall.as_nanos() as f64,
            cpu: cpu.as_nanos() as f64,
        }
    }
}

fn median_ns(v: &[Ns]) -> Ns {
    Ns {
        wall: median(v.iter().map(|x| x.wall).collect()),
        cpu: median(v.iter().map(|x| x.cpu).collect()),
    }
}

// ---- primitives ---------------------------------------------------------------

/// Nanoseconds per call of `f`: runs it in growing chunks for at least
/// `min` of wall time, median of [`RUNS`] such runs (per basis).
fn ns_per_call(min: Duration, mut f: impl FnMut()) -> Ns {
    f(); // warm caches
    let runs: Vec<Ns> = (0..RUNS)
        .map(|_| {
            let mut calls = 0u64;
            let mut chunk = 1u64;
            let w = Watch::start();
            loop {
                for _ in 0..chunk {
                    f();
                }
                calls += chunk;
                if w.wall() >= min {
                    break w.stop().map(|ns| ns / calls as f64);
                }
                chunk = chunk.saturating_mul(2).min(1 << 16);
            }
        })
        .collect();
    median_ns(&runs)
}

/// Bytes of the message a transaction of `tx_len` encoded bytes is signed
/// over (`Tx::signing_message`: label, ledger id, unsigned encoding).
fn tx_signing_len(tx_len: usize) -> usize {
    1 + label::TX.len() + 32 + tx_len - 64
}

/// Bytes of a seal's signing message (label, header hash).
fn seal_msg_len() -> usize {
    1 + label::SEAL.len() + 32
}

/// AES-256-GCM key setup + decryption of a `len`-byte sealed message.
struct Opener {
    key: [u8; 32],
    nonce: [u8; 12],
    aad: Vec<u8>,
    ct: Vec<u8>,
    tag: [u8; 16],
    buf: Vec<u8>,
}

impl Opener {
    fn new(len: usize, aad_len: usize) -> Self {
        let key = [7u8; 32];
        let nonce = [9u8; 12];
        let aad = payload(aad_len);
        let mut ct = payload(len);
        let tag = Aes256Gcm::new(&key.into())
            .encrypt_inout_detached(&Nonce::from(nonce), &aad, ct.as_mut_slice().into())
            .unwrap();
        Opener {
            key,
            nonce,
            aad,
            buf: ct.clone(),
            ct,
            tag: tag.into(),
        }
    }

    fn open(&mut self) {
        self.buf.copy_from_slice(&self.ct);
        Aes256Gcm::new(&black_box(self.key).into())
            .decrypt_inout_detached(
                &Nonce::from(self.nonce),
                &self.aad,
                self.buf.as_mut_slice().into(),
                &Tag::from(self.tag),
            )
            .unwrap();
        black_box(&self.buf);
    }
}

fn sha3_tagged(tag: &str, data: &[u8]) -> [u8; 32] {
    let mut h = sha3::Sha3_256::new();
    h.update([u8::try_from(tag.len()).unwrap()]);
    h.update(tag.as_bytes());
    h.update(data);
    h.finalize().into()
}

/// Primitive costs per operation (one core).
struct Costs {
    unwrap_dek: Ns,
    decrypt_1k: Ns,
    sha3_1k: Ns,
    sign_seal: Ns,
    /// The event transaction of a read block: Ed25519 sign, SHA3.
    sign_tx_block: Ns,
    sha3_tx_block: Ns,
    /// The same for a single read.
    sign_tx_single: Ns,
    sha3_tx_single: Ns,
    /// Sealed box (X25519 ephemeral + HKDF + AES-GCM of a 32-byte key),
    /// the unit of a key share, for the grant/revoke table.
    kex_seal: Ns,
    kex_open: Ns,
}

impl Costs {
    fn measure(cfg: &Cfg, tx_block: usize, tx_single: usize) -> Self {
        let t = cfg.prim_target;
        let sk = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
        let sign = |len: usize| {
            let msg = payload(len);
            ns_per_call(t, || {
                black_box(sk.sign(black_box(&msg)));
            })
        };
        let sha3 = |tag: &str, len: usize| {
            let data = payload(len);
            ns_per_call(t, || {
                black_box(sha3_tagged(tag, black_box(&data)));
            })
        };
        let mut dek = Opener::new(32, DEK_AAD_LEN);
        let unwrap_dek = ns_per_call(t, || dek.open());
        let mut body = Opener::new(SIZE, PAYLOAD_AAD_LEN);
        let decrypt_1k = ns_per_call(t, || body.open());
        let secret = x25519_dalek::StaticSecret::from([3u8; 32]);
        let public = x25519_dalek::PublicKey::from(&secret).to_bytes();
        let ctx = payload(120);
        let sealed = medledger::crypto::kex::seal(&public, &ctx, &[5u8; 32]).unwrap();
        Costs {
            unwrap_dek,
            decrypt_1k,
            sha3_1k: sha3(label::CIPHERTEXT, SIZE + AEAD_OVERHEAD),
            sign_seal: sign(seal_msg_len()),
            sign_tx_block: sign(tx_signing_len(tx_block)),
            // An empty label hashes as the Merkle leaf prefix 0x00 ‖ tx.
            sha3_tx_block: sha3("", tx_block),
            sign_tx_single: sign(tx_signing_len(tx_single)),
            sha3_tx_single: sha3("", tx_single),
            kex_seal: ns_per_call(t, || {
                black_box(medledger::crypto::kex::seal(&public, &ctx, &[5u8; 32]).unwrap());
            }),
            kex_open: ns_per_call(t, || {
                black_box(
                    medledger::crypto::kex::open(&secret, &ctx, black_box(&sealed), "key").unwrap(),
                );
            }),
        }
    }

    /// One-core limit, ns per read, for audited reads in blocks of `block`.
    fn read_limit(&self, block: usize) -> Ns {
        let (sign_tx, sha3_tx) = if block == 1 {
            (self.sign_tx_single, self.sha3_tx_single)
        } else {
            (self.sign_tx_block, self.sha3_tx_block)
        };
        let per_block = sign_tx.plus(self.sign_seal.map(|x| 2.0 * x)).plus(sha3_tx);
        self.unwrap_dek
            .plus(self.decrypt_1k)
            .plus(self.sha3_1k)
            .plus(per_block.map(|x| x / block as f64))
    }
}

// ---- scenarios ----------------------------------------------------------------

/// Time per audited read in blocks of `block`: median of [`RUNS`] runs,
/// each on a fresh ledger, whole blocks until `cfg.target` of wall time.
fn run_reads(cfg: &Cfg, block: usize) -> Ns {
    let runs: Vec<Ns> = (0..RUNS)
        .map(|_| {
            let fx = Fixture::new(READ_POOL);
            // Warm-up: B unwraps (and caches) its category key.
            fx.read_block(&fx.ids[..block]);
            let mut chunks = fx.ids.chunks(block).cycle();
            let mut done = 0usize;
            let w = Watch::start();
            while done == 0 || w.wall() < cfg.target {
                let ids = chunks.next().unwrap();
                fx.read_block(ids);
                done += ids.len();
            }
            w.stop().map(|ns| ns / done as f64)
        })
        .collect();
    median_ns(&runs)
}

/// Length of the event transaction of one read block of `block` records.
fn event_tx_len(block: usize) -> usize {
    let fx = Fixture::new(block);
    fx.read_block(&fx.ids[..block]);
    fx.head_tx_len()
}

/// Median grant/revoke times and tx sizes on a ledger of `n` records.
struct ConsentRow {
    n: usize,
    grant_call: Ns,
    grant_commit: Ns,
    grant_tx: usize,
    revoke_call: Ns,
    revoke_commit: Ns,
    revoke_tx: usize,
}

fn run_consent(cfg: &Cfg, n: usize) -> ConsentRow {
    let fx = Fixture::new(n);
    let (p, c, l) = (&fx.patient, &fx.grantee, &fx.ledger);
    let mut times: [Vec<Ns>; 4] = Default::default();
    let (mut grant_tx, mut revoke_tx) = (0, 0);
    // One untimed cycle first (warm-up and sanity check).
    for cycle in 0..=cfg.cycles {
        let consent = lab_consent(p, c, l.now());
        let w = Watch::start();
        let id: ConsentId = l.grant(p, black_box(&consent)).unwrap();
        let g_call = w.stop();
        fx.commit();
        let g_total = w.stop();
        let g_tx = fx.head_tx_len();
        if cycle == 0 {
            // The grantee can now read: it received the category key.
            let r = l.read_record(c, &fx.ids[0], Purpose::Treat).unwrap();
            assert_eq!(r.plaintext.len(), SIZE);
        }
        let w = Watch::start();
        l.revoke(p, &id).unwrap();
        let r_call = w.stop();
        fx.commit();
        let r_total = w.stop();
        let r_tx = fx.head_tx_len();
        if cycle == 0 {
            continue;
        }
        grant_tx = grant_tx.max(g_tx);
        revoke_tx = revoke_tx.max(r_tx);
        for (v, d) in times.iter_mut().zip([g_call, g_total, r_call, r_total]) {
            v.push(d);
        }
    }
    let [gc, gt, rc, rt] = times.map(|v| median_ns(&v));
    ConsentRow {
        n,
        grant_call: gc,
        grant_commit: gt,
        grant_tx,
        revoke_call: rc,
        revoke_commit: rt,
        revoke_tx,
    }
}

// ---- output -------------------------------------------------------------------

struct Row {
    scenario: String,
    /// Time per operation.
    ns: Ns,
    /// Payload (or decrypted/hashed) bytes per operation, if meaningful.
    bytes: Option<usize>,
    /// Limit, time per operation.
    limit: Option<Ns>,
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
    println!(
        "| scenario | ops/s on-CPU | ops/s wall | MB/s on-CPU | limit ops/s on-CPU | \
         ratio on-CPU | ratio wall |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let rate = r.ns.rate();
        let mb = r.bytes.map_or("—".to_owned(), |b| {
            format!("{:.1}", rate.cpu * b as f64 / 1e6)
        });
        let (limit, ratio_cpu, ratio_wall) = r.limit.map_or(
            ("—".to_owned(), "—".to_owned(), "—".to_owned()),
            |l| {
                (
                    fmt_rate(l.rate().cpu),
                    format!("{:.0} %", 100.0 * l.cpu / r.ns.cpu),
                    format!("{:.0} %", 100.0 * l.wall / r.ns.wall),
                )
            },
        );
        println!(
            "| {} | {} | {} | {mb} | {limit} | {ratio_cpu} | {ratio_wall} |",
            r.scenario,
            fmt_rate(rate.cpu),
            fmt_rate(rate.wall)
        );
    }
}

/// "on-CPU (wall)" in µs.
fn fmt_us(ns: Ns) -> String {
    format!("{:.0} ({:.0})", ns.cpu / 1e3, ns.wall / 1e3)
}

fn print_consent_table(rows: &[ConsentRow]) {
    println!(
        "| records in `lab` | grant call µs | grant + commit µs | grant tx B | revoke call µs \
         | revoke + commit µs | revoke tx B |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.n,
            fmt_us(r.grant_call),
            fmt_us(r.grant_commit),
            r.grant_tx,
            fmt_us(r.revoke_call),
            fmt_us(r.revoke_commit),
            r.revoke_tx
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

fn prim(scenario: &str, ns: Ns, bytes: Option<usize>) -> Row {
    Row {
        scenario: format!("primitive: {scenario}"),
        ns,
        bytes,
        limit: None,
    }
}

fn main() {
    let cfg = Cfg::from_args();
    let load_before = load_average();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    eprintln!(
        "medledger access ({}), {cores} cores, median of {RUNS} runs per row…",
        if cfg.quick { "quick" } else { "full" }
    );
    let cpu_clock = thread_cpu().is_some();

    let tx_block = event_tx_len(READ_BLOCK);
    let tx_single = event_tx_len(1);
    let c = Costs::measure(&cfg, tx_block, tx_single);
    let mut rows = vec![
        prim(
            "AES-256-GCM setup + open, 32 B data key",
            c.unwrap_dek,
            None,
        ),
        prim("AES-256-GCM setup + open, 1 KiB", c.decrypt_1k, Some(SIZE)),
        prim(
            "SHA3-256 tagged, 1 KiB + 28",
            c.sha3_1k,
            Some(SIZE + AEAD_OVERHEAD),
        ),
        prim(
            &format!("Ed25519 sign, seal ({} B)", seal_msg_len()),
            c.sign_seal,
            None,
        ),
        prim(
            &format!(
                "Ed25519 sign, event tx of {READ_BLOCK} reads ({} B)",
                tx_signing_len(tx_block)
            ),
            c.sign_tx_block,
            None,
        ),
        prim(
            &format!("SHA3-256, event tx of {READ_BLOCK} reads ({tx_block} B)"),
            c.sha3_tx_block,
            None,
        ),
        prim(
            &format!(
                "Ed25519 sign, event tx of 1 read ({} B)",
                tx_signing_len(tx_single)
            ),
            c.sign_tx_single,
            None,
        ),
        prim(
            &format!("SHA3-256, event tx of 1 read ({tx_single} B)"),
            c.sha3_tx_single,
            None,
        ),
        prim(
            "(info) sealed box seal, 32 B key (X25519)",
            c.kex_seal,
            None,
        ),
        prim(
            "(info) sealed box open, 32 B key (X25519)",
            c.kex_open,
            None,
        ),
    ];
    let mut ratios = Vec::new();
    for block in [READ_BLOCK, 1] {
        let ns = run_reads(&cfg, block);
        let limit = c.read_limit(block);
        let scenario = if block == 1 {
            "audited read 1 KiB, single (`read_record`, 1 block each)".to_owned()
        } else {
            format!("audited read 1 KiB, blocks of {block} (`read_records`)")
        };
        ratios.push((scenario.clone(), limit.cpu / ns.cpu, limit.wall / ns.wall));
        rows.push(Row {
            scenario,
            ns,
            bytes: Some(SIZE),
            limit: Some(limit),
        });
    }

    let consent_rows: Vec<ConsentRow> = cfg.sizes.iter().map(|&n| run_consent(&cfg, n)).collect();

    print_table(&rows);
    println!();
    println!(
        "Read limit (one core) per read = AES-GCM open of the data key + AES-GCM open of \
         1 KiB + SHA3(1 KiB+28), plus (Ed25519 sign of the event tx + 2 seal signatures + \
         SHA3 of the tx) ÷ reads per block. Not in the limit: the consent decision, vault \
         fetch, transaction encoding, rule checks and Merkle/header hashing of each block."
    );
    println!();
    print_consent_table(&consent_rows);
    println!();
    println!(
        "µs as on-CPU (wall). Grant: C gets the current `lab` key wrapped once (after a \
         revoke the patient first opens the new epoch key: one sealed-box open + one seal, \
         ≈ {:.0} µs on-CPU of X25519 work). Revoke: a new `lab` key sealed to the 3 \
         remaining readers (≈ {:.0} µs). Median of {} cycles per row, fresh ledger per \
         row; each cycle adds one revoked consent.",
        (c.kex_open.cpu + c.kex_seal.cpu) / 1e3,
        3.0 * c.kex_seal.cpu / 1e3,
        cfg.cycles
    );
    if let (Some(first), Some(last)) = (consent_rows.first(), consent_rows.last()) {
        println!(
            "- on-CPU, {} records vs {} records: grant + commit {:.2}×, revoke + commit {:.2}×",
            last.n,
            first.n,
            last.grant_commit.cpu / first.grant_commit.cpu,
            last.revoke_commit.cpu / first.revoke_commit.cpu
        );
    }
    for (scenario, cpu, wall) in ratios {
        println!(
            "- {scenario}: {:.0} % of its limit on-CPU, {:.0} % wall",
            cpu * 100.0,
            wall * 100.0
        );
    }
    println!();
    if !cpu_clock {
        println!("(no thread CPU clock here: the on-CPU figures are wall-clock figures)");
    }
    println!(
        "1-minute load average before / after: {load_before} / {} (this run adds up to 1; \
         more means other work shared the {cores} cores: wall figures are low, on-CPU \
         figures still carry cache/SMT interference)",
        load_average()
    );
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
}
