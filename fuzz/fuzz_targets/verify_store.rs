//! `verify_store` on stores holding fuzzed blocks: never panics, any verdict.
//!
//! Input: `mode u8 ‖ …`, by `mode % 4`:
//! - 0: the rest is block 0;
//! - 1: `split u16 ‖ bytes`: two blocks, `bytes[..split % (len+1)]` and the rest;
//! - 2: `flags u8 ‖ prev u8 ‖ bytes`: blocks `0..=prev` of a real chain, then
//!   `bytes` as the next block, raw;
//! - 3: as 2, but `bytes` is decoded as a block and re-bound to the chain
//!   (ledger id, height, links, counts, log root, fresh seals, transactions
//!   of known authors re-signed; see `Base::fixup`) so that the fuzzed
//!   transactions reach the ledger rules. Undecodable bytes go in raw.
//!
//! Flags (modes 2, 3): 0x01 check payloads, 0x02 strict signatures,
//! 0x04 expect the appended block as head; 0x08..0x80 see `Base::fixup`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use medledger::log::block::Block;
use medledger::{MemoryStore, Store, VerifyOptions, verify_store};
use medledger_fuzz::Base;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut opts = VerifyOptions::default();
    let store = match mode % 4 {
        0 => {
            let s = MemoryStore::new();
            s.append_block(rest, &[]).unwrap();
            s
        }
        1 => {
            let (split, bytes) = match rest {
                [a, b, bytes @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), bytes),
                _ => (0, rest),
            };
            let (x, y) = bytes.split_at(split % (bytes.len() + 1));
            let s = MemoryStore::new();
            s.append_block(x, &[]).unwrap();
            s.append_block(y, &[]).unwrap();
            s
        }
        m => {
            let [flags, prev, bytes @ ..] = rest else {
                return;
            };
            let base = Base::get();
            let prev = usize::from(*prev) % base.blocks.len();
            let s = base.store(prev);
            let mut bytes = bytes.to_vec();
            if m == 3
                && let Ok(d) = Block::decode(&bytes)
            {
                let mut b = d.block;
                base.fixup(prev, &mut b, *flags);
                bytes = b.encode();
            }
            opts.check_payloads = flags & 0x01 != 0;
            opts.batch_signatures = flags & 0x02 == 0;
            if flags & 0x04 != 0
                && let Ok(d) = Block::decode(&bytes)
            {
                opts.expected_head = Some((prev as u64 + 1, d.block.header.hash()));
            }
            s.append_block(&bytes, &[]).unwrap();
            s
        }
    };
    let report = verify_store(&store, &opts);
    // The report is consistent with itself.
    if report.is_ok() {
        assert_eq!(report.blocks, store.block_count().unwrap());
    }
    let shown = report.to_string();
    if debug() {
        eprintln!(
            "mode {} store of {} blocks: {shown}",
            mode % 4,
            store.block_count().unwrap()
        );
    }
});

/// `MEDLEDGER_FUZZ_DEBUG=1` prints every verdict (to check the seeds).
fn debug() -> bool {
    static DEBUG: OnceLock<bool> = OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("MEDLEDGER_FUZZ_DEBUG").is_some())
}
