//! The file operations the directory store needs, behind a trait so tests
//! can inject faults (failed or short writes, failed fsync, a full disk) in
//! the manner of redb's crash-testing backend.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// An append-only file with positional reads. All methods take `&self`
/// (like `&File`): reads run concurrently with the one appender.
pub trait LogFile: Send + Sync {
    /// Current length in bytes.
    fn byte_len(&self) -> io::Result<u64>;
    /// Reads exactly `buf.len()` bytes at `offset`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Appends all of `data` at the end.
    fn append(&self, data: &[u8]) -> io::Result<()>;
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
    /// Wraps an open file (opened for reading, and for appending when the
    /// store is writable).
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
        // The file is opened with O_APPEND: every write goes to the end.
        (&self.file).write_all(data)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)?;
        self.file.sync_all()
    }
}

/// A fault to inject into a [`FaultyLogFile`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The next append fails without writing anything.
    FailWrite,
    /// The next append writes only its first `n` bytes, then fails.
    ShortWrite(usize),
    /// The next append fails with "no space left on device" after writing
    /// its first `n` bytes.
    NoSpace(usize),
    /// The next `sync_data` fails (the data may or may not be on disk).
    FailSync,
}

/// Shared control of a [`FaultyLogFile`]: arm faults from the test while
/// the store owns the file.
#[derive(Clone, Default)]
pub struct FaultSwitch {
    next: Arc<Mutex<Option<Fault>>>,
    appends: Arc<AtomicU64>,
}

impl FaultSwitch {
    /// Arms `fault` for the next matching operation.
    pub fn arm(&self, fault: Fault) {
        if let Ok(mut n) = self.next.lock() {
            *n = Some(fault);
        }
    }

    /// Appends performed so far.
    pub fn appends(&self) -> u64 {
        self.appends.load(Ordering::Relaxed)
    }

    fn take_if(&self, pred: impl Fn(&Fault) -> bool) -> Option<Fault> {
        let mut n = self.next.lock().ok()?;
        if n.as_ref().is_some_and(pred) {
            n.take()
        } else {
            None
        }
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
        match self.switch.take_if(|f| !matches!(f, Fault::FailSync)) {
            Some(Fault::FailWrite) => Err(io::Error::other("injected write failure")),
            Some(Fault::ShortWrite(n)) => {
                self.inner.append(data.get(..n).unwrap_or(data))?;
                Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "injected short write",
                ))
            }
            Some(Fault::NoSpace(n)) => {
                self.inner.append(data.get(..n).unwrap_or(data))?;
                Err(io::Error::from_raw_os_error(28)) // ENOSPC
            }
            _ => self.inner.append(data),
        }
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
