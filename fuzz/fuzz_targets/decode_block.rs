//! `Block::decode` on arbitrary bytes: never panics; whatever decodes
//! re-encodes to exactly the input, the transaction offsets point at the
//! transactions, and every transaction that decodes is canonical too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medledger::log::block::Block;

fuzz_target!(|data: &[u8]| {
    let Ok(d) = Block::decode(data) else {
        return;
    };
    assert_eq!(
        d.block.encode(),
        data,
        "decoded block re-encodes to other bytes"
    );
    assert_eq!(d.tx_offsets.len(), d.block.txs.len());
    for (t, &at) in d.block.txs.iter().zip(&d.tx_offsets) {
        assert_eq!(data.get(at..at + t.len()), Some(t.as_slice()));
        medledger_fuzz::assert_tx_canonical(t);
    }
});
