#!/usr/bin/env python3
"""clinic.py: a starting point for integrating medledger from Python.

A clinic's EHR, with the patient's consent, records a lab result for the
patient in a durable ledger (a directory, here a temporary one); the
patient's app reads it; another clinic is refused until the patient grants
it access, and again once the patient revokes it; the patient reviews the
access log; the ledger is closed, reopened (verified on open) and checked by
a read-only auditor. All data is fictitious.

Run from the repository (after `cargo build --release`):

    python3 examples/python/clinic.py

or `pip install bindings/python` and set MEDLEDGER_LIB to the library.
"""

import json
import pathlib
import sys
import tempfile

try:
    import medledger
except ModuleNotFoundError:  # running from a checkout without installing
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bindings" / "python"))
    import medledger

from medledger import AccessDenied, Action, Keypair, Ledger, Purpose, Role

FHIR = "application/fhir+json"


def main() -> int:
    print(f"medledger {medledger.library_version()} Python example (fictitious data)\n")

    # Keys. In production each party generates its own and keeps it in its
    # own keystore; only public keys are exchanged (see Ledger.register).
    admin = Keypair.generate()
    validators = [Keypair.generate() for _ in range(3)]
    clinic, other_clinic, patient = Keypair.generate(), Keypair.generate(), Keypair.generate()

    founders = [(admin, Role.ADMIN, "Registration desk")] + [
        (v, Role.VALIDATOR, f"Validator {i}") for i, v in enumerate(validators)
    ]
    quorum = validators[:2]  # any 2 of the 3 seal a block

    with tempfile.TemporaryDirectory(prefix="medledger-clinic-") as tmp:
        path = pathlib.Path(tmp) / "ledger"
        record_id, plaintext = write(path, admin, quorum, founders, clinic, other_clinic, patient)
        ok = reopen(path, quorum, patient, record_id, plaintext)

    for kp in (admin, *validators, clinic, other_clinic, patient):
        kp.close()
    return 0 if ok else 1


def write(path, admin, quorum, founders, clinic, other_clinic, patient):
    """Creates the ledger in `path` and records a lab result."""
    # The ledger holds the directory's writer lock until it is closed.
    with Ledger.create_dir(path, "Clinic network (demo)", 2, founders, quorum) as ledger:
        print(f"ledger          {ledger.id.hex()[:16]}... in {path.name}/")
        # Every read is recorded, and committed before plaintext is
        # released: this node commits with two validator keys of its own.
        ledger.attach_validators(quorum)
        ledger.register(admin, clinic, Role.PROVIDER, "Riverside Clinic EHR")
        ledger.register(admin, other_clinic, Role.PROVIDER, "Hillside Clinic EHR")
        ledger.register(admin, patient.public_keys, Role.PATIENT, "patient app")
        # The patient consents to treatment at Riverside: read, append and
        # amend every category of their record, for a year.
        ledger.grant(patient, clinic, actions=Action.ALL, purposes=Purpose.TREAT)
        print(f"block {ledger.commit_block(quorum)}         participants registered, consent")

        observation = {
            "resourceType": "Observation",
            "code": {"text": "HbA1c"},
            "valueQuantity": {"value": 6.1, "unit": "%"},
        }
        record_id = ledger.append_record(
            clinic, patient.id, "lab", FHIR, json.dumps(observation).encode()
        )
        # Returns once the block is on disk (fsync'd).
        print(f"block {ledger.commit_block(quorum)}         lab result {record_id.hex()[:16]}...")

        plaintext = ledger.read_record(patient, record_id, Purpose.PATRQT)
        print(f"patient reads   {json.loads(plaintext)['code']['text']}")

        try:
            ledger.read_record(other_clinic, record_id, Purpose.TREAT)
        except AccessDenied as e:
            print(f"other clinic    refused: {e.reason}")

        # A referral: the patient lets Hillside read lab results, then
        # revokes it when the referral ends.
        referral = ledger.grant(patient, other_clinic, categories=["lab"])
        ledger.commit_block(quorum)
        assert ledger.read_record(other_clinic, record_id) == plaintext
        print("other clinic    reads under the referral consent")
        ledger.revoke(patient, referral)
        ledger.commit_block(quorum)
        try:
            ledger.read_record(other_clinic, record_id)
        except AccessDenied as e:
            print(f"other clinic    refused: {e.reason}")
        ledger.commit_block(quorum)  # records the refused attempt

        # "Who saw my record?"
        names = {clinic.id.hex(): "Riverside", other_clinic.id.hex(): "Hillside",
                 patient.id.hex(): "patient"}
        for event in ledger.access_log(patient, patient):
            why = event.get("basis") or event.get("reason")
            print(f"  access log    {names[event['reader']]:<9} {event['purpose']:<6} "
                  f"{event['decision']} ({why})")

        # The patient app backs up its keys under a passphrase.
        backup = patient.export_encrypted("correct horse battery staple")
        with Keypair.import_encrypted(backup, "correct horse battery staple") as restored:
            assert ledger.read_record(restored, record_id, Purpose.PATRQT) == plaintext
        print(f"key backup      {len(backup)} bytes, restores and reads")
    return record_id, plaintext


def reopen(path, quorum, patient, record_id, plaintext):
    """After a restart: reopen (the chain is verified first), and let an
    auditor verify it read-only beside the writer."""
    with Ledger.open_dir(path) as ledger:
        r = ledger.open_report
        print(f"reopened        {r.blocks} blocks, {r.payloads} payload(s), {r.file_len} bytes")
        ledger.attach_validators(quorum)  # attached keys belong to the handle
        assert ledger.read_record(patient, record_id, Purpose.PATRQT) == plaintext

        # Read-only opens take no lock: they verify, but never decrypt.
        with Ledger.open_dir(path, read_only=True) as auditor, auditor.verify() as report:
            print(f"auditor verify  {report.summary}")
            return report.ok


if __name__ == "__main__":
    sys.exit(main())
