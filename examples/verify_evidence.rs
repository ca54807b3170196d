//! Checks an evidence bundle (docs/FORMAT.md §9) with nothing but the file.
//!
//! Run with `cargo run --example verify_evidence -- <bundle file>`. Prints
//! what the bundle proves and exits 0, or prints which part and field
//! failed and exits 1 (2 for a usage or I/O error).

use std::process::ExitCode;

use medledger::proof::evidence::verify;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        eprintln!("usage: verify_evidence <bundle file>");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot read {}: {e}", path.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    match verify(&bytes) {
        Ok(r) => {
            println!("VALID evidence");
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
