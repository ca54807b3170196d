//! Verification: replay from genesis and report the first fault with its
//! exact location.

use core::fmt;

use crate::Error;
use crate::crypto::hash::Digest;
use crate::crypto::sign::{BatchItem, verify_batch};
use crate::log::block::{Block, BlockHeader};
use crate::log::merkle::MerkleLog;
use crate::log::state::TX_TIME_SKEW_MS;
use crate::log::state::{ChainState, RuleViolation, SealError, TxPosition, Violation};
use crate::model::tx::{ciphertext_digest, ledger_id_of};
use crate::model::{LedgerId, ParticipantId, RecordId, SignedTx, Tx, TxBody};
use crate::store::Store;
use std::collections::{HashMap, VecDeque};
use std::sync::mpsc;

/// What kind of damage verification found.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[non_exhaustive]
pub enum FaultKind {
    /// Bytes do not decode (bad length, bad value, trailing bytes).
    Malformed,
    /// A format version or transaction kind this build does not read.
    Unsupported,
    /// A transaction or seal signature does not verify.
    BadSignature,
    /// A recomputed hash differs from the one committed (log root,
    /// validator-set hash, header hash under the seals).
    HashMismatch,
    /// A block does not link to its predecessor (previous hash, leaf range).
    BrokenLink,
    /// Fewer than `threshold` valid validator signatures.
    MissingQuorum,
    /// A transaction reuses a sequence number already used by its author.
    ReplayedSequence,
    /// Items appear out of order (sequence gap, block height out of place).
    Reordered,
    /// A validly signed transaction its author was not allowed to submit.
    Unauthorised,
    /// A validly signed transaction whose fields break a ledger rule
    /// (record id not derived as specified, wrong key epoch, bad amendment).
    InvalidTransaction,
    /// A record's ciphertext is absent from the vault.
    PayloadMissing,
    /// A record's ciphertext in the vault does not match its digest.
    PayloadTampered,
    /// Data ends early: fewer transactions or blocks than committed.
    Truncated,
    /// The chain belongs to another ledger.
    WrongLedger,
}

/// Where a fault is: block height, and when known the transaction index in
/// the block, the record index in the transaction, the field and byte offset.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Location {
    /// Block height.
    pub height: u64,
    /// Transaction index within the block.
    pub tx_index: Option<u32>,
    /// Record index within the transaction.
    pub record_index: Option<u32>,
    /// Field name, e.g. `header.log_root`, `tx.signature`.
    pub field: &'static str,
    /// Byte offset within the stored block, when the fault is a decoding one.
    pub offset: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "block {}", self.height)?;
        if let Some(t) = self.tx_index {
            write!(f, ", tx {t}")?;
        }
        if let Some(r) = self.record_index {
            write!(f, ", record {r}")?;
        }
        write!(f, ", field {}", self.field)?;
        if let Some(o) = self.offset {
            write!(f, ", byte {o}")?;
        }
        Ok(())
    }
}

/// The first fault verification found.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Fault {
    /// Kind of damage.
    pub kind: FaultKind,
    /// Where.
    pub location: Location,
    /// Human-readable detail.
    pub message: String,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} at {}: {}", self.kind, self.location, self.message)
    }
}

/// The outcome of verification: counts of what was checked, and the first
/// fault if any.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Report {
    /// Ledger id (when genesis decoded).
    pub ledger_id: Option<LedgerId>,
    /// Blocks fully verified.
    pub blocks: u64,
    /// Transactions verified.
    pub transactions: u64,
    /// Record headers verified.
    pub records: u64,
    /// Payload ciphertexts checked against their digests.
    pub payloads: u64,
    /// Payloads erased by erase transactions (absent by design).
    pub erased: u64,
    /// Erased payloads still present in the vault (an erasure that was not
    /// carried out on this node).
    pub erased_still_stored: u64,
    /// Signatures verified (transactions and seals).
    pub signatures: u64,
    /// The first fault, or `None` when everything verified.
    pub fault: Option<Fault>,
}

impl Report {
    /// True when no fault was found.
    pub fn is_ok(&self) -> bool {
        self.fault.is_none()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fault {
            None => write!(
                f,
                "OK: {} blocks, {} transactions, {} records, {} payloads ({} erased), {} signatures",
                self.blocks,
                self.transactions,
                self.records,
                self.payloads,
                self.erased,
                self.signatures
            ),
            Some(fault) => write!(f, "FAULT: {fault} (after {} good blocks)", self.blocks),
        }
    }
}

/// What to check and against what.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// Verify signatures in batches (fast path, same verdict as strict
    /// verification for every signature an honest signer can produce; see
    /// `crypto::sign`). `false` verifies each signature strictly.
    pub batch_signatures: bool,
    /// Check every payload ciphertext in the vault against its digest.
    pub check_payloads: bool,
    /// A head the caller trusts (height and header hash), e.g. from an
    /// earlier checkpoint: a chain that ends before it is reported as
    /// truncated, one that differs at that height as rewritten.
    pub expected_head: Option<(u64, Digest)>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            batch_signatures: true,
            check_payloads: true,
            expected_head: None,
        }
    }
}

/// The state a successful replay ends in.
pub(crate) struct Replayed {
    pub state: ChainState,
    pub log: MerkleLog,
    pub head: BlockHeader,
}

/// A payload a block refers to.
#[derive(Clone, Copy)]
pub(crate) struct PayloadRef {
    height: u64,
    tx_index: usize,
    record_index: usize,
    record: RecordId,
    pub(crate) digest: Digest,
    pub(crate) len: u64,
}

/// Verifies everything in `store` from genesis and reports the first fault.
pub fn verify_store(store: &dyn Store, opts: &VerifyOptions) -> Report {
    replay(store, opts).0
}

fn fault(kind: FaultKind, height: u64, field: &'static str, message: impl Into<String>) -> Fault {
    Fault {
        kind,
        location: Location {
            height,
            tx_index: None,
            record_index: None,
            field,
            offset: None,
        },
        message: message.into(),
    }
}

impl Fault {
    fn at_tx(mut self, tx_index: usize) -> Self {
        self.location.tx_index = u32::try_from(tx_index).ok();
        self
    }

    fn at_record(mut self, record_index: Option<u32>) -> Self {
        self.location.record_index = record_index;
        self
    }

    /// A fault for a decoding error; `base` is the offset of the decoded
    /// bytes within the stored block.
    fn from_error(e: &Error, height: u64, base: usize) -> Self {
        match e {
            Error::Decode {
                what,
                offset,
                reason,
            } => {
                let kind = if *reason == "unexpected end of input" {
                    FaultKind::Truncated
                } else {
                    FaultKind::Malformed
                };
                let mut f = fault(kind, height, what, *reason);
                f.location.offset = u64::try_from(base.saturating_add(*offset)).ok();
                f
            }
            Error::UnsupportedVersion { what, .. } => {
                let mut f = fault(FaultKind::Unsupported, height, what, e.to_string());
                f.location.offset = u64::try_from(base).ok();
                f
            }
            Error::UnsupportedKind(_) => {
                let mut f = fault(FaultKind::Unsupported, height, "tx.kind", e.to_string());
                f.location.offset = u64::try_from(base.saturating_add(2)).ok();
                f
            }
            other => fault(FaultKind::Malformed, height, "block", other.to_string()),
        }
    }

    fn from_violation(v: RuleViolation, height: u64, tx_index: usize) -> Self {
        let kind = match v.kind {
            Violation::Unauthorised => FaultKind::Unauthorised,
            Violation::ReplayedSequence => FaultKind::ReplayedSequence,
            Violation::Reordered => FaultKind::Reordered,
            Violation::Invalid => FaultKind::InvalidTransaction,
        };
        fault(kind, height, v.field, v.message)
            .at_tx(tx_index)
            .at_record(v.record_index)
    }
}

/// Replays `store`; on success also returns the resulting state.
pub(crate) fn replay(store: &dyn Store, opts: &VerifyOptions) -> (Report, Option<Replayed>) {
    let mut report = Report::default();
    match replay_inner(store, opts, &mut report) {
        Ok(r) => (report, Some(r)),
        Err(f) => {
            report.fault = Some(f);
            (report, None)
        }
    }
}

fn replay_inner(
    store: &dyn Store,
    opts: &VerifyOptions,
    report: &mut Report,
) -> Result<Replayed, Fault> {
    let count = store
        .block_count()
        .map_err(|e| fault(FaultKind::Malformed, 0, "store", e.to_string()))?;
    if count == 0 {
        return Err(fault(FaultKind::Truncated, 0, "chain", "no genesis block"));
    }
    // Transaction signatures are checked on a worker thread while the
    // rules of the next blocks run here; a fault is reported as the
    // sequential replay would report it (the earliest, by position).
    std::thread::scope(|scope| {
        let mut sigs = SigPipeline::start(scope, opts.batch_signatures);
        let mut replayed: Option<Replayed> = None;
        // Payloads absent from the vault, reported unless a later erase
        // transaction explains them; and the records erased so far (with
        // the height of the erasure).
        let mut missing: Vec<PayloadRef> = Vec::new();
        let mut erased: HashMap<RecordId, u64> = HashMap::new();
        for height in 0..count {
            let step = (|| -> Result<Replayed, Fault> {
                let bytes = store
                    .read_block(height)
                    .map_err(|e| fault(FaultKind::Truncated, height, "block", e.to_string()))?;
                let decoded =
                    Block::decode(&bytes).map_err(|e| Fault::from_error(&e, height, 0))?;
                let (mut r, payloads) = match replayed.take() {
                    None => (
                        genesis_block(&decoded.block, &decoded.tx_offsets, report)?,
                        Vec::new(),
                    ),
                    Some(mut prev) => {
                        let applied = apply_block(
                            &mut prev.state,
                            &mut prev.log,
                            &prev.head,
                            &decoded.block,
                            &decoded.tx_offsets,
                            height,
                            report,
                            &mut erased,
                            None,
                        )?;
                        let payloads = if applied.fault.is_some() {
                            applied.settle(opts.batch_signatures, report)?
                        } else {
                            sigs.send(applied.sigs, report)?;
                            applied.payloads
                        };
                        prev.head = decoded.block.header.clone();
                        (prev, payloads)
                    }
                };
                check_seals(&r.state, &decoded.block, height, opts, report)?;
                if opts.check_payloads {
                    check_payloads(store, &payloads, report, &mut missing)?;
                }
                r.state.end_block(
                    decoded.block.header.log_size,
                    decoded.block.header.timestamp,
                );
                Ok(r)
            })();
            let late = match step {
                Ok(r) => {
                    report.blocks += 1;
                    replayed = Some(r);
                    sigs.failure(false, report)
                }
                Err(f) => {
                    return Err(match sigs.failure(true, report) {
                        Some(late) if late.0 <= f.location.height => {
                            late_fault(late, report, &missing, &erased)
                        }
                        _ => first_missing(&missing, &erased, u64::MAX).unwrap_or(f),
                    });
                }
            };
            if let Some(late) = late {
                return Err(late_fault(late, report, &missing, &erased));
            }
        }
        if let Some(late) = sigs.failure(true, report) {
            return Err(late_fault(late, report, &missing, &erased));
        }
        if let Some(f) = first_missing(&missing, &erased, u64::MAX) {
            return Err(f);
        }
        let r = replayed.ok_or_else(|| fault(FaultKind::Truncated, 0, "chain", "no blocks"))?;
        if opts.check_payloads {
            for rec in r.state.records.values().filter(|r| r.erased.is_some()) {
                report.erased += 1;
                if matches!(
                    store.get_payload(&rec.header.ciphertext_digest),
                    Ok(Some(_))
                ) {
                    report.erased_still_stored += 1;
                }
            }
        }
        if let Some((h, hash)) = opts.expected_head {
            if h >= count {
                return Err(fault(
                    FaultKind::Truncated,
                    count,
                    "chain",
                    format!(
                        "chain ends at height {} but a head at height {h} was expected",
                        count - 1
                    ),
                ));
            }
            let at = store
                .read_block(h)
                .ok()
                .and_then(|b| Block::decode(&b).ok())
                .map(|d| d.block.header.hash());
            if at != Some(hash) {
                return Err(fault(
                    FaultKind::HashMismatch,
                    h,
                    "header",
                    "block differs from the expected head (history rewritten)",
                ));
            }
        }
        Ok(r)
    })
}

/// Signature checks running on a worker thread, one batch per block, in
/// block order.
pub(crate) struct SigPipeline<'scope> {
    to_worker: Option<mpsc::SyncSender<SigBatch>>,
    results: mpsc::Receiver<(u64, Result<u64, Fault>)>,
    /// The report as it stood after each in-flight block's rules ran (the
    /// sequential replay's report at a signature fault of that block).
    in_flight: VecDeque<Report>,
    _worker: std::thread::ScopedJoinHandle<'scope, ()>,
}

/// A signature fault found after later blocks ran: its height, the fault
/// and the report to restore.
pub(crate) type LateFault = (u64, Fault, Report);

impl<'scope> SigPipeline<'scope> {
    pub(crate) fn start<'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        batch: bool,
    ) -> Self {
        // A few blocks queued at most: bounded memory.
        let (to_worker, from_main) = mpsc::sync_channel::<SigBatch>(2);
        let (to_main, results) = mpsc::channel();
        let worker = scope.spawn(move || {
            for b in from_main {
                if to_main.send((b.height, b.check(batch))).is_err() {
                    break;
                }
            }
        });
        SigPipeline {
            to_worker: Some(to_worker),
            results,
            in_flight: VecDeque::new(),
            _worker: worker,
        }
    }

    /// Queues a block's signatures; `report` is as it stands after the
    /// block's rules.
    pub(crate) fn send(&mut self, batch: SigBatch, report: &Report) -> Result<(), Fault> {
        let height = batch.height;
        let sent = self.to_worker.as_ref().map(|t| t.send(batch));
        if !matches!(sent, Some(Ok(()))) {
            return Err(fault(
                FaultKind::Malformed,
                height,
                "verifier",
                "signature worker stopped",
            ));
        }
        self.in_flight.push_back(report.clone());
        Ok(())
    }

    /// Collects finished checks (all of them with `wait`, which also stops
    /// the worker), adding their signatures to `report`; the first failed
    /// check, if any.
    pub(crate) fn failure(&mut self, wait: bool, report: &mut Report) -> Option<LateFault> {
        if wait {
            self.to_worker = None;
        }
        while !self.in_flight.is_empty() {
            let next = if wait {
                self.results.recv().ok()
            } else {
                self.results.try_recv().ok()
            };
            let (height, r) = next?;
            let snapshot = self.in_flight.pop_front()?;
            match r {
                Ok(n) => report.signatures += n,
                Err(f) => return Some((height, f, snapshot)),
            }
        }
        None
    }

    /// Blocks sent whose check has not been collected yet.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

/// The fault the sequential replay reports for a signature fault of block
/// `k` found after later blocks ran: the report as it stood then, and a
/// payload of an earlier block missing without an erasure (at or before
/// `k`) to explain it comes first.
fn late_fault(
    (k, sig, snapshot): LateFault,
    report: &mut Report,
    missing: &[PayloadRef],
    erased: &HashMap<RecordId, u64>,
) -> Fault {
    *report = snapshot;
    let earlier: Vec<PayloadRef> = missing.iter().filter(|p| p.height < k).copied().collect();
    first_missing(&earlier, erased, k).unwrap_or(sig)
}

fn check_header_counts(b: &Block, height: u64) -> Result<(), Fault> {
    let h = &b.header;
    if h.first_leaf.checked_add(u64::from(h.tx_count)) != Some(h.log_size) {
        return Err(fault(
            FaultKind::Malformed,
            height,
            "header.log_size",
            "log_size is not first_leaf + tx_count",
        ));
    }
    let have = b.txs.len();
    let want = usize::try_from(h.tx_count).unwrap_or(usize::MAX);
    if have < want {
        return Err(fault(
            FaultKind::Truncated,
            height,
            "block.txs",
            format!("header commits to {want} transactions, block holds {have}"),
        )
        .at_tx(have));
    }
    if have > want {
        return Err(fault(
            FaultKind::Malformed,
            height,
            "block.txs",
            format!("header commits to {want} transactions, block holds {have}"),
        )
        .at_tx(want));
    }
    Ok(())
}

pub(crate) fn genesis_block(
    b: &Block,
    offsets: &[usize],
    report: &mut Report,
) -> Result<Replayed, Fault> {
    let h = &b.header;
    check_header_counts(b, 0)?;
    if h.height != 0 {
        return Err(fault(
            FaultKind::Reordered,
            0,
            "header.height",
            "first block is not height 0",
        ));
    }
    let [tx_bytes] = b.txs.as_slice() else {
        return Err(fault(
            FaultKind::Malformed,
            0,
            "block.txs",
            "the genesis block holds exactly one transaction",
        ));
    };
    let base = offsets.first().copied().unwrap_or(0);
    let stx = SignedTx::decode(tx_bytes).map_err(|e| Fault::from_error(&e, 0, base).at_tx(0))?;
    let TxBody::Genesis(genesis) = &stx.tx.body else {
        return Err(fault(
            FaultKind::Malformed,
            0,
            "tx.kind",
            "first transaction is not genesis",
        )
        .at_tx(0));
    };
    if stx.tx.author != ParticipantId(Digest::ZERO)
        || stx.tx.seq != 0
        || stx.signature.0 != [0u8; 64]
    {
        return Err(fault(
            FaultKind::Malformed,
            0,
            "tx",
            "genesis has a zero author, sequence 0 and a zero signature",
        )
        .at_tx(0));
    }
    let ledger_id = ledger_id_of(tx_bytes);
    report.ledger_id = Some(ledger_id);
    if h.ledger_id != ledger_id {
        return Err(fault(
            FaultKind::WrongLedger,
            0,
            "header.ledger_id",
            "header names another ledger than its genesis",
        ));
    }
    if h.prev_hash != Digest::ZERO || h.first_leaf != 0 {
        return Err(fault(
            FaultKind::BrokenLink,
            0,
            "header.prev_hash",
            "genesis links to nothing",
        ));
    }
    let state =
        ChainState::from_genesis(ledger_id, genesis).map_err(|v| Fault::from_violation(v, 0, 0))?;
    if h.validator_set_hash != state.validators_hash {
        return Err(fault(
            FaultKind::HashMismatch,
            0,
            "header.validator_set_hash",
            "not the hash of the genesis validator set",
        ));
    }
    let mut log = MerkleLog::new();
    log.push_leaf_data(tx_bytes);
    if log.root() != h.log_root {
        return Err(fault(
            FaultKind::HashMismatch,
            0,
            "header.log_root",
            "genesis leaf does not hash to the log root",
        ));
    }
    report.transactions += 1;
    Ok(Replayed {
        state,
        log,
        head: h.clone(),
    })
}

/// The transaction signatures of one block, collected while its rules run
/// and checked apart from them (possibly on another thread).
pub(crate) struct SigBatch {
    height: u64,
    messages: Vec<Vec<u8>>,
    signed: Vec<(
        crate::crypto::sign::Signature,
        crate::crypto::sign::CheckedKey,
    )>,
}

impl SigBatch {
    /// Checks every signature (`batch`: in batches, else strictly one by
    /// one); the first bad one is a located fault. Returns the count.
    fn check(&self, batch: bool) -> Result<u64, Fault> {
        let items: Vec<BatchItem<'_>> = self
            .messages
            .iter()
            .zip(&self.signed)
            .map(|(m, (sig, key))| BatchItem {
                message: m,
                signature: *sig,
                key: *key,
            })
            .collect();
        check_signatures(&items, batch).map_err(|bad| {
            fault(
                FaultKind::BadSignature,
                self.height,
                "tx.signature",
                "transaction signature does not verify under its author's key",
            )
            .at_tx(bad)
        })?;
        Ok(items.len() as u64)
    }
}

/// A block applied to the state, its signatures not yet checked.
pub(crate) struct Applied {
    /// The payloads it refers to.
    pub(crate) payloads: Vec<PayloadRef>,
    /// Signatures of the transactions applied.
    pub(crate) sigs: SigBatch,
    /// A rule fault or a log root mismatch, found after those signatures
    /// (a bad signature among them is reported first).
    pub(crate) fault: Option<Fault>,
}

impl Applied {
    /// Checks the signatures now, then reports the block's other fault.
    pub(crate) fn settle(self, batch: bool, report: &mut Report) -> Result<Vec<PayloadRef>, Fault> {
        report.signatures += self.sigs.check(batch)?;
        match self.fault {
            Some(f) => Err(f),
            None => Ok(self.payloads),
        }
    }
}

/// Checks block `b` (at position `height`) against the chain ending in
/// `head` and applies its transactions to `state` and `log`: links, header,
/// rules, log root; the transaction signatures are returned to be checked
/// (not the seals: [`check_seals`]). On a fault `state` and `log` may hold
/// part of the block: the caller discards them. `erased` gains the records
/// the block erases, with its height. `leaves` are the transactions' leaf
/// hashes when the caller has them (else they are computed here).
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply_block(
    state: &mut ChainState,
    log: &mut MerkleLog,
    head: &BlockHeader,
    b: &Block,
    offsets: &[usize],
    height: u64,
    report: &mut Report,
    erased: &mut HashMap<RecordId, u64>,
    leaves: Option<&[Digest]>,
) -> Result<Applied, Fault> {
    let h = &b.header;
    if h.ledger_id != state.ledger_id {
        return Err(fault(
            FaultKind::WrongLedger,
            height,
            "header.ledger_id",
            "block of another ledger",
        ));
    }
    if h.height != height {
        return Err(fault(
            FaultKind::Reordered,
            height,
            "header.height",
            format!("block at position {height} says height {}", h.height),
        ));
    }
    if h.prev_hash != head.hash() {
        return Err(fault(
            FaultKind::BrokenLink,
            height,
            "header.prev_hash",
            "does not match the hash of the previous header",
        ));
    }
    if h.timestamp < head.timestamp {
        return Err(fault(
            FaultKind::Reordered,
            height,
            "header.timestamp",
            "earlier than the previous block",
        ));
    }
    if h.first_leaf != head.log_size || log.size() != head.log_size {
        return Err(fault(
            FaultKind::BrokenLink,
            height,
            "header.first_leaf",
            format!(
                "block starts at leaf {} but the log holds {}",
                h.first_leaf, head.log_size
            ),
        ));
    }
    check_header_counts(b, height)?;
    if h.validator_set_hash != state.validators_hash {
        return Err(fault(
            FaultKind::HashMismatch,
            height,
            "header.validator_set_hash",
            "not the hash of the validator set in force",
        ));
    }

    // Rules in log order; signatures collected and checked together.
    let mut messages: Vec<Vec<u8>> = Vec::with_capacity(b.txs.len());
    let mut signed: Vec<(
        crate::crypto::sign::Signature,
        crate::crypto::sign::CheckedKey,
    )> = Vec::with_capacity(b.txs.len());
    let mut rule_fault: Option<Fault> = None;
    let mut payloads: Vec<PayloadRef> = Vec::new();
    for (i, bytes) in b.txs.iter().enumerate() {
        let base = offsets.get(i).copied().unwrap_or(0);
        let stx = match SignedTx::decode(bytes) {
            Ok(t) => t,
            Err(e) => {
                rule_fault = Some(Fault::from_error(&e, height, base).at_tx(i));
                break;
            }
        };
        let key = state.signer_key(&stx.tx.author).copied();
        if stx.tx.timestamp > h.timestamp.saturating_add(TX_TIME_SKEW_MS) {
            rule_fault = Some(
                fault(
                    FaultKind::InvalidTransaction,
                    height,
                    "tx.timestamp",
                    format!(
                        "{} is more than {TX_TIME_SKEW_MS} ms after its block's timestamp {}",
                        stx.tx.timestamp, h.timestamp
                    ),
                )
                .at_tx(i),
            );
            break;
        }
        if let Err(v) = state.check(&stx) {
            rule_fault = Some(Fault::from_violation(v, height, i));
            break;
        }
        let Some(key) = key else {
            rule_fault = Some(
                fault(
                    FaultKind::Unauthorised,
                    height,
                    "tx.author",
                    "unknown author",
                )
                .at_tx(i),
            );
            break;
        };
        messages.push(Tx::signing_message(
            &state.ledger_id,
            SignedTx::unsigned_part(bytes),
        ));
        signed.push((stx.signature, key));
        match &stx.tx.body {
            TxBody::Records(body) => {
                report.records += body.records.len() as u64;
                payloads.extend(body.records.iter().enumerate().map(|(j, r)| PayloadRef {
                    height,
                    tx_index: i,
                    record_index: j,
                    record: r.id,
                    digest: r.ciphertext_digest,
                    len: r.ciphertext_len,
                }));
            }
            TxBody::Erase(ids) => erased.extend(ids.iter().map(|id| (*id, height))),
            _ => {}
        }
        let leaf = log.size();
        state.apply(
            stx,
            TxPosition {
                height,
                tx_index: u32::try_from(i).unwrap_or(u32::MAX),
                leaf,
            },
        );
        match leaves.and_then(|l| l.get(i)) {
            Some(leaf) => log.push(*leaf),
            None => log.push_leaf_data(bytes),
        };
        report.transactions += 1;
    }
    let fault = rule_fault.or_else(|| {
        (log.root() != h.log_root).then(|| {
            fault(
                FaultKind::HashMismatch,
                height,
                "header.log_root",
                "transactions do not hash to the sealed log root (changed, reordered, inserted or removed)",
            )
        })
    });
    Ok(Applied {
        payloads,
        sigs: SigBatch {
            height,
            messages,
            signed,
        },
        fault,
    })
}

fn check_signatures(items: &[BatchItem<'_>], batch: bool) -> Result<(), usize> {
    if batch {
        return verify_batch(items);
    }
    match items
        .iter()
        .position(|it| it.key.verify_strict(it.message, &it.signature).is_err())
    {
        Some(i) => Err(i),
        None => Ok(()),
    }
}

pub(crate) fn check_seals(
    state: &ChainState,
    b: &Block,
    height: u64,
    opts: &VerifyOptions,
    report: &mut Report,
) -> Result<(), Fault> {
    let seal_fault = |kind, msg: String| fault(kind, height, "block.seals", msg);
    match state.check_seals(&b.header, &b.seals, opts.batch_signatures) {
        Ok(n) => {
            report.signatures += n as u64;
            Ok(())
        }
        Err(SealError::Unordered) => Err(seal_fault(
            FaultKind::Malformed,
            "seals are not in strictly ascending validator order".into(),
        )),
        Err(SealError::OutsideSet(i)) => Err(seal_fault(
            FaultKind::Malformed,
            format!("seal by validator index {i} outside the set"),
        )),
        Err(SealError::HeaderNotSigned) => Err(fault(
            FaultKind::HashMismatch,
            height,
            "header",
            "no seal verifies: the header is not the one the validators signed",
        )),
        Err(SealError::BadSeal(i)) => Err(seal_fault(
            FaultKind::BadSignature,
            format!("seal of validator {i} does not verify"),
        )),
        Err(SealError::BelowThreshold { have, need }) => Err(seal_fault(
            FaultKind::MissingQuorum,
            format!("{have} valid seals, {need} needed"),
        )),
    }
}

/// Checks each payload present in the vault against its digest; absent
/// ones go to `missing` (an erase transaction later may explain them).
fn check_payloads(
    store: &dyn Store,
    payloads: &[PayloadRef],
    report: &mut Report,
    missing: &mut Vec<PayloadRef>,
) -> Result<(), Fault> {
    for p in payloads {
        let ct = store
            .get_payload(&p.digest)
            .map_err(|e| payload_fault(p, FaultKind::PayloadMissing, &e.to_string()))?;
        let Some(ct) = ct else {
            missing.push(*p);
            continue;
        };
        if ct.len() as u64 != p.len || !ciphertext_digest(&ct).ct_eq(&p.digest) {
            return Err(payload_fault(
                p,
                FaultKind::PayloadTampered,
                "vault ciphertext does not match the digest on the chain",
            ));
        }
        report.payloads += 1;
    }
    Ok(())
}

fn payload_fault(p: &PayloadRef, kind: FaultKind, msg: &str) -> Fault {
    fault(kind, p.height, "record.ciphertext_digest", msg)
        .at_tx(p.tx_index)
        .at_record(u32::try_from(p.record_index).ok())
}

/// The first absent payload no erase transaction at or before height
/// `upto` accounts for.
fn first_missing(
    missing: &[PayloadRef],
    erased: &HashMap<RecordId, u64>,
    upto: u64,
) -> Option<Fault> {
    missing
        .iter()
        .find(|p| erased.get(&p.record).is_none_or(|h| *h > upto))
        .map(|p| {
            payload_fault(
                p,
                FaultKind::PayloadMissing,
                "ciphertext is not in the vault and no erase transaction removed it",
            )
        })
}
