//! Where blocks and payload ciphertexts live.
//!
//! A [`Store`] holds two things: the append-only sequence of encoded blocks
//! and the *vault*, a content-addressed map from ciphertext digest to
//! ciphertext. The vault is separate so that a payload can be erased without
//! breaking the hash chain. Stores hold bytes only; every check happens in
//! the ledger and the verifier.

use crate::Result;
use crate::crypto::hash::Digest;

pub mod dir;
pub mod file;
pub mod frame;
pub mod memory;

pub use dir::{Access, DirStore, OpenReport};
pub use memory::MemoryStore;

/// Storage backend for a ledger.
pub trait Store: Send + Sync {
    /// Number of blocks stored (the next height).
    fn block_count(&self) -> Result<u64>;
    /// The encoded block at `height`.
    fn read_block(&self, height: u64) -> Result<Vec<u8>>;
    /// Appends the encoded block at height `block_count()`. Payloads of its
    /// records were written before, so a stored block never lacks them.
    fn append_block(&mut self, encoded: &[u8]) -> Result<()>;
    /// Stores a ciphertext under its digest.
    fn put_payload(&mut self, digest: &Digest, ciphertext: &[u8]) -> Result<()>;
    /// Fetches a ciphertext, `None` when absent.
    fn get_payload(&self, digest: &Digest) -> Result<Option<Vec<u8>>>;
}
