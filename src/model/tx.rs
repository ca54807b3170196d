//! Transactions: the leaves of the Merkle log.
//!
//! ```text
//! SignedTx = version u16 | kind u16 | author 32 | seq u64 | timestamp u64
//!          | body_len u32 | body | signature 64
//! ```
//! The signature is Ed25519 over
//! `u8 len ‖ "medledger/v2/tx" ‖ ledger_id ‖ (all bytes before the signature)`.

use crate::codec::{Reader, Writer};
use crate::crypto::hash::{Digest, label};
use crate::crypto::sign::{SIGNATURE_LEN, Signature, SigningKey};
use crate::model::consent::{
    AccessEvent, BreakGlass, Consent, ConsentId, MAX_ACCESS_EVENTS, MAX_ERASE_RECORDS,
    ParticipantUpdate, RecordKeyWrap,
};
use crate::model::participant::Participant;
use crate::model::record::{EpochShare, MAX_WRAPS, RecordHeader};
use crate::model::validators::ValidatorSet;
use crate::model::{FORMAT_VERSION, LedgerId, ParticipantId, RecordId, check_version};
use crate::{Error, Result};

/// Largest encoded transaction, 32 MiB.
pub const MAX_TX_LEN: usize = 32 << 20;
/// Most records one transaction may carry.
pub const MAX_RECORDS_PER_TX: usize = 100_000;
/// Most epoch shares one transaction may carry.
pub const MAX_SHARES_PER_TX: usize = 100_000;
/// Most participants a genesis may register.
pub const MAX_GENESIS_PARTICIPANTS: usize = 4096;
/// Longest consortium name in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Default longest break-glass window: 24 hours.
pub const DEFAULT_MAX_BREAK_GLASS_MS: u64 = 24 * 3600 * 1000;
/// Fixed bytes before the body: version, kind, author, seq, time, body length.
pub const TX_PREFIX_LEN: usize = 2 + 2 + 32 + 8 + 8 + 4;

/// Transaction kinds (docs/FORMAT.md §3.7). Values are stable.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[repr(u16)]
pub enum TxKind {
    /// The first leaf: consortium configuration. Unsigned.
    Genesis = 0x0000,
    /// An admin registers a participant.
    RegisterParticipant = 0x0001,
    /// Suspend or reinstate a participant, appoint or remove a guardian.
    UpdateParticipant = 0x0002,
    /// One new record.
    AppendRecord = 0x0010,
    /// One new version of an existing record.
    AmendRecord = 0x0011,
    /// Many records under one signature (bulk import).
    BatchAppend = 0x0012,
    /// Seal current or new category-key epochs to readers.
    ShareKeys = 0x0020,
    /// The patient (or a guardian) grants a consent.
    GrantConsent = 0x0021,
    /// The patient (or a guardian) revokes a consent.
    RevokeConsent = 0x0022,
    /// A provider declares an emergency for a patient.
    BreakGlass = 0x0023,
    /// Read attempts, permitted or denied, by the transaction's author.
    AccessEvents = 0x0024,
    /// Erase record payloads from the vault.
    Erase = 0x0025,
    /// Replace the validator set from the next block on.
    SetValidators = 0x0030,
}

impl TxKind {
    /// The kind for a wire value, or `UnsupportedKind` (including the kinds
    /// reserved for later releases, listed in docs/FORMAT.md §3.7).
    pub fn from_u16(v: u16) -> Result<Self> {
        Ok(match v {
            0x0000 => TxKind::Genesis,
            0x0001 => TxKind::RegisterParticipant,
            0x0002 => TxKind::UpdateParticipant,
            0x0010 => TxKind::AppendRecord,
            0x0011 => TxKind::AmendRecord,
            0x0012 => TxKind::BatchAppend,
            0x0020 => TxKind::ShareKeys,
            0x0021 => TxKind::GrantConsent,
            0x0022 => TxKind::RevokeConsent,
            0x0023 => TxKind::BreakGlass,
            0x0024 => TxKind::AccessEvents,
            0x0025 => TxKind::Erase,
            0x0030 => TxKind::SetValidators,
            other => return Err(Error::UnsupportedKind(other)),
        })
    }
}

/// The consortium configuration held by the first leaf.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Genesis {
    /// Consortium name (no personal data).
    pub name: String,
    /// The validators of block 0 onwards.
    pub validators: ValidatorSet,
    /// Longest break-glass window a provider may declare, in ms.
    pub max_break_glass_ms: u64,
    /// Founding participants: at least one admin, and every validator.
    pub participants: Vec<Participant>,
}

impl Genesis {
    /// A genesis registering `founders`; those with the validator role form
    /// the validator set with `threshold`.
    pub fn new(name: &str, threshold: u16, founders: Vec<Participant>) -> Result<Self> {
        Writer::check_len("genesis.name", name.len(), MAX_NAME_LEN)?;
        let validators = founders
            .iter()
            .filter(|p| p.roles.contains(crate::model::Roles::VALIDATOR))
            .map(|p| crate::model::validators::Validator {
                id: p.id,
                key: p.sign_key,
            })
            .collect();
        Ok(Genesis {
            name: name.to_owned(),
            validators: ValidatorSet::new(threshold, validators)?,
            max_break_glass_ms: DEFAULT_MAX_BREAK_GLASS_MS,
            participants: founders,
        })
    }
}

/// Record-carrying bodies: epoch shares first, then record headers.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RecordsBody {
    /// Category keys opened or shared by this transaction.
    pub shares: Vec<EpochShare>,
    /// The records.
    pub records: Vec<RecordHeader>,
}

/// A consent grant with the key material it hands over: the grantee's
/// copies of the covered categories' keys, and of the data keys of the
/// record versions a record-level consent lists.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GrantBody {
    /// The consent.
    pub consent: Consent,
    /// Category-key shares (current epochs, or new ones).
    pub shares: Vec<EpochShare>,
    /// Data keys of the listed record versions, sealed to the grantee.
    pub record_keys: Vec<RecordKeyWrap>,
}

/// A revocation, with the new epochs that shut the grantee out.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RevokeBody {
    /// The consent revoked.
    pub consent: ConsentId,
    /// New epochs of the categories the consent covered.
    pub shares: Vec<EpochShare>,
}

/// A transaction body, one variant per kind family.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum TxBody {
    /// [`TxKind::Genesis`].
    Genesis(Genesis),
    /// [`TxKind::RegisterParticipant`].
    Register(Participant),
    /// [`TxKind::UpdateParticipant`].
    Update(ParticipantUpdate),
    /// [`TxKind::ShareKeys`].
    ShareKeys(Vec<EpochShare>),
    /// [`TxKind::GrantConsent`].
    Grant(GrantBody),
    /// [`TxKind::RevokeConsent`].
    Revoke(RevokeBody),
    /// [`TxKind::BreakGlass`].
    BreakGlass(BreakGlass),
    /// [`TxKind::AccessEvents`].
    Access(Vec<AccessEvent>),
    /// [`TxKind::Erase`].
    Erase(Vec<RecordId>),
    /// [`TxKind::AppendRecord`], [`TxKind::AmendRecord`], [`TxKind::BatchAppend`].
    Records(RecordsBody),
    /// [`TxKind::SetValidators`].
    SetValidators(ValidatorSet),
}

/// An unsigned transaction.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Tx {
    /// Kind.
    pub kind: TxKind,
    /// Signer (all-zero for genesis).
    pub author: ParticipantId,
    /// Per-author sequence number, from 1, no gaps (0 for genesis).
    pub seq: u64,
    /// Milliseconds since the Unix epoch, set by the author.
    pub timestamp: u64,
    /// Kind-specific body.
    pub body: TxBody,
}

/// A transaction with its author's signature.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedTx {
    /// The transaction.
    pub tx: Tx,
    /// Ed25519 over the signing message (all-zero for genesis).
    pub signature: Signature,
}

impl Tx {
    /// Encodes everything but the signature.
    pub fn encode_unsigned(&self) -> Result<Vec<u8>> {
        self.check_encodable()?;
        let bytes = self.write_unsigned();
        Writer::check_len("transaction", bytes.len() + SIGNATURE_LEN, MAX_TX_LEN)?;
        Ok(bytes)
    }

    /// The byte layout of everything but the signature, without the checks
    /// of [`Tx::encode_unsigned`]. For tests and fuzzing that need the bytes
    /// of values the rules (not the decoder) refuse; a value over a format
    /// limit encodes to bytes the decoder rejects.
    pub fn encode_unchecked(&self) -> Vec<u8> {
        self.write_unsigned()
    }

    fn write_unsigned(&self) -> Vec<u8> {
        let mut body = Writer::new();
        self.write_body(&mut body);
        let body = body.into_bytes();
        let mut w = Writer::with_capacity(TX_PREFIX_LEN + body.len() + SIGNATURE_LEN);
        w.u16(FORMAT_VERSION)
            .u16(self.kind as u16)
            .digest(&self.author.0)
            .u64(self.seq)
            .u64(self.timestamp)
            .bytes(&body);
        w.into_bytes()
    }

    /// Fails unless the body matches the kind and every length and value is
    /// within what the decoder and the structure checks accept, so the
    /// encoder never signs bytes the decoder would refuse (the writers
    /// saturate rather than fail).
    fn check_encodable(&self) -> Result<()> {
        let kind_ok = matches!(
            (&self.kind, &self.body),
            (TxKind::Genesis, TxBody::Genesis(_))
                | (TxKind::RegisterParticipant, TxBody::Register(_))
                | (
                    TxKind::AppendRecord | TxKind::AmendRecord | TxKind::BatchAppend,
                    TxBody::Records(_)
                )
                | (TxKind::SetValidators, TxBody::SetValidators(_))
                | (TxKind::UpdateParticipant, TxBody::Update(_))
                | (TxKind::ShareKeys, TxBody::ShareKeys(_))
                | (TxKind::GrantConsent, TxBody::Grant(_))
                | (TxKind::RevokeConsent, TxBody::Revoke(_))
                | (TxKind::BreakGlass, TxBody::BreakGlass(_))
                | (TxKind::AccessEvents, TxBody::Access(_))
                | (TxKind::Erase, TxBody::Erase(_))
        );
        if !kind_ok {
            return Err(Error::invalid(
                "tx.body",
                "does not match the transaction kind",
            ));
        }
        match &self.body {
            TxBody::Genesis(g) => {
                Writer::check_len("genesis.name", g.name.len(), MAX_NAME_LEN)?;
                Writer::check_len(
                    "genesis.participants",
                    g.participants.len(),
                    MAX_GENESIS_PARTICIPANTS,
                )?;
                g.validators.validate()?;
                for p in &g.participants {
                    p.validate()?;
                }
            }
            TxBody::Register(p) => p.validate()?,
            TxBody::Records(b) => {
                Writer::check_len("tx.records", b.records.len(), MAX_RECORDS_PER_TX)?;
                check_shares_len(&b.shares)?;
                for r in &b.records {
                    r.validate()?;
                }
            }
            TxBody::SetValidators(v) => v.validate()?,
            TxBody::Update(_) => {}
            TxBody::ShareKeys(shares) => check_shares_len(shares)?,
            TxBody::Grant(g) => {
                g.consent.validate()?;
                check_shares_len(&g.shares)?;
                Writer::check_len(
                    "grant.record_keys",
                    g.record_keys.len(),
                    crate::model::consent::MAX_CONSENT_RECORDS,
                )?;
            }
            TxBody::Revoke(r) => check_shares_len(&r.shares)?,
            TxBody::BreakGlass(b) => b.validate()?,
            TxBody::Access(events) => {
                Writer::check_len("access.events", events.len(), MAX_ACCESS_EVENTS)?
            }
            TxBody::Erase(records) => {
                Writer::check_len("erase.records", records.len(), MAX_ERASE_RECORDS)?
            }
        }
        Ok(())
    }

    /// The body's byte layout (docs/FORMAT.md §3.8).
    fn write_body(&self, w: &mut Writer) {
        match &self.body {
            TxBody::Genesis(g) => {
                w.text(&g.name);
                g.validators.encode(w);
                w.u64(g.max_break_glass_ms);
                w.count(g.participants.len());
                for p in &g.participants {
                    p.encode(w);
                }
            }
            TxBody::Register(p) => p.encode(w),
            TxBody::Records(b) => {
                write_shares(w, &b.shares);
                w.count(b.records.len());
                for r in &b.records {
                    r.encode(w);
                }
            }
            TxBody::SetValidators(v) => v.encode(w),
            TxBody::Update(u) => u.encode(w),
            TxBody::ShareKeys(shares) => write_shares(w, shares),
            TxBody::Grant(g) => {
                g.consent.encode(w);
                write_shares(w, &g.shares);
                w.count(g.record_keys.len());
                for k in &g.record_keys {
                    w.digest(&k.record.0).raw(&k.sealed);
                }
            }
            TxBody::Revoke(r) => {
                w.digest(&r.consent.0);
                write_shares(w, &r.shares);
            }
            TxBody::BreakGlass(b) => b.encode(w),
            TxBody::Access(events) => {
                w.count(events.len());
                for e in events {
                    e.encode(w);
                }
            }
            TxBody::Erase(records) => {
                w.count(records.len());
                for r in records {
                    w.digest(&r.0);
                }
            }
        }
    }

    /// The bytes the author signs: label, ledger id, unsigned encoding.
    pub fn signing_message(ledger: &LedgerId, unsigned: &[u8]) -> Vec<u8> {
        let mut m = Vec::with_capacity(1 + label::TX.len() + 32 + unsigned.len());
        m.push(u8::try_from(label::TX.len()).unwrap_or(u8::MAX));
        m.extend_from_slice(label::TX.as_bytes());
        m.extend_from_slice(&ledger.0.0);
        m.extend_from_slice(unsigned);
        m
    }

    /// Signs for `ledger` and returns the full encoding of the signed
    /// transaction.
    pub fn sign(&self, ledger: &LedgerId, key: &SigningKey) -> Result<Vec<u8>> {
        let mut bytes = self.encode_unsigned()?;
        let sig = key.sign(&Self::signing_message(ledger, &bytes));
        bytes.extend_from_slice(&sig.0);
        Ok(bytes)
    }
}

impl SignedTx {
    /// Full canonical encoding.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut bytes = self.tx.encode_unsigned()?;
        bytes.extend_from_slice(&self.signature.0);
        Ok(bytes)
    }

    /// As [`SignedTx::encode`] without the checks (see
    /// [`Tx::encode_unchecked`]): the byte layout of any decoded value.
    pub fn encode_unchecked(&self) -> Vec<u8> {
        let mut bytes = self.tx.encode_unchecked();
        bytes.extend_from_slice(&self.signature.0);
        bytes
    }

    /// Decodes a signed transaction; rejects unknown versions and kinds,
    /// bad lengths and trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_TX_LEN {
            return Err(Error::Decode {
                what: "tx",
                offset: MAX_TX_LEN,
                reason: "longer than the format limit",
            });
        }
        let mut r = Reader::new(bytes);
        check_version("transaction", r.u16("tx.version")?)?;
        let kind = TxKind::from_u16(r.u16("tx.kind")?)?;
        let author = ParticipantId(r.digest("tx.author")?);
        let seq = r.u64("tx.seq")?;
        let timestamp = r.u64("tx.timestamp")?;
        let body_len = r.u32("tx.body_len")?;
        let body_len =
            usize::try_from(body_len).map_err(|_| r.error("tx.body_len", "too large"))?;
        let mut b = r.sub(body_len, "tx.body")?;
        let body = decode_body(kind, &mut b)?;
        b.finish("tx.body")?;
        let signature = Signature(r.fixed("tx.signature")?);
        r.finish("tx")?;
        Ok(SignedTx {
            tx: Tx {
                kind,
                author,
                seq,
                timestamp,
                body,
            },
            signature,
        })
    }

    /// The unsigned prefix of an encoded signed transaction.
    pub fn unsigned_part(bytes: &[u8]) -> &[u8] {
        bytes
            .get(..bytes.len().saturating_sub(SIGNATURE_LEN))
            .unwrap_or_default()
    }
}

fn decode_body(kind: TxKind, r: &mut Reader<'_>) -> Result<TxBody> {
    Ok(match kind {
        TxKind::Genesis => {
            let name = r.text(MAX_NAME_LEN, "genesis.name")?.to_owned();
            let validators = ValidatorSet::decode(r)?;
            let max_break_glass_ms = r.u64("genesis.max_break_glass")?;
            let n = r.count(MAX_GENESIS_PARTICIPANTS, 100, "genesis.participants")?;
            let mut participants = Vec::with_capacity(n);
            for _ in 0..n {
                participants.push(Participant::decode(r)?);
            }
            TxBody::Genesis(Genesis {
                name,
                validators,
                max_break_glass_ms,
                participants,
            })
        }
        TxKind::RegisterParticipant => TxBody::Register(Participant::decode(r)?),
        TxKind::AppendRecord | TxKind::AmendRecord | TxKind::BatchAppend => {
            let shares = read_shares(r)?;
            let n = r.count(MAX_RECORDS_PER_TX, 178, "tx.records")?;
            let mut records = Vec::with_capacity(n);
            for _ in 0..n {
                records.push(RecordHeader::decode(r)?);
            }
            TxBody::Records(RecordsBody { shares, records })
        }
        TxKind::SetValidators => TxBody::SetValidators(ValidatorSet::decode(r)?),
        TxKind::UpdateParticipant => TxBody::Update(ParticipantUpdate::decode(r)?),
        TxKind::ShareKeys => TxBody::ShareKeys(read_shares(r)?),
        TxKind::GrantConsent => {
            let consent = Consent::decode(r)?;
            let shares = read_shares(r)?;
            let n = r.count(
                crate::model::consent::MAX_CONSENT_RECORDS,
                32 + crate::model::consent::SEALED_DEK_LEN,
                "grant.record_keys",
            )?;
            let mut record_keys = Vec::with_capacity(n);
            for _ in 0..n {
                record_keys.push(RecordKeyWrap {
                    record: RecordId(r.digest("grant.record_keys.record")?),
                    sealed: r.fixed("grant.record_keys.sealed")?,
                });
            }
            TxBody::Grant(GrantBody {
                consent,
                shares,
                record_keys,
            })
        }
        TxKind::RevokeConsent => TxBody::Revoke(RevokeBody {
            consent: ConsentId(r.digest("revoke.consent")?),
            shares: read_shares(r)?,
        }),
        TxKind::BreakGlass => TxBody::BreakGlass(BreakGlass::decode(r)?),
        TxKind::AccessEvents => {
            let n = r.count(MAX_ACCESS_EVENTS, 34, "access.events")?;
            let mut events = Vec::with_capacity(n);
            for _ in 0..n {
                events.push(AccessEvent::decode(r)?);
            }
            TxBody::Access(events)
        }
        TxKind::Erase => {
            let n = r.count(MAX_ERASE_RECORDS, 32, "erase.records")?;
            let mut records = Vec::with_capacity(n);
            for _ in 0..n {
                records.push(RecordId(r.digest("erase.records")?));
            }
            TxBody::Erase(records)
        }
    })
}

fn check_shares_len(shares: &[EpochShare]) -> Result<()> {
    Writer::check_len("tx.shares", shares.len(), MAX_SHARES_PER_TX)?;
    for s in shares {
        Writer::check_len("epoch_share.wraps", s.wraps.len(), MAX_WRAPS)?;
    }
    Ok(())
}

fn write_shares(w: &mut Writer, shares: &[EpochShare]) {
    w.count(shares.len());
    for s in shares {
        s.encode(w);
    }
}

fn read_shares(r: &mut Reader<'_>) -> Result<Vec<EpochShare>> {
    let n = r.count(MAX_SHARES_PER_TX, 43, "tx.shares")?;
    let mut shares = Vec::with_capacity(n);
    for _ in 0..n {
        shares.push(EpochShare::decode(r)?);
    }
    Ok(shares)
}

/// Ledger id of a genesis transaction's encoding.
pub fn ledger_id_of(genesis_bytes: &[u8]) -> LedgerId {
    LedgerId(crate::crypto::hash::tagged_hash(
        label::LEDGER_ID,
        &[genesis_bytes],
    ))
}

/// Tagged digest of a payload ciphertext (the vault key).
pub fn ciphertext_digest(ciphertext: &[u8]) -> Digest {
    crate::crypto::hash::tagged_hash(label::CIPHERTEXT, &[ciphertext])
}
