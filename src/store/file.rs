//! The file operations the directory store needs, behind a trait so tests
//! can inject faults (failed or short writes, failed fsync, a full disk) in
//! the manner of redb's crash-testing backend.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// An append-only file with positional reads, and positioned writes for
/// erasure (the one in-place change). All methods take `&self` (like
/// `&File`): reads run concurrently with the one writer.
pub trait LogFile: Send + Sync {
    /// Current length in bytes.
    fn byte_len(&self) -> io::Result<u64>;
    /// Reads exactly `buf.len()` bytes at `offset`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Appends all of `data` at the end.
    fn append(&self, data: &[u8]) -> io::Result<()>;
    /// Writes all of `data` at `offset`, inside the file (overwriting an
    /// erased payload frame in place).
    fn write_at(&self, data: &[u8], offset: u64) -> io::Result<()>;
    /// Makes appended data durable (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;
    /// Cuts the file to `len` bytes and makes that durable.
    fn truncate(&self, len: u64) -> io::Result<()>;
}

/// A real file.
pub struct FsLogFile {
    file: File,
}

impl FsLogFile {
    /// Wraps an open file (opened for reading, and for writing when the
    /// store is writable). Not with `O_APPEND`: Linux `pwrite` ignores the
    /// offset on such a file, and erasure overwrites in place.
    pub fn new(file: File) -> Self {
        FsLogFile { file }
    }
}

impl LogFile for FsLogFile {
    fn byte_len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    fn append(&self, data: &[u8]) -> io::Result<()> {
        // One writer (the store's writer lock, the directory's flock): the
        // end cannot move between the stat and the write.
        let end = self.file.metadata()?.len();
        self.file.write_all_at(data, end)
    }

    fn write_at(&self, data: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(data, offset)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)?;
        self.file.sync_all()
    }
}

/// A fault to inject into a [`FaultyLogFile`]. The write faults hit the
/// next write, an append or a positioned write alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The next write fails without writing anything.
    FailWrite,
    /// The next write writes only its first `n` bytes, then fails (a torn
    /// write: what a crash in the middle of it leaves).
    ShortWrite(usize),
    /// The next write fails with "no space left on device" after writing
    /// its first `n` bytes.
    NoSpace(usize),
    /// The next `sync_data` fails (the data may or may not be on disk).
    FailSync,
}

/// Shared control of a [`FaultyLogFile`]: arm faults from the test while
/// the store owns the file.
#[derive(Clone, Default)]
pub struct FaultSwitch {
    /// The armed fault and how many matching operations pass before it.
    next: Arc<Mutex<Option<(Fault, u64)>>>,
    appends: Arc<AtomicU64>,
}

impl FaultSwitch {
    /// Arms `fault` for the next matching operation.
    pub fn arm(&self, fault: Fault) {
        self.arm_after(0, fault);
    }

    /// Arms `fault` for the matching operation after the next `skip` ones
    /// (e.g. `arm_after(1, Fault::FailSync)` fails the second sync).
    pub fn arm_after(&self, skip: u64, fault: Fault) {
        if let Ok(mut n) = self.next.lock() {
            *n = Some((fault, skip));
        }
    }

    /// Appends performed so far.
    pub fn appends(&self) -> u64 {
        self.appends.load(Ordering::Relaxed)
    }

    fn take_if(&self, pred: impl Fn(&Fault) -> bool) -> Option<Fault> {
        let mut n = self.next.lock().ok()?;
        match n.as_mut() {
            Some((f, skip)) if pred(f) => {
                if *skip > 0 {
                    *skip -= 1;
                    None
                } else {
                    n.take().map(|(f, _)| f)
                }
            }
            _ => None,
        }
    }

    /// The write fault to inject now, if one is armed and due.
    fn write_fault(&self) -> Option<Fault> {
        self.take_if(|f| !matches!(f, Fault::FailSync))
    }
}

/// Performs `write` on all of `data`, or on the prefix a write fault lets
/// through and then fails as that fault says.
fn faulty_write(
    fault: Option<Fault>,
    data: &[u8],
    write: impl FnOnce(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    match fault {
        Some(Fault::FailWrite) => Err(io::Error::other("injected write failure")),
        Some(Fault::ShortWrite(n)) => {
            write(data.get(..n).unwrap_or(data))?;
            Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "injected short write",
            ))
        }
        Some(Fault::NoSpace(n)) => {
            write(data.get(..n).unwrap_or(data))?;
            Err(io::Error::from_raw_os_error(28)) // ENOSPC
        }
        Some(Fault::FailSync) | None => write(data),
    }
}

/// A [`LogFile`] that fails when told to (tests only; it wraps a real file
/// so that what did reach the file is really there on reopen).
pub struct FaultyLogFile<F: LogFile> {
    inner: F,
    switch: FaultSwitch,
}

impl<F: LogFile> FaultyLogFile<F> {
    /// Wraps `inner`; faults are armed through `switch`.
    pub fn new(inner: F, switch: FaultSwitch) -> Self {
        FaultyLogFile { inner, switch }
    }
}

impl<F: LogFile> LogFile for FaultyLogFile<F> {
    fn byte_len(&self) -> io::Result<u64> {
        self.inner.byte_len()
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.inner.read_exact_at(buf, offset)
    }

    fn append(&self, data: &[u8]) -> io::Result<()> {
        self.switch.appends.fetch_add(1, Ordering::Relaxed);
        faulty_write(self.switch.write_fault(), data, |d| self.inner.append(d))
    }

    fn write_at(&self, data: &[u8], offset: u64) -> io::Result<()> {
        faulty_write(self.switch.write_fault(), data, |d| {
            self.inner.write_at(d, offset)
        })
    }

    fn sync_data(&self) -> io::Result<()> {
        if self
            .switch
            .take_if(|f| matches!(f, Fault::FailSync))
            .is_some()
        {
            return Err(io::Error::other("injected fsync failure"));
        }
        self.inner.sync_data()
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)
    }
}
