//! Blocks: a header committing to the log, validator seals, transactions.
//!
//! ```text
//! Block  = header (166 bytes) | seal_count u16 | seals (66 bytes each)
//!        | tx_count u32 | (tx_len u32 | tx bytes)*
//! Header = version u16 | ledger_id 32 | height u64 | prev_hash 32
//!        | timestamp u64 | first_leaf u64 | tx_count u32 | log_size u64
//!        | log_root 32 | validator_set_hash 32
//! Seal   = validator_index u16 | Ed25519 signature 64
//! ```
//! A validator signs `u8 len ‖ "medledger/v2/seal" ‖ header_hash`, where
//! `header_hash = tagged_hash("medledger/v2/block", header bytes)`.

use crate::Result;
use crate::codec::{Reader, Writer};
use crate::crypto::hash::{Digest, label, tagged_hash};
use crate::crypto::sign::{Signature, SigningKey};
use crate::model::tx::MAX_TX_LEN;
use crate::model::validators::MAX_VALIDATORS;
use crate::model::{FORMAT_VERSION, LedgerId, check_version};

/// Encoded size of a block header.
pub const HEADER_LEN: usize = 2 + 32 + 8 + 32 + 8 + 8 + 4 + 8 + 32 + 32;
/// Encoded size of one seal.
pub const SEAL_LEN: usize = 2 + 64;
/// Most transactions one block may hold.
pub const MAX_BLOCK_TXS: usize = 1_000_000;
/// Largest encoded block, 256 MiB (a block is decoded in memory).
pub const MAX_BLOCK_LEN: usize = 256 << 20;

/// A block header. Its hash is what validators sign and what the next block
/// links to.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BlockHeader {
    /// Ledger this block belongs to.
    pub ledger_id: LedgerId,
    /// 0 for the genesis block.
    pub height: u64,
    /// Hash of the previous header; all-zero at height 0.
    pub prev_hash: Digest,
    /// Milliseconds since the Unix epoch; never decreases along the chain.
    pub timestamp: u64,
    /// Index of the block's first transaction in the log.
    pub first_leaf: u64,
    /// Transactions in the block.
    pub tx_count: u32,
    /// Log size after the block (`first_leaf + tx_count`).
    pub log_size: u64,
    /// Merkle root of the log at `log_size`.
    pub log_root: Digest,
    /// Hash of the validator set that must seal this block.
    pub validator_set_hash: Digest,
}

impl BlockHeader {
    /// Canonical encoding (always [`HEADER_LEN`] bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(HEADER_LEN);
        w.u16(FORMAT_VERSION)
            .digest(&self.ledger_id.0)
            .u64(self.height)
            .digest(&self.prev_hash)
            .u64(self.timestamp)
            .u64(self.first_leaf)
            .u32(self.tx_count)
            .u64(self.log_size)
            .digest(&self.log_root)
            .digest(&self.validator_set_hash);
        w.into_bytes()
    }

    /// Decodes a header.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        check_version("block header", r.u16("header.version")?)?;
        Ok(BlockHeader {
            ledger_id: LedgerId(r.digest("header.ledger_id")?),
            height: r.u64("header.height")?,
            prev_hash: r.digest("header.prev_hash")?,
            timestamp: r.u64("header.timestamp")?,
            first_leaf: r.u64("header.first_leaf")?,
            tx_count: r.u32("header.tx_count")?,
            log_size: r.u64("header.log_size")?,
            log_root: r.digest("header.log_root")?,
            validator_set_hash: r.digest("header.validator_set_hash")?,
        })
    }

    /// The header hash.
    pub fn hash(&self) -> Digest {
        tagged_hash(label::BLOCK, &[&self.encode()])
    }

    /// The message a validator signs to seal a header with this hash.
    pub fn seal_message(header_hash: &Digest) -> Vec<u8> {
        let mut m = Vec::with_capacity(1 + label::SEAL.len() + 32);
        m.push(u8::try_from(label::SEAL.len()).unwrap_or(u8::MAX));
        m.extend_from_slice(label::SEAL.as_bytes());
        m.extend_from_slice(&header_hash.0);
        m
    }

    /// Signs this header as the validator at `index` of the current set.
    pub fn seal(&self, index: u16, key: &SigningKey) -> Seal {
        Seal {
            validator: index,
            signature: key.sign(&Self::seal_message(&self.hash())),
        }
    }
}

/// One validator's signature over a header hash.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Seal {
    /// Index in the validator set (sorted by id).
    pub validator: u16,
    /// Signature over the seal message.
    pub signature: Signature,
}

/// Field names for errors when decoding a list of seals.
pub struct SealFields {
    /// The `u16` count.
    pub count: &'static str,
    /// A seal's validator index.
    pub validator: &'static str,
    /// A seal's signature.
    pub signature: &'static str,
}

impl Seal {
    /// Writes `u16 count ‖ (u16 validator ‖ [64] signature)*`.
    pub fn write_all(w: &mut Writer, seals: &[Seal]) {
        w.u16(u16::try_from(seals.len()).unwrap_or(u16::MAX));
        for s in seals {
            w.u16(s.validator).raw(&s.signature.0);
        }
    }

    /// Reads what [`Seal::write_all`] writes; more than
    /// [`MAX_VALIDATORS`] seals is a decoding error.
    pub fn read_all(r: &mut Reader<'_>, names: &SealFields) -> Result<Vec<Seal>> {
        let at = r.offset();
        let n = usize::from(r.u16(names.count)?);
        if n > MAX_VALIDATORS {
            return Err(crate::Error::Decode {
                what: names.count,
                offset: at,
                reason: "more seals than validators allowed",
            });
        }
        let mut seals = Vec::with_capacity(n);
        for _ in 0..n {
            seals.push(Seal {
                validator: r.u16(names.validator)?,
                signature: Signature(r.fixed(names.signature)?),
            });
        }
        Ok(seals)
    }
}

/// A sealed block as stored: header, seals (strictly ascending validator
/// index) and the encoded transactions.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// Validator seals, strictly ascending by index.
    pub seals: Vec<Seal>,
    /// Encoded signed transactions, in log order.
    pub txs: Vec<Vec<u8>>,
}

/// A decoded block plus the byte offset of each transaction, so faults can
/// name the exact position in the stored bytes.
pub struct DecodedBlock {
    /// The block.
    pub block: Block,
    /// Offset of each transaction's bytes within the encoded block.
    pub tx_offsets: Vec<usize>,
}

impl Block {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let body: usize = self.txs.iter().map(|t| t.len() + 4).sum();
        let mut w = Writer::with_capacity(HEADER_LEN + 6 + self.seals.len() * SEAL_LEN + body);
        w.raw(&self.header.encode());
        Seal::write_all(&mut w, &self.seals);
        w.count(self.txs.len());
        for t in &self.txs {
            w.bytes(t);
        }
        w.into_bytes()
    }

    /// Decodes a stored block. The transaction count in the body may differ
    /// from the header's (the verifier reports that as truncation).
    pub fn decode(bytes: &[u8]) -> Result<DecodedBlock> {
        if bytes.len() > MAX_BLOCK_LEN {
            return Err(crate::Error::Decode {
                what: "block",
                offset: MAX_BLOCK_LEN,
                reason: "longer than the format limit",
            });
        }
        let mut r = Reader::new(bytes);
        let header = BlockHeader::decode(&mut r)?;
        let seals = Seal::read_all(
            &mut r,
            &SealFields {
                count: "block.seal_count",
                validator: "block.seals.validator",
                signature: "block.seals.signature",
            },
        )?;
        let n = r.count(MAX_BLOCK_TXS, 4, "block.tx_count")?;
        let mut txs = Vec::with_capacity(n);
        let mut tx_offsets = Vec::with_capacity(n);
        for _ in 0..n {
            let t = r.bytes(MAX_TX_LEN, "block.tx")?;
            tx_offsets.push(r.offset() - t.len());
            txs.push(t.to_vec());
        }
        r.finish("block")?;
        Ok(DecodedBlock {
            block: Block { header, seals, txs },
            tx_offsets,
        })
    }
}
