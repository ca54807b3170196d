"""The directory store from Python: durable ledgers, the open report, the
writer lock, read-only opens, and tamper detection on the bytes on disk.

The damage is aimed with the ledger file's layout (docs/FORMAT.md §8): a
48-byte header, then frames ``"MLFR" | len u32le | kind u8 | body |
crc32c u32le`` (the checksum covers len, kind and body; a payload frame's
body is ``digest 32 | ciphertext``).
"""

import struct

import pytest

from medledger import (
    AccessDenied,
    Action,
    CorruptLedger,
    FaultKind,
    InputError,
    Keypair,
    Ledger,
    NotFound,
    OpenReport,
    Role,
    Status,
    TamperedRecord,
)

PAYLOAD = b'{"resourceType":"Observation","valueQuantity":{"value":5.1}}'
NOTE = b'{"resourceType":"ClinicalImpression","summary":"stable"}'
HEADER_LEN, FRAME_PREFIX, PAYLOAD_FRAME = 48, 9, 2


class Clinic:
    """A one-validator consortium on a directory ledger: block 1 registers
    a hospital and a patient and the patient's consent to the hospital,
    block 2 holds one lab record. No read has been made yet."""

    def __init__(self, path):
        self.path = path
        self.admin, self.validator, self.hospital, self.patient = (
            Keypair.generate() for _ in range(4))
        with Ledger.create_dir(path, "dir consortium", 1,
                               [(self.admin, Role.ADMIN, "desk"),
                                (self.validator, Role.VALIDATOR, "v")],
                               [self.validator]) as ledger:
            assert ledger.open_report is None and not ledger.read_only
            ledger.register(self.admin, self.hospital, Role.PROVIDER, "EHR")
            ledger.register(self.admin, self.patient, Role.PATIENT, "app")
            ledger.grant(self.patient, self.hospital, actions=Action.ALL)
            ledger.commit_block([self.validator])
            self.rid = ledger.append_record(self.hospital, self.patient.id, "lab",
                                            "application/fhir+json", PAYLOAD)
            ledger.commit_block([self.validator])
            self.ledger_id = ledger.id

    @property
    def log(self):
        return self.path / "ledger.log"

    def open(self, **kw):
        """Opens the ledger; a writable one gets the validator key (attached
        keys belong to a handle, not to the directory)."""
        ledger = Ledger.open_dir(self.path, **kw)
        if not ledger.read_only:
            ledger.attach_validators([self.validator])
        return ledger


@pytest.fixture
def clinic(tmp_path):
    return Clinic(tmp_path / "clinic" / "ledger")


def frames(data):
    """(offset, kind, body offset, body length) of every frame."""
    out, at = [], HEADER_LEN
    while at < len(data):
        assert data[at:at + 4] == b"MLFR"
        (body_len,) = struct.unpack_from("<I", data, at + 4)
        out.append((at, data[at + 8], at + FRAME_PREFIX, body_len))
        at += FRAME_PREFIX + body_len + 4
    assert at == len(data)
    return out


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 & -(c & 1))
    return c ^ 0xFFFFFFFF


def test_reopened_ledger_serves_records(clinic):
    size = clinic.log.stat().st_size
    with clinic.open() as ledger:
        assert ledger.head_height == 2
        assert ledger.id == clinic.ledger_id
        assert ledger.open_report == OpenReport(
            blocks=3, payloads=1, file_len=size, bytes_cut=0, frames_cut=0,
            erased=0, erasures_finished=0)
        # The read is recorded in block 3 before the plaintext is released.
        assert ledger.read_record(clinic.patient, clinic.rid, "PATRQT") == PAYLOAD
        assert ledger.head_height == 3
        with ledger.verify() as report:
            assert report.ok and report.blocks == 4 and report.records == 1
        assert not ledger.read_only
        # Still writable after a reopen; the next open sees the new blocks.
        rid = ledger.append_record(clinic.hospital, clinic.patient.id, "lab", "text/plain", NOTE)
        assert ledger.commit_block([clinic.validator]) == 4
    with Ledger.open_dir(str(clinic.path)) as ledger:  # str paths too
        assert ledger.open_report.blocks == 5 and ledger.open_report.payloads == 2
        ledger.attach_validators([clinic.validator])
        assert ledger.read_record(clinic.patient, rid, "PATRQT") == NOTE
        assert [e["record"] for e in ledger.access_log(clinic.patient, clinic.patient)] == [
            clinic.rid.hex(), rid.hex()]


def test_a_flipped_byte_on_disk_is_detected(clinic):
    data = bytearray(clinic.log.read_bytes())
    middle = len(data) // 2
    frame, _, body, _ = next(f for f in frames(data) if f[0] <= middle < f[2] + f[3] + 4)
    data[max(middle, body)] ^= 0x01  # inside the frame, past its marker and length
    clinic.log.write_bytes(bytes(data))
    for read_only in (False, True):
        with pytest.raises(CorruptLedger) as info:
            Ledger.open_dir(clinic.path, read_only=read_only)
        assert type(info.value) is CorruptLedger and info.value.status == Status.CORRUPT
        assert f"at file offset {frame}" in info.value.message
        assert "checksum" in info.value.message


def test_a_damaged_header_is_corrupt_not_bad_input(clinic):
    good = clinic.log.read_bytes()
    for offset, needle in [(0, "file.magic"), (HEADER_LEN - 1, "another ledger")]:
        bad = bytearray(good)
        bad[offset] ^= 0x20
        clinic.log.write_bytes(bytes(bad))
        with pytest.raises(CorruptLedger, match=needle):
            Ledger.open_dir(clinic.path)
    clinic.log.write_bytes(good)
    Ledger.open_dir(clinic.path).close()


def test_a_modified_ciphertext_is_refused_on_read(clinic):
    # Change the ciphertext and recompute the frame checksum: the file
    # scans clean, but the ciphertext no longer matches its digest on the
    # chain.
    data = bytearray(clinic.log.read_bytes())
    at, _, body, body_len = [f for f in frames(data) if f[1] == PAYLOAD_FRAME][-1]
    data[body + 32 + 3] ^= 0x01
    struct.pack_into("<I", data, body + body_len,
                     crc32c(bytes(data[at + 4:body + body_len])))
    clinic.log.write_bytes(bytes(data))
    with clinic.open() as ledger:
        with pytest.raises(TamperedRecord) as info:
            ledger.read_record(clinic.patient, clinic.rid, "PATRQT")
        assert info.value.status == Status.TAMPERED == 305
        assert isinstance(info.value, CorruptLedger)
        assert info.value.status_name == "MEDLEDGER_ERR_TAMPERED"
        assert "does not match its digest" in info.value.message
        with ledger.verify() as report:
            assert not report.ok
            assert report.fault.kind == FaultKind.PAYLOAD_TAMPERED and report.fault.height == 2


def test_the_writer_lock(clinic):
    with Ledger.open_dir(clinic.path) as writer:
        with pytest.raises(AccessDenied) as info:
            Ledger.open_dir(clinic.path)
        assert info.value.status == Status.ACCESS_DENIED and str(clinic.path) in info.value.message
        with pytest.raises(AccessDenied):
            Ledger.create_dir(clinic.path, "again", 1,
                              [(clinic.admin, Role.ADMIN, "desk"),
                               (clinic.validator, Role.VALIDATOR, "v")], [clinic.validator])
        assert writer.head_height == 2
    # Released on close.
    with Ledger.open_dir(clinic.path) as again:
        assert again.head_height == 2
    with pytest.raises(InputError, match="already holds"):
        Ledger.create_dir(clinic.path, "again", 1,
                          [(clinic.admin, Role.ADMIN, "desk"),
                           (clinic.validator, Role.VALIDATOR, "v")], [clinic.validator])


def test_read_only_opens_verify_but_never_decrypt(clinic):
    with clinic.open() as writer, \
            Ledger.open_dir(clinic.path, read_only=True) as reader, \
            Ledger.open_dir(clinic.path, read_only=True) as reader2:
        assert reader.read_only and reader2.read_only
        assert reader.open_report.blocks == 3
        assert reader.id == writer.id and reader.head_height == 2
        with pytest.raises(AccessDenied, match="read-only") as info:
            reader.read_record(clinic.patient, clinic.rid, "PATRQT")
        assert info.value.reason is None and info.value.status == Status.ACCESS_DENIED
        with pytest.raises(AccessDenied):
            reader.append_record(clinic.hospital, clinic.patient.id, "lab", "text/plain", NOTE)
        with pytest.raises(AccessDenied):
            reader.commit_block([clinic.validator])
        with reader.verify() as report:
            assert report.ok and report.blocks == 3 and report.payloads == 1
        # The writer is unaffected.
        assert writer.read_record(clinic.patient, clinic.rid, "PATRQT") == PAYLOAD


def test_a_torn_tail_is_reported_and_cut_only_by_a_writer(clinic):
    good = clinic.log.read_bytes()
    clinic.log.write_bytes(good + b"MLFR\x05\x00\x00\x00\x02x")  # a crash mid-append
    with Ledger.open_dir(clinic.path, read_only=True) as reader:
        assert reader.open_report == OpenReport(3, 1, len(good), 10, 0, 0, 0)
    assert clinic.log.stat().st_size == len(good) + 10
    with Ledger.open_dir(clinic.path) as writer:
        assert writer.open_report.bytes_cut == 10 and writer.open_report.file_len == len(good)
    assert clinic.log.read_bytes() == good


def test_missing_ledgers_and_bad_paths(tmp_path):
    for read_only in (False, True):
        with pytest.raises(NotFound, match="no ledger"):
            Ledger.open_dir(tmp_path / "missing", read_only=read_only)
        with pytest.raises(NotFound, match="ledger.log"):
            Ledger.open_dir(tmp_path, read_only=read_only)
    with pytest.raises(TypeError):
        Ledger.open_dir(42)
    with pytest.raises(ValueError):
        Ledger.open_dir("a\0b")
    with pytest.raises(InputError) as info:  # the C API takes UTF-8 paths only
        Ledger.open_dir(bytes(tmp_path) + b"/\xff")
    assert info.value.status == Status.INVALID_UTF8
    with pytest.raises(InputError):
        Ledger.open_dir("")
