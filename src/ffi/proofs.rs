//! Evidence a third party checks without the ledger, from C: evidence
//! bundles (docs/FORMAT.md §9), signed checkpoints (§10), log roots and
//! consistency proofs between them (§2.4).

use std::ffi::c_char;
use std::ptr::NonNull;

use serde_json::json;
use zeroize::Zeroizing;

use super::boundary::{
    FfiError, FfiResult, guard, out_ptr, try_32, try_ref, try_slice, try_str, write_32, write_out,
};
use super::buffer::{medledger_buffer, write_buffer};
use super::keypair::medledger_keypair;
use super::ledger::{medledger_ledger, record_query};
use super::status::{MEDLEDGER_ERR_INVALID_UTF8, MEDLEDGER_ERR_MALFORMED, medledger_status};
use super::{
    MEDLEDGER_MAX_EVIDENCE_LEN, MEDLEDGER_MAX_MESSAGE_LEN, MEDLEDGER_MAX_NOTE_LEN,
    MEDLEDGER_MAX_NOTE_VERIFIERS, MEDLEDGER_MAX_PROOF_LEN, MEDLEDGER_MAX_TEXT_LEN,
};
use crate::crypto::hash::{DIGEST_LEN, Digest};
use crate::model::{LedgerId, RecordId};
use crate::proof::checkpoint::{NoteVerifier, open_note, verify_note};
use crate::proof::evidence::Bundle;
use crate::proof::{ConsistencyProof, EvidenceTarget, InclusionProof};

/// Exports the evidence bundle of the committed record `record_id`: the
/// transaction holding it, its inclusion proof, the sealed header, and the
/// validator-set and author-key history from genesis needed to check them
/// offline (docs/FORMAT.md §9). With `include_ciphertext` the record's
/// ciphertext is included (checked against its on-chain digest by the
/// verifier; still encrypted). On success `*out_bundle` receives a new
/// buffer; release it with `medledger_buffer_free`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_NOT_FOUND` (no
/// committed record with this id, or its ciphertext was erased and
/// `include_ciphertext` is set). Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `record_id` NULL or 32 readable bytes;
/// `out_bundle` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_evidence(
    ledger: *const medledger_ledger,
    record_id: *const u8,
    include_ciphertext: bool,
    out_bundle: *mut *mut medledger_buffer,
) -> medledger_status {
    // SAFETY: forwarded contract.
    guard(|| unsafe {
        record_query(ledger, record_id, out_bundle, "out_bundle", |l, id| {
            l.evidence(EvidenceTarget::Record(*id), include_ciphertext)
        })
    })
}

/// Verifies an evidence bundle offline (no ledger needed): genesis and
/// ledger id, the validator-set changes, the seals of every header
/// involved, the inclusion proof, the author's signature under the key
/// valid at the time, and the ciphertext digest when present. With
/// `ledger_id` non-NULL the bundle must be for that ledger (otherwise
/// anyone can build a valid bundle for a ledger of their own).
///
/// On success `*out_json` receives a JSON object (UTF-8, not
/// NUL-terminated) describing what was proved: `{"ledger_id", "leaf",
/// "kind", "author", "timestamp", "records": [hex], "height",
/// "header_hash", "block_timestamp", "seals", "validator_set_hash",
/// "validator_changes", "ciphertext_of": hex record id or null}`; release
/// it with `medledger_buffer_free`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (longer than `MEDLEDGER_MAX_EVIDENCE_LEN`); a 1xx status for bytes that
/// do not decode as a bundle (`MEDLEDGER_ERR_MALFORMED`, ...);
/// `MEDLEDGER_ERR_BAD_PROOF` for a bundle that decodes but does not verify.
/// The last error names the part and field that failed. Thread-safe.
///
/// # Safety
///
/// `bundle` NULL or `bundle_len` readable bytes; `ledger_id` NULL or 32
/// readable bytes; `out_json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_evidence_verify(
    bundle: *const u8,
    bundle_len: usize,
    ledger_id: *const u8,
    out_json: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let bytes = unsafe { try_slice(bundle, bundle_len, MEDLEDGER_MAX_EVIDENCE_LEN, "bundle") }?;
        let expected = if ledger_id.is_null() {
            None
        } else {
            // SAFETY: non-NULL, so 32 readable bytes per the contract.
            Some(LedgerId(Digest(unsafe { try_32(ledger_id, "ledger_id") }?)))
        };
        let out = out_ptr(out_json, "out_json")?;
        let report = match expected {
            Some(id) => crate::proof::evidence::verify_for_ledger(bytes, &id)?,
            None => crate::proof::evidence::verify(bytes)?,
        };
        let doc = json!({
            "ledger_id": report.ledger_id.to_hex(),
            "leaf": report.leaf,
            "kind": format!("{:?}", report.kind),
            "author": report.author.to_hex(),
            "timestamp": report.timestamp,
            "records": report.records.iter().map(|r| r.to_hex()).collect::<Vec<_>>(),
            "height": report.height,
            "header_hash": report.header_hash.to_hex(),
            "block_timestamp": report.block_timestamp,
            "seals": report.seals,
            "validator_set_hash": report.validator_set_hash.to_hex(),
            "validator_changes": report.validator_changes,
            "ciphertext_of": report.ciphertext_of.map(|r| r.to_hex()),
        });
        // SAFETY: `out` is writable per the contract.
        unsafe { write_buffer(out, Zeroizing::new(doc.to_string().into_bytes())) };
        Ok(())
    })
}

/// The current sealed head as a C2SP tlog-checkpoint in signed-note form
/// (docs/FORMAT.md §10), signed by `signer` (a validator of this ledger)
/// under the key name `key_name` (e.g. the origin,
/// `medledger.example/<ledger id hex>`). On success `*out_note` receives
/// the note text (UTF-8, not NUL-terminated); release it with
/// `medledger_buffer_free`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (a key name that is not a valid note key name),
/// `MEDLEDGER_ERR_ACCESS_DENIED` (`signer` not in the validator set).
/// Thread-safe.
///
/// # Safety
///
/// Handles NULL or live; `key_name` NULL or NUL-terminated; `out_note`
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_checkpoint(
    ledger: *const medledger_ledger,
    signer: *const medledger_keypair,
    key_name: *const c_char,
    out_note: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let signer = unsafe { try_ref(signer, "signer") }?;
        // SAFETY: as above.
        let name = unsafe { try_str(key_name, MEDLEDGER_MAX_TEXT_LEN, "key_name") }?;
        let out = out_ptr(out_note, "out_note")?;
        let note = ledger.inner.checkpoint(&signer.inner, name)?;
        // SAFETY: `out` is writable per the contract.
        unsafe { write_buffer(out, Zeroizing::new(note.into_bytes())) };
        Ok(())
    })
}

/// Writes the size of the committed log (the number of transactions in
/// committed blocks, genesis included: the `log_size` of the head block)
/// to `*out_size`. Every committed block's log size is a size the
/// consistency proofs of `medledger_ledger_consistency_proof` are between.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_SYSTEM`.
/// Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `out_size` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_log_size(
    ledger: *const medledger_ledger,
    out_size: *mut u64,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        let out = out_ptr(out_size, "out_size")?;
        let size = ledger.inner.head()?.log_size;
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_out(out, size) };
        Ok(())
    })
}

/// Writes the 32-byte Merkle root (RFC 9162, SHA3-256) of the first `size`
/// transactions of the committed log to `out_root`. For the log size of a
/// committed block it is the `log_root` its sealed header signs (and the
/// root a C2SP checkpoint of that block states).
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (`size` beyond the committed log). Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `out_root` NULL or 32 writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_log_root(
    ledger: *const medledger_ledger,
    size: u64,
    out_root: *mut u8,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        let out = out_ptr(out_root, "out_root")?;
        let root = ledger.inner.log_root_at(size)?;
        // SAFETY: 32 writable bytes per the contract.
        unsafe { write_32(out, &root.0) };
        Ok(())
    })
}

/// The RFC 9162 consistency proof that the log of `size1` transactions is
/// a prefix of the log of `size2` (`0 < size1 <= size2`, both the log size
/// of a committed block, so both roots are signed by sealed headers): on
/// success `*out_proof` receives a buffer of the proof's hashes, 32 bytes
/// each, back to back (empty when the sizes are equal; at most
/// `MEDLEDGER_MAX_PROOF_LEN` bytes); release it with
/// `medledger_buffer_free`. Check it with `medledger_verify_consistency`
/// against the two roots (`medledger_ledger_log_root`, or those of sealed
/// headers or checkpoints the verifier already trusts).
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (a size of 0, beyond the committed log, or not the log size of a
/// committed block; `size1 > size2`). Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `out_proof` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_consistency_proof(
    ledger: *const medledger_ledger,
    size1: u64,
    size2: u64,
    out_proof: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        let out = out_ptr(out_proof, "out_proof")?;
        let proof = ledger.inner.consistency_proof(size1, size2)?;
        // SAFETY: `out` is writable per the contract.
        unsafe { write_hashes(out, &proof.hashes) };
        Ok(())
    })
}

/// Checks offline (no ledger needed) that `root1`, the root of a log of
/// `size1` transactions, and `root2`, of `size2`, are roots of one
/// append-only log, with the consistency proof `proof` (`proof_len` bytes:
/// hashes of 32 bytes back to back, as `medledger_ledger_consistency_proof`
/// returns them). `MEDLEDGER_OK` means the log of `size1` is a prefix of the
/// log of `size2`: nothing was changed or removed in between.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER` (`proof` too, even when
/// `proof_len` is 0); `MEDLEDGER_ERR_INVALID_ARGUMENT` (longer than
/// `MEDLEDGER_MAX_PROOF_LEN`, checked before the proof is read);
/// `MEDLEDGER_ERR_MALFORMED` (a length that is not a multiple of 32);
/// `MEDLEDGER_ERR_BAD_PROOF` (the proof does not verify: wrong roots,
/// sizes or hashes, `size1` of 0 or above `size2`). Thread-safe.
///
/// # Safety
///
/// `root1`, `root2` NULL or 32 readable bytes; `proof` NULL or `proof_len`
/// readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_verify_consistency(
    size1: u64,
    size2: u64,
    root1: *const u8,
    root2: *const u8,
    proof: *const u8,
    proof_len: usize,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let root1 = Digest(unsafe { try_32(root1, "root1") }?);
        // SAFETY: as above.
        let root2 = Digest(unsafe { try_32(root2, "root2") }?);
        // SAFETY: as above.
        let hashes = unsafe { hashes_from_c(proof, proof_len) }?;
        let proof = ConsistencyProof {
            size1,
            size2,
            hashes,
        };
        proof.verify(&root1, &root2)?;
        Ok(())
    })
}

/// Hands C the hashes of a proof, 32 bytes each back to back, as a new
/// buffer written to `*out`.
///
/// # Safety
///
/// `out` is writable (from `out_ptr` on a pointer the caller promised is).
unsafe fn write_hashes(out: NonNull<*mut medledger_buffer>, hashes: &[Digest]) {
    let bytes = hashes.iter().flat_map(|h| h.0).collect();
    // SAFETY: per this function's contract.
    unsafe { write_buffer(out, Zeroizing::new(bytes)) };
}

/// The hashes of a proof from C: `proof_len` bytes (at most
/// `MEDLEDGER_MAX_PROOF_LEN`, checked before reading), a multiple of 32
/// (`MEDLEDGER_ERR_MALFORMED` otherwise).
///
/// # Safety
///
/// `proof` NULL or `proof_len` readable bytes.
unsafe fn hashes_from_c(proof: *const u8, proof_len: usize) -> FfiResult<Vec<Digest>> {
    // SAFETY: forwarded contract; the length is checked before the slice
    // is made.
    let bytes = unsafe { try_slice(proof, proof_len, MEDLEDGER_MAX_PROOF_LEN, "proof") }?;
    let chunks = bytes.chunks_exact(DIGEST_LEN);
    if !chunks.remainder().is_empty() {
        return Err(FfiError {
            status: MEDLEDGER_ERR_MALFORMED,
            message: format!(
                "malformed proof: {proof_len} bytes is not a multiple of {DIGEST_LEN}"
            ),
        });
    }
    Ok(chunks
        .map(|c| {
            let mut h = [0u8; DIGEST_LEN];
            h.copy_from_slice(c);
            Digest(h)
        })
        .collect())
}

/// The RFC 9162 inclusion proof of the committed transaction at log index
/// `leaf` in the log of `size` transactions, where `size` is the log size
/// of a committed block (so its root, `medledger_ledger_log_root`, is
/// signed by a sealed header) and `leaf < size`: on success `*out_proof`
/// receives a buffer of the proof's hashes, 32 bytes each, back to back
/// (at most 64 of them); release it with `medledger_buffer_free`. Check it
/// with `medledger_verify_inclusion` against the transaction's bytes
/// (`medledger_ledger_transaction`) and the root.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (a size of 0, beyond the committed log or not the log size of a
/// committed block; `leaf >= size`). Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `out_proof` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_inclusion_proof(
    ledger: *const medledger_ledger,
    leaf: u64,
    size: u64,
    out_proof: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        let out = out_ptr(out_proof, "out_proof")?;
        let proof = ledger.inner.inclusion_proof(leaf, size)?;
        // SAFETY: `out` is writable per the contract.
        unsafe { write_hashes(out, &proof.hashes) };
        Ok(())
    })
}

/// The inclusion proof of the transaction holding the committed record
/// `record_id` (32 bytes) against the current head: on success its log
/// index goes to `*out_leaf`, the head's log size to `*out_size` (its root
/// is `medledger_ledger_log_root(ledger, size)`), and `*out_proof` receives
/// the proof's hashes as `medledger_ledger_inclusion_proof` returns them.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_NOT_FOUND` (no
/// committed record with this id). Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `record_id` NULL or 32 readable bytes; the out
/// pointers NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_record_inclusion(
    ledger: *const medledger_ledger,
    record_id: *const u8,
    out_leaf: *mut u64,
    out_size: *mut u64,
    out_proof: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let id = RecordId(Digest(unsafe { try_32(record_id, "record_id") }?));
        let out_leaf = out_ptr(out_leaf, "out_leaf")?;
        let out_size = out_ptr(out_size, "out_size")?;
        let out_proof = out_ptr(out_proof, "out_proof")?;
        let proof = ledger.inner.record_inclusion(&id)?;
        // SAFETY: the out pointers are non-NULL and writable per the
        // contract.
        unsafe {
            write_out(out_leaf, proof.leaf);
            write_out(out_size, proof.size);
            write_hashes(out_proof, &proof.hashes);
        }
        Ok(())
    })
}

/// The encoded signed transaction at log index `leaf` of the committed
/// log (`0 < leaf < medledger_ledger_log_size`): the bytes an inclusion
/// proof proves (their RFC 9162 leaf hash is the Merkle leaf). On success
/// `*out_tx` receives them; release the buffer with
/// `medledger_buffer_free`. The genesis transaction (leaf 0) is in block 0
/// (`medledger_ledger_export_block`).
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (leaf 0); `MEDLEDGER_ERR_NOT_FOUND` (beyond the committed log).
/// Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `out_tx` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_transaction(
    ledger: *const medledger_ledger,
    leaf: u64,
    out_tx: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        let out = out_ptr(out_tx, "out_tx")?;
        // The evidence bundle of the leaf holds its transaction.
        let bundle = ledger.inner.evidence(EvidenceTarget::Leaf(leaf), false)?;
        let tx = Bundle::decode(&bundle)?.target.tx;
        // SAFETY: `out` is writable per the contract.
        unsafe { write_buffer(out, Zeroizing::new(tx)) };
        Ok(())
    })
}

/// Checks offline (no ledger needed) that `tx` (`tx_len` bytes, an encoded
/// signed transaction as `medledger_ledger_transaction` returns it) is the
/// transaction at index `leaf` of the log of `size` transactions whose
/// Merkle root is `root` (32 bytes: the `log_root` of a sealed header, a
/// checkpoint's root, or `medledger_ledger_log_root`), with the inclusion
/// proof `proof` (`proof_len` bytes: hashes of 32 bytes back to back).
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER` (`proof` too, even when
/// `proof_len` is 0); `MEDLEDGER_ERR_INVALID_ARGUMENT` (`tx` longer than
/// `MEDLEDGER_MAX_MESSAGE_LEN` or `proof` longer than
/// `MEDLEDGER_MAX_PROOF_LEN`, checked before reading);
/// `MEDLEDGER_ERR_MALFORMED` (a proof length that is not a multiple of
/// 32); `MEDLEDGER_ERR_BAD_PROOF` (the proof does not verify: other bytes,
/// leaf, size, root or hashes; `leaf >= size`). Thread-safe.
///
/// # Safety
///
/// `root` NULL or 32 readable bytes; `tx` NULL or `tx_len` readable bytes;
/// `proof` NULL or `proof_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_verify_inclusion(
    leaf: u64,
    size: u64,
    root: *const u8,
    tx: *const u8,
    tx_len: usize,
    proof: *const u8,
    proof_len: usize,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let root = Digest(unsafe { try_32(root, "root") }?);
        // SAFETY: as above; the length is checked before the slice is made.
        let tx = unsafe { try_slice(tx, tx_len, MEDLEDGER_MAX_MESSAGE_LEN, "tx") }?;
        // SAFETY: as above.
        let hashes = unsafe { hashes_from_c(proof, proof_len) }?;
        let proof = InclusionProof { leaf, size, hashes };
        proof.verify(tx, &root)?;
        Ok(())
    })
}

/// A checkpoint note from C: `note_len` bytes (at most
/// `MEDLEDGER_MAX_NOTE_LEN`, checked before reading) of UTF-8.
///
/// # Safety
///
/// `note` NULL or `note_len` readable bytes.
unsafe fn note_from_c<'a>(note: *const u8, note_len: usize) -> FfiResult<&'a str> {
    // SAFETY: forwarded contract; the length is checked before the slice
    // is made.
    let bytes = unsafe { try_slice(note, note_len, MEDLEDGER_MAX_NOTE_LEN, "note") }?;
    core::str::from_utf8(bytes).map_err(|e| FfiError {
        status: MEDLEDGER_ERR_INVALID_UTF8,
        message: format!("note is not valid UTF-8 (at byte {})", e.valid_up_to()),
    })
}

/// A key a checkpoint note is checked against: a note signer (the log: a
/// validator signing `medledger_ledger_checkpoint`) or a witness's
/// cosignature key (C2SP tlog-cosignature, cosignature/v1), by its key
/// name and Ed25519 public key. Borrowed for the duration of the call.
#[repr(C)]
pub struct medledger_note_key {
    /// NUL-terminated key name (no white space, no `+`), e.g. the origin
    /// the log signed under or a witness's name.
    pub name: *const c_char,
    /// The 32-byte Ed25519 public signing key (from
    /// `medledger_keypair_public_keys`).
    pub public_key: *const u8,
    /// False for a note signer, true for a witness's cosignatures.
    pub cosigner: bool,
}

/// A note verifier from C.
///
/// # Safety
///
/// `key`'s pointers are NULL or valid (a NUL-terminated name, 32 bytes).
unsafe fn note_verifier_from_c(key: &medledger_note_key, arg: &str) -> FfiResult<NoteVerifier> {
    // SAFETY: forwarded contract.
    let name = unsafe { try_str(key.name, MEDLEDGER_MAX_TEXT_LEN, &format!("{arg}.name")) }?;
    // SAFETY: as above.
    let public = unsafe { try_32(key.public_key, &format!("{arg}.public_key")) }?;
    Ok(if key.cosigner {
        NoteVerifier::cosigner(name, &public)?
    } else {
        NoteVerifier::new(name, &public)?
    })
}

/// A witness cosigns a checkpoint note (C2SP tlog-cosignature,
/// cosignature/v1): the note (`note_len` bytes of UTF-8, at most
/// `MEDLEDGER_MAX_NOTE_LEN`, e.g. from `medledger_ledger_checkpoint`) is
/// first verified against the log's key `log_key` (a note signer:
/// `cosigner` false), then `witness` signs its checkpoint under the key
/// name `witness_name` at `timestamp` (seconds since the Unix epoch, at
/// most 2^63 - 1). On success `*out_note` receives the note with the
/// cosignature line appended (UTF-8, not NUL-terminated); release it with
/// `medledger_buffer_free`. A witness should also check that the
/// checkpoint is consistent with the last one it cosigned
/// (`medledger_ledger_consistency_proof`, `medledger_verify_consistency`).
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER` (including inside `log_key`);
/// `MEDLEDGER_ERR_INVALID_UTF8`; `MEDLEDGER_ERR_INVALID_ARGUMENT` (a note
/// longer than the limit, a malformed note, a key name that is empty or
/// holds white space or `+`, `log_key` a cosigner, a timestamp too large);
/// `MEDLEDGER_ERR_WEAK_KEY`; `MEDLEDGER_ERR_BAD_SIGNATURE` (the note holds
/// no signature by `log_key`, or it does not verify). Thread-safe.
///
/// # Safety
///
/// `note` NULL or `note_len` readable bytes; `log_key` NULL or a valid
/// key description; `witness` NULL or live; `witness_name` NULL or
/// NUL-terminated; `out_note` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_checkpoint_cosign(
    note: *const u8,
    note_len: usize,
    log_key: *const medledger_note_key,
    witness: *const medledger_keypair,
    witness_name: *const c_char,
    timestamp: u64,
    out_note: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let note = unsafe { note_from_c(note, note_len) }?;
        // SAFETY: as above.
        let log_key = unsafe { try_ref(log_key, "log_key") }?;
        // SAFETY: as above.
        let log = unsafe { note_verifier_from_c(log_key, "log_key") }?;
        if log.is_cosigner() {
            return Err(FfiError::invalid(
                "log_key",
                "a log signs its notes: not a cosigner key",
            ));
        }
        // SAFETY: as above.
        let witness = unsafe { try_ref(witness, "witness") }?;
        // SAFETY: as above.
        let name = unsafe { try_str(witness_name, MEDLEDGER_MAX_TEXT_LEN, "witness_name") }?;
        let out = out_ptr(out_note, "out_note")?;
        let checkpoint = verify_note(note, &[log])?;
        let line = checkpoint.cosign(name, witness.inner.signing_key(), timestamp)?;
        // SAFETY: `out` is writable per the contract.
        unsafe { write_buffer(out, Zeroizing::new(format!("{note}{line}").into_bytes())) };
        Ok(())
    })
}

/// Verifies a checkpoint note offline against known keys: `keys`, an
/// array of `keys_len` key descriptions (1 to
/// `MEDLEDGER_MAX_NOTE_VERIFIERS`: the log's and witnesses'). Signature
/// lines of unknown keys are ignored; a line of a known key must verify,
/// and at least one must. On success `*out_json` receives a JSON object
/// (UTF-8, not NUL-terminated) `{"origin", "size", "root": hex,
/// "signatures": [{"name", "key_id", "cosigner", "timestamp": seconds or
/// null}]}` listing the known keys that signed, in line order (a client
/// requiring a quorum of witnesses counts the cosigners); release it with
/// `medledger_buffer_free`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER` (including inside `keys`);
/// `MEDLEDGER_ERR_INVALID_UTF8`; `MEDLEDGER_ERR_INVALID_ARGUMENT` (no key,
/// too many, checked before reading; a bad key name; a malformed or too
/// long note); `MEDLEDGER_ERR_WEAK_KEY`; `MEDLEDGER_ERR_BAD_SIGNATURE` (no
/// signature by a known key, or a known key's signature does not verify).
/// Thread-safe.
///
/// # Safety
///
/// `note` NULL or `note_len` readable bytes; `keys` NULL or `keys_len`
/// key descriptions whose pointers are NULL or valid; `out_json` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_checkpoint_open(
    note: *const u8,
    note_len: usize,
    keys: *const medledger_note_key,
    keys_len: usize,
    out_json: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let note = unsafe { note_from_c(note, note_len) }?;
        // SAFETY: as above; the count is checked before anything is read.
        let keys = unsafe { try_slice(keys, keys_len, MEDLEDGER_MAX_NOTE_VERIFIERS, "keys") }?;
        if keys.is_empty() {
            return Err(FfiError::invalid("keys", "no key to verify with"));
        }
        let verifiers = keys
            .iter()
            .enumerate()
            // SAFETY: forwarded contract: each key's pointers are NULL or
            // valid.
            .map(|(i, k)| unsafe { note_verifier_from_c(k, &format!("keys[{i}]")) })
            .collect::<FfiResult<Vec<_>>>()?;
        let out = out_ptr(out_json, "out_json")?;
        let opened = open_note(note, &verifiers)?;
        let doc = json!({
            "origin": opened.checkpoint.origin,
            "size": opened.checkpoint.size,
            "root": opened.checkpoint.root.to_hex(),
            "signatures": opened.signatures.iter().map(|s| json!({
                "name": s.name,
                "key_id": s.key_id,
                "cosigner": s.timestamp.is_some(),
                "timestamp": s.timestamp,
            })).collect::<Vec<_>>(),
        });
        // SAFETY: `out` is writable per the contract.
        unsafe { write_buffer(out, Zeroizing::new(doc.to_string().into_bytes())) };
        Ok(())
    })
}
