//! The directory store: one append-only ledger file of checksummed frames,
//! and a lock file.
//!
//! ```text
//! <dir>/ledger.log   header, then frames: a block's payloads, then the block
//! <dir>/LOCK         held (flock, exclusive) by the one writer
//! ```
//! Payloads submitted with pending transactions are staged in memory and
//! written, with their block, by one `append` and one `fdatasync` when the
//! block commits (group commit). On open the file is scanned: complete,
//! checksummed frames up to the last block (or tombstone) frame are kept; a
//! torn tail is cut and reported; damage before the tail is refused with its
//! location.
//!
//! Erasing a payload appends and syncs a tombstone, then overwrites the
//! payload frame in place with zeros (an erased frame) and syncs again; an
//! open finishes an erasure a crash interrupted.
//! See docs/FORMAT.md §8 for the layout and the hazard analysis.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, RwLock};

use crate::crypto::hash::Digest;
use crate::model::LedgerId;
use crate::store::Store;
use crate::store::file::{FsLogFile, LogFile};
use crate::store::frame::{
    ERASE_FROM, FRAME_OVERHEAD, FRAME_PREFIX, FrameKind, HEADER_LEN, ScanError, ScanSource,
    TOMBSTONE_BODY, decode_header, encode_header, erased_overwrite, push_frame, scan,
    tombstone_body,
};
use crate::{Error, Result};

/// Name of the ledger file inside the directory.
pub const LEDGER_FILE: &str = "ledger.log";
/// Name of the lock file inside the directory.
pub const LOCK_FILE: &str = "LOCK";
/// Read window used when scanning on open.
const SCAN_WINDOW: usize = 8 << 20;

/// What opening a directory found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Committed blocks in the file.
    pub blocks: u64,
    /// Payload ciphertexts in the file.
    pub payloads: u64,
    /// File length after recovery.
    pub file_len: u64,
    /// Bytes of an unacknowledged tail cut off (a crash mid-commit).
    pub bytes_cut: u64,
    /// Complete frames in that tail (payloads of the block that never
    /// committed), also cut.
    pub frames_cut: u64,
    /// Payload frames erased (named by a tombstone): their ciphertexts are
    /// not served, including those whose erasure a crash interrupted.
    pub erased: u64,
    /// Erasures a crash interrupted (tombstone durable, payload frame not yet
    /// overwritten) that this open finished. Always 0 on a read-only open,
    /// which leaves them for the next writer.
    pub erasures_finished: u64,
}

/// How to open a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Take the writer lock; appends allowed. Recovery may cut a torn tail.
    Write,
    /// No lock, no writes; a torn tail is ignored, not cut.
    ReadOnly,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::System(format!("{what} {}: {e}", path.display()))
}

/// A ledger stored in a directory.
pub struct DirStore {
    path: PathBuf,
    file: Box<dyn LogFile>,
    access: Access,
    /// Holds the exclusive lock while the store lives (writers only).
    _lock: Option<File>,
    ledger_id: LedgerId,
    index: RwLock<Index>,
    writer: Mutex<WriterState>,
    report: OpenReport,
}

/// Where committed data is in the file.
#[derive(Default)]
struct Index {
    /// (body offset, body length) of each block frame, by height.
    blocks: Vec<(u64, u32)>,
    /// Payload digest → (ciphertext offset, ciphertext length).
    payloads: HashMap<Digest, (u64, u32)>,
    /// Further frames holding a digest that `payloads` already has (the same
    /// ciphertext supplied twice): served from `payloads`, erased with it.
    copies: HashMap<Digest, Vec<(u64, u32)>>,
}

impl Index {
    fn add_payload(&mut self, digest: Digest, at: (u64, u32)) {
        match self.payloads.entry(digest) {
            std::collections::hash_map::Entry::Occupied(_) => {
                self.copies.entry(digest).or_default().push(at);
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(at);
            }
        }
    }

    /// Forgets the frame of `digest` at `at` (a tombstone names it).
    fn remove_payload(&mut self, digest: &Digest, at: (u64, u32)) {
        if self.payloads.get(digest) == Some(&at) {
            self.payloads.remove(digest);
            if let Some(next) = self.copies.get_mut(digest).and_then(Vec::pop) {
                self.payloads.insert(*digest, next);
            }
        } else if let Some(c) = self.copies.get_mut(digest) {
            c.retain(|x| *x != at);
        }
        if self.copies.get(digest).is_some_and(Vec::is_empty) {
            self.copies.remove(digest);
        }
    }

    /// Every frame holding `digest`.
    fn locations(&self, digest: &Digest) -> Vec<(u64, u32)> {
        let mut all: Vec<(u64, u32)> = self.payloads.get(digest).copied().into_iter().collect();
        all.extend(self.copies.get(digest).into_iter().flatten().copied());
        all
    }

    /// Forgets every frame holding `digest`.
    fn forget(&mut self, digest: &Digest) {
        self.payloads.remove(digest);
        self.copies.remove(digest);
    }
}

/// Ciphertext location → (frame offset, frame body length), and back.
const CT_IN_FRAME: u64 = (FRAME_PREFIX + 32) as u64;

fn frame_of(ct: (u64, u32)) -> Option<(u64, u32)> {
    Some((ct.0.checked_sub(CT_IN_FRAME)?, ct.1.checked_add(32)?))
}

fn ciphertext_of(frame: (u64, u32)) -> (u64, u32) {
    (
        frame.0.saturating_add(CT_IN_FRAME),
        frame.1.saturating_sub(32),
    )
}

struct WriterState {
    /// Length of the committed file.
    end: u64,
    /// Set after a failed write or sync: the file's tail is unknown until
    /// the directory is reopened, so further writes are refused.
    failed: Option<String>,
}

impl std::fmt::Debug for DirStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DirStore({})", self.path.display())
    }
}

fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_err("cannot open lock file", &path, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Denied(format!(
            "ledger directory {} is open for writing by another process or handle",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err("cannot lock", &path, e)),
    }
}

/// A ledger file whose header cannot be read is a damaged ledger.
fn header_damage(path: &Path, e: &Error) -> Error {
    Error::Corrupt(Box::new(crate::verify::Fault {
        kind: match e {
            Error::UnsupportedVersion { .. } => crate::verify::FaultKind::Unsupported,
            _ => crate::verify::FaultKind::Malformed,
        },
        location: crate::verify::Location {
            height: 0,
            tx_index: None,
            record_index: None,
            field: "file.header",
            offset: Some(0),
        },
        message: format!("{}: {e}", path.display()),
    }))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("cannot sync directory", dir, e))
}

impl DirStore {
    /// Creates `dir` (if needed) and its ledger file holding the encoded
    /// genesis block of `ledger_id`. Creation is atomic: the file is written
    /// and synced under a temporary name, then renamed into place and the
    /// directory synced, so a crash leaves either no ledger or a whole one.
    /// Fails if the directory already holds a ledger.
    pub fn create(dir: &Path, ledger_id: LedgerId, genesis_block: &[u8]) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| io_err("cannot create", dir, e))?;
        let lock = lock(dir)?;
        let path = dir.join(LEDGER_FILE);
        if path.exists() {
            return Err(Error::invalid(
                "directory",
                format!("{} already holds a ledger", dir.display()),
            ));
        }
        let tmp = dir.join(format!("{LEDGER_FILE}.creating"));
        let mut bytes = encode_header(&ledger_id);
        push_frame(&mut bytes, FrameKind::Block, &[genesis_block])?;
        {
            let mut f = File::create(&tmp).map_err(|e| io_err("cannot create", &tmp, e))?;
            std::io::Write::write_all(&mut f, &bytes)
                .and_then(|()| f.sync_all())
                .map_err(|e| io_err("cannot write", &tmp, e))?;
        }
        std::fs::rename(&tmp, &path).map_err(|e| io_err("cannot rename into", &path, e))?;
        sync_dir(dir)?;
        // Keep holding the lock taken above: no other writer slips in.
        Self::open_inner(dir, Access::Write, Some(lock), |f| Box::new(f))
    }

    /// Opens an existing ledger directory, recovering from a crash.
    pub fn open(dir: &Path, access: Access) -> Result<Self> {
        Self::open_with(dir, access, |f| Box::new(f))
    }

    /// As [`DirStore::open`], with the file wrapped by `wrap`.
    pub fn open_with(
        dir: &Path,
        access: Access,
        wrap: impl FnOnce(FsLogFile) -> Box<dyn LogFile>,
    ) -> Result<Self> {
        if !dir.join(LEDGER_FILE).is_file() {
            return Err(Error::NotFound(format!(
                "no ledger in {} ({LEDGER_FILE} missing)",
                dir.display()
            )));
        }
        let lock = match access {
            Access::Write => Some(lock(dir)?),
            Access::ReadOnly => None,
        };
        Self::open_inner(dir, access, lock, wrap)
    }

    fn open_inner(
        dir: &Path,
        access: Access,
        lock: Option<File>,
        wrap: impl FnOnce(FsLogFile) -> Box<dyn LogFile>,
    ) -> Result<Self> {
        let path = dir.join(LEDGER_FILE);
        let mut opts = OpenOptions::new();
        opts.read(true);
        if access == Access::Write {
            opts.write(true);
        }
        let file = opts.open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound(format!(
                "no ledger in {} ({LEDGER_FILE} missing)",
                dir.display()
            )),
            _ => io_err("cannot open", &path, e),
        })?;
        let file = wrap(FsLogFile::new(file));
        let total = file
            .byte_len()
            .map_err(|e| io_err("cannot stat", &path, e))?;
        let mut header = vec![0u8; HEADER_LEN];
        if total < HEADER_LEN as u64 {
            return Err(header_damage(
                &path,
                &Error::Decode {
                    what: "file.header",
                    offset: usize::try_from(total).unwrap_or(0),
                    reason: "ledger file shorter than its header",
                },
            ));
        }
        file.read_exact_at(&mut header, 0)
            .map_err(|e| io_err("cannot read", &path, e))?;
        let ledger_id = decode_header(&header).map_err(|e| header_damage(&path, &e))?;
        let scanned = {
            let mut window = FileWindow::new(file.as_ref(), total);
            scan(&mut window, HEADER_LEN as u64)
        };
        let scanned = match scanned {
            Ok(s) => s,
            Err(ScanError::Io(e)) => return Err(io_err("cannot read", &path, e)),
            Err(ScanError::Damage(d)) => {
                // Name the payload when the damaged frame says it is one (its
                // digest is the vault key the chain refers to).
                let mut prefix = [0u8; FRAME_PREFIX + 32];
                let kind = |k: FrameKind| Some(k as u8);
                let what = match file.read_exact_at(&mut prefix, d.offset) {
                    Ok(()) if prefix.get(8).copied() == kind(FrameKind::Payload) => format!(
                        "payload frame (ciphertext digest {}…)",
                        prefix
                            .get(FRAME_PREFIX..FRAME_PREFIX + 8)
                            .unwrap_or_default()
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<String>()
                    ),
                    Ok(()) if prefix.get(8).copied() == kind(FrameKind::Block) => {
                        format!("block frame (block {})", d.blocks_before)
                    }
                    Ok(()) if prefix.get(8).copied() == kind(FrameKind::Tombstone) => {
                        "tombstone frame".to_owned()
                    }
                    Ok(()) if prefix.get(8).copied() == kind(FrameKind::Erased) => {
                        "erased frame".to_owned()
                    }
                    _ => "frame".to_owned(),
                };
                return Err(Error::Corrupt(Box::new(crate::verify::Fault {
                    kind: crate::verify::FaultKind::Malformed,
                    location: crate::verify::Location {
                        height: d.blocks_before,
                        tx_index: None,
                        record_index: None,
                        field: "file.frame",
                        offset: Some(d.offset),
                    },
                    message: format!(
                        "{} in {what}, frame {} at file offset {} (block {} or its payloads); \
                         it is not a torn tail, so it is refused, not cut",
                        d.reason, d.frame_index, d.offset, d.blocks_before
                    ),
                })));
            }
        };
        let mut index = Index::default();
        for f in &scanned.frames {
            match (f.kind, f.digest, f.erases) {
                (FrameKind::Block, _, _) => index.blocks.push((f.body_offset, f.body_len)),
                // The scan kept the digest: no second read per payload.
                (FrameKind::Payload, Some(d), _) => {
                    index.add_payload(d, (f.body_offset + 32, f.body_len.saturating_sub(32)));
                }
                // Tombstones follow the frames they name: whatever the frame
                // now holds, its ciphertext is not served.
                (FrameKind::Tombstone, Some(d), Some(frame)) => {
                    index.remove_payload(&d, ciphertext_of(frame));
                }
                _ => {}
            }
        }
        let mut erasures_finished = 0;
        if access == Access::Write {
            // Finish the erasures a crash interrupted: their tombstones are
            // durable, so they were committed.
            for &(at, len) in &scanned.unfinished {
                file.write_at(&erased_overwrite(len)?, at + ERASE_FROM)
                    .map_err(|e| io_err("cannot finish an erasure in", &path, e))?;
                erasures_finished += 1;
            }
            if erasures_finished > 0 {
                file.sync_data()
                    .map_err(|e| io_err("cannot finish an erasure in", &path, e))?;
            }
            if scanned.tail_bytes > 0 {
                file.truncate(scanned.keep_len)
                    .map_err(|e| io_err("cannot cut the torn tail of", &path, e))?;
            }
        }
        let report = OpenReport {
            blocks: index.blocks.len() as u64,
            payloads: index.payloads.len() as u64,
            file_len: scanned.keep_len,
            bytes_cut: scanned.tail_bytes,
            frames_cut: scanned.tail_frames,
            erased: scanned.erased,
            erasures_finished,
        };
        Ok(DirStore {
            path: dir.to_path_buf(),
            file,
            access,
            _lock: lock,
            ledger_id,
            index: RwLock::new(index),
            writer: Mutex::new(WriterState {
                end: scanned.keep_len,
                failed: None,
            }),
            report,
        })
    }

    /// The ledger id recorded in the file header.
    pub fn ledger_id(&self) -> LedgerId {
        self.ledger_id
    }

    /// What opening found (blocks, payloads, tail cut).
    pub fn open_report(&self) -> &OpenReport {
        &self.report
    }

    /// True when opened with [`Access::ReadOnly`].
    pub fn is_read_only(&self) -> bool {
        self.access == Access::ReadOnly
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn index(&self) -> Result<std::sync::RwLockReadGuard<'_, Index>> {
        self.index
            .read()
            .map_err(|_| Error::System("store index lock poisoned".into()))
    }

    fn index_mut(&self) -> Result<std::sync::RwLockWriteGuard<'_, Index>> {
        self.index
            .write()
            .map_err(|_| Error::System("store index lock poisoned".into()))
    }

    /// The writer, when this store may write: not read-only, no earlier
    /// failed write or sync.
    fn writer(&self) -> Result<MutexGuard<'_, WriterState>> {
        if self.access == Access::ReadOnly {
            return Err(Error::Denied("ledger opened read-only".into()));
        }
        let w = self
            .writer
            .lock()
            .map_err(|_| Error::System("store writer lock poisoned".into()))?;
        if let Some(why) = &w.failed {
            return Err(Error::System(format!(
                "an earlier write failed ({why}); reopen the ledger to recover"
            )));
        }
        Ok(w)
    }
}

impl Store for DirStore {
    fn block_count(&self) -> Result<u64> {
        Ok(self.index()?.blocks.len() as u64)
    }

    fn read_block(&self, height: u64) -> Result<Vec<u8>> {
        let (off, len) = usize::try_from(height)
            .ok()
            .and_then(|h| self.index().ok()?.blocks.get(h).copied())
            .ok_or_else(|| Error::NotFound(format!("block {height}")))?;
        let mut buf = vec![0u8; len as usize];
        self.file
            .read_exact_at(&mut buf, off)
            .map_err(|e| io_err("cannot read", &self.path, e))?;
        Ok(buf)
    }

    fn append_block(&self, encoded: &[u8], payloads: &[(Digest, Vec<u8>)]) -> Result<()> {
        let mut w = self.writer()?;
        let bytes: usize = payloads.iter().map(|(_, c)| c.len() + 45).sum();
        let mut out = Vec::with_capacity(bytes + encoded.len() + 13);
        let mut placed = Vec::with_capacity(payloads.len());
        for (d, ct) in payloads {
            let body_offset = w.end + (out.len() + FRAME_PREFIX) as u64;
            push_frame(&mut out, FrameKind::Payload, &[&d.0, ct])?;
            let len =
                u32::try_from(ct.len()).map_err(|_| Error::invalid("payload", "too large"))?;
            placed.push((*d, (body_offset + 32, len)));
        }
        let block_offset = w.end + (out.len() + FRAME_PREFIX) as u64;
        push_frame(&mut out, FrameKind::Block, &[encoded])?;
        let block_len =
            u32::try_from(encoded.len()).map_err(|_| Error::invalid("block", "too large"))?;
        // One write, one fdatasync: the block and its payloads become
        // durable together, and only then are they indexed (visible) and
        // the commit acknowledged. Readers do not wait for this.
        if let Err(e) = self.file.append(&out).and_then(|()| self.file.sync_data()) {
            w.failed = Some(e.to_string());
            return Err(io_err("cannot commit block to", &self.path, e));
        }
        w.end += out.len() as u64;
        let mut index = self.index_mut()?;
        index.blocks.push((block_offset, block_len));
        for (d, at) in placed {
            index.add_payload(d, at);
        }
        Ok(())
    }

    fn get_payload(&self, digest: &Digest) -> Result<Option<Vec<u8>>> {
        let Some(at) = self.index()?.payloads.get(digest).copied() else {
            return Ok(None);
        };
        let mut buf = vec![0u8; at.1 as usize];
        self.file
            .read_exact_at(&mut buf, at.0)
            .map_err(|e| io_err("cannot read", &self.path, e))?;
        // An erasure forgets the payload before it overwrites the frame: if
        // this read may have met the overwrite, the payload is gone.
        if self.index()?.payloads.get(digest) != Some(&at) {
            return Ok(None);
        }
        Ok(Some(buf))
    }

    fn erase_payload(&self, digest: &Digest) -> Result<bool> {
        let mut w = self.writer()?;
        let frames = self
            .index()?
            .locations(digest)
            .into_iter()
            .map(|ct| {
                frame_of(ct)
                    .ok_or_else(|| Error::System("payload index out of step with the file".into()))
            })
            .collect::<Result<Vec<_>>>()?;
        if frames.is_empty() {
            return Ok(false);
        }
        let mut tombstones = Vec::with_capacity(frames.len() * (TOMBSTONE_BODY + FRAME_OVERHEAD));
        let mut overwrites = Vec::with_capacity(frames.len());
        for &(at, len) in &frames {
            push_frame(
                &mut tombstones,
                FrameKind::Tombstone,
                &[&tombstone_body(digest, at, len)],
            )?;
            overwrites.push((at + ERASE_FROM, erased_overwrite(len)?));
        }
        // 1. The tombstones, durable: from here the erasure is committed (an
        // open finishes it).
        if let Err(e) = self
            .file
            .append(&tombstones)
            .and_then(|()| self.file.sync_data())
        {
            w.failed = Some(e.to_string());
            return Err(io_err("cannot record the erasure in", &self.path, e));
        }
        w.end += tombstones.len() as u64;
        // 2. No longer served (before any byte of it is overwritten).
        self.index_mut()?.forget(digest);
        // 3. The ciphertext overwritten in place, durable.
        let overwritten = overwrites
            .iter()
            .try_for_each(|(at, bytes)| self.file.write_at(bytes, *at))
            .and_then(|()| self.file.sync_data());
        if let Err(e) = overwritten {
            w.failed = Some(e.to_string());
            return Err(Error::System(format!(
                "cannot overwrite an erased payload in {}: {e}; the erasure is recorded \
                 and is finished when the ledger is reopened",
                self.path.display()
            )));
        }
        Ok(true)
    }
}

/// A read window over a [`LogFile`] for scanning.
struct FileWindow<'a> {
    file: &'a dyn LogFile,
    total: u64,
    start: u64,
    buf: Vec<u8>,
}

impl<'a> FileWindow<'a> {
    fn new(file: &'a dyn LogFile, total: u64) -> Self {
        FileWindow {
            file,
            total,
            start: 0,
            buf: Vec::new(),
        }
    }
}

impl ScanSource for FileWindow<'_> {
    fn total(&self) -> u64 {
        self.total
    }

    fn bytes(&mut self, pos: u64, n: usize) -> std::io::Result<&[u8]> {
        let avail = usize::try_from(self.total.saturating_sub(pos)).unwrap_or(usize::MAX);
        let n = n.min(avail);
        let end = pos.saturating_add(n as u64);
        let covered = pos >= self.start && end <= self.start + self.buf.len() as u64;
        if !covered {
            let len = n.max(SCAN_WINDOW).min(avail);
            self.buf.resize(len, 0);
            self.file.read_exact_at(&mut self.buf, pos)?;
            self.start = pos;
        }
        let from = usize::try_from(pos - self.start).unwrap_or(0);
        Ok(self.buf.get(from..from + n).unwrap_or_default())
    }
}
