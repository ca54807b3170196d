//! The offline evidence verifier on arbitrary input never panics, and the
//! pinned real bundle (tests/vectors/evidence_v1.hex) verifies exactly when
//! nothing was XORed into it.
//!
//! Input: any bytes. They are verified as a bundle, then XORed byte by
//! byte into the pinned bundle (bytes past its end are ignored).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use medledger::proof::evidence::verify;

fn pinned() -> &'static [u8] {
    static BUNDLE: OnceLock<Vec<u8>> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let hex = include_str!("../../tests/vectors/evidence_v1.hex").trim();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    // Arbitrary bytes: any verdict, no panic. A bundle that verifies stops
    // verifying without its last byte (the end of a seal).
    if verify(data).is_ok() {
        assert!(verify(&data[..data.len() - 1]).is_err());
    }

    let good = pinned();
    let mut bad = good.to_vec();
    let mut changed = false;
    for (b, m) in bad.iter_mut().zip(data) {
        *b ^= m;
        changed |= *m != 0;
    }
    let ok = verify(&bad).is_ok();
    assert_eq!(ok, !changed, "verdict on the pinned bundle XOR input");
});
