//! Record headers (on chain) and the key material that travels with them.

use core::fmt;

use crate::codec::{Reader, Writer};
use crate::crypto::aead::{KEY_LEN, OVERHEAD};
use crate::crypto::hash::{Digest, label};
use crate::crypto::kex::sealed_len;
use crate::model::{LedgerId, ParticipantId, RecordId};
use crate::{Error, Result};

/// Longest category code in bytes.
pub const MAX_CATEGORY_LEN: usize = 32;
/// Longest content type in bytes.
pub const MAX_CONTENT_TYPE_LEN: usize = 64;
/// Largest payload (plaintext) accepted, 64 MiB.
pub const MAX_PAYLOAD_LEN: u64 = 64 << 20;
/// Size of a data key wrapped under a category key: nonce ‖ key ‖ tag.
pub const WRAPPED_DEK_LEN: usize = KEY_LEN + OVERHEAD;
/// Size of a category key sealed to one reader.
pub const SEALED_KEY_LEN: usize = sealed_len(KEY_LEN);

/// A record category: a short lowercase code such as `lab`, `imaging`,
/// `medication`, `note` (aligned with FHIR resource types). Pattern
/// `[a-z0-9][a-z0-9._-]{0,31}`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Category(String);

impl Category {
    /// Validates and wraps a category code.
    pub fn new(code: &str) -> Result<Self> {
        let ok = !code.is_empty()
            && code.len() <= MAX_CATEGORY_LEN
            && code.bytes().enumerate().all(|(i, b)| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || (i > 0 && matches!(b, b'.' | b'_' | b'-'))
            });
        if !ok {
            return Err(Error::invalid(
                "category",
                format!("{code:?} is not a code matching [a-z0-9][a-z0-9._-]{{0,31}}"),
            ));
        }
        Ok(Category(code.to_owned()))
    }

    /// Decodes a category code (text, then the code rules), naming `what`.
    pub fn decode(r: &mut Reader<'_>, what: &'static str) -> Result<Self> {
        let at = r.offset();
        Category::new(r.text(MAX_CATEGORY_LEN, what)?).map_err(|_| Error::Decode {
            what,
            offset: at,
            reason: "not a valid category code",
        })
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Category({})", self.0)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_content_type(ct: &str) -> Result<()> {
    if ct.is_empty()
        || ct.len() > MAX_CONTENT_TYPE_LEN
        || !ct.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
    {
        return Err(Error::invalid(
            "content_type",
            "must be 1 to 64 printable ASCII characters",
        ));
    }
    Ok(())
}

/// The on-chain header of a record. The author is the transaction's author.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RecordHeader {
    /// Record id, derived from (ledger, author, seq, index).
    pub id: RecordId,
    /// Whose record it is.
    pub patient: ParticipantId,
    /// Category code.
    pub category: Category,
    /// MIME type of the plaintext, e.g. `application/fhir+json`.
    pub content_type: String,
    /// 1 for a new record, previous version + 1 for an amendment.
    pub version: u32,
    /// The record this one amends (the previous version), if any.
    pub amends: Option<RecordId>,
    /// Epoch of the (patient, category) key the data key is wrapped under.
    pub key_epoch: u32,
    /// The data key, AES-256-GCM-wrapped under the category key.
    pub wrapped_dek: [u8; WRAPPED_DEK_LEN],
    /// Length of the ciphertext in the vault (nonce ‖ ct ‖ tag).
    pub ciphertext_len: u64,
    /// Tagged SHA3-256 of the ciphertext; the vault key.
    pub ciphertext_digest: Digest,
}

impl RecordHeader {
    /// Checks fields that need no chain state.
    pub fn validate(&self) -> Result<()> {
        check_content_type(&self.content_type)?;
        let max_ct = MAX_PAYLOAD_LEN + OVERHEAD as u64;
        if self.ciphertext_len < OVERHEAD as u64 || self.ciphertext_len > max_ct {
            return Err(Error::invalid("record.ciphertext_len", "out of range"));
        }
        match (self.version, &self.amends) {
            (1, None) => {}
            (v, Some(_)) if v > 1 => {}
            _ => {
                return Err(Error::invalid(
                    "record.version",
                    "must be 1 for a new record and > 1 for an amendment",
                ));
            }
        }
        if self.key_epoch == 0 {
            return Err(Error::invalid("record.key_epoch", "epochs start at 1"));
        }
        Ok(())
    }

    /// Canonical encoding.
    pub fn encode(&self, w: &mut Writer) {
        w.digest(&self.id.0)
            .digest(&self.patient.0)
            .text(self.category.as_str())
            .text(&self.content_type)
            .u32(self.version);
        match &self.amends {
            None => w.u8(0),
            Some(prev) => w.u8(1).digest(&prev.0),
        };
        w.u32(self.key_epoch)
            .raw(&self.wrapped_dek)
            .u64(self.ciphertext_len)
            .digest(&self.ciphertext_digest);
    }

    /// Decodes one header.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let id = RecordId(r.digest("record.id")?);
        let patient = ParticipantId(r.digest("record.patient")?);
        let category = Category::decode(r, "record.category")?;
        let content_type = r
            .text(MAX_CONTENT_TYPE_LEN, "record.content_type")?
            .to_owned();
        let version = r.u32("record.version")?;
        let amends = match r.u8("record.amends")? {
            0 => None,
            1 => Some(RecordId(r.digest("record.amends")?)),
            _ => return Err(r.error("record.amends", "presence flag must be 0 or 1")),
        };
        Ok(RecordHeader {
            id,
            patient,
            category,
            content_type,
            version,
            amends,
            key_epoch: r.u32("record.key_epoch")?,
            wrapped_dek: r.fixed("record.wrapped_dek")?,
            ciphertext_len: r.u64("record.ciphertext_len")?,
            ciphertext_digest: r.digest("record.ciphertext_digest")?,
        })
    }

    /// The AES-GCM associated data binding the payload to this record's
    /// identity: ledger, record, patient, author, category, content type,
    /// version and key epoch (docs/FORMAT.md §4.1).
    pub fn payload_aad(&self, ledger: &LedgerId, author: &ParticipantId) -> Vec<u8> {
        let mut w = Writer::with_capacity(200);
        w.text(label::RECORD_AAD)
            .digest(&ledger.0)
            .digest(&self.id.0)
            .digest(&self.patient.0)
            .digest(&author.0)
            .text(self.category.as_str())
            .text(&self.content_type)
            .u32(self.version)
            .u32(self.key_epoch);
        w.into_bytes()
    }
}

/// A category key sealed to one reader.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KeyWrap {
    /// Who can open it.
    pub recipient: ParticipantId,
    /// X25519 sealed box of the 32-byte category key.
    pub sealed: [u8; SEALED_KEY_LEN],
}

/// Opens a key epoch for (patient, category), or shares it: the category key
/// of `epoch` sealed to each listed reader.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EpochShare {
    /// Whose records the key protects.
    pub patient: ParticipantId,
    /// Which category.
    pub category: Category,
    /// Epoch number, from 1.
    pub epoch: u32,
    /// One sealed copy per reader.
    pub wraps: Vec<KeyWrap>,
}

/// Most readers one epoch share may list.
pub const MAX_WRAPS: usize = 1024;

impl EpochShare {
    /// Canonical encoding.
    pub fn encode(&self, w: &mut Writer) {
        w.digest(&self.patient.0)
            .text(self.category.as_str())
            .u32(self.epoch)
            .count(self.wraps.len());
        for k in &self.wraps {
            w.digest(&k.recipient.0).raw(&k.sealed);
        }
    }

    /// Decodes one share.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let patient = ParticipantId(r.digest("epoch_share.patient")?);
        let category = Category::decode(r, "epoch_share.category")?;
        let epoch = r.u32("epoch_share.epoch")?;
        let n = r.count(MAX_WRAPS, 32 + SEALED_KEY_LEN, "epoch_share.wraps")?;
        let mut wraps = Vec::with_capacity(n);
        for _ in 0..n {
            wraps.push(KeyWrap {
                recipient: ParticipantId(r.digest("epoch_share.wraps.recipient")?),
                sealed: r.fixed("epoch_share.wraps.sealed")?,
            });
        }
        Ok(EpochShare {
            patient,
            category,
            epoch,
            wraps,
        })
    }

    /// Associated data (and HKDF context) sealing this epoch's key to
    /// `recipient`.
    pub fn wrap_context(
        ledger: &LedgerId,
        patient: &ParticipantId,
        category: &Category,
        epoch: u32,
        recipient: &ParticipantId,
    ) -> Vec<u8> {
        let mut w = Writer::with_capacity(180);
        w.text(label::EPOCH_KEY_WRAP)
            .digest(&ledger.0)
            .digest(&patient.0)
            .text(category.as_str())
            .u32(epoch)
            .digest(&recipient.0);
        w.into_bytes()
    }
}

/// Associated data of a data key wrapped under a category key.
pub fn dek_wrap_aad(ledger: &LedgerId, record: &RecordId, epoch: u32) -> Vec<u8> {
    let mut w = Writer::with_capacity(96);
    w.text(label::DEK_WRAP)
        .digest(&ledger.0)
        .digest(&record.0)
        .u32(epoch);
    w.into_bytes()
}
