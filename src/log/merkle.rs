//! RFC 9162 Merkle tree: an append-only log of leaf hashes with inclusion
//! and consistency proofs, generic over the hash function.
//!
//! Hashing follows RFC 9162 §2.1.1 exactly: a leaf is `H(0x00 ‖ data)`, an
//! interior node is `H(0x01 ‖ left ‖ right)` and the empty tree is `H("")`.
//! medledger uses SHA3-256 ([`Sha3Hasher`]); the test vectors use SHA-256,
//! which is why everything here is generic over [`MerkleHasher`].
//!
//! Proofs are produced as RFC 9162 §2.1.3.1 `PATH` and §2.1.4.1 `PROOF`
//! and checked with the §2.1.3.2 and §2.1.4.2 algorithms. The verifiers
//! follow the stricter conventions of the transparency-dev test vectors:
//! the proof length must be exactly the one the sizes require, every hash
//! must be 32 bytes, and a consistency proof from size 0 is refused.

use core::fmt;
use core::marker::PhantomData;

use sha3::{Digest as _, Sha3_256};
use subtle::ConstantTimeEq;

use crate::crypto::hash::{DIGEST_LEN, Digest};
use crate::{Error, Result};

/// Domain-separation prefix of a leaf hash (RFC 9162 §2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash (RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

/// Hash function plugged into the tree (RFC 9162 §2.1.1 with 0x00/0x01
/// prefixes).
pub trait MerkleHasher {
    /// Leaf hash: `H(0x00 ‖ data)`.
    fn hash_leaf(data: &[u8]) -> Digest;
    /// Interior node hash: `H(0x01 ‖ left ‖ right)`.
    fn hash_children(left: &Digest, right: &Digest) -> Digest;
    /// `H("")`, the root of the empty tree.
    fn empty_root() -> Digest;
}

/// SHA3-256, the hash medledger uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sha3Hasher;

impl MerkleHasher for Sha3Hasher {
    fn hash_leaf(data: &[u8]) -> Digest {
        let mut h = Sha3_256::new();
        h.update([LEAF_PREFIX]);
        h.update(data);
        Digest(h.finalize().into())
    }

    fn hash_children(left: &Digest, right: &Digest) -> Digest {
        let mut h = Sha3_256::new();
        h.update([NODE_PREFIX]);
        h.update(left.0);
        h.update(right.0);
        Digest(h.finalize().into())
    }

    fn empty_root() -> Digest {
        Digest(Sha3_256::digest([]).into())
    }
}

/// An append-only Merkle log storing every complete-subtree node so that
/// [`root_at`](Self::root_at) and proofs for any past size are computed
/// without rehashing leaves.
///
/// `levels[k][i]` is the hash of the complete subtree of `2^k` leaves that
/// starts at leaf `i·2^k` (level 0 holds the leaf hashes). A parent is
/// appended as soon as its right child completes, so level `k` always holds
/// `size >> k` nodes. The hash of any range the RFC 9162 recursion asks for
/// is then a fold over at most `log2(size)` stored nodes.
///
/// Memory: about 64 bytes per leaf (32 for the leaf hash, 32 in total for
/// the nodes above it), plus the usual `Vec` growth slack.
///
/// Costs: [`push`](Self::push) is amortised O(1) hashes (at most
/// `log2(size)`), [`root`](Self::root) and [`root_at`](Self::root_at) are
/// O(log n), proofs are O(log² n) hashes at worst.
pub struct MerkleLog<H: MerkleHasher = Sha3Hasher> {
    levels: Vec<Vec<Digest>>,
    _hasher: PhantomData<fn() -> H>,
}

impl<H: MerkleHasher> Default for MerkleLog<H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H: MerkleHasher> Clone for MerkleLog<H> {
    fn clone(&self) -> Self {
        Self {
            levels: self.levels.clone(),
            _hasher: PhantomData,
        }
    }
}

impl<H: MerkleHasher> fmt::Debug for MerkleLog<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MerkleLog")
            .field("size", &self.size())
            .field("root", &self.root())
            .finish()
    }
}

/// Reported when a stored node the invariants guarantee is missing. It
/// cannot happen unless the struct's invariants are broken.
const MISSING_NODE: Error = Error::Proof("internal error: Merkle subtree node missing");

/// `k`, the largest power of two strictly smaller than `n` (RFC 9162
/// §2.1.1). Requires `n >= 2`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

impl<H: MerkleHasher> MerkleLog<H> {
    /// An empty log.
    pub fn new() -> Self {
        Self {
            levels: Vec::new(),
            _hasher: PhantomData,
        }
    }

    /// Appends a leaf hash (already `H(0x00 ‖ data)`) and returns its index.
    /// Amortised O(1) hashes.
    pub fn push(&mut self, leaf_hash: Digest) -> u64 {
        let index = self.size();
        let mut node = leaf_hash;
        let mut level = 0usize;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            let Some(row) = self.levels.get_mut(level) else {
                // Unreachable: the row was just created.
                break;
            };
            row.push(node);
            match row.as_slice() {
                // The row now ends in a completed pair (its length is even).
                [.., left, right] if row.len() % 2 == 0 => {
                    node = H::hash_children(left, right);
                    level += 1;
                }
                _ => break,
            }
        }
        index
    }

    /// Hashes `data` with [`MerkleHasher::hash_leaf`] and appends it.
    pub fn push_leaf_data(&mut self, data: &[u8]) -> u64 {
        self.push(H::hash_leaf(data))
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// The current root (RFC 9162 MTH of all leaves), O(log n).
    pub fn root(&self) -> Digest {
        // Level k holds size >> k nodes; it has an odd count exactly when
        // bit k of the size is set, and then its last node is the complete
        // subtree for that bit. Fold them from the smallest (rightmost) up.
        let mut acc: Option<Digest> = None;
        for row in &self.levels {
            if row.len() % 2 == 1
                && let Some(peak) = row.last()
            {
                acc = Some(match acc {
                    None => *peak,
                    Some(right) => H::hash_children(peak, &right),
                });
            }
        }
        acc.unwrap_or_else(H::empty_root)
    }

    /// The root the log had when it held `size` leaves, O(log n).
    pub fn root_at(&self, size: u64) -> Result<Digest> {
        self.check_size("tree size", size)?;
        if size == 0 {
            return Ok(H::empty_root());
        }
        self.range_hash(0, size)
    }

    /// The hash of leaf `index`.
    pub fn leaf_hash(&self, index: u64) -> Result<Digest> {
        if index >= self.size() {
            return Err(Error::invalid(
                "leaf index",
                format!("{index} is not below the log size {}", self.size()),
            ));
        }
        self.node(0, index)
    }

    /// The RFC 9162 §2.1.3.1 inclusion proof `PATH(index, D[size])`, from
    /// the leaf's sibling up to the root's child.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Digest>> {
        self.check_size("tree size", size)?;
        if index >= size {
            return Err(Error::invalid(
                "leaf index",
                format!("{index} is not below the tree size {size}"),
            ));
        }
        // Walk the RFC recursion top-down, then reverse (the RFC appends
        // each sibling after the deeper part of the path).
        let mut path = Vec::new();
        let (mut start, mut len, mut m) = (0u64, size, index);
        while len > 1 {
            let k = split_point(len);
            if m < k {
                path.push(self.range_hash(start + k, len - k)?);
                len = k;
            } else {
                path.push(self.range_hash(start, k)?);
                start += k;
                m -= k;
                len -= k;
            }
        }
        path.reverse();
        Ok(path)
    }

    /// The RFC 9162 §2.1.4.1 consistency proof `PROOF(size1, D[size2])`.
    /// Empty when `size1 == size2`; an error if `size1 == 0`,
    /// `size1 > size2` or `size2` exceeds the log size.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Digest>> {
        self.check_size("size2", size2)?;
        if size1 == 0 {
            return Err(Error::invalid(
                "size1",
                "a consistency proof needs size1 > 0",
            ));
        }
        if size1 > size2 {
            return Err(Error::invalid(
                "size1",
                format!("{size1} is greater than size2 {size2}"),
            ));
        }
        // SUBPROOF(m, D[start..start+n], b), unrolled top-down.
        let mut proof = Vec::new();
        let (mut start, mut n, mut m, mut complete) = (0u64, size2, size1, true);
        while m != n {
            let k = split_point(n);
            if m <= k {
                proof.push(self.range_hash(start + k, n - k)?);
                n = k;
            } else {
                proof.push(self.range_hash(start, k)?);
                start += k;
                m -= k;
                n -= k;
                complete = false;
            }
        }
        if !complete {
            proof.push(self.range_hash(start, m)?);
        }
        proof.reverse();
        Ok(proof)
    }

    /// Drops every leaf with index `>= size` (and the nodes above them), so
    /// that the log is exactly as it was at `size`. Used to roll back an
    /// uncommitted block.
    pub fn truncate(&mut self, size: u64) -> Result<()> {
        self.check_size("tree size", size)?;
        for (k, row) in self.levels.iter_mut().enumerate() {
            let keep = u32::try_from(k)
                .ok()
                .and_then(|k| size.checked_shr(k))
                .unwrap_or(0);
            // keep <= row.len(), which is a usize.
            row.truncate(usize::try_from(keep).unwrap_or(usize::MAX));
        }
        while self.levels.last().is_some_and(Vec::is_empty) {
            self.levels.pop();
        }
        Ok(())
    }

    fn check_size(&self, what: &'static str, size: u64) -> Result<()> {
        if size > self.size() {
            return Err(Error::invalid(
                what,
                format!("{size} exceeds the log size {}", self.size()),
            ));
        }
        Ok(())
    }

    /// The stored complete subtree `levels[level][index]`.
    fn node(&self, level: u32, index: u64) -> Result<Digest> {
        let row = usize::try_from(level).ok().and_then(|l| self.levels.get(l));
        let index = usize::try_from(index).ok();
        row.zip(index)
            .and_then(|(row, i)| row.get(i))
            .copied()
            .ok_or(MISSING_NODE)
    }

    /// MTH of the `len >= 1` leaves starting at `start`, where `start` is a
    /// multiple of the smallest power of two `>= len` (true of every range
    /// the RFC 9162 recursion visits). The range splits into one complete
    /// subtree per set bit of `len`, largest first; they are folded from
    /// the right.
    fn range_hash(&self, start: u64, len: u64) -> Result<Digest> {
        let mut acc: Option<Digest> = None;
        let mut bits = len;
        while bits != 0 {
            let k = bits.trailing_zeros();
            bits &= bits - 1;
            // Leaves before this subtree: the bits of `len` above bit k.
            let before = ((len >> k) & !1) << k;
            let peak = self.node(k, (start + before) >> k)?;
            acc = Some(match acc {
                None => peak,
                Some(right) => H::hash_children(&peak, &right),
            });
        }
        acc.ok_or(MISSING_NODE)
    }
}

/// Verifies an RFC 9162 inclusion proof for `leaf_hash` at `index` in the
/// tree of `size` leaves with root `root`.
pub fn verify_inclusion<H: MerkleHasher>(
    leaf_hash: &Digest,
    index: u64,
    size: u64,
    proof: &[Digest],
    root: &Digest,
) -> Result<()> {
    let proof: Vec<&[u8]> = proof.iter().map(|d| d.0.as_slice()).collect();
    verify_inclusion_bytes::<H>(&leaf_hash.0, index, size, &proof, &root.0)
}

/// Verifies an RFC 9162 consistency proof between the tree of `size1`
/// leaves with root `root1` and the tree of `size2` leaves with root `root2`.
pub fn verify_consistency<H: MerkleHasher>(
    size1: u64,
    size2: u64,
    proof: &[Digest],
    root1: &Digest,
    root2: &Digest,
) -> Result<()> {
    let proof: Vec<&[u8]> = proof.iter().map(|d| d.0.as_slice()).collect();
    verify_consistency_bytes::<H>(size1, size2, &proof, &root1.0, &root2.0)
}

/// `bits.len(x)`: the number of bits needed to write `x`.
fn bit_len(x: u64) -> u32 {
    64 - x.leading_zeros()
}

/// Number of hashes in an inclusion proof for leaf `index` in a tree whose
/// last leaf is `last` (`index <= last`): the siblings below the point
/// where the paths to `index` and `last` diverge, plus one per left
/// sibling above it.
fn inclusion_len(index: u64, last: u64) -> u64 {
    let inner = bit_len(index ^ last);
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    u64::from(inner + border)
}

/// Number of hashes in a consistency proof, `0 < size1 < size2`.
fn consistency_len(size1: u64, size2: u64) -> u64 {
    // Skip the levels where the old tree ends in a complete subtree.
    let shift = size1.trailing_zeros();
    let len = inclusion_len((size1 - 1) >> shift, (size2 - 1) >> shift);
    // Unless size1 is a power of two, the proof starts with the old tree's
    // rightmost complete subtree (for a power of two it is root1 itself).
    if size1.is_power_of_two() {
        len
    } else {
        len + 1
    }
}

fn len_matches(proof: &[&[u8]], want: u64) -> bool {
    u64::try_from(proof.len()).is_ok_and(|got| got == want)
}

fn digest_from(bytes: &[u8], err: &'static str) -> Result<Digest> {
    <[u8; DIGEST_LEN]>::try_from(bytes)
        .map(Digest)
        .map_err(|_| Error::Proof(err))
}

fn ct_equal(computed: &Digest, expected: &[u8]) -> bool {
    // Slices of different lengths compare unequal.
    computed.0.as_slice().ct_eq(expected).into()
}

/// [`verify_inclusion`] over raw bytes. Hashes of any length are accepted
/// as input and rejected unless they are 32 bytes; the root comparison is
/// constant-time.
pub fn verify_inclusion_bytes<H: MerkleHasher>(
    leaf_hash: &[u8],
    index: u64,
    size: u64,
    proof: &[&[u8]],
    root: &[u8],
) -> Result<()> {
    if index >= size {
        return Err(Error::Proof("leaf index out of range"));
    }
    let leaf = digest_from(leaf_hash, "leaf hash is not 32 bytes")?;
    if !len_matches(proof, inclusion_len(index, size - 1)) {
        return Err(Error::Proof("proof has wrong length for index and size"));
    }
    // RFC 9162 §2.1.3.2.
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = leaf;
    for p in proof {
        let p = digest_from(p, "proof hash is not 32 bytes")?;
        if snode == 0 {
            return Err(Error::Proof("proof has wrong length for index and size"));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = H::hash_children(&p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = H::hash_children(&r, &p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(Error::Proof("proof has wrong length for index and size"));
    }
    if !ct_equal(&r, root) {
        return Err(Error::Proof("root mismatch"));
    }
    Ok(())
}

/// [`verify_consistency`] over raw bytes. When `size1 == size2` the proof
/// must be empty and the roots byte-equal (of any length); otherwise every
/// hash must be 32 bytes. Root comparisons are constant-time.
pub fn verify_consistency_bytes<H: MerkleHasher>(
    size1: u64,
    size2: u64,
    proof: &[&[u8]],
    root1: &[u8],
    root2: &[u8],
) -> Result<()> {
    if size1 == 0 {
        return Err(Error::Proof("size1 is zero"));
    }
    if size1 > size2 {
        return Err(Error::Proof("size1 > size2"));
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(Error::Proof("proof must be empty when size1 == size2"));
        }
        if !bool::from(root1.ct_eq(root2)) {
            return Err(Error::Proof("root mismatch"));
        }
        return Ok(());
    }
    if proof.is_empty() {
        return Err(Error::Proof("proof is empty"));
    }
    if !len_matches(proof, consistency_len(size1, size2)) {
        return Err(Error::Proof("proof has wrong length for size1 and size2"));
    }
    // RFC 9162 §2.1.4.2.
    let mut rest = proof.iter();
    let seed = if size1.is_power_of_two() {
        digest_from(root1, "root1 is not 32 bytes")?
    } else {
        let first = rest.next().ok_or(Error::Proof("proof is empty"))?;
        digest_from(first, "proof hash is not 32 bytes")?
    };
    let (mut fnode, mut snode) = (size1 - 1, size2 - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (seed, seed);
    for c in rest {
        let c = digest_from(c, "proof hash is not 32 bytes")?;
        if snode == 0 {
            return Err(Error::Proof("proof has wrong length for size1 and size2"));
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = H::hash_children(&c, &fr);
            sr = H::hash_children(&c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = H::hash_children(&sr, &c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(Error::Proof("proof has wrong length for size1 and size2"));
    }
    let ok1 = ct_equal(&fr, root1);
    let ok2 = ct_equal(&sr, root2);
    if !ok1 {
        return Err(Error::Proof("root1 mismatch"));
    }
    if !ok2 {
        return Err(Error::Proof("root2 mismatch"));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::LazyLock;

    type Log = MerkleLog<Sha3Hasher>;
    type H = Sha3Hasher;

    fn leaf(i: u64) -> Digest {
        H::hash_leaf(&i.to_le_bytes())
    }

    fn log_of(n: u64) -> Log {
        let mut log = Log::new();
        for i in 0..n {
            assert_eq!(log.push(leaf(i)), i);
        }
        log
    }

    /// A shared log of 300 distinct leaves; any smaller tree is a prefix.
    static LOG300: LazyLock<Log> = LazyLock::new(|| log_of(300));

    fn k_of(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// MTH straight from RFC 9162 §2.1.1.
    fn naive_mth(d: &[Digest]) -> Digest {
        match d.len() {
            0 => H::empty_root(),
            1 => d[0],
            n => {
                let k = k_of(n);
                H::hash_children(&naive_mth(&d[..k]), &naive_mth(&d[k..]))
            }
        }
    }

    /// PATH straight from RFC 9162 §2.1.3.1.
    fn naive_path(m: usize, d: &[Digest]) -> Vec<Digest> {
        let n = d.len();
        if n <= 1 {
            return vec![];
        }
        let k = k_of(n);
        if m < k {
            let mut p = naive_path(m, &d[..k]);
            p.push(naive_mth(&d[k..]));
            p
        } else {
            let mut p = naive_path(m - k, &d[k..]);
            p.push(naive_mth(&d[..k]));
            p
        }
    }

    /// SUBPROOF straight from RFC 9162 §2.1.4.1.
    fn naive_subproof(m: usize, d: &[Digest], b: bool) -> Vec<Digest> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![naive_mth(d)] };
        }
        let k = k_of(n);
        if m <= k {
            let mut p = naive_subproof(m, &d[..k], b);
            p.push(naive_mth(&d[k..]));
            p
        } else {
            let mut p = naive_subproof(m - k, &d[k..], false);
            p.push(naive_mth(&d[..k]));
            p
        }
    }

    /// Sides of the siblings of an inclusion proof, leaf upward
    /// (`true` = sibling on the left). The verifier's computation depends
    /// only on this.
    fn inclusion_shape(mut m: u64, mut n: u64) -> Vec<bool> {
        let mut v = vec![];
        while n > 1 {
            let k = split_point(n);
            if m < k {
                v.push(false);
                n = k;
            } else {
                v.push(true);
                m -= k;
                n -= k;
            }
        }
        v.reverse();
        v
    }

    /// (seed is root1, sides of the remaining proof hashes bottom-up) for
    /// a consistency proof with `0 < m < n`.
    fn consistency_shape(mut m: u64, mut n: u64) -> (bool, Vec<bool>) {
        let (mut v, mut complete) = (vec![], true);
        while m != n {
            let k = split_point(n);
            if m <= k {
                v.push(false);
                n = k;
            } else {
                v.push(true);
                m -= k;
                n -= k;
                complete = false;
            }
        }
        v.reverse();
        (complete, v)
    }

    fn flip(d: &Digest, bit: usize) -> Digest {
        let mut out = *d;
        out.0[bit / 8] ^= 1 << (bit % 8);
        out
    }

    #[test]
    fn sha3_hasher_matches_plain_sha3() {
        let mut pre = vec![0x00u8];
        pre.extend_from_slice(b"abc");
        assert_eq!(H::hash_leaf(b"abc").0, crate::crypto::hash::sha3_256(&pre));
        let (l, r) = (leaf(1), leaf(2));
        let mut node = vec![0x01u8];
        node.extend_from_slice(&l.0);
        node.extend_from_slice(&r.0);
        assert_eq!(
            H::hash_children(&l, &r).0,
            crate::crypto::hash::sha3_256(&node)
        );
        assert_eq!(H::empty_root().0, crate::crypto::hash::sha3_256(b""));
    }

    #[test]
    fn roots_match_naive_mth_up_to_70() {
        let leaves: Vec<Digest> = (0..70).map(leaf).collect();
        let mut log = Log::new();
        assert_eq!(log.root(), H::empty_root());
        assert_eq!(log.root_at(0).unwrap(), H::empty_root());
        for n in 1..=70usize {
            log.push(leaves[n - 1]);
            let want = naive_mth(&leaves[..n]);
            assert_eq!(log.root(), want, "root() at {n}");
            for m in 0..=n {
                assert_eq!(
                    log.root_at(m as u64).unwrap(),
                    naive_mth(&leaves[..m]),
                    "root_at({m}) in a log of {n}"
                );
            }
        }
        assert!(log.root_at(71).is_err());
        assert_eq!(log.leaf_hash(69).unwrap(), leaves[69]);
        assert!(log.leaf_hash(70).is_err());
    }

    #[test]
    fn proofs_match_naive_rfc_up_to_40() {
        let leaves: Vec<Digest> = (0..40).map(leaf).collect();
        let log = log_of(40);
        for n in 1..=40usize {
            for m in 0..n {
                assert_eq!(
                    log.inclusion_proof(m as u64, n as u64).unwrap(),
                    naive_path(m, &leaves[..n]),
                    "PATH({m}, {n})"
                );
                assert_eq!(
                    log.consistency_proof((m + 1) as u64, n as u64).unwrap(),
                    naive_subproof(m + 1, &leaves[..n], true),
                    "PROOF({}, {n})",
                    m + 1
                );
            }
        }
        assert!(log.inclusion_proof(3, 3).is_err());
        assert!(log.inclusion_proof(0, 0).is_err());
        assert!(log.inclusion_proof(0, 41).is_err());
        assert!(log.consistency_proof(0, 5).is_err());
        assert!(log.consistency_proof(0, 0).is_err());
        assert!(log.consistency_proof(6, 5).is_err());
        assert!(log.consistency_proof(5, 41).is_err());
        assert!(log.consistency_proof(40, 40).unwrap().is_empty());
    }

    #[test]
    fn proof_lengths_match_formula() {
        let log = &*LOG300;
        for n in 1..=130u64 {
            for m in 0..n {
                let p = log.inclusion_proof(m, n).unwrap();
                assert_eq!(p.len() as u64, inclusion_len(m, n - 1), "({m}, {n})");
                if m >= 1 {
                    let c = log.consistency_proof(m, n).unwrap();
                    assert_eq!(c.len() as u64, consistency_len(m, n), "({m}, {n})");
                }
            }
        }
    }

    #[test]
    fn truncate_then_push_equals_fresh_log() {
        for (n, t) in [
            (0u64, 0u64),
            (1, 0),
            (1, 1),
            (7, 4),
            (8, 5),
            (33, 1),
            (64, 32),
            (100, 63),
            (100, 0),
        ] {
            let mut log = log_of(n);
            log.truncate(t).unwrap();
            assert_eq!(log.size(), t);
            let mut fresh = log_of(t);
            assert_eq!(log.root(), fresh.root());
            for i in 0..50u64 {
                let d = H::hash_leaf(&(1_000_000 + i).to_le_bytes());
                assert_eq!(log.push(d), fresh.push(d));
            }
            for s in 0..=log.size() {
                assert_eq!(log.root_at(s).unwrap(), fresh.root_at(s).unwrap());
            }
            assert_eq!(log.root(), fresh.root());
            assert_eq!(log.levels, fresh.levels);
            let size = log.size();
            assert_eq!(
                log.inclusion_proof(t.min(size - 1), size).unwrap(),
                fresh.inclusion_proof(t.min(size - 1), size).unwrap()
            );
        }
        let mut log = log_of(5);
        assert!(log.truncate(6).is_err());
        log.truncate(5).unwrap();
        assert_eq!(log.size(), 5);
    }

    #[test]
    fn equal_sizes_and_edge_cases() {
        let log = &*LOG300;
        let r5 = log.root_at(5).unwrap();
        verify_consistency::<H>(5, 5, &[], &r5, &r5).unwrap();
        assert!(verify_consistency::<H>(5, 5, &[r5], &r5, &r5).is_err());
        assert!(verify_consistency::<H>(0, 0, &[], &r5, &r5).is_err());
        assert!(verify_consistency::<H>(0, 5, &[], &r5, &r5).is_err());
        assert!(verify_consistency::<H>(6, 5, &[], &r5, &r5).is_err());
        assert!(verify_consistency::<H>(4, 5, &[], &r5, &r5).is_err());
        // One-leaf tree: an empty proof verifies iff leaf == root.
        let l0 = log.leaf_hash(0).unwrap();
        verify_inclusion::<H>(&l0, 0, 1, &[], &l0).unwrap();
        assert!(verify_inclusion::<H>(&l0, 0, 1, &[], &r5).is_err());
        assert!(verify_inclusion::<H>(&l0, 1, 1, &[], &l0).is_err());
        assert!(verify_inclusion::<H>(&l0, 0, 0, &[], &l0).is_err());
        // Non-32-byte inputs.
        assert!(verify_inclusion_bytes::<H>(&l0.0[..31], 0, 1, &[], &l0.0[..31]).is_err());
        verify_consistency_bytes::<H>(1, 1, &[], b"abc", b"abc").unwrap();
        assert!(verify_consistency_bytes::<H>(1, 1, &[], b"abc", b"abd").is_err());
        assert!(verify_consistency_bytes::<H>(1, 1, &[], b"abc", b"abcd").is_err());
    }

    /// Sizes or indices near `x`, and a few far ones.
    fn near(x: u64) -> [u64; 10] {
        let below = |d: u64| x.saturating_sub(d);
        [
            below(2),
            below(1),
            x + 1,
            x + 2,
            x ^ 1,
            x * 2,
            x / 2,
            0,
            x | 0xff,
            x + 1024,
        ]
    }

    fn inclusion_case() -> impl Strategy<Value = (u64, u64)> {
        (1u64..=300).prop_flat_map(|size| (0..size, Just(size)))
    }

    fn consistency_case() -> impl Strategy<Value = (u64, u64)> {
        (1u64..=300).prop_flat_map(|size2| (1..=size2, Just(size2)))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn inclusion_proofs_verify_and_bind((index, size) in inclusion_case()) {
            let log = &*LOG300;
            let leaf = log.leaf_hash(index).unwrap();
            let root = log.root_at(size).unwrap();
            let proof = log.inclusion_proof(index, size).unwrap();
            verify_inclusion::<H>(&leaf, index, size, &proof, &root).unwrap();

            // Another (index, size) verifies iff it is in range and the
            // verifier performs exactly the same computation, i.e. the
            // proof has the same shape. In particular, a different index
            // with the same size always fails (its path differs).
            let shape = inclusion_shape(index, size);
            for i2 in near(index).into_iter().chain([index]) {
                for s2 in near(size).into_iter().chain([size]) {
                    if (i2, s2) == (index, size) {
                        continue;
                    }
                    let ok = verify_inclusion::<H>(&leaf, i2, s2, &proof, &root).is_ok();
                    let same = i2 < s2 && inclusion_shape(i2, s2) == shape;
                    prop_assert_eq!(ok, same, "({}, {}) vs ({}, {})", i2, s2, index, size);
                    if s2 == size {
                        prop_assert!(!ok);
                    }
                }
            }
        }

        #[test]
        fn consistency_proofs_verify_and_bind((size1, size2) in consistency_case()) {
            let log = &*LOG300;
            let root1 = log.root_at(size1).unwrap();
            let root2 = log.root_at(size2).unwrap();
            let proof = log.consistency_proof(size1, size2).unwrap();
            verify_consistency::<H>(size1, size2, &proof, &root1, &root2).unwrap();

            // Other sizes verify iff the verifier does the same computation.
            let shape = (size1 < size2).then(|| consistency_shape(size1, size2));
            for a in near(size1).into_iter().chain([size1]) {
                for b in near(size2).into_iter().chain([size2]) {
                    if (a, b) == (size1, size2) {
                        continue;
                    }
                    let ok = verify_consistency::<H>(a, b, &proof, &root1, &root2).is_ok();
                    let same = match &shape {
                        // Equal sizes: empty proof, equal roots; any a == b > 0 passes.
                        None => a != 0 && a == b,
                        Some(s) => a != 0 && a < b && consistency_shape(a, b) == *s,
                    };
                    prop_assert_eq!(ok, same, "({}, {}) vs ({}, {})", a, b, size1, size2);
                }
            }
        }
    }

    proptest! {
        // Each case runs a few thousand verifications (all 256 bits of
        // every input), which is slow in a debug build: fewer cases.
        #![proptest_config(ProptestConfig::with_cases(16))]

        #[test]
        fn inclusion_bit_flips_fail((index, size) in inclusion_case()) {
            let log = &*LOG300;
            let leaf = log.leaf_hash(index).unwrap();
            let root = log.root_at(size).unwrap();
            let proof = log.inclusion_proof(index, size).unwrap();
            verify_inclusion::<H>(&leaf, index, size, &proof, &root).unwrap();

            // Every single-bit flip fails.
            for bit in 0..256 {
                prop_assert!(verify_inclusion::<H>(&flip(&leaf, bit), index, size, &proof, &root).is_err());
                prop_assert!(verify_inclusion::<H>(&leaf, index, size, &proof, &flip(&root, bit)).is_err());
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i] = flip(&bad[i], bit);
                    prop_assert!(verify_inclusion::<H>(&leaf, index, size, &bad, &root).is_err());
                }
            }
        }

        #[test]
        fn consistency_bit_flips_fail((size1, size2) in consistency_case()) {
            let log = &*LOG300;
            let root1 = log.root_at(size1).unwrap();
            let root2 = log.root_at(size2).unwrap();
            let proof = log.consistency_proof(size1, size2).unwrap();
            verify_consistency::<H>(size1, size2, &proof, &root1, &root2).unwrap();

            for bit in 0..256 {
                prop_assert!(verify_consistency::<H>(size1, size2, &proof, &flip(&root1, bit), &root2).is_err());
                prop_assert!(verify_consistency::<H>(size1, size2, &proof, &root1, &flip(&root2, bit)).is_err());
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i] = flip(&bad[i], bit);
                    prop_assert!(verify_consistency::<H>(size1, size2, &bad, &root1, &root2).is_err());
                }
            }
        }

        #[test]
        fn truncate_roundtrip(n in 0u64..200, cut in 0u64..200, extra in 0u64..70) {
            let cut = cut.min(n);
            let mut log = log_of(n);
            log.truncate(cut).unwrap();
            let mut fresh = log_of(cut);
            for i in 0..extra {
                let d = H::hash_leaf(&(7_000 + i).to_le_bytes());
                log.push(d);
                fresh.push(d);
            }
            prop_assert_eq!(log.size(), cut + extra);
            prop_assert_eq!(log.root(), fresh.root());
            for s in 0..=log.size() {
                prop_assert_eq!(log.root_at(s).unwrap(), fresh.root_at(s).unwrap());
            }
        }
    }
}
