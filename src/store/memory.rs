//! In-memory store, for tests and ephemeral ledgers.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::crypto::hash::Digest;
use crate::store::Store;
use crate::{Error, Result};

#[derive(Default)]
struct Contents {
    blocks: Vec<Vec<u8>>,
    vault: HashMap<Digest, Vec<u8>>,
}

/// Blocks and vault held in memory. Clones share the same contents, so a
/// test can keep a handle and tamper with the real stored bytes of a ledger
/// it handed the store to.
#[derive(Default, Clone)]
pub struct MemoryStore {
    contents: Arc<RwLock<Contents>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, Contents>> {
        self.contents
            .read()
            .map_err(|_| Error::System("memory store lock poisoned".into()))
    }

    fn write(&self) -> Result<RwLockWriteGuard<'_, Contents>> {
        self.contents
            .write()
            .map_err(|_| Error::System("memory store lock poisoned".into()))
    }

    /// Changes a stored block's bytes in place (tamper tests). Returns false
    /// when there is no such block.
    pub fn tamper_block(&self, height: u64, f: impl FnOnce(&mut Vec<u8>)) -> bool {
        let Ok(mut c) = self.write() else {
            return false;
        };
        match usize::try_from(height)
            .ok()
            .and_then(|h| c.blocks.get_mut(h))
        {
            Some(b) => {
                f(b);
                true
            }
            None => false,
        }
    }

    /// Changes a stored ciphertext in place (tamper tests).
    pub fn tamper_payload(&self, digest: &Digest, f: impl FnOnce(&mut Vec<u8>)) -> bool {
        let Ok(mut c) = self.write() else {
            return false;
        };
        match c.vault.get_mut(digest) {
            Some(p) => {
                f(p);
                true
            }
            None => false,
        }
    }

    /// Removes a ciphertext from the vault behind the ledger's back (tamper
    /// tests: a payload missing without an erasure).
    pub fn remove_payload(&self, digest: &Digest) -> Option<Vec<u8>> {
        self.write().ok().and_then(|mut c| c.vault.remove(digest))
    }

    /// Drops blocks from `height` on (truncation tests).
    pub fn truncate_blocks(&self, height: u64) {
        if let Ok(mut c) = self.write() {
            c.blocks
                .truncate(usize::try_from(height).unwrap_or(usize::MAX));
        }
    }

    /// Swaps two stored blocks (reordering tests).
    pub fn swap_blocks(&self, a: u64, b: u64) {
        if let (Ok(mut c), Ok(a), Ok(b)) = (self.write(), usize::try_from(a), usize::try_from(b))
            && a < c.blocks.len()
            && b < c.blocks.len()
        {
            c.blocks.swap(a, b);
        }
    }
}

impl Store for MemoryStore {
    fn block_count(&self) -> Result<u64> {
        Ok(self.read()?.blocks.len() as u64)
    }

    fn read_block(&self, height: u64) -> Result<Vec<u8>> {
        usize::try_from(height)
            .ok()
            .and_then(|h| self.read().ok()?.blocks.get(h).cloned())
            .ok_or_else(|| Error::NotFound(format!("block {height}")))
    }

    fn append_block(&self, encoded: &[u8], payloads: &[(Digest, Vec<u8>)]) -> Result<()> {
        let mut c = self.write()?;
        for (d, ct) in payloads {
            c.vault.insert(*d, ct.clone());
        }
        c.blocks.push(encoded.to_vec());
        Ok(())
    }

    fn get_payload(&self, digest: &Digest) -> Result<Option<Vec<u8>>> {
        Ok(self.read()?.vault.get(digest).cloned())
    }

    fn erase_payload(&self, digest: &Digest) -> Result<bool> {
        Ok(self.write()?.vault.remove(digest).is_some())
    }
}
