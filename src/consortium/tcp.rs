//! The wire messages over TCP: each message is `len u32 (little-endian, §1.1) |
//! bytes`, one request then one response per exchange (docs/FORMAT.md
//! §11.3). One thread per connection; a peer is dialled per call, so a
//! restarted node is reached again without reconnect logic.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use super::node::{Node, Peer};
use crate::{Error, Result};

/// Largest frame accepted (a response of blocks is bounded by the
/// sender to about 64 MiB; one block may be up to 256 MiB).
pub const MAX_FRAME: usize = 300 << 20;

fn io(what: &str, e: std::io::Error) -> Error {
    Error::System(format!("{what}: {e}"))
}

/// Writes one frame.
pub fn write_frame(w: &mut impl Write, bytes: &[u8]) -> Result<()> {
    let len = u32::try_from(bytes.len())
        .ok()
        .filter(|l| (*l as usize) <= MAX_FRAME)
        .ok_or_else(|| Error::invalid("frame", "longer than the frame limit"))?;
    w.write_all(&len.to_le_bytes())
        .and_then(|()| w.write_all(bytes))
        .and_then(|()| w.flush())
        .map_err(|e| io("write frame", e))
}

/// Reads one frame; `None` at a clean end of stream before a frame.
pub fn read_frame(r: &mut impl Read) -> Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while let Some(rest) = len.get_mut(got..).filter(|r| !r.is_empty()) {
        match r.read(rest) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(io("read frame length", e)),
        }
    }
    match got {
        0 => return Ok(None),
        4 => {}
        _ => {
            return Err(Error::System(format!(
                "frame length cut short: {got} of 4 bytes"
            )));
        }
    }
    let n = usize::try_from(u32::from_le_bytes(len)).unwrap_or(usize::MAX);
    if n > MAX_FRAME {
        return Err(Error::invalid("frame", "longer than the frame limit"));
    }
    // Memory grows with the bytes that arrive, not with the length a peer
    // announces.
    let mut buf = Vec::with_capacity(n.min(1 << 20));
    r.take(u64::try_from(n).unwrap_or(u64::MAX))
        .read_to_end(&mut buf)
        .map_err(|e| io("read frame", e))?;
    if buf.len() != n {
        return Err(Error::System(format!(
            "frame cut short: {} of {n} bytes",
            buf.len()
        )));
    }
    Ok(Some(buf))
}

/// A peer at a TCP address.
#[derive(Clone, Debug)]
pub struct TcpPeer {
    addr: SocketAddr,
    timeout: Duration,
}

impl TcpPeer {
    /// A peer at `addr`; each call fails after `timeout` without answer.
    pub fn new(addr: SocketAddr, timeout: Duration) -> TcpPeer {
        TcpPeer { addr, timeout }
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Peer for TcpPeer {
    fn call(&self, request: &[u8]) -> Result<Vec<u8>> {
        let mut s = TcpStream::connect_timeout(&self.addr, self.timeout)
            .map_err(|e| io(&format!("connect to {}", self.addr), e))?;
        s.set_read_timeout(Some(self.timeout))
            .and_then(|()| s.set_write_timeout(Some(self.timeout)))
            .and_then(|()| s.set_nodelay(true))
            .map_err(|e| io("socket options", e))?;
        write_frame(&mut s, request)?;
        read_frame(&mut s)?
            .ok_or_else(|| Error::System(format!("{} closed without answering", self.addr)))
    }
}

/// Serves `node` on `listener` until the process ends: one thread per
/// connection, each answering requests until the peer closes.
pub fn serve(listener: TcpListener, node: Arc<Node>) {
    for conn in listener.incoming() {
        let Ok(mut stream) = conn else { continue };
        let node = Arc::clone(&node);
        std::thread::spawn(move || {
            // A connection error only ends this connection.
            while let Ok(Some(req)) = read_frame(&mut stream) {
                let resp = node.handle(&req);
                if write_frame(&mut stream, &resp).is_err() {
                    break;
                }
            }
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_hostile_lengths_are_refused() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"hello").unwrap();
        write_frame(&mut wire, b"").unwrap();
        let mut r = wire.as_slice();
        assert_eq!(read_frame(&mut r).unwrap().unwrap(), b"hello");
        assert_eq!(read_frame(&mut r).unwrap().unwrap(), b"");
        assert!(read_frame(&mut r).unwrap().is_none(), "clean end");
        // A length over the limit is refused before anything is read.
        let huge = u32::try_from(MAX_FRAME + 1).unwrap().to_le_bytes();
        assert!(read_frame(&mut huge.as_slice()).is_err());
        // A length the peer does not deliver: an error, not a 300 MiB buffer
        // waiting to be filled.
        let mut short = u32::try_from(MAX_FRAME).unwrap().to_le_bytes().to_vec();
        short.extend_from_slice(b"abc");
        let err = read_frame(&mut short.as_slice()).unwrap_err();
        assert!(err.to_string().contains("cut short"), "{err}");
        // A torn length prefix is an error too.
        assert!(read_frame(&mut [1u8, 0].as_slice()).is_err());
    }
}
