//! The public API, driven by fuzzed operation sequences on an in-memory
//! ledger with a manual clock, checked against the reference model of
//! `tests/reference/mod.rs` (shared with `tests/consent_model.rs`).
//!
//! The input is read as operations, one opcode byte and its argument bytes
//! each (missing bytes read as 0), at most [`MAX_OPS`]:
//!
//! | op (`% 8`) | arguments | expected |
//! |---|---|---|
//! | 0 register | actor | accepted iff not yet registered |
//! | 1 append | author, patient, category | the patient's own: accepted iff both registered; a provider's: an unregistered one is refused, otherwise the ledger's verdict is taken (append rules are not modelled) |
//! | 2 grant | patient, grantee, actions, purposes, scope, start, length | accepted iff the model allows it (by the registered patient, to another registered actor, actions and purposes not empty, all categories or a list of them, a period not over) |
//! | 3 revoke | consent, by guardian | accepted iff not revoked and by its patient |
//! | 4 read | reader, record, purpose | the model's decision; an unregistered reader is refused; a permit returns the payload; a record not yet committed may be not found |
//! | 5 advance | minutes | the clock moves forward |
//! | 6 erase | record, by | accepted iff not erased and by its author or patient (a record not yet committed may be not found) |
//! | 7 commit | — | pending transactions are sealed |
//!
//! At the end the chain verifies and the access log holds exactly the
//! decided reads.
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use medledger::{
    Actions, Category, Consent, Decision, Error, Genesis, Keypair, Ledger, NewRecord, Purpose,
    Purposes, Roles, Scope,
};

#[path = "../../tests/reference/mod.rs"]
mod reference;
use reference::{
    ACTORS, ADMIN, CATS, Event, GUARDIAN, Model, PATIENT, PROVIDERS, Rec, actor, id_of,
    logged_events, record_grant, roles_of,
};

/// Operations per input.
const MAX_OPS: usize = 48;
/// The clock at genesis (ms), fixed so that runs reproduce.
const T0: u64 = 1_800_000_000_000;
const MIN: u64 = 60_000;

/// The consortium's one validator (threshold 1).
fn validator() -> &'static Arc<Keypair> {
    static V: OnceLock<Arc<Keypair>> = OnceLock::new();
    V.get_or_init(|| Arc::new(Keypair::from_seeds(&[40; 32], &[140; 32])))
}

/// Argument bytes; 0 once the input runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }

    fn pick(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n
    }

    fn purpose(&mut self) -> Purpose {
        Purpose::ALL[self.pick(Purpose::ALL.len())]
    }
}

/// `Some` on success, `None` when the ledger refused (rules, arguments,
/// an unknown participant or consent); any other error is a bug.
fn refused<T>(what: &str, r: medledger::Result<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(Error::Rejected(_) | Error::Invalid { .. } | Error::Denied(_) | Error::NotFound(_)) => {
            None
        }
        Err(e) => panic!("{what}: unexpected error: {e}"),
    }
}

struct Run {
    ledger: Ledger,
    clock: Arc<AtomicU64>,
    model: Model,
    registered: [bool; ACTORS],
    /// Records `..committed` are known to be committed (readable and
    /// erasable); later ones may still be pending, and then not found.
    committed: usize,
}

impl Run {
    fn new() -> Run {
        let v = validator();
        let founders = vec![
            actor(ADMIN).participant(roles_of(ADMIN), "admin"),
            v.participant(Roles::VALIDATOR, "validator"),
        ];
        let genesis = Genesis::new("api model", 1, founders).unwrap();
        let clock = Arc::new(AtomicU64::new(T0));
        let c = Arc::clone(&clock);
        let ledger = Ledger::create_in_memory(genesis, &[v.as_ref()])
            .unwrap()
            .with_clock(move || c.load(Ordering::SeqCst));
        ledger.attach_validators(vec![Arc::clone(v)]).unwrap();
        let mut registered = [false; ACTORS];
        registered[ADMIN] = true;
        Run {
            ledger,
            clock,
            model: Model {
                now: T0,
                ..Model::default()
            },
            registered,
            committed: 0,
        }
    }

    fn commit(&self) {
        if self.ledger.pending_count().unwrap() > 0 {
            self.ledger.commit_block(&[validator().as_ref()]).unwrap();
        }
    }

    fn step(&mut self, op: u8, input: &mut Input<'_>) {
        let m = &mut self.model;
        match op % 8 {
            0 => {
                let a = input.pick(ACTORS);
                let p = actor(a).participant(roles_of(a), &format!("actor {a}"));
                let got = refused("register", self.ledger.register(actor(ADMIN), p));
                assert_eq!(got.is_some(), !self.registered[a], "register {a}");
                self.registered[a] = true;
            }
            1 => {
                let author = input.pick(PROVIDERS + 3);
                let author = if author >= PROVIDERS {
                    PATIENT[author % 2]
                } else {
                    author
                };
                let p = input.pick(2);
                let cat = CATS[input.pick(CATS.len())];
                let payload = format!("record {} of patient {p} by {author}", m.recs.len());
                let record = NewRecord {
                    patient: id_of(PATIENT[p]),
                    category: cat,
                    content_type: "text/plain",
                    payload: payload.as_bytes(),
                };
                let got = refused("append", self.ledger.append_record(actor(author), record));
                let parties = self.registered[author] && self.registered[PATIENT[p]];
                if author == PATIENT[p] {
                    assert_eq!(got.is_some(), parties, "own record of {author}");
                } else if !parties {
                    assert!(got.is_none(), "append by or for an unregistered actor");
                }
                if let Some(id) = got {
                    m.recs.push(Rec {
                        id,
                        patient: p,
                        cat,
                        author,
                        erased: false,
                        payload: payload.into_bytes(),
                    });
                }
            }
            2 => {
                let p = input.pick(2);
                let by_guardian = input.byte().is_multiple_of(4);
                let author = if by_guardian { GUARDIAN } else { PATIENT[p] };
                let grantee = input.pick(PATIENT[1] + 1);
                let actions = Actions(input.byte() % 8);
                let purposes = Purposes(input.byte());
                let scope = input.byte();
                let cats: Vec<&str> = (0..CATS.len())
                    .filter(|i| scope & (1 << i) != 0)
                    .map(|i| CATS[i])
                    .collect();
                let all = scope & 0x80 != 0;
                let not_before = (m.now + u64::from(input.byte()) * MIN).saturating_sub(60 * MIN);
                let not_after = not_before + (u64::from(input.byte()) + 1) * MIN;
                let c = Consent {
                    patient: id_of(PATIENT[p]),
                    grantee: id_of(grantee),
                    actions,
                    purposes,
                    scope: Scope {
                        all_categories: all,
                        categories: cats.iter().map(|c| Category::new(c).unwrap()).collect(),
                        records: Vec::new(),
                    },
                    not_before,
                    not_after,
                };
                // FORMAT.md §3.13: all categories, or a list of them.
                let allowed = all == cats.is_empty()
                    && actions != Actions(0)
                    && purposes != Purposes(0)
                    && grantee != PATIENT[p]
                    && self.registered[author]
                    && self.registered[grantee]
                    && m.speaks_for(author, p)
                    && not_after > m.now
                    && !m.suspended[grantee];
                let got = refused("grant", self.ledger.grant(actor(author), &c));
                assert_eq!(got.is_some(), allowed, "grant {c:?} by {author}");
                if let Some(id) = got {
                    record_grant(m, id, p, &c);
                }
            }
            3 => {
                let k = input.byte();
                let by_guardian = input.byte().is_multiple_of(4);
                if m.grants.is_empty() {
                    return;
                }
                let k = usize::from(k) % m.grants.len();
                let p = m.grants[k].patient;
                let author = if by_guardian { GUARDIAN } else { PATIENT[p] };
                let expect =
                    !m.grants[k].revoked && self.registered[author] && m.speaks_for(author, p);
                let got = refused("revoke", self.ledger.revoke(actor(author), &m.grants[k].id));
                assert_eq!(got.is_some(), expect, "revoke {k} by {author}");
                if got.is_some() {
                    m.grants[k].revoked = true;
                }
            }
            4 => {
                let reader = input.pick(ACTORS);
                let k = input.byte();
                let purpose = input.purpose();
                if m.recs.is_empty() {
                    return;
                }
                let k = usize::from(k) % m.recs.len();
                let r = m.recs[k].clone();
                let got = self.ledger.read_record(actor(reader), &r.id, purpose);
                if k >= self.committed && matches!(got, Err(Error::NotFound(_))) {
                    return;
                }
                if !self.registered[reader] {
                    assert!(got.is_err(), "read by unregistered {reader}");
                    return;
                }
                let want = m.decide(reader, &r, purpose, m.now);
                let decision = match got {
                    Ok(rec) => {
                        assert_eq!(rec.plaintext.as_slice(), r.payload.as_slice());
                        let patient = id_of(PATIENT[r.patient]);
                        let log = self.ledger.access_log(&patient, &patient).unwrap();
                        log.last().map(|e| e.decision).unwrap()
                    }
                    Err(Error::AccessDenied { reason, .. }) => Decision::Deny(reason),
                    Err(e) => panic!("read by {reader} of {:?} for {purpose:?}: {e}", r.id),
                };
                assert_eq!(decision, want, "read by {reader} for {purpose:?}");
                m.events.push(Event {
                    reader: id_of(reader),
                    record: r.id,
                    purpose,
                    decision,
                    time: m.now,
                });
            }
            5 => {
                m.now += u64::from(input.byte()) * MIN;
                self.clock.store(m.now, Ordering::SeqCst);
            }
            6 => {
                let k = input.byte();
                let by = input.byte() % 3;
                if m.recs.is_empty() {
                    return;
                }
                let k = usize::from(k) % m.recs.len();
                let r = &m.recs[k];
                let author = [PATIENT[r.patient], r.author, 2][usize::from(by)];
                let expect = !r.erased
                    && self.registered[author]
                    && m.active(author)
                    && (author == r.author || m.speaks_for(author, r.patient));
                let got = self.ledger.erase(actor(author), &[r.id]);
                if k >= self.committed && matches!(got, Err(Error::NotFound(_))) {
                    return;
                }
                let got = refused("erase", got);
                assert_eq!(got.is_some(), expect, "erase {k} by {author}");
                if got.is_some() {
                    m.recs[k].erased = true;
                }
            }
            _ => self.commit(),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut run = Run::new();
    let mut input = Input(data);
    for _ in 0..MAX_OPS {
        if input.0.is_empty() {
            break;
        }
        let op = input.byte();
        run.step(op, &mut input);
        if run.ledger.pending_count().unwrap() == 0 {
            run.committed = run.model.recs.len();
        }
    }
    run.commit();
    let report = run.ledger.verify().unwrap();
    assert!(report.is_ok(), "verify: {report}");
    assert_eq!(
        logged_events(&run.ledger),
        run.model.sorted_events(),
        "access log"
    );
});
