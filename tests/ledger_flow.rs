//! End-to-end behaviour of the ledger API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::Consortium;
use medledger::{DenyReason, Error, Ledger, NewRecord, Purpose, Store};

#[test]
fn append_read_amend_verify_reopen() {
    let c = Consortium::new();
    let id = c
        .ledger
        .append_record(
            &c.hospital_a,
            c.record("lab", b"{\"resourceType\":\"Observation\"}"),
        )
        .unwrap();
    // Not readable before it is committed.
    assert!(matches!(
        c.ledger.read_record(&c.patient, &id, Purpose::Treat),
        Err(Error::NotFound(_))
    ));
    c.commit();
    let r = c
        .ledger
        .read_record(&c.patient, &id, Purpose::Treat)
        .unwrap();
    assert_eq!(&*r.plaintext, b"{\"resourceType\":\"Observation\"}");
    assert_eq!(r.info.author, c.hospital_a.id());
    let r = c
        .ledger
        .read_record(&c.hospital_a, &id, Purpose::Treat)
        .unwrap();
    assert_eq!(r.info.header.version, 1);
    // Debug never prints the plaintext.
    assert!(!format!("{r:?}").contains("Observation"));

    // A clinic without consent and another patient are refused, saying why.
    let clinic = medledger::Keypair::generate();
    c.ledger
        .register(
            &c.admin,
            clinic.participant(medledger::Roles::PROVIDER, "clinic"),
        )
        .unwrap();
    c.commit();
    for reader in [&clinic, &c.other_patient] {
        assert!(matches!(
            c.ledger.read_record(reader, &id, Purpose::Treat),
            Err(Error::AccessDenied {
                reason: DenyReason::NoConsent,
                ..
            })
        ));
    }

    // Amend: new version, old one kept.
    let v2 = c
        .ledger
        .amend_record(&c.hospital_a, &id, "application/fhir+json", b"corrected")
        .unwrap();
    c.commit();
    assert_eq!(
        &*c.ledger
            .read_record(&c.patient, &v2, Purpose::Treat)
            .unwrap()
            .plaintext,
        b"corrected"
    );
    assert_eq!(
        &*c.ledger
            .read_record(&c.patient, &id, Purpose::Treat)
            .unwrap()
            .plaintext,
        b"{\"resourceType\":\"Observation\"}"
    );
    assert_eq!(c.ledger.versions(&id).unwrap(), vec![id, v2]);
    assert_eq!(c.ledger.record_info(&v2).unwrap().header.version, 2);
    assert_eq!(c.ledger.record_info(&id).unwrap().superseded_by, Some(v2));
    // Amending an old version or someone else's record is refused.
    assert!(matches!(
        c.ledger
            .amend_record(&c.hospital_a, &id, "text/plain", b"x"),
        Err(Error::Rejected(_))
    ));
    assert!(
        c.ledger
            .amend_record(&c.hospital_b, &v2, "text/plain", b"x")
            .is_err()
    );

    // Batch import.
    let payloads: Vec<Vec<u8>> = (0..200)
        .map(|i| format!("result {i}").into_bytes())
        .collect();
    let recs: Vec<NewRecord> = payloads.iter().map(|p| c.record("lab", p)).collect();
    let ids = c.ledger.append_batch(&c.hospital_a, &recs).unwrap();
    c.commit();
    assert_eq!(ids.len(), 200);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            &*c.ledger
                .read_record(&c.patient, id, Purpose::Treat)
                .unwrap()
                .plaintext,
            payloads[i].as_slice()
        );
    }

    let report = c.ledger.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 202);
    assert_eq!(report.payloads, 202);
    assert_eq!(report.blocks, c.ledger.head().unwrap().height + 1);

    // Reopen from the same store: same head, records readable.
    let head = c.ledger.head().unwrap();
    let reopened = Ledger::open(Box::new(c.store.clone())).unwrap();
    common::attach(&reopened);
    assert_eq!(reopened.head().unwrap(), head);
    assert_eq!(reopened.id(), c.ledger.id());
    assert_eq!(
        &*reopened
            .read_record(&c.patient, &ids[7], Purpose::Treat)
            .unwrap()
            .plaintext,
        b"result 7"
    );
}

#[test]
fn consented_providers_share_one_epoch_and_others_cannot_write() {
    let c = Consortium::new();
    let a = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"a"))
        .unwrap();
    // B holds a treating consent: A opened the lab epoch sealed to B too,
    // so B writes under the same epoch without any new share.
    let b = c
        .ledger
        .append_record(&c.hospital_b, c.record("lab", b"b"))
        .unwrap();
    c.commit();
    let (ea, eb) = (
        c.ledger.record_info(&a).unwrap().header.key_epoch,
        c.ledger.record_info(&b).unwrap().header.key_epoch,
    );
    assert_eq!((ea, eb), (1, 1));
    assert_eq!(
        &*c.ledger
            .read_record(&c.hospital_a, &b, Purpose::Treat)
            .unwrap()
            .plaintext,
        b"b"
    );
    // A provider without an append consent cannot write for the patient.
    let clinic = medledger::Keypair::generate();
    c.ledger
        .register(
            &c.admin,
            clinic.participant(medledger::Roles::PROVIDER, "clinic"),
        )
        .unwrap();
    let err = c
        .ledger
        .append_record(&clinic, c.record("lab", b"c"))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Rejected(m) if m.contains("may not")),
        "{err}"
    );
}

#[test]
fn commit_needs_quorum_and_failed_commit_keeps_pending() {
    let c = Consortium::new();
    c.ledger
        .append_record(&c.hospital_a, c.record("lab", b"a"))
        .unwrap();
    let err = c.ledger.commit_block(&[&c.validators[1]]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MissingQuorum {
                have: 1,
                need: 2,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(c.ledger.pending_count().unwrap(), 1);
    // Non-validators cannot seal.
    assert!(matches!(
        c.ledger.commit_block(&[&c.hospital_a, &c.validators[0]]),
        Err(Error::Denied(_))
    ));
    c.commit();
    assert_eq!(c.ledger.pending_count().unwrap(), 0);
    assert!(c.ledger.verify().unwrap().is_ok());
}

#[test]
fn unregistered_and_unauthorised_authors_are_rejected() {
    let c = Consortium::new();
    let stranger = medledger::Keypair::generate();
    assert!(matches!(
        c.ledger.append_record(&stranger, c.record("lab", b"x")),
        Err(Error::Rejected(_))
    ));
    // A provider cannot register participants.
    assert!(matches!(
        c.ledger.register(
            &c.hospital_a,
            stranger.participant(medledger::Roles::PROVIDER, "x")
        ),
        Err(Error::Rejected(_))
    ));
    // A patient cannot write records for another patient.
    let rec = NewRecord {
        patient: c.other_patient.id(),
        category: "note",
        content_type: "text/plain",
        payload: b"x",
    };
    assert!(matches!(
        c.ledger.append_record(&c.patient, rec),
        Err(Error::Rejected(_))
    ));
    // Replaying an accepted transaction is refused.
    assert_eq!(c.store.block_count().unwrap(), 2);
}

#[test]
fn one_author_on_many_threads_never_races_for_a_sequence_number() {
    let c = std::sync::Arc::new(Consortium::new());
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let c = std::sync::Arc::clone(&c);
            std::thread::spawn(move || {
                for i in 0..25 {
                    let body = format!("thread {t} record {i}");
                    c.ledger
                        .append_record(&c.hospital_a, c.record("lab", body.as_bytes()))
                        .unwrap();
                    if i % 10 == 0 {
                        c.commit();
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    c.commit();
    let report = c.ledger.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 100);
}
