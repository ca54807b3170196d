//! Fixture shared by the `ledger` and `limits` benches (included by both
//! with `mod common;`; cargo does not build it as a bench of its own): the
//! bench consortium, the append modes, deterministic payloads, the inputs
//! of the primitive measurements and the prebuilt verification ledger.

use std::collections::BTreeMap;
use std::hint::black_box;

use medledger::crypto::aead::AeadKey;
use medledger::crypto::sign::{BatchItem, CheckedKey, Signature, SigningKey};
use medledger::{Genesis, Keypair, Ledger, MemoryStore, NewRecord, Roles, VerifyOptions};

/// Bytes the ciphertext adds to the payload (nonce + tag).
pub const AEAD_OVERHEAD: usize = 28;
/// Length of the message signed in the primitive measurements (about the
/// signing message of a single-record transaction).
pub const SIGN_MSG_LEN: usize = 300;
/// Items per batch verification.
pub const BATCH: usize = 1024;
/// Payload sizes.
pub const SIZES: [usize; 2] = [1024, 16 * 1024];
/// Records per block.
pub const BLOCKS: [usize; 3] = [1, 100, 1000];

// ---- consortium -------------------------------------------------------------

fn kp(n: u8) -> Keypair {
    Keypair::from_seeds(&[n; 32], &[n.wrapping_add(100); 32])
}

/// An admin, three validators (2-of-3), one provider (the author) and one
/// patient on a memory store; the (patient, "lab") key epoch is already open
/// and cached, so timed appends measure the steady state.
pub struct Fixture {
    pub validators: Vec<Keypair>,
    pub author: Keypair,
    pub patient: Keypair,
    pub store: MemoryStore,
    pub ledger: Ledger,
}

const YEAR_MS: u64 = 365 * 24 * 3600 * 1000;

impl Fixture {
    pub fn new() -> Self {
        let admin = kp(1);
        let validators = vec![kp(2), kp(3), kp(4)];
        let author = kp(5);
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
        ledger
            .register(&admin, author.participant(Roles::PROVIDER, "hospital EHR"))
            .unwrap();
        ledger
            .register(&admin, patient.participant(Roles::PATIENT, "patient app"))
            .unwrap();
        let now = ledger.now();
        ledger
            .grant(
                &patient,
                &medledger::Consent::treatment(patient.id(), author.id(), now, now + YEAR_MS),
            )
            .unwrap();
        let fx = Fixture {
            validators,
            author,
            patient,
            store,
            ledger,
        };
        fx.commit();
        // The first record opens the epoch, the second caches its key.
        for _ in 0..2 {
            fx.ledger
                .append_record(&fx.author, fx.record(b"warm-up"))
                .unwrap();
        }
        fx.commit();
        fx
    }

    pub fn record<'a>(&self, payload: &'a [u8]) -> NewRecord<'a> {
        NewRecord {
            patient: self.patient.id(),
            category: "lab",
            content_type: "application/fhir+json",
            payload,
        }
    }

    pub fn commit(&self) {
        self.ledger
            .commit_block(&[&self.validators[0], &self.validators[1]])
            .unwrap();
    }

    /// One block: the records as single-signed or batch-signed
    /// transactions, then commit.
    pub fn append_block(&self, mode: Mode, records: &[NewRecord<'_>]) {
        match mode {
            Mode::Single => {
                for r in records {
                    black_box(self.ledger.append_record(&self.author, *r).unwrap());
                }
            }
            Mode::Batch => {
                black_box(self.ledger.append_batch(&self.author, records).unwrap());
            }
        }
        self.commit();
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Single,
    Batch,
}

impl Mode {
    /// Short name, as in the `ledger` bench ids (`single`, `batch`).
    pub fn name(self) -> &'static str {
        match self {
            Mode::Single => "single",
            Mode::Batch => "batch",
        }
    }
}

pub fn payload(len: usize) -> Vec<u8> {
    // Deterministic filler (xorshift); content does not affect the cost.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

// ---- primitives ---------------------------------------------------------------

/// Inputs for the primitive measurements.
pub struct Prims {
    pub aead: AeadKey,
    pub sk: SigningKey,
    pub msg: Vec<u8>,
    pub sig: Signature,
    pub batch_msgs: Vec<Vec<u8>>,
    pub batch_sigs: Vec<Signature>,
    /// `payload(n)` for every `n` in [`SIZES`] and `n + AEAD_OVERHEAD`.
    pub bufs: BTreeMap<usize, Vec<u8>>,
}

impl Prims {
    pub fn new() -> Self {
        let sk = SigningKey::from_seed(&[42; 32]);
        let msg = payload(SIGN_MSG_LEN);
        let sig = sk.sign(&msg);
        let batch_msgs: Vec<Vec<u8>> = (0..BATCH)
            .map(|i| {
                let mut m = msg.clone();
                m[..8].copy_from_slice(&(i as u64).to_le_bytes());
                m
            })
            .collect();
        let batch_sigs = batch_msgs.iter().map(|m| sk.sign(m)).collect();
        let mut bufs = BTreeMap::new();
        for n in SIZES {
            bufs.insert(n, payload(n));
            bufs.insert(n + AEAD_OVERHEAD, payload(n + AEAD_OVERHEAD));
        }
        Prims {
            aead: AeadKey::generate(),
            sk,
            msg,
            sig,
            batch_msgs,
            batch_sigs,
            bufs,
        }
    }

    /// The [`BATCH`] items of one batch verification, all under `vk`.
    pub fn batch_items(&self, vk: CheckedKey) -> Vec<BatchItem<'_>> {
        self.batch_msgs
            .iter()
            .zip(&self.batch_sigs)
            .map(|(m, s)| BatchItem {
                message: m,
                signature: *s,
                key: vk,
            })
            .collect()
    }
}

// ---- verification -------------------------------------------------------------

/// A ledger of `n` single-signed 1 KiB records in blocks of 1000.
pub fn verify_fixture(n: usize) -> Fixture {
    let fx = Fixture::new();
    let data = payload(1024);
    let rec = fx.record(&data);
    let mut left = n;
    while left > 0 {
        let b = left.min(1000);
        for _ in 0..b {
            fx.ledger.append_record(&fx.author, rec).unwrap();
        }
        fx.commit();
        left -= b;
    }
    fx
}

/// The options of the verification benchmarks: payloads checked, with or
/// without batch signature verification.
pub fn verify_options(batch_signatures: bool) -> VerifyOptions {
    VerifyOptions {
        batch_signatures,
        check_payloads: true,
        expected_head: None,
    }
}
