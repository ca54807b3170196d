//! RFC 9162 inclusion and consistency proofs over the transaction log
//! (docs/FORMAT.md §2.4), checked with nothing but the proof, the leaf
//! bytes and the roots (e.g. the `log_root` of sealed block headers).

use crate::Result;
use crate::crypto::hash::Digest;
use crate::log::merkle::{MerkleHasher, Sha3Hasher, verify_consistency, verify_inclusion};

/// Proof that the transaction at `leaf` is in the log of `size` leaves:
/// the RFC 9162 `PATH(leaf, D[size])`, at most 64 hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    /// Log index of the transaction.
    pub leaf: u64,
    /// Log size the proof is against.
    pub size: u64,
    /// Sibling hashes, leaf upward.
    pub hashes: Vec<Digest>,
}

impl InclusionProof {
    /// Checks that `tx_bytes` (the full encoded signed transaction) is leaf
    /// `leaf` of the log of `size` leaves whose root is `root`.
    pub fn verify(&self, tx_bytes: &[u8], root: &Digest) -> Result<()> {
        let leaf_hash = Sha3Hasher::hash_leaf(tx_bytes);
        verify_inclusion::<Sha3Hasher>(&leaf_hash, self.leaf, self.size, &self.hashes, root)
    }
}

/// Proof that the log of `size1` leaves is a prefix of the log of `size2`
/// leaves: the RFC 9162 `PROOF(size1, D[size2])`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The older size (at least 1).
    pub size1: u64,
    /// The newer size.
    pub size2: u64,
    /// The proof hashes (empty when the sizes are equal).
    pub hashes: Vec<Digest>,
}

impl ConsistencyProof {
    /// Checks that `root1` (of `size1` leaves) and `root2` (of `size2`
    /// leaves) are roots of one append-only log.
    pub fn verify(&self, root1: &Digest, root2: &Digest) -> Result<()> {
        verify_consistency::<Sha3Hasher>(self.size1, self.size2, &self.hashes, root1, root2)
    }
}
