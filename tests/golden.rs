//! Golden vectors pinning format version 2 (docs/FORMAT.md §7).
//!
//! Every value here is computed from fixed inputs (fixed seeds, fixed
//! timestamps, fixed nonces; Ed25519 is deterministic) and compared with
//! `tests/vectors/format_v2.json`. A change to any hashed, signed or stored
//! byte fails this test: that is a format change and needs a new version.
//! After an intended change to a *new* version, regenerate with
//! `MEDLEDGER_UPDATE_GOLDEN=1 cargo test --test golden`.
//!
//! `pass_*` vectors must decode (and re-encode to the same bytes) or
//! compute to the pinned value; `fail_*` vectors must be refused with the
//! named error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use medledger::crypto::aead::AeadKey;
use medledger::crypto::hash::{Digest, label, tagged_hash};
use medledger::crypto::kex;
use medledger::crypto::sign::Signature;
use medledger::log::block::{Block, BlockHeader};
use medledger::log::merkle::{MerkleHasher, Sha3Hasher};
use medledger::model::consent::RecordKeyWrap;
use medledger::model::record::{RecordHeader, dek_wrap_aad};
use medledger::model::tx::{
    GrantBody, RecordsBody, RevokeBody, TX_PREFIX_LEN, TxKind, ciphertext_digest, ledger_id_of,
};
use medledger::model::{
    AccessEvent, Actions, Basis, BreakGlass, BreakGlassId, Consent, ConsentId, Decision,
    DenyReason, ParticipantChange, ParticipantUpdate, Purpose, Purposes, Scope,
};
use medledger::model::{
    Category, EpochShare, Genesis, LedgerId, ParticipantId, RecordId, SignedTx, Tx, TxBody,
};
use medledger::{Error, Keypair, Roles};
use serde_json::{Value, json};

const T0: u64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn kp(n: u8) -> Keypair {
    Keypair::from_seeds(&[n; 32], &[n.wrapping_add(100); 32])
}

fn h(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/format_v2.json")
}

/// All pass vectors: name → hex (or another pinned string).
/// (name, hex, expected error) of each fail vector.
type FailVector = (String, String, String);

fn compute() -> (BTreeMap<String, String>, Vec<FailVector>) {
    let mut v = BTreeMap::new();
    let mut put = |k: &str, val: String| {
        v.insert(k.to_owned(), val);
    };
    let admin = kp(1);
    let val1 = kp(2);
    let val2 = kp(3);
    let hosp = kp(4);
    let patient = kp(5);

    put("pass_participant_id", admin.id().to_hex());
    put(
        "pass_tagged_hash_tx_label_abc",
        tagged_hash(label::TX, &[b"abc"]).to_hex(),
    );
    put(
        "pass_merkle_leaf_empty",
        Sha3Hasher::hash_leaf(b"").to_hex(),
    );
    put(
        "pass_merkle_node",
        Sha3Hasher::hash_children(&Digest([1; 32]), &Digest([2; 32])).to_hex(),
    );

    let founders = vec![
        admin.participant(Roles::ADMIN, "registration desk"),
        val1.participant(Roles::VALIDATOR, "validator St. Mary"),
        val2.participant(
            Roles::VALIDATOR.with(Roles::PROVIDER),
            "validator City General",
        ),
    ];
    let genesis = Genesis::new("golden consortium", 2, founders).unwrap();
    put(
        "pass_validator_set_hash",
        genesis.validators.hash().to_hex(),
    );
    let gtx = Tx {
        kind: TxKind::Genesis,
        author: ParticipantId(Digest::ZERO),
        seq: 0,
        timestamp: T0,
        body: TxBody::Genesis(genesis.clone()),
    };
    let mut gbytes = gtx.encode_unsigned().unwrap();
    gbytes.extend_from_slice(&[0; 64]);
    let ledger = ledger_id_of(&gbytes);
    put("pass_tx_genesis", h(&gbytes));
    put("pass_ledger_id", ledger.to_hex());

    let reg = Tx {
        kind: TxKind::RegisterParticipant,
        author: admin.id(),
        seq: 1,
        timestamp: T0 + 1,
        body: TxBody::Register(hosp.participant(Roles::PROVIDER, "St. Mary EHR")),
    };
    let reg_bytes = reg.sign(&ledger, admin.signing_key()).unwrap();
    put("pass_tx_register", h(&reg_bytes));
    put(
        "pass_tx_register_leaf_hash",
        Sha3Hasher::hash_leaf(&reg_bytes).to_hex(),
    );

    let rid = RecordId::derive(&ledger, &hosp.id(), 1, 0);
    put("pass_record_id", rid.to_hex());
    let category = Category::new("lab").unwrap();
    let header = RecordHeader {
        id: rid,
        patient: patient.id(),
        category: category.clone(),
        content_type: "application/fhir+json".into(),
        version: 1,
        amends: None,
        key_epoch: 1,
        wrapped_dek: [7; 60],
        ciphertext_len: 1052,
        ciphertext_digest: Digest([9; 32]),
    };
    put(
        "pass_record_aad",
        h(&header.payload_aad(&ledger, &hosp.id())),
    );
    put("pass_dek_wrap_aad", h(&dek_wrap_aad(&ledger, &rid, 1)));
    put(
        "pass_epoch_wrap_context",
        h(&EpochShare::wrap_context(
            &ledger,
            &patient.id(),
            &category,
            1,
            &hosp.id(),
        )),
    );
    let append = Tx {
        kind: TxKind::AppendRecord,
        author: hosp.id(),
        seq: 1,
        timestamp: T0 + 2,
        body: TxBody::Records(RecordsBody {
            shares: vec![EpochShare {
                patient: patient.id(),
                category: category.clone(),
                epoch: 1,
                wraps: vec![medledger::model::KeyWrap {
                    recipient: patient.id(),
                    sealed: [5; 80],
                }],
            }],
            records: vec![header.clone()],
        }),
    };
    let append_bytes = append.sign(&ledger, hosp.signing_key()).unwrap();
    put("pass_tx_append", h(&append_bytes));
    let mut amended = header.clone();
    amended.id = RecordId::derive(&ledger, &hosp.id(), 2, 0);
    amended.version = 2;
    amended.amends = Some(rid);
    let amend = Tx {
        kind: TxKind::AmendRecord,
        author: hosp.id(),
        seq: 2,
        timestamp: T0 + 3,
        body: TxBody::Records(RecordsBody {
            shares: vec![],
            records: vec![amended],
        }),
    };
    let amend_bytes = amend.sign(&ledger, hosp.signing_key()).unwrap();
    put("pass_tx_amend", h(&amend_bytes));
    let setv = Tx {
        kind: TxKind::SetValidators,
        author: admin.id(),
        seq: 2,
        timestamp: T0 + 4,
        body: TxBody::SetValidators(genesis.validators.clone()),
    };
    let setv_bytes = setv.sign(&ledger, admin.signing_key()).unwrap();
    put("pass_tx_set_validators", h(&setv_bytes));

    // Access control (format version 2).
    let consent = Consent {
        patient: patient.id(),
        grantee: hosp.id(),
        actions: Actions::READ.with(Actions::APPEND),
        purposes: Purposes::of(&[Purpose::Treat, Purpose::EmergencyTreat]),
        scope: Scope {
            all_categories: false,
            categories: vec![category.clone()],
            records: vec![],
        },
        not_before: T0,
        not_after: T0 + 86_400_000,
    };
    let grant = Tx {
        kind: TxKind::GrantConsent,
        author: patient.id(),
        seq: 1,
        timestamp: T0 + 5,
        body: TxBody::Grant(GrantBody {
            consent,
            shares: vec![EpochShare {
                patient: patient.id(),
                category: category.clone(),
                epoch: 1,
                wraps: vec![medledger::model::KeyWrap {
                    recipient: hosp.id(),
                    sealed: [6; 80],
                }],
            }],
            record_keys: vec![],
        }),
    };
    let grant_bytes = grant.sign(&ledger, patient.signing_key()).unwrap();
    put("pass_tx_grant", h(&grant_bytes));
    let consent_id = ConsentId::derive(&ledger, &patient.id(), 1);
    put("pass_consent_id", consent_id.to_hex());
    let revoke = Tx {
        kind: TxKind::RevokeConsent,
        author: patient.id(),
        seq: 2,
        timestamp: T0 + 6,
        body: TxBody::Revoke(RevokeBody {
            consent: consent_id,
            shares: vec![],
        }),
    };
    put(
        "pass_tx_revoke",
        h(&revoke.sign(&ledger, patient.signing_key()).unwrap()),
    );
    let bg = Tx {
        kind: TxKind::BreakGlass,
        author: hosp.id(),
        seq: 3,
        timestamp: T0 + 7,
        body: TxBody::BreakGlass(BreakGlass {
            patient: patient.id(),
            reason: Purpose::EmergencyTreat,
            justification: "unconscious in ED".into(),
            duration_ms: 900_000,
        }),
    };
    put(
        "pass_tx_break_glass",
        h(&bg.sign(&ledger, hosp.signing_key()).unwrap()),
    );
    let bg_id = BreakGlassId::derive(&ledger, &hosp.id(), 3);
    put("pass_break_glass_id", bg_id.to_hex());
    let access = Tx {
        kind: TxKind::AccessEvents,
        author: hosp.id(),
        seq: 4,
        timestamp: T0 + 8,
        body: TxBody::Access(vec![
            AccessEvent {
                record: rid,
                purpose: Purpose::Treat,
                decision: Decision::Permit(Basis::Consent(consent_id)),
            },
            AccessEvent {
                record: rid,
                purpose: Purpose::EmergencyTreat,
                decision: Decision::Permit(Basis::BreakGlass(bg_id)),
            },
            AccessEvent {
                record: rid,
                purpose: Purpose::Payment,
                decision: Decision::Deny(DenyReason::WrongPurpose),
            },
        ]),
    };
    let access_bytes = access.sign(&ledger, hosp.signing_key()).unwrap();
    put("pass_tx_access_events", h(&access_bytes));
    let erase = Tx {
        kind: TxKind::Erase,
        author: patient.id(),
        seq: 3,
        timestamp: T0 + 9,
        body: TxBody::Erase(vec![rid]),
    };
    put(
        "pass_tx_erase",
        h(&erase.sign(&ledger, patient.signing_key()).unwrap()),
    );
    let update = Tx {
        kind: TxKind::UpdateParticipant,
        author: admin.id(),
        seq: 3,
        timestamp: T0 + 9,
        body: TxBody::Update(ParticipantUpdate {
            participant: patient.id(),
            change: ParticipantChange::AddGuardian(val2.id()),
        }),
    };
    put(
        "pass_tx_update_participant",
        h(&update.sign(&ledger, admin.signing_key()).unwrap()),
    );
    // Key rotation: hospital keys 4 → 6, proof by the new key.
    let new_hosp = kp(6);
    let (new_sign, new_enc) = (new_hosp.public().sign, new_hosp.public().enc);
    let rotation_msg =
        ParticipantUpdate::rotation_message(&ledger, &hosp.id(), &new_sign, &new_enc);
    put("pass_key_rotation_message", h(&rotation_msg));
    let rotate = Tx {
        kind: TxKind::UpdateParticipant,
        author: hosp.id(),
        seq: 5,
        timestamp: T0 + 9,
        body: TxBody::Update(ParticipantUpdate {
            participant: hosp.id(),
            change: ParticipantChange::RotateKeys {
                sign_key: new_sign,
                enc_key: new_enc,
                proof: new_hosp.signing_key().sign(&rotation_msg),
            },
        }),
    };
    put(
        "pass_tx_rotate_keys",
        h(&rotate.sign(&ledger, hosp.signing_key()).unwrap()),
    );
    put(
        "pass_record_key_wrap_context",
        h(&RecordKeyWrap::context(&ledger, &rid, &hosp.id())),
    );
    let receipt = medledger::ErasureReceipt {
        ledger,
        record: rid,
        ciphertext_digest: Digest([9; 32]),
        leaf: 12,
        height: 3,
        erased_at: T0 + 9,
        signer: val1.id(),
        signature: Signature([0; 64]),
    };
    let msg = receipt.signing_message();
    put("pass_erasure_receipt_message", h(&msg));
    put(
        "pass_erasure_receipt_signature",
        h(&val1.signing_key().sign(&msg).0),
    );

    let header0 = BlockHeader {
        ledger_id: ledger,
        height: 1,
        prev_hash: Digest([3; 32]),
        timestamp: T0 + 10,
        first_leaf: 1,
        tx_count: 2,
        log_size: 3,
        log_root: Digest([4; 32]),
        validator_set_hash: genesis.validators.hash(),
    };
    put("pass_block_header", h(&header0.encode()));
    put("pass_block_header_hash", header0.hash().to_hex());
    let idx = genesis.validators.index_of(&val1.id()).unwrap();
    let seal = header0.seal(idx, val1.signing_key());
    put("pass_seal_signature", h(&seal.signature.0));
    let block = Block {
        header: header0,
        seals: vec![seal],
        txs: vec![reg_bytes.clone(), append_bytes.clone()],
    };
    put("pass_block", h(&block.encode()));

    // Payload encryption with a fixed key and nonce.
    let key = AeadKey::from_bytes([0x42; 32]);
    let sealed = key
        .seal_with_nonce(
            &[0x24; 12],
            &header.payload_aad(&ledger, &hosp.id()),
            b"{\"resourceType\":\"Observation\"}",
        )
        .unwrap();
    put("pass_payload_sealed", h(&sealed));
    put("pass_payload_digest", ciphertext_digest(&sealed).to_hex());

    // Fail vectors: (name, hex, expected error).
    let mut fails = Vec::new();
    let mut fail = |name: &str, bytes: Vec<u8>, want: &str| {
        fails.push((name.to_owned(), h(&bytes), want.to_owned()));
    };
    let mut b = append_bytes.clone();
    b.push(0);
    fail("fail_tx_trailing_byte", b, "decode:tx");
    let mut b = append_bytes.clone();
    b[0] = 1;
    fail("fail_tx_version_1", b, "unsupported_version");
    let mut b = append_bytes.clone();
    b[2] = 0x40; // deploy rule: reserved in version 2
    fail("fail_tx_reserved_kind", b, "unsupported_kind");
    let mut b = access_bytes.clone();
    // The first event's decision tag (after prefix, count, record, purpose).
    b[TX_PREFIX_LEN + 4 + 32 + 1] = 0x7f;
    fail(
        "fail_tx_access_unknown_decision",
        b,
        "decode:access.decision",
    );
    let mut b = grant_bytes.clone();
    // The consent's all_categories flag (after patient, grantee, actions, purposes).
    b[TX_PREFIX_LEN + 32 + 32 + 1 + 1] = 2;
    fail("fail_tx_grant_bad_flag", b, "decode:consent.all_categories");
    let mut b = append_bytes.clone();
    b[2] = 0x99;
    b[3] = 0x7f;
    fail("fail_tx_unknown_kind", b, "unsupported_kind");
    fail(
        "fail_tx_truncated",
        append_bytes[..append_bytes.len() - 1].to_vec(),
        "decode:tx.signature",
    );
    let mut b = append_bytes.clone();
    b[52..56].copy_from_slice(&u32::MAX.to_le_bytes());
    fail("fail_tx_body_len_too_long", b, "decode:tx.body");
    // The category "lab" of the epoch share: make it upper case.
    let mut b = append_bytes.clone();
    let pos = b
        .windows(5)
        .position(|w| w == [3, 0, b'l', b'a', b'b'])
        .unwrap();
    b[pos + 2] = b'L';
    fail("fail_tx_bad_category", b, "decode:epoch_share.category");
    fail("fail_tx_empty", vec![], "decode:tx.version");
    let mut b = block.encode();
    b.push(0);
    fail("fail_block_trailing_byte", b, "decode:block");
    let mut b = block.encode();
    b[0] = 9;
    fail("fail_block_version_9", b, "unsupported_version");
    let mut b = block.encode();
    b[166..168].copy_from_slice(&300u16.to_le_bytes());
    fail("fail_block_too_many_seals", b, "decode:block.seal_count");
    (v, fails)
}

fn error_name(e: &Error) -> String {
    match e {
        Error::Decode { what, .. } => format!("decode:{what}"),
        Error::UnsupportedVersion { .. } => "unsupported_version".into(),
        Error::UnsupportedKind(_) => "unsupported_kind".into(),
        other => format!("other:{other}"),
    }
}

#[test]
fn format_v2_golden_vectors() {
    let (pass, fails) = compute();
    let doc = json!({
        "_comment": "medledger format version 2 golden vectors; see tests/golden.rs and docs/FORMAT.md §7. Keys: Keypair::from_seeds([n;32],[n+100;32]) with n = 1 admin, 2 and 3 validators, 4 hospital, 5 patient. pass_* are hex encodings or hashes; fail_* must be refused with `error`.",
        "pass": pass,
        "fail": fails.iter().map(|(n, hx, e)| json!({"name": n, "hex": hx, "error": e})).collect::<Vec<_>>(),
    });
    if std::env::var_os("MEDLEDGER_UPDATE_GOLDEN").is_some() {
        // The sealed box is random when made: keep the pinned one.
        let old: Option<Value> = std::fs::read_to_string(path())
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        let sealed_box = old
            .and_then(|o| o.get("pass_sealed_box").cloned())
            .unwrap_or_else(|| {
                let secret = x25519_dalek::StaticSecret::from([105u8; 32]);
                let recipient = x25519_dalek::PublicKey::from(&secret).to_bytes();
                let sealed = kex::seal(&recipient, b"golden context", &[0x11; 32]).unwrap();
                json!({"recipient_secret": h(&[105u8; 32]), "context": "golden context", "secret": h(&[0x11; 32]), "sealed": h(&sealed)})
            });
        let mut doc = doc.clone();
        doc["pass_sealed_box"] = sealed_box;
        std::fs::write(path(), serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
    }
    let pinned: Value = serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap();
    let pinned_pass = pinned["pass"].as_object().unwrap();
    assert_eq!(pinned_pass.len(), pass.len(), "vector set changed");
    for (k, want) in pinned_pass {
        assert_eq!(
            pass.get(k).map(String::as_str),
            want.as_str(),
            "{k} changed: format change needs a new version"
        );
    }
    let pinned_fail = pinned["fail"].as_array().unwrap();
    assert_eq!(pinned_fail.len(), fails.len());
    for (p, (n, hx, e)) in pinned_fail.iter().zip(&fails) {
        assert_eq!(p["name"], n.as_str());
        assert_eq!(p["hex"], hx.as_str(), "{n}");
        assert_eq!(p["error"], e.as_str(), "{n}");
    }
}

/// The pinned bytes decode and re-encode to themselves, and fail vectors
/// are refused with the pinned error (read from the file, not recomputed).
#[test]
fn pinned_vectors_decode_as_specified() {
    let pinned: Value = serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap();
    let pass = pinned["pass"].as_object().unwrap();
    let bytes = |k: &str| hex::decode(pass[k].as_str().unwrap()).unwrap();
    let mut txs = 0;
    for k in [
        "pass_tx_genesis",
        "pass_tx_register",
        "pass_tx_append",
        "pass_tx_amend",
        "pass_tx_set_validators",
    ] {
        let b = bytes(k);
        let stx = SignedTx::decode(&b).unwrap();
        assert_eq!(stx.encode().unwrap(), b, "{k}");
        txs += 1;
    }
    assert_eq!(txs, 5);
    let ledger = LedgerId(ledger_id_of(&bytes("pass_tx_genesis")).0);
    assert_eq!(ledger.to_hex(), pass["pass_ledger_id"].as_str().unwrap());
    // The register transaction's signature verifies under the admin key.
    let reg = bytes("pass_tx_register");
    let stx = SignedTx::decode(&reg).unwrap();
    let key = medledger::crypto::sign::check_public_key(&kp(1).public().sign).unwrap();
    key.verify_strict(
        &Tx::signing_message(&ledger, SignedTx::unsigned_part(&reg)),
        &stx.signature,
    )
    .unwrap();
    let blk = bytes("pass_block");
    let d = Block::decode(&blk).unwrap();
    assert_eq!(d.block.encode(), blk);
    assert_eq!(
        d.block.header.hash().to_hex(),
        pass["pass_block_header_hash"].as_str().unwrap()
    );
    assert_eq!(
        d.block.seals[0].signature,
        Signature(bytes("pass_seal_signature").try_into().unwrap())
    );
    // Payload: opens with the fixed key under the pinned AAD.
    let opened = AeadKey::from_bytes([0x42; 32])
        .open(
            &bytes("pass_record_aad"),
            &bytes("pass_payload_sealed"),
            "golden",
        )
        .unwrap();
    assert_eq!(&*opened, b"{\"resourceType\":\"Observation\"}");

    let fails = pinned["fail"].as_array().unwrap();
    assert!(fails.len() >= 10);
    for f in fails {
        let name = f["name"].as_str().unwrap();
        let b = hex::decode(f["hex"].as_str().unwrap()).unwrap();
        let err = if name.starts_with("fail_block") {
            Block::decode(&b).err()
        } else {
            SignedTx::decode(&b).err()
        };
        let err = err.unwrap_or_else(|| panic!("{name} decoded"));
        assert_eq!(
            error_name(&err),
            f["error"].as_str().unwrap(),
            "{name}: {err}"
        );
    }
}

/// A sealed box made once with a random ephemeral key and pinned: opening it
/// with the recipient's fixed secret pins the X25519 + HKDF-SHA3-256 +
/// AES-256-GCM construction.
#[test]
fn pinned_sealed_box_opens() {
    let pinned: Value = serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap();
    let sealed_hex = pinned["pass_sealed_box"]["sealed"].as_str();
    let secret = x25519_dalek::StaticSecret::from([105u8; 32]);
    let sealed = hex::decode(sealed_hex.unwrap()).unwrap();
    assert_eq!(sealed.len(), 80);
    let opened = kex::open(&secret, b"golden context", &sealed, "golden").unwrap();
    assert_eq!(&*opened, &[0x11; 32]);
    assert!(kex::open(&secret, b"other context", &sealed, "golden").is_err());
}
