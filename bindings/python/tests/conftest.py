"""Shared fixtures: the consortium of tests/common/mod.rs (an admin, three
validators with threshold 2, two hospitals, two patients), built through
the Python bindings. As in tests/capi/common.h, the patient treats with
hospital A for every category and with hospital B for imaging only, and two
validator keys are attached so reads commit their own access records."""

import pytest

from medledger import Action, Keypair, Ledger, Role

FHIR = "application/fhir+json"


def flipped(data: bytes):
    """Copies of `data`, each with one more byte changed, every byte once."""
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 1
        yield bytes(bad)


class Consortium:
    def __init__(self):
        self.admin = Keypair.generate()
        self.validators = [Keypair.generate() for _ in range(3)]
        self.hospital_a = Keypair.generate()
        self.hospital_b = Keypair.generate()
        self.patient = Keypair.generate()
        self.other_patient = Keypair.generate()
        founders = [(self.admin, Role.ADMIN, "registration desk")] + [
            (v, Role.VALIDATOR, f"validator {i}") for i, v in enumerate(self.validators)
        ]
        self.ledger = Ledger.create_in_memory(
            "test consortium", 2, founders, sealers=self.validators[:2]
        )
        for kp, roles, label in [
            (self.hospital_a, Role.PROVIDER, "hospital A EHR"),
            (self.hospital_b, Role.PROVIDER, "hospital B EHR"),
            (self.patient, Role.PATIENT, "patient app 1"),
            (self.other_patient, Role.PATIENT, "patient app 2"),
        ]:
            self.ledger.register(self.admin, kp, roles, label)
        self.ledger.grant(self.patient, self.hospital_a, actions=Action.ALL,
                          not_before=self.ledger.now() - 1000)
        self.ledger.grant(self.patient, self.hospital_b, actions=Action.ALL,
                          categories=["imaging"], not_before=self.ledger.now() - 1000)
        self.ledger.attach_validators(self.quorum)
        self.commit()

    @property
    def quorum(self):
        return [self.validators[0], self.validators[2]]

    def commit(self) -> int:
        return self.ledger.commit_block(self.quorum)

    def close(self):
        self.ledger.close()
        for kp in [self.admin, *self.validators, self.hospital_a, self.hospital_b,
                   self.patient, self.other_patient]:
            kp.close()


@pytest.fixture
def consortium():
    c = Consortium()
    yield c
    c.close()
