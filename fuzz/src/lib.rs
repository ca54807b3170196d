//! Helpers shared by the fuzz targets: a non-validating transaction encoder
//! (for the canonical-encoding checks) and a real consortium chain that the
//! `verify_store` target extends with fuzzed blocks.
//!
//! The consortium mirrors `tests/common/mod.rs` (same deterministic keys,
//! same genesis participants, same registrations in block 1), so blocks
//! written by `tests/fuzz_seeds.rs` from that chain fit on top of block 1
//! here once [`Base::fixup`] has re-bound them to this ledger.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::OnceLock;

use medledger::crypto::hash::Digest;
use medledger::log::block::{Block, BlockHeader};
use medledger::log::merkle::MerkleLog;
use medledger::model::{RecordId, SignedTx, Tx, TxBody};
use medledger::{
    Consent, Genesis, Keypair, Ledger, LedgerId, MemoryStore, NewRecord, Roles, Store,
};

/// Asserts that a decodable transaction re-encodes to exactly its input.
pub fn assert_tx_canonical(data: &[u8]) -> Option<SignedTx> {
    let stx = SignedTx::decode(data).ok()?;
    assert_eq!(
        stx.encode_unchecked(),
        data,
        "decoded transaction re-encodes to other bytes"
    );
    if let Ok(enc) = stx.encode() {
        assert_eq!(enc, data, "SignedTx::encode differs from the decoded input");
    }
    Some(stx)
}

fn kp(n: u8) -> Keypair {
    Keypair::from_seeds(&[n; 32], &[n.wrapping_add(100); 32])
}

/// A real chain: 0 genesis, 1 registrations, 2 three records, 3 a batch,
/// 4 an amendment and a patient's own record.
pub struct Base {
    /// Ledger id.
    pub ledger_id: LedgerId,
    /// Encoded blocks, by height.
    pub blocks: Vec<Vec<u8>>,
    /// Decoded headers, by height.
    pub headers: Vec<BlockHeader>,
    /// Encoded transactions of each block.
    pub txs: Vec<Vec<Vec<u8>>>,
    /// The vault: the ciphertexts of each block's records, by height.
    pub payloads: Vec<Vec<(Digest, Vec<u8>)>>,
    /// admin, validators 0..3, hospital A, hospital B, patient, other patient.
    pub keys: Vec<Keypair>,
    /// The first record (block 2, amended in block 4).
    pub first_record: RecordId,
    /// Every record id on the chain.
    pub record_ids: Vec<RecordId>,
}

impl Base {
    fn build() -> Base {
        let keys: Vec<Keypair> = (1..=8).map(kp).collect();
        let (admin, v, ha, hb, pat, other) = (
            &keys[0],
            &keys[1..4],
            &keys[4],
            &keys[5],
            &keys[6],
            &keys[7],
        );
        let mut founders = vec![admin.participant(Roles::ADMIN, "registration desk")];
        for (i, k) in v.iter().enumerate() {
            founders.push(k.participant(Roles::VALIDATOR, &format!("validator {i}")));
        }
        let genesis = Genesis::new("test consortium", 2, founders).unwrap();
        let store = MemoryStore::new();
        let ledger = Ledger::create(Box::new(store.clone()), genesis, &[&v[0], &v[1]]).unwrap();
        for (k, roles, label) in [
            (ha, Roles::PROVIDER, "hospital A EHR"),
            (hb, Roles::PROVIDER, "hospital B EHR"),
            (pat, Roles::PATIENT, "patient app 1"),
            (other, Roles::PATIENT, "patient app 2"),
        ] {
            ledger.register(admin, k.participant(roles, label)).unwrap();
        }
        // Both patients are treated at both hospitals (as in tests/common).
        let now = ledger.now();
        for p in [pat, other] {
            for h in [ha, hb] {
                let c = Consent::treatment(p.id(), h.id(), now - 1000, now + 365 * 86_400_000);
                ledger.grant(p, &c).unwrap();
            }
        }
        let commit = || ledger.commit_block(&[&v[0], &v[2]]).unwrap();
        commit();
        let rec = |category, payload| NewRecord {
            patient: pat.id(),
            category,
            content_type: "application/fhir+json",
            payload,
        };
        let first = ledger
            .append_record(ha, rec("lab", b"glucose 5.1 mmol/L"))
            .unwrap();
        ledger
            .append_record(hb, rec("imaging", b"chest x-ray: clear"))
            .unwrap();
        ledger.append_record(ha, rec("lab", b"HbA1c 6.2%")).unwrap();
        commit();
        ledger
            .append_batch(
                ha,
                &[
                    rec("note", b"import 0"),
                    rec("note", b"import 1"),
                    rec("lab", b"x"),
                ],
            )
            .unwrap();
        commit();
        ledger
            .amend_record(ha, &first, "application/fhir+json", b"glucose 5.2 mmol/L")
            .unwrap();
        ledger
            .append_record(pat, rec("diary", b"felt fine"))
            .unwrap();
        commit();

        let n = store.block_count().unwrap();
        let mut base = Base {
            ledger_id: ledger.id(),
            blocks: Vec::new(),
            headers: Vec::new(),
            txs: Vec::new(),
            payloads: Vec::new(),
            keys,
            first_record: first,
            record_ids: Vec::new(),
        };
        for h in 0..n {
            let bytes = store.read_block(h).unwrap();
            let d = Block::decode(&bytes).unwrap();
            let mut payloads = Vec::new();
            for t in &d.block.txs {
                if let Ok(stx) = SignedTx::decode(t)
                    && let TxBody::Records(r) = &stx.tx.body
                {
                    for rec in &r.records {
                        base.record_ids.push(rec.id);
                        let ct = store.get_payload(&rec.ciphertext_digest).unwrap().unwrap();
                        payloads.push((rec.ciphertext_digest, ct));
                    }
                }
            }
            base.payloads.push(payloads);
            base.headers.push(d.block.header);
            base.txs.push(d.block.txs);
            base.blocks.push(bytes);
        }
        base
    }

    /// The chain, built once per process.
    pub fn get() -> &'static Base {
        static BASE: OnceLock<Base> = OnceLock::new();
        BASE.get_or_init(Base::build)
    }

    /// A fresh store holding blocks `0..=upto` and their ciphertexts.
    pub fn store(&self, upto: usize) -> MemoryStore {
        let s = MemoryStore::new();
        for (b, p) in self.blocks.iter().zip(&self.payloads).take(upto + 1) {
            s.append_block(b, p).unwrap();
        }
        s
    }

    /// Re-binds a fuzzed `block` so that it extends block `prev` of this
    /// chain, then seals it with two validators: the verifier's header,
    /// Merkle and seal checks then pass and the fuzzed transactions reach
    /// the ledger rules. Each `keep_*` flag leaves one part as fuzzed.
    pub fn fixup(&self, prev: usize, block: &mut Block, flags: u8) {
        let keep_signatures = flags & 0x08 != 0;
        let keep_record_ids = flags & 0x10 != 0;
        let keep_counts = flags & 0x20 != 0;
        let keep_seals = flags & 0x40 != 0;
        let keep_links = flags & 0x80 != 0;
        let ledger = self.ledger_id;
        if !keep_signatures {
            for t in &mut block.txs {
                self.resign(t, keep_record_ids);
            }
        }
        let p = &self.headers[prev];
        let h = &mut block.header;
        h.ledger_id = ledger;
        h.height = p.height + 1;
        h.prev_hash = p.hash();
        if !keep_links {
            h.timestamp = h.timestamp.max(p.timestamp);
            h.validator_set_hash = p.validator_set_hash;
        }
        if !keep_counts {
            h.first_leaf = p.log_size;
            h.tx_count = u32::try_from(block.txs.len()).unwrap_or(u32::MAX);
            h.log_size = h.first_leaf + u64::from(h.tx_count);
            let mut log: MerkleLog = MerkleLog::new();
            for t in self.txs.iter().take(prev + 1).flatten() {
                log.push_leaf_data(t);
            }
            for t in &block.txs {
                log.push_leaf_data(t);
            }
            h.log_root = log.root();
        }
        if !keep_seals {
            // The base chain never changes its validator set: it is the
            // genesis set, members sorted by id.
            let mut vals: Vec<&Keypair> = self.keys[1..4].iter().collect();
            vals.sort_by_key(|k| k.id());
            block.seals = vec![
                h.seal(0, vals[0].signing_key()),
                h.seal(2, vals[2].signing_key()),
            ];
        }
    }

    /// Signs a transaction by a known author for this ledger (patching its
    /// record ids first unless `keep_record_ids`).
    fn resign(&self, t: &mut Vec<u8>, keep_record_ids: bool) {
        let Ok(mut stx) = SignedTx::decode(t) else {
            return;
        };
        let Some(key) = self.keys.iter().find(|k| k.id() == stx.tx.author) else {
            return;
        };
        if !keep_record_ids && let TxBody::Records(r) = &mut stx.tx.body {
            for (i, rec) in r.records.iter_mut().enumerate() {
                let i = u32::try_from(i).unwrap_or(u32::MAX);
                rec.id = RecordId::derive(&self.ledger_id, &stx.tx.author, stx.tx.seq, i);
                // An amendment of a record of another ledger (a seed from
                // tests/fuzz_seeds.rs) amends this chain's first record.
                if let Some(a) = &mut rec.amends
                    && !self.record_ids.contains(a)
                {
                    *a = self.first_record;
                }
            }
        }
        match stx.tx.sign(&self.ledger_id, key.signing_key()) {
            Ok(bytes) => *t = bytes,
            // The validating encoder refuses the body: sign the raw bytes.
            Err(_) => {
                let unsigned = SignedTx::unsigned_part(t).to_vec();
                let sig = key
                    .signing_key()
                    .sign(&Tx::signing_message(&self.ledger_id, &unsigned));
                let n = unsigned.len();
                t.truncate(n);
                t.extend_from_slice(&sig.0);
            }
        }
    }
}
