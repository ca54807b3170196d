//! Canonical encoding: the byte format of docs/FORMAT.md.
//!
//! Integers are fixed-width little-endian; variable-length byte strings carry
//! a `u32` length prefix, text a `u16` length prefix and must be UTF-8;
//! sequences carry a count prefix. There are no optional encodings: one
//! value has exactly one encoding, and decoders reject trailing bytes.

use crate::crypto::hash::{DIGEST_LEN, Digest};
use crate::{Error, Result};

/// Appends canonical bytes to a buffer.
#[derive(Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Writer { buf: Vec::new() }
    }

    /// An empty writer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(n),
        }
    }

    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// A `u8`.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// A little-endian `u16`.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A little-endian `u32`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A little-endian `u64`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Fixed-length bytes, no prefix.
    pub fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }

    /// A 32-byte digest or id.
    pub fn digest(&mut self, d: &Digest) -> &mut Self {
        self.raw(&d.0)
    }

    /// `u32` length ‖ bytes. Callers bound lengths before encoding; a length
    /// over `u32::MAX` is an API error, reported by [`Writer::check_len`].
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        self.raw(v)
    }

    /// `u16` length ‖ UTF-8 text.
    pub fn text(&mut self, v: &str) -> &mut Self {
        self.u16(u16::try_from(v.len()).unwrap_or(u16::MAX));
        self.raw(v.as_bytes())
    }

    /// A `u32` element count.
    pub fn count(&mut self, n: usize) -> &mut Self {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Fails unless `len` fits in `max`; used by constructors so that the
    /// infallible writers above never truncate.
    pub fn check_len(what: &'static str, len: usize, max: usize) -> Result<()> {
        if len > max {
            return Err(Error::invalid(
                what,
                format!("{len} bytes exceeds the limit of {max}"),
            ));
        }
        Ok(())
    }
}

/// Reads canonical bytes, naming the structure in every error.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Offset of `data` within the enclosing input, for error positions.
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader {
            data,
            pos: 0,
            base: 0,
        }
    }

    /// Current offset (relative to the outermost input).
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// An error at the current position.
    pub fn error(&self, what: &'static str, reason: &'static str) -> Error {
        Error::Decode {
            what,
            offset: self.offset(),
            reason,
        }
    }

    /// Takes exactly `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| self.error(what, "length overflows"))?;
        let s = self
            .data
            .get(self.pos..end)
            .ok_or_else(|| self.error(what, "unexpected end of input"))?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// A `u8`.
    pub fn u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A little-endian `u16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    /// A little-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// A little-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// Fixed `N` bytes.
    pub fn fixed<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        self.array(what)
    }

    /// A 32-byte digest or id.
    pub fn digest(&mut self, what: &'static str) -> Result<Digest> {
        Ok(Digest(self.array::<DIGEST_LEN>(what)?))
    }

    /// `u32` length ‖ bytes, the length at most `max`.
    pub fn bytes(&mut self, max: usize, what: &'static str) -> Result<&'a [u8]> {
        let at = self.offset();
        let n =
            usize::try_from(self.u32(what)?).map_err(|_| self.error(what, "length overflows"))?;
        if n > max {
            return Err(Error::Decode {
                what,
                offset: at,
                reason: "length exceeds the format limit",
            });
        }
        self.take(n, what)
    }

    /// `u16` length ‖ UTF-8 text, at most `max` bytes.
    pub fn text(&mut self, max: usize, what: &'static str) -> Result<&'a str> {
        let at = self.offset();
        let n = usize::from(self.u16(what)?);
        if n > max {
            return Err(Error::Decode {
                what,
                offset: at,
                reason: "text longer than the format limit",
            });
        }
        let raw = self.take(n, what)?;
        core::str::from_utf8(raw).map_err(|_| Error::Decode {
            what,
            offset: at,
            reason: "text is not valid UTF-8",
        })
    }

    /// A `u32` element count, at most `max`, and no more than the remaining
    /// bytes could hold at `min_size` bytes per element (so a hostile count
    /// cannot make the caller allocate).
    pub fn count(&mut self, max: usize, min_size: usize, what: &'static str) -> Result<usize> {
        let at = self.offset();
        let n =
            usize::try_from(self.u32(what)?).map_err(|_| self.error(what, "count overflows"))?;
        if n > max || n.saturating_mul(min_size.max(1)) > self.remaining() {
            return Err(Error::Decode {
                what,
                offset: at,
                reason: "count exceeds the format limit or the input",
            });
        }
        Ok(n)
    }

    /// A sub-reader over the next `n` bytes, keeping absolute offsets.
    pub fn sub(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>> {
        let base = self.offset();
        let data = self.take(n, what)?;
        Ok(Reader { data, pos: 0, base })
    }

    /// Fails if any bytes are left.
    pub fn finish(&self, what: &'static str) -> Result<()> {
        if self.remaining() != 0 {
            return Err(self.error(what, "trailing bytes"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reader_errors_name_field_and_offset() {
        let mut r = Reader::new(&[1, 0, 0]);
        assert_eq!(r.u16("a").unwrap(), 1);
        match r.u32("x.y") {
            Err(Error::Decode { what, offset, .. }) => {
                assert_eq!(what, "x.y");
                assert_eq!(offset, 2);
            }
            other => panic!("{other:?}"),
        }
        // A hostile count larger than the input is refused before allocating.
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0x7f, 0]);
        assert!(r.count(usize::MAX, 1, "n").is_err());
        let mut r = Reader::new(&[2, 0, 0xff, 0xfe]);
        assert!(r.text(10, "t").is_err());
        assert!(Reader::new(&[0]).finish("end").is_err());
    }

    proptest! {
        #[test]
        fn primitives_round_trip(a: u8, b: u16, c: u32, d: u64, s in ".{0,40}", v in proptest::collection::vec(any::<u8>(), 0..100)) {
            let mut w = Writer::new();
            w.u8(a).u16(b).u32(c).u64(d).text(&s).bytes(&v);
            let bytes = w.into_bytes();
            let mut r = Reader::new(&bytes);
            prop_assert_eq!(r.u8("a").unwrap(), a);
            prop_assert_eq!(r.u16("b").unwrap(), b);
            prop_assert_eq!(r.u32("c").unwrap(), c);
            prop_assert_eq!(r.u64("d").unwrap(), d);
            prop_assert_eq!(r.text(1000, "s").unwrap(), s.as_str());
            prop_assert_eq!(r.bytes(1000, "v").unwrap(), v.as_slice());
            prop_assert!(r.finish("end").is_ok());
            // Every strict prefix fails to decode as a whole.
            for cut in 0..bytes.len() {
                let mut r = Reader::new(&bytes[..cut]);
                let ok = r.u8("a").is_ok() && r.u16("b").is_ok() && r.u32("c").is_ok()
                    && r.u64("d").is_ok() && r.text(1000, "s").is_ok() && r.bytes(1000, "v").is_ok();
                prop_assert!(!ok);
            }
        }
    }
}
