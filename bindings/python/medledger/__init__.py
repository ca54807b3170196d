"""Python bindings for medledger: an embeddable, tamper-evident, encrypted
ledger of medical records.

The bindings wrap the C API (``include/medledger.h``) with :mod:`ctypes`.
The shared library is found through the ``MEDLEDGER_LIB`` environment
variable, or else as ``target/release/libmedledger.so`` (then
``target/debug``) in the repository this package lives in; build it with
``cargo build --release``.

Example::

    from medledger import Action, Keypair, Ledger, Role

    admin, validator, hospital, patient = (Keypair.generate() for _ in range(4))
    with Ledger.create_in_memory(
        "demo consortium", 1,
        founders=[(admin, Role.ADMIN, "registration desk"),
                  (validator, Role.VALIDATOR, "validator")],
        sealers=[validator],
    ) as ledger:
        # Reads are recorded and committed before plaintext is released:
        # this node commits with its own validator key.
        ledger.attach_validators([validator])
        ledger.register(admin, hospital, Role.PROVIDER, "St. Mary EHR")
        ledger.register(admin, patient, Role.PATIENT, "patient app")
        # The patient consents to treatment at the hospital.
        ledger.grant(patient, hospital, actions=Action.ALL, purposes="TREAT")
        ledger.commit_block([validator])
        rid = ledger.append_record(hospital, patient.id, "lab",
                                   "application/fhir+json", b'{"value": 5.1}')
        ledger.commit_block([validator])
        assert ledger.read_record(patient, rid, "PATRQT") == b'{"value": 5.1}'
        assert ledger.access_log(patient, patient)[0]["decision"] == "permit"
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
    Equivocation,
    InputError,
    InternalError,
    LedgerError,
    MalformedInput,
    MedledgerError,
    MissingQuorum,
    NotFound,
    PeerUnreachable,
    Rejected,
    Status,
    TamperedRecord,
    UnsupportedFormat,
    WeakKey,
    WrongPassphrase,
)
from .keypair import Keypair, PublicKeys
from .ledger import (
    DEFAULT_MAX_BREAK_GLASS_MS,
    YEAR_MS,
    Action,
    ErasureReceipt,
    Founder,
    Inclusion,
    Ledger,
    NoteKey,
    OpenReport,
    Purpose,
    Role,
    cosign_checkpoint,
    open_checkpoint,
    seal_header,
    validator_set_hash,
    verify_consistency,
    verify_evidence,
    verify_inclusion,
)
from .report import Fault, FaultKind, Report
from ._ffi import library_version
from . import consortium

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "Action",
    "ErasureReceipt",
    "BadProof",
    "BadSignature",
    "ClosedError",
    "CorruptLedger",
    "CryptoError",
    "DEFAULT_MAX_BREAK_GLASS_MS",
    "DecryptionFailed",
    "Equivocation",
    "Fault",
    "FaultKind",
    "Founder",
    "Inclusion",
    "InputError",
    "InternalError",
    "Keypair",
    "Ledger",
    "LedgerError",
    "MalformedInput",
    "MedledgerError",
    "MissingQuorum",
    "NoteKey",
    "NotFound",
    "OpenReport",
    "PeerUnreachable",
    "PublicKeys",
    "Purpose",
    "Rejected",
    "Report",
    "Role",
    "Status",
    "TamperedRecord",
    "UnsupportedFormat",
    "WeakKey",
    "WrongPassphrase",
    "YEAR_MS",
    "consortium",
    "cosign_checkpoint",
    "library_version",
    "open_checkpoint",
    "seal_header",
    "validator_set_hash",
    "verify_consistency",
    "verify_evidence",
    "verify_inclusion",
]
