//! The directory store: durability, recovery, locking, fault injection,
//! damage on disk, hostile files, concurrent readers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::Consortium;
use medledger::store::file::{Fault, FaultSwitch, FaultyLogFile};
use medledger::store::{Access, DirStore};
use medledger::{Error, Ledger, NewRecord, Purpose, RecordId};

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("medledger-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join("ledger.log")
}

/// A small ledger in `dir`: 3 blocks after genesis, 6 records.
fn small_ledger(dir: &Path) -> (Consortium, Vec<RecordId>) {
    let c = Consortium::in_dir(dir);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            c.ledger
                .append_record(
                    &c.hospital_a,
                    c.record("lab", format!("lab {i}").as_bytes()),
                )
                .unwrap(),
        );
        ids.push(
            c.ledger
                .append_record(
                    &c.hospital_b,
                    c.record("imaging", format!("img {i}").as_bytes()),
                )
                .unwrap(),
        );
        c.commit();
    }
    (c, ids)
}

fn reopen(dir: &Path) -> (Consortium, medledger::store::OpenReport) {
    let (ledger, report) = Ledger::open_dir(dir).unwrap();
    (Consortium::with_ledger(ledger), report)
}

#[test]
fn commit_is_durable_across_reopen() {
    let dir = tempdir("durable");
    let (c, ids) = small_ledger(&dir);
    let head = c.ledger.head().unwrap();
    drop(c);
    let (c, report) = reopen(&dir);
    assert_eq!(report.bytes_cut, 0);
    assert_eq!(report.blocks, head.height + 1);
    assert_eq!(report.payloads, 6);
    assert_eq!(c.ledger.head().unwrap(), head);
    assert_eq!(
        &*c.ledger
            .read_record(&c.patient, &ids[4], Purpose::Treat)
            .unwrap()
            .plaintext,
        b"lab 2"
    );
    let r = c.ledger.verify().unwrap();
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.payloads, 6);
    // Keep writing after reopen.
    let id = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"after reopen"))
        .unwrap();
    c.commit();
    drop(c);
    let (c, _) = reopen(&dir);
    assert_eq!(
        &*c.ledger
            .read_record(&c.hospital_a, &id, Purpose::Treat)
            .unwrap()
            .plaintext,
        b"after reopen"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn one_writer_many_readers() {
    let dir = tempdir("lock");
    let (c, ids) = small_ledger(&dir);
    // A second writer is refused while the first lives.
    match Ledger::open_dir(&dir) {
        Err(Error::Denied(m)) => assert!(m.contains("open for writing"), "{m}"),
        other => panic!("second writer: {other:?}"),
    }
    // Creating over an existing ledger is refused too.
    assert!(
        Ledger::create_dir(
            &dir,
            medledger::Genesis::new(
                "x",
                1,
                vec![c.validators[0].participant(
                    medledger::Roles::VALIDATOR.with(medledger::Roles::ADMIN),
                    "v"
                )]
            )
            .unwrap(),
            &[&c.validators[0]]
        )
        .is_err()
    );
    // Read-only opens work beside the writer: they verify, never decrypt.
    let (ro, _) = Ledger::open_dir_read_only(&dir).unwrap();
    let (ro2, _) = Ledger::open_dir_read_only(&dir).unwrap();
    assert!(ro.verify().unwrap().is_ok());
    assert_eq!(ro2.head().unwrap(), c.ledger.head().unwrap());
    assert!(matches!(
        ro.read_record(&c.patient, &ids[0], Purpose::Treat),
        Err(Error::Denied(_))
    ));
    assert!(ro.record_info(&ids[0]).is_ok());
    assert!(matches!(
        ro.append_record(&c.hospital_a, c.record("lab", b"x")),
        Err(Error::Denied(_))
    ));
    drop(c);
    // The lock is released with the writer.
    let (c, _) = reopen(&dir);
    drop(c);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn torn_tail_is_cut_and_reported() {
    let dir = tempdir("torn");
    let (c, ids) = small_ledger(&dir);
    drop(c);
    // A crash mid-commit: a payload frame written, half a block frame.
    let full_block = {
        let mut frames = Vec::new();
        medledger::store::frame::push_frame(
            &mut frames,
            medledger::store::frame::FrameKind::Payload,
            &[&[7u8; 32], b"ciphertext"],
        )
        .unwrap();
        let payload_len = frames.len();
        medledger::store::frame::push_frame(
            &mut frames,
            medledger::store::frame::FrameKind::Block,
            &[&[1u8; 500]],
        )
        .unwrap();
        (frames, payload_len)
    };
    let (frames, payload_len) = full_block;
    for cut in [3, payload_len, payload_len + 5, frames.len() - 1] {
        // Each audited read below commits its access event: take the
        // committed length and head afresh.
        let head = reopen(&dir).0.ledger.head().unwrap();
        let len_before = std::fs::metadata(log_path(&dir)).unwrap().len();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(log_path(&dir))
            .unwrap();
        std::io::Write::write_all(&mut f, &frames[..cut]).unwrap();
        drop(f);
        let (c, report) = reopen(&dir);
        assert_eq!(report.bytes_cut, cut as u64, "cut {cut}");
        assert_eq!(report.frames_cut, u64::from(cut >= payload_len));
        assert_eq!(std::fs::metadata(log_path(&dir)).unwrap().len(), len_before);
        assert_eq!(c.ledger.head().unwrap(), head);
        assert_eq!(
            &*c.ledger
                .read_record(&c.patient, &ids[5], Purpose::Treat)
                .unwrap()
                .plaintext,
            b"img 2"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn truncation_to_every_length_opens_a_prefix_or_fails_cleanly() {
    let dir = tempdir("every-len");
    let (c, _) = small_ledger(&dir);
    let heads: Vec<_> = {
        let (b, _) = (c.ledger.head().unwrap(), ());
        vec![b]
    };
    drop(c);
    let original = std::fs::read(log_path(&dir)).unwrap();
    // End of the genesis block's frame: shorter files hold no ledger.
    let genesis_end = {
        let mut src = original.as_slice();
        let s = medledger::store::frame::scan(&mut src, 48).unwrap();
        let g = s.frames[0];
        g.body_offset + u64::from(g.body_len) + 4
    };
    let work = tempdir("every-len-work");
    std::fs::create_dir_all(&work).unwrap();
    let mut opened = 0;
    for n in 0..original.len() {
        std::fs::write(log_path(&work), &original[..n]).unwrap();
        let result = DirStore::open(&work, Access::ReadOnly).and_then(Ledger::open_dir_with);
        match result {
            Ok((ledger, report)) => {
                // Whatever opens is a verified prefix of the original chain.
                assert_eq!(report.bytes_cut + report.file_len, n as u64);
                assert!(ledger.head().unwrap().height <= heads[0].height);
                assert!(ledger.verify().unwrap().is_ok());
                opened += 1;
            }
            Err(e) => {
                // Only a file too short for the genesis block may fail.
                assert!((n as u64) < genesis_end, "length {n}: {e}");
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert_eq!(opened as u64, original.len() as u64 - genesis_end);
    assert!(opened > 0);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn damage_before_the_tail_is_refused_with_its_location() {
    let dir = tempdir("damage");
    let (c, _) = small_ledger(&dir);
    drop(c);
    let original = std::fs::read(log_path(&dir)).unwrap();
    // Flip a byte inside the second frame (block 1's first payload or block):
    // the frames after it prove it was not the last write.
    let scan = {
        let mut src = original.as_slice();
        medledger::store::frame::scan(&mut src, 48).unwrap()
    };
    let target = scan.frames[3];
    let mut bad = original.clone();
    bad[usize::try_from(target.body_offset).unwrap() + 3] ^= 0x01;
    std::fs::write(log_path(&dir), &bad).unwrap();
    match Ledger::open_dir(&dir) {
        Err(Error::Corrupt(f)) => {
            assert_eq!(f.location.offset, Some(target.body_offset - 9), "{f}");
            assert_eq!(f.location.field, "file.frame");
            assert!(f.message.contains("checksum"), "{f}");
        }
        other => panic!("{other:?}"),
    }
    // A flipped byte inside a payload's ciphertext (the vault): refused,
    // naming the payload by its digest and the block it belongs to.
    let payload = scan
        .frames
        .iter()
        .find(|f| f.kind == medledger::store::frame::FrameKind::Payload)
        .copied()
        .unwrap();
    let mut bad = original.clone();
    bad[usize::try_from(payload.body_offset).unwrap() + 40] ^= 0x01;
    std::fs::write(log_path(&dir), &bad).unwrap();
    let digest_prefix =
        hex::encode(&original[usize::try_from(payload.body_offset).unwrap()..][..8]);
    match Ledger::open_dir(&dir) {
        Err(Error::Corrupt(f)) => {
            assert!(f.message.contains(&digest_prefix), "{f}");
            assert!(f.message.contains("payload frame"), "{f}");
            assert_eq!(f.location.offset, Some(payload.body_offset - 9));
        }
        other => panic!("{other:?}"),
    }
    // Damage in the last committed frame (complete, bad checksum) is also
    // refused: bit rot must not be mistaken for a torn write.
    let mut bad = original.clone();
    let n = bad.len();
    bad[n - 20] ^= 0x01;
    std::fs::write(log_path(&dir), &bad).unwrap();
    assert!(matches!(Ledger::open_dir(&dir), Err(Error::Corrupt(_))));
    // Header damage: clear error.
    let mut bad = original.clone();
    bad[3] ^= 0x01;
    std::fs::write(log_path(&dir), &bad).unwrap();
    let e = Ledger::open_dir(&dir).unwrap_err();
    assert!(e.to_string().contains("not a medledger ledger file"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hostile_files_give_clear_errors() {
    let dir = tempdir("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    assert!(matches!(Ledger::open_dir(&dir), Err(Error::NotFound(_))));
    std::fs::write(log_path(&dir), b"").unwrap();
    assert!(Ledger::open_dir(&dir).is_err());
    let mut junk = vec![0u8; 10_000];
    for (i, b) in junk.iter_mut().enumerate() {
        *b = u8::try_from(i * 7919 % 251).unwrap();
    }
    std::fs::write(log_path(&dir), &junk).unwrap();
    assert!(Ledger::open_dir(&dir).is_err());
    // A valid header followed by garbage: torn tail, no genesis → error.
    let mut f = medledger::store::frame::encode_header(&medledger::LedgerId(
        medledger::crypto::hash::Digest([1; 32]),
    ));
    f.extend_from_slice(&junk);
    std::fs::write(log_path(&dir), &f).unwrap();
    let e = Ledger::open_dir(&dir).unwrap_err();
    assert!(!e.to_string().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();

    // A ledger file whose header names another ledger than its genesis.
    let a = tempdir("hostile-a");
    let (c, _) = small_ledger(&a);
    drop(c);
    let mut bytes = std::fs::read(log_path(&a)).unwrap();
    bytes[20] ^= 0xff; // inside the header's ledger id
    std::fs::write(log_path(&a), &bytes).unwrap();
    let e = Ledger::open_dir(&a).unwrap_err();
    assert!(e.to_string().contains("another ledger"), "{e}");
    std::fs::remove_dir_all(&a).unwrap();
}

/// Opens `dir` for writing with fault injection.
fn open_faulty(dir: &Path) -> (Consortium, FaultSwitch) {
    let switch = FaultSwitch::default();
    let s2 = switch.clone();
    let store = DirStore::open_with(dir, Access::Write, move |f| {
        Box::new(FaultyLogFile::new(f, s2))
    })
    .unwrap();
    let (ledger, _) = Ledger::open_dir_with(store).unwrap();
    (Consortium::with_ledger(ledger), switch)
}

#[test]
fn injected_faults_never_let_memory_run_ahead_of_disk() {
    for fault in [
        Fault::FailWrite,
        Fault::ShortWrite(100),
        Fault::NoSpace(300),
        Fault::FailSync,
    ] {
        let dir = tempdir("faults");
        let (c, ids) = small_ledger(&dir);
        let head = c.ledger.head().unwrap();
        drop(c);
        let (c, switch) = open_faulty(&dir);
        let pending = c
            .ledger
            .append_record(&c.hospital_a, c.record("lab", b"not yet durable"))
            .unwrap();
        switch.arm(fault);
        let err = c
            .ledger
            .commit_block(&[&c.validators[0], &c.validators[1]])
            .unwrap_err();
        assert!(matches!(err, Error::System(_)), "{fault:?}: {err}");
        if fault == Fault::NoSpace(300) {
            assert!(err.to_string().contains("No space left"), "{err}");
        }
        // The head did not move, the record is not readable, old ones are.
        assert_eq!(c.ledger.head().unwrap(), head, "{fault:?}");
        assert!(matches!(
            c.ledger.read_record(&c.patient, &pending, Purpose::Treat),
            Err(Error::NotFound(_))
        ));
        // No plaintext either: the disclosure could not be recorded.
        let refused = c
            .ledger
            .read_record(&c.patient, &ids[0], Purpose::Treat)
            .unwrap_err();
        assert!(refused.to_string().contains("reopen"), "{refused}");
        // Further writes are refused until reopened.
        let again = c
            .ledger
            .commit_block(&[&c.validators[0], &c.validators[1]])
            .unwrap_err();
        assert!(again.to_string().contains("reopen"), "{again}");
        drop(c);
        // The directory opens; the unacknowledged block is cut (or, when only
        // the fsync failed, may have reached the disk whole).
        let (c, report) = reopen(&dir);
        let h = c.ledger.head().unwrap().height;
        match fault {
            Fault::FailSync => assert!(h == head.height || h == head.height + 1),
            Fault::FailWrite => assert_eq!((h, report.bytes_cut), (head.height, 0)),
            _ => {
                assert_eq!(h, head.height);
                assert!(report.bytes_cut > 0, "{fault:?}: {report:?}");
            }
        }
        assert!(c.ledger.verify().unwrap().is_ok());
        // And it accepts new commits again.
        c.ledger
            .append_record(&c.hospital_a, c.record("lab", b"after recovery"))
            .unwrap();
        c.commit();
        drop(c);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn concurrent_readers_with_one_writer() {
    let dir = tempdir("threads");
    let (c, ids) = small_ledger(&dir);
    let c = Arc::new(c);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|t| {
            let c = Arc::clone(&c);
            let ids = ids.clone();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || n < 50 {
                    let id = &ids[(usize::try_from(n).unwrap() + t) % ids.len()];
                    let r = c
                        .ledger
                        .read_record(&c.patient, id, Purpose::Treat)
                        .unwrap();
                    assert!(r.plaintext.starts_with(b"lab ") || r.plaintext.starts_with(b"img "));
                    n += 1;
                }
                n
            })
        })
        .collect();
    let payloads: Vec<Vec<u8>> = (0..20).map(|i| format!("note {i}").into_bytes()).collect();
    for chunk in payloads.chunks(5) {
        let recs: Vec<NewRecord> = chunk.iter().map(|p| c.record("note", p)).collect();
        c.ledger.append_batch(&c.hospital_a, &recs).unwrap();
        c.commit();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads: u64 = readers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(reads >= 200);
    assert!(c.ledger.verify().unwrap().is_ok());
    drop(c);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- erasure (Store API, raw bytes) -----------------------------------------

use medledger::Store;
use medledger::crypto::hash::Digest;

/// A ciphertext no other test data contains: bytes of a xorshift stream
/// seeded by `seed`.
fn ciphertext(seed: u64, len: usize) -> (Digest, Vec<u8>) {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let ct: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[3]
        })
        .collect();
    (medledger::model::tx::ciphertext_digest(&ct), ct)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn on_disk(dir: &Path, ct: &[u8]) -> bool {
    contains(&std::fs::read(log_path(dir)).unwrap(), ct)
}

/// Payloads as the store takes them: (digest, ciphertext).
type Payloads = Vec<(Digest, Vec<u8>)>;

/// A store in `dir`: genesis, block 1 with payloads 1 and 2, block 2 with
/// payload 3. Returns the blocks and the payloads.
fn raw_store(dir: &Path) -> (DirStore, Vec<Vec<u8>>, Payloads) {
    let blocks: Vec<Vec<u8>> = (0..3u8).map(|h| vec![h; 100 + usize::from(h)]).collect();
    let p: Payloads = (1..=3).map(|i| ciphertext(i, 300)).collect();
    let s = DirStore::create(dir, medledger::LedgerId(Digest([5; 32])), &blocks[0]).unwrap();
    s.append_block(&blocks[1], &p[..2]).unwrap();
    s.append_block(&blocks[2], &p[2..]).unwrap();
    (s, blocks, p)
}

fn open_raw_faulty(dir: &Path) -> (DirStore, FaultSwitch) {
    let switch = FaultSwitch::default();
    let s2 = switch.clone();
    let store = DirStore::open_with(dir, Access::Write, move |f| {
        Box::new(FaultyLogFile::new(f, s2))
    })
    .unwrap();
    (store, switch)
}

fn assert_blocks(s: &DirStore, blocks: &[Vec<u8>]) {
    assert_eq!(s.block_count().unwrap(), blocks.len() as u64);
    for (h, b) in blocks.iter().enumerate() {
        assert_eq!(&s.read_block(h as u64).unwrap(), b, "block {h}");
    }
}

#[test]
fn erase_overwrites_the_ciphertext_and_stays_erased() {
    let dir = tempdir("erase");
    let (s, mut blocks, p) = raw_store(&dir);
    assert!(on_disk(&dir, &p[0].1));
    let len_before = std::fs::metadata(log_path(&dir)).unwrap().len();
    assert!(s.erase_payload(&p[0].0).unwrap());
    assert_eq!(s.get_payload(&p[0].0).unwrap(), None);
    assert!(!on_disk(&dir, &p[0].1), "ciphertext still in ledger.log");
    // Only a tombstone was appended; the others are untouched.
    assert_eq!(
        std::fs::metadata(log_path(&dir)).unwrap().len(),
        len_before + 57
    );
    assert!(on_disk(&dir, &p[1].1) && on_disk(&dir, &p[2].1));
    assert_eq!(s.get_payload(&p[1].0).unwrap().as_ref(), Some(&p[1].1));
    // Absent: already erased, or never stored.
    assert!(!s.erase_payload(&p[0].0).unwrap());
    assert!(!s.erase_payload(&Digest([0xee; 32])).unwrap());
    // Blocks after an erasure.
    let p4 = ciphertext(4, 300);
    blocks.push(vec![3; 77]);
    s.append_block(&blocks[3], std::slice::from_ref(&p4))
        .unwrap();
    assert_blocks(&s, &blocks);
    drop(s);

    for access in [Access::ReadOnly, Access::Write] {
        let s = DirStore::open(&dir, access).unwrap();
        let r = s.open_report().clone();
        assert_eq!((r.blocks, r.payloads, r.bytes_cut), (4, 3, 0), "{r:?}");
        assert_eq!((r.erased, r.erasures_finished), (1, 0), "{r:?}");
        assert_eq!(s.get_payload(&p[0].0).unwrap(), None);
        assert_eq!(s.get_payload(&p4.0).unwrap().as_ref(), Some(&p4.1));
        assert_blocks(&s, &blocks);
    }
    // Erase the payload of the newest block, then keep appending.
    let s = DirStore::open(&dir, Access::Write).unwrap();
    assert!(s.erase_payload(&p4.0).unwrap());
    blocks.push(vec![4; 10]);
    s.append_block(&blocks[4], &[]).unwrap();
    drop(s);
    let s = DirStore::open(&dir, Access::Write).unwrap();
    assert_eq!(s.open_report().erased, 2);
    assert_eq!(s.open_report().payloads, 2);
    assert_eq!(s.get_payload(&p4.0).unwrap(), None);
    assert!(!on_disk(&dir, &p4.1));
    assert_blocks(&s, &blocks);
    // Read-only stores refuse to erase.
    let ro = DirStore::open(&dir, Access::ReadOnly).unwrap();
    assert!(matches!(ro.erase_payload(&p[1].0), Err(Error::Denied(_))));
    drop((s, ro));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn erase_removes_every_copy_and_a_ciphertext_can_come_back() {
    let dir = tempdir("erase-copies");
    let (s, _, p) = raw_store(&dir);
    // The same ciphertext committed again, twice in one block.
    s.append_block(b"block 3", &[p[1].clone(), p[1].clone()])
        .unwrap();
    assert!(s.erase_payload(&p[1].0).unwrap());
    assert!(!on_disk(&dir, &p[1].1));
    assert_eq!(s.get_payload(&p[1].0).unwrap(), None);
    drop(s);
    let s = DirStore::open(&dir, Access::Write).unwrap();
    assert_eq!(s.open_report().erased, 3);
    assert_eq!(s.get_payload(&p[1].0).unwrap(), None);
    // Committed again after its erasure: served (and kept on reopen).
    s.append_block(b"block 4", std::slice::from_ref(&p[1]))
        .unwrap();
    drop(s);
    let s = DirStore::open(&dir, Access::Write).unwrap();
    assert_eq!(s.get_payload(&p[1].0).unwrap().as_ref(), Some(&p[1].1));
    assert!(s.erase_payload(&p[1].0).unwrap());
    drop(s);
    let s = DirStore::open(&dir, Access::ReadOnly).unwrap();
    assert_eq!(s.open_report().erased, 4);
    assert_eq!(s.get_payload(&p[1].0).unwrap(), None);
    assert!(!on_disk(&dir, &p[1].1));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_erasure_cut_short_is_finished_by_the_next_writer() {
    // (skip, fault): where the erasure stops. The tombstone is the first
    // write and the first sync; the overwrite is the second of each.
    let half = (300 + 32 + 5) / 2;
    for (skip, fault) in [
        (1, Fault::FailWrite),        // after the tombstone, before the overwrite
        (1, Fault::ShortWrite(1)),    // only the kind byte overwritten
        (1, Fault::ShortWrite(half)), // half the zero body
        (1, Fault::FailSync),         // overwrite written, its sync failed
    ] {
        let dir = tempdir("erase-cut");
        let (s, blocks, p) = raw_store(&dir);
        drop(s);
        let (s, switch) = open_raw_faulty(&dir);
        switch.arm_after(skip, fault);
        let e = s.erase_payload(&p[0].0).unwrap_err();
        assert!(
            e.to_string()
                .contains("finished when the ledger is reopened"),
            "{e}"
        );
        // The tombstone is durable: the payload is no longer served.
        assert_eq!(s.get_payload(&p[0].0).unwrap(), None);
        assert_eq!(s.get_payload(&p[1].0).unwrap().as_ref(), Some(&p[1].1));
        // Like a failed commit, a failed erasure stops the writer.
        let again = s.append_block(b"more", &[]).unwrap_err();
        assert!(again.to_string().contains("reopen"), "{again}");
        assert!(
            s.erase_payload(&p[1].0)
                .unwrap_err()
                .to_string()
                .contains("reopen")
        );
        drop(s);
        // The end of the ciphertext, which a torn overwrite did not reach.
        let ct_end = &p[0].1[236..];
        let unfinished = fault != Fault::FailSync;
        assert_eq!(on_disk(&dir, ct_end), unfinished, "{fault:?}");

        // A read-only open neither writes nor serves it.
        let before = std::fs::read(log_path(&dir)).unwrap();
        let ro = DirStore::open(&dir, Access::ReadOnly).unwrap();
        assert_eq!(
            (ro.open_report().erased, ro.open_report().erasures_finished),
            (1, 0)
        );
        assert_eq!(ro.get_payload(&p[0].0).unwrap(), None);
        assert_blocks(&ro, &blocks);
        drop(ro);
        assert!(
            std::fs::read(log_path(&dir)).unwrap() == before,
            "{fault:?}"
        );

        // A writer finishes it, and says so.
        let s = DirStore::open(&dir, Access::Write).unwrap();
        let r = s.open_report().clone();
        assert_eq!(r.erasures_finished, u64::from(unfinished), "{fault:?}");
        assert_eq!((r.erased, r.payloads, r.bytes_cut), (1, 2, 0), "{r:?}");
        assert!(!on_disk(&dir, ct_end), "{fault:?}");
        assert_eq!(s.get_payload(&p[0].0).unwrap(), None);
        assert_blocks(&s, &blocks);
        s.append_block(b"after", &[ciphertext(9, 50)]).unwrap();
        drop(s);
        let s = DirStore::open(&dir, Access::Write).unwrap();
        assert_eq!(s.open_report().erasures_finished, 0);
        assert_eq!(s.open_report().erased, 1);
        assert_eq!(s.block_count().unwrap(), 4);
        drop(s);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_tombstone_that_failed_is_either_whole_or_cut() {
    for fault in [Fault::FailWrite, Fault::ShortWrite(20), Fault::FailSync] {
        let dir = tempdir("erase-tomb");
        let (s, blocks, p) = raw_store(&dir);
        drop(s);
        let (s, switch) = open_raw_faulty(&dir);
        switch.arm(fault);
        let e = s.erase_payload(&p[0].0).unwrap_err();
        assert!(e.to_string().contains("cannot record the erasure"), "{e}");
        // Not acknowledged: still served by this handle.
        assert_eq!(s.get_payload(&p[0].0).unwrap().as_ref(), Some(&p[0].1));
        drop(s);
        let s = DirStore::open(&dir, Access::Write).unwrap();
        let r = s.open_report().clone();
        match fault {
            // The tombstone reached the file (only its sync failed): the
            // erasure was committed, and the open finishes it.
            Fault::FailSync => {
                assert_eq!((r.erased, r.erasures_finished), (1, 1), "{r:?}");
                assert_eq!(s.get_payload(&p[0].0).unwrap(), None);
                assert!(!on_disk(&dir, &p[0].1));
            }
            _ => {
                assert_eq!((r.erased, r.erasures_finished), (0, 0), "{r:?}");
                assert_eq!(r.bytes_cut, if fault == Fault::FailWrite { 0 } else { 20 });
                assert_eq!(s.get_payload(&p[0].0).unwrap().as_ref(), Some(&p[0].1));
            }
        }
        assert_blocks(&s, &blocks);
        drop(s);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn damage_that_no_tombstone_names_is_refused_as_before() {
    let dir = tempdir("erase-damage");
    let (s, _, p) = raw_store(&dir);
    drop(s);
    let before = std::fs::read(log_path(&dir)).unwrap();
    let s = DirStore::open(&dir, Access::Write).unwrap();
    assert!(s.erase_payload(&p[0].0).unwrap());
    drop(s);
    let after = std::fs::read(log_path(&dir)).unwrap();
    let open_err = |bytes: &[u8]| {
        std::fs::write(log_path(&dir), bytes).unwrap();
        match DirStore::open(&dir, Access::Write) {
            Err(Error::Corrupt(f)) => f,
            other => panic!("{other:?}"),
        }
    };
    // A flipped byte in the ciphertext of payload 2: the same refusal with
    // and without a tombstone (for payload 1) in the file.
    let at = before.windows(64).position(|w| w == &p[1].1[..64]).unwrap() + 10;
    let (mut bad_before, mut bad_after) = (before.clone(), after.clone());
    bad_before[at] ^= 0x20;
    bad_after[at] ^= 0x20;
    let (e1, e2) = (open_err(&bad_before), open_err(&bad_after));
    assert_eq!(e1.to_string(), e2.to_string());
    assert_eq!(e1.location, e2.location);
    assert!(
        e2.message.contains("checksum mismatch in payload frame"),
        "{e2}"
    );
    assert!(e2.message.contains(&p[1].0.to_hex()[..16]), "{e2}");
    // The erased frame without its tombstone: refused, not taken as erased.
    let e = open_err(&after[..after.len() - 57]);
    assert!(
        e.message.contains("erased frame that no tombstone names"),
        "{e}"
    );
    assert!(e.message.contains("in erased frame"), "{e}");
    // The file was left alone by the refusals.
    assert_eq!(
        std::fs::read(log_path(&dir)).unwrap(),
        &after[..after.len() - 57]
    );
    std::fs::write(log_path(&dir), &after).unwrap();
    assert!(DirStore::open(&dir, Access::Write).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}
