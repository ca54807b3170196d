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

/// Storage backend for a ledger. Every method takes `&self`: a store
/// synchronises internally, so readers never wait for a commit's `fsync`.
pub trait Store: Send + Sync {
    /// Number of committed blocks (the next height).
    fn block_count(&self) -> Result<u64>;
    /// The encoded block at `height`.
    fn read_block(&self, height: u64) -> Result<Vec<u8>>;
    /// Durably appends the encoded block at height `block_count()` together
    /// with the ciphertexts of its records (written first), then makes both
    /// visible. Returns only once they are durable (for stores that are).
    /// Calls are serialised by the caller (one committer at a time).
    fn append_block(&self, encoded: &[u8], payloads: &[(Digest, Vec<u8>)]) -> Result<()>;
    /// Fetches a committed ciphertext, `None` when absent.
    fn get_payload(&self, digest: &Digest) -> Result<Option<Vec<u8>>>;
    /// Erases a committed ciphertext from the vault: afterwards `get_payload`
    /// returns `None` and the ciphertext bytes are no longer on the medium
    /// (overwritten, for stores that persist). Returns `true` when a payload was
    /// present and is now erased, `false` when it was absent (already erased or
    /// never stored). Durable before it returns. Serialised with `append_block`
    /// by the caller (one committer at a time).
    fn erase_payload(&self, digest: &Digest) -> Result<bool>;
}
