"""Threads share one Ledger (and one patient Keypair): ctypes releases the
GIL, so the calls really run concurrently in the library."""

import threading

from medledger import Action, Keypair, Role

ROUNDS = 10
THREADS = 4


def test_threads_append_read_and_commit_on_one_ledger(consortium):
    c = consortium
    hospitals = [Keypair.generate() for _ in range(THREADS)]
    for i, h in enumerate(hospitals):
        c.ledger.register(c.admin, h, Role.PROVIDER, f"hospital {i}")
        c.ledger.grant(c.patient, h, actions=Action.ALL)
    c.commit()
    ids = [[None] * ROUNDS for _ in range(THREADS)]
    errors = []
    start = threading.Barrier(THREADS)

    def worker(i):
        try:
            start.wait()
            for r in range(ROUNDS):
                # Own author and category: no two threads race for one
                # sequence number or category key.
                ids[i][r] = c.ledger.append_record(
                    hospitals[i], c.patient.id, f"lab-{i}", "application/json",
                    f'{{"thread":{i},"round":{r}}}'.encode())
                if i == 0:
                    c.commit()
                    with c.ledger.verify() as report:
                        assert report.ok, report.summary
                earlier = ids[i][r // 2]
                try:
                    got = c.ledger.read_record(c.patient, earlier, "PATRQT")
                    assert got == f'{{"thread":{i},"round":{r // 2}}}'.encode()
                except Exception as e:  # pending records are NotFound
                    if type(e).__name__ != "NotFound":
                        raise
        except BaseException as e:
            errors.append((i, e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors

    c.commit()
    for i in range(THREADS):
        for r in range(ROUNDS):
            assert c.ledger.read_record(c.patient, ids[i][r], "PATRQT") == \
                f'{{"thread":{i},"round":{r}}}'.encode()
    with c.ledger.verify() as report:
        assert report.ok and report.records == THREADS * ROUNDS
    for h in hospitals:
        h.close()


def test_close_waits_for_calls_in_flight():
    admin = Keypair.generate()
    from medledger import Ledger

    ledger = Ledger.create_in_memory("x", 1, [(admin, Role.ADMIN | Role.VALIDATOR, "a")], [admin])
    stop = threading.Event()
    failures = []

    def verify_loop():
        from medledger import ClosedError

        while not stop.is_set():
            try:
                with ledger.verify() as report:
                    assert report.ok
            except ClosedError:
                return
            except BaseException as e:
                failures.append(e)
                return

    threads = [threading.Thread(target=verify_loop) for _ in range(3)]
    for t in threads:
        t.start()
    ledger.close()  # must not free the ledger under a running verify
    stop.set()
    for t in threads:
        t.join()
    assert not failures, failures
    admin.close()


def test_concurrent_commits_on_one_ledger_all_succeed():
    from medledger import Ledger

    admin = Keypair.generate()
    ledger = Ledger.create_in_memory("x", 1, [(admin, Role.ADMIN | Role.VALIDATOR, "a")], [admin])
    heights, errors = [], []

    def commit_loop():
        try:
            for _ in range(25):
                heights.append(ledger.commit_block([admin]))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=commit_loop) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(heights) == list(range(1, THREADS * 25 + 1))
    with ledger.verify() as report:
        assert report.ok and report.blocks == THREADS * 25 + 1
    ledger.close()
    admin.close()
