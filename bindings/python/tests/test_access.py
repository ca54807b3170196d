"""Patient-controlled access from Python: consents (granted, used, refused
for the wrong purpose, revoked), denials as AccessDenied with a reason, the
access log, guardians, suspension, break-glass with a custodian, erasure
with receipts, and argument checking before C is reached."""

import json
import os
import pathlib
import subprocess
import time

import pytest

from medledger import (
    DEFAULT_MAX_BREAK_GLASS_MS,
    YEAR_MS,
    AccessDenied,
    Action,
    BadProof,
    BadSignature,
    ErasureReceipt,
    InputError,
    Founder,
    Keypair,
    Ledger,
    MalformedInput,
    NotFound,
    Purpose,
    Rejected,
    Role,
    Status,
    verify_consistency,
    verify_evidence,
)

from conftest import FHIR, flipped

LAB = b'{"resourceType":"Observation","code":{"text":"HbA1c"}}'
LAB2 = b'{"resourceType":"Observation","code":{"text":"LDL"}}'


@pytest.fixture
def lab(consortium):
    c = consortium
    rid = c.ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, LAB)
    c.commit()
    return rid


def denied(ledger, reader, rid, purpose="TREAT"):
    with pytest.raises(AccessDenied) as info:
        ledger.read_record(reader, rid, purpose)
    return info.value


def enrol(c, roles, label, **kw):
    kp = Keypair.generate()
    c.ledger.register(c.admin, kp, roles, label, **kw)
    c.commit()
    return kp


def test_grant_read_revoke_and_the_access_log(consortium, lab):
    c, ledger = consortium, consortium.ledger
    e = denied(ledger, c.hospital_b, lab)
    assert e.reason == "no_consent" and e.status == Status.NO_CONSENT

    consent = ledger.grant(c.patient, c.hospital_b, purposes=[Purpose.TREAT],
                           categories=["lab"])
    assert isinstance(consent, bytes) and len(consent) == 32
    c.commit()
    assert ledger.read_record(c.hospital_b, lab, Purpose.TREAT) == LAB
    assert denied(ledger, c.hospital_b, lab, "HRESCH").reason == "wrong_purpose"
    with pytest.raises(Rejected):  # a read consent does not allow appending
        ledger.append_record(c.hospital_b, c.patient.id, "lab", FHIR, b"{}")

    ledger.revoke(c.patient, consent)
    c.commit()
    e = denied(ledger, c.hospital_b, lab)
    assert e.reason == "revoked"
    assert e.status == Status.CONSENT_REVOKED == 314
    assert e.status_name == "MEDLEDGER_ERR_CONSENT_REVOKED"
    with pytest.raises(Rejected):
        ledger.revoke(c.patient, consent)
    c.commit()  # the denied attempt is committed with the next block

    log = ledger.access_log(c.patient, c.patient)
    by_b = [x for x in log if x["reader"] == c.hospital_b.id.hex()]
    assert [x["decision"] for x in by_b] == ["deny", "permit", "deny", "deny"]
    assert [x.get("reason") for x in by_b] == [
        "no_consent", None, "wrong_purpose", "revoked"]
    assert by_b[1]["basis"] == "consent" and by_b[1]["consent"] == consent.hex()
    assert by_b[3]["status"] == 314
    assert [x["purpose"] for x in by_b] == ["TREAT", "TREAT", "HRESCH", "TREAT"]
    for x in by_b:
        assert x["record"] == lab.hex() and x["patient"] == c.patient.id.hex()
        assert x["category"] == "lab" and x["time"] > 0
    assert [x["leaf"] for x in log] == sorted(x["leaf"] for x in log)
    # Ids and keypairs are both accepted for participants.
    assert ledger.access_log(c.patient.id, c.patient) == log
    with pytest.raises(AccessDenied) as info:
        ledger.access_log(c.hospital_b, c.patient)
    assert info.value.reason is None and info.value.status == Status.ACCESS_DENIED

    consents = ledger.consents(c.patient, c.patient)
    assert len(consents) == 3
    revoked = [x for x in consents if x["id"] == consent.hex()]
    assert len(revoked) == 1 and revoked[0]["revoked_at"] is not None
    assert revoked[0]["purposes"] == ["TREAT"] and revoked[0]["categories"] == ["lab"]
    assert revoked[0]["actions"] == Action.READ
    assert revoked[0]["not_after"] - revoked[0]["not_before"] == YEAR_MS
    assert sum(x["revoked_at"] is None for x in consents) == 2


def test_consent_periods_and_record_level_consents(consortium, lab):
    c, ledger = consortium, consortium.ledger
    now = ledger.now()
    ledger.grant(c.patient, c.hospital_b, categories="lab", not_before=now + YEAR_MS,
                 not_after=now + 2 * YEAR_MS)
    c.commit()
    assert denied(ledger, c.hospital_b, lab).reason == "not_yet_valid"
    until = ledger.now() + 1500
    ledger.grant(c.patient, c.hospital_b, categories="lab", purposes="TREAT,PUBHLTH",
                 not_before=now - 1000, not_after=until)
    c.commit()
    while ledger.now() <= until:
        time.sleep(0.05)
    assert denied(ledger, c.hospital_b, lab, Purpose.PUBHLTH).reason == "expired"
    with pytest.raises(Rejected, match="expired"):  # expired when granted
        ledger.grant(c.patient, c.hospital_b, categories="lab", not_before=now - 2000,
                     not_after=now - 1000)

    other = ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, LAB2)
    c.commit()
    ledger.grant(c.patient, c.hospital_b, categories=(), records=[other])
    c.commit()
    assert ledger.read_record(c.hospital_b, other) == LAB2
    assert denied(ledger, c.hospital_b, lab).reason == "expired"  # the most telling
    with pytest.raises(InputError):  # record-level consents are read-only
        ledger.grant(c.patient, c.hospital_b, actions=Action.ALL, categories=(),
                     records=[other])


def test_guardians_and_suspension(consortium, lab):
    c, ledger = consortium, consortium.ledger
    guardian = enrol(c, Role.GUARDIAN, "parent app")
    ledger.add_guardian(c.patient, c.patient, guardian)
    c.commit()
    assert ledger.share_keys(c.patient) >= 1  # lab
    c.commit()
    assert ledger.share_keys(c.patient) == 0
    fresh = ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, LAB2)
    c.commit()
    assert ledger.read_record(guardian, fresh) == LAB2
    assert ledger.access_log(guardian, c.patient)  # a guardian may look
    ledger.remove_guardian(c.patient, c.patient.id, guardian.id)
    c.commit()
    assert denied(ledger, guardian, fresh).reason == "no_consent"

    ledger.suspend(c.admin, c.hospital_a)
    c.commit()
    assert denied(ledger, c.hospital_a, lab).reason == "suspended"
    with pytest.raises(Rejected, match="suspended"):
        ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, b"{}")
    with pytest.raises(Rejected):  # only an admin
        ledger.reinstate(c.hospital_b, c.hospital_a)
    ledger.reinstate(c.admin, c.hospital_a)
    c.commit()
    assert ledger.read_record(c.hospital_a, lab) == LAB
    guardian.close()


def test_key_rotation(consortium, lab):
    c, ledger = consortium, consortium.ledger
    new_a = c.hospital_a.rotated()
    assert new_a.id == c.hospital_a.id
    assert new_a.public_keys != c.hospital_a.public_keys
    ledger.rotate_keys(c.hospital_a, new_a)
    c.commit()
    with pytest.raises(Rejected, match="signing key"):  # the old key is retired
        ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, b"{}")
    with pytest.raises(AccessDenied):  # permitted, but no key sealed to the new one yet
        ledger.read_record(new_a, lab)
    assert ledger.share_keys(c.patient) >= 1
    c.commit()
    assert ledger.read_record(new_a, lab) == LAB
    with pytest.raises(Rejected):  # another provider may not rotate A's keys
        ledger.rotate_keys(c.hospital_b, new_a.rotated())
    with pytest.raises(TypeError):
        ledger.rotate_keys(c.hospital_a, "not a keypair")
    with ledger.verify() as report:
        assert report.ok, report.summary
    new_a.close()


def test_evidence_and_checkpoint(consortium, lab):
    c, ledger = consortium, consortium.ledger
    bundle = ledger.evidence(lab, include_ciphertext=True)
    proved = verify_evidence(bundle, ledger.id)
    assert lab.hex() in proved["records"]
    assert proved["seals"] >= 2 and proved["ciphertext_of"] == lab.hex()
    damaged = bytearray(bundle)
    damaged[len(damaged) // 2] ^= 1
    with pytest.raises((BadProof, MalformedInput)):
        verify_evidence(bytes(damaged))
    with pytest.raises(BadProof):  # another ledger
        verify_evidence(bundle, bytes(32))
    with pytest.raises(TypeError):
        verify_evidence("not bytes")
    with pytest.raises(TypeError):
        ledger.evidence(lab, include_ciphertext="yes")
    note = ledger.checkpoint(c.validators[0], "medledger.example/test")
    assert "\n\n\u2014 medledger.example/test " in note
    with pytest.raises(AccessDenied):  # not a validator
        ledger.checkpoint(c.hospital_a, "medledger.example/test")


def test_break_glass_with_a_custodian(consortium):
    c, ledger = consortium, consortium.ledger
    er = Keypair.generate()
    custodian = Keypair.generate()
    ledger.register(c.admin, er, Role.PROVIDER, "county ER")
    ledger.register(c.admin, custodian, Role.CUSTODIAN, "key escrow")
    c.commit()
    rid = ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, LAB)
    c.commit()

    assert denied(ledger, er, rid, "ETREAT").reason == "no_consent"
    bg = ledger.break_glass(er, c.patient, Purpose.ETREAT, "unconscious on arrival", 3600_000)
    assert len(bg) == 32
    c.commit()
    with pytest.raises(AccessDenied, match="custodian") as info:
        ledger.read_record(er, rid, "ETREAT")  # this node holds no custodian key
    assert info.value.reason is None
    ledger.attach_custodian(custodian)
    custodian.close()  # the ledger keeps its own reference
    assert ledger.read_record(er, rid, "ETREAT") == LAB
    assert denied(ledger, er, rid, "BTG").reason == "no_consent"
    assert denied(ledger, er, rid, "TREAT").reason == "no_consent"

    reviews = ledger.break_glass_reviews(c.admin)
    assert len(reviews) == 1
    assert reviews[0]["basis"] == "break_glass" and reviews[0]["break_glass"] == bg.hex()
    assert reviews[0]["reader"] == er.id.hex() and reviews[0]["purpose"] == "ETREAT"
    with pytest.raises(AccessDenied):
        ledger.break_glass_reviews(er)

    private = Keypair.generate()
    ledger.register(c.admin, private, Role.PATIENT, "opted out", escrow_opt_out=True)
    c.commit()
    with pytest.raises(Rejected, match="opted out"):
        ledger.break_glass(er, private, "ETREAT", "er", 60_000)
    with pytest.raises(InputError, match="ETREAT or BTG"):
        ledger.break_glass(er, c.patient, "TREAT", "er", 60_000)
    with pytest.raises(Rejected, match="maximum"):
        ledger.break_glass(er, c.patient, "BTG", "er", 48 * 3600_000)
    with pytest.raises(InputError):
        ledger.register(c.admin, Keypair.generate(), Role.PROVIDER, "x", escrow_opt_out=True)
    for kp in (er, private):
        kp.close()


def test_erasure_and_receipts(consortium, lab):
    c, ledger = consortium, consortium.ledger
    other = ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, LAB2)
    c.commit()
    receipts = ledger.erase(c.patient, [lab, other])
    assert [r.record_id for r in receipts] == [lab, other]
    for r in receipts:
        assert isinstance(r, ErasureReceipt)
        assert r.ledger_id == ledger.id and r.signer == c.validators[0].id
        assert len(bytes(r)) == 216 and ErasureReceipt.from_bytes(bytes(r)) == r
        ledger.verify_erasure_receipt(r)
        ledger.verify_erasure_receipt(bytes(r))
    forged = bytearray(bytes(receipts[0]))
    forged[100] ^= 1
    with pytest.raises(BadSignature):
        ledger.verify_erasure_receipt(bytes(forged))
    with pytest.raises(MalformedInput):
        ledger.verify_erasure_receipt(bytes(forged[:-1]))
    e = denied(ledger, c.patient, lab, "PATRQT")
    assert e.reason == "erased" and e.status == Status.ERASED
    with pytest.raises(Rejected):
        ledger.erase(c.patient, [lab])
    c.commit()
    with ledger.verify() as report:
        assert report.ok, report.summary
        assert (report.erased, report.erased_still_stored) == (2, 0)
    # Without a validator key the node cannot sign receipts.
    ledger.attach_validators([])
    note = ledger.append_record(c.hospital_a, c.patient.id, "note", FHIR, b"{}")
    c.commit()
    with pytest.raises(InputError, match="attach_validators"):
        ledger.erase(c.patient, [note])


def test_wrong_argument_types_fail_before_c(consortium, lab):
    c, ledger = consortium, consortium.ledger
    with pytest.raises(TypeError, match="purpose must be str"):
        ledger.read_record(c.patient, lab, 7)
    with pytest.raises(TypeError, match="purpose must be str"):
        ledger.read_record(c.patient, lab, b"TREAT")
    with pytest.raises(ValueError, match="NUL"):
        ledger.read_record(c.patient, lab, "TREAT\0")
    with pytest.raises(InputError) as info:  # codes are checked in C
        ledger.read_record(c.patient, lab, "treat")
    assert info.value.status == Status.INVALID_ARGUMENT
    with pytest.raises(TypeError, match="grantee must be a Keypair or a 32-byte id"):
        ledger.grant(c.patient, "hospital b")
    with pytest.raises(ValueError, match="grantee must be 32 bytes"):
        ledger.grant(c.patient, b"short")
    with pytest.raises(TypeError, match="author must be Keypair"):
        ledger.grant(c.patient.id, c.hospital_b)
    with pytest.raises(TypeError, match="actions must be int"):
        ledger.grant(c.patient, c.hospital_b, actions="read")
    with pytest.raises(ValueError, match="actions"):
        ledger.grant(c.patient, c.hospital_b, actions=-1)
    with pytest.raises(TypeError, match="purposes"):
        ledger.grant(c.patient, c.hospital_b, purposes=5)
    with pytest.raises(TypeError, match=r"purposes\[1\] must be str"):
        ledger.grant(c.patient, c.hospital_b, purposes=["TREAT", 5])
    with pytest.raises(TypeError, match="categories"):
        ledger.grant(c.patient, c.hospital_b, categories=b"lab")
    with pytest.raises(TypeError, match="records must be a sequence"):
        ledger.grant(c.patient, c.hospital_b, categories=(), records=lab)
    with pytest.raises(ValueError, match=r"records\[0\] must be 32 bytes"):
        ledger.grant(c.patient, c.hospital_b, categories=(), records=[lab[:5]])
    with pytest.raises(TypeError, match="not_after must be int"):
        ledger.grant(c.patient, c.hospital_b, not_after=1.5)
    with pytest.raises(ValueError, match="not_before"):
        ledger.grant(c.patient, c.hospital_b, not_before=-1)
    with pytest.raises(TypeError, match="consent_id must be bytes-like"):
        ledger.revoke(c.patient, "abc")
    with pytest.raises(TypeError, match="provider must be Keypair"):
        ledger.break_glass(c.hospital_a.id, c.patient, "BTG", "x", 1)
    with pytest.raises(TypeError, match="justification must be str"):
        ledger.break_glass(c.hospital_a, c.patient, "BTG", b"x", 1)
    with pytest.raises(TypeError, match="duration_ms must be int"):
        ledger.break_glass(c.hospital_a, c.patient, "BTG", "x", "1h")
    with pytest.raises(TypeError, match="guardian must be a Keypair"):
        ledger.add_guardian(c.patient, c.patient, None)
    with pytest.raises(TypeError, match="admin must be Keypair"):
        ledger.suspend("admin", c.hospital_a)
    with pytest.raises(TypeError, match="participant must be a Keypair"):
        ledger.reinstate(c.admin, 42)
    with pytest.raises(TypeError, match="requester must be a Keypair"):
        ledger.access_log("me", c.patient)
    with pytest.raises(TypeError, match="record_ids must be a sequence"):
        ledger.erase(c.patient, lab)
    with pytest.raises(TypeError, match=r"validators\[0\] must be Keypair"):
        ledger.attach_validators([c.validators[0].id])
    with pytest.raises(TypeError, match="custodian must be Keypair"):
        ledger.attach_custodian(None)
    with pytest.raises(TypeError, match="escrow_opt_out must be bool"):
        ledger.register(c.admin, Keypair.generate(), Role.PATIENT, "x", escrow_opt_out=1)
    with pytest.raises(ValueError, match="216 bytes"):
        ErasureReceipt.from_bytes(b"x")
    # Nothing above reached the ledger: no transaction is pending.
    with ledger.verify() as report:
        before = report.transactions
    c.commit()
    with ledger.verify() as report:
        assert report.transactions == before


def test_read_records_one_access_record_for_the_lot(consortium, lab):
    c, ledger = consortium, consortium.ledger
    imaging = ledger.append_record(c.hospital_a, c.patient.id, "imaging", FHIR, LAB2)
    c.commit()
    height = ledger.head_height
    before = len(ledger.access_log(c.patient, c.patient))
    assert ledger.read_records(c.hospital_b, [imaging, imaging], "TREAT") == [LAB2, LAB2]
    assert ledger.head_height == height + 1  # one commit
    log = ledger.access_log(c.patient, c.patient)
    assert len(log) == before + 2
    assert log[-1]["leaf"] == log[-2]["leaf"]  # one transaction
    assert [e["decision"] for e in log[-2:]] == ["permit", "permit"]

    # B treats for imaging only: lab is refused like a single read, and
    # what was permitted is not lost.
    with pytest.raises(AccessDenied) as info:
        ledger.read_records(c.hospital_b, [imaging, lab, bytes(32)], "TREAT")
    e = info.value
    assert e.reason == "no_consent" and e.status == Status.NO_CONSENT and e.index == 1
    assert "may not read record" in str(e)
    assert e.results[0] == LAB2 and e.results[1] is e
    assert isinstance(e.results[2], NotFound)
    assert e.results[2].status == Status.NOT_FOUND
    log = ledger.access_log(c.patient, c.patient)
    assert [x["decision"] for x in log[-2:]] == ["permit", "deny"]  # not the unknown id
    assert log[-1]["reason"] == "no_consent"
    with pytest.raises(NotFound) as info:
        ledger.read_records(c.patient, [bytes(32), lab], "PATRQT")
    assert info.value.index == 0 and info.value.results[1] == LAB

    with pytest.raises(InputError, match="nothing to read"):
        ledger.read_records(c.patient, [], "PATRQT")
    with pytest.raises(InputError, match="limit"):
        ledger.read_records(c.patient, [lab] * 1025, "PATRQT")
    with pytest.raises(InputError):
        ledger.read_records(c.patient, [lab], "treat")
    with pytest.raises(TypeError):
        ledger.read_records(c.patient, lab, "PATRQT")  # one id, not a sequence
    with pytest.raises(ValueError):
        ledger.read_records(c.patient, [lab[:31]], "PATRQT")


def test_consistency_proofs(consortium, lab):
    c, ledger = consortium, consortium.ledger
    size1 = ledger.log_size
    ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, LAB2)
    c.commit()
    size2 = ledger.log_size
    assert size2 == size1 + 1
    root1, root2 = ledger.log_root(size1), ledger.log_root(size2)
    assert len(root1) == 32 and root1 != root2
    proof = ledger.consistency_proof(size1, size2)
    assert proof and len(proof) % 32 == 0
    verify_consistency(size1, size2, root1, root2, proof)
    for bad in flipped(proof):
        with pytest.raises(BadProof):
            verify_consistency(size1, size2, root1, root2, bad)
    with pytest.raises(BadProof):
        verify_consistency(size1, size2, root2, root1, proof)
    with pytest.raises(BadProof):
        verify_consistency(size1 + 1, size2, root1, root2, proof)
    with pytest.raises(MalformedInput):
        verify_consistency(size1, size2, root1, root2, proof[:-1])
    assert ledger.consistency_proof(size2, size2) == b""
    verify_consistency(size2, size2, root2, root2, b"")
    # Block 1 holds the consortium's registrations and consents: leaf 2 is
    # inside it, not the end of a block.
    with pytest.raises(InputError, match="not the log size of a committed block"):
        ledger.consistency_proof(2, size2)
    with pytest.raises(InputError, match="beyond the committed log"):
        ledger.consistency_proof(size1, size2 + 1)
    with pytest.raises(InputError):
        ledger.log_root(size2 + 1)
    with pytest.raises(ValueError):
        ledger.log_root(-1)


def test_manual_clock_lets_a_consent_expire(consortium, lab):
    c, ledger = consortium, consortium.ledger
    ledger.grant(c.patient, c.hospital_b, categories=["lab"], not_before=ledger.now() - 1000,
                 not_after=ledger.now() + 3600_000)
    c.commit()
    assert ledger.read_record(c.hospital_b, lab) == LAB
    wall = ledger.now()
    later = wall + 2 * 3600_000
    ledger.set_manual_time(later)
    assert ledger.now() == later
    assert denied(ledger, c.hospital_b, lab).reason == "expired"
    c.commit()
    assert ledger.access_log(c.patient, c.patient)[-1]["time"] == later
    ledger.set_manual_time(None)
    assert wall <= ledger.now() < later
    with pytest.raises(Rejected, match="tx.timestamp"):  # behind the last block
        ledger.register(c.admin, Keypair.generate(), Role.PROVIDER, "late")
    with pytest.raises(ValueError, match="positive"):
        ledger.set_manual_time(0)
    with pytest.raises(TypeError):
        ledger.set_manual_time("soon")


def test_genesis_break_glass_maximum_and_founders_escrow_opt_out():
    admin, validator, patient, er, custodian = (Keypair.generate() for _ in range(5))
    founders = [
        (admin, Role.ADMIN, "desk"),
        Founder(validator, Role.VALIDATOR, "validator"),
        Founder(patient, Role.PATIENT, "founding patient", escrow_opt_out=True),
        (custodian, Role.CUSTODIAN, "escrow", False),
    ]
    with pytest.raises(InputError, match="only a patient"):
        Ledger.create_in_memory("g", 1, founders[:3] + [(custodian, Role.CUSTODIAN, "e", True)],
                                [validator])
    with pytest.raises(TypeError, match="escrow_opt_out must be bool"):
        Ledger.create_in_memory("g", 1, founders[:3] + [(custodian, Role.CUSTODIAN, "e", 1)],
                                [validator])
    with Ledger.create_in_memory("g", 1, founders, [validator],
                                 max_break_glass_ms=600_000) as ledger:
        ledger.attach_validators([validator])
        other = Keypair.generate()
        ledger.register(admin, er, Role.PROVIDER, "ER")
        ledger.register(admin, other, Role.PATIENT, "escrowed")
        ledger.commit_block([validator])
        with pytest.raises(Rejected, match="opted out"):
            ledger.break_glass(er, patient, "ETREAT", "er", 60_000)
        with pytest.raises(Rejected, match="maximum"):
            ledger.break_glass(er, other, "ETREAT", "er", 600_001)
        assert len(ledger.break_glass(er, other, "ETREAT", "er", 600_000)) == 32
        ledger.commit_block([validator])
    with Ledger.create_in_memory("g", 1, founders[:2], [validator],
                                 max_break_glass_ms=0) as ledger:  # ruled out
        ledger.register(admin, er, Role.PROVIDER, "ER")
        ledger.register(admin, other, Role.PATIENT, "p")
        ledger.commit_block([validator])
        with pytest.raises(Rejected, match="maximum"):
            ledger.break_glass(er, other, "ETREAT", "er", 1)
    assert DEFAULT_MAX_BREAK_GLASS_MS == 24 * 3600_000
    for kp in (admin, validator, patient, er, custodian, other):
        kp.close()


def _fhir_scenario(c, lab):
    """A consent used, used for the wrong purpose, revoked, then refused:
    two permits (with the patient's own read) and two denials; three
    consents, one revoked."""
    ledger = c.ledger
    consent = ledger.grant(c.patient, c.hospital_b, purposes=[Purpose.TREAT],
                           categories=["lab"])
    c.commit()
    ledger.read_record(c.hospital_b, lab, Purpose.TREAT)
    ledger.read_record(c.patient, lab, "PATRQT")
    denied(ledger, c.hospital_b, lab, "HRESCH")
    ledger.revoke(c.patient, consent)
    c.commit()
    denied(ledger, c.hospital_b, lab)
    c.commit()


def test_fhir_bundles_of_the_access_log_and_consents(consortium, lab):
    c, ledger = consortium, consortium.ledger
    _fhir_scenario(c, lab)
    log = ledger.access_log(c.patient, c.patient)
    bundle = ledger.access_log_fhir(c.patient, c.patient)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    assert bundle["total"] == len(log) == 4
    events = [e["resource"] for e in bundle["entry"]]
    assert [e["resourceType"] for e in events] == ["AuditEvent"] * 4
    assert all(e["fullUrl"].startswith("urn:uuid:") and e["search"] == {"mode": "match"}
               for e in bundle["entry"])
    assert len({e["id"] for e in events}) == 4
    # One event per log entry, in order: outcome 4 for denials, 0 for permits.
    assert [e["outcome"]["code"]["code"] for e in events] == [
        "4" if x["decision"] == "deny" else "0" for x in log]
    assert [e["authorization"][0]["coding"][0]["code"] for e in events] == [
        x["purpose"] for x in log]
    assert all(lab.hex() in str(e["entity"]) for e in events)
    # Stable: the same export twice; an auditor sees the same.
    assert ledger.access_log_fhir(c.patient.id, c.patient.id) == bundle

    consents = ledger.consents(c.patient, c.patient)
    cbundle = ledger.consents_fhir(c.patient, c.patient)
    assert cbundle["type"] == "searchset" and cbundle["total"] == len(consents) == 3
    docs = [e["resource"] for e in cbundle["entry"]]
    assert [d["resourceType"] for d in docs] == ["Consent"] * 3
    assert [d["status"] for d in docs] == [
        "inactive" if x["revoked_at"] is not None else "active" for x in consents]

    for query in (ledger.access_log_fhir, ledger.consents_fhir):
        with pytest.raises(AccessDenied):
            query(c.hospital_b, c.patient)
        with pytest.raises(TypeError):
            query("patient", c.patient)
    empty = ledger.access_log_fhir(c.other_patient, c.other_patient)
    assert empty == {"resourceType": "Bundle", "type": "searchset", "total": 0}


def _fhir_validator():
    """The Python of the virtual environment scripts/test-fhir.sh sets up
    (FHIR_VENV, or target/fhir-venv), when it has fhir.resources."""
    root = pathlib.Path(__file__).resolve().parents[3]
    venv = pathlib.Path(os.environ.get("FHIR_VENV", root / "target" / "fhir-venv"))
    python = (venv if venv.is_absolute() else root / venv) / "bin" / "python"
    if not python.is_file():
        return None
    probe = subprocess.run([str(python), "-c", "import fhir.resources"],
                           capture_output=True, check=False)
    return python if probe.returncode == 0 else None


# Runs in the venv: validates each bundle given on the command line (the
# Bundle model parses every resource in it) with tests/fhir/validate.py's
# checks, and first makes sure a broken AuditEvent fails them.
_VALIDATE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from validate import Problems, self_test, validate
problems = Problems()
docs = [json.load(open(path)) for path in sys.argv[2:]]
self_test(problems, docs[0]["entry"][0]["resource"])
for path, doc in zip(sys.argv[2:], docs):
    validate(problems, path, doc)
print("\\n".join(problems))
sys.exit(1 if problems else 0)
"""


def test_fhir_bundles_validate_as_fhir_r5(consortium, lab, tmp_path):
    """The binding's bundles pass the FHIR R5 checks of
    tests/fhir/validate.py that scripts/test-fhir.sh runs on the Rust
    export (skipped without that script's venv)."""
    python = _fhir_validator()
    if python is None:
        pytest.skip("no fhir.resources venv (run scripts/test-fhir.sh to make one)")
    c, ledger = consortium, consortium.ledger
    _fhir_scenario(c, lab)
    paths = []
    for name, bundle in [("audit", ledger.access_log_fhir(c.patient, c.patient)),
                         ("consents", ledger.consents_fhir(c.patient, c.patient))]:
        assert len(bundle["entry"]) >= 3
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(bundle))
    fhir_dir = pathlib.Path(__file__).resolve().parents[3] / "tests" / "fhir"
    run = subprocess.run([str(python), "-c", _VALIDATE, str(fhir_dir), *map(str, paths)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    # The checks bite: an AuditEvent without its required source fails.
    bad = json.loads(paths[0].read_text())
    del bad["entry"][1]["resource"]["source"]  # entry 0 is the self-test's sample
    paths[0].write_text(json.dumps(bad))
    run = subprocess.run([str(python), "-c", _VALIDATE, str(fhir_dir), str(paths[0])],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 1 and "source" in run.stdout
