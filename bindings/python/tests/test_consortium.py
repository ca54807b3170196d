"""Consortium replication from Python: ledgers in one process replicate
through Node.handle (a Node as a peer, or a callable carrying the bytes),
exported blocks are imported one by one (tampered ones refused), a block
is proposed and co-signed, a forked block yields equivocation evidence
that verifies offline, hostile inputs fail cleanly; a validator-set change
is sealed only once the operators approve it; and a Python ledger catches
up over TCP from a `medledger-node` process."""

import os
import pathlib
import subprocess

import pytest

import medledger
from medledger import (
    AccessDenied,
    Action,
    BadSignature,
    Equivocation,
    InputError,
    Keypair,
    Ledger,
    MalformedInput,
    MissingQuorum,
    NotFound,
    PeerUnreachable,
    Rejected,
    Role,
    TamperedRecord,
    _ffi,
    consortium,
)
from medledger.consortium import Node, export_block, import_block, join_dir

from conftest import FHIR

LAB = b'{"resourceType":"Observation","valueQuantity":{"value":6.8}}'


@pytest.fixture
def leader(consortium):
    """The consortium ledger with block 2 holding one record."""
    c = consortium
    c.ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, LAB)
    assert c.commit() == 2
    return c


def joined(tmp_path, name, ledger):
    follower = join_dir(tmp_path / name, export_block(ledger, 0), ledger.id)
    assert follower.head_height == 0 and follower.id == ledger.id
    return follower


def test_a_joined_ledger_catches_up_through_a_node(leader, tmp_path):
    a = leader.ledger
    with joined(tmp_path, "b", a) as b, Node(a) as node_a, Node(b) as node_b:
        report = node_b.sync(node_a)
        assert report.blocks == 2 and report.transactions >= 7
        assert report.missing_payloads == 0 and not report.conflict
        assert b.head_height == 2
        assert b.log_root(b.log_size) == a.log_root(a.log_size)
        with b.verify() as r:
            assert r.ok and r.payloads == 1
        assert node_b.sync(node_a).blocks == 0
        assert node_b.status()["height"] == 2 == node_a.status()["height"]


def test_any_transport_carries_the_bytes(leader, tmp_path):
    a = leader.ledger
    seen = []

    def transport(request: bytes) -> bytes:
        seen.append(len(request))
        return node_a.handle(bytes(request))

    with joined(tmp_path, "b", a) as b, Node(a) as node_a, Node(b) as node_b:
        assert node_b.sync(transport).blocks == 2
        assert seen and b.head_height == 2


def test_a_node_is_shared_by_threads(leader, tmp_path):
    """Four threads catch one follower up at once, through one node, while
    the leader's node answers them all: each block is imported once."""
    import threading

    a = leader.ledger
    with joined(tmp_path, "b", a) as b, Node(a) as node_a, Node(b) as node_b:
        reports, errors = [], []

        def run():
            try:
                reports.append(node_b.sync(node_a))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert sum(r.blocks for r in reports) == 2
        assert b.head_height == 2


def test_blocks_import_in_order_and_tampering_is_refused(leader, tmp_path):
    a = leader.ledger
    block1, block2 = export_block(a, 1), export_block(a, 2)
    with joined(tmp_path, "c", a) as c:
        with pytest.raises(InputError, match="does not follow"):
            import_block(c, block2)
        assert import_block(c, block1) == (True, 1, 0)
        assert import_block(c, block1) == (False, 1, 0)  # already have it
        bad = bytearray(block2)
        bad[-1] ^= 1  # the record's ciphertext
        with pytest.raises(TamperedRecord):
            import_block(c, bad)
        with pytest.raises(MalformedInput):
            import_block(c, block2[:-1])
        assert c.head_height == 1
        assert import_block(c, block2).appended
        assert c.head_height == 2
    with pytest.raises(NotFound):
        export_block(a, 3)


def test_a_proposed_block_is_co_signed_by_a_peer(leader, tmp_path):
    c = leader
    with joined(tmp_path, "b", c.ledger) as b, Node(b, [c.validators[2]]) as node_b:
        Node(b).sync(Node(c.ledger))
        with Node(c.ledger, [c.validators[0]]) as proposer:
            assert proposer.propose_round([node_b]) is None  # nothing pending
            c.ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, LAB)
            assert proposer.propose_round([node_b]) == 3
            assert b.head_height == 3
            c.ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, LAB)

            def down(_request):
                raise ConnectionError("peer down")

            with pytest.raises(MissingQuorum):
                proposer.propose_round([down])
            assert c.ledger.head_height == 3
            assert proposer.propose_round([node_b]) == 4 == b.head_height


def test_a_forked_block_yields_evidence_naming_the_validators(leader, tmp_path):
    c = leader
    with joined(tmp_path, "d", c.ledger) as d:
        assert d.commit_block(c.quorum) == 1  # a different block 1, same keys
        with pytest.raises(Equivocation) as info:
            import_block(d, export_block(c.ledger, 1))
        assert d.head_height == 1
        evidence = info.value.evidence
        proved = consortium.verify_equivocation(evidence)
        assert proved["height"] == 1 and proved["ledger_id"] == c.ledger.id.hex()
        assert set(proved["guilty"]) == {c.validators[0].id.hex(), c.validators[2].id.hex()}
        bad = bytearray(evidence)
        bad[-1] ^= 1
        with pytest.raises(BadSignature):
            consortium.verify_equivocation(bad)
        with pytest.raises(MalformedInput):
            consortium.verify_equivocation(evidence[:10])
        # Proposing on the fork: B's node keeps evidence of validator 0.
        d.register(c.admin, Keypair.generate(), Role.PROVIDER, "newcomer")
        with joined(tmp_path, "b", c.ledger) as b, Node(b, [c.validators[2]]) as node_b, \
                Node(d, [c.validators[0]]) as node_d:
            node_b.sync(Node(c.ledger))
            with pytest.raises(MissingQuorum):
                node_d.propose_round([node_b])
            for node in (node_b, node_d):
                assert node.status()["equivocators"] == [c.validators[0].id.hex()]
                [kept] = node.evidence()
                assert consortium.verify_equivocation(kept)["height"] == 2


def test_hostile_inputs(leader, tmp_path):
    a = leader.ledger
    genesis = export_block(a, 0)
    with pytest.raises(Rejected):
        join_dir(tmp_path / "x", genesis, bytes(32))
    with pytest.raises(MalformedInput):
        join_dir(tmp_path / "x", b"\x00", a.id)
    with pytest.raises(ValueError):
        join_dir(tmp_path / "x", genesis, b"short")
    with pytest.raises(AccessDenied):
        Node(a, [leader.hospital_a])  # not a validator
    with pytest.raises(TypeError):
        Node(a, [b"not a keypair"])
    with Node(a) as node:
        assert len(node.handle(b"garbage")) > 0  # an error *response*
        with pytest.raises(TypeError):
            node.handle("text")

        def broken(_request):
            raise RuntimeError("no route")

        with pytest.raises(PeerUnreachable) as info:
            node.sync(broken)
        assert isinstance(info.value.__cause__, RuntimeError)
        with pytest.raises(PeerUnreachable):
            node.sync(lambda _r: "not bytes")
        with pytest.raises(TypeError):
            node.sync(42)
        with pytest.raises(PeerUnreachable):
            node.sync_tcp("127.0.0.1:1", timeout_ms=2000)
        with pytest.raises(InputError, match="IP:port"):
            node.sync_tcp("localhost:7000")
        with pytest.raises(InputError):
            node.sync_tcp("127.0.0.1:7000", timeout_ms=0)
        with pytest.raises(ValueError):
            node.sync_tcp("127.0.0.1:7000", timeout_ms=-1)
        assert node.propose_round_tcp(["127.0.0.1:1"]) is None  # nothing pending
    consortium.follow_tcp(a, "127.0.0.1:1")
    with pytest.raises(InputError):
        consortium.follow_tcp(a, "nowhere")


def test_the_node_outlives_the_ledger_object(leader, tmp_path):
    a = leader.ledger
    genesis, ledger_id = export_block(a, 0), a.id
    node_a = Node(a)
    a.close()  # the node holds the ledger
    with node_a, join_dir(tmp_path / "e", genesis, ledger_id) as e, Node(e) as node_e:
        assert node_e.sync(node_a).blocks == 2
        assert e.head_height == 2


def _node_binary() -> pathlib.Path:
    override = os.environ.get("MEDLEDGER_NODE")
    if override:
        return pathlib.Path(override)
    lib_dir = _ffi.LIBRARY_PATH.parent
    return lib_dir / "medledger-node"


def test_sync_over_tcp_from_a_medledger_node_process(tmp_path):
    binary = _node_binary()
    if not binary.is_file():
        pytest.skip(f"{binary} not built (scripts/test-python.sh builds it)")
    admin, v0, v1 = Keypair.generate(), Keypair.generate(), Keypair.generate()
    hospital, patient = Keypair.generate(), Keypair.generate()
    founders = [(admin, Role.ADMIN, "desk"), (v0, Role.VALIDATOR, "v0"),
                (v1, Role.VALIDATOR, "v1")]
    with Ledger.create_dir(tmp_path / "a", "tcp consortium", 2, founders, [v0, v1]) as a:
        a.register(admin, hospital, Role.PROVIDER, "hospital")
        a.register(admin, patient, Role.PATIENT, "patient")
        a.grant(patient, hospital, actions=Action.ALL, not_before=a.now() - 1000)
        a.commit_block([v0, v1])
        a.append_record(hospital, patient.id, "lab", FHIR, LAB)
        assert a.commit_block([v0, v1]) == 2
        genesis, ledger_id = export_block(a, 0), a.id
        root = a.log_root(a.log_size)
    proc = subprocess.Popen(
        [str(binary), "--dir", str(tmp_path / "a"), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = proc.stdout.readline().split()
        assert ready[:1] == ["ready"] and ready[-2:] == ["height", "2"], ready
        addr = ready[1]
        with join_dir(tmp_path / "b", genesis, ledger_id) as b, Node(b) as node:
            report = node.sync_tcp(addr, timeout_ms=5000)
            assert report.blocks == 2 and not report.conflict
            assert b.head_height == 2 and b.log_root(b.log_size) == root
            with b.verify() as r:
                assert r.ok and r.payloads == 1
            assert node.sync_tcp(addr).blocks == 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_vote_log_keeps_the_seal_across_a_new_node(leader, tmp_path):
    c = leader
    votes = tmp_path / "votes"
    with joined(tmp_path, "b", c.ledger) as b:
        Node(b).sync(Node(c.ledger))
        node_b = Node(b, [c.validators[2]])
        node_b.set_vote_log(votes)
        with Node(c.ledger, [c.validators[0]]) as proposer:
            c.ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, LAB)
            assert proposer.propose_round([node_b]) == b.head_height
        assert votes.stat().st_size == 40  # u64 height + 32-byte header hash
        node_b.close()
        # A damaged vote log is refused, never read as "no vote".
        votes.write_bytes(b"0123456789")
        with Node(b, [c.validators[2]]) as again:
            with pytest.raises(MalformedInput):
                again.set_vote_log(votes)
        with pytest.raises(TypeError):
            Node(b).set_vote_log(42)


def test_a_validator_set_change_needs_the_operators_approval(leader, tmp_path):
    c = leader
    kept = c.validators[:2]
    h = medledger.validator_set_hash(2, kept)
    assert len(h) == 32
    # The keys in any order, as Keypairs or public keys: one set.
    assert medledger.validator_set_hash(2, [v.public_keys.sign for v in reversed(kept)]) == h
    assert medledger.validator_set_hash(1, kept) != h
    assert medledger.validator_set_hash(2, c.validators) != h
    with joined(tmp_path, "b", c.ledger) as b, Node(b, [c.validators[1]]) as node_b, \
            Node(c.ledger, [c.validators[0]]) as node_a:
        node_b.sync(node_a)
        c.ledger.set_validators(c.admin, 2, kept)
        # The proposer's operator has not approved: no proposal.
        with pytest.raises(AccessDenied, match="not approved"):
            node_a.propose_round([node_b])
        node_a.approve_validator_set(h)
        # B's operator has not approved: no seal, no quorum.
        with pytest.raises(MissingQuorum):
            node_a.propose_round([node_b])
        node_b.approve_validator_set(medledger.validator_set_hash(1, kept))
        with pytest.raises(MissingQuorum):
            node_a.propose_round([node_b])
        assert c.ledger.head_height == 2 == b.head_height
        node_b.approve_validator_set(h)
        assert node_a.propose_round([node_b]) == 3 == b.head_height
        # From the next block on, the retired validator's seal is refused.
        c.ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, LAB)
        with pytest.raises(AccessDenied):
            c.ledger.commit_block([c.validators[0], c.validators[2]])
        assert c.ledger.commit_block(kept) == 4
        # A change sealed with commit_block: threshold 3 of three.
        c.ledger.set_validators(c.admin, 3, c.validators)
        assert c.ledger.commit_block(kept) == 5
        c.ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, LAB)
        with pytest.raises(MissingQuorum):
            c.ledger.commit_block(kept)
        assert c.ledger.commit_block(c.validators) == 6
        assert node_b.sync(node_a).blocks == 3
        with b.verify() as report:
            assert report.ok


def test_validator_set_arguments_are_checked(leader):
    c = leader
    with pytest.raises(InputError):
        medledger.validator_set_hash(0, c.validators)
    with pytest.raises(InputError):
        medledger.validator_set_hash(4, c.validators)
    with pytest.raises(InputError):
        medledger.validator_set_hash(1, [])
    with pytest.raises(InputError, match="unique"):
        medledger.validator_set_hash(1, [c.validators[0], c.validators[0]])
    with pytest.raises(ValueError):
        medledger.validator_set_hash(1, [b"short"])
    with pytest.raises(TypeError):
        medledger.validator_set_hash(1, b"\0" * 32)
    with pytest.raises(ValueError):
        medledger.validator_set_hash(-1, c.validators)
    # Not an admin; a member that is no registered validator.
    with pytest.raises(Rejected):
        c.ledger.set_validators(c.hospital_a, 2, c.validators[:2])
    with pytest.raises(Rejected):
        c.ledger.set_validators(c.admin, 1, [c.validators[0], c.hospital_a])
    with Node(c.ledger) as node:
        with pytest.raises(ValueError):
            node.approve_validator_set(b"\0" * 31)


def test_a_validator_endorses_only_its_proposer(leader, tmp_path):
    c = leader
    with joined(tmp_path, "b", c.ledger) as b, Node(b, [c.validators[2]]) as node_b:
        Node(b).sync(Node(c.ledger))
        with Node(c.ledger, [c.validators[0]]) as proposer:
            c.ledger.append_record(c.hospital_a, c.patient.id, "lab", FHIR, LAB)
            # B's proposer is another validator: A's proposal gets no seal.
            node_b.accept_proposals_from([c.validators[1].id])
            with pytest.raises(MissingQuorum):
                proposer.propose_round([node_b])
            node_b.accept_proposals_from([c.validators[0].id])
            assert proposer.propose_round([node_b]) == b.head_height
            node_b.accept_proposals_from([])
            with pytest.raises(TypeError):
                node_b.accept_proposals_from(b"not a list of ids")
            with pytest.raises(ValueError):
                node_b.accept_proposals_from([b"short"])


def test_blocks_by_hand_submit_propose_seal_commit(consortium, tmp_path):
    """B replicates block 1, then takes A's next transactions as bytes
    signed elsewhere, proposes, seals by hand and commits: its log is A's."""
    c = consortium
    a = c.ledger
    with joined(tmp_path, "b", a) as b:
        import_block(b, export_block(a, 1))
        first = a.log_size
        lab = Keypair.generate()
        a.register(c.admin, lab, Role.PROVIDER, "lab system")
        rid = a.append_record(c.hospital_a, c.patient.id, "lab", FHIR, LAB)
        assert c.commit() == 2
        reg_tx, rec_tx = a.transaction(first), a.transaction(first + 1)
        ct_len = a.record_info(rid)["ciphertext_len"]
        ct = export_block(a, 2)[-ct_len:]  # the block's one ciphertext ends it

        with pytest.raises(MalformedInput):
            b.submit(b"\x02\x00\x01")
        with pytest.raises(Rejected, match="not supplied"):
            b.submit(rec_tx)
        with pytest.raises(Rejected):
            b.submit(rec_tx, [ct[:-1]])
        assert b.submit(reg_tx, []) == first
        with pytest.raises(Rejected):  # a replay of a pending transaction
            b.submit(reg_tx)
        assert b.submit(bytearray(rec_tx), [memoryview(ct)]) == first + 1
        with pytest.raises(Rejected):  # a replay of a committed one
            a.submit(reg_tx)

        validators = b.validators()
        assert validators["threshold"] == 2
        assert validators["hash"] == medledger.validator_set_hash(2, c.validators).hex()
        keys = [m["key"] for m in validators["members"]]
        assert sorted(keys) == sorted(v.public_keys.sign.hex() for v in c.validators)
        assert [m["id"] for m in validators["members"]] == sorted(
            m["id"] for m in validators["members"])
        index = {v: keys.index(v.public_keys.sign.hex()) for v in c.validators}

        head1 = b.head()
        header = b.propose()
        assert len(header) == _ffi.HEADER_LEN
        assert header[2:34] == b.id and int.from_bytes(header[34:42], "little") == 2
        assert header[42:74].hex() == head1["hash"] and head1["height"] == 1
        assert header[102:134] == a.log_root(first + 2)

        v0, v1, v2 = c.validators
        seals = [medledger.seal_header(header, v, index[v]) for v in (v2, v0)]
        assert all(len(s) == _ffi.SEAL_LEN for s in seals)
        assert seals[0][:2] == index[v2].to_bytes(2, "little")
        with pytest.raises(MissingQuorum):
            b.commit(header, seals[:1])
        with pytest.raises(InputError):  # the same seal twice
            b.commit(header, [seals[0], seals[0]])
        with pytest.raises(InputError):  # v0's key at v1's index
            b.commit(header, [seals[0], medledger.seal_header(header, v0, index[v1])])
        other = bytearray(header)
        other[74] ^= 1  # the timestamp
        with pytest.raises(InputError):  # a seal over another header
            b.commit(header, [seals[0], medledger.seal_header(bytes(other), v0, index[v0])])
        with pytest.raises(InputError):
            b.commit(bytes(other), seals)
        assert b.head_height == 1

        b.commit(header, seals)
        head2 = b.head()
        assert head2["height"] == 2 and head2["tx_count"] == 2
        assert head2["log_size"] == first + 2 and head2["first_leaf"] == first
        assert head2["log_root"] == a.log_root(first + 2).hex()
        assert head2["prev_hash"] == head1["hash"] and head2["ledger_id"] == b.id.hex()
        assert head2["validator_set_hash"] == validators["hash"]
        assert head2["timestamp"] == int.from_bytes(header[74:82], "little")
        with pytest.raises(InputError):  # stale now
            b.commit(header, seals)
        b.check_served(rid, ct)
        with b.verify() as r:
            assert r.ok and r.blocks == 3 and r.payloads == 1

        who = b.participant(lab)
        assert who == {
            "id": lab.id.hex(), "roles": Role.PROVIDER, "label": "lab system",
            "sign_key": lab.public_keys.sign.hex(), "enc_key": lab.public_keys.enc.hex(),
            "escrow_opt_out": False,
        }
        assert b.participant(lab.id) == who
        with pytest.raises(NotFound):
            b.participant(bytes(32))
        lab.close()


def test_blocks_by_hand_arguments_are_checked(consortium):
    c = consortium
    ledger = c.ledger
    header = ledger.propose()
    v = c.validators[0]
    with pytest.raises(TypeError):
        ledger.submit("tx")
    with pytest.raises(TypeError):
        ledger.submit(b"tx", b"payload")  # one bytes object, not a sequence
    with pytest.raises(TypeError):
        ledger.submit(b"tx", ["payload"])
    with pytest.raises(TypeError):
        ledger.commit(header, b"\x00" * _ffi.SEAL_LEN)
    with pytest.raises(ValueError):
        ledger.commit(header, [b"\x00" * (_ffi.SEAL_LEN - 1)])
    with pytest.raises(TypeError):
        medledger.seal_header(header, v.id, 0)
    with pytest.raises(ValueError):
        medledger.seal_header(header, v, -1)
    with pytest.raises(InputError):  # checked in C: above 65535
        medledger.seal_header(header, v, 65536)
    with pytest.raises(InputError):
        medledger.seal_header(header[:-1], v, 0)
    with pytest.raises(InputError):
        ledger.commit(header[:-1], [])
    with pytest.raises(MissingQuorum):
        ledger.commit(header, [])
    with pytest.raises(MalformedInput):
        ledger.submit(b"\x02\x00\x01", [b"unused ciphertext"])
    with pytest.raises(ValueError):
        ledger.participant(b"short")
    assert ledger.head()["height"] == ledger.head_height == 1
