//! AES-256-GCM with a random 96-bit nonce per message.
//!
//! Sealed form: `nonce (12) ‖ ciphertext ‖ tag (16)`. With random nonces a
//! single key must not seal more than 2^32 messages; medledger uses a fresh
//! key per record and per category epoch, far below that bound.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use core::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{Error, Result};

/// Nonce length in bytes.
pub const NONCE_LEN: usize = 12;
/// Tag length in bytes.
pub const TAG_LEN: usize = 16;
/// Bytes a sealed message adds to its plaintext.
pub const OVERHEAD: usize = NONCE_LEN + TAG_LEN;
/// Key length in bytes.
pub const KEY_LEN: usize = 32;

/// An AES-256-GCM key. Zeroized on drop; `Debug` never shows the bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct AeadKey([u8; KEY_LEN]);

impl fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AeadKey(<redacted>)")
    }
}

impl AeadKey {
    /// A fresh random key from the OS CSPRNG.
    pub fn generate() -> Self {
        let mut k = [0u8; KEY_LEN];
        super::random_bytes(&mut k);
        AeadKey(k)
    }

    /// Wraps existing key bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        AeadKey(bytes)
    }

    /// The key bytes (for wrapping under another key).
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }

    /// Encrypts `plaintext` with a random nonce; returns `nonce ‖ ct ‖ tag`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        super::random_bytes(&mut nonce);
        self.seal_with_nonce(&nonce, aad, plaintext)
    }

    /// Encrypts with a caller-chosen nonce. Only for keys used exactly once
    /// (sealed boxes) and for known-answer tests.
    pub fn seal_with_nonce(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD);
        out.extend_from_slice(nonce);
        out.extend_from_slice(plaintext);
        let body = out
            .get_mut(NONCE_LEN..)
            .ok_or_else(|| Error::System("aead buffer".into()))?;
        let tag = self
            .cipher()
            .encrypt_inout_detached(&Nonce::from(*nonce), aad, body.into())
            .map_err(|_| Error::invalid("plaintext", "too long for AES-GCM"))?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Decrypts `nonce ‖ ct ‖ tag`. `what` names the object in the error.
    pub fn open(
        &self,
        aad: &[u8],
        sealed: &[u8],
        what: &'static str,
    ) -> Result<Zeroizing<Vec<u8>>> {
        if sealed.len() < OVERHEAD {
            return Err(Error::Decode {
                what,
                offset: sealed.len(),
                reason: "shorter than nonce and tag",
            });
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| Error::Decrypt(what))?;
        let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| Error::Decrypt(what))?;
        let mut buf = Zeroizing::new(ct.to_vec());
        self.cipher()
            .decrypt_inout_detached(
                &Nonce::from(nonce),
                aad,
                buf.as_mut_slice().into(),
                &Tag::from(tag),
            )
            .map_err(|_| Error::Decrypt(what))?;
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_aad_binding() {
        let k = AeadKey::generate();
        let ct = k.seal(b"aad", b"hello").unwrap();
        assert_eq!(ct.len(), 5 + OVERHEAD);
        assert_eq!(&*k.open(b"aad", &ct, "t").unwrap(), b"hello");
        assert!(matches!(k.open(b"aaX", &ct, "t"), Err(Error::Decrypt("t"))));
        let mut bad = ct.clone();
        bad[NONCE_LEN] ^= 1;
        assert!(k.open(b"aad", &bad, "t").is_err());
        assert!(matches!(
            k.open(b"aad", &ct[..10], "t"),
            Err(Error::Decode { .. })
        ));
        let other = AeadKey::generate();
        assert!(other.open(b"aad", &ct, "t").is_err());
        assert_eq!(format!("{k:?}"), "AeadKey(<redacted>)");
    }
}
