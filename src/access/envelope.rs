//! Sealing and opening record payloads and category keys.

use zeroize::Zeroizing;

use crate::crypto::aead::{AeadKey, KEY_LEN};
use crate::crypto::kex;
use crate::crypto::keypair::Keypair;
use crate::model::consent::{RecordKeyWrap, SEALED_DEK_LEN};
use crate::model::record::{SEALED_KEY_LEN, WRAPPED_DEK_LEN, dek_wrap_aad};
use crate::model::tx::ciphertext_digest;
use crate::model::{
    Category, EpochShare, KeyWrap, LedgerId, ParticipantId, RecordHeader, RecordId,
};
use crate::{Error, Result};

/// What an author supplies for a new record or version.
#[derive(Clone, Debug)]
pub struct RecordDraft<'a> {
    /// Record id (derived from author, seq and index).
    pub id: RecordId,
    /// Whose record.
    pub patient: ParticipantId,
    /// Category.
    pub category: Category,
    /// MIME type of the plaintext.
    pub content_type: &'a str,
    /// Version (1, or previous + 1).
    pub version: u32,
    /// Previous version, for amendments.
    pub amends: Option<RecordId>,
    /// Epoch of the category key.
    pub key_epoch: u32,
}

/// Encrypts `plaintext` under a fresh data key, wraps that key under
/// `category_key`, and returns the header and the vault ciphertext.
pub fn seal_record(
    ledger: &LedgerId,
    author: &ParticipantId,
    draft: RecordDraft<'_>,
    category_key: &AeadKey,
    plaintext: &[u8],
) -> Result<(RecordHeader, Vec<u8>)> {
    if plaintext.len() as u64 > crate::model::record::MAX_PAYLOAD_LEN {
        return Err(Error::invalid("payload", "larger than 64 MiB"));
    }
    let dek = AeadKey::generate();
    let wrapped = category_key.seal(
        &dek_wrap_aad(ledger, &draft.id, draft.key_epoch),
        dek.as_bytes(),
    )?;
    let wrapped_dek: [u8; WRAPPED_DEK_LEN] = wrapped
        .try_into()
        .map_err(|_| Error::System("wrapped data key has an unexpected size".into()))?;
    let mut header = RecordHeader {
        id: draft.id,
        patient: draft.patient,
        category: draft.category,
        content_type: draft.content_type.to_owned(),
        version: draft.version,
        amends: draft.amends,
        key_epoch: draft.key_epoch,
        wrapped_dek,
        ciphertext_len: 0,
        ciphertext_digest: Default::default(),
    };
    let ciphertext = dek.seal(&header.payload_aad(ledger, author), plaintext)?;
    header.ciphertext_len = ciphertext.len() as u64;
    header.ciphertext_digest = ciphertext_digest(&ciphertext);
    header.validate()?;
    Ok((header, ciphertext))
}

/// Unwraps a record's data key with its category key.
pub fn unwrap_dek(
    ledger: &LedgerId,
    header: &RecordHeader,
    category_key: &AeadKey,
) -> Result<AeadKey> {
    let dek = category_key.open(
        &dek_wrap_aad(ledger, &header.id, header.key_epoch),
        &header.wrapped_dek,
        "record data key",
    )?;
    key_from(&dek, "record data key")
}

fn key_from(raw: &[u8], what: &'static str) -> Result<AeadKey> {
    let bytes: [u8; KEY_LEN] = raw.try_into().map_err(|_| Error::Decrypt(what))?;
    Ok(AeadKey::from_bytes(bytes))
}

/// Checks the ciphertext against the header's digest and decrypts it with
/// the record's data key.
pub fn open_payload(
    ledger: &LedgerId,
    author: &ParticipantId,
    header: &RecordHeader,
    dek: &AeadKey,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    if !ciphertext_digest(ciphertext).ct_eq(&header.ciphertext_digest) {
        return Err(Error::Tampered(format!(
            "the stored ciphertext of record {} does not match its digest on the chain",
            header.id
        )));
    }
    dek.open(
        &header.payload_aad(ledger, author),
        ciphertext,
        "record payload",
    )
}

/// Checks the ciphertext against the header's digest, unwraps the data key
/// and decrypts.
pub fn open_record(
    ledger: &LedgerId,
    author: &ParticipantId,
    header: &RecordHeader,
    category_key: &AeadKey,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let dek = unwrap_dek(ledger, header, category_key)?;
    open_payload(ledger, author, header, &dek, ciphertext)
}

/// Seals a record's data key to one reader (record-level consent).
pub fn seal_dek(
    ledger: &LedgerId,
    record: &RecordId,
    recipient: &ParticipantId,
    recipient_enc: &[u8; 32],
    dek: &AeadKey,
) -> Result<RecordKeyWrap> {
    let ctx = RecordKeyWrap::context(ledger, record, recipient);
    let sealed = kex::seal(recipient_enc, &ctx, dek.as_bytes())?
        .try_into()
        .map_err(|_| Error::System("sealed data key has an unexpected size".into()))?;
    Ok(RecordKeyWrap {
        record: *record,
        sealed,
    })
}

/// Opens a record's data key sealed to `reader` by a record-level consent.
pub fn open_dek(
    ledger: &LedgerId,
    reader: &Keypair,
    record: &RecordId,
    sealed: &[u8; SEALED_DEK_LEN],
) -> Result<AeadKey> {
    let ctx = RecordKeyWrap::context(ledger, record, &reader.id());
    let raw = kex::open(reader.encryption_secret(), &ctx, sealed, "record data key")?;
    key_from(&raw, "record data key")
}

/// Seals a category key of `epoch` to each reader `(id, X25519 public key)`.
pub fn share_epoch(
    ledger: &LedgerId,
    patient: ParticipantId,
    category: &Category,
    epoch: u32,
    key: &AeadKey,
    readers: &[(ParticipantId, [u8; 32])],
) -> Result<EpochShare> {
    let mut wraps = Vec::with_capacity(readers.len());
    for (id, enc) in readers {
        let ctx = EpochShare::wrap_context(ledger, &patient, category, epoch, id);
        let sealed: [u8; SEALED_KEY_LEN] = kex::seal(enc, &ctx, key.as_bytes())?
            .try_into()
            .map_err(|_| Error::System("sealed key has an unexpected size".into()))?;
        wraps.push(KeyWrap {
            recipient: *id,
            sealed,
        });
    }
    Ok(EpochShare {
        patient,
        category: category.clone(),
        epoch,
        wraps,
    })
}

/// Opens the category key sealed to `reader`, using its cache first.
pub fn open_epoch_key(
    ledger: &LedgerId,
    reader: &Keypair,
    patient: &ParticipantId,
    category: &Category,
    epoch: u32,
    sealed: &[u8; SEALED_KEY_LEN],
) -> Result<AeadKey> {
    let cache_key = (*ledger, *patient, category.clone(), epoch);
    if let Some(k) = reader.cached_epoch_key(&cache_key) {
        return Ok(k);
    }
    let ctx = EpochShare::wrap_context(ledger, patient, category, epoch, &reader.id());
    let raw = kex::open(reader.encryption_secret(), &ctx, sealed, "category key")?;
    let key = key_from(&raw, "category key")?;
    reader.cache_epoch_key(cache_key, key.clone());
    Ok(key)
}
