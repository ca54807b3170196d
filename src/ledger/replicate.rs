//! Several nodes, one chain: shipping committed blocks with their
//! ciphertexts, importing them with full verification, endorsing a
//! proposal before sealing it, joining from a genesis block, and
//! forwarding transactions to the node that sequences.
//!
//! Nothing a peer sends is trusted. A block is imported only after the
//! checks the verifier makes (docs/FORMAT.md §7): link, header, seals at
//! threshold, log root, every rule and signature, every shipped ciphertext
//! against its digest. A validator endorses (seals) a proposal only after
//! the same checks, and never two different headers at one height.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::Arc;

use crate::crypto::hash::Digest;
use crate::crypto::keypair::Keypair;
use crate::log::block::{Block, BlockHeader, Seal};
use crate::log::merkle::{MerkleHasher, MerkleLog, Sha3Hasher};
use crate::log::shipped::ShippedBlock;
use crate::log::state::{SealError, TX_TIME_SKEW_MS};
use crate::model::tx::ciphertext_digest;
use crate::model::{LedgerId, RecordId, SignedTx, TxBody};
use crate::proof::Equivocation;
use crate::store::{Access, DirStore};
use crate::verify::{Report, SigPipeline, VerifyOptions, apply_block, genesis_block, replay};
use crate::{Error, Result};

use super::{Inner, Ledger, PreparedTx, check_seals, rejected, seal_with};

/// The node that sequences transactions for a follower (e.g. a client
/// of the wire protocol in `crate::consortium`).
pub trait Upstream: Send + Sync {
    /// Sequences a signed transaction with the ciphertexts of its records
    /// at the node that proposes blocks; returns its leaf index in the log.
    fn submit(&self, tx: &[u8], payloads: &[Vec<u8>]) -> Result<u64>;
}

/// What [`Ledger::import_block`] did with a block.
#[derive(Debug)]
pub enum Imported {
    /// Verified and appended at `height`; `missing_payloads` ciphertexts
    /// were not shipped (erased at the sender; fetch or expect an erasure).
    Appended {
        /// Height of the block.
        height: u64,
        /// Records of the block whose ciphertext did not come with it.
        missing_payloads: usize,
    },
    /// The node already holds this very block.
    AlreadyHave {
        /// Height of the block.
        height: u64,
    },
    /// A different block signed by validators at a height this node has
    /// committed (or endorsed): the evidence names who signed both. The
    /// block is not imported.
    Conflict(Box<Equivocation>),
}

/// What [`Ledger::endorse`] did with a proposal.
#[derive(Debug)]
pub enum Endorsed {
    /// The proposal verified: this node's validator seals over it.
    Seals(Vec<Seal>),
    /// The proposal conflicts with a header some of its signers already
    /// signed at that height; nothing was signed.
    Conflict(Box<Equivocation>),
}

/// Ciphertexts matched to records by digest.
type Matched = Vec<(Digest, Vec<u8>)>;

/// The state of a pipelined import: the signature worker, the blocks
/// applied and waiting for their signatures (in order), what was done.
struct Pipeline<'scope> {
    sigs: SigPipeline<'scope>,
    waiting: VecDeque<Verified>,
    out: Vec<Imported>,
    /// A signature check failed: nothing from that block on is stored.
    sig_failed: bool,
}

/// A block checked and applied, waiting to be stored: a batch-imported
/// block waiting for its signature check, or a proposal a validator
/// endorsed (staged) waiting for its seals.
pub(super) struct Verified {
    block: Block,
    payloads: Matched,
    erased: HashSet<RecordId>,
    missing_payloads: usize,
}

/// Record ciphertext digests and lengths of a block's transactions.
fn record_digests(block: &Block) -> Result<Vec<(Digest, u64)>> {
    let mut out = Vec::new();
    for tx in &block.txs {
        if let TxBody::Records(b) = SignedTx::decode(tx)?.tx.body {
            out.extend(
                b.records
                    .iter()
                    .map(|r| (r.ciphertext_digest, r.ciphertext_len)),
            );
        }
    }
    Ok(out)
}

/// Matches shipped ciphertexts to the block's records by digest and
/// length. Every shipped ciphertext must belong to a record of the block;
/// with `all`, every record must have its ciphertext. Returns the matched
/// (digest, ciphertext) pairs and how many records had none.
fn match_payloads(block: &Block, shipped: &[Vec<u8>], all: bool) -> Result<(Matched, usize)> {
    let wanted: HashMap<Digest, u64> = record_digests(block)?.into_iter().collect();
    let mut matched = Vec::with_capacity(shipped.len());
    let mut seen = HashSet::with_capacity(shipped.len());
    for (i, ct) in shipped.iter().enumerate() {
        let d = ciphertext_digest(ct);
        match wanted.get(&d) {
            Some(len) if *len == ct.len() as u64 && seen.insert(d) => {
                matched.push((d, ct.clone()));
            }
            _ => {
                return Err(Error::Tampered(format!(
                    "shipped ciphertext {i} is not the ciphertext of a record of block {} \
                     (digest or length differs, or sent twice)",
                    block.header.height
                )));
            }
        }
    }
    let missing = wanted.len().saturating_sub(matched.len());
    if all && missing > 0 {
        return Err(Error::Rejected(format!(
            "{missing} record ciphertexts of the proposed block were not supplied"
        )));
    }
    Ok((matched, missing))
}

/// Fails unless the transactions of `b` extend `log` to the root the
/// header commits to; `log` is left as it was. Returns the leaf hashes.
fn precheck_root(log: &mut MerkleLog, b: &Block) -> Result<Vec<Digest>> {
    let size = log.size();
    let leaves: Vec<Digest> = b.txs.iter().map(|tx| Sha3Hasher::hash_leaf(tx)).collect();
    for leaf in &leaves {
        log.push(*leaf);
    }
    let ok = log.size() == b.header.log_size && log.root() == b.header.log_root;
    log.truncate(size)?;
    if ok {
        Ok(leaves)
    } else {
        Err(Error::Tampered(format!(
            "the transactions of block {} do not hash to its log root",
            b.header.height
        )))
    }
}

impl Ledger {
    /// Makes this node a follower: transactions submitted here are checked
    /// against the local state, then forwarded to `upstream`, and the call
    /// returns once the block holding them has been imported here (blocks
    /// arrive through [`Ledger::import_block`]).
    pub fn set_upstream(&self, upstream: Arc<dyn Upstream>) -> Result<()> {
        *self
            .upstream
            .write()
            .map_err(|_| Error::System("upstream lock poisoned".into()))? = Some(upstream);
        Ok(())
    }

    pub(super) fn upstream(&self) -> Result<Option<Arc<dyn Upstream>>> {
        Ok(self
            .upstream
            .read()
            .map_err(|_| Error::System("upstream lock poisoned".into()))?
            .clone())
    }

    /// Forwards a transaction checked against the local state upstream and
    /// waits until its block is imported here.
    pub(super) fn forward(&self, up: &dyn Upstream, p: PreparedTx) -> Result<u64> {
        {
            let inner = self.read()?;
            p.check_signer(&inner.state)?;
            inner.state.check(&p.stx).map_err(rejected)?;
        }
        let payloads: Vec<Vec<u8>> = p.payloads.into_iter().map(|(_, c)| c).collect();
        let leaf = up.submit(&p.bytes, &payloads)?;
        self.await_commit(leaf)?;
        Ok(leaf)
    }

    /// Joins a consortium: creates a ledger in the empty directory `dir`
    /// from its genesis block (fetched from a peer), after checking it is
    /// the genesis of `expected` and sealed by its validators. Later blocks
    /// come through [`Ledger::import_block`].
    pub fn join_dir(dir: &Path, genesis: &ShippedBlock, expected: LedgerId) -> Result<Ledger> {
        let decoded = Block::decode(&genesis.block)?;
        let mut report = Report::default();
        let r = genesis_block(&decoded.block, &decoded.tx_offsets, &mut report)
            .map_err(|f| Error::Corrupt(Box::new(f)))?;
        if r.state.ledger_id != expected {
            return Err(Error::Rejected(format!(
                "genesis block is of ledger {}, not {expected}",
                r.state.ledger_id
            )));
        }
        crate::verify::check_seals(
            &r.state,
            &decoded.block,
            0,
            &VerifyOptions::default(),
            &mut report,
        )
        .map_err(|f| Error::Corrupt(Box::new(f)))?;
        let store = DirStore::create(dir, expected, &genesis.block)?;
        drop(store);
        let (ledger, _) = Ledger::open_dir_with(DirStore::open(dir, Access::Write)?)?;
        Ok(ledger)
    }

    /// The committed block at `height` with the ciphertexts of its records
    /// this node holds, ready to ship to a peer.
    pub fn shipped_block(&self, height: u64) -> Result<ShippedBlock> {
        if height > self.read()?.head.height {
            return Err(Error::NotFound(format!("committed block {height}")));
        }
        let bytes = self.store.read_block(height)?;
        let block = Block::decode(&bytes)?.block;
        let mut payloads = Vec::new();
        for (digest, _) in record_digests(&block)? {
            if let Some(ct) = self.store.get_payload(&digest)? {
                payloads.push(ct);
            }
        }
        Ok(ShippedBlock {
            block: bytes,
            payloads,
        })
    }

    /// Committed blocks from `from` on, at most `max_blocks` and (after
    /// the first) about `max_bytes` of blocks and ciphertexts.
    pub fn export_blocks(
        &self,
        from: u64,
        max_blocks: usize,
        max_bytes: usize,
    ) -> Result<Vec<ShippedBlock>> {
        let head = self.read()?.head.height;
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut h = from;
        while h <= head && out.len() < max_blocks {
            let s = self.shipped_block(h)?;
            bytes = bytes
                .saturating_add(s.block.len())
                .saturating_add(s.payloads.iter().map(Vec::len).sum());
            if !out.is_empty() && bytes > max_bytes {
                break;
            }
            out.push(s);
            h = h.saturating_add(1);
        }
        Ok(out)
    }

    /// The block this node proposes for the next height, over its pending
    /// transactions, sealed by `validators` (this node's), or `None` when
    /// nothing is pending. Until it is committed the same proposal is
    /// returned (validators never sign two headers at one height).
    pub fn proposal(&self, validators: &[&Keypair]) -> Result<Option<ShippedBlock>> {
        let _commit = self.commit_guard()?;
        {
            let inner = self.read()?;
            if inner.proposed.is_some() {
                return Ok(inner.proposed.clone());
            }
            if inner.pending.is_empty() {
                return Ok(None);
            }
        }
        let header = self.propose_locked()?;
        let seals = seal_with(&self.validators()?, &header, validators)?;
        let mut inner = self.write()?;
        let n = usize::try_from(header.tx_count).unwrap_or(usize::MAX);
        let taken = inner.pending.get(..n).unwrap_or(&[]);
        let block = Block {
            header,
            seals,
            txs: taken.iter().map(|p| p.bytes.clone()).collect(),
        };
        let payloads = taken
            .iter()
            .flat_map(|p| p.payloads.iter().map(|(_, c)| c.clone()))
            .collect();
        let shipped = ShippedBlock::new(&block, payloads);
        inner.proposed = Some(shipped.clone());
        Ok(Some(shipped))
    }

    /// After a restart, takes back the proposal this node sent before it
    /// stopped (kept by the caller, e.g. the node's vote log): its
    /// transactions are accepted again (signatures and rules checked) and
    /// the same block is proposed until committed, so validators that
    /// endorsed it — and will seal no other header at that height — can
    /// seal it. Returns `false` (nothing done) when the proposal is not for
    /// the next height or transactions are already pending.
    pub fn restore_proposal(&self, proposal: &ShippedBlock) -> Result<bool> {
        if self.upstream()?.is_some() {
            return Err(Error::Denied("a follower does not propose".into()));
        }
        let decoded = Block::decode(&proposal.block)?;
        let b = &decoded.block;
        let _commit = self.commit_guard()?;
        {
            let inner = self.read()?;
            if b.header.height != inner.head.height.saturating_add(1)
                || b.header.prev_hash != inner.head.hash()
                || inner.log.size() != inner.head.log_size
                || inner.proposed.is_some()
            {
                return Ok(false);
            }
        }
        let map = super::by_digest(&proposal.payloads);
        let restored = (|| {
            for tx in &b.txs {
                let p = self.prepare(tx, &map)?;
                self.accept_local(p, false)?;
            }
            let mut inner = self.write()?;
            if inner.log.size() != b.header.log_size || inner.log.root() != b.header.log_root {
                return Err(Error::Tampered(
                    "restored proposal does not hash to its header's log root".into(),
                ));
            }
            inner.proposed = Some(proposal.clone());
            Ok(())
        })();
        if let Err(e) = restored {
            self.rebuild()?;
            return Err(e);
        }
        Ok(true)
    }

    /// Checks a seal over `header` against the validator set in force.
    pub fn seal_verifies(&self, header: &BlockHeader, seal: &Seal) -> Result<bool> {
        let inner = self.read()?;
        Ok(matches!(
            inner
                .state
                .check_seals(header, std::slice::from_ref(seal), false),
            Ok(_) | Err(SealError::BelowThreshold { .. })
        ))
    }

    /// A validator node checks a proposed block for the next height fully
    /// (link, header time, the seals it carries, log root, every rule and
    /// signature, every ciphertext) and seals it with `validators`. The
    /// block is staged: the sealed block commits it through
    /// [`Ledger::import_block`]. A node never endorses two different
    /// headers at one height; a proposal conflicting with one it holds,
    /// signed by a validator that signed both, yields evidence.
    pub fn endorse(&self, proposal: &ShippedBlock, validators: &[&Keypair]) -> Result<Endorsed> {
        if validators.is_empty() {
            return Err(Error::Denied("this node holds no validator keys".into()));
        }
        if self.read_only {
            return Err(Error::Denied("ledger opened read-only".into()));
        }
        let decoded = Block::decode(&proposal.block)?;
        let b = &decoded.block;
        let _commit = self.commit_guard()?;
        let head = self.read()?.head.clone();
        if b.header.height <= head.height {
            return match self.compare_known(b)? {
                Imported::Conflict(e) => Ok(Endorsed::Conflict(e)),
                _ => Err(Error::invalid(
                    "proposal",
                    format!("height {} is already committed", b.header.height),
                )),
            };
        }
        if b.header.height > head.height.saturating_add(1) {
            return Err(Error::invalid(
                "proposal",
                format!(
                    "height {} is ahead of this node (head {}): catch up first",
                    b.header.height, head.height
                ),
            ));
        }
        let set = self.validators()?;
        {
            let inner = self.read()?;
            if let Some(st) = &inner.staged {
                if st.block.header.hash() != b.header.hash() {
                    return match Equivocation::from_conflict(
                        &set,
                        (&st.block.header, &st.block.seals),
                        (&b.header, &b.seals),
                    ) {
                        Some(e) => Ok(Endorsed::Conflict(Box::new(e))),
                        None => Err(Error::Denied(format!(
                            "already endorsed another block at height {}",
                            b.header.height
                        ))),
                    };
                }
                return Ok(Endorsed::Seals(seal_with(&set, &b.header, validators)?));
            }
            if !inner.pending.is_empty() {
                return Err(Error::Denied(
                    "this node sequences transactions of its own; it does not endorse".into(),
                ));
            }
        }
        if b.header.timestamp > self.now().saturating_add(TX_TIME_SKEW_MS) {
            return Err(Error::invalid(
                "proposal",
                "header timestamp is in the future",
            ));
        }
        let seals = self.read()?.state.check_seals(&b.header, &b.seals, false);
        if let Err(e) = seals
            && !matches!(e, SealError::BelowThreshold { .. })
        {
            return Err(Error::invalid(
                "proposal seals",
                format!("{e:?} (a seal does not verify)"),
            ));
        }
        let (payloads, _) = match_payloads(b, &proposal.payloads, true)?;
        let erased = self.apply_verified(&head, &decoded)?;
        let ours = seal_with(&set, &b.header, validators)?;
        let mut block = b.clone();
        for s in &ours {
            if !block.seals.iter().any(|x| x.validator == s.validator) {
                block.seals.push(*s);
            }
        }
        block.seals.sort_by_key(|s| s.validator);
        self.write()?.staged = Some(Verified {
            block,
            payloads,
            erased,
            missing_payloads: 0,
        });
        Ok(Endorsed::Seals(ours))
    }

    /// Imports a sealed block from a peer: verified like the verifier does
    /// (seals at threshold first, then log root, rules, signatures and the
    /// shipped ciphertexts) before anything is stored; erasures in it are
    /// carried out here too. A block at a height already held is compared:
    /// the same block is [`Imported::AlreadyHave`], a different one signed
    /// by validators of this chain is [`Imported::Conflict`] evidence.
    pub fn import_block(&self, shipped: &ShippedBlock) -> Result<Imported> {
        if self.read_only {
            return Err(Error::Denied("ledger opened read-only".into()));
        }
        let decoded = Block::decode(&shipped.block)?;
        let b = &decoded.block;
        let _commit = self.commit_guard()?;
        let head = self.read()?.head.clone();
        if b.header.height <= head.height {
            return self.compare_known(b);
        }
        if b.header.height > head.height.saturating_add(1) {
            return Err(Error::invalid(
                "block",
                format!(
                    "height {} does not follow this node's head {}: import the blocks in between",
                    b.header.height, head.height
                ),
            ));
        }
        let staged = self.write()?.staged.take();
        if let Some(st) = staged {
            if st.block.header.hash() == b.header.hash() {
                if let Err(e) = check_seals(&self.read()?.state, &b.header, &b.seals) {
                    self.write()?.staged = Some(st);
                    return Err(e);
                }
                let mut v = st;
                v.block.header = b.header.clone();
                v.block.seals = b.seals.clone();
                return self.store_verified(v, true);
            }
            // Another block was sealed at the height this node endorsed:
            // forget the endorsed one.
            self.rebuild()?;
        }
        if !self.read()?.pending.is_empty() {
            return Err(Error::Denied(
                "this node sequences transactions of its own; it does not import blocks".into(),
            ));
        }
        check_seals(&self.read()?.state, &b.header, &b.seals)?;
        let (payloads, missing) = match_payloads(b, &shipped.payloads, false)?;
        let erased = self.apply_verified(&head, &decoded)?;
        let v = Verified {
            block: b.clone(),
            payloads,
            erased,
            missing_payloads: missing,
        };
        self.store_verified(v, true)
    }

    /// Imports consecutive blocks from a peer (catch-up), with the checks
    /// of [`Ledger::import_block`]; each block's transaction signatures are
    /// checked on a worker thread while the next blocks' rules run, and a
    /// block is stored only once its signatures verified. Blocks this node
    /// already holds are compared (so a conflict yields evidence and ends
    /// the import). On a fault, the blocks before it are stored and the
    /// fault is returned.
    pub fn import_blocks(&self, blocks: &[ShippedBlock]) -> Result<Vec<Imported>> {
        // Checked under the commit lock, so no block is endorsed (staged)
        // between the check and the import.
        let commit = self.commit_guard()?;
        let plain = {
            let inner = self.read()?;
            !self.read_only && inner.staged.is_none() && inner.pending.is_empty()
        };
        if !plain {
            drop(commit);
            // An endorsed or pending block: one by one, as import_block
            // handles it.
            let mut out = Vec::with_capacity(blocks.len());
            for s in blocks {
                let r = self.import_block(s)?;
                let stop = matches!(r, Imported::Conflict(_));
                out.push(r);
                if stop {
                    break;
                }
            }
            return Ok(out);
        }
        std::thread::scope(|scope| {
            let mut p = Pipeline {
                sigs: SigPipeline::start(scope, true),
                waiting: VecDeque::new(),
                out: Vec::with_capacity(blocks.len()),
                sig_failed: false,
            };
            let run = self.import_pipelined(blocks, &mut p);
            let failed_in_loop = p.sig_failed;
            // Store what verified before anything failed.
            let drained = self.drain(&mut p, true);
            let result = match (run, drained) {
                (Ok(()), Ok(())) => return Ok(p.out),
                // A signature fault found in the loop came first.
                (Err(e), _) if failed_in_loop => e,
                (Err(e), Ok(())) => e,
                // A signature fault of an earlier block comes first.
                (_, Err(e)) => e,
            };
            self.rebuild()?;
            Err(result)
        })
    }

    /// The loop of [`Ledger::import_blocks`]: checks and applies each block,
    /// queues its signatures, stores the blocks whose signatures verified.
    fn import_pipelined(&self, blocks: &[ShippedBlock], p: &mut Pipeline<'_>) -> Result<()> {
        let mut head = self.read()?.head.clone();
        let mut sink = Report::default();
        for s in blocks {
            let decoded = Block::decode(&s.block)?;
            let b = &decoded.block;
            if b.header.height <= head.height && p.waiting.is_empty() {
                let r = self.compare_known(b)?;
                let stop = matches!(r, Imported::Conflict(_));
                p.out.push(r);
                if stop {
                    return Ok(());
                }
                continue;
            }
            if b.header.height != head.height.saturating_add(1) {
                return Err(Error::invalid(
                    "block",
                    format!(
                        "height {} does not follow block {}: blocks must be consecutive",
                        b.header.height, head.height
                    ),
                ));
            }
            check_seals(&self.read()?.state, &b.header, &b.seals)?;
            let (payloads, missing_payloads) = match_payloads(b, &s.payloads, false)?;
            let mut erased = HashMap::new();
            let applied = {
                let mut guard = self.write()?;
                let inner: &mut Inner = &mut guard;
                let leaves = precheck_root(&mut inner.log, b)?;
                let applied = apply_block(
                    &mut inner.state,
                    &mut inner.log,
                    &head,
                    b,
                    &decoded.tx_offsets,
                    b.header.height,
                    &mut sink,
                    &mut erased,
                    Some(&leaves),
                )
                .map_err(|f| Error::Corrupt(Box::new(f)))?;
                if applied.fault.is_none() {
                    inner.state.end_block(b.header.log_size, b.header.timestamp);
                }
                applied
            };
            if applied.fault.is_some() {
                // Earlier blocks' signatures first, then this block's own,
                // then its rule fault.
                self.drain(p, true)?;
                return Err(match applied.settle(true, &mut sink) {
                    Err(f) => Error::Corrupt(Box::new(f)),
                    Ok(_) => Error::System("a block fault went missing".into()),
                });
            }
            p.sigs
                .send(applied.sigs, &sink)
                .map_err(|f| Error::Corrupt(Box::new(f)))?;
            head = b.header.clone();
            p.waiting.push_back(Verified {
                block: b.clone(),
                payloads,
                erased: erased.into_keys().collect(),
                missing_payloads,
            });
            self.drain(p, false)?;
        }
        Ok(())
    }

    /// Collects finished signature checks (all, with `wait`) and stores the
    /// blocks they verified, in order. A failed check drops its block and
    /// every later one and is returned as the block's fault.
    fn drain(&self, p: &mut Pipeline<'_>, wait: bool) -> Result<()> {
        let mut sink = Report::default();
        let late = p.sigs.failure(wait, &mut sink);
        if p.sig_failed {
            return Ok(());
        }
        let done = p
            .waiting
            .len()
            .saturating_sub(p.sigs.in_flight())
            .saturating_sub(usize::from(late.is_some()));
        for v in p.waiting.drain(..done) {
            p.out.push(self.store_verified(v, false)?);
        }
        if let Some((_, f, _)) = late {
            p.waiting.clear();
            p.sig_failed = true;
            return Err(Error::Corrupt(Box::new(f)));
        }
        Ok(())
    }

    /// Compares a block at a height this node holds with its own.
    fn compare_known(&self, b: &Block) -> Result<Imported> {
        let height = b.header.height;
        let ours = Block::decode(&self.store.read_block(height)?)?.block;
        if ours.header.hash() == b.header.hash() {
            return Ok(Imported::AlreadyHave { height });
        }
        let set = self
            .read()?
            .state
            .past_validators
            .get(&ours.header.validator_set_hash)
            .cloned()
            .ok_or_else(|| Error::System(format!("validator set of block {height} unknown")))?;
        match Equivocation::from_conflict(&set, (&ours.header, &ours.seals), (&b.header, &b.seals))
        {
            Some(e) => Ok(Imported::Conflict(Box::new(e))),
            None => Err(Error::Rejected(format!(
                "block {height} differs from this node's and no validator's seal on it verifies \
                 (forged)"
            ))),
        }
    }

    /// Checks the log root, then applies the block's transactions to the
    /// state with every rule and signature checked. On a fault the state is
    /// rebuilt from the store and the fault returned. Returns the records
    /// the block erases. The caller holds the commit lock.
    fn apply_verified(
        &self,
        head: &BlockHeader,
        decoded: &crate::log::block::DecodedBlock,
    ) -> Result<HashSet<RecordId>> {
        let b = &decoded.block;
        let mut erased = HashMap::new();
        let fault = {
            let mut guard = self.write()?;
            let inner: &mut Inner = &mut guard;
            let leaves = precheck_root(&mut inner.log, b)?;
            let mut report = Report::default();
            apply_block(
                &mut inner.state,
                &mut inner.log,
                head,
                b,
                &decoded.tx_offsets,
                b.header.height,
                &mut report,
                &mut erased,
                Some(&leaves),
            )
            .and_then(|a| a.settle(true, &mut report))
            .err()
        };
        if let Some(f) = fault {
            // The state may hold part of the block: replay the store.
            self.rebuild()?;
            return Err(Error::Corrupt(Box::new(f)));
        }
        Ok(erased.into_keys().collect())
    }

    /// Stores a verified block applied to the state, erases the ciphertexts
    /// of the records it erases and moves the head; `end_block` when the
    /// state has not ended the block yet.
    fn store_verified(&self, v: Verified, end_block: bool) -> Result<Imported> {
        let Verified {
            block,
            payloads,
            erased,
            missing_payloads,
        } = v;
        if let Err(e) = self.store.append_block(&block.encode(), &payloads) {
            self.rebuild()?;
            return Err(e);
        }
        let digests: Vec<Digest> = {
            let inner = self.read()?;
            erased
                .iter()
                .filter_map(|id| inner.state.records.get(id))
                .map(|r| r.header.ciphertext_digest)
                .collect()
        };
        for d in &digests {
            self.store.erase_payload(d)?;
        }
        let height = block.header.height;
        {
            let mut inner = self.write()?;
            if end_block {
                inner
                    .state
                    .end_block(block.header.log_size, block.header.timestamp);
            }
            inner.head = block.header;
            inner.proposed = None;
        }
        self.notify_committed();
        Ok(Imported::Appended {
            height,
            missing_payloads,
        })
    }

    /// Replaces the in-memory state by a replay of the store (after a
    /// block that failed half-way, or an endorsed block that was not the
    /// one sealed). The caller holds the commit lock.
    fn rebuild(&self) -> Result<()> {
        let opts = VerifyOptions {
            check_payloads: false,
            ..VerifyOptions::default()
        };
        let (report, replayed) = replay(self.store.as_ref(), &opts);
        let r = match (report.fault, replayed) {
            (Some(f), _) => return Err(Error::Corrupt(Box::new(f))),
            (None, Some(r)) => r,
            (None, None) => return Err(Error::System("replay produced no state".into())),
        };
        let mut inner = self.write()?;
        inner.state = r.state;
        inner.log = r.log;
        inner.head = r.head;
        inner.pending.clear();
        inner.staged = None;
        inner.proposed = None;
        Ok(())
    }
}

/// A record's ciphertext as this node serves it to a peer.
#[derive(Debug, PartialEq, Eq)]
pub enum Served {
    /// The stored ciphertext (checked against the chain by the receiver).
    Ciphertext(Vec<u8>),
    /// The record was erased: its ciphertext is gone here.
    Erased,
    /// Not stored here (never received).
    Absent,
}

impl Ledger {
    /// The ciphertext of a committed record, for a peer fetching it.
    pub fn serve_ciphertext(&self, id: &RecordId) -> Result<Served> {
        let info = self.record_info(id)?;
        if info.erased {
            return Ok(Served::Erased);
        }
        Ok(
            match self.store.get_payload(&info.header.ciphertext_digest)? {
                Some(ct) => Served::Ciphertext(ct),
                None => Served::Absent,
            },
        )
    }

    /// Checks a ciphertext a peer served for record `id` against this
    /// node's chain before it is used: it must match the digest on chain,
    /// and the record must not be erased (a node serving an erased record's
    /// ciphertext did not carry out the erasure).
    pub fn check_served(&self, id: &RecordId, ciphertext: &[u8]) -> Result<()> {
        let info = self.record_info(id)?;
        let matches = ciphertext.len() as u64 == info.header.ciphertext_len
            && ciphertext_digest(ciphertext) == info.header.ciphertext_digest;
        if !matches {
            return Err(Error::Tampered(format!(
                "served ciphertext of record {id} does not match the digest on the chain"
            )));
        }
        if info.erased {
            return Err(Error::Tampered(format!(
                "record {id} was erased on the chain but the peer still serves its ciphertext"
            )));
        }
        Ok(())
    }
}
