//! Merkle log growth and proof costs at scale (issue: assurance and
//! performance): appends to medledger's RFC 9162 SHA3-256 Merkle log
//! ([`MerkleLog`]), then measures inclusion and consistency proof
//! generation and verification, and proof size, at several log sizes, next
//! to the SHA3-256 node-hash limit measured in the same run.
//!
//! ```sh
//! cargo run --release --manifest-path perf/Cargo.toml --bin proofs            # up to 1M leaves
//! cargo run --release --manifest-path perf/Cargo.toml --bin proofs -- --quick  # up to 65,536
//! ```
//! The ledger's log has one leaf per transaction plus one per access event;
//! a batch-signed block of 1000 records is one leaf, so 1M leaves stand for
//! 1M single-signed records or far more batch-signed ones.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use medledger::crypto::hash::Digest;
use medledger::log::merkle::{
    MerkleHasher, MerkleLog, Sha3Hasher, verify_consistency, verify_inclusion,
};

/// Nanoseconds per call of `f`, median of 5 timed batches of about 50 ms.
fn ns_per<F: FnMut(u64)>(mut f: F) -> f64 {
    let mut n = 1u64;
    loop {
        let t = Instant::now();
        for i in 0..n {
            f(i);
        }
        if t.elapsed() > Duration::from_millis(50) {
            break;
        }
        n *= 2;
    }
    let mut v: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for i in 0..n {
                f(i);
            }
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[2]
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0)
        * 4096
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let max: u64 = if quick { 1 << 16 } else { 1 << 20 };
    let sizes: Vec<u64> = [1_000u64, 1 << 16, 1 << 20]
        .into_iter()
        .filter(|&s| s <= max)
        .collect();

    let a = Sha3Hasher::hash_leaf(b"a");
    let b = Sha3Hasher::hash_leaf(b"b");
    let node_ns = ns_per(|_| {
        black_box(Sha3Hasher::hash_children(black_box(&a), black_box(&b)));
    });

    let leaves: Vec<Digest> = (0..max)
        .map(|i| Sha3Hasher::hash_leaf(&i.to_le_bytes()))
        .collect();
    let rss0 = rss_bytes();
    let mut log: MerkleLog = MerkleLog::new();
    let t = Instant::now();
    for l in &leaves {
        log.push(*l);
    }
    let push_ns = t.elapsed().as_nanos() as f64 / max as f64;
    let log_bytes_per_leaf = rss_bytes().saturating_sub(rss0) as f64 / max as f64;

    println!("## Merkle log and proofs (SHA3-256, RFC 9162), up to {max} leaves\n");
    println!(
        "SHA3-256 node hash (limit): {node_ns:.0} ns; push, amortised over {max} leaves: \
         {push_ns:.0} ns = {:.2} node hashes; log memory ≈ {log_bytes_per_leaf:.0} B per leaf \
         (every level kept: ≈ 2 × 32 B)\n",
        push_ns / node_ns
    );
    println!(
        "| leaves n | ⌈log2 n⌉ | inclusion proof B | gen µs | verify µs | verify / (⌈log2 n⌉ node hashes) \
         | consistency (⌊2n/3⌋ → n) B | gen µs | verify µs |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        let root = log.root_at(n).expect("root");
        let depth = 64 - (n - 1).leading_zeros();
        // Spread indices over the tree (a fixed odd stride).
        let idx = |i: u64| (i.wrapping_mul(2_654_435_761)) % n;
        let proof_len = log.inclusion_proof(idx(7), n).expect("proof").len();
        let gen_ns = ns_per(|i| {
            black_box(log.inclusion_proof(idx(i), n).expect("proof"));
        });
        let proofs: Vec<(u64, Vec<Digest>)> = (0..256)
            .map(|i| (idx(i), log.inclusion_proof(idx(i), n).expect("proof")))
            .collect();
        let ver_ns = ns_per(|i| {
            let (k, p) = &proofs[(i % 256) as usize];
            verify_inclusion::<Sha3Hasher>(&leaves[*k as usize], *k, n, p, &root).expect("verify");
        });
        let m = (n * 2 / 3).max(1);
        let root_m = log.root_at(m).expect("root");
        let cons = log.consistency_proof(m, n).expect("consistency");
        let cgen_ns = ns_per(|_| {
            black_box(log.consistency_proof(m, n).expect("consistency"));
        });
        let cver_ns = ns_per(|_| {
            verify_consistency::<Sha3Hasher>(m, n, &cons, &root_m, &root).expect("verify");
        });
        println!(
            "| {n} | {depth} | {} | {:.1} | {:.1} | {:.2} | {} | {:.1} | {:.1} |",
            proof_len * 32,
            gen_ns / 1e3,
            ver_ns / 1e3,
            ver_ns / (f64::from(depth) * node_ns),
            cons.len() * 32,
            cgen_ns / 1e3,
            cver_ns / 1e3
        );
        println!("METRIC proof_incl_bytes_{n} {}", proof_len * 32);
        println!("METRIC proof_incl_gen_us_{n} {:.2}", gen_ns / 1e3);
        println!("METRIC proof_incl_verify_us_{n} {:.2}", ver_ns / 1e3);
        println!(
            "METRIC proof_incl_verify_limit_us_{n} {:.2}",
            f64::from(depth) * node_ns / 1e3
        );
        println!("METRIC proof_cons_bytes_{n} {}", cons.len() * 32);
        println!("METRIC proof_cons_gen_us_{n} {:.2}", cgen_ns / 1e3);
        println!("METRIC proof_cons_verify_us_{n} {:.2}", cver_ns / 1e3);
    }
    println!("METRIC proof_max_leaves {max}");
    println!("METRIC merkle_node_ns {node_ns:.1}");
    println!("METRIC merkle_push_ns {push_ns:.1}");
    println!("METRIC merkle_bytes_per_leaf {log_bytes_per_leaf:.1}");
}
