//! The C ABI: the only place in the crate with `unsafe` code.
//!
//! Modelled on rustls-ffi. Every exported function:
//!
//! - runs its body inside `boundary::guard` (or `boundary::guard_value`
//!   for plain accessors), which catches panics and maps them, and every
//!   [`crate::Error`], to a stable `uint32_t` status (`status`);
//! - checks every pointer argument for NULL and every length against a
//!   limit *before* building a slice from it;
//! - writes its out-parameters only on success;
//! - takes and returns opaque handles ([`medledger_ledger`],
//!   [`medledger_keypair`], [`medledger_report`], [`medledger_buffer`],
//!   [`medledger_node`])
//!   that the caller releases with the matching `medledger_*_free`, which
//!   accepts NULL.
//!
//! On failure the reason is kept in a thread-local message,
//! [`medledger_last_error`]. The header `include/medledger.h` is generated
//! from this module by a pinned cbindgen (`scripts/test-capi.sh`), and the
//! contract is written out in `docs/C-API.md`.

// C names: `medledger_ledger`, not `MedledgerLedger`.
#![allow(non_camel_case_types)]

pub mod blocks;
mod boundary;
pub mod buffer;
pub mod consortium;
mod json;
pub mod keypair;
pub mod ledger;
pub mod ledger_access;
pub mod proofs;
pub mod report;
pub mod status;

use std::ffi::c_char;

pub use buffer::medledger_buffer;
pub use consortium::{medledger_node, medledger_peer};
pub use keypair::medledger_keypair;
pub use ledger::{
    medledger_founder, medledger_ledger, medledger_new_record, medledger_open_report,
};
pub use proofs::medledger_note_key;
pub use report::medledger_report;
pub use status::medledger_status;

/// Length in bytes of every id (ledger, participant, record): a SHA3-256
/// digest.
pub const MEDLEDGER_ID_LEN: usize = 32;

/// Length in bytes of a public key (Ed25519 signing key, X25519 encryption
/// key).
pub const MEDLEDGER_PUBLIC_KEY_LEN: usize = 32;

/// Longest accepted record payload in bytes (64 MiB), checked before the
/// payload is read.
pub const MEDLEDGER_MAX_PAYLOAD_LEN: usize = 67_108_864;

/// Longest accepted NUL-terminated string argument in bytes, not counting
/// the NUL. The string is scanned no further than this, so an unterminated
/// buffer is refused instead of read past. Fields have tighter limits of
/// their own (labels and names 128 bytes, categories 32, content types 64).
pub const MEDLEDGER_MAX_TEXT_LEN: usize = 4096;

/// Longest accepted evidence bundle in bytes (256 MiB), checked before the
/// bundle is read.
pub const MEDLEDGER_MAX_EVIDENCE_LEN: usize = 268_435_456;

/// Longest accepted passphrase in bytes.
pub const MEDLEDGER_MAX_PASSPHRASE_LEN: usize = 4096;

/// Longest accepted exported key file in bytes (a version 1 key file is 162
/// bytes).
pub const MEDLEDGER_MAX_KEY_FILE_LEN: usize = 4096;

/// Longest accepted message of the consortium protocol in bytes (300
/// MiB): a shipped block, a request or response, equivocation evidence;
/// checked before the bytes are read.
pub const MEDLEDGER_MAX_MESSAGE_LEN: usize = 314_572_800;

/// Most peers one `medledger_node_propose_round` call may ask.
pub const MEDLEDGER_MAX_PEERS: usize = 256;

/// Role bit: owns records; the patient's own app or device.
pub const MEDLEDGER_ROLE_PATIENT: u32 = 1;
/// Role bit: clinician or clinical system; authors records.
pub const MEDLEDGER_ROLE_PROVIDER: u32 = 2;
/// Role bit: acts for a patient (a minor's parent, an incapacitated
/// patient's representative): appointed with `medledger_ledger_add_guardian`.
pub const MEDLEDGER_ROLE_GUARDIAN: u32 = 4;
/// Role bit: co-signs (seals) blocks.
pub const MEDLEDGER_ROLE_VALIDATOR: u32 = 8;
/// Role bit: reads the access log, not records.
pub const MEDLEDGER_ROLE_AUDITOR: u32 = 16;
/// Role bit: registers participants and changes the validator set.
pub const MEDLEDGER_ROLE_ADMIN: u32 = 32;
/// Role bit: holds an institution's emergency key escrow.
pub const MEDLEDGER_ROLE_CUSTODIAN: u32 = 64;

/// `medledger_ledger_register` flag: the patient opts out of emergency key
/// escrow (no custodian receives their category keys, so break-glass
/// cannot reach their records). Patients only.
pub const MEDLEDGER_REGISTER_ESCROW_OPT_OUT: u32 = 1;

/// Consent action bit: read (decrypt) records.
pub const MEDLEDGER_ACTION_READ: u32 = 1;
/// Consent action bit: append new records for the patient.
pub const MEDLEDGER_ACTION_APPEND: u32 = 2;
/// Consent action bit: amend (write new versions of) records the grantee
/// wrote.
pub const MEDLEDGER_ACTION_AMEND: u32 = 4;

/// Most record ids one consent may list.
pub const MEDLEDGER_MAX_CONSENT_RECORDS: usize = 1024;
/// Most record ids one `medledger_ledger_erase` call may erase.
pub const MEDLEDGER_MAX_ERASE_RECORDS: usize = 1024;
/// Most records one `medledger_ledger_append_batch` call may append.
pub const MEDLEDGER_MAX_BATCH_RECORDS: usize = 10_000;
/// Most record ids one `medledger_ledger_read_records` call may read.
pub const MEDLEDGER_MAX_READ_RECORDS: usize = 1024;
/// Length in bytes of the fixed part of each entry `medledger_ledger_read_records`
/// returns: a 4-byte status and an 8-byte data length (layout documented
/// there).
pub const MEDLEDGER_READ_RESULT_HEADER_LEN: usize = 12;

/// The default longest break-glass window of a new ledger (24 h), for the
/// `max_break_glass_ms` argument of the create functions.
pub const MEDLEDGER_DEFAULT_MAX_BREAK_GLASS_MS: u64 = 86_400_000;

/// `medledger_ledger_set_manual_time` argument: back to the wall clock.
pub const MEDLEDGER_WALL_CLOCK: u64 = 0;

/// Longest accepted Merkle consistency proof in bytes (128 hashes of 32
/// bytes; a proof between two 64-bit log sizes has at most 65).
pub const MEDLEDGER_MAX_PROOF_LEN: usize = 4096;
/// Longest accepted checkpoint note in bytes (64 KiB).
pub const MEDLEDGER_MAX_NOTE_LEN: usize = 65_536;
/// Most keys one `medledger_checkpoint_open` call may take.
pub const MEDLEDGER_MAX_NOTE_VERIFIERS: usize = 100;
/// Length in bytes of an encoded block header
/// (`medledger_ledger_propose`).
pub const MEDLEDGER_HEADER_LEN: usize = 166;
/// Length in bytes of one seal (`medledger_seal_header`): validator index
/// (`u16`, little-endian) and Ed25519 signature.
pub const MEDLEDGER_SEAL_LEN: usize = 66;
/// Most ciphertexts one `medledger_ledger_submit` call may pass (the most
/// records one transaction may hold).
pub const MEDLEDGER_MAX_SUBMIT_PAYLOADS: usize = 100_000;
/// Length in bytes of one erasure receipt as `medledger_ledger_erase`
/// returns it (layout documented there).
pub const MEDLEDGER_ERASURE_RECEIPT_LEN: usize = 216;

// The C constants restate Rust ones (cbindgen needs literals); keep them
// equal.
const _: () = {
    assert!(MEDLEDGER_ACTION_READ == crate::Actions::READ.0 as u32);
    assert!(MEDLEDGER_ACTION_APPEND == crate::Actions::APPEND.0 as u32);
    assert!(MEDLEDGER_ACTION_AMEND == crate::Actions::AMEND.0 as u32);
    assert!(MEDLEDGER_MAX_CONSENT_RECORDS == crate::model::consent::MAX_CONSENT_RECORDS);
    assert!(MEDLEDGER_MAX_ERASE_RECORDS == crate::model::consent::MAX_ERASE_RECORDS);
    assert!(MEDLEDGER_MAX_BATCH_RECORDS <= crate::model::tx::MAX_RECORDS_PER_TX);
    // One access event per record, all in one transaction.
    assert!(MEDLEDGER_MAX_READ_RECORDS <= crate::model::consent::MAX_ACCESS_EVENTS);
    assert!(MEDLEDGER_READ_RESULT_HEADER_LEN == 4 + 8);
    assert!(MEDLEDGER_DEFAULT_MAX_BREAK_GLASS_MS == crate::model::tx::DEFAULT_MAX_BREAK_GLASS_MS);
    assert!(MEDLEDGER_MAX_NOTE_LEN == crate::proof::checkpoint::MAX_NOTE_LEN);
    assert!(MEDLEDGER_MAX_NOTE_VERIFIERS == crate::proof::checkpoint::MAX_SIGNATURES);
    assert!(MEDLEDGER_MAX_PROOF_LEN == 128 * crate::crypto::hash::DIGEST_LEN);
    // ledger, record, digest, 3 x u64, signer, signature.
    assert!(MEDLEDGER_ERASURE_RECEIPT_LEN == 3 * 32 + 3 * 8 + 32 + 64);
    assert!(MEDLEDGER_MAX_PAYLOAD_LEN as u64 == crate::model::record::MAX_PAYLOAD_LEN);
    assert!(MEDLEDGER_ID_LEN == crate::crypto::hash::DIGEST_LEN);
    assert!(MEDLEDGER_HEADER_LEN == crate::log::block::HEADER_LEN);
    assert!(MEDLEDGER_SEAL_LEN == crate::log::block::SEAL_LEN);
    assert!(MEDLEDGER_MAX_SUBMIT_PAYLOADS == crate::model::tx::MAX_RECORDS_PER_TX);
    assert!(MEDLEDGER_MAX_MESSAGE_LEN == crate::consortium::tcp::MAX_FRAME);
    assert!(MEDLEDGER_ROLE_PATIENT == crate::Roles::PATIENT.0 as u32);
    assert!(MEDLEDGER_ROLE_PROVIDER == crate::Roles::PROVIDER.0 as u32);
    assert!(MEDLEDGER_ROLE_GUARDIAN == crate::Roles::GUARDIAN.0 as u32);
    assert!(MEDLEDGER_ROLE_VALIDATOR == crate::Roles::VALIDATOR.0 as u32);
    assert!(MEDLEDGER_ROLE_AUDITOR == crate::Roles::AUDITOR.0 as u32);
    assert!(MEDLEDGER_ROLE_ADMIN == crate::Roles::ADMIN.0 as u32);
    assert!(MEDLEDGER_ROLE_CUSTODIAN == crate::Roles::CUSTODIAN.0 as u32);
};

// The thread-safety the header promises: handles may be shared between
// threads (`_free` aside).
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<medledger_ledger>();
    shareable::<medledger_keypair>();
    shareable::<medledger_report>();
    shareable::<medledger_buffer>();
    shareable::<medledger_node>();
};

static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library version, e.g. `"0.1.0"`: a static NUL-terminated string.
///
/// Never NULL; never free it. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn medledger_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

/// The message of the last failed medledger call on the calling thread.
///
/// Every function that returns a `medledger_status` clears the message on
/// entry and sets it when it fails, so right after a call that returned
/// something other than `MEDLEDGER_OK` this says why (for example
/// `"access denied (Revoked): ... may not read record ... for TREAT"`).
/// Functions that return no status (accessors, `_free`) leave it alone.
///
/// Never NULL: an empty string when the last status-returning call on this
/// thread succeeded, or none was made. The pointer stays valid until the
/// next status-returning medledger call on the same thread; copy the text
/// to keep it. Do not free it. Each thread has its own message.
#[unsafe(no_mangle)]
pub extern "C" fn medledger_last_error() -> *const c_char {
    boundary::last_error_ptr()
}
