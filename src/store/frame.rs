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

/// What a frame holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum FrameKind {
    /// An encoded block (`Block::encode`).
    Block = 1,
    /// A payload: `digest 32 | ciphertext`.
    Payload = 2,
}

impl FrameKind {
    fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(FrameKind::Block),
            2 => Some(FrameKind::Payload),
            _ => None,
        }
    }
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
    /// read while the frame was in the scan window.
    pub digest: Option<Digest>,
}

/// The result of scanning a file's frames.
#[derive(Debug, Default)]
pub struct Scan {
    /// Valid frames, in file order, up to and including the last block frame.
    pub frames: Vec<FrameRef>,
    /// File length that keeps exactly `frames` (the end of the last block
    /// frame, or the header when there is none).
    pub keep_len: u64,
    /// Bytes after `keep_len`: an unacknowledged tail to cut.
    pub tail_bytes: u64,
    /// Complete, valid frames in that tail (payloads of a block that never
    /// committed).
    pub tail_frames: u64,
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
/// is refused with its location.
pub fn scan<S: ScanSource>(src: &mut S, start: u64) -> core::result::Result<Scan, ScanError> {
    let total = src.total();
    let mut s = Scan {
        keep_len: start,
        ..Scan::default()
    };
    let mut pos = start;
    let mut pending: Vec<FrameRef> = Vec::new();
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
            let digest = match kind {
                FrameKind::Payload => frame
                    .get(FRAME_PREFIX..)
                    .and_then(|b| split_payload(b).ok())
                    .map(|(d, _)| d),
                FrameKind::Block => None,
            };
            (kind, body_len, frame_len, digest)
        });
        match parsed {
            Ok((kind, body_len, frame_len, digest)) => {
                pending.push(FrameRef {
                    kind,
                    body_offset: pos + FRAME_PREFIX as u64,
                    body_len,
                    digest,
                });
                pos += frame_len as u64;
                index += 1;
                if kind == FrameKind::Block {
                    blocks += 1;
                    s.frames.append(&mut pending);
                    s.keep_len = pos;
                }
            }
            Err(reason) => {
                // A frame that is all there — marker, length within the
                // file — but fails its checksum is damaged committed data
                // (appends reach the disk before the file length does), not
                // a torn write: refuse it rather than cut it.
                let marker_ok = src
                    .bytes(pos, SYNC.len())
                    .map_err(ScanError::Io)?
                    .starts_with(SYNC);
                let complete = prefix_len == FRAME_PREFIX
                    && declared <= MAX_FRAME_BODY
                    && pos + (declared + FRAME_OVERHEAD) as u64 <= total;
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
                if (marker_ok && complete)
                    || intact_but_marker
                    || intact_but_length
                    || later_valid_frame(src, pos + 1).map_err(ScanError::Io)?
                {
                    return Err(ScanError::Damage(ScanDamage {
                        offset: pos,
                        frame_index: index,
                        blocks_before: blocks,
                        reason,
                    }));
                }
                break;
            }
        }
    }
    s.tail_bytes = total.saturating_sub(s.keep_len);
    s.tail_frames = pending.len() as u64;
    Ok(s)
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
    if kind == FrameKind::Payload && n < 32 {
        return Err("payload frame shorter than its digest");
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
