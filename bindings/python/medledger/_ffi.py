"""Loads the medledger shared library and declares the C signature
(``argtypes``/``restype``) of every function in ``include/medledger.h``.

Nothing else in the package touches :mod:`ctypes` loading; the other
modules call ``lib.medledger_*`` through the declarations made here.

The library is, in order:

1. the file named by the ``MEDLEDGER_LIB`` environment variable;
2. ``target/release/libmedledger.so`` under the repository root (three
   directories above this package: ``bindings/python/medledger``);
3. ``target/debug/libmedledger.so`` there.

``ctypes.CDLL`` releases the GIL during every call, so threads sharing a
ledger run concurrently in the library.
"""

from __future__ import annotations

import ctypes
import os
import pathlib
import sys
from ctypes import POINTER, c_char_p, c_int64, c_size_t, c_uint8, c_uint32, c_uint64, c_void_p

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]

_LIB_FILE = {
    "darwin": "libmedledger.dylib",
    "win32": "medledger.dll",
}.get(sys.platform, "libmedledger.so")


def find_library(environ=None, root: pathlib.Path = REPO_ROOT) -> pathlib.Path:
    """The path of the shared library to load (see the module docs).

    Raises ImportError, saying what was tried, when there is none.
    """
    environ = os.environ if environ is None else environ
    override = environ.get("MEDLEDGER_LIB")
    if override:
        path = pathlib.Path(override)
        if not path.is_file():
            raise ImportError(f"MEDLEDGER_LIB={override!r} is not a file")
        return path
    tried = []
    for profile in ("release", "debug"):
        candidate = root / "target" / profile / _LIB_FILE
        if candidate.is_file():
            return candidate
        tried.append(str(candidate))
    raise ImportError(
        "medledger shared library not found (tried "
        + ", ".join(tried)
        + "): run `cargo build --release` in the repository, "
        "or set MEDLEDGER_LIB to the library's path"
    )


# ---- C types -----------------------------------------------------------------


class medledger_ledger(ctypes.Structure):
    """Opaque C handle."""


class medledger_keypair(ctypes.Structure):
    """Opaque C handle."""


class medledger_report(ctypes.Structure):
    """Opaque C handle."""


class medledger_buffer(ctypes.Structure):
    """Opaque C handle."""


class medledger_node(ctypes.Structure):
    """Opaque C handle."""


LedgerPtr = POINTER(medledger_ledger)
NodePtr = POINTER(medledger_node)
KeypairPtr = POINTER(medledger_keypair)
ReportPtr = POINTER(medledger_report)
BufferPtr = POINTER(medledger_buffer)
BytesPtr = POINTER(c_uint8)


class medledger_founder(ctypes.Structure):
    """``struct medledger_founder``."""

    _fields_ = [
        ("keypair", KeypairPtr),
        ("roles", c_uint32),
        ("label", c_char_p),
        ("flags", c_uint32),
    ]


class medledger_open_report(ctypes.Structure):
    """``struct medledger_open_report``: what opening a directory found."""

    _fields_ = [
        ("blocks", c_uint64),
        ("payloads", c_uint64),
        ("file_len", c_uint64),
        ("bytes_cut", c_uint64),
        ("frames_cut", c_uint64),
        ("erased", c_uint64),
        ("erasures_finished", c_uint64),
    ]


class medledger_import_result(ctypes.Structure):
    """``struct medledger_import_result``: what importing a block did."""

    _fields_ = [
        ("outcome", c_uint32),
        ("height", c_uint64),
        ("missing_payloads", c_uint64),
    ]


class medledger_sync_report(ctypes.Structure):
    """``struct medledger_sync_report``: what one catch-up did."""

    _fields_ = [
        ("blocks", c_uint64),
        ("transactions", c_uint64),
        ("missing_payloads", c_uint64),
        ("conflict", ctypes.c_bool),
    ]


class medledger_new_record(ctypes.Structure):
    """``struct medledger_new_record``: one record of a batch append. The
    byte fields are ``c_char_p`` (pointers, lengths travel separately), so
    ids and payloads holding NUL bytes are fine."""

    _fields_ = [
        ("patient_id", c_char_p),
        ("category", c_char_p),
        ("content_type", c_char_p),
        ("payload", c_char_p),
        ("payload_len", c_size_t),
    ]


class medledger_note_key(ctypes.Structure):
    """``struct medledger_note_key``: a key a checkpoint note is checked
    against (``public_key``: 32 bytes)."""

    _fields_ = [
        ("name", c_char_p),
        ("public_key", c_char_p),
        ("cosigner", ctypes.c_bool),
    ]


status_t = c_uint32

#: ``medledger_peer_call``: the caller's transport to a peer.
PEER_CALL = ctypes.CFUNCTYPE(status_t, c_void_p, POINTER(c_uint8), c_size_t, POINTER(BufferPtr))


class medledger_peer(ctypes.Structure):
    """``struct medledger_peer``."""

    _fields_ = [("call", PEER_CALL), ("context", c_void_p)]


IMPORT_APPENDED = 1
IMPORT_ALREADY_HAVE = 2
ID_LEN = 32
PUBLIC_KEY_LEN = 32
ERASURE_RECEIPT_LEN = 216
HEADER_LEN = 166
SEAL_LEN = 66
REGISTER_ESCROW_OPT_OUT = 1
READ_RESULT_HEADER_LEN = 12
DEFAULT_MAX_BREAK_GLASS_MS = 24 * 3600 * 1000
WALL_CLOCK = 0

# Byte inputs (payloads, passphrases, key files) are passed as `c_char_p`
# from `bytes` objects: ctypes hands C a pointer to the object's buffer, and
# the length travels separately, so embedded NUL bytes are fine.
_bytes_in = c_char_p

# name -> (argtypes, restype). One entry per function of medledger.h; the
# test suite checks the two lists match.
SIGNATURES = {
    "medledger_version": ([], c_char_p),
    "medledger_last_error": ([], c_char_p),
    "medledger_status_name": ([status_t], c_char_p),
    "medledger_fault_kind_name": ([c_uint32], c_char_p),
    # buffers
    "medledger_buffer_data": ([BufferPtr], c_void_p),
    "medledger_buffer_len": ([BufferPtr], c_size_t),
    "medledger_buffer_free": ([BufferPtr], None),
    "medledger_buffer_new": ([_bytes_in, c_size_t, POINTER(BufferPtr)], status_t),
    # keypairs
    "medledger_keypair_generate": ([POINTER(KeypairPtr)], status_t),
    "medledger_keypair_rotated": ([KeypairPtr, POINTER(KeypairPtr)], status_t),
    "medledger_keypair_export_encrypted": (
        [KeypairPtr, _bytes_in, c_size_t, POINTER(BufferPtr)],
        status_t,
    ),
    "medledger_keypair_import_encrypted": (
        [_bytes_in, c_size_t, _bytes_in, c_size_t, POINTER(KeypairPtr)],
        status_t,
    ),
    "medledger_keypair_id": ([KeypairPtr, BytesPtr], status_t),
    "medledger_keypair_public_keys": ([KeypairPtr, BytesPtr, BytesPtr], status_t),
    "medledger_keypair_free": ([KeypairPtr], None),
    # ledgers
    "medledger_ledger_create_in_memory": (
        [
            c_char_p,
            c_uint32,
            c_uint64,
            POINTER(medledger_founder),
            c_size_t,
            POINTER(KeypairPtr),
            c_size_t,
            POINTER(LedgerPtr),
        ],
        status_t,
    ),
    "medledger_ledger_create_dir": (
        [
            c_char_p,
            c_char_p,
            c_uint32,
            c_uint64,
            POINTER(medledger_founder),
            c_size_t,
            POINTER(KeypairPtr),
            c_size_t,
            POINTER(LedgerPtr),
        ],
        status_t,
    ),
    "medledger_ledger_open_dir": (
        [c_char_p, POINTER(medledger_open_report), POINTER(LedgerPtr)],
        status_t,
    ),
    "medledger_ledger_open_dir_read_only": (
        [c_char_p, POINTER(medledger_open_report), POINTER(LedgerPtr)],
        status_t,
    ),
    "medledger_ledger_free": ([LedgerPtr], None),
    "medledger_ledger_register": (
        [LedgerPtr, KeypairPtr, BytesPtr, BytesPtr, c_uint32, c_char_p, c_uint32],
        status_t,
    ),
    "medledger_ledger_append_record": (
        [LedgerPtr, KeypairPtr, BytesPtr, c_char_p, c_char_p, _bytes_in, c_size_t, BytesPtr],
        status_t,
    ),
    "medledger_ledger_amend_record": (
        [LedgerPtr, KeypairPtr, BytesPtr, c_char_p, _bytes_in, c_size_t, BytesPtr],
        status_t,
    ),
    "medledger_ledger_read_record": (
        [LedgerPtr, KeypairPtr, BytesPtr, c_char_p, POINTER(BufferPtr)],
        status_t,
    ),
    "medledger_ledger_read_records": (
        [LedgerPtr, KeypairPtr, _bytes_in, c_size_t, c_char_p, POINTER(BufferPtr)],
        status_t,
    ),
    "medledger_ledger_append_batch": (
        [LedgerPtr, KeypairPtr, POINTER(medledger_new_record), c_size_t, BytesPtr],
        status_t,
    ),
    "medledger_ledger_record_info_json": ([LedgerPtr, BytesPtr, POINTER(BufferPtr)], status_t),
    "medledger_ledger_versions": ([LedgerPtr, BytesPtr, POINTER(BufferPtr)], status_t),
    "medledger_ledger_check_served": ([LedgerPtr, BytesPtr, _bytes_in, c_size_t], status_t),
    "medledger_ledger_commit_block": (
        [LedgerPtr, POINTER(KeypairPtr), c_size_t, POINTER(c_uint64)],
        status_t,
    ),
    "medledger_ledger_verify": ([LedgerPtr, POINTER(ReportPtr)], status_t),
    "medledger_ledger_head_height": ([LedgerPtr, POINTER(c_uint64)], status_t),
    "medledger_ledger_id": ([LedgerPtr, BytesPtr], status_t),
    # patient-controlled access
    "medledger_ledger_attach_validators": (
        [LedgerPtr, POINTER(KeypairPtr), c_size_t],
        status_t,
    ),
    "medledger_ledger_attach_custodian": ([LedgerPtr, KeypairPtr], status_t),
    "medledger_ledger_now": ([LedgerPtr, POINTER(c_uint64)], status_t),
    "medledger_ledger_set_manual_time": ([LedgerPtr, c_uint64], status_t),
    "medledger_ledger_grant": (
        [
            LedgerPtr,
            KeypairPtr,
            BytesPtr,
            BytesPtr,
            c_uint32,
            c_char_p,
            c_char_p,
            _bytes_in,
            c_size_t,
            c_uint64,
            c_uint64,
            BytesPtr,
        ],
        status_t,
    ),
    "medledger_ledger_revoke": ([LedgerPtr, KeypairPtr, BytesPtr], status_t),
    "medledger_ledger_share_keys": (
        [LedgerPtr, KeypairPtr, BytesPtr, POINTER(c_size_t)],
        status_t,
    ),
    "medledger_ledger_break_glass": (
        [LedgerPtr, KeypairPtr, BytesPtr, c_char_p, c_char_p, c_uint64, BytesPtr],
        status_t,
    ),
    "medledger_ledger_add_guardian": ([LedgerPtr, KeypairPtr, BytesPtr, BytesPtr], status_t),
    "medledger_ledger_remove_guardian": ([LedgerPtr, KeypairPtr, BytesPtr, BytesPtr], status_t),
    "medledger_ledger_suspend": ([LedgerPtr, KeypairPtr, BytesPtr], status_t),
    "medledger_ledger_rotate_keys": ([LedgerPtr, KeypairPtr, KeypairPtr], status_t),
    "medledger_ledger_reinstate": ([LedgerPtr, KeypairPtr, BytesPtr], status_t),
    "medledger_ledger_evidence": (
        [LedgerPtr, BytesPtr, ctypes.c_bool, POINTER(BufferPtr)],
        status_t,
    ),
    "medledger_evidence_verify": (
        [_bytes_in, c_size_t, BytesPtr, POINTER(BufferPtr)],
        status_t,
    ),
    "medledger_ledger_checkpoint": (
        [LedgerPtr, KeypairPtr, _bytes_in, POINTER(BufferPtr)],
        status_t,
    ),
    "medledger_ledger_log_size": ([LedgerPtr, POINTER(c_uint64)], status_t),
    "medledger_ledger_log_root": ([LedgerPtr, c_uint64, BytesPtr], status_t),
    "medledger_ledger_consistency_proof": (
        [LedgerPtr, c_uint64, c_uint64, POINTER(BufferPtr)],
        status_t,
    ),
    "medledger_verify_consistency": (
        [c_uint64, c_uint64, BytesPtr, BytesPtr, _bytes_in, c_size_t],
        status_t,
    ),
    "medledger_ledger_inclusion_proof": (
        [LedgerPtr, c_uint64, c_uint64, POINTER(BufferPtr)],
        status_t,
    ),
    "medledger_ledger_record_inclusion": (
        [LedgerPtr, BytesPtr, POINTER(c_uint64), POINTER(c_uint64), POINTER(BufferPtr)],
        status_t,
    ),
    "medledger_ledger_transaction": ([LedgerPtr, c_uint64, POINTER(BufferPtr)], status_t),
    "medledger_verify_inclusion": (
        [c_uint64, c_uint64, BytesPtr, _bytes_in, c_size_t, _bytes_in, c_size_t],
        status_t,
    ),
    "medledger_checkpoint_cosign": (
        [
            _bytes_in,
            c_size_t,
            POINTER(medledger_note_key),
            KeypairPtr,
            c_char_p,
            c_uint64,
            POINTER(BufferPtr),
        ],
        status_t,
    ),
    "medledger_checkpoint_open": (
        [_bytes_in, c_size_t, POINTER(medledger_note_key), c_size_t, POINTER(BufferPtr)],
        status_t,
    ),
    "medledger_ledger_access_log_json": (
        [LedgerPtr, BytesPtr, BytesPtr, POINTER(BufferPtr)],
        status_t,
    ),
    "medledger_ledger_consents_json": (
        [LedgerPtr, BytesPtr, BytesPtr, POINTER(BufferPtr)],
        status_t,
    ),
    "medledger_ledger_access_log_fhir": (
        [LedgerPtr, BytesPtr, BytesPtr, POINTER(BufferPtr)],
        status_t,
    ),
    "medledger_ledger_consents_fhir": (
        [LedgerPtr, BytesPtr, BytesPtr, POINTER(BufferPtr)],
        status_t,
    ),
    "medledger_ledger_break_glass_reviews_json": (
        [LedgerPtr, BytesPtr, POINTER(BufferPtr)],
        status_t,
    ),
    "medledger_ledger_erase": (
        [LedgerPtr, KeypairPtr, _bytes_in, c_size_t, POINTER(BufferPtr)],
        status_t,
    ),
    "medledger_ledger_verify_erasure_receipt": ([LedgerPtr, _bytes_in, c_size_t], status_t),
    # consortium replication
    "medledger_ledger_export_block": ([LedgerPtr, c_uint64, POINTER(BufferPtr)], status_t),
    "medledger_ledger_import_block": (
        [LedgerPtr, _bytes_in, c_size_t, POINTER(medledger_import_result), POINTER(BufferPtr)],
        status_t,
    ),
    "medledger_ledger_join_dir": (
        [c_char_p, _bytes_in, c_size_t, BytesPtr, POINTER(LedgerPtr)],
        status_t,
    ),
    "medledger_ledger_follow_tcp": ([LedgerPtr, c_char_p, c_uint32], status_t),
    "medledger_equivocation_verify": ([_bytes_in, c_size_t, POINTER(BufferPtr)], status_t),
    "medledger_node_new": ([LedgerPtr, POINTER(KeypairPtr), c_size_t, POINTER(NodePtr)], status_t),
    "medledger_node_free": ([NodePtr], None),
    "medledger_node_handle": ([NodePtr, _bytes_in, c_size_t, POINTER(BufferPtr)], status_t),
    "medledger_node_status_json": ([NodePtr, POINTER(BufferPtr)], status_t),
    "medledger_node_set_vote_log": ([NodePtr, c_char_p], status_t),
    "medledger_node_approve_validator_set": ([NodePtr, BytesPtr], status_t),
    "medledger_node_accept_proposals_from": ([NodePtr, BytesPtr, c_size_t], status_t),
    "medledger_ledger_set_validators": (
        [LedgerPtr, KeypairPtr, c_uint32, _bytes_in, c_size_t],
        status_t,
    ),
    "medledger_validator_set_hash": ([c_uint32, _bytes_in, c_size_t, BytesPtr], status_t),
    "medledger_node_evidence": ([NodePtr, c_size_t, POINTER(BufferPtr)], status_t),
    "medledger_node_sync": (
        [NodePtr, POINTER(medledger_peer), POINTER(medledger_sync_report)],
        status_t,
    ),
    "medledger_node_sync_tcp": (
        [NodePtr, c_char_p, c_uint32, POINTER(medledger_sync_report)],
        status_t,
    ),
    "medledger_node_propose_round": (
        [NodePtr, POINTER(medledger_peer), c_size_t, POINTER(ctypes.c_bool), POINTER(c_uint64)],
        status_t,
    ),
    "medledger_node_propose_round_tcp": (
        [
            NodePtr,
            POINTER(c_char_p),
            c_size_t,
            c_uint32,
            POINTER(ctypes.c_bool),
            POINTER(c_uint64),
        ],
        status_t,
    ),
    # transactions and blocks by hand; queries
    "medledger_ledger_submit": (
        [LedgerPtr, _bytes_in, c_size_t, POINTER(c_char_p), POINTER(c_size_t), c_size_t,
         POINTER(c_uint64)],
        status_t,
    ),
    "medledger_ledger_propose": ([LedgerPtr, POINTER(BufferPtr)], status_t),
    "medledger_seal_header": ([_bytes_in, c_size_t, KeypairPtr, c_uint32, BytesPtr], status_t),
    "medledger_ledger_commit": ([LedgerPtr, _bytes_in, c_size_t, _bytes_in, c_size_t], status_t),
    "medledger_ledger_participant_json": ([LedgerPtr, BytesPtr, POINTER(BufferPtr)], status_t),
    "medledger_ledger_validators_json": ([LedgerPtr, POINTER(BufferPtr)], status_t),
    "medledger_ledger_head_json": ([LedgerPtr, POINTER(BufferPtr)], status_t),
    # reports
    "medledger_report_ok": ([ReportPtr], ctypes.c_bool),
    "medledger_report_blocks": ([ReportPtr], c_uint64),
    "medledger_report_transactions": ([ReportPtr], c_uint64),
    "medledger_report_records": ([ReportPtr], c_uint64),
    "medledger_report_payloads": ([ReportPtr], c_uint64),
    "medledger_report_erased": ([ReportPtr], c_uint64),
    "medledger_report_erased_still_stored": ([ReportPtr], c_uint64),
    "medledger_report_signatures": ([ReportPtr], c_uint64),
    "medledger_report_fault_kind": ([ReportPtr], c_uint32),
    "medledger_report_fault_height": ([ReportPtr], c_uint64),
    "medledger_report_fault_tx_index": ([ReportPtr], c_int64),
    "medledger_report_fault_record_index": ([ReportPtr], c_int64),
    "medledger_report_fault_offset": ([ReportPtr], c_int64),
    "medledger_report_fault_field": ([ReportPtr], c_char_p),
    "medledger_report_fault_message": ([ReportPtr], c_char_p),
    "medledger_report_summary": ([ReportPtr], c_char_p),
    "medledger_report_free": ([ReportPtr], None),
}


def _load():
    path = find_library()
    lib = ctypes.CDLL(str(path))
    for name, (argtypes, restype) in SIGNATURES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError as e:
            raise ImportError(
                f"{path} lacks {name}: it is older than these bindings; rebuild it"
            ) from e
        fn.argtypes = argtypes
        fn.restype = restype
    return lib, path


lib, LIBRARY_PATH = _load()


def has_function(name: str) -> bool:
    """True when the loaded library exports `name`."""
    return hasattr(lib, name)


def library_version() -> str:
    """The version of the loaded C library, e.g. ``"0.1.0"``."""
    return lib.medledger_version().decode()


def last_error() -> str:
    """The calling thread's last-error message (``""`` when none)."""
    return lib.medledger_last_error().decode("utf-8", "replace")


def take_buffer(buf) -> bytes:
    """Copies a library buffer into ``bytes`` and frees it (zeroizing it)."""
    try:
        n = lib.medledger_buffer_len(buf)
        return ctypes.string_at(lib.medledger_buffer_data(buf), n) if n else b""
    finally:
        lib.medledger_buffer_free(buf)
