"""Python bindings for medledger: an embeddable, tamper-evident, encrypted
ledger of medical records.

The bindings wrap the C API (``include/medledger.h``) with :mod:`ctypes`.
The shared library is found through the ``MEDLEDGER_LIB`` environment
variable, or else as ``target/release/libmedledger.so`` (then
``target/debug``) in the repository this package lives in; build it with
``cargo build --release``.

Example::

    from medledger import Keypair, Ledger, Role

    admin, validator, hospital, patient = (Keypair.generate() for _ in range(4))
    with Ledger.create_in_memory(
        "demo consortium", 1,
        founders=[(admin, Role.ADMIN, "registration desk"),
                  (validator, Role.VALIDATOR, "validator")],
        sealers=[validator],
    ) as ledger:
        ledger.register(admin, hospital, Role.PROVIDER, "St. Mary EHR")
        ledger.register(admin, patient, Role.PATIENT, "patient app")
        ledger.commit_block([validator])
        rid = ledger.append_record(hospital, patient.id, "lab",
                                   "application/fhir+json", b'{"value": 5.1}')
        ledger.commit_block([validator])
        assert ledger.read_record(patient, rid) == b'{"value": 5.1}'
        with ledger.verify() as report:
            assert report.ok
"""

from .errors import (
    AccessDenied,
    BadProof,
    BadSignature,
    ClosedError,
    CorruptLedger,
    CryptoError,
    DecryptionFailed,
    InputError,
    InternalError,
    LedgerError,
    MalformedInput,
    MedledgerError,
    MissingQuorum,
    NotFound,
    Rejected,
    Status,
    TamperedRecord,
    UnsupportedFormat,
    WeakKey,
    WrongPassphrase,
)
from .keypair import Keypair, PublicKeys
from .ledger import Founder, Ledger, OpenReport, Role
from .report import Fault, FaultKind, Report
from ._ffi import library_version

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "BadProof",
    "BadSignature",
    "ClosedError",
    "CorruptLedger",
    "CryptoError",
    "DecryptionFailed",
    "Fault",
    "FaultKind",
    "Founder",
    "InputError",
    "InternalError",
    "Keypair",
    "Ledger",
    "LedgerError",
    "MalformedInput",
    "MedledgerError",
    "MissingQuorum",
    "NotFound",
    "OpenReport",
    "PublicKeys",
    "Rejected",
    "Report",
    "Role",
    "Status",
    "TamperedRecord",
    "UnsupportedFormat",
    "WeakKey",
    "WrongPassphrase",
    "library_version",
]
