//! Proofs a third party checks without the ledger: inclusion and
//! consistency proofs, evidence bundles, and heads exported as C2SP
//! checkpoints.

pub mod checkpoint;
