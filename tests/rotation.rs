//! Participant key rotation: the id stays, later transactions need the new
//! key, history stays verifiable under the keys valid at the time, and the
//! categories the old key could open are re-keyed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::Consortium;
use medledger::access::envelope::open_epoch_key;
use medledger::model::{ParticipantChange, ParticipantUpdate, Tx, TxBody, TxKind};
use medledger::{Category, Error, KdfParams, Keypair, Ledger, Purpose};

fn rejected<T: std::fmt::Debug>(r: medledger::Result<T>) -> String {
    match r {
        Err(Error::Rejected(m)) => m,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn rotation_keeps_history_verifiable_and_rekeys_what_the_old_key_opened() {
    let c = Consortium::new();
    let lab = Category::new("lab").unwrap();
    let rec = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"before rotation"))
        .unwrap();
    c.commit();
    let old_wrap = c
        .ledger
        .read_record(&c.hospital_a, &rec, Purpose::Treat)
        .unwrap();
    assert_eq!(&*old_wrap.plaintext, b"before rotation");

    let new_a = c.hospital_a.rotated();
    assert_eq!(new_a.id(), c.hospital_a.id());
    assert_ne!(new_a.public().sign, c.hospital_a.public().sign);
    c.ledger.rotate_keys(&c.hospital_a, &new_a).unwrap();
    c.commit();
    let p = c.ledger.participant(&new_a.id()).unwrap();
    assert_eq!(
        (p.sign_key, p.enc_key),
        (new_a.public().sign, new_a.public().enc)
    );

    // The old key no longer signs for the participant.
    let m = rejected(
        c.ledger
            .append_record(&c.hospital_a, c.record("lab", b"old key")),
    );
    assert!(m.contains("signing key"), "{m}");

    // Permitted, but its wraps were sealed to the rotated-away key.
    match c.ledger.read_record(&new_a, &rec, Purpose::Treat) {
        Err(Error::Denied(m)) => assert!(m.contains("holds no key"), "{m}"),
        other => panic!("expected no key, got {other:?}"),
    }
    // The patient re-keys: lab is stale (a holder rotated), so a new epoch
    // opens, and the history is sealed to the new key.
    assert!(c.ledger.share_keys(&c.patient, &c.patient.id()).unwrap() >= 2);
    c.commit();
    assert_eq!(
        &*c.ledger
            .read_record(&new_a, &rec, Purpose::Treat)
            .unwrap()
            .plaintext,
        b"before rotation"
    );
    let after = c
        .ledger
        .append_record(&new_a, c.record("lab", b"after rotation"))
        .unwrap();
    c.commit();
    let info = c.ledger.record_info(&after).unwrap();
    assert_eq!(info.header.key_epoch, 2);

    // A reopened ledger replays the rotation and serves the new key.
    let reopened = Ledger::open(Box::new(c.store.clone())).unwrap();
    common::attach(&reopened);
    let r = reopened
        .read_record(&new_a, &after, Purpose::Treat)
        .unwrap();
    assert_eq!(&*r.plaintext, b"after rotation");
    drop(reopened);
    // At the crypto level, from the raw chain: the new epoch's key is
    // sealed to the new key; the old secret cannot open it.
    let state = common::chain_state(&c.store);
    let sealed = state
        .held_wrap(&c.patient.id(), &lab, 2, &new_a.id())
        .copied()
        .unwrap();
    assert!(
        open_epoch_key(
            &c.ledger.id(),
            &c.hospital_a,
            &c.patient.id(),
            &lab,
            2,
            &sealed
        )
        .is_err()
    );
    assert!(open_epoch_key(&c.ledger.id(), &new_a, &c.patient.id(), &lab, 2, &sealed).is_ok());

    // History verifies under the keys valid at the time of each signature.
    let report = c.ledger.verify().unwrap();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn rotation_needs_the_participant_or_an_admin_and_a_proof_of_the_new_key() {
    let c = Consortium::new();
    let new_a = c.hospital_a.rotated();
    // Another provider may not rotate A's keys.
    let m = rejected(c.ledger.rotate_keys(&c.hospital_b, &new_a));
    assert!(m.contains("Unauthorised"), "{m}");
    // A proof by a key other than the new one is refused.
    let stranger = Keypair::generate();
    let public = new_a.public();
    let proof = stranger
        .signing_key()
        .sign(&ParticipantUpdate::rotation_message(
            &c.ledger.id(),
            &new_a.id(),
            &public.sign,
            &public.enc,
        ));
    let tx = Tx {
        kind: TxKind::UpdateParticipant,
        author: c.hospital_a.id(),
        seq: 1,
        timestamp: c.ledger.now(),
        body: TxBody::Update(ParticipantUpdate {
            participant: new_a.id(),
            change: ParticipantChange::RotateKeys {
                sign_key: public.sign,
                enc_key: public.enc,
                proof,
            },
        }),
    };
    let bytes = tx.sign(&c.ledger.id(), c.hospital_a.signing_key()).unwrap();
    let m = rejected(c.ledger.submit(&bytes, &[]));
    assert!(m.contains("update.proof"), "{m}");
    // The same with the real proof goes through, by an admin too.
    c.ledger.rotate_keys(&c.admin, &new_a).unwrap();
    c.commit();
    assert!(c.ledger.verify().unwrap().is_ok());
    // Rotating to the current key is refused.
    let m = rejected(c.ledger.rotate_keys(&new_a, &new_a));
    assert!(m.contains("current"), "{m}");
}

#[test]
fn a_rotated_keypair_exports_and_imports_with_its_id() {
    let kp = Keypair::generate().rotated();
    let params = KdfParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };
    let file = kp.export_encrypted_with(b"pass", params).unwrap();
    let back = Keypair::import_encrypted(&file, b"pass").unwrap();
    assert_eq!(back.id(), kp.id());
    assert_eq!(back.public(), kp.public());
    assert_ne!(
        medledger::ParticipantId::from_public_key(&back.public().sign),
        back.id()
    );
}
