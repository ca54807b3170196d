//! Thin wrappers over the well-kept primitive crates, each with the
//! domain labels medledger uses. Nothing here implements a primitive.
//!
//! - [`hash`]: SHA3-256 and domain-separated (tagged) hashing.
//! - [`aead`]: AES-256-GCM with random 96-bit nonces.
//! - [`sign`]: Ed25519 strict verification and batch verification.
//! - [`kex`]: X25519 + HKDF-SHA3-256 + AES-256-GCM sealed boxes (key wrapping).
//! - [`keypair`]: a participant's signing and encryption keys, exported only
//!   under a passphrase (Argon2id).

pub mod aead;
pub mod hash;
pub mod kex;
pub mod keypair;
pub mod sign;

/// Fills `buf` from the thread-local CSPRNG (`rand::rng()`, ChaCha seeded
/// and periodically reseeded from the OS). Used per record, so it avoids a
/// system call per key and nonce.
pub(crate) fn random_bytes(buf: &mut [u8]) {
    use rand::Rng;
    rand::rng().fill_bytes(buf);
}
