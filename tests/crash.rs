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
use medledger::crypto::hash::Digest;
use medledger::store::{Access, DirStore};
use medledger::{Ledger, NewRecord, Store};
use rand::RngExt;

const CHILD_ENV: &str = "MEDLEDGER_CRASH_CHILD_DIR";

/// The kill loops run one at a time: each child must get far enough to
/// commit before its random kill, which two loops at once make less likely.
static ONE_LOOP_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

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

/// Runs the child test `name` (told the directory through `env`) until it
/// is ready, lets it write for `kill_after`, kills it with SIGKILL, and
/// returns the lines it printed after READY.
fn run_child(name: &str, env: &str, dir: &Path, kill_after: Duration) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(env, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // libtest prints "test <name> ... " before it.
            if line.ends_with("READY") {
                let _ = ready_tx.send(());
            } else {
                lines.push(line);
            }
        }
        lines
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
    let _one = ONE_LOOP_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = std::env::temp_dir().join(format!("medledger-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let started = Instant::now();
    let mut acked: Vec<(u64, String)> = Vec::new();
    let mut rng = rand::rng();
    let mut iterations = 0;
    let mut cuts = 0u64;
    while iterations < 30 && started.elapsed() < Duration::from_secs(25) {
        let wait = Duration::from_millis(rng.random_range(20..400));
        let lines = run_child("crash_child_writer", CHILD_ENV, &dir, wait);
        acked.extend(lines.iter().filter_map(|l| {
            let (h, hash) = l.strip_prefix("ACK ")?.split_once(' ')?;
            Some((h.parse::<u64>().unwrap(), hash.to_owned()))
        }));
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

const ERASE_CHILD_ENV: &str = "MEDLEDGER_CRASH_ERASE_CHILD_DIR";

/// Block `h` of the erasing child (raw bytes: the store does not decode).
fn raw_block(h: u64) -> Vec<u8> {
    format!("block {h:08} ").into_bytes().repeat(8)
}

/// Payload `i` of block `h`: 256 bytes found nowhere else.
fn raw_payload(h: u64, i: u64) -> (Digest, Vec<u8>) {
    let mut x = (h * 8 + i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let ct: Vec<u8> = (0..256)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[5]
        })
        .collect();
    (medledger::model::tx::ciphertext_digest(&ct), ct)
}

/// The erasing child: appends blocks of four payloads through the store
/// and erases payloads 0 and 2 of each, printing each acknowledgement.
#[test]
fn crash_child_eraser() {
    let Some(dir) = std::env::var_os(ERASE_CHILD_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let store = if dir.join("ledger.log").exists() {
        DirStore::open(&dir, Access::Write).unwrap()
    } else {
        DirStore::create(&dir, medledger::LedgerId(Digest([3; 32])), &raw_block(0)).unwrap()
    };
    let out = std::io::stdout();
    let say = |line: String| {
        let mut o = out.lock();
        writeln!(o, "{line}").unwrap();
        o.flush().unwrap();
    };
    say("READY".into());
    loop {
        let h = store.block_count().unwrap();
        let payloads: Vec<_> = (0..4).map(|i| raw_payload(h, i)).collect();
        store.append_block(&raw_block(h), &payloads).unwrap();
        say(format!("ACK {h}"));
        for i in [0, 2] {
            assert!(store.erase_payload(&payloads[i].0).unwrap());
            say(format!("ERASED {h} {i}"));
        }
    }
}

#[test]
fn kill_9_during_erasures_never_loses_a_block_or_keeps_an_erased_payload() {
    let _one = ONE_LOOP_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = std::env::temp_dir().join(format!("medledger-crash-erase-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let started = Instant::now();
    let (mut acked, mut erased) = (Vec::new(), Vec::new());
    let mut rng = rand::rng();
    let (mut iterations, mut finished) = (0, 0);
    while iterations < 20 && started.elapsed() < Duration::from_secs(15) {
        let wait = Duration::from_millis(rng.random_range(10..200));
        for line in run_child("crash_child_eraser", ERASE_CHILD_ENV, &dir, wait) {
            let mut w = line.split(' ');
            match (w.next(), w.next(), w.next()) {
                (Some("ACK"), Some(h), None) => acked.push(h.parse::<u64>().unwrap()),
                (Some("ERASED"), Some(h), Some(i)) => {
                    erased.push((h.parse::<u64>().unwrap(), i.parse::<u64>().unwrap()));
                }
                _ => {}
            }
        }
        iterations += 1;
        if !dir.join("ledger.log").exists() {
            assert!(
                acked.is_empty(),
                "a block was acknowledged but no ledger exists"
            );
            continue;
        }
        let store = DirStore::open(&dir, Access::Write).unwrap();
        finished += store.open_report().erasures_finished;
        assert!(store.open_report().erased >= erased.len() as u64);
        for &h in &acked {
            assert_eq!(store.read_block(h).unwrap(), raw_block(h), "block {h}");
            for i in 0..4 {
                let (d, ct) = raw_payload(h, i);
                let got = store.get_payload(&d).unwrap();
                if erased.contains(&(h, i)) {
                    assert_eq!(got, None, "erased payload {h}/{i} is served");
                } else if i % 2 == 1 {
                    assert_eq!(got, Some(ct), "payload {h}/{i} lost");
                } else {
                    // Its erasure may have been under way when killed.
                    assert!(got.is_none() || got == Some(ct), "payload {h}/{i} changed");
                }
            }
        }
    }
    assert!(iterations >= 5);
    assert!(!erased.is_empty(), "the child never erased");
    // No acknowledged erasure left its ciphertext in the file: one pass
    // over the file, looking up each 8-byte window.
    let file = std::fs::read(dir.join("ledger.log")).unwrap();
    let gone: std::collections::HashMap<[u8; 8], Vec<u8>> = erased
        .iter()
        .map(|&(h, i)| {
            let ct = raw_payload(h, i).1;
            (ct[..8].try_into().unwrap(), ct)
        })
        .collect();
    for (at, w) in file.windows(8).enumerate() {
        if let Some(ct) = gone.get(w) {
            assert!(
                !file[at..].starts_with(&ct[..64]),
                "erased ciphertext at {at}"
            );
        }
    }
    eprintln!(
        "kill -9 erase loop: {iterations} kills, {} blocks, {} erasures acknowledged, \
         {finished} finished on open",
        acked.len(),
        erased.len()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
