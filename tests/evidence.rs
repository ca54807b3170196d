#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Proofs and evidence bundles (docs/FORMAT.md §9): what a patient, auditor
//! or court checks with nothing but a file.

mod common;

use std::path::PathBuf;

use common::Consortium;
use medledger::crypto::hash::Digest;
use medledger::log::block::{Block, BlockHeader};
use medledger::log::merkle::MerkleLog;
use medledger::model::tx::ledger_id_of;
use medledger::model::{ParticipantId, Tx, TxBody, TxKind};
use medledger::proof::evidence::{EvidenceReport, verify, verify_for_ledger};
use medledger::proof::{ConsistencyProof, EvidenceTarget, InclusionProof};
use medledger::{
    Error, Genesis, Keypair, Ledger, MemoryStore, RecordId, Roles, Store, Validator, ValidatorSet,
};
use proptest::prelude::*;

/// Blocks: 0 genesis, 1 registrations and consents, 2 three records,
/// 3 a batch, 4 a new validator set {v0, v2} with threshold 2 (sealed by
/// the genesis set), 5 a record by B, 6 A's key rotation, 7 a record by A
/// under its new key.
struct Fixture {
    c: Consortium,
    before: RecordId,
    after: RecordId,
    rotated: RecordId,
    new_set: ValidatorSet,
    new_a: Keypair,
}

fn fixture() -> Fixture {
    let c = Consortium::new();
    let before = c.sample_blocks(3);
    let members = [&c.validators[0], &c.validators[2]]
        .iter()
        .map(|v| Validator {
            id: v.id(),
            key: v.public().sign,
        })
        .collect();
    let new_set = ValidatorSet::new(2, members).unwrap();
    c.ledger.set_validators(&c.admin, new_set.clone()).unwrap();
    c.commit();
    let after = c
        .ledger
        .append_record(&c.hospital_b, c.record("lab", b"potassium 4.1"))
        .unwrap();
    c.commit();
    let new_a = c.hospital_a.rotated();
    c.ledger.rotate_keys(&c.hospital_a, &new_a).unwrap();
    c.commit();
    let rotated = c
        .ledger
        .append_record(&new_a, c.record("lab", b"sodium 140"))
        .unwrap();
    c.commit();
    Fixture {
        c,
        before,
        after,
        rotated,
        new_set,
        new_a,
    }
}

fn bundle(f: &Fixture, id: RecordId, ciphertext: bool) -> Vec<u8> {
    f.c.ledger
        .evidence(EvidenceTarget::Record(id), ciphertext)
        .unwrap()
}

#[test]
fn evidence_before_and_after_a_validator_change_verifies() {
    let f = fixture();
    let genesis_set = {
        // The genesis set: all three validators, threshold 2.
        let members =
            f.c.validators
                .iter()
                .map(|v| Validator {
                    id: v.id(),
                    key: v.public().sign,
                })
                .collect();
        ValidatorSet::new(2, members).unwrap()
    };

    let info = f.c.ledger.record_info(&f.before).unwrap();
    let r: EvidenceReport = verify(&bundle(&f, f.before, true)).unwrap();
    assert_eq!(r.ledger_id, f.c.ledger.id());
    assert_eq!(r.leaf, info.leaf);
    assert_eq!(r.height, info.height);
    assert_eq!(r.author, f.c.hospital_a.id());
    assert_eq!(r.validator_changes, 0);
    assert_eq!(r.validator_set_hash, genesis_set.hash());
    assert_eq!(r.ciphertext_of, Some(f.before));
    assert!(r.records.contains(&f.before));
    assert_eq!(r.signer_key, f.c.hospital_a.public().sign);
    assert_eq!(r.seals, 2);

    let info = f.c.ledger.record_info(&f.after).unwrap();
    let r = verify(&bundle(&f, f.after, false)).unwrap();
    assert_eq!(r.leaf, info.leaf);
    assert_eq!(r.validator_changes, 1);
    assert_eq!(r.validator_set_hash, f.new_set.hash());
    assert_eq!(r.ciphertext_of, None);
    assert_eq!(r.author, f.c.hospital_b.id());

    // Signed under the rotated key: registration and rotation are both in.
    let r = verify(&bundle(&f, f.rotated, true)).unwrap();
    assert_eq!(r.signer_key, f.new_a.public().sign);
    assert_ne!(r.signer_key, f.c.hospital_a.public().sign);
    assert_eq!(r.validator_changes, 1);

    // By leaf: the first record's ciphertext.
    let leaf = f.c.ledger.record_info(&f.after).unwrap().leaf;
    let by_leaf =
        f.c.ledger
            .evidence(EvidenceTarget::Leaf(leaf), true)
            .unwrap();
    assert_eq!(verify(&by_leaf).unwrap().ciphertext_of, Some(f.after));
    assert_eq!(
        by_leaf,
        bundle(&f, f.after, true),
        "one canonical bundle per target"
    );
}

#[test]
fn export_refuses_what_it_cannot_prove() {
    let f = fixture();
    let e = f.c.ledger.evidence(EvidenceTarget::Leaf(0), false);
    assert!(
        matches!(e, Err(Error::Invalid { what: "leaf", .. })),
        "{e:?}"
    );
    let size = f.c.ledger.head().unwrap().log_size;
    let e = f.c.ledger.evidence(EvidenceTarget::Leaf(size), false);
    assert!(matches!(e, Err(Error::NotFound(_))), "{e:?}");
    let e =
        f.c.ledger
            .evidence(EvidenceTarget::Record(RecordId(Digest([7; 32]))), false);
    assert!(matches!(e, Err(Error::NotFound(_))), "{e:?}");
    // Leaf 1 registers a participant: it carries no ciphertext.
    let e = f.c.ledger.evidence(EvidenceTarget::Leaf(1), true);
    assert!(
        matches!(
            e,
            Err(Error::Invalid {
                what: "include_ciphertext",
                ..
            })
        ),
        "{e:?}"
    );
    // Without a ciphertext, a registration is evidence like any other.
    let r = verify(&f.c.ledger.evidence(EvidenceTarget::Leaf(1), false).unwrap()).unwrap();
    assert_eq!(r.author, f.c.admin.id());
    assert!(r.records.is_empty());
}

#[test]
fn every_flipped_bit_is_rejected() {
    let f = fixture();
    for id in [f.before, f.rotated] {
        let good = bundle(&f, id, true);
        verify(&good).unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 1 << (i % 8);
            assert!(verify(&bad).is_err(), "flip of bit {} at byte {i}", i % 8);
        }
    }
}

#[test]
fn truncations_and_extensions_are_rejected() {
    let f = fixture();
    let good = bundle(&f, f.after, true);
    for n in 0..good.len() {
        let e = verify(&good[..n]).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Decode { .. } | Error::Evidence { .. } | Error::UnsupportedVersion { .. }
            ),
            "truncated to {n}: {e:?}"
        );
    }
    let mut long = good.clone();
    long.push(0);
    assert!(matches!(
        verify(&long),
        Err(Error::Decode {
            what: "evidence",
            ..
        })
    ));
}

#[test]
fn errors_name_the_part_and_field() {
    let f = fixture();
    let good = bundle(&f, f.after, true);
    // The last byte is in the target block's last seal.
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 0x40;
    match verify(&bad).unwrap_err() {
        Error::Evidence { part, field, .. } => {
            assert_eq!((part.as_str(), field), ("target block", "seals"));
        }
        e => panic!("{e:?}"),
    }
    // Byte 8 is the version.
    let mut bad = good.clone();
    bad[8] = 2;
    assert!(matches!(
        verify(&bad),
        Err(Error::UnsupportedVersion { found: 2, .. })
    ));
    let mut bad = good.clone();
    bad[0] = b'X';
    assert!(matches!(
        verify(&bad),
        Err(Error::Decode {
            what: "evidence.magic",
            ..
        })
    ));
    // The last byte of the ciphertext (just before the target header).
    let head_len = 166 + 2 + 66 * 2;
    let mut bad = good.clone();
    let at = bad.len() - head_len - 1;
    bad[at] ^= 1;
    match verify(&bad).unwrap_err() {
        Error::Evidence { part, field, .. } => {
            assert_eq!((part.as_str(), field), ("ciphertext", "bytes"));
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn a_bundle_for_another_ledger_is_rejected() {
    let f = fixture();
    let other = Consortium::new();
    let first = other.sample_blocks(1);
    let mine = bundle(&f, f.before, false);
    let theirs = other
        .ledger
        .evidence(EvidenceTarget::Record(first), false)
        .unwrap();
    assert_ne!(
        verify(&theirs).unwrap().ledger_id,
        verify(&mine).unwrap().ledger_id
    );
    verify_for_ledger(&mine, &f.c.ledger.id()).unwrap();
    match verify_for_ledger(&theirs, &f.c.ledger.id()).unwrap_err() {
        Error::Evidence { part, field, .. } => {
            assert_eq!((part.as_str(), field), ("genesis", "ledger_id"));
        }
        e => panic!("{e:?}"),
    }
    // Splice: this ledger's genesis in front of the other ledger's rest.
    let genesis_len = |b: &[u8]| u32::from_le_bytes(b[10..14].try_into().unwrap()) as usize;
    let (gm, gt) = (genesis_len(&mine), genesis_len(&theirs));
    let mut spliced = mine[..14 + gm].to_vec();
    spliced.extend_from_slice(&theirs[14 + gt..]);
    match verify(&spliced).unwrap_err() {
        Error::Evidence { field, .. } => assert_eq!(field, "header.ledger_id"),
        e => panic!("{e:?}"),
    }
}

#[test]
fn dropping_the_validator_change_is_rejected() {
    let f = fixture();
    let good = bundle(&f, f.after, false);
    // Rebuild the bundle with zero changes: the target block commits to
    // the new set, which the verifier cannot reach from genesis.
    let g = u32::from_le_bytes(good[10..14].try_into().unwrap()) as usize;
    let changes_at = 14 + g;
    assert_eq!(
        u32::from_le_bytes(good[changes_at..changes_at + 4].try_into().unwrap()),
        1
    );
    let leaf_and_tx = 8
        + 4
        + u32::from_le_bytes(good[changes_at + 12..changes_at + 16].try_into().unwrap()) as usize;
    let path = 1 + 32 * usize::from(good[changes_at + 4 + leaf_and_tx]);
    let seals = u16::from_le_bytes(
        good[changes_at + 4 + leaf_and_tx + path + 166..][..2]
            .try_into()
            .unwrap(),
    );
    let change_len = leaf_and_tx + path + 166 + 2 + 66 * usize::from(seals);
    let mut dropped = good[..changes_at].to_vec();
    dropped.extend_from_slice(&0u32.to_le_bytes());
    dropped.extend_from_slice(&good[changes_at + 4 + change_len..]);
    match verify(&dropped).unwrap_err() {
        Error::Evidence { part, field, .. } => {
            assert_eq!(
                (part.as_str(), field),
                ("target block", "header.validator_set_hash")
            );
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn ledger_proofs_verify_and_tampering_fails() {
    let f = fixture();
    let head = f.c.ledger.head().unwrap();
    let root = f.c.ledger.log_root_at(head.log_size).unwrap();
    assert_eq!(root, head.log_root);

    let p: InclusionProof = f.c.ledger.record_inclusion(&f.before).unwrap();
    assert_eq!(p.size, head.log_size);
    assert!(p.hashes.len() <= 64);
    let leaf = p.leaf;
    let tx = {
        // The transaction bytes, from the bundle's own verifier view: the
        // record's leaf in the stored block.
        let info = f.c.ledger.record_info(&f.before).unwrap();
        let block = Block::decode(&f.c.store.read_block(info.height).unwrap())
            .unwrap()
            .block;
        block.txs[usize::try_from(leaf - block.header.first_leaf).unwrap()].clone()
    };
    p.verify(&tx, &root).unwrap();
    for i in 0..p.hashes.len() {
        let mut bad = p.clone();
        bad.hashes[i].0[0] ^= 1;
        assert!(bad.verify(&tx, &root).is_err());
    }
    let mut bad_tx = tx.clone();
    bad_tx[0] ^= 1;
    assert!(p.verify(&bad_tx, &root).is_err());
    let mut moved = p.clone();
    moved.leaf += 1;
    assert!(moved.verify(&tx, &root).is_err());

    // Against every committed block size holding the leaf.
    for h in 1..=head.height {
        let b = Block::decode(&f.c.store.read_block(h).unwrap())
            .unwrap()
            .block;
        let size = b.header.log_size;
        if size > leaf {
            let p = f.c.ledger.inclusion_proof(leaf, size).unwrap();
            p.verify(&tx, &b.header.log_root).unwrap();
        }
        // Consistency from every block to the head.
        let c: ConsistencyProof = f.c.ledger.consistency_proof(size, head.log_size).unwrap();
        c.verify(&b.header.log_root, &head.log_root).unwrap();
        if !c.hashes.is_empty() {
            let mut bad = c.clone();
            bad.hashes[0].0[31] ^= 0x80;
            assert!(bad.verify(&b.header.log_root, &head.log_root).is_err());
        }
        assert!(c.verify(&head.log_root, &b.header.log_root).is_err() || size == head.log_size);
    }

    // Sizes that are not sealed block sizes are refused.
    let b2 = Block::decode(&f.c.store.read_block(2).unwrap())
        .unwrap()
        .block;
    assert!(b2.header.tx_count >= 2);
    let e = f.c.ledger.inclusion_proof(0, b2.header.first_leaf + 1);
    assert!(
        matches!(e, Err(Error::Invalid { what: "size", .. })),
        "{e:?}"
    );
    let e = f.c.ledger.inclusion_proof(leaf, head.log_size + 1);
    assert!(
        matches!(e, Err(Error::Invalid { what: "size", .. })),
        "{e:?}"
    );
    let e = f.c.ledger.inclusion_proof(head.log_size, head.log_size);
    assert!(
        matches!(e, Err(Error::Invalid { what: "leaf", .. })),
        "{e:?}"
    );
    let e = f.c.ledger.consistency_proof(0, head.log_size);
    assert!(
        matches!(e, Err(Error::Invalid { what: "size1", .. })),
        "{e:?}"
    );
}

/// A ledger whose blocks each hold one registration, with a fixed clock.
fn ledger_of(blocks: u64) -> (Ledger, MemoryStore) {
    let admin = Keypair::from_seeds(&[1; 32], &[101; 32]);
    let v = Keypair::from_seeds(&[2; 32], &[102; 32]);
    let genesis = Genesis::new(
        "evidence consortium",
        1,
        vec![
            admin.participant(Roles::ADMIN, "admin"),
            v.participant(Roles::VALIDATOR, "validator"),
        ],
    )
    .unwrap();
    // The genesis block is built here so that its timestamp is fixed too.
    let t0 = 1_767_225_600_000u64;
    let mut gtx = Tx {
        kind: TxKind::Genesis,
        author: ParticipantId(Digest::ZERO),
        seq: 0,
        timestamp: t0,
        body: TxBody::Genesis(genesis),
    }
    .encode_unsigned()
    .unwrap();
    gtx.extend_from_slice(&[0; 64]);
    let mut log: MerkleLog = MerkleLog::new();
    log.push_leaf_data(&gtx);
    let set = ValidatorSet::new(
        1,
        vec![Validator {
            id: v.id(),
            key: v.public().sign,
        }],
    )
    .unwrap();
    let header = BlockHeader {
        ledger_id: ledger_id_of(&gtx),
        height: 0,
        prev_hash: Digest::ZERO,
        timestamp: t0,
        first_leaf: 0,
        tx_count: 1,
        log_size: 1,
        log_root: log.root(),
        validator_set_hash: set.hash(),
    };
    let block = Block {
        seals: vec![header.seal(0, v.signing_key())],
        header,
        txs: vec![gtx],
    };
    let store = MemoryStore::new();
    store.append_block(&block.encode(), &[]).unwrap();
    let ledger = Ledger::open(Box::new(store.clone()))
        .unwrap()
        .with_clock(move || t0 + 1000);
    for i in 0..blocks {
        let n = u8::try_from(10 + i % 200).unwrap();
        let p = Keypair::from_seeds(&[n; 32], &[n.wrapping_add(100); 32]);
        ledger
            .register(&admin, p.participant(Roles::PATIENT, &format!("p{i}")))
            .unwrap();
        ledger.commit_block(&[&v]).unwrap();
    }
    (ledger, store)
}

/// The transaction at `leaf` of a [`ledger_of`] chain (block `leaf`).
fn tx_at(store: &MemoryStore, leaf: u64) -> Vec<u8> {
    let block = Block::decode(&store.read_block(leaf).unwrap())
        .unwrap()
        .block;
    assert_eq!(block.header.first_leaf, leaf);
    block.txs[0].clone()
}

/// A small pinned bundle: any change to the format or to what it holds
/// shows here. Regenerate with `MEDLEDGER_UPDATE_GOLDEN=1` only for a new
/// bundle version.
#[test]
fn pinned_bundle() {
    let (ledger, _) = ledger_of(1);
    let bytes = ledger.evidence(EvidenceTarget::Leaf(1), false).unwrap();
    let report = verify(&bytes).unwrap();
    assert_eq!(report.height, 1);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/evidence_v1.hex");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if std::env::var_os("MEDLEDGER_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, format!("{hex}\n")).unwrap();
    }
    let pinned = std::fs::read_to_string(&path).unwrap();
    assert_eq!(pinned.trim(), hex, "evidence bundle encoding changed");
}

fn pinned_bytes() -> Vec<u8> {
    let hex = include_str!("vectors/evidence_v1.hex").trim();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

proptest! {
    /// What the verify_evidence fuzz target asserts: any non-zero XOR
    /// into the pinned bundle, at any bytes, is rejected.
    #[test]
    fn any_xor_into_the_pinned_bundle_is_rejected(
        edits in proptest::collection::vec((any::<usize>(), 1u8..=255), 1..8)
    ) {
        let good = pinned_bytes();
        let mut bad = good.clone();
        for (at, mask) in &edits {
            bad[at % good.len()] ^= mask;
        }
        prop_assume!(bad != good);
        prop_assert!(verify(&bad).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn random_sizes_prove(blocks in 1u64..24, pick in any::<u64>(), pick2 in any::<u64>()) {
        let (ledger, store) = ledger_of(blocks);
        let head = ledger.head().unwrap();
        // Block h >= 1 has log size h + 1.
        let size = pick % blocks + 2;
        let leaf = pick2 % size;
        let p = ledger.inclusion_proof(leaf, size).unwrap();
        let root = ledger.log_root_at(size).unwrap();
        prop_assert!(p.hashes.len() <= 64);
        let tx = tx_at(&store, leaf);
        prop_assert!(p.verify(&tx, &root).is_ok());
        // The proof binds the position (the size is bound by the root,
        // which a sealed header signs).
        let mut bad = p.clone();
        bad.leaf = (leaf + 1) % size;
        prop_assert!(bad.verify(&tx, &root).is_err());
        prop_assert!(p.verify(&tx_at(&store, (leaf + 1) % size), &root).is_err());
        if let Some(h) = p.hashes.first() {
            let mut bad = p.clone();
            bad.hashes[0] = Digest(h.0.map(|b| b ^ 0xff));
            prop_assert!(bad.verify(&tx, &root).is_err());
        }
        let c = ledger.consistency_proof(size, head.log_size).unwrap();
        prop_assert!(c.verify(&root, &head.log_root).is_ok());
        if leaf > 0 {
            let r = verify(&ledger.evidence(EvidenceTarget::Leaf(leaf), false).unwrap()).unwrap();
            prop_assert_eq!(r.leaf, leaf);
            prop_assert_eq!(r.height, leaf);
            // The target's inclusion proof is the one the ledger serves at
            // the target block's size.
            let q = ledger.inclusion_proof(leaf, leaf + 1).unwrap();
            prop_assert_eq!(q.size, leaf + 1);
        }
    }
}

#[test]
fn a_change_applies_from_the_next_block_and_the_last_of_a_block_wins() {
    let c = Consortium::new();
    let set_of = |threshold: u16, vs: &[&Keypair]| {
        let members = vs
            .iter()
            .map(|v| Validator {
                id: v.id(),
                key: v.public().sign,
            })
            .collect();
        ValidatorSet::new(threshold, members).unwrap()
    };
    let all = set_of(3, &[&c.validators[0], &c.validators[1], &c.validators[2]]);
    let last = set_of(2, &[&c.validators[0], &c.validators[2]]);
    let same_block = c
        .ledger
        .append_record(
            &c.hospital_a,
            c.record("lab", b"in the block of the change"),
        )
        .unwrap();
    c.ledger.set_validators(&c.admin, all).unwrap();
    c.ledger.set_validators(&c.admin, last.clone()).unwrap();
    c.commit();
    let next = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"after the change"))
        .unwrap();
    c.commit();

    // Sealed by the genesis set: the change is not in force yet.
    let r = verify(
        &c.ledger
            .evidence(EvidenceTarget::Record(same_block), true)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(r.validator_changes, 0);
    assert_eq!(r.ciphertext_of, Some(same_block));

    // One change: the last SetValidators of its block.
    let bytes = c
        .ledger
        .evidence(EvidenceTarget::Record(next), true)
        .unwrap();
    let r = verify(&bytes).unwrap();
    assert_eq!(r.validator_changes, 1);
    assert_eq!(r.validator_set_hash, last.hash());
    assert_eq!(r.seals, 2);
}
