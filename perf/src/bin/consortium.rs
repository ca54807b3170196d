//! Blocks sealed across four nodes, and the catch-up rate of a new node
//! (issue: consortium, performance).
//!
//! ```sh
//! cargo run --release --manifest-path perf/Cargo.toml --bin consortium            # 20 blocks
//! cargo run --release --manifest-path perf/Cargo.toml --bin consortium -- --quick # 4 blocks
//! ```
//!
//! Four nodes in this process, each a directory store (fsync on commit)
//! served over TCP on 127.0.0.1 (`medledger::consortium::tcp`), 3-of-4
//! validators. Node A proposes; B, C and D endorse. Per block, A's pending
//! transactions are 1000 single-signed appends of a 1 KiB record, made
//! before the clock starts (client work). Timed: `propose_round` = the
//! proposal shipped to B, C, D over TCP (1000 transactions and their
//! ciphertexts), each validator's full check (seals, log root, rules,
//! 1000 signatures batch-verified, ciphertext digests) and staging, the
//! seals back, A's commit (fsync), the commit pushed to B, C, D (each
//! fsyncs). Then a fresh node joins from the genesis block and catches up
//! from B over TCP: every block verified before it is stored.
//!
//! The limit line is one core's Ed25519 batch verification of 1000
//! signatures (the dominant cost a validator pays per block), measured in
//! the same run; on 2 cores the three validators and the proposer share
//! them, so sealed blocks/s ≈ limit × cores ÷ (3 validators + importer).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use medledger::consortium::{Node, Peer, PeerUpstream, TcpPeer, tcp};
use medledger::crypto::sign::{BatchItem, check_public_key, verify_batch_on};
use medledger::{Consent, Genesis, Keypair, Ledger, NewRecord, Roles};

const TXS: usize = 1000;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("medledger-perf-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn serve(node: &Arc<Node>) -> TcpPeer {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let n = Arc::clone(node);
    std::thread::spawn(move || tcp::serve(l, n));
    TcpPeer::new(addr, Duration::from_secs(60))
}

fn batch_verify_limit_ms() -> f64 {
    let k = Keypair::generate();
    let key = check_public_key(&k.public().sign).unwrap();
    let msgs: Vec<Vec<u8>> = (0..TXS)
        .map(|i| format!("message {i} {}", "x".repeat(200)).into_bytes())
        .collect();
    let sigs: Vec<_> = msgs.iter().map(|m| k.signing_key().sign(m)).collect();
    let items: Vec<BatchItem<'_>> = msgs
        .iter()
        .zip(&sigs)
        .map(|(m, s)| BatchItem {
            message: m,
            signature: *s,
            key,
        })
        .collect();
    let mut v: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            verify_batch_on(&items, 1).unwrap();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[3]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let blocks = if quick { 4 } else { 20 };
    let admin = Keypair::generate();
    let vals: Vec<Arc<Keypair>> = (0..4).map(|_| Arc::new(Keypair::generate())).collect();
    let doc = Keypair::generate();
    let patient = Keypair::generate();
    let mut founders = vec![admin.participant(Roles::ADMIN, "desk")];
    for (i, v) in vals.iter().enumerate() {
        founders.push(v.participant(Roles::VALIDATOR, &format!("hospital {i}")));
    }
    let genesis = Genesis::new("perf consortium", 3, founders).unwrap();
    let refs: Vec<&Keypair> = vals.iter().map(|v| v.as_ref()).collect();
    let a = Ledger::create_dir(&dir("a"), genesis, &refs).unwrap();
    let g = a.shipped_block(0).unwrap();
    let id = a.id();
    // Vote logs as medledger-node keeps them (an fsync per endorsement and
    // per proposal).
    let votes = |name: &str| dir(&format!("votes-{name}"));
    let node = |l: Ledger, v: &Arc<Keypair>, name: &str| {
        let d = votes(name);
        std::fs::create_dir_all(&d).unwrap();
        Arc::new(
            Node::new(Arc::new(l), vec![Arc::clone(v)])
                .with_vote_log(&d.join("node-votes"))
                .unwrap(),
        )
    };
    let mut nodes = vec![node(a, &vals[0], "a")];
    let a_peer = serve(&nodes[0]);
    let mut peers: Vec<Arc<dyn Peer>> = Vec::new();
    for (i, v) in vals.iter().enumerate().skip(1) {
        let l = Ledger::join_dir(&dir(&format!("v{i}")), &g, id).unwrap();
        l.set_upstream(Arc::new(PeerUpstream(Arc::new(a_peer.clone()))))
            .unwrap();
        let n = node(l, v, &format!("v{i}"));
        peers.push(Arc::new(serve(&n)));
        nodes.push(n);
    }
    let a = Arc::clone(nodes[0].ledger());
    a.register(&admin, doc.participant(Roles::PROVIDER, "EHR"))
        .unwrap();
    a.register(&admin, patient.participant(Roles::PATIENT, "patient"))
        .unwrap();
    nodes[0].propose_round(&peers).unwrap();
    let now = a.now();
    a.grant(
        &patient,
        &Consent::treatment(patient.id(), doc.id(), now - 1000, now + 86_400_000),
    )
    .unwrap();
    nodes[0].propose_round(&peers).unwrap();
    let payload = vec![0x5a_u8; 1024];
    let mut round = Vec::new();
    for _ in 0..blocks {
        for _ in 0..TXS {
            a.append_record(
                &doc,
                NewRecord {
                    patient: patient.id(),
                    category: "lab",
                    content_type: "application/fhir+json",
                    payload: &payload,
                },
            )
            .unwrap();
        }
        let t = Instant::now();
        let h = nodes[0].propose_round(&peers).unwrap().unwrap();
        round.push(t.elapsed().as_secs_f64());
        assert_eq!(h.tx_count as usize, TXS);
    }
    // Every node holds the head (the commit push is synchronous).
    let head = a.head().unwrap();
    for n in &nodes {
        assert_eq!(n.ledger().head().unwrap(), head);
    }
    round.sort_by(f64::total_cmp);
    let median = round[round.len() / 2];
    let total: f64 = round.iter().sum();
    let limit_ms = batch_verify_limit_ms();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    // A new node catches up from B over TCP.
    let fresh = Ledger::join_dir(&dir("fresh"), &g, id).unwrap();
    let fresh = Node::new(Arc::new(fresh), Vec::new());
    let b_peer = peers[0].clone();
    let t = Instant::now();
    let r = fresh.sync_from(b_peer.as_ref()).unwrap();
    let catch = t.elapsed().as_secs_f64();
    assert_eq!(fresh.ledger().head().unwrap(), head);

    println!(
        "## Consortium: 4 nodes on 127.0.0.1, 3-of-4, blocks of {TXS} single-signed 1 KiB appends\n"
    );
    println!("| figure | value |");
    println!("|---|---:|");
    println!(
        "| blocks sealed (median round) | {:.2} blocks/s |",
        1.0 / median
    );
    println!(
        "| transactions sealed (all rounds) | {:.0} tx/s |",
        (blocks * TXS) as f64 / total
    );
    println!("| one round, median | {:.1} ms |", median * 1e3);
    println!("| batch verify of {TXS} signatures, one core (limit) | {limit_ms:.1} ms |");
    println!(
        "| catch-up: blocks / transactions verified and stored | {} / {} |",
        r.blocks, r.transactions
    );
    println!(
        "| catch-up rate | {:.0} tx/s |",
        r.transactions as f64 / catch
    );
    println!();
    println!("METRIC cons_blocks_per_s {:.3}", 1.0 / median);
    println!("METRIC cons_tx_per_s {:.1}", (blocks * TXS) as f64 / total);
    println!("METRIC cons_round_ms {:.2}", median * 1e3);
    println!("METRIC cons_verify_limit_ms {limit_ms:.2}");
    println!("METRIC cons_cores {cores}");
    println!(
        "METRIC catchup_tx_per_s {:.1}",
        r.transactions as f64 / catch
    );
    println!("METRIC catchup_tx {}", r.transactions);
}
