"""Exceptions, one class per status group of the C API (docs/C-API.md).

Every exception raised for a failed C call carries the numeric ``status``,
its C name (``status_name``) and the library's message (the C
``medledger_last_error()`` of that call)::

    MedledgerError
    ├── InputError          1xx  the arguments (MalformedInput, UnsupportedFormat)
    ├── CryptoError         2xx  BadSignature, DecryptionFailed, WrongPassphrase,
    │                            WeakKey, BadProof
    ├── LedgerError         3xx  Rejected, AccessDenied (301, 310-316, with .reason),
    │                            NotFound, MissingQuorum, CorruptLedger (TamperedRecord),
    │                            Equivocation (with .evidence)
    ├── PeerUnreachable     4xx  a peer could not be reached or did not answer
    ├── InternalError       9xx  system failure or a bug (panic) in the library
    └── ClosedError              a handle used after close() (also a ValueError)

A status this version does not know is raised as the base class of its
group, so ``except LedgerError`` keeps working when codes are added.
"""

from __future__ import annotations

import enum


class Status(enum.IntEnum):
    """The stable status codes of the C API."""

    OK = 0
    NULL_POINTER = 100
    INVALID_UTF8 = 101
    INVALID_ARGUMENT = 102
    MALFORMED = 103
    UNSUPPORTED_VERSION = 104
    UNSUPPORTED_KIND = 105
    BAD_SIGNATURE = 200
    DECRYPT = 201
    WRONG_PASSPHRASE = 202
    WEAK_KEY = 203
    BAD_PROOF = 204
    REJECTED = 300
    ACCESS_DENIED = 301
    NOT_FOUND = 302
    MISSING_QUORUM = 303
    CORRUPT = 304
    TAMPERED = 305
    NO_CONSENT = 310
    CONSENT_EXPIRED = 311
    CONSENT_NOT_YET_VALID = 312
    WRONG_PURPOSE = 313
    CONSENT_REVOKED = 314
    SUSPENDED = 315
    ERASED = 316
    EQUIVOCATION = 306
    PEER_UNREACHABLE = 400
    SYSTEM = 900
    PANIC = 901


class MedledgerError(Exception):
    """A medledger call failed."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def status_name(self) -> str:
        """The C name of the status, e.g. ``MEDLEDGER_ERR_ACCESS_DENIED``."""
        try:
            return "MEDLEDGER_" + ("OK" if self.status == 0 else "ERR_" + Status(self.status).name)
        except ValueError:
            return "MEDLEDGER_ERR_UNKNOWN"

    def __str__(self) -> str:
        if self.status:
            return f"{self.message} [{self.status_name} ({self.status})]"
        return self.message


class InputError(MedledgerError):
    """1xx: an argument was refused (range, length, UTF-8, bytes that do not
    decode)."""


class MalformedInput(InputError):
    """103: bytes given to the library (a key file) do not decode."""


class UnsupportedFormat(InputError):
    """104/105: a format version or transaction kind this build does not
    read."""


class CryptoError(MedledgerError):
    """2xx: a cryptographic check failed."""


class BadSignature(CryptoError):
    """200: a signature does not verify."""


class DecryptionFailed(CryptoError):
    """201: wrong key, or the ciphertext was modified."""


class WrongPassphrase(CryptoError):
    """202: the passphrase does not open the key file (or it was modified)."""


class WeakKey(CryptoError):
    """203: a public key was rejected (non-canonical or small order)."""


class BadProof(CryptoError):
    """204: a Merkle proof does not verify."""


class LedgerError(MedledgerError):
    """3xx: the ledger rules or stored data."""


class Rejected(LedgerError):
    """300: the rules refused the transaction."""


#: Why a read was denied by the access rules, by status (310-316). The
#: names are those of the access log (``Ledger.access_log``).
DENY_REASONS = {
    310: "no_consent",
    311: "expired",
    312: "not_yet_valid",
    313: "wrong_purpose",
    314: "revoked",
    315: "suspended",
    316: "erased",
}


class AccessDenied(LedgerError):
    """301 and 310-316: the caller may not do this.

    A read refused by the access rules has a :attr:`reason` (its status is
    310-316, and the attempt is in the patient's access log):
    ``"no_consent"``, ``"expired"``, ``"not_yet_valid"``,
    ``"wrong_purpose"``, ``"revoked"``, ``"suspended"`` or ``"erased"``.
    Any other refusal (301: sealing with a key outside the validator set, a
    read through a read-only open, a break-glass read on a node without a
    custodian key, another writer holding a directory) has ``reason`` None.
    """

    @property
    def reason(self):
        """Why the access rules denied the read, or None (see the class)."""
        return DENY_REASONS.get(self.status)


class NotFound(LedgerError):
    """302: no such record, participant, block or payload."""


class MissingQuorum(LedgerError):
    """303: fewer validator seals than the threshold."""


class CorruptLedger(LedgerError):
    """304: stored data does not verify (opening a damaged ledger: the
    message names the fault and, in the ledger file, its byte offset)."""


class TamperedRecord(CorruptLedger):
    """305: one record's stored ciphertext does not match the digest
    committed on the chain (modified on disk); it is refused before
    decryption. The ledger stays usable. A subclass of
    :class:`CorruptLedger`, so ``except CorruptLedger`` catches both."""


class Equivocation(LedgerError):
    """306: a block a peer shipped conflicts with the block this ledger
    holds at its height, and validators signed both. The block was not
    imported. :attr:`evidence` holds the encoded evidence when the call
    returned it (``medledger.consortium.import_block``); check it with
    ``medledger.consortium.verify_equivocation``, which names the guilty
    validators."""

    #: The encoded evidence (``bytes``), or None.
    evidence = None


class PeerUnreachable(MedledgerError):
    """4xx: a peer could not be reached or did not answer (connection
    refused, timeout, closed, or a Python transport that raised). Nothing
    was changed by the failed exchange; try again later."""


class InternalError(MedledgerError):
    """9xx: the system failed (900) or the library hit a bug (901)."""


class ClosedError(MedledgerError, ValueError):
    """A handle was used after ``close()``. Raised in Python, before any C
    call."""


_BY_STATUS = {
    Status.NULL_POINTER: InputError,
    Status.INVALID_UTF8: InputError,
    Status.INVALID_ARGUMENT: InputError,
    Status.MALFORMED: MalformedInput,
    Status.UNSUPPORTED_VERSION: UnsupportedFormat,
    Status.UNSUPPORTED_KIND: UnsupportedFormat,
    Status.BAD_SIGNATURE: BadSignature,
    Status.DECRYPT: DecryptionFailed,
    Status.WRONG_PASSPHRASE: WrongPassphrase,
    Status.WEAK_KEY: WeakKey,
    Status.BAD_PROOF: BadProof,
    Status.REJECTED: Rejected,
    Status.ACCESS_DENIED: AccessDenied,
    Status.NO_CONSENT: AccessDenied,
    Status.CONSENT_EXPIRED: AccessDenied,
    Status.CONSENT_NOT_YET_VALID: AccessDenied,
    Status.WRONG_PURPOSE: AccessDenied,
    Status.CONSENT_REVOKED: AccessDenied,
    Status.SUSPENDED: AccessDenied,
    Status.ERASED: AccessDenied,
    Status.NOT_FOUND: NotFound,
    Status.MISSING_QUORUM: MissingQuorum,
    Status.CORRUPT: CorruptLedger,
    Status.TAMPERED: TamperedRecord,
    Status.EQUIVOCATION: Equivocation,
    Status.PEER_UNREACHABLE: PeerUnreachable,
    Status.SYSTEM: InternalError,
    Status.PANIC: InternalError,
}

_BY_GROUP = {1: InputError, 2: CryptoError, 3: LedgerError, 4: PeerUnreachable, 9: InternalError}


def error_for_status(status: int, message: str) -> MedledgerError:
    """The exception for a non-zero status."""
    cls = _BY_STATUS.get(status) or _BY_GROUP.get(status // 100, MedledgerError)
    return cls(message or f"medledger call failed with status {status}", status)
