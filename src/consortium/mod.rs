//! Several institutions, one ledger: the messages nodes exchange
//! ([`wire`], docs/FORMAT.md §11), a [`node::Node`] that answers them,
//! proposes and co-signs blocks and catches up from peers, and a plain TCP
//! transport ([`tcp`]). The messages are bytes in, bytes out: any transport
//! carries them.
//!
//! One node proposes (it sequences the transactions the others forward
//! to it); every validator checks a proposal fully before sealing it, and
//! a block is committed at the threshold of seals. This is co-signing, not
//! consensus: if the proposer stops, no block is made until it returns.
//! Larger consortia run an existing BFT engine (see docs/THREAT-MODEL.md).

pub mod follower;
pub mod node;
pub mod tcp;
pub mod wire;

pub use follower::{Follower, fetch_genesis};
pub use node::{Node, Peer, PeerUpstream, SyncReport, ask};
pub use tcp::TcpPeer;
pub use wire::{Request, Response, Status};
