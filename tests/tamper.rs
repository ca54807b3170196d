//! Tamper tests: change real stored bytes and check that verification
//! reports the right kind of fault at the exact location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::Consortium;
use medledger::log::block::{Block, BlockHeader, HEADER_LEN};
use medledger::log::merkle::MerkleLog;
use medledger::model::tx::{RecordsBody, TxKind};
use medledger::model::{SignedTx, Tx, TxBody};
use medledger::{
    FaultKind, Keypair, Ledger, MemoryStore, Purpose, Report, Roles, Store, VerifyOptions,
    verify_store,
};

/// Offset of the body inside an encoded transaction.
const TX_BODY: usize = 56;

/// A ledger with: block 1 = registrations, block 2 = three single records
/// (A, B, A), block 3 = a batch of 5 records by A.
fn setup() -> Consortium {
    let c = Consortium::new();
    c.sample_blocks(5);
    assert!(verify(&c).is_ok());
    c
}

fn verify(c: &Consortium) -> Report {
    verify_store(&c.store, &VerifyOptions::default())
}

fn decoded(c: &Consortium, h: u64) -> (Block, Vec<usize>) {
    let d = Block::decode(&c.store.read_block(h).unwrap()).unwrap();
    (d.block, d.tx_offsets)
}

fn replace_block(c: &Consortium, h: u64, b: &Block) {
    let bytes = b.encode();
    assert!(c.store.tamper_block(h, |old| *old = bytes));
}

/// Asserts the report's first fault.
fn assert_fault(r: &Report, kind: FaultKind, height: u64, tx: Option<u32>, field: &str) {
    let f = r
        .fault
        .as_ref()
        .unwrap_or_else(|| panic!("expected {kind:?}, verification passed"));
    assert_eq!(f.kind, kind, "{f}");
    assert_eq!(f.location.height, height, "{f}");
    assert_eq!(f.location.tx_index, tx, "{f}");
    assert_eq!(f.location.field, field, "{f}");
}

#[test]
fn flipped_byte_in_transaction_body_is_a_bad_signature_at_that_tx() {
    let c = setup();
    let (block, offsets) = decoded(&c, 2);
    // A byte of the record's ciphertext digest: still decodes, so only the
    // signature can tell.
    let at = offsets[1] + block.txs[1].len() - 64 - 10;
    assert!(at > offsets[1] + TX_BODY);
    assert!(c.store.tamper_block(2, |b| b[at] ^= 0x01));
    let r = verify(&c);
    assert_fault(&r, FaultKind::BadSignature, 2, Some(1), "tx.signature");
    // Blocks before the damage were verified and counted.
    assert_eq!(r.blocks, 2);
    // Same verdict without the batch path.
    let strict = verify_store(
        &c.store,
        &VerifyOptions {
            batch_signatures: false,
            ..Default::default()
        },
    );
    assert_eq!(strict.fault, r.fault);
}

#[test]
fn flipped_signature_byte_is_located() {
    let c = setup();
    let raw = c.store.read_block(3).unwrap();
    let last = raw.len() - 1; // last byte of the last (only) transaction's signature
    assert!(c.store.tamper_block(3, |b| b[last] ^= 0x80));
    assert_fault(
        &verify(&c),
        FaultKind::BadSignature,
        3,
        Some(0),
        "tx.signature",
    );
}

#[test]
fn header_fields_are_named() {
    // (offset in header, field reported, kind)
    let cases: [(usize, &str, FaultKind); 6] = [
        (2, "header.ledger_id", FaultKind::WrongLedger),
        (34, "header.height", FaultKind::Reordered),
        (42, "header.prev_hash", FaultKind::BrokenLink),
        (82, "header.first_leaf", FaultKind::BrokenLink),
        (102, "header.log_root", FaultKind::HashMismatch),
        (134, "header.validator_set_hash", FaultKind::HashMismatch),
    ];
    for (off, field, kind) in cases {
        let c = setup();
        assert!(c.store.tamper_block(2, |b| b[off] ^= 0x04));
        assert_fault(&verify(&c), kind, 2, None, field);
    }
    // A later timestamp is only caught by the seals: the header is not the
    // one the validators signed.
    let c = setup();
    // Byte 6 of the timestamp: later by 2^48 ms, so still monotonic.
    assert!(c.store.tamper_block(2, |b| b[74 + 6] ^= 0x01));
    assert_fault(&verify(&c), FaultKind::HashMismatch, 2, None, "header");
    // tx_count no longer matches log_size.
    let c = setup();
    assert!(c.store.tamper_block(2, |b| b[90] ^= 0x01));
    assert_fault(
        &verify(&c),
        FaultKind::Malformed,
        2,
        None,
        "header.log_size",
    );
    // The header is exactly HEADER_LEN bytes; the seal count follows.
    assert_eq!(HEADER_LEN, 166);
}

#[test]
fn swapped_transactions_of_one_author_are_reordered_at_the_first() {
    let c = setup();
    let (mut b, _) = decoded(&c, 2);
    // txs 0 and 2 are both by hospital A (seq n and n+1).
    b.txs.swap(0, 2);
    replace_block(&c, 2, &b);
    assert_fault(&verify(&c), FaultKind::Reordered, 2, Some(0), "tx.seq");
}

#[test]
fn swapped_transactions_of_different_authors_break_the_log_root() {
    let c = setup();
    let (mut b, _) = decoded(&c, 2);
    b.txs.swap(0, 1);
    replace_block(&c, 2, &b);
    assert_fault(
        &verify(&c),
        FaultKind::HashMismatch,
        2,
        None,
        "header.log_root",
    );
}

#[test]
fn removed_transaction_is_truncation_at_its_index() {
    let c = setup();
    let (mut b, _) = decoded(&c, 2);
    b.txs.pop();
    replace_block(&c, 2, &b);
    assert_fault(&verify(&c), FaultKind::Truncated, 2, Some(2), "block.txs");
}

#[test]
fn cut_block_bytes_are_truncation_with_offset() {
    let c = setup();
    let len = c.store.read_block(2).unwrap().len();
    assert!(c.store.tamper_block(2, |b| b.truncate(len - 10)));
    let r = verify(&c);
    let f = r.fault.unwrap();
    assert_eq!(f.kind, FaultKind::Truncated);
    assert_eq!(f.location.height, 2);
    assert!(f.location.offset.unwrap() <= len as u64);
    // Garbage appended is malformed (trailing bytes), not ignored.
    let c = setup();
    assert!(c.store.tamper_block(1, |b| b.push(0)));
    assert_fault(&verify(&c), FaultKind::Malformed, 1, None, "block");
}

#[test]
fn swapped_and_missing_blocks_are_located() {
    let c = setup();
    c.store.swap_blocks(2, 3);
    assert_fault(&verify(&c), FaultKind::Reordered, 2, None, "header.height");

    let c = setup();
    let head = c.ledger.head().unwrap();
    c.store.truncate_blocks(3);
    // Without a trusted head, a shorter chain is a valid prefix...
    assert!(verify(&c).is_ok());
    // ...with one, it is truncation at the first missing height.
    let opts = VerifyOptions {
        expected_head: Some((head.height, head.hash())),
        ..Default::default()
    };
    assert_fault(
        &verify_store(&c.store, &opts),
        FaultKind::Truncated,
        3,
        None,
        "chain",
    );
}

#[test]
fn seals_missing_or_forged() {
    let c = setup();
    let (mut b, _) = decoded(&c, 2);
    b.seals.truncate(1);
    replace_block(&c, 2, &b);
    assert_fault(
        &verify(&c),
        FaultKind::MissingQuorum,
        2,
        None,
        "block.seals",
    );

    let c = setup();
    let (mut b, _) = decoded(&c, 2);
    b.seals[1].signature.0[5] ^= 1;
    replace_block(&c, 2, &b);
    assert_fault(&verify(&c), FaultKind::BadSignature, 2, None, "block.seals");

    // A seal by a non-validator index.
    let c = setup();
    let (mut b, _) = decoded(&c, 2);
    b.seals[1].validator = 9;
    replace_block(&c, 2, &b);
    assert_fault(&verify(&c), FaultKind::Malformed, 2, None, "block.seals");
}

#[test]
fn payload_missing_or_tampered_names_the_record() {
    let c = setup();
    let (b, _) = decoded(&c, 3);
    let stx = SignedTx::decode(&b.txs[0]).unwrap();
    let TxBody::Records(body) = stx.tx.body else {
        panic!()
    };
    let digest = body.records[3].ciphertext_digest;
    assert!(c.store.tamper_payload(&digest, |p| p[20] ^= 0x01));
    let r = verify(&c);
    assert_fault(
        &r,
        FaultKind::PayloadTampered,
        3,
        Some(0),
        "record.ciphertext_digest",
    );
    assert_eq!(r.fault.as_ref().unwrap().location.record_index, Some(3));
    // Reading it fails closed, naming the digest mismatch.
    assert!(
        c.ledger
            .read_record(&c.patient, &body.records[3].id, Purpose::Treat)
            .is_err()
    );

    c.store.remove_payload(&digest);
    let r = verify(&c);
    assert_fault(
        &r,
        FaultKind::PayloadMissing,
        3,
        Some(0),
        "record.ciphertext_digest",
    );
    assert_eq!(r.fault.unwrap().location.record_index, Some(3));
}

/// Builds and stores a block over `txs`, sealed by two real validators: a
/// malicious quorum. Verification must still replay the rules.
fn append_forged_block(c: &Consortium, txs: Vec<Vec<u8>>) {
    let n = c.store.block_count().unwrap();
    let mut log: MerkleLog = MerkleLog::new();
    let mut prev = None;
    for h in 0..n {
        let d = Block::decode(&c.store.read_block(h).unwrap()).unwrap();
        for t in &d.block.txs {
            log.push_leaf_data(t);
        }
        prev = Some(d.block.header);
    }
    let prev = prev.unwrap();
    for t in &txs {
        log.push_leaf_data(t);
    }
    let set = c.ledger.validators().unwrap();
    let header = BlockHeader {
        ledger_id: c.ledger.id(),
        height: n,
        prev_hash: prev.hash(),
        timestamp: prev.timestamp + 1,
        first_leaf: prev.log_size,
        tx_count: u32::try_from(txs.len()).unwrap(),
        log_size: log.size(),
        log_root: log.root(),
        validator_set_hash: set.hash(),
    };
    let mut seals: Vec<_> = [&c.validators[0], &c.validators[1]]
        .iter()
        .map(|v| header.seal(set.index_of(&v.id()).unwrap(), v.signing_key()))
        .collect();
    seals.sort_by_key(|s| s.validator);
    let block = Block { header, seals, txs };
    let store = c.store.clone();
    store.append_block(&block.encode(), &[]).unwrap();
}

#[test]
fn replayed_transaction_in_a_sealed_block_is_reported() {
    let c = setup();
    let (b, _) = decoded(&c, 2);
    append_forged_block(&c, vec![b.txs[1].clone()]);
    assert_fault(
        &verify(&c),
        FaultKind::ReplayedSequence,
        4,
        Some(0),
        "tx.seq",
    );
}

#[test]
fn validly_signed_but_unauthorised_transaction_is_reported() {
    let c = setup();
    // A provider registers a participant: signed correctly, not allowed.
    let intruder = Keypair::generate();
    // Hospital A's last sequence number, read from the chain.
    let a_seq = {
        let mut last = 0;
        for h in 0..c.store.block_count().unwrap() {
            for t in Block::decode(&c.store.read_block(h).unwrap())
                .unwrap()
                .block
                .txs
            {
                let s = SignedTx::decode(&t).unwrap();
                if s.tx.author == c.hospital_a.id() {
                    last = s.tx.seq;
                }
            }
        }
        last
    };
    let tx = Tx {
        kind: TxKind::RegisterParticipant,
        author: c.hospital_a.id(),
        seq: a_seq + 1,
        timestamp: medledger::now_ms(),
        body: TxBody::Register(intruder.participant(Roles::ADMIN, "rogue admin")),
    };
    let bytes = tx.sign(&c.ledger.id(), c.hospital_a.signing_key()).unwrap();
    append_forged_block(&c, vec![bytes]);
    assert_fault(
        &verify(&c),
        FaultKind::Unauthorised,
        4,
        Some(0),
        "tx.author",
    );
    // Opening such a store is refused with the same fault.
    let err = Ledger::open(Box::new(c.store.clone())).unwrap_err();
    assert!(err.to_string().contains("Unauthorised"), "{err}");
}

#[test]
fn record_with_a_wrong_key_epoch_is_an_invalid_transaction() {
    let c = setup();
    let (b, _) = decoded(&c, 2);
    let stx = SignedTx::decode(&b.txs[0]).unwrap();
    let TxBody::Records(mut body) = stx.tx.body.clone() else {
        panic!()
    };
    // Re-sign A's record as a new tx claiming epoch 7.
    let mut rec = body.records.remove(0);
    rec.key_epoch = 7;
    // A used seq 1, 2 (block 2) and 3 (the batch): next is 4.
    let tx = Tx {
        kind: TxKind::AppendRecord,
        author: c.hospital_a.id(),
        seq: 4,
        timestamp: medledger::now_ms(),
        body: TxBody::Records(RecordsBody {
            shares: vec![],
            records: vec![rec],
        }),
    };
    let bytes = tx.sign(&c.ledger.id(), c.hospital_a.signing_key()).unwrap();
    append_forged_block(&c, vec![bytes]);
    let r = verify(&c);
    let f = r.fault.as_ref().unwrap();
    assert_eq!(f.kind, FaultKind::InvalidTransaction, "{f}");
    assert_eq!(
        (
            f.location.height,
            f.location.tx_index,
            f.location.record_index
        ),
        (4, Some(0), Some(0))
    );
}

#[test]
fn every_single_byte_flip_in_a_block_is_detected() {
    let c = setup();
    let original = c.store.read_block(2).unwrap();
    for i in 0..original.len() {
        for bit in [0x01u8, 0x80] {
            assert!(c.store.tamper_block(2, |b| b[i] ^= bit));
            let r = verify(&c);
            let f = r
                .fault
                .unwrap_or_else(|| panic!("flip of byte {i} bit {bit:#x} undetected"));
            assert_eq!(f.location.height, 2, "byte {i}: {f}");
            assert!(c.store.tamper_block(2, |b| b.copy_from_slice(&original)));
        }
    }
    assert!(verify(&c).is_ok());
}

#[test]
fn bad_signatures_in_a_block_of_many_transactions_are_located_across_chunks() {
    use medledger::crypto::sign::BATCH_CHUNK;
    let c = Consortium::new();
    // One block of single-signed records, enough for three batch chunks.
    let n = 2 * BATCH_CHUNK + 40;
    for i in 0..n {
        let payload = format!("reading {i}").into_bytes();
        c.ledger
            .append_record(&c.hospital_a, c.record("lab", &payload))
            .unwrap();
    }
    let h = c.commit().height;
    assert!(verify(&c).is_ok());
    let (block, offsets) = decoded(&c, h);
    assert_eq!(block.txs.len(), n);
    // The last byte of transaction i's signature.
    let sig_end = |i: usize| offsets[i] + block.txs[i].len() - 1;
    let strict = VerifyOptions {
        batch_signatures: false,
        ..Default::default()
    };
    for bad in [
        vec![BATCH_CHUNK - 1],
        vec![BATCH_CHUNK],
        vec![n - 1],
        vec![2 * BATCH_CHUNK + 3, BATCH_CHUNK + 1],
    ] {
        for &i in &bad {
            assert!(c.store.tamper_block(h, |b| b[sig_end(i)] ^= 0x01));
        }
        let first = u32::try_from(*bad.iter().min().unwrap()).unwrap();
        let r = verify(&c);
        assert_fault(&r, FaultKind::BadSignature, h, Some(first), "tx.signature");
        assert_eq!(verify_store(&c.store, &strict).fault, r.fault, "{bad:?}");
        for &i in &bad {
            assert!(c.store.tamper_block(h, |b| b[sig_end(i)] ^= 0x01));
        }
    }
    assert!(verify(&c).is_ok());
}

/// Signatures are checked on a worker thread while later blocks run: a bad
/// signature is still the first fault, with the report as the sequential
/// replay leaves it, and a payload missing before it still comes first.
#[test]
fn a_bad_signature_found_while_later_blocks_ran_is_still_the_first_fault() {
    let c = setup();
    // The report of the chain up to block 1, for the expected counts.
    let prefix = MemoryStore::new();
    for h in 0..2 {
        prefix
            .append_block(&c.store.read_block(h).unwrap(), &[])
            .unwrap();
    }
    let before = verify_store(&prefix, &VerifyOptions::default());
    assert!(before.is_ok());
    // Block 2, tx 1: a bad signature; block 3: a missing payload too.
    let (block, offsets) = decoded(&c, 2);
    let at = offsets[1] + block.txs[1].len() - 64 - 10;
    assert!(c.store.tamper_block(2, |b| b[at] ^= 0x01));
    let (b3, _) = decoded(&c, 3);
    let TxBody::Records(body) = SignedTx::decode(&b3.txs[0]).unwrap().tx.body else {
        panic!()
    };
    c.store.remove_payload(&body.records[0].ciphertext_digest);
    for batch_signatures in [true, false] {
        let r = verify_store(
            &c.store,
            &VerifyOptions {
                batch_signatures,
                ..Default::default()
            },
        );
        assert_fault(&r, FaultKind::BadSignature, 2, Some(1), "tx.signature");
        assert_eq!(r.blocks, 2);
        assert_eq!(r.transactions, before.transactions + 3);
        assert_eq!(r.records, before.records + 3);
        assert_eq!(r.signatures, before.signatures);
        assert_eq!(r.payloads, before.payloads);
    }
    // A payload of block 2 itself missing as well: block 2's payloads are
    // checked after its signatures, so the signature fault still comes
    // first (though the pipelined replay saw the missing payload before
    // the signature result came back).
    let TxBody::Records(b2) = SignedTx::decode(&block.txs[0]).unwrap().tx.body else {
        panic!()
    };
    c.store.remove_payload(&b2.records[0].ciphertext_digest);
    assert_fault(
        &verify(&c),
        FaultKind::BadSignature,
        2,
        Some(1),
        "tx.signature",
    );
}
