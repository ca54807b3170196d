"""Report: the outcome of Ledger.verify()."""

from __future__ import annotations

import enum
from typing import NamedTuple, Optional

from ._handle import Handle
from ._ffi import lib


class FaultKind(enum.IntEnum):
    """Stable fault-kind codes (``MEDLEDGER_FAULT_*``)."""

    NONE = 0
    MALFORMED = 1
    UNSUPPORTED = 2
    BAD_SIGNATURE = 3
    HASH_MISMATCH = 4
    BROKEN_LINK = 5
    MISSING_QUORUM = 6
    REPLAYED_SEQUENCE = 7
    REORDERED = 8
    UNAUTHORISED = 9
    INVALID_TRANSACTION = 10
    PAYLOAD_MISSING = 11
    PAYLOAD_TAMPERED = 12
    TRUNCATED = 13
    WRONG_LEDGER = 14


class Fault(NamedTuple):
    """The first fault verification found, and exactly where."""

    kind: int
    """A :class:`FaultKind` (a plain int for codes newer than this module)."""
    height: int
    tx_index: Optional[int]
    record_index: Optional[int]
    field: str
    offset: Optional[int]
    message: str


def _opt(v: int) -> Optional[int]:
    return None if v < 0 else v


class Report(Handle):
    """What :meth:`Ledger.verify` checked and the first fault, if any.

    Damage is reported here (``ok`` is False), not raised. Immutable; safe
    to read from several threads.
    """

    _free_name = "medledger_report_free"

    def _get(self, fn):
        with self._borrow() as r:
            return fn(r)

    @property
    def ok(self) -> bool:
        """True when no fault was found."""
        return bool(self._get(lib.medledger_report_ok))

    def __bool__(self) -> bool:
        return self.ok

    @property
    def blocks(self) -> int:
        """Blocks fully verified."""
        return self._get(lib.medledger_report_blocks)

    @property
    def transactions(self) -> int:
        """Transactions verified."""
        return self._get(lib.medledger_report_transactions)

    @property
    def records(self) -> int:
        """Record headers verified."""
        return self._get(lib.medledger_report_records)

    @property
    def payloads(self) -> int:
        """Payload ciphertexts checked against their digests."""
        return self._get(lib.medledger_report_payloads)

    @property
    def erased(self) -> int:
        """Records whose payload an erase transaction removed."""
        return self._get(lib.medledger_report_erased)

    @property
    def erased_still_stored(self) -> int:
        """Erased payloads still in the vault (an erasure not carried out)."""
        return self._get(lib.medledger_report_erased_still_stored)

    @property
    def signatures(self) -> int:
        """Signatures verified (transactions and seals)."""
        return self._get(lib.medledger_report_signatures)

    @property
    def fault(self) -> Optional[Fault]:
        """The first fault, or None."""
        with self._borrow() as r:
            code = lib.medledger_report_fault_kind(r)
            if code == FaultKind.NONE:
                return None
            try:
                kind = FaultKind(code)
            except ValueError:
                kind = code
            return Fault(
                kind=kind,
                height=lib.medledger_report_fault_height(r),
                tx_index=_opt(lib.medledger_report_fault_tx_index(r)),
                record_index=_opt(lib.medledger_report_fault_record_index(r)),
                field=lib.medledger_report_fault_field(r).decode("utf-8", "replace"),
                offset=_opt(lib.medledger_report_fault_offset(r)),
                message=lib.medledger_report_fault_message(r).decode("utf-8", "replace"),
            )

    @property
    def summary(self) -> str:
        """One line for logs."""
        return self._get(lib.medledger_report_summary).decode("utf-8", "replace")

    def __str__(self) -> str:
        return self.summary

    def __repr__(self) -> str:
        return "Report(<closed>)" if self.closed else f"Report({self.summary!r})"
