//! Writes a signed checkpoint and Merkle proofs as JSON, for verifiers in
//! other languages (`scripts/test-interop.sh` checks them with Go's
//! `golang.org/x/mod/sumdb/note` and transparency-dev/merkle).
//!
//! Run with `cargo run --example export_checkpoint -- <out.json>`. Builds a
//! small in-memory ledger over several blocks, then writes:
//!
//! * `origin`, `vkey`: the checkpoint origin and the signing validator's
//!   Go verifier key (key name = origin);
//! * `old_note`, `note`: signed checkpoints of an earlier and the last head,
//!   the last one also cosigned by a witness (C2SP cosignature/v1, time
//!   `WITNESS_TIME`), whose vkey is `witness_vkey`;
//! * `leaves`: every transaction (base64) with its inclusion proof in the
//!   last head's tree;
//! * `consistency`: for every earlier size, its root and the consistency
//!   proof to the last head.
//!
//! The proofs come from a Merkle log rebuilt here from the stored blocks,
//! checked against the sealed roots.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use medledger::log::block::Block;
use medledger::log::merkle::MerkleLog;
use medledger::proof::checkpoint::NoteVerifier;
use medledger::{Genesis, Keypair, Ledger, MemoryStore, Roles, Store};
use serde_json::{Value, json};

/// Key name of the example witness.
const WITNESS: &str = "witness.example/medledger-w1";
/// The witness's cosignature time: 2026-01-01T00:00:00Z.
const WITNESS_TIME: u64 = 1_767_225_600;

type DemoResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn kp(n: u8) -> Keypair {
    Keypair::from_seeds(&[n; 32], &[n.wrapping_add(100); 32])
}

fn main() -> DemoResult {
    let out = std::env::args_os()
        .nth(1)
        .ok_or("usage: export_checkpoint <out.json>")?;
    let admin = kp(1);
    let validators = [kp(2), kp(3), kp(4)];
    let mut founders = vec![admin.participant(Roles::ADMIN, "registration desk")];
    for (i, v) in validators.iter().enumerate() {
        founders.push(v.participant(Roles::VALIDATOR, &format!("validator {i}")));
    }
    let store = MemoryStore::new();
    let handle = store.clone();
    let signers: Vec<&Keypair> = validators.iter().take(2).collect();
    let ledger = Ledger::create(
        Box::new(store),
        Genesis::new("interop consortium", 2, founders)?,
        &signers,
    )?;
    // Blocks of 1, 2, 3, … registrations: sizes that are and are not
    // powers of two.
    let signer = &validators[0];
    let origin = ledger.checkpoint_origin();
    let mut old = None;
    let mut n = 10u8;
    for block in 1..=6u8 {
        for _ in 0..block {
            ledger.register(&admin, kp(n).participant(Roles::PATIENT, "patient app"))?;
            n += 1;
        }
        ledger.commit_block(&signers)?;
        if block == 3 {
            // A patient app, like a witness, keeps an earlier head.
            old = Some((ledger.head()?.log_size, ledger.checkpoint(signer, &origin)?));
        }
    }
    let (old_size, old_note) = old.ok_or("no earlier head")?;
    let vkey = NoteVerifier::new(&origin, &signer.public().sign)?.vkey();

    // Rebuild the log from the stored blocks.
    let mut log: MerkleLog = MerkleLog::new();
    let mut leaves = Vec::new();
    for h in 0..handle.block_count()? {
        let block = Block::decode(&handle.read_block(h)?)?.block;
        for tx in &block.txs {
            log.push_leaf_data(tx);
            leaves.push(tx.clone());
        }
        if log.root() != block.header.log_root {
            return Err(format!("rebuilt root differs at height {h}").into());
        }
    }
    let head = ledger.head_checkpoint()?;
    if log.size() != head.size {
        return Err("rebuilt log size differs from the head".into());
    }
    let witness = kp(9);
    let witness_vkey = NoteVerifier::cosigner(WITNESS, &witness.public().sign)?.vkey();
    let note = ledger.checkpoint(signer, &origin)?
        + &head.cosign(WITNESS, witness.signing_key(), WITNESS_TIME)?;

    let b64s = |v: Vec<medledger::crypto::hash::Digest>| -> Vec<String> {
        v.iter().map(|d| B64.encode(d.0)).collect()
    };
    let mut leaf_json = Vec::new();
    for (i, tx) in (0u64..).zip(&leaves) {
        leaf_json.push(json!({
            "index": i,
            "data": B64.encode(tx),
            "proof": b64s(log.inclusion_proof(i, head.size)?),
        }));
    }
    let mut cons_json = Vec::new();
    for m in 1..=head.size {
        cons_json.push(json!({
            "size1": m,
            "root1": B64.encode(log.root_at(m)?.0),
            "proof": b64s(log.consistency_proof(m, head.size)?),
        }));
    }
    let doc: Value = json!({
        "origin": origin,
        "vkey": vkey,
        "witness_vkey": witness_vkey,
        "witness_time": WITNESS_TIME,
        "old_note": old_note,
        "note": note,
        "leaves": leaf_json,
        "consistency": cons_json,
    });
    std::fs::write(&out, serde_json::to_vec_pretty(&doc)?)?;
    println!(
        "wrote {} leaves, size {} → {}",
        leaves.len(),
        old_size,
        head.size
    );
    Ok(())
}
