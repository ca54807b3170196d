//! Proofs a third party checks without the ledger: inclusion and
//! consistency proofs, evidence bundles (docs/FORMAT.md §9), and heads
//! exported as C2SP checkpoints (§10).

pub mod checkpoint;
pub mod equivocation;
pub mod evidence;
pub mod inclusion;

pub use equivocation::Equivocation;
pub use evidence::{EvidenceReport, EvidenceTarget};
pub use inclusion::{ConsistencyProof, InclusionProof};
