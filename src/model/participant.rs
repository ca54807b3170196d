//! Participants: who may sign transactions and what they may do.

use core::fmt;

use crate::codec::{Reader, Writer};
use crate::crypto::sign::check_public_key;
use crate::model::ParticipantId;
use crate::{Error, Result};

/// Longest participant label in bytes. Labels are for operators ("St. Mary
/// lab system"); they must not contain personal data.
pub const MAX_LABEL_LEN: usize = 128;

/// A participant's roles, a bit set (docs/FORMAT.md §3.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Roles(pub u16);

impl Roles {
    /// Owns a record; grants and revokes access to it.
    pub const PATIENT: Roles = Roles(1 << 0);
    /// Clinician or clinical system; authors records.
    pub const PROVIDER: Roles = Roles(1 << 1);
    /// Acts for a patient (minors, incapacitated patients).
    pub const GUARDIAN: Roles = Roles(1 << 2);
    /// Co-signs blocks.
    pub const VALIDATOR: Roles = Roles(1 << 3);
    /// Reads the access log, not records.
    pub const AUDITOR: Roles = Roles(1 << 4);
    /// Registers participants and changes the validator set.
    pub const ADMIN: Roles = Roles(1 << 5);
    /// Holds an institution's emergency key escrow.
    pub const CUSTODIAN: Roles = Roles(1 << 6);
    /// Every role bit defined by format version 2.
    pub const ALL: Roles = Roles(0x7f);

    /// True when every bit of `other` is set.
    pub fn contains(self, other: Roles) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of two role sets.
    pub fn with(self, other: Roles) -> Roles {
        Roles(self.0 | other.0)
    }
}

impl fmt::Debug for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 7] = [
            "patient",
            "provider",
            "guardian",
            "validator",
            "auditor",
            "admin",
            "custodian",
        ];
        let names: Vec<&str> = NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, n)| *n)
            .collect();
        write!(f, "Roles({})", names.join("|"))
    }
}

/// The public registration of a participant.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Participant {
    /// Stable id (hash of the first signing key).
    pub id: ParticipantId,
    /// Ed25519 public key for signatures.
    pub sign_key: [u8; 32],
    /// X25519 public key for key wrapping.
    pub enc_key: [u8; 32],
    /// Role bits.
    pub roles: Roles,
    /// Operator-facing label, no personal data.
    pub label: String,
    /// A patient who opted out of emergency key escrow: no custodian
    /// receives their category keys, so break-glass cannot reach them.
    pub escrow_opt_out: bool,
}

impl Participant {
    /// Checks what can be checked without chain state: the id matches the
    /// key, keys are acceptable, roles and label are in range.
    pub fn validate(&self) -> Result<()> {
        if ParticipantId::from_public_key(&self.sign_key) != self.id {
            return Err(Error::invalid(
                "participant.id",
                "does not match the signing key",
            ));
        }
        check_public_key(&self.sign_key)?;
        check_x25519_key(&self.enc_key)?;
        if self.roles.0 == 0 || self.roles.0 & !Roles::ALL.0 != 0 {
            return Err(Error::invalid(
                "participant.roles",
                format!("0x{:04x}", self.roles.0),
            ));
        }
        if self.label.len() > MAX_LABEL_LEN {
            return Err(Error::invalid("participant.label", "longer than 128 bytes"));
        }
        if self.escrow_opt_out && !self.roles.contains(Roles::PATIENT) {
            return Err(Error::invalid(
                "participant.escrow_opt_out",
                "only a patient can opt out of escrow",
            ));
        }
        Ok(())
    }

    /// Canonical encoding.
    pub fn encode(&self, w: &mut Writer) {
        w.digest(&self.id.0)
            .raw(&self.sign_key)
            .raw(&self.enc_key)
            .u16(self.roles.0)
            .text(&self.label)
            .u8(u8::from(self.escrow_opt_out));
    }

    /// Decodes one participant.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Participant {
            id: ParticipantId(r.digest("participant.id")?),
            sign_key: r.fixed("participant.sign_key")?,
            enc_key: r.fixed("participant.enc_key")?,
            roles: Roles(r.u16("participant.roles")?),
            label: r.text(MAX_LABEL_LEN, "participant.label")?.to_owned(),
            escrow_opt_out: match r.u8("participant.escrow_opt_out")? {
                0 => false,
                1 => true,
                _ => return Err(r.error("participant.escrow_opt_out", "flag must be 0 or 1")),
            },
        })
    }
}

/// Rejects X25519 keys that are not canonical (bit 255 set, or u ≥ 2^255-19:
/// one key must have one encoding) or of small order (every wrap to such a
/// key would be readable by anyone).
pub fn check_x25519_key(key: &[u8; 32]) -> Result<()> {
    use x25519_dalek::{PublicKey, StaticSecret};
    // p = 2^255 - 19 little-endian: ed ff … ff 7f.
    let top_bit = key.last().is_some_and(|b| b & 0x80 != 0);
    let at_least_p = key.first().is_some_and(|b| *b >= 0xed)
        && key
            .get(1..31)
            .is_some_and(|mid| mid.iter().all(|b| *b == 0xff))
        && key.last() == Some(&0x7f);
    if top_bit || at_least_p {
        return Err(Error::WeakKey("X25519 key encoding is not canonical"));
    }
    // Any fixed clamped scalar multiple of a small-order point is zero.
    let probe = StaticSecret::from([0x5a; 32]);
    if !probe
        .diffie_hellman(&PublicKey::from(*key))
        .was_contributory()
    {
        return Err(Error::WeakKey("X25519 key is of small order"));
    }
    Ok(())
}
