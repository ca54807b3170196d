//! `medledger_ledger`: one node's view of a chain, and the calls that
//! change and read it.

use std::ffi::c_char;
use std::sync::Mutex;

use super::boundary::{
    FfiError, FfiResult, Handle, guard, guard_value, out_ptr, try_32, try_handles, try_ref,
    try_slice, try_str, write_32, write_out,
};
use super::buffer::medledger_buffer;
use super::keypair::medledger_keypair;
use super::report::medledger_report;
use super::status::medledger_status;
use super::{MEDLEDGER_MAX_PAYLOAD_LEN, MEDLEDGER_MAX_TEXT_LEN};
use crate::crypto::hash::Digest;
use crate::model::tx::MAX_GENESIS_PARTICIPANTS;
use crate::model::validators::MAX_VALIDATORS;
use crate::{Genesis, Keypair, Ledger, NewRecord, Participant, ParticipantId, RecordId, Roles};

/// A ledger node. Every function taking a `const medledger_ledger *` may be
/// called from several threads at once on the same handle (readers run
/// concurrently, writers serialise internally). Only
/// `medledger_ledger_free` needs exclusive access.
pub struct medledger_ledger {
    inner: Ledger,
    /// Serialises `medledger_ledger_commit_block` on this handle.
    /// `Ledger::commit_block` proposes under one lock and commits under
    /// another, so two concurrent commits could both propose the same
    /// height and the loser fail with "does not extend this ledger's head".
    commit_lock: Mutex<()>,
}

impl medledger_ledger {
    /// Wraps a ledger for C (for every `create`/`open` function).
    pub(crate) fn new(inner: Ledger) -> Self {
        medledger_ledger {
            inner,
            commit_lock: Mutex::new(()),
        }
    }
}

impl Handle for medledger_ledger {}

/// A founding participant of a new ledger: its keypair (only the public
/// keys are used), its role bits (`MEDLEDGER_ROLE_*`) and an
/// operator-facing label (UTF-8, at most 128 bytes, no personal data).
/// Founders with `MEDLEDGER_ROLE_VALIDATOR` form the validator set; at
/// least one founder must be an admin.
#[repr(C)]
pub struct medledger_founder {
    /// The founder's keys (borrowed for the duration of the call).
    pub keypair: *const medledger_keypair,
    /// Role bits, a combination of `MEDLEDGER_ROLE_*`.
    pub roles: u32,
    /// NUL-terminated UTF-8 label.
    pub label: *const c_char,
}

fn roles_from_c(roles: u32, arg: &str) -> FfiResult<Roles> {
    let bits = u16::try_from(roles)
        .ok()
        .filter(|b| *b != 0 && b & !Roles::ALL.0 == 0)
        .ok_or_else(|| FfiError::invalid(arg, format_args!("unknown role bits 0x{roles:x}")))?;
    Ok(Roles(bits))
}

/// The genesis described by C arguments (shared by every `create`
/// function).
///
/// # Safety
///
/// `name` is NULL or a NUL-terminated string; `founders` is NULL or points
/// to `founders_len` founders whose pointers are NULL or valid.
pub(crate) unsafe fn genesis_from_c(
    name: *const c_char,
    threshold: u32,
    founders: *const medledger_founder,
    founders_len: usize,
) -> FfiResult<Genesis> {
    // SAFETY: forwarded contract.
    let name = unsafe { try_str(name, MEDLEDGER_MAX_TEXT_LEN, "consortium_name") }?;
    let threshold = u16::try_from(threshold)
        .map_err(|_| FfiError::invalid("threshold", format_args!("{threshold} is too large")))?;
    // SAFETY: forwarded contract.
    let founders =
        unsafe { try_slice(founders, founders_len, MAX_GENESIS_PARTICIPANTS, "founders") }?;
    let mut participants = Vec::with_capacity(founders.len());
    for (i, f) in founders.iter().enumerate() {
        // SAFETY: forwarded contract: each field is NULL or valid.
        let kp = unsafe { try_ref(f.keypair, &format!("founders[{i}].keypair")) }?;
        // SAFETY: as above.
        let label = unsafe {
            try_str(
                f.label,
                MEDLEDGER_MAX_TEXT_LEN,
                &format!("founders[{i}].label"),
            )
        }?;
        let roles = roles_from_c(f.roles, &format!("founders[{i}].roles"))?;
        participants.push(kp.inner.participant(roles, label));
    }
    Ok(Genesis::new(name, threshold, participants)?)
}

/// An array of keypairs (validators sealing a block).
///
/// # Safety
///
/// `p` is NULL or points to `len` pointers, each NULL or a live keypair.
pub(crate) unsafe fn keypairs_from_c<'a>(
    p: *const *const medledger_keypair,
    len: usize,
    arg: &str,
) -> FfiResult<Vec<&'a Keypair>> {
    // SAFETY: forwarded contract.
    let handles = unsafe { try_handles(p, len, MAX_VALIDATORS, arg) }?;
    Ok(handles.into_iter().map(|h| &h.inner).collect())
}

/// Creates a ledger held in memory (lost when freed) from a genesis:
/// the consortium name (UTF-8, at most 128 bytes), the number of validator
/// seals a block needs (`threshold`, 1..=number of validator founders) and
/// the founders. Block 0 is sealed at once by `sealers` (keypairs of
/// validator founders, at least `threshold` of them).
///
/// On success `*out` receives a ledger the caller owns; release it with
/// `medledger_ledger_free`. Keypairs are only borrowed during the call.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER` (any pointer, including inside
/// `founders` and `sealers`), `MEDLEDGER_ERR_INVALID_UTF8`,
/// `MEDLEDGER_ERR_INVALID_ARGUMENT` (lengths, role bits, threshold, no
/// validator founder), `MEDLEDGER_ERR_REJECTED` (the genesis breaks a rule:
/// no admin, a founder listed twice), `MEDLEDGER_ERR_ACCESS_DENIED` (a
/// sealer is not a validator), `MEDLEDGER_ERR_MISSING_QUORUM` (fewer
/// sealers than `threshold`). Thread-safe.
///
/// # Safety
///
/// Every pointer is NULL or valid for the length given with it; strings are
/// NUL-terminated; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_create_in_memory(
    consortium_name: *const c_char,
    threshold: u32,
    founders: *const medledger_founder,
    founders_len: usize,
    sealers: *const *const medledger_keypair,
    sealers_len: usize,
    out: *mut *mut medledger_ledger,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let genesis =
            unsafe { genesis_from_c(consortium_name, threshold, founders, founders_len) }?;
        // SAFETY: forwarded contract.
        let sealers = unsafe { keypairs_from_c(sealers, sealers_len, "sealers") }?;
        let out = out_ptr(out, "out")?;
        let ledger = medledger_ledger::new(Ledger::create_in_memory(genesis, &sealers)?);
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_out(out, ledger.into_raw()) };
        Ok(())
    })
}

/// Closes and frees `ledger`. NULL is a no-op. Transactions not yet
/// committed in a block are discarded; an in-memory ledger is gone.
///
/// Freeing the same non-NULL ledger twice is undefined behaviour, as with
/// `free()`. No other thread may use the ledger during or after this call:
/// join your threads first.
///
/// # Safety
///
/// `ledger` is NULL or live, and not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_free(ledger: *mut medledger_ledger) {
    guard_value((), || {
        // SAFETY: forwarded contract.
        unsafe { medledger_ledger::free_raw(ledger) };
        Some(())
    })
}

/// An admin registers a participant: its 32-byte Ed25519 public signing
/// key, 32-byte X25519 public encryption key (both from
/// `medledger_keypair_public_keys`), role bits (`MEDLEDGER_ROLE_*`) and a
/// label (UTF-8, at most 128 bytes, no personal data). The participant id
/// is derived from the signing key. The registration is pending until the
/// next `medledger_ledger_commit_block`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_INVALID_UTF8`,
/// `MEDLEDGER_ERR_INVALID_ARGUMENT`, `MEDLEDGER_ERR_WEAK_KEY`,
/// `MEDLEDGER_ERR_REJECTED` (`admin` is not a registered admin, the
/// participant exists, ...). Thread-safe.
///
/// # Safety
///
/// `ledger`, `admin` NULL or live; keys NULL or 32 readable bytes; `label`
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_register(
    ledger: *const medledger_ledger,
    admin: *const medledger_keypair,
    sign_key: *const u8,
    enc_key: *const u8,
    roles: u32,
    label: *const c_char,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let admin = unsafe { try_ref(admin, "admin") }?;
        // SAFETY: as above.
        let sign_key = unsafe { try_32(sign_key, "sign_key") }?;
        // SAFETY: as above.
        let enc_key = unsafe { try_32(enc_key, "enc_key") }?;
        // SAFETY: as above.
        let label = unsafe { try_str(label, MEDLEDGER_MAX_TEXT_LEN, "label") }?;
        let participant = Participant {
            id: ParticipantId::from_public_key(&sign_key),
            sign_key,
            enc_key,
            roles: roles_from_c(roles, "roles")?,
            label: label.to_owned(),
        };
        ledger.inner.register(&admin.inner, participant)?;
        Ok(())
    })
}

/// `author` appends one record for the patient `patient_id` (32 bytes,
/// from `medledger_keypair_id`): a category code (e.g. `"lab"`, at most 32
/// bytes), a content type (e.g. `"application/fhir+json"`, at most 64
/// bytes) and the plaintext payload (`payload_len` bytes, at most
/// `MEDLEDGER_MAX_PAYLOAD_LEN`, checked before the payload is read). The
/// payload is encrypted before this call returns; the library keeps no
/// reference to it. On success the 32-byte record id is written to
/// `out_record_id`. The record is readable after the next
/// `medledger_ledger_commit_block`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_INVALID_UTF8`,
/// `MEDLEDGER_ERR_INVALID_ARGUMENT`, `MEDLEDGER_ERR_REJECTED` (author not
/// registered, not a provider of this patient, ...),
/// `MEDLEDGER_ERR_ACCESS_DENIED` (the author holds no key for this
/// patient's category), `MEDLEDGER_ERR_NOT_FOUND` (no such patient).
/// Thread-safe.
///
/// # Safety
///
/// Handles NULL or live; `patient_id` NULL or 32 readable bytes; strings
/// NULL or NUL-terminated; `payload` NULL or `payload_len` readable bytes;
/// `out_record_id` NULL or 32 writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_append_record(
    ledger: *const medledger_ledger,
    author: *const medledger_keypair,
    patient_id: *const u8,
    category: *const c_char,
    content_type: *const c_char,
    payload: *const u8,
    payload_len: usize,
    out_record_id: *mut u8,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let author = unsafe { try_ref(author, "author") }?;
        // SAFETY: as above.
        let patient = unsafe { try_32(patient_id, "patient_id") }?;
        // SAFETY: as above.
        let category = unsafe { try_str(category, MEDLEDGER_MAX_TEXT_LEN, "category") }?;
        // SAFETY: as above.
        let content_type =
            unsafe { try_str(content_type, MEDLEDGER_MAX_TEXT_LEN, "content_type") }?;
        // SAFETY: as above; the length is checked before the slice is made.
        let payload =
            unsafe { try_slice(payload, payload_len, MEDLEDGER_MAX_PAYLOAD_LEN, "payload") }?;
        let out = out_ptr(out_record_id, "out_record_id")?;
        let id = ledger.inner.append_record(
            &author.inner,
            NewRecord {
                patient: ParticipantId(Digest(patient)),
                category,
                content_type,
                payload,
            },
        )?;
        // SAFETY: 32 writable bytes per the contract.
        unsafe { write_32(out, id.as_bytes()) };
        Ok(())
    })
}

/// `author` appends a new version of the committed record `previous_id`
/// (32 bytes; it must be the latest version and written by `author`), with
/// a content type and payload as in `medledger_ledger_append_record`. The
/// old version is kept. On success the new 32-byte record id is written to
/// `out_record_id`.
///
/// Errors: as `medledger_ledger_append_record`; `MEDLEDGER_ERR_NOT_FOUND`
/// when `previous_id` names no committed record; `MEDLEDGER_ERR_REJECTED`
/// when it is not the latest version; `MEDLEDGER_ERR_ACCESS_DENIED` or
/// `MEDLEDGER_ERR_REJECTED` when `author` did not write it. Thread-safe.
///
/// # Safety
///
/// As `medledger_ledger_append_record`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_amend_record(
    ledger: *const medledger_ledger,
    author: *const medledger_keypair,
    previous_id: *const u8,
    content_type: *const c_char,
    payload: *const u8,
    payload_len: usize,
    out_record_id: *mut u8,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let author = unsafe { try_ref(author, "author") }?;
        // SAFETY: as above.
        let previous = unsafe { try_32(previous_id, "previous_id") }?;
        // SAFETY: as above.
        let content_type =
            unsafe { try_str(content_type, MEDLEDGER_MAX_TEXT_LEN, "content_type") }?;
        // SAFETY: as above; the length is checked before the slice is made.
        let payload =
            unsafe { try_slice(payload, payload_len, MEDLEDGER_MAX_PAYLOAD_LEN, "payload") }?;
        let out = out_ptr(out_record_id, "out_record_id")?;
        let id = ledger.inner.amend_record(
            &author.inner,
            &RecordId(Digest(previous)),
            content_type,
            payload,
        )?;
        // SAFETY: 32 writable bytes per the contract.
        unsafe { write_32(out, id.as_bytes()) };
        Ok(())
    })
}

/// Decrypts the committed record `record_id` (32 bytes) for `reader`. In
/// this release the patient and the record's author may read it.
///
/// On success `*out_plaintext` receives a buffer with the plaintext;
/// release it with `medledger_buffer_free` (which zeroizes it).
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_ACCESS_DENIED` when
/// `reader` may not read it (a 3xx status, never a partial result);
/// `MEDLEDGER_ERR_NOT_FOUND` when no committed record has this id;
/// `MEDLEDGER_ERR_DECRYPT` when the stored ciphertext was modified.
/// Thread-safe.
///
/// # Safety
///
/// Handles NULL or live; `record_id` NULL or 32 readable bytes;
/// `out_plaintext` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_read_record(
    ledger: *const medledger_ledger,
    reader: *const medledger_keypair,
    record_id: *const u8,
    out_plaintext: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let reader = unsafe { try_ref(reader, "reader") }?;
        // SAFETY: as above.
        let id = unsafe { try_32(record_id, "record_id") }?;
        let out = out_ptr(out_plaintext, "out_plaintext")?;
        let record = ledger
            .inner
            .read_record(&reader.inner, &RecordId(Digest(id)))?;
        let buffer = medledger_buffer::new(record.plaintext).into_raw();
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_out(out, buffer) };
        Ok(())
    })
}

/// Proposes a block over every pending transaction, seals it with
/// `validators` (an array of `validators_len` keypairs of members of the
/// validator set, at most 256) and commits it. On success the new block's
/// height is written to `*out_height`. A block with no transaction is
/// allowed.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER` (including an array element),
/// `MEDLEDGER_ERR_INVALID_ARGUMENT`, `MEDLEDGER_ERR_ACCESS_DENIED` (a key
/// outside the validator set), `MEDLEDGER_ERR_MISSING_QUORUM` (fewer than
/// the threshold). Thread-safe: concurrent commits on one handle run one
/// after the other, and concurrent appends either make it into this block
/// or stay pending for the next.
///
/// # Safety
///
/// `ledger` NULL or live; `validators` NULL or `validators_len` pointers,
/// each NULL or live; `out_height` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_commit_block(
    ledger: *const medledger_ledger,
    validators: *const *const medledger_keypair,
    validators_len: usize,
    out_height: *mut u64,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: forwarded contract.
        let validators = unsafe { keypairs_from_c(validators, validators_len, "validators") }?;
        let out = out_ptr(out_height, "out_height")?;
        let header = {
            let _serial = ledger
                .commit_lock
                .lock()
                .map_err(|_| crate::Error::System("commit lock poisoned".into()))?;
            ledger.inner.commit_block(&validators)?
        };
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_out(out, header.height) };
        Ok(())
    })
}

/// Verifies the whole stored chain from genesis: every signature, hash,
/// link, seal quorum and rule, and every payload ciphertext against its
/// digest. On success (the check ran, whatever it found) `*out_report`
/// receives a report the caller owns; release it with
/// `medledger_report_free`. Damage is described by the report
/// (`medledger_report_ok` is false), not by the status.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_SYSTEM`.
/// Thread-safe (runs concurrently with readers; writers wait).
///
/// # Safety
///
/// `ledger` NULL or live; `out_report` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_verify(
    ledger: *const medledger_ledger,
    out_report: *mut *mut medledger_report,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        let out = out_ptr(out_report, "out_report")?;
        let report = medledger_report::new(ledger.inner.verify()?).into_raw();
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_out(out, report) };
        Ok(())
    })
}

/// Writes the height of the last committed block (0 right after creation)
/// to `*out_height`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_SYSTEM`.
/// Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `out_height` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_head_height(
    ledger: *const medledger_ledger,
    out_height: *mut u64,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        let out = out_ptr(out_height, "out_height")?;
        let height = ledger.inner.head()?.height;
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_out(out, height) };
        Ok(())
    })
}

/// Writes the 32-byte ledger id (the hash of its genesis) to `out_id`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`. Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `out_id` NULL or 32 writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_id(
    ledger: *const medledger_ledger,
    out_id: *mut u8,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        let out = out_ptr(out_id, "out_id")?;
        // SAFETY: 32 writable bytes per the contract.
        unsafe { write_32(out, ledger.inner.id().as_bytes()) };
        Ok(())
    })
}
