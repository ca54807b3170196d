#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Model-based tests of the read decision (`ChainState::decide`,
//! docs/FORMAT.md §5.12) and of who may grant, revoke, declare, appoint,
//! suspend and erase (§5.9–§5.13).
//!
//! Random operation sequences over a small world (two patients, three
//! providers, one guardian, an admin and a custodian; a few records in up
//! to three categories written up front) drive
//!
//! * the real [`Ledger`] through its public API with a manual clock
//!   (`ledger_agrees_with_model`), and
//! * a bare [`ChainState`] built by checking and applying transactions,
//!   queried with `decide` directly at arbitrary times
//!   (`chain_state_agrees_with_model`),
//!
//! and compare every outcome with [`Model`] (`tests/reference/mod.rs`,
//! shared with the `api_model` fuzz target): a plain list of grants and
//! break-glass declarations evaluated by brute force, following the rules
//! as documented. The ledger run also checks the recorded access log and
//! that the stored chain verifies (the verifier replays every decision).
//!
//! A permitted read the ledger cannot serve because the reader holds no key
//! for the record's epoch is a failure too — every grantee receives the
//! keys of a category's earlier epochs with its grant (see
//! `new_reader_after_rotation_can_read_old_records`) — except for a guardian
//! appointed after the fact, who holds keys once someone shares them
//! (`share_keys`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use medledger::crypto::hash::Digest;
use medledger::crypto::sign::Signature;
use medledger::log::state::{ChainState, RecordState, TxPosition};
use medledger::model::consent::{RecordKeyWrap, SEALED_DEK_LEN};
use medledger::model::tx::{GrantBody, RevokeBody};
use medledger::model::{
    BreakGlass, ParticipantChange, ParticipantUpdate, RecordHeader, SignedTx, Tx, TxBody, TxKind,
};
use medledger::{
    Actions, Basis, BreakGlassId, Category, Consent, ConsentId, Decision, Error, Genesis, Keypair,
    Ledger, LedgerId, NewRecord, Purpose, Purposes, RecordId, Roles, Scope,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

mod reference;
use reference::*;

// ---------------------------------------------------------------------------
// The world
// ---------------------------------------------------------------------------

const MIN: u64 = 60_000;
const HOUR: u64 = 60 * MIN;
/// The genesis default longest break-glass window.
const MAX_GLASS: u64 = 24 * HOUR;
/// How far the clock may run in one case.
const SPAN: u64 = 8 * HOUR;

#[derive(Clone, Debug)]
struct World {
    /// Patients with records (both are registered).
    patients: usize,
    /// Categories in use (the first 2 or 3 of `CATS`).
    categories: usize,
    /// Records per (patient, category).
    counts: Vec<usize>,
    /// Patients who opted out of emergency key escrow.
    opt_out: [bool; 2],
    /// Guardian appointed before the records are written.
    guardian_at_start: [bool; 2],
    /// Provider 0 writes one `lab` record of patient 0 under an
    /// append-only consent (so that `Author` and a consent without `read`
    /// occur).
    author_record: bool,
}

fn world() -> impl Strategy<Value = World> {
    (
        1usize..=2,
        2usize..=3,
        vec(1usize..=2, 6),
        any::<[bool; 2]>(),
        any::<[bool; 2]>(),
        any::<bool>(),
    )
        .prop_map(
            |(patients, categories, counts, opt_out, guardian_at_start, author_record)| World {
                patients,
                categories,
                counts,
                opt_out,
                guardian_at_start,
                author_record,
            },
        )
}

fn participant(a: usize, w: &World) -> medledger::Participant {
    let mut p = actor(a).participant(roles_of(a), &format!("actor {a}"));
    if let Some(i) = PATIENT.iter().position(|x| *x == a) {
        p.escrow_opt_out = w.opt_out[i];
    }
    p
}

// ---------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct GrantOp {
    by_guardian: bool,
    patient: usize,
    grantee: usize,
    actions: Actions,
    purposes: Purposes,
    all: bool,
    /// Bit i: `CATS[i]`.
    cats: u8,
    /// Record-level scope: indexes into the patient's records (or, with
    /// `foreign`, into all records).
    records: Vec<Index>,
    foreign: bool,
    not_before: i64,
    duration: u64,
}

#[derive(Clone, Debug)]
enum Op {
    /// Move the clock forward.
    Advance(u64),
    /// Move the clock to a consent or break-glass boundary (minus `u64`)
    /// when it lies ahead.
    Jump(Index, u64),
    /// Set the clock anywhere in the span, backwards too (bare state only).
    Warp(u64),
    Grant(GrantOp),
    Revoke {
        consent: Index,
        by_guardian: bool,
    },
    BreakGlass {
        declarer: usize,
        patient: usize,
        reason: Purpose,
        duration: u64,
    },
    Guardian {
        patient: usize,
        add: bool,
        by_admin: bool,
    },
    Suspend {
        who: usize,
        suspend: bool,
    },
    /// Erase a record; `by`: 0 its patient, 1 its author, 2 the guardian,
    /// 3 provider 2 (never an author).
    Erase {
        record: Index,
        by: u8,
    },
    /// A read. With `focus`, the reader is the grantee of a consent or
    /// the declarer of a break-glass (picked by the index), the record one
    /// of that patient's, and (with the flag) the purpose one it names.
    Read {
        reader: usize,
        record: Index,
        purpose: Purpose,
        focus: Option<(Index, bool)>,
    },
    /// The patient (or the guardian) brings key holders up to date.
    ShareKeys {
        patient: usize,
        by_guardian: bool,
    },
    Commit,
}

fn purpose() -> impl Strategy<Value = Purpose> {
    prop_oneof![
        3 => Just(Purpose::Treat),
        2 => Just(Purpose::EmergencyTreat),
        1 => Just(Purpose::BreakTheGlass),
        1 => Just(Purpose::Research),
        2 => prop::sample::select(Purpose::ALL.to_vec()),
    ]
}

fn purposes() -> impl Strategy<Value = Purposes> {
    prop_oneof![
        4 => purpose().prop_map(|p| Purposes::of(&[p])),
        1 => Just(Purposes::of(&[Purpose::Treat, Purpose::EmergencyTreat])),
        1 => (1u8..=255).prop_map(Purposes),
    ]
}

fn grant_op() -> impl Strategy<Value = GrantOp> {
    let h = i64::try_from(HOUR).unwrap();
    (
        (prop::bool::weighted(0.25), prop_oneof![3 => Just(0usize), 1 => Just(1usize)], 0usize..6),
        (
            prop_oneof![3 => Just(Actions::READ), 2 => Just(Actions::ALL), 2 => (1u8..=7).prop_map(Actions)],
            prop::bool::weighted(0.1),
            purposes(),
        ),
        (0u8..5, 0u8..8, vec(any::<Index>(), 1..3), prop::bool::weighted(0.1)),
        (
            prop_oneof![3 => Just(-1000i64), 1 => Just(0i64), 2 => 1..h / 2, 3 => -2 * h..2 * h],
            prop_oneof![1 => Just(1u64), 1 => Just(10 * MIN), 4 => 1..=3 * HOUR],
        ),
    )
        .prop_map(
            |(
                (by_guardian, patient, grantee),
                (actions, odd_actions, purposes),
                (kind, cats, records, foreign),
                (not_before, duration),
            )| {
                // 0, 1: categories; 2: all; 3: records; 4: categories and records.
                let records = if kind >= 3 { records } else { Vec::new() };
                GrantOp {
                    by_guardian,
                    patient,
                    grantee,
                    // Record-level consents are read-only (rarely not, to
                    // check the refusal).
                    actions: if records.is_empty() || odd_actions {
                        actions
                    } else {
                        Actions::READ
                    },
                    purposes,
                    all: kind == 2,
                    cats: if kind == 2 || kind == 3 { 0 } else { cats },
                    records,
                    foreign,
                    not_before,
                    duration,
                }
            },
        )
}

/// Operations on the ledger (the clock only moves forward).
fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        14 => (
            prop_oneof![3 => 0usize..PROVIDERS, 1 => Just(GUARDIAN), 1 => 0usize..ACTORS],
            any::<Index>(),
            purpose(),
            prop_oneof![1 => Just(None), 3 => (any::<Index>(), prop::bool::weighted(0.7)).prop_map(Some)],
        )
            .prop_map(|(reader, record, purpose, focus)| Op::Read { reader, record, purpose, focus }),
        3 => prop_oneof![Just(0u64), Just(1u64), 1..=20 * MIN].prop_map(Op::Advance),
        2 => (any::<Index>(), 0u64..2).prop_map(|(i, d)| Op::Jump(i, d)),
        6 => grant_op().prop_map(Op::Grant),
        2 => (any::<Index>(), prop::bool::weighted(0.25))
            .prop_map(|(consent, by_guardian)| Op::Revoke { consent, by_guardian }),
        2 => (
            prop_oneof![4 => 0usize..PROVIDERS, 1 => Just(GUARDIAN)],
            0usize..2,
            prop::sample::select(vec![Purpose::EmergencyTreat, Purpose::BreakTheGlass]),
            prop_oneof![4 => 1..=3 * HOUR, 1 => Just(MAX_GLASS), 1 => Just(MAX_GLASS + 1)],
        )
            .prop_map(|(declarer, patient, reason, duration)| Op::BreakGlass {
                declarer,
                patient,
                reason,
                duration,
            }),
        1 => (0usize..2, any::<bool>(), any::<bool>())
            .prop_map(|(patient, add, by_admin)| Op::Guardian { patient, add, by_admin }),
        2 => (prop::sample::select(vec![0usize, 1, 2, GUARDIAN, PATIENT[0], PATIENT[1]]), any::<bool>())
            .prop_map(|(who, suspend)| Op::Suspend { who, suspend }),
        1 => (any::<Index>(), 0u8..4).prop_map(|(record, by)| Op::Erase { record, by }),
        1 => (0usize..2, any::<bool>())
            .prop_map(|(patient, by_guardian)| Op::ShareKeys { patient, by_guardian }),
        1 => Just(Op::Commit),
    ]
}

/// Up to 25 operations, starting with a few grants.
fn ops(max: usize) -> impl Strategy<Value = Vec<Op>> {
    (
        vec(grant_op().prop_map(Op::Grant), 0..=3),
        vec(op(), 1..=max - 3),
    )
        .prop_map(|(mut a, b)| {
            a.extend(b);
            a
        })
}

/// Operations on a bare chain state: the same, plus time warps.
fn state_ops(max: usize) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        8 => op(),
        1 => (0..=SPAN).prop_map(Op::Warp),
    ];
    (
        vec(grant_op().prop_map(Op::Grant), 0..=3),
        vec(op, 1..=max - 3),
    )
        .prop_map(|(mut a, b)| {
            a.extend(b);
            a
        })
}

// ---------------------------------------------------------------------------
// Picking reads for the reference model
// ---------------------------------------------------------------------------

impl Model {
    /// (reader, record index, purpose) of a read op.
    fn pick_read(
        &self,
        reader: usize,
        record: Index,
        purpose: Purpose,
        focus: Option<(Index, bool)>,
    ) -> Option<(usize, usize, Purpose)> {
        let n = self.grants.len() + self.glass.len();
        let Some((i, own)) = focus.filter(|_| n > 0) else {
            return (!self.recs.is_empty())
                .then(|| (reader, record.index(self.recs.len()), purpose));
        };
        let i = i.index(n);
        let (reader, mut pool, named) = match self.grants.get(i) {
            Some(g) => {
                let named: Vec<Purpose> = g.purposes.iter().collect();
                let covered = self
                    .patient_records(g.patient)
                    .into_iter()
                    .filter(|k| g.covers(&self.recs[*k]))
                    .collect();
                (g.grantee, covered, named[record.index(named.len())])
            }
            None => {
                let b = &self.glass[i - self.grants.len()];
                (b.provider, self.patient_records(b.patient), b.reason)
            }
        };
        if pool.is_empty() {
            pool = self.patient_records(
                self.grants
                    .get(i)
                    .map_or_else(|| self.glass[i - self.grants.len()].patient, |g| g.patient),
            );
        }
        if pool.is_empty() {
            return None;
        }
        let purpose = if own { named } else { purpose };
        Some((reader, pool[record.index(pool.len())], purpose))
    }
}

// ---------------------------------------------------------------------------
// Systems under test
// ---------------------------------------------------------------------------

/// What a read returned.
#[derive(Debug)]
enum Outcome {
    Decided(Decision),
    /// Permitted, but the reader holds no key for the record's epoch.
    NoKey,
}

trait System {
    fn set_time(&mut self, t: u64);
    fn append(&mut self, author: usize, patient: usize, cat: &str, payload: &[u8]) -> RecordId;
    fn commit(&mut self);
    fn grant(&mut self, author: usize, c: &Consent) -> Option<ConsentId>;
    fn revoke(&mut self, author: usize, id: &ConsentId) -> bool;
    fn break_glass(
        &mut self,
        author: usize,
        patient: usize,
        reason: Purpose,
        duration: u64,
    ) -> Option<BreakGlassId>;
    fn update(&mut self, author: usize, participant: usize, change: ParticipantChange) -> bool;
    fn erase(&mut self, author: usize, id: &RecordId) -> bool;
    /// True when done (or nothing to do), false when refused.
    fn share_keys(&mut self, author: usize, patient: usize) -> bool;
    fn read(&mut self, reader: usize, r: &Rec, purpose: Purpose) -> Outcome;
}

fn fixed_consent(
    patient: usize,
    grantee: usize,
    actions: Actions,
    cats: &[&str],
    t: u64,
) -> Consent {
    Consent {
        patient: id_of(PATIENT[patient]),
        grantee: id_of(grantee),
        actions,
        purposes: Purposes::of(&[Purpose::Treat]),
        scope: Scope {
            all_categories: false,
            categories: cats.iter().map(|c| Category::new(c).unwrap()).collect(),
            records: Vec::new(),
        },
        not_before: t.saturating_sub(1000),
        not_after: t + 24 * HOUR,
    }
}

/// Writes the world's records (and its set-up consent and guardians).
fn set_up(w: &World, sys: &mut impl System, t0: u64) -> Model {
    let mut m = Model {
        opt_out: w.opt_out,
        now: t0,
        ..Model::default()
    };
    sys.set_time(t0);
    if w.author_record {
        let c = fixed_consent(0, 0, Actions::APPEND, &["lab"], t0);
        let id = sys.grant(PATIENT[0], &c).expect("set-up consent");
        record_grant(&mut m, id, 0, &c);
    }
    for (p, &patient) in PATIENT.iter().enumerate() {
        if w.guardian_at_start[p] {
            let change = ParticipantChange::AddGuardian(id_of(GUARDIAN));
            assert!(sys.update(ADMIN, patient, change));
            m.guardian[p] = true;
        }
    }
    for (p, &patient) in PATIENT.iter().enumerate().take(w.patients) {
        for (c, cat) in CATS.iter().enumerate().take(w.categories) {
            for i in 0..w.counts[p * 3 + c] {
                let payload = format!("patient {p} {cat} #{i}").into_bytes();
                let id = sys.append(patient, p, cat, &payload);
                m.recs.push(Rec {
                    id,
                    patient: p,
                    cat,
                    author: patient,
                    erased: false,
                    payload,
                });
            }
        }
    }
    if w.author_record {
        let payload = b"provider 0 lab".to_vec();
        let id = sys.append(0, 0, "lab", &payload);
        m.recs.push(Rec {
            id,
            patient: 0,
            cat: "lab",
            author: 0,
            erased: false,
            payload,
        });
    }
    sys.commit();
    m
}

/// Runs `ops`, checking each outcome against the model.
fn run(t0: u64, m: &mut Model, sys: &mut impl System, ops: &[Op]) -> Result<(), TestCaseError> {
    for (step, op) in ops.iter().enumerate() {
        let ctx = format!("step {step}: {op:?} at t0+{} ms", m.now - t0);
        match op {
            Op::Advance(d) => m.now = (m.now + d).min(t0 + SPAN),
            Op::Jump(i, minus) => {
                let b = m.boundaries();
                if !b.is_empty() {
                    let target = b[i.index(b.len())].saturating_sub(*minus);
                    if target > m.now && target <= t0 + SPAN {
                        m.now = target;
                    }
                }
            }
            Op::Warp(off) => m.now = t0 + off,
            Op::Commit => sys.commit(),
            Op::ShareKeys {
                patient,
                by_guardian,
            } => {
                let author = if *by_guardian {
                    GUARDIAN
                } else {
                    PATIENT[*patient]
                };
                sys.set_time(m.now);
                // Refused, or a no-op, unless the author speaks for the
                // patient (key holdings are not modelled).
                let done = sys.share_keys(author, *patient);
                prop_assert!(
                    done || !m.speaks_for(author, *patient),
                    "{}: share_keys refused",
                    ctx
                );
            }
            Op::Grant(g) => {
                let p = g.patient;
                let author = if g.by_guardian { GUARDIAN } else { PATIENT[p] };
                let pool = if g.foreign {
                    (0..m.recs.len()).collect()
                } else {
                    m.patient_records(p)
                };
                let mut records: Vec<&Rec> = if pool.is_empty() {
                    Vec::new()
                } else {
                    g.records
                        .iter()
                        .map(|i| &m.recs[pool[i.index(pool.len())]])
                        .collect()
                };
                // A guardian may hold no key of an old epoch to hand over a
                // record's data key: record-level grants are the patient's.
                if g.by_guardian {
                    records.clear();
                }
                let cats: Vec<&'static str> = (0..3)
                    .filter(|i| g.cats & (1 << i) != 0)
                    .map(|i| CATS[i])
                    .collect();
                let nb = m.now.saturating_add_signed(g.not_before);
                let c = Consent {
                    patient: id_of(PATIENT[p]),
                    grantee: id_of(g.grantee),
                    actions: g.actions,
                    purposes: g.purposes,
                    scope: Scope {
                        all_categories: g.all,
                        categories: cats.iter().map(|c| Category::new(c).unwrap()).collect(),
                        records: records.iter().map(|r| r.id).collect(),
                    },
                    not_before: nb,
                    not_after: nb + g.duration,
                };
                let valid = (g.all || !cats.is_empty() || !records.is_empty())
                    && (records.is_empty() || g.actions == Actions::READ)
                    && g.grantee != PATIENT[p];
                // A suspended grantee receives no consent at all.
                let allowed = valid
                    && m.speaks_for(author, p)
                    && c.not_after > m.now
                    && !m.suspended[g.grantee]
                    && records.iter().all(|r| r.patient == p && !r.erased);
                sys.set_time(m.now);
                let got = sys.grant(author, &c);
                prop_assert_eq!(got.is_some(), allowed, "{}: grant accepted?", ctx);
                if let Some(id) = got {
                    let mut c = c;
                    c.scope.records.sort();
                    c.scope.records.dedup();
                    record_grant(m, id, p, &c);
                }
            }
            Op::Revoke {
                consent,
                by_guardian,
            } => {
                if m.grants.is_empty() {
                    continue;
                }
                let k = consent.index(m.grants.len());
                let p = m.grants[k].patient;
                let author = if *by_guardian { GUARDIAN } else { PATIENT[p] };
                let expect = !m.grants[k].revoked && m.speaks_for(author, p);
                sys.set_time(m.now);
                let got = sys.revoke(author, &m.grants[k].id);
                prop_assert_eq!(got, expect, "{}: revoke accepted?", ctx);
                if got {
                    m.grants[k].revoked = true;
                }
            }
            Op::BreakGlass {
                declarer,
                patient,
                reason,
                duration,
            } => {
                let expect = *declarer < PROVIDERS
                    && m.active(*declarer)
                    && !m.opt_out[*patient]
                    && *duration <= MAX_GLASS;
                sys.set_time(m.now);
                let got = sys.break_glass(*declarer, *patient, *reason, *duration);
                prop_assert_eq!(got.is_some(), expect, "{}: break-glass accepted?", ctx);
                if let Some(id) = got {
                    m.glass.push(Glass {
                        id,
                        provider: *declarer,
                        patient: *patient,
                        reason: *reason,
                        from: m.now,
                        until: m.now + duration,
                    });
                }
            }
            Op::Guardian {
                patient,
                add,
                by_admin,
            } => {
                let author = if *by_admin { ADMIN } else { PATIENT[*patient] };
                let expect = m.active(author) && m.guardian[*patient] != *add;
                let change = if *add {
                    ParticipantChange::AddGuardian(id_of(GUARDIAN))
                } else {
                    ParticipantChange::RemoveGuardian(id_of(GUARDIAN))
                };
                sys.set_time(m.now);
                let got = sys.update(author, PATIENT[*patient], change);
                prop_assert_eq!(got, expect, "{}: guardian change accepted?", ctx);
                if got {
                    m.guardian[*patient] = *add;
                }
            }
            Op::Suspend { who, suspend } => {
                let expect = m.suspended[*who] != *suspend;
                let change = if *suspend {
                    ParticipantChange::Suspend
                } else {
                    ParticipantChange::Reinstate
                };
                sys.set_time(m.now);
                let got = sys.update(ADMIN, *who, change);
                prop_assert_eq!(got, expect, "{}: suspension change accepted?", ctx);
                if got {
                    m.suspended[*who] = *suspend;
                }
            }
            Op::Erase { record, by } => {
                if m.recs.is_empty() {
                    continue;
                }
                let k = record.index(m.recs.len());
                let r = &m.recs[k];
                let author = match by {
                    0 => PATIENT[r.patient],
                    1 => r.author,
                    2 => GUARDIAN,
                    _ => 2,
                };
                let expect = !r.erased
                    && m.active(author)
                    && (author == r.author || m.speaks_for(author, r.patient));
                sys.set_time(m.now);
                let got = sys.erase(author, &r.id.clone());
                prop_assert_eq!(got, expect, "{}: erase accepted?", ctx);
                if got {
                    m.recs[k].erased = true;
                }
            }
            Op::Read {
                reader,
                record,
                purpose,
                focus,
            } => {
                let Some((reader, k, purpose)) = m.pick_read(*reader, *record, *purpose, *focus)
                else {
                    continue;
                };
                let r = m.recs[k].clone();
                let want = m.decide(reader, &r, purpose, m.now);
                sys.set_time(m.now);
                match sys.read(reader, &r, purpose) {
                    Outcome::Decided(d) => {
                        prop_assert_eq!(d, want, "{}: decision", ctx);
                        m.events.push(Event {
                            reader: id_of(reader),
                            record: r.id,
                            purpose,
                            decision: d,
                            time: m.now,
                        });
                    }
                    Outcome::NoKey => {
                        // A guardian appointed by an admin holds no key
                        // until the patient (or another guardian) shares
                        // them: permitted, but nothing to decrypt with.
                        // Every other permitted reader has its keys.
                        prop_assert!(
                            want == Decision::Permit(Basis::Guardian),
                            "{}: permitted ({:?}) but the reader holds no key",
                            ctx,
                            want
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The real ledger
// ---------------------------------------------------------------------------

struct LedgerSys {
    ledger: Ledger,
    clock: Arc<AtomicU64>,
    validators: Vec<Keypair>,
}

fn validator(i: usize) -> Keypair {
    key(40 + i)
}

impl LedgerSys {
    fn new(w: &World) -> Self {
        let validators: Vec<Keypair> = (0..3).map(validator).collect();
        let mut founders = vec![participant(ADMIN, w)];
        for (i, v) in validators.iter().enumerate() {
            founders.push(v.participant(Roles::VALIDATOR, &format!("validator {i}")));
        }
        let genesis = Genesis::new("consent model", 2, founders).unwrap();
        let clock = Arc::new(AtomicU64::new(0));
        let c = Arc::clone(&clock);
        let ledger = Ledger::create_in_memory(genesis, &[&validators[0], &validators[1]])
            .unwrap()
            .with_clock(move || c.load(Ordering::SeqCst));
        clock.store(medledger::now_ms(), Ordering::SeqCst);
        let admin = actor(ADMIN);
        for a in [0, 1, 2, GUARDIAN, PATIENT[0], PATIENT[1], CUSTODIAN] {
            ledger.register(admin, participant(a, w)).unwrap();
        }
        ledger
            .attach_validators(vec![Arc::new(validator(1)), Arc::new(validator(2))])
            .unwrap();
        ledger
            .attach_custodian(Arc::new(key(60 + CUSTODIAN)))
            .unwrap();
        LedgerSys {
            ledger,
            clock,
            validators,
        }
    }

    fn now(&self) -> u64 {
        self.clock.load(Ordering::SeqCst)
    }
}

/// A refusal by the rules, by argument validation, or for want of a key
/// (a record-level grant of another patient's record: the author holds no
/// key to hand its data key over).
fn refused<T: std::fmt::Debug>(r: medledger::Result<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(Error::Rejected(_) | Error::Invalid { .. } | Error::Denied(_)) => None,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

impl System for LedgerSys {
    fn set_time(&mut self, t: u64) {
        assert!(t >= self.now(), "the ledger clock only moves forward");
        self.clock.store(t, Ordering::SeqCst);
    }

    fn append(&mut self, author: usize, patient: usize, cat: &str, payload: &[u8]) -> RecordId {
        self.ledger
            .append_record(
                actor(author),
                NewRecord {
                    patient: id_of(PATIENT[patient]),
                    category: cat,
                    content_type: "text/plain",
                    payload,
                },
            )
            .unwrap()
    }

    fn commit(&mut self) {
        if self.ledger.pending_count().unwrap() > 0 {
            self.ledger
                .commit_block(&[&self.validators[0], &self.validators[2]])
                .unwrap();
        }
    }

    fn grant(&mut self, author: usize, c: &Consent) -> Option<ConsentId> {
        refused(self.ledger.grant(actor(author), c))
    }

    fn revoke(&mut self, author: usize, id: &ConsentId) -> bool {
        refused(self.ledger.revoke(actor(author), id)).is_some()
    }

    fn break_glass(
        &mut self,
        author: usize,
        patient: usize,
        reason: Purpose,
        duration: u64,
    ) -> Option<BreakGlassId> {
        refused(self.ledger.break_glass(
            actor(author),
            &id_of(PATIENT[patient]),
            reason,
            "model test",
            duration,
        ))
    }

    fn update(&mut self, author: usize, participant: usize, change: ParticipantChange) -> bool {
        let (a, p) = (actor(author), id_of(participant));
        let r = match change {
            ParticipantChange::Suspend => self.ledger.suspend(a, &p),
            ParticipantChange::Reinstate => self.ledger.reinstate(a, &p),
            ParticipantChange::AddGuardian(g) => self.ledger.add_guardian(a, &p, &g),
            ParticipantChange::RemoveGuardian(g) => self.ledger.remove_guardian(a, &p, &g),
            ParticipantChange::RotateKeys { .. } => return false,
        };
        refused(r).is_some()
    }

    fn erase(&mut self, author: usize, id: &RecordId) -> bool {
        match refused(self.ledger.erase(actor(author), &[*id])) {
            Some(receipts) => {
                assert_eq!(receipts.len(), 1);
                assert_eq!(receipts[0].record, *id);
                true
            }
            None => false,
        }
    }

    fn share_keys(&mut self, author: usize, patient: usize) -> bool {
        refused(
            self.ledger
                .share_keys(actor(author), &id_of(PATIENT[patient])),
        )
        .is_some()
    }

    fn read(&mut self, reader: usize, r: &Rec, purpose: Purpose) -> Outcome {
        let patient = id_of(PATIENT[r.patient]);
        match self.ledger.read_record(actor(reader), &r.id, purpose) {
            Ok(rec) => {
                assert_eq!(rec.plaintext.as_slice(), r.payload.as_slice());
                // A permitted read is committed before the plaintext is
                // released: its event, with the basis, is in the log.
                let log = self.ledger.access_log(&patient, &patient).unwrap();
                let e = log.last().expect("a permitted read is logged");
                assert_eq!(
                    (e.reader, e.record, e.purpose, e.time),
                    (id_of(reader), r.id, purpose, self.now())
                );
                assert!(e.decision.is_permit());
                Outcome::Decided(e.decision)
            }
            Err(Error::AccessDenied { reason, .. }) => Outcome::Decided(Decision::Deny(reason)),
            Err(Error::Denied(msg)) if msg.contains("holds no key") => Outcome::NoKey,
            Err(e) => panic!("unexpected read error: {e}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(48)
    })]

    /// Every read on the real ledger decides as the model does; every
    /// operation is accepted exactly when the model says; the access log
    /// holds exactly the decided reads; the stored chain verifies.
    #[test]
    fn ledger_agrees_with_model(w in world(), ops in ops(25)) {
        let mut sys = LedgerSys::new(&w);
        let t0 = sys.now();
        let mut m = set_up(&w, &mut sys, t0);
        run(t0, &mut m, &mut sys, &ops)?;
        sys.commit();
        let report = sys.ledger.verify().unwrap();
        prop_assert!(report.is_ok(), "verify: {}", report);
        prop_assert_eq!(logged_events(&sys.ledger), m.sorted_events(), "access log");
    }
}

// ---------------------------------------------------------------------------
// A bare chain state, queried with `decide` directly
// ---------------------------------------------------------------------------

struct StateSys {
    state: ChainState,
    now: u64,
    leaf: u64,
    next_record: u8,
}

impl StateSys {
    fn new(w: &World) -> Self {
        let mut founders: Vec<_> = (0..ACTORS).map(|a| participant(a, w)).collect();
        founders.push(validator(0).participant(Roles::VALIDATOR, "validator"));
        let genesis = Genesis::new("consent model", 1, founders).unwrap();
        let state = ChainState::from_genesis(LedgerId(Digest([9; 32])), &genesis).unwrap();
        StateSys {
            state,
            now: 0,
            leaf: 1,
            next_record: 1,
        }
    }

    /// Checks and applies a transaction of `author` at the current time.
    fn submit(&mut self, author: usize, kind: TxKind, body: TxBody) -> Option<u64> {
        let a = id_of(author);
        let seq = self.state.participant(&a).unwrap().last_seq + 1;
        let stx = SignedTx {
            tx: Tx {
                kind,
                author: a,
                seq,
                timestamp: self.now,
                body,
            },
            signature: Signature([0; 64]),
        };
        self.state.check(&stx).ok()?;
        let position = TxPosition {
            height: 1,
            tx_index: 0,
            leaf: self.leaf,
        };
        self.leaf += 1;
        self.state.apply(stx, position);
        Some(seq)
    }
}

impl System for StateSys {
    fn set_time(&mut self, t: u64) {
        self.now = t;
    }

    /// Records are put in place directly (no key epochs): grants then need
    /// no key shares.
    fn append(&mut self, author: usize, patient: usize, cat: &str, _payload: &[u8]) -> RecordId {
        let id = RecordId(Digest([self.next_record; 32]));
        self.next_record += 1;
        let header = RecordHeader {
            id,
            patient: id_of(PATIENT[patient]),
            category: Category::new(cat).unwrap(),
            content_type: "text/plain".into(),
            version: 1,
            amends: None,
            key_epoch: 1,
            wrapped_dek: [0; 60],
            ciphertext_len: 28,
            ciphertext_digest: Digest::ZERO,
        };
        let position = TxPosition {
            height: 1,
            tx_index: 0,
            leaf: self.leaf,
        };
        self.leaf += 1;
        self.state.records.insert(
            id,
            RecordState {
                header,
                author: id_of(author),
                position,
                record_index: 0,
                superseded_by: None,
                erased: None,
            },
        );
        id
    }

    fn commit(&mut self) {}

    fn grant(&mut self, author: usize, c: &Consent) -> Option<ConsentId> {
        let mut c = c.clone();
        c.scope.categories.sort();
        c.scope.records.sort();
        c.scope.records.dedup();
        let record_keys = c
            .scope
            .records
            .iter()
            .map(|r| RecordKeyWrap {
                record: *r,
                sealed: [0; SEALED_DEK_LEN],
            })
            .collect();
        let body = TxBody::Grant(GrantBody {
            consent: c,
            shares: Vec::new(),
            record_keys,
        });
        let seq = self.submit(author, TxKind::GrantConsent, body)?;
        Some(ConsentId::derive(
            &self.state.ledger_id,
            &id_of(author),
            seq,
        ))
    }

    fn revoke(&mut self, author: usize, id: &ConsentId) -> bool {
        let body = TxBody::Revoke(RevokeBody {
            consent: *id,
            shares: Vec::new(),
        });
        self.submit(author, TxKind::RevokeConsent, body).is_some()
    }

    fn break_glass(
        &mut self,
        author: usize,
        patient: usize,
        reason: Purpose,
        duration: u64,
    ) -> Option<BreakGlassId> {
        let body = TxBody::BreakGlass(BreakGlass {
            patient: id_of(PATIENT[patient]),
            reason,
            justification: "model test".into(),
            duration_ms: duration,
        });
        let seq = self.submit(author, TxKind::BreakGlass, body)?;
        Some(BreakGlassId::derive(
            &self.state.ledger_id,
            &id_of(author),
            seq,
        ))
    }

    fn update(&mut self, author: usize, participant: usize, change: ParticipantChange) -> bool {
        let body = TxBody::Update(ParticipantUpdate {
            participant: id_of(participant),
            change,
        });
        self.submit(author, TxKind::UpdateParticipant, body)
            .is_some()
    }

    fn erase(&mut self, author: usize, id: &RecordId) -> bool {
        self.submit(author, TxKind::Erase, TxBody::Erase(vec![*id]))
            .is_some()
    }

    /// No key epochs here: nothing to share.
    fn share_keys(&mut self, _author: usize, _patient: usize) -> bool {
        true
    }

    fn read(&mut self, reader: usize, r: &Rec, purpose: Purpose) -> Outcome {
        let rec = &self.state.records[&r.id];
        Outcome::Decided(self.state.decide(&id_of(reader), rec, purpose, self.now))
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(256)
    })]

    /// The same model against `ChainState::decide` on states built by
    /// checking and applying transactions, times going back and forth; at
    /// the end every (reader, record, purpose) is decided at every consent
    /// and window boundary (and one ms before it).
    #[test]
    fn chain_state_agrees_with_model(w in world(), ops in state_ops(40)) {
        let mut sys = StateSys::new(&w);
        let t0 = 1_700_000_000_000;
        let mut m = set_up(&w, &mut sys, t0);
        run(t0, &mut m, &mut sys, &ops)?;
        eprintln!("STATE grants={} glass={} recs={} bounds={}", m.grants.len(), m.glass.len(), m.recs.len(), m.boundaries().len());
        let mut times: Vec<u64> = m.boundaries().into_iter().flat_map(|b| [b.saturating_sub(1), b]).collect();
        times.extend([t0, t0 + SPAN, m.now]);
        for r in &m.recs {
            let rec = &sys.state.records[&r.id];
            for reader in 0..ACTORS {
                for purpose in Purpose::ALL {
                    for &t in &times {
                        prop_assert_eq!(
                            sys.state.decide(&id_of(reader), rec, purpose, t),
                            m.decide(reader, r, purpose, t),
                            "reader {} record {:?} purpose {:?} at t0{:+}",
                            reader, r.id, purpose, i128::from(t) - i128::from(t0)
                        );
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Fixed cases
// ---------------------------------------------------------------------------

/// A reader entitled after a key rotation receives only the current epoch
/// key, so records written under an earlier epoch stay unreadable although
/// the rules permit the read, and `share_keys` (which the error message
/// recommends) only shares current epochs. Ignored: documents a library
/// gap.
#[test]
fn new_reader_after_rotation_can_read_old_records() {
    let w = World {
        patients: 1,
        categories: 2,
        counts: vec![1; 6],
        opt_out: [false; 2],
        guardian_at_start: [false; 2],
        author_record: false,
    };
    let mut sys = LedgerSys::new(&w);
    let t0 = sys.now();
    let m = set_up(&w, &mut sys, t0);
    let lab = m.recs.iter().find(|r| r.cat == "lab").unwrap().clone();
    let patient = actor(PATIENT[0]);
    // Provider 1 is granted and its consent revoked: "lab" moves to epoch 2.
    let c = fixed_consent(0, 1, Actions::READ, &["lab"], t0);
    let first = sys.ledger.grant(patient, &c).unwrap();
    sys.ledger.revoke(patient, &first).unwrap();
    // Provider 0 is granted afterwards (it receives the epoch 2 key); the
    // guardian is appointed and keys are shared (epoch 2 again).
    let c = fixed_consent(0, 0, Actions::READ, &["lab"], t0);
    sys.ledger.grant(patient, &c).unwrap();
    sys.ledger
        .add_guardian(patient, &patient.id(), &id_of(GUARDIAN))
        .unwrap();
    sys.ledger.share_keys(patient, &patient.id()).unwrap();
    sys.commit();
    // Both are permitted to read the epoch 1 record, neither holds its key.
    let failures: Vec<String> = [0, GUARDIAN]
        .into_iter()
        .filter_map(|reader| {
            let got = sys
                .ledger
                .read_record(actor(reader), &lab.id, Purpose::Treat);
            got.err().map(|e| format!("reader {reader}: {e}"))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}
