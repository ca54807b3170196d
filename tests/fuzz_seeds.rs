#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Seed corpus for the cargo-fuzz targets in `fuzz/`: real encodings from a
//! real consortium ledger (tests/common). With `MEDLEDGER_WRITE_FUZZ_SEEDS=1`
//! the seeds are written to `fuzz/corpus/<target>/seed-N` (git-ignored;
//! `scripts/fuzz.sh` also copies the small checked-in seeds of
//! `fuzz/seeds/`). Without it the test checks that every seed it would write
//! is what its target expects, so it still asserts something.

mod common;

use common::Consortium;
use medledger::log::block::Block;
use medledger::log::merkle::MerkleLog;
use medledger::model::SignedTx;
use medledger::proof::EvidenceTarget;
use medledger::proof::evidence::verify as verify_evidence;
use medledger::{KdfParams, Keypair, Store, Validator, ValidatorSet, VerifyOptions, verify_store};

/// The chain of tests/tamper.rs plus an amendment: 0 genesis,
/// 1 registrations, 2 three records, 3 a batch, 4 an amendment and a new
/// validator set.
fn chain() -> (Consortium, Vec<Vec<u8>>) {
    let c = Consortium::new();
    let first = c.sample_blocks(3);
    c.ledger
        .amend_record(&c.hospital_a, &first, "text/plain", b"glucose 5.2")
        .unwrap();
    // The same validators, all three required from the next block on.
    let members = c
        .validators
        .iter()
        .map(|v| Validator {
            id: v.id(),
            key: v.public().sign,
        })
        .collect();
    c.ledger
        .set_validators(&c.admin, ValidatorSet::new(3, members).unwrap())
        .unwrap();
    c.commit();
    let n = c.store.block_count().unwrap();
    let blocks = (0..n).map(|h| c.store.read_block(h).unwrap()).collect();
    (c, blocks)
}

/// `index u64 ‖ size u64 ‖ k u8 ‖ k×[32] ‖ root[32] ‖ leaf[32]`, the layout
/// of the verify_proof target.
fn proof_input(
    index: u64,
    size: u64,
    proof: &[[u8; 32]],
    root: [u8; 32],
    leaf: [u8; 32],
) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&index.to_le_bytes());
    v.extend_from_slice(&size.to_le_bytes());
    v.push(u8::try_from(proof.len()).unwrap());
    for p in proof {
        v.extend_from_slice(p);
    }
    v.extend_from_slice(&root);
    v.extend_from_slice(&leaf);
    v
}

/// Every seed, by target.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let (c, blocks) = chain();
    let mut out = Vec::new();
    let decoded: Vec<Block> = blocks
        .iter()
        .map(|b| Block::decode(b).unwrap().block)
        .collect();
    for (b, d) in blocks.iter().zip(&decoded) {
        out.push(("decode_block", b.clone()));
        for t in &d.txs {
            out.push(("decode_tx", t.clone()));
        }
    }
    // verify_store: mode 0 = genesis alone; mode 1 = blocks 0 and 1 split
    // at the right point (a real two-block chain); mode 3 = a later block
    // re-bound on top of block 1 of the fuzz crate's own chain; mode 2 raw.
    let mut m0 = vec![0u8];
    m0.extend_from_slice(&blocks[0]);
    out.push(("verify_store", m0));
    let mut m1 = vec![1u8];
    m1.extend_from_slice(&u16::try_from(blocks[0].len()).unwrap().to_le_bytes());
    m1.extend_from_slice(&blocks[0]);
    m1.extend_from_slice(&blocks[1]);
    out.push(("verify_store", m1));
    for (h, b) in blocks.iter().enumerate().skip(2) {
        for (mode, flags) in [(3u8, 0x00u8), (3, 0x03), (2, 0x00)] {
            let mut v = vec![mode, flags, u8::try_from(h - 1).unwrap()];
            v.extend_from_slice(b);
            out.push(("verify_store", v));
        }
    }
    // verify_proof: a real inclusion proof and a real consistency proof,
    // and the all-zero input.
    let mut log: MerkleLog = MerkleLog::new();
    for i in 0..300u64 {
        log.push_leaf_data(&i.to_le_bytes());
    }
    let incl: Vec<[u8; 32]> = log
        .inclusion_proof(5, 13)
        .unwrap()
        .iter()
        .map(|d| d.0)
        .collect();
    out.push((
        "verify_proof",
        proof_input(
            5,
            12,
            &incl,
            log.root_at(13).unwrap().0,
            log.leaf_hash(5).unwrap().0,
        ),
    ));
    let cons: Vec<[u8; 32]> = log
        .consistency_proof(6, 13)
        .unwrap()
        .iter()
        .map(|d| d.0)
        .collect();
    out.push((
        "verify_proof",
        proof_input(
            6,
            13,
            &cons,
            log.root_at(6).unwrap().0,
            log.root_at(13).unwrap().0,
        ),
    ));
    out.push(("verify_proof", proof_input(0, 0, &[], [0; 32], [0; 32])));
    // verify_evidence: a bundle for every transaction after the genesis,
    // with its first record's ciphertext where it has one.
    let size = c.ledger.head().unwrap().log_size;
    for leaf in 1..size {
        let target = EvidenceTarget::Leaf(leaf);
        let bundle = c
            .ledger
            .evidence(target, true)
            .or_else(|_| c.ledger.evidence(target, false))
            .unwrap();
        out.push(("verify_evidence", bundle));
    }
    // import_key: real key files under "pw" with the cheapest Argon2 cost.
    let cheap = KdfParams {
        m_cost_kib: 8,
        t_cost: 1,
        p_cost: 1,
    };
    for n in [1u8, 5] {
        let kp = Keypair::from_seeds(&[n; 32], &[n + 100; 32]);
        out.push((
            "import_key",
            kp.export_encrypted_with(b"pw", cheap).unwrap(),
        ));
    }
    out
}

/// What each target needs of its seed.
fn check(target: &str, seed: &[u8]) {
    match target {
        "decode_tx" => {
            let t = SignedTx::decode(seed).unwrap();
            assert_eq!(t.encode().unwrap(), seed);
        }
        "decode_block" => {
            assert_eq!(Block::decode(seed).unwrap().block.encode(), seed);
        }
        "verify_store" => match seed[0] {
            0 => assert!(Block::decode(&seed[1..]).is_ok()),
            1 => {
                // The split seed is a real two-block chain: it verifies.
                let at = 3 + usize::from(u16::from_le_bytes([seed[1], seed[2]]));
                let s = medledger::MemoryStore::new();
                s.append_block(&seed[3..at], &[]).unwrap();
                s.append_block(&seed[at..], &[]).unwrap();
                let r = verify_store(&s, &VerifyOptions::default());
                assert!(r.is_ok(), "{r}");
            }
            _ => assert!(Block::decode(&seed[3..]).is_ok()),
        },
        "verify_proof" => assert!(seed.len() >= 17 + 64),
        "verify_evidence" => {
            let r = verify_evidence(seed).unwrap();
            assert!(r.leaf > 0);
        }
        "import_key" => {
            let kp = Keypair::import_encrypted(seed, b"pw").unwrap();
            assert_eq!(&seed[38..70], kp.id().as_bytes());
        }
        other => panic!("unknown target {other}"),
    }
}

#[test]
fn fuzz_seeds_decode_and_are_written_on_request() {
    let seeds = seeds();
    for (target, seed) in &seeds {
        check(target, seed);
    }
    for t in [
        "decode_tx",
        "decode_block",
        "verify_store",
        "verify_proof",
        "import_key",
        "verify_evidence",
    ] {
        assert!(seeds.iter().any(|(x, _)| *x == t), "no seed for {t}");
    }
    if std::env::var("MEDLEDGER_WRITE_FUZZ_SEEDS").as_deref() != Ok("1") {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut n = std::collections::HashMap::<&str, usize>::new();
    for (target, seed) in &seeds {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        let i = n.entry(target).or_default();
        std::fs::write(dir.join(format!("seed-{i}")), seed).unwrap();
        *i += 1;
    }
    eprintln!("wrote {} seeds under {}", seeds.len(), root.display());
}
