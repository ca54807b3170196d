//! `medledger_report`: the outcome of `medledger_ledger_verify`.

use std::ffi::{CString, c_char};

use super::boundary::{Handle, guard_value};
use super::status::{MEDLEDGER_FAULT_NONE, fault_kind_code};
use crate::Report;

/// What verification checked and the first fault it found, if any.
/// Immutable: safe to read from several threads at once. Strings returned
/// by its accessors live as long as the report.
pub struct medledger_report {
    report: Report,
    field: CString,
    message: CString,
    summary: CString,
}

fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

impl medledger_report {
    pub(crate) fn new(report: Report) -> Self {
        let (field, message) = match &report.fault {
            Some(f) => (c_string(f.location.field), c_string(&f.message)),
            None => (CString::default(), CString::default()),
        };
        let summary = c_string(&report.to_string());
        medledger_report {
            report,
            field,
            message,
            summary,
        }
    }
}

impl Handle for medledger_report {}

/// Runs `f` on the report behind `p`, `fallback` when `p` is NULL.
///
/// # Safety
///
/// `p` is NULL or a live report.
unsafe fn with<T>(
    p: *const medledger_report,
    fallback: T,
    f: impl FnOnce(&medledger_report) -> T,
) -> T {
    guard_value(fallback, || {
        // SAFETY: forwarded contract.
        let r = unsafe { p.as_ref() }?;
        Some(f(r))
    })
}

/// True when verification found no fault; false when it found one or
/// `report` is NULL.
///
/// # Safety
///
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_report_ok(report: *const medledger_report) -> bool {
    // SAFETY: forwarded contract.
    unsafe { with(report, false, |r| r.report.is_ok()) }
}

/// Blocks fully verified (0 when `report` is NULL).
///
/// # Safety
///
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_report_blocks(report: *const medledger_report) -> u64 {
    // SAFETY: forwarded contract.
    unsafe { with(report, 0, |r| r.report.blocks) }
}

/// Transactions verified (0 when `report` is NULL).
///
/// # Safety
///
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_report_transactions(report: *const medledger_report) -> u64 {
    // SAFETY: forwarded contract.
    unsafe { with(report, 0, |r| r.report.transactions) }
}

/// Record headers verified (0 when `report` is NULL).
///
/// # Safety
///
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_report_records(report: *const medledger_report) -> u64 {
    // SAFETY: forwarded contract.
    unsafe { with(report, 0, |r| r.report.records) }
}

/// Payload ciphertexts checked against their digests (0 when `report` is
/// NULL).
///
/// # Safety
///
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_report_payloads(report: *const medledger_report) -> u64 {
    // SAFETY: forwarded contract.
    unsafe { with(report, 0, |r| r.report.payloads) }
}

/// Records whose payload was erased by an erase transaction (0 when
/// `report` is NULL). Their absence from the vault is not a fault.
///
/// # Safety
///
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_report_erased(report: *const medledger_report) -> u64 {
    // SAFETY: forwarded contract.
    unsafe { with(report, 0, |r| r.report.erased) }
}

/// Erased payloads still present in the vault: an erasure this node did
/// not carry out (0 when `report` is NULL).
///
/// # Safety
///
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_report_erased_still_stored(
    report: *const medledger_report,
) -> u64 {
    // SAFETY: forwarded contract.
    unsafe { with(report, 0, |r| r.report.erased_still_stored) }
}

/// Signatures verified, of transactions and of validator seals (0 when
/// `report` is NULL).
///
/// # Safety
///
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_report_signatures(report: *const medledger_report) -> u64 {
    // SAFETY: forwarded contract.
    unsafe { with(report, 0, |r| r.report.signatures) }
}

/// The kind of the first fault, a `MEDLEDGER_FAULT_*` code;
/// `MEDLEDGER_FAULT_NONE` (0) when the report is OK or `report` is NULL.
/// `medledger_fault_kind_name` gives its name.
///
/// # Safety
///
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_report_fault_kind(report: *const medledger_report) -> u32 {
    // SAFETY: forwarded contract.
    unsafe {
        with(report, MEDLEDGER_FAULT_NONE, |r| {
            r.report
                .fault
                .as_ref()
                .map_or(MEDLEDGER_FAULT_NONE, |f| fault_kind_code(f.kind))
        })
    }
}

/// Block height of the first fault; 0 when there is none (check
/// `medledger_report_ok` first) or `report` is NULL.
///
/// # Safety
///
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_report_fault_height(report: *const medledger_report) -> u64 {
    // SAFETY: forwarded contract.
    unsafe {
        with(report, 0, |r| {
            r.report.fault.as_ref().map_or(0, |f| f.location.height)
        })
    }
}

/// Index of the faulty transaction within its block, or -1 when the fault
/// is not in one transaction (a header, a seal), there is no fault, or
/// `report` is NULL.
///
/// # Safety
///
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_report_fault_tx_index(report: *const medledger_report) -> i64 {
    // SAFETY: forwarded contract.
    unsafe {
        with(report, -1, |r| {
            r.report
                .fault
                .as_ref()
                .and_then(|f| f.location.tx_index)
                .map_or(-1, i64::from)
        })
    }
}

/// Index of the faulty record within its transaction, or -1 when the fault
/// is not in one record, there is no fault, or `report` is NULL.
///
/// # Safety
///
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_report_fault_record_index(
    report: *const medledger_report,
) -> i64 {
    // SAFETY: forwarded contract.
    unsafe {
        with(report, -1, |r| {
            r.report
                .fault
                .as_ref()
                .and_then(|f| f.location.record_index)
                .map_or(-1, i64::from)
        })
    }
}

/// Byte offset of a decoding fault within the stored block, or -1 when not
/// known, there is no fault, or `report` is NULL.
///
/// # Safety
///
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_report_fault_offset(report: *const medledger_report) -> i64 {
    // SAFETY: forwarded contract.
    unsafe {
        with(report, -1, |r| {
            r.report
                .fault
                .as_ref()
                .and_then(|f| f.location.offset)
                .and_then(|o| i64::try_from(o).ok())
                .unwrap_or(-1)
        })
    }
}

/// The field of the first fault, e.g. `"header.log_root"`,
/// `"tx.signature"`, `"record.ciphertext_digest"`; `""` when there is no
/// fault. NULL only when `report` is NULL. Valid until
/// `medledger_report_free(report)`; do not free it.
///
/// # Safety
///
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_report_fault_field(
    report: *const medledger_report,
) -> *const c_char {
    // SAFETY: forwarded contract.
    unsafe { with(report, core::ptr::null(), |r| r.field.as_ptr()) }
}

/// Human-readable detail of the first fault; `""` when there is none. NULL
/// only when `report` is NULL. Valid until `medledger_report_free(report)`;
/// do not free it.
///
/// # Safety
///
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_report_fault_message(
    report: *const medledger_report,
) -> *const c_char {
    // SAFETY: forwarded contract.
    unsafe { with(report, core::ptr::null(), |r| r.message.as_ptr()) }
}

/// One line for logs, e.g. `"OK: 4 blocks, 9 transactions, ..."` or
/// `"FAULT: PayloadTampered at block 2, tx 0, record 0, field ..."`. NULL
/// only when `report` is NULL. Valid until `medledger_report_free(report)`;
/// do not free it.
///
/// # Safety
///
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_report_summary(
    report: *const medledger_report,
) -> *const c_char {
    // SAFETY: forwarded contract.
    unsafe { with(report, core::ptr::null(), |r| r.summary.as_ptr()) }
}

/// Frees `report` and the strings its accessors returned. NULL is a no-op.
/// Freeing the same non-NULL report twice is undefined behaviour, as with
/// `free()`.
///
/// # Safety
///
/// `report` is NULL or live, and not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_report_free(report: *mut medledger_report) {
    guard_value((), || {
        // SAFETY: forwarded contract.
        unsafe { medledger_report::free_raw(report) };
        Some(())
    })
}
