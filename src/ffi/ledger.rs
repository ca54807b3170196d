//! `medledger_ledger`: one node's view of a chain, and the calls that
//! change and read it.

use std::ffi::c_char;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

use super::boundary::{
    FfiError, FfiResult, Handle, guard, guard_value, out_ptr, try_32, try_handles, try_path,
    try_ref, try_slice, try_str, write_32, write_out,
};
use super::buffer::{medledger_buffer, write_buffer};
use super::keypair::medledger_keypair;
use super::report::medledger_report;
use super::status::medledger_status;
use super::{
    MEDLEDGER_MAX_BATCH_RECORDS, MEDLEDGER_MAX_MESSAGE_LEN, MEDLEDGER_MAX_PAYLOAD_LEN,
    MEDLEDGER_MAX_READ_RECORDS, MEDLEDGER_MAX_TEXT_LEN, MEDLEDGER_READ_RESULT_HEADER_LEN,
    MEDLEDGER_REGISTER_ESCROW_OPT_OUT, MEDLEDGER_WALL_CLOCK,
};
use crate::crypto::hash::Digest;
use crate::model::tx::MAX_GENESIS_PARTICIPANTS;
use crate::model::validators::MAX_VALIDATORS;
use crate::{
    Genesis, Keypair, Ledger, NewRecord, OpenReport, Participant, ParticipantId, RecordId, Roles,
};

/// A ledger node. Every function taking a `const medledger_ledger *` may be
/// called from several threads at once on the same handle (readers run
/// concurrently, writers serialise internally). Only
/// `medledger_ledger_free` needs exclusive access.
pub struct medledger_ledger {
    /// Shared with the nodes built on it (`medledger_node_new`).
    pub(crate) inner: Arc<Ledger>,
    /// Serialises `medledger_ledger_commit_block` on this handle.
    /// `Ledger::commit_block` proposes under one lock and commits under
    /// another, so two concurrent commits could both propose the same
    /// height and the loser fail with "does not extend this ledger's head".
    commit_lock: Mutex<()>,
    /// The manual time of `medledger_ledger_set_manual_time`, in ms, or
    /// `MEDLEDGER_WALL_CLOCK` while the ledger runs on the wall clock. The
    /// ledger's clock reads it.
    pub(crate) manual_time: Arc<AtomicU64>,
}

impl medledger_ledger {
    /// Wraps a ledger for C (for every `create`/`open` function), its clock
    /// switchable to a manual time.
    pub(crate) fn new(inner: Ledger) -> Self {
        let manual_time = Arc::new(AtomicU64::new(MEDLEDGER_WALL_CLOCK));
        let time = Arc::clone(&manual_time);
        let inner = inner.with_clock(move || match time.load(Ordering::SeqCst) {
            MEDLEDGER_WALL_CLOCK => crate::now_ms(),
            ms => ms,
        });
        medledger_ledger {
            inner: Arc::new(inner),
            commit_lock: Mutex::new(()),
            manual_time,
        }
    }
}

impl Handle for medledger_ledger {}

/// A founding participant of a new ledger: its keypair (only the public
/// keys are used), its role bits (`MEDLEDGER_ROLE_*`), an operator-facing
/// label (UTF-8, at most 128 bytes, no personal data) and registration
/// flags (as `medledger_ledger_register`'s). Founders with
/// `MEDLEDGER_ROLE_VALIDATOR` form the validator set; at least one founder
/// must be an admin.
///
/// Changed with format version 2: the `flags` field is new (the struct is
/// larger; set it to 0 unless a founding patient opts out).
#[repr(C)]
pub struct medledger_founder {
    /// The founder's keys (borrowed for the duration of the call).
    pub keypair: *const medledger_keypair,
    /// Role bits, a combination of `MEDLEDGER_ROLE_*`.
    pub roles: u32,
    /// NUL-terminated UTF-8 label.
    pub label: *const c_char,
    /// 0, or `MEDLEDGER_REGISTER_ESCROW_OPT_OUT` for a founding patient
    /// who opts out of emergency key escrow (patients only).
    pub flags: u32,
}

fn roles_from_c(roles: u32, arg: &str) -> FfiResult<Roles> {
    let bits = u16::try_from(roles)
        .ok()
        .filter(|b| *b != 0 && b & !Roles::ALL.0 == 0)
        .ok_or_else(|| FfiError::invalid(arg, format_args!("unknown role bits 0x{roles:x}")))?;
    Ok(Roles(bits))
}

/// Registration flags (`MEDLEDGER_REGISTER_*`): whether the participant
/// opts out of escrow. Unknown bits are refused.
fn escrow_opt_out_from_c(flags: u32, arg: &str) -> FfiResult<bool> {
    if flags & !MEDLEDGER_REGISTER_ESCROW_OPT_OUT != 0 {
        return Err(FfiError::invalid(
            arg,
            format_args!("unknown flag bits 0x{flags:x}"),
        ));
    }
    Ok(flags & MEDLEDGER_REGISTER_ESCROW_OPT_OUT != 0)
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
    max_break_glass_ms: u64,
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
        let mut participant = kp.inner.participant(roles, label);
        participant.escrow_opt_out =
            escrow_opt_out_from_c(f.flags, &format!("founders[{i}].flags"))?;
        participants.push(participant);
    }
    let mut genesis = Genesis::new(name, threshold, participants)?;
    genesis.max_break_glass_ms = max_break_glass_ms;
    Ok(genesis)
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
    Ok(handles.into_iter().map(|h| &*h.inner).collect())
}

/// The genesis arguments every `create` function takes, as C passed them.
struct GenesisArgs {
    consortium_name: *const c_char,
    threshold: u32,
    max_break_glass_ms: u64,
    founders: *const medledger_founder,
    founders_len: usize,
    sealers: *const *const medledger_keypair,
    sealers_len: usize,
}

impl GenesisArgs {
    /// Checks the genesis arguments, then `out`, then runs `make` with the
    /// genesis and the sealing keys and hands the new ledger to C.
    ///
    /// # Safety
    ///
    /// As `medledger_ledger_create_in_memory`: every pointer is NULL or
    /// valid for the length given with it; `out` is NULL or writable.
    unsafe fn create(
        self,
        out: *mut *mut medledger_ledger,
        make: impl FnOnce(Genesis, &[&Keypair]) -> crate::Result<Ledger>,
    ) -> FfiResult<()> {
        // SAFETY: forwarded contract.
        let genesis = unsafe {
            genesis_from_c(
                self.consortium_name,
                self.threshold,
                self.max_break_glass_ms,
                self.founders,
                self.founders_len,
            )
        }?;
        // SAFETY: forwarded contract.
        let sealers = unsafe { keypairs_from_c(self.sealers, self.sealers_len, "sealers") }?;
        let out = out_ptr(out, "out")?;
        let ledger = medledger_ledger::new(make(genesis, &sealers)?);
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_out(out, ledger.into_raw()) };
        Ok(())
    }
}

/// Creates a ledger held in memory (lost when freed) from a genesis:
/// the consortium name (UTF-8, at most 128 bytes), the number of validator
/// seals a block needs (`threshold`, 1..=number of validator founders),
/// the longest break-glass window a provider may declare
/// (`max_break_glass_ms`; `MEDLEDGER_DEFAULT_MAX_BREAK_GLASS_MS` is 24 h, 0
/// rules break-glass out) and the founders (with their escrow opt-outs).
/// Block 0 is sealed at once by `sealers` (keypairs of validator founders,
/// at least `threshold` of them).
///
/// Changed with format version 2: the `max_break_glass_ms` parameter is
/// new.
///
/// On success `*out` receives a ledger the caller owns; release it with
/// `medledger_ledger_free`. Keypairs are only borrowed during the call.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER` (any pointer, including inside
/// `founders` and `sealers`), `MEDLEDGER_ERR_INVALID_UTF8`,
/// `MEDLEDGER_ERR_INVALID_ARGUMENT` (lengths, role bits, threshold, no
/// validator founder, unknown founder flag bits, escrow opt-out for a
/// founder who is not a patient), `MEDLEDGER_ERR_REJECTED` (the genesis
/// breaks a rule: no admin, a founder listed twice), `MEDLEDGER_ERR_ACCESS_DENIED` (a
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
    max_break_glass_ms: u64,
    founders: *const medledger_founder,
    founders_len: usize,
    sealers: *const *const medledger_keypair,
    sealers_len: usize,
    out: *mut *mut medledger_ledger,
) -> medledger_status {
    let args = GenesisArgs {
        consortium_name,
        threshold,
        max_break_glass_ms,
        founders,
        founders_len,
        sealers,
        sealers_len,
    };
    // SAFETY: forwarded contract.
    guard(|| unsafe { args.create(out, Ledger::create_in_memory) })
}

/// What opening a ledger directory found and did. A plain struct the
/// caller allocates (usually on the stack) and passes to
/// `medledger_ledger_open_dir` or `medledger_ledger_open_dir_read_only`,
/// which fill it in on success only.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct medledger_open_report {
    /// Committed blocks in the ledger file, genesis included (the head
    /// height is `blocks - 1`).
    pub blocks: u64,
    /// Record ciphertexts stored in the ledger file.
    pub payloads: u64,
    /// Length in bytes of the ledger file that was kept.
    pub file_len: u64,
    /// Bytes of a torn, never-acknowledged tail (a crash in the middle of a
    /// commit): cut off by `medledger_ledger_open_dir`, ignored (left in
    /// place) by `medledger_ledger_open_dir_read_only`. 0 after a clean
    /// shutdown.
    pub bytes_cut: u64,
    /// Complete frames in that tail (payloads of the block that never
    /// committed).
    pub frames_cut: u64,
    /// Payload frames erased by erase transactions (their ciphertexts are
    /// not served), including erasures a crash interrupted.
    pub erased: u64,
    /// Erasures a crash interrupted that this open finished (always 0 on a
    /// read-only open, which leaves them for the next writer).
    pub erasures_finished: u64,
}

impl From<&OpenReport> for medledger_open_report {
    fn from(r: &OpenReport) -> Self {
        medledger_open_report {
            blocks: r.blocks,
            payloads: r.payloads,
            file_len: r.file_len,
            bytes_cut: r.bytes_cut,
            frames_cut: r.frames_cut,
            erased: r.erased,
            erasures_finished: r.erasures_finished,
        }
    }
}

/// Creates a durable ledger in directory `path` (NUL-terminated UTF-8, at
/// most `MEDLEDGER_MAX_TEXT_LEN` bytes, not empty; relative paths are
/// relative to the current directory). The directory is created if
/// missing, with its parents; it must not already hold a ledger. The
/// genesis arguments are those of `medledger_ledger_create_in_memory`
/// (changed with format version 2: `max_break_glass_ms` is new).
/// Block 0 is written and synced to `<path>/ledger.log` before this
/// returns; a crash leaves either no ledger or a whole one.
///
/// On success `*out` receives a ledger the caller owns; release it with
/// `medledger_ledger_free`. The handle holds the directory's writer lock
/// (an advisory lock on `<path>/LOCK`) until it is freed: no other handle,
/// in this process or another, can open the directory for writing
/// meanwhile (read-only opens can). `path`, keypairs and founders are only
/// borrowed during the call.
///
/// Errors: as `medledger_ledger_create_in_memory` (checked before anything
/// is written to disk), and `MEDLEDGER_ERR_NULL_POINTER` /
/// `MEDLEDGER_ERR_INVALID_UTF8` for `path`;
/// `MEDLEDGER_ERR_INVALID_ARGUMENT` when `path` is empty or too long, or
/// the directory already holds a ledger; `MEDLEDGER_ERR_ACCESS_DENIED` when
/// another handle holds the directory's writer lock; `MEDLEDGER_ERR_SYSTEM`
/// when the directory or file cannot be created, written or synced.
/// Thread-safe.
///
/// # Safety
///
/// As `medledger_ledger_create_in_memory`; `path` is NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_create_dir(
    path: *const c_char,
    consortium_name: *const c_char,
    threshold: u32,
    max_break_glass_ms: u64,
    founders: *const medledger_founder,
    founders_len: usize,
    sealers: *const *const medledger_keypair,
    sealers_len: usize,
    out: *mut *mut medledger_ledger,
) -> medledger_status {
    let args = GenesisArgs {
        consortium_name,
        threshold,
        max_break_glass_ms,
        founders,
        founders_len,
        sealers,
        sealers_len,
    };
    guard(|| {
        // SAFETY: forwarded contract.
        let path = unsafe { try_path(path, "path") }?;
        // SAFETY: forwarded contract.
        unsafe { args.create(out, |g, s| Ledger::create_dir(path, g, s)) }
    })
}

/// Shared by the `open_dir` functions: checks the arguments, opens with
/// `open`, and writes the report (when asked for) and the handle.
///
/// # Safety
///
/// `path` NULL or NUL-terminated; `report_out` NULL or writable; `out` NULL
/// or writable.
unsafe fn open_dir_from_c(
    path: *const c_char,
    report_out: *mut medledger_open_report,
    out: *mut *mut medledger_ledger,
    open: fn(&Path) -> crate::Result<(Ledger, OpenReport)>,
) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    let path = unsafe { try_path(path, "path") }?;
    let out = out_ptr(out, "out")?;
    let report_out = NonNull::new(report_out);
    // A missing ledger is NotFound; a damaged file (header included) or a
    // file of another ledger is Corrupt: the store reports them so.
    let (ledger, report) = open(path)?;
    let ledger = medledger_ledger::new(ledger);
    if let Some(r) = report_out {
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(r, medledger_open_report::from(&report)) };
    }
    // SAFETY: `out` is non-NULL and writable per the contract.
    unsafe { write_out(out, ledger.into_raw()) };
    Ok(())
}

/// Opens the durable ledger in directory `path` (NUL-terminated UTF-8, at
/// most `MEDLEDGER_MAX_TEXT_LEN` bytes, not empty) for reading and writing.
///
/// Opening recovers from a crash and verifies the chain before returning:
/// every frame of `<path>/ledger.log` is checked against its checksum; a
/// torn, never-acknowledged tail left by a crash mid-commit is cut (and
/// counted in the report); then every signature, hash, link, seal quorum
/// and rule is replayed from genesis. Record ciphertexts are checked
/// against their digests on every read (`MEDLEDGER_ERR_TAMPERED`) and by
/// `medledger_ledger_verify`. Takes time proportional to the ledger's size.
///
/// On success `*out` receives a ledger the caller owns (release it with
/// `medledger_ledger_free`), and, when `report_out` is not NULL,
/// `*report_out` what the open found. Neither is written on failure. The
/// handle holds the directory's writer lock (`<path>/LOCK`) until it is
/// freed; read-only opens of the same directory may run beside it.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER` (`path`, `out`),
/// `MEDLEDGER_ERR_INVALID_UTF8`, `MEDLEDGER_ERR_INVALID_ARGUMENT` (empty or
/// too long path); `MEDLEDGER_ERR_ACCESS_DENIED` when another handle, in
/// this process or another, holds the writer lock;
/// `MEDLEDGER_ERR_NOT_FOUND` when `path` holds no ledger (or does not
/// exist); `MEDLEDGER_ERR_CORRUPT` when the file is damaged (the message
/// names the fault and, for a frame that fails its checksum, its byte
/// offset in `ledger.log`) or the chain does not verify;
/// `MEDLEDGER_ERR_UNSUPPORTED_VERSION` for a file written by a newer
/// format; `MEDLEDGER_ERR_SYSTEM` for I/O errors. Thread-safe.
///
/// # Safety
///
/// `path` NULL or NUL-terminated; `report_out` NULL or writable; `out` NULL
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_open_dir(
    path: *const c_char,
    report_out: *mut medledger_open_report,
    out: *mut *mut medledger_ledger,
) -> medledger_status {
    // SAFETY: forwarded contract.
    guard(|| unsafe { open_dir_from_c(path, report_out, out, Ledger::open_dir) })
}

/// Opens the durable ledger in directory `path` read-only: as
/// `medledger_ledger_open_dir`, but without the writer lock, so any number
/// of read-only handles may be open beside the one writer (in this process
/// or others), and without writing anything (a torn tail is ignored, not
/// cut; it is counted in the report all the same). The handle sees the
/// ledger as it was when opened.
///
/// A read-only ledger verifies (`medledger_ledger_verify`) and answers
/// `medledger_ledger_head_height` and `medledger_ledger_id`, but never
/// releases plaintext: `medledger_ledger_read_record` returns
/// `MEDLEDGER_ERR_ACCESS_DENIED` (a disclosure must be recorded, and a
/// read-only open cannot record). Writes (register, append, amend, commit)
/// return `MEDLEDGER_ERR_ACCESS_DENIED` too.
///
/// Ownership, report and errors: as `medledger_ledger_open_dir`, except
/// that it is never refused because of another handle's writer lock.
/// Thread-safe.
///
/// # Safety
///
/// As `medledger_ledger_open_dir`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_open_dir_read_only(
    path: *const c_char,
    report_out: *mut medledger_open_report,
    out: *mut *mut medledger_ledger,
) -> medledger_status {
    // SAFETY: forwarded contract.
    guard(|| unsafe { open_dir_from_c(path, report_out, out, Ledger::open_dir_read_only) })
}

/// Closes and frees `ledger`. NULL is a no-op. Transactions not yet
/// committed in a block are discarded; an in-memory ledger is gone; a
/// directory ledger stays on disk (every committed block was synced when
/// it committed) and its writer lock is released. While a node built on it
/// (`medledger_node_new`) lives, only the handle is freed: the node keeps
/// the ledger open until `medledger_node_free`.
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
/// `medledger_keypair_public_keys`), role bits (`MEDLEDGER_ROLE_*`), a
/// label (UTF-8, at most 128 bytes, no personal data) and `flags`: 0, or
/// `MEDLEDGER_REGISTER_ESCROW_OPT_OUT` for a patient who opts out of
/// emergency key escrow (no custodian receives their keys, so break-glass
/// cannot reach their records; patients only). The participant id is
/// derived from the signing key. The registration is pending until the
/// next `medledger_ledger_commit_block`.
///
/// Changed with format version 2: the `flags` parameter is new.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_INVALID_UTF8`,
/// `MEDLEDGER_ERR_INVALID_ARGUMENT` (label, role bits, unknown flag bits,
/// the escrow flag on a non-patient), `MEDLEDGER_ERR_WEAK_KEY`,
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
    flags: u32,
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
        let escrow_opt_out = escrow_opt_out_from_c(flags, "flags")?;
        let participant = Participant {
            id: ParticipantId::from_public_key(&sign_key),
            sign_key,
            enc_key,
            roles: roles_from_c(roles, "roles")?,
            label: label.to_owned(),
            escrow_opt_out,
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
/// `author` must be the patient, one of their guardians, or a provider
/// holding an active consent from the patient with the
/// `MEDLEDGER_ACTION_APPEND` action covering the category
/// (`medledger_ledger_grant`).
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_INVALID_UTF8`,
/// `MEDLEDGER_ERR_INVALID_ARGUMENT`, `MEDLEDGER_ERR_REJECTED` (author not
/// registered, no consent to append for this patient and category,
/// suspended, ...), `MEDLEDGER_ERR_NOT_FOUND` (no such patient).
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

/// One record of `medledger_ledger_append_batch`: the arguments
/// `medledger_ledger_append_record` takes for it, borrowed for the
/// duration of the call.
#[repr(C)]
pub struct medledger_new_record {
    /// The patient's 32-byte participant id.
    pub patient_id: *const u8,
    /// NUL-terminated category code (e.g. `"lab"`, at most 32 bytes).
    pub category: *const c_char,
    /// NUL-terminated content type (at most 64 bytes).
    pub content_type: *const c_char,
    /// The plaintext payload (`payload_len` bytes).
    pub payload: *const u8,
    /// Length of `payload`, at most `MEDLEDGER_MAX_PAYLOAD_LEN`.
    pub payload_len: usize,
}

/// `author` appends `records_len` records (at most
/// `MEDLEDGER_MAX_BATCH_RECORDS`, at least 1) under one signature: one
/// transaction, for bulk imports. Each record is described as
/// `medledger_ledger_append_record` describes one, and the same rules
/// apply to each (the batch is refused as a whole when one record is).
/// Every argument is checked before anything is encrypted. On success the
/// 32-byte ids of the records, in order, are written back to back to
/// `out_record_ids` (`records_len * 32` bytes).
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER` (including a pointer inside a
/// record), `MEDLEDGER_ERR_INVALID_UTF8`, `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (no records, more than `MEDLEDGER_MAX_BATCH_RECORDS`, a payload longer
/// than the limit: these name the record, e.g. `records[2].payload`; a
/// category or content type out of range),
/// `MEDLEDGER_ERR_REJECTED`, `MEDLEDGER_ERR_NOT_FOUND` (as
/// `medledger_ledger_append_record`). Thread-safe.
///
/// # Safety
///
/// Handles NULL or live; `records` NULL or `records_len` records whose
/// pointers are NULL or valid as in `medledger_ledger_append_record`;
/// `out_record_ids` NULL or `records_len * 32` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_append_batch(
    ledger: *const medledger_ledger,
    author: *const medledger_keypair,
    records: *const medledger_new_record,
    records_len: usize,
    out_record_ids: *mut u8,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let author = unsafe { try_ref(author, "author") }?;
        // SAFETY: as above; the count is checked before anything is read.
        let records =
            unsafe { try_slice(records, records_len, MEDLEDGER_MAX_BATCH_RECORDS, "records") }?;
        let mut batch = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            // SAFETY: forwarded contract: each field is NULL or valid.
            let patient = unsafe { try_32(r.patient_id, &format!("records[{i}].patient_id")) }?;
            // SAFETY: as above.
            let category = unsafe {
                try_str(
                    r.category,
                    MEDLEDGER_MAX_TEXT_LEN,
                    &format!("records[{i}].category"),
                )
            }?;
            // SAFETY: as above.
            let content_type = unsafe {
                try_str(
                    r.content_type,
                    MEDLEDGER_MAX_TEXT_LEN,
                    &format!("records[{i}].content_type"),
                )
            }?;
            // SAFETY: as above; the length is checked before the slice is
            // made.
            let payload = unsafe {
                try_slice(
                    r.payload,
                    r.payload_len,
                    MEDLEDGER_MAX_PAYLOAD_LEN,
                    &format!("records[{i}].payload"),
                )
            }?;
            batch.push(NewRecord {
                patient: ParticipantId(Digest(patient)),
                category,
                content_type,
                payload,
            });
        }
        let out = out_ptr(out_record_ids, "out_record_ids")?;
        let ids = ledger.inner.append_batch(&author.inner, &batch)?;
        let bytes: Vec<u8> = ids.iter().flat_map(|id| *id.as_bytes()).collect();
        if bytes.len() != records.len().saturating_mul(32) {
            return Err(crate::Error::System("batch produced a wrong number of ids".into()).into());
        }
        // SAFETY: `records_len * 32` writable bytes per the contract, and
        // `bytes` has exactly that length (checked).
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), out.as_ptr(), bytes.len()) };
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
/// when it is not the latest version, when `author` did not write it, or
/// when it no longer holds a consent with `MEDLEDGER_ACTION_AMEND` for the
/// patient. Thread-safe.
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

/// Decrypts the committed record `record_id` (32 bytes) for `reader`,
/// stating why: `purpose` is an HL7 v3 PurposeOfUse code, one of `"TREAT"`
/// (treatment), `"ETREAT"` (emergency treatment), `"HPAYMT"` (payment),
/// `"HOPERAT"` (operations), `"HRESCH"` (research), `"PATRQT"` (the patient
/// reading their own record), `"PUBHLTH"` (public health), `"BTG"` (break
/// the glass); case-sensitive.
///
/// The patient, their guardians and the record's author may read it for
/// any purpose; anyone else needs an active consent from the patient for
/// this purpose (`medledger_ledger_grant`), or, for `"ETREAT"`/`"BTG"`, an
/// active break-glass declaration (`medledger_ledger_break_glass`) on a node
/// holding its custodian key.
///
/// Every attempt, permitted or denied, is recorded in the patient's access
/// log (`medledger_ledger_access_log_json`) by a transaction of `reader`.
/// Plaintext is released only once that record is committed: with
/// validator keys attached (`medledger_ledger_attach_validators`) the call
/// commits the pending block itself; without them it waits up to 30 s for
/// a block committed by another thread (`medledger_ledger_commit_block`),
/// then fails with `MEDLEDGER_ERR_SYSTEM`. A denied attempt is committed
/// with the next block.
///
/// On success `*out_plaintext` receives a buffer with the plaintext;
/// release it with `medledger_buffer_free` (which zeroizes it).
///
/// Changed with format version 2: the `purpose` parameter is new.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_INVALID_UTF8`;
/// `MEDLEDGER_ERR_INVALID_ARGUMENT` (an unknown purpose code);
/// a denial by the access rules, with its reason: `MEDLEDGER_ERR_NO_CONSENT`,
/// `MEDLEDGER_ERR_CONSENT_EXPIRED`, `MEDLEDGER_ERR_CONSENT_NOT_YET_VALID`,
/// `MEDLEDGER_ERR_WRONG_PURPOSE`, `MEDLEDGER_ERR_CONSENT_REVOKED`,
/// `MEDLEDGER_ERR_SUSPENDED`, `MEDLEDGER_ERR_ERASED` (3xx, never a partial
/// result); `MEDLEDGER_ERR_ACCESS_DENIED` for other refusals (`ledger` was
/// opened with `medledger_ledger_open_dir_read_only`; a break-glass read on
/// a node with no custodian key attached; a permitted reader holding no key
/// yet, see `medledger_ledger_share_keys`); `MEDLEDGER_ERR_REJECTED`
/// (`reader` is not registered); `MEDLEDGER_ERR_NOT_FOUND` when no committed
/// record has this id; `MEDLEDGER_ERR_TAMPERED` when the stored ciphertext
/// does not match the digest committed on the chain (modified on disk;
/// nothing is decrypted); `MEDLEDGER_ERR_DECRYPT` when decryption fails all
/// the same; `MEDLEDGER_ERR_SYSTEM` when the access record was not
/// committed in time. Thread-safe.
///
/// # Safety
///
/// Handles NULL or live; `record_id` NULL or 32 readable bytes; `purpose`
/// NULL or NUL-terminated; `out_plaintext` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_read_record(
    ledger: *const medledger_ledger,
    reader: *const medledger_keypair,
    record_id: *const u8,
    purpose: *const c_char,
    out_plaintext: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let reader = unsafe { try_ref(reader, "reader") }?;
        // SAFETY: as above.
        let id = unsafe { try_32(record_id, "record_id") }?;
        // SAFETY: as above.
        let purpose = unsafe { super::ledger_access::purpose_from_c(purpose, "purpose") }?;
        let out = out_ptr(out_plaintext, "out_plaintext")?;
        let record = ledger
            .inner
            .read_record(&reader.inner, &RecordId(Digest(id)), purpose)?;
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_buffer(out, record.plaintext) };
        Ok(())
    })
}

/// Reads many committed records for one purpose at once: as
/// `medledger_ledger_read_record` for each of the `record_ids_len` ids in
/// `record_ids` (32-byte ids packed back to back, at most
/// `MEDLEDGER_MAX_READ_RECORDS`, checked before anything is read), but
/// with one access-event transaction recording every attempt and at most
/// one commit for the lot (one signature, one `fsync`).
///
/// Each record is decided on its own, so the call succeeds as a whole
/// while single records may be refused. On success `*out_results`
/// receives a buffer (release it with `medledger_buffer_free`, which
/// zeroizes it) holding one entry per id, in order, back to back:
///
/// ```text
/// offset  size  field
///      0     4  status of this record, little-endian: MEDLEDGER_OK or the
///               error medledger_ledger_read_record would have returned
///               (310-316 for a denial by the access rules, recorded in the
///               access log; MEDLEDGER_ERR_NOT_FOUND for an id that names
///               no committed record, not recorded; ...)
///      4     8  length n of the data, little-endian
///     12     n  the plaintext when the status is MEDLEDGER_OK, otherwise
///               the error message (UTF-8, not NUL-terminated)
/// ```
///
/// `MEDLEDGER_READ_RESULT_HEADER_LEN` (12) is the size of the fixed part;
/// the next entry starts right after the data. Entries are not aligned:
/// read the integers with `memcpy`.
///
/// Errors (nothing is returned): `MEDLEDGER_ERR_NULL_POINTER` (including
/// `record_ids` with a count of 0); `MEDLEDGER_ERR_INVALID_UTF8`;
/// `MEDLEDGER_ERR_INVALID_ARGUMENT` (no ids, more than
/// `MEDLEDGER_MAX_READ_RECORDS`, an unknown purpose code);
/// `MEDLEDGER_ERR_ACCESS_DENIED` (`ledger` was opened read-only);
/// `MEDLEDGER_ERR_REJECTED` (`reader` is not registered);
/// `MEDLEDGER_ERR_SYSTEM` when the access record was not committed in time
/// (as `medledger_ledger_read_record`). Thread-safe.
///
/// # Safety
///
/// Handles NULL or live; `record_ids` NULL or `record_ids_len * 32`
/// readable bytes; `purpose` NULL or NUL-terminated; `out_results` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_read_records(
    ledger: *const medledger_ledger,
    reader: *const medledger_keypair,
    record_ids: *const u8,
    record_ids_len: usize,
    purpose: *const c_char,
    out_results: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let reader = unsafe { try_ref(reader, "reader") }?;
        // SAFETY: as above; the count is checked before anything is read.
        let ids = unsafe {
            super::ledger_access::ids_from_c(
                record_ids,
                record_ids_len,
                MEDLEDGER_MAX_READ_RECORDS,
                "record_ids",
                false,
            )
        }?;
        // SAFETY: as above.
        let purpose = unsafe { super::ledger_access::purpose_from_c(purpose, "purpose") }?;
        let out = out_ptr(out_results, "out_results")?;
        let results = ledger.inner.read_records(&reader.inner, &ids, purpose)?;
        // status and data of each entry: the plaintext, or the message.
        let entries: Vec<(u32, Zeroizing<Vec<u8>>)> = results
            .into_iter()
            .map(|r| match r {
                Ok(record) => (super::status::MEDLEDGER_OK, record.plaintext),
                Err(e) => {
                    let e = FfiError::from(e);
                    (e.status, Zeroizing::new(e.message.into_bytes()))
                }
            })
            .collect();
        // Allocated once at its final size, so no copy of a plaintext is
        // left behind in memory freed by a reallocation.
        let total = entries
            .iter()
            .map(|(_, data)| MEDLEDGER_READ_RESULT_HEADER_LEN + data.len())
            .sum();
        let mut bytes = Zeroizing::new(Vec::with_capacity(total));
        for (status, data) in &entries {
            bytes.extend_from_slice(&status.to_le_bytes());
            bytes.extend_from_slice(&u64::try_from(data.len()).unwrap_or(u64::MAX).to_le_bytes());
            bytes.extend_from_slice(data);
        }
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_buffer(out, bytes) };
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

/// Shared by the queries about one committed record: checks the
/// arguments, runs `query` and hands its bytes to C as a new buffer.
///
/// # Safety
///
/// `ledger` NULL or live; `record_id` NULL or 32 readable bytes; `out`
/// NULL or writable.
pub(crate) unsafe fn record_query(
    ledger: *const medledger_ledger,
    record_id: *const u8,
    out: *mut *mut medledger_buffer,
    out_name: &str,
    query: impl FnOnce(&Ledger, &RecordId) -> crate::Result<Vec<u8>>,
) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    let ledger = unsafe { try_ref(ledger, "ledger") }?;
    // SAFETY: as above.
    let id = RecordId(Digest(unsafe { try_32(record_id, "record_id") }?));
    let out = out_ptr(out, out_name)?;
    let bytes = query(&ledger.inner, &id)?;
    // SAFETY: `out` is writable per the contract.
    unsafe { write_buffer(out, Zeroizing::new(bytes)) };
    Ok(())
}

/// The public facts of the committed record version `record_id` (32
/// bytes), readable by anyone holding the ledger (no plaintext, no key):
/// on success `*out_json` receives a JSON object (UTF-8, not
/// NUL-terminated) `{"id", "patient", "author", "category",
/// "content_type", "version", "amends": hex or null, "superseded_by": hex
/// or null, "key_epoch", "ciphertext_len", "ciphertext_digest", "height",
/// "leaf", "erased"}` (ids and the digest in hex); release it with
/// `medledger_buffer_free`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_NOT_FOUND` (no
/// committed record with this id). Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `record_id` NULL or 32 readable bytes;
/// `out_json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_record_info_json(
    ledger: *const medledger_ledger,
    record_id: *const u8,
    out_json: *mut *mut medledger_buffer,
) -> medledger_status {
    // SAFETY: forwarded contract.
    guard(|| unsafe {
        record_query(ledger, record_id, out_json, "out_json", |l, id| {
            Ok(super::json::record_info(&l.record_info(id)?).into_bytes())
        })
    })
}

/// Every committed version of the record `record_id` (any of its versions,
/// 32 bytes), oldest first: on success `*out_ids` receives a buffer of
/// 32-byte record ids back to back (the first is the original record, the
/// last the latest committed amendment); release it with
/// `medledger_buffer_free`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_NOT_FOUND` (no
/// committed record with this id). Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `record_id` NULL or 32 readable bytes; `out_ids`
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_versions(
    ledger: *const medledger_ledger,
    record_id: *const u8,
    out_ids: *mut *mut medledger_buffer,
) -> medledger_status {
    // SAFETY: forwarded contract.
    guard(|| unsafe {
        record_query(ledger, record_id, out_ids, "out_ids", |l, id| {
            Ok(l.versions(id)?.iter().flat_map(|v| *v.as_bytes()).collect())
        })
    })
}

/// Checks a record ciphertext served by a peer or a storage backend
/// (`ciphertext_len` bytes, at most `MEDLEDGER_MAX_MESSAGE_LEN`) against
/// the committed record `record_id` (32 bytes): `MEDLEDGER_OK` when its
/// length and digest are those committed on the chain; nothing is
/// decrypted.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (longer than `MEDLEDGER_MAX_MESSAGE_LEN`, checked before reading);
/// `MEDLEDGER_ERR_NOT_FOUND` (no committed record with this id);
/// `MEDLEDGER_ERR_TAMPERED` (the bytes are not the committed ciphertext,
/// or the record was erased on the chain and should not be served at
/// all). Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `record_id` NULL or 32 readable bytes;
/// `ciphertext` NULL or `ciphertext_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_check_served(
    ledger: *const medledger_ledger,
    record_id: *const u8,
    ciphertext: *const u8,
    ciphertext_len: usize,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let id = RecordId(Digest(unsafe { try_32(record_id, "record_id") }?));
        // SAFETY: as above; the length is checked before the slice is made.
        let bytes = unsafe {
            try_slice(
                ciphertext,
                ciphertext_len,
                MEDLEDGER_MAX_MESSAGE_LEN,
                "ciphertext",
            )
        }?;
        ledger.inner.check_served(&id, bytes)?;
        Ok(())
    })
}
