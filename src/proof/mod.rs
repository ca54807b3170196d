//! Proofs a third party checks without the ledger: inclusion and
//! consistency proofs, and evidence bundles (docs/FORMAT.md §9).

pub mod evidence;
pub mod inclusion;

pub use evidence::{EvidenceReport, EvidenceTarget};
pub use inclusion::{ConsistencyProof, InclusionProof};
