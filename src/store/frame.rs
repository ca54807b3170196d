//! Frames of the ledger file: the unit of durability and of recovery.
//!
//! ```text
//! file   = header (48 bytes) | frame*
//! header = magic "MEDLEDGR" | version u16 | reserved 6 zero bytes | ledger_id 32
//! frame  = sync "MLFR" | len u32 | kind u8 | body (len bytes) | crc32c u32
//!          crc32c covers len, kind and body
//! ```
//! A block's payload frames are written before its block frame, and one
//! `fdatasync` covers both; a block is acknowledged only after that returns.
//! So on open every complete, checksummed frame up to the last block frame
//! is committed data, and anything after it was never acknowledged.
//!
//! The sync marker lets recovery tell a torn tail from damage in the middle:
//! after a bad frame, a later valid frame (found by its marker) proves the
//! bad one was not the last write, so the file is refused rather than cut.
//!
//! Erasure appends a *tombstone* (synced like a block, and like a block it
//! ends the committed part of the file), then overwrites the payload frame
//! it names in place as an *erased* frame: same marker and length, kind 4,
//! zero body, valid checksum. A payload frame that a later tombstone names
//! may therefore be found intact, half overwritten or erased; any other
//! damaged or erased frame is refused as before (docs/FORMAT.md §8.6).

use std::collections::HashSet;

use crate::codec::{Reader, Writer};
use crate::crypto::hash::Digest;
use crate::model::{FORMAT_VERSION, LedgerId};
use crate::{Error, Result};

/// File magic.
pub const MAGIC: &[u8; 8] = b"MEDLEDGR";
/// Encoded size of the file header.
pub const HEADER_LEN: usize = 8 + 2 + 6 + 32;
/// Marker opening every frame.
pub const SYNC: &[u8; 4] = b"MLFR";
/// Bytes before a frame's body: sync, length, kind.
pub const FRAME_PREFIX: usize = 4 + 4 + 1;
/// Bytes a frame adds around its body.
pub const FRAME_OVERHEAD: usize = FRAME_PREFIX + 4;
/// Largest frame body: a block or a payload frame (digest + ciphertext).
pub const MAX_FRAME_BODY: usize = crate::log::block::MAX_BLOCK_LEN;

/// Length of a tombstone frame's body: digest, frame offset, body length.
pub const TOMBSTONE_BODY: usize = 32 + 8 + 4;
/// Where, inside a frame, erasure starts overwriting: after the sync marker
/// and the length, which it leaves as they are.
pub const ERASE_FROM: u64 = 4 + 4;

/// What a frame holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum FrameKind {
    /// An encoded block (`Block::encode`).
    Block = 1,
    /// A payload: `digest 32 | ciphertext`.
    Payload = 2,
    /// A tombstone: `digest 32 | frame offset u64 | body length u32` of a
    /// payload frame being erased (see [`tombstone_body`]).
    Tombstone = 3,
    /// An erased payload frame: the payload frame's length, all-zero body.
    Erased = 4,
}

impl FrameKind {
    fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(FrameKind::Block),
            2 => Some(FrameKind::Payload),
            3 => Some(FrameKind::Tombstone),
            4 => Some(FrameKind::Erased),
            _ => None,
        }
    }
}

/// The body of a tombstone for the payload frame starting at file offset
/// `frame_offset` (its sync marker) whose body is `body_len` bytes.
pub fn tombstone_body(digest: &Digest, frame_offset: u64, body_len: u32) -> [u8; TOMBSTONE_BODY] {
    let mut b = [0u8; TOMBSTONE_BODY];
    let (d, rest) = b.split_at_mut(32);
    let (off, len) = rest.split_at_mut(8);
    d.copy_from_slice(&digest.0);
    off.copy_from_slice(&frame_offset.to_le_bytes());
    len.copy_from_slice(&body_len.to_le_bytes());
    b
}

/// Decodes a tombstone body: (digest, frame offset, body length).
fn decode_tombstone(body: &[u8]) -> Option<(Digest, u64, u32)> {
    let d: [u8; 32] = body.get(..32)?.try_into().ok()?;
    let off: [u8; 8] = body.get(32..40)?.try_into().ok()?;
    let len: [u8; 4] = body.get(40..TOMBSTONE_BODY)?.try_into().ok()?;
    Some((Digest(d), u64::from_le_bytes(off), u32::from_le_bytes(len)))
}

/// The bytes that turn a payload frame of body length `body_len` into an
/// erased frame, written at the frame's offset + [`ERASE_FROM`]: kind 4,
/// `body_len` zero bytes, the checksum over (length, kind, zero body).
pub fn erased_overwrite(body_len: u32) -> Result<Vec<u8>> {
    let n = usize::try_from(body_len)
        .ok()
        .filter(|n| *n <= MAX_FRAME_BODY)
        .ok_or_else(|| Error::invalid("frame", "body larger than the format limit"))?;
    let mut out = vec![0u8; n + 5];
    if let Some(k) = out.first_mut() {
        *k = FrameKind::Erased as u8;
    }
    let sum = crc(
        &body_len.to_le_bytes(),
        FrameKind::Erased as u8,
        &[out.get(1..=n).unwrap_or_default()],
    );
    if let Some(c) = out.get_mut(n + 1..) {
        c.copy_from_slice(&sum.to_le_bytes());
    }
    Ok(out)
}

/// Encodes the file header.
pub fn encode_header(ledger: &LedgerId) -> Vec<u8> {
    let mut w = Writer::with_capacity(HEADER_LEN);
    w.raw(MAGIC)
        .u16(FORMAT_VERSION)
        .raw(&[0u8; 6])
        .digest(&ledger.0);
    w.into_bytes()
}

/// Decodes the file header; returns the ledger id.
pub fn decode_header(bytes: &[u8]) -> Result<LedgerId> {
    let mut r = Reader::new(bytes);
    if r.fixed::<8>("file.magic")? != *MAGIC {
        return Err(Error::Decode {
            what: "file.magic",
            offset: 0,
            reason: "not a medledger ledger file",
        });
    }
    crate::model::check_version("ledger file", r.u16("file.version")?)?;
    if r.fixed::<6>("file.reserved")? != [0u8; 6] {
        return Err(r.error("file.reserved", "reserved bytes must be zero"));
    }
    Ok(LedgerId(r.digest("file.ledger_id")?))
}

fn crc(len: &[u8; 4], kind: u8, body: &[&[u8]]) -> u32 {
    let mut c = crc32c::crc32c(len);
    c = crc32c::crc32c_append(c, &[kind]);
    for b in body {
        c = crc32c::crc32c_append(c, b);
    }
    c
}

/// Appends one frame whose body is the concatenation of `body` to `out`.
pub fn push_frame(out: &mut Vec<u8>, kind: FrameKind, body: &[&[u8]]) -> Result<()> {
    let n: usize = body.iter().map(|b| b.len()).sum();
    if n > MAX_FRAME_BODY {
        return Err(Error::invalid("frame", "body larger than the format limit"));
    }
    let len = u32::try_from(n)
        .map_err(|_| Error::invalid("frame", "body larger than 4 GiB"))?
        .to_le_bytes();
    out.reserve(n + FRAME_OVERHEAD);
    out.extend_from_slice(SYNC);
    out.extend_from_slice(&len);
    out.push(kind as u8);
    for b in body {
        out.extend_from_slice(b);
    }
    out.extend_from_slice(&crc(&len, kind as u8, body).to_le_bytes());
    Ok(())
}

/// A frame found by [`scan`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FrameRef {
    /// Kind.
    pub kind: FrameKind,
    /// Offset of the body in the file.
    pub body_offset: u64,
    /// Body length.
    pub body_len: u32,
    /// For a payload frame, its ciphertext digest (the first 32 body bytes),
    /// read while the frame was in the scan window; for a tombstone, the
    /// digest of the payload it erases.
    pub digest: Option<Digest>,
    /// For a tombstone, the payload frame it erases: (frame offset, body
    /// length).
    pub erases: Option<(u64, u32)>,
}

/// The result of scanning a file's frames.
#[derive(Debug, Default)]
pub struct Scan {
    /// Valid frames, in file order, up to and including the last block or
    /// tombstone frame.
    pub frames: Vec<FrameRef>,
    /// File length that keeps exactly `frames` (the end of the last block
    /// or tombstone frame, or the header when there is none).
    pub keep_len: u64,
    /// Bytes after `keep_len`: an unacknowledged tail to cut.
    pub tail_bytes: u64,
    /// Complete, valid frames in that tail (payloads of a block that never
    /// committed).
    pub tail_frames: u64,
    /// Payload frames named by a tombstone (erased, or being erased).
    pub erased: u64,
    /// Those of the `erased` frames not yet overwritten (a crash
    /// between a tombstone and its overwrite, or during the overwrite):
    /// still intact, or damaged. A writer finishes them.
    pub unfinished: Vec<(u64, u32)>,
}

/// A frame the scan can judge only once the tombstones after it are known:
/// a complete frame that fails its checks (damage, or a payload frame torn
/// while being erased), or an erased frame.
struct Undecided {
    offset: u64,
    body_len: u32,
    /// The frame's kind byte (a torn erasure has 2 or 4).
    kind_byte: u8,
    /// True for a complete, valid erased frame.
    erased: bool,
    /// How it is refused if no tombstone names it.
    damage: ScanDamage,
}

/// Why a scan refused a file: damage that is not a torn tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanDamage {
    /// Offset of the damaged frame.
    pub offset: u64,
    /// Index of the damaged frame among all frames.
    pub frame_index: u64,
    /// Block frames before the damage (so the damaged data belongs to block
    /// `blocks_before` or its payloads).
    pub blocks_before: u64,
    /// What is wrong.
    pub reason: &'static str,
}

/// Random access to the bytes being scanned: a slice, or a file read
/// through a window (so a large file is never held in memory whole).
pub trait ScanSource {
    /// Total length.
    fn total(&self) -> u64;
    /// Up to `n` bytes at `pos` (fewer only at the end).
    fn bytes(&mut self, pos: u64, n: usize) -> std::io::Result<&[u8]>;
}

impl ScanSource for &[u8] {
    fn total(&self) -> u64 {
        self.len() as u64
    }

    fn bytes(&mut self, pos: u64, n: usize) -> std::io::Result<&[u8]> {
        let start = usize::try_from(pos).unwrap_or(usize::MAX).min(self.len());
        let end = start.saturating_add(n).min(self.len());
        Ok(self.get(start..end).unwrap_or_default())
    }
}

/// Why a scan stopped without a verdict.
#[derive(Debug)]
pub enum ScanError {
    /// Damage that is not a torn tail.
    Damage(ScanDamage),
    /// The file could not be read.
    Io(std::io::Error),
}

/// Scans frames from `start` to the end of `src`. A frame that is
/// incomplete or fails its checksum with nothing valid after it is a torn
/// tail (cut); the same damage followed by a valid frame is corruption and
/// is refused with its location. A complete frame that fails its checks,
/// and an erased frame, are accepted only when a later tombstone names
/// them (an erasure, finished or interrupted); otherwise they are refused
/// as damage, reported at the first such frame.
pub fn scan<S: ScanSource>(src: &mut S, start: u64) -> core::result::Result<Scan, ScanError> {
    let total = src.total();
    let mut s = Scan {
        keep_len: start,
        ..Scan::default()
    };
    let mut pos = start;
    let mut pending: Vec<FrameRef> = Vec::new();
    // Frames judged once the tombstones after them are known, in file
    // order, and the frame offsets tombstones name.
    let mut undecided: Vec<Undecided> = Vec::new();
    let mut named: HashSet<u64> = HashSet::new();
    let (mut blocks, mut index) = (0u64, 0u64);
    while pos < total {
        let prefix_len = src.bytes(pos, FRAME_PREFIX).map_err(ScanError::Io)?.len();
        let declared = src
            .bytes(pos, FRAME_PREFIX)
            .map_err(ScanError::Io)?
            .get(4..8)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, |b| u32::from_le_bytes(b) as usize);
        let want = if prefix_len < FRAME_PREFIX || declared > MAX_FRAME_BODY {
            FRAME_PREFIX
        } else {
            declared + FRAME_OVERHEAD
        };
        let frame = src.bytes(pos, want).map_err(ScanError::Io)?;
        let parsed = parse_frame(frame).map(|(kind, body_len, frame_len)| {
            let body = frame.get(FRAME_PREFIX..).unwrap_or_default();
            let (digest, erases) = match kind {
                FrameKind::Payload => (split_payload(body).ok().map(|(d, _)| d), None),
                FrameKind::Tombstone => decode_tombstone(body)
                    .map_or((None, None), |(d, at, len)| (Some(d), Some((at, len)))),
                FrameKind::Block | FrameKind::Erased => (None, None),
            };
            (kind, body_len, frame_len, digest, erases)
        });
        let here = |reason| ScanDamage {
            offset: pos,
            frame_index: index,
            blocks_before: blocks,
            reason,
        };
        match parsed {
            Ok((kind, body_len, frame_len, digest, erases)) => {
                match (kind, digest, erases) {
                    (FrameKind::Erased, _, _) => undecided.push(Undecided {
                        offset: pos,
                        body_len,
                        kind_byte: FrameKind::Erased as u8,
                        erased: true,
                        damage: here("erased frame that no tombstone names"),
                    }),
                    (FrameKind::Tombstone, Some(d), Some((at, len))) => {
                        let known = Known {
                            committed: &s.frames,
                            pending: &pending,
                            undecided: &undecided,
                            named: &named,
                        };
                        match known.erasure(&d, at, len) {
                            Ok(finish) => {
                                named.insert(at);
                                s.erased += 1;
                                if finish {
                                    s.unfinished.push((at, len));
                                }
                            }
                            Err(reason) => {
                                return Err(ScanError::Damage(
                                    first_undecided(&undecided, &named)
                                        .unwrap_or_else(|| here(reason)),
                                ));
                            }
                        }
                    }
                    _ => {}
                }
                pending.push(FrameRef {
                    kind,
                    body_offset: pos + FRAME_PREFIX as u64,
                    body_len,
                    digest,
                    erases,
                });
                pos += frame_len as u64;
                index += 1;
                // A synced tombstone is committed like a block: the tail
                // after it is what was never acknowledged.
                if matches!(kind, FrameKind::Block | FrameKind::Tombstone) {
                    if kind == FrameKind::Block {
                        blocks += 1;
                    }
                    s.frames.append(&mut pending);
                    s.keep_len = pos;
                }
            }
            Err(reason) => {
                // A frame that is all there — marker, length within the
                // file — but fails its checks is damaged committed data
                // (appends reach the disk before the file length does), not
                // a torn write: refuse it rather than cut it — unless a
                // later tombstone names it (a payload frame torn while being
                // erased). Erasure leaves the marker and length as they
                // were, so the scan goes on past it by its length.
                let marker_ok = src
                    .bytes(pos, SYNC.len())
                    .map_err(ScanError::Io)?
                    .starts_with(SYNC);
                let complete = prefix_len == FRAME_PREFIX
                    && declared <= MAX_FRAME_BODY
                    && pos + (declared + FRAME_OVERHEAD) as u64 <= total;
                if marker_ok && complete {
                    let kind_byte = src
                        .bytes(pos + 8, 1)
                        .map_err(ScanError::Io)?
                        .first()
                        .copied()
                        .unwrap_or_default();
                    undecided.push(Undecided {
                        offset: pos,
                        body_len: u32::try_from(declared).unwrap_or(u32::MAX),
                        kind_byte,
                        erased: false,
                        damage: here(reason),
                    });
                    pos += (declared + FRAME_OVERHEAD) as u64;
                    index += 1;
                    continue;
                }
                // A damaged marker or length on an otherwise intact last
                // frame is damage too: its checksum still matches once the
                // marker is ignored, or once the length is taken to be
                // "up to the end of the file".
                let intact_but_marker = complete
                    && parse_frame_body(
                        src.bytes(pos, declared + FRAME_OVERHEAD)
                            .map_err(ScanError::Io)?
                            .get(4..)
                            .unwrap_or_default(),
                        None,
                    )
                    .is_ok();
                let rest_len = usize::try_from(total - pos).unwrap_or(usize::MAX);
                let intact_but_length = marker_ok
                    && rest_len >= FRAME_OVERHEAD
                    && rest_len - FRAME_OVERHEAD <= MAX_FRAME_BODY
                    && parse_frame_body(
                        src.bytes(pos, rest_len)
                            .map_err(ScanError::Io)?
                            .get(4..)
                            .unwrap_or_default(),
                        u32::try_from(rest_len - FRAME_OVERHEAD).ok(),
                    )
                    .is_ok();
                if intact_but_marker
                    || intact_but_length
                    || later_valid_frame(src, pos + 1).map_err(ScanError::Io)?
                {
                    return Err(ScanError::Damage(
                        first_undecided(&undecided, &named).unwrap_or_else(|| here(reason)),
                    ));
                }
                break;
            }
        }
    }
    if let Some(d) = first_undecided(&undecided, &named) {
        return Err(ScanError::Damage(d));
    }
    s.tail_bytes = total.saturating_sub(s.keep_len);
    s.tail_frames = pending.len() as u64;
    Ok(s)
}

/// The first frame judged at the end that no tombstone names: the damage
/// to report.
fn first_undecided(undecided: &[Undecided], named: &HashSet<u64>) -> Option<ScanDamage> {
    undecided
        .iter()
        .find(|p| !named.contains(&p.offset))
        .map(|p| p.damage.clone())
}

/// The frames before a tombstone, to check what it names.
struct Known<'a> {
    committed: &'a [FrameRef],
    pending: &'a [FrameRef],
    undecided: &'a [Undecided],
    named: &'a HashSet<u64>,
}

impl Known<'_> {
    /// Checks a tombstone for the payload frame at `at` with body length
    /// `len` and digest `digest`. `Ok(true)` when that erasure is still to
    /// be finished (the frame is intact or torn), `Ok(false)` when the frame
    /// is already erased.
    fn erasure(
        &self,
        digest: &Digest,
        at: u64,
        len: u32,
    ) -> core::result::Result<bool, &'static str> {
        if self.named.contains(&at) {
            return Err("tombstone names a payload frame an earlier tombstone erases");
        }
        if let Ok(i) = self.undecided.binary_search_by_key(&at, |p| p.offset) {
            let p = self
                .undecided
                .get(i)
                .ok_or("tombstone names no payload frame")?;
            if p.body_len != len {
                return Err("tombstone names a frame of another length");
            }
            if p.erased {
                return Ok(false);
            }
            // A torn erasure leaves the old kind byte or the new one.
            if p.kind_byte != FrameKind::Payload as u8 && p.kind_byte != FrameKind::Erased as u8 {
                return Err("tombstone names a damaged frame that is not a payload frame");
            }
            return Ok(true);
        }
        let body_offset = at
            .checked_add(FRAME_PREFIX as u64)
            .ok_or("tombstone names no payload frame")?;
        let find = |frames: &[FrameRef]| {
            frames
                .binary_search_by_key(&body_offset, |f| f.body_offset)
                .ok()
                .and_then(|i| frames.get(i).copied())
        };
        let f = find(self.committed)
            .or_else(|| find(self.pending))
            .ok_or("tombstone names no payload frame")?;
        if f.kind != FrameKind::Payload {
            return Err("tombstone names a frame that is not a payload frame");
        }
        if f.body_len != len {
            return Err("tombstone names a frame of another length");
        }
        if f.digest.as_ref() != Some(digest) {
            return Err("tombstone names a payload frame of another digest");
        }
        Ok(true)
    }
}

/// True when a valid frame starts anywhere at or after `from`.
fn later_valid_frame<S: ScanSource>(src: &mut S, from: u64) -> std::io::Result<bool> {
    const CHUNK: usize = 1 << 20;
    let total = src.total();
    let mut pos = from;
    while pos < total {
        let hits: Vec<u64> = {
            let chunk = src.bytes(pos, CHUNK + SYNC.len())?;
            chunk
                .windows(SYNC.len())
                .enumerate()
                .filter(|(_, w)| *w == SYNC)
                .map(|(i, _)| pos + i as u64)
                .collect()
        };
        for at in hits {
            let declared = src
                .bytes(at + 4, 4)?
                .try_into()
                .map_or(0, |b: [u8; 4]| u32::from_le_bytes(b) as usize);
            if declared <= MAX_FRAME_BODY
                && parse_frame(src.bytes(at, declared + FRAME_OVERHEAD)?).is_ok()
            {
                return Ok(true);
            }
        }
        pos += CHUNK as u64;
    }
    Ok(false)
}

/// Parses the frame at the start of `rest`: (kind, body length, frame length).
fn parse_frame(rest: &[u8]) -> core::result::Result<(FrameKind, u32, usize), &'static str> {
    let sync = rest.get(..4).ok_or("frame header cut short")?;
    if sync != SYNC {
        return Err("frame sync marker missing");
    }
    parse_frame_body(rest.get(4..).unwrap_or_default(), None)
}

/// Parses a frame after its sync marker. With `assume_len`, the stored
/// length field is ignored and the checksum is computed as if it held that
/// value (used to recognise a last frame whose length field was damaged).
fn parse_frame_body(
    rest: &[u8],
    assume_len: Option<u32>,
) -> core::result::Result<(FrameKind, u32, usize), &'static str> {
    let stored_len: [u8; 4] = rest
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or("frame header cut short")?;
    let body_len = assume_len.unwrap_or(u32::from_le_bytes(stored_len));
    let len = body_len.to_le_bytes();
    let n = usize::try_from(body_len).map_err(|_| "frame length overflows")?;
    if n > MAX_FRAME_BODY {
        return Err("frame length beyond the format limit");
    }
    let kind_byte = *rest.get(4).ok_or("frame header cut short")?;
    let body = rest.get(5..5 + n).ok_or("frame body cut short")?;
    let stored: [u8; 4] = rest
        .get(5 + n..9 + n)
        .and_then(|b| b.try_into().ok())
        .ok_or("frame checksum cut short")?;
    if crc(&len, kind_byte, &[body]) != u32::from_le_bytes(stored) {
        return Err("frame checksum mismatch");
    }
    let kind = FrameKind::from_u8(kind_byte).ok_or("unknown frame kind")?;
    match kind {
        FrameKind::Payload if n < 32 => return Err("payload frame shorter than its digest"),
        FrameKind::Erased if n < 32 => return Err("erased frame shorter than a payload frame"),
        FrameKind::Erased if body.iter().any(|b| *b != 0) => {
            return Err("erased frame body not zero");
        }
        FrameKind::Tombstone if n != TOMBSTONE_BODY => {
            return Err("tombstone frame of the wrong length");
        }
        _ => {}
    }
    Ok((kind, body_len, 4 + n + 9))
}

/// Splits a payload frame body into digest and ciphertext.
pub fn split_payload(body: &[u8]) -> Result<(Digest, &[u8])> {
    let (d, ct) = body.split_at_checked(32).ok_or(Error::Decode {
        what: "payload frame",
        offset: 0,
        reason: "shorter than its digest",
    })?;
    let mut digest = [0u8; 32];
    digest.copy_from_slice(d);
    Ok((Digest(digest), ct))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(frames: &[(FrameKind, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, b) in frames {
            push_frame(&mut out, *k, &[b]).unwrap();
        }
        out
    }

    fn scan_bytes(data: &[u8], base: u64) -> core::result::Result<Scan, ScanDamage> {
        // Offsets are reported relative to a file whose first `base` bytes
        // are a header: prepend zeros of that length.
        let mut buf = vec![0u8; usize::try_from(base).unwrap()];
        buf.extend_from_slice(data);
        match scan(&mut buf.as_slice(), base) {
            Ok(s) => Ok(s),
            Err(ScanError::Damage(d)) => Err(d),
            Err(ScanError::Io(e)) => panic!("{e}"),
        }
    }

    #[test]
    fn scan_keeps_up_to_last_block_and_cuts_torn_tail() {
        let mut data = file(&[
            (FrameKind::Payload, &[1u8; 40]),
            (FrameKind::Block, b"block one"),
            (FrameKind::Payload, &[2u8; 40]),
        ]);
        let s = scan_bytes(&data, 48).unwrap();
        assert_eq!(s.frames.len(), 2);
        assert_eq!(s.tail_frames, 1);
        assert_eq!(s.keep_len, 48 + (13 + 40) + (13 + 9));
        // Every truncation of the file scans cleanly: a prefix is a torn tail.
        let full = data.clone();
        for cut in 0..full.len() {
            let s = scan_bytes(&full[..cut], 0).unwrap();
            assert!(s.keep_len <= cut as u64);
        }
        // A complete last frame with a bad checksum is damage, not a tear.
        let mut rot = full.clone();
        let last = rot.len() - 6;
        rot[last] ^= 0x10;
        let d = scan_bytes(&rot, 48).unwrap_err();
        assert_eq!(d.reason, "frame checksum mismatch");
        assert_eq!(d.blocks_before, 1);
        // Damage to the last frame's sync marker or length (any bit) is
        // recognised as damage, never as a torn write to cut.
        let last_start = full.len() - (13 + 40);
        for at in [
            last_start,
            last_start + 1,
            last_start + 4,
            last_start + 5,
            last_start + 7,
        ] {
            for bit in [0x01u8, 0x40, 0x80] {
                let mut bad = full.clone();
                bad[at] ^= bit;
                let r = scan_bytes(&bad, 48);
                assert!(
                    r.is_err(),
                    "byte {at} bit {bit:#x} of the last frame was cut as a tear"
                );
            }
        }
        // Damage followed by a valid frame is corruption, located.
        data[14] ^= 1;
        let tail = file(&[(FrameKind::Block, b"block two")]);
        data.extend_from_slice(&tail);
        let d = scan_bytes(&data, 48).unwrap_err();
        assert_eq!(d.offset, 48);
        assert_eq!(d.frame_index, 0);
        assert_eq!(d.reason, "frame checksum mismatch");
        // A zero-filled tail is torn, not corrupt.
        let mut z = file(&[(FrameKind::Block, b"b")]);
        z.extend_from_slice(&[0u8; 100]);
        let s = scan_bytes(&z, 0).unwrap();
        assert_eq!((s.frames.len(), s.tail_bytes), (1, 100));
    }

    /// Block, payload (digest [1; 32]), block, payload (digest [2; 32]),
    /// block, then a tombstone for the first payload; with the first
    /// payload frame's offset and body length. Offsets count from 0.
    fn erasing_file() -> (Vec<u8>, u64, u32) {
        let mut out = file(&[(FrameKind::Block, b"genesis")]);
        let at = out.len() as u64;
        push_frame(&mut out, FrameKind::Payload, &[&[1u8; 32], &[0xc3; 60]]).unwrap();
        push_frame(&mut out, FrameKind::Block, &[b"block one"]).unwrap();
        push_frame(&mut out, FrameKind::Payload, &[&[2u8; 32], &[0x3c; 60]]).unwrap();
        push_frame(&mut out, FrameKind::Block, &[b"block two"]).unwrap();
        let t = tombstone_body(&Digest([1; 32]), at, 92);
        push_frame(&mut out, FrameKind::Tombstone, &[&t]).unwrap();
        (out, at, 92)
    }

    fn overwrite(data: &mut [u8], at: u64, body_len: u32, keep: usize) {
        let bytes = erased_overwrite(body_len).unwrap();
        let from = usize::try_from(at + ERASE_FROM).unwrap();
        data[from..from + keep].copy_from_slice(&bytes[..keep]);
    }

    #[test]
    fn tombstones_commit_and_name_erased_intact_or_torn_payload_frames() {
        let (data, at, len) = erasing_file();
        // Intact payload, tombstone after the last block: the tombstone is
        // committed data (kept, not a tail), the erasure is to finish.
        let s = scan_bytes(&data, 0).unwrap();
        assert_eq!((s.keep_len, s.tail_bytes), (data.len() as u64, 0));
        assert_eq!(s.frames.last().unwrap().kind, FrameKind::Tombstone);
        assert_eq!(s.frames.last().unwrap().erases, Some((at, len)));
        assert_eq!(s.frames.last().unwrap().digest, Some(Digest([1; 32])));
        assert_eq!((s.erased, s.unfinished.clone()), (1, vec![(at, len)]));
        // Every torn overwrite (a prefix of it reached the disk) is accepted
        // and still to finish; the complete one is finished.
        let full = erased_overwrite(len).unwrap().len();
        for keep in 1..full {
            let mut torn = data.clone();
            overwrite(&mut torn, at, len, keep);
            let s = scan_bytes(&torn, 0).unwrap();
            assert_eq!(s.unfinished, vec![(at, len)], "keep {keep}");
            assert_eq!(s.erased, 1);
        }
        let mut done = data.clone();
        overwrite(&mut done, at, len, full);
        let s = scan_bytes(&done, 0).unwrap();
        assert!(s.unfinished.is_empty());
        assert_eq!(s.erased, 1);
        assert_eq!(s.frames[1].kind, FrameKind::Erased);
        // A torn tombstone at the tail is cut like any torn tail, leaving
        // the payload as it was.
        let tomb_start = data.len() - (TOMBSTONE_BODY + FRAME_OVERHEAD);
        for cut in tomb_start + 1..data.len() {
            let s = scan_bytes(&data[..cut], 0).unwrap();
            assert_eq!(s.keep_len, tomb_start as u64, "cut {cut}");
            assert_eq!((s.erased, s.unfinished.len()), (0, 0));
        }
        // Blocks and payloads after a tombstone are kept as usual.
        let mut more = done.clone();
        push_frame(&mut more, FrameKind::Payload, &[&[3u8; 32], b"x"]).unwrap();
        push_frame(&mut more, FrameKind::Block, &[b"block three"]).unwrap();
        let s = scan_bytes(&more, 0).unwrap();
        assert_eq!((s.keep_len, s.frames.len()), (more.len() as u64, 8));
    }

    #[test]
    fn damage_no_tombstone_names_is_refused_as_before() {
        let (data, at, len) = erasing_file();
        let second = at + u64::from(len) + 13 + 9 + 13;
        // The second payload's ciphertext damaged: the tombstone names the
        // first, so this is damage, reported exactly as without tombstones.
        let without = data[..data.len() - (TOMBSTONE_BODY + FRAME_OVERHEAD)].to_vec();
        for base in [data.clone(), without] {
            let mut bad = base;
            bad[usize::try_from(second).unwrap() + 50] ^= 0x04;
            let d = scan_bytes(&bad, 0).unwrap_err();
            assert_eq!(
                d,
                ScanDamage {
                    offset: second,
                    frame_index: 3,
                    blocks_before: 2,
                    reason: "frame checksum mismatch"
                }
            );
        }
        // Damage in a frame before a torn overwrite (a frame the scan passes
        // by its length too) is reported, not the torn one.
        let mut bad = data.clone();
        overwrite(&mut bad, at, len, 20);
        bad[10] ^= 0x01;
        assert_eq!(scan_bytes(&bad, 0).unwrap_err().offset, 0);
        // An erased frame no tombstone names (the tombstone cut off, or a
        // payload zeroed behind the ledger's back) is damage.
        let mut erased = data.clone();
        overwrite(&mut erased, at, len, erased_overwrite(len).unwrap().len());
        let no_tomb = &erased[..erased.len() - (TOMBSTONE_BODY + FRAME_OVERHEAD)];
        let d = scan_bytes(no_tomb, 0).unwrap_err();
        assert_eq!(d.offset, at);
        assert_eq!(d.reason, "erased frame that no tombstone names");
        // Nor may a tombstone name a torn frame of another kind.
        let mut block_torn = data.clone();
        let block_at = usize::try_from(at + 13 + u64::from(len)).unwrap();
        let t = tombstone_body(&Digest([1; 32]), block_at as u64, 9);
        push_frame(&mut block_torn, FrameKind::Tombstone, &[&t]).unwrap();
        block_torn[block_at + 10] ^= 0x01;
        let d = scan_bytes(&block_torn, 0).unwrap_err();
        assert_eq!(d.offset, block_at as u64);
        assert_eq!(d.reason, "frame checksum mismatch");
    }

    #[test]
    fn tombstones_that_name_no_payload_frame_are_refused() {
        let (data, at, len) = erasing_file();
        let tomb = (data.len() - (TOMBSTONE_BODY + FRAME_OVERHEAD)) as u64;
        let base = &data[..usize::try_from(tomb).unwrap()];
        let cases: [(Digest, u64, u32, &str); 5] = [
            (
                Digest([1; 32]),
                at,
                len + 1,
                "tombstone names a frame of another length",
            ),
            (
                Digest([9; 32]),
                at,
                len,
                "tombstone names a payload frame of another digest",
            ),
            (
                Digest([1; 32]),
                at + 1,
                len,
                "tombstone names no payload frame",
            ),
            (
                Digest([1; 32]),
                0,
                7,
                "tombstone names a frame that is not a payload frame",
            ),
            (
                Digest([1; 32]),
                tomb,
                44,
                "tombstone names no payload frame",
            ),
        ];
        for (d, off, n, reason) in cases {
            let mut bad = base.to_vec();
            push_frame(
                &mut bad,
                FrameKind::Tombstone,
                &[&tombstone_body(&d, off, n)],
            )
            .unwrap();
            let e = scan_bytes(&bad, 0).unwrap_err();
            assert_eq!((e.offset, e.reason), (tomb, reason));
        }
        // Two tombstones for one frame.
        let mut twice = data.clone();
        let t = tombstone_body(&Digest([1; 32]), at, len);
        push_frame(&mut twice, FrameKind::Tombstone, &[&t]).unwrap();
        let e = scan_bytes(&twice, 0).unwrap_err();
        assert_eq!(e.offset, data.len() as u64);
        // Frames of kinds 3 and 4 must have their shapes.
        let mut short = base.to_vec();
        push_frame(&mut short, FrameKind::Tombstone, &[&[0u8; 43]]).unwrap();
        assert_eq!(
            scan_bytes(&short, 0).unwrap_err().reason,
            "tombstone frame of the wrong length"
        );
        let mut dirty = data.clone();
        overwrite(&mut dirty, at, len, erased_overwrite(len).unwrap().len());
        let body = usize::try_from(at).unwrap() + FRAME_PREFIX;
        dirty[body + 5] = 1;
        let sum = crc(&len.to_le_bytes(), 4, &[&dirty[body..body + 92]]);
        dirty[body + 92..body + 96].copy_from_slice(&sum.to_le_bytes());
        // Named by the tombstone: accepted, and to be erased again.
        assert_eq!(scan_bytes(&dirty, 0).unwrap().unfinished, vec![(at, len)]);
        let e = scan_bytes(&dirty[..usize::try_from(tomb).unwrap()], 0).unwrap_err();
        assert_eq!(e.reason, "erased frame body not zero");
    }

    #[test]
    fn header_round_trip_and_refusals() {
        let id = LedgerId(Digest([7; 32]));
        let h = encode_header(&id);
        assert_eq!(h.len(), HEADER_LEN);
        assert_eq!(decode_header(&h).unwrap(), id);
        let mut bad = h.clone();
        bad[0] = b'X';
        assert!(decode_header(&bad).is_err());
        let mut bad = h.clone();
        bad[8] = 1;
        assert!(matches!(
            decode_header(&bad),
            Err(Error::UnsupportedVersion { .. })
        ));
        assert!(decode_header(&h[..20]).is_err());
    }
}
