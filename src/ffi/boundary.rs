//! The boundary every exported function crosses: panics caught and mapped
//! to a status, the thread-local last-error message, handle ownership, and
//! checked conversions of C arguments (NULL, lengths, UTF-8) into Rust
//! values. Nothing else in `ffi` turns a raw pointer into a reference.

use core::fmt;
use std::any::Any;
use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

use super::status::{
    MEDLEDGER_ERR_INVALID_ARGUMENT, MEDLEDGER_ERR_INVALID_UTF8, MEDLEDGER_ERR_NULL_POINTER,
    MEDLEDGER_ERR_PANIC, MEDLEDGER_OK, medledger_status, status_of,
};

/// A failure on its way to C: the status code and the last-error message.
#[derive(Debug)]
pub struct FfiError {
    /// The status returned to C.
    pub status: medledger_status,
    /// The text `medledger_last_error()` will return.
    pub message: String,
}

impl FfiError {
    /// A required pointer argument was NULL.
    pub fn null(arg: &str) -> Self {
        FfiError {
            status: MEDLEDGER_ERR_NULL_POINTER,
            message: format!("{arg} is NULL"),
        }
    }

    /// An argument is out of range.
    pub fn invalid(arg: &str, why: impl fmt::Display) -> Self {
        FfiError {
            status: MEDLEDGER_ERR_INVALID_ARGUMENT,
            message: format!("invalid {arg}: {why}"),
        }
    }
}

impl From<crate::Error> for FfiError {
    fn from(e: crate::Error) -> Self {
        FfiError {
            status: status_of(&e),
            message: e.to_string(),
        }
    }
}

/// Result of the body of an exported function.
pub type FfiResult<T> = Result<T, FfiError>;

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_last_error(message: Option<&str>) {
    // Interior NULs cannot occur in our messages, but a C string must not
    // contain one: escape rather than truncate.
    let c = message.map(|m| CString::new(m.replace('\0', "\\0")).unwrap_or_default());
    // `try_with`: during thread teardown the slot may be gone; the message
    // is then simply not recorded.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut s) = slot.try_borrow_mut() {
            *s = c;
        }
    });
}

/// The calling thread's last-error message, or `""`.
pub fn last_error_ptr() -> *const c_char {
    LAST_ERROR
        .try_with(|slot| {
            slot.try_borrow()
                .ok()
                .and_then(|s| s.as_ref().map(|c| c.as_ptr()))
        })
        .ok()
        .flatten()
        .unwrap_or(c"".as_ptr())
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Runs the body of a status-returning exported function: clears the
/// last-error message, catches panics, and turns the outcome into a status
/// (recording the message on failure).
pub fn guard(body: impl FnOnce() -> FfiResult<()>) -> medledger_status {
    set_last_error(None);
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return MEDLEDGER_OK,
        Ok(Err(e)) => e,
        Err(payload) => FfiError {
            status: MEDLEDGER_ERR_PANIC,
            message: format!("internal error (panic): {}", panic_message(&*payload)),
        },
    };
    set_last_error(Some(&failure.message));
    failure.status
}

/// Runs the body of an accessor that returns a plain value: `fallback` when
/// the body returns `None` (a NULL handle) or panics. Leaves the last-error
/// message alone.
pub fn guard_value<T>(fallback: T, body: impl FnOnce() -> Option<T>) -> T {
    catch_unwind(AssertUnwindSafe(body))
        .ok()
        .flatten()
        .unwrap_or(fallback)
}

/// An opaque handle handed to C as a `Box` pointer. Implemented by the
/// four handle types; the only way handles are created and destroyed.
pub trait Handle: Sized {
    /// Moves `self` to the heap and gives up ownership to C.
    fn into_raw(self) -> *mut Self {
        Box::into_raw(Box::new(self))
    }

    /// Takes ownership back and drops the handle; NULL is a no-op.
    ///
    /// # Safety
    ///
    /// `p` is NULL or was returned by [`Handle::into_raw`] and has not been
    /// freed; no other thread uses it during or after this call.
    unsafe fn free_raw(p: *mut Self) {
        if !p.is_null() {
            // SAFETY: per this function's contract `p` came from
            // `Box::into_raw` and is owned by no one else any more.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

/// A reference to a handle, or `MEDLEDGER_ERR_NULL_POINTER`.
///
/// # Safety
///
/// `p` is NULL or points to a live `T` that outlives `'a` (for handles: not
/// freed before the call returns).
pub unsafe fn try_ref<'a, T>(p: *const T, arg: &str) -> FfiResult<&'a T> {
    // SAFETY: per this function's contract `p` is NULL (-> None) or valid.
    unsafe { p.as_ref() }.ok_or_else(|| FfiError::null(arg))
}

/// A checked out-parameter: non-NULL, written only on success with
/// [`write_out`].
pub fn out_ptr<T>(p: *mut T, arg: &str) -> FfiResult<NonNull<T>> {
    NonNull::new(p).ok_or_else(|| FfiError::null(arg))
}

/// Writes an out-parameter (without reading or dropping what was there).
///
/// # Safety
///
/// `out` points to memory valid for writing a `T`, suitably aligned.
pub unsafe fn write_out<T>(out: NonNull<T>, value: T) {
    // SAFETY: per this function's contract.
    unsafe { out.as_ptr().write(value) }
}

/// Writes 32 bytes to a caller buffer of at least 32 bytes.
///
/// # Safety
///
/// `out` points to at least 32 writable bytes not overlapping `bytes`.
pub unsafe fn write_32(out: NonNull<u8>, bytes: &[u8; 32]) {
    // SAFETY: per this function's contract; u8 has no alignment needs.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), out.as_ptr(), bytes.len()) }
}

/// A slice of `len` items from C, refused when NULL or longer than `max`
/// — checked before the slice is made, so a huge `len` is never read.
///
/// # Safety
///
/// When `p` is non-NULL and `len <= max`, `p` points to `len` initialised
/// items that stay unchanged for `'a`. `max * size_of::<T>()` must not
/// exceed `isize::MAX` (the limits used here are small).
pub unsafe fn try_slice<'a, T>(
    p: *const T,
    len: usize,
    max: usize,
    arg: &str,
) -> FfiResult<&'a [T]> {
    if p.is_null() {
        return Err(FfiError::null(arg));
    }
    if len > max {
        return Err(FfiError::invalid(
            arg,
            format_args!("length {len} exceeds the limit of {max}"),
        ));
    }
    if !p.is_aligned() {
        return Err(FfiError::invalid(arg, "misaligned pointer"));
    }
    // SAFETY: non-NULL and aligned (checked), `len` items readable per this
    // function's contract, total size bounded by `max` (checked).
    Ok(unsafe { core::slice::from_raw_parts(p, len) })
}

/// 32 bytes from a caller buffer (an id or public key).
///
/// # Safety
///
/// `p` is NULL or points to at least 32 readable bytes.
pub unsafe fn try_32(p: *const u8, arg: &str) -> FfiResult<[u8; 32]> {
    // SAFETY: forwarded contract; 32 is within any limit.
    let bytes = unsafe { try_slice(p, 32, 32, arg) }?;
    let mut out = [0u8; 32];
    out.copy_from_slice(bytes);
    Ok(out)
}

/// `len` values of 32 bytes each (ids, keys), packed back to back
/// (`len * 32` bytes). The count is checked against `max` before anything
/// is read.
///
/// # Safety
///
/// `p` is NULL or points to `len * 32` readable bytes (when `len <= max`).
pub unsafe fn try_32s(p: *const u8, len: usize, max: usize, arg: &str) -> FfiResult<Vec<[u8; 32]>> {
    if !p.is_null() && len > max {
        return Err(FfiError::invalid(
            arg,
            format_args!("{len} items exceed the limit of {max}"),
        ));
    }
    let bytes_len = len.saturating_mul(32);
    // SAFETY: forwarded contract; `len <= max` was checked (or `p` is
    // NULL), so `bytes_len` is at most `max * 32`.
    let bytes = unsafe { try_slice(p, bytes_len, max.saturating_mul(32), arg) }?;
    Ok(bytes
        .chunks_exact(32)
        .map(|c| {
            let mut v = [0u8; 32];
            v.copy_from_slice(c);
            v
        })
        .collect())
}

/// A NUL-terminated UTF-8 string of at most `max` bytes. The scan stops at
/// the NUL or after `max + 1` bytes, whichever comes first, so an
/// unterminated or huge string is refused without reading past the limit.
///
/// # Safety
///
/// `p` is NULL or points to a NUL-terminated string (or to at least
/// `max + 1` readable bytes) unchanged for `'a`.
pub unsafe fn try_str<'a>(p: *const c_char, max: usize, arg: &str) -> FfiResult<&'a str> {
    if p.is_null() {
        return Err(FfiError::null(arg));
    }
    let mut len = 0usize;
    loop {
        if len > max {
            return Err(FfiError::invalid(
                arg,
                format_args!("string longer than {max} bytes (or not NUL-terminated)"),
            ));
        }
        // SAFETY: every byte before `len` was non-NUL, so byte `len` is
        // still inside the caller's string (its NUL at the latest) or
        // within the first `max + 1` bytes.
        if unsafe { p.add(len).read() } == 0 {
            break;
        }
        len += 1;
    }
    // SAFETY: the `len` bytes before the NUL were just read.
    let bytes = unsafe { core::slice::from_raw_parts(p.cast::<u8>(), len) };
    core::str::from_utf8(bytes).map_err(|e| FfiError {
        status: MEDLEDGER_ERR_INVALID_UTF8,
        message: format!("{arg} is not valid UTF-8 (at byte {})", e.valid_up_to()),
    })
}

/// A filesystem path: a NUL-terminated UTF-8 string of at most
/// [`super::MEDLEDGER_MAX_TEXT_LEN`] bytes, not empty (an empty path would
/// silently mean the current directory; pass `"."` for that).
///
/// # Safety
///
/// As [`try_str`].
pub unsafe fn try_path<'a>(p: *const c_char, arg: &str) -> FfiResult<&'a std::path::Path> {
    // SAFETY: forwarded contract.
    let s = unsafe { try_str(p, super::MEDLEDGER_MAX_TEXT_LEN, arg) }?;
    if s.is_empty() {
        return Err(FfiError::invalid(
            arg,
            "empty path (use \".\" for the current directory)",
        ));
    }
    Ok(std::path::Path::new(s))
}

/// An array of handle pointers, each non-NULL.
///
/// # Safety
///
/// As [`try_slice`], and each non-NULL element points to a live `T` for
/// `'a`.
pub unsafe fn try_handles<'a, T>(
    p: *const *const T,
    len: usize,
    max: usize,
    arg: &str,
) -> FfiResult<Vec<&'a T>> {
    // SAFETY: forwarded contract.
    let ptrs = unsafe { try_slice(p, len, max, arg) }?;
    ptrs.iter()
        .enumerate()
        // SAFETY: forwarded contract: each element is NULL or live.
        .map(|(i, q)| unsafe { q.as_ref() }.ok_or_else(|| FfiError::null(&format!("{arg}[{i}]"))))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::ffi::CStr;

    use super::*;
    use crate::ffi::status::{MEDLEDGER_ERR_NOT_FOUND, MEDLEDGER_ERR_SYSTEM};

    fn last() -> String {
        // SAFETY: `last_error_ptr` never returns NULL and the string lives
        // until the next guarded call on this thread.
        unsafe { CStr::from_ptr(last_error_ptr()) }
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn panics_become_a_status_and_a_message() {
        let status = guard(|| panic!("boom {}", 7));
        assert_eq!(status, MEDLEDGER_ERR_PANIC);
        assert!(last().contains("boom 7"), "{}", last());
        // A later success clears the message.
        assert_eq!(guard(|| Ok(())), MEDLEDGER_OK);
        assert_eq!(last(), "");
        assert_eq!(guard_value(5u32, || panic!("x")), 5);
    }

    #[test]
    fn errors_map_to_their_group_and_message() {
        let status = guard(|| Err(crate::Error::NotFound("record 12".into()).into()));
        assert_eq!(status, MEDLEDGER_ERR_NOT_FOUND);
        assert_eq!(last(), "not found: record 12");
        let status = guard(|| Err(crate::Error::System("a\0b".into()).into()));
        assert_eq!(status, MEDLEDGER_ERR_SYSTEM);
        assert_eq!(last(), "system error: a\\0b");
    }

    #[test]
    fn last_error_is_per_thread() {
        let _ = guard(|| Err(FfiError::null("x")));
        std::thread::spawn(|| assert_eq!(last(), ""))
            .join()
            .unwrap();
        assert_eq!(last(), "x is NULL");
    }

    #[test]
    fn strings_are_bounded_and_checked() {
        let s = c"hello";
        // SAFETY: NUL-terminated literals.
        unsafe {
            assert_eq!(try_str(s.as_ptr(), 5, "s").unwrap(), "hello");
            assert_eq!(
                try_str(s.as_ptr(), 4, "s").unwrap_err().status,
                MEDLEDGER_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                try_str(c"\xff".as_ptr(), 5, "s").unwrap_err().status,
                MEDLEDGER_ERR_INVALID_UTF8
            );
            assert_eq!(
                try_str(core::ptr::null(), 5, "s").unwrap_err().status,
                MEDLEDGER_ERR_NULL_POINTER
            );
        }
        // Lengths are checked before a slice exists.
        let one = [0u8; 1];
        // SAFETY: refused before any read.
        let e = unsafe { try_slice(one.as_ptr(), usize::MAX, 16, "payload") }.unwrap_err();
        assert_eq!(e.status, MEDLEDGER_ERR_INVALID_ARGUMENT);
    }
}
