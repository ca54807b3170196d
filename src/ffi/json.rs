//! JSON documents the C API hands out (the access log, consents, record
//! facts, participants, the validator set, block headers).

use serde_json::{Map, Value, json};

use crate::crypto::hash::Digest;
use crate::log::block::BlockHeader;
use crate::log::state::{AccessEntry, ConsentState};
use crate::model::{Basis, Decision, DenyReason, Purpose};
use crate::{Participant, RecordInfo, ValidatorSet};

use super::status::deny_status;

/// The name of a deny reason in documents (and in the Python bindings).
pub(crate) fn deny_reason_name(reason: DenyReason) -> &'static str {
    match reason {
        DenyReason::NoConsent => "no_consent",
        DenyReason::Expired => "expired",
        DenyReason::NotYetValid => "not_yet_valid",
        DenyReason::WrongPurpose => "wrong_purpose",
        DenyReason::Revoked => "revoked",
        DenyReason::Suspended => "suspended",
        DenyReason::Erased => "erased",
    }
}

fn access_entry(e: &AccessEntry) -> Value {
    let mut o = Map::new();
    o.insert("reader".into(), json!(e.reader.to_hex()));
    o.insert("patient".into(), json!(e.patient.to_hex()));
    o.insert("record".into(), json!(e.record.to_hex()));
    o.insert("category".into(), json!(e.category.as_str()));
    o.insert("purpose".into(), json!(e.purpose.code()));
    match e.decision {
        Decision::Permit(basis) => {
            o.insert("decision".into(), json!("permit"));
            let name = match basis {
                Basis::Patient => "patient",
                Basis::Guardian => "guardian",
                Basis::Author => "author",
                Basis::Consent(_) => "consent",
                Basis::BreakGlass(_) => "break_glass",
            };
            o.insert("basis".into(), json!(name));
            match basis {
                Basis::Consent(id) => {
                    o.insert("consent".into(), json!(id.to_hex()));
                }
                Basis::BreakGlass(id) => {
                    o.insert("break_glass".into(), json!(id.to_hex()));
                }
                Basis::Patient | Basis::Guardian | Basis::Author => {}
            }
        }
        Decision::Deny(reason) => {
            o.insert("decision".into(), json!("deny"));
            o.insert("reason".into(), json!(deny_reason_name(reason)));
            o.insert("status".into(), json!(deny_status(reason)));
        }
    }
    o.insert("time".into(), json!(e.time));
    o.insert("height".into(), json!(e.position.height));
    o.insert("tx_index".into(), json!(e.position.tx_index));
    o.insert("leaf".into(), json!(e.position.leaf));
    Value::Object(o)
}

/// A JSON array of access-log entries.
pub(crate) fn access_entries(entries: &[AccessEntry]) -> String {
    Value::Array(entries.iter().map(access_entry).collect()).to_string()
}

fn consent(c: &ConsentState) -> Value {
    let k = &c.consent;
    json!({
        "id": c.id.to_hex(),
        "patient": k.patient.to_hex(),
        "grantee": k.grantee.to_hex(),
        "granted_by": c.granted_by.to_hex(),
        "actions": k.actions.0,
        "purposes": k.purposes.iter().map(Purpose::code).collect::<Vec<_>>(),
        "all_categories": k.scope.all_categories,
        "categories": k.scope.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "records": k.scope.records.iter().map(|r| r.to_hex()).collect::<Vec<_>>(),
        "not_before": k.not_before,
        "not_after": k.not_after,
        "granted_at": c.granted_at,
        "revoked_at": c.revoked_at,
        "height": c.position.height,
        "leaf": c.position.leaf,
    })
}

/// A JSON array of consents.
pub(crate) fn consents(list: &[ConsentState]) -> String {
    Value::Array(list.iter().map(consent).collect()).to_string()
}

/// The public facts of a committed record version (no plaintext, no
/// wrapped key).
pub(crate) fn record_info(r: &RecordInfo) -> String {
    let h = &r.header;
    json!({
        "id": h.id.to_hex(),
        "patient": h.patient.to_hex(),
        "author": r.author.to_hex(),
        "category": h.category.as_str(),
        "content_type": h.content_type,
        "version": h.version,
        "amends": h.amends.map(|id| id.to_hex()),
        "superseded_by": r.superseded_by.map(|id| id.to_hex()),
        "key_epoch": h.key_epoch,
        "ciphertext_len": h.ciphertext_len,
        "ciphertext_digest": h.ciphertext_digest.to_hex(),
        "height": r.height,
        "leaf": r.leaf,
        "erased": r.erased,
    })
    .to_string()
}

/// A 32-byte public key as 64 lowercase hex digits (as ids are written).
fn key_hex(key: [u8; 32]) -> String {
    Digest(key).to_hex()
}

/// A registered participant's public facts.
pub(crate) fn participant(p: &Participant) -> String {
    json!({
        "id": p.id.to_hex(),
        "roles": p.roles.0,
        "label": p.label,
        "sign_key": key_hex(p.sign_key),
        "enc_key": key_hex(p.enc_key),
        "escrow_opt_out": p.escrow_opt_out,
    })
    .to_string()
}

/// A validator set: threshold, members in index order, and its hash.
pub(crate) fn validators(set: &ValidatorSet) -> String {
    let members: Vec<Value> = set
        .members
        .iter()
        .map(|m| json!({ "id": m.id.to_hex(), "key": key_hex(m.key) }))
        .collect();
    json!({
        "threshold": set.threshold,
        "members": members,
        "hash": set.hash().to_hex(),
    })
    .to_string()
}

/// Every field of a block header, and its hash.
pub(crate) fn header(h: &BlockHeader) -> String {
    json!({
        "ledger_id": h.ledger_id.to_hex(),
        "height": h.height,
        "prev_hash": h.prev_hash.to_hex(),
        "timestamp": h.timestamp,
        "first_leaf": h.first_leaf,
        "tx_count": h.tx_count,
        "log_size": h.log_size,
        "log_root": h.log_root.to_hex(),
        "validator_set_hash": h.validator_set_hash.to_hex(),
        "hash": h.hash().to_hex(),
    })
    .to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::log::state::TxPosition;
    use crate::model::{Category, ConsentId, ParticipantId, RecordId};

    fn entry(decision: Decision) -> AccessEntry {
        AccessEntry {
            reader: ParticipantId(Digest([1; 32])),
            patient: ParticipantId(Digest([2; 32])),
            record: RecordId(Digest([3; 32])),
            category: Category::new("lab").unwrap(),
            purpose: Purpose::Treat,
            decision,
            time: 42,
            position: TxPosition {
                height: 5,
                tx_index: 1,
                leaf: 9,
            },
        }
    }

    #[test]
    fn access_entries_are_valid_json_with_the_documented_fields() {
        let doc = access_entries(&[
            entry(Decision::Permit(Basis::Consent(ConsentId(Digest([4; 32]))))),
            entry(Decision::Deny(DenyReason::Revoked)),
        ]);
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        let a = v.as_array().unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0]["decision"], "permit");
        assert_eq!(a[0]["basis"], "consent");
        assert_eq!(a[0]["consent"], "04".repeat(32));
        assert_eq!(a[0]["purpose"], "TREAT");
        assert_eq!(a[0]["height"], 5);
        assert_eq!(a[1]["decision"], "deny");
        assert_eq!(a[1]["reason"], "revoked");
        assert_eq!(a[1]["status"], 314);
        assert_eq!(access_entries(&[]), "[]");
    }
}
