//! # medledger
//!
//! An embeddable, tamper-evident, encrypted ledger of medical records under
//! the patient's control. See README.md for an overview and docs/FORMAT.md
//! for the byte format.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod codec;
pub mod crypto;
mod error;
pub mod model;
pub mod verify;

pub use error::{Error, Result};
