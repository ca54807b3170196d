//! Encryption of records under the key hierarchy, and the read decision.
//!
//! Key hierarchy (docs/FORMAT.md §4): each record has a fresh data key (DEK)
//! that encrypts its payload; the DEK is wrapped under the category key of
//! (patient, category, epoch); the category key is sealed to each reader
//! with X25519. Reading many records of one category costs one X25519
//! operation, not one per record.

pub mod envelope;
pub mod fhir;
pub mod policy;
