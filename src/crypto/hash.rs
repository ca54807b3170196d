//! SHA3-256 and domain-separated hashing.
//!
//! Every hash medledger computes over its own structures is a *tagged*
//! hash: `SHA3-256(u8 len(label) ‖ label ‖ data…)`, with a label from
//! [`label`]. Signed messages start with the same `u8 len ‖ label`; AEAD
//! associated data starts with the label as `u16 len ‖ label` (canonical
//! text), and the sealed box's HKDF info with the bare label. Merkle leaves
//! and nodes are the exception: they follow RFC 9162 exactly (`0x00`/`0x01`
//! prefixes) so that standard clients can check them (docs/FORMAT.md §2).

use core::fmt;
use sha3::{Digest as _, Sha3_256};

/// Length of every digest and id in bytes.
pub const DIGEST_LEN: usize = 32;

/// The domain labels of format version 2. Each hashed or signed input
/// starts with exactly one of these (see docs/FORMAT.md §2).
pub mod label {
    /// Ledger id: hash of the encoded genesis transaction.
    pub const LEDGER_ID: &str = "medledger/v2/ledger-id";
    /// Participant id: hash of the participant's first Ed25519 public key.
    pub const PARTICIPANT_ID: &str = "medledger/v2/participant-id";
    /// Record id: hash of (ledger, author, sequence, index in transaction).
    pub const RECORD_ID: &str = "medledger/v2/record-id";
    /// Associated data binding a payload ciphertext to its record.
    pub const RECORD_AAD: &str = "medledger/v2/record-aad";
    /// Digest of a payload ciphertext (nonce ‖ ciphertext ‖ tag).
    pub const CIPHERTEXT: &str = "medledger/v2/ciphertext";
    /// Associated data of a data key wrapped under a category key.
    pub const DEK_WRAP: &str = "medledger/v2/dek-wrap";
    /// Associated data of a category key sealed to a reader.
    pub const EPOCH_KEY_WRAP: &str = "medledger/v2/epoch-key-wrap";
    /// HKDF info prefix of the X25519 sealed box.
    pub const SEALED_BOX: &str = "medledger/v2/sealed-box";
    /// Transaction signing input.
    pub const TX: &str = "medledger/v2/tx";
    /// Block header hash.
    pub const BLOCK: &str = "medledger/v2/block";
    /// Validator signature input over a block header hash.
    pub const SEAL: &str = "medledger/v2/seal";
    /// Hash of a validator set.
    pub const VALIDATOR_SET: &str = "medledger/v2/validator-set";
    /// Associated data of an exported (passphrase-encrypted) secret key.
    pub const KEY_FILE: &str = "medledger/v2/key-file";
    /// Consent id: hash of (ledger, granting author, sequence).
    pub const CONSENT_ID: &str = "medledger/v2/consent-id";
    /// Break-glass id: hash of (ledger, provider, sequence).
    pub const BREAK_GLASS_ID: &str = "medledger/v2/break-glass-id";
    /// Associated data of a record data key sealed to a grantee.
    pub const RECORD_KEY_WRAP: &str = "medledger/v2/record-key-wrap";
    /// Signing input of an erasure receipt.
    pub const ERASURE_RECEIPT: &str = "medledger/v2/erasure-receipt";
    /// Signing input proving possession of a participant's new key.
    pub const KEY_ROTATION: &str = "medledger/v2/key-rotation";
}

/// A SHA3-256 output: ids, digests, header hashes and Merkle hashes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Digest(pub [u8; DIGEST_LEN]);

impl Digest {
    /// The all-zero digest (the previous-hash of the genesis block).
    pub const ZERO: Digest = Digest([0u8; DIGEST_LEN]);

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; DIGEST_LEN] {
        &self.0
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(2 * DIGEST_LEN);
        for b in self.0 {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(s: &str) -> crate::Result<Self> {
        let b = s.as_bytes();
        if b.len() != 2 * DIGEST_LEN || !b.iter().all(u8::is_ascii_hexdigit) {
            return Err(crate::Error::Invalid {
                what: "digest",
                reason: "not 64 hex digits".into(),
            });
        }
        let mut out = [0u8; DIGEST_LEN];
        for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
            let hi = char::from(pair.first().copied().unwrap_or(b'0')).to_digit(16);
            let lo = char::from(pair.get(1).copied().unwrap_or(b'0')).to_digit(16);
            *o = u8::try_from(hi.unwrap_or(0) * 16 + lo.unwrap_or(0)).unwrap_or(0);
        }
        Ok(Digest(out))
    }

    /// Compares in constant time; use where the digest authenticates data.
    pub fn ct_eq(&self, other: &Digest) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Short form for messages; the full value is in Debug and to_hex.
        let hex = self.to_hex();
        f.write_str(hex.get(..16).unwrap_or(&hex))
    }
}

/// Plain SHA3-256 (FIPS 202).
pub fn sha3_256(data: &[u8]) -> [u8; DIGEST_LEN] {
    Sha3_256::digest(data).into()
}

/// Incremental tagged hash: `SHA3-256(u8 len(label) ‖ label ‖ …)`.
pub struct TaggedHasher(Sha3_256);

impl TaggedHasher {
    /// Starts a hash under `label` (one of [`label`]).
    pub fn new(label: &str) -> Self {
        let mut h = Sha3_256::new();
        // Labels are short constants; the length byte keeps them prefix-free.
        let bytes = label.as_bytes();
        h.update([u8::try_from(bytes.len()).unwrap_or(u8::MAX)]);
        h.update(bytes);
        TaggedHasher(h)
    }

    /// Feeds more data.
    pub fn update(&mut self, data: &[u8]) -> &mut Self {
        self.0.update(data);
        self
    }

    /// Returns the digest.
    pub fn finish(self) -> Digest {
        Digest(self.0.finalize().into())
    }
}

/// Tagged hash of the concatenation of `parts`.
pub fn tagged_hash(label: &str, parts: &[&[u8]]) -> Digest {
    let mut h = TaggedHasher::new(label);
    for p in parts {
        h.update(p);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_anything_else() {
        let d = Digest([0xa5; 32]);
        assert_eq!(Digest::from_hex(&d.to_hex()).unwrap(), d);
        assert_eq!(Digest::from_hex(&d.to_hex().to_uppercase()).unwrap(), d);
        let mut short = d.to_hex();
        short.pop();
        assert!(Digest::from_hex(&short).is_err());
        assert!(Digest::from_hex(&format!("+f{}", &d.to_hex()[2..])).is_err());
        assert!(Digest::from_hex(&format!("zz{}", &d.to_hex()[2..])).is_err());
        assert!(Digest::from_hex(&format!("é{}", &d.to_hex()[2..])).is_err());
    }

    #[test]
    fn tagged_hash_depends_on_label_and_is_prefix_free() {
        let a = tagged_hash(label::TX, &[b"x"]);
        let b = tagged_hash(label::BLOCK, &[b"x"]);
        assert_ne!(a, b);
        // Moving a byte between label and data must change the hash.
        let c = tagged_hash("ab", &[b"c"]);
        let d = tagged_hash("a", &[b"bc"]);
        assert_ne!(c, d);
        // Streaming equals one-shot.
        let mut h = TaggedHasher::new(label::TX);
        h.update(b"x");
        assert_eq!(h.finish(), a);
    }

    #[test]
    fn sha3_empty_known_answer() {
        assert_eq!(
            Digest(sha3_256(b"")).to_hex(),
            "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
        );
    }
}
