//! Access-control scenarios: consents (grant, revoke, expiry, purpose,
//! record scope), guardians, break-glass, erasure, append rights, and the
//! verifier replaying the access rules over hand-crafted blocks.
//!
//! Every denial asserts the exact `DenyReason`; the cryptographic claims
//! (a revoked reader cannot decrypt later records) are checked on the raw
//! chain and vault bytes, not through the API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{Consortium, YEAR_MS, chain_state, treating};
use medledger::access::envelope::{RecordDraft, open_epoch_key, open_record, seal_record};
use medledger::crypto::aead::AeadKey;
use medledger::crypto::hash::Digest;
use medledger::log::block::{Block, BlockHeader};
use medledger::log::merkle::MerkleLog;
use medledger::log::state::{AccessEntry, ChainState};
use medledger::model::tx::{DEFAULT_MAX_BREAK_GLASS_MS, GrantBody, RecordsBody};
use medledger::model::{AccessEvent, Tx, TxBody, TxKind};
use medledger::{
    Actions, Basis, Category, Consent, ConsentId, Decision, DenyReason, Error, FaultKind, Keypair,
    Ledger, ParticipantId, Purpose, Purposes, RecordId, Report, Roles, Scope, Store, now_ms,
};

const MIN: u64 = 60 * 1000;
const HOUR: u64 = 60 * MIN;

/// Deterministic keys; seeds 1..=8 are the consortium's, these start at 20.
fn kp(n: u8) -> Keypair {
    Keypair::from_seeds(&[n; 32], &[n.wrapping_add(100); 32])
}

fn register(c: &Consortium, k: &Keypair, roles: Roles, label: &str) {
    c.ledger
        .register(&c.admin, k.participant(roles, label))
        .unwrap();
}

fn lab() -> Category {
    Category::new("lab").unwrap()
}

fn categories(list: &[&str]) -> Scope {
    Scope {
        categories: list.iter().map(|c| Category::new(c).unwrap()).collect(),
        ..Scope::default()
    }
}

fn consent(
    patient: ParticipantId,
    grantee: ParticipantId,
    actions: Actions,
    purposes: &[Purpose],
    scope: Scope,
    not_before: u64,
    not_after: u64,
) -> Consent {
    Consent {
        patient,
        grantee,
        actions,
        purposes: Purposes::of(purposes),
        scope,
        not_before,
        not_after,
    }
}

/// The reason of an `AccessDenied` result; panics on anything else.
fn denied<T: Debug>(r: medledger::Result<T>) -> DenyReason {
    match r {
        Err(Error::AccessDenied { reason, .. }) => reason,
        other => panic!("expected AccessDenied, got {other:?}"),
    }
}

/// The message of a `Rejected` result; panics on anything else.
fn rejected<T: Debug>(r: medledger::Result<T>) -> String {
    match r {
        Err(Error::Rejected(m)) => m,
        other => panic!("expected Rejected, got {other:?}"),
    }
}

/// The committed access-log entries of `reader` on `record`, oldest first.
fn entries(c: &Consortium, reader: &ParticipantId, record: &RecordId) -> Vec<AccessEntry> {
    let p = c.patient.id();
    c.ledger
        .access_log(&p, &p)
        .unwrap()
        .into_iter()
        .filter(|e| e.reader == *reader && e.record == *record)
        .collect()
}

fn decisions(c: &Consortium, reader: &ParticipantId, record: &RecordId) -> Vec<Decision> {
    entries(c, reader, record)
        .into_iter()
        .map(|e| e.decision)
        .collect()
}

/// A consortium whose ledger runs on a manual clock starting now.
fn clocked() -> (Consortium, Arc<AtomicU64>) {
    let Consortium {
        admin,
        validators,
        hospital_a,
        hospital_b,
        patient,
        other_patient,
        store,
        ledger,
    } = Consortium::new();
    let clock = Arc::new(AtomicU64::new(now_ms()));
    let k = Arc::clone(&clock);
    let ledger = ledger.with_clock(move || k.load(Ordering::SeqCst));
    (
        Consortium {
            admin,
            validators,
            hospital_a,
            hospital_b,
            patient,
            other_patient,
            store,
            ledger,
        },
        clock,
    )
}

fn verify(c: &Consortium) -> Report {
    c.ledger.verify().unwrap()
}

// ---- 1. grant, read, revoke; revocation holds at the crypto level --------

#[test]
fn revoked_grantee_is_denied_and_cannot_decrypt_later_records_from_raw_bytes() {
    let c = Consortium::new();
    let clinic = kp(20);
    register(&c, &clinic, Roles::PROVIDER, "clinic");
    let before = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"potassium 4.1"))
        .unwrap();
    c.commit();
    let now = c.ledger.now();
    let id = c
        .ledger
        .grant(
            &c.patient,
            &consent(
                c.patient.id(),
                clinic.id(),
                Actions::READ,
                &[Purpose::Treat],
                categories(&["lab"]),
                now - 1000,
                now + YEAR_MS,
            ),
        )
        .unwrap();
    c.commit();

    let rec = c
        .ledger
        .read_record(&clinic, &before, Purpose::Treat)
        .unwrap();
    assert_eq!(&rec.plaintext[..], b"potassium 4.1");
    let log = entries(&c, &clinic.id(), &before);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].purpose, Purpose::Treat);
    assert_eq!(log[0].decision, Decision::Permit(Basis::Consent(id)));
    assert_eq!(log[0].category, lab());

    c.ledger.revoke(&c.patient, &id).unwrap();
    c.commit();
    assert_eq!(
        denied(c.ledger.read_record(&clinic, &before, Purpose::Treat)),
        DenyReason::Revoked
    );
    // The denied attempt is committed with the next block.
    c.commit();
    assert_eq!(
        decisions(&c, &clinic.id(), &before),
        [
            Decision::Permit(Basis::Consent(id)),
            Decision::Deny(DenyReason::Revoked)
        ]
    );
    let cs = c.ledger.consents(&c.patient.id(), &c.patient.id()).unwrap();
    let st = cs.iter().find(|s| s.id == id).unwrap();
    assert!(st.revoked_at.is_some());

    let after = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"potassium 6.3 (repeat)"))
        .unwrap();
    c.commit();
    assert_eq!(
        denied(c.ledger.read_record(&clinic, &after, Purpose::Treat)),
        DenyReason::Revoked
    );
    // Still readable by a party whose consent stands.
    assert_eq!(
        &c.ledger
            .read_record(&c.hospital_b, &after, Purpose::Treat)
            .unwrap()
            .plaintext[..],
        b"potassium 6.3 (repeat)"
    );

    // Raw chain and vault: what the revoked clinic could do on its own.
    let state = chain_state(&c.store);
    let ledger = c.ledger.id();
    let p = c.patient.id();
    let old_h = state.records[&before].header.clone();
    let new_h = state.records[&after].header.clone();
    assert!(
        new_h.key_epoch > old_h.key_epoch,
        "revocation opened no epoch"
    );
    assert_eq!(state.epochs[&(p, lab())], new_h.key_epoch);
    assert!(
        !state
            .wraps
            .contains_key(&(p, lab(), new_h.key_epoch, clinic.id()))
    );
    assert!(!state.epoch_recipients[&(p, lab())].contains(&clinic.id()));
    // Every wrap sealed to the clinic is of an older epoch.
    let clinic_epochs: Vec<u32> = state
        .wraps
        .keys()
        .filter(|(_, _, _, r)| *r == clinic.id())
        .map(|(_, _, e, _)| *e)
        .collect();
    assert!(!clinic_epochs.is_empty());
    assert!(clinic_epochs.iter().all(|e| *e < new_h.key_epoch));

    // Fresh keypair: the same keys without the reader's epoch-key cache.
    let raw_clinic = kp(20);
    let old_wrap = state.wraps[&(p, lab(), old_h.key_epoch, clinic.id())].sealed;
    let old_key =
        open_epoch_key(&ledger, &raw_clinic, &p, &lab(), old_h.key_epoch, &old_wrap).unwrap();
    let old_ct = c
        .store
        .get_payload(&old_h.ciphertext_digest)
        .unwrap()
        .unwrap();
    let new_ct = c
        .store
        .get_payload(&new_h.ciphertext_digest)
        .unwrap()
        .unwrap();
    // Control: the old key does open the record it was given for...
    assert_eq!(
        &open_record(&ledger, &c.hospital_a.id(), &old_h, &old_key, &old_ct).unwrap()[..],
        b"potassium 4.1"
    );
    // ...but not the record written after the revocation.
    assert!(matches!(
        open_record(&ledger, &c.hospital_a.id(), &new_h, &old_key, &new_ct),
        Err(Error::Decrypt(_))
    ));
    // Its old wrap does not open as the new epoch's key either.
    assert!(open_epoch_key(&ledger, &kp(20), &p, &lab(), new_h.key_epoch, &old_wrap).is_err());
    // Control: the new record is sound for a current holder.
    let pw = state.wraps[&(p, lab(), new_h.key_epoch, p)].sealed;
    let pk = open_epoch_key(&ledger, &c.patient, &p, &lab(), new_h.key_epoch, &pw).unwrap();
    assert_eq!(
        &open_record(&ledger, &c.hospital_a.id(), &new_h, &pk, &new_ct).unwrap()[..],
        b"potassium 6.3 (repeat)"
    );
    assert!(verify(&c).is_ok());
}

// ---- 2. consent periods --------------------------------------------------

#[test]
fn consent_period_expiry_and_not_yet_valid_on_a_manual_clock() {
    let (c, clock) = clocked();
    let t0 = clock.load(Ordering::SeqCst);
    let clinic = kp(21);
    let later = kp(22);
    register(&c, &clinic, Roles::PROVIDER, "clinic");
    register(&c, &later, Roles::PROVIDER, "rehab centre");
    let r = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"INR 2.4"))
        .unwrap();
    c.commit();
    let id = c
        .ledger
        .grant(
            &c.patient,
            &consent(
                c.patient.id(),
                clinic.id(),
                Actions::READ,
                &[Purpose::Treat],
                categories(&["lab"]),
                t0,
                t0 + HOUR,
            ),
        )
        .unwrap();
    c.commit();

    clock.store(t0 + 10 * MIN, Ordering::SeqCst);
    let rec = c.ledger.read_record(&clinic, &r, Purpose::Treat).unwrap();
    assert_eq!(&rec.plaintext[..], b"INR 2.4");

    clock.store(t0 + 2 * HOUR, Ordering::SeqCst);
    assert_eq!(
        denied(c.ledger.read_record(&clinic, &r, Purpose::Treat)),
        DenyReason::Expired
    );
    c.commit();
    let log = entries(&c, &clinic.id(), &r);
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[0].decision, log[0].time),
        (Decision::Permit(Basis::Consent(id)), t0 + 10 * MIN)
    );
    assert_eq!(
        (log[1].decision, log[1].time),
        (Decision::Deny(DenyReason::Expired), t0 + 2 * HOUR)
    );

    // A consent that starts in the future.
    let future = c
        .ledger
        .grant(
            &c.patient,
            &consent(
                c.patient.id(),
                later.id(),
                Actions::READ,
                &[Purpose::Treat],
                categories(&["lab"]),
                t0 + 3 * HOUR,
                t0 + 4 * HOUR,
            ),
        )
        .unwrap();
    c.commit();
    assert_eq!(
        denied(c.ledger.read_record(&later, &r, Purpose::Treat)),
        DenyReason::NotYetValid
    );
    // Once in force, it permits (a record of the epoch the grant shared).
    clock.store(t0 + 3 * HOUR + MIN, Ordering::SeqCst);
    let fresh = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"INR 2.9"))
        .unwrap();
    c.commit();
    let rec = c
        .ledger
        .read_record(&later, &fresh, Purpose::Treat)
        .unwrap();
    assert_eq!(&rec.plaintext[..], b"INR 2.9");
    assert_eq!(
        decisions(&c, &later.id(), &fresh),
        [Decision::Permit(Basis::Consent(future))]
    );
    // The expired clinic was left out of the epoch opened after expiry.
    assert_eq!(
        denied(c.ledger.read_record(&clinic, &fresh, Purpose::Treat)),
        DenyReason::Expired
    );
    let state = chain_state(&c.store);
    let e = state.records[&fresh].header.key_epoch;
    assert!(
        !state
            .wraps
            .contains_key(&(c.patient.id(), lab(), e, clinic.id()))
    );
    c.commit();
    assert!(verify(&c).is_ok());
}

/// A consent granted after a category's epoch rotated covers the whole
/// category, but the grantee only ever receives the *current* epoch key:
/// records written under earlier epochs are permitted by the rules yet
/// undecryptable, and `share_keys` (which the error recommends) cannot fix
/// it because it only shares current epochs.
#[test]
fn consent_granted_after_a_rotation_reads_earlier_records() {
    let c = Consortium::new();
    let first = kp(23);
    let second = kp(24);
    register(&c, &first, Roles::PROVIDER, "first clinic");
    register(&c, &second, Roles::PROVIDER, "second clinic");
    let history = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"creatinine 80"))
        .unwrap();
    c.commit();
    let now = c.ledger.now();
    let grant = |to: &Keypair| {
        c.ledger
            .grant(
                &c.patient,
                &consent(
                    c.patient.id(),
                    to.id(),
                    Actions::READ,
                    &[Purpose::Treat],
                    categories(&["lab"]),
                    now - 1000,
                    now + YEAR_MS,
                ),
            )
            .unwrap()
    };
    let id = grant(&first);
    c.commit();
    c.ledger.revoke(&c.patient, &id).unwrap();
    c.commit();
    grant(&second);
    c.commit();
    // The patient "shares keys" as the error message advises.
    let _ = c.ledger.share_keys(&c.patient, &c.patient.id()).unwrap();
    c.commit();
    let rec = c
        .ledger
        .read_record(&second, &history, Purpose::Treat)
        .unwrap();
    assert_eq!(&rec.plaintext[..], b"creatinine 80");
}

// ---- 3. purpose, no consent, suspension, erasure -------------------------

#[test]
fn wrong_purpose_no_consent_suspended_and_erased_are_denied_and_logged() {
    let c = Consortium::new();
    let stranger = kp(25);
    register(&c, &stranger, Roles::PROVIDER, "unrelated practice");
    let r = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"TSH 2.0"))
        .unwrap();
    let own_b = c
        .ledger
        .append_record(&c.hospital_b, c.record("imaging", b"knee MRI"))
        .unwrap();
    c.commit();

    // B's consent is for treatment only.
    assert_eq!(
        denied(c.ledger.read_record(&c.hospital_b, &r, Purpose::Payment)),
        DenyReason::WrongPurpose
    );
    c.ledger
        .read_record(&c.hospital_b, &r, Purpose::Treat)
        .unwrap();
    assert_eq!(
        denied(c.ledger.read_record(&stranger, &r, Purpose::Treat)),
        DenyReason::NoConsent
    );
    // An emergency purpose without a declaration is no consent either.
    assert_eq!(
        denied(c.ledger.read_record(&stranger, &r, Purpose::EmergencyTreat)),
        DenyReason::NoConsent
    );

    c.ledger.suspend(&c.admin, &c.hospital_b.id()).unwrap();
    c.commit();
    assert_eq!(
        denied(c.ledger.read_record(&c.hospital_b, &r, Purpose::Treat)),
        DenyReason::Suspended
    );
    // Even its own record.
    assert_eq!(
        denied(c.ledger.read_record(&c.hospital_b, &own_b, Purpose::Treat)),
        DenyReason::Suspended
    );
    c.ledger.reinstate(&c.admin, &c.hospital_b.id()).unwrap();
    c.commit();
    c.ledger
        .read_record(&c.hospital_b, &own_b, Purpose::Treat)
        .unwrap();

    let receipts = c.ledger.erase(&c.patient, &[r]).unwrap();
    assert_eq!(receipts.len(), 1);
    assert_eq!(
        denied(c.ledger.read_record(&c.hospital_a, &r, Purpose::Treat)),
        DenyReason::Erased
    );
    assert_eq!(
        denied(
            c.ledger
                .read_record(&c.patient, &r, Purpose::PatientRequest)
        ),
        DenyReason::Erased
    );
    c.commit();

    let b_consent = c
        .ledger
        .consents(&c.patient.id(), &c.patient.id())
        .unwrap()
        .into_iter()
        .find(|s| s.consent.grantee == c.hospital_b.id())
        .unwrap()
        .id;
    assert_eq!(
        decisions(&c, &c.hospital_b.id(), &r),
        [
            Decision::Deny(DenyReason::WrongPurpose),
            Decision::Permit(Basis::Consent(b_consent)),
            Decision::Deny(DenyReason::Suspended),
        ]
    );
    let stranger_log = entries(&c, &stranger.id(), &r);
    assert_eq!(
        stranger_log
            .iter()
            .map(|e| (e.purpose, e.decision))
            .collect::<Vec<_>>(),
        [
            (Purpose::Treat, Decision::Deny(DenyReason::NoConsent)),
            (
                Purpose::EmergencyTreat,
                Decision::Deny(DenyReason::NoConsent)
            ),
        ]
    );
    assert_eq!(
        decisions(&c, &c.hospital_b.id(), &own_b),
        [
            Decision::Deny(DenyReason::Suspended),
            Decision::Permit(Basis::Author)
        ]
    );
    assert_eq!(
        decisions(&c, &c.hospital_a.id(), &r),
        [Decision::Deny(DenyReason::Erased)]
    );
    assert_eq!(
        decisions(&c, &c.patient.id(), &r),
        [Decision::Deny(DenyReason::Erased)]
    );
    // The verifier recomputes every recorded decision and agrees.
    assert!(verify(&c).is_ok());
}

// ---- 4. record-level consent ---------------------------------------------

#[test]
fn record_level_consent_reads_only_that_record() {
    let c = Consortium::new();
    let insurer = kp(26);
    register(&c, &insurer, Roles::PROVIDER, "second opinion");
    let one = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"biopsy: benign"))
        .unwrap();
    let other = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"lipids: high"))
        .unwrap();
    c.commit();
    let now = c.ledger.now();
    let scope = Scope {
        records: vec![one],
        ..Scope::default()
    };
    // Record-level scope is read-only.
    let too_much = consent(
        c.patient.id(),
        insurer.id(),
        Actions::ALL,
        &[Purpose::Treat],
        scope.clone(),
        now - 1000,
        now + HOUR,
    );
    assert!(matches!(
        c.ledger.grant(&c.patient, &too_much),
        Err(Error::Invalid { .. })
    ));
    let id = c
        .ledger
        .grant(
            &c.patient,
            &consent(
                c.patient.id(),
                insurer.id(),
                Actions::READ,
                &[Purpose::Treat],
                scope,
                now - 1000,
                now + HOUR,
            ),
        )
        .unwrap();
    c.commit();

    let rec = c
        .ledger
        .read_record(&insurer, &one, Purpose::Treat)
        .unwrap();
    assert_eq!(&rec.plaintext[..], b"biopsy: benign");
    assert_eq!(
        denied(c.ledger.read_record(&insurer, &other, Purpose::Treat)),
        DenyReason::NoConsent
    );
    assert_eq!(
        denied(c.ledger.read_record(&insurer, &one, Purpose::Research)),
        DenyReason::WrongPurpose
    );
    c.commit();
    assert_eq!(
        decisions(&c, &insurer.id(), &one),
        [
            Decision::Permit(Basis::Consent(id)),
            Decision::Deny(DenyReason::WrongPurpose)
        ]
    );
    assert_eq!(
        decisions(&c, &insurer.id(), &other),
        [Decision::Deny(DenyReason::NoConsent)]
    );

    // On the chain: the grantee holds that record's data key and no
    // category key at all.
    let state = chain_state(&c.store);
    assert!(state.wraps.keys().all(|(_, _, _, r)| *r != insurer.id()));
    let mine: Vec<RecordId> = state
        .record_keys
        .keys()
        .filter(|(_, r)| *r == insurer.id())
        .map(|(rec, _)| *rec)
        .collect();
    assert_eq!(mine, [one]);
    assert!(verify(&c).is_ok());
}

// ---- 5. guardians --------------------------------------------------------

#[test]
fn guardian_reads_grants_for_the_patient_and_loses_access_when_removed() {
    let c = Consortium::new();
    let guardian = kp(27);
    let clinic = kp(28);
    register(&c, &guardian, Roles::GUARDIAN, "parent app");
    register(&c, &clinic, Roles::PROVIDER, "paediatric clinic");
    let r = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"ferritin 30"))
        .unwrap();
    c.commit();
    // Only a registered guardian may be appointed.
    assert!(
        rejected(
            c.ledger
                .add_guardian(&c.admin, &c.patient.id(), &clinic.id())
        )
        .contains("guardian")
    );
    c.ledger
        .add_guardian(&c.admin, &c.patient.id(), &guardian.id())
        .unwrap();
    c.commit();
    // Appointed but holding no key yet: permitted, nothing to decrypt with.
    assert!(matches!(
        c.ledger.read_record(&guardian, &r, Purpose::Treat),
        Err(Error::Denied(_))
    ));
    assert_eq!(c.ledger.share_keys(&c.patient, &c.patient.id()).unwrap(), 1);
    c.commit();
    // Nothing left to share.
    assert_eq!(c.ledger.share_keys(&c.patient, &c.patient.id()).unwrap(), 0);

    let rec = c.ledger.read_record(&guardian, &r, Purpose::Treat).unwrap();
    assert_eq!(&rec.plaintext[..], b"ferritin 30");
    // A guardian may see the patient's access log.
    assert_eq!(
        c.ledger
            .access_log(&guardian.id(), &c.patient.id())
            .unwrap()
            .into_iter()
            .filter(|e| e.reader == guardian.id())
            .map(|e| e.decision)
            .collect::<Vec<_>>(),
        [Decision::Permit(Basis::Guardian)]
    );

    let now = c.ledger.now();
    let id = c
        .ledger
        .grant(
            &guardian,
            &consent(
                c.patient.id(),
                clinic.id(),
                Actions::READ,
                &[Purpose::Treat],
                categories(&["lab"]),
                now - 1000,
                now + YEAR_MS,
            ),
        )
        .unwrap();
    c.commit();
    let cs = c.ledger.consents(&guardian.id(), &c.patient.id()).unwrap();
    let st = cs.iter().find(|s| s.id == id).unwrap();
    assert_eq!(st.granted_by, guardian.id());
    let rec = c.ledger.read_record(&clinic, &r, Purpose::Treat).unwrap();
    assert_eq!(&rec.plaintext[..], b"ferritin 30");
    assert_eq!(
        decisions(&c, &clinic.id(), &r),
        [Decision::Permit(Basis::Consent(id))]
    );

    // The patient removes the guardian.
    c.ledger
        .remove_guardian(&c.patient, &c.patient.id(), &guardian.id())
        .unwrap();
    c.commit();
    assert_eq!(
        denied(c.ledger.read_record(&guardian, &r, Purpose::Treat)),
        DenyReason::NoConsent
    );
    c.commit();
    assert_eq!(
        decisions(&c, &guardian.id(), &r),
        [
            Decision::Permit(Basis::Guardian),
            Decision::Deny(DenyReason::NoConsent)
        ]
    );
    assert!(matches!(
        c.ledger.access_log(&guardian.id(), &c.patient.id()),
        Err(Error::Denied(_))
    ));
    let again = consent(
        c.patient.id(),
        guardian.id(),
        Actions::READ,
        &[Purpose::Treat],
        categories(&["lab"]),
        now - 1000,
        now + YEAR_MS,
    );
    let msg = rejected(c.ledger.grant(&guardian, &again));
    assert!(msg.contains("Unauthorised"), "{msg}");
    // Its key epoch is stale: the next record opens one without it.
    let next = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"ferritin 45"))
        .unwrap();
    c.commit();
    let state = chain_state(&c.store);
    let e = state.records[&next].header.key_epoch;
    assert!(e > state.records[&r].header.key_epoch);
    assert!(
        !state
            .wraps
            .contains_key(&(c.patient.id(), lab(), e, guardian.id()))
    );
    assert!(verify(&c).is_ok());
}

// ---- 6. break-glass ------------------------------------------------------

#[test]
fn break_glass_reads_are_escrowed_windowed_flagged_and_refused_on_opt_out() {
    let (c, clock) = clocked();
    let t0 = clock.load(Ordering::SeqCst);
    let custodian = kp(29);
    let auditor = kp(30);
    let er = kp(31);
    let private = kp(32);
    register(&c, &custodian, Roles::CUSTODIAN, "hospital escrow");
    register(&c, &auditor, Roles::AUDITOR, "privacy office");
    register(&c, &er, Roles::PROVIDER, "emergency department");
    let mut opted_out = private.participant(Roles::PATIENT, "patient app 3");
    opted_out.escrow_opt_out = true;
    c.ledger.register(&c.admin, opted_out).unwrap();
    c.commit();
    c.ledger.attach_custodian(Arc::new(kp(29))).unwrap();
    // Only a registered custodian can be attached.
    assert!(c.ledger.attach_custodian(Arc::new(kp(31))).is_err());

    let r = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"blood group O neg"))
        .unwrap();
    c.ledger
        .grant(&private, &treating(private.id(), c.hospital_a.id(), t0))
        .unwrap();
    let pr = c
        .ledger
        .append_record(
            &c.hospital_a,
            medledger::NewRecord {
                patient: private.id(),
                category: "lab",
                content_type: "application/fhir+json",
                payload: b"HIV negative",
            },
        )
        .unwrap();
    c.commit();

    // Escrow on the chain: the custodian holds the patient's key, not the
    // opted-out patient's.
    let state = chain_state(&c.store);
    let e = state.records[&r].header.key_epoch;
    assert!(
        state
            .wraps
            .contains_key(&(c.patient.id(), lab(), e, custodian.id()))
    );
    let pe = state.records[&pr].header.key_epoch;
    assert!(
        !state
            .wraps
            .contains_key(&(private.id(), lab(), pe, custodian.id()))
    );
    assert_eq!(
        state.epoch_recipients[&(private.id(), lab())]
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        {
            let mut v = vec![private.id(), c.hospital_a.id()];
            v.sort();
            v
        }
    );

    assert_eq!(
        denied(c.ledger.read_record(&er, &r, Purpose::EmergencyTreat)),
        DenyReason::NoConsent
    );
    let bg = c
        .ledger
        .break_glass(
            &er,
            &c.patient.id(),
            Purpose::EmergencyTreat,
            "unconscious in ED",
            15 * MIN,
        )
        .unwrap();
    c.commit();
    clock.store(t0 + MIN, Ordering::SeqCst);
    let rec = c
        .ledger
        .read_record(&er, &r, Purpose::EmergencyTreat)
        .unwrap();
    assert_eq!(&rec.plaintext[..], b"blood group O neg");
    // Emergency access is for the declared purpose only.
    assert_eq!(
        denied(c.ledger.read_record(&er, &r, Purpose::Treat)),
        DenyReason::NoConsent
    );
    assert_eq!(
        denied(c.ledger.read_record(&er, &r, Purpose::BreakTheGlass)),
        DenyReason::NoConsent
    );
    // After the window.
    clock.store(t0 + 16 * MIN, Ordering::SeqCst);
    assert_eq!(
        denied(c.ledger.read_record(&er, &r, Purpose::EmergencyTreat)),
        DenyReason::NoConsent
    );
    c.commit();

    let flagged = |who: &ParticipantId| -> Vec<(ParticipantId, RecordId, Purpose, Decision)> {
        c.ledger
            .break_glass_reviews(who)
            .unwrap()
            .into_iter()
            .map(|e| (e.reader, e.record, e.purpose, e.decision))
            .collect()
    };
    let expected = vec![(
        er.id(),
        r,
        Purpose::EmergencyTreat,
        Decision::Permit(Basis::BreakGlass(bg)),
    )];
    assert_eq!(flagged(&c.admin.id()), expected);
    assert_eq!(flagged(&auditor.id()), expected);
    assert!(matches!(
        c.ledger.break_glass_reviews(&c.hospital_a.id()),
        Err(Error::Denied(_))
    ));
    assert_eq!(
        decisions(&c, &er.id(), &r),
        [
            Decision::Deny(DenyReason::NoConsent),
            Decision::Permit(Basis::BreakGlass(bg)),
            Decision::Deny(DenyReason::NoConsent),
            Decision::Deny(DenyReason::NoConsent),
            Decision::Deny(DenyReason::NoConsent),
        ]
    );

    // The opted-out patient cannot be broken into.
    let msg = rejected(c.ledger.break_glass(
        &er,
        &private.id(),
        Purpose::EmergencyTreat,
        "unconscious in ED",
        15 * MIN,
    ));
    assert!(msg.contains("opted out"), "{msg}");
    assert!(msg.contains("Unauthorised"), "{msg}");
    // Window longer than the consortium maximum.
    let msg = rejected(c.ledger.break_glass(
        &er,
        &c.patient.id(),
        Purpose::EmergencyTreat,
        "unconscious in ED",
        DEFAULT_MAX_BREAK_GLASS_MS + 1,
    ));
    assert!(msg.contains("exceeds"), "{msg}");
    c.ledger
        .break_glass(
            &er,
            &c.patient.id(),
            Purpose::BreakTheGlass,
            "unconscious in ED",
            DEFAULT_MAX_BREAK_GLASS_MS,
        )
        .unwrap();
    // Not an emergency purpose.
    assert!(matches!(
        c.ledger
            .break_glass(&er, &c.patient.id(), Purpose::Treat, "routine", 15 * MIN),
        Err(Error::Invalid { .. })
    ));
    c.commit();
    assert!(verify(&c).is_ok());
}

// ---- 7. erasure ----------------------------------------------------------

#[test]
fn erasure_receipt_verifies_payload_is_gone_and_other_payloads_still_count() {
    let c = Consortium::new();
    let gone = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"pregnancy test"))
        .unwrap();
    let kept = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"vitamin D"))
        .unwrap();
    c.commit();
    let gone_digest = c
        .ledger
        .record_info(&gone)
        .unwrap()
        .header
        .ciphertext_digest;
    assert!(c.store.get_payload(&gone_digest).unwrap().is_some());

    let receipts = c.ledger.erase(&c.patient, &[gone]).unwrap();
    assert_eq!(receipts.len(), 1);
    let receipt = &receipts[0];
    assert_eq!(receipt.record, gone);
    assert_eq!(receipt.ciphertext_digest, gone_digest);
    assert_eq!(receipt.ledger, c.ledger.id());
    let set = c.ledger.validators().unwrap();
    receipt.verify(&set).unwrap();
    let mut forged = receipt.clone();
    forged.signature.0[17] ^= 0x01;
    assert!(forged.verify(&set).is_err());
    let mut moved = receipt.clone();
    moved.record = kept;
    assert!(moved.verify(&set).is_err());

    assert!(c.store.get_payload(&gone_digest).unwrap().is_none());
    assert!(c.ledger.record_info(&gone).unwrap().erased);
    assert_eq!(
        denied(
            c.ledger
                .read_record(&c.patient, &gone, Purpose::PatientRequest)
        ),
        DenyReason::Erased
    );
    // Erased records cannot be erased twice.
    assert!(c.ledger.erase(&c.patient, &[gone]).is_err());
    c.commit();

    let report = verify(&c);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.erased, 1);
    assert_eq!(report.erased_still_stored, 0);

    // A payload removed without an erase transaction is still missing.
    let info = c.ledger.record_info(&kept).unwrap();
    let block = Block::decode(&c.store.read_block(info.height).unwrap())
        .unwrap()
        .block;
    let tx_index = u32::try_from(info.leaf - block.header.first_leaf).unwrap();
    assert!(
        c.store
            .remove_payload(&info.header.ciphertext_digest)
            .is_some()
    );
    let report = verify(&c);
    let f = report.fault.as_ref().expect("missing payload not reported");
    assert_eq!(f.kind, FaultKind::PayloadMissing, "{f}");
    assert_eq!(
        (
            f.location.height,
            f.location.tx_index,
            f.location.record_index,
            f.location.field
        ),
        (
            info.height,
            Some(tx_index),
            Some(0),
            "record.ciphertext_digest"
        )
    );
}

// ---- 8. append rights ----------------------------------------------------

#[test]
fn only_the_patient_a_guardian_or_an_append_consent_may_write() {
    let c = Consortium::new();
    let reader = kp(33);
    register(&c, &reader, Roles::PROVIDER, "read-only lab");
    c.ledger
        .append_record(&c.hospital_a, c.record("lab", b"CRP 3"))
        .unwrap();
    c.commit();

    // No consent at all: the epoch key it would need to open is refused.
    let msg = rejected(
        c.ledger
            .append_record(&reader, c.record("lab", b"forged result")),
    );
    assert!(msg.contains("Unauthorised"), "{msg}");
    assert!(msg.contains("may not open an epoch"), "{msg}");
    let msg = rejected(
        c.ledger
            .append_record(&reader, c.record("allergy", b"forged allergy")),
    );
    assert!(msg.contains("Unauthorised"), "{msg}");

    // A read-only consent holds the key but grants no append.
    let now = c.ledger.now();
    c.ledger
        .grant(
            &c.patient,
            &consent(
                c.patient.id(),
                reader.id(),
                Actions::READ,
                &[Purpose::Treat],
                categories(&["lab"]),
                now - 1000,
                now + YEAR_MS,
            ),
        )
        .unwrap();
    c.commit();
    let msg = rejected(
        c.ledger
            .append_record(&reader, c.record("lab", b"forged result")),
    );
    assert!(msg.contains("Unauthorised"), "{msg}");
    assert!(msg.contains("may not write lab records"), "{msg}");
    assert!(msg.contains("append"), "{msg}");
    assert_eq!(c.ledger.pending_count().unwrap(), 0);

    // The patient writes to their own record.
    let own = c
        .ledger
        .append_record(&c.patient, c.record("lab", b"home glucose 6.0"))
        .unwrap();
    c.commit();
    assert_eq!(c.ledger.record_info(&own).unwrap().author, c.patient.id());
    c.ledger
        .read_record(&c.patient, &own, Purpose::PatientRequest)
        .unwrap();
    let rec = c
        .ledger
        .read_record(&c.hospital_b, &own, Purpose::Treat)
        .unwrap();
    assert_eq!(&rec.plaintext[..], b"home glucose 6.0");
    let rec = c.ledger.read_record(&reader, &own, Purpose::Treat).unwrap();
    assert_eq!(&rec.plaintext[..], b"home glucose 6.0");
    assert_eq!(
        decisions(&c, &c.patient.id(), &own),
        [Decision::Permit(Basis::Patient)]
    );
    assert!(verify(&c).is_ok());
}

// ---- 9. the verifier replays the access rules ------------------------------

/// Builds, seals with two real validators and stores a block over `txs`
/// (a malicious quorum): verification must still replay the rules.
fn forge_block(c: &Consortium, txs: Vec<Vec<u8>>, payloads: &[(Digest, Vec<u8>)]) -> u64 {
    let n = c.store.block_count().unwrap();
    let mut log: MerkleLog = MerkleLog::new();
    let mut prev = None;
    for h in 0..n {
        let b = Block::decode(&c.store.read_block(h).unwrap())
            .unwrap()
            .block;
        for t in &b.txs {
            log.push_leaf_data(t);
        }
        prev = Some(b.header);
    }
    let prev = prev.unwrap();
    for t in &txs {
        log.push_leaf_data(t);
    }
    let set = c.ledger.validators().unwrap();
    let header = BlockHeader {
        ledger_id: c.ledger.id(),
        height: n,
        prev_hash: prev.hash(),
        timestamp: now_ms().max(prev.timestamp + 1),
        first_leaf: prev.log_size,
        tx_count: u32::try_from(txs.len()).unwrap(),
        log_size: log.size(),
        log_root: log.root(),
        validator_set_hash: set.hash(),
    };
    let mut seals: Vec<_> = [&c.validators[0], &c.validators[1]]
        .iter()
        .map(|v| header.seal(set.index_of(&v.id()).unwrap(), v.signing_key()))
        .collect();
    seals.sort_by_key(|s| s.validator);
    let block = Block { header, seals, txs };
    c.store.append_block(&block.encode(), payloads).unwrap();
    n
}

fn next_seq(state: &ChainState, who: &ParticipantId) -> u64 {
    state.participants[who].last_seq + 1
}

fn signed(c: &Consortium, author: &Keypair, seq: u64, kind: TxKind, body: TxBody) -> Vec<u8> {
    Tx {
        kind,
        author: author.id(),
        seq,
        timestamp: now_ms(),
        body,
    }
    .sign(&c.ledger.id(), author.signing_key())
    .unwrap()
}

/// A consortium with one committed lab record by hospital A and an
/// unconsented provider; returns (consortium, record, provider).
fn forge_setup() -> (Consortium, RecordId, Keypair) {
    let c = Consortium::new();
    let outsider = kp(34);
    register(&c, &outsider, Roles::PROVIDER, "outsider");
    let r = c
        .ledger
        .append_record(&c.hospital_a, c.record("lab", b"ALT 40"))
        .unwrap();
    c.commit();
    assert!(verify(&c).is_ok());
    (c, r, outsider)
}

/// The patient reading their own record: a valid first transaction.
fn patient_reads(c: &Consortium, state: &ChainState, r: RecordId) -> Vec<u8> {
    signed(
        c,
        &c.patient,
        next_seq(state, &c.patient.id()),
        TxKind::AccessEvents,
        TxBody::Access(vec![AccessEvent {
            record: r,
            purpose: Purpose::PatientRequest,
            decision: Decision::Permit(Basis::Patient),
        }]),
    )
}

/// A record for `patient` by `author` under a random key (the verifier
/// cannot see keys), with its ciphertext.
fn crafted_append(
    c: &Consortium,
    state: &ChainState,
    author: &Keypair,
) -> (Vec<u8>, (Digest, Vec<u8>)) {
    let seq = next_seq(state, &author.id());
    let ledger = c.ledger.id();
    let draft = RecordDraft {
        id: RecordId::derive(&ledger, &author.id(), seq, 0),
        patient: c.patient.id(),
        category: lab(),
        content_type: "application/fhir+json",
        version: 1,
        amends: None,
        key_epoch: state.epochs[&(c.patient.id(), lab())],
    };
    let (header, ct) = seal_record(
        &ledger,
        &author.id(),
        draft,
        &AeadKey::generate(),
        b"forged result",
    )
    .unwrap();
    let digest = header.ciphertext_digest;
    let bytes = signed(
        c,
        author,
        seq,
        TxKind::AppendRecord,
        TxBody::Records(RecordsBody {
            shares: vec![],
            records: vec![header],
        }),
    );
    (bytes, (digest, ct))
}

fn assert_rule_fault(
    c: &Consortium,
    kind: FaultKind,
    height: u64,
    tx_index: u32,
    record_index: Option<u32>,
    field: &str,
) {
    let report = verify(c);
    let f = report
        .fault
        .as_ref()
        .unwrap_or_else(|| panic!("expected {kind:?}, verification passed"));
    assert_eq!(f.kind, kind, "{f}");
    assert_eq!(
        (
            f.location.height,
            f.location.tx_index,
            f.location.record_index,
            f.location.field
        ),
        (height, Some(tx_index), record_index, field),
        "{f}"
    );
    match Ledger::open(Box::new(c.store.clone())) {
        Err(Error::Corrupt(g)) => assert_eq!(*g, *f),
        other => panic!("opening the forged chain: {other:?}"),
    }
}

#[test]
fn forged_block_of_permitted_transactions_verifies() {
    // Control for the forgeries below: the same construction with
    // transactions the rules allow verifies, so each fault below is the
    // rule, not the harness.
    let (c, r, _) = forge_setup();
    let state = chain_state(&c.store);
    let (append, payload) = crafted_append(&c, &state, &c.hospital_a);
    forge_block(&c, vec![patient_reads(&c, &state, r), append], &[payload]);
    let report = verify(&c);
    assert!(report.is_ok(), "{report}");
    assert!(Ledger::open(Box::new(c.store.clone())).is_ok());
}

#[test]
fn forged_consent_grant_by_a_provider_is_unauthorised() {
    let (c, r, _) = forge_setup();
    let state = chain_state(&c.store);
    let now = now_ms();
    let grant = signed(
        &c,
        &c.hospital_a,
        next_seq(&state, &c.hospital_a.id()),
        TxKind::GrantConsent,
        TxBody::Grant(GrantBody {
            consent: consent(
                c.patient.id(),
                c.hospital_b.id(),
                Actions::READ,
                &[Purpose::Research],
                Scope {
                    all_categories: true,
                    ..Scope::default()
                },
                now - 1000,
                now + YEAR_MS,
            ),
            shares: vec![],
            record_keys: vec![],
        }),
    );
    let h = forge_block(&c, vec![patient_reads(&c, &state, r), grant], &[]);
    assert_rule_fault(&c, FaultKind::Unauthorised, h, 1, None, "tx.author");
}

#[test]
fn forged_access_event_claiming_a_permit_is_unauthorised_at_that_event() {
    let (c, r, outsider) = forge_setup();
    let state = chain_state(&c.store);
    // A real consent id, but of another grantee.
    let someone_elses: ConsentId = state.consents_by_patient[&c.patient.id()][0];
    let events = signed(
        &c,
        &outsider,
        next_seq(&state, &outsider.id()),
        TxKind::AccessEvents,
        TxBody::Access(vec![
            AccessEvent {
                record: r,
                purpose: Purpose::Treat,
                decision: Decision::Deny(DenyReason::NoConsent),
            },
            AccessEvent {
                record: r,
                purpose: Purpose::Treat,
                decision: Decision::Permit(Basis::Consent(someone_elses)),
            },
        ]),
    );
    let h = forge_block(&c, vec![patient_reads(&c, &state, r), events], &[]);
    assert_rule_fault(
        &c,
        FaultKind::Unauthorised,
        h,
        1,
        Some(1),
        "access.decision",
    );
}

#[test]
fn forged_access_event_with_a_wrong_denial_is_invalid() {
    let (c, r, outsider) = forge_setup();
    let state = chain_state(&c.store);
    let events = signed(
        &c,
        &outsider,
        next_seq(&state, &outsider.id()),
        TxKind::AccessEvents,
        TxBody::Access(vec![AccessEvent {
            record: r,
            purpose: Purpose::Treat,
            decision: Decision::Deny(DenyReason::Expired),
        }]),
    );
    let h = forge_block(&c, vec![events], &[]);
    assert_rule_fault(
        &c,
        FaultKind::InvalidTransaction,
        h,
        0,
        Some(0),
        "access.decision",
    );
}

#[test]
fn forged_append_without_a_right_is_unauthorised() {
    let (c, r, outsider) = forge_setup();
    let state = chain_state(&c.store);
    let (append, payload) = crafted_append(&c, &state, &outsider);
    let h = forge_block(&c, vec![patient_reads(&c, &state, r), append], &[payload]);
    assert_rule_fault(&c, FaultKind::Unauthorised, h, 1, Some(0), "tx.author");
}
