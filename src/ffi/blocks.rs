//! Transactions and blocks by hand: submitting a transaction signed
//! elsewhere, proposing a block, sealing its header with a validator key
//! and committing it with the seals gathered; and the queries a validator
//! or client needs for that (a participant, the validator set, the head).

use zeroize::Zeroizing;

use super::boundary::{FfiError, FfiResult, guard, out_ptr, try_32, try_ref, try_slice, write_out};
use super::buffer::{medledger_buffer, write_buffer};
use super::json;
use super::keypair::medledger_keypair;
use super::ledger::medledger_ledger;
use super::status::medledger_status;
use super::{
    MEDLEDGER_HEADER_LEN, MEDLEDGER_MAX_MESSAGE_LEN, MEDLEDGER_MAX_SUBMIT_PAYLOADS,
    MEDLEDGER_SEAL_LEN,
};
use crate::codec::Reader;
use crate::crypto::hash::Digest;
use crate::crypto::sign::Signature;
use crate::log::block::{BlockHeader, Seal};
use crate::model::ParticipantId;
use crate::model::validators::MAX_VALIDATORS;

// ---- argument conversions -------------------------------------------------

/// An encoded block header (`MEDLEDGER_HEADER_LEN` bytes exactly; the
/// length is checked before anything is read).
///
/// # Safety
///
/// `p` is NULL or points to `len` readable bytes (when `len` is
/// `MEDLEDGER_HEADER_LEN`).
unsafe fn header_from_c(p: *const u8, len: usize) -> FfiResult<BlockHeader> {
    if !p.is_null() && len != MEDLEDGER_HEADER_LEN {
        return Err(FfiError::invalid(
            "header",
            format_args!("{len} bytes, not MEDLEDGER_HEADER_LEN ({MEDLEDGER_HEADER_LEN})"),
        ));
    }
    // SAFETY: forwarded contract; the length was checked.
    let bytes = unsafe { try_slice(p, len, MEDLEDGER_HEADER_LEN, "header") }?;
    Ok(BlockHeader::decode(&mut Reader::new(bytes))?)
}

/// `len` seals of `MEDLEDGER_SEAL_LEN` bytes each, packed back to back;
/// the count is checked against the most validators a set may have
/// before anything is read.
///
/// # Safety
///
/// `p` is NULL or points to `len * MEDLEDGER_SEAL_LEN` readable bytes
/// (when `len` is at most 256).
unsafe fn seals_from_c(p: *const u8, len: usize) -> FfiResult<Vec<Seal>> {
    if !p.is_null() && len > MAX_VALIDATORS {
        return Err(FfiError::invalid(
            "seals",
            format_args!("{len} seals exceed the limit of {MAX_VALIDATORS}"),
        ));
    }
    let max = MAX_VALIDATORS.saturating_mul(MEDLEDGER_SEAL_LEN);
    // SAFETY: forwarded contract; the count was checked (or `p` is NULL).
    let bytes = unsafe { try_slice(p, len.saturating_mul(MEDLEDGER_SEAL_LEN), max, "seals") }?;
    let mut r = Reader::new(bytes);
    let mut seals = Vec::with_capacity(len);
    for _ in 0..len {
        seals.push(Seal {
            validator: r.u16("seal.validator")?,
            signature: Signature(r.fixed("seal.signature")?),
        });
    }
    // The ledger takes them strictly ascending by index.
    seals.sort_by_key(|s| s.validator);
    Ok(seals)
}

/// A seal as the C API hands it out: validator index (`u16`,
/// little-endian, as the block encoding writes it) then the 64-byte
/// signature.
fn encode_seal(seal: &Seal) -> [u8; MEDLEDGER_SEAL_LEN] {
    let mut out = [0u8; MEDLEDGER_SEAL_LEN];
    let (index, signature) = out.split_at_mut(2);
    index.copy_from_slice(&seal.validator.to_le_bytes());
    signature.copy_from_slice(&seal.signature.0);
    out
}

/// The ciphertexts of `submit`: `len` pointers and as many lengths, each
/// checked before it is read.
///
/// # Safety
///
/// `ptrs` and `lens` are NULL or point to `len` readable items (when `len`
/// is within the limit); each pointer is NULL or points to its length of
/// readable bytes (when within the limit).
unsafe fn payloads_from_c(
    ptrs: *const *const u8,
    lens: *const usize,
    len: usize,
) -> FfiResult<Vec<Vec<u8>>> {
    // SAFETY: forwarded contract.
    let ptrs = unsafe { try_slice(ptrs, len, MEDLEDGER_MAX_SUBMIT_PAYLOADS, "payloads") }?;
    // SAFETY: as above.
    let lens = unsafe { try_slice(lens, len, MEDLEDGER_MAX_SUBMIT_PAYLOADS, "payload_lens") }?;
    ptrs.iter()
        .zip(lens)
        .enumerate()
        .map(|(i, (p, n))| {
            // SAFETY: forwarded contract: each element is NULL or readable.
            let bytes =
                unsafe { try_slice(*p, *n, MEDLEDGER_MAX_MESSAGE_LEN, &format!("payloads[{i}]")) }?;
            Ok(bytes.to_vec())
        })
        .collect()
}

/// The body of a JSON query about the ledger: checks the arguments, runs
/// `query` and hands its text to C as a new buffer `*out_json`.
///
/// # Safety
///
/// `ledger` NULL or live; `out_json` NULL or writable.
unsafe fn ledger_json(
    ledger: *const medledger_ledger,
    out_json: *mut *mut medledger_buffer,
    query: impl FnOnce(&crate::Ledger) -> crate::Result<String>,
) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    let ledger = unsafe { try_ref(ledger, "ledger") }?;
    let out = out_ptr(out_json, "out_json")?;
    let text = query(&ledger.inner)?;
    // SAFETY: `out` is writable per the contract.
    unsafe { write_buffer(out, Zeroizing::new(text.into_bytes())) };
    Ok(())
}

// ---- submitting ---------------------------------------------------------------

/// Submits a transaction built and signed elsewhere (another process, a
/// device holding the author's key): `tx` is the encoded signed
/// transaction (`tx_len` bytes, as `medledger_ledger_transaction` returns
/// one), and `payloads` / `payload_lens` are `payloads_len` record
/// ciphertexts (pointers and lengths, at most
/// `MEDLEDGER_MAX_SUBMIT_PAYLOADS`, each at most
/// `MEDLEDGER_MAX_MESSAGE_LEN` bytes), matched to the transaction's
/// records by digest; a transaction without records takes none (any
/// non-NULL pointers, length 0). The transaction is checked like one this
/// ledger built (decoding, strict signature under the author's registered
/// key, every rule) and becomes pending; on success `*out_leaf` receives
/// the log index it will occupy. It takes effect when a block holding it
/// is committed.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER` (including an element of
/// `payloads`); `MEDLEDGER_ERR_INVALID_ARGUMENT` (a length over its
/// limit, checked before reading); `MEDLEDGER_ERR_MALFORMED` (bytes that
/// do not decode), `MEDLEDGER_ERR_UNSUPPORTED_VERSION` /
/// `_UNSUPPORTED_KIND`; `MEDLEDGER_ERR_BAD_SIGNATURE`;
/// `MEDLEDGER_ERR_REJECTED` (a rule refuses it: a transaction already in
/// the log (a replay), an unknown author, a ciphertext missing or of the
/// wrong length, ...); `MEDLEDGER_ERR_ACCESS_DENIED` (read-only ledger).
/// Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `tx` NULL or `tx_len` readable bytes; `payloads`
/// and `payload_lens` NULL or `payloads_len` readable items, each payload
/// pointer NULL or its length of readable bytes; `out_leaf` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_submit(
    ledger: *const medledger_ledger,
    tx: *const u8,
    tx_len: usize,
    payloads: *const *const u8,
    payload_lens: *const usize,
    payloads_len: usize,
    out_leaf: *mut u64,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let tx = unsafe { try_slice(tx, tx_len, MEDLEDGER_MAX_MESSAGE_LEN, "tx") }?;
        // SAFETY: as above.
        let payloads = unsafe { payloads_from_c(payloads, payload_lens, payloads_len) }?;
        let out = out_ptr(out_leaf, "out_leaf")?;
        let leaf = ledger.inner.submit(tx, &payloads)?;
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_out(out, leaf) };
        Ok(())
    })
}

// ---- blocks by hand -----------------------------------------------------------

/// Proposes the next block: the header over every pending transaction
/// (possibly none), encoded (`MEDLEDGER_HEADER_LEN` bytes, layout in
/// docs/FORMAT.md), written to a new buffer `*out_header`. Validators
/// seal it (`medledger_seal_header`) and `medledger_ledger_commit` commits
/// it with their seals. Transactions submitted after the proposal stay
/// pending for the next block; a commit in between makes the proposal
/// stale (`medledger_ledger_commit` refuses it).
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_SYSTEM`.
/// Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `out_header` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_propose(
    ledger: *const medledger_ledger,
    out_header: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        let out = out_ptr(out_header, "out_header")?;
        let header = ledger.inner.propose()?;
        // SAFETY: `out` is writable per the contract.
        unsafe { write_buffer(out, Zeroizing::new(header.encode())) };
        Ok(())
    })
}

/// Seals an encoded block header (`header_len` must be
/// `MEDLEDGER_HEADER_LEN`; from `medledger_ledger_propose`, possibly at
/// another node) as the validator at `validator_index` of the validator
/// set in force (its position in the `members` of
/// `medledger_ledger_validators_json`), signing with `keypair`: writes the
/// `MEDLEDGER_SEAL_LEN`-byte seal (index `u16` little-endian, then the
/// Ed25519 signature) to `out_seal`. Offline: no ledger, nothing checked
/// against a set; a seal by the wrong key or index fails at commit.
///
/// A validator must never seal two different headers at one height (that
/// is equivocation, docs/FORMAT.md §11.4): a node keeps a vote log for
/// that (`medledger_node_set_vote_log`); a caller sealing by hand must
/// keep its own.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (`header_len`, checked before reading; `validator_index` above 65535);
/// `MEDLEDGER_ERR_UNSUPPORTED_VERSION` (a header of another format
/// version). Thread-safe.
///
/// # Safety
///
/// `header` NULL or `header_len` readable bytes; `keypair` NULL or live;
/// `out_seal` NULL or `MEDLEDGER_SEAL_LEN` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_seal_header(
    header: *const u8,
    header_len: usize,
    keypair: *const medledger_keypair,
    validator_index: u32,
    out_seal: *mut u8,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let header = unsafe { header_from_c(header, header_len) }?;
        // SAFETY: as above.
        let keypair = unsafe { try_ref(keypair, "keypair") }?;
        let index = u16::try_from(validator_index).map_err(|_| {
            FfiError::invalid(
                "validator_index",
                format_args!("{validator_index} is above 65535"),
            )
        })?;
        let out = out_ptr(out_seal, "out_seal")?;
        let seal = encode_seal(&header.seal(index, keypair.inner.signing_key()));
        // SAFETY: `MEDLEDGER_SEAL_LEN` writable bytes per the contract; a
        // byte array needs no alignment.
        unsafe { write_out(out.cast::<[u8; MEDLEDGER_SEAL_LEN]>(), seal) };
        Ok(())
    })
}

/// Commits the proposed block `header` (`header_len` must be
/// `MEDLEDGER_HEADER_LEN`, from `medledger_ledger_propose` on this ledger)
/// with `seals_len` seals packed back to back in `seals`
/// (`seals_len * MEDLEDGER_SEAL_LEN` bytes, from `medledger_seal_header`;
/// at most 256, in any order). The seals must reach the threshold of the
/// validator set in force, each by a distinct member over this header.
/// Returns once the block is durable.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (`header_len` or `seals_len`, checked before reading; a header that
/// does not extend this ledger's head: stale, modified, another
/// ledger's; a seal that does not verify over this header with the key of
/// its index, an index outside the set or given twice);
/// `MEDLEDGER_ERR_UNSUPPORTED_VERSION`; `MEDLEDGER_ERR_MISSING_QUORUM`
/// (valid seals, fewer than the threshold); `MEDLEDGER_ERR_ACCESS_DENIED`
/// (read-only ledger). Nothing is committed on failure. Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `header` NULL or `header_len` readable bytes;
/// `seals` NULL or `seals_len * MEDLEDGER_SEAL_LEN` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_commit(
    ledger: *const medledger_ledger,
    header: *const u8,
    header_len: usize,
    seals: *const u8,
    seals_len: usize,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let header = unsafe { header_from_c(header, header_len) }?;
        // SAFETY: as above.
        let seals = unsafe { seals_from_c(seals, seals_len) }?;
        ledger.inner.commit(&header, seals)?;
        Ok(())
    })
}

// ---- queries ---------------------------------------------------------------------

/// The registered participant `participant_id` as a JSON object written
/// to a new buffer `*out_json` (UTF-8, not NUL-terminated):
///
/// ```text
/// {"id": hex, "roles": MEDLEDGER_ROLE_* bits, "label": "...",
///  "sign_key": hex Ed25519 public key, "enc_key": hex X25519 public key,
///  "escrow_opt_out": bool}
/// ```
///
/// Keys are the current ones (after `medledger_ledger_rotate_keys`). Like
/// every rule check, this sees accepted transactions at once: a
/// participant registered by a pending transaction is found.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_NOT_FOUND` (not
/// registered). Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `participant_id` NULL or 32 readable bytes;
/// `out_json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_participant_json(
    ledger: *const medledger_ledger,
    participant_id: *const u8,
    out_json: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let id = ParticipantId(Digest(unsafe { try_32(participant_id, "participant_id") }?));
        // SAFETY: as above.
        unsafe {
            ledger_json(ledger, out_json, |l| {
                Ok(json::participant(&l.participant(&id)?))
            })
        }
    })
}

/// The validator set that must seal the next block, as a JSON object
/// written to a new buffer `*out_json`:
///
/// ```text
/// {"threshold": n, "members": [{"id": hex, "key": hex Ed25519 key}, ...],
///  "hash": hex}
/// ```
///
/// `members` are in index order (the `validator_index` of
/// `medledger_seal_header`); `hash` is what headers commit to
/// (`medledger_validator_set_hash`).
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_SYSTEM`.
/// Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `out_json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_validators_json(
    ledger: *const medledger_ledger,
    out_json: *mut *mut medledger_buffer,
) -> medledger_status {
    // SAFETY: forwarded contract.
    guard(|| unsafe { ledger_json(ledger, out_json, |l| Ok(json::validators(&l.validators()?))) })
}

/// The header of the last committed block as a JSON object written to a
/// new buffer `*out_json`:
///
/// ```text
/// {"ledger_id": hex, "height": n, "prev_hash": hex, "timestamp": ms,
///  "first_leaf": n, "tx_count": n, "log_size": n, "log_root": hex,
///  "validator_set_hash": hex, "hash": hex header hash}
/// ```
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_SYSTEM`.
/// Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `out_json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_head_json(
    ledger: *const medledger_ledger,
    out_json: *mut *mut medledger_buffer,
) -> medledger_status {
    // SAFETY: forwarded contract.
    guard(|| unsafe { ledger_json(ledger, out_json, |l| Ok(json::header(&l.head()?))) })
}
