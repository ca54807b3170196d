"""Statuses map to the exception hierarchy, by code and by group."""

import pytest

from medledger import (
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
    Role,
    Status,
    TamperedRecord,
    UnsupportedFormat,
    WeakKey,
    WrongPassphrase,
)
from medledger._ffi import lib
from medledger.errors import error_for_status

from conftest import FHIR


@pytest.mark.parametrize(
    "status, cls, group",
    [
        (100, InputError, InputError),
        (101, InputError, InputError),
        (102, InputError, InputError),
        (103, MalformedInput, InputError),
        (104, UnsupportedFormat, InputError),
        (105, UnsupportedFormat, InputError),
        (200, BadSignature, CryptoError),
        (201, DecryptionFailed, CryptoError),
        (202, WrongPassphrase, CryptoError),
        (203, WeakKey, CryptoError),
        (204, BadProof, CryptoError),
        (300, Rejected, LedgerError),
        (301, AccessDenied, LedgerError),
        (302, NotFound, LedgerError),
        (303, MissingQuorum, LedgerError),
        (304, CorruptLedger, LedgerError),
        (305, TamperedRecord, CorruptLedger),
        (306, Equivocation, LedgerError),
        (310, AccessDenied, LedgerError),
        (311, AccessDenied, LedgerError),
        (312, AccessDenied, LedgerError),
        (313, AccessDenied, LedgerError),
        (314, AccessDenied, LedgerError),
        (315, AccessDenied, LedgerError),
        (316, AccessDenied, LedgerError),
        (400, PeerUnreachable, PeerUnreachable),
        (900, InternalError, InternalError),
        (901, InternalError, InternalError),
    ],
)
def test_every_status_has_its_class(status, cls, group):
    e = error_for_status(status, "why")
    assert type(e) is cls and isinstance(e, group) and isinstance(e, MedledgerError)
    assert e.status == status and e.message == "why"
    # The Python names agree with the C ones.
    assert lib.medledger_status_name(status).decode() == e.status_name


def test_access_denied_reasons():
    assert error_for_status(301, "x").reason is None
    reasons = {s: error_for_status(s, "x").reason for s in range(310, 317)}
    assert reasons == {
        310: "no_consent",
        311: "expired",
        312: "not_yet_valid",
        313: "wrong_purpose",
        314: "revoked",
        315: "suspended",
        316: "erased",
    }
    # An unknown 3xx code stays a LedgerError, not an AccessDenied.
    assert type(error_for_status(317, "x")) is LedgerError


def test_status_enum_is_complete():
    for s in Status:
        name = lib.medledger_status_name(s).decode()
        assert name == ("MEDLEDGER_OK" if s == 0 else "MEDLEDGER_ERR_" + s.name)


def test_unknown_codes_fall_back_to_their_group():
    assert type(error_for_status(199, "")) is InputError
    assert type(error_for_status(250, "")) is CryptoError
    assert type(error_for_status(399, "x")) is LedgerError
    assert type(error_for_status(450, "")) is PeerUnreachable
    assert type(error_for_status(950, "")) is InternalError
    assert type(error_for_status(555, "")) is MedledgerError
    assert error_for_status(399, "x").status_name == "MEDLEDGER_ERR_UNKNOWN"


def test_closed_error_is_also_a_value_error():
    assert issubclass(ClosedError, ValueError) and issubclass(ClosedError, MedledgerError)


def test_errors_from_c_carry_the_library_message(consortium):
    c = consortium
    with pytest.raises(InputError) as info:  # category syntax is checked in C
        c.ledger.append_record(c.hospital_a, c.patient.id, "Lab!", FHIR, b"{}")
    assert info.value.status == Status.INVALID_ARGUMENT
    assert "category" in info.value.message
    with pytest.raises(InputError) as info:  # labels are at most 128 bytes
        c.ledger.register(c.admin, c.other_patient, Role.PATIENT, "x" * 129)
    with pytest.raises(InputError):  # unknown role bits
        c.ledger.register(c.admin, c.other_patient, 0x80, "x")
    with pytest.raises(Rejected):  # only an admin registers
        c.ledger.register(c.hospital_a, c.other_patient, Role.PATIENT, "x")
    with pytest.raises(MissingQuorum) as info:
        c.ledger.commit_block([c.validators[0]])
    assert "needed" in info.value.message
    with pytest.raises(AccessDenied):  # not a validator
        c.ledger.commit_block([c.validators[0], c.hospital_a])
