//! One institution's node in a consortium: answers peers' requests,
//! proposes blocks and gathers seals (the proposer), catches up from a peer
//! (the others), and keeps the equivocation evidence it detects.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::codec::{Reader, Writer};
use crate::crypto::hash::Digest;

use crate::crypto::keypair::Keypair;
use crate::ledger::{Endorsed, Imported, Ledger, Served, Upstream};
use crate::log::block::{Block, BlockHeader, Seal};
use crate::log::shipped::ShippedBlock;
use crate::model::{ParticipantId, SignedTx, TxBody};
use crate::proof::Equivocation;
use crate::{Error, Result};

use super::wire::{MAX_BLOCKS_PER_RESPONSE, Request, Response, Status};

/// A peer reached by some transport: one request in, one response out.
pub trait Peer: Send + Sync {
    /// Sends an encoded request and returns the encoded response.
    fn call(&self, request: &[u8]) -> Result<Vec<u8>>;
}

/// A node in the same process is a peer too (tests, embedded setups).
impl Peer for Node {
    fn call(&self, request: &[u8]) -> Result<Vec<u8>> {
        Ok(self.handle(request))
    }
}

/// Sends `req` to `peer`; an error response becomes an `Err`.
pub fn ask(peer: &dyn Peer, req: &Request) -> Result<Response> {
    match Response::decode(&peer.call(&req.encode())?)? {
        Response::Error { code, message } => Err(code.to_error(&message)),
        r => Ok(r),
    }
}

fn unexpected(what: &str, r: &Response) -> Error {
    Error::System(format!("peer answered {what} with {r:?}"))
}

/// A peer as the upstream of a follower [`Ledger`]: transactions are
/// submitted to it for sequencing.
pub struct PeerUpstream(pub Arc<dyn Peer>);

impl Upstream for PeerUpstream {
    fn submit(&self, tx: &[u8], payloads: &[Vec<u8>]) -> Result<u64> {
        let req = Request::Submit {
            tx: tx.to_vec(),
            payloads: payloads.to_vec(),
        };
        match ask(self.0.as_ref(), &req)? {
            Response::Submitted(leaf) => Ok(leaf),
            r => Err(unexpected("submit", &r)),
        }
    }
}

/// What one catch-up from a peer did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Blocks verified and appended.
    pub blocks: u64,
    /// Transactions in them.
    pub transactions: u64,
    /// Ciphertexts the peer did not ship (erased there).
    pub missing_payloads: u64,
    /// The peer served a conflicting block: evidence was kept and the
    /// catch-up stopped (this node does not follow that fork).
    pub conflict: bool,
}

/// A node: a ledger, this institution's validator keys, and evidence.
pub struct Node {
    ledger: Arc<Ledger>,
    validators: Vec<Arc<Keypair>>,
    evidence: Mutex<Vec<Equivocation>>,
    /// The last header this node's validators sealed, and the file that
    /// keeps it across restarts (if any).
    votes: Mutex<VoteLog>,
    /// Hashes of the validator sets this node's operator approved.
    approved_sets: Mutex<Vec<Digest>>,
    /// Validators whose proposals this node endorses (empty: any).
    proposers: Mutex<Vec<ParticipantId>>,
}

/// The last (height, header hash) endorsed, persisted so that a restarted
/// validator never signs a second header at that height.
#[derive(Default)]
struct VoteLog {
    path: Option<PathBuf>,
    last: Option<(u64, Digest)>,
    /// Header hash of the proposal last written beside the vote.
    proposed: Option<Digest>,
}

impl VoteLog {
    const LEN: usize = 8 + 32;

    fn load(path: &Path) -> Result<VoteLog> {
        let last = match std::fs::read(path) {
            Ok(b) => {
                let mut r = Reader::new(&b);
                let v = (r.u64("vote.height")?, r.digest("vote.header")?);
                r.finish("vote log")?;
                Some(v)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::System(format!("read {}: {e}", path.display()))),
        };
        Ok(VoteLog {
            path: Some(path.to_path_buf()),
            last,
            proposed: None,
        })
    }

    /// Where this node's own last proposal is kept.
    fn proposal_path(&self) -> Option<PathBuf> {
        self.path.as_ref().map(|p| p.with_extension("proposal"))
    }

    /// The proposal kept before a restart, if any.
    fn load_proposal(&self) -> Result<Option<ShippedBlock>> {
        let Some(path) = self.proposal_path() else {
            return Ok(None);
        };
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(ShippedBlock::decode(&b)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::System(format!("read {}: {e}", path.display()))),
        }
    }

    /// Keeps this node's proposal (and its own vote for it) durably before
    /// it is sent, once per proposal.
    fn record_proposal(&mut self, header: &BlockHeader, p: &ShippedBlock) -> Result<()> {
        let hash = header.hash();
        if self.proposed == Some(hash) {
            return Ok(());
        }
        // Never propose (and seal) a second header at a height.
        self.check(header.height, &hash)?;
        if let Some(path) = self.proposal_path() {
            write_durably(&path, &p.encode())?;
        }
        self.proposed = Some(hash);
        self.record(header.height, hash)
    }

    /// Fails if another header was endorsed at `height`.
    fn check(&self, height: u64, hash: &Digest) -> Result<()> {
        match self.last {
            Some((h, d)) if h == height && d != *hash => Err(Error::Denied(format!(
                "this node's validators already sealed another header at height {h}"
            ))),
            _ => Ok(()),
        }
    }

    /// Records an endorsement durably (write, fsync, rename) before the
    /// seals leave the node.
    fn record(&mut self, height: u64, hash: Digest) -> Result<()> {
        if let Some(path) = &self.path {
            let mut w = Writer::with_capacity(Self::LEN);
            w.u64(height).digest(&hash);
            write_durably(path, &w.into_bytes())?;
        }
        self.last = Some((height, hash));
        Ok(())
    }
}

/// Replaces `path` with `bytes`: written to a temporary file, fsynced,
/// renamed over it.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let io = |e: std::io::Error| Error::System(format!("{}: {e}", path.display()));
    {
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

impl core::fmt::Debug for Node {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Node({:?}, {} validator keys)",
            self.ledger,
            self.validators.len()
        )
    }
}

impl Node {
    /// A node over `ledger` sealing with `validators` (may be empty for a
    /// node that only replicates).
    pub fn new(ledger: Arc<Ledger>, validators: Vec<Arc<Keypair>>) -> Node {
        Node {
            ledger,
            validators,
            evidence: Mutex::new(Vec::new()),
            votes: Mutex::new(VoteLog::default()),
            approved_sets: Mutex::new(Vec::new()),
            proposers: Mutex::new(Vec::new()),
        }
    }

    /// This node endorses only proposals sealed by one of these validators
    /// (the consortium's proposer). Without it any validator's proposal is
    /// endorsed, and a stray proposal can take the height a validator
    /// would otherwise seal for the proposer, stalling it.
    pub fn accept_proposals_from(&self, proposers: Vec<ParticipantId>) -> Result<()> {
        *self
            .proposers
            .lock()
            .map_err(|_| Error::System("proposer lock poisoned".into()))? = proposers;
        Ok(())
    }

    /// Fails unless `block` carries a valid seal of an accepted proposer
    /// (when proposers are set).
    fn check_proposer(&self, block: &Block) -> Result<()> {
        let proposers = self
            .proposers
            .lock()
            .map_err(|_| Error::System("proposer lock poisoned".into()))?
            .clone();
        if proposers.is_empty() {
            return Ok(());
        }
        let set = self.ledger.validators()?;
        for seal in &block.seals {
            let by = set.members.get(usize::from(seal.validator)).map(|m| m.id);
            if by.is_some_and(|id| proposers.contains(&id))
                && self.ledger.seal_verifies(&block.header, seal)?
            {
                return Ok(());
            }
        }
        Err(Error::Denied(
            "proposal not sealed by this node's proposer".into(),
        ))
    }

    /// This node's operator approves a change to the validator set whose
    /// hash is `set_hash`: until then the
    /// node neither proposes nor seals a block holding a `SetValidators`
    /// transaction for it. A validator-set change therefore takes effect
    /// only when a threshold of the current validators' operators approved
    /// it (their seals on its block are the votes, verifiable from genesis).
    /// `set_hash` is [`ValidatorSet::hash`] of the new set.
    pub fn approve_validator_set(&self, set_hash: Digest) -> Result<()> {
        let mut approved = self
            .approved_sets
            .lock()
            .map_err(|_| Error::System("approval lock poisoned".into()))?;
        let h = set_hash;
        if !approved.contains(&h) {
            approved.push(h);
        }
        Ok(())
    }

    /// Fails when `block` changes the validator set to one this node's
    /// operator has not approved.
    fn check_approvals(&self, block: &Block) -> Result<()> {
        let approved = self
            .approved_sets
            .lock()
            .map_err(|_| Error::System("approval lock poisoned".into()))?;
        for tx in &block.txs {
            if let TxBody::SetValidators(set) = SignedTx::decode(tx)?.tx.body {
                let h = set.hash();
                if !approved.contains(&h) {
                    return Err(Error::Denied(format!(
                        "validator set change {h} is not approved by this node's operator"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Keeps the last endorsement in the file `path` (created if missing),
    /// so that after a restart this node still refuses to seal a second
    /// header at a height it sealed.
    /// A proposer also keeps its last proposal there (beside it, with the
    /// extension `proposal`) and takes it back after a restart, so the
    /// validators that endorsed it can still seal it
    /// ([`Ledger::restore_proposal`]).
    pub fn with_vote_log(self, path: &Path) -> Result<Node> {
        self.set_vote_log(path)?;
        Ok(self)
    }

    /// [`Node::with_vote_log`] on a node already built (before it serves).
    pub fn set_vote_log(&self, path: &Path) -> Result<()> {
        let log = VoteLog::load(path)?;
        if let Some(p) = log.load_proposal()? {
            // A proposal that is no longer for the next height is stale.
            self.ledger.restore_proposal(&p)?;
        }
        *self.votes_lock()? = log;
        Ok(())
    }

    fn votes_lock(&self) -> Result<std::sync::MutexGuard<'_, VoteLog>> {
        self.votes
            .lock()
            .map_err(|_| Error::System("vote log lock poisoned".into()))
    }

    /// The node's ledger.
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    fn keys(&self) -> Vec<&Keypair> {
        self.validators.iter().map(|k| k.as_ref()).collect()
    }

    /// Equivocation evidence detected so far.
    pub fn evidence(&self) -> Result<Vec<Equivocation>> {
        Ok(self
            .evidence
            .lock()
            .map_err(|_| Error::System("evidence lock poisoned".into()))?
            .clone())
    }

    /// Keeps verified evidence (once per pair of headers).
    fn keep(&self, e: Equivocation) -> Result<()> {
        e.verify()?;
        let mut all = self
            .evidence
            .lock()
            .map_err(|_| Error::System("evidence lock poisoned".into()))?;
        let key = (e.first.0.hash(), e.second.0.hash());
        if !all
            .iter()
            .any(|x| (x.first.0.hash(), x.second.0.hash()) == key)
        {
            all.push(e);
        }
        Ok(())
    }

    /// This node's status.
    pub fn status(&self) -> Result<Status> {
        let head = self.ledger.head()?;
        let evidence = self.evidence()?;
        let mut equivocators: Vec<ParticipantId> = Vec::new();
        for e in &evidence {
            for id in e.verify()? {
                if !equivocators.contains(&id) {
                    equivocators.push(id);
                }
            }
        }
        Ok(Status {
            height: head.height,
            head_hash: head.hash(),
            log_size: head.log_size,
            log_root: head.log_root,
            evidence: u32::try_from(evidence.len()).unwrap_or(u32::MAX),
            equivocators,
        })
    }

    /// Answers one encoded request; never fails (errors are responses).
    pub fn handle(&self, request: &[u8]) -> Vec<u8> {
        let resp = Request::decode(request)
            .and_then(|req| self.answer(req))
            .unwrap_or_else(|e| Response::error(&e));
        resp.encode()
    }

    fn answer(&self, req: Request) -> Result<Response> {
        Ok(match req {
            Request::Status => Response::Status(self.status()?),
            Request::Submit { tx, payloads } => {
                Response::Submitted(self.ledger.submit(&tx, &payloads)?)
            }
            Request::Propose(p) => self.endorse(&p)?,
            Request::Commit { header, seals } => self.commit_announced(&header, seals)?,
            Request::Announce(s) => self.import(&s)?,
            Request::GetBlocks { from, max } => {
                let max = usize::try_from(max)
                    .unwrap_or(usize::MAX)
                    .min(MAX_BLOCKS_PER_RESPONSE);
                Response::Blocks(self.ledger.export_blocks(from, max, 64 << 20)?)
            }
            Request::GetPayload(id) => match self.ledger.serve_ciphertext(&id)? {
                Served::Ciphertext(ct) => Response::Payload(ct),
                Served::Erased => Response::PayloadErased,
                Served::Absent => {
                    return Err(Error::NotFound(format!("ciphertext of record {id}")));
                }
            },
            Request::GetEvidence => Response::Evidence(self.evidence()?),
            Request::GetConsistency { size1, size2 } => {
                Response::Consistency(self.ledger.consistency_proof(size1, size2)?.hashes)
            }
        })
    }

    /// Endorses a proposal, checked against the vote log first and
    /// recorded in it before the seals are returned.
    fn endorse(&self, p: &ShippedBlock) -> Result<Response> {
        let header = BlockHeader::decode(&mut Reader::new(&p.block))?;
        let hash = header.hash();
        let mut votes = self.votes_lock()?;
        if let Err(e) = votes.check(header.height, &hash) {
            // Not signing; still tell a conflict (with evidence) apart.
            return match self.import(p) {
                Ok(Response::Conflict(x)) => Ok(Response::Conflict(x)),
                _ => Err(e),
            };
        }
        if !self.validators.is_empty() {
            let block = Block::decode(&p.block)?.block;
            self.check_proposer(&block)?;
            self.check_approvals(&block)?;
        }
        Ok(match self.ledger.endorse(p, &self.keys())? {
            Endorsed::Seals(seals) => {
                votes.record(header.height, hash)?;
                Response::Endorsed(seals)
            }
            Endorsed::Conflict(e) => {
                self.keep((*e).clone())?;
                Response::Conflict(e)
            }
        })
    }

    fn import(&self, s: &ShippedBlock) -> Result<Response> {
        Ok(match self.ledger.import_block(s)? {
            Imported::Appended {
                height,
                missing_payloads,
            } => Response::Imported {
                height,
                missing_payloads: u32::try_from(missing_payloads).unwrap_or(u32::MAX),
            },
            Imported::AlreadyHave { height } => Response::Imported {
                height,
                missing_payloads: 0,
            },
            Imported::Conflict(e) => {
                self.keep((*e).clone())?;
                Response::Conflict(e)
            }
        })
    }

    /// A sealed header for the block this node endorsed: commits it; a
    /// node that did not endorse it asks for the block.
    fn commit_announced(&self, header: &BlockHeader, seals: Vec<Seal>) -> Result<Response> {
        let head = self.ledger.head()?;
        if header.height > head.height.saturating_add(1) {
            return Ok(Response::NeedBlocks(head.height.saturating_add(1)));
        }
        // Only the endorsed block's transactions are here: ship an empty
        // body; `import_block` takes them from the staged block when the
        // header matches, and refuses otherwise.
        let block = Block {
            header: header.clone(),
            seals,
            txs: Vec::new(),
        };
        match self.import(&ShippedBlock::new(&block, Vec::new())) {
            Err(_) if header.height > head.height => {
                Ok(Response::NeedBlocks(head.height.saturating_add(1)))
            }
            r => r,
        }
    }

    /// The proposer's round: proposes the pending transactions, asks every
    /// peer to endorse (in parallel), commits at the threshold and tells
    /// the peers. Returns the committed header, `None` when nothing was
    /// pending, `Error::MissingQuorum` when too few validators sealed (the
    /// same proposal is sent again next round).
    pub fn propose_round(&self, peers: &[Arc<dyn Peer>]) -> Result<Option<BlockHeader>> {
        let Some(proposal) = self.ledger.proposal(&self.keys())? else {
            return Ok(None);
        };
        let block = Block::decode(&proposal.block)?.block;
        // Sent only once this node's operator approved any set change in it.
        self.check_approvals(&block)?;
        self.votes_lock()?
            .record_proposal(&block.header, &proposal)?;
        let req = Request::Propose(proposal);
        let answers: Vec<Result<Response>> = std::thread::scope(|s| {
            let handles: Vec<_> = peers
                .iter()
                .map(|p| s.spawn(|| ask(p.as_ref(), &req)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::System("peer thread panicked".into())))
                })
                .collect()
        });
        let mut seals = block.seals.clone();
        for a in answers {
            match a {
                Ok(Response::Endorsed(more)) => {
                    for s in more {
                        if !seals.iter().any(|x| x.validator == s.validator)
                            && self.ledger.seal_verifies(&block.header, &s)?
                        {
                            seals.push(s);
                        }
                    }
                }
                Ok(Response::Conflict(e)) => self.keep(*e)?,
                _ => {}
            }
        }
        seals.sort_by_key(|s| s.validator);
        self.ledger.commit(&block.header, seals.clone())?;
        let commit = Request::Commit {
            header: block.header.clone(),
            seals,
        };
        std::thread::scope(|s| {
            for p in peers {
                let commit = &commit;
                s.spawn(move || {
                    // A peer that missed the commit catches up by itself.
                    drop(ask(p.as_ref(), commit));
                });
            }
        });
        Ok(Some(block.header))
    }

    /// Catches up from `peer`: fetches the blocks after this node's head
    /// and imports each (verified before it is stored) until the peer has
    /// no more. A conflicting block ends the catch-up with evidence kept.
    pub fn sync_from(&self, peer: &dyn Peer) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        loop {
            let from = self.ledger.head()?.height.saturating_add(1);
            let blocks = match ask(
                peer,
                &Request::GetBlocks {
                    from,
                    max: u32::try_from(MAX_BLOCKS_PER_RESPONSE).unwrap_or(u32::MAX),
                },
            )? {
                Response::Blocks(b) => b,
                r => return Err(unexpected("get_blocks", &r)),
            };
            if blocks.is_empty() {
                return Ok(report);
            }
            // Verified as a batch: signatures checked on a worker thread
            // while the next blocks' rules run.
            for (s, r) in blocks.iter().zip(self.ledger.import_blocks(&blocks)?) {
                match r {
                    Imported::Appended {
                        missing_payloads, ..
                    } => {
                        let header = BlockHeader::decode(&mut Reader::new(&s.block))?;
                        report.blocks += 1;
                        report.transactions += u64::from(header.tx_count);
                        report.missing_payloads += missing_payloads as u64;
                    }
                    Imported::AlreadyHave { .. } => {}
                    Imported::Conflict(e) => {
                        self.keep(*e)?;
                        report.conflict = true;
                        return Ok(report);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn vote_log_survives_a_restart_and_refuses_a_second_header() {
        let dir = std::env::temp_dir().join(format!("medledger-votes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("votes");
        let _ = std::fs::remove_file(&path);
        let (a, b) = (Digest([1; 32]), Digest([2; 32]));
        let mut log = VoteLog::load(&path).unwrap();
        assert!(log.last.is_none());
        log.check(7, &a).unwrap();
        log.record(7, a).unwrap();
        // After a restart the same vote holds.
        let log = VoteLog::load(&path).unwrap();
        assert_eq!(log.last, Some((7, a)));
        log.check(7, &a).unwrap();
        assert!(matches!(log.check(7, &b), Err(Error::Denied(_))));
        log.check(8, &b).unwrap();
        // A damaged vote log is an error, not a forgotten vote.
        std::fs::write(&path, [0u8; 10]).unwrap();
        assert!(VoteLog::load(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
