//! Chain state and the ledger rules, applied to each transaction in log
//! order. The sequencer runs these rules before accepting a transaction and
//! the verifier replays them, so both reach the same verdict (one home).

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::crypto::hash::Digest;
use crate::crypto::sign::{BatchItem, CheckedKey, check_public_key, verify_batch};
use crate::log::access::{Adjust, EpochsAfter};
use crate::log::block::{BlockHeader, Seal};
use crate::model::consent::SEALED_DEK_LEN;
use crate::model::record::SEALED_KEY_LEN;
use crate::model::tx::RecordsBody;
use crate::model::{
    BreakGlass, BreakGlassId, Category, Consent, ConsentId, Decision, Genesis, LedgerId,
    Participant, ParticipantId, Purpose, RecordHeader, RecordId, Roles, SignedTx, TxBody, TxKind,
    ValidatorSet,
};

/// How far a transaction's timestamp may lag behind the previous block's
/// (clock skew between an author and the sequencer), in ms. Consent
/// periods and break-glass windows are evaluated at transaction time, so
/// this bounds how far an author can backdate an access.
pub const TX_TIME_SKEW_MS: u64 = 5 * 60 * 1000;

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

pub(crate) fn violation(
    kind: Violation,
    field: &'static str,
    message: impl Into<String>,
) -> RuleViolation {
    RuleViolation {
        kind,
        record_index: None,
        field,
        message: message.into(),
    }
}

pub(crate) fn at_record(mut v: RuleViolation, index: usize) -> RuleViolation {
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
    /// Suspended by an admin: may only record denied reads.
    pub suspended: bool,
    /// Number of key rotations so far (0 = the registered keys).
    pub key_version: u32,
}

/// A category key sealed to one reader, and the version of the reader's
/// keys it was sealed to (a wrap to keys rotated away is not held).
#[derive(Clone, Copy, Debug)]
pub struct HeldWrap {
    /// The sealed box.
    pub sealed: [u8; SEALED_KEY_LEN],
    /// The recipient's key version at sealing time.
    pub key_version: u32,
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
    /// The erase transaction that removed its payload, if any.
    pub erased: Option<TxPosition>,
}

/// A consent on the chain.
#[derive(Clone, Debug)]
pub struct ConsentState {
    /// Its id.
    pub id: ConsentId,
    /// The consent.
    pub consent: Consent,
    /// Who granted it (the patient or a guardian).
    pub granted_by: ParticipantId,
    /// When (transaction time, ms).
    pub granted_at: u64,
    /// Where.
    pub position: TxPosition,
    /// When it was revoked (transaction time, ms), if it was.
    pub revoked_at: Option<u64>,
}

/// A break-glass declaration on the chain.
#[derive(Clone, Debug)]
pub struct BreakGlassState {
    /// Its id.
    pub id: BreakGlassId,
    /// The declaring provider.
    pub provider: ParticipantId,
    /// The declaration.
    pub declaration: BreakGlass,
    /// Start of the window (transaction time, ms).
    pub opened_at: u64,
    /// Where.
    pub position: TxPosition,
}

impl BreakGlassState {
    /// True when `t` is inside the window.
    pub fn active_at(&self, t: u64) -> bool {
        t >= self.opened_at && t < self.opened_at.saturating_add(self.declaration.duration_ms)
    }
}

/// One recorded read attempt.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AccessEntry {
    /// Who tried to read.
    pub reader: ParticipantId,
    /// Whose record.
    pub patient: ParticipantId,
    /// The record version.
    pub record: RecordId,
    /// Its category.
    pub category: Category,
    /// The stated purpose.
    pub purpose: Purpose,
    /// The decision.
    pub decision: Decision,
    /// Transaction time, ms.
    pub time: u64,
    /// Where the event is.
    pub position: TxPosition,
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
    pub wraps: HashMap<WrapKey, HeldWrap>,
    /// Recipients of the current epoch per (patient, category).
    pub epoch_recipients: HashMap<(ParticipantId, Category), BTreeSet<ParticipantId>>,
    /// Categories with an epoch, per patient.
    pub categories: HashMap<ParticipantId, BTreeSet<Category>>,
    /// Data keys of single record versions sealed to record-level grantees.
    pub record_keys: HashMap<(RecordId, ParticipantId), [u8; SEALED_DEK_LEN]>,
    /// Active guardians per patient.
    pub guardians: HashMap<ParticipantId, BTreeSet<ParticipantId>>,
    /// Registered custodians (emergency key escrow), in registration order.
    pub custodians: Vec<ParticipantId>,
    /// Consents by id.
    pub consents: HashMap<ConsentId, ConsentState>,
    /// Consent ids per patient, in grant order.
    pub consents_by_patient: HashMap<ParticipantId, Vec<ConsentId>>,
    /// Break-glass declarations by id.
    pub break_glass: HashMap<BreakGlassId, BreakGlassState>,
    /// Declaration ids per (provider, patient), in order.
    pub break_glass_by_pair: HashMap<(ParticipantId, ParticipantId), Vec<BreakGlassId>>,
    /// Every recorded read attempt, in log order.
    pub access_log: Vec<AccessEntry>,
    /// Indexes into `access_log` per patient.
    pub access_by_patient: HashMap<ParticipantId, Vec<usize>>,
    /// Longest break-glass window, ms (from genesis).
    pub max_break_glass_ms: u64,
    /// Timestamp of the last ended block.
    pub head_timestamp: u64,
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
    /// Every set that has been in force, by hash (to check seals of a
    /// header at any past height, e.g. in equivocation evidence).
    pub past_validators: HashMap<Digest, ValidatorSet>,
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
                suspended: false,
                key_version: 0,
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
            epoch_recipients: HashMap::new(),
            categories: HashMap::new(),
            record_keys: HashMap::new(),
            guardians: HashMap::new(),
            custodians: genesis
                .participants
                .iter()
                .filter(|p| p.roles.contains(Roles::CUSTODIAN))
                .map(|p| p.id)
                .collect(),
            consents: HashMap::new(),
            consents_by_patient: HashMap::new(),
            break_glass: HashMap::new(),
            break_glass_by_pair: HashMap::new(),
            access_log: Vec::new(),
            access_by_patient: HashMap::new(),
            max_break_glass_ms: genesis.max_break_glass_ms,
            head_timestamp: 0,
            validators_hash: genesis.validators.hash(),
            validators: genesis.validators.clone(),
            validator_keys: Vec::new(),
            next_validators: Vec::new(),
            past_validators: HashMap::from([(
                genesis.validators.hash(),
                genesis.validators.clone(),
            )]),
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

    /// Ends a block whose last leaf is `log_size - 1` and whose timestamp
    /// is `timestamp`: validator sets installed by its transactions take
    /// effect; sets installed by later (still pending) transactions wait
    /// for their own block.
    pub fn end_block(&mut self, log_size: u64, timestamp: u64) {
        self.head_timestamp = self.head_timestamp.max(timestamp);
        let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.next_validators)
            .into_iter()
            .partition(|(leaf, _)| *leaf < log_size);
        self.next_validators = later;
        if let Some((_, v)) = now.into_iter().last() {
            self.validators_hash = v.hash();
            self.validator_keys = parse_validator_keys(&v);
            self.past_validators.insert(self.validators_hash, v.clone());
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
        if t.timestamp.saturating_add(TX_TIME_SKEW_MS) < self.head_timestamp {
            return Err(violation(
                Violation::Invalid,
                "tx.timestamp",
                format!(
                    "{} is more than {TX_TIME_SKEW_MS} ms before the previous block ({})",
                    t.timestamp, self.head_timestamp
                ),
            ));
        }
        if author.suspended && t.kind != TxKind::AccessEvents {
            return Err(violation(
                Violation::Unauthorised,
                "tx.author",
                format!("{} is suspended", t.author),
            ));
        }
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
            TxBody::Records(b) => self.check_records(t.kind, author, t.seq, t.timestamp, b),
            TxBody::Update(u) => self.check_update(author, u),
            TxBody::ShareKeys(shares) => self
                .check_shares(&t.author, shares, t.timestamp, Adjust::None)
                .map(|_| ()),
            TxBody::Grant(g) => self.check_grant(&t.author, g, t.timestamp),
            TxBody::Revoke(r) => self.check_revoke(&t.author, r, t.timestamp),
            TxBody::BreakGlass(b) => self.check_break_glass(author, b),
            TxBody::Access(events) => self.check_access(&t.author, events, t.timestamp),
            TxBody::Erase(records) => self.check_erase(&t.author, records),
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
                    if p.roles.contains(Roles::CUSTODIAN) {
                        self.custodians.push(p.id);
                    }
                    self.participants.insert(
                        p.id,
                        ParticipantState {
                            info: p,
                            key,
                            last_seq: 0,
                            suspended: false,
                            key_version: 0,
                        },
                    );
                }
            }
            TxBody::SetValidators(v) => self.next_validators.push((position.leaf, v)),
            TxBody::Update(u) => self.apply_update(&u),
            TxBody::ShareKeys(shares) => self.apply_shares(&shares),
            TxBody::Grant(g) => self.apply_grant(g, t.author, t.seq, t.timestamp, position),
            TxBody::Revoke(r) => {
                if let Some(c) = self.consents.get_mut(&r.consent) {
                    c.revoked_at = Some(t.timestamp);
                }
                self.apply_shares(&r.shares);
            }
            TxBody::BreakGlass(b) => {
                let id = BreakGlassId::derive(&self.ledger_id, &t.author, t.seq);
                self.break_glass_by_pair
                    .entry((t.author, b.patient))
                    .or_default()
                    .push(id);
                self.break_glass.insert(
                    id,
                    BreakGlassState {
                        id,
                        provider: t.author,
                        declaration: b,
                        opened_at: t.timestamp,
                        position,
                    },
                );
            }
            TxBody::Access(events) => self.apply_access(events, t.author, t.timestamp, position),
            TxBody::Erase(records) => {
                for id in records {
                    if let Some(r) = self.records.get_mut(&id) {
                        r.erased = Some(position);
                    }
                }
            }
            TxBody::Records(b) => {
                self.apply_shares(&b.shares);
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
                            erased: None,
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
        t: u64,
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
        let epochs = self.check_shares(&a, &b.shares, t, Adjust::None)?;
        let mut superseded_here = HashSet::new();
        // The epoch of the first record of each (patient, category).
        let mut first: HashMap<(ParticipantId, &Category), u32> = HashMap::new();
        for (i, r) in b.records.iter().enumerate() {
            self.check_record(a, seq, i, r, &mut superseded_here)
                .map_err(|v| at_record(v, i))?;
            let pair = (r.patient, &r.category);
            if let Some(e) = first.get(&pair) {
                if *e == r.key_epoch {
                    continue;
                }
                return Err(at_record(
                    violation(
                        Violation::Invalid,
                        "record.key_epoch",
                        "records of one patient and category in one transaction use one epoch",
                    ),
                    i,
                ));
            }
            self.check_write_epoch(&a, r, t, &epochs)
                .map_err(|v| at_record(v, i))?;
            first.insert(pair, r.key_epoch);
        }
        Ok(())
    }

    /// The first record of (patient, category) in a transaction: the
    /// author may write it, and the epoch it uses is the current one and
    /// not stale (every holder of its key is still entitled).
    fn check_write_epoch<'a>(
        &self,
        author: &ParticipantId,
        r: &'a RecordHeader,
        t: u64,
        epochs: &EpochsAfter<'a>,
    ) -> Result<(), RuleViolation> {
        let action = if r.amends.is_some() {
            crate::model::Actions::AMEND
        } else {
            crate::model::Actions::APPEND
        };
        if !self.may_write(author, &r.patient, &r.category, action, t) {
            return Err(violation(
                Violation::Unauthorised,
                "tx.author",
                format!(
                    "{author} may not write {} records of {}: needs to be the patient, a \
                     guardian, or to hold an active consent to {} them",
                    r.category,
                    r.patient,
                    if r.amends.is_some() {
                        "amend"
                    } else {
                        "append"
                    }
                ),
            ));
        }
        let (epoch, recipients) = match epochs.get(&(r.patient, &r.category)) {
            Some((e, rec)) => (*e, rec.clone()),
            None => (
                self.epochs
                    .get(&(r.patient, r.category.clone()))
                    .copied()
                    .unwrap_or(0),
                self.epoch_recipients
                    .get(&(r.patient, r.category.clone()))
                    .cloned()
                    .unwrap_or_default(),
            ),
        };
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
        let entitled = self.entitled(&r.patient, &r.category, t, Adjust::None);
        if let Some(x) = self.stale_holder(&r.patient, &r.category, epoch, &recipients, &entitled) {
            return Err(violation(
                Violation::Invalid,
                "record.key_epoch",
                format!(
                    "epoch {epoch} of ({}, {}) is stale: {x} holds its key but is no longer \
                     entitled or has rotated its keys; open a new epoch",
                    r.patient, r.category
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn check_patient(
        &self,
        id: &ParticipantId,
        field: &'static str,
    ) -> Result<(), RuleViolation> {
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
