//! A block as it travels between nodes: the stored block bytes and the
//! ciphertexts of its records that the sender holds (docs/FORMAT.md §11.1).
//!
//! ```text
//! ShippedBlock = version u16 | block_len u32 | block (§4)
//!              | payload_count u32 | (len u32 | ciphertext)*
//! ```
//! Nothing in it is trusted: the receiver verifies the block like the
//! verifier does and checks each ciphertext against the digest on chain.

use crate::Result;
use crate::codec::{Reader, Writer};
use crate::log::block::{Block, MAX_BLOCK_LEN, MAX_BLOCK_TXS};
use crate::model::{FORMAT_VERSION, check_version};

/// A block and the record ciphertexts that travel with it.
#[derive(Clone, PartialEq, Eq)]
pub struct ShippedBlock {
    /// The encoded block (seals may be absent in a proposal).
    pub block: Vec<u8>,
    /// Ciphertexts of the block's records, any order; erased ones absent.
    pub payloads: Vec<Vec<u8>>,
}

impl core::fmt::Debug for ShippedBlock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "ShippedBlock({} block bytes, {} payloads)",
            self.block.len(),
            self.payloads.len()
        )
    }
}

impl ShippedBlock {
    /// Ships `block` with `payloads`.
    pub fn new(block: &Block, payloads: Vec<Vec<u8>>) -> Self {
        ShippedBlock {
            block: block.encode(),
            payloads,
        }
    }

    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(
            10 + self.block.len() + self.payloads.iter().map(|p| p.len() + 4).sum::<usize>(),
        );
        self.encode_into(&mut w);
        w.into_bytes()
    }

    /// Appends the encoding to `w`.
    pub fn encode_into(&self, w: &mut Writer) {
        w.u16(FORMAT_VERSION).bytes(&self.block);
        w.count(self.payloads.len());
        for p in &self.payloads {
            w.bytes(p);
        }
    }

    /// Decodes one shipped block from `r` (bounds only; no verification).
    pub fn decode_from(r: &mut Reader<'_>) -> Result<Self> {
        check_version("shipped block", r.u16("shipped.version")?)?;
        let block = r.bytes(MAX_BLOCK_LEN, "shipped.block")?.to_vec();
        let n = r.count(MAX_BLOCK_TXS, 4, "shipped.payload_count")?;
        let mut payloads = Vec::with_capacity(n);
        for _ in 0..n {
            payloads.push(r.bytes(MAX_BLOCK_LEN, "shipped.payload")?.to_vec());
        }
        Ok(ShippedBlock { block, payloads })
    }

    /// Decodes a whole input holding exactly one shipped block.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let s = Self::decode_from(&mut r)?;
        r.finish("shipped block")?;
        Ok(s)
    }
}
