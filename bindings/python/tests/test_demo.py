"""The demo scenario through Python: records from two hospitals, reads by
the patient and the author, a refused read, an amendment, a key backup and
a clean verification."""

import pytest

from medledger import (
    AccessDenied,
    FaultKind,
    Keypair,
    LedgerError,
    MalformedInput,
    MedledgerError,
    NotFound,
    Rejected,
    Purpose,
    Status,
    WrongPassphrase,
    library_version,
)

from conftest import FHIR

LAB = b'{"resourceType":"Observation","valueQuantity":{"value":6.8}}'
LAB_V2 = b'{"resourceType":"Observation","status":"corrected","valueQuantity":{"value":4.2}}'
IMAGING = b'{"resourceType":"DiagnosticReport","conclusion":"normal"}'


def test_version_matches_the_package():
    import medledger

    assert library_version() == medledger.__version__


def test_demo_scenario(consortium):
    c = consortium
    ledger = c.ledger
    assert ledger.head_height == 1
    assert len(ledger.id) == 32 and ledger.id != bytes(32)

    lab = ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, LAB)
    imaging = ledger.append_record(c.hospital_b, c.patient.id, "imaging", FHIR, IMAGING)
    assert len(lab) == 32 and lab != imaging
    with pytest.raises(NotFound):  # pending, not yet committed
        ledger.read_record(c.patient, lab, "PATRQT")
    assert c.commit() == 2

    # Each read is recorded and committed (by the attached validator keys)
    # before the plaintext is released.
    assert ledger.read_record(c.patient, lab, "PATRQT") == LAB
    assert ledger.head_height == 3
    assert ledger.read_record(c.hospital_a, lab) == LAB
    assert ledger.read_record(c.patient, imaging, Purpose.PATRQT) == IMAGING

    lab_v2 = ledger.amend_record(c.hospital_a, lab, FHIR, LAB_V2)
    height = c.commit()
    assert height == ledger.head_height
    assert ledger.read_record(c.patient, lab_v2) == LAB_V2
    assert ledger.read_record(c.patient, lab) == LAB
    with pytest.raises(Rejected):  # only the latest version may be amended
        ledger.amend_record(c.hospital_a, lab, FHIR, LAB_V2)

    with ledger.verify() as report:
        assert report.ok and bool(report)
        assert report.fault is None
        assert report.blocks == ledger.head_height + 1
        # genesis, 4 registrations, 2 grants; 2 appends, 1 amend; 5 reads
        assert report.transactions == 1 + 4 + 2 + 3 + 5
        assert report.records == 3
        assert report.payloads == 3
        assert report.signatures > 8
        assert report.summary.startswith(f"OK: {report.blocks} blocks")
        assert str(report) == report.summary


def test_denial_is_an_exception_with_status_and_reason(consortium):
    c = consortium
    rid = c.ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, LAB)
    c.commit()
    with pytest.raises(AccessDenied) as info:
        c.ledger.read_record(c.hospital_b, rid)
    e = info.value
    assert isinstance(e, LedgerError) and isinstance(e, MedledgerError)
    assert e.status == Status.NO_CONSENT == 310
    assert e.reason == "no_consent"
    assert e.status_name == "MEDLEDGER_ERR_NO_CONSENT"
    assert "may not read record" in e.message
    assert "MEDLEDGER_ERR_NO_CONSENT" in str(e)
    with pytest.raises(AccessDenied) as info:
        c.ledger.read_record(c.other_patient, rid)
    assert info.value.reason == "no_consent"
    # Another provider may not write the patient's lab records.
    with pytest.raises(Rejected):
        c.ledger.append_record(c.hospital_b, c.patient.id, "lab", FHIR, LAB)


def test_unknown_record_is_not_found(consortium):
    with pytest.raises(NotFound) as info:
        consortium.ledger.read_record(consortium.patient, bytes(32))
    assert info.value.status == 302


def test_key_backup_round_trip_and_wrong_passphrase(consortium):
    c = consortium
    rid = c.ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, LAB)
    c.commit()
    backup = c.patient.export_encrypted("correct horse battery staple")
    assert isinstance(backup, bytes) and len(backup) == 162
    with pytest.raises(WrongPassphrase) as info:
        Keypair.import_encrypted(backup, "guess")
    assert info.value.status == 202
    with pytest.raises(MalformedInput):
        Keypair.import_encrypted(backup[:-1], "correct horse battery staple")
    # str and bytes passphrases are the same UTF-8 bytes.
    with Keypair.import_encrypted(bytearray(backup), b"correct horse battery staple") as kp:
        assert kp.id == c.patient.id
        assert kp.public_keys == c.patient.public_keys
        assert c.ledger.read_record(kp, rid) == LAB
    unicode = c.hospital_a.export_encrypted("pässwörd")
    with Keypair.import_encrypted(unicode, "pässwörd".encode()) as kp:
        assert kp.id == c.hospital_a.id


def test_public_keys_and_repr_hide_secrets(consortium):
    kp = consortium.patient
    keys = kp.public_keys
    assert len(keys.sign) == 32 and len(keys.enc) == 32 and keys.sign != keys.enc
    assert "redacted" in repr(kp) and kp.id.hex()[:16] in repr(kp)


def test_empty_and_large_payloads(consortium):
    c = consortium
    empty = c.ledger.append_record(c.hospital_a, c.patient.id, "lab", "text/plain", b"")
    big = bytes(range(256)) * 4096  # 1 MiB with every byte value, NULs included
    large = c.ledger.append_record(c.hospital_a, c.patient.id, "lab", "application/octet-stream",
                                   memoryview(big))
    c.commit()
    assert c.ledger.read_record(c.patient, empty) == b""
    assert c.ledger.read_record(c.patient, large) == big


def test_fault_kind_codes_match_the_c_names():
    from medledger._ffi import lib

    for kind in FaultKind:
        assert lib.medledger_fault_kind_name(kind).decode() == kind.name.lower()
