//! `medledger_keypair`: a participant's secret keys.

use std::sync::Arc;

use zeroize::Zeroizing;

use super::boundary::{Handle, guard, out_ptr, try_ref, try_slice, write_32, write_out};
use super::buffer::{medledger_buffer, write_buffer};
use super::status::medledger_status;
use super::{MEDLEDGER_MAX_KEY_FILE_LEN, MEDLEDGER_MAX_PASSPHRASE_LEN};
use crate::Keypair;

/// A participant's secret keys (Ed25519 signing, X25519 encryption) and
/// their participant id. Secrets never leave it in clear; export them with
/// `medledger_keypair_export_encrypted`. Safe to use from several threads
/// at once (its cache of unwrapped category keys is locked internally).
/// Zeroized by `medledger_keypair_free`, unless a ledger still holds it
/// (`medledger_ledger_attach_validators`, `medledger_ledger_attach_custodian`):
/// then the secrets are zeroized when the last holder lets go.
pub struct medledger_keypair {
    /// Shared with the ledgers it is attached to.
    pub(crate) inner: Arc<Keypair>,
}

impl medledger_keypair {
    fn new(inner: Keypair) -> Self {
        medledger_keypair {
            inner: Arc::new(inner),
        }
    }
}

impl Handle for medledger_keypair {}

/// Generates fresh keys from the operating system's RNG.
///
/// On success `*out` receives a new keypair the caller owns and must
/// release with `medledger_keypair_free`. `*out` is written only on
/// success.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER` if `out` is NULL;
/// `MEDLEDGER_ERR_SYSTEM` if the RNG fails. Thread-safe.
///
/// # Safety
///
/// `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_keypair_generate(
    out: *mut *mut medledger_keypair,
) -> medledger_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        let kp = medledger_keypair::new(Keypair::generate());
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_out(out, kp.into_raw()) };
        Ok(())
    })
}

/// Generates fresh keys for the same participant as `keypair` (same id),
/// to install with `medledger_ledger_rotate_keys`. Keep the old keypair
/// until the rotation is committed and the patients have re-shared keys.
///
/// On success `*out` receives a new keypair the caller owns and must
/// release with `medledger_keypair_free`. `*out` is written only on
/// success.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_SYSTEM` if the RNG
/// fails. Thread-safe.
///
/// # Safety
///
/// `keypair` NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_keypair_rotated(
    keypair: *const medledger_keypair,
    out: *mut *mut medledger_keypair,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let keypair = unsafe { try_ref(keypair, "keypair") }?;
        let out = out_ptr(out, "out")?;
        let kp = medledger_keypair::new(keypair.inner.rotated());
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_out(out, kp.into_raw()) };
        Ok(())
    })
}

/// Exports `keypair`'s secret keys encrypted under a passphrase (Argon2id,
/// 19 MiB / 2 passes, then AES-256-GCM; docs/FORMAT.md §4.5). Takes tens of
/// milliseconds on purpose.
///
/// `passphrase` points to `passphrase_len` bytes (any bytes; UTF-8 is
/// recommended), at most `MEDLEDGER_MAX_PASSPHRASE_LEN`; for an empty
/// passphrase pass any non-NULL pointer and 0. On success `*out` receives a
/// buffer holding the key file; release it with `medledger_buffer_free`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER` (any pointer NULL),
/// `MEDLEDGER_ERR_INVALID_ARGUMENT` (passphrase too long),
/// `MEDLEDGER_ERR_SYSTEM`. Thread-safe.
///
/// # Safety
///
/// `keypair` is NULL or live; `passphrase` is NULL or points to
/// `passphrase_len` readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_keypair_export_encrypted(
    keypair: *const medledger_keypair,
    passphrase: *const u8,
    passphrase_len: usize,
    out: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: pointer contracts forwarded from this function's.
        let kp = unsafe { try_ref(keypair, "keypair") }?;
        // SAFETY: as above.
        let pass = unsafe {
            try_slice(
                passphrase,
                passphrase_len,
                MEDLEDGER_MAX_PASSPHRASE_LEN,
                "passphrase",
            )
        }?;
        let out = out_ptr(out, "out")?;
        let file = kp.inner.export_encrypted(pass)?;
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_buffer(out, Zeroizing::new(file)) };
        Ok(())
    })
}

/// Opens a key file written by `medledger_keypair_export_encrypted`.
///
/// `key_file` points to `key_file_len` bytes (at most
/// `MEDLEDGER_MAX_KEY_FILE_LEN`), `passphrase` to `passphrase_len` bytes
/// (at most `MEDLEDGER_MAX_PASSPHRASE_LEN`). On success `*out` receives a
/// new keypair the caller owns (`medledger_keypair_free`).
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (lengths, or KDF cost above the accepted limit),
/// `MEDLEDGER_ERR_MALFORMED` (not a key file),
/// `MEDLEDGER_ERR_UNSUPPORTED_VERSION`, `MEDLEDGER_ERR_WRONG_PASSPHRASE`
/// (wrong passphrase or modified file), `MEDLEDGER_ERR_WEAK_KEY`.
/// Thread-safe.
///
/// # Safety
///
/// Each pointer is NULL or valid for its length; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_keypair_import_encrypted(
    key_file: *const u8,
    key_file_len: usize,
    passphrase: *const u8,
    passphrase_len: usize,
    out: *mut *mut medledger_keypair,
) -> medledger_status {
    guard(|| {
        // SAFETY: pointer contracts forwarded from this function's.
        let file = unsafe {
            try_slice(
                key_file,
                key_file_len,
                MEDLEDGER_MAX_KEY_FILE_LEN,
                "key_file",
            )
        }?;
        // SAFETY: as above.
        let pass = unsafe {
            try_slice(
                passphrase,
                passphrase_len,
                MEDLEDGER_MAX_PASSPHRASE_LEN,
                "passphrase",
            )
        }?;
        let out = out_ptr(out, "out")?;
        let kp = medledger_keypair::new(Keypair::import_encrypted(file, pass)?);
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_out(out, kp.into_raw()) };
        Ok(())
    })
}

/// Writes the 32-byte participant id of `keypair` to `out_id`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`. Thread-safe.
///
/// # Safety
///
/// `keypair` is NULL or live; `out_id` is NULL or has 32 writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_keypair_id(
    keypair: *const medledger_keypair,
    out_id: *mut u8,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let kp = unsafe { try_ref(keypair, "keypair") }?;
        let out = out_ptr(out_id, "out_id")?;
        // SAFETY: 32 writable bytes per the contract.
        unsafe { write_32(out, kp.inner.id().as_bytes()) };
        Ok(())
    })
}

/// Writes the public keys of `keypair`: the 32-byte Ed25519 signing key to
/// `out_sign_key` and the 32-byte X25519 encryption key to `out_enc_key`
/// (what `medledger_ledger_register` needs).
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER` (nothing is written then).
/// Thread-safe.
///
/// # Safety
///
/// `keypair` is NULL or live; each out pointer is NULL or has 32 writable
/// bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_keypair_public_keys(
    keypair: *const medledger_keypair,
    out_sign_key: *mut u8,
    out_enc_key: *mut u8,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let kp = unsafe { try_ref(keypair, "keypair") }?;
        let sign = out_ptr(out_sign_key, "out_sign_key")?;
        let enc = out_ptr(out_enc_key, "out_enc_key")?;
        let public = kp.inner.public();
        // SAFETY: 32 writable bytes each per the contract.
        unsafe {
            write_32(sign, &public.sign);
            write_32(enc, &public.enc);
        }
        Ok(())
    })
}

/// Frees `keypair` and zeroizes its secrets. NULL is a no-op.
///
/// Freeing the same non-NULL keypair twice is undefined behaviour, as with
/// `free()`. No other thread may use the keypair during or after this
/// call. A keypair passed to any call may be freed as soon as that call
/// returns: ledgers keep no pointer to the handle. The exception is a key
/// attached to a ledger (`medledger_ledger_attach_validators`,
/// `medledger_ledger_attach_custodian`): the ledger keeps its own
/// reference to the secret keys, so freeing the handle is still allowed at
/// once, but the secrets are zeroized only when the ledger is freed or the
/// key is detached (attaching an empty set or another key).
///
/// # Safety
///
/// `keypair` is NULL or live, and not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_keypair_free(keypair: *mut medledger_keypair) {
    super::boundary::guard_value((), || {
        // SAFETY: forwarded contract.
        unsafe { medledger_keypair::free_raw(keypair) };
        Some(())
    })
}
