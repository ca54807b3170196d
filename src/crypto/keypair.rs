//! A participant's keys: Ed25519 for signatures, X25519 for key wrapping.
//!
//! Secret keys never leave a [`Keypair`] in clear: [`Keypair::export_encrypted`]
//! seals them under a passphrase with Argon2id and AES-256-GCM (key-file
//! layout in docs/FORMAT.md §4.5).

use core::fmt;
use std::collections::HashMap;
use std::sync::Mutex;

use argon2::{Algorithm, Argon2, Params, Version};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::aead::{AeadKey, KEY_LEN};
use super::hash::label;
use super::sign::{SigningKey, check_public_key};
use crate::codec::{Reader, Writer};
use crate::model::record::Category;
use crate::model::{FORMAT_VERSION, LedgerId, ParticipantId, check_version};
use crate::model::{Participant, Roles};
use crate::{Error, Result};

const KEY_FILE_MAGIC: &[u8; 8] = b"MEDLKEY\n";
/// Argon2id lanes accepted on import.
const MAX_P_COST: u32 = 16;
/// nonce ‖ (Ed25519 seed ‖ X25519 secret) ‖ tag.
const SEALED_SECRET_LEN: usize = super::aead::OVERHEAD + 64;
const SALT_LEN: usize = 16;
/// Argon2id memory cost limit accepted on import (1 GiB), so a hostile key
/// file cannot exhaust memory.
const MAX_M_COST_KIB: u32 = 1 << 20;
const MAX_T_COST: u32 = 16;

/// Argon2id cost parameters for key export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Default for KdfParams {
    /// OWASP's Argon2id minimum: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        KdfParams {
            m_cost_kib: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

/// The public half of a participant's keys.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PublicKeys {
    /// Ed25519 verifying key.
    pub sign: [u8; 32],
    /// X25519 public key.
    pub enc: [u8; 32],
}

/// Cache key of an unwrapped category key.
type EpochRef = (LedgerId, ParticipantId, Category, u32);

/// A participant's secret keys, and a cache of category keys it has
/// unwrapped (so reading many records costs one X25519 operation per
/// category epoch, not one per record). Zeroized on drop; `Debug` shows
/// only the participant id.
pub struct Keypair {
    id: ParticipantId,
    signing: SigningKey,
    encryption: StaticSecret,
    /// Derived once: computing the X25519 public key costs a scalar
    /// multiplication.
    public: PublicKeys,
    epoch_keys: Mutex<HashMap<EpochRef, AeadKey>>,
    /// Held from choosing a sequence number to submitting the transaction,
    /// so threads sharing this keypair never race for the same number.
    submit_lock: Mutex<()>,
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({:?}, <secrets redacted>)", self.id)
    }
}

impl Keypair {
    /// Fresh keys; the participant id is derived from the signing key.
    pub fn generate() -> Self {
        let signing = SigningKey::generate();
        let id = ParticipantId::from_public_key(&signing.public_key());
        Self::assemble(id, signing, StaticSecret::random())
    }

    fn assemble(id: ParticipantId, signing: SigningKey, encryption: StaticSecret) -> Self {
        let public = PublicKeys {
            sign: signing.public_key(),
            enc: PublicKey::from(&encryption).to_bytes(),
        };
        Keypair {
            id,
            signing,
            encryption,
            public,
            epoch_keys: Mutex::new(HashMap::new()),
            submit_lock: Mutex::new(()),
        }
    }

    /// Deterministic keys from two seeds — for test vectors and examples
    /// only; real keys come from [`Keypair::generate`].
    pub fn from_seeds(sign_seed: &[u8; 32], enc_seed: &[u8; 32]) -> Self {
        let signing = SigningKey::from_seed(sign_seed);
        let id = ParticipantId::from_public_key(&signing.public_key());
        Self::assemble(id, signing, StaticSecret::from(*enc_seed))
    }

    /// Fresh keys for the same participant, to install with
    /// `Ledger::rotate_keys`. Keep the old keypair until the rotation is
    /// committed and the patients have re-shared their keys.
    pub fn rotated(&self) -> Keypair {
        Self::assemble(self.id, SigningKey::generate(), StaticSecret::random())
    }

    /// The participant id.
    pub fn id(&self) -> ParticipantId {
        self.id
    }

    /// The public keys.
    pub fn public(&self) -> PublicKeys {
        self.public
    }

    /// This participant's public registration with `roles` and an
    /// operator-facing `label` (no personal data).
    pub fn participant(&self, roles: Roles, label: &str) -> Participant {
        let public = self.public();
        Participant {
            id: self.id,
            sign_key: public.sign,
            enc_key: public.enc,
            roles,
            label: label.to_owned(),
            escrow_opt_out: false,
        }
    }

    /// The signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The X25519 secret (to open sealed boxes).
    pub(crate) fn encryption_secret(&self) -> &StaticSecret {
        &self.encryption
    }

    /// Encrypts the secret keys under `passphrase` with default Argon2id cost.
    pub fn export_encrypted(&self, passphrase: &[u8]) -> Result<Vec<u8>> {
        self.export_encrypted_with(passphrase, KdfParams::default())
    }

    /// Encrypts the secret keys under `passphrase` with explicit cost.
    pub fn export_encrypted_with(&self, passphrase: &[u8], params: KdfParams) -> Result<Vec<u8>> {
        let mut salt = [0u8; SALT_LEN];
        super::random_bytes(&mut salt);
        let mut header = Writer::with_capacity(64);
        header
            .raw(KEY_FILE_MAGIC)
            .u16(FORMAT_VERSION)
            .u32(params.m_cost_kib)
            .u32(params.t_cost)
            .u32(params.p_cost)
            .raw(&salt)
            .digest(&self.id.0);
        let header = header.into_bytes();
        let key = derive_file_key(passphrase, &salt, params)?;
        let mut secret = Zeroizing::new(Vec::with_capacity(64));
        secret.extend_from_slice(self.signing.seed().as_ref());
        secret.extend_from_slice(self.encryption.as_bytes());
        let sealed = key.seal(&file_aad(&header), &secret)?;
        let mut out = header;
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a key file written by [`Keypair::export_encrypted`].
    pub fn import_encrypted(bytes: &[u8], passphrase: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        if r.fixed::<8>("key_file.magic")? != *KEY_FILE_MAGIC {
            return Err(Error::Decode {
                what: "key_file.magic",
                offset: 0,
                reason: "not a medledger key file",
            });
        }
        check_version("key file", r.u16("key_file.version")?)?;
        let params = KdfParams {
            m_cost_kib: r.u32("key_file.m_cost")?,
            t_cost: r.u32("key_file.t_cost")?,
            p_cost: r.u32("key_file.p_cost")?,
        };
        if params.m_cost_kib > MAX_M_COST_KIB
            || params.t_cost > MAX_T_COST
            || params.p_cost > MAX_P_COST
        {
            return Err(Error::invalid(
                "key_file.kdf",
                "Argon2 cost above the accepted limit",
            ));
        }
        let salt: [u8; SALT_LEN] = r.fixed("key_file.salt")?;
        let id = ParticipantId(r.digest("key_file.id")?);
        let header_len = r.offset();
        let header = bytes.get(..header_len).unwrap_or_default();
        let sealed = r.take(SEALED_SECRET_LEN, "key_file.sealed")?;
        r.finish("key_file")?;
        let key = derive_file_key(passphrase, &salt, params)?;
        let secret = key
            .open(&file_aad(header), sealed, "key file")
            .map_err(|_| Error::WrongPassphrase)?;
        let (sign_seed, enc_seed) = secret
            .split_at_checked(32)
            .filter(|(_, b)| b.len() == 32)
            .ok_or(Error::WrongPassphrase)?;
        let mut s = Zeroizing::new([0u8; 32]);
        s.copy_from_slice(sign_seed);
        let mut e = Zeroizing::new([0u8; 32]);
        e.copy_from_slice(enc_seed);
        let kp = Self::assemble(id, SigningKey::from_seed(&s), StaticSecret::from(*e));
        // The id is authenticated with the secrets (it is in the AEAD's
        // associated data); after a rotation it is no longer the hash of
        // the signing key.
        check_public_key(&kp.signing.public_key())?;
        Ok(kp)
    }

    /// Serialises this keypair's submissions (sequence numbers are per
    /// author and must not be handed out twice).
    pub(crate) fn submit_guard(&self) -> crate::Result<std::sync::MutexGuard<'_, ()>> {
        self.submit_lock
            .lock()
            .map_err(|_| crate::Error::System("keypair submit lock poisoned".into()))
    }

    /// A cached category key, if this keypair unwrapped it before.
    pub(crate) fn cached_epoch_key(&self, r: &EpochRef) -> Option<AeadKey> {
        self.epoch_keys.lock().ok().and_then(|m| m.get(r).cloned())
    }

    /// Remembers an unwrapped category key.
    pub(crate) fn cache_epoch_key(&self, r: EpochRef, key: AeadKey) {
        if let Ok(mut m) = self.epoch_keys.lock() {
            m.insert(r, key);
        }
    }
}

fn file_aad(header: &[u8]) -> Vec<u8> {
    let mut w = Writer::with_capacity(header.len() + 24);
    w.text(label::KEY_FILE).raw(header);
    w.into_bytes()
}

fn derive_file_key(passphrase: &[u8], salt: &[u8], p: KdfParams) -> Result<AeadKey> {
    let params = Params::new(p.m_cost_kib, p.t_cost, p.p_cost, Some(KEY_LEN))
        .map_err(|e| Error::invalid("key_file.kdf", e.to_string()))?;
    let mut k = Zeroizing::new([0u8; KEY_LEN]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase, salt, k.as_mut())
        .map_err(|e| Error::invalid("key_file.kdf", e.to_string()))?;
    Ok(AeadKey::from_bytes(*k))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const CHEAP: KdfParams = KdfParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };

    #[test]
    fn export_import_round_trip_and_wrong_passphrase() {
        let kp = Keypair::generate();
        let file = kp.export_encrypted_with(b"correct horse", CHEAP).unwrap();
        let back = Keypair::import_encrypted(&file, b"correct horse").unwrap();
        assert_eq!(back.id(), kp.id());
        assert_eq!(back.public(), kp.public());
        assert!(matches!(
            Keypair::import_encrypted(&file, b"wrong"),
            Err(Error::WrongPassphrase)
        ));
        // Any flipped byte is refused, never accepted as another key.
        for i in 0..file.len() {
            let mut bad = file.clone();
            bad[i] ^= 0x20;
            assert!(
                Keypair::import_encrypted(&bad, b"correct horse").is_err(),
                "byte {i}"
            );
        }
        for n in 0..file.len() {
            assert!(Keypair::import_encrypted(&file[..n], b"correct horse").is_err());
        }
        let dbg = format!("{kp:?}");
        assert!(dbg.contains("redacted"));
        let seed_hex: String = kp
            .signing
            .seed()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(!dbg.contains(&seed_hex[..16]));
    }

    #[test]
    fn hostile_cost_is_refused_before_hashing() {
        let kp = Keypair::generate();
        let mut file = kp.export_encrypted_with(b"p", CHEAP).unwrap();
        // m_cost is at offset 10.
        file[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            Keypair::import_encrypted(&file, b"p"),
            Err(Error::Invalid { .. })
        ));
    }
}
