//! Proofs served by a ledger: inclusion and consistency proofs against
//! sealed log sizes, and evidence bundles (docs/FORMAT.md §9), all checked
//! by third parties with [`crate::proof`] alone.

use super::Ledger;
use crate::codec::Reader;
use crate::log::block::{Block, BlockHeader};
use crate::model::consent::ParticipantChange;
use crate::model::{ParticipantId, RecordId, SignedTx, TxBody, TxKind};
use crate::proof::evidence::{Bundle, Change, Ciphertext, Committed, SealedHeader};
use crate::proof::{ConsistencyProof, EvidenceTarget, InclusionProof};
use crate::{Error, Result};

/// The kind field of an encoded transaction (offset 2), without decoding it.
fn kind_of(tx: &[u8]) -> Option<u16> {
    tx.get(2..4)
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .map(u16::from_le_bytes)
}

/// True when `tx` registers `author` or rotates its keys.
fn is_key_event(tx: &[u8], author: &ParticipantId) -> Result<bool> {
    let relevant = matches!(
        kind_of(tx),
        Some(k) if k == TxKind::RegisterParticipant as u16 || k == TxKind::UpdateParticipant as u16
    );
    if !relevant {
        return Ok(false);
    }
    Ok(match SignedTx::decode(tx)?.tx.body {
        TxBody::Register(p) => p.id == *author,
        TxBody::Update(u) => {
            u.participant == *author && matches!(u.change, ParticipantChange::RotateKeys { .. })
        }
        _ => false,
    })
}

impl Ledger {
    /// The committed block at `height` (at most the head's), decoded.
    fn committed_block(&self, height: u64) -> Result<Block> {
        Ok(Block::decode(&self.store.read_block(height)?)?.block)
    }

    /// The header of the committed block at `height` (the rest of the
    /// block is not decoded).
    fn committed_header(&self, height: u64) -> Result<BlockHeader> {
        BlockHeader::decode(&mut Reader::new(&self.store.read_block(height)?))
    }

    /// The committed block holding `leaf`, by binary search over the
    /// heights up to `head`.
    fn block_holding(&self, leaf: u64, head: &BlockHeader) -> Result<Block> {
        if leaf >= head.log_size {
            return Err(Error::NotFound(format!(
                "committed transaction {leaf} (the committed log has {} leaves)",
                head.log_size
            )));
        }
        let (mut lo, mut hi) = (0u64, head.height);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.committed_header(mid)?.log_size > leaf {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let block = self.committed_block(lo)?;
        let h = &block.header;
        if leaf < h.first_leaf || leaf >= h.log_size {
            return Err(Error::System(format!(
                "stored block {lo} does not hold leaf {leaf}"
            )));
        }
        Ok(block)
    }

    /// Checks that `size` is the log size of a committed block, whose
    /// sealed header signs the root at that size.
    fn check_sealed_size(&self, what: &'static str, size: u64, head: &BlockHeader) -> Result<()> {
        let last = size
            .checked_sub(1)
            .ok_or_else(|| Error::invalid(what, "a sealed log is never empty"))?;
        if size > head.log_size {
            return Err(Error::invalid(
                what,
                format!("{size} is beyond the committed log ({})", head.log_size),
            ));
        }
        if self.block_holding(last, head)?.header.log_size != size {
            return Err(Error::invalid(
                what,
                format!("{size} is not the log size of a committed block"),
            ));
        }
        Ok(())
    }

    /// The inclusion proof of the committed transaction at `leaf` in the
    /// log of `size` leaves, where `size` is the `log_size` of a committed
    /// block (so its root is in a sealed header). At most 64 hashes.
    pub fn inclusion_proof(&self, leaf: u64, size: u64) -> Result<InclusionProof> {
        let head = self.head()?;
        self.check_sealed_size("size", size, &head)?;
        if leaf >= size {
            return Err(Error::invalid(
                "leaf",
                format!("{leaf} is not below the size {size}"),
            ));
        }
        let hashes = self.read()?.log.inclusion_proof(leaf, size)?;
        Ok(InclusionProof { leaf, size, hashes })
    }

    /// The inclusion proof of the transaction holding a committed record,
    /// against the current head's log size.
    pub fn record_inclusion(&self, id: &RecordId) -> Result<InclusionProof> {
        let info = self.record_info(id)?;
        let head = self.head()?;
        let hashes = self.read()?.log.inclusion_proof(info.leaf, head.log_size)?;
        Ok(InclusionProof {
            leaf: info.leaf,
            size: head.log_size,
            hashes,
        })
    }

    /// The consistency proof between two committed block log sizes
    /// (`0 < size1 <= size2`).
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<ConsistencyProof> {
        let head = self.head()?;
        self.check_sealed_size("size1", size1, &head)?;
        self.check_sealed_size("size2", size2, &head)?;
        let hashes = self.read()?.log.consistency_proof(size1, size2)?;
        Ok(ConsistencyProof {
            size1,
            size2,
            hashes,
        })
    }

    /// An evidence bundle (docs/FORMAT.md §9) for a committed transaction,
    /// checked offline by [`crate::proof::evidence::verify`]. With
    /// `include_ciphertext`, it carries the ciphertext of the target record
    /// (for [`EvidenceTarget::Leaf`], the transaction's first record); an
    /// erased ciphertext is `NotFound`.
    ///
    /// Reads every committed block up to the target's (to find the
    /// validator-set changes and the author's key events).
    pub fn evidence(&self, target: EvidenceTarget, include_ciphertext: bool) -> Result<Vec<u8>> {
        let head = self.head()?;
        let (leaf, record) = match target {
            EvidenceTarget::Record(id) => {
                let inner = self.read()?;
                let r = inner
                    .state
                    .records
                    .get(&id)
                    .filter(|r| r.position.leaf < head.log_size)
                    .ok_or_else(|| Error::NotFound(format!("committed record {id}")))?;
                (r.position.leaf, Some(r.record_index))
            }
            EvidenceTarget::Leaf(0) => {
                return Err(Error::invalid(
                    "leaf",
                    "the genesis (leaf 0) is its own evidence: the ledger id is its hash",
                ));
            }
            EvidenceTarget::Leaf(l) => (l, None),
        };
        let block = self.block_holding(leaf, &head)?;
        let offset = usize::try_from(leaf - block.header.first_leaf)
            .map_err(|_| Error::System("leaf offset overflows".into()))?;
        let tx = block
            .txs
            .get(offset)
            .cloned()
            .ok_or_else(|| Error::System(format!("stored block lacks leaf {leaf}")))?;
        let stx = SignedTx::decode(&tx)?;
        let author = stx.tx.author;

        let ciphertext = if include_ciphertext {
            let TxBody::Records(body) = &stx.tx.body else {
                return Err(Error::invalid(
                    "include_ciphertext",
                    format!("transaction {leaf} carries no records"),
                ));
            };
            let index = record.unwrap_or(0);
            let header = usize::try_from(index)
                .ok()
                .and_then(|i| body.records.get(i))
                .ok_or_else(|| Error::System(format!("record index {index} out of range")))?;
            let bytes = self
                .store
                .get_payload(&header.ciphertext_digest)?
                .ok_or_else(|| {
                    Error::NotFound(format!(
                        "ciphertext of record {} (erased, or not in this vault)",
                        header.id
                    ))
                })?;
            Some(Ciphertext {
                record_index: index,
                bytes,
            })
        } else {
            None
        };

        // One pass over the blocks before the target's: the last
        // SetValidators of each block, and the author's key events.
        let genesis = self
            .committed_block(0)?
            .txs
            .into_iter()
            .next()
            .ok_or_else(|| Error::System("stored genesis block is empty".into()))?;
        let mut changes: Vec<(u64, Vec<u8>, SealedHeader)> = Vec::new();
        let mut key_events: Vec<(u64, Vec<u8>)> = Vec::new();
        for height in 1..=block.header.height {
            let b = if height == block.header.height {
                block.clone()
            } else {
                self.committed_block(height)?
            };
            let mut last_change = None;
            for (l, t) in (b.header.first_leaf..).zip(b.txs) {
                if l >= leaf {
                    break;
                }
                if kind_of(&t) == Some(TxKind::SetValidators as u16) {
                    last_change = Some((l, t));
                } else if is_key_event(&t, &author)? {
                    key_events.push((l, t));
                }
            }
            if height < block.header.height
                && let Some((l, t)) = last_change
            {
                let sealed = SealedHeader {
                    header: b.header,
                    seals: b.seals,
                };
                changes.push((l, t, sealed));
            }
        }

        let size = block.header.log_size;
        let inner = self.read()?;
        let committed = |leaf: u64, tx: Vec<u8>, size: u64| -> Result<Committed> {
            Ok(Committed {
                leaf,
                path: inner.log.inclusion_proof(leaf, size)?,
                tx,
            })
        };
        let bundle = Bundle {
            genesis,
            changes: changes
                .into_iter()
                .map(|(l, t, block)| {
                    let tx = committed(l, t, block.header.log_size)?;
                    Ok(Change { tx, block })
                })
                .collect::<Result<_>>()?,
            key_events: key_events
                .into_iter()
                .map(|(l, t)| committed(l, t, size))
                .collect::<Result<_>>()?,
            target: committed(leaf, tx, size)?,
            ciphertext,
            block: SealedHeader {
                header: block.header,
                seals: block.seals,
            },
        };
        Ok(bundle.encode())
    }
}
