//! Disclosure: audited reads (the access event is durable before any
//! plaintext is released), the access log, and erasure with receipts.

use crate::access::envelope::{open_dek, open_epoch_key, open_payload, unwrap_dek};
use crate::codec::Writer;
use crate::crypto::hash::{Digest, label};
use crate::crypto::keypair::Keypair;
use crate::crypto::sign::{Signature, check_public_key};
use crate::ledger::{Ledger, Record, RecordInfo};
use crate::log::state::{AccessEntry, ChainState, ConsentState, RecordState};
use crate::model::{
    AccessEvent, Basis, Decision, LedgerId, ParticipantId, Purpose, RecordId, Roles, TxBody,
    TxKind, ValidatorSet,
};
use crate::{Error, Result};

/// Where a permitted reader's key comes from.
enum KeySource {
    /// A category key sealed to this participant (the reader, or the
    /// custodian under break-glass).
    Epoch([u8; crate::model::record::SEALED_KEY_LEN], bool),
    /// The record's data key sealed to the reader by a record-level consent.
    Record([u8; crate::model::consent::SEALED_DEK_LEN]),
}

/// One record of a read request, as decided before the event is recorded.
struct Planned {
    info: RecordInfo,
    decision: Decision,
    key: Option<KeySource>,
}

/// A signed statement that a record's payload was erased from this node's
/// vault by the erase transaction at `leaf` (block `height`). Signed by one
/// of the node's validators (docs/FORMAT.md §4.6).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ErasureReceipt {
    /// The ledger.
    pub ledger: LedgerId,
    /// The erased record version.
    pub record: RecordId,
    /// Digest of the erased ciphertext (still on the chain).
    pub ciphertext_digest: Digest,
    /// Leaf index of the erase transaction.
    pub leaf: u64,
    /// Height of its block.
    pub height: u64,
    /// Time of the erase transaction, ms.
    pub erased_at: u64,
    /// The validator that signed this receipt.
    pub signer: ParticipantId,
    /// Ed25519 over [`ErasureReceipt::signing_message`].
    pub signature: Signature,
}

impl ErasureReceipt {
    /// `u8 len ‖ "medledger/v2/erasure-receipt" ‖ ledger ‖ record ‖ digest ‖
    /// u64 leaf ‖ u64 height ‖ u64 erased_at ‖ signer`.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(200);
        w.u8(u8::try_from(label::ERASURE_RECEIPT.len()).unwrap_or(u8::MAX))
            .raw(label::ERASURE_RECEIPT.as_bytes())
            .digest(&self.ledger.0)
            .digest(&self.record.0)
            .digest(&self.ciphertext_digest)
            .u64(self.leaf)
            .u64(self.height)
            .u64(self.erased_at)
            .digest(&self.signer.0);
        w.into_bytes()
    }

    /// Checks the signature under the key `validators` lists for the
    /// signer (strict Ed25519).
    pub fn verify(&self, validators: &ValidatorSet) -> Result<()> {
        let member = validators
            .members
            .iter()
            .find(|m| m.id == self.signer)
            .ok_or_else(|| Error::invalid("receipt.signer", "not in the validator set"))?;
        check_public_key(&member.key)?.verify_strict(&self.signing_message(), &self.signature)
    }
}

impl Ledger {
    /// Reads one record for `purpose`: decides under the access rules,
    /// records the attempt (permitted or denied) as an access event, and —
    /// only once that event is committed — decrypts. A denial is returned
    /// as [`Error::AccessDenied`] saying why; the denied attempt is
    /// committed with the next block. A read-only open never releases
    /// plaintext.
    pub fn read_record(&self, reader: &Keypair, id: &RecordId, purpose: Purpose) -> Result<Record> {
        self.read_records(reader, &[*id], purpose)?
            .pop()
            .ok_or_else(|| Error::System("read produced no result".into()))?
    }

    /// Reads many records for one purpose with one access-event transaction
    /// and one commit (one signature and one `fsync` for the lot). Returns
    /// one result per id, in order; ids of records that are not committed
    /// yield `NotFound` and no event.
    pub fn read_records(
        &self,
        reader: &Keypair,
        ids: &[RecordId],
        purpose: Purpose,
    ) -> Result<Vec<Result<Record>>> {
        if self.read_only {
            return Err(Error::Denied(
                "a read-only open never releases plaintext (it cannot record the disclosure)"
                    .into(),
            ));
        }
        if ids.is_empty() {
            return Err(Error::invalid("records", "nothing to read"));
        }
        let (_, custodian) = self.node_keys()?;
        let me = reader.id();
        let mut plans: Vec<Result<Planned>> = Vec::with_capacity(ids.len());
        let submitted = self.submit_with(reader, TxKind::AccessEvents, |inner, t| {
            let state = &inner.state;
            for id in ids {
                let planned = state
                    .records
                    .get(id)
                    .filter(|r| r.position.leaf < inner.head.log_size)
                    .ok_or_else(|| Error::NotFound(format!("committed record {id}")))
                    .and_then(|rec| {
                        let decision = state.decide(&me, rec, purpose, t);
                        let key = match decision {
                            Decision::Permit(basis) => {
                                Some(key_source(state, rec, &me, basis, custodian.as_deref())?)
                            }
                            Decision::Deny(_) => None,
                        };
                        Ok(Planned {
                            info: super::info_of(rec),
                            decision,
                            key,
                        })
                    });
                plans.push(planned);
            }
            let events: Vec<AccessEvent> = plans
                .iter()
                .filter_map(|p| p.as_ref().ok())
                .map(|p| AccessEvent {
                    record: p.info.header.id,
                    purpose,
                    decision: p.decision,
                })
                .collect();
            Ok((!events.is_empty()).then_some(TxBody::Access(events)))
        })?;
        let any_permit = plans
            .iter()
            .any(|p| p.as_ref().is_ok_and(|p| p.decision.is_permit()));
        if let (Some((_, leaf, _)), true) = (submitted, any_permit) {
            self.await_commit(leaf)?;
        }
        Ok(plans
            .into_iter()
            .map(|p| p.and_then(|p| self.disclose(reader, custodian.as_deref(), p, purpose)))
            .collect())
    }

    /// Decrypts a planned read whose event is committed.
    fn disclose(
        &self,
        reader: &Keypair,
        custodian: Option<&Keypair>,
        p: Planned,
        purpose: Purpose,
    ) -> Result<Record> {
        let h = &p.info.header;
        let key = match (p.decision, p.key) {
            (Decision::Permit(_), Some(k)) => k,
            (Decision::Deny(reason), _) => {
                return Err(Error::AccessDenied {
                    reason,
                    detail: format!(
                        "{} may not read record {} for {} (the attempt is recorded)",
                        reader.id(),
                        h.id,
                        purpose.code()
                    ),
                });
            }
            (Decision::Permit(_), None) => {
                return Err(Error::System("permitted read without a key".into()));
            }
        };
        let ciphertext = self
            .store
            .get_payload(&h.ciphertext_digest)?
            .ok_or_else(|| {
                Error::NotFound(format!("ciphertext of record {} in the vault", h.id))
            })?;
        let dek = match key {
            KeySource::Epoch(sealed, via_custodian) => {
                let holder = if via_custodian {
                    custodian.ok_or_else(|| Error::System("custodian key detached".into()))?
                } else {
                    reader
                };
                let ck = open_epoch_key(
                    &self.id,
                    holder,
                    &h.patient,
                    &h.category,
                    h.key_epoch,
                    &sealed,
                )?;
                unwrap_dek(&self.id, h, &ck)?
            }
            KeySource::Record(sealed) => open_dek(&self.id, reader, &h.id, &sealed)?,
        };
        let plaintext = open_payload(&self.id, &p.info.author, h, &dek, &ciphertext)?;
        Ok(Record {
            info: p.info,
            plaintext,
        })
    }

    /// The recorded read attempts on `patient`'s records ("who saw my
    /// record"), oldest first, committed ones only. `requester` must be the
    /// patient, a guardian, or an auditor. Querying the log is not itself a
    /// disclosure of record contents and is not recorded.
    pub fn access_log(
        &self,
        requester: &ParticipantId,
        patient: &ParticipantId,
    ) -> Result<Vec<AccessEntry>> {
        let inner = self.read()?;
        let state = &inner.state;
        let auditor = state
            .participant(requester)
            .is_some_and(|p| p.info.roles.contains(Roles::AUDITOR));
        if requester != patient && !state.is_guardian(requester, patient) && !auditor {
            return Err(Error::Denied(format!(
                "{requester} may not see the access log of {patient}: only the patient, a \
                 guardian or an auditor may"
            )));
        }
        let committed = inner.head.log_size;
        Ok(state
            .access_by_patient
            .get(patient)
            .into_iter()
            .flatten()
            .filter_map(|i| state.access_log.get(*i))
            .filter(|e| e.position.leaf < committed)
            .cloned()
            .collect())
    }

    /// Every committed read made under break-glass, for review. Only an
    /// auditor or an admin may list them.
    pub fn break_glass_reviews(&self, requester: &ParticipantId) -> Result<Vec<AccessEntry>> {
        let inner = self.read()?;
        let state = &inner.state;
        let allowed = state
            .participant(requester)
            .is_some_and(|p| p.info.roles.0 & (Roles::AUDITOR.0 | Roles::ADMIN.0) != 0);
        if !allowed {
            return Err(Error::Denied(format!(
                "{requester} may not review break-glass reads: auditors and admins may"
            )));
        }
        let committed = inner.head.log_size;
        Ok(state
            .access_log
            .iter()
            .filter(|e| {
                e.position.leaf < committed
                    && matches!(e.decision, Decision::Permit(Basis::BreakGlass(_)))
            })
            .cloned()
            .collect())
    }

    /// The consents of `patient` (active, expired and revoked), in grant
    /// order, for the patient, a guardian or an auditor.
    pub fn consents(
        &self,
        requester: &ParticipantId,
        patient: &ParticipantId,
    ) -> Result<Vec<ConsentState>> {
        self.access_log(requester, patient)?;
        let inner = self.read()?;
        let state = &inner.state;
        Ok(state
            .consents_by_patient
            .get(patient)
            .into_iter()
            .flatten()
            .filter_map(|id| state.consents.get(id))
            .cloned()
            .collect())
    }

    /// Erases record versions (GDPR art. 17, or a correction): submits the
    /// erase transaction (by the patient, a guardian, or the records'
    /// author), waits until it is committed, removes each ciphertext from
    /// the vault and returns one receipt per record, signed by this node's
    /// first validator key. The chain keeps the headers and digests;
    /// verification reports the payloads as erased, not missing.
    pub fn erase(&self, author: &Keypair, ids: &[RecordId]) -> Result<Vec<ErasureReceipt>> {
        let (validators, _) = self.node_keys()?;
        let signer = validators.first().cloned().ok_or_else(|| {
            Error::invalid(
                "erase",
                "this node holds no validator key to sign receipts with (attach_validators)",
            )
        })?;
        let (_, leaf, t) = self.submit_body(author, TxKind::Erase, TxBody::Erase(ids.to_vec()))?;
        self.await_commit(leaf)?;
        let height = {
            let inner = self.read()?;
            ids.first()
                .and_then(|id| inner.state.records.get(id))
                .and_then(|r| r.erased)
                .map_or(inner.head.height, |p| p.height)
        };
        let mut receipts = Vec::with_capacity(ids.len());
        for id in ids {
            let digest = self.record_info(id)?.header.ciphertext_digest;
            {
                let _commit = self.commit_guard()?;
                self.store.erase_payload(&digest)?;
            }
            let mut receipt = ErasureReceipt {
                ledger: self.id,
                record: *id,
                ciphertext_digest: digest,
                leaf,
                height,
                erased_at: t,
                signer: signer.id(),
                signature: Signature([0; 64]),
            };
            receipt.signature = signer.signing_key().sign(&receipt.signing_message());
            receipts.push(receipt);
        }
        Ok(receipts)
    }
}

/// Where the key for a permitted read comes from, checked before the
/// event is recorded (so a permitted event means plaintext was released).
fn key_source(
    state: &ChainState,
    rec: &RecordState,
    reader: &ParticipantId,
    basis: Basis,
    custodian: Option<&Keypair>,
) -> Result<KeySource> {
    let h = &rec.header;
    let epoch_wrap = |who: &ParticipantId| {
        state
            .held_wrap(&h.patient, &h.category, h.key_epoch, who)
            .copied()
    };
    if let Basis::BreakGlass(_) = basis {
        let c = custodian.ok_or_else(|| {
            Error::Denied("break-glass read: this node holds no custodian key".into())
        })?;
        return epoch_wrap(&c.id())
            .map(|s| KeySource::Epoch(s, true))
            .ok_or_else(|| {
                Error::Denied(format!(
                    "break-glass read: custodian {} holds no escrowed key for ({}, {}) epoch {}",
                    c.id(),
                    h.patient,
                    h.category,
                    h.key_epoch
                ))
            });
    }
    if let Some(s) = epoch_wrap(reader) {
        return Ok(KeySource::Epoch(s, false));
    }
    if let Some(s) = state.record_keys.get(&(h.id, *reader)) {
        return Ok(KeySource::Record(*s));
    }
    Err(Error::Denied(format!(
        "{reader} is permitted but holds no key for ({}, {}) epoch {}: the patient must share \
         keys (share_keys)",
        h.patient, h.category, h.key_epoch
    )))
}
