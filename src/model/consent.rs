//! Access-control data on the chain: consents (shaped like FHIR `Consent`),
//! break-glass declarations, access events, erasures and participant
//! changes (docs/FORMAT.md §3.13–§3.18).

use core::fmt;

use crate::codec::{Reader, Writer};
use crate::crypto::hash::{Digest, label, tagged_hash};
use crate::crypto::kex::sealed_len;
use crate::crypto::sign::Signature;
use crate::model::record::Category;
use crate::model::{LedgerId, ParticipantId, RecordId};
use crate::{Error, Result};

/// Most categories one consent may list.
pub const MAX_CONSENT_CATEGORIES: usize = 64;
/// Most record ids one consent may list.
pub const MAX_CONSENT_RECORDS: usize = 1024;
/// Most access events one transaction may carry.
pub const MAX_ACCESS_EVENTS: usize = 10_000;
/// Most records one erase transaction may erase.
pub const MAX_ERASE_RECORDS: usize = 1024;
/// Longest break-glass justification in bytes (no personal data).
pub const MAX_JUSTIFICATION_LEN: usize = 256;
/// Size of a record data key sealed to one reader.
pub const SEALED_DEK_LEN: usize = sealed_len(crate::crypto::aead::KEY_LEN);

/// An id type derived from the transaction that creates the item.
macro_rules! derived_id {
    ($(#[$doc:meta])* $name:ident, $label:expr) => {
        crate::model::ids::id_type!($(#[$doc])* $name);

        impl $name {
            /// The id of the transaction with sequence number `seq` by
            /// `author` on `ledger`.
            pub fn derive(ledger: &LedgerId, author: &ParticipantId, seq: u64) -> Self {
                let mut w = Writer::with_capacity(72);
                w.digest(&ledger.0).digest(&author.0).u64(seq);
                $name(tagged_hash($label, &[&w.into_bytes()]))
            }
        }
    };
}

derived_id!(
    /// A consent: the tagged hash of (ledger, granting author, sequence).
    ConsentId,
    label::CONSENT_ID
);
derived_id!(
    /// A break-glass declaration: the tagged hash of (ledger, provider,
    /// sequence).
    BreakGlassId,
    label::BREAK_GLASS_ID
);

/// Purposes of use, a subset of the HL7 v3 `PurposeOfUse` code system
/// (`http://terminology.hl7.org/CodeSystem/v3-ActReason`). Values are
/// stable wire codes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[repr(u8)]
pub enum Purpose {
    /// Treatment.
    Treat = 1,
    /// Emergency treatment.
    EmergencyTreat = 2,
    /// Healthcare payment.
    Payment = 3,
    /// Healthcare operations.
    Operations = 4,
    /// Healthcare research.
    Research = 5,
    /// Patient requested (the patient reading their own record).
    PatientRequest = 6,
    /// Public health.
    PublicHealth = 7,
    /// Break the glass (emergency access outside consent).
    BreakTheGlass = 8,
}

impl Purpose {
    /// Every purpose, in wire-code order.
    pub const ALL: [Purpose; 8] = [
        Purpose::Treat,
        Purpose::EmergencyTreat,
        Purpose::Payment,
        Purpose::Operations,
        Purpose::Research,
        Purpose::PatientRequest,
        Purpose::PublicHealth,
        Purpose::BreakTheGlass,
    ];

    /// The purpose of a wire code.
    pub fn from_u8(v: u8) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| *p as u8 == v)
    }

    /// The HL7 code, e.g. `TREAT`.
    pub fn code(self) -> &'static str {
        match self {
            Purpose::Treat => "TREAT",
            Purpose::EmergencyTreat => "ETREAT",
            Purpose::Payment => "HPAYMT",
            Purpose::Operations => "HOPERAT",
            Purpose::Research => "HRESCH",
            Purpose::PatientRequest => "PATRQT",
            Purpose::PublicHealth => "PUBHLTH",
            Purpose::BreakTheGlass => "BTG",
        }
    }

    /// The purpose of an HL7 code.
    pub fn from_code(code: &str) -> Result<Purpose> {
        Purpose::ALL
            .into_iter()
            .find(|p| p.code() == code)
            .ok_or_else(|| Error::invalid("purpose", format!("{code:?} is not a supported code")))
    }

    /// The HL7 display text.
    pub fn display(self) -> &'static str {
        match self {
            Purpose::Treat => "treatment",
            Purpose::EmergencyTreat => "emergency treatment",
            Purpose::Payment => "healthcare payment",
            Purpose::Operations => "healthcare operations",
            Purpose::Research => "healthcare research",
            Purpose::PatientRequest => "patient requested",
            Purpose::PublicHealth => "public health",
            Purpose::BreakTheGlass => "break the glass",
        }
    }

    /// True for the purposes a break-glass declaration may name.
    pub fn is_emergency(self) -> bool {
        matches!(self, Purpose::EmergencyTreat | Purpose::BreakTheGlass)
    }

    fn bit(self) -> u8 {
        1 << (self as u8 - 1)
    }

    fn decode(r: &mut Reader<'_>, what: &'static str) -> Result<Purpose> {
        let at = r.offset();
        Purpose::from_u8(r.u8(what)?).ok_or(Error::Decode {
            what,
            offset: at,
            reason: "unknown purpose of use",
        })
    }
}

/// A set of purposes (bit `code - 1`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Purposes(pub u8);

impl Purposes {
    /// The set of `list`.
    pub fn of(list: &[Purpose]) -> Purposes {
        Purposes(list.iter().fold(0, |acc, p| acc | p.bit()))
    }

    /// True when `p` is in the set.
    pub fn contains(self, p: Purpose) -> bool {
        self.0 & p.bit() != 0
    }

    /// The members, in code order.
    pub fn iter(self) -> impl Iterator<Item = Purpose> {
        Purpose::ALL.into_iter().filter(move |p| self.contains(*p))
    }
}

impl fmt::Debug for Purposes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codes: Vec<&str> = self.iter().map(Purpose::code).collect();
        write!(f, "Purposes({})", codes.join("|"))
    }
}

/// What a consent allows (bit set).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Actions(pub u8);

impl Actions {
    /// Read (decrypt) records.
    pub const READ: Actions = Actions(1);
    /// Append new records for the patient.
    pub const APPEND: Actions = Actions(2);
    /// Amend (new versions of) records the grantee wrote.
    pub const AMEND: Actions = Actions(4);
    /// Every action bit of this format version.
    pub const ALL: Actions = Actions(7);

    /// True when every bit of `other` is set.
    pub fn contains(self, other: Actions) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union.
    pub fn with(self, other: Actions) -> Actions {
        Actions(self.0 | other.0)
    }
}

impl fmt::Debug for Actions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [(Actions::READ, "read"), (Actions::APPEND, "append")]
            .into_iter()
            .chain([(Actions::AMEND, "amend")])
            .filter(|(a, _)| self.contains(*a))
            .map(|(_, n)| n)
            .collect();
        write!(f, "Actions({})", names.join("|"))
    }
}

/// What a consent covers: whole categories of the patient's record and/or
/// individual record versions.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Scope {
    /// Every category, including ones opened later.
    pub all_categories: bool,
    /// Listed categories, strictly ascending.
    pub categories: Vec<Category>,
    /// Listed record versions, strictly ascending (read-only consents).
    pub records: Vec<RecordId>,
}

impl Scope {
    /// True when the scope covers every record of `category`.
    pub fn covers_category(&self, category: &Category) -> bool {
        self.all_categories || self.categories.binary_search(category).is_ok()
    }

    /// True when the scope covers the record version `id` of `category`.
    pub fn covers_record(&self, id: &RecordId, category: &Category) -> bool {
        self.covers_category(category) || self.records.binary_search(id).is_ok()
    }
}

/// A consent: the patient (or a guardian) allows `grantee` to perform
/// `actions` on the records in `scope`, for `purposes`, from `not_before`
/// (inclusive) to `not_after` (exclusive), in milliseconds since the epoch.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Consent {
    /// Whose records.
    pub patient: ParticipantId,
    /// Who may access them.
    pub grantee: ParticipantId,
    /// What the grantee may do.
    pub actions: Actions,
    /// For which purposes of use.
    pub purposes: Purposes,
    /// Which records.
    pub scope: Scope,
    /// Start of validity (inclusive), ms since the Unix epoch.
    pub not_before: u64,
    /// End of validity (exclusive), ms since the Unix epoch.
    pub not_after: u64,
}

impl Consent {
    /// A treating relationship: `grantee` may read, append and amend every
    /// category of `patient`'s record for treatment (`TREAT`) from
    /// `not_before` (inclusive) to `not_after` (exclusive).
    pub fn treatment(
        patient: ParticipantId,
        grantee: ParticipantId,
        not_before: u64,
        not_after: u64,
    ) -> Consent {
        Consent {
            patient,
            grantee,
            actions: Actions::ALL,
            purposes: Purposes::of(&[Purpose::Treat]),
            scope: Scope {
                all_categories: true,
                ..Scope::default()
            },
            not_before,
            not_after,
        }
    }

    /// Checks what needs no chain state.
    pub fn validate(&self) -> Result<()> {
        if self.actions.0 == 0 || self.actions.0 & !Actions::ALL.0 != 0 {
            return Err(Error::invalid(
                "consent.actions",
                format!("0x{:02x} is not a non-empty action set", self.actions.0),
            ));
        }
        if self.purposes.0 == 0 {
            return Err(Error::invalid("consent.purposes", "at least one purpose"));
        }
        let s = &self.scope;
        if !s.all_categories && s.categories.is_empty() && s.records.is_empty() {
            return Err(Error::invalid("consent.scope", "covers nothing"));
        }
        if s.all_categories && !s.categories.is_empty() {
            return Err(Error::invalid(
                "consent.scope",
                "lists categories and also covers all of them",
            ));
        }
        if !s.records.is_empty() && self.actions != Actions::READ {
            return Err(Error::invalid(
                "consent.scope",
                "record-level scope is for read-only consents; appending and amending are granted per category",
            ));
        }
        Writer::check_len(
            "consent.categories",
            s.categories.len(),
            MAX_CONSENT_CATEGORIES,
        )?;
        Writer::check_len("consent.records", s.records.len(), MAX_CONSENT_RECORDS)?;
        if !s
            .categories
            .windows(2)
            .all(|w| matches!(w, [a, b] if a < b))
            || !s.records.windows(2).all(|w| matches!(w, [a, b] if a < b))
        {
            return Err(Error::invalid(
                "consent.scope",
                "categories and records must be strictly ascending (sorted, no duplicates)",
            ));
        }
        if self.not_before >= self.not_after {
            return Err(Error::invalid(
                "consent.period",
                "not_before must be earlier than not_after",
            ));
        }
        if self.patient == self.grantee {
            return Err(Error::invalid(
                "consent.grantee",
                "a patient needs no consent for their own record",
            ));
        }
        Ok(())
    }

    /// Canonical encoding.
    pub fn encode(&self, w: &mut Writer) {
        w.digest(&self.patient.0)
            .digest(&self.grantee.0)
            .u8(self.actions.0)
            .u8(self.purposes.0)
            .u8(u8::from(self.scope.all_categories))
            .count(self.scope.categories.len());
        for c in &self.scope.categories {
            w.text(c.as_str());
        }
        w.count(self.scope.records.len());
        for r in &self.scope.records {
            w.digest(&r.0);
        }
        w.u64(self.not_before).u64(self.not_after);
    }

    /// Decodes one consent.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let patient = ParticipantId(r.digest("consent.patient")?);
        let grantee = ParticipantId(r.digest("consent.grantee")?);
        let actions = Actions(r.u8("consent.actions")?);
        let purposes = Purposes(r.u8("consent.purposes")?);
        let all_categories = match r.u8("consent.all_categories")? {
            0 => false,
            1 => true,
            _ => return Err(r.error("consent.all_categories", "flag must be 0 or 1")),
        };
        let n = r.count(MAX_CONSENT_CATEGORIES, 2, "consent.categories")?;
        let mut categories = Vec::with_capacity(n);
        for _ in 0..n {
            categories.push(Category::decode(r, "consent.categories")?);
        }
        let n = r.count(MAX_CONSENT_RECORDS, 32, "consent.records")?;
        let mut records = Vec::with_capacity(n);
        for _ in 0..n {
            records.push(RecordId(r.digest("consent.records")?));
        }
        Ok(Consent {
            patient,
            grantee,
            actions,
            purposes,
            scope: Scope {
                all_categories,
                categories,
                records,
            },
            not_before: r.u64("consent.not_before")?,
            not_after: r.u64("consent.not_after")?,
        })
    }
}

/// A record's data key sealed to a grantee of a record-level consent.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RecordKeyWrap {
    /// The record version.
    pub record: RecordId,
    /// X25519 sealed box of its 32-byte data key.
    pub sealed: [u8; SEALED_DEK_LEN],
}

impl RecordKeyWrap {
    /// Associated data (and HKDF context) sealing `record`'s data key to
    /// `recipient`.
    pub fn context(ledger: &LedgerId, record: &RecordId, recipient: &ParticipantId) -> Vec<u8> {
        let mut w = Writer::with_capacity(120);
        w.text(label::RECORD_KEY_WRAP)
            .digest(&ledger.0)
            .digest(&record.0)
            .digest(&recipient.0);
        w.into_bytes()
    }
}

/// A provider declares an emergency for a patient (HIPAA emergency access).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BreakGlass {
    /// The patient.
    pub patient: ParticipantId,
    /// `ETREAT` or `BTG`; reads under this declaration use this purpose.
    pub reason: Purpose,
    /// Why, for the reviewer (1 to 256 printable bytes, no personal data).
    pub justification: String,
    /// Length of the window from the transaction's time, in ms (at most
    /// the consortium's maximum).
    pub duration_ms: u64,
}

impl BreakGlass {
    /// Checks what needs no chain state.
    pub fn validate(&self) -> Result<()> {
        if !self.reason.is_emergency() {
            return Err(Error::invalid(
                "break_glass.reason",
                "must be ETREAT or BTG",
            ));
        }
        let j = &self.justification;
        if j.is_empty() || j.len() > MAX_JUSTIFICATION_LEN || j.chars().any(|c| c.is_control()) {
            return Err(Error::invalid(
                "break_glass.justification",
                "must be 1 to 256 bytes of text without control characters",
            ));
        }
        if self.duration_ms == 0 {
            return Err(Error::invalid("break_glass.duration", "must be positive"));
        }
        Ok(())
    }

    /// Canonical encoding.
    pub fn encode(&self, w: &mut Writer) {
        w.digest(&self.patient.0)
            .u8(self.reason as u8)
            .text(&self.justification)
            .u64(self.duration_ms);
    }

    /// Decodes one declaration.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(BreakGlass {
            patient: ParticipantId(r.digest("break_glass.patient")?),
            reason: Purpose::decode(r, "break_glass.reason")?,
            justification: r
                .text(MAX_JUSTIFICATION_LEN, "break_glass.justification")?
                .to_owned(),
            duration_ms: r.u64("break_glass.duration")?,
        })
    }
}

/// On what grounds a read was permitted.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Basis {
    /// The reader is the patient.
    Patient,
    /// The reader is a guardian of the patient.
    Guardian,
    /// The reader wrote this record version.
    Author,
    /// An active consent.
    Consent(ConsentId),
    /// An active break-glass declaration (flagged for review).
    BreakGlass(BreakGlassId),
}

/// Why a read was denied. Values are stable wire codes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
pub enum DenyReason {
    /// No consent covers this record for this reader.
    NoConsent = 1,
    /// A covering consent for this purpose has expired.
    Expired = 2,
    /// A covering consent for this purpose is not valid yet.
    NotYetValid = 3,
    /// Covering consents exist, none for this purpose.
    WrongPurpose = 4,
    /// The covering consent was revoked.
    Revoked = 5,
    /// The reader is suspended.
    Suspended = 6,
    /// The record was erased.
    Erased = 7,
}

impl DenyReason {
    /// Every reason, in code order.
    pub const ALL: [DenyReason; 7] = [
        DenyReason::NoConsent,
        DenyReason::Expired,
        DenyReason::NotYetValid,
        DenyReason::WrongPurpose,
        DenyReason::Revoked,
        DenyReason::Suspended,
        DenyReason::Erased,
    ];

    /// A short explanation.
    pub fn describe(self) -> &'static str {
        match self {
            DenyReason::NoConsent => "no consent covers this record for this reader",
            DenyReason::Expired => "the consent covering this record has expired",
            DenyReason::NotYetValid => "the consent covering this record is not valid yet",
            DenyReason::WrongPurpose => "no consent covers this record for this purpose of use",
            DenyReason::Revoked => "the consent covering this record was revoked",
            DenyReason::Suspended => "the reader is suspended",
            DenyReason::Erased => "the record was erased",
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// The outcome of an access-control decision.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Decision {
    /// Permitted, on this basis.
    Permit(Basis),
    /// Denied, for this reason.
    Deny(DenyReason),
}

impl Decision {
    /// True for a permit.
    pub fn is_permit(&self) -> bool {
        matches!(self, Decision::Permit(_))
    }

    /// Canonical encoding: a tag, then a 32-byte reference for consents and
    /// break-glass declarations.
    pub fn encode(&self, w: &mut Writer) {
        match self {
            Decision::Permit(Basis::Patient) => w.u8(0x01),
            Decision::Permit(Basis::Guardian) => w.u8(0x02),
            Decision::Permit(Basis::Author) => w.u8(0x03),
            Decision::Permit(Basis::Consent(id)) => w.u8(0x04).digest(&id.0),
            Decision::Permit(Basis::BreakGlass(id)) => w.u8(0x05).digest(&id.0),
            Decision::Deny(reason) => w.u8(0x80 | *reason as u8),
        };
    }

    /// Decodes a decision.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let at = r.offset();
        Ok(match r.u8("access.decision")? {
            0x01 => Decision::Permit(Basis::Patient),
            0x02 => Decision::Permit(Basis::Guardian),
            0x03 => Decision::Permit(Basis::Author),
            0x04 => Decision::Permit(Basis::Consent(ConsentId(
                r.digest("access.decision.consent")?,
            ))),
            0x05 => Decision::Permit(Basis::BreakGlass(BreakGlassId(
                r.digest("access.decision.break_glass")?,
            ))),
            tag => DenyReason::ALL
                .into_iter()
                .find(|d| 0x80 | *d as u8 == tag)
                .map(Decision::Deny)
                .ok_or(Error::Decode {
                    what: "access.decision",
                    offset: at,
                    reason: "unknown decision tag",
                })?,
        })
    }
}

/// One read attempt, recorded by the reader's transaction (the reader is
/// its author, the time its timestamp).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AccessEvent {
    /// The record version read.
    pub record: RecordId,
    /// The purpose of use stated.
    pub purpose: Purpose,
    /// The decision, which the rules recompute on replay.
    pub decision: Decision,
}

impl AccessEvent {
    /// Canonical encoding.
    pub fn encode(&self, w: &mut Writer) {
        w.digest(&self.record.0).u8(self.purpose as u8);
        self.decision.encode(w);
    }

    /// Decodes one event.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(AccessEvent {
            record: RecordId(r.digest("access.record")?),
            purpose: Purpose::decode(r, "access.purpose")?,
            decision: Decision::decode(r)?,
        })
    }
}

/// A change to a registered participant.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ParticipantChange {
    /// Suspend: no further transactions except recording denied reads;
    /// reads are denied; key epochs they hold become stale. Admin only.
    Suspend,
    /// Lift a suspension. Admin only.
    Reinstate,
    /// Appoint a guardian of this patient (an admin, or the patient).
    AddGuardian(ParticipantId),
    /// Remove a guardian (an admin, or the patient).
    RemoveGuardian(ParticipantId),
    /// Replace the participant's keys (by the participant, signing with
    /// its current key, or an admin); its id stays. `proof` is the new
    /// signing key's signature over [`ParticipantUpdate::rotation_message`].
    RotateKeys {
        /// New Ed25519 public key.
        sign_key: [u8; 32],
        /// New X25519 public key.
        enc_key: [u8; 32],
        /// Proof of possession of the new signing key.
        proof: Signature,
    },
}

/// The body of an update-participant transaction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ParticipantUpdate {
    /// Who changes.
    pub participant: ParticipantId,
    /// How.
    pub change: ParticipantChange,
}

impl ParticipantUpdate {
    /// Canonical encoding.
    pub fn encode(&self, w: &mut Writer) {
        w.digest(&self.participant.0);
        match self.change {
            ParticipantChange::Suspend => w.u8(1),
            ParticipantChange::Reinstate => w.u8(2),
            ParticipantChange::AddGuardian(g) => w.u8(3).digest(&g.0),
            ParticipantChange::RemoveGuardian(g) => w.u8(4).digest(&g.0),
            ParticipantChange::RotateKeys {
                sign_key,
                enc_key,
                proof,
            } => w.u8(5).raw(&sign_key).raw(&enc_key).raw(&proof.0),
        };
    }

    /// `u8 len ‖ "medledger/v2/key-rotation" ‖ ledger ‖ participant ‖
    /// sign_key ‖ enc_key`: what the new signing key signs to prove it is
    /// held by whoever installs it.
    pub fn rotation_message(
        ledger: &LedgerId,
        participant: &ParticipantId,
        sign_key: &[u8; 32],
        enc_key: &[u8; 32],
    ) -> Vec<u8> {
        let mut w = Writer::with_capacity(160);
        w.u8(u8::try_from(label::KEY_ROTATION.len()).unwrap_or(u8::MAX))
            .raw(label::KEY_ROTATION.as_bytes())
            .digest(&ledger.0)
            .digest(&participant.0)
            .raw(sign_key)
            .raw(enc_key);
        w.into_bytes()
    }

    /// Decodes one update.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let participant = ParticipantId(r.digest("update.participant")?);
        let change = match r.u8("update.change")? {
            1 => ParticipantChange::Suspend,
            2 => ParticipantChange::Reinstate,
            3 => ParticipantChange::AddGuardian(ParticipantId(r.digest("update.guardian")?)),
            4 => ParticipantChange::RemoveGuardian(ParticipantId(r.digest("update.guardian")?)),
            5 => ParticipantChange::RotateKeys {
                sign_key: r.fixed("update.sign_key")?,
                enc_key: r.fixed("update.enc_key")?,
                proof: Signature(r.fixed("update.proof")?),
            },
            _ => return Err(r.error("update.change", "unknown participant change")),
        };
        Ok(ParticipantUpdate {
            participant,
            change,
        })
    }
}
