//! Four institutions sharing one ledger (3-of-4 validators), for the
//! replication tests (in one process) and the consortium tests (four node
//! processes on 127.0.0.1).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::sync::Arc;

use medledger::log::block::{Block, BlockHeader, Seal};
use medledger::log::merkle::{MerkleHasher, MerkleLog, Sha3Hasher};
use medledger::{Genesis, Keypair, Ledger, Roles};

/// Deterministic keys: an admin, four hospital validators (A..D), a doctor
/// at A, a doctor at B, a patient.
pub struct Keys {
    pub admin: Keypair,
    pub validators: Vec<Arc<Keypair>>,
    pub doc_a: Keypair,
    pub doc_b: Keypair,
    pub patient: Keypair,
}

fn kp(n: u8) -> Keypair {
    Keypair::from_seeds(&[n; 32], &[n.wrapping_add(100); 32])
}

pub fn keys() -> Keys {
    Keys {
        admin: kp(41),
        validators: (42..46).map(|n| Arc::new(kp(n))).collect(),
        doc_a: kp(46),
        doc_b: kp(47),
        patient: kp(48),
    }
}

/// Genesis: the admin and the four validators, threshold 3.
pub fn genesis(k: &Keys) -> Genesis {
    let mut founders = vec![k.admin.participant(Roles::ADMIN, "consortium desk")];
    for (i, v) in k.validators.iter().enumerate() {
        let name = ["A", "B", "C", "D"][i];
        founders.push(v.participant(Roles::VALIDATOR, &format!("hospital {name}")));
    }
    Genesis::new("four hospitals", 3, founders).unwrap()
}

/// A fresh, empty scratch directory.
pub fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("medledger-net-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The Merkle log of a ledger's committed transactions (rebuilt from its
/// shipped blocks), to forge blocks with a correct root.
pub fn log_of(ledger: &Ledger) -> MerkleLog {
    let mut log = MerkleLog::new();
    for s in ledger.export_blocks(0, usize::MAX, usize::MAX).unwrap() {
        for tx in Block::decode(&s.block).unwrap().block.txs {
            log.push(Sha3Hasher::hash_leaf(&tx));
        }
    }
    log
}

/// A block after `ledger`'s head holding `txs`, with a correct log root,
/// sealed by `signers` (indexes into the validator set, ascending).
pub fn forge_block(ledger: &Ledger, txs: Vec<Vec<u8>>, signers: &[(u16, &Keypair)]) -> Block {
    let head = ledger.head().unwrap();
    let mut log = log_of(ledger);
    for t in &txs {
        log.push(Sha3Hasher::hash_leaf(t));
    }
    let header = BlockHeader {
        ledger_id: ledger.id(),
        height: head.height + 1,
        prev_hash: head.hash(),
        timestamp: head.timestamp + 1,
        first_leaf: head.log_size,
        tx_count: u32::try_from(txs.len()).unwrap(),
        log_size: log.size(),
        log_root: log.root(),
        validator_set_hash: head.validator_set_hash,
    };
    let seals: Vec<Seal> = signers
        .iter()
        .map(|(i, k)| header.seal(*i, k.signing_key()))
        .collect();
    Block { header, seals, txs }
}

/// Index of a validator in the (sorted) validator set.
pub fn index_of(ledger: &Ledger, k: &Keypair) -> u16 {
    ledger.validators().unwrap().index_of(&k.id()).unwrap()
}
