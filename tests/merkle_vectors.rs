//! RFC 6962 / RFC 9162 Merkle vectors (SHA-256) from transparency-dev/merkle,
//! run against `medledger::log::merkle` with a SHA-256 hasher.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use medledger::crypto::hash::Digest;
use medledger::log::merkle::*;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// Where the vectors live: `$MEDLEDGER_VECTORS`, else `<crate>/vectors`,
/// else `<crate>/../shared/vectors`.
fn vectors_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MEDLEDGER_VECTORS") {
        return PathBuf::from(dir);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let in_repo = manifest.join("vectors");
    if in_repo.is_dir() {
        return in_repo;
    }
    manifest.join("..").join("shared").join("vectors")
}

/// SHA-256(0x01 ‖ left ‖ right) over children of any length (the RFC 6962
/// node KAT uses 4-byte children, which a `Digest` cannot hold).
fn sha256_node(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// RFC 6962 hashing with SHA-256, as the vectors use.
struct Sha256Hasher;

impl MerkleHasher for Sha256Hasher {
    fn hash_leaf(data: &[u8]) -> Digest {
        let mut h = Sha256::new();
        h.update([0x00]);
        h.update(data);
        Digest(h.finalize().into())
    }

    fn hash_children(left: &Digest, right: &Digest) -> Digest {
        Digest(sha256_node(&left.0, &right.0))
    }

    fn empty_root() -> Digest {
        Digest(Sha256::digest([]).into())
    }
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON in {}: {e}", path.display()))
}

fn hex_digest(v: &Value) -> Digest {
    Digest(
        hex::decode(v.as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap(),
    )
}

/// All `.json` files under `dir`, recursively, sorted.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn b64(v: &Value, file: &Path, field: &str) -> Vec<u8> {
    let s = v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{}: {field} is not a string", file.display()));
    STANDARD
        .decode(s)
        .unwrap_or_else(|e| panic!("{}: {field} is not base64: {e}", file.display()))
}

/// `proof`: an array of base64 strings, or `null` for an empty proof.
fn b64_proof(v: &Value, file: &Path) -> Vec<Vec<u8>> {
    match &v["proof"] {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .map(|p| {
                STANDARD
                    .decode(p.as_str().unwrap())
                    .unwrap_or_else(|e| panic!("{}: proof is not base64: {e}", file.display()))
            })
            .collect(),
        other => panic!("{}: unexpected proof {other}", file.display()),
    }
}

fn u64_field(v: &Value, file: &Path, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{}: {field} is not a u64", file.display()))
}

#[test]
fn rfc6962_reference_tree() {
    let path = vectors_dir().join("merkle/rfc6962_reference_tree.json");
    let v = read_json(&path);
    assert_eq!(v["hash"], "SHA-256");

    let leaves: Vec<Vec<u8>> = v["leaves_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| hex::decode(l.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(leaves.len(), 8);

    let mut log = MerkleLog::<Sha256Hasher>::new();
    let by_size = v["root_hashes"]["by_size"].as_array().unwrap();
    assert_eq!(by_size.len(), 9);
    assert_eq!(
        log.root(),
        hex_digest(&by_size[0]),
        "root of the empty tree"
    );
    for (i, data) in leaves.iter().enumerate() {
        assert_eq!(log.push_leaf_data(data), i as u64);
        assert_eq!(
            log.root(),
            hex_digest(&by_size[i + 1]),
            "root at size {}",
            i + 1
        );
    }
    for (n, want) in by_size.iter().enumerate() {
        assert_eq!(
            log.root_at(n as u64).unwrap(),
            hex_digest(want),
            "root_at({n})"
        );
    }

    // Every complete-subtree hash: level L, index i covers leaves
    // [i·2^L, (i+1)·2^L), which is also the root of that range as a tree.
    let levels = v["node_hashes"]["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 4);
    let mut checked = 0;
    for (level, row) in levels.iter().enumerate() {
        let row = row.as_array().unwrap();
        assert_eq!(row.len(), 8 >> level);
        for (i, want) in row.iter().enumerate() {
            let want = hex_digest(want);
            if level == 0 {
                assert_eq!(log.leaf_hash(i as u64).unwrap(), want, "leaf {i}");
            }
            // The subtree is a sibling in the inclusion proof of a leaf in
            // the neighbouring subtree of the 8-leaf tree.
            let width = 1u64 << level;
            let start = i as u64 * width;
            if level < 3 {
                let proof = log.inclusion_proof(start ^ width, 8).unwrap();
                assert_eq!(proof[level], want, "node level {level} index {i}");
            } else {
                assert_eq!(log.root_at(8).unwrap(), want, "node level 3");
            }
            // A complete subtree starting at 0 is the root at its size.
            if start == 0 {
                assert_eq!(log.root_at(width).unwrap(), want, "level {level} root");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 15);

    // Hasher known answers.
    let kats = v["hasher"].as_array().unwrap();
    assert_eq!(kats.len(), 4);
    for kat in kats {
        let want = hex::decode(kat["want"].as_str().unwrap()).unwrap();
        let got = match kat["op"].as_str().unwrap() {
            "empty_root" => Sha256Hasher::empty_root().0,
            "hash_leaf" => {
                Sha256Hasher::hash_leaf(&hex::decode(kat["input_hex"].as_str().unwrap()).unwrap()).0
            }
            "hash_children" => sha256_node(
                &hex::decode(kat["left_hex"].as_str().unwrap()).unwrap(),
                &hex::decode(kat["right_hex"].as_str().unwrap()).unwrap(),
            ),
            other => panic!("unknown op {other}"),
        };
        assert_eq!(got.as_slice(), want.as_slice(), "{}", kat["desc"]);
    }
}

#[test]
fn inclusion_probe_files() {
    let dir = vectors_dir().join("merkle/testdata/inclusion");
    let files = json_files(&dir);
    let mut positive = 0;
    for file in &files {
        let v = read_json(file);
        let want_err = v["wantErr"].as_bool().unwrap();
        let leaf = b64(&v, file, "leafHash");
        let root = b64(&v, file, "root");
        let proof = b64_proof(&v, file);
        let proof: Vec<&[u8]> = proof.iter().map(Vec::as_slice).collect();
        let got = verify_inclusion_bytes::<Sha256Hasher>(
            &leaf,
            u64_field(&v, file, "leafIdx"),
            u64_field(&v, file, "treeSize"),
            &proof,
            &root,
        );
        assert_eq!(
            got.is_err(),
            want_err,
            "{} ({}): got {got:?}",
            file.display(),
            v["desc"]
        );
        positive += usize::from(!want_err);
    }
    assert_eq!(files.len(), 98, "inclusion files in {}", dir.display());
    assert_eq!(positive, 6);
}

#[test]
fn consistency_probe_files() {
    let dir = vectors_dir().join("merkle/testdata/consistency");
    let files = json_files(&dir);
    let mut positive = 0;
    for file in &files {
        let v = read_json(file);
        let want_err = v["wantErr"].as_bool().unwrap();
        let root1 = b64(&v, file, "root1");
        let root2 = b64(&v, file, "root2");
        let proof = b64_proof(&v, file);
        let proof: Vec<&[u8]> = proof.iter().map(Vec::as_slice).collect();
        let got = verify_consistency_bytes::<Sha256Hasher>(
            u64_field(&v, file, "size1"),
            u64_field(&v, file, "size2"),
            &proof,
            &root1,
            &root2,
        );
        assert_eq!(
            got.is_err(),
            want_err,
            "{} ({}): got {got:?}",
            file.display(),
            v["desc"]
        );
        positive += usize::from(!want_err);
    }
    assert_eq!(files.len(), 98, "consistency files in {}", dir.display());
    assert_eq!(positive, 6);
}

/// The log's own proofs for the reference tree reproduce the positive
/// probe files' proofs (SHA-256), and verify with the Digest API.
#[test]
fn log_proofs_match_happy_paths() {
    let tree = read_json(&vectors_dir().join("merkle/rfc6962_reference_tree.json"));
    let mut log = MerkleLog::<Sha256Hasher>::new();
    for l in tree["leaves_hex"].as_array().unwrap() {
        log.push_leaf_data(&hex::decode(l.as_str().unwrap()).unwrap());
    }
    let base = vectors_dir().join("merkle/testdata");
    for n in 0..5 {
        let file = base.join(format!("inclusion/{n}/happy-path.json"));
        let v = read_json(&file);
        let (idx, size) = (
            u64_field(&v, &file, "leafIdx"),
            u64_field(&v, &file, "treeSize"),
        );
        let proof = log.inclusion_proof(idx, size).unwrap();
        let want: Vec<Vec<u8>> = b64_proof(&v, &file);
        let got: Vec<Vec<u8>> = proof.iter().map(|d| d.0.to_vec()).collect();
        assert_eq!(got, want, "{}", file.display());
        let root = log.root_at(size).unwrap();
        assert_eq!(
            root.0.to_vec(),
            b64(&v, &file, "root"),
            "{}",
            file.display()
        );
        let leaf = log.leaf_hash(idx).unwrap();
        verify_inclusion::<Sha256Hasher>(&leaf, idx, size, &proof, &root).unwrap();

        let file = base.join(format!("consistency/{n}/happy-path.json"));
        let v = read_json(&file);
        let (s1, s2) = (u64_field(&v, &file, "size1"), u64_field(&v, &file, "size2"));
        let proof = log.consistency_proof(s1, s2).unwrap();
        let got: Vec<Vec<u8>> = proof.iter().map(|d| d.0.to_vec()).collect();
        assert_eq!(got, b64_proof(&v, &file), "{}", file.display());
        let (r1, r2) = (log.root_at(s1).unwrap(), log.root_at(s2).unwrap());
        assert_eq!(r1.0.to_vec(), b64(&v, &file, "root1"), "{}", file.display());
        assert_eq!(r2.0.to_vec(), b64(&v, &file, "root2"), "{}", file.display());
        verify_consistency::<Sha256Hasher>(s1, s2, &proof, &r1, &r2).unwrap();
    }
}

#[test]
fn sha3_leaf_of_empty_is_sha3_of_zero_byte() {
    use sha3::{Digest as _, Sha3_256};
    let want: [u8; 32] = Sha3_256::digest([0x00u8]).into();
    assert_eq!(Sha3Hasher::hash_leaf(b"").0, want);
    let want_empty: [u8; 32] = Sha3_256::digest([]).into();
    assert_eq!(Sha3Hasher::empty_root().0, want_empty);
    // The default hasher of MerkleLog is SHA3-256.
    let mut log = MerkleLog::<Sha3Hasher>::default();
    log.push_leaf_data(b"");
    assert_eq!(log.root().0, want);
}
