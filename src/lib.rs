#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod access;
pub mod codec;
pub mod consortium;
pub mod crypto;
mod error;
#[allow(unsafe_code)]
pub mod ffi;
mod ledger;
pub mod log;
pub mod model;
pub mod proof;
pub mod store;
pub mod verify;

pub use crypto::keypair::{KdfParams, Keypair, PublicKeys};
pub use error::{Error, Result};
pub use ledger::{
    Clock, Endorsed, ErasureReceipt, Imported, Ledger, NewRecord, Record, RecordInfo, Served,
    Upstream, now_ms,
};
pub use log::block::BlockHeader;
pub use model::validators::Validator;
pub use model::{
    Actions, Basis, BreakGlassId, Category, Consent, ConsentId, Decision, DenyReason, Genesis,
    LedgerId, Participant, ParticipantId, Purpose, Purposes, RecordId, Roles, Scope, ValidatorSet,
};
pub use store::{Access, DirStore, OpenReport};
pub use store::{MemoryStore, Store};
pub use verify::{Fault, FaultKind, Location, Report, VerifyOptions, verify_store};
