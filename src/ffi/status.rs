//! Stable status codes and fault-kind codes.
//!
//! Codes are grouped by the hundreds: `0` success, `1xx` the caller's
//! input, `2xx` cryptography, `3xx` ledger rules and stored data, `4xx`
//! peers (the network), `9xx` internal. A code, once published, keeps its
//! number and meaning; new codes are added inside their group (or a new
//! group). C callers receive plain `uint32_t`
//! values, never a Rust enum, so an unknown future code is still a valid
//! value to switch on (treat it by its group: `status / 100`).

use std::ffi::c_char;

use crate::Error;
use crate::model::DenyReason;
use crate::verify::FaultKind;

/// The result of a medledger call: `MEDLEDGER_OK` (0) or an error code.
/// The group is `status / 100`; see the `MEDLEDGER_ERR_*` constants.
#[allow(non_camel_case_types)]
pub type medledger_status = u32;

/// Success.
pub const MEDLEDGER_OK: medledger_status = 0;

/// 1xx: a required pointer argument was NULL.
pub const MEDLEDGER_ERR_NULL_POINTER: medledger_status = 100;
/// 1xx: a string argument is not valid UTF-8.
pub const MEDLEDGER_ERR_INVALID_UTF8: medledger_status = 101;
/// 1xx: an argument is out of range (too long, unknown role bits, bad
/// threshold, misaligned array, ...).
pub const MEDLEDGER_ERR_INVALID_ARGUMENT: medledger_status = 102;
/// 1xx: bytes given to the library (a key file) do not decode.
pub const MEDLEDGER_ERR_MALFORMED: medledger_status = 103;
/// 1xx: a format version this build does not read.
pub const MEDLEDGER_ERR_UNSUPPORTED_VERSION: medledger_status = 104;
/// 1xx: a transaction kind this build does not read.
pub const MEDLEDGER_ERR_UNSUPPORTED_KIND: medledger_status = 105;

/// 2xx: a signature does not verify.
pub const MEDLEDGER_ERR_BAD_SIGNATURE: medledger_status = 200;
/// 2xx: authenticated decryption failed (wrong key or modified ciphertext).
pub const MEDLEDGER_ERR_DECRYPT: medledger_status = 201;
/// 2xx: the passphrase does not open the key file (or the file was
/// modified).
pub const MEDLEDGER_ERR_WRONG_PASSPHRASE: medledger_status = 202;
/// 2xx: a public key was rejected (non-canonical or small order).
pub const MEDLEDGER_ERR_WEAK_KEY: medledger_status = 203;
/// 2xx: a Merkle proof does not verify.
pub const MEDLEDGER_ERR_BAD_PROOF: medledger_status = 204;

/// 3xx: the ledger rules refused a transaction (e.g. a non-admin
/// registering someone, an unregistered author).
pub const MEDLEDGER_ERR_REJECTED: medledger_status = 300;
/// 3xx: the caller may not do this (e.g. seal with a key outside the
/// validator set, read through a read-only open, a break-glass read on a
/// node without a custodian key). A read refused by the access rules has a
/// more precise code, 310 to 316.
pub const MEDLEDGER_ERR_ACCESS_DENIED: medledger_status = 301;
/// 3xx: no such record, participant, block or payload.
pub const MEDLEDGER_ERR_NOT_FOUND: medledger_status = 302;
/// 3xx: fewer validators sealed the block than the threshold.
pub const MEDLEDGER_ERR_MISSING_QUORUM: medledger_status = 303;
/// 3xx: stored data does not verify: opening a damaged ledger (the
/// message names the fault and, for the ledger file, its byte offset).
pub const MEDLEDGER_ERR_CORRUPT: medledger_status = 304;
/// 3xx: one record's stored ciphertext does not match the digest committed
/// on the chain (it was modified after commit); refused before decryption,
/// no plaintext is returned. The ledger stays usable; other records are
/// unaffected. `medledger_ledger_verify` reports the same damage as
/// `MEDLEDGER_FAULT_PAYLOAD_TAMPERED`.
pub const MEDLEDGER_ERR_TAMPERED: medledger_status = 305;

/// 3xx: a block a peer shipped conflicts with the block this node holds
/// (or endorsed) at its height, and validators signed both: equivocation.
/// The block is not imported; the function that returns this status also
/// hands out the evidence (`medledger_equivocation_verify` names the
/// validators who signed both).
pub const MEDLEDGER_ERR_EQUIVOCATION: medledger_status = 306;

/// 3xx: a read refused by the access rules because no consent from the
/// patient covers this record for this reader (and no break-glass
/// declaration is active). The denied attempt is recorded in the access
/// log. Codes 310 to 316 are the reasons of a denied read; 301 remains
/// for every other refusal.
pub const MEDLEDGER_ERR_NO_CONSENT: medledger_status = 310;
/// 3xx: a read refused because the consent covering it for this purpose
/// has expired (`not_after` has passed). Recorded in the access log.
pub const MEDLEDGER_ERR_CONSENT_EXPIRED: medledger_status = 311;
/// 3xx: a read refused because the consent covering it for this purpose is
/// not valid yet (`not_before` is in the future). Recorded in the access
/// log.
pub const MEDLEDGER_ERR_CONSENT_NOT_YET_VALID: medledger_status = 312;
/// 3xx: a read refused because consents cover the record for this reader,
/// but none for the stated purpose of use. Recorded in the access log.
pub const MEDLEDGER_ERR_WRONG_PURPOSE: medledger_status = 313;
/// 3xx: a read refused because the consent covering it was revoked.
/// Recorded in the access log.
pub const MEDLEDGER_ERR_CONSENT_REVOKED: medledger_status = 314;
/// 3xx: a read refused because the reader is suspended. Recorded in the
/// access log.
pub const MEDLEDGER_ERR_SUSPENDED: medledger_status = 315;
/// 3xx: a read refused because the record's payload was erased (the chain
/// keeps its header and digest). Recorded in the access log.
pub const MEDLEDGER_ERR_ERASED: medledger_status = 316;

/// 4xx: a peer could not be reached or did not answer: connection
/// refused or failed, the timeout passed, the connection closed without an
/// answer, or a `medledger_peer` callback failed. Nothing was changed by
/// the failed exchange; try again later.
pub const MEDLEDGER_ERR_PEER_UNREACHABLE: medledger_status = 400;

/// 9xx: the operating system or random number generator failed, or a lock
/// was poisoned by an earlier panic.
pub const MEDLEDGER_ERR_SYSTEM: medledger_status = 900;
/// 9xx: a bug: the library panicked. The call had no effect the caller can
/// rely on; the handle may be unusable (later calls return
/// `MEDLEDGER_ERR_SYSTEM`). Please report it with `medledger_last_error()`.
pub const MEDLEDGER_ERR_PANIC: medledger_status = 901;

/// Fault kind: no fault (the report is OK).
pub const MEDLEDGER_FAULT_NONE: u32 = 0;
/// Fault kind: bytes do not decode (bad length, bad value, trailing bytes).
pub const MEDLEDGER_FAULT_MALFORMED: u32 = 1;
/// Fault kind: a format version or transaction kind this build does not
/// read.
pub const MEDLEDGER_FAULT_UNSUPPORTED: u32 = 2;
/// Fault kind: a transaction or seal signature does not verify.
pub const MEDLEDGER_FAULT_BAD_SIGNATURE: u32 = 3;
/// Fault kind: a recomputed hash differs from the committed one (log root,
/// validator-set hash, header under the seals).
pub const MEDLEDGER_FAULT_HASH_MISMATCH: u32 = 4;
/// Fault kind: a block does not link to its predecessor.
pub const MEDLEDGER_FAULT_BROKEN_LINK: u32 = 5;
/// Fault kind: fewer valid validator seals than the threshold.
pub const MEDLEDGER_FAULT_MISSING_QUORUM: u32 = 6;
/// Fault kind: a transaction reuses its author's sequence number.
pub const MEDLEDGER_FAULT_REPLAYED_SEQUENCE: u32 = 7;
/// Fault kind: items out of order (sequence gap, height out of place).
pub const MEDLEDGER_FAULT_REORDERED: u32 = 8;
/// Fault kind: a validly signed transaction its author was not allowed to
/// submit.
pub const MEDLEDGER_FAULT_UNAUTHORISED: u32 = 9;
/// Fault kind: a validly signed transaction that breaks a ledger rule.
pub const MEDLEDGER_FAULT_INVALID_TRANSACTION: u32 = 10;
/// Fault kind: a record's ciphertext is absent from the vault.
pub const MEDLEDGER_FAULT_PAYLOAD_MISSING: u32 = 11;
/// Fault kind: a record's ciphertext does not match its digest.
pub const MEDLEDGER_FAULT_PAYLOAD_TAMPERED: u32 = 12;
/// Fault kind: data ends early (fewer transactions or blocks than
/// committed).
pub const MEDLEDGER_FAULT_TRUNCATED: u32 = 13;
/// Fault kind: the chain belongs to another ledger.
pub const MEDLEDGER_FAULT_WRONG_LEDGER: u32 = 14;

/// The status for a library error. Exhaustive on purpose: a new `Error`
/// variant must be given its code here.
pub(crate) fn status_of(e: &Error) -> medledger_status {
    match e {
        Error::Decode { .. } => MEDLEDGER_ERR_MALFORMED,
        Error::UnsupportedVersion { .. } => MEDLEDGER_ERR_UNSUPPORTED_VERSION,
        Error::UnsupportedKind(_) => MEDLEDGER_ERR_UNSUPPORTED_KIND,
        Error::Invalid { .. } => MEDLEDGER_ERR_INVALID_ARGUMENT,
        Error::BadSignature(_) => MEDLEDGER_ERR_BAD_SIGNATURE,
        Error::WeakKey(_) => MEDLEDGER_ERR_WEAK_KEY,
        Error::Decrypt(_) => MEDLEDGER_ERR_DECRYPT,
        Error::WrongPassphrase => MEDLEDGER_ERR_WRONG_PASSPHRASE,
        Error::Proof(_) | Error::Evidence { .. } => MEDLEDGER_ERR_BAD_PROOF,
        Error::Rejected(_) => MEDLEDGER_ERR_REJECTED,
        Error::Denied(_) => MEDLEDGER_ERR_ACCESS_DENIED,
        Error::AccessDenied { reason, .. } => deny_status(*reason),
        Error::NotFound(_) => MEDLEDGER_ERR_NOT_FOUND,
        Error::MissingQuorum { .. } => MEDLEDGER_ERR_MISSING_QUORUM,
        Error::Corrupt(_) => MEDLEDGER_ERR_CORRUPT,
        Error::Tampered(_) => MEDLEDGER_ERR_TAMPERED,
        Error::System(_) => MEDLEDGER_ERR_SYSTEM,
    }
}

/// The status of a denied read, by reason. Exhaustive on purpose: a new
/// `DenyReason` must be given its code here.
pub(crate) fn deny_status(reason: DenyReason) -> medledger_status {
    match reason {
        DenyReason::NoConsent => MEDLEDGER_ERR_NO_CONSENT,
        DenyReason::Expired => MEDLEDGER_ERR_CONSENT_EXPIRED,
        DenyReason::NotYetValid => MEDLEDGER_ERR_CONSENT_NOT_YET_VALID,
        DenyReason::WrongPurpose => MEDLEDGER_ERR_WRONG_PURPOSE,
        DenyReason::Revoked => MEDLEDGER_ERR_CONSENT_REVOKED,
        DenyReason::Suspended => MEDLEDGER_ERR_SUSPENDED,
        DenyReason::Erased => MEDLEDGER_ERR_ERASED,
    }
}

/// The stable code of a fault kind. Exhaustive on purpose.
pub(crate) fn fault_kind_code(kind: FaultKind) -> u32 {
    match kind {
        FaultKind::Malformed => MEDLEDGER_FAULT_MALFORMED,
        FaultKind::Unsupported => MEDLEDGER_FAULT_UNSUPPORTED,
        FaultKind::BadSignature => MEDLEDGER_FAULT_BAD_SIGNATURE,
        FaultKind::HashMismatch => MEDLEDGER_FAULT_HASH_MISMATCH,
        FaultKind::BrokenLink => MEDLEDGER_FAULT_BROKEN_LINK,
        FaultKind::MissingQuorum => MEDLEDGER_FAULT_MISSING_QUORUM,
        FaultKind::ReplayedSequence => MEDLEDGER_FAULT_REPLAYED_SEQUENCE,
        FaultKind::Reordered => MEDLEDGER_FAULT_REORDERED,
        FaultKind::Unauthorised => MEDLEDGER_FAULT_UNAUTHORISED,
        FaultKind::InvalidTransaction => MEDLEDGER_FAULT_INVALID_TRANSACTION,
        FaultKind::PayloadMissing => MEDLEDGER_FAULT_PAYLOAD_MISSING,
        FaultKind::PayloadTampered => MEDLEDGER_FAULT_PAYLOAD_TAMPERED,
        FaultKind::Truncated => MEDLEDGER_FAULT_TRUNCATED,
        FaultKind::WrongLedger => MEDLEDGER_FAULT_WRONG_LEDGER,
    }
}

/// The name of a status code, e.g. `"MEDLEDGER_ERR_ACCESS_DENIED"`, or
/// `"MEDLEDGER_ERR_UNKNOWN"` for a code this build does not define.
///
/// A static string: never NULL, never free it. Thread-safe. Does not touch
/// the last-error message.
#[unsafe(no_mangle)]
pub extern "C" fn medledger_status_name(status: medledger_status) -> *const c_char {
    let name: &'static std::ffi::CStr = match status {
        MEDLEDGER_OK => c"MEDLEDGER_OK",
        MEDLEDGER_ERR_NULL_POINTER => c"MEDLEDGER_ERR_NULL_POINTER",
        MEDLEDGER_ERR_INVALID_UTF8 => c"MEDLEDGER_ERR_INVALID_UTF8",
        MEDLEDGER_ERR_INVALID_ARGUMENT => c"MEDLEDGER_ERR_INVALID_ARGUMENT",
        MEDLEDGER_ERR_MALFORMED => c"MEDLEDGER_ERR_MALFORMED",
        MEDLEDGER_ERR_UNSUPPORTED_VERSION => c"MEDLEDGER_ERR_UNSUPPORTED_VERSION",
        MEDLEDGER_ERR_UNSUPPORTED_KIND => c"MEDLEDGER_ERR_UNSUPPORTED_KIND",
        MEDLEDGER_ERR_BAD_SIGNATURE => c"MEDLEDGER_ERR_BAD_SIGNATURE",
        MEDLEDGER_ERR_DECRYPT => c"MEDLEDGER_ERR_DECRYPT",
        MEDLEDGER_ERR_WRONG_PASSPHRASE => c"MEDLEDGER_ERR_WRONG_PASSPHRASE",
        MEDLEDGER_ERR_WEAK_KEY => c"MEDLEDGER_ERR_WEAK_KEY",
        MEDLEDGER_ERR_BAD_PROOF => c"MEDLEDGER_ERR_BAD_PROOF",
        MEDLEDGER_ERR_REJECTED => c"MEDLEDGER_ERR_REJECTED",
        MEDLEDGER_ERR_ACCESS_DENIED => c"MEDLEDGER_ERR_ACCESS_DENIED",
        MEDLEDGER_ERR_NOT_FOUND => c"MEDLEDGER_ERR_NOT_FOUND",
        MEDLEDGER_ERR_MISSING_QUORUM => c"MEDLEDGER_ERR_MISSING_QUORUM",
        MEDLEDGER_ERR_CORRUPT => c"MEDLEDGER_ERR_CORRUPT",
        MEDLEDGER_ERR_TAMPERED => c"MEDLEDGER_ERR_TAMPERED",
        MEDLEDGER_ERR_NO_CONSENT => c"MEDLEDGER_ERR_NO_CONSENT",
        MEDLEDGER_ERR_CONSENT_EXPIRED => c"MEDLEDGER_ERR_CONSENT_EXPIRED",
        MEDLEDGER_ERR_CONSENT_NOT_YET_VALID => c"MEDLEDGER_ERR_CONSENT_NOT_YET_VALID",
        MEDLEDGER_ERR_WRONG_PURPOSE => c"MEDLEDGER_ERR_WRONG_PURPOSE",
        MEDLEDGER_ERR_CONSENT_REVOKED => c"MEDLEDGER_ERR_CONSENT_REVOKED",
        MEDLEDGER_ERR_SUSPENDED => c"MEDLEDGER_ERR_SUSPENDED",
        MEDLEDGER_ERR_ERASED => c"MEDLEDGER_ERR_ERASED",
        MEDLEDGER_ERR_EQUIVOCATION => c"MEDLEDGER_ERR_EQUIVOCATION",
        MEDLEDGER_ERR_PEER_UNREACHABLE => c"MEDLEDGER_ERR_PEER_UNREACHABLE",
        MEDLEDGER_ERR_SYSTEM => c"MEDLEDGER_ERR_SYSTEM",
        MEDLEDGER_ERR_PANIC => c"MEDLEDGER_ERR_PANIC",
        _ => c"MEDLEDGER_ERR_UNKNOWN",
    };
    name.as_ptr()
}

/// The name of a fault kind code, e.g. `"payload_tampered"`; `"none"` for
/// `MEDLEDGER_FAULT_NONE` and `"unknown"` for a code this build does not
/// define.
///
/// A static string: never NULL, never free it. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn medledger_fault_kind_name(kind: u32) -> *const c_char {
    let name: &'static std::ffi::CStr = match kind {
        MEDLEDGER_FAULT_NONE => c"none",
        MEDLEDGER_FAULT_MALFORMED => c"malformed",
        MEDLEDGER_FAULT_UNSUPPORTED => c"unsupported",
        MEDLEDGER_FAULT_BAD_SIGNATURE => c"bad_signature",
        MEDLEDGER_FAULT_HASH_MISMATCH => c"hash_mismatch",
        MEDLEDGER_FAULT_BROKEN_LINK => c"broken_link",
        MEDLEDGER_FAULT_MISSING_QUORUM => c"missing_quorum",
        MEDLEDGER_FAULT_REPLAYED_SEQUENCE => c"replayed_sequence",
        MEDLEDGER_FAULT_REORDERED => c"reordered",
        MEDLEDGER_FAULT_UNAUTHORISED => c"unauthorised",
        MEDLEDGER_FAULT_INVALID_TRANSACTION => c"invalid_transaction",
        MEDLEDGER_FAULT_PAYLOAD_MISSING => c"payload_missing",
        MEDLEDGER_FAULT_PAYLOAD_TAMPERED => c"payload_tampered",
        MEDLEDGER_FAULT_TRUNCATED => c"truncated",
        MEDLEDGER_FAULT_WRONG_LEDGER => c"wrong_ledger",
        _ => c"unknown",
    };
    name.as_ptr()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashSet;
    use std::ffi::CStr;

    use super::*;

    const ALL: [medledger_status; 29] = [
        MEDLEDGER_OK,
        MEDLEDGER_ERR_NULL_POINTER,
        MEDLEDGER_ERR_INVALID_UTF8,
        MEDLEDGER_ERR_INVALID_ARGUMENT,
        MEDLEDGER_ERR_MALFORMED,
        MEDLEDGER_ERR_UNSUPPORTED_VERSION,
        MEDLEDGER_ERR_UNSUPPORTED_KIND,
        MEDLEDGER_ERR_BAD_SIGNATURE,
        MEDLEDGER_ERR_DECRYPT,
        MEDLEDGER_ERR_WRONG_PASSPHRASE,
        MEDLEDGER_ERR_WEAK_KEY,
        MEDLEDGER_ERR_BAD_PROOF,
        MEDLEDGER_ERR_REJECTED,
        MEDLEDGER_ERR_ACCESS_DENIED,
        MEDLEDGER_ERR_NOT_FOUND,
        MEDLEDGER_ERR_MISSING_QUORUM,
        MEDLEDGER_ERR_CORRUPT,
        MEDLEDGER_ERR_TAMPERED,
        MEDLEDGER_ERR_NO_CONSENT,
        MEDLEDGER_ERR_CONSENT_EXPIRED,
        MEDLEDGER_ERR_CONSENT_NOT_YET_VALID,
        MEDLEDGER_ERR_WRONG_PURPOSE,
        MEDLEDGER_ERR_CONSENT_REVOKED,
        MEDLEDGER_ERR_SUSPENDED,
        MEDLEDGER_ERR_ERASED,
        MEDLEDGER_ERR_EQUIVOCATION,
        MEDLEDGER_ERR_PEER_UNREACHABLE,
        MEDLEDGER_ERR_SYSTEM,
        MEDLEDGER_ERR_PANIC,
    ];

    fn name(s: medledger_status) -> &'static str {
        // SAFETY: `medledger_status_name` returns static C strings.
        unsafe { CStr::from_ptr(medledger_status_name(s)) }
            .to_str()
            .unwrap()
    }

    #[test]
    fn every_status_has_a_unique_name() {
        let names: HashSet<&str> = ALL.iter().map(|s| name(*s)).collect();
        assert_eq!(names.len(), ALL.len());
        assert!(!names.contains("MEDLEDGER_ERR_UNKNOWN"));
        assert_eq!(name(4242), "MEDLEDGER_ERR_UNKNOWN");
    }

    #[test]
    fn errors_land_in_their_group() {
        let cases = [
            (Error::invalid("x", "y"), 1),
            (Error::UnsupportedKind(9), 1),
            (Error::WrongPassphrase, 2),
            (Error::WeakKey("k"), 2),
            (Error::Denied("d".into()), 3),
            (Error::NotFound("n".into()), 3),
            (
                Error::MissingQuorum {
                    height: 1,
                    have: 0,
                    need: 1,
                },
                3,
            ),
            (Error::Tampered("t".into()), 3),
            (Error::System("s".into()), 9),
        ];
        for (e, group) in cases {
            assert_eq!(status_of(&e) / 100, group, "{e}");
        }
        // Each reason of a denied read has its own 3xx code, distinct from
        // the generic 301 and from each other.
        let mut seen = HashSet::new();
        for reason in DenyReason::ALL {
            let e = Error::AccessDenied {
                reason,
                detail: String::new(),
            };
            let code = status_of(&e);
            assert_eq!(code / 100, 3);
            assert!((310..=316).contains(&code), "{reason:?}");
            assert!(seen.insert(code));
        }
        assert_eq!(
            deny_status(DenyReason::Revoked),
            MEDLEDGER_ERR_CONSENT_REVOKED
        );
        // A modified record is not a damaged ledger: its own code.
        assert_eq!(
            status_of(&Error::Tampered("t".into())),
            MEDLEDGER_ERR_TAMPERED
        );
    }
}
