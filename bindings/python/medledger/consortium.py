"""Consortium replication: several institutions' ledgers, one chain.

A committed block travels as *shipped* bytes (the block and the
ciphertexts of its records): :func:`export_block` at one ledger,
:func:`import_block` at another, which verifies it fully before storing
it. A new member joins from the genesis block (:func:`join_dir`). A
:class:`Node` answers the wire protocol of ``medledger-node`` (bytes in,
bytes out: :meth:`Node.handle`), catches up from a peer (:meth:`Node.sync`
over any transport, :meth:`Node.sync_tcp` from a ``medledger-node``), and
proposes blocks for its peers to co-sign (:meth:`Node.propose_round`).

A different block at a height a ledger holds, sealed by the same
validators, is equivocation: :func:`import_block` raises
:class:`~medledger.Equivocation`, whose ``evidence`` bytes
:func:`verify_equivocation` checks offline, naming the validators who
signed both. Example::

    from medledger import consortium

    follower = consortium.join_dir(path, consortium.export_block(leader, 0), leader.id)
    with consortium.Node(leader) as leader_node, consortium.Node(follower) as node:
        report = node.sync(leader_node)       # or any callable bytes -> bytes
        assert follower.head_height == leader.head_height
"""

from __future__ import annotations

import ctypes
from typing import Callable, List, NamedTuple, Optional, Sequence, Union

from . import _ffi
from ._ffi import lib
from ._handle import Handle, as_bytes, as_id, as_text, as_u32, borrow, borrow_all, check
from .errors import Status, error_for_status
from .keypair import Keypair
from .ledger import Ledger, _ids, _path, _take_json, _u64

#: The timeout of the TCP functions when none is given (10 s).
DEFAULT_TIMEOUT_MS = 10_000


class ImportResult(NamedTuple):
    """What :func:`import_block` did with a block."""

    #: True: verified and appended; False: this ledger already held this
    #: very block (nothing changed).
    appended: bool
    #: Height of the block.
    height: int
    #: Records whose ciphertext did not come with the block (erased at the
    #: sender).
    missing_payloads: int


class SyncReport(NamedTuple):
    """What one catch-up (:meth:`Node.sync`, :meth:`Node.sync_tcp`) did."""

    #: Blocks verified and appended.
    blocks: int
    #: Transactions in them.
    transactions: int
    #: Ciphertexts the peer did not ship (erased there).
    missing_payloads: int
    #: The peer served a conflicting block: the node kept the evidence
    #: (:meth:`Node.evidence`) and stopped there.
    conflict: bool


def export_block(ledger: Ledger, height: int) -> bytes:
    """The committed block at ``height`` with the ciphertexts of its
    records ``ledger`` holds, as shipped bytes. Raises
    :class:`~medledger.NotFound` above the head."""
    out = _ffi.BufferPtr()
    with borrow(ledger, Ledger, "ledger") as lp:
        check(lib.medledger_ledger_export_block(lp, _u64(height, "height"), ctypes.byref(out)))
    return _ffi.take_buffer(out)


def import_block(ledger: Ledger, shipped) -> ImportResult:
    """Verifies shipped bytes (from :func:`export_block` at a peer) like
    :meth:`Ledger.verify` does and appends the block; blocks are imported
    in order. Returns an :class:`ImportResult` (``appended`` False when the
    very block is already held).

    Raises :class:`~medledger.Equivocation`, with the evidence bytes in its
    ``evidence``, for a different block at a height held here sealed by the
    same validators (not imported); :class:`~medledger.TamperedRecord` for a
    shipped ciphertext that is not one of the block's;
    :class:`~medledger.InputError` for bytes that do not decode or a height
    that does not follow the head; other :class:`~medledger.LedgerError`
    for a block that does not verify. Nothing is stored on failure."""
    data = as_bytes(shipped, "shipped")
    result = _ffi.medledger_import_result()
    evidence = _ffi.BufferPtr()
    with borrow(ledger, Ledger, "ledger") as lp:
        status = lib.medledger_ledger_import_block(
            lp, data, len(data), ctypes.byref(result), ctypes.byref(evidence))
        message = _ffi.last_error()
    if status == Status.EQUIVOCATION:
        error = error_for_status(status, message)
        error.evidence = _ffi.take_buffer(evidence)
        raise error
    check(status)
    return ImportResult(result.outcome == _ffi.IMPORT_APPENDED, result.height,
                        result.missing_payloads)


def join_dir(path, genesis, ledger_id) -> Ledger:
    """Joins a consortium: a new durable ledger in the empty directory
    ``path`` from its genesis block as a peer shipped it
    (``export_block(peer, 0)``), after checking it is the genesis of
    ``ledger_id`` (32 bytes, learnt out of band) and sealed by its
    validators. Raises :class:`~medledger.Rejected` for another ledger's
    genesis."""
    data = as_bytes(genesis, "genesis")
    lid = as_id(ledger_id, "ledger_id")
    out = _ffi.LedgerPtr()
    check(lib.medledger_ledger_join_dir(_path(path), data, len(data), lid, ctypes.byref(out)))
    return Ledger(out)


def follow_tcp(ledger: Ledger, addr: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
    """Makes ``ledger`` a follower of the node at ``addr`` (``"IP:port"``):
    writes are sent there to be sequenced and return once their block is
    imported *here*, so keep a :class:`Node` on this ledger catching up
    from ``addr`` (:meth:`Node.sync_tcp` in a loop on another thread), or
    writes wait until they time out (30 s). Nothing is dialled by this
    call."""
    a = as_text(addr, "addr")
    with borrow(ledger, Ledger, "ledger") as lp:
        check(lib.medledger_ledger_follow_tcp(lp, a, as_u32(timeout_ms, "timeout_ms")))


def verify_equivocation(evidence) -> dict:
    """Checks equivocation evidence offline and returns ``{"height",
    "ledger_id", "first_header_hash", "second_header_hash", "guilty":
    [hex participant id]}``. Raises :class:`~medledger.BadSignature` when a
    seal does not verify, :class:`~medledger.InputError` for bytes that do
    not decode or prove nothing."""
    data = as_bytes(evidence, "evidence")
    out = _ffi.BufferPtr()
    check(lib.medledger_equivocation_verify(data, len(data), ctypes.byref(out)))
    return _take_json(out)


#: A peer: a :class:`Node` in this process, or a callable sending request
#: bytes to a peer over the caller's transport and returning its response
#: bytes.
PeerLike = Union["Node", Callable[[bytes], bytes]]


class _Transport:
    """A Python peer as a C ``medledger_peer``. A Python exception never
    crosses into C: the call reports a failed transport, and the first
    exception is kept to chain onto :class:`~medledger.PeerUnreachable`."""

    def __init__(self, peer: PeerLike, name: str):
        if isinstance(peer, Node):
            send = peer.handle
        elif callable(peer):
            send = peer
        else:
            raise TypeError(f"{name} must be a Node or a callable, not {type(peer).__name__}")
        self.error: Optional[BaseException] = None

        def call(_context, request, request_len, out_response):
            try:
                response = as_bytes(send(ctypes.string_at(request, request_len)), "response")
                return lib.medledger_buffer_new(response, len(response), out_response)
            except BaseException as e:  # noqa: BLE001 - must not unwind into C
                if self.error is None:
                    self.error = e
                return int(Status.SYSTEM)

        # Kept alive as long as this object: C holds a pointer to it.
        self._call = _ffi.PEER_CALL(call)
        self.c = _ffi.medledger_peer(self._call, None)


def _raise_for(status: int, message: str, transports: Sequence[_Transport]) -> None:
    if status == 0:
        return
    error = error_for_status(status, message)
    cause = next((t.error for t in transports if t.error is not None), None)
    raise error from cause


class Node(Handle):
    """One institution's node over a :class:`~medledger.Ledger`, sealing
    with ``validators`` (members of the validator set; none for a node
    that only replicates). The node holds its own reference to the ledger:
    closing the ledger object first is fine. Every method may be called
    from several threads at once."""

    _free_name = "medledger_node_free"

    def __init__(self, ledger: Ledger, validators: Sequence[Keypair] = ()):
        out = _ffi.NodePtr()
        with borrow(ledger, Ledger, "ledger") as lp, \
                borrow_all(validators, Keypair, "validators") as ptrs:
            arr = (_ffi.KeypairPtr * max(len(ptrs), 1))(*ptrs)
            check(lib.medledger_node_new(lp, arr if ptrs else None, len(ptrs),
                                         ctypes.byref(out)))
        super().__init__(out)

    def set_vote_log(self, path) -> None:
        """Keeps this validator node's last seal (and, as proposer, its last
        proposal) in the file ``path``, durably before the seals leave it,
        so that after a restart it never seals a second header at that
        height; a kept proposal is proposed again. Call once, before the
        node serves. A damaged vote log raises instead of being ignored."""
        with self._borrow() as np:
            check(lib.medledger_node_set_vote_log(np, _path(path)))

    def approve_validator_set(self, set_hash) -> None:
        """This node's operator approves the validator set whose hash is
        ``set_hash`` (:func:`~medledger.validator_set_hash`): from now on
        the node proposes and seals blocks changing the set to it, which it
        refuses otherwise."""
        h = as_id(set_hash, "set_hash")
        with self._borrow() as np:
            check(lib.medledger_node_approve_validator_set(np, h))

    def accept_proposals_from(self, proposer_ids: Sequence[bytes]) -> None:
        """Endorse only proposals sealed by one of these validators (their
        32-byte participant ids): the consortium's proposer. With none, any
        validator's proposal is endorsed, and a stray one can take a height
        the proposer is filling."""
        ids = _ids(proposer_ids, "proposer_ids")
        buf = (ctypes.c_uint8 * max(len(ids), 1)).from_buffer_copy(ids or b"\0")
        with self._borrow() as np:
            check(lib.medledger_node_accept_proposals_from(
                np, buf if ids else None, len(ids) // _ffi.ID_LEN))

    def handle(self, request) -> bytes:
        """Answers one encoded request of the wire protocol with the
        encoded response (a failed request is an error *response*)."""
        data = as_bytes(request, "request")
        out = _ffi.BufferPtr()
        with self._borrow() as np:
            check(lib.medledger_node_handle(np, data, len(data), ctypes.byref(out)))
        return _ffi.take_buffer(out)

    def status(self) -> dict:
        """``{"height", "head_hash", "log_size", "log_root", "evidence":
        count, "equivocators": [hex participant id]}``."""
        out = _ffi.BufferPtr()
        with self._borrow() as np:
            check(lib.medledger_node_status_json(np, ctypes.byref(out)))
        return _take_json(out)

    def evidence(self) -> List[bytes]:
        """Every equivocation evidence the node detected, encoded as
        :func:`verify_equivocation` reads it."""
        found = []
        with self._borrow() as np:
            count = self.status()["evidence"]
            for i in range(count):
                out = _ffi.BufferPtr()
                check(lib.medledger_node_evidence(np, i, ctypes.byref(out)))
                found.append(_ffi.take_buffer(out))
        return found

    def sync(self, peer: PeerLike) -> SyncReport:
        """Catches up from ``peer`` (a :class:`Node`, or a callable
        carrying request bytes to a peer and returning its response bytes):
        imports every block after this node's head, each verified first.
        Raises :class:`~medledger.PeerUnreachable` when the transport
        fails (chained to the callable's exception)."""
        transport = _Transport(peer, "peer")
        report = _ffi.medledger_sync_report()
        with self._borrow() as np:
            status = lib.medledger_node_sync(np, ctypes.byref(transport.c), ctypes.byref(report))
            _raise_for(status, _ffi.last_error(), [transport])
        return _sync_report(report)

    def sync_tcp(self, addr: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> SyncReport:
        """:meth:`sync` from the ``medledger-node`` at ``addr``
        (``"IP:port"``); each exchange fails after ``timeout_ms`` without an
        answer (:class:`~medledger.PeerUnreachable`)."""
        a = as_text(addr, "addr")
        report = _ffi.medledger_sync_report()
        with self._borrow() as np:
            check(lib.medledger_node_sync_tcp(np, a, as_u32(timeout_ms, "timeout_ms"),
                                              ctypes.byref(report)))
        return _sync_report(report)

    def propose_round(self, peers: Sequence[PeerLike]) -> Optional[int]:
        """Proposes the ledger's pending transactions as the next block,
        sealed with this node's keys, asks every peer to co-sign (in
        parallel, from library threads), commits at the threshold and
        announces it. Returns the committed height, or None when nothing
        was pending. Raises :class:`~medledger.MissingQuorum` when too few
        sealed."""
        transports = [_Transport(p, f"peers[{i}]") for i, p in enumerate(peers)]
        arr = (_ffi.medledger_peer * max(len(transports), 1))(*(t.c for t in transports))
        return self._round(lambda np, committed, height: lib.medledger_node_propose_round(
            np, arr, len(transports), committed, height), transports)

    def propose_round_tcp(self, addrs: Sequence[str],
                          timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Optional[int]:
        """:meth:`propose_round` with peers at TCP addresses (``"IP:port"``)."""
        encoded = [as_text(a, f"addrs[{i}]") for i, a in enumerate(addrs)]
        arr = (ctypes.c_char_p * max(len(encoded), 1))(*encoded)
        t = as_u32(timeout_ms, "timeout_ms")
        return self._round(lambda np, committed, height: lib.medledger_node_propose_round_tcp(
            np, arr, len(encoded), t, committed, height), [])

    def _round(self, call, transports) -> Optional[int]:
        committed = ctypes.c_bool()
        height = ctypes.c_uint64()
        with self._borrow() as np:
            status = call(np, ctypes.byref(committed), ctypes.byref(height))
            _raise_for(status, _ffi.last_error(), transports)
        return height.value if committed.value else None

    def __repr__(self) -> str:
        return "Node(<closed>)" if self.closed else f"Node(height={self.status()['height']})"


def _sync_report(r) -> SyncReport:
    return SyncReport(r.blocks, r.transactions, r.missing_payloads, bool(r.conflict))
