//! Patient-controlled access through the C ABI: node keys (validators and
//! custodian), consents, key sharing, break-glass, guardians, suspension,
//! the access log and erasure with receipts.

use std::ffi::c_char;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use zeroize::Zeroizing;

use super::boundary::{
    FfiError, FfiResult, guard, out_ptr, try_32, try_32s, try_handles, try_ref, try_slice, try_str,
    write_32, write_out,
};
use super::buffer::{medledger_buffer, write_buffer};
use super::json;
use super::keypair::medledger_keypair;
use super::ledger::medledger_ledger;
use super::status::medledger_status;
use super::{
    MEDLEDGER_ACTION_AMEND, MEDLEDGER_ACTION_APPEND, MEDLEDGER_ACTION_READ,
    MEDLEDGER_ERASURE_RECEIPT_LEN, MEDLEDGER_MAX_CONSENT_RECORDS, MEDLEDGER_MAX_ERASE_RECORDS,
    MEDLEDGER_MAX_TEXT_LEN,
};
use crate::ErasureReceipt;
use crate::access::fhir::{self, BundleType};
use crate::crypto::hash::Digest;
use crate::crypto::sign::Signature;
use crate::model::validators::MAX_VALIDATORS;
use crate::model::{
    Actions, Category, Consent, ConsentId, LedgerId, ParticipantId, Purpose, Purposes, RecordId,
    Scope,
};

// ---- argument conversions -------------------------------------------------

/// A participant id (32 bytes) from C.
///
/// # Safety
///
/// `p` is NULL or points to 32 readable bytes.
unsafe fn participant_from_c(p: *const u8, arg: &str) -> FfiResult<ParticipantId> {
    // SAFETY: forwarded contract.
    Ok(ParticipantId(Digest(unsafe { try_32(p, arg) }?)))
}

/// One HL7 PurposeOfUse code (`"TREAT"`, `"ETREAT"`, ...).
///
/// # Safety
///
/// `p` is NULL or NUL-terminated.
pub(crate) unsafe fn purpose_from_c(p: *const c_char, arg: &str) -> FfiResult<Purpose> {
    // SAFETY: forwarded contract.
    let code = unsafe { try_str(p, MEDLEDGER_MAX_TEXT_LEN, arg) }?;
    Purpose::from_code(code).map_err(|_| {
        FfiError::invalid(
            arg,
            format_args!(
                "{code:?} is not a supported HL7 PurposeOfUse code ({})",
                codes()
            ),
        )
    })
}

fn codes() -> String {
    Purpose::ALL.map(Purpose::code).join(", ")
}

/// Items of a comma-separated list, each trimmed of ASCII spaces; empty
/// items are refused (`"a,,b"`, `"a,"`).
fn list<'a>(s: &'a str, arg: &str) -> FfiResult<Vec<&'a str>> {
    if s.trim_matches(' ').is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|item| {
            let item = item.trim_matches(' ');
            if item.is_empty() {
                Err(FfiError::invalid(
                    arg,
                    "empty item in the comma-separated list",
                ))
            } else {
                Ok(item)
            }
        })
        .collect()
}

/// A set of purposes: a comma-separated list of HL7 codes, e.g.
/// `"TREAT,ETREAT"`, at least one.
fn purposes_from_str(s: &str) -> FfiResult<Purposes> {
    let mut set = Vec::new();
    for code in list(s, "purposes")? {
        set.push(Purpose::from_code(code).map_err(|_| {
            FfiError::invalid(
                "purposes",
                format_args!(
                    "{code:?} is not a supported HL7 PurposeOfUse code ({})",
                    codes()
                ),
            )
        })?);
    }
    if set.is_empty() {
        return Err(FfiError::invalid(
            "purposes",
            "at least one purpose code is needed",
        ));
    }
    Ok(Purposes::of(&set))
}

/// Categories: `"*"` for every category (including ones opened later), a
/// comma-separated list (`"lab,imaging"`), or `""` for none (a consent on
/// listed record versions only).
fn categories_from_str(s: &str) -> FfiResult<(bool, Vec<Category>)> {
    if s.trim_matches(' ') == "*" {
        return Ok((true, Vec::new()));
    }
    let mut out = Vec::new();
    for code in list(s, "categories")? {
        if code == "*" {
            return Err(FfiError::invalid(
                "categories",
                "\"*\" (all categories) cannot be combined with listed categories",
            ));
        }
        out.push(Category::new(code)?);
    }
    Ok((false, out))
}

/// `len` ids of 32 bytes each, packed back to back (`len * 32` bytes).
/// The count is checked against `max` before anything is read. With
/// `optional`, a NULL pointer is accepted when `len` is 0.
///
/// # Safety
///
/// `p` is NULL or points to `len * 32` readable bytes (when `len <= max`).
pub(crate) unsafe fn ids_from_c(
    p: *const u8,
    len: usize,
    max: usize,
    arg: &str,
    optional: bool,
) -> FfiResult<Vec<RecordId>> {
    if optional && p.is_null() && len == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: forwarded contract.
    let ids = unsafe { try_32s(p, len, max, arg) }?;
    Ok(ids.into_iter().map(|id| RecordId(Digest(id))).collect())
}

fn actions_from_c(actions: u32) -> FfiResult<Actions> {
    let all = MEDLEDGER_ACTION_READ | MEDLEDGER_ACTION_APPEND | MEDLEDGER_ACTION_AMEND;
    let bits = u8::try_from(actions)
        .ok()
        .filter(|b| *b != 0 && u32::from(*b) & !all == 0)
        .ok_or_else(|| {
            FfiError::invalid(
                "actions",
                format_args!("0x{actions:x} is not a non-empty set of MEDLEDGER_ACTION_* bits"),
            )
        })?;
    Ok(Actions(bits))
}

/// The body of a per-patient JSON query: checks the arguments, runs
/// `query` with (ledger, requester, patient) and writes its JSON text to
/// `*out_json`.
///
/// # Safety
///
/// As the exported queries: `ledger` NULL or live; ids NULL or 32 readable
/// bytes; `out_json` NULL or writable.
unsafe fn patient_json(
    ledger: *const medledger_ledger,
    requester_id: *const u8,
    patient_id: *const u8,
    out_json: *mut *mut medledger_buffer,
    query: impl FnOnce(&crate::Ledger, &ParticipantId, &ParticipantId) -> crate::Result<String>,
) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    let ledger = unsafe { try_ref(ledger, "ledger") }?;
    // SAFETY: as above.
    let requester = unsafe { participant_from_c(requester_id, "requester_id") }?;
    // SAFETY: as above.
    let patient = unsafe { participant_from_c(patient_id, "patient_id") }?;
    let out = out_ptr(out_json, "out_json")?;
    let text = query(&ledger.inner, &requester, &patient)?;
    // SAFETY: `out` is writable per the contract.
    unsafe { write_buffer(out, Zeroizing::new(text.into_bytes())) };
    Ok(())
}

// ---- node keys ---------------------------------------------------------------

/// The keys of `handles`, each checked to be a member of the validator set
/// in force with the key the set lists (`MEDLEDGER_ERR_ACCESS_DENIED`
/// otherwise).
pub(crate) fn member_keys(
    ledger: &crate::Ledger,
    handles: &[&medledger_keypair],
) -> FfiResult<Vec<Arc<crate::Keypair>>> {
    let set = ledger.validators()?;
    for (i, h) in handles.iter().enumerate() {
        let id = h.inner.id();
        let listed = set
            .index_of(&id)
            .and_then(|idx| set.members.get(usize::from(idx)))
            .map(|m| m.key);
        if listed != Some(h.inner.public().sign) {
            return Err(FfiError {
                status: super::status::MEDLEDGER_ERR_ACCESS_DENIED,
                message: format!(
                    "access denied: validators[{i}] ({id}) is not in the validator set with \
                     this key"
                ),
            });
        }
    }
    Ok(handles.iter().map(|h| h.inner.clone()).collect())
}

/// Gives `ledger` validator keys to seal blocks with: `validators` is an
/// array of `validators_len` keypairs (at most 256), each a member of the
/// current validator set. Replaces the keys attached before; an empty
/// array (any non-NULL pointer, length 0) detaches them.
///
/// A read must be recorded before its plaintext is released, and an
/// erasure must be committed before its receipts are signed: with
/// validator keys attached, `medledger_ledger_read_record` and
/// `medledger_ledger_erase` commit the pending block themselves
/// (concurrent callers share one commit); without them they wait up to
/// 30 s for a block committed by another thread.
///
/// Ownership: the ledger keeps its own reference to each key (not to the
/// handle). The caller may free the keypair handles at once; the secrets
/// stay alive, and are zeroized, when the ledger is freed or they are
/// detached.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER` (including an array element),
/// `MEDLEDGER_ERR_INVALID_ARGUMENT` (more than 256),
/// `MEDLEDGER_ERR_ACCESS_DENIED` (a key outside the current validator set,
/// or not the key it lists). Nothing is attached on failure. Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `validators` NULL or `validators_len` pointers,
/// each NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_attach_validators(
    ledger: *const medledger_ledger,
    validators: *const *const medledger_keypair,
    validators_len: usize,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: forwarded contract.
        let handles =
            unsafe { try_handles(validators, validators_len, MAX_VALIDATORS, "validators") }?;
        let keys = member_keys(&ledger.inner, &handles)?;
        ledger.inner.attach_validators(keys)?;
        Ok(())
    })
}

/// Gives `ledger` its institution's custodian key (a registered participant
/// with `MEDLEDGER_ROLE_CUSTODIAN`; registered patients' category keys are
/// escrowed to it unless they opted out). It releases those keys to
/// providers reading under an active break-glass declaration
/// (`medledger_ledger_break_glass`). Replaces a custodian attached before.
///
/// Ownership: as `medledger_ledger_attach_validators`: the ledger keeps its
/// own reference to the key; the handle may be freed at once.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// when `custodian` is not a registered participant with the custodian
/// role. Thread-safe.
///
/// # Safety
///
/// `ledger` and `custodian` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_attach_custodian(
    ledger: *const medledger_ledger,
    custodian: *const medledger_keypair,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let custodian = unsafe { try_ref(custodian, "custodian") }?;
        ledger.inner.attach_custodian(custodian.inner.clone())?;
        Ok(())
    })
}

/// Writes the ledger's current time, in milliseconds since the Unix epoch,
/// to `*out_ms`: the clock that stamps transactions and against which
/// consent periods and break-glass windows are evaluated (the wall clock,
/// or the manual time of `medledger_ledger_set_manual_time`).
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`. Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `out_ms` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_now(
    ledger: *const medledger_ledger,
    out_ms: *mut u64,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        let out = out_ptr(out_ms, "out_ms")?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, ledger.inner.now()) };
        Ok(())
    })
}

/// For tests and simulations: sets the clock of this handle to the manual
/// time `ms` (milliseconds since the Unix epoch), which it keeps until set
/// again; `MEDLEDGER_WALL_CLOCK` (0) returns it to the wall clock. The
/// clock stamps transactions and blocks and decides consent periods and
/// break-glass windows, so a test can let a consent expire without waiting.
/// Every handle starts on the wall clock; the setting belongs to the
/// handle (a reopened directory ledger is on the wall clock again).
///
/// Time must not go back past committed blocks: a block committed at a
/// manual time carries that timestamp, and transactions stamped more than
/// 5 minutes before the last block's time are refused
/// (`MEDLEDGER_ERR_REJECTED`). Move a manual clock forward only, and do not
/// return to the wall clock after committing at a later time.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`. Thread-safe: calls in flight may
/// see the old or the new time.
///
/// # Safety
///
/// `ledger` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_set_manual_time(
    ledger: *const medledger_ledger,
    ms: u64,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        ledger.manual_time.store(ms, Ordering::SeqCst);
        Ok(())
    })
}

// ---- consents ---------------------------------------------------------------

/// The patient `patient_id`, or a guardian of theirs, signing with
/// `author`, grants `grantee_id` (a registered participant) a consent:
///
/// - `actions`: a non-empty combination of `MEDLEDGER_ACTION_READ`,
///   `MEDLEDGER_ACTION_APPEND`, `MEDLEDGER_ACTION_AMEND`;
/// - `purposes`: the HL7 PurposeOfUse codes it is for, comma-separated,
///   e.g. `"TREAT"` or `"TREAT,ETREAT"` (codes as in
///   `medledger_ledger_read_record`; spaces around codes are ignored);
/// - `categories`: `"*"` for every category of the patient's record,
///   including ones opened later; a comma-separated list such as
///   `"lab,imaging"`; or `""` when the consent covers only the listed
///   record versions;
/// - `record_ids`: `record_ids_len` record ids of 32 bytes each, packed
///   back to back (`record_ids_len * 32` bytes), at most
///   `MEDLEDGER_MAX_CONSENT_RECORDS`; checked before it is read. May be NULL
///   when `record_ids_len` is 0. A record-level consent must be read-only
///   (`actions == MEDLEDGER_ACTION_READ`), and `author` must hold the keys
///   of the listed records;
/// - `not_before` (inclusive) and `not_after` (exclusive): the period of
///   validity, in ms since the Unix epoch (`medledger_ledger_now`).
///
/// The grantee receives the keys of the covered categories with this
/// transaction. On success the 32-byte consent id (for
/// `medledger_ledger_revoke`) is written to `out_consent_id`. The consent
/// takes effect when committed (`medledger_ledger_commit_block`).
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_INVALID_UTF8`,
/// `MEDLEDGER_ERR_INVALID_ARGUMENT` (unknown action bits or purpose codes,
/// category syntax, an empty scope, `not_before >= not_after`, too many
/// ids, the patient as grantee, ...), `MEDLEDGER_ERR_NOT_FOUND` (no such
/// grantee or record), `MEDLEDGER_ERR_REJECTED` (`author` is neither the
/// patient nor a guardian, `patient_id` is not a patient, ...),
/// `MEDLEDGER_ERR_ACCESS_DENIED` (`author` holds no key to a listed
/// record). Thread-safe.
///
/// # Safety
///
/// Handles NULL or live; ids NULL or 32 readable bytes; strings NULL or
/// NUL-terminated; `record_ids` NULL or `record_ids_len * 32` readable
/// bytes; `out_consent_id` NULL or 32 writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_grant(
    ledger: *const medledger_ledger,
    author: *const medledger_keypair,
    patient_id: *const u8,
    grantee_id: *const u8,
    actions: u32,
    purposes: *const c_char,
    categories: *const c_char,
    record_ids: *const u8,
    record_ids_len: usize,
    not_before: u64,
    not_after: u64,
    out_consent_id: *mut u8,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let author = unsafe { try_ref(author, "author") }?;
        // SAFETY: as above.
        let patient = unsafe { participant_from_c(patient_id, "patient_id") }?;
        // SAFETY: as above.
        let grantee = unsafe { participant_from_c(grantee_id, "grantee_id") }?;
        // SAFETY: as above.
        let purposes = unsafe { try_str(purposes, MEDLEDGER_MAX_TEXT_LEN, "purposes") }?;
        // SAFETY: as above.
        let categories = unsafe { try_str(categories, MEDLEDGER_MAX_TEXT_LEN, "categories") }?;
        // SAFETY: as above; the count is checked before anything is read.
        let records = unsafe {
            ids_from_c(
                record_ids,
                record_ids_len,
                MEDLEDGER_MAX_CONSENT_RECORDS,
                "record_ids",
                true,
            )
        }?;
        let out = out_ptr(out_consent_id, "out_consent_id")?;
        let actions = actions_from_c(actions)?;
        let purposes = purposes_from_str(purposes)?;
        let (all_categories, categories) = categories_from_str(categories)?;
        let consent = Consent {
            patient,
            grantee,
            actions,
            purposes,
            scope: Scope {
                all_categories,
                categories,
                records,
            },
            not_before,
            not_after,
        };
        let id = ledger.inner.grant(&author.inner, &consent)?;
        // SAFETY: 32 writable bytes per the contract.
        unsafe { write_32(out, &id.0.0) };
        Ok(())
    })
}

/// The patient, or a guardian, signing with `author`, revokes the consent
/// `consent_id` (32 bytes, from `medledger_ledger_grant` or
/// `medledger_ledger_consents_json`). From this transaction on, reads by
/// the grantee under it are denied with `MEDLEDGER_ERR_CONSENT_REVOKED`,
/// and every category it covered moves to a new key, so records appended
/// afterwards are unreadable to the grantee. What the grantee read before
/// cannot be taken back.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_NOT_FOUND` (no
/// such consent), `MEDLEDGER_ERR_REJECTED` (`author` may not revoke it, or
/// it is already revoked). Thread-safe.
///
/// # Safety
///
/// Handles NULL or live; `consent_id` NULL or 32 readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_revoke(
    ledger: *const medledger_ledger,
    author: *const medledger_keypair,
    consent_id: *const u8,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let author = unsafe { try_ref(author, "author") }?;
        // SAFETY: as above.
        let id = ConsentId(Digest(unsafe { try_32(consent_id, "consent_id") }?));
        ledger.inner.revoke(&author.inner, &id)?;
        Ok(())
    })
}

/// The patient, or a guardian, signing with `author`, brings the key
/// holders of every category of `patient_id` up to date: entitled readers
/// missing a key receive it (e.g. a guardian appointed later, a custodian
/// registered later, a grantee of a category whose key rotated), and
/// categories whose current key is held by someone no longer entitled move
/// to a new key. On success the number of key shares made is
/// written to `*out_shares` (0: nothing to do, and no transaction).
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_REJECTED`
/// (`author` may not share the patient's keys), `MEDLEDGER_ERR_ACCESS_DENIED`
/// (`author` holds no key to share). Thread-safe.
///
/// # Safety
///
/// Handles NULL or live; `patient_id` NULL or 32 readable bytes;
/// `out_shares` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_share_keys(
    ledger: *const medledger_ledger,
    author: *const medledger_keypair,
    patient_id: *const u8,
    out_shares: *mut usize,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let author = unsafe { try_ref(author, "author") }?;
        // SAFETY: as above.
        let patient = unsafe { participant_from_c(patient_id, "patient_id") }?;
        let out = out_ptr(out_shares, "out_shares")?;
        let n = ledger.inner.share_keys(&author.inner, &patient)?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, n) };
        Ok(())
    })
}

// ---- break-glass --------------------------------------------------------------

/// A provider declares an emergency for the patient `patient_id` (HIPAA
/// emergency access): for `duration_ms` (1 ms up to the consortium's
/// maximum, 24 h by default) from now, `provider` may read the patient's
/// records for purpose `reason`, `"ETREAT"` or `"BTG"`, without a consent;
/// the keys come from the custodian attached to the reading node
/// (`medledger_ledger_attach_custodian`). Every such read is recorded and
/// flagged for review (`medledger_ledger_break_glass_reviews_json`).
/// `justification` says why, for the reviewer: 1 to 256 bytes of UTF-8
/// without control characters, no personal data.
///
/// On success the 32-byte declaration id is written to
/// `out_break_glass_id`. The declaration takes effect when committed.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_INVALID_UTF8`,
/// `MEDLEDGER_ERR_INVALID_ARGUMENT` (a reason other than ETREAT/BTG, an
/// empty or too long justification, a zero duration),
/// `MEDLEDGER_ERR_REJECTED` (`provider` is not a provider, the patient
/// opted out of escrow, the duration exceeds the consortium maximum, no
/// such patient). Thread-safe.
///
/// # Safety
///
/// Handles NULL or live; `patient_id` NULL or 32 readable bytes; strings
/// NULL or NUL-terminated; `out_break_glass_id` NULL or 32 writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_break_glass(
    ledger: *const medledger_ledger,
    provider: *const medledger_keypair,
    patient_id: *const u8,
    reason: *const c_char,
    justification: *const c_char,
    duration_ms: u64,
    out_break_glass_id: *mut u8,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let provider = unsafe { try_ref(provider, "provider") }?;
        // SAFETY: as above.
        let patient = unsafe { participant_from_c(patient_id, "patient_id") }?;
        // SAFETY: as above.
        let reason = unsafe { purpose_from_c(reason, "reason") }?;
        // SAFETY: as above.
        let justification =
            unsafe { try_str(justification, MEDLEDGER_MAX_TEXT_LEN, "justification") }?;
        let out = out_ptr(out_break_glass_id, "out_break_glass_id")?;
        let id = ledger.inner.break_glass(
            &provider.inner,
            &patient,
            reason,
            justification,
            duration_ms,
        )?;
        // SAFETY: 32 writable bytes per the contract.
        unsafe { write_32(out, &id.0.0) };
        Ok(())
    })
}

// ---- guardians and suspension ------------------------------------------------

/// Shared by the four participant changes: the ledger, the signing
/// keypair (named `author_arg` in messages) and a participant id.
///
/// # Safety
///
/// Each pointer is NULL or valid (handles live, the id 32 readable bytes).
unsafe fn change_args<'a>(
    ledger: *const medledger_ledger,
    author: *const medledger_keypair,
    author_arg: &str,
    id: *const u8,
    id_arg: &str,
) -> FfiResult<(&'a crate::Ledger, &'a crate::Keypair, ParticipantId)> {
    // SAFETY: forwarded contract.
    let ledger = unsafe { try_ref(ledger, "ledger") }?;
    // SAFETY: as above.
    let author = unsafe { try_ref(author, author_arg) }?;
    // SAFETY: as above.
    let id = unsafe { participant_from_c(id, id_arg) }?;
    Ok((&ledger.inner, &author.inner, id))
}

/// An admin, or the patient, signing with `author`, appoints `guardian_id`
/// (a registered participant with `MEDLEDGER_ROLE_GUARDIAN`) to act for the
/// patient `patient_id`: to read their records, grant and revoke consents
/// and erase records in their name. The guardian receives the keys of the
/// patient's existing categories with the next `medledger_ledger_share_keys`
/// (or the next new key of each category).
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_REJECTED` (`author`
/// may not, `guardian_id` is not a registered guardian, already appointed,
/// ...). Thread-safe.
///
/// # Safety
///
/// Handles NULL or live; ids NULL or 32 readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_add_guardian(
    ledger: *const medledger_ledger,
    author: *const medledger_keypair,
    patient_id: *const u8,
    guardian_id: *const u8,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let (ledger, author, patient) =
            unsafe { change_args(ledger, author, "author", patient_id, "patient_id") }?;
        // SAFETY: as above.
        let guardian = unsafe { participant_from_c(guardian_id, "guardian_id") }?;
        ledger.add_guardian(author, &patient, &guardian)?;
        Ok(())
    })
}

/// An admin, or the patient, signing with `author`, removes the guardian
/// `guardian_id` of the patient `patient_id`. Its reads are denied from
/// then on, and the categories whose keys it held move to a new key with
/// the next write.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_REJECTED` (`author`
/// may not, `guardian_id` is not a guardian of the patient). Thread-safe.
///
/// # Safety
///
/// Handles NULL or live; ids NULL or 32 readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_remove_guardian(
    ledger: *const medledger_ledger,
    author: *const medledger_keypair,
    patient_id: *const u8,
    guardian_id: *const u8,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let (ledger, author, patient) =
            unsafe { change_args(ledger, author, "author", patient_id, "patient_id") }?;
        // SAFETY: as above.
        let guardian = unsafe { participant_from_c(guardian_id, "guardian_id") }?;
        ledger.remove_guardian(author, &patient, &guardian)?;
        Ok(())
    })
}

/// Rotates a participant's keys to those of `new_keys` (from
/// `medledger_keypair_rotated`, same participant id). `author` is the
/// participant with its current keys, or an admin. Later transactions of
/// the participant are signed with the new key; earlier ones stay
/// verifiable. The categories it held keys of move to new keys with the
/// next write; the patient's `medledger_ledger_share_keys` seals their
/// history to the new key.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_REJECTED` (not the
/// participant nor an admin, the same key, a weak key, ...). Thread-safe.
///
/// # Safety
///
/// Handles NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_rotate_keys(
    ledger: *const medledger_ledger,
    author: *const medledger_keypair,
    new_keys: *const medledger_keypair,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let author = unsafe { try_ref(author, "author") }?;
        // SAFETY: as above.
        let new_keys = unsafe { try_ref(new_keys, "new_keys") }?;
        ledger.inner.rotate_keys(&author.inner, &new_keys.inner)?;
        Ok(())
    })
}

/// An admin suspends the participant `participant_id`: it may no longer
/// submit transactions, its reads are denied with `MEDLEDGER_ERR_SUSPENDED`
/// (and recorded), and the categories whose keys it holds move to a new key
/// with the next write.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_REJECTED` (`admin`
/// is not an admin, no such participant, already suspended, ...).
/// Thread-safe.
///
/// # Safety
///
/// Handles NULL or live; `participant_id` NULL or 32 readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_suspend(
    ledger: *const medledger_ledger,
    admin: *const medledger_keypair,
    participant_id: *const u8,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let (ledger, admin, participant) =
            unsafe { change_args(ledger, admin, "admin", participant_id, "participant_id") }?;
        ledger.suspend(admin, &participant)?;
        Ok(())
    })
}

/// An admin lifts the suspension of `participant_id`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_REJECTED` (`admin`
/// is not an admin, the participant is not suspended, ...). Thread-safe.
///
/// # Safety
///
/// Handles NULL or live; `participant_id` NULL or 32 readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_reinstate(
    ledger: *const medledger_ledger,
    admin: *const medledger_keypair,
    participant_id: *const u8,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let (ledger, admin, participant) =
            unsafe { change_args(ledger, admin, "admin", participant_id, "participant_id") }?;
        ledger.reinstate(admin, &participant)?;
        Ok(())
    })
}

// ---- the access log ------------------------------------------------------------

/// The recorded read attempts on the records of `patient_id` ("who saw my
/// record"), committed ones only, oldest first, as a JSON array written to
/// a new buffer `*out_json` (UTF-8, not NUL-terminated: use
/// `medledger_buffer_len`; release it with `medledger_buffer_free`). Each
/// element is an object:
///
/// ```text
/// {"reader": hex id, "patient": hex id, "record": hex id, "category": "lab",
///  "purpose": "TREAT", "decision": "permit" | "deny",
///  "basis": "patient" | "guardian" | "author" | "consent" | "break_glass"
///           (permits only),
///  "consent": hex id (basis "consent"), "break_glass": hex id (basis
///  "break_glass"),
///  "reason": "no_consent" | "expired" | "not_yet_valid" | "wrong_purpose" |
///            "revoked" | "suspended" | "erased" (denials only),
///  "status": the MEDLEDGER_ERR_* code of that reason (denials only),
///  "time": ms since the Unix epoch, "height": block, "tx_index": n,
///  "leaf": n}
/// ```
///
/// Ids are 64 lowercase hex digits. `requester_id` must be the patient, one
/// of their guardians, or an auditor (`MEDLEDGER_ROLE_AUDITOR`). Querying
/// the log is not itself recorded.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_ACCESS_DENIED` for
/// any other requester. Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; ids NULL or 32 readable bytes; `out_json` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_access_log_json(
    ledger: *const medledger_ledger,
    requester_id: *const u8,
    patient_id: *const u8,
    out_json: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        unsafe {
            patient_json(ledger, requester_id, patient_id, out_json, |l, r, p| {
                Ok(json::access_entries(&l.access_log(r, p)?))
            })
        }
    })
}

/// The consents of `patient_id` (active, expired and revoked), in grant
/// order, as a JSON array written to a new buffer `*out_json` (as
/// `medledger_ledger_access_log_json`). Each element is an object:
///
/// ```text
/// {"id": hex consent id, "patient": hex, "grantee": hex, "granted_by": hex,
///  "actions": MEDLEDGER_ACTION_* bits, "purposes": ["TREAT", ...],
///  "all_categories": bool, "categories": ["lab", ...],
///  "records": [hex record id, ...], "not_before": ms, "not_after": ms,
///  "granted_at": ms, "revoked_at": ms or null, "height": block,
///  "leaf": n}
/// ```
///
/// `requester_id` must be the patient, a guardian or an auditor.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_ACCESS_DENIED` for
/// any other requester. Thread-safe.
///
/// # Safety
///
/// As `medledger_ledger_access_log_json`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_consents_json(
    ledger: *const medledger_ledger,
    requester_id: *const u8,
    patient_id: *const u8,
    out_json: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        unsafe {
            patient_json(ledger, requester_id, patient_id, out_json, |l, r, p| {
                Ok(json::consents(&l.consents(r, p)?))
            })
        }
    })
}

/// The access log of `patient_id` (as `medledger_ledger_access_log_json`:
/// committed read attempts, oldest first, same requesters) as a FHIR R5
/// `Bundle` of type `searchset` (with `total`) holding one `AuditEvent`
/// per attempt, written as JSON to a new buffer `*out_json` (UTF-8, not
/// NUL-terminated). Each event is what the Rust
/// `access::fhir::audit_event` makes: the reader as agent, the patient and
/// the record (by identifier) as entities, the purpose of use, the outcome
/// (a denial with its reason), the break-glass declaration if any; ids are
/// stable across exports. No entry when the log is empty.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_ACCESS_DENIED` for
/// a requester who is not the patient, a guardian or an auditor.
/// Thread-safe.
///
/// # Safety
///
/// As `medledger_ledger_access_log_json`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_access_log_fhir(
    ledger: *const medledger_ledger,
    requester_id: *const u8,
    patient_id: *const u8,
    out_json: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        unsafe {
            patient_json(ledger, requester_id, patient_id, out_json, |l, r, p| {
                let events = fhir::audit_events(&l.id(), &l.access_log(r, p)?);
                Ok(fhir::bundle(BundleType::Searchset, events).to_string())
            })
        }
    })
}

/// The consents of `patient_id` (as `medledger_ledger_consents_json`:
/// active, expired and revoked, in grant order, same requesters) as a FHIR
/// R5 `Bundle` of type `searchset` holding one `Consent` per consent
/// (`access::fhir::consent`: status `active` or `inactive` as of the
/// ledger's clock, the grantee, actions, purposes, period and scope as
/// provisions), written as JSON to a new buffer `*out_json`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_ACCESS_DENIED` for
/// a requester who is not the patient, a guardian or an auditor.
/// Thread-safe.
///
/// # Safety
///
/// As `medledger_ledger_access_log_json`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_consents_fhir(
    ledger: *const medledger_ledger,
    requester_id: *const u8,
    patient_id: *const u8,
    out_json: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        unsafe {
            patient_json(ledger, requester_id, patient_id, out_json, |l, r, p| {
                let (id, now) = (l.id(), l.now());
                let consents = l.consents(r, p)?;
                let docs = consents.iter().map(|c| fhir::consent(&id, c, now));
                Ok(fhir::bundle(BundleType::Searchset, docs.collect()).to_string())
            })
        }
    })
}

/// Every committed read made under break-glass, on every patient, for
/// review, as a JSON array of access-log entries (the format of
/// `medledger_ledger_access_log_json`, all with basis `"break_glass"`)
/// written to a new buffer `*out_json`. `requester_id` must be an auditor
/// or an admin.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_ACCESS_DENIED` for
/// any other requester. Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `requester_id` NULL or 32 readable bytes;
/// `out_json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_break_glass_reviews_json(
    ledger: *const medledger_ledger,
    requester_id: *const u8,
    out_json: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let requester = unsafe { participant_from_c(requester_id, "requester_id") }?;
        let out = out_ptr(out_json, "out_json")?;
        let reads = ledger.inner.break_glass_reviews(&requester)?;
        // SAFETY: `out` is writable per the contract.
        unsafe {
            write_buffer(
                out,
                Zeroizing::new(json::access_entries(&reads).into_bytes()),
            )
        };
        Ok(())
    })
}

// ---- erasure ---------------------------------------------------------------------

/// Encodes a receipt as the C API hands it out (`MEDLEDGER_ERASURE_RECEIPT_LEN`
/// bytes): the signed message without its label, then the signature.
fn encode_receipt(r: &ErasureReceipt, out: &mut Vec<u8>) {
    out.extend_from_slice(r.ledger.as_bytes());
    out.extend_from_slice(r.record.as_bytes());
    out.extend_from_slice(&r.ciphertext_digest.0);
    out.extend_from_slice(&r.leaf.to_le_bytes());
    out.extend_from_slice(&r.height.to_le_bytes());
    out.extend_from_slice(&r.erased_at.to_le_bytes());
    out.extend_from_slice(r.signer.as_bytes());
    out.extend_from_slice(&r.signature.0);
}

fn decode_receipt(b: &[u8]) -> FfiResult<ErasureReceipt> {
    let malformed = || FfiError {
        status: super::status::MEDLEDGER_ERR_MALFORMED,
        message: format!(
            "malformed erasure receipt: {} bytes, expected {MEDLEDGER_ERASURE_RECEIPT_LEN}",
            b.len()
        ),
    };
    if b.len() != MEDLEDGER_ERASURE_RECEIPT_LEN {
        return Err(malformed());
    }
    let d32 = |at: usize| -> FfiResult<Digest> {
        b.get(at..at + 32)
            .and_then(|s| <[u8; 32]>::try_from(s).ok())
            .map(Digest)
            .ok_or_else(malformed)
    };
    let u64_at = |at: usize| -> FfiResult<u64> {
        b.get(at..at + 8)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .map(u64::from_le_bytes)
            .ok_or_else(malformed)
    };
    let signature = b
        .get(152..216)
        .and_then(|s| <[u8; 64]>::try_from(s).ok())
        .map(Signature)
        .ok_or_else(malformed)?;
    Ok(ErasureReceipt {
        ledger: LedgerId(d32(0)?),
        record: RecordId(d32(32)?),
        ciphertext_digest: d32(64)?,
        leaf: u64_at(96)?,
        height: u64_at(104)?,
        erased_at: u64_at(112)?,
        signer: ParticipantId(d32(120)?),
        signature,
    })
}

/// Erases record versions (GDPR art. 17, or a correction): `author` (the
/// patient, a guardian, or the records' author) submits the erase
/// transaction for the `record_ids_len` records in `record_ids` (32-byte
/// ids packed back to back, at most `MEDLEDGER_MAX_ERASE_RECORDS`, checked
/// before anything is read); the call waits until it is committed (with
/// validator keys attached it commits the block itself), removes each
/// ciphertext from the store and returns one receipt per record, in order,
/// signed by the first attached validator key. The chain keeps the headers
/// and digests; verification reports the payloads as erased, and reads are
/// denied with `MEDLEDGER_ERR_ERASED`.
///
/// On success `*out_receipts` receives a buffer of `record_ids_len`
/// receipts of `MEDLEDGER_ERASURE_RECEIPT_LEN` (216) bytes each, back to
/// back; release it with `medledger_buffer_free`. A receipt is:
///
/// ```text
/// offset  size  field
///      0    32  ledger id
///     32    32  record id
///     64    32  SHA3-256 digest of the erased ciphertext (still on chain)
///     96     8  leaf index of the erase transaction, little-endian
///    104     8  height of its block, little-endian
///    112     8  time of the erase transaction, ms, little-endian
///    120    32  participant id of the signing validator
///    152    64  Ed25519 signature over u8 28 || "medledger/v2/erasure-receipt"
///               || bytes 0..152 (docs/FORMAT.md)
/// ```
///
/// Check one with `medledger_ledger_verify_erasure_receipt`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (too many ids; no validator key attached to sign receipts with),
/// `MEDLEDGER_ERR_REJECTED` (no ids, an unknown or already erased record,
/// a record listed twice, `author` may not erase it),
/// `MEDLEDGER_ERR_SYSTEM` (not committed in time, I/O). Thread-safe.
///
/// # Safety
///
/// Handles NULL or live; `record_ids` NULL or `record_ids_len * 32`
/// readable bytes; `out_receipts` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_erase(
    ledger: *const medledger_ledger,
    author: *const medledger_keypair,
    record_ids: *const u8,
    record_ids_len: usize,
    out_receipts: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let author = unsafe { try_ref(author, "author") }?;
        // SAFETY: as above; the count is checked before anything is read.
        let ids = unsafe {
            ids_from_c(
                record_ids,
                record_ids_len,
                MEDLEDGER_MAX_ERASE_RECORDS,
                "record_ids",
                false,
            )
        }?;
        let out = out_ptr(out_receipts, "out_receipts")?;
        let receipts = ledger.inner.erase(&author.inner, &ids)?;
        let mut bytes = Vec::with_capacity(receipts.len() * MEDLEDGER_ERASURE_RECEIPT_LEN);
        for r in &receipts {
            encode_receipt(r, &mut bytes);
        }
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_buffer(out, Zeroizing::new(bytes)) };
        Ok(())
    })
}

/// Checks one erasure receipt (`receipt_len` must be
/// `MEDLEDGER_ERASURE_RECEIPT_LEN`; see `medledger_ledger_erase` for the
/// layout): it must be for this ledger, and its signature must verify
/// (strict Ed25519) under the key the current validator set lists for the
/// signer.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_MALFORMED` (wrong
/// length), `MEDLEDGER_ERR_INVALID_ARGUMENT` (another ledger's receipt, a
/// signer outside the validator set), `MEDLEDGER_ERR_BAD_SIGNATURE` (a
/// modified receipt), `MEDLEDGER_ERR_WEAK_KEY`. Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `receipt` NULL or `receipt_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_verify_erasure_receipt(
    ledger: *const medledger_ledger,
    receipt: *const u8,
    receipt_len: usize,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above; checked against the receipt size before reading.
        let bytes = unsafe {
            try_slice(
                receipt,
                receipt_len,
                MEDLEDGER_ERASURE_RECEIPT_LEN,
                "receipt",
            )
        }
        .map_err(|e| {
            if e.status == super::status::MEDLEDGER_ERR_INVALID_ARGUMENT {
                FfiError {
                    status: super::status::MEDLEDGER_ERR_MALFORMED,
                    message: format!(
                        "malformed erasure receipt: {receipt_len} bytes, expected \
                         {MEDLEDGER_ERASURE_RECEIPT_LEN}"
                    ),
                }
            } else {
                e
            }
        })?;
        let r = decode_receipt(bytes)?;
        if r.ledger != ledger.inner.id() {
            return Err(FfiError::invalid("receipt", "it is for another ledger"));
        }
        r.verify(&ledger.inner.validators()?)?;
        Ok(())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::crypto::hash::Digest;

    #[test]
    fn purposes_parse_and_refuse() {
        let p = purposes_from_str("TREAT, ETREAT").unwrap();
        assert!(p.contains(Purpose::Treat) && p.contains(Purpose::EmergencyTreat));
        assert!(!p.contains(Purpose::Research));
        for bad in ["", " ", "treat", "TREAT,", ",TREAT", "TREAT,,BTG", "NOPE"] {
            assert!(purposes_from_str(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn categories_parse_and_refuse() {
        assert_eq!(categories_from_str("*").unwrap(), (true, vec![]));
        assert_eq!(categories_from_str("").unwrap(), (false, vec![]));
        let (all, cats) = categories_from_str("lab, imaging").unwrap();
        assert!(!all && cats.len() == 2);
        for bad in ["lab,*", "Lab", "lab,,x", "lab,"] {
            assert!(categories_from_str(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn actions_are_range_checked() {
        assert_eq!(actions_from_c(7).unwrap(), Actions::ALL);
        assert!(actions_from_c(0).is_err());
        assert!(actions_from_c(8).is_err());
        assert!(actions_from_c(0x101).is_err());
    }

    #[test]
    fn receipts_round_trip_through_their_encoding() {
        let r = ErasureReceipt {
            ledger: LedgerId(Digest([1; 32])),
            record: RecordId(Digest([2; 32])),
            ciphertext_digest: Digest([3; 32]),
            leaf: 4,
            height: 5,
            erased_at: 6,
            signer: ParticipantId(Digest([7; 32])),
            signature: Signature([8; 64]),
        };
        let mut b = Vec::new();
        encode_receipt(&r, &mut b);
        assert_eq!(b.len(), MEDLEDGER_ERASURE_RECEIPT_LEN);
        // The signed part is the signing message without its label.
        let msg = r.signing_message();
        assert_eq!(&msg[msg.len() - 152..], &b[..152]);
        assert_eq!(decode_receipt(&b).unwrap(), r);
        assert!(decode_receipt(&b[1..]).is_err());
    }

    #[test]
    fn id_arrays_are_checked_before_reading() {
        let one = [0u8; 32];
        // SAFETY: refused before any read.
        let e = unsafe { ids_from_c(one.as_ptr(), usize::MAX, 4, "ids", false) }.unwrap_err();
        assert_eq!(
            e.status,
            super::super::status::MEDLEDGER_ERR_INVALID_ARGUMENT
        );
        // SAFETY: NULL with 0 is the empty optional list.
        assert!(
            unsafe { ids_from_c(core::ptr::null(), 0, 4, "ids", true) }
                .unwrap()
                .is_empty()
        );
        // SAFETY: NULL is refused when not optional.
        let e = unsafe { ids_from_c(core::ptr::null(), 0, 4, "ids", false) }.unwrap_err();
        assert_eq!(e.status, super::super::status::MEDLEDGER_ERR_NULL_POINTER);
        // SAFETY: 32 readable bytes.
        assert_eq!(
            unsafe { ids_from_c(one.as_ptr(), 1, 4, "ids", false) }
                .unwrap()
                .len(),
            1
        );
    }
}
