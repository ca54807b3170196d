//! Ed25519 signatures under one verification policy.
//!
//! **Policy** (docs/FORMAT.md §4.4): a signature is valid iff
//! `ed25519_dalek::VerifyingKey::verify_strict` accepts it: canonical `S`,
//! canonical `R` that is not of small order, public key not of small order,
//! cofactorless equation. Public keys are additionally required to be
//! canonical and torsion-free when a participant registers
//! ([`check_public_key`]).
//!
//! [`verify_batch`] is the fast path. It only accepts keys that passed the
//! registration check (the [`CheckedKey`] type), rejects up front what
//! strict verification rejects by encoding (non-canonical or small-order
//! `R`), runs ed25519-dalek's batch equation, and on failure verifies one by
//! one to name the first bad signature. Large batches are cut into chunks of
//! [`BATCH_CHUNK`] items, one batch equation each, verified on all cores;
//! the cut depends only on the number of items, never on the machine. For every signature an honest signer
//! produces (torsion-free `R`) its verdict equals strict verification's.
//! The one known gap: a registered signer who crafts `R` with a small-order
//! component can make the batch accept what strict verification rejects
//! (CCTV vector 388). ed25519-dalek derives the batch coefficients from the
//! inputs, so the batch verdict is a deterministic function of the batch —
//! every node replaying the same block reaches the same verdict, as the
//! chunks are the same on every node — but a
//! signer can grind for it. Submission always verifies strictly, so such a
//! transaction reaches a sealed block only through a dishonest sequencer
//! and quorum; audits use strict mode (`VerifyOptions::batch_signatures =
//! false`). See docs/FORMAT.md §4.4.

use core::fmt;
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signer, VerifyingKey};

use crate::{Error, Result};

/// Length of an Ed25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// An Ed25519 signature as it appears in the format.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; SIGNATURE_LEN]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex: String = self.0.iter().take(8).map(|b| format!("{b:02x}")).collect();
        write!(f, "Signature({hex}…)")
    }
}

/// An Ed25519 signing key. Zeroized on drop; `Debug` never shows it.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Self {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        super::random_bytes(seed.as_mut());
        Self::from_seed(&seed)
    }

    /// The key for a 32-byte RFC 8032 seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// The 32-byte seed (only for encrypted export).
    pub(crate) fn seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.0.to_bytes())
    }

    /// The public key bytes.
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.0.verifying_key().to_bytes()
    }

    /// Signs `message` (RFC 8032 Ed25519, deterministic).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }
}

/// A public key that passed [`check_public_key`]: canonical, not of small
/// order, torsion-free. Only such keys enter batch verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckedKey(VerifyingKey);

impl CheckedKey {
    /// The key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }

    /// Strict verification under this key.
    pub fn verify_strict(&self, message: &[u8], sig: &Signature) -> Result<()> {
        verify_strict(&self.0, message, sig)
    }
}

/// Checks a public key for registration: a canonical encoding of a point
/// that is not of small order and has no small-order component.
pub fn check_public_key(bytes: &[u8; PUBLIC_KEY_LEN]) -> Result<CheckedKey> {
    let point = CompressedEdwardsY(*bytes)
        .decompress()
        .ok_or(Error::WeakKey("Ed25519 key is not a curve point"))?;
    if point.compress().to_bytes() != *bytes {
        return Err(Error::WeakKey("Ed25519 key encoding is not canonical"));
    }
    if point.is_small_order() {
        return Err(Error::WeakKey("Ed25519 key is of small order"));
    }
    if !point.is_torsion_free() {
        return Err(Error::WeakKey("Ed25519 key has a small-order component"));
    }
    VerifyingKey::from_bytes(bytes)
        .map(CheckedKey)
        .map_err(|_| Error::WeakKey("Ed25519 key rejected"))
}

/// Strict single verification (the policy above).
pub fn verify_strict(key: &VerifyingKey, message: &[u8], sig: &Signature) -> Result<()> {
    let s = ed25519_dalek::Signature::from_bytes(&sig.0);
    key.verify_strict(message, &s)
        .map_err(|_| Error::BadSignature("Ed25519 strict verification failed"))
}

/// True when `R` would be refused by strict verification on encoding alone:
/// a non-canonical encoding (`y ≥ p`, or a sign bit on a point with
/// `x = 0`), or one of the eight points of small order. Checked on the bytes
/// (decompressing costs about as much as the batch saves); an `R` that is
/// not a curve point is left to the batch, which then fails and falls back
/// to strict verification.
fn r_rejected_by_encoding(sig: &Signature) -> bool {
    let mut r = [0u8; 32];
    r.copy_from_slice(&sig.0[..32]);
    let sign = r[31] & 0x80 != 0;
    let mut y = r;
    y[31] &= 0x7f;
    // p = 2^255 - 19: y ≥ p iff y[31] = 0x7f, y[1..31] all 0xff, y[0] ≥ 0xed.
    let y_ge_p = y[31] == 0x7f && y[1..31].iter().all(|b| *b == 0xff) && y[0] >= 0xed;
    // x = 0 exactly for y = 1 and y = p - 1; a sign bit there is not canonical.
    let mut one = [0u8; 32];
    one[0] = 1;
    let mut p_minus_1 = [0xffu8; 32];
    p_minus_1[0] = 0xec;
    p_minus_1[31] = 0x7f;
    let x_zero = y == one || y == p_minus_1;
    y_ge_p || (sign && x_zero) || small_order_encodings().contains(&r)
}

/// Canonical encodings of the eight points of small order.
fn small_order_encodings() -> &'static [[u8; 32]; 8] {
    static TABLE: std::sync::OnceLock<[[u8; 32]; 8]> = std::sync::OnceLock::new();
    TABLE
        .get_or_init(|| curve25519_dalek::constants::EIGHT_TORSION.map(|p| p.compress().to_bytes()))
}

/// One item of a batch: message, signature and key.
pub struct BatchItem<'a> {
    /// Signed bytes.
    pub message: &'a [u8],
    /// The signature.
    pub signature: Signature,
    /// The signer's (registered) key.
    pub key: CheckedKey,
}

/// Items per chunk of a parallel [`verify_batch`]: batches of at least two
/// chunks are split into chunks of this many items (the last one shorter).
pub const BATCH_CHUNK: usize = 256;

/// Verifies many signatures at once. `Ok(())` when all are valid; otherwise
/// `Err(i)` with the index of the first invalid one.
///
/// A batch of at least `2 × BATCH_CHUNK` items is split into chunks of
/// [`BATCH_CHUNK`] items, verified on every core the OS offers
/// ([`std::thread::available_parallelism`]); see [`verify_batch_on`].
pub fn verify_batch(items: &[BatchItem<'_>]) -> core::result::Result<(), usize> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    verify_batch_on(items, threads)
}

/// [`verify_batch`] on at most `threads` threads (the calling one
/// included). The chunks depend on the number of items only, never on
/// `threads`: each chunk's batch equation is a deterministic function of
/// its items, so the verdict and the index are the same on every machine.
/// The index is that of the first invalid item in `items`' order: every
/// chunk before the first failing one passed, and a failing chunk names
/// its first invalid item.
pub fn verify_batch_on(items: &[BatchItem<'_>], threads: usize) -> core::result::Result<(), usize> {
    if items.len() < 2 * BATCH_CHUNK {
        return verify_chunk(items);
    }
    let chunks: Vec<&[BatchItem<'_>]> = items.chunks(BATCH_CHUNK).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    // Each thread takes the next unverified chunk until none is left, and
    // returns the failing chunks it saw as (chunk, index in the chunk).
    let work = || {
        let mut failed = Vec::new();
        loop {
            let c = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(chunk) = chunks.get(c) else {
                return failed;
            };
            if let Err(i) = verify_chunk(chunk) {
                failed.push((c, i));
            }
        }
    };
    let failed = std::thread::scope(|s| {
        // A thread the OS refuses to start leaves its share to the others.
        let helpers: Vec<_> = (1..threads.min(chunks.len()))
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(s, work).ok())
            .collect();
        let mut failed = work();
        for h in helpers {
            // A helper that panicked verified nothing it can vouch for.
            failed.extend(h.join().unwrap_or_else(|_| vec![(0, 0)]));
        }
        failed
    });
    match failed.into_iter().min() {
        None => Ok(()),
        Some((c, i)) => Err(c * BATCH_CHUNK + i),
    }
}

/// One batch equation over `items`, then strict checks to locate a failure.
fn verify_chunk(items: &[BatchItem<'_>]) -> core::result::Result<(), usize> {
    if let Some(i) = items
        .iter()
        .position(|it| r_rejected_by_encoding(&it.signature))
    {
        // Anything before i may still be bad: locate the first one exactly.
        return Err(first_invalid(items.get(..i).unwrap_or_default()).unwrap_or(i));
    }
    let msgs: Vec<&[u8]> = items.iter().map(|it| it.message).collect();
    let sigs: Vec<ed25519_dalek::Signature> = items
        .iter()
        .map(|it| ed25519_dalek::Signature::from_bytes(&it.signature.0))
        .collect();
    let keys: Vec<VerifyingKey> = items.iter().map(|it| it.key.0).collect();
    if ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok() {
        return Ok(());
    }
    // The batch failed: find the culprit with strict checks. If every item
    // passes strictly (impossible for well-formed input), fail closed on 0.
    Err(first_invalid(items).unwrap_or(0))
}

fn first_invalid(items: &[BatchItem<'_>]) -> Option<usize> {
    items
        .iter()
        .position(|it| it.key.verify_strict(it.message, &it.signature).is_err())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_batch_locate() {
        let keys: Vec<SigningKey> = (0..5u8)
            .map(|i| SigningKey::from_seed(&[i + 1; 32]))
            .collect();
        let msgs: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 10]).collect();
        let mut items: Vec<BatchItem> = keys
            .iter()
            .zip(&msgs)
            .map(|(k, m)| BatchItem {
                message: m,
                signature: k.sign(m),
                key: check_public_key(&k.public_key()).unwrap(),
            })
            .collect();
        assert_eq!(verify_batch(&items), Ok(()));
        for it in &items {
            it.key.verify_strict(it.message, &it.signature).unwrap();
        }
        items[3].signature.0[40] ^= 1;
        assert_eq!(verify_batch(&items), Err(3));
        assert!(format!("{:?}", keys[0]).contains("redacted"));
    }

    #[test]
    fn registration_rejects_small_order_keys() {
        // The identity point (y = 1) is of small order.
        let mut id = [0u8; 32];
        id[0] = 1;
        assert!(matches!(check_public_key(&id), Err(Error::WeakKey(_))));
    }

    /// `n` valid items from four signers, messages distinct per index.
    fn signed(n: usize) -> (Vec<Vec<u8>>, Vec<(Signature, CheckedKey)>) {
        let keys: Vec<SigningKey> = (1..=4u8).map(|i| SigningKey::from_seed(&[i; 32])).collect();
        let msgs: Vec<Vec<u8>> = (0..n)
            .map(|i| format!("message {i}").into_bytes())
            .collect();
        let sigs = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let k = &keys[i % keys.len()];
                (k.sign(m), check_public_key(&k.public_key()).unwrap())
            })
            .collect();
        (msgs, sigs)
    }

    fn items<'a>(msgs: &'a [Vec<u8>], sigs: &[(Signature, CheckedKey)]) -> Vec<BatchItem<'a>> {
        msgs.iter()
            .zip(sigs)
            .map(|(m, (signature, key))| BatchItem {
                message: m,
                signature: *signature,
                key: *key,
            })
            .collect()
    }

    /// The first item strict verification refuses, as one-by-one checks see it.
    fn strict_first(items: &[BatchItem<'_>]) -> core::result::Result<(), usize> {
        first_invalid(items).map_or(Ok(()), Err)
    }

    #[test]
    fn parallel_batches_name_the_first_bad_item_across_chunk_boundaries() {
        let n = 3 * BATCH_CHUNK + 5;
        let (msgs, good) = signed(n);
        for threads in [1, 2, 3, 8] {
            assert_eq!(verify_batch_on(&items(&msgs, &good), threads), Ok(()));
        }
        assert_eq!(verify_batch(&items(&msgs, &good)), Ok(()));
        let last = n - 1;
        let bad_sets: [&[usize]; 9] = [
            &[0],
            &[BATCH_CHUNK - 1],
            &[BATCH_CHUNK],
            &[2 * BATCH_CHUNK - 1],
            &[2 * BATCH_CHUNK],
            &[last],
            // Two bad items: the earlier one is named, whichever chunk a
            // thread finishes first.
            &[last, BATCH_CHUNK + 7],
            &[2 * BATCH_CHUNK + 1, 2 * BATCH_CHUNK],
            &[BATCH_CHUNK - 1, BATCH_CHUNK, 3 * BATCH_CHUNK],
        ];
        for bad in bad_sets {
            let mut sigs = good.clone();
            for &i in bad {
                sigs[i].0.0[40] ^= 1;
            }
            let it = items(&msgs, &sigs);
            let want = Err(*bad.iter().min().unwrap());
            assert_eq!(strict_first(&it), want);
            for threads in [1, 2, 3, 8] {
                assert_eq!(verify_batch_on(&it, threads), want, "{bad:?} on {threads}");
            }
            assert_eq!(verify_batch(&it), want, "{bad:?}");
        }
    }

    #[test]
    fn an_r_refused_by_encoding_is_located_within_its_chunk() {
        let n = 2 * BATCH_CHUNK + 9;
        let (msgs, good) = signed(n);
        // The identity point (y = 1) as R: refused before the batch equation.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        for (r_at, bad_at, want) in [
            // A bad S before the refused R, in the same chunk: the S is named.
            (BATCH_CHUNK + 3, BATCH_CHUNK, BATCH_CHUNK),
            // The refused R first, in an earlier chunk than the bad S.
            (BATCH_CHUNK - 1, BATCH_CHUNK, BATCH_CHUNK - 1),
            // The refused R is the first item of the last chunk.
            (2 * BATCH_CHUNK, n - 1, 2 * BATCH_CHUNK),
        ] {
            let mut sigs = good.clone();
            sigs[r_at].0.0[..32].copy_from_slice(&identity);
            sigs[bad_at].0.0[40] ^= 1;
            let it = items(&msgs, &sigs);
            assert_eq!(strict_first(&it), Err(want));
            for threads in [1, 2, 8] {
                assert_eq!(verify_batch_on(&it, threads), Err(want), "R at {r_at}");
            }
        }
    }

    #[test]
    fn a_batch_below_two_chunks_names_its_last_bad_item() {
        let n = 2 * BATCH_CHUNK - 1;
        let (msgs, mut sigs) = signed(n);
        sigs[n - 1].0.0[40] ^= 1;
        let it = items(&msgs, &sigs);
        assert_eq!(verify_batch_on(&it, 8), Err(n - 1));
        assert_eq!(verify_chunk(&it), Err(n - 1));
    }
}
