//! The append-only log: RFC 9162 Merkle tree, blocks, and the chain state
//! the rules are replayed against.
pub mod access;
pub mod block;
pub mod merkle;
pub mod shipped;
pub mod state;
