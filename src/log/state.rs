//! Chain state and the ledger rules, applied to each transaction in log
//! order. The sequencer runs these rules before accepting a transaction and
//! the verifier replays them, so both reach the same verdict (one home).

use std::collections::{HashMap, HashSet};

use crate::crypto::hash::Digest;
use crate::crypto::sign::{BatchItem, CheckedKey, check_public_key, verify_batch};
use crate::log::block::{BlockHeader, Seal};
use crate::model::record::SEALED_KEY_LEN;
use crate::model::tx::RecordsBody;
use crate::model::{
    Category, Genesis, LedgerId, Participant, ParticipantId, RecordHeader, RecordId, Roles,
    SignedTx, TxBody, TxKind, ValidatorSet,
};

/// Why the rules refused a transaction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Violation {
    /// The author may not do this.
    Unauthorised,
    /// The sequence number was already used.
    ReplayedSequence,
    /// The sequence number skips ahead.
    Reordered,
    /// A field is inconsistent with the chain or the format rules.
    Invalid,
}

/// A refused transaction: why, where in it, and a message.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RuleViolation {
    /// Kind of violation.
    pub kind: Violation,
    /// Record index within the transaction, when one record is at fault.
    pub record_index: Option<u32>,
    /// Field at fault.
    pub field: &'static str,
    /// Detail.
    pub message: String,
}

fn violation(kind: Violation, field: &'static str, message: impl Into<String>) -> RuleViolation {
    RuleViolation {
        kind,
        record_index: None,
        field,
        message: message.into(),
    }
}

fn at_record(mut v: RuleViolation, index: usize) -> RuleViolation {
    v.record_index = u32::try_from(index).ok();
    v
}

/// A registered participant.
#[derive(Clone, Debug)]
pub struct ParticipantState {
    /// The registration.
    pub info: Participant,
    /// Parsed signing key.
    pub key: CheckedKey,
    /// Last sequence number used (0 = none yet).
    pub last_seq: u64,
}

/// Where a transaction sits in the chain.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TxPosition {
    /// Block height.
    pub height: u64,
    /// Index in the block.
    pub tx_index: u32,
    /// Index in the log (leaf index).
    pub leaf: u64,
}

/// A record known to the chain.
#[derive(Clone, Debug)]
pub struct RecordState {
    /// Its header.
    pub header: RecordHeader,
    /// Who wrote it.
    pub author: ParticipantId,
    /// Where its transaction is.
    pub position: TxPosition,
    /// Index of the record within its transaction.
    pub record_index: u32,
    /// The amendment that replaced it, if any.
    pub superseded_by: Option<RecordId>,
}

/// Key of a sealed category key: (patient, category, epoch, reader).
pub type WrapKey = (ParticipantId, Category, u32, ParticipantId);

/// Everything the rules need to know about the chain so far.
#[derive(Clone, Debug)]
pub struct ChainState {
    /// Ledger id.
    pub ledger_id: LedgerId,
    /// Registered participants.
    pub participants: HashMap<ParticipantId, ParticipantState>,
    /// Records by id.
    pub records: HashMap<RecordId, RecordState>,
    /// Current key epoch per (patient, category).
    pub epochs: HashMap<(ParticipantId, Category), u32>,
    /// Sealed category keys.
    pub wraps: HashMap<WrapKey, [u8; SEALED_KEY_LEN]>,
    /// Validator set sealing the next block.
    pub validators: ValidatorSet,
    /// Its hash.
    pub validators_hash: Digest,
    /// Parsed keys of `validators`, by index (the keys the set hash covers).
    pub validator_keys: Vec<CheckedKey>,
    /// Sets installed by `SetValidators` transactions (with their leaf
    /// index) not yet in force: each takes effect after the block that
    /// holds it.
    pub next_validators: Vec<(u64, ValidatorSet)>,
}

impl ChainState {
    /// State after the genesis transaction; checks the genesis rules.
    pub fn from_genesis(ledger_id: LedgerId, genesis: &Genesis) -> Result<Self, RuleViolation> {
        genesis
            .validators
            .validate()
            .map_err(|e| violation(Violation::Invalid, "genesis.validators", e.to_string()))?;
        let mut participants = HashMap::new();
        for p in &genesis.participants {
            p.validate().map_err(|e| {
                violation(Violation::Invalid, "genesis.participants", e.to_string())
            })?;
            let key = check_public_key(&p.sign_key).map_err(|e| {
                violation(Violation::Invalid, "genesis.participants", e.to_string())
            })?;
            let st = ParticipantState {
                info: p.clone(),
                key,
                last_seq: 0,
            };
            if participants.insert(p.id, st).is_some() {
                return Err(violation(
                    Violation::Invalid,
                    "genesis.participants",
                    format!("participant {} listed twice", p.id),
                ));
            }
        }
        if !genesis
            .participants
            .iter()
            .any(|p| p.roles.contains(Roles::ADMIN))
        {
            return Err(violation(
                Violation::Invalid,
                "genesis.participants",
                "no admin",
            ));
        }
        let mut state = ChainState {
            ledger_id,
            participants,
            records: HashMap::new(),
            epochs: HashMap::new(),
            wraps: HashMap::new(),
            validators_hash: genesis.validators.hash(),
            validators: genesis.validators.clone(),
            validator_keys: Vec::new(),
            next_validators: Vec::new(),
        };
        state.check_validator_set(&genesis.validators, "genesis.validators")?;
        state.validator_keys = parse_validator_keys(&genesis.validators);
        Ok(state)
    }

    /// The current signing key of a participant.
    pub fn signer_key(&self, id: &ParticipantId) -> Option<&CheckedKey> {
        self.participants.get(id).map(|p| &p.key)
    }

    /// The participant, if registered.
    pub fn participant(&self, id: &ParticipantId) -> Option<&ParticipantState> {
        self.participants.get(id)
    }

    /// Ends a block whose last leaf is `log_size - 1`: validator sets
    /// installed by its transactions take effect; sets installed by later
    /// (still pending) transactions wait for their own block.
    pub fn end_block(&mut self, log_size: u64) {
        let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.next_validators)
            .into_iter()
            .partition(|(leaf, _)| *leaf < log_size);
        self.next_validators = later;
        if let Some((_, v)) = now.into_iter().last() {
            self.validators_hash = v.hash();
            self.validator_keys = parse_validator_keys(&v);
            self.validators = v;
        }
    }

    /// Checks `tx` against the rules without changing anything.
    pub fn check(&self, tx: &SignedTx) -> Result<(), RuleViolation> {
        let t = &tx.tx;
        if t.kind == TxKind::Genesis {
            return Err(violation(
                Violation::Unauthorised,
                "tx.kind",
                "a genesis transaction may only be the first leaf",
            ));
        }
        let author = self.participants.get(&t.author).ok_or_else(|| {
            violation(
                Violation::Unauthorised,
                "tx.author",
                format!("author {} is not registered", t.author),
            )
        })?;
        let expected = author.last_seq.saturating_add(1);
        if t.seq < expected {
            return Err(violation(
                Violation::ReplayedSequence,
                "tx.seq",
                format!(
                    "sequence {} already used by {} (next is {expected})",
                    t.seq, t.author
                ),
            ));
        }
        if t.seq > expected {
            return Err(violation(
                Violation::Reordered,
                "tx.seq",
                format!(
                    "sequence {} skips ahead of {expected} for {}",
                    t.seq, t.author
                ),
            ));
        }
        match &t.body {
            TxBody::Genesis(_) => Err(violation(Violation::Invalid, "tx.body", "genesis body")),
            TxBody::Register(p) => self.check_register(author, p),
            TxBody::SetValidators(v) => {
                if !author.info.roles.contains(Roles::ADMIN) {
                    return Err(violation(
                        Violation::Unauthorised,
                        "tx.author",
                        "only an admin may change the validator set",
                    ));
                }
                self.check_validator_set(v, "validators")
            }
            TxBody::Records(b) => self.check_records(t.kind, author, t.seq, b),
        }
    }

    /// Applies a transaction that [`ChainState::check`] accepted.
    /// Takes the transaction by value: its headers move into the state
    /// rather than being copied.
    pub fn apply(&mut self, tx: SignedTx, position: TxPosition) {
        let t = tx.tx;
        if let Some(a) = self.participants.get_mut(&t.author) {
            a.last_seq = t.seq;
        }
        match t.body {
            TxBody::Genesis(_) => {}
            TxBody::Register(p) => {
                if let Ok(key) = check_public_key(&p.sign_key) {
                    self.participants.insert(
                        p.id,
                        ParticipantState {
                            info: p,
                            key,
                            last_seq: 0,
                        },
                    );
                }
            }
            TxBody::SetValidators(v) => self.next_validators.push((position.leaf, v)),
            TxBody::Records(b) => {
                for s in &b.shares {
                    let cur = self
                        .epochs
                        .entry((s.patient, s.category.clone()))
                        .or_insert(0);
                    *cur = (*cur).max(s.epoch);
                    for w in &s.wraps {
                        self.wraps.insert(
                            (s.patient, s.category.clone(), s.epoch, w.recipient),
                            w.sealed,
                        );
                    }
                }
                self.records.reserve(b.records.len());
                for (i, r) in b.records.into_iter().enumerate() {
                    if let Some(prev) = r.amends.and_then(|p| self.records.get_mut(&p)) {
                        prev.superseded_by = Some(r.id);
                    }
                    self.records.insert(
                        r.id,
                        RecordState {
                            header: r,
                            author: t.author,
                            position,
                            record_index: u32::try_from(i).unwrap_or(u32::MAX),
                            superseded_by: None,
                        },
                    );
                }
            }
        }
    }

    fn check_register(
        &self,
        author: &ParticipantState,
        p: &Participant,
    ) -> Result<(), RuleViolation> {
        if !author.info.roles.contains(Roles::ADMIN) {
            return Err(violation(
                Violation::Unauthorised,
                "tx.author",
                "only an admin may register participants",
            ));
        }
        p.validate()
            .map_err(|e| violation(Violation::Invalid, "participant", e.to_string()))?;
        if self.participants.contains_key(&p.id) {
            return Err(violation(
                Violation::Invalid,
                "participant.id",
                format!("participant {} is already registered", p.id),
            ));
        }
        Ok(())
    }

    fn check_validator_set(
        &self,
        v: &ValidatorSet,
        field: &'static str,
    ) -> Result<(), RuleViolation> {
        v.validate()
            .map_err(|e| violation(Violation::Invalid, field, e.to_string()))?;
        for m in &v.members {
            let p = self.participants.get(&m.id).ok_or_else(|| {
                violation(
                    Violation::Invalid,
                    field,
                    format!("validator {} is not registered", m.id),
                )
            })?;
            if !p.info.roles.contains(Roles::VALIDATOR) {
                return Err(violation(
                    Violation::Invalid,
                    field,
                    format!("{} lacks the validator role", m.id),
                ));
            }
            if p.info.sign_key != m.key {
                return Err(violation(
                    Violation::Invalid,
                    field,
                    format!("key of validator {} is not its registered key", m.id),
                ));
            }
        }
        Ok(())
    }

    fn check_records(
        &self,
        kind: TxKind,
        author: &ParticipantState,
        seq: u64,
        b: &RecordsBody,
    ) -> Result<(), RuleViolation> {
        let a = author.info.id;
        let shape_ok = match kind {
            TxKind::AppendRecord => matches!(b.records.as_slice(), [r] if r.amends.is_none()),
            TxKind::AmendRecord => matches!(b.records.as_slice(), [r] if r.amends.is_some()),
            _ => !b.records.is_empty(),
        };
        if !shape_ok {
            return Err(violation(
                Violation::Invalid,
                "tx.records",
                format!("{kind:?} must carry one new record, one amendment, or a non-empty batch"),
            ));
        }
        // Epochs as they stand after this transaction's shares.
        let mut opened: HashMap<(ParticipantId, &Category), u32> = HashMap::new();
        for s in &b.shares {
            let key = (s.patient, &s.category);
            if opened.contains_key(&key) {
                return Err(violation(
                    Violation::Invalid,
                    "epoch_share",
                    "two shares for one patient and category",
                ));
            }
            self.check_patient(&s.patient, "epoch_share.patient")?;
            let cur = self
                .epochs
                .get(&(s.patient, s.category.clone()))
                .copied()
                .unwrap_or(0);
            let may_open = cur == 0 || a == s.patient;
            if s.epoch != cur.saturating_add(1) || !may_open {
                return Err(violation(
                    Violation::Unauthorised,
                    "epoch_share.epoch",
                    format!(
                        "epoch {} for ({}, {}) cannot be opened by {a} (current epoch {cur}; \
                         only the patient starts later epochs)",
                        s.epoch, s.patient, s.category
                    ),
                ));
            }
            if !s.wraps.iter().any(|w| w.recipient == s.patient) {
                return Err(violation(
                    Violation::Invalid,
                    "epoch_share.wraps",
                    "a new epoch must be sealed to the patient",
                ));
            }
            let mut seen = HashSet::new();
            for w in &s.wraps {
                if !seen.insert(w.recipient) || !self.participants.contains_key(&w.recipient) {
                    return Err(violation(
                        Violation::Invalid,
                        "epoch_share.wraps",
                        format!("recipient {} is unregistered or listed twice", w.recipient),
                    ));
                }
            }
            opened.insert(key, s.epoch);
        }
        let mut superseded_here = HashSet::new();
        for (i, r) in b.records.iter().enumerate() {
            self.check_record(a, seq, i, r, &opened, &mut superseded_here)
                .map_err(|v| at_record(v, i))?;
        }
        // Only the patient opens an epoch without writing under it; anyone
        // else opens one only for the record that needs it.
        for s in &b.shares {
            let used = b
                .records
                .iter()
                .any(|r| r.patient == s.patient && r.category == s.category);
            if a != s.patient && !used {
                return Err(violation(
                    Violation::Unauthorised,
                    "epoch_share",
                    "an epoch may be opened by its patient, or with a record that uses it",
                ));
            }
        }
        Ok(())
    }

    fn check_patient(&self, id: &ParticipantId, field: &'static str) -> Result<(), RuleViolation> {
        match self.participants.get(id) {
            Some(p) if p.info.roles.contains(Roles::PATIENT) => Ok(()),
            _ => Err(violation(
                Violation::Invalid,
                field,
                format!("{id} is not a registered patient"),
            )),
        }
    }

    fn check_record(
        &self,
        author: ParticipantId,
        seq: u64,
        index: usize,
        r: &RecordHeader,
        opened: &HashMap<(ParticipantId, &Category), u32>,
        superseded_here: &mut HashSet<RecordId>,
    ) -> Result<(), RuleViolation> {
        r.validate()
            .map_err(|e| violation(Violation::Invalid, "record", e.to_string()))?;
        let idx = u32::try_from(index).unwrap_or(u32::MAX);
        if r.id != RecordId::derive(&self.ledger_id, &author, seq, idx) {
            return Err(violation(
                Violation::Invalid,
                "record.id",
                "record id is not derived from (ledger, author, seq, index)",
            ));
        }
        self.check_patient(&r.patient, "record.patient")?;
        let is_provider = self
            .participants
            .get(&author)
            .is_some_and(|p| p.info.roles.contains(Roles::PROVIDER));
        if !is_provider && author != r.patient {
            return Err(violation(
                Violation::Unauthorised,
                "tx.author",
                "only providers (or the patient, for their own record) may append records",
            ));
        }
        let epoch = opened
            .get(&(r.patient, &r.category))
            .copied()
            .or_else(|| self.epochs.get(&(r.patient, r.category.clone())).copied())
            .unwrap_or(0);
        if epoch == 0 || r.key_epoch != epoch {
            return Err(violation(
                Violation::Invalid,
                "record.key_epoch",
                format!(
                    "record uses epoch {} but the current epoch is {epoch}",
                    r.key_epoch
                ),
            ));
        }
        if let Some(prev_id) = r.amends {
            let prev = self.records.get(&prev_id).ok_or_else(|| {
                violation(
                    Violation::Invalid,
                    "record.amends",
                    format!("no record {prev_id}"),
                )
            })?;
            if prev.author != author {
                return Err(violation(
                    Violation::Unauthorised,
                    "record.amends",
                    "only the author of a record may amend it",
                ));
            }
            if prev.header.patient != r.patient || prev.header.category != r.category {
                return Err(violation(
                    Violation::Invalid,
                    "record.amends",
                    "an amendment keeps the patient and category",
                ));
            }
            if prev.superseded_by.is_some() || !superseded_here.insert(prev_id) {
                return Err(violation(
                    Violation::Invalid,
                    "record.amends",
                    "that version was already amended; amend the latest version",
                ));
            }
            if r.version != prev.header.version.saturating_add(1) {
                return Err(violation(
                    Violation::Invalid,
                    "record.version",
                    format!("expected version {}", prev.header.version.saturating_add(1)),
                ));
            }
        }
        if self.records.contains_key(&r.id) {
            return Err(violation(
                Violation::Invalid,
                "record.id",
                "record id already used",
            ));
        }
        Ok(())
    }
}

/// Why a block's seals do not seal it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SealError {
    /// Seals are not strictly ascending by validator index.
    Unordered,
    /// A seal names an index outside the validator set.
    OutsideSet(u16),
    /// Several seals were present and none verifies: the header is not the
    /// one the validators signed.
    HeaderNotSigned,
    /// The seal of this validator index does not verify.
    BadSeal(u16),
    /// Valid seals below the threshold.
    BelowThreshold {
        /// Valid seals.
        have: usize,
        /// Threshold.
        need: usize,
    },
}

impl ChainState {
    /// Checks `seals` over `header` against the validator set in force:
    /// ordering, membership, every signature, threshold. Returns the number
    /// of valid seals. `batch` selects batch signature verification.
    pub fn check_seals(
        &self,
        header: &BlockHeader,
        seals: &[Seal],
        batch: bool,
    ) -> Result<usize, SealError> {
        let mut last: Option<u16> = None;
        let mut keys = Vec::with_capacity(seals.len());
        for s in seals {
            if last.is_some_and(|l| s.validator <= l) {
                return Err(SealError::Unordered);
            }
            last = Some(s.validator);
            let key = self
                .validator_keys
                .get(usize::from(s.validator))
                .ok_or(SealError::OutsideSet(s.validator))?;
            keys.push(*key);
        }
        let message = BlockHeader::seal_message(&header.hash());
        let items: Vec<BatchItem<'_>> = seals
            .iter()
            .zip(keys)
            .map(|(s, key)| BatchItem {
                message: &message,
                signature: s.signature,
                key,
            })
            .collect();
        let verdict = if batch {
            verify_batch(&items)
        } else {
            items
                .iter()
                .position(|it| it.key.verify_strict(it.message, &it.signature).is_err())
                .map_or(Ok(()), Err)
        };
        if let Err(first) = verdict {
            let all_bad = items.len() > 1
                && items
                    .iter()
                    .all(|it| it.key.verify_strict(it.message, &it.signature).is_err());
            if all_bad {
                return Err(SealError::HeaderNotSigned);
            }
            let idx = seals.get(first).map_or(0, |s| s.validator);
            return Err(SealError::BadSeal(idx));
        }
        let need = usize::from(self.validators.threshold);
        if items.len() < need {
            return Err(SealError::BelowThreshold {
                have: items.len(),
                need,
            });
        }
        Ok(items.len())
    }
}

/// Keys of a validator set that passed `check_validator_set` (so each key
/// is a registered, checked key).
fn parse_validator_keys(set: &ValidatorSet) -> Vec<CheckedKey> {
    set.members
        .iter()
        .filter_map(|m| check_public_key(&m.key).ok())
        .collect()
}
