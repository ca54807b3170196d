"""Records and proofs from Python: a batch appended under one signature,
the public facts and versions of a record, a served ciphertext checked
against the chain, inclusion proofs checked offline, and a witness
cosigning a checkpoint."""

import pytest

from medledger import (
    BadProof,
    BadSignature,
    InputError,
    MalformedInput,
    NoteKey,
    NotFound,
    Rejected,
    TamperedRecord,
    cosign_checkpoint,
    open_checkpoint,
    verify_inclusion,
)
from medledger.consortium import export_block

from conftest import FHIR, flipped

LAB = b'{"resourceType":"Observation","code":{"text":"HbA1c"}}'
LAB2 = b'{"resourceType":"Observation","code":{"text":"LDL"}}'
IMG = b'{"resourceType":"ImagingStudy","id":"batch"}'


@pytest.fixture
def batch(consortium):
    """Three records appended by hospital A in one transaction, committed."""
    c = consortium
    ids = c.ledger.append_batch(c.hospital_a, [
        (c.patient.id, "lab", FHIR, LAB),
        (c.patient.id, "lab", FHIR, LAB2),
        (c.patient.id, "imaging", FHIR, bytearray(IMG)),
    ])
    assert len(ids) == 3 and len(set(ids)) == 3 and all(len(i) == 32 for i in ids)
    with pytest.raises(NotFound):
        c.ledger.record_info(ids[0])  # pending
    c.commit()
    return ids


def test_a_batch_is_one_transaction_of_readable_records(consortium, batch):
    c, ledger = consortium, consortium.ledger
    head = ledger.head_height
    infos = [ledger.record_info(i) for i in batch]
    for rid, info, payload, category in zip(batch, infos, [LAB, LAB2, IMG],
                                            ["lab", "lab", "imaging"]):
        assert ledger.read_record(c.hospital_a, rid) == payload
        assert info["id"] == rid.hex() and info["patient"] == c.patient.id.hex()
        assert info["author"] == c.hospital_a.id.hex()
        assert info["category"] == category and info["content_type"] == FHIR
        assert info["version"] == 1 and info["amends"] is None and info["superseded_by"] is None
        assert info["ciphertext_len"] > len(payload) and not info["erased"]
    assert len({i["leaf"] for i in infos}) == 1  # one transaction
    assert {i["height"] for i in infos} == {head}


def test_batch_arguments_are_checked(consortium):
    c, ledger = consortium, consortium.ledger
    with pytest.raises(InputError, match="nothing to append"):
        ledger.append_batch(c.hospital_a, [])
    with pytest.raises(TypeError):
        ledger.append_batch(c.hospital_a, [(c.patient.id, "lab", FHIR)])
    with pytest.raises(TypeError):
        ledger.append_batch(c.hospital_a, [(c.patient.id, "lab", FHIR, "text")])
    with pytest.raises(ValueError):
        ledger.append_batch(c.hospital_a, [(c.patient.id[:31], "lab", FHIR, LAB)])
    with pytest.raises(InputError, match="LAB!"):
        ledger.append_batch(c.hospital_a, [(c.patient.id, "lab", FHIR, LAB),
                                           (c.patient.id, "LAB!", FHIR, LAB)])
    # Hospital B may append imaging only: the whole batch is refused.
    with pytest.raises(Rejected):
        ledger.append_batch(c.hospital_b, [(c.patient.id, "imaging", FHIR, IMG),
                                           (c.patient.id, "lab", FHIR, LAB)])
    before = ledger.log_size
    c.commit()
    assert ledger.log_size == before  # nothing was left pending


def test_versions_and_served_ciphertexts(consortium, batch):
    c, ledger = consortium, consortium.ledger
    v2 = ledger.amend_record(c.hospital_a, batch[0], FHIR, b'{"status":"amended"}')
    height = c.commit()
    assert ledger.versions(batch[0]) == [batch[0], v2] == ledger.versions(v2)
    assert ledger.versions(batch[1]) == [batch[1]]
    assert ledger.record_info(batch[0])["superseded_by"] == v2.hex()
    info = ledger.record_info(v2)
    assert info["amends"] == batch[0].hex() and info["version"] == 2
    assert info["height"] == height
    # The amendment's block ships one ciphertext: its last bytes.
    ct = export_block(ledger, height)[-info["ciphertext_len"]:]
    ledger.check_served(v2, ct)
    for bad in [ct[:-1], ct + b"\0", bytes([ct[0] ^ 1]) + ct[1:]]:
        with pytest.raises(TamperedRecord):
            ledger.check_served(v2, bad)
    with pytest.raises(TamperedRecord):
        ledger.check_served(batch[0], ct)
    with pytest.raises(NotFound):
        ledger.check_served(b"\x42" * 32, ct)
    with pytest.raises(NotFound):
        ledger.versions(b"\x42" * 32)
    with pytest.raises(NotFound):
        ledger.record_info(b"\x42" * 32)
    with pytest.raises(TypeError):
        ledger.check_served(v2, "text")


def test_inclusion_proofs_verify_offline(consortium, batch):
    ledger = consortium.ledger
    leaf, size, proof = ledger.record_inclusion(batch[2])
    assert leaf == ledger.record_info(batch[2])["leaf"] and size == ledger.log_size
    assert proof and len(proof) % 32 == 0
    assert ledger.inclusion_proof(leaf, size) == proof
    root, tx = ledger.log_root(size), ledger.transaction(leaf)
    verify_inclusion(leaf, size, root, tx, proof)
    for bad in flipped(proof):
        with pytest.raises(BadProof):
            verify_inclusion(leaf, size, root, tx, bad)
    with pytest.raises(BadProof):
        verify_inclusion(leaf, size, root, tx[:-1], proof)
    with pytest.raises(BadProof):
        verify_inclusion(leaf - 1, size, root, tx, proof)
    with pytest.raises(BadProof):
        verify_inclusion(leaf, size, ledger.log_root(leaf), tx, proof)
    with pytest.raises(BadProof):
        verify_inclusion(leaf, size, root, ledger.transaction(leaf - 1), proof)
    with pytest.raises(MalformedInput):
        verify_inclusion(leaf, size, root, tx, proof + b"\0")
    with pytest.raises(InputError):
        ledger.inclusion_proof(size, size)
    with pytest.raises(InputError, match="beyond the committed log"):
        ledger.inclusion_proof(0, size + 1)
    with pytest.raises(InputError):
        ledger.transaction(0)
    with pytest.raises(NotFound):
        ledger.transaction(size)
    with pytest.raises(NotFound):
        ledger.record_inclusion(b"\x42" * 32)
    with pytest.raises(ValueError):
        ledger.transaction(-1)


def test_a_witness_cosigns_a_checkpoint(consortium):
    c, ledger = consortium, consortium.ledger
    witness = c.hospital_b  # any keypair
    note = ledger.checkpoint(c.validators[0], "medledger.example/test")
    log_key = NoteKey("medledger.example/test", c.validators[0].public_keys.sign)
    witness_key = NoteKey("witness.example/w1", witness.public_keys.sign, cosigner=True)
    cosigned = cosign_checkpoint(note, log_key, witness, "witness.example/w1", 1767225600)
    assert cosigned.startswith(note) and cosigned.count("\n\u2014 ") == 2
    opened = open_checkpoint(cosigned, [log_key, witness_key])
    assert opened["size"] == ledger.log_size
    assert opened["root"] == ledger.log_root(ledger.log_size).hex()
    assert opened["origin"] == "medledger.example/" + ledger.id.hex()
    assert [(s["name"], s["cosigner"], s["timestamp"]) for s in opened["signatures"]] == [
        ("medledger.example/test", False, None), ("witness.example/w1", True, 1767225600)]
    assert len(open_checkpoint(cosigned, [witness_key])["signatures"]) == 1
    # Not cosigned yet; the witness key as a note signer; a changed note.
    with pytest.raises(BadSignature):
        open_checkpoint(note, [witness_key])
    with pytest.raises(BadSignature):
        open_checkpoint(cosigned, [witness_key._replace(cosigner=False)])
    lines = cosigned.split("\n")
    lines[1] = str(int(lines[1]) + 1)  # the tree size
    with pytest.raises(BadSignature):
        open_checkpoint("\n".join(lines), [witness_key])
    # A witness refuses a note the log did not sign.
    with pytest.raises(BadSignature):
        cosign_checkpoint(note, witness_key._replace(cosigner=False), witness, "w", 1)
    with pytest.raises(InputError, match="cosigner"):
        cosign_checkpoint(note, witness_key, witness, "w", 1)
    with pytest.raises(InputError):
        cosign_checkpoint(note, log_key, witness, "a witness", 1)
    with pytest.raises(InputError):
        open_checkpoint(cosigned, [])
    with pytest.raises(TypeError):
        open_checkpoint(cosigned, [("medledger.example/test", b"\0" * 32)])
