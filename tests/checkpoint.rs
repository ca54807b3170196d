//! C2SP checkpoints in signed notes (docs/FORMAT.md §10): the exact body,
//! signing and verification, key ids and vkeys pinned against Go's
//! `golang.org/x/mod/sumdb/note` (values produced once with
//! `interop/go`: `interop vkey|sign <name> 0202…02`), tamper rejection and
//! the ledger's own checkpoints.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::Consortium;
use medledger::Error;
use medledger::crypto::hash::Digest;
use medledger::crypto::sign::SigningKey;
use medledger::proof::checkpoint::{
    Checkpoint, MAX_COSIGNATURE_TIME, NoteSignature, NoteVerifier, ORIGIN_PREFIX,
    cosignature_key_id, key_id, open_note, verify_note,
};

const ORIGIN: &str =
    "medledger.example/1111111111111111111111111111111111111111111111111111111111111111";
/// `interop vkey <ORIGIN> 0202…02`.
const GO_VKEY: &str = "medledger.example/1111111111111111111111111111111111111111111111111111111111111111+a7a239b3+AYE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU";
/// `interop vkey witness.example/w1 0303…03`.
const GO_WITNESS_VKEY: &str =
    "witness.example/w1+11043ba3+Ae1JKMYo0cLG6ukDOJBZlWEpWSc6XGP5NjbBRhSshzfR";
/// `interop cosigner-vkey witness.example/w1 0303…03` (transparency-dev
/// formats/note `VKeyToCosignatureV1`).
const GO_COSIGNER_VKEY: &str =
    "witness.example/w1+d9ed62c5+BO1JKMYo0cLG6ukDOJBZlWEpWSc6XGP5NjbBRhSshzfR";
/// `printf '<golden body>' | interop sign <ORIGIN> 0202…02`.
const GO_NOTE: &str = "medledger.example/1111111111111111111111111111111111111111111111111111111111111111\n22\nWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\n\n\u{2014} medledger.example/1111111111111111111111111111111111111111111111111111111111111111 p6I5sxKyO7g6bt5imGfg2RF3PqbASrg1AK3dOa8D8Fym4Uy/88yBArpTc8I9gZ3pEixb/rvFHo9AYQzhhAlP8PQPoAE=\n";

fn golden() -> Checkpoint {
    Checkpoint {
        origin: ORIGIN.to_owned(),
        size: 22,
        root: Digest([0x5a; 32]),
    }
}

fn log_key() -> SigningKey {
    SigningKey::from_seed(&[2; 32])
}

fn witness_key() -> SigningKey {
    SigningKey::from_seed(&[3; 32])
}

fn log_verifier() -> NoteVerifier {
    NoteVerifier::new(ORIGIN, &log_key().public_key()).unwrap()
}

#[test]
fn body_is_exact() {
    assert_eq!(
        golden().body(),
        format!("{ORIGIN}\n22\nWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\n")
    );
    let zero = Checkpoint {
        origin: "a.example/log".into(),
        size: 0,
        root: Digest([0; 32]),
    };
    assert_eq!(
        zero.body(),
        "a.example/log\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
    );
    let max = Checkpoint {
        size: u64::MAX,
        ..zero
    };
    assert_eq!(Checkpoint::parse_body(&max.body()).unwrap(), max);
    assert_eq!(Checkpoint::parse_body(&golden().body()).unwrap(), golden());
}

#[test]
fn note_matches_go_byte_for_byte() {
    let note = golden().sign_note(ORIGIN, &log_key()).unwrap();
    assert_eq!(note, GO_NOTE);
    assert_eq!(verify_note(GO_NOTE, &[log_verifier()]).unwrap(), golden());
}

#[test]
fn key_id_and_vkey_match_go() {
    assert_eq!(key_id(ORIGIN, &log_key().public_key()), 0xa7a2_39b3);
    let v = log_verifier();
    assert_eq!(v.key_id(), 0xa7a2_39b3);
    assert_eq!(v.name(), ORIGIN);
    assert_eq!(v.vkey(), GO_VKEY);
    assert_eq!(NoteVerifier::from_vkey(GO_VKEY).unwrap(), v);
    let w = NoteVerifier::new("witness.example/w1", &witness_key().public_key()).unwrap();
    assert_eq!(w.vkey(), GO_WITNESS_VKEY);
    assert_eq!(w.key_id(), 0x1104_3ba3);
}

#[test]
fn vkeys_whose_base64_holds_a_plus_round_trip() {
    // Base64 keys contain '+' about half the time: only the first two '+'
    // end the name and the key id (as in Go's note.NewVerifier).
    let mut seen = 0;
    for n in 0..64u8 {
        let k = medledger::Keypair::from_seeds(&[n; 32], &[n; 32]);
        for v in [
            NoteVerifier::new("log.example/l", &k.public().sign),
            NoteVerifier::cosigner("witness.example/w", &k.public().sign),
        ] {
            let v = v.unwrap();
            let vkey = v.vkey();
            if vkey.matches('+').count() > 2 {
                seen += 1;
            }
            assert_eq!(NoteVerifier::from_vkey(&vkey).unwrap(), v, "{vkey}");
        }
    }
    assert!(seen > 0, "no key with '+' in its base64 was tried");
}

#[test]
fn bad_vkeys_are_refused() {
    let (name, rest) = GO_VKEY.split_once('+').unwrap();
    let (_, key) = rest.split_once('+').unwrap();
    for bad in [
        String::new(),
        "name".to_owned(),
        format!("{name}+a7a239b4+{key}"), // id of another key
        format!("{name}+A7A239B3x+{key}"),
        format!("{name}+a7a239b+{key}"),
        format!("{name}+a7a239b3+{key}+extra"),
        format!("{name}x+a7a239b3+{key}"), // id binds the name
        format!("{name}+a7a239b3+{}", key.replacen('A', "B", 1)), // key type 0x05
        format!("{name}+a7a239b3+{}", &key[..key.len() - 4]),
        format!("{name}+a7a239b3+{key}="),
        format!("+a7a239b3+{key}"),
        format!("a b+a7a239b3+{key}"),
    ] {
        assert!(NoteVerifier::from_vkey(&bad).is_err(), "{bad}");
    }
    // Upper-case hex is what Go writes too rarely to matter, but it parses.
    assert_eq!(
        NoteVerifier::from_vkey(&GO_VKEY.replace("+a7a239b3+", "+A7A239B3+")).unwrap(),
        log_verifier()
    );
    // A small-order key is refused (§4.4).
    let mut id = [0u8; 32];
    id[0] = 1;
    assert!(matches!(
        NoteVerifier::new(ORIGIN, &id),
        Err(Error::WeakKey(_))
    ));
    assert!(NoteVerifier::new("a+b", &log_key().public_key()).is_err());
}

#[test]
fn every_byte_flip_is_rejected() {
    let v = [log_verifier()];
    let note = golden().sign_note(ORIGIN, &log_key()).unwrap();
    let bytes = note.as_bytes();
    let mut tried = 0;
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x02, 0x20, 0x40] {
            let mut b = bytes.to_vec();
            b[i] ^= mask;
            // Invalid UTF-8 cannot even be passed as a note.
            let Ok(s) = String::from_utf8(b) else {
                continue;
            };
            tried += 1;
            assert!(
                verify_note(&s, &v).is_err(),
                "byte {i} ^ {mask:#x} accepted"
            );
        }
    }
    assert!(tried > bytes.len() * 3, "{tried}");
    // Truncations and extensions too.
    for n in 0..note.len() {
        if let Some(s) = note.get(..n) {
            assert!(verify_note(s, &v).is_err(), "prefix of {n} bytes accepted");
        }
    }
    assert!(verify_note(&format!("{note}\n"), &v).is_err());
    assert!(verify_note(&format!("x{note}"), &v).is_err());
}

#[test]
fn wrong_key_is_rejected() {
    let note = golden().sign_note(ORIGIN, &log_key()).unwrap();
    // Same name, other key: another key id, so no known signature.
    let other = NoteVerifier::new(ORIGIN, &witness_key().public_key()).unwrap();
    assert!(matches!(
        verify_note(&note, std::slice::from_ref(&other)),
        Err(Error::BadSignature(_))
    ));
    // Same key, other name.
    let renamed = NoteVerifier::new("other.example/log", &log_key().public_key()).unwrap();
    assert!(verify_note(&note, &[renamed]).is_err());
    assert!(verify_note(&note, &[]).is_err());
    // Signed by the witness key under the log's name: refused by the log key.
    let forged = golden().sign_note(ORIGIN, &witness_key()).unwrap();
    assert!(verify_note(&forged, &[log_verifier()]).is_err());
    assert_eq!(verify_note(&forged, &[other]).unwrap(), golden());
}

/// The signature line `witness_key` adds under `name`.
fn witness_line(name: &str) -> String {
    let note = golden().sign_note(name, &witness_key()).unwrap();
    note.rsplit_once("\n\n").unwrap().1.to_owned()
}

#[test]
fn unknown_signatures_are_ignored_known_ones_must_verify() {
    let note = golden().sign_note(ORIGIN, &log_key()).unwrap();
    let cosigned = format!("{note}{}", witness_line("witness.example/w1"));
    let w = NoteVerifier::from_vkey(GO_WITNESS_VKEY).unwrap();
    // Unknown witness line: ignored.
    assert_eq!(verify_note(&cosigned, &[log_verifier()]).unwrap(), golden());
    // Both known: both verify.
    assert_eq!(
        verify_note(&cosigned, &[log_verifier(), w.clone()]).unwrap(),
        golden()
    );
    // Only the witness known: its signature alone suffices.
    assert_eq!(
        verify_note(&cosigned, std::slice::from_ref(&w)).unwrap(),
        golden()
    );
    // An unknown line of any length ≥ 5 bytes is skipped.
    let odd = format!("{note}\u{2014} someone AAAAAAA=\n");
    assert_eq!(verify_note(&odd, &[log_verifier()]).unwrap(), golden());
    // A known key whose signature fails poisons the note even next to a
    // valid one.
    let mut bad = witness_line("witness.example/w1").into_bytes();
    let at = bad.len() - 10;
    bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
    let bad = format!("{note}{}", String::from_utf8(bad).unwrap());
    assert!(verify_note(&bad, &[log_verifier()]).is_ok());
    assert!(matches!(
        verify_note(&bad, &[log_verifier(), w]),
        Err(Error::BadSignature(_))
    ));
}

#[test]
fn malformed_notes_are_refused() {
    let v = [log_verifier()];
    let note = golden().sign_note(ORIGIN, &log_key()).unwrap();
    let sig_line = note.rsplit_once("\n\n").unwrap().1.to_owned();
    let sign = |body: &str| {
        // A valid signature over an arbitrary body.
        let s = log_key().sign(body.as_bytes());
        let mut blob = key_id(ORIGIN, &log_key().public_key())
            .to_be_bytes()
            .to_vec();
        blob.extend_from_slice(&s.0);
        use base64::Engine as _;
        format!(
            "{body}\n\u{2014} {ORIGIN} {}\n",
            base64::engine::general_purpose::STANDARD.encode(blob)
        )
    };
    // Correctly signed, but not a medledger checkpoint body.
    for body in [
        format!("{ORIGIN}\n22\nWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\nextension line\n"),
        format!("{ORIGIN}\n022\nWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\n"),
        format!("{ORIGIN}\n+22\nWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\n"),
        format!("{ORIGIN}\n18446744073709551616\nWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\n"),
        format!("{ORIGIN}\n22\nWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlr=\n"),
        format!("{ORIGIN}\n22\nWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWg==\n"),
        format!("{ORIGIN}\n22\nWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo\n"),
        format!("{ORIGIN}\n\nWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\n"),
        "\n22\nWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\n".to_owned(),
        "a+b\n22\nWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\n".to_owned(),
        format!("{ORIGIN}\n22\n"),
    ] {
        let n = sign(&body);
        assert!(
            matches!(verify_note(&n, &v), Err(Error::Invalid { .. })),
            "{body:?}"
        );
    }
    // The helper itself produces what sign_note does.
    assert_eq!(sign(&golden().body()), note);
    // Framing.
    let body = golden().body();
    for bad in [
        body.clone(),
        format!("{body}\n"),
        format!("{body}{sig_line}"),
        format!("{body}\n{}", sig_line.trim_end()),
        format!("{}\r\n\n{sig_line}", body.trim_end()),
        format!("{body}\n{}", sig_line.replace('\u{2014}', "-")),
        format!("{body}\n{}", sig_line.replacen(' ', "  ", 1)),
        format!("{body}\n\u{2014} {ORIGIN} AAAA\n{sig_line}"), // < 5 bytes
        format!("{body}\n\u{2014} {ORIGIN}\n{sig_line}"),
    ] {
        assert!(verify_note(&bad, &v).is_err(), "{bad:?}");
    }
    // At most 100 signature lines.
    let w = witness_line("witness.example/w1");
    let many = format!("{note}{}", w.repeat(99));
    assert_eq!(verify_note(&many, &v).unwrap(), golden());
    let too_many = format!("{note}{}", w.repeat(100));
    assert!(verify_note(&too_many, &v).is_err());
    // Names and origins are checked when signing.
    assert!(golden().sign_note("has space", &log_key()).is_err());
    assert!(golden().sign_note("", &log_key()).is_err());
    let plus = Checkpoint {
        origin: "a+b".into(),
        ..golden()
    };
    assert!(plus.sign_note(ORIGIN, &log_key()).is_err());
}

#[test]
fn ledger_checkpoints_track_the_sealed_head() {
    let c = Consortium::new();
    let origin = c.ledger.checkpoint_origin();
    assert_eq!(origin, format!("{ORIGIN_PREFIX}{}", c.ledger.id().to_hex()));
    assert_eq!(origin.len(), ORIGIN_PREFIX.len() + 64);
    let v = NoteVerifier::new(&origin, &c.validators[1].public().sign).unwrap();

    let note = c.ledger.checkpoint(&c.validators[1], &origin).unwrap();
    let cp = verify_note(&note, std::slice::from_ref(&v)).unwrap();
    let head = c.ledger.head().unwrap();
    assert_eq!(cp, c.ledger.head_checkpoint().unwrap());
    assert_eq!((cp.size, cp.root), (head.log_size, head.log_root));
    assert_eq!(cp.root, c.ledger.log_root_at(cp.size).unwrap());

    // Pending transactions do not move the checkpoint; a sealed block does.
    c.ledger
        .append_record(&c.hospital_a, c.record("lab", b"sodium 140"))
        .unwrap();
    assert_eq!(
        c.ledger.checkpoint(&c.validators[1], &origin).unwrap(),
        note
    );
    c.commit();
    let later = verify_note(
        &c.ledger.checkpoint(&c.validators[1], &origin).unwrap(),
        std::slice::from_ref(&v),
    )
    .unwrap();
    assert_eq!(later.size, cp.size + 1);
    assert_eq!(later.root, c.ledger.head().unwrap().log_root);
    assert_ne!(later.root, cp.root);

    // Only validators sign checkpoints.
    assert!(matches!(
        c.ledger.checkpoint(&c.hospital_a, &origin),
        Err(Error::Denied(_))
    ));
    // Another validator's signature does not verify under this one's key.
    let other = c.ledger.checkpoint(&c.validators[0], &origin).unwrap();
    assert!(verify_note(&other, &[v]).is_err());
}

const W1: &str = "witness.example/w1";
const T: u64 = 1_767_225_600;

fn cosigner() -> NoteVerifier {
    NoteVerifier::cosigner(W1, &witness_key().public_key()).unwrap()
}

#[test]
fn cosigner_keys_match_go() {
    let c = cosigner();
    assert!(c.is_cosigner() && !log_verifier().is_cosigner());
    assert_eq!(c.key_id(), 0xd9ed_62c5);
    assert_eq!(
        cosignature_key_id(W1, &witness_key().public_key()),
        0xd9ed_62c5
    );
    assert_eq!(c.vkey(), GO_COSIGNER_VKEY);
    assert_eq!(NoteVerifier::from_vkey(GO_COSIGNER_VKEY).unwrap(), c);
    // The same key as a plain note key has another id and type.
    let plain = NoteVerifier::from_vkey(GO_WITNESS_VKEY).unwrap();
    assert_ne!(plain, c);
    assert_ne!(plain.key_id(), c.key_id());
    // A cosigner vkey with the plain key id is refused.
    let wrong = GO_COSIGNER_VKEY.replace("d9ed62c5", "11043ba3");
    assert!(NoteVerifier::from_vkey(&wrong).is_err());
}

#[test]
fn cosignature_line_is_exact() {
    use base64::Engine as _;
    let line = golden().cosign(W1, &witness_key(), T).unwrap();
    let b64 = line
        .strip_prefix("\u{2014} witness.example/w1 ")
        .unwrap()
        .strip_suffix('\n')
        .unwrap();
    let blob = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert_eq!(blob.len(), 4 + 8 + 64);
    assert_eq!(blob[..4], 0xd9ed_62c5u32.to_be_bytes());
    assert_eq!(blob[4..12], T.to_be_bytes());
    // The signed message, written out from C2SP tlog-cosignature.
    let msg = format!(
        "cosignature/v1\ntime 1767225600\n{ORIGIN}\n22\nWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\n"
    );
    assert_eq!(witness_key().sign(msg.as_bytes()).0[..], blob[12..]);
    assert!(
        golden()
            .cosign(W1, &witness_key(), MAX_COSIGNATURE_TIME)
            .is_ok()
    );
    assert!(
        golden()
            .cosign(W1, &witness_key(), MAX_COSIGNATURE_TIME + 1)
            .is_err()
    );
    assert!(golden().cosign("w 1", &witness_key(), T).is_err());
}

#[test]
fn cosigned_notes_report_their_signers() {
    let note = golden().sign_note(ORIGIN, &log_key()).unwrap()
        + &golden().cosign(W1, &witness_key(), T).unwrap();
    let both = [log_verifier(), cosigner()];
    let opened = open_note(&note, &both).unwrap();
    assert_eq!(opened.checkpoint, golden());
    assert_eq!(
        opened.signatures,
        vec![
            NoteSignature {
                name: ORIGIN.into(),
                key_id: 0xa7a2_39b3,
                timestamp: None
            },
            NoteSignature {
                name: W1.into(),
                key_id: 0xd9ed_62c5,
                timestamp: Some(T)
            },
        ]
    );
    // A repeated line is reported once.
    let twice = format!("{note}{}", golden().cosign(W1, &witness_key(), T).unwrap());
    assert_eq!(open_note(&twice, &both).unwrap().signatures.len(), 2);
    // Without the cosigner key the witness line is ignored.
    assert_eq!(
        open_note(&note, &[log_verifier()])
            .unwrap()
            .signatures
            .len(),
        1
    );
    // The plain key of the witness does not accept a cosignature, nor the
    // cosigner key a plain signature: the key ids differ, the lines are
    // ignored and nothing known signed.
    let plain = NoteVerifier::from_vkey(GO_WITNESS_VKEY).unwrap();
    assert!(verify_note(&note, std::slice::from_ref(&plain)).is_err());
    let plain_signed = golden().sign_note(W1, &witness_key()).unwrap();
    assert!(verify_note(&plain_signed, &[cosigner()]).is_err());
    assert!(verify_note(&plain_signed, &[plain]).is_ok());
    // A cosignature for another checkpoint is refused.
    let other = Checkpoint {
        size: 23,
        ..golden()
    };
    let moved = golden().sign_note(ORIGIN, &log_key()).unwrap()
        + &other.cosign(W1, &witness_key(), T).unwrap();
    assert!(verify_note(&moved, &both).is_err());
    assert!(verify_note(&moved, &[log_verifier()]).is_ok());
    // A byte flip of a cosigned note is refused, or (in a signature line's
    // name or key id) turns that line into an unknown key's, which is
    // ignored: the other signature still stands, never both.
    let body_len = golden().body().len();
    let mut ignored = 0;
    for i in 0..note.len() {
        let mut b = note.as_bytes().to_vec();
        b[i] ^= 0x01;
        if let Ok(s) = String::from_utf8(b)
            && let Ok(n) = open_note(&s, &both)
        {
            assert!(i > body_len, "byte {i}");
            assert_eq!(n.checkpoint, golden());
            assert_eq!(n.signatures.len(), 1, "byte {i}");
            ignored += 1;
        }
    }
    // The two names and the four key-id characters of each line at most.
    assert!(
        (1..=ORIGIN.len() + W1.len() + 12).contains(&ignored),
        "{ignored}"
    );
}

#[test]
fn cosignature_timestamps_are_signed_and_bounded() {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let body_note = golden().sign_note(ORIGIN, &log_key()).unwrap();
    let line = golden().cosign(W1, &witness_key(), T).unwrap();
    let b64 = line.trim_end().rsplit_once(' ').unwrap().1;
    let blob = engine.decode(b64).unwrap();
    let relined = |blob: &[u8]| format!("{body_note}\u{2014} {W1} {}\n", engine.encode(blob));
    assert!(verify_note(&relined(&blob), &[cosigner()]).is_ok());
    // Another timestamp under the same signature.
    let mut later = blob.clone();
    later[11] ^= 1;
    assert!(matches!(
        verify_note(&relined(&later), &[cosigner()]),
        Err(Error::BadSignature(_))
    ));
    // Above 2^63 - 1.
    let mut high = blob.clone();
    high[4] |= 0x80;
    assert!(verify_note(&relined(&high), &[cosigner()]).is_err());
    // Without a timestamp (a plain 68-byte signature blob).
    let mut short = blob[..4].to_vec();
    short.extend_from_slice(&blob[12..]);
    assert!(verify_note(&relined(&short), &[cosigner()]).is_err());
    // The log key must not accept a 76-byte blob either.
    let mut long = key_id(ORIGIN, &log_key().public_key())
        .to_be_bytes()
        .to_vec();
    long.extend_from_slice(&blob[4..]);
    let golden_body = golden().body();
    let forged = format!(
        "{golden_body}\n\u{2014} {ORIGIN} {}\n",
        engine.encode(&long)
    );
    assert!(verify_note(&forged, &[log_verifier()]).is_err());
}
