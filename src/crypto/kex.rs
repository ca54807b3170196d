//! Sealed boxes: wrap a short secret (a category key) for one reader's
//! X25519 public key.
//!
//! Construction (docs/FORMAT.md §4.3), in the manner of HPKE base mode:
//! an ephemeral X25519 key pair `(e, E)`; `ss = X25519(e, R)`, rejected if
//! all-zero; `k = HKDF-SHA3-256(salt = E ‖ R, ikm = ss, info = label ‖ context)`;
//! output `E (32) ‖ AES-256-GCM(k, nonce = 0^12, aad = context, secret)`.
//! The all-zero nonce is safe because `k` is used for exactly one message.

use hkdf::SimpleHkdf;
use sha3::Sha3_256;
use x25519_dalek::{EphemeralSecret, PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::aead::{AeadKey, KEY_LEN, NONCE_LEN, TAG_LEN};
use super::hash::label;
use crate::{Error, Result};

/// Length of an X25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;

/// Size of a sealed box around `n` secret bytes (the nonce is implicit).
pub const fn sealed_len(n: usize) -> usize {
    PUBLIC_KEY_LEN + TAG_LEN + n
}

/// HKDF-SHA3-256 (RFC 5869 over HMAC-SHA3-256): extract with `salt`, expand
/// `info` into `out`.
pub fn hkdf_sha3_256(salt: &[u8], ikm: &[u8], info: &[&[u8]], out: &mut [u8]) -> Result<()> {
    let hk = SimpleHkdf::<Sha3_256>::new(Some(salt), ikm);
    hk.expand_multi_info(info, out)
        .map_err(|_| Error::invalid("hkdf output length", "more than 255 blocks"))
}

fn box_key(
    eph: &[u8; 32],
    recipient: &[u8; 32],
    shared: &[u8; 32],
    context: &[u8],
) -> Result<AeadKey> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(eph);
    salt[32..].copy_from_slice(recipient);
    let mut k = Zeroizing::new([0u8; KEY_LEN]);
    hkdf_sha3_256(
        &salt,
        shared,
        &[label::SEALED_BOX.as_bytes(), context],
        k.as_mut(),
    )?;
    Ok(AeadKey::from_bytes(*k))
}

/// Seals `secret` to `recipient` (an X25519 public key), bound to `context`.
pub fn seal(recipient: &[u8; PUBLIC_KEY_LEN], context: &[u8], secret: &[u8]) -> Result<Vec<u8>> {
    let eph = EphemeralSecret::random();
    let eph_pub = PublicKey::from(&eph).to_bytes();
    let shared = eph.diffie_hellman(&PublicKey::from(*recipient));
    if !shared.was_contributory() {
        return Err(Error::WeakKey("X25519 recipient key is of small order"));
    }
    let key = box_key(&eph_pub, recipient, shared.as_bytes(), context)?;
    let sealed = key.seal_with_nonce(&[0u8; NONCE_LEN], context, secret)?;
    let mut out = Vec::with_capacity(PUBLIC_KEY_LEN + sealed.len() - NONCE_LEN);
    out.extend_from_slice(&eph_pub);
    // The nonce is fixed, so it is not stored.
    out.extend_from_slice(sealed.get(NONCE_LEN..).unwrap_or_default());
    Ok(out)
}

/// Opens a sealed box with the recipient's X25519 secret.
pub fn open(
    secret: &StaticSecret,
    context: &[u8],
    sealed: &[u8],
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>> {
    let (eph, rest) = sealed
        .split_at_checked(PUBLIC_KEY_LEN)
        .ok_or(Error::Decode {
            what,
            offset: sealed.len(),
            reason: "sealed box shorter than its ephemeral key",
        })?;
    let eph: [u8; 32] = eph.try_into().map_err(|_| Error::Decrypt(what))?;
    let shared = secret.diffie_hellman(&PublicKey::from(eph));
    if !shared.was_contributory() {
        return Err(Error::Decrypt(what));
    }
    let recipient = PublicKey::from(secret).to_bytes();
    let key = box_key(&eph, &recipient, shared.as_bytes(), context)?;
    let mut with_nonce = Vec::with_capacity(NONCE_LEN + rest.len());
    with_nonce.extend_from_slice(&[0u8; NONCE_LEN]);
    with_nonce.extend_from_slice(rest);
    key.open(context, &with_nonce, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let sk = StaticSecret::random();
        let pk = PublicKey::from(&sk).to_bytes();
        let sealed = seal(&pk, b"ctx", &[7u8; 32]).unwrap();
        assert_eq!(sealed.len(), sealed_len(32));
        assert_eq!(&*open(&sk, b"ctx", &sealed, "box").unwrap(), &[7u8; 32]);
        assert!(open(&sk, b"cty", &sealed, "box").is_err());
        let other = StaticSecret::random();
        assert!(open(&other, b"ctx", &sealed, "box").is_err());
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(
                open(&sk, b"ctx", &bad, "box").is_err(),
                "flip at {i} accepted"
            );
        }
        assert!(open(&sk, b"ctx", &sealed[..31], "box").is_err());
        // A small-order recipient key is refused rather than sealed to.
        assert!(matches!(
            seal(&[0u8; 32], b"ctx", b"k"),
            Err(Error::WeakKey(_))
        ));
    }
}
