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
//! one to name the first bad signature. For every signature an honest signer
//! produces (torsion-free `R`) its verdict equals strict verification's.
//! The one known gap: a registered signer who crafts `R` with a small-order
//! component can make the batch accept what strict verification rejects
//! (CCTV vector 388). ed25519-dalek derives the batch coefficients from the
//! inputs, so the batch verdict is a deterministic function of the batch —
//! every node replaying the same block reaches the same verdict — but a
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

/// Verifies many signatures at once. `Ok(())` when all are valid; otherwise
/// `Err(i)` with the index of the first invalid one.
pub fn verify_batch(items: &[BatchItem<'_>]) -> core::result::Result<(), usize> {
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
}
