//! Checks an evidence bundle (docs/FORMAT.md §9) with nothing but the file.
//!
//! Run with `cargo run --example verify_evidence -- <bundle file> [<ledger
//! id>]`; with the ledger id (64 hex digits) the bundle must be for that
//! ledger, without it the id is printed to be compared by hand. Prints
//! what the bundle proves and exits 0, or prints which part and field
//! failed and exits 1 (2 for a usage or I/O error).

use std::process::ExitCode;

use medledger::LedgerId;
use medledger::crypto::hash::Digest;
use medledger::proof::evidence::{verify, verify_for_ledger};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(path), expected, None) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: verify_evidence <bundle file> [<ledger id, 64 hex digits>]");
        return ExitCode::from(2);
    };
    let expected = match expected.map(|e| parse_id(&e.to_string_lossy())) {
        None => None,
        Some(Some(id)) => Some(id),
        Some(None) => {
            eprintln!("the ledger id must be 64 hex digits");
            return ExitCode::from(2);
        }
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot read {}: {e}", path.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    let verdict = match &expected {
        Some(id) => verify_for_ledger(&bytes, id),
        None => verify(&bytes),
    };
    match verdict {
        Ok(r) => {
            println!("VALID evidence");
            if expected.is_none() {
                println!("  (check the ledger id below against the one you trust)");
            }
            println!("  ledger            {}", r.ledger_id.to_hex());
            println!("  transaction       leaf {} ({:?})", r.leaf, r.kind);
            println!("  author            {}", r.author.to_hex());
            println!("  signed under key  {}", hex(&r.signer_key));
            println!("  author time       {} ms", r.timestamp);
            for id in &r.records {
                println!("  record            {}", id.to_hex());
            }
            println!(
                "  block             height {}, hash {}, time {} ms",
                r.height,
                r.header_hash.to_hex(),
                r.block_timestamp
            );
            println!(
                "  sealed by         {} validators of set {} ({} set changes from genesis)",
                r.seals,
                r.validator_set_hash.to_hex(),
                r.validator_changes
            );
            match r.ciphertext_of {
                Some(id) => println!(
                    "  ciphertext        matches the header of record {}",
                    id.to_hex()
                ),
                None => println!("  ciphertext        not included"),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("INVALID evidence: {e}");
            ExitCode::from(1)
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_id(hex: &str) -> Option<LedgerId> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 || !bytes.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut id = [0u8; 32];
    for (out, pair) in id.iter_mut().zip(bytes.chunks_exact(2)) {
        let s = std::str::from_utf8(pair).ok()?;
        *out = u8::from_str_radix(s, 16).ok()?;
    }
    Some(LedgerId(Digest(id)))
}
