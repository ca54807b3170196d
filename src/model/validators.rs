//! The validator set: who co-signs blocks, and how many must.

use crate::codec::{Reader, Writer};
use crate::crypto::hash::{Digest, label, tagged_hash};
use crate::model::ParticipantId;
use crate::{Error, Result};

/// Most validators a set may hold (indices are `u16`, kept small on purpose).
pub const MAX_VALIDATORS: usize = 256;

/// One validator: participant id and the Ed25519 key it seals with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Validator {
    /// Participant id (must hold the validator role).
    pub id: ParticipantId,
    /// Ed25519 public key used for seals.
    pub key: [u8; 32],
}

/// Validators sorted by id, and the number of signatures that seals a block.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ValidatorSet {
    /// At least this many distinct members must sign a block header.
    pub threshold: u16,
    /// Members, strictly ascending by id.
    pub members: Vec<Validator>,
}

impl ValidatorSet {
    /// Builds a set, sorting members; fails on duplicates or a threshold
    /// outside `1..=members`.
    pub fn new(threshold: u16, mut members: Vec<Validator>) -> Result<Self> {
        members.sort_by_key(|m| m.id);
        let set = ValidatorSet { threshold, members };
        set.validate()?;
        Ok(set)
    }

    /// Checks ordering, uniqueness, size and threshold.
    pub fn validate(&self) -> Result<()> {
        if self.members.is_empty() || self.members.len() > MAX_VALIDATORS {
            return Err(Error::invalid("validators", "must hold 1 to 256 members"));
        }
        if self
            .members
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.id >= b.id))
        {
            return Err(Error::invalid(
                "validators",
                "members must be unique and sorted by id",
            ));
        }
        if self.threshold == 0 || usize::from(self.threshold) > self.members.len() {
            return Err(Error::invalid(
                "validators.threshold",
                format!("{} is not in 1..={}", self.threshold, self.members.len()),
            ));
        }
        Ok(())
    }

    /// Canonical encoding.
    pub fn encode(&self, w: &mut Writer) {
        w.u16(self.threshold).count(self.members.len());
        for m in &self.members {
            w.digest(&m.id.0).raw(&m.key);
        }
    }

    /// Decodes a set (ordering and threshold are checked by `validate`).
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let threshold = r.u16("validators.threshold")?;
        let n = r.count(MAX_VALIDATORS, 64, "validators.members")?;
        let mut members = Vec::with_capacity(n);
        for _ in 0..n {
            members.push(Validator {
                id: ParticipantId(r.digest("validators.members.id")?),
                key: r.fixed("validators.members.key")?,
            });
        }
        Ok(ValidatorSet { threshold, members })
    }

    /// Tagged hash of the encoding; block headers commit to it.
    pub fn hash(&self) -> Digest {
        let mut w = Writer::new();
        self.encode(&mut w);
        tagged_hash(label::VALIDATOR_SET, &[&w.into_bytes()])
    }

    /// Index of a member by id.
    pub fn index_of(&self, id: &ParticipantId) -> Option<u16> {
        self.members
            .binary_search_by(|m| m.id.cmp(id))
            .ok()
            .and_then(|i| u16::try_from(i).ok())
    }
}
