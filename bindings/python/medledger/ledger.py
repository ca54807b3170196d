"""Ledger: one node's view of a chain of medical records."""

from __future__ import annotations

import ctypes
import dataclasses
import enum
import json
import os
import struct
from typing import Iterable, List, NamedTuple, Optional, Sequence, Union

from . import _ffi
from ._ffi import lib
from ._handle import (
    Handle,
    as_bytes,
    as_id,
    as_text,
    as_u32,
    borrow,
    borrow_all,
    check,
)
from .errors import error_for_status
from .keypair import Keypair, PublicKeys
from .report import Report


class Role(enum.IntFlag):
    """Participant role bits (``MEDLEDGER_ROLE_*``); combine with ``|``."""

    PATIENT = 1
    PROVIDER = 2
    GUARDIAN = 4
    VALIDATOR = 8
    AUDITOR = 16
    ADMIN = 32
    CUSTODIAN = 64


class Action(enum.IntFlag):
    """What a consent allows (``MEDLEDGER_ACTION_*``); combine with ``|``."""

    READ = 1
    APPEND = 2
    AMEND = 4
    ALL = 7


class Purpose(str, enum.Enum):
    """Purposes of use: the HL7 v3 PurposeOfUse codes the ledger knows.
    Plain strings (``"TREAT"``) work wherever a Purpose is expected."""

    TREAT = "TREAT"
    """Treatment."""
    ETREAT = "ETREAT"
    """Emergency treatment (break-glass)."""
    HPAYMT = "HPAYMT"
    """Healthcare payment."""
    HOPERAT = "HOPERAT"
    """Healthcare operations."""
    HRESCH = "HRESCH"
    """Healthcare research."""
    PATRQT = "PATRQT"
    """Patient request: the patient reading their own record."""
    PUBHLTH = "PUBHLTH"
    """Public health."""
    BTG = "BTG"
    """Break the glass."""

    def __str__(self) -> str:
        return self.value


#: Milliseconds in a year (365 days): the default length of a consent.
YEAR_MS = 365 * 24 * 3600 * 1000

#: The default longest break-glass window of a new ledger (24 h).
DEFAULT_MAX_BREAK_GLASS_MS = _ffi.DEFAULT_MAX_BREAK_GLASS_MS


def _purpose(value, name: str) -> bytes:
    """One purpose code (a Purpose or a str)."""
    if isinstance(value, Purpose):
        value = value.value
    return as_text(value, name)


def _purposes(value) -> bytes:
    """Purposes as the C comma-separated list: one code, or a sequence."""
    if isinstance(value, (str, Purpose)):
        return _purpose(value, "purposes")
    if not hasattr(value, "__iter__") or isinstance(value, (bytes, bytearray)):
        raise TypeError(
            f"purposes must be a str or a sequence of str, not {type(value).__name__}")
    codes = [_purpose(p, f"purposes[{i}]") for i, p in enumerate(value)]
    return b",".join(codes)


def _categories(value) -> bytes:
    """Categories as the C list: "*" for all, or a sequence of codes."""
    if isinstance(value, str):
        return as_text(value, "categories")
    if not hasattr(value, "__iter__") or isinstance(value, (bytes, bytearray)):
        raise TypeError(
            f"categories must be \"*\" or a sequence of str, not {type(value).__name__}")
    return b",".join(as_text(c, f"categories[{i}]") for i, c in enumerate(value))


def _sequence(values, name: str, what: str) -> list:
    """A sequence argument as a list; one str or bytes-like object (a
    sequence of characters or ints) is refused."""
    if isinstance(values, (str, bytes, bytearray, memoryview)) or \
            not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of {what}")
    return list(values)


def _ids(values, name: str) -> bytes:
    """A sequence of 32-byte ids, packed back to back."""
    values = _sequence(values, name, "32-byte ids")
    return b"".join(bytes(as_id(v, f"{name}[{i}]")) for i, v in enumerate(values))


def _u64(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be int, not {type(value).__name__}")
    if not 0 <= value < 2**64:
        raise ValueError(f"{name} must be in 0..2**64-1, not {value}")
    return int(value)


def _participant(value, name: str):
    """A participant given as its Keypair (its public id is used) or its
    32-byte id."""
    if isinstance(value, Keypair):
        value = value.id
    elif isinstance(value, str):
        raise TypeError(f"{name} must be a Keypair or a 32-byte id, not str")
    try:
        return as_id(value, name)
    except TypeError:
        raise TypeError(
            f"{name} must be a Keypair or a 32-byte id, not {type(value).__name__}") from None


def _take_json(buf) -> list:
    return json.loads(_ffi.take_buffer(buf).decode("utf-8"))


@dataclasses.dataclass(frozen=True)
class ErasureReceipt:
    """A signed statement that a record's payload was erased from the node
    (``medledger_ledger_erase``; layout in docs/C-API.md). ``bytes(receipt)``
    is its 216-byte encoding; check it with
    :meth:`Ledger.verify_erasure_receipt`."""

    ledger_id: bytes
    record_id: bytes
    ciphertext_digest: bytes
    """SHA3-256 of the erased ciphertext (still on the chain)."""
    leaf: int
    """Leaf index of the erase transaction."""
    height: int
    """Height of its block."""
    erased_at: int
    """Time of the erase transaction, ms since the Unix epoch."""
    signer: bytes
    """Participant id of the validator that signed it."""
    signature: bytes

    _FORMAT = "<32s32s32sQQQ32s64s"

    @classmethod
    def from_bytes(cls, data) -> "ErasureReceipt":
        data = as_bytes(data, "receipt")
        if len(data) != _ffi.ERASURE_RECEIPT_LEN:
            raise ValueError(
                f"an erasure receipt is {_ffi.ERASURE_RECEIPT_LEN} bytes, not {len(data)}")
        return cls(*struct.unpack(cls._FORMAT, data))

    def __bytes__(self) -> bytes:
        return struct.pack(self._FORMAT, *dataclasses.astuple(self))


class Inclusion(NamedTuple):
    """The inclusion proof of a committed record's transaction
    (:meth:`Ledger.record_inclusion`)."""

    leaf: int
    """Log index of the transaction."""
    size: int
    """Log size the proof is against (the head's)."""
    proof: bytes
    """The proof's hashes, 32 bytes each, back to back."""


class NoteKey(NamedTuple):
    """A key a checkpoint note is checked against: the log's (a validator
    that signed :meth:`Ledger.checkpoint` under ``name``) or, with
    ``cosigner=True``, a witness's cosignature key."""

    name: str
    public_key: bytes
    """The 32-byte Ed25519 public signing key (``Keypair.public_keys.sign``)."""
    cosigner: bool = False


def _signing_keys(members, name: str) -> bytes:
    """Validator-set members (Keypairs or 32-byte public signing keys) as
    their keys packed back to back."""
    if isinstance(members, (str, bytes, bytearray, memoryview)) or \
            not hasattr(members, "__iter__"):
        raise TypeError(f"{name} must be a sequence of Keypairs or 32-byte keys")
    return b"".join(
        m.public_keys.sign if isinstance(m, Keypair) else bytes(as_id(m, f"{name}[{i}]"))
        for i, m in enumerate(members))


def _note_keys(keys: Sequence[NoteKey], name: str):
    """NoteKeys as a C array (kept alive by the caller's reference)."""
    arr = (_ffi.medledger_note_key * max(len(keys), 1))()
    for i, k in enumerate(keys):
        if not isinstance(k, NoteKey):
            raise TypeError(f"{name}[{i}] must be a NoteKey, not {type(k).__name__}")
        arr[i] = _ffi.medledger_note_key(as_text(k.name, f"{name}[{i}].name"),
                                         bytes(as_id(k.public_key, f"{name}[{i}].public_key")),
                                         bool(k.cosigner))
    return arr


class Founder(NamedTuple):
    """A founding participant of a new ledger (a plain 3- or 4-tuple works
    too). A founding patient may opt out of emergency key escrow
    (``escrow_opt_out=True``), as with :meth:`Ledger.register`."""

    keypair: Keypair
    roles: int
    label: str
    escrow_opt_out: bool = False


def _escrow_flags(escrow_opt_out, name: str) -> int:
    """The registration flags of an escrow opt-out."""
    if not isinstance(escrow_opt_out, bool):
        raise TypeError(f"{name} must be bool, not {type(escrow_opt_out).__name__}")
    return _ffi.REGISTER_ESCROW_OPT_OUT if escrow_opt_out else 0


def _founders(founders: Iterable) -> list:
    if isinstance(founders, (str, bytes)) or not hasattr(founders, "__iter__"):
        raise TypeError("founders must be a sequence of (keypair, roles, label)")
    out = []
    for i, f in enumerate(founders):
        try:
            kp, roles, label, *rest = f
            (opt_out,) = rest or (False,)
        except (TypeError, ValueError):
            raise TypeError(f"founders[{i}] must be a (keypair, roles, label) or "
                            "(keypair, roles, label, escrow_opt_out) tuple") from None
        if not isinstance(kp, Keypair):
            raise TypeError(f"founders[{i}].keypair must be Keypair, not {type(kp).__name__}")
        out.append((kp, as_u32(roles, f"founders[{i}].roles"),
                    as_text(label, f"founders[{i}].label"),
                    _escrow_flags(opt_out, f"founders[{i}].escrow_opt_out")))
    return out


def _create(fn, prefix_args, consortium_name, threshold, founders, sealers,
            max_break_glass_ms):
    """Shared by the create functions: builds the genesis arguments."""
    name = as_text(consortium_name, "consortium_name")
    threshold = as_u32(threshold, "threshold")
    max_bg = _u64(max_break_glass_ms, "max_break_glass_ms")
    fs = _founders(founders)
    out = _ffi.LedgerPtr()
    with borrow_all([f[0] for f in fs], Keypair, "founders") as fptrs, \
            borrow_all(sealers, Keypair, "sealers") as sptrs:
        c_founders = (_ffi.medledger_founder * max(len(fs), 1))()
        for i, ((_, roles, label, flags), p) in enumerate(zip(fs, fptrs)):
            c_founders[i] = _ffi.medledger_founder(p, roles, label, flags)
        c_sealers = (_ffi.KeypairPtr * max(len(sptrs), 1))(*sptrs)
        check(fn(*prefix_args, name, threshold, max_bg, c_founders, len(fs), c_sealers,
                 len(sptrs), ctypes.byref(out)))
    return out


def _read_results(data: bytes) -> list:
    """The entries of a ``medledger_ledger_read_records`` buffer: bytes for
    a permitted read, the exception a single read would raise otherwise."""
    results, off = [], 0
    while off < len(data):
        status, n = struct.unpack_from("<IQ", data, off)
        off += _ffi.READ_RESULT_HEADER_LEN
        body = data[off:off + n]
        off += n
        results.append(body if status == 0 else
                       error_for_status(status, body.decode("utf-8", "replace")))
    return results


@dataclasses.dataclass(frozen=True)
class OpenReport:
    """What opening a ledger directory found and did
    (``struct medledger_open_report``)."""

    blocks: int
    """Committed blocks in the ledger file, genesis included (the head
    height is ``blocks - 1``)."""
    payloads: int
    """Record ciphertexts stored in the ledger file."""
    file_len: int
    """Length in bytes of the ledger file that was kept."""
    bytes_cut: int
    """Bytes of a torn, never-acknowledged tail left by a crash
    mid-commit: cut by a writable open, left in place by a read-only one.
    0 after a clean shutdown."""
    frames_cut: int
    """Complete frames in that tail (payloads of a block that never
    committed)."""
    erased: int
    """Payload frames erased by erase transactions (not served)."""
    erasures_finished: int
    """Erasures a crash interrupted that this open finished (0 on a
    read-only open)."""

    @classmethod
    def _from_c(cls, c: "_ffi.medledger_open_report") -> "OpenReport":
        return cls(**{name: getattr(c, name) for name, _ in c._fields_})


def _path(path) -> bytes:
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"path must be str or os.PathLike, not {type(path).__name__}")
    p = os.fsencode(path)
    if b"\0" in p:
        raise ValueError("path must not contain NUL characters")
    return p


class Ledger(Handle):
    """A ledger node.

    Every method may be called from several threads at once (the library
    serialises writers); ``close()`` waits for calls in flight. Failures
    raise :class:`~medledger.MedledgerError` subclasses; a read refused by
    the access rules is :class:`~medledger.AccessDenied` with a ``reason``
    (``"no_consent"``, ``"revoked"``, ...).
    """

    _free_name = "medledger_ledger_free"

    # ---- creating and opening --------------------------------------------------

    @classmethod
    def create_in_memory(
        cls,
        consortium_name: str,
        threshold: int,
        founders: Sequence[Union[Founder, tuple]],
        sealers: Sequence[Keypair],
        *,
        max_break_glass_ms: int = DEFAULT_MAX_BREAK_GLASS_MS,
    ) -> "Ledger":
        """A new ledger held in memory.

        ``founders`` are ``(keypair, roles, label)`` or :class:`Founder`
        (with ``escrow_opt_out`` for a founding patient): at least one
        :attr:`Role.ADMIN`, and the :attr:`Role.VALIDATOR` founders form the
        validator set, ``threshold`` of whom must seal each block. Block 0
        is sealed at once by ``sealers``. ``max_break_glass_ms`` is the
        longest break-glass window a provider may declare (24 h by default;
        0 rules break-glass out).
        """
        return cls(_create(lib.medledger_ledger_create_in_memory, (), consortium_name,
                           threshold, founders, sealers, max_break_glass_ms))

    @classmethod
    def create_dir(
        cls,
        path,
        consortium_name: str,
        threshold: int,
        founders: Sequence[Union[Founder, tuple]],
        sealers: Sequence[Keypair],
        *,
        max_break_glass_ms: int = DEFAULT_MAX_BREAK_GLASS_MS,
    ) -> "Ledger":
        """A new durable ledger in directory ``path`` (``str``, ``bytes`` or
        path-like; created with its parents if missing; it must not hold a
        ledger yet). Genesis arguments as :meth:`create_in_memory`.

        The ledger holds the directory's writer lock until it is closed:
        another writable open of the directory, in this process or another,
        raises :class:`~medledger.AccessDenied` meanwhile. A directory that
        already holds a ledger raises :class:`~medledger.InputError`."""
        return cls(_create(lib.medledger_ledger_create_dir, (_path(path),), consortium_name,
                           threshold, founders, sealers, max_break_glass_ms))

    @classmethod
    def open_dir(cls, path, read_only: bool = False) -> "Ledger":
        """Opens the durable ledger in directory ``path``, recovering from a
        crash and verifying the chain first; :attr:`open_report` says what
        the open found (an :class:`OpenReport`).

        Raises :class:`~medledger.NotFound` when there is no ledger,
        :class:`~medledger.CorruptLedger` when the file is damaged or the
        chain does not verify (the message names the fault and its byte
        offset), :class:`~medledger.AccessDenied` when another writer holds
        the directory.

        With ``read_only=True`` no lock is taken and nothing is written: any
        number of read-only ledgers may be open beside the writer. They
        verify and answer :attr:`head_height` and :attr:`id`, but
        :meth:`read_record` and every write raise
        :class:`~medledger.AccessDenied` (a disclosure must be recorded, and
        a read-only open cannot record)."""
        fn = (lib.medledger_ledger_open_dir_read_only if read_only
              else lib.medledger_ledger_open_dir)
        report = _ffi.medledger_open_report()
        out = _ffi.LedgerPtr()
        check(fn(_path(path), ctypes.byref(report), ctypes.byref(out)))
        ledger = cls(out)
        ledger.open_report = OpenReport._from_c(report)
        ledger.read_only = bool(read_only)
        return ledger

    #: What :meth:`open_dir` found; ``None`` for a ledger that was created.
    open_report: Optional[OpenReport] = None
    #: True for a ledger opened with ``open_dir(path, read_only=True)``.
    read_only: bool = False

    # ---- participants and records ------------------------------------------------

    def register(self, admin: Keypair, participant: Union[Keypair, PublicKeys], roles: int,
                 label: str, *, escrow_opt_out: bool = False) -> None:
        """``admin`` registers a participant, given as its Keypair or its
        :class:`PublicKeys`, with role bits and an operator-facing label
        (no personal data). A patient may opt out of emergency key escrow
        (``escrow_opt_out=True``): break-glass cannot reach their records.
        Pending until the next :meth:`commit_block`."""
        if isinstance(participant, Keypair):
            keys = participant.public_keys
        elif isinstance(participant, PublicKeys):
            keys = participant
        else:
            raise TypeError(
                f"participant must be Keypair or PublicKeys, not {type(participant).__name__}")
        sign, enc = as_id(keys.sign, "sign key"), as_id(keys.enc, "enc key")
        roles = as_u32(roles, "roles")
        label_b = as_text(label, "label")
        flags = _escrow_flags(escrow_opt_out, "escrow_opt_out")
        with self._borrow() as ledger, borrow(admin, Keypair, "admin") as a:
            check(lib.medledger_ledger_register(ledger, a, sign, enc, roles, label_b, flags))

    def append_record(self, author: Keypair, patient_id, category: str, content_type: str,
                      payload) -> bytes:
        """``author`` appends an encrypted record for ``patient_id`` (32
        bytes, the patient's :attr:`Keypair.id`); returns the 32-byte
        record id. ``payload`` must be bytes-like. Readable after the next
        :meth:`commit_block`."""
        patient = as_id(patient_id, "patient_id")
        cat = as_text(category, "category")
        ctype = as_text(content_type, "content_type")
        data = as_bytes(payload, "payload")
        out = (ctypes.c_uint8 * _ffi.ID_LEN)()
        with self._borrow() as ledger, borrow(author, Keypair, "author") as a:
            check(lib.medledger_ledger_append_record(ledger, a, patient, cat, ctype, data,
                                                     len(data), out))
        return bytes(out)

    def append_batch(self, author: Keypair, records: Sequence) -> List[bytes]:
        """``author`` appends many records under one signature (one
        transaction; bulk import): ``records`` is a sequence of
        ``(patient_id, category, content_type, payload)`` tuples, each as
        :meth:`append_record` takes them. Returns their 32-byte ids, in
        order. The batch is refused as a whole when one record is."""
        if isinstance(records, (str, bytes)) or not hasattr(records, "__len__"):
            raise TypeError("records must be a sequence of "
                            "(patient_id, category, content_type, payload) tuples")
        arr = (_ffi.medledger_new_record * max(len(records), 1))()
        for i, rec in enumerate(records):
            if not isinstance(rec, tuple) or len(rec) != 4:
                raise TypeError(f"records[{i}] must be a (patient_id, category, "
                                "content_type, payload) tuple")
            patient, category, content_type, payload = rec
            data = as_bytes(payload, f"records[{i}].payload")
            arr[i] = _ffi.medledger_new_record(
                bytes(as_id(patient, f"records[{i}].patient_id")),
                as_text(category, f"records[{i}].category"),
                as_text(content_type, f"records[{i}].content_type"),
                data, len(data))
        out = (ctypes.c_uint8 * (_ffi.ID_LEN * max(len(records), 1)))()
        with self._borrow() as ledger, borrow(author, Keypair, "author") as a:
            check(lib.medledger_ledger_append_batch(ledger, a, arr, len(records), out))
        ids = bytes(out)
        return [ids[i:i + _ffi.ID_LEN] for i in range(0, _ffi.ID_LEN * len(records), _ffi.ID_LEN)]

    def record_info(self, record_id) -> dict:
        """The public facts of a committed record version (no plaintext):
        ``id``, ``patient``, ``author`` (hex), ``category``,
        ``content_type``, ``version``, ``amends`` / ``superseded_by`` (hex
        or None), ``key_epoch``, ``ciphertext_len``, ``ciphertext_digest``
        (hex), ``height``, ``leaf``, ``erased``. Raises
        :class:`~medledger.NotFound` for an unknown or uncommitted id."""
        rid = as_id(record_id, "record_id")
        out = _ffi.BufferPtr()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_record_info_json(ledger, rid, ctypes.byref(out)))
        return _take_json(out)

    def versions(self, record_id) -> List[bytes]:
        """The committed versions of a record (given any of them), oldest
        first, as 32-byte ids."""
        rid = as_id(record_id, "record_id")
        out = _ffi.BufferPtr()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_versions(ledger, rid, ctypes.byref(out)))
        data = _ffi.take_buffer(out)
        return [data[i:i + _ffi.ID_LEN] for i in range(0, len(data), _ffi.ID_LEN)]

    def check_served(self, record_id, ciphertext) -> None:
        """Checks a record ciphertext a peer or store served against the
        digest committed on the chain; raises
        :class:`~medledger.TamperedRecord` when it is not the committed one
        (or the record was erased), :class:`~medledger.NotFound` for an
        unknown id. Nothing is decrypted."""
        rid = as_id(record_id, "record_id")
        data = as_bytes(ciphertext, "ciphertext")
        with self._borrow() as ledger:
            check(lib.medledger_ledger_check_served(ledger, rid, data, len(data)))

    def amend_record(self, author: Keypair, previous_id, content_type: str, payload) -> bytes:
        """``author`` appends a new version of its record ``previous_id``;
        returns the new record id. The old version stays readable."""
        prev = as_id(previous_id, "previous_id")
        ctype = as_text(content_type, "content_type")
        data = as_bytes(payload, "payload")
        out = (ctypes.c_uint8 * _ffi.ID_LEN)()
        with self._borrow() as ledger, borrow(author, Keypair, "author") as a:
            check(lib.medledger_ledger_amend_record(ledger, a, prev, ctype, data, len(data), out))
        return bytes(out)

    def read_record(self, reader: Keypair, record_id,
                    purpose: Union[Purpose, str] = Purpose.TREAT) -> bytes:
        """Decrypts a committed record for ``reader``, for ``purpose`` (an
        HL7 PurposeOfUse code, :class:`Purpose`; the patient reading their
        own record would say ``"PATRQT"``).

        The patient, their guardians and the author may read it; anyone
        else needs an active consent for this purpose (:meth:`grant`) or an
        active break-glass declaration (:meth:`break_glass`). Every attempt
        is recorded in the access log, and the plaintext is released only
        once that record is committed: attach validator keys
        (:meth:`attach_validators`) so the ledger commits it itself;
        otherwise the call waits up to 30 s for a commit by another thread.

        Raises :class:`~medledger.AccessDenied` with a :attr:`reason`
        (``"no_consent"``, ``"revoked"``, ...) when the rules deny the read,
        :class:`~medledger.NotFound` for an unknown or uncommitted id,
        :class:`~medledger.InputError` for an unknown purpose code.

        The library zeroizes its copy; the returned ``bytes`` is an
        ordinary Python object."""
        rid = as_id(record_id, "record_id")
        why = _purpose(purpose, "purpose")
        out = _ffi.BufferPtr()
        with self._borrow() as ledger, borrow(reader, Keypair, "reader") as r:
            check(lib.medledger_ledger_read_record(ledger, r, rid, why, ctypes.byref(out)))
        return _ffi.take_buffer(out)

    def read_records(self, reader: Keypair, record_ids: Sequence,
                     purpose: Union[Purpose, str] = Purpose.TREAT) -> List[bytes]:
        """Decrypts several committed records for ``reader`` and one
        ``purpose``, as :meth:`read_record` does each, but with one access
        record (one transaction, one commit) for them all. Returns their
        plaintexts, in order.

        Each record is decided on its own. When any is refused, raises the
        exception :meth:`read_record` would have raised for the first
        refused one (:class:`~medledger.AccessDenied` with its ``reason``,
        :class:`~medledger.NotFound`, ...), with two more attributes:
        ``index``, its position in ``record_ids``, and ``results``, one
        item per id: the plaintext ``bytes`` of each permitted read (they
        were disclosed and are recorded as such) or the exception of each
        refused one. Raises :class:`~medledger.InputError` for no ids or
        more than 1024."""
        ids = _ids(record_ids, "record_ids")
        why = _purpose(purpose, "purpose")
        out = _ffi.BufferPtr()
        with self._borrow() as ledger, borrow(reader, Keypair, "reader") as r:
            check(lib.medledger_ledger_read_records(ledger, r, ids, len(ids) // _ffi.ID_LEN,
                                                    why, ctypes.byref(out)))
        results = _read_results(_ffi.take_buffer(out))
        for i, item in enumerate(results):
            if isinstance(item, Exception):
                item.index, item.results = i, results
                raise item
        return results

    # ---- node keys ------------------------------------------------------------------

    def attach_validators(self, validators: Sequence[Keypair]) -> None:
        """Gives this ledger validator keys (members of the validator set)
        to commit blocks with: reads and erasures then commit the record of
        their disclosure themselves. Replaces keys attached before; ``[]``
        detaches them. The ledger keeps its own reference to the keys: the
        Keypair objects may be closed at any time."""
        with self._borrow() as ledger, borrow_all(validators, Keypair, "validators") as ptrs:
            arr = (_ffi.KeypairPtr * max(len(ptrs), 1))(*ptrs)
            check(lib.medledger_ledger_attach_validators(ledger, arr, len(ptrs)))

    def attach_custodian(self, custodian: Keypair) -> None:
        """Gives this ledger its institution's custodian key (a registered
        :attr:`Role.CUSTODIAN`): it releases escrowed keys to providers
        reading under an active break-glass declaration. The ledger keeps
        its own reference to the key."""
        with self._borrow() as ledger, borrow(custodian, Keypair, "custodian") as c:
            check(lib.medledger_ledger_attach_custodian(ledger, c))

    def now(self) -> int:
        """The ledger's clock, ms since the Unix epoch (what consent
        periods and break-glass windows are measured against)."""
        out = ctypes.c_uint64()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_now(ledger, ctypes.byref(out)))
        return out.value

    def set_manual_time(self, ms: Optional[int]) -> None:
        """For tests and simulations: this ledger's clock reads ``ms`` (ms
        since the Unix epoch) from now on, until set again; ``None`` returns
        it to the wall clock. The clock stamps transactions and blocks and
        decides consent periods and break-glass windows. Move it forward
        only: once a block is committed at a later time, transactions
        stamped more than 5 minutes before it are refused
        (:class:`~medledger.Rejected`)."""
        value = _ffi.WALL_CLOCK if ms is None else _u64(ms, "ms")
        if ms is not None and value == _ffi.WALL_CLOCK:
            raise ValueError("ms must be positive (None returns to the wall clock)")
        with self._borrow() as ledger:
            check(lib.medledger_ledger_set_manual_time(ledger, value))

    # ---- consents ---------------------------------------------------------------------

    def grant(self, author: Keypair, grantee, *, patient=None,
              actions: int = Action.READ,
              purposes: Union[str, Purpose, Sequence[Union[str, Purpose]]] = Purpose.TREAT,
              categories: Union[str, Sequence[str]] = "*",
              records: Sequence = (),
              not_before: Optional[int] = None,
              not_after: Optional[int] = None) -> bytes:
        """The patient (or a guardian, signing with ``author``) grants
        ``grantee`` (a Keypair or a participant id) a consent; returns the
        32-byte consent id (for :meth:`revoke`). In effect once committed.

        - ``patient``: whose records (default: ``author`` itself);
        - ``actions``: :class:`Action` bits (default read only);
        - ``purposes``: one :class:`Purpose` or code, or a sequence of them;
        - ``categories``: ``"*"`` for every category (also later ones), a
          sequence of category codes, or ``()`` with ``records``;
        - ``records``: record ids, for a read-only record-level consent;
        - ``not_before``/``not_after``: validity in ms since the Unix epoch
          (default: from :meth:`now` for :data:`YEAR_MS`).
        """
        grantee_id = _participant(grantee, "grantee")
        if not isinstance(author, Keypair):
            raise TypeError(f"author must be Keypair, not {type(author).__name__}")
        patient_id = _participant(author if patient is None else patient, "patient")
        actions = as_u32(actions, "actions")
        purposes_b = _purposes(purposes)
        categories_b = _categories(categories)
        ids = _ids(records, "records")
        if not_before is not None:
            not_before = _u64(not_before, "not_before")
        if not_after is not None:
            not_after = _u64(not_after, "not_after")
        if not_before is None:
            not_before = self.now()
        if not_after is None:
            not_after = not_before + YEAR_MS
        out = (ctypes.c_uint8 * _ffi.ID_LEN)()
        with self._borrow() as ledger, borrow(author, Keypair, "author") as a:
            check(lib.medledger_ledger_grant(ledger, a, patient_id, grantee_id, actions,
                                             purposes_b, categories_b, ids or None,
                                             len(ids) // _ffi.ID_LEN, not_before, not_after,
                                             out))
        return bytes(out)

    def revoke(self, author: Keypair, consent_id) -> None:
        """The patient (or a guardian) revokes a consent: the grantee's
        reads under it are denied (reason ``"revoked"``) from then on."""
        cid = as_id(consent_id, "consent_id")
        with self._borrow() as ledger, borrow(author, Keypair, "author") as a:
            check(lib.medledger_ledger_revoke(ledger, a, cid))

    def share_keys(self, author: Keypair, patient=None) -> int:
        """The patient (or a guardian) gives the current keys of every
        category of ``patient`` (default: ``author``) to entitled readers
        missing them (a guardian or custodian added later), and re-keys
        categories held by someone no longer entitled. Returns the number of
        shares made (0: nothing to do, no transaction)."""
        if not isinstance(author, Keypair):
            raise TypeError(f"author must be Keypair, not {type(author).__name__}")
        pid = _participant(author if patient is None else patient, "patient")
        out = ctypes.c_size_t()
        with self._borrow() as ledger, borrow(author, Keypair, "author") as a:
            check(lib.medledger_ledger_share_keys(ledger, a, pid, ctypes.byref(out)))
        return out.value

    def break_glass(self, provider: Keypair, patient, reason: Union[Purpose, str],
                    justification: str, duration_ms: int) -> bytes:
        """A provider declares an emergency for ``patient``: for
        ``duration_ms`` it may read the patient's records for ``reason``
        (``"ETREAT"`` or ``"BTG"``) without consent, the keys released by
        the custodian attached to the node (:meth:`attach_custodian`). Every
        such read is flagged for review. ``justification`` is for the
        reviewer (1-256 bytes, no personal data). Returns the 32-byte
        declaration id."""
        pid = _participant(patient, "patient")
        why = _purpose(reason, "reason")
        text = as_text(justification, "justification")
        duration = _u64(duration_ms, "duration_ms")
        out = (ctypes.c_uint8 * _ffi.ID_LEN)()
        with self._borrow() as ledger, borrow(provider, Keypair, "provider") as p:
            check(lib.medledger_ledger_break_glass(ledger, p, pid, why, text, duration, out))
        return bytes(out)

    def _change(self, fn, author, author_name, *ids) -> None:
        with self._borrow() as ledger, borrow(author, Keypair, author_name) as a:
            check(fn(ledger, a, *ids))

    def add_guardian(self, author: Keypair, patient, guardian) -> None:
        """An admin, or the patient, appoints ``guardian`` (a registered
        :attr:`Role.GUARDIAN`) to act for ``patient``. The guardian receives
        the keys with the next :meth:`share_keys`."""
        self._change(lib.medledger_ledger_add_guardian, author, "author",
                     _participant(patient, "patient"), _participant(guardian, "guardian"))

    def remove_guardian(self, author: Keypair, patient, guardian) -> None:
        """An admin, or the patient, removes a guardian."""
        self._change(lib.medledger_ledger_remove_guardian, author, "author",
                     _participant(patient, "patient"), _participant(guardian, "guardian"))

    def suspend(self, admin: Keypair, participant) -> None:
        """An admin suspends a participant: no more transactions, and its
        reads are denied (reason ``"suspended"``)."""
        self._change(lib.medledger_ledger_suspend, admin, "admin",
                     _participant(participant, "participant"))

    def rotate_keys(self, author: Keypair, new_keys: Keypair) -> None:
        """Rotates a participant's keys to ``new_keys`` (from
        :meth:`Keypair.rotated`). ``author`` is the participant with its
        current keys, or an admin. The categories it held keys of move to
        new keys with the next write; the patient's :meth:`share_keys`
        seals their history to the new key."""
        with self._borrow() as ledger, borrow(author, Keypair, "author") as a, \
                borrow(new_keys, Keypair, "new_keys") as n:
            check(lib.medledger_ledger_rotate_keys(ledger, a, n))

    def reinstate(self, admin: Keypair, participant) -> None:
        """An admin lifts a suspension."""
        self._change(lib.medledger_ledger_reinstate, admin, "admin",
                     _participant(participant, "participant"))

    # ---- the access log -------------------------------------------------------------

    def evidence(self, record_id, include_ciphertext: bool = False) -> bytes:
        """The evidence bundle of a committed record (docs/FORMAT.md §9):
        everything a third party needs to check its transaction offline
        with :func:`verify_evidence`, optionally with its (still encrypted)
        ciphertext."""
        rid = as_id(record_id, "record_id")
        if not isinstance(include_ciphertext, bool):
            raise TypeError("include_ciphertext must be a bool")
        out = _ffi.BufferPtr()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_evidence(ledger, rid, include_ciphertext,
                                                ctypes.byref(out)))
        return _ffi.take_buffer(out)

    def checkpoint(self, signer: Keypair, key_name: str) -> str:
        """The sealed head as a C2SP tlog-checkpoint in signed-note form,
        signed by ``signer`` (a validator) under ``key_name``."""
        name = as_text(key_name, "key_name")
        out = _ffi.BufferPtr()
        with self._borrow() as ledger, borrow(signer, Keypair, "signer") as s:
            check(lib.medledger_ledger_checkpoint(ledger, s, name, ctypes.byref(out)))
        return _ffi.take_buffer(out).decode("utf-8")

    @property
    def log_size(self) -> int:
        """The number of transactions in committed blocks (the head block's
        log size): a size :meth:`consistency_proof` takes."""
        out = ctypes.c_uint64()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_log_size(ledger, ctypes.byref(out)))
        return out.value

    def log_root(self, size: int) -> bytes:
        """The 32-byte Merkle root of the first ``size`` committed
        transactions (for a committed block's log size, the root its sealed
        header signs)."""
        n = _u64(size, "size")
        out = (ctypes.c_uint8 * _ffi.ID_LEN)()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_log_root(ledger, n, out))
        return bytes(out)

    def consistency_proof(self, size1: int, size2: int) -> bytes:
        """The RFC 9162 consistency proof between two committed block log
        sizes (``0 < size1 <= size2``): 32-byte hashes back to back, checked
        by :func:`verify_consistency`. Raises
        :class:`~medledger.InputError` for a size that is not a committed
        block's."""
        s1, s2 = _u64(size1, "size1"), _u64(size2, "size2")
        out = _ffi.BufferPtr()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_consistency_proof(ledger, s1, s2, ctypes.byref(out)))
        return _ffi.take_buffer(out)

    def inclusion_proof(self, leaf: int, size: int) -> bytes:
        """The RFC 9162 inclusion proof of the committed transaction at
        ``leaf`` in the log of ``size`` transactions (a committed block's
        log size, ``leaf < size``): 32-byte hashes back to back, checked by
        :func:`verify_inclusion`."""
        n, m = _u64(leaf, "leaf"), _u64(size, "size")
        out = _ffi.BufferPtr()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_inclusion_proof(ledger, n, m, ctypes.byref(out)))
        return _ffi.take_buffer(out)

    def record_inclusion(self, record_id) -> Inclusion:
        """The inclusion proof of the transaction holding a committed
        record, against the current head's log size."""
        rid = as_id(record_id, "record_id")
        leaf, size, out = ctypes.c_uint64(), ctypes.c_uint64(), _ffi.BufferPtr()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_record_inclusion(ledger, rid, ctypes.byref(leaf),
                                                        ctypes.byref(size), ctypes.byref(out)))
        return Inclusion(leaf.value, size.value, _ffi.take_buffer(out))

    def transaction(self, leaf: int) -> bytes:
        """The encoded signed transaction at a committed log index (not
        0, the genesis): the bytes an inclusion proof proves."""
        n = _u64(leaf, "leaf")
        out = _ffi.BufferPtr()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_transaction(ledger, n, ctypes.byref(out)))
        return _ffi.take_buffer(out)

    def access_log(self, requester, patient) -> List[dict]:
        """Every committed read attempt on ``patient``'s records ("who saw
        my record"), oldest first, as dicts with the keys ``reader``,
        ``patient``, ``record`` (hex ids), ``category``, ``purpose``,
        ``decision`` (``"permit"``/``"deny"``), ``basis`` and ``consent`` /
        ``break_glass`` for permits, ``reason`` and ``status`` for denials,
        ``time`` (ms), ``height``, ``tx_index``, ``leaf``. ``requester`` (a
        Keypair or id) must be the patient, a guardian or an auditor."""
        return self._patient_query(lib.medledger_ledger_access_log_json, requester, patient)

    def consents(self, requester, patient) -> List[dict]:
        """The consents of ``patient`` (active, expired, revoked) as dicts:
        ``id``, ``patient``, ``grantee``, ``granted_by`` (hex), ``actions``
        (bits), ``purposes`` (codes), ``all_categories``, ``categories``,
        ``records``, ``not_before``, ``not_after``, ``granted_at``,
        ``revoked_at`` (None unless revoked), ``height``, ``leaf``."""
        return self._patient_query(lib.medledger_ledger_consents_json, requester, patient)

    def _patient_query(self, fn, requester, patient):
        rid, pid = _participant(requester, "requester"), _participant(patient, "patient")
        out = _ffi.BufferPtr()
        with self._borrow() as ledger:
            check(fn(ledger, rid, pid, ctypes.byref(out)))
        return _take_json(out)

    def access_log_fhir(self, requester, patient) -> dict:
        """:meth:`access_log` as a FHIR R5 ``Bundle`` (type ``searchset``)
        of ``AuditEvent`` resources, one per attempt, as a dict (same
        requesters)."""
        return self._patient_query(lib.medledger_ledger_access_log_fhir, requester, patient)

    def consents_fhir(self, requester, patient) -> dict:
        """:meth:`consents` as a FHIR R5 ``Bundle`` (type ``searchset``)
        of ``Consent`` resources (``active``, or ``inactive`` once revoked
        or expired), as a dict (same requesters)."""
        return self._patient_query(lib.medledger_ledger_consents_fhir, requester, patient)

    def break_glass_reviews(self, requester) -> List[dict]:
        """Every committed read made under break-glass, for review, as
        access-log dicts. ``requester`` must be an auditor or an admin."""
        rid = _participant(requester, "requester")
        out = _ffi.BufferPtr()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_break_glass_reviews_json(ledger, rid, ctypes.byref(out)))
        return _take_json(out)

    # ---- erasure ----------------------------------------------------------------------

    def erase(self, author: Keypair, record_ids: Sequence) -> List[ErasureReceipt]:
        """Erases record versions (the patient, a guardian or the author):
        waits for the erase transaction to commit, removes the ciphertexts
        and returns one signed :class:`ErasureReceipt` per record. Needs a
        validator key attached (:meth:`attach_validators`) to sign them."""
        ids = _ids(record_ids, "record_ids")
        out = _ffi.BufferPtr()
        with self._borrow() as ledger, borrow(author, Keypair, "author") as a:
            check(lib.medledger_ledger_erase(ledger, a, ids, len(ids) // _ffi.ID_LEN,
                                             ctypes.byref(out)))
        data = _ffi.take_buffer(out)
        n = _ffi.ERASURE_RECEIPT_LEN
        return [ErasureReceipt.from_bytes(data[i:i + n]) for i in range(0, len(data), n)]

    def verify_erasure_receipt(self, receipt: Union[ErasureReceipt, bytes]) -> None:
        """Checks a receipt against this ledger and its validator set;
        raises (:class:`~medledger.BadSignature` for a modified one)."""
        data = bytes(receipt) if isinstance(receipt, ErasureReceipt) else as_bytes(
            receipt, "receipt")
        with self._borrow() as ledger:
            check(lib.medledger_ledger_verify_erasure_receipt(ledger, data, len(data)))

    # ---- blocks and verification -----------------------------------------------

    def set_validators(self, admin: Keypair, threshold: int, members: Sequence) -> None:
        """``admin`` changes the validator set to ``members`` (Keypairs or
        32-byte public signing keys of registered validators) with
        ``threshold`` seals per block, from the block after the one holding
        the change. Nodes seal the change only once their operators
        approved its :func:`validator_set_hash`
        (:meth:`~medledger.consortium.Node.approve_validator_set`)."""
        keys = _signing_keys(members, "members")
        t = as_u32(threshold, "threshold")
        with self._borrow() as ledger, borrow(admin, Keypair, "admin") as a:
            check(lib.medledger_ledger_set_validators(ledger, a, t, keys,
                                                      len(keys) // _ffi.PUBLIC_KEY_LEN))

    def commit_block(self, validators: Sequence[Keypair]) -> int:
        """Seals every pending transaction into a block with
        ``validators`` and commits it; returns the block height."""
        height = ctypes.c_uint64()
        with self._borrow() as ledger, borrow_all(validators, Keypair, "validators") as ptrs:
            arr = (_ffi.KeypairPtr * max(len(ptrs), 1))(*ptrs)
            check(lib.medledger_ledger_commit_block(ledger, arr, len(ptrs), ctypes.byref(height)))
        return height.value

    def submit(self, tx, payloads: Sequence = ()) -> int:
        """Submits a transaction built and signed elsewhere: ``tx`` is the
        encoded signed transaction (as :meth:`transaction` returns one),
        ``payloads`` the ciphertexts of its records (bytes-like, matched by
        digest). Checked like any transaction (signature, every rule; a
        transaction already in the log is a replay,
        :class:`~medledger.Rejected`); returns the log index it will
        occupy once committed."""
        data = as_bytes(tx, "tx")
        cts = [as_bytes(p, f"payloads[{i}]") for i, p in
               enumerate(_sequence(payloads, "payloads", "bytes-like ciphertexts"))]
        ptrs = (ctypes.c_char_p * max(len(cts), 1))(*cts)
        lens = (ctypes.c_size_t * max(len(cts), 1))(*(len(c) for c in cts))
        leaf = ctypes.c_uint64()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_submit(ledger, data, len(data), ptrs, lens, len(cts),
                                              ctypes.byref(leaf)))
        return leaf.value

    def propose(self) -> bytes:
        """The encoded header (166 bytes) of the next block over every
        pending transaction, for validators to seal with
        :func:`seal_header` and :meth:`commit` to commit."""
        out = _ffi.BufferPtr()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_propose(ledger, ctypes.byref(out)))
        return _ffi.take_buffer(out)

    def commit(self, header, seals: Sequence) -> None:
        """Commits the proposed block ``header`` (from :meth:`propose`) with
        ``seals`` (66 bytes each, from :func:`seal_header`, any order),
        which must reach the validator set's threshold
        (:class:`~medledger.MissingQuorum` otherwise; a seal that does not
        verify or a stale header is :class:`~medledger.InputError`)."""
        h = as_bytes(header, "header")
        parts = [as_bytes(s, f"seals[{i}]") for i, s in
                 enumerate(_sequence(seals, "seals", "66-byte seals"))]
        for i, part in enumerate(parts):
            if len(part) != _ffi.SEAL_LEN:
                raise ValueError(f"seals[{i}] must be {_ffi.SEAL_LEN} bytes, not {len(part)}")
        packed = b"".join(parts)
        with self._borrow() as ledger:
            check(lib.medledger_ledger_commit(ledger, h, len(h), packed, len(parts)))

    def participant(self, participant) -> dict:
        """A registered participant (a Keypair or 32-byte id) as a dict:
        ``id``, ``roles`` (bits), ``label``, ``sign_key``, ``enc_key``
        (hex, the current keys), ``escrow_opt_out``. Raises
        :class:`~medledger.NotFound` when not registered."""
        pid = _participant(participant, "participant")
        out = _ffi.BufferPtr()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_participant_json(ledger, pid, ctypes.byref(out)))
        return _take_json(out)

    def validators(self) -> dict:
        """The validator set sealing the next block: ``threshold``,
        ``members`` (dicts of ``id`` and ``key`` in hex, in index order:
        a member's position is its ``validator_index`` for
        :func:`seal_header`) and ``hash`` (:func:`validator_set_hash`)."""
        out = _ffi.BufferPtr()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_validators_json(ledger, ctypes.byref(out)))
        return _take_json(out)

    def head(self) -> dict:
        """The last committed block header: ``ledger_id``, ``height``,
        ``prev_hash``, ``timestamp``, ``first_leaf``, ``tx_count``,
        ``log_size``, ``log_root``, ``validator_set_hash`` and its
        ``hash`` (hex digests)."""
        out = _ffi.BufferPtr()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_head_json(ledger, ctypes.byref(out)))
        return _take_json(out)

    def verify(self) -> Report:
        """Replays the whole chain from genesis; the :class:`Report` says
        whether and where it is damaged."""
        out = _ffi.ReportPtr()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_verify(ledger, ctypes.byref(out)))
        return Report(out)

    @property
    def head_height(self) -> int:
        """Height of the last committed block."""
        height = ctypes.c_uint64()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_head_height(ledger, ctypes.byref(height)))
        return height.value

    @property
    def id(self) -> bytes:
        """The 32-byte ledger id (hash of its genesis)."""
        out = (ctypes.c_uint8 * _ffi.ID_LEN)()
        with self._borrow() as ledger:
            check(lib.medledger_ledger_id(ledger, out))
        return bytes(out)

    def __repr__(self) -> str:
        return "Ledger(<closed>)" if self.closed else f"Ledger(id={self.id.hex()[:16]}...)"


def verify_evidence(bundle, ledger_id=None) -> dict:
    """Verifies an evidence bundle offline (no ledger needed) and returns
    what it proves (ledger id, leaf, height, header hash, seals, records,
    author, ...). With ``ledger_id`` the bundle must be for that ledger.
    Raises :class:`~medledger.MalformedInput` for bytes that are not a
    bundle and :class:`~medledger.BadProof` for one that does not verify."""
    data = as_bytes(bundle, "bundle")
    lid = None if ledger_id is None else as_id(ledger_id, "ledger_id")
    out = _ffi.BufferPtr()
    check(lib.medledger_evidence_verify(data, len(data), lid, ctypes.byref(out)))
    return _take_json(out)


def verify_consistency(size1: int, size2: int, root1, root2, proof) -> None:
    """Checks offline that ``root1`` (of a log of ``size1`` transactions)
    and ``root2`` (of ``size2``) are roots of one append-only log, with a
    proof from :meth:`Ledger.consistency_proof`. Raises
    :class:`~medledger.BadProof` when it does not verify and
    :class:`~medledger.MalformedInput` for a length that is not a multiple
    of 32."""
    s1, s2 = _u64(size1, "size1"), _u64(size2, "size2")
    r1, r2 = as_id(root1, "root1"), as_id(root2, "root2")
    data = as_bytes(proof, "proof")
    check(lib.medledger_verify_consistency(s1, s2, r1, r2, data, len(data)))


def verify_inclusion(leaf: int, size: int, root, tx, proof) -> None:
    """Checks offline that ``tx`` (from :meth:`Ledger.transaction`) is the
    transaction at ``leaf`` of the log of ``size`` transactions whose root
    is ``root``, with a proof from :meth:`Ledger.inclusion_proof` or
    :meth:`Ledger.record_inclusion`. Raises :class:`~medledger.BadProof`
    when it does not verify."""
    n, m = _u64(leaf, "leaf"), _u64(size, "size")
    r = as_id(root, "root")
    t, p = as_bytes(tx, "tx"), as_bytes(proof, "proof")
    check(lib.medledger_verify_inclusion(n, m, r, t, len(t), p, len(p)))


def validator_set_hash(threshold: int, members: Sequence) -> bytes:
    """The 32-byte hash of the validator set of ``threshold`` and
    ``members`` (Keypairs or 32-byte public signing keys, any order): what
    each validator's operator approves before a change to it is sealed."""
    keys = _signing_keys(members, "members")
    t = as_u32(threshold, "threshold")
    out = (ctypes.c_uint8 * _ffi.ID_LEN)()
    check(lib.medledger_validator_set_hash(t, keys, len(keys) // _ffi.PUBLIC_KEY_LEN, out))
    return bytes(out)


def seal_header(header, validator: Keypair, validator_index: int) -> bytes:
    """Seals an encoded block header (from :meth:`Ledger.propose`) as the
    validator at ``validator_index`` of the set in force (its position in
    :meth:`Ledger.validators`), signing with ``validator``: returns the
    66-byte seal for :meth:`Ledger.commit`. Offline; a validator must
    never seal two different headers at one height."""
    h = as_bytes(header, "header")
    index = as_u32(validator_index, "validator_index")
    out = (ctypes.c_uint8 * _ffi.SEAL_LEN)()
    with borrow(validator, Keypair, "validator") as k:
        check(lib.medledger_seal_header(h, len(h), k, index, out))
    return bytes(out)


def cosign_checkpoint(note: str, log_key: NoteKey, witness: Keypair, witness_name: str,
                      timestamp: int) -> str:
    """A witness checks ``note`` (from :meth:`Ledger.checkpoint`) against
    the log's key and returns it with its cosignature (C2SP
    tlog-cosignature) at ``timestamp`` (seconds since the Unix epoch)
    appended. Raises :class:`~medledger.BadSignature` when the log did not
    sign it."""
    data = as_text(note, "note")
    keys = _note_keys([log_key], "log_key")
    name = as_text(witness_name, "witness_name")
    t = _u64(timestamp, "timestamp")
    out = _ffi.BufferPtr()
    with borrow(witness, Keypair, "witness") as w:
        check(lib.medledger_checkpoint_cosign(data, len(data), keys, w, name, t,
                                              ctypes.byref(out)))
    return _ffi.take_buffer(out).decode("utf-8")


def open_checkpoint(note: str, keys: Sequence[NoteKey]) -> dict:
    """Verifies a checkpoint note against known keys (the log's and
    witnesses') and returns ``{"origin", "size", "root" (hex),
    "signatures": [{"name", "key_id", "cosigner", "timestamp"}]}``, the
    known keys that signed. Raises :class:`~medledger.BadSignature` when
    none did or a known key's signature does not verify."""
    data = as_text(note, "note")
    arr = _note_keys(keys, "keys")
    out = _ffi.BufferPtr()
    check(lib.medledger_checkpoint_open(data, len(data), arr, len(keys), ctypes.byref(out)))
    return _take_json(out)
