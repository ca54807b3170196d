//! Kill -9 loop: a child process appends and commits, printing each
//! acknowledged block; the parent kills it at random moments, reopens the
//! directory and checks that every acknowledged block is there, unchanged,
//! and that the chain verifies (payloads included).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Consortium;
use medledger::{Ledger, NewRecord, Store};
use rand::RngExt;

const CHILD_ENV: &str = "MEDLEDGER_CRASH_CHILD_DIR";

/// The child: runs only when re-executed by the parent test.
#[test]
fn crash_child_writer() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let c = if dir.join("ledger.log").exists() {
        Consortium::with_ledger(Ledger::open_dir(&dir).unwrap().0)
    } else {
        Consortium::in_dir(&dir)
    };
    let out = std::io::stdout();
    {
        let mut o = out.lock();
        writeln!(o, "READY").unwrap();
        o.flush().unwrap();
    }
    let payloads: Vec<Vec<u8>> = (0..256)
        .map(|i| vec![u8::try_from(i % 256).unwrap(); 1024])
        .collect();
    loop {
        let recs: Vec<NewRecord> = payloads.iter().map(|p| c.record("lab", p)).collect();
        c.ledger.append_batch(&c.hospital_a, &recs).unwrap();
        c.ledger
            .append_record(&c.hospital_b, c.record("imaging", b"single"))
            .unwrap();
        let h = c.commit();
        let mut o = out.lock();
        writeln!(o, "ACK {} {}", h.height, h.hash().to_hex()).unwrap();
        o.flush().unwrap();
    }
}

/// Runs the child until it is ready, lets it write for `kill_after`, kills
/// it with SIGKILL, and returns the blocks it acknowledged.
fn run_child(dir: &Path, kill_after: Duration) -> Vec<(u64, String)> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "crash_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut acked = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // libtest prints "test crash_child_writer ... " before it.
            if line.ends_with("READY") {
                let _ = ready_tx.send(());
            } else if let Some((h, hash)) =
                line.strip_prefix("ACK ").and_then(|r| r.split_once(' '))
            {
                acked.push((h.parse::<u64>().unwrap(), hash.to_owned()));
            }
        }
        acked
    });
    // Opening a grown ledger takes a while in debug builds: start the
    // clock when the child is ready to write.
    let _ = ready_rx.recv_timeout(Duration::from_secs(60));
    std::thread::sleep(kill_after);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap()
}

#[test]
fn kill_9_loop_never_loses_an_acknowledged_block() {
    let dir = std::env::temp_dir().join(format!("medledger-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let started = Instant::now();
    let mut acked: Vec<(u64, String)> = Vec::new();
    let mut rng = rand::rng();
    let mut iterations = 0;
    let mut cuts = 0u64;
    while iterations < 30 && started.elapsed() < Duration::from_secs(25) {
        let wait = Duration::from_millis(rng.random_range(20..400));
        acked.extend(run_child(&dir, wait));
        iterations += 1;
        if !dir.join("ledger.log").exists() {
            assert!(
                acked.is_empty(),
                "a block was acknowledged but no ledger exists"
            );
            continue;
        }
        let (ledger, report) = Ledger::open_dir(&dir).unwrap();
        cuts += report.bytes_cut;
        let head = ledger.head().unwrap();
        if let Some((h, _)) = acked.last() {
            assert!(
                head.height >= *h,
                "acknowledged block {h} lost; head is {}",
                head.height
            );
        }
        drop(ledger);
        // Every acknowledged block is stored with the acknowledged hash.
        let store =
            medledger::store::DirStore::open(&dir, medledger::store::Access::ReadOnly).unwrap();
        for (h, hash) in &acked {
            let d = medledger::log::block::Block::decode(&store.read_block(*h).unwrap()).unwrap();
            assert_eq!(&d.block.header.hash().to_hex(), hash, "block {h} changed");
        }
    }
    assert!(iterations >= 5);
    assert!(!acked.is_empty(), "the child never committed");
    // The final chain verifies completely, payloads included.
    let (ro, _) = Ledger::open_dir_read_only(&dir).unwrap();
    let report = ro.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    drop(ro);
    eprintln!(
        "kill -9 loop: {iterations} kills, {} acknowledged blocks kept, {cuts} torn-tail bytes cut",
        acked.len()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
