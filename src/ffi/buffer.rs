//! `medledger_buffer`: bytes the library allocated for the caller.

use zeroize::Zeroizing;

use core::ptr::NonNull;

use super::MEDLEDGER_MAX_MESSAGE_LEN;
use super::boundary::{Handle, guard, guard_value, out_ptr, try_slice, write_out};
use super::status::medledger_status;

/// Bytes allocated by the library and owned by the caller (a decrypted
/// record, an exported key file). Read them with `medledger_buffer_data`
/// and `medledger_buffer_len`; release them with `medledger_buffer_free`,
/// which zeroizes the bytes first. Immutable: safe to read from several
/// threads at once.
pub struct medledger_buffer {
    bytes: Zeroizing<Vec<u8>>,
}

impl medledger_buffer {
    pub(crate) fn new(bytes: Zeroizing<Vec<u8>>) -> Self {
        medledger_buffer { bytes }
    }
}

/// Hands `bytes` to C as a new buffer written to `*out` (the caller frees
/// it with `medledger_buffer_free`).
///
/// # Safety
///
/// `out` is writable (it came from `out_ptr` on a pointer the caller
/// promised is).
pub(crate) unsafe fn write_buffer(out: NonNull<*mut medledger_buffer>, bytes: Zeroizing<Vec<u8>>) {
    let buffer = medledger_buffer::new(bytes).into_raw();
    // SAFETY: per this function's contract.
    unsafe { write_out(out, buffer) };
}

impl Handle for medledger_buffer {}

/// Takes back a buffer C handed to the library (a peer callback's
/// response): its bytes, or `None` for NULL.
///
/// # Safety
///
/// `p` is NULL or a live buffer from this library that the caller gives up
/// (no one uses or frees it afterwards).
pub(crate) unsafe fn take_buffer(p: *mut medledger_buffer) -> Option<Zeroizing<Vec<u8>>> {
    if p.is_null() {
        return None;
    }
    // SAFETY: per this function's contract `p` came from `Box::into_raw`
    // (`Handle::into_raw`) and is owned by no one else any more.
    let b = unsafe { Box::from_raw(p) };
    Some(b.bytes)
}

/// Copies `len` bytes at `data` into a new buffer written to
/// `*out_buffer` (released with `medledger_buffer_free`): how a peer
/// callback (`medledger_peer`) hands the library a response it received
/// over its own transport. `data` may be NULL only when `len` is 0.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (longer than `MEDLEDGER_MAX_MESSAGE_LEN`). Thread-safe.
///
/// # Safety
///
/// `data` NULL or `len` readable bytes; `out_buffer` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_buffer_new(
    data: *const u8,
    len: usize,
    out_buffer: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        let bytes = if data.is_null() && len == 0 {
            &[]
        } else {
            // SAFETY: forwarded contract.
            unsafe { try_slice(data, len, MEDLEDGER_MAX_MESSAGE_LEN, "data") }?
        };
        let out = out_ptr(out_buffer, "out_buffer")?;
        // SAFETY: `out` is writable per the contract.
        unsafe { write_buffer(out, Zeroizing::new(bytes.to_vec())) };
        Ok(())
    })
}

/// The bytes of `buffer`: valid until `medledger_buffer_free(buffer)`.
///
/// NULL when `buffer` is NULL. For an empty buffer the pointer is non-NULL
/// but must not be dereferenced. Do not free it; free the buffer.
///
/// # Safety
///
/// `buffer` is NULL or a live buffer from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_buffer_data(buffer: *const medledger_buffer) -> *const u8 {
    guard_value(core::ptr::null(), || {
        // SAFETY: per this function's contract `buffer` is NULL or live.
        let b = unsafe { buffer.as_ref() }?;
        Some(b.bytes.as_ptr())
    })
}

/// The length of `buffer` in bytes; 0 when `buffer` is NULL.
///
/// # Safety
///
/// `buffer` is NULL or a live buffer from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_buffer_len(buffer: *const medledger_buffer) -> usize {
    guard_value(0, || {
        // SAFETY: per this function's contract `buffer` is NULL or live.
        let b = unsafe { buffer.as_ref() }?;
        Some(b.bytes.len())
    })
}

/// Zeroizes and frees `buffer`. NULL is a no-op.
///
/// Freeing the same non-NULL buffer twice is undefined behaviour, as with
/// `free()`; set your pointer to NULL after freeing. No other thread may
/// use the buffer during or after this call.
///
/// # Safety
///
/// `buffer` is NULL or a live buffer from this library, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_buffer_free(buffer: *mut medledger_buffer) {
    guard_value((), || {
        // SAFETY: forwarded contract.
        unsafe { medledger_buffer::free_raw(buffer) };
        Some(())
    })
}
