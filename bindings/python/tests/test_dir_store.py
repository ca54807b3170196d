"""Tamper detection from Python needs bytes on disk, i.e. the directory
store. These tests use medledger_ledger_create_dir / _open_dir and are
skipped until the loaded library exports them."""

import os
import pathlib

import pytest

from medledger import CorruptLedger, Keypair, Ledger, Role
from medledger._ffi import has_function

pytestmark = pytest.mark.skipif(
    not (has_function("medledger_ledger_create_dir") and has_function("medledger_ledger_open_dir")),
    reason="the loaded library has no directory store (medledger_ledger_create_dir/open_dir)",
)

PAYLOAD = b'{"resourceType":"Observation","valueQuantity":{"value":5.1}}'


def build(path):
    admin, validator, hospital, patient = (Keypair.generate() for _ in range(4))
    with Ledger.create_dir(path, "dir consortium", 1,
                           [(admin, Role.ADMIN, "desk"), (validator, Role.VALIDATOR, "v")],
                           [validator]) as ledger:
        ledger.register(admin, hospital, Role.PROVIDER, "EHR")
        ledger.register(admin, patient, Role.PATIENT, "app")
        ledger.commit_block([validator])
        rid = ledger.append_record(hospital, patient.id, "lab", "application/fhir+json", PAYLOAD)
        ledger.commit_block([validator])
    return patient, rid


def test_reopened_ledger_serves_records(tmp_path):
    patient, rid = build(tmp_path / "ledger")
    with Ledger.open_dir(tmp_path / "ledger") as ledger:
        assert ledger.head_height == 2
        assert ledger.read_record(patient, rid) == PAYLOAD
        with ledger.verify() as report:
            assert report.ok and report.blocks == 3 and report.records == 1


def test_a_flipped_byte_on_disk_is_detected(tmp_path):
    build(tmp_path / "ledger")
    # The layout of the directory is the store's business: flip one byte in
    # the middle of its largest file (blocks or vault), which any layout
    # must detect.
    files = [p for p in (tmp_path / "ledger").rglob("*") if p.is_file() and p.stat().st_size]
    victim = max(files, key=lambda p: p.stat().st_size)
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    try:
        ledger = Ledger.open_dir(tmp_path / "ledger")
    except CorruptLedger as e:  # opening verifies the chain and names the fault
        assert e.status == 304
        assert "block" in e.message
    else:
        with ledger, ledger.verify() as report:
            assert not report.ok
            fault = report.fault
            assert fault is not None and fault.field and fault.message
