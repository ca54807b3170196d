"""Handles: close(), context managers, garbage collection, and use after
close raising ClosedError instead of crashing."""

import gc

import pytest

from medledger import ClosedError, Keypair, Ledger, Report, Role

from conftest import FHIR


def small_ledger():
    admin = Keypair.generate()
    ledger = Ledger.create_in_memory("x", 1, [(admin, Role.ADMIN | Role.VALIDATOR, "a")], [admin])
    return admin, ledger


def test_ledger_use_after_close_raises(consortium):
    c = consortium
    c.ledger.close()
    assert c.ledger.closed
    for call in (
        lambda: c.ledger.head_height,
        lambda: c.ledger.id,
        lambda: c.ledger.verify(),
        lambda: c.ledger.commit_block(c.quorum),
        lambda: c.ledger.read_record(c.patient, bytes(32)),
        lambda: c.ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, b"x"),
        lambda: c.ledger.register(c.admin, Keypair.generate(), Role.PATIENT, "x"),
    ):
        with pytest.raises(ClosedError, match="Ledger is closed"):
            call()
    c.ledger.close()  # twice is fine
    assert repr(c.ledger) == "Ledger(<closed>)"


def test_closed_keypair_is_refused_as_an_argument(consortium):
    c = consortium
    kp = Keypair.generate()
    kp.close()
    with pytest.raises(ClosedError, match="Keypair is closed"):
        kp.id
    with pytest.raises(ClosedError):
        kp.export_encrypted("x")
    with pytest.raises(ClosedError):
        c.ledger.register(c.admin, kp, Role.PATIENT, "x")
    c.validators[2].close()
    with pytest.raises(ClosedError):
        c.ledger.commit_block(c.quorum)
    # The ledger is unaffected: a quorum without the closed key still works.
    assert c.ledger.commit_block(c.validators[:2]) == 2


def test_report_use_after_close_raises(consortium):
    report = consortium.ledger.verify()
    assert report.ok
    report.close()
    with pytest.raises(ClosedError, match="Report is closed"):
        report.ok
    with pytest.raises(ClosedError):
        report.summary


def test_context_managers_close():
    admin, ledger = small_ledger()
    with admin, ledger as l:
        assert l is ledger
        with l.verify() as report:
            assert isinstance(report, Report) and report.ok
        assert report.closed
    assert ledger.closed and admin.closed
    with pytest.raises(ClosedError):
        with ledger:
            pass


def test_garbage_collection_frees_without_crashing():
    for _ in range(20):
        admin, ledger = small_ledger()
        report = ledger.verify()
        del admin, ledger, report
    gc.collect()


def test_keypairs_may_be_closed_while_the_ledger_lives(consortium):
    c = consortium
    backup = c.hospital_a.export_encrypted("p")
    rid = c.ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, b"x")
    c.hospital_a.close()
    c.commit()
    with Keypair.import_encrypted(backup, "p") as again:
        assert c.ledger.read_record(again, rid) == b"x"
