"""Ledger: one node's view of a chain of medical records."""

from __future__ import annotations

import ctypes
import dataclasses
import enum
import os
from typing import Iterable, NamedTuple, Optional, Sequence, Union

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


class Founder(NamedTuple):
    """A founding participant of a new ledger (a plain 3-tuple works too)."""

    keypair: Keypair
    roles: int
    label: str


def _founders(founders: Iterable) -> list:
    if isinstance(founders, (str, bytes)) or not hasattr(founders, "__iter__"):
        raise TypeError("founders must be a sequence of (keypair, roles, label)")
    out = []
    for i, f in enumerate(founders):
        try:
            kp, roles, label = f
        except (TypeError, ValueError):
            raise TypeError(f"founders[{i}] must be a (keypair, roles, label) tuple") from None
        if not isinstance(kp, Keypair):
            raise TypeError(f"founders[{i}].keypair must be Keypair, not {type(kp).__name__}")
        out.append(Founder(kp, as_u32(roles, f"founders[{i}].roles"),
                           as_text(label, f"founders[{i}].label")))
    return out


def _create(fn, prefix_args, consortium_name, threshold, founders, sealers):
    """Shared by the create functions: builds the genesis arguments."""
    name = as_text(consortium_name, "consortium_name")
    threshold = as_u32(threshold, "threshold")
    fs = _founders(founders)
    out = _ffi.LedgerPtr()
    with borrow_all([f.keypair for f in fs], Keypair, "founders") as fptrs, \
            borrow_all(sealers, Keypair, "sealers") as sptrs:
        c_founders = (_ffi.medledger_founder * max(len(fs), 1))()
        for i, (f, p) in enumerate(zip(fs, fptrs)):
            c_founders[i] = _ffi.medledger_founder(p, f.roles, f.label)
        c_sealers = (_ffi.KeypairPtr * max(len(sptrs), 1))(*sptrs)
        check(fn(*prefix_args, name, threshold, c_founders, len(fs), c_sealers, len(sptrs),
                 ctypes.byref(out)))
    return out


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
    raise :class:`~medledger.MedledgerError` subclasses; a refused read is
    :class:`~medledger.AccessDenied`.
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
    ) -> "Ledger":
        """A new ledger held in memory.

        ``founders`` are ``(keypair, roles, label)``: at least one
        :attr:`Role.ADMIN`, and the :attr:`Role.VALIDATOR` founders form the
        validator set, ``threshold`` of whom must seal each block. Block 0
        is sealed at once by ``sealers``.
        """
        return cls(_create(lib.medledger_ledger_create_in_memory, (), consortium_name,
                           threshold, founders, sealers))

    @classmethod
    def create_dir(
        cls,
        path,
        consortium_name: str,
        threshold: int,
        founders: Sequence[Union[Founder, tuple]],
        sealers: Sequence[Keypair],
    ) -> "Ledger":
        """A new durable ledger in directory ``path`` (``str``, ``bytes`` or
        path-like; created with its parents if missing; it must not hold a
        ledger yet). Genesis arguments as :meth:`create_in_memory`.

        The ledger holds the directory's writer lock until it is closed:
        another writable open of the directory, in this process or another,
        raises :class:`~medledger.AccessDenied` meanwhile. A directory that
        already holds a ledger raises :class:`~medledger.InputError`."""
        return cls(_create(lib.medledger_ledger_create_dir, (_path(path),), consortium_name,
                           threshold, founders, sealers))

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
                 label: str) -> None:
        """``admin`` registers a participant, given as its Keypair or its
        :class:`PublicKeys`, with role bits and an operator-facing label
        (no personal data). Pending until the next :meth:`commit_block`."""
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
        with self._borrow() as ledger, borrow(admin, Keypair, "admin") as a:
            check(lib.medledger_ledger_register(ledger, a, sign, enc, roles, label_b))

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

    def read_record(self, reader: Keypair, record_id) -> bytes:
        """Decrypts a committed record for ``reader`` (the patient or the
        author). Raises :class:`~medledger.AccessDenied` for anyone else,
        :class:`~medledger.NotFound` for an unknown or uncommitted id.

        The library zeroizes its copy; the returned ``bytes`` is an
        ordinary Python object."""
        rid = as_id(record_id, "record_id")
        out = _ffi.BufferPtr()
        with self._borrow() as ledger, borrow(reader, Keypair, "reader") as r:
            check(lib.medledger_ledger_read_record(ledger, r, rid, ctypes.byref(out)))
        return _ffi.take_buffer(out)

    # ---- blocks and verification -----------------------------------------------

    def commit_block(self, validators: Sequence[Keypair]) -> int:
        """Seals every pending transaction into a block with
        ``validators`` and commits it; returns the block height."""
        height = ctypes.c_uint64()
        with self._borrow() as ledger, borrow_all(validators, Keypair, "validators") as ptrs:
            arr = (_ffi.KeypairPtr * max(len(ptrs), 1))(*ptrs)
            check(lib.medledger_ledger_commit_block(ledger, arr, len(ptrs), ctypes.byref(height)))
        return height.value

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
