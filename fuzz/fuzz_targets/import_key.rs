//! `Keypair::import_encrypted` on arbitrary bytes never panics. Inputs whose
//! Argon2 memory cost is accepted but above 64 KiB are skipped: they are
//! slow by design, not interesting. Costs above the import limit (1 GiB)
//! are kept: they must be refused before hashing.
#![no_main]

use libfuzzer_sys::{Corpus, fuzz_target};
use medledger::Keypair;

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fuzz_target!(|data: &[u8]| -> Corpus {
    // Key file: magic 8, version 2, m_cost 4 (offset 10), t_cost 4, p_cost 4.
    if let Some(m) = u32_at(data, 10)
        && m > 64
        && m <= 1 << 20
    {
        return Corpus::Reject;
    }
    if let Ok(kp) = Keypair::import_encrypted(data, b"pw") {
        // Only an authentic file opens, and it names its own participant.
        assert_eq!(data.get(38..70), Some(kp.id().as_bytes().as_slice()));
    }
    Corpus::Keep
});
