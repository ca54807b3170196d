//! Evidence bundles (docs/FORMAT.md §9): one self-contained file from which
//! a patient, auditor or court checks that a transaction (and optionally
//! one record's ciphertext) is in a ledger, with nothing but the file.
//!
//! [`verify`] starts from the genesis transaction (whose hash is the ledger
//! id and which fixes the first validator set), follows the validator-set
//! changes, each proven to be in a block sealed by the set before it, to
//! the set that must seal the target block, checks that block's seals, the
//! target's inclusion proof to the block's `log_root`, the author's
//! signature under the key the ledger registered for it at the time, and
//! the ciphertext against the digest in the record header.

use crate::codec::{Reader, Writer};
use crate::crypto::hash::Digest;
use crate::crypto::sign::{Signature, check_public_key};
use crate::log::block::{BlockHeader, Seal};
use crate::model::consent::{ParticipantChange, ParticipantUpdate};
use crate::model::tx::{MAX_TX_LEN, ciphertext_digest, ledger_id_of};
use crate::model::validators::MAX_VALIDATORS;
use crate::model::{LedgerId, ParticipantId, RecordId, SignedTx, Tx, TxBody, TxKind, ValidatorSet};
use crate::proof::inclusion::InclusionProof;
use crate::{Error, Result};

/// First 8 bytes of every bundle: `"MEDLEVI\n"`.
pub const MAGIC: [u8; 8] = *b"MEDLEVI\n";
/// The bundle format version this build writes and reads.
pub const EVIDENCE_VERSION: u16 = 1;
/// Most validator-set changes, and most key events, one bundle holds.
pub const MAX_ENTRIES: usize = 65_536;
/// Most hashes in one inclusion path (a log has fewer than 2^64 leaves).
pub const MAX_PATH: usize = 64;
/// Largest ciphertext a bundle carries: `MAX_PAYLOAD_LEN` (64 MiB) + 28.
const MAX_CIPHERTEXT: usize = (64 << 20) + 28;
/// Smallest encoding of a committed transaction: leaf, empty tx, empty path.
const MIN_COMMITTED: usize = 8 + 4 + 1;

/// What an evidence bundle is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvidenceTarget {
    /// The transaction that holds this record version; the ciphertext, if
    /// asked for, is this record's.
    Record(RecordId),
    /// The transaction at this log index (not the genesis, leaf 0); the
    /// ciphertext, if asked for, is that of its first record.
    Leaf(u64),
}

/// What [`verify`] established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceReport {
    /// The ledger (hash of the genesis in the bundle).
    pub ledger_id: LedgerId,
    /// Log index of the target transaction.
    pub leaf: u64,
    /// Its kind.
    pub kind: TxKind,
    /// Its author.
    pub author: ParticipantId,
    /// Its timestamp (ms, set by the author).
    pub timestamp: u64,
    /// The record ids it carries (empty unless it carries records).
    pub records: Vec<RecordId>,
    /// Height of the sealed block holding it.
    pub height: u64,
    /// That block's header hash.
    pub header_hash: Digest,
    /// Its timestamp (ms, set by the sequencer).
    pub block_timestamp: u64,
    /// Valid seals on that block (at least the threshold of its set).
    pub seals: usize,
    /// Hash of the validator set that sealed it.
    pub validator_set_hash: Digest,
    /// Validator-set changes followed from genesis.
    pub validator_changes: usize,
    /// The Ed25519 key the target's signature verified under.
    pub signer_key: [u8; 32],
    /// The record whose ciphertext was checked against its header, if any.
    pub ciphertext_of: Option<RecordId>,
}

/// A block header with its seals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SealedHeader {
    pub(crate) header: BlockHeader,
    pub(crate) seals: Vec<Seal>,
}

/// A transaction with its log index and inclusion path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Committed {
    pub(crate) leaf: u64,
    pub(crate) tx: Vec<u8>,
    pub(crate) path: Vec<Digest>,
}

/// A `SetValidators` transaction and the sealed header of its block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) tx: Committed,
    pub(crate) block: SealedHeader,
}

/// The ciphertext of one record of the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ciphertext {
    pub(crate) record_index: u32,
    pub(crate) bytes: Vec<u8>,
}

/// A decoded bundle (docs/FORMAT.md §9.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bundle {
    pub(crate) genesis: Vec<u8>,
    pub(crate) changes: Vec<Change>,
    pub(crate) key_events: Vec<Committed>,
    pub(crate) target: Committed,
    pub(crate) ciphertext: Option<Ciphertext>,
    pub(crate) block: SealedHeader,
}

impl SealedHeader {
    fn encode(&self, w: &mut Writer) {
        w.raw(&self.header.encode());
        w.u16(u16::try_from(self.seals.len()).unwrap_or(u16::MAX));
        for s in &self.seals {
            w.u16(s.validator).raw(&s.signature.0);
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let header = BlockHeader::decode(r)?;
        let at = r.offset();
        let n = usize::from(r.u16("evidence.seal_count")?);
        if n > MAX_VALIDATORS {
            return Err(Error::Decode {
                what: "evidence.seal_count",
                offset: at,
                reason: "more seals than validators allowed",
            });
        }
        let mut seals = Vec::with_capacity(n);
        for _ in 0..n {
            seals.push(Seal {
                validator: r.u16("evidence.seals.validator")?,
                signature: Signature(r.fixed("evidence.seals.signature")?),
            });
        }
        Ok(SealedHeader { header, seals })
    }
}

impl Committed {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.leaf).bytes(&self.tx);
        w.u8(u8::try_from(self.path.len()).unwrap_or(u8::MAX));
        for h in &self.path {
            w.digest(h);
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let leaf = r.u64("evidence.leaf")?;
        let tx = r.bytes(MAX_TX_LEN, "evidence.tx")?.to_vec();
        let at = r.offset();
        let n = usize::from(r.u8("evidence.path")?);
        if n > MAX_PATH {
            return Err(Error::Decode {
                what: "evidence.path",
                offset: at,
                reason: "more than 64 hashes",
            });
        }
        let mut path = Vec::with_capacity(n);
        for _ in 0..n {
            path.push(r.digest("evidence.path.hash")?);
        }
        Ok(Committed { leaf, tx, path })
    }
}

impl Bundle {
    /// The canonical encoding (docs/FORMAT.md §9.1).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(&MAGIC).u16(EVIDENCE_VERSION).bytes(&self.genesis);
        w.count(self.changes.len());
        for c in &self.changes {
            c.tx.encode(&mut w);
            c.block.encode(&mut w);
        }
        w.count(self.key_events.len());
        for k in &self.key_events {
            k.encode(&mut w);
        }
        self.target.encode(&mut w);
        match &self.ciphertext {
            None => {
                w.u8(0);
            }
            Some(c) => {
                w.u8(1).u32(c.record_index).bytes(&c.bytes);
            }
        }
        self.block.encode(&mut w);
        w.into_bytes()
    }

    /// Decodes a bundle; rejects a wrong magic, another version, limits
    /// exceeded, a presence byte other than 0 or 1 and trailing bytes.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let magic: [u8; 8] = r.fixed("evidence.magic")?;
        if magic != MAGIC {
            return Err(Error::Decode {
                what: "evidence.magic",
                offset: 0,
                reason: "not an evidence bundle",
            });
        }
        let version = r.u16("evidence.version")?;
        if version != EVIDENCE_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "evidence bundle",
                found: version,
                supported: EVIDENCE_VERSION,
            });
        }
        let genesis = r.bytes(MAX_TX_LEN, "evidence.genesis")?.to_vec();
        let n = r.count(
            MAX_ENTRIES,
            MIN_COMMITTED + crate::log::block::HEADER_LEN + 2,
            "evidence.changes",
        )?;
        let mut changes = Vec::with_capacity(n);
        for _ in 0..n {
            let tx = Committed::decode(&mut r)?;
            let block = SealedHeader::decode(&mut r)?;
            changes.push(Change { tx, block });
        }
        let n = r.count(MAX_ENTRIES, MIN_COMMITTED, "evidence.key_events")?;
        let mut key_events = Vec::with_capacity(n);
        for _ in 0..n {
            key_events.push(Committed::decode(&mut r)?);
        }
        let target = Committed::decode(&mut r)?;
        let at = r.offset();
        let ciphertext = match r.u8("evidence.ciphertext")? {
            0 => None,
            1 => Some(Ciphertext {
                record_index: r.u32("evidence.ciphertext.record_index")?,
                bytes: r
                    .bytes(MAX_CIPHERTEXT, "evidence.ciphertext.bytes")?
                    .to_vec(),
            }),
            _ => {
                return Err(Error::Decode {
                    what: "evidence.ciphertext",
                    offset: at,
                    reason: "presence byte must be 0 or 1",
                });
            }
        };
        let block = SealedHeader::decode(&mut r)?;
        r.finish("evidence")?;
        Ok(Bundle {
            genesis,
            changes,
            key_events,
            target,
            ciphertext,
            block,
        })
    }
}

fn fail(part: String, field: &'static str, reason: impl Into<String>) -> Error {
    Error::Evidence {
        part,
        field,
        reason: reason.into(),
    }
}

/// A validator set with its hash, in force for the blocks being checked.
struct SetInForce {
    set: ValidatorSet,
    hash: Digest,
}

impl SetInForce {
    /// Installs `set` after checking what §5.1 requires of its shape and
    /// that every key passes the registration check of §4.4.
    fn install(set: ValidatorSet, part: &str) -> Result<Self> {
        set.validate()
            .map_err(|e| fail(part.to_owned(), "validators", e.to_string()))?;
        for m in &set.members {
            check_public_key(&m.key).map_err(|e| {
                fail(
                    part.to_owned(),
                    "validators.members.key",
                    format!("member {}: {e}", m.id),
                )
            })?;
        }
        let hash = set.hash();
        Ok(SetInForce { set, hash })
    }
}

/// Checks a sealed header of `ledger` against the set in force: ledger id,
/// `log_size`, the committed set hash, then every seal strictly (any bad
/// seal rejects the header) and the threshold. Returns the seal count.
fn check_block(part: &str, b: &SealedHeader, ledger: &LedgerId, set: &SetInForce) -> Result<usize> {
    let h = &b.header;
    if h.ledger_id != *ledger {
        return Err(fail(
            part.to_owned(),
            "header.ledger_id",
            format!("names ledger {}, the genesis gives {ledger}", h.ledger_id),
        ));
    }
    if h.first_leaf.checked_add(u64::from(h.tx_count)) != Some(h.log_size) {
        return Err(fail(
            part.to_owned(),
            "header.log_size",
            "is not first_leaf + tx_count",
        ));
    }
    if !h.validator_set_hash.ct_eq(&set.hash) {
        return Err(fail(
            part.to_owned(),
            "header.validator_set_hash",
            "is not the hash of the validator set in force (a change is missing or forged)",
        ));
    }
    let message = BlockHeader::seal_message(&h.hash());
    let mut last: Option<u16> = None;
    for s in &b.seals {
        if last.is_some_and(|l| s.validator <= l) {
            return Err(fail(
                part.to_owned(),
                "seals",
                "validator indices are not strictly ascending",
            ));
        }
        last = Some(s.validator);
        let member = set
            .set
            .members
            .get(usize::from(s.validator))
            .ok_or_else(|| {
                fail(
                    part.to_owned(),
                    "seals",
                    format!("validator index {} is outside the set", s.validator),
                )
            })?;
        check_public_key(&member.key)
            .and_then(|k| k.verify_strict(&message, &s.signature))
            .map_err(|e| {
                fail(
                    part.to_owned(),
                    "seals",
                    format!("seal of validator {}: {e}", s.validator),
                )
            })?;
    }
    let need = usize::from(set.set.threshold);
    if b.seals.len() < need {
        return Err(fail(
            part.to_owned(),
            "seals",
            format!("{} valid seals, the threshold is {need}", b.seals.len()),
        ));
    }
    Ok(b.seals.len())
}

/// Checks that `c` is a leaf of the block's log, by its inclusion proof to
/// the sealed `log_root`; `within` also requires it to be in the block itself.
fn check_included(part: &str, c: &Committed, h: &BlockHeader, within: bool) -> Result<()> {
    let low = if within { h.first_leaf } else { 0 };
    if c.leaf < low || c.leaf >= h.log_size {
        return Err(fail(
            part.to_owned(),
            "leaf",
            format!(
                "{} is not in [{low}, {}) of block {}",
                c.leaf, h.log_size, h.height
            ),
        ));
    }
    let proof = InclusionProof {
        leaf: c.leaf,
        size: h.log_size,
        hashes: c.path.clone(),
    };
    proof
        .verify(&c.tx, &h.log_root)
        .map_err(|e| fail(part.to_owned(), "proof", e.to_string()))
}

fn decode_tx(part: &str, bytes: &[u8]) -> Result<SignedTx> {
    SignedTx::decode(bytes).map_err(|e| fail(part.to_owned(), "tx", e.to_string()))
}

/// The new signing key of a rotation of `participant`'s keys (§3.18),
/// after checking its proof of possession and, when the participant
/// rotates its own keys, the transaction's signature under `current`.
fn rotated_key(
    part: &str,
    ledger: &LedgerId,
    participant: &ParticipantId,
    stx: &SignedTx,
    tx_bytes: &[u8],
    current: &[u8; 32],
) -> Result<[u8; 32]> {
    let TxBody::Update(ParticipantUpdate {
        participant: p,
        change:
            ParticipantChange::RotateKeys {
                sign_key,
                enc_key,
                proof,
            },
    }) = &stx.tx.body
    else {
        return Err(fail(
            part.to_owned(),
            "tx.body",
            "is not a rotation of the author's keys",
        ));
    };
    if p != participant {
        return Err(fail(
            part.to_owned(),
            "tx.body.participant",
            "is not the target's author",
        ));
    }
    let message = ParticipantUpdate::rotation_message(ledger, participant, sign_key, enc_key);
    check_public_key(sign_key)
        .and_then(|k| k.verify_strict(&message, proof))
        .map_err(|e| fail(part.to_owned(), "tx.body.proof", e.to_string()))?;
    if stx.tx.author == *participant {
        let message = Tx::signing_message(ledger, SignedTx::unsigned_part(tx_bytes));
        check_public_key(current)
            .and_then(|k| k.verify_strict(&message, &stx.signature))
            .map_err(|e| fail(part.to_owned(), "tx.signature", e.to_string()))?;
    }
    Ok(*sign_key)
}

/// [`verify`], and the bundle must be for `ledger`: a bundle is only as
/// good as the ledger id it is checked against, which the checker learns
/// out of band (e.g. published by the consortium).
pub fn verify_for_ledger(bytes: &[u8], ledger: &LedgerId) -> Result<EvidenceReport> {
    let report = verify(bytes)?;
    if report.ledger_id != *ledger {
        return Err(fail(
            "genesis".into(),
            "ledger_id",
            format!(
                "the bundle is for ledger {}, not {}",
                report.ledger_id.to_hex(),
                ledger.to_hex()
            ),
        ));
    }
    Ok(report)
}

/// Verifies an evidence bundle offline (docs/FORMAT.md §9.2). Never panics;
/// every failure names the part of the bundle and the field.
pub fn verify(bytes: &[u8]) -> Result<EvidenceReport> {
    let b = Bundle::decode(bytes)?;

    // 1. Genesis: fixes the ledger id and the first validator set.
    let genesis = decode_tx("genesis", &b.genesis)?;
    let TxBody::Genesis(g) = genesis.tx.body else {
        return Err(fail("genesis".into(), "tx.kind", "is not Genesis"));
    };
    if genesis.tx.author != ParticipantId(Digest::ZERO)
        || genesis.tx.seq != 0
        || genesis.signature.0 != [0u8; 64]
    {
        return Err(fail(
            "genesis".into(),
            "tx",
            "author, seq and signature of a genesis must be zero",
        ));
    }
    let ledger = ledger_id_of(&b.genesis);
    let mut set = SetInForce::install(g.validators, "genesis")?;

    // 2. Validator-set changes, each in a block sealed by the set before it.
    let mut prev_height = 0u64;
    for (i, c) in b.changes.iter().enumerate() {
        let part = format!("validator change {i}");
        let h = &c.block.header;
        if h.height <= prev_height {
            return Err(fail(
                part,
                "header.height",
                format!("{} is not above the previous block {prev_height}", h.height),
            ));
        }
        check_block(&part, &c.block, &ledger, &set)?;
        check_included(&part, &c.tx, h, true)?;
        let stx = decode_tx(&part, &c.tx.tx)?;
        let TxBody::SetValidators(next) = stx.tx.body else {
            return Err(fail(part, "tx.kind", "is not SetValidators"));
        };
        set = SetInForce::install(next, &part)?;
        prev_height = h.height;
    }

    // 3. The target block, sealed by the set now in force.
    let part = "target block";
    let h = &b.block.header;
    if h.height <= prev_height {
        return Err(fail(
            part.into(),
            "header.height",
            format!(
                "{} is not above the block {prev_height} of the last change",
                h.height
            ),
        ));
    }
    let seals = check_block(part, &b.block, &ledger, &set)?;
    check_included("target", &b.target, h, true)?;
    let target = decode_tx("target", &b.target.tx)?;
    if target.tx.kind == TxKind::Genesis {
        return Err(fail("target".into(), "tx.kind", "is a genesis"));
    }

    // 4. The author's key at the time: genesis membership or registration,
    // then rotations, each committed before the target.
    let author = target.tx.author;
    let mut key = g
        .participants
        .iter()
        .find(|p| p.id == author)
        .map(|p| p.sign_key);
    let mut prev_leaf: Option<u64> = None;
    for (i, k) in b.key_events.iter().enumerate() {
        let part = format!("key event {i}");
        if k.leaf >= b.target.leaf || prev_leaf.is_some_and(|p| k.leaf <= p) {
            return Err(fail(
                part,
                "leaf",
                "key events must be strictly ascending and before the target",
            ));
        }
        prev_leaf = Some(k.leaf);
        check_included(&part, k, h, false)?;
        let stx = decode_tx(&part, &k.tx)?;
        key = Some(match (&stx.tx.body, key) {
            (TxBody::Register(p), None) if p.id == author => p.sign_key,
            (TxBody::Register(_), _) => {
                return Err(fail(
                    part,
                    "tx.body",
                    "is not the registration of the author, or the author already has a key",
                ));
            }
            (_, Some(current)) => rotated_key(&part, &ledger, &author, &stx, &k.tx, &current)?,
            (_, None) => {
                return Err(fail(
                    part,
                    "tx.body",
                    "the author's registration must come first (it is not a founder)",
                ));
            }
        });
    }
    let signer_key = key.ok_or_else(|| {
        fail(
            "key events".into(),
            "registration",
            format!("author {author} is not a genesis participant and no registration is given"),
        )
    })?;
    let message = Tx::signing_message(&ledger, SignedTx::unsigned_part(&b.target.tx));
    check_public_key(&signer_key)
        .and_then(|k| k.verify_strict(&message, &target.signature))
        .map_err(|e| fail("target".into(), "tx.signature", e.to_string()))?;

    // 5. The ciphertext, against the digest its header commits to.
    let records: Vec<_> = match &target.tx.body {
        TxBody::Records(r) => r.records.clone(),
        _ => Vec::new(),
    };
    let ciphertext_of = match &b.ciphertext {
        None => None,
        Some(c) => {
            let rec = usize::try_from(c.record_index)
                .ok()
                .and_then(|i| records.get(i))
                .ok_or_else(|| {
                    fail(
                        "ciphertext".into(),
                        "record_index",
                        format!("the target has no record {}", c.record_index),
                    )
                })?;
            let len_ok = u64::try_from(c.bytes.len()).is_ok_and(|n| n == rec.ciphertext_len);
            if !len_ok || !ciphertext_digest(&c.bytes).ct_eq(&rec.ciphertext_digest) {
                return Err(fail(
                    "ciphertext".into(),
                    "bytes",
                    format!(
                        "length or digest differs from the header of record {}",
                        rec.id
                    ),
                ));
            }
            Some(rec.id)
        }
    };

    Ok(EvidenceReport {
        ledger_id: ledger,
        leaf: b.target.leaf,
        kind: target.tx.kind,
        author,
        timestamp: target.tx.timestamp,
        records: records.iter().map(|r| r.id).collect(),
        height: h.height,
        header_hash: h.hash(),
        block_timestamp: h.timestamp,
        seals,
        validator_set_hash: set.hash,
        validator_changes: b.changes.len(),
        signer_key,
        ciphertext_of,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ciphertext_limit_is_the_payload_limit_plus_overhead() {
        assert_eq!(
            u64::try_from(MAX_CIPHERTEXT).ok(),
            Some(crate::model::record::MAX_PAYLOAD_LEN + 28)
        );
    }
}
