//! Messages between nodes (docs/FORMAT.md §11.2): one request, one
//! response, each `version u16 | kind u8 | body`. Transport-agnostic
//! bytes; [`super::tcp`] frames them over TCP.

use crate::codec::{Reader, Writer};
use crate::crypto::hash::Digest;
use crate::log::block::{BlockHeader, Seal, SealFields};
use crate::log::shipped::ShippedBlock;
use crate::model::tx::MAX_TX_LEN;
use crate::model::validators::MAX_VALIDATORS;
use crate::model::{FORMAT_VERSION, ParticipantId, RecordId, check_version};
use crate::proof::Equivocation;
use crate::{Error, Result};

/// Most blocks one `Blocks` response carries.
pub const MAX_BLOCKS_PER_RESPONSE: usize = 1024;
/// Most ciphertexts one `Submit` carries.
pub const MAX_SUBMIT_PAYLOADS: usize = 100_000;
/// Longest error message carried.
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Most evidence items one response carries.
pub const MAX_EVIDENCE: usize = 1024;
/// Most hashes in a consistency proof (2 × 64 levels).
pub const MAX_PROOF_HASHES: usize = 128;

/// A request to a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// The node's head and the equivocations it has seen.
    Status,
    /// Sequence a signed transaction (at the proposer) with the
    /// ciphertexts of its records.
    Submit {
        /// The signed transaction.
        tx: Vec<u8>,
        /// Ciphertexts of its records.
        payloads: Vec<Vec<u8>>,
    },
    /// Check this proposed block and seal it.
    Propose(ShippedBlock),
    /// The block proposed at this header was sealed: commit it.
    Commit {
        /// The header.
        header: BlockHeader,
        /// Its seals (at least the threshold).
        seals: Vec<Seal>,
    },
    /// Committed blocks from a height on.
    GetBlocks {
        /// First height.
        from: u64,
        /// Most blocks wanted.
        max: u32,
    },
    /// A record's ciphertext.
    GetPayload(RecordId),
    /// Import this sealed block.
    Announce(ShippedBlock),
    /// The equivocation evidence the node holds.
    GetEvidence,
    /// A consistency proof between two sealed log sizes.
    GetConsistency {
        /// Older size.
        size1: u64,
        /// Newer size.
        size2: u64,
    },
}

/// Why a request failed, as carried on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum ErrorCode {
    /// Bytes that do not decode, or an invalid argument.
    Malformed = 1,
    /// Refused by the ledger rules.
    Rejected = 2,
    /// Not allowed at this node (e.g. not a validator, read-only).
    Denied = 3,
    /// No such block, record or payload.
    NotFound = 4,
    /// Too few valid seals.
    MissingQuorum = 5,
    /// The block does not verify (a fault in it).
    Corrupt = 6,
    /// Data does not match its digest.
    Tampered = 7,
    /// The node failed (I/O, locks).
    System = 8,
}

impl ErrorCode {
    /// The code for a local error.
    pub fn of(e: &Error) -> ErrorCode {
        match e {
            Error::Decode { .. }
            | Error::UnsupportedVersion { .. }
            | Error::UnsupportedKind(_)
            | Error::Invalid { .. } => ErrorCode::Malformed,
            Error::Rejected(_) | Error::AccessDenied { .. } => ErrorCode::Rejected,
            Error::Denied(_) => ErrorCode::Denied,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::MissingQuorum { .. } => ErrorCode::MissingQuorum,
            Error::Corrupt(_) | Error::BadSignature(_) | Error::WeakKey(_) => ErrorCode::Corrupt,
            Error::Tampered(_) | Error::Proof(_) | Error::Evidence { .. } => ErrorCode::Tampered,
            _ => ErrorCode::System,
        }
    }

    fn from_u16(v: u16) -> ErrorCode {
        match v {
            1 => ErrorCode::Malformed,
            2 => ErrorCode::Rejected,
            3 => ErrorCode::Denied,
            4 => ErrorCode::NotFound,
            5 => ErrorCode::MissingQuorum,
            6 => ErrorCode::Corrupt,
            7 => ErrorCode::Tampered,
            _ => ErrorCode::System,
        }
    }

    /// A local error for a peer's error response.
    pub fn to_error(self, message: &str) -> Error {
        let m = format!("peer: {message}");
        match self {
            ErrorCode::Malformed => Error::invalid("request", m),
            ErrorCode::Rejected => Error::Rejected(m),
            ErrorCode::Denied => Error::Denied(m),
            ErrorCode::NotFound => Error::NotFound(m),
            ErrorCode::Tampered | ErrorCode::Corrupt => Error::Tampered(m),
            ErrorCode::MissingQuorum | ErrorCode::System => Error::System(m),
        }
    }
}

/// A node's head and what it has detected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// Height of the last committed block.
    pub height: u64,
    /// Its header hash.
    pub head_hash: Digest,
    /// Log size at the head.
    pub log_size: u64,
    /// Log root at the head.
    pub log_root: Digest,
    /// Equivocations detected.
    pub evidence: u32,
    /// Validators named by them (each once).
    pub equivocators: Vec<ParticipantId>,
}

/// A node's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// The request failed.
    Error {
        /// Why.
        code: ErrorCode,
        /// What failed, for people.
        message: String,
    },
    /// Answer to `Status`.
    Status(Status),
    /// The transaction was sequenced at this leaf.
    Submitted(u64),
    /// The proposal verified; these are the node's seals over it.
    Endorsed(Vec<Seal>),
    /// The block is (now) committed here at this height.
    Imported {
        /// Its height.
        height: u64,
        /// Ciphertexts not shipped with it.
        missing_payloads: u32,
    },
    /// The node does not hold the block to commit: it catches up from
    /// this height.
    NeedBlocks(u64),
    /// Answer to `GetBlocks`.
    Blocks(Vec<ShippedBlock>),
    /// A record's ciphertext.
    Payload(Vec<u8>),
    /// The record was erased: the node no longer holds its ciphertext.
    PayloadErased,
    /// The block or proposal conflicts with one signed at the same height.
    Conflict(Box<Equivocation>),
    /// Answer to `GetEvidence`.
    Evidence(Vec<Equivocation>),
    /// Answer to `GetConsistency`: the proof hashes.
    Consistency(Vec<Digest>),
}

fn seals_from(r: &mut Reader<'_>) -> Result<Vec<Seal>> {
    Seal::read_all(
        r,
        &SealFields {
            count: "wire.seal_count",
            validator: "wire.seal.validator",
            signature: "wire.seal.signature",
        },
    )
}

fn start(kind: u8) -> Writer {
    let mut w = Writer::new();
    w.u16(FORMAT_VERSION).u8(kind);
    w
}

fn open<'a>(bytes: &'a [u8], what: &'static str) -> Result<(Reader<'a>, u8)> {
    let mut r = Reader::new(bytes);
    check_version(what, r.u16("wire.version")?)?;
    let kind = r.u8("wire.kind")?;
    Ok((r, kind))
}

fn unknown(r: &Reader<'_>) -> Error {
    Error::Decode {
        what: "wire.kind",
        offset: r.offset().saturating_sub(1),
        reason: "unknown message kind",
    }
}

impl Request {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Request::Status => start(1).into_bytes(),
            Request::Submit { tx, payloads } => {
                let mut w = start(2);
                w.bytes(tx).count(payloads.len());
                for p in payloads {
                    w.bytes(p);
                }
                w.into_bytes()
            }
            Request::Propose(s) => {
                let mut w = start(3);
                s.encode_into(&mut w);
                w.into_bytes()
            }
            Request::Commit { header, seals } => {
                let mut w = start(4);
                w.raw(&header.encode());
                Seal::write_all(&mut w, seals);
                w.into_bytes()
            }
            Request::GetBlocks { from, max } => {
                let mut w = start(5);
                w.u64(*from).u32(*max);
                w.into_bytes()
            }
            Request::GetPayload(id) => {
                let mut w = start(6);
                w.digest(&id.0);
                w.into_bytes()
            }
            Request::Announce(s) => {
                let mut w = start(7);
                s.encode_into(&mut w);
                w.into_bytes()
            }
            Request::GetEvidence => start(8).into_bytes(),
            Request::GetConsistency { size1, size2 } => {
                let mut w = start(9);
                w.u64(*size1).u64(*size2);
                w.into_bytes()
            }
        }
    }

    /// Decodes a request (bounds only).
    pub fn decode(bytes: &[u8]) -> Result<Request> {
        let (mut r, kind) = open(bytes, "request")?;
        let req = match kind {
            1 => Request::Status,
            2 => {
                let tx = r.bytes(MAX_TX_LEN, "submit.tx")?.to_vec();
                let n = r.count(MAX_SUBMIT_PAYLOADS, 4, "submit.payload_count")?;
                let mut payloads = Vec::with_capacity(n);
                for _ in 0..n {
                    payloads.push(
                        r.bytes(crate::log::block::MAX_BLOCK_LEN, "submit.payload")?
                            .to_vec(),
                    );
                }
                Request::Submit { tx, payloads }
            }
            3 => Request::Propose(ShippedBlock::decode_from(&mut r)?),
            4 => Request::Commit {
                header: BlockHeader::decode(&mut r)?,
                seals: seals_from(&mut r)?,
            },
            5 => Request::GetBlocks {
                from: r.u64("get_blocks.from")?,
                max: r.u32("get_blocks.max")?,
            },
            6 => Request::GetPayload(RecordId(r.digest("get_payload.record")?)),
            7 => Request::Announce(ShippedBlock::decode_from(&mut r)?),
            8 => Request::GetEvidence,
            9 => Request::GetConsistency {
                size1: r.u64("get_consistency.size1")?,
                size2: r.u64("get_consistency.size2")?,
            },
            _ => return Err(unknown(&r)),
        };
        r.finish("request")?;
        Ok(req)
    }
}

impl Response {
    /// The error response for a local error.
    pub fn error(e: &Error) -> Response {
        let mut message = e.to_string();
        if message.len() > MAX_MESSAGE_LEN {
            let mut cut = MAX_MESSAGE_LEN;
            while !message.is_char_boundary(cut) {
                cut = cut.saturating_sub(1);
            }
            message.truncate(cut);
        }
        Response::Error {
            code: ErrorCode::of(e),
            message,
        }
    }

    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Response::Error { code, message } => {
                let mut w = start(0x80);
                w.u16(*code as u16).text(message);
                w.into_bytes()
            }
            Response::Status(s) => {
                let mut w = start(0x81);
                w.u64(s.height)
                    .digest(&s.head_hash)
                    .u64(s.log_size)
                    .digest(&s.log_root)
                    .u32(s.evidence)
                    .count(s.equivocators.len());
                for id in &s.equivocators {
                    w.digest(&id.0);
                }
                w.into_bytes()
            }
            Response::Submitted(leaf) => {
                let mut w = start(0x82);
                w.u64(*leaf);
                w.into_bytes()
            }
            Response::Endorsed(seals) => {
                let mut w = start(0x83);
                Seal::write_all(&mut w, seals);
                w.into_bytes()
            }
            Response::Imported {
                height,
                missing_payloads,
            } => {
                let mut w = start(0x84);
                w.u64(*height).u32(*missing_payloads);
                w.into_bytes()
            }
            Response::NeedBlocks(from) => {
                let mut w = start(0x85);
                w.u64(*from);
                w.into_bytes()
            }
            Response::Blocks(blocks) => {
                let mut w = start(0x86);
                w.count(blocks.len());
                for b in blocks {
                    b.encode_into(&mut w);
                }
                w.into_bytes()
            }
            Response::Payload(ct) => {
                let mut w = start(0x87);
                w.bytes(ct);
                w.into_bytes()
            }
            Response::PayloadErased => start(0x88).into_bytes(),
            Response::Conflict(e) => {
                let mut w = start(0x89);
                w.bytes(&e.encode());
                w.into_bytes()
            }
            Response::Evidence(items) => {
                let mut w = start(0x8a);
                w.count(items.len());
                for e in items {
                    w.bytes(&e.encode());
                }
                w.into_bytes()
            }
            Response::Consistency(hashes) => {
                let mut w = start(0x8b);
                w.count(hashes.len());
                for h in hashes {
                    w.digest(h);
                }
                w.into_bytes()
            }
        }
    }

    /// Decodes a response (bounds only).
    pub fn decode(bytes: &[u8]) -> Result<Response> {
        let (mut r, kind) = open(bytes, "response")?;
        let evidence = |r: &mut Reader<'_>| -> Result<Equivocation> {
            Equivocation::decode(r.bytes(crate::log::block::MAX_BLOCK_LEN, "wire.evidence")?)
        };
        let resp = match kind {
            0x80 => Response::Error {
                code: ErrorCode::from_u16(r.u16("error.code")?),
                message: r.text(MAX_MESSAGE_LEN, "error.message")?.to_owned(),
            },
            0x81 => {
                let height = r.u64("status.height")?;
                let head_hash = r.digest("status.head_hash")?;
                let log_size = r.u64("status.log_size")?;
                let log_root = r.digest("status.log_root")?;
                let evidence = r.u32("status.evidence")?;
                let n = r.count(MAX_VALIDATORS, 32, "status.equivocators")?;
                let mut equivocators = Vec::with_capacity(n);
                for _ in 0..n {
                    equivocators.push(ParticipantId(r.digest("status.equivocator")?));
                }
                Response::Status(Status {
                    height,
                    head_hash,
                    log_size,
                    log_root,
                    evidence,
                    equivocators,
                })
            }
            0x82 => Response::Submitted(r.u64("submitted.leaf")?),
            0x83 => Response::Endorsed(seals_from(&mut r)?),
            0x84 => Response::Imported {
                height: r.u64("imported.height")?,
                missing_payloads: r.u32("imported.missing")?,
            },
            0x85 => Response::NeedBlocks(r.u64("need_blocks.from")?),
            0x86 => {
                let n = r.count(MAX_BLOCKS_PER_RESPONSE, 10, "blocks.count")?;
                let mut blocks = Vec::with_capacity(n);
                for _ in 0..n {
                    blocks.push(ShippedBlock::decode_from(&mut r)?);
                }
                Response::Blocks(blocks)
            }
            0x87 => Response::Payload(
                r.bytes(crate::log::block::MAX_BLOCK_LEN, "payload")?
                    .to_vec(),
            ),
            0x88 => Response::PayloadErased,
            0x89 => Response::Conflict(Box::new(evidence(&mut r)?)),
            0x8a => {
                let n = r.count(MAX_EVIDENCE, 4, "evidence.count")?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(evidence(&mut r)?);
                }
                Response::Evidence(items)
            }
            0x8b => {
                let n = r.count(MAX_PROOF_HASHES, 32, "consistency.count")?;
                let mut hashes = Vec::with_capacity(n);
                for _ in 0..n {
                    hashes.push(r.digest("consistency.hash")?);
                }
                Response::Consistency(hashes)
            }
            _ => return Err(unknown(&r)),
        };
        r.finish("response")?;
        Ok(resp)
    }
}
