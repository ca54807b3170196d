//! The node messages, shipped blocks and equivocation evidence
//! (docs/FORMAT.md §11): pinned encodings (tests/vectors/wire_v2.json,
//! regenerate with `MEDLEDGER_UPDATE_GOLDEN=1 cargo test --test wire` only
//! for a new format version), round trips under proptest, and hostile
//! bytes refused with typed errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use medledger::consortium::wire::ErrorCode;
use medledger::consortium::{Request, Response, Status};
use medledger::crypto::hash::Digest;
use medledger::log::block::{Block, BlockHeader, Seal};
use medledger::log::shipped::ShippedBlock;
use medledger::proof::Equivocation;
use medledger::{Keypair, LedgerId, ParticipantId, RecordId, Validator, ValidatorSet};
use proptest::prelude::*;

fn kp(n: u8) -> Keypair {
    Keypair::from_seeds(&[n; 32], &[n.wrapping_add(100); 32])
}

fn header(height: u64, ts: u64, set: &ValidatorSet) -> BlockHeader {
    BlockHeader {
        ledger_id: LedgerId(Digest([9; 32])),
        height,
        prev_hash: Digest([1; 32]),
        timestamp: ts,
        first_leaf: 10,
        tx_count: 2,
        log_size: 12,
        log_root: Digest([2; 32]),
        validator_set_hash: set.hash(),
    }
}

/// Three validators; the one at index 1 signs two headers at height 5.
fn evidence() -> (Equivocation, ParticipantId) {
    let keys: Vec<Keypair> = (1..4).map(kp).collect();
    let set = ValidatorSet::new(
        2,
        keys.iter()
            .map(|k| Validator {
                id: k.id(),
                key: k.public().sign,
            })
            .collect(),
    )
    .unwrap();
    let i = |k: &Keypair| set.index_of(&k.id()).unwrap();
    let a = header(5, 1_767_225_600_000, &set);
    let b = header(5, 1_767_225_600_001, &set);
    let mut sa: Vec<Seal> = [&keys[0], &keys[1]]
        .iter()
        .map(|k| a.seal(i(k), k.signing_key()))
        .collect();
    sa.sort_by_key(|s| s.validator);
    let sb = vec![b.seal(i(&keys[1]), keys[1].signing_key())];
    let e = Equivocation::from_conflict(&set, (&a, &sa), (&b, &sb)).unwrap();
    (e, keys[1].id())
}

fn shipped() -> ShippedBlock {
    let (e, _) = evidence();
    let block = Block {
        header: e.first.0.clone(),
        seals: e.first.1.clone(),
        txs: vec![b"tx one".to_vec(), b"tx two".to_vec()],
    };
    ShippedBlock::new(&block, vec![b"ciphertext".to_vec()])
}

fn vectors() -> BTreeMap<String, String> {
    let (e, _) = evidence();
    let s = shipped();
    let mut v = BTreeMap::new();
    let mut put = |k: &str, b: Vec<u8>| v.insert(k.to_owned(), hex::encode(b));
    put("equivocation", e.encode());
    put("shipped_block", s.encode());
    put("request_status", Request::Status.encode());
    put(
        "request_get_blocks",
        Request::GetBlocks { from: 7, max: 64 }.encode(),
    );
    put(
        "request_commit",
        Request::Commit {
            header: e.first.0.clone(),
            seals: e.first.1.clone(),
        }
        .encode(),
    );
    put(
        "response_status",
        Response::Status(Status {
            height: 5,
            head_hash: Digest([3; 32]),
            log_size: 12,
            log_root: Digest([4; 32]),
            evidence: 1,
            equivocators: vec![ParticipantId(Digest([5; 32]))],
        })
        .encode(),
    );
    put(
        "response_error",
        Response::Error {
            code: ErrorCode::Rejected,
            message: "tx.seq: replayed".into(),
        }
        .encode(),
    );
    v
}

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/wire_v2.json")
}

#[test]
fn wire_v2_golden_vectors() {
    let got = vectors();
    if std::env::var_os("MEDLEDGER_UPDATE_GOLDEN").is_some() {
        std::fs::write(path(), serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
    }
    let want: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap();
    assert_eq!(got, want, "a §11 encoding changed: that is a format change");
    // The pinned bytes decode to the same values.
    let e = Equivocation::decode(&hex::decode(&want["equivocation"]).unwrap()).unwrap();
    assert_eq!(e, evidence().0);
    let s = ShippedBlock::decode(&hex::decode(&want["shipped_block"]).unwrap()).unwrap();
    assert_eq!(s, shipped());
}

#[test]
fn equivocation_names_the_double_signer_and_nothing_else_passes() {
    let (e, guilty) = evidence();
    assert_eq!(e.verify().unwrap(), vec![guilty]);
    assert_eq!(
        e.first.1.len(),
        1,
        "only the double signer's seals are kept"
    );
    // Same header twice, other heights, another set: refused.
    let mut same = e.clone();
    same.second = same.first.clone();
    assert!(same.verify().is_err());
    let mut other_height = e.clone();
    other_height.second.0.height = 6;
    assert!(other_height.verify().is_err());
    let mut other_set = e.clone();
    other_set.validators.threshold = 3;
    assert!(other_set.verify().is_err());
    // Every single-byte change of the encoding is refused.
    let bytes = e.encode();
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        let r = Equivocation::decode(&b).and_then(|x| x.verify());
        assert!(r.is_err(), "byte {i}");
    }
}

fn digest() -> impl Strategy<Value = Digest> {
    any::<[u8; 32]>().prop_map(Digest)
}

fn seals() -> impl Strategy<Value = Vec<Seal>> {
    proptest::collection::vec(
        (any::<u16>(), any::<[u8; 32]>()).prop_map(|(validator, half)| {
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&half);
            Seal {
                validator,
                signature: medledger::crypto::sign::Signature(sig),
            }
        }),
        0..5,
    )
}

fn any_header() -> impl Strategy<Value = BlockHeader> {
    (any::<u64>(), any::<u64>(), digest(), digest()).prop_map(|(height, timestamp, a, b)| {
        BlockHeader {
            ledger_id: LedgerId(a),
            height,
            prev_hash: b,
            timestamp,
            first_leaf: height / 2,
            tx_count: 3,
            log_size: height / 2 + 3,
            log_root: a,
            validator_set_hash: b,
        }
    })
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn any_shipped() -> impl Strategy<Value = ShippedBlock> {
    (bytes(300), proptest::collection::vec(bytes(40), 0..4))
        .prop_map(|(block, payloads)| ShippedBlock { block, payloads })
}

fn any_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::Status),
        Just(Request::GetEvidence),
        (bytes(200), proptest::collection::vec(bytes(50), 0..4))
            .prop_map(|(tx, payloads)| Request::Submit { tx, payloads }),
        any_shipped().prop_map(Request::Propose),
        any_shipped().prop_map(Request::Announce),
        (any_header(), seals()).prop_map(|(header, seals)| Request::Commit { header, seals }),
        (any::<u64>(), any::<u32>()).prop_map(|(from, max)| Request::GetBlocks { from, max }),
        digest().prop_map(|d| Request::GetPayload(RecordId(d))),
        (any::<u64>(), any::<u64>())
            .prop_map(|(size1, size2)| Request::GetConsistency { size1, size2 }),
    ]
}

fn any_response() -> impl Strategy<Value = Response> {
    prop_oneof![
        ("[a-z :.]{0,60}", 1u16..=8).prop_map(|(message, c)| Response::Error {
            code: [
                ErrorCode::Malformed,
                ErrorCode::Rejected,
                ErrorCode::Denied,
                ErrorCode::NotFound,
                ErrorCode::MissingQuorum,
                ErrorCode::Corrupt,
                ErrorCode::Tampered,
                ErrorCode::System
            ][usize::from(c - 1)],
            message
        }),
        (
            any::<u64>(),
            digest(),
            proptest::collection::vec(digest(), 0..3)
        )
            .prop_map(|(height, d, ids)| Response::Status(Status {
                height,
                head_hash: d,
                log_size: height,
                log_root: d,
                evidence: u32::try_from(ids.len()).unwrap(),
                equivocators: ids.into_iter().map(ParticipantId).collect(),
            })),
        any::<u64>().prop_map(Response::Submitted),
        seals().prop_map(Response::Endorsed),
        (any::<u64>(), any::<u32>()).prop_map(|(height, missing_payloads)| Response::Imported {
            height,
            missing_payloads
        }),
        any::<u64>().prop_map(Response::NeedBlocks),
        proptest::collection::vec(any_shipped(), 0..3).prop_map(Response::Blocks),
        bytes(100).prop_map(Response::Payload),
        Just(Response::PayloadErased),
        proptest::collection::vec(digest(), 0..6).prop_map(Response::Consistency),
        Just(Response::Evidence(vec![evidence().0])),
        Just(Response::Conflict(Box::new(evidence().0))),
    ]
}

proptest! {
    #[test]
    fn requests_round_trip_and_refuse_any_prefix(req in any_request()) {
        let b = req.encode();
        prop_assert_eq!(Request::decode(&b).unwrap(), req);
        for cut in 0..b.len() {
            prop_assert!(Request::decode(&b[..cut]).is_err());
        }
        let mut longer = b.clone();
        longer.push(0);
        prop_assert!(Request::decode(&longer).is_err());
    }

    #[test]
    fn responses_round_trip_and_refuse_any_prefix(resp in any_response()) {
        let b = resp.encode();
        prop_assert_eq!(Response::decode(&b).unwrap(), resp);
        for cut in 0..b.len() {
            prop_assert!(Response::decode(&b[..cut]).is_err());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in bytes(400)) {
        let _ = Request::decode(&b);
        let _ = Response::decode(&b);
        let _ = ShippedBlock::decode(&b);
        let _ = Equivocation::decode(&b).and_then(|e| e.verify());
    }
}
