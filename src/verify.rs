//! Verification: replay from genesis and report the first fault with its
//! exact location.

use core::fmt;

use crate::model::LedgerId;

/// What kind of damage verification found.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[non_exhaustive]
pub enum FaultKind {
    /// Bytes do not decode (bad length, bad value, trailing bytes).
    Malformed,
    /// A format version or transaction kind this build does not read.
    Unsupported,
    /// A transaction or seal signature does not verify.
    BadSignature,
    /// A recomputed hash differs from the one committed (log root,
    /// validator-set hash, header hash under the seals).
    HashMismatch,
    /// A block does not link to its predecessor (previous hash, leaf range).
    BrokenLink,
    /// Fewer than `threshold` valid validator signatures.
    MissingQuorum,
    /// A transaction reuses a sequence number already used by its author.
    ReplayedSequence,
    /// Items appear out of order (sequence gap, block height out of place).
    Reordered,
    /// A validly signed transaction the rules did not allow.
    Unauthorised,
    /// A record's ciphertext is absent from the vault.
    PayloadMissing,
    /// A record's ciphertext in the vault does not match its digest.
    PayloadTampered,
    /// Data ends early: fewer transactions or blocks than committed.
    Truncated,
    /// The chain belongs to another ledger.
    WrongLedger,
}

/// Where a fault is: block height, and when known the transaction index in
/// the block, the record index in the transaction, the field and byte offset.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Location {
    /// Block height.
    pub height: u64,
    /// Transaction index within the block.
    pub tx_index: Option<u32>,
    /// Record index within the transaction.
    pub record_index: Option<u32>,
    /// Field name, e.g. `header.log_root`, `tx.signature`.
    pub field: &'static str,
    /// Byte offset within the stored block, when the fault is a decoding one.
    pub offset: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "block {}", self.height)?;
        if let Some(t) = self.tx_index {
            write!(f, ", tx {t}")?;
        }
        if let Some(r) = self.record_index {
            write!(f, ", record {r}")?;
        }
        write!(f, ", field {}", self.field)?;
        if let Some(o) = self.offset {
            write!(f, ", byte {o}")?;
        }
        Ok(())
    }
}

/// The first fault verification found.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Fault {
    /// Kind of damage.
    pub kind: FaultKind,
    /// Where.
    pub location: Location,
    /// Human-readable detail.
    pub message: String,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} at {}: {}", self.kind, self.location, self.message)
    }
}

/// The outcome of verification: counts of what was checked, and the first
/// fault if any.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Report {
    /// Ledger id (when genesis decoded).
    pub ledger_id: Option<LedgerId>,
    /// Blocks fully verified.
    pub blocks: u64,
    /// Transactions verified.
    pub transactions: u64,
    /// Record headers verified.
    pub records: u64,
    /// Payload ciphertexts checked against their digests.
    pub payloads: u64,
    /// Signatures verified (transactions and seals).
    pub signatures: u64,
    /// The first fault, or `None` when everything verified.
    pub fault: Option<Fault>,
}

impl Report {
    /// True when no fault was found.
    pub fn is_ok(&self) -> bool {
        self.fault.is_none()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fault {
            None => write!(
                f,
                "OK: {} blocks, {} transactions, {} records, {} payloads, {} signatures",
                self.blocks, self.transactions, self.records, self.payloads, self.signatures
            ),
            Some(fault) => write!(f, "FAULT: {fault} (after {} good blocks)", self.blocks),
        }
    }
}
