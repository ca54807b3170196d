//! Merkle proof verifiers on arbitrary input never panic, and a real proof
//! verifies exactly when nothing was XORed into it.
//!
//! Input: `index u64 ‖ size u64 ‖ k u8 ‖ k×[32] ‖ root[32] ‖ leaf[32]`
//! (`k` taken mod 65; missing bytes read as zero).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use medledger::crypto::hash::Digest;
use medledger::log::merkle::{
    MerkleLog, Sha3Hasher, verify_consistency, verify_consistency_bytes, verify_inclusion,
    verify_inclusion_bytes,
};

const MAX_LEAVES: u64 = 300;

fn log() -> &'static MerkleLog {
    static LOG: OnceLock<MerkleLog> = OnceLock::new();
    LOG.get_or_init(|| {
        let mut l: MerkleLog = MerkleLog::new();
        for i in 0..MAX_LEAVES {
            l.push_leaf_data(&i.to_le_bytes());
        }
        l
    })
}

struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for (i, b) in out.iter_mut().enumerate() {
            *b = self.data.get(self.pos + i).copied().unwrap_or(0);
        }
        self.pos += N;
        out
    }
}

fn xor(d: &Digest, mask: &[u8; 32]) -> Digest {
    let mut out = d.0;
    for (o, m) in out.iter_mut().zip(mask) {
        *o ^= m;
    }
    Digest(out)
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input { data, pos: 0 };
    let index = u64::from_le_bytes(inp.take());
    let size = u64::from_le_bytes(inp.take());
    let k = usize::from(inp.take::<1>()[0]) % 65;
    let hashes: Vec<[u8; 32]> = (0..k).map(|_| inp.take()).collect();
    let root: [u8; 32] = inp.take();
    let leaf: [u8; 32] = inp.take();
    let proof: Vec<Digest> = hashes.iter().copied().map(Digest).collect();

    // Arbitrary proofs: any verdict, no panic.
    let _ = verify_inclusion::<Sha3Hasher>(&Digest(leaf), index, size, &proof, &Digest(root));
    let _ = verify_consistency::<Sha3Hasher>(index, size, &proof, &Digest(leaf), &Digest(root));
    // Raw-bytes variants with hashes of any length: the tail of the input
    // cut into pieces whose lengths the input chooses.
    let tail = data.get(17..).unwrap_or_default();
    let mut pieces: Vec<&[u8]> = Vec::new();
    let mut rest = tail;
    while let Some((&n, r)) = rest.split_first() {
        let n = usize::from(n % 40).min(r.len());
        let (p, r) = r.split_at(n);
        pieces.push(p);
        rest = r;
    }
    let (a, b) = (
        pieces.first().copied().unwrap_or_default(),
        pieces.last().copied().unwrap_or_default(),
    );
    let _ = verify_inclusion_bytes::<Sha3Hasher>(a, index, size, &pieces, b);
    let _ = verify_consistency_bytes::<Sha3Hasher>(index, size, &pieces, a, b);

    // A real log of n leaves: real proofs verify; XORing the fuzz bytes
    // into proof, roots or leaf is caught unless every XORed byte is zero.
    let log = log();
    let n = size % MAX_LEAVES + 1;
    let zero = [0u8; 32];
    let mask = |i: usize| hashes.get(i).unwrap_or(&zero);

    let i = index % n;
    let real_root = log.root_at(n).unwrap();
    let real_leaf = log.leaf_hash(i).unwrap();
    let real = log.inclusion_proof(i, n).unwrap();
    assert!(verify_inclusion::<Sha3Hasher>(&real_leaf, i, n, &real, &real_root).is_ok());
    let bad: Vec<Digest> = real
        .iter()
        .enumerate()
        .map(|(j, d)| xor(d, mask(j)))
        .collect();
    // A one-leaf tree has an empty proof and the check is leaf == root: the
    // same mask on both keeps them equal, and that is right.
    let all_zero = if real.is_empty() {
        leaf == root
    } else {
        (0..real.len()).all(|j| *mask(j) == zero) && root == zero && leaf == zero
    };
    let ok = verify_inclusion::<Sha3Hasher>(
        &xor(&real_leaf, &leaf),
        i,
        n,
        &bad,
        &xor(&real_root, &root),
    )
    .is_ok();
    assert_eq!(ok, all_zero, "inclusion verdict for leaf {i} of {n}");

    let m = index % n + 1;
    let root1 = log.root_at(m).unwrap();
    let real = log.consistency_proof(m, n).unwrap();
    assert!(verify_consistency::<Sha3Hasher>(m, n, &real, &root1, &real_root).is_ok());
    let bad: Vec<Digest> = real
        .iter()
        .enumerate()
        .map(|(j, d)| xor(d, mask(j)))
        .collect();
    // For m == n the proof is empty and the check is root1 == root2: the
    // same mask on both roots keeps them equal, and that is right.
    let all_zero = if m == n {
        leaf == root
    } else {
        (0..real.len()).all(|j| *mask(j) == zero) && root == zero && leaf == zero
    };
    let ok =
        verify_consistency::<Sha3Hasher>(m, n, &bad, &xor(&root1, &leaf), &xor(&real_root, &root))
            .is_ok();
    assert_eq!(ok, all_zero, "consistency verdict {m} -> {n}");
});
