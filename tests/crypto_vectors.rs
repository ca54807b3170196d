//! Public known-answer and edge-case vectors run against medledger's crypto
//! wrappers (`src/crypto/*`). The vector files and how to read each one are
//! described in `vectors/README.md` (or `../shared/vectors/README.md`).
//!
//! Every test counts the cases it ran and asserts the count, so a parser that
//! silently reads nothing fails instead of passing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use ed25519_dalek::VerifyingKey;
use medledger::crypto::aead::AeadKey;
use medledger::crypto::hash::sha3_256;
use medledger::crypto::kex::hkdf_sha3_256;
use medledger::crypto::sign::{
    BatchItem, CheckedKey, Signature, SigningKey, check_public_key, verify_batch, verify_strict,
};
use medledger::model::participant::check_x25519_key;
use serde_json::Value;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// `$MEDLEDGER_VECTORS`, else `<crate>/vectors`, else `<crate>/../shared/vectors`.
fn vectors_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MEDLEDGER_VECTORS") {
        return PathBuf::from(dir);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let local = manifest.join("vectors");
    if local.is_dir() {
        return local;
    }
    manifest.join("..").join("shared").join("vectors")
}

fn read_text(name: &str) -> String {
    let path = vectors_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn read_json(name: &str) -> Value {
    serde_json::from_str(&read_text(name)).unwrap_or_else(|e| panic!("parsing {name}: {e}"))
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex field is a string")).expect("valid hex")
}

fn arr<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes.try_into().expect("fixed-length field")
}

fn s<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("field {field} is not a string"))
}

fn n(v: &Value, field: &str) -> usize {
    usize::try_from(
        v[field]
            .as_u64()
            .unwrap_or_else(|| panic!("field {field} is not a number")),
    )
    .unwrap()
}

fn list<'a>(v: &'a Value, field: &str) -> &'a [Value] {
    v[field]
        .as_array()
        .unwrap_or_else(|| panic!("field {field} is not an array"))
}

/// Wycheproof `flags` of a test as a set of strings.
fn flags(t: &Value) -> BTreeSet<String> {
    t["flags"]
        .as_array()
        .map(|a| a.iter().map(|f| f.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// 1. SHA3-256 (NIST CAVP byte-oriented, ShortMsg CRLF + LongMsg LF)
// ---------------------------------------------------------------------------

/// Parses `Len = / Msg = / MD =` records; accepts `\r\n` and `\n`.
fn cavp_records(text: &str) -> Vec<(Vec<u8>, [u8; 32])> {
    let mut out = Vec::new();
    let (mut len, mut msg): (Option<usize>, Option<Vec<u8>>) = (None, None);
    for line in text.lines() {
        let line = line.trim_end_matches('\r').trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('[') {
            continue;
        }
        let (key, value) = line.split_once('=').expect("key = value line");
        let (key, value) = (key.trim(), value.trim());
        match key {
            "Len" => len = Some(value.parse().expect("Len is a number")),
            "Msg" => msg = Some(hex::decode(value).expect("Msg hex")),
            "MD" => {
                let bits = len.take().expect("Len before MD");
                assert_eq!(bits % 8, 0, "byte-oriented vectors only");
                let full = msg.take().expect("Msg before MD");
                // Len = 0 comes with `Msg = 00`: the message is empty.
                let m = full[..bits / 8].to_vec();
                out.push((m, arr(&hex::decode(value).expect("MD hex"))));
            }
            other => panic!("unexpected CAVP key {other:?}"),
        }
    }
    assert!(len.is_none() && msg.is_none(), "trailing incomplete record");
    out
}

#[test]
fn sha3_256_cavp_short_and_long() {
    for (file, expected) in [("SHA3_256ShortMsg.txt", 137), ("SHA3_256LongMsg.txt", 100)] {
        let text = read_text(file);
        if file.contains("Short") {
            assert!(text.contains("\r\n"), "{file} is expected to use CRLF");
        }
        let records = cavp_records(&text);
        assert_eq!(records.len(), expected, "{file}: record count");
        for (i, (msg, md)) in records.iter().enumerate() {
            assert_eq!(
                &sha3_256(msg),
                md,
                "{file}: record {i} (len {} bytes)",
                msg.len()
            );
        }
        if file.contains("Short") {
            assert!(
                records[0].0.is_empty(),
                "first ShortMsg record is the empty message"
            );
        }
        println!("SHA3-256 {file}: {} records ok", records.len());
    }
}

// ---------------------------------------------------------------------------
// 2. AES-256-GCM (Wycheproof)
// ---------------------------------------------------------------------------

#[test]
fn aes_256_gcm_wycheproof() {
    let doc = read_json("aes_gcm_test.json");
    let (mut valid, mut invalid, mut skipped, mut total_256) = (0usize, 0usize, 0usize, 0usize);
    for g in list(&doc, "testGroups") {
        if n(g, "keySize") != 256 {
            continue;
        }
        let tests = list(g, "tests");
        total_256 += tests.len();
        assert_eq!(n(g, "tagSize"), 128);
        if n(g, "ivSize") != 96 {
            // AeadKey only takes a 96-bit nonce: these groups cannot be
            // expressed through our API (a 0-bit IV cannot even be written).
            skipped += tests.len();
            continue;
        }
        for t in tests {
            let id = n(t, "tcId");
            let key = AeadKey::from_bytes(arr(&hx(&t["key"])));
            let iv: [u8; 12] = arr(&hx(&t["iv"]));
            let (aad, msg, ct, tag) = (hx(&t["aad"]), hx(&t["msg"]), hx(&t["ct"]), hx(&t["tag"]));
            let mut sealed = iv.to_vec();
            sealed.extend_from_slice(&ct);
            sealed.extend_from_slice(&tag);
            match s(t, "result") {
                "valid" => {
                    let out = key.seal_with_nonce(&iv, &aad, &msg).unwrap();
                    assert_eq!(out, sealed, "tcId {id}: seal_with_nonce");
                    let opened = key.open(&aad, &sealed, "vector").unwrap();
                    assert_eq!(opened.as_slice(), msg.as_slice(), "tcId {id}: open");
                    valid += 1;
                }
                "invalid" => {
                    assert!(
                        key.open(&aad, &sealed, "vector").is_err(),
                        "tcId {id}: must fail"
                    );
                    invalid += 1;
                }
                other => panic!("tcId {id}: unexpected result {other}"),
            }
        }
    }
    println!(
        "AES-256-GCM: {valid} valid + {invalid} invalid run, {skipped} skipped (IV ≠ 96 bits)"
    );
    assert_eq!((valid, invalid), (39, 27));
    // 256-bit groups with IV sizes 0, 8, 16, 32, 48, 64, 80, 120, 128, 160,
    // 256, 512, 1024 and 2056 bits: NOT run.
    assert_eq!(skipped, 39, "skipped (non-96-bit IV) tests");
    assert_eq!(valid + invalid + skipped, total_256);
}

// ---------------------------------------------------------------------------
// 3. Ed25519 signing (ed25519-dalek TESTVECTORS, SUPERCOP sign.input)
// ---------------------------------------------------------------------------

#[test]
fn ed25519_sign_testvectors() {
    let text = read_text("ed25519_dalek_TESTVECTORS.txt");
    let mut vectors = Vec::new();
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split(':').collect();
        assert_eq!(parts.len(), 5, "line {}: 5 fields", lineno + 1);
        assert!(parts[4].is_empty());
        let sk = hex::decode(parts[0]).unwrap();
        let pk: [u8; 32] = arr(&hex::decode(parts[1]).unwrap());
        let msg = hex::decode(parts[2]).unwrap();
        let sm = hex::decode(parts[3]).unwrap();
        assert_eq!(&sm[64..], msg.as_slice(), "line {}: sig‖msg", lineno + 1);
        let seed: [u8; 32] = arr(&sk[..32]);
        assert_eq!(&sk[32..], &pk, "line {}: sk = seed‖pk", lineno + 1);
        vectors.push((lineno + 1, seed, pk, msg, arr::<64>(&sm[..64])));
    }
    assert_eq!(vectors.len(), 128);
    for (line, seed, pk, msg, sig) in &vectors {
        let sk = SigningKey::from_seed(seed);
        assert_eq!(&sk.public_key(), pk, "line {line}: public key");
        let got = sk.sign(msg);
        assert_eq!(got.0, *sig, "line {line}: signature");
        let vk = check_public_key(pk).unwrap();
        vk.verify_strict(msg, &got).unwrap();
    }
    // All 128 honest signatures as one batch.
    let items: Vec<BatchItem<'_>> = vectors
        .iter()
        .map(|(_, _, pk, msg, sig)| BatchItem {
            message: msg,
            signature: Signature(*sig),
            key: check_public_key(pk).unwrap(),
        })
        .collect();
    assert_eq!(verify_batch(&items), Ok(()));
    println!(
        "Ed25519 TESTVECTORS: {} lines signed and verified",
        vectors.len()
    );
}

// ---------------------------------------------------------------------------
// 4. Ed25519 verification (Wycheproof)
// ---------------------------------------------------------------------------

#[test]
fn ed25519_wycheproof_verify_strict() {
    let doc = read_json("ed25519_test.json");
    let (mut valid, mut invalid_rejected, mut invalid_bad_len) = (0usize, 0usize, 0usize);
    for g in list(&doc, "testGroups") {
        let pk: [u8; 32] = arr(&hx(&g["publicKey"]["pk"]));
        let vk = VerifyingKey::from_bytes(&pk);
        for t in list(g, "tests") {
            let id = n(t, "tcId");
            let msg = hx(&t["msg"]);
            let sig = hx(&t["sig"]);
            let result = s(t, "result");
            let Ok(sig) = <[u8; 64]>::try_from(sig.as_slice()) else {
                // Our API takes [u8; 64]: a wrong length cannot be expressed,
                // so it is rejected by construction.
                assert_eq!(result, "invalid", "tcId {id}: wrong-length signature");
                invalid_bad_len += 1;
                continue;
            };
            let sig = Signature(sig);
            let strict = vk
                .as_ref()
                .is_ok_and(|vk| verify_strict(vk, &msg, &sig).is_ok());
            // The batch path (single item) must agree with the strict path
            // for every key that passes registration.
            if let Ok(key) = check_public_key(&pk) {
                let batch = verify_batch(&[BatchItem {
                    message: &msg,
                    signature: sig,
                    key,
                }])
                .is_ok();
                assert_eq!(batch, strict, "tcId {id}: batch vs strict");
            }
            match result {
                "valid" => {
                    assert!(strict, "tcId {id}: valid signature rejected");
                    valid += 1;
                }
                "invalid" => {
                    assert!(!strict, "tcId {id}: invalid signature accepted");
                    invalid_rejected += 1;
                }
                other => panic!("tcId {id}: unexpected result {other}"),
            }
        }
    }
    println!(
        "Ed25519 Wycheproof: {valid} valid accepted, {invalid_rejected} invalid rejected, \
         {invalid_bad_len} invalid with length ≠ 64 rejected by construction"
    );
    assert_eq!((valid, invalid_rejected, invalid_bad_len), (88, 51, 12));
}

// ---------------------------------------------------------------------------
// 5. Ed25519 edge cases (C2SP CCTV ed25519vectors.json)
// ---------------------------------------------------------------------------

struct Cctv {
    number: usize,
    key: [u8; 32],
    sig: Signature,
    msg: Vec<u8>,
    flags: BTreeSet<String>,
}

impl Cctv {
    fn has(&self, flag: &str) -> bool {
        self.flags.contains(flag)
    }

    /// Policy (verify_strict): accept iff flags ⊆ {low_order_component_A,
    /// low_order_component_R}.
    fn strict_expected(&self) -> bool {
        self.flags
            .iter()
            .all(|f| f == "low_order_component_A" || f == "low_order_component_R")
    }

    fn strict(&self) -> bool {
        VerifyingKey::from_bytes(&self.key)
            .is_ok_and(|vk| verify_strict(&vk, &self.msg, &self.sig).is_ok())
    }
}

const CCTV_FLAGS: [&str; 8] = [
    "low_order_A",
    "low_order_R",
    "non_canonical_A",
    "non_canonical_R",
    "low_order_component_A",
    "low_order_component_R",
    "low_order_residue",
    "reencoded_k",
];

fn cctv_vectors() -> Vec<Cctv> {
    let doc = read_json("ed25519vectors.json");
    let v: Vec<Cctv> = doc
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let flags = flags(t);
            for f in &flags {
                assert!(CCTV_FLAGS.contains(&f.as_str()), "unknown CCTV flag {f}");
            }
            Cctv {
                number: n(t, "number"),
                key: arr(&hx(&t["key"])),
                sig: Signature(arr(&hx(&t["sig"]))),
                // `msg` is an ASCII string, not hex.
                msg: s(t, "msg").as_bytes().to_vec(),
                flags,
            }
        })
        .collect();
    assert_eq!(v.len(), 914);
    assert_eq!(v.iter().filter(|c| c.flags.is_empty()).count(), 1);
    v
}

#[test]
fn cctv_verify_strict_matches_policy() {
    let vectors = cctv_vectors();
    let mut accepted = 0usize;
    for c in &vectors {
        let got = c.strict();
        assert_eq!(
            got,
            c.strict_expected(),
            "CCTV #{} flags {:?}",
            c.number,
            c.flags
        );
        accepted += usize::from(got);
    }
    println!(
        "CCTV verify_strict: {} vectors match the policy, {accepted} accepted",
        vectors.len()
    );
    assert_eq!(
        accepted,
        vectors.iter().filter(|c| c.strict_expected()).count()
    );
}

/// Messages of the three honest signatures appended to every crafted one.
const HONEST_MSGS: [&[u8]; 3] = [b"honest one", b"honest two", b"honest three"];

/// Three honest signatures from the fixed seeds [1; 32], [2; 32], [3; 32].
fn honest_signatures() -> Vec<(&'static [u8], Signature, CheckedKey)> {
    HONEST_MSGS
        .iter()
        .zip(1u8..)
        .map(|(m, i)| {
            let sk = SigningKey::from_seed(&[i; 32]);
            (*m, sk.sign(m), check_public_key(&sk.public_key()).unwrap())
        })
        .collect()
}

/// `verify_batch([crafted, honest, honest, honest])`.
fn batch_with_honest(
    message: &[u8],
    signature: Signature,
    key: CheckedKey,
    honest: &[(&'static [u8], Signature, CheckedKey)],
) -> Result<(), usize> {
    let mut items = vec![BatchItem {
        message,
        signature,
        key,
    }];
    items.extend(honest.iter().map(|(m, s, k)| BatchItem {
        message: m,
        signature: *s,
        key: *k,
    }));
    verify_batch(&items)
}

/// verify_strict and batch verdicts of every CCTV vector, computed once and
/// shared by the batch tests (the batch runs twice to check determinism).
struct CctvVerdicts {
    vectors: Vec<Cctv>,
    strict: Vec<bool>,
    /// `None` when the key fails registration (cannot be batched).
    batch: Vec<Option<Result<(), usize>>>,
}

fn cctv_verdicts() -> &'static CctvVerdicts {
    static CELL: std::sync::OnceLock<CctvVerdicts> = std::sync::OnceLock::new();
    CELL.get_or_init(|| {
        let vectors = cctv_vectors();
        let honest = honest_signatures();
        let run = || -> Vec<Option<Result<(), usize>>> {
            vectors
                .iter()
                .map(|c| {
                    // Only registered (checked) keys can enter a batch.
                    let key = check_public_key(&c.key).ok()?;
                    Some(batch_with_honest(&c.msg, c.sig, key, &honest))
                })
                .collect()
        };
        let batch = run();
        assert_eq!(batch, run(), "verify_batch must be deterministic");
        let strict = vectors.iter().map(Cctv::strict).collect();
        CctvVerdicts {
            vectors,
            strict,
            batch,
        }
    })
}

impl CctvVerdicts {
    /// Numbers of the vectors (optionally restricted by `keep`) on which the
    /// batch and strict verdicts differ, split by the `low_order_residue` flag.
    fn disagreements(&self, keep: impl Fn(&Cctv) -> bool) -> (usize, Vec<usize>, Vec<usize>) {
        let (mut compared, mut residue, mut other) = (0usize, Vec::new(), Vec::new());
        for ((c, strict), batch) in self.vectors.iter().zip(&self.strict).zip(&self.batch) {
            let Some(batch) = batch else { continue };
            if !keep(c) {
                continue;
            }
            compared += 1;
            if batch.is_ok() != *strict {
                if c.has("low_order_residue") {
                    residue.push(c.number);
                } else {
                    other.push(c.number);
                }
            }
        }
        (compared, residue, other)
    }

    fn describe(&self, numbers: &[usize]) -> String {
        numbers
            .iter()
            .map(|num| {
                let i = self.vectors.iter().position(|c| c.number == *num).unwrap();
                let dir = if self.strict[i] {
                    "strict accepts, batch rejects"
                } else {
                    "strict rejects, batch ACCEPTS"
                };
                format!("  #{num}: {dir}; flags {:?}\n", self.vectors[i].flags)
            })
            .collect()
    }
}

#[test]
fn cctv_batch_deterministic_and_blames_only_crafted_item() {
    let v = cctv_verdicts();
    assert_eq!(verify_batch(&[]), Ok(()));
    let honest = honest_signatures();
    let first = &honest[0];
    assert_eq!(
        batch_with_honest(first.0, first.1, first.2, &honest[1..]),
        Ok(())
    );
    let mut batched = 0usize;
    for (c, verdict) in v.vectors.iter().zip(&v.batch) {
        let Some(verdict) = verdict.as_ref() else {
            continue;
        };
        batched += 1;
        if let Err(i) = verdict {
            assert_eq!(*i, 0, "CCTV #{}: batch blamed honest item {i}", c.number);
        }
    }
    // Only the 28 vectors whose key passes registration can be batched.
    assert_eq!(batched, 28);
    println!("CCTV batch: 28 batches, deterministic, Err(i) always names the crafted item (0)");
}

/// The keys medledger can actually hold: those that pass registration
/// (`check_public_key`). Here the batch must agree with the strict path on
/// every vector except the documented low_order_residue gap.
#[test]
fn cctv_batch_agrees_with_strict_for_registrable_keys() {
    let v = cctv_verdicts();
    let (compared, residue, other) = v.disagreements(|c| check_public_key(&c.key).is_ok());
    println!(
        "CCTV batch, registrable keys: {compared} compared; {} low_order_residue disagreements {residue:?}\n{}",
        residue.len(),
        v.describe(&residue)
    );
    assert_eq!(compared, 28);
    assert!(
        other.is_empty(),
        "disagreements without low_order_residue:\n{}",
        v.describe(&other)
    );
    // The known gap only ever lets the batch accept what strict rejects, and
    // only through a small-order component of R.
    for num in &residue {
        let i = v.vectors.iter().position(|c| c.number == *num).unwrap();
        assert!(
            !v.strict[i] && v.vectors[i].has("low_order_component_R"),
            "CCTV #{num}"
        );
    }
}

#[test]
fn cctv_check_public_key_registration() {
    let vectors = cctv_vectors();
    let (mut rejected, mut accepted) = (0usize, 0usize);
    let mut keys_seen = BTreeSet::new();
    for c in &vectors {
        let a_flagged =
            c.has("low_order_A") || c.has("non_canonical_A") || c.has("low_order_component_A");
        let ok = check_public_key(&c.key).is_ok();
        if a_flagged {
            assert!(
                !ok,
                "CCTV #{}: key flagged {:?} accepted",
                c.number, c.flags
            );
            rejected += 1;
        } else {
            assert!(ok, "CCTV #{}: clean key rejected", c.number);
            accepted += 1;
        }
        keys_seen.insert(c.key);
    }
    println!(
        "CCTV check_public_key: {rejected} flagged keys rejected, {accepted} clean keys accepted \
         ({} distinct keys)",
        keys_seen.len()
    );
    assert_eq!(rejected + accepted, 914);
    assert!(rejected > 0 && accepted > 0);
}

// ---------------------------------------------------------------------------
// 6. ed25519-speccheck cases ("Taming the many EdDSAs")
// ---------------------------------------------------------------------------

#[test]
fn ed25519_speccheck_cases() {
    let doc = read_json("ed25519_speccheck_cases.json");
    let cases = doc.as_array().unwrap();
    assert_eq!(cases.len(), 12);
    let honest = honest_signatures();

    // Expected verify_strict verdicts of ed25519-dalek 3.0, derived from its
    // source (VerifyingKey::verify_strict): S must be canonical
    // (Scalar::from_canonical_bytes), R and A are rejected if of small order,
    // and the cofactorless equation is checked by comparing the canonical
    // encoding of [S]B - [k]A with the R bytes of the signature, so a
    // non-canonical R never matches. Point properties below were checked
    // with curve25519-dalek:
    //  0: S = 0, small-order A and R             -> reject (small-order A, R)
    //  1: small-order A, mixed-order R           -> reject (small-order A)
    //  2: mixed-order A, small-order R           -> reject (small-order R)
    //  3: mixed-order A and R, cofactorless
    //     equation holds                         -> ACCEPT: neither point is
    //     of small order and verify_strict does not ask for torsion-free
    //     keys. Same as the historic dalek row. check_public_key refuses this
    //     key at registration, so medledger never verifies it in practice.
    //  4: mixed-order A and R, only the
    //     cofactored equation holds              -> reject (cofactorless)
    //  5: mixed-order A, prime-order R, k not
    //     reduced mod L ("pre-reduced scalar")   -> reject (equation fails)
    //  6: S > L (S not canonical)                -> reject (non-canonical S)
    //  7: S >> L (top bits of S set)             -> reject (non-canonical S)
    //  8, 9: non-canonical small-order R         -> reject (small-order R;
    //     the encoding would not match either)
    //  10, 11: non-canonical small-order A       -> reject (small-order A)
    let expected_strict = [
        false, false, false, true, false, false, false, false, false, false, false, false,
    ];

    let mut strict_verdicts = Vec::new();
    let mut batch_verdicts = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let msg = hx(&case["message"]);
        let pk: [u8; 32] = arr(&hx(&case["pub_key"]));
        let sig = Signature(arr(&hx(&case["signature"])));
        let vk = VerifyingKey::from_bytes(&pk);
        let strict = vk
            .as_ref()
            .is_ok_and(|vk| verify_strict(vk, &msg, &sig).is_ok());
        // Batches take registered keys only (the CheckedKey type).
        let batch = check_public_key(&pk)
            .ok()
            .map(|key| batch_with_honest(&msg, sig, key, &honest));
        if let Some(Err(j)) = batch {
            assert_eq!(j, 0, "case {i}: batch blamed an honest item");
        }
        let batch_ok = batch.is_some_and(|b| b.is_ok());
        println!(
            "speccheck case {i:2}: verify_strict {} | verify_batch {} | check_public_key {}",
            if strict { "accept" } else { "reject" },
            if batch_ok { "accept" } else { "reject" },
            if check_public_key(&pk).is_ok() {
                "accept"
            } else {
                "reject"
            },
        );
        strict_verdicts.push(strict);
        batch_verdicts.push(batch_ok);
    }
    assert_eq!(
        strict_verdicts, expected_strict,
        "verify_strict verdicts for cases 0..11"
    );
    // RFC 8032 requires rejecting S ≥ L (cases 6 and 7) on every path.
    for i in [6, 7] {
        assert!(
            !strict_verdicts[i] && !batch_verdicts[i],
            "case {i}: S ≥ L accepted"
        );
    }
    // Where the key passes registration (only cases 6 and 7: an honest key
    // with a malleated S), the batch path must agree with the strict path.
    // All other keys are refused by check_public_key, so the type system
    // keeps them out of batches.
    let mut registrable = 0usize;
    for (i, case) in cases.iter().enumerate() {
        let pk: [u8; 32] = arr(&hx(&case["pub_key"]));
        if check_public_key(&pk).is_ok() {
            assert_eq!(
                batch_verdicts[i], strict_verdicts[i],
                "case {i}: batch vs strict"
            );
            registrable += 1;
        }
    }
    assert_eq!(registrable, 2);
    // Case 3's key has a small-order component: refused at registration, so
    // under the full medledger policy no signature of case 3 is ever checked.
    let pk3: [u8; 32] = arr(&hx(&cases[3]["pub_key"]));
    assert!(
        check_public_key(&pk3).is_err(),
        "case 3 key must fail registration"
    );
}

// ---------------------------------------------------------------------------
// 7. X25519 (Wycheproof) and the small-order key check
// ---------------------------------------------------------------------------

/// u < 2^255 - 19 with bit 255 clear, compared as a big-endian integer.
fn canonical_x25519(u: &[u8; 32]) -> bool {
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    // Compare little-endian numbers from the most significant byte.
    for i in (0..32).rev() {
        if u[i] != p[i] {
            return u[i] < p[i];
        }
    }
    false
}

#[test]
fn x25519_wycheproof_and_key_check() {
    let doc = read_json("x25519_test.json");
    let (mut total, mut zero, mut valid_ok, mut acceptable_ok) = (0usize, 0usize, 0usize, 0usize);
    let mut non_canonical = 0usize;
    for g in list(&doc, "testGroups") {
        assert_eq!(s(g, "curve"), "curve25519");
        for t in list(g, "tests") {
            let id = n(t, "tcId");
            let public: [u8; 32] = arr(&hx(&t["public"]));
            let private: [u8; 32] = arr(&hx(&t["private"]));
            let shared: [u8; 32] = arr(&hx(&t["shared"]));
            assert_eq!(
                x25519_dalek::x25519(private, public),
                shared,
                "tcId {id}: shared secret"
            );
            total += 1;
            let is_zero = flags(t).contains("ZeroSharedSecret");
            assert_eq!(
                is_zero,
                shared == [0u8; 32],
                "tcId {id}: ZeroSharedSecret flag"
            );
            let check = check_x25519_key(&public);
            if is_zero {
                assert!(check.is_err(), "tcId {id}: small-order key accepted");
                zero += 1;
            } else if !canonical_x25519(&public) {
                // One key, one encoding: bit 255 set or u >= p is refused at
                // registration even though X25519 itself would accept it.
                assert!(check.is_err(), "tcId {id}: non-canonical key accepted");
                assert_ne!(
                    s(t, "result"),
                    "valid",
                    "tcId {id}: valid test with non-canonical key"
                );
                non_canonical += 1;
            } else {
                // A non-zero shared secret under a clamped scalar means the
                // key is not of small order, so registration accepts it.
                assert!(
                    check.is_ok(),
                    "tcId {id}: key rejected ({})",
                    s(t, "result")
                );
                match s(t, "result") {
                    "valid" => valid_ok += 1,
                    "acceptable" => acceptable_ok += 1,
                    other => panic!("tcId {id}: unexpected result {other}"),
                }
            }
        }
    }
    println!(
        "X25519: {total} shared secrets match; check_x25519_key rejects {zero} ZeroSharedSecret and \
         {non_canonical} non-canonical keys, accepts {valid_ok} valid + {acceptable_ok} other acceptable"
    );
    assert_eq!(total, 518);
    assert_eq!(zero, 31);
    assert_eq!(valid_ok, 264);
    assert_eq!(zero + non_canonical + valid_ok + acceptable_ok, 518);
    assert_eq!((non_canonical, acceptable_ok), (13, 210));
}

// ---------------------------------------------------------------------------
// 8. HKDF-SHA3-256 (NIST ACVP), HMAC-SHA3-256 and HKDF-SHA-256 (Wycheproof)
// ---------------------------------------------------------------------------

#[test]
fn hkdf_sha3_256_acvp() {
    let doc = read_json("hkdf_sha3_256_acvp.json");
    let mut count = 0usize;
    for g in list(&doc, "testGroups") {
        for t in list(g, "tests") {
            let id = n(t, "tcId");
            assert_eq!(s(t, "result"), "valid");
            let mut okm = vec![0u8; n(t, "size")];
            hkdf_sha3_256(
                &hx(&t["salt"]),
                &hx(&t["ikm"]),
                &[&hx(&t["info"])],
                &mut okm,
            )
            .unwrap();
            assert_eq!(okm, hx(&t["okm"]), "tcId {id}");
            count += 1;
        }
    }
    println!("HKDF-SHA3-256 ACVP: {count} tests ok");
    assert_eq!(count, 35);
    // The wrapper rejects output longer than 255 blocks of 32 bytes.
    let mut too_long = vec![0u8; 255 * 32 + 1];
    assert!(hkdf_sha3_256(b"salt", b"ikm", &[b"info"], &mut too_long).is_err());
}

#[test]
fn hmac_sha3_256_wycheproof() {
    use hkdf::hmac::{KeyInit, Mac, SimpleHmac};
    use sha3::Sha3_256;
    let doc = read_json("hmac_sha3_256_test.json");
    let (mut valid, mut invalid) = (0usize, 0usize);
    for g in list(&doc, "testGroups") {
        let tag_len = n(g, "tagSize") / 8;
        for t in list(g, "tests") {
            let id = n(t, "tcId");
            let mut mac =
                <SimpleHmac<Sha3_256> as KeyInit>::new_from_slice(&hx(&t["key"])).unwrap();
            mac.update(&hx(&t["msg"]));
            let full = mac.finalize().into_bytes();
            let matches = full[..tag_len] == hx(&t["tag"])[..];
            match s(t, "result") {
                "valid" => {
                    assert!(matches, "tcId {id}: tag mismatch");
                    valid += 1;
                }
                "invalid" => {
                    assert!(!matches, "tcId {id}: modified tag matched");
                    invalid += 1;
                }
                other => panic!("tcId {id}: unexpected result {other}"),
            }
        }
    }
    println!("HMAC-SHA3-256: {valid} valid, {invalid} invalid");
    assert_eq!((valid, invalid), (66, 108));
}

/// hkdf 0.13 and sha2 0.11 share digest 0.11, so `Hkdf<Sha256>` compiles.
#[test]
fn hkdf_sha256_wycheproof() {
    use hkdf::Hkdf;
    use sha2::Sha256;
    let doc = read_json("hkdf_sha256_test.json");
    let (mut valid, mut invalid) = (0usize, 0usize);
    for g in list(&doc, "testGroups") {
        for t in list(g, "tests") {
            let id = n(t, "tcId");
            let hk = Hkdf::<Sha256>::new(Some(&hx(&t["salt"])), &hx(&t["ikm"]));
            let mut okm = vec![0u8; n(t, "size")];
            let res = hk.expand(&hx(&t["info"]), &mut okm);
            match s(t, "result") {
                "valid" => {
                    res.unwrap();
                    assert_eq!(okm, hx(&t["okm"]), "tcId {id}");
                    valid += 1;
                }
                "invalid" => {
                    assert!(res.is_err(), "tcId {id}: over-long output accepted");
                    invalid += 1;
                }
                other => panic!("tcId {id}: unexpected result {other}"),
            }
        }
    }
    println!("HKDF-SHA-256: {valid} valid, {invalid} invalid");
    assert_eq!((valid, invalid), (83, 3));
}
