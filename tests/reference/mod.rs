//! The reference model of the read decision (docs/FORMAT.md §5.12) and of
//! who speaks for a patient, shared by `tests/consent_model.rs` and the
//! `api_model` fuzz target (`fuzz/fuzz_targets/api_model.rs`, which includes
//! this file by path): a fixed cast of actors and a plain list of grants and
//! break-glass declarations, evaluated by brute force.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::sync::OnceLock;

use medledger::{
    Actions, Basis, BreakGlassId, Consent, ConsentId, Decision, DenyReason, Keypair, Ledger,
    ParticipantId, Purpose, Purposes, RecordId, Roles,
};

/// Actors: providers 0..3, then these.
pub const PROVIDERS: usize = 3;
pub const GUARDIAN: usize = 3;
pub const PATIENT: [usize; 2] = [4, 5];
pub const ADMIN: usize = 6;
pub const CUSTODIAN: usize = 7;
pub const ACTORS: usize = 8;
/// Categories, in byte order.
pub const CATS: [&str; 3] = ["imaging", "lab", "note"];

pub fn key(n: usize) -> Keypair {
    let n = u8::try_from(n).unwrap();
    Keypair::from_seeds(&[n; 32], &[n.wrapping_add(100); 32])
}

/// The actors' keys, derived once.
pub fn actors() -> &'static [Keypair] {
    static KEYS: OnceLock<Vec<Keypair>> = OnceLock::new();
    KEYS.get_or_init(|| (0..ACTORS).map(|a| key(60 + a)).collect())
}

pub fn actor(a: usize) -> &'static Keypair {
    &actors()[a]
}

pub fn id_of(a: usize) -> ParticipantId {
    static IDS: OnceLock<Vec<ParticipantId>> = OnceLock::new();
    IDS.get_or_init(|| actors().iter().map(Keypair::id).collect())[a]
}

pub fn roles_of(a: usize) -> Roles {
    match a {
        0..PROVIDERS => Roles::PROVIDER,
        GUARDIAN => Roles::GUARDIAN,
        ADMIN => Roles::ADMIN,
        CUSTODIAN => Roles::CUSTODIAN,
        _ => Roles::PATIENT,
    }
}

#[derive(Clone, Debug)]
pub struct Grant {
    pub id: ConsentId,
    pub patient: usize,
    pub grantee: usize,
    pub actions: Actions,
    pub purposes: Purposes,
    pub all: bool,
    pub cats: BTreeSet<&'static str>,
    pub records: Vec<RecordId>,
    pub not_before: u64,
    pub not_after: u64,
    pub revoked: bool,
}

#[derive(Clone, Debug)]
pub struct Glass {
    pub id: BreakGlassId,
    pub provider: usize,
    pub patient: usize,
    pub reason: Purpose,
    pub from: u64,
    pub until: u64,
}

#[derive(Clone, Debug)]
pub struct Rec {
    pub id: RecordId,
    pub patient: usize,
    pub cat: &'static str,
    pub author: usize,
    pub erased: bool,
    pub payload: Vec<u8>,
}

/// One recorded read attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub reader: ParticipantId,
    pub record: RecordId,
    pub purpose: Purpose,
    pub decision: Decision,
    pub time: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Model {
    pub grants: Vec<Grant>,
    pub glass: Vec<Glass>,
    pub recs: Vec<Rec>,
    pub suspended: [bool; ACTORS],
    pub guardian: [bool; 2],
    pub opt_out: [bool; 2],
    pub now: u64,
    pub events: Vec<Event>,
}

impl Grant {
    pub fn covers(&self, r: &Rec) -> bool {
        self.all || self.cats.contains(r.cat) || self.records.contains(&r.id)
    }

    pub fn in_force(&self, t: u64) -> bool {
        self.not_before <= t && t < self.not_after
    }
}

impl Model {
    /// The read decision, rule by rule as docs/FORMAT.md §5.12 states it.
    pub fn decide(&self, reader: usize, r: &Rec, purpose: Purpose, t: u64) -> Decision {
        use DenyReason::*;
        if self.suspended[reader] {
            return Decision::Deny(Suspended);
        }
        if r.erased {
            return Decision::Deny(Erased);
        }
        if reader == PATIENT[r.patient] {
            return Decision::Permit(Basis::Patient);
        }
        if reader == GUARDIAN && self.guardian[r.patient] {
            return Decision::Permit(Basis::Guardian);
        }
        if reader == r.author {
            return Decision::Permit(Basis::Author);
        }
        let covering: Vec<&Grant> = self
            .grants
            .iter()
            .filter(|g| {
                g.patient == r.patient
                    && g.grantee == reader
                    && g.actions.contains(Actions::READ)
                    && g.covers(r)
            })
            .collect();
        let right = |g: &Grant| g.purposes.contains(purpose);
        if let Some(g) = covering
            .iter()
            .find(|g| !g.revoked && right(g) && g.in_force(t))
        {
            return Decision::Permit(Basis::Consent(g.id));
        }
        if purpose.is_emergency()
            && let Some(b) = self.glass.iter().rev().find(|b| {
                b.provider == reader
                    && b.patient == r.patient
                    && b.reason == purpose
                    && b.from <= t
                    && t < b.until
            })
        {
            return Decision::Permit(Basis::BreakGlass(b.id));
        }
        let any = |f: &dyn Fn(&Grant) -> bool| covering.iter().any(|g| f(g));
        Decision::Deny(if any(&|g| !g.revoked && right(g) && t >= g.not_after) {
            Expired
        } else if any(&|g| !g.revoked && right(g) && t < g.not_before) {
            NotYetValid
        } else if any(&|g| !g.revoked && !right(g)) {
            WrongPurpose
        } else if any(&|g| g.revoked) {
            Revoked
        } else {
            NoConsent
        })
    }

    pub fn active(&self, a: usize) -> bool {
        !self.suspended[a]
    }

    /// `a` may act for patient `p` (grant, revoke, erase).
    pub fn speaks_for(&self, a: usize, p: usize) -> bool {
        self.active(a) && (a == PATIENT[p] || (a == GUARDIAN && self.guardian[p]))
    }

    pub fn patient_records(&self, p: usize) -> Vec<usize> {
        (0..self.recs.len())
            .filter(|i| self.recs[*i].patient == p)
            .collect()
    }

    /// Boundaries of consent periods and break-glass windows.
    pub fn boundaries(&self) -> Vec<u64> {
        let mut b: Vec<u64> = self
            .grants
            .iter()
            .flat_map(|g| [g.not_before, g.not_after])
            .chain(self.glass.iter().flat_map(|g| [g.from, g.until]))
            .collect();
        b.sort_unstable();
        b.dedup();
        b
    }
}

/// Adds an accepted consent of patient `author_patient` to the model.
pub fn record_grant(m: &mut Model, id: ConsentId, author_patient: usize, c: &Consent) {
    let grantee = (0..ACTORS).find(|a| id_of(*a) == c.grantee).unwrap();
    m.grants.push(Grant {
        id,
        patient: author_patient,
        grantee,
        actions: c.actions,
        purposes: c.purposes,
        all: c.scope.all_categories,
        cats: CATS
            .into_iter()
            .filter(|x| c.scope.categories.iter().any(|k| k.as_str() == *x))
            .collect(),
        records: c.scope.records.clone(),
        not_before: c.not_before,
        not_after: c.not_after,
        revoked: false,
    });
}

/// Events in a canonical order (time, record, reader, purpose).
fn sorted(mut events: Vec<Event>) -> Vec<Event> {
    events.sort_by_key(|e| (e.time, e.record.0.0, e.reader.0.0, e.purpose as u8));
    events
}

impl Model {
    /// The decided reads, in the order of [`logged_events`].
    pub fn sorted_events(&self) -> Vec<Event> {
        sorted(self.events.clone())
    }
}

/// The access log of both patients, as the ledger records it, in the order
/// of [`Model::sorted_events`].
pub fn logged_events(ledger: &Ledger) -> Vec<Event> {
    let mut logged = Vec::new();
    for p in PATIENT {
        let id = id_of(p);
        logged.extend(
            ledger
                .access_log(&id, &id)
                .unwrap()
                .into_iter()
                .map(|e| Event {
                    reader: e.reader,
                    record: e.record,
                    purpose: e.purpose,
                    decision: e.decision,
                    time: e.time,
                }),
        );
    }
    sorted(logged)
}
