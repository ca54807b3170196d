//! The sealed head as a signed C2SP checkpoint (docs/FORMAT.md §10).

use crate::crypto::keypair::Keypair;
use crate::ledger::Ledger;
use crate::proof::checkpoint::{Checkpoint, ORIGIN_PREFIX};
use crate::{Error, Result};

impl Ledger {
    /// The checkpoint origin of this ledger:
    /// `medledger.example/<64 lowercase hex digits of the ledger id>`.
    pub fn checkpoint_origin(&self) -> String {
        format!("{ORIGIN_PREFIX}{}", self.id().to_hex())
    }

    /// The last committed (sealed) head as an unsigned checkpoint: its
    /// `log_size` and `log_root`.
    pub fn head_checkpoint(&self) -> Result<Checkpoint> {
        let head = self.head()?;
        Ok(Checkpoint {
            origin: self.checkpoint_origin(),
            size: head.log_size,
            root: head.log_root,
        })
    }

    /// The sealed head as a C2SP signed note, signed by `signer` under
    /// `key_name` (recommended: the origin, so the note verifies with a
    /// vkey named after the log). `signer` must be a member of the
    /// validator set in force.
    pub fn checkpoint(&self, signer: &Keypair, key_name: &str) -> Result<String> {
        if self.validators()?.index_of(&signer.id()).is_none() {
            return Err(Error::Denied(format!(
                "{} is not in the validator set",
                signer.id()
            )));
        }
        self.head_checkpoint()?
            .sign_note(key_name, signer.signing_key())
    }
}
