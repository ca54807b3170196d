//! Plain data of the ledger and its canonical encoding: ids, participants,
//! records, validator sets and transactions. Validation that needs no chain
//! state lives here too; rules that need state live in [`crate::log::state`].

pub mod consent;
pub mod ids;
pub mod participant;
pub mod record;
pub mod tx;
pub mod validators;

pub use consent::{
    AccessEvent, Actions, Basis, BreakGlass, BreakGlassId, Consent, ConsentId, Decision,
    DenyReason, ParticipantChange, ParticipantUpdate, Purpose, Purposes, Scope,
};
pub use ids::{LedgerId, ParticipantId, RecordId};
pub use participant::{Participant, Roles};
pub use record::{Category, EpochShare, KeyWrap, RecordHeader};
pub use tx::{Genesis, SignedTx, Tx, TxBody, TxKind};
pub use validators::ValidatorSet;

/// Format version of every structure in this release (docs/FORMAT.md §1).
pub const FORMAT_VERSION: u16 = 2;

/// Checks a decoded format version.
pub(crate) fn check_version(what: &'static str, found: u16) -> crate::Result<()> {
    if found != FORMAT_VERSION {
        return Err(crate::Error::UnsupportedVersion {
            what,
            found,
            supported: FORMAT_VERSION,
        });
    }
    Ok(())
}
