//! Log heads as C2SP checkpoints in C2SP signed notes (docs/FORMAT.md §10).
//!
//! A [`Checkpoint`] names a log (its origin), a tree size and the RFC 9162
//! root (§2.4) at that size. Its [`body`](Checkpoint::body) is the
//! `tlog-checkpoint` text; [`Checkpoint::sign_note`] signs it as a
//! `signed-note` with Ed25519, and [`verify_note`] checks a note against a
//! list of known keys ([`NoteVerifier`], written as the Go
//! `golang.org/x/mod/sumdb/note` verifier keys `<name>+<key id hex>+<base64
//! (0x01 ‖ public key)>`). Witnesses add C2SP `tlog-cosignature`
//! (cosignature/v1, Ed25519) lines with [`Checkpoint::cosign`], checked by
//! [`NoteVerifier::cosigner`] keys; [`open_note`] reports who signed.
//! Standard tooling (Go's `note` package, transparency-dev witnesses and
//! clients) reads both directions.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest as _, Sha256};

use crate::crypto::hash::{DIGEST_LEN, Digest};
use crate::crypto::sign::{
    PUBLIC_KEY_LEN, SIGNATURE_LEN, Signature, SigningKey, check_public_key, verify_strict,
};
use crate::{Error, Result};

/// Prefix of every ledger's checkpoint origin; the ledger id in hex follows.
/// `.example` is a reserved top-level name: the origin claims no real host,
/// and the ledger id (a hash of the genesis transaction) makes it unique.
pub const ORIGIN_PREFIX: &str = "medledger.example/";
/// Signature type byte of Ed25519 in signed-note key ids and vkeys.
pub const ALG_ED25519: u8 = 0x01;
/// Key type byte of Ed25519 cosignature/v1 (C2SP tlog-cosignature).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Largest cosignature timestamp (seconds since the Unix epoch): `2^63 - 1`.
pub const MAX_COSIGNATURE_TIME: u64 = i64::MAX as u64;
/// Starts every signature line: an em dash (U+2014) and a space.
pub const SIG_PREFIX: &str = "\u{2014} ";
/// Most signature lines a note may carry (as in Go's `note.Open`).
pub const MAX_SIGNATURES: usize = 100;
/// Longest accepted note, in bytes.
pub const MAX_NOTE_LEN: usize = 64 * 1024;

fn malformed(reason: impl Into<String>) -> Error {
    Error::invalid("checkpoint note", reason)
}

/// True for a valid origin or key name: non-empty, no Unicode white space,
/// no `+` and no control characters (C2SP tlog-checkpoint and signed-note).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

/// The signed-note key id of an Ed25519 key:
/// the first 4 bytes of `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)`, big-endian.
pub fn key_id(name: &str, public_key: &[u8; PUBLIC_KEY_LEN]) -> u32 {
    key_id_for(ALG_ED25519, name, public_key)
}

/// The key id of an Ed25519 cosignature/v1 key:
/// the first 4 bytes of `SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)`, big-endian.
pub fn cosignature_key_id(name: &str, public_key: &[u8; PUBLIC_KEY_LEN]) -> u32 {
    key_id_for(ALG_COSIGNATURE_V1, name, public_key)
}

fn key_id_for(alg: u8, name: &str, public_key: &[u8; PUBLIC_KEY_LEN]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', alg]);
    h.update(public_key);
    let sum = h.finalize();
    let mut id = [0u8; 4];
    for (dst, src) in id.iter_mut().zip(sum.iter()) {
        *dst = *src;
    }
    u32::from_be_bytes(id)
}

/// A log head: origin, tree size and root hash (C2SP tlog-checkpoint
/// without extension lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Unique name of the log (schema-less URL, no white space, no `+`).
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 9162 root of the first `size` leaves.
    pub root: Digest,
}

impl Checkpoint {
    /// The checkpoint text: `<origin>\n<size>\n<base64 root>\n`, decimal
    /// size without leading zeros, standard padded base64.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root.0)
        )
    }

    /// Parses a checkpoint body as [`body`](Self::body) writes it. Strict:
    /// exactly three lines, a valid origin, a canonical decimal size and
    /// canonical base64 of 32 bytes. Extension lines are refused (medledger
    /// writes none).
    pub fn parse_body(text: &str) -> Result<Checkpoint> {
        let mut lines = text.split('\n');
        let (Some(origin), Some(size), Some(root), Some(""), None) = (
            lines.next(),
            lines.next(),
            lines.next(),
            lines.next(),
            lines.next(),
        ) else {
            return Err(malformed(
                "a checkpoint body is exactly three newline-terminated lines",
            ));
        };
        if !valid_name(origin) {
            return Err(malformed("origin is empty or holds white space or '+'"));
        }
        let canonical = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        let size = size
            .parse::<u64>()
            .ok()
            .filter(|_| canonical)
            .ok_or_else(|| malformed("tree size is not a canonical decimal u64"))?;
        let root = B64
            .decode(root)
            .ok()
            .and_then(|b| <[u8; DIGEST_LEN]>::try_from(b).ok())
            .ok_or_else(|| malformed("root hash is not canonical base64 of 32 bytes"))?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root: Digest(root),
        })
    }

    /// Signs the body as a C2SP signed note under `key_name` and returns the
    /// note: the body, an empty line, and
    /// `— <key_name> <base64(key id ‖ Ed25519 signature over the body)>\n`.
    pub fn sign_note(&self, key_name: &str, key: &SigningKey) -> Result<String> {
        if !valid_name(&self.origin) {
            return Err(Error::invalid(
                "checkpoint origin",
                "empty, or holds white space or '+'",
            ));
        }
        check_key_name(key_name)?;
        let body = self.body();
        let sig = key.sign(body.as_bytes());
        let mut blob = Vec::with_capacity(4 + SIGNATURE_LEN);
        blob.extend_from_slice(&key_id(key_name, &key.public_key()).to_be_bytes());
        blob.extend_from_slice(&sig.0);
        Ok(format!(
            "{body}\n{SIG_PREFIX}{key_name} {}\n",
            B64.encode(blob)
        ))
    }

    /// A witness's cosignature/v1 line over this checkpoint, to append to
    /// its note: `— <name> <base64(key id ‖ u64 timestamp ‖ signature)>\n`
    /// (timestamp big-endian), the signature over
    /// `cosignature/v1\ntime <timestamp>\n<body>`. `timestamp` is in seconds
    /// since the Unix epoch, at most [`MAX_COSIGNATURE_TIME`].
    pub fn cosign(&self, witness_name: &str, key: &SigningKey, timestamp: u64) -> Result<String> {
        check_key_name(witness_name)?;
        if timestamp > MAX_COSIGNATURE_TIME {
            return Err(Error::invalid("cosignature timestamp", "exceeds 2^63 - 1"));
        }
        let sig = key.sign(cosigned_message(timestamp, &self.body()).as_bytes());
        let mut blob = Vec::with_capacity(12 + SIGNATURE_LEN);
        blob.extend_from_slice(&cosignature_key_id(witness_name, &key.public_key()).to_be_bytes());
        blob.extend_from_slice(&timestamp.to_be_bytes());
        blob.extend_from_slice(&sig.0);
        Ok(format!("{SIG_PREFIX}{witness_name} {}\n", B64.encode(blob)))
    }
}

fn check_key_name(name: &str) -> Result<()> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(Error::invalid(
            "note key name",
            "empty, or holds white space or '+'",
        ))
    }
}

/// The message a cosignature/v1 signs over a note body.
fn cosigned_message(timestamp: u64, body: &str) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{body}")
}

/// Big-endian integer of up to 8 bytes.
fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// A known note signer: key name, Ed25519 public key, and whether it signs
/// the note itself (type 0x01, the log) or cosigns it (type 0x04, a
/// witness, C2SP tlog-cosignature).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    alg: u8,
    id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// A verifier of note signatures by `public_key` under `name`. The key
    /// must pass the registration check of docs/FORMAT.md §4.4.
    pub fn new(name: &str, public_key: &[u8; PUBLIC_KEY_LEN]) -> Result<NoteVerifier> {
        Self::with_alg(ALG_ED25519, name, public_key)
    }

    /// A verifier of cosignature/v1 lines by the witness key `public_key`
    /// under `name`.
    pub fn cosigner(name: &str, public_key: &[u8; PUBLIC_KEY_LEN]) -> Result<NoteVerifier> {
        Self::with_alg(ALG_COSIGNATURE_V1, name, public_key)
    }

    fn with_alg(alg: u8, name: &str, public_key: &[u8; PUBLIC_KEY_LEN]) -> Result<NoteVerifier> {
        check_key_name(name)?;
        let key = *check_public_key(public_key)?.verifying_key();
        Ok(NoteVerifier {
            name: name.to_owned(),
            alg,
            id: key_id_for(alg, name, public_key),
            key,
        })
    }

    /// Parses a Go verifier key `<name>+<8 hex digits key id>+<base64(type ‖
    /// public key)>`, type 0x01 (note signer) or 0x04 (cosigner); the key
    /// id must match the type, name and key.
    pub fn from_vkey(vkey: &str) -> Result<NoteVerifier> {
        let bad = |reason: &str| Error::invalid("vkey", reason.to_owned());
        // As Go's note.NewVerifier: the name and key id end at the first
        // two '+'; the base64 key may contain '+' itself.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected <name>+<key id>+<key>"));
        };
        if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("key id is not 8 hex digits"));
        }
        let id = u32::from_str_radix(id_hex, 16).map_err(|_| bad("key id is not hex"))?;
        let key = B64
            .decode(key64)
            .map_err(|_| bad("key is not canonical base64"))?;
        let Some((&alg, public)) = key
            .split_first()
            .filter(|(alg, _)| [ALG_ED25519, ALG_COSIGNATURE_V1].contains(alg))
        else {
            return Err(bad("not an Ed25519 (type 0x01 or 0x04) key"));
        };
        let public = <[u8; PUBLIC_KEY_LEN]>::try_from(public)
            .map_err(|_| bad("an Ed25519 key is 32 bytes"))?;
        let v = NoteVerifier::with_alg(alg, name, &public)?;
        if v.id != id {
            return Err(bad("key id does not match the name and key"));
        }
        Ok(v)
    }

    /// The Go verifier key string (see [`from_vkey`](Self::from_vkey));
    /// the key id is lowercase hex.
    pub fn vkey(&self) -> String {
        let mut key = Vec::with_capacity(1 + PUBLIC_KEY_LEN);
        key.push(self.alg);
        key.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, B64.encode(key))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id (see [`key_id`] and [`cosignature_key_id`]).
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// True for a cosignature/v1 (witness) key.
    pub fn is_cosigner(&self) -> bool {
        self.alg == ALG_COSIGNATURE_V1
    }

    /// Checks the part of a signature line after the key id against
    /// `body`; returns a cosignature's timestamp.
    fn check(&self, body: &str, sig: &[u8]) -> Result<Option<u64>> {
        let bad_len = || Error::BadSignature("note signature has the wrong length");
        let (timestamp, sig, msg) = if self.alg == ALG_COSIGNATURE_V1 {
            let (Some(time), Some(sig)) = (sig.get(..8), sig.get(8..)) else {
                return Err(bad_len());
            };
            let time = be(time);
            if time > MAX_COSIGNATURE_TIME {
                return Err(Error::BadSignature(
                    "cosignature timestamp exceeds 2^63 - 1",
                ));
            }
            (Some(time), sig, cosigned_message(time, body))
        } else {
            (None, sig, body.to_owned())
        };
        let sig = <[u8; SIGNATURE_LEN]>::try_from(sig).map_err(|_| bad_len())?;
        verify_strict(&self.key, msg.as_bytes(), &Signature(sig))?;
        Ok(timestamp)
    }
}

/// A signature [`open_note`] verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key id.
    pub key_id: u32,
    /// For a cosignature, its timestamp (seconds since the Unix epoch).
    pub timestamp: Option<u64>,
}

/// A verified note: its checkpoint and the known keys that signed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNote {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Valid signatures by known keys, in line order, each key once.
    pub signatures: Vec<NoteSignature>,
}

/// Verifies a checkpoint note and returns its checkpoint.
///
/// Following C2SP signed-note: the text must be UTF-8 without control
/// characters other than newline; the body ends at the last empty line;
/// every signature line is `— <name> <base64>` with at least 5 decoded
/// bytes. Lines whose (name, key id) match no verifier are ignored. A line
/// that matches a verifier must hold a valid signature (strict Ed25519,
/// §4.4; for a cosigner, a cosignature/v1), or the note is refused. At
/// least one must match, at most [`MAX_SIGNATURES`] lines are allowed, and
/// the body must parse with [`Checkpoint::parse_body`].
pub fn verify_note(note: &str, verifiers: &[NoteVerifier]) -> Result<Checkpoint> {
    open_note(note, verifiers).map(|n| n.checkpoint)
}

/// [`verify_note`], also reporting which known keys signed (a client that
/// requires a quorum of witnesses counts the cosigners here).
pub fn open_note(note: &str, verifiers: &[NoteVerifier]) -> Result<VerifiedNote> {
    if note.len() > MAX_NOTE_LEN {
        return Err(malformed(format!("longer than {MAX_NOTE_LEN} bytes")));
    }
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(malformed("control character other than newline"));
    }
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| malformed("no empty line before the signatures"))?;
    let (body, sigs) = (
        note.get(..=split).unwrap_or_default(),
        note.get(split + 2..).unwrap_or_default(),
    );
    let Some(sigs) = sigs.strip_suffix('\n') else {
        return Err(malformed(
            "signature block is empty or lacks its final newline",
        ));
    };
    let mut signatures: Vec<NoteSignature> = Vec::new();
    for (n, line) in sigs.split('\n').enumerate() {
        if n >= MAX_SIGNATURES {
            return Err(malformed(format!("more than {MAX_SIGNATURES} signatures")));
        }
        let (name, blob) = line
            .strip_prefix(SIG_PREFIX)
            .and_then(|rest| rest.split_once(' '))
            .ok_or_else(|| malformed("signature line is not '— <name> <signature>'"))?;
        let blob = B64
            .decode(blob)
            .map_err(|_| malformed("signature is not canonical base64"))?;
        let (Some(id), Some(sig)) = (blob.get(..4), blob.get(4..)) else {
            return Err(malformed("signature shorter than 5 bytes"));
        };
        if !valid_name(name) || sig.is_empty() {
            return Err(malformed("bad key name or empty signature"));
        }
        let id = u32::try_from(be(id)).map_err(|_| malformed("key id"))?;
        let Some(v) = verifiers.iter().find(|v| v.name == name && v.id == id) else {
            continue;
        };
        let timestamp = v.check(body, sig)?;
        if !signatures.iter().any(|s| s.name == name && s.key_id == id) {
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_id: id,
                timestamp,
            });
        }
    }
    if signatures.is_empty() {
        return Err(Error::BadSignature("no signature by a known note key"));
    }
    Ok(VerifiedNote {
        checkpoint: Checkpoint::parse_body(body)?,
        signatures,
    })
}
