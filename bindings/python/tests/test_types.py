"""Wrong argument types raise TypeError (and impossible values ValueError)
in Python, before C is called."""

import pytest

from medledger import Keypair, Ledger, Role

from conftest import FHIR


@pytest.mark.parametrize("payload", ["a str", 42, None, [1, 2], object()])
def test_payload_must_be_bytes_like(consortium, payload):
    c = consortium
    with pytest.raises(TypeError, match="payload must be bytes-like"):
        c.ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, payload)


def test_bytes_like_payloads_are_accepted(consortium):
    c = consortium
    for payload in (b"x", bytearray(b"x"), memoryview(b"x")):
        c.ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, payload)
    assert c.commit() == 2


def test_handles_must_be_the_right_class(consortium):
    c = consortium
    with pytest.raises(TypeError, match="author must be Keypair"):
        c.ledger.append_record(c.hospital_a.id, c.patient.id, "lab", FHIR, b"x")
    with pytest.raises(TypeError, match="reader must be Keypair"):
        c.ledger.read_record(None, bytes(32))
    with pytest.raises(TypeError, match=r"validators\[1\] must be Keypair"):
        c.ledger.commit_block([c.validators[0], "validator 2"])
    with pytest.raises(TypeError, match="validators must be a sequence"):
        c.ledger.commit_block(c.validators[0])
    with pytest.raises(TypeError, match="participant must be Keypair or PublicKeys"):
        c.ledger.register(c.admin, c.patient.id, Role.PATIENT, "x")


def test_ids_are_32_bytes(consortium):
    c = consortium
    with pytest.raises(ValueError, match="patient_id must be 32 bytes"):
        c.ledger.append_record(c.hospital_a, c.patient.id[:31], "lab", FHIR, b"x")
    with pytest.raises(TypeError, match="record_id must be bytes-like, not str"):
        c.ledger.read_record(c.patient, c.patient.id.hex())


def test_strings_must_be_str_without_nul(consortium):
    c = consortium
    with pytest.raises(TypeError, match="category must be str"):
        c.ledger.append_record(c.hospital_a, c.patient.id, b"lab", FHIR, b"x")
    with pytest.raises(ValueError, match="NUL"):
        c.ledger.append_record(c.hospital_a, c.patient.id, "lab\0x", FHIR, b"x")
    with pytest.raises(TypeError, match="label must be str"):
        c.ledger.register(c.admin, Keypair.generate(), Role.PATIENT, 7)


def test_integers_are_range_checked_not_wrapped(consortium):
    c = consortium
    kp = Keypair.generate()
    with pytest.raises(ValueError, match="roles"):
        # 2**32 + PATIENT would wrap to PATIENT in ctypes.
        c.ledger.register(c.admin, kp, 2**32 + 1, "x")
    with pytest.raises(TypeError, match="roles must be int"):
        c.ledger.register(c.admin, kp, "patient", "x")
    with pytest.raises(ValueError, match="threshold"):
        Ledger.create_in_memory("x", -1, [(kp, Role.ADMIN | Role.VALIDATOR, "a")], [kp])


def test_founders_shape(consortium):
    kp = consortium.admin
    with pytest.raises(TypeError, match=r"founders\[0\] must be a \(keypair, roles, label\)"):
        Ledger.create_in_memory("x", 1, [kp], [kp])
    with pytest.raises(TypeError, match=r"founders\[0\].keypair must be Keypair"):
        Ledger.create_in_memory("x", 1, [(b"k", Role.ADMIN, "a")], [kp])
    with pytest.raises(TypeError, match=r"founders\[0\] must be a"):
        Ledger.create_in_memory("x", 1, [(kp, Role.ADMIN, "a", False, "extra")], [kp])
    with pytest.raises(ValueError, match="max_break_glass_ms"):
        Ledger.create_in_memory("x", 1, [(kp, Role.ADMIN | Role.VALIDATOR, "a")], [kp],
                                max_break_glass_ms=-1)
    with pytest.raises(TypeError, match="passphrase must be bytes-like"):
        kp.export_encrypted(12345)
