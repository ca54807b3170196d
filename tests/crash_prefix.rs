//! Crash recovery as a property (FORMAT.md §8.4, §8.5): a ledger directory
//! whose file was cut at any byte offset — a crash at any point of any
//! commit — opens for writing as exactly the prefix of the committed chain
//! that ends at the last block frame wholly before the cut, keeps every
//! block acknowledged before that point, reports what it cut, verifies, and
//! takes new commits. A cut followed by garbage (a torn write that left
//! junk) opens the same prefix or is refused as `Corrupt` at an offset in
//! the torn part, never in committed data; a flipped bit inside a committed
//! frame is refused as `Corrupt` at that frame.
//!
//! Not covered here, by design of the format: damage to the sync marker or
//! length of the *last* frame makes it indistinguishable from a torn write
//! and it is cut (§8.4 step 5); bit flips are limited to a frame's kind,
//! body and checksum.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use common::Consortium;
use medledger::log::block::{Block, BlockHeader};
use medledger::store::frame::{FrameKind, FrameRef, scan};
use medledger::store::{Access, DirStore};
use medledger::{Error, Ledger, Roles, Store};
use proptest::prelude::*;

/// Size of the file header (FORMAT.md §8.1).
const HEADER_LEN: u64 = 48;
/// Sync marker, length and kind before a frame's body.
const FRAME_PREFIX: u64 = 9;

/// A committed chain in its directory file, with what each commit
/// acknowledged.
struct Base {
    file: Vec<u8>,
    /// Every valid frame of the file, in order.
    frames: Vec<FrameRef>,
    /// Per height: the header the commit returned and the end of its block
    /// frame (the file length once that commit was acknowledged).
    acked: Vec<(BlockHeader, u64)>,
}

fn start(f: &FrameRef) -> u64 {
    f.body_offset - FRAME_PREFIX
}

fn end(f: &FrameRef) -> u64 {
    f.body_offset + u64::from(f.body_len) + 4
}

fn tempdir(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!(
        "medledger-prefix-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn log_len(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("ledger.log")).unwrap().len()
}

/// Genesis, the consortium's set-up block, then five blocks of one to three
/// small records (single and batch-signed), each commit's file length
/// recorded as it is acknowledged.
fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = tempdir("base");
        let c = Consortium::in_dir(&dir);
        let mut lens = vec![None, Some(log_len(&dir))];
        for h in 2..7u8 {
            let payload = vec![h; 40 * usize::from(h)];
            c.ledger
                .append_record(&c.hospital_a, c.record("lab", &payload))
                .unwrap();
            if h % 2 == 0 {
                let recs = [c.record("note", b"a"), c.record("note", &payload[1..])];
                c.ledger.append_batch(&c.hospital_b, &recs).unwrap();
            }
            let header = c.commit();
            assert_eq!(header.height, u64::from(h));
            lens.push(Some(log_len(&dir)));
        }
        drop(c);
        let file = std::fs::read(dir.join("ledger.log")).unwrap();
        let frames = scan(&mut file.as_slice(), HEADER_LEN).unwrap().frames;
        let store = DirStore::open(&dir, Access::ReadOnly).unwrap();
        let block_ends = frames
            .iter()
            .filter(|f| f.kind == FrameKind::Block)
            .map(end);
        let acked: Vec<(BlockHeader, u64)> = block_ends
            .enumerate()
            .map(|(h, end)| {
                let raw = store.read_block(h as u64).unwrap();
                (Block::decode(&raw).unwrap().block.header, end)
            })
            .collect();
        assert_eq!(acked.len(), lens.len());
        // An acknowledged commit is on disk up to the end of its block frame
        // and nothing after it.
        for ((_, end), len) in acked.iter().zip(&lens) {
            if let Some(len) = len {
                assert_eq!(end, len);
            }
        }
        assert_eq!(acked.last().unwrap().1, file.len() as u64);
        std::fs::remove_dir_all(&dir).unwrap();
        Base {
            file,
            frames,
            acked,
        }
    })
}

/// A fresh directory holding `bytes` as its ledger file.
fn dir_with(bytes: &[u8]) -> PathBuf {
    let dir = tempdir("case");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ledger.log"), bytes).unwrap();
    dir
}

/// The blocks a file of `len` intact bytes keeps: those whose block frame
/// ends at or before `len`.
fn kept(b: &Base, len: u64) -> usize {
    b.acked.iter().take_while(|(_, end)| *end <= len).count()
}

/// Checks a ledger reopened from a file whose first `intact` bytes are the
/// base file's and whose length was `total`: the committed prefix, exactly
/// what was cut, a verifying chain, a file cut back to the prefix, and a
/// store that takes the next commit and reopens with nothing to cut.
fn check_prefix(
    dir: &Path,
    ledger: Ledger,
    report: &medledger::store::OpenReport,
    intact: u64,
    total: u64,
) {
    let b = base();
    let k = kept(b, intact);
    let durable = b.acked[k - 1].1;
    assert_eq!(report.blocks, k as u64);
    assert_eq!(report.file_len, durable);
    assert_eq!(report.bytes_cut, total - durable);
    // The complete frames cut: the payload frames of the next commit that
    // reached the file whole before the cut.
    let whole = b
        .frames
        .iter()
        .filter(|f| start(f) >= durable && end(f) <= intact)
        .count();
    assert_eq!(report.frames_cut, whole as u64);
    assert_eq!(log_len(dir), durable, "the torn tail is cut from the file");
    assert_eq!(ledger.head().unwrap(), b.acked[k - 1].0);
    let store = DirStore::open(dir, Access::ReadOnly).unwrap();
    assert_eq!(store.block_count().unwrap(), k as u64);
    for (h, (header, _)) in b.acked.iter().enumerate().take(k) {
        let stored = Block::decode(&store.read_block(h as u64).unwrap()).unwrap();
        assert_eq!(stored.block.header.hash(), header.hash(), "block {h}");
    }
    drop(store);
    let report = ledger.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    // The recovered store is a working writer: the next block commits on
    // top of the prefix and survives a reopen that has nothing to cut.
    let c = Consortium::with_ledger(ledger);
    let newcomer = medledger::Keypair::from_seeds(&[42; 32], &[43; 32]);
    c.ledger
        .register(
            &c.admin,
            newcomer.participant(Roles::PROVIDER, "after recovery"),
        )
        .unwrap();
    let next = c.commit();
    assert_eq!(next.height, k as u64);
    assert_eq!(next.prev_hash, b.acked[k - 1].0.hash());
    drop(c);
    let (again, report) = Ledger::open_dir(dir).unwrap();
    assert_eq!((report.bytes_cut, report.frames_cut), (0, 0));
    assert_eq!(again.head().unwrap(), next);
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// A cut at any offset: the acknowledged prefix, or — only for a file
    /// too short to hold its genesis block, which no acknowledged create
    /// leaves (§8.3) — a typed refusal that writes nothing.
    #[test]
    fn any_cut_opens_exactly_the_acknowledged_prefix(at in any::<prop::sample::Index>()) {
        let b = base();
        let cut = at.index(b.file.len() + 1);
        let dir = dir_with(&b.file[..cut]);
        let genesis_end = b.acked[0].1;
        match Ledger::open_dir(&dir) {
            Ok((ledger, report)) => {
                prop_assert!(cut as u64 >= genesis_end);
                check_prefix(&dir, ledger, &report, cut as u64, cut as u64);
            }
            Err(e) => {
                prop_assert!((cut as u64) < genesis_end, "cut {}: {}", cut, e);
                let typed = if (cut as u64) < HEADER_LEN {
                    matches!(e, Error::Decode { .. } | Error::Corrupt(_))
                } else {
                    matches!(e, Error::Corrupt(_))
                };
                prop_assert!(typed, "cut {}: {:?}", cut, e);
                // At most the torn tail after the header was cut.
                let left = log_len(&dir);
                prop_assert!(left <= cut as u64 && left >= HEADER_LEN.min(cut as u64));
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A cut followed by junk: the same prefix (junk cut as a torn tail),
    /// or `Corrupt` naming an offset past the last acknowledged block —
    /// never a committed frame, never a block made of junk.
    #[test]
    fn junk_after_a_cut_is_cut_or_refused_past_the_durable_point(
        at in any::<prop::sample::Index>(),
        junk in prop::collection::vec(any::<u8>(), 1..400),
        zeros in any::<bool>(),
    ) {
        let b = base();
        let genesis_end = usize::try_from(b.acked[0].1).unwrap();
        let cut = genesis_end + at.index(b.file.len() - genesis_end + 1);
        let mut bytes = b.file[..cut].to_vec();
        // A crash can also leave the file longer than the data written
        // (zeros), which the journaling file systems targeted do not.
        if zeros {
            bytes.resize(cut + junk.len(), 0);
        } else {
            bytes.extend_from_slice(&junk);
        }
        let dir = dir_with(&bytes);
        let durable = b.acked[kept(b, cut as u64) - 1].1;
        match Ledger::open_dir(&dir) {
            Ok((ledger, report)) => {
                check_prefix(&dir, ledger, &report, cut as u64, bytes.len() as u64);
            }
            Err(Error::Corrupt(f)) => {
                let offset = f.location.offset.unwrap();
                prop_assert!(offset >= durable, "{} blames committed data", f);
                prop_assert_eq!(log_len(&dir), bytes.len() as u64, "a refused open wrote");
            }
            Err(e) => prop_assert!(false, "untyped refusal: {:?}", e),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A flipped bit in the kind, body or checksum of any committed frame
    /// is refused as `Corrupt` at that frame's offset, never cut.
    #[test]
    fn a_flipped_bit_in_a_committed_frame_is_refused_at_that_frame(
        frame in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        bit in 0..8u8,
    ) {
        let b = base();
        let f = b.frames[frame.index(b.frames.len())];
        // From the kind byte to the last checksum byte.
        let first = f.body_offset - 1;
        let pos = first + at.index(usize::try_from(end(&f) - first).unwrap()) as u64;
        let mut bytes = b.file.clone();
        bytes[usize::try_from(pos).unwrap()] ^= 1 << bit;
        let dir = dir_with(&bytes);
        match Ledger::open_dir(&dir) {
            Err(Error::Corrupt(fault)) => {
                prop_assert_eq!(fault.location.offset, Some(start(&f)), "{}", fault);
            }
            other => prop_assert!(false, "flip at {}: {:?}", pos, other.map(|(_, r)| r)),
        }
        prop_assert_eq!(std::fs::read(dir.join("ledger.log")).unwrap(), bytes);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
