//! The one error type of the crate, grouped by cause.

use crate::verify::Fault;

/// Result alias used throughout medledger.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Every failure medledger reports. Variants are grouped by cause; the
/// message always says what failed and, for decoding, where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- input bytes -------------------------------------------------
    /// Bytes could not be decoded: `what` names the structure and field,
    /// `offset` the byte position in the input.
    #[error("malformed {what} at byte {offset}: {reason}")]
    Decode {
        /// Structure and field being decoded, e.g. `tx.body`.
        what: &'static str,
        /// Byte offset in the input where decoding failed.
        offset: usize,
        /// Why it failed.
        reason: &'static str,
    },
    /// A format version this build does not understand (fail closed).
    #[error("unsupported {what} format version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// Which structure carried the version.
        what: &'static str,
        /// Version found in the bytes.
        found: u16,
        /// Version this build reads.
        supported: u16,
    },
    /// A transaction kind that is unknown or reserved for a later release.
    #[error("unsupported transaction kind 0x{0:04x}")]
    UnsupportedKind(u16),
    /// A value is outside what the format or API accepts.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The offending argument or field.
        what: &'static str,
        /// Why it is invalid.
        reason: String,
    },

    // ---- cryptography ---------------------------------------------------
    /// A signature did not verify under the strict Ed25519 rules.
    #[error("signature verification failed: {0}")]
    BadSignature(&'static str),
    /// A public key was rejected (non-canonical, small order or not in the
    /// prime-order subgroup).
    #[error("rejected public key: {0}")]
    WeakKey(&'static str),
    /// Authenticated decryption failed: wrong key, or the ciphertext, nonce
    /// or associated data was modified.
    #[error("decryption failed for {0}: wrong key or modified ciphertext")]
    Decrypt(&'static str),
    /// Stored data does not match the digest committed on the chain (e.g. a
    /// vault ciphertext was modified): it is refused before decryption.
    #[error("tampered: {0}")]
    Tampered(String),
    /// The passphrase does not open the exported secret key.
    #[error("wrong passphrase (or the exported key was modified)")]
    WrongPassphrase,
    /// A Merkle proof did not verify.
    #[error("invalid Merkle proof: {0}")]
    Proof(&'static str),
    /// An evidence bundle decoded but failed a check (docs/FORMAT.md §9.2).
    #[error("evidence rejected: {part}, {field}: {reason}")]
    Evidence {
        /// The part of the bundle: `genesis`, `validator change 2`,
        /// `target block`, `target`, `key event 0`, `ciphertext`, ...
        part: String,
        /// The field within it, e.g. `seals`, `proof`, `tx.signature`.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },

    // ---- ledger rules -----------------------------------------------------
    /// A transaction was refused by the ledger rules before being sequenced.
    #[error("transaction rejected: {0}")]
    Rejected(String),
    /// The caller may not perform this operation.
    #[error("access denied: {0}")]
    Denied(String),
    /// A read refused by the access rules; the attempt was recorded in
    /// the access log. `reason` says why (no consent, expired, wrong
    /// purpose, revoked, suspended, erased).
    #[error("access denied ({reason:?}): {detail}")]
    AccessDenied {
        /// Why, as recorded in the access event.
        reason: crate::model::DenyReason,
        /// Which reader, record and purpose.
        detail: String,
    },
    /// No such record, participant, block or payload.
    #[error("not found: {0}")]
    NotFound(String),
    /// A block lacks the validator signatures it needs.
    #[error("block at height {height} has {have} valid validator signatures; {need} needed")]
    MissingQuorum {
        /// Height of the block.
        height: u64,
        /// Distinct valid signatures present.
        have: usize,
        /// Threshold required by the validator set.
        need: usize,
    },
    /// Verification found a fault in stored data.
    #[error("verification failed: {0}")]
    Corrupt(Box<Fault>),

    // ---- environment ------------------------------------------------------
    /// The operating system or RNG failed.
    #[error("system error: {0}")]
    System(String),
}

impl Error {
    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            what,
            reason: reason.into(),
        }
    }
}
