//! Consortium replication: shipping committed blocks between ledgers,
//! joining a consortium, and `medledger_node`, one institution's node
//! answering the wire protocol (docs/FORMAT.md §11) over any transport.

use std::ffi::{c_char, c_void};
use std::net::SocketAddr;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use zeroize::Zeroizing;

use super::boundary::{
    FfiError, FfiResult, Handle, guard, out_ptr, try_32, try_32s, try_handles, try_path, try_ref,
    try_slice, try_str, write_32, write_out,
};
use super::buffer::{medledger_buffer, take_buffer, write_buffer};
use super::keypair::medledger_keypair;
use super::ledger::medledger_ledger;
use super::ledger_access::member_keys;
use super::status::{
    MEDLEDGER_ERR_EQUIVOCATION, MEDLEDGER_ERR_PEER_UNREACHABLE, MEDLEDGER_OK, medledger_status,
};
use super::{MEDLEDGER_MAX_MESSAGE_LEN, MEDLEDGER_MAX_PEERS, MEDLEDGER_MAX_TEXT_LEN};
use crate::consortium::{Node, Peer, PeerUpstream, SyncReport, TcpPeer};
use crate::crypto::hash::Digest;
use crate::ledger::Imported;
use crate::log::shipped::ShippedBlock;
use crate::model::validators::{MAX_VALIDATORS, Validator, ValidatorSet};
use crate::proof::Equivocation;
use crate::{Error, Ledger, LedgerId, ParticipantId};

/// `medledger_import_result.outcome`: the block was verified and appended.
pub const MEDLEDGER_IMPORT_APPENDED: u32 = 1;
/// `medledger_import_result.outcome`: this ledger already holds this very
/// block; nothing changed.
pub const MEDLEDGER_IMPORT_ALREADY_HAVE: u32 = 2;

/// Longest timeout accepted by the TCP functions (10 minutes).
pub const MEDLEDGER_MAX_PEER_TIMEOUT_MS: u32 = 600_000;

/// What `medledger_ledger_import_block` did with a block.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct medledger_import_result {
    /// `MEDLEDGER_IMPORT_APPENDED` or `MEDLEDGER_IMPORT_ALREADY_HAVE`.
    pub outcome: u32,
    /// Height of the block.
    pub height: u64,
    /// Records of the block whose ciphertext did not come with it (erased
    /// at the sender); 0 for `MEDLEDGER_IMPORT_ALREADY_HAVE`.
    pub missing_payloads: u64,
}

/// What one catch-up (`medledger_node_sync`, `medledger_node_sync_tcp`)
/// did.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct medledger_sync_report {
    /// Blocks verified and appended.
    pub blocks: u64,
    /// Transactions in them.
    pub transactions: u64,
    /// Ciphertexts the peer did not ship (erased there).
    pub missing_payloads: u64,
    /// The peer served a conflicting block: the evidence was kept by the
    /// node (`medledger_node_evidence`) and the catch-up stopped there.
    pub conflict: bool,
}

impl From<SyncReport> for medledger_sync_report {
    fn from(r: SyncReport) -> Self {
        medledger_sync_report {
            blocks: r.blocks,
            transactions: r.transactions,
            missing_payloads: r.missing_payloads,
            conflict: r.conflict,
        }
    }
}

/// A peer's transport, provided by the caller: sends the request bytes to
/// the peer (over any transport) and returns the peer's response bytes in
/// a new buffer written to `*out_response` (one made with
/// `medledger_buffer_new`, or the one `medledger_node_handle` returned for
/// a node in the same process). The library takes ownership of the
/// response buffer and frees it.
///
/// Return `MEDLEDGER_OK` with `*out_response` set, or any other status
/// when the peer could not be reached (the library then fails with
/// `MEDLEDGER_ERR_PEER_UNREACHABLE`). The callback may be called from
/// threads the library starts (`medledger_node_propose_round` asks every
/// peer in parallel), so it must be thread-safe. It must not unwind
/// (no C++ exception, no `longjmp`) out of the call.
pub type medledger_peer_call = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        request: *const u8,
        request_len: usize,
        out_response: *mut *mut medledger_buffer,
    ) -> medledger_status,
>;

/// A peer reached through a caller-provided transport.
#[repr(C)]
pub struct medledger_peer {
    /// The transport (required).
    pub call: medledger_peer_call,
    /// Passed to `call` as is; the library never reads it.
    pub context: *mut c_void,
}

/// A caller's `medledger_peer` as a Rust peer.
struct CallbackPeer {
    call: unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut *mut medledger_buffer) -> u32,
    context: *mut c_void,
}

// SAFETY: the caller promises (see `medledger_peer_call`) that the callback
// and its context may be used from any thread for the duration of the call
// that received them; the pointer is only passed back to the callback.
unsafe impl Send for CallbackPeer {}
// SAFETY: as above.
unsafe impl Sync for CallbackPeer {}

impl Peer for CallbackPeer {
    fn call(&self, request: &[u8]) -> crate::Result<Vec<u8>> {
        let mut response: *mut medledger_buffer = core::ptr::null_mut();
        // SAFETY: `request` is valid for its length during the call, and
        // `response` is a valid place for the callback to write to.
        let status = unsafe {
            (self.call)(
                self.context,
                request.as_ptr(),
                request.len(),
                &raw mut response,
            )
        };
        // SAFETY: the callback hands over a buffer from this library (or
        // NULL) per the `medledger_peer_call` contract.
        let bytes = unsafe { take_buffer(response) };
        match (status, bytes) {
            (MEDLEDGER_OK, Some(b)) => Ok(b.to_vec()),
            (MEDLEDGER_OK, None) => Err(Error::System(
                "peer callback returned MEDLEDGER_OK without a response".into(),
            )),
            (s, _) => Err(Error::System(format!(
                "peer callback failed with status {s}"
            ))),
        }
    }
}

/// A peer whose transport failures are noted, so that a catch-up fails
/// with `MEDLEDGER_ERR_PEER_UNREACHABLE` rather than as an answer would.
struct Watched<P> {
    peer: P,
    failed: AtomicBool,
}

impl<P: Peer> Peer for Watched<P> {
    fn call(&self, request: &[u8]) -> crate::Result<Vec<u8>> {
        self.peer
            .call(request)
            .inspect_err(|_| self.failed.store(true, Ordering::SeqCst))
    }
}

/// Caller peers (`medledger_peer` array) as Rust peers.
///
/// # Safety
///
/// `p` NULL or `len` readable `medledger_peer`s, whose callbacks and
/// contexts stay usable for the duration of the call.
unsafe fn peers_from_c(p: *const medledger_peer, len: usize) -> FfiResult<Vec<CallbackPeer>> {
    // SAFETY: forwarded contract.
    let peers = unsafe { try_slice(p, len, MEDLEDGER_MAX_PEERS, "peers") }?;
    peers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let call = p
                .call
                .ok_or_else(|| FfiError::null(&format!("peers[{i}].call")))?;
            Ok(CallbackPeer {
                call,
                context: p.context,
            })
        })
        .collect()
}

/// A TCP peer address (`"IP:port"`) and timeout as C passed them.
///
/// # Safety
///
/// `addr` NULL or a NUL-terminated string.
unsafe fn tcp_peer(addr: *const c_char, timeout_ms: u32, arg: &str) -> FfiResult<TcpPeer> {
    // SAFETY: forwarded contract.
    let text = unsafe { try_str(addr, MEDLEDGER_MAX_TEXT_LEN, arg) }?;
    let addr: SocketAddr = text
        .parse()
        .map_err(|_| FfiError::invalid(arg, format_args!("{text:?} is not IP:port")))?;
    if timeout_ms == 0 || timeout_ms > MEDLEDGER_MAX_PEER_TIMEOUT_MS {
        return Err(FfiError::invalid(
            "timeout_ms",
            format_args!("{timeout_ms} is not in 1..={MEDLEDGER_MAX_PEER_TIMEOUT_MS}"),
        ));
    }
    Ok(TcpPeer::new(
        addr,
        Duration::from_millis(u64::from(timeout_ms)),
    ))
}

/// Bytes handed out in a new buffer.
///
/// # Safety
///
/// `out` is writable.
unsafe fn give(out: NonNull<*mut medledger_buffer>, bytes: Vec<u8>) {
    // SAFETY: forwarded contract.
    unsafe { write_buffer(out, Zeroizing::new(bytes)) }
}

/// The committed block at `height`, with the ciphertexts of its records
/// this ledger holds, encoded for shipping to a peer (docs/FORMAT.md
/// §11.1). On success `*out_shipped` receives the bytes; release them
/// with `medledger_buffer_free`. A peer imports them with
/// `medledger_ledger_import_block` (block 0 with `medledger_ledger_join_dir`).
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_NOT_FOUND` (above
/// the head). Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `out_shipped` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_export_block(
    ledger: *const medledger_ledger,
    height: u64,
    out_shipped: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        let out = out_ptr(out_shipped, "out_shipped")?;
        let shipped = ledger.inner.shipped_block(height)?;
        // SAFETY: `out` is writable per the contract.
        unsafe { give(out, shipped.encode()) };
        Ok(())
    })
}

/// Imports a shipped block (from `medledger_ledger_export_block` at a
/// peer) after verifying it like `medledger_ledger_verify` does: link,
/// seals at threshold, log root, every rule and signature, every shipped
/// ciphertext against its digest. Nothing is stored unless it all
/// verifies; erasures in the block are carried out here too. Blocks are
/// imported in order: the next height, or one already held.
///
/// On success `*out_result` says what happened: appended (with the count
/// of ciphertexts not shipped), or already held (the same block; nothing
/// changed).
///
/// A different block at a height this ledger holds, sealed by validators
/// of this chain, is equivocation: the status is
/// `MEDLEDGER_ERR_EQUIVOCATION`, the block is not imported, and — the one
/// out-parameter written on failure — `*out_evidence` receives the encoded
/// evidence (release it with `medledger_buffer_free`; check it with
/// `medledger_equivocation_verify`). On every other status
/// `*out_evidence` is left alone.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (longer than `MEDLEDGER_MAX_MESSAGE_LEN`, or a height that does not
/// follow the head); a 1xx status for bytes that do not decode;
/// `MEDLEDGER_ERR_MISSING_QUORUM`, `MEDLEDGER_ERR_CORRUPT` (a block that
/// breaks a rule or whose transactions do not match its header),
/// `MEDLEDGER_ERR_TAMPERED` (a shipped ciphertext that is not one of the
/// block's), `MEDLEDGER_ERR_REJECTED` (a different block no validator of
/// this chain sealed: forged), `MEDLEDGER_ERR_ACCESS_DENIED` (read-only
/// ledger, or one with transactions of its own pending);
/// `MEDLEDGER_ERR_EQUIVOCATION`. Thread-safe (imports and commits run one
/// after the other).
///
/// # Safety
///
/// `ledger` NULL or live; `shipped` NULL or `shipped_len` readable bytes;
/// `out_result` and `out_evidence` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_import_block(
    ledger: *const medledger_ledger,
    shipped: *const u8,
    shipped_len: usize,
    out_result: *mut medledger_import_result,
    out_evidence: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: forwarded contract.
        let bytes =
            unsafe { try_slice(shipped, shipped_len, MEDLEDGER_MAX_MESSAGE_LEN, "shipped") }?;
        let out = out_ptr(out_result, "out_result")?;
        let out_evidence = out_ptr(out_evidence, "out_evidence")?;
        let block = ShippedBlock::decode(bytes)?;
        let result = match ledger.inner.import_block(&block)? {
            Imported::Appended {
                height,
                missing_payloads,
            } => medledger_import_result {
                outcome: MEDLEDGER_IMPORT_APPENDED,
                height,
                missing_payloads: u64::try_from(missing_payloads).unwrap_or(u64::MAX),
            },
            Imported::AlreadyHave { height } => medledger_import_result {
                outcome: MEDLEDGER_IMPORT_ALREADY_HAVE,
                height,
                missing_payloads: 0,
            },
            Imported::Conflict(e) => {
                // SAFETY: `out_evidence` is writable per the contract.
                unsafe { give(out_evidence, e.encode()) };
                return Err(FfiError {
                    status: MEDLEDGER_ERR_EQUIVOCATION,
                    message: format!(
                        "equivocation: the block at height {} differs from this ledger's and \
                         validators signed both (evidence returned)",
                        e.height()
                    ),
                });
            }
        };
        // SAFETY: `out` is writable per the contract.
        unsafe { write_out(out, result) };
        Ok(())
    })
}

/// Joins a consortium: creates a ledger in the directory `path` (created
/// if missing; it must be empty) from the consortium's genesis block as a
/// peer shipped it (`medledger_ledger_export_block(peer, 0, ...)`), after
/// checking it is the genesis of the ledger `ledger_id` (32 bytes, learnt
/// out of band: never trust the peer for it) and sealed by its
/// validators. Later blocks come through `medledger_ledger_import_block`
/// or a node's catch-up. On success `*out_ledger` receives the handle.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_INVALID_UTF8`,
/// `MEDLEDGER_ERR_INVALID_ARGUMENT`; a 1xx status for bytes that do not
/// decode; `MEDLEDGER_ERR_REJECTED` (the genesis of another ledger),
/// `MEDLEDGER_ERR_CORRUPT` (a genesis that does not verify),
/// `MEDLEDGER_ERR_SYSTEM` (the directory is not empty or not writable).
///
/// # Safety
///
/// `path` NULL or a NUL-terminated string; `genesis` NULL or `genesis_len`
/// readable bytes; `ledger_id` NULL or 32 readable bytes; `out_ledger` NULL
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_join_dir(
    path: *const c_char,
    genesis: *const u8,
    genesis_len: usize,
    ledger_id: *const u8,
    out_ledger: *mut *mut medledger_ledger,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let path = unsafe { try_path(path, "path") }?;
        // SAFETY: forwarded contract.
        let bytes =
            unsafe { try_slice(genesis, genesis_len, MEDLEDGER_MAX_MESSAGE_LEN, "genesis") }?;
        // SAFETY: forwarded contract.
        let id = LedgerId(Digest(unsafe { try_32(ledger_id, "ledger_id") }?));
        let out = out_ptr(out_ledger, "out_ledger")?;
        let genesis = ShippedBlock::decode(bytes)?;
        let ledger = Ledger::join_dir(path, &genesis, id)?;
        // SAFETY: `out` is writable per the contract.
        unsafe { write_out(out, medledger_ledger::new(ledger).into_raw()) };
        Ok(())
    })
}

/// Makes `ledger` a follower of the node at `addr` (`"IP:port"`, e.g.
/// `"127.0.0.1:7000"` or `"[::1]:7000"`; no host names): transactions
/// written here (`medledger_ledger_append_record`, grants, ...) are checked
/// against the local state, then sent to that node to be sequenced, and
/// the call returns once the block holding them has been *imported here*.
/// Blocks do not arrive by themselves: keep a node on this ledger catching
/// up from `addr` (`medledger_node_sync_tcp` in a loop on another thread),
/// or writes wait until they time out (30 s). Each exchange fails after
/// `timeout_ms` (1 to `MEDLEDGER_MAX_PEER_TIMEOUT_MS`) without an answer.
/// Replaces an earlier upstream.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_INVALID_UTF8`,
/// `MEDLEDGER_ERR_INVALID_ARGUMENT`. Nothing is dialled by this call.
/// Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `addr` NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_follow_tcp(
    ledger: *const medledger_ledger,
    addr: *const c_char,
    timeout_ms: u32,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: forwarded contract.
        let peer = unsafe { tcp_peer(addr, timeout_ms, "addr") }?;
        ledger
            .inner
            .set_upstream(Arc::new(PeerUpstream(Arc::new(peer))))?;
        Ok(())
    })
}

/// Checks equivocation evidence (from `medledger_ledger_import_block`,
/// `medledger_node_evidence`, or a peer) offline: both headers of one
/// ledger and height and different, the validator set the first names,
/// every seal valid, at least one validator's seal on both. On success
/// `*out_json` receives a JSON object (UTF-8, not NUL-terminated):
/// `{"height", "ledger_id", "first_header_hash", "second_header_hash",
/// "guilty": [hex participant id, ...]}`; release it with
/// `medledger_buffer_free`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (too long, or evidence that proves nothing: same headers, two heights,
/// no common signer); a 1xx status for bytes that do not decode;
/// `MEDLEDGER_ERR_BAD_SIGNATURE` (a seal does not verify). Thread-safe.
///
/// # Safety
///
/// `evidence` NULL or `evidence_len` readable bytes; `out_json` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_equivocation_verify(
    evidence: *const u8,
    evidence_len: usize,
    out_json: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let bytes = unsafe {
            try_slice(
                evidence,
                evidence_len,
                MEDLEDGER_MAX_MESSAGE_LEN,
                "evidence",
            )
        }?;
        let out = out_ptr(out_json, "out_json")?;
        let e = Equivocation::decode(bytes)?;
        let guilty = e.verify()?;
        let doc = json!({
            "height": e.height(),
            "ledger_id": e.first.0.ledger_id.to_hex(),
            "first_header_hash": e.first.0.hash().to_hex(),
            "second_header_hash": e.second.0.hash().to_hex(),
            "guilty": guilty.iter().map(|g| g.to_hex()).collect::<Vec<_>>(),
        });
        // SAFETY: `out` is writable per the contract.
        unsafe { give(out, doc.to_string().into_bytes()) };
        Ok(())
    })
}

/// One institution's node of a consortium over a ledger: answers peers'
/// requests (`medledger_node_handle`), catches up from a peer, proposes
/// blocks and gathers the peers' seals, and keeps the equivocation
/// evidence it detects. Every function taking a `const medledger_node *`
/// may be called from several threads at once; only `medledger_node_free`
/// needs exclusive access.
pub struct medledger_node {
    inner: Node,
}

impl Handle for medledger_node {}

/// A node over `ledger`, sealing with `validators` (an array of
/// `validators_len` keypairs, at most 256, each a member of the validator
/// set in force; `validators` may be NULL when `validators_len` is 0, for
/// a node that only replicates). On success `*out_node` receives the
/// handle; release it with `medledger_node_free`.
///
/// Ownership: the node holds its own references to the ledger and the
/// keys, not to the handles: the caller may free the ledger and keypair
/// handles before the node (the ledger is closed when the last of them
/// goes). Writes through the ledger handle and the node see one ledger.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER` (including an array element),
/// `MEDLEDGER_ERR_INVALID_ARGUMENT`, `MEDLEDGER_ERR_ACCESS_DENIED` (a key
/// outside the validator set). Thread-safe.
///
/// # Safety
///
/// `ledger` NULL or live; `validators` NULL or `validators_len` pointers,
/// each NULL or live; `out_node` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_node_new(
    ledger: *const medledger_ledger,
    validators: *const *const medledger_keypair,
    validators_len: usize,
    out_node: *mut *mut medledger_node,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        let handles = if validators.is_null() && validators_len == 0 {
            Vec::new()
        } else {
            // SAFETY: forwarded contract.
            unsafe { try_handles(validators, validators_len, MAX_VALIDATORS, "validators") }?
        };
        let out = out_ptr(out_node, "out_node")?;
        let keys = member_keys(&ledger.inner, &handles)?;
        let node = medledger_node {
            inner: Node::new(Arc::clone(&ledger.inner), keys),
        };
        // SAFETY: `out` is writable per the contract.
        unsafe { write_out(out, node.into_raw()) };
        Ok(())
    })
}

/// Frees `node`. NULL is a no-op. The ledger stays open while other
/// handles (its `medledger_ledger`, other nodes) hold it. No other thread
/// may use the node during or after this call.
///
/// # Safety
///
/// `node` is NULL or a live node from this library, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_node_free(node: *mut medledger_node) {
    super::boundary::guard_value((), || {
        // SAFETY: forwarded contract.
        unsafe { medledger_node::free_raw(node) };
        Some(())
    })
}

/// Gives a validator node its vote log, the file at `path` (created if
/// missing): the node records the last header it sealed there (and, as
/// proposer, its last proposal, beside it) before its seals leave it, and
/// after a restart refuses to seal a second header at that height; a
/// proposal kept there is proposed again (docs/FORMAT.md §11.4). Call it
/// once, before the node serves or proposes; `medledger-node` keeps it in
/// its directory as `node-votes`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (path not UTF-8), `MEDLEDGER_ERR_SYSTEM` (vote log unreadable),
/// a decoding error (vote log damaged), the ledger's errors when a kept
/// proposal no longer verifies. Thread-safe.
///
/// # Safety
///
/// `node` NULL or live; `path` NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_node_set_vote_log(
    node: *const medledger_node,
    path: *const c_char,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let node = unsafe { try_ref(node, "node") }?;
        // SAFETY: forwarded contract.
        let path = unsafe { try_path(path, "path") }?;
        node.inner.set_vote_log(path)?;
        Ok(())
    })
}

/// The validator set of `threshold` and the members whose 32-byte Ed25519
/// public signing keys are packed back to back in `member_keys`
/// (`members_len` of them, at most 256); each member's participant id is
/// derived from its key (as `medledger_keypair_id` does).
///
/// # Safety
///
/// `member_keys` NULL or `members_len * 32` readable bytes.
unsafe fn validator_set_from_c(
    threshold: u32,
    member_keys: *const u8,
    members_len: usize,
) -> FfiResult<ValidatorSet> {
    let threshold = u16::try_from(threshold)
        .map_err(|_| FfiError::invalid("threshold", format_args!("{threshold} is too large")))?;
    // SAFETY: forwarded contract; the count is checked before reading.
    let keys = unsafe { try_32s(member_keys, members_len, MAX_VALIDATORS, "member_keys") }?;
    let members = keys
        .into_iter()
        .map(|key| Validator {
            id: ParticipantId::from_public_key(&key),
            key,
        })
        .collect();
    Ok(ValidatorSet::new(threshold, members)?)
}

/// Writes to `out_hash` the 32-byte hash of the validator set of
/// `threshold` and the members whose Ed25519 public signing keys (32 bytes
/// each, from `medledger_keypair_public_keys`) are packed back to back in
/// `member_keys` (`members_len` of them, 1 to 256, in any order): the hash
/// block headers commit to, and the one each validator's operator passes
/// to `medledger_node_approve_validator_set` before the change proposed
/// with `medledger_ledger_set_validators` can be sealed. Computed offline,
/// no ledger needed.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (no member or more than 256, checked before reading; a key listed
/// twice; `threshold` not in 1..=members). Thread-safe.
///
/// # Safety
///
/// `member_keys` NULL or `members_len * 32` readable bytes; `out_hash`
/// NULL or 32 writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_validator_set_hash(
    threshold: u32,
    member_keys: *const u8,
    members_len: usize,
    out_hash: *mut u8,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let set = unsafe { validator_set_from_c(threshold, member_keys, members_len) }?;
        let out = out_ptr(out_hash, "out_hash")?;
        // SAFETY: 32 writable bytes per the contract.
        unsafe { write_32(out, &set.hash().0) };
        Ok(())
    })
}

/// `admin` proposes a new validator set: `threshold` seals of the members
/// given by their Ed25519 public signing keys (as
/// `medledger_validator_set_hash` takes them; each must be registered with
/// `MEDLEDGER_ROLE_VALIDATOR` under that key). The change is pending like
/// any transaction and takes effect from the block after the one holding
/// it, which the current validators seal. A node
/// (`medledger_node_propose_round`, `medledger_node_handle`) neither
/// proposes nor seals a block holding a change its operator has not
/// approved (`medledger_node_approve_validator_set`), so a change needs the
/// approval of a threshold of the current validators' operators;
/// `medledger_ledger_commit_block` seals with the keys it is given.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`; `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (as `medledger_validator_set_hash`); `MEDLEDGER_ERR_REJECTED` (`admin`
/// is not an admin, a member is not a registered validator with this key,
/// ...); `MEDLEDGER_ERR_ACCESS_DENIED` (a read-only ledger). Thread-safe.
///
/// # Safety
///
/// Handles NULL or live; `member_keys` NULL or `members_len * 32` readable
/// bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_ledger_set_validators(
    ledger: *const medledger_ledger,
    admin: *const medledger_keypair,
    threshold: u32,
    member_keys: *const u8,
    members_len: usize,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let ledger = unsafe { try_ref(ledger, "ledger") }?;
        // SAFETY: as above.
        let admin = unsafe { try_ref(admin, "admin") }?;
        // SAFETY: as above.
        let set = unsafe { validator_set_from_c(threshold, member_keys, members_len) }?;
        ledger.inner.set_validators(&admin.inner, set)?;
        Ok(())
    })
}

/// The operator of `node` approves the validator set whose hash is
/// `set_hash` (32 bytes, from `medledger_validator_set_hash`): from now on
/// the node proposes and seals blocks that change the validator set to it.
/// Without the approval it refuses them (a proposal holding the change
/// gets no seal from it). Approving the same hash twice is harmless.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_SYSTEM`.
/// Thread-safe.
///
/// # Safety
///
/// `node` NULL or live; `set_hash` NULL or 32 readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_node_approve_validator_set(
    node: *const medledger_node,
    set_hash: *const u8,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let node = unsafe { try_ref(node, "node") }?;
        // SAFETY: as above.
        let hash = Digest(unsafe { try_32(set_hash, "set_hash") }?);
        node.inner.approve_validator_set(hash)?;
        Ok(())
    })
}

/// `node` endorses only proposals sealed by one of the validators whose
/// participant ids are given (`proposer_ids`: `n` ids of 32 bytes, back to
/// back; at most 256): the consortium's proposer. With none (`NULL`, 0)
/// any validator's proposal is endorsed, and a stray proposal can take a
/// height the proposer is filling (FORMAT.md §11.1). `medledger-node
/// --proposer` sets the same.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (more than 256). Thread-safe.
///
/// # Safety
///
/// `node` NULL or live; `proposer_ids` NULL or `n * 32` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_node_accept_proposals_from(
    node: *const medledger_node,
    proposer_ids: *const u8,
    n: usize,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let node = unsafe { try_ref(node, "node") }?;
        let ids = if proposer_ids.is_null() && n == 0 {
            Vec::new()
        } else {
            // SAFETY: as above.
            unsafe { try_32s(proposer_ids, n, MAX_VALIDATORS, "proposer_ids") }?
        };
        node.inner
            .accept_proposals_from(ids.into_iter().map(|b| ParticipantId(Digest(b))).collect())?;
        Ok(())
    })
}

/// Answers one request of the wire protocol (docs/FORMAT.md §11.2) from a
/// peer: bytes in, bytes out, so the caller carries them over any
/// transport. On success `*out_response` receives the encoded response;
/// release it with `medledger_buffer_free` (or return it from a
/// `medledger_peer_call`). A request that fails, or does not decode, is
/// answered with an error *response*, still `MEDLEDGER_OK`: the failure
/// belongs to the peer, which reads it from the response.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_INVALID_ARGUMENT`
/// (longer than `MEDLEDGER_MAX_MESSAGE_LEN`). Thread-safe.
///
/// # Safety
///
/// `node` NULL or live; `request` NULL or `request_len` readable bytes;
/// `out_response` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_node_handle(
    node: *const medledger_node,
    request: *const u8,
    request_len: usize,
    out_response: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let node = unsafe { try_ref(node, "node") }?;
        // SAFETY: forwarded contract.
        let bytes =
            unsafe { try_slice(request, request_len, MEDLEDGER_MAX_MESSAGE_LEN, "request") }?;
        let out = out_ptr(out_response, "out_response")?;
        let response = node.inner.handle(bytes);
        // SAFETY: `out` is writable per the contract.
        unsafe { give(out, response) };
        Ok(())
    })
}

/// The node's status as a JSON object (UTF-8, not NUL-terminated):
/// `{"height", "head_hash", "log_size", "log_root", "evidence": count,
/// "equivocators": [hex participant id, ...]}`, written to `*out_json`;
/// release it with `medledger_buffer_free`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`. Thread-safe.
///
/// # Safety
///
/// `node` NULL or live; `out_json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_node_status_json(
    node: *const medledger_node,
    out_json: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let node = unsafe { try_ref(node, "node") }?;
        let out = out_ptr(out_json, "out_json")?;
        let s = node.inner.status()?;
        let doc = json!({
            "height": s.height,
            "head_hash": s.head_hash.to_hex(),
            "log_size": s.log_size,
            "log_root": s.log_root.to_hex(),
            "evidence": s.evidence,
            "equivocators": s.equivocators.iter().map(|p| p.to_hex()).collect::<Vec<_>>(),
        });
        // SAFETY: `out` is writable per the contract.
        unsafe { give(out, doc.to_string().into_bytes()) };
        Ok(())
    })
}

/// The `index`-th equivocation evidence the node detected (0-based, in the
/// order found; the count is `"evidence"` in `medledger_node_status_json`),
/// encoded as `medledger_equivocation_verify` reads it, written to
/// `*out_evidence`; release it with `medledger_buffer_free`.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER`, `MEDLEDGER_ERR_NOT_FOUND` (no
/// such index). Thread-safe.
///
/// # Safety
///
/// `node` NULL or live; `out_evidence` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_node_evidence(
    node: *const medledger_node,
    index: usize,
    out_evidence: *mut *mut medledger_buffer,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let node = unsafe { try_ref(node, "node") }?;
        let out = out_ptr(out_evidence, "out_evidence")?;
        let all = node.inner.evidence()?;
        let e = all.get(index).ok_or_else(|| {
            Error::NotFound(format!("evidence {index} (the node has {})", all.len()))
        })?;
        // SAFETY: `out` is writable per the contract.
        unsafe { give(out, e.encode()) };
        Ok(())
    })
}

/// Catches up through `peer`: asks it for the blocks after this node's
/// head and imports each (verified before it is stored) until it has no
/// more. A conflicting block ends the catch-up: the evidence is kept
/// (`medledger_node_evidence`) and `conflict` is set in the report; the
/// status is still `MEDLEDGER_OK`. On success `*out_report` says what was
/// imported.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER` (including `peer->call`),
/// `MEDLEDGER_ERR_PEER_UNREACHABLE` (the callback failed), the status of a
/// block that does not verify (blocks before it stay imported), or the
/// error the peer answered. Thread-safe.
///
/// # Safety
///
/// `node` NULL or live; `peer` NULL or a readable `medledger_peer` whose
/// callback may be called during this call; `out_report` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_node_sync(
    node: *const medledger_node,
    peer: *const medledger_peer,
    out_report: *mut medledger_sync_report,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let node = unsafe { try_ref(node, "node") }?;
        // SAFETY: forwarded contract (one peer).
        let peer = unsafe { peers_from_c(peer, 1) }?
            .pop()
            .ok_or_else(|| FfiError::null("peer"))?;
        let out = out_ptr(out_report, "out_report")?;
        sync(node, peer, out)
    })
}

/// `medledger_node_sync` from the node at `addr` (`"IP:port"`) over TCP
/// (the protocol's framing, docs/FORMAT.md §11.3, as `medledger-node`
/// serves it); each exchange fails after `timeout_ms` (1 to
/// `MEDLEDGER_MAX_PEER_TIMEOUT_MS`) without an answer.
///
/// Errors: as `medledger_node_sync`, plus `MEDLEDGER_ERR_INVALID_UTF8`,
/// `MEDLEDGER_ERR_INVALID_ARGUMENT` (not `IP:port`, bad timeout), and
/// `MEDLEDGER_ERR_PEER_UNREACHABLE` (refused, timed out, closed).
///
/// # Safety
///
/// `node` NULL or live; `addr` NULL or a NUL-terminated string;
/// `out_report` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_node_sync_tcp(
    node: *const medledger_node,
    addr: *const c_char,
    timeout_ms: u32,
    out_report: *mut medledger_sync_report,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let node = unsafe { try_ref(node, "node") }?;
        // SAFETY: forwarded contract.
        let peer = unsafe { tcp_peer(addr, timeout_ms, "addr") }?;
        let out = out_ptr(out_report, "out_report")?;
        sync(node, peer, out)
    })
}

/// Catches `node` up from `peer`; writes the report to `out`.
fn sync(
    node: &medledger_node,
    peer: impl Peer,
    out: NonNull<medledger_sync_report>,
) -> FfiResult<()> {
    let watched = Watched {
        peer,
        failed: AtomicBool::new(false),
    };
    let report = node.inner.sync_from(&watched).map_err(|e| {
        if watched.failed.load(Ordering::SeqCst) {
            FfiError {
                status: MEDLEDGER_ERR_PEER_UNREACHABLE,
                message: format!("peer unreachable: {e}"),
            }
        } else {
            FfiError::from(e)
        }
    })?;
    // SAFETY: `out` came from `out_ptr` on a pointer the caller promised
    // is writable.
    unsafe { write_out(out, report.into()) };
    Ok(())
}

/// The proposer's round: proposes the pending transactions of the node's
/// ledger as the next block, sealed with the node's validator keys, asks
/// every peer in `peers` (an array of `peers_len`, at most
/// `MEDLEDGER_MAX_PEERS`; their callbacks are called in parallel from
/// library threads) to endorse it, commits it at the threshold of seals and
/// announces the commit. On success `*out_committed` says whether a block
/// was committed (false: nothing was pending) and `*out_height` receives
/// the ledger's head height.
///
/// Errors: `MEDLEDGER_ERR_NULL_POINTER` (including a `call`),
/// `MEDLEDGER_ERR_INVALID_ARGUMENT`, `MEDLEDGER_ERR_MISSING_QUORUM` (too few
/// seals, e.g. peers unreachable: the same proposal is offered again next
/// round), `MEDLEDGER_ERR_ACCESS_DENIED` (the node holds no validator
/// key). A peer that fails or refuses only withholds its seal. Thread-safe.
///
/// # Safety
///
/// `node` NULL or live; `peers` NULL or `peers_len` readable
/// `medledger_peer`s whose callbacks may be called during this call;
/// `out_committed` and `out_height` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_node_propose_round(
    node: *const medledger_node,
    peers: *const medledger_peer,
    peers_len: usize,
    out_committed: *mut bool,
    out_height: *mut u64,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let node = unsafe { try_ref(node, "node") }?;
        // SAFETY: forwarded contract.
        let peers = unsafe { peers_from_c(peers, peers_len) }?
            .into_iter()
            .map(|p| Arc::new(p) as Arc<dyn Peer>)
            .collect();
        let out_committed = out_ptr(out_committed, "out_committed")?;
        let out_height = out_ptr(out_height, "out_height")?;
        propose_round(node, peers, out_committed, out_height)
    })
}

/// `medledger_node_propose_round` with peers at TCP addresses: `addrs` is
/// an array of `addrs_len` NUL-terminated `"IP:port"` strings (at most
/// `MEDLEDGER_MAX_PEERS`); each exchange fails after `timeout_ms` (1 to
/// `MEDLEDGER_MAX_PEER_TIMEOUT_MS`) without an answer.
///
/// Errors: as `medledger_node_propose_round`, plus
/// `MEDLEDGER_ERR_INVALID_UTF8` and `MEDLEDGER_ERR_INVALID_ARGUMENT` (an
/// address that is not `IP:port`, a bad timeout).
///
/// # Safety
///
/// `node` NULL or live; `addrs` NULL or `addrs_len` pointers, each NULL or
/// a NUL-terminated string; `out_committed` and `out_height` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medledger_node_propose_round_tcp(
    node: *const medledger_node,
    addrs: *const *const c_char,
    addrs_len: usize,
    timeout_ms: u32,
    out_committed: *mut bool,
    out_height: *mut u64,
) -> medledger_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let node = unsafe { try_ref(node, "node") }?;
        // SAFETY: forwarded contract.
        let addrs = unsafe { try_slice(addrs, addrs_len, MEDLEDGER_MAX_PEERS, "addrs") }?;
        let peers = addrs
            .iter()
            .enumerate()
            // SAFETY: forwarded contract: each element is NULL or a string.
            .map(|(i, a)| {
                let peer = unsafe { tcp_peer(*a, timeout_ms, &format!("addrs[{i}]")) }?;
                Ok(Arc::new(peer) as Arc<dyn Peer>)
            })
            .collect::<FfiResult<Vec<_>>>()?;
        let out_committed = out_ptr(out_committed, "out_committed")?;
        let out_height = out_ptr(out_height, "out_height")?;
        propose_round(node, peers, out_committed, out_height)
    })
}

/// Runs one proposer's round with `peers`; writes the outcome.
fn propose_round(
    node: &medledger_node,
    peers: Vec<Arc<dyn Peer>>,
    out_committed: NonNull<bool>,
    out_height: NonNull<u64>,
) -> FfiResult<()> {
    let committed = node.inner.propose_round(&peers)?;
    let height = node.inner.ledger().head()?.height;
    // SAFETY: both came from `out_ptr` on pointers the caller promised are
    // writable.
    unsafe {
        write_out(out_committed, committed.is_some());
        write_out(out_height, height);
    }
    Ok(())
}
