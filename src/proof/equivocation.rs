//! Equivocation evidence: two different block headers for the same height
//! of one ledger, each signed by validators of the set in force there.
//! A validator whose seal verifies on both signed two histories; anyone
//! holding the validator set can check that offline (docs/FORMAT.md §11.4).
//!
//! ```text
//! Equivocation = version u16 | validator set (§3.7)
//!              | header A (166) | seal_count u16 | seals A (66 each)
//!              | header B (166) | seal_count u16 | seals B (66 each)
//! ```

use crate::codec::{Reader, Writer};
use crate::crypto::sign::check_public_key;
use crate::log::block::{BlockHeader, Seal, SealFields};
use crate::model::{FORMAT_VERSION, ParticipantId, ValidatorSet, check_version};
use crate::{Error, Result};

/// Two conflicting signed headers at one height, and the set that signs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Equivocation {
    /// The validator set in force at that height (its hash is the `A`
    /// header's `validator_set_hash`).
    pub validators: ValidatorSet,
    /// The first header (the one the reporting node holds) and its seals.
    pub first: (BlockHeader, Vec<Seal>),
    /// The conflicting header and the seals it came with.
    pub second: (BlockHeader, Vec<Seal>),
}

impl Equivocation {
    /// Builds evidence from two headers and their seals, keeping only the
    /// seals of validators that signed both; `None` when no validator did
    /// (a conflicting header nobody in the set signed is a forgery, not an
    /// equivocation).
    pub fn from_conflict(
        validators: &ValidatorSet,
        first: (&BlockHeader, &[Seal]),
        second: (&BlockHeader, &[Seal]),
    ) -> Option<Equivocation> {
        let a = valid_seals(validators, first.0, first.1);
        let b = valid_seals(validators, second.0, second.1);
        let both: Vec<u16> = a
            .iter()
            .map(|s| s.validator)
            .filter(|v| b.iter().any(|s| s.validator == *v))
            .collect();
        if both.is_empty() || first.0.hash() == second.0.hash() {
            return None;
        }
        let keep = |seals: Vec<Seal>| -> Vec<Seal> {
            seals
                .into_iter()
                .filter(|s| both.contains(&s.validator))
                .collect()
        };
        Some(Equivocation {
            validators: validators.clone(),
            first: (first.0.clone(), keep(a)),
            second: (second.0.clone(), keep(b)),
        })
    }

    /// Height both headers claim.
    pub fn height(&self) -> u64 {
        self.first.0.height
    }

    /// Checks the evidence and returns the validators that signed both
    /// headers. Fails unless both headers are of one ledger and height,
    /// differ, the set is the one the first header names, and at least one
    /// validator's seal verifies on both.
    pub fn verify(&self) -> Result<Vec<ParticipantId>> {
        let (a, b) = (&self.first.0, &self.second.0);
        if a.ledger_id != b.ledger_id {
            return Err(Error::invalid("equivocation", "headers of two ledgers"));
        }
        if a.height != b.height {
            return Err(Error::invalid("equivocation", "headers at two heights"));
        }
        if a.hash() == b.hash() {
            return Err(Error::invalid("equivocation", "the headers are the same"));
        }
        if self.validators.hash() != a.validator_set_hash {
            return Err(Error::invalid(
                "equivocation",
                "the validator set is not the one the first header names",
            ));
        }
        let a_ok = valid_seals(&self.validators, a, &self.first.1);
        let b_ok = valid_seals(&self.validators, b, &self.second.1);
        if a_ok.len() != self.first.1.len() || b_ok.len() != self.second.1.len() {
            return Err(Error::BadSignature("equivocation seal"));
        }
        let guilty: Vec<ParticipantId> = a_ok
            .iter()
            .filter(|s| b_ok.iter().any(|t| t.validator == s.validator))
            .filter_map(|s| self.validators.members.get(usize::from(s.validator)))
            .map(|m| m.id)
            .collect();
        if guilty.is_empty() {
            return Err(Error::invalid(
                "equivocation",
                "no validator signed both headers",
            ));
        }
        Ok(guilty)
    }

    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u16(FORMAT_VERSION);
        self.validators.encode(&mut w);
        for (h, seals) in [&self.first, &self.second] {
            w.raw(&h.encode());
            Seal::write_all(&mut w, seals);
        }
        w.into_bytes()
    }

    /// Decodes evidence (checks nothing but the encoding: [`Self::verify`]).
    pub fn decode(bytes: &[u8]) -> Result<Equivocation> {
        let mut r = Reader::new(bytes);
        check_version("equivocation", r.u16("equivocation.version")?)?;
        let validators = ValidatorSet::decode(&mut r)?;
        let mut signed = || -> Result<(BlockHeader, Vec<Seal>)> {
            let h = BlockHeader::decode(&mut r)?;
            let seals = Seal::read_all(
                &mut r,
                &SealFields {
                    count: "equivocation.seal_count",
                    validator: "equivocation.seal.validator",
                    signature: "equivocation.seal.signature",
                },
            )?;
            Ok((h, seals))
        };
        let first = signed()?;
        let second = signed()?;
        r.finish("equivocation")?;
        Ok(Equivocation {
            validators,
            first,
            second,
        })
    }
}

/// The seals among `seals` that verify (strictly) on `header` under the
/// keys of `set`, at most one per validator.
fn valid_seals(set: &ValidatorSet, header: &BlockHeader, seals: &[Seal]) -> Vec<Seal> {
    let message = BlockHeader::seal_message(&header.hash());
    let mut out: Vec<Seal> = Vec::new();
    for s in seals {
        if out.iter().any(|o| o.validator == s.validator) {
            continue;
        }
        let Some(member) = set.members.get(usize::from(s.validator)) else {
            continue;
        };
        let Ok(key) = check_public_key(&member.key) else {
            continue;
        };
        if key.verify_strict(&message, &s.signature).is_ok() {
            out.push(*s);
        }
    }
    out
}
