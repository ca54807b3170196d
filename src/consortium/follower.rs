//! Keeping a node caught up with a peer from a background thread: what an
//! EHR embedding medledger next to its institution's node, or a node
//! following the proposer, runs.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::node::{Node, Peer, PeerUpstream, ask};
use super::wire::{Request, Response};
use crate::log::shipped::ShippedBlock;
use crate::{Error, Ledger, LedgerId, Result};

/// The genesis block a peer serves (check it with [`Ledger::join_dir`]).
pub fn fetch_genesis(peer: &dyn Peer) -> Result<ShippedBlock> {
    match ask(peer, &Request::GetBlocks { from: 0, max: 1 })? {
        Response::Blocks(mut b) if !b.is_empty() => Ok(b.swap_remove(0)),
        r => Err(Error::System(format!(
            "peer served no genesis block: {r:?}"
        ))),
    }
}

/// Catches a node up from a peer every `interval` until dropped, or until
/// the peer serves a conflicting block (the evidence is kept in the node
/// and the follower stops: it does not follow a fork).
pub struct Follower {
    stop: Arc<AtomicBool>,
    forked: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl core::fmt::Debug for Follower {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Follower(forked: {})", self.forked())
    }
}

impl Follower {
    /// Starts following `peer`; `on_error` hears each failed catch-up
    /// (the peer down, a block refused), which is retried, and the fork
    /// that stops it.
    pub fn spawn(
        node: Arc<Node>,
        peer: Arc<dyn Peer>,
        interval: Duration,
        on_error: impl Fn(&Error) + Send + 'static,
    ) -> Follower {
        let stop = Arc::new(AtomicBool::new(false));
        let forked = Arc::new(AtomicBool::new(false));
        let (s, f) = (Arc::clone(&stop), Arc::clone(&forked));
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match node.sync_from(peer.as_ref()) {
                    Ok(r) if r.conflict => {
                        f.store(true, Ordering::SeqCst);
                        on_error(&Error::Rejected(
                            "the peer served a block conflicting with this node's: evidence \
                             kept, no longer following it"
                                .into(),
                        ));
                        return;
                    }
                    Ok(_) => {}
                    Err(e) => on_error(&e),
                }
                std::thread::sleep(interval);
            }
        });
        Follower {
            stop,
            forked,
            thread: Some(thread),
        }
    }

    /// The peer served a conflicting block and the follower stopped.
    pub fn forked(&self) -> bool {
        self.forked.load(Ordering::SeqCst)
    }

    /// An embedded follower: joins the ledger `id` in the empty directory
    /// `dir` from `upstream`'s genesis block, forwards the transactions
    /// submitted to it upstream, and catches up from upstream every
    /// `interval` (failures are retried silently; see [`Follower::spawn`]).
    pub fn join(
        dir: &Path,
        upstream: Arc<dyn Peer>,
        id: LedgerId,
        interval: Duration,
    ) -> Result<(Arc<Node>, Follower)> {
        let ledger = Ledger::join_dir(dir, &fetch_genesis(upstream.as_ref())?, id)?;
        ledger.set_upstream(Arc::new(PeerUpstream(Arc::clone(&upstream))))?;
        let node = Arc::new(Node::new(Arc::new(ledger), Vec::new()));
        let follower = Follower::spawn(Arc::clone(&node), upstream, interval, |_| {});
        Ok((node, follower))
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            // A panic in the thread has already been reported by it.
            drop(t.join());
        }
    }
}
