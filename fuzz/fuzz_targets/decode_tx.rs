//! `SignedTx::decode` on arbitrary bytes: never panics, and whatever decodes
//! re-encodes to exactly the input (one value, one encoding).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    medledger_fuzz::assert_tx_canonical(data);
});
